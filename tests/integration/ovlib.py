# SPDX-License-Identifier: MIT
# ovlib: shared helpers of the overlay tests (test_overlay.py, test_overlay_hosts.py).
"""Helpers for the overlay integration tests, on top of vnlib and netnslib.

reexec_for_scapy()  run under /usr/bin/python3 when scapy lives only there (Debian).
Step                one sub-test: an exception (e.g. a vnicctl command vnicd does not know
                    yet) becomes one "not ok" line with the error, and the test goes on.
pings()/ping_works()/no_ping()   ping from a namespace.
tshark_fields()     rows of fields of a pcap (nested layers: comma separated values).
find_key()          the first value of a member anywhere in a JSON object.
"""

import os
import subprocess
import sys
import traceback

import vnlib
from netnslib import run


def reexec_for_scapy():
    """Debian's python3-scapy lives in the system interpreter: re-exec there if needed."""
    try:
        import scapy  # noqa: F401
    except ImportError:
        if os.path.exists('/usr/bin/python3') and sys.executable != '/usr/bin/python3' and \
                subprocess.run(['/usr/bin/python3', '-c', 'import scapy.all'],
                               capture_output=True).returncode == 0:
            os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)


class Step:
    """with Step(tap, 'name'): ... -- an exception inside is reported as one failed test
    (with its message and where it came from) and swallowed, so that the next step runs;
    `ok` tells whether the block ran to its end."""

    def __init__(self, tap, name):
        self.tap, self.name, self.ok = tap, name, False

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is None:
            self.ok = True
            return False
        if et in (KeyboardInterrupt, SystemExit):
            return False
        first = str(ev).strip().splitlines()[:1] or ['']
        self.tap.ok(False, '%s: %s: %s' % (self.name, et.__name__, first[0][:300]))
        self.tap.diag(''.join(traceback.format_exception(et, ev, tb))[-3000:])
        return True


def pings(ns, addr, count=1, wait=1, extra=()):
    argv = ['ping', '-c', count, '-W', wait, '-i', '0.2'] + list(extra) + [addr]
    return ns.run(*argv, check=False, timeout=30).returncode == 0


def ping_works(ns, addr, timeout=10):
    """True once one ping gets an answer (the first ones may resolve ARP/ND and VTEPs)."""
    return bool(vnlib.wait_for(lambda: pings(ns, addr), timeout, 0.2))


def no_ping(ns, addr, count=3):
    """True if none of @count pings (1 s apart at most) is answered."""
    return not pings(ns, addr, count=count, wait=1)


def tshark_fields(path, dfilter, *fields, decode_as=()):
    """tshark -r @path -Y @dfilter -T fields: rows (lists) of @fields; a field present in
    several layers (outer and inner IP) is one string 'outer,inner'. UDP checksums are
    verified (udp.checksum.status 1 good, 0 bad, 2 not verified)."""
    argv = ['tshark', '-n', '-r', path, '-o', 'udp.check_checksum:TRUE', '-Y', dfilter, '-T',
            'fields', '-E', 'occurrence=a', '-E', 'aggregator=,']
    for d in decode_as:
        argv += ['-d', d]
    for f in fields:
        argv += ['-e', f]
    cp = run(argv, timeout=120)
    return [line.split('\t') for line in cp.stdout.splitlines() if line.strip()]


def udp_flows(ns, dst, sports, dport=5555, count=3, v6=False):
    """Send @count datagrams from each source port in @sports to @dst:@dport from @ns."""
    code = r'''
import socket, sys, time
dst, dport, n, fam = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for sp in sys.argv[5:]:
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind(('', int(sp)))
    for i in range(n):
        s.sendto(b'OVFLOW-%s-%d' % (sp.encode(), i), (dst, dport))
        time.sleep(0.02)
    s.close()
'''
    import socket
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    ns.run(sys.executable, '-c', code, dst, dport, count, int(fam), *sports)


def find_key(o, key):
    """The first value of member @key anywhere in JSON object @o, or None."""
    if isinstance(o, dict):
        if key in o:
            return o[key]
        for v in o.values():
            r = find_key(v, key)
            if r is not None:
                return r
    if isinstance(o, list):
        for v in o:
            r = find_key(v, key)
            if r is not None:
                return r
    return None
