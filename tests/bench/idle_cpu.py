#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Benchmark: CPU used by an idle switch with many connected, silent guests (vnicd with adaptive
# sleep, vnicd busy-polling, OVS-DPDK in the same run), and that a burst sent after the idle
# period (the workers asleep) arrives complete.
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ovslib  # noqa: E402
from ovslib import cpu_seconds  # noqa: E402,F401 (uplink.py imports it from here)
import vnlib  # noqa: E402
from vnlib import TestPmd, Vnicd, wait_for  # noqa: E402

SMOKE = os.environ.get('BENCH_SMOKE') == '1'
SECONDS = float(os.environ.get('IDLE_SECONDS', '1' if SMOKE else '5'))
GUESTS = int(os.environ.get('IDLE_GUESTS', '4' if SMOKE else '32'))
PER_PROC = int(os.environ.get('IDLE_PORTS_PER_TESTPMD', '8'))  # virtio-user ports per testpmd
SWITCHES = os.environ.get('IDLE_SWITCHES', 'vnicd vnicd-poll vnicd-busy ovs').split()
POLL_US = int(os.environ.get('IDLE_POLL_US', '2000'))  # idle_poll_us of vnicd-poll
BURST = 128  # frames of the wake-up check (4 bursts of 32)


def mac(i):
    return '02:00:00:1d:%02x:%02x' % (i >> 8, i & 0xff)


def start_guests(paths):
    """Testpmd processes with PER_PROC virtio-user ports each, one per path, all connected."""
    procs = []
    for base in range(0, len(paths), PER_PROC):
        devs = ['net_virtio_user%d,path=%s,queues=1,mac=%s' % (i - base, paths[i], mac(i))
                for i in range(base, min(base + PER_PROC, len(paths)))]
        procs.append(TestPmd('idle%d' % base, devs, lcores='0@0,1@0', mem_mb=64,
                             nb_mbufs=4096))
    for g in procs:
        for p in range(g.nb_ports):
            g.wait_link_up(p)
    return procs


def wake_check(g):
    """After the idle period: port 0 of the first guest sends BURST frames to port 1's MAC;
    Return: how many port 1 received."""
    g.send(0, BURST // 32, 32, dst=mac(1))
    g.start_fwd('rxonly', ports=[1])
    time.sleep(0.5)
    g.stop_fwd()
    return g.port_stats(1, raw=True)['rx_packets']


def measure_vnicd(idle_sleep_us, poll_us=0):
    cfg = '[vnicd]\nidle_sleep_us = %d\nidle_poll_us = %d\nmetrics_listen =\nworker_cpus = 1\n' \
        'main_cpus = 0\n' % (idle_sleep_us, poll_us)
    with Vnicd('idle%d' % idle_sleep_us, config=cfg) as vn:
        vn.wait_ready()
        names = ['g%d' % i for i in range(GUESTS)]
        for n in names:
            vn.ctl('port', 'add', n, 'vhost', '--path', vn.path(n + '.sock'), '--server')
        gs = start_guests([vn.path(n + '.sock') for n in names])
        if not wait_for(lambda: all(p['link'] == 'up' for p in vn.ctl_json('port', 'list')),
                        timeout=30):
            raise RuntimeError('vnicd: not every port came up')
        time.sleep(2)  # let the workers reach their idle sleep
        used = ovslib.cpu_share(vn.pid, SECONDS)
        time.sleep(1)
        got = wake_check(gs[0]) if GUESTS > 1 else None
        for g in gs:
            g.close()
        return used, got


def measure_ovs():
    with ovslib.OvsDpdk('idle') as o:
        paths = [o.add_port('g%d' % i) for i in range(GUESTS)]
        gs = start_guests(paths)
        time.sleep(2)
        used = ovslib.cpu_share(o.pid, SECONDS)
        got = wake_check(gs[0]) if GUESTS > 1 else None
        for g in gs:
            g.close()
        return used, got


def main():
    res = {}
    for sw in SWITCHES:
        if sw == 'ovs':
            why = ovslib.available()
            if why:
                if vnlib.in_ci():
                    sys.exit('idle_cpu: OVS-DPDK required in CI: ' + why)
                print('OVS-DPDK: not measured (%s)' % why)
                continue
            res[sw] = measure_ovs()
        else:
            res[sw] = measure_vnicd(0 if sw == 'vnicd-busy' else 1000,
                                    POLL_US if sw == 'vnicd-poll' else 0)
    names = {'vnicd': 'vnicd, adaptive (idle_sleep_us=1000)',
             'vnicd-poll': 'vnicd, adaptive + idle_poll_us=%d' % POLL_US,
             'vnicd-busy': 'vnicd, busy polling (idle_sleep_us=0)', 'ovs': 'OVS-DPDK (1 PMD)'}
    print('idle CPU with %d connected silent guests (%d testpmd processes), over %.0f s:'
          % (GUESTS, (GUESTS + PER_PROC - 1) // PER_PROC, SECONDS))
    for sw, (used, got) in res.items():
        wake = '' if got is None else '; burst after idle: %d/%d frames received' % (got, BURST)
        print('  %-40s %6.2f %% of a core%s' % (names[sw], used * 100, wake))
    if 'vnicd' in res and 'ovs' in res and res['ovs'][0] > 0:
        print('  ratio vnicd adaptive / OVS-DPDK: %.4f' % (res['vnicd'][0] / res['ovs'][0]))
    lost = [sw for sw, (_, got) in res.items() if got is not None and got != BURST]
    if lost:
        print('frames lost on wake-up: %s' % ' '.join(lost))
        sys.exit(1)


if __name__ == '__main__':
    main()
