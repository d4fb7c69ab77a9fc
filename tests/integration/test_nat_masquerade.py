#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# NAT networks with --masquerade: the external address follows the uplink's kernel interface.
"""Usage: test_nat_masquerade.py

vnicd runs in its own namespace V, whose veth `upl` (10.88.0.2/24) is the af_packet uplink of
bridge network `wan`; its peer is in the server namespace S (10.88.0.1/24). NAT network
`lan` masquerades (`--masquerade`): its external leg takes upl's address and MAC. A guest
namespace G (192.168.101.10/24 via .1) behind a tap port pings S and sends UDP, which S
sees from 10.88.0.2; then V's address changes to 10.88.0.3 and vnicd follows it.
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
        tap.eq(udp_peer(g, 41000), 'peer=10.88.0.2:41000', 'the server sees 10.88.0.2')
        v.ip('addr', 'del', '10.88.0.2/24', 'dev', 'upl')
        v.ip('addr', 'add', '10.88.0.3/24', 'dev', 'upl')
        tap.ok(wait_for(lambda: vn.ctl_json('net', 'show', 'lan')['external_ip'] == '10.88.0.3',
                        10), 'vnicd follows the interface\'s new address')
        tap.ok(wait_for(lambda: udp_peer(g, 41001) == 'peer=10.88.0.3:41001', 10),
               'the server sees the new address 10.88.0.3')
        tap.diag(json.dumps(vn.ctl_json('net', 'show', 'lan')['nat_drops']))
    vn.stop()
    for ns in (g, s, v):
        ns.close()
    run(['true'])
    tap.done()


if __name__ == '__main__':
    main()
