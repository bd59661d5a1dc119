/*
 * TCG MMX/SSE instructions (user/tcg/sse.c, sse-int.c, sse-fp.c): a few
 * representative results of each family, the exception classes (EM, TS,
 * OSFXSR, alignment, unmasked SIMD exceptions), MXCSR handling, FXSAVE/
 * FXRSTOR and the MMX/x87 tag effects.  The bit-exact comparison of every
 * instruction against the host is tests/difftest/'s job.
 *
 * Each test builds a 16 MiB machine and one TCG vCPU in 64-bit mode
 * (identity-mapped, OSFXSR and OSXMMEXCPT set) and runs single
 * instructions with tcg_step().
 */
#include <string.h>
#include "unit.h"
#include "machine.h"
#include "tcg/tcg.h"
#include "tcgtest.h"

#define CODE_BASE 0x1000
#define DATA 0x3000
#define PML4 TCGT_PML4

/* 64-bit mode, CPL 0, the first 16 MiB identity-mapped in 2 MiB pages */
static bool env_init(struct tcg_env *e)
{
	if (!tcg_env_init(e, CODE_BASE))
		return false;
	tcg_env_long_mode(e);
	struct tcg_cpu *c = e->c;
	c->s.cr0 |= CR0_NE | CR0_MP;
	c->s.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
	tcg_env_flat_segs(c, 0, true);
	c->s.rflags = 2;
	c->s.regs[R_RSP] = 0x9000;
	return true;
}

#define XMM(c, r) ((c)->fpu.xmm[r])

static void set_xmm_q(struct tcg_cpu *c, unsigned r, uint64_t lo, uint64_t hi)
{
	XMM(c, r).q[0] = lo;
	XMM(c, r).q[1] = hi;
}

static void set_xmm_bytes(struct tcg_cpu *c, unsigned r, const char *s)
{
	memset(XMM(c, r).b, 0, 16);
	memcpy(XMM(c, r).b, s, strnlen(s, 16));
}

static uint64_t mm_get(struct tcg_cpu *c, unsigned r)
{
	uint64_t v;
	memcpy(&v, &c->fpu.st[r], 8);
	return v;
}

static uint16_t mm_exp(struct tcg_cpu *c, unsigned r)
{
	uint16_t v;
	memcpy(&v, (uint8_t *)&c->fpu.st[r] + 8, 2);
	return v;
}

static uint64_t flags(struct tcg_cpu *c)
{
	return tcg_arith_flags(c);
}

TEST(tcg_sse_pshufb_and_logic)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;

	set_xmm_q(c, 0, 0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull);
	set_xmm_q(c, 1, 0x80000102030f0e0full, 0x0001020304050607ull);
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x38, 0x00, 0xc1), -1);   /* pshufb xmm0, xmm1 */
	CHECK_EQ(XMM(c, 0).q[0], 0x00000102030f0e0full);
	CHECK_EQ(XMM(c, 0).q[1], 0x0001020304050607ull);

	set_xmm_q(c, 2, 0xff00ff00ff00ff00ull, 1);
	set_xmm_q(c, 3, 0x0ff00ff00ff00ff0ull, 3);
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0xef, 0xd3), -1);         /* pxor xmm2, xmm3 */
	CHECK_EQ(XMM(c, 2).q[0], 0xf0f0f0f0f0f0f0f0ull);
	CHECK_EQ(XMM(c, 2).q[1], 2);
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0xd7, 0xc2), -1);         /* pmovmskb eax, xmm2 */
	CHECK_EQ(c->s.regs[R_RAX], 0xff);

	/* xmm8 via REX.R: movd xmm8, eax then paddd xmm8, xmm8 */
	c->s.regs[R_RAX] = 0xffffffff80000001ull;
	set_xmm_q(c, 8, ~0ull, ~0ull);
	CHECK_EQ(STEP(&e, 0x66, 0x44, 0x0f, 0x6e, 0xc0), -1);
	CHECK_EQ(XMM(c, 8).q[0], 0x80000001ull);
	CHECK_EQ(XMM(c, 8).q[1], 0);
	CHECK_EQ(STEP(&e, 0x66, 0x45, 0x0f, 0xfe, 0xc0), -1);
	CHECK_EQ(XMM(c, 8).q[0], 0x2ull);

	/* psrldq xmm0, 4; pextrq rax, xmm0, 1; pinsrd xmm0, ecx, 3 */
	set_xmm_q(c, 0, 0x1111111122222222ull, 0x3333333344444444ull);
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x73, 0xd8, 0x04), -1);
	CHECK_EQ(XMM(c, 0).q[0], 0x4444444411111111ull);
	CHECK_EQ(XMM(c, 0).q[1], 0x0000000033333333ull);
	CHECK_EQ(STEP(&e, 0x66, 0x48, 0x0f, 0x3a, 0x16, 0xc0, 0x01), -1);
	CHECK_EQ(c->s.regs[R_RAX], 0x0000000033333333ull);
	c->s.regs[R_RCX] = 0xabcdef;
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x3a, 0x22, 0xc1, 0x03), -1);
	CHECK_EQ(XMM(c, 0).d[3], 0xabcdef);

	/* ptest xmm0, xmm1: ZF when no common bit, CF when xmm1 within xmm0 */
	set_xmm_q(c, 0, 0xff, 0);
	set_xmm_q(c, 1, 0x0f, 0);
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x38, 0x17, 0xc1), -1);
	CHECK_EQ(flags(c) & FL_ARITH, FL_CF);
	set_xmm_q(c, 1, 0, 0x100);
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x38, 0x17, 0xc1), -1);
	CHECK_EQ(flags(c) & FL_ARITH, FL_ZF);
	tcg_env_free(&e);
}

TEST(tcg_sse_pcmpistri)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;

	/* equal ordered, unsigned bytes: "lo" in "hello world" at 3 */
	set_xmm_bytes(c, 0, "lo");
	set_xmm_bytes(c, 1, "hello world");
	c->s.regs[R_RCX] = ~0ull;
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x3a, 0x63, 0xc1, 0x0c), -1);
	CHECK_EQ(c->s.regs[R_RCX], 3);
	CHECK_EQ(flags(c) & FL_ARITH, FL_CF | FL_ZF | FL_SF);

	/* equal any: first of "od" in "hello world" is 'o' at 4; most
	 * significant (imm bit 6) is 'd' at 10 */
	set_xmm_bytes(c, 0, "od");
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x3a, 0x63, 0xc1, 0x00), -1);
	CHECK_EQ(c->s.regs[R_RCX], 4);
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x3a, 0x63, 0xc1, 0x40), -1);
	CHECK_EQ(c->s.regs[R_RCX], 10);

	/* no match: index 16, CF clear */
	set_xmm_bytes(c, 0, "z");
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x3a, 0x63, 0xc1, 0x00), -1);
	CHECK_EQ(c->s.regs[R_RCX], 16);
	CHECK_EQ(flags(c) & FL_CF, 0);

	/* pcmpestrm, explicit lengths 2 and 5, byte mask into xmm0 */
	set_xmm_bytes(c, 0, "ab");
	set_xmm_bytes(c, 1, "xaybb");
	c->s.regs[R_RAX] = 2;
	c->s.regs[R_RDX] = 5;
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x3a, 0x60, 0xc1, 0x00), -1);
	CHECK_EQ(XMM(c, 0).q[0], 0x1a);                 /* bits 1 3 4 */
	CHECK_EQ(XMM(c, 0).q[1], 0);
	/* unaligned memory operands are fine for the string compares */
	guest_write(e.m, DATA + 1, "xaybb", 6);
	c->s.regs[R_RBX] = DATA + 1;
	set_xmm_bytes(c, 0, "ab");
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x3a, 0x61, 0x03, 0x00), -1); /* pcmpestri xmm0, [rbx] */
	CHECK_EQ(c->s.regs[R_RCX], 1);
	tcg_env_free(&e);
}

TEST(tcg_sse_convert)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	double big = 1e10, half = 2.5;

	/* cvttsd2si eax, xmm0 out of range: the integer indefinite, #I */
	memcpy(&XMM(c, 0).q[0], &big, 8);
	c->s.regs[R_RAX] = ~0ull;
	CHECK_EQ(STEP(&e, 0xf2, 0x0f, 0x2c, 0xc0), -1);
	CHECK_EQ(c->s.regs[R_RAX], 0x80000000ull);
	CHECK(c->fpu.mxcsr & 1);
	/* 64-bit form fits */
	CHECK_EQ(STEP(&e, 0xf2, 0x48, 0x0f, 0x2c, 0xc0), -1);
	CHECK_EQ(c->s.regs[R_RAX], 10000000000ull);
	/* cvtsd2si rounds to nearest even by MXCSR.RC; round down (RC=01) */
	memcpy(&XMM(c, 0).q[0], &half, 8);
	CHECK_EQ(STEP(&e, 0xf2, 0x0f, 0x2d, 0xc0), -1);
	CHECK_EQ(c->s.regs[R_RAX], 2);
	c->fpu.mxcsr = 0x1f80 | 0x2000;
	CHECK_EQ(STEP(&e, 0xf2, 0x0f, 0x2d, 0xc0), -1);
	CHECK_EQ(c->s.regs[R_RAX], 2);
	c->fpu.mxcsr = 0x1f80 | 0x4000;                 /* round up */
	CHECK_EQ(STEP(&e, 0xf2, 0x0f, 0x2d, 0xc0), -1);
	CHECK_EQ(c->s.regs[R_RAX], 3);
	CHECK_EQ(c->fpu.mxcsr, 0x1f80 | 0x4000 | 0x20); /* PE */
	c->fpu.mxcsr = 0x1f80;

	/* cvtsi2sd xmm1, rax keeps the upper half */
	c->s.regs[R_RAX] = (uint64_t)-3;
	set_xmm_q(c, 1, 0, 0x1234);
	CHECK_EQ(STEP(&e, 0xf2, 0x48, 0x0f, 0x2a, 0xc8), -1);
	CHECK(XMM(c, 1).df[0] == -3.0);
	CHECK_EQ(XMM(c, 1).q[1], 0x1234);
	/* roundsd xmm0, xmm1, 1 (floor) of -3.0 + 0.5 */
	XMM(c, 1).df[0] = -2.5;
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x3a, 0x0b, 0xc1, 0x01), -1);
	CHECK(XMM(c, 0).df[0] == -3.0);
	/* dpps xmm0, xmm1, 0xf1 */
	XMM(c, 0).f[0] = 1; XMM(c, 0).f[1] = 2; XMM(c, 0).f[2] = 3; XMM(c, 0).f[3] = 4;
	XMM(c, 1).f[0] = 5; XMM(c, 1).f[1] = 6; XMM(c, 1).f[2] = 7; XMM(c, 1).f[3] = 8;
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x3a, 0x40, 0xc1, 0xf1), -1);
	CHECK(XMM(c, 0).f[0] == 70.0f && XMM(c, 0).f[1] == 0.0f);
	/* comisd xmm0, xmm1: 70 > 5 -> ZF PF CF clear; unordered sets all */
	XMM(c, 0).df[0] = 1.0;
	XMM(c, 1).df[0] = 2.0;
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x2f, 0xc1), -1);
	CHECK_EQ(flags(c) & FL_ARITH, FL_CF);
	XMM(c, 1).q[0] = 0x7ff8000000000000ull;
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x2e, 0xc1), -1);
	CHECK_EQ(flags(c) & FL_ARITH, FL_ZF | FL_PF | FL_CF);
	tcg_env_free(&e);
}

TEST(tcg_sse_divide_by_zero)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;

	/* masked: +inf and MXCSR.ZE */
	set_xmm_q(c, 0, 0x3f800000, 0x77);
	set_xmm_q(c, 1, 0, 0);
	CHECK_EQ(STEP(&e, 0xf3, 0x0f, 0x5e, 0xc1), -1);        /* divss xmm0, xmm1 */
	CHECK_EQ(XMM(c, 0).d[0], 0x7f800000);
	CHECK_EQ(XMM(c, 0).q[1], 0x77);
	CHECK_EQ(c->fpu.mxcsr, 0x1f80 | 4);

	/* unmasked: #XM, the destination unchanged, the flag set */
	c->fpu.mxcsr = 0x1f80 & ~0x200;
	set_xmm_q(c, 0, 0x3f800000, 0x77);
	CHECK_EQ(STEP(&e, 0xf3, 0x0f, 0x5e, 0xc1), EXC_XM);
	CHECK_EQ(XMM(c, 0).d[0], 0x3f800000);
	CHECK_EQ(c->fpu.mxcsr, (0x1f80 & ~0x200) | 4);
	/* without CR4.OSXMMEXCPT it is #UD */
	c->s.cr4 &= ~CR4_OSXMMEXCPT;
	CHECK_EQ(STEP(&e, 0xf3, 0x0f, 0x5e, 0xc1), EXC_UD);
	c->s.cr4 |= CR4_OSXMMEXCPT;
	/* a masked exception elsewhere does not fault: 1/2 is exact */
	set_xmm_q(c, 1, 0x40000000, 0);
	c->fpu.mxcsr = 0x1f80 & ~0x200;
	CHECK_EQ(STEP(&e, 0xf3, 0x0f, 0x5e, 0xc1), -1);
	CHECK_EQ(XMM(c, 0).d[0], 0x3f000000);
	tcg_env_free(&e);
}

TEST(tcg_sse_exceptions_and_alignment)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;

	c->s.regs[R_RAX] = DATA + 8;
	CHECK_EQ(STEP(&e, 0x0f, 0x28, 0x00), EXC_GP);          /* movaps xmm0, [rax] */
	CHECK_EQ(c->test_errcode, 0);
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0xfc, 0x00), EXC_GP);    /* paddb xmm0, [rax] */
	CHECK_EQ(STEP(&e, 0x0f, 0x10, 0x00), -1);              /* movups */
	CHECK_EQ(STEP(&e, 0xf3, 0x0f, 0x58, 0x00), -1);        /* addss: m32 */
	CHECK_EQ(STEP(&e, 0x0f, 0xfc, 0x00), -1);              /* paddb mm0, [rax] */
	c->s.regs[R_RAX] = DATA;
	CHECK_EQ(STEP(&e, 0x0f, 0x28, 0x00), -1);

	c->s.cr0 |= CR0_TS;
	CHECK_EQ(STEP(&e, 0x0f, 0x28, 0x00), EXC_NM);
	CHECK_EQ(STEP(&e, 0x0f, 0xfc, 0xc1), EXC_NM);          /* paddb mm0, mm1 */
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x00), EXC_NM);          /* fxsave */
	c->s.cr0 &= ~CR0_TS;
	c->s.cr0 |= CR0_EM;
	CHECK_EQ(STEP(&e, 0x0f, 0x28, 0x00), EXC_UD);
	CHECK_EQ(STEP(&e, 0x0f, 0xfc, 0xc1), EXC_UD);
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x00), EXC_NM);
	c->s.cr0 &= ~CR0_EM;
	c->s.cr4 &= ~CR4_OSFXSR;
	CHECK_EQ(STEP(&e, 0x0f, 0x28, 0x00), EXC_UD);
	CHECK_EQ(STEP(&e, 0x0f, 0xfc, 0xc1), -1);              /* MMX ignores OSFXSR */
	c->s.cr4 |= CR4_OSFXSR;

	/* LOCK, register forms that need memory, undefined prefixes */
	CHECK_EQ(STEP(&e, 0xf0, 0x0f, 0x28, 0x00), EXC_UD);
	CHECK_EQ(STEP(&e, 0x0f, 0x2b, 0xc0), EXC_UD);          /* movntps xmm, xmm */
	CHECK_EQ(STEP(&e, 0xf3, 0x0f, 0x38, 0x00, 0xc1), EXC_UD);
	CHECK_EQ(STEP(&e, 0x0f, 0x38, 0x10, 0xc1), EXC_UD);    /* pblendvb needs 66 */
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x20), EXC_UD);          /* xsave: not advertised */

	/* LDMXCSR with a reserved bit */
	uint32_t bad = 0x10000;
	guest_write(e.m, DATA, &bad, 4);
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x10), EXC_GP);
	uint32_t good = 0x9fc0;
	guest_write(e.m, DATA, &good, 4);
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x10), -1);
	CHECK_EQ(c->fpu.mxcsr, 0x9fc0);
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x18), -1);              /* stmxcsr */

	/* fences and clflush */
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0xf0), -1);
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0xe8), -1);
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0xf8), -1);
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x38), -1);
	c->s.regs[R_RAX] = 0x8000000000000000ull;              /* non-canonical */
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x38), EXC_GP);
	tcg_env_free(&e);
}

TEST(tcg_sse_fxsave_fxrstor)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	uint8_t img[512];

	for (unsigned r = 0; r < 16; r++)
		set_xmm_q(c, r, 0x0101010101010101ull * r, ~0ull - r);
	c->fpu.mxcsr = 0x1f80 | 0x6000;
	c->s.regs[R_RAX] = DATA + 8;
	CHECK_EQ(STEP(&e, 0x48, 0x0f, 0xae, 0x00), EXC_GP);    /* misaligned */
	c->s.regs[R_RAX] = DATA;
	memset(img, 0x5a, sizeof(img));
	guest_write(e.m, DATA, img, 512);
	CHECK_EQ(STEP(&e, 0x48, 0x0f, 0xae, 0x00), -1);        /* fxsave64 [rax] */
	guest_read(e.m, DATA, img, 512);
	uint32_t mx;
	memcpy(&mx, img + 24, 4);
	CHECK_EQ(mx, 0x7f80);
	CHECK_EQ(img[160 + 16 * 15], 0x0f);                    /* xmm15 */
	CHECK_EQ(img[464], 0x5a);                               /* software area */

	for (unsigned r = 0; r < 16; r++)
		set_xmm_q(c, r, 0, 0);
	c->fpu.mxcsr = 0x1f80;
	CHECK_EQ(STEP(&e, 0x48, 0x0f, 0xae, 0x08), -1);        /* fxrstor64 [rax] */
	CHECK_EQ(c->fpu.mxcsr, 0x7f80);
	for (unsigned r = 0; r < 16; r++) {
		CHECK_EQ(XMM(c, r).q[0], 0x0101010101010101ull * r);
		CHECK_EQ(XMM(c, r).q[1], ~0ull - r);
	}
	/* a reserved MXCSR bit in the image: #GP, nothing restored */
	mx = 0x11f80;
	guest_write(e.m, DATA + 24, &mx, 4);
	set_xmm_q(c, 3, 7, 7);
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x08), EXC_GP);
	CHECK_EQ(XMM(c, 3).q[0], 7);
	tcg_env_free(&e);
}

TEST(tcg_sse_mmx_state)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;

	CHECK_EQ(c->fpu.ftw, 0xffff);                           /* reset: empty */
	c->fpu.top = 5;
	c->s.regs[R_RAX] = 0x8877665544332211ull;
	CHECK_EQ(STEP(&e, 0x48, 0x0f, 0x6e, 0xc0), -1);        /* movq mm0, rax */
	CHECK_EQ(mm_get(c, 0), 0x8877665544332211ull);
	CHECK_EQ(mm_exp(c, 0), 0xffff);
	CHECK_EQ(c->fpu.ftw, 0);
	CHECK_EQ(c->fpu.top, 0);
	c->s.regs[R_RCX] = 0x0101010101010101ull;
	CHECK_EQ(STEP(&e, 0x48, 0x0f, 0x6e, 0xc9), -1);        /* movq mm1, rcx */
	CHECK_EQ(STEP(&e, 0x0f, 0xd8, 0xc1), -1);              /* psubusb mm0, mm1 */
	CHECK_EQ(mm_get(c, 0), 0x8776655443322110ull);
	CHECK_EQ(STEP(&e, 0x0f, 0x7e, 0xc2), -1);              /* movd edx, mm0 */
	CHECK_EQ(c->s.regs[R_RDX], 0x43322110ull);
	CHECK_EQ(STEP(&e, 0x0f, 0x73, 0xd0, 0x20), -1);        /* psrlq mm0, 32 */
	CHECK_EQ(mm_get(c, 0), 0x87766554ull);
	/* movq2dq xmm2, mm0 */
	set_xmm_q(c, 2, ~0ull, ~0ull);
	CHECK_EQ(STEP(&e, 0xf3, 0x0f, 0xd6, 0xd0), -1);
	CHECK_EQ(XMM(c, 2).q[0], 0x87766554ull);
	CHECK_EQ(XMM(c, 2).q[1], 0);

	CHECK_EQ(STEP(&e, 0x0f, 0x77), -1);                    /* emms */
	CHECK_EQ(c->fpu.ftw, 0xffff);

	/* a pending unmasked x87 exception: #MF with CR0.NE */
	c->fpu.fsw |= 0x80;
	CHECK_EQ(STEP(&e, 0x0f, 0xfc, 0xc1), EXC_MF);
	CHECK_EQ(STEP(&e, 0x0f, 0x28, 0xc1), -1);              /* SSE does not care */
	c->fpu.fsw &= ~0x80;

	/* pshufw and the FXSAVE image of the MMX registers */
	CHECK_EQ(STEP(&e, 0x0f, 0x70, 0xc1, 0x1b), -1);        /* pshufw mm0, mm1, 0x1b */
	CHECK_EQ(mm_get(c, 0), 0x0101010101010101ull);
	c->s.regs[R_RAX] = DATA;
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x00), -1);
	uint8_t img[48];
	guest_read(e.m, DATA, img, sizeof(img));
	CHECK_EQ(img[4], 0xff);                                 /* all valid */
	CHECK_EQ(img[32 + 8], 0xff);
	CHECK_EQ(img[32 + 9], 0xff);
	tcg_env_free(&e);
}

TEST(tcg_sse_maskmov_and_moves)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	uint8_t buf[16];

	memset(buf, 0xee, sizeof(buf));
	guest_write(e.m, DATA, buf, 16);
	set_xmm_q(c, 0, 0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull);
	set_xmm_q(c, 1, 0x80000000000080ffull, 0x8000000000000000ull);
	c->s.regs[R_RDI] = DATA;
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0xf7, 0xc1), -1);        /* maskmovdqu */
	guest_read(e.m, DATA, buf, 16);
	CHECK_EQ(buf[0], 0x00);
	CHECK_EQ(buf[1], 0x01);
	CHECK_EQ(buf[2], 0xee);
	CHECK_EQ(buf[7], 0x07);
	CHECK_EQ(buf[15], 0x0f);
	CHECK_EQ(buf[14], 0xee);

	/* movhlps / movlhps / movss merge / movss load zero-extends */
	set_xmm_q(c, 2, 1, 2);
	set_xmm_q(c, 3, 3, 4);
	CHECK_EQ(STEP(&e, 0x0f, 0x12, 0xd3), -1);              /* movhlps xmm2, xmm3 */
	CHECK_EQ(XMM(c, 2).q[0], 4);
	CHECK_EQ(STEP(&e, 0x0f, 0x16, 0xd3), -1);              /* movlhps xmm2, xmm3 */
	CHECK_EQ(XMM(c, 2).q[1], 3);
	set_xmm_q(c, 2, ~0ull, ~0ull);
	CHECK_EQ(STEP(&e, 0xf3, 0x0f, 0x10, 0xd3), -1);        /* movss xmm2, xmm3 */
	CHECK_EQ(XMM(c, 2).q[0], 0xffffffff00000003ull);
	c->s.regs[R_RAX] = DATA;
	CHECK_EQ(STEP(&e, 0xf3, 0x0f, 0x10, 0x10), -1);        /* movss xmm2, [rax] */
	CHECK_EQ(XMM(c, 2).q[0], 0xeeee0100ull);
	CHECK_EQ(XMM(c, 2).q[1], 0);
	/* movdqa [rax], xmm0 then movq xmm4, [rax+8] */
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x7f, 0x00), -1);
	CHECK_EQ(STEP(&e, 0xf3, 0x0f, 0x7e, 0x60, 0x08), -1);
	CHECK_EQ(XMM(c, 4).q[0], 0x0f0e0d0c0b0a0908ull);
	CHECK_EQ(XMM(c, 4).q[1], 0);
	/* pmovzxbw, packuswb, pminud */
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x38, 0x30, 0xe8), -1);  /* pmovzxbw xmm5, xmm0 */
	CHECK_EQ(XMM(c, 5).q[0], 0x0003000200010000ull);
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x67, 0xed), -1);        /* packuswb xmm5, xmm5 */
	CHECK_EQ(XMM(c, 5).q[0], 0x0706050403020100ull);
	tcg_env_free(&e);
}
