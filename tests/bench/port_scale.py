#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Benchmark: adding many vhost-user ports to one vnicd: time per `port add`, memory per port.
"""Add PORT_SCALE_N (256) vhost-user server ports to one network of one vnicd, one by one,
and print: the round trip of each `port add` on the control socket (one connection, as a
management agent keeps it; median, 90th percentile, max) and of `vnicctl port add` as a
process (every PORT_SCALE_CLI-th port, default 8: exec, connect, request, reply), and
vnicd's memory before and after (VmRSS + HugetlbPages of /proc/PID/status) with the growth
per port (PORT_SCALE_STATE=tmpfs: the state directory in /dev/shm, so that the state
save after every change costs no disk). Then PORT_SCALE_GUESTS (4) testpmd guests connect to the first ports and the growth
per connected guest is printed too (the vrings and DPDK's vhost device of each). Then every
port is deleted, timed the same way. Root, hugepages; run from the repository after a build:

    python3 tests/bench/port_scale.py
"""
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
from vnlib import TestPmd, Vnicd, vnicctl_bin, wait_for  # noqa: E402

N = int(os.environ.get('PORT_SCALE_N', '256'))
CLI_EVERY = int(os.environ.get('PORT_SCALE_CLI', '8'))
GUESTS = int(os.environ.get('PORT_SCALE_GUESTS', '4'))
# 'tmpfs': the state directory in /dev/shm, so that a port add's state save (temporary file,
# fsync, rename, directory fsync) costs no disk: what is left is vnicd's own work
STATE = os.environ.get('PORT_SCALE_STATE', 'disk')


def mem_kib(pid):
    """VmRSS + HugetlbPages of @pid in KiB."""
    got = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k, _, v = line.partition(':')
            if k in ('VmRSS', 'HugetlbPages'):
                got[k] = int(v.split()[0])
    return got.get('VmRSS', 0), got.get('HugetlbPages', 0)


class Ctl:
    """One control connection: request() -> (result, seconds)."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.f = self.s.makefile('rb')

    def request(self, cmd, args):
        line = (json.dumps({'cmd': cmd, 'args': args}) + '\n').encode()
        t0 = time.perf_counter()
        self.s.sendall(line)
        reply = json.loads(self.f.readline())
        dt = time.perf_counter() - t0
        if not reply.get('ok'):
            raise RuntimeError('%s %s: %s' % (cmd, args, reply.get('error')))
        return reply.get('result'), dt

    def close(self):
        self.f.close()
        self.s.close()


def summary(name, secs):
    ms = sorted(x * 1e3 for x in secs)
    p90 = ms[min(len(ms) - 1, int(len(ms) * 0.9))]
    print('%-34s n=%-4d median %6.2f ms  p90 %6.2f ms  max %6.2f ms'
          % (name, len(ms), statistics.median(ms), p90, ms[-1]), flush=True)


def main():
    conf = '[vnicd]\nmax_ports = %d\nidle_sleep_us = 1000\nmetrics_listen =\n' % (N + 8)
    extra = ()
    if STATE == 'tmpfs':
        shm = tempfile.mkdtemp(prefix='vn-portscale-state-', dir='/dev/shm')
        extra = ('--state-dir', shm)
    with Vnicd('portscale', config=conf, extra_args=extra) as vn:
        vn.wait_ready()
        time.sleep(0.5)
        rss0, huge0 = mem_kib(vn.pid)
        ctl = Ctl(vn.sock)
        add, add_cli = [], []
        for i in range(N):
            name = 'p%03d' % i
            args = ['port', 'add', name, 'vhost', '--path', vn.path(name + '.sock'), '--server',
                    '--net', 'br0']
            if CLI_EVERY and i % CLI_EVERY == CLI_EVERY - 1:
                t0 = time.perf_counter()
                subprocess.run([vnicctl_bin(), '--socket', vn.sock] + args, check=True,
                               capture_output=True)
                add_cli.append(time.perf_counter() - t0)
            else:
                _, dt = ctl.request('port.add', {'name': name, 'kind': 'vhost',
                                                 'path': vn.path(name + '.sock'), 'server': True,
                                                 'net': 'br0'})
                add.append(dt)
        time.sleep(1)
        rss1, huge1 = mem_kib(vn.pid)
        ports = len(vn.ctl_json('port', 'list'))
        print('ports: %d vhost-user (server) in one bridge network; state directory on %s'
              % (ports, STATE))
        summary('port.add (control socket)', add)
        if add_cli:
            summary('vnicctl port add (process)', add_cli)
        print('memory before: RSS %d KiB + hugepages %d KiB; after %d ports: RSS %d KiB + '
              'hugepages %d KiB' % (rss0, huge0, N, rss1, huge1))
        print('per port: RSS %.1f KiB, hugepages %.1f KiB, total %.1f KiB'
              % ((rss1 - rss0) / N, (huge1 - huge0) / N, (rss1 + huge1 - rss0 - huge0) / N),
              flush=True)
        gs = []
        for i in range(GUESTS):
            name = 'p%03d' % i
            gs.append(TestPmd('ps-%d' % i, ['net_virtio_user0,path=%s,queues=1,queue_size=256'
                                           % vn.path(name + '.sock')]))
        if gs:
            wait_for(lambda: all(vn.ctl_json('port', 'show', 'p%03d' % i)['link'] == 'up'
                                 for i in range(GUESTS)), timeout=60)
            time.sleep(1)
            rss2, huge2 = mem_kib(vn.pid)
            print('per connected guest (%d testpmd, 1 queue pair of 256): RSS %.1f KiB, '
                  'hugepages %.1f KiB' % (GUESTS, (rss2 - rss1) / GUESTS, (huge2 - huge1) / GUESTS))
            for g in gs:
                g.close()
        dele = []
        for i in range(N):
            _, dt = ctl.request('port.del', {'name': 'p%03d' % i})
            dele.append(dt)
        summary('port.del (control socket)', dele)
        time.sleep(1)
        rss3, huge3 = mem_kib(vn.pid)
        print('after deleting them: RSS %d KiB + hugepages %d KiB' % (rss3, huge3))
        ctl.close()
    if extra:
        shutil.rmtree(extra[1], ignore_errors=True)


if __name__ == '__main__':
    main()
