# SPDX-License-Identifier: MIT
# Policy benchmark (issue 5): vnicd's PVP forwarding rate with VLAN tagging and anti-spoofing, as a ratio to plain switching in the same run.
#
# Run as root:  bash tests/bench/policy_bench.sh
#
# Runs tests/bench/pvp.sh (vnicd, and OVS-DPDK as the peer under the same policy unless
# POLICY_PEER= is empty) with PVP_POLICY = "" (plain), vlan, antispoof and
# vlan+antispoof, interleaved for POLICY_ROUNDS rounds (default 3), every run with the same
# guest set-up: each guest port sends back what it received (testpmd --port-topology=loop,
# macswap), so with "vlan" (g0 access VLAN 10, g1 trunk of VLAN 10) vnicd pushes a tag on
# every frame from g0 to g1 and strips it from every frame from g1 to g0, and the guest never
# touches a tag; "vlan-access" (both ports access VLAN 10) classifies every frame into VLAN 10
# and switches it there without changing its bytes. Prints the best and the median Mpps of each mode and their ratios to
# plain's, vnicd's own capacity (its worker's ns per frame: TSC time of the poll
# iterations that moved frames, per frame) and its ratio, and OVS-DPDK's median and ratio.
# Then the switch-only cost per frame from build/tests/bench/policy_micro (ring ports, no
# guest), which isolates vnicd's own work. Sizes are RFC 2544 frame sizes with the FCS, as
# in pvp.sh: at 64 the access side carries 60 bytes of frame data and the trunk 64 (PVP_FCS=0:
# 64 and 68, where the tag pushes the frame across a cache line of the guest's buffers).
# Knobs: pvp.sh's (PVP_SIZES default 64 here,
# PVP_DURATION default 6 here), POLICY_ROUNDS, POLICY_MODES (also: plain+4, plain switching
# of frames 4 bytes longer than each size, what a tag alone costs the vhost copies;
# vlan-native, vlan-native+antispoof: both ports native-tagged, the guest strips tags).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=${VNICD_BUILD_DIR:-$REPO/build}
ROUNDS=${POLICY_ROUNDS:-3}
MODES=${POLICY_MODES:-plain plain+4 vlan vlan-access antispoof vlan+antispoof}
export PVP_SIZES=${PVP_SIZES:-64} PVP_DURATION=${PVP_DURATION:-6} PVP_WARMUP=${PVP_WARMUP:-2}
# the peer: OVS-DPDK with the same policy (VLAN port settings, anti-spoofing OpenFlow rules in
# front of NORMAL; see pvp.sh's ovs_policy), measured in the same rounds when installed
OVS_VSWITCHD=${OVS_VSWITCHD:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}
PEER=${POLICY_PEER-ovs}
[ -n "$PEER" ] && ! [ -x "$OVS_VSWITCHD" ] && {
	echo "policy_bench: OVS-DPDK missing (apt-get install openvswitch-switch-dpdk): no peer" >&2
	PEER=
}
export PVP_SWITCHES="vnicd $PEER" VNICD_BUILD_DIR=$BUILD
export PVP_GUEST_TOPO=${PVP_GUEST_TOPO:-loop} PVP_GUEST_FWD=${PVP_GUEST_FWD:-macswap}
# virtqueues of 1024: "vlan" starts all its frames in flight from one port (see pvp.sh), and
# they must fit in one queue as plain's fit in two
export PVP_QUEUE_SIZE=${PVP_QUEUE_SIZE:-1024}
declare -A RES BUSY NSPF PRES
for ((r = 1; r <= ROUNDS; r++)); do
	for mode in $MODES; do
		pol=$mode
		sizes=$PVP_SIZES
		add=0
		[ "$mode" = plain ] && pol=
		if [ "$mode" = plain+4 ]; then # plain switching of frames a tag longer
			pol=
			add=4
			sizes=$(for size in $PVP_SIZES; do printf '%d ' $((size + 4)); done)
		fi
		out=$(PVP_POLICY=$pol PVP_SIZES=$sizes bash "$HERE/pvp.sh" 2>&1) ||
			{ echo "$out" >&2; exit 1; }
		for size in $PVP_SIZES; do
			line=$(grep "pvp: size $((size + add)): vnicd" <<<"$out")
			echo "round $r: $line" >&2
			mpps=$(sed -n 's/.* \([0-9.]*\) Mpps.*/\1/p' <<<"$line")
			busy=$(sed -n 's/.*worker busy \([0-9.?]*\).*/\1/p' <<<"$line")
			nspf=$(sed -n 's/.*worker ns\/frame \([0-9.?]*\).*/\1/p' <<<"$line")
			# expected: g1 (a trunk) refuses port 1's untagged tx_first frames in vlan
			# modes; a few queue_full while the first bursts settle
			unexpected=$(sed -n 's/.*drops \(.*\))$/\1/p' <<<"$line" | tr ' ' '\n' |
				grep -v '^none$\|^g1:policy=\|:queue_full=' || true)
			[ -z "$unexpected" ] || echo "warning: $mode dropped frames: $line" >&2
			RES[$mode,$size]="${RES[$mode,$size]:-} $mpps"
			BUSY[$mode,$size]="${BUSY[$mode,$size]:-} $busy"
			NSPF[$mode,$size]="${NSPF[$mode,$size]:-} $nspf"
			if [ -n "$PEER" ]; then
				line=$(grep "pvp: size $((size + add)): ovs-dpdk" <<<"$out")
				echo "round $r: $line" >&2
				PRES[$mode,$size]="${PRES[$mode,$size]:-} $(sed -n 's/.* \([0-9.]*\) Mpps.*/\1/p' <<<"$line")"
			fi
		done
	done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
best() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# other load on the machine only ever slows a run down, so the best run of each mode is the
# least disturbed one; the median is shown too. Two figures per mode:
#  - loop rate: frames per second through the whole guest -> vnicd -> guest loop; bounded by
#    the slower of the two (on 2 cores often the guest, which must also strip VLAN tags);
#  - vnicd capacity: 1000 / the worker's ns per frame (TSC time of the poll iterations that
#    moved frames, per frame): the rate vnicd's worker can forward, whoever is slower.
printf '%-6s %-16s %10s %8s %10s %8s %9s %10s %8s %10s %8s   %s\n' size mode best-Mpps ratio \
	median ratio ns/frame capac-Mpps ratio ovs-median ratio "vnicd runs (Mpps)"
for size in $PVP_SIZES; do
	bbase=$(best <<<"${RES[plain,$size]:-0}")
	mbase=$(median <<<"${RES[plain,$size]:-0}")
	nbase=$(median <<<"${NSPF[plain,$size]:-0}")
	obase=$(median <<<"${PRES[plain,$size]:-0}")
	for mode in $MODES; do
		bm=$(best <<<"${RES[$mode,$size]}")
		m=$(median <<<"${RES[$mode,$size]}")
		ns=$(median <<<"${NSPF[$mode,$size]}")
		cap=$(awk -v n="$ns" 'BEGIN { printf "%.2f", (n > 0 ? 1000 / n : 0) }')
		om=-
		oratio=-
		if [ -n "$PEER" ]; then
			om=$(median <<<"${PRES[$mode,$size]}")
			oratio=$(ratio "$om" "$obase")
		fi
		printf '%-6s %-16s %10.3f %8s %10.3f %8s %9s %10s %8s %10s %8s   %s\n' "$size" "$mode" \
			"$bm" "$(ratio "$bm" "$bbase")" "$m" "$(ratio "$m" "$mbase")" "$ns" "$cap" \
			"$(ratio "$nbase" "$ns")" "$om" "$oratio" "${RES[$mode,$size]}"
	done
done
if [ -x "$BUILD/tests/bench/policy_micro" ]; then
	echo "switch-only cost (ring ports, no guest; policy_micro 1 5):"
	"$BUILD/tests/bench/policy_micro" 1 5
fi
