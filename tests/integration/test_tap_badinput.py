#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Bad tap/vnet port requests: a clear error each time, and nothing half-made left behind.
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netnslib as nl  # noqa: E402
from vnlib import Tap, Vnicd  # noqa: E402

HOLDER = r'''
import fcntl, os, struct, sys, time
fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', sys.argv[1].encode(), 0x0002 | 0x1000))
print('holding', flush=True)
time.sleep(600)
'''


def main():
    tap = Tap()
    nl.require(tap, ['python3'])
    with Vnicd('tapbad') as vn:
        vn.wait_ready()
        a = nl.Netns('a')
        veth, tun, mq = nl.uniq('veth'), nl.uniq('tun'), nl.uniq('sq')
        held, br = nl.uniq('held'), nl.uniq('br')
        a.ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', veth + 'p')
        a.ip('tuntap', 'add', 'mode', 'tun', 'name', tun)
        a.ip('tuntap', 'add', 'mode', 'tap', 'name', mq)  # single queue, persistent
        nl.delete_link_at_exit(br)
        nl.run(['ip', 'link', 'add', br, 'type', 'bridge'])
        holder = a.python(HOLDER, held)
        tap.eq(holder.stdout.readline().strip(), 'holding', 'another program holds TAP %s' % held)

        def snapshot():
            return (sorted(a.links()), sorted(nl.host_links()),
                    sorted(p['name'] for p in vn.ctl_json('port', 'list')),
                    {n: (l.get('linkinfo', {}).get('info_data', {}).get('numqueues'),
                         'UP' in l['flags'], l['mtu']) for n, l in a.links().items()})

        def refused(args, needle, desc):
            before = snapshot()
            cp = vn.ctl('port', 'add', *args, check=False)
            err = cp.stderr.strip()
            tap.ok(cp.returncode != 0 and needle in err, '%s: %s' % (desc, err or cp.stdout))
            tap.eq(snapshot(), before, '%s: nothing left behind' % desc)

        ns = ['--netns', a.name]
        refused(['x', 'tap', '--ifname', veth] + ns, 'is not a TAP device (it is a veth device)',
                'a veth device')
        refused(['x', 'tap', '--ifname', tun] + ns, 'is a TUN device', 'a TUN device')
        refused(['x', 'vnet', '--ifname', br], 'is not a TAP device (it is a bridge device)',
                'vnet on a bridge device')
        refused(['x', 'tap', '--ifname', mq, '--queues', '2'] + ns, 'not a multiqueue TAP',
                'a single-queue TAP with --queues 2')
        refused(['x', 'tap', '--ifname', held] + ns, 'busy', 'a TAP another program has open')
        missing = nl.uniq('nope')
        refused(['x', 'tap', '--ifname', nl.uniq('x'), '--netns', missing],
                "network namespace '%s' does not exist" % missing, 'a missing namespace')
        tap.ok(not os.path.exists('/var/run/netns/' + missing), 'and no namespace was made')
        refused(['x', 'tap', '--ifname', 'abcdefghijklmnop'] + ns, "invalid --ifname",
                'a 16-character device name')
        refused(['abcdefghijklmnopqrst', 'tap'] + ns, 'give --ifname',
                'a port name too long for a device name, no --ifname')
        refused(['x', 'tap', '--ifname', 'a/b'] + ns, 'invalid --ifname', "'/' in a device name")
        refused(['x', 'tap', '--queues', '17'] + ns, '17', 'queues beyond the limit (16)')
        refused(['x', 'tap', '--queues', '0'] + ns, 'queues', 'zero queues')
        refused(['x', 'tap', '--mtu', '70000'] + ns, 'mtu', 'an MTU out of range')
        refused(['x', 'tap', '--netns', '../etc'], 'invalid --netns', 'a path as namespace')
        refused(['x', 'vnet'], "missing argument 'ifname'", 'vnet without --ifname')
        refused(['x', 'tap', '--path', '/tmp/x.sock'] + ns, 'path', 'a vhost option on a tap port')
        refused(['x', 'tap', '--mac', '01:00:5e:00:00:01'] + ns, 'MAC', 'a multicast MAC')
        # a device of another kind with the same name in vnicd's own namespace does not
        # stand in the way of a TAP made in the target namespace, and is left alone
        same = nl.uniq('same')
        nl.delete_link_at_exit(same)
        nl.run(['ip', 'link', 'add', same, 'type', 'veth', 'peer', 'name', same + 'p'])
        cp = vn.ctl('port', 'add', 'samename', 'tap', '--ifname', same, *ns, check=False)
        tap.ok(cp.returncode == 0, "tap '%s' in namespace %s while a veth '%s' exists in "
               "vnicd's namespace: %s" % (same, a.name, same, cp.stderr.strip() or 'made'))
        info = a.links().get(same, {}).get('linkinfo', {})
        tap.eq(info.get('info_kind'), 'tun', "'%s' in the namespace is vnicd's TAP" % same)
        tap.ok(same in nl.host_links(), "the veth '%s' in vnicd's namespace is untouched" % same)
        vn.ctl('port', 'del', 'samename')
        tap.ok(same not in a.links() and same in nl.host_links(),
               'port del removes the TAP it made, not the veth')
        # the kernel refuses the MTU after vnicd made the device: it is removed again
        mk = nl.uniq('mk')
        refused(['x', 'tap', '--ifname', mk, '--mtu', '65535'] + ns, 'MTU',
                'an MTU the kernel refuses (device made, then removed)')
        tap.ok(mk not in a.links(), 'the half-made device %s is gone' % mk)
        refused(['x', 'vnet', '--ifname', nl.uniq('ow'), '--owner', '4294967295'], 'owner',
                'an owner uid out of range')

        # duplicates: one (namespace, device) pair, one vnet device, per port
        ok = nl.uniq('ok')
        vn.ctl('port', 'add', 't1', 'tap', '--netns', a.name, '--ifname', ok)
        refused(['t2', 'tap', '--ifname', ok] + ns, "already used by port 't1'",
                'the same device twice')
        vd = nl.uniq('vd')
        nl.delete_link_at_exit(vd)
        vn.ctl('port', 'add', 'v1', 'vnet', '--ifname', vd)
        refused(['v2', 'vnet', '--ifname', vd], "already used by port 'v1'",
                'the same vnet device twice')
        vn.ctl('port', 'del', 'v1')
        vn.ctl('port', 'del', 't1')
        tap.ok(vd not in nl.host_links() and ok not in a.links(),
               'port del removed the devices vnicd made')
        tap.ok(vn.alive(), 'vnicd survived all of it')
        tap.eq(vn.stop(), 0, 'vnicd exits 0')
    tap.done()


if __name__ == '__main__':
    main()
