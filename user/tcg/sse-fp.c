/*
 * SSE, SSE2, SSE3 and SSE4.1 floating point: arithmetic, square roots
 * and reciprocals, compares, conversions, rounding and dot products.
 *
 * Each operation runs the very host instruction on the guest's values
 * with the guest's MXCSR loaded (sse_fp_begin/end), so results, NaN
 * propagation, approximations (RCPPS, RSQRTPS) and exception flags are
 * those of the x86 host.  Inline assembly rather than intrinsics keeps
 * the compiler from swapping the operands of commutative operations,
 * which would change which NaN comes out (SDM Vol. 1, Table 4-7).
 */
#include "tcg/sse.h"

/* dst = insn(dst, src): the "xmm1, xmm2/m" shape of nearly all of them;
 * the scalar forms keep dst's upper elements, as the instruction does. */
#define FP2(name, insn)                                                 \
	static void name(union xmm *d, const union xmm *s, unsigned imm) \
	{                                                               \
		(void)imm;                                              \
		asm volatile(insn " %1, %0" : "+x"(d->v) : "x"(s->v));  \
	}

FP2(addps, "addps")
FP2(addpd, "addpd")
FP2(addss, "addss")
FP2(addsd, "addsd")
FP2(subps, "subps")
FP2(subpd, "subpd")
FP2(subss, "subss")
FP2(subsd, "subsd")
FP2(mulps, "mulps")
FP2(mulpd, "mulpd")
FP2(mulss, "mulss")
FP2(mulsd, "mulsd")
FP2(divps, "divps")
FP2(divpd, "divpd")
FP2(divss, "divss")
FP2(divsd, "divsd")
FP2(minps, "minps")
FP2(minpd, "minpd")
FP2(minss, "minss")
FP2(minsd, "minsd")
FP2(maxps, "maxps")
FP2(maxpd, "maxpd")
FP2(maxss, "maxss")
FP2(maxsd, "maxsd")
FP2(sqrtps, "sqrtps")
FP2(sqrtpd, "sqrtpd")
FP2(sqrtss, "sqrtss")
FP2(sqrtsd, "sqrtsd")
FP2(rsqrtps, "rsqrtps")
FP2(rsqrtss, "rsqrtss")
FP2(rcpps, "rcpps")
FP2(rcpss, "rcpss")
FP2(haddps, "haddps")
FP2(haddpd, "haddpd")
FP2(hsubps, "hsubps")
FP2(hsubpd, "hsubpd")
FP2(addsubps, "addsubps")
FP2(addsubpd, "addsubpd")
FP2(cvtps2pd, "cvtps2pd")
FP2(cvtpd2ps, "cvtpd2ps")
FP2(cvtss2sd, "cvtss2sd")
FP2(cvtsd2ss, "cvtsd2ss")
FP2(cvtdq2ps, "cvtdq2ps")
FP2(cvtps2dq, "cvtps2dq")
FP2(cvttps2dq, "cvttps2dq")
FP2(cvttpd2dq, "cvttpd2dq")
FP2(cvtdq2pd, "cvtdq2pd")
FP2(cvtpd2dq, "cvtpd2dq")

/*
 * The immediate forms.  The host ignores imm8[7:3] of the legacy CMPPS
 * family (the extra AVX predicates need VEX) and imm8[7:4] of ROUNDPS;
 * DPPD uses imm8 bits 0, 1, 4 and 5 only: those cases are all that is
 * expanded.  DPPS uses every bit.
 */
#define IMM_ASM(N) asm volatile(IMM_INSN " %2, %1, %0" : "+x"(a) : "x"(b), "i"(N))
#define FP_IMM16(name, sel)                                             \
	static void name(union xmm *d, const union xmm *s, unsigned imm) \
	{                                                               \
		sse_v2di a = d->v, b = s->v;                            \
		SSE_IMM_SWITCH16(sel, IMM_ASM)                          \
		d->v = a;                                               \
	}

#define IMM_INSN "cmpps"
FP_IMM16(cmpps, imm & 7)
#undef IMM_INSN
#define IMM_INSN "cmppd"
FP_IMM16(cmppd, imm & 7)
#undef IMM_INSN
#define IMM_INSN "cmpss"
FP_IMM16(cmpss, imm & 7)
#undef IMM_INSN
#define IMM_INSN "cmpsd"
FP_IMM16(cmpsd, imm & 7)
#undef IMM_INSN
#define IMM_INSN "roundps"
FP_IMM16(roundps, imm)
#undef IMM_INSN
#define IMM_INSN "roundpd"
FP_IMM16(roundpd, imm)
#undef IMM_INSN
#define IMM_INSN "roundss"
FP_IMM16(roundss, imm)
#undef IMM_INSN
#define IMM_INSN "roundsd"
FP_IMM16(roundsd, imm)
#undef IMM_INSN

static void dpps(union xmm *d, const union xmm *s, unsigned imm)
{
	sse_v2di a = d->v, b = s->v;

#define IMM_INSN "dpps"
	SSE_IMM_SWITCH(imm, IMM_ASM)
#undef IMM_INSN
	d->v = a;
}

/* DPPD: case N stands for imm8 = N[1:0] | N[3:2] << 4 */
static void dppd(union xmm *d, const union xmm *s, unsigned imm)
{
	sse_v2di a = d->v, b = s->v;

#define DPPD_ASM(N) asm volatile("dppd %2, %1, %0" : "+x"(a)                 \
				 : "x"(b), "i"(((N) & 3) | (((N) & 12) << 2)))
	SSE_IMM_SWITCH16((imm & 3) | ((imm >> 2) & 12), DPPD_ASM)
#undef DPPD_ASM
	d->v = a;
}

/* ------------------------------------------------------------------ */
/* The flags when an exception is unmasked                              */

static bool is_tiny_f(uint32_t v)
{
	return !(v & 0x7f800000) && (v & 0x007fffff);
}

static bool is_tiny_d(uint64_t v)
{
	return !(v & 0x7ff0000000000000ull) && (v & 0x000fffffffffffffull);
}

/* A denormal among the n low elements of r: with underflow unmasked
 * (so FTZ off) that is a tiny result, exact or not. */
static bool any_tiny(const union xmm *r, unsigned n, bool dbl)
{
	for (unsigned k = 0; k < n; k++)
		if (dbl ? is_tiny_d(r->q[k & 1]) : is_tiny_f(r->d[k & 3]))
			return true;
	return false;
}

/* Element k of v, exactly; a denormal reads as zero under DAZ. */
static long double elem(const union xmm *v, unsigned k, bool dbl, bool daz)
{
	union xmm t = { .q = { 0, 0 } };

	if (dbl) {
		t.q[0] = v->q[k & 1];
		if (daz && is_tiny_d(t.q[0]))
			t.q[0] &= 1ull << 63;
		return t.df[0];
	}
	t.d[0] = v->d[k & 3];
	if (daz && is_tiny_f(t.d[0]))
		t.d[0] &= 1u << 31;
	return t.f[0];
}

/*
 * a OP b on the host x87 in double extended precision (64-bit
 * significand, 15-bit exponent: single and double operands cannot
 * overflow or underflow there), every exception masked; true when the
 * result was rounded (PE, SDM Vol. 1, 8.5.6).  The flags are cleared
 * again after, for the x87 emulation in fpu.c.
 */
#define X87_OP(INSN)                                                    \
	asm volatile("fnstcw %[hcw]\n\t"                                \
		     "fldcw %[cw]\n\t"                                  \
		     "fnclex\n\t"                                       \
		     "fldt %[b]\n\t"                                    \
		     "fldt %[a]\n\t"                                    \
		     INSN "\n\t"                                        \
		     "fnstsw %[sw]\n\t"                                 \
		     "fstpt %[r]\n\t"                                   \
		     "fstp %%st(0)\n\t"                                 \
		     "fnclex\n\t"                                       \
		     "fldcw %[hcw]"                                     \
		     : [r] "=m"(*r), [sw] "=m"(sw), [hcw] "=m"(hcw)     \
		     : [cw] "m"(cw), [a] "m"(a), [b] "m"(b)             \
		     : "st", "st(1)")

static bool x87_inexact(unsigned op, long double a, long double b, long double *r)
{
	static const uint16_t cw = 0x037f;      /* 64-bit precision, nearest */
	uint16_t hcw, sw;

	switch (op) {
	case EO_ADD:
		X87_OP("fadd %%st(1), %%st");
		break;
	case EO_SUB:
		X87_OP("fsub %%st(1), %%st");
		break;
	case EO_MUL:
		X87_OP("fmul %%st(1), %%st");
		break;
	default:
		X87_OP("fdiv %%st(1), %%st");
		break;
	}
	return sw & 0x20;
}
#undef X87_OP

/* Whether r has at most prec significant bits (infinities and NaNs come
 * out of no rounding). */
static bool fits(long double r, unsigned prec)
{
	uint64_t m;
	uint16_t se;

	memcpy(&m, &r, 8);
	memcpy(&se, (const uint8_t *)&r + 8, 2);
	if (!m || (se & 0x7fff) == 0x7fff)
		return true;
	return 64 - (unsigned)__builtin_ctzll(m) <= prec;
}

/*
 * Whether element k of the result of eop on x and y (n elements of
 * double or single precision) is inexact at that precision with an
 * unbounded exponent range.  Such an exact result has at most 53
 * significant bits, so the x87 gets it exactly: a rounded x87 result, or
 * one with too many bits, is inexact in any rounding mode.
 */
static bool elem_inexact(unsigned eop, unsigned k, unsigned n, bool dbl, bool daz,
			 const union xmm *x, const union xmm *y)
{
	unsigned op = eop, j = k;
	const union xmm *src;
	long double r;

	switch (eop) {
	case EO_CVT:
		return !fits(elem(y, k, true, daz), 24);
	case EO_HADD:
	case EO_HSUB:
		op = eop == EO_HADD ? EO_ADD : EO_SUB;
		src = k < n / 2 ? x : y;
		j = 2 * (k % (n / 2));
		return x87_inexact(op, elem(src, j, dbl, daz), elem(src, j + 1, dbl, daz), &r) ||
		       !fits(r, dbl ? 53 : 24);
	case EO_ADDSUB:
		op = k & 1 ? EO_ADD : EO_SUB;
		break;
	default:
		break;
	}
	return x87_inexact(op, elem(x, j, dbl, daz), elem(y, j, dbl, daz), &r) ||
	       !fits(r, dbl ? 53 : 24);
}

/*
 * The flags of an operation with result r (n elements) on x and y, from
 * its run with every exception masked, as the processor reports them
 * (SDM Vol. 1, 11.5.2):
 * - with underflow unmasked, a tiny result raises #U even when exact
 *   (4.9.1.5); the masked run flagged only the inexact ones;
 * - with overflow or underflow unmasked and raised, PE says whether the
 *   result at the destination's precision but with an unbounded exponent
 *   is inexact (the value the handler would be given, 4.9.1.4-5), not
 *   whether the masked response was; elements whose overflow or
 *   underflow stays masked keep their masked response, which is inexact;
 * - an unmasked pre-computation exception keeps the others out.
 */
static uint32_t post_flags(uint32_t mx, uint32_t flags, unsigned eop, unsigned n, bool dbl,
			   const union xmm *x, const union xmm *y, const union xmm *r)
{
	uint32_t unmasked = ~(mx >> 7) & MXCSR_FLAGS;
	bool pe, daz = mx & MXCSR_DAZ;

	if ((unmasked & MXCSR_UE) && any_tiny(r, n, dbl))
		flags |= MXCSR_UE;
	if (flags & unmasked & (MXCSR_OE | MXCSR_UE)) {
		pe = flags & ~unmasked & (MXCSR_OE | MXCSR_UE);
		for (unsigned k = 0; k < n && !pe; k++)
			pe = elem_inexact(eop, k, n, dbl, daz, x, y);
		flags = (flags & ~MXCSR_PE) | (pe ? MXCSR_PE : 0);
	}
	return sse_fp_strip(mx, flags);
}

/*
 * One step of DPPS/DPPD: the n low elements of x OP y (EO_MUL or EO_ADD),
 * zeros elsewhere on both sides so they raise nothing, under the guest
 * MXCSR; the flags it reports as an instruction of its own would.
 */
static uint32_t dp_step(const struct tcg_cpu *c, unsigned op, bool dbl, unsigned n,
			const union xmm *x, const union xmm *y, union xmm *out)
{
	union xmm r = *x, b = *y;
	uint32_t host = sse_fp_begin(c), flags;

	SSE_PIN(r);
	SSE_PIN(b);
	if (op == EO_MUL && dbl)
		asm volatile("mulpd %1, %0" : "+x"(r.v) : "x"(b.v));
	else if (op == EO_MUL)
		asm volatile("mulps %1, %0" : "+x"(r.v) : "x"(b.v));
	else if (dbl)
		asm volatile("addpd %1, %0" : "+x"(r.v) : "x"(b.v));
	else
		asm volatile("addps %1, %0" : "+x"(r.v) : "x"(b.v));
	SSE_PIN(r);
	flags = sse_fp_stop(host);
	*out = r;
	return post_flags(c->fpu.mxcsr, flags, op, n, dbl, x, y, &r);
}

/*
 * DPPS/DPPD (SDM Vol. 2, "DPPS"): the selected products, then for DPPS
 * the sums of the two pairs, then the sum of those.  The processor runs
 * them as steps: one whose exception is unmasked stops the instruction
 * with the flags of the steps so far (a product overflow with precision
 * unmasked, say, never reaches the sum that would be invalid).  flags
 * is the whole instruction's, run masked: what is reported when no step
 * stops it.
 */
static uint32_t dp_flags(const struct tcg_cpu *c, const union xmm *d, const union xmm *s,
			 unsigned imm, bool dbl, uint32_t flags)
{
	uint32_t unmasked = ~(c->fpu.mxcsr >> 7) & MXCSR_FLAGS, total;
	union xmm a = { .q = { 0, 0 } }, b = a, p, x = a, y = a, t;
	unsigned n = dbl ? 2 : 4;

	for (unsigned k = 0; k < n; k++) {
		if (!(imm & (0x10u << k)))
			continue;
		if (dbl) {
			a.q[k] = d->q[k];
			b.q[k] = s->q[k];
		} else {
			a.d[k] = d->d[k];
			b.d[k] = s->d[k];
		}
	}
	total = dp_step(c, EO_MUL, dbl, n, &a, &b, &p);
	if (total & unmasked)
		return total;
	if (dbl) {
		x.q[0] = p.q[0];
		y.q[0] = p.q[1];
		total |= dp_step(c, EO_ADD, true, 1, &x, &y, &t);
		if (total & unmasked)
			return total;
	} else {
		x.d[0] = p.d[0];
		x.d[1] = p.d[2];
		y.d[0] = p.d[1];
		y.d[1] = p.d[3];
		total |= dp_step(c, EO_ADD, false, 2, &x, &y, &t);
		if (total & unmasked)
			return total;
		x.q[0] = t.d[0];        /* x.d[1] = y.d[1] = 0 */
		y.q[0] = t.d[1];
		total |= dp_step(c, EO_ADD, false, 1, &x, &y, &t);
		if (total & unmasked)
			return total;
	}
	return sse_fp_strip(c->fpu.mxcsr, flags);
}

uint32_t sse_fp_post(const struct tcg_cpu *c, const struct sse_desc *e, uint32_t flags,
		     const union xmm *d_in, const union xmm *s, const union xmm *d,
		     unsigned imm)
{
	bool dbl = e->flags & SF_UF_D;
	unsigned n = (e->flags & SF_UF_S) ? 1 : (dbl || e->eop == EO_CVT) ? 2 : 4;

	if (e->flags & SF_UF_DP)
		return dp_flags(c, d_in, s, imm, dbl, flags);
	if (e->eop == EO_NONE)
		return sse_fp_strip(c->fpu.mxcsr, flags);
	return post_flags(c->fpu.mxcsr, flags, e->eop, n, dbl, d_in, s, d);
}

/* ------------------------------------------------------------------ */
/* Conversions with MMX registers: the packed-dword host forms on the   */
/* two low elements (zeros elsewhere raise no flags).                   */

static void cvtpi2ps(union xmm *d, const union xmm *s, unsigned imm)
{
	union xmm t = { .q = { s->q[0], 0 } };

	(void)imm;
	asm volatile("cvtdq2ps %1, %0" : "=x"(t.v) : "x"(t.v));
	d->q[0] = t.q[0];
}

static void cvtpi2pd(union xmm *d, const union xmm *s, unsigned imm)
{
	(void)imm;
	asm volatile("cvtdq2pd %1, %0" : "=x"(d->v) : "x"(s->v));
}

static void cvtps2pi(union xmm *d, const union xmm *s, unsigned imm)
{
	union xmm t = { .q = { s->q[0], 0 } };

	(void)imm;
	asm volatile("cvtps2dq %1, %0" : "=x"(t.v) : "x"(t.v));
	d->q[0] = t.q[0];
}

static void cvttps2pi(union xmm *d, const union xmm *s, unsigned imm)
{
	union xmm t = { .q = { s->q[0], 0 } };

	(void)imm;
	asm volatile("cvttps2dq %1, %0" : "=x"(t.v) : "x"(t.v));
	d->q[0] = t.q[0];
}

static void cvtpd2pi(union xmm *d, const union xmm *s, unsigned imm)
{
	union xmm t;

	(void)imm;
	asm volatile("cvtpd2dq %1, %0" : "=x"(t.v) : "x"(s->v));
	d->q[0] = t.q[0];
}

static void cvttpd2pi(union xmm *d, const union xmm *s, unsigned imm)
{
	union xmm t;

	(void)imm;
	asm volatile("cvttpd2dq %1, %0" : "=x"(t.v) : "x"(s->v));
	d->q[0] = t.q[0];
}

/* ------------------------------------------------------------------ */
/* Conversions with general registers (F3/F2 0F 2A 2C 2D)               */

/* CVTSI2SS / CVTSI2SD xmm, r/m32 or r/m64 */
void sse_cvtsi2f(union xmm *d, uint64_t v, bool dbl, bool wide)
{
	uint32_t v32 = (uint32_t)v;

	if (dbl && wide)
		asm volatile("cvtsi2sdq %1, %0" : "+x"(d->v) : "r"(v));
	else if (dbl)
		asm volatile("cvtsi2sdl %1, %0" : "+x"(d->v) : "r"(v32));
	else if (wide)
		asm volatile("cvtsi2ssq %1, %0" : "+x"(d->v) : "r"(v));
	else
		asm volatile("cvtsi2ssl %1, %0" : "+x"(d->v) : "r"(v32));
}

/* CVT(T)SS2SI / CVT(T)SD2SI r32/r64, xmm/m: which = 0x2c truncates */
#define F2I(insn, out) asm volatile(insn " %1, %0" : "=r"(out) : "x"(s->v))
uint64_t sse_cvtf2si(const union xmm *s, unsigned which, bool dbl, bool wide)
{
	uint32_t r32 = 0;
	uint64_t r64 = 0;

	switch ((which == 0x2c) | dbl << 1 | wide << 2) {
	case 0: F2I("cvtss2si", r32); break;
	case 1: F2I("cvttss2si", r32); break;
	case 2: F2I("cvtsd2si", r32); break;
	case 3: F2I("cvttsd2si", r32); break;
	case 4: F2I("cvtss2si", r64); break;
	case 5: F2I("cvttss2si", r64); break;
	case 6: F2I("cvtsd2si", r64); break;
	default: F2I("cvttsd2si", r64); break;
	}
	return wide ? r64 : r32;
}
#undef F2I

/* CVTSI2SS/SD's conversion under the guest MXCSR (flags, #XM before d
 * is written), for the legacy and VEX forms */
void sse_cvtsi2f_guest(struct tcg_cpu *c, union xmm *d, uint64_t v, bool dbl, bool wide)
{
	uint32_t host = sse_fp_begin(c);

	SSE_PIN(*d);
	SSE_PIN(v);
	sse_cvtsi2f(d, v, dbl, wide);
	SSE_PIN(*d);
	sse_fp_end(c, host);
}

static void op_cvt_gpr(struct tcg_cpu *c, const struct insn *i)
{
	bool dbl = i->pfx == PFX_F2, wide = i->rex & 8;
	unsigned size = wide ? 8 : 4;
	union xmm d, s;
	uint64_t v;
	uint32_t host;

	if (i->pfx == PFX_NONE || i->pfx == PFX_66) {
		sse_generic(c, i);      /* the MMX-register forms */
		return;
	}
	sse_check(c);
	if (i->op == 0x2a) {
		v = tcg_rm_get(c, i, size);
		xmm_get(c, i->reg, &d);
		sse_cvtsi2f_guest(c, &d, v, dbl, wide);
		xmm_set(c, i->reg, &d);
		return;
	}
	sse_src(c, i, &s, dbl ? 8 : 4, false);
	host = sse_fp_begin(c);
	SSE_PIN(s);
	v = sse_cvtf2si(&s, i->op, dbl, wide);
	SSE_PIN(v);
	sse_fp_end(c, host);
	tcg_reg_set(c, i, i->reg, size, v);
}

/* (U)COMISS / (U)COMISD of d and s: which is the opcode (2E unordered,
 * 2F ordered).  ZF PF CF as the host sets them; OF SF AF cleared (SDM
 * Vol. 2, "COMISS"). */
void sse_comis(struct tcg_cpu *c, union xmm *d, union xmm *s, unsigned which, bool dbl)
{
	uint32_t host, ax = 0;

	host = sse_fp_begin(c);
	SSE_PIN(*d);
	SSE_PIN(*s);
	switch ((which & 1) | dbl << 1) {
	case 0:
		asm volatile("ucomiss %1, %2\n\tlahf" : "=a"(ax) : "x"(s->v), "x"(d->v) : "cc");
		break;
	case 1:
		asm volatile("comiss %1, %2\n\tlahf" : "=a"(ax) : "x"(s->v), "x"(d->v) : "cc");
		break;
	case 2:
		asm volatile("ucomisd %1, %2\n\tlahf" : "=a"(ax) : "x"(s->v), "x"(d->v) : "cc");
		break;
	default:
		asm volatile("comisd %1, %2\n\tlahf" : "=a"(ax) : "x"(s->v), "x"(d->v) : "cc");
		break;
	}
	SSE_PIN(ax);
	sse_fp_end(c, host);
	tcg_set_arith_flags(c, (ax >> 8) & (FL_ZF | FL_PF | FL_CF));
}

/* 0F 2E / 2F: UCOMISS COMISS, 66: UCOMISD COMISD */
static void op_comis(struct tcg_cpu *c, const struct insn *i)
{
	union xmm d, s;

	if (i->pfx != PFX_NONE && i->pfx != PFX_66)
		sse_ud(c);
	sse_check(c);
	sse_src(c, i, &s, i->pfx == PFX_66 ? 8 : 4, false);
	xmm_get(c, i->reg, &d);
	sse_comis(c, &d, &s, i->op, i->pfx == PFX_66);
}

/* ------------------------------------------------------------------ */
/* Registration                                                        */

/* The four forms of an arithmetic opcode: PS PD (aligned m128), SS (m32),
 * SD (m64). */
static void def_fp4(unsigned op, sse_fn ps, sse_fn pd, sse_fn ss, sse_fn sd)
{
	if (ps)
		sse_def(MAP_0F, op, PFX_NONE, ps, SK_XMM, 16, SF_ALIGN | SF_FP);
	if (pd)
		sse_def(MAP_0F, op, PFX_66, pd, SK_XMM, 16, SF_ALIGN | SF_FP);
	if (ss)
		sse_def(MAP_0F, op, PFX_F3, ss, SK_XMM, 4, SF_FP);
	if (sd)
		sse_def(MAP_0F, op, PFX_F2, sd, SK_XMM, 8, SF_FP);
}

/* What can overflow or underflow, in the 0F map: its flags and eop. */
static void mark_uf(unsigned op, unsigned pfx, unsigned uf, unsigned eop)
{
	sse_desc[0][op][pfx].flags |= uf;
	sse_desc[0][op][pfx].eop = (uint8_t)eop;
}

/* The arithmetic that can underflow: the same four forms, marked. */
static void def_fp4_uf(unsigned op, unsigned eop, sse_fn ps, sse_fn pd, sse_fn ss, sse_fn sd)
{
	def_fp4(op, ps, pd, ss, sd);
	mark_uf(op, PFX_NONE, SF_UF_F, eop);
	mark_uf(op, PFX_66, SF_UF_D, eop);
	mark_uf(op, PFX_F3, SF_UF_F | SF_UF_S, eop);
	mark_uf(op, PFX_F2, SF_UF_D | SF_UF_S, eop);
}

static void def_packed(unsigned op, unsigned pfx, sse_fn fn, unsigned uf, unsigned eop)
{
	sse_def(MAP_0F, op, pfx, fn, SK_XMM, 16, SF_ALIGN | SF_FP);
	mark_uf(op, pfx, uf, eop);
}

void sse_fp_register(void)
{
	def_fp4(0x51, sqrtps, sqrtpd, sqrtss, sqrtsd);
	def_fp4(0x52, rsqrtps, NULL, rsqrtss, NULL);
	def_fp4(0x53, rcpps, NULL, rcpss, NULL);
	def_fp4_uf(0x58, EO_ADD, addps, addpd, addss, addsd);
	def_fp4_uf(0x59, EO_MUL, mulps, mulpd, mulss, mulsd);
	def_fp4_uf(0x5c, EO_SUB, subps, subpd, subss, subsd);
	def_fp4(0x5d, minps, minpd, minss, minsd);
	def_fp4_uf(0x5e, EO_DIV, divps, divpd, divss, divsd);
	def_fp4(0x5f, maxps, maxpd, maxss, maxsd);
	def_fp4(0xc2, cmpps, cmppd, cmpss, cmpsd);
	def_fp4(0x5a, NULL, cvtpd2ps, cvtss2sd, cvtsd2ss);
	sse_def(MAP_0F, 0x5a, PFX_NONE, cvtps2pd, SK_XMM, 8, SF_FP);
	mark_uf(0x5a, PFX_66, SF_UF_F, EO_CVT);
	mark_uf(0x5a, PFX_F2, SF_UF_F | SF_UF_S, EO_CVT);

	/* packed forms behind every prefix, F3/F2 included */
	def_packed(0x5b, PFX_NONE, cvtdq2ps, 0, EO_NONE);
	def_packed(0x5b, PFX_66, cvtps2dq, 0, EO_NONE);
	def_packed(0x5b, PFX_F3, cvttps2dq, 0, EO_NONE);
	def_packed(0x7c, PFX_66, haddpd, SF_UF_D, EO_HADD);
	def_packed(0x7c, PFX_F2, haddps, SF_UF_F, EO_HADD);
	def_packed(0x7d, PFX_66, hsubpd, SF_UF_D, EO_HSUB);
	def_packed(0x7d, PFX_F2, hsubps, SF_UF_F, EO_HSUB);
	def_packed(0xd0, PFX_66, addsubpd, SF_UF_D, EO_ADDSUB);
	def_packed(0xd0, PFX_F2, addsubps, SF_UF_F, EO_ADDSUB);
	def_packed(0xe6, PFX_66, cvttpd2dq, 0, EO_NONE);
	def_packed(0xe6, PFX_F2, cvtpd2dq, 0, EO_NONE);
	sse_def(MAP_0F, 0xe6, PFX_F3, cvtdq2pd, SK_XMM, 8, SF_FP);

	/* with MMX registers */
	sse_def(MAP_0F, 0x2a, PFX_NONE, cvtpi2ps, SK_XMM_MM, 8, SF_FP);
	sse_def(MAP_0F, 0x2a, PFX_66, cvtpi2pd, SK_XMM_MM, 8, SF_FP);
	sse_def(MAP_0F, 0x2c, PFX_NONE, cvttps2pi, SK_MM_XMM, 8, SF_FP);
	sse_def(MAP_0F, 0x2c, PFX_66, cvttpd2pi, SK_MM_XMM, 16, SF_ALIGN | SF_FP);
	sse_def(MAP_0F, 0x2d, PFX_NONE, cvtps2pi, SK_MM_XMM, 8, SF_FP);
	sse_def(MAP_0F, 0x2d, PFX_66, cvtpd2pi, SK_MM_XMM, 16, SF_ALIGN | SF_FP);

	/* SSE4.1 */
	sse_def(MAP_0F3A, 0x08, PFX_66, roundps, SK_XMM, 16, SF_ALIGN | SF_FP);
	sse_def(MAP_0F3A, 0x09, PFX_66, roundpd, SK_XMM, 16, SF_ALIGN | SF_FP);
	sse_def(MAP_0F3A, 0x0a, PFX_66, roundss, SK_XMM, 4, SF_FP);
	sse_def(MAP_0F3A, 0x0b, PFX_66, roundsd, SK_XMM, 8, SF_FP);
	sse_def(MAP_0F3A, 0x40, PFX_66, dpps, SK_XMM, 16, SF_ALIGN | SF_FP | SF_UF_F | SF_UF_DP);
	sse_def(MAP_0F3A, 0x41, PFX_66, dppd, SK_XMM, 16, SF_ALIGN | SF_FP | SF_UF_D | SF_UF_DP);

	tcg_ops[MAP_0F][0x2a] = op_cvt_gpr;
	tcg_ops[MAP_0F][0x2c] = op_cvt_gpr;
	tcg_ops[MAP_0F][0x2d] = op_cvt_gpr;
	tcg_ops[MAP_0F][0x2e] = op_comis;
	tcg_ops[MAP_0F][0x2f] = op_comis;
}
