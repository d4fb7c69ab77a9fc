#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tap ports over time: adopted and moved devices, outside MTU/carrier/up changes, deletion, restarts.
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netnslib as nl  # noqa: E402
from vnlib import Tap, Vnicd, wait_for  # noqa: E402

MAC_A, MAC_B = '02:00:00:00:0a:01', '02:00:00:00:0b:01'


def shows(vn, port, **want):
    """Wait until `port show` has every member of @want; return the last view."""
    last = {}

    def ok():
        last.update(nl.port_show(vn, port))
        return all(last.get(k) == v for k, v in want.items())
    wait_for(ok, timeout=10)
    return last


def pings(ns, addr):
    return ns.run('ping', '-c', '2', '-i', '0.2', '-W', '2', addr, check=False).returncode == 0


def main():
    tap = Tap()
    nl.require(tap, ['python3'])
    with Vnicd('taplc') as vn:
        vn.wait_ready()
        a, b = nl.Netns('a'), nl.Netns('b')
        ia, ib = nl.uniq('ta'), nl.uniq('tb')
        # an existing TAP in the namespace is adopted and left in place on port del
        a.ip('tuntap', 'add', 'mode', 'tap', 'name', ia)
        vn.ctl('port', 'add', 'ta', 'tap', '--netns', a.name, '--ifname', ia, '--mac', MAC_A)
        d = nl.port_show(vn, 'ta')
        tap.ok(not d['created'] and d['link'] == 'up', 'an existing TAP in the namespace is adopted')
        # an existing TAP in vnicd's namespace is moved into b (and back on port del)
        nl.delete_link_at_exit(ib)
        nl.run(['ip', 'tuntap', 'add', 'mode', 'tap', 'name', ib])
        vn.ctl('port', 'add', 'tb', 'tap', '--netns', b.name, '--ifname', ib, '--mac', MAC_B)
        tap.ok(ib in b.links() and ib not in nl.host_links(),
               'an existing TAP of the host namespace is moved into namespace b')
        a.ip('addr', 'add', '10.80.0.1/24', 'dev', ia)
        b.ip('addr', 'add', '10.80.0.2/24', 'dev', ib)
        tap.ok(pings(a, '10.80.0.2'), 'ping a -> b')

        # changes made from outside are seen through netlink
        b.ip('link', 'set', ib, 'mtu', '1400')
        tap.eq(shows(vn, 'tb', mtu=1400)['mtu'], 1400, 'an MTU set from outside shows in port show')
        b.ip('link', 'set', ib, 'carrier', 'off')
        d = shows(vn, 'tb', carrier=False, link='down')
        tap.ok(not d['carrier'] and d['link'] == 'down', 'carrier off from outside: link down')
        drops0 = nl.port_stats(vn, 'tb')['drops']['link_down']
        a.run('ping', '-c', '2', '-i', '0.2', '-W', '1', '10.80.0.2', check=False)
        tap.ok(nl.port_stats(vn, 'tb')['drops']['link_down'] > drops0,
               'frames towards it are dropped and counted as link_down')
        b.ip('link', 'set', ib, 'carrier', 'on')
        tap.eq(shows(vn, 'tb', link='up')['link'], 'up', 'carrier on again: link up')
        b.ip('link', 'set', ib, 'down')
        tap.eq(shows(vn, 'tb', admin_up=False)['link'], 'down', 'set down from outside: link down')
        b.ip('link', 'set', ib, 'up')
        tap.eq(shows(vn, 'tb', link='up')['link'], 'up', 'set up again: link up')
        tap.ok(pings(a, '10.80.0.2'), 'ping a -> b after the changes')
        tap.ok(nl.port_show(vn, 'tb')['link_events'] >= 5, 'link events counted')

        # restart (SIGTERM, then kill -9): devices made by vnicd stay, with their addresses
        ic = nl.uniq('tc')
        vn.ctl('port', 'add', 'tc', 'tap', '--netns', b.name, '--ifname', ic)
        b.ip('addr', 'add', '10.80.0.3/24', 'dev', ic)
        idx = b.link(ic)['ifindex']
        for how in ('SIGTERM', 'kill -9'):
            if how == 'SIGTERM':
                tap.eq(vn.stop(), 0, 'vnicd exits 0 on SIGTERM')
            else:
                vn.kill9()
            # the last file reference goes when io_uring's teardown finishes: shortly after
            li = wait_for(lambda: (lambda l: l if l and 'NO-CARRIER' in l['flags'] else None)(
                b.link(ic)), timeout=10) or b.link(ic)
            tap.ok(li and li['ifindex'] == idx and 'NO-CARRIER' in li['flags'],
                   '[%s] the device vnicd made outlives it (no carrier meanwhile)' % how)
            vn.restart()
            d = shows(vn, 'tc', link='up')
            tap.ok(d['created'] and d['ifindex'] == idx and d['link'] == 'up',
                   '[%s] restarted: port tc re-attached to the same device' % how)
            tap.ok(wait_for(lambda: pings(a, '10.80.0.3'), timeout=15),
                   '[%s] ping a -> c after the restart (addresses kept)' % how)
            tap.ok(not nl.port_show(vn, 'ta')['created'],
                   '[%s] adopted devices are still not vnicd\'s' % how)

        # a device deleted from outside: the port says so; port del still works
        b.ip('link', 'del', ic)
        d = shows(vn, 'tc', deleted=True)
        tap.ok(d['deleted'] and d['link'] == 'down', 'a device deleted from outside: port down')
        vn.ctl('port', 'del', 'tc')
        vn.ctl('port', 'del', 'ta')
        tap.ok(ia in a.links(), 'port del leaves an adopted device in place')
        vn.ctl('port', 'del', 'tb')
        time.sleep(0.2)
        tap.ok(ib in nl.host_links() and ib not in b.links(),
               'port del moves a moved device back to the host namespace')
        tap.eq(vn.stop(), 0, 'vnicd exits 0')
    tap.done()


if __name__ == '__main__':
    main()
