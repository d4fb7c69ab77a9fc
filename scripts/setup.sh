#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Idempotent set-up shared by the README's commands: packages, hugepages, build, install.
# Usage: scripts/setup.sh [--no-install]   (run as root on Debian 12)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
	echo "setup: run as root (apt-get, hugepages and vhost-user sockets need it)" >&2
	exit 1
fi

PKGS=(
	# build
	build-essential pkg-config meson ninja-build
	libdpdk-dev libglib2.0-dev libjson-glib-dev liburing-dev libnl-3-dev libnl-route-3-dev
	libxml2-dev   # libvirt/: the domain-XML parser and vnicd-libvirt-hook
	# run and test
	dpdk dpdk-dev python3 iproute2 iputils-ping procps coreutils util-linux
	tshark curl qemu-system-x86 busybox-static cpio xz-utils clang libclang-rt-14-dev clang-format
	# policy tests: scapy-crafted frames, rates, captures, Open vSwitch as the VLAN reference
	python3-scapy iperf3 tcpdump openvswitch-switch
	# TAP port tests (offload checks) and the tap benchmark (syscall counts)
	ethtool linux-perf strace
	# NAT networks: the Linux reference of the differential test (MASQUERADE, DNAT)
	iptables
	# operators' tools: manual pages (scdoc, man -l), bash completion, promtool
	scdoc man-db bash-completion prometheus
	# vnicctl top's interactive view under a terminal (test_top.py)
	tmux
	# vnicd's libvirt listener (links libvirt) and its test against a private libvirtd
	libvirt-dev libvirt-daemon-system libvirt-clients
	# BGP EVPN: FRR's zebra and bgpd run by the test in namespaces (test_evpn.py)
	frr
	# the benchmark smoke run (suite bench): OVS-DPDK, the peer of pvp, idle_cpu, latency
	openvswitch-switch-dpdk
)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
	log "packages already installed"
fi

# Hugepages: 2 GiB of 2 MiB pages for vnicd and the testpmd guests (vnicd itself falls
# back to regular pages when none are free).
want=1024
have=$(cat /proc/sys/vm/nr_hugepages)
if [ "$have" -lt "$want" ]; then
	echo "$want" > /proc/sys/vm/nr_hugepages || true
	log "hugepages: $(cat /proc/sys/vm/nr_hugepages) x 2 MiB"
fi
mkdir -p /dev/hugepages
if ! grep -q ' /dev/hugepages hugetlbfs ' /proc/mounts; then
	mount -t hugetlbfs nodev /dev/hugepages
	log "mounted hugetlbfs at /dev/hugepages"
fi

# The unprivileged user of the shipped systemd unit (contrib/systemd/vnicd.service; tests
# run vnicd as it too).
if ! id vnicd >/dev/null 2>&1; then
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin vnicd
	log "created system user vnicd"
fi

werror=false
[ "${CI:-}" = true ] && werror=true
if [ ! -f build/build.ninja ]; then
	log "configuring build/ (werror=$werror)"
	meson setup build --buildtype=debugoptimized -Dwerror=$werror >/dev/null
else
	meson configure build -Dwerror=$werror >/dev/null
fi
log "building"
ninja -C build >/dev/null
if [ "${1:-}" != --no-install ]; then
	log "installing vnicd and vnicctl to /usr/local/bin"
	meson install -C build --quiet >/dev/null
fi
