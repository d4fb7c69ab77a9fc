# SPDX-License-Identifier: MIT
# PVP benchmark: a testpmd "guest" loops frames through testpmd-as-switch and through vnicd.
#
# Run as root:  bash tests/bench/pvp.sh      (see tests/bench/README.md for the knobs)
#
# Topology (per switch and frame size, fresh processes each time):
#   guest testpmd: net_virtio_user0 (P0) + net_virtio_user1 (P1), forwarding lcore on CPU 0,
#                  mac forwarding with eth-peer 0 = MAC(port1), eth-peer 1 = MAC(port0), so
#                  port0 -> switch -> port1 -> guest -> switch -> port0 -> ...
#   switch (a)   : testpmd, net_vhost0/1 servers on P0/P1, io forwarding on CPU 1
#   switch (b)   : vnicd, vhost ports g0/g1 (--server) in net br0, worker on CPU 1
# Measured: frames received by the guest on both ports per second (= frames the switch
# forwarded, both directions added): median of PVP_WINDOW-s windows over PVP_DURATION s
# after PVP_WARMUP s.
set -u
trap '' PIPE   # a dead testpmd must not kill us through its fifo

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=${VNICD_BUILD_DIR:-$REPO/build}
VNICD=$BUILD/backend/vnicd
VNICCTL=$BUILD/backend/vnicctl
TESTPMD=${TESTPMD:-dpdk-testpmd}

SIZES=${PVP_SIZES:-64 1518}
# Frame sizes are RFC 2544's: Ethernet frames including their 4-byte FCS (64 ... 1518), as
# traffic generators and switch vendors' reports count them; DPDK frames carry no FCS, so the
# guest sends SIZE - 4 bytes (60 for 64). PVP_FCS=0 counts SIZE as bytes of frame data instead
# (a "64" frame is then 68 bytes on the wire, and 1518 an oversized 1522).
FCS=${PVP_FCS:-4}
WARMUP=${PVP_WARMUP:-3}
DURATION=${PVP_DURATION:-10}
WINDOW=${PVP_WINDOW:-1}            # sampling window (s); the median window is reported
TXFIRST=${PVP_TXFIRST:-8}          # bursts sent by each guest port at start (frames in flight = 2*TXFIRST*BURST)
BURST=${PVP_BURST:-32}
GUEST_FWD=${PVP_GUEST_FWD:-mac}
QSIZE=${PVP_QUEUE_SIZE:-256}         # the guest's virtqueue size (virtio_user queue_size)
CUR_SWITCH=
GUEST_TOPO=${PVP_GUEST_TOPO:-paired}  # testpmd --port-topology: paired (0<->1) or loop (0->0, 1->1)
SWITCHES=${PVP_SWITCHES:-testpmd vnicd ovs}
GUEST_LCORES=${PVP_GUEST_LCORES:-0@1,1@0}     # main lcore on CPU 1 (idle), forwarding on CPU 0
SWITCH_LCORES=${PVP_SWITCH_LCORES:-0@0,1@1}   # main lcore on CPU 0 (idle), forwarding on CPU 1
NB_MBUFS=${PVP_MBUFS:-16384}
VNICD_ARGS=${VNICD_ARGS:-}
# vnicd's per-vNIC policy on its two ports (issue 5; tests/bench/policy_bench.sh compares):
#   vlan       g0 access VLAN 10, g1 trunk of VLAN 10: every frame from g0 leaves g1 with a tag
#              pushed, every tagged frame from g1 leaves g0 untagged (tagging and untagging on
#              both ends: 64-byte frames on the access side, 68 on the trunk). The guest then
#              runs with PVP_GUEST_TOPO=loop and PVP_GUEST_FWD=macswap (each port sends back
#              what it received, tag and all: g0 -> g1 -> guest -> g1 -> g0 -> guest -> ...),
#              so it never handles a tag; compare with plain under the same guest settings
#              (policy_bench.sh does). Only port 0's tx_first frames can enter (port 1's are
#              untagged on a trunk and dropped as policy, counted), so port 0 sends twice as
#              many: the same frames in flight as plain.
#   vlan-native  both ports native-tagged VLAN 10: the guest's untagged frames are classified
#              into VLAN 10 and every frame leaves vnicd with a tag pushed, which the guest
#              strips again on both ports (PVP_GUEST_VLAN).
#   vlan-access  both ports access VLAN 10: every frame is classified into VLAN 10 on
#              ingress and leaves untagged (the frames stay 64 bytes on the wire)
#   antispoof  --lock-mac and --allowed-ip 198.18.0.1 (testpmd's tx_first source) on both
#   vlan+antispoof, vlan-native+antispoof  both
POLICY=${PVP_POLICY:-}
# PVP_GUEST_VLAN=1: the guest strips VLAN tags on receive (testpmd --rx-offloads=0x1, done in
# software by the virtio PMD). Set it for the plain run too when comparing (policy_bench.sh
# does): the guest then runs the same receive path in both.
GUEST_VLAN=${PVP_GUEST_VLAN:-}
[[ "+$POLICY+" == *+vlan-native+* ]] && GUEST_VLAN=${GUEST_VLAN:-1}
# Config handed to vnicd with --config (worker on CPU 1, control thread on CPU 0, busy poll).
VNICD_CONFIG=${PVP_VNICD_CONFIG:-$'[vnicd]\nworker_cpus = 1\nmain_cpus = 0\nidle_sleep_us = 0\n'}
# vnicd's topology (issue 12; tests/bench/overlay_bench.sh compares):
#   plain    g0 and g1 in br0 (one switching per frame)
#   twice    g0 in bridge brA, g1 in bridge brB, brA's and brB's uplinks a DPDK memif pair
#            joined back to back inside the same vnicd (net_memif0 server, net_memif1 client
#            on one socket): every frame is switched twice and copied through the memif
#   overlay  g0 in overlay ovA, g1 in overlay ovB (PVP_ENCAP, VNI 100), ovA's underlay ulA and
#            ovB's underlay ulB joined by the same memif pair; ovA's local VTEP is ovB's remote
#            and vice versa: guest -> vnicd (switch in ovA, encap) -> memif -> vnicd (switch
#            in ulB, decap, switch in ovB) -> guest. Measured only once both remote VTEPs are
#            resolved (ARP or ND through the memif link).
VNICD_TOPO=${PVP_VNICD_TOPO:-plain}
ENCAP=${PVP_ENCAP:-vxlan}           # overlay: vxlan | geneve | nvgre
UNDERLAY_AF=${PVP_UNDERLAY:-4}      # overlay: underlay addresses IPv4 (4) or IPv6 (6)
OV_MTU=${PVP_OVERLAY_MTU:-1600}     # overlay: the underlay MTU (1518-byte guest frames fit)
PERF=${PVP_PERF:-}                  # vnicd: perf record -g of vnicd over the measured window into $PERF-SIZE.data
MAC0=02:00:00:00:00:10
MAC1=02:00:00:00:00:11

die() { echo "pvp: $*" >&2; exit 1; }
log() { echo "pvp: $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root"
command -v "$TESTPMD" >/dev/null || die "$TESTPMD not found (apt-get install dpdk-dev)"
command -v stdbuf >/dev/null || die "stdbuf (coreutils) not found"
grep -q hugetlbfs /proc/mounts || die "hugetlbfs not mounted (echo 1024 > /proc/sys/vm/nr_hugepages; mount -t hugetlbfs nodev /dev/hugepages)"

WORK=$(mktemp -d /tmp/pvp.XXXXXX)
TAG=pvp$$
declare -A TP_PID TP_FD
PIDS=()
PREFIXES=()

cleanup() {
	local p fd i
	for p in "${!TP_FD[@]}"; do
		fd=${TP_FD[$p]}
		echo quit >&"$fd" 2>/dev/null
		{ exec {fd}>&-; } 2>/dev/null
	done
	TP_FD=()
	# testpmds got "quit"; anything else (vnicd) gets SIGTERM; SIGKILL after 10 s.
	for p in "${PIDS[@]}"; do
		[[ " ${TP_PID[*]} " == *" $p "* ]] || kill -TERM "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	TP_PID=()
	PIDS=()
	for p in "${PREFIXES[@]}"; do
		rm -f /dev/hugepages/"$p"* 2>/dev/null
		rm -rf /var/run/dpdk/"$p" 2>/dev/null
	done
	PREFIXES=()
}
final_cleanup() {
	cleanup
	if [ -n "${PVP_KEEP:-}" ]; then log "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap final_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

prompts() { grep -o 'testpmd> ' "$WORK/$1.log" 2>/dev/null | wc -l; }

# tp_start NAME LCORES "vdev1 vdev2" [testpmd app args...]
tp_start() {
	local name=$1 lcores=$2 vdevs=$3 v fd pid
	shift 3
	local prefix=$TAG-$name
	local args=(--lcores "$lcores" --no-pci --no-telemetry --file-prefix "$prefix"
		--single-file-segments -m 256)
	for v in $vdevs; do args+=(--vdev "$v"); done
	mkfifo "$WORK/$name.in"
	PREFIXES+=("$prefix")
	stdbuf -o0 "$TESTPMD" "${args[@]}" -- -i --disable-link-check \
		--total-num-mbufs="$NB_MBUFS" "$@" <"$WORK/$name.in" >"$WORK/$name.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	TP_PID[$name]=$pid
	exec {fd}>"$WORK/$name.in"
	TP_FD[$name]=$fd
	tp_wait_prompts "$name" 1 30 || { tail -20 "$WORK/$name.log" >&2; die "testpmd $name did not start"; }
}

# tp_wait_prompts NAME COUNT TIMEOUT
tp_wait_prompts() {
	local i
	for ((i = 0; i < $3 * 50; i++)); do
		[ "$(prompts "$1")" -ge "$2" ] && return 0
		kill -0 "${TP_PID[$1]}" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

# tp_cmd NAME "command": the command's output is left in $WORK/out.
# (Everything that can die() runs in the main shell, never in $(...) or a pipeline,
# so that the EXIT trap sees every process started.)
tp_cmd() {
	local name=$1 cmd=$2 n size
	n=$(prompts "$name")
	size=$(stat -c %s "$WORK/$name.log")
	echo "$cmd" >&"${TP_FD[$name]}" || die "testpmd $name: cannot send '$cmd'"
	tp_wait_prompts "$name" $((n + 1)) 30 || { tail -20 "$WORK/$name.log" >&2; die "testpmd $name: no prompt after '$cmd'"; }
	tail -c +$((size + 1)) "$WORK/$name.log" | tr -d '\r' >"$WORK/out"
}

tp_link_up() { tp_cmd "$1" "show port info $2"; grep -q 'Link status: up' "$WORK/out"; }

wait_link() {
	local i
	for ((i = 0; i < 200; i++)); do
		tp_link_up "$1" "$2" && return 0
		sleep 0.1
	done
	die "testpmd $1 port $2: link not up"
}

wait_file() {
	local i
	for ((i = 0; i < 200; i++)); do [ -S "$1" ] && return 0; sleep 0.1; done
	return 1
}

# rx_total NAME: RX=sum of RX-packets over all ports, T=time of the reading
rx_total() {
	tp_cmd "$1" "show port stats all"
	T=$(now)
	RX=$(awk '/RX-packets:/ { s += $2 } END { print s + 0 }' "$WORK/out")
}

now() { date +%s.%N; }

# worker_loops: "LOOPS BUSY_LOOPS BUSY_CYCLES FRAMES TSC_HZ" of vnicd's workers (socket $VNICD_SOCK)
worker_loops() {
	"$VNICCTL" --socket "$VNICD_SOCK" stats --detail --json 2>/dev/null | python3 -c 'import json, sys
w = json.load(sys.stdin).get("workers", [])
print(*(sum(x.get(k, 0) for x in w) for k in ("loops", "busy_loops", "busy_cycles", "frames")),
      max([x.get("tsc_hz", 0) for x in w] or [0]))' 2>/dev/null || echo "0 0 0 0 0"
}

# run_guest SIZE: sets MPPS (sockets $WORK/p0 and $WORK/p1 must be served already)
run_guest() {
	local size=$1 r0 t0
	tp_start guest "$GUEST_LCORES" \
		"net_virtio_user0,path=$WORK/p0,queues=1,queue_size=$QSIZE,mac=$MAC0 net_virtio_user1,path=$WORK/p1,queues=1,queue_size=$QSIZE,mac=$MAC1" \
		--eth-peer=0,$MAC1 --eth-peer=1,$MAC0 --burst="$BURST" --port-topology="$GUEST_TOPO" ${GUEST_VLAN:+--rx-offloads=0x1}
	wait_link guest 0
	wait_link guest 1
	tp_cmd guest "set fwd $GUEST_FWD"
	tp_cmd guest "set txpkts $((size - FCS))"
	local txfirst=$TXFIRST
	[ "$CUR_SWITCH" != testpmd ] && [[ "+$POLICY+" == *+vlan+* ]] && txfirst=$((TXFIRST * 2))
	tp_cmd guest "start tx_first $txfirst"
	# frames sent before the switch enabled its queues are lost; when none came back
	# (all lost), inject again (up to 3 times)
	local try a
	for ((try = 0; try < 3; try++)); do
		sleep 0.5
		rx_total guest
		a=$RX
		sleep 0.5
		rx_total guest
		[ "$RX" -gt "$a" ] && break
		log "size $size: no traffic came back, injecting again"
		tp_cmd guest "stop"
		tp_cmd guest "start tx_first $txfirst"
	done
	sleep "$WARMUP"
	# resident memory including hugepages mapped (VmRSS leaves hugetlbfs pages out)
	RSS_MB=$(awk '/^VmRSS:|^HugetlbPages:/ { k += $2 } END { printf "%.0f", k / 1024 }' \
		/proc/"$SWITCH_PID"/status 2>/dev/null)
	# Sample every PVP_WINDOW s; report the median window (robust against other load on
	# the machine) and log the mean over the whole period.
	[ -n "${VNICD_SOCK:-}" ] && W0=$(worker_loops)
	local perfpid=
	if [ -n "$PERF" ] && [ -n "${VNICD_SOCK:-}" ]; then
		perf record -q -g -p "$SWITCH_PID" -o "$PERF-$size.data" -- sleep "$DURATION" \
			>/dev/null 2>&1 &
		perfpid=$!
	fi
	rx_total guest
	r0=$RX t0=$T
	: >"$WORK/samples-$size"
	local end
	end=$(awk -v t="$t0" -v d="$DURATION" 'BEGIN { printf "%.3f", t + d }')
	while awk -v n="$(now)" -v e="$end" 'BEGIN { exit !(n < e) }'; do
		sleep "$WINDOW"
		local pr=$RX pt=$T
		rx_total guest
		echo "$pr $pt $RX $T" >>"$WORK/samples-$size"
	done
	MPPS=$(awk '{ print ($3 - $1) / ($4 - $2) / 1e6 }' "$WORK/samples-$size" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "0.000"; else if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	MEAN=$(awk -v a="$r0" -v b="$RX" -v t0="$t0" -v t1="$T" 'BEGIN { printf "%.3f", (b - a) / (t1 - t0) / 1e6 }')
	[ -n "$perfpid" ] && wait "$perfpid"
	# vnicd: share of its worker's poll loops that moved frames while measured (loops, not
	# time: an empty poll costs tens of ns, a full one microseconds, so 0.1-0.3 can already
	# be a nearly saturated worker; 0 means it mostly waited)
	if [ -n "${VNICD_SOCK:-}" ]; then
		W1=$(worker_loops)
		BUSY=$(awk -v a="$W0" -v b="$W1" 'BEGIN { split(a, x); split(b, y); d = y[1] - x[1];
			if (d > 0) printf "%.2f", (y[2] - x[2]) / d; else print "?" }')
		# the worker's own cost: TSC time of the iterations that moved frames, per frame
		# (like OVS-DPDK's "avg processing cycles per packet"), and the rate it could
		# carry if that were all it did (its capacity: 1000 / ns per frame)
		NSPF=$(awk -v a="$W0" -v b="$W1" 'BEGIN { split(a, x); split(b, y); f = y[4] - x[4];
			if (f > 0 && y[5] > 0) printf "%.1f", (y[3] - x[3]) / f * 1e9 / y[5]; else print "?" }')
		# the same busy time per frame the guest received (one per loop hop through vnicd,
		# however many times vnicd switched it inside: the figure to compare across topologies)
		NSPG=$(awk -v a="$W0" -v b="$W1" -v f="$((RX - r0))" 'BEGIN { split(a, x); split(b, y);
			if (f > 0 && y[5] > 0) printf "%.1f", (y[3] - x[3]) / f * 1e9 / y[5]; else print "?" }')
	fi
	tp_cmd guest "stop"
	cp "$WORK/out" "$WORK/guest-stop-$size.txt"
}

# bench_testpmd SIZE / bench_vnicd SIZE: set MPPS
bench_testpmd() {
	CUR_SWITCH=testpmd
	local size=$1
	tp_start switch "$SWITCH_LCORES" \
		"net_vhost0,iface=$WORK/p0,client=0,queues=1 net_vhost1,iface=$WORK/p1,client=0,queues=1"
	wait_file "$WORK/p0" && wait_file "$WORK/p1" || die "switch sockets missing"
	SWITCH_PID=${TP_PID[switch]}
	tp_cmd switch "set fwd io"
	tp_cmd switch "start"
	run_guest "$size"
	tp_cmd switch "stop"
	cp "$WORK/out" "$WORK/switch-stop-$size.txt"
	cleanup
	rm -f "$WORK"/*.in "$WORK"/p0 "$WORK"/p1
}

# ovs_policy DIR: the same PVP_POLICY on OVS (the peer for policy_bench.sh): VLANs as port
# settings (tag, trunks, vlan_mode), anti-spoofing as OpenFlow rules in front of NORMAL (per
# port: its MAC and 198.18.0.1 for IPv4, its MAC and that sender for ARP; else drop).
ovs_policy() {
	local d=$1 ofctl=(ovs-ofctl) vsctl=(ovs-vsctl --db=unix:$1/db.sock --timeout=30)
	ofctl+=(--strict)
	if [[ "+$POLICY+" == *+vlan-native+* ]]; then
		for p in p0 p1; do
			"${vsctl[@]}" set port $p tag=10 trunks=10 vlan_mode=native-tagged || die "ovs vlan"
		done
	fi
	if [[ "+$POLICY+" == *+vlan-access+* ]]; then
		for p in p0 p1; do
			"${vsctl[@]}" set port $p tag=10 vlan_mode=access || die "ovs vlan"
		done
	fi
	if [[ "+$POLICY+" == *+vlan+* ]]; then
		# the trunk's MTU 4 bytes larger: with PVP_FCS=0 a 1518 frame is 1518 bytes of data,
		# 1522 tagged, which OVS would drop (vnicd does not limit what it forwards between
		# vhost ports)
		"${vsctl[@]}" set port p0 tag=10 vlan_mode=access &&
			"${vsctl[@]}" set port p1 trunks=10 vlan_mode=trunk &&
			"${vsctl[@]}" set interface p1 mtu_request=1504 || die "ovs vlan"
	fi
	if [[ "+$POLICY+" == *+antispoof+* ]]; then
		local sock=$d/br0.mgmt m
		ovs-ofctl del-flows "$sock" || die "ovs-ofctl del-flows"
		for p in "p0 $MAC0" "p1 $MAC1"; do
			set -- $p
			m=$2
			ovs-ofctl add-flow "$sock" "priority=10,in_port=$1,dl_src=$m,ip,nw_src=198.18.0.1,actions=NORMAL" &&
				ovs-ofctl add-flow "$sock" "priority=10,in_port=$1,dl_src=$m,arp,arp_sha=$m,arp_spa=198.18.0.1,actions=NORMAL" &&
				ovs-ofctl add-flow "$sock" "priority=5,in_port=$1,actions=drop" ||
				die "ovs-ofctl add-flow"
		done
	fi
}

# bench_ovs SIZE: Open vSwitch with DPDK (netdev datapath, NORMAL learning), PMD on CPU 1,
# two dpdkvhostuser ports (OVS is the socket server), private ovsdb/run dir in $WORK/ovs.
bench_ovs() {
	local size=$1 d=$WORK/ovs i
	CUR_SWITCH=ovs
	local vsctl=(ovs-vsctl --db=unix:$d/db.sock --timeout=30)
	rm -rf "$d"
	mkdir -p "$d"
	export OVS_RUNDIR=$d OVS_DBDIR=$d OVS_LOGDIR=$d OVS_SYSCONFDIR=$d
	ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema || die "ovsdb-tool failed"
	ovsdb-server --remote=punix:"$d/db.sock" --pidfile="$d/ovsdb.pid" --log-file="$d/ovsdb.log" \
		"$d/conf.db" </dev/null >/dev/null 2>&1 &
	PIDS+=("$!")
	for ((i = 0; i < 100; i++)); do [ -S "$d/db.sock" ] && break; sleep 0.1; done
	"${vsctl[@]}" --no-wait init
	"${vsctl[@]}" --no-wait set Open_vSwitch . other_config:dpdk-init=true \
		"other_config:dpdk-extra=--no-pci --file-prefix=$TAG-ovs" other_config:dpdk-socket-mem=512 \
		other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2
	PREFIXES+=("$TAG-ovs")
	"$OVS_VSWITCHD" unix:"$d/db.sock" --pidfile="$d/vswitchd.pid" --log-file="$d/vswitchd.log" \
		</dev/null >/dev/null 2>&1 &
	SWITCH_PID=$!
	PIDS+=("$SWITCH_PID")
	"${vsctl[@]}" add-br br0 -- set bridge br0 datapath_type=netdev || die "ovs add-br failed"
	"${vsctl[@]}" add-port br0 p0 -- set Interface p0 type=dpdkvhostuser || die "ovs add-port failed"
	"${vsctl[@]}" add-port br0 p1 -- set Interface p1 type=dpdkvhostuser || die "ovs add-port failed"
	wait_file "$d/p0" && wait_file "$d/p1" || die "ovs vhost sockets missing"
	ovs_policy "$d"
	ln -sf "$d/p0" "$WORK/p0"
	ln -sf "$d/p1" "$WORK/p1"
	run_guest "$size"
	cleanup
	unset OVS_RUNDIR OVS_DBDIR OVS_LOGDIR OVS_SYSCONFDIR
	rm -f "$WORK"/*.in "$WORK"/p0 "$WORK"/p1
}

# vnicd_topology DIR: make PVP_VNICD_TOPO's networks in the vnicd at DIR/ctl.sock and set
# netargs0/netargs1 (the --net of g0/g1).
vnicd_topology() {
	local c=("$VNICCTL" --socket "$1/ctl.sock") m0 m1 la lb
	# vnicd takes memif sockets only under /run/vnicd* (uplink devargs are allow-listed)
	local ms=/run/vnicd-pvp-$$.sock
	rm -f "$ms"
	m0="net_memif0,role=server,socket=$ms,id=0"
	m1="net_memif1,role=client,socket=$ms,id=0"
	case $VNICD_TOPO in
	plain) return 0 ;;
	twice)
		"${c[@]}" net add brA bridge --uplink "$m0" >&2 &&
			"${c[@]}" net add brB bridge --uplink "$m1" >&2 || die "net add brA/brB failed"
		netargs0=(--net brA)
		netargs1=(--net brB)
		;;
	overlay)
		if [ "$UNDERLAY_AF" = 6 ]; then la=fd00::1 lb=fd00::2; else la=10.0.0.1 lb=10.0.0.2; fi
		"${c[@]}" net add ulA bridge --uplink "$m0" >&2 &&
			"${c[@]}" net add ulB bridge --uplink "$m1" >&2 &&
			"${c[@]}" net add ovA overlay --type "$ENCAP" --vni 100 --local $la --underlay ulA \
				--remote $lb --mtu "$OV_MTU" >&2 &&
			"${c[@]}" net add ovB overlay --type "$ENCAP" --vni 100 --local $lb --underlay ulB \
				--remote $la --mtu "$OV_MTU" >&2 || die "overlay set-up failed"
		netargs0=(--net ovA)
		netargs1=(--net ovB)
		;;
	*) die "PVP_VNICD_TOPO: plain, twice or overlay" ;;
	esac
}

# wait_resolved DIR: until the remote VTEP of ovA and of ovB is resolved (30 s)
wait_resolved() {
	local i ov ok
	for ((i = 0; i < 300; i++)); do
		ok=1
		for ov in ovA ovB; do
			"$VNICCTL" --socket "$1/ctl.sock" net show $ov --json 2>/dev/null | python3 -c 'import json, sys
r = json.load(sys.stdin).get("remotes", [])
sys.exit(0 if r and all(x.get("state") == "resolved" for x in r) else 1)' 2>/dev/null || ok=0
		done
		[ $ok = 1 ] && return 0
		sleep 0.1
	done
	die "overlay: remote VTEPs not resolved after 30 s"
}

bench_vnicd() {
	local size=$1 i d=$WORK/vnicd pid
	CUR_SWITCH=vnicd
	rm -rf "$d"
	mkdir -p "$d/state"
	printf '%s' "$VNICD_CONFIG" >"$d/vnicd.conf"
	# the server sockets g0/g1 live in $WORK: vnicd creates them only in vhost_socket_dirs
	grep -q '^[[:space:]]*vhost_socket_dirs' "$d/vnicd.conf" ||
		printf '\nvhost_socket_dirs = %s\n' "$WORK" >>"$d/vnicd.conf"
	PREFIXES+=("$TAG-vnicd")
	# shellcheck disable=SC2086
	"$VNICD" --control-socket "$d/ctl.sock" --state-dir "$d/state" --file-prefix "$TAG-vnicd" \
		--workers 1 --log-level info --config "$d/vnicd.conf" $VNICD_ARGS \
		</dev/null >>"$WORK/vnicd-$size.log" 2>&1 &
	pid=$!
	SWITCH_PID=$pid
	PIDS+=("$pid")
	for ((i = 0; i < 200; i++)); do
		"$VNICCTL" --socket "$d/ctl.sock" port list --json >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || { tail -20 "$WORK/vnicd-$size.log" >&2; die "vnicd exited"; }
		sleep 0.1
	done
	[ "$i" -lt 200 ] || { tail -20 "$WORK/vnicd-$size.log" >&2; die "vnicd not ready"; }
	local netargs0=() netargs1=()
	vnicd_topology "$d"
	"$VNICCTL" --socket "$d/ctl.sock" port add g0 vhost --path "$WORK/p0" --server --mac "$MAC0" "${netargs0[@]}" >&2 ||
		die "port add g0 failed"
	"$VNICCTL" --socket "$d/ctl.sock" port add g1 vhost --path "$WORK/p1" --server --mac "$MAC1" "${netargs1[@]}" >&2 ||
		die "port add g1 failed"
	if [[ "+$POLICY+" == *+vlan-native+* ]]; then
		for i in g0 g1; do
			"$VNICCTL" --socket "$d/ctl.sock" port set $i --vlan-mode native-tagged --vlan 10 >&2 ||
				die "port set $i"
		done
	fi
	if [[ "+$POLICY+" == *+vlan-access+* ]]; then
		for i in g0 g1; do
			"$VNICCTL" --socket "$d/ctl.sock" port set $i --vlan-mode access --vlan 10 >&2 ||
				die "port set $i"
		done
	fi
	if [[ "+$POLICY+" == *+vlan+* ]]; then
		"$VNICCTL" --socket "$d/ctl.sock" port set g0 --vlan-mode access --vlan 10 >&2 &&
			"$VNICCTL" --socket "$d/ctl.sock" port set g1 --vlan-mode trunk --vlans 10 >&2 ||
			die "port set g0/g1 vlan"
	fi
	if [[ "+$POLICY+" == *+antispoof+* ]]; then
		for i in g0 g1; do
			"$VNICCTL" --socket "$d/ctl.sock" port set $i --lock-mac --allowed-ip 198.18.0.1 >&2 ||
				die "port set $i"
		done
	fi
	wait_file "$WORK/p0" && wait_file "$WORK/p1" || die "vnicd vhost sockets missing"
	[ "$VNICD_TOPO" = overlay ] && wait_resolved "$d"
	VNICD_SOCK=$d/ctl.sock
	run_guest "$size"
	VNICD_SOCK=
	"$VNICCTL" --socket "$d/ctl.sock" port list --json >"$WORK/vnicd-ports-$size.json" 2>&1
	"$VNICCTL" --socket "$d/ctl.sock" stats --json >"$WORK/vnicd-stats-$size.json" 2>&1
	# a policy run must not win by dropping: report what the policy refused
	VNICD_DROPS=$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(" ".join("%s:%s=%d" % (p["name"], k, v) for p in d["ports"] for k, v in p["drops"].items() if v) or "none")' \
		"$WORK/vnicd-stats-$size.json" 2>/dev/null)
	if [ "$VNICD_TOPO" = overlay ]; then # the tunnel's own drop counters too
		local ov drops
		for ov in ovA ovB; do
			drops=$("$VNICCTL" --socket "$d/ctl.sock" net show $ov --json 2>/dev/null | python3 -c 'import json, sys
d = json.load(sys.stdin)
t = d.get("tunnel_drops", {})
r = [x.get("tx_dropped", 0) for x in d.get("remotes", [])]
print(" ".join(["%s=%d" % (k, v) for k, v in t.items() if v] + (["tx_dropped=%d" % sum(r)] if sum(r) else [])))' 2>/dev/null)
			[ -n "$drops" ] && VNICD_DROPS="$VNICD_DROPS $ov:${drops// / $ov:}"
		done
	fi
	cleanup
	rm -f "$WORK"/*.in "$WORK"/p0 "$WORK"/p1
}

have_vnicd=1
if [[ " $SWITCHES " == *" vnicd "* ]]; then
	if [ ! -x "$VNICD" ] || [ ! -x "$VNICCTL" ]; then
		log "vnicd missing ($VNICD / $VNICCTL not built): measuring testpmd-as-switch only"
		have_vnicd=0
	fi
else
	have_vnicd=0
fi
do_testpmd=0
[[ " $SWITCHES " == *" testpmd "* ]] && do_testpmd=1
OVS_VSWITCHD=${OVS_VSWITCHD:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}
do_ovs=0
if [[ " $SWITCHES " == *" ovs "* ]]; then
	if [ -x "$OVS_VSWITCHD" ] && command -v ovsdb-server >/dev/null; then
		do_ovs=1
	else
		log "OVS-DPDK missing (apt-get install openvswitch-switch-dpdk): not measured"
	fi
fi

log "sizes: $SIZES (bytes on the wire$([ "$FCS" = 4 ] && echo " with FCS, RFC 2544: the guest sends size-4" || echo ", FCS not counted")); warm-up ${WARMUP}s, measure ${DURATION}s; guest fwd $GUEST_FWD ($GUEST_TOPO), tx_first $TXFIRST x $BURST per port"
declare -A RES_T RES_V RES_O MEM_T MEM_V MEM_O
for size in $SIZES; do
	if [ $do_testpmd = 1 ]; then
		bench_testpmd "$size"
		RES_T[$size]=$MPPS
		MEM_T[$size]=$RSS_MB
		log "size $size: testpmd-switch ${RES_T[$size]} Mpps (median of ${WINDOW}s windows; mean $MEAN)"
	fi
	if [ $have_vnicd = 1 ]; then
		bench_vnicd "$size"
		RES_V[$size]=$MPPS
		MEM_V[$size]=$RSS_MB
		topo=
		[ "$VNICD_TOPO" = plain ] || topo="topology $VNICD_TOPO$([ "$VNICD_TOPO" = overlay ] && echo " $ENCAP/IPv$UNDERLAY_AF")"
		log "size $size: vnicd${POLICY:+ (policy $POLICY)}${topo:+ ($topo)} ${RES_V[$size]} Mpps (median of ${WINDOW}s windows; mean $MEAN; worker busy ${BUSY:-?}; worker ns/frame ${NSPF:-?}; worker ns/guest-frame ${NSPG:-?}; drops ${VNICD_DROPS:-?})"
	fi
	if [ $do_ovs = 1 ]; then
		bench_ovs "$size"
		RES_O[$size]=$MPPS
		MEM_O[$size]=$RSS_MB
		log "size $size: ovs-dpdk${POLICY:+ (policy $POLICY)} ${RES_O[$size]} Mpps (median of ${WINDOW}s windows; mean $MEAN)"
	fi
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && b > 0) printf "%.2f", a / b; else print "-" }'; }
printf '%-6s %14s %12s %12s %10s %10s   %s\n' size testpmd-Mpps vnicd-Mpps ovs-Mpps vnicd/tpmd vnicd/ovs \
	"memory MB, RSS+hugepages (testpmd/vnicd/ovs)"
for size in $SIZES; do
	t=${RES_T[$size]:--}
	v=${RES_V[$size]:--}
	o=${RES_O[$size]:--}
	[ $have_vnicd = 0 ] && [[ " $SWITCHES " == *" vnicd "* ]] && v=missing
	printf '%-6s %14s %12s %12s %10s %10s   %s/%s/%s\n' "$size" "$t" "$v" "$o" "$(ratio "$v" "$t")" \
		"$(ratio "$v" "$o")" "${MEM_T[$size]:--}" "${MEM_V[$size]:--}" "${MEM_O[$size]:--}"
done
