#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the test guest: Debian's cloud kernel plus a busybox initramfs with the virtio-net
# modules, and the tools of the reference bridge (bridge/veth modules, iproute2, l2ref).
# Usage: qemu-configs/build-guest.sh OUTDIR   (idempotent; needs busybox-static, cpio, apt access)
# Produces OUTDIR/vmlinuz and OUTDIR/initrd.cpio.gz. The guest's /init (guest-init.sh) loads
# the virtio modules, configures eth0 from the kernel command line (vnicd.ip=ADDR/LEN) and
# runs a shell on the serial console, which the tests drive.
set -euo pipefail
out=${1:?usage: build-guest.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
newer=1
for f in "$here/guest-init.sh" "$here/l2ref.c" "$here/build-guest.sh"; do
	[ "$out/initrd.cpio.gz" -nt "$f" ] || newer=0
done
[ -s "$out/vmlinuz" ] && [ -s "$out/initrd.cpio.gz" ] && [ $newer = 1 ] && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# The kernel package is only unpacked (no maintainer scripts run on the host).
kpkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$kpkg" ] || { echo "build-guest: no linux-image-cloud-amd64 in the apt lists (apt-get update?)" >&2; exit 1; }
if ! ls "$out"/"$kpkg"_*.deb >/dev/null 2>&1; then
	(cd "$out" && apt-get download "$kpkg" 2>/dev/null) || { echo "build-guest: cannot download $kpkg" >&2; exit 1; }
fi
dpkg-deb -x "$out"/"$kpkg"_*.deb k
kver=$(ls k/lib/modules | head -n1)
cp k/boot/vmlinuz-"$kver" "$out/vmlinuz"

mkdir -p root/bin root/lib/modules root/proc root/sys root/dev root/tmp root/etc
cp /bin/busybox root/bin/busybox
# virtio-net for the NIC; llc, stp, bridge and veth for the reference bridge (l2ref)
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net llc stp bridge veth; do
	f=$(find k/lib/modules/"$kver" -name "$m.ko*" | head -n1)
	[ -n "$f" ] || continue   # built into the kernel
	case "$f" in
	*.xz) xz -dc "$f" > root/lib/modules/"$m".ko ;;
	*.zst) zstd -dqc "$f" > root/lib/modules/"$m".ko ;;
	*) cp "$f" root/lib/modules/"$m".ko ;;
	esac
done
# the reference switch's tools in /opt/ref (busybox keeps /bin and /sbin): iproute2's ip and
# bridge with the libraries they load (from this host), and l2ref (a static frame
# injector/collector)
mkdir -p root/opt/ref
for b in ip bridge; do
	p=$(command -v "$b" || true)
	[ -n "$p" ] || { echo "build-guest: $b (iproute2) not found" >&2; exit 1; }
	cp "$p" root/opt/ref/"$b"
	for lib in $(ldd "$p" | awk '/=> \// { print $3 } /^\t\/lib64\// { print $1 }'); do
		mkdir -p root/"$(dirname "$lib")"
		cp -L "$lib" root/"$lib"
	done
done
cc -O2 -static -o root/opt/ref/l2ref "$here/l2ref.c" || { echo "build-guest: cannot build l2ref (static libc: libc6-dev)" >&2; exit 1; }
cp "$here/guest-init.sh" root/init
chmod +x root/init
(cd root && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.cpio.gz.tmp"
mv "$out/initrd.cpio.gz.tmp" "$out/initrd.cpio.gz"
echo "build-guest: $out/vmlinuz ($kver) and $out/initrd.cpio.gz"
