/*
 * Near control transfers: Jcc, JMP, CALL and RET near, ENTER/LEAVE,
 * LOOP/LOOPcc/JrCXZ, and SETcc.  Far transfers live in seg.c.
 *
 * Every transfer checks its target (tcg_jump: CS limit, canonical form)
 * before it changes rSP or rCX, so a #GP leaves the instruction
 * restartable (SDM Vol. 2 "CALL", "RET", "LOOP/LOOPcc").
 */
#include "tcg.h"

static inline void no_lock(struct tcg_cpu *c, const struct insn *i)
{
	if (__builtin_expect(i->lock, 0))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
}

/* Near branches are 64-bit in 64-bit mode: Intel CPUs ignore 66 there
 * (SDM Vol. 1, 3.6.1; Vol. 2 "JMP", "CALL", "RET"). */
static inline unsigned branch_osz(const struct tcg_cpu *c, const struct insn *i)
{
	return tcg_code64(c) ? 8 : i->osz;
}

/* ENTER and LEAVE follow the stack operand size: 64 unless 66 in 64-bit. */
static inline unsigned stack_osz(const struct tcg_cpu *c, const struct insn *i)
{
	if (tcg_code64(c))
		return i->osz == 2 ? 2 : 8;
	return i->osz;
}

static inline uint64_t rel_target(const struct tcg_cpu *c, const struct insn *i)
{
	return c->next_rip + (uint64_t)tcg_simm(i);
}

/* 70-7F, 0F 80-8F */
static void op_jcc(struct tcg_cpu *c, const struct insn *i)
{
	no_lock(c, i);
	if (tcg_cond(c, i->op & 15))
		tcg_jump(c, rel_target(c, i), branch_osz(c, i));
}

/* E9, EB */
static void op_jmp_rel(struct tcg_cpu *c, const struct insn *i)
{
	no_lock(c, i);
	tcg_jump(c, rel_target(c, i), branch_osz(c, i));
}

/* E8: the target is checked before the return address is pushed. */
static void op_call_rel(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = branch_osz(c, i);
	uint64_t ret = c->next_rip;

	no_lock(c, i);
	tcg_jump(c, rel_target(c, i), size);
	tcg_push(c, size, ret);
}

/* C3, C2 iw: the target is read and checked before rSP moves. */
static void op_ret(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = branch_osz(c, i);
	uint64_t target;

	no_lock(c, i);
	target = tcg_stack_peek(c, size, 0);
	tcg_jump(c, target, size);
	tcg_sp_add(c, size + (i->op == 0xc2 ? (i->imm & 0xffff) : 0));
}

/* rSP at the stack-pointer width */
static void set_sp(struct tcg_cpu *c, uint64_t v)
{
	uint64_t *sp = &c->s.regs[R_RSP];

	switch (tcg_stack_size(c)) {
	case 2:
		*sp = (*sp & ~0xffffULL) | (v & 0xffff);
		break;
	case 4:
		*sp = v & 0xffffffff;
		break;
	default:
		*sp = v;
		break;
	}
}

/*
 * C8 iw ib: ENTER alloc, level (SDM Vol. 2 "ENTER").  Push rBP, copy
 * level - 1 frame pointers from the enclosing frame, push the new frame
 * pointer, then rBP = frame and rSP -= alloc.  All memory accesses are
 * done before any register changes.
 */
static void op_enter(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = stack_osz(c, i), level = i->imm2 & 31, k;
	uint64_t alloc = i->imm & 0xffff;
	uint64_t smask = size_mask(tcg_stack_size(c));
	uint64_t sp = c->s.regs[R_RSP], bp = c->s.regs[R_RBP], frame;

	no_lock(c, i);
	sp = (sp - size) & smask;
	tcg_st(c, S_SS, sp, size, bp & size_mask(size));
	frame = sp;
	if (level) {
		for (k = 1; k < level; k++) {
			uint64_t v;

			bp = (bp - size) & smask;
			v = tcg_ld(c, S_SS, bp, size);
			sp = (sp - size) & smask;
			tcg_st(c, S_SS, sp, size, v);
		}
		sp = (sp - size) & smask;
		tcg_st(c, S_SS, sp, size, frame & size_mask(size));
	}
	sp = (sp - alloc) & smask;
	/* the final rSP must be a valid stack address */
	if (alloc)
		tcg_probe_write(c, S_SS, sp, 1);
	tcg_reg_set(c, i, R_RBP, size, frame);
	set_sp(c, sp);
}

/* C9: LEAVE: rSP = rBP, then pop rBP */
static void op_leave(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = stack_osz(c, i);
	uint64_t smask = size_mask(tcg_stack_size(c));
	uint64_t bp = c->s.regs[R_RBP] & smask, v;

	no_lock(c, i);
	v = tcg_ld(c, S_SS, bp, size);
	set_sp(c, bp + size);
	tcg_reg_set(c, i, R_RBP, size, v);
}

/* E0 LOOPNE, E1 LOOPE, E2 LOOP: rCX by the address size */
static void op_loop(struct tcg_cpu *c, const struct insn *i)
{
	unsigned asz = i->asz;
	uint64_t cnt = (tcg_reg_get(c, i, R_RCX, asz) - 1) & size_mask(asz);
	bool taken = cnt != 0;

	no_lock(c, i);
	if (i->op == 0xe0)
		taken = taken && !tcg_cond(c, 4);
	else if (i->op == 0xe1)
		taken = taken && tcg_cond(c, 4);
	if (taken)
		tcg_jump(c, rel_target(c, i), branch_osz(c, i));
	tcg_reg_set(c, i, R_RCX, asz, cnt);
}

/* E3: JCXZ/JECXZ/JRCXZ */
static void op_jrcxz(struct tcg_cpu *c, const struct insn *i)
{
	no_lock(c, i);
	if (tcg_reg_get(c, i, R_RCX, i->asz) == 0)
		tcg_jump(c, rel_target(c, i), branch_osz(c, i));
}

/* 0F 90-9F: SETcc r/m8 */
static void op_setcc(struct tcg_cpu *c, const struct insn *i)
{
	no_lock(c, i);
	if (i->mem)
		tcg_st8(c, i->seg, tcg_ea(c, i), tcg_cond(c, i->op & 15));
	else
		tcg_reg_set(c, i, i->rm, 1, tcg_cond(c, i->op & 15));
}

void tcg_register_branch(void)
{
	unsigned op;

	for (op = 0x70; op <= 0x7f; op++)
		tcg_ops[MAP_1B][op] = op_jcc;
	for (op = 0x80; op <= 0x8f; op++)
		tcg_ops[MAP_0F][op] = op_jcc;
	for (op = 0x90; op <= 0x9f; op++)
		tcg_ops[MAP_0F][op] = op_setcc;
	tcg_ops[MAP_1B][0xc2] = op_ret;
	tcg_ops[MAP_1B][0xc3] = op_ret;
	tcg_ops[MAP_1B][0xc8] = op_enter;
	tcg_ops[MAP_1B][0xc9] = op_leave;
	for (op = 0xe0; op <= 0xe2; op++)
		tcg_ops[MAP_1B][op] = op_loop;
	tcg_ops[MAP_1B][0xe3] = op_jrcxz;
	tcg_ops[MAP_1B][0xe8] = op_call_rel;
	tcg_ops[MAP_1B][0xe9] = op_jmp_rel;
	tcg_ops[MAP_1B][0xeb] = op_jmp_rel;
}
