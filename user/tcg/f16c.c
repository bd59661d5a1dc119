/*
 * F16C (SDM Vol. 2, "VCVTPH2PS", "VCVTPS2PH"; Vol. 1, 14.4.1): half
 * precision (1 sign, 5 exponent, 10 fraction bits) to and from single
 * precision, in integer arithmetic so that the host needs no F16C.
 */
#include "tcg/avx2.h"

/* Half to single is exact; a signaling NaN is #I and comes out quiet. */
static uint32_t half_to_single(uint16_t h, uint32_t *flags)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;

	if (exp == 0x1f) {
		if (man && !(man & 0x200))
			*flags |= MXCSR_IE;
		return sign | 0x7f800000 | (man ? 0x400000 : 0) | man << 13;
	}
	if (exp == 0) {
		if (!man)
			return sign;
		/* a denormal half is a normal single */
		int shift = __builtin_clz(man) - 21;    /* to bit 10 */
		man = (man << shift) & 0x3ff;
		exp = (uint32_t)(1 - shift);
	}
	return sign | (exp + 112) << 23 | man << 13;
}

/* m, a whole number, shifted right by sh and rounded under rc (MXCSR.RC
 * encoding) for a value of sign neg; *inexact says whether bits went. */
static uint64_t round_shift(uint64_t m, int sh, unsigned rc, bool neg, bool *inexact)
{
	uint64_t q, rem, half;

	if (sh <= 0)
		return *inexact = false, m << -sh;
	if (sh >= 63) {
		q = 0;
		rem = m;
		half = m ? ~0ull : 0;   /* far below half a unit: never ties */
		*inexact = m != 0;
		if (rc == 0)
			return 0;
	} else {
		q = m >> sh;
		rem = m & ((1ull << sh) - 1);
		half = 1ull << (sh - 1);
		*inexact = rem != 0;
	}
	switch (rc) {
	case 0:
		if (rem > half || (rem == half && (q & 1)))
			q++;
		break;
	case 1:
		q += neg && *inexact;
		break;
	case 2:
		q += !neg && *inexact;
		break;
	}
	return q;
}

/* The largest finite half, or infinity, as rc rounds an overflow. */
static uint16_t half_overflow(unsigned rc, bool neg)
{
	bool to_max = rc == 3 || (rc == 1 && !neg) || (rc == 2 && neg);
	return to_max ? 0x7bff : 0x7c00;
}

/* Single to half under rc; the flags of SDM Vol. 2 "VCVTPS2PH" (#I #D
 * #O #U #P), tininess as the processor detects it, after rounding. */
static uint16_t single_to_half(uint32_t x, unsigned rc, uint32_t mxcsr, uint32_t *flags)
{
	uint16_t sign = (uint16_t)(x >> 16 & 0x8000);
	uint32_t exp = (x >> 23) & 0xff, man = x & 0x7fffff;
	bool neg = sign, inexact, tiny;
	uint64_t m;
	int e;

	if (exp == 0xff) {
		if (!man)
			return sign | 0x7c00;
		if (!(man & 0x400000))
			*flags |= MXCSR_IE;
		return (uint16_t)(sign | 0x7e00 | man >> 13);
	}
	if (exp == 0) {
		if (!man || (mxcsr & MXCSR_DAZ))
			return sign;
		*flags |= MXCSR_DE;
		m = man;
		e = -149;
	} else {
		m = man | 0x800000;
		e = (int)exp - 150;
	}
	int top = 63 - __builtin_clzll(m);
	int ue = e + top;                       /* unbiased exponent */
	uint64_t q;
	if (ue >= -14) {
		q = round_shift(m, top - 10, rc, neg, &inexact);
		if (q == 1u << 11) {
			q >>= 1;
			ue++;
		}
		if (ue > 15) {
			/* unmasked, PE says whether the value with an unbounded
			 * exponent is inexact (SDM Vol. 1, 4.9.1.4) */
			bool om = mxcsr & (MXCSR_OE << 7);
			*flags |= MXCSR_OE | (om || inexact ? MXCSR_PE : 0);
			return sign | half_overflow(rc, neg);
		}
		if (inexact)
			*flags |= MXCSR_PE;
		return (uint16_t)(sign | (ue + 15) << 10 | (q & 0x3ff));
	}
	/* below the normal range: tiny unless rounding at full precision
	 * reaches 2^-14 */
	bool full_inexact;
	uint64_t full = round_shift(m, top - 10, rc, neg, &full_inexact);
	tiny = !(ue == -15 && full == 1u << 11);
	q = round_shift(m, -24 - e, rc, neg, &inexact);
	if (tiny && !(mxcsr & MXCSR_UM))        /* unmasked: 4.9.1.5 */
		*flags |= MXCSR_UE | (full_inexact ? MXCSR_PE : 0);
	else if (inexact)
		*flags |= MXCSR_PE | (tiny ? MXCSR_UE : 0);
	return (uint16_t)(sign | q);            /* q == 0x400: the smallest normal */
}

/* VCVTPH2PS (VEX.66.0F38.W0 13): 4 or 8 halves from xmm/m64, xmm/m128. */
static void vex_38_13(struct tcg_cpu *c, const struct insn *i)
{
	unsigned n = i->vex_l ? 8 : 4;
	struct ymm s, d;
	uint32_t flags = 0;

	vex_require(c, i, VX_66 | VX_W0 | VX_NOV);
	vex_rm(c, i, &s, n * 2);
	for (unsigned k = 0; k < n; k++)
		ymm_d(&d)[k] = half_to_single(s.lo.w[k], &flags);
	if (flags)
		sse_fp_flags(c, flags);
	vex_put(c, i, i->reg, &d);
}

/* VCVTPS2PH (VEX.66.0F3A.W0 1D): 4 or 8 singles of the reg operand into
 * xmm/m64, xmm/m128, rounded as imm8[1:0] says, or as MXCSR.RC with
 * imm8[2]. */
static void vex_3a_1d(struct tcg_cpu *c, const struct insn *i)
{
	unsigned n = i->vex_l ? 8 : 4;
	uint32_t mxcsr = c->fpu.mxcsr, flags = 0;
	unsigned rc = (i->imm & 4) ? (mxcsr & MXCSR_RC) >> 13 : (unsigned)(i->imm & 3);
	struct ymm s;
	union xmm d = { .q = { 0, 0 } };

	vex_require(c, i, VX_66 | VX_W0 | VX_NOV);
	ymm_get(c, i->reg, &s);
	/* a store that faults changes no flag */
	if (i->mem)
		tcg_probe_write(c, i->seg, tcg_ea(c, i), n * 2);
	for (unsigned k = 0; k < n; k++)
		d.w[k] = single_to_half(ymm_d(&s)[k], rc, mxcsr, &flags);
	if (flags)
		sse_fp_flags(c, flags);
	if (i->mem)
		tcg_st_bytes(c, i->seg, tcg_ea(c, i), &d, n * 2);
	else
		vex_set128(c, i->rm, &d);
}

void tcg_register_f16c(void)
{
	tcg_vex_ops[MAP_0F38][0x13] = vex_38_13;
	tcg_vex_ops[MAP_0F3A][0x1d] = vex_3a_1d;
}
