#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Benchmark: TCP between two real QEMU guests (qemu-configs/, TCG) on vnicd vhost-user ports,
# once with the guests' NICs taking the offloads vnicd offers (partial checksums, TSO: vnicd
# completes and cuts the 64 KiB frames) and once with them turned off in QEMU (csum=off,
# host_tso4=off, ...: the guest kernel segments and checksums itself), interleaved in rounds
# in one run. Both pairs of guests run at once on one vnicd; a round sends OFFLOAD_MIB MiB of
# random bytes with busybox nc from a to b, timed on the host from the command to its
# prompt. Prints the throughput of each mode per round and the median ratio.
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import vnlib  # noqa: E402
from guest import QemuGuest, require_qemu  # noqa: E402
from vnlib import Vnicd, wait_for  # noqa: E402

SMOKE = os.environ.get('BENCH_SMOKE') == '1'
ROUNDS = int(os.environ.get('OFFLOAD_ROUNDS', '1' if SMOKE else '5'))
MIB = int(os.environ.get('OFFLOAD_MIB', '2' if SMOKE else '16'))
OFF_OPTS = ',csum=off,host_tso4=off,host_tso6=off,host_ecn=off'
MODES = {'offloads': ('', 10), 'none': (OFF_OPTS, 20)}  # QEMU options, address base


def log(msg):
    print('[vhost_offload] ' + msg, file=sys.stderr, flush=True)


def boot(vn, mode):
    opts, base = MODES[mode]
    guests = {}
    os.environ['VNICD_GUEST_NIC_OPTS'] = opts  # read by qemu-configs/boot-guest.sh
    try:
        for side, k in (('a', 1), ('b', 2)):
            name = '%s-%s' % (side, mode)
            mac = '52:54:00:00:%02x:%02x' % (base, k)
            ip = '10.78.0.%d' % (base + k)
            guests[side] = (QemuGuest('q' + name, vn.path(name + '.sock'), mac, ip + '/24'), ip)
            wait_for(lambda: os.path.exists(vn.path(name + '.sock')), 30)
            vn.ctl('port', 'add', name, 'vhost', '--path', vn.path(name + '.sock'), '--mac', mac)
    finally:
        del os.environ['VNICD_GUEST_NIC_OPTS']
    return guests


def transfer(guests, mode):
    (a, _), (b, ip_b) = guests['a'], guests['b']
    b.run('nc -l -p 5001 > /dev/null & sleep 0.3')
    t0 = time.monotonic()
    rc, out = a.run('nc %s 5001 < /tmp/tx' % ip_b, timeout=600)
    dt = time.monotonic() - t0
    if rc != 0:
        raise RuntimeError('%s: nc failed: %s' % (mode, out[-300:]))
    return MIB * 8 * 1048576 / dt / 1e6


def main():
    tap = vnlib.Tap()
    vnlib.require_root_hugepages_testpmd(tap)
    require_qemu(tap)
    with Vnicd('vhost-offload') as vn:
        vn.wait_ready()
        pairs = {m: boot(vn, m) for m in MODES}
        for m, guests in pairs.items():
            for g, _ in guests.values():
                g.wait_ready()
            guests['a'][0].run('dd if=/dev/urandom of=/tmp/tx bs=1048576 count=%d 2>/dev/null'
                               % MIB, timeout=120)
        wait_for(lambda: all(vn.ctl_json('port', 'show', p['name'])['link'] == 'up'
                             for p in vn.ctl_json('port', 'list')), 60)
        for m, guests in pairs.items():  # ARP and a first connection out of the way
            guests['a'][0].run('ping -c 2 -W 3 %s' % guests['b'][1], timeout=30)
        offl = vn.ctl_json('port', 'show', 'a-offloads').get('guest_offloads')
        none = vn.ctl_json('port', 'show', 'a-none').get('guest_offloads')
        log('negotiated: with offloads %s, without %s' % (offl, none))
        ratios = []
        print('round  offloads Mbit/s  none Mbit/s  ratio')
        for r in range(ROUNDS):
            order = list(MODES) if r % 2 == 0 else list(reversed(list(MODES)))
            got = {m: transfer(pairs[m], m) for m in order}
            ratios.append(got['offloads'] / got['none'])
            print('%-5d  %15.1f  %11.1f  %5.2f' % (r + 1, got['offloads'], got['none'],
                                                   ratios[-1]), flush=True)
        st = vn.ctl_json('port', 'show', 'a-offloads')
        print('guest TCP through vnicd with offloads / without: median %.2f (%.2f-%.2f), '
              '%d rounds of %d MiB; vnicd cut %d GSO frames into %d segments'
              % (statistics.median(ratios), min(ratios), max(ratios), ROUNDS, MIB,
                 st['rx_gso_frames'], st['rx_gso_segments']))
        for guests in pairs.values():
            for g, _ in guests.values():
                g.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
