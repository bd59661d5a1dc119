/*
 * Specialised handlers for the most frequent forms: MOV, ADD/OR/AND/SUB/
 * XOR/CMP and TEST between 32- or 64-bit registers or with an immediate,
 * SHL/SHR/SAR of a register, and MOV between a register and memory.  The
 * generic handlers decode operand size, direction and operand kind again
 * on every run; these know them from the decoder.  Results and lazy flags
 * come from the same inline functions as the generic handlers' (alu.h),
 * and the differential tests check them through the same block decoder.
 */
#include "alu.h"

static ALWAYS_INLINE void alu(struct tcg_cpu *c, unsigned dst, uint64_t b, unsigned op,
			      unsigned size)
{
	struct cc_rec cc;
	uint64_t r = alu_calc(c, &cc, size, c->s.regs[dst], b, op);
	cc_commit(c, &cc, size);
	if (op != ALU_CMP)
		c->s.regs[dst] = r;     /* a 32-bit result zero-extends */
}

/* op r/m, reg (01, 09 ...); op reg, r/m (03, 0B ...); op r/m, imm (81, 83). */
#define ALU_FORMS(name, op, size)                                            \
	static void name##_rm_reg(struct tcg_cpu *c, const struct insn *i)   \
	{ alu(c, i->rm, c->s.regs[i->reg], op, size); }                      \
	static void name##_reg_rm(struct tcg_cpu *c, const struct insn *i)   \
	{ alu(c, i->reg, c->s.regs[i->rm], op, size); }                      \
	static void name##_rm_imm(struct tcg_cpu *c, const struct insn *i)   \
	{ alu(c, i->rm, tcg_simm(i), op, size); }

ALU_FORMS(add32, ALU_ADD, 4)
ALU_FORMS(add64, ALU_ADD, 8)
ALU_FORMS(or32, ALU_OR, 4)
ALU_FORMS(or64, ALU_OR, 8)
ALU_FORMS(and32, ALU_AND, 4)
ALU_FORMS(and64, ALU_AND, 8)
ALU_FORMS(sub32, ALU_SUB, 4)
ALU_FORMS(sub64, ALU_SUB, 8)
ALU_FORMS(xor32, ALU_XOR, 4)
ALU_FORMS(xor64, ALU_XOR, 8)
ALU_FORMS(cmp32, ALU_CMP, 4)
ALU_FORMS(cmp64, ALU_CMP, 8)

struct alu_forms {
	tcg_handler rm_reg, reg_rm, rm_imm;
};

#define FORMS(name) { name##_rm_reg, name##_reg_rm, name##_rm_imm }
/* [op][size == 8]; ADC and SBB stay generic (they read CF). */
static const struct alu_forms alu_forms[8][2] = {
	[ALU_ADD] = { FORMS(add32), FORMS(add64) },
	[ALU_OR] = { FORMS(or32), FORMS(or64) },
	[ALU_AND] = { FORMS(and32), FORMS(and64) },
	[ALU_SUB] = { FORMS(sub32), FORMS(sub64) },
	[ALU_XOR] = { FORMS(xor32), FORMS(xor64) },
	[ALU_CMP] = { FORMS(cmp32), FORMS(cmp64) },
};

static void mov32_rr(struct tcg_cpu *c, const struct insn *i)
{
	c->s.regs[i->rm] = (uint32_t)c->s.regs[i->reg];
}
static void mov64_rr(struct tcg_cpu *c, const struct insn *i)
{
	c->s.regs[i->rm] = c->s.regs[i->reg];
}
static void mov32_rr_rev(struct tcg_cpu *c, const struct insn *i)
{
	c->s.regs[i->reg] = (uint32_t)c->s.regs[i->rm];
}
static void mov64_rr_rev(struct tcg_cpu *c, const struct insn *i)
{
	c->s.regs[i->reg] = c->s.regs[i->rm];
}
static void test32_rr(struct tcg_cpu *c, const struct insn *i)
{
	test_calc(c, 4, c->s.regs[i->rm], c->s.regs[i->reg]);
}
static void test64_rr(struct tcg_cpu *c, const struct insn *i)
{
	test_calc(c, 8, c->s.regs[i->rm], c->s.regs[i->reg]);
}

/* SHL/SHR/SAR of a register (C1, D1, D3 /4 /5 /6 /7).  The count is
 * masked to 5 bits, 6 with REX.W; a zero count changes no flag but still
 * writes (zero-extends) a 32-bit register. */
static ALWAYS_INLINE void shift(struct tcg_cpu *c, unsigned r, unsigned count, unsigned kind,
				unsigned size)
{
	struct cc_rec cc;
	uint64_t v = c->s.regs[r] & size_mask(size);
	count &= size == 8 ? 63 : 31;
	if (count) {
		v = shift_calc(&cc, size, v, count, kind);
		cc_commit(c, &cc, size);
	}
	c->s.regs[r] = v;
}

#define SHIFT_FORMS(name, kind, size)                                        \
	static void name##_imm(struct tcg_cpu *c, const struct insn *i)      \
	{ shift(c, i->rm, i->imm & 0xff, kind, size); }                      \
	static void name##_1(struct tcg_cpu *c, const struct insn *i)        \
	{ shift(c, i->rm, 1, kind, size); }                                  \
	static void name##_cl(struct tcg_cpu *c, const struct insn *i)       \
	{ shift(c, i->rm, c->s.regs[R_RCX] & 0xff, kind, size); }

SHIFT_FORMS(shl32, SH_SHL, 4)
SHIFT_FORMS(shl64, SH_SHL, 8)
SHIFT_FORMS(shr32, SH_SHR, 4)
SHIFT_FORMS(shr64, SH_SHR, 8)
SHIFT_FORMS(sar32, SH_SAR, 4)
SHIFT_FORMS(sar64, SH_SAR, 8)

struct shift_forms {
	tcg_handler imm, one, cl;
};
#define SFORMS(name) { name##_imm, name##_1, name##_cl }
/* [modrm.reg][size == 8]; the rotates stay generic */
static const struct shift_forms shift_forms[8][2] = {
	[SH_SHL] = { SFORMS(shl32), SFORMS(shl64) },
	[SH_SHR] = { SFORMS(shr32), SFORMS(shr64) },
	[SH_SAL] = { SFORMS(shl32), SFORMS(shl64) },   /* the same as SHL */
	[SH_SAR] = { SFORMS(sar32), SFORMS(sar64) },
};

/* MOV between a register and memory: one sized access, no size switch. */
static void mov32_st(struct tcg_cpu *c, const struct insn *i)
{
	tcg_st32(c, i->seg, tcg_ea(c, i), c->s.regs[i->reg]);
}
static void mov64_st(struct tcg_cpu *c, const struct insn *i)
{
	tcg_st64(c, i->seg, tcg_ea(c, i), c->s.regs[i->reg]);
}
static void mov32_ld(struct tcg_cpu *c, const struct insn *i)
{
	c->s.regs[i->reg] = tcg_ld32(c, i->seg, tcg_ea(c, i));
}
static void mov64_ld(struct tcg_cpu *c, const struct insn *i)
{
	c->s.regs[i->reg] = tcg_ld64(c, i->seg, tcg_ea(c, i));
}

static tcg_handler specialise_rr(const struct insn *i, bool q)
{
	unsigned op = i->op;
	if (op < 0x40 && ((op & 7) == 1 || (op & 7) == 3)) {
		const struct alu_forms *f = &alu_forms[op >> 3][q];
		return (op & 7) == 1 ? f->rm_reg : f->reg_rm;
	}
	switch (op) {
	case 0x81:
	case 0x83:
		return alu_forms[i->reg & 7][q].rm_imm;
	case 0x85:
		return q ? test64_rr : test32_rr;
	case 0xc1:
		return shift_forms[i->reg & 7][q].imm;
	case 0xd1:
		return shift_forms[i->reg & 7][q].one;
	case 0xd3:
		return shift_forms[i->reg & 7][q].cl;
	case 0x89:
		return q ? mov64_rr : mov32_rr;
	case 0x8b:
		return q ? mov64_rr_rev : mov32_rr_rev;
	}
	return NULL;
}

static tcg_handler specialise_mem(const struct insn *i, bool q)
{
	switch (i->op) {
	case 0x89:
		return q ? mov64_st : mov32_st;
	case 0x8b:
		return q ? mov64_ld : mov32_ld;
	}
	return NULL;
}

void tcg_specialise(struct insn *i)
{
	/* LOCK is #UD on all of these: left to the generic handlers */
	if (i->map != MAP_1B || !i->has_modrm || i->lock || (i->osz != 4 && i->osz != 8))
		return;
	bool q = i->osz == 8;
	tcg_handler fn = i->mem ? specialise_mem(i, q) : specialise_rr(i, q);
	if (fn)
		i->fn = fn;
}
