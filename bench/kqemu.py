"""The kqemu figures of bench/: guest user code run natively by qvm's
-accel kqemu, against the same guest under QEMU's TCG (the peer: QEMU has
had no kqemu since 0.11, so on a host without VT-x/AMD-V its TCG is what a
user runs), with qvm's own TCG and the host CPU itself in the details.

Imported by qvmbench.py, which passes itself in.  See bench/README.md,
"kqemu figures".
"""

import os
import re
import subprocess

# the Linux guest's workload (busybox sh); every step between markers
SCRIPT = """echo kq-start gen
seq 1 {LINES} >/tmp/d
echo kq-done gen
echo kq-start sha
sha256sum /tmp/d
echo kq-done sha
echo kq-start gzip
gzip -1 -c /tmp/d >/tmp/d.gz
echo kq-done gzip
ls -l /tmp/d.gz | awk '{{print "kq-gzip-size " $5}}'
echo kq-start sys
dd if=/dev/zero of=/dev/null bs=1 count={SYSCALLS} 2>/dev/null
echo kq-done sys
echo kq-start spawn
i=0
while [ $i -lt {SPAWNS} ]; do /bin/true; i=$((i + 1)); done
echo kq-done spawn
"""

# (step, label, unit, value from the step's seconds and the sizes)
STEPS = [
    ("gen", "seq of {LINES} lines to a file", "s", lambda t, z: t),
    ("sha", "sha256sum of that file", "s", lambda t, z: t),
    ("gzip", "gzip -1 of it", "s", lambda t, z: t),
    ("sys", "1-byte dd, per system call", "us", lambda t, z: t / (2 * z["SYSCALLS"]) * 1e6),
    ("spawn", "fork+exec+wait of /bin/true", "ms", lambda t, z: t / z["SPAWNS"] * 1e3),
]

NATIVE = re.compile(r"^ns/round ([0-9.]+) checksum ([0-9a-f]+)$")
CHECKSUM = re.compile(r"^checksum ([0-9a-f]+) ")


def backend_ready(qb, qvm):
    """None when -accel kqemu can run here, else why not."""
    try:
        p = subprocess.run(qvm.cmd + ["-kqemu-backends"], capture_output=True,
                           text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"cannot ask qvm for its kqemu backends: {e}"
    lines = p.stdout.splitlines()
    if any(l.endswith(": available") for l in lines):
        return None
    return "no kqemu backend available here (" + "; ".join(
        l.replace("kqemu backend ", "") for l in lines) + ")"


def engines(qb, vmms):
    """(label, VMM, -accel) of the three runs: the figure's qvm is kqemu."""
    qvm, qemu = vmms
    return [("kqemu", qvm, "kqemu"), ("qvm tcg", qvm, "tcg"), ("qemu", qemu, "tcg")]


def loop_figure(qb, vmms, reps, details):
    fig = qb.Figure("kqemu: CPL3 ALU loop, time per round", "ns", "{:.2f}")
    qb.figures.append(fig)
    rounds = qb.env_num("KQ_ROUNDS", 100000000)
    native_bin = os.path.join(qb.ROOT, "build", "cpu-native")
    img = qb.guest("user.elf")
    for path, how in ((native_bin, "make"), (img, "make guests")):
        if not os.path.exists(path):
            qb.skip_figure(fig, f"{path} missing ({how})")
            return
    native, sums = [], {}
    extra = {"qvm tcg": []}
    for rep in range(reps):
        p = subprocess.run([native_bin, str(rounds)], capture_output=True, text=True)
        m = NATIVE.match(p.stdout.strip())
        if p.returncode != 0 or not m:
            qb.skip_figure(fig, f"{native_bin} failed: {p.stderr.strip()[:120]}")
            return
        native.append(float(m.group(1)))
        sums["native"] = m.group(2)
        order = engines(qb, vmms)
        for label, vmm, accel in (order if rep % 2 == 0 else order[::-1]):
            who = "qvm" if label == "kqemu" else vmm.name
            if label != "qvm tcg" and who in fig.problem:
                continue
            argv = (vmm.cmd + vmm.extra + ["-accel", accel] + qb.COMMON[2:]
                    + qb.kernel("user.elf", f"bench={rounds}"))
            r = qb.run_guest(argv)
            if label == "qvm tcg":
                if (r.error or r.timed_out or r.rc != qb.EXIT_OK
                        or r.line_time("start") is None or r.line_time("done") is None):
                    details.append(f"  kqemu CPL3 loop: qvm -accel tcg failed: {r.why()}")
                    continue
            elif not qb.run_ok(fig, qb.VMM(who, vmm.cmd, vmm.extra), r,
                               need_lines=("start", "done")):
                continue
            m = next((CHECKSUM.match(s) for _, s in r.lines if CHECKSUM.match(s)), None)
            sums[label] = m.group(1) if m else "none"
            ns = (r.line_time("done") - r.line_time("start")) / rounds * 1e9
            (extra[label] if label == "qvm tcg" else fig.samples[who]).append(ns)
    bad = [k for k, v in sums.items() if v != sums["native"]]
    for k in bad:
        qb.problem(fig, qb.VMM("qemu" if k == "qemu" else "qvm", [], []), "FAIL",
                   f"{k}: checksum {sums[k]}, native {sums['native']}")
    med = qb.statistics.median
    kq = med(fig.samples["qvm"]) if fig.samples["qvm"] else None
    line = (f"  kqemu CPL3 loop ({rounds} rounds, 12 insns each, user.elf bench=): "
            f"native {med(native):.2f} ns/round")
    if kq:
        line += f", kqemu {kq:.2f} ({med(native) / kq:.2f}x native speed; goal 0.9)"
    if extra["qvm tcg"]:
        line += f", qvm tcg {med(extra['qvm tcg']):.2f}"
    if fig.samples["qemu"]:
        line += f", QEMU tcg {med(fig.samples['qemu']):.2f}"
    details.append(line + "; checksums " + ("equal" if not bad else "DIFFER"))


def linux_figures(qb, vmms, reps, details):
    z = {"LINES": qb.env_num("KQ_LINES", 2000000),
         "SYSCALLS": qb.env_num("KQ_SYSCALLS", 20000),
         "SPAWNS": qb.env_num("KQ_SPAWNS", 100)}
    boot = qb.Figure("kqemu: Linux boot to init", "s", "{:.2f}")
    figs = {"boot": boot}
    qb.figures.append(boot)
    for key, label, unit, _ in STEPS:
        f = qb.Figure("kqemu: Linux: " + label.format(**z), unit,
                      "{:.2f}" if unit != "us" else "{:.1f}")
        figs[key] = f
        qb.figures.append(f)
    if not all(os.path.exists(os.path.join(qb.LINUX_DIR, f))
               for f in ("vmlinuz", "initramfs.cpio.gz")):
        for f in figs.values():
            qb.skip_figure(f, f"no Linux guest in {qb.LINUX_DIR} "
                           "(make guest-linux, or scripts/build-guest)")
        return
    opts = qb.linux_options(SCRIPT.format(**z).encode())
    tcg = {k: [] for k in figs}
    outputs = {}
    for rep in range(reps):
        order = engines(qb, vmms)
        for label, vmm, accel in (order if rep % 2 == 0 else order[::-1]):
            who = "qvm" if label == "kqemu" else vmm.name
            argv = vmm.cmd + vmm.extra + [accel if a == "tcg" else a for a in opts]
            r = qb.run_guest(argv, timeout=qb.LINUX_TIMEOUT)
            kind = "SKIP" if who == "qemu" else "FAIL"
            ok = not (r.error or r.timed_out or r.rc != 0)
            sink = (lambda k: tcg[k]) if label == "qvm tcg" else (lambda k: figs[k].samples[who])
            t_init = next((t for t, s in r.lines if s.startswith(qb.LINUX_BANNER)), None)
            if t_init is not None:
                sink("boot").append(t_init)
            for key, _, _, value in STEPS:
                t0, t1 = r.line_time(f"kq-start {key}"), r.line_time(f"kq-done {key}")
                if t0 is None or t1 is None:
                    if label != "qvm tcg":
                        qb.problem(figs[key], qb.VMM(who, [], []), kind,
                                   r.why() if not ok else f"no kq-done {key} line")
                    continue
                sink(key).append(value(t1 - t0, z))
            outputs[label] = [s for _, s in r.lines
                              if "/tmp/d" in s and len(s.split()[0]) == 64
                              or s.startswith("kq-gzip-size")]
    ref = outputs.get("kqemu")
    differ = [k for k, v in outputs.items() if ref is not None and v != ref]
    med = qb.statistics.median
    for key, f in figs.items():
        parts = []
        for who, s in (("kqemu", f.samples["qvm"]), ("qvm tcg", tcg[key]),
                       ("QEMU tcg", f.samples["qemu"])):
            if s:
                parts.append(f"{who} {f.fmt.format(med(s))}")
        kq, qt = f.samples["qvm"], tcg[key]
        if kq and qt:
            parts.append(f"kqemu/qvm-tcg {med(kq) / med(qt):.2f}")
        details.append(f"  {f.label} ({f.unit}): " + ", ".join(parts))
    details.append("  kqemu Linux outputs (sha256, gzip size): "
                   + ("the same under every engine" if not differ and ref
                      else f"DIFFER under {', '.join(differ)}" if differ
                      else "missing"))
    if differ:
        for k in differ:
            qb.problem(figs["sha"], qb.VMM("qemu" if k == "qemu" else "qvm", [], []),
                       "FAIL", f"{k}: sha256/gzip output differs from kqemu's")


def add_figures(qb, vmms):
    """Returns (header lines, detail lines)."""
    reps = qb.env_num("KQ_REPS", 3)
    header = ["kqemu figures: qvm -accel kqemu (the qvm column) vs QEMU -accel tcg; "
              f"qvm -accel tcg and the host CPU in the details; {reps} runs each"]
    details = []
    why = backend_ready(qb, vmms[0])
    loop_details, linux_details = [], []
    if why:
        for label in ("kqemu: CPL3 ALU loop, time per round", "kqemu: Linux workloads"):
            f = qb.Figure(label, "s", "{:.2f}")
            qb.figures.append(f)
            qb.skip_figure(f, why)
        return header, details
    qb.log(f"bench: kqemu: CPL3 loop and Linux workloads, {reps} runs per engine")
    loop_figure(qb, vmms, reps, loop_details)
    linux_figures(qb, vmms, min(reps, qb.LINUX_REPS), linux_details)
    details += ["kqemu (qvm -accel kqemu, qvm -accel tcg, QEMU -accel tcg, native):"]
    details += loop_details + linux_details
    return header, details

