#!/usr/bin/env python3
"""qvm benchmarks, side by side with qemu-system-x86_64 -accel kvm.

Run through bench/run (make bench).  Every figure is measured for both VMMs
in the same run, with the same guest image and options, and reported as the
ratio qvm/QEMU.  No figure is ever asserted on; see bench/README.md for what
each figure means and how it is measured.
"""

import base64
import os
import platform
import re
import select
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def env_cmd(name, default):
    v = os.environ.get(name, "").strip()
    return shlex.split(v) if v else [default]


def env_num(name, default, kind=int):
    v = os.environ.get(name, "").strip()
    if not v:
        return default
    try:
        n = kind(v)
    except ValueError:
        sys.exit(f"bench: {name}={v!r} is not a number")
    if n <= 0:
        sys.exit(f"bench: {name} must be positive")
    return n


QVM = env_cmd("QVM", os.path.join(ROOT, "build", "qvm"))
QEMU = env_cmd("QEMU", "qemu-system-x86_64")
QVM_ARGS = shlex.split(os.environ.get("QVM_ARGS", ""))
QEMU_ARGS = shlex.split(os.environ.get("QEMU_ARGS", ""))
GUESTS = os.environ.get("GUESTS", "").strip() or os.path.join(ROOT, "build", "guests")
REPS = env_num("REPS", 5)
MEM_REPS = env_num("MEM_REPS", 1)
PIO_ITERS = env_num("PIO_ITERS", 20000)
# 0x520: unassigned in both VMMs (bench-pio's own default, 0x510, is QEMU's
# fw_cfg selector port, so QEMU would dispatch it to a device)
PIO_PORT = os.environ.get("PIO_PORT", "").strip() or "0x520"
TIMEOUT = env_num("TIMEOUT", 120.0, float)
TCG_ITERS = env_num("TCG_ITERS", 20000000)
TCG_INSNS_PER_ITER = 12     # bench-cpu.c's loop bodies (both loops)
# the default Linux guest (scripts/build-guest), booted with -accel tcg
LINUX_DIR = (os.environ.get("LINUX_GUEST_DIR", "").strip()
             or os.path.join(ROOT, "build", "linux"))
LINUX_REPS = env_num("LINUX_REPS", 3)
LINUX_TIMEOUT = env_num("LINUX_TIMEOUT", 300.0, float)
LINUX_BANNER = "qvm-guest: init started"
VERBOSE = os.environ.get("VERBOSE", "") not in ("", "0")

RAM = "64M"
RAM_KIB = 64 * 1024
COMMON = ["-accel", "kvm", "-m", RAM, "-smp", "1", "-display", "none",
          "-serial", "stdio",
          "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
EXIT_OK = 1             # isa-debug-exit: value 0 -> exit status (0 << 1) | 1
SMALL_GUEST_ITERS = 4000000000   # "forever": the run is killed after sampling


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Running one guest

class Run:
    def __init__(self):
        self.first = None       # s from spawn to the first stdout byte
        self.first_byte = b""
        self.lines = []         # (s from spawn when the line completed, text)
        self.exit = None        # s from spawn to exit (EOF + wait)
        self.rc = None
        self.stderr = ""
        self.timed_out = False
        self.sample = None      # what on_line returned
        self.error = None       # exception text from spawning
        self.timeout = TIMEOUT

    def line_time(self, text):
        for t, s in self.lines:
            if s == text:
                return t
        return None

    def why(self):
        """One line saying why this run went wrong (for FAIL/SKIP lines)."""
        if self.error:
            return self.error
        if self.timed_out:
            what = f"timed out after {self.timeout:g} s"
        else:
            what = f"exit status {self.rc}"
        err = [l.strip() for l in self.stderr.splitlines()
               if l.strip() and "host doesn't support requested feature" not in l]
        out = " / ".join(s for _, s in self.lines[:3] if s)
        if err:
            what += ": " + err[0][:160]
        elif out:
            what += "; output: " + out[:160]
        return what


def run_guest(cmd, stop_at=None, on_line=None, settle=0.0, timeout=None):
    """Spawn cmd with stdout on a pipe and time stamp what arrives.

    Time stamps are perf_counter seconds since just before the spawn: the
    first stdout byte, each complete line (when the read that completed it
    returned), the exit (EOF on the pipe, then wait()).  With stop_at, when
    that line arrives wait `settle` s, call on_line(pid) and kill the VMM.
    """
    r = Run()
    if timeout is not None:
        r.timeout = timeout
    errf = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    try:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=errf, cwd=ROOT)
    except OSError as e:
        r.error = f"cannot run {cmd[0]}: {e.strerror}"
        errf.close()
        return r
    fd = p.stdout.fileno()
    deadline = t0 + r.timeout
    buf = b""
    killed = False
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            if not killed:
                r.timed_out = True
                p.kill()
                killed = True
            deadline = time.perf_counter() + 10
            left = 10
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        data = os.read(fd, 65536)
        t = time.perf_counter() - t0
        if not data:
            break
        if r.first is None:
            r.first = t
            r.first_byte = data[:1]
        buf += data
        while b"\n" in buf:
            raw, buf = buf.split(b"\n", 1)
            text = raw.decode("utf-8", "replace").strip("\r ")
            r.lines.append((t, text))
            if stop_at is not None and text == stop_at and not killed:
                if settle:
                    time.sleep(settle)
                r.sample = on_line(p.pid) if on_line else None
                p.kill()
                killed = True
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    r.exit = time.perf_counter() - t0
    r.rc = p.returncode
    p.stdout.close()
    errf.seek(0)
    r.stderr = errf.read().decode("utf-8", "replace")
    errf.close()
    if buf:
        r.lines.append((r.exit, buf.decode("utf-8", "replace").strip("\r ")))
    return r


# ---------------------------------------------------------------------------
# The two VMMs

class VMM:
    def __init__(self, name, cmd, extra):
        self.name = name
        self.cmd = cmd
        self.extra = extra
        self.skip = None        # reason this VMM can't run any figure

    def argv(self, boot):
        return self.cmd + self.extra + COMMON + boot


def guest(name):
    return os.path.join(GUESTS, name)


def kernel(name, append=None):
    a = ["-kernel", guest(name)]
    if append is not None:
        a += ["-append", append]
    return a


# ---------------------------------------------------------------------------
# Results

class Figure:
    """One row of the table: a value per VMM (median of samples)."""

    def __init__(self, label, unit, fmt, better="faster", higher=False):
        self.label = label
        self.unit = unit
        self.fmt = fmt
        self.better = better     # what "lower" means: faster, smaller
        self.higher = higher     # a rate (IOPS): higher is better
        self.samples = {"qvm": [], "qemu": []}
        self.problem = {}       # vmm name -> ("SKIP"|"FAIL", reason)

    def value(self, who):
        s = self.samples[who]
        if who in self.problem or not s:
            return None
        return statistics.median(s)


figures = []
notes = []          # SKIP:/FAIL: lines, printed after the table
failed = False


def problem(fig, vmm, kind, reason):
    global failed
    if vmm.name not in fig.problem:
        fig.problem[vmm.name] = (kind, reason)
        if kind == "FAIL":
            failed = True


def skip_figure(fig, reason):
    for v in ("qvm", "qemu"):
        fig.problem.setdefault(v, ("SKIP", reason))


def run_ok(fig, vmm, r, need_lines=(), first_s=False):
    """Check a run finished as the guest intended; record FAIL/SKIP if not."""
    ok = (r.error is None and not r.timed_out and r.rc == EXIT_OK and
          all(r.line_time(l) is not None for l in need_lines) and
          (not first_s or r.first_byte == b"S"))
    if not ok:
        why = r.why()
        if first_s and r.first_byte not in (b"S", b""):
            why += f" (first output byte {r.first_byte!r}, expected b'S')"
        # QEMU not being able to use KVM here is the environment, not a bug
        problem(fig, vmm, "SKIP" if vmm.name == "qemu" else "FAIL", why)
    return ok


# ---------------------------------------------------------------------------
# Host facts

def host_facts():
    model, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                k = k.strip()
                if k == "model name" and model == "unknown":
                    model = v.strip()
                elif k == "flags" and not flags:
                    flags = set(v.split())
    except OSError:
        pass
    virt = [x for x in ("vmx", "svm") if x in flags]
    mods = [m for m in ("kvm_intel", "kvm_amd", "kvm_pvm")
            if os.path.isdir(f"/sys/module/{m}")]
    return model, virt, mods, "hypervisor" in flags


def version_of(cmd):
    try:
        out = subprocess.run(cmd + ["--version"], capture_output=True,
                             text=True, timeout=20).stdout
        return out.splitlines()[0].strip() if out else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def kvm_usable():
    if not os.path.exists("/dev/kvm"):
        return "no /dev/kvm on this host"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm is not readable and writable by this user"
    return None


# ---------------------------------------------------------------------------
# Figures

def fig_pio(vmms):
    """Per-exit cost: time between the "start" and "done" serial lines."""
    fig = Figure("pio exit round trip", "us/exit", "{:.2f}")
    figures.append(fig)
    if all(v.skip for v in vmms):
        return
    img = "bench-pio.elf"
    if not os.path.exists(guest(img)):
        skip_figure(fig, f"{guest(img)} missing (make guests)")
        return
    log(f"bench: pio exits: {REPS} x {PIO_ITERS} exits per VMM")
    for rep in range(REPS):
        # alternate the order so slow drift on the host hits both alike
        for vmm in (vmms if rep % 2 == 0 else vmms[::-1]):
            if vmm.skip or vmm.name in fig.problem:
                continue
            r = run_guest(vmm.argv(kernel(img, f"iters={PIO_ITERS} port={PIO_PORT}")))
            if not run_ok(fig, vmm, r, need_lines=("start", "done")):
                continue
            dt = r.line_time("done") - r.line_time("start")
            if dt < 1e-3:
                problem(fig, vmm, "FAIL",
                        f"'start' and 'done' arrived {dt * 1e6:.0f} us apart: "
                        "is the VMM's serial output buffered?")
                continue
            fig.samples[vmm.name].append(dt / PIO_ITERS * 1e6)


def fig_tcg(vmms, loop="alu"):
    """Emulation speed: guest time per instruction of one of bench-cpu's
    loops, both VMMs with -accel tcg: "alu" (ALU, multiply, loads, stores,
    branch) or "rot" (rotates by immediate, by CL and through carry)."""
    what = {"alu": "CPU-bound loop", "rot": "rotate loop"}[loop]
    fig = Figure(f"tcg: {what}, time per guest insn", "ns/insn", "{:.2f}")
    figures.append(fig)
    img = "bench-cpu.elf"
    if not os.path.exists(guest(img)):
        skip_figure(fig, f"{guest(img)} missing (make guests)")
        return
    insns = TCG_ITERS * TCG_INSNS_PER_ITER
    log(f"bench: tcg {loop}: {REPS} x {insns} guest instructions per VMM")
    common = ["tcg" if a == "kvm" else a for a in COMMON]
    for rep in range(REPS):
        for vmm in (vmms if rep % 2 == 0 else vmms[::-1]):
            if vmm.name in fig.problem:
                continue
            argv = (vmm.cmd + vmm.extra + common +
                    kernel(img, f"iters={TCG_ITERS} loop={loop}"))
            r = run_guest(argv)
            if not run_ok(fig, vmm, r, need_lines=("start", "done")):
                continue
            dt = r.line_time("done") - r.line_time("start")
            fig.samples[vmm.name].append(dt / insns * 1e9)


def linux_options(script=b":\n"):
    """The Linux figure's options, the same for both VMMs: the default
    guest as "make run" boots it, with a qvm.run= script that powers the
    guest off as soon as its init has started (or runs `script` first)."""
    script = base64.b64encode(script).decode()
    return ["-accel", "tcg", "-m", "512M", "-smp", "2", "-display", "none",
            "-serial", "stdio", "-no-reboot",
            "-kernel", os.path.join(LINUX_DIR, "vmlinuz"),
            "-initrd", os.path.join(LINUX_DIR, "initramfs.cpio.gz"),
            "-append", f"console=ttyS0 panic=-1 qvm.run={script}"]


def fig_linux(vmms):
    """Boot time of the default Linux guest, both VMMs with -accel tcg:
    to its init's banner line, and to the process exit after the guest's
    (ACPI) power-off."""
    banner = Figure("tcg: Linux boot to the init banner", "s", "{:.2f}")
    off = Figure("tcg: Linux boot to power-off (exit)", "s", "{:.2f}")
    figures.extend([banner, off])
    missing = [f for f in ("vmlinuz", "initramfs.cpio.gz")
               if not os.path.exists(os.path.join(LINUX_DIR, f))]
    if missing:
        why = (f"{os.path.join(LINUX_DIR, missing[0])} missing "
               "(make guest-linux, or scripts/build-guest)")
        skip_figure(banner, why)
        skip_figure(off, why)
        return
    log(f"bench: Linux boot with -accel tcg: {LINUX_REPS} boots per VMM")
    for rep in range(LINUX_REPS):
        for vmm in (vmms if rep % 2 == 0 else vmms[::-1]):
            if vmm.name in banner.problem:
                continue
            r = run_guest(vmm.cmd + vmm.extra + linux_options(),
                          timeout=LINUX_TIMEOUT)
            t = next((t for t, s in r.lines if s.startswith(LINUX_BANNER)), None)
            down = any(s.endswith("reboot: Power down") for _, s in r.lines)
            why = None
            if r.error or r.timed_out or r.rc != 0:
                why = r.why()
            elif t is None:
                why = f"exit status 0 but no '{LINUX_BANNER}' line"
            elif not down:
                why = "exit status 0 but the guest printed no 'reboot: Power down'"
            if why:
                kind = "SKIP" if vmm.name == "qemu" else "FAIL"
                problem(banner, vmm, kind, why)
                off.problem[vmm.name] = banner.problem[vmm.name]
                continue
            banner.samples[vmm.name].append(t)
            off.samples[vmm.name].append(r.exit)


# A dd of 1-byte copies: 2 system calls (read, write) per byte, timed
# between the lines before and after it (its fork and exec, a few ms, are
# in: under 1% of the run under either VMM)
SYSCALL_BYTES = 200000
SYSCALL_SCRIPT = f"""echo syscall-start
dd if=/dev/zero of=/dev/null bs=1 count={SYSCALL_BYTES} 2>/dev/null
echo syscall-done
""".encode()


def fig_linux_syscall(vmms):
    """The cost of a system call in the Linux guest under -accel tcg: the
    kernel's entry and exit path, with whatever speculation mitigations
    the guest kernel chose for the CPU it was shown (PTI flushes the TLB
    twice per call)."""
    fig = Figure("tcg: Linux guest system call (read/write of 1 byte)", "ns", "{:.0f}")
    figures.append(fig)
    if not all(os.path.exists(os.path.join(LINUX_DIR, f))
               for f in ("vmlinuz", "initramfs.cpio.gz")):
        skip_figure(fig, f"no Linux guest in {LINUX_DIR} "
                    "(make guest-linux, or scripts/build-guest)")
        return
    log(f"bench: Linux system calls with -accel tcg: {LINUX_REPS} boots per VMM")
    calls = 2 * SYSCALL_BYTES
    for rep in range(LINUX_REPS):
        for vmm in (vmms if rep % 2 == 0 else vmms[::-1]):
            if vmm.name in fig.problem:
                continue
            r = run_guest(vmm.cmd + vmm.extra + linux_options(SYSCALL_SCRIPT),
                          timeout=LINUX_TIMEOUT)
            t0, t1 = r.line_time("syscall-start"), r.line_time("syscall-done")
            if r.error or r.timed_out or r.rc != 0 or t0 is None or t1 is None:
                why = (r.why() if r.error or r.timed_out or r.rc != 0 else
                       "exit status 0 but no syscall-start/syscall-done lines")
                problem(fig, vmm, "SKIP" if vmm.name == "qemu" else "FAIL", why)
                continue
            dt = t1 - t0
            fig.samples[vmm.name].append(dt / calls * 1e9)


def fig_startup(vmms, path, img, boot):
    first = Figure(f"start-up {path}: first guest insn", "ms", "{:.1f}")
    done = Figure(f"start-up {path}: process exit", "ms", "{:.1f}")
    figures.extend([first, done])
    if all(v.skip for v in vmms):
        return
    if not os.path.exists(guest(img)):
        skip_figure(first, f"{guest(img)} missing (make guests)")
        skip_figure(done, f"{guest(img)} missing (make guests)")
        return
    log(f"bench: start-up {path} {img}: {REPS} runs per VMM")
    for rep in range(REPS):
        for vmm in (vmms if rep % 2 == 0 else vmms[::-1]):
            if vmm.skip or vmm.name in first.problem:
                continue
            r = run_guest(vmm.argv(boot))
            if not run_ok(first, vmm, r, first_s=True):
                done.problem[vmm.name] = first.problem[vmm.name]
                continue
            first.samples[vmm.name].append(r.first * 1e3)
            done.samples[vmm.name].append(r.exit * 1e3)


def read_kib(path, keys):
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keys:
                out[k] = int(v.split()[0])
    return out


def guest_ram_rss(pid):
    """Resident KiB of the mapping that backs guest RAM.

    qvm: the memfd mapping "memfd:qvm-ram"; QEMU: its anonymous RAM block.
    Taken as the largest-RSS writable mapping that is named qvm-ram or is
    exactly RAM_KIB long.  None if there is no such mapping.
    """
    best = None
    cur = None
    hdr = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$")
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = hdr.match(line)
            if m:
                size = (int(m[2], 16) - int(m[1], 16)) // 1024
                cur = (size, m[3], m[4])
                continue
            if line.startswith("Rss:") and cur:
                size, perms, name = cur
                if "w" in perms and ("qvm-ram" in name or size == RAM_KIB):
                    rss = int(line.split()[1])
                    if best is None or rss > best[0]:
                        best = (rss, name or "[anon]")
    return best


def sample_memory(pid):
    keys = ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem")
    s = read_kib(f"/proc/{pid}/status", keys)
    # only the VMM's main process; a wrapper (env QEMU="sudo ...") would
    # show up as a tiny RSS and an absent RAM mapping
    s["ram"] = guest_ram_rss(pid)
    return s


def fig_memory(vmms):
    beyond = Figure(f"RSS beyond guest RAM (-m {RAM}, all touched)", "MiB",
                    "{:.1f}", "smaller")
    total = Figure("  VmRSS total, same run", "MiB", "{:.1f}", "smaller")
    small = Figure("VmRSS, small guest (bench-pio running)", "MiB", "{:.1f}", "smaller")
    figures.extend([beyond, total, small])
    if all(v.skip for v in vmms):
        return {}
    details = {}
    img = "mem-touch.elf"
    if not os.path.exists(guest(img)):
        skip_figure(beyond, f"{guest(img)} missing (make guests)")
        skip_figure(total, f"{guest(img)} missing (make guests)")
    else:
        log(f"bench: memory with {img}: {MEM_REPS} run(s) per VMM")
        for rep in range(MEM_REPS):
            for vmm in vmms:
                if vmm.skip or vmm.name in beyond.problem:
                    continue
                r = run_guest(vmm.argv(kernel(img)), stop_at="ready",
                              on_line=sample_memory, settle=0.3)
                if r.sample is None:
                    run_ok(beyond, vmm, r, need_lines=("ready",))
                    if vmm.name not in beyond.problem:
                        problem(beyond, vmm, "FAIL", "no 'ready' line")
                    total.problem[vmm.name] = beyond.problem[vmm.name]
                    continue
                s = r.sample
                ram = s["ram"][0] if s["ram"] else RAM_KIB
                beyond.samples[vmm.name].append((s["VmRSS"] - ram) / 1024)
                total.samples[vmm.name].append(s["VmRSS"] / 1024)
                pages = [t for _, t in r.lines if t.startswith("mem-touch: pages")]
                details[vmm.name] = (s, pages[0] if pages else "")
    img = "bench-pio.elf"
    if not os.path.exists(guest(img)):
        skip_figure(small, f"{guest(img)} missing (make guests)")
    else:
        log(f"bench: memory with a small guest ({img} in its loop): 1 run per VMM")
        for vmm in vmms:
            if vmm.skip:
                continue
            r = run_guest(vmm.argv(kernel(img, f"iters={SMALL_GUEST_ITERS} port={PIO_PORT}")),
                          stop_at="start", on_line=sample_memory, settle=0.5)
            if r.sample is None:
                run_ok(small, vmm, r, need_lines=("start",))
                if vmm.name not in small.problem:
                    problem(small, vmm, "FAIL", "no 'start' line")
                continue
            small.samples[vmm.name].append(r.sample["VmRSS"] / 1024)
            details.setdefault(vmm.name + " small", (r.sample, ""))
    return details


# ---------------------------------------------------------------------------
# Disk figures: qvm-img against qemu-img (no guest, no KVM)

QVM_IMG = env_cmd("QVM_IMG", os.path.join(ROOT, "build", "qvm-img"))
QEMU_IMG = env_cmd("QEMU_IMG", "qemu-img")
DISK_REPS = env_num("DISK_REPS", 3)
DISK_SIZE_MIB = env_num("DISK_SIZE_MIB", 1024)
# deflate costs ~20 s per GiB of data here: -c converts a smaller disk
DISK_C_SIZE_MIB = env_num("DISK_C_SIZE_MIB", 256)
DISK_COUNT = env_num("DISK_COUNT", 20000)
DISK_DIR = os.environ.get("DISK_DIR", "").strip() or os.path.join(ROOT, "build")
DISK_TIMEOUT = env_num("DISK_TIMEOUT", 120.0, float)


class Tool:
    def __init__(self, name, cmd):
        self.name = name
        self.cmd = cmd
        self.skip = None


def run_tool(fig, tool, args):
    """Run one tool command; its wall time in s, or None (FAIL/SKIP set)."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(tool.cmd + args, capture_output=True, text=True,
                           timeout=DISK_TIMEOUT, cwd=ROOT)
    except subprocess.TimeoutExpired:
        problem(fig, tool, "FAIL", f"timed out after {DISK_TIMEOUT:g} s")
        return None, ""
    except OSError as e:
        problem(fig, tool, "FAIL", f"cannot run {tool.cmd[0]}: {e.strerror}")
        return None, ""
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        err = (p.stderr.strip().splitlines() or ["?"])[0][:160]
        problem(fig, tool, "FAIL", f"exit status {p.returncode}: {err}")
        return None, p.stdout
    return dt, p.stdout


def odirect_works(d):
    path = os.path.join(d, ".odirect-probe")
    try:
        fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_DIRECT, 0o600)
    except OSError:
        return False
    try:
        import mmap
        buf = mmap.mmap(-1, 4096)
        os.write(fd, buf)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
        os.unlink(path)


def make_half_random(path, size):
    """A raw disk: alternating 1 MiB runs of random data and holes (50%)."""
    with open(path, "wb") as f:
        f.truncate(size)
        mib = 1 << 20
        for off in range(0, size, 2 * mib):
            f.seek(off)
            f.write(os.urandom(min(mib, size - off)))


def disk_bench_figure(tools, label, img, fmt, write, cache):
    fig = Figure(f"img bench {label}", "IOPS", "{:.0f}", higher=True)
    figures.append(fig)
    step = max(4096, (DISK_SIZE_MIB << 20) // DISK_COUNT // 4096 * 4096)
    args = ["bench", "-f", fmt, "-c", str(DISK_COUNT), "-d", "64", "-s", "4096",
            "-S", str(step), "-t", cache] + (["-w"] if write else []) + [img]
    log(f"bench: {fig.label}: {DISK_REPS} x {DISK_COUNT} requests per tool")
    for rep in range(DISK_REPS):
        for t in (tools if rep % 2 == 0 else tools[::-1]):
            if t.skip or t.name in fig.problem:
                continue
            _, out = run_tool(fig, t, args)
            m = re.search(r"Run completed in ([0-9.]+) seconds", out)
            if t.name in fig.problem:
                continue
            if not m or float(m.group(1)) <= 0:
                problem(fig, t, "FAIL", "no 'Run completed in X seconds' line")
                continue
            fig.samples[t.name].append(DISK_COUNT / float(m.group(1)))
    return step


def disk_convert_figure(tools, label, args_for):
    fig = Figure(f"img convert {label}", "s", "{:.2f}")
    figures.append(fig)
    log(f"bench: {fig.label}: {DISK_REPS} runs per tool")
    for rep in range(DISK_REPS):
        for t in (tools if rep % 2 == 0 else tools[::-1]):
            if t.skip or t.name in fig.problem:
                continue
            args, out_path = args_for(t.name)
            dt, _ = run_tool(fig, t, args)
            if dt is not None:
                fig.samples[t.name].append(dt)
            if os.path.exists(out_path):
                os.unlink(out_path)


def fig_disk(tools):
    """qvm-img vs qemu-img: bench IOPS and convert times on the same images.
    Returns the lines describing the set-up, for the header."""
    if not shutil.which(QEMU_IMG[0]):
        for t in tools:
            if t.name == "qemu":
                t.skip = f"{QEMU_IMG[0]} not found (apt-get install qemu-utils)"
    qvm_img = QVM_IMG[0]
    if not (os.access(qvm_img, os.X_OK) or shutil.which(qvm_img)):
        tools[0].skip = f"{qvm_img} not found (make builds build/qvm-img)"
    d = tempfile.mkdtemp(prefix="qvm-disk-bench.", dir=DISK_DIR)
    size = DISK_SIZE_MIB << 20
    notes = []
    try:
        cache = "none" if odirect_works(d) else "writeback"
        qcow = os.path.join(d, "bench.qcow2")
        raw = os.path.join(d, "bench.raw")
        src = os.path.join(d, "half-random.raw")
        csrc = os.path.join(d, "half-random-c.raw")
        if shutil.which(QEMU_IMG[0]):
            subprocess.run(QEMU_IMG + ["create", "-q", "-f", "qcow2", "-o",
                                       "preallocation=metadata", qcow, str(size)],
                           check=True)
            subprocess.run(QEMU_IMG + ["create", "-q", "-f", "raw", "-o",
                                       "preallocation=full", raw, str(size)],
                           check=True)
        else:
            for p in (qcow, raw):
                open(p, "wb").close()
        log(f"bench: writing {DISK_SIZE_MIB} MiB of half-random data")
        make_half_random(src, size)
        make_half_random(csrc, DISK_C_SIZE_MIB << 20)
        for label, img, fmt, write in (
                ("qcow2 4k read", qcow, "qcow2", False),
                ("qcow2 4k write", qcow, "qcow2", True),
                ("raw 4k read", raw, "raw", False),
                ("raw 4k write", raw, "raw", True)):
            step = disk_bench_figure(tools, label, img, fmt, write, cache)
        notes.append(f"img bench: bench -f qcow2|raw -c {DISK_COUNT} -d 64 -s 4096 "
                     f"-S {step} -t {cache} [-w] IMAGE; {DISK_SIZE_MIB} MiB qcow2 "
                     "preallocation=metadata, raw preallocation=full")

        def out_of(who, ext):
            return os.path.join(d, f"out-{who}.{ext}")
        qsrc = os.path.join(d, "half-random.qcow2")
        if shutil.which(QEMU_IMG[0]):
            subprocess.run(QEMU_IMG + ["convert", "-O", "qcow2", src, qsrc], check=True)
        disk_convert_figure(tools, "raw->qcow2", lambda who: (
            ["convert", "-t", "unsafe", "-f", "raw", "-O", "qcow2", src,
             out_of(who, "qcow2")], out_of(who, "qcow2")))
        disk_convert_figure(tools, "qcow2->raw", lambda who: (
            ["convert", "-t", "unsafe", "-f", "qcow2", "-O", "raw", qsrc,
             out_of(who, "raw")], out_of(who, "raw")))
        disk_convert_figure(tools, f"raw->qcow2 -c ({DISK_C_SIZE_MIB} MiB)",
                            lambda who: (
            ["convert", "-c", "-t", "unsafe", "-f", "raw", "-O", "qcow2", csrc,
             out_of(who, "qcow2")], out_of(who, "qcow2")))
        notes.append(f"img convert: convert -t unsafe [-c] -f F -O F' SRC DST, SRC "
                     f"{DISK_SIZE_MIB} MiB ({DISK_C_SIZE_MIB} MiB for -c), half random "
                     "data in 1 MiB runs, half holes")
        notes.append(f"disk images in {d} (removed); cache {cache}"
                     + ("" if cache == "none" else " (O_DIRECT refused here)"))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    for t in tools:
        if t.skip:
            for f in figures:
                if f.label.startswith("img "):
                    f.problem.setdefault(t.name, ("SKIP" if t.name == "qemu" else "FAIL",
                                                  t.skip))
    return notes


def disk_main():
    """bench/run disk: only the disk figures (no guest, no KVM needed)."""
    start = time.perf_counter()
    print("qvm benchmarks, disk figures: qvm-img vs qemu-img, side by side, "
          + time.strftime("%Y-%m-%d %H:%M:%S"))
    model = host_facts()[0]
    print(f"host:   {model}, {os.cpu_count()} CPUs; kernel {platform.system()} "
          f"{platform.release()}")
    print(f"qvm:    {' '.join(QVM_IMG)}")
    print(f"qemu:   {' '.join(QEMU_IMG)} ({version_of(QEMU_IMG)})")
    print(f"{DISK_REPS} runs per figure, median reported")
    sys.stdout.flush()
    notes = fig_disk([Tool("qvm", QVM_IMG), Tool("qemu", QEMU_IMG)])
    for n in notes:
        print(n)
    print_table()
    print_details({})
    print_problems()
    print(f"\nbench: done in {time.perf_counter() - start:.0f} s")
    return 1 if failed else 0


# ---------------------------------------------------------------------------
# Output

def fmt_val(fig, who):
    v = fig.value(who)
    if v is None:
        kind = fig.problem.get(who, ("n/a",))[0]
        return kind
    return fig.fmt.format(v)


def print_table():
    w = max(len(f"{f.label} ({f.unit})") for f in figures) + 2
    print()
    print(f"{'figure':<{w}}{'qvm':>10}{'qemu':>10}{'qvm/qemu':>10}")
    for f in figures:
        a, b = f.value("qvm"), f.value("qemu")
        ratio, tail = "-", ""
        if a is not None and b:
            r = a / b
            ratio = f"{r:.2f}" if r >= 0.095 else f"{r:.2g}"
            c = 1 / r if f.higher else r    # below 1: qvm is better
            if 0.95 <= c <= 1.05:
                how = "about equal"
            elif c < 1:
                how = f"qvm {1 / c:.{1 if c > 0.1 else 0}f}x {f.better}"
            else:
                how = f"QEMU {c:.{1 if c < 10 else 0}f}x {f.better}"
            tail = f"  {'higher' if f.higher else 'lower'} is better: {how}"
        print(f"{f.label + ' (' + f.unit + ')':<{w}}{fmt_val(f, 'qvm'):>10}"
              f"{fmt_val(f, 'qemu'):>10}{ratio:>10}{tail}")
    print("Every ratio is qvm/QEMU; below 1 means qvm is faster or smaller "
          "(for IOPS and MB/s, above 1 means qvm is faster), "
          "above 1 means QEMU is.")


def print_details(mem_details):
    if not any(f.samples[w] for f in figures for w in f.samples):
        return
    print()
    print("samples (median is reported; min..max shows the spread):")
    for f in figures:
        for who in ("qvm", "qemu"):
            s = f.samples[who]
            if not s or who in f.problem:
                continue
            vals = " ".join(f.fmt.format(x) for x in s)
            print(f"  {f.label} [{who}]: n={len(s)} "
                  f"min {f.fmt.format(min(s))} max {f.fmt.format(max(s))}"
                  + (f": {vals}" if VERBOSE or len(s) <= 7 else ""))
    for who, (s, pages) in sorted(mem_details.items()):
        ram = (f"guest-RAM mapping {s['ram'][1]} {s['ram'][0] / 1024:.1f}"
               if s["ram"] else "guest-RAM mapping not found, -m size used")
        extra = (f"; VmRSS - {RAM} = {(s['VmRSS'] - RAM_KIB) / 1024:.1f} MiB"
                 f"; {pages}" if pages else "")
        print(f"  memory [{who}]: VmRSS {s['VmRSS'] / 1024:.1f} MiB "
              f"(RssAnon {s.get('RssAnon', 0) / 1024:.1f}, "
              f"RssFile {s.get('RssFile', 0) / 1024:.1f}, "
              f"RssShmem {s.get('RssShmem', 0) / 1024:.1f}); {ram} MiB"
              f"{extra}")


def print_problems():
    lines = []
    for f in figures:
        reasons = {}
        for who in ("qvm", "qemu"):
            if who in f.problem and f.problem[who][1] != "see below":
                kind, why = f.problem[who]
                reasons.setdefault((kind, why), []).append(who)
        for (kind, why), whos in reasons.items():
            who = "both" if len(whos) == 2 else whos[0]
            lines.append(f"{kind}: {f.label.strip()} [{who}]: {why}")
    if lines:
        print()
    for l in lines:
        print(l)


def tcg_extra(which):
    """The Debian, x86-64-v3, kqemu and callgrind figures (bench/debian.py,
    bench/v3.py, bench/kqemu.py, bench/callgrind.py), both VMMs with
    -accel tcg (kqemu: qvm with -accel kqemu); which: a tuple of those
    names.  Returns (header lines, detail lines)."""
    import callgrind
    import debian
    import kqemu
    import v3
    me = sys.modules[__name__]
    header, details = [], []
    if "callgrind" in which:
        header += callgrind.add_figure(me, [VMM("qvm", QVM, QVM_ARGS),
                                            VMM("qemu", QEMU, QEMU_ARGS)])
    if "debian" in which:
        h, d = debian.add_figures(me, [VMM("qvm", QVM, QVM_ARGS),
                                       VMM("qemu", QEMU, QEMU_ARGS)])
        header += h
        details += d
    if "v3" in which:
        h, d = v3.add_figures(me, [VMM("qvm", QVM, QVM_ARGS),
                                   VMM("qemu", QEMU, QEMU_ARGS)])
        header += h
        details += d
    if "kqemu" in which:
        h, d = kqemu.add_figures(me, [VMM("qvm", QVM, QVM_ARGS),
                                      VMM("qemu", QEMU, QEMU_ARGS)])
        header += h
        details += d
    return header, details


def tcg_extra_main(which):
    """bench/run debian|v3|callgrind|kqemu: only those figures (-accel tcg
    and kqemu, no KVM); "debian" includes the x86-64-v3 figures (the same
    Debian guest)."""
    start = time.perf_counter()
    for name, cmd in (("QEMU", QEMU), ("qvm", QVM)):
        if not shutil.which(cmd[0]):
            print(f"bench: {name} ({cmd[0]}) not found: build qvm with make, "
                  "install QEMU with scripts/install-deps --bench",
                  file=sys.stderr)
            return 2
    mine = {"kqemu": "kqemu",
            "debian": os.environ.get("DEBIAN_QVM_ACCEL", "").strip()}.get(which) or "tcg"
    engines = "-accel tcg" if mine == "tcg" else f"qvm -accel {mine}, QEMU -accel tcg"
    print(f"qvm benchmarks, {which} figures: qvm vs QEMU with {engines}, "
          "side by side, " + time.strftime("%Y-%m-%d %H:%M:%S"))
    model = host_facts()[0]
    print(f"host:   {model}, {os.cpu_count()} CPUs; kernel {platform.system()} "
          f"{platform.release()}")
    print(f"qvm:    {' '.join(QVM + QVM_ARGS)}")
    print(f"qemu:   {' '.join(QEMU + QEMU_ARGS)} ({version_of(QEMU)})")
    sys.stdout.flush()
    header, details = tcg_extra(("debian", "v3") if which == "debian" else (which,))
    for n in header:
        print(n)
    print_table()
    print_details({})
    for d in details:
        print(d)
    print_problems()
    print(f"\nbench: done in {time.perf_counter() - start:.0f} s")
    return 1 if failed else 0


def main():
    if sys.argv[1:] == ["disk"] or os.environ.get("BENCH", "") == "disk":
        return disk_main()
    only = sys.argv[1:] or os.environ.get("BENCH", "").split()
    if only in (["debian"], ["v3"], ["callgrind"], ["kqemu"]):
        return tcg_extra_main(only[0])
    if only == ["net"]:
        import net
        return net.main()
    if only == ["ide"]:
        import ide
        return ide.main()
    if only == ["firmware"]:
        import firmware
        return firmware.main()
    if only == ["nested"]:
        import nested
        return nested.main(sys.modules[__name__])
    if sys.argv[1:]:
        print("usage: bench/run [disk|debian|v3|callgrind|kqemu|net|ide|firmware|nested]",
              file=sys.stderr)
        return 2
    start = time.perf_counter()
    model, virt, mods, hyper = host_facts()
    qemu_path = shutil.which(QEMU[0])
    if not qemu_path:
        print(f"bench: QEMU ({QEMU[0]}) not found: it is the peer every figure "
              "is compared with.  Install it with scripts/install-deps "
              "(as root), or point QEMU= at a qemu-system-x86_64.",
              file=sys.stderr)
        return 2
    qvm_path = shutil.which(QVM[0]) if os.sep not in QVM[0] else (
        QVM[0] if os.access(QVM[0], os.X_OK) else None)
    if not qvm_path:
        print(f"bench: qvm ({QVM[0]}) not found or not executable: build it "
              "with make (or set QVM=)", file=sys.stderr)
        return 2
    if not os.path.isdir(GUESTS):
        print(f"bench: no guest images in {GUESTS}: build them with "
              "make guests (or set GUESTS=)", file=sys.stderr)
        return 2

    print("qvm benchmarks: qvm vs QEMU, side by side, "
          + time.strftime("%Y-%m-%d %H:%M:%S"))
    print(f"host:   {model}, {os.cpu_count()} CPUs; "
          f"hardware virtualization: {'/'.join(virt) or 'none (no vmx/svm flag)'}"
          f"{' (running under a hypervisor)' if hyper else ''}")
    print(f"        kernel {platform.system()} {platform.release()}; "
          f"KVM modules: {', '.join(mods) or 'none found'}")
    print(f"qvm:    {' '.join(QVM + QVM_ARGS)}")
    print(f"qemu:   {' '.join(QEMU + QEMU_ARGS)} ({version_of(QEMU)})")
    print(f"guests: {GUESTS}; {REPS} runs per timing figure, median reported; "
          f"{PIO_ITERS} exits per pio run (port {PIO_PORT})")
    print(f"common options: {' '.join(COMMON)} -kernel G.elf | -bios G.bin")
    shown = [os.path.relpath(a, ROOT) if a.startswith(ROOT + os.sep) else a
             for a in linux_options()]
    print(f"Linux figures:  {' '.join(shlex.quote(a) for a in shown)}; "
          f"{LINUX_REPS} boots per VMM")
    if not virt and os.path.exists("/dev/kvm"):
        backend = "kvm_pvm" if "kvm_pvm" in mods else "a software backend"
        print(f"NOTE: this CPU has no VT-x/AMD-V, so /dev/kvm is {backend}: "
              "every figure measures that software backend (costly exits, "
              "CPL0/real-mode guest code emulated), not hardware KVM.  "
              "Ratios still compare the two VMMs on the same backend.")
    sys.stdout.flush()

    vmms = [VMM("qvm", QVM, QVM_ARGS), VMM("qemu", QEMU, QEMU_ARGS)]
    kvm_skip = kvm_usable()
    if kvm_skip:
        for v in vmms:
            v.skip = kvm_skip
    else:
        # probe each VMM once (also warms the page cache before timing)
        probe_img = "empty.bin" if os.path.exists(guest("empty.bin")) else (
            "empty.elf" if os.path.exists(guest("empty.elf")) else None)
        if probe_img:
            boot = (["-bios", guest(probe_img)] if probe_img.endswith(".bin")
                    else kernel(probe_img))
            for v in vmms:
                r = run_guest(v.argv(boot))
                if r.rc != EXIT_OK or r.first_byte != b"S":
                    v.skip = f"probe with {probe_img} failed: {r.why()}"

    fig_pio(vmms)
    fig_startup(vmms, "-kernel", "empty.elf", kernel("empty.elf"))
    fig_startup(vmms, "-bios", "empty.bin", ["-bios", guest("empty.bin")])
    mem_details = fig_memory(vmms)
    fig_tcg([VMM("qvm", QVM, QVM_ARGS), VMM("qemu", QEMU, QEMU_ARGS)])
    fig_tcg([VMM("qvm", QVM, QVM_ARGS), VMM("qemu", QEMU, QEMU_ARGS)], "rot")
    cg_notes, _ = tcg_extra(("callgrind",))
    fig_linux([VMM("qvm", QVM, QVM_ARGS), VMM("qemu", QEMU, QEMU_ARGS)])
    fig_linux_syscall([VMM("qvm", QVM, QVM_ARGS), VMM("qemu", QEMU, QEMU_ARGS)])
    debian_notes, debian_details = tcg_extra(("debian", "v3", "kqemu"))
    disk_notes = fig_disk([Tool("qvm", QVM_IMG), Tool("qemu", QEMU_IMG)])

    global failed
    whole = []
    for v in vmms:
        if v.skip:
            kind = "SKIP" if (kvm_skip or v.name == "qemu") else "FAIL"
            failed = failed or kind == "FAIL"
            for f in figures:
                if not f.label.startswith(("tcg:", "img ", "kqemu:")):
                    f.problem[v.name] = (kind, "see below")
            whole.append((kind, v.name, v.skip))
    if len(whole) == 2 and whole[0][::2] == whole[1][::2]:
        whole = [(whole[0][0], "both", whole[0][2])]

    for n in cg_notes + debian_notes + disk_notes:
        print(n)
    print_table()
    print_details(mem_details)
    for d in debian_details:
        print(d)
    print_problems()
    for kind, who, why in whole:
        print(f"{kind}: every figure [{who}]: {why}")
    import net
    print()
    sys.stdout.flush()
    failed = net.main() != 0 or failed
    import ide
    print()
    sys.stdout.flush()
    failed = ide.main() != 0 or failed
    import firmware
    print()
    sys.stdout.flush()
    failed = firmware.main() != 0 or failed
    print(f"\nbench: done in {time.perf_counter() - start:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
