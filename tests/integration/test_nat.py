#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# NAT networks: a guest namespace behind vnicd (DHCP by busybox udhcpc) reaches a server namespace.
"""Usage: test_nat.py

vnicd: network `wan` (bridge) with tap port `srv` into the server namespace S ("the
internet": 10.77.0.1/24 on sif); NAT network `lan` (192.168.100.0/24, gateway .1, external
address 10.77.0.2 on `wan`, DHCP range .10-.20, short UDP/ICMP timeouts, 64 tracked
connections at most) with tap port `g1` into the guest namespace G, which has no address
until busybox udhcpc gets one from vnicd.

  dhcp      udhcpc gets an address of the range, the router option is the gateway
  ping      G pings the gateway and the server; the server sees the external address
  tcp       curl from G to a python http.server subclass in S that answers with the peer
            address: 10.77.0.2
  udp       a UDP request from G: the server answers with the peer, 10.77.0.2
  show      net show --json: conntrack entries, translated counters, the lease;
            nat conntrack --json lists the flows with their states
  forward   nat forward add: S connects to 10.77.0.2:2222 and reaches G's server on 8000;
            hairpin: G itself reaches it through 10.77.0.2:2222; a connection made before
            nat forward del goes on, a new one is refused
  expire    the UDP/ICMP entries expire after their 3 s timeouts
  full      80 UDP flows into a 64-entry table: full_drops counted, then flush empties it
  restart   vnicd restarts: the network, its forward and the lease come back
"""

import json
import os
import shutil
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netnslib as nl  # noqa: E402
from netnslib import Netns  # noqa: E402
from ovlib import Step  # noqa: E402
from vnlib import Tap, TestPmd, Vnicd, scrape_metrics, wait_for  # noqa: E402

S_IP, EXT_IP, GW = '10.77.0.1', '10.77.0.2', '192.168.100.1'
G_MAC, S_MAC = '02:00:00:00:77:01', '02:00:00:00:77:02'

DHCP_SCRIPT = r'''#!/bin/sh
# busybox udhcpc's event script: configure what the lease says
case "$1" in
deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    echo "lease ip=$ip router=$router dns=$dns mask=$mask mtu=$mtu" > "$LEASE_FILE" ;;
esac
exit 0
'''

DNS_PORT = 15353
# "The host's resolver" on vnicd's loopback, UDP and TCP: every A question gets 10.9.9.9,
# but big.example gets 150 addresses (2.4 kB): over UDP only a truncated answer (TC, the
# question alone), as a server answers a query without EDNS, so resolvers ask again by TCP.
FAKE_DNS = r'''
import socket, struct, sys, threading
port = int(sys.argv[1])
def answer(q, tcp):
    i = 12
    while q[i]:
        i += q[i] + 1
    qtype = struct.unpack('!H', q[i + 1:i + 3])[0]
    question = q[12:i + 5]
    big = b'\x03big\x07example\x00' in q[12:i + 1]
    wide = b'\x04wide\x07example\x00' in q[12:i + 1]
    if qtype == 1 and big and not tcp:
        return q[:2] + struct.pack('!HHHHH', 0x8380, 1, 0, 0, 0) + question
    big = big or wide  # wide: 150 addresses over UDP too (as with EDNS): larger than a frame
    addrs = [bytes([10, 8, k // 200, 1 + k % 200]) for k in range(150)] if big else [bytes([10, 9, 9, 9])]
    if qtype != 1:
        addrs = []
    ans = b''.join(b'\xc0\x0c' + struct.pack('!HHIH', 1, 1, 60, 4) + a for a in addrs)
    return q[:2] + struct.pack('!HHHHH', 0x8180, 1, len(addrs), 0, 0) + question + ans
def serve(c):
    buf = b''
    while True:
        d = c.recv(4096)
        if not d:
            break
        buf += d
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack('!H', buf[:2])[0]:
            n = struct.unpack('!H', buf[:2])[0]
            r = answer(buf[2:2 + n], True)
            c.sendall(struct.pack('!H', len(r)) + r)
            buf = buf[2 + n:]
    c.close()
def tcp():
    t = socket.socket()
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(('127.0.0.1', port))
    t.listen(16)
    while True:
        threading.Thread(target=serve, args=(t.accept()[0],), daemon=True).start()
threading.Thread(target=tcp, daemon=True).start()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', port))
while True:
    q, a = s.recvfrom(2048)
    s.sendto(answer(q, False), a)
'''

# A guest's DNS over TCP (RFC 7766): two queries in one connection, half-closed; the
# answers' identifiers, answer counts and lengths.
DNS_TCP_CLIENT = r'''
import socket, struct, sys
def q(i, name):
    return struct.pack('!HHHHHH', i, 0x0100, 1, 0, 0, 0) + b''.join(
        bytes([len(p)]) + p.encode() for p in name.split('.')) + b'\x00' + struct.pack('!HH', 1, 1)
s = socket.create_connection((sys.argv[1], 53), timeout=5)
m = b''.join(struct.pack('!H', len(x)) + x for x in (q(1, 'guest.example'), q(2, 'big.example')))
s.sendall(m)
s.shutdown(socket.SHUT_WR)
buf = b''
while True:
    d = s.recv(65536)
    if not d:
        break
    buf += d
out = []
while len(buf) >= 2:
    n = struct.unpack('!H', buf[:2])[0]
    r, buf = buf[2:2 + n], buf[2 + n:]
    out.append('id=%d an=%d len=%d' % (struct.unpack('!H', r[:2])[0], struct.unpack('!H', r[6:8])[0], len(r)))
print(' '.join(out))
'''

# Nine connections at once from one guest, held open, then closed.
DNS_TCP_MANY = r'''
import socket, sys
socks = []
for i in range(9):
    try:
        socks.append(socket.create_connection((sys.argv[1], 53), timeout=3))
    except ConnectionRefusedError:
        print('refused', i)
print('open', len(socks))
for x in socks:
    x.close()
'''

HTTP_SERVER = r'''
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ('peer=%s:%d\n' % self.client_address).encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
'''

UDP_SERVER = r'''
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, a = s.recvfrom(65535)
    r = b'peer=%s:%d' % (a[0].encode(), a[1])
    if len(d) > 100:  # a large datagram: answered with as large a one, its length said
        r = (r + b' len=%d ' % len(d)).ljust(len(d), b'y')
    s.sendto(r, a)
'''

TCP_ECHO = r'''
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', int(sys.argv[1])))
s.listen(16)
def serve(c, a):
    while True:
        d = c.recv(1024)
        if not d:
            return
        c.sendall(b'guest:' + d)
while True:
    c, a = s.accept()
    threading.Thread(target=serve, args=(c, a), daemon=True).start()
'''

# A client that keeps its connection: reads lines on stdin, sends each, prints the answer.
TCP_KEEP = r'''
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print('connected', flush=True)
for line in sys.stdin:
    c.sendall(line.strip().encode())
    print(c.recv(1024).decode(), flush=True)
'''


def tcp_once(ns, ip, port, msg='hi', timeout=3):
    """One connection from @ns: Return: the answer, or None."""
    code = ('import socket,sys\n'
            'try:\n'
            '  c=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=%d)\n'
            '  c.sendall(sys.argv[3].encode()); print(c.recv(1024).decode())\n'
            'except Exception as e:\n'
            '  print("ERR", e)\n' % timeout)
    r = ns.run(sys.executable, '-c', code, ip, port, msg, check=False, timeout=timeout + 10)
    out = r.stdout.strip()
    return None if out.startswith('ERR') or not out else out


def udp_once(ns, ip, port, sport=0, timeout=2):
    code = ('import socket,sys\n'
            's=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(%d)\n'
            's.bind(("0.0.0.0",int(sys.argv[3])))\n'
            'try:\n'
            '  s.sendto(b"x",(sys.argv[1],int(sys.argv[2]))); print(s.recvfrom(2048)[0].decode())\n'
            'except Exception as e:\n'
            '  print("ERR", e)\n' % timeout)
    r = ns.run(sys.executable, '-c', code, ip, port, sport, check=False, timeout=timeout + 10)
    out = r.stdout.strip()
    return None if out.startswith('ERR') or not out else out


class Site:
    def __init__(self, vn):
        self.vn = vn
        self.s = Netns('nats')
        self.g = Netns('natg')
        self.lease_file = os.path.join(vn.dir, 'lease')
        self.script = os.path.join(vn.dir, 'udhcpc.sh')
        with open(self.script, 'w') as f:
            f.write(DHCP_SCRIPT)
        os.chmod(self.script, 0o755)
        self.setup()

    def setup(self):
        vn = self.vn
        vn.ctl('net', 'add', 'wan', 'bridge')
        vn.ctl('port', 'add', 'srv', 'tap', '--ifname', 'sif', '--netns', self.s.name, '--mac',
               S_MAC, '--net', 'wan')
        vn.ctl('net', 'add', 'lan', 'nat', '--subnet', '192.168.100.0/24', '--external', 'wan',
               '--external-ip', EXT_IP + '/24', '--dhcp-range',
               '192.168.100.10-192.168.100.20', '--conntrack-max', 64,
               '--conntrack-timeouts', 'udp=3,udp_stream=3,icmp=3', '--mtu', 1500,
               '--dns', '127.0.0.1:%d' % DNS_PORT)
        vn.ctl('port', 'add', 'g1', 'tap', '--ifname', 'gif', '--netns', self.g.name, '--mac',
               G_MAC, '--net', 'lan')
        for p in ('srv', 'g1'):
            if not wait_for(lambda: vn.ctl_json('port', 'show', p)['link'] == 'up', 10):
                raise RuntimeError('tap port %s: link not up' % p)
        self.s.ip('addr', 'add', S_IP + '/24', 'dev', 'sif')
        self.s.ip('link', 'set', 'sif', 'up')
        self.g.ip('link', 'set', 'gif', 'up')

    def show(self):
        return self.vn.ctl_json('net', 'show', 'lan')

    def close(self):
        for ns in (self.g, self.s):
            ns.close()


def test_dhcp(tap, s):
    env = dict(os.environ, LEASE_FILE=s.lease_file)
    r = nl.run(s.g.exec_argv(['busybox', 'udhcpc', '-i', 'gif', '-f', '-q', '-n', '-t', '5',
                              '-T', '1', '-s', s.script]), check=False, timeout=30, env=env)
    lease = open(s.lease_file).read() if os.path.exists(s.lease_file) else ''
    tap.ok('ip=192.168.100.10 ' in lease and 'router=%s ' % GW in lease and 'mtu=1500' in lease,
           'dhcp: udhcpc got 192.168.100.10 with router %s and MTU 1500: %r (rc %d %s)' %
           (GW, lease.strip(), r.returncode, r.stderr.strip()[-200:]))
    addrs = json.loads(s.g.ip('-j', 'addr', 'show', 'gif').stdout)[0]['addr_info']
    s.gip = next((a['local'] for a in addrs if a['family'] == 'inet'), None)
    tap.eq(s.gip, '192.168.100.10', 'dhcp: the guest interface holds the leased address')

    def saved():
        for f in os.listdir(s.vn.state_dir):
            p = os.path.join(s.vn.state_dir, f)
            if os.path.isfile(p) and '"192.168.100.10"' in open(p, errors='replace').read():
                return True
        return False
    tap.ok(wait_for(saved, 5), 'dhcp: the lease is saved in the state directory at once')


def test_dns(tap, s):
    lease = open(s.lease_file).read() if os.path.exists(s.lease_file) else ''
    tap.ok('dns=%s ' % GW in lease, 'dns: the DHCP DNS option is the gateway: %r' % lease)
    dns = subprocess.Popen([sys.executable, '-c', FAKE_DNS, str(DNS_PORT)])
    try:
        time.sleep(0.5)
        r = s.g.run('busybox', 'nslookup', '-type=a', 'guest.example', GW, check=False)
        tap.ok('10.9.9.9' in r.stdout,
               'dns: the guest resolves a name through the gateway\'s forwarder: %r' %
               r.stdout.strip()[-120:])
        c = s.show().get('dns_counters', {})
        tap.ok(c.get('queries', 0) >= 1 and c.get('answers', 0) >= 1,
               'dns: net show counts the forwarder\'s queries and answers: %s' % c)
        r = s.g.run(sys.executable, '-c', DNS_TCP_CLIENT, GW, check=False)
        tap.ok(r.stdout.split()[:3] == ['id=1', 'an=1', 'len=47'] and
               r.stdout.split()[3:5] == ['id=2', 'an=150'],
               'dns: over TCP, two queries in one half-closed connection: both answers, '
               'the 2.4-kB one whole: %r' % (r.stdout.strip() or r.stderr.strip()[-200:]))
        # one guest holds at most 8 connections at once: the 9th is refused (a reset)
        r = s.g.run(sys.executable, '-c', DNS_TCP_MANY, GW, check=False)
        tap.ok(r.stdout.split() == ['refused', '8', 'open', '8'],
               'dns: over TCP, a guest\'s 9th connection at once is refused, 8 open: %r' %
               (r.stdout.strip() or r.stderr.strip()[-200:]))
        # glibc's resolver in the guest: a truncated UDP answer, then TCP (RFC 7766)
        conf = '/etc/netns/%s/resolv.conf' % s.g.name
        os.makedirs(os.path.dirname(conf), exist_ok=True)
        with open(conf, 'w') as f:
            f.write('nameserver %s\n' % GW)
        try:
            r = s.g.run('getent', 'ahostsv4', 'big.example', check=False)
            got = {line.split()[0] for line in r.stdout.splitlines() if line.strip()}
            tap.ok(len(got) == 150 and '10.8.0.1' in got,
                   'dns: glibc in the guest gets the 150 addresses (UDP truncated, then TCP): '
                   '%d addresses' % len(got))
            # upstream's UDP answer is larger than a frame: vnicd truncates it (TC)
            r = s.g.run('getent', 'ahostsv4', 'wide.example', check=False)
            got = {line.split()[0] for line in r.stdout.splitlines() if line.strip()}
            tap.ok(len(got) == 150,
                   'dns: an upstream UDP answer too large for a frame reaches the guest '
                   'truncated, and whole over TCP: %d addresses' % len(got))
        finally:
            shutil.rmtree(os.path.dirname(conf), ignore_errors=True)
        wait_for(lambda: s.show().get('dns_counters', {}).get('tcp_open', 1) == 0, 5, 0.2)
        c = s.show().get('dns_counters', {})
        tap.ok(c.get('tcp_connections', 0) >= 10 and c.get('tcp_open', 1) == 0 and
               c.get('tcp_refused', 0) == 1,
               'dns: net show counts the TCP connections, none left open: %s' % c)
    finally:
        dns.kill()
        dns.wait()


def test_ping(tap, s):
    r = s.g.run('ping', '-c', '2', '-W', '2', GW, check=False)
    tap.eq(r.returncode, 0, 'ping: the guest pings its gateway %s' % GW)
    cap = s.s.popen('tcpdump', '-l', '-n', '-i', 'sif', '-c', '1', 'icmp[icmptype] == 8')
    time.sleep(1)
    r = s.g.run('ping', '-c', '3', '-W', '2', S_IP, check=False)
    tap.eq(r.returncode, 0, 'ping: the guest pings the server %s through NAT' % S_IP)
    try:
        out, _ = cap.communicate(timeout=5)
    except Exception:
        cap.kill()
        out = ''
    tap.ok(('%s > %s' % (EXT_IP, S_IP)) in out,
           'ping: the server sees the echo requests from %s: %r' % (EXT_IP, out.strip()[:200]))


def test_tcp(tap, s):
    s.s.python(HTTP_SERVER, S_IP, 8080)
    wait_for(lambda: s.s.run('ss', '-ltn', check=False).stdout.count(':8080') > 0, 5)
    r = s.g.run('curl', '-s', '-m', '5', 'http://%s:8080/' % S_IP, check=False)
    tap.ok(r.stdout.startswith('peer=%s:' % EXT_IP),
           'tcp: curl from the guest; the server saw %r (the external address)' % r.stdout.strip())


def test_udp(tap, s):
    s.s.python(UDP_SERVER, S_IP, 9999)
    time.sleep(0.5)
    got = udp_once(s.g, S_IP, 9999, sport=40000)
    tap.eq(got, 'peer=%s:40000' % EXT_IP,
           'udp: the server saw the external address and the guest\'s source port kept')


def test_fragments(tap, s):
    """4000-byte UDP datagrams both ways: IP fragments on either side of vnicd."""
    code = ('import socket,sys\n'
            's=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(3)\n'
            's.sendto(b"z"*4000,(sys.argv[1],9999))\n'
            'try:\n'
            '  d=s.recvfrom(65535)[0]; print(len(d), d[:40].decode())\n'
            'except Exception as e:\n'
            '  print("ERR", e)\n')
    r = s.g.run(sys.executable, '-c', code, S_IP, check=False, timeout=15)
    out = r.stdout.strip()
    tap.ok(out.startswith('4000 peer=%s:' % EXT_IP) and 'len=4000' in out,
           'fragments: a 4000-byte UDP datagram reaches the server whole from %s, and its '
           '4000-byte answer comes back: %r' % (EXT_IP, out[:80]))


def test_refused(tap, s):
    """A closed UDP port of the server: its ICMP port unreachable, translated back."""
    code = ('import socket,sys\n'
            's=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(3)\n'
            's.connect((sys.argv[1],9)); s.send(b"x")\n'
            'try:\n'
            '  s.recv(100); print("answer")\n'
            'except ConnectionRefusedError:\n'
            '  print("refused")\n'
            'except Exception as e:\n'
            '  print("ERR", e)\n')
    r = s.g.run(sys.executable, '-c', code, S_IP, check=False, timeout=15)
    tap.eq(r.stdout.strip(), 'refused',
           'udp: the server\'s ICMP port unreachable reaches the guest\'s socket (ECONNREFUSED)')


def test_show(tap, s):
    sh = s.show()
    want = {'subnet': '192.168.100.0/24', 'gateway': GW, 'external': 'wan',
            'external_ip': EXT_IP, 'masquerade': False, 'port_range': '1024-65535',
            'dhcp_range': '192.168.100.10-192.168.100.20'}
    tap.eq({k: sh.get(k) for k in want}, want, 'show: net show --json describes the network')
    tap.ok(sh['conntrack']['entries'] >= 2 and sh['translated']['outbound'] > 0 and
           sh['translated']['inbound'] > 0,
           'show: conntrack entries and translated counters: %s %s' %
           (sh['conntrack'], sh['translated']))
    tap.ok(any(le['ip'] == '192.168.100.10' and le['mac'] == G_MAC and le['state'] == 'bound'
               for le in sh.get('leases', [])), 'show: the lease is listed as bound')
    txt = s.vn.ctl('net', 'show', 'lan').stdout
    tap.ok('nat 192.168.100.0/24, gateway %s' % GW in txt and 'lease 192.168.100.10' in txt,
           'show: vnicctl net show lan (text) shows the router and the lease')
    ct = s.vn.ctl_json('nat', 'conntrack', 'lan')
    tcp = [c for c in ct if c['proto'] == 'tcp' and c['original']['dport'] == 8080]
    udp = [c for c in ct if c['proto'] == 'udp' and c['original']['sport'] == 40000]
    tap.ok(tcp and tcp[0]['original']['src'] == '192.168.100.10' and
           tcp[0]['reply']['dst'] == EXT_IP and tcp[0]['snat'] and
           tcp[0]['state'] in ('time_wait', 'last_ack', 'fin_wait', 'close_wait', 'close'),
           'show: nat conntrack lists the HTTP connection, SNAT, closing: %s' % tcp[:1])
    tap.ok(udp and udp[0]['reply']['dport'] == 40000 and udp[0]['state'] == 'udp_replied',
           'show: the UDP flow is listed, replied, port 40000 kept: %s' % udp[:1])
    text = scrape_metrics(METRICS)
    cp = subprocess.run(['promtool', 'check', 'metrics'], input=text, capture_output=True,
                        text=True)
    tap.eq((cp.returncode, cp.stdout + cp.stderr), (0, ''),
           'show: promtool check metrics passes with a NAT network')
    m = re.search(r'^vnicd_nat_conntrack_entries\{net="lan"\} (\d+)$', text, re.M)
    now = s.show()['conntrack']['entries']
    tap.ok(m is not None and abs(int(m.group(1)) - now) <= 2 and
           re.search(r'^vnicd_nat_translated_total\{net="lan",direction="outbound"\} [1-9]',
                     text, re.M) is not None,
           'show: metrics give the conntrack gauge (%s, net show %d) and translations'
           % (m and m.group(1), now))
    g1 = {p['name']: p for p in s.vn.ctl_json('stats')['ports']}['g1']
    rx, tx = g1.get('rx_external_packets'), g1.get('tx_external_packets')
    tap.ok(rx and tx and rx > 5 and tx > 5,
           'show: translated traffic counts as external on the guest port: rx %s tx %s' %
           (rx, tx))


def test_forward(tap, s):
    vn = s.vn
    s.g.python(TCP_ECHO, 8000)
    time.sleep(0.5)
    vn.ctl('nat', 'forward', 'add', 'lan', '--proto', 'tcp', '--external-port', 2222, '--to',
           '%s:8000' % s.gip)
    fl = vn.ctl_json('nat', 'forward', 'list', 'lan')
    tap.eq(fl, [{'net': 'lan', 'proto': 'tcp', 'external_port': 2222, 'to': s.gip + ':8000'}],
           'forward: nat forward list --json')
    tap.eq(tcp_once(s.s, EXT_IP, 2222, 'a'), 'guest:a',
           'forward: the server reaches the guest\'s port 8000 through %s:2222' % EXT_IP)
    # vnicctl trace: the NAT step says what the real connections above show, changing nothing
    sh = s.show()
    ct0 = len(vn.ctl_json('nat', 'conntrack', 'lan'))
    tin = vn.ctl_json('trace', 'srv', '--src', S_MAC, '--dst', sh['external_mac'], '--ip',
                      '%s,%s' % (S_IP, EXT_IP), '--proto', 'tcp', '--sport', '40001',
                      '--dport', '2222')
    nat_in = [x for x in tin['steps'] if x['step'] == 'nat']
    tap.ok(nat_in and nat_in[0]['verdict'] == 'translate' and
           'DNAT to %s (port forward)' % s.gip in nat_in[0]['reason'],
           'trace: from outside to %s:2222 the NAT step says DNAT to the guest: %s'
           % (EXT_IP, nat_in[:1]))
    tout = vn.ctl_json('trace', 'g1', '--src', G_MAC, '--dst', sh['gateway_mac'], '--ip',
                       '%s,%s' % (s.gip, S_IP), '--proto', 'udp', '--sport', '40100',
                       '--dport', '9')
    nat_out = [x for x in tout['steps'] if x['step'] == 'nat']
    tap.ok(nat_out and 'SNAT to %s' % EXT_IP in nat_out[0]['reason'],
           'trace: a new flow from the guest: SNAT to %s: %s' % (EXT_IP, nat_out[:1]))
    tap.eq(len(vn.ctl_json('nat', 'conntrack', 'lan')), ct0,
           'trace: the traces tracked no connection')
    tap.eq(tcp_once(s.g, EXT_IP, 2222, 'h'), 'guest:h',
           'forward: hairpin: the guest reaches itself through %s:2222' % EXT_IP)
    keep = subprocess.Popen(s.s.exec_argv([sys.executable, '-c', TCP_KEEP, EXT_IP, 2222]),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    s.s.procs.append(keep)
    first = keep.stdout.readline().strip()
    keep.stdin.write('one\n')
    keep.stdin.flush()
    a1 = keep.stdout.readline().strip()
    vn.ctl('nat', 'forward', 'del', 'lan', '--proto', 'tcp', '--external-port', 2222)
    tap.eq(vn.ctl_json('nat', 'forward', 'list', 'lan'), [], 'forward: deleted')
    keep.stdin.write('two\n')
    keep.stdin.flush()
    a2 = keep.stdout.readline().strip()
    tap.eq((first, a1, a2), ('connected', 'guest:one', 'guest:two'),
           'forward: a connection made before nat forward del goes on')
    keep.kill()
    tap.eq(tcp_once(s.s, EXT_IP, 2222, 'b', timeout=2), None,
           'forward: after nat forward del a new connection does not get through')


def test_floating(tap, s):
    """port set --floating-ip: 1:1 NAT both ways; --forward on the port."""
    vn, fip = s.vn, '10.77.0.50'
    vn.ctl('port', 'set', 'g1', '--floating-ip', fip)
    tap.eq(vn.ctl_json('port', 'show', 'g1')['policy'].get('floating_ip'), fip,
           'floating: port show reports policy.floating_ip')
    tap.eq(s.show()['floating_ips'], [{'port': 'g1', 'floating_ip': fip, 'inside': s.gip}],
           'floating: net show lists it with the guest\'s leased address')
    r = s.s.run('ping', '-c', '2', '-W', '2', fip, check=False)
    tap.eq(r.returncode, 0, 'floating: the server pings the guest at %s' % fip)
    tap.eq(tcp_once(s.s, fip, 8000, 'f'), 'guest:f',
           'floating: the server reaches the guest\'s TCP port 8000 at %s' % fip)
    tap.eq(udp_once(s.g, S_IP, 9999, sport=40002), 'peer=%s:40002' % fip,
           'floating: the guest\'s traffic leaves as %s' % fip)
    vn.ctl('port', 'set', 'g1', '--floating-ip', 'none', '--forward', 'tcp:2223:8000')
    tap.eq(udp_once(s.g, S_IP, 9999, sport=40003), 'peer=%s:40003' % EXT_IP,
           'floating: after --floating-ip none the guest leaves as %s again' % EXT_IP)
    fl = vn.ctl_json('nat', 'forward', 'list', 'lan')
    tap.eq(fl, [{'net': 'lan', 'port': 'g1', 'proto': 'tcp', 'external_port': 2223,
                 'to': s.gip + ':8000'}], 'floating: port set --forward shows in nat forward list')
    tap.eq(tcp_once(s.s, EXT_IP, 2223, 'p'), 'guest:p',
           'floating: the port\'s forward brings the server to the guest')
    vn.ctl('port', 'set', 'g1', '--forward', 'none')
    tap.eq(vn.ctl_json('nat', 'forward', 'list', 'lan'), [], 'floating: --forward none')


COUNT_ECHO = r'''
import json, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind(('0.0.0.0', int(sys.argv[1])))
n, peers = 0, {}
while True:
    d, a = s.recvfrom(4096)
    if a[0] == '127.0.0.1':
        s.sendto(json.dumps({'n': n, 'peers': sorted(peers)}).encode(), a)
        continue
    n += 1
    peers['%s:%d' % a] = 1
    s.sendto(d, a)
'''


def test_testpmd(tap, s):
    """A testpmd vhost-user guest behind NAT: 320 UDP frames out, the server sees the
    external address, its 320 echoes come back to the guest."""
    vn = s.vn
    mac, gmac = '02:00:00:00:77:10', s.show()['gateway_mac']
    s.s.python(COUNT_ECHO, 9998)
    vn.ctl('port', 'add', 'tp', 'vhost', '--path', vn.path('tp.sock'), '--server', '--mac', mac,
           '--net', 'lan')
    dev = 'net_virtio_user0,path=%s,queues=1,queue_size=1024,mac=%s' % (vn.path('tp.sock'), mac)
    tp = TestPmd('natg', [dev], eth_peers={0: gmac},
                 extra=['--rxd=1024', '--txd=1024', '--tx-ip=192.168.100.30,%s' % S_IP,
                        '--tx-udp=5000,9998'])
    try:
        tap.ok(wait_for(lambda: vn.ctl_json('port', 'show', 'tp')['link'] == 'up', 15),
               'testpmd: the vhost-user guest is up')
        sent = tp.send(0, 10, 32, pkt_len=64)[0]
        tp.start_fwd('rxonly')

        def count():
            r = s.s.run(sys.executable, '-c', 'import socket,sys; x=socket.socket(socket.AF_INET,'
                        'socket.SOCK_DGRAM); x.settimeout(2); x.sendto(b"COUNT",("127.0.0.1",'
                        '9998)); print(x.recv(9999).decode())', check=False)
            return json.loads(r.stdout or '{}')
        wait_for(lambda: count().get('n', 0) >= sent, 5)
        got = count()
        tap.eq((sent, got.get('n'), got.get('peers')), (320, 320, ['%s:5000' % EXT_IP]),
               'testpmd: the server got the guest\'s 320 frames from %s:5000' % EXT_IP)
        wait_for(lambda: tp.port_stats(0, raw=True)['rx_packets'] >= 320, 5)
        tap.eq(tp.port_stats(0, raw=True)['rx_packets'], 320,
               'testpmd: the server\'s 320 echoes reached the guest through NAT')
    finally:
        tp.close()
        vn.ctl('port', 'del', 'tp', check=False)


def test_expire(tap, s):
    def short():
        return [c for c in s.vn.ctl_json('nat', 'conntrack', 'lan')
                if c['proto'] in ('udp', 'icmp')]
    udp_once(s.g, S_IP, 9999, sport=40001)
    tap.ok(short(), 'expire: a UDP entry is there after a request')
    tap.ok(wait_for(lambda: not short(), 10),
           'expire: UDP and ICMP entries are gone after their 3 s timeouts')
    tap.ok(s.show()['conntrack']['expired'] > 0, 'expire: counted as expired')


def test_full(tap, s):
    s.vn.ctl('nat', 'conntrack', 'flush', 'lan')
    code = ('import socket,sys\n'
            'for i in range(80):\n'
            '  x=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n'
            '  x.sendto(b"x",(sys.argv[1],9998)); x.close()\n')
    s.g.run(sys.executable, '-c', code, S_IP)
    time.sleep(0.5)
    sh = s.show()
    tap.ok(sh['conntrack']['entries'] == 64 and sh['conntrack']['full_drops'] >= 1 and
           sh['nat_drops']['table_full'] == sh['conntrack']['full_drops'],
           'full: 80 flows into 64 entries: %s, nat_drops.table_full %d' %
           (sh['conntrack'], sh['nat_drops']['table_full']))
    r = s.vn.ctl_json('nat', 'conntrack', 'flush', 'lan')
    tap.ok(r['removed'] >= 64 and s.show()['conntrack']['entries'] == 0,
           'full: nat conntrack flush removed %s' % r)


def test_restart(tap, s):
    vn = s.vn
    vn.ctl('nat', 'forward', 'add', 'lan', '--proto', 'udp', '--external-port', 5353, '--to',
           '%s:53' % s.gip)
    vn.restart()
    sh = s.show()
    tap.eq((sh['external_ip'], sh['forwards']),
           (EXT_IP, [{'proto': 'udp', 'external_port': 5353, 'to': s.gip + ':53'}]),
           'restart: the NAT network and its forward are restored')
    tap.ok(any(le['ip'] == s.gip for le in sh.get('leases', [])),
           'restart: the lease is restored')
    tap.ok(wait_for(lambda: vn.ctl_json('port', 'show', 'g1')['link'] == 'up', 10) and
           wait_for(lambda: s.g.run('ping', '-c', '1', '-W', '1', S_IP,
                                    check=False).returncode == 0, 15),
           'restart: the guest pings the server again')


def test_delete(tap, s):
    vn = s.vn
    r = vn.ctl('net', 'del', 'wan', check=False)
    tap.ok(r.returncode != 0 and 'external network of NAT network' in r.stderr,
           'delete: the external network cannot go while lan uses it: %r' % r.stderr.strip())
    r = vn.ctl('net', 'del', 'lan', check=False)
    tap.ok(r.returncode != 0 and 'port' in r.stderr,
           'delete: lan cannot go while it has a guest port: %r' % r.stderr.strip())
    vn.ctl('port', 'del', 'g1')
    vn.ctl('net', 'del', 'lan')
    vn.ctl('port', 'del', 'srv')
    vn.ctl('net', 'del', 'wan')
    names = [n['name'] for n in vn.ctl_json('net', 'list')]
    tap.ok('lan' not in names and 'wan' not in names,
           'delete: both networks gone, vnicd alive: %s' % names)
    r = vn.ctl('net', 'add', 'x', 'nat', '--subnet', '192.168.1.0/24', '--external', 'nowhere',
               '--external-ip', '10.0.0.2', check=False)
    tap.ok(r.returncode != 0 and "no network 'nowhere'" in r.stderr,
           'delete: --external must exist: %r' % r.stderr.strip())


METRICS = '/tmp/vnicd-nat-metrics-%d.sock' % os.getpid()


def main():
    tap = Tap()
    nl.require(tap, ['busybox', 'curl', 'ping', 'tcpdump'], testpmd=True)
    vn = Vnicd('nat', config='[vnicd]\nmetrics_listen = unix:%s\n' % METRICS)
    vn.wait_ready()
    s = None
    with Step(tap, 'set-up') as st:
        s = Site(vn)
    if st.ok:
        for name, fn in (('dhcp', test_dhcp), ('dns', test_dns), ('ping', test_ping), ('tcp', test_tcp),
                         ('udp', test_udp), ('fragments', test_fragments),
                         ('refused', test_refused), ('show', test_show), ('forward', test_forward),
                         ('floating', test_floating), ('testpmd', test_testpmd),
                         ('expire', test_expire), ('full', test_full),
                         ('restart', test_restart), ('delete', test_delete)):
            with Step(tap, name):
                fn(tap, s)
    if s:
        s.close()
    vn.stop()
    tap.done()


if __name__ == '__main__':
    main()
