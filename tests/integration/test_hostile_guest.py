#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A hostile guest floods (random source MACs, a broadcast storm, malformed frames) while two
# other guests exchange UDP: theirs arrives complete, is never flooded to the attacker, and
# the attacker holds no more of the FDB than fdb_max_per_port (issue 16, hostile guests).
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netnslib as nl  # noqa: E402
from netnslib import FrameCounter, Netns  # noqa: E402
from vnlib import Tap, Vnicd, build_dir  # noqa: E402

MAC_A, MAC_B, MAC_X = '02:00:00:00:aa:01', '02:00:00:00:bb:01', '02:bb:00:00:00:01'
PER_PORT = 256   # fdb_max_per_port of this daemon
STORM_PPS = 500  # the attacker's storm control
SECONDS = 4
RATE = 1500      # victims' datagrams a second

# Paced UDP with a sequence number; prints the datagrams sent.
SENDER = r'''
import socket, sys, time
dst, rate, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n, t0 = 0, time.monotonic()
while n < rate * secs:
    s.sendto(n.to_bytes(4, 'big') + bytes(100), (dst, 9100))
    n += 1
    ahead = n / rate - (time.monotonic() - t0)
    if ahead > 0:
        time.sleep(ahead)
print(n, flush=True)
'''

RECEIVER = r'''
import json, select, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, getattr(socket, 'SO_RCVBUFFORCE', 33), 32 << 20)
s.bind(('0.0.0.0', 9100))
print('ready', flush=True)
seen = set()
while True:
    r, _, _ = select.select([s], [], [], 3.0)
    if not r:
        break
    seen.add(int.from_bytes(s.recv(2048)[:4], 'big'))
print(json.dumps({'got': len(seen)}), flush=True)
'''


def flood(ns, ifname, mode, out):
    cp = ns.run(os.path.join(build_dir(), 'tests', 'integration', 'macflood'), ifname, mode,
                SECONDS, timeout=60)
    out[mode] = int(cp.stdout.strip() or 0)


def tx_dropped(ns, ifname):
    """Frames the kernel dropped on @ifname's transmit side (a tap: vnicd did not read them)."""
    out = ns.run('ip', '-s', '-j', 'link', 'show', ifname).stdout
    return json.loads(out)[0]['stats64']['tx']['dropped']


def fdb_ports(vn):
    return vn.ctl_json('net', 'show', 'br0')['fdb']['ports']


def drops(vn, port):
    return nl.port_stats(vn, port)['drops']


def main():
    tap = Tap()
    cfg = '[vnicd]\nfdb_max_per_port = %d\nfdb_learn_rate = 1000\n' % PER_PORT
    with Vnicd('hostile', config=cfg) as vn:
        vn.wait_ready()
        a, b, x = Netns('hga'), Netns('hgb'), Netns('hgx')
        for ns, name, mac, ip in ((a, 'a', MAC_A, '10.79.0.1'), (b, 'b', MAC_B, '10.79.0.2'),
                                  (x, 'x', MAC_X, '10.79.0.9')):
            vn.ctl('port', 'add', name, 'tap', '--netns', ns.name, '--ifname', 'hg' + name,
                   '--mac', mac)
            ns.ip('addr', 'add', ip + '/24', 'dev', 'hg' + name)
        vn.ctl('port', 'set', 'x', '--storm-control', str(STORM_PPS))
        for ns, peer in ((a, '10.79.0.2'), (b, '10.79.0.1'), (x, '10.79.0.1')):
            ns.run('ping', '-c', '2', '-i', '0.2', '-W', '2', peer)  # everyone learned
        a_rx0 = nl.port_stats(vn, 'a')['rx_packets']
        x_rx0, x_kdrop0 = nl.port_stats(vn, 'x')['rx_packets'], tx_dropped(x, 'hgx')

        # the victims' UDP, with the attacker listening for any of it and for its storm
        recv = b.python(RECEIVER)
        tap.eq(recv.stdout.readline().strip(), 'ready', 'receiver ready')
        leak = FrameCounter(x, 'hgx', etype=0x0800, src=MAC_A)
        storm_at_b = FrameCounter(b, 'hgb', etype=0x88b6, src=MAC_X)
        sent = {}
        fl = [threading.Thread(target=flood, args=(x, 'hgx', m, sent))
              for m in ('macs', 'broadcast', 'malformed')]
        for t in fl:
            t.start()
        cp = a.run(sys.executable, '-c', SENDER, '10.79.0.2', RATE, SECONDS, timeout=120)
        for t in fl:
            t.join()
        n_sent = int(cp.stdout.strip() or 0)
        got = json.loads(recv.stdout.readline()).get('got')
        recv.wait(10)
        leaked, storm_b = leak.stop(), storm_at_b.stop()  # (their settle: vnicd drains)
        tap.diag('attacker sent %s; victims sent %d, received %s' % (sent, n_sent, got))
        tap.ok(min(sent.values()) > 1000, 'the attacker flooded: %s frames' % sent)
        tap.eq(got, n_sent, 'every one of the %d victim datagrams arrived while it flooded'
               % n_sent)
        tap.eq(nl.port_stats(vn, 'a')['rx_packets'] - a_rx0 >= n_sent, True,
               'vnicd counted the victim\'s frames (rx of a >= %d)' % n_sent)
        tap.eq(leaked, 0, 'none of the victims\' unicast reached the attacker (their MACs '
               'stayed learned: nothing flooded)')

        fp = fdb_ports(vn)
        xs = fp.get('x', {})
        tap.ok(xs.get('entries', 1 << 30) <= PER_PORT,
               'the attacker holds %s FDB entries, at most fdb_max_per_port = %d'
               % (xs.get('entries'), PER_PORT))
        tap.ok(xs.get('learn_refused', 0) + xs.get('learn_throttled', 0) > 0,
               'its excess sources were refused/throttled and counted: %s' % xs)
        tap.ok(fp.get('a', {}).get('entries') == 1 and fp.get('b', {}).get('entries') == 1,
               'the victims\' MACs are still learned: a %s, b %s' % (fp.get('a'), fp.get('b')))
        d = drops(vn, 'x')
        bound = STORM_PPS * (SECONDS + 2) + max(STORM_PPS // 10, 32)
        tap.ok(d.get('storm', 0) > 0, 'storm control dropped the attacker\'s excess flood: %d'
               % d.get('storm', 0))
        tap.ok(storm_b <= bound, 'b saw %d of its broadcasts, within storm control\'s %d'
               % (storm_b, bound))
        x_rx = nl.port_stats(vn, 'x')['rx_packets'] - x_rx0
        x_kdrop = tx_dropped(x, 'hgx') - x_kdrop0
        extra = x_rx + x_kdrop - sum(sent.values())
        tap.ok(0 <= extra <= 20, 'every attacker frame is accounted for: %d sent = %d received '
               'by vnicd (drops by reason %s) + %d dropped by the full tap queue (+%d of the '
               'namespace\'s own)' % (sum(sent.values()), x_rx,
                                      {k: v for k, v in d.items() if v}, x_kdrop, extra))
        cp = a.run('ping', '-c', '3', '-i', '0.2', '-W', '2', '10.79.0.2', check=False)
        tap.ok(cp.returncode == 0, 'a and b still reach each other afterwards')
        tap.ok(vn.alive(), 'vnicd still running')
        tap.eq(vn.stop(), 0, 'vnicd exits 0')
    tap.done()


if __name__ == '__main__':
    main()
