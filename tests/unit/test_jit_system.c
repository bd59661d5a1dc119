/*
 * The JIT's system instructions at CPL 0 (user/tcg/jit/gen-system.c):
 * SWAPGS, RDTSC, RDTSCP and CLI as generated code, run through tcg_exec
 * in 64-bit mode at CPL 0 with the JIT on, each checked against what the
 * SDM says the instruction does (and against the interpreter's run of
 * the same code where the result is deterministic).
 */
#include "unit.h"
#include "tcgtest.h"
#include "accel.h"
#include "hw/apic.h"
#include "tcg/jit/jit.h"

#define CODE 0x100000ULL
#define DATA 0x200000ULL

static bool env(struct tcg_env *e, const uint8_t *code, size_t n, bool jit)
{
	return tcg_env_long_code(e, CODE, code, n, jit);
}

/* run to the HLT at the end */
static bool run(struct tcg_cpu *c)
{
	for (int guard = 0; guard < 100 && !c->halted; guard++)
		if (tcg_exec(c) != VCPU_EXIT_AGAIN && !c->halted)
			return false;
	return c->halted;
}

static uint64_t native_insns(const struct tcg_cpu *c)
{
	struct jit_stats s;
	jit_get_stats(c, &s);
	return s.native_insns;
}

/* swapgs; mov rax, gs:[8]; swapgs; mov rbx, gs:[8]; hlt */
static const uint8_t swapgs_code[] = {
	0x0f, 0x01, 0xf8, 0x65, 0x48, 0x8b, 0x04, 0x25, 0x08, 0x00, 0x00, 0x00,
	0x0f, 0x01, 0xf8, 0x65, 0x48, 0x8b, 0x1c, 0x25, 0x08, 0x00, 0x00, 0x00, 0xf4,
};

TEST(jit_swapgs_at_cpl0)
{
	for (int jit = 0; jit < 2; jit++) {
		struct tcg_env e;
		CHECK(env(&e, swapgs_code, sizeof(swapgs_code), jit));
		struct tcg_cpu *c = e.c;
		uint64_t user_v = 0x1111, kernel_v = 0x2222;
		guest_write(e.m, DATA + 8, &user_v, 8);
		guest_write(e.m, DATA + 0x1008, &kernel_v, 8);
		c->s.seg[S_GS].base = DATA;
		c->s.kernel_gs_base = DATA + 0x1000;
		CHECK(run(c));
		/* the access right after SWAPGS, in the same block, uses the
		 * new base; the second SWAPGS brings the first back */
		CHECK_EQ(c->s.regs[R_RAX], kernel_v);
		CHECK_EQ(c->s.regs[R_RBX], user_v);
		CHECK_EQ(c->s.seg[S_GS].base, DATA);
		CHECK_EQ(c->s.kernel_gs_base, DATA + 0x1000);
		if (jit)
			CHECK(native_insns(c) >= 4);    /* SWAPGS generated, not called */
		tcg_env_free(&e);
	}
}

/* rdtsc; mov rbx, rax; mov rsi, rdx; rdtscp; hlt */
static const uint8_t tsc_code[] = {
	0x0f, 0x31, 0x48, 0x89, 0xc3, 0x48, 0x89, 0xd6, 0x0f, 0x01, 0xf9, 0xf4,
};

TEST(jit_rdtsc_rdtscp_at_cpl0)
{
	for (int jit = 0; jit < 2; jit++) {
		struct tcg_env e;
		CHECK(env(&e, tsc_code, sizeof(tsc_code), jit));
		struct tcg_cpu *c = e.c;
		/* an offset that carries into the upper half */
		c->tsc_offset = 0x0000123480000000ULL;
		c->s.tsc_aux = 0xabcd1234;
		c->s.regs[R_RAX] = c->s.regs[R_RDX] = c->s.regs[R_RCX] = ~0ULL;
		uint64_t before = host_rdtsc() + c->tsc_offset;
		CHECK(run(c));
		uint64_t after = host_rdtsc() + c->tsc_offset;
		uint64_t first = c->s.regs[R_RSI] << 32 | c->s.regs[R_RBX];
		uint64_t second = c->s.regs[R_RDX] << 32 | c->s.regs[R_RAX];
		/* EDX:EAX, the upper halves of RAX and RDX (and RCX) cleared */
		CHECK(c->s.regs[R_RBX] <= 0xffffffffULL && c->s.regs[R_RSI] <= 0xffffffffULL);
		CHECK(c->s.regs[R_RAX] <= 0xffffffffULL && c->s.regs[R_RDX] <= 0xffffffffULL);
		CHECK(before <= first && first <= second && second <= after);
		CHECK_EQ(c->s.regs[R_RCX], 0xabcd1234);
		tcg_env_free(&e);
	}
}

/* cmp rax, rbx; cli; sete cl; setc dl; hlt: the flags of CMP live across CLI */
static const uint8_t cli_code[] = {
	0x48, 0x39, 0xd8, 0xfa, 0x0f, 0x94, 0xc1, 0x0f, 0x92, 0xc2, 0xf4,
};

TEST(jit_cli_keeps_live_flags)
{
	static const uint64_t pairs[][2] = { { 5, 5 }, { 3, 7 }, { 9, 2 } };
	for (int jit = 0; jit < 2; jit++) {
		for (unsigned k = 0; k < 3; k++) {
			struct tcg_env e;
			CHECK(env(&e, cli_code, sizeof(cli_code), jit));
			struct tcg_cpu *c = e.c;
			c->s.rflags |= FL_IF;
			c->s.regs[R_RAX] = pairs[k][0];
			c->s.regs[R_RBX] = pairs[k][1];
			c->s.regs[R_RCX] = c->s.regs[R_RDX] = 0;
			CHECK(run(c));
			CHECK(!(c->s.rflags & FL_IF));
			CHECK_EQ(c->s.regs[R_RCX], pairs[k][0] == pairs[k][1]);
			CHECK_EQ(c->s.regs[R_RDX], pairs[k][0] < pairs[k][1]);
			tcg_env_free(&e);
		}
	}
}
