#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A testpmd guest with exact counts through a tunnel (issue 12): two vnicd hosts on one veth underlay, VXLAN, Geneve and NVGRE.
"""Usage: test_overlay_testpmd.py [--types vxlan,geneve,nvgre]

Two vnicd instances (hosts 1 and 2, own prefix/socket/state dir, metrics off) are joined by
one veth pair: each host's bridge network `ul` has an af_packet uplink on one end (IPv6 off,
up). For each encapsulation both hosts get an overlay `ov` (VNI 100, --local 10.0.0.N,
--remote 10.0.0.M) and a testpmd guest (net_virtio_user, server=1) on a vhost port `gN` of
it, with distinct MACs; static VTEP entries point each guest's MAC at its host, so unicast
is never flooded. Once both hosts show remotes[0].state "resolved":

  g1 -> g2   g1 sends exactly 320 x 64 B and 320 x 1400 B to g2's MAC; g2 (rxonly) receives
             exactly 640 frames and their bytes, no more
  g2 -> g1   the same the other way; g2's count did not move, g1 got nothing else
  counters   host 1's remote sent >= 640, host 2's remote received >= 640 (and the mirror);
             each guest port: tx_tunnel_packets (came from the tunnel) = tx_packets = 640 =
             what its testpmd received, rx_tunnel_packets (went to the tunnel) = 640 = what
             it sent, no drops
  drops      every tunnel_drops reason of both overlays is 0 (`unresolved` aside)

Then the guests, ports and overlays go; at the end the underlays go, both vnicds still run
and exit 0 on SIGTERM, and the veth pair is removed.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netnslib as nl  # noqa: E402
from netnslib import run, uniq  # noqa: E402
import ovlib  # noqa: E402
from ovlib import Step  # noqa: E402
from vnlib import Tap, TestPmd, Vnicd, wait_for  # noqa: E402

HOSTS = (1, 2)
TYPES = ('vxlan', 'geneve', 'nvgre')
VNI = 100
MAC = {1: '02:00:00:00:7c:01', 2: '02:00:00:00:7c:02'}
# testpmd's forwarding lcore (the one that spins while a port forwards): g1 on CPU 0, g2 on
# CPU 1; the idle main lcore on the other one. vnicd's workers float and sleep when idle.
LCORES = {1: '0@1,1@0', 2: '0@0,1@1'}
SIZES = (64, 1400)
PER_SIZE = 320
FRAMES = PER_SIZE * len(SIZES)
BYTES = PER_SIZE * sum(SIZES)


def vtep(i):
    return '10.0.0.%d' % i


def other(i):
    return 3 - i


def names(vn, what):
    """The names of @what ('net' or 'port') in `vnicctl WHAT list --json`."""
    o = vn.ctl_json(what, 'list')
    if isinstance(o, dict):
        o = o.get(what + 's', o.get('networks', []))
    return sorted(e['name'] for e in o)


PORT_KEYS = ('rx_packets', 'tx_packets', 'rx_tunnel_packets', 'tx_tunnel_packets',
             'rx_local_packets', 'tx_local_packets', 'rx_external_packets',
             'tx_external_packets')


class Hosts:
    """The veth pair and the two vnicd hosts with their underlays."""

    def __init__(self):
        self.end = {i: uniq('tp%d' % i) for i in HOSTS}
        self.vn = {}
        self.g = {}
        for i in HOSTS:
            # two instances: the Prometheus endpoint's fixed port would be taken by the first
            self.vn[i] = Vnicd('ovtp%d' % i, config='[vnicd]\nmetrics_listen =\n')
        for i in HOSTS:
            self.vn[i].wait_ready()
        self._veth()
        for i in HOSTS:
            self.vn[i].ctl('net', 'add', 'ul', 'bridge', '--uplink',
                           'net_af_packet0,iface=%s' % self.end[i])

    def _veth(self):
        """The veth pair, with ifindexes chosen so that the two af_packet PMDs' fanout groups
        differ: DPDK 22.11 takes (getpid() ^ ifindex) & 0xffff as the PACKET_FANOUT group id,
        and two vnicds started one after the other on the two ends of a fresh veth pair
        (consecutive pids, consecutive ifindexes) often get the same one; the second then
        fails with EINVAL (a fanout group is bound to one device)."""
        for i in HOSTS:
            run(['ip', 'link', 'del', self.end[i]], check=False)
        clash = (self.vn[1].pid ^ self.vn[2].pid) & 0xffff
        used = {int(open('/sys/class/net/%s/ifindex' % n).read()) for n in os.listdir(
            '/sys/class/net') if os.path.exists('/sys/class/net/%s/ifindex' % n)}
        i1 = max(used | {1000}) + 1
        i2 = next(x for x in range(i1 + 1, i1 + 8) if x not in used and (i1 ^ x) != clash)
        run(['ip', 'link', 'add', self.end[1], 'index', i1, 'type', 'veth', 'peer', 'name',
             self.end[2], 'index', i2])
        nl.delete_link_at_exit(self.end[1])
        for i in HOSTS:
            run(['sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % self.end[i]])
            run(['ip', 'link', 'set', self.end[i], 'up'])

    def add_overlays(self, typ):
        for i in HOSTS:
            self.vn[i].ctl('net', 'add', 'ov', 'overlay', '--type', typ, '--vni', VNI,
                           '--local', vtep(i), '--underlay', 'ul', '--remote', vtep(other(i)))

    def add_guests(self, tap, L):
        for i in HOSTS:
            vn = self.vn[i]
            sock = vn.path('g%d.sock' % i)
            self.g[i] = TestPmd('ovtp%d' % i, ['net_virtio_user0,path=%s,queues=1,queue_size=1024,'
                                               'mac=%s,server=1' % (sock, MAC[i])],
                                lcores=LCORES[i], extra=['--rxd=1024', '--txd=1024'], wait=False)
            vn.ctl('port', 'add', 'g%d' % i, 'vhost', '--path', sock, '--mac', MAC[i], '--net',
                   'ov')
            self.g[i].wait_started()
        for i in HOSTS:
            vn = self.vn[i]
            tap.ok(wait_for(lambda: vn.ctl_json('port', 'show', 'g%d' % i)['link'] == 'up'),
                   '%s host %d: vhost port g%d up' % (L, i, i))
            self.g[i].wait_link_up(0)
            tap.eq(self.g[i].mac(0), MAC[i], '%s host %d: testpmd guest has MAC %s'
                   % (L, i, MAC[i]))

    def show(self, i):
        return self.vn[i].ctl_json('net', 'show', 'ov')

    def port(self, i):
        st = self.vn[i].ctl_json('port', 'show', 'g%d' % i)
        return {k: ovlib.find_key(st, k) for k in PORT_KEYS + ('drops_total',)}, st

    def del_guests(self):
        for i in HOSTS:
            g = self.g.pop(i, None)
            if g is not None:
                g.close()
            self.vn[i].ctl('port', 'del', 'g%d' % i, check=False)

    def del_overlays(self):
        self.del_guests()
        for i in HOSTS:
            self.vn[i].ctl('net', 'del', 'ov', check=False)

    def close(self):
        for g in self.g.values():
            g.close()
        for vn in self.vn.values():
            vn.close()
        run(['ip', 'link', 'del', self.end[1]], check=False)


def direction(tap, h, L, src, dst):
    """@src sends PER_SIZE frames of each size to @dst's MAC; @dst receives in rxonly.
    Returns what @dst's testpmd counted (relative to the last clear_stats())."""
    gs, gd = h.g[src], h.g[dst]
    gd.start_fwd('rxonly')
    sent = 0
    for size in SIZES:
        sent += gs.send(0, PER_SIZE // 32, 32, pkt_len=size, dst=MAC[dst])[0]
    tap.eq(sent, FRAMES, '%s g%d sent exactly %d frames (%d x %s B)'
           % (L, src, FRAMES, PER_SIZE, ' + '.join(map(str, SIZES))))
    wait_for(lambda: gd.port_stats(0)['rx_packets'] >= FRAMES, 10, 0.2)
    time.sleep(0.5)   # anything beyond the exact count would show up now
    gd.stop_fwd()
    return gd.port_stats(0)


def run_type(tap, h, typ):
    L = '[%s]' % typ
    h.add_overlays(typ)
    h.add_guests(tap, L)
    ok = wait_for(lambda: all(h.show(i)['remotes'][0]['state'] == 'resolved' for i in HOSTS),
                  20, 0.25)
    tap.ok(ok, '%s both hosts resolved their remote VTEP: %s' % (L, {i: (
        h.show(i)['remotes'][0]['ip'], h.show(i)['remotes'][0]['state'],
        h.show(i)['remotes'][0]['mac']) for i in HOSTS}))
    if not ok:
        return
    for i in HOSTS:
        j = other(i)
        h.vn[i].ctl('vtep', 'add', 'ov', MAC[j], vtep(j))
        vt = {e['mac']: (e['remote'], e['static']) for e in h.vn[i].ctl_json('vtep', 'show', 'ov')
              if e['net'] == 'ov'}
        tap.eq(vt.get(MAC[j]), (vtep(j), True), '%s host %d: static VTEP entry %s -> %s'
               % (L, i, MAC[j], vtep(j)))
    rem0 = {i: h.show(i)['remotes'][0] for i in HOSTS}
    port0 = {i: h.port(i)[0] for i in HOSTS}
    for i in HOSTS:
        h.g[i].clear_stats()

    # g1 -> g2, then g2 -> g1
    r2 = direction(tap, h, L, 1, 2)
    tap.eq((r2['rx_packets'], r2['rx_bytes']), (FRAMES, BYTES),
           '%s g1 -> g2: g2 received exactly %d frames, %d bytes' % (L, FRAMES, BYTES))
    r1 = direction(tap, h, L, 2, 1)
    tap.eq((r1['rx_packets'], r1['rx_bytes']), (FRAMES, BYTES),
           '%s g2 -> g1: g1 received exactly %d frames, %d bytes' % (L, FRAMES, BYTES))
    st = {i: h.g[i].port_stats(0) for i in HOSTS}
    tap.eq({i: (st[i]['rx_packets'], st[i]['tx_packets']) for i in HOSTS},
           {i: (FRAMES, FRAMES) for i in HOSTS},
           '%s afterwards each guest sent and received exactly %d frames, nothing else'
           % (L, FRAMES))

    # the remotes' counters: what went into and came out of the tunnel
    rem1 = {i: h.show(i)['remotes'][0] for i in HOSTS}
    d = {i: {k: rem1[i][k] - rem0[i][k] for k in ('tx_packets', 'rx_packets', 'tx_dropped')}
         for i in HOSTS}
    tap.ok(all(d[i]['tx_packets'] >= FRAMES and d[i]['rx_packets'] >= FRAMES for i in HOSTS),
           '%s each host\'s remote (%s / %s) sent and received >= %d frames: %s'
           % (L, rem1[1]['ip'], rem1[2]['ip'], FRAMES, d))
    tap.eq({i: d[i]['tx_dropped'] for i in HOSTS}, {1: 0, 2: 0},
           '%s no remote dropped a frame on transmit' % L)

    # the guest ports' counters: from and to the tunnel locality
    for i in HOSTS:
        p1, full = h.port(i)
        if None in p1.values():
            tap.ok(False, '%s host %d: port show g%d --json lacks %s' % (
                L, i, i, [k for k, v in p1.items() if v is None]))
            tap.diag(str(full)[:2000])
            continue
        dp = {k: p1[k] - port0[i][k] for k in PORT_KEYS + ('drops_total',)}
        want = {'rx_packets': FRAMES, 'tx_packets': FRAMES, 'rx_tunnel_packets': FRAMES,
                'tx_tunnel_packets': FRAMES, 'rx_local_packets': 0, 'tx_local_packets': 0,
                'rx_external_packets': 0, 'tx_external_packets': 0, 'drops_total': 0}
        tap.eq(dp, want, '%s host %d: port g%d got %d frames from the tunnel (tx_tunnel) and '
               'sent %d into it (rx_tunnel), none local/external, no drops'
               % (L, i, i, FRAMES, FRAMES))
        tap.eq((dp['tx_packets'], dp['rx_packets']), (st[i]['rx_packets'], st[i]['tx_packets']),
               '%s host %d: vnicd\'s tx/rx of g%d equal its testpmd\'s rx/tx' % (L, i, i))

    # tunnel drops: none, whatever the reason (`unresolved` aside)
    for i in HOSTS:
        td = h.show(i)['tunnel_drops']
        bad = {k: v for k, v in td.items() if v and k != 'unresolved'}
        tap.ok(td and not bad, '%s host %d: tunnel_drops all 0 except unresolved (%s): %s'
               % (L, i, td.get('unresolved'), bad or 'none'))


def main():
    tap = Tap()
    types = list(TYPES)
    if '--types' in sys.argv:
        types = sys.argv[sys.argv.index('--types') + 1].split(',')
    nl.require(tap, ['sysctl'], testpmd=True)
    t0 = time.monotonic()
    h = None
    with Step(tap, 'set-up of the veth underlay and the two hosts') as st:
        h = Hosts()
    if st.ok:
        try:
            for typ in types:
                with Step(tap, '[%s] guests through the tunnel' % typ):
                    run_type(tap, h, typ)
                with Step(tap, '[%s] removing guests, ports and overlay' % typ):
                    h.del_overlays()
                    for i in HOSTS:
                        tap.eq(([n for n in names(h.vn[i], 'port') if n == 'g%d' % i],
                                [n for n in names(h.vn[i], 'net') if n == 'ov']), ([], []),
                               '[%s] host %d: testpmd stopped, port g%d and overlay ov deleted'
                               % (typ, i, i))
            with Step(tap, 'removing the underlays'):
                for i in HOSTS:
                    h.vn[i].ctl('net', 'del', 'ul')
                    tap.eq((names(h.vn[i], 'net'), names(h.vn[i], 'port')), (['br0'], []),
                           'host %d: no networks but the default br0, no ports left' % i)
            for i, vn in sorted(h.vn.items()):
                tap.ok(vn.alive(), 'host %d: vnicd still runs' % i)
                if tap.failed:
                    tap.diag('host %d: vnicd log tail:\n%s' % (i, vn.log()[-2000:]))
                tap.eq(vn.stop(), 0, 'host %d: vnicd exits 0 on SIGTERM' % i)
        finally:
            h.close()
        tap.ok(run(['ip', 'link', 'show', h.end[1]], check=False).returncode != 0 and
               run(['ip', 'link', 'show', h.end[2]], check=False).returncode != 0,
               'the veth pair is gone')
    tap.diag('runtime %.1f s' % (time.monotonic() - t0))
    tap.done()


if __name__ == '__main__':
    main()
