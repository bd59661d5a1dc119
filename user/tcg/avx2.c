/*
 * The VEX-only register shuffles of AVX and AVX2 (SDM Vol. 2, each
 * instruction's page): broadcasts, 128-bit inserts and extracts, the
 * lane and element permutes, VPBLENDD and the per-element shifts
 * (VTESTPS/PD are avx-sse.c's, with VPTEST).  Masked moves and gathers
 * are avx2-mem.c's.  Operand
 * names follow the SDM: src1 is VEX.vvvv, src2 the ModRM r/m operand.
 */
#include "tcg/avx2.h"

/* ------------------------------------------------------------------ */
/* Broadcasts                                                          */

/* Fill every size-byte element of d (32 bytes) with the low element of s. */
static void broadcast(struct ymm *d, const struct ymm *s, unsigned size)
{
	uint8_t *db = ymm_b(d);
	for (unsigned k = 0; k < 32; k += size)
		memcpy(db + k, s, size);
}

/* VBROADCASTSS (18), VBROADCASTSD (19, 256 only), VPBROADCASTD/Q (58,
 * 59), VPBROADCASTB/W (78, 79): the element from memory or, with AVX2,
 * from the low element of an XMM register. */
static void vbroadcast_elem(struct tcg_cpu *c, const struct insn *i, unsigned size, unsigned req)
{
	struct ymm s, d;

	vex_require(c, i, VX_66 | VX_W0 | VX_NOV | req);
	vex_rm(c, i, &s, size);
	broadcast(&d, &s, size);
	vex_put(c, i, i->reg, &d);
}

static void vex_38_18(struct tcg_cpu *c, const struct insn *i) { vbroadcast_elem(c, i, 4, 0); }
static void vex_38_19(struct tcg_cpu *c, const struct insn *i) { vbroadcast_elem(c, i, 8, VX_L1); }
static void vex_38_58(struct tcg_cpu *c, const struct insn *i) { vbroadcast_elem(c, i, 4, 0); }
static void vex_38_59(struct tcg_cpu *c, const struct insn *i) { vbroadcast_elem(c, i, 8, 0); }
static void vex_38_78(struct tcg_cpu *c, const struct insn *i) { vbroadcast_elem(c, i, 1, 0); }
static void vex_38_79(struct tcg_cpu *c, const struct insn *i) { vbroadcast_elem(c, i, 2, 0); }

/* VBROADCASTF128 (1A), VBROADCASTI128 (5A): m128 into both halves. */
static void vex_38_1a(struct tcg_cpu *c, const struct insn *i)
{
	struct ymm s, d;

	vex_require(c, i, VX_66 | VX_W0 | VX_L1 | VX_NOV | VX_MEM);
	vex_load(c, i, &s, 16);
	broadcast(&d, &s, 16);
	ymm_set(c, i->reg, &d);
}

/* ------------------------------------------------------------------ */
/* 128-bit halves                                                      */

/* VINSERTF128/I128 (0F3A 18, 38): src1 with the half imm8[0] replaced
 * by xmm/m128. */
static void vex_3a_18(struct tcg_cpu *c, const struct insn *i)
{
	struct ymm d, s;

	vex_require(c, i, VX_66 | VX_W0 | VX_L1);
	vex_rm(c, i, &s, 16);
	ymm_get(c, i->vvvv, &d);
	if (i->imm & 1)
		d.hi = s.lo;
	else
		d.lo = s.lo;
	ymm_set(c, i->reg, &d);
}

/* VEXTRACTF128/I128 (0F3A 19, 39): half imm8[0] of the reg operand into
 * xmm/m128 (a register destination is a VEX.128 write). */
static void vex_3a_19(struct tcg_cpu *c, const struct insn *i)
{
	struct ymm s;

	vex_require(c, i, VX_66 | VX_W0 | VX_L1 | VX_NOV);
	ymm_get(c, i->reg, &s);
	const union xmm *half = (i->imm & 1) ? &s.hi : &s.lo;
	if (i->mem)
		tcg_st_bytes(c, i->seg, tcg_ea(c, i), half, 16);
	else
		vex_set128(c, i->rm, half);
}

/* VPERM2F128/I128 (0F3A 06, 46): each half of the result is one of the
 * four halves of src1:src2 (imm8 bits 1:0, 5:4) or zero (bits 3, 7). */
static void vex_3a_06(struct tcg_cpu *c, const struct insn *i)
{
	struct ymm s1, s2, d;

	vex_require(c, i, VX_66 | VX_W0 | VX_L1);
	vex_rm(c, i, &s2, 32);
	ymm_get(c, i->vvvv, &s1);
	const union xmm *halves[4] = { &s1.lo, &s1.hi, &s2.lo, &s2.hi };
	unsigned imm = (unsigned)i->imm;
	d.lo = *halves[imm & 3];
	d.hi = *halves[(imm >> 4) & 3];
	if (imm & 0x08)
		memset(&d.lo, 0, 16);
	if (imm & 0x80)
		memset(&d.hi, 0, 16);
	ymm_set(c, i->reg, &d);
}

/* ------------------------------------------------------------------ */
/* Element permutes                                                    */

/* VPERMILPS (0F38 0C: control from src2; 0F3A 04: from imm8): each
 * dword picks a dword of its own 128-bit lane. */
static void permilps(struct ymm *d, const struct ymm *s, const uint32_t sel[8], unsigned n)
{
	const uint32_t *sd = (const uint32_t *)(const void *)s;
	uint32_t *dd = ymm_d(d);
	for (unsigned k = 0; k < n; k++)
		dd[k] = sd[(k & ~3u) + (sel[k] & 3)];
}

/* VPERMILPD (0F38 0D: bit 1 of each control qword; 0F3A 05: imm8 bit k
 * for element k): each qword picks one of its lane. */
static void permilpd(struct ymm *d, const struct ymm *s, const unsigned sel[4], unsigned n)
{
	const uint64_t *sq = (const uint64_t *)(const void *)s;
	uint64_t *dq = ymm_q(d);
	for (unsigned k = 0; k < n; k++)
		dq[k] = sq[(k & ~1u) + (sel[k] & 1)];
}

static void vex_38_0c(struct tcg_cpu *c, const struct insn *i)
{
	struct ymm s1, ctl, d;

	vex_require(c, i, VX_66 | VX_W0);
	vex_rm(c, i, &ctl, vex_bytes(i));
	ymm_get(c, i->vvvv, &s1);
	memset(&d, 0, sizeof(d));
	permilps(&d, &s1, ymm_d(&ctl), vex_bytes(i) / 4);
	vex_put(c, i, i->reg, &d);
}

static void vex_38_0d(struct tcg_cpu *c, const struct insn *i)
{
	struct ymm s1, ctl, d;
	unsigned sel[4];

	vex_require(c, i, VX_66 | VX_W0);
	vex_rm(c, i, &ctl, vex_bytes(i));
	ymm_get(c, i->vvvv, &s1);
	for (unsigned k = 0; k < 4; k++)
		sel[k] = (unsigned)(ymm_q(&ctl)[k] >> 1);
	memset(&d, 0, sizeof(d));
	permilpd(&d, &s1, sel, vex_bytes(i) / 8);
	vex_put(c, i, i->reg, &d);
}

static void vex_3a_04(struct tcg_cpu *c, const struct insn *i)
{
	struct ymm s, d;
	uint32_t sel[8];

	vex_require(c, i, VX_66 | VX_W0 | VX_NOV);
	vex_rm(c, i, &s, vex_bytes(i));
	for (unsigned k = 0; k < 8; k++)
		sel[k] = (uint32_t)(i->imm >> (2 * (k & 3)));
	memset(&d, 0, sizeof(d));
	permilps(&d, &s, sel, vex_bytes(i) / 4);
	vex_put(c, i, i->reg, &d);
}

static void vex_3a_05(struct tcg_cpu *c, const struct insn *i)
{
	struct ymm s, d;
	unsigned sel[4];

	vex_require(c, i, VX_66 | VX_W0 | VX_NOV);
	vex_rm(c, i, &s, vex_bytes(i));
	for (unsigned k = 0; k < 4; k++)
		sel[k] = (unsigned)(i->imm >> k);
	memset(&d, 0, sizeof(d));
	permilpd(&d, &s, sel, vex_bytes(i) / 8);
	vex_put(c, i, i->reg, &d);
}

/* VPERMD/VPERMPS (0F38 36, 16): dword k = src2's dword src1[k] & 7. */
static void vex_38_36(struct tcg_cpu *c, const struct insn *i)
{
	struct ymm idx, s, d;

	vex_require(c, i, VX_66 | VX_W0 | VX_L1);
	vex_rm(c, i, &s, 32);
	ymm_get(c, i->vvvv, &idx);
	for (unsigned k = 0; k < 8; k++)
		ymm_d(&d)[k] = ymm_d(&s)[ymm_d(&idx)[k] & 7];
	ymm_set(c, i->reg, &d);
}

/* VPERMQ/VPERMPD (0F3A 00, 01): qword k = src's qword imm8[2k+1:2k].
 * The SDM encodes them with W1, but lists no #UD for W0, and the
 * processor runs W0 the same way (checked on an AVX2 host). */
static void vex_3a_00(struct tcg_cpu *c, const struct insn *i)
{
	struct ymm s, d;

	vex_require(c, i, VX_66 | VX_L1 | VX_NOV);
	vex_rm(c, i, &s, 32);
	for (unsigned k = 0; k < 4; k++)
		ymm_q(&d)[k] = ymm_q(&s)[(i->imm >> (2 * k)) & 3];
	ymm_set(c, i->reg, &d);
}

/* VPBLENDD (0F3A 02): dword k from src2 where imm8 bit k is set, else
 * from src1. */
static void vex_3a_02(struct tcg_cpu *c, const struct insn *i)
{
	struct ymm s1, s2;

	vex_require(c, i, VX_66 | VX_W0);
	vex_rm(c, i, &s2, vex_bytes(i));
	ymm_get(c, i->vvvv, &s1);
	for (unsigned k = 0; k < 8; k++)
		if ((i->imm >> k) & 1)
			ymm_d(&s1)[k] = ymm_d(&s2)[k];
	vex_put(c, i, i->reg, &s1);
}

/* ------------------------------------------------------------------ */
/* Per-element shifts: VPSRLVD/Q (45), VPSRAVD (46), VPSLLVD/Q (47).    */
/* Each element of src1 shifts by the unsigned count in the same        */
/* element of src2; counts beyond the width give 0 (sign bits for SRA). */

enum { SHV_SRL, SHV_SRA, SHV_SLL };

static uint64_t shift_elem(unsigned kind, uint64_t v, uint64_t count, unsigned bits)
{
	if (kind == SHV_SRA) {
		int64_t sv = bits == 32 ? (int32_t)v : (int64_t)v;
		return (uint64_t)(sv >> (count >= bits ? bits - 1 : count));
	}
	if (count >= bits)
		return 0;
	return kind == SHV_SLL ? v << count : v >> count;
}

static void shift_var(struct tcg_cpu *c, const struct insn *i, unsigned kind)
{
	struct ymm s1, s2, d;

	vex_require(c, i, VX_66 | (kind == SHV_SRA ? VX_W0 : 0));
	vex_rm(c, i, &s2, vex_bytes(i));
	ymm_get(c, i->vvvv, &s1);
	if (i->vex_w) {
		for (unsigned k = 0; k < 4; k++)
			ymm_q(&d)[k] = shift_elem(kind, ymm_q(&s1)[k], ymm_q(&s2)[k], 64);
	} else {
		for (unsigned k = 0; k < 8; k++)
			ymm_d(&d)[k] = (uint32_t)shift_elem(kind, ymm_d(&s1)[k], ymm_d(&s2)[k], 32);
	}
	vex_put(c, i, i->reg, &d);
}

static void vex_38_45(struct tcg_cpu *c, const struct insn *i) { shift_var(c, i, SHV_SRL); }
static void vex_38_46(struct tcg_cpu *c, const struct insn *i) { shift_var(c, i, SHV_SRA); }
static void vex_38_47(struct tcg_cpu *c, const struct insn *i) { shift_var(c, i, SHV_SLL); }

void tcg_register_avx2(void)
{
	tcg_handler *m38 = tcg_vex_ops[MAP_0F38], *m3a = tcg_vex_ops[MAP_0F3A];

	m38[0x0c] = vex_38_0c;
	m38[0x0d] = vex_38_0d;
	m38[0x16] = vex_38_36;  /* VPERMPS */
	m38[0x18] = vex_38_18;
	m38[0x19] = vex_38_19;
	m38[0x1a] = vex_38_1a;  /* VBROADCASTF128 */
	m38[0x36] = vex_38_36;  /* VPERMD */
	m38[0x45] = vex_38_45;
	m38[0x46] = vex_38_46;
	m38[0x47] = vex_38_47;
	m38[0x58] = vex_38_58;
	m38[0x59] = vex_38_59;
	m38[0x5a] = vex_38_1a;  /* VBROADCASTI128 */
	m38[0x78] = vex_38_78;
	m38[0x79] = vex_38_79;
	m3a[0x00] = vex_3a_00;  /* VPERMQ */
	m3a[0x01] = vex_3a_00;  /* VPERMPD */
	m3a[0x02] = vex_3a_02;
	m3a[0x04] = vex_3a_04;
	m3a[0x05] = vex_3a_05;
	m3a[0x06] = vex_3a_06;  /* VPERM2F128 */
	m3a[0x18] = vex_3a_18;  /* VINSERTF128 */
	m3a[0x19] = vex_3a_19;  /* VEXTRACTF128 */
	m3a[0x38] = vex_3a_18;  /* VINSERTI128 */
	m3a[0x39] = vex_3a_19;  /* VEXTRACTI128 */
	m3a[0x46] = vex_3a_06;  /* VPERM2I128 */
}
