#!/bin/busybox sh
# SPDX-License-Identifier: MIT
# /init of the test guest: virtio-net modules, eth0 address from the command line, console shell.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net llc stp bridge veth; do
	[ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko
done
ip link set lo up
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	vnicd.ip=*) ip=${arg#vnicd.ip=} ;;
	esac
done
i=0
case " $(cat /proc/cmdline) " in *" vnicd.nonic "*) i=50 ;; esac # no NIC to wait for
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ip link set eth0 up
[ -n "$ip" ] && ip addr add "$ip" dev eth0
echo "VNICD-GUEST-READY $(cat /sys/class/net/eth0/address 2>/dev/null)"
export PS1='guest# '
exec setsid cttyhack sh
