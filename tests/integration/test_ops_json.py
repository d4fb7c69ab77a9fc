#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Every `vnicctl ... --json` output of a running vnicd has exactly the fields doc/json.md documents, with their types.
"""The JSON reference (doc/json.md) against real output.

doc/json.md has a section per command ("### `vnicctl net list --json`") with a table of
fields: `field | type | meaning`. A field is a path: `a.b` (member b of object a),
`a[]` (an array of objects, `a[].b` their members), `a.*` (an object used as a map: any
key, e.g. drop reasons), `a.**` (anything below a: type any). This test makes a vnicd with
every port kind (vhost, tap, vnet, uplink, the overlay's vtep) and network type (bridge with
an uplink, macvtap, overlay), runs every read command with --json (and the write commands
that answer with a result), restarts it without the macvtap uplink's interface (a network
and a port that fail to restore, shown as failed), and
checks that the documented fields and the output's fields are the same set, and that each
value has the documented type (string, integer, boolean, number, array, object; `|null`
when it may be null).

With --dump it prints the fields it saw (for writing the reference) instead.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import frrlib  # noqa: E402
import netnslib as nl  # noqa: E402
import uplinklib as ul  # noqa: E402
from vnlib import REPO_DIR, Tap, Vnicd, wait_for  # noqa: E402

DOC = os.path.join(REPO_DIR, 'doc', 'json.md')
UUID = '6f0b4e3c-1d2a-4b5c-8d9e-0a1b2c3d4e5f'


def jtype(v):
    if v is None:
        return 'null'
    if isinstance(v, bool):
        return 'boolean'
    if isinstance(v, int):
        return 'integer'
    if isinstance(v, float):
        return 'number'
    if isinstance(v, str):
        return 'string'
    if isinstance(v, list):
        return 'array'
    return 'object'


def flatten(v, maps, path='', out=None, opaque=()):
    """{path: {types}} of JSON value @v; objects whose path is in @maps have any keys ('*');
    what is below a path in @opaque is one field PATH.** of type 'any'."""
    if out is None:
        out = {}
    if isinstance(v, dict) and path in opaque:
        if v:
            out.setdefault(path + '.**', set()).add('any')
    elif isinstance(v, dict):
        for k, x in v.items():
            p = (path + '.' if path else '') + ('*' if path in maps else k)
            out.setdefault(p, set()).add(jtype(x))
            flatten(x, maps, p, out, opaque)
    elif isinstance(v, list):
        if not path and v:  # the top-level array's elements: "[]"
            out.setdefault('[]', set()).update(jtype(x) for x in v)
        for x in v:
            if isinstance(x, (dict, list)):
                flatten(x, maps, path + '[]', out, opaque)
    return out


def read_doc():
    """{command: {path: set of types}} of doc/json.md, the shared groups' fields included where
    a section says "Includes the fields of GROUP under `PREFIX`"."""
    tables, includes, commands, cur = {}, {}, set(), None
    with open(DOC) as f:
        for line in f:
            m = re.match(r'^###\s+(.*?)\s*$', line)
            if m:
                c = re.match(r'^`vnicctl (.+?) --json`$', m.group(1))
                cur = c.group(1) if c else m.group(1)
                if c:
                    commands.add(cur)
                tables[cur], includes[cur] = {}, []
                continue
            if line.startswith('#'):
                cur = None
                continue
            if cur is None:
                continue
            m = re.match(r'^Includes the fields of (\S+) under `([^`]*)`', line)
            if m:
                includes[cur].append((m.group(1), m.group(2)))
            m = re.match(r'^\|\s*`([^`]+)`\s*\|\s*([a-z|\\]+)\s*\|', line)
            if m:
                tables[cur][m.group(1)] = set(m.group(2).replace('\\', '').split('|'))

    def fields(name):
        out = dict(tables[name])
        for src, prefix in includes[name]:
            for p, t in fields(src).items():
                out[prefix + '.' + p if prefix else p] = t
        return out
    return {c: fields(c) for c in commands}


def type_ok(seen, documented):
    return 'any' in documented or seen <= documented | (
        {'integer'} if 'number' in documented else set())


def scenario(vn, adj, adj2, guests):
    """Networks and ports of every kind and type, traffic; Return: {command: [outputs]}."""
    vn.ctl('net', 'add', 'lan', 'bridge', '--uplink', adj.up)
    vn.ctl('net', 'add', 'nt', 'nat', '--subnet', '192.168.150.0/24', '--external', 'lan',
           '--external-ip', '10.62.0.150', '--dhcp-range', '192.168.150.10-192.168.150.20')
    vn.ctl('nat', 'forward', 'add', 'nt', '--proto', 'tcp', '--external-port', '2222', '--to',
           '192.168.150.10:22')
    vn.ctl('net', 'add', 'mv', 'macvtap', '--uplink', adj2.up, '--mode', 'vepa')
    vn.ctl('net', 'add', 'ov', 'overlay', '--type', 'vxlan', '--vni', '100', '--local',
           '10.62.0.1/24', '--underlay', 'lan', '--remote', '10.62.0.200')
    # an EVPN overlay: FRR's zebra in a namespace of its own (no peers: the mirror is made)
    frr_ns = guests[2]
    frrlib.Frr(frr_ns, 'opsj', frrlib.bgpd_conf('opsj', '10.62.0.1', 65000, []))
    vn.ctl('net', 'add', 'ev', 'overlay', '--type', 'vxlan', '--vni', '200', '--local',
           '10.62.0.1/24', '--underlay', 'lan', '--control', 'evpn', '--evpn-netns', frr_ns.name)
    vn.ctl('port', 'add', 'g1', 'tap', '--ifname', ul.GIF, '--netns', guests[0].name, '--mac',
           '02:00:00:00:0d:01', '--vm-uuid', UUID, '--vm-name', 'vm1')
    vn.ctl('port', 'add', 'g2', 'tap', '--ifname', ul.GIF, '--netns', guests[1].name, '--mac',
           '02:00:00:00:0d:02')
    vn.ctl('port', 'add', 'm1', 'tap', '--ifname', 'm1', '--netns', guests[1].name, '--net', 'mv',
           '--mac', '02:00:00:00:0d:11')
    vn.ctl('port', 'add', 'o1', 'tap', '--ifname', 'o1', '--netns', guests[1].name, '--net', 'ov',
           '--mac', '02:00:00:00:0d:12')
    vn.ctl('port', 'add', 'v1', 'vhost', '--path', vn.path('v1.sock'), '--server', '--mac',
           '02:00:00:00:0d:03', '--vm-uuid', UUID)
    vn.ctl('port', 'add', 'np', 'tap', '--ifname', 'np', '--netns', guests[0].name, '--net',
           'nt', '--mac', '02:00:00:00:0d:21')
    vn.ctl('port', 'set', 'np', '--forward', 'tcp:2223:22', '--floating-ip', '10.62.0.151')
    vn.ctl('port', 'add', 'n1', 'vnet', '--ifname', nl.uniq('n1'))
    nl.delete_link_at_exit(nl.uniq('n1'))
    vn.ctl('port', 'set', 'g1', '--vlan-mode', 'access', '--vlan', '10', '--lock-mac',
           '--allowed-ip', '10.62.1.1', '--inbound', 'average=1000', '--storm-control', '100')
    vn.ctl('port', 'set', 'g2', '--vlan-mode', 'access', '--vlan', '10')
    vn.ctl('fdb', 'add', '02:00:00:00:0d:99', 'g2')
    vn.ctl('vtep', 'add', 'ov', '02:00:00:00:0e:01', '10.62.0.201')
    for i, ns in enumerate(guests[:2]):
        ns.ip('addr', 'add', '10.62.1.%d/24' % (i + 1), 'dev', ul.GIF)
    wait_for(lambda: guests[0].run('ping', '-c', '1', '-W', '1', '10.62.1.2',
                                   check=False).returncode == 0, 10)
    cap = vn.path('c.pcapng')
    guests[0].popen('ping', '-c', '5', '-i', '0.2', '10.62.1.2')
    outputs = {
        'ping': [vn.ctl_json('ping')],
        'net list': [vn.ctl_json('net', 'list')],
        'net show': [vn.ctl_json('net', 'show', n)
                     for n in ('br0', 'lan', 'mv', 'ov', 'nt', 'ev')],
        'port list': [vn.ctl_json('port', 'list')],
        'port show': [vn.ctl_json('port', 'show', p['name'])
                      for p in vn.ctl_json('port', 'list')],
        'fdb show': [vn.ctl_json('fdb', 'show'), vn.ctl_json('fdb', 'show', '--net', 'ov')],
        'vtep show': [vn.ctl_json('vtep', 'show')],
        'stats': [vn.ctl_json('stats')],
        'capture': [vn.ctl_json('capture', 'g1', '--out', cap, '--count', '2')],
        'log-level': [vn.ctl_json('log-level'), vn.ctl_json('log-level', 'info')],
        'stats reset': [vn.ctl_json('stats', 'reset', '--port', 'g2')],
        'trace': [vn.ctl_json('trace', 'g1', '--src', '02:00:00:00:0d:01', '--dst',
                              'ff:ff:ff:ff:ff:ff'),
                  vn.ctl_json('trace', 'o1', '--src', '02:00:00:00:0d:12', '--dst',
                              '02:00:00:00:0e:01'),
                  vn.ctl_json('trace', 'g2', '--src', '02:00:00:00:0d:66', '--dst',
                              '02:00:00:00:0d:01', '--ip', '10.9.9.9,10.62.1.1')],
        'top': [vn.ctl_json('top', '--once')],
        'libvirt status': [vn.ctl_json('libvirt', 'status')],
        'nat forward list': [vn.ctl_json('nat', 'forward', 'list')],
        'nat conntrack': [vn.ctl_json('nat', 'conntrack', 'nt')],
        'fdb flush': [vn.ctl_json('fdb', 'flush', '--net', 'lan')],
    }
    # objects that fail to restore (the macvtap uplink's interface is gone) show as failed
    vn.stop()
    nl.run(['ip', 'link', 'del', adj2.up])
    vn.start().wait_ready()
    outputs['net list'].append(vn.ctl_json('net', 'list'))
    outputs['net show'].append(vn.ctl_json('net', 'show', 'mv'))
    outputs['port list'].append(vn.ctl_json('port', 'list'))
    outputs['port show'].append(vn.ctl_json('port', 'show', 'm1'))
    return outputs


def main():
    dump = '--dump' in sys.argv
    tap = Tap()
    nl.require(tap, ['python3'])
    doc = {} if dump else read_doc()
    with Vnicd('opsjson', config='[vnicd]\nmetrics_listen =\n') as vn:
        vn.wait_ready()
        adj, adj2 = ul.Adjacent('j'), ul.Adjacent('k')
        guests = [nl.Netns('j1'), nl.Netns('j2'), nl.Netns('jf')]
        try:
            outputs = scenario(vn, adj, adj2, guests)
        finally:
            for ns in guests:
                ns.close()
            adj.close()
            adj2.close()
    if not dump:
        tap.eq(sorted(doc), sorted(outputs), 'doc/json.md has a section for every command '
               'that prints JSON (and no other)')
    for cmd, outs in outputs.items():
        documented = doc.get(cmd, {})
        maps = {p[:-2] for p in documented if p.endswith('.*')}
        opaque = {p[:-3] for p in documented if p.endswith('.**')}
        if dump:
            maps = {'drops', 'fdb.ports', 'tunnel_drops', 'ports[].drops', 'vms[].drops',
                    'policy.drops'}
        seen = {}
        for o in outs:
            for p, t in flatten(o, maps, opaque=opaque).items():
                seen.setdefault(p, set()).update(t)
        if dump:
            print('## %s' % cmd)
            for p in sorted(seen):
                print('| `%s` | %s |' % (p, '|'.join(sorted(seen[p]))))
            continue
        tap.eq(sorted(p for p in documented if p not in seen), [],
               '%s --json: every documented field is in the output' % cmd)
        tap.eq(sorted(p for p in seen if p not in documented), [],
               '%s --json: every field of the output is documented' % cmd)
        tap.eq(sorted('%s: %s not %s' % (p, '|'.join(sorted(t)), '|'.join(sorted(documented[p])))
                      for p, t in seen.items() if p in documented
                      and not type_ok(t, documented[p])), [],
               '%s --json: every value has the documented type' % cmd)
    tap.done()


if __name__ == '__main__':
    main()
