/*
 * The VEX-encoded forms of SSE..SSE4.2 (AVX, and AVX2's 256-bit integer
 * forms): the operations of sse_desc run with VEX's operand rules, and
 * the special forms of sse.c, sse-int.c and sse-fp.c written again for
 * them (SDM Vol. 2, 2.3 and each instruction's VEX.128/VEX.256 forms).
 *
 * - VEX.128: dst = op(src1, src2), src1 the register VEX.vvvv names (NDS)
 *   or, for the two-operand forms, the ModRM.reg register (whose VEX.vvvv
 *   must be 1111b, else #UD); bits 255:128 of dst become zero.  The
 *   table's d argument is src1, so the scalar forms merge the upper
 *   elements from vvvv as they must.
 * - VEX.256: the same per 128-bit lane, low lane first, for the lane-wise
 *   operations; the widening and narrowing ones, the shifts by an XMM
 *   count, MPSADBW and the blends with per-lane immediate bits have their
 *   own shape (vx_shape below).
 * - Memory operands need no alignment, except the explicitly aligned
 *   moves (VMOVAPS/APD/DQA, VMOVNT*): #GP(0) unless aligned to their size
 *   (SDM Vol. 2, 2.5, Table 2-18 / 2.8 exception class 1).
 * - #UD for VEX.L = 1 where the instruction has no 256-bit form (scalar
 *   ones are LIG: L is ignored), for the MMX forms, and for vvvv != 1111b
 *   in the two-operand forms; then the AVX checks of vex_check().
 */
#include "tcg/sse.h"

/* What a (map, opcode, pp) does under VEX: operand shape and 256-bit
 * behaviour.  Filled once at registration. */
enum {
	VX_NONE,
	VX_RM,          /* dst = op(reg, r/m); vvvv must be 1111b */
	VX_NDS,         /* dst = op(vvvv, r/m) */
};
#define VX_SHAPE 0x03
#define VX_L256 0x004   /* has a VEX.256 form */
#define VX_LIG 0x008    /* scalar: VEX.L ignored */
#define VX_WIDEN 0x010  /* 256: lane k's source is bytes [k*msize, (k+1)*msize) */
#define VX_NARROW 0x020 /* 256: each lane's result qword 0 into one XMM */
#define VX_CNT 0x040    /* 256: one 128-bit count for both lanes */
#define VX_MEM32 0x080  /* 256: a 32-byte memory source whatever msize */
#define VX_IMM2 0x100   /* 256: the high lane uses imm8 >> 2 */
#define VX_IMM3 0x200   /* ... >> 3 (MPSADBW) */
#define VX_IMM4 0x400   /* ... >> 4 (VBLENDPS) */

static uint16_t vx_shape[3][256][4];

/* VCMPPS & co: the 32 predicates of VEX (below), as table entries. */
static struct sse_desc vcmp_desc[4];

static const struct sse_desc *desc_of(const struct insn *i)
{
	if (i->map == MAP_0F && i->op == 0xc2)
		return &vcmp_desc[i->pfx & 3];
	return &sse_desc[(unsigned)(i->map - MAP_0F) % 3][i->op][i->pfx & 3];
}

/* ------------------------------------------------------------------ */
/* Checks and operands                                                 */

/* The encoding checks, then the AVX class checks (#UD, #NM). */
static void vex_enc(struct tcg_cpu *c, const struct insn *i, bool l_ok, bool vvvv_used)
{
	if ((i->vex_l && !l_ok) || (!vvvv_used && i->vvvv))
		sse_ud(c);
	vex_check(c);
}

/* The effective address of the memory operand; with align, #GP(0)
 * unless its linear address is a multiple of size. */
static uint64_t vex_addr(struct tcg_cpu *c, const struct insn *i, unsigned size, bool align)
{
	uint64_t off = tcg_ea(c, i);

	if (align) {
		uint64_t base = tcg_code64(c) && i->seg < S_FS ? 0 : c->s.seg[i->seg].base;

		if ((base + off) & (size - 1))
			tcg_raise(c, EXC_GP, 0);
	}
	return off;
}

/* size (up to 32) bytes of the memory operand into v, zero-extended */
static void vex_load(struct tcg_cpu *c, const struct insn *i, struct ymm *v, unsigned size,
		     bool align)
{
	uint64_t off = vex_addr(c, i, size, align);

	memset(v, 0, sizeof(*v));
	if (size >= 16) {
		uint8_t b[32];

		tcg_ld_bytes(c, i->seg, off, b, size);
		memcpy(&v->lo, b, 16);
		if (size == 32)
			memcpy(&v->hi, b + 16, 16);
		return;
	}
	sse_load(c, i, &v->lo, size, false);
}

static void vex_store(struct tcg_cpu *c, const struct insn *i, const struct ymm *v,
		      unsigned size, bool align)
{
	uint64_t off = vex_addr(c, i, size, align);
	uint8_t b[32];

	if (size < 16) {
		sse_store(c, i, &v->lo, size, false);
		return;
	}
	memcpy(b, &v->lo, 16);
	memcpy(b + 16, &v->hi, 16);
	tcg_st_bytes(c, i->seg, off, b, size);
}

/* Write a whole VEX result: 128 bits (upper zeroed) or 256. */
static void vex_put(struct tcg_cpu *c, unsigned r, const struct ymm *v, bool y)
{
	if (y)
		ymm_set(c, r, v);
	else
		vex_set128(c, r, &v->lo);
}

/* ------------------------------------------------------------------ */
/* The table-driven operations                                         */

/* One lane of entry e: *d = op(*d, *s); the MXCSR flags it raised (the
 * SF_FP entries), found as sse_generic finds them. */
static uint32_t run_lane(struct tcg_cpu *c, const struct sse_desc *e, union xmm *d,
			 const union xmm *src, unsigned imm)
{
	union xmm s = *src, din = *d, r = *d;
	uint32_t host, flags;

	if (!(e->flags & SF_FP)) {
		e->fn(d, &s, imm);
		return 0;
	}
	host = sse_fp_begin(c);
	SSE_PIN(r);
	SSE_PIN(s);
	e->fn(&r, &s, imm);
	SSE_PIN(r);
	flags = sse_fp_stop(host);
	if ((c->fpu.mxcsr & MXCSR_MASKS) != MXCSR_MASKS)
		flags = sse_fp_post(c, e, flags, &din, &s, &r, imm);
	*d = r;
	return flags;
}

/* The two sources of the lanes of a 256-bit form. */
static void lane_sources(struct tcg_cpu *c, const struct insn *i, const struct sse_desc *e,
			 unsigned f, struct ymm *s)
{
	if (f & VX_CNT) {
		if (i->mem)
			vex_load(c, i, s, 16, false);
		else
			xmm_get(c, i->rm, &s->lo);
		s->hi = s->lo;
	} else if (f & VX_WIDEN) {
		struct ymm t;
		unsigned m = e->msize;

		if (i->mem)
			vex_load(c, i, &t, 2 * m, false);
		else
			xmm_get(c, i->rm, &t.lo);
		memset(s, 0, sizeof(*s));
		memcpy(&s->lo, t.lo.b, m);
		memcpy(&s->hi, t.lo.b + m, m);
	} else if (i->mem) {
		vex_load(c, i, s, 32, false);
	} else {
		ymm_get(c, i->rm, s);
	}
}

static void vex_table(struct tcg_cpu *c, const struct insn *i)
{
	unsigned m = (unsigned)(i->map - MAP_0F) % 3;
	unsigned f = vx_shape[m][i->op][i->pfx & 3];
	const struct sse_desc *e = desc_of(i);
	unsigned shape = f & VX_SHAPE, imm = (unsigned)i->imm & 0xff;
	bool y = i->vex_l && (f & VX_L256);
	unsigned src1 = shape == VX_NDS ? i->vvvv : i->reg;
	struct ymm d, s;
	uint32_t flags;

	if (!shape || !e->fn || (!i->mem && (e->flags & SF_MEM)))
		sse_ud(c);
	vex_enc(c, i, f & (VX_L256 | VX_LIG), shape == VX_NDS);
	if (y) {
		lane_sources(c, i, e, f, &s);
	} else if (i->mem) {
		vex_load(c, i, &s, e->msize, false);
	} else {
		xmm_get(c, i->rm, &s.lo);
	}
	ymm_get(c, src1, &d);
	flags = run_lane(c, e, &d.lo, &s.lo, imm);
	if (y) {
		unsigned imm_hi = f & VX_IMM2 ? imm >> 2 : f & VX_IMM3 ? imm >> 3 :
				  f & VX_IMM4 ? imm >> 4 : imm;

		flags |= run_lane(c, e, &d.hi, &s.hi, imm_hi);
	}
	if (flags)
		sse_fp_raise(c, sse_fp_strip(c->fpu.mxcsr, flags));
	if (y && (f & VX_NARROW)) {
		d.lo.q[1] = d.hi.q[0];
		y = false;
	}
	vex_put(c, i->reg, &d, y);
}

/* ------------------------------------------------------------------ */
/* VCMPPS/PD/SS/SD: 32 predicates (SDM Vol. 2, "CMPPS", Table 3-1)      */

/* The relation of a and b, floats of ebits exponent and mbits fraction
 * bits: 1 less, 2 equal, 4 greater, 8 unordered; DAZ makes denormals
 * zero, and -0 equals +0. */
static unsigned fp_relation(uint64_t a, uint64_t b, unsigned ebits, unsigned mbits, bool daz)
{
	uint64_t fmask = (1ULL << mbits) - 1, emask = ((1ULL << ebits) - 1) << mbits;
	uint64_t sign = 1ULL << (ebits + mbits), mag_a = a & (sign - 1), mag_b = b & (sign - 1);
	int64_t ka, kb;

	if (((a & emask) == emask && (a & fmask)) || ((b & emask) == emask && (b & fmask)))
		return 8;
	if (daz && !(a & emask))
		mag_a = 0;
	if (daz && !(b & emask))
		mag_b = 0;
	ka = a & sign ? -(int64_t)mag_a : (int64_t)mag_a;
	kb = b & sign ? -(int64_t)mag_b : (int64_t)mag_b;
	return ka < kb ? 1 : ka == kb ? 2 : 4;
}

/* Predicate p & 15 as the set of relations it is true for; p with bit
 * 4 flips the signalling of QNaNs. */
static const uint8_t cmp_true[16] = { 2, 1, 3, 8, 13, 14, 12, 7, 10, 9, 11, 0, 5, 6, 4, 15 };
static bool cmp_signals(unsigned p)
{
	static const uint16_t s = 1u << 1 | 1u << 2 | 1u << 5 | 1u << 6 | 1u << 9 |
				  1u << 10 | 1u << 13 | 1u << 14;

	return ((s >> (p & 15)) & 1) ^ ((p >> 4) & 1);
}

/* The flags come from the host's legacy compare with the same
 * signalling (LT_OS or EQ_OQ) on the same operands; the result from
 * fp_relation.  n elements of ebits/mbits; MXCSR.DAZ from the host
 * MXCSR the caller loaded. */
static void vcmp(union xmm *d, const union xmm *s, unsigned imm, unsigned n, bool dbl)
{
	union xmm a = *d, b = *s;
	uint32_t mx;
	bool sig = cmp_signals(imm);

	asm volatile("stmxcsr %0" : "=m"(mx));
	if (dbl && n == 1) {
		if (sig)
			asm volatile("cmpsd $1, %1, %0" : "+x"(a.v) : "x"(b.v));
		else
			asm volatile("cmpsd $0, %1, %0" : "+x"(a.v) : "x"(b.v));
	} else if (dbl) {
		if (sig)
			asm volatile("cmppd $1, %1, %0" : "+x"(a.v) : "x"(b.v));
		else
			asm volatile("cmppd $0, %1, %0" : "+x"(a.v) : "x"(b.v));
	} else if (n == 1) {
		if (sig)
			asm volatile("cmpss $1, %1, %0" : "+x"(a.v) : "x"(b.v));
		else
			asm volatile("cmpss $0, %1, %0" : "+x"(a.v) : "x"(b.v));
	} else {
		if (sig)
			asm volatile("cmpps $1, %1, %0" : "+x"(a.v) : "x"(b.v));
		else
			asm volatile("cmpps $0, %1, %0" : "+x"(a.v) : "x"(b.v));
	}
	for (unsigned k = 0; k < n; k++) {
		bool t;

		if (dbl) {
			t = cmp_true[imm & 15] & fp_relation(d->q[k], s->q[k], 11, 52, mx & MXCSR_DAZ);
			d->q[k] = t ? ~0ULL : 0;
		} else {
			t = cmp_true[imm & 15] & fp_relation(d->d[k], s->d[k], 8, 23, mx & MXCSR_DAZ);
			d->d[k] = t ? ~0U : 0;
		}
	}
}

static void vcmpps(union xmm *d, const union xmm *s, unsigned imm) { vcmp(d, s, imm, 4, false); }
static void vcmppd(union xmm *d, const union xmm *s, unsigned imm) { vcmp(d, s, imm, 2, true); }
static void vcmpss(union xmm *d, const union xmm *s, unsigned imm) { vcmp(d, s, imm, 1, false); }
static void vcmpsd(union xmm *d, const union xmm *s, unsigned imm) { vcmp(d, s, imm, 1, true); }

/* ------------------------------------------------------------------ */
/* Moves                                                               */

/* Full-width loads and stores: VMOVUPS/UPD/APS/APD/DQU/DQA, VMOVNT*,
 * VMOVNTDQA, VLDDQU.  dir: load (reg <- r/m) or store (r/m <- reg). */
static void vmov_full(struct tcg_cpu *c, const struct insn *i, bool store, bool align)
{
	unsigned size = i->vex_l ? 32 : 16;
	struct ymm v;

	vex_enc(c, i, true, false);
	if (store) {
		ymm_get(c, i->reg, &v);
		if (i->mem)
			vex_store(c, i, &v, size, align);
		else
			vex_put(c, i->rm, &v, i->vex_l);
		return;
	}
	if (i->mem)
		vex_load(c, i, &v, size, align);
	else
		ymm_get(c, i->rm, &v);
	vex_put(c, i->reg, &v, i->vex_l);
}

/* 0F 10 / 11: VMOVUPS VMOVUPD; VMOVSS VMOVSD (LIG): the memory forms
 * have two operands (a load zero-extends), the register forms merge
 * bits 127:32 (or 127:64) from vvvv. */
static void vex_0f10_11(struct tcg_cpu *c, const struct insn *i)
{
	bool store = i->op == 0x11;
	unsigned size = i->pfx == PFX_F3 ? 4 : 8;
	struct ymm v, s;

	if (i->pfx == PFX_NONE || i->pfx == PFX_66) {
		vmov_full(c, i, store, false);
		return;
	}
	vex_enc(c, i, true, !i->mem);
	if (i->mem && store) {
		ymm_get(c, i->reg, &v);
		vex_store(c, i, &v, size, false);
		return;
	}
	if (i->mem) {
		vex_load(c, i, &v, size, false);
		vex_set128(c, i->reg, &v.lo);
		return;
	}
	ymm_get(c, i->vvvv, &v);
	ymm_get(c, store ? i->reg : i->rm, &s);
	memcpy(&v.lo, &s.lo, size);
	vex_set128(c, store ? i->rm : i->reg, &v.lo);
}

/* 0F 12 / 16: VMOVLPS VMOVLPD VMOVHPS VMOVHPD (m64 into one half, the
 * other from vvvv), VMOVHLPS VMOVLHPS; F3/F2 VMOVSLDUP VMOVDDUP
 * VMOVSHDUP (table) */
static void vex_0f12_16(struct tcg_cpu *c, const struct insn *i)
{
	unsigned half = i->op == 0x16;
	struct ymm d, s;

	if (i->pfx == PFX_F3 || i->pfx == PFX_F2) {
		vex_table(c, i);
		return;
	}
	if (i->pfx == PFX_66 && !i->mem)
		sse_ud(c);
	vex_enc(c, i, false, true);
	ymm_get(c, i->vvvv, &d);
	if (i->mem) {
		vex_load(c, i, &s, 8, false);
		d.lo.q[half] = s.lo.q[0];
	} else {
		xmm_get(c, i->rm, &s.lo);
		d.lo.q[half] = s.lo.q[!half];
	}
	vex_set128(c, i->reg, &d.lo);
}

/* 0F 13 / 17: VMOVLPS VMOVLPD VMOVHPS VMOVHPD m64, xmm */
static void vex_0f13_17(struct tcg_cpu *c, const struct insn *i)
{
	struct ymm v;

	if (!i->mem || (i->pfx != PFX_NONE && i->pfx != PFX_66))
		sse_ud(c);
	vex_enc(c, i, false, false);
	ymm_get(c, i->reg, &v);
	v.lo.q[0] = v.lo.q[i->op == 0x17];
	vex_store(c, i, &v, 8, false);
}

/* 0F 28 / 29: VMOVAPS VMOVAPD (aligned) */
static void vex_0f28_29(struct tcg_cpu *c, const struct insn *i)
{
	if (i->pfx != PFX_NONE && i->pfx != PFX_66)
		sse_ud(c);
	vmov_full(c, i, i->op == 0x29, true);
}

/* 0F 2B: VMOVNTPS VMOVNTPD; 66 0F E7: VMOVNTDQ (aligned, memory only) */
static void vex_movnt(struct tcg_cpu *c, const struct insn *i)
{
	if (!i->mem || (i->op == 0xe7 ? i->pfx != PFX_66 : i->pfx > PFX_66))
		sse_ud(c);
	vmov_full(c, i, true, true);
}

/* 0F 6F / 7F: 66 VMOVDQA (aligned), F3 VMOVDQU */
static void vex_0f6f_7f(struct tcg_cpu *c, const struct insn *i)
{
	if (i->pfx != PFX_66 && i->pfx != PFX_F3)
		sse_ud(c);
	vmov_full(c, i, i->op == 0x7f, i->pfx == PFX_66);
}

/* 66 0F 38 2A: VMOVNTDQA (aligned load, memory only) */
static void vex_movntdqa(struct tcg_cpu *c, const struct insn *i)
{
	if (!i->mem || i->pfx != PFX_66)
		sse_ud(c);
	vmov_full(c, i, false, true);
}

/* F2 0F F0: VLDDQU (memory only, unaligned) */
static void vex_lddqu(struct tcg_cpu *c, const struct insn *i)
{
	if (!i->mem || i->pfx != PFX_F2)
		sse_ud(c);
	vmov_full(c, i, false, false);
}

/* Operand size of VMOVD/VMOVQ, VCVTSI2SS ... with a general register:
 * VEX.W in 64-bit mode (i->rex carries it there). */
static unsigned gpr_size(const struct insn *i)
{
	return (i->rex & 8) ? 8 : 4;
}

/* 66 0F 6E: VMOVD/VMOVQ xmm, r/m32/64 */
static void vex_0f6e(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = gpr_size(i);
	union xmm v = { .q = { 0, 0 } };

	if (i->pfx != PFX_66)
		sse_ud(c);
	vex_enc(c, i, false, false);
	v.q[0] = tcg_rm_get(c, i, size) & size_mask(size);
	vex_set128(c, i->reg, &v);
}

/* 0F 7E: 66 VMOVD/VMOVQ r/m32/64, xmm; F3 VMOVQ xmm, xmm/m64 */
static void vex_0f7e(struct tcg_cpu *c, const struct insn *i)
{
	struct ymm v;

	if (i->pfx == PFX_66) {
		unsigned size = gpr_size(i);

		vex_enc(c, i, false, false);
		xmm_get(c, i->reg, &v.lo);
		tcg_rm_set(c, i, size, v.lo.q[0] & size_mask(size));
		return;
	}
	if (i->pfx != PFX_F3)
		sse_ud(c);
	vex_enc(c, i, false, false);
	if (i->mem)
		vex_load(c, i, &v, 8, false);
	else
		xmm_get(c, i->rm, &v.lo);
	v.lo.q[1] = 0;
	vex_set128(c, i->reg, &v.lo);
}

/* 66 0F D6: VMOVQ xmm/m64, xmm */
static void vex_0fd6(struct tcg_cpu *c, const struct insn *i)
{
	struct ymm v;

	if (i->pfx != PFX_66)
		sse_ud(c);
	vex_enc(c, i, false, false);
	ymm_get(c, i->reg, &v);
	v.lo.q[1] = 0;
	if (i->mem)
		vex_store(c, i, &v, 8, false);
	else
		vex_set128(c, i->rm, &v.lo);
}

/* 66 0F F7: VMASKMOVDQU xmm, xmm: the bytes of reg whose mask byte has
 * its top bit set go to DS:rDI (as MASKMOVDQU, sse.c). */
static void vex_maskmovdqu(struct tcg_cpu *c, const struct insn *i)
{
	uint64_t amask = size_mask(i->asz), addr = c->s.regs[R_RDI] & amask;
	union xmm data, mask;

	if (i->mem || i->pfx != PFX_66)
		sse_ud(c);
	vex_enc(c, i, false, false);
	xmm_get(c, i->reg, &data);
	xmm_get(c, i->rm, &mask);
	tcg_probe_write(c, i->seg, addr, 16);
	for (unsigned k = 0; k < 16; k++)
		if (mask.b[k] & 0x80)
			tcg_st8(c, i->seg, (addr + k) & amask, data.b[k]);
}

/* ------------------------------------------------------------------ */
/* Masks, extracts, inserts                                            */

/* 0F 50: VMOVMSKPS, 66: VMOVMSKPD r32, xmm/ymm (sign bits) */
static void vex_movmsk(struct tcg_cpu *c, const struct insn *i)
{
	unsigned mask = 0, n = i->vex_l ? 2 : 1;
	struct ymm v;

	if (i->mem || i->pfx > PFX_66)
		sse_ud(c);
	vex_enc(c, i, true, false);
	ymm_get(c, i->rm, &v);
	for (unsigned l = 0; l < n; l++) {
		const union xmm *x = l ? &v.hi : &v.lo;

		if (i->pfx == PFX_NONE)
			for (unsigned k = 0; k < 4; k++)
				mask |= (x->d[k] >> 31) << (4 * l + k);
		else
			for (unsigned k = 0; k < 2; k++)
				mask |= (unsigned)(x->q[k] >> 63) << (2 * l + k);
	}
	tcg_reg_set(c, i, i->reg, 4, mask);
}

/* 66 0F D7: VPMOVMSKB r32, xmm/ymm */
static void vex_pmovmskb(struct tcg_cpu *c, const struct insn *i)
{
	uint32_t mask = 0;
	struct ymm v;

	if (i->mem || i->pfx != PFX_66)
		sse_ud(c);
	vex_enc(c, i, true, false);
	ymm_get(c, i->rm, &v);
	for (unsigned k = 0; k < 16; k++) {
		mask |= (uint32_t)(v.lo.b[k] >> 7) << k;
		if (i->vex_l)
			mask |= (uint32_t)(v.hi.b[k] >> 7) << (16 + k);
	}
	tcg_reg_set(c, i, i->reg, 4, mask);
}

/* 66 0F C4: VPINSRW xmm, vvvv, r32/m16, Ib */
static void vex_pinsrw(struct tcg_cpu *c, const struct insn *i)
{
	union xmm v;
	uint16_t w;

	if (i->pfx != PFX_66)
		sse_ud(c);
	vex_enc(c, i, false, true);
	w = tcg_rm_get(c, i, 2);
	xmm_get(c, i->vvvv, &v);
	v.w[i->imm & 7] = w;
	vex_set128(c, i->reg, &v);
}

/* 66 0F C5: VPEXTRW r32, xmm, Ib */
static void vex_pextrw(struct tcg_cpu *c, const struct insn *i)
{
	union xmm v;

	if (i->mem || i->pfx != PFX_66)
		sse_ud(c);
	vex_enc(c, i, false, false);
	xmm_get(c, i->rm, &v);
	tcg_reg_set(c, i, i->reg, 4, v.w[i->imm & 7]);
}

/* 66 0F 3A 14-17: VPEXTRB VPEXTRW VPEXTRD/Q VEXTRACTPS r/m, xmm, Ib */
static void vex_pextr(struct tcg_cpu *c, const struct insn *i)
{
	union xmm v;

	if (i->pfx != PFX_66)
		sse_ud(c);
	vex_enc(c, i, false, false);
	xmm_get(c, i->reg, &v);
	sse_pextr_store(c, i, &v);
}

/* 66 0F 3A 20 / 22: VPINSRB xmm, vvvv, r32/m8, Ib; VPINSRD/Q */
static void vex_pinsr(struct tcg_cpu *c, const struct insn *i)
{
	union xmm v;

	if (i->pfx != PFX_66)
		sse_ud(c);
	vex_enc(c, i, false, true);
	xmm_get(c, i->vvvv, &v);
	sse_pinsr_into(c, i, &v);
	vex_set128(c, i->reg, &v);
}

/* 66 0F 3A 21: VINSERTPS xmm, vvvv, xmm/m32, Ib */
static void vex_insertps(struct tcg_cpu *c, const struct insn *i)
{
	unsigned imm = i->imm & 0xff;
	struct ymm s;
	union xmm d;
	uint32_t val;

	if (i->pfx != PFX_66)
		sse_ud(c);
	vex_enc(c, i, false, true);
	if (i->mem) {
		vex_load(c, i, &s, 4, false);
		val = s.lo.d[0];
	} else {
		xmm_get(c, i->rm, &s.lo);
		val = s.lo.d[imm >> 6];
	}
	xmm_get(c, i->vvvv, &d);
	d.d[(imm >> 4) & 3] = val;
	for (unsigned k = 0; k < 4; k++)
		if (imm & (1u << k))
			d.d[k] = 0;
	vex_set128(c, i->reg, &d);
}

/* ------------------------------------------------------------------ */
/* Shifts by an immediate: VEX.66.0F 71/72/73, vvvv = r/m shifted        */

static void byte_shift(union xmm *d, unsigned n, bool left)
{
	union xmm r = { .q = { 0, 0 } };

	for (unsigned k = 0; k < 16; k++) {
		int from = left ? (int)k - (int)n : (int)(k + n);

		if (from >= 0 && from < 16)
			r.b[k] = d->b[from];
	}
	*d = r;
}

static void vex_shift_imm(struct tcg_cpu *c, const struct insn *i)
{
	/* the same operation as the shift by an XMM count (table) */
	static const uint8_t by_count[3][8] = {
		{ [2] = 0xd1, [4] = 0xe1, [6] = 0xf1 },
		{ [2] = 0xd2, [4] = 0xe2, [6] = 0xf2 },
		{ [2] = 0xd3, [6] = 0xf3 },
	};
	unsigned grp = (i->op - 0x71) % 3, ext = i->reg & 7, imm = i->imm & 0xff;
	bool bytes = grp == 2 && (ext == 3 || ext == 7);
	unsigned op = by_count[grp][ext];
	union xmm cnt = { .q = { imm, 0 } };
	struct ymm v;

	if (i->mem || i->pfx != PFX_66 || (!op && !bytes))
		sse_ud(c);
	vex_enc(c, i, true, true);
	ymm_get(c, i->rm, &v);
	for (unsigned l = 0; l <= i->vex_l; l++) {
		union xmm *x = l ? &v.hi : &v.lo;

		if (bytes)
			byte_shift(x, imm > 16 ? 16 : imm, ext == 7);
		else
			sse_desc[0][op][PFX_66].fn(x, &cnt, 0);
	}
	vex_put(c, i->vvvv, &v, i->vex_l);
}

/* ------------------------------------------------------------------ */
/* Flags: VPTEST, VTESTPS/PD, V(U)COMISS/SD                             */

/* 66 0F 38 17: VPTEST; 0E / 0F: VTESTPS / VTESTPD (the sign bits only;
 * W1 is #UD).  ZF when (d & s) is zero, CF when (~d & s) is zero, over
 * 128 or 256 bits. */
static void vex_ptest(struct tcg_cpu *c, const struct insn *i)
{
	uint64_t and = 0, andn = 0, sel = i->op == 0x0e ? 0x8000000080000000ULL :
					   i->op == 0x0f ? 0x8000000000000000ULL : ~0ULL;
	struct ymm d, s;
	uint64_t f = 0;

	if (i->pfx != PFX_66 || (i->op != 0x17 && i->vex_w))
		sse_ud(c);
	vex_enc(c, i, true, false);
	if (i->mem)
		vex_load(c, i, &s, i->vex_l ? 32 : 16, false);
	else
		ymm_get(c, i->rm, &s);
	ymm_get(c, i->reg, &d);
	for (unsigned k = 0; k < 2; k++) {
		and |= d.lo.q[k] & s.lo.q[k];
		andn |= ~d.lo.q[k] & s.lo.q[k];
		if (i->vex_l) {
			and |= d.hi.q[k] & s.hi.q[k];
			andn |= ~d.hi.q[k] & s.hi.q[k];
		}
	}
	if (!(and & sel))
		f |= FL_ZF;
	if (!(andn & sel))
		f |= FL_CF;
	tcg_set_arith_flags(c, f);
}

/* 0F 2E / 2F: VUCOMISS VCOMISS, 66: VUCOMISD VCOMISD (LIG) */
static void vex_comis(struct tcg_cpu *c, const struct insn *i)
{
	bool dbl = i->pfx == PFX_66;
	struct ymm s;
	union xmm d;

	if (i->pfx > PFX_66)
		sse_ud(c);
	vex_enc(c, i, true, false);
	if (i->mem)
		vex_load(c, i, &s, dbl ? 8 : 4, false);
	else
		xmm_get(c, i->rm, &s.lo);
	xmm_get(c, i->reg, &d);
	sse_comis(c, &d, &s.lo, i->op, dbl);
}

/* ------------------------------------------------------------------ */
/* Conversions with general registers (F3/F2 0F 2A 2C 2D, LIG)          */

static void vex_cvt_gpr(struct tcg_cpu *c, const struct insn *i)
{
	bool dbl = i->pfx == PFX_F2, wide = gpr_size(i) == 8;
	unsigned size = wide ? 8 : 4;
	struct ymm s;
	union xmm d;
	uint64_t v;
	uint32_t host;

	if (i->pfx != PFX_F3 && i->pfx != PFX_F2)
		sse_ud(c);      /* the MMX forms have no VEX encoding */
	if (i->op == 0x2a) {
		/* VCVTSI2SS/SD xmm, vvvv, r/m: bits 127:32 (64) from vvvv */
		vex_enc(c, i, true, true);
		v = tcg_rm_get(c, i, size);
		xmm_get(c, i->vvvv, &d);
		sse_cvtsi2f_guest(c, &d, v, dbl, wide);
		vex_set128(c, i->reg, &d);
		return;
	}
	vex_enc(c, i, true, false);
	if (i->mem)
		vex_load(c, i, &s, dbl ? 8 : 4, false);
	else
		xmm_get(c, i->rm, &s.lo);
	host = sse_fp_begin(c);
	SSE_PIN(s);
	v = sse_cvtf2si(&s.lo, i->op, dbl, wide);
	SSE_PIN(v);
	sse_fp_end(c, host);
	tcg_reg_set(c, i, i->reg, size, v);
}

/* ------------------------------------------------------------------ */
/* Blends with a register mask, string compares, MXCSR                  */

/* 66 0F 3A 4A / 4B / 4C: VBLENDVPS VBLENDVPD VPBLENDVB dst, vvvv, r/m,
 * mask register imm8[7:4] (W0; the register in 32-bit mode is 0-7) */
static void vex_blendv(struct tcg_cpu *c, const struct insn *i)
{
	unsigned e = i->op == 0x4c ? 1 : i->op == 0x4a ? 4 : 8;
	unsigned mreg = ((unsigned)i->imm >> 4) & (tcg_code64(c) ? 15 : 7);
	struct ymm d, s, m;

	if (i->pfx != PFX_66 || i->vex_w)
		sse_ud(c);
	vex_enc(c, i, true, true);
	if (i->mem)
		vex_load(c, i, &s, i->vex_l ? 32 : 16, false);
	else
		ymm_get(c, i->rm, &s);
	ymm_get(c, i->vvvv, &d);
	ymm_get(c, mreg, &m);
	for (unsigned l = 0; l <= i->vex_l; l++) {
		union xmm *dx = l ? &d.hi : &d.lo;
		const union xmm *sx = l ? &s.hi : &s.lo, *mx = l ? &m.hi : &m.lo;

		for (unsigned k = 0; k < 16; k += e)
			if (mx->b[k + e - 1] & 0x80)
				memcpy(dx->b + k, sx->b + k, e);
	}
	vex_put(c, i->reg, &d, i->vex_l);
}

/* 66 0F 3A 60-63: VPCMPESTRM VPCMPESTRI VPCMPISTRM VPCMPISTRI (VEX.128;
 * the mask forms write XMM0 and zero bits 255:128 of YMM0) */
static void vex_pcmpstr(struct tcg_cpu *c, const struct insn *i)
{
	struct ymm b;
	union xmm a, mask;

	if (i->pfx != PFX_66)
		sse_ud(c);
	vex_enc(c, i, false, false);
	if (i->mem)
		vex_load(c, i, &b, 16, false);
	else
		xmm_get(c, i->rm, &b.lo);
	xmm_get(c, i->reg, &a);
	if (sse_pcmpstr(c, i, &a, &b.lo, &mask))
		vex_set128(c, 0, &mask);
}

/* 0F AE /2 /3: VLDMXCSR VSTMXCSR m32 (VEX.LZ: L must be 0) */
static void vex_0fae(struct tcg_cpu *c, const struct insn *i)
{
	unsigned ext = i->reg & 7;

	if (!i->mem || i->pfx != PFX_NONE || (ext != 2 && ext != 3))
		sse_ud(c);
	vex_enc(c, i, false, false);
	if (ext == 2) {
		uint32_t v = tcg_ld32(c, i->seg, tcg_ea(c, i));

		if (v & ~MXCSR_VALID)
			tcg_raise(c, EXC_GP, 0);
		c->fpu.mxcsr = v;
	} else {
		tcg_st32(c, i->seg, tcg_ea(c, i), c->fpu.mxcsr);
	}
}

/* ------------------------------------------------------------------ */
/* For the JIT                                                         */

bool avx_table_form(const struct insn *i, struct avx_form *out)
{
	bool dup = i->fn == vex_0f12_16 && (i->pfx == PFX_F3 || i->pfx == PFX_F2);
	if (!i->vex || (i->fn != vex_table && !dup))
		return false;
	unsigned f = vx_shape[(unsigned)(i->map - MAP_0F) % 3][i->op][i->pfx & 3];
	const struct sse_desc *e = desc_of(i);
	unsigned shape = f & VX_SHAPE;

	/* what vex_table and vex_enc would raise #UD for */
	if (!shape || !e->fn || (!i->mem && (e->flags & SF_MEM)))
		return false;
	if ((i->vex_l && !(f & (VX_L256 | VX_LIG))) || (shape != VX_NDS && i->vvvv))
		return false;
	out->wide = i->vex_l && (f & VX_L256);
	out->nds = shape == VX_NDS;
	out->fp = e->flags & SF_FP;
	/* the bytes vex_table reads: lane_sources for VEX.256 */
	if (!out->wide)
		out->msize = e->msize;
	else
		out->msize = f & VX_CNT ? 16 : f & VX_WIDEN ? 2 * e->msize : 32;
	return true;
}

/* ------------------------------------------------------------------ */
/* Registration                                                        */

static void shape(unsigned map, unsigned op, unsigned pfx, unsigned f)
{
	vx_shape[map - MAP_0F][op][pfx] = (uint16_t)f;
	if (!tcg_vex_ops[map][op])
		tcg_vex_ops[map][op] = vex_table;
}

/* The four forms of an FP arithmetic opcode: packed NDS with a 256-bit
 * form, scalar NDS LIG. */
static void shape_fp4(unsigned op, unsigned packed, unsigned scalar)
{
	shape(MAP_0F, op, PFX_NONE, packed);
	shape(MAP_0F, op, PFX_66, packed);
	shape(MAP_0F, op, PFX_F3, scalar);
	shape(MAP_0F, op, PFX_F2, scalar);
}

static void register_table_0f(void)
{
	static const uint8_t nds_int[] = {
		0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b,
		0x6c, 0x6d, 0x74, 0x75, 0x76, 0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc,
		0xdd, 0xde, 0xdf, 0xe0, 0xe3, 0xe4, 0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec,
		0xed, 0xee, 0xef, 0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
		0xfe,
	};
	static const uint8_t shifts[] = { 0xd1, 0xd2, 0xd3, 0xe1, 0xe2, 0xf1, 0xf2, 0xf3 };
	const unsigned nds = VX_NDS | VX_L256, rm = VX_RM | VX_L256, lig = VX_NDS | VX_LIG;

	for (unsigned k = 0; k < sizeof(nds_int); k++)
		shape(MAP_0F, nds_int[k], PFX_66, nds);
	for (unsigned k = 0; k < sizeof(shifts); k++)
		shape(MAP_0F, shifts[k], PFX_66, nds | VX_CNT);
	shape(MAP_0F, 0x12, PFX_F3, rm);
	shape(MAP_0F, 0x12, PFX_F2, rm | VX_MEM32);
	shape(MAP_0F, 0x16, PFX_F3, rm);
	shape(MAP_0F, 0x14, PFX_NONE, nds);
	shape(MAP_0F, 0x14, PFX_66, nds);
	shape(MAP_0F, 0x15, PFX_NONE, nds);
	shape(MAP_0F, 0x15, PFX_66, nds);
	shape_fp4(0x51, rm, lig);
	shape(MAP_0F, 0x52, PFX_NONE, rm);
	shape(MAP_0F, 0x52, PFX_F3, lig);
	shape(MAP_0F, 0x53, PFX_NONE, rm);
	shape(MAP_0F, 0x53, PFX_F3, lig);
	for (unsigned op = 0x54; op <= 0x57; op++) {
		shape(MAP_0F, op, PFX_NONE, nds);
		shape(MAP_0F, op, PFX_66, nds);
	}
	shape_fp4(0x58, nds, lig);
	shape_fp4(0x59, nds, lig);
	shape_fp4(0x5c, nds, lig);
	shape_fp4(0x5d, nds, lig);
	shape_fp4(0x5e, nds, lig);
	shape_fp4(0x5f, nds, lig);
	shape_fp4(0xc2, nds, lig);
	shape(MAP_0F, 0x5a, PFX_NONE, rm | VX_WIDEN);
	shape(MAP_0F, 0x5a, PFX_66, rm | VX_NARROW);
	shape(MAP_0F, 0x5a, PFX_F3, lig);
	shape(MAP_0F, 0x5a, PFX_F2, lig);
	shape(MAP_0F, 0x5b, PFX_NONE, rm);
	shape(MAP_0F, 0x5b, PFX_66, rm);
	shape(MAP_0F, 0x5b, PFX_F3, rm);
	shape(MAP_0F, 0x70, PFX_66, rm);
	shape(MAP_0F, 0x70, PFX_F3, rm);
	shape(MAP_0F, 0x70, PFX_F2, rm);
	shape(MAP_0F, 0x7c, PFX_66, nds);
	shape(MAP_0F, 0x7c, PFX_F2, nds);
	shape(MAP_0F, 0x7d, PFX_66, nds);
	shape(MAP_0F, 0x7d, PFX_F2, nds);
	shape(MAP_0F, 0xd0, PFX_66, nds);
	shape(MAP_0F, 0xd0, PFX_F2, nds);
	shape(MAP_0F, 0xc6, PFX_NONE, nds);
	shape(MAP_0F, 0xc6, PFX_66, nds | VX_IMM2);
	shape(MAP_0F, 0xe6, PFX_66, rm | VX_NARROW);
	shape(MAP_0F, 0xe6, PFX_F2, rm | VX_NARROW);
	shape(MAP_0F, 0xe6, PFX_F3, rm | VX_WIDEN);
}

static void register_table_0f38_3a(void)
{
	const unsigned nds = VX_NDS | VX_L256, rm = VX_RM | VX_L256;

	for (unsigned op = 0x00; op <= 0x0b; op++)
		shape(MAP_0F38, op, PFX_66, nds);
	for (unsigned op = 0x1c; op <= 0x1e; op++)
		shape(MAP_0F38, op, PFX_66, rm);
	for (unsigned op = 0x20; op <= 0x25; op++) {
		shape(MAP_0F38, op, PFX_66, rm | VX_WIDEN);
		shape(MAP_0F38, op + 0x10, PFX_66, rm | VX_WIDEN);
	}
	shape(MAP_0F38, 0x28, PFX_66, nds);
	shape(MAP_0F38, 0x29, PFX_66, nds);
	shape(MAP_0F38, 0x2b, PFX_66, nds);
	for (unsigned op = 0x37; op <= 0x40; op++)
		shape(MAP_0F38, op, PFX_66, nds);
	shape(MAP_0F38, 0x41, PFX_66, VX_RM);
	shape(MAP_0F3A, 0x08, PFX_66, rm);
	shape(MAP_0F3A, 0x09, PFX_66, rm);
	shape(MAP_0F3A, 0x0a, PFX_66, VX_NDS | VX_LIG);
	shape(MAP_0F3A, 0x0b, PFX_66, VX_NDS | VX_LIG);
	shape(MAP_0F3A, 0x0c, PFX_66, nds | VX_IMM4);
	shape(MAP_0F3A, 0x0d, PFX_66, nds | VX_IMM2);
	shape(MAP_0F3A, 0x0e, PFX_66, nds);
	shape(MAP_0F3A, 0x0f, PFX_66, nds);
	shape(MAP_0F3A, 0x40, PFX_66, nds);
	shape(MAP_0F3A, 0x41, PFX_66, VX_NDS);
	shape(MAP_0F3A, 0x42, PFX_66, nds | VX_IMM3);
	/* AES-NI and PCLMULQDQ (sse-crypto.c): VEX.128 only; their VEX.256
	 * forms belong to VAES and VPCLMULQDQ, which TCG does not offer */
	shape(MAP_0F38, 0xdb, PFX_66, VX_RM);
	for (unsigned op = 0xdc; op <= 0xdf; op++)
		shape(MAP_0F38, op, PFX_66, VX_NDS);
	shape(MAP_0F3A, 0x44, PFX_66, VX_NDS);
	shape(MAP_0F3A, 0xdf, PFX_66, VX_RM);
}

void avx_sse_register(void)
{
	static const struct { uint8_t map, op; tcg_handler fn; } special[] = {
		{ MAP_0F, 0x10, vex_0f10_11 }, { MAP_0F, 0x11, vex_0f10_11 },
		{ MAP_0F, 0x12, vex_0f12_16 }, { MAP_0F, 0x16, vex_0f12_16 },
		{ MAP_0F, 0x13, vex_0f13_17 }, { MAP_0F, 0x17, vex_0f13_17 },
		{ MAP_0F, 0x28, vex_0f28_29 }, { MAP_0F, 0x29, vex_0f28_29 },
		{ MAP_0F, 0x2a, vex_cvt_gpr }, { MAP_0F, 0x2c, vex_cvt_gpr },
		{ MAP_0F, 0x2d, vex_cvt_gpr }, { MAP_0F, 0x2b, vex_movnt },
		{ MAP_0F, 0x2e, vex_comis }, { MAP_0F, 0x2f, vex_comis },
		{ MAP_0F, 0x50, vex_movmsk }, { MAP_0F, 0x6e, vex_0f6e },
		{ MAP_0F, 0x6f, vex_0f6f_7f }, { MAP_0F, 0x7f, vex_0f6f_7f },
		{ MAP_0F, 0x7e, vex_0f7e }, { MAP_0F, 0x71, vex_shift_imm },
		{ MAP_0F, 0x72, vex_shift_imm }, { MAP_0F, 0x73, vex_shift_imm },
		{ MAP_0F, 0xae, vex_0fae }, { MAP_0F, 0xc4, vex_pinsrw },
		{ MAP_0F, 0xc5, vex_pextrw }, { MAP_0F, 0xd6, vex_0fd6 },
		{ MAP_0F, 0xd7, vex_pmovmskb }, { MAP_0F, 0xe7, vex_movnt },
		{ MAP_0F, 0xf0, vex_lddqu }, { MAP_0F, 0xf7, vex_maskmovdqu },
		{ MAP_0F38, 0x0e, vex_ptest }, { MAP_0F38, 0x0f, vex_ptest },
		{ MAP_0F38, 0x17, vex_ptest }, { MAP_0F38, 0x2a, vex_movntdqa },
		{ MAP_0F3A, 0x14, vex_pextr }, { MAP_0F3A, 0x15, vex_pextr },
		{ MAP_0F3A, 0x16, vex_pextr }, { MAP_0F3A, 0x17, vex_pextr },
		{ MAP_0F3A, 0x20, vex_pinsr }, { MAP_0F3A, 0x21, vex_insertps },
		{ MAP_0F3A, 0x22, vex_pinsr }, { MAP_0F3A, 0x4a, vex_blendv },
		{ MAP_0F3A, 0x4b, vex_blendv }, { MAP_0F3A, 0x4c, vex_blendv },
		{ MAP_0F3A, 0x60, vex_pcmpstr }, { MAP_0F3A, 0x61, vex_pcmpstr },
		{ MAP_0F3A, 0x62, vex_pcmpstr }, { MAP_0F3A, 0x63, vex_pcmpstr },
	};
	static const sse_fn cmps[4] = { vcmpps, vcmppd, vcmpss, vcmpsd };

	for (unsigned k = 0; k < sizeof(special) / sizeof(special[0]); k++)
		tcg_vex_ops[special[k].map][special[k].op] = special[k].fn;
	for (unsigned p = 0; p < 4; p++) {
		vcmp_desc[p] = sse_desc[0][0xc2][p];
		vcmp_desc[p].fn = cmps[p];
	}
	register_table_0f();
	register_table_0f38_3a();
}
