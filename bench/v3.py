"""The x86-64-v3 figures of bench/ (issue 16): OpenSSL's `speed` and a
vectorised program in the Debian 12 guest (scripts/build-debian-image),
both VMMs with -accel tcg and the same -cpu model (DEBIAN_V3_CPU, default
Haswell: AVX2, FMA, BMI1/2, AES-NI and PCLMULQDQ on both TCGs; QEMU 7.2's
`-cpu max` has no SHA instructions and qvm's has, so `max` would not
compare like with like for sha256).

Imported by qvmbench.py (add_figures(qb, vmms)); see bench/README.md,
"tcg -cpu Haswell: OpenSSL and an x86-64-v3 program".
"""

import hashlib
import io
import os
import shlex
import subprocess
import tarfile
import tempfile

import debian

#                     quick  full
SIZES = {
    "V3_SECONDS":     (2,     10),     # openssl speed -seconds
    "V3_ROUNDS":      (500,   5000),   # rounds of tests/linux/x86-64-v3.c
}
BYTES = 8192                            # openssl speed -bytes: one block size
ALGS = ("sha256", "aes-128-gcm")
RESULT = debian.RESULT                  # "qvm-bench: "

# run.sh: the guest's gcc builds the program (-O2 -march=x86-64-v3, as the
# host would), then OpenSSL's speed per algorithm (machine-readable: the
# +F line holds bytes per second at the one block size), then the program
# timed with bash's $EPOCHREALTIME, and a hash of what it printed.
RUN_SH = r"""#!/bin/bash
cd /dev/shm || exit 1
F=$OLDPWD
us() { local t=${1/./}; echo $((10#$t)); }
echo "qvm-bench: cpu $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | tr -s ' ' _)"
echo "qvm-bench: flags $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -x -E 'avx|avx2|fma|bmi2|aes|pclmulqdq|sha_ni|vaes|avx512f' | tr '\n' ,)"
gcc -O2 -march=x86-64-v3 -o v3 "$F/x86-64-v3.c" || echo "qvm-bench: v3 failed with gcc status $?"
for alg in @ALGS@; do
	echo "qvm-bench: start openssl-$alg"
	r=$(openssl speed -mr -seconds $SECONDS_ -bytes @BYTES@ -evp $alg 2>/dev/null | sed -n 's/^+F:[0-9]*:[^:]*:\([0-9.]*\).*/\1/p')
	if [ -n "$r" ]; then echo "qvm-bench: openssl-$alg $r"; else echo "qvm-bench: openssl-$alg failed (no +F line)"; fi
done
echo "qvm-bench: start v3"
t0=$EPOCHREALTIME
./v3 $ROUNDS >v3.out
rc=$?
t1=$EPOCHREALTIME
if [ $rc = 0 ]; then echo "qvm-bench: v3 $(($(us $t1) - $(us $t0)))"; else echo "qvm-bench: v3 failed with status $rc"; fi
echo "qvm-bench: v3-out $(sha256sum <v3.out | cut -c1-64)"
echo "qvm-bench: all done"
"""


def sizes(qb):
    mode = os.environ.get("DEBIAN_SIZES", "quick").strip() or "quick"
    return {k: qb.env_num(k, f if mode == "full" else q) for k, (q, f) in SIZES.items()}


def run_tar(path, sz):
    script = (RUN_SH.replace("@ALGS@", " ".join(ALGS)).replace("@BYTES@", str(BYTES))
              .replace("cd /dev/shm", f"SECONDS_={sz['V3_SECONDS']}\nROUNDS={sz['V3_ROUNDS']}\n"
                       "cd /dev/shm", 1))
    with open(os.path.join(repo_root(), "tests", "linux", "x86-64-v3.c"), "rb") as f:
        src = f.read()
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data, mode in (("run.sh", script.encode(), 0o755), ("x86-64-v3.c", src, 0o644)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            tar.addfile(info, io.BytesIO(data))


def repo_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def host_output(rounds, tmp):
    """sha256 of what the host's gcc build of the program prints on the
    host CPU (the guest's must be the same), or None"""
    exe = os.path.join(tmp, "v3")
    src = os.path.join(repo_root(), "tests", "linux", "x86-64-v3.c")
    try:
        subprocess.run(["gcc", "-O2", "-march=x86-64-v3", "-o", exe, src], check=True,
                       stderr=subprocess.DEVNULL)
        out = subprocess.run([exe, str(rounds)], stdout=subprocess.PIPE, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return hashlib.sha256(out).hexdigest()


def add_figures(qb, vmms):
    image_dir = (os.environ.get("DEBIAN_IMAGE_DIR", "").strip()
                 or os.path.join(qb.ROOT, "build", "debian"))
    reps = qb.env_num("DEBIAN_REPS", 1)
    timeout = qb.env_num("DEBIAN_TIMEOUT", 1200.0, float)
    mem = os.environ.get("DEBIAN_MEM", "").strip() or "1G"
    cpu = os.environ.get("DEBIAN_V3_CPU", "").strip() or "Haswell"
    sz = sizes(qb)
    tag = f"tcg -cpu {cpu}"
    figs = {}
    for alg in ALGS:
        f = qb.Figure(f"{tag}: openssl speed -evp {alg}, {BYTES} B blocks", "MB/s",
                      "{:.1f}", higher=True)
        f.scale = 1e-6
        figs["openssl-" + alg] = f
    f = qb.Figure(f"{tag}: x86-64-v3 program, {sz['V3_ROUNDS']} rounds", "s", "{:.2f}")
    f.scale = 1e-6
    figs["v3"] = f
    qb.figures.extend(figs.values())

    header, details = [], []
    missing = [n for n in ("vmlinuz", "initrd.img", "debian.qcow2")
               if not os.path.exists(os.path.join(image_dir, n))]
    if missing:
        for f in figs.values():
            qb.skip_figure(f, f"{os.path.join(image_dir, missing[0])} missing "
                              "(make debian-image, or scripts/build-debian-image as root)")
        return header, details

    tmp = tempfile.mkdtemp(prefix="qvm-v3-bench.",
                           dir=os.path.join(qb.ROOT, "build")
                           if os.path.isdir(os.path.join(qb.ROOT, "build")) else None)
    try:
        disk = os.path.join(tmp, "run.tar")
        run_tar(disk, sz)
        want = host_output(sz["V3_ROUNDS"], tmp)
        opts = debian.options(image_dir, disk, mem, 1, "")
        opts[2:2] = ["-cpu", cpu]
        shown = [a.replace(qb.ROOT + os.sep, "") for a in opts]
        header.append(f"x86-64-v3 figures: {' '.join(shlex.quote(a) for a in shown)}; "
                      f"openssl speed -mr -seconds {sz['V3_SECONDS']} -bytes {BYTES} -evp ALG; "
                      f"{reps} boot(s) per VMM")
        qb.log(f"bench: Debian 12, -cpu {cpu}: OpenSSL and the x86-64-v3 program, "
               f"{reps} boot(s) per VMM")
        for rep in range(reps):
            for vmm in (vmms if rep % 2 == 0 else vmms[::-1]):
                one_boot(qb, vmm, opts, timeout, figs, details, want)
    finally:
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)
    return header, details


def one_boot(qb, vmm, opts, timeout, figs, details, want):
    kind = "SKIP" if vmm.name == "qemu" else "FAIL"
    r = qb.run_guest(vmm.cmd + vmm.extra + opts, timeout=timeout)
    said = {}
    for _, s in r.lines:
        if s.startswith(RESULT):
            w = s[len(RESULT):].split(None, 1)
            if len(w) == 2 and w[0] != "start":
                said[w[0]] = w[1].strip()
    why = None
    if r.error or r.timed_out or r.rc != 0:
        why = r.why()
    for key, f in figs.items():
        v = said.get(key, "")
        try:
            f.samples[vmm.name].append(float(v) * f.scale)
        except ValueError:
            qb.problem(f, vmm, kind, f"in the guest: {key} {v}" if v else
                       (why or f"no '{RESULT}{key}' line (run.sh did not get there)"))
    out = said.get("v3-out")
    if out and want and out != want:
        qb.problem(figs["v3"], vmm, "FAIL" if vmm.name == "qvm" else "SKIP",
                   f"the program's output (sha256 {out[:16]}...) differs from the host CPU's "
                   f"({want[:16]}...)")
    same = ("equals the host CPU's" if out and out == want else
            "not compared" if not want or not out else "DIFFERS from the host CPU's")
    details.append(f"  x86-64-v3 [{vmm.name}]: cpu {said.get('cpu', '?').replace('_', ' ').strip()}; "
                   f"flags {said.get('flags', '?').rstrip(',')}; program output {same}")
