/*
 * AVX: what every VEX-encoded instruction shares (the exception checks
 * of SDM Vol. 2, 2.8) and the instructions that only exist with VEX and
 * touch the whole register file: VZEROUPPER and VZEROALL.  The VEX forms
 * of the SSE table (sse.c) and the other VEX-only instructions have their
 * own files; decode.c hands every VEX instruction to tcg_vex_ops.
 */
#include "tcg/sse.h"

void vex_check(struct tcg_cpu *c)
{
	if (!tcg_protected(c) || tcg_v86(c) || !(c->s.cr4 & CR4_OSXSAVE) ||
	    (c->xcr0 & (XCR0_SSE | XCR0_AVX)) != (XCR0_SSE | XCR0_AVX))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	if (c->s.cr0 & CR0_TS)
		tcg_raise(c, EXC_NM, NO_ERRCODE);
}

/* VEX.0F 77: VZEROUPPER (L=0) zeroes bits 255:128 of every YMM register,
 * VZEROALL (L=1) the whole registers (SDM Vol. 2, "VZEROUPPER",
 * "VZEROALL"); VEX.vvvv must be 1111b.  Outside 64-bit mode only
 * YMM0-7 are touched. */
static void vex_0f77(struct tcg_cpu *c, const struct insn *i)
{
	if (i->pfx != PFX_NONE || i->vvvv)
		sse_ud(c);
	vex_check(c);
	unsigned n = tcg_code64(c) ? 16 : 8;
	for (unsigned r = 0; r < n; r++) {
		memset(c->xs.ymm_h[r], 0, 16);
		if (i->vex_l)
			memset(&c->fpu.xmm[r], 0, 16);
	}
}

void tcg_register_avx(void)
{
	tcg_vex_ops[MAP_0F][0x77] = vex_0f77;
	avx_sse_register();
}
