# SPDX-License-Identifier: MIT
# Self-check of vnlib.TestPmd: testpmd as an io switch between two virtio-user guests (TAP).
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vnlib  # noqa: E402
from vnlib import Tap, TestPmd, cleanup, wait_for  # noqa: E402

FRAMES_BURSTS, BURST = 10, 32          # 320 frames
MAC_A, MAC_B = '02:00:00:00:0a:01', '02:00:00:00:0b:01'




def pids_alive(pids):
    alive = []
    for pid in pids:
        try:
            with open('/proc/%d/stat' % pid) as f:
                state = f.read().rsplit(')', 1)[1].split()[0]
            alive.append((pid, state))
        except OSError:
            pass
    return alive


def main():
    tap = Tap()
    vnlib.require_root_hugepages_testpmd(tap)
    d = tempfile.mkdtemp(prefix='vnsc-', dir='/tmp')
    cleanup.add(lambda: __import__('shutil').rmtree(d, ignore_errors=True))
    s0, s1 = os.path.join(d, 's0'), os.path.join(d, 's1')
    # The switch's forwarding lcore runs on CPU 1, the guests' on CPU 0.
    sw = TestPmd('switch', ['net_vhost0,iface=%s,client=0,queues=1' % s0,
                            'net_vhost1,iface=%s,client=0,queues=1' % s1], lcores='0@0,1@1')
    tap.eq(sw.nb_ports, 2, 'switch has two vhost ports')
    ga = TestPmd('ga', ['net_virtio_user0,path=%s,queues=1,queue_size=1024,mac=%s' % (s0, MAC_A)])
    gb = TestPmd('gb', ['net_virtio_user0,path=%s,queues=1,queue_size=1024,mac=%s' % (s1, MAC_B)])
    pids = [sw.proc.pid, ga.proc.pid, gb.proc.pid]
    prefixes = [sw.prefix, ga.prefix, gb.prefix]

    for t, p in ((ga, 0), (gb, 0), (sw, 0), (sw, 1)):
        tap.ok(t.wait_link_up(p, timeout=20), '%s port %d link up' % (t.name, p))
    tap.eq(ga.mac(0), MAC_A, 'guest A MAC from devargs')
    tap.eq(gb.mac(0), MAC_B, 'guest B MAC from devargs')

    # Idle testpmd -i must not spin on stdin: its main thread sleeps in read(2).
    st = open('/proc/%d/stat' % ga.proc.pid).read().rsplit(')', 1)[1].split()
    t0 = int(st[11]) + int(st[12])
    time.sleep(1.0)
    st = open('/proc/%d/stat' % ga.proc.pid).read().rsplit(')', 1)[1].split()
    ticks = int(st[11]) + int(st[12]) - t0
    tap.ok(ticks < os.sysconf('SC_CLK_TCK') // 10, 'idle testpmd -i uses <10%% CPU (%d ticks/s)' % ticks)

    sw.start_fwd('io')
    for t in (sw, ga, gb):
        t.clear_stats()
    gb.start_fwd('rxonly')
    sent = ga.send(0, FRAMES_BURSTS, BURST, pkt_len=64, dst=MAC_B)
    want = FRAMES_BURSTS * BURST
    tap.eq(sent, {0: want}, 'send() reports %d frames sent' % want)
    got = wait_for(lambda: gb.port_stats(0)['rx_packets'] >= want, 10)
    gb.stop_fwd()
    a, b = ga.port_stats(0), gb.port_stats(0)
    tap.eq(a['tx_packets'], want, 'guest A tx_packets == %d' % want)
    tap.eq(a['tx_bytes'], want * 64, 'guest A tx_bytes == %d' % (want * 64))
    tap.eq(b['rx_packets'], want, 'guest B rx_packets == %d' % want)
    tap.eq(b['rx_bytes'], want * 64, 'guest B rx_bytes == %d' % (want * 64))
    tap.eq(b['tx_packets'], 0, 'guest B sent nothing')
    s_0, s_1 = sw.port_stats(0), sw.port_stats(1)
    tap.eq((s_0['rx_packets'], s_1['tx_packets']), (want, want), 'switch forwarded port 0 -> 1')
    tap.ok(got, 'frames arrived in time')

    # The other way, 1518-byte frames, default destination (eth-peer unset is fine for io fwd).
    for t in (ga, gb):
        t.clear_stats()
    ga.start_fwd('rxonly')
    gb.send(0, 2, 16, pkt_len=1518, dst=MAC_A)
    wait_for(lambda: ga.port_stats(0)['rx_packets'] >= 32, 10)
    ga.stop_fwd()
    a = ga.port_stats(0)
    tap.eq((a['rx_packets'], a['rx_bytes']), (32, 32 * 1518), 'B -> A: 32 x 1518-byte frames')

    sw.stop_fwd()
    tap.eq(gb.kill(), -9, 'kill() SIGKILLs guest B')
    tap.ok(wait_for(lambda: not sw.link_up(1), 10), 'switch sees port 1 link down after guest B died')
    tap.eq(ga.close(), 0, 'guest A quits with 0')
    tap.eq(sw.close(), 0, 'switch quits with 0')
    tap.eq(pids_alive(pids), [], 'no testpmd process or zombie left')
    left = [f for p in prefixes for f in os.listdir(vnlib.HUGEPAGE_DIR) if f.startswith(p)]
    left += [p for p in prefixes if os.path.exists(os.path.join(vnlib.DPDK_RUN_DIR, p))]
    tap.eq(left, [], 'no hugepage files or runtime dirs left')
    tap.ok(re.match(r'^tp-switch-\d+$', sw.prefix), 'file prefix derived from name+pid')
    tap.done()


if __name__ == '__main__':
    main()
