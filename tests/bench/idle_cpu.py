#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Benchmark: CPU used by an idle vnicd with two connected (silent) guests, vs a busy-polling one.
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
from vnlib import TestPmd, Vnicd, wait_for  # noqa: E402

SECONDS = float(os.environ.get('IDLE_SECONDS', '5'))


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        st = f.read().rsplit(')', 1)[1].split()
    return (int(st[11]) + int(st[12])) / os.sysconf('SC_CLK_TCK')


def measure(idle_sleep_us):
    with Vnicd('idle%d' % idle_sleep_us, config='[vnicd]\nidle_sleep_us = %d\nmetrics_listen =\n'
               % idle_sleep_us) as vn:
        vn.wait_ready()
        gs = []
        for n in 'ab':
            vn.ctl('port', 'add', n, 'vhost', '--path', vn.path(n + '.sock'), '--server')
            gs.append(TestPmd('idle-' + n, ['net_virtio_user0,path=%s,queues=1' % vn.path(n + '.sock')]))
        wait_for(lambda: all(vn.ctl_json('port', 'show', n)['link'] == 'up' for n in 'ab'))
        time.sleep(1)
        c0, t0 = cpu_seconds(vn.pid), time.monotonic()
        time.sleep(SECONDS)
        used = (cpu_seconds(vn.pid) - c0) / (time.monotonic() - t0)
        for g in gs:
            g.close()
        return used


def main():
    adaptive = measure(1000)
    busy = measure(0)
    print('vnicd idle CPU with 2 connected guests over %.0f s:' % SECONDS)
    print('  adaptive polling (idle_sleep_us=1000): %5.1f %% of a core' % (adaptive * 100))
    print('  busy polling     (idle_sleep_us=0):    %5.1f %% of a core' % (busy * 100))
    print('  ratio adaptive/busy: %.3f' % (adaptive / busy if busy else 0))


if __name__ == '__main__':
    main()
