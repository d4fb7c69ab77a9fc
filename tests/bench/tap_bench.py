#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Frames per second between two tap-attached namespaces: vnicd with io_uring, with readv/writev, and the kernel bridge.
"""Usage (root): python3 tests/bench/tap_bench.py [--seconds S] [--payload BYTES] [--runs N]

Namespace a floods namespace b with UDP datagrams (udpflood: sendmmsg, 18-byte payload =
60-byte frames by default) for S seconds, through
  bridge    the Linux bridge joining a and b by veth pairs (in a third namespace),
  io_uring  vnicd with two tap ports (io_uring = auto),
  readv     vnicd with two tap ports (io_uring = no),
all in one run. Reported per configuration: frames/s arriving at b's device, datagrams/s
read by the receiver, and for vnicd the system calls per frame counted by `perf stat -e
raw_syscalls:sys_enter -p PID` (strace -c -f when perf is missing) over the same window,
cross-checked with vnicd's own per-port syscall counters, and vnicd's CPU time. Pinning on
a 2-CPU machine: sender on CPU 0; receiver, vnicd worker on CPU 1; vnicd control thread on
CPU 0. Knobs: VNICD_BUILD_DIR (default <repo>/build), TAP_BENCH_CONFIGS (default
"bridge io_uring readv").
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tests', 'integration'))
import netnslib as nl  # noqa: E402
import vnlib  # noqa: E402

PORT = 9999


def log(msg):
    print('[tap_bench] ' + msg, file=sys.stderr, flush=True)


def build_flood(work):
    exe = os.path.join(work, 'udpflood')
    nl.run(['cc', '-O2', '-o', exe, os.path.join(REPO, 'tests', 'bench', 'udpflood.c')])
    return exe


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def count_syscalls(pid, seconds):
    """Start counting the syscalls of every thread of @pid for @seconds. Return: a Popen
    whose stderr has the result, and the tool used."""
    if shutil.which('perf'):
        p = subprocess.Popen(['perf', 'stat', '-x', ',', '-e', 'raw_syscalls:sys_enter',
                              '-p', str(pid), '--', 'sleep', str(seconds)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        return p, 'perf'
    p = subprocess.Popen(['timeout', '-s', 'INT', str(seconds), 'strace', '-c', '-f', '-p',
                          str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return p, 'strace'


def syscalls_result(p, tool):
    err = p.communicate(timeout=120)[1]
    if tool == 'perf':
        for line in err.splitlines():
            if 'raw_syscalls:sys_enter' in line:
                return int(line.split(',')[0])
        return None
    for line in err.splitlines():  # "100.00 SECONDS USECS/CALL CALLS [ERRORS] total"
        f = line.split()
        if f and f[-1] == 'total' and len(f) >= 5:
            return int(f[3])
    return None


def flood(a, b, ifb, exe, seconds, payload, dst):
    """Run the flood; return (sent, device frames in the window, received by the app)."""
    recv = b.popen('taskset', '-c', '1', exe, 'recv', PORT, seconds + 3)
    if recv.stdout.readline().strip() != 'ready':
        raise RuntimeError('receiver: %s' % recv.stderr.read())
    rx0 = b.rx_packets(ifb)
    send = a.popen('taskset', '-c', '0', exe, 'send', dst, PORT, seconds, payload)
    sent = int(send.communicate(timeout=seconds + 30)[0].strip() or 0)
    rx1 = b.rx_packets(ifb)
    got = int(recv.communicate(timeout=30)[0].strip().splitlines()[-1])
    return sent, rx1 - rx0, got


def addresses(a, b, ia, ib):
    a.ip('addr', 'add', '10.90.0.1/24', 'dev', ia)
    b.ip('addr', 'add', '10.90.0.2/24', 'dev', ib)
    ma = a.link(ia)['address']
    mb = b.link(ib)['address']
    a.ip('neigh', 'replace', '10.90.0.2', 'lladdr', mb, 'dev', ia, 'nud', 'permanent')
    b.ip('neigh', 'replace', '10.90.0.1', 'lladdr', ma, 'dev', ib, 'nud', 'permanent')
    a.run('ping', '-c', '2', '-i', '0.2', '-W', '2', '10.90.0.2', check=False)


def bench_bridge(exe, seconds, payload):
    a, b, br = nl.Netns('a'), nl.Netns('b'), nl.Netns('br')
    ia, ib = nl.uniq('ka'), nl.uniq('kb')
    try:
        nl.veth_bridge(br, ((a, ia), (b, ib)))
        addresses(a, b, ia, ib)
        sent, dev, got = flood(a, b, ib, exe, seconds, payload, '10.90.0.2')
        return {'sent': sent, 'device_rx': dev, 'app_rx': got}
    finally:
        for ns in (a, b, br):
            ns.close()


def vn_counters(vn):
    tot = {'rx_syscalls': 0, 'tx_syscalls': 0}
    for p in ('ta', 'tb'):
        s = vn.ctl_json('port', 'show', p)['io_stats']
        for k in tot:
            tot[k] += s[k]
    tot['switched'] = vn.ctl_json('port', 'show', 'tb')['stats']['tx_packets']
    return tot


def bench_vnicd(exe, seconds, payload, fallback):
    conf = '[vnicd]\nworker_cpus = 1\nmain_cpus = 0\n' + ('io_uring = no\n' if fallback else '')
    a, b = nl.Netns('a'), nl.Netns('b')
    ia, ib = nl.uniq('ta'), nl.uniq('tb')
    vn = vnlib.Vnicd('tapbench', config=conf)
    try:
        vn.wait_ready()
        vn.ctl('port', 'add', 'ta', 'tap', '--netns', a.name, '--ifname', ia)
        vn.ctl('port', 'add', 'tb', 'tap', '--netns', b.name, '--ifname', ib)
        io = vn.ctl_json('port', 'show', 'ta')['io']
        addresses(a, b, ia, ib)
        c0, cpu0 = vn_counters(vn), cpu_seconds(vn.pid)
        # count syscalls over the middle of the flood (from 1 s in, for seconds - 2)
        import threading
        res = {}

        def counter():
            time.sleep(1)
            p, tool = count_syscalls(vn.pid, max(1, seconds - 2))
            b0 = vn_counters(vn)
            res['n'] = syscalls_result(p, tool)
            res['tool'] = tool
            b1 = vn_counters(vn)
            res['frames'] = b1['switched'] - b0['switched']
            res['own'] = (b1['rx_syscalls'] + b1['tx_syscalls']) - (b0['rx_syscalls'] +
                                                                      b0['tx_syscalls'])
        t = threading.Thread(target=counter)
        t.start()
        sent, dev, got = flood(a, b, ib, exe, seconds, payload, '10.90.0.2')
        t.join()
        c1, cpu1 = vn_counters(vn), cpu_seconds(vn.pid)
        frames = c1['switched'] - c0['switched']
        return {'sent': sent, 'device_rx': dev, 'app_rx': got, 'io': io,
                'switched': frames, 'cpu_s': cpu1 - cpu0,
                'own_syscalls': (c1['rx_syscalls'] + c1['tx_syscalls']) -
                                (c0['rx_syscalls'] + c0['tx_syscalls']),
                'window_syscalls': res.get('n'), 'window_tool': res.get('tool'),
                'window_frames': res.get('frames'), 'window_own': res.get('own')}
    finally:
        vn.close()
        a.close()
        b.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seconds', type=float, default=10)
    ap.add_argument('--payload', type=int, default=18)
    ap.add_argument('--runs', type=int, default=1)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit('tap_bench: run as root')
    configs = os.environ.get('TAP_BENCH_CONFIGS', 'bridge io_uring readv').split()
    work = tempfile.mkdtemp(prefix='tapbench-')
    vnlib.cleanup.add(lambda: shutil.rmtree(work, ignore_errors=True))
    exe = build_flood(work)
    results = {c: [] for c in configs}
    for run in range(args.runs):
        for c in configs:
            log('run %d: %s, %.0f s, %d-byte payload' % (run + 1, c, args.seconds, args.payload))
            if c == 'bridge':
                r = bench_bridge(exe, args.seconds, args.payload)
            else:
                r = bench_vnicd(exe, args.seconds, args.payload, c == 'readv')
            r['pps'] = r['device_rx'] / args.seconds
            log('  %s' % json.dumps(r))
            results[c].append(r)

    def best(c):
        return max(results[c], key=lambda r: r['pps']) if results.get(c) else None

    ref = best('bridge')
    print('%-9s %12s %12s %8s %14s %14s %10s' % ('config', 'frames/s', 'recv/s', 'vs bridge',
                                                 'syscalls/frame', 'frames/syscall', 'vnicd CPU'))
    for c in configs:
        r = best(c)
        sc = fpsc = cpu = '-'
        if 'switched' in r and r.get('window_syscalls') and r.get('window_frames'):
            sc = '%.3f' % (r['window_syscalls'] / r['window_frames'])
            fpsc = '%.1f' % (r['window_frames'] / r['window_syscalls'])
            cpu = '%.0f%%' % (100 * r['cpu_s'] / args.seconds)
        print('%-9s %12.0f %12.0f %8s %14s %14s %10s' % (
            c, r['pps'], r['app_rx'] / args.seconds,
            '%.0f%%' % (100 * r['pps'] / ref['pps']) if ref else '-', sc, fpsc, cpu))
    u, f = best('io_uring'), best('readv')
    if u and f and u.get('window_syscalls') and f.get('window_syscalls') and \
            f.get('window_frames'):
        ratio = (u['window_frames'] / u['window_syscalls']) / (f['window_frames'] /
                                                                f['window_syscalls'])
        print('io_uring frames per syscall / readv-writev frames per syscall: %.1fx' % ratio)
    for c in configs:
        r = best(c)
        if r.get('own_syscalls'):
            print('%s: vnicd data-path syscalls per frame by its own counters: %.3f (%s)'
                  % (c, r['own_syscalls'] / max(1, r['switched']), r['io']))
    vnlib.cleanup.run()


if __name__ == '__main__':
    main()
