#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boots one test guest under QEMU (TCG) with a virtio-net NIC on a vhost-user socket.
# Usage: qemu-configs/boot-guest.sh GUESTDIR SOCKET MAC IP/LEN [QUEUES]
#   SOCKET "none": no NIC at all (MAC and IP/LEN are then ignored).
#   GUESTDIR holds vmlinuz and initrd.cpio.gz (qemu-configs/build-guest.sh GUESTDIR).
#   QEMU is the socket server (server=on): vnicd connects as client and reconnects, so a
#   vnicd restart needs no guest restart. The serial console is on stdin/stdout.
# Notes: vhost-user needs shared guest memory (memory-backend-memfd share=on); with QEMU
# 7.2 and TCG the NIC needs vectors=0 (MSI-X crashes QEMU).
set -euo pipefail
dir=${1:?usage: boot-guest.sh GUESTDIR SOCKET MAC IP/LEN [QUEUES]}
sock=${2:?socket}
mac=${3:?mac}
ip=${4:?ip}
queues=${5:-1}
# VNICD_GUEST_NIC_OPTS: more virtio-net-pci properties, e.g. ",csum=off,host_tso4=off"
mq=""
[ "$queues" -gt 1 ] && mq=",mq=on"
if [ "$sock" = none ]; then # no NIC (e.g. the reference bridge guest of test_policy.py)
	exec qemu-system-x86_64 \
		-machine q35,accel=tcg -cpu max -smp 1 -m 256 \
		-kernel "$dir/vmlinuz" -initrd "$dir/initrd.cpio.gz" \
		-append "console=ttyS0 quiet panic=-1 vnicd.nonic" \
		-display none -serial stdio -monitor none -no-reboot -nic none
fi
exec qemu-system-x86_64 \
	-machine q35,accel=tcg,memory-backend=mem -cpu max -smp 1 -m 256 \
	-object memory-backend-memfd,id=mem,size=256M,share=on \
	-kernel "$dir/vmlinuz" -initrd "$dir/initrd.cpio.gz" \
	-append "console=ttyS0 quiet panic=-1 vnicd.ip=$ip" \
	-display none -serial stdio -monitor none -no-reboot \
	-chardev socket,id=c0,path="$sock",server=on,wait=off \
	-netdev vhost-user,id=n0,chardev=c0,queues="$queues" \
	-device virtio-net-pci,netdev=n0,mac="$mac",vectors=0$mq${VNICD_GUEST_NIC_OPTS:-}
