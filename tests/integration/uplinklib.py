# SPDX-License-Identifier: MIT
# uplinklib: an adjacent switch in a namespace, macvlan/tap guests and frame delivery matrices for the uplink tests.
"""Helpers for the uplink and macvtap integration tests, on top of vnlib and netnslib.

Adjacent      the physical network: a namespace holding a Linux bridge (the "adjacent
              switch", hairpin flag on its uplink port as asked) with an external host on
              it, and a veth whose other end, in vnicd's namespace, is the uplink.
RawPort       an AF_PACKET socket on an interface of a namespace, opened from this process
              (setns), sending and receiving tagged test frames.
run_matrix()  send a planned set of frames (unicast to each endpoint, broadcast, multicast,
              from each endpoint) and return who received which, as a dict.
kernel_guests() / vnicd_guests()   the same guests as kernel macvlan devices on the uplink
              or as vnicd tap ports of a macvtap network.
"""

import ctypes
import json
import os
import socket
import time

import netnslib
import vnlib
from netnslib import Netns, run, uniq

ETHERTYPE = 0x88b5
MAGIC = b'VN4T'
MCAST = '01:00:5e:00:00:fb'
BCAST = 'ff:ff:ff:ff:ff:ff'
UNKNOWN = '02:ee:00:00:00:77'  # nobody has it
GIF = 'gif'  # the guests' interface name in their namespaces

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000


def in_netns(ns, fn):
    """Call fn() with this thread in namespace @ns (a name from `ip netns`), then come back."""
    cur = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
    tgt = os.open('/var/run/netns/' + ns, os.O_RDONLY)
    try:
        if _libc.setns(tgt, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), 'setns into %s' % ns)
        try:
            return fn()
        finally:
            if _libc.setns(cur, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), 'setns back')
    finally:
        os.close(cur)
        os.close(tgt)


def mac_bytes(m):
    return bytes.fromhex(m.replace(':', ''))


class RawPort:
    """Test frames of EtherType 0x88b5 on @ifname of namespace @ns (None: vnicd's own)."""

    def __init__(self, ns, ifname, mac):
        self.ns, self.ifname, self.mac = ns, ifname, mac

        def mk():
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE))
            s.bind((ifname, 0))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            s.setblocking(False)
            return s
        self.s = in_netns(ns, mk) if ns else mk()

    def send(self, dst, tag, src=None):
        body = MAGIC + tag.encode()
        frame = (mac_bytes(dst) + mac_bytes(src or self.mac) + ETHERTYPE.to_bytes(2, 'big') +
                 body)
        self.s.send(frame + bytes(max(0, 60 - len(frame))))

    def drain(self):
        """Tags of the test frames received (not sent) since the last drain."""
        tags = []
        while True:
            try:
                data, addr = self.s.recvfrom(65535)
            except BlockingIOError:
                return tags
            if addr[2] == socket.PACKET_OUTGOING or data[14:18] != MAGIC:
                continue
            tags.append(data[18:].rstrip(b'\0').decode())

    def close(self):
        self.s.close()


class Adjacent:
    """The adjacent switch: bridge br0 in namespace *s, external host *x (interface x0, MAC
    @ext_mac) on it, and veth @up (vnicd's namespace) <-> its port @upp."""

    def __init__(self, tag, hairpin=False, ext_mac='02:ee:00:00:00:01'):
        self.tag = tag
        self.sw = Netns(tag + 's')
        self.ext = Netns(tag + 'x')
        self.up, self.upp = uniq(tag + 'u'), uniq(tag + 'p')
        self.ext_mac = ext_mac
        sw = self.sw
        sw.ip('link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'mcast_snooping', '0')
        sw.ip('link', 'set', 'br0', 'up')
        run(['ip', 'link', 'del', self.up], check=False)
        run(['ip', 'link', 'add', self.up, 'type', 'veth', 'peer', 'name', self.upp, 'netns',
             sw.name])
        netnslib.delete_link_at_exit(self.up)
        run(['sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % self.up])
        run(['ip', 'link', 'set', self.up, 'up'])
        sw.ip('link', 'set', self.upp, 'master', 'br0', 'up')
        sw.ip('link', 'add', 'x0p', 'type', 'veth', 'peer', 'name', 'x0', 'netns', self.ext.name)
        sw.ip('link', 'set', 'x0p', 'master', 'br0', 'up')
        self.ext.ip('link', 'set', 'x0', 'address', ext_mac, 'up')
        self.set_hairpin(hairpin)

    def set_hairpin(self, on):
        self.sw.run('bridge', 'link', 'set', 'dev', self.upp, 'hairpin', 'on' if on else 'off')

    def peer_link(self, up):
        """Carrier of the uplink: its peer (in the switch's namespace) up or down."""
        self.sw.ip('link', 'set', self.upp, 'up' if up else 'down')

    def uplink_link(self):
        out = run(['ip', '-j', '-d', 'link', 'show', self.up]).stdout
        return json.loads(out)[0]

    def close(self):
        self.ext.close()
        self.sw.close()  # takes the veths with it
        run(['ip', 'link', 'del', self.up], check=False)


def guest_mac(i):
    return '02:00:00:00:04:%02x' % i


def kernel_guests(adj, guests, mode, mac_first=True):
    """Kernel macvlan devices in @mode on the uplink, one per guest namespace (as GIF)."""
    for i, ns in enumerate(guests, 1):
        tmp = uniq('k%d' % i)
        run(['ip', 'link', 'add', 'link', adj.up, 'name', tmp, 'type', 'macvlan', 'mode', mode])
        run(['ip', 'link', 'set', tmp, 'address', guest_mac(i), 'netns', ns.name])
        ns.ip('link', 'set', tmp, 'name', GIF)
        ns.ip('link', 'set', GIF, 'allmulticast', 'on', 'up')


def del_guest_links(guests):
    for ns in guests:
        ns.ip('link', 'del', GIF, check=False)


def vnicd_guests(vn, net, guests):
    """vnicd tap ports of network @net, one per guest namespace (as GIF); wait for their link."""
    for i, ns in enumerate(guests, 1):
        vn.ctl('port', 'add', 'g%d' % i, 'tap', '--ifname', GIF, '--netns', ns.name, '--mac',
               guest_mac(i), '--net', net)
    for i, ns in enumerate(guests, 1):
        ok = vnlib.wait_for(lambda: vn.ctl_json('port', 'show', 'g%d' % i)['link'] == 'up', 10)
        if not ok:
            raise RuntimeError('tap port g%d: link not up' % i)
        ns.ip('link', 'set', GIF, 'allmulticast', 'on')


def del_vnicd_guests(vn, guests):
    for i in range(1, len(guests) + 1):
        vn.ctl('port', 'del', 'g%d' % i, check=False)


def teardown(vn, adj, guests, *nets):
    """Remove the guests' tap ports, networks @nets and the adjacent switch @adj (or None)."""
    del_vnicd_guests(vn, guests)
    for n in nets:
        vn.ctl('net', 'del', n, check=False)
    if adj:
        adj.close()


def endpoints(adj, guests):
    """RawPorts of every guest (g1, g2, ...) and of the external host (x)."""
    eps = {'g%d' % i: RawPort(ns.name, GIF, guest_mac(i)) for i, ns in enumerate(guests, 1)}
    eps['x'] = RawPort(adj.ext.name, 'x0', adj.ext_mac)
    return eps


def plan(eps):
    """(tag, sender, destination MAC): from every endpoint a unicast to every other one, one to
    a MAC nobody has, a broadcast and a multicast."""
    frames = []
    for s in sorted(eps):
        for d in sorted(eps):
            if d != s:
                frames.append(('%s>%s' % (s, d), s, eps[d].mac))
        frames.append(('%s>unknown' % s, s, UNKNOWN))
        frames.append(('%s>bcast' % s, s, BCAST))
        frames.append(('%s>mcast' % s, s, MCAST))
    return frames


def run_matrix(eps, frames=None, gap=0.03, settle=1.0):
    """Send @frames (default: plan()) one by one after a warm-up that lets the adjacent bridge
    learn every MAC; return {tag: 'r1,r2' (receivers, sorted, with xN for N copies)}."""
    frames = frames or plan(eps)
    for name in sorted(eps):  # warm-up: every MAC seen by the adjacent switch
        eps[name].send(BCAST, 'warmup')
    time.sleep(settle)
    for p in eps.values():
        p.drain()
    for tag, s, dst in frames:
        eps[s].send(dst, tag)
        time.sleep(gap)
    time.sleep(settle)
    got = {tag: {} for tag, _, _ in frames}
    for name, p in eps.items():
        for tag in p.drain():
            if tag in got:
                got[tag][name] = got[tag].get(name, 0) + 1
    return {tag: ','.join('%s%s' % (r, '' if n == 1 else 'x%d' % n)
                          for r, n in sorted(rs.items())) or '-'
            for tag, rs in got.items()}


def close_all(eps):
    for p in eps.values():
        p.close()


def diff(a, b, allowed=()):
    """Lines 'tag: a vs b' where matrices @a and @b differ, except tags in @allowed."""
    return ['%s: %s vs %s' % (t, a.get(t), b.get(t)) for t in sorted(set(a) | set(b))
            if a.get(t) != b.get(t) and t not in allowed]


def require(tap):
    netnslib.require(tap, programs=('bridge',))
