"""The callgrind figure of bench/: host instructions per guest instruction
for bench-cpu's loop under -accel tcg, counted by valgrind's callgrind,
which counts the same on a busy host as on an idle one (wall time does not).

Imported by qvmbench.py, which passes itself in.  See bench/README.md,
"tcg: host instructions per guest instruction".
"""

import os
import re
import shutil
import subprocess
import tempfile

COLLECTED = re.compile(r"^==\d+== Collected : (\d+)\s*$", re.M)


def count(qb, vmm, argv, tmp, timeout):
    """Run argv under callgrind; (instructions, None) or (None, why)."""
    out = os.path.join(tmp, f"callgrind.{vmm.name}.out")
    cmd = (["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
           + argv)
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, errors="replace", timeout=timeout, cwd=qb.ROOT)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:g} s under callgrind"
    except OSError as e:
        return None, f"cannot run valgrind: {e.strerror}"
    finally:
        if os.path.exists(out):
            os.unlink(out)
    m = COLLECTED.search(p.stderr)
    if p.returncode != qb.EXIT_OK or "done" not in p.stdout.splitlines() or not m:
        err = [l for l in p.stderr.splitlines()
               if l.strip() and not l.startswith("==")]
        return None, (f"exit status {p.returncode} under callgrind"
                      + (f": {err[0][:160]}" if err else "")
                      + ("" if m else "; no 'Collected' line from callgrind"))
    return int(m.group(1)), None


def add_figure(qb, vmms):
    """Returns the lines for the header."""
    fig = qb.Figure("tcg: host insns per guest insn (callgrind)", "insn",
                    "{:.1f}")
    qb.figures.append(fig)
    img = "bench-cpu.elf"
    # per VMM: QEMU's start-up (SeaBIOS) varies by some 50M instructions
    # from run to run, so its loop must be long enough to drown that; qvm's
    # start-up counts the same to a few thousand, and its interpreter is
    # ten times as slow under callgrind
    iters = {"qvm": qb.env_num("CG_QVM_ITERS", 2000000),
             "qemu": qb.env_num("CG_QEMU_ITERS", 20000000)}
    reps = qb.env_num("CG_REPS", 3)
    timeout = qb.env_num("CG_TIMEOUT", 600.0, float)
    if not shutil.which("valgrind"):
        qb.skip_figure(fig, "valgrind not found (scripts/install-deps "
                       "installs it)")
        return []
    if not os.path.exists(qb.guest(img)):
        qb.skip_figure(fig, f"{qb.guest(img)} missing (make guests)")
        return []
    if min(iters.values()) < 10:
        qb.skip_figure(fig, "CG_QVM_ITERS and CG_QEMU_ITERS must be at least 10")
        return []
    qb.log(f"bench: callgrind: bench-cpu with iters=N/10 and iters=N under "
           f"callgrind (N={iters['qvm']} for qvm, {iters['qemu']} for QEMU); "
           f"about {reps * 40} s")
    common = ["tcg" if a == "kvm" else a for a in qb.COMMON]
    tmp = tempfile.mkdtemp(prefix="qvm-callgrind.")
    try:
        for rep in range(reps):
            for vmm in (vmms if rep % 2 == 0 else vmms[::-1]):
                if vmm.name not in fig.problem:
                    one_pair(qb, fig, vmm, common, img, iters[vmm.name], tmp,
                             timeout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ["callgrind figure: valgrind --tool=callgrind, bench-cpu.elf with "
            "iters=N/10 and iters=N, the same options as the tcg loop; host "
            "instructions of the difference / guest instructions of the "
            f"difference; N={iters['qvm']} for qvm, {iters['qemu']} for QEMU; "
            f"{reps} pair(s) per VMM, median reported"]


def one_pair(qb, fig, vmm, common, img, hi, tmp, timeout):
    lo = hi // 10
    got = {}
    for n_iters in (lo, hi):
        argv = (vmm.cmd + vmm.extra + common
                + qb.kernel(img, f"iters={n_iters}"))
        n, why = count(qb, vmm, argv, tmp, timeout)
        if why:
            qb.problem(fig, vmm, "SKIP" if vmm.name == "qemu" else "FAIL", why)
            return
        got[n_iters] = n
    guest_insns = (hi - lo) * qb.TCG_INSNS_PER_ITER
    fig.samples[vmm.name].append((got[hi] - got[lo]) / guest_insns)
