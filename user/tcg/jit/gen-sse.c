/*
 * SSE integer and move instructions run as themselves.  The guest XMM
 * registers stay in c->fpu.xmm[]: the destination is loaded into host
 * xmm0, the host instruction runs with the source as memory (the guest
 * register's slot, 16-byte aligned, or the guest memory's host address
 * after the inline TLB check, through xmm1 when it is 16 bytes and may
 * be misaligned), and xmm0 is stored back.  Host xmm0/xmm1 are scratch
 * (SysV ABI: caller-saved), so nothing is kept in them across
 * instructions.
 *
 * Only what the interpreter runs the same way: the XMM forms (the MMX
 * forms use the x87 register file) of the interpreter's table (sse.h;
 * the SF_FP ones under the guest MXCSR, see gen_table_fp()), the moves
 * and a few handlers of their own, in blocks whose key says that no SSE
 * class check can fault (KEY_SSE: CR0.EM = CR0.TS = 0, CR4.OSFXSR = 1).
 * AES-NI and PCLMULQDQ (table entries with a handler of their own,
 * sse-crypto.c) run natively where the host has them; the SHA
 * instructions do not.
 * Left to the interpreter: MMX, PINSR/PEXTR, INSERTPS, the BLENDV and
 * string (PCMPxSTRx) forms, MASKMOVDQU, the GPR conversions (CVTSI2SD
 * ...), MOVMSKPS/PD, LDDQU, MOVNTDQA and the SSE3 moves.
 * A 16-byte memory operand that must be aligned (SF_ALIGN, MOVDQA ...)
 * and is not goes to the interpreter, which raises #GP(0) (SDM Vol. 1,
 * 11.6.8).
 */
#include "tcg/jit/gen.h"
#include "tcg/sse.h"

_Static_assert(offsetof(struct tcg_cpu, fpu.xmm) % 16 == 0, "xmm slots aligned");

/* Host encodings used below (SDM Vol. 2): prefix, map, opcode */
#define MOVDQU_LD  PFX_F3, MAP_0F, 0x6f
#define MOVDQU_ST  PFX_F3, MAP_0F, 0x7f
#define MOVQ_LD    PFX_F3, MAP_0F, 0x7e         /* zero-extends */
#define MOVQ_ST    PFX_66, MAP_0F, 0xd6
#define MOVD_LD    PFX_66, MAP_0F, 0x6e         /* xmm, r/m32 (r/m64 with W) */
#define MOVD_ST    PFX_66, MAP_0F, 0x7e         /* r/m32, xmm (r/m64 with W) */

enum { X0, X1 };        /* host xmm0, xmm1 */

static struct hrm xmm_slot(unsigned r)
{
	return rm_mem(R_CPU, CPU_OFF(fpu.xmm[0]) + (int32_t)(r & 15) * 16);
}

/* [pfx] [REX] 0F [38|3A] op ModRM [ib]; w sets REX.W; imm < 0: none */
static void emit_sse(struct emit *e, unsigned pfx, unsigned map, unsigned op, unsigned reg,
		     struct hrm rm, bool w, int imm)
{
	static const uint8_t pfx_byte[4] = { 0, 0x66, 0xf3, 0xf2 };
	uint8_t ops[3];
	unsigned n = 0;
	if (pfx != PFX_NONE)
		e8(e, pfx_byte[pfx & 3]);
	ops[n++] = 0x0f;
	if (map == MAP_0F38)
		ops[n++] = 0x38;
	else if (map == MAP_0F3A)
		ops[n++] = 0x3a;
	ops[n++] = (uint8_t)op;
	emit_op(e, w ? 8 : 4, false, ops, n, reg, rm, imm < 0 ? 0 : (uint64_t)imm, imm < 0 ? 0 : 1);
}

/* The guest memory operand of msize bytes for acc; host address in rsi. */
static bool sse_mem(struct tr *t, unsigned msize, enum access acc, bool align)
{
	bool ok = align && msize == 16 ? tr_mem_operand_aligned(t, msize, acc, 16)
				       : tr_mem_operand(t, msize, acc);
	if (ok)
		tr_mem_done(t);
	return ok;
}

/* The source operand of a host instruction reading msize bytes: the
 * guest register's slot, or guest memory -- through xmm1 when it is 16
 * bytes (the host's legacy SSE forms fault on a misaligned m128, the
 * guest's MOVDQU does not). */
static bool src_operand(struct tr *t, unsigned msize, bool align, struct hrm *rm)
{
	if (!t->i->mem) {
		*rm = xmm_slot(t->i->rm);
		return true;
	}
	if (!sse_mem(t, msize, ACC_READ, align))
		return false;
	*rm = rm_mem(H_RSI, 0);
	if (msize == 16) {
		emit_sse(&t->e, MOVDQU_LD, X1, *rm, false, -1);
		*rm = rm_reg(X1);
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* The interpreter's table: xmm = op(xmm, xmm/m [, ib])                */

/* The host runs the instruction: map 0F holds SSE to SSE3 (HADDPS,
 * ADDSUBPS), the 0F 38 and 0F 3A maps SSSE3 to SSE4.2.
 * __builtin_cpu_supports reads what libgcc found at start (no race
 * between vCPU threads). */
static bool host_has(unsigned map)
{
	if (map == MAP_0F)
		return __builtin_cpu_supports("sse3");
	return __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("sse4.1") &&
	       __builtin_cpu_supports("sse4.2");
}

/* The table entry of i if it is an XMM one without special cases
 * (SF_FP ones too: see gen_table_fp()). */
/* AES-NI and PCLMULQDQ (sse-crypto.c) where the host has them */
static bool host_crypto(const struct insn *i)
{
	switch (sse_crypto_kind(i)) {
	case CRYPTO_AES:
		return __builtin_cpu_supports("aes");
	case CRYPTO_PCLMUL:
		return __builtin_cpu_supports("pclmul");
	}
	return false;
}

static const struct sse_desc *table_entry(const struct insn *i)
{
	if (i->map < MAP_0F || (i->fn != sse_generic && !host_crypto(i)))
		return NULL;
	const struct sse_desc *d = &sse_desc[i->map - MAP_0F][i->op][i->pfx & 3];
	if (!d->fn || d->kind != SK_XMM || (d->flags & SF_MEM) || !host_has(i->map))
		return NULL;
	return d;
}

/* ------------------------------------------------------------------ */
/* Floating point under the guest MXCSR                                */

/*
 * The interpreter runs SIMD floating point on the host under the guest's
 * rounding, DAZ and FTZ with every exception masked, and merges the
 * exception flags raised into the guest MXCSR; an unmasked one needs its
 * post-computation analysis (sse-fp.c).  Here: only while the guest
 * masks all six (else the slow path), the guest MXCSR itself is loaded
 * into the host's around the instruction and stored back with the flags
 * the instruction added (they are sticky, SDM Vol. 1, 10.2.3.1); the
 * host's own MXCSR waits in the red zone below rsp, which signal
 * delivery leaves alone (SysV ABI 3.2.2).
 *
 * jit_fp_check() changes the host flags: the caller has saved live guest
 * flags (tr_save_flags) and restores them after (tr_mem_done).
 */
#define HOST_MXCSR rm_mem(H_RSP, -8)

void jit_fp_check(struct tr *t)
{
	struct emit *e = &t->e;
	uint8_t f7 = 0xf7;
	emit_load(e, 4, H_RAX, CPU_MEM(fpu.mxcsr));
	emit_op(e, 4, false, &f7, 1, 2, rm_reg(H_RAX), 0, 0);                  /* not eax */
	emit_op(e, 4, false, &f7, 1, 0, rm_reg(H_RAX), MXCSR_MASKS, 4);        /* test */
	tr_slow_if(t, 5);                                                       /* jnz */
}

void jit_fp_begin(struct emit *e)
{
	emit_op2(e, 4, 0xae, 3, HOST_MXCSR);            /* stmxcsr */
	emit_op2(e, 4, 0xae, 2, CPU_MEM(fpu.mxcsr));    /* ldmxcsr */
}

void jit_fp_end(struct emit *e)
{
	emit_op2(e, 4, 0xae, 3, CPU_MEM(fpu.mxcsr));
	emit_op2(e, 4, 0xae, 2, HOST_MXCSR);
}

static bool gen_table_fp(struct tr *t)
{
	const struct insn *i = t->i;
	const struct sse_desc *d = table_entry(i);
	struct hrm src;
	tr_save_flags(t);
	jit_fp_check(t);
	if (!src_operand(t, d->msize, d->flags & SF_ALIGN, &src))
		return false;
	emit_sse(&t->e, MOVDQU_LD, X0, xmm_slot(i->reg), false, -1);
	jit_fp_begin(&t->e);
	emit_sse(&t->e, i->pfx, i->map, i->op, X0, src, false, i->imm_size ? (int)(i->imm & 0xff) : -1);
	jit_fp_end(&t->e);
	emit_sse(&t->e, MOVDQU_ST, X0, xmm_slot(i->reg), false, -1);
	tr_mem_done(t);
	return true;
}

/* 0F 2E/2F: UCOMISS COMISS, 66: UCOMISD COMISD (ZF PF CF; OF SF AF
 * cleared) */
static bool gen_comis(struct tr *t)
{
	const struct insn *i = t->i;
	struct hrm src;
	jit_fp_check(t);
	if (!src_operand(t, i->pfx == PFX_66 ? 8 : 4, false, &src))
		return false;
	emit_sse(&t->e, MOVDQU_LD, X0, xmm_slot(i->reg), false, -1);
	jit_fp_begin(&t->e);
	emit_sse(&t->e, i->pfx, MAP_0F, i->op, X0, src, false, -1);
	jit_fp_end(&t->e);
	tr_flags_written(t, FLAGS_ALL);
	return true;
}

/* MOVAPS MOVAPD MOVDQA MOVDQU loads: the destination is not read */
static bool pure_move(const struct insn *i)
{
	return i->map == MAP_0F && (i->op == 0x28 || i->op == 0x6f);
}

static bool gen_table(struct tr *t)
{
	const struct insn *i = t->i;
	const struct sse_desc *d = table_entry(i);
	struct hrm src;
	if (!src_operand(t, d->msize, d->flags & SF_ALIGN, &src))
		return false;
	if (pure_move(i)) {
		if (src.mem) {          /* a register's slot */
			emit_sse(&t->e, MOVDQU_LD, X0, src, false, -1);
			src = rm_reg(X0);
		}
		emit_sse(&t->e, MOVDQU_ST, (unsigned)src.reg, xmm_slot(i->reg), false, -1);
		return true;
	}
	emit_sse(&t->e, MOVDQU_LD, X0, xmm_slot(i->reg), false, -1);
	emit_sse(&t->e, i->pfx, i->map, i->op, X0, src, false, i->imm_size ? (int)(i->imm & 0xff) : -1);
	emit_sse(&t->e, MOVDQU_ST, X0, xmm_slot(i->reg), false, -1);
	return true;
}

/* ------------------------------------------------------------------ */
/* Moves with their own handlers (sse.c)                               */

/* Store the low size bytes of xmm0 (16 with hi8 = the high qword, for
 * MOVHPS) to the r/m operand; a register keeps its other bytes. */
static void store_low(struct tr *t, unsigned size, struct hrm dst, bool hi8)
{
	if (hi8)
		emit_sse(&t->e, PFX_NONE, MAP_0F, 0x17, X0, dst, false, -1);   /* MOVHPS m64, xmm */
	else if (size == 16)
		emit_sse(&t->e, MOVDQU_ST, X0, dst, false, -1);
	else if (size == 8)
		emit_sse(&t->e, MOVQ_ST, X0, dst, false, -1);
	else
		emit_sse(&t->e, MOVD_ST, X0, dst, false, -1);
}

/* xmm/m <- xmm[reg]: size bytes, aligned or not; mem_only: register
 * forms are other instructions (or #UD) */
static bool gen_store(struct tr *t, unsigned size, bool align, bool hi8)
{
	const struct insn *i = t->i;
	struct hrm dst = xmm_slot(i->rm);
	if (i->mem) {
		if (!sse_mem(t, hi8 ? 8 : size, ACC_WRITE, align))
			return false;
		dst = rm_mem(H_RSI, 0);
	}
	emit_sse(&t->e, MOVDQU_LD, X0, xmm_slot(i->reg), false, -1);
	store_low(t, size, dst, hi8);
	return true;
}

/* 0F 10 (MOVUPS MOVUPD MOVSS MOVSD loads), 0F 12/16 (MOVLPS MOVHPS
 * MOVLPD MOVHPD loads, MOVHLPS MOVLHPS): the host instruction on xmm0,
 * the source in xmm1 for a register (the memory forms of MOVSS/MOVSD
 * zero-extend, the register forms merge). */
static bool gen_load_merge(struct tr *t, unsigned msize)
{
	const struct insn *i = t->i;
	struct hrm src = rm_reg(X1);
	if (i->mem) {
		if (!sse_mem(t, msize, ACC_READ, false))
			return false;
		src = rm_mem(H_RSI, 0);
		if (msize == 16) {
			emit_sse(&t->e, MOVDQU_LD, X1, src, false, -1);
			src = rm_reg(X1);
		}
	} else {
		emit_sse(&t->e, MOVDQU_LD, X1, xmm_slot(i->rm), false, -1);
	}
	emit_sse(&t->e, MOVDQU_LD, X0, xmm_slot(i->reg), false, -1);
	emit_sse(&t->e, i->pfx, MAP_0F, i->op, X0, src, false, -1);
	emit_sse(&t->e, MOVDQU_ST, X0, xmm_slot(i->reg), false, -1);
	return true;
}

static unsigned gpr_size(const struct insn *i)
{
	return (i->rex & 8) ? 8 : 4;
}

/* 66 0F 6E: MOVD/MOVQ xmm, r/m32/64 (zero-extended to 128 bits) */
static bool gen_movd_load(struct tr *t)
{
	const struct insn *i = t->i;
	unsigned size = gpr_size(i);
	struct hrm src = tr_greg(t, i->rm, 8);
	if (i->mem) {
		if (!sse_mem(t, size, ACC_READ, false))
			return false;
		src = rm_mem(H_RSI, 0);
	}
	emit_sse(&t->e, MOVD_LD, X0, src, size == 8, -1);
	emit_sse(&t->e, MOVDQU_ST, X0, xmm_slot(i->reg), false, -1);
	return true;
}

/* 66 0F 7E: MOVD/MOVQ r/m32/64, xmm (a 32-bit register zero-extends) */
static bool gen_movd_store(struct tr *t)
{
	const struct insn *i = t->i;
	unsigned size = gpr_size(i);
	if (i->mem) {
		if (!sse_mem(t, size, ACC_WRITE, false))
			return false;
		emit_sse(&t->e, MOVDQU_LD, X0, xmm_slot(i->reg), false, -1);
		emit_sse(&t->e, MOVD_ST, X0, rm_mem(H_RSI, 0), size == 8, -1);
		return true;
	}
	emit_sse(&t->e, MOVDQU_LD, X0, xmm_slot(i->reg), false, -1);
	emit_sse(&t->e, MOVD_ST, X0, rm_reg(H_RAX), size == 8, -1);
	emit_store(&t->e, 8, tr_greg(t, i->rm, 8), H_RAX);
	return true;
}

/* F3 0F 7E: MOVQ xmm, xmm/m64 (zero-extended) */
static bool gen_movq_load(struct tr *t)
{
	const struct insn *i = t->i;
	struct hrm src = xmm_slot(i->rm);
	if (i->mem) {
		if (!sse_mem(t, 8, ACC_READ, false))
			return false;
		src = rm_mem(H_RSI, 0);
	}
	emit_sse(&t->e, MOVQ_LD, X0, src, false, -1);
	emit_sse(&t->e, MOVDQU_ST, X0, xmm_slot(i->reg), false, -1);
	return true;
}

/* 66 0F D6: MOVQ xmm/m64, xmm (a register destination is zero-extended) */
static bool gen_movq_store(struct tr *t)
{
	const struct insn *i = t->i;
	if (i->mem)
		return gen_store(t, 8, false, false);
	emit_sse(&t->e, MOVQ_LD, X0, xmm_slot(i->reg), false, -1);
	emit_sse(&t->e, MOVDQU_ST, X0, xmm_slot(i->rm), false, -1);
	return true;
}

/* 66 0F D7: PMOVMSKB r32, xmm (zero-extended) */
static bool gen_pmovmskb(struct tr *t)
{
	const struct insn *i = t->i;
	emit_sse(&t->e, MOVDQU_LD, X0, xmm_slot(i->rm), false, -1);
	emit_sse(&t->e, PFX_66, MAP_0F, 0xd7, H_RAX, rm_reg(X0), false, -1);
	emit_store(&t->e, 8, tr_greg(t, i->reg, 8), H_RAX);
	return true;
}

/* 66 0F 71/72/73: shifts of an XMM register by ib (groups 12-14) */
static bool gen_shift_imm(struct tr *t)
{
	const struct insn *i = t->i;
	emit_sse(&t->e, MOVDQU_LD, X0, xmm_slot(i->rm), false, -1);
	emit_sse(&t->e, PFX_66, MAP_0F, i->op, i->reg & 7, rm_reg(X0), false, (int)(i->imm & 0xff));
	emit_sse(&t->e, MOVDQU_ST, X0, xmm_slot(i->rm), false, -1);
	return true;
}

/* 66 0F 38 17: PTEST (ZF, CF; AF OF PF SF cleared, as the interpreter) */
static bool gen_ptest(struct tr *t)
{
	const struct insn *i = t->i;
	struct hrm src;
	if (!src_operand(t, 16, true, &src))
		return false;
	emit_sse(&t->e, MOVDQU_LD, X0, xmm_slot(i->reg), false, -1);
	emit_sse(&t->e, PFX_66, MAP_0F38, 0x17, X0, src, false, -1);
	tr_flags_written(t, FLAGS_ALL);
	return true;
}

static bool gen_0f10(struct tr *t)
{
	unsigned pfx = t->i->pfx;
	return gen_load_merge(t, pfx == PFX_F3 ? 4 : pfx == PFX_F2 ? 8 : 16);
}

static bool gen_0f11(struct tr *t)
{
	unsigned pfx = t->i->pfx;
	return gen_store(t, pfx == PFX_F3 ? 4 : pfx == PFX_F2 ? 8 : 16, false, false);
}

static bool gen_0f12_16(struct tr *t)
{
	return gen_load_merge(t, 8);
}

static bool gen_0f13_17(struct tr *t)
{
	return gen_store(t, 8, false, t->i->op == 0x17);
}

static bool gen_store_aligned(struct tr *t)
{
	return gen_store(t, 16, true, false);
}

static bool gen_0f7f(struct tr *t)
{
	return gen_store(t, 16, t->i->pfx == PFX_66, false);
}

/* The generator of an instruction with its own handler, or NULL. */
static bool (*special_gen(const struct insn *i))(struct tr *)
{
	bool ps_pd = i->pfx == PFX_NONE || i->pfx == PFX_66;
	if (i->map == MAP_0F38)
		return i->op == 0x17 && i->pfx == PFX_66 && host_has(MAP_0F38) ? gen_ptest : NULL;
	if (i->map != MAP_0F)
		return NULL;
	switch (i->op) {
	case 0x2e:
	case 0x2f:
		return ps_pd ? gen_comis : NULL;
	case 0x10:
		return gen_0f10;
	case 0x11:
		return gen_0f11;
	case 0x12:
	case 0x16:
		return ps_pd && (i->mem || i->pfx == PFX_NONE) ? gen_0f12_16 : NULL;
	case 0x13:
	case 0x17:
		return ps_pd && i->mem ? gen_0f13_17 : NULL;
	case 0x29:
		return ps_pd ? gen_store_aligned : NULL;
	case 0x2b:
		return ps_pd && i->mem ? gen_store_aligned : NULL;
	case 0xe7:
		return i->pfx == PFX_66 && i->mem ? gen_store_aligned : NULL;
	case 0x6e:
		return i->pfx == PFX_66 ? gen_movd_load : NULL;
	case 0x7e:
		return i->pfx == PFX_66 ? gen_movd_store : i->pfx == PFX_F3 ? gen_movq_load : NULL;
	case 0x7f:
		return i->pfx == PFX_66 || i->pfx == PFX_F3 ? gen_0f7f : NULL;
	case 0xd6:
		return i->pfx == PFX_66 ? gen_movq_store : NULL;
	case 0xd7:
		return i->pfx == PFX_66 && !i->mem ? gen_pmovmskb : NULL;
	case 0x71:
	case 0x72:
	case 0x73: {
		/* PSRLW/D/Q /2, PSRAW/D /4, PSLLW/D/Q /6; PSRLDQ /3, PSLLDQ /7 */
		unsigned g = i->reg & 7;
		bool ok = g == 2 || g == 6 || (g == 4 && i->op != 0x73) ||
			  ((g == 3 || g == 7) && i->op == 0x73);
		return i->pfx == PFX_66 && !i->mem && ok ? gen_shift_imm : NULL;
	}
	}
	return NULL;
}

bool jit_classify_sse(const struct tr *t, const struct insn *i, struct gen_info *gi)
{
	if (i->map == MAP_1B || !(t->b->key & KEY_SSE) || i->lock || !i->has_modrm)
		return false;
	if (((uintptr_t)t->c & 15) != 0)
		return false;   /* the register slots as m128 operands need it */
	bool (*gen)(struct tr *) = special_gen(i);
	const struct sse_desc *d = table_entry(i);
	if (!gen && d)
		gen = d->flags & SF_FP ? gen_table_fp : gen_table;
	if (!gen)
		return false;
	gi->gen = gen;
	gi->freads = 0;
	gi->fwrites = gen == gen_ptest || gen == gen_comis ? FLAGS_ALL : 0;
	return true;
}
