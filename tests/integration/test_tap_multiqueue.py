#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A 4-queue tap port: flows spread over the queues (both directions), no reordering within a flow.
"""Usage: test_tap_multiqueue.py [--fallback]   (--fallback: io_uring = no, readv/writev)"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netnslib as nl  # noqa: E402
from vnlib import Tap, Vnicd  # noqa: E402

MAC_A, MAC_B = '02:00:00:00:0a:01', '02:00:00:00:0b:01'
FLOWS, PER_FLOW = 16, 3000

# Each datagram carries (flow, seq); flows differ by source port, so the kernel hashes them
# onto the multiqueue TAP's queues independently.
SENDER = r'''
import socket, struct, sys, time
dst, flows, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks = []
for f in range(flows):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('0.0.0.0', 41000 + f))
    socks.append(s)
for seq in range(per):
    for f, s in enumerate(socks):
        s.sendto(struct.pack('!II', f, seq) + bytes(200), (dst, 9000))
    if seq % 50 == 49:
        time.sleep(0.002)
'''

RECEIVER = r'''
import json, select, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# SO_RCVBUFFORCE (root): past rmem_max, so a receiver starved of CPU by other load loses
# nothing in its own socket buffer
s.setsockopt(socket.SOL_SOCKET, getattr(socket, 'SO_RCVBUFFORCE', 33), 64 << 20)
s.bind(('0.0.0.0', 9000))
print('ready', flush=True)
last, got, reordered = {}, {}, 0
while True:
    r, _, _ = select.select([s], [], [], 2.0)
    if not r:
        break
    data = s.recv(2048)
    f, seq = struct.unpack('!II', data[:8])
    if f in last and seq <= last[f]:
        reordered += 1
    last[f] = max(seq, last.get(f, -1))
    got[f] = got.get(f, 0) + 1
print(json.dumps({'got': got, 'reordered': reordered}), flush=True)
'''


def main():
    tap = Tap()
    fallback, label = nl.mode_args()
    nl.require(tap, ['iperf3', 'python3'])
    # two workers: the four rx queues are polled by different workers, tx queues are shared
    with Vnicd('tapmq', workers=2, config=nl.vnicd_config(fallback)) as vn:
        vn.wait_ready()
        a, b = nl.Netns('a'), nl.Netns('b')
        ia, ib = nl.uniq('ta'), nl.uniq('tb')
        vn.ctl('port', 'add', 'ta', 'tap', '--netns', a.name, '--ifname', ia, '--mac', MAC_A,
               '--queues', '4')
        vn.ctl('port', 'add', 'tb', 'tap', '--netns', b.name, '--ifname', ib, '--mac', MAC_B)
        info = a.link(ia)['linkinfo']['info_data']
        tap.ok(info.get('multi_queue') and info.get('numqueues') == 4,
               '[%s] %s is a multiqueue TAP with 4 queues attached (%s)' % (label, ia, info))
        a.ip('addr', 'add', '10.78.0.1/24', 'dev', ia)
        b.ip('addr', 'add', '10.78.0.2/24', 'dev', ib)
        cp = a.run('ping', '-c', '3', '-i', '0.2', '10.78.0.2', check=False)
        tap.ok(cp.returncode == 0, '[%s] ping through the 4-queue port' % label)

        before = [q['rx_frames'] for q in nl.port_show(vn, 'ta')['queue_stats']]
        recv = b.python(RECEIVER)
        tap.eq(recv.stdout.readline().strip(), 'ready', 'receiver ready')
        a.run(sys.executable, '-c', SENDER, '10.78.0.2', FLOWS, PER_FLOW, timeout=300)
        res = json.loads(recv.stdout.readline())
        recv.wait(10)
        after = [q['rx_frames'] for q in nl.port_show(vn, 'ta')['queue_stats']]
        per_q = [x - y for x, y in zip(after, before)]
        total = sum(res['got'].values())
        tap.diag('per queue rx: %s; received %d of %d datagrams' % (per_q, total,
                                                                     FLOWS * PER_FLOW))
        tap.ok(sum(1 for n in per_q if n > 0) >= 2,
               '[%s] %d flows arrive on several queues of ta: %s' % (label, FLOWS, per_q))
        tap.eq(res['reordered'], 0, '[%s] no datagram reordered within a flow' % label)
        tap.ok(total >= FLOWS * PER_FLOW * 0.9,
               '[%s] %d of %d datagrams arrived' % (label, total, FLOWS * PER_FLOW))

        # the other direction: frames towards ta leave on the queue of their flow
        tx0 = [q['tx_frames'] for q in nl.port_show(vn, 'ta')['queue_stats']]
        r = nl.Iperf3(a).run(b, '10.78.0.1', seconds=3, parallel=8)
        bits = r['end']['sum_received']['bits_per_second']
        tx1 = [q['tx_frames'] for q in nl.port_show(vn, 'ta')['queue_stats']]
        txq = [x - y for x, y in zip(tx1, tx0)]
        tap.ok(bits > 50e6, '[%s] iperf3 TCP b -> a, 8 streams: %.2f Gbit/s' % (label, bits / 1e9))
        tap.ok(sum(1 for n in txq if n > 0) >= 2,
               '[%s] frames to ta spread over its queues by flow: %s' % (label, txq))
        retr = r['end']['sum_sent'].get('retransmits', 0)
        tap.diag('TCP retransmits: %d' % retr)
        d = nl.port_show(vn, 'ta')
        tap.eq(d['io_stats']['tx_dropped'] + d['io_stats']['tx_errors'], 0,
               '[%s] no frame dropped on the way to ta' % label)
        tap.eq(vn.stop(), 0, '[%s] vnicd exits 0' % label)
    tap.done()


if __name__ == '__main__':
    main()
