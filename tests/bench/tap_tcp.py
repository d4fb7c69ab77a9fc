#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# TCP between two namespaces through vnicd (tap ports, or an af_packet uplink and a tap port): offloads passed on whole, completed, and the kernel bridge.
"""Usage (root): python3 tests/bench/tap_tcp.py [--seconds S] [--rounds N] [--uplink]

iperf3 (one TCP stream, a -> b, S seconds) between two namespaces whose kernels hand over
64 KiB TSO super-frames with partial checksums, through
  pass      vnicd, two tap ports in one network: the frames cross whole (offload_pass)
  complete  vnicd, the same ports with an access VLAN (no pass-through): vnicd cuts every
            super-frame into MSS-sized segments and computes their checksums on receipt
  bridge    the Linux bridge joining a and b by veth pairs
With --uplink, a is the peer of a veth whose other end is the af_packet uplink of vnicd's
network (vnicd's packet sockets, as for a host's NIC) and b is behind a tap port; in
complete mode both the uplink and the tap port get the access VLAN.
interleaved for N rounds (vnicd's two modes in one vnicd, switched with `port set`).
Reported per mode: Gbit/s received (median of the rounds, min-max), its median ratio to
`complete` and to `bridge` in the same round, and for vnicd its CPU time per GB moved and
the frames it wrote to b per GB. Pinning on a 2-CPU machine: iperf3 client on CPU 0,
server and vnicd's worker on CPU 1. Knobs: VNICD_BUILD_DIR (default <repo>/build),
TAP_TCP_MODES (default "pass complete bridge").
"""
import argparse
import json
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tests', 'integration'))
import netnslib as nl  # noqa: E402
import vnlib  # noqa: E402


def log(msg):
    print('[tap_tcp] ' + msg, file=sys.stderr, flush=True)


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def addresses(a, b, ia, ib):
    a.ip('addr', 'add', '10.91.0.1/24', 'dev', ia)
    b.ip('addr', 'add', '10.91.0.2/24', 'dev', ib)
    a.run('ping', '-c', '2', '-i', '0.2', '-W', '2', '10.91.0.2', check=False)


def iperf(a, b, seconds):
    """One stream a -> b; Return: bytes received."""
    srv = b.popen('taskset', '-c', '1', 'iperf3', '-s', '-1', '-J')
    try:
        time.sleep(0.3)
        cp = a.run('taskset', '-c', '0', 'iperf3', '-c', '10.91.0.2', '-t', seconds, '-J',
                   timeout=seconds + 30)
        return json.loads(cp.stdout)['end']['sum_received']['bytes']
    finally:
        srv.wait(10)


class VnicdPair:
    def __init__(self, uplink):
        self.vn = vnlib.Vnicd('taptcp', config='[vnicd]\nworker_cpus = 1\nmain_cpus = 0\n')
        self.a, self.b = nl.Netns('va'), nl.Netns('vb')
        self.vn.wait_ready()
        ia, ib = nl.uniq('ta'), nl.uniq('tb')
        self.ports, net = ('ta', 'tb'), 'br0'
        if uplink:  # a: the peer of vnicd's af_packet uplink
            self.up = nl.uniq('tu')
            nl.run(['ip', 'link', 'add', self.up, 'type', 'veth', 'peer', 'name', ia, 'netns',
                    self.a.name])
            nl.run(['ip', 'link', 'set', self.up, 'up'])
            self.a.ip('link', 'set', ia, 'up')
            self.vn.ctl('net', 'add', 'tlan', 'bridge', '--uplink', 'net_af_packet0,iface=' + self.up)
            self.ports, net = ('tlan-uplink', 'tb'), 'tlan'
        else:
            self.vn.ctl('port', 'add', 'ta', 'tap', '--netns', self.a.name, '--ifname', ia)
        self.vn.ctl('port', 'add', 'tb', 'tap', '--netns', self.b.name, '--ifname', ib, '--net', net)
        addresses(self.a, self.b, ia, ib)

    def passing(self):
        p = self.vn.ctl_json('port', 'show', self.ports[0])
        return p.get('packet_sockets', p).get('offload_pass')

    def run(self, mode, seconds):
        for p in self.ports:
            if mode == 'pass':
                self.vn.ctl('port', 'set', p, '--vlan-mode', 'none')
            else:
                self.vn.ctl('port', 'set', p, '--vlan-mode', 'access', '--vlan', '7')
        want = mode == 'pass'
        if not vnlib.wait_for(lambda: self.passing() == want):
            raise RuntimeError('offload_pass did not become %s' % want)
        tx0 = self.vn.ctl_json('port', 'show', 'tb')['stats']['tx_packets']
        cpu0 = cpu_seconds(self.vn.pid)
        got = iperf(self.a, self.b, seconds)
        cpu = cpu_seconds(self.vn.pid) - cpu0
        tx = self.vn.ctl_json('port', 'show', 'tb')['stats']['tx_packets'] - tx0
        return {'bytes': got, 'cpu_per_gb': cpu / (got / 1e9), 'frames_per_gb': tx / (got / 1e9)}

    def close(self):
        self.vn.close()
        self.a.close()
        self.b.close()
        if self.ports[0] != 'ta':
            nl.run(['ip', 'link', 'del', self.up], check=False)


def bench_bridge(seconds):
    a, b, br = nl.Netns('ka'), nl.Netns('kb'), nl.Netns('kbr')
    ia, ib = nl.uniq('ka'), nl.uniq('kb')
    try:
        nl.veth_bridge(br, ((a, ia), (b, ib)))
        addresses(a, b, ia, ib)
        return {'bytes': iperf(a, b, seconds)}
    finally:
        for ns in (a, b, br):
            ns.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seconds', type=int, default=5)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--uplink', action='store_true', help='a behind an af_packet uplink')
    args = ap.parse_args()
    modes = os.environ.get('TAP_TCP_MODES', 'pass complete bridge').split()
    if os.geteuid() != 0:
        sys.exit('tap_tcp: run as root')
    res = {m: [] for m in modes}
    pair = VnicdPair(args.uplink) if set(modes) & {'pass', 'complete'} else None
    try:
        for r in range(args.rounds):
            for m in modes:
                x = bench_bridge(args.seconds) if m == 'bridge' else pair.run(m, args.seconds)
                x['gbps'] = x['bytes'] * 8 / args.seconds / 1e9
                res[m].append(x)
                log('round %d %s: %.2f Gbit/s%s' % (
                    r + 1, m, x['gbps'],
                    '' if m == 'bridge' else ', vnicd CPU %.2f s/GB, %.0f frames/GB to b'
                    % (x['cpu_per_gb'], x['frames_per_gb'])))
    finally:
        if pair:
            pair.close()
    print('%-9s %14s %22s %22s %14s %14s' % ('mode', 'Gbit/s', 'ratio/complete',
                                           'ratio/bridge', 'CPU s/GB', 'frames/GB'))
    for m in modes:
        g = [x['gbps'] for x in res[m]]

        def ratio(peer):
            if peer not in res:
                return '-'
            q = [x['gbps'] / y['gbps'] for x, y in zip(res[m], res[peer]) if y['gbps']]
            return '%.2f (%.2f-%.2f)' % (statistics.median(q), min(q), max(q)) if q else '-'
        cpu = statistics.median([x['cpu_per_gb'] for x in res[m]]) if m != 'bridge' else None
        fr = statistics.median([x['frames_per_gb'] for x in res[m]]) if m != 'bridge' else None
        print('%-9s %6.2f (%.2f-%.2f) %22s %22s %14s %14s' % (
            m, statistics.median(g), min(g), max(g), ratio('complete'), ratio('bridge'),
            '%.2f' % cpu if cpu is not None else '-', '%.0f' % fr if fr is not None else '-'))


if __name__ == '__main__':
    main()
