"""The nested KVM figures of bench/ (`bench/run nested`): qvm -accel kvm
against qemu-system-x86_64 -accel kvm on a real KVM, inside the nested
test host of tests/nested/ (Debian's kernel under qemu-system-x86_64
-accel tcg -cpu max, which emulates AMD SVM with nested paging; its own
kvm.ko and kvm-amd.ko give it /dev/kvm).

tests/nested/run-kvm-check with NESTED_BENCH=1 builds that host's initrd
with qvm, QEMU (its libraries and firmware), the guests and the timer
bench/nest-time.c, and boots it; inside, bench/nested-inner runs both VMMs
on the same guests with bench/qvmbench.py's options and prints one line
per run.  This module turns those lines into figures (medians of the
runs, ratios qvm/QEMU) with qvmbench's table:

  pio exit round trip     us/exit  bench-pio.elf: (t(done) - t(start)) / iters
  start-up -kernel/-bios  ms       empty.elf / empty.bin: first byte 'S',
                                   process exit
  Linux boot              s        the default Linux guest (-smp 2 -m 512M):
                                   its init's banner, process exit after
                                   its power-off

Every time is measured by the nested kernel's clock, whose every
instruction the outer QEMU emulates: the figures are far slower than on
a host with AMD-V, and the ratios say how the two VMMs compare on this
KVM, not what they would be on hardware (bench/README.md).

NESTED_DRY=1 is a dry run of the harness on this host: bench/nested-inner
runs here with -accel tcg for both VMMs (no nested host, no KVM), through
the same parsing and table; tests/bench/run uses it as a smoke check.

Env: NESTED_REPS (3), NESTED_PIO_ITERS (5000), NESTED_LINUX_REPS (2),
NESTED_FIGS ("pio kernel bios linux"), NESTED_RUN_TIMEOUT (120 s per
bare-metal run inside), and those of run-kvm-check (QVM, GUESTS,
LINUX_GUEST_DIR, QEMU, NESTED_SMP, NESTED_MEM, NESTED_TIMEOUT, KEEP,
VERBOSE).  Never asserts on a time.
"""

import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINE = re.compile(r"^nested: bench: (pio|kernel|bios|linux) (qvm|qemu) (.*)$")
SKIP = re.compile(r"^nested: bench: skip (qvm|qemu): (.*)$")


def env_words(name, default):
    return (os.environ.get(name, "").strip() or default).split()


def fields(text):
    """'rc=1 byte=53 first=0.1 m0=- exit=0.2' -> dict; '-' -> None."""
    out = {}
    for w in text.split():
        k, _, v = w.partition("=")
        out[k] = None if v == "-" else v
    return out


def secs(d, key):
    v = d.get(key)
    try:
        return float(v) if v is not None else None
    except ValueError:
        return None


class Nested:
    """The figures and what the lines of one nested run put into them."""

    def __init__(self, qb, pio_iters):
        self.qb = qb
        self.pio_iters = pio_iters
        F = qb.Figure
        self.fig = {
            "pio": [F("nested kvm: pio exit round trip", "us/exit", "{:.1f}")],
            "kernel": [F("nested kvm: start-up -kernel: first guest insn", "ms", "{:.0f}"),
                       F("nested kvm: start-up -kernel: process exit", "ms", "{:.0f}")],
            "bios": [F("nested kvm: start-up -bios: first guest insn", "ms", "{:.0f}"),
                     F("nested kvm: start-up -bios: process exit", "ms", "{:.0f}")],
            "linux": [F("nested kvm: Linux boot to the init banner", "s", "{:.2f}"),
                      F("nested kvm: Linux boot to power-off (exit)", "s", "{:.2f}")],
        }
        self.last = None        # (figures, vmm) of the last run that went wrong

    def all_figures(self):
        return [f for figs in self.fig.values() for f in figs]

    def bad(self, figs, vmm, why):
        """A run that went wrong: the figures' first reason for this VMM;
        the output lines that follow are added to it (tail_line)."""
        kind = "FAIL" if vmm == "qvm" else "SKIP"
        first = vmm not in figs[0].problem
        for f in figs:
            self.qb.problem(f, self.qb.VMM(vmm, [], []), kind, why)
        self.last = (figs, vmm) if first else None

    def run_line(self, what, vmm, text):
        """One run's line from bench/nested-inner."""
        figs = self.fig[what]
        d = fields(text)
        self.last = None
        rc, want = d.get("rc"), "0" if what == "linux" else "1"
        if d.get("timeout"):
            return self.bad(figs, vmm, f"timed out inside after {secs(d, 'exit'):.0f} s")
        if rc != want:
            return self.bad(figs, vmm, f"exit status {rc} (expected {want})")
        if what == "pio":
            t0, t1 = secs(d, "m0"), secs(d, "m1")
            if t0 is None or t1 is None:
                return self.bad(figs, vmm, "no 'start' and 'done' lines")
            if t1 - t0 < 1e-3:
                return self.bad(figs, vmm, f"'start' and 'done' {1e6 * (t1 - t0):.0f} us "
                                "apart: is the VMM's serial output buffered?")
            figs[0].samples[vmm].append((t1 - t0) / self.pio_iters * 1e6)
        elif what in ("kernel", "bios"):
            if d.get("byte") != "53":
                return self.bad(figs, vmm, f"first output byte {d.get('byte')}, expected 53 ('S')")
            figs[0].samples[vmm].append(secs(d, "first") * 1e3)
            figs[1].samples[vmm].append(secs(d, "exit") * 1e3)
        else:
            banner, down = secs(d, "m0"), secs(d, "m1")
            if banner is None:
                return self.bad(figs, vmm, "exit status 0 but no 'qvm-guest: init started' line")
            if down is None:
                return self.bad(figs, vmm, "exit status 0 but no 'reboot: Power down'")
            figs[0].samples[vmm].append(banner)
            figs[1].samples[vmm].append(secs(d, "exit"))

    def tail_line(self, line):
        """An indented line of a run's output: added to that run's reason."""
        if self.last is None:
            return
        figs, vmm = self.last
        kind, why = figs[0].problem.get(vmm, (None, None))
        if kind and line.strip("| ").strip() and len(why) < 400:
            figs[0].problem[vmm] = (kind, why + " / " + line.strip("| ").strip())
            for f in figs[1:]:
                f.problem[vmm] = figs[0].problem[vmm]


def main(qb):
    start = time.perf_counter()
    reps = qb.env_num("NESTED_REPS", 3)
    pio_iters = qb.env_num("NESTED_PIO_ITERS", 5000)
    linux_reps = qb.env_num("NESTED_LINUX_REPS", 2)
    figs = env_words("NESTED_FIGS", "pio kernel bios linux")
    run_timeout = qb.env_num("NESTED_RUN_TIMEOUT", 120)
    unknown = [f for f in figs if f not in ("pio", "kernel", "bios", "linux")]
    if unknown:
        print(f"bench: NESTED_FIGS: unknown figure {unknown[0]} (pio, kernel, bios, linux)",
              file=sys.stderr)
        return 2
    qvm = qb.QVM[0]
    if not os.access(qvm, os.X_OK):
        print(f"bench: qvm ({qvm}) not found or not executable: build it with make "
              "(or set QVM=)", file=sys.stderr)
        return 2
    if not subprocess.run(["sh", "-c", 'command -v "$1"', "sh", qb.QEMU[0]],
                          stdout=subprocess.DEVNULL).returncode == 0:
        print(f"bench: QEMU ({qb.QEMU[0]}) not found: it is both the nested host and "
              "the peer.  Install it with scripts/install-deps (as root).", file=sys.stderr)
        return 2

    print("qvm benchmarks, nested KVM figures: qvm vs QEMU, both -accel kvm, inside the "
          "nested test host of tests/nested, " + time.strftime("%Y-%m-%d %H:%M:%S"))
    model = qb.host_facts()[0]
    print(f"host:   {model}, {os.cpu_count()} CPUs; kernel {platform.system()} "
          f"{platform.release()}")
    print(f"nested host: {qb.QEMU[0]} -accel tcg -cpu max -smp "
          f"{os.environ.get('NESTED_SMP', '2')} -m {os.environ.get('NESTED_MEM', '2G')} "
          f"({qb.version_of(qb.QEMU)}), Debian's kernel of the default Linux guest with "
          "its kvm.ko and kvm-amd.ko")
    print(f"qvm:    {qvm} (as /kvmcheck/qvm inside); qemu: the same {qb.QEMU[0]} "
          "(at the same path inside)")
    print(f"common options: {' '.join(qb.COMMON)} -kernel G.elf | -bios G.bin; "
          f"{reps} runs per VMM, {pio_iters} exits per pio run (port 0x520)")
    print("Linux figures:  -accel kvm -m 512M -smp 2 -display none -serial stdio "
          "-no-reboot -kernel vmlinuz -initrd initramfs.cpio.gz -append 'console=ttyS0 "
          f"panic=-1 qvm.run=Ogo='; {linux_reps} boots per VMM")
    print("NOTE: the nested host's CPU is QEMU's TCG: every instruction of its kernel, "
          "of both VMMs and of the guests is emulated, and its clock times them.  "
          "The figures are hundreds of times those of a host with AMD-V; the ratios "
          "compare the two VMMs on the same (real, but emulated) KVM.")
    sys.stdout.flush()

    env = dict(os.environ, NESTED_BENCH="1", QVM=qvm, BENCH_REPS=str(reps),
               BENCH_PIO_ITERS=str(pio_iters), BENCH_LINUX_REPS=str(linux_reps),
               BENCH_FIGS=" ".join(figs), BENCH_TIMEOUT=str(run_timeout))
    env.setdefault("GUESTS", qb.GUESTS)
    env.setdefault("LINUX_GUEST_DIR", qb.LINUX_DIR)
    nest = Nested(qb, pio_iters)
    for f in figs:
        qb.figures.extend(nest.fig[f])
    dry = os.environ.get("NESTED_DRY", "") not in ("", "0")
    if dry:
        print("DRY RUN (NESTED_DRY): bench/nested-inner on this host, both VMMs with "
              "-accel tcg instead of kvm; a check of the harness, not a figure of KVM")
    info, trouble, state = [], [], {}
    tmp = tempfile.mkdtemp(prefix="qvm-nested-bench-")
    try:
        if dry:
            cmd = dry_tree(qb, tmp, env)
        else:
            cmd = [os.path.join(ROOT, "tests", "nested", "run-kvm-check")]
            qb.log("bench: nested: building the initrd and booting the nested host "
                   "(several minutes)")
        rc = read_lines(qb, nest, cmd, env, info, trouble, state)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ended, skipped = state.get("ended"), state.get("skipped")

    for i in info:
        print(f"inside: {i}")
    if skipped:
        for f in nest.all_figures():
            qb.skip_figure(f, skipped)
    elif not ended:
        why = next((t[len("FAIL: "):] for t in trouble if t.startswith("FAIL: ")),
                   f"run-kvm-check exited {rc} before the benchmark ended"
                   + (f" (its last line: {state['other'][:200]})" if "other" in state else ""))
        for f in nest.all_figures():
            for who in ("qvm", "qemu"):
                if not f.samples[who]:
                    f.problem.setdefault(who, ("FAIL", "nested host: " + why[:300]))
        qb.failed = True
    qb.print_table()
    qb.print_details({})
    qb.print_problems()
    print(f"\nbench: done in {time.perf_counter() - start:.0f} s")
    return 1 if qb.failed else 0


def read_lines(qb, nest, cmd, env, info, trouble, state):
    """Run cmd (run-kvm-check, or nested-inner in a dry run) and put the
    lines it prints into the figures; returns its exit status."""
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, cwd=ROOT, env=env, text=True)
    for line in p.stdout:
        line = line.rstrip("\n")
        m = LINE.match(line)
        s = SKIP.match(line)
        if m:
            qb.log(line)
            nest.run_line(*m.groups())
        elif s:
            qb.log(line)
            for f in nest.all_figures():
                qb.problem(f, qb.VMM(s.group(1), [], []),
                           "FAIL" if s.group(1) == "qvm" else "SKIP", s.group(2))
        elif line.startswith("    "):
            nest.tail_line(line)
            trouble.append(line)
        elif line.startswith("nested: bench: info "):
            info.append(line[len("nested: bench: info "):])
        elif line == "nested: bench: end":
            state["ended"] = True
        elif line.startswith("SKIP: nested"):
            state["skipped"] = line.split(": ", 2)[-1]
        elif line.startswith("FAIL: "):
            trouble.append(line)
            qb.log(line)
        elif line.startswith("nested: "):
            qb.log(line)
            if line.startswith(("nested: CPU:", "nested: init started", "nested: total")):
                info.append(line[len("nested: "):])
        elif line.strip():
            state["other"] = line   # e.g. a shell's complaint: shown if it ends early
    return p.wait()


def dry_tree(qb, tmp, env):
    """NESTED_DRY: the tree bench/nested-inner reads, made of this host's
    qvm, QEMU, guests and Linux guest, and the command that runs it with
    -accel tcg."""
    os.symlink(os.path.abspath(qb.QVM[0]), os.path.join(tmp, "qvm"))
    os.symlink(shutil.which(qb.QEMU[0]), os.path.join(tmp, "qemu-system-x86_64"))
    os.symlink(os.path.abspath(env["GUESTS"]), os.path.join(tmp, "guests"))
    os.symlink(os.path.abspath(env["LINUX_GUEST_DIR"]), os.path.join(tmp, "linux"))
    subprocess.run([os.environ.get("CC", "gcc"), "-std=gnu11", "-O2", "-o",
                    os.path.join(tmp, "nest-time"), os.path.join(ROOT, "bench", "nest-time.c")],
                   check=True)
    env.update(ROOT=tmp, BENCH_ACCEL="tcg")
    qb.log(f"bench: nested: dry run on this host with -accel tcg (NESTED_DRY), tree {tmp}")
    return ["sh", os.path.join(ROOT, "bench", "nested-inner")]
