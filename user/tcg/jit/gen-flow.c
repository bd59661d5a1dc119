/*
 * Generators for the instructions without a ModRM mirror: near jumps,
 * calls and returns, the stack, LEA, moves of immediates and the small
 * accumulator instructions -- and jit_classify, which picks a generator
 * for each instruction of a block (or none: the interpreter's handler).
 *
 * Near branches are 64-bit in 64-bit mode whatever 66 says (Intel, as
 * the interpreter: branch.c); elsewhere the target is truncated to the
 * operand size and checked against CS's limit, which the block key
 * fixes, so both checks of a direct target happen here at translation.
 */
#include "tcg/jit/gen.h"

static bool gen_mirror_insn(struct tr *t)
{
	struct mirror m;
	return mirror_of(t, t->i, &m) && gen_mirror(t, &m);
}

/* ------------------------------------------------------------------ */
/* Branches                                                            */

static unsigned branch_osz(const struct tr *t)
{
	return tr_code64(t) ? 8 : t->i->osz;
}

static bool rel_target(const struct tr *t, uint64_t *target)
{
	if (t->i->lock)
		return false;
	uint64_t v = t->next_rip + (uint64_t)tcg_simm(t->i);
	if (!tr_code64(t))
		v &= size_mask(t->i->osz);
	*target = v;
	return tr_target_ok(t, v);
}

static bool gen_jcc(struct tr *t)
{
	uint64_t target;
	if (!rel_target(t, &target))
		return false;
	tr_exit_cond(t, t->i->op & 15, target);
	t->ended = true;
	return true;
}

static bool gen_jmp(struct tr *t)
{
	uint64_t target;
	if (!rel_target(t, &target))
		return false;
	tr_exit_direct(t, target);
	t->ended = true;
	return true;
}

/* A return or indirect target in host register r: #GP unless canonical
 * (64-bit) or within CS's limit; the interpreter raises it. */
static void check_target(struct tr *t, int r)
{
	struct emit *e = &t->e;
	if (tr_code64(t)) {
		/* mov rax, r; shl rax, 16; sar rax, 16; cmp rax, r; jne slow */
		emit_op1(e, 8, 0x8b, H_RAX, rm_reg(r));
		uint8_t sh = 0xc1;
		emit_op(e, 8, false, &sh, 1, 4, rm_reg(H_RAX), 16, 1);
		emit_op(e, 8, false, &sh, 1, 7, rm_reg(H_RAX), 16, 1);
		emit_op1(e, 8, 0x3b, H_RAX, rm_reg(r));
		tr_slow_if(t, 5);
	} else if (t->b->cs_limit != 0xffffffff) {
		emit_alu_imm(e, 4, 7, rm_reg(r), (int32_t)t->b->cs_limit);
		tr_slow_if(t, 7);       /* ja */
	}
}

/* rsi = the stack pointer + delta at width w, rdi = the same (the new rSP
 * of a push); the flags kept if needed. */
static void stack_addr(struct tr *t, unsigned w, int32_t delta, int base_reg)
{
	struct emit *e = &t->e;
	tr_save_flags(t);
	emit_load(e, w, H_RSI, tr_greg(t, base_reg, 8));
	emit_lea(e, w, H_RSI, (struct hmem){ H_RSI, H_NONE, 0, delta });
	emit_op1(e, 8, 0x8b, H_RDI, rm_reg(H_RSI));
}

/* rSP = rdi + delta at width w (a 32-bit one zero-extends: operand.c) */
static void set_sp(struct tr *t, unsigned w, int32_t delta)
{
	if (delta)
		emit_lea(&t->e, w, H_RDI, (struct hmem){ H_RDI, H_NONE, 0, delta });
	emit_store(&t->e, 8, tr_greg(t, R_RSP, 8), H_RDI);
}

static unsigned stack_w(const struct tr *t, unsigned osz)
{
	unsigned w = tr_stack_width(t);
	return w && osz == w && !t->i->lock ? w : 0;
}

static bool gen_call_rel(struct tr *t)
{
	uint64_t target;
	unsigned w = stack_w(t, branch_osz(t));
	if (!w || !rel_target(t, &target))
		return false;
	stack_addr(t, w, -(int32_t)w, R_RSP);
	tr_mem_check(t, w, ACC_WRITE);
	tr_mem_done(t);
	emit_mov_imm(&t->e, H_RCX, t->next_rip);
	emit_store(&t->e, w, rm_mem(H_RSI, 0), H_RCX);
	set_sp(t, w, 0);
	tr_exit_direct(t, target);
	t->ended = true;
	return true;
}

static bool gen_ret(struct tr *t)
{
	unsigned w = stack_w(t, branch_osz(t));
	if (!w)
		return false;
	stack_addr(t, w, 0, R_RSP);
	tr_mem_check(t, w, ACC_READ);
	emit_load(&t->e, w, H_RCX, rm_mem(H_RSI, 0));
	check_target(t, H_RCX);
	tr_mem_done(t);
	set_sp(t, w, (int32_t)w + (t->i->op == 0xc2 ? (int32_t)(t->i->imm & 0xffff) : 0));
	tr_exit_indirect(t, H_RCX);
	t->ended = true;
	return true;
}

/* FF /2 /4 /6: the operand (register or memory) into r8 */
static bool load_rm_r8(struct tr *t, unsigned size)
{
	if (t->i->mem) {
		if (!tr_mem_operand(t, size, ACC_READ))
			return false;
		emit_load(&t->e, size, H_R8, rm_mem(H_RSI, 0));
	} else {
		tr_save_flags(t);
		emit_load(&t->e, size, H_R8, tr_greg(t, t->i->rm, size));
	}
	return true;
}

static bool gen_call_ind(struct tr *t)
{
	unsigned w = stack_w(t, branch_osz(t));
	if (!w || !load_rm_r8(t, w))
		return false;
	stack_addr(t, w, -(int32_t)w, R_RSP);
	tr_mem_check(t, w, ACC_WRITE);
	check_target(t, H_R8);
	tr_mem_done(t);
	emit_mov_imm(&t->e, H_RCX, t->next_rip);
	emit_store(&t->e, w, rm_mem(H_RSI, 0), H_RCX);
	set_sp(t, w, 0);
	tr_exit_indirect(t, H_R8);
	t->ended = true;
	return true;
}

static bool gen_jmp_ind(struct tr *t)
{
	unsigned size = branch_osz(t);
	if (t->i->lock || (size != 8 && size != 4) || (!tr_code64(t) && size != 4))
		return false;
	if (!load_rm_r8(t, size))
		return false;
	check_target(t, H_R8);
	tr_mem_done(t);
	tr_exit_indirect(t, H_R8);
	t->ended = true;
	return true;
}

static bool gen_push_rm(struct tr *t)
{
	unsigned w = stack_w(t, t->i->osz);
	if (!w || !load_rm_r8(t, w))
		return false;
	stack_addr(t, w, -(int32_t)w, R_RSP);
	tr_mem_check(t, w, ACC_WRITE);
	tr_mem_done(t);
	emit_store(&t->e, w, rm_mem(H_RSI, 0), H_R8);
	set_sp(t, w, 0);
	return true;
}

/* ------------------------------------------------------------------ */
/* The stack                                                           */

static bool push_value(struct tr *t, unsigned w)
{
	stack_addr(t, w, -(int32_t)w, R_RSP);
	tr_mem_check(t, w, ACC_WRITE);
	tr_mem_done(t);
	emit_store(&t->e, w, rm_mem(H_RSI, 0), H_RCX);
	set_sp(t, w, 0);
	return true;
}

static bool gen_push_reg(struct tr *t)
{
	unsigned w = stack_w(t, t->i->osz);
	if (!w)
		return false;
	/* PUSH rSP pushes the value before the push */
	emit_load(&t->e, 8, H_RCX, tr_greg(t, t->i->opreg, 8));
	return push_value(t, w);
}

static bool gen_push_imm(struct tr *t)
{
	unsigned w = stack_w(t, t->i->osz);
	if (!w)
		return false;
	emit_mov_imm(&t->e, H_RCX, (uint64_t)tcg_simm(t->i));
	return push_value(t, w);
}

static bool gen_pop_reg(struct tr *t)
{
	unsigned w = stack_w(t, t->i->osz);
	if (!w)
		return false;
	stack_addr(t, w, 0, R_RSP);
	tr_mem_check(t, w, ACC_READ);
	tr_mem_done(t);
	emit_load(&t->e, w, H_RCX, rm_mem(H_RSI, 0));
	set_sp(t, w, (int32_t)w);
	/* POP rSP: the value read wins over the increment */
	emit_store(&t->e, 8, tr_greg(t, t->i->opreg, 8), H_RCX);
	return true;
}

/* C9: rSP = rBP; pop rBP */
static bool gen_leave(struct tr *t)
{
	unsigned osz = tr_code64(t) ? (t->i->osz == 2 ? 2 : 8) : t->i->osz;
	unsigned w = stack_w(t, osz);
	if (!w)
		return false;
	stack_addr(t, w, 0, R_RBP);
	tr_mem_check(t, w, ACC_READ);
	tr_mem_done(t);
	emit_load(&t->e, w, H_RCX, rm_mem(H_RSI, 0));
	set_sp(t, w, (int32_t)w);
	emit_store(&t->e, 8, tr_greg(t, R_RBP, 8), H_RCX);
	return true;
}

/* ------------------------------------------------------------------ */
/* Moves and small things                                              */

static bool gen_lea(struct tr *t)
{
	const struct insn *i = t->i;
	if (!i->mem || i->lock || i->asz == 2)
		return false;
	tr_ea(t);
	if (i->osz == 4)
		emit_op1(&t->e, 4, 0x89, H_RSI, rm_reg(H_RSI));        /* mov esi, esi */
	emit_store(&t->e, i->osz == 2 ? 2 : 8, tr_greg(t, i->reg, 8), H_RSI);
	return true;
}

static bool gen_mov_imm(struct tr *t)
{
	const struct insn *i = t->i;
	struct emit *e = &t->e;
	uint8_t op = i->op < 0xb8 ? 0xc6 : 0xc7;
	if (i->lock)
		return false;
	if (i->op < 0xb8) {
		emit_op(e, 1, false, &op, 1, 0, tr_greg(t, i->opreg, 1), i->imm, 1);
	} else if (i->osz == 2) {
		emit_op(e, 2, false, &op, 1, 0, tr_greg(t, i->opreg, 2), i->imm, 2);
	} else {
		uint64_t v = i->osz == 4 ? (uint32_t)i->imm : i->imm;
		emit_store_imm64(e, tr_greg(t, i->opreg, 8), v, H_RAX);
	}
	return true;
}

static bool gen_nop(struct tr *t)
{
	return !t->i->lock;
}

/* 90+r with a register: XCHG rAX, r */
static bool gen_xchg_acc(struct tr *t)
{
	const struct insn *i = t->i;
	unsigned size = i->osz, st = size == 4 ? 8 : size;
	if (i->lock)
		return false;
	emit_load(&t->e, size, H_RCX, tr_greg(t, R_RAX, size));
	emit_load(&t->e, size, H_RDX, tr_greg(t, i->opreg, size));
	emit_store(&t->e, st, tr_greg(t, i->opreg, size), H_RCX);
	emit_store(&t->e, st, tr_greg(t, R_RAX, size), H_RDX);
	return true;
}

static void emit_sized(struct emit *e, unsigned osz, uint8_t op)
{
	if (osz == 2)
		e8(e, 0x66);
	else if (osz == 8)
		e8(e, 0x48);
	e8(e, op);
}

/* 98 CBW/CWDE/CDQE, 99 CWD/CDQ/CQO: the host's, on rAX and rDX */
static bool gen_convert(struct tr *t)
{
	const struct insn *i = t->i;
	unsigned st = i->osz == 2 ? 2 : 8;
	if (i->lock)
		return false;
	emit_load(&t->e, 8, H_RAX, tr_greg(t, R_RAX, 8));
	emit_sized(&t->e, i->osz, i->op);
	if (i->op == 0x98)
		emit_store(&t->e, st, tr_greg(t, R_RAX, 8), H_RAX);
	else
		emit_store(&t->e, st, tr_greg(t, R_RDX, 8), H_RDX);
	return true;
}

/* F5 CMC, F8 CLC, F9 STC */
static bool gen_carry(struct tr *t)
{
	if (t->i->lock)
		return false;
	unsigned freads = t->i->op == 0xf5 ? FL_CF : 0;
	tr_flags_for_native(t, freads, FL_CF);
	e8(&t->e, t->i->op);
	tr_flags_written(t, FL_CF);
	return true;
}

/* 0F C8+r BSWAP (16-bit: undefined, the interpreter's) */
static bool gen_bswap(struct tr *t)
{
	const struct insn *i = t->i;
	if (i->lock || i->osz == 2)
		return false;
	emit_load(&t->e, i->osz, H_RCX, tr_greg(t, i->opreg, 8));
	emit_sized(&t->e, i->osz == 8 ? 8 : 4, 0x0f);
	e8(&t->e, 0xc9);
	emit_store(&t->e, 8, tr_greg(t, i->opreg, 8), H_RCX);
	return true;
}

/* ------------------------------------------------------------------ */

static void set_gen(struct gen_info *gi, bool (*gen)(struct tr *), unsigned freads,
		    unsigned fwrites)
{
	gi->gen = gen;
	gi->freads = freads;
	gi->fwrites = fwrites;
	gi->fmaybe = false;
}

static void classify_1b(const struct tr *t, const struct insn *i, struct gen_info *gi)
{
	unsigned op = i->op;
	if (op >= 0x70 && op <= 0x7f) {
		set_gen(gi, gen_jcc, cc_flags(op & 15), 0);
		return;
	}
	if (op >= 0x50 && op <= 0x57) {
		set_gen(gi, gen_push_reg, 0, 0);
		return;
	}
	if (op >= 0x58 && op <= 0x5f) {
		set_gen(gi, gen_pop_reg, 0, 0);
		return;
	}
	if (op >= 0xb0 && op <= 0xbf) {
		set_gen(gi, gen_mov_imm, 0, 0);
		return;
	}
	if (op >= 0x90 && op <= 0x97) {
		bool nop = op == 0x90 && !(i->rex & 1);
		set_gen(gi, nop ? gen_nop : gen_xchg_acc, 0, 0);
		return;
	}
	switch (op) {
	case 0x68:
	case 0x6a:
		set_gen(gi, gen_push_imm, 0, 0);
		break;
	case 0x8d:
		set_gen(gi, gen_lea, 0, 0);
		break;
	case 0x98:
	case 0x99:
		set_gen(gi, gen_convert, 0, 0);
		break;
	case 0xc2:
	case 0xc3:
		set_gen(gi, gen_ret, 0, 0);
		break;
	case 0xc9:
		set_gen(gi, gen_leave, 0, 0);
		break;
	case 0xe8:
		set_gen(gi, gen_call_rel, 0, 0);
		break;
	case 0xe9:
	case 0xeb:
		set_gen(gi, gen_jmp, 0, 0);
		break;
	case 0xf5:
		set_gen(gi, gen_carry, FL_CF, FL_CF);
		break;
	case 0xf8:
	case 0xf9:
		set_gen(gi, gen_carry, 0, FL_CF);
		break;
	case 0xff:
		switch (i->reg & 7) {
		case 2:
			set_gen(gi, gen_call_ind, 0, 0);
			break;
		case 4:
			set_gen(gi, gen_jmp_ind, 0, 0);
			break;
		case 6:
			set_gen(gi, gen_push_rm, 0, 0);
			break;
		}
		break;
	}
	(void)t;
}

static void classify_0f(const struct insn *i, struct gen_info *gi)
{
	unsigned op = i->op;
	if (op >= 0x80 && op <= 0x8f)
		set_gen(gi, gen_jcc, cc_flags(op & 15), 0);
	else if (op >= 0xc8 && op <= 0xcf)
		set_gen(gi, gen_bswap, 0, 0);
	else if (op == 0x0d || (op >= 0x18 && op <= 0x1f))
		set_gen(gi, gen_nop, 0, 0);     /* prefetches, hint NOPs */
}

void jit_classify(const struct tr *t, const struct insn *i, struct gen_info *gi)
{
	struct mirror m;
	set_gen(gi, NULL, 0, 0);
	if (i->vex) {
		jit_classify_vex(t, i, gi);     /* else the interpreter's handler */
		return;
	}
	if (mirror_of(t, i, &m)) {
		set_gen(gi, gen_mirror_insn, m.freads, m.fwrites);
		gi->fmaybe = m.fmaybe;
		return;
	}
	if (jit_classify_sse(t, i, gi) || jit_classify_div(t, i, gi) ||
	    jit_classify_system(t, i, gi))
		return;
	if (i->map == MAP_1B)
		classify_1b(t, i, gi);
	else if (i->map == MAP_0F)
		classify_0f(i, gi);
}

bool jit_gen_is_mirror(const struct gen_info *gi)
{
	return gi->gen == gen_mirror_insn;
}

bool jit_gen_is_lea(const struct gen_info *gi)
{
	return gi->gen == gen_lea;
}

bool jit_gen_is_mov_imm(const struct gen_info *gi)
{
	return gi->gen == gen_mov_imm;
}
