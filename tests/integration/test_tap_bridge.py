#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Two namespaces on tap ports ping and run iperf3 TCP/UDP through vnicd; a testpmd vhost-user guest joins them.
"""Usage: test_tap_bridge.py [--fallback]   (--fallback: io_uring = no, readv/writev)"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netnslib as nl  # noqa: E402
import vnlib  # noqa: E402
from vnlib import Tap, TestPmd, Vnicd, wait_for  # noqa: E402

MAC_A, MAC_B, MAC_G = '02:00:00:00:0a:01', '02:00:00:00:0b:01', '02:00:00:00:0c:01'
N = 320


def check_mode(tap, vn, port, fallback, label):
    d = nl.port_show(vn, port)
    tap.eq(d['io_uring'], not fallback, '[%s] port %s: io_uring %s' % (label, port, not fallback))
    if fallback:
        tap.ok('io_uring = no' in (d['io_uring_fallback'] or ''),
               '[%s] port show gives the reason: %r' % (label, d['io_uring_fallback']))
        lines = [l for l in vn.log().splitlines() if 'do not use io_uring' in l]
        tap.eq(len(lines), 1, '[%s] the fallback is logged once' % label)
    else:
        tap.ok(d['io_uring_fallback'] is None and d['io'].startswith('io_uring'),
               '[%s] io: %s' % (label, d['io']))


def main():
    tap = Tap()
    fallback, label = nl.mode_args()
    nl.require(tap, ['iperf3', 'python3'], testpmd=True)
    with Vnicd('tapbr', config=nl.vnicd_config(fallback)) as vn:
        vn.wait_ready()
        a, b = nl.Netns('a'), nl.Netns('b')
        ia, ib = nl.uniq('ta'), nl.uniq('tb')
        vn.ctl('port', 'add', 'ta', 'tap', '--netns', a.name, '--ifname', ia, '--mac', MAC_A)
        vn.ctl('port', 'add', 'tb', 'tap', '--netns', b.name, '--ifname', ib, '--mac', MAC_B)
        la, lb = a.link(ia), b.link(ib)
        tap.ok(la and la['address'] == MAC_A and 'UP' in la['flags'],
               '[%s] %s made in namespace a, up, with its MAC' % (label, ia))
        tap.ok(lb and lb['linkinfo']['info_kind'] == 'tun' and
               lb['linkinfo']['info_data']['type'] == 'tap' and
               lb['linkinfo']['info_data'].get('vnet_hdr'),
               '[%s] %s is a TAP device with a virtio-net header' % (label, ib))
        check_mode(tap, vn, 'ta', fallback, label)
        a.ip('addr', 'add', '10.77.0.1/24', 'dev', ia)
        b.ip('addr', 'add', '10.77.0.2/24', 'dev', ib)
        cp = a.run('ping', '-c', '5', '-i', '0.2', '-W', '2', '10.77.0.2', check=False)
        tap.ok(cp.returncode == 0 and ' 0% packet loss' in cp.stdout,
               '[%s] ping a -> b: no loss' % label)

        ip3 = nl.Iperf3(b)
        r = ip3.run(a, '10.77.0.2', seconds=3)
        bits = r['end']['sum_received']['bits_per_second']
        tap.ok(bits > 50e6, '[%s] iperf3 TCP a -> b: %.2f Gbit/s' % (label, bits / 1e9))
        r = ip3.run(a, '10.77.0.2', seconds=3, reverse=True)
        bits = r['end']['sum_received']['bits_per_second']
        tap.ok(bits > 50e6, '[%s] iperf3 TCP b -> a: %.2f Gbit/s' % (label, bits / 1e9))
        r = ip3.run(a, '10.77.0.2', seconds=3, udp=True, bitrate='100M', length=1200)
        s = r['end']['sum']
        tap.diag('UDP: %d datagrams, %d lost (%.2f%%)' % (s['packets'], s['lost_packets'],
                                                          s['lost_percent']))
        # CPU-timing tolerant: other engineers' testpmd runs share the two cores
        tap.ok(s['packets'] > 1000 and s['lost_percent'] < 20,
               '[%s] iperf3 UDP a -> b at 100 Mbit/s: %.2f%% lost' % (label, s['lost_percent']))

        # a third attachment: a vhost-user guest (testpmd virtio-user, vnicd client mode)
        sock = vn.path('g.sock')
        g = TestPmd('g', ['net_virtio_user0,path=%s,queues=1,queue_size=1024,mac=%s,server=1'
                          % (sock, MAC_G)], extra=['--rxd=1024', '--txd=1024'], wait=False)
        vn.ctl('port', 'add', 'g', 'vhost', '--path', sock, '--mac', MAC_G)
        g.wait_started()
        tap.ok(wait_for(lambda: nl.port_show(vn, 'g')['link'] == 'up'), 'vhost guest link up')
        g.wait_link_up(0)
        # guest -> namespace a: exactly N frames from the guest's MAC arrive in a
        cnt = nl.FrameCounter(a, ia, etype=0x0800, src=MAC_G)
        g.clear_stats()
        g.send(0, N // 32, 32, pkt_len=64, dst=MAC_A)
        got = cnt.stop()
        tap.eq(got, N, '[%s] vhost guest -> tap namespace a: exactly %d frames' % (label, N))
        # namespace b -> guest: exactly N raw frames reach testpmd
        g.clear_stats()
        g.start_fwd('rxonly')
        sent = nl.send_frames(b, ib, MAC_G, MAC_B, N)
        wait_for(lambda: g.port_stats(0)['rx_packets'] >= N, timeout=10)
        g.stop_fwd()
        tap.eq((sent, g.port_stats(0)['rx_packets']), (N, N),
               '[%s] tap namespace b -> vhost guest: exactly %d frames' % (label, N))
        st = nl.port_stats(vn, 'g')
        tap.ok(st['tx_packets'] >= N and st['rx_packets'] >= N,
               'vnicctl stats of the guest port count both directions')
        g.close()
        d = nl.port_show(vn, 'ta')
        tap.eq(d['io_stats']['rx_bad_offload'] + d['io_stats']['rx_truncated'], 0,
               '[%s] no bad offload or truncated frame on ta' % label)
        tap.eq(vn.stop(), 0, '[%s] vnicd exits 0 on SIGTERM' % label)
    tap.done()


if __name__ == '__main__':
    main()
