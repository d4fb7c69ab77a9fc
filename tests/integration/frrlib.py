# SPDX-License-Identifier: MIT
"""FRR (zebra + bgpd from Debian's package) in a network namespace, without systemd:
a directory per instance owned by frr:frr, the daemons in the foreground, vtysh on the
instance's vty socket directory."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import vnlib

FRR_DIR = '/usr/lib/frr'


def available():
    return all(os.access(os.path.join(FRR_DIR, d), os.X_OK) for d in ('zebra', 'bgpd')) and \
        shutil.which('vtysh') is not None


def bgpd_conf(name, router_id, asn, peers, vni_adv=True, rr_clients=None):
    """iBGP EVPN towards @peers (addresses), advertise-all-vni; with @rr_clients (a prefix) a
    route reflector whose clients connect from that prefix (README's recipe)."""
    lines = ['hostname %s' % name, 'log stdout informational', '!',
             'router bgp %d' % asn, ' bgp router-id %s' % router_id,
             ' no bgp default ipv4-unicast']
    for p in peers:
        lines += [' neighbor %s remote-as %d' % (p, asn),
                  ' neighbor %s timers 3 9' % p,
                  ' neighbor %s timers connect 2' % p]
    if rr_clients:
        lines += [' neighbor fabric peer-group', ' neighbor fabric remote-as %d' % asn,
                  ' neighbor fabric timers 3 9',
                  ' bgp listen range %s peer-group fabric' % rr_clients]
    lines += [' !', ' address-family l2vpn evpn']
    lines += ['  neighbor %s activate' % p for p in peers]
    if rr_clients:
        lines += ['  neighbor fabric activate', '  neighbor fabric route-reflector-client']
    if vni_adv:
        lines += ['  advertise-all-vni']
    lines += [' exit-address-family', '!', '']
    return '\n'.join(lines)


class Frr:
    """zebra and bgpd in namespace @ns (a netnslib.Netns)."""

    def __init__(self, ns, name, bgpd_config):
        self.ns, self.name = ns, name
        self.dir = tempfile.mkdtemp(prefix='vn-frr-%s-' % name, dir=vnlib._tmp_base())
        os.chmod(self.dir, 0o755)
        with open(os.path.join(self.dir, 'zebra.conf'), 'w') as f:
            f.write('hostname %s\nlog stdout informational\n' % name)
        with open(os.path.join(self.dir, 'bgpd.conf'), 'w') as f:
            f.write(bgpd_config)
        for fn in os.listdir(self.dir) + ['']:
            shutil.chown(os.path.join(self.dir, fn), 'frr', 'frr')
        self.procs = {}
        vnlib.cleanup.add(self)
        self.start()

    def _argv(self, daemon):
        d = self.dir
        return [os.path.join(FRR_DIR, daemon), '-f', os.path.join(d, daemon + '.conf'),
                '-i', os.path.join(d, daemon + '.pid'), '--vty_socket', d,
                '-z', os.path.join(d, 'zserv.api'), '-P', '0']

    def start(self):
        for daemon in ('zebra', 'bgpd'):
            log = open(os.path.join(self.dir, daemon + '.log'), 'ab')
            self.procs[daemon] = self.ns.popen(*self._argv(daemon), stdout=log,
                                               stderr=subprocess.STDOUT)
            if daemon == 'zebra':  # bgpd connects to zserv.api
                vnlib.wait_for(lambda: os.path.exists(os.path.join(self.dir, 'zserv.api')),
                               10)
        return self

    def stop(self, sig=signal.SIGTERM):
        for daemon in ('bgpd', 'zebra'):
            p = self.procs.pop(daemon, None)
            if p and p.poll() is None:
                os.killpg(p.pid, sig)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(5)

    def alive(self):
        return all(p.poll() is None for p in self.procs.values()) and len(self.procs) == 2

    def vtysh(self, cmd, timeout=15):
        r = self.ns.run('vtysh', '--vty_socket', self.dir, '-c', cmd, check=False,
                        timeout=timeout)
        return r.stdout

    def vtysh_json(self, cmd):
        out = self.vtysh(cmd)
        try:
            return json.loads(out or '{}')
        except ValueError:
            return {}

    def evpn_macs(self, vni):
        """{mac: remote VTEP or 'local'} of `show evpn mac vni VNI json`."""
        res = {}
        for mac, e in self.vtysh_json('show evpn mac vni %d json' % vni).get('macs',
                                                                          {}).items():
            if isinstance(e, dict):
                res[mac] = e.get('remoteVtep') if e.get('type') == 'remote' else 'local'
        return res

    def established(self):
        """Peers of the l2vpn evpn address family in state Established."""
        s = self.vtysh_json('show bgp l2vpn evpn summary json')
        peers = s.get('peers', {})
        return {p for p, v in peers.items() if v.get('state') == 'Established'}

    def log(self, daemon='zebra'):
        try:
            with open(os.path.join(self.dir, daemon + '.log'), errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def _cleanup(self):
        self.stop(signal.SIGKILL)
        vnlib.cleanup.remove(self)
        shutil.rmtree(self.dir, ignore_errors=True)

    def close(self):
        self._cleanup()


def wait_until(fn, timeout, step=0.3):
    end = time.monotonic() + timeout
    v = fn()
    while not v and time.monotonic() < end:
        time.sleep(step)
        v = fn()
    return v
