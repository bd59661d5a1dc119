/*
 * FMA3 (SDM Vol. 2, "VFMADD132PS/VFMADD213PS/VFMADD231PS" and the pages
 * after it; Vol. 1, 14.5): VFMADD, VFMSUB, VFNMADD, VFNMSUB in packed
 * and scalar forms, VFMADDSUB and VFMSUBADD, each in the operand orders
 * 132, 213 and 231.  VEX.66.0F38 96-9F, A6-AF, B6-BF; VEX.W selects
 * double precision.
 *
 * The product and the sum round once.  The host may lack FMA, so the
 * arithmetic is C's fma()/fmaf() (correctly rounded, in the host's
 * rounding mode, which is set to the guest's), run with every exception
 * masked and neither DAZ nor FTZ; what the guest MXCSR adds is done
 * here: DAZ on the inputs, the denormal flag, which NaN comes out, FTZ
 * on the result, and #XM through sse_fp_flags().
 */
#include <math.h>
#include "tcg/avx2.h"

/* Operation of an element: the sign applied to the product and to the
 * addend. */
enum { FM_ADD, FM_SUB, FM_NADD, FM_NSUB };

/* One precision's bit layout. */
struct fmt {
	unsigned bits;          /* 32 or 64 */
	uint64_t sign, exp, quiet;
};
static const struct fmt FMT_S = { 32, 1ull << 31, 0xffull << 23, 1ull << 22 };
static const struct fmt FMT_D = { 64, 1ull << 63, 0x7ffull << 52, 1ull << 51 };

static bool is_nan(const struct fmt *f, uint64_t v)
{
	uint64_t mag = v & ~f->sign & (f->bits == 32 ? 0xffffffffull : ~0ull);
	return mag > f->exp;
}
static bool is_denormal(const struct fmt *f, uint64_t v)
{
	return !(v & f->exp) && (v & ~f->sign & ~f->exp & (f->bits == 32 ? 0xffffffffull : ~0ull));
}

/* Element inputs in operand position (src1 the destination register,
 * src2 VEX.vvvv, src3 r/m) and what the form multiplies and adds. */
struct fma_elem {
	uint64_t src[3];
	unsigned mul1, mul2, add;       /* indices into src */
	unsigned op;                    /* FM_* */
};

/*
 * The work before the arithmetic; true when the result is decided
 * already (*r): a NaN operand gives the first NaN of the first factor,
 * the second factor and the addend (in the form's order, not by
 * operand position; a signaling NaN has no precedence), quieted, with
 * #I for any signaling one; neither 0 * inf nor a denormal counts then
 * (checked on an AVX2 host; SDM Vol. 1, 11.5.2.1 on NaN precedence).
 * DAZ turns denormal inputs into zeros of their sign; otherwise a
 * denormal input is #D (fma_run drops it when the element is #I).
 */
static bool fma_pre(const struct fmt *f, uint32_t mxcsr, struct fma_elem *e, uint64_t *r,
		    uint32_t *flags)
{
	const unsigned order[3] = { e->mul1, e->mul2, e->add };
	bool nan = false;

	for (unsigned k = 0; k < 3; k++) {
		uint64_t v = e->src[order[k]];
		if (!is_nan(f, v))
			continue;
		if (!(v & f->quiet))
			*flags |= MXCSR_IE;
		if (!nan)
			*r = v | f->quiet;
		nan = true;
	}
	if (nan)
		return true;
	for (unsigned k = 0; k < 3; k++) {
		if (!is_denormal(f, e->src[k]))
			continue;
		if (mxcsr & MXCSR_DAZ)
			e->src[k] &= f->sign;
		else
			*flags |= MXCSR_DE;
	}
	return false;
}

/*
 * FTZ (when underflow is masked) makes a tiny result a zero of its sign
 * with #U and #P; with underflow unmasked a tiny result is #U even when
 * exact (Vol. 1, 10.2.3.3 and 4.9.1.5).  Tiny: a denormal result, or
 * one the library flagged as underflowing, which includes a result that
 * rounded up to the smallest normal (the processor flushes those too:
 * checked on an AVX2 host).  flags holds this element's flags.
 */
static uint64_t fma_post(const struct fmt *f, uint32_t mxcsr, uint64_t r, uint32_t *flags)
{
	if (!is_denormal(f, r) && !(*flags & MXCSR_UE))
		return r;
	if (!(mxcsr & MXCSR_UM))
		*flags |= MXCSR_UE;
	else if (mxcsr & MXCSR_FTZ) {
		*flags |= MXCSR_UE | MXCSR_PE;
		r &= f->sign;
	}
	return r;
}

static float f_of(uint64_t v)
{
	uint32_t b = (uint32_t)v;
	float x;
	memcpy(&x, &b, 4);
	return x;
}
static double d_of(uint64_t v)
{
	double x;
	memcpy(&x, &v, 8);
	return x;
}

/* The factors and the addend of an element, signs applied. */
static void fma_operands(const struct fmt *f, const struct fma_elem *e, uint64_t *a, uint64_t *b,
			 uint64_t *s)
{
	bool neg_mul = e->op == FM_NADD || e->op == FM_NSUB;
	bool neg_add = e->op == FM_SUB || e->op == FM_NSUB;

	*a = e->src[e->mul1] ^ (neg_mul ? f->sign : 0);
	*b = e->src[e->mul2];
	*s = e->src[e->add] ^ (neg_add ? f->sign : 0);
}

/* a * b + s rounded once by the host library (single or double). */
static uint64_t fma_bits(const struct fmt *f, uint64_t a, uint64_t b, uint64_t s)
{
	if (f->bits == 32) {
		float x = f_of(a), y = f_of(b), z = f_of(s), q;
		SSE_PIN(x);
		SSE_PIN(y);
		SSE_PIN(z);
		q = fmaf(x, y, z);
		SSE_PIN(q);
		uint32_t qb;
		memcpy(&qb, &q, 4);
		return qb;
	}
	double x = d_of(a), y = d_of(b), z = d_of(s), q;
	SSE_PIN(x);
	SSE_PIN(y);
	SSE_PIN(z);
	q = fma(x, y, z);
	SSE_PIN(q);
	uint64_t qb;
	memcpy(&qb, &q, 8);
	return qb;
}

static double as_double(const struct fmt *f, uint64_t v)
{
	return f->bits == 32 ? (double)f_of(v) : d_of(v);
}
static uint64_t from_double(const struct fmt *f, double x)
{
	if (f->bits == 32) {
		float y = (float)x;             /* exact: x is a scaled float */
		uint32_t b;
		memcpy(&b, &y, 4);
		return b;
	}
	uint64_t b;
	memcpy(&b, &x, 8);
	return b;
}

/*
 * Is a * b + s (finite) inexact at the precision of f
 * with an unbounded exponent?  What PE says when an overflow or
 * underflow is unmasked (SDM Vol. 1, 4.9.1.4-4.9.1.5): the factors are
 * scaled into [1, 2) and the addend with them, by powers of two, so the
 * one rounding happens in the normal range; an addend scaled far out of
 * reach of the product makes the sum inexact unless it is zero.
 * Called with every exception masked; leaves the host flags as it found
 * them but PE.
 */
static bool fma_unbounded_inexact(const struct fmt *f, uint64_t a, uint64_t b, uint64_t s)
{
	double x = as_double(f, a), y = as_double(f, b), z = as_double(f, s);
	if (x == 0 || y == 0)
		return false;   /* the sum is the addend, exact */
	int shift = -ilogb(x) - ilogb(y);
	int reach = f->bits == 32 ? 100 : 900;
	uint32_t host, now;

	x = scalbn(x, -ilogb(x));
	y = scalbn(y, -ilogb(y));
	if (z != 0) {
		int ez = ilogb(z) + shift;
		if (ez > reach || ez < -reach)
			return true;
		z = scalbn(z, shift);
	}
	asm volatile("stmxcsr %0" : "=m"(host));
	now = host & ~(uint32_t)MXCSR_FLAGS;
	asm volatile("ldmxcsr %0" : : "m"(now));
	(void)fma_bits(f, from_double(f, x), from_double(f, y), from_double(f, z));
	asm volatile("stmxcsr %0" : "=m"(now));
	asm volatile("ldmxcsr %0" : : "m"(host));
	return now & MXCSR_PE;
}

/*
 * n elements: each e[k] gives r[k]; the flags of them all.  The host
 * MXCSR gets the guest's rounding mode for the library calls, every
 * exception masked; the flags the calls raise are the guest's #I #O #U
 * #P (#D is fma_pre's; an invalid element has none: #I comes first).
 * An element whose overflow or underflow is unmasked reports PE as the
 * unbounded exponent says (the value a handler would get), the others
 * their masked response's.
 */
static uint32_t fma_run(const struct tcg_cpu *c, const struct fmt *f, struct fma_elem *e,
			uint64_t *r, unsigned n)
{
	uint32_t mxcsr = c->fpu.mxcsr, flags = 0, want = (mxcsr & MXCSR_RC) | MXCSR_MASKS;
	uint32_t unmasked = ~(mxcsr >> 7) & (MXCSR_OE | MXCSR_UE);

	for (unsigned k = 0; k < n; k++) {
		uint32_t ef = 0, host;
		uint64_t a, b, s;
		if (fma_pre(f, mxcsr, &e[k], &r[k], &ef)) {
			flags |= ef;
			continue;
		}
		fma_operands(f, &e[k], &a, &b, &s);
		asm volatile("stmxcsr %0" : "=m"(host));
		asm volatile("ldmxcsr %0" : : "m"(want));
		r[k] = fma_bits(f, a, b, s);
		uint32_t got = sse_fp_stop(host) & ~MXCSR_DE;
		if (got & MXCSR_IE)
			ef &= ~MXCSR_DE;
		got |= ef;
		r[k] = fma_post(f, mxcsr, r[k], &got);
		if (got & unmasked) {
			asm volatile("ldmxcsr %0" : : "m"(want));
			bool pe = fma_unbounded_inexact(f, a, b, s);
			asm volatile("ldmxcsr %0" : : "m"(host));
			got = (got & ~MXCSR_PE) | (pe ? MXCSR_PE : 0);
		}
		flags |= got;
	}
	return flags;
}

/* Which operands each order multiplies and adds (src1 = 0, src2 = 1,
 * src3 = 2): 132 is src1 * src3 + src2, 213 src2 * src1 + src3, 231
 * src2 * src3 + src1. */
static void fma_order(unsigned opcode, struct fma_elem *e)
{
	switch (opcode >> 4) {
	case 0x9: e->mul1 = 0; e->mul2 = 2; e->add = 1; break;
	case 0xa: e->mul1 = 1; e->mul2 = 0; e->add = 2; break;
	default: e->mul1 = 1; e->mul2 = 2; e->add = 0; break;
	}
}

static uint64_t elem_get(struct ymm *v, unsigned k, unsigned size)
{
	return size == 8 ? ymm_q(v)[k] : ymm_d(v)[k];
}
static void elem_put(struct ymm *v, unsigned k, unsigned size, uint64_t x)
{
	if (size == 8)
		ymm_q(v)[k] = x;
	else
		ymm_d(v)[k] = (uint32_t)x;
}

/* The opcode's operation for element k (low nibble of the opcode:
 * 6 ADDSUB, 7 SUBADD, 8-9 ADD, A-B SUB, C-D NADD, E-F NSUB). */
static unsigned elem_op(unsigned opcode, unsigned k)
{
	switch (opcode & 15) {
	case 6: return k & 1 ? FM_ADD : FM_SUB;
	case 7: return k & 1 ? FM_SUB : FM_ADD;
	case 8: case 9: return FM_ADD;
	case 0xa: case 0xb: return FM_SUB;
	case 0xc: case 0xd: return FM_NADD;
	default: return FM_NSUB;
	}
}

static void vex_fma(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->vex_w ? 8 : 4;
	const struct fmt *f = i->vex_w ? &FMT_D : &FMT_S;
	/* odd opcodes from 99 on are scalar (VEX.LIG) */
	bool scalar = (i->op & 1) && (i->op & 15) >= 9;
	unsigned n = scalar ? 1 : vex_bytes(i) / size;
	struct ymm s1, s2, s3, d;
	struct fma_elem e[8];
	uint64_t r[8];

	vex_require(c, i, VX_66);
	vex_rm(c, i, &s3, scalar ? size : vex_bytes(i));
	ymm_get(c, i->reg, &s1);
	ymm_get(c, i->vvvv, &s2);
	for (unsigned k = 0; k < n; k++) {
		e[k].src[0] = elem_get(&s1, k, size);
		e[k].src[1] = elem_get(&s2, k, size);
		e[k].src[2] = elem_get(&s3, k, size);
		e[k].op = elem_op(i->op, k);
		fma_order(i->op, &e[k]);
	}
	uint32_t flags = fma_run(c, f, e, r, n);
	if (flags)
		sse_fp_flags(c, flags);
	d = s1;
	for (unsigned k = 0; k < n; k++)
		elem_put(&d, k, size, r[k]);
	if (scalar)
		vex_set128(c, i->reg, &d.lo);
	else
		vex_put(c, i, i->reg, &d);
}

void tcg_register_fma(void)
{
	for (unsigned op = 0x96; op <= 0xbf; op++)
		if ((op & 15) >= 6)
			tcg_vex_ops[MAP_0F38][op] = vex_fma;
}
