#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Churn soak (a measurement, not pass/fail): thousands of tap port add/del cycles and vhost
# guests connecting and leaving, under steady traffic between two other guests; reports
# vnicd's RSS, open fds and packet buffers in use at the baseline, at the peak and at the end.
#   CHURN_CYCLES=2000 CHURN_GUESTS=20 python3 tests/bench/churn_soak.py
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
import netnslib as nl  # noqa: E402
from vnlib import TestPmd, Vnicd, wait_for  # noqa: E402

CYCLES = int(os.environ.get('CHURN_CYCLES', '2000'))
GUESTS = int(os.environ.get('CHURN_GUESTS', '20'))

SENDER = r'''
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n, t0 = 0, time.monotonic()
while True:
    s.sendto(bytes(200), (sys.argv[1], 9200))
    n += 1
    ahead = n / 2000 - (time.monotonic() - t0)
    if ahead > 0:
        time.sleep(ahead)
'''


def sample(vn):
    with open('/proc/%d/status' % vn.pid) as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith('VmRSS:'))
    fds = len(os.listdir('/proc/%d/fd' % vn.pid))
    lim = vn.ctl_json('stats')['limits']
    return {'rss_kib': rss, 'fds': fds, 'mbufs_in_use': lim.get('mbufs_in_use'),
            'ports': len(vn.ctl_json('port', 'list'))}


def guest_cycle(vn, name):
    """A vhost port, a testpmd guest (2 queues) connecting to it, then both gone."""
    sock = vn.path('g.sock')
    vn.ctl('port', 'add', 'g', 'vhost', '--path', sock, '--server')
    tp = TestPmd(name, ['net_virtio_user0,path=%s,queues=2' % sock])
    wait_for(lambda: vn.ctl_json('port', 'show', 'g')['link'] == 'up', 20)
    tp.close()
    vn.ctl('port', 'del', 'g')


def main():
    with Vnicd('churn', config='[vnicd]\nmetrics_listen =\n') as vn:
        vn.wait_ready()
        a, b, c = nl.Netns('cha'), nl.Netns('chb'), nl.Netns('chc')
        for ns, n, ip in ((a, 'a', '10.80.0.1'), (b, 'b', '10.80.0.2')):
            vn.ctl('port', 'add', n, 'tap', '--netns', ns.name, '--ifname', 'ch' + n)
            ns.ip('addr', 'add', ip + '/24', 'dev', 'ch' + n)
        b.run('ping', '-c', '2', '-i', '0.2', '10.80.0.1')
        flow = a.python(SENDER, '10.80.0.2')
        guest_cycle(vn, 'warm')  # one-time set-up (DPDK vhost's fd event thread: a pipe)
        time.sleep(1)
        base = sample(vn)
        peak = dict(base)
        t0 = time.monotonic()
        a_rx0 = nl.port_stats(vn, 'a')['rx_packets']
        for i in range(CYCLES):
            name = 'c%d' % (i % 8)
            vn.ctl('port', 'add', name, 'tap', '--netns', c.name, '--ifname', 'chc%d' % (i % 8),
                   '--queues', str(1 + i % 4))
            vn.ctl('port', 'del', name)
            if i % 100 == 99:
                s = sample(vn)
                peak = {k: max(peak[k], s[k]) for k in s}
                print('  %5d cycles: %s' % (i + 1, json.dumps(s)), flush=True)
        churn_s = time.monotonic() - t0
        t1 = time.monotonic()
        for g in range(GUESTS):
            guest_cycle(vn, 'churn%d' % g)
            s = sample(vn)
            peak = {k: max(peak[k], s[k]) for k in s}
        guests_s = time.monotonic() - t1
        time.sleep(1)
        end = sample(vn)
        flow.kill()
        moved = nl.port_stats(vn, 'a')['rx_packets'] - a_rx0
        print('\nchurn soak: %d tap port add/del cycles (1-4 queues) in %.0f s, %d vhost guests '
              '(testpmd, 2 queues) connected and removed in %.0f s, %d frames of steady '
              'traffic meanwhile' % (CYCLES, churn_s, GUESTS, guests_s, moved))
        print('%-14s %10s %10s %10s' % ('', 'baseline', 'peak', 'end'))
        for k in ('rss_kib', 'fds', 'mbufs_in_use', 'ports'):
            print('%-14s %10s %10s %10s' % (k, base[k], peak[k], end[k]))
        back = end['fds'] == base['fds'] and end['ports'] == base['ports'] and \
            end['mbufs_in_use'] <= base['mbufs_in_use'] + 512 and \
            end['rss_kib'] <= base['rss_kib'] * 1.1 + 4096
        print('returned to baseline: %s' % ('yes' if back else 'NO'))


if __name__ == '__main__':
    main()
