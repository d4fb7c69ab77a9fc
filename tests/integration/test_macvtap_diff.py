#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Differential test: the same frames through kernel macvlan devices and through a vnicd macvtap network, mode by mode.
"""Kernel macvlan vs vnicd macvtap, frame by frame.

For each mode (vepa, bridge, private) and each setting of the adjacent bridge's hairpin flag,
the same topology is built twice: once with kernel macvlan devices on the uplink veth (one
per guest namespace), once with a vnicd macvtap network whose uplink is that veth
(net_af_packet) and whose ports are tap devices in the same namespaces. Every endpoint (three
guests and an external host behind the adjacent bridge) sends a unicast to every other one,
one to an unknown MAC, a broadcast and a multicast; the delivery matrices (who received which
frame, how many times) must be identical except for the difference the README documents
(private ports do not get reflected unicasts from other local ports). The uplink's
promiscuous count must match too. vnicd with --hairpin emulated behind a bridge without
hairpin must deliver what the kernel delivers behind a bridge with it. passthru: one guest;
the same matrix, the uplink takes the guest's MAC and turns promiscuous in both.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import uplinklib as ul  # noqa: E402
from netnslib import Netns  # noqa: E402
from vnlib import Tap, Vnicd  # noqa: E402

NG = 3


def documented(mode, reflecting):
    """Cells where vnicd differs on purpose: behind a reflecting bridge, the kernel delivers
    a unicast from one local private port to another; vnicd does not (README)."""
    if mode != 'private' or not reflecting:
        return set()
    return {'g%d>g%d' % (a, b) for a in range(1, NG + 1) for b in range(1, NG + 1) if a != b}


def matrix(tap, kind, vn, guests, mode, hairpin, vnicd_hairpin='external'):
    """One run on a fresh adjacent switch. Return: (matrix, uplink promiscuity, uplink MAC)."""
    adj = ul.Adjacent('d', hairpin=hairpin)
    try:
        if kind == 'kernel':
            ul.kernel_guests(adj, guests, mode)
        else:
            vn.ctl('net', 'add', 'mvt', 'macvtap', '--uplink', 'net_af_packet0,iface=%s' % adj.up,
                   '--mode', mode, '--hairpin', vnicd_hairpin)
            ul.vnicd_guests(vn, 'mvt', guests)
        link = adj.uplink_link()
        eps = ul.endpoints(adj, guests)
        try:
            m = ul.run_matrix(eps)
        finally:
            ul.close_all(eps)
        return m, link.get('promiscuity'), link.get('address')
    finally:
        if kind == 'kernel':
            ul.del_guest_links(guests)
            adj.close()
        else:
            ul.teardown(vn, adj, guests, 'mvt')


def show(tap, title, m):
    tap.diag(title)
    for t in sorted(m):
        tap.diag('  %-12s -> %s' % (t, m[t]))


def main():
    tap = Tap()
    ul.require(tap)
    guests = [Netns('g%d' % i) for i in range(1, NG + 1)]
    with Vnicd('mvdiff') as vn:
        vn.wait_ready()
        for mode in ('vepa', 'bridge', 'private'):
            for hairpin in (False, True):
                what = '%s, adjacent hairpin %s' % (mode, 'on' if hairpin else 'off')
                km, kp, _ = matrix(tap, 'kernel', vn, guests, mode, hairpin)
                vm, vp, _ = matrix(tap, 'vnicd', vn, guests, mode, hairpin)
                allowed = documented(mode, hairpin)
                d = ul.diff(km, vm, allowed)
                if not tap.eq(d, [], '%s: vnicd delivers like kernel macvlan (%d frames)'
                              % (what, len(km))):
                    show(tap, 'kernel', km)
                    show(tap, 'vnicd', vm)
                for t in sorted(allowed):
                    dst = t.split('>')[1]
                    tap.ok(km[t] == dst and vm[t] == '-',
                           '%s: %s documented difference: kernel %s, vnicd %s'
                           % (what, t, km[t], vm[t]))
                tap.eq(vp, kp, '%s: uplink promiscuous count like the kernel\'s (%s)' % (what, kp))
                if hairpin:  # emulation behind a bridge without hairpin = a bridge with it
                    em, _, _ = matrix(tap, 'vnicd', vn, guests, mode, False, 'emulated')
                    d = ul.diff(km, em, allowed)
                    if not tap.eq(d, [], '%s: vnicd --hairpin emulated behind a bridge '
                                  'without hairpin delivers as the kernel behind one with it'
                                  % mode):
                        show(tap, 'kernel', km)
                        show(tap, 'vnicd emulated', em)
                if mode == 'vepa' and hairpin:
                    show(tap, 'vepa behind a reflecting bridge (kernel = vnicd):', km)
        # passthru: one guest owns the uplink
        pt = guests[:1]
        km, kp, kmac = matrix(tap, 'kernel', vn, pt, 'passthru', False)
        vm, vp, vmac = matrix(tap, 'vnicd', vn, pt, 'passthru', False)
        if not tap.eq(ul.diff(km, vm), [], 'passthru: vnicd delivers like kernel macvlan'):
            show(tap, 'kernel', km)
            show(tap, 'vnicd', vm)
        tap.eq((vmac, vp), (kmac, kp), 'passthru: uplink MAC %s and promiscuous count %s as the '
               'kernel makes them' % (kmac, kp))
        tap.eq(kmac, ul.guest_mac(1), 'passthru: the uplink carries the guest\'s MAC')
        tap.eq(vn.stop(), 0, 'vnicd exits 0')
    tap.done()


if __name__ == '__main__':
    main()
