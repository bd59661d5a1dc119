/*
 * The x87 FPU (SDM Vol. 1 ch. 8; Vol. 2 "F2XM1" to "FYL2XP1"): opcodes
 * D8-DF and FWAIT (9B), and the FXSAVE image packing that FXSAVE/FXRSTOR
 * (sse.c) and the state get/set (exec.c) use.
 *
 * The registers are kept as the host's 80-bit long double, the same
 * double extended-precision format.  The numeric work is done by the
 * host's own x87 under the guest's control word: each operation loads its
 * operands onto the (empty) host stack, runs the very instruction the
 * guest asked for, reads the host status word for the exception flags and
 * C0-C3, and clears a pending exception (FNCLEX) before any waiting
 * instruction can see it, so the host never takes #MF even when the guest
 * unmasks exceptions.  Rounding, precision control, NaN propagation,
 * denormals, the transcendental results and the masked and unmasked
 * responses are then those of the host processor, bit for bit.  The
 * stack itself (TOP, tags, stack faults) and the FPU pointers are kept
 * here.
 */
#include "tcg.h"
#include "sse.h"

/* FPU status word (SDM Vol. 1, 8.1.3) */
#define FSW_IE 0x0001
#define FSW_DE 0x0002
#define FSW_ZE 0x0004
#define FSW_OE 0x0008
#define FSW_UE 0x0010
#define FSW_PE 0x0020
#define FSW_SF 0x0040
#define FSW_ES 0x0080
#define FSW_C0 0x0100
#define FSW_C1 0x0200
#define FSW_C2 0x0400
#define FSW_TOP 0x3800
#define FSW_C3 0x4000
#define FSW_B 0x8000
#define FSW_EXC 0x003f          /* the six exception flags */
#define FSW_CC (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)
#define FSW_CMP (FSW_C0 | FSW_C2 | FSW_C3)

/* Exceptions detected before the operation: an unmasked one leaves the
 * operands and TOP unchanged (SDM Vol. 1, 8.5.1-8.5.3). */
#define EXC_PRE (FSW_IE | FSW_DE | FSW_ZE)
/* ... and for a store to memory, O and U too (8.5.4, 8.5.5). */
#define EXC_NOSTORE (FSW_IE | FSW_DE | FSW_ZE | FSW_OE | FSW_UE)

/* FPU control word: bits 6 (reads as 1) and 13-15 do not exist. */
#define FCW_INIT 0x037f
#define FCW_BITS 0x1f3f
#define FCW_ONES 0x0040
#define FCW_RC 0x0c00           /* rounding control; 11 = toward zero */

/* tag word values (SDM Vol. 1, 8.1.7) */
enum { TAG_VALID, TAG_ZERO, TAG_SPECIAL, TAG_EMPTY };

/* ------------------------------------------------------------------ */
/* 80-bit values                                                       */

static inline uint64_t fx_mant(const long double *v)
{
	uint64_t m;

	memcpy(&m, v, 8);
	return m;
}

static inline uint16_t fx_sexp(const long double *v)
{
	uint16_t e;

	memcpy(&e, (const uint8_t *)v + 8, 2);
	return e;
}

static inline void fx_make(long double *v, uint16_t sexp, uint64_t mant)
{
	memset(v, 0, sizeof(*v));
	memcpy(v, &mant, 8);
	memcpy((uint8_t *)v + 8, &sexp, 2);
}

/* QNaN floating-point indefinite (SDM Vol. 1, 4.8.3.7) */
static inline void fx_indefinite(long double *v)
{
	fx_make(v, 0xffff, 0xc000000000000000ULL);
}

/* 10 bytes of memory image <-> register, the padding kept zero. */
static inline void fx_from_bytes(long double *v, const uint8_t *b)
{
	memset(v, 0, sizeof(*v));
	memcpy(v, b, 10);
}

/* The tag a non-empty register holds for its value (SDM Vol. 1, 8.1.7):
 * zero, valid (normalised), else special (NaN, infinity, denormal,
 * pseudo-denormal, unnormal, unsupported). */
static unsigned fx_tag(const long double *v)
{
	unsigned exp = fx_sexp(v) & 0x7fff;
	uint64_t mant = fx_mant(v);

	if (exp == 0x7fff)
		return TAG_SPECIAL;
	if (exp == 0)
		return mant ? TAG_SPECIAL : TAG_ZERO;
	return (mant >> 63) ? TAG_VALID : TAG_SPECIAL;
}

static inline void put16(uint8_t *b, uint16_t v) { memcpy(b, &v, 2); }
static inline void put32(uint8_t *b, uint32_t v) { memcpy(b, &v, 4); }
static inline uint16_t get16(const uint8_t *b) { uint16_t v; memcpy(&v, b, 2); return v; }
static inline uint32_t get32(const uint8_t *b) { uint32_t v; memcpy(&v, b, 4); return v; }

/* ------------------------------------------------------------------ */
/* The register stack                                                  */

static inline unsigned st_phys(const struct tcg_fpu *f, unsigned i)
{
	return (f->top + i) & 7;
}

static inline unsigned reg_tag(const struct tcg_fpu *f, unsigned r)
{
	return (f->ftw >> (2 * r)) & 3;
}

static inline void reg_set_tag(struct tcg_fpu *f, unsigned r, unsigned tag)
{
	f->ftw = (f->ftw & ~(3u << (2 * r))) | tag << (2 * r);
}

static inline bool st_empty(const struct tcg_fpu *f, unsigned i)
{
	return reg_tag(f, st_phys(f, i)) == TAG_EMPTY;
}

static inline const long double *st_ptr(const struct tcg_fpu *f, unsigned i)
{
	return &f->st[st_phys(f, i)];
}

static void st_set(struct tcg_fpu *f, unsigned i, const long double *v)
{
	unsigned r = st_phys(f, i);

	memcpy(&f->st[r], v, sizeof(*v));
	reg_set_tag(f, r, fx_tag(v));
}

static void st_set_indefinite(struct tcg_fpu *f, unsigned i)
{
	long double v;

	fx_indefinite(&v);
	st_set(f, i, &v);
}

static void st_push(struct tcg_fpu *f, const long double *v)
{
	f->top = (f->top - 1) & 7;
	st_set(f, 0, v);
}

static void st_pop(struct tcg_fpu *f)
{
	reg_set_tag(f, f->top, TAG_EMPTY);
	f->top = (f->top + 1) & 7;
}

/* A push needs ST(7), the register below the top, to be empty. */
static inline bool st_full(const struct tcg_fpu *f)
{
	return !st_empty(f, 7);
}

static inline void set_c1(struct tcg_fpu *f, bool on)
{
	f->fsw = (f->fsw & ~FSW_C1) | (on ? FSW_C1 : 0);
}

/* ES and B summarise the unmasked exception flags (SDM Vol. 1, 8.1.3.1;
 * the hardware recomputes them whenever FCW or FSW is loaded). */
static void fpu_update_es(struct tcg_fpu *f)
{
	if (f->fsw & ~f->fcw & FSW_EXC)
		f->fsw |= FSW_ES | FSW_B;
	else
		f->fsw &= ~(FSW_ES | FSW_B);
}

/* Stack overflow or underflow (#IS, SDM Vol. 1, 8.5.1.1): IE and SF, C1
 * tells which.  Returns true when masked: the caller then goes on with
 * the QNaN indefinite; unmasked, nothing else changes. */
static bool fpu_stack_fault(struct tcg_fpu *f, bool overflow)
{
	f->fsw |= FSW_IE | FSW_SF;
	set_c1(f, overflow);
	if (f->fcw & FSW_IE)
		return true;
	f->fsw |= FSW_ES | FSW_B;
	return false;
}

/* Fold the exception flags of a host run into the guest's FSW.  Returns
 * the unmasked ones. */
static unsigned fpu_merge_exc(struct tcg_fpu *f, uint16_t host_sw)
{
	unsigned exc = host_sw & FSW_EXC;
	unsigned unmasked = exc & ~f->fcw & FSW_EXC;

	f->fsw |= exc;
	if (unmasked)
		f->fsw |= FSW_ES | FSW_B;
	return unmasked;
}

static inline void fpu_set_cc(struct tcg_fpu *f, uint16_t host_sw, uint16_t mask)
{
	f->fsw = (f->fsw & ~mask) | (host_sw & mask);
}

/* Both, after a host run: the condition bits in mask are the host's even
 * when an unmasked exception stops the instruction. */
static unsigned fpu_merge_cc(struct tcg_fpu *f, uint16_t host_sw, uint16_t mask)
{
	fpu_set_cc(f, host_sw, mask);
	return fpu_merge_exc(f, host_sw);
}

static void fpu_init(struct tcg_fpu *f)
{
	f->fcw = FCW_INIT;
	f->fsw = 0;
	f->top = 0;
	f->ftw = 0xffff;
	f->fop = 0;
	f->fip = f->fdp = 0;
	f->fcs = f->fds = 0;
}

/* The full tag word as FSTENV/FSAVE store it: recomputed from the
 * contents of every non-empty register. */
static uint16_t fpu_tag_word(const struct tcg_fpu *f)
{
	uint16_t tw = 0;

	for (unsigned r = 0; r < 8; r++) {
		unsigned tag = reg_tag(f, r);

		if (tag != TAG_EMPTY)
			tag = fx_tag(&f->st[r]);
		tw |= tag << (2 * r);
	}
	return tw;
}

/* Loaded tags: only "empty or not" counts, the rest follows the values. */
static void fpu_load_tags(struct tcg_fpu *f, uint16_t tw)
{
	for (unsigned r = 0; r < 8; r++) {
		unsigned tag = (tw >> (2 * r)) & 3;

		reg_set_tag(f, r, tag == TAG_EMPTY ? TAG_EMPTY : fx_tag(&f->st[r]));
	}
}

static inline uint16_t fpu_sw(const struct tcg_fpu *f)
{
	return (f->fsw & ~FSW_TOP) | (f->top & 7) << 11;
}

/* ------------------------------------------------------------------ */
/* Host x87 runs                                                       */

/* One run: in[0] becomes the host's ST(0) and in[1] its ST(1) (loaded
 * as the layout says); afterwards out[0] and out[1] hold the host's ST(0)
 * and ST(1) and depth how many of them are live.  mem is the memory
 * operand of the instruction (loaded from / stored to by the caller). */
struct hx {
	long double in[2];
	long double out[2];
	uint8_t mem[16] __attribute__((aligned(16)));
	uint16_t cw, sw0, sw, host_cw;
	uint16_t env[14];       /* 32-bit FLDENV image for HX_PRE_ENV */
};
typedef void (*hx_fn)(struct hx *h);

#define HX_L0 ""
#define HX_L1 "fldt %[i0]\n\t"
#define HX_L2 "fldt %[i1]\n\t" "fldt %[i0]\n\t"

/* Before the loads: exception flags left by other host x87 code must not
 * become pending under the guest's FCW, so FNCLEX (slow: only when some
 * are set), then the guest's FCW. */
#define HX_PRE_CW                                                           \
	"fnstsw %%ax\n\t"                                                   \
	"testb $0xff, %%al\n\t"                                             \
	"jz 1f\n\t"                                                         \
	"fnclex\n"                                                          \
	"1:\tfldcw %[cw]\n\t"
/* Or a whole made-up environment: the guest's FCW and C0-C3, no flags,
 * all empty (dearer: for FPREM/FPREM1, which leave some of C0-C3 alone
 * in cases the SDM calls undefined). */
#define HX_PRE_ENV                                                          \
	"fldenv %[env]\n\t"                                                 \
	"fnstsw %%ax\n\t"

/*
 * The instruction runs under the guest's FCW.  Right after it FNSTSW,
 * and FNCLEX when ES is set, before any waiting instruction: an exception
 * the guest left unmasked never reaches the host as #MF (SDM Vol. 1, 8.6:
 * only waiting instructions check).  Then the live registers, (TOP before
 * - TOP after) of them, are stored and popped, leaving the host stack
 * empty (popping an empty register would be a slow microcode assist), and
 * the host's FCW comes back.  Masked flags may stay set in the host FSW.
 */
#define HX_BODY(PRE, LOADS, INSN)                                           \
	asm volatile("fnstcw %[hcw]\n\t"                                    \
		     PRE                                                    \
		     "movw %%ax, %[sw0]\n\t"                                \
		     LOADS                                                  \
		     INSN "\n\t"                                            \
		     "fnstsw %%ax\n\t"                                      \
		     "movw %%ax, %[sw]\n\t"                                 \
		     "testb $0x80, %%al\n\t"                                \
		     "jz 2f\n\t"                                            \
		     "fnclex\n"                                             \
		     "2:\tmovzwl %%ax, %%eax\n\t"                           \
		     "movzwl %[sw0], %%edx\n\t"                             \
		     "shrl $11, %%eax\n\t"                                  \
		     "shrl $11, %%edx\n\t"                                  \
		     "subl %%eax, %%edx\n\t"                                \
		     "andl $7, %%edx\n\t"                                   \
		     "jz 3f\n\t"                                            \
		     "fstpt %[o0]\n\t"                                      \
		     "decl %%edx\n\t"                                       \
		     "jz 3f\n\t"                                            \
		     "fstpt %[o1]\n\t"                                      \
		     "decl %%edx\n\t"                                       \
		     "jz 3f\n\t"                                            \
		     "fstp %%st(0)\n"                                       \
		     "3:\tfldcw %[hcw]"                                     \
		     : [sw0] "=m"(h->sw0), [sw] "=m"(h->sw),                \
		       [o0] "=m"(h->out[0]), [o1] "=m"(h->out[1]),          \
		       [hcw] "+m"(h->host_cw), [mem] "+m"(h->mem)           \
		     : [cw] "m"(h->cw), [env] "m"(h->env),                  \
		       [i0] "m"(h->in[0]), [i1] "m"(h->in[1])               \
		     : "eax", "edx", "cc", "st", "st(1)", "st(2)", "st(3)", \
		       "st(4)", "st(5)", "st(6)", "st(7)")

#define HX_OP(name, LOADS, INSN)                                            \
	static void name(struct hx *h)                                      \
	{                                                                   \
		HX_BODY(HX_PRE_CW, LOADS, INSN);                            \
	}
#define HX_OP_CC(name, LOADS, INSN)                                         \
	static void name(struct hx *h)                                      \
	{                                                                   \
		HX_BODY(HX_PRE_ENV, LOADS, INSN);                           \
	}

/* Register forms, as encoded (no assembler mnemonic ambiguity): ST(0)
 * with ST(1) standing for the guest's ST(i). */
HX_OP(hx_fadd_st0, HX_L2, ".byte 0xd8, 0xc1")   /* ST0 = ST0 + ST1 */
HX_OP(hx_fmul_st0, HX_L2, ".byte 0xd8, 0xc9")
HX_OP(hx_fcom, HX_L2, ".byte 0xd8, 0xd1")
HX_OP(hx_fsub_st0, HX_L2, ".byte 0xd8, 0xe1")   /* ST0 = ST0 - ST1 */
HX_OP(hx_fsubr_st0, HX_L2, ".byte 0xd8, 0xe9")  /* ST0 = ST1 - ST0 */
HX_OP(hx_fdiv_st0, HX_L2, ".byte 0xd8, 0xf1")
HX_OP(hx_fdivr_st0, HX_L2, ".byte 0xd8, 0xf9")
HX_OP(hx_fadd_sti, HX_L2, ".byte 0xdc, 0xc1")   /* ST1 = ST1 + ST0 */
HX_OP(hx_fmul_sti, HX_L2, ".byte 0xdc, 0xc9")
HX_OP(hx_fsubr_sti, HX_L2, ".byte 0xdc, 0xe1")  /* ST1 = ST0 - ST1 */
HX_OP(hx_fsub_sti, HX_L2, ".byte 0xdc, 0xe9")   /* ST1 = ST1 - ST0 */
HX_OP(hx_fdivr_sti, HX_L2, ".byte 0xdc, 0xf1")
HX_OP(hx_fdiv_sti, HX_L2, ".byte 0xdc, 0xf9")
HX_OP(hx_fucom, HX_L2, ".byte 0xdd, 0xe1")

/* D8 (ST0 = ST0 op ST(i)) and DC/DE (ST(i) = ST(i) op ST0), by modrm.reg */
static const hx_fn hx_arith_st0[8] = {
	hx_fadd_st0, hx_fmul_st0, hx_fcom, hx_fcom,
	hx_fsub_st0, hx_fsubr_st0, hx_fdiv_st0, hx_fdivr_st0,
};
static const hx_fn hx_arith_sti[8] = {
	hx_fadd_sti, hx_fmul_sti, hx_fcom, hx_fcom,
	hx_fsubr_sti, hx_fsub_sti, hx_fdivr_sti, hx_fdiv_sti,
};

/* Memory forms: ST0 op= m32fp / m64fp / m32int / m16int */
#define HX_MEM_SET(t, sfx, isfx)                                            \
	HX_OP(hx_##t##_add, HX_L1, "f" isfx "add" sfx " %[mem]")            \
	HX_OP(hx_##t##_mul, HX_L1, "f" isfx "mul" sfx " %[mem]")            \
	HX_OP(hx_##t##_com, HX_L1, "f" isfx "com" sfx " %[mem]")            \
	HX_OP(hx_##t##_sub, HX_L1, "f" isfx "sub" sfx " %[mem]")            \
	HX_OP(hx_##t##_subr, HX_L1, "f" isfx "subr" sfx " %[mem]")          \
	HX_OP(hx_##t##_div, HX_L1, "f" isfx "div" sfx " %[mem]")            \
	HX_OP(hx_##t##_divr, HX_L1, "f" isfx "divr" sfx " %[mem]")          \
	static const hx_fn hx_##t[8] = {                                    \
		hx_##t##_add, hx_##t##_mul, hx_##t##_com, hx_##t##_com,     \
		hx_##t##_sub, hx_##t##_subr, hx_##t##_div, hx_##t##_divr,   \
	};

HX_MEM_SET(m32fp, "s", "")
HX_MEM_SET(m64fp, "l", "")
HX_MEM_SET(m32int, "l", "i")
HX_MEM_SET(m16int, "s", "i")

/* ST(0) alone */
HX_OP(hx_ftst, HX_L1, "ftst")
HX_OP(hx_fxam, HX_L1, "fxam")
HX_OP(hx_fsqrt, HX_L1, "fsqrt")
HX_OP(hx_frndint, HX_L1, "frndint")
HX_OP(hx_f2xm1, HX_L1, "f2xm1")
HX_OP(hx_fsin, HX_L1, "fsin")
HX_OP(hx_fcos, HX_L1, "fcos")
HX_OP(hx_fptan, HX_L1, "fptan")
HX_OP(hx_fsincos, HX_L1, "fsincos")
HX_OP(hx_fxtract, HX_L1, "fxtract")

/* ST(0) with ST(1) */
HX_OP_CC(hx_fprem, HX_L2, "fprem")
HX_OP_CC(hx_fprem1, HX_L2, "fprem1")
HX_OP(hx_fscale, HX_L2, "fscale")
HX_OP(hx_fyl2x, HX_L2, "fyl2x")
HX_OP(hx_fyl2xp1, HX_L2, "fyl2xp1")
HX_OP(hx_fpatan, HX_L2, "fpatan")

/* Constants, D9 E8-EE (rounded under RC: SDM Vol. 1, 8.3.8) */
HX_OP(hx_fld1, HX_L0, "fld1")
HX_OP(hx_fldl2t, HX_L0, "fldl2t")
HX_OP(hx_fldl2e, HX_L0, "fldl2e")
HX_OP(hx_fldpi, HX_L0, "fldpi")
HX_OP(hx_fldlg2, HX_L0, "fldlg2")
HX_OP(hx_fldln2, HX_L0, "fldln2")
HX_OP(hx_fldz, HX_L0, "fldz")
static const hx_fn hx_const[7] = {
	hx_fld1, hx_fldl2t, hx_fldl2e, hx_fldpi, hx_fldlg2, hx_fldln2, hx_fldz,
};

/* Loads and stores converting through mem */
HX_OP(hx_flds, HX_L0, "flds %[mem]")
HX_OP(hx_fldl, HX_L0, "fldl %[mem]")
HX_OP(hx_fbld, HX_L0, "fbld %[mem]")
HX_OP(hx_fsts, HX_L1, "fsts %[mem]")
HX_OP(hx_fstl, HX_L1, "fstl %[mem]")
HX_OP(hx_fists, HX_L1, "fists %[mem]")
HX_OP(hx_fistl, HX_L1, "fistl %[mem]")
HX_OP(hx_fistpll, HX_L1, "fistpll %[mem]")

/* FISTTP is FISTP rounding toward zero whatever RC says (SDM Vol. 2
 * "FISTTP"); done so, it needs no SSE3 on the host. */
static void hx_fisttps(struct hx *h)
{
	h->cw |= FCW_RC;
	hx_fists(h);
}

static void hx_fisttpl(struct hx *h)
{
	h->cw |= FCW_RC;
	hx_fistl(h);
}

static void hx_fisttpll(struct hx *h)
{
	h->cw |= FCW_RC;
	hx_fistpll(h);
}
HX_OP(hx_fbstp, HX_L1, "fbstp %[mem]")

static void hx_run(const struct tcg_fpu *f, hx_fn fn, struct hx *h)
{
	h->cw = f->fcw;
	fn(h);
}

/* hx_run for HX_OP_CC: FCW, and FSW's C0-C3, the stack all empty. */
static void hx_run_cc(const struct tcg_fpu *f, hx_fn fn, struct hx *h)
{
	memset(h->env, 0, sizeof(h->env));
	h->env[0] = f->fcw;
	h->env[2] = f->fsw & FSW_CC;
	h->env[4] = 0xffff;
	fn(h);
}

/* Live host registers after the run. */
static inline unsigned hx_depth(const struct hx *h)
{
	return ((h->sw0 >> 11) - (h->sw >> 11)) & 7;
}

/* ------------------------------------------------------------------ */
/* Instruction entry and the FPU pointers                              */

static bool ferr_logged;

/* A pending unmasked exception (FSW.ES) found by a waiting instruction
 * (SDM Vol. 1, 8.7): #MF with CR0.NE, else the legacy FERR# path, which
 * this engine does not wire to IRQ 13. */
static void fpu_pending(struct tcg_cpu *c)
{
	if (c->s.cr0 & CR0_NE)
		tcg_raise(c, EXC_MF, NO_ERRCODE);
	if (!ferr_logged) {
		ferr_logged = true;
		qvm_log(LOG_UNIMP, "tcg: x87 exception with CR0.NE=0 (FERR#/IRQ13 not emulated)");
	}
}

/* Every x87 instruction: #UD with LOCK, #NM with CR0.EM or CR0.TS (SDM
 * Vol. 3, 2.5 and Vol. 1, 8.6), then, for waiting ones, a pending
 * exception. */
static void fpu_enter(struct tcg_cpu *c, const struct insn *i, bool waiting)
{
	if (i->lock)
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	if (c->s.cr0 & (CR0_EM | CR0_TS))
		tcg_raise(c, EXC_NM, NO_ERRCODE);
	if (waiting && (c->fpu.fsw & FSW_ES))
		fpu_pending(c);
}

/* FIP, FCS and FOP of the last non-control instruction (SDM Vol. 1,
 * 8.1.8, 8.1.9): opcode bits 10-8 are the first byte's low bits, 7-0 the
 * ModR/M byte. */
static void fpu_note_insn(struct tcg_cpu *c, const struct insn *i)
{
	struct tcg_fpu *f = &c->fpu;

	f->fip = c->s.rip;
	f->fcs = c->s.seg[S_CS].selector;
	f->fop = (i->op & 7) << 8 | i->mod << 6 | (i->reg & 7) << 3 | (i->rm & 7);
}

static void fpu_note_data(struct tcg_cpu *c, const struct insn *i, uint64_t off)
{
	c->fpu.fdp = off;
	c->fpu.fds = c->s.seg[i->seg].selector;
}

/* ------------------------------------------------------------------ */
/* Arithmetic                                                          */

/* ST(0) = ST(0) op ST(i) (D8), ST(i) = ST(i) op ST(0) (DC), and the same
 * with a pop (DE). */
static void fpu_arith_reg(struct tcg_cpu *c, const struct insn *i, bool to_sti, bool pop)
{
	struct tcg_fpu *f = &c->fpu;
	unsigned sti = i->rm & 7, dst = to_sti ? sti : 0;
	struct hx h;

	if (st_empty(f, 0) || st_empty(f, sti)) {
		if (!fpu_stack_fault(f, false))
			return;
		st_set_indefinite(f, dst);
	} else {
		memcpy(&h.in[0], st_ptr(f, 0), sizeof(h.in[0]));
		memcpy(&h.in[1], st_ptr(f, sti), sizeof(h.in[1]));
		hx_run(f, to_sti ? hx_arith_sti[i->reg & 7] : hx_arith_st0[i->reg & 7], &h);
		if (fpu_merge_cc(f, h.sw, FSW_C1) & EXC_PRE)
			return;
		st_set(f, dst, &h.out[to_sti ? 1 : 0]);
	}
	if (pop)
		st_pop(f);
}

/* Compare ST(0) with the operand in h (FCOM, FUCOM, FICOM, FTST and the
 * FCOMI forms, which set ZF PF CF instead of C3 C2 C0: SDM Vol. 2
 * "FCOMI"), then pop pops times.  empty: an operand register is empty.
 * The result (unordered for a stack fault or a NaN) is written even when
 * the exception is unmasked, as the hardware does; only the pops are not
 * done then.  FCOMI leaves C1 alone, FCOM clears it. */
static void fpu_compare(struct tcg_cpu *c, struct hx *h, hx_fn fn, bool empty,
			unsigned pops, bool eflags)
{
	struct tcg_fpu *f = &c->fpu;
	bool done;
	uint16_t cc;

	if (empty) {
		done = fpu_stack_fault(f, false);
		cc = FSW_CMP;
	} else {
		hx_run(f, fn, h);
		done = !(fpu_merge_exc(f, h->sw) & EXC_PRE);
		cc = h->sw & FSW_CMP;
	}
	if (eflags)
		tcg_set_arith_flags(c, (cc & FSW_C3 ? FL_ZF : 0) |
				       (cc & FSW_C2 ? FL_PF : 0) |
				       (cc & FSW_C0 ? FL_CF : 0));
	else
		f->fsw = (f->fsw & ~FSW_CC) | cc;
	if (!done)
		return;
	while (pops--)
		st_pop(f);
}

static void fpu_compare_reg(struct tcg_cpu *c, const struct insn *i, bool unordered,
			    unsigned pops, bool eflags)
{
	struct tcg_fpu *f = &c->fpu;
	unsigned sti = i->rm & 7;
	bool empty = st_empty(f, 0) || st_empty(f, sti);
	struct hx h;

	if (!empty) {
		memcpy(&h.in[0], st_ptr(f, 0), sizeof(h.in[0]));
		memcpy(&h.in[1], st_ptr(f, sti), sizeof(h.in[1]));
	}
	fpu_compare(c, &h, unordered ? hx_fucom : hx_fcom, empty, pops, eflags);
}

/* D8/DC/DA/DE memory forms: ST(0) op= m32fp, m64fp, m32int, m16int. */
static void fpu_arith_mem(struct tcg_cpu *c, const struct insn *i, const hx_fn *ops,
			  unsigned size)
{
	struct tcg_fpu *f = &c->fpu;
	unsigned reg = i->reg & 7;
	uint64_t off = tcg_ea(c, i);
	uint64_t v = tcg_ld(c, i->seg, off, size);
	struct hx h;

	fpu_note_insn(c, i);
	fpu_note_data(c, i, off);
	memcpy(h.mem, &v, 8);
	if (!st_empty(f, 0))
		memcpy(&h.in[0], st_ptr(f, 0), sizeof(h.in[0]));
	if (reg == 2 || reg == 3) {
		fpu_compare(c, &h, ops[reg], st_empty(f, 0), reg == 3, false);
		return;
	}
	if (st_empty(f, 0)) {
		if (fpu_stack_fault(f, false))
			st_set_indefinite(f, 0);
		return;
	}
	hx_run(f, ops[reg], &h);
	if (fpu_merge_cc(f, h.sw, FSW_C1) & EXC_PRE)
		return;
	st_set(f, 0, &h.out[0]);
}

/* ST(0) = op(ST(0)): FSQRT FRNDINT F2XM1 FSIN FCOS.  cc: the C bits the
 * instruction defines (C2 = out of range for FSIN/FCOS, which then leave
 * ST(0) as it was: the host does the same; cleared on a stack fault). */
static void fpu_unary(struct tcg_fpu *f, hx_fn fn, uint16_t cc)
{
	struct hx h;

	if (st_empty(f, 0)) {
		f->fsw &= ~(cc & FSW_C2);
		if (fpu_stack_fault(f, false))
			st_set_indefinite(f, 0);
		return;
	}
	memcpy(&h.in[0], st_ptr(f, 0), sizeof(h.in[0]));
	hx_run(f, fn, &h);
	if (fpu_merge_cc(f, h.sw, cc) & EXC_PRE)
		return;
	st_set(f, 0, &h.out[0]);
}

/* FPTAN FSINCOS FXTRACT: ST(0) replaced and a second result pushed (not
 * when FPTAN/FSINCOS find the operand out of range: C2, which they also
 * clear on a stack fault). */
static void fpu_unary_push(struct tcg_fpu *f, hx_fn fn, bool trig)
{
	struct hx h;

	if (st_empty(f, 0) || st_full(f)) {
		if (trig)
			f->fsw &= ~FSW_C2;
		if (!fpu_stack_fault(f, !st_empty(f, 0)))
			return;
		st_set_indefinite(f, 0);
		st_push(f, &f->st[st_phys(f, 0)]);
		return;
	}
	memcpy(&h.in[0], st_ptr(f, 0), sizeof(h.in[0]));
	hx_run(f, fn, &h);
	if (fpu_merge_cc(f, h.sw, trig ? FSW_C1 | FSW_C2 : FSW_C1) & EXC_PRE)
		return;
	if (hx_depth(&h) == 2) {
		st_set(f, 0, &h.out[1]);
		st_push(f, &h.out[0]);
	} else {
		st_set(f, 0, &h.out[0]);
	}
}

/* ST(0), ST(1) -> FSCALE (result in ST(0)), FYL2X FYL2XP1 FPATAN
 * (result in ST(1), then pop). */
static void fpu_binary(struct tcg_fpu *f, hx_fn fn, bool pop, uint16_t cc)
{
	unsigned dst = pop ? 1 : 0;
	struct hx h;

	if (st_empty(f, 0) || st_empty(f, 1)) {
		if (!fpu_stack_fault(f, false))
			return;
		st_set_indefinite(f, dst);
	} else {
		memcpy(&h.in[0], st_ptr(f, 0), sizeof(h.in[0]));
		memcpy(&h.in[1], st_ptr(f, 1), sizeof(h.in[1]));
		hx_run(f, fn, &h);
		if (fpu_merge_cc(f, h.sw, cc) & EXC_PRE)
			return;
		st_set(f, dst, &h.out[0]);
	}
	if (pop)
		st_pop(f);
}

/* FPREM, FPREM1: ST(0) = partial remainder of ST(0) / ST(1); C2 says
 * incomplete, C0 C3 C1 the low quotient bits (SDM Vol. 2 "FPREM"). */
static void fpu_fprem(struct tcg_fpu *f, hx_fn fn)
{
	struct hx h;

	if (st_empty(f, 0) || st_empty(f, 1)) {
		f->fsw &= ~FSW_C2;
		if (fpu_stack_fault(f, false))
			st_set_indefinite(f, 0);
		return;
	}
	memcpy(&h.in[0], st_ptr(f, 0), sizeof(h.in[0]));
	memcpy(&h.in[1], st_ptr(f, 1), sizeof(h.in[1]));
	hx_run_cc(f, fn, &h);
	if (fpu_merge_cc(f, h.sw, FSW_CC) & EXC_PRE)
		return;
	st_set(f, 0, &h.out[0]);
}

/* ------------------------------------------------------------------ */
/* Loads                                                               */

/* Push a value converted by the host (FLD m32/m64, FBLD, constants):
 * h->mem already holds the operand.  Whether an unmasked exception stops
 * the push is the host's to say (a denormal m32/m64 is still loaded). */
static void fpu_push_host(struct tcg_fpu *f, hx_fn fn, struct hx *h)
{
	if (st_full(f)) {
		if (fpu_stack_fault(f, true)) {
			long double v;

			fx_indefinite(&v);
			st_push(f, &v);
		}
		return;
	}
	hx_run(f, fn, h);
	fpu_merge_cc(f, h->sw, FSW_C1);
	if (hx_depth(h) == 1)
		st_push(f, &h->out[0]);
}

/* Push an exact value (FLD m80, FLD ST(i), FILD). */
static void fpu_push(struct tcg_fpu *f, const long double *v)
{
	if (st_full(f)) {
		if (fpu_stack_fault(f, true)) {
			long double ind;

			fx_indefinite(&ind);
			st_push(f, &ind);
		}
		return;
	}
	set_c1(f, false);
	st_push(f, v);
}

static void fpu_load_mem(struct tcg_cpu *c, const struct insn *i, hx_fn fn, unsigned size)
{
	uint64_t off = tcg_ea(c, i);
	struct hx h;

	memset(h.mem, 0, sizeof(h.mem));
	tcg_ld_bytes(c, i->seg, off, h.mem, size);
	fpu_note_insn(c, i);
	fpu_note_data(c, i, off);
	fpu_push_host(&c->fpu, fn, &h);
}

static void fpu_fld_m80(struct tcg_cpu *c, const struct insn *i)
{
	uint64_t off = tcg_ea(c, i);
	uint8_t b[10];
	long double v;

	tcg_ld_bytes(c, i->seg, off, b, sizeof(b));
	fpu_note_insn(c, i);
	fpu_note_data(c, i, off);
	fx_from_bytes(&v, b);
	fpu_push(&c->fpu, &v);
}

/* FILD: integers up to 64 bits convert exactly (SDM Vol. 2 "FILD"). */
static void fpu_fild(struct tcg_cpu *c, const struct insn *i, unsigned size)
{
	uint64_t off = tcg_ea(c, i);
	int64_t n = sext(tcg_ld(c, i->seg, off, size), size);
	long double v;
	uint64_t mag = n < 0 ? -(uint64_t)n : (uint64_t)n;
	int shift;

	fpu_note_insn(c, i);
	fpu_note_data(c, i, off);
	if (!mag) {
		fx_make(&v, 0, 0);
	} else {
		shift = __builtin_clzll(mag);
		fx_make(&v, (n < 0 ? 0x8000 : 0) | (16383 + 63 - shift), mag << shift);
	}
	fpu_push(&c->fpu, &v);
}

/* FLD ST(i): the value is read before the push moves ST(i). */
static void fpu_fld_st(struct tcg_fpu *f, unsigned sti)
{
	long double v;

	if (st_empty(f, sti)) {                 /* underflow wins */
		if (!fpu_stack_fault(f, false))
			return;
		fx_indefinite(&v);
		st_push(f, &v);
		return;
	}
	memcpy(&v, st_ptr(f, sti), sizeof(v));
	fpu_push(f, &v);
}

/* ------------------------------------------------------------------ */
/* Stores                                                              */

/* FST/FSTP m32fp m64fp, FIST/FISTP/FISTTP m16-m64, FBSTP m80: the host
 * converts ST(0) (the QNaN indefinite after a masked underflow) into mem;
 * the guest store is done before any FPU state changes, so a fault
 * restarts the instruction cleanly. */
static void fpu_store_mem(struct tcg_cpu *c, const struct insn *i, hx_fn fn,
			  unsigned size, bool pop)
{
	struct tcg_fpu *f = &c->fpu;
	uint64_t off = tcg_ea(c, i);
	bool underflow = st_empty(f, 0);
	unsigned unmasked;
	struct hx h;

	if (underflow && !(f->fcw & FSW_IE)) {
		fpu_stack_fault(f, false);
		fpu_note_insn(c, i);
		fpu_note_data(c, i, off);
		return;
	}
	if (underflow)
		fx_indefinite(&h.in[0]);
	else
		memcpy(&h.in[0], st_ptr(f, 0), sizeof(h.in[0]));
	hx_run(f, fn, &h);
	unmasked = h.sw & ~f->fcw & EXC_NOSTORE;
	/* one store of size bytes: when it crosses into a page that
	 * faults, nothing is written (tcg_st_bytes checks every page
	 * first), as the difftest sees on the host for FSTP m80 */
	if (!unmasked)
		tcg_st_bytes(c, i->seg, off, h.mem, size);
	fpu_note_insn(c, i);
	fpu_note_data(c, i, off);
	fpu_merge_exc(f, h.sw);
	if (underflow) {
		fpu_stack_fault(f, false);
	} else {
		fpu_set_cc(f, h.sw, FSW_C1);
		if (unmasked)
			return;
	}
	if (pop)
		st_pop(f);
}

/* FSTP m80: no conversion, no numeric exception. */
static void fpu_fstp_m80(struct tcg_cpu *c, const struct insn *i)
{
	struct tcg_fpu *f = &c->fpu;
	uint64_t off = tcg_ea(c, i);
	bool underflow = st_empty(f, 0);
	long double v;

	if (underflow && !(f->fcw & FSW_IE)) {
		fpu_stack_fault(f, false);
		fpu_note_insn(c, i);
		fpu_note_data(c, i, off);
		return;
	}
	if (underflow)
		fx_indefinite(&v);
	else
		memcpy(&v, st_ptr(f, 0), sizeof(v));
	tcg_st_bytes(c, i->seg, off, &v, 10); /* nothing written on a fault */
	fpu_note_insn(c, i);
	fpu_note_data(c, i, off);
	if (underflow)
		fpu_stack_fault(f, false);
	else
		set_c1(f, false);
	st_pop(f);
}

/* FST/FSTP ST(i) */
static void fpu_fst_st(struct tcg_fpu *f, unsigned sti, bool pop)
{
	if (st_empty(f, 0)) {
		if (!fpu_stack_fault(f, false))
			return;
		st_set_indefinite(f, sti);
	} else {
		long double v;

		memcpy(&v, st_ptr(f, 0), sizeof(v));
		st_set(f, sti, &v);
		set_c1(f, false);
	}
	if (pop)
		st_pop(f);
}

/* D9 D8+i, "FSTP1" (reserved in the SDM's map; AMD documents it as an
 * FSTP alias): real processors copy ST(0) without a stack check, so an
 * empty ST(0) leaves ST(i) alone, then pop; C1 = 0. */
static void fpu_fstp1(struct tcg_fpu *f, unsigned sti)
{
	if (!st_empty(f, 0)) {
		long double v;

		memcpy(&v, st_ptr(f, 0), sizeof(v));
		st_set(f, sti, &v);
	}
	set_c1(f, false);
	st_pop(f);
}

/* ------------------------------------------------------------------ */
/* Register moves and stack control                                    */

static void fpu_fxch(struct tcg_fpu *f, unsigned sti)
{
	long double a, b;

	if (st_empty(f, 0) || st_empty(f, sti)) {
		if (!fpu_stack_fault(f, false))
			return;
		if (st_empty(f, 0))
			st_set_indefinite(f, 0);
		if (st_empty(f, sti))
			st_set_indefinite(f, sti);
	}
	memcpy(&a, st_ptr(f, 0), sizeof(a));
	memcpy(&b, st_ptr(f, sti), sizeof(b));
	st_set(f, 0, &b);
	st_set(f, sti, &a);
	set_c1(f, false);
}

/* FCMOVcc: DA C0-DF (B E BE U) and DB C0-DF (NB NE NBE NU); cc is the
 * Jcc condition number (SDM Vol. 2 "FCMOVcc"). */
static void fpu_fcmov(struct tcg_cpu *c, const struct insn *i, bool negate)
{
	static const uint8_t cond[4] = { 0x2, 0x4, 0x6, 0xa };
	struct tcg_fpu *f = &c->fpu;
	unsigned sti = i->rm & 7;

	if (st_empty(f, 0) || st_empty(f, sti)) {
		if (fpu_stack_fault(f, false))
			st_set_indefinite(f, 0);
		return;
	}
	if (tcg_cond(c, cond[i->reg & 3] | negate)) {
		long double v;

		memcpy(&v, st_ptr(f, sti), sizeof(v));
		st_set(f, 0, &v);
	}
}

static void fpu_fchs_fabs(struct tcg_fpu *f, bool abs)
{
	unsigned r = st_phys(f, 0);
	uint8_t *sign = (uint8_t *)&f->st[r] + 9;

	if (st_empty(f, 0)) {
		if (fpu_stack_fault(f, false))
			st_set_indefinite(f, 0);
		return;
	}
	*sign = abs ? (*sign & 0x7f) : (*sign ^ 0x80);
	set_c1(f, false);
}

/* FXAM: C1 is the sign even of an empty register. */
static void fpu_fxam(struct tcg_fpu *f)
{
	bool neg = fx_sexp(st_ptr(f, 0)) & 0x8000;
	struct hx h;

	if (st_empty(f, 0)) {
		f->fsw = (f->fsw & ~FSW_CC) | FSW_C3 | FSW_C0;
	} else {
		memcpy(&h.in[0], st_ptr(f, 0), sizeof(h.in[0]));
		hx_run(f, hx_fxam, &h);
		fpu_set_cc(f, h.sw, FSW_CC);
	}
	set_c1(f, neg);
}

static void fpu_load_const(struct tcg_fpu *f, unsigned n)
{
	struct hx h;

	fpu_push_host(f, hx_const[n], &h);
}

/* ------------------------------------------------------------------ */
/* Control instructions: FLDCW FSTCW FSTSW FCLEX FINIT, environment    */

static inline void fpu_set_cw(struct tcg_fpu *f, uint16_t cw)
{
	f->fcw = (cw & FCW_BITS) | FCW_ONES;
	fpu_update_es(f);
}

/* Real-address and virtual-8086 mode use the real-mode layouts. */
static inline bool fpu_env_real(const struct tcg_cpu *c)
{
	return !tcg_protected(c) || tcg_v86(c);
}

/* The FSTENV image (SDM Vol. 1, 8.1.10, figures 8-9 to 8-12): 14 bytes
 * with a 16-bit operand size, else 28.  Reserved halves read as ones on
 * hardware.  Real-mode layouts hold 20/32-bit linear pointers and FOP. */
static unsigned fpu_env_store(struct tcg_cpu *c, const struct insn *i, uint8_t *b)
{
	struct tcg_fpu *f = &c->fpu;
	bool real = fpu_env_real(c);
	uint32_t ip = real ? (uint32_t)(f->fcs << 4) + (uint32_t)f->fip : (uint32_t)f->fip;
	uint32_t dp = real ? (uint32_t)(f->fds << 4) + (uint32_t)f->fdp : (uint32_t)f->fdp;
	uint16_t fop = f->fop & 0x7ff;

	if (i->osz == 2) {
		put16(b + 0, f->fcw);
		put16(b + 2, fpu_sw(f));
		put16(b + 4, fpu_tag_word(f));
		put16(b + 6, ip);
		put16(b + 8, real ? ((ip >> 4) & 0xf000) | fop : f->fcs);
		put16(b + 10, dp);
		put16(b + 12, real ? (dp >> 4) & 0xf000 : f->fds);
		return 14;
	}
	put32(b + 0, 0xffff0000u | f->fcw);
	put32(b + 4, 0xffff0000u | fpu_sw(f));
	put32(b + 8, 0xffff0000u | fpu_tag_word(f));
	if (real) {
		put32(b + 12, 0xffff0000u | (ip & 0xffff));
		put32(b + 16, ((ip >> 4) & 0x0ffff000u) | fop);
		put32(b + 20, 0xffff0000u | (dp & 0xffff));
		put32(b + 24, (dp >> 4) & 0x0ffff000u);
	} else {
		put32(b + 12, ip);
		put32(b + 16, (uint32_t)fop << 16 | f->fcs);
		put32(b + 20, dp);
		put32(b + 24, 0xffff0000u | f->fds);
	}
	return 28;
}

static inline unsigned fpu_env_size(const struct insn *i)
{
	return i->osz == 2 ? 14 : 28;
}

/* Load an image read by fpu_env_store's layout; the registers (FRSTOR)
 * must already be in place for the tags. */
static void fpu_env_load(struct tcg_cpu *c, const struct insn *i, const uint8_t *b)
{
	struct tcg_fpu *f = &c->fpu;
	bool real = fpu_env_real(c);
	bool o16 = i->osz == 2;
	unsigned step = o16 ? 2 : 4;
	uint16_t sw = get16(b + step);

	f->fsw = sw & ~FSW_TOP;
	f->top = (sw >> 11) & 7;
	fpu_load_tags(f, get16(b + 2 * step));
	if (o16 && real) {
		f->fip = get16(b + 6) | (uint32_t)(get16(b + 8) & 0xf000) << 4;
		f->fop = get16(b + 8) & 0x7ff;
		f->fdp = get16(b + 10) | (uint32_t)(get16(b + 12) & 0xf000) << 4;
		f->fcs = f->fds = 0;
	} else if (o16) {
		f->fip = get16(b + 6);
		f->fcs = get16(b + 8);
		f->fdp = get16(b + 10);
		f->fds = get16(b + 12);
	} else if (real) {
		f->fip = get16(b + 12) | (get32(b + 16) & 0x0ffff000u) << 4;
		f->fop = get32(b + 16) & 0x7ff;
		f->fdp = get16(b + 20) | (get32(b + 24) & 0x0ffff000u) << 4;
		f->fcs = f->fds = 0;
	} else {
		f->fip = get32(b + 12);
		f->fcs = get16(b + 16);
		f->fop = (get32(b + 16) >> 16) & 0x7ff;
		f->fdp = get32(b + 20);
		f->fds = get16(b + 24);
	}
	fpu_set_cw(f, get16(b));        /* recomputes ES from the new FSW */
}

static void fpu_fldenv(struct tcg_cpu *c, const struct insn *i)
{
	uint8_t b[28];

	tcg_ld_bytes(c, i->seg, tcg_ea(c, i), b, fpu_env_size(i));
	fpu_env_load(c, i, b);
}

/* FNSTENV stores, then masks every exception (SDM Vol. 2 "FSTENV"). */
static void fpu_fnstenv(struct tcg_cpu *c, const struct insn *i)
{
	uint8_t b[28];
	unsigned n = fpu_env_store(c, i, b);

	tcg_st_bytes(c, i->seg, tcg_ea(c, i), b, n);
	fpu_set_cw(&c->fpu, c->fpu.fcw | FSW_EXC);
}

/* FRSTOR / FNSAVE: the environment, then ST(0)-ST(7) as 10 bytes each. */
static void fpu_frstor(struct tcg_cpu *c, const struct insn *i)
{
	struct tcg_fpu *f = &c->fpu;
	unsigned n = fpu_env_size(i);
	uint8_t b[28 + 80];
	unsigned top;

	tcg_ld_bytes(c, i->seg, tcg_ea(c, i), b, n + 80);
	top = (get16(b + (n == 14 ? 2 : 4)) >> 11) & 7;
	for (unsigned k = 0; k < 8; k++)
		fx_from_bytes(&f->st[(top + k) & 7], b + n + 10 * k);
	fpu_env_load(c, i, b);
}

static void fpu_fnsave(struct tcg_cpu *c, const struct insn *i)
{
	struct tcg_fpu *f = &c->fpu;
	uint8_t b[28 + 80];
	unsigned n = fpu_env_store(c, i, b);

	for (unsigned k = 0; k < 8; k++)
		memcpy(b + n + 10 * k, st_ptr(f, k), 10);
	tcg_st_bytes(c, i->seg, tcg_ea(c, i), b, n + 80);
	fpu_init(f);
}

static void fpu_fldcw(struct tcg_cpu *c, const struct insn *i)
{
	fpu_set_cw(&c->fpu, tcg_ld16(c, i->seg, tcg_ea(c, i)));
}

/* FNCLEX: the exception flags, SF, ES and B (SDM Vol. 2 "FCLEX"). */
static void fpu_fnclex(struct tcg_fpu *f)
{
	f->fsw &= ~(FSW_EXC | FSW_SF | FSW_ES | FSW_B);
}

/* ------------------------------------------------------------------ */
/* Opcode handlers                                                     */

static _Noreturn void fpu_ud(struct tcg_cpu *c, const struct insn *i)
{
	tcg_op_ud(c, i);
	tcg_raise(c, EXC_UD, NO_ERRCODE);
}

/* D8 and DC: ST(0) op= a real in memory (ops, size bytes), or the
 * arithmetic between ST(0) and ST(i) with the result in ST(i) when to_sti
 * (DC); /2 and /3 compare (DC D0-DF: the FCOM2/FCOMP3 aliases). */
static void fpu_real_group(struct tcg_cpu *c, const struct insn *i, const hx_fn *ops,
			   unsigned size, bool to_sti)
{
	unsigned reg = i->reg & 7;

	fpu_enter(c, i, true);
	if (i->mem) {
		fpu_arith_mem(c, i, ops, size);
		return;
	}
	fpu_note_insn(c, i);
	if (reg == 2 || reg == 3)
		fpu_compare_reg(c, i, false, reg == 3, false);
	else
		fpu_arith_reg(c, i, to_sti, false);
}

/* D8: ST(0) op= m32fp / ST(i) */
static void op_d8(struct tcg_cpu *c, const struct insn *i)
{
	fpu_real_group(c, i, hx_m32fp, 4, false);
}

static void op_d9_mem(struct tcg_cpu *c, const struct insn *i)
{
	switch (i->reg & 7) {
	case 0:
		fpu_enter(c, i, true);
		fpu_load_mem(c, i, hx_flds, 4);
		break;
	case 2:
	case 3:
		fpu_enter(c, i, true);
		fpu_store_mem(c, i, hx_fsts, 4, (i->reg & 7) == 3);
		break;
	case 4:
		fpu_enter(c, i, true);
		fpu_fldenv(c, i);
		break;
	case 5:
		fpu_enter(c, i, true);
		fpu_fldcw(c, i);
		break;
	case 6:
		fpu_enter(c, i, false);
		fpu_fnstenv(c, i);
		break;
	case 7:
		fpu_enter(c, i, false);
		tcg_st16(c, i->seg, tcg_ea(c, i), c->fpu.fcw);
		break;
	default:
		fpu_ud(c, i);
	}
}

/* D9 E0-FF: one-byte-like operations on ST(0)/ST(1) */
static void op_d9_misc(struct tcg_cpu *c, unsigned rm8)
{
	struct tcg_fpu *f = &c->fpu;

	switch (rm8) {
	case 0xe0: fpu_fchs_fabs(f, false); break;
	case 0xe1: fpu_fchs_fabs(f, true); break;
	case 0xe4: {
		struct hx h;
		bool empty = st_empty(f, 0);

		if (!empty)
			memcpy(&h.in[0], st_ptr(f, 0), sizeof(h.in[0]));
		fpu_compare(c, &h, hx_ftst, empty, 0, false);
		break;
	}
	case 0xe5: fpu_fxam(f); break;
	case 0xe8 ... 0xee: fpu_load_const(f, rm8 - 0xe8); break;
	case 0xf0: fpu_unary(f, hx_f2xm1, FSW_C1); break;
	case 0xf1: fpu_binary(f, hx_fyl2x, true, FSW_C1); break;
	case 0xf2: fpu_unary_push(f, hx_fptan, true); break;
	case 0xf3: fpu_binary(f, hx_fpatan, true, FSW_C1); break;
	case 0xf4: fpu_unary_push(f, hx_fxtract, false); break;
	case 0xf5: fpu_fprem(f, hx_fprem1); break;
	case 0xf6: f->top = (f->top - 1) & 7; set_c1(f, false); break;
	case 0xf7: f->top = (f->top + 1) & 7; set_c1(f, false); break;
	case 0xf8: fpu_fprem(f, hx_fprem); break;
	case 0xf9: fpu_binary(f, hx_fyl2xp1, true, FSW_C1); break;
	case 0xfa: fpu_unary(f, hx_fsqrt, FSW_C1); break;
	case 0xfb: fpu_unary_push(f, hx_fsincos, true); break;
	case 0xfc: fpu_unary(f, hx_frndint, FSW_C1); break;
	case 0xfd: fpu_binary(f, hx_fscale, false, FSW_C1); break;
	case 0xfe: fpu_unary(f, hx_fsin, FSW_C1 | FSW_C2); break;
	case 0xff: fpu_unary(f, hx_fcos, FSW_C1 | FSW_C2); break;
	}
}

static bool d9_reg_valid(unsigned rm8)
{
	switch (rm8) {
	case 0xd1 ... 0xd7: case 0xe2: case 0xe3: case 0xe6: case 0xe7: case 0xef:
		return false;
	default:
		return true;
	}
}

static void op_d9(struct tcg_cpu *c, const struct insn *i)
{
	unsigned rm8 = 0xc0 | (i->reg & 7) << 3 | (i->rm & 7);

	if (i->mem) {
		op_d9_mem(c, i);
		return;
	}
	if (!d9_reg_valid(rm8))
		fpu_ud(c, i);
	fpu_enter(c, i, true);
	fpu_note_insn(c, i);
	switch (i->reg & 7) {
	case 0: fpu_fld_st(&c->fpu, i->rm & 7); break;
	case 1: fpu_fxch(&c->fpu, i->rm & 7); break;
	case 2: break;                          /* FNOP */
	case 3: fpu_fstp1(&c->fpu, i->rm & 7); break;
	default: op_d9_misc(c, rm8); break;
	}
}

/* DA: ST(0) op= m32int; FCMOVB/E/BE/U; FUCOMPP */
static void op_da(struct tcg_cpu *c, const struct insn *i)
{
	unsigned reg = i->reg & 7;

	if (!i->mem && reg >= 4 && !(reg == 5 && (i->rm & 7) == 1))
		fpu_ud(c, i);
	fpu_enter(c, i, true);
	if (i->mem) {
		fpu_arith_mem(c, i, hx_m32int, 4);
		return;
	}
	fpu_note_insn(c, i);
	if (reg == 5)
		fpu_compare_reg(c, i, true, 2, false);
	else
		fpu_fcmov(c, i, false);
}

static void op_db_mem(struct tcg_cpu *c, const struct insn *i)
{
	switch (i->reg & 7) {
	case 0: fpu_fild(c, i, 4); break;
	case 1: fpu_store_mem(c, i, hx_fisttpl, 4, true); break;
	case 2: fpu_store_mem(c, i, hx_fistl, 4, false); break;
	case 3: fpu_store_mem(c, i, hx_fistl, 4, true); break;
	case 5: fpu_fld_m80(c, i); break;
	case 7: fpu_fstp_m80(c, i); break;
	}
}

/* DB: FILD/FISTTP/FIST/FISTP m32int, FLD/FSTP m80; FCMOVNcc, FNCLEX,
 * FNINIT, the 8087/287 no-ops FENI FDISI FSETPM, FUCOMI, FCOMI. */
static void op_db(struct tcg_cpu *c, const struct insn *i)
{
	unsigned reg = i->reg & 7, rm = i->rm & 7;

	if (i->mem) {
		if (reg == 4 || reg == 6)
			fpu_ud(c, i);
		fpu_enter(c, i, true);
		op_db_mem(c, i);
		return;
	}
	if (reg == 7 || (reg == 4 && rm > 4))
		fpu_ud(c, i);
	if (reg == 4) {                         /* non-waiting */
		fpu_enter(c, i, false);
		if (rm == 2)
			fpu_fnclex(&c->fpu);
		else if (rm == 3)
			fpu_init(&c->fpu);
		return;
	}
	fpu_enter(c, i, true);
	fpu_note_insn(c, i);
	if (reg < 4)
		fpu_fcmov(c, i, true);
	else
		fpu_compare_reg(c, i, reg == 5, 0, true);
}

/* DC: ST(0) op= m64fp; ST(i) op= ST(0) */
static void op_dc(struct tcg_cpu *c, const struct insn *i)
{
	fpu_real_group(c, i, hx_m64fp, 8, true);
}

static void op_dd_mem(struct tcg_cpu *c, const struct insn *i)
{
	switch (i->reg & 7) {
	case 0:
		fpu_enter(c, i, true);
		fpu_load_mem(c, i, hx_fldl, 8);
		break;
	case 1:
		fpu_enter(c, i, true);
		fpu_store_mem(c, i, hx_fisttpll, 8, true);
		break;
	case 2:
	case 3:
		fpu_enter(c, i, true);
		fpu_store_mem(c, i, hx_fstl, 8, (i->reg & 7) == 3);
		break;
	case 4:
		fpu_enter(c, i, true);
		fpu_frstor(c, i);
		break;
	case 6:
		fpu_enter(c, i, false);
		fpu_fnsave(c, i);
		break;
	case 7:
		fpu_enter(c, i, false);
		tcg_st16(c, i->seg, tcg_ea(c, i), fpu_sw(&c->fpu));
		break;
	default:
		fpu_ud(c, i);
	}
}

/* DD: FLD/FISTTP/FST/FSTP m64, FRSTOR, FNSAVE, FNSTSW m16; FFREE, FXCH4,
 * FST/FSTP ST(i), FUCOM/FUCOMP */
static void op_dd(struct tcg_cpu *c, const struct insn *i)
{
	unsigned reg = i->reg & 7, sti = i->rm & 7;

	if (i->mem) {
		op_dd_mem(c, i);
		return;
	}
	if (reg >= 6)
		fpu_ud(c, i);
	fpu_enter(c, i, true);
	fpu_note_insn(c, i);
	switch (reg) {
	case 0:                                 /* FFREE */
		reg_set_tag(&c->fpu, st_phys(&c->fpu, sti), TAG_EMPTY);
		set_c1(&c->fpu, false);
		break;
	case 1: fpu_fxch(&c->fpu, sti); break;
	case 2: fpu_fst_st(&c->fpu, sti, false); break;
	case 3: fpu_fst_st(&c->fpu, sti, true); break;
	default: fpu_compare_reg(c, i, true, reg == 5, false); break;
	}
}

/* DE: ST(0) op= m16int; ST(i) op= ST(0) and pop; FCOMP5 alias; FCOMPP */
static void op_de(struct tcg_cpu *c, const struct insn *i)
{
	unsigned reg = i->reg & 7;

	if (!i->mem && reg == 3 && (i->rm & 7) != 1)
		fpu_ud(c, i);
	fpu_enter(c, i, true);
	if (i->mem) {
		fpu_arith_mem(c, i, hx_m16int, 2);
		return;
	}
	fpu_note_insn(c, i);
	if (reg == 2)
		fpu_compare_reg(c, i, false, 1, false);
	else if (reg == 3)
		fpu_compare_reg(c, i, false, 2, false);
	else
		fpu_arith_reg(c, i, true, true);
}

static void op_df_mem(struct tcg_cpu *c, const struct insn *i)
{
	switch (i->reg & 7) {
	case 0: fpu_fild(c, i, 2); break;
	case 1: fpu_store_mem(c, i, hx_fisttps, 2, true); break;
	case 2: fpu_store_mem(c, i, hx_fists, 2, false); break;
	case 3: fpu_store_mem(c, i, hx_fists, 2, true); break;
	case 4: fpu_load_mem(c, i, hx_fbld, 10); break;
	case 5: fpu_fild(c, i, 8); break;
	case 6: fpu_store_mem(c, i, hx_fbstp, 10, true); break;
	case 7: fpu_store_mem(c, i, hx_fistpll, 8, true); break;
	}
}

/* DF: FILD/FISTTP/FIST/FISTP m16, FBLD, FILD m64, FBSTP, FISTP m64;
 * FFREEP, FXCH7, FSTP8/9 aliases, FNSTSW AX, FUCOMIP, FCOMIP */
static void op_df(struct tcg_cpu *c, const struct insn *i)
{
	struct tcg_fpu *f = &c->fpu;
	unsigned reg = i->reg & 7, sti = i->rm & 7;

	if (i->mem) {
		fpu_enter(c, i, true);
		op_df_mem(c, i);
		return;
	}
	if (reg == 7 || (reg == 4 && sti != 0))
		fpu_ud(c, i);
	if (reg == 4) {                         /* FNSTSW AX */
		fpu_enter(c, i, false);
		tcg_reg_set(c, i, R_RAX, 2, fpu_sw(f));
		return;
	}
	fpu_enter(c, i, true);
	fpu_note_insn(c, i);
	switch (reg) {
	case 0:                                 /* FFREEP */
		reg_set_tag(f, st_phys(f, sti), TAG_EMPTY);
		set_c1(f, false);
		st_pop(f);
		break;
	case 1: fpu_fxch(f, sti); break;
	case 2:
	case 3: fpu_fst_st(f, sti, true); break;
	default: fpu_compare_reg(c, i, reg == 5, 1, true); break;
	}
}

/* FWAIT: #NM only with CR0.MP and CR0.TS (SDM Vol. 3, 2.5, table 2-2). */
static void op_fwait(struct tcg_cpu *c, const struct insn *i)
{
	(void)i;
	if ((c->s.cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
		tcg_raise(c, EXC_NM, NO_ERRCODE);
	if (c->fpu.fsw & FSW_ES)
		fpu_pending(c);
}

void tcg_register_fpu(void)
{
	tcg_ops[MAP_1B][0x9b] = op_fwait;
	tcg_ops[MAP_1B][0xd8] = op_d8;
	tcg_ops[MAP_1B][0xd9] = op_d9;
	tcg_ops[MAP_1B][0xda] = op_da;
	tcg_ops[MAP_1B][0xdb] = op_db;
	tcg_ops[MAP_1B][0xdc] = op_dc;
	tcg_ops[MAP_1B][0xdd] = op_dd;
	tcg_ops[MAP_1B][0xde] = op_de;
	tcg_ops[MAP_1B][0xdf] = op_df;
}

/* ------------------------------------------------------------------ */
/* FXSAVE image (SDM Vol. 1, 10.5.1, table 10-2), 32-bit pointer form   */

void tcg_fpu_to_fxsave(const struct tcg_fpu *f, uint8_t fx[512])
{
	uint8_t tags = 0;

	memset(fx, 0, 512);
	for (unsigned r = 0; r < 8; r++)
		if (reg_tag(f, r) != TAG_EMPTY)
			tags |= 1u << r;        /* physical register order */
	put16(fx + 0, f->fcw);
	put16(fx + 2, fpu_sw(f));
	fx[4] = tags;
	put16(fx + 6, f->fop & 0x7ff);
	put32(fx + 8, (uint32_t)f->fip);
	put16(fx + 12, f->fcs);
	put32(fx + 16, (uint32_t)f->fdp);
	put16(fx + 20, f->fds);
	put32(fx + 24, f->mxcsr);
	put32(fx + 28, MXCSR_VALID);            /* MXCSR_MASK (sse.h) */
	for (unsigned k = 0; k < 8; k++)        /* stack order: ST(k) */
		memcpy(fx + 32 + 16 * k, st_ptr(f, k), 10);
	memcpy(fx + 160, f->xmm, 256);
}

void tcg_fpu_from_fxsave(struct tcg_fpu *f, const uint8_t fx[512])
{
	uint16_t sw = get16(fx + 2);
	uint16_t tw = 0;

	f->top = (sw >> 11) & 7;
	f->fsw = sw & ~FSW_TOP;
	for (unsigned k = 0; k < 8; k++)
		fx_from_bytes(&f->st[st_phys(f, k)], fx + 32 + 16 * k);
	for (unsigned r = 0; r < 8; r++)
		if (!(fx[4] & (1u << r)))
			tw |= TAG_EMPTY << (2 * r);
	fpu_load_tags(f, tw);
	f->fop = get16(fx + 6) & 0x7ff;
	f->fip = get32(fx + 8);
	f->fcs = get16(fx + 12);
	f->fdp = get32(fx + 16);
	f->fds = get16(fx + 20);
	f->mxcsr = get32(fx + 24);
	memcpy(f->xmm, fx + 160, 256);
	fpu_set_cw(f, get16(fx + 0));
}

void tcg_fpu_reset(struct tcg_fpu *f)
{
	memset(f, 0, sizeof(*f));
	fpu_init(f);
	f->mxcsr = 0x1f80;
}
