/*
 * Which guest instructions run as themselves (gen-mirror.c), and with
 * which operands and flags (SDM Vol. 2 for each instruction; Vol. 1,
 * appendix A for the flags).
 */
#include "tcg/jit/gen.h"

#define F_CF FL_CF
#define F_OF FL_OF
#define F_ZF FL_ZF
#define F_SF FL_SF
#define F_PF FL_PF

unsigned cc_flags(unsigned cc)
{
	static const unsigned f[8] = {
		F_OF, F_CF, F_ZF, F_CF | F_ZF, F_SF, F_PF, F_SF | F_OF, F_ZF | F_SF | F_OF,
	};
	return f[(cc >> 1) & 7];
}

static void set_rm_ops(struct mirror *m, const struct insn *i, unsigned size, bool write)
{
	m->size = (uint8_t)size;
	m->msize = (uint8_t)size;
	m->m_write = write;
	m->map = i->map;
	m->op = i->op;
	m->group = i->reg & 7;
	m->imm = i->imm;
	m->imm_size = i->imm_size;
}

/* 00-3B: op r/m, r; op r, r/m (the low two opcode bits: byte/full,
 * direction). */
static bool alu_rm(struct mirror *m, const struct insn *i)
{
	unsigned aluop = i->op >> 3, form = i->op & 7;
	bool byte = !(form & 1), to_reg = form & 2, cmp = aluop == 7;
	set_rm_ops(m, i, byte ? 1 : i->osz, !to_reg && !cmp);
	m->r_read = true;
	m->r_write = to_reg && !cmp;
	m->fmay = true;
	m->fwrites = FL_ARITH;
	m->freads = (aluop == 2 || aluop == 3) ? F_CF : 0;      /* ADC, SBB */
	m->lock = i->lock && !to_reg && !cmp;
	return true;
}

/* 80, 81, 83: op r/m, imm */
static bool alu_imm(struct mirror *m, const struct insn *i)
{
	unsigned aluop = i->reg & 7;
	set_rm_ops(m, i, i->op == 0x80 ? 1 : i->osz, aluop != 7);
	m->fmay = true;
	m->fwrites = FL_ARITH;
	m->freads = (aluop == 2 || aluop == 3) ? F_CF : 0;
	m->lock = i->lock && aluop != 7;
	return true;
}

/* 04/05, 0C/0D ... 3C/3D and A8/A9: the accumulator with an immediate,
 * run as 80/81 /op (F6/F7 /0 for TEST) on the rAX slot. */
static bool acc_imm(struct mirror *m, const struct insn *i, bool test)
{
	bool byte = !(i->op & 1);
	unsigned aluop = (i->op >> 3) & 7;
	if (i->lock)
		return false;
	set_rm_ops(m, i, byte ? 1 : i->osz, !test && aluop != 7);
	m->op = test ? (byte ? 0xf6 : 0xf7) : (byte ? 0x80 : 0x81);
	m->group = test ? 0 : (uint8_t)aluop;
	m->fmay = true;
	m->fwrites = FL_ARITH;
	m->freads = !test && (aluop == 2 || aluop == 3) ? F_CF : 0;
	return true;
}

/* C0 C1 D0-D3: rotates and shifts (group 2) */
static bool shift(struct mirror *m, const struct insn *i)
{
	unsigned kind = i->reg & 7;
	bool byte = !(i->op & 1);
	set_rm_ops(m, i, byte ? 1 : i->osz, true);
	m->fmay = true;
	if (i->op >= 0xd2) {
		/* count in CL: it may be 0 (flags untouched) */
		m->cl_count = true;
		m->fmaybe = true;
		m->freads = kind == 2 || kind == 3 ? F_CF : 0;  /* RCL RCR */
		return true;
	}
	unsigned count = i->op >= 0xd0 ? 1 : (unsigned)(i->imm & (i->osz == 8 && !byte ? 63 : 31));
	if (count == 0) {
		m->fmay = false;
		return true;
	}
	if (kind >= 4) {                /* SHL SHR SAL SAR */
		m->fwrites = FL_ARITH;
	} else {                        /* rotates: CF and OF (SDM "RCL/RCR/ROL/ROR") */
		m->fwrites = F_CF | F_OF;
		if (kind >= 2)          /* RCL RCR rotate CF in */
			m->freads = F_CF;
	}
	return true;
}

/* F6 F7 (group 3): TEST NOT NEG MUL IMUL; DIV and IDIV stay in the
 * interpreter (a host #DE would be qvm's). */
static bool group3(struct mirror *m, const struct insn *i)
{
	unsigned kind = i->reg & 7;
	bool byte = i->op == 0xf6;
	unsigned size = byte ? 1 : i->osz;
	switch (kind) {
	case 0:
	case 1:
		set_rm_ops(m, i, size, false);
		m->group = 0;
		m->fmay = true;
		m->fwrites = FL_ARITH;
		return !i->lock;
	case 2:
		set_rm_ops(m, i, size, true);
		m->lock = i->lock;
		return true;
	case 3:
		set_rm_ops(m, i, size, true);
		m->lock = i->lock;
		m->fmay = true;
		m->fwrites = FL_ARITH;
		return true;
	case 4:
	case 5:
		if (i->lock)
			return false;
		set_rm_ops(m, i, size, false);
		m->implicit_ax = true;
		m->ax_out = byte ? 2 : (uint8_t)size;
		m->dx_out = byte ? 0 : (uint8_t)size;
		m->fmay = true;
		m->fwrites = FL_ARITH;
		return true;
	}
	return false;
}

/* FE FF /0 /1: INC DEC (CF kept) */
static bool incdec(struct mirror *m, const struct insn *i)
{
	set_rm_ops(m, i, i->op == 0xfe ? 1 : i->osz, true);
	m->lock = i->lock;
	m->fmay = true;
	m->fwrites = FL_ARITH & ~F_CF;
	return true;
}

static bool one_byte(struct mirror *m, const struct tr *t, const struct insn *i)
{
	unsigned op = i->op;
	if (op < 0x40 && (op & 7) < 4)
		return alu_rm(m, i);
	if (op < 0x40 && (op & 7) >= 4 && (op & 7) < 6)
		return acc_imm(m, i, false);
	switch (op) {
	case 0x63:      /* MOVSXD (64-bit mode only: ARPL elsewhere) */
		if (!tr_code64(t) || i->lock)
			return false;
		set_rm_ops(m, i, i->osz, false);
		m->msize = i->osz == 2 ? 2 : 4;
		m->r_write = true;
		return true;
	case 0x69:
	case 0x6b:      /* IMUL r, r/m, imm */
		if (i->lock)
			return false;
		set_rm_ops(m, i, i->osz, false);
		m->r_write = true;
		m->fmay = true;
		m->fwrites = FL_ARITH;
		return true;
	case 0x80:
	case 0x81:
	case 0x83:
		return alu_imm(m, i);
	case 0x84:
	case 0x85:      /* TEST r/m, r */
		if (i->lock)
			return false;
		set_rm_ops(m, i, op == 0x84 ? 1 : i->osz, false);
		m->r_read = true;
		m->fmay = true;
		m->fwrites = FL_ARITH;
		return true;
	case 0x86:
	case 0x87:      /* XCHG r/m, r: a host XCHG with memory is locked, as the guest's */
		set_rm_ops(m, i, op == 0x86 ? 1 : i->osz, true);
		m->r_read = m->r_write = true;
		return true;
	case 0x88:
	case 0x89:
		if (i->lock)
			return false;
		set_rm_ops(m, i, op == 0x88 ? 1 : i->osz, true);
		m->r_read = true;
		return true;
	case 0x8a:
	case 0x8b:
		if (i->lock)
			return false;
		set_rm_ops(m, i, op == 0x8a ? 1 : i->osz, false);
		m->r_write = true;
		return true;
	case 0xa8:
	case 0xa9:
		return acc_imm(m, i, true);
	case 0xc0:
	case 0xc1:
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3:
		return !i->lock && shift(m, i);
	case 0xc6:
	case 0xc7:      /* MOV r/m, imm */
		if (i->lock || (i->reg & 7))
			return false;
		set_rm_ops(m, i, op == 0xc6 ? 1 : i->osz, true);
		return true;
	case 0xf6:
	case 0xf7:
		return group3(m, i);
	case 0xfe:
		return (i->reg & 7) < 2 && incdec(m, i);
	case 0xff:
		return (i->reg & 7) < 2 && incdec(m, i);
	}
	return false;
}

/* 0F BC/BD: BSF BSR r, r/m, and with F3 TZCNT LZCNT, which the
 * interpreter runs whatever CPUID says (op_bitscan): mirrored only on a
 * host that runs them too, not as BSF/BSR (emit.c probes it). */
static bool bitscan(struct mirror *m, const struct insn *i)
{
	if (i->lock || i->pfx == PFX_F2)
		return false;
	if (i->pfx == PFX_F3) {
		if (!(i->op == 0xbc ? emit_host_tzcnt() : emit_host_lzcnt()))
			return false;
	}
	set_rm_ops(m, i, i->osz, false);
	/* BSF/BSR leave the destination as it was for a source of 0 */
	m->r_read = m->r_write = true;
	m->pfx = i->pfx == PFX_F3 ? 0xf3 : 0;
	m->fmay = true;
	m->fwrites = FL_ARITH;
	return true;
}

/* 0F A4/A5 AC/AD: SHLD SHRD r/m, r, imm8/CL (flags untouched for a count
 * of 0, so the CL forms may leave them) */
static bool double_shift(struct mirror *m, const struct insn *i)
{
	if (i->lock)
		return false;
	set_rm_ops(m, i, i->osz, true);
	m->r_read = true;
	m->fmay = true;
	m->fwrites = FL_ARITH;
	if (i->op & 1) {
		m->cl_count = true;
		m->fmaybe = true;
	} else if (!(i->imm & (i->osz == 8 ? 63 : 31))) {
		m->fmay = false;
		m->fwrites = 0;
	}
	return true;
}

/* F3 0F B8: POPCNT r, r/m (ZF; the others cleared), on a host with it */
static bool popcnt(struct mirror *m, const struct insn *i)
{
	if (i->lock || !__builtin_cpu_supports("popcnt"))
		return false;
	set_rm_ops(m, i, i->osz, false);
	m->r_write = true;
	m->pfx = 0xf3;
	m->fmay = true;
	m->fwrites = FL_ARITH;
	return true;
}

/* 0F 38 F0/F1: MOVBE r, m / m, r (the register forms are #UD, F2 is
 * CRC32, 66 the 16-bit form: the interpreter's), on a host with it
 * (CPUID.1:ECX[22]) */
static bool movbe(struct mirror *m, const struct insn *i)
{
	if (i->lock || !i->mem || i->pfx != PFX_NONE || (i->op != 0xf0 && i->op != 0xf1) ||
	    !emit_host_movbe())
		return false;
	set_rm_ops(m, i, i->osz, i->op == 0xf1);
	m->r_read = i->op == 0xf1;
	m->r_write = i->op == 0xf0;
	return true;
}

static bool two_byte(struct mirror *m, const struct insn *i)
{
	unsigned op = i->op;
	if (op == 0xbc || op == 0xbd)
		return bitscan(m, i);
	if (op == 0xb8 && i->pfx == PFX_F3)
		return popcnt(m, i);
	if (i->pfx == PFX_F3 || i->pfx == PFX_F2)
		return false;   /* POPCNT ...: other instructions */
	if (op == 0xa4 || op == 0xa5 || op == 0xac || op == 0xad)
		return double_shift(m, i);
	if (op >= 0x40 && op <= 0x4f) {         /* CMOVcc */
		if (i->lock)
			return false;
		set_rm_ops(m, i, i->osz, false);
		m->r_read = m->r_write = true;
		m->freads = cc_flags(op & 15);
		return true;
	}
	if (op >= 0x90 && op <= 0x9f) {         /* SETcc */
		if (i->lock)
			return false;
		set_rm_ops(m, i, 1, true);
		m->group = 0;
		m->freads = cc_flags(op & 15);
		return true;
	}
	switch (op) {
	case 0xaf:      /* IMUL r, r/m */
		if (i->lock)
			return false;
		set_rm_ops(m, i, i->osz, false);
		m->r_read = m->r_write = true;
		m->fmay = true;
		m->fwrites = FL_ARITH;
		return true;
	case 0xb6:
	case 0xb7:
	case 0xbe:
	case 0xbf:      /* MOVZX, MOVSX */
		if (i->lock)
			return false;
		set_rm_ops(m, i, i->osz, false);
		m->msize = (op & 1) ? 2 : 1;
		m->r_write = true;
		return true;
	case 0xba:      /* BT BTS BTR BTC r/m, imm8 (the offset wraps in the operand) */
		if ((i->reg & 7) < 4)
			return false;
		set_rm_ops(m, i, i->osz, (i->reg & 7) != 4);
		m->lock = i->lock && (i->reg & 7) != 4;
		if (i->lock && !m->lock)
			return false;
		m->fmay = true;
		m->fwrites = F_CF;
		return true;
	case 0xc0:
	case 0xc1:      /* XADD r/m, r (not with itself: the sum is written last) */
		if (!i->mem && i->rm == i->reg)
			return false;
		set_rm_ops(m, i, op == 0xc0 ? 1 : i->osz, true);
		m->r_read = m->r_write = true;
		m->lock = i->lock;
		m->fmay = true;
		m->fwrites = FL_ARITH;
		return true;
	case 0xb0:
	case 0xb1:      /* CMPXCHG m, r */
		if (!i->mem)
			return false;
		set_rm_ops(m, i, op == 0xb0 ? 1 : i->osz, true);
		m->r_read = true;
		m->implicit_ax = true;
		m->ax_out = m->size;
		m->lock = i->lock;
		m->fmay = true;
		m->fwrites = FL_ARITH;
		return true;
	}
	return false;
}

bool mirror_of(const struct tr *t, const struct insn *i, struct mirror *m)
{
	memset(m, 0, sizeof(*m));
	if (i->vex)
		return false;
	if (!i->has_modrm && !(i->map == MAP_1B && (i->op < 0x40 || i->op == 0xa8 || i->op == 0xa9)))
		return false;
	bool ok = false;
	if (i->map == MAP_1B)
		ok = one_byte(m, t, i);
	else if (i->map == MAP_0F)
		ok = two_byte(m, i);
	else if (i->map == MAP_0F38)
		ok = movbe(m, i);
	if (!ok)
		return false;
	/* the accumulator forms have no ModRM: their r/m is rAX */
	if (!i->has_modrm)
		return true;
	/* LOCK only on a memory destination of the instructions that take
	 * it; anything else raises #UD in the interpreter */
	if (i->lock && (!m->lock || !i->mem))
		return false;
	return true;
}
