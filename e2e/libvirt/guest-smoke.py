#!/usr/bin/env python3
"""Proves the writing guest (guest.sh) with plain QEMU, no libvirt: boots it, lets it write, live-migrates it to a
second QEMU on this host over loopback (both on the same disk file, cache=none), lets it write on, stops both and
checks the disk with GuestDisk (run as a single-file Java program): one boot, records 1..N, no gap.

Usage: guest-smoke.py GUESTDIR WORKDIR [--accel tcg|kvm] [--kernel vmlinux|vmlinuz] [--format raw|qcow2]
                      [--records N] [--no-migrate]
GUESTDIR is guest.sh's OUTDIR; WORKDIR gets the disk, the serial logs (src.log, dst.log) and QEMU's output.
Prints timings: time to the first record, migration time and downtime, records per second. Exits 0 when the disk
holds one unbroken run of the guest's one boot, and the destination went on where the source stopped.
Needs qemu-system-x86_64, qemu-img and java (17) on PATH. Standard library only.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(HERE, '..', 'src', 'test', 'java', 'io', 'lockwarden', 'e2e', 'libvirt', 'GuestDisk.java')

args = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
args.add_argument('guest')
args.add_argument('work')
args.add_argument('--accel', default='tcg', choices=['tcg', 'kvm'])
args.add_argument('--kernel', default='vmlinux', choices=['vmlinux', 'vmlinuz'])
args.add_argument('--format', default='raw', choices=['raw', 'qcow2'])
args.add_argument('--records', type=int, default=80, help='records to wait for on each side (default 80, ~10 s)')
args.add_argument('--boot-timeout', type=int, default=300, help='seconds to wait for the first record')
args.add_argument('--no-migrate', action='store_true', help='only boot, write and check')
opts = args.parse_args()

os.makedirs(opts.work, exist_ok=True)
disk = os.path.join(opts.work, 'disk.' + opts.format)
if os.path.exists(disk):
    os.remove(disk)
subprocess.run(['qemu-img', 'create', '-q', '-f', opts.format, disk, '64M'], check=True)
started = time.monotonic()
processes = []


def log(msg):
    print('[smoke %6.1fs] %s' % (time.monotonic() - started, msg), flush=True)


def fail(msg):
    log('FAILED: ' + msg)
    for p in processes:
        if p.poll() is None:
            p.kill()
    sys.exit(1)


def path(name):
    return os.path.join(opts.work, name)


def qemu(name, extra):
    for f in (name + '.log', name + '.qmp'):
        if os.path.exists(path(f)):
            os.remove(path(f))
    cmd = ['qemu-system-x86_64', '-accel', opts.accel, '-m', '128', '-nodefaults', '-display', 'none', '-no-reboot',
           '-kernel', os.path.join(opts.guest, opts.kernel), '-initrd', os.path.join(opts.guest, 'initrd.img'),
           '-append', 'console=ttyS0 quiet',
           '-serial', 'file:' + path(name + '.log'),
           '-qmp', 'unix:%s,server=on,wait=off' % path(name + '.qmp'),
           '-device', 'virtio-scsi-pci,id=scsi0',
           '-drive', 'file=%s,format=%s,if=none,id=d0,cache=none,aio=native' % (disk, opts.format),
           '-device', 'scsi-hd,drive=d0,bus=scsi0.0'] + extra
    p = subprocess.Popen(cmd, stdout=open(path(name + '.out'), 'w'), stderr=subprocess.STDOUT)
    processes.append(p)
    return p


class Qmp:
    def __init__(self, socket_path):
        deadline = time.monotonic() + 30
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(socket_path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    fail('no QMP socket ' + socket_path)
                time.sleep(0.1)
        self.file = self.sock.makefile('rw')
        json.loads(self.file.readline())  # the greeting
        self.cmd('qmp_capabilities')

    def cmd(self, name, **arguments):
        self.file.write(json.dumps({'execute': name, 'arguments': arguments}) + '\n')
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())  # skips events
            if 'error' in reply:
                fail('%s: %s' % (name, reply['error']))
            if 'return' in reply:
                return reply['return']


def records(name):
    """The LWCTR lines on a QEMU's serial console, as (n, boot-id)."""
    try:
        with open(path(name + '.log'), 'rb') as f:
            lines = f.read().split(b'\n')
    except FileNotFoundError:
        return []
    found = []
    for line in lines:
        fields = line.decode(errors='replace').strip().split()
        if len(fields) >= 3 and fields[0] == 'LWCTR' and fields[1].isdigit():
            found.append((int(fields[1]), fields[2]))
    return found


def wait_records(name, process, count, timeout):
    deadline = time.monotonic() + timeout
    while len(records(name)) < count:
        if process.poll() is not None:
            fail('%s: QEMU exited (%s); see %s and %s' % (name, process.returncode, path(name + '.out'),
                                                          path(name + '.log')))
        if time.monotonic() > deadline:
            fail('%s: %d records after %d s; see %s' % (name, len(records(name)), timeout, path(name + '.log')))
        time.sleep(0.05)
    return records(name)


def quit_qemu(qmp, process):
    qmp.cmd('quit')
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


log('booting (%s, %s, %s disk)' % (opts.accel, opts.kernel, opts.format))
src = qemu('src', [])
first = wait_records('src', src, 1, opts.boot_timeout)
log('first record after %.1f s: %s' % (time.monotonic() - started, first[0]))
mark = time.monotonic()
wait_records('src', src, opts.records, 300)
seen = records('src')
log('%d records on the source (%.1f records/s)' % (len(seen), (len(seen) - 1) / (time.monotonic() - mark)))
boot = first[0][1]
src_qmp = Qmp(path('src.qmp'))

if not opts.no_migrate:
    port = 47000 + os.getpid() % 1000
    dst = qemu('dst', ['-incoming', 'tcp:127.0.0.1:%d' % port])
    dst_qmp = Qmp(path('dst.qmp'))
    log('destination: %s' % dst_qmp.cmd('query-status')['status'])
    src_qmp.cmd('migrate', uri='tcp:127.0.0.1:%d' % port)
    while True:
        m = src_qmp.cmd('query-migrate')
        if m.get('status') in ('completed', 'failed', 'cancelled'):
            break
        time.sleep(0.05)
    if m['status'] != 'completed':
        fail('migration %s: %s' % (m['status'], json.dumps(m)))
    log('migrated: %d ms in all, %d ms downtime, %d MB of RAM sent' % (
        m.get('total-time', -1), m.get('downtime', -1), m.get('ram', {}).get('transferred', 0) // 1000000))
    source_last = records('src')[-1]
    log('source is %s, its last record %d' % (src_qmp.cmd('query-status')['status'], source_last[0]))
    quit_qemu(src_qmp, src)
    after = wait_records('dst', dst, opts.records, 300)
    log('destination is %s; records %d..%d' % (dst_qmp.cmd('query-status')['status'], after[0][0], after[-1][0]))
    if after[0] != (source_last[0] + 1, boot):
        fail('the destination went on with %s, not with record %d of boot %s' % (after[0], source_last[0] + 1, boot))
    if any(b != boot for _, b in after):
        fail('another boot on the destination: %s' % sorted({b for _, b in after}))
    quit_qemu(dst_qmp, dst)
else:
    quit_qemu(src_qmp, src)

check = subprocess.run(['java', CHECKER, disk, boot], capture_output=True, text=True)
log('disk: ' + (check.stdout + check.stderr).strip())
if check.returncode != 0:
    fail('the disk does not hold one unbroken run of boot ' + boot)
log('OK')
