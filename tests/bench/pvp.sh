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
#   twice    g0 in bridge brA, g1 in bridge brB, brA's and brB's uplinks the two ends of a
#            wire inside the same vnicd (PVP_WIRE): every frame is switched twice
#   overlay  g0 in overlay ovA, g1 in overlay ovB (PVP_ENCAP, VNI 100), ovA's underlay ulA and
#            ovB's underlay ulB joined by the same wire; ovA's local VTEP is ovB's remote
#            and vice versa: guest -> vnicd (switch in ovA, encap) -> wire -> vnicd (decap,
#            switch in ovB) -> guest. Measured only once both remote VTEPs are resolved (ARP
#            or ND across the wire).
#   wire2, overlay2  the same as twice and overlay with two vnicd instances, "two hosts": g0 and
#            brA/ulA+ovA in vnicd A, g1 and brB/ulB+ovB in vnicd B, a memif pair joining the
#            two processes. Both workers share CPU 1 (this 2-core VM has no third core), so the
#            frame rate is that of one core doing both ends; the figure is each vnicd's
#            worker cost per frame the guest received, stalls (descheduled iterations) left
#            out, and the costlier one is reported (NSPG; both in NSPG_EACH).
# The wire of twice and overlay (PVP_WIRE):
#   ring     (default) --uplink wire:pvp/0 and wire:pvp/1: a pair of rte_rings, a frame crosses
#            as its mbuf, as a NIC's DMA hands it on: no CPU copy on the wire
#   memif    a DPDK memif pair (net_memif0 server, net_memif1 client on one socket): each
#            frame copied into the shared ring and out again, CPU work a real host's NIC
#            does not make (the measurements before wires existed)
WIRE=${PVP_WIRE:-ring}
VNICD_TOPO=${PVP_VNICD_TOPO:-plain}
VNICD_SOCKS=()
ENCAP=${PVP_ENCAP:-vxlan}           # overlay: vxlan | geneve | nvgre
UNDERLAY_AF=${PVP_UNDERLAY:-4}      # overlay: underlay addresses IPv4 (4) or IPv6 (6)
OV_MTU=${PVP_OVERLAY_MTU:-1600}     # overlay: the underlay MTU (1518-byte guest frames fit)
PERF=${PVP_PERF:-}                  # perf record -g of the switch over the measured window into
                                    # $PERF-SIZE.data (vnicd), $PERF-testpmd-SIZE.data, $PERF-ovs-SIZE.data
# Both testpmds (the guest, and testpmd as the switch) record their busy cycles and rx burst
# sizes (--record-core-cycles --record-burst-stats: a TSC read per burst); logged per size.
# testpmd-switch's busy ns per frame sits in the table next to vnicd's worker ns per frame,
# and their ratio is each switch's capacity compared, whichever side limits the loop's rate
# (the guest's busy ns per frame shows how close the guest is to its own limit).
# PVP_RECORD=0 leaves the recording out.
RECORD=${PVP_RECORD:-1}
[ "$RECORD" = 0 ] && RECORD=
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
	if [ -n "$RECORD" ]; then set -- "$@" --record-core-cycles --record-burst-stats; fi
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

# worker_loops SOCKET: "LOOPS BUSY_LOOPS OWN_CYCLES FRAMES TSC_HZ STALLS" of the workers of the
# vnicd at SOCKET; OWN_CYCLES = busy_cycles - stall_cycles (iterations over 500 us, i.e. the
# worker descheduled while its core is shared, left out: its own cost)
worker_loops() {
	"$VNICCTL" --socket "$1" stats --detail --json 2>/dev/null | python3 -c 'import json, sys
w = json.load(sys.stdin).get("workers", [])
s = lambda k: sum(x.get(k, 0) for x in w)
print(s("loops"), s("busy_loops"), s("busy_cycles") - s("stall_cycles"), s("frames"),
      max([x.get("tsc_hz", 0) for x in w] or [0]), s("stalls"))' 2>/dev/null || echo "0 0 0 0 0 0"
}

# worker_cost W0 W1 GUEST_FRAMES: "BUSY NSPF NSPG STALLS" between two worker_loops readings
worker_cost() {
	awk -v a="$1" -v b="$2" -v g="$3" 'BEGIN { split(a, x); split(b, y)
		d = y[1] - x[1]; f = y[4] - x[4]; c = y[3] - x[3]
		# share of poll loops that moved frames (loops, not time: an empty poll costs tens
		# of ns, a full one microseconds, so 0.1-0.3 can already be a nearly saturated worker)
		busy = d > 0 ? sprintf("%.2f", (y[2] - x[2]) / d) : "?"
		# TSC time of the iterations that moved frames, per frame they moved (like OVS-DPDK'"'"'s
		# "avg processing cycles per packet"): its capacity is 1000 / ns per frame
		nspf = f > 0 && y[5] > 0 ? sprintf("%.1f", c / f * 1e9 / y[5]) : "?"
		# the same per frame the guest received (one per loop hop, however many times vnicd
		# switched it inside: the figure to compare across topologies)
		nspg = g > 0 && y[5] > 0 ? sprintf("%.1f", c / g * 1e9 / y[5]) : "?"
		print busy, nspf, nspg, y[6] - x[6] }'
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
	local -a w0=()
	local sock
	for sock in "${VNICD_SOCKS[@]}"; do w0+=("$(worker_loops "$sock")"); done
	[ "$CUR_SWITCH" = ovs ] && ovs_appctl dpif-netdev/pmd-stats-clear >/dev/null 2>&1
	local perfpid=
	if [ -n "$PERF" ]; then
		local pf=$PERF-$size.data
		((${#VNICD_SOCKS[@]})) || pf=$PERF-$CUR_SWITCH-$size.data
		perf record -q -g -p "$SWITCH_PID" -o "$pf" -- sleep "$DURATION" >/dev/null 2>&1 &
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
	if [ "$CUR_SWITCH" = ovs ]; then
		ovs_appctl dpif-netdev/pmd-stats-show >"$WORK/ovs-pmd-$size.txt" 2>&1
	fi
	# vnicd (each, with two): its worker's cost; the figures of the costlier one
	BUSY= NSPF= NSPG= NSPG_EACH= STALLS=0
	local k b nf ng st
	for k in "${!VNICD_SOCKS[@]}"; do
		read -r b nf ng st < <(worker_cost "${w0[$k]}" "$(worker_loops "${VNICD_SOCKS[$k]}")" "$((RX - r0))")
		NSPG_EACH+="${NSPG_EACH:+/}$ng"
		STALLS=$((STALLS + st))
		if [ -z "$NSPG" ] || awk -v a="$ng" -v b="$NSPG" 'BEGIN { exit !(a + 0 > b + 0) }'; then
			BUSY=$b NSPF=$nf NSPG=$ng
		fi
	done
	tp_cmd guest "stop"
	cp "$WORK/out" "$WORK/guest-stop-$CUR_SWITCH-$size.txt"
	if [ -n "$RECORD" ]; then
		log "size $size: guest with $CUR_SWITCH: $(tp_record "$WORK/out")"
	fi
}

# tp_record FILE: "CYCLES/packet, share of empty rx polls" from a testpmd's "stop" output
# (PVP_RECORD=1); busy cycles are those of polls that received frames
tp_record() {
	awk '/RX-bursts :/ { gsub(/[\[%]/, "", $4); e += $4; n++ }
		/CPU cycles\/packet=/ { split($2, c, "="); cy = c[2]; mhz = $(NF - 2) }
		END { printf "%s cycles/frame busy (%.1f ns), rx polls empty %.0f %%", cy,
			(mhz > 0 ? cy * 1000 / mhz : 0), (n ? e / n : 0) }' "$1"
}

# ovs_appctl COMMAND...: to the ovs-vswitchd of bench_ovs (its control socket in OVS_RUNDIR)
ovs_appctl() { ovs-appctl -t "$OVS_RUNDIR/$(basename "$OVS_VSWITCHD").$SWITCH_PID.ctl" "$@"; }

# ovs_ns PMD_STATS GUEST_STOP: OVS-DPDK's PMD busy ns per frame over the measured window
# ("avg processing cycles per packet" of pmd-stats-show: TSC cycles of the iterations that
# received packets, over the packets), the TSC rate from the guest testpmd's record, or "-"
ovs_ns() {
	awk 'FNR == NR { if ($0 ~ /avg processing cycles per packet:/) cy = $6; next }
		/CPU cycles\/packet=/ { mhz = $(NF - 2) }
		END { if (cy > 0 && mhz > 0) printf "%.1f", cy * 1000 / mhz; else print "-" }' "$1" "$2" 2>/dev/null || echo -
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
	TP_NS=-
	if [ -n "$RECORD" ]; then
		local rec
		rec=$(tp_record "$WORK/out")
		log "size $size: testpmd-switch $rec"
		TP_NS=$(sed -n 's/.*(\([0-9.]*\) ns).*/\1/p' <<<"$rec")
	fi
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
	OVS_NS=$(ovs_ns "$WORK/ovs-pmd-$size.txt" "$WORK/guest-stop-ovs-$size.txt")
	cleanup
	unset OVS_RUNDIR OVS_DBDIR OVS_LOGDIR OVS_SYSCONFDIR
	rm -f "$WORK"/*.in "$WORK"/p0 "$WORK"/p1
}

# vnicd_topology DIR DIR_B: make PVP_VNICD_TOPO's networks in the vnicd at DIR/ctl.sock (and
# the B side in DIR_B's with wire2/overlay2) and set netargs0/netargs1 (the --net of g0/g1).
vnicd_topology() {
	local c=("$VNICCTL" --socket "$1/ctl.sock") cb=("$VNICCTL" --socket "$2/ctl.sock") m0 m1 la lb
	# vnicd takes memif sockets only under /run/vnicd* (uplink devargs are allow-listed)
	local ms=/run/vnicd-pvp-$$.sock
	rm -f "$ms"
	m0="net_memif0,role=server,socket=$ms,id=0"
	m1="net_memif1,role=client,socket=$ms,id=0"
	case $VNICD_TOPO in
	plain) return 0 ;;
	twice | overlay)
		cb=("${c[@]}")
		case $WIRE in
		ring) m0=wire:pvp/0 m1=wire:pvp/1 ;;
		memif) ;;
		*) die "PVP_WIRE: ring or memif" ;;
		esac
		;;
	wire2 | overlay2) ;;
	*) die "PVP_VNICD_TOPO: plain, twice, overlay, wire2 or overlay2" ;;
	esac
	case $VNICD_TOPO in
	twice | wire2)
		"${c[@]}" net add brA bridge --uplink "$m0" >&2 &&
			"${cb[@]}" net add brB bridge --uplink "$m1" >&2 || die "net add brA/brB failed"
		netargs0=(--net brA)
		netargs1=(--net brB)
		;;
	overlay | overlay2)
		if [ "$UNDERLAY_AF" = 6 ]; then la=fd00::1 lb=fd00::2; else la=10.0.0.1 lb=10.0.0.2; fi
		"${c[@]}" net add ulA bridge --uplink "$m0" >&2 &&
			"${cb[@]}" net add ulB bridge --uplink "$m1" >&2 &&
			"${c[@]}" net add ovA overlay --type "$ENCAP" --vni 100 --local $la --underlay ulA \
				--remote $lb --mtu "$OV_MTU" >&2 &&
			"${cb[@]}" net add ovB overlay --type "$ENCAP" --vni 100 --local $lb --underlay ulB \
				--remote $la --mtu "$OV_MTU" >&2 || die "overlay set-up failed"
		netargs0=(--net ovA)
		netargs1=(--net ovB)
		;;
	esac
}

# wait_resolved SOCKET_A SOCKET_B: until the remote VTEP of ovA (at A) and of ovB (at B) is
# resolved (30 s)
wait_resolved() {
	local i ov ok s
	for ((i = 0; i < 300; i++)); do
		ok=1
		for ov in ovA ovB; do
			s=$1
			[ $ov = ovB ] && s=$2
			"$VNICCTL" --socket "$s" net show $ov --json 2>/dev/null | python3 -c 'import json, sys
r = json.load(sys.stdin).get("remotes", [])
sys.exit(0 if r and all(x.get("state") == "resolved" for x in r) else 1)' 2>/dev/null || ok=0
		done
		[ $ok = 1 ] && return 0
		sleep 0.1
	done
	die "overlay: remote VTEPs not resolved after 30 s"
}

# start_vnicd DIR PREFIX LOG: a vnicd with its socket and state in DIR; sets VPID
start_vnicd() {
	local d=$1 i pid
	rm -rf "$d"
	mkdir -p "$d/state"
	printf '%s' "$VNICD_CONFIG" >"$d/vnicd.conf"
	# the server sockets g0/g1 live in $WORK: vnicd creates them only in vhost_socket_dirs
	grep -q '^[[:space:]]*vhost_socket_dirs' "$d/vnicd.conf" ||
		printf '\nvhost_socket_dirs = %s\n' "$WORK" >>"$d/vnicd.conf"
	PREFIXES+=("$2")
	# shellcheck disable=SC2086
	"$VNICD" --control-socket "$d/ctl.sock" --state-dir "$d/state" --file-prefix "$2" \
		--workers 1 --log-level info --config "$d/vnicd.conf" $VNICD_ARGS \
		</dev/null >>"$3" 2>&1 &
	pid=$!
	VPID=$pid
	PIDS+=("$pid")
	for ((i = 0; i < 200; i++)); do
		"$VNICCTL" --socket "$d/ctl.sock" port list --json >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || { tail -20 "$3" >&2; die "vnicd exited"; }
		sleep 0.1
	done
	[ "$i" -lt 200 ] || { tail -20 "$3" >&2; die "vnicd not ready"; }
}

# vnicd_drops SOCKET: "port:reason=N ..." of what that vnicd dropped (its overlays' tunnel
# drops too), "none" if nothing
vnicd_drops() {
	"$VNICCTL" --socket "$1" stats --json 2>/dev/null | python3 -c 'import json, subprocess, sys
d = json.load(sys.stdin)
out = ["%s:%s=%d" % (p["name"], k, v) for p in d["ports"] for k, v in p["drops"].items() if v]
for ov in ("ovA", "ovB"):
    r = subprocess.run([sys.argv[1], "--socket", sys.argv[2], "net", "show", ov, "--json"],
                       capture_output=True, text=True)
    if r.returncode:
        continue
    n = json.loads(r.stdout)
    out += ["%s:%s=%d" % (ov, k, v) for k, v in n.get("tunnel_drops", {}).items() if v]
    t = sum(x.get("tx_dropped", 0) for x in n.get("remotes", []))
    out += ["%s:tx_dropped=%d" % (ov, t)] if t else []
print(" ".join(out) or "none")' "$VNICCTL" "$1" 2>/dev/null
}

bench_vnicd() {
	local size=$1 i d=$WORK/vnicd db=$WORK/vnicdB
	CUR_SWITCH=vnicd
	start_vnicd "$d" "$TAG-vnicd" "$WORK/vnicd-$size.log"
	SWITCH_PID=$VPID
	local sa=$d/ctl.sock sb=$d/ctl.sock
	if [[ $VNICD_TOPO == *2 ]]; then
		[ -z "$POLICY" ] || die "PVP_POLICY does not go with PVP_VNICD_TOPO=$VNICD_TOPO"
		start_vnicd "$db" "$TAG-vnicdB" "$WORK/vnicdB-$size.log"
		sb=$db/ctl.sock
	fi
	local netargs0=() netargs1=()
	vnicd_topology "$d" "$db"
	"$VNICCTL" --socket "$sa" port add g0 vhost --path "$WORK/p0" --server --mac "$MAC0" "${netargs0[@]}" >&2 ||
		die "port add g0 failed"
	"$VNICCTL" --socket "$sb" port add g1 vhost --path "$WORK/p1" --server --mac "$MAC1" "${netargs1[@]}" >&2 ||
		die "port add g1 failed"
	if [[ "+$POLICY+" == *+vlan-native+* ]]; then
		for i in g0 g1; do
			"$VNICCTL" --socket "$sa" port set $i --vlan-mode native-tagged --vlan 10 >&2 ||
				die "port set $i"
		done
	fi
	if [[ "+$POLICY+" == *+vlan-access+* ]]; then
		for i in g0 g1; do
			"$VNICCTL" --socket "$sa" port set $i --vlan-mode access --vlan 10 >&2 ||
				die "port set $i"
		done
	fi
	if [[ "+$POLICY+" == *+vlan+* ]]; then
		"$VNICCTL" --socket "$sa" port set g0 --vlan-mode access --vlan 10 >&2 &&
			"$VNICCTL" --socket "$sa" port set g1 --vlan-mode trunk --vlans 10 >&2 ||
			die "port set g0/g1 vlan"
	fi
	if [[ "+$POLICY+" == *+antispoof+* ]]; then
		for i in g0 g1; do
			"$VNICCTL" --socket "$sa" port set $i --lock-mac --allowed-ip 198.18.0.1 >&2 ||
				die "port set $i"
		done
	fi
	wait_file "$WORK/p0" && wait_file "$WORK/p1" || die "vnicd vhost sockets missing"
	[[ $VNICD_TOPO == overlay* ]] && wait_resolved "$sa" "$sb"
	VNICD_SOCKS=("$sa")
	[ "$sb" != "$sa" ] && VNICD_SOCKS+=("$sb")
	run_guest "$size"
	VNICD_SOCKS=()
	"$VNICCTL" --socket "$sa" port list --json >"$WORK/vnicd-ports-$size.json" 2>&1
	"$VNICCTL" --socket "$sa" stats --json >"$WORK/vnicd-stats-$size.json" 2>&1
	# a policy run must not win by dropping: report what the policy refused (and the tunnels)
	VNICD_DROPS=$(vnicd_drops "$sa")
	[ "$sb" != "$sa" ] && VNICD_DROPS="${VNICD_DROPS#none} $(vnicd_drops "$sb")" &&
		VNICD_DROPS=${VNICD_DROPS# }
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
declare -A RES_T RES_V RES_O MEM_T MEM_V MEM_O NS_T NS_V NS_O
for size in $SIZES; do
	if [ $do_testpmd = 1 ]; then
		bench_testpmd "$size"
		RES_T[$size]=$MPPS
		MEM_T[$size]=$RSS_MB
		NS_T[$size]=${TP_NS:--}
		log "size $size: testpmd-switch ${RES_T[$size]} Mpps (median of ${WINDOW}s windows; mean $MEAN)"
	fi
	if [ $have_vnicd = 1 ]; then
		bench_vnicd "$size"
		RES_V[$size]=$MPPS
		MEM_V[$size]=$RSS_MB
		NS_V[$size]=${NSPF:--}
		topo=
		[ "$VNICD_TOPO" = plain ] || topo="topology $VNICD_TOPO$([[ $VNICD_TOPO == overlay* ]] && echo " $ENCAP/IPv$UNDERLAY_AF")"
		[[ $VNICD_TOPO == twice || $VNICD_TOPO == overlay ]] && topo="$topo, wire $WIRE"
		each=
		[[ $VNICD_TOPO == *2 ]] && each="; A/B ns/guest-frame $NSPG_EACH"
		log "size $size: vnicd${POLICY:+ (policy $POLICY)}${topo:+ ($topo)} ${RES_V[$size]} Mpps (median of ${WINDOW}s windows; mean $MEAN; worker busy ${BUSY:-?}; worker ns/frame ${NSPF:-?}; worker ns/guest-frame ${NSPG:-?}$each; stalls $STALLS; drops ${VNICD_DROPS:-?})"
	fi
	if [ $do_ovs = 1 ]; then
		bench_ovs "$size"
		RES_O[$size]=$MPPS
		MEM_O[$size]=$RSS_MB
		NS_O[$size]=${OVS_NS:--}
		log "size $size: ovs-dpdk${POLICY:+ (policy $POLICY)} ${RES_O[$size]} Mpps (median of ${WINDOW}s windows; mean $MEAN)"
	fi
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && a != "?" && b != "-" && b != "?" && b > 0) printf "%.2f", a / b; else print "-" }'; }
# busy ns per frame switched: testpmd-switch's (--record-core-cycles), vnicd's worker's and
# OVS-DPDK's PMD's (pmd-stats-show); capacity = testpmd's / vnicd's (> 1: vnicd's switching
# costs less per frame)
printf '%-6s %14s %12s %12s %10s %10s   %-14s %9s %9s %8s %8s\n' size testpmd-Mpps vnicd-Mpps \
	ovs-Mpps vnicd/tpmd vnicd/ovs "memory-MB" tpmd-ns vnicd-ns capacity ovs-ns
for size in $SIZES; do
	t=${RES_T[$size]:--}
	v=${RES_V[$size]:--}
	o=${RES_O[$size]:--}
	[ $have_vnicd = 0 ] && [[ " $SWITCHES " == *" vnicd "* ]] && v=missing
	printf '%-6s %14s %12s %12s %10s %10s   %-14s %9s %9s %8s %8s\n' "$size" "$t" "$v" "$o" \
		"$(ratio "$v" "$t")" "$(ratio "$v" "$o")" \
		"${MEM_T[$size]:--}/${MEM_V[$size]:--}/${MEM_O[$size]:--}" "${NS_T[$size]:--}" \
		"${NS_V[$size]:--}" "$(ratio "${NS_T[$size]:--}" "${NS_V[$size]:--}")" "${NS_O[$size]:--}"
done
echo "(memory-MB: RSS + hugepages mapped, testpmd/vnicd/ovs; tpmd-ns, vnicd-ns, ovs-ns: busy ns per frame switched; capacity: tpmd-ns / vnicd-ns)"
