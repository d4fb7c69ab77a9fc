#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# TSO/USO and checksum offload from the kernel: passed on whole between TAPs, else segmented and completed in software, and verify.
"""Usage: test_tap_offload.py [--fallback]   (--fallback: io_uring = no, readv/writev)

Namespace a's TAP has TSO/USO and checksum offload on (vnicd accepts them with
TUNSETOFFLOAD), so its kernel hands vnicd 64 KiB super-frames with partial checksums.
First the network is two TAPs (offload pass-through): TCP super-frames reach b whole, in
its virtio-net header, and 16 MiB of random bytes arrive intact each way; a GSO frame
injected by a packet socket reaches a vhost-user guest without offloads cut into exact
segments. Then, with an access VLAN on the ports (no pass-through), vnicd cuts and
completes the frames before they enter the switch; namespace b captures what it receives
and tshark verifies every IPv4/TCP/UDP checksum; a vhost-user guest (testpmd virtio-user,
no offloads negotiated) gets exactly the expected segments.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netnslib as nl  # noqa: E402
from vnlib import Tap, TestPmd, Vnicd, wait_for  # noqa: E402

MAC_A, MAC_B, MAC_G = '02:00:00:00:0a:01', '02:00:00:00:0b:01', '02:00:00:00:0c:01'

USO_SENDER = r'''
import socket, sys, time
dst, port, count, size, gso = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if gso:
    s.setsockopt(socket.IPPROTO_UDP, 103, gso)  # UDP_SEGMENT
for i in range(count):
    s.sendto(bytes([i % 251]) * size, (dst, port))
    time.sleep(0.005)
'''

UDP_COUNTER = r'''
import select, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(('0.0.0.0', int(sys.argv[1])))
print('ready', flush=True)
n = sizes = 0
while True:
    r, _, _ = select.select([s], [], [], 2.0)
    if not r:
        break
    n += 1
    sizes += len(s.recv(65535))
print(n, sizes, flush=True)
'''


def sha_transfer(a, b, addr, port, size):
    """@size random bytes from a to b over TCP: Return: (intact, seconds)."""
    t = time.monotonic()
    sent, got = nl.sha_transfer(a, b, addr, port, size)
    return sent == got, time.monotonic() - t


def pass_phase(tap, label, vn, a, b, ia, ib):
    """Two TAPs only: offloads cross the switch whole."""
    for p in ('ta', 'tb'):
        tap.ok(wait_for(lambda p=p: nl.port_show(vn, p)['offload_pass']),
               '[%s] %s: offload_pass (a network of TAPs)' % (label, p))
    for v6 in (False, True):
        what = 'TCP/IPv%d' % (6 if v6 else 4)
        g0 = nl.port_show(vn, 'ta')['io_stats']
        cap = nl.Capture(b, ib, 'tcp port %d' % (9400 + v6), count=2000)
        ok, secs = sha_transfer(a, b, 'fd00:79::2' if v6 else '10.79.0.2', 9400 + v6, 16 << 20)
        cap.stop()
        g1 = nl.port_show(vn, 'ta')['io_stats']
        passed = g1['rx_offload_passed'] - g0['rx_offload_passed']
        tap.ok(ok, '[%s] %s a -> b: 16 MiB of random bytes arrive intact (sha256), %.2f s'
               % (label, what, secs))
        tap.ok(passed > 10 and g1['rx_gso_frames'] == g0['rx_gso_frames'],
               '[%s] %s: %d frames passed on with their offloads, none cut (%d)'
               % (label, what, passed, g1['rx_gso_frames'] - g0['rx_gso_frames']))
        longest = max((int(r[0]) for r in cap.fields('tcp', 'frame.len')), default=0)
        tap.ok(longest > 1514, '[%s] %s: b received super-frames whole (longest %d bytes)'
               % (label, what, longest))
        ok, secs = sha_transfer(b, a, 'fd00:79::1' if v6 else '10.79.0.1', 9410 + v6, 16 << 20)
        tap.ok(ok, '[%s] %s b -> a: 16 MiB intact, %.2f s' % (label, what, secs))


def features(ns, ifname):
    out = ns.run('ethtool', '-k', ifname).stdout
    return {l.split(':')[0].strip(): l.split(':')[1].strip().split()[0]
            for l in out.splitlines()[1:] if ':' in l}


def verify_capture(tap, label, cap, what, src, proto, max_len):
    rows = cap.fields('%s.src == %s && %s' % ('ipv6' if ':' in src else 'ip', src, proto),
                      'frame.len', 'ip.checksum.status', '%s.checksum.status' % proto)
    bad = [r for r in rows if (len(r) > 1 and r[1] not in ('', '1')) or r[2] != '1']
    longest = max((int(r[0]) for r in rows), default=0)
    tap.ok(len(rows) > 100 and not bad,
           '[%s] %s: %d frames captured in b, every IP/%s checksum good (%d bad)'
           % (label, what, len(rows), proto.upper(), len(bad)))
    tap.ok(longest <= max_len, '[%s] %s: longest frame %d <= %d (segmented to the MSS)'
           % (label, what, longest, max_len))


def main():
    tap = Tap()
    fallback, label = nl.mode_args()
    nl.require(tap, ['iperf3', 'python3', 'ethtool', 'tcpdump', 'tshark'], testpmd=True)
    with Vnicd('tapoff', config=nl.vnicd_config(fallback)) as vn:
        vn.wait_ready()
        a, b = nl.Netns('a', ipv6=True), nl.Netns('b', ipv6=True)
        ia, ib = nl.uniq('ta'), nl.uniq('tb')
        vn.ctl('port', 'add', 'ta', 'tap', '--netns', a.name, '--ifname', ia, '--mac', MAC_A)
        vn.ctl('port', 'add', 'tb', 'tap', '--netns', b.name, '--ifname', ib, '--mac', MAC_B)
        f = features(a, ia)
        tap.ok(f.get('tcp-segmentation-offload') == 'on' and f.get('tx-checksumming') == 'on'
               and f.get('tx-tcp6-segmentation') == 'on',
               '[%s] offloads on at the kernel side of %s: TSO %s, TSO6 %s, tx-checksumming %s'
               % (label, ia, f.get('tcp-segmentation-offload'), f.get('tx-tcp6-segmentation'),
                  f.get('tx-checksumming')))
        uso = f.get('tx-udp-segmentation') == 'on'
        for ns, ifn, n in ((a, ia, 1), (b, ib, 2)):
            ns.ip('addr', 'add', '10.79.0.%d/24' % n, 'dev', ifn)
            ns.ip('addr', 'add', 'fd00:79::%d/64' % n, 'dev', ifn, 'nodad')
        a.run('ping', '-c', '1', '-W', '2', '10.79.0.2', check=False)
        a.run('ping', '-6', '-c', '1', '-W', '2', 'fd00:79::2', check=False)
        ip3 = nl.Iperf3(b)
        pass_phase(tap, label, vn, a, b, ia, ib)

        # a vhost-user guest without offloads joins: a TCP GSO frame passed on from the tap
        # is cut for it on the way (vhost tx completion)
        sock = vn.path('g.sock')
        g = nl.join_testpmd_guest(tap, vn, sock, MAC_G)
        tap.ok(nl.port_show(vn, 'g')['offload_pass'] and nl.port_show(vn, 'ta')['offload_pass'],
               '[%s] TAPs and a vhost-user port: offload_pass still' % label)
        p0 = nl.port_show(vn, 'ta')['io_stats']['rx_offload_passed']
        c0 = nl.port_show(vn, 'g')['tx_offload_completed']
        want = 10 * 5  # 6000 = 4 * 1400 + 400
        got = nl.guest_counts(g, lambda: a.run(sys.executable, '-c', nl.GSO_INJECT, ia, MAC_G, MAC_A,
                                            10, timeout=60), want)
        tap.eq(got, (want, 10 * (4 * 1454 + 454)),
               '[%s] 10 TCP GSO frames passed on from the tap reach the vhost guest (no '
               'offloads) as exactly %d segments, bytes exact' % (label, want))
        tap.ok(nl.port_show(vn, 'ta')['io_stats']['rx_offload_passed'] - p0 >= 10 and
               nl.port_show(vn, 'g')['tx_offload_completed'] - c0 >= 10,
               '[%s] passed on by the tap port, completed by the vhost port' % label)
        g.close()
        vn.ctl('port', 'del', 'g')

        # an access VLAN on the ports: no pass-through, vnicd completes every frame on receipt
        for p in ('ta', 'tb'):
            vn.ctl('port', 'set', p, '--vlan-mode', 'access', '--vlan', '7')
        tap.ok(not nl.port_show(vn, 'ta')['offload_pass'],
               '[%s] with a VLAN policy: no offload_pass' % label)

        for v6 in (False, True):
            what = 'TCP/IPv%d' % (6 if v6 else 4)
            g0 = nl.port_show(vn, 'ta')['io_stats']
            cap = nl.Capture(b, ib, 'tcp')
            # paced, so that the capture (whole frames, for tshark) stays small
            r = ip3.run(a, 'fd00:79::2' if v6 else '10.79.0.2', seconds=2, ipv6=v6,
                        bitrate='150M')
            cap.stop()
            g1 = nl.port_show(vn, 'ta')['io_stats']
            sent = r['end']['sum_sent']['bytes']
            recv = r['end']['sum_received']['bytes']
            tap.ok(recv > 5e6 and r['end']['sum_sent'].get('retransmits', 0) < 1000,
                   '[%s] iperf3 %s a -> b: %.1f MB, %d retransmits' % (
                       label, what, recv / 1e6, r['end']['sum_sent'].get('retransmits', 0)))
            gso = g1['rx_gso_frames'] - g0['rx_gso_frames']
            segs = g1['rx_gso_segments'] - g0['rx_gso_segments']
            tap.ok(gso > 10 and segs > gso * 2,
                   '[%s] %s: vnicd cut %d super-frames into %d segments' % (label, what, gso, segs))
            verify_capture(tap, label, cap, what, 'fd00:79::1' if v6 else '10.79.0.1', 'tcp', 1514)
            tap.diag('%s sent %d bytes' % (what, sent))

        # UDP with a partial checksum (tx-checksumming) and UDP GSO (UDP_SEGMENT)
        d0 = nl.port_show(vn, 'ta')['io_stats']
        cnt = b.python(UDP_COUNTER, '9100')
        tap.eq(cnt.stdout.readline().strip(), 'ready', 'UDP receiver ready')
        cap = nl.Capture(b, ib, 'udp port 9100')
        a.run(sys.executable, '-c', USO_SENDER, '10.79.0.2', 9100, 40, 8000, 1000, timeout=60)
        a.run(sys.executable, '-c', USO_SENDER, '10.79.0.2', 9100, 20, 500, 0, timeout=60)
        n, size = map(int, cnt.stdout.readline().split())
        cap.stop()
        d1 = nl.port_show(vn, 'ta')['io_stats']
        tap.eq((n, size), (340, 330000),
               '[%s] 40 UDP_SEGMENT sends of 8000 bytes (gso 1000) and 20 plain datagrams '
               'arrive as 340 datagrams' % label)
        rows = cap.fields('ip.src == 10.79.0.1 && udp', 'frame.len', 'ip.checksum.status',
                          'udp.checksum.status')
        sizes = sorted(set(r[0] for r in rows))
        tap.ok(len(rows) == 340 and sizes == ['1042', '542'] and
               all(r[1] == '1' and r[2] == '1' for r in rows),
               '[%s] %d frames (sizes %s) captured, IPv4 and UDP checksums good'
               % (label, len(rows), sizes))
        if uso:
            tap.ok(d1['rx_gso_frames'] - d0['rx_gso_frames'] >= 40,
                   '[%s] the kernel handed over UDP GSO frames (USO), vnicd segmented them'
                   % label)
        else:
            tap.skip('USO super-frames', 'the kernel did not enable tx-udp-segmentation')
        tap.ok(d1['rx_csum_filled'] - d0['rx_csum_filled'] >= 20 + (40 if uso else 0),
               '[%s] frames with a partial checksum completed: %d' % (
                   label, d1['rx_csum_filled'] - d0['rx_csum_filled']))

        # a vhost-user guest without offloads gets the same segments, exactly
        g = nl.join_testpmd_guest(tap, vn, sock, MAC_G, vlan=7)
        a.ip('neigh', 'replace', '10.79.0.9', 'lladdr', MAC_G, 'dev', ia, 'nud', 'permanent')
        want = 25 * 5  # 6000 = 4 * 1400 + 400
        got = nl.guest_counts(g, lambda: a.run(sys.executable, '-c', USO_SENDER, '10.79.0.9', 9200,
                                            25, 6000, 1400, timeout=60), want)
        tap.eq(got, (want, 25 * (4 * 1442 + 442)),
               '[%s] vhost guest (no offloads) receives exactly %d segments, bytes exact'
               % (label, want))
        g.close()
        d = nl.port_show(vn, 'ta')['io_stats']
        tap.eq(d['rx_bad_offload'] + d['rx_gso_nomem'] + d['rx_truncated'], 0,
               '[%s] no bad offload, no segment lost for lack of buffers' % label)
        tap.eq(vn.stop(), 0, '[%s] vnicd exits 0' % label)
    tap.done()


if __name__ == '__main__':
    main()
