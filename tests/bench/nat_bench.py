#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# NAT benchmark in namespaces: established-flow rate through NAT vs plain switching, and new connections per second vs Linux's conntrack + MASQUERADE.
"""Usage (root): python3 tests/bench/nat_bench.py [--seconds S] [--rounds N]

Namespaces and tap ports only (no guest, no NIC), udpflood (sendmmsg) as the sender, all in
one run, modes interleaved round by round (the machine is shared: the figures are the
medians of the per-round ratios):
  plain      G -> S through a vnicd bridge network (two tap ports): one UDP flow of 60-byte
             frames; datagrams/s S's receiver reads
  nat        the same flow through a vnicd NAT network (G behind `lan`, S on `wan`): the
             flow is established (tracked) after its first frame
  nat-new    G sends every datagram to an (address, port) of its own (udpflood flows): each
             is a new connection; connections vnicd created per second (conntrack.created)
  linux-new  the same through a Linux router namespace (veths, ip_forward, iptables
             MASQUERADE): connections per second (nf_conntrack_count of the router's
             namespace, made anew each round)
The sender's own rate is printed with each: when vnicd (or Linux) keeps up, the figure is
the sender's (tap and veth I/O), not the NAT's. Linux forwards and tracks in the sender's
own softirq (on the sender's CPU, 0), so its "sender" rate is its NAT rate too; vnicd's
worker runs on CPU 1. Pinning: sender on CPU 0, receiver and
vnicd's worker on CPU 1. Knobs: VNICD_BUILD_DIR.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tests', 'integration'))
import netnslib as nl  # noqa: E402
import vnlib  # noqa: E402

G_IP, GW, S_IP, EXT = '192.168.100.10', '192.168.100.1', '10.77.0.1', '10.77.0.2'
PORT = 9999


def log(msg):
    print('[nat_bench] ' + msg, file=sys.stderr, flush=True)


def flood(exe, g, s, dst, seconds):
    """One flow from @g to @dst:PORT, received in @s. Return: (sent/s, received/s)."""
    recv = s.popen('taskset', '-c', '1', exe, 'recv', PORT, seconds + 3)
    if recv.stdout.readline().strip() != 'ready':
        raise RuntimeError('receiver: %s' % recv.stderr.read())
    send = g.popen('taskset', '-c', '0', exe, 'send', dst, PORT, seconds)
    sent = int(send.communicate(timeout=seconds + 30)[0].strip() or 0)
    got = int(recv.communicate(timeout=30)[0].strip().splitlines()[-1])
    return sent / seconds, got / seconds


def new_flows(exe, g, seconds, count):
    """udpflood flows from @g; @count() the connections tracked. Return: (sent/s, new/s)."""
    c0 = count()
    t0 = time.time()
    send = g.popen('taskset', '-c', '0', exe, 'flows', '10.99', seconds)
    sent = int(send.communicate(timeout=seconds + 30)[0].strip() or 0)
    time.sleep(0.3)  # what is still in the queues
    dt = time.time() - t0 - 0.3
    return sent / dt, (count() - c0) / dt


class Vn:
    """One vnicd: bridge `br` (taps into A and B) and NAT `lan` (G) with external `wan` (S)."""

    def __init__(self):
        conf = '[vnicd]\nworker_cpus = 1\nmain_cpus = 0\nidle_sleep_us = 0\n'
        self.vn = vnlib.Vnicd('natbench', config=conf)
        self.vn.wait_ready()
        self.a, self.b = nl.Netns('natb_a'), nl.Netns('natb_b')
        self.g, self.s = nl.Netns('natb_g'), nl.Netns('natb_s')
        vn = self.vn
        vn.ctl('net', 'add', 'br', 'bridge')
        vn.ctl('port', 'add', 'ta', 'tap', '--netns', self.a.name, '--ifname', 'eth0', '--net',
               'br')
        vn.ctl('port', 'add', 'tb', 'tap', '--netns', self.b.name, '--ifname', 'eth0', '--net',
               'br')
        vn.ctl('net', 'add', 'wan', 'bridge')
        vn.ctl('port', 'add', 'srv', 'tap', '--netns', self.s.name, '--ifname', 'eth0', '--net',
               'wan')
        vn.ctl('net', 'add', 'lan', 'nat', '--subnet', '192.168.100.0/24', '--external', 'wan',
               '--external-ip', EXT + '/24', '--external-gateway', S_IP,
               '--conntrack-max', 262144, '--dns', 'none')
        vn.ctl('port', 'add', 'g1', 'tap', '--netns', self.g.name, '--ifname', 'eth0', '--net',
               'lan')
        for p in ('ta', 'tb', 'srv', 'g1'):
            if not vnlib.wait_for(lambda: vn.ctl_json('port', 'show', p)['link'] == 'up', 10):
                raise RuntimeError('port %s not up' % p)
        for ns, a in ((self.a, '10.90.0.1/24'), (self.b, '10.90.0.2/24'), (self.s, S_IP + '/24'),
                      (self.g, G_IP + '/24')):
            ns.ip('addr', 'add', a, 'dev', 'eth0')
            ns.ip('link', 'set', 'eth0', 'up')
        self.g.ip('route', 'add', 'default', 'via', GW)
        self.a.run('ping', '-c', '2', '-i', '0.2', '-W', '2', '10.90.0.2', check=False)
        vnlib.wait_for(lambda: self.g.run('ping', '-c', '1', '-W', '1', S_IP,
                                          check=False).returncode == 0, 10)

    def created(self):
        return self.vn.ctl_json('net', 'show', 'lan')['conntrack']['created']

    def close(self):
        for ns in (self.a, self.b, self.g, self.s):
            ns.close()
        self.vn.stop()


def linux_new(exe, seconds):
    """A Linux router namespace with MASQUERADE, made for this round. Return: new_flows()."""
    g, r, s = nl.Netns('natb_lg'), nl.Netns('natb_lr'), nl.Netns('natb_ls')
    try:
        r.ip('link', 'add', 'rg', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', g.name)
        r.ip('link', 'add', 'rs', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', s.name)
        r.ip('addr', 'add', GW + '/24', 'dev', 'rg')
        r.ip('addr', 'add', EXT + '/24', 'dev', 'rs')
        for ns, dev in ((r, 'rg'), (r, 'rs'), (g, 'eth0'), (s, 'eth0')):
            ns.ip('link', 'set', dev, 'up')
        g.ip('addr', 'add', G_IP + '/24', 'dev', 'eth0')
        s.ip('addr', 'add', S_IP + '/24', 'dev', 'eth0')
        g.ip('route', 'add', 'default', 'via', GW)
        r.ip('route', 'add', 'default', 'via', S_IP)
        r.run('sysctl', '-qw', 'net.ipv4.ip_forward=1')
        r.run('iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', '192.168.100.0/24', '-o', 'rs',
              '-j', 'MASQUERADE')
        g.run('ping', '-c', '1', '-W', '2', S_IP, check=False)

        def count():
            return int(r.run('sysctl', '-n', 'net.netfilter.nf_conntrack_count').stdout)
        return new_flows(exe, g, seconds, count)
    finally:
        for ns in (g, r, s):
            ns.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seconds', type=float, default=1.0)
    ap.add_argument('--rounds', type=int, default=5)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix='nat_bench-')
    exe = os.path.join(work, 'udpflood')
    nl.run(['cc', '-O2', '-o', exe, os.path.join(REPO, 'tests', 'bench', 'udpflood.c')])
    vn = Vn()
    res = {m: [] for m in ('plain', 'nat', 'nat-new', 'linux-new')}
    try:
        for r in range(args.rounds):
            res['plain'].append(flood(exe, vn.a, vn.b, '10.90.0.2', args.seconds))
            res['nat'].append(flood(exe, vn.g, vn.s, S_IP, args.seconds))
            vn.vn.ctl('nat', 'conntrack', 'flush', 'lan')
            res['nat-new'].append(new_flows(exe, vn.g, args.seconds, vn.created))
            vn.vn.ctl('nat', 'conntrack', 'flush', 'lan')  # room for the next round's
            res['linux-new'].append(linux_new(exe, args.seconds))
            log('round %d: %s' % (r + 1, ', '.join('%s %.0f/s (sent %.0f/s)' % (m, v[-1][1],
                                                                                v[-1][0])
                                                   for m, v in res.items())))
    finally:
        vn.close()
    est = [n[1] / p[1] for n, p in zip(res['nat'], res['plain']) if p[1]]
    new = [n[1] / lx[1] for n, lx in zip(res['nat-new'], res['linux-new']) if lx[1]]
    for m, v in res.items():
        print('%-10s median %10.0f /s (sender %10.0f /s)' %
              (m, statistics.median(x[1] for x in v), statistics.median(x[0] for x in v)))
    print('established flow, NAT / plain switching: median of %d per-round ratios %.2f (%s)' %
          (len(est), statistics.median(est), ' '.join('%.2f' % x for x in est)))
    print('new connections/s, vnicd NAT / Linux MASQUERADE: median of %d per-round ratios '
          '%.2f (%s)' % (len(new), statistics.median(new), ' '.join('%.2f' % x for x in new)))


if __name__ == '__main__':
    main()
