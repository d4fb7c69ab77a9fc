#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Three vnicd hosts on one underlay bridge: VXLAN, Geneve and NVGRE overlays between them (unicast, head-end replication, learning, moves, VNI isolation, per-port --vni, tshark).
"""Usage: test_overlay_hosts.py [--reference] [--types vxlan,geneve,nvgre]

The underlay is a Linux bridge br0 in namespace U; host i (1..3) is a vnicd instance (own
--file-prefix, control socket, state dir; metrics off) whose network `ul` has an af_packet
uplink on a veth into br0, and whose overlays use --local 10.0.0.i. Guests are vnicd tap
ports into namespaces (interface gif):

  A1 A2 A3   overlay ova (VNI 100) on hosts 1, 2, 3: 192.168.60.1-3
  B2 B3      overlay ovb (VNI 200) on hosts 2, 3:    192.168.60.12-13 (same subnet as A)
  C1 C3      ports of ova on hosts 1 and 3 put in VNI 300 (port set --vni 300): .21, .23

For each encapsulation:
  unicast    A pings between all three hosts
  flood      a broadcast and an unknown unicast from A1 reach A2 and A3 exactly once (head-
             end replication), nobody else, not A1 back; host 1's remote counters move
  static     vtep add: a unicast to a static MAC goes to its VTEP only; vtep del: flooded
  learning   host 1's vtep show: A2 behind 10.0.0.2, A3 behind 10.0.0.3, learned
  wire       tshark on host 1's underlay port: VXLAN VNI/flags/4789, Geneve version 0,
             protocol 0x6558, VNI, UDP 6081, GRE key = VSID << 8 | flow id with the K bit,
             protocol 0x6558; the inner IPs; C1's frames carry VNI 300
  isolation  ova and ovb (VNI 100 / 200) on the same hosts: B2 <-> B3 ping, A <-> B not
  port-vni   C1 <-> C3 ping; A1 <-> C1 (same host, same network) and A <-> C3 not
  move       A2's MAC moves from host 2 to host 3: host 1's vtep show follows, ping works

--reference: the hosts are namespaces with the veth end and 10.0.0.i, and kernel vxlan
devices (one per VNI, learning, a flood list of all-zero fdb entries) in a bridge with
the guests' veths; it runs the vxlan checks that do not read vnicd's state, which shows
the underlay wiring, guests, traffic checks and tshark decoding are right.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ovlib  # noqa: E402

import netnslib as nl  # noqa: E402
import uplinklib as ul  # noqa: E402
from netnslib import Netns, run, uniq  # noqa: E402
from ovlib import Step, no_ping, ping_works  # noqa: E402
from vnlib import Tap, Vnicd, avoid_fanout_clash, wait_for  # noqa: E402

HOSTS = (1, 2, 3)
GIF = 'gif'
TYPES = ('vxlan', 'geneve', 'nvgre')
OVERHEAD = {'vxlan': 50, 'geneve': 50, 'nvgre': 42}
DSTPORT = {'vxlan': 4789, 'geneve': 6081}
VNI_A, VNI_B, VNI_C = 100, 200, 300
STATIC_MAC = '02:00:00:00:6f:01'
# guest: (host, overlay, IP, MAC, per-port VNI or None)
GUESTS = {
    'A1': (1, 'ova', '192.168.60.1', '02:00:00:00:61:01', None),
    'A2': (2, 'ova', '192.168.60.2', '02:00:00:00:61:02', None),
    'A3': (3, 'ova', '192.168.60.3', '02:00:00:00:61:03', None),
    'B2': (2, 'ovb', '192.168.60.12', '02:00:00:00:62:02', None),
    'B3': (3, 'ovb', '192.168.60.13', '02:00:00:00:62:03', None),
    'C1': (1, 'ova', '192.168.60.21', '02:00:00:00:63:01', VNI_C),
    'C3': (3, 'ova', '192.168.60.23', '02:00:00:00:63:03', VNI_C),
}


def vtep(i):
    return '10.0.0.%d' % i


def ip_of(g):
    return GUESTS[g][2]


def mac_of(g):
    return GUESTS[g][3]


class Fabric:
    """The underlay bridge and the three hosts (vnicd instances, or namespaces in --reference
    mode); the guests' namespaces, kept across the encapsulations."""

    def __init__(self, tap, ref):
        self.ref = ref
        self.u = Netns('hu')
        self.u.ip('link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'mcast_snooping',
                  '0')
        self.u.ip('link', 'set', 'br0', 'up')
        self.up = {i: uniq('hu%d' % i) for i in HOSTS}
        self.vn, self.h = {}, {}
        self.gns = {g: Netns('g' + g.lower()) for g in GUESTS}
        self.where = {}                  # guest -> host it is on now
        for i in HOSTS:
            run(['ip', 'link', 'del', self.up[i]], check=False)
            run(['ip', 'link', 'add', self.up[i], 'type', 'veth', 'peer', 'name', 'p%d' % i,
                 'netns', self.u.name])
            nl.delete_link_at_exit(self.up[i])
            self.u.ip('link', 'set', 'p%d' % i, 'master', 'br0', 'up')
            if ref:
                h = self.h[i] = Netns('h%d' % i)
                run(['ip', 'link', 'set', self.up[i], 'netns', h.name])
                h.ip('addr', 'add', vtep(i) + '/24', 'dev', self.up[i])
                h.ip('link', 'set', self.up[i], 'up')
            else:
                run(['sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % self.up[i]])
                run(['ip', 'link', 'set', self.up[i], 'up'])
                # three instances: distinct prefix/socket/state dir come with the name;
                # the Prometheus endpoint's fixed port would be taken by the first one
                self.vn[i] = Vnicd('ovh%d' % i, config='[vnicd]\nmetrics_listen =\n')
        for i in self.vn:
            self.vn[i].wait_ready()
        avoid_fanout_clash([(self.vn[i], self.up[i]) for i in self.vn])
        for i in self.vn:
            self.vn[i].ctl('net', 'add', 'ul', 'bridge', '--uplink',
                           'net_af_packet0,iface=%s' % self.up[i])

    # ------------------------------------------------------------ overlays and guests
    def add_overlays(self, typ):
        self.typ = typ
        self.guest_mtu = 1500 - OVERHEAD[typ]
        for i in HOSTS:
            others = ','.join(vtep(j) for j in HOSTS if j != i)
            for net, vni in (('ova', VNI_A), ('ovb', VNI_B)):
                if self.ref:
                    self._kernel_vxlan(i, net, vni)
                else:
                    self.vn[i].ctl('net', 'add', net, 'overlay', '--type', typ, '--vni', vni,
                                   '--local', vtep(i), '--underlay', 'ul', '--remote', others)
            if self.ref:
                self._kernel_vxlan(i, 'ovc', VNI_C)   # the kernel's per-port VNI: a device
        if not self.ref:
            sh = self.vn[1].ctl_json('net', 'show', 'ova')
            self.guest_mtu = sh['guest_mtu']
        for g in GUESTS:
            self.add_guest(g, GUESTS[g][0])

    def _kernel_vxlan(self, i, net, vni):
        h = self.h[i]
        vx, br = 'vx%d' % vni, 'br%d' % vni
        h.ip('link', 'add', vx, 'type', 'vxlan', 'id', vni, 'dstport', 4789, 'local', vtep(i),
             'dev', self.up[i], 'srcport', 49152, 65535, 'noudpcsum')
        for j in HOSTS:
            if j != i:
                h.run('bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', vx, 'dst', vtep(j))
        h.ip('link', 'add', br, 'type', 'bridge', 'stp_state', '0', 'mcast_snooping', '0')
        h.ip('link', 'set', vx, 'master', br, 'up')
        h.ip('link', 'set', br, 'up')

    def add_guest(self, g, host):
        _, net, ip, mac, vni = GUESTS[g]
        ns = self.gns[g]
        if self.ref:
            h = self.h[host]
            br = 'br%d' % (vni or {'ova': VNI_A, 'ovb': VNI_B}[net])
            hp = 'x' + g.lower()
            h.ip('link', 'add', hp, 'type', 'veth', 'peer', 'name', GIF, 'netns', ns.name)
            h.ip('link', 'set', hp, 'master', br, 'up')
            ns.ip('link', 'set', GIF, 'address', mac)
        else:
            vn = self.vn[host]
            port = g.lower()
            vn.ctl('port', 'add', port, 'tap', '--ifname', GIF, '--netns', ns.name, '--mac',
                   mac, '--net', net)
            if vni:
                vn.ctl('port', 'set', port, '--vni', vni)
            if not wait_for(lambda: vn.ctl_json('port', 'show', port)['link'] == 'up', 10):
                raise RuntimeError('host %d: tap port %s: link not up' % (host, port))
        ns.ip('addr', 'add', ip + '/24', 'dev', GIF)
        ns.ip('link', 'set', GIF, 'mtu', self.guest_mtu, 'up')
        self.where[g] = host

    def del_guest(self, g):
        host = self.where.pop(g, None)
        if host is None:
            return
        if self.ref:
            self.h[host].ip('link', 'del', 'x' + g.lower(), check=False)
        else:
            self.vn[host].ctl('port', 'del', g.lower(), check=False)
        self.gns[g].ip('link', 'del', GIF, check=False)

    def del_overlays(self):
        for g in list(self.where):
            self.del_guest(g)
        for i in HOSTS:
            if self.ref:
                for vni in (VNI_A, VNI_B, VNI_C):
                    self.h[i].ip('link', 'del', 'vx%d' % vni, check=False)
                    self.h[i].ip('link', 'del', 'br%d' % vni, check=False)
            else:
                for net in ('ova', 'ovb'):
                    self.vn[i].ctl('net', 'del', net, check=False)

    # ------------------------------------------------------------ state
    def vteps(self, i):
        """{mac: (remote, static)} of overlay ova on host @i."""
        if self.ref:
            out = self.h[i].run('bridge', 'fdb', 'show', 'dev', 'vx%d' % VNI_A).stdout
            res = {}
            for line in out.splitlines():
                w = line.split()
                if 'dst' in w and w[0] != '00:00:00:00:00:00':
                    res[w[0]] = (w[w.index('dst') + 1], 'static' in w or 'permanent' in w)
            return res
        return {e['mac']: (e['remote'], e['static'])
                for e in self.vn[i].ctl_json('vtep', 'show', 'ova')
                if e['net'] == 'ova'}

    def vtep_add(self, i, mac, remote):
        if self.ref:
            self.h[i].run('bridge', 'fdb', 'add', mac, 'dev', 'vx%d' % VNI_A, 'dst', remote,
                          'static')
        else:
            self.vn[i].ctl('vtep', 'add', 'ova', mac, remote)

    def vtep_del(self, i, mac):
        if self.ref:
            self.h[i].run('bridge', 'fdb', 'del', mac, 'dev', 'vx%d' % VNI_A)
        else:
            self.vn[i].ctl('vtep', 'del', 'ova', mac)

    def remotes(self, i):
        if self.ref:
            return None
        return {r['ip']: r for r in self.vn[i].ctl_json('net', 'show', 'ova')['remotes']}

    def close(self):
        for g in self.gns.values():
            g.close()
        for h in self.h.values():
            h.close()
        for vn in self.vn.values():
            vn.close()
        self.u.close()
        for i in HOSTS:
            run(['ip', 'link', 'del', self.up[i]], check=False)


# ---------------------------------------------------------------- the checks

def raw_ports(f, names):
    return {g: ul.RawPort(f.gns[g].name, GIF, mac_of(g)) for g in names}


def deliveries(eps, sender, dst, tag):
    """Send one test frame @sender -> @dst; return {guest: copies received}."""
    time.sleep(0.2)
    for p in eps.values():
        p.drain()
    eps[sender].send(dst, tag)
    time.sleep(1.0)
    return {g: p.drain().count(tag) for g, p in sorted(eps.items())}


def test_unicast(tap, f, L):
    for a, b in (('A1', 'A2'), ('A1', 'A3'), ('A2', 'A3'), ('A3', 'A1')):
        tap.ok(ping_works(f.gns[a], ip_of(b), 15), '%s unicast: %s (host %d) pings %s (host %d)'
               % (L, a, f.where[a], b, f.where[b]))


def test_flood(tap, f, L):
    eps = raw_ports(f, GUESTS)
    try:
        r0 = f.remotes(1)
        want = {g: 1 if g in ('A2', 'A3') else 0 for g in GUESTS}
        got = deliveries(eps, 'A1', ul.BCAST, 'bcast-%s' % f.typ)
        tap.eq(got, want, '%s flood: a broadcast from A1 reaches A2 and A3 once each, no one '
               'else' % L)
        got = deliveries(eps, 'A1', ul.UNKNOWN, 'unknown-%s' % f.typ)
        tap.eq(got, want, '%s flood: an unknown unicast too' % L)
        if r0 is not None:
            r1 = f.remotes(1)
            d = {ip: r1[ip]['tx_packets'] - r0[ip]['tx_packets'] for ip in (vtep(2), vtep(3))}
            tap.ok(all(v >= 2 for v in d.values()), '%s flood: head-end replication: host 1 '
                   'sent to each remote (tx_packets +%s)' % (L, d))
            tap.ok(all(r1[vtep(j)]['mac'] for j in (2, 3)), '%s flood: host 1 resolved both '
                   'remote VTEPs\' MACs: %s' % (L, {j: r1[vtep(j)]['mac'] for j in (2, 3)}))
        # a static VTEP entry: unicast to its host only; removed: flooded again
        f.vtep_add(1, STATIC_MAC, vtep(2))
        tap.eq(f.vteps(1).get(STATIC_MAC), (vtep(2), True), '%s static: vtep add %s %s shown '
               'static' % (L, STATIC_MAC, vtep(2)))
        got = deliveries(eps, 'A1', STATIC_MAC, 'static-%s' % f.typ)
        tap.eq(got, {g: 1 if g == 'A2' else 0 for g in GUESTS},
               '%s static: a frame to %s goes to host 2 only' % (L, STATIC_MAC))
        f.vtep_del(1, STATIC_MAC)
        tap.ok(STATIC_MAC not in f.vteps(1), '%s static: vtep del removes it' % L)
        got = deliveries(eps, 'A1', STATIC_MAC, 'static2-%s' % f.typ)
        tap.eq(got, want, '%s static: ... and the MAC is flooded again' % L)
    finally:
        ul.close_all(eps)


def test_learning(tap, f, L):
    for g in ('A2', 'A3'):   # refresh: a frame from each
        ovlib.pings(f.gns[g], ip_of('A1'))
    vt = f.vteps(1)
    got = {g: vt.get(mac_of(g)) for g in ('A2', 'A3')}
    tap.eq(got, {'A2': (vtep(2), False), 'A3': (vtep(3), False)},
           '%s learning: host 1 learned A2 behind %s and A3 behind %s' % (L, vtep(2), vtep(3)))
    tap.ok(mac_of('A1') not in vt and mac_of('C1') not in vt, '%s learning: no local MAC in '
           'host 1\'s VTEP table' % L)


def test_wire(tap, f, L):
    cap = nl.Capture(f.u, 'p1')   # -Q in on the bridge port: what host 1 sends
    ping_works(f.gns['A1'], ip_of('A2'), 5)
    ping_works(f.gns['C1'], ip_of('C3'), 5)
    ovlib.udp_flows(f.gns['A1'], ip_of('A2'), [41001, 41002, 41003, 41004], count=2)
    path = cap.stop()
    if f.typ == 'vxlan':
        fil, flds = 'vxlan', ('vxlan.vni', 'vxlan.flags', 'udp.dstport', 'udp.srcport')
    elif f.typ == 'geneve':
        fil, flds = 'geneve', ('geneve.vni', 'geneve.version', 'geneve.proto_type',
                               'udp.dstport', 'udp.srcport')
    else:
        fil, flds = 'gre', ('gre.key', 'gre.flags.key', 'gre.proto', 'ip.proto')
    rows = {}
    for who in ('A1', 'C1'):
        rows[who] = ovlib.tshark_fields(path, '%s && ip.src == %s' % (fil, ip_of(who)),
                                        'ip.src', 'ip.dst', *flds)
    tap.ok(rows['A1'] and rows['C1'], '%s wire: tshark decodes %s from A1 (%d) and C1 (%d)'
           % (L, f.typ, len(rows['A1']), len(rows['C1'])))
    if not (rows['A1'] and rows['C1']):
        return
    for who, dst, vni in (('A1', 'A2', VNI_A), ('C1', 'C3', VNI_C)):
        rs = rows[who]
        outer = {tuple(x.split(',')[0] for x in r[:2]) for r in rs}
        inner = {tuple(x.split(',')[-1] for x in r[:2]) for r in rs}
        tap.eq((sorted(outer), sorted(inner)),
               ([(vtep(1), vtep(f.where[dst]))], [(ip_of(who), ip_of(dst))]),
               '%s wire: %s -> %s: outer %s -> %s, inner IPs' % (L, who, dst, vtep(1),
                                                                vtep(f.where[dst])))
        v = sorted({int(r[2], 0) for r in rs})
        if f.typ == 'vxlan':
            tap.eq((v, sorted({int(r[3], 0) >> 8 for r in rs}),
                    sorted({r[4].split(',')[0] for r in rs})), ([vni], [0x08], ['4789']),
                   '%s wire: %s: VNI %d, flags 0x08, UDP 4789' % (L, who, vni))
        elif f.typ == 'geneve':
            tap.eq((v, sorted({int(r[3]) for r in rs}), sorted({int(r[4], 0) for r in rs}),
                    sorted({r[5].split(',')[0] for r in rs})), ([vni], [0], [0x6558], ['6081']),
                   '%s wire: %s: Geneve VNI %d, version 0, protocol 0x6558, UDP 6081'
                   % (L, who, vni))
        else:
            tap.eq((sorted({k >> 8 for k in v}), sorted({r[3] for r in rs}),
                    sorted({int(r[4], 0) for r in rs}), sorted({r[5].split(',')[0] for r in rs})),
                   ([vni], ['1'], [0x6558], ['47']),
                   '%s wire: %s: GRE key = VSID %d << 8 | flow id, K bit, protocol 0x6558, IP '
                   'protocol 47 (keys %s)' % (L, who, vni, [hex(k) for k in v[:4]]))
    if f.typ != 'nvgre':
        sp = {int(r[-1].split(',')[0]) for r in rows['A1']}
        tap.ok(len(sp) >= 2 and all(49152 <= p <= 65535 for p in sp),
               '%s wire: outer UDP source ports vary by flow, in 49152-65535: %s'
               % (L, sorted(sp)))


def test_isolation(tap, f, L):
    g = f.gns
    tap.ok(ping_works(g['B2'], ip_of('B3'), 15), '%s isolation: B2 pings B3 (VNI %d)'
           % (L, VNI_B))
    tap.ok(no_ping(g['A2'], ip_of('B3'), 2) and no_ping(g['B2'], ip_of('A3'), 2),
           '%s isolation: A (VNI %d) and B (VNI %d) on the same hosts do not reach each other'
           % (L, VNI_A, VNI_B))


def test_port_vni(tap, f, L):
    g = f.gns
    if not f.ref:
        pol = f.vn[1].ctl_json('port', 'show', 'c1').get('policy', {})
        tap.eq(pol.get('vni'), VNI_C, '%s port-vni: port show c1 --json: policy.vni %d'
               % (L, VNI_C))
    tap.ok(ping_works(g['C1'], ip_of('C3'), 15), '%s port-vni: C1 pings C3 (both --vni %d)'
           % (L, VNI_C))
    tap.ok(no_ping(g['A1'], ip_of('C1'), 2), '%s port-vni: A1 does not reach C1 (same host, '
           'same network, other VNI)' % L)
    tap.ok(no_ping(g['A1'], ip_of('C3'), 2) and no_ping(g['C1'], ip_of('A2'), 2),
           '%s port-vni: nor C3 on host 3; C1 does not reach A2' % L)


def test_move(tap, f, L):
    g = f.gns
    tap.eq(f.vteps(1).get(mac_of('A2'), (None,))[0], vtep(2), '%s move: before: A2 behind %s'
           % (L, vtep(2)))
    f.del_guest('A2')
    f.add_guest('A2', 3)
    tap.ok(ping_works(g['A2'], ip_of('A1'), 15), '%s move: A2, now on host 3, pings A1' % L)
    vt = wait_for(lambda: f.vteps(1).get(mac_of('A2'), (None,))[0] == vtep(3), 5)
    tap.ok(vt, '%s move: host 1\'s vtep show now has A2 behind %s: %s'
           % (L, vtep(3), f.vteps(1).get(mac_of('A2'))))
    tap.ok(ping_works(g['A1'], ip_of('A2'), 5) and ping_works(g['A3'], ip_of('A2'), 5),
           '%s move: A1 and A3 (now on the same host) reach A2' % L)


def main():
    tap = Tap()
    ref = '--reference' in sys.argv
    types = list(TYPES)
    if '--types' in sys.argv:
        types = sys.argv[sys.argv.index('--types') + 1].split(',')
    if ref:
        types = [t for t in types if t == 'vxlan']   # the kernel here has no geneve/gretap
    nl.require(tap, ['tcpdump', 'tshark', 'ping', 'bridge'], testpmd=not ref)
    f = None
    with Step(tap, 'set-up of the underlay and the three hosts') as st:
        f = Fabric(tap, ref)
    if st.ok:
        try:
            for typ in types:
                L = '[%s%s]' % (typ, ' reference' if ref else '')
                with Step(tap, '%s overlays and guests' % L) as st2:
                    f.add_overlays(typ)
                if st2.ok:
                    for name, fn in (('unicast', test_unicast), ('flood', test_flood),
                                     ('learning', test_learning), ('wire', test_wire),
                                     ('isolation', test_isolation),
                                     ('port-vni', test_port_vni), ('move', test_move)):
                        with Step(tap, '%s %s' % (L, name)):
                            fn(tap, f, L)
                with Step(tap, '%s removing the overlays' % L):
                    f.del_overlays()
            for i, vn in sorted(f.vn.items()):
                tap.ok(vn.alive(), 'host %d: vnicd still runs' % i)
                if tap.failed:
                    tap.diag('host %d: vnicd log tail:\n%s' % (i, vn.log()[-2000:]))
                else:
                    tap.eq(vn.stop(), 0, 'host %d: vnicd exits 0 on SIGTERM' % i)
        finally:
            f.close()
    tap.done()


if __name__ == '__main__':
    main()
