/*
 * Registers and operands: general registers at every size, the effective
 * address of a ModRM memory operand, r/m operands, the stack and near
 * jumps (SDM Vol. 1, 3.4.1 and 3.7; Vol. 2, 2.1.5).
 */
#include "tcg.h"

uint64_t tcg_ea(struct tcg_cpu *c, const struct insn *i)
{
	uint64_t ea = (uint64_t)(int64_t)i->disp;
	if (i->rip_rel)
		ea += c->next_rip;
	if (i->base != NO_REG)
		ea += c->s.regs[i->base];
	if (i->index != NO_REG)
		ea += c->s.regs[i->index] << i->scale;
	return ea & size_mask(i->asz);
}

uint64_t tcg_rm_get(struct tcg_cpu *c, const struct insn *i, unsigned size)
{
	if (!i->mem)
		return tcg_reg_get(c, i, i->rm, size);
	return tcg_ld(c, i->seg, tcg_ea(c, i), size);
}

void tcg_rm_set(struct tcg_cpu *c, const struct insn *i, unsigned size, uint64_t v)
{
	if (!i->mem)
		tcg_reg_set(c, i, i->rm, size, v);
	else
		tcg_st(c, i->seg, tcg_ea(c, i), size, v);
}

/* The stack pointer at the stack width; pushes and pops wrap within it. */
static inline uint64_t sp_get(const struct tcg_cpu *c, unsigned width)
{
	return c->s.regs[R_RSP] & size_mask(width);
}

static inline void sp_set(struct tcg_cpu *c, unsigned width, uint64_t v)
{
	if (width == 8)
		c->s.regs[R_RSP] = v;
	else if (width == 4)
		c->s.regs[R_RSP] = (uint32_t)v;
	else
		c->s.regs[R_RSP] = (c->s.regs[R_RSP] & ~0xffffULL) | (v & 0xffff);
}

void tcg_push(struct tcg_cpu *c, unsigned size, uint64_t v)
{
	unsigned width = tcg_stack_size(c);
	uint64_t sp = (sp_get(c, width) - size) & size_mask(width);
	tcg_st(c, S_SS, sp, size, v);     /* faults before RSP changes */
	sp_set(c, width, sp);
}

uint64_t tcg_pop(struct tcg_cpu *c, unsigned size)
{
	unsigned width = tcg_stack_size(c);
	uint64_t sp = sp_get(c, width);
	uint64_t v = tcg_ld(c, S_SS, sp, size);
	sp_set(c, width, sp + size);
	return v;
}

uint64_t tcg_stack_peek(struct tcg_cpu *c, unsigned size, uint64_t off)
{
	unsigned width = tcg_stack_size(c);
	return tcg_ld(c, S_SS, (sp_get(c, width) + off) & size_mask(width), size);
}

void tcg_sp_add(struct tcg_cpu *c, int64_t delta)
{
	unsigned width = tcg_stack_size(c);
	sp_set(c, width, sp_get(c, width) + delta);
}

void tcg_jump(struct tcg_cpu *c, uint64_t target, unsigned osz)
{
	if (tcg_code64(c)) {
		if (osz != 8)
			target &= size_mask(osz);
		if (!canonical(target))
			tcg_raise(c, EXC_GP, 0);
	} else {
		target &= size_mask(osz < 8 ? osz : 4);
		if (target > c->s.seg[S_CS].limit)
			tcg_raise(c, EXC_GP, 0);
	}
	c->next_rip = target;
}
