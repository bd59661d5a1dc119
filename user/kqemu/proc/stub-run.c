/*
 * The process backend's child, the handler loop: every exit of guest
 * code is a signal.  The handler writes the guest's registers and the
 * exit class into the mailbox, wakes qvm, waits for the next request,
 * applies its mapping changes, writes the request's registers into the
 * signal frame and returns: rt_sigreturn enters guest code.
 *
 * Exit classes (kqemu.h) from the signal and the frame's trap number
 * (SDM Vol. 3, 6.15: vectors; Linux's traps.c: which signal each gives).
 */
#include <stddef.h>
#include <linux/futex.h>
#include <linux/mman.h>
#include <linux/prctl.h>
#include <linux/audit.h>
#include <asm/prctl.h>
#include <asm/sigcontext.h>
#include <asm/siginfo.h>
#include <asm/signal.h>
#include <asm/ucontext.h>
#include <asm/unistd.h>
#include "stub.h"
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
#include "stub-run.h"

#define HWCAP2_FSGSBASE 2
#define SEL_USER_CS 0x33
#define SEL_USER_DS 0x2b
#define X86_PF_WRITE 2
#define X86_PF_INSTR 16
#define VSYSCALL_PAGE 0xffffffffff600000ull

static struct proc_mailbox *mb;
static int started;
static uint32_t seen_seq;
/* what guest code runs with now */
static int tsc_trap;
static uint16_t cur_sels[4];
static uint64_t cur_fs_base, cur_gs_base;

void stub_run_init(struct proc_mailbox *m)
{
	mb = m;
}

static uint32_t load32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void futex_wake(uint32_t *w)
{
	sc6(__NR_futex, w, FUTEX_WAKE, 1, 0, 0, 0);
}

static void publish(void)
{
	__atomic_store_n(&mb->done_seq, seen_seq, __ATOMIC_RELEASE);
	futex_wake(&mb->done_seq);
}

static void wait_request(void)
{
	uint32_t spin = mb->spin;
	for (;;) {
		uint32_t s = load32(&mb->req_seq);
		if (s != seen_seq) {
			seen_seq = s;
			return;
		}
		if (spin) {
			spin--;
			__builtin_ia32_pause();
			continue;
		}
		sc6(__NR_futex, &mb->req_seq, FUTEX_WAIT, s, 0, 0, 0);
	}
}

size_t stub_put_errno(char *dst, size_t i, long err)
{
	unsigned long e = (unsigned long)-err;
	const char *t = ": errno ";
	for (; *t; t++)
		dst[i++] = *t;
	char num[8];
	int n = 0;
	do {
		num[n++] = (char)('0' + e % 10);
		e /= 10;
	} while (e && n < 7);
	while (n)
		dst[i++] = num[--n];
	return i;
}

static void set_error(struct kqemu_run *run, const char *msg, long err)
{
	run->exit_class = KQEMU_EXIT_ERROR;
	size_t i = 0;
	for (; msg[i] && i < 100; i++)
		run->message[i] = msg[i];
	if (err)
		i = stub_put_errno(run->message, i, err);
	run->message[i] = 0;
}

/* ---- requests ---- */

static long flush_all(void)
{
	long r = sc2(__NR_munmap, PROC_USER_START, PROC_HOLE_START - PROC_USER_START);
	if (r == 0)
		r = sc2(__NR_munmap, PROC_HOLE_END, PROC_USER_END - PROC_HOLE_END);
	return r;
}

static int outside_hole(uint64_t lin, uint64_t len)
{
	return lin >= PROC_USER_START && lin + len <= PROC_USER_END && lin + len > lin &&
	       (lin + len <= PROC_HOLE_START || lin >= PROC_HOLE_END);
}

static int prot_of(uint32_t p)
{
	return ((p & KQEMU_PROT_READ) ? PROT_READ : 0) |
	       ((p & KQEMU_PROT_WRITE) ? PROT_WRITE : 0) |
	       ((p & KQEMU_PROT_EXEC) ? PROT_EXEC : 0);
}

/* The maps, runs of consecutive pages with consecutive offsets in one
 * mmap each. */
static int apply_maps(struct kqemu_run *run)
{
	uint32_t n = run->nr_map;
	for (uint32_t i = 0; i < n;) {
		const struct kqemu_map *m = &run->map[i];
		uint64_t len = 4096;
		uint32_t j = i + 1;
		while (j < n && run->map[j].lin == m->lin + len &&
		       run->map[j].ram_offset == m->ram_offset + len &&
		       run->map[j].prot == m->prot) {
			len += 4096;
			j++;
		}
		if (!outside_hole(m->lin, len)) {
			set_error(run, "map into the backend's hole", 0);
			return -1;
		}
		long r = sc6(__NR_mmap, m->lin, len, prot_of(m->prot),
			     MAP_SHARED | MAP_FIXED, PROC_FD_RAM, m->ram_offset);
		if (r < 0) {
			set_error(run, "mmap of guest RAM", r);
			return -1;
		}
		i = j;
	}
	return 0;
}

static int apply_mappings(struct kqemu_run *run)
{
	if (run->nr_map > KQEMU_MAX_MAPS || run->nr_unmap > KQEMU_MAX_UNMAPS) {
		set_error(run, "bad request", 0);
		return -1;
	}
	long r = run->flush_all ? flush_all() : 0;
	for (uint32_t i = 0; r == 0 && i < run->nr_unmap; i++)
		if (outside_hole(run->unmap[i], 4096))
			r = sc2(__NR_munmap, run->unmap[i], 4096);
	if (r < 0) {
		set_error(run, "munmap", r);
		return -1;
	}
	return apply_maps(run);
}

static uint64_t fs_base_now(void)
{
	if (mb->hwcap2 & HWCAP2_FSGSBASE)
		return stub_rdfsbase();
	uint64_t v = 0;
	sc2(__NR_arch_prctl, ARCH_GET_FS, &v);
	return v;
}

static uint64_t gs_base_now(void)
{
	if (mb->hwcap2 & HWCAP2_FSGSBASE)
		return stub_rdgsbase();
	uint64_t v = 0;
	sc2(__NR_arch_prctl, ARCH_GET_GS, &v);
	return v;
}

/* Selectors first (a null selector may clear the base: AMD's
 * NullSelectorClearsBase), then the bases. */
static int apply_segments(struct kqemu_run *run)
{
	const struct kqemu_cpu_state *s = &run->state;
	uint16_t want[4] = { s->ds, s->es, s->fs, s->gs };
	int reload = 0;
	for (int i = 0; i < 4; i++)
		reload |= want[i] != cur_sels[i];
	if (reload) {
		stub_load_sels(want);
		for (int i = 0; i < 4; i++)
			cur_sels[i] = want[i];
	}
	int fsgs = (mb->hwcap2 & HWCAP2_FSGSBASE) != 0;
	if (reload || s->fs_base != cur_fs_base) {
		if (fsgs)
			stub_wrfsbase(s->fs_base);
		else if (sc2(__NR_arch_prctl, ARCH_SET_FS, s->fs_base) < 0)
			goto bad;
		cur_fs_base = s->fs_base;
	}
	if (reload || s->gs_base != cur_gs_base) {
		if (fsgs)
			stub_wrgsbase(s->gs_base);
		else if (sc2(__NR_arch_prctl, ARCH_SET_GS, s->gs_base) < 0)
			goto bad;
		cur_gs_base = s->gs_base;
	}
	return 0;
bad:
	set_error(run, "FS/GS base not settable", 0);
	cur_sels[0] = 0xffff;   /* unknown: reload next time */
	return -1;
}

static int apply_tsc(struct kqemu_run *run)
{
	int want = mb->tsc_trap != 0;
	if (want == tsc_trap)
		return 0;
	long r = sc2(__NR_prctl, PR_SET_TSC, want ? PR_TSC_SIGSEGV : PR_TSC_ENABLE);
	if (r < 0) {
		set_error(run, "prctl(PR_SET_TSC)", r);
		return -1;
	}
	tsc_trap = want;
	return 0;
}

/* The signal frame's XSAVE area (standard format, SDM Vol. 1, 13.4):
 * its size from the software bytes the kernel leaves at offset 464. */
static uint32_t frame_xsave_size(const uint8_t *fp)
{
	const struct _fpx_sw_bytes *sw = (const void *)(fp + 464);
	return sw->magic1 == FP_XSTATE_MAGIC1 ? sw->xstate_size : 512;
}

static void state_to_frame(const struct kqemu_cpu_state *s, struct ucontext *uc)
{
	struct sigcontext *sc = &uc->uc_mcontext;
	sc->rax = s->regs[0];
	sc->rcx = s->regs[1];
	sc->rdx = s->regs[2];
	sc->rbx = s->regs[3];
	sc->rsp = s->regs[4];
	sc->rbp = s->regs[5];
	sc->rsi = s->regs[6];
	sc->rdi = s->regs[7];
	sc->r8 = s->regs[8];
	sc->r9 = s->regs[9];
	sc->r10 = s->regs[10];
	sc->r11 = s->regs[11];
	sc->r12 = s->regs[12];
	sc->r13 = s->regs[13];
	sc->r14 = s->regs[14];
	sc->r15 = s->regs[15];
	sc->rip = s->rip;
	sc->eflags = s->rflags;  /* rt_sigreturn takes the user-settable bits */
	sc->cs = SEL_USER_CS;
	sc->ss = SEL_USER_DS;
	uc->uc_flags |= UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;

	uint8_t *fp = (uint8_t *)sc->fpstate;
	uint32_t size = frame_xsave_size(fp);
	uint32_t n = s->xsave_size < size ? s->xsave_size : size;
	/* the legacy area but the software bytes, then header and
	 * components; what the request lacks has xstate_bv clear */
	memcpy(fp, s->xsave, 464);
	if (n > 512)
		memcpy(fp + 512, s->xsave + 512, n - 512);
}

static void frame_to_state(const struct ucontext *uc, struct kqemu_cpu_state *s)
{
	const struct sigcontext *sc = &uc->uc_mcontext;
	s->regs[0] = sc->rax;
	s->regs[1] = sc->rcx;
	s->regs[2] = sc->rdx;
	s->regs[3] = sc->rbx;
	s->regs[4] = sc->rsp;
	s->regs[5] = sc->rbp;
	s->regs[6] = sc->rsi;
	s->regs[7] = sc->rdi;
	s->regs[8] = sc->r8;
	s->regs[9] = sc->r9;
	s->regs[10] = sc->r10;
	s->regs[11] = sc->r11;
	s->regs[12] = sc->r12;
	s->regs[13] = sc->r13;
	s->regs[14] = sc->r14;
	s->regs[15] = sc->r15;
	s->rip = sc->rip;
	s->rflags = sc->eflags;
	s->cs = sc->cs;
	s->ss = sc->ss;

	/* DS..GS as guest code left them (delivery does not touch them);
	 * without FSGSBASE guest code can change a base only by loading a
	 * selector */
	uint16_t sels[4];
	stub_read_sels(sels);
	s->ds = sels[0];
	s->es = sels[1];
	s->fs = sels[2];
	s->gs = sels[3];
	int changed = 0;
	for (int i = 0; i < 4; i++) {
		changed |= sels[i] != cur_sels[i];
		cur_sels[i] = sels[i];
	}
	if (changed || (mb->hwcap2 & HWCAP2_FSGSBASE)) {
		cur_fs_base = fs_base_now();
		cur_gs_base = gs_base_now();
	}
	s->fs_base = cur_fs_base;
	s->gs_base = cur_gs_base;

	const uint8_t *fp = (const uint8_t *)sc->fpstate;
	uint32_t size = frame_xsave_size(fp);
	if (size > KQEMU_XSAVE_MAX)
		size = KQEMU_XSAVE_MAX;
	memcpy(s->xsave, fp, size);
	memset(s->xsave + 464, 0, 48);
	const struct _fpx_sw_bytes *sw = (const void *)(fp + 464);
	s->xcr0 = sw->magic1 == FP_XSTATE_MAGIC1 ? sw->xfeatures : 3;
	s->xsave_size = size;
}

/* ---- exits ---- */

static uint8_t peek(uint64_t addr)
{
	return *(volatile const uint8_t *)addr;
}

static void exit_softmmu(struct kqemu_run *run)
{
	run->exit_class = KQEMU_EXIT_SOFTMMU;
}

static void exit_exception(struct kqemu_run *run, uint32_t vector, int32_t err)
{
	run->exit_class = KQEMU_EXIT_EXCEPTION;
	run->vector = vector;
	run->error_code = err;
}

/* #BP/#OF from INT3, INT 3, INT 4: TCG runs the instruction again (the
 * IDT gate's DPL is the guest's business), so rip goes back to it.  The
 * bytes before rip were just executed: they are mapped. */
static void exit_soft_int(struct kqemu_run *run, uint32_t vector)
{
	uint64_t rip = run->state.rip;
	if (vector == 3 && peek(rip - 1) == 0xcc) {
		run->state.rip = rip - 1;
		exit_softmmu(run);
	} else if (peek(rip - 1) == vector && peek(rip - 2) == 0xcd) {
		run->state.rip = rip - 2;
		exit_softmmu(run);
	} else {
		exit_exception(run, vector, -1);
	}
}

static void exit_page(struct kqemu_run *run, uint64_t addr, uint32_t access)
{
	run->exit_class = KQEMU_EXIT_PAGE;
	run->fault_addr = addr;
	run->fault_access = access;
}

static void classify(int sig, const siginfo_t *si, const struct sigcontext *sc,
		     struct kqemu_run *run)
{
	uint64_t trapno = sc->trapno;
	run->vector = 0;
	run->error_code = -1;
	run->fault_addr = 0;
	run->fault_access = 0;
	/* The stub's own code or data: guest code jumped into the hole, or
	 * a frame of ours failed rt_sigreturn.  Neither can be resumed. */
	if (sc->rip >= PROC_HOLE_START && sc->rip < PROC_HOLE_END) {
		set_error(run, "guest code ran into the backend's hole", 0);
		return;
	}
	/* sent by a process (kill, tgkill), not by the CPU */
	if (si->si_code <= 0 || sig == PROC_SIG_KICK) {
		run->exit_class = KQEMU_EXIT_SIGNAL;
		return;
	}
	switch (sig) {
	case SIGSEGV:
		if (trapno == 14) {
			uint32_t acc = (sc->err & X86_PF_INSTR) ? KQEMU_ACC_EXEC :
				       (sc->err & X86_PF_WRITE) ? KQEMU_ACC_WRITE :
				       KQEMU_ACC_READ;
			exit_page(run, (uint64_t)si->si_addr, acc);
		} else if (trapno == 3 || trapno == 4) {
			exit_soft_int(run, (uint32_t)trapno);
		} else {
			exit_softmmu(run);      /* #GP, #NP, #SS...: TCG */
		}
		return;
	case SIGILL:
		exit_softmmu(run);
		return;
	case SIGFPE:
		if (trapno == 0 || trapno == 16 || trapno == 19)
			exit_exception(run, (uint32_t)trapno, -1);
		else
			exit_softmmu(run);
		return;
	case SIGTRAP:
		if (trapno == 3)
			exit_soft_int(run, 3);
		else
			exit_exception(run, trapno == 1 ? 1 : (uint32_t)trapno, -1);
		return;
	case SIGBUS:
		if (trapno == 17)
			exit_exception(run, 17, 0);
		else if (trapno == 14)
			set_error(run, "guest RAM mapping beyond the RAM file", 0);
		else
			exit_softmmu(run);
		return;
	case SIGSYS: {
		uint64_t call = (uint64_t)si->si_call_addr;
		if (call >= VSYSCALL_PAGE && call < VSYSCALL_PAGE + 4096) {
			/* the kernel emulated a ret: undo it, and let the
			 * engine find the guest's mapping of that page */
			run->state.rip = call;
			run->state.regs[4] -= 8;
			exit_page(run, call, KQEMU_ACC_EXEC);
			return;
		}
		run->exit_class = KQEMU_EXIT_SYSCALL;
		run->vector = si->si_arch == AUDIT_ARCH_I386 ? 0x80 : 0;
		return;
	}
	}
	set_error(run, "unexpected signal", 0);
}

/* ---- the handler ---- */

static int enter(struct ucontext *uc)
{
	struct kqemu_run *run = &mb->run;
	if (apply_mappings(run) < 0 || apply_tsc(run) < 0 || apply_segments(run) < 0)
		return -1;
	state_to_frame(&run->state, uc);
	return 0;
}

void stub_on_signal(int sig, siginfo_t *si, struct ucontext *uc);
void stub_on_signal(int sig, siginfo_t *si, struct ucontext *uc)
{
	if (!started && sig == SIGSEGV &&
	    uc->uc_mcontext.rip == (uint64_t)stub_rdtsc_insn) {
		mb->tsc_trap_works = 1;
		uc->uc_mcontext.rip += 2;
		return;
	}
	if (!started) {
		started = 1;
		const uint8_t *fp = (const uint8_t *)uc->uc_mcontext.fpstate;
		const struct _fpx_sw_bytes *sw = (const void *)(fp + 464);
		mb->frame_xfeatures = sw->magic1 == FP_XSTATE_MAGIC1 ? sw->xfeatures : 3;
		mb->frame_size = frame_xsave_size(fp);
		stub_read_sels(cur_sels);
		cur_fs_base = fs_base_now();
		cur_gs_base = gs_base_now();
		__atomic_store_n(&mb->ready, 1, __ATOMIC_RELEASE);
		futex_wake(&mb->ready);
	} else {
		frame_to_state(uc, &mb->run.state);
		classify(sig, si, &uc->uc_mcontext, &mb->run);
		publish();
	}
	for (;;) {
		wait_request();
		if (mb->cmd != PROC_CMD_RUN)
			sc1(__NR_exit_group, 0);
		if (enter(uc) == 0)
			return;
		publish();
	}
}
