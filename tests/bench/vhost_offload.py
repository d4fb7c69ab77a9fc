#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Benchmark: TCP between two real QEMU guests (qemu-configs/, TCG) on vnicd vhost-user ports
# in three set-ups, interleaved in rounds in one run: "both", the guests' NICs take every
# offload vnicd offers (a's 64 KiB TCP frames reach b whole); "from", the receiver takes none
# (QEMU guest_csum=off,guest_tso4=off,guest_tso6=off: vnicd cuts a's frames for b); "none",
# no offloads at all (csum=off, host_tso4=off, ... too: the sender's kernel segments and
# checksums itself). The three pairs run at once on one vnicd, in one network of vhost-user
# ports; a round sends OFFLOAD_MIB MiB of random bytes with busybox nc from a to b in each
# pair, timed on the host from the command to its prompt. Prints Mbit/s per set-up and round,
# and the median ratios to "none". vnicd runs with vhost_tso_to_guest = yes (TSO offered towards
# guests; the default is no).
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
TO_OFF = ',guest_csum=off,guest_tso4=off,guest_tso6=off'
FROM_OFF = ',csum=off,host_tso4=off,host_tso6=off,host_ecn=off'
# QEMU options of a and of b, address base
ALL_MODES = {'both': ('', '', 10), 'from': ('', TO_OFF, 20), 'none': (FROM_OFF + TO_OFF,
                                                                     FROM_OFF + TO_OFF, 30)}
MODES = {m: ALL_MODES[m] for m in os.environ.get('OFFLOAD_MODES', 'both from none').split()}
if 'none' not in MODES:
    MODES['none'] = ALL_MODES['none']


def log(msg):
    print('[vhost_offload] ' + msg, file=sys.stderr, flush=True)


def boot(vn, mode):
    guests = {}
    for side, k in (('a', 1), ('b', 2)):
        name = '%s-%s' % (side, mode)
        mac = '52:54:00:00:%02x:%02x' % (MODES[mode][2], k)
        ip = '10.78.0.%d' % (MODES[mode][2] + k)
        guests[side] = (QemuGuest('q' + name, vn.path(name + '.sock'), mac, ip + '/24',
                                  nic_opts=MODES[mode][k - 1]), ip)
        wait_for(lambda: os.path.exists(vn.path(name + '.sock')), 30)
        vn.ctl('port', 'add', name, 'vhost', '--path', vn.path(name + '.sock'), '--mac', mac)
    return guests


def cpu_s(guests):
    """CPU seconds (user + system) the pair's QEMU processes used so far."""
    t = 0
    for g, _ in guests.values():
        with open('/proc/%d/stat' % g.proc.pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        t += int(fields[11]) + int(fields[12])
    return t / os.sysconf('SC_CLK_TCK')


def transfer(guests, mode):
    """Return: (Mbit/s, the guests' CPU ms per MiB)."""
    (a, _), (b, ip_b) = guests['a'], guests['b']
    b.run('nc -l -p 5001 > /dev/null & sleep 0.3')
    c0, t0 = cpu_s(guests), time.monotonic()
    rc, out = a.run('nc %s 5001 < /tmp/tx' % ip_b, timeout=600)
    dt, cpu = time.monotonic() - t0, cpu_s(guests) - c0
    if rc != 0:
        raise RuntimeError('%s: nc failed: %s' % (mode, out[-300:]))
    return MIB * 8 * 1048576 / dt / 1e6, cpu * 1000 / MIB


def main():
    tap = vnlib.Tap()
    vnlib.require_root_hugepages_testpmd(tap)
    require_qemu(tap)
    with Vnicd('vhost-offload', config='[vnicd]\nvhost_tso_to_guest = yes\n') as vn:
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
        for m in MODES:
            pa = vn.ctl_json('port', 'show', 'a-' + m)
            pb = vn.ctl_json('port', 'show', 'b-' + m)
            log('%s: a sends with %s, b takes %s' % (m, pa.get('guest_offloads'),
                                                    pb.get('offloads_to_guest')))
        ratios = {m: [] for m in MODES if m != 'none'}
        cpus = {m: [] for m in MODES}
        print('round  ' + '  '.join('%5s Mbit/s (CPU ms/MiB)' % m for m in MODES) + '  ' +
              '  '.join('%s/none' % m for m in ratios))
        for r in range(ROUNDS):
            order = list(MODES)[r % len(MODES):] + list(MODES)[:r % len(MODES)]
            got = {m: transfer(pairs[m], m) for m in order}
            for m in MODES:
                cpus[m].append(got[m][1])
            for m in ratios:
                ratios[m].append(got[m][0] / got['none'][0])
            print('%-5d  ' % (r + 1) + '  '.join('%12.1f (%8.0f)' % got[m] for m in MODES) +
                  '  ' + '  '.join('%9.2f' % ratios[m][-1] for m in ratios), flush=True)
        for m, rs in ratios.items():
            print('guest TCP through vnicd, offloads %s / none: median %.2f (%.2f-%.2f); the '
                  'guests\' CPU per MiB %.0f ms against %.0f; %d rounds of %d MiB'
                  % (m, statistics.median(rs), min(rs), max(rs), statistics.median(cpus[m]),
                     statistics.median(cpus['none']), ROUNDS, MIB))
        for m in MODES:
            sa = vn.ctl_json('port', 'show', 'a-' + m)
            sb = vn.ctl_json('port', 'show', 'b-' + m)
            log('%s: a rx %d frames, %d passed on with offloads, %d cut on receipt; b: %d '
                'completed for it (%d segments), drops %s' % (
                    m, sa['stats']['rx_packets'], sa['rx_offload_passed'], sa['rx_gso_frames'],
                    sb['tx_offload_completed'], sb['tx_gso_segments'],
                    sb['stats'].get('drops')))
        for guests in pairs.values():
            for g, _ in guests.values():
                g.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
