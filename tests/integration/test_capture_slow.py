#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Capture into a FIFO nobody reads: the main loop keeps answering, frames are dropped and counted.
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vnlib  # noqa: E402
from vnlib import Tap, Vnicd  # noqa: E402
from test_accounting import MAC, attach, send, tshark  # noqa: E402


def answers_fast(tap, vn, what, *args):
    t0 = time.monotonic()
    cp = vn.ctl(*args, check=False, timeout=3)
    dt = time.monotonic() - t0
    tap.ok(cp.returncode == 0 and dt < 1.0, '%s answers within a second while the capture is stuck '
           '(rc %d, %.2f s)' % (what, cp.returncode, dt))


def main():
    tap = Tap()
    vnlib.require_root_hugepages_testpmd(tap)
    if not vnlib.shutil.which('tshark'):
        if vnlib.in_ci():
            tap.bail('tshark is needed')
        tap.skip_all('tshark missing')
    with Vnicd('capslow') as vn:
        vn.wait_ready()
        gs = attach(tap, vn, 'ab')
        fifo = vn.path('stuck.fifo')
        os.mkfifo(fifo)
        # a reader that never reads (without one, vnicctl's open() of the FIFO would block)
        rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        cap = subprocess.Popen([vnlib.vnicctl_bin(), '--socket', vn.sock, 'capture', 'b', '--out', fifo,
                                '--json'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        tap.ok(cap.poll() is None, 'vnicctl capture into a FIFO started')
        # ~12 MB of pcapng: the 64 KiB pipe many times over, and more than vnicd buffers
        send(gs, 'a', MAC['b'], 8192, 1400, ['b'])
        time.sleep(0.5)
        answers_fast(tap, vn, 'ping', 'ping')
        answers_fast(tap, vn, 'port show', 'port', 'show', 'b')
        # another capture, into a regular file, still works
        pcap = vn.path('a.pcapng')
        other = subprocess.Popen([vnlib.vnicctl_bin(), '--socket', vn.sock, 'capture', 'a', '--out', pcap,
                                  '--count', '32'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        send(gs, 'b', MAC['a'], 32, 64, ['a'])
        try:
            o, e = other.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            other.kill()
            o, e = other.communicate()
        tap.ok(other.returncode == 0, 'a second capture (regular file, --count 32) finishes: %s%s'
               % (o.strip(), e.strip()[-300:]))
        # stop the stuck capture as Ctrl-C does: its status reports the drops
        cap.send_signal(signal.SIGINT)
        try:
            out, err = cap.communicate(timeout=5)
            st = json.loads(out) if cap.returncode == 0 else {}
        except (subprocess.TimeoutExpired, ValueError) as e:
            cap.kill()
            out, err = cap.communicate()
            st = {}
            tap.diag('vnicctl capture: %s' % e)
        tap.ok(st.get('state') == 'done' and st.get('dropped_slow_reader', 0) > 0 and
               st.get('dropped', 0) >= st.get('dropped_slow_reader', 0),
               'the stuck capture stops and reports frames dropped for the slow reader: %s' % out.strip())
        tap.ok(st.get('packets', 0) > 0, 'what fitted the buffer was counted as written (%s)'
               % st.get('packets'))
        try:
            rows = len(tshark(pcap, ['frame.len']))
        except RuntimeError as e:
            rows = str(e)
        tap.eq(rows, 32, 'tshark reads the 32 frames of the second capture')
        # more stuck output, then SIGTERM: vnicd leaves promptly and cleanly
        cap = subprocess.Popen([vnlib.vnicctl_bin(), '--socket', vn.sock, 'capture', 'b', '--out', fifo],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        send(gs, 'a', MAC['b'], 4096, 1400, ['b'])
        answers_fast(tap, vn, 'ping (second stuck capture)', 'ping')
        t0 = time.monotonic()
        rc = vn.stop(timeout=5)
        dt = time.monotonic() - t0
        tap.ok(rc == 0 and dt < 5, 'vnicd exits 0 on SIGTERM with a capture stuck (rc %s, %.1f s)' % (rc, dt))
        cap.kill()
        cap.communicate()
        os.close(rfd)
        for g in gs.values():
            g.close()
    tap.done()


if __name__ == '__main__':
    main()
