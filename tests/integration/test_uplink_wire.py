#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Wires (--uplink wire:NAME/E): two networks of one vnicd joined back to back by a ring pair; bridges and a VXLAN overlay across one.
"""Usage: test_uplink_wire.py

  bridges    brA (--uplink wire:w1/0) and brB (--uplink wire:w1/1), a tap port in each in
             its namespace: ping and iperf3 TCP both ways across the wire; both uplinks
             have carrier; the frames crossed as counted by each uplink port
  input      bad wire names and ends are refused with their reason; an end in use is refused
  unplug     brB removed: brA's uplink loses carrier; brB back: carrier, ping again
  overlay    ulA/ulB on wire w2, overlays ovA/ovB (VXLAN, VNI 100) over them, a tap port in
             each: ping and iperf3 across; the remote VTEPs resolved, their counters moved
  restart    vnicd restarts: both wires are made again from the saved networks (carrier on
             all four ends), and the bridges and the overlay carry pings again
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netnslib as nl  # noqa: E402
from vnlib import Tap, Vnicd, wait_for  # noqa: E402

MAC_A, MAC_B = '02:00:00:00:0a:01', '02:00:00:00:0b:01'


def carrier(vn, port):
    return nl.port_show(vn, port).get('carrier')


def ping(tap, ns, addr, what):
    cp = ns.run('ping', '-c', '3', '-i', '0.2', '-W', '2', addr, check=False)
    tap.ok(cp.returncode == 0 and ' 0% packet loss' in cp.stdout, 'ping %s: no loss' % what)


def tcp(tap, a, b, addr, what):
    ip3 = nl.Iperf3(b)
    for rev in (False, True):
        r = ip3.run(a, addr, seconds=2, reverse=rev)
        bits = r['end']['sum_received']['bits_per_second']
        tap.ok(bits > 50e6, 'iperf3 TCP %s %s: %.2f Gbit/s' % (what, 'b -> a' if rev else 'a -> b',
                                                                bits / 1e9))


def two_taps(vn, neta, netb, tag):
    a, b = nl.Netns('a' + tag), nl.Netns('b' + tag)
    ia, ib = nl.uniq('ta' + tag), nl.uniq('tb' + tag)
    vn.ctl('port', 'add', 'ta' + tag, 'tap', '--netns', a.name, '--ifname', ia, '--mac', MAC_A,
           '--net', neta)
    vn.ctl('port', 'add', 'tb' + tag, 'tap', '--netns', b.name, '--ifname', ib, '--mac', MAC_B,
           '--net', netb)
    return a, b, ia, ib


def test_bridges(tap, vn):
    vn.ctl('net', 'add', 'brA', 'bridge', '--uplink', 'wire:w1/0')
    vn.ctl('net', 'add', 'brB', 'bridge', '--uplink', 'wire:w1/1')
    tap.ok(wait_for(lambda: carrier(vn, 'brA-uplink') and carrier(vn, 'brB-uplink'), timeout=5),
           'both ends of wire w1 have carrier')
    d = nl.port_show(vn, 'brA-uplink')
    tap.ok(d.get('driver') == 'net_ring' and d.get('mac', '').startswith('02:77:'),
           'an end is a rings-backed ethdev with a local MAC: %s %s' % (d.get('driver'),
                                                                        d.get('mac')))
    a, b, ia, ib = two_taps(vn, 'brA', 'brB', '1')
    a.ip('addr', 'add', '10.78.0.1/24', 'dev', ia)
    b.ip('addr', 'add', '10.78.0.2/24', 'dev', ib)
    ping(tap, a, '10.78.0.2', 'a -> b across wire w1')
    tcp(tap, a, b, '10.78.0.2', 'across wire w1')
    ra = nl.port_show(vn, 'brA-uplink')['stats']
    rb = nl.port_show(vn, 'brB-uplink')['stats']
    tap.ok(ra['tx_packets'] > 1000 and ra['rx_packets'] > 1000 and
           rb['tx_packets'] > 1000 and rb['rx_packets'] > 1000,
           'the frames crossed the wire both ways (brA-uplink tx %d rx %d)'
           % (ra['tx_packets'], ra['rx_packets']))
    return a, b


def test_input(tap, vn):
    for spec, why in [('wire:w1/2', 'wire:NAME/0 or wire:NAME/1'),
                      ('wire:w1', 'wire:NAME/0 or wire:NAME/1'),
                      ('wire:/0', '1-15 characters'),
                      ('wire:a-very-long-wire-name/0', '1-15 characters'),
                      ('wire:a.b/0', "letters, digits, '-' and '_'"),
                      ('wire:w1/0', 'already the uplink of network')]:
        cp = vn.ctl('net', 'add', 'bad', 'bridge', '--uplink', spec, check=False)
        tap.ok(cp.returncode != 0 and why in cp.stderr,
               '--uplink %s refused: %s' % (spec, cp.stderr.strip()[:120]))
    tap.ok('bad' not in vn.ctl('net', 'list').stdout.split(), 'no network was left behind')


def test_unplug(tap, vn, a):
    vn.ctl('port', 'del', 'tb1')
    vn.ctl('net', 'del', 'brB')
    tap.ok(wait_for(lambda: carrier(vn, 'brA-uplink') is False, timeout=5),
           'brB removed: brA-uplink lost carrier')
    vn.ctl('net', 'add', 'brB', 'bridge', '--uplink', 'wire:w1/1')
    tap.ok(wait_for(lambda: carrier(vn, 'brA-uplink') and carrier(vn, 'brB-uplink'), timeout=5),
           'brB back on wire:w1/1: both ends have carrier')
    b = nl.Netns('b1b')
    ib = nl.uniq('tb1b')
    vn.ctl('port', 'add', 'tb1', 'tap', '--netns', b.name, '--ifname', ib, '--mac', MAC_B,
           '--net', 'brB')
    b.ip('addr', 'add', '10.78.0.2/24', 'dev', ib)
    ping(tap, a, '10.78.0.2', 'a -> b across the wire plugged again')


def test_restart(tap, vn, a1, a2):
    vn.restart()
    ends = ('brA-uplink', 'brB-uplink', 'ulA-uplink', 'ulB-uplink')
    tap.ok(wait_for(lambda: all(carrier(vn, p) for p in ends), timeout=10),
           'restart: the four wire ends are back, with carrier')
    for p in ('ta1', 'tb1', 'ta2', 'tb2'):
        wait_for(lambda p=p: nl.port_show(vn, p)['link'] == 'up', 10)
    tap.ok(wait_for(lambda: a1.run('ping', '-c', '1', '-W', '1', '10.78.0.2',
                                   check=False).returncode == 0, 20, 0.2),
           'restart: ping across wire w1 again')
    tap.ok(wait_for(lambda: a2.run('ping', '-c', '1', '-W', '1', '192.168.78.2',
                                   check=False).returncode == 0, 20, 0.2),
           'restart: ping through VXLAN over wire w2 again')


def test_overlay(tap, vn):
    vn.ctl('net', 'add', 'ulA', 'bridge', '--uplink', 'wire:w2/0')
    vn.ctl('net', 'add', 'ulB', 'bridge', '--uplink', 'wire:w2/1')
    vn.ctl('net', 'add', 'ovA', 'overlay', '--type', 'vxlan', '--vni', '100', '--local',
           '10.0.0.1', '--underlay', 'ulA', '--remote', '10.0.0.2')
    vn.ctl('net', 'add', 'ovB', 'overlay', '--type', 'vxlan', '--vni', '100', '--local',
           '10.0.0.2', '--underlay', 'ulB', '--remote', '10.0.0.1')
    a, b, ia, ib = two_taps(vn, 'ovA', 'ovB', '2')
    mtu = vn.ctl_json('net', 'show', 'ovA')['mtu']
    for ns, i, addr in ((a, ia, '192.168.78.1/24'), (b, ib, '192.168.78.2/24')):
        ns.ip('link', 'set', i, 'mtu', str(mtu))
        ns.ip('addr', 'add', addr, 'dev', i)
    ping(tap, a, '192.168.78.2', 'a -> b through VXLAN over wire w2')
    tcp(tap, a, b, '192.168.78.2', 'through VXLAN over wire w2')
    for ov in ('ovA', 'ovB'):
        r = vn.ctl_json('net', 'show', ov)['remotes'][0]
        tap.ok(r['state'] == 'resolved' and r['tx_packets'] > 1000 and r['rx_packets'] > 1000,
               '%s: remote %s resolved, tx %d rx %d' % (ov, r['ip'], r['tx_packets'],
                                                        r['rx_packets']))
    return a


def main():
    tap = Tap()
    nl.require(tap, ['iperf3'])
    with Vnicd('wire') as vn:
        vn.wait_ready()
        a, _ = test_bridges(tap, vn)
        test_input(tap, vn)
        test_unplug(tap, vn, a)
        a2 = test_overlay(tap, vn)
        test_restart(tap, vn, a, a2)
        tap.ok(vn.alive(), 'vnicd alive')
    tap.done()


if __name__ == '__main__':
    main()
