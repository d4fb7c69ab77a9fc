#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# vnicctl top under traffic: --once, --json samples, and the interactive view in tmux (q quits).
"""Usage: test_top.py

Two namespaces on tap ports; one pings the other fast. `vnicctl top --once` must show the
sending port with a non-zero receive rate, `top --once --json` the same in numbers (and the
workers' busy share and queues), and the interactive view run under tmux must show its header
and the port, and exit on q.
"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netnslib as nl  # noqa: E402
import vnlib  # noqa: E402
from vnlib import Tap, Vnicd, wait_for  # noqa: E402

MAC_A, MAC_B = '02:00:00:00:6a:01', '02:00:00:00:6b:01'


def tmux(sock, *args, check=True):
    return nl.run(['tmux', '-L', sock] + list(args), check=check, timeout=20)


def main():
    tap = Tap()
    nl.require(tap, ['ping', 'tmux'])
    with Vnicd('top') as vn:
        vn.wait_ready()
        a, b = nl.Netns('a'), nl.Netns('b')
        vn.ctl('port', 'add', 'ta', 'tap', '--netns', a.name, '--ifname', 'ta0', '--mac', MAC_A,
               '--vm-uuid', '11111111-2222-3333-4444-555555555555', '--vm-name', 'vma')
        vn.ctl('port', 'add', 'tb', 'tap', '--netns', b.name, '--ifname', 'tb0', '--mac', MAC_B)
        for p in ('ta', 'tb'):
            wait_for(lambda: vn.ctl_json('port', 'show', p)['link'] == 'up', 10)
        a.ip('addr', 'add', '10.78.0.1/24', 'dev', 'ta0')
        b.ip('addr', 'add', '10.78.0.2/24', 'dev', 'tb0')
        pinger = a.popen('ping', '-q', '-i', '0.01', '-s', '200', '10.78.0.2')
        time.sleep(1)

        cp = vn.ctl('top', '--once')
        lines = cp.stdout.splitlines()
        row = next((l.split() for l in lines if l.startswith('ta ')), None)
        tap.ok(lines and lines[0].startswith('vnicd top') and
               any(l.startswith('PORT') for l in lines), 'top --once: header and column names')
        tap.ok(row is not None and row[3] != '0' and row[4] != '0',
               'top --once: port ta with non-zero rates: %s' % row)
        tap.ok(any(l.startswith('WORKER') for l in lines) and
               any('ta:0' in l for l in lines), 'top --once: the worker polling ta:0')

        cp = vn.ctl('top', '--once', '--json')
        s = json.loads(cp.stdout)
        ta = next((p for p in s['ports'] if p['name'] == 'ta'), {})
        tap.ok(ta.get('rx_pps', 0) > 10 and ta.get('rx_bps', 0) > 0 and ta.get('tx_pps', 0) > 10,
               'top --json: ta receives %.0f pps, sends %.0f pps' % (ta.get('rx_pps', 0),
                                                                     ta.get('tx_pps', 0)))
        tap.ok(s['ports'][0]['name'] in ('ta', 'tb'), 'top --json: ports sorted by rate')
        vm = next((v for v in s['vms'] if v['vm_name'] == 'vma'), {})
        tap.ok(vm.get('rx_pps', 0) > 10, 'top --json: the VM sum: %s' % vm)
        w = s['workers'][0]
        tap.ok(0 < w['busy'] <= 1 and w['frames_ps'] > 0 and
               any((q['port'], q['queue']) == ('ta', 0) for q in w['queues']),
               'top --json: worker 0 busy %.4f, %.0f frames/s, queues %s'
               % (w['busy'], w['frames_ps'], w['queues']))

        p = subprocess.Popen([vnlib.vnicctl_bin(), '--socket', vn.sock, 'top', '--json'],
                             stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        got = [p.stdout.readline(), p.stdout.readline()]
        p.kill()
        p.wait()
        tap.ok(all(json.loads(l)['interval'] > 0.5 for l in got),
               'top --json streams one sample a second')

        sock = 'vntop%d' % os.getpid()
        vnlib.cleanup.add(lambda: tmux(sock, 'kill-server', check=False))
        cmd = '%s --socket %s top' % (vnlib.vnicctl_bin(), vn.sock)
        tmux(sock, 'new-session', '-d', '-s', 'top', '-x', '150', '-y', '40', cmd)
        screen = ''

        def shown():
            nonlocal screen
            screen = tmux(sock, 'capture-pane', '-p', '-t', 'top', check=False).stdout
            return 'vnicd top' in screen and '\nta ' in screen
        tap.ok(wait_for(shown, 10, 0.2), 'top under tmux shows its header and port ta')
        if 'vnicd top' not in screen:
            tap.diag(screen)
        tmux(sock, 'send-keys', '-t', 'top', 'q')
        gone = wait_for(lambda: tmux(sock, 'has-session', '-t', 'top', check=False).returncode
                        != 0, 10, 0.1)
        tap.ok(gone, 'q quits top')
        tmux(sock, 'kill-server', check=False)
        pinger.kill()
    tap.done()


if __name__ == '__main__':
    main()
