#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The manual pages render with man(1) and cannot drift from the programs they describe.
"""vnicd(8), vnicctl(8) and vnicd.conf(5), as meson built them from doc/*.scd.

Each page renders with `man -l` (NAME and SYNOPSIS sections); vnicctl(8) names every command
and every flag of vnicctl's verbs table (`vnicctl --commands`), vnicd(8) every option of
`vnicd --help`, vnicd.conf(5) every key of the table in backend/config.c. No daemon needed.
Also: `meson install` would put the pages under mandir and the bash completion in
bash-completion's directory (meson introspect --installed).
Environment: VNICCTL, VNICD (the binaries), MANDIR (where meson built the pages),
VNICD_BUILD_DIR (the build directory).
"""

import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get('VNICD_BUILD_DIR', os.path.join(REPO, 'build'))
VNICCTL = os.environ.get('VNICCTL') or os.path.join(BUILD, 'backend', 'vnicctl')
VNICD = os.environ.get('VNICD') or os.path.join(BUILD, 'backend', 'vnicd')
MANDIR = os.environ.get('MANDIR') or os.path.join(BUILD, 'doc')


class Tap:
    def __init__(self):
        self.n = self.failed = 0
        print('TAP version 13', flush=True)

    def eq(self, got, want, desc):
        self.n += 1
        good = got == want
        self.failed += not good
        print('%sok %d - %s' % ('' if good else 'not ', self.n, desc))
        if not good:
            print('# got:      %r\n# expected: %r' % (got, want))
        sys.stdout.flush()

    def done(self):
        print('1..%d' % self.n)
        sys.exit(1 if self.failed else 0)


def render(page):
    """The page as man(1) renders it at 80 columns, with hyphenated line ends joined."""
    env = dict(os.environ, MANWIDTH='80', MAN_KEEP_FORMATTING='0', LC_ALL='C.UTF-8')
    cp = subprocess.run(['man', '-l', os.path.join(MANDIR, page)], capture_output=True,
                        text=True, env=env)
    text = re.sub(r'.\x08', '', cp.stdout)  # no overstrike, should a pager setting add it
    text = re.sub('\u2010\\n\\s*', '', text)  # a word hyphenated at a line end
    text = re.sub('-\\n\\s*', '-', text)  # a word broken after its own hyphen
    return cp.returncode, cp.stderr, text


def main():
    tap = Tap()
    pages = {}
    for page, title in (('vnicd.8', 'vnicd(8)'), ('vnicctl.8', 'vnicctl(8)'),
                        ('vnicd.conf.5', 'vnicd.conf(5)')):
        rc, err, text = render(page)
        pages[page] = ' '.join(text.split())
        tap.eq((rc, err, text.split('\n')[0].split()[:1], 'NAME' in text, 'SYNOPSIS' in text),
               (0, '', [title], True, True), 'man -l %s renders (title, NAME, SYNOPSIS)' % page)

    cp = subprocess.run([VNICCTL, '--commands'], capture_output=True, text=True)
    rows = [line.split('\t') for line in cp.stdout.splitlines()]
    tap.eq((cp.returncode, len(rows) > 10), (0, True), 'vnicctl --commands lists the verbs table')
    page = pages['vnicctl.8']
    tap.eq([r[0] for r in rows[1:] if r[0] not in page], [],
           'vnicctl(8) names every command of the verbs table')
    flags = sorted({f.rstrip('=') for r in rows for f in r[1].split()})
    tap.eq([f for f in flags if not re.search(re.escape(f) + r'(?![\w-])', page)], [],
           'vnicctl(8) names every flag of the verbs table')

    cp = subprocess.run([VNICD, '--help'], capture_output=True, text=True)
    opts = sorted(set(re.findall(r'(--[a-z][a-z-]+)', cp.stdout)))
    tap.eq((cp.returncode, '--config' in opts), (0, True), 'vnicd --help lists its options')
    tap.eq([o for o in opts if o != '--help' and o not in pages['vnicd.8']], [],
           'vnicd(8) names every option of vnicd --help')

    with open(os.path.join(REPO, 'backend', 'config.c')) as f:
        keys = re.findall(r'^\s*\{"([a-z_0-9]+)", K_[A-Z]+', f.read(), re.M)
    tap.eq(len(keys) > 20, True, 'backend/config.c has the key table (%d keys)' % len(keys))
    tap.eq([k for k in keys if not re.search(r'(?<![\w])' + k + r'(?![\w])',
                                             pages['vnicd.conf.5'])], [],
           'vnicd.conf(5) documents every key of backend/config.c')

    # meson install puts the pages under mandir and the completion where bash-completion looks
    cp = subprocess.run(['meson', 'introspect', '--installed', BUILD], capture_output=True,
                        text=True)
    installed = {os.path.basename(k): v for k, v in json.loads(cp.stdout or '{}').items()}
    tap.eq({k: re.sub(r'^.*/share/', 'share/', installed.get(k, '')) for k in
            ('vnicd.8', 'vnicctl.8', 'vnicd.conf.5', 'vnicctl')},
           {'vnicd.8': 'share/man/man8/vnicd.8', 'vnicctl.8': 'share/man/man8/vnicctl.8',
            'vnicd.conf.5': 'share/man/man5/vnicd.conf.5',
            'vnicctl': 'share/bash-completion/completions/vnicctl'},
           'meson install: the pages to mandir, the completion to bash-completion\'s directory')
    tap.done()


if __name__ == '__main__':
    main()
