#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# NAT networks against Linux: the same connection attempts through vnicd and through iptables MASQUERADE/DNAT.
"""Usage: test_nat_diff.py

The same topology twice: a guest namespace G (192.168.100.10/24, default route via .1) and
a server namespace S (10.77.0.1/24) with a router between them whose external address is
10.77.0.2/24 and which forwards TCP port 2222 to the guest's port 8000:

  vnicd   a NAT network (`--external-ip 10.77.0.2/24`, `nat forward add`) with G behind a
          tap port and a bridge network with S behind a tap port;
  linux   a namespace R with veths to G (192.168.100.1) and S (10.77.0.2), ip_forward,
          iptables -t nat: MASQUERADE out of the external side, DNAT of port 2222 from both
          sides, and the hairpin MASQUERADE for it.

The same attempts run against both and every observable result must be equal: ping, the
peer a TCP and a UDP server see (address and port), closed UDP and TCP ports (ICMP port
unreachable, RST), traceroute's first two hops with UDP (time exceeded from the router,
then port unreachable from the server) and ICMP (ping -t 1), the port forward from the
server, hairpin from the guest and the peer the guest's server sees then, a 4000-byte UDP
datagram (fragments) both ways, and a 3000-byte UDP datagram whose three fragments the
guest sends last first (out of order: the first fragment, with the ports, comes last).

Path MTU discovery: behind S (which routes) a far namespace F (10.88.0.2 and .3) sits on a
link whose S end has an MTU of 1280. A 1400-byte UDP datagram with DF from the guest to F
gets S's ICMP fragmentation needed (MTU 1280), translated back to the guest's socket (its
quoted header made the guest's again: the kernel finds the socket and takes the MTU); the
next 1400-byte send fails locally (EMSGSIZE), a 1200-byte one passes. A TCP connection to
the other far address sends 4000 bytes with DF in full-sized segments: fragmentation
needed comes back, the guest lowers its path MTU for it to 1280 and all 4000 bytes arrive.
"""

import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netnslib as nl  # noqa: E402
from netnslib import Netns, run, uniq  # noqa: E402
from ovlib import Step  # noqa: E402
from vnlib import Tap, Vnicd, wait_for  # noqa: E402

G_IP, GW, S_IP, EXT = '192.168.100.10', '192.168.100.1', '10.77.0.1', '10.77.0.2'
FAR_GW, FAR_UDP, FAR_TCP = '10.88.0.1', '10.88.0.2', '10.88.0.3'

# The far host's servers (F): UDP answers at once; TCP reads to the end, then answers.
FAR_SERVER = r'''
import socket, sys, threading
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[1], 9999))
    while True:
        d, a = s.recvfrom(65535)
        s.sendto(b'peer=%s:%d len=%d' % (a[0].encode(), a[1], len(d)), a)
def serve(c, a):
    n = 0
    while True:
        d = c.recv(65536)
        if not d:
            break
        n += len(d)
    c.sendall(b'peer=%s:%d len=%d' % (a[0].encode(), a[1], n))
    c.close()
threading.Thread(target=udp, daemon=True).start()
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((sys.argv[2], 8080))
t.listen(4)
while True:
    c, a = t.accept()
    threading.Thread(target=serve, args=(c, a), daemon=True).start()
'''

# Path MTU discovery from the guest: UDP with DF (argv: far UDP address, source port).
PMTU_UDP = r'''
import errno, socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO: DF, no local fragments
s.setsockopt(socket.IPPROTO_IP, 11, 1)  # IP_RECVERR
s.bind(('0.0.0.0', int(sys.argv[2])))
s.connect((sys.argv[1], 9999))
s.send(b'p' * 1400)
out = []
for _ in range(30):
    try:
        _, anc, _, _ = s.recvmsg(512, 512, socket.MSG_ERRQUEUE)
        break
    except BlockingIOError:
        time.sleep(0.1)
    except OSError:
        pass
else:
    anc = []
for lvl, typ, data in anc:
    err, origin, t, code, pad, info = struct.unpack('IBBBBI', data[:12])
    out.append('errno %s icmp type %d code %d mtu %d from %s' % (
        errno.errorcode.get(err), t, code, info, socket.inet_ntoa(data[20:24])))
if not anc:
    out.append('no icmp error')
out.append('IP_MTU %d' % s.getsockopt(socket.IPPROTO_IP, 14))
try:
    s.send(b'p' * 1400)
    out.append('1400 again: sent')
except OSError as e:
    out.append('1400 again: %s' % errno.errorcode.get(e.errno))
s.settimeout(3)
s.send(b'q' * 1200)
try:
    while True:  # the answer to the 1200-byte datagram (a 1400 one may have passed before)
        d = s.recv(2048).decode()
        if 'len=1200' in d:
            break
except OSError as e:
    d = 'no answer: %s' % errno.errorcode.get(e.errno)
out.append('1200: ' + d)
print(' | '.join(out))
'''

# Path MTU discovery with TCP: 4000 bytes in full-sized DF segments to the far TCP server.
PMTU_TCP = r'''
import socket, sys
c = socket.create_connection((sys.argv[1], 8080), timeout=10,
                             source_address=('0.0.0.0', int(sys.argv[2])))
c.sendall(b't' * 4000)
c.shutdown(socket.SHUT_WR)
try:
    print(c.recv(100).decode())
except OSError as e:
    print('error', type(e).__name__)
'''

# Servers that answer with the peer they saw: TCP (S:8080, G:8000), UDP (S:9999).
PEER_SERVER = r'''
import socket, sys, threading
kind, port = sys.argv[1], int(sys.argv[2])
if kind == 'udp':
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('0.0.0.0', port))
    while True:
        d, a = s.recvfrom(65535)
        r = b'peer=%s:%d len=%d' % (a[0].encode(), a[1], len(d))
        s.sendto(r.ljust(len(d), b'y') if len(d) > 100 else r, a)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', port))
s.listen(16)
def serve(c, a):
    c.recv(100)
    c.sendall(b'peer=%s:%d' % (a[0].encode(), a[1]))
    c.close()
while True:
    c, a = s.accept()
    threading.Thread(target=serve, args=(c, a), daemon=True).start()
'''

# One attempt from a namespace: prints one line, the observable result.
CLIENT = r'''
import socket, struct, sys, time
what, ip, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
sport = int(sys.argv[4]) if len(sys.argv) > 4 else 0
try:
    if what == 'tcp':
        c = socket.socket()
        if sport:
            c.bind(('0.0.0.0', sport))
        c.settimeout(3)
        c.connect((ip, port))
        c.sendall(b'x')
        print(c.recv(100).decode())
    elif what in ('udp', 'big'):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        s.bind(('0.0.0.0', sport))
        s.connect((ip, port))
        s.send(b'z' * (4000 if what == 'big' else 1))
        d = s.recv(65535)
        print(len(d), d[:40].decode())
    elif what == 'ooo':  # a 3000-byte UDP datagram in three fragments, the first one last
        src = socket.inet_aton(sys.argv[5])
        udp = struct.pack('!HHHH', sport, port, 3008, 0) + b'o' * 3000  # no UDP checksum
        frags = [(0, udp[:1480], 1), (185, udp[1480:2960], 1), (370, udp[2960:], 0)]
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        s.bind(('0.0.0.0', sport))
        for off, data, mf in reversed(frags):
            hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(data), 0x4242,
                              mf << 13 | off, 64, 17, 0, src, socket.inet_aton(ip))
            raw.sendto(hdr + data, (ip, 0))  # the kernel fills in the header checksum
            time.sleep(0.05)
        d, a = s.recvfrom(65535)
        print(len(d), d[:40].decode())
    elif what == 'ttl':  # one UDP probe with TTL sport: who answers, with what
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, sport)
        s.setsockopt(socket.IPPROTO_IP, 11, 1)  # IP_RECVERR
        s.sendto(b'probe', (ip, port))
        for _ in range(30):
            try:
                _, anc, _, _ = s.recvmsg(512, 512, socket.MSG_ERRQUEUE)
                break
            except BlockingIOError:
                time.sleep(0.1)
        else:
            print('no answer')
            sys.exit(0)
        for lvl, typ, data in anc:
            err, origin, t, code = struct.unpack('IBBB', data[:7])
            print('icmp type %d code %d from %s' % (t, code, socket.inet_ntoa(data[20:24])))
except ConnectionRefusedError:
    print('refused')
except Exception as e:
    print('error', type(e).__name__)
'''


class Vn:
    name = 'vnicd'

    def __init__(self):
        self.vn = Vnicd('natdiff', config='[vnicd]\nmetrics_listen =\n')
        self.vn.wait_ready()
        self.g, self.s, self.f = Netns('ndg'), Netns('nds'), Netns('ndf')
        vn = self.vn
        vn.ctl('net', 'add', 'wan', 'bridge')
        vn.ctl('port', 'add', 'srv', 'tap', '--ifname', 'sif', '--netns', self.s.name, '--net',
               'wan')
        vn.ctl('net', 'add', 'lan', 'nat', '--subnet', '192.168.100.0/24', '--external', 'wan',
               '--external-ip', EXT + '/24', '--external-gateway', S_IP)
        vn.ctl('port', 'add', 'g1', 'tap', '--ifname', 'gif', '--netns', self.g.name, '--net',
               'lan')
        vn.ctl('nat', 'forward', 'add', 'lan', '--proto', 'tcp', '--external-port', 2222,
               '--to', G_IP + ':8000')
        for p in ('srv', 'g1'):
            if not wait_for(lambda: vn.ctl_json('port', 'show', p)['link'] == 'up', 10):
                raise RuntimeError('tap port %s: link not up' % p)

    def close(self):
        self.g.close()
        self.s.close()
        self.f.close()
        self.vn.stop()


class Linux:
    name = 'linux'

    def __init__(self):
        self.g, self.s, self.r = Netns('nlg'), Netns('nls'), Netns('nlr')
        self.f = Netns('nlf')
        r = self.r
        r.ip('link', 'add', 'rg', 'type', 'veth', 'peer', 'name', 'gif', 'netns', self.g.name)
        r.ip('link', 'add', 'rs', 'type', 'veth', 'peer', 'name', 'sif', 'netns', self.s.name)
        r.ip('addr', 'add', GW + '/24', 'dev', 'rg')
        r.ip('addr', 'add', EXT + '/24', 'dev', 'rs')
        for d in ('rg', 'rs'):
            r.ip('link', 'set', d, 'up')
        r.run('sysctl', '-qw', 'net.ipv4.ip_forward=1')
        r.ip('route', 'add', '10.88.0.0/24', 'via', S_IP)
        ipt = ['iptables', '-t', 'nat', '-A']
        r.run(*ipt, 'POSTROUTING', '-s', '192.168.100.0/24', '-o', 'rs', '-j', 'MASQUERADE')
        r.run(*ipt, 'PREROUTING', '-d', EXT, '-p', 'tcp', '--dport', '2222', '-j', 'DNAT',
              '--to-destination', G_IP + ':8000')
        r.run(*ipt, 'POSTROUTING', '-s', '192.168.100.0/24', '-d', G_IP, '-p', 'tcp', '--dport',
              '8000', '-j', 'MASQUERADE')

    def close(self):
        for ns in (self.g, self.s, self.r, self.f):
            ns.close()


def observe(site):
    """Set the namespaces up and run every attempt. Return: [(what, result)]."""
    g, s = site.g, site.s
    s.ip('addr', 'add', S_IP + '/24', 'dev', 'sif')
    s.ip('link', 'set', 'sif', 'up')
    g.ip('addr', 'add', G_IP + '/24', 'dev', 'gif')
    g.ip('link', 'set', 'gif', 'up')
    g.ip('route', 'add', 'default', 'via', GW)
    # the far side: S routes to F over a link whose S end has an MTU of 1280
    f = site.f
    s.ip('link', 'add', 'sfar', 'mtu', '1280', 'type', 'veth', 'peer', 'name', 'fif', 'netns',
         f.name)
    s.ip('addr', 'add', FAR_GW + '/24', 'dev', 'sfar')
    s.ip('link', 'set', 'sfar', 'up')
    s.run('sysctl', '-qw', 'net.ipv4.ip_forward=1')
    for a in (FAR_UDP, FAR_TCP):
        f.ip('addr', 'add', a + '/24', 'dev', 'fif')
    f.ip('link', 'set', 'fif', 'up')
    f.ip('route', 'add', 'default', 'via', FAR_GW)
    f.python(FAR_SERVER, FAR_UDP, FAR_TCP)
    s.python(PEER_SERVER, 'tcp', 8080)
    s.python(PEER_SERVER, 'udp', 9999)
    g.python(PEER_SERVER, 'tcp', 8000)
    wait_for(lambda: g.run('ping', '-c', '1', '-W', '1', S_IP, check=False).returncode == 0, 15)
    time.sleep(0.5)

    def cli(ns, *a):
        r = ns.run(sys.executable, '-c', CLIENT, *a, check=False, timeout=30)
        return (r.stdout.strip() or r.stderr.strip()[-100:]).replace('\n', ' | ')

    def ping(ns, ip, *extra):
        r = ns.run('ping', '-n', '-c', '1', '-W', '2', *extra, ip, check=False)
        lines = [ln for ln in r.stdout.splitlines() if 'From' in ln or 'bytes from' in ln]
        out = lines[0].split(': ', 1)[0] if lines else 'no answer'
        return '%s (rc %d)' % (out, r.returncode)

    res = [('ping guest -> server', ping(g, S_IP)),
           ('ping guest -> gateway', ping(g, GW)),
           ('tcp guest -> server:8080 from port 45000, peer seen', cli(g, 'tcp', S_IP, 8080, 45000)),
           ('udp guest -> server:9999 from port 40000, peer seen', cli(g, 'udp', S_IP, 9999, 40000)),
           ('udp guest -> server:9 (closed)', cli(g, 'udp', S_IP, 9, 40001)),
           ('tcp guest -> server:9 (closed)', cli(g, 'tcp', S_IP, 9)),
           ('udp probe TTL 1 (traceroute hop 1)', cli(g, 'ttl', S_IP, 33434, 1)),
           ('udp probe TTL 2 (traceroute hop 2)', cli(g, 'ttl', S_IP, 33435, 2)),
           ('ping -t 1', ping(g, S_IP, '-t', '1')),
           ('4000-byte udp both ways (fragments)', cli(g, 'big', S_IP, 9999, 40002)),
           ('tcp server -> external:2222 (forward), peer seen by the guest',
            cli(s, 'tcp', EXT, 2222, 46000)),
           ('tcp server -> external:2223 (no forward)', cli(s, 'tcp', EXT, 2223)),
           ('udp server -> external:5000 (nothing tracked)', cli(s, 'udp', EXT, 5000)),
           ('ping server -> external address', ping(s, EXT)),
           ('tcp guest -> external:2222 (hairpin), peer seen by the guest',
            cli(g, 'tcp', EXT, 2222, 47000)),
           ('3000-byte udp in fragments sent last first (out of order)',
            cli(g, 'ooo', S_IP, 9999, 40005, G_IP)),
           ('path MTU: 1400-byte DF udp to a 1280-MTU hop, then 1400 and 1200 again',
            pmtu(g, PMTU_UDP, FAR_UDP, 40003)),
           ('path MTU: 4000 bytes of tcp to a 1280-MTU hop; the guest\'s route to it after',
            pmtu(g, PMTU_TCP, FAR_TCP, 47001) + ' | ' + route_mtu(g, FAR_TCP))]
    return res


def pmtu(ns, code, *a):
    r = ns.run(sys.executable, '-c', code, *a, check=False, timeout=40)
    return (r.stdout.strip() or r.stderr.strip()[-100:]).replace('\n', ' | ')


def route_mtu(ns, ip):
    """The path MTU the kernel of @ns learned for @ip ("mtu N" of its route cache)."""
    out = ns.run('ip', '-4', 'route', 'get', ip, check=False).stdout
    m = re.search(r'\bmtu (\d+)', out)
    return 'route mtu %s' % (m.group(1) if m else 'none')


def main():
    tap = Tap()
    nl.require(tap, ['iptables', 'ping'])
    results = {}
    for cls in (Linux, Vn):
        site = None
        with Step(tap, '%s set-up and attempts' % cls.name) as st:
            site = cls()
            results[cls.name] = observe(site)
            if cls is Vn:  # out of order: the two later fragments were held, then sent on
                tr = site.vn.ctl_json('net', 'show', 'lan')['translated']
                tap.ok(tr['fragments_held'] >= 2 and tr['fragments_released'] >= 2,
                       'vnicd held the out-of-order fragments until their first: %s' % tr)
        if site:
            site.close()
        if not st.ok:
            results[cls.name] = None
    lx, vn = results.get('linux'), results.get('vnicd')
    if lx is None or vn is None:
        tap.ok(False, 'both set-ups ran')
    else:
        for (what, a), (_, b) in zip(lx, vn):
            tap.eq(b, a, '%s: vnicd as Linux (%s)' % (what, a))
    tap.done()


if __name__ == '__main__':
    main()
