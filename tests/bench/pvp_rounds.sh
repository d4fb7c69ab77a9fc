#!/bin/bash
# SPDX-License-Identifier: MIT
# pvp.sh in PVP_ROUNDS rounds (default 3): each round measures every switch once per size,
# and the result is, per size, the median of the per-round ratios vnicd/testpmd and
# vnicd/OVS-DPDK with their min-max, and of the capacity ratios (testpmd-switch's and
# OVS-DPDK's busy ns per frame over vnicd's worker's, from pvp.sh's last columns). On a
# shared or small machine
# absolute rates swing several times within minutes (README, Performance): only same-round
# ratios mean something.
#
#   PVP_ROUNDS=3 bash tests/bench/pvp_rounds.sh      # every PVP_* knob of pvp.sh applies
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${PVP_ROUNDS:-3}
[ -n "${BENCH_SMOKE:-}" ] && ROUNDS=1
OUT=$(mktemp -d /tmp/pvp-rounds.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

for r in $(seq 1 "$ROUNDS"); do
	echo "pvp_rounds: round $r of $ROUNDS" >&2
	bash "$HERE/pvp.sh" >"$OUT/round$r.txt" || { echo "pvp_rounds: pvp.sh failed" >&2; exit 1; }
	sed -n '/^size /,$p' "$OUT/round$r.txt" >&2
done

python3 - "$OUT" "$ROUNDS" <<'EOF'
import glob, os, statistics, sys

def num_or_none(x):
    try:
        return float(x)
    except ValueError:
        return None


rows = {}  # size -> [(testpmd, vnicd, ovs, testpmd ns, vnicd ns, ovs ns) per round]
for path in sorted(glob.glob(os.path.join(sys.argv[1], 'round*.txt'))):
    table = False
    for line in open(path):
        w = line.split()
        if w[:1] == ['size']:
            table = True
            continue
        if table and len(w) >= 4 and w[0].isdigit():
            val = [num_or_none(x) for x in w[1:4] + w[7:9] + w[10:11]]
            rows.setdefault(int(w[0]), []).append(val)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ratios(rounds, i, j):
    return [r[i] / r[j] for r in rounds if r[i] and r[j]]


def fmt(rs):
    return '%.2f (%.2f-%.2f)' % (statistics.median(rs), min(rs), max(rs)) if rs else '-'


def num(x):
    return '%.2f' % x if x is not None else '-'


print('%-6s %8s %12s %10s %10s %22s %22s %22s %22s' % (
    'size', 'rounds', 'testpmd-Mpps', 'vnicd-Mpps', 'ovs-Mpps', 'vnicd/testpmd', 'vnicd/ovs',
    'capacity vs testpmd', 'capacity vs ovs'))
for size in sorted(rows):
    rs = [r + [None] * (6 - len(r)) for r in rows[size]]
    print('%-6d %8d %12s %10s %10s %22s %22s %22s %22s' % (
        size, len(rs), num(med(r[0] for r in rs)), num(med(r[1] for r in rs)),
        num(med(r[2] for r in rs)), fmt(ratios(rs, 1, 0)), fmt(ratios(rs, 1, 2)),
        fmt(ratios(rs, 3, 4)), fmt(ratios(rs, 5, 4))))
print('(capacity: the other switch\'s busy ns per frame over vnicd\'s; above 1: vnicd costs less)')
EOF
