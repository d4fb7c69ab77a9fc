#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# TCP through an af_packet uplink from a veth peer that keeps its default offloads (checksum, TSO).
"""An af_packet uplink whose veth peer sends with its default offloads.

A namespace P holds the peer of the veth that is vnicd's uplink (net_af_packet); P keeps
the offloads veth has by default (tx checksumming, TSO), so what it sends reaches the packet
socket as CHECKSUM_PARTIAL (TP_STATUS_CSUMNOTREADY) and GSO frames larger than the MTU. A
guest namespace G is behind a vnicd tap port of the same bridge network.

  offloads  P's veth really has tx checksumming and TSO on (else the test proves nothing)
  ping      G pings P (IPv4; IPv6)
  then twice, first with the offloads passed on whole (every port of the network takes
  them: the uplink's packet sockets and the tap port, no VLAN edits), then under an access
  VLAN 7 on both ports (tags edited on the way: frames completed on receipt):
  pass      port show says offload_pass (uplink and tap port) or not
  tcp       a few MB over TCP, content checked (SHA-256), P -> G and G -> P, over IPv4 and
            IPv6: every segment arrives with a correct checksum and whole
  udp       a UDP datagram from P with a checksum the kernel leaves to the device arrives
  vhost     passing: a testpmd guest (vhost-user, no offloads) joins; 10 TCP GSO frames
            injected on P's veth reach it as exactly 50 segments (cut on the way to it)
  counters  passing: the uplink and the tap port count frames passed (rx_offload_passed),
            the uplink completed none; completing: the uplink reports the frames it
            completed (rx_csum_filled, rx_gso_frames) and passed no more

With --fallback, io_uring = no (recvmmsg/sendmmsg on the uplink's packet sockets).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import netnslib  # noqa: E402
import uplinklib as ul  # noqa: E402
from netnslib import Netns, run, uniq  # noqa: E402
from vnlib import Tap, Vnicd, wait_for  # noqa: E402

P4, G4 = '10.46.0.100', '10.46.0.1'
P6, G6 = 'fd00:46::100', 'fd00:46::1'
NBYTES = 4 << 20
PORT = 5301
MAC_P, MAC_G = '02:ee:00:00:46:01', '02:00:00:00:0c:01'


def udp_partial(tap, peer, guest, what):
    """A UDP datagram from P (checksum left to the device) reaches a socket in G."""
    rcv = guest.python(r'''
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('%s', 5302))
s.settimeout(10)
print('ready', flush=True)
print(s.recv(4096).decode(), flush=True)
''' % G4)
    try:
        rcv.stdout.readline()
        peer.run('python3', '-c', 'import socket; s = socket.socket(socket.AF_INET, '
                 'socket.SOCK_DGRAM); [s.sendto(b"udp-partial", ("%s", 5302)) '
                 'for _ in range(3)]' % G4)
        out = rcv.communicate(timeout=15)[0].strip()
    except Exception as e:
        out = 'error: %s' % e
    finally:
        if rcv.poll() is None:
            rcv.kill()
            rcv.wait()
    tap.eq(out, 'udp-partial', '[%s] udp: a datagram from P with its checksum left to the '
           'device arrives in G' % what)


def offloads(ns, ifname):
    out = ns.run('ethtool', '-k', ifname).stdout
    feats = dict(l.strip().split(': ', 1) for l in out.splitlines()[1:] if ': ' in l)
    return (feats.get('tx-checksumming', '?').split()[0],
            feats.get('tcp-segmentation-offload', '?').split()[0])


def counters(vn):
    up = vn.ctl_json('port', 'show', 'olan-uplink').get('packet_sockets', {})
    g = vn.ctl_json('port', 'show', 'g1')
    return up, g


def vhost_guest(tap, vn, peer):
    """A vhost-user guest without offloads (testpmd) joins the passing network: 10 TCP GSO
    frames from P, passed on whole by the uplink, reach it cut into exactly 50 segments."""
    g = netnslib.join_testpmd_guest(tap, vn, vn.path('g.sock'), MAC_G, net='olan')
    try:
        up = vn.ctl_json('port', 'show', 'olan-uplink')['packet_sockets']
        tap.ok(up.get('offload_pass') and vn.ctl_json('port', 'show', 'g')['offload_pass'],
               '[pass] a vhost-user guest joins: offload_pass still')
        p0, c0 = up['rx_offload_passed'], vn.ctl_json('port', 'show', 'g')['tx_offload_completed']
        want = 10 * 5  # 6000 = 4 * 1400 + 400
        for attempt in range(3):  # the namespaces' own multicast (MLD reports) may slip in
            got = netnslib.guest_counts(g, lambda: peer.run(
                sys.executable, '-c', netnslib.GSO_INJECT, 'eth0', MAC_G, MAC_P, 10,
                timeout=60), want)
            if got == (want, 10 * (4 * 1454 + 454)):
                break
            tap.diag('attempt %d: %s (a stray frame of the namespaces among them?)' % (attempt, got))
        tap.eq(got, (want, 10 * (4 * 1454 + 454)),
               '[pass] 10 TCP GSO frames from P reach the vhost guest (no offloads) as exactly '
               '%d segments, bytes exact' % want)
        up = vn.ctl_json('port', 'show', 'olan-uplink')['packet_sockets']
        tap.ok(up['rx_offload_passed'] - p0 >= 10 and
               vn.ctl_json('port', 'show', 'g')['tx_offload_completed'] - c0 >= 10,
               '[pass] passed on by the uplink, completed by the vhost port')
    finally:
        g.close()
        vn.ctl('port', 'del', 'g')


def phase(tap, vn, peer, guest, what, before):
    """The transfers and counters of one phase ('pass' or 'complete'); @before: the passed
    counts after the pass phase. Return: (uplink, tap port) frames passed so far."""
    want = what == 'pass'
    up, g = counters(vn)
    tap.eq((up.get('offload_pass'), g.get('offload_pass')), (want, want),
           '[%s] pass: port show says offload_pass %s (uplink, tap port)' % (what, want))
    for fam, paddr, gaddr in (('IPv4', P4, G4), ('IPv6', P6, G6)):
        sent, got = netnslib.sha_transfer(peer, guest, gaddr, PORT, NBYTES)
        tap.eq(got, sent, '[%s] tcp: %d bytes P -> G over %s arrive intact' % (what, NBYTES, fam))
        sent, got = netnslib.sha_transfer(guest, peer, paddr, PORT, NBYTES)
        tap.eq(got, sent, '[%s] tcp: %d bytes G -> P over %s arrive intact' % (what, NBYTES, fam))
    udp_partial(tap, peer, guest, what)
    if want:
        vhost_guest(tap, vn, peer)
    up, g = counters(vn)
    gp = g.get('io_stats', {}).get('rx_offload_passed', 0)
    tap.diag('[%s] uplink: %s; tap port rx_offload_passed %s' % (what, json.dumps({k: up.get(k) for k in (
        'rx_offload_passed', 'rx_csum_filled', 'rx_gso_frames', 'rx_gso_segments',
        'rx_bad_offload')}), gp))
    if want:
        tap.ok(up.get('rx_offload_passed', 0) > 0 and gp > 0 and up.get('rx_gso_frames') == 0 and
               up.get('rx_csum_filled') == 0,
               '[pass] counters: frames passed whole by the uplink (%s) and the tap port (%s), '
               'none completed' % (up.get('rx_offload_passed'), gp))
    else:
        tap.ok(up.get('rx_csum_filled', 0) > 0 and up.get('rx_gso_frames', 0) > 0,
               '[complete] counters: the uplink counts the checksums it completed (%s) and the '
               'GSO frames it cut (%s)' % (up.get('rx_csum_filled'), up.get('rx_gso_frames')))
        tap.eq((up.get('rx_offload_passed'), gp), before,
               '[complete] counters: no frame passed whole any more')
    return up.get('rx_offload_passed'), gp


def main():
    tap = Tap()
    netnslib.require(tap, ('ethtool',), testpmd=True)
    fallback, label = netnslib.mode_args()
    tap.diag('uplink packet sockets: ' + label)
    peer, guest = Netns('op', ipv6=True), Netns('og', ipv6=True)
    up, upp = uniq('ou'), uniq('oq')
    run(['ip', 'link', 'del', up], check=False)
    run(['ip', 'link', 'add', up, 'type', 'veth', 'peer', 'name', upp, 'netns', peer.name])
    netnslib.delete_link_at_exit(up)
    run(['sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % up])
    run(['ip', 'link', 'set', up, 'up'])
    peer.ip('link', 'set', upp, 'name', 'eth0')
    peer.ip('link', 'set', 'eth0', 'address', MAC_P, 'up')
    peer.ip('addr', 'add', P4 + '/24', 'dev', 'eth0')
    peer.ip('addr', 'add', P6 + '/64', 'dev', 'eth0', 'nodad')
    with Vnicd('uplink_offload', log_level='debug',
               config=netnslib.vnicd_config(fallback)) as vn:
        vn.wait_ready()
        try:
            vn.ctl('net', 'add', 'olan', 'bridge', '--uplink', 'net_af_packet0,iface=' + up)
            ul.vnicd_guests(vn, 'olan', [guest])
            guest.ip('addr', 'add', G4 + '/24', 'dev', ul.GIF)
            guest.ip('addr', 'add', G6 + '/64', 'dev', ul.GIF, 'nodad')
            tx, tso = offloads(peer, 'eth0')
            tap.eq((tx, tso), ('on', 'on'), 'offloads: the peer veth keeps tx checksumming and '
                   'TSO on (default)')
            tap.ok(wait_for(lambda: guest.run('ping', '-c', 1, '-W', 1, P4,
                                              check=False).returncode == 0, 10, 0.2),
                   'ping: G pings P over IPv4')
            tap.ok(wait_for(lambda: guest.run('ping', '-6', '-c', 1, '-W', 1, P6,
                                              check=False).returncode == 0, 10, 0.2),
                   'ping: G pings P over IPv6')
            passed = phase(tap, vn, peer, guest, 'pass', None)
            for port in ('olan-uplink', 'g1'):
                vn.ctl('port', 'set', port, '--vlan-mode', 'access', '--vlan', '7')
            phase(tap, vn, peer, guest, 'complete', passed)
        except Exception as e:
            tap.ok(False, 'uplink_offload: %s: %s' % (type(e).__name__, e))
        finally:
            ul.del_vnicd_guests(vn, [guest])
            vn.ctl('net', 'del', 'olan', check=False)
        tap.eq(vn.stop(), 0, 'vnicd exits 0')
    peer.close()
    guest.close()
    run(['ip', 'link', 'del', up], check=False)
    tap.done()


if __name__ == '__main__':
    main()
