"""The IDE figure of bench/: sequential read from an -hda disk in the
default Linux guest (ata_piix, DMA), under qvm and under QEMU with the same
command line (-accel tcg -m 256M), as the ratio qvm/QEMU:

  ide: sequential read  MB/s   dd if=/dev/sda of=/dev/null bs=1M of the
                               whole IDE_MB MiB raw image (random bytes,
                               the same file for both), after
                               drop_caches; timed on the host between the
                               guest's serial lines before and after

Run by bench/run ide (and at the end of bench/run).  Env: QVM, QEMU,
LINUX_GUEST_DIR, IDE_MB (64), IDE_REPS (3; the median is reported),
IDE_TIMEOUT (300), QVM_ARGS, QEMU_ARGS.  Never asserts.
"""

import base64, os, shlex, statistics, subprocess, sys, tempfile, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
QVM = shlex.split(os.environ.get("QVM", os.path.join(ROOT, "build/qvm")))
QEMU = shlex.split(os.environ.get("QEMU", "qemu-system-x86_64"))
GUEST = os.environ.get("LINUX_GUEST_DIR", os.path.join(ROOT, "build/linux"))
MB = int(os.environ.get("IDE_MB", "64"))
REPS = int(os.environ.get("IDE_REPS", "3"))
TIMEOUT = int(os.environ.get("IDE_TIMEOUT", "300"))

SCRIPT = r"""
i=0; while [ ! -b /dev/sda ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done
echo 3 >/proc/sys/vm/drop_caches
echo IDEBENCH-START
dd if=/dev/sda of=/dev/null bs=1M 2>/dev/null
echo IDEBENCH-END $?
"""


def one_run(cmd, disk):
    """MB/s of one boot, or (None, why)."""
    k, i = os.path.join(GUEST, "vmlinuz"), os.path.join(GUEST, "initramfs.cpio.gz")
    run = base64.b64encode(SCRIPT.encode()).decode()
    argv = cmd + ["-accel", "tcg", "-m", "256M", "-display", "none", "-serial", "stdio",
                  "-no-reboot", "-kernel", k, "-initrd", i,
                  "-append", "console=ttyS0 panic=-1 quiet qvm.run=" + run,
                  "-drive", "file=%s,if=ide,index=0,format=raw" % disk]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    start = end = None
    deadline = time.time() + TIMEOUT
    tail = []
    for raw in p.stdout:
        line = raw.decode(errors="replace").strip()
        tail = (tail + [line])[-10:]
        if line == "IDEBENCH-START":
            start = time.monotonic()
        elif line.startswith("IDEBENCH-END"):
            end = time.monotonic()
            ok = line.endswith(" 0")
        if time.time() > deadline:
            p.kill()
            break
    p.wait()
    if start is None or end is None:
        return None, "no result (last lines: %s)" % " | ".join(tail)
    if not ok:
        return None, "dd failed in the guest"
    return MB / (end - start), None


def main():
    print("IDE figure: -accel tcg -m 256M, the default Linux guest, dd of a %d MiB "
          "-drive if=ide raw disk, median of %d run(s)" % (MB, REPS))
    if not os.path.exists(os.path.join(GUEST, "vmlinuz")):
        print("SKIP: ide: no Linux guest in %s (make guest-linux)" % GUEST)
        return 0
    res, failed = {}, False
    with tempfile.TemporaryDirectory() as tmp:
        disk = os.path.join(tmp, "disk.raw")
        with open(disk, "wb") as f:
            for _ in range(MB):
                f.write(os.urandom(1 << 20))
        for name, cmd in (("qvm", QVM + shlex.split(os.environ.get("QVM_ARGS", ""))),
                          ("qemu", QEMU + shlex.split(os.environ.get("QEMU_ARGS", "")))):
            vals = []
            for _ in range(REPS):
                v, err = one_run(cmd, disk)
                if err:
                    print("%s: ide [%s]: %s" % ("FAIL" if name == "qvm" else "SKIP", name, err))
                    failed |= name == "qvm"
                    break
                vals.append(v)
            res[name] = statistics.median(vals) if vals else None
    q, e = res["qvm"], res["qemu"]
    print("%-28s %10s %10s %7s  %s" % ("figure", "qvm", "QEMU", "qvm/QEMU", ""))
    ratio = words = ""
    if q and e:
        ratio = "%.2f" % (q / e)
        words = "qvm %.1fx faster" % (q / e) if q >= e else "QEMU %.1fx faster" % (e / q)
    print("%-28s %10s %10s %7s  %s" % ("ide: sequential read, MB/s", "%.1f" % q if q else "-",
                                       "%.1f" % e if e else "-", ratio or "-", words))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
