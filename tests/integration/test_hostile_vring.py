#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A hostile vhost-user front end (evilring: its own protocol messages and rings) sends bogus
# vring indices, descriptors, chains, sizes, addresses, queue numbers and memory tables while
# two testpmd guests exchange frames: theirs arrive exactly, vnicd stays up and answers, and
# what it did with the attacker is visible in its counters (issue 16, hostile guests).
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vnlib  # noqa: E402
from vnlib import Tap, TestPmd, Vnicd, build_dir, wait_for  # noqa: E402

MAC = {'a': '02:00:00:00:a1:01', 'b': '02:00:00:00:b1:01', 'x': '02:ee:00:00:00:01'}
ROUND = 320  # victim frames a round (10 bursts of 32)
PERIOD = 0.1  # s: the victims offer 3200 frames/s
VALID = 64   # good frames from the attacker's own rings, before and after the attack
# what librte_vhost (22.11) or vnicd must refuse by closing the connection
MUST_CLOSE = ['num_0', 'num_100', 'num_65536', 'queue_300', 'mem_9_regions', 'mem_offset',
              'mem_size_0', 'mem_huge', 'mem_beyond_file', 'mem_swap']


def evilring():
    return os.path.join(build_dir(), 'tests', 'integration', 'evilring')


def guest(vn, name):
    sock = vn.path('%s.sock' % name)
    vn.ctl('port', 'add', name, 'vhost', '--path', sock, '--server', '--mac', MAC[name])
    dev = 'net_virtio_user0,path=%s,queues=1,queue_size=1024,mac=%s' % (sock, MAC[name])
    return TestPmd('hv' + name, [dev], extra=['--rxd=1024', '--txd=1024'])


def port(vn, name):
    return vn.ctl_json('port', 'show', name)


def valid(tap, vn, gs, what):
    """VALID good broadcasts through evilring's own rings reach both guests: the front end
    works, so what it does wrong in the hostile scenarios is what vnicd sees."""
    for g in gs.values():
        g.clear_stats()
        g.start_fwd('rxonly')
    rx0 = port(vn, 'x')['stats']['rx_packets']
    cp = subprocess.run([evilring(), vn.path('x.sock'), MAC['x'], 'valid', str(VALID)],
                        capture_output=True, text=True, timeout=60)
    tap.eq(cp.stdout.strip(), str(VALID), '%s: the back end took all %d good frames from '
           'evilring\'s rings (%s)' % (what, VALID, cp.stderr.strip()))
    time.sleep(0.3)
    for g in gs.values():
        g.stop_fwd()
    got = {n: g.port_stats(0)['rx_packets'] for n, g in gs.items()}
    tap.eq(got, {'a': VALID, 'b': VALID}, '%s: both guests received them' % what)
    tap.ok(wait_for(lambda: port(vn, 'x')['stats']['rx_packets'] - rx0 == VALID, 5),
           '%s: vnicd counted %d frames from the attacker' % (what, VALID))


def rounds(gs, until):
    """a sends ROUND frames to b every PERIOD s (paced, as test_hostile_guest's victims) until
    until() (at least 3 rounds). Return: (frames sent, rounds, seconds)."""
    sent, n, t0 = 0, 0, time.monotonic()
    while n < 3 or not until():
        sent += gs['a'].send(0, ROUND // 32, 32, pkt_len=64, dst=MAC['b'])[0]
        n += 1
        ahead = n * PERIOD - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
    return sent, n, time.monotonic() - t0


def main():
    tap = Tap()
    vnlib.require_root_hugepages_testpmd(tap)
    if not os.access(evilring(), os.X_OK):
        tap.bail('%s not built' % evilring())
    with Vnicd('hvring') as vn:
        vn.wait_ready()
        gs = {n: guest(vn, n) for n in 'ab'}
        vn.ctl('port', 'add', 'x', 'vhost', '--path', vn.path('x.sock'), '--server',
               '--mac', MAC['x'])
        for n in 'ab':
            tap.ok(wait_for(lambda: port(vn, n)['link'] == 'up'), 'guest %s up' % n)
            gs[n].wait_link_up(0)
        gs['a'].start_fwd('rxonly')
        gs['b'].send(0, 1, 32, dst=MAC['a'])  # b's MAC learned: a's frames go to b only
        time.sleep(0.2)
        gs['a'].stop_fwd()
        valid(tap, vn, gs, 'before')

        # the victims' paced traffic while evilring runs every hostile scenario
        x0, a0 = port(vn, 'x'), port(vn, 'a')['stats']
        gs['a'].clear_stats()
        gs['b'].clear_stats()
        gs['b'].start_fwd('rxonly')
        ev = subprocess.Popen([evilring(), vn.path('x.sock'), MAC['x'], 'hostile'],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sent, n, secs = rounds(gs, lambda: ev.poll() is not None)
        out, err = ev.communicate(timeout=120)
        time.sleep(0.3)
        gs['b'].stop_fwd()
        got_b, got_a = gs['b'].port_stats(0)['rx_packets'], gs['a'].port_stats(0)['rx_packets']
        res = {ln.split()[0]: ln.split()[1:] for ln in out.splitlines() if ln.strip()}
        for name, r in sorted(res.items()):
            tap.diag('%-18s %s' % (name, ' '.join(r)))
        tap.eq(ev.returncode, 0, 'evilring ran its %d scenarios (%s)' % (len(res), err.strip()))
        tap.ok(len(res) >= 31, 'every scenario reported: %d' % len(res))
        tap.ok(vn.alive(), 'vnicd survived every scenario')
        tap.eq(vn.ctl('port', 'list', '--json', check=False).returncode, 0, 'vnicctl answers')
        # (a rate on a shared CPU: reported, not asserted)
        tap.diag('victims: %d frames in %d rounds in %.1f s during the attack: %.0f/s, %.0f %% '
                 'of the %.0f/s offered' % (sent, n, secs, sent / secs,
                                            100 * sent / secs / (ROUND / PERIOD),
                                            ROUND / PERIOD))
        tap.eq(got_b, sent, 'b received exactly the %d frames a sent during the attack' % sent)
        tap.eq(got_a, 0, 'a received nothing (nothing of the attacker reached a guest)')

        closed = [s for s in MUST_CLOSE if res.get(s, ['?'])[0] != 'closed']
        tap.eq(closed, [], 'bad sizes, queue 300 and bad memory tables close the connection')
        stalled = [s for s, r in res.items() if r[0] == 'open']
        tap.ok(len(stalled) >= 15, 'the rest keep their connection (bad entries stall only '
               'the attacker\'s own ring): %d' % len(stalled))
        x = port(vn, 'x')
        tap.ok(x['refused'] - x0['refused'] >= 3, 'vnicd refused the memory tables larger than '
               'their file, also one replacing a running guest\'s (port show refused: %d)'
               % x['refused'])
        tap.ok(', refused %d' % x['refused'] in vn.ctl('port', 'show', 'x').stdout,
               'vnicctl port show says so too')
        tap.ok(x['vrings_ignored'] - x0['vrings_ignored'] >= 2,
               'vrings 200/201 enabled, counted in vrings_ignored: %d' % x['vrings_ignored'])
        tap.ok(wait_for(lambda: port(vn, 'x')['link'] == 'down', 5) and
               port(vn, 'x')['connects'] == port(vn, 'x')['disconnects'],
               'each hostile connection came and went (connects %d = disconnects)'
               % port(vn, 'x')['connects'])
        bad = (x['rx_offload_refused'] + x['rx_bad_offload']
               - x0['rx_offload_refused'] - x0['rx_bad_offload'])
        tap.ok(res.get('offload_bogus', ['?'])[0] == 'open' and bad >= 2,
               'malformed offload requests (MSS 1, a TCP header past the frame) dropped and '
               'counted: %d' % bad)
        d = {k: x['stats']['drops'][k] - x0['stats']['drops'][k] for k in x['stats']['drops']}
        rx = x['stats']['rx_packets'] - x0['stats']['rx_packets']
        took = sum(int(r[1].split('=')[1]) for r in res.values())
        tap.diag('attacker: the library took %d descriptors off its rings; vnicd received %d '
                 'frames, drops %s' % (took, rx, {k: v for k, v in d.items() if v}))
        tap.ok(40000 <= rx <= took, 'vnicd got at most what the library took off the rings '
               '(%d <= %d), the 40000 of avail_jump among them' % (rx, took))
        tap.eq(sum(d.values()), rx, 'every one of them dropped and counted by reason')
        tap.eq(port(vn, 'a')['stats']['tx_packets'] - a0['tx_packets'], 0,
               'vnicd sent a nothing')
        valid(tap, vn, gs, 'after')
        for g in gs.values():
            g.close()
        tap.eq(vn.stop(), 0, 'vnicd exits 0')
    tap.done()


if __name__ == '__main__':
    main()
