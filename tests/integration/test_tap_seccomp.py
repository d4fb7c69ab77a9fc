#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# io_uring refused by a seccomp filter: tap ports fall back to readv/writev, say why once, and work.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netnslib as nl  # noqa: E402
import vnlib  # noqa: E402
from vnlib import Tap, Vnicd  # noqa: E402


def noiouring_bin():
    """The wrapper built by meson from tests/integration/noiouring.c (io_uring_setup -> EPERM)."""
    return (os.environ.get('VNICD_NOIOURING')
            or os.path.join(vnlib.build_dir(), 'tests', 'integration', 'noiouring'))


class SeccompVnicd(Vnicd):
    """vnicd started under the noiouring wrapper."""

    def __init__(self, wrapper, *a, **kw):
        self.wrapper = wrapper
        super().__init__(*a, **kw)

    def argv(self):
        return [self.wrapper] + super().argv()


def main():
    tap = Tap()
    nl.require(tap, ['python3'])
    wrapper = noiouring_bin()
    if not os.access(wrapper, os.X_OK):
        tap.bail('%s not built (meson builds it; VNICD_NOIOURING names it)' % wrapper)
    with SeccompVnicd(wrapper, 'tapsec') as vn:
        vn.wait_ready()
        a, b = nl.Netns('a'), nl.Netns('b')
        ia, ib = nl.uniq('ta'), nl.uniq('tb')
        vn.ctl('port', 'add', 'ta', 'tap', '--netns', a.name, '--ifname', ia)
        vn.ctl('port', 'add', 'tb', 'tap', '--netns', b.name, '--ifname', ib)
        vn.ctl('port', 'add', 'gv', 'vnet', '--ifname', nl.uniq('vn'))
        nl.delete_link_at_exit(nl.uniq('vn'))
        for p in ('ta', 'gv'):
            d = nl.port_show(vn, p)
            why = d['io_uring_fallback'] or ''
            tap.ok(not d['io_uring'] and 'io_uring_setup' in why and 'not permitted' in why,
                   'port %s: no io_uring, reason: %s' % (p, why))
            tap.ok(d['io'] in ('readv/writev', 'recvmmsg/sendmmsg'), 'port %s io: %s' % (p, d['io']))
        lines = [l for l in vn.log().splitlines() if 'do not use io_uring' in l]
        tap.eq(len(lines), 1, 'the fallback is logged once for three ports: %s'
               % (lines[0] if lines else ''))
        a.ip('addr', 'add', '10.81.0.1/24', 'dev', ia)
        b.ip('addr', 'add', '10.81.0.2/24', 'dev', ib)
        cp = a.run('ping', '-c', '5', '-i', '0.2', '-W', '2', '10.81.0.2', check=False)
        tap.ok(cp.returncode == 0 and ' 0% packet loss' in cp.stdout,
               'ping through the fallback: no loss')
        vn.ctl('port', 'del', 'gv')
        tap.eq(vn.stop(), 0, 'vnicd exits 0')
    tap.done()


if __name__ == '__main__':
    main()
