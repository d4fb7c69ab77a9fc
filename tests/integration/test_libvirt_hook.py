#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# vnicd-libvirt-hook against recorded libvirt hook inputs (argv + domain XML of
# qemu-configs/libvirt/ on stdin, for each operation), with vnicd running and not running;
# a testpmd virtio-user guest on a hook-made port for the accounting; `install` in a temp dir.
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vnlib  # noqa: E402
from netnslib import Capture, Netns  # noqa: E402
from vnlib import Tap, TestPmd, Vnicd, wait_for  # noqa: E402

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = os.path.join(SRC, 'qemu-configs', 'libvirt')
# VNICD_HOOK: another build of the hook (e.g. with ASan)
HOOK = (os.environ.get('VNICD_HOOK') or
        os.path.join(vnlib.build_dir(), 'libvirt', 'vnicd-libvirt-hook'))
UUID = {'vm-client': '0f6e2b1e-5d7a-4c1b-9a51-6e0d1c2b3a01',
        'vm-server': '0f6e2b1e-5d7a-4c1b-9a51-6e0d1c2b3a02',
        'vm-policy': '0f6e2b1e-5d7a-4c1b-9a51-6e0d1c2b3a03',
        'vm-ethernet': '0f6e2b1e-5d7a-4c1b-9a51-6e0d1c2b3a04',
        'vm-memfd-mq': '0f6e2b1e-5d7a-4c1b-9a51-6e0d1c2b3a05'}
IFNAME = 'vnh%d' % (os.getpid() % 100000)  # the ethernet NIC's TAP, unique per run
IFNAME2 = 'vna%d' % (os.getpid() % 100000)  # a vnet port made with vnicctl


def recorded(name, vn_dir, aliases=False):
    """A recorded domain XML, sockets moved into vn_dir (vnicd's vhost_socket_dirs) and the
    ethernet target renamed; aliases=True: as libvirt gives it from `start` on (net0...)."""
    with open(os.path.join(CONFIGS, name + '.xml')) as f:
        xml = f.read()
    xml = re.sub(r"path='[^']*/([^/']+\.sock)'", lambda m: "path='%s/%s'" % (vn_dir, m.group(1)),
                 xml)
    xml = xml.replace("dev='vnicd-eth0'", "dev='%s'" % IFNAME)
    if aliases:
        n = iter(range(100))
        xml = re.sub(r"(<mac address='[^']*'/>)",
                     lambda m: "%s\n      <alias name='net%d'/>" % (m.group(1), next(n)), xml)
    return xml


class Hook:
    """Runs the hook as libvirtd does: argv `qemu DOMAIN OP SUBOP -`, XML on stdin, an
    environment of HOME, LC_ALL and PATH only (plus VNICD_CONFIG: where the test's
    vnicd.conf with control_socket is, standing in for /etc/vnicd/vnicd.conf)."""

    def __init__(self, conf):
        self.env = {'HOME': '/root', 'LC_ALL': 'C', 'PATH': '/usr/sbin:/usr/bin:/sbin:/bin',
                    'VNICD_CONFIG': conf}

    def __call__(self, dom, op, sub, xml, env=None, argv0=None):
        # libvirtd runs the installed hooks/qemu (@argv0) with DOMAIN OP SUBOP - only
        argv = [argv0, dom, op, sub, '-'] if argv0 else [HOOK, 'qemu', dom, op, sub, '-']
        return subprocess.run(argv, input=xml, capture_output=True, text=True, timeout=30,
                              env=env or self.env)


def ports(vn):
    return {p['name']: p for p in vn.ctl_json('port', 'list')}


def show(vn, name):
    return vn.ctl_json('port', 'show', name)


def one_line(cp):
    return cp.stderr.count('\n') == 1 and cp.stderr.strip() != ''


def test_client_traffic(tap, vn, hook):
    """vm-client: prepare makes a vnicd-server port; start (aliases) keeps it; a guest's
    frames are counted; release removes it and the ledger keeps the VM's totals."""
    xml = recorded('vm-client', vn.dir)
    cp = hook('vm-client', 'prepare', 'begin', xml)
    tap.eq((cp.returncode, cp.stdout), (0, ''), 'prepare vm-client: exit 0, nothing on stdout')
    p = show(vn, 'vm-client-net0')
    tap.eq((p['kind'], p['server'], p['path'], p['mac'], p['net'], p['vm_uuid'], p['vm_name']),
           ('vhost', True, vn.path('vm-client-net0.sock'), '52:54:00:aa:01:01', 'br0',
            UUID['vm-client'], 'vm-client'), 'port vm-client-net0: vnicd listens, labels')
    tap.ok(os.path.exists(vn.path('vm-client-net0.sock')), 'its socket exists before QEMU runs')
    for op in ('start', 'started'):
        cp = hook('vm-client', op, 'begin', recorded('vm-client', vn.dir, aliases=True))
        tap.eq(cp.returncode, 0, '%s after prepare (port exists): exit 0 (%s)'
               % (op, cp.stderr.strip()))
    tap.eq(sorted(n for n in ports(vn) if n.startswith('vm-client')), ['vm-client-net0'],
           'still one port for vm-client')

    g = TestPmd('hook-g', ['net_virtio_user0,path=%s,queues=1,mac=52:54:00:aa:01:01'
                           % vn.path('vm-client-net0.sock')])
    tap.ok(wait_for(lambda: show(vn, 'vm-client-net0')['link'] == 'up'), 'guest connected')
    g.wait_link_up(0)
    g.send(0, 4, 32, dst='ff:ff:ff:ff:ff:ff')
    tap.ok(wait_for(lambda: show(vn, 'vm-client-net0')['stats']['rx_packets'] == 128),
           'vnicd counted the guest\'s 128 frames')
    for op, sub in (('stopped', 'end'), ('release', 'end')):
        cp = hook('vm-client', op, sub, xml)
        tap.eq(cp.returncode, 0, '%s: exit 0' % op)
    g.close()
    tap.ok('vm-client-net0' not in ports(vn), 'release removed the port')
    st = vn.ctl_json('stats', '--vm', UUID['vm-client'])
    vms = [v for v in st['vms'] if v['vm_uuid'] == UUID['vm-client']]
    tap.ok(len(vms) == 1 and vms[0]['rx_packets'] == 128 and vms[0]['vm_name'] == 'vm-client',
           'the ledger keeps vm-client\'s totals after release: %r' %
           [(v['vm_name'], v['rx_packets']) for v in vms])


def test_server_multiqueue(tap, vn, hook):
    xml = recorded('vm-server', vn.dir)
    cp = hook('vm-server', 'prepare', 'begin', xml)
    p = show(vn, 'vm-server-net0')
    tap.eq((cp.returncode, p['server'], p['queues'], p['path']),
           (0, False, 2, vn.path('vm-server-net0.sock')),
           "mode='server': vnicd connects (client, reconnecting), 2 queue pairs")
    cp = hook('vm-memfd-mq', 'prepare', 'begin', recorded('vm-memfd-mq', vn.dir))
    ps = ports(vn)
    tap.eq((cp.returncode, sorted(n for n in ps if n.startswith('vm-memfd-mq'))),
           (0, ['vm-memfd-mq-net1', 'vm-memfd-mq-net2']),
           'memfd + multiqueue: one port per vhost-user NIC, named by position (net0 is a '
           'libvirt network NIC, not vnicd\'s)')
    a, b = show(vn, 'vm-memfd-mq-net1'), show(vn, 'vm-memfd-mq-net2')
    tap.eq((a['server'], a['queues'], b['server'], b['queues']), (True, 4, False, 4),
           'both modes with 4 queue pairs')
    cp = hook('vm-memfd-mq', 'start', 'begin', recorded('vm-memfd-mq', vn.dir, aliases=True))
    tap.eq((cp.returncode, len([n for n in ports(vn) if n.startswith('vm-memfd-mq')])), (0, 2),
           'start (aliases net1, net2) names the same ports')
    # reconnect (libvirtd restarted): re-sync, a port removed meanwhile comes back
    vn.ctl('port', 'del', 'vm-memfd-mq-net2')
    cp = hook('vm-memfd-mq', 'reconnect', 'begin', recorded('vm-memfd-mq', vn.dir, True))
    tap.eq((cp.returncode, 'vm-memfd-mq-net2' in ports(vn)), (0, True),
           'reconnect: exit 0 and the missing port is made again')
    for dom in ('vm-server', 'vm-memfd-mq'):
        hook(dom, 'stopped', 'end', recorded(dom, vn.dir))
    tap.ok(not [n for n in ports(vn) if n.startswith(('vm-server', 'vm-memfd-mq'))],
           'stopped removed them')


def test_policy(tap, vn, hook):
    xml = recorded('vm-policy', vn.dir)
    # NIC 2 is on the nat network 'lan' (its <nat> metadata: floating IP, a port forward)
    vn.ctl('net', 'add', 'wan', 'bridge')
    vn.ctl('net', 'add', 'lan', 'nat', '--subnet', '192.168.100.0/24', '--external', 'wan',
           '--external-ip', '203.0.113.2/24', '--mtu', '1500')
    cp = hook('vm-policy', 'prepare', 'begin', xml)
    tap.eq(cp.returncode, 0, 'prepare vm-policy: exit 0 (%s)' % cp.stderr.strip())
    tap.ok('NAT' not in cp.stderr and 'floating' not in cp.stderr,
           'no note about NAT settings: they are applied')
    p0 = show(vn, 'vm-policy-net0')['policy']
    tap.eq((p0['vlan_mode'], p0['vlan'], p0['lock_mac'], sorted(p0['allowed_ip'])),
           ('access', 42, True, ['192.0.2.31', '2001:db8::31']),
           'metadata: access VLAN 42, locked MAC, allowed IPs')
    tap.eq((p0['inbound']['average'], p0['inbound']['peak'], p0['outbound']['average']),
           (1000, 2000, 500), "libvirt's own <bandwidth> is honoured")
    tap.eq(p0['storm_control']['pps'], 2000, 'metadata storm control')
    p1 = show(vn, 'vm-policy-net1')
    tap.eq((p1['net'], p1['policy']['inbound']['average'], p1['policy']['outbound']),
           ('lan', 2000, None), "on network lan; the metadata's <bandwidth> replaces libvirt's")
    tap.eq(p1['mtu'], 1400, "libvirt's <mtu size='1400'>: the port's mtu")
    tap.eq((p1['policy'].get('floating_ip'), p1['policy'].get('forward')),
           ('203.0.113.31', 'tcp:8022:22'),
           '<nat floating-ip=> and <forward>: the port\'s floating IP and forward (port show)')
    fw = vn.ctl_json('nat', 'forward', 'list', 'lan')
    tap.ok(any(f.get('port') == 'vm-policy-net1' and f.get('external_port') == 8022
               for f in (fw if isinstance(fw, list) else fw.get('forwards', []))),
           'nat forward list lan shows the forward of vm-policy-net1: %s' % fw)
    # the metadata changed before start: start gives the port exactly the new policy
    changed = xml.replace('tag="42"', 'tag="43"').replace(
        '<vnicd:antispoof lock-mac="yes" allowed-ip="192.0.2.31,2001:db8::31"/>', '')
    changed = re.sub(r'<vnicd:nat .*?</vnicd:nat>', '<vnicd:nat floating-ip="203.0.113.32"/>',
                     changed, flags=re.S)
    cp = hook('vm-policy', 'start', 'begin', changed)
    p0 = show(vn, 'vm-policy-net0')['policy']
    tap.eq((cp.returncode, p0['vlan'], p0['lock_mac'], p0['allowed_ip']), (0, 43, False, []),
           'start: VLAN 43, anti-spoofing cleared (a full replacement, not a merge)')
    p1 = show(vn, 'vm-policy-net1')['policy']
    tap.eq((p1.get('floating_ip'), p1.get('forward')), ('203.0.113.32', 'none'),
           'start: the new floating IP, the forward removed')
    tap.eq(vn.ctl_json('net', 'show', 'lan')['floating_ips'][0]['floating_ip'], '203.0.113.32',
           'net show lan lists the floating IP of the port')
    # a policy vnicd refuses fails the start with vnicd's reason on one line
    bad = recorded('vm-server', vn.dir).replace(
        '<devices>', '<devices>', 1).replace(
        "  <memory unit", "  <metadata><v:policy xmlns:v='https://vnicd.dev/xmlns/policy/1'>"
        "<v:interface mac='52:54:00:aa:02:01' network='nonet'/></v:policy></metadata>\n"
        "  <memory unit", 1)
    cp = hook('vm-server', 'prepare', 'begin', bad)
    tap.ok(cp.returncode == 1 and one_line(cp) and "no network 'nonet'" in cp.stderr,
           'prepare with an unknown network: exit 1, one line: %s' % cp.stderr.strip())
    cp = hook('vm-policy', 'release', 'end', xml)
    tap.ok(cp.returncode == 0 and not [n for n in ports(vn) if n.startswith('vm-policy')],
           'release removed both ports')
    tap.eq(vn.ctl_json('net', 'show', 'lan')['floating_ips'], [],
           'and the floating IP went with the port')
    # an MTU larger than the network carries: refused with vnicd's reason, on one line
    cp = hook('vm-policy', 'prepare', 'begin', xml.replace("<mtu size='1400'/>",
                                                           "<mtu size='9000'/>"))
    tap.ok(cp.returncode == 1 and one_line(cp) and
           "--mtu 9000 is larger than network 'lan' carries (1500)" in cp.stderr,
           '<mtu size=9000> on lan (--mtu 1500): prepare fails with one line: %s'
           % cp.stderr.strip())
    hook('vm-policy', 'release', 'end', xml)
    # <nat> on a port of a network that is not a nat network: refused with vnicd's reason
    cp = hook('vm-policy', 'prepare', 'begin', xml.replace('network="lan"', 'network="br0"'))
    tap.ok(cp.returncode == 1 and one_line(cp) and 'floating-ip' in cp.stderr,
           '<nat> on a bridge network: prepare fails with one line: %s' % cp.stderr.strip())
    hook('vm-policy', 'release', 'end', xml)
    vn.ctl('net', 'del', 'lan')
    vn.ctl('net', 'del', 'wan')


def test_ethernet(tap, vn, hook):
    xml = recorded('vm-ethernet', vn.dir)
    cp = hook('vm-ethernet', 'prepare', 'begin', xml)
    ps = ports(vn)
    tap.eq((cp.returncode, sorted(n for n in ps if n.startswith('vm-ethernet'))),
           (0, ['vm-ethernet-net0']),
           "type='ethernet': a vnet port for the NIC the metadata names, none for the other")
    p = show(vn, 'vm-ethernet-net0')
    tap.eq((p['kind'], p['ifname'], p['queues'], p['policy']['vlan_mode'], p['policy']['vlan'],
            p['vm_uuid']), ('vnet', IFNAME, 2, 'access', 7, UUID['vm-ethernet']),
           "vnet port on the target dev, 2 queues, libvirt's <vlan> tag 7 as access VLAN")
    link = subprocess.run(['ip', '-o', 'link', 'show', 'dev', IFNAME], capture_output=True,
                          text=True)
    tap.ok(link.returncode == 0, 'vnicd precreated TAP %s for libvirt to open' % IFNAME)
    tap.ok(' mtu 1450 ' in link.stdout and p['mtu'] == 1450,
           "libvirt's <mtu size='1450'>: the TAP's MTU: %s" % link.stdout.strip()[:80])
    hook('vm-ethernet', 'release', 'end', xml)
    link = subprocess.run(['ip', 'link', 'show', 'dev', IFNAME], capture_output=True)
    tap.ok('vm-ethernet-net0' not in ports(vn) and link.returncode != 0,
           'release removed the port and its TAP')
    # an ethernet NIC the metadata does not name, on a vnet port made with vnicctl
    vn.ctl('port', 'add', 'adm0', 'vnet', '--ifname', IFNAME2)
    adopt = xml.replace("<target dev='tap-other' managed='no'/>",
                        "<target dev='%s' managed='no'/>\n      <vlan><tag id='9'/></vlan>"
                        % IFNAME2)
    cp = hook('vm-ethernet', 'prepare', 'begin', adopt)
    p = show(vn, 'adm0')
    tap.eq((cp.returncode, p['policy']['vlan_mode'], p['policy']['vlan'], p['vm_uuid']),
           (0, 'access', 9, None),
           "a vnet port made outside libvirt gets the NIC's libvirt <vlan>, no labels")
    hook('vm-ethernet', 'release', 'end', adopt)
    tap.ok('adm0' in ports(vn) and 'vm-ethernet-net0' not in ports(vn),
           'release leaves that port in place')
    vn.ctl('port', 'del', 'adm0')


def test_idempotence_and_ownership(tap, vn, hook):
    # a stale port of the same name with other settings is replaced at prepare
    vn.ctl('port', 'add', 'vm-server-net0', 'vhost', '--path', vn.path('stale.sock'))
    cp = hook('vm-server', 'prepare', 'begin', recorded('vm-server', vn.dir))
    p = show(vn, 'vm-server-net0')
    tap.eq((cp.returncode, p['path'], p['vm_uuid']),
           (0, vn.path('vm-server-net0.sock'), UUID['vm-server']),
           'a stale port of that name is replaced with the guest\'s')
    cp = hook('vm-server', 'prepare', 'begin', recorded('vm-server', vn.dir))
    tap.eq(cp.returncode, 0, 'prepare twice: exit 0')
    vn.ctl('port', 'del', 'vm-server-net0')
    # release leaves a port of that name that is not the guest's
    vn.ctl('port', 'add', 'vm-server-net0', 'vhost', '--path', vn.path('other.sock'),
           '--vm-uuid', '99999999-9999-9999-9999-999999999999', '--vm-name', 'other')
    cp = hook('vm-server', 'release', 'end', recorded('vm-server', vn.dir))
    tap.ok(cp.returncode == 0 and 'vm-server-net0' in ports(vn),
           'release leaves a port labelled with another VM: %s' % cp.stderr.strip())
    vn.ctl('port', 'del', 'vm-server-net0')
    for op in ('migrate', 'restore'):
        cp = hook('vm-client', op, 'begin', recorded('vm-client', vn.dir))
        tap.eq((cp.returncode, cp.stdout), (0, ''),
               '%s: accepted, XML unchanged (nothing on stdout)' % op)
    hook('vm-client', 'release', 'end', recorded('vm-client', vn.dir))
    cp = hook('vm-client', 'prepare', 'begin', '<domain><name>vm-client')
    tap.ok(cp.returncode == 1 and one_line(cp) and 'malformed' in cp.stderr,
           'prepare with broken XML: exit 1, one line: %s' % cp.stderr.strip())
    cp = hook('vm-client', 'release', 'end', '<domain><name>vm-client')
    tap.eq(cp.returncode, 0, 'release with broken XML: exit 0')
    env = dict(hook.env, VNICD_SOCKET=vn.sock, VNICD_CONFIG='/nonexistent')
    cp = hook('vm-client', 'prepare', 'begin', recorded('vm-client', vn.dir), env=env)
    tap.ok(cp.returncode == 0 and 'vm-client-net0' in ports(vn),
           'the socket from $VNICD_SOCKET, as vnicctl finds it')
    hook('vm-client', 'release', 'end', recorded('vm-client', vn.dir), env=env)


def test_announce(tap, vn, hook):
    """restore (and migrate): the hook makes the ports and asks vnicd to announce the guest
    when it connects here; a host on the same network sees the RARP and gratuitous ARP."""
    ns = Netns('ann')
    vn.ctl('port', 'add', 'obs', 'tap', '--ifname', 'obs0', '--netns', ns.name)
    ns.ip('link', 'set', 'obs0', 'up')
    xml = recorded('vm-client', vn.dir)
    cp = hook('vm-client', 'restore', 'begin', xml)
    p = show(vn, 'vm-client-net0')
    tap.ok(cp.returncode == 0 and cp.stdout == '' and p['link'] == 'down' and
           p['announce_pending'], 'restore: the port is made before QEMU runs, its '
           'announcement pending until the guest connects (%s)' % cp.stderr.strip())
    cp = hook('vm-client', 'prepare', 'begin', xml)
    tap.ok(cp.returncode == 0 and show(vn, 'vm-client-net0')['announce_pending'],
           'prepare after restore keeps the port and its pending announcement')
    vn.ctl('port', 'set', 'vm-client-net0', '--allowed-ip', '10.99.0.7,2001:db8::7')
    cap = Capture(ns, 'obs0', 'arp or rarp')
    g = TestPmd('hook-ann', ['net_virtio_user0,path=%s,queues=1,mac=52:54:00:aa:01:01'
                             % vn.path('vm-client-net0.sock')])
    try:
        g.wait_link_up(0)
        tap.ok(wait_for(lambda: show(vn, 'vm-client-net0')['announcements'] == 3, 10),
               'the guest connected (restored): vnicd sent 3 announcement rounds')
        cap.stop()
        rarp = cap.fields('eth.type == 0x8035', 'eth.src', 'eth.dst', 'arp.opcode', 'arp.src.hw_mac',
                          'arp.dst.hw_mac')
        garp = cap.fields('arp.isgratuitous and eth.type == 0x0806', 'eth.src', 'arp.src.proto_ipv4',
                          'arp.dst.proto_ipv4')
        tap.eq(rarp, [['52:54:00:aa:01:01', 'ff:ff:ff:ff:ff:ff', '3', '52:54:00:aa:01:01',
                       '52:54:00:aa:01:01']] * 3,
               'the host on the network received 3 RARPs for the guest\'s MAC (tshark)')
        tap.eq(garp, [['52:54:00:aa:01:01', '10.99.0.7', '10.99.0.7']] * 3,
               'and 3 gratuitous ARPs for its allowed IPv4 address (none for the IPv6 one)')
        fdb = vn.ctl_json('fdb', 'show')
        tap.ok(any(e.get('mac') == '52:54:00:aa:01:01' and e.get('port') == 'vm-client-net0'
                   for e in (fdb if isinstance(fdb, list) else fdb.get('entries', []))),
               'vnicd\'s bridge learnt the guest\'s MAC on its port')
        r = vn.ctl('port', 'announce', 'vm-client-net0')
        tap.ok(r.returncode == 0 and
               wait_for(lambda: show(vn, 'vm-client-net0')['announcements'] == 6, 10),
               'vnicctl port announce with the link up: 3 more rounds at once')
        r = vn.ctl('port', 'announce', 'nope', check=False)
        tap.ok(r.returncode != 0 and "no port 'nope'" in r.stderr,
               'port announce of an unknown port: %s' % r.stderr.strip())
    finally:
        g.close()
    hook('vm-client', 'release', 'end', xml)
    vn.ctl('port', 'del', 'obs')
    ns.close()


def test_hotplug_watch(tap, vn):
    """vhost_hotplug_dirs: a socket bound there (testpmd's virtio-user as the server, as QEMU
    binds a mode='server' NIC's) gets a provisional port in quarantine at once; it goes with
    its socket."""
    sock = os.path.join(vn.path('hotplug'), 'hot0.sock')
    g = TestPmd('hook-hp', ['net_virtio_user0,path=%s,server=1,queues=1,mac=52:54:00:aa:09:01'
                            % sock])
    try:
        tap.ok(wait_for(lambda: 'hp-hot0' in ports(vn) and
                        show(vn, 'hp-hot0')['link'] == 'up', 20),
               'a socket appeared in vhost_hotplug_dirs: provisional port hp-hot0 connected to it')
        g.wait_link_up(0)
        p = show(vn, 'hp-hot0')
        tap.eq((p['path'], p['server'], p['vm_uuid'], p['mac'], p['policy']['vlan_mode'],
                p['policy']['vlan'], p['policy']['lock_mac']),
               (sock, False, None, '02:00:00:00:00:00', 'access', 4094, True),
               'it is a vnicd client, unlabelled, quarantined (access VLAN 4094, MAC locked to '
               '02:00:00:00:00:00)')
        g.send(0, 2, 32, dst='ff:ff:ff:ff:ff:ff')
        tap.ok(wait_for(lambda: [q['drops'].get('spoofed') for q in vn.ctl_json('stats')['ports']
                                 if q['name'] == 'hp-hot0'] == [64], 10),
               'what the guest sends through it is dropped (64 frames counted as spoofed)')
        vn.restart()
        vn.wait_ready()
        tap.ok(wait_for(lambda: 'hp-hot0' in ports(vn) and
                        show(vn, 'hp-hot0')['link'] == 'up', 20),
               'vnicd restarted: the provisional port is back (state) and reconnected')
    finally:
        g.close()
    tap.ok(wait_for(lambda: 'hp-hot0' not in ports(vn), 10),
           'the socket went away: the provisional port went with it')


def test_unreachable(tap, vn, hook):
    """vnicd not running: prepare/start fail with one line, the rest exit 0."""
    for dom in ('vm-client', 'vm-policy'):
        for op, sub in (('prepare', 'begin'), ('start', 'begin')):
            cp = hook(dom, op, sub, recorded(dom, vn.dir))
            tap.ok(cp.returncode == 1 and one_line(cp) and 'cannot reach vnicd' in cp.stderr,
                   'vnicd down: %s %s exits 1 with one line: %s' % (op, dom, cp.stderr.strip()))
        for op, sub in (('stopped', 'end'), ('release', 'end'), ('reconnect', 'begin')):
            cp = hook(dom, op, sub, recorded(dom, vn.dir))
            tap.eq(cp.returncode, 0, 'vnicd down: %s %s exits 0 (logged: %s)'
                   % (op, dom, cp.stderr.strip()))
    plain = re.sub(r"<interface type='vhostuser'>.*?</interface>", '',
                   recorded('vm-memfd-mq', vn.dir), flags=re.S)
    cp = hook('vm-memfd-mq', 'prepare', 'begin', plain)
    tap.eq(cp.returncode, 0, 'a guest without vnicd NICs starts while vnicd is down')


def test_install(tap, hook):
    d = tempfile.mkdtemp(prefix='vn-hookdir-')
    try:
        hooks = os.path.join(d, 'hooks')
        cp = subprocess.run([HOOK, 'install', '--hooks-dir', hooks], capture_output=True,
                            text=True)
        q = os.path.join(hooks, 'qemu')
        tap.ok(cp.returncode == 0 and os.access(q, os.X_OK), 'install writes %s' % q)
        with open(q) as f:
            first = f.read()
        cp = subprocess.run([HOOK, 'install', '--hooks-dir', hooks], capture_output=True,
                            text=True)
        with open(q) as f:
            again = f.read()
        tap.ok(cp.returncode == 0 and 'nothing to do' in cp.stdout and again == first and
               not os.path.exists(os.path.join(hooks, 'qemu.d')), 'install again: idempotent')
        # the installed script runs the hook (vnicd unreachable: prepare fails, as it should)
        cp = hook('vm-client', 'prepare', 'begin', recorded('vm-client', d),
                  env=dict(hook.env, VNICD_CONFIG='/nonexistent',
                           VNICD_SOCKET=os.path.join(d, 'none.sock')), argv0=q)
        tap.ok(cp.returncode == 1 and 'cannot reach vnicd' in cp.stderr,
               'libvirt running %s runs the hook' % q)

        # chaining: an earlier hook moves to qemu.d/ and still runs with libvirt's arguments
        hooks2 = os.path.join(d, 'hooks2')
        os.makedirs(hooks2)
        q2 = os.path.join(hooks2, 'qemu')
        out = os.path.join(d, 'earlier.out')
        with open(q2, 'w') as f:
            f.write('#!/bin/sh\necho "$@" >> %s\ncat >> %s\n' % (out, out))
        os.chmod(q2, 0o755)
        cp = subprocess.run([HOOK, 'install', '--hooks-dir', hooks2], capture_output=True,
                            text=True)
        moved = os.path.join(hooks2, 'qemu.d', 'qemu-before-vnicd')
        tap.ok(cp.returncode == 0 and os.access(moved, os.X_OK) and 'moved' in cp.stdout,
               'install moves an earlier hook to qemu.d/: %s' % cp.stdout.strip())
        with open(q2) as f:
            tap.ok("Installed by 'vnicd-libvirt-hook install'" in f.read(), 'and installs ours')
        subprocess.run([moved, 'qemu', 'vm1', 'prepare', 'begin', '-'], input='<domain/>',
                       text=True)
        with open(out) as f:
            tap.eq(f.read(), 'qemu vm1 prepare begin -\n<domain/>', 'the earlier hook still runs')
        cp = subprocess.run([HOOK, 'install', '--hooks-dir', hooks2], capture_output=True,
                            text=True)
        tap.eq((cp.returncode, os.listdir(os.path.join(hooks2, 'qemu.d'))),
               (0, ['qemu-before-vnicd']), 'install again moves nothing more')
        # a symbolic link to the program is ours: replaced by the script, not moved
        hooks3 = os.path.join(d, 'hooks3')
        os.makedirs(hooks3)
        os.symlink(os.path.realpath(HOOK), os.path.join(hooks3, 'qemu'))
        cp = subprocess.run([HOOK, 'install', '--hooks-dir', hooks3, '--socket', '/run/x.sock'],
                            capture_output=True, text=True)
        with open(os.path.join(hooks3, 'qemu')) as f:
            text = f.read()
        tap.ok(cp.returncode == 0 and not os.path.exists(os.path.join(hooks3, 'qemu.d')) and
               "--socket '/run/x.sock'" in text,
               'a link to the hook is replaced, not chained; --socket is kept in the script')
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    tap = Tap()
    vnlib.require_root_hugepages_testpmd(tap)
    if not os.access(HOOK, os.X_OK):
        tap.bail('%s not built' % HOOK)
    vn = Vnicd('hook', start=False)
    os.makedirs(vn.path('hotplug'))
    with open(vn.config_path, 'a') as f:
        f.write('vhost_hotplug_dirs = %s\n' % vn.path('hotplug'))
    vn.start()
    vn.wait_ready()
    conf = vn.path('hook.conf')
    with open(conf, 'w') as f:
        f.write('[vnicd]\ncontrol_socket = %s\n' % vn.sock)
    hook = Hook(conf)
    try:
        test_client_traffic(tap, vn, hook)
        test_server_multiqueue(tap, vn, hook)
        test_policy(tap, vn, hook)
        test_ethernet(tap, vn, hook)
        test_idempotence_and_ownership(tap, vn, hook)
        test_announce(tap, vn, hook)
        test_hotplug_watch(tap, vn)
        vn.stop()
        test_unreachable(tap, vn, hook)
        test_install(tap, hook)
    finally:
        for ifname in (IFNAME, IFNAME2):
            subprocess.run(['ip', 'link', 'del', ifname], capture_output=True)
    tap.done()


if __name__ == '__main__':
    main()
