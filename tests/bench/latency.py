#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Benchmark: round-trip latency between two vhost-user guests at a low rate (one ping a
# millisecond), through vnicd with adaptive sleep (the default), vnicd busy-polling
# (idle_sleep_us = 0) and OVS-DPDK, interleaved in rounds in one run. The guest is
# build/tests/bench/latency (two virtio-user ports in one DPDK process on CPU 0, polling);
# the switch's worker or PMD runs on CPU 1.
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
sys.path.insert(0, HERE)
import ovslib  # noqa: E402
import vnlib  # noqa: E402
from vnlib import Vnicd, wait_for  # noqa: E402

SMOKE = os.environ.get('BENCH_SMOKE') == '1'
ROUNDS = int(os.environ.get('LAT_ROUNDS', '1' if SMOKE else '3'))
COUNT = int(os.environ.get('LAT_COUNT', '200' if SMOKE else '3000'))
INTERVAL_US = int(os.environ.get('LAT_INTERVAL_US', '1000'))
SWITCHES = os.environ.get('LAT_SWITCHES', 'vnicd vnicd-poll vnicd-busy ovs').split()
POLL_US = int(os.environ.get('LAT_POLL_US', '2000'))  # idle_poll_us of vnicd-poll
MACS = ('02:00:00:1a:00:01', '02:00:00:1a:00:02')
NAMES = {'vnicd': 'vnicd, adaptive sleep (idle_sleep_us=1000)',
         'vnicd-poll': 'vnicd, adaptive + idle_poll_us=%d' % POLL_US,
         'vnicd-busy': 'vnicd, busy polling (idle_sleep_us=0)', 'ovs': 'OVS-DPDK (1 PMD)'}


def log(msg):
    print('[latency] ' + msg, file=sys.stderr, flush=True)


def run_guest(paths, tag):
    exe = os.path.join(vnlib.build_dir(), 'tests', 'bench', 'latency')
    prefix = 'lat-%s-%d' % (tag, os.getpid())
    argv = [exe, '--lcores', '0@0', '--no-pci', '--no-telemetry', '--file-prefix', prefix,
            '--single-file-segments', '-m', '64']
    for i, p in enumerate(paths):
        argv += ['--vdev', 'net_virtio_user%d,path=%s,queues=1,mac=%s' % (i, p, MACS[i])]
    argv += ['--', '--count', str(COUNT), '--interval-us', str(INTERVAL_US)]
    try:
        cp = subprocess.run(argv, capture_output=True, text=True, timeout=120 + COUNT * 0.01)
    finally:
        vnlib.remove_dpdk_files(prefix)
    m = re.search(r'latency: n=(\d+) lost=(\d+) min=([\d.]+) p50=([\d.]+) p90=([\d.]+) '
                  r'p99=([\d.]+) max=([\d.]+)', cp.stdout)
    if not m:
        raise RuntimeError('latency guest failed (rc %d): %s %s' % (cp.returncode, cp.stdout,
                                                                   cp.stderr[-2000:]))
    n, lost = int(m.group(1)), int(m.group(2))
    mn, p50, p90, p99, mx = (float(m.group(i)) for i in range(3, 8))
    return {'n': n, 'lost': lost, 'min': mn, 'p50': p50, 'p90': p90, 'p99': p99, 'max': mx}


def measure_vnicd(sleep_us, poll_us=0):
    cfg = '[vnicd]\nidle_sleep_us = %d\nidle_poll_us = %d\nmetrics_listen =\nworker_cpus = 1\n' \
        'main_cpus = 0\n' % (sleep_us, poll_us)
    with Vnicd('lat%d' % sleep_us, config=cfg) as vn:
        vn.wait_ready()
        for i, n in enumerate('ab'):
            vn.ctl('port', 'add', n, 'vhost', '--path', vn.path(n + '.sock'), '--server',
                   '--mac', MACS[i])
        r = run_guest([vn.path('a.sock'), vn.path('b.sock')], 'vn%d' % sleep_us)
        ports = vn.ctl_json('stats')['ports']
        r['switch_drops'] = sum(p['drops_total'] for p in ports)
        r['drop_reasons'] = {'%s:%s' % (p['name'], k): v for p in ports
                             for k, v in p['drops'].items() if v}
        return r


def measure_ovs():
    with ovslib.OvsDpdk('lat') as o:
        r = run_guest([o.add_port('a'), o.add_port('b')], 'ovs')
        r['switch_drops'] = None
        return r


def main():
    if 'ovs' in SWITCHES and ovslib.available():
        if vnlib.in_ci():
            sys.exit('latency: OVS-DPDK required in CI: ' + ovslib.available())
        log('OVS-DPDK not measured: ' + ovslib.available())
        SWITCHES.remove('ovs')
    res = {sw: [] for sw in SWITCHES}
    for rnd in range(1, ROUNDS + 1):
        for sw in SWITCHES:
            if sw == 'ovs':
                r = measure_ovs()
            else:
                r = measure_vnicd(0 if sw == 'vnicd-busy' else 1000,
                                  POLL_US if sw == 'vnicd-poll' else 0)
            log('round %d %s: %s' % (rnd, sw, r))
            res[sw].append(r)
    print('round-trip latency, %d pings at one per %d us, 60-byte frames, median of %d round(s)'
          % (COUNT, INTERVAL_US, ROUNDS))
    print('%-44s %8s %8s %8s %8s %6s' % ('switch', 'p50 us', 'p99 us', 'min us', 'max us', 'lost'))
    med = {}
    for sw, rs in res.items():
        med[sw] = {k: statistics.median(r[k] for r in rs) for k in ('p50', 'p99', 'min', 'max')}
        print('%-44s %8.1f %8.1f %8.1f %8.1f %6d' % (NAMES[sw], med[sw]['p50'], med[sw]['p99'],
                                                    med[sw]['min'], med[sw]['max'],
                                                    sum(r['lost'] for r in rs)))
    for sw in ('vnicd', 'vnicd-poll'):
        if sw in med and 'vnicd-busy' in med:
            b = med['vnicd-busy']
            print('%s / busy polling: p50 %.2f, p99 %.2f' % (
                sw, med[sw]['p50'] / b['p50'] if b['p50'] else 0,
                med[sw]['p99'] / b['p99'] if b['p99'] else 0))
    if 'vnicd' in med and 'ovs' in med:
        o = med['ovs']
        print('vnicd adaptive / OVS-DPDK: p50 %.2f, p99 %.2f' % (
            med['vnicd']['p50'] / o['p50'] if o['p50'] else 0,
            med['vnicd']['p99'] / o['p99'] if o['p99'] else 0))
    if any(r['lost'] for rs in res.values() for r in rs):
        sys.exit(1)


if __name__ == '__main__':
    main()
