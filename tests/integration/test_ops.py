#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Operators' tools against a running vnicd: metrics with promtool, alert rules and dashboard, uplinks by interface name, log levels and the journal, bash completion.
"""Operators' tools, end to end.

One vnicd with two tap guests in namespaces on br0, a bridge network 'lan' whose uplink is
given as a plain interface name (a veth into an adjacent Linux bridge with an external
host), an af_xdp uplink by name, and an overlay 'ov' over 'lan' with one unresolvable
remote VTEP; traffic between the guests and to the external host.

  uplink      --uplink IFNAME picks net_af_packet (--uplink-driver af_xdp: net_af_xdp), ping
              through it; devargs still accepted and still checked against the allow-list;
              bad names and driver mix-ups refused
  port show   a tap port shows its device's MAC (as `ip link` has it), in text and JSON
  metrics     the exposition passes `promtool check metrics`, every family has # HELP and
              # TYPE, port links, worker, FDB, overlay VTEP and limit gauges have the
              running vnicd's values
  contrib     `promtool check rules` passes on contrib/prometheus/vnicd-alerts.yml; it and
              contrib/grafana/vnicd.json (valid JSON, panels) use only metrics vnicd exports
  log level   vnicctl log-level shows and changes the level at run time: debug lines appear,
              info lines stop at warning; a bad level is refused
  journal     with JOURNAL_STREAM naming its stderr, vnicd sends journald native datagrams
              (PRIORITY, SYSLOG_IDENTIFIER, MESSAGE, VNICD_PORT/VNICD_NETWORK) to the journal
              socket, or without one writes "<6>" prefixed lines
  completion  completions/vnicctl under bash: commands, subcommands, flags, and port and
              network names fetched from the running vnicd
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netnslib as nl  # noqa: E402
import uplinklib as ul  # noqa: E402
import vnlib  # noqa: E402
from vnlib import REPO_DIR, Tap, Vnicd, scrape_metrics, wait_for  # noqa: E402

MAC = ['02:00:00:00:0c:01', '02:00:00:00:0c:02']
EXT_IP = '10.61.0.100'
VM_UUID = '0d6c1f8e-2b7a-4c3d-9e5f-1a2b3c4d5e6f'


def samples(text):
    """{(name, frozenset(labels)): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith('#'):
            continue
        m = re.match(r'^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$', line)
        if not m:
            raise ValueError('bad sample line %r' % line)
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ''))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(smp, name, **labels):
    want = set(labels.items())
    for (n, ls), v in smp.items():
        if n == name and want <= set(ls):
            return v
    return None


def complete(vn, *words):
    """COMPREPLY of completions/vnicctl for the command line vnicctl --socket SOCK WORDS..."""
    script = ('source %s/completions/vnicctl\n'
              'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()\n'
              '_vnicctl\nprintf "%%s\\n" "${COMPREPLY[@]}"\n' % REPO_DIR)
    argv = ['bash', '--norc', '--noprofile', '-c', script, 'bash', vnlib.vnicctl_bin(),
            '--socket', vn.sock] + list(words)
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return sorted(w for w in cp.stdout.split('\n') if w), cp.stderr


def test_uplink(tap, vn, adj, adj2):
    idx = socket.if_nametoindex(adj.up)
    vn.ctl('net', 'add', 'lan', 'bridge', '--uplink', adj.up)
    show = vn.ctl_json('net', 'show', 'lan')
    up = nl.port_show(vn, show['uplink'])
    tap.eq(up.get('devargs'), 'net_af_packet%d,iface=%s' % (idx, adj.up),
           '--uplink %s: an af_packet uplink on that interface' % adj.up)
    tap.eq(up.get('link'), 'up', 'the uplink by name has its link up')
    vn.ctl('net', 'add', 'lan2', 'bridge', '--uplink', adj2.up, '--uplink-driver', 'af_xdp')
    up2 = nl.port_show(vn, vn.ctl_json('net', 'show', 'lan2')['uplink'])
    tap.eq(up2.get('devargs'), 'net_af_xdp%d,iface=%s' % (socket.if_nametoindex(adj2.up),
                                                          adj2.up),
           '--uplink IF --uplink-driver af_xdp: an af_xdp uplink')
    vn.ctl('net', 'del', 'lan2')
    cp = vn.ctl('net', 'add', 'lan3', 'bridge', '--uplink', 'net_af_packet77,iface=%s' % adj2.up,
                check=False)
    tap.eq(cp.returncode, 0, 'devargs are still accepted')
    vn.ctl('net', 'del', 'lan3', check=False)
    bad = [
        (['--uplink', 'nosuchif0'], "no such interface"),
        (['--uplink', adj2.up, '--uplink-driver', 'pcap'], "af_packet or af_xdp"),
        (['--uplink', 'net_af_packet5,iface=%s' % adj2.up, '--uplink-driver', 'af_xdp'],
         "goes with --uplink IFNAME"),
        (['--uplink-driver', 'af_xdp'], "goes with --uplink IFNAME"),
        (['--uplink', 'net_pcap0,rx_pcap=/etc/shadow'], "not allowed"),
        (['--uplink', adj.up], "already the uplink of network 'lan'"),
    ]
    for args, msg in bad:
        cp = vn.ctl('net', 'add', 'bad', 'bridge', *args, check=False)
        tap.ok(cp.returncode == 1 and msg in cp.stderr,
               'net add %s refused (%s): %s' % (' '.join(args), msg, cp.stderr.strip()))
    tap.eq([n['name'] for n in vn.ctl_json('net', 'list') if n['name'].startswith('bad')], [],
           'nothing half-made by the refused net add')


def test_port_show(tap, vn, guests):
    for i, ns in enumerate(guests):
        link = ns.link(ul.GIF)
        d = nl.port_show(vn, 'g%d' % (i + 1))
        tap.eq(d.get('device_mac'), link['address'],
               'port show --json of tap port g%d: the device MAC' % (i + 1))
    text = vn.ctl('port', 'show', 'g1').stdout
    tap.ok(('mac %s,' % guests[0].link(ul.GIF)['address']) in text,
           'port show (text) of a tap port shows the device MAC')


def test_metrics(tap, vn, msock):
    text = scrape_metrics(msock)
    cp = subprocess.run(['promtool', 'check', 'metrics'], input=text, capture_output=True,
                        text=True)
    tap.eq((cp.returncode, cp.stdout + cp.stderr), (0, ''), 'promtool check metrics passes')
    names = set(re.findall(r'^([a-zA-Z_:][\w:]*)[{ ]', text, re.M))
    helped = set(re.findall(r'^# HELP (\S+) ', text, re.M))
    typed = set(re.findall(r'^# TYPE (\S+) ', text, re.M))
    tap.eq(sorted(n for n in names if n not in helped or n not in typed), [],
           'every family has # HELP and # TYPE (%d families)' % len(names))
    smp = samples(text)
    tap.eq([value(smp, 'vnicd_port_up', port=p) for p in ('g1', 'g2', 'lan-uplink')],
           [1.0, 1.0, 1.0], 'vnicd_port_up: the guests and the uplink are up')
    tap.ok((value(smp, 'vnicd_port_rx_packets_total', port='g1') or 0) > 0,
           'vnicd_port_rx_packets_total of a sending port is non-zero')
    tap.ok(value(smp, 'vnicd_worker_loops_total', worker='0') > 0 and
           value(smp, 'vnicd_worker_frames_total', worker='0') > 0,
           'worker 0: loops and frames counted')
    tap.ok((value(smp, 'vnicd_vm_rx_packets_total', vm_uuid=VM_UUID, vm_name='web \\"1\\"\\\\')
            or 0) > 0, 'per-VM series, with its name escaped as the format says')
    tap.ok(0 <= value(smp, 'vnicd_worker_busy_ratio', worker='0') <= 1,
           'worker 0: busy ratio within 0..1')
    tap.eq(value(smp, 'vnicd_worker_rx_queues', worker='0'),
           float(len(vn.ctl_json('port', 'list'))),
           'worker 0 (the only one) polls one rx queue per port')
    fdb = {n['name']: n['fdb_entries'] for n in vn.ctl_json('net', 'list')}
    tap.eq((value(smp, 'vnicd_net_fdb_entries', net='br0'), value(smp, 'vnicd_net_fdb_max',
                                                                  net='br0')),
           (float(fdb['br0']), 8192.0), 'FDB entries (as net list has them) and the limit')
    tap.ok(fdb['br0'] >= 2, 'the guests were learned in br0')
    tap.eq((value(smp, 'vnicd_overlay_remote_vteps', net='ov', state='unresolved'),
            value(smp, 'vnicd_overlay_remote_vteps', net='ov', state='resolved')),
           (1.0, 0.0), 'overlay ov: one remote VTEP, unresolved')
    nb = vn.ctl_json('net', 'show', 'ov')['neighbours']
    tap.eq({st: value(smp, 'vnicd_overlay_neighbours', net='ov', state=st)
            for st in ('incomplete', 'reachable', 'stale', 'failed')},
           {st: float(sum(n['state'] == st for n in nb))
            for st in ('incomplete', 'reachable', 'stale', 'failed')},
           'overlay ov: the neighbour cache by state, as net show has it (%d entries)' % len(nb))
    tap.eq((value(smp, 'vnicd_ports_max'), value(smp, 'vnicd_nets'),
            value(smp, 'vnicd_ledger_entries_max')),
           (256.0, float(len(vn.ctl_json('net', 'list'))), 4096.0),
           'limits: max_ports, networks, ledger_max')
    return names | typed


def test_contrib(tap, names):
    rules = os.path.join(REPO_DIR, 'contrib', 'prometheus', 'vnicd-alerts.yml')
    cp = subprocess.run(['promtool', 'check', 'rules', rules], capture_output=True, text=True)
    tap.ok(cp.returncode == 0 and 'SUCCESS' in cp.stdout,
           'promtool check rules contrib/prometheus/vnicd-alerts.yml: %s' % cp.stdout.strip())
    with open(rules) as f:
        ytext = f.read()
    exprs = re.findall(r'^\s*expr: (.*)$', ytext, re.M)
    alerts = re.findall(r'^\s*- alert: (\S+)', ytext, re.M)
    tap.ok(len(alerts) >= 4 and len(exprs) == len(alerts), 'alert rules: %s' % ', '.join(alerts))
    for what, words in (('drops rising', 'drops_total'), ('a port down', 'vnicd_port_up'),
                        ('a worker saturated', 'worker_busy'), ('a table near its limit',
                                                                '_max')):
        tap.ok(any(words in e for e in exprs), 'an alert for %s' % what)
    with open(os.path.join(REPO_DIR, 'contrib', 'grafana', 'vnicd.json')) as f:
        dash = json.load(f)
    targets = [t['expr'] for p in dash['panels'] for t in p.get('targets', [])]
    tap.ok(dash.get('title') and len(targets) >= 10, 'the dashboard: %d queries' % len(targets))
    used = set()
    for e in exprs + targets + [v['query']['query'] for v in dash['templating']['list']
                                if isinstance(v.get('query'), dict)]:
        used |= set(re.findall(r'\b(vnicd_\w+)', e))
    tap.eq(sorted(used - names), [], 'the rules and the dashboard use only exported metrics')


def test_log_level(tap, vn, guests):
    cp = vn.ctl('log-level')
    tap.eq(cp.stdout, 'log level info\n', 'vnicctl log-level: the current level')
    tap.eq(vn.ctl_json('log-level', 'debug'), {'level': 'debug', 'previous': 'info'},
           'vnicctl log-level debug --json: the new and the previous level')
    vn.ctl('port', 'add', 'dbg1', 'tap', '--ifname', nl.uniq('d1'), '--netns', guests[0].name)
    tap.ok(wait_for(lambda: re.search(r'vnicd\[debug\]: port dbg1: ', vn.log()), 5),
           'at debug, a debug line of the new port is logged')
    tap.ok('log level debug (was info)' in vn.log(), 'the change itself is logged')
    tap.eq(vn.ctl('log-level', 'warning').stdout, 'log level warning (was debug)\n',
           'vnicctl log-level warning')
    vn.ctl('port', 'add', 'dbg2', 'tap', '--ifname', nl.uniq('d2'), '--netns', guests[0].name)
    vn.ctl('log-level', 'info')
    vn.ctl('port', 'add', 'dbg3', 'tap', '--ifname', nl.uniq('d3'), '--netns', guests[0].name)
    wait_for(lambda: 'port dbg3 (' in vn.log(), 5)
    log = vn.log()
    tap.eq(('port dbg2 (' in log, 'port dbg3 (' in log), (False, True),
           'at warning no info line is logged; at info again it is')
    cp = vn.ctl('log-level', 'loud', check=False)
    tap.eq((cp.returncode, cp.stderr.strip()),
           (1, "vnicctl: error: 'loud' is not a log level (error, warning, info, debug)"),
           'a bad level is refused')
    for p in ('dbg1', 'dbg2', 'dbg3'):
        vn.ctl('port', 'del', p)


def start_journal_vnicd(name, journal_socket):
    """A vnicd whose stderr is what JOURNAL_STREAM names, with VNICD_JOURNAL_SOCKET set."""
    vn = Vnicd(name, start=False)
    open(vn.logfile, 'ab').close()
    st = os.stat(vn.logfile)
    saved = {k: os.environ.get(k) for k in ('JOURNAL_STREAM', 'VNICD_JOURNAL_SOCKET')}
    os.environ['JOURNAL_STREAM'] = '%d:%d' % (st.st_dev, st.st_ino)
    os.environ['VNICD_JOURNAL_SOCKET'] = journal_socket
    try:
        vn.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    vn.wait_ready()
    return vn


def test_journal(tap):
    d = tempfile.mkdtemp(prefix='vnj-', dir='/tmp')
    path = os.path.join(d, 'journal.sock')
    js = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    js.bind(path)
    js.settimeout(0.2)
    try:
        with start_journal_vnicd('jnl', path) as vn:
            vn.ctl('net', 'add', 'jn', 'bridge')
            vn.ctl('port', 'add', 'jp', 'vhost', '--path', vn.path('jp.sock'), '--net', 'jn',
                   '--server', '--vm-name', 'vm7')
            grams = []
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any(b'MESSAGE=port jp ' in g
                                                          for g in grams):
                try:
                    grams.append(js.recv(65536))
                except socket.timeout:
                    pass
            fields = [dict(line.split('=', 1) for line in g.decode().splitlines() if '=' in line)
                      for g in grams]
            port = [f for f in fields if f.get('MESSAGE', '').startswith('port jp ')]
            tap.ok(port and port[0].get('PRIORITY') == '6' and
                   port[0].get('SYSLOG_IDENTIFIER') == 'vnicd',
                   'journal: native datagrams with PRIORITY=6 and SYSLOG_IDENTIFIER=vnicd')
            tap.eq({k: port[0].get(k) for k in ('VNICD_PORT', 'VNICD_NETWORK', 'VNICD_VM')}
                   if port else None, {'VNICD_PORT': 'jp', 'VNICD_NETWORK': 'jn',
                                       'VNICD_VM': 'vm7'},
                   'journal: structured fields of the port, its network and VM')
            net = [f for f in fields if f.get('MESSAGE', '').startswith('network jn ')]
            tap.eq(net[0].get('VNICD_NETWORK') if net else None, 'jn',
                   'journal: the network field of a network line')
            tap.eq(vn.stop(), 0, 'vnicd logging to the journal exits 0')
        with start_journal_vnicd('jnl2', os.path.join(d, 'nobody.sock')) as vn:
            vn.ctl('net', 'add', 'jn', 'bridge')
            wait_for(lambda: 'network jn' in vn.log(), 5)
            lines = [line for line in vn.log().splitlines() if 'network jn' in line]
            tap.ok(lines and lines[0].startswith('<6>network jn '),
                   'no journal socket: stderr lines with a syslog priority prefix: %r'
                   % (lines[:1],))
    finally:
        js.close()
        shutil.rmtree(d, ignore_errors=True)


def test_completion(tap, vn):
    got, err = complete(vn, 'port', 'show', 'g')
    tap.eq((got, err), (['g1', 'g2'], ''), 'completion: port show g<TAB> -> the live tap ports')
    got, _ = complete(vn, 'net', 'show', 'l')
    tap.eq(got, ['lan'], 'completion: net show l<TAB> -> network lan')
    got, _ = complete(vn, 'stats', '--port', 'lan-u')
    tap.eq(got, ['lan-uplink'], 'completion: stats --port lan-u<TAB> -> the uplink port')
    got, _ = complete(vn, 'port', 's')
    tap.eq(got, ['set', 'show'], 'completion: port s<TAB> -> subcommands')
    got, _ = complete(vn, 'lo')
    tap.eq(got, ['log-level'], 'completion: lo<TAB> -> a command')
    got, _ = complete(vn, 'net', 'add', 'x', 'bridge', '--uplink-')
    tap.eq(got, ['--uplink-driver'], 'completion: a flag of the command')
    got, _ = complete(vn, 'port', 'add', 'x', '')
    tap.eq(got, ['tap', 'vhost', 'vnet'], 'completion: port add NAME <TAB> -> the kinds')


def main():
    tap = Tap()
    nl.require(tap, ['promtool', 'bash', 'python3'])
    vn = Vnicd('ops', start=False)
    msock = vn.path('metrics.sock')
    with open(vn.config_path, 'a') as f:
        f.write('metrics_listen = unix:%s\n' % msock)
    with vn:
        vn.start().wait_ready()
        adj, adj2 = ul.Adjacent('o'), ul.Adjacent('q')
        guests = [nl.Netns('g1'), nl.Netns('g2')]
        try:
            for i, ns in enumerate(guests):  # g1 belongs to a VM: per-VM series too
                vm = ['--vm-uuid', VM_UUID, '--vm-name', 'web "1"\\'] if i == 0 else []
                vn.ctl('port', 'add', 'g%d' % (i + 1), 'tap', '--ifname', ul.GIF, '--netns',
                       ns.name, '--mac', MAC[i], *vm)
            for i in range(len(guests)):
                wait_for(lambda: vn.ctl_json('port', 'show', 'g%d' % (i + 1))['link'] == 'up',
                         10)
            for i, ns in enumerate(guests):
                ns.ip('addr', 'add', '10.60.0.%d/24' % (i + 1), 'dev', ul.GIF)
            tap.ok(wait_for(lambda: guests[0].run('ping', '-c', '1', '-W', '1', '10.60.0.2',
                                                  check=False).returncode == 0, 10),
                   'ping between the guests on br0')
            test_uplink(tap, vn, adj, adj2)
            vn.ctl('port', 'add', 'u1', 'tap', '--ifname', 'u1', '--netns', guests[1].name,
                   '--net', 'lan')
            adj.ext.ip('addr', 'add', EXT_IP + '/24', 'dev', 'x0')
            guests[1].ip('addr', 'add', '10.61.0.2/24', 'dev', 'u1')
            tap.ok(wait_for(lambda: guests[1].run('ping', '-c', '1', '-W', '1', EXT_IP,
                                                  check=False).returncode == 0, 10),
                   'ping from a guest to the external host through the uplink by name')
            vn.ctl('net', 'add', 'ov', 'overlay', '--type', 'vxlan', '--vni', '100',
                   '--local', '10.61.0.1/24', '--underlay', 'lan', '--remote', '10.61.0.200')
            test_port_show(tap, vn, guests)
            names = test_metrics(tap, vn, msock)
            test_contrib(tap, names)
            test_log_level(tap, vn, guests)
            test_completion(tap, vn)
            tap.eq(vn.stop(), 0, 'vnicd exits 0 on SIGTERM (under ASan: no leak, no error)')
        finally:
            for ns in guests:
                ns.close()
            adj.close()
            adj2.close()
    test_journal(tap)
    tap.done()


if __name__ == '__main__':
    main()
