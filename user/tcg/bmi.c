/*
 * BMI1, BMI2 and ADX: the VEX-encoded general-register instructions
 * (ANDN, BEXTR, BLSI, BLSMSK, BLSR, BZHI, MULX, PDEP, PEXT, RORX, SARX,
 * SHLX, SHRX: VEX.0F38 F2 F3 F5 F6 F7, VEX.0F3A F0) and ADCX/ADOX
 * (66/F3 0F 38 F6).  TZCNT (BMI1) is alu.c's op_bitscan.
 *
 * The VEX forms take 32-bit operands, 64-bit with VEX.W in 64-bit mode
 * (i->osz); VEX.vvvv names a general register.  They are not AVX: no
 * CR4.OSXSAVE or XCR0 requirement, no #NM.  Their exceptions (SDM Vol. 2,
 * 2.5.1, table 2-29 "Type 13"): #UD with VEX.L = 1, and in real and
 * virtual-8086 mode, where VEX does not exist.  Flags follow each
 * instruction's "Flags Affected"; where the SDM leaves AF and PF
 * undefined this file writes AF = 0 and PF of the result.
 */
#include "tcg/tcg.h"

static _Noreturn void bmi_ud(struct tcg_cpu *c)
{
	tcg_raise(c, EXC_UD, NO_ERRCODE);
}

static void bmi_check(struct tcg_cpu *c, const struct insn *i)
{
	if (i->vex_l || !tcg_protected(c) || tcg_v86(c))
		bmi_ud(c);
}

static uint64_t vvvv_get(const struct tcg_cpu *c, const struct insn *i)
{
	return c->s.regs[i->vvvv & 15] & size_mask(i->osz);
}

static void vvvv_set(struct tcg_cpu *c, const struct insn *i, uint64_t v)
{
	tcg_reg_set(c, i, i->vvvv & 15, i->osz, v);
}

/* SF and ZF of a result (AF = 0, PF of the result: undefined) */
static uint64_t sz_flags(uint64_t v, unsigned size)
{
	return zsp_flags(v, size);
}

/* ------------------------------------------------------------------ */
/* BMI1                                                                */

/* VEX.NDS.LZ.0F38.W0/1 F2 /r: ANDN r, vvvv, r/m = ~vvvv & r/m.  SF ZF;
 * CF OF cleared (SDM Vol. 2, "ANDN"). */
static void op_andn(struct tcg_cpu *c, const struct insn *i)
{
	if (i->pfx != PFX_NONE)
		bmi_ud(c);
	bmi_check(c, i);
	uint64_t r = ~vvvv_get(c, i) & tcg_rm_get(c, i, i->osz) & size_mask(i->osz);
	tcg_modreg_set(c, i, i->osz, r);
	tcg_set_arith_flags(c, sz_flags(r, i->osz));
}

/* VEX.NDD.LZ.0F38 F3 /1 /2 /3: BLSR, BLSMSK, BLSI vvvv, r/m (SDM Vol. 2,
 * "BLSR", "BLSMSK", "BLSI"): OF cleared; CF says the source is zero
 * (BLSI: is not zero); BLSMSK clears ZF. */
static void op_bls(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->osz;
	uint64_t mask = size_mask(size), s, r, f;

	if (i->pfx != PFX_NONE)
		bmi_ud(c);
	bmi_check(c, i);
	switch (i->reg & 7) {
	case 1: /* BLSR: the lowest set bit cleared */
		s = tcg_rm_get(c, i, size);
		r = s & (s - 1) & mask;
		f = sz_flags(r, size) | (s ? 0 : FL_CF);
		break;
	case 2: /* BLSMSK: up to the lowest set bit */
		s = tcg_rm_get(c, i, size);
		r = (s ^ (s - 1)) & mask;
		f = (sz_flags(r, size) & ~FL_ZF) | (s ? 0 : FL_CF);
		break;
	case 3: /* BLSI: the lowest set bit alone */
		s = tcg_rm_get(c, i, size);
		r = s & -s & mask;
		f = sz_flags(r, size) | (s ? FL_CF : 0);
		break;
	default:
		bmi_ud(c);
	}
	vvvv_set(c, i, r);
	tcg_set_arith_flags(c, f);
}

/* VEX.NDS.LZ.0F38 F7 /r (no prefix): BEXTR r, r/m, vvvv: the field of
 * length vvvv[15:8] at bit vvvv[7:0] of r/m.  ZF; CF OF cleared; SF
 * undefined (SDM Vol. 2, "BEXTR"): this file writes it from the
 * result, which is never negative unless the field reaches the top. */
static uint64_t bextr(uint64_t src, uint64_t ctl, unsigned bits)
{
	unsigned start = ctl & 0xff, len = (ctl >> 8) & 0xff;

	if (start >= bits)
		return 0;
	src >>= start;
	if (len < 64)
		src &= (1ULL << len) - 1;
	return src;
}

/* ------------------------------------------------------------------ */
/* BMI2                                                                */

/* VEX.NDS.LZ.0F38 F5 /r (no prefix): BZHI r, r/m, vvvv: r/m with the
 * bits from index vvvv[7:0] up cleared.  ZF SF; CF when the index is
 * beyond the operand; OF cleared (SDM Vol. 2, "BZHI"). */
static void bzhi(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->osz, bits = size * 8;
	uint64_t src = tcg_rm_get(c, i, size);
	unsigned n = vvvv_get(c, i) & 0xff;
	uint64_t r = n < bits ? src & ((1ULL << n) - 1) : src;

	tcg_modreg_set(c, i, size, r);
	tcg_set_arith_flags(c, sz_flags(r, size) | (n > bits - 1 ? FL_CF : 0));
}

/* PDEP: the low bits of src deposited at the set bits of mask; PEXT:
 * the bits of src at the set bits of mask gathered at the bottom (SDM
 * Vol. 2, "PDEP", "PEXT"). */
static uint64_t pdep(uint64_t src, uint64_t mask)
{
	uint64_t r = 0;

	for (uint64_t k = 1; mask; k <<= 1, mask &= mask - 1)
		if (src & k)
			r |= mask & -mask;
	return r;
}

static uint64_t pext(uint64_t src, uint64_t mask)
{
	uint64_t r = 0;

	for (uint64_t k = 1; mask; k <<= 1, mask &= mask - 1)
		if (src & mask & -mask)
			r |= k;
	return r;
}

/* VEX.NDS.LZ.F2/F3.0F38 F5: PDEP / PEXT r, vvvv, r/m; flags unchanged */
static void op_0f38f5(struct tcg_cpu *c, const struct insn *i)
{
	bmi_check(c, i);
	if (i->pfx == PFX_NONE) {
		bzhi(c, i);
		return;
	}
	if (i->pfx == PFX_66)
		bmi_ud(c);
	uint64_t mask = tcg_rm_get(c, i, i->osz), src = vvvv_get(c, i);
	tcg_modreg_set(c, i, i->osz, i->pfx == PFX_F2 ? pdep(src, mask) : pext(src, mask));
}

/* VEX.NDD.LZ.F2.0F38 F6: MULX r(high), vvvv(low), r/m: rDX * r/m
 * unsigned, flags unchanged; with the same register for both halves it
 * ends up holding the high one (SDM Vol. 2, "MULX"). */
static void op_0f38f6_vex(struct tcg_cpu *c, const struct insn *i)
{
	if (i->pfx != PFX_F2)
		bmi_ud(c);
	bmi_check(c, i);
	uint64_t s = tcg_rm_get(c, i, i->osz), hi, lo;
	if (i->osz == 8) {
		unsigned __int128 p = (unsigned __int128)c->s.regs[2] * s;
		lo = (uint64_t)p;
		hi = (uint64_t)(p >> 64);
	} else {
		uint64_t p = (uint64_t)(uint32_t)c->s.regs[2] * (uint32_t)s;
		lo = (uint32_t)p;
		hi = p >> 32;
	}
	vvvv_set(c, i, lo);
	tcg_modreg_set(c, i, i->osz, hi);
}

/* VEX.0F38 F7: BEXTR (none), SHLX (66), SARX (F3), SHRX (F2) r, r/m,
 * vvvv; the shifts count vvvv modulo the operand width and leave the
 * flags alone (SDM Vol. 2, "SARX/SHLX/SHRX"). */
static void op_0f38f7(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->osz, bits = size * 8;

	bmi_check(c, i);
	uint64_t src = tcg_rm_get(c, i, size), ctl = vvvv_get(c, i), r;
	unsigned n = ctl & (bits - 1);
	switch (i->pfx) {
	case PFX_NONE:
		r = bextr(src, ctl, bits);
		tcg_modreg_set(c, i, size, r);
		tcg_set_arith_flags(c, sz_flags(r, size) & (FL_ZF | FL_PF | FL_SF));
		return;
	case PFX_66:
		r = src << n;
		break;
	case PFX_F3:
		r = (uint64_t)(sext(src, size) >> n);
		break;
	default:
		r = src >> n;
		break;
	}
	tcg_modreg_set(c, i, size, r);
}

/* VEX.LZ.F2.0F3A F0 /r ib: RORX r, r/m, imm8; flags unchanged.  vvvv
 * must be 1111b (SDM Vol. 2, "RORX"). */
static void op_rorx(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->osz, bits = size * 8;

	if (i->pfx != PFX_F2 || i->vvvv)
		bmi_ud(c);
	bmi_check(c, i);
	uint64_t src = tcg_rm_get(c, i, size);
	unsigned n = (unsigned)i->imm & (bits - 1);
	uint64_t r = n ? (src >> n | src << (bits - n)) : src;
	tcg_modreg_set(c, i, size, r & size_mask(size));
}

/* ------------------------------------------------------------------ */
/* ADX: 66 0F 38 F6 ADCX (CF), F3 0F 38 F6 ADOX (OF)                    */

/* r += r/m + carry, where the carry in and out is CF (ADCX) or OF
 * (ADOX), and no other flag changes (SDM Vol. 2, "ADCX", "ADOX").  32-bit
 * operands, 64 with REX.W: 66 is a mandatory prefix here, not an operand
 * size. */
static void op_0f38f6(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->rex & 8 ? 8 : 4;
	uint64_t flag;

	if (i->pfx == PFX_66)
		flag = FL_CF;
	else if (i->pfx == PFX_F3)
		flag = FL_OF;
	else
		bmi_ud(c);
	uint64_t s = tcg_rm_get(c, i, size), d = tcg_modreg_get(c, i, size);
	uint64_t f = tcg_arith_flags(c), carry = (f & flag) ? 1 : 0;
	uint64_t r = (d + s + carry) & size_mask(size);
	bool out = size == 8 ? (r < d || (carry && r == d)) : ((d + s + carry) >> 32) != 0;

	tcg_modreg_set(c, i, size, r);
	tcg_set_arith_flags(c, (f & ~flag) | (out ? flag : 0));
}

void tcg_register_bmi(void)
{
	tcg_vex_ops[MAP_0F38][0xf2] = op_andn;
	tcg_vex_ops[MAP_0F38][0xf3] = op_bls;
	tcg_vex_ops[MAP_0F38][0xf5] = op_0f38f5;
	tcg_vex_ops[MAP_0F38][0xf6] = op_0f38f6_vex;
	tcg_vex_ops[MAP_0F38][0xf7] = op_0f38f7;
	tcg_vex_ops[MAP_0F3A][0xf0] = op_rorx;
	/* after tcg_register_sse, which gives every 0F 38 slot its table */
	tcg_ops[MAP_0F38][0xf6] = op_0f38f6;
}
