/*
 * Lazy arithmetic flags.  A flag-setting instruction records its kind
 * (c->cc_op), operand size and operands with tcg_set_cc(); the six
 * arithmetic flags (CF PF AF ZF SF OF) are computed from them only when an
 * instruction reads them (Jcc, SETcc, CMOVcc, ADC, PUSHF ...).  Most
 * readers are conditional branches after CMP/SUB/TEST/ADD, so tcg_cond()
 * computes only the flags its condition needs.
 *
 * Operands kept per cc_op (all values masked to cc_size bytes):
 *   ADD, ADC   cc_dst result, cc_src the second operand, cc_src2 the carry in
 *   SUB, SBB   cc_dst result, cc_src the second operand, cc_src2 the borrow in
 *   LOGIC      cc_dst result
 *   INC, DEC   cc_dst result, cc_src2 the CF before (INC/DEC keep CF)
 *   SHL, SHR,  cc_dst result, cc_src the value shifted by count - 1,
 *   SAR        cc_src2 the operand before the shift
 *   MUL        cc_dst the low half, cc_src nonzero if the high half counts
 *   EFLAGS     cc_src the six flags themselves
 */
#include "tcg.h"

/* AF: the carry or borrow out of bit 3, a ^ b ^ result (SDM Vol. 1, 3.4.3.1). */
static inline uint64_t aux_flag(uint64_t a, uint64_t b, uint64_t dst)
{
	return (a ^ b ^ dst) & 0x10;
}

static uint64_t add_flags(const struct tcg_cpu *c, bool carry_in)
{
	unsigned size = c->cc_size;
	uint64_t mask = size_mask(size);
	uint64_t dst = c->cc_dst & mask, b = c->cc_src & mask;
	uint64_t a = (dst - b - carry_in) & mask;
	uint64_t f = zsp_flags(dst, size) | aux_flag(a, b, dst);

	if (carry_in ? dst <= a : dst < a)
		f |= FL_CF;
	if ((~(a ^ b) & (a ^ dst)) & sign_bit(size))
		f |= FL_OF;
	return f;
}

static uint64_t sub_flags(const struct tcg_cpu *c, bool borrow_in)
{
	unsigned size = c->cc_size;
	uint64_t mask = size_mask(size);
	uint64_t dst = c->cc_dst & mask, b = c->cc_src & mask;
	uint64_t a = (dst + b + borrow_in) & mask;
	uint64_t f = zsp_flags(dst, size) | aux_flag(a, b, dst);

	if (borrow_in ? a <= b : a < b)
		f |= FL_CF;
	if (((a ^ b) & (a ^ dst)) & sign_bit(size))
		f |= FL_OF;
	return f;
}

static uint64_t incdec_flags(const struct tcg_cpu *c, bool inc)
{
	unsigned size = c->cc_size;
	uint64_t dst = c->cc_dst & size_mask(size);
	uint64_t f = zsp_flags(dst, size) | (c->cc_src2 ? FL_CF : 0);

	if (inc) {
		if ((dst & 0xf) == 0)
			f |= FL_AF;
		if (dst == sign_bit(size))
			f |= FL_OF;
	} else {
		if ((dst & 0xf) == 0xf)
			f |= FL_AF;
		if (dst == sign_bit(size) - 1)
			f |= FL_OF;
	}
	return f;
}

/*
 * Shifts (SDM Vol. 2, "SAL/SAR/SHL/SHR"): CF is the last bit shifted out;
 * OF is defined for a count of 1 only.  Intel CPUs compute OF for every
 * count as for the first one-bit step, from the operand before the shift
 * (checked on the host): SHL: its two top bits differ; SHR: its MSB; SAR:
 * 0.  AF is undefined and reads 0 there.
 */
static uint64_t shift_flags(const struct tcg_cpu *c)
{
	unsigned size = c->cc_size;
	uint64_t dst = c->cc_dst & size_mask(size);
	uint64_t src = c->cc_src & size_mask(size);
	uint64_t orig = c->cc_src2;
	uint64_t f = zsp_flags(dst, size);

	switch (c->cc_op) {
	case CC_OP_SHL:
		if (src & sign_bit(size))
			f |= FL_CF;
		if ((orig ^ (orig << 1)) & sign_bit(size))
			f |= FL_OF;
		break;
	case CC_OP_SHR:
		if (src & 1)
			f |= FL_CF;
		if (orig & sign_bit(size))
			f |= FL_OF;
		break;
	default: /* SAR */
		if (src & 1)
			f |= FL_CF;
		break;
	}
	return f;
}

uint64_t tcg_arith_flags(struct tcg_cpu *c)
{
	switch (c->cc_op) {
	case CC_OP_ADD:
		return add_flags(c, false);
	case CC_OP_ADC:
		return add_flags(c, c->cc_src2 & 1);
	case CC_OP_SUB:
		return sub_flags(c, false);
	case CC_OP_SBB:
		return sub_flags(c, c->cc_src2 & 1);
	case CC_OP_LOGIC:
		return zsp_flags(c->cc_dst, c->cc_size);
	case CC_OP_INC:
		return incdec_flags(c, true);
	case CC_OP_DEC:
		return incdec_flags(c, false);
	case CC_OP_SHL:
	case CC_OP_SHR:
	case CC_OP_SAR:
		return shift_flags(c);
	case CC_OP_MUL:
		/* CF = OF = the high half is significant; the rest is
		 * undefined: Intel CPUs give SF and PF of the low half, ZF
		 * and AF 0 (checked on the host). */
		return (zsp_flags(c->cc_dst, c->cc_size) & ~(uint64_t)FL_ZF) |
		       (c->cc_src ? FL_CF | FL_OF : 0);
	default:
		return c->cc_src & FL_ARITH;
	}
}

void tcg_set_arith_flags(struct tcg_cpu *c, uint64_t f)
{
	c->cc_op = CC_OP_EFLAGS;
	c->cc_size = 4;
	c->cc_src = f & FL_ARITH;
	c->cc_dst = 0;
	c->cc_src2 = 0;
}

bool tcg_cf(struct tcg_cpu *c)
{
	uint64_t mask = size_mask(c->cc_size);
	uint64_t dst = c->cc_dst & mask, src = c->cc_src & mask;

	switch (c->cc_op) {
	case CC_OP_ADD:
		return dst < src;
	case CC_OP_SUB:
		return ((dst + src) & mask) < src;
	case CC_OP_LOGIC:
		return false;
	case CC_OP_SHR:
	case CC_OP_SAR:
		return src & 1;
	case CC_OP_INC:
	case CC_OP_DEC:
		return c->cc_src2 != 0;
	case CC_OP_EFLAGS:
		return c->cc_src & FL_CF;
	default:
		return tcg_arith_flags(c) & FL_CF;
	}
}

/* Conditions after SUB/CMP, from the operands directly. */
static bool sub_cond(const struct tcg_cpu *c, unsigned cc)
{
	unsigned size = c->cc_size;
	uint64_t mask = size_mask(size);
	uint64_t b = c->cc_src & mask;
	uint64_t a = (c->cc_dst + b) & mask;
	int64_t sa = sext(a, size), sb = sext(b, size);

	switch (cc >> 1) {
	case 1: return a < b;                           /* B */
	case 2: return a == b;                          /* Z */
	case 3: return a <= b;                          /* BE */
	case 4: return c->cc_dst & sign_bit(size);      /* S */
	case 6: return sa < sb;                         /* L */
	case 7: return sa <= sb;                        /* LE */
	default: return tcg_arith_flags((struct tcg_cpu *)c) &
			(cc >> 1 ? FL_PF : FL_OF);
	}
}

/* Conditions after AND/OR/XOR/TEST: CF = OF = 0. */
static bool logic_cond(const struct tcg_cpu *c, unsigned cc)
{
	unsigned size = c->cc_size;
	uint64_t dst = c->cc_dst & size_mask(size);
	bool sf = dst & sign_bit(size);

	switch (cc >> 1) {
	case 0: return false;                           /* O */
	case 1: return false;                           /* B */
	case 2: return dst == 0;                        /* Z */
	case 3: return dst == 0;                        /* BE */
	case 4: return sf;                              /* S */
	case 5: return parity_flag(dst);                /* P */
	case 6: return sf;                              /* L: SF != OF */
	default: return sf || dst == 0;                 /* LE */
	}
}

static bool flags_cond(uint64_t f, unsigned cc)
{
	bool sf_ne_of = !(f & FL_SF) != !(f & FL_OF);

	switch (cc >> 1) {
	case 0: return f & FL_OF;
	case 1: return f & FL_CF;
	case 2: return f & FL_ZF;
	case 3: return f & (FL_CF | FL_ZF);
	case 4: return f & FL_SF;
	case 5: return f & FL_PF;
	case 6: return sf_ne_of;
	default: return sf_ne_of || (f & FL_ZF);
	}
}

/* Jcc/SETcc/CMOVcc condition cc (SDM Vol. 1, appendix B). */
bool tcg_cond(struct tcg_cpu *c, unsigned cc)
{
	bool r;

	cc &= 15;
	switch (c->cc_op) {
	case CC_OP_SUB:
		r = sub_cond(c, cc);
		break;
	case CC_OP_LOGIC:
		r = logic_cond(c, cc);
		break;
	case CC_OP_ADD:
	case CC_OP_INC:
	case CC_OP_DEC:
		if ((cc >> 1) == 2) {
			r = !(c->cc_dst & size_mask(c->cc_size));
			break;
		}
		if ((cc >> 1) == 4) {
			r = c->cc_dst & sign_bit(c->cc_size);
			break;
		}
		/* fall through */
	default:
		r = flags_cond(tcg_arith_flags(c), cc);
		break;
	}
	return r ^ (cc & 1);
}

uint64_t tcg_rflags(struct tcg_cpu *c)
{
	return (c->s.rflags & ~(uint64_t)FL_ARITH) | 2 | tcg_arith_flags(c);
}

void tcg_set_rflags(struct tcg_cpu *c, uint64_t v, uint64_t mask)
{
	uint64_t arith = mask & FL_ARITH;
	uint64_t other = mask & ~(uint64_t)FL_ARITH;

	if (arith) {
		uint64_t f = tcg_arith_flags(c);

		tcg_set_arith_flags(c, (f & ~arith) | (v & arith));
	}
	c->s.rflags = (c->s.rflags & ~other) | (v & other);
	c->s.rflags = (c->s.rflags & ~(uint64_t)FL_ARITH) | 2;
}
