# SPDX-License-Identifier: MIT
# netnslib: network namespaces, raw frames, iperf3 and captures for the TAP port tests (stdlib only).
"""Helpers for the tap/vnet integration tests, on top of vnlib.

Netns        a network namespace (`ip netns add`), deleted at exit even on failure, with
             the processes started in it.
require()    skip (or, with CI=true, fail) when root or a needed program is missing.
send_frames  write raw Ethernet frames from a namespace (AF_PACKET).
FrameCounter count frames of one EtherType/source MAC arriving on a namespace's device.
Iperf3       an iperf3 server in one namespace, clients in another, JSON results.
Capture      tcpdump of received frames in a namespace, checked with tshark.

Names are derived from the test's pid so that concurrent test runs do not collide.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import vnlib

PID = os.getpid()


def uniq(tag):
    """A short unique name (fits a 15-character interface name): e.g. 'v12345a'."""
    return 'v%d%s' % (PID % 100000, tag)


def run(argv, check=True, timeout=60, **kw):
    cp = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout,
                        stdin=subprocess.DEVNULL, **kw)
    if check and cp.returncode != 0:
        raise RuntimeError('%s: exit %d: %s' % (' '.join(map(str, argv)), cp.returncode,
                                                 (cp.stderr or cp.stdout).strip()))
    return cp


def require(tap, programs=(), testpmd=False):
    """skip_all() unless root (and hugepages/testpmd when asked) and @programs are there;
    with CI=true a missing prerequisite is a failure instead."""
    if testpmd:
        vnlib.require_root_hugepages_testpmd(tap)
    problems = []
    if os.geteuid() != 0:
        problems.append('not root')
    for p in ('ip',) + tuple(programs):
        if not shutil.which(p):
            problems.append('%s not found' % p)
    if not os.path.exists('/dev/net/tun'):
        problems.append('/dev/net/tun missing')
    if not problems:
        return
    reason = ', '.join(problems)
    if vnlib.in_ci():
        tap.bail('CI=true and prerequisites missing: ' + reason)
    tap.skip_all(reason)


class Netns:
    """`ip netns add NAME`; everything started with popen() dies with it."""

    def __init__(self, tag, ipv6=False):
        self.name = uniq(tag)
        self.procs = []
        run(['ip', 'netns', 'del', self.name], check=False)
        run(['ip', 'netns', 'add', self.name])
        vnlib.cleanup.add(self)
        self.ip('link', 'set', 'lo', 'up')
        for k in ('all', 'default'):
            if not ipv6:  # no router solicitations, DAD or MLD reports: exact frame counts
                self.run('sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % k)
            else:  # IPv6, but no router solicitations: the kernel repeats them for ever
                # (backing off), so one could land in a test's exact frame count
                self.run('sysctl', '-qw', 'net.ipv6.conf.%s.router_solicitations=0' % k)

    def exec_argv(self, argv):
        return ['ip', 'netns', 'exec', self.name] + [str(a) for a in argv]

    def run(self, *argv, check=True, timeout=60):
        return run(self.exec_argv(argv), check=check, timeout=timeout)

    def ip(self, *args, check=True):
        return run(['ip', '-n', self.name] + list(args), check=check)

    def popen(self, *argv, **kw):
        kw.setdefault('stdout', subprocess.PIPE)
        kw.setdefault('stderr', subprocess.PIPE)
        kw.setdefault('text', True)
        p = subprocess.Popen(self.exec_argv(argv), stdin=subprocess.DEVNULL,
                             start_new_session=True, preexec_fn=vnlib._pdeathsig(signal.SIGKILL),
                             **kw)
        self.procs.append(p)
        return p

    def python(self, code, *args, **kw):
        """Run a Python snippet in the namespace (Popen)."""
        return self.popen(sys.executable, '-c', textwrap.dedent(code), *args, **kw)

    def links(self):
        """{name: ip -j link entry} of the namespace."""
        out = self.ip('-j', '-d', 'link', 'show').stdout
        return {e['ifname']: e for e in json.loads(out or '[]')}

    def link(self, ifname):
        return self.links().get(ifname)

    def rx_packets(self, ifname):
        out = self.ip('-j', '-s', 'link', 'show', ifname).stdout
        return json.loads(out)[0]['stats64']['rx']['packets']

    def _cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    pass
        run(['ip', 'netns', 'del', self.name], check=False)
        vnlib.cleanup.remove(self)

    def close(self):
        self._cleanup()


def host_links():
    out = run(['ip', '-j', '-d', 'link', 'show']).stdout
    return {e['ifname']: e for e in json.loads(out or '[]')}


def delete_link_at_exit(ifname, ns=None):
    """Make sure a device is gone at exit (e.g. a vnet device left after a failure)."""
    def rm():
        argv = ['ip'] + (['-n', ns] if ns else []) + ['link', 'del', ifname]
        run(argv, check=False)
    vnlib.cleanup.add(rm)
    return rm


# --------------------------------------------------------------------------- raw frames

ETHERTYPE = 0x88b5  # IEEE 802 local experimental: nothing else on the link uses it

_SENDER = r'''
import socket, sys, time
ifname, dst, src, count, etype, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5], 0), int(sys.argv[6])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
hdr = bytes.fromhex(dst.replace(':', '')) + bytes.fromhex(src.replace(':', '')) + etype.to_bytes(2, 'big')
for i in range(count):
    body = i.to_bytes(4, 'big')
    frame = hdr + body + bytes(max(0, size - len(hdr) - len(body)))
    while True:
        try:
            s.send(frame)
            break
        except (BlockingIOError, OSError):
            time.sleep(0.001)
    if i % 64 == 63:
        time.sleep(0.002)
print(count)
'''


def send_frames(ns, ifname, dst, src, count, size=64, etype=ETHERTYPE):
    """Send @count frames dst<-src of EtherType @etype from device @ifname of namespace @ns."""
    cp = ns.run(sys.executable, '-c', _SENDER, ifname, dst, src, count, hex(etype), size,
                timeout=120)
    return int(cp.stdout.strip() or 0)


_COUNTER = r'''
import socket, sys, signal, select
ifname, etype, src = sys.argv[1], int(sys.argv[2], 0), sys.argv[3].lower()
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(etype))
s.bind((ifname, 0))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
n = 0
stop = False
def on_term(*a):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
print('ready', flush=True)
while not stop:
    r, _, _ = select.select([s], [], [], 0.1)
    while r:
        try:
            data, addr = s.recvfrom(65535, socket.MSG_DONTWAIT)
        except BlockingIOError:
            break
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        if src == '-' or data[6:12].hex(':') == src:
            n += 1
print(n, flush=True)
'''


class FrameCounter:
    """Counts frames of EtherType @etype (from @src MAC, or any) received on @ifname in @ns."""

    def __init__(self, ns, ifname, etype=ETHERTYPE, src=None):
        self.p = ns.python(_COUNTER, ifname, hex(etype), src or '-')
        line = self.p.stdout.readline().strip()
        if line != 'ready':
            raise RuntimeError('frame counter did not start: %r %s' % (line, self.p.stderr.read()))

    def stop(self, settle=0.5):
        time.sleep(settle)
        self.p.send_signal(signal.SIGTERM)
        out, err = self.p.communicate(timeout=10)
        return int(out.strip().splitlines()[-1])


# --------------------------------------------------------------------------- iperf3

SHA_SERVER = r'''
import hashlib, socket, sys
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
s.settimeout(15)
print('listening', flush=True)
c, _ = s.accept()
c.settimeout(15)
h, n = hashlib.sha256(), 0
while True:
    b = c.recv(1 << 20)
    if not b:
        break
    h.update(b)
    n += len(b)
print(n, h.hexdigest(), flush=True)
'''

SHA_CLIENT = r'''
import hashlib, os, socket, sys
data = os.urandom(int(sys.argv[3]))
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
c.sendall(data)
c.shutdown(socket.SHUT_WR)
c.recv(1)
print(len(data), hashlib.sha256(data).hexdigest(), flush=True)
'''


def sha_transfer(src, dst, addr, port, nbytes, timeout=40):
    """@nbytes random bytes over TCP from namespace @src to a server in @dst at @addr:@port.
    Return: (what was sent, what arrived) as 'LENGTH SHA256' strings (equal when intact),
    or reasons."""
    srv = dst.python(SHA_SERVER, addr, port)
    try:
        if srv.stdout.readline().strip() != 'listening':
            return 'server did not start', srv.stderr.read()[-300:]
        cli = src.python(SHA_CLIENT, addr, port, nbytes)
        try:
            out, err = cli.communicate(timeout=timeout)
            sent = out.strip() or 'client failed: ' + err.strip()[-200:]
        except subprocess.TimeoutExpired:
            cli.kill()
            cli.wait()
            sent = 'client timed out'
        try:
            out, err = srv.communicate(timeout=timeout)
            got = out.strip() or 'server failed: ' + err.strip()[-200:]
        except subprocess.TimeoutExpired:
            got = 'server timed out'
        return sent, got
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()


def veth_bridge(br, pairs):
    """The Linux bridge br0 in namespace @br joining each (namespace, ifname) of @pairs by a
    veth pair whose end @ifname is in that namespace (up)."""
    br.ip('link', 'add', 'br0', 'type', 'bridge')
    br.ip('link', 'set', 'br0', 'up')
    for i, (ns, ifn) in enumerate(pairs):
        peer = 'p%d' % i
        br.ip('link', 'add', peer, 'type', 'veth', 'peer', 'name', ifn)
        br.ip('link', 'set', ifn, 'netns', ns.name)
        br.ip('link', 'set', peer, 'master', 'br0')
        br.ip('link', 'set', peer, 'up')
        ns.ip('link', 'set', ifn, 'up')


class Iperf3:
    """iperf3 server in @server_ns (one test, --one-off), JSON result of the client."""

    def __init__(self, server_ns, port=5201):
        self.ns = server_ns
        self.port = port

    def run(self, client_ns, addr, seconds=3, udp=False, bitrate=None, length=None, parallel=1,
            reverse=False, ipv6=False, timeout=60):
        srv = self.ns.popen('iperf3', '-s', '-1', '-p', self.port, '-J')
        try:
            time.sleep(0.3)
            argv = ['iperf3', '-c', addr, '-p', self.port, '-t', seconds, '-J', '-P', parallel]
            if udp:
                argv += ['-u', '-b', bitrate or '100M']
            elif bitrate:
                argv += ['-b', bitrate]
            if length:
                argv += ['-l', length]
            if reverse:
                argv.append('-R')
            if ipv6:
                argv.append('-6')
            cp = client_ns.run(*argv, check=False, timeout=timeout)
            try:
                res = json.loads(cp.stdout)
            except ValueError:
                raise RuntimeError('iperf3 client: %s %s' % (cp.stdout[-500:], cp.stderr[-500:]))
            if 'error' in res:
                raise RuntimeError('iperf3: %s' % res['error'])
            return res
        finally:
            try:
                srv.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(srv.pid, signal.SIGKILL)
                srv.wait()


# --------------------------------------------------------------------------- captures

class Capture:
    """tcpdump of (at most @count) whole frames *received* on @ifname in @ns into a pcap."""

    def __init__(self, ns, ifname, filt='', count=30000):
        self.dir = tempfile.mkdtemp(prefix='vncap-', dir='/tmp')
        vnlib.cleanup.add(lambda: shutil.rmtree(self.dir, ignore_errors=True))
        self.path = os.path.join(self.dir, 'rx.pcap')
        # --immediate-mode: libpcap's TPACKET_V3 ring hands a block to tcpdump only when it
        # is full or its 1 s timer retires it, and a block not handed over when SIGINT arrives
        # is lost; so without it a frame received less than ~1 s before stop() is missing
        argv = ['tcpdump', '--immediate-mode', '-Q', 'in', '-i', ifname, '-s', '0', '-c',
                str(count), '-U', '-w', self.path]
        if filt:
            argv += filt.split()
        self.p = ns.popen(*argv)
        # tcpdump prints "listening on ..." to stderr once the capture is running
        t0 = time.monotonic()
        while time.monotonic() - t0 < 10:
            line = self.p.stderr.readline()
            if 'listening' in line or not line:
                break

    def stop(self):
        time.sleep(0.5)
        if self.p.poll() is None:  # it stops by itself after @count frames
            self.p.send_signal(signal.SIGINT)
        try:
            self.p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
        return self.path

    def fields(self, dfilter, *fields):
        """tshark -r PCAP -Y @dfilter with checksum validation on: rows of @fields."""
        argv = ['tshark', '-n', '-r', self.path, '-o', 'ip.check_checksum:TRUE',
                '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
                '-Y', dfilter, '-T', 'fields']
        for f in fields:
            argv += ['-e', f]
        cp = run(argv, timeout=120)
        return [line.split('\t') for line in cp.stdout.splitlines() if line.strip()]


# --------------------------------------------------------------------------- vnicd

def port_show(vn, name):
    return vn.ctl_json('port', 'show', name)


def port_stats(vn, name):
    for p in vn.ctl_json('stats')['ports']:
        if p['name'] == name:
            return p
    raise KeyError(name)


def mode_args(argv=None):
    """(fallback, label) from the command line: --fallback forces io_uring = no."""
    argv = sys.argv[1:] if argv is None else argv
    fallback = '--fallback' in argv
    label = 'readv/writev' if fallback else 'io_uring'
    if not fallback and os.environ.get('VNICD_TAP_POSTED_READS'):
        label = 'io_uring posted reads'
    return fallback, label


def vnicd_config(fallback, extra=''):
    return '[vnicd]\n' + ('io_uring = no\n' if fallback else '') + extra


# One TCP/IPv4 GSO frame (virtio-net header: NEEDS_CSUM, TCPV4, gso_size 1400) of 6000 bytes
# of payload, sent on IFNAME with PACKET_VNET_HDR: the tap (or the uplink's
# packet socket) hands it to vnicd whole.
GSO_INJECT = r'''
import socket, struct, sys
ifname, dst, src, count = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', '')), \
    bytes.fromhex(sys.argv[3].replace(':', '')), int(sys.argv[4])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.setsockopt(263, 15, 1)  # SOL_PACKET, PACKET_VNET_HDR
s.bind((ifname, 0))
payload = bytes(range(256)) * 23 + bytes(112)  # 6000
tcp = struct.pack('!HHIIBBHHH', 40000, 9300, 1, 0, 5 << 4, 0x18, 65535, 0, 0)
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + 20 + len(payload), 1, 0x4000, 64, 6, 0,
                 bytes([10, 79, 0, 1]), bytes([10, 79, 0, 9]))
def csum(b):
    if len(b) % 2:
        b += b'\0'
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xffff) + (t >> 16)
    return t
ip = ip[:10] + struct.pack('!H', 0xffff - csum(ip)) + ip[12:]
seed = csum(ip[12:20] + struct.pack('!HH', 6, 20 + len(payload)))  # pseudo-header, as Linux
tcp = tcp[:16] + struct.pack('!H', seed) + tcp[18:]
hdr = struct.pack('<BBHHHH', 1, 1, 14 + 20 + 20, 1400, 14 + 20, 16)
for _ in range(count):
    s.send(hdr + dst + src + b'\x08\x00' + ip + tcp + payload)
'''


def join_testpmd_guest(tap, vn, sock, mac, vlan=None, net=None):
    """A testpmd guest (virtio-user, no offloads) on vhost port g with @mac (in network @net,
    default br0), its MAC learned."""
    g = vnlib.TestPmd('g', ['net_virtio_user0,path=%s,queues=1,queue_size=1024,mac=%s,server=1'
                      % (sock, mac)], extra=['--rxd=1024', '--txd=1024'], wait=False)
    vn.ctl('port', 'add', 'g', 'vhost', '--path', sock, '--mac', mac,
           *(('--net', net) if net else ()))
    if vlan:
        vn.ctl('port', 'set', 'g', '--vlan-mode', 'access', '--vlan', str(vlan))
    g.wait_started()
    tap.ok(vnlib.wait_for(lambda: port_show(vn, 'g')['link'] == 'up'), 'vhost guest up')
    g.wait_link_up(0)
    g.send(0, 1, 1, dst='ff:ff:ff:ff:ff:ff')  # the bridge learns the guest's MAC
    time.sleep(0.3)
    return g


def guest_counts(g, send, want):
    """What guest @g receives (rx_packets, rx_bytes) of what send() makes, @want frames."""
    g.start_fwd('rxonly')
    g.stop_fwd()
    g.clear_stats()
    g.start_fwd('rxonly')
    send()
    vnlib.wait_for(lambda: g.port_stats(0)['rx_packets'] >= want, timeout=10)
    time.sleep(0.3)
    g.stop_fwd()
    st = g.port_stats(0)
    return st['rx_packets'], st['rx_bytes']
