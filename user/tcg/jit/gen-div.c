/*
 * F6/F7 /6 /7: DIV and IDIV as the host instruction, behind a guard: a
 * host #DE would be qvm's, so the fast path runs only when the host
 * instruction cannot fault and everything else takes the slow path,
 * where the interpreter raises the guest's #DE (SDM Vol. 2, "DIV",
 * "IDIV").  The guards:
 *  - DIV: high half < divisor (unsigned), which also rules out 0, makes
 *    the quotient fit;
 *  - IDIV: divisor not 0 nor -1, and the dividend the sign extension of
 *    its low half: then |quotient| <= |low half| fits.  Other dividends
 *    (rare) are the interpreter's.
 * The flags are undefined; the interpreter leaves them as they were, and
 * so does this (saved around the guard's compares when live).
 */
#include "tcg/jit/gen.h"

enum { CC_AE = 3, CC_E = 4, CC_NE = 5 };

/* AX / r/m8: AL = quotient, AH = remainder */
static void div8(struct tr *t, struct hrm divisor, bool sign)
{
	struct emit *e = &t->e;
	struct hrm ax = tr_greg(t, R_RAX, 2);
	divisor.byte8 = true;   /* a held register: its low byte (SPL-DIL need a REX) */
	emit_op2(e, 4, sign ? 0xbe : 0xb6, H_RCX, divisor);     /* movzx/movsx ecx, r/m8 */
	emit_op2(e, 4, 0xb7, H_RAX, ax);                        /* movzx eax, word [ax] */
	if (!sign) {
		emit_op2(e, 4, 0xb6, H_RDX, rm_reg(4));         /* movzx edx, ah */
		emit_op1(e, 4, 0x3b, H_RDX, rm_reg(H_RCX));
		tr_slow_if(t, CC_AE);
	} else {
		emit_op1(e, 4, 0x85, H_RCX, rm_reg(H_RCX));
		tr_slow_if(t, CC_E);
		emit_alu_imm(e, 4, 7, rm_reg(H_RCX), -1);
		tr_slow_if(t, CC_E);
		emit_op2(e, 4, 0xbe, H_RDX, rm_reg(H_RAX));     /* movsx edx, al */
		emit_op1(e, 2, 0x3b, H_RDX, rm_reg(H_RAX));     /* cmp dx, ax */
		tr_slow_if(t, CC_NE);
	}
	emit_op1(e, 1, 0xf6, sign ? 7 : 6, rm_reg(H_RCX));
	emit_store(e, 2, ax, H_RAX);
}

/* rDX:rAX / r/m: rAX = quotient, rDX = remainder */
static void div_wide(struct tr *t, struct hrm divisor, unsigned size, bool sign)
{
	struct emit *e = &t->e;
	emit_load(e, size, H_RCX, divisor);
	emit_load(e, 8, H_RAX, tr_greg(t, R_RAX, 8));
	emit_load(e, 8, H_RDX, tr_greg(t, R_RDX, 8));
	if (!sign) {
		emit_op1(e, size, 0x3b, H_RDX, rm_reg(H_RCX));
		tr_slow_if(t, CC_AE);
	} else {
		emit_op1(e, size, 0x85, H_RCX, rm_reg(H_RCX));
		tr_slow_if(t, CC_E);
		emit_alu_imm(e, size, 7, rm_reg(H_RCX), -1);
		tr_slow_if(t, CC_E);
		/* mov r8, rax; sar r8, bits - 1; cmp r8, rdx; jne slow */
		uint8_t sar = 0xc1;
		emit_op1(e, 8, 0x8b, H_R8, rm_reg(H_RAX));
		emit_op(e, size, false, &sar, 1, 7, rm_reg(H_R8), size * 8 - 1, 1);
		emit_op1(e, size, 0x3b, H_R8, rm_reg(H_RDX));
		tr_slow_if(t, CC_NE);
	}
	emit_op1(e, size, 0xf7, sign ? 7 : 6, rm_reg(H_RCX));
	/* a 32-bit result zero-extends: the host registers already are */
	unsigned st = size == 2 ? 2 : 8;
	emit_store(e, st, tr_greg(t, R_RAX, 8), H_RAX);
	emit_store(e, st, tr_greg(t, R_RDX, 8), H_RDX);
}

static bool gen_div(struct tr *t)
{
	const struct insn *i = t->i;
	bool byte = i->op == 0xf6, sign = (i->reg & 7) == 7;
	unsigned size = byte ? 1 : i->osz;
	struct hrm divisor;
	if (i->mem) {
		if (!tr_mem_operand(t, size, ACC_READ))
			return false;
		divisor = rm_mem(H_RSI, 0);
	} else {
		tr_save_flags(t);
		divisor = tr_greg(t, i->rm, size);
	}
	if (byte)
		div8(t, divisor, sign);
	else
		div_wide(t, divisor, size, sign);
	tr_mem_done(t);         /* the flags back, if saved */
	return true;
}

bool jit_classify_div(const struct tr *t, const struct insn *i, struct gen_info *gi)
{
	(void)t;
	if (i->map != MAP_1B || (i->op != 0xf6 && i->op != 0xf7) || (i->reg & 7) < 6 || i->lock)
		return false;
	gi->gen = gen_div;
	gi->freads = 0;
	gi->fwrites = 0;
	return true;
}
