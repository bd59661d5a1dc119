/*
 * What alu.c and fast.c share: flag records, the eight ALU operations
 * and the SHL/SHR/SAR shifts, as inline functions, so the specialised
 * handlers of fast.c compute exactly what the generic ones do.
 */
#ifndef QVM_TCG_ALU_H
#define QVM_TCG_ALU_H

#include "tcg.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* ------------------------------------------------------------------ */
/* Flag records: computed by an operation, committed after its store    */

#define CC_KEEP 0xffu

struct cc_rec {
	uint32_t op;    /* enum cc_op, or CC_KEEP: flags unchanged */
	uint64_t dst, src, src2;
};

static inline void cc_put(struct cc_rec *cc, uint32_t op, uint64_t dst,
			  uint64_t src, uint64_t src2)
{
	cc->op = op;
	cc->dst = dst;
	cc->src = src;
	cc->src2 = src2;
}

static inline void cc_commit(struct tcg_cpu *c, const struct cc_rec *cc, unsigned size)
{
	if (cc->op != CC_KEEP)
		tcg_set_cc(c, cc->op, size, cc->dst, cc->src, cc->src2);
}

/* ------------------------------------------------------------------ */
/* ADD OR ADC SBB AND SUB XOR CMP: bits 5:3 of opcodes 00-3F, and
 * modrm.reg of group 1 (SDM Vol. 2, appendix A.3)                     */

enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };

static ALWAYS_INLINE uint64_t alu_calc(struct tcg_cpu *c, struct cc_rec *cc, unsigned size,
				       uint64_t a, uint64_t b, unsigned op)
{
	uint64_t mask = size_mask(size), r, carry;

	a &= mask;
	b &= mask;
	switch (op) {
	case ALU_ADD:
		r = (a + b) & mask;
		cc_put(cc, CC_OP_ADD, r, b, 0);
		return r;
	case ALU_OR:
		r = a | b;
		break;
	case ALU_ADC:
		carry = tcg_cf(c);
		r = (a + b + carry) & mask;
		cc_put(cc, CC_OP_ADC, r, b, carry);
		return r;
	case ALU_SBB:
		carry = tcg_cf(c);
		r = (a - b - carry) & mask;
		cc_put(cc, CC_OP_SBB, r, b, carry);
		return r;
	case ALU_AND:
		r = a & b;
		break;
	case ALU_XOR:
		r = a ^ b;
		break;
	default: /* SUB, CMP */
		r = (a - b) & mask;
		cc_put(cc, CC_OP_SUB, r, b, 0);
		return r;
	}
	cc_put(cc, CC_OP_LOGIC, r, 0, 0);
	return r;
}

/* TEST: the flags of a AND b. */
static inline void test_calc(struct tcg_cpu *c, unsigned size, uint64_t a, uint64_t b)
{
	tcg_set_cc(c, CC_OP_LOGIC, size, a & b & size_mask(size), 0, 0);
}

/* ------------------------------------------------------------------ */
/* Shifts: modrm.reg of C0 C1 D0-D3                                    */

enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };

/* SHL/SAL, SHR, SAR of v (already masked to size) by count (masked and
 * nonzero). */
static ALWAYS_INLINE uint64_t shift_calc(struct cc_rec *cc, unsigned size, uint64_t v,
					 unsigned count, unsigned kind)
{
	uint64_t mask = size_mask(size), r;
	int64_t sv;

	switch (kind) {
	case SH_SHR:
		r = v >> count;
		cc_put(cc, CC_OP_SHR, r, v >> (count - 1), v);
		return r;
	case SH_SAR:
		sv = sext(v, size);
		r = (uint64_t)(sv >> count) & mask;
		cc_put(cc, CC_OP_SAR, r, (uint64_t)(sv >> (count - 1)) & mask, v);
		return r;
	default: /* SHL, SAL */
		r = (v << count) & mask;
		cc_put(cc, CC_OP_SHL, r, (v << (count - 1)) & mask, v);
		return r;
	}
}

#endif
