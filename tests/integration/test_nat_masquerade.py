#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# NAT networks with --masquerade: the external address follows the uplink's kernel interface.
"""Usage: test_nat_masquerade.py

vnicd runs in its own namespace V, whose veth `upl` (10.88.0.2/24) is the af_packet uplink of
bridge network `wan`; its peer is in the server namespace S (10.88.0.1/24). NAT network
`lan` masquerades (`--masquerade`): its external leg takes upl's address and MAC. A guest
namespace G (192.168.101.10/24 via .1) behind a tap port pings S and sends UDP, which S
sees from 10.88.0.2; then V's address changes to 10.88.0.3 and vnicd follows it.

TCP: the host filter (a tcx program at upl's ingress) keeps the replies to NAT's ports from
V's own stack, which would reset them: a guest's TCP echo of 300 KiB with S, a port forward
bringing S's connection in, and V's own TCP connection to S beside them; after `net del`
the program is gone (V's stack refuses the forwarded port at once).
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netnslib as nl  # noqa: E402
from netnslib import Netns, run  # noqa: E402
from ovlib import Step  # noqa: E402
from vnlib import Tap, Vnicd, wait_for  # noqa: E402

UDP_PEER = r'''
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 9999))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(b'peer=%s:%d' % (a[0].encode(), a[1]), a)
'''


class NsVnicd(Vnicd):
    """vnicd in namespace @ns."""

    def __init__(self, ns, *a, **kw):
        self.ns = ns
        super().__init__(*a, **kw)

    def argv(self):
        return ['ip', 'netns', 'exec', self.ns.name] + super().argv()


TCP_PEER = r'''
import socket, sys, threading
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2])))
srv.listen(16)
def serve(c, a):
    c.sendall(b'peer=%s\n' % a[0].encode())
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()
while True:
    c, a = srv.accept()
    threading.Thread(target=serve, args=(c, a), daemon=True).start()
'''

# A TCP client of TCP_PEER: its first line, then SIZE bytes echoed back intact ("ok").
TCP_CLIENT = r'''
import socket, sys, threading
size = int(sys.argv[3])
try:
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
    f = c.makefile('rb')
    peer = f.readline().decode().strip()
    data = bytes(range(256)) * (size // 256)
    threading.Thread(target=lambda: (c.sendall(data), c.shutdown(socket.SHUT_WR)),
                     daemon=True).start()
    back = f.read()
    print(peer, 'ok' if back == data else 'bad %d' % len(back))
except Exception as e:
    print('ERR', type(e).__name__, e)
'''


# ICMP destination unreachables S receives in 2 s (V's stack refusing a NAT reply).
ICMP_COUNT = r'''
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(0.2)
print('ready', flush=True)
n, end = 0, time.time() + 2
while time.time() < end:
    try:
        d = s.recv(2048)
    except socket.timeout:
        continue
    n += d[(d[0] & 15) * 4] == 3
print(n, flush=True)
'''


def tcp(ns, addr, port, size=0):
    return ns.run(sys.executable, '-c', TCP_CLIENT, addr, port, size, check=False,
                  timeout=30).stdout.strip()


def tcx_links(pid):
    """How many tcx BPF links process @pid holds (its fds' fdinfo)."""
    n = 0
    for fd in os.listdir('/proc/%d/fdinfo' % pid):
        try:
            with open('/proc/%d/fdinfo/%s' % (pid, fd)) as f:
                n += 'link_type:\ttcx' in f.read()
        except OSError:
            pass
    return n


def udp_peer(g, sport):
    code = ('import socket,sys\n'
            's=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(2)\n'
            's.bind(("0.0.0.0",int(sys.argv[1])))\n'
            'try:\n'
            '  s.sendto(b"x",("10.88.0.1",9999)); print(s.recvfrom(100)[0].decode())\n'
            'except Exception as e:\n'
            '  print("ERR", e)\n')
    return g.run(sys.executable, '-c', code, sport, check=False).stdout.strip()


def main():
    tap = Tap()
    nl.require(tap, ['ping'])
    v, s, g = Netns('nmv'), Netns('nms'), Netns('nmg')
    v.ip('link', 'add', 'upl', 'type', 'veth', 'peer', 'name', 'sv', 'netns', s.name)
    v.ip('addr', 'add', '10.88.0.2/24', 'dev', 'upl')
    v.ip('link', 'set', 'upl', 'up')
    s.ip('addr', 'add', '10.88.0.1/24', 'dev', 'sv')
    s.ip('link', 'set', 'sv', 'up')
    up_mac = v.link('upl')['address']
    vn = NsVnicd(v, 'natmasq', config='[vnicd]\nmetrics_listen =\n')
    vn.wait_ready()
    with Step(tap, 'masquerade'):
        vn.ctl('net', 'add', 'wan', 'bridge', '--uplink', 'net_af_packet0,iface=upl')
        vn.ctl('net', 'add', 'lan', 'nat', '--subnet', '192.168.101.0/24', '--external', 'wan',
               '--masquerade')
        vn.ctl('port', 'add', 'g1', 'tap', '--ifname', 'gif', '--netns', g.name, '--net', 'lan')
        wait_for(lambda: vn.ctl_json('port', 'show', 'g1')['link'] == 'up', 10)
        g.ip('addr', 'add', '192.168.101.10/24', 'dev', 'gif')
        g.ip('link', 'set', 'gif', 'up')
        g.ip('route', 'add', 'default', 'via', '192.168.101.1')
        sh = vn.ctl_json('net', 'show', 'lan')
        tap.eq((sh['external_ip'], sh['external_mac'], sh['masquerade']),
               ('10.88.0.2', up_mac, True),
               'net show: the external address and MAC are the uplink interface\'s')
        s.python(UDP_PEER)
        tap.ok(wait_for(lambda: g.run('ping', '-c', '1', '-W', '1', '10.88.0.1',
                                      check=False).returncode == 0, 15),
               'the guest pings the server through the masquerading network')
        time.sleep(0.3)
        icmp = s.python(ICMP_COUNT)
        icmp.stdout.readline()
        tap.eq(udp_peer(g, 41000), 'peer=10.88.0.2:41000', 'the server sees 10.88.0.2')
        tap.eq(icmp.communicate(timeout=10)[0].strip(), '0',
               'no port unreachable from V\'s stack for the reply')
        low = udp_peer(g, 900)  # outside --port-range: not kept on the host's address
        tap.ok(low.startswith('peer=10.88.0.2:') and
               1024 <= int(low.rsplit(':', 1)[1] or 0) <= 65535,
               'a source port outside --port-range is taken from the range (%s)' % low)
        tap.ok('--port-range 1024-65535 shares 28232 ports with the host' in vn.log(),
               'net add: a warning that --port-range overlaps ip_local_port_range')
        hf = vn.ctl_json('net', 'show', 'lan')['host_filter']
        tap.eq((hf['attached'], hf['ifname'], hf['note']), (True, 'upl', None),
               'net show: host_filter attached on upl')
        tap.eq(tcx_links(vn.proc.pid), 1, 'vnicd holds one tcx link')
        s.python(TCP_PEER, '0.0.0.0', 9998)
        tap.ok(wait_for(lambda: tcp(v, '10.88.0.1', 9998) == 'peer=10.88.0.2 ok', 5),
               'the server listens (V\'s own connection)')
        tap.eq(tcp(g, '10.88.0.1', 9998, 300 * 1024), 'peer=10.88.0.2 ok',
               'TCP from the guest: 300 KiB echoed intact, the server sees 10.88.0.2')
        tap.ok(vn.ctl_json('net', 'show', 'lan')['host_filter']['ports'] >= 1,
               'the connection\'s port is kept from the host stack (host_filter.ports)')
        tap.eq(tcp(v, '10.88.0.1', 9998, 64 * 1024), 'peer=10.88.0.2 ok',
               'V\'s own TCP connection to the server works beside NAT')
        v.ip('addr', 'del', '10.88.0.2/24', 'dev', 'upl')
        v.ip('addr', 'add', '10.88.0.3/24', 'dev', 'upl')
        tap.ok(wait_for(lambda: vn.ctl_json('net', 'show', 'lan')['external_ip'] == '10.88.0.3',
                        10), 'vnicd follows the interface\'s new address')
        tap.ok(wait_for(lambda: udp_peer(g, 41001) == 'peer=10.88.0.3:41001', 10),
               'the server sees the new address 10.88.0.3')
        g.python(TCP_PEER, '192.168.101.10', 7777)
        vn.ctl('nat', 'forward', 'add', 'lan', '--proto', 'tcp', '--external-port', '2222',
               '--to', '192.168.101.10:7777')
        tap.ok(wait_for(lambda: tcp(s, '10.88.0.3', 2222, 100 * 1024) == 'peer=10.88.0.1 ok',
                        10), 'a port forward brings S\'s TCP connection to the guest (10.88.0.3)')
        tap.eq(tcp(g, '10.88.0.1', 9998, 1024), 'peer=10.88.0.3 ok',
               'TCP from the guest after the address change')
        tap.diag(json.dumps(vn.ctl_json('net', 'show', 'lan')['nat_drops']))
    with Step(tap, 'net del'):
        vn.ctl('port', 'del', 'g1')
        vn.ctl('net', 'del', 'lan')
        tap.eq(tcx_links(vn.proc.pid), 0, 'net del: the tcx link is gone')
        tap.eq(v.run('tc', 'filter', 'show', 'dev', 'upl', 'ingress').stdout.strip(), '',
               'no tc filter left on upl')
        tap.ok(tcp(s, '10.88.0.3', 2222).startswith('ERR ConnectionRefusedError'),
               'V\'s stack refuses the old forwarded port at once (nothing drops it)')
    vn.stop()
    for ns in (g, s, v):
        ns.close()
    run(['true'])
    tap.done()


if __name__ == '__main__':
    main()
