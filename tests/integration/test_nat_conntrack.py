#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# NAT connection tracking at its limits: port exhaustion, 100,000 flows and a flush.
"""Usage: test_nat_conntrack.py

vnicd (two workers: a connection's two directions are translated by different workers)
with network `wan` (bridge) and tap port `srv` into a server namespace S (10.78.0.1/24);
NAT network `lan` (192.168.100.0/24, external address 10.78.0.2, next hop 10.78.0.1,
--port-range 40000-40007: eight ports, --conntrack-max 100000, udp=120) with tap port `g1`
into a guest namespace G, which holds 192.168.100.10-.29 statically.

  ports    20 UDP flows from G's 20 addresses, all from source port 5000 to S:9999: the
           first keeps port 5000, eight take the range's ports, the 11 others are dropped
           and counted as nat_drops.no_port; the nine flows go on answering, no more drops
  100k     100,000 UDP flows from one socket of G to 100,000 outside (address, port)
           pairs: the table reaches 100000 entries (then full: a new flow counts a
           full_drop); `nat conntrack flush` removes them all, entries 0, and the slots are
           free again: 5000 new flows are all tracked with no more full drops; vnicd's
           resident memory grows by less than the table's size, and not after the flush
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netnslib as nl  # noqa: E402
from netnslib import Netns  # noqa: E402
from ovlib import Step  # noqa: E402
from vnlib import Tap, Vnicd, wait_for  # noqa: E402

S_IP, EXT_IP, GW = '10.78.0.1', '10.78.0.2', '192.168.100.1'
G_MAC, S_MAC = '02:00:00:00:78:01', '02:00:00:00:78:02'
G_IPS = ['192.168.100.%d' % i for i in range(10, 30)]
MAX = 100000

UDP_ECHO = r'''
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(b'peer=%s:%d' % (a[0].encode(), a[1]), a)
'''

# From each address of argv[1] (comma-separated), source port 5000, one datagram to S:9999;
# prints the answers ("-" for none), one line per address, in order.
FLOWS = r'''
import socket, sys
out = []
for a in sys.argv[1].split(','):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a, 5000))
    s.settimeout(0.5)
    s.sendto(b'x', (sys.argv[2], 9999))
    try:
        out.append(s.recv(100).decode())
    except OSError:
        out.append('-')
    s.close()
print('\n'.join(out))
'''

# argv[1] datagrams from one socket (source port 6000) to distinct outside (address,
# port) pairs starting at pair argv[2], paced so that the tap queue does not overflow.
FLOOD = r'''
import socket, sys, time
n, first = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 6000))
for i in range(first, first + n):
    dst = '10.99.%d.%d' % (i // 60000 // 250, i // 60000 % 250 + 1)
    while True:
        try:
            s.sendto(b'f', (dst, 1024 + i % 60000))
            break
        except BlockingIOError:
            time.sleep(0.001)
    if i % 128 == 127:
        time.sleep(0.002)
'''


class Site:
    def __init__(self, vn):
        self.vn = vn
        self.s = Netns('natct_s')
        self.g = Netns('natct_g')
        vn.ctl('net', 'add', 'wan', 'bridge')
        vn.ctl('port', 'add', 'srv', 'tap', '--ifname', 'sif', '--netns', self.s.name, '--mac',
               S_MAC, '--net', 'wan')
        vn.ctl('net', 'add', 'lan', 'nat', '--subnet', '192.168.100.0/24', '--external', 'wan',
               '--external-ip', EXT_IP + '/24', '--external-gateway', S_IP,
               '--port-range', '40000-40007', '--conntrack-max', MAX,
               '--conntrack-timeouts', 'udp=120,udp_stream=120', '--dns', 'none')
        vn.ctl('port', 'add', 'g1', 'tap', '--ifname', 'gif', '--netns', self.g.name, '--mac',
               G_MAC, '--net', 'lan')
        for p in ('srv', 'g1'):
            if not wait_for(lambda: vn.ctl_json('port', 'show', p)['link'] == 'up', 10):
                raise RuntimeError('tap port %s: link not up' % p)
        self.s.ip('addr', 'add', S_IP + '/24', 'dev', 'sif')
        self.s.ip('link', 'set', 'sif', 'up')
        for a in G_IPS:
            self.g.ip('addr', 'add', a + '/24', 'dev', 'gif')
        self.g.ip('link', 'set', 'gif', 'up')
        self.g.ip('route', 'add', 'default', 'via', GW)
        self.s.python(UDP_ECHO, S_IP, 9999)
        # the next hop and the guest resolved: a ping through first
        wait_for(lambda: self.g.run('ping', '-c', '1', '-W', '1', S_IP,
                                    check=False).returncode == 0, 10)

    def show(self):
        return self.vn.ctl_json('net', 'show', 'lan')

    def close(self):
        for ns in (self.g, self.s):
            ns.close()


def flows(s, addrs):
    r = s.g.run(sys.executable, '-c', FLOWS, ','.join(addrs), S_IP, timeout=60)
    return r.stdout.split()


def test_ports(tap, s):
    got = flows(s, G_IPS)
    ok = [g for g in got if g != '-']
    ports = sorted(int(g.rsplit(':', 1)[1]) for g in ok)
    tap.eq(ports, [5000] + list(range(40000, 40008)),
           'ports: 9 of 20 flows from source port 5000 pass, as 5000 (kept) and 40000-40007')
    tap.ok(all(g.startswith('peer=%s:' % EXT_IP) for g in ok),
           'ports: the server saw them from the external address')
    nd = s.show()['nat_drops']
    tap.eq(nd['no_port'], 11, 'ports: the 11 others dropped, counted as no_port: %s' % nd)
    passed = [a for a, g in zip(G_IPS, got) if g != '-']
    again = flows(s, passed)
    tap.eq(again, [g for g in got if g != '-'],
           'ports: the nine tracked flows go on, each with its port')
    tap.eq(s.show()['nat_drops']['no_port'], 11, 'ports: and no more no_port drops')


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return -1


def flood(s, n, first):
    s.g.run(sys.executable, '-c', FLOOD, n, first, timeout=120)


def flood_until(s, n, first, entries):
    """@n new flows from @first, again (tracked ones simply pass) while the tap queue lost
    some, until the table holds @entries (at most six times)."""
    for _ in range(6):
        flood(s, n, first)
        if wait_for(lambda: s.show()['conntrack']['entries'] >= entries, 1):
            return


def test_100k(tap, s):
    s.vn.ctl('nat', 'conntrack', 'flush', 'lan')
    rss0 = rss_kib(s.vn.pid)
    t0 = time.time()
    flood_until(s, MAX, 0, MAX)
    sh = s.show()
    ct = sh['conntrack']
    tap.eq(ct['entries'], MAX, '100k: the table reaches %d entries (%.1f s): %s; drops %s; %s' %
           (MAX, time.time() - t0, ct, sh['nat_drops'],
            [(p['name'], p['rx_packets'], p['drops']) for p in s.vn.ctl_json('stats')['ports']]))
    full0 = ct['full_drops']
    flood(s, 10, MAX)
    tap.ok(wait_for(lambda: s.show()['conntrack']['full_drops'] >= full0 + 10, 5),
           '100k: full: 10 more flows are counted as full_drops: %s' % s.show()['conntrack'])
    rss1 = rss_kib(s.vn.pid)
    r = s.vn.ctl_json('nat', 'conntrack', 'flush', 'lan')
    sh = s.show()
    tap.ok(r['removed'] == MAX and sh['conntrack']['entries'] == 0,
           'flush: nat conntrack flush removed %s; entries %d' % (r, sh['conntrack']['entries']))
    full1 = sh['conntrack']['full_drops']
    flood_until(s, 5000, 2 * MAX, 5000)
    tap.ok(s.show()['conntrack']['entries'] == 5000 and
           s.show()['conntrack']['full_drops'] == full1,
           'flush: the slots are free again: 5000 new flows all tracked: %s' %
           s.show()['conntrack'])
    rss2 = rss_kib(s.vn.pid)
    tap.ok(rss1 - rss0 < 16 * 1024 and rss2 <= rss1 + 1024,
           'memory: vnicd\'s RSS %d KiB, %d with 100k flows, %d after the flush and 5000 more '
           '(the table is reserved when the network is made: flows allocate nothing)' %
           (rss0, rss1, rss2))


def main():
    tap = Tap()
    nl.require(tap, ['ping'])
    vn = Vnicd('natct', workers=2)  # the two directions on different workers
    vn.wait_ready()
    s = None
    with Step(tap, 'set-up') as st:
        s = Site(vn)
    if st.ok:
        for name, fn in (('ports', test_ports), ('100k', test_100k)):
            with Step(tap, name):
                fn(tap, s)
    if s:
        s.close()
    vn.stop()
    tap.done()


if __name__ == '__main__':
    main()
