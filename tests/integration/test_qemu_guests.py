#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Real QEMU guests (qemu-configs/) on vnicd vhost-user ports: ping, a TCP transfer, vnicd restart.
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vnlib  # noqa: E402
from guest import QemuGuest, require_qemu  # noqa: E402
from vnlib import Tap, Vnicd, wait_for  # noqa: E402

GUESTS = {'a': ('52:54:00:00:10:0a', '10.77.0.1'), 'b': ('52:54:00:00:10:0b', '10.77.0.2')}


def links_up(vn):
    return all(vn.ctl_json('port', 'show', n)['link'] == 'up' for n in GUESTS)


def ping(tap, g, ip, what, count=5):
    rc, out = g.run('ping -c %d -W 3 %s' % (count, ip), timeout=60)
    m = re.search(r'(\d+) packets transmitted, (\d+) packets received', out)
    tap.ok(rc == 0 and m and m.group(2) == str(count),
           '%s: %s' % (what, m.group(0) if m else out.strip()[-200:]))


def main():
    tap = Tap()
    vnlib.require_root_hugepages_testpmd(tap)
    require_qemu(tap)
    with Vnicd('qemu') as vn:
        vn.wait_ready()
        gs = {}
        for n, (mac, ip) in GUESTS.items():
            gs[n] = QemuGuest('q' + n, vn.path(n + '.sock'), mac, ip + '/24')
        for n, (mac, ip) in GUESTS.items():
            # QEMU is the socket server: vnicd connects (and would reconnect) as client
            wait_for(lambda: os.path.exists(vn.path(n + '.sock')), 30)
            vn.ctl('port', 'add', n, 'vhost', '--path', vn.path(n + '.sock'), '--mac', mac)
        for g in gs.values():
            g.wait_ready()
        tap.ok(wait_for(lambda: links_up(vn), 60), 'both QEMU guests negotiated virtio-net with vnicd')
        rc, out = gs['a'].run('cat /sys/class/net/eth0/address')
        tap.eq(out.strip().splitlines()[-1].strip(), GUESTS['a'][0], 'guest a sees its MAC on eth0')
        ping(tap, gs['a'], GUESTS['b'][1], 'guest a pings guest b through vnicd')
        ping(tap, gs['b'], GUESTS['a'][1], 'guest b pings guest a')
        rc, out = gs['a'].run('ping -c 3 -W 3 -s 1472 %s' % GUESTS['b'][1], timeout=60)
        tap.ok(rc == 0 and '3 packets received' in out, 'full-size 1500-byte IP packets cross')
        rc, out = gs['a'].run('ping -c 2 -W 3 -s 6000 %s' % GUESTS['b'][1], timeout=60)
        tap.ok(rc == 0 and '2 packets received' in out, 'fragmented 6000-byte pings cross')
        # the guests' kernels take the offloads vnicd offers (checksum, TSO): their TCP
        # leaves as partial-checksum and 64 KiB GSO frames that vnicd completes and cuts
        pa = vn.ctl_json('port', 'show', 'a')
        tap.ok({'csum', 'tso4', 'tso6'} <= set(pa.get('guest_offloads', [])),
               'guest a negotiated checksum and TSO offloads (%s)' % pa.get('guest_offloads'))
        # a TCP transfer: busybox nc, 1 MiB of random bytes, compared by MD5
        gs['a'].run('dd if=/dev/urandom of=/tmp/tx bs=1024 count=1024 2>/dev/null')
        gs['b'].run('nc -l -p 5001 > /tmp/rx & sleep 0.5')
        rc, out = gs['a'].run('nc -w 5 %s 5001 < /tmp/tx' % GUESTS['b'][1], timeout=120)
        rc2, out2 = gs['b'].run('sleep 1; wc -c < /tmp/rx; md5sum /tmp/rx')
        got = out2.strip().splitlines()[-2].strip() if out2.strip() else ''
        _, sa = gs['a'].run('md5sum /tmp/tx')
        sum_a = re.findall(r'\b[0-9a-f]{32}\b', sa)
        sum_b = re.findall(r'\b[0-9a-f]{32}\b', out2)
        tap.ok(got == '1048576' and sum_a and sum_a == sum_b,
               'a 1 MiB TCP stream a -> b arrived whole and intact (%s bytes, md5 %s / %s)'
               % (got, sum_a, sum_b))
        pa = vn.ctl_json('port', 'show', 'a')
        tap.ok(pa['rx_gso_frames'] > 0 and pa['rx_gso_segments'] > pa['rx_gso_frames'] and
               pa['rx_bad_offload'] == 0 and pa['rx_gso_nomem'] == 0,
               'vnicd cut guest a\'s GSO frames (%d frames into %d segments, %d checksums '
               'filled, %d bad)' % (pa['rx_gso_frames'], pa['rx_gso_segments'],
                                    pa['rx_csum_filled'], pa['rx_bad_offload']))
        st = {p['name']: p for p in vn.ctl_json('stats')['ports']}
        tap.ok(st['a']['rx_packets'] > 700 and st['b']['tx_packets'] >= st['a']['rx_unicast_packets'] - 2,
               'vnicctl counted the guests\' traffic (a rx %d, b tx %d)'
               % (st['a']['rx_packets'], st['b']['tx_packets']))
        fdb = {(e['mac'], e['port']) for e in vn.ctl_json('fdb', 'show')}
        tap.ok({(GUESTS['a'][0], 'a'), (GUESTS['b'][0], 'b')} <= fdb, 'FDB learned both guests')
        # restart vnicd under live guests: they keep running and reconnect
        tap.eq(vn.stop(), 0, 'vnicd stopped (SIGTERM) while the guests run')
        rc, out = gs['a'].run('ping -c 1 -W 1 %s' % GUESTS['b'][1], timeout=30)
        tap.ok(rc != 0, 'no connectivity while vnicd is down')
        vn.start()
        vn.wait_ready()
        tap.ok(wait_for(lambda: links_up(vn), 60), 'vnicd restored both ports and reconnected to QEMU')
        ping(tap, gs['a'], GUESTS['b'][1], 'after the restart guest a pings guest b again, no guest restart')
        for g in gs.values():
            g.close()
        tap.eq(vn.stop(), 0, 'vnicd exits 0')
    tap.done()


if __name__ == '__main__':
    main()
