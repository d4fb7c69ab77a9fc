#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# vnicd's libvirt listener and `virsh domifstat` against a real libvirtd running two TCG guests
# defined from qemu-configs/libvirt/, in a private mount namespace (nothing global is touched).
#
# The test re-runs itself under `unshare --mount`: a tmpfs on /run and bind mounts of private
# copies over /etc/libvirt, /var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt give it
# its own libvirtd (qemu:///system, its hook, its ovs-vsctl on PATH), invisible to the host and
# to any other libvirtd. QEMU runs as root with no security driver (test set-up only).
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vnlib  # noqa: E402
from guest import guest_dir, require_qemu  # noqa: E402
from netnslib import Capture, Netns  # noqa: E402
from vnlib import REPO_DIR, Tap, Vnicd, build_dir, cleanup, in_ci, wait_for  # noqa: E402

NS_ENV = 'VNLIB_LIBVIRT_NS'
QNS = 'http://libvirt.org/schemas/domain/qemu/1.0'
POLICY_NS = 'https://vnicd.dev/xmlns/policy/1'
LV_DIRS = ('/etc/libvirt', '/var/lib/libvirt', '/var/log/libvirt', '/var/cache/libvirt')
# name: (template, uuid, mac, ip)
GUESTS = {
    'vm-a': ('vm-server.xml', '7a1c1e00-0000-4000-8000-00000000000a', '52:54:00:ee:00:0a',
             '10.78.0.1'),
    'vm-b': ('vm-client.xml', '7a1c1e00-0000-4000-8000-00000000000b', '52:54:00:ee:00:0b',
             '10.78.0.2'),
    'vm-c': ('vm-server.xml', '7a1c1e00-0000-4000-8000-00000000000c', '52:54:00:ee:00:0c',
             '10.78.0.3'),
}
VLAN_AT_START = {'vm-c': 42}  # the policy metadata its domain XML carries
QEMU_CONF = '''
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
cgroup_controllers = [ ]
stdio_handler = "file"
'''


def reexec_in_namespace():
    """Run this file again in a private mount namespace; exit with its status."""
    if os.environ.get(NS_ENV) == '1':
        return
    why = None if os.geteuid() == 0 else 'needs root (mount namespace, libvirtd)'
    for tool in ('unshare', 'libvirtd', 'virsh'):
        if not why and not shutil.which(tool):
            why = '%s missing (apt-get install util-linux libvirt-daemon-system libvirt-clients)' \
                % tool
    if why:
        tap = Tap()
        if in_ci() and os.geteuid() == 0:
            tap.bail('CI=true: ' + why)
        tap.skip_all(why)
    env = dict(os.environ, **{NS_ENV: '1'})
    sys.stdout.flush()
    rc = subprocess.call(['unshare', '--mount', '--propagation', 'private', sys.executable,
                          os.path.abspath(__file__)] + sys.argv[1:], env=env)
    sys.exit(rc)


def virsh(*args, check=True, timeout=60):
    cp = subprocess.run(['virsh', '-c', 'qemu:///system'] + list(args), capture_output=True,
                        text=True, timeout=timeout)
    if check and cp.returncode != 0:
        raise RuntimeError('virsh %s: %s' % (' '.join(args), cp.stderr.strip()))
    return cp


class Libvirtd:
    """A private libvirtd: its configuration, state and sockets in @root, hook @hook_script."""

    def __init__(self, root, hook_script, path_dir, env):
        self.root = root
        self.env = env
        subprocess.run(['mount', '-t', 'tmpfs', 'tmpfs', '/run'], check=True)
        for d in LV_DIRS:
            src = os.path.join(root, d.strip('/').replace('/', '_'))
            if d == '/etc/libvirt':
                shutil.copytree(d, src, symlinks=True)
                shutil.rmtree(os.path.join(src, 'qemu', 'networks', 'autostart'),
                              ignore_errors=True)
                shutil.rmtree(os.path.join(src, 'hooks'), ignore_errors=True)
                os.makedirs(os.path.join(src, 'hooks'))
                with open(os.path.join(src, 'qemu.conf'), 'a') as f:
                    f.write(QEMU_CONF)
            else:
                os.makedirs(src)
            subprocess.run(['mount', '--bind', src, d], check=True)
        # the hook must exist before libvirtd starts
        hook = '/etc/libvirt/hooks/qemu'
        with open(hook, 'w') as f:
            f.write(hook_script)
        os.chmod(hook, 0o755)
        self.env = dict(env, PATH=path_dir + ':' + env.get('PATH', '/usr/sbin:/usr/bin'))
        cleanup.add(self)

    def start(self):
        subprocess.run(['libvirtd', '-d'], env=self.env, check=True)
        ok = wait_for(lambda: virsh('version', check=False).returncode == 0, 30)
        if not ok:
            raise RuntimeError('libvirtd did not come up')

    def pid(self):
        try:
            with open('/run/libvirtd.pid') as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        pid = self.pid()
        if pid:
            os.kill(pid, signal.SIGTERM)
            wait_for(lambda: not os.path.exists('/proc/%d' % pid), 30)

    def _cleanup(self):
        for dom in GUESTS:
            subprocess.run(['virsh', '-c', 'qemu:///system', 'destroy', dom],
                           capture_output=True, timeout=30)
        self.stop()
        # QEMU processes libvirtd left behind (a crash of the test), by their pid files
        d = '/run/libvirt/qemu'
        for f in os.listdir(d) if os.path.isdir(d) else []:
            if f.endswith('.pid'):
                try:
                    os.kill(int(open(os.path.join(d, f)).read().strip()), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
        cleanup.remove(self)


class ConsoleGuest:
    """A libvirt guest's serial console on a unix socket: wait_for() and run() its shell."""

    def __init__(self, name, path):
        self.name = name
        self.buf = ''
        self.cond = threading.Condition()
        self.n = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if not wait_for(lambda: os.path.exists(path), 30):
            raise RuntimeError('no console socket %s' % path)
        self.sock.connect(path)
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b''
            with self.cond:
                if data:
                    self.buf += data.decode('utf-8', 'replace')
                self.cond.notify_all()
            if not data:
                break

    def wait_for(self, pattern, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                m = re.search(pattern, self.buf)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError('guest %s: no %r after %ss; console tail:\n%s'
                                       % (self.name, pattern, timeout, self.buf[-2000:]))
                self.cond.wait(min(left, 0.5))

    def run(self, cmd, timeout=60):
        self.n += 1
        tag = 'VN%dEND' % self.n
        with self.cond:
            start = len(self.buf)
        self.sock.sendall(('%s; echo "@@%s""@@$?@@"\n' % (cmd, tag)).encode())
        m = self.wait_for(r'@@%s@@(\d+)@@' % tag, timeout)
        return int(m.group(1)), self.buf[start:m.start()]

    def close(self):
        self.sock.close()


def domain_xml(name, console):
    """The guest @name from its qemu-configs/libvirt template, adapted to this test."""
    tmpl, uuid, mac, ip = GUESTS[name]
    ET.register_namespace('qemu', QNS)
    d = ET.parse(os.path.join(REPO_DIR, 'qemu-configs', 'libvirt', tmpl)).getroot()
    d.find('name').text = name
    d.find('uuid').text = uuid
    d.find('vcpu').text = '1'
    if name in VLAN_AT_START:
        ET.register_namespace('vnicd', POLICY_NS)
        md = ET.Element('metadata')
        d.insert(list(d).index(d.find('uuid')) + 1, md)
        pol = ET.SubElement(md, '{%s}policy' % POLICY_NS)
        itf = ET.SubElement(pol, '{%s}interface' % POLICY_NS, mac=mac, network='br0')
        ET.SubElement(itf, '{%s}vlan' % POLICY_NS, mode='access', tag=str(VLAN_AT_START[name]))
    os_ = d.find('os')
    os_.find('kernel').text = os.path.join(guest_dir(), 'vmlinuz')
    os_.find('initrd').text = os.path.join(guest_dir(), 'initrd.cpio.gz')
    # pci=nomsi: a hotplugged NIC gets no qemu:override (libvirt applies it to the command
    # line only), and MSI-X with TCG and vhost-user crashes QEMU 7.2
    os_.find('cmdline').text = 'console=ttyS0 quiet panic=-1 pci=nomsi vnicd.ip=%s/24' % ip
    if d.find('features') is None:  # ACPI: PCI hotplug on the pc machine's root bus
        d.insert(list(d).index(os_) + 1, ET.Element('features'))
    if d.find('features/acpi') is None:
        ET.SubElement(d.find('features'), 'acpi')
    dev = d.find('devices')
    nic = dev.find('interface')
    nic.find('mac').set('address', mac)
    src = nic.find('source')
    src.set('path', SOCKS[name])
    if src.get('mode') == 'client':  # vnicd listens: QEMU reconnects after a vnicd restart
        ET.SubElement(src, 'reconnect', enabled='yes', timeout='1')
    drv = nic.find('driver')
    if drv is not None:
        nic.remove(drv)
    for tag in ('serial', 'console'):
        for e in dev.findall(tag):
            dev.remove(e)
    ser = ET.SubElement(dev, 'serial', type='unix')
    ET.SubElement(ser, 'source', mode='bind', path=console)
    ET.SubElement(ser, 'target', port='0')
    # QEMU 7.2, TCG and vhost-user: the NIC without MSI-X (vectors=0), for libvirt's alias
    ov = ET.SubElement(d, '{%s}override' % QNS)
    for alias in ('net0', 'ua-hot0'):  # ua-hot0: the NIC the test hotplugs
        qd = ET.SubElement(ov, '{%s}device' % QNS, alias=alias)
        fe = ET.SubElement(qd, '{%s}frontend' % QNS)
        ET.SubElement(fe, '{%s}property' % QNS, name='vectors', type='unsigned', value='0')
        if name == 'vm-a' and alias == 'net0':  # QEMU's announcement goes to the backend
            ET.SubElement(fe, '{%s}property' % QNS, name='guest_announce', type='bool',
                          value='false')
    return ET.tostring(d, encoding='unicode')


SOCKS = {}
HOTPLUG_DIR = []


def ports(vn):
    return {p['name']: p for p in vn.ctl_json('port', 'list')}


def ping(tap, g, ip, what, count=3, expect=True):
    rc, out = g.run('ping -c %d -W 2 %s' % (count, ip), timeout=60)
    m = re.search(r'(\d+) packets transmitted, (\d+) packets received', out)
    got = int(m.group(2)) if m else 0
    good = (got == count) if expect else (got == 0)
    tap.ok(good, '%s: %s' % (what, m.group(0) if m else out.strip()[-200:]))
    return good


def domifstat(dom, dev):
    cp = virsh('domifstat', dom, dev, check=False)
    st = {}
    for line in cp.stdout.splitlines():
        f = line.split()
        if len(f) == 3 and f[2].lstrip('-').isdigit():
            st[f[1]] = int(f[2])
    return cp, st


def vlan_of(vn, port):
    pol = vn.ctl_json('port', 'show', port).get('policy') or {}
    return pol.get('vlan') or 0


def listener_connects(vn):
    st = vn.ctl_json('libvirt', 'status')
    return st['connects'] if st['enabled'] and st['connected'] else 0


def announced(cap, mac):
    """(RARPs, gratuitous ARPs as (sender IP)) from @mac that the observer received."""
    rarp = cap.fields('eth.type == 0x8035 && eth.src == %s && arp.opcode == 3' % mac, 'eth.src')
    garp = cap.fields('eth.type == 0x0806 && eth.src == %s && arp.isgratuitous' % mac,
                      'arp.src.proto_ipv4')
    return len(rarp), sorted({r[0] for r in garp})


def announcements(tap, vn, gs):
    """After a migration QEMU announces the guest (announce_self): with a guest that acked
    VIRTIO_NET_F_GUEST_ANNOUNCE its driver sends gratuitous ARPs, else QEMU asks the backend
    (VHOST_USER_SEND_RARP) and DPDK's vhost library injects a RARP. `virsh save` + `virsh
    restore` is an incoming migration from a file: the hook's `restore` also makes vnicd send
    its own RARP at the guest's first link-up. A host on br0 watches what arrives."""
    ns = Netns('lvobs')
    vn.ctl('port', 'add', 'obs', 'tap', '--ifname', 'vnobs0', '--netns', ns.name)
    ns.ip('link', 'set', 'vnobs0', 'up')
    mac_a, mac_b = GUESTS['vm-a'][2], GUESTS['vm-b'][2]
    # what QEMU's own announcement (as after a migration) brings, without vnicd's: vm-a's
    # NIC offers no GUEST_ANNOUNCE (guest_announce=false), so QEMU sends VHOST_USER_SEND_RARP
    # and DPDK's vhost library injects the RARP; vm-b's guest (Linux) announces itself
    cap = Capture(ns, 'vnobs0', 'arp or rarp')
    for dom in ('vm-a', 'vm-b'):
        virsh('qemu-monitor-command', dom, '--hmp', 'announce_self')
    time.sleep(3)
    cap.stop()
    n_rarp, garps = announced(cap, mac_a)
    tap.ok(n_rarp >= 1 and not garps,
           'QEMU\'s announce_self of vm-a (no GUEST_ANNOUNCE): VHOST_USER_SEND_RARP, the RARP '
           'DPDK injects reaches a host on br0 through vnicd (%d RARPs, gratuitous ARPs: %s)'
           % (n_rarp, garps))
    n_rarp, garps = announced(cap, mac_b)
    tap.ok(garps == [GUESTS['vm-b'][3]],
           'QEMU\'s announce_self of vm-b (Linux acked GUEST_ANNOUNCE): the guest\'s own '
           'gratuitous ARPs for %s reach it (%d RARPs)' % (garps, n_rarp))
    # virsh save + restore of vm-b (vnicd listens, mode='client')
    img = vn.path('vm-b.save')
    gs['vm-b'].close()
    virsh('save', 'vm-b', img, timeout=180)
    tap.ok(wait_for(lambda: 'vm-b-net0' not in ports(vn), 10), 'virsh save: vm-b\'s port went')
    cap = Capture(ns, 'vnobs0', 'arp or rarp')
    virsh('restore', img, timeout=180)
    os.unlink(img)
    tap.ok(wait_for(lambda: vn.ctl_json('port', 'show', 'vm-b-net0')['announcements'] >= 3,
                    30), 'virsh restore: the hook\'s restore made the port and vnicd announced '
           'vm-b at its first link-up (3 rounds)')
    tap.ok(wait_for(lambda: 'libvirt: domain vm-b moved here: port vm-b-net0 announced'
                    in open(vn.logfile).read(), 10),
           'the listener (STARTED, detail restored) asked for the announcement too')
    time.sleep(2)
    cap.stop()
    n_rarp, garps = announced(cap, mac_b)
    tap.ok(n_rarp >= 3, 'a host on br0 received %d RARPs for vm-b\'s MAC after the restore '
           '(gratuitous ARPs from the guest: %s)' % (n_rarp, garps))
    gs['vm-b'] = ConsoleGuest('vm-b', vn.path('vm-b.console'))
    ping(tap, gs['vm-a'], GUESTS['vm-b'][3], 'vm-a pings the restored vm-b')
    vn.ctl('port', 'del', 'obs')
    ns.close()


def main():
    reexec_in_namespace()
    tap = Tap()
    vnlib.require_root_hugepages_testpmd(tap)
    require_qemu(tap)
    # the mounts first: vnicd (DPDK's runtime directory) lives under the private /run too
    # libvirt_uri not set (vnlib: a comment naming it): the default, auto mode
    cfg = '[vnicd]\n# libvirt_uri: not set, qemu:///system once its socket appears\n'
    with Vnicd('libvirt', config=cfg, start=False) as vn:
        SOCKS['vm-a'] = vn.path('vm-a.sock')  # QEMU binds it (mode='server')
        SOCKS['vm-b'] = vn.path('vm-b.sock')  # vnicd binds it (mode='client')
        SOCKS['vm-c'] = vn.path('vm-c.sock')  # QEMU binds it, VLAN 42 in its metadata
        # hotplugged mode='server' NICs: their own directory (only vhost-user sockets there)
        HOTPLUG_DIR.append(vn.path('hotplug'))
        os.makedirs(HOTPLUG_DIR[0])
        with open(vn.config_path, 'a') as f:
            f.write('vhost_hotplug_dirs = %s\n' % HOTPLUG_DIR[0])
        hook = os.path.join(build_dir(), 'libvirt', 'vnicd-libvirt-hook')
        # libvirtd runs /etc/libvirt/hooks/qemu DOMAIN OPERATION SUBOPERATION - (argv[0] says
        # the driver); the hook program takes the driver as its first argument. The wrapper
        # also logs each call for the test's diagnostics.
        log = vn.path('hook.log')
        script = ('#!/bin/sh\necho "hook: $*" >> %s\n%s --socket %s qemu "$@" 2>> %s\n'
                  'rc=$?\necho "hook: rc=$rc" >> %s\nexit $rc\n' % (log, hook, vn.sock, log, log))
        ovs = vn.path('ovs-bin')
        os.makedirs(ovs)
        os.symlink(os.path.join(REPO_DIR, 'libvirt', 'vnicd-ovs-vsctl'),
                   os.path.join(ovs, 'ovs-vsctl'))
        lv = Libvirtd(vn.path('lv'), script, ovs, dict(os.environ, VNICD_SOCKET=vn.sock))
        vn.start()
        vn.wait_ready()
        lv.start()
        st = vn.ctl_json('libvirt', 'status')
        tap.ok(st['enabled'] and st['auto'] and st['uri'] == 'qemu:///system',
               'libvirt_uri not set: the listener is on, in auto mode, for qemu:///system')
        tap.ok(wait_for(lambda: listener_connects(vn) >= 1, 30),
               'it connected once libvirtd\'s socket appeared')
        gs = {}
        for name in GUESTS:
            x = vn.path(name + '.xml')
            with open(x, 'w') as f:
                f.write(domain_xml(name, vn.path(name + '.console')))
            virsh('define', x)
            virsh('start', name, timeout=120)
            gs[name] = ConsoleGuest(name, vn.path(name + '.console'))
        p = ports(vn)
        tap.ok(all(n + '-net0' in p for n in GUESTS), 'virsh start created the ports '
               'vm-a-net0, vm-b-net0 and vm-c-net0: %s' % sorted(p))
        tap.ok(all(p.get(n + '-net0', {}).get('vm_uuid') == GUESTS[n][1] for n in GUESTS),
               'the ports carry the domains\' UUIDs')
        for g in gs.values():
            g.wait_for(r'VNICD-GUEST-READY', 120)
            g.wait_for(r'guest# ', 20)
        ping(tap, gs['vm-a'], GUESTS['vm-b'][3], 'vm-a pings vm-b through vnicd')
        tap.eq(vlan_of(vn, 'vm-c-net0'), 42, 'vm-c-net0 is in VLAN 42 from its metadata')
        ping(tap, gs['vm-a'], GUESTS['vm-c'][3], 'the VLAN separates vm-c from vm-a',
             expect=False)

        # virsh domifstat: libvirt asked "ovs-vsctl" (vnicd-ovs-vsctl) for the name at start
        for name in GUESTS:
            dx = virsh('dumpxml', name).stdout
            m = re.search(r"<target dev='([^']+)'", dx)
            tap.eq(m.group(1) if m else None, name + '-net0',
                   '%s: libvirt learnt the interface name from vnicd-ovs-vsctl' % name)
        # one-sided traffic: vm-a's ARP requests for an address nobody has go unanswered
        gs['vm-a'].run('ping -c 5 -i 0.2 -W 2 %s' % GUESTS['vm-b'][3], timeout=60)
        gs['vm-a'].run('ping -c 3 -W 1 10.78.0.99', timeout=60)
        cp, st = domifstat('vm-a', 'vm-a-net0')
        vst = vn.ctl_json('stats', '--port', 'vm-a-net0')['ports'][0]
        tap.ok(cp.returncode == 0 and st.get('tx_packets', 0) >= st.get('rx_packets', 0) + 3 and
               6 <= st['rx_packets'] <= vst['tx_packets'] and
               st['tx_packets'] <= vst['rx_packets'] and 0 < st['tx_bytes'] <= vst['rx_bytes'],
               'virsh domifstat shows vnicd\'s counters in the guest\'s view (tx = what vnicd '
               'received): %s (vnicd rx %d tx %d) %s'
               % (st, vst['rx_packets'], vst['tx_packets'], cp.stderr.strip()))

        # hotplug: QEMU's netdev_add waits for the vhost-user backend (both modes), before
        # libvirt's DEVICE_ADDED; with mode='server' in vhost_hotplug_dirs vnicd connects a
        # provisional port as soon as QEMU binds the socket, and the listener replaces it at
        # DEVICE_ADDED with the NIC's port (naming rule, labels, the metadata's policy)
        hot_mac = '52:54:00:ee:00:1a'
        pol = ('<policy><interface mac="%s"><vlan mode="access" tag="42"/></interface>'
               '</policy>' % hot_mac)
        virsh('metadata', 'vm-a', POLICY_NS, '--key', 'vnicd', '--set', pol, '--live')
        hot = vn.path('hot.xml')
        hot_sock = os.path.join(HOTPLUG_DIR[0], 'vm-a-hot.sock')
        nic = ET.parse(os.path.join(REPO_DIR, 'qemu-configs', 'libvirt',
                                    'nic-hotplug-server.xml')).getroot()
        nic.find('mac').set('address', hot_mac)
        nic.find('source').set('path', hot_sock)
        with open(hot, 'w') as f:
            f.write(ET.tostring(nic, encoding='unicode'))
        cp = virsh('attach-device', 'vm-a', hot, '--live', check=False, timeout=60)
        tap.ok(cp.returncode == 0, 'virsh attach-device of a mode=server NIC without a port '
               'made first %s' % cp.stderr.strip())
        tap.ok(wait_for(lambda: 'vm-a-net1' in ports(vn), 10) and
               wait_for(lambda: vlan_of(vn, 'vm-a-net1') == 42, 10) and
               wait_for(lambda: vn.ctl_json('port', 'show', 'vm-a-net1')['link'] == 'up', 20),
               'DEVICE_ADDED: the listener made port vm-a-net1 with the metadata policy (VLAN '
               '42); QEMU connected to it')
        p = vn.ctl_json('port', 'show', 'vm-a-net1')
        log = open(vn.logfile).read()
        tap.ok(p['vm_uuid'] == GUESTS['vm-a'][1] and p['path'] == hot_sock and
               'provisional port hp-vm-a-hot connects' in log and
               'provisional port hp-vm-a-hot gives way to vm-a-net1' in log and
               not [n for n in ports(vn) if n.startswith('hp-')],
               'the provisional port (hp-vm-a-hot) that let netdev_add finish gave way to it')
        cp = virsh('detach-device', 'vm-a', hot, '--live', check=False, timeout=60)
        tap.ok(cp.returncode == 0 and wait_for(lambda: 'vm-a-net1' not in ports(vn), 10),
               'DEVICE_REMOVED (only the alias ua-hot0): the listener removed port vm-a-net1 '
               '%s' % cp.stderr.strip())
        tap.ok('vm-a-net0' in ports(vn) and not [n for n in ports(vn) if n.startswith('hp-')],
               'vm-a keeps its first port; no provisional port is left')

        # virsh metadata --live: the listener moves vm-b into vm-c's VLAN 42, and back
        pol = ('<policy><interface mac="%s" network="br0"><vlan mode="access" tag="42"/>'
               '</interface></policy>' % GUESTS['vm-b'][2])
        virsh('metadata', 'vm-b', POLICY_NS, '--key', 'vnicd', '--set', pol, '--live')
        tap.ok(wait_for(lambda: vlan_of(vn, 'vm-b-net0') == 42, 10),
               'virsh metadata --live: the listener put vm-b-net0 into VLAN 42')
        ping(tap, gs['vm-b'], GUESTS['vm-c'][3], 'vm-b now reaches vm-c in VLAN 42')
        ping(tap, gs['vm-a'], GUESTS['vm-b'][3], 'and no longer vm-a', expect=False)
        virsh('metadata', 'vm-b', POLICY_NS, '--remove', '--live')
        tap.ok(wait_for(lambda: vlan_of(vn, 'vm-b-net0') == 0, 10),
               'removing the metadata takes the VLAN away again')
        ping(tap, gs['vm-a'], GUESTS['vm-b'][3], 'vm-a reaches vm-b again')

        announcements(tap, vn, gs)

        # libvirtd restarted: the listener reconnects, re-scans, nothing changes
        before = {n: (q['vm_uuid'], q.get('path')) for n, q in ports(vn).items()}
        lv.stop()
        lv.start()
        tap.ok(wait_for(lambda: listener_connects(vn) >= 2, 20),
               'libvirtd restarted: the listener reconnected')
        time.sleep(1)
        after = {n: (q['vm_uuid'], q.get('path')) for n, q in ports(vn).items()}
        tap.eq(after, before, 'libvirtd restarted: the ports are unchanged')
        ping(tap, gs['vm-a'], GUESTS['vm-b'][3], 'after the libvirtd restart vm-a pings vm-b')

        # vnicd started while the guests run, with no saved state: the reconcile makes the ports
        tap.eq(vn.stop(), 0, 'vnicd stopped under running guests')
        os.unlink(os.path.join(vn.state_dir, 'state.json'))
        vn.start()
        vn.wait_ready()
        tap.ok(wait_for(lambda: {n + '-net0' for n in GUESTS} <= set(ports(vn)), 20),
               'vnicd started without state while guests run: the listener created their '
               'ports from libvirt')
        tap.eq(vlan_of(vn, 'vm-c-net0'), 42, 'and gave vm-c-net0 its metadata VLAN')
        tap.ok(wait_for(lambda: all(vn.ctl_json('port', 'show', n + '-net0')['link'] == 'up'
                                    for n in GUESTS), 30),
               'every guest reconnected (vnicd client of vm-a\'s and vm-c\'s QEMU, vm-b\'s QEMU '
               'reconnecting to vnicd)')
        ping(tap, gs['vm-a'], GUESTS['vm-b'][3], 'pings resume without touching the guests')

        # virsh destroy: the ports go, their accounting stays
        sent = vn.ctl_json('stats', '--vm', GUESTS['vm-b'][1])['vms'][0]['rx_packets']
        virsh('destroy', 'vm-b')
        tap.ok(wait_for(lambda: 'vm-b-net0' not in ports(vn), 10),
               'virsh destroy vm-b removed its port')
        vms = vn.ctl_json('stats', '--vm', GUESTS['vm-b'][1])['vms']
        tap.ok(vms and vms[0]['rx_packets'] >= sent > 0,
               'the accounting keeps vm-b\'s totals after its port is gone (%s packets)'
               % (vms[0]['rx_packets'] if vms else None))
        tap.ok('vm-a-net0' in ports(vn), 'vm-a keeps its port')
        for g in gs.values():
            g.close()
        virsh('destroy', 'vm-a')
        virsh('destroy', 'vm-c')
        tap.ok(wait_for(lambda: not ports(vn), 10),
               'virsh destroy vm-a and vm-c removed their ports: %s' % sorted(ports(vn)))
        st = vn.ctl_json('libvirt', 'status')
        tap.ok(st['requests'] > 0 and st['requests_failed'] == 0 and st['xml_errors'] == 0 and
               st['conflicts'] == 0 and st['reconciles'] >= 1,
               'vnicctl libvirt status: no request refused, no XML error, no conflict (%s)'
               % json.dumps(st, sort_keys=True))
        out = vn.ctl('libvirt', 'status').stdout
        tap.ok(re.search(r'^uri\s+qemu:///system$', out, re.M) and
               re.search(r'^connected\s+yes$', out, re.M), 'vnicctl libvirt status (text)')
        lv._cleanup()
        tap.eq(vn.stop(), 0, 'vnicd exits 0')
    tap.done()


if __name__ == '__main__':
    main()
