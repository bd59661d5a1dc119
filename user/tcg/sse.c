/*
 * MMX and SSE through SSE4.2: the shared machinery (exception checks,
 * operands, the guest MXCSR around host floating point, the generic
 * table-driven handler), the data moves, MMX state (EMMS), group 15
 * (FXSAVE/FXRSTOR, LDMXCSR/STMXCSR, fences, CLFLUSH) and the registration
 * of every opcode this file family owns.  The integer operations live in
 * sse-int.c and the floating-point ones in sse-fp.c.
 *
 * MMX register i is the 64-bit significand of the x87 register R[i]
 * (SDM Vol. 1, 9.5); the XMM registers are c->fpu.xmm[].
 */
#include "tcg/sse.h"

struct sse_desc sse_desc[3][256][4];

/* ------------------------------------------------------------------ */
/* Exceptions                                                          */

_Noreturn void sse_ud(struct tcg_cpu *c)
{
	tcg_raise(c, EXC_UD, NO_ERRCODE);
}

/* SDM Vol. 2, 2.5 (SSE exception classes): CR0.EM or a clear
 * CR4.OSFXSR make every SSE instruction #UD; CR0.TS gives #NM. */
void sse_check(struct tcg_cpu *c)
{
	if ((c->s.cr0 & CR0_EM) || !(c->s.cr4 & CR4_OSFXSR))
		sse_ud(c);
	if (c->s.cr0 & CR0_TS)
		tcg_raise(c, EXC_NM, NO_ERRCODE);
}

/* A pending unmasked x87 exception (FSW.ES) is taken as #MF before an
 * MMX instruction when CR0.NE is set (SDM Vol. 1, chapter 9, and the
 * exception lists of the MMX instructions in Vol. 2). */
void mmx_pending(struct tcg_cpu *c)
{
	if ((c->fpu.fsw & 0x80) && (c->s.cr0 & CR0_NE))
		tcg_raise(c, EXC_MF, NO_ERRCODE);
}

/* MMX instructions: CR0.EM #UD, CR0.TS #NM, then #MF; CR4.OSFXSR does
 * not matter (SDM Vol. 2, the "Protected Mode Exceptions" of PADDB). */
void mmx_check(struct tcg_cpu *c)
{
	if (c->s.cr0 & CR0_EM)
		sse_ud(c);
	if (c->s.cr0 & CR0_TS)
		tcg_raise(c, EXC_NM, NO_ERRCODE);
	mmx_pending(c);
}

/*
 * A SIMD floating-point exception (SDM Vol. 1, 11.5.2-11.5.3): the flags
 * are set even when unmasked; then #XM, or #UD when the OS has not set
 * CR4.OSXMMEXCPT (SDM Vol. 3, 6.15 interrupt 19).
 */
void sse_fp_raise(struct tcg_cpu *c, uint32_t flags)
{
	uint32_t unmasked = flags & ~(c->fpu.mxcsr >> 7) & MXCSR_FLAGS;

	c->fpu.mxcsr |= flags;
	if (unmasked)
		tcg_raise(c, (c->s.cr4 & CR4_OSXMMEXCPT) ? EXC_XM : EXC_UD, NO_ERRCODE);
}

/* ------------------------------------------------------------------ */
/* Memory operands                                                     */

uint64_t sse_addr(struct tcg_cpu *c, const struct insn *i, bool align)
{
	uint64_t off = tcg_ea(c, i);

	if (align) {
		/* the linear address: 64-bit mode ignores ES/CS/SS/DS bases */
		uint64_t base = tcg_code64(c) && i->seg < S_FS ? 0 : c->s.seg[i->seg].base;

		if ((base + off) & 15)
			tcg_raise(c, EXC_GP, 0);
	}
	return off;
}

void sse_load(struct tcg_cpu *c, const struct insn *i, union xmm *v, unsigned size, bool align)
{
	uint64_t off = sse_addr(c, i, align && size == 16);

	v->q[1] = 0;
	switch (size) {
	case 2:
		v->q[0] = tcg_ld16(c, i->seg, off);
		break;
	case 4:
		v->q[0] = tcg_ld32(c, i->seg, off);
		break;
	case 8:
		v->q[0] = tcg_ld64(c, i->seg, off);
		break;
	default:
		tcg_ld_bytes(c, i->seg, off, v->b, 16);
		break;
	}
}

void sse_store(struct tcg_cpu *c, const struct insn *i, const union xmm *v, unsigned size, bool align)
{
	uint64_t off = sse_addr(c, i, align && size == 16);

	switch (size) {
	case 1:
		tcg_st8(c, i->seg, off, v->b[0]);
		break;
	case 2:
		tcg_st16(c, i->seg, off, v->w[0]);
		break;
	case 4:
		tcg_st32(c, i->seg, off, v->d[0]);
		break;
	case 8:
		tcg_st64(c, i->seg, off, v->q[0]);
		break;
	default:
		tcg_st_bytes(c, i->seg, off, v->b, 16);
		break;
	}
}

void sse_src(struct tcg_cpu *c, const struct insn *i, union xmm *v, unsigned size, bool align)
{
	if (i->mem)
		sse_load(c, i, v, size, align);
	else
		xmm_get(c, i->rm, v);
}

/* ------------------------------------------------------------------ */
/* The generic handler                                                 */

static inline bool kind_mm_src(unsigned kind)
{
	return kind == SK_MM || kind == SK_XMM_MM;
}

static inline bool kind_mm_dst(unsigned kind)
{
	return kind == SK_MM || kind == SK_MM_XMM;
}

static void generic_checks(struct tcg_cpu *c, const struct insn *i, unsigned kind)
{
	switch (kind) {
	case SK_MM:
		mmx_check(c);
		break;
	case SK_MM_XMM:
		sse_check(c);
		mmx_pending(c);
		break;
	case SK_XMM_MM:
		sse_check(c);
		if (!i->mem)
			mmx_pending(c);
		break;
	default:
		sse_check(c);
		break;
	}
}

/*
 * dst = op(dst, src[, imm]) for every opcode described in sse_desc: the
 * checks of its class, the source (register or memory), the operation
 * (under the guest MXCSR for floating point), the destination last so a
 * fault or an unmasked SIMD exception leaves it unchanged.  The switch to
 * MMX state comes before the operation: an unmasked SIMD exception of
 * CVTPS2PI and the like finds it done, as on the processor (a memory
 * fault does not).
 */
void sse_generic(struct tcg_cpu *c, const struct insn *i)
{
	const struct sse_desc *e = &sse_desc[(unsigned)(i->map - MAP_0F) % 3][i->op][i->pfx & 3];
	unsigned kind = e->kind;
	union xmm d, s;

	if (!e->fn || (!i->mem && (e->flags & SF_MEM)))
		sse_ud(c);
	generic_checks(c, i, kind);
	if (i->mem) {
		sse_load(c, i, &s, e->msize, e->flags & SF_ALIGN);
	} else if (kind_mm_src(kind)) {
		s.q[0] = mmx_get(c, i->rm);
		s.q[1] = 0;
	} else {
		xmm_get(c, i->rm, &s);
	}
	if (kind_mm_dst(kind)) {
		d.q[0] = mmx_get(c, i->reg);
		d.q[1] = 0;
	} else {
		xmm_get(c, i->reg, &d);
	}
	if (kind_mm_dst(kind) || (kind == SK_XMM_MM && !i->mem))
		mmx_enter(c);
	if (e->flags & SF_FP) {
		uint32_t host = sse_fp_begin(c), flags;
		union xmm din = d;

		SSE_PIN(d);
		SSE_PIN(s);
		e->fn(&d, &s, (unsigned)i->imm);
		SSE_PIN(d);
		flags = sse_fp_stop(host);
		if ((c->fpu.mxcsr & MXCSR_MASKS) != MXCSR_MASKS)
			flags = sse_fp_post(c, e, flags, &din, &s, &d, (unsigned)i->imm);
		if (flags)
			sse_fp_raise(c, flags);
	} else {
		e->fn(&d, &s, (unsigned)i->imm);
	}
	if (kind_mm_dst(kind))
		mmx_set(c, i->reg, d.q[0]);
	else
		xmm_set(c, i->reg, &d);
}

/* ------------------------------------------------------------------ */
/* Moves                                                               */

static void op_mov(union xmm *d, const union xmm *s, unsigned imm)
{
	(void)imm;
	*d = *s;
}

/* MOVSLDUP, MOVSHDUP, MOVDDUP (SSE3) */
static void op_movsldup(union xmm *d, const union xmm *s, unsigned imm)
{
	(void)imm;
	d->d[0] = d->d[1] = s->d[0];
	d->d[2] = d->d[3] = s->d[2];
}

static void op_movshdup(union xmm *d, const union xmm *s, unsigned imm)
{
	(void)imm;
	d->d[0] = d->d[1] = s->d[1];
	d->d[2] = d->d[3] = s->d[3];
}

static void op_movddup(union xmm *d, const union xmm *s, unsigned imm)
{
	(void)imm;
	d->q[0] = d->q[1] = s->q[0];
}

/* Bytes of the element of a scalar form: F3 single, F2 double. */
static unsigned scalar_size(const struct insn *i)
{
	return i->pfx == PFX_F3 ? 4 : 8;
}

/* 0F 10: MOVUPS MOVUPD load; MOVSS MOVSD (memory zero-extends, a
 * register merges the low element). */
static void op_0f10(struct tcg_cpu *c, const struct insn *i)
{
	union xmm v, s;
	unsigned size;

	sse_check(c);
	if (i->pfx == PFX_NONE || i->pfx == PFX_66) {
		sse_src(c, i, &v, 16, false);
	} else {
		size = scalar_size(i);
		if (i->mem) {
			sse_load(c, i, &v, size, false);
		} else {
			xmm_get(c, i->reg, &v);
			xmm_get(c, i->rm, &s);
			memcpy(&v, &s, size);
		}
	}
	xmm_set(c, i->reg, &v);
}

/* Store xmm[reg]'s low size bytes to the r/m operand; a register
 * destination keeps its other bytes. */
static void store_rm(struct tcg_cpu *c, const struct insn *i, unsigned size, bool align)
{
	union xmm v, t;

	xmm_get(c, i->reg, &v);
	if (i->mem) {
		sse_store(c, i, &v, size, align);
		return;
	}
	xmm_get(c, i->rm, &t);
	memcpy(&t, &v, size);
	xmm_set(c, i->rm, &t);
}

/* 0F 11: MOVUPS MOVUPD MOVSS MOVSD store */
static void op_0f11(struct tcg_cpu *c, const struct insn *i)
{
	sse_check(c);
	store_rm(c, i, i->pfx == PFX_NONE || i->pfx == PFX_66 ? 16 : scalar_size(i), false);
}

/* 0F 12 / 0F 16: MOVLPS MOVLPD MOVHPS MOVHPD loads, MOVHLPS MOVLHPS;
 * F3/F2 are MOVSLDUP MOVDDUP MOVSHDUP (table). */
static void op_0f12_16(struct tcg_cpu *c, const struct insn *i)
{
	unsigned half = i->op == 0x16;  /* the destination's qword */
	union xmm d, s;

	if (i->pfx == PFX_F3 || i->pfx == PFX_F2) {
		sse_generic(c, i);
		return;
	}
	if (i->pfx == PFX_66 && !i->mem)
		sse_ud(c);
	sse_check(c);
	xmm_get(c, i->reg, &d);
	if (i->mem) {
		sse_load(c, i, &s, 8, false);
		d.q[half] = s.q[0];
	} else {
		xmm_get(c, i->rm, &s);
		d.q[half] = s.q[!half]; /* MOVHLPS, MOVLHPS */
	}
	xmm_set(c, i->reg, &d);
}

/* 0F 13 / 0F 17: MOVLPS MOVLPD MOVHPS MOVHPD stores (memory only) */
static void op_0f13_17(struct tcg_cpu *c, const struct insn *i)
{
	union xmm v, t;

	if (!i->mem || (i->pfx != PFX_NONE && i->pfx != PFX_66))
		sse_ud(c);
	sse_check(c);
	xmm_get(c, i->reg, &v);
	t.q[0] = v.q[i->op == 0x17];
	sse_store(c, i, &t, 8, false);
}

/* 0F 29: MOVAPS MOVAPD store */
static void op_0f29(struct tcg_cpu *c, const struct insn *i)
{
	if (i->pfx != PFX_NONE && i->pfx != PFX_66)
		sse_ud(c);
	sse_check(c);
	store_rm(c, i, 16, true);
}

/* 0F 2B: MOVNTPS MOVNTPD; 66 0F E7: MOVNTDQ (aligned, memory only) */
static void movnt_xmm(struct tcg_cpu *c, const struct insn *i)
{
	if (!i->mem)
		sse_ud(c);
	sse_check(c);
	store_rm(c, i, 16, true);
}

static void op_0f2b(struct tcg_cpu *c, const struct insn *i)
{
	if (i->pfx != PFX_NONE && i->pfx != PFX_66)
		sse_ud(c);
	movnt_xmm(c, i);
}

/* 0F E7: MOVNTQ m64, mm; 66: MOVNTDQ m128, xmm */
static void op_0fe7(struct tcg_cpu *c, const struct insn *i)
{
	union xmm v;

	if (i->pfx == PFX_66) {
		movnt_xmm(c, i);
		return;
	}
	if (i->pfx != PFX_NONE || !i->mem)
		sse_ud(c);
	mmx_check(c);
	v.q[0] = mmx_get(c, i->reg);
	sse_store(c, i, &v, 8, false);
	mmx_enter(c);
}

/* Operand size of MOVD/MOVQ with a general register: REX.W (the 66 of
 * the XMM forms is a mandatory prefix, not an operand size). */
static unsigned gpr_size(const struct insn *i)
{
	return (i->rex & 8) ? 8 : 4;
}

/* 0F 6E: MOVD/MOVQ mm, r/m32/64; 66: xmm, r/m32/64 (zero-extended) */
static void op_0f6e(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = gpr_size(i);
	union xmm v;

	switch (i->pfx) {
	case PFX_NONE:
		mmx_check(c);
		v.q[0] = tcg_rm_get(c, i, size) & size_mask(size);
		mmx_set(c, i->reg, v.q[0]);
		mmx_enter(c);
		break;
	case PFX_66:
		sse_check(c);
		v.q[0] = tcg_rm_get(c, i, size) & size_mask(size);
		v.q[1] = 0;
		xmm_set(c, i->reg, &v);
		break;
	default:
		sse_ud(c);
	}
}

/* 0F 7E: MOVD/MOVQ r/m32/64, mm; 66: r/m, xmm; F3: MOVQ xmm, xmm/m64 */
static void op_0f7e(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = gpr_size(i);
	union xmm v;

	switch (i->pfx) {
	case PFX_NONE:
		mmx_check(c);
		tcg_rm_set(c, i, size, mmx_get(c, i->reg) & size_mask(size));
		mmx_enter(c);
		break;
	case PFX_66:
		sse_check(c);
		xmm_get(c, i->reg, &v);
		tcg_rm_set(c, i, size, v.q[0] & size_mask(size));
		break;
	case PFX_F3:
		sse_check(c);
		sse_src(c, i, &v, 8, false);
		v.q[1] = 0;
		xmm_set(c, i->reg, &v);
		break;
	default:
		sse_ud(c);
	}
}

/* 0F 7F: MOVQ mm/m64, mm; 66: MOVDQA store; F3: MOVDQU store */
static void op_0f7f(struct tcg_cpu *c, const struct insn *i)
{
	union xmm v;

	switch (i->pfx) {
	case PFX_NONE:
		mmx_check(c);
		v.q[0] = mmx_get(c, i->reg);
		if (i->mem)
			sse_store(c, i, &v, 8, false);
		else
			mmx_set(c, i->rm, v.q[0]);
		mmx_enter(c);
		break;
	case PFX_66:
	case PFX_F3:
		sse_check(c);
		store_rm(c, i, 16, i->pfx == PFX_66);
		break;
	default:
		sse_ud(c);
	}
}

/* 0F D6: 66 MOVQ xmm/m64, xmm; F3 MOVQ2DQ xmm, mm; F2 MOVDQ2Q mm, xmm */
static void op_0fd6(struct tcg_cpu *c, const struct insn *i)
{
	union xmm v;

	switch (i->pfx) {
	case PFX_66:
		sse_check(c);
		xmm_get(c, i->reg, &v);
		v.q[1] = 0;
		if (i->mem)
			sse_store(c, i, &v, 8, false);
		else
			xmm_set(c, i->rm, &v);
		break;
	case PFX_F3:
		if (i->mem)
			sse_ud(c);
		sse_check(c);
		mmx_pending(c);
		v.q[0] = mmx_get(c, i->rm);
		v.q[1] = 0;
		xmm_set(c, i->reg, &v);
		mmx_enter(c);
		break;
	case PFX_F2:
		if (i->mem)
			sse_ud(c);
		sse_check(c);
		mmx_pending(c);
		xmm_get(c, i->rm, &v);
		mmx_set(c, i->reg, v.q[0]);
		mmx_enter(c);
		break;
	default:
		sse_ud(c);
	}
}

/*
 * 0F F7: MASKMOVQ mm, mm; 66: MASKMOVDQU xmm, xmm.  The bytes of reg whose
 * mask byte (rm) has its top bit set go to DS:rDI (a segment override
 * applies).  The whole 8 or 16 bytes are checked for writing whatever the
 * mask, an all-zero one included: the SDM leaves faults then optional
 * (Vol. 2, "MASKMOVQ"), the processor takes them.
 */
static void op_0ff7(struct tcg_cpu *c, const struct insn *i)
{
	uint64_t amask = size_mask(i->asz);
	uint64_t addr = c->s.regs[R_RDI] & amask;
	union xmm data, mask;
	unsigned n, k;

	if (i->mem || (i->pfx != PFX_NONE && i->pfx != PFX_66))
		sse_ud(c);
	if (i->pfx == PFX_NONE) {
		mmx_check(c);
		n = 8;
		data.q[0] = mmx_get(c, i->reg);
		mask.q[0] = mmx_get(c, i->rm);
		mmx_enter(c);   /* before the stores: a #PF finds it done */
	} else {
		sse_check(c);
		n = 16;
		xmm_get(c, i->reg, &data);
		xmm_get(c, i->rm, &mask);
	}
	tcg_probe_write(c, i->seg, addr, n);
	for (k = 0; k < n; k++)
		if (mask.b[k] & 0x80)
			tcg_st8(c, i->seg, (addr + k) & amask, data.b[k]);
}

/* 0F C3: MOVNTI m32/m64, r32/r64 (SSE2; no FPU-state checks) */
static void op_0fc3(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = gpr_size(i);

	if (!i->mem || i->pfx != PFX_NONE)
		sse_ud(c);
	tcg_st(c, i->seg, tcg_ea(c, i), size, tcg_reg_get(c, i, i->reg, size));
}

/* 0F 77: EMMS, every x87 tag empty (SDM Vol. 2, "EMMS") */
static void op_0f77(struct tcg_cpu *c, const struct insn *i)
{
	if (i->pfx != PFX_NONE)
		sse_ud(c);
	mmx_check(c);
	c->fpu.ftw = 0xffff;
}

/* ------------------------------------------------------------------ */
/* Group 15 (0F AE)                                                    */

static inline void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* FPU instruction and data pointers, bytes 8-23 of the image: 64-bit
 * offsets with REX.W in 64-bit mode, else 32-bit offsets with selectors
 * (SDM Vol. 2, "FXSAVE": the non-64-bit and 64-bit layouts). */
static void fx_put_pointers(const struct tcg_fpu *f, uint8_t *img, bool rexw)
{
	if (rexw) {
		put64(img + 8, f->fip);
		put64(img + 16, f->fdp);
		return;
	}
	put32(img + 8, (uint32_t)f->fip);
	put16(img + 12, f->fcs);
	put16(img + 14, 0);
	put32(img + 16, (uint32_t)f->fdp);
	put16(img + 20, f->fds);
	put16(img + 22, 0);
}

static void fx_get_pointers(struct tcg_fpu *f, const uint8_t *img, bool rexw)
{
	if (rexw) {
		f->fip = get64(img + 8);
		f->fdp = get64(img + 16);
		f->fcs = f->fds = 0;
		return;
	}
	f->fip = get32(img + 8);
	f->fcs = get16(img + 12);
	f->fdp = get32(img + 16);
	f->fds = get16(img + 20);
}

/* FXSAVE/FXRSTOR: #NM on CR0.TS or CR0.EM; a 16-byte aligned operand
 * (SDM Vol. 2, "FXSAVE" protected-mode exceptions). */
static uint64_t fx_checks(struct tcg_cpu *c, const struct insn *i)
{
	if (c->s.cr0 & (CR0_EM | CR0_TS))
		tcg_raise(c, EXC_NM, NO_ERRCODE);
	return sse_addr(c, i, true);
}

/*
 * FXSAVE: the image ends after the last XMM register: byte 416 in 64-bit
 * mode (XMM0-15), byte 288 outside it (XMM0-7).  The reserved bytes
 * 416-463 and the software-available bytes 464-511 are left untouched,
 * as the processor does (SDM Vol. 1, 10.5.1, Tables 10-2 and 10-3).
 */
static void fxsave(struct tcg_cpu *c, const struct insn *i)
{
	uint8_t img[512] __attribute__((aligned(16)));
	uint64_t off = fx_checks(c, i);
	bool code64 = tcg_code64(c);

	tcg_fpu_to_fxsave(&c->fpu, img);
	fx_put_pointers(&c->fpu, img, code64 && (i->rex & 8));
	tcg_probe_write(c, i->seg, off, 512);
	tcg_st_bytes(c, i->seg, off, img, code64 ? 416 : 288);
}

/* FXRSTOR: #GP(0) on reserved MXCSR bits, checked before any state
 * changes. */
static void fxrstor(struct tcg_cpu *c, const struct insn *i)
{
	uint8_t img[512] __attribute__((aligned(16)));
	uint64_t off = fx_checks(c, i);
	bool code64 = tcg_code64(c);
	union xmm high[8];

	tcg_ld_bytes(c, i->seg, off, img, 512);
	if (get32(img + 24) & ~MXCSR_VALID)
		tcg_raise(c, EXC_GP, 0);
	memcpy(high, &c->fpu.xmm[8], sizeof(high));
	tcg_fpu_from_fxsave(&c->fpu, img);
	fx_get_pointers(&c->fpu, img, code64 && (i->rex & 8));
	if (!code64)
		memcpy(&c->fpu.xmm[8], high, sizeof(high));
}

/* LDMXCSR: #GP(0) when a reserved bit is set (SDM Vol. 2, "LDMXCSR") */
static void ldmxcsr(struct tcg_cpu *c, const struct insn *i)
{
	uint32_t v;

	sse_check(c);
	v = tcg_ld32(c, i->seg, tcg_ea(c, i));
	if (v & ~MXCSR_VALID)
		tcg_raise(c, EXC_GP, 0);
	c->fpu.mxcsr = v;
}

static void stmxcsr(struct tcg_cpu *c, const struct insn *i)
{
	sse_check(c);
	tcg_st32(c, i->seg, tcg_ea(c, i), c->fpu.mxcsr);
}

/* CLFLUSH: checked like a byte read (segment and page), then nothing:
 * this emulator has no cache to flush (SDM Vol. 2, "CLFLUSH"). */
static void clflush(struct tcg_cpu *c, const struct insn *i)
{
	uint64_t lin = tcg_seg_linear(c, i->seg, tcg_ea(c, i), 1, ACC_READ);

	tcg_translate(c, lin, ACC_READ, tcg_data_kind(c));
}

/* LFENCE, MFENCE, SFENCE (the register forms of /5 /6 /7).  The host is
 * x86 and guest stores are plain host stores, so only MFENCE orders
 * anything beyond what the host already guarantees. */
static void fences(struct tcg_cpu *c, const struct insn *i)
{
	if (i->pfx != PFX_NONE)
		sse_ud(c);              /* TPAUSE, INCSSP ...: not advertised */
	switch (i->reg & 7) {
	case 5:
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		break;
	case 6:
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		break;
	case 7:
		__atomic_thread_fence(__ATOMIC_RELEASE);
		break;
	default:
		sse_ud(c);
	}
}

/* 0F AE, group 15 (SDM Vol. 2, Table A-6).  XSAVE, XRSTOR and XSAVEOPT
 * are xsave.c's; CLWB, CLFLUSHOPT and the F3 forms are not advertised:
 * #UD. */
static void op_0fae(struct tcg_cpu *c, const struct insn *i)
{
	if (!i->mem) {
		if (i->pfx == PFX_F3 && (i->reg & 7) < 4)
			tcg_fsgsbase(c, i);     /* system.c */
		else
			fences(c, i);
		return;
	}
	if (i->pfx == PFX_F3 || i->pfx == PFX_F2)
		sse_ud(c);
	switch (i->reg & 7) {
	case 0:
		fxsave(c, i);
		break;
	case 1:
		fxrstor(c, i);
		break;
	case 2:
		ldmxcsr(c, i);
		break;
	case 3:
		stmxcsr(c, i);
		break;
	case 4 ... 6:
		tcg_xsave_op(c, i);
		break;
	case 7:
		if (i->pfx != PFX_NONE)
			sse_ud(c);      /* CLFLUSHOPT */
		clflush(c, i);
		break;
	default:
		sse_ud(c);
	}
}

/* ------------------------------------------------------------------ */
/* Registration                                                        */

static void register_moves(void)
{
	/* MOVAPS MOVAPD; MOVQ mm, mm/m64; MOVDQA MOVDQU; LDDQU; MOVNTDQA */
	sse_def(MAP_0F, 0x28, PFX_NONE, op_mov, SK_XMM, 16, SF_ALIGN);
	sse_def(MAP_0F, 0x28, PFX_66, op_mov, SK_XMM, 16, SF_ALIGN);
	sse_def(MAP_0F, 0x6f, PFX_NONE, op_mov, SK_MM, 8, 0);
	sse_def(MAP_0F, 0x6f, PFX_66, op_mov, SK_XMM, 16, SF_ALIGN);
	sse_def(MAP_0F, 0x6f, PFX_F3, op_mov, SK_XMM, 16, 0);
	sse_def(MAP_0F, 0xf0, PFX_F2, op_mov, SK_XMM, 16, SF_MEM);
	sse_def(MAP_0F38, 0x2a, PFX_66, op_mov, SK_XMM, 16, SF_ALIGN | SF_MEM);
	sse_def(MAP_0F, 0x12, PFX_F3, op_movsldup, SK_XMM, 16, SF_ALIGN);
	sse_def(MAP_0F, 0x16, PFX_F3, op_movshdup, SK_XMM, 16, SF_ALIGN);
	sse_def(MAP_0F, 0x12, PFX_F2, op_movddup, SK_XMM, 8, 0);

	tcg_ops[MAP_0F][0x10] = op_0f10;
	tcg_ops[MAP_0F][0x11] = op_0f11;
	tcg_ops[MAP_0F][0x12] = op_0f12_16;
	tcg_ops[MAP_0F][0x16] = op_0f12_16;
	tcg_ops[MAP_0F][0x13] = op_0f13_17;
	tcg_ops[MAP_0F][0x17] = op_0f13_17;
	tcg_ops[MAP_0F][0x29] = op_0f29;
	tcg_ops[MAP_0F][0x2b] = op_0f2b;
	tcg_ops[MAP_0F][0x6e] = op_0f6e;
	tcg_ops[MAP_0F][0x7e] = op_0f7e;
	tcg_ops[MAP_0F][0x7f] = op_0f7f;
	tcg_ops[MAP_0F][0x77] = op_0f77;
	tcg_ops[MAP_0F][0xae] = op_0fae;
	tcg_ops[MAP_0F][0xc3] = op_0fc3;
	tcg_ops[MAP_0F][0xd6] = op_0fd6;
	tcg_ops[MAP_0F][0xe7] = op_0fe7;
	tcg_ops[MAP_0F][0xf7] = op_0ff7;
}

/* The opcodes of the ownership table (README.md): 0F 10-17 28-2F 50-7F
 * AE C2-C6 D0-FF, 0F 38 all but F0 F1, 0F 3A all.  Every slot starts on
 * the generic handler, whose empty table entries are #UD. */
void tcg_register_sse(void)
{
	unsigned op;

	for (op = 0; op < 256; op++) {
		bool mine = (op >= 0x10 && op <= 0x17) || (op >= 0x28 && op <= 0x2f) ||
			    (op >= 0x50 && op <= 0x7f) || op == 0xae ||
			    (op >= 0xc2 && op <= 0xc6) || op >= 0xd0;

		if (mine)
			tcg_ops[MAP_0F][op] = sse_generic;
		if (op != 0xf0 && op != 0xf1 && op != 0x82)   /* alu.c, system.c */
			tcg_ops[MAP_0F38][op] = sse_generic;
		tcg_ops[MAP_0F3A][op] = sse_generic;
	}
	register_moves();
	sse_int_register();
	sse_fp_register();
}
