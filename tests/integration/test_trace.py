#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# vnicctl trace against real delivery: bridge (flood, FDB hit, VLANs, anti-spoofing, meter), the four macvtap modes, a VXLAN overlay.
"""Usage: test_trace.py

For each case, `vnicctl trace PORT --frame HEX` is asked first, then the very same frame is
sent for real from the namespace behind PORT (a tap port; for an uplink, from the host behind
the adjacent switch), and the set of (port, VLAN tag) where it actually arrived (AF_PACKET
sockets with PACKET_AUXDATA on every tap device and on the adjacent switch's end of the
uplink) must equal the trace's destinations. Traces must change no counter and learn nothing.
"""
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netnslib as nl  # noqa: E402
import uplinklib as ul  # noqa: E402
import vnlib  # noqa: E402
from vnlib import Tap, Vnicd, wait_for  # noqa: E402

MAGIC = b'VNTR'
ET = 0x88b5
BC = 'ff:ff:ff:ff:ff:ff'
UNKNOWN = '02:ee:00:00:00:77'
MAC = {i: '02:00:00:00:7%d:01' % i for i in range(1, 4)}
SOL_PACKET, PACKET_AUXDATA, TP_STATUS_VLAN_VALID = 263, 8, 0x10


def frame(src, dst, tag, vlan=None, size=60):
    """A test frame: EtherType 0x88b5, MAGIC and @tag, optionally 802.1Q-tagged @vlan."""
    b = ul.mac_bytes(dst) + ul.mac_bytes(src)
    if vlan is not None:
        b += struct.pack('!HH', 0x8100, vlan)
    b += struct.pack('!H', ET) + MAGIC + tag.encode() + b'\0'
    return b + bytes(max(0, size - len(b)))


class Ep:
    """Frames arriving on @ifname of namespace @ns, with their VLAN tag (auxdata or inline)."""

    def __init__(self, ns, ifname):
        def mk():
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
            s.bind((ifname, 0))
            s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            s.setblocking(False)
            return s
        self.s = ul.in_netns(ns, mk)

    def send(self, data):
        self.s.send(data)

    def drain(self):
        """[(tag, vlan or None)] of the test frames received since the last drain."""
        out = []
        while True:
            try:
                data, anc, _, addr = self.s.recvmsg(65535, socket.CMSG_SPACE(64))
            except BlockingIOError:
                return out
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            vlan = None
            for lvl, typ, cd in anc:
                if lvl == SOL_PACKET and typ == PACKET_AUXDATA and len(cd) >= 20:
                    status, _, _, _, _, tci, _ = struct.unpack('IIIHHHH', cd[:20])
                    if status & TP_STATUS_VLAN_VALID:
                        vlan = tci & 0xfff
            if data[12:14] == b'\x81\x00':
                vlan, data = struct.unpack('!H', data[14:16])[0] & 0xfff, data[:12] + data[16:]
            if data[12:14] != struct.pack('!H', ET) or data[14:18] != MAGIC:
                continue
            out.append((data[18:].split(b'\0', 1)[0].decode(), vlan))

    def close(self):
        self.s.close()


class World:
    """vnicd, and who observes and sends for each port name."""

    def __init__(self, tap, vn):
        self.tap, self.vn, self.eps, self.senders = tap, vn, {}, {}
        self.n = 0

    def drain_all(self):
        for e in self.eps.values():
            e.drain()

    def observe(self, tag):
        got = []
        for name, e in self.eps.items():
            for t, vlan in e.drain():
                if t == tag:
                    got.append((name, vlan))
        return sorted(got, key=str)

    def check(self, label, port, src, dst, vlan=None, expect=None, size=60, verdict=None,
              wrap=None):
        """Trace, then send for real from @port: destinations == arrivals (== @expect).
        @wrap: makes the frame sent of the test frame (an encapsulation)."""
        self.n += 1
        tag = 'c%d' % self.n
        data = frame(src, dst, tag, vlan, size)
        if wrap:
            data = wrap(data)
        t = self.vn.ctl_json('trace', port, '--frame', data.hex())
        traced = sorted(((d['port'], d['vlan']) for d in t['destinations']), key=str)
        self.drain_all()
        self.senders[port].send(data)
        got = []
        wait_for(lambda: got.extend(self.observe(tag)) or len(got) >= len(traced), 2, 0.05)
        time.sleep(0.2)
        got = sorted(got + self.observe(tag), key=str)
        ok = traced == got and (expect is None or traced == sorted(expect, key=str))
        if verdict:
            ok = ok and t['verdict'] == verdict
        self.tap.ok(ok, '%s: trace %s, delivered %s%s' % (label, traced, got, '' if expect is None
                                                          else ', expected %s' % expect))
        if not ok:
            for s in t['steps']:
                self.tap.diag('  %-10s %-9s %s' % (s['step'], s['verdict'], s['reason']))
        return t


def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def vxlan(smac, dmac, sip, dip, vni):
    """Return: a function wrapping an inner frame in Ethernet/IPv4/UDP/VXLAN."""
    def wrap(inner):
        udp_len = 8 + 8 + len(inner)
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0,
                         socket.inet_aton(sip), socket.inet_aton(dip))
        ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
        udp = struct.pack('!HHHH', 50000, 4789, udp_len, 0)
        vx = struct.pack('!II', 0x08000000, vni << 8)
        return ul.mac_bytes(dmac) + ul.mac_bytes(smac) + b'\x08\x00' + ip + udp + vx + inner
    return wrap


def snapshot(vn):
    """Every port's counters and every FDB entry but their ages."""
    st = vn.ctl_json('stats')
    ports = {p['name']: {k: v for k, v in p.items()} for p in st['ports']}
    fdb = sorted((e['net'], e['vlan'], e['mac'], e['port']) for e in vn.ctl_json('fdb', 'show'))
    return ports, fdb


def add_taps(vn, names, nss, net=None):
    for i, (name, ns) in enumerate(zip(names, nss), 1):
        args = ['port', 'add', name, 'tap', '--netns', ns.name, '--ifname', 'gif', '--mac',
                MAC[i]]
        vn.ctl(*(args + (['--net', net] if net else [])))
    for name in names:
        if not wait_for(lambda: vn.ctl_json('port', 'show', name)['link'] == 'up', 10):
            raise RuntimeError('tap port %s: link not up' % name)


def bridge_cases(tap, vn, w, nss):
    names = ['g1', 'g2', 'g3']
    add_taps(vn, names, nss)
    for name, ns in zip(names, nss):
        w.eps[name] = w.senders[name] = Ep(ns.name, 'gif')
    time.sleep(0.3)
    before = snapshot(vn)
    t = vn.ctl_json('trace', 'g1', '--src', MAC[1], '--dst', UNKNOWN)
    tap.eq(sorted(d['port'] for d in t['destinations']), ['g2', 'g3'],
           'trace g1 --dst UNKNOWN (fields): floods to g2 and g3')
    steps = [s['step'] for s in t['steps']]
    tap.ok(steps.index('ingress') < steps.index('parse') < steps.index('admission') < steps.index('forward')
           < steps.index('deliver') and any(s['verdict'] == 'new' for s in t['steps']
                                            if s['step'] == 'learn'),
           'steps in order: ingress, parse, admission, learn (would learn), forward, deliver')
    for _ in range(3):
        vn.ctl_json('trace', 'g2', '--src', MAC[2], '--dst', MAC[1], '--ip', '10.0.0.2,10.0.0.1',
                    '--proto', 'udp', '--sport', '1000', '--dport', '2000', '--len', '200')
    after = snapshot(vn)
    tap.ok(before == after, 'traces changed no counter and learned nothing (%d FDB entries)'
           % len(after[1]))
    w.check('bridge: unknown unicast floods', 'g1', MAC[1], UNKNOWN,
            expect=[('g2', None), ('g3', None)])
    t = w.check('bridge: FDB hit after learning', 'g2', MAC[2], MAC[1], expect=[('g1', None)])
    tap.ok(any(s['step'] == 'lookup' and s['verdict'] == 'hit' for s in t['steps']),
           'the trace says FDB hit')
    w.check('bridge: broadcast', 'g3', MAC[3], BC, expect=[('g1', None), ('g2', None)])
    before = snapshot(vn)
    moved = vn.ctl_json('trace', 'g3', '--src', MAC[1], '--dst', MAC[2])  # g1's MAC from g3
    fresh = vn.ctl_json('trace', 'g2', '--src', '02:00:00:00:55:55', '--dst', MAC[3])
    after = snapshot(vn)
    tap.ok(before == after and len(after[1]) == 3,
           'traces with a learned FDB changed no counter and no entry (%d)' % len(after[1]))
    tap.ok([s['verdict'] for s in moved['steps'] if s['step'] == 'learn'] == ['move'] and
           [s['verdict'] for s in fresh['steps'] if s['step'] == 'learn'] == ['new'],
           'the traces say what learning would do: a move, a new entry')
    # VLANs: g1 access 10, g2 access 20, g3 trunk 10,20
    vn.ctl('port', 'set', 'g1', '--vlan-mode', 'access', '--vlan', '10')
    vn.ctl('port', 'set', 'g2', '--vlan-mode', 'access', '--vlan', '20')
    vn.ctl('port', 'set', 'g3', '--vlan-mode', 'trunk', '--vlans', '10,20')
    w.check('vlan: access 10 broadcast -> trunk tagged 10 only', 'g1', MAC[1], BC,
            expect=[('g3', 10)])
    w.check('vlan: trunk tagged 20 -> access 20 untagged', 'g3', MAC[3], BC, vlan=20,
            expect=[('g2', None)])
    t = w.check('vlan: trunk tagged 30 (not allowed) dropped', 'g3', MAC[3], BC, vlan=30,
                expect=[], verdict='dropped')
    tap.ok(t['drops'].get('policy') == 1, 'drop reason policy: %s' % t['drops'])
    t = w.check('vlan: tagged frame on an access port dropped', 'g1', MAC[1], BC, vlan=10,
                expect=[])
    # anti-spoofing: g1 locked to its MAC
    vn.ctl('port', 'set', 'g1', '--lock-mac')
    c0 = vn.ctl_json('stats', '--port', 'g1')['ports'][0]['drops'].get('spoofed', 0)
    t = w.check('antispoof: another source MAC dropped', 'g1', '02:00:00:00:99:99', BC, expect=[],
                verdict='dropped')
    tap.ok(t['drops'].get('spoofed') == 1 and
           any(s['step'] == 'antispoof' and s['verdict'] == 'drop' and 'lock-mac' in s['reason']
               for s in t['steps']),
           'the trace says spoofed: the source MAC is not the locked one')
    c1 = vn.ctl_json('stats', '--port', 'g1')['ports'][0]['drops'].get('spoofed', 0)
    tap.eq(c1 - c0, 1, 'the real frame (only) counted as spoofed')
    w.check('antispoof: its own MAC passes', 'g1', MAC[1], BC, expect=[('g3', 10)])
    # meter: g2 at 1 KBps with a 1 KiB bucket; 1000-byte frames
    vn.ctl('port', 'set', 'g2', '--outbound', 'average=1,burst=1')
    t = w.check('meter: a full bucket passes', 'g2', MAC[2], BC, size=1000, expect=[('g3', 20)])
    tap.ok(any(s['step'] == 'meter' and s['verdict'] == 'pass' for s in t['steps']),
           'the trace says the meter would pass')
    t = w.check('meter: the empty bucket drops', 'g2', MAC[2], BC, size=1000, expect=[],
                verdict='dropped')
    tap.ok(t['drops'].get('rate_limited') == 1, 'drop reason rate_limited: %s' % t['drops'])
    # the destination's inbound meter: g1 (access 10) at 1 KBps with a 1 KiB bucket
    vn.ctl('port', 'set', 'g1', '--inbound', 'average=1,burst=1')
    w.check('inbound meter: a full bucket passes', 'g3', MAC[3], BC, vlan=10, size=1000,
            expect=[('g1', None)])
    t = w.check('inbound meter: the empty bucket drops at the destination', 'g3', MAC[3], BC,
                vlan=10, size=1000, expect=[], verdict='dropped')
    tap.ok(any(s['step'] == 'meter' and s['verdict'] == 'drop' and 'g1' in s['reason']
               for s in t['steps']), "the trace says g1's inbound limit drops it")
    # storm control: g3 at 1 broadcast a second (a bucket of 32)
    vn.ctl('port', 'set', 'g3', '--storm-control', '1')
    t = w.check('storm control: within the bucket passes', 'g3', MAC[3], BC, vlan=20,
                expect=[('g2', None)])
    for i in range(40):
        w.senders['g3'].send(frame(MAC[3], BC, 'flood', 20))
    time.sleep(0.3)
    t = w.check('storm control: beyond it dropped', 'g3', MAC[3], BC, vlan=20, expect=[],
                verdict='dropped')
    tap.ok(t['drops'].get('storm') == 1 and
           any(s['step'] == 'storm' and s['verdict'] == 'drop' for s in t['steps']),
           'the trace says storm: %s' % t['drops'])
    for name in names:
        w.eps.pop(name).close()
        w.senders.pop(name, None)
        vn.ctl('port', 'del', name)


def macvtap_cases(tap, vn, w, nss):
    adj = ul.Adjacent('t', hairpin=False)
    try:
        x = Ep(adj.ext.name, 'x0')
        w.eps['mv-uplink'] = Ep(adj.sw.name, adj.upp)
        w.senders['mv-uplink'] = x
        ext = adj.ext_mac
        for mode in ('bridge', 'vepa', 'private', 'passthru'):
            ng = 1 if mode == 'passthru' else 2
            if mode == 'bridge':
                vn.ctl('net', 'add', 'mv', 'macvtap', '--uplink',
                       'net_af_packet0,iface=%s' % adj.up, '--mode', mode)
            else:
                vn.ctl('net', 'set', 'mv', '--mode', mode)
            names = ['m%d' % i for i in range(1, ng + 1)]
            add_taps(vn, names, nss[:ng], net='mv')
            for i, ns in enumerate(nss[:ng], 1):
                w.eps['m%d' % i] = w.senders['m%d' % i] = Ep(ns.name, 'gif')
            time.sleep(0.3)
            x.send(frame(ext, BC, 'warm'))  # the adjacent switch learns the external host
            for i in range(1, ng + 1):
                w.senders['m%d' % i].send(frame(MAC[i], BC, 'warm'))
            time.sleep(0.3)
            up = [('mv-uplink', None)]
            if mode == 'bridge':
                w.check('macvtap bridge: unicast to a bridge port', 'm1', MAC[1], MAC[2],
                        expect=[('m2', None)])
                w.check('macvtap bridge: broadcast to the other port and the uplink', 'm1',
                        MAC[1], BC, expect=[('m2', None)] + up)
            elif mode == 'passthru':
                w.check('macvtap passthru: everything to the uplink', 'm1', MAC[1], BC,
                        expect=up)
            else:
                w.check('macvtap %s: unicast to a local port goes to the uplink' % mode, 'm1',
                        MAC[1], MAC[2], expect=up)
                w.check('macvtap %s: broadcast to the uplink only' % mode, 'm1', MAC[1], BC,
                        expect=up)
            w.check('macvtap %s: from the uplink to m1' % mode, 'mv-uplink', ext, MAC[1],
                    expect=[('m1', None)])
            w.check('macvtap %s: from the uplink to an unknown MAC' % mode, 'mv-uplink', ext,
                    UNKNOWN, expect=[('m1', None)] if mode == 'passthru' else [])
            for name in names:
                w.eps.pop(name).close()
                w.senders.pop(name)
                vn.ctl('port', 'del', name)
        vn.ctl('net', 'del', 'mv')
        x.close()
        w.eps.pop('mv-uplink').close()
    finally:
        adj.close()


def overlay_cases(tap, vn, w, nss):
    """A VXLAN overlay whose remote VTEP is the kernel's vxlan device vx0 in namespace K: the
    trace's encapsulated destination (the underlay's uplink, VNI, outer addresses) must be
    what vx0 decapsulates."""
    k = nl.Netns('k')
    up = nl.uniq('ou')
    nl.run(['ip', 'link', 'add', up, 'type', 'veth', 'peer', 'name', 'kv', 'netns', k.name])
    nl.delete_link_at_exit(up)
    k.ip('addr', 'add', '10.9.0.2/24', 'dev', 'kv')
    k.ip('link', 'set', 'kv', 'up')
    k.ip('link', 'add', 'vx0', 'type', 'vxlan', 'id', 100, 'dstport', 4789, 'local', '10.9.0.2',
         'remote', '10.9.0.1', 'nolearning', 'dev', 'kv')
    k.ip('link', 'set', 'vx0', 'address', '02:00:00:00:7f:02', 'up')
    nl.run(['sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % up])
    nl.run(['ip', 'link', 'set', up, 'up'])
    vn.ctl('net', 'add', 'ul', 'bridge', '--uplink', 'net_af_packet9,iface=%s' % up)
    vn.ctl('net', 'add', 'ov', 'overlay', '--type', 'vxlan', '--vni', 100, '--local', '10.9.0.1',
           '--underlay', 'ul', '--remote', '10.9.0.2')
    add_taps(vn, ['o1'], nss[:1], net='ov')
    w.eps['o1'] = w.senders['o1'] = Ep(nss[0].name, 'gif')
    w.eps['ul-uplink'] = vx = Ep(k.name, 'vx0')
    kmac = '02:00:00:00:7f:02'

    def encap_dest():
        t = vn.ctl_json('trace', 'o1', '--src', MAC[1], '--dst', BC)
        return [d for d in t['destinations'] if d['encap']]
    tap.ok(wait_for(encap_dest, 15, 0.2), 'overlay: the remote VTEP resolves (trace encapsulates)')
    d = (encap_dest() or [{}])[0]
    tap.ok(d.get('port') == 'ul-uplink' and d['encap'] == {
        'type': 'vxlan', 'vni': 100, 'remote_vtep': d['encap'].get('remote_vtep'),
        'outer_src': '10.9.0.1', 'outer_dst': '10.9.0.2'},
        'overlay: broadcast encapsulated to the uplink, VNI 100, 10.9.0.1 > 10.9.0.2: %s' % d)
    w.check('overlay: broadcast by head-end replication to the remote VTEP', 'o1', MAC[1], BC,
            expect=[('ul-uplink', None)])
    vx.send(frame(kmac, MAC[1], 'warm'))  # the overlay learns the kernel's MAC behind vx0
    time.sleep(0.5)
    t = w.check('overlay: unicast to a MAC behind the remote VTEP', 'o1', MAC[1], kmac,
                expect=[('ul-uplink', None)])
    tap.ok(any(s['step'] == 'lookup' and s['verdict'] == 'hit' for s in t['steps']),
           'overlay: the trace says VTEP table hit')
    w.check('overlay: unknown unicast floods to the remote', 'o1', MAC[1], UNKNOWN,
            expect=[('ul-uplink', None)])
    # tunnel ingress: VXLAN from K's address to the local VTEP, traced from the uplink
    vtep_mac = vn.ctl_json('net', 'show', 'ov')['vtep_mac']
    w.senders['ul-uplink'] = Ep(k.name, 'kv')
    wrap = vxlan(k.link('kv')['address'], vtep_mac, '10.9.0.2', '10.9.0.1', 100)
    t = w.check('overlay: VXLAN to the local VTEP, decapsulated to o1', 'ul-uplink', kmac,
                MAC[1], expect=[('o1', None)], wrap=wrap)
    tap.ok(any(s['step'] == 'decap' and s['verdict'] == 'vni' for s in t['steps']),
           'the trace says decapsulated (VNI 100)')
    wrap = vxlan(k.link('kv')['address'], vtep_mac, '10.9.0.2', '10.9.0.1', 101)
    t = w.check('overlay: an unknown VNI dropped', 'ul-uplink', kmac, MAC[1], expect=[],
                wrap=wrap)
    w.senders.pop('ul-uplink').close()
    w.eps.pop('o1').close()
    w.senders.pop('o1')
    w.eps.pop('ul-uplink').close()
    vn.ctl('port', 'del', 'o1')
    vn.ctl('net', 'del', 'ov')
    vn.ctl('net', 'del', 'ul')
    k.close()


def main():
    tap = Tap()
    ul.require(tap)
    nss = [nl.Netns('t%d' % i) for i in range(1, 4)]
    with Vnicd('trace') as vn:
        vn.wait_ready()
        w = World(tap, vn)
        bridge_cases(tap, vn, w, nss)
        macvtap_cases(tap, vn, w, nss)
        overlay_cases(tap, vn, w, nss)
        cp = vn.ctl('trace', 'nosuch', check=False)
        tap.ok(cp.returncode == 1 and "no port 'nosuch'" in cp.stderr, 'trace of an unknown port')
    tap.done()


if __name__ == '__main__':
    main()
