"""The firmware figures of bench/: booting through SeaBIOS (Debian's
bios-256k.bin, qvm's default firmware; given to QEMU with -bios so both
run the same file) under -accel tcg, qvm against QEMU with the same
options and the same disk image, as ratios qvm/QEMU:

  to GRUB's menu   s   grub-rescue-usb.img (grub-rescue-pc) on
                       -drive if=virtio: from the spawn until GRUB's
                       "The highlighted entry will be executed" appears
                       on the serial console
  to Linux shell   s   a GRUB disk made by tests/firmware/make-grub-disk
                       with the default Linux guest: from the spawn until
                       the guest's init says it starts its shell

Both VMMs: -accel tcg -m 256M -nographic -bios bios-256k.bin -drive
file=IMG,if=virtio,format=raw,snapshot=on, and -fw_cfg
name=etc/sercon-port,file=F for QEMU only (2 bytes: 0x3f8): qvm gives
SeaBIOS that file itself under -nographic, QEMU does not, and without it
SeaBIOS writes its text to QEMU's VGA only.

Run by bench/run firmware (and at the end of bench/run).  Env: QVM, QEMU,
LINUX_GUEST_DIR, FW_REPS (3; the median is reported), FW_TIMEOUT (300),
QVM_ARGS, QEMU_ARGS.  Never asserts.
"""

import os, re, select, shlex, statistics, subprocess, sys, tempfile, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
QVM = shlex.split(os.environ.get("QVM", os.path.join(ROOT, "build/qvm")))
QEMU = shlex.split(os.environ.get("QEMU", "qemu-system-x86_64"))
GUEST = os.environ.get("LINUX_GUEST_DIR", os.path.join(ROOT, "build/linux"))
REPS = int(os.environ.get("FW_REPS", "3"))
TIMEOUT = int(os.environ.get("FW_TIMEOUT", "300"))
SEABIOS = "/usr/share/seabios/bios-256k.bin"
RESCUE = "/usr/lib/grub-rescue/grub-rescue-usb.img"
GRUB_MENU = b"The highlighted entry will be executed"
LINUX_SHELL = b"starting a shell on the console"


def time_to(cmd, pattern):
    """Seconds from spawning cmd until pattern shows on its stdout, then
    kill it; (None, why) when it exits or times out first."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, cwd=ROOT)
    buf, found = b"", None
    fd = p.stdout.fileno()
    while time.perf_counter() - t0 < TIMEOUT:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        data = os.read(fd, 65536)
        if not data:
            break
        buf = (buf + data)[-8192:]
        if pattern in re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", buf):
            found = time.perf_counter() - t0
            break
    p.kill()
    p.wait()
    p.stdout.close()
    if found is None:
        tail = buf[-200:].decode("utf-8", "replace").replace("\n", " / ")
        return None, "no '%s' within %d s (rc %s): %s" % (pattern.decode(), TIMEOUT,
                                                          p.returncode, tail)
    return found, None


def verdict(q, e):
    r = q / e
    return "%.2f" % r, ("qvm %.1fx faster" % (1 / r) if r < 1 else "QEMU %.1fx faster" % r)


def main():
    print("firmware figures: SeaBIOS (%s) under -accel tcg -m 256M -nographic, "
          "a virtio-blk disk; %d run(s) each, median" % (SEABIOS, REPS))
    if not os.path.exists(SEABIOS):
        print("SKIP: firmware figures: no %s (apt-get install seabios)" % SEABIOS)
        return 0
    tmp = tempfile.mkdtemp(prefix="qvm-fwbench-")
    sercon = os.path.join(tmp, "sercon-port")
    with open(sercon, "wb") as f:
        f.write(b"\xf8\x03")
    images = []
    if os.path.exists(RESCUE):
        images.append(("tcg: SeaBIOS to GRUB's menu, s", RESCUE, GRUB_MENU))
    else:
        print("SKIP: GRUB's menu: no %s (apt-get install grub-rescue-pc)" % RESCUE)
    disk = os.path.join(tmp, "grub-linux.img")
    r = subprocess.run([os.path.join(ROOT, "tests/firmware/make-grub-disk"), disk, GUEST],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode == 0:
        images.append(("tcg: SeaBIOS+GRUB to Linux shell, s", disk, LINUX_SHELL))
    else:
        why = (r.stdout.decode().strip().splitlines() or ["make-grub-disk failed"])[-1]
        print("SKIP: Linux shell: %s" % why)
    common = ["-accel", "tcg", "-m", "256M", "-nographic", "-bios", SEABIOS]
    vmms = [("qvm", QVM + shlex.split(os.environ.get("QVM_ARGS", "")), []),
            ("qemu", QEMU + shlex.split(os.environ.get("QEMU_ARGS", "")),
             ["-fw_cfg", "name=etc/sercon-port,file=" + sercon])]
    failed = False
    rows = []
    for label, img, pattern in images:
        drive = ["-drive", "file=%s,if=virtio,format=raw,snapshot=on" % img]
        samples = {"qvm": [], "qemu": []}
        for rep in range(REPS):
            for name, cmd, extra in (vmms if rep % 2 == 0 else vmms[::-1]):
                t, why = time_to(cmd + common + drive + extra, pattern)
                if t is None:
                    print("%s: %s [%s]: %s" % ("FAIL" if name == "qvm" else "SKIP",
                                               label, name, why))
                    failed |= name == "qvm"
                else:
                    samples[name].append(t)
        rows.append((label, samples))
    print("%-38s %8s %8s %8s  %s" % ("figure", "qvm", "QEMU", "qvm/QEMU", ""))
    for label, s in rows:
        q = statistics.median(s["qvm"]) if s["qvm"] else None
        e = statistics.median(s["qemu"]) if s["qemu"] else None
        ratio, words = verdict(q, e) if q and e else ("-", "")
        print("%-38s %8s %8s %8s  %s" % (label, "%.2f" % q if q else "-",
                                         "%.2f" % e if e else "-", ratio, words))
    subprocess.run(["rm", "-rf", tmp])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
