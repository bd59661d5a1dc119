/*
 * Private interface of the MMX/SSE files (sse.c, sse-int.c, sse-fp.c):
 * the 128-bit value type, the operation table the generic handler runs,
 * and the helpers for exceptions, operands and the guest MXCSR.
 */
#ifndef QVM_TCG_SSE_H
#define QVM_TCG_SSE_H

#include "tcg/tcg.h"

typedef long long sse_v2di __attribute__((vector_size(16)));

/* One XMM register's worth (an MMX register uses the low 8 bytes). */
union xmm {
	uint8_t b[16];
	int8_t sb[16];
	uint16_t w[8];
	int16_t sw[8];
	uint32_t d[4];
	int32_t sd[4];
	uint64_t q[2];
	int64_t sq[2];
	float f[4];
	double df[2];
	sse_v2di v;
};

/* MXCSR fields (SDM Vol. 1, 10.2.3) */
#define MXCSR_IE 0x0001
#define MXCSR_DE 0x0002
#define MXCSR_ZE 0x0004
#define MXCSR_OE 0x0008
#define MXCSR_UE 0x0010
#define MXCSR_PE 0x0020
#define MXCSR_FLAGS 0x003f
#define MXCSR_DAZ 0x0040
#define MXCSR_MASKS 0x1f80
#define MXCSR_UM 0x0800
#define MXCSR_RC 0x6000
#define MXCSR_FTZ 0x8000
/*
 * Bits LDMXCSR/FXRSTOR accept: the MXCSR_MASK that FXSAVE stores (SDM
 * Vol. 1, 11.6.6).  Bits 0-15, DAZ included: every x86-64 processor has
 * DAZ, and TCG runs guest SSE arithmetic on the host under the guest's
 * DAZ.  Nothing above bit 15: AMD's misaligned-SSE mode bit 17 (MM, APM
 * Vol. 4) comes with CPUID 8000_0001h ECX.MisAlignSse, which this
 * GenuineIntel CPUID (cpuid.c) does not advertise.
 */
#define MXCSR_VALID 0xffff

/*
 * An operation of the table: d is the destination register's value (in
 * and out), s the source (register, or memory zero-extended from msize
 * bytes), imm the Ib of the instruction.  For MMX forms only the low 8
 * bytes count.
 */
typedef void (*sse_fn)(union xmm *d, const union xmm *s, unsigned imm);

enum sse_kind {
	SK_XMM,         /* xmm, xmm/m */
	SK_MM,          /* mm, mm/m: MMX rules */
	SK_XMM_MM,      /* xmm, mm/m64 (CVTPI2PS/PD) */
	SK_MM_XMM,      /* mm, xmm/m (CVTPS2PI family) */
};

#define SF_ALIGN 0x01   /* a 16-byte memory operand must be aligned */
#define SF_FP    0x02   /* runs on the host under the guest MXCSR */
#define SF_MEM   0x04   /* memory source only: the register form is #UD */
/* The result can underflow: its float (UF_F) or double (UF_D) elements,
 * all of them or only the low one (UF_S), are checked for an exact tiny
 * result when underflow is unmasked (see sse_underflow()). */
#define SF_UF_F  0x08
#define SF_UF_D  0x10
#define SF_UF_S  0x20
#define SF_UF_DP 0x40   /* DPPS/DPPD: flags found step by step (dp_flags()) */

/*
 * What an element of the result is, for finding out whether it is exact
 * at the destination's precision when its exponent range is unbounded
 * (see sse_fp_post()): element k is d[k] OP s[k], the horizontal forms
 * pair neighbours of d and then of s, ADDSUB subtracts in the even
 * elements, CVT rounds the double s[k] to single precision.
 */
enum sse_elem_op {
	EO_NONE, EO_ADD, EO_SUB, EO_MUL, EO_DIV, EO_HADD, EO_HSUB, EO_ADDSUB, EO_CVT,
};

struct sse_desc {
	sse_fn fn;
	uint8_t kind;   /* enum sse_kind */
	uint8_t msize;  /* bytes of a memory source: 2, 4, 8 or 16 */
	uint8_t flags;  /* SF_* */
	uint8_t eop;    /* enum sse_elem_op, for SF_FP entries that can
			 * overflow or underflow */
};

/* [map - MAP_0F][opcode][pfx]; filled once at registration. */
extern struct sse_desc sse_desc[3][256][4];

static inline void sse_def(unsigned map, unsigned op, unsigned pfx, sse_fn fn,
			   unsigned kind, unsigned msize, unsigned flags)
{
	sse_desc[map - MAP_0F][op][pfx] = (struct sse_desc){
		fn, (uint8_t)kind, (uint8_t)msize, (uint8_t)flags, EO_NONE,
	};
}

/* The packed-integer shape shared by MMX and SSE2: mm, mm/m64 without a
 * prefix and xmm, xmm/m128 (aligned) with 66. */
static inline void sse_def_mmx_xmm(unsigned map, unsigned op, sse_fn mm, sse_fn xmm)
{
	if (mm)
		sse_def(map, op, PFX_NONE, mm, SK_MM, 8, 0);
	sse_def(map, op, PFX_66, xmm, SK_XMM, 16, SF_ALIGN);
}

/* The handler of every table-driven opcode, and the fills of each file. */
void sse_generic(struct tcg_cpu *c, const struct insn *i);
void sse_int_register(void);
void sse_fp_register(void);
/* avx-sse.c: the VEX forms of the above (tcg_vex_ops), from avx.c */
void avx_sse_register(void);
/* sse-crypto.c: which extension a legacy instruction of that file's
 * table belongs to (the JIT runs it on a host that has it) */
enum { CRYPTO_NONE, CRYPTO_AES, CRYPTO_PCLMUL, CRYPTO_SHA };
unsigned sse_crypto_kind(const struct insn *i);
/* The JIT's view of an instruction that avx-sse.c runs through its
 * table (the lane-wise VEX forms of sse_desc): true when it is one with
 * an encoding that raises no #UD, and then how it uses its operands. */
struct avx_form {
	bool wide;              /* the 256-bit form (VEX.L = 1 and not LIG) */
	bool nds;               /* src1 is VEX.vvvv (else ModRM.reg, unread) */
	bool fp;                /* SIMD floating point (SF_FP) */
	unsigned msize;         /* bytes of its memory operand */
};
bool avx_table_form(const struct insn *i, struct avx_form *f);

/* Shared by the legacy and the VEX handlers (sse-fp.c, sse-int.c). */
/* d's low element = (float or double) v, a 32-bit or (wide) 64-bit
 * integer, under the host MXCSR the caller loaded */
void sse_cvtsi2f(union xmm *d, uint64_t v, bool dbl, bool wide);
void sse_cvtsi2f_guest(struct tcg_cpu *c, union xmm *d, uint64_t v, bool dbl, bool wide);
/* PEXTRB/W/D/Q, EXTRACTPS: v's element to r/m; PINSRB/D/Q: r/m into v's
 * element (sse-int.c; the legacy and VEX forms) */
void sse_pextr_store(struct tcg_cpu *c, const struct insn *i, const union xmm *v);
void sse_pinsr_into(struct tcg_cpu *c, const struct insn *i, union xmm *v);
/* CVT(T)SS2SI / CVT(T)SD2SI of s's low element: which 0x2c truncates */
uint64_t sse_cvtf2si(const union xmm *s, unsigned which, bool dbl, bool wide);
/* (U)COMISS/SD d, s (which: opcode 2E or 2F) with its flags and MXCSR */
void sse_comis(struct tcg_cpu *c, union xmm *d, union xmm *s, unsigned which, bool dbl);
/* PCMPESTRI/ESTRM/ISTRI/ISTRM (i->op 60-63, i->imm) of a and b: sets the
 * flags, and ECX for the index forms; true when *mask is the result to
 * write to XMM0 (the mask forms). */
bool sse_pcmpstr(struct tcg_cpu *c, const struct insn *i, const union xmm *a,
		 const union xmm *b, union xmm *mask);

/* ------------------------------------------------------------------ */
/* Exceptions (SDM Vol. 2, 2.5: exception classes of SSE instructions)  */

_Noreturn void sse_ud(struct tcg_cpu *c);
/* SSE: #UD if CR0.EM or !CR4.OSFXSR, #NM if CR0.TS. */
void sse_check(struct tcg_cpu *c);
/* MMX: #UD if CR0.EM, #NM if CR0.TS, #MF if an x87 exception is pending. */
void mmx_check(struct tcg_cpu *c);
/* The #MF check alone, for SSE instructions that touch an MMX register. */
void mmx_pending(struct tcg_cpu *c);

/* An MMX instruction executed: TOP = 0, every tag valid (SDM Vol. 1,
 * 9.5.1).  Called once its operands are read: only a SIMD floating-point
 * exception or MASKMOVQ's store can fault after it, and find it done. */
static inline void mmx_enter(struct tcg_cpu *c)
{
	c->fpu.top = 0;
	c->fpu.ftw = 0;
}

/* VEX-encoded instructions (SDM Vol. 2, 2.8, exception classes of the
 * AVX instructions): #UD in real and virtual-8086 mode, unless
 * CR4.OSXSAVE is set and XCR0 enables both SSE and AVX state; #NM if
 * CR0.TS.  (CR0.EM and CR4.OSFXSR do not matter.) */
void vex_check(struct tcg_cpu *c);

/* ------------------------------------------------------------------ */
/* Registers                                                           */

static inline uint64_t mmx_get(const struct tcg_cpu *c, unsigned r)
{
	uint64_t v;

	memcpy(&v, &c->fpu.st[r & 7], 8);
	return v;
}

/* Writing MMX register i sets the exponent and sign of R[i] to all ones
 * (SDM Vol. 1, 9.5.1). */
static inline void mmx_set(struct tcg_cpu *c, unsigned r, uint64_t v)
{
	uint8_t *p = (uint8_t *)&c->fpu.st[r & 7];

	memcpy(p, &v, 8);
	p[8] = 0xff;
	p[9] = 0xff;
}

static inline void xmm_get(const struct tcg_cpu *c, unsigned r, union xmm *v)
{
	memcpy(v, &c->fpu.xmm[r & 15], 16);
}

static inline void xmm_set(struct tcg_cpu *c, unsigned r, const union xmm *v)
{
	memcpy(&c->fpu.xmm[r & 15], v, 16);
}

/* One YMM register: lo is bits 127:0 (fpu.xmm), hi bits 255:128
 * (xs.ymm_h). */
struct ymm {
	union xmm lo, hi;
};

static inline void ymm_get(const struct tcg_cpu *c, unsigned r, struct ymm *v)
{
	memcpy(&v->lo, &c->fpu.xmm[r & 15], 16);
	memcpy(&v->hi, c->xs.ymm_h[r & 15], 16);
}

static inline void ymm_set(struct tcg_cpu *c, unsigned r, const struct ymm *v)
{
	memcpy(&c->fpu.xmm[r & 15], &v->lo, 16);
	memcpy(c->xs.ymm_h[r & 15], &v->hi, 16);
}

/* A VEX.128 write of register r: bits 255:128 become zero (bits beyond
 * VLMAX too, once AVX-512 is in; SDM Vol. 1, 14.1.2). */
static inline void vex_set128(struct tcg_cpu *c, unsigned r, const union xmm *v)
{
	memcpy(&c->fpu.xmm[r & 15], v, 16);
	memset(c->xs.ymm_h[r & 15], 0, 16);
}

/* ------------------------------------------------------------------ */
/* Memory operands                                                     */

/* Offset of the memory operand; with align, #GP(0) unless its linear
 * address is 16-byte aligned (SDM Vol. 1, 11.6.8). */
uint64_t sse_addr(struct tcg_cpu *c, const struct insn *i, bool align);
/* Load size (2, 4, 8, 16) bytes of the memory operand into v, zero-
 * extended; store the low size bytes of v. */
void sse_load(struct tcg_cpu *c, const struct insn *i, union xmm *v, unsigned size, bool align);
void sse_store(struct tcg_cpu *c, const struct insn *i, const union xmm *v, unsigned size, bool align);
/* The xmm/m source of size bytes (a register's full 16 bytes). */
void sse_src(struct tcg_cpu *c, const struct insn *i, union xmm *v, unsigned size, bool align);

/* ------------------------------------------------------------------ */
/* Host floating point under the guest MXCSR                            */

/*
 * sse_fp_begin() loads the guest's rounding, DAZ and FTZ into the host
 * MXCSR with every exception masked and returns the host's own value;
 * sse_fp_end() restores it and hands the exception flags raised in
 * between to sse_fp_flags(), which merges them into the guest MXCSR or
 * raises #XM (#UD without CR4.OSXMMEXCPT) for an unmasked one, before
 * the destination is written (SDM Vol. 1, 11.5.1-11.5.3).  Values must be
 * pinned (SSE_PIN) on both sides so the compiler keeps the work inside.
 */
#define SSE_PIN(x) asm volatile("" : "+m"(x))
#define SSE_PINX(x) asm volatile("" : "+x"(x))

static inline uint32_t sse_fp_begin(const struct tcg_cpu *c)
{
	uint32_t host, guest = c->fpu.mxcsr;
	uint32_t want = (guest & (MXCSR_RC | MXCSR_DAZ)) | MXCSR_MASKS;

	/* FTZ acts only while underflow is masked */
	if (guest & MXCSR_UM)
		want |= guest & MXCSR_FTZ;
	asm volatile("stmxcsr %0" : "=m"(host));
	asm volatile("ldmxcsr %0" : : "m"(want));
	return host;
}

/* Merge flags into the guest MXCSR; #XM (#UD) if one is unmasked. */
void sse_fp_raise(struct tcg_cpu *c, uint32_t flags);

/* An unmasked pre-computation exception (invalid, denormal, divide by
 * zero) stops the operation: no post-computation flags go with it
 * (SDM Vol. 1, 11.5.2). */
static inline uint32_t sse_fp_strip(uint32_t mxcsr, uint32_t flags)
{
	uint32_t unmasked = flags & ~(mxcsr >> 7) & MXCSR_FLAGS;

	if (unmasked & (MXCSR_IE | MXCSR_DE | MXCSR_ZE))
		flags &= MXCSR_IE | MXCSR_DE | MXCSR_ZE;
	return flags;
}

static inline void sse_fp_flags(struct tcg_cpu *c, uint32_t flags)
{
	sse_fp_raise(c, sse_fp_strip(c->fpu.mxcsr, flags));
}

/*
 * The flags an SF_FP entry e reports when some exception is unmasked,
 * from the flags of its run with all of them masked: d_in and s its
 * operands, d the result (see sse-fp.c).  DPPS/DPPD run step by step;
 * the flags come back stripped, for sse_fp_raise().
 */
uint32_t sse_fp_post(const struct tcg_cpu *c, const struct sse_desc *e, uint32_t flags,
		     const union xmm *d_in, const union xmm *s, const union xmm *d,
		     unsigned imm);

/* Restore the host MXCSR; the exception flags raised meanwhile. */
static inline uint32_t sse_fp_stop(uint32_t host)
{
	uint32_t now;

	asm volatile("stmxcsr %0" : "=m"(now));
	asm volatile("ldmxcsr %0" : : "m"(host));
	return now & MXCSR_FLAGS;
}

static inline void sse_fp_end(struct tcg_cpu *c, uint32_t host)
{
	uint32_t flags = sse_fp_stop(host);

	if (flags)
		sse_fp_flags(c, flags);
}

/*
 * Instructions whose immediate selects the operation (CMPPS, ROUNDPS,
 * DPPS, PCMPxSTRx): the host instruction needs it encoded, so a switch
 * over all 256 values runs STMT(N) with N a constant expression.
 */
#define SSE_CASE(N, S) case (N): S(N); break;
#define SSE_CASES4(N, S) SSE_CASE(N, S) SSE_CASE((N) + 1, S) \
	SSE_CASE((N) + 2, S) SSE_CASE((N) + 3, S)
#define SSE_CASES16(N, S) SSE_CASES4(N, S) SSE_CASES4((N) + 4, S) \
	SSE_CASES4((N) + 8, S) SSE_CASES4((N) + 12, S)
#define SSE_CASES64(N, S) SSE_CASES16(N, S) SSE_CASES16((N) + 16, S) \
	SSE_CASES16((N) + 32, S) SSE_CASES16((N) + 48, S)
#define SSE_IMM_SWITCH(imm, S)                                          \
	switch ((imm) & 0xff) {                                         \
	SSE_CASES64(0, S) SSE_CASES64(64, S)                            \
	SSE_CASES64(128, S) SSE_CASES64(192, S)                         \
	}
/* The same over the low four bits, where the host ignores the others. */
#define SSE_IMM_SWITCH16(imm, S)                                        \
	switch ((imm) & 15) {                                           \
	SSE_CASES16(0, S)                                               \
	}

#endif
