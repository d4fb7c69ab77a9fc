#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Benchmark: frames per second a testpmd guest gets out through an af_packet uplink, and vnicd's idle CPU with one.
"""Uplink benchmark (never part of the test pass/fail).

A testpmd virtio-user guest in a bridge network sends txonly frames to an external host;
the uplink is net_af_packet on a veth into a Linux bridge in a namespace (tests/integration/
uplinklib.py). Reported: the rate the uplink's PMD put on the wire (its opackets) for 64 and
1500-byte frames over UPLINK_SECONDS (default 5), and vnicd's CPU while idle with the uplink.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
import uplinklib as ul  # noqa: E402
from idle_cpu import cpu_seconds  # noqa: E402
from vnlib import TestPmd, Vnicd  # noqa: E402

SECONDS = float(os.environ.get('UPLINK_SECONDS', '5'))


def wire_tx(vn):
    return vn.ctl_json('port', 'show', 'lan-uplink')['wire']['tx_packets']


def main():
    with Vnicd('upbench', config='[vnicd]\nmetrics_listen =\n') as vn:
        vn.wait_ready()
        adj = ul.Adjacent('n')
        try:
            vn.ctl('net', 'add', 'lan', 'bridge', '--uplink', 'net_af_packet0,iface=%s' % adj.up)
            time.sleep(1)
            c0, t0 = cpu_seconds(vn.pid), time.monotonic()
            time.sleep(SECONDS)
            idle = (cpu_seconds(vn.pid) - c0) / (time.monotonic() - t0) * 100
            print('idle with an af_packet uplink: %.1f %% of a core' % idle)
            sock, gmac = vn.path('g.sock'), '02:00:00:00:05:01'
            g = TestPmd('upbench', ['net_virtio_user0,path=%s,server=1,queues=1,mac=%s'
                                    % (sock, gmac)], wait=False, eth_peers={0: adj.ext_mac})
            vn.ctl('port', 'add', 'g', 'vhost', '--path', sock, '--mac', gmac, '--net', 'lan')
            g.wait_started()
            g.wait_link_up(0)
            for size in (64, 1500):
                g.cmd('set txpkts %d' % size)
                g.start_fwd('txonly')
                time.sleep(1)
                w0, t0 = wire_tx(vn), time.monotonic()
                time.sleep(SECONDS)
                w1, t1 = wire_tx(vn), time.monotonic()
                g.stop_fwd()
                rate = (w1 - w0) / (t1 - t0)
                print('%4d-byte frames out the uplink: %.2f Mpps (%.2f Gbit/s)'
                      % (size, rate / 1e6, rate * size * 8 / 1e9))
            vn.ctl('port', 'del', 'g')  # before the guest quits (see test_uplink.py)
            g.close()
            vn.ctl('net', 'del', 'lan')
        finally:
            adj.close()


if __name__ == '__main__':
    main()
