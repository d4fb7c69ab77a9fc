#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# vnicctl against a fake vnicd: the exact requests, output, usage errors and exit codes users rely on.
"""vnicctl's command-line contract, without vnicd (no root, no DPDK).

A fake vnicd on a unix socket records each request line and answers from a table. Checked:
the request line of every command (member order included), text and --json output, every
kind of usage error (exit 2), vnicd's errors (exit 1), an unreachable socket (exit 3), a
capture (the file's descriptor passed along), and that --help names every command.
VNICCTL names the binary (meson sets it).
"""

import array
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

VNICCTL = os.environ.get('VNICCTL') or os.path.join(
    os.environ.get('VNICD_BUILD_DIR', 'build'), 'backend', 'vnicctl')
OK_NULL = '{"ok":true,"result":null}'


class Tap:
    """TAP 13 output for meson's 'tap' protocol."""

    def __init__(self):
        self.n = self.failed = 0
        print('TAP version 13', flush=True)

    def eq(self, got, want, desc):
        self.n += 1
        good = got == want
        self.failed += not good
        print('%sok %d - %s' % ('' if good else 'not ', self.n, desc.replace('\n', ' ')))
        if not good:
            print('# got:      %r\n# expected: %r' % (got, want))

    def done(self):
        print('1..%d' % self.n, flush=True)
        sys.exit(1 if self.failed else 0)


class FakeVnicd:
    """Answers each request line from @answers (cmd -> line, or a list: one per call; None: close
    without an answer); records the lines and how many descriptors came with each."""

    def __init__(self, path, answers):
        self.answers, self.calls, self.log, self.stop = answers, {}, [], False
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.bind(path)
        self.s.listen(8)
        self.s.settimeout(0.05)
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        while not self.stop:
            try:
                c, _ = self.s.accept()
            except socket.timeout:
                continue
            with c:
                c.settimeout(10)
                self.answer(c)

    def answer(self, c):
        buf, fds = b'', []
        while b'\n' not in buf:
            msg, anc, _, _ = c.recvmsg(65536, socket.CMSG_SPACE(16))
            for level, typ, data in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    a = array.array('i')
                    a.frombytes(data[:len(data) - len(data) % 4])
                    fds += list(a)
            if not msg:
                return
            buf += msg
        line = buf.decode()
        self.log.append((line, len(fds)))
        cmd = json.loads(line).get('cmd')
        ans = self.answers.get(cmd, OK_NULL)
        if isinstance(ans, list):
            self.calls[cmd] = self.calls.get(cmd, 0) + 1
            ans = ans[min(self.calls[cmd], len(ans)) - 1]
        for fd in fds:  # like vnicd: the file is emptied and written only once accepted
            if ans and '"ok":true' in ans:
                os.ftruncate(fd, 0)
                os.write(fd, b'pcapng')
            os.close(fd)
        if ans is not None:
            c.sendall((ans + '\n').encode())

    def close(self):
        self.stop = True
        self.t.join()
        self.s.close()


def vnicctl(args, answers=None, env=None):
    """Run vnicctl ARGS against a fresh fake vnicd ('@SOCK@' and '@OUT@' in ARGS or env become
    its socket and a file in its directory). Return: (rc, stdout, stderr, [(request, fds)])."""
    d = tempfile.mkdtemp(prefix='vnicctl-test-')
    sock, out = os.path.join(d, 's'), os.path.join(d, 'out.pcapng')
    fake = FakeVnicd(sock, answers or {})
    try:
        e = {k: v for k, v in os.environ.items() if k != 'VNICD_SOCKET'}
        e.update({k: v.replace('@SOCK@', sock) for k, v in (env or {}).items()})
        pre = [] if env or '-s' in args or '--socket' in args else ['--socket', sock]
        argv = [VNICCTL] + pre + [a.replace('@SOCK@', sock).replace('@OUT@', out) for a in args]
        cp = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=30,
                            stdin=subprocess.DEVNULL)
    finally:
        fake.close()
        shutil.rmtree(d, ignore_errors=True)

    def norm(s):
        return s.replace(d, '<D>')
    return cp.returncode, norm(cp.stdout), norm(cp.stderr), [(norm(r), n) for r, n in fake.log]


# Each command's request line, byte for byte (vnicd does not care about member order; scripts
# and fuzz corpora might).
REQUESTS = [
    (['ping'], '{"args":{},"cmd":"ping"}'),
    (['net', 'add', 'n', 'bridge'], '{"args":{"name":"n","type":"bridge"},"cmd":"net.add"}'),
    (['--nopromisc', 'net', 'add', 'n', 'macvtap', '--hairpin', 'x', '--mode', 'y', '--uplink',
      'z'],
     '{"args":{"name":"n","type":"macvtap","uplink":"z","mode":"y","hairpin":"x",'
     '"nopromisc":true},"cmd":"net.add"}'),
    (['net', 'set', 'n', '--hairpin', 'external'],
     '{"args":{"name":"n","hairpin":"external"},"cmd":"net.set"}'),
    (['net', 'del', 'n'], '{"args":{"name":"n"},"cmd":"net.del"}'),
    (['net', 'list'], '{"args":{},"cmd":"net.list"}'),
    (['net', 'show', 'n'], '{"args":{"name":"n"},"cmd":"net.show"}'),
    (['--vm-name', 'v', '--vm-uuid', 'u', '--net', 'br0', '--queues', '2', '--mac', 'm',
      '--server', '--path', '/x', 'port', 'add', 'p', 'vhost'],
     '{"args":{"name":"p","kind":"vhost","net":"br0","path":"/x","server":true,"mac":"m",'
     '"queues":2,"vm_uuid":"u","vm_name":"v"},"cmd":"port.add"}'),
    (['port', 'add', 'p', 'tap', '--ifname', 't', '--netns', 'ns', '--mtu', '9000', '--queues',
      '4'],
     '{"args":{"name":"p","kind":"tap","queues":4,"ifname":"t","netns":"ns","mtu":9000},'
     '"cmd":"port.add"}'),
    (['port', 'add', 'p', 'vnet', '--ifname', 't', '--owner', '1000'],
     '{"args":{"name":"p","kind":"vnet","ifname":"t","owner":1000},"cmd":"port.add"}'),
    (['port', 'add', 'p', 'vhost', '--path', '--server', '--queues', '2147483647'],
     '{"args":{"name":"p","kind":"vhost","path":"--server","queues":2147483647},'
     '"cmd":"port.add"}'),
    (['port', 'add', 'p"q\\', 'vhost', '--path', 'a', '--path', 'é\n'],
     '{"args":{"name":"p\\"q\\\\","kind":"vhost","path":"é\\n"},"cmd":"port.add"}'),
    (['port', 'del', 'p'], '{"args":{"name":"p"},"cmd":"port.del"}'),
    (['port', 'set', 'p', '--storm-control', 'none'],
     '{"args":{"name":"p","storm_control":"none"},"cmd":"port.set"}'),
    (['port', 'set', 'p', '--inbound', 'average=1', '--storm-control', '100'],
     '{"args":{"name":"p","inbound":"average=1","storm_control":"100"},"cmd":"port.set"}'),
    (['--reflective-relay', 'off', '--outbound', 'none', '--inbound', 'average=1', '--no-allow-ra',
      '--no-allow-dhcp-server', '--allowed-ip', 'none', '--no-lock-mac', '--tpid', 't',
      '--vlans', '1', '--vlan', '2', '--vlan-mode', 'x', 'port', 'set', 'p'],
     '{"args":{"name":"p","vlan_mode":"x","vlan":2,"vlans":"1","tpid":"t","lock_mac":false,'
     '"allowed_ip":"none","allow_dhcp_server":false,"allow_ra":false,"inbound":"average=1",'
     '"outbound":"none","reflective_relay":false},"cmd":"port.set"}'),
    (['port', 'set', 'p', '--lock-mac', '--allow-dhcp-server', '--allow-ra', '--reflective-relay',
      'yes'],
     '{"args":{"name":"p","lock_mac":true,"allow_dhcp_server":true,"allow_ra":true,'
     '"reflective_relay":true},"cmd":"port.set"}'),
    (['port', 'set', 'p', '--vlan', '65535'], '{"args":{"name":"p","vlan":65535},"cmd":"port.set"}'),
    (['port', 'set', 'p', '--vlan', '70000'],
     '{"args":{"name":"p","vlan":"70000"},"cmd":"port.set"}'),
    (['port', 'set', 'p', '--vlan', 'abc'], '{"args":{"name":"p","vlan":"abc"},"cmd":"port.set"}'),
    (['port', 'list', '--detail'], '{"args":{},"cmd":"port.list"}'),
    (['port', 'show', 'p'], '{"args":{"name":"p"},"cmd":"port.show"}'),
    (['--net', 'br0', 'fdb', 'show'], '{"args":{"net":"br0"},"cmd":"fdb.show"}'),
    (['fdb', 'add', 'm', 'p'], '{"args":{"mac":"m","port":"p"},"cmd":"fdb.add"}'),
    (['fdb', 'flush'], '{"args":{},"cmd":"fdb.flush"}'),
    (['stats', '--vm', 'u', '--port', 'p', '--detail'],
     '{"args":{"port":"p","vm":"u"},"cmd":"stats"}'),
    (['stats', 'reset', '--vm', 'u'], '{"args":{"vm":"u"},"cmd":"stats.reset"}'),
    (['log-level'], '{"args":{},"cmd":"log.level"}'),
    (['log-level', 'debug'], '{"args":{"level":"debug"},"cmd":"log.level"}'),
    (['net', 'add', 'n', 'bridge', '--uplink-driver', 'af_xdp', '--uplink', 'eth1'],
     '{"args":{"name":"n","type":"bridge","uplink":"eth1","uplink_driver":"af_xdp"},'
     '"cmd":"net.add"}'),
    (['trace', 'p', '--len', '100', '--dst', 'ff:ff:ff:ff:ff:ff', '--vlan', '10', '--ip',
      '10.0.0.1,10.0.0.2', '--proto', 'udp', '--sport', '1', '--dport', '2', '--src',
      '02:00:00:00:00:01'],
     '{"args":{"port":"p","src":"02:00:00:00:00:01","dst":"ff:ff:ff:ff:ff:ff","vlan":10,'
     '"ip":"10.0.0.1,10.0.0.2","proto":"udp","sport":1,"dport":2,"len":100},"cmd":"trace"}'),
    (['trace', 'p', '--frame', '00'], '{"args":{"port":"p","frame":"00"},"cmd":"trace"}'),
    (['net', 'add', 'l', 'nat', '--subnet', '192.168.100.0/24', '--gateway', 'g', '--external',
      'w', '--external-ip', 'e', '--masquerade', '--port-range', '1-2', '--dhcp-range', 'a-b',
      '--external-gateway', 'x', '--conntrack-max', '9', '--conntrack-timeouts', 'udp=1'],
     '{"args":{"name":"l","type":"nat","gateway":"g","subnet":"192.168.100.0/24",'
     '"external":"w","external_ip":"e","masquerade":true,"port_range":"1-2",'
     '"dhcp_range":"a-b","external_gateway":"x","conntrack_max":9,'
     '"conntrack_timeouts":"udp=1"},"cmd":"net.add"}'),
    (['nat', 'forward', 'add', 'l', '--proto', 'tcp', '--external-port', '2222', '--to',
      '192.168.100.10:22'],
     '{"args":{"net":"l","proto":"tcp","external_port":2222,"to":"192.168.100.10:22"},'
     '"cmd":"nat.forward.add"}'),
    (['nat', 'forward', 'del', 'l', '--proto', 'udp', '--external-port', '53'],
     '{"args":{"net":"l","proto":"udp","external_port":53},"cmd":"nat.forward.del"}'),
    (['nat', 'forward', 'list'], '{"args":{},"cmd":"nat.forward.list"}'),
    (['nat', 'forward', 'list', 'l'], '{"args":{"net":"l"},"cmd":"nat.forward.list"}'),
    (['nat', 'conntrack', 'l'], '{"args":{"net":"l"},"cmd":"nat.conntrack"}'),
    (['nat', 'conntrack'], '{"args":{},"cmd":"nat.conntrack"}'),
    (['nat', 'conntrack', 'flush', 'l'], '{"args":{"net":"l"},"cmd":"nat.conntrack.flush"}'),
    (['port', 'set', 'p', '--floating-ip', '10.0.0.5', '--forward', 'tcp:2222:22'],
     '{"args":{"name":"p","floating_ip":"10.0.0.5","forward":"tcp:2222:22"},"cmd":"port.set"}'),
]

# Usage errors: "vnicctl: MESSAGE (see vnicctl --help)", exit 2, nothing sent.
USAGE_ERRORS = [
    ([], 'no command given'),
    (['--bogus'], "unknown option '--bogus'"),
    (['--'], "unknown option '--'"),
    (['-x'], "unknown command '-x'"),
    (['-s'], '-s needs a value'),
    (['port', 'set', 'p', '--allowed-ip'], '--allowed-ip needs a value'),
    (['--count', 'x', '--help'], "--count needs a whole number, got 'x'"),
    (['port', 'add', 'p', 'vhost', '--queues', '-1'], "--queues needs a whole number, got '-1'"),
    (['port', 'add', 'p', 'vhost', '--queues', '2147483648'],
     "--queues needs a whole number, got '2147483648'"),
    (['port', 'add', 'p', 'vhost', '--mtu', ''], "--mtu needs a whole number, got ''"),
    (['port', 'set', 'p', '--lock-mac', '--no-lock-mac'],
     '--lock-mac and --no-lock-mac contradict each other'),
    (['port', 'set', 'p', '--no-allow-ra', '--allow-ra'],
     '--no-allow-ra and --allow-ra contradict each other'),
    (['foo', 'bar'], "unknown command 'foo'"),
    (['net'], "'net' needs a subcommand"),
    (['port', 'bogus', 'x'], "unknown command 'port bogus'"),
    (['ping', 'x'], "unexpected argument 'x'"),
    (['stats', 'foo'], "unexpected argument 'foo'"),
    (['net', 'del', 'n', 'm'], "unexpected argument 'm'"),
    (['net', 'add', 'n'],
     'usage: net add NAME bridge|macvtap|overlay|nat [--uplink IFNAME|DEVARGS] [--mode M] [--hairpin H] '
     '[--nopromisc] [--type T --vni N --local IP --underlay NET ...]'),
    (['net', 'set'],
     'usage: net set NAME [--mode vepa|bridge|private|passthru] [--hairpin external|emulated] '
     '[--remote IP[,IP...]] [--control evpn|static [--evpn-netns NS]]'),
    (['net', 'del'], 'usage: net del NAME'),
    (['net', 'show'], 'usage: net show NAME'),
    (['port', 'add', 'p'],
     'usage: port add NAME vhost|tap|vnet [--path SOCK] [--ifname IF] [--net NET] ...'),
    (['port', 'set'], 'usage: port set NAME [--vlan-mode MODE] [--vlan N] [--vlans LIST] ...'),
    (['port', 'del'], 'usage: port del NAME'),
    (['port', 'show'], 'usage: port show NAME'),
    (['fdb', 'add', 'm'], 'usage: fdb add MAC PORT'),
    (['capture'], 'usage: capture PORT --out FILE.pcapng [--count N|--duration S] [--snaplen N]'),
    (['net', 'set', 'n', '--nopromisc'], 'net set needs --mode and/or --hairpin, or --remote or --control'),
    (['port', 'set', 'p'], 'port set needs at least one setting (see vnicctl --help)'),
    (['stats', 'reset'], 'usage: stats reset --vm UUID | --port NAME'),
    (['capture', 'p'], 'capture needs --out FILE.pcapng'),
    (['capture', 'p', '--count', '0', '--out', '@OUT@'],
     '--count and --duration must be at least 1'),
    (['port', 'set', 'p', '--reflective-relay', 'maybe', '--vm', 'x'],
     "--reflective-relay takes on or off, not 'maybe'"),
    (['ping', '--vm', 'x', '--path', 'y', '--vlan', '1', '--uplink', 'u', '--mode', 'm'],
     '--path, --server, --mac, --queues, --ifname, --netns, --owner, --vm-uuid and '
     "--vm-name belong to 'port add'"),
    (['net', 'add', 'n', 'bridge', '--no-lock-mac'],
     '--vlan-mode, --vlans, --tpid, --lock-mac, --allowed-ip, --allow-dhcp-server, '
     "--allow-ra, --inbound, --outbound, --storm-control and --reflective-relay belong to 'port set'"),
    (['fdb', 'show', '--port', 'x'], "--vm and --port belong to 'stats'"),
    (['net', 'set', 'n', '--mode', 'x', '--uplink', 'y'],
     "--uplink, --uplink-driver, --nopromisc, --type, --local, --underlay, --dstport, "
     "--gateway, --subnet, --external, --external-ip, --masquerade, --port-range, "
     "--dhcp-range, --external-gateway, --conntrack-max, --conntrack-timeouts, --dhcp-host "
     "and --dns belong to "
     "'net add'"),
    (['port', 'list', '--hairpin', 'x'],
     "--mode, --hairpin, --remote, --control and --evpn-netns belong to 'net add' and "
     "'net set'"),
    (['ping', '--snaplen', '0'], "--out, --count, --duration and --snaplen belong to 'capture'"),
    (['port', 'del', 'p', '--net', 'x'], "--net does not apply to 'port del'"),
    (['stats', '--net', 'x'], "--net does not apply to 'stats '"),
]

NET_LIST = ('{"ok":true,"result":[{"name":"br0","type":"bridge","ports":2,"fdb_entries":1,'
            '"uplink":null},{"name":"mv","type":"macvtap","ports":1,"fdb_entries":1,'
            '"uplink":"mv-uplink","mode":"bridge","hairpin":"emulated","nopromisc":false}]}')
PORT_SHOW = ('{"ok":true,"result":{"name":"g0","kind":"vhost","net":"br0","mac":"02:00:00:00:00:10",'
             '"link":"down","path":"/run/g0.sock","server":true,"queues":2,"guest_queues":0,'
             '"connects":1,"disconnects":1,"guest_offloads":["csum","tso4"],"offloads_to_guest":[],'
             '"offload_pass":true,"rx_gso_frames":2,"rx_offload_passed":5,"tx_offload_completed":4,'
             '"tx_gso_segments":8,"rx_gso_segments":9,"rx_csum_filled":3,"rx_bad_offload":1,'
             '"rx_gso_nomem":0,'
             '"policy":{"vlan_mode":"trunk","vlan":null,"vlans":[10,20,21,22,40],"untagged_lan":true,"tpid":null,"lock_mac":true,'
             '"allowed_ip":["10.0.0.1","10.0.0.2"],"inbound":{"average":1000,"peak":2000,'
             '"burst":null},"outbound":null},"stats":{"rx_packets":3,"rx_bytes":126,'
             '"tx_packets":1,"tx_bytes":60,"rx_broadcast_packets":3,"tx_unicast_packets":1,'
             '"tx_local_packets":1,"drops_total":3,"drops":{"no_destination":3,"vlan":0}}}}')
STATS = ('{"ok":true,"result":{"ports":[{"name":"g0","net":"br0","vm_uuid":"u1","vm_name":"vm1",'
         '"rx_packets":3,"rx_bytes":126,"tx_packets":1,"tx_bytes":60,"drops_total":3,'
         '"drops":{"no_destination":3}}],"vms":[{"vm_uuid":"u1","vm_name":"vm1","rx_packets":3,'
         '"rx_bytes":126,"tx_packets":1,"tx_bytes":60,"drops_total":3,'
         '"drops":{"no_destination":3}}]}}')

# (args, answers, exit code, stdout, stderr)
OUTPUTS = [
    (['ping'], {'ping': '{"ok":true,"result":{"version":"9.9"}}'}, 0, 'vnicd 9.9\n', ''),
    (['ping', '--json'], {'ping': '{"ok":true,"result":{"version":"9.9"}}'}, 0,
     '{\n  "version" : "9.9"\n}\n', ''),
    (['net', 'add', 'n', 'bridge', '--json'], {}, 0, 'null\n', ''),
    (['net', 'list'], {'net.list': NET_LIST}, 0,
     'NAME             TYPE      PORTS      FDB  MODE      UPLINK\n'
     'br0              bridge        2        1  -         -\n'
     'mv               macvtap       1        1  bridge    mv-uplink\n', ''),
    (['port', 'show', 'g0'], {'port.show': PORT_SHOW}, 0,
     'port g0: kind vhost, network br0, link down, mac 02:00:00:00:00:10\n'
     '  path /run/g0.sock (server), queues 2 (guest uses 0), connects 1, disconnects 1\n'
     '  offloads from the guest: csum tso4; to the guest: none; passed on whole: yes\n'
     '  offloads: rx 5 passed on, 0 refused, 2 GSO -> 9 segments, 3 checksums filled, 1 bad, '
     '0 short of buffers; tx 4 completed (8 segments), 0 dropped\n'
     '  policy: vlan-mode trunk vlans 10,20-22,40 +untagged; lock-mac on; allowed-ip '
     '10.0.0.1,10.0.0.2; inbound average=1000,peak=2000\n'
     '  rx: 3 packets, 126 bytes; unicast 0, multicast 0, broadcast 3; local 0, external 0, '
     'tunnel 0\n'
     '  tx: 1 packets, 60 bytes; unicast 1, multicast 0, broadcast 0; local 1, external 0, '
     'tunnel 0\n'
     '  drops: 3 no_destination=3\n', ''),
    (['stats'], {'stats': STATS}, 0,
     'PORT             VM                 RX_PACKETS       RX_BYTES   TX_PACKETS       TX_BYTES'
     '      DROPS\n'
     'g0               vm1                         3            126            1             60'
     '          3\n'
     '(vm total)       vm1                         3            126            1             60'
     '          3\n', ''),
    (['stats', '--detail'], {'stats': STATS}, 0,
     'g0 (net br0, vm vm1)\n'
     '  rx: 3 packets, 126 bytes; unicast 0, multicast 0, broadcast 0; local 0, external 0, '
     'tunnel 0\n'
     '  tx: 1 packets, 60 bytes; unicast 0, multicast 0, broadcast 0; local 0, external 0, '
     'tunnel 0\n'
     '  drops: 3 no_destination=3\n'
     'VM u1 (vm1)\n'
     '  rx: 3 packets, 126 bytes; unicast 0, multicast 0, broadcast 0; local 0, external 0, '
     'tunnel 0\n'
     '  tx: 1 packets, 60 bytes; unicast 0, multicast 0, broadcast 0; local 0, external 0, '
     'tunnel 0\n'
     '  drops: 3 no_destination=3\n', ''),
    (['fdb', 'flush'], {'fdb.flush': '{"ok":true,"result":{"removed":2}}'}, 0,
     'removed 2 entries\n', ''),
    (['stats', 'reset', '--port', 'p'], {'stats.reset': '{"ok":true,"result":{"reset":1}}'}, 0,
     'reset 1 ledger entry\n', ''),
    (['log-level'], {'log.level': '{"ok":true,"result":{"level":"info"}}'}, 0,
     'log level info\n', ''),
    (['log-level', 'debug'],
     {'log.level': '{"ok":true,"result":{"level":"debug","previous":"info"}}'}, 0,
     'log level debug (was info)\n', ''),
    (['port', 'show', 'x'], {'port.show': '{"ok":false,"error":"no port \'x\'"}'}, 1, '',
     "vnicctl: error: no port 'x'\n"),
    (['ping'], {'ping': '{"ok":false}'}, 1, '', 'vnicctl: error: unknown error\n'),
    (['ping'], {'ping': '[]'}, 1, '', 'vnicctl: malformed answer from vnicd\n'),
    (['ping'], {'ping': None}, 3, '', 'vnicctl: vnicd closed the connection without an answer\n'),
    (['--socket', '/nonexistent/s', 'ping'], {}, 3, '',
     'vnicctl: cannot connect to vnicd at /nonexistent/s: No such file or directory\n'),
]

CAPTURE_ANSWERS = {
    'capture.start': '{"ok":true,"result":{"id":7,"state":"running"}}',
    'capture.status': [
        '{"ok":true,"result":{"id":7,"state":"running","packets":3,"dropped":0,"seconds":0.4}}',
        '{"ok":true,"result":{"id":7,"state":"done","packets":9,"bytes":900,"dropped":1,'
        '"seconds":1.5,"reason":"count reached"}}'],
}


def main():
    tap = Tap()
    if not os.access(VNICCTL, os.X_OK):
        print('Bail out! %s not built (VNICCTL names it)' % VNICCTL)
        sys.exit(1)
    for args, want in REQUESTS:
        rc, out, err, log = vnicctl(args)
        tap.eq((rc, err, log), (0, '', [(want + '\n', 0)]), 'request of vnicctl %s' % ' '.join(args))
    for args, msg in USAGE_ERRORS:
        rc, out, err, log = vnicctl(args)
        tap.eq((rc, out, err, log), (2, '', 'vnicctl: %s (see vnicctl --help)\n' % msg, []),
               'usage error of vnicctl %s' % ' '.join(args))
    for args, answers, want_rc, want_out, want_err in OUTPUTS:
        rc, out, err, log = vnicctl(args, answers)
        tap.eq((rc, out, err), (want_rc, want_out, want_err), 'output of vnicctl %s' % ' '.join(args))
    rc, out, err, log = vnicctl(['ping'], {}, env={'VNICD_SOCKET': '@SOCK@'})
    tap.eq((rc, len(log)), (0, 1), 'the socket from VNICD_SOCKET')

    rc, out, err, log = vnicctl(['capture', 'p', '--out', '@OUT@', '--count', '5', '--snaplen', '128'],
                                CAPTURE_ANSWERS)
    tap.eq((rc, out, err),
           (0, 'capture 7 of p done (count reached): 9 packets, 900 bytes written to '
            '<D>/out.pcapng, 1 dropped\n', 'capture 7: 3 packets, 0 dropped, 0 s\n'),
           'capture: output and progress')
    tap.eq(log, [('{"cmd":"capture.start","args":{"port":"p","count":5,"snaplen":128}}\n', 1),
                 ('{"cmd":"capture.status","args":{"id":7}}\n', 0),
                 ('{"cmd":"capture.status","args":{"id":7}}\n', 0)],
           'capture: requests, the file passed with the first')

    # a refused capture leaves an existing file as it was and removes only a file it created
    d = tempfile.mkdtemp(prefix='vnicctl-out-')
    try:
        keep, new = os.path.join(d, 'keep.pcapng'), os.path.join(d, 'new.pcapng')
        with open(keep, 'w') as f:
            f.write('precious')
        refuse = {'capture.start': '{"ok":false,"error":"no port \'p\'"}'}
        rc, out, err, log = vnicctl(['capture', 'p', '--out', keep, '--count', '1'], refuse)
        with open(keep) as f:
            tap.eq((rc, err, f.read()), (1, "vnicctl: error: no port 'p'\n", 'precious'),
                   'capture refused: an existing --out file is neither truncated nor removed')
        rc, out, err, log = vnicctl(['capture', 'p', '--out', new, '--count', '1'], refuse)
        tap.eq((rc, os.path.exists(new)), (1, False),
               'capture refused: the --out file it created is removed')
    finally:
        shutil.rmtree(d, ignore_errors=True)

    rc, out, err, log = vnicctl(['--help'])
    lines = [line.split()[:3] for line in out.split('options of every command:')[0].splitlines()
             if line.startswith('  ')
             and not line.startswith('   ')]

    def verb_of(w, nat3):
        """The command a --help line names: 'nat forward add' (nat3) or 'nat forward'."""
        if w[0] == 'nat':
            return ' '.join(w[:3] if nat3 and len(w) > 2 and w[2].isalpha() and
                            w[2].islower() else w[:2])
        return ' '.join(w[:2]) if w[0] in ('net', 'port', 'fdb', 'vtep', 'libvirt') or \
            w[1:2] == ['reset'] \
            else w[0]
    tap.eq((rc, err, log), (0, '', []), '--help exits 0')
    tap.eq(sorted({verb_of(w, False) for w in lines}),
           sorted(['net add', 'net set', 'net del', 'net list', 'net show', 'port add',
                   'port del', 'port announce', 'port set', 'port list', 'port show', 'fdb show', 'fdb add',
                   'fdb flush', 'stats', 'stats reset', 'capture', 'ping', 'vtep add',
                   'vtep del', 'vtep show', 'log-level', 'trace', 'top', 'nat forward',
                   'nat conntrack', 'libvirt status']),
           '--help names every command')
    for kind in ('NAME vhost ', 'NAME tap ', 'NAME vnet ', 'NAME bridge ', 'NAME macvtap ',
                 'NAME overlay '):
        tap.eq(kind in out, True, '--help shows %s' % kind.split()[1])
    for opt in ('--socket', '--json', '--detail', '--version', '--help'):
        tap.eq(('\n  %s' % opt) in out, True, '--help lists the global option %s' % opt)
    # the verbs table (--commands) and --help cannot drift: every command's every flag is
    # in that command's own --help
    rc, table, err, log = vnicctl(['--commands'])
    rows = [line.split('\t') for line in table.splitlines()]
    tap.eq((rc, rows[0][:2]), (0, ['*', '--help --version --socket= --json --detail']),
           '--commands: first the flags of every command')
    tap.eq(sorted(r[0] for r in rows[1:]),
           sorted({verb_of(w, True) for w in lines}), '--commands lists the commands --help lists')
    missing = []
    for name, fl, usage in rows[1:]:
        rc, one, err, log = vnicctl(name.split() + ['--help'])
        for f in fl.split():
            if f.rstrip('=') not in one:
                missing.append('%s %s' % (name, f))
    tap.eq(missing, [], 'every flag of every command is in that command\'s --help')
    rc, out, err, log = vnicctl(['port', 'add', '--help'])
    tap.eq((rc, [line.split()[:4] for line in out.splitlines() if line.startswith('  port')]),
           (0, [['port', 'add', 'NAME', 'vhost'], ['port', 'add', 'NAME', 'tap'],
                ['port', 'add', 'NAME', 'vnet'], ['port', 'add', 'NAME', 'vhost|tap|vnet'],
                ['port', 'add', 'NAME', 'vhost|tap|vnet']]),
           'vnicctl port add --help: that command\'s lines')
    tap.done()


if __name__ == '__main__':
    main()
