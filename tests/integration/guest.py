# SPDX-License-Identifier: MIT
# QemuGuest: a real QEMU/TCG Linux guest (qemu-configs/) driven through its serial console.
import os
import re
import subprocess
import threading
import time

from vnlib import REPO_DIR, build_dir, cleanup, in_ci

QEMU_CONFIGS = os.path.join(REPO_DIR, 'qemu-configs')


def guest_dir():
    return os.path.join(build_dir(), 'guest')


def ensure_guest_image():
    """Build (or reuse) the guest kernel + initramfs. Return: None, or why it cannot be had."""
    d = guest_dir()
    cp = subprocess.run(['bash', os.path.join(QEMU_CONFIGS, 'build-guest.sh'), d],
                        capture_output=True, text=True)
    if cp.returncode != 0:
        return 'building the guest image failed: %s' % (cp.stderr.strip() or cp.stdout.strip())
    return None


class QemuGuest:
    """QemuGuest(name, sock, mac, ip) boots qemu-configs/boot-guest.sh; run() types commands.
    nic_opts: more virtio-net-pci properties (",guest_tso4=off", ...)."""

    def __init__(self, name, sock, mac, ip, queues=1, boot_timeout=90, nic_opts=''):
        self.name = name
        self.buf = ''
        self.cond = threading.Condition()
        self.n = 0
        self.proc = subprocess.Popen(
            ['bash', os.path.join(QEMU_CONFIGS, 'boot-guest.sh'), guest_dir(), sock, mac, ip,
             str(queues)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, env=dict(os.environ, VNICD_GUEST_NIC_OPTS=nic_opts))
        cleanup.add(self)
        threading.Thread(target=self._reader, daemon=True).start()
        self.boot_timeout = boot_timeout

    def _reader(self):
        while True:
            data = self.proc.stdout.read1(65536) if hasattr(self.proc.stdout, 'read1') else \
                self.proc.stdout.read(1)
            if not data:
                break
            with self.cond:
                self.buf += data.decode('utf-8', 'replace')
                self.cond.notify_all()

    def wait_for(self, pattern, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                m = re.search(pattern, self.buf)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError('guest %s: no %r after %ss; console tail:\n%s'
                                       % (self.name, pattern, timeout, self.buf[-2000:]))
                self.cond.wait(min(left, 0.5))

    def wait_ready(self):
        self.wait_for(r'VNICD-GUEST-READY', self.boot_timeout)
        self.wait_for(r'guest# ', 20)

    def run(self, cmd, timeout=60):
        """Type cmd at the guest's shell. Return: (exit status, output)."""
        self.n += 1
        tag = 'VN%dEND' % self.n
        with self.cond:
            start = len(self.buf)
        # the marker is split in the typed line, so the echo cannot match it
        line = '%s; echo "@@%s""@@$?@@"\n' % (cmd, tag)
        self.proc.stdin.write(line.encode())
        self.proc.stdin.flush()
        m = self.wait_for(r'@@%s@@(\d+)@@' % tag, timeout)
        out = self.buf[start:m.start()]
        return int(m.group(1)), out

    def _cleanup(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except ProcessLookupError:
                pass
            self.proc.wait()
        cleanup.remove(self)

    def close(self):
        self._cleanup()


def require_qemu(tap):
    """skip_all (fail under CI) without qemu-system-x86_64 or a guest image."""
    import shutil
    why = None
    if not shutil.which('qemu-system-x86_64'):
        why = 'qemu-system-x86_64 missing (apt-get install qemu-system-x86)'
    else:
        why = ensure_guest_image()
    if why:
        if in_ci():
            tap.bail('CI=true: ' + why)
        tap.skip_all(why)
