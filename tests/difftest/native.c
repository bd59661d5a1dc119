/*
 * Native runner: the code and data pages at fixed addresses in this
 * process, the trampoline of trampoline.S, and signal handlers that turn a
 * fault of the instruction under test into an exception vector.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cpuid.h>
#include <ucontext.h>
#include <unistd.h>
#include "difftest.h"

struct dt_cpu dt_in, dt_out;
extern uint64_t dt_entry;
extern uint32_t dt_exit_slot;
static uint32_t ymmh_offset = 576;      /* standard-format XSAVE offset of AVX */
void dt_native_enter(void);
void dt_native_fixup(void);
void dt_exit0(void);
void dt_exit1(void);
void dt_exit2(void);
void dt_exit3(void);

_Static_assert(offsetof(struct dt_cpu, rip) == 128, "trampoline.S offsets");
_Static_assert(offsetof(struct dt_cpu, rflags) == 136, "trampoline.S offsets");
_Static_assert(offsetof(struct dt_cpu, fx) == 144, "trampoline.S offsets");
_Static_assert(offsetof(struct dt_cpu, ymmh) == 656, "trampoline.S offsets");

static uint8_t *code_page = (uint8_t *)DT_CODE_BASE;
static uint8_t *data_page = (uint8_t *)DT_DATA_BASE;
static sigjmp_buf fault_jmp;
static volatile sig_atomic_t in_test;
static struct {
	int sig, code, trapno, err;
	uint64_t addr;
} fault;

static void *map_fixed(uint64_t addr, size_t len, int prot)
{
	void *p = mmap((void *)addr, len, prot,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED || p != (void *)addr) {
		fprintf(stderr, "difftest: cannot map %#llx: %m\n",
			(unsigned long long)addr);
		return NULL;
	}
	return p;
}

/*
 * The upper halves of the YMM registers in a signal frame: Linux writes
 * the XSAVE standard format after the FXSAVE image when bytes 464-467
 * (its software-reserved area) hold FP_XSTATE_MAGIC1; a component whose
 * XSTATE_BV bit is clear is in its initial state, zero (SDM Vol. 1,
 * 13.6).
 */
static void ymmh_from_frame(const uint8_t *fx)
{
	uint32_t magic, size;
	uint64_t bv;

	memset(dt_out.ymmh, 0, sizeof(dt_out.ymmh));
	memcpy(&magic, fx + 464, 4);
	memcpy(&size, fx + 468, 4);
	if (!dt_native_avx || magic != 0x46505853 || size < ymmh_offset + 256)
		return;
	memcpy(&bv, fx + 512, 8);
	if (bv & 4)
		memcpy(dt_out.ymmh, fx + ymmh_offset, sizeof(dt_out.ymmh));
}

/*
 * The kernel stores the vector (trapno) and error code of the fault in
 * the signal frame; si_code is the fallback.  The registers at the fault
 * are the result: faults are restartable, so they show the state before
 * the instruction (or a REP string op's progress).
 */
static void on_fault(int sig, siginfo_t *si, void *uc_void)
{
	ucontext_t *uc = uc_void;
	greg_t *g = uc->uc_mcontext.gregs;
	static const int map[16] = {
		REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI,
		REG_RDI, REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13,
		REG_R14, REG_R15,
	};

	if (!in_test) {
		signal(sig, SIG_DFL);
		return;
	}
	for (int i = 0; i < 16; i++)
		dt_out.regs[i] = g[map[i]];
	dt_out.rip = g[REG_RIP];
	dt_out.rflags = g[REG_EFL];
	if (uc->uc_mcontext.fpregs) {
		memcpy(dt_out.fx, uc->uc_mcontext.fpregs, 512);
		ymmh_from_frame((const uint8_t *)uc->uc_mcontext.fpregs);
	}
	fault.sig = sig;
	fault.code = si->si_code;
	fault.addr = (uint64_t)si->si_addr;
	fault.trapno = g[REG_TRAPNO];
	fault.err = g[REG_ERR];
	in_test = 0;
	siglongjmp(fault_jmp, 1);
}

int dt_native_init(void)
{
	static uint8_t altstack[64 * 1024] __attribute__((aligned(16)));
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa;
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP };

	if (!map_fixed(DT_CODE_BASE, DT_CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC) ||
	    !map_fixed(DT_CODE_BASE + DT_CODE_SIZE, 0x1000, PROT_NONE) ||
	    !map_fixed(DT_DATA_BASE - 0x1000, 0x1000, PROT_NONE) ||
	    !map_fixed(DT_DATA_BASE, DT_DATA_SIZE, PROT_READ | PROT_WRITE) ||
	    !map_fixed(DT_DATA_BASE + DT_DATA_SIZE, 0x1000, PROT_NONE))
		return -1;
	memset(code_page, 0xf4, DT_CODE_SIZE);
	/* the trampoline moves the YMM upper halves where the host has AVX
	 * (the check includes the OS enabling it in XCR0) */
	__builtin_cpu_init();
	dt_native_avx = __builtin_cpu_supports("avx") != 0;
	if (dt_native_avx) {
		unsigned a, b, c, d;

		__cpuid_count(0xd, 2, a, b, c, d);
		if (a == 256)
			ymmh_offset = b;
	}
	if (sigaltstack(&ss, NULL) < 0) {
		perror("difftest: sigaltstack");
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	/* NODEFER: siglongjmp leaves the handler without restoring the mask */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0) {
			perror("difftest: sigaction");
			return -1;
		}
	return 0;
}

/* Write the instruction and its landing stubs into page (a copy of the
 * code page filled with HLT), or put HLT back when clear is set. */
void dt_place_code(const struct dt_case *c, uint8_t *page, bool clear)
{
	static void (*const exits[DT_MAX_LAND])(void) = {
		dt_exit0, dt_exit1, dt_exit2, dt_exit3,
	};
	uint8_t stub[DT_STUB_LEN] = { 0xff, 0x25, 0, 0, 0, 0 };
	unsigned off = DT_INSN_ADDR - DT_CODE_BASE;

	if (clear) {
		memset(page + off, 0xf4, c->len);
	} else {
		memcpy(page + off, c->code, c->len);
	}
	for (unsigned i = 0; i < c->nland; i++) {
		uint64_t a = (uint64_t)exits[i];

		off = c->land[i] - DT_CODE_BASE;
		if (off > DT_CODE_SIZE - DT_STUB_LEN)
			continue;
		if (clear) {
			memset(page + off, 0xf4, DT_STUB_LEN);
			continue;
		}
		memcpy(stub + 6, &a, 8);
		memcpy(page + off, stub, DT_STUB_LEN);
	}
}

static int vector_of_signal(void)
{
	if (fault.trapno >= 0 && fault.trapno < 32)
		return fault.trapno;
	switch (fault.sig) {
	case SIGILL: return 6;
	case SIGTRAP: return 3;
	case SIGBUS: return 12;
	case SIGFPE:
		return fault.code == FPE_INTDIV || fault.code == FPE_INTOVF ? 0 : 19;
	default:
		return fault.code == SEGV_MAPERR || fault.code == SEGV_ACCERR ? 14 : 13;
	}
}

void dt_native_run(const struct dt_case *c, struct dt_result *r)
{
	dt_place_code(c, code_page, false);
	memcpy(data_page, c->data, DT_DATA_SIZE);
	dt_in = c->in;
	dt_entry = DT_INSN_ADDR;
	r->vec = -1;
	r->err = -1;
	r->cr2 = 0;
	if (sigsetjmp(fault_jmp, 0) == 0) {
		in_test = 1;
		dt_native_enter();
		in_test = 0;
		dt_out.rip = dt_exit_slot < c->nland ? c->land[dt_exit_slot] : 0;
	} else {
		dt_native_fixup();
		r->vec = vector_of_signal();
		/* a fault outside the code page is the harness's own */
		if (dt_out.rip - DT_CODE_BASE >= DT_CODE_SIZE)
			r->vec = DT_HARNESS_FAULT;
		if (r->vec == 13 || r->vec == 12 || r->vec == 14 || r->vec == 17)
			r->err = fault.err;
		if (r->vec == 14)
			r->cr2 = fault.addr;
	}
	r->cpu = dt_out;
	memcpy(r->data, data_page, DT_DATA_SIZE);
	dt_place_code(c, code_page, true);
}

/* The MXCSR_MASK field of the host's FXSAVE image (SDM Vol. 1, 11.6.6). */
uint32_t dt_native_mxcsr_mask(void)
{
	static uint8_t img[512] __attribute__((aligned(16)));
	uint32_t mask;

	__asm__ volatile("fxsave64 %0" : "=m"(img));
	memcpy(&mask, img + FX_MXCSR_MASK, 4);
	return mask;
}
