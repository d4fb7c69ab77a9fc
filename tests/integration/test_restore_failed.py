#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A port or network that cannot be restored at start-up (netns or NIC absent) is kept, shown
# as failed with its reason, saved again, and made as soon as the cause goes (issue 16, 9).
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uplinklib as ul  # noqa: E402
from netnslib import Netns, run  # noqa: E402
from vnlib import Tap, Vnicd, wait_for  # noqa: E402

MAC_T1, MAC_T2, MAC_STATIC = '02:00:00:00:9a:01', '02:00:00:00:9a:02', '02:00:00:00:9a:77'


def ports(vn):
    return {p['name']: p for p in vn.ctl_json('port', 'list')}


def nets(vn):
    return {n['name']: n for n in vn.ctl_json('net', 'list')}


def saved(vn):
    """state.json once its save is durable (none of the change's state.json.latest-N left)."""
    wait_for(lambda: not [f for f in os.listdir(vn.state_dir) if '.latest-' in f], 10)
    with open(os.path.join(vn.state_dir, 'state.json')) as f:
        st = json.load(f)
    return ({n['name'] for n in st['nets']}, {p['name'] for p in st['ports']},
            {(e['mac'], e['port']) for e in st['fdb']})


def make_uplink(adj):
    """(Re)create the uplink veth of @adj, its peer on the adjacent switch's bridge."""
    run(['ip', 'link', 'add', adj.up, 'type', 'veth', 'peer', 'name', adj.upp, 'netns',
         adj.sw.name])
    run(['ip', 'link', 'set', adj.up, 'up'])
    adj.sw.ip('link', 'set', adj.upp, 'master', 'br0', 'up')


def main():
    tap = Tap()
    with Vnicd('rstf') as vn:
        vn.wait_ready()
        a = Netns('rfa')
        adj = ul.Adjacent('rf')
        vn.ctl('port', 'add', 't1', 'tap', '--netns', a.name, '--ifname', 'rft1', '--mac',
               MAC_T1)
        vn.ctl('net', 'add', 'lan', 'bridge', '--uplink', 'net_af_packet0,iface=%s' % adj.up)
        vn.ctl('port', 'add', 't2', 'tap', '--net', 'lan', '--ifname', 'rft2', '--mac', MAC_T2)
        vn.ctl('fdb', 'add', MAC_STATIC, 't2')
        before = saved(vn)
        tap.ok({'lan'} <= before[0] and {'t1', 't2'} <= before[1] and
               (MAC_STATIC, 't2') in before[2], 'state saved: lan, t1, t2, static entry')

        # the causes: t1's namespace and lan's uplink NIC are gone while vnicd is down
        vn.stop()
        run(['ip', 'netns', 'del', a.name])
        run(['ip', 'link', 'del', adj.up])
        vn.start()
        vn.wait_ready()
        p, n = ports(vn), nets(vn)
        tap.eq((p.get('t1', {}).get('state'), p.get('t2', {}).get('state'),
                n.get('lan', {}).get('state')), ('failed', 'failed', 'failed'),
               't1, t2 and lan are listed as failed after a start without their netns/NIC')
        tap.ok(a.name in p.get('t1', {}).get('reason', ''),
               't1\'s reason names the missing namespace: %s' % p.get('t1', {}).get('reason'))
        tap.ok(adj.up in n.get('lan', {}).get('reason', ''),
               'lan\'s reason names the missing uplink: %s' % n.get('lan', {}).get('reason'))
        tap.eq(saved(vn), before, 'the state file still holds every one of them')
        show = vn.ctl_json('port', 'show', 't1')
        tap.ok(show.get('saved', {}).get('netns') == a.name and show.get('mac') == MAC_T1,
               'port show of a failed port gives its saved settings')
        txt = vn.ctl('port', 'show', 't1').stdout
        tap.ok('FAILED' in txt and 'retried' in txt, 'vnicctl port show says FAILED and '
               'when it is retried: %s' % txt.strip().replace('\n', ' | ')[:200])
        tap.ok('FAILED' not in vn.ctl('port', 'list').stdout and
               'failed' in vn.ctl('port', 'list').stdout, 'port list marks it failed')
        r = vn.ctl('net', 'del', 'lan', check=False)
        tap.ok(r.returncode != 0 and 'failed port' in r.stderr,
               'net del of a failed network with a failed port on it is refused: %s'
               % r.stderr.strip())

        # the causes go: everything is made, in order, without an operator
        run(['ip', 'netns', 'add', a.name])
        tap.ok(wait_for(lambda: 'state' not in ports(vn).get('t1', {'state': 1}), 40),
               't1 is made once its namespace exists again')
        tap.ok(run(['ip', '-n', a.name, 'link', 'show', 'rft1'], check=False).returncode == 0,
               '... its device is in that namespace')
        make_uplink(adj)
        tap.ok(wait_for(lambda: 'state' not in nets(vn).get('lan', {'state': 1}) and
                        'state' not in ports(vn).get('t2', {'state': 1}), 40),
               'lan and then t2 are made once the uplink NIC exists again')
        fdb = vn.ctl_json('fdb', 'show', '--net', 'lan')
        tap.ok(any(e.get('mac') == MAC_STATIC and e.get('port') == 't2' for e in fdb),
               'the static FDB entry on t2 is back too')
        tap.eq(saved(vn), before, 'the state file is as before')
        tap.ok('restored after' in vn.log(), 'the restores are logged')

        # deleting a failed port forgets it for good
        vn.stop()
        run(['ip', 'netns', 'del', a.name])
        vn.start()
        vn.wait_ready()
        tap.eq(ports(vn).get('t1', {}).get('state'), 'failed', 't1 failed again')
        r = vn.ctl('port', 'del', 't1', check=False)
        tap.ok(r.returncode == 0, 'port del of a failed port works')
        tap.ok('t1' not in saved(vn)[1], '... and removes it from the state file')
        vn.restart()
        tap.ok('t1' not in ports(vn), '... so it does not come back after a restart')
        tap.ok(vn.alive(), 'vnicd still running')
        tap.eq(vn.stop(), 0, 'vnicd exits 0')
        adj.close()
    tap.done()


if __name__ == '__main__':
    main()
