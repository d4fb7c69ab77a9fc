#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Benchmark smoke run (meson suite "bench"): every benchmark once in a tiny mode (BENCH_SMOKE=1
# and short knobs), to prove the scripts still run and print their figures. No thresholds: a
# command passes when it exits 0 and its output matches the pattern of its figure line.
#
# To add a benchmark: one entry in COMMANDS (name, argv, extra environment, regex that its
# stdout must match). {bench} is tests/bench/, {build} the build directory.
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import vnlib  # noqa: E402

NUM = r'[0-9]+(?:\.[0-9]+)?'
PVP = {'PVP_SIZES': '64', 'PVP_WARMUP': '1', 'PVP_DURATION': '1'}
COMMANDS = [
    # pvp.sh runs inside pvp_rounds.sh, which parses its table (no rows: no figure line)
    ('pvp_rounds', ['bash', '{bench}/pvp_rounds.sh'], PVP,
     r'(?m)^64\s+1\s+%s\s+%s\s' % (NUM, NUM)),
    ('policy_bench', ['bash', '{bench}/policy_bench.sh'],
     dict(PVP, POLICY_ROUNDS='1', POLICY_MODES='plain vlan', POLICY_PEER=''), r'vlan'),
    ('overlay_bench', ['bash', '{bench}/overlay_bench.sh'],
     dict(PVP, OVERLAY_ROUNDS='1', OVERLAY_MODES='plain vxlan vxlan2', OVERLAY_LOCK=''),
     r'(?m)^64\s+vxlan\s.*\n64\s+vxlan2\s+%s' % NUM),
    ('tap_bench', ['python3', '{bench}/tap_bench.py', '--seconds', '1', '--runs', '1'], {},
     r'io_uring\s+%s' % NUM),
    ('tap_tcp', ['python3', '{bench}/tap_tcp.py', '--seconds', '1', '--rounds', '1'], {},
     r'(?m)^pass\s+%s' % NUM),
    ('tap_tcp_uplink', ['python3', '{bench}/tap_tcp.py', '--seconds', '1', '--rounds', '1',
                        '--uplink'], {'TAP_TCP_MODES': 'pass complete'},
     r'(?m)^pass\s+%s' % NUM),
    ('idle_cpu', ['python3', '{bench}/idle_cpu.py'], {},
     r'adaptive \(idle_sleep_us=1000\)\s+%s %%' % NUM),
    ('latency', ['python3', '{bench}/latency.py'], {}, r'busy polling.*\s%s\s+%s' % (NUM, NUM)),
    ('uplink', ['python3', '{bench}/uplink.py'], {'UPLINK_SECONDS': '1'},
     r'idle with an af_packet uplink: %s' % NUM),
    ('churn_soak', ['python3', '{bench}/churn_soak.py'],
     {'CHURN_CYCLES': '10', 'CHURN_GUESTS': '2'}, r'returned to baseline'),
    ('policy_micro', ['{build}/tests/bench/policy_micro', '0.05', '1'], {}, NUM),
    ('tunnel_micro', ['{build}/tests/bench/tunnel_micro', '0.05', '1'], {}, NUM),
    ('nat_micro', ['{build}/tests/bench/nat_micro', '256', '1'], {}, r'established flows'),
    ('nat_loop', ['{build}/tests/bench/nat_loop', '0.05', '1'], {}, r'nat capacity %s' % NUM),
    ('fdb_micro', ['{build}/tests/bench/fdb_micro', '0.02', '1'], {}, r'(?m)^\s+1000000\s'),
    ('vhost_offload', ['python3', '{bench}/vhost_offload.py'], {},
     r'offloads both / none: median %s' % NUM),
    ('nat_pvp', ['python3', '{bench}/nat_pvp.py', '--rounds', '1', '--seconds', '1',
                 '--sizes', '64'], {}, r'(?m)^64\s+nat\s'),
]


def main():
    only = sys.argv[1:]  # names to run (default: all)
    tap = vnlib.Tap()
    vnlib.require_root_hugepages_testpmd(tap)
    build = vnlib.build_dir()
    env = dict(os.environ, BENCH_SMOKE='1', VNICD_BUILD_DIR=build)
    for name, argv, extra, pattern in COMMANDS:
        if only and name not in only:
            continue
        argv = [a.format(bench=HERE, build=build) for a in argv]
        t0 = time.monotonic()
        try:
            cp = subprocess.run(argv, env=dict(env, **extra), capture_output=True, text=True,
                                timeout=600, stdin=subprocess.DEVNULL)
            rc, out, err = cp.returncode, cp.stdout, cp.stderr
        except subprocess.TimeoutExpired as e:
            rc, out, err = 'timeout', e.stdout or '', e.stderr or ''
            out = out.decode() if isinstance(out, bytes) else out
            err = err.decode() if isinstance(err, bytes) else err
        ok = rc == 0 and re.search(pattern, out) is not None
        tap.ok(ok, '%s runs and prints its figures (%.0f s)' % (name, time.monotonic() - t0))
        if ok:
            for line in out.strip().splitlines()[-4:]:
                tap.diag('  ' + line)
        else:
            tap.diag('%s: exit %s; stdout tail:\n%s\nstderr tail:\n%s'
                     % (' '.join(argv), rc, out[-2000:], err[-3000:]))
    tap.done()


if __name__ == '__main__':
    main()
