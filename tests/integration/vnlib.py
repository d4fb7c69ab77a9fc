# SPDX-License-Identifier: MIT
# vnlib: stdlib-only helpers for vnicd integration tests (testpmd driver, vnicd runner, TAP).
"""Helpers for the vnicd integration tests.

TestPmd   drives an interactive dpdk-testpmd (-i) over a stdin/stdout pipe.
Vnicd     runs the daemon under test in its own temporary directory.
Tap       minimal TAP producer (ok/eq/skip_all/done).
cleanup   registry that kills every started process at exit or on SIGTERM.

Behaviours of dpdk-testpmd 22.11 this module relies on (checked empirically):

* stdout is a pipe, so testpmd's printf() output is block-buffered and would
  only appear at exit; the prompt itself is written with write(2). testpmd is
  therefore started under ``stdbuf -o0`` (coreutils) to make its stdout
  unbuffered. The cmdline library echoes every command line ("cmd\\r\\n")
  even when stdin is not a tty; cmd() strips that echo.
* An idle ``testpmd -i`` whose stdin is a pipe blocks in read(2): it does not
  busy-poll stdin (0% CPU). Only the forwarding lcore spins, and only between
  ``start`` and ``stop``.
* ``start tx_first N`` runs N txonly bursts on every *forwarding* port
  synchronously (the command returns after they are handed to the PMD), then
  starts the current forwarding mode. To send from one port only, send()
  first restricts the forwarding ports with ``set portlist P``.
* txonly drops (does not retry) what the PMD refuses when the TX ring is full;
  such frames are not counted in tx_packets. send() measures the tx_packets
  delta and tops up the shortfall, so exactly bursts*burst_size frames leave.
* ``show port stats`` rates (Rx-pps/Tx-pps) are computed since the previous
  ``show port stats`` of that port by anyone, so calling port_stats() resets
  the rate baseline.
* ``clear port stats`` on virtio-user/vhost ports races with a polling
  forwarding lcore (the PMD does a non-atomic ``stats += n`` on every poll and
  writes the old value back): ~30% of clears were lost while forwarding.
  clear_stats() therefore keeps a software baseline instead.
* ``start`` (and ``start tx_first``) first flushes the RX queues of the
  forwarding ports: frames waiting there are received (counted in
  rx_packets) and freed, not forwarded. Pass extra=['--no-flush-rx'] to avoid.
"""

import atexit
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HUGEPAGE_DIR = os.environ.get('VNLIB_HUGEPAGE_DIR', '/dev/hugepages')
DPDK_RUN_DIR = '/var/run/dpdk'
TESTPMD = os.environ.get('TESTPMD', 'dpdk-testpmd')
KEEP = os.environ.get('VNLIB_KEEP', '') not in ('', '0')  # keep temp dirs/logs for debugging


def _tmp_base():
    # Unix socket paths are limited to 107 bytes: keep the base short.
    return os.environ.get('VNLIB_TMPDIR', '/tmp')


def remove_dpdk_files(prefix):
    """Remove the hugepage files and runtime dir left by a DPDK process with this --file-prefix."""
    if not prefix or '/' in prefix:
        return
    for f in glob.glob(os.path.join(HUGEPAGE_DIR, glob.escape(prefix) + '*')) + \
            glob.glob(os.path.join('/dev/hugepages-vnicd', glob.escape(prefix) + '*')):
        try:
            os.unlink(f)
        except OSError:
            pass
    shutil.rmtree(os.path.join(DPDK_RUN_DIR, prefix), ignore_errors=True)


_PREFIX_RE = re.compile(r'^((?:tp|vn)-[A-Za-z0-9_]+-(\d+))')
_swept = False


def sweep_stale():
    """Remove hugepage files/runtime dirs of vnlib prefixes (tp-NAME-PID, vn-NAME-PID) whose
    test process PID is gone (e.g. it was SIGKILLed). Done once per process."""
    global _swept
    if _swept:
        return
    _swept = True
    names = []
    for d in (HUGEPAGE_DIR, DPDK_RUN_DIR):
        try:
            names += os.listdir(d)
        except OSError:
            pass
    for n in set(names):
        m = _PREFIX_RE.match(n)
        if m and int(m.group(2)) != os.getpid() and not os.path.exists('/proc/' + m.group(2)):
            remove_dpdk_files(m.group(1))


def _pdeathsig(sig, umask=None):
    """preexec_fn: the child gets `sig` when this (test) process dies, even by SIGKILL
    (and, given, the octal @umask)."""
    def fn():
        if umask:  # the unit's UMask=
            os.umask(int(umask, 8))
        try:
            import ctypes
            ctypes.CDLL(None, use_errno=True).prctl(1, int(sig))  # PR_SET_PDEATHSIG
        except Exception:
            pass
    return fn


def _reap(proc, timeout):
    """Wait for proc; SIGKILL its process group on timeout. Returns the exit code."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    _kill_group(proc, signal.SIGKILL)
    return proc.wait()


def _kill_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass


# --------------------------------------------------------------------------- cleanup registry

class _Cleanup:
    """Everything started registers here; run() kills it all (atexit and SIGTERM/SIGHUP)."""

    def __init__(self):
        self._items = []
        self._lock = threading.Lock()
        self._installed = False

    def _install(self):
        if self._installed:
            return
        self._installed = True
        atexit.register(self.run)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                signal.signal(sig, self._on_signal)
            except (ValueError, OSError):  # not the main thread
                pass

    def _on_signal(self, signum, frame):
        self.run()
        os._exit(128 + signum)

    def add(self, obj):
        """Register an object with a _cleanup() method, or a plain callable."""
        with self._lock:
            self._install()
            if obj not in self._items:
                self._items.append(obj)
        return obj

    def remove(self, obj):
        with self._lock:
            if obj in self._items:
                self._items.remove(obj)

    def run(self):
        with self._lock:
            items, self._items = self._items[::-1], []
        for obj in items:
            try:
                (obj._cleanup if hasattr(obj, '_cleanup') else obj)()
            except Exception as e:  # keep going: every process must die
                print('# cleanup of %r failed: %s' % (obj, e), file=sys.stderr)


cleanup = _Cleanup()


# --------------------------------------------------------------------------- TAP

class Tap:
    """Minimal TAP 13 producer. Plan is printed at the end by done()."""

    def __init__(self, skip_exit=None):
        self.n = 0
        self.failed = 0
        # meson 'exitcode' protocol: 77 = skipped. meson 'tap' protocol treats any non-zero
        # exit as an error, so a test registered with protocol: 'tap' should set
        # VNLIB_SKIP_EXIT=0 (the "1..0 # SKIP" plan then makes it a skip).
        if skip_exit is None:
            skip_exit = int(os.environ.get('VNLIB_SKIP_EXIT', '77'))
        self.skip_exit = skip_exit
        print('TAP version 13', flush=True)

    def ok(self, cond, desc=''):
        self.n += 1
        if not cond:
            self.failed += 1
        desc = ' | '.join(str(desc).splitlines())  # a TAP line is one line
        print('%sok %d - %s' % ('' if cond else 'not ', self.n, desc), flush=True)
        return bool(cond)

    def eq(self, a, b, desc=''):
        good = a == b
        self.ok(good, desc)
        if not good:
            self.diag('got:      %r' % (a,))
            self.diag('expected: %r' % (b,))
        return good

    def diag(self, msg):
        for line in str(msg).splitlines() or ['']:
            print('# ' + line, flush=True)

    def skip(self, desc, reason):
        self.n += 1
        print('ok %d - %s # SKIP %s' % (self.n, desc, reason), flush=True)

    def skip_all(self, reason):
        print('1..0 # SKIP %s' % reason, flush=True)
        cleanup.run()
        sys.exit(self.skip_exit)

    def bail(self, reason):
        print('Bail out! %s' % reason, flush=True)
        cleanup.run()
        sys.exit(1)

    def done(self):
        print('1..%d' % self.n, flush=True)
        cleanup.run()
        sys.exit(1 if self.failed or self.n == 0 else 0)


def wait_for(fn, timeout=20, step=0.1):
    """Call fn until it returns something true or timeout seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


def in_ci():
    return os.environ.get('CI', '').lower() == 'true'


def which_testpmd():
    return shutil.which(TESTPMD)


def hugepages_free():
    """Free 2M/1G hugepages from /proc/meminfo (0 if none), or None if hugetlbfs is not mounted."""
    mounted = False
    try:
        with open('/proc/mounts') as f:
            mounted = any(line.split()[2] == 'hugetlbfs' for line in f if len(line.split()) > 2)
    except OSError:
        pass
    if not mounted:
        return None
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('HugePages_Free:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def require_root_hugepages_testpmd(tap, min_free=256):
    """skip_all() unless root, hugepages (>= min_free free) and dpdk-testpmd are present.
    With CI=true a missing prerequisite is a failure (Bail out!, exit 1): nothing skips in CI."""
    problems = []
    if os.geteuid() != 0:
        problems.append('not root')
    free = hugepages_free()
    if free is None:
        problems.append('hugetlbfs not mounted')
    elif free < min_free:
        problems.append('only %d free hugepages (need %d)' % (free, min_free))
    if not which_testpmd():
        problems.append('%s not found (apt-get install dpdk-dev)' % TESTPMD)
    if not shutil.which('stdbuf'):
        problems.append('stdbuf (coreutils) not found')
    if not problems:
        return
    reason = ', '.join(problems)
    if in_ci():
        tap.bail('CI=true and prerequisites missing: ' + reason)
    tap.skip_all(reason)


# --------------------------------------------------------------------------- testpmd

class TestPmdError(RuntimeError):
    pass


_STAT_RE = re.compile(r'([A-Za-z]+-[A-Za-z]+):\s+(\d+)')


def parse_port_stats(text):
    """Parse `show port stats P` output into {'rx_packets': int, ...}.
    Keys: rx_packets rx_missed rx_bytes rx_errors rx_nombuf tx_packets tx_errors tx_bytes
    rx_pps rx_bps tx_pps tx_bps (the last four: "since last show")."""
    stats = {}
    for k, v in _STAT_RE.findall(text):
        stats[k.lower().replace('-', '_')] = int(v)
    return stats


class TestPmd:
    """An interactive dpdk-testpmd.

    TestPmd(name, vdevs, lcores='0@1,1@0', eth_peers=None, extra=[], eal_extra=[], ...)
      vdevs      list of --vdev strings, e.g. ['net_virtio_user0,path=/tmp/x.sock,queues=1']
      lcores     EAL --lcores; lcore 0 is the (idle) main lcore, lcore 1 forwards.
      eth_peers  {port: 'aa:bb:cc:dd:ee:ff'} -> --eth-peer=P,MAC
      extra      extra testpmd application arguments (after '--')
      eal_extra  extra EAL arguments (before '--')
      mem_mb     EAL -m (128); nb_mbufs --total-num-mbufs (8192, ~18 MB)
    """

    PROMPT = b'testpmd> '

    def __init__(self, name, vdevs, lcores='0@1,1@0', eth_peers=None, extra=(), eal_extra=(),
                 mem_mb=128, nb_mbufs=8192, start_timeout=30, binary=None, wait=True):
        self.name = name
        self.prefix = 'tp-%s-%d' % (re.sub(r'[^A-Za-z0-9_]', '_', name), os.getpid())
        self.vdevs = list(vdevs)
        self.dir = tempfile.mkdtemp(prefix='tp-%s-' % name, dir=_tmp_base())
        self.logfile = os.path.join(self.dir, 'testpmd.log')
        self._buf = bytearray()
        self._pos = 0              # consumed up to here
        self._cond = threading.Condition()
        self._eof = False
        self._fwd = False
        self._base = {}            # port -> raw counters at the last clear_stats()
        self.proc = None
        binary = binary or which_testpmd() or TESTPMD
        argv = ['stdbuf', '-o0', binary, '--lcores', lcores, '--no-pci', '--no-telemetry',
                '--file-prefix', self.prefix, '--single-file-segments', '-m', str(mem_mb)]
        for v in self.vdevs:
            argv += ['--vdev', v]
        argv += list(eal_extra)
        argv += ['--', '-i', '--disable-link-check', '--total-num-mbufs=%d' % nb_mbufs]
        for p, m in sorted((eth_peers or {}).items()):
            argv.append('--eth-peer=%d,%s' % (int(p), m))
        argv += list(extra)
        self.argv = argv
        sweep_stale()
        remove_dpdk_files(self.prefix)
        self._log = open(self.logfile, 'wb')
        cleanup.add(self)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     # an unprivileged vnicd must reach the guest's server
                                     # socket (as QEMU's under libvirt: README)
                                     preexec_fn=_pdeathsig(signal.SIGKILL, RUN_AS and '000'))
        self._reader = threading.Thread(target=self._read_loop, name='tp-' + name, daemon=True)
        self._reader.start()
        self.nb_ports = len(self.vdevs)
        if wait:
            self.wait_started(start_timeout)

    def wait_started(self, start_timeout=30):
        """Wait for the first prompt. A virtio-user port with server=1 blocks testpmd's
        start-up until its backend connects: construct with wait=False, attach the backend,
        then call this."""
        try:
            self._wait_prompt(start_timeout, 'startup')
            out = self.cmd('show port summary all')
            m = re.search(r'Number of available ports:\s*(\d+)', out)
            self.nb_ports = int(m.group(1)) if m else len(self.vdevs)
        except Exception:
            self._cleanup()
            raise

    # ---------------------------------------------------------------- I/O plumbing
    def _read_loop(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b''
            if data:
                try:
                    self._log.write(data)
                    self._log.flush()
                except (ValueError, OSError):
                    pass
            with self._cond:
                if not data:
                    self._eof = True
                else:
                    self._buf += data
                self._cond.notify_all()
            if not data:
                return

    def output(self):
        """Everything testpmd printed so far (str)."""
        with self._cond:
            return self._buf.decode('utf-8', 'replace')

    def tail(self, n=3000):
        return self.output()[-n:]

    def _wait_prompt(self, timeout, what):
        """Wait for the next prompt after _pos; return the bytes before it and consume them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                i = self._buf.find(self.PROMPT, self._pos)
                if i >= 0:
                    out = bytes(self._buf[self._pos:i])
                    self._pos = i + len(self.PROMPT)
                    return out.decode('utf-8', 'replace')
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    state = 'exited with %s' % self.proc.poll() if self._eof else 'timed out'
                    raise TestPmdError('testpmd %s: %s waiting for prompt after %s (%.0fs); '
                                       'output tail:\n%s' % (self.name, state, what, timeout,
                                                            self.tail()))
                self._cond.wait(min(left, 0.5))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cmd(self, line, timeout=10):
        """Send one command line; return its output (echo stripped) up to the next prompt."""
        if not self.alive():
            raise TestPmdError('testpmd %s is not running (rc=%s); output tail:\n%s'
                               % (self.name, self.proc and self.proc.poll(), self.tail()))
        with self._cond:
            self._pos = len(self._buf)   # drop unsolicited output (link events, ...)
        try:
            self.proc.stdin.write(line.encode() + b'\n')
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as e:
            raise TestPmdError('testpmd %s: cannot write %r: %s' % (self.name, line, e))
        out = self._wait_prompt(timeout, repr(line))
        out = out.replace('\r\n', '\n').replace('\r', '')
        first, _, rest = out.partition('\n')
        if first.strip() == line.strip():
            out = rest
        return out

    # ---------------------------------------------------------------- queries
    def port_stats(self, port, raw=False):
        """`show port stats P` as a dict (see parse_port_stats). Counters are relative to the
        last clear_stats() unless raw=True; the *_pps/*_bps rates are always as printed."""
        out = self.cmd('show port stats %d' % port)
        st = parse_port_stats(out)
        if 'rx_packets' not in st or 'tx_packets' not in st:
            raise TestPmdError('testpmd %s: cannot parse stats of port %s:\n%s' % (self.name, port, out))
        base = self._base.get(port)
        if base and not raw:
            for k, v in base.items():
                if k in st and not k.endswith(('_pps', '_bps')):
                    st[k] -= v
        return st

    def clear_stats(self, port='all'):
        """Zero the counters seen by port_stats(), in software (a baseline snapshot).
        `clear port stats` is not used: on virtio-user and vhost ports it races with a
        polling forwarding lcore, which writes the old counters back (measured: ~30% of
        clears lost while forwarding)."""
        for p in self._ports(port):
            self._base[p] = self.port_stats(p, raw=True)

    def port_info(self, port):
        return self.cmd('show port info %d' % port)

    def link_up(self, port):
        m = re.search(r'Link status:\s*(\w+)', self.port_info(port))
        return bool(m) and m.group(1).lower() == 'up'

    def wait_link_up(self, port, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            if self.link_up(port):
                return True
            if time.monotonic() > deadline:
                raise TestPmdError('testpmd %s: port %d link not up after %ss; output tail:\n%s'
                                   % (self.name, port, timeout, self.tail()))
            time.sleep(0.2)

    def mac(self, port):
        m = re.search(r'MAC address:\s*([0-9A-Fa-f:]{17})', self.port_info(port))
        if not m:
            raise TestPmdError('testpmd %s: no MAC for port %d' % (self.name, port))
        return m.group(1).lower()

    def _ports(self, port_or_all):
        if port_or_all in ('all', None):
            return list(range(self.nb_ports))
        if isinstance(port_or_all, int):
            return [port_or_all]
        return [int(p) for p in port_or_all]

    # ---------------------------------------------------------------- traffic
    def start_fwd(self, mode='io', ports='all'):
        """set fwd MODE on the given forwarding ports (default all) and start."""
        if self._fwd:
            self.stop_fwd()
        self.cmd('set fwd %s' % mode)
        self.cmd('set portlist %s' % ','.join(map(str, self._ports(ports))))
        out = self.cmd('start')
        self._fwd = True
        return out

    def stop_fwd(self):
        out = self.cmd('stop', timeout=20)
        self._fwd = False
        return out

    def send(self, port_or_all, bursts, burst_size=32, pkt_len=64, dst=None, attempts=20):
        """Transmit exactly bursts*burst_size frames of pkt_len bytes from each given port.

        Uses txonly frames (Ether/IPv4/UDP, src = port MAC, dst = eth-peer of the port, set
        to dst when given): set fwd rxonly; set portlist P; set burst; set txpkts;
        start tx_first BURSTS; stop. Frames the PMD refused (TX ring full) are not in
        tx_packets; the shortfall is re-sent in smaller tx_first rounds. Returns
        {port: frames sent}; raises TestPmdError if the exact count cannot be reached."""
        ports = self._ports(port_or_all)
        if self._fwd:
            self.stop_fwd()
        want = bursts * burst_size
        before = {p: self.port_stats(p, raw=True)['tx_packets'] for p in range(self.nb_ports)}
        self.cmd('set fwd rxonly')
        self.cmd('set txpkts %d' % pkt_len)
        if dst:
            for p in ports:
                self.cmd('set eth-peer %d %s' % (p, dst))
        sent = {p: 0 for p in ports}
        pending = {p: (bursts, burst_size) for p in ports}
        self.last_send_rounds = 0
        for _ in range(attempts):
            self.last_send_rounds += 1
            # Ports with the same remaining (bursts, size) can share one tx_first round.
            groups = {}
            for p, bs in pending.items():
                groups.setdefault(bs, []).append(p)
            for (nb, size), plist in sorted(groups.items()):
                self.cmd('set portlist %s' % ','.join(map(str, plist)))
                self.cmd('set burst %d' % size)
                self.cmd('start tx_first %d' % nb, timeout=30)
                self.cmd('stop', timeout=20)
            pending = {}
            for p in ports:
                sent[p] = self.port_stats(p, raw=True)['tx_packets'] - before[p]
                short = want - sent[p]
                if short < 0:
                    raise TestPmdError('testpmd %s: port %d sent %d > %d frames'
                                       % (self.name, p, sent[p], want))
                if short:
                    size = min(burst_size, short)
                    pending[p] = (short // size, size) if short % size == 0 else (1, short % size)
            if not pending:
                break
            time.sleep(0.05)  # let the peer drain its ring
        self.cmd('set burst 32')
        self.cmd('set portlist %s' % ','.join(map(str, range(self.nb_ports))))
        if pending:
            raise TestPmdError('testpmd %s: could only send %r of %d frames per port; tail:\n%s'
                               % (self.name, sent, want, self.tail()))
        for p in range(self.nb_ports):
            if p not in ports:
                d = self.port_stats(p, raw=True)['tx_packets'] - before[p]
                if d:
                    raise TestPmdError('testpmd %s: port %d sent %d frames, expected none'
                                       % (self.name, p, d))
        return sent

    # ---------------------------------------------------------------- teardown
    def close(self, timeout=15):
        """quit; SIGKILL on timeout. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'quit\n')
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                pass
        rc = _reap(self.proc, timeout)
        self._finish()
        return rc

    def kill(self):
        """SIGKILL (crash simulation). Returns the exit code (-9)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            _kill_group(self.proc, signal.SIGKILL)
        rc = self.proc.wait()
        self._finish()
        return rc

    def _finish(self):
        try:
            self.proc.stdin.close()
        except (OSError, ValueError):
            pass
        self._reader.join(5)
        try:
            self.proc.stdout.close()
        except (OSError, ValueError):
            pass
        try:
            self._log.close()
        except OSError:
            pass
        remove_dpdk_files(self.prefix)
        cleanup.remove(self)
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _cleanup(self):
        if self.proc is not None and self.proc.returncode is None:
            self.kill()
        elif self.proc is None:
            remove_dpdk_files(self.prefix)
            cleanup.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.returncode is None:
            self.close()
        return False

    def __repr__(self):
        return 'TestPmd(%s, pid=%s)' % (self.name, self.proc and self.proc.pid)


# --------------------------------------------------------------------------- vnicd

def af_packet_fanout_id(pid, ifname):
    """The PACKET_FANOUT group DPDK's net_af_packet (22.11) joins for @ifname in process
    @pid: (pid ^ ifindex) & 0xffff, per network namespace."""
    with open('/sys/class/net/%s/ifindex' % ifname) as f:
        return (pid ^ int(f.read())) & 0xffff


def avoid_fanout_clash(pairs, attempts=8):
    """@pairs: [(Vnicd, ifname)], several vnicd instances about to take af_packet uplinks on
    @ifname in this namespace. Two of them whose fanout group ids (pid ^ ifindex) are equal
    would share one group and the second probe fails ("could not set PACKET_FANOUT"): restart
    such an instance (a new pid) until the ids differ. A test artefact: one vnicd per host in
    production."""
    for _ in range(attempts):
        seen, clash = {}, None
        for vn, ifname in pairs:
            fid = af_packet_fanout_id(vn.pid, ifname)
            if fid in seen:
                clash = vn
                break
            seen[fid] = vn
        if clash is None:
            return
        clash.restart()


def build_dir():
    return os.environ.get('VNICD_BUILD_DIR') or os.path.join(REPO_DIR, 'build')


def vnicd_bin():
    return os.path.join(build_dir(), 'backend', 'vnicd')


def vnicctl_bin():
    return os.path.join(build_dir(), 'backend', 'vnicctl')


def scrape_metrics(path):
    """GET /metrics over the unix socket @path: the body."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(b'GET /metrics HTTP/1.0\r\n\r\n')
    data = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b'\r\n\r\n')
    if b' 200 ' not in head.split(b'\r\n')[0]:
        raise RuntimeError('metrics: %r' % head)
    return body.decode()


class VnicdError(RuntimeError):
    pass


# VNICD_RUN_AS=USER: vnicd runs as USER with only the capabilities of the shipped systemd
# unit (contrib/systemd/vnicd.service: AmbientCapabilities, NoNewPrivileges, UMask), on a
# hugetlbfs only that user may write, as the unit runs it.
RUN_AS = os.environ.get('VNICD_RUN_AS', '')
UNIT_FILE = os.path.join(REPO_DIR, 'contrib', 'systemd', 'vnicd.service')
USER_HUGE_DIR = '/dev/hugepages-vnicd'


def unit_setting(key):
    """The value of @key in the [Service] section of the shipped unit ('' if absent)."""
    with open(UNIT_FILE) as f:
        for line in f:
            if line.startswith(key + '='):
                return line.split('=', 1)[1].strip()
    return ''


def run_as_prefix(user):
    """setpriv argv that gives @user's ids and exactly the unit's capabilities."""
    caps = ','.join('+' + c.lower()[4:] for c in unit_setting('AmbientCapabilities').split())
    a = ['setpriv', '--reuid', user, '--regid', user, '--init-groups', '--inh-caps', caps,
         '--ambient-caps', caps, '--bounding-set', '-all,' + caps, '--pdeathsig', 'SIGTERM']
    if unit_setting('NoNewPrivileges') == 'yes':
        a.append('--no-new-privs')
    return a + ['--']


def user_hugetlbfs(user):
    """Mount (once) the hugetlbfs the unit's ExecStartPre mounts, owned by @user."""
    os.makedirs(USER_HUGE_DIR, exist_ok=True)
    if subprocess.run(['mountpoint', '-q', USER_HUGE_DIR]).returncode != 0:
        subprocess.run(['mount', '-t', 'hugetlbfs', '-o', 'uid=%s,gid=%s,mode=0770,pagesize=2M'
                        % (user, user), 'nodev', USER_HUGE_DIR], check=True)
    return USER_HUGE_DIR


class Vnicd:
    """The daemon under test, with its control socket, state dir, config and log in a temp dir.

    Vnicd(name, workers=1, extra_args=[], config=None, log_level='info', start=True)
      d.sock / d.state_dir / d.config_path / d.logfile / d.dir / d.prefix
      d.path('g0.sock')  -> a path in the temp dir (for vhost-user sockets)
    The config always gets vhost_socket_dirs = d.dir unless it sets vhost_socket_dirs itself,
    and libvirt_uri = (empty: no libvirt listener) unless it mentions libvirt_uri (a comment
    naming it keeps the default: the listener in auto mode).
    """

    def __init__(self, name, workers=1, extra_args=(), config=None, log_level='info', start=True):
        self.name = name
        self.workers = workers
        self.extra_args = list(extra_args)
        self.log_level = log_level
        self.prefix = 'vn-%s-%d' % (re.sub(r'[^A-Za-z0-9_]', '_', name), os.getpid())
        self.dir = tempfile.mkdtemp(prefix='vn-%s-' % name, dir=_tmp_base())
        self.sock = os.path.join(self.dir, 'ctl.sock')
        self.state_dir = os.path.join(self.dir, 'state')
        os.makedirs(self.state_dir, exist_ok=True)
        self.logfile = os.path.join(self.dir, 'vnicd.log')
        # server-mode vhost sockets only in vhost_socket_dirs: tests make theirs in self.dir
        if config is None:
            config = '[vnicd]\n'
        if not re.search(r'^\s*vhost_socket_dirs\s*=', config, re.M):
            config = config.rstrip('\n') + '\nvhost_socket_dirs = %s\n' % self.dir
        if RUN_AS:  # its own hugetlbfs, which vnicd finds (the only one it may write)
            user_hugetlbfs(RUN_AS)
        # no libvirt listener unless a test asks for one: a libvirtd on the host must not
        # reconcile the ports of a test (libvirt_uri defaults to qemu:///system when it runs);
        # a config that names libvirt_uri at all, even in a comment, is left as it is
        if 'libvirt_uri' not in config:
            config = config.rstrip('\n') + '\nlibvirt_uri =\n'
        self.config_path = os.path.join(self.dir, 'vnicd.conf')
        with open(self.config_path, 'w') as f:
            f.write(config)
        if RUN_AS:
            for d in (self.dir, self.state_dir):
                shutil.chown(d, RUN_AS, RUN_AS)
            os.chmod(self.dir, 0o755)
        self.proc = None
        self.exit_codes = []
        sweep_stale()
        cleanup.add(self)
        if start:
            self.start()

    def path(self, name):
        return os.path.join(self.dir, name)

    def argv(self):
        a = [vnicd_bin(), '--control-socket', self.sock, '--state-dir', self.state_dir,
             '--file-prefix', self.prefix, '--workers', str(self.workers),
             '--log-level', self.log_level]
        if self.config_path:
            a += ['--config', self.config_path]
        return (run_as_prefix(RUN_AS) if RUN_AS else []) + a + self.extra_args

    def start(self):
        if self.alive():
            raise VnicdError('vnicd %s already running' % self.name)
        exe = vnicd_bin()
        if not os.access(exe, os.X_OK):
            raise VnicdError('%s not built (set VNICD_BUILD_DIR)' % exe)
        with open(self.logfile, 'ab') as log:
            log.write(('==== start: %s\n' % ' '.join(self.argv())).encode())
            log.flush()
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=_pdeathsig(signal.SIGTERM, RUN_AS and
                                                               unit_setting('UMask')))
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def wait_ready(self, timeout=20):
        """Poll `vnicctl port list --json` until it exits 0; raise (with the log) on timeout/exit."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            if not self.alive():
                raise VnicdError('vnicd %s exited (rc=%s) before ready; log tail:\n%s'
                                 % (self.name, self.proc and self.proc.returncode, self.log()[-3000:]))
            last = self.ctl('port', 'list', '--json', check=False, timeout=5)
            if last.returncode == 0:
                return self
            if time.monotonic() > deadline:
                raise VnicdError('vnicd %s not ready after %ss (vnicctl rc=%s: %s); log tail:\n%s'
                                 % (self.name, timeout, last.returncode,
                                    (last.stderr or last.stdout).strip(), self.log()[-3000:]))
            time.sleep(0.1)

    def ctl(self, *args, check=True, timeout=30, input=None):
        """Run `vnicctl --socket SOCK args...` -> CompletedProcess (text)."""
        argv = [vnicctl_bin(), '--socket', self.sock] + [str(a) for a in args]
        try:
            cp = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input,
                                stdin=None if input is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            if check:
                raise VnicdError('%s timed out after %ss' % (' '.join(argv), timeout)) from e
            return subprocess.CompletedProcess(argv, 124, e.stdout or '', e.stderr or '')
        except FileNotFoundError as e:
            if check:
                raise VnicdError('%s not built (set VNICD_BUILD_DIR)' % argv[0]) from e
            return subprocess.CompletedProcess(argv, 127, '', str(e))
        if check and cp.returncode != 0:
            raise VnicdError('%s: exit %d\nstdout: %s\nstderr: %s'
                             % (' '.join(argv), cp.returncode, cp.stdout, cp.stderr))
        return cp

    def ctl_json(self, *args, timeout=30):
        cp = self.ctl(*(args + ('--json',)), timeout=timeout)
        try:
            return json.loads(cp.stdout)
        except ValueError as e:
            raise VnicdError('vnicctl %s: not JSON: %r' % (' '.join(args), cp.stdout)) from e

    def stop(self, timeout=20):
        """SIGTERM; SIGKILL after timeout. Returns the exit code (negative = killed by signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        rc = _reap(self.proc, timeout)
        self.exit_codes.append(rc)
        remove_dpdk_files(self.prefix)
        return rc

    def kill9(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            _kill_group(self.proc, signal.SIGKILL)
        rc = self.proc.wait()
        self.exit_codes.append(rc)
        remove_dpdk_files(self.prefix)
        return rc

    def restart(self, timeout=20, wait=True):
        """stop() (if running) then start again with the same socket, state dir and config."""
        if self.alive():
            self.stop()
        self.start()
        if wait:
            self.wait_ready(timeout)
        return self

    def log(self):
        try:
            with open(self.logfile, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def _cleanup(self):
        if self.alive():
            self.kill9()
        remove_dpdk_files(self.prefix)
        cleanup.remove(self)
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)

    def close(self):
        """stop() then remove the temp dir. Returns the exit code of stop()."""
        rc = self.stop() if self.alive() else (self.proc.returncode if self.proc else None)
        self._cleanup()
        return rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None and not KEEP:
            print('# vnicd %s log tail:\n%s' % (self.name, '\n'.join(
                '# ' + l for l in self.log()[-3000:].splitlines())), flush=True)
        self.close()
        return False

    def __repr__(self):
        return 'Vnicd(%s, pid=%s)' % (self.name, self.pid)
