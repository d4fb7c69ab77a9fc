#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Overlay networks against the Linux kernel's vxlan device: interop over IPv4/IPv6 underlays, the wire format (tshark), PMTU, bad input.
"""Usage: test_overlay.py [--reference] [--only interop4,wire,mtu,badinput,interop6,wire6]

vnicd's underlay is a bridge network whose af_packet uplink is a veth into the "kernel host"
namespace K (10.0.0.2/24 or fd00::2/64 on its end kv); vnicd owns --local 10.0.0.1 / fd00::1.
K has a kernel vxlan device vx0 (VNI 100, dstport 4789, nolearning, default offloads) with
192.168.50.2/24; the guest namespace G sits behind a vnicd tap port on the overlay network
with 192.168.50.1/24 and the guest MTU vnicd reports.

  interop4   ping both ways, iperf3 TCP both ways; net show: remote resolved, its counters
             moved, the kernel's inner MAC learned (vtep show)
  wire       tshark on kv: VNI 100, I flag, UDP 4789, outer checksum 0, the inner IPs; the
             outer source port per inner flow: stable, varies, in 49152-65535
  mtu        guest MTU 1500: ping -M do -s 1472 gets "frag needed" (mtu = guest MTU), the
             kernel then knows the path MTU, TCP (whose peer advertises MSS 1460) completes
             through PMTU discovery; tunnel_drops.too_big counts
  badinput   scapy from K: truncated VXLAN header, I flag unset, inner frame < 14 bytes, an
             outer IPv4 fragment, an unknown VNI: dropped and counted, not seen by the guest,
             vnicd alive; a well-formed frame (control) is delivered
  interop6   the same as interop4 over an IPv6 underlay (nodad addresses)
  wire6      over IPv6: VNI 100 and a non-zero, valid outer UDP checksum

--reference replaces vnicd by the kernel: namespace R holds the other veth end with the
--local address, a kernel vxlan device (srcport 49152 65535, MTU 1500) and a bridge with a
veth to G. Every check that does not read vnicd's own state runs the same, which shows the
kernel peer, the namespaces, the traffic generators and the tshark decoding are right.
"""

import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ovlib  # noqa: E402

ovlib.reexec_for_scapy()

import netnslib as nl  # noqa: E402
import vnlib  # noqa: E402
from netnslib import Netns, run, uniq  # noqa: E402
from ovlib import Step, ping_works  # noqa: E402
from vnlib import Tap, Vnicd, wait_for  # noqa: E402

VNI = 100
GIF = 'gif'
G_MAC = '02:00:00:00:50:01'          # the guest (tap port)
K_MAC = '02:00:00:00:50:02'          # the kernel host's vx0
G_IP, K_IP = '192.168.50.1', '192.168.50.2'
UNDERLAY = {False: ('10.0.0.1', '10.0.0.2', 24), True: ('fd00::1', 'fd00::2', 64)}
OVERHEAD = {False: 50, True: 70}     # VXLAN over IPv4 / IPv6
DROP_KEYS = ('truncated', 'outer_fragment', 'bad_checksum', 'bad_flags', 'bad_version',
             'bad_protocol', 'critical_option', 'oam', 'inner_short', 'ecn', 'unknown_vni',
             'too_big')


class Site:
    """Underlay veth (vnicd's uplink `up` <-> kv in the kernel host K), K's vx0, the guest
    namespace G; vnicd's networks ul<n> (bridge, uplink) and ov<n> (overlay), tap port g<n>."""

    def __init__(self, vn, v6, n, ref=False):
        self.vn, self.v6, self.n, self.ref = vn, v6, n, ref
        self.local, self.remote, plen = UNDERLAY[v6]
        self.ul, self.ov, self.port = 'ul%d' % n, 'ov%d' % n, 'g%d' % n
        self.k = Netns('k%d' % n, ipv6=v6)
        self.g = Netns('g%d' % n)
        self.up = uniq('u%d' % n)
        self.kv = 'kv'
        self.r = None
        run(['ip', 'link', 'del', self.up], check=False)
        run(['ip', 'link', 'add', self.up, 'type', 'veth', 'peer', 'name', self.kv, 'netns',
             self.k.name])
        nl.delete_link_at_exit(self.up)
        k = self.k
        nodad = ['nodad'] if v6 else []
        k.ip('addr', 'add', '%s/%d' % (self.remote, plen), 'dev', self.kv, *nodad)
        k.ip('link', 'set', self.kv, 'up')
        k.ip('link', 'add', 'vx0', 'type', 'vxlan', 'id', VNI, 'dstport', 4789, 'local',
             self.remote, 'remote', self.local, 'nolearning', 'dev', self.kv)
        k.ip('link', 'set', 'vx0', 'address', K_MAC)
        k.ip('addr', 'add', K_IP + '/24', 'dev', 'vx0')
        k.ip('link', 'set', 'vx0', 'up')
        self.kv_mac = k.link(self.kv)['address']
        if ref:
            self._reference(plen)
        else:
            self._vnicd()
        self.g.ip('addr', 'add', G_IP + '/24', 'dev', GIF)
        self.g.ip('link', 'set', GIF, 'mtu', self.guest_mtu, 'up')

    def _vnicd(self):
        vn = self.vn
        run(['sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % self.up])
        run(['ip', 'link', 'set', self.up, 'up'])
        vn.ctl('net', 'add', self.ul, 'bridge', '--uplink',
               'net_af_packet%d,iface=%s' % (self.n, self.up))
        vn.ctl('net', 'add', self.ov, 'overlay', '--type', 'vxlan', '--vni', VNI, '--local',
               self.local, '--underlay', self.ul, '--remote', self.remote)
        sh = self.show()
        self.guest_mtu = sh['guest_mtu']
        self.vtep_mac = sh['vtep_mac']
        vn.ctl('port', 'add', self.port, 'tap', '--ifname', GIF, '--netns', self.g.name,
               '--mac', G_MAC, '--net', self.ov)
        if not wait_for(lambda: vn.ctl_json('port', 'show', self.port)['link'] == 'up', 10):
            raise RuntimeError('tap port %s: link not up' % self.port)

    def _reference(self, plen):
        """The kernel in vnicd's place: R holds `up` with the --local address, vx0 (no lower
        device, so that it may have MTU 1500 and answer too-big frames with ICMP as a bridge
        port does), bridge br0 {vx0, veth to G}."""
        self.r = r = Netns('r%d' % self.n, ipv6=self.v6)
        run(['ip', 'link', 'set', self.up, 'netns', r.name])
        nodad = ['nodad'] if self.v6 else []
        r.ip('addr', 'add', '%s/%d' % (self.local, plen), 'dev', self.up, *nodad)
        r.ip('link', 'set', self.up, 'up')
        r.ip('link', 'add', 'vx0', 'type', 'vxlan', 'id', VNI, 'dstport', 4789, 'local',
             self.local, 'remote', self.remote, 'nolearning', 'srcport', 49152, 65535,
             *([] if self.v6 else ['noudpcsum']))
        r.ip('link', 'set', 'vx0', 'mtu', 1500)
        r.ip('link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0')
        r.ip('link', 'add', 'gp', 'type', 'veth', 'peer', 'name', GIF, 'netns', self.g.name)
        for d in ('vx0', 'gp'):
            r.ip('link', 'set', d, 'master', 'br0', 'up')
        r.ip('link', 'set', 'br0', 'up')
        self.g.ip('link', 'set', GIF, 'address', G_MAC)
        self.guest_mtu = 1500 - OVERHEAD[self.v6]
        self.vtep_mac = r.link(self.up)['address']

    def show(self):
        return None if self.ref else self.vn.ctl_json('net', 'show', self.ov)

    def drops(self):
        sh = self.show()
        return sh['tunnel_drops'] if sh else None

    def close(self):
        if not self.ref:
            self.vn.ctl('port', 'del', self.port, check=False)
            self.vn.ctl('net', 'del', self.ov, check=False)
            self.vn.ctl('net', 'del', self.ul, check=False)
        for ns in (self.g, self.r, self.k):
            if ns:
                ns.close()
        run(['ip', 'link', 'del', self.up], check=False)


def lbl(s):
    return '[%s%s]' % ('IPv6' if s.v6 else 'IPv4', ' reference' if s.ref else '')


def test_interop(tap, s):
    L = lbl(s)
    if not s.ref:
        sh = s.show()
        want = {'encap': 'vxlan', 'vni': VNI, 'local': s.local, 'underlay': s.ul,
                'dstport': 4789, 'mtu': 1500, 'guest_mtu': 1500 - OVERHEAD[s.v6]}
        tap.eq({k: sh.get(k) for k in want}, want, '%s net show --json: %s' % (L, want))
        tap.ok(set(DROP_KEYS) <= set(sh.get('tunnel_drops', {})),
               '%s net show --json: tunnel_drops has every counter' % L)
    tap.ok(ping_works(s.g, K_IP, 15), '%s interop: the guest pings the kernel host\'s vxlan '
           'address' % L)
    tap.ok(ping_works(s.k, G_IP, 5), '%s interop: the kernel host pings the guest' % L)
    ip3 = nl.Iperf3(s.k)
    for reverse in (False, True):
        d = 'kernel -> guest' if reverse else 'guest -> kernel'
        try:
            r = ip3.run(s.g, K_IP, seconds=3, reverse=reverse, timeout=20)
            got = r['end']['sum_received']['bytes']
            # 10 MB in 3 s: far below what either direction does, far above the ~90 KB the
            # kernel's TSO frames of its vxlan device let through when dropped at the uplink
            tap.ok(got >= 10 << 20, '%s interop: iperf3 TCP %s: %d bytes (>= 10 MiB), %.0f '
                   'Mbit/s' % (L, d, got, r['end']['sum_received']['bits_per_second'] / 1e6))
        except (RuntimeError, KeyError, subprocess.TimeoutExpired) as e:
            tap.ok(False, '%s interop: iperf3 TCP %s: %s' % (L, d, str(e)[:300]))
    if s.ref:
        return
    up = s.vn.ctl_json('port', 'show', s.ul + '-uplink')
    tap.eq(up.get('veth_xdp'), {'attached': True, 'note': None},
           '%s port show %s-uplink: veth_xdp attached' % (L, s.ul))
    feat = s.k.run('ethtool', '-k', s.kv).stdout
    tap.ok(re.search(r'^tcp-segmentation-offload: off', feat, re.M),
           '%s the peer kv lost TSO while vnicd\'s XDP program is on its veth' % L)
    tap.eq(up['packet_sockets']['rx_bad_offload'], 0, '%s packet_sockets.rx_bad_offload 0' % L)
    sh = s.show()
    rem = [x for x in sh['remotes'] if x['ip'] == s.remote]
    tap.ok(len(rem) == 1, '%s net show: remote %s listed' % (L, s.remote))
    if rem:
        x = rem[0]
        tap.eq((x['mac'], x['static']), (s.kv_mac, True),
               '%s net show: remote %s resolved to the kernel host\'s MAC %s (static: from '
               '--remote)' % (L, s.remote, s.kv_mac))
        tap.ok(all(x[k] > 0 for k in ('rx_packets', 'rx_bytes', 'tx_packets', 'tx_bytes')),
               '%s net show: the remote\'s counters moved: %s' % (L, {
                   k: x[k] for k in ('rx_packets', 'rx_bytes', 'tx_packets', 'tx_bytes')}))
    vt = [e for e in s.vn.ctl_json('vtep', 'show', s.ov) if e['mac'] == K_MAC]
    tap.ok(len(vt) == 1 and vt[0]['remote'] == s.remote and not vt[0]['static'] and
           vt[0]['vni'] == VNI and vt[0]['net'] == s.ov,
           '%s vtep show: the kernel\'s inner MAC learned behind %s: %s' % (L, s.remote, vt))
    tap.ok(any(e['mac'] == K_MAC for e in sh['vteps']), '%s net show: vteps has it too' % L)


def capture_fields(cap, fields):
    """The guest's IPv4 packets in VXLAN (not its ARP, nor what the kernel's bridge in R
    sends by itself in --reference mode: IGMP/MLD reports)."""
    path = cap.stop()
    return ovlib.tshark_fields(path, 'vxlan && ip.src == %s' % G_IP, *fields)


def test_wire(tap, s):
    L = lbl(s)
    cap = nl.Capture(s.k, s.kv, filt='udp')     # -Q in: what vnicd sends to the kernel host
    ping_works(s.g, K_IP, 5)
    sports = [40001, 40002, 40003, 40004, 40005, 40006]
    ovlib.udp_flows(s.g, K_IP, sports, count=3)
    fields = ('vxlan.vni', 'vxlan.flags', 'udp.srcport', 'udp.dstport', 'ip.src', 'ip.dst',
              'udp.checksum', 'ipv6.src', 'ipv6.dst', 'udp.checksum.status')
    rows = capture_fields(cap, fields)
    tap.ok(len(rows) >= len(sports) * 3, '%s wire: %d VXLAN frames from the guest captured'
           % (L, len(rows)))
    if not rows:
        return
    tap.eq(sorted({r[0] for r in rows}), [str(VNI)], '%s wire: VNI %d' % (L, VNI))
    tap.eq(sorted({int(r[1], 16) >> 8 for r in rows}), [0x08], '%s wire: flags 0x08 (I only)'
           % L)
    tap.eq(sorted({r[3].split(',')[0] for r in rows}), ['4789'], '%s wire: UDP dst 4789' % L)
    if s.v6:
        tap.eq(sorted({(r[7], r[8]) for r in rows}), [(s.local, s.remote)],
               '%s wire: outer IPv6 %s -> %s' % (L, s.local, s.remote))
        inner = sorted({(r[4], r[5]) for r in rows})
        csum = sorted({int(r[6].split(',')[0], 16) != 0 for r in rows})
        tap.eq(csum, [True], '%s wire: outer UDP checksum not zero over IPv6' % L)
        if not s.ref:  # a kernel sender over veth leaves it to be finished (CHECKSUM_PARTIAL)
            st = sorted({r[9].split(',')[0] for r in rows})
            tap.eq(st, ['1'], '%s wire: outer UDP checksum correct (tshark status %s)' % (L, st))
    else:
        inner = sorted({tuple(x.split(',')[1] for x in (r[4], r[5])) for r in rows})
        tap.eq(sorted({tuple(x.split(',')[0] for x in (r[4], r[5])) for r in rows}),
               [(s.local, s.remote)], '%s wire: outer IPv4 %s -> %s' % (L, s.local, s.remote))
        tap.eq(sorted({int(r[6].split(',')[0], 16) for r in rows}), [0],
               '%s wire: outer UDP checksum 0 over IPv4' % L)
    tap.eq(inner, [(G_IP, K_IP)], '%s wire: inner IPv4 %s -> %s' % (L, G_IP, K_IP))
    by_flow = {}
    for r in rows:
        ports = r[2].split(',')
        if len(ports) == 2 and int(ports[1]) in sports:
            by_flow.setdefault(int(ports[1]), set()).add(int(ports[0]))
    tap.ok(len(by_flow) == len(sports) and all(len(v) == 1 for v in by_flow.values()),
           '%s wire: one outer source port per inner flow: %s' % (L, by_flow))
    outer = set().union(*by_flow.values()) if by_flow else set()
    tap.ok(len(outer) >= 2, '%s wire: the outer source port varies by flow (%d distinct for '
           '%d flows)' % (L, len(outer), len(sports)))
    tap.ok(outer and all(49152 <= p <= 65535 for p in outer),
           '%s wire: outer source ports in 49152-65535: %s' % (L, sorted(outer)))


def test_mtu(tap, s):
    L = lbl(s)
    gm = s.guest_mtu
    d0 = s.drops()
    s.g.ip('link', 'set', GIF, 'mtu', 1500)
    # the kernel host advertises MSS 1460 to the guest, so that the guest's TCP must learn
    # the path MTU from vnicd's ICMP (with MSS 1410 it would never send a too-big segment)
    s.k.ip('route', 'replace', '192.168.50.0/24', 'dev', 'vx0', 'advmss', 1460)
    try:
        cp = s.g.run('ping', '-M', 'do', '-s', 1472, '-c', 3, '-i', '0.3', '-W', 1, K_IP,
                     check=False)
        out = cp.stdout + cp.stderr
        tap.diag('ping -M do -s 1472: ' + ' | '.join(l for l in out.splitlines() if 'mtu' in
                                                      l.lower()))
        tap.ok(cp.returncode != 0 and re.search(r'mtu ?= ?%d\b' % gm, out) and
               ('Frag needed' in out or 'message too long' in out),
               '%s mtu: ping -M do -s 1472 gets "frag needed" with mtu = %d' % (L, gm))
        rt = s.g.run('ip', 'route', 'get', K_IP).stdout
        tap.ok(re.search(r'\bmtu %d\b' % gm, rt), '%s mtu: the guest kernel learned path MTU '
               '%d: %s' % (L, gm, ' '.join(rt.split())))
        tap.ok(pings(s.g, K_IP, '-M', 'do', '-s', gm - 28),
               '%s mtu: ping -M do -s %d (a full guest-MTU packet) goes through' % (L, gm - 28))
        if d0 is not None:
            d1 = s.drops()
            tap.ok(d1['too_big'] > d0['too_big'], '%s mtu: tunnel_drops.too_big %d -> %d'
                   % (L, d0['too_big'], d1['too_big']))
        # forget the learned MTU: TCP has to find it again by itself
        s.g.run('ip', 'route', 'flush', 'cache')
        rt = s.g.run('ip', 'route', 'get', K_IP).stdout
        tap.ok(not re.search(r'\bmtu \d+', rt), '%s mtu: path MTU forgotten' % L)
        d1 = s.drops()
        try:
            r = nl.Iperf3(s.k).run(s.g, K_IP, seconds=3, timeout=20)
            got = r['end']['sum_received']['bytes']
            tap.ok(got > 1 << 20, '%s mtu: TCP guest -> kernel with guest MTU 1500 completes '
                   'through PMTU discovery: %d bytes' % (L, got))
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            tap.ok(False, '%s mtu: TCP guest -> kernel with guest MTU 1500: %s' % (L, e))
        rt = s.g.run('ip', 'route', 'get', K_IP).stdout
        tap.ok(re.search(r'\bmtu %d\b' % gm, rt), '%s mtu: TCP learned path MTU %d again'
               % (L, gm))
        if d1 is not None:
            d2 = s.drops()
            tap.ok(d2['too_big'] > d1['too_big'], '%s mtu: too_big counted for the TCP '
                   'segments too (%d -> %d)' % (L, d1['too_big'], d2['too_big']))
    finally:
        s.g.ip('link', 'set', GIF, 'mtu', gm)
        s.g.run('ip', 'route', 'flush', 'cache', check=False)
        s.k.ip('route', 'replace', '192.168.50.0/24', 'dev', 'vx0', 'proto', 'kernel', 'scope',
               'link', 'src', K_IP, check=False)


def pings(ns, addr, *extra):
    return ovlib.pings(ns, addr, count=1, wait=2, extra=extra)


# scapy, run in the kernel host's namespace: one frame per case, to vnicd's VTEP MAC
_BAD = r'''
import sys
from scapy.all import Ether, IP, UDP, Raw, VXLAN, sendp, fragment
ifname, vtep_mac, src_ip, dst_ip, g_mac, k_mac, g_ip, k_ip, vni = sys.argv[1:10]
vni = int(vni)
outer = Ether(dst=vtep_mac) / IP(src=src_ip, dst=dst_ip)
def inner(tag):
    return (Ether(dst=g_mac, src=k_mac) / IP(src=k_ip, dst=g_ip) / UDP(sport=7, dport=9) /
            Raw(b'OVBAD-' + tag.encode() + bytes(20)))
def vx(flags, v):
    return bytes([flags, 0, 0, 0]) + v.to_bytes(3, 'big') + b'\0'
cases = {
    'truncated': outer / UDP(sport=50000, dport=4789) / Raw(vx(0x08, vni)[:5]),
    'bad_flags': outer / UDP(sport=50001, dport=4789) / Raw(vx(0x00, vni) + bytes(inner('noflag'))),
    'inner_short': outer / UDP(sport=50002, dport=4789) / Raw(vx(0x08, vni) + bytes(10)),
    'unknown_vni': outer / UDP(sport=50003, dport=4789) / Raw(vx(0x08, vni + 899) + bytes(inner('vni'))),
}
big = outer / UDP(sport=50004, dport=4789) / Raw(vx(0x08, vni) + bytes(inner('frag')) + bytes(400))
frags = fragment(big[IP], fragsize=128)
which = sys.argv[10]
if which == 'good':
    sendp(outer / UDP(sport=50005, dport=4789) / Raw(vx(0x08, vni) + bytes(inner('good'))),
          iface=ifname, verbose=0)
elif which == 'outer_fragment':
    sendp(Ether(dst=vtep_mac) / frags[0], iface=ifname, verbose=0)   # the first only
    sendp(Ether(dst=vtep_mac) / frags[-1], iface=ifname, verbose=0)  # and the last
else:
    sendp(cases[which], iface=ifname, verbose=0)
print('sent', which)
'''


def test_badinput(tap, s):
    L = lbl(s)
    if s.v6:
        return
    ping_works(s.k, G_IP, 5)   # the kernel host knows the VTEP's MAC; vnicd the remote's
    cap = nl.Capture(s.g, GIF, filt='udp')
    d0 = s.drops()
    cases = ('truncated', 'bad_flags', 'inner_short', 'unknown_vni', 'outer_fragment')
    for c in cases + ('good',):
        s.k.run(sys.executable, '-c', _BAD, s.kv, s.vtep_mac, s.remote, s.local, G_MAC, K_MAC,
                G_IP, K_IP, VNI, c)
        time.sleep(0.1)
    path = cap.stop()
    got = ovlib.tshark_fields(path, 'frame contains "OVBAD-"', 'udp.payload')
    tags = sorted({bytes.fromhex(r[0].replace(':', ''))[6:].rstrip(b'\0').decode('ascii', 'replace')
                   for r in got if r and r[0]})
    tap.eq(tags, ['good'], '%s badinput: the guest got only the well-formed frame of the '
           'batch: %s' % (L, tags))
    if s.ref:
        return
    tap.ok(s.vn.alive(), '%s badinput: vnicd still runs' % L)
    d1 = s.drops()
    for c in cases:
        tap.ok(d1[c] > d0[c], '%s badinput: tunnel_drops.%s %d -> %d' % (L, c, d0[c], d1[c]))
    tap.ok(ping_works(s.g, K_IP, 5), '%s badinput: the tunnel still works' % L)


def test_capture_acct(tap, s):
    """capture on the underlay's uplink: the encapsulated frames; on the guest's port: the
    inner ones. The guest's traffic to and from the remote counts as locality tunnel."""
    L = lbl(s)
    if s.ref:
        return
    vn = s.vn
    st0 = vn.ctl_json('port', 'show', s.port)
    caps = {}
    for port in ('%s-uplink' % s.ul, s.port):
        out = vn.path('cap-%s.pcapng' % port)
        caps[port] = (out, subprocess.Popen(
            [vnlib.vnicctl_bin(), '--socket', vn.sock, 'capture', port, '--out', out,
             '--duration', '3'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    time.sleep(0.5)
    ping_works(s.g, K_IP, 5)
    for port, (out, p) in caps.items():
        p.communicate(timeout=30)
        rows = ovlib.tshark_fields(out, 'icmp', 'vxlan.vni', 'ip.src')
        enc = [r for r in rows if r[0]]
        if port == s.port:
            tap.ok(rows and not enc, '%s capture on guest port %s: inner frames only (%d ICMP, '
                   '%d in VXLAN)' % (L, port, len(rows), len(enc)))
        else:
            tap.ok(enc and all(r[0] == str(VNI) for r in enc),
                   '%s capture on the underlay uplink %s: encapsulated frames (%d in VXLAN %s)'
                   % (L, port, len(enc), sorted({r[0] for r in enc})))
    st1 = vn.ctl_json('port', 'show', s.port)
    for k in ('rx_tunnel_packets', 'tx_tunnel_packets'):
        a, b = ovlib.find_key(st0, k), ovlib.find_key(st1, k)
        tap.ok(a is not None and b is not None and b > a,
               '%s accounting: %s of the guest port grew (%s -> %s)' % (L, k, a, b))


def test_restart(tap, s):
    """vnicd restarts: the overlay, its remote and the guest's port come back and carry
    traffic again."""
    L = lbl(s)
    if s.ref:
        return
    s.vn.restart()
    sh = s.show()
    tap.eq((sh['encap'], sh['vni'], [r['ip'] for r in sh['remotes']]),
           ('vxlan', VNI, [s.remote]), '%s restart: the overlay is restored' % L)
    tap.ok(any(p['name'] == '%s-vtep' % s.ul and p['kind'] == 'vtep'
               for p in s.vn.ctl_json('port', 'list')),
           '%s restart: the underlay has its VTEP port again' % L)
    wait_for(lambda: s.vn.ctl_json('port', 'show', s.port)['link'] == 'up', 10)
    tap.ok(ping_works(s.g, K_IP, 20), '%s restart: the guest pings the kernel host again' % L)


def udp_noports(ns):
    """The UDP NoPorts counter of namespace @ns (datagrams to a port nobody listens on)."""
    lines = [l.split() for l in ns.run('cat', '/proc/net/snmp').stdout.splitlines()
             if l.startswith('Udp:')]
    return int(lines[1][lines[0].index('NoPorts')])


def test_holder(tap, s):
    """The VTEP's address held by a namespace H behind a tap port of the underlay: H answers
    ARP for it with its MAC, vnicd uses that MAC as the VTEP's and terminates the tunnel
    traffic to it itself; everything else reaches H (its own tools: ping)."""
    L = lbl(s)
    if s.ref or s.v6:
        return
    vn = s.vn
    h = Netns('h%d' % s.n)
    try:
        vn.ctl('port', 'add', 'h0', 'tap', '--ifname', 'hif', '--netns', h.name, '--net', s.ul)
        wait_for(lambda: vn.ctl_json('port', 'show', 'h0')['link'] == 'up', 10)
        h.ip('addr', 'add', '%s/24' % s.local, 'dev', 'hif')
        h.ip('link', 'set', 'hif', 'up')
        h_mac = h.link('hif')['address']
        ok = wait_for(lambda: s.show().get('vtep_holder') == 'h0', 6)
        sh = s.show()
        tap.ok(ok and sh['vtep_mac'] == h_mac, '%s holder: vnicd found %s held behind port h0 '
               'and uses its MAC %s as the VTEP\'s (vtep_holder %s, vtep_mac %s)'
               % (L, s.local, h_mac, sh.get('vtep_holder'), sh.get('vtep_mac')))
        tap.ok(ping_works(h, s.remote, 10), '%s holder: the host behind h0 pings the kernel '
               'host with the VTEP address (its own tools use it)' % L)
        before = udp_noports(h)
        tap.ok(ping_works(s.g, K_IP, 15), '%s holder: the guest still reaches the kernel '
               'host\'s vxlan address through the tunnel' % L)
        ovlib.udp_flows(s.g, K_IP, [40011, 40012], count=5)
        tap.eq(udp_noports(h) - before, 0, '%s holder: no tunnel frame reached the host '
               'behind h0 (its UDP NoPorts did not grow)' % L)
        vn.ctl('port', 'del', 'h0')
        ok = wait_for(lambda: s.show().get('vtep_holder') is None, 6)
        tap.ok(ok and s.show()['vtep_mac'] != h_mac, '%s holder: h0 gone, vnicd answers for '
               '%s with its own MAC again' % (L, s.local))
        tap.ok(ping_works(s.g, K_IP, 15), '%s holder: and the tunnel works' % L)
    finally:
        vn.ctl('port', 'del', 'h0', check=False)
        h.close()


def test_gateway(tap, s):
    """An off-link remote VTEP (10.9.0.2 on the kernel host's loopback, one routed hop away):
    reached through --gateway, then through a route of vnicd's namespace out of the uplink's
    interface (libnl), without --gateway. Replaces the site's overlay: run it last."""
    L = lbl(s)
    if s.ref or s.v6:
        return
    vn, k, far = s.vn, s.k, '10.9.0.2'
    k.ip('addr', 'add', far + '/32', 'dev', 'lo')
    k.ip('link', 'add', 'vx9', 'type', 'vxlan', 'id', 109, 'dstport', 4789, 'local', far,
         'remote', s.local, 'nolearning')
    k.ip('addr', 'add', '192.168.59.2/24', 'dev', 'vx9')
    k.ip('link', 'set', 'vx9', 'up')
    vn.ctl('port', 'del', s.port)
    vn.ctl('net', 'del', s.ov)
    variants = ((['--local', s.local + '/24', '--gateway', s.remote], '--gateway'),
                (['--local', s.local], 'a kernel route'))
    for args, how in variants:
        if how == 'a kernel route':
            run(['ip', 'route', 'add', '10.9.0.0/24', 'via', s.remote, 'dev', s.up, 'onlink'])
        vn.ctl('net', 'add', s.ov, 'overlay', '--type', 'vxlan', '--vni', 109, *args,
               '--underlay', s.ul, '--remote', far)
        vn.ctl('port', 'add', s.port, 'tap', '--ifname', GIF, '--netns', s.g.name, '--mac',
               G_MAC, '--net', s.ov)
        wait_for(lambda: vn.ctl_json('port', 'show', s.port)['link'] == 'up', 10)
        s.g.ip('addr', 'add', '192.168.59.1/24', 'dev', GIF)
        s.g.ip('link', 'set', GIF, 'mtu', s.guest_mtu, 'up')
        tap.ok(ping_works(s.g, '192.168.59.2', 15), '%s gateway: the guest reaches a VTEP one '
               'routed hop away through %s' % (L, how))
        rem = s.show()['remotes'][0]
        tap.eq((rem['ip'], rem['mac'], rem['via_route']),
               (far, s.kv_mac, s.remote if how == 'a kernel route' else None),
               '%s gateway: net show: the remote\'s next hop is the gateway\'s MAC (%s)'
               % (L, how))
        vn.ctl('port', 'del', s.port)
        vn.ctl('net', 'del', s.ov)
    run(['ip', 'route', 'del', '10.9.0.0/24'], check=False)


_TAGGED = r"""
import sys
from scapy.all import Ether, Dot1Q, IP, ICMP, Raw, sendp
ifname, src, dst, sip, dip, vlan = sys.argv[1:7]
sendp(Ether(src=src, dst=dst) / Dot1Q(vlan=int(vlan)) / IP(src=sip, dst=dip) /
      ICMP(id=0x4242, seq=1) / Raw(b'OVTAG'), iface=ifname, count=3, inter=0.2, verbose=False)
"""


def test_vnimap(tap, s):
    """A trunk port with --vni-map 10:100 (and --vni 300 for its untagged frames): its frames
    tagged VLAN 10 travel in VNI 100 (untagged inside the tunnel) and VNI 100's frames reach
    it tagged VLAN 10. This kernel has no 8021q: scapy sends the tagged frames, tcpdump
    reads the tagged answers."""
    L = lbl(s)
    if s.ref or s.v6:
        return
    vn, t_mac, t_ip = s.vn, '02:00:00:00:50:07', '192.168.50.7'
    t = Netns('t%d' % s.n)
    try:
        vn.ctl('port', 'add', 't0', 'tap', '--ifname', 'tif', '--netns', t.name, '--mac',
               t_mac, '--net', s.ov, '--vni', 300, '--vni-map', '10:%d' % VNI)
        wait_for(lambda: vn.ctl_json('port', 'show', 't0')['link'] == 'up', 10)
        t.ip('link', 'set', 'tif', 'up')
        pol = vn.ctl_json('port', 'show', 't0')['policy']
        tap.eq((pol.get('vni'), pol.get('vni_map')), (300, '10:%d' % VNI),
               '%s vni-map: port show --json: policy.vni and policy.vni_map' % L)
        s.k.ip('neigh', 'replace', t_ip, 'lladdr', t_mac, 'dev', 'vx0')
        cap = nl.Capture(t, 'tif', filt='vlan 10 and icmp')
        t.run(sys.executable, '-c', _TAGGED, 'tif', t_mac, K_MAC, t_ip, K_IP, 10)
        rows = ovlib.tshark_fields(cap.stop(), 'icmp.type == 0 && icmp.ident == 0x4242',
                                   'vlan.id', 'ip.src', 'ip.dst')
        tap.ok(rows and all(r == ['10', K_IP, t_ip] for r in rows),
               '%s vni-map: echo requests sent tagged VLAN 10 reach the kernel host in VNI %d '
               'and its replies come back tagged VLAN 10: %s' % (L, VNI, rows[:3]))
        vt = {e['mac']: e['vni'] for e in vn.ctl_json('vtep', 'show', s.ov)}
        tap.eq(vt.get(K_MAC), VNI, '%s vni-map: the kernel host\'s MAC is in VNI %d' % (L, VNI))
        tap.ok(ping_works(s.g, K_IP, 5), '%s vni-map: the untagged guest still reaches the '
               'kernel host' % L)
    finally:
        vn.ctl('port', 'del', 't0', check=False)
        s.k.ip('neigh', 'del', t_ip, 'dev', 'vx0', check=False)
        t.close()


_GENEVE_BAD = r"""
import sys
from scapy.all import Ether, IP, UDP, Raw, sendp
ifname, dmac, src, dst, gmac, kmac, gip, kip, vni, case = sys.argv[1:11]
vni = int(vni)
inner = bytes(Ether(src=kmac, dst=gmac) / IP(src=kip, dst=gip) / UDP(sport=5, dport=9) /
              Raw(b'OVBAD-' + case.encode()))
v = vni.to_bytes(3, 'big')
hdr = {'version': bytes([0x40, 0x00, 0x65, 0x58]) + v + b'\0',          # version 1
       'critical': bytes([0x02, 0x40, 0x65, 0x58]) + v + b'\0' +          # C bit, 8 bytes of
                   bytes([0x01, 0x02, 0x80, 0x01, 0, 0, 0, 0]),           # a critical option
       'oam': bytes([0x00, 0x80, 0x65, 0x58]) + v + b'\0',                # O bit
       'good': bytes([0x02, 0x00, 0x65, 0x58]) + v + b'\0' +              # a non-critical
               bytes([0x01, 0x02, 0x00, 0x01, 0, 0, 0, 0])}[case]          # option, skipped
sendp(Ether(dst=dmac) / IP(src=src, dst=dst) / UDP(sport=50000, dport=6081, chksum=0) /
      Raw(hdr + inner), iface=ifname, verbose=False)
"""


def test_badgeneve(tap, s):
    """Geneve from the wire (the kernel here has no geneve device: scapy sends it): version
    1, an unknown critical option and the O bit are dropped and counted; a non-critical
    option is skipped and the frame delivered."""
    L = lbl(s)
    if s.ref or s.v6:
        return
    vn = s.vn
    vn.ctl('port', 'del', s.port)
    vn.ctl('net', 'add', 'ovg', 'overlay', '--type', 'geneve', '--vni', VNI, '--local', s.local,
           '--underlay', s.ul, '--remote', s.remote)
    try:
        vn.ctl('port', 'add', s.port, 'tap', '--ifname', GIF, '--netns', s.g.name, '--mac',
               G_MAC, '--net', 'ovg')
        wait_for(lambda: vn.ctl_json('port', 'show', s.port)['link'] == 'up', 10)
        s.g.ip('addr', 'add', G_IP + '/24', 'dev', GIF)
        s.g.ip('link', 'set', GIF, 'up')
        cap = nl.Capture(s.g, GIF, filt='udp')
        d0 = vn.ctl_json('net', 'show', 'ovg')['tunnel_drops']
        for c in ('version', 'critical', 'oam', 'good'):
            s.k.run(sys.executable, '-c', _GENEVE_BAD, s.kv, s.vtep_mac, s.remote, s.local,
                    G_MAC, K_MAC, G_IP, K_IP, VNI, c)
            time.sleep(0.1)
        got = ovlib.tshark_fields(cap.stop(), 'frame contains "OVBAD-"', 'udp.payload')
        tags = sorted({bytes.fromhex(r[0].replace(':', ''))[6:].decode('ascii', 'replace')
                       for r in got if r and r[0]})
        tap.eq(tags, ['good'], '%s geneve: the guest got only the frame with a non-critical '
               'option: %s' % (L, tags))
        d1 = vn.ctl_json('net', 'show', 'ovg')['tunnel_drops']
        for k in ('bad_version', 'critical_option', 'oam'):
            tap.ok(d1[k] > d0[k], '%s geneve: tunnel_drops.%s %d -> %d' % (L, k, d0[k], d1[k]))
    finally:
        vn.ctl('port', 'del', s.port, check=False)
        vn.ctl('net', 'del', 'ovg', check=False)
        vn.ctl('port', 'add', s.port, 'tap', '--ifname', GIF, '--netns', s.g.name, '--mac',
               G_MAC, '--net', s.ov, check=False)
        wait_for(lambda: vn.ctl_json('port', 'show', s.port)['link'] == 'up', 10)
        s.g.ip('addr', 'add', G_IP + '/24', 'dev', GIF, check=False)
        s.g.ip('link', 'set', GIF, 'mtu', s.guest_mtu, 'up')


def main():
    tap = Tap()
    ref = '--reference' in sys.argv
    only = None
    if '--only' in sys.argv:
        only = sys.argv[sys.argv.index('--only') + 1].split(',')
    nl.require(tap, ['iperf3', 'tcpdump', 'tshark', 'ping'], testpmd=not ref)
    try:
        import scapy.all  # noqa: F401
    except ImportError:
        if vnlib.in_ci():
            tap.bail('CI=true and python3-scapy is missing')
        tap.skip_all('python3-scapy missing')
    vn = None
    if not ref:
        vn = Vnicd('overlay', config='[vnicd]\nmetrics_listen =\n')
        vn.wait_ready()
    plan = [(False, (('interop4', test_interop), ('wire', test_wire), ('mtu', test_mtu),
                     ('badinput', test_badinput), ('badgeneve', test_badgeneve),
                     ('capture', test_capture_acct),
                     ('restart', test_restart), ('holder', test_holder),
                     ('vnimap', test_vnimap), ('gateway', test_gateway))),
            (True, (('interop6', test_interop), ('wire6', test_wire)))]
    for n, (v6, tests) in enumerate(plan):
        tests = [t for t in tests if only is None or t[0] in only]
        if not tests:
            continue
        s = None
        with Step(tap, '%s set-up' % ('IPv6' if v6 else 'IPv4')) as st:
            s = Site(vn, v6, n, ref)
        try:
            if not st.ok:
                continue
            for name, fn in tests:
                with Step(tap, '%s %s' % (lbl(s), name)):
                    fn(tap, s)
        finally:
            if s is None:   # the set-up failed half-way: remove what it made
                for tag in ('k%d' % n, 'g%d' % n, 'r%d' % n):
                    run(['ip', 'netns', 'del', uniq(tag)], check=False)
                run(['ip', 'link', 'del', uniq('u%d' % n)], check=False)
                if vn:
                    for x in ('port', 'g%d' % n), ('net', 'ov%d' % n), ('net', 'ul%d' % n):
                        vn.ctl(x[0], 'del', x[1], check=False)
            else:
                s.close()
    if vn:
        tap.ok(vn.alive(), 'vnicd still runs at the end')
        if not tap.failed:
            tap.eq(vn.stop(), 0, 'vnicd exits 0 on SIGTERM')
        else:
            tap.diag('vnicd log tail:\n' + vn.log()[-3000:])
            vn.close()
    tap.done()


if __name__ == '__main__':
    main()
