#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Per-VM accounting: exact counters by class, ledger across restarts and crashes, Prometheus, capture.
import glob
import json
import os
import re
import socket
import stat
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vnlib  # noqa: E402
from vnlib import Tap, TestPmd, Vnicd, wait_for  # noqa: E402

MAC = {'a': '02:00:00:00:01:0a', 'b': '02:00:00:00:01:0b', 'c': '02:00:00:00:01:0c'}
VM1 = ('11111111-2222-3333-4444-555555555555', 'web-1')
VM2 = ('66666666-7777-8888-9999-000000000000', 'db-1')
LABELS = {'a': VM1, 'b': VM1, 'c': VM2}
BCAST, MCAST = 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01'




def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def config(metrics_port, interval=10):
    return '[vnicd]\ncheckpoint_interval = %d\nmetrics_listen = 127.0.0.1:%d\n' % (interval, metrics_port)


def attach(tap, vn, names, multi_flow=()):
    gs = {}
    for n in names:
        sock = vn.path('%s.sock' % n)
        extra = ['--rxd=1024', '--txd=1024']
        if n in multi_flow:
            extra.append('--txonly-multi-flow')
        gs[n] = TestPmd('acct-' + n, ['net_virtio_user0,path=%s,queues=1,queue_size=1024,mac=%s,server=1'
                                      % (sock, MAC[n])], extra=extra, wait=False)
        vn.ctl('port', 'add', n, 'vhost', '--path', sock, '--mac', MAC[n],
               '--vm-uuid', LABELS[n][0], '--vm-name', LABELS[n][1])
        gs[n].wait_started()
    for n in names:
        tap.ok(wait_for(lambda: vn.ctl_json('port', 'show', n)['link'] == 'up'), 'port %s up' % n)
        gs[n].wait_link_up(0)
    return gs


def send(gs, src, dst_mac, frames, size, receivers):
    for r in receivers:
        gs[r].start_fwd('rxonly')
    gs[src].send(0, frames // 32, 32, pkt_len=size, dst=dst_mac)
    time.sleep(0.4)
    for r in receivers:
        gs[r].stop_fwd()


def stats(vn, *args):
    st = vn.ctl_json('stats', *args)
    return {p['name']: p for p in st['ports']}, {v['vm_uuid']: v for v in st['vms']}, st


def test_classes(tap, vn, gs):
    # a -> b unicast 320 x 64 B; a broadcast 64 x 128 B; a multicast 32 x 100 B; c -> a 96 x 1000 B
    send(gs, 'a', MAC['b'], 320, 64, ['b', 'c'])
    send(gs, 'a', BCAST, 64, 128, ['b', 'c'])
    send(gs, 'a', MCAST, 32, 100, ['b', 'c'])
    send(gs, 'c', MAC['a'], 96, 1000, ['a', 'b'])
    ports, vms, _ = stats(vn)
    a, b, c = ports['a'], ports['b'], ports['c']
    want_a = {'rx_packets': 320 + 64 + 32, 'rx_bytes': 320 * 64 + 64 * 128 + 32 * 100,
              'rx_unicast_packets': 320, 'rx_unicast_bytes': 320 * 64,
              'rx_broadcast_packets': 64, 'rx_broadcast_bytes': 64 * 128,
              'rx_multicast_packets': 32, 'rx_multicast_bytes': 3200,
              'rx_local_packets': 416, 'rx_local_bytes': 320 * 64 + 64 * 128 + 3200,
              'rx_external_packets': 0, 'rx_tunnel_packets': 0,
              'tx_packets': 96, 'tx_bytes': 96000, 'tx_unicast_packets': 96,
              'tx_local_packets': 96, 'tx_local_bytes': 96000, 'drops_total': 0}
    tap.eq({k: a[k] for k in want_a}, want_a, 'port a: every rx/tx class exact')
    # the first a->b frame is unknown unicast (flooded to c as well), the rest is learned
    want_b = {'rx_packets': 0, 'tx_packets': 320 + 64 + 32, 'tx_unicast_packets': 320,
              'tx_broadcast_packets': 64, 'tx_multicast_packets': 32,
              'tx_bytes': 320 * 64 + 64 * 128 + 3200}
    tap.eq({k: b[k] for k in want_b}, want_b, 'port b: what it received, by class')
    tap.eq((c['rx_packets'], c['rx_bytes'], c['tx_broadcast_packets'], c['tx_multicast_packets']),
           (96, 96000, 64, 32), 'port c: sent 96 x 1000 B, received the 64 broadcasts and 32 multicasts')
    tap.eq(c['tx_unicast_packets'], 320, 'b never sent a frame, so a->b is unknown unicast: flooded to c')
    rx = {n: gs[n].port_stats(0, raw=True)['rx_packets'] for n in gs}
    tx = {n: gs[n].port_stats(0, raw=True)['tx_packets'] for n in gs}
    tap.eq({n: (ports[n]['rx_packets'], ports[n]['tx_packets']) for n in gs},
           {n: (tx[n], rx[n]) for n in gs}, 'vnicd rx/tx equal testpmd tx/rx on every port')
    v1 = vms[VM1[0]]
    tap.eq((v1['vm_name'], sorted(v1['ports']), v1['rx_packets'], v1['tx_packets'], v1['rx_bytes'],
            v1['tx_bytes']),
           ('web-1', ['a', 'b'], a['rx_packets'] + b['rx_packets'], a['tx_packets'] + b['tx_packets'],
            a['rx_bytes'] + b['rx_bytes'], a['tx_bytes'] + b['tx_bytes']),
           'VM web-1 totals are the sum of its two NICs')
    only = vn.ctl_json('stats', '--vm', VM2[0])
    tap.eq(([p['name'] for p in only['ports']], [v['vm_uuid'] for v in only['vms']]),
           (['c'], [VM2[0]]), 'stats --vm shows only that VM')
    text = vn.ctl('stats').stdout
    if not tap.ok(re.search(r'^a\s+web-1\s+416\s+%d\s+96\s+96000\s+0$' % want_a['rx_bytes'], text,
                            re.M), 'one line per NIC in the text view'):
        tap.diag(text)
    return ports, vms


def parse_prom(text):
    series = {}
    for line in text.splitlines():
        if not line or line.startswith('#'):
            continue
        m = re.match(r'^([a-z_]+)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$', line)
        if not m:
            raise ValueError('bad exposition line: %r' % line)
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ''))
        v = float(m.group(3))  # counters are integers; gauges such as busy shares are not
        series[(m.group(1), tuple(sorted(labels.items())))] = int(v) if v.is_integer() else v
    return series


def test_prometheus(tap, vn, mport):
    out = subprocess.run(['curl', '-sS', '--max-time', '5', 'http://127.0.0.1:%d/metrics' % mport],
                         capture_output=True, text=True)
    tap.eq(out.returncode, 0, 'curl scraped the Prometheus endpoint')
    try:
        s = parse_prom(out.stdout)
        tap.ok(True, 'exposition parses (%d series)' % len(s))
    except ValueError as e:
        tap.ok(False, str(e))
        return
    ports, vms, _ = stats(vn)
    ok = True
    for n, p in ports.items():
        lab = (('port', n), ('vm_name', p['vm_name']), ('vm_uuid', p['vm_uuid']))
        for k in ('rx_packets', 'rx_bytes', 'tx_packets', 'tx_bytes', 'rx_broadcast_packets',
                  'tx_multicast_bytes', 'rx_local_packets'):
            got = s.get(('vnicd_port_%s_total' % k, lab))
            if got != p[k]:
                ok = False
                tap.diag('%s %s: prometheus %s, vnicctl %s' % (n, k, got, p[k]))
        got = s.get(('vnicd_port_drops_total', tuple(sorted(lab + (('reason', 'queue_full'),)))))
        ok = ok and got == p['drops']['queue_full']
    tap.ok(ok, 'per-port series match vnicctl (labels port, vm_uuid, vm_name)')
    v1 = vms[VM1[0]]
    lab = (('vm_name', 'web-1'), ('vm_uuid', VM1[0]))
    tap.eq((s.get(('vnicd_vm_rx_packets_total', lab)), s.get(('vnicd_vm_tx_bytes_total', lab))),
           (v1['rx_packets'], v1['tx_bytes']), 'per-VM series match vnicctl')
    tap.ok('# TYPE vnicd_port_rx_packets_total counter' in out.stdout, 'counters typed as counter')
    code = subprocess.run(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}',
                           'http://127.0.0.1:%d/nope' % mport], capture_output=True, text=True).stdout
    tap.eq(code, '404', 'other paths answer 404')
    return out.stdout


def families(text):
    return sorted(l for l in text.splitlines() if l.startswith('# TYPE '))


def test_prometheus_unix(tap, tcp_text):
    """metrics_listen = unix:PATH: a 0660 socket vnicd creates, serving the same families
    as the TCP endpoint, removed when vnicd exits."""
    vn = Vnicd('acctunix', start=False)
    msock = vn.path('metrics.sock')
    with open(vn.config_path, 'a') as f:
        f.write('metrics_listen = unix:%s\n' % msock)
    try:
        vn.start()
        vn.wait_ready()
        st = os.lstat(msock)
        tap.ok(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660,
               'unix: metrics socket created with mode 0660 (%o)' % stat.S_IMODE(st.st_mode))
        out = subprocess.run(['curl', '-sS', '--max-time', '5', '--unix-socket', msock,
                              'http://localhost/metrics'], capture_output=True, text=True)
        tap.eq(out.returncode, 0, 'curl --unix-socket scraped the endpoint')
        fams = families(out.stdout)
        tap.ok(len(fams) > 10 and fams == families(tcp_text or ''),
               'same metric families over the Unix socket as over TCP (%d)' % len(fams))
        tap.eq(vn.stop(), 0, 'vnicd with a unix: metrics socket exits cleanly')
        tap.ok(not os.path.exists(msock), 'the metrics socket is removed at exit')
    finally:
        vn.close()


def tshark(path, fields):
    out = subprocess.run(['tshark', '-r', path, '-T', 'fields'] + sum([['-e', f] for f in fields], []),
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError('tshark: %s' % out.stderr)
    return [l.split('\t') for l in out.stdout.splitlines()]


def test_capture(tap, vn, gs):
    pcap = vn.path('b.pcapng')
    cap = subprocess.Popen([vnlib.vnicctl_bin(), '--socket', vn.sock, 'capture', 'b', '--out', pcap,
                            '--count', '100'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    send(gs, 'a', MAC['b'], 128, 64, ['b'])  # a (multi-flow: the IP source counts up) -> b
    out, err = cap.communicate(timeout=30)
    tap.eq(cap.returncode, 0, 'vnicctl capture --count 100 finished: ' + out.strip())
    rows = tshark(pcap, ['eth.src', 'eth.dst', 'ip.src', 'frame.len', 'frame.packet_flags_direction',
                         'frame.interface_name'])
    tap.eq(len(rows), 100, 'tshark reads exactly 100 frames')
    tap.ok(all(r[0] == MAC['a'] and r[1] == MAC['b'] and r[3] == '64' for r in rows),
           'every captured frame is a->b, 64 bytes')
    tap.ok(all(r[4] in ('2', '0x00000002') and r[5] == 'b' for r in rows),
           'direction outbound (vnicd to guest b), interface named after the port (%r)' % (rows[:1],))
    ips = [int(''.join('%02x' % int(x) for x in r[2].split('.')), 16) for r in rows]
    step = ips[1] - ips[0]
    diffs = [(ips[i + 1] - ips[i]) % (1 << 32) for i in range(len(ips) - 1)]
    tap.ok(step > 0 and sum(1 for d in diffs if d == step) >= len(diffs) - 2,
           'frames are in the order sent (IP source counts up by %d, wrapping at most twice): %s'
           % (step, sorted(set(diffs))))
    # both directions, by duration
    pcap2 = vn.path('a.pcapng')
    cap = subprocess.Popen([vnlib.vnicctl_bin(), '--socket', vn.sock, 'capture', 'a', '--out', pcap2,
                            '--duration', '4'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    send(gs, 'b', MAC['a'], 32, 80, ['a'])
    send(gs, 'a', MAC['b'], 32, 90, ['b'])
    out, err = cap.communicate(timeout=30)
    rows = tshark(pcap2, ['frame.len', 'frame.packet_flags_direction'])
    dirs = [(r[0], r[1][-1:]) for r in rows]
    tap.eq(dirs, [('80', '2')] * 32 + [('90', '1')] * 32,
           'capture --duration 4 of port a: 32 frames out to a, then 32 in from a, in order')
    tap.ok('progress' in err or 'capture' in err, 'progress shown on stderr')
    cp = vn.ctl('capture', 'nope', '--out', vn.path('x.pcapng'), '--count', '1', check=False)
    tap.ok(cp.returncode == 1 and "no port 'nope'" in cp.stderr, 'capture of an unknown port: ' + cp.stderr.strip())
    cp = vn.ctl('capture', 'a', '--out', '/nonexistent/x.pcapng', '--count', '1', check=False)
    tap.ok(cp.returncode != 0 and 'cannot open' in cp.stderr, 'unwritable output: ' + cp.stderr.strip())


def totals(vn):
    ports, vms, _ = stats(vn)
    return {n: (p['rx_packets'], p['tx_packets'], p['rx_bytes'], p['tx_bytes']) for n, p in ports.items()}


def test_restarts(tap, vn, gs):
    before = totals(vn)
    tap.eq(vn.stop(), 0, 'SIGTERM: exit 0')
    vn.start()
    vn.wait_ready()
    tap.eq(totals(vn), before, 'SIGTERM restart loses nothing: totals identical')
    wait_for(lambda: all(vn.ctl_json('port', 'show', n)['link'] == 'up' for n in gs), 30)
    # kill -9 under traffic, checkpoint every second
    gs['b'].start_fwd('rxonly')
    gs['a'].cmd('set eth-peer 0 %s' % MAC['b'])
    gs['a'].start_fwd('txonly')
    time.sleep(3)
    t0 = vn.ctl_json('stats')['ports']
    rate_t0 = time.monotonic()
    t0 = {p['name']: p['tx_packets'] for p in t0}['b']
    time.sleep(1.5)
    t1 = {p['name']: p['tx_packets'] for p in vn.ctl_json('stats')['ports']}['b']
    rate = (t1 - t0) / (time.monotonic() - rate_t0)
    vn.kill9()
    # let the guests' virtio-user ports finish handling the disconnect before their
    # forwarding is stopped: testpmd 22.11 can hang in `stop` when the two overlap
    time.sleep(1)
    gs['a'].stop_fwd()
    gs['b'].stop_fwd()
    vn.start()
    vn.wait_ready()
    t2 = {p['name']: p['tx_packets'] for p in vn.ctl_json('stats')['ports']}['b']
    tap.ok(t2 >= t0, 'kill -9: totals did not go backwards (%d before, %d after)' % (t0, t2))
    tap.ok(t1 - t2 <= rate * 1.0 + 64 * 32, 'kill -9 lost %d frames, at most one 1 s interval '
           '(%.0f frames/s)' % (t1 - t2, rate))
    wait_for(lambda: all(vn.ctl_json('port', 'show', n)['link'] == 'up' for n in gs), 30)
    send(gs, 'a', MAC['b'], 64, 64, ['b'])
    t3 = {p['name']: p['tx_packets'] for p in vn.ctl_json('stats')['ports']}['b']
    tap.eq(t3, t2 + 64, 'counting continues after the crash')


def test_removed_and_reset(tap, vn, gs):
    ports, vms, _ = stats(vn)
    c_tot = ports['c']['rx_packets']
    gs['c'].close()
    del gs['c']
    vn.ctl('port', 'del', 'c')
    _, vms2, st = stats(vn, '--vm', VM2[0])
    tap.eq((vms2[VM2[0]]['rx_packets'], vms2[VM2[0]]['ports']), (c_tot, ['c']),
           'a removed port keeps its totals in the ledger')
    vn.stop()
    vn.start()
    vn.wait_ready()
    _, vms3, _ = stats(vn, '--vm', VM2[0])
    tap.eq(vms3[VM2[0]]['rx_packets'], c_tot, '... also across a restart')
    cp = vn.ctl('stats', 'reset', '--vm', VM2[0])
    tap.ok('reset 1' in cp.stdout, 'stats reset --vm: ' + cp.stdout.strip())
    cp = vn.ctl('stats', '--vm', VM2[0], check=False)
    tap.ok(cp.returncode == 1 and 'no VM' in cp.stderr, 'the VM is gone from the ledger: ' + cp.stderr.strip())
    cp = vn.ctl('port', 'add', 'x', 'vhost', '--path', vn.path('x.sock'), '--vm-uuid', 'not-a-uuid', check=False)
    tap.ok(cp.returncode == 1 and 'invalid --vm-uuid' in cp.stderr, 'bad --vm-uuid refused: ' + cp.stderr.strip())


def test_latest_ledger(tap, vn):
    """A checkpoint the ledger's saver had not made durable yet (LEDGER.latest-N, as a kill -9
    leaves it) is taken at start when its generation is newer; an older or torn one is not."""
    ledger = os.path.join(vn.state_dir, 'ledger.json')
    before = totals(vn)
    tap.eq(vn.stop(), 0, 'latest: SIGTERM exit 0')
    with open(ledger) as f:
        doc = json.load(f)
    tap.ok(doc.get('generation', 0) > 0, 'the ledger carries a generation (%s)' % doc.get('generation'))
    newer, older = json.loads(json.dumps(doc)), json.loads(json.dumps(doc))
    newer['generation'] += 5
    older['generation'] -= 1
    for d, add in ((newer, 1000), (older, 7)):
        for e in d['entries']:
            if e['port'] == 'a':
                e['counters']['rx_packets'] += add
    for suffix, text in (('.latest-3', json.dumps(newer)), ('.latest-2', json.dumps(older)),
                         ('.latest-4', json.dumps(newer)[:60])):
        with open(ledger + suffix, 'w') as f:
            f.write(text)
    vn.start()
    vn.wait_ready()
    tap.eq(totals(vn)['a'][0], before['a'][0] + 1000,
           'the newer unsaved checkpoint is restored, not the older one')
    log = vn.log()
    tap.ok('the newest change was in %s.latest-3' % ledger in log and 'is incomplete' in log,
           'the log names the checkpoint taken and the torn one ignored')
    with open(ledger) as f:
        tap.ok(json.load(f)['generation'] > newer['generation'],
               "this run's checkpoints are newer than the one taken")


def test_corrupt_ledger(tap, vn):
    ledger = os.path.join(vn.state_dir, 'ledger.json')
    for what, damage in (('garbage', lambda t: b'\x00\xffnot json at all'),
                         ('truncated', lambda t: t[:len(t) // 2])):
        vn.stop()
        with open(ledger, 'rb') as f:
            text = f.read()
        bad = damage(text)
        with open(ledger, 'wb') as f:
            f.write(bad)
        for old in glob.glob(ledger + '.corrupt-*'):
            os.unlink(old)
        vn.start()
        vn.wait_ready()
        kept = glob.glob(ledger + '.corrupt-*')
        tap.ok(len(kept) == 1 and open(kept[0], 'rb').read() == bad,
               '%s ledger: vnicd started and kept a copy of the bad file' % what)
        tap.ok('damaged' in vn.log() and 'starting a new ledger' in vn.log(), '%s ledger: it says so in the log' % what)
        st = vn.ctl_json('stats')
        tap.eq(st['ledger']['recovered_from'], kept[0], '%s ledger: stats --json names the kept copy' % what)
        tap.ok(os.path.exists(ledger), '%s ledger: a new ledger was written' % what)


def main():
    tap = Tap()
    vnlib.require_root_hugepages_testpmd(tap)
    if not vnlib.shutil.which('tshark') or not vnlib.shutil.which('curl'):
        if vnlib.in_ci():
            tap.bail('tshark and curl are needed')
        tap.skip_all('tshark or curl missing')
    mport = free_port()
    with Vnicd('acct', config=config(mport, interval=1)) as vn:
        vn.wait_ready()
        gs = attach(tap, vn, 'abc', multi_flow='a')
        scraped = {}
        for name, fn in [('classes', lambda: test_classes(tap, vn, gs)),
                         ('prometheus', lambda: scraped.update(tcp=test_prometheus(tap, vn, mport))),
                         ('prometheus_unix', lambda: test_prometheus_unix(tap, scraped.get('tcp'))),
                         ('capture', lambda: test_capture(tap, vn, gs)),
                         ('restarts', lambda: test_restarts(tap, vn, gs)),
                         ('removed', lambda: test_removed_and_reset(tap, vn, gs)),
                         ('latest', lambda: test_latest_ledger(tap, vn)),
                         ('corrupt', lambda: test_corrupt_ledger(tap, vn))]:
            tap.diag('=== ' + name)
            try:
                fn()
            except Exception as e:
                tap.ok(False, '%s raised %s: %s' % (name, type(e).__name__, str(e)[:2000]))
        for g in gs.values():
            g.close()
    tap.done()


if __name__ == '__main__':
    main()
