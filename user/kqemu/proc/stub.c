/*
 * The process backend's child, start-up: after execveat() from qvm it
 * leaves the hole as the only thing in its address space, installs its
 * signal handlers and its seccomp filter, then enters the handler loop of
 * stub-run.c for good.  No libc: -nostdlib -static -fno-pie, linked into
 * the hole by stub.ld.
 */
#include <stddef.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/mman.h>
#include <linux/prctl.h>
#include <linux/seccomp.h>
#include <asm/signal.h>
#include <asm/unistd.h>
#include <linux/signal.h>
#include "stub.h"
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
#include "stub-run.h"

#define AT_NULL 0
#define AT_HWCAP2 26

/* the stacks: the first for start-up, the second for every signal */
char stub_stack[16384] __attribute__((aligned(16)));
static char alt_stack[65536] __attribute__((aligned(64)));

/* the compiler may call these for struct copies */
/* the compiler may call these for struct copies; REP MOVSB/STOSB are
 * fast on CPUs with ERMS, and short enough everywhere (the handler
 * copies 3 KiB of XSAVE image each way) */
void *memcpy(void *d, const void *s, size_t n)
{
	void *ret = d;
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return ret;
}

void *memset(void *d, int c, size_t n)
{
	void *ret = d;
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return ret;
}

static void fail(struct proc_mailbox *mb, const char *what, long err)
{
	if (mb) {
		size_t i = 0;
		for (; what[i] && i < sizeof(mb->error) - 16; i++)
			mb->error[i] = what[i];
		i = stub_put_errno(mb->error, i, err);
		mb->error[i] = 0;
	}
	sc1(__NR_exit_group, 1);
	for (;;)
		;
}

/* System calls only from our own code, and only those the handler loop
 * needs; any other one (guest code's syscall, int 0x80, sysenter, the
 * vsyscall page) raises SIGSYS: SECCOMP_RET_TRAP skips it. */
static long install_filter(void)
{
	uint64_t lo = (uint64_t)__stub_text_start, hi = (uint64_t)__stub_text_end;
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		/* the instruction pointer: high half, then low half */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, instruction_pointer) + 4),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(lo >> 32), 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, instruction_pointer)),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (uint32_t)lo, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (uint32_t)hi, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		/* from the stub: the calls it makes (x32 numbers fall out);
		 * mmap only of guest RAM, prctl only PR_SET_TSC, since guest
		 * code can jump to the stub's syscall (README.md) */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 8, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prctl, 9, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_munmap, 11, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_futex, 10, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_rt_sigreturn, 9, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_arch_prctl, 8, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit_group, 7, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit, 6, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		/* mmap: fd (args[4], low half) */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[4])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROC_FD_RAM, 3, 2),
		/* prctl: option (args[0]) */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_TSC, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	long r = sc2(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1);
	if (r < 0)
		return r;
	return sc3(__NR_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* the kernel's struct sigaction (rt_sigaction, 8-byte mask) */
struct ksigaction {
	void (*handler)(void);
	unsigned long flags;
	void (*restorer)(void);
	unsigned long mask;
};

#define SIGBIT(s) (1ul << ((s) - 1))
#define EXIT_SIGNALS (SIGBIT(SIGSEGV) | SIGBIT(SIGILL) | SIGBIT(SIGFPE) | \
		      SIGBIT(SIGTRAP) | SIGBIT(SIGBUS) | SIGBIT(SIGSYS) |   \
		      SIGBIT(PROC_SIG_KICK))

static long install_handlers(void)
{
	struct { void *sp; int flags; size_t size; } ss = {
		alt_stack, SS_AUTODISARM, sizeof(alt_stack)
	};
	/* SS_AUTODISARM: the frame always goes at the top of alt_stack,
	 * wherever guest code left its stack pointer */
	long r = sc2(__NR_sigaltstack, &ss, 0);
	if (r < 0)
		return r;
	static const int sigs[] = { SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGBUS,
				    SIGSYS, PROC_SIG_KICK };
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct ksigaction sa = {
			stub_handler_entry, SA_SIGINFO | SA_ONSTACK | SA_RESTORER,
			stub_restorer, ~0ul
		};
		r = sc4(__NR_rt_sigaction, sigs[i], &sa, 0, 8);
		if (r < 0)
			return r;
	}
	/* everything else stays blocked: SIGKILL ends us */
	unsigned long mask = ~EXIT_SIGNALS;
	return sc4(__NR_rt_sigprocmask, SIG_SETMASK, &mask, 0, 8);
}

static uint64_t auxv_get(uint64_t *sp, uint64_t type)
{
	uint64_t argc = sp[0];
	uint64_t *p = sp + 1 + argc + 1;        /* envp */
	while (*p)
		p++;
	for (p++; p[0] != AT_NULL; p += 2)
		if (p[0] == type)
			return p[1];
	return 0;
}

void stub_main(uint64_t *sp);
void stub_main(uint64_t *sp)
{
	uint64_t hwcap2 = auxv_get(sp, AT_HWCAP2);
	long r = sc6(__NR_mmap, PROC_MBOX_ADDR, PROC_MBOX_SIZE, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_FIXED_NOREPLACE, PROC_FD_MBOX, 0);
	if (r != (long)PROC_MBOX_ADDR)
		fail(0, "", r);
	struct proc_mailbox *mb = (struct proc_mailbox *)PROC_MBOX_ADDR;
	sc1(__NR_close, PROC_FD_MBOX);
	mb->hwcap2 = hwcap2;
	/* the kernel's stack, [vdso], [vvar]: only the hole stays */
	r = sc2(__NR_munmap, PROC_USER_START, PROC_HOLE_START - PROC_USER_START);
	if (r == 0)
		r = sc2(__NR_munmap, PROC_HOLE_END, PROC_USER_END - PROC_HOLE_END);
	if (r < 0)
		fail(mb, "munmap outside the hole", r);
	stub_run_init(mb);
	r = install_handlers();
	if (r < 0)
		fail(mb, "signal handlers", r);
	/* 1 in mb->tsc_trap_works when the handler saw it fault */
	if (sc2(__NR_prctl, PR_SET_TSC, PR_TSC_SIGSEGV) == 0) {
		stub_rdtsc_probe();
		sc2(__NR_prctl, PR_SET_TSC, PR_TSC_ENABLE);
	}
	r = install_filter();
	if (r < 0)
		fail(mb, "seccomp filter", r);
	stub_first_entry();     /* SIGILL: into the handler loop for good */
	fail(mb, "left the handler loop", 0);
}
