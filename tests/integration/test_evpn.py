#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# BGP EVPN through FRR: two vnicd hosts and a plain Linux EVPN host (kernel bridge + vxlan) on one underlay, no --remote anywhere.
"""Usage: test_evpn.py

The underlay is a Linux bridge br0 in namespace U. Hosts A and B are vnicd instances whose
network `ul` has an af_packet uplink on a veth into br0; each has a tap port `frr` on `ul`
into a namespace holding the VTEP address (10.0.0.1, 10.0.0.2) where FRR (zebra + bgpd)
runs, and an overlay `ov` (VXLAN VNI 100, --control evpn: FRR's namespace is found from
the VTEP holder). Host C is a namespace with 10.0.0.3 on a veth into br0, FRR, and the
kernel's own bridge + vxlan device (nolearning): the reference VTEP, and the iBGP route
reflector of A and B (AS 65000, l2vpn evpn, advertise-all-vni; README's recipe). Guests:
tap namespaces on A and B, a veth namespace behind C's bridge, 192.168.70.0/24.

  interop    C's `show evpn mac vni 100` lists A's and B's guests with their VTEPs;
             vnicd's `vtep show` lists C's guest (and the other vnicd's); pings between
             all three, TCP A <-> C
  withdraw   removing a port on A withdraws its MAC on C within seconds
  move       a guest's MAC moves from A to B (GARP on B): C's entry follows, A forwards
             to B (its local entry is gone), pings resume
  restarts   kill -9 vnicd on A and start it again: VTEP table back, pings resume; the
             same after restarting FRR on A
  bad input  no FRR, a missing namespace, a VNI in use, geneve, --remote: clear errors
             and nothing half-made in the kernel
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ovlib  # noqa: E402

import frrlib  # noqa: E402
import netnslib as nl  # noqa: E402
from frrlib import Frr, bgpd_conf, wait_until  # noqa: E402
from netnslib import Netns, run, uniq  # noqa: E402
from ovlib import Step, no_ping, ping_works  # noqa: E402
from vnlib import Tap, Vnicd, af_packet_fanout_id, avoid_fanout_clash, wait_for  # noqa: E402

VNI = 100
GUEST_MTU = 1450
ASN = 65000
HOSTS = ('A', 'B', 'C')
VTEP = {'A': '10.0.0.1', 'B': '10.0.0.2', 'C': '10.0.0.3'}
# guest: (host, IP, MAC)
GUESTS = {
    'ga': ('A', '192.168.70.1', '02:00:00:00:70:01'),
    'gb': ('B', '192.168.70.2', '02:00:00:00:70:02'),
    'gc': ('C', '192.168.70.3', '02:00:00:00:70:03'),
    'gm': ('A', '192.168.70.9', '02:00:00:00:70:09'),   # the one that moves
    'gz': ('A', '192.168.70.15', '02:00:00:00:70:0f'),  # gone while vnicd is down
}


class Fabric:
    def __init__(self):
        self.u = Netns('eu')
        self.u.ip('link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'mcast_snooping',
                  '0')
        self.u.ip('link', 'set', 'br0', 'up')
        self.vn, self.frr, self.fns, self.gns, self.up = {}, {}, {}, {}, {}
        for h in HOSTS:
            self.up[h] = uniq('eu' + h.lower())
            run(['ip', 'link', 'del', self.up[h]], check=False)
            run(['ip', 'link', 'add', self.up[h], 'type', 'veth', 'peer', 'name',
                 'p' + h.lower(), 'netns', self.u.name])
            nl.delete_link_at_exit(self.up[h])
            self.u.ip('link', 'set', 'p' + h.lower(), 'master', 'br0', 'up')
            self.fns[h] = Netns('ef' + h.lower())
        for h in ('A', 'B'):
            run(['sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % self.up[h]])
            run(['ip', 'link', 'set', self.up[h], 'up'])
            # a short restart grace: the restart test sees a stale MAC withdrawn
            self.vn[h] = Vnicd('evpn' + h.lower(),
                               config='[vnicd]\nmetrics_listen =\nevpn_restart_grace = 3\n')
        self._host_c()
        for h in ('A', 'B'):
            self.vn[h].wait_ready()
        avoid_fanout_clash([(self.vn[h], self.up[h]) for h in ('A', 'B')])
        for h in ('A', 'B'):
            vn = self.vn[h]
            vn.ctl('net', 'add', 'ul', 'bridge', '--uplink', 'net_af_packet0,iface=%s' % self.up[h])
            vn.ctl('port', 'add', 'frr', 'tap', '--ifname', 'up0', '--netns', self.fns[h].name,
                   '--net', 'ul')
            self.fns[h].ip('addr', 'add', VTEP[h] + '/24', 'dev', 'up0')
            self.fns[h].ip('link', 'set', 'up0', 'up')
        for h in HOSTS:
            self.frr[h] = Frr(self.fns[h], 'frr' + h.lower(), self.conf(h))

    def conf(self, h):
        """A and B: iBGP to C, the route reflector (README's recipe); C: the reflector."""
        if h == 'C':
            return bgpd_conf('frrc', VTEP[h], ASN, [], rr_clients='10.0.0.0/24')
        return bgpd_conf('frr' + h.lower(), VTEP[h], ASN, [VTEP['C']])

    def _host_c(self):
        c = self.fns['C']
        run(['ip', 'link', 'set', self.up['C'], 'netns', c.name])
        c.ip('addr', 'add', VTEP['C'] + '/24', 'dev', self.up['C'])
        c.ip('link', 'set', self.up['C'], 'up')
        c.ip('link', 'add', 'br100', 'type', 'bridge', 'stp_state', '0', 'mcast_snooping', '0')
        c.ip('link', 'add', 'vxlan100', 'type', 'vxlan', 'id', VNI, 'local', VTEP['C'],
             'dstport', 4789, 'nolearning')
        c.ip('link', 'set', 'vxlan100', 'master', 'br100', 'up')
        c.ip('link', 'set', 'br100', 'up')

    def add_overlay(self, h):
        self.vn[h].ctl('net', 'add', 'ov', 'overlay', '--type', 'vxlan', '--vni', VNI,
                       '--local', VTEP[h], '--underlay', 'ul', '--control', 'evpn')

    def add_guest(self, g, host=None, ns=None):
        h, ip, mac = GUESTS[g]
        h = host or h
        if ns is None:
            ns = self.gns[g] = Netns('eg' + g)
        if h == 'C':
            self.fns['C'].ip('link', 'add', 'x' + g, 'type', 'veth', 'peer', 'name', 'gif',
                             'netns', ns.name)
            self.fns['C'].ip('link', 'set', 'x' + g, 'master', 'br100', 'up')
            ns.ip('link', 'set', 'gif', 'address', mac)
        else:
            # learned from its traffic (no --mac), so that a move can override it
            self.vn[h].ctl('port', 'add', g, 'tap', '--ifname', 'gif', '--netns', ns.name,
                           '--net', 'ov')
            ns.ip('link', 'set', 'gif', 'address', mac)
        ns.ip('addr', 'add', ip + '/24', 'dev', 'gif')
        ns.ip('link', 'set', 'gif', 'mtu', GUEST_MTU, 'up')
        return ns

    def vteps(self, h):
        return {e['mac']: e['remote'] for e in self.vn[h].ctl_json('vtep', 'show', 'ov')}

    def devices(self, h):
        return set(self.fns[h].links())

    def close(self):
        for x in list(self.gns.values()) + list(self.frr.values()) + list(self.vn.values()):
            x.close()
        for ns in list(self.fns.values()) + [self.u]:
            ns.close()
        for h in HOSTS:
            run(['ip', 'link', 'del', self.up[h]], check=False)


def mac_of(g):
    return GUESTS[g][2]


def ip_of(g):
    return GUESTS[g][1]


def announce(f, g):
    """The guest speaks (an ARP request from its MAC: learned where it is)."""
    to = ip_of('gc') if g != 'gc' else ip_of('gb')
    f.gns[g].run('ip', 'neigh', 'flush', 'dev', 'gif', check=False)
    f.gns[g].run('ping', '-c', '1', '-W', '1', to, check=False)


def test_interop(tap, f):
    for g in ('ga', 'gb', 'gm'):
        announce(f, g)
    want = {mac_of('ga'): VTEP['A'], mac_of('gb'): VTEP['B'], mac_of('gm'): VTEP['A']}
    got = wait_until(lambda: all(f.frr['C'].evpn_macs(VNI).get(m) == v
                                 for m, v in want.items()), 30)
    tap.ok(got, "C's show evpn mac vni %d lists A's and B's guests behind their VTEPs" % VNI)
    if not got:
        tap.diag(f.frr['C'].vtysh('show evpn mac vni %d' % VNI))
        tap.diag(f.frr['C'].vtysh('show bgp l2vpn evpn summary'))
        tap.diag(str(f.vn['A'].ctl_json('net', 'show', 'ov').get('evpn')))
    got = wait_until(lambda: f.vteps('A').get(mac_of('gc')) == VTEP['C'] and
                     f.vteps('A').get(mac_of('gb')) == VTEP['B'], 20)
    tap.ok(got, "A's vtep show: C's guest behind 10.0.0.3, B's behind 10.0.0.2")
    if not got:
        tap.diag(str(f.vteps('A')))
    src = {e['mac']: e.get('source') for e in f.vn['A'].ctl_json('vtep', 'show', 'ov')}
    tap.eq(src.get(mac_of('gc')), 'evpn', "... with source evpn (from BGP)")
    rem = {r['ip'] for r in f.vn['A'].ctl_json('net', 'show', 'ov')['remotes'] if r['flood']}
    tap.eq(rem, {VTEP['B'], VTEP['C']}, "A's flooding remotes come from BGP (type-3)")
    for a, b in (('ga', 'gb'), ('ga', 'gc'), ('gb', 'gc'), ('gc', 'gm')):
        tap.ok(ping_works(f.gns[a], ip_of(b), 15), 'ping %s -> %s' % (a, b))
    srv = f.gns['gc'].python('''
        import socket
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 5001)); s.listen(1); c, _ = s.accept()
        n = 0
        while True:
            d = c.recv(65536)
            if not d: break
            n += len(d); c.sendall(d)
        print(n)''')
    time.sleep(0.5)
    cli = f.gns['ga'].python('''
        import socket
        s = socket.create_connection(("%s", 5001), timeout=20)
        data = bytes(range(256)) * 2048
        s.sendall(data); s.shutdown(socket.SHUT_WR)
        back = b""
        while True:
            d = s.recv(65536)
            if not d: break
            back += d
        print("ok" if back == data else "bad %%d" %% len(back))''' % ip_of('gc'))
    out, _ = cli.communicate(timeout=60)
    srv.communicate(timeout=10)
    tap.eq(out.strip(), 'ok', 'TCP A -> C: 512 KiB echoed intact')
    st = f.vn['A'].ctl_json('net', 'show', 'ov')
    tap.eq(st.get('control'), 'evpn', "net show: control evpn")
    ev = st.get('evpn') or {}
    tap.eq(ev.get('netns'), f.fns['A'].name, "net show: FRR's namespace found from the VTEP holder")
    tap.ok({'vnb100', 'vnx100', 'vnm100', 'vnp100'} <= f.devices('A'),
           'the kernel mirror (bridge, vxlan, mirror port and its peer) is in that namespace')
    d = f.fns['A'].run('bridge', 'fdb', 'show', 'dev', 'vnm100').stdout
    tap.ok(mac_of('ga') in d and 'static' in d, 'local MACs are static entries on the mirror port')
    st = f.fns['A'].ip('-s', '-j', 'link', 'show', 'vnx100').stdout
    import json
    s64 = json.loads(st)[0]['stats64']
    tap.eq((s64['rx']['packets'], s64['tx']['packets']), (0, 0),
           "no frame went through the kernel's vxlan device (vnicd terminates the tunnel)")


def test_port_vni(tap, f):
    """Ports of A and B put in VNI 300 (port set --vni): their own EVPN VNI, no --remote."""
    ns = {}
    for h, ip, mac in (('A', '192.168.71.1', '02:00:00:00:71:01'),
                       ('B', '192.168.71.2', '02:00:00:00:71:02')):
        n = ns[h] = Netns('egv' + h.lower())
        f.gns['gv' + h] = n
        f.vn[h].ctl('port', 'add', 'gv', 'tap', '--ifname', 'gif', '--netns', n.name, '--net',
                    'ov', '--vni', 300)
        n.ip('link', 'set', 'gif', 'address', mac)
        n.ip('addr', 'add', ip + '/24', 'dev', 'gif')
        n.ip('link', 'set', 'gif', 'mtu', GUEST_MTU, 'up')
    tap.ok(wait_until(lambda: {'vnb300', 'vnx300', 'vnm300'} <= f.devices('A'), 5),
           "VNI 300's kernel mirror is made on A when a port joins it")
    tap.ok(ping_works(ns['A'], '192.168.71.2', 20), 'ping A -> B in VNI 300 (EVPN)')
    got = wait_until(lambda: f.frr['A'].evpn_macs(300).get('02:00:00:00:71:02') == VTEP['B'],
                     10)
    tap.ok(got, "A's FRR has B's VNI 300 guest behind B")
    tap.ok('02:00:00:00:71:02' not in f.frr['C'].evpn_macs(VNI), "... and C's VNI 100 has not")
    tap.ok(no_ping(ns['A'], ip_of('gc'), 2), 'VNI 300 does not reach VNI 100')
    for h in ('A', 'B'):
        f.vn[h].ctl('port', 'del', 'gv')
    tap.ok(wait_until(lambda: not ({'vnb300', 'vnx300'} & f.devices('A')), 5),
           "... and removed when its last port leaves")


def test_withdraw(tap, f):
    f.vn['A'].ctl('port', 'del', 'ga')
    t0 = time.monotonic()
    gone = wait_until(lambda: mac_of('ga') not in f.frr['C'].evpn_macs(VNI), 10)
    tap.ok(gone, "port del on A withdraws its MAC on C (%.1f s)" % (time.monotonic() - t0))
    f.gns['ga'].close()
    del f.gns['ga']


def test_move(tap, f):
    # the guest goes quiet on A (as a migrated guest's source does) and speaks on B
    f.gns['gm'].ip('link', 'set', 'gif', 'down')
    ns = Netns('egm2')
    f.add_guest('gm', host='B', ns=ns)
    f.gns['gm_old'], f.gns['gm'] = f.gns['gm'], ns
    announce(f, 'gm')
    got = wait_until(lambda: f.frr['C'].evpn_macs(VNI).get(mac_of('gm')) == VTEP['B'], 20)
    tap.ok(got, "C's entry for the moved MAC points to B")
    if not got:
        tap.diag(f.frr['C'].vtysh('show evpn mac vni %d' % VNI))
    e = f.frr['C'].vtysh_json('show evpn mac vni %d json' % VNI).get('macs', {}).get(
        mac_of('gm'), {})
    tap.ok(e.get('remoteSequence', 0) >= 1 and not e.get('isDuplicate'),
           'the move was advertised with a higher MAC mobility sequence number (%s), not a '
           'duplicate' % e.get('remoteSequence'))
    got = wait_until(lambda: f.vteps('A').get(mac_of('gm')) == VTEP['B'], 20)
    tap.ok(got, 'A forwards the moved MAC to B (its local entry is gone)')
    if not got:
        tap.diag(str(f.vteps('A')))
        tap.diag(str(f.vn['A'].ctl_json('net', 'show', 'ov').get('evpn')))
    tap.ok(ping_works(f.gns['gc'], ip_of('gm'), 15), 'ping C -> moved guest')
    tap.ok(ping_works(f.gns['gb'], ip_of('gc'), 10), 'ping B -> C still works')


def test_restart_vnicd(tap, f):
    vn = f.vn['A']
    ns = Netns('ega2')
    f.add_guest('gz')
    announce(f, 'gz')
    tap.ok(wait_until(lambda: f.frr['C'].evpn_macs(VNI).get(mac_of('gz')) == VTEP['A'], 15),
           "C sees A's guest gz before the restart")
    vn.kill9()
    f.gns.pop('gz').close()   # its port cannot come back: its MAC is not learned again
    b_group = af_packet_fanout_id(f.vn['B'].pid, f.up['B'])
    for _ in range(8):   # a new pid: its af_packet fanout group must not be B's (vnlib)
        vn.start()
        vn.wait_ready()
        if af_packet_fanout_id(vn.pid, f.up['A']) != b_group:
            break
        vn.kill9()
    f.add_guest('ga', ns=ns) if 'ga' not in vn.ctl('port', 'list').stdout else None
    f.gns['ga'] = ns
    announce(f, 'ga')
    got = wait_until(lambda: f.vteps('A').get(mac_of('gc')) == VTEP['C'], 20)
    tap.ok(got, "after kill -9 and restart, A's VTEP table has C's guest again")
    tap.ok(ping_works(f.gns['ga'], ip_of('gc'), 20), 'ping A -> C resumes')
    got = wait_until(lambda: f.frr['C'].evpn_macs(VNI).get(mac_of('ga')) == VTEP['A'], 20)
    tap.ok(got, "C sees A's guest again")
    t0 = time.monotonic()
    gone = wait_until(lambda: mac_of('gz') not in f.frr['C'].evpn_macs(VNI), 20)
    tap.ok(gone, 'no stale MAC: the guest gone during the restart is withdrawn after the '
           'restart grace (%.1f s after the checks above)' % (time.monotonic() - t0))
    tap.ok(f.frr['C'].evpn_macs(VNI).get(mac_of('ga')) == VTEP['A'],
           "... while A's live guest stays advertised")


def test_restart_frr(tap, f):
    f.frr['A'].stop()
    f.frr['A'].start()
    got = wait_until(lambda: len(f.frr['A'].established()) == 1, 40)
    tap.ok(got, "FRR on A restarted: its session to the reflector established again")
    announce(f, 'ga')
    got = wait_until(lambda: f.vteps('A').get(mac_of('gc')) == VTEP['C'], 30)
    tap.ok(got, "A's VTEP table has C's guest again after FRR's restart")
    got = wait_until(lambda: f.frr['C'].evpn_macs(VNI).get(mac_of('ga')) == VTEP['A'], 30)
    tap.ok(got, "C sees A's guest again after FRR's restart")
    tap.ok(ping_works(f.gns['ga'], ip_of('gc'), 20), 'ping A -> C after FRR restart')


def test_bad_input(tap, f):
    vn = f.vn['B']
    bare = Netns('ebare')   # no FRR in it
    try:
        before = set(bare.links())
        r = vn.ctl('net', 'add', 'ov2', 'overlay', '--type', 'vxlan', '--vni', 200, '--local',
                   VTEP['B'], '--underlay', 'ul', '--control', 'evpn', '--evpn-netns',
                   bare.name, check=False)
        tap.ok(r.returncode != 0 and 'zebra' in r.stderr, 'no FRR in the namespace: refused (%s)'
               % r.stderr.strip())
        tap.eq(set(bare.links()), before, '... and nothing made there')
        r = vn.ctl('net', 'add', 'ov2', 'overlay', '--type', 'vxlan', '--vni', 200, '--local',
                   VTEP['B'], '--underlay', 'ul', '--control', 'evpn', '--evpn-netns',
                   'no-such-ns-' + uniq('x'), check=False)
        tap.ok(r.returncode != 0 and 'does not exist' in r.stderr,
               'a missing namespace: refused (%s)' % r.stderr.strip())
        f.fns['B'].ip('link', 'add', 'other300', 'type', 'vxlan', 'id', 300, 'dstport', 4790,
                      'local', VTEP['B'])
        before = f.devices('B')
        r = vn.ctl('net', 'add', 'ov3', 'overlay', '--type', 'vxlan', '--vni', 300, '--local',
                   VTEP['B'], '--underlay', 'ul', '--control', 'evpn', check=False)
        tap.ok(r.returncode != 0 and 'other300' in r.stderr,
               'a VNI in use by another device: refused (%s)' % r.stderr.strip())
        tap.eq(f.devices('B'), before, '... and nothing made')
        tap.ok('ov3' not in vn.ctl('net', 'list').stdout, '... and no network ov3')
        r = vn.ctl('net', 'add', 'ov4', 'overlay', '--type', 'geneve', '--vni', 400, '--local',
                   VTEP['B'], '--underlay', 'ul', '--control', 'evpn', check=False)
        tap.ok(r.returncode != 0 and 'vxlan' in r.stderr, 'geneve with EVPN: refused')
        r = vn.ctl('net', 'add', 'ov4', 'overlay', '--type', 'vxlan', '--vni', 400, '--local',
                   VTEP['B'], '--underlay', 'ul', '--control', 'evpn', '--remote', VTEP['A'],
                   check=False)
        tap.ok(r.returncode != 0 and '--remote' in r.stderr, '--remote with EVPN: refused')
        r = vn.ctl('net', 'set', 'ov', '--remote', VTEP['A'], check=False)
        tap.ok(r.returncode != 0, 'net set --remote on an EVPN overlay: refused')
        r = vn.ctl('net', 'add', 'ov4', 'overlay', '--type', 'vxlan', '--vni', 400, '--local',
                   VTEP['B'], '--underlay', 'ul', '--control', 'bgp', check=False)
        tap.ok(r.returncode != 0 and 'evpn or static' in r.stderr, 'an unknown --control: refused')
    finally:
        bare.close()


def test_net_del(tap, f):
    f.vn['B'].ctl('net', 'set', 'ov', '--control', 'static')
    gone = wait_until(lambda: not ({'vnb100', 'vnx100', 'vnm100'} & f.devices('B')), 5)
    tap.ok(gone, "net set --control static on B removes its kernel mirror")
    gone = wait_until(lambda: mac_of('gb') not in f.frr['C'].evpn_macs(VNI), 10)
    tap.ok(gone, "... and C no longer has B's guest")


def main():
    tap = Tap()
    nl.require(tap, ['ping', 'bridge', 'vtysh'], testpmd=False)
    if not frrlib.available():
        if nl.vnlib.in_ci():
            tap.bail('CI=true and FRR (zebra, bgpd, vtysh) missing')
        tap.skip_all('FRR is not installed')
    f = None
    with Step(tap, 'set-up: underlay, two vnicd hosts, a Linux EVPN host, FRR on each') as st:
        f = Fabric()
        for h in ('A', 'B'):
            f.add_overlay(h)
        for g in ('ga', 'gb', 'gc', 'gm'):
            f.add_guest(g)
        ok = wait_until(lambda: len(f.frr['C'].established()) == 2 and
                        all(len(f.frr[h].established()) == 1 for h in 'AB'), 60)
        tap.ok(ok, 'BGP EVPN sessions established from A and B to C (route reflector), '
               'through vnicd')
        if not ok:
            for h in HOSTS:
                tap.diag(f.frr[h].vtysh('show bgp l2vpn evpn summary'))
    if st.ok:
        try:
            for name, fn in (('interop', test_interop), ('port-vni', test_port_vni),
                             ('withdraw', test_withdraw),
                             ('move', test_move), ('restart vnicd', test_restart_vnicd),
                             ('restart FRR', test_restart_frr), ('bad input', test_bad_input),
                             ('control static', test_net_del)):
                with Step(tap, name):
                    fn(tap, f)
            for h, vn in sorted(f.vn.items()):
                tap.ok(vn.alive(), 'host %s: vnicd still runs' % h)
                if tap.failed:
                    tap.diag('host %s: vnicd log tail:\n%s' % (h, vn.log()[-3000:]))
        finally:
            f.close()
    elif f:
        f.close()
    tap.done()


if __name__ == '__main__':
    main()
