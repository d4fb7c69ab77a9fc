#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Rx queue re-balancing: two busy guest queues on one worker, the other worker idle; vnicd
# hands one queue to the idle worker (stats --json) and no frame is lost or duplicated.
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vnlib  # noqa: E402
from vnlib import Tap, TestPmd, Vnicd, wait_for  # noqa: E402

MAC = {'g0': '02:00:00:00:5c:00', 'g1': '02:00:00:00:5c:01'}
CONFIG = '''[vnicd]
rxq_assign = cycles
rxq_rebalance_interval_ms = 1000
rxq_rebalance_threshold = 25
metrics_listen =
'''


def placement(st):
    """{(port, queue): worker} and {worker: load} from stats --json."""
    where, load = {}, {}
    for w in st['workers']:
        load[w['id']] = w['load']
        for q in w['queues']:
            where[(q['port'], q['queue'])] = w['id']
    return where, load


def main():
    tap = Tap()
    vnlib.require_root_hugepages_testpmd(tap)
    with Vnicd('rxq', workers=2, config=CONFIG) as vn:
        vn.wait_ready()
        # slot order g0, i1, g1, i2: placed in turn, g0 and g1 on worker 0, the idle
        # (never connected) i1 and i2 on worker 1
        for n in ('g0', 'i1', 'g1', 'i2'):
            args = ['port', 'add', n, 'vhost', '--path', vn.path(n + '.sock'), '--server']
            if n in MAC:
                args += ['--mac', MAC[n]]
            vn.ctl(*args)
        st = vn.ctl_json('stats')
        where, _ = placement(st)
        tap.eq((where[('g0', 0)], where[('g1', 0)], where[('i1', 0)], where[('i2', 0)]),
               (0, 0, 1, 1), 'queues placed in turn: g0, g1 on worker 0; i1, i2 on worker 1')
        tap.eq((st['rxq']['assign'], st['rxq']['rebalance_interval_ms']), ('cycles', 1000),
               'stats --json rxq shows the settings')
        devs = ['net_virtio_user%d,path=%s,queues=1,queue_size=1024,mac=%s'
                % (i, vn.path(n + '.sock'), MAC[n]) for i, n in enumerate(('g0', 'g1'))]
        # each port sends back what it received (macswap): frames circulate g0 <-> g1
        g = TestPmd('rxq', devs, eth_peers={0: MAC['g1'], 1: MAC['g0']},
                    extra=['--rxd=1024', '--txd=1024', '--port-topology=loop'])
        tap.ok(wait_for(lambda: all(vn.ctl_json('port', 'show', n)['link'] == 'up'
                                    for n in ('g0', 'g1'))), 'both guests connected')
        g.wait_link_up(0)
        g.wait_link_up(1)
        g.cmd('set fwd macswap')
        g.cmd('start tx_first 4')  # 2 x 4 x 32 = 256 frames in flight
        moved = wait_for(lambda: vn.ctl_json('stats')['rxq']['queues_moved'] >= 1, timeout=30)
        st = vn.ctl_json('stats')
        where, _ = placement(st)
        tap.ok(moved, 'the re-balancer moved a queue (rxq.queues_moved = %d, rebalances = %d)'
               % (st['rxq']['queues_moved'], st['rxq']['rebalances']))
        tap.ok(where[('g0', 0)] != where[('g1', 0)],
               'g0 and g1 now on different workers (g0: %d, g1: %d)'
               % (where[('g0', 0)], where[('g1', 0)]))
        tap.eq((where[('i1', 0)], where[('i2', 0)]), (1, 1), 'idle queues stay where they were')
        # both workers carry the loop now: their loads over the next full interval
        f0 = {w['id']: w['frames'] for w in st['workers']}
        time.sleep(2.5)
        st = vn.ctl_json('stats')
        where, load = placement(st)
        f1 = {w['id']: w['frames'] for w in st['workers']}
        tap.ok(all(f1[w] > f0[w] for w in (0, 1)), 'both workers move frames after the move '
               '(%s)' % {w: f1[w] - f0[w] for w in (0, 1)})
        tap.ok(load[0] > 0 and load[1] > 0, 'stats --json: both workers loaded (%.2f, %.2f)'
               % (load[0], load[1]))
        busy = [q for w in st['workers'] for q in w['queues'] if q['port'] in MAC]
        tap.ok(all(q['load'] > 0 and q['frames_ps'] > 0 for q in busy),
               'stats --json: per-queue load and frames_ps of g0, g1 > 0')
        tap.eq(st['rxq']['handover_timeouts'], 0, 'no hand-over timed out')
        # stop, let vnicd deliver what is in flight, read what is left in the guest's rings
        g.cmd('stop', timeout=20)
        time.sleep(0.5)
        g.cmd('set fwd rxonly')
        g.cmd('start')
        time.sleep(0.5)
        g.cmd('stop', timeout=20)
        p = [g.port_stats(i, raw=True) for i in (0, 1)]
        sent = p[0]['tx_packets'] + p[1]['tx_packets']
        got = p[0]['rx_packets'] + p[1]['rx_packets']
        tap.ok(sent > 10000, 'the loop ran (%d frames sent)' % sent)
        tap.eq(got, sent, 'every frame sent came back exactly once across the move')
        ports = {x['name']: x for x in vn.ctl_json('stats')['ports']}
        tap.eq((ports['g0']['rx_packets'], ports['g1']['rx_packets']),
               (p[0]['tx_packets'], p[1]['tx_packets']), 'vnicd received what each port sent')
        tap.eq((ports['g1']['tx_packets'], ports['g0']['tx_packets']),
               (p[0]['tx_packets'], p[1]['tx_packets']), 'and delivered it to the other')
        tap.eq((ports['g0']['drops_total'], ports['g1']['drops_total']), (0, 0),
               'no drops on g0, g1')
        g.close()
        tap.eq(vn.stop(), 0, 'vnicd exits 0')
    tap.done()


if __name__ == '__main__':
    main()
