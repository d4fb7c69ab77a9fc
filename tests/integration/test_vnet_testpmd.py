#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A vnet port used by a real fd-side program: testpmd net_tap opens the precreated TAP as QEMU would.
"""Usage: test_vnet_testpmd.py [--fallback]   (--fallback: io_uring = no, recvmmsg/sendmmsg)"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netnslib as nl  # noqa: E402
from vnlib import Tap, TestPmd, Vnicd, wait_for  # noqa: E402

MAC_T, MAC_G, MAC_A = '02:00:00:00:0d:01', '02:00:00:00:0c:01', '02:00:00:00:0a:01'
N = 320
OWNER = 4242


def send_2q(t, total, dst, pkt_len=64):
    """txonly from testpmd @t whose port 0 has two tx queues: `start tx_first N` sends a
    burst per queue, so N * 2 * burst frames. Return: frames sent (tx_packets delta)."""
    burst = 32 if total % 64 == 0 else 1
    before = t.port_stats(0, raw=True)['tx_packets']
    t.cmd('set fwd rxonly')
    t.cmd('set txpkts %d' % pkt_len)
    t.cmd('set eth-peer 0 %s' % dst)
    t.cmd('set portlist 0')
    t.cmd('set burst %d' % burst)
    t.cmd('start tx_first %d' % (total // (2 * burst)), timeout=30)
    t.cmd('stop', timeout=20)
    t.cmd('set burst 32')
    return t.port_stats(0, raw=True)['tx_packets'] - before


def main():
    tap = Tap()
    fallback, label = nl.mode_args()
    nl.require(tap, ['python3', 'tc'], testpmd=True)
    ifname = nl.uniq('vn')
    nl.delete_link_at_exit(ifname)
    with Vnicd('vnet', config=nl.vnicd_config(fallback)) as vn:
        vn.wait_ready()
        # net_tap always opens a TAP multiqueue: a 2-queue vnet port makes one
        vn.ctl('port', 'add', 'gv', 'vnet', '--ifname', ifname, '--queues', '2',
               '--owner', OWNER)
        li = nl.host_links().get(ifname)
        info = (li or {}).get('linkinfo', {}).get('info_data', {})
        tap.ok(li and info.get('type') == 'tap' and info.get('multi_queue') and
               info.get('persist') and info.get('user') in (OWNER, str(OWNER)),
               '[%s] %s precreated: persistent multiqueue TAP owned by uid %d (%s)'
               % (label, ifname, OWNER, info))
        d = nl.port_show(vn, 'gv')
        tap.ok(d['created'] and d['link'] == 'down' and not d['carrier'],
               '[%s] no guest yet: link down, no carrier' % label)
        tap.eq(d['io_uring'], not fallback, '[%s] io: %s' % (label, d['io']))
        tap.ok(d['host_stack_isolated'], '[%s] host stack isolated (ingress filter)' % label)
        tc = nl.run(['tc', 'filter', 'show', 'dev', ifname, 'ingress']).stdout
        tap.ok('vnicd_drop' in tc or 'gact' in tc or 'drop' in tc,
               'an ingress drop filter sits on %s' % ifname)

        # the other side: a vhost-user guest and a namespace on a tap port
        sock = vn.path('g.sock')
        g = TestPmd('g', ['net_virtio_user0,path=%s,queues=1,queue_size=1024,mac=%s,server=1'
                          % (sock, MAC_G)], extra=['--rxd=1024', '--txd=1024'], wait=False)
        vn.ctl('port', 'add', 'g', 'vhost', '--path', sock, '--mac', MAC_G)
        g.wait_started()
        a = nl.Netns('a')
        ia = nl.uniq('ta')
        vn.ctl('port', 'add', 'ta', 'tap', '--netns', a.name, '--ifname', ia, '--mac', MAC_A)

        # the fd side: testpmd's TAP PMD attaches to the existing device, two queues
        t = TestPmd('t', ['net_tap0,iface=%s,mac=%s' % (ifname, MAC_T)],
                    extra=['--rxq=2', '--txq=2', '--nb-cores=1'])
        tap.ok(wait_for(lambda: nl.port_show(vn, 'gv')['link'] == 'up'),
               '[%s] testpmd opened the device: vnet port link up' % label)
        g.wait_link_up(0)
        d = nl.port_show(vn, 'gv')
        tap.ok(d['carrier'] and d['admin_up'], 'carrier on, device up (set by net_tap)')
        # the bridge must know where the MACs live before exact unicast counts
        for _ in range(2):
            g.send(0, 1, 1, dst='ff:ff:ff:ff:ff:ff')
            send_2q(t, 2, 'ff:ff:ff:ff:ff:ff')
        time.sleep(0.5)
        for who in (g, t):  # `start` flushes what waits in the rx rings: do it now
            who.start_fwd('rxonly')
            who.stop_fwd()

        # testpmd (guest side of the TAP) -> vhost guest: exactly N
        g.clear_stats()
        t.clear_stats()
        g.start_fwd('rxonly')
        sent = send_2q(t, N, MAC_G)
        wait_for(lambda: g.port_stats(0)['rx_packets'] >= N, timeout=10)
        time.sleep(0.3)
        g.stop_fwd()
        tap.eq((sent, g.port_stats(0)['rx_packets']), (N, N),
               '[%s] net_tap -> vnet -> vhost guest: exactly %d frames' % (label, N))
        # vhost guest -> testpmd on the TAP: exactly N
        g.clear_stats()
        t.clear_stats()
        t.start_fwd('rxonly')
        sent = g.send(0, N // 32, 32, pkt_len=64, dst=MAC_T)
        wait_for(lambda: t.port_stats(0)['rx_packets'] >= N, timeout=10)
        time.sleep(0.3)
        t.stop_fwd()
        tap.eq((sent[0], t.port_stats(0)['rx_packets']), (N, N),
               '[%s] vhost guest -> vnet -> net_tap: exactly %d frames' % (label, N))
        # and a bigger frame size both ways (1514 bytes on the wire)
        g.clear_stats()
        t.clear_stats()
        g.start_fwd('rxonly')
        send_2q(t, 128, MAC_G, pkt_len=1514)
        wait_for(lambda: g.port_stats(0)['rx_packets'] >= 128, timeout=10)
        g.stop_fwd()
        st = g.port_stats(0)
        tap.eq((st['rx_packets'], st['rx_bytes']), (128, 128 * 1514),
               '[%s] 128 frames of 1514 bytes net_tap -> vhost, bytes exact' % label)
        # namespace a -> testpmd on the TAP: raw frames, exact
        t.clear_stats()
        t.start_fwd('rxonly')
        nl.send_frames(a, ia, MAC_T, MAC_A, N)
        wait_for(lambda: t.port_stats(0)['rx_packets'] >= N, timeout=10)
        time.sleep(0.3)
        t.stop_fwd()
        tap.eq(t.port_stats(0)['rx_packets'], N,
               '[%s] tap namespace -> vnet -> net_tap: exactly %d frames' % (label, N))
        d = nl.port_show(vn, 'gv')
        tap.eq(d['io_stats']['rx_errors'] + d['io_stats']['rx_truncated'] +
               d['io_stats']['tx_errors'], 0, '[%s] no kernel-side errors on the vnet port' % label)
        tap.ok(sum(1 for q in d['queue_stats'] if q['rx_frames']) >= 1,
               'queues used: %s' % d['queue_stats'])

        t.close()
        tap.ok(wait_for(lambda: nl.port_show(vn, 'gv')['link'] == 'down'),
               '[%s] testpmd closed the device: link down' % label)
        tap.ok(ifname in nl.host_links(), 'the persistent device outlives its user')
        vn.ctl('port', 'del', 'gv')
        tap.ok(ifname not in nl.host_links(), 'port del removes the device vnicd made')

        # a device made by someone else: attached, and left in place on port del
        other = nl.uniq('pre')
        nl.delete_link_at_exit(other)
        nl.run(['ip', 'tuntap', 'add', 'mode', 'tap', 'name', other])
        vn.ctl('port', 'add', 'pre', 'vnet', '--ifname', other)
        d = nl.port_show(vn, 'pre')
        tap.ok(not d['created'] and d['ifname'] == other, 'an existing TAP is adopted')
        vn.ctl('port', 'del', 'pre')
        li = nl.host_links().get(other)
        tap.ok(li is not None, 'port del leaves a device vnicd did not make')
        tc = nl.run(['tc', 'filter', 'show', 'dev', other, 'ingress']).stdout
        tap.ok('vnicd_drop' not in tc, "and removes vnicd's ingress filter from it")
        g.close()
        tap.eq(vn.stop(), 0, '[%s] vnicd exits 0' % label)
    tap.done()


if __name__ == '__main__':
    main()
