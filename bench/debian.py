"""The Debian figures of bench/: a real Debian 12 system (systemd, from
scripts/build-debian-image) booted by both VMMs with -accel tcg, the same
options, and timed workloads run inside it.

Imported by qvmbench.py, which passes itself in (add_figures(qb)) so that
the figures land in its table.  See bench/README.md, "tcg: Debian 12".
"""

import io
import os
import shlex
import tarfile
import tempfile

# QUICK (the default, what make bench runs) and FULL sizes of the in-guest
# workloads; DEBIAN_SIZES=full picks the second, each DEBIAN_* variable
# below overrides one
SIZES = {
    #                        quick     full
    "DEBIAN_PY_ITERS":      (200000,   1000000),
    "DEBIAN_SHA_MIB":       (8,        64),
    "DEBIAN_GZIP_KIB":      (1024,     4096),
    "DEBIAN_XZ_KIB":        (512,      2048),
    "DEBIAN_SYSCALLS":      (30000,    300000),
    "DEBIAN_SPAWNS":        (100,      1000),
}
MARKER = "qvm-debian: root shell on"
RESULT = "qvm-bench: "      # qvm-bench: NAME US   (guest-timed, microseconds)

# The helper the guest compiles (that compile is the gcc figure) and runs
# for the system call and fork+exec figures.
HELPER_C = r"""/* qvm bench helper: compiled in the guest by bench/debian.py's run.sh */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* getppid through syscall(2), so that no C library can answer it from a cache */
static long syscalls(long n)
{
	long sum = 0;
	for (long i = 0; i < n; i++)
		sum += syscall(SYS_getppid);
	return sum;
}

/* fork, execve the program, wait: the whole life of a short process */
static int spawns(long n, char *prog)
{
	char *argv[] = { prog, NULL };
	char *envp[] = { NULL };
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			execve(prog, argv, envp);
			_exit(127);
		}
		int status;
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "%s did not exit with 0\n", prog);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "syscalls") == 0) {
		printf("%ld\n", syscalls(atol(argv[2])));
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "spawns") == 0)
		return spawns(atol(argv[2]), argv[3]);
	fprintf(stderr, "usage: helper syscalls N | spawns N PROG\n");
	return 2;
}
"""

# run.sh, run by the image's autologin shell from a tar on the second disk.
# Each workload is timed in the guest with bash's $EPOCHREALTIME (no fork
# for the clock), its output discarded; inputs live in tmpfs (/dev/shm) and
# are made before the clock starts.
RUN_SH = r"""#!/bin/bash
# the in-guest workloads of bench/debian.py
cd /dev/shm || exit 1
us() { local t=${1/./}; echo $((10#$t)); }
t() {
	local name=$1 t0 t1 rc
	shift
	echo "qvm-bench: start $name"
	t0=$EPOCHREALTIME
	"$@" >/dev/null
	rc=$?
	t1=$EPOCHREALTIME
	if [ $rc = 0 ]; then
		echo "qvm-bench: $name $(($(us $t1) - $(us $t0)))"
	else
		echo "qvm-bench: $name failed with status $rc"
	fi
}
echo "qvm-bench: clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
head -c $((SHA_MIB << 20)) /dev/zero >sha.in
# compressible input: the first bytes of a tar of Python's standard library
tar -cf - -C /usr/lib/python3.11 . 2>/dev/null | head -c $((GZIP_KIB << 10)) >gzip.in
tar -cf - -C /usr/lib/python3.11 . 2>/dev/null | head -c $((XZ_KIB << 10)) >xz.in
cp "$OLDPWD/helper.c" .
PY='import sys
s = 0
for i in range(int(sys.argv[1])):
    s += i
print(s)'
t python3 python3 -c "$PY" $PY_ITERS
t sha256sum sha256sum sha.in
t gzip gzip -6 -c gzip.in
t xz xz -6 -T1 -c xz.in
t gcc gcc -O2 -o helper helper.c
t syscalls ./helper syscalls $SYSCALLS
t spawns ./helper spawns $SPAWNS /bin/true
echo "qvm-bench: all done"
"""

# (key in run.sh's output, figure label, unit: s, or ms for the short ones)
WORKLOADS = [
    ("python3", "python3 loop of {PY_ITERS} iterations", "s"),
    ("sha256sum", "sha256sum of {SHA_MIB} MiB", "s"),
    ("gzip", "gzip -6 of {GZIP_KIB} KiB", "s"),
    ("xz", "xz -6 of {XZ_KIB} KiB", "s"),
    ("gcc", "gcc -O2 of a 50-line C file", "s"),
    ("syscalls", "{SYSCALLS} getppid system calls", "ms"),
    ("spawns", "{SPAWNS} fork+exec+wait of /bin/true", "ms"),
]


def sizes(qb):
    full = os.environ.get("DEBIAN_SIZES", "quick").strip() or "quick"
    if full not in ("quick", "full"):
        raise SystemExit(f"bench: DEBIAN_SIZES={full!r}: quick or full")
    out = {"mode": full}
    for k, (q, f) in SIZES.items():
        out[k[len("DEBIAN_"):]] = qb.env_num(k, f if full == "full" else q)
    return out


def run_tar(path, sz):
    """The second disk: a tar archive (a raw image of itself) with run.sh
    and the helper's source; the sizes are set at run.sh's top."""
    head = "".join(f"{k}={v}\n" for k, v in sz.items() if k != "mode")
    script = RUN_SH.replace("cd /dev/shm", head + "cd /dev/shm", 1).encode()
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in (("run.sh", script), ("helper.c", HELPER_C.encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            tar.addfile(info, io.BytesIO(data))
    # a whole number of 512-byte sectors (tarfile pads to 10 KiB already)
    assert os.path.getsize(path) % 512 == 0


def options(image_dir, run_disk, mem, smp, append_extra):
    """The Debian figures' options, the same for both VMMs."""
    append = "root=/dev/vda rw console=ttyS0 panic=-1"
    if append_extra:
        append += " " + append_extra
    return ["-accel", "tcg", "-m", mem, "-smp", str(smp), "-display", "none",
            "-serial", "stdio", "-no-reboot",
            "-kernel", os.path.join(image_dir, "vmlinuz"),
            "-initrd", os.path.join(image_dir, "initrd.img"),
            "-append", append,
            "-drive", f"file={os.path.join(image_dir, 'debian.qcow2')},format=qcow2,if=virtio",
            "-drive", f"file={run_disk},format=raw,if=virtio,readonly=on",
            "-snapshot"]


def parse(r):
    """Guest-timed results (name -> seconds), failures, host-side spans."""
    got, bad, host = {}, {}, {}
    starts = {}
    for t, s in r.lines:
        if not s.startswith(RESULT):
            continue
        words = s[len(RESULT):].split()
        if len(words) == 2 and words[0] == "start":
            starts[words[1]] = t
        elif len(words) == 2 and words[1].isdigit():
            got[words[0]] = int(words[1]) / 1e6
            if words[0] in starts:
                host[words[0]] = t - starts[words[0]]
        elif len(words) >= 2 and words[1] == "failed":
            bad[words[0]] = " ".join(words[1:])
    return got, bad, host


def add_figures(qb, vmms):
    """Boot to the autologin shell and the in-guest workloads; returns the
    lines for the header (options, sizes) and the details section."""
    image_dir = (os.environ.get("DEBIAN_IMAGE_DIR", "").strip()
                 or os.path.join(qb.ROOT, "build", "debian"))
    reps = qb.env_num("DEBIAN_REPS", 1)
    timeout = qb.env_num("DEBIAN_TIMEOUT", 1200.0, float)
    mem = os.environ.get("DEBIAN_MEM", "").strip() or "1G"
    smp = qb.env_num("DEBIAN_SMP", 1)
    extra = os.environ.get("DEBIAN_APPEND", "").strip()
    # qvm's engine (QEMU's is always tcg): DEBIAN_QVM_ACCEL=kqemu gives
    # issue 13's figures, the Debian workloads under kqemu against QEMU's TCG
    accel = os.environ.get("DEBIAN_QVM_ACCEL", "").strip() or "tcg"
    sz = sizes(qb)

    boot = qb.Figure(f"{accel}: Debian 12 boot to the root shell", "s", "{:.1f}")
    figs = {"boot": boot}
    qb.figures.append(boot)
    for key, label, unit in WORKLOADS:
        f = qb.Figure(f"{accel}: Debian: " + label.format(**sz), unit,
                      "{:.2f}" if unit == "s" else "{:.1f}")
        f.scale = 1e3 if unit == "ms" else 1.0
        figs[key] = f
        qb.figures.append(f)

    header, details = [], []
    missing = [f for f in ("vmlinuz", "initrd.img", "debian.qcow2")
               if not os.path.exists(os.path.join(image_dir, f))]
    if missing:
        why = (f"{os.path.join(image_dir, missing[0])} missing "
               "(make debian-image, or scripts/build-debian-image as root)")
        for f in figs.values():
            qb.skip_figure(f, why)
        return header, details

    tmp = tempfile.mkdtemp(prefix="qvm-debian-bench.",
                           dir=os.path.join(qb.ROOT, "build")
                           if os.path.isdir(os.path.join(qb.ROOT, "build")) else None)
    try:
        disk = os.path.join(tmp, "run.tar")
        run_tar(disk, sz)
        opts = options(image_dir, disk, mem, smp, extra)
        shown = [a.replace(qb.ROOT + os.sep, "") for a in opts]
        header.append("Debian figures: " + " ".join(shlex.quote(a) for a in shown)
                      + f"; {reps} boot(s) per VMM, {sz['mode']} sizes "
                      "(DEBIAN_SIZES=full for the full ones)"
                      + (f"; qvm with -accel {accel}" if accel != "tcg" else ""))
        qb.log(f"bench: Debian 12 with -accel {accel} (QEMU: tcg): {reps} boot(s) per VMM, "
               f"{sz['mode']} sizes")
        for rep in range(reps):
            for vmm in (vmms if rep % 2 == 0 else vmms[::-1]):
                if vmm.name in boot.problem:
                    continue
                mine = (["-accel", accel] + opts[2:]) if vmm.name == "qvm" else opts
                one_boot(qb, vmm, mine, timeout, figs, details)
    finally:
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)
    return header, details


def one_boot(qb, vmm, opts, timeout, figs, details):
    kind = "SKIP" if vmm.name == "qemu" else "FAIL"
    r = qb.run_guest(vmm.cmd + vmm.extra + opts, timeout=timeout)
    t_shell = next((t for t, s in r.lines if s.startswith(MARKER)), None)
    done = any(s == RESULT + "all done" for _, s in r.lines)
    why = None
    if r.error or r.timed_out or r.rc != 0:
        why = r.why()
        if t_shell is None:
            why += "; the root shell never came"
    elif t_shell is None:
        why = f"exit status 0 but no '{MARKER}' line"
    if why and t_shell is None:
        for f in figs.values():
            qb.problem(f, vmm, kind, why)
        return
    figs["boot"].samples[vmm.name].append(t_shell)
    got, bad, host = parse(r)
    for key, f in figs.items():
        if key == "boot":
            continue
        if key in got:
            f.samples[vmm.name].append(got[key] * f.scale)
        elif key in bad:
            qb.problem(f, vmm, kind, f"in the guest: {key} {bad[key]}")
        else:
            qb.problem(f, vmm, kind, why or
                       f"no '{RESULT}{key}' line (run.sh did not get there)")
    clk = next((s for _, s in r.lines if s.startswith(RESULT + "clocksource")), "")
    uptime = next((s for _, s in r.lines if s.startswith(MARKER)), "")
    spans = " ".join(f"{k} {got[k]:.2f}/{host[k]:.2f}" for k in got if k in host)
    details.append(f"  debian [{vmm.name}]: {uptime[len('qvm-debian: '):]}; "
                   f"{clk[len(RESULT):]}; guest/host-side s: {spans}"
                   + ("" if done else "; run.sh did not finish"))
