/*
 * TCG: the VEX forms of SSE..SSE4.2 (user/tcg/avx-sse.c) where the
 * differential tester cannot go: the AVX exception class under other
 * CR0/CR4/XCR0 settings than the host's (SDM Vol. 2, 2.8), and the
 * register rules (upper halves zeroed by VEX.128, merged from vvvv by the
 * scalar forms, untouched by legacy SSE).  Bit-exact results of every
 * form against the host are tests/difftest/'s job.
 */
#include <string.h>
#include "unit.h"
#include "machine.h"
#include "tcg/tcg.h"
#include "tcgtest.h"

#define CODE_BASE 0x1000
#define DATA 0x3000

/* 64-bit mode, CPL 0, OSFXSR|OSXMMEXCPT|OSXSAVE, XCR0 = x87|SSE|AVX */
static bool env_init(struct tcg_env *e)
{
	if (!tcg_env_init(e, CODE_BASE))
		return false;
	tcg_env_long_mode(e);
	struct tcg_cpu *c = e->c;
	if (tcg_xsave_offer(c, XCR0_X87 | XCR0_SSE | XCR0_AVX) < 0)
		return false;
	c->s.cr0 |= CR0_NE | CR0_MP;
	c->s.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE;
	c->xcr0 = XCR0_X87 | XCR0_SSE | XCR0_AVX;
	tcg_env_flat_segs(c, 0, true);
	c->s.rflags = 2;
	c->s.regs[R_RSP] = 0x9000;
	return true;
}

static void set_ymm(struct tcg_cpu *c, unsigned r, uint64_t q0, uint64_t q1, uint64_t q2,
		    uint64_t q3)
{
	c->fpu.xmm[r].q[0] = q0;
	c->fpu.xmm[r].q[1] = q1;
	memcpy(c->xs.ymm_h[r], &q2, 8);
	memcpy(c->xs.ymm_h[r] + 8, &q3, 8);
}

static uint64_t ymm_q(struct tcg_cpu *c, unsigned r, unsigned k)
{
	uint64_t v;

	if (k < 2)
		return c->fpu.xmm[r].q[k];
	memcpy(&v, c->xs.ymm_h[r] + 8 * (k - 2), 8);
	return v;
}

/* vpaddd ymm0, ymm1, ymm2 adds both lanes; the VEX.128 form zeroes
 * bits 255:128; the legacy form keeps them. */
TEST(tcg_avx_lanes_and_upper_halves)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;

	set_ymm(c, 1, 1, 2, 3, 4);
	set_ymm(c, 2, 0x100000000ull, 10, 20, 30);
	set_ymm(c, 0, 9, 9, 9, 9);
	CHECK_EQ(STEP(&e, 0xc5, 0xf5, 0xfe, 0xc2), -1);       /* vpaddd ymm0, ymm1, ymm2 */
	CHECK_EQ(ymm_q(c, 0, 0), 0x100000001ull);
	CHECK_EQ(ymm_q(c, 0, 1), 12);
	CHECK_EQ(ymm_q(c, 0, 2), 23);
	CHECK_EQ(ymm_q(c, 0, 3), 34);
	CHECK_EQ(STEP(&e, 0xc5, 0xf1, 0xfe, 0xc2), -1);       /* vpaddd xmm0, xmm1, xmm2 */
	CHECK_EQ(ymm_q(c, 0, 1), 12);
	CHECK_EQ(ymm_q(c, 0, 2), 0);
	CHECK_EQ(ymm_q(c, 0, 3), 0);
	set_ymm(c, 0, 1, 1, 5, 6);
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0xfe, 0xc2), -1);       /* paddd xmm0, xmm2 */
	CHECK_EQ(ymm_q(c, 0, 2), 5);
	CHECK_EQ(ymm_q(c, 0, 3), 6);
	tcg_env_free(&e);
}

/* vaddss xmm0, xmm1, xmm2: element 0 the sum, 127:32 from xmm1 (vvvv),
 * 255:128 zero */
TEST(tcg_avx_scalar_merges_from_vvvv)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;

	set_ymm(c, 1, 0x111111113f800000ull, 0x2222222233333333ull, 1, 1);
	set_ymm(c, 2, 0x4444444440000000ull, 0x5555555555555555ull, 1, 1);
	set_ymm(c, 0, 7, 7, 7, 7);
	CHECK_EQ(STEP(&e, 0xc5, 0xf2, 0x58, 0xc2), -1);
	CHECK_EQ(ymm_q(c, 0, 0), 0x1111111140400000ull);       /* 1.0 + 2.0 */
	CHECK_EQ(ymm_q(c, 0, 1), 0x2222222233333333ull);
	CHECK_EQ(ymm_q(c, 0, 2), 0);
	tcg_env_free(&e);
}

/* SDM Vol. 2, 2.8: #UD without CR4.OSXSAVE or with XCR0 lacking AVX
 * (CR0.EM and OSFXSR do not matter); #NM on CR0.TS; an encoding that is
 * #UD by itself (two-operand form with vvvv != 1111b) is #UD before
 * #NM. */
TEST(tcg_avx_exception_class)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;

	CHECK_EQ(STEP(&e, 0xc5, 0xfc, 0x58, 0xc1), -1);       /* vaddps ymm0, ymm0, ymm1 */
	c->s.cr0 |= CR0_EM;
	c->s.cr4 &= ~(uint64_t)CR4_OSFXSR;
	CHECK_EQ(STEP(&e, 0xc5, 0xfc, 0x58, 0xc1), -1);
	c->s.cr0 &= ~(uint64_t)CR0_EM;
	c->s.cr4 |= CR4_OSFXSR;
	c->xcr0 = XCR0_X87 | XCR0_SSE;
	CHECK_EQ(STEP(&e, 0xc5, 0xfc, 0x58, 0xc1), EXC_UD);
	c->xcr0 = XCR0_X87 | XCR0_SSE | XCR0_AVX;
	c->s.cr4 &= ~(uint64_t)CR4_OSXSAVE;
	CHECK_EQ(STEP(&e, 0xc5, 0xfc, 0x58, 0xc1), EXC_UD);
	c->s.cr4 |= CR4_OSXSAVE;
	c->s.cr0 |= CR0_TS;
	CHECK_EQ(STEP(&e, 0xc5, 0xfc, 0x58, 0xc1), EXC_NM);
	CHECK_EQ(STEP(&e, 0xc5, 0xf0, 0x51, 0xc1), EXC_UD);   /* vsqrtps, vvvv = 1 */
	CHECK_EQ(STEP(&e, 0xc5, 0xfc, 0x51, 0xc1), EXC_NM);   /* vsqrtps, vvvv = 1111b */
	c->s.cr0 &= ~(uint64_t)CR0_TS;
	tcg_env_free(&e);
}

/* Only the explicitly aligned moves check alignment: vmovaps ymm needs
 * 32 bytes, vmovups and vaddps from memory none. */
TEST(tcg_avx_alignment)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;

	c->s.regs[R_RAX] = DATA + 16;
	CHECK_EQ(STEP(&e, 0xc5, 0xfc, 0x28, 0x00), EXC_GP);   /* vmovaps ymm0, [rax] */
	CHECK_EQ(STEP(&e, 0xc5, 0xf8, 0x28, 0x00), -1);       /* vmovaps xmm0, [rax] */
	c->s.regs[R_RAX] = DATA + 1;
	CHECK_EQ(STEP(&e, 0xc5, 0xfc, 0x10, 0x00), -1);       /* vmovups ymm0, [rax] */
	CHECK_EQ(STEP(&e, 0xc5, 0xfc, 0x58, 0x00), -1);       /* vaddps ymm0, ymm0, [rax] */
	CHECK_EQ(STEP(&e, 0xc5, 0xf9, 0xe7, 0x00), EXC_GP);   /* vmovntdq [rax], xmm0 */
	tcg_env_free(&e);
}
