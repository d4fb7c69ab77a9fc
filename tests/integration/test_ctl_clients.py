#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Hostile control clients: idle connections, readers that never read, deep JSON; root still gets in.
import grp
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vnlib  # noqa: E402
from vnlib import Tap, Vnicd, wait_for  # noqa: E402

NOBODY = 65534
GROUP = 'users'  # socket_group; nobody is not a member in the user database
IDLE = 6  # ctl_idle_timeout of the daemon under test
# an interpreter nobody may run (sys.executable may sit under root's home)
PY_NOBODY = '/usr/bin/python3' if os.access('/usr/bin/python3', os.X_OK) else sys.executable

# Run as nobody with GROUP only as a supplementary group (setgroups): vnicd can only learn the
# membership from SO_PEERGROUPS. Opens N connections, reports how many were refused, then on
# each line of stdin reports how many of the accepted ones vnicd has closed since.
HELPER = r'''
import json, select, socket, sys
path, n = sys.argv[1], int(sys.argv[2])
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    socks.append(s)
accepted, refused, errors = [], 0, []
select.select([], [], [], 0.5)  # vnicd answers refused ones at once
ready, _, _ = select.select(socks, [], [], 0)
for s in socks:
    if s in ready:
        data = s.recv(4096)
        if b'too many' in data:
            refused += 1
        else:
            errors.append(data.decode(errors='replace')[:100])
        s.close()
    else:
        accepted.append(s)
print(json.dumps({'accepted': len(accepted), 'refused': refused, 'errors': errors}), flush=True)
for line in sys.stdin:
    if line.startswith('ping'):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(path)
            s.sendall(b'{"cmd":"ping"}\n')
        except OSError:
            pass  # a refused client may be closed before it writes: its reason is still buffered
        try:
            print(json.dumps({'ping': s.recv(4096).decode(errors='replace')}), flush=True)
        except OSError as e:
            print(json.dumps({'ping': 'error: %s' % e}), flush=True)
        s.close()
        continue
    closed = 0
    for s in accepted:
        r, _, _ = select.select([s], [], [], 0)
        if r and s.recv(1) == b'':
            closed += 1
    print(json.dumps({'closed': closed}), flush=True)
'''


def rss_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def raw_request(path, data):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall(data)
    buf = b''
    while not buf.endswith(b'\n'):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return buf


class Helper:
    def __init__(self, vn, n, gid):
        self.p = subprocess.Popen([PY_NOBODY, '-c', HELPER, vn.sock, str(n)], cwd='/',
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  user=NOBODY, group=NOBODY, extra_groups=[gid])
        self.first = json.loads(self.p.stdout.readline() or '{}')

    def ask(self, line):
        self.p.stdin.write(line + '\n')
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline() or '{}')

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


def test_idle_and_root_slot(tap, vn, gid):
    t0 = time.monotonic()
    h = Helper(vn, 40, gid)
    tap.eq((h.first.get('accepted'), h.first.get('refused'), h.first.get('errors')), (31, 9, []),
           '40 idle connections of a socket_group member (supplementary group only): 31 accepted, '
           '9 refused, the last of 32 slots kept for root')
    cp = vn.ctl('ping', check=False, timeout=5)
    tap.ok(cp.returncode == 0, 'root\'s vnicctl ping works with 40 idle connections open: %s'
           % (cp.stdout + cp.stderr).strip()[:200])
    r = h.ask('ping')
    tap.ok('too many control clients' in r.get('ping', ''),
           'another non-root client is refused at max_clients - 1: %s' % r.get('ping', '')[:120])
    tap.ok(time.monotonic() - t0 < IDLE - 1, 'checked before the idle timeout (%.1f s)'
           % (time.monotonic() - t0))
    time.sleep(IDLE + 2.5)
    tap.eq(h.ask('closed').get('closed'), 31, 'after ctl_idle_timeout = %d s vnicd closed all 31 idle '
           'connections' % IDLE)
    r = h.ask('ping')
    tap.ok('"ok":true' in r.get('ping', '').replace(' ', ''),
           'a group member is served again once the idle ones are gone: %s' % r.get('ping', '')[:120])
    h.close()
    tap.ok('ctl_idle_timeout' in vn.log(), 'the idle close is logged')


def test_nesting(tap, vn):
    resp = raw_request(vn.sock, b'[' * 60000 + b'\n')
    tap.ok(b'"ok":false' in resp.replace(b' ', b'') and b'nested deeper than 32' in resp,
           '60000 [ on one line are refused before parsing: %r' % resp[:120])
    resp = raw_request(vn.sock, b'{"cmd":"ping","args":{"s":"' + b'[' * 1000 + b'"}}\n')
    tap.ok(b'"ok":true' in resp.replace(b' ', b''), 'brackets inside a string are not nesting')


def test_slow_reader(tap, vn):
    for i in range(16):
        vn.ctl('net', 'add', 'net%02d-with-a-longish-name' % i, 'bridge')
    reply = len(raw_request(vn.sock, b'{"cmd":"net.list"}\n'))
    pid = vn.pid
    base = rss_kb(pid)
    peak = [base]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                peak[0] = max(peak[0], rss_kb(pid))
            except OSError:
                return
            time.sleep(0.01)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(vn.sock)
    s.settimeout(2)
    line = b'{"cmd":"net.list"}\n'
    chunk = line * 200
    sent, closed, served_meanwhile = 0, None, None
    deadline = time.monotonic() + 20
    # 2 MiB of requests owe ~160 MiB of replies: enough to show the bound, and without one
    # a vnicd that buffers everything still does not take the test machine down
    while time.monotonic() < deadline and sent < 2 * 1024 * 1024:
        try:
            s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError) as e:
            closed = type(e).__name__
            break
        except socket.timeout:
            pass  # vnicd not reading: check whether it closed us
        sent += len(chunk)
        if served_meanwhile is None and sent * reply // len(line) > 2 * 1024 * 1024:
            cp = vn.ctl('ping', check=False, timeout=3)
            served_meanwhile = cp.returncode == 0
    if closed is None:  # closed but we did not notice while sending: EOF after what was sent
        try:
            s.settimeout(5)
            while s.recv(1 << 20):
                pass
            closed = 'EOF'
        except socket.timeout:
            pass  # still connected, still answering
        except OSError as e:
            closed = type(e).__name__
    s.close()
    time.sleep(0.3)
    stop.set()
    th.join()
    tap.ok(closed is not None, 'a client sending net.list (%d B replies) without reading is '
           'disconnected (%s after %d KiB of requests)' % (reply, closed, sent // 1024))
    tap.ok(sent * reply // len(line) < 64 * 1024 * 1024,
           '... after about 8 MiB of unread replies, not hundreds (%d MiB would have been owed)'
           % (sent * reply // len(line) // (1024 * 1024)))
    grow = (peak[0] - base) // 1024
    tap.ok(grow < 40, 'vnicd\'s RSS stays bounded (%d MiB -> peak %d MiB)' % (base // 1024, peak[0] // 1024))
    tap.ok(served_meanwhile, 'another client is served while the slow reader has replies pending')
    cp = vn.ctl('net', 'list', check=False, timeout=5)
    tap.ok(cp.returncode == 0 and 'net15' in cp.stdout, 'and after it was disconnected')
    tap.eq(vn.log().count('does not read its replies'), 1, 'logged once')


def main():
    tap = Tap()
    if os.geteuid() != 0:
        if vnlib.in_ci():
            tap.bail('CI=true and not root')
        tap.skip_all('not root')
    try:
        gid = grp.getgrnam(GROUP).gr_gid
    except KeyError:
        tap.bail('group %s missing' % GROUP)
    cfg = '[vnicd]\nsocket_group = %s\nctl_idle_timeout = %d\n' % (GROUP, IDLE)
    with Vnicd('ctlcl', config=cfg) as vn:
        os.chmod(vn.dir, 0o711)  # nobody must reach the socket; its mode and group do the rest
        vn.wait_ready()
        test_idle_and_root_slot(tap, vn, gid)
        test_nesting(tap, vn)
        test_slow_reader(tap, vn)
        tap.ok(vn.alive(), 'vnicd still running')
        tap.eq(vn.stop(), 0, 'vnicd exits 0')
    tap.done()


if __name__ == '__main__':
    main()
