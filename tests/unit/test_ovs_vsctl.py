#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# vnicd-ovs-vsctl against a fake vnicd: the exact answers libvirt 9.0 parses, exit codes, and
# the hand-over to a real ovs-vsctl for everything that is not about a vnicd port.
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
OVS = os.environ.get('VNICD_OVS_VSCTL') or os.path.join(HERE, '..', '..', 'libvirt',
                                                        'vnicd-ovs-vsctl')
PORTS = [
    {'name': 'vm1-net0', 'kind': 'vhost', 'path': '/srv/q/vm1-net0.sock', 'server': False},
    {'name': 'vm1-net1', 'kind': 'vhost', 'path': '/run/vnicd/vm1-net1.sock', 'server': True},
    {'name': 'tap0', 'kind': 'tap'},
]
STATS = {'name': 'vm1-net0', 'rx_packets': 11, 'rx_bytes': 1100, 'tx_packets': 7,
         'tx_bytes': 700, 'drops_total': 2}


class Tap:
    def __init__(self):
        self.n = self.failed = 0
        print('TAP version 13', flush=True)

    def eq(self, got, want, desc):
        self.n += 1
        good = got == want
        self.failed += not good
        print('%sok %d - %s' % ('' if good else 'not ', self.n, desc))
        if not good:
            print('# got:      %r\n# expected: %r' % (got, want))

    def done(self):
        print('1..%d' % self.n, flush=True)
        sys.exit(1 if self.failed else 0)


def fake_vnicd(path, seen):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(8)

    def serve():
        while True:
            c, _ = s.accept()
            with c:
                buf = b''
                while not buf.endswith(b'\n'):
                    d = c.recv(65536)
                    if not d:
                        break
                    buf += d
                req = json.loads(buf)
                seen.append(req)
                if req['cmd'] == 'port.list':
                    res = PORTS
                elif req['cmd'] == 'stats' and req['args'].get('port') == 'vm1-net0':
                    res = {'ports': [STATS], 'vms': []}
                else:
                    c.sendall(b'{"ok":false,"error":"no port"}\n')
                    continue
                c.sendall((json.dumps({'ok': True, 'result': res}) + '\n').encode())
    threading.Thread(target=serve, daemon=True).start()


def run(args, env):
    cp = subprocess.run([os.path.join(env['BIN'], 'ovs-vsctl')] + args, capture_output=True,
                        text=True, timeout=30, env=env)
    return cp.returncode, cp.stdout, cp.stderr


def main():
    tap = Tap()
    d = tempfile.mkdtemp(prefix='vn-ovs-')
    sock = os.path.join(d, 'ctl.sock')
    seen = []
    fake_vnicd(sock, seen)
    bindir = os.path.join(d, 'bin')
    os.makedirs(bindir)
    os.symlink(os.path.abspath(OVS), os.path.join(bindir, 'ovs-vsctl'))
    # PATH without any other ovs-vsctl (as on a host without Open vSwitch): python3 only
    pydir = os.path.join(d, 'py')
    os.makedirs(pydir)
    os.symlink(sys.executable, os.path.join(pydir, 'python3'))
    env = {'PATH': bindir + ':' + pydir, 'VNICD_SOCKET': sock, 'BIN': bindir}

    # libvirt mode='server' (QEMU binds, vnicd connects): find by vhost-server-path
    tap.eq(run(['--timeout=5', '--no-headings', '--columns=name', 'find', 'Interface',
                'options:vhost-server-path=/srv/q/vm1-net0.sock'], env),
           (0, 'vm1-net0\n', ''), 'find Interface options:vhost-server-path=P -> the port name')
    # libvirt mode='client' (vnicd binds): get Interface BASENAME name
    tap.eq(run(['--timeout=5', 'get', 'Interface', 'vm1-net1.sock', 'name'], env),
           (0, 'vm1-net1\n', ''), 'get Interface BASENAME name -> the port name')
    rc, out, err = run(['--timeout=5', '--no-headings', '--columns=name', 'find', 'Interface',
                        'options:vhost-server-path=/run/vnicd/vm1-net1.sock'], env)
    tap.eq((rc, out), (1, ''), 'a vnicd server socket is not found as a client path (exit 1)')
    rc, out, err = run(['--timeout=5', 'get', 'Interface', 'other.sock', 'name'], env)
    tap.eq((rc, out, 'no row "other.sock"' in err), (1, '', True),
           'not a vnicd port: exit 1, as ovs-vsctl for a missing row')
    # statistics, as virNetDevOpenvswitchInterfaceStats parses them
    rc, out, err = run(['--timeout=5', '--if-exists', '--format=list', '--data=json',
                        '--no-headings', '--columns=statistics', 'list', 'Interface',
                        'vm1-net0'], env)
    tap.eq((rc, out.count('\n'), out.startswith('["map",[')), (0, 1, True),
           'statistics: one line, ["map",[...]]')
    m = dict(json.loads(out)[1])
    tap.eq(m, {'rx_bytes': 1100, 'rx_packets': 11, 'rx_dropped': 2, 'rx_errors': 0,
               'tx_bytes': 700, 'tx_packets': 7, 'tx_dropped': 0, 'tx_errors': 0},
           'statistics: vnicd\'s rx/tx (the switch\'s side, as Open vSwitch gives them)')
    tap.eq(seen[-1], {'cmd': 'stats', 'args': {'port': 'vm1-net0'}}, 'asked vnicd for the port')
    rc, out, err = run(['--timeout=5', '--if-exists', '--format=list', '--data=json',
                        '--no-headings', '--columns=statistics', 'list', 'Interface', 'x'], env)
    tap.eq((rc, out), (1, ''), 'statistics of an unknown interface: nothing, exit 1')
    rc, out, err = run(['--timeout=5', '--', '--may-exist', 'add-port', 'br0', 'vnet0'], env)
    tap.eq((rc, out, 'only the vhost-user questions' in err), (1, '', True),
           'anything else without Open vSwitch: exit 1 with a reason')
    env2 = dict(env, VNICD_SOCKET=os.path.join(d, 'none.sock'))
    rc, out, err = run(['--timeout=5', 'get', 'Interface', 'vm1-net1.sock', 'name'], env2)
    tap.eq((rc, out), (1, ''), 'vnicd unreachable: exit 1 (libvirt: not an OVS interface)')

    # with Open vSwitch installed: what is not vnicd's goes to the real ovs-vsctl
    real = os.path.join(d, 'real')
    os.makedirs(real)
    with open(os.path.join(real, 'ovs-vsctl'), 'w') as f:
        f.write('#!/bin/sh\necho "REAL $*"\n')
    os.chmod(os.path.join(real, 'ovs-vsctl'), 0o755)
    env3 = dict(env, PATH=bindir + ':' + real + ':' + env['PATH'])
    tap.eq(run(['--timeout=5', '--', '--may-exist', 'add-port', 'br0', 'vnet0'], env3),
           (0, 'REAL --timeout=5 -- --may-exist add-port br0 vnet0\n', ''),
           'Open vSwitch installed: other commands go to the real ovs-vsctl')
    tap.eq(run(['--timeout=5', 'get', 'Interface', 'dpdkvhostuser0', 'name'], env3),
           (0, 'REAL --timeout=5 get Interface dpdkvhostuser0 name\n', ''),
           'and so do questions about interfaces vnicd does not serve')
    tap.eq(run(['--timeout=5', 'get', 'Interface', 'vm1-net1.sock', 'name'], env3),
           (0, 'vm1-net1\n', ''), 'vnicd\'s own are still answered here')
    tap.done()


if __name__ == '__main__':
    main()
