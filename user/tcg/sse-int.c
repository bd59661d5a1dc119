/*
 * MMX, SSE2, SSSE3, SSE4.1 and SSE4.2 integer instructions: arithmetic,
 * compares, logic, shifts, packs and unpacks, shuffles, inserts and
 * extracts, PTEST, the blends and the SSE4.2 string compares.
 *
 * Most are table entries run by sse_generic(): one C body per operation
 * over n bytes, instantiated for MMX (n = 8) and XMM (n = 16).  Their
 * semantics are those of the SDM Vol. 2 pages of each mnemonic.
 */
#include "tcg/sse.h"

/* Both widths of a body name(d, s, n). */
#define MMX_XMM(name)                                                   \
	static __attribute__((unused)) void                             \
	name##_mm(union xmm *d, const union xmm *s, unsigned imm)       \
	{ (void)imm; name(d, s, 8); }                                   \
	static void name##_xmm(union xmm *d, const union xmm *s, unsigned imm) \
	{ (void)imm; name(d, s, 16); }

/* An element-wise operation on the field f (b, sw, d ...): a is the
 * destination's element, b the source's. */
#define ELEM(name, f, expr)                                             \
	static inline void name(union xmm *d, const union xmm *s, unsigned n) \
	{                                                               \
		for (unsigned k = 0; k < n / sizeof(d->f[0]); k++) {    \
			__typeof__(d->f[0]) a = d->f[k], b = s->f[k];   \
			d->f[k] = (expr);                               \
		}                                                       \
	}                                                               \
	MMX_XMM(name)

static inline int8_t sat_s8(int v) { return v < -128 ? -128 : v > 127 ? 127 : v; }
static inline uint8_t sat_u8(int v) { return v < 0 ? 0 : v > 255 ? 255 : v; }
static inline int16_t sat_s16(int32_t v) { return v < -32768 ? -32768 : v > 32767 ? 32767 : v; }
static inline uint16_t sat_u16(int32_t v) { return v < 0 ? 0 : v > 65535 ? 65535 : v; }

/* two's-complement negation without signed overflow */
#define NEG(t, a) ((t)(0 - (uint64_t)(int64_t)(a)))
#define ALL_ONES(a) ((__typeof__(a))~(__typeof__(a))0)

ELEM(paddb, b, a + b)
ELEM(paddw, w, a + b)
ELEM(paddd, d, a + b)
ELEM(paddq, q, a + b)
ELEM(psubb, b, a - b)
ELEM(psubw, w, a - b)
ELEM(psubd, d, a - b)
ELEM(psubq, q, a - b)
ELEM(paddsb, sb, sat_s8(a + b))
ELEM(paddsw, sw, sat_s16(a + b))
ELEM(paddusb, b, sat_u8(a + b))
ELEM(paddusw, w, sat_u16(a + b))
ELEM(psubsb, sb, sat_s8(a - b))
ELEM(psubsw, sw, sat_s16(a - b))
ELEM(psubusb, b, sat_u8(a - b))
ELEM(psubusw, w, sat_u16(a - b))
ELEM(pmullw, w, (uint16_t)((uint32_t)a * b))
ELEM(pmulhw, sw, (int16_t)(((int32_t)a * b) >> 16))
ELEM(pmulhuw, w, (uint16_t)(((uint32_t)a * b) >> 16))
ELEM(pmulhrsw, sw, (int16_t)(((((int32_t)a * b) >> 14) + 1) >> 1))
ELEM(pavgb, b, (uint8_t)((a + b + 1) >> 1))
ELEM(pavgw, w, (uint16_t)(((uint32_t)a + b + 1) >> 1))
ELEM(pminub, b, a < b ? a : b)
ELEM(pmaxub, b, a > b ? a : b)
ELEM(pminsw, sw, a < b ? a : b)
ELEM(pmaxsw, sw, a > b ? a : b)
ELEM(pminsb, sb, a < b ? a : b)
ELEM(pmaxsb, sb, a > b ? a : b)
ELEM(pminuw, w, a < b ? a : b)
ELEM(pmaxuw, w, a > b ? a : b)
ELEM(pminsd, sd, a < b ? a : b)
ELEM(pmaxsd, sd, a > b ? a : b)
ELEM(pminud, d, a < b ? a : b)
ELEM(pmaxud, d, a > b ? a : b)
ELEM(pmulld, d, (uint32_t)((uint64_t)a * b))
ELEM(pand, q, a & b)
ELEM(pandn, q, ~a & b)
ELEM(por, q, a | b)
ELEM(pxor, q, a ^ b)
ELEM(pcmpeqb, b, a == b ? ALL_ONES(a) : 0)
ELEM(pcmpeqw, w, a == b ? ALL_ONES(a) : 0)
ELEM(pcmpeqd, d, a == b ? ALL_ONES(a) : 0)
ELEM(pcmpeqq, q, a == b ? ALL_ONES(a) : 0)
ELEM(pcmpgtb, sb, a > b ? -1 : 0)
ELEM(pcmpgtw, sw, a > b ? -1 : 0)
ELEM(pcmpgtd, sd, a > b ? -1 : 0)
ELEM(pcmpgtq, sq, a > b ? -1 : 0)
ELEM(psignb, sb, b < 0 ? NEG(int8_t, a) : b ? a : 0)
ELEM(psignw, sw, b < 0 ? NEG(int16_t, a) : b ? a : 0)
ELEM(psignd, sd, b < 0 ? NEG(int32_t, a) : b ? a : 0)
ELEM(pabsb, sb, ((void)a, b < 0 ? NEG(int8_t, b) : b))
ELEM(pabsw, sw, ((void)a, b < 0 ? NEG(int16_t, b) : b))
ELEM(pabsd, sd, ((void)a, b < 0 ? NEG(int32_t, b) : b))

/* Shifts by the low 64 bits of the source: counts past the element
 * width give 0, or the sign for the arithmetic ones. */
#define SHIFT(name, f, expr)                                            \
	static inline void name(union xmm *d, const union xmm *s, unsigned n) \
	{                                                               \
		uint64_t cnt = s->q[0];                                 \
		for (unsigned k = 0; k < n / sizeof(d->f[0]); k++) {    \
			__typeof__(d->f[0]) a = d->f[k];                \
			d->f[k] = (expr);                               \
		}                                                       \
	}                                                               \
	MMX_XMM(name)

SHIFT(psrlw, w, cnt > 15 ? 0 : a >> cnt)
SHIFT(psrld, d, cnt > 31 ? 0 : a >> cnt)
SHIFT(psrlq, q, cnt > 63 ? 0 : a >> cnt)
SHIFT(psllw, w, cnt > 15 ? 0 : (uint16_t)((uint32_t)a << cnt))
SHIFT(pslld, d, cnt > 31 ? 0 : (uint32_t)(a << cnt))
SHIFT(psllq, q, cnt > 63 ? 0 : a << cnt)
SHIFT(psraw, sw, a >> (cnt > 15 ? 15 : cnt))
SHIFT(psrad, sd, a >> (cnt > 31 ? 31 : cnt))

/* PSRLDQ / PSLLDQ: whole-register byte shifts */
static void psrldq_xmm(union xmm *d, const union xmm *s, unsigned imm)
{
	uint64_t cnt = s->q[0];
	union xmm r = { .q = { 0, 0 } };

	(void)imm;
	for (unsigned k = 0; cnt < 16 && k < 16 - cnt; k++)
		r.b[k] = d->b[k + cnt];
	*d = r;
}

static void pslldq_xmm(union xmm *d, const union xmm *s, unsigned imm)
{
	uint64_t cnt = s->q[0];
	union xmm r = { .q = { 0, 0 } };

	(void)imm;
	for (unsigned k = cnt; k < 16; k++)
		r.b[k] = d->b[k - cnt];
	*d = r;
}

/* PUNPCKL* / PUNPCKH*: interleave the low (high) halves of d and s in
 * elements of e bytes. */
static inline void unpack(union xmm *d, const union xmm *s, unsigned n, unsigned e, bool high)
{
	unsigned half = n / 2, base = high ? half : 0;
	union xmm r;

	for (unsigned k = 0; k < half / e; k++) {
		memcpy(r.b + 2 * k * e, d->b + base + k * e, e);
		memcpy(r.b + (2 * k + 1) * e, s->b + base + k * e, e);
	}
	memcpy(d->b, r.b, n);
}

#define UNPACK(name, e, high)                                           \
	static inline void name(union xmm *d, const union xmm *s, unsigned n) \
	{ unpack(d, s, n, e, high); }                                   \
	MMX_XMM(name)

UNPACK(punpcklbw, 1, false)
UNPACK(punpcklwd, 2, false)
UNPACK(punpckldq, 4, false)
UNPACK(punpcklqdq, 8, false)
UNPACK(punpckhbw, 1, true)
UNPACK(punpckhwd, 2, true)
UNPACK(punpckhdq, 4, true)
UNPACK(punpckhqdq, 8, true)

/* Packs: d's elements narrowed with saturation, then s's. */
#define PACK(name, from, to, sat)                                       \
	static inline void name(union xmm *d, const union xmm *s, unsigned n) \
	{                                                               \
		unsigned cnt = n / sizeof(d->from[0]);                  \
		union xmm r;                                            \
		for (unsigned k = 0; k < cnt; k++) {                    \
			r.to[k] = sat(d->from[k]);                      \
			r.to[cnt + k] = sat(s->from[k]);                \
		}                                                       \
		memcpy(d->b, r.b, n);                                   \
	}                                                               \
	MMX_XMM(name)

PACK(packsswb, sw, sb, sat_s8)
PACK(packuswb, sw, b, sat_u8)
PACK(packssdw, sd, sw, sat_s16)
PACK(packusdw, sd, w, sat_u16)

/* Horizontal add/subtract (SSSE3): pairs of d, then pairs of s. */
#define HORIZ(name, f, expr)                                            \
	static inline void name(union xmm *d, const union xmm *s, unsigned n) \
	{                                                               \
		unsigned half = n / sizeof(d->f[0]) / 2;                \
		union xmm r;                                            \
		for (unsigned k = 0; k < half; k++) {                   \
			__typeof__(d->f[0]) a = d->f[2 * k], b = d->f[2 * k + 1]; \
			r.f[k] = (expr);                                \
			a = s->f[2 * k];                                \
			b = s->f[2 * k + 1];                            \
			r.f[half + k] = (expr);                         \
		}                                                       \
		memcpy(d->b, r.b, n);                                   \
	}                                                               \
	MMX_XMM(name)

HORIZ(phaddw, w, a + b)
HORIZ(phaddd, d, a + b)
HORIZ(phaddsw, sw, sat_s16(a + b))
HORIZ(phsubw, w, a - b)
HORIZ(phsubd, d, a - b)
HORIZ(phsubsw, sw, sat_s16(a - b))

static inline void pmaddwd(union xmm *d, const union xmm *s, unsigned n)
{
	for (unsigned k = 0; k < n / 4; k++) {
		int64_t sum = (int64_t)d->sw[2 * k] * s->sw[2 * k] +
			      (int64_t)d->sw[2 * k + 1] * s->sw[2 * k + 1];
		d->d[k] = (uint32_t)sum;
	}
}
MMX_XMM(pmaddwd)

/* PMADDUBSW: unsigned bytes of d times signed bytes of s */
static inline void pmaddubsw(union xmm *d, const union xmm *s, unsigned n)
{
	for (unsigned k = 0; k < n / 2; k++)
		d->sw[k] = sat_s16(d->b[2 * k] * s->sb[2 * k] +
				   d->b[2 * k + 1] * s->sb[2 * k + 1]);
}
MMX_XMM(pmaddubsw)

static inline void pmuludq(union xmm *d, const union xmm *s, unsigned n)
{
	for (unsigned k = 0; k < n / 8; k++)
		d->q[k] = (uint64_t)d->d[2 * k] * s->d[2 * k];
}
MMX_XMM(pmuludq)

static inline void pmuldq(union xmm *d, const union xmm *s, unsigned n)
{
	for (unsigned k = 0; k < n / 8; k++)
		d->sq[k] = (int64_t)d->sd[2 * k] * s->sd[2 * k];
}
MMX_XMM(pmuldq)

static inline void psadbw(union xmm *d, const union xmm *s, unsigned n)
{
	for (unsigned g = 0; g < n / 8; g++) {
		unsigned sum = 0;

		for (unsigned k = 0; k < 8; k++) {
			int diff = d->b[8 * g + k] - s->b[8 * g + k];
			sum += diff < 0 ? -diff : diff;
		}
		d->q[g] = sum;
	}
}
MMX_XMM(psadbw)

/* PSHUFB: a set top bit in the index gives 0 */
static inline void pshufb(union xmm *d, const union xmm *s, unsigned n)
{
	union xmm r;

	for (unsigned k = 0; k < n; k++)
		r.b[k] = (s->b[k] & 0x80) ? 0 : d->b[s->b[k] & (n - 1)];
	memcpy(d->b, r.b, n);
}
MMX_XMM(pshufb)

/* PALIGNR: bytes imm.. of the concatenation d:s (s low) */
static inline void palignr(union xmm *d, const union xmm *s, unsigned imm, unsigned n)
{
	uint8_t cat[32];
	union xmm r;

	memcpy(cat, s->b, n);
	memcpy(cat + n, d->b, n);
	imm &= 0xff;
	for (unsigned k = 0; k < n; k++)
		r.b[k] = imm + k < 2 * n ? cat[imm + k] : 0;
	memcpy(d->b, r.b, n);
}

static void palignr_mm(union xmm *d, const union xmm *s, unsigned imm)
{
	palignr(d, s, imm, 8);
}

static void palignr_xmm(union xmm *d, const union xmm *s, unsigned imm)
{
	palignr(d, s, imm, 16);
}

/* PSHUFW, PSHUFD, PSHUFHW, PSHUFLW */
static void pshufw_mm(union xmm *d, const union xmm *s, unsigned imm)
{
	for (unsigned k = 0; k < 4; k++)
		d->w[k] = s->w[(imm >> (2 * k)) & 3];
}

static void pshufd_xmm(union xmm *d, const union xmm *s, unsigned imm)
{
	for (unsigned k = 0; k < 4; k++)
		d->d[k] = s->d[(imm >> (2 * k)) & 3];
}

static void pshufhw_xmm(union xmm *d, const union xmm *s, unsigned imm)
{
	d->q[0] = s->q[0];
	for (unsigned k = 0; k < 4; k++)
		d->w[4 + k] = s->w[4 + ((imm >> (2 * k)) & 3)];
}

static void pshuflw_xmm(union xmm *d, const union xmm *s, unsigned imm)
{
	d->q[1] = s->q[1];
	for (unsigned k = 0; k < 4; k++)
		d->w[k] = s->w[(imm >> (2 * k)) & 3];
}

/* SHUFPS, SHUFPD */
static void shufps_xmm(union xmm *d, const union xmm *s, unsigned imm)
{
	union xmm r;

	r.d[0] = d->d[imm & 3];
	r.d[1] = d->d[(imm >> 2) & 3];
	r.d[2] = s->d[(imm >> 4) & 3];
	r.d[3] = s->d[(imm >> 6) & 3];
	*d = r;
}

static void shufpd_xmm(union xmm *d, const union xmm *s, unsigned imm)
{
	union xmm r;

	r.q[0] = d->q[imm & 1];
	r.q[1] = s->q[(imm >> 1) & 1];
	*d = r;
}

/* Immediate blends (SSE4.1): a set bit k takes element k of s */
static void blendps_xmm(union xmm *d, const union xmm *s, unsigned imm)
{
	for (unsigned k = 0; k < 4; k++)
		if (imm & (1u << k))
			d->d[k] = s->d[k];
}

static void blendpd_xmm(union xmm *d, const union xmm *s, unsigned imm)
{
	for (unsigned k = 0; k < 2; k++)
		if (imm & (1u << k))
			d->q[k] = s->q[k];
}

static void pblendw_xmm(union xmm *d, const union xmm *s, unsigned imm)
{
	for (unsigned k = 0; k < 8; k++)
		if (imm & (1u << k))
			d->w[k] = s->w[k];
}

/* PMOVSX / PMOVZX: widen the low elements of s */
#define EXTEND(name, from, to)                                          \
	static void name(union xmm *d, const union xmm *s, unsigned imm) \
	{                                                               \
		union xmm r;                                            \
		(void)imm;                                              \
		for (unsigned k = 0; k < 16 / sizeof(r.to[0]); k++)     \
			r.to[k] = s->from[k];                           \
		*d = r;                                                 \
	}

EXTEND(pmovsxbw, sb, sw)
EXTEND(pmovsxbd, sb, sd)
EXTEND(pmovsxbq, sb, sq)
EXTEND(pmovsxwd, sw, sd)
EXTEND(pmovsxwq, sw, sq)
EXTEND(pmovsxdq, sd, sq)
EXTEND(pmovzxbw, b, w)
EXTEND(pmovzxbd, b, d)
EXTEND(pmovzxbq, b, q)
EXTEND(pmovzxwd, w, d)
EXTEND(pmovzxwq, w, q)
EXTEND(pmovzxdq, d, q)

/* PHMINPOSUW: the smallest unsigned word of s and its (lowest) index */
static void phminposuw_xmm(union xmm *d, const union xmm *s, unsigned imm)
{
	unsigned best = 0;

	(void)imm;
	for (unsigned k = 1; k < 8; k++)
		if (s->w[k] < s->w[best])
			best = k;
	d->q[0] = s->w[best] | (uint64_t)best << 16;
	d->q[1] = 0;
}

/* MPSADBW: sums of absolute differences of a 4-byte block of s (imm[1:0])
 * against eight sliding 4-byte windows of d (from imm[2] * 4) */
static void mpsadbw_xmm(union xmm *d, const union xmm *s, unsigned imm)
{
	unsigned soff = (imm & 3) * 4, doff = ((imm >> 2) & 1) * 4;
	union xmm r;

	for (unsigned k = 0; k < 8; k++) {
		unsigned sum = 0;

		for (unsigned j = 0; j < 4; j++) {
			int diff = d->b[doff + k + j] - s->b[soff + j];
			sum += diff < 0 ? -diff : diff;
		}
		r.w[k] = sum;
	}
	*d = r;
}

/* ------------------------------------------------------------------ */
/* Handlers with their own operand shapes                              */

/* 0F 71/72/73: shifts of the r/m register by Ib (groups 12-14) */
static void op_shift_imm(struct tcg_cpu *c, const struct insn *i)
{
	static const sse_fn fns[3][8][2] = {
		[0] = { [2] = { psrlw_mm, psrlw_xmm }, [4] = { psraw_mm, psraw_xmm },
			[6] = { psllw_mm, psllw_xmm } },
		[1] = { [2] = { psrld_mm, psrld_xmm }, [4] = { psrad_mm, psrad_xmm },
			[6] = { pslld_mm, pslld_xmm } },
		[2] = { [2] = { psrlq_mm, psrlq_xmm }, [3] = { NULL, psrldq_xmm },
			[6] = { psllq_mm, psllq_xmm }, [7] = { NULL, pslldq_xmm } },
	};
	union xmm d, cnt = { .q = { i->imm & 0xff, 0 } };
	sse_fn fn;

	if (i->mem || (i->pfx != PFX_NONE && i->pfx != PFX_66))
		sse_ud(c);
	fn = fns[(i->op - 0x71) % 3][i->reg & 7][i->pfx == PFX_66];
	if (!fn)
		sse_ud(c);
	if (i->pfx == PFX_NONE) {
		mmx_check(c);
		d.q[0] = mmx_get(c, i->rm);
		fn(&d, &cnt, 0);
		mmx_set(c, i->rm, d.q[0]);
		mmx_enter(c);
	} else {
		sse_check(c);
		xmm_get(c, i->rm, &d);
		fn(&d, &cnt, 0);
		xmm_set(c, i->rm, &d);
	}
}

/* The register-only forms: #UD for a memory operand or a wrong prefix;
 * returns the width in bytes (8 MMX, 16 XMM) after the class checks. */
static unsigned reg_form(struct tcg_cpu *c, const struct insn *i, bool mmx_ok)
{
	if (i->mem || (i->pfx != PFX_66 && (i->pfx != PFX_NONE || !mmx_ok)))
		sse_ud(c);
	if (i->pfx == PFX_NONE) {
		mmx_check(c);
		return 8;
	}
	sse_check(c);
	return 16;
}

/* 0F D7: PMOVMSKB r32, mm/xmm */
static void op_pmovmskb(struct tcg_cpu *c, const struct insn *i)
{
	unsigned n = reg_form(c, i, true), mask = 0;
	union xmm v;

	if (n == 8) {
		v.q[0] = mmx_get(c, i->rm);
	} else {
		xmm_get(c, i->rm, &v);
	}
	for (unsigned k = 0; k < n; k++)
		mask |= (unsigned)(v.b[k] >> 7) << k;
	tcg_reg_set(c, i, i->reg, 4, mask);
	if (n == 8)
		mmx_enter(c);
}

/* 0F 50: MOVMSKPS, 66: MOVMSKPD (sign bits into r32) */
static void op_movmsk(struct tcg_cpu *c, const struct insn *i)
{
	unsigned mask = 0;
	union xmm v;

	if (i->mem || (i->pfx != PFX_NONE && i->pfx != PFX_66))
		sse_ud(c);
	sse_check(c);
	xmm_get(c, i->rm, &v);
	if (i->pfx == PFX_NONE) {
		for (unsigned k = 0; k < 4; k++)
			mask |= (v.d[k] >> 31) << k;
	} else {
		mask = (unsigned)(v.q[0] >> 63) | (unsigned)(v.q[1] >> 63) << 1;
	}
	tcg_reg_set(c, i, i->reg, 4, mask);
}

/* 0F C4: PINSRW mm/xmm, r32/m16, Ib */
static void op_pinsrw(struct tcg_cpu *c, const struct insn *i)
{
	union xmm v;
	uint16_t w;

	if (i->pfx == PFX_NONE) {
		mmx_check(c);
		w = tcg_rm_get(c, i, 2);
		v.q[0] = mmx_get(c, i->reg);
		v.w[i->imm & 3] = w;
		mmx_set(c, i->reg, v.q[0]);
		mmx_enter(c);
	} else if (i->pfx == PFX_66) {
		sse_check(c);
		w = tcg_rm_get(c, i, 2);
		xmm_get(c, i->reg, &v);
		v.w[i->imm & 7] = w;
		xmm_set(c, i->reg, &v);
	} else {
		sse_ud(c);
	}
}

/* 0F C5: PEXTRW r32, mm/xmm, Ib */
static void op_pextrw(struct tcg_cpu *c, const struct insn *i)
{
	unsigned n = reg_form(c, i, true);
	union xmm v;

	if (n == 8)
		v.q[0] = mmx_get(c, i->rm);
	else
		xmm_get(c, i->rm, &v);
	tcg_reg_set(c, i, i->reg, 4, v.w[i->imm & (n / 2 - 1)]);
	if (n == 8)
		mmx_enter(c);
}

/* The element of v that PEXTRB, PEXTRW, PEXTRD/Q or EXTRACTPS (0F 3A
 * 14-17, legacy and VEX) names, stored to r/m: a register destination is
 * written as r32 (zero-extended), or r64 for PEXTRQ. */
void sse_pextr_store(struct tcg_cpu *c, const struct insn *i, const union xmm *v)
{
	unsigned size;
	uint64_t val;

	switch (i->op) {
	case 0x14:
		size = 1;
		val = v->b[i->imm & 15];
		break;
	case 0x15:
		size = 2;
		val = v->w[i->imm & 7];
		break;
	case 0x16:
		size = (i->rex & 8) ? 8 : 4;
		val = size == 8 ? v->q[i->imm & 1] : v->d[i->imm & 3];
		break;
	default:
		size = 4;
		val = v->d[i->imm & 3];
		break;
	}
	if (i->mem)
		tcg_rm_set(c, i, size, val);
	else
		tcg_reg_set(c, i, i->rm, size == 8 ? 8 : 4, val);
}

/* PINSRB, PINSRD/Q (0F 3A 20, 22, legacy and VEX): the r32/m8 or
 * r/m32/64 source into its element of v. */
void sse_pinsr_into(struct tcg_cpu *c, const struct insn *i, union xmm *v)
{
	if (i->op == 0x20)
		v->b[i->imm & 15] = (uint8_t)(i->mem ? tcg_ld8(c, i->seg, tcg_ea(c, i)) :
						  tcg_reg_get(c, i, i->rm, 4));
	else if (i->rex & 8)
		v->q[i->imm & 1] = tcg_rm_get(c, i, 8);
	else
		v->d[i->imm & 3] = (uint32_t)tcg_rm_get(c, i, 4);
}

/* 66 0F 3A 14-17: PEXTRB PEXTRW PEXTRD/Q EXTRACTPS r/m, xmm, Ib */
static void op_pextr(struct tcg_cpu *c, const struct insn *i)
{
	union xmm v;

	if (i->pfx != PFX_66)
		sse_ud(c);
	sse_check(c);
	xmm_get(c, i->reg, &v);
	sse_pextr_store(c, i, &v);
}

/* 66 0F 3A 20 / 22: PINSRB xmm, r32/m8, Ib; PINSRD/Q xmm, r/m32/64, Ib */
static void op_pinsr(struct tcg_cpu *c, const struct insn *i)
{
	union xmm v;

	if (i->pfx != PFX_66)
		sse_ud(c);
	sse_check(c);
	xmm_get(c, i->reg, &v);
	sse_pinsr_into(c, i, &v);
	xmm_set(c, i->reg, &v);
}

/* 66 0F 3A 21: INSERTPS xmm, xmm/m32, Ib.  From a register the source
 * element is imm[7:6]; imm[5:4] picks the destination, imm[3:0] zeroes. */
static void op_insertps(struct tcg_cpu *c, const struct insn *i)
{
	unsigned imm = i->imm & 0xff;
	union xmm d, s;
	uint32_t val;

	if (i->pfx != PFX_66)
		sse_ud(c);
	sse_check(c);
	if (i->mem) {
		sse_load(c, i, &s, 4, false);
		val = s.d[0];
	} else {
		xmm_get(c, i->rm, &s);
		val = s.d[imm >> 6];
	}
	xmm_get(c, i->reg, &d);
	d.d[(imm >> 4) & 3] = val;
	for (unsigned k = 0; k < 4; k++)
		if (imm & (1u << k))
			d.d[k] = 0;
	xmm_set(c, i->reg, &d);
}

/* 66 0F 38 17: PTEST: ZF if (d & s) == 0, CF if (~d & s) == 0 */
static void op_ptest(struct tcg_cpu *c, const struct insn *i)
{
	union xmm d, s;
	uint64_t f = 0;

	if (i->pfx != PFX_66)
		sse_ud(c);
	sse_check(c);
	sse_src(c, i, &s, 16, true);
	xmm_get(c, i->reg, &d);
	if (!((d.q[0] & s.q[0]) | (d.q[1] & s.q[1])))
		f |= FL_ZF;
	if (!((~d.q[0] & s.q[0]) | (~d.q[1] & s.q[1])))
		f |= FL_CF;
	tcg_set_arith_flags(c, f);
}

/* 66 0F 38 10 / 14 / 15: PBLENDVB, BLENDVPS, BLENDVPD: elements of s
 * where the sign bit of XMM0's element is set. */
static void op_blendv(struct tcg_cpu *c, const struct insn *i)
{
	unsigned e = i->op == 0x10 ? 1 : i->op == 0x14 ? 4 : 8;
	union xmm d, s, m;

	if (i->pfx != PFX_66)
		sse_ud(c);
	sse_check(c);
	sse_src(c, i, &s, 16, true);
	xmm_get(c, i->reg, &d);
	xmm_get(c, 0, &m);
	for (unsigned k = 0; k < 16; k += e)
		if (m.b[k + e - 1] & 0x80)
			memcpy(d.b + k, s.b + k, e);
	xmm_set(c, i->reg, &d);
}

/*
 * SSE4.2 string compares (66 0F 3A 60-63).  The immediate selects the
 * whole operation, so the host instruction runs with the same Ib (see
 * SSE_IMM_SWITCH); LAHF/SETO bring back CF ZF SF OF (AF PF are cleared).
 */
struct pcmpstr_out {
	uint32_t idx;
	uint16_t ax;            /* AH: LAHF image, AL: OF */
	union xmm mask;
};

static void pcmpestr_host(const union xmm *a, const union xmm *b, uint32_t la, uint32_t lb,
			  unsigned imm, bool index, struct pcmpstr_out *o)
{
	register sse_v2di x0 asm("xmm0");
	sse_v2di va = a->v, vb = b->v;
	uint32_t ax = la, idx = 0;

#define ESTRI(N) asm("pcmpestri %[imm], %[b], %[a]\n\tlahf\n\tseto %%al"     \
		     : "+a"(ax), "=c"(idx)                                  \
		     : [a] "x"(va), [b] "x"(vb), "d"(lb), [imm] "i"(N) : "cc")
#define ESTRM(N) do {                                                   \
		asm("pcmpestrm %[imm], %[b], %[a]\n\tlahf\n\tseto %%al"     \
		    : "+a"(ax), "=x"(x0)                                    \
		    : [a] "x"(va), [b] "x"(vb), "d"(lb), [imm] "i"(N) : "cc"); \
		o->mask.v = x0;                                         \
	} while (0)
	if (index) {
		SSE_IMM_SWITCH(imm, ESTRI)
	} else {
		SSE_IMM_SWITCH(imm, ESTRM)
	}
#undef ESTRI
#undef ESTRM
	o->idx = idx;
	o->ax = ax;
}

static void pcmpistr_host(const union xmm *a, const union xmm *b, unsigned imm, bool index,
			  struct pcmpstr_out *o)
{
	register sse_v2di x0 asm("xmm0");
	sse_v2di va = a->v, vb = b->v;
	uint32_t ax = 0, idx = 0;

#define ISTRI(N) asm("pcmpistri %[imm], %[b], %[a]\n\tlahf\n\tseto %%al"     \
		     : "=a"(ax), "=c"(idx)                                  \
		     : [a] "x"(va), [b] "x"(vb), [imm] "i"(N) : "cc")
#define ISTRM(N) do {                                                   \
		asm("pcmpistrm %[imm], %[b], %[a]\n\tlahf\n\tseto %%al"     \
		    : "=a"(ax), "=x"(x0)                                    \
		    : [a] "x"(va), [b] "x"(vb), [imm] "i"(N) : "cc");       \
		o->mask.v = x0;                                         \
	} while (0)
	if (index) {
		SSE_IMM_SWITCH(imm, ISTRI)
	} else {
		SSE_IMM_SWITCH(imm, ISTRM)
	}
#undef ISTRI
#undef ISTRM
	o->idx = idx;
	o->ax = ax;
}

/* An explicit length: |rAX| or |rDX| (64-bit with REX.W), saturated to
 * the element count (SDM Vol. 2, 4.1 "PCMPESTRI ... imm8 control"). */
static uint32_t str_len(uint64_t v, bool wide, unsigned max)
{
	int64_t x = wide ? (int64_t)v : (int32_t)v;
	uint64_t mag = x < 0 ? 0 - (uint64_t)x : (uint64_t)x;

	return mag > max ? max : (uint32_t)mag;
}

bool sse_pcmpstr(struct tcg_cpu *c, const struct insn *i, const union xmm *a,
		 const union xmm *b, union xmm *mask)
{
	bool explicit_len = !(i->op & 2), index = i->op & 1;
	unsigned imm = i->imm & 0xff, max = (imm & 1) ? 8 : 16;
	struct pcmpstr_out o;
	uint64_t f;

	if (explicit_len) {
		bool wide = i->rex & 8;

		pcmpestr_host(a, b, str_len(c->s.regs[R_RAX], wide, max),
			      str_len(c->s.regs[R_RDX], wide, max), imm, index, &o);
	} else {
		pcmpistr_host(a, b, imm, index, &o);
	}
	f = (o.ax >> 8) & (FL_CF | FL_ZF | FL_SF);
	if (o.ax & 0xff)
		f |= FL_OF;
	tcg_set_arith_flags(c, f);
	if (index)
		tcg_reg_set(c, i, R_RCX, 4, o.idx);
	else
		*mask = o.mask;
	return !index;
}

static void op_pcmpstr(struct tcg_cpu *c, const struct insn *i)
{
	union xmm a, b, mask;

	if (i->pfx != PFX_66)
		sse_ud(c);
	sse_check(c);
	sse_src(c, i, &b, 16, false);   /* unaligned is fine: Vol. 2, 2.5, type 4 */
	xmm_get(c, i->reg, &a);
	if (sse_pcmpstr(c, i, &a, &b, &mask))
		xmm_set(c, 0, &mask);
}

/* ------------------------------------------------------------------ */
/* Registration                                                        */

#define BOTH(map, op, name) sse_def_mmx_xmm(map, op, name##_mm, name##_xmm)
#define XMM_ONLY(map, op, name) sse_def_mmx_xmm(map, op, NULL, name##_xmm)

static void register_0f(void)
{
	BOTH(MAP_0F, 0x60, punpcklbw);
	BOTH(MAP_0F, 0x61, punpcklwd);
	BOTH(MAP_0F, 0x62, punpckldq);
	/* the MMX low unpacks read only 32 bits of memory */
	for (unsigned op = 0x60; op <= 0x62; op++)
		sse_desc[0][op][PFX_NONE].msize = 4;
	BOTH(MAP_0F, 0x63, packsswb);
	BOTH(MAP_0F, 0x64, pcmpgtb);
	BOTH(MAP_0F, 0x65, pcmpgtw);
	BOTH(MAP_0F, 0x66, pcmpgtd);
	BOTH(MAP_0F, 0x67, packuswb);
	BOTH(MAP_0F, 0x68, punpckhbw);
	BOTH(MAP_0F, 0x69, punpckhwd);
	BOTH(MAP_0F, 0x6a, punpckhdq);
	BOTH(MAP_0F, 0x6b, packssdw);
	XMM_ONLY(MAP_0F, 0x6c, punpcklqdq);
	XMM_ONLY(MAP_0F, 0x6d, punpckhqdq);
	BOTH(MAP_0F, 0x74, pcmpeqb);
	BOTH(MAP_0F, 0x75, pcmpeqw);
	BOTH(MAP_0F, 0x76, pcmpeqd);
	BOTH(MAP_0F, 0xd1, psrlw);
	BOTH(MAP_0F, 0xd2, psrld);
	BOTH(MAP_0F, 0xd3, psrlq);
	BOTH(MAP_0F, 0xd4, paddq);
	BOTH(MAP_0F, 0xd5, pmullw);
	BOTH(MAP_0F, 0xd8, psubusb);
	BOTH(MAP_0F, 0xd9, psubusw);
	BOTH(MAP_0F, 0xda, pminub);
	BOTH(MAP_0F, 0xdb, pand);
	BOTH(MAP_0F, 0xdc, paddusb);
	BOTH(MAP_0F, 0xdd, paddusw);
	BOTH(MAP_0F, 0xde, pmaxub);
	BOTH(MAP_0F, 0xdf, pandn);
	BOTH(MAP_0F, 0xe0, pavgb);
	BOTH(MAP_0F, 0xe1, psraw);
	BOTH(MAP_0F, 0xe2, psrad);
	BOTH(MAP_0F, 0xe3, pavgw);
	BOTH(MAP_0F, 0xe4, pmulhuw);
	BOTH(MAP_0F, 0xe5, pmulhw);
	BOTH(MAP_0F, 0xe8, psubsb);
	BOTH(MAP_0F, 0xe9, psubsw);
	BOTH(MAP_0F, 0xea, pminsw);
	BOTH(MAP_0F, 0xeb, por);
	BOTH(MAP_0F, 0xec, paddsb);
	BOTH(MAP_0F, 0xed, paddsw);
	BOTH(MAP_0F, 0xee, pmaxsw);
	BOTH(MAP_0F, 0xef, pxor);
	BOTH(MAP_0F, 0xf1, psllw);
	BOTH(MAP_0F, 0xf2, pslld);
	BOTH(MAP_0F, 0xf3, psllq);
	BOTH(MAP_0F, 0xf4, pmuludq);
	BOTH(MAP_0F, 0xf5, pmaddwd);
	BOTH(MAP_0F, 0xf6, psadbw);
	BOTH(MAP_0F, 0xf8, psubb);
	BOTH(MAP_0F, 0xf9, psubw);
	BOTH(MAP_0F, 0xfa, psubd);
	BOTH(MAP_0F, 0xfb, psubq);
	BOTH(MAP_0F, 0xfc, paddb);
	BOTH(MAP_0F, 0xfd, paddw);
	BOTH(MAP_0F, 0xfe, paddd);

	/* PSHUFW PSHUFD PSHUFHW PSHUFLW */
	sse_def(MAP_0F, 0x70, PFX_NONE, pshufw_mm, SK_MM, 8, 0);
	sse_def(MAP_0F, 0x70, PFX_66, pshufd_xmm, SK_XMM, 16, SF_ALIGN);
	sse_def(MAP_0F, 0x70, PFX_F3, pshufhw_xmm, SK_XMM, 16, SF_ALIGN);
	sse_def(MAP_0F, 0x70, PFX_F2, pshuflw_xmm, SK_XMM, 16, SF_ALIGN);

	/* the bitwise, shuffle and unpack forms of single/double */
	for (unsigned pfx = PFX_NONE; pfx <= PFX_66; pfx++) {
		sse_def(MAP_0F, 0x54, pfx, pand_xmm, SK_XMM, 16, SF_ALIGN);
		sse_def(MAP_0F, 0x55, pfx, pandn_xmm, SK_XMM, 16, SF_ALIGN);
		sse_def(MAP_0F, 0x56, pfx, por_xmm, SK_XMM, 16, SF_ALIGN);
		sse_def(MAP_0F, 0x57, pfx, pxor_xmm, SK_XMM, 16, SF_ALIGN);
	}
	sse_def(MAP_0F, 0x14, PFX_NONE, punpckldq_xmm, SK_XMM, 16, SF_ALIGN);
	sse_def(MAP_0F, 0x15, PFX_NONE, punpckhdq_xmm, SK_XMM, 16, SF_ALIGN);
	sse_def(MAP_0F, 0x14, PFX_66, punpcklqdq_xmm, SK_XMM, 16, SF_ALIGN);
	sse_def(MAP_0F, 0x15, PFX_66, punpckhqdq_xmm, SK_XMM, 16, SF_ALIGN);
	sse_def(MAP_0F, 0xc6, PFX_NONE, shufps_xmm, SK_XMM, 16, SF_ALIGN);
	sse_def(MAP_0F, 0xc6, PFX_66, shufpd_xmm, SK_XMM, 16, SF_ALIGN);

	tcg_ops[MAP_0F][0x50] = op_movmsk;
	tcg_ops[MAP_0F][0x71] = op_shift_imm;
	tcg_ops[MAP_0F][0x72] = op_shift_imm;
	tcg_ops[MAP_0F][0x73] = op_shift_imm;
	tcg_ops[MAP_0F][0xc4] = op_pinsrw;
	tcg_ops[MAP_0F][0xc5] = op_pextrw;
	tcg_ops[MAP_0F][0xd7] = op_pmovmskb;
}

static void register_0f38(void)
{
	static const struct { uint8_t op, msize; sse_fn fn; } ext[] = {
		{ 0x20, 8, pmovsxbw }, { 0x21, 4, pmovsxbd }, { 0x22, 2, pmovsxbq },
		{ 0x23, 8, pmovsxwd }, { 0x24, 4, pmovsxwq }, { 0x25, 8, pmovsxdq },
		{ 0x30, 8, pmovzxbw }, { 0x31, 4, pmovzxbd }, { 0x32, 2, pmovzxbq },
		{ 0x33, 8, pmovzxwd }, { 0x34, 4, pmovzxwq }, { 0x35, 8, pmovzxdq },
	};

	/* SSSE3, MMX and XMM forms */
	BOTH(MAP_0F38, 0x00, pshufb);
	BOTH(MAP_0F38, 0x01, phaddw);
	BOTH(MAP_0F38, 0x02, phaddd);
	BOTH(MAP_0F38, 0x03, phaddsw);
	BOTH(MAP_0F38, 0x04, pmaddubsw);
	BOTH(MAP_0F38, 0x05, phsubw);
	BOTH(MAP_0F38, 0x06, phsubd);
	BOTH(MAP_0F38, 0x07, phsubsw);
	BOTH(MAP_0F38, 0x08, psignb);
	BOTH(MAP_0F38, 0x09, psignw);
	BOTH(MAP_0F38, 0x0a, psignd);
	BOTH(MAP_0F38, 0x0b, pmulhrsw);
	BOTH(MAP_0F38, 0x1c, pabsb);
	BOTH(MAP_0F38, 0x1d, pabsw);
	BOTH(MAP_0F38, 0x1e, pabsd);

	/* SSE4.1 / SSE4.2 */
	for (unsigned k = 0; k < sizeof(ext) / sizeof(ext[0]); k++)
		sse_def(MAP_0F38, ext[k].op, PFX_66, ext[k].fn, SK_XMM, ext[k].msize, 0);
	XMM_ONLY(MAP_0F38, 0x28, pmuldq);
	XMM_ONLY(MAP_0F38, 0x29, pcmpeqq);
	XMM_ONLY(MAP_0F38, 0x2b, packusdw);
	XMM_ONLY(MAP_0F38, 0x37, pcmpgtq);
	XMM_ONLY(MAP_0F38, 0x38, pminsb);
	XMM_ONLY(MAP_0F38, 0x39, pminsd);
	XMM_ONLY(MAP_0F38, 0x3a, pminuw);
	XMM_ONLY(MAP_0F38, 0x3b, pminud);
	XMM_ONLY(MAP_0F38, 0x3c, pmaxsb);
	XMM_ONLY(MAP_0F38, 0x3d, pmaxsd);
	XMM_ONLY(MAP_0F38, 0x3e, pmaxuw);
	XMM_ONLY(MAP_0F38, 0x3f, pmaxud);
	XMM_ONLY(MAP_0F38, 0x40, pmulld);
	sse_def(MAP_0F38, 0x41, PFX_66, phminposuw_xmm, SK_XMM, 16, SF_ALIGN);

	tcg_ops[MAP_0F38][0x10] = op_blendv;
	tcg_ops[MAP_0F38][0x14] = op_blendv;
	tcg_ops[MAP_0F38][0x15] = op_blendv;
	tcg_ops[MAP_0F38][0x17] = op_ptest;
}

static void register_0f3a(void)
{
	sse_def(MAP_0F3A, 0x0c, PFX_66, blendps_xmm, SK_XMM, 16, SF_ALIGN);
	sse_def(MAP_0F3A, 0x0d, PFX_66, blendpd_xmm, SK_XMM, 16, SF_ALIGN);
	sse_def(MAP_0F3A, 0x0e, PFX_66, pblendw_xmm, SK_XMM, 16, SF_ALIGN);
	sse_def_mmx_xmm(MAP_0F3A, 0x0f, palignr_mm, palignr_xmm);
	sse_def(MAP_0F3A, 0x42, PFX_66, mpsadbw_xmm, SK_XMM, 16, SF_ALIGN);

	for (unsigned op = 0x14; op <= 0x17; op++)
		tcg_ops[MAP_0F3A][op] = op_pextr;
	tcg_ops[MAP_0F3A][0x20] = op_pinsr;
	tcg_ops[MAP_0F3A][0x21] = op_insertps;
	tcg_ops[MAP_0F3A][0x22] = op_pinsr;
	for (unsigned op = 0x60; op <= 0x63; op++)
		tcg_ops[MAP_0F3A][op] = op_pcmpstr;
}

void sse_int_register(void)
{
	register_0f();
	register_0f38();
	register_0f3a();
}
