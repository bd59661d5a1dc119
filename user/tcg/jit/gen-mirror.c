/*
 * Instructions translated into themselves: a guest instruction with a
 * ModRM operand runs as the same host instruction, its register operand
 * in rcx and its r/m operand either the guest register's slot in
 * struct tcg_cpu or the guest memory's host address (rsi) after the
 * inline TLB check.  The host instruction computes the result and the
 * flags exactly as the guest's would, LOCK included (a host LOCK on the
 * host address is the guest's atomic operation).
 *
 * What needs care: a 32-bit write to a register zero-extends it (SDM
 * Vol. 1, 3.4.1.1), which the memory form of the host instruction does
 * not do, so the upper half is cleared after; AH-BH are the second byte
 * of the slot; implicit operands (MUL, CMPXCHG) go through rax and rdx.
 */
#include "tcg/jit/gen.h"

/* The r/m operand: memory through the TLB (host address in rsi), or the
 * guest register's slot. */
static unsigned rm_index(const struct insn *i)
{
	return i->has_modrm ? i->rm : R_RAX;    /* the accumulator forms */
}

static struct hrm rm_operand(struct tr *t, unsigned size)
{
	if (t->i->mem)
		return rm_mem(H_RSI, 0);
	return tr_greg(t, rm_index(t->i), size);
}

static void store_reg_result(struct tr *t, unsigned r, unsigned size, int hreg)
{
	/* 32-bit results zero-extend: the host register already is */
	emit_store(&t->e, size == 4 ? 8 : size, tr_greg(t, r, size), hreg);
}

static void zero_upper_rm(struct tr *t, const struct mirror *m)
{
	if (m->m_write && !t->i->mem && m->size == 4) {
		struct hrm hi = tr_greg(t, rm_index(t->i), 4);
		if (!hi.mem)
			return;         /* held in a host register: zero-extended */
		hi.m.disp += 4;
		uint8_t op = 0xc7;
		emit_op(&t->e, 4, false, &op, 1, 0, hi, 0, 4);
	}
}

bool gen_mirror(struct tr *t, const struct mirror *m)
{
	const struct insn *i = t->i;
	struct emit *e = &t->e;
	tr_flags_for_native(t, m->freads, m->fwrites);
	if (i->mem) {
		if (!tr_mem_operand(t, m->msize, m->m_write ? ACC_WRITE : ACC_READ))
			return false;
		tr_mem_done(t);
	}
	bool reg_used = m->r_read || m->r_write;
	/* a register operand held in a host register is used in place; else
	 * it goes through rcx, or rdx when CL is the count (SHLD, SHRD) */
	int scratch = m->cl_count ? H_RDX : H_RCX;
	int hreg = scratch;
	if (reg_used) {
		struct hrm g = tr_greg(t, i->reg, m->size);
		if (!g.mem)
			hreg = g.reg;
	}
	/* all 64 bits of a 32-bit operand: BSF and BSR leave the whole
	 * register as it was when the source is 0 */
	if (m->r_read && hreg == scratch)
		emit_load(e, m->size == 4 ? 8 : m->size, scratch, tr_greg(t, i->reg, m->size == 4 ? 8 : m->size));
	if (m->cl_count)
		emit_load(e, 1, H_RCX, tr_greg(t, R_RCX, 1));
	if (m->implicit_ax)
		emit_load(e, 8, H_RAX, tr_greg(t, R_RAX, 8));
	uint8_t op[3];
	unsigned oplen = 0;
	if (m->map == MAP_0F || m->map == MAP_0F38)
		op[oplen++] = 0x0f;
	if (m->map == MAP_0F38)
		op[oplen++] = 0x38;
	op[oplen++] = m->op;
	struct hrm rm = rm_operand(t, m->msize);
	rm.byte8 = m->msize == 1;
	if (m->pfx)
		e8(e, m->pfx);  /* before 66 and REX (emit_op) */
	emit_op(e, m->size, m->lock, op, oplen, reg_used ? (unsigned)hreg : m->group, rm, m->imm,
		m->imm_size);
	if (m->r_write && hreg == scratch)
		store_reg_result(t, i->reg, m->size, scratch);
	zero_upper_rm(t, m);
	if (m->ax_out)
		store_reg_result(t, R_RAX, m->ax_out, H_RAX);
	if (m->dx_out)
		store_reg_result(t, R_RDX, m->dx_out, H_RDX);
	if (m->fmay)
		tr_flags_written(t, FLAGS_ALL);
	return true;
}
