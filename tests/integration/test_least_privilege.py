#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The shipped systemd unit: it verifies, its exposure score is the README's, and vnicd run
# as its user with exactly its capabilities (setpriv, as the unit would) works and holds no
# more. The vhost, tap and uplink suites run the same way (*_unpriv tests).
import os
import pwd
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vnlib  # noqa: E402
from vnlib import Tap, Vnicd  # noqa: E402

USER = 'vnicd'
CAP_BITS = {'CAP_NET_ADMIN': 12, 'CAP_NET_RAW': 13, 'CAP_IPC_LOCK': 14, 'CAP_SYS_ADMIN': 21}


def proc_status(pid):
    out = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k, _, v = line.partition(':')
            out[k] = v.strip()
    return out


def readme_exposure():
    with open(os.path.join(vnlib.REPO_DIR, 'README.md')) as f:
        m = re.search(r'`systemd-analyze security vnicd\.service`[^0-9]*([0-9]+\.[0-9])', f.read())
    return m.group(1) if m else None


def main():
    tap = Tap()
    unit = os.path.join(vnlib.build_dir(), 'vnicd.service')
    cp = subprocess.run(['systemd-analyze', 'verify', unit], capture_output=True, text=True)
    tap.ok(cp.returncode == 0 and not cp.stderr.strip(),
           'systemd-analyze verify passes on the built unit: %s' % cp.stderr.strip()[:300])
    cp = subprocess.run(['systemd-analyze', 'security', '--offline=true', unit],
                        capture_output=True, text=True)
    m = re.search(r'Overall exposure level for vnicd\.service: ([0-9.]+)', cp.stdout + cp.stderr)
    tap.ok(m is not None, 'systemd-analyze security scores it: %s' % (m and m.group(0)))
    tap.eq(m and m.group(1), readme_exposure(), 'the README reports that score')
    with open(unit) as f:
        text = f.read()
    for k in ('NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'ProtectHome=yes',
              'LockPersonality=yes', 'MemoryDenyWriteExecute=yes', 'User=vnicd'):
        tap.ok(k in text, 'the unit has %s' % k)

    want = 0
    caps = vnlib.unit_setting('AmbientCapabilities').split()
    for c in caps:
        want |= 1 << CAP_BITS[c]
    tap.eq(sorted(caps), sorted(CAP_BITS), 'the unit grants exactly NET_ADMIN, NET_RAW, '
           'IPC_LOCK and SYS_ADMIN, each justified in a comment: %s' % caps)
    tap.ok(all(('# ' + c) in text for c in CAP_BITS), '... every one explained in the unit')

    vnlib.RUN_AS = USER  # this test always runs vnicd as the unit does
    with Vnicd('lpriv') as vn:
        vn.wait_ready()
        st = proc_status(vn.pid)
        uid = pwd.getpwnam(USER).pw_uid
        tap.eq(st['Uid'].split()[0], str(uid), 'vnicd runs as user %s' % USER)
        tap.eq(int(st['CapEff'], 16), want, 'its effective capabilities are the unit\'s')
        tap.eq(int(st['CapBnd'], 16), want, 'and so is its bounding set')
        tap.eq(st.get('NoNewPrivs'), '1', 'no new privileges')
        tap.ok(re.search(r'memory: hugepages in %s' % re.escape(vnlib.USER_HUGE_DIR), vn.log()),
               'it found the hugetlbfs it may write by itself')
        vn.ctl('port', 'add', 'v1', 'vhost', '--path', vn.path('v1.sock'), '--server')
        tap.eq(pwd.getpwuid(os.stat(vn.path('v1.sock')).st_uid).pw_name, USER,
               'its vhost-user socket belongs to %s' % USER)
        state = os.path.join(vn.state_dir, 'state.json')
        vnlib.wait_for(lambda: os.path.exists(state), 10)  # saved just after the reply
        tap.eq(pwd.getpwuid(os.stat(state).st_uid).pw_name,
               USER, 'and so does its state file')
        tap.eq(vn.stop(), 0, 'it exits 0 on SIGTERM')
    tap.done()


if __name__ == '__main__':
    main()
