#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Demo: vnicd on its embedded defaults switching real traffic between two testpmd guests.
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests',
                                'integration'))
from vnlib import TestPmd, cleanup  # noqa: E402

VNICD = os.environ.get('VNICD', 'vnicd')
VNICCTL = os.environ.get('VNICCTL', 'vnicctl')
RUN = '/run/vnicd'
MACS = {'a': '02:de:00:00:00:0a', 'b': '02:de:00:00:00:0b'}


def sh(*args, check=True, quiet=False):
    cp = subprocess.run(list(args), capture_output=True, text=True)
    if not quiet:
        print('$ ' + ' '.join(args))
        sys.stdout.write(cp.stdout)
    if check and cp.returncode != 0:
        sys.exit('demo: %s failed: %s' % (' '.join(args), cp.stderr.strip()))
    return cp


def step(msg):
    print('\n\033[1m== %s\033[0m' % msg, flush=True)


def wait(fn, timeout=20):
    end = time.monotonic() + timeout
    while not fn():
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True


def main():
    keep = '--keep' in sys.argv
    daemon = None
    step('starting vnicd on its embedded defaults (no configuration file)')
    if sh(VNICCTL, 'ping', check=False, quiet=True).returncode == 0:
        print('vnicd is already running; using it')
    else:
        logf = open('/tmp/vnicd-demo.log', 'w')
        daemon = subprocess.Popen([VNICD], stdout=logf, stderr=subprocess.STDOUT,
                                  start_new_session=not keep)
        if not keep:
            cleanup.add(lambda: daemon.poll() is None and daemon.terminate())
        if not wait(lambda: sh(VNICCTL, 'ping', check=False, quiet=True).returncode == 0):
            sys.exit('demo: vnicd did not come up; see /tmp/vnicd-demo.log')
        print('vnicd pid %d, control socket %s/vnicd.sock, state /var/lib/vnicd, log '
              '/tmp/vnicd-demo.log' % (daemon.pid, RUN))
    sh(VNICCTL, 'net', 'list')

    step('attaching two guests over vhost-user (DPDK testpmd with virtio-user as the guest NIC)')
    for n in 'ab':
        sh(VNICCTL, 'port', 'del', 'demo-' + n, check=False, quiet=True)
        sh(VNICCTL, 'port', 'add', 'demo-' + n, 'vhost', '--path', '%s/demo-%s.sock' % (RUN, n),
           '--server', '--mac', MACS[n])
    guests = {}
    for n in 'ab':
        guests[n] = TestPmd('demo-' + n, ['net_virtio_user0,path=%s/demo-%s.sock,queues=1,'
                                          'queue_size=1024,mac=%s' % (RUN, n, MACS[n])],
                            lcores='0@1,1@0' if n == 'a' else '0@0,1@1',
                            extra=['--rxd=1024', '--txd=1024'])
        guests[n].wait_link_up(0)
    wait(lambda: all('"up"' in sh(VNICCTL, 'port', 'show', 'demo-' + n, '--json', quiet=True).stdout
                     for n in 'ab'))
    sh(VNICCTL, 'port', 'list')

    step('guest a sends 3200 frames to guest b, then b sends 3200 to a')
    for src, dst in (('a', 'b'), ('b', 'a')):
        for g in guests.values():
            g.clear_stats()
        guests[dst].start_fwd('rxonly')
        guests[src].send(0, 100, 32, pkt_len=64, dst=MACS[dst])
        time.sleep(0.5)
        guests[dst].stop_fwd()
        print('guest %s sent %d frames; guest %s received %d' % (
            src, guests[src].port_stats(0)['tx_packets'], dst,
            guests[dst].port_stats(0)['rx_packets']))
    sh(VNICCTL, 'stats')
    sh(VNICCTL, 'fdb', 'show')

    step('3 seconds of line-rate 64-byte frames a -> b')
    for g in guests.values():
        g.clear_stats()
    guests['b'].start_fwd('rxonly')
    guests['a'].cmd('set eth-peer 0 %s' % MACS['b'])
    guests['a'].start_fwd('txonly')
    t0 = time.monotonic()
    time.sleep(3)
    guests['a'].stop_fwd()
    rx = guests['b'].port_stats(0)['rx_packets']
    guests['b'].stop_fwd()
    print('guest b received %.2f Mpps through vnicd (2 cores shared by vnicd and both guests)'
          % (rx / (time.monotonic() - t0) / 1e6))

    step('cleaning up the demo')
    for g in guests.values():
        g.close()
    for n in 'ab':
        sh(VNICCTL, 'port', 'del', 'demo-' + n)
    if daemon and not keep:
        daemon.terminate()
        daemon.wait(20)
        print('vnicd stopped (exit %d). Run `vnicd` to start it again; `vnicctl --help` for '
              'commands.' % daemon.returncode)
    elif daemon:
        print('vnicd keeps running (pid %d): try `vnicctl port list`' % daemon.pid)


if __name__ == '__main__':
    main()
