/*
 * kqemu's "process" backend (kqemu.h): guest user code runs natively in a
 * child process whose address space holds only the guest's pages (from
 * the guest-RAM memfd) and, in a 2 MiB hole, the child itself (stub*.c).
 * Every exit is a signal in the child; the two sides talk through a
 * shared mailbox with cross-process futexes.  See README.md.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "proc.h"

/* how long exec() sleeps between checks that the child is alive */
#define WAIT_SLICE_NS (20 * 1000 * 1000)

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void proc_close(void *opaque)
{
	struct proc_backend *b = opaque;
	if (!b)
		return;
	proc_reap(b);
	free(b);
}

static void *proc_open(const struct kqemu_ram *ram, char *err, size_t err_len)
{
	struct proc_backend *b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, err_len, "process backend: out of memory");
		return NULL;
	}
	for (unsigned i = 0; i < KQEMU_CONTEXTS; i++) {
		b->ch[i].mbox_fd = -1;
		b->ch[i].cpu = -1;
	}
	b->ram_fd = ram->fd;
	b->ram_size = ram->size;
	proc_host_probe(&b->host);
	const char *spin = getenv("QVM_KQEMU_SPIN");
	b->spin = spin ? (uint32_t)strtoul(spin, NULL, 0) : 0;
	/* QVM_KQEMU_PIN=0: children go wherever the scheduler puts them
	 * (README.md, "Costs": for comparisons) */
	const char *pin = getenv("QVM_KQEMU_PIN");
	b->pin = !pin || atoi(pin) != 0;
	/* the first context's child now: what it finds is the backend's */
	if (proc_spawn(b, 0, err, err_len) < 0)
		goto fail;
	struct proc_mailbox *mb = b->ch[0].mb;
	b->tsc_trap_works = mb->tsc_trap_works == 1;
	/* what the child's signal frames carry is what guest code runs with */
	b->host.xcr0 &= mb->frame_xfeatures;
	b->host.xsave_size = mb->frame_size;
	if (b->host.xsave_size < 576 || b->host.xsave_size > KQEMU_XSAVE_MAX) {
		snprintf(err, err_len, "process backend: the child's XSAVE frames are %u bytes",
			 b->host.xsave_size);
		goto fail;
	}
	return b;
fail:
	proc_close(b);
	return NULL;
}

static void proc_get_info(void *opaque, struct kqemu_backend_info *info)
{
	struct proc_backend *b = opaque;
	memset(info, 0, sizeof(*info));
	info->version = KQEMU_VERSION;
	info->user_start = PROC_USER_START;
	info->user_end = PROC_USER_END;
	info->hole_start = PROC_HOLE_START;
	info->hole_end = PROC_HOLE_END;
	info->xcr0 = b->host.xcr0;
	info->xsave_size = b->host.xsave_size;
	info->flags = (b->tsc_trap_works ? KQEMU_INFO_TSC_TRAP : 0) | KQEMU_INFO_CONTEXTS;
	snprintf(info->description, sizeof(info->description),
		 "child process %d (one per context, up to %d), seccomp, signals",
		 (int)b->ch[0].pid, KQEMU_CONTEXTS);
}

static void request_to_mailbox(struct proc_mailbox *mb, const struct kqemu_run *run)
{
	struct kqemu_run *m = &mb->run;
	m->version = run->version;
	m->flush_all = run->flush_all;
	m->context = run->context;
	m->nr_unmap = run->nr_unmap;
	m->nr_map = run->nr_map;
	memcpy(m->unmap, run->unmap, run->nr_unmap * sizeof(run->unmap[0]));
	memcpy(m->map, run->map, run->nr_map * sizeof(run->map[0]));
	memcpy(&m->state, &run->state, offsetof(struct kqemu_cpu_state, xsave));
	memcpy(m->state.xsave, run->state.xsave, run->state.xsave_size);
	m->exit_class = KQEMU_EXIT_NONE;
	mb->tsc_trap = proc_tsc_trap(&run->state);
	mb->cmd = PROC_CMD_RUN;
}

/* Wait until the child answers request seq: spin, then sleep on the
 * futex in slices, checking between them that the child lives. */
static int wait_done(struct proc_backend *b, unsigned i, uint32_t seq)
{
	uint32_t *w = &b->ch[i].mb->done_seq;
	for (uint32_t i = 0; i < b->spin; i++) {
		if (__atomic_load_n(w, __ATOMIC_ACQUIRE) == seq)
			return 0;
		__builtin_ia32_pause();
	}
	struct timespec ts = { 0, WAIT_SLICE_NS };
	for (;;) {
		uint32_t v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
		if (v == seq)
			return 0;
		long r = syscall(SYS_futex, w, FUTEX_WAIT, v, &ts, NULL, 0);
		if (r < 0 && errno == ETIMEDOUT && !proc_alive(b, i))
			return -1;
	}
}

/* The child bound to the CPU this thread runs on (again only when this
 * thread moved): woken there, it runs as soon as this thread sleeps in
 * wait_done, and wakes this thread there when it stops, so a hand-off
 * is two switches on one CPU, not a wake-up of another CPU (busy with
 * other work) and back. */
static void pin_child(struct proc_child *ch)
{
	int cpu = sched_getcpu();
	if (cpu < 0 || cpu == ch->cpu)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(ch->pid, sizeof(set), &set) == 0)
		ch->cpu = cpu;
}

static void set_exit_error(struct kqemu_run *run, const char *msg)
{
	run->exit_class = KQEMU_EXIT_ERROR;
	size_t n = strnlen(msg, sizeof(run->message) - 1);
	memcpy(run->message, msg, n);
	run->message[n] = 0;
}

static int proc_exec(void *opaque, struct kqemu_run *run)
{
	struct proc_backend *b = opaque;
	uint64_t t0 = now_ns();
	run->host_ns = 0;
	/* a dead child shows when a wait times out (wait_done) */
	if (b->dead[0]) {
		set_exit_error(run, b->dead);
		return -1;
	}
	const char *bad = proc_check_request(b, run);
	if (bad) {
		snprintf(run->message, sizeof(run->message), "process backend: %s", bad);
		run->exit_class = KQEMU_EXIT_ERROR;
		return 0;
	}
	if (proc_tsc_trap(&run->state) && !b->tsc_trap_works) {
		snprintf(run->message, sizeof(run->message),
			 "process backend: RDTSC cannot be made to fault on this host");
		run->exit_class = KQEMU_EXIT_ERROR;
		return 0;
	}
	/* the context's child, started when it first runs */
	unsigned i = run->context;
	struct proc_child *ch = &b->ch[i];
	if (!ch->pid) {
		char err[sizeof(run->message)];
		if (proc_spawn(b, i, err, sizeof(err)) < 0) {
			set_exit_error(run, err);
			return -1;
		}
	}
	/* a kick before this point: back at once (kick() sees in_exec
	 * after this, or we see its flag) */
	atomic_store(&b->running, ch->pid);
	atomic_store(&b->in_exec, 1);
	if (atomic_exchange(&b->kick_pending, 0)) {
		atomic_store(&b->in_exec, 0);
		run->exit_class = KQEMU_EXIT_SIGNAL;
		return 0;
	}
	if (b->pin)
		pin_child(ch);
	struct proc_mailbox *mb = ch->mb;
	request_to_mailbox(mb, run);
	uint32_t seq = mb->req_seq + 1;
	__atomic_store_n(&mb->req_seq, seq, __ATOMIC_RELEASE);
	syscall(SYS_futex, &mb->req_seq, FUTEX_WAKE, 1, NULL, NULL, 0);
	int r = wait_done(b, i, seq);
	atomic_store(&b->in_exec, 0);
	run->host_ns = now_ns() - t0;
	if (r < 0) {
		set_exit_error(run, b->dead);
		return -1;
	}
	/* one copy: guest code may write the mailbox while we look */
	const struct kqemu_run *m = &mb->run;
	struct kqemu_run *snap = &b->snap;
	memcpy(&snap->state, &m->state, sizeof(snap->state));
	memcpy(&snap->exit_class, &m->exit_class,
	       sizeof(*snap) - offsetof(struct kqemu_run, exit_class));
	if (!proc_take_exit(b, snap, run))
		return -1;
	if (run->exit_class == KQEMU_EXIT_SIGNAL)
		atomic_store(&b->kick_pending, 0);
	return 0;
}

/* async-signal-safe: an atomic flag and kill() */
static void proc_kick(void *opaque)
{
	struct proc_backend *b = opaque;
	atomic_store(&b->kick_pending, 1);
	if (!atomic_load(&b->in_exec))
		return;
	pid_t pid = atomic_load(&b->running);
	if (pid > 0)
		kill(pid, PROC_SIG_KICK);
}

/* ---- available(): a throwaway child runs one SYSCALL ---- */

static char probe_why[200];
static bool probe_ok;

static void probe(void)
{
	struct kqemu_ram ram = { .fd = memfd_create("qvm-kqemu-probe", MFD_CLOEXEC),
				 .size = 4096 };
	if (ram.fd < 0 || ftruncate(ram.fd, 4096) < 0 ||
	    pwrite(ram.fd, "\x0f\x05", 2, 0) != 2) {
		snprintf(probe_why, sizeof(probe_why), "memfd: %s", strerror(errno));
		goto out;
	}
	char err[160];
	void *b = proc_open(&ram, err, sizeof(err));
	if (!b) {
		snprintf(probe_why, sizeof(probe_why), "%s", err);
		goto out;
	}
	struct kqemu_run *run = calloc(1, sizeof(*run));
	if (!run) {
		snprintf(probe_why, sizeof(probe_why), "out of memory");
		proc_close(b);
		goto out;
	}
	run->version = KQEMU_VERSION;
	run->nr_map = 1;
	run->map[0] = (struct kqemu_map){ 0x10000, 0, KQEMU_PROT_READ | KQEMU_PROT_EXEC, 0 };
	run->state.rip = 0x10000;
	run->state.rflags = 0x202;
	run->state.cs = 0x33;
	run->state.ss = 0x2b;
	run->state.code_bits = 64;
	run->state.xsave_size = 576;
	uint16_t fcw = 0x37f;
	uint32_t mxcsr = 0x1f80;
	memcpy(run->state.xsave, &fcw, 2);
	memcpy(run->state.xsave + 24, &mxcsr, 4);
	int r = proc_exec(b, run);
	if (r < 0 || run->exit_class != KQEMU_EXIT_SYSCALL || run->state.rip != 0x10002)
		snprintf(probe_why, sizeof(probe_why),
			 "a test child did not return a SYSCALL exit (class %u: %.100s)",
			 run->exit_class, run->message);
	else
		probe_ok = true;
	free(run);
	proc_close(b);
out:
	if (ram.fd >= 0)
		close(ram.fd);
}

static bool proc_available(char *why, size_t why_len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, probe);
	if (!probe_ok)
		snprintf(why, why_len, "%s", probe_why);
	return probe_ok;
}

const struct kqemu_backend_ops kqemu_process_ops = {
	.name = "process",
	.available = proc_available,
	.open = proc_open,
	.get_info = proc_get_info,
	.exec = proc_exec,
	.kick = proc_kick,
	.close = proc_close,
};
