# SPDX-License-Identifier: MIT
# ovslib: Open vSwitch with DPDK as the peer of the Python benchmarks (idle_cpu.py, latency.py):
# a private ovsdb-server and ovs-vswitchd-dpdk in a temporary directory, a netdev bridge with
# NORMAL learning and dpdkvhostuser ports (OVS is the socket server), one PMD thread.
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
import vnlib  # noqa: E402

OVS_VSWITCHD = os.environ.get('OVS_VSWITCHD',
                              '/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk')
SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema'


def available():
    """Return: None when OVS-DPDK can run here, else why not."""
    if not os.access(OVS_VSWITCHD, os.X_OK):
        return '%s missing (apt-get install openvswitch-switch-dpdk)' % OVS_VSWITCHD
    for tool in ('ovsdb-server', 'ovsdb-tool', 'ovs-vsctl'):
        if not shutil.which(tool):
            return '%s missing' % tool
    return None


class OvsDpdk:
    """OvsDpdk(name, pmd_cpu=1, socket_mem=256): started at construction; close() stops it.
    o.add_port(name) -> the vhost-user socket path a virtio-user guest connects to;
    o.pid is ovs-vswitchd's (its CPU time is the switch's)."""

    def __init__(self, name, pmd_cpu=1, socket_mem=256):
        self.dir = tempfile.mkdtemp(prefix='ovs-%s-' % name)
        self.prefix = 'ovs-%s-%d' % (name, os.getpid())
        self.procs = []
        self.env = dict(os.environ, OVS_RUNDIR=self.dir, OVS_DBDIR=self.dir,
                        OVS_LOGDIR=self.dir, OVS_SYSCONFDIR=self.dir)
        vnlib.cleanup.add(self)
        d = self.dir
        subprocess.run(['ovsdb-tool', 'create', d + '/conf.db', SCHEMA], check=True,
                       env=self.env)
        self._spawn(['ovsdb-server', '--remote=punix:%s/db.sock' % d,
                     '--pidfile=%s/ovsdb.pid' % d, '--log-file=%s/ovsdb.log' % d, d + '/conf.db'])
        if not vnlib.wait_for(lambda: os.path.exists(d + '/db.sock'), timeout=10):
            raise RuntimeError('ovsdb-server did not start (%s)' % d)
        self.vsctl('--no-wait', 'init')
        self.vsctl('--no-wait', 'set', 'Open_vSwitch', '.', 'other_config:dpdk-init=true',
                   'other_config:dpdk-extra=--no-pci --file-prefix=%s' % self.prefix,
                   'other_config:dpdk-socket-mem=%d' % socket_mem,
                   'other_config:dpdk-lcore-mask=0x1',
                   'other_config:pmd-cpu-mask=0x%x' % (1 << pmd_cpu))
        self.vswitchd = self._spawn([OVS_VSWITCHD, 'unix:%s/db.sock' % d,
                                     '--pidfile=%s/vswitchd.pid' % d,
                                     '--log-file=%s/vswitchd.log' % d])
        self.pid = self.vswitchd.pid
        self.vsctl('add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev')

    def _spawn(self, argv):
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=self.env, start_new_session=True)
        self.procs.append(p)
        return p

    def vsctl(self, *args):
        return subprocess.run(['ovs-vsctl', '--db=unix:%s/db.sock' % self.dir, '--timeout=60']
                              + list(args), check=True, env=self.env, capture_output=True,
                              text=True).stdout

    def add_port(self, name):
        self.vsctl('add-port', 'br0', name, '--', 'set', 'Interface', name,
                   'type=dpdkvhostuser')
        path = os.path.join(self.dir, name)
        if not vnlib.wait_for(lambda: os.path.exists(path), timeout=20):
            raise RuntimeError('OVS vhost socket %s missing' % path)
        return path

    def close(self):
        for p in self.procs[::-1]:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []
        vnlib.remove_dpdk_files(self.prefix)
        vnlib.cleanup.remove(self)
        if not vnlib.KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)

    _cleanup = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def cpu_seconds(pid):
    """CPU seconds process @pid ran so far: the sum of its threads' run time from
    /proc/PID/task/*/schedstat (nanoseconds; /proc/PID/stat counts whole clock ticks).
    Threads that exited are not counted: measure over a window where none does."""
    total = 0
    for tid in os.listdir('/proc/%d/task' % pid):
        try:
            with open('/proc/%d/task/%s/schedstat' % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9


def cpu_share(pid, seconds):
    """Share of one CPU process @pid used over the next @seconds."""
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0)
