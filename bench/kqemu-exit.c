/*
 * build/kqemu-exit: the cost of one exit of each class of a kqemu
 * backend (the process backend, user/kqemu/proc/, or the module,
 * kqemu-kmod/), and a CPL 3 compute loop run natively in this process vs
 * through the backend.  Prints ns per exit (bench/README.md); exits 1 when
 * an exit is not of the class the snippet must give.
 *
 *   build/kqemu-exit [iterations [loop iterations]]  (default 20000, 500000000)
 *   KQEMU_BACKEND=process|module (default process)
 *   QVM_KQEMU_SPIN=N: polls before each FUTEX_WAIT (both sides)
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "kqemu/kqemu.h"

#define CODE_LIN 0x400000ull
#define DATA_LIN 0x600000ull
#define FAULT_LIN 0x800000ull
#define LOOP_ITERS 500000000u

#define SNIPPET(name, body)                                             \
	extern const unsigned char name[], name##_end[];                \
	__asm__(".pushsection .rodata\n" #name ":\n" body "\n"          \
		#name "_end:\n.popsection\n")

SNIPPET(b_syscall, "syscall\n");
SNIPPET(b_ud2, "ud2\n");
SNIPPET(b_div0, "xor %ecx, %ecx\n div %rcx\n");
SNIPPET(b_fault, "mov 0x800000, %rax\n syscall\n");
SNIPPET(b_endless, "1: jmp 1b\n");
/* the compute loop: an LCG step per iteration, count in ecx */
SNIPPET(b_loop,
	"movabs $6364136223846793005, %rdx\n movabs $1442695040888963407, %rsi\n"
	"1: imul %rdx, %rax\n add %rsi, %rax\n dec %ecx\n jnz 1b\n syscall\n");

static const struct kqemu_backend_ops *ops;
static struct kqemu_run *run;
static void *be;
static uint8_t *ram;
static struct kqemu_backend_info info;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void state(uint64_t rip)
{
	struct kqemu_cpu_state *s = &run->state;
	memset(s, 0, sizeof(*s));
	s->rip = rip;
	s->rflags = 0x202;
	s->cs = 0x33;
	s->ss = 0x2b;
	s->code_bits = 64;
	s->xcr0 = info.xcr0;
	s->xsave_size = info.xsave_size;
	uint16_t fcw = 0x37f;
	uint32_t mxcsr = 0x1f80;
	memcpy(s->xsave, &fcw, 2);
	memcpy(s->xsave + 24, &mxcsr, 4);
}

static int exec1(void)
{
	run->version = KQEMU_VERSION;
	int r = ops->exec(be, run);
	run->nr_map = run->nr_unmap = run->flush_all = 0;
	return r;
}

static void code(const unsigned char *s, const unsigned char *e)
{
	memcpy(ram, s, (size_t)(e - s));
}

static int child_pid;

/* CPU time of this thread plus the child's (its schedstat): the cost of
 * an exit apart from waiting for a CPU on a busy host */
static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	uint64_t own = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/schedstat", child_pid);
	FILE *f = fopen(path, "r");
	unsigned long long child = 0;
	if (f) {
		if (fscanf(f, "%llu", &child) != 1)
			child = 0;
		fclose(f);
	}
	return own + child;
}

static double cpu_per_exit;
static unsigned signal_exits;

/* ns per exit of the snippet, each run from its start */
static double per_exit(const unsigned char *s, const unsigned char *e, unsigned n,
		       uint32_t want, int map_fault)
{
	code(s, e);
	state(CODE_LIN);
	uint64_t c0 = cpu_ns();
	uint64_t t0 = now_ns();
	for (unsigned i = 0; i < n; i++) {
		run->state.rip = CODE_LIN;
		if (map_fault && (i & 1))
			run->map[run->nr_map++] = (struct kqemu_map){
				FAULT_LIN, 0x2000, KQEMU_PROT_READ, 0 };
		if (map_fault && !(i & 1))
			run->unmap[run->nr_unmap++] = FAULT_LIN;
		int r = exec1();
		/* the host wanted its CPU back (need_resched, a signal): a
		 * SIGNAL exit, nothing happened to the guest; run it again */
		while (r == 0 && !map_fault && run->exit_class == KQEMU_EXIT_SIGNAL) {
			signal_exits++;
			r = exec1();
		}
		if (r < 0 || (!map_fault && run->exit_class != want)) {
			fprintf(stderr, "kqemu-exit: unexpected exit %u (%s)\n",
				run->exit_class, run->message);
			exit(1);
		}
	}
	double wall = (double)(now_ns() - t0) / n;
	cpu_per_exit = (double)(cpu_ns() - c0) / n;
	return wall;
}

static sem_t go;
static atomic_int stop;
static _Atomic uint64_t kicked_at;

/* 200 us after exec() starts (the child is in guest code by then),
 * kick and note when; it sleeps in between, not to steal a CPU */
static void *kicker(void *arg)
{
	(void)arg;
	for (;;) {
		sem_wait(&go);
		if (atomic_load(&stop))
			return NULL;
		usleep(200);
		atomic_store(&kicked_at, now_ns());
		ops->kick(be);
	}
}

/* from kick() on another thread to exec()'s return */
static double kick_latency(unsigned n)
{
	code(b_endless, b_endless_end);
	pthread_t th;
	sem_init(&go, 0, 0);
	pthread_create(&th, NULL, kicker, NULL);
	uint64_t total = 0;
	for (unsigned i = 0; i < n; i++) {
		state(CODE_LIN);
		sem_post(&go);
		if (exec1() < 0 || run->exit_class != KQEMU_EXIT_SIGNAL) {
			fprintf(stderr, "kqemu-exit: kick: exit %u\n", run->exit_class);
			exit(1);
		}
		total += now_ns() - atomic_load(&kicked_at);
	}
	atomic_store(&stop, 1);
	sem_post(&go);
	pthread_join(th, NULL);
	return (double)total / n;
}

static void report(const char *what, double wall)
{
	printf("%-34s %8.0f ns wall %8.0f ns CPU (%s)\n", what, wall, cpu_per_exit,
	       child_pid ? "qvm + child" : "this thread");
}

static uint64_t native_loop(uint32_t iters)
{
	uint64_t x = 1;
	__asm__ volatile("movabs $6364136223846793005, %%rdx\n movabs $1442695040888963407, %%rsi\n"
			 "1: imul %%rdx, %0\n add %%rsi, %0\n dec %1\n jnz 1b\n"
			 : "+a"(x), "+c"(iters) : : "rdx", "rsi", "cc");
	return x;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 20000;
	uint32_t loop_iters = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : LOOP_ITERS;
	const char *name = getenv("KQEMU_BACKEND");
	if (!name || !strcmp(name, "process")) {
		ops = &kqemu_process_ops;
	} else if (!strcmp(name, "module")) {
		ops = &kqemu_module_ops;
	} else {
		fprintf(stderr, "kqemu-exit: KQEMU_BACKEND=%s: process or module\n", name);
		return 2;
	}
	char why[200];
	if (!ops->available(why, sizeof(why))) {
		printf("SKIP: kqemu-exit: %s\n", why);
		return 0;
	}
	struct kqemu_ram r = { memfd_create("kqemu-exit-ram", MFD_CLOEXEC), 16 * 4096, NULL };
	if (r.fd < 0 || ftruncate(r.fd, (off_t)r.size) < 0)
		return 1;
	ram = mmap(NULL, r.size, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd, 0);
	r.host = ram;
	run = calloc(1, sizeof(*run));
	be = ops->open(&r, why, sizeof(why));
	if (!be) {
		fprintf(stderr, "kqemu-exit: %s\n", why);
		return 1;
	}
	ops->get_info(be, &info);
	if (sscanf(info.description, "child process %d", &child_pid) != 1)
		child_pid = 0;
	const char *spin = getenv("QVM_KQEMU_SPIN");
	printf("kqemu %s backend, %s, spin %s, %u exits each\n", ops->name, info.description,
	       spin ? spin : "0", n);
	state(CODE_LIN);
	run->map[run->nr_map++] = (struct kqemu_map){ CODE_LIN, 0, KQEMU_PROT_READ | KQEMU_PROT_EXEC, 0 };
	run->map[run->nr_map++] = (struct kqemu_map){ DATA_LIN, 0x1000, KQEMU_PROT_READ | KQEMU_PROT_WRITE, 0 };
	code(b_syscall, b_syscall_end);
	exec1();
	report("SYSCALL (syscall)", per_exit(b_syscall, b_syscall_end, n, KQEMU_EXIT_SYSCALL, 0));
	report("SOFTMMU (ud2)", per_exit(b_ud2, b_ud2_end, n, KQEMU_EXIT_SOFTMMU, 0));
	report("EXCEPTION (#DE)", per_exit(b_div0, b_div0_end, n, KQEMU_EXIT_EXCEPTION, 0));
	report("PAGE (read, unmapped)", per_exit(b_fault, b_fault_end, n, KQEMU_EXIT_PAGE, 0));
	report("PAGE + map, then unmap (avg)", per_exit(b_fault, b_fault_end, n, 0, 1));
	printf("%-34s %8.0f ns wall\n", "SIGNAL (kick from a thread)",
	       kick_latency(n / 10 ? n / 10 : 1));

	/* the compute loop: the best of 3 each, alternating, against a
	 * busy host */
	code(b_loop, b_loop_end);
	uint64_t native = UINT64_MAX, child = UINT64_MAX;
	for (int rep = 0; rep < 3; rep++) {
		uint64_t t0 = now_ns();
		uint64_t x = native_loop(loop_iters);
		uint64_t t = now_ns() - t0;
		native = t < native ? t : native;
		state(CODE_LIN);
		run->state.regs[0] = 1;
		run->state.regs[1] = loop_iters;
		t0 = now_ns();
		/* a SIGNAL exit in the middle: the loop goes on from there */
		while (exec1() == 0 && run->exit_class == KQEMU_EXIT_SIGNAL)
			signal_exits++;
		t = now_ns() - t0;
		child = t < child ? t : child;
		if (run->exit_class != KQEMU_EXIT_SYSCALL || run->state.regs[0] != x) {
			fprintf(stderr, "kqemu-exit: the loop in the backend went wrong\n");
			return 1;
		}
	}
	printf("compute loop, %u iterations (best of 3): native %.3f s, through the backend %.3f s: %.3fx native\n",
	       loop_iters, native / 1e9, child / 1e9, (double)native / (double)child);
	printf("SIGNAL exits in between the runs (host events), run again: %u\n", signal_exits);
	ops->close(be);
	free(run);
	return 0;
}
