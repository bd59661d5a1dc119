/*
 * x86-64 instruction encoding (SDM Vol. 2, 2.1 and 2.2): prefixes, REX,
 * ModRM, SIB and displacement for the operand forms the JIT uses.
 */
#include <cpuid.h>
#include "tcg/jit/emit.h"

static void emit_modrm_mem(struct emit *e, unsigned reg, const struct hmem *m)
{
	reg &= 7;
	if (m->base == H_NONE) {
		/* [disp32] without base: ModRM rm=100, SIB base=101 index=100 */
		e8(e, (uint8_t)(reg << 3 | 4));
		e8(e, (uint8_t)((m->index == H_NONE ? 4 : (m->index & 7)) << 3 | m->scale << 6 | 5));
		e32(e, (uint32_t)m->disp);
		return;
	}
	unsigned base = m->base & 7;
	unsigned mod;
	/* rbp/r13 as base always take a displacement (mod 00 means rip/disp32) */
	if (m->disp == 0 && base != 5)
		mod = 0;
	else if (m->disp == (int8_t)m->disp)
		mod = 1;
	else
		mod = 2;
	if (m->index == H_NONE && base != 4) {
		e8(e, (uint8_t)(mod << 6 | reg << 3 | base));
	} else {
		/* rsp/r12 as base need a SIB; index 100 means none */
		unsigned index = m->index == H_NONE ? 4 : (m->index & 7);
		e8(e, (uint8_t)(mod << 6 | reg << 3 | 4));
		e8(e, (uint8_t)(m->scale << 6 | index << 3 | base));
	}
	if (mod == 1)
		e8(e, (uint8_t)m->disp);
	else if (mod == 2)
		e32(e, (uint32_t)m->disp);
}

void emit_op(struct emit *e, unsigned size, bool lock, const uint8_t *op, unsigned oplen,
	     unsigned reg, struct hrm rm, uint64_t imm, unsigned imm_size)
{
	if (size == 2)
		e8(e, 0x66);
	if (lock)
		e8(e, 0xf0);
	unsigned rex = 0;
	if (size == 8)
		rex |= 8;
	if (reg >= 8)
		rex |= 4;
	if (rm.mem) {
		if (rm.m.index != H_NONE && rm.m.index >= 8)
			rex |= 2;
		if (rm.m.base != H_NONE && rm.m.base >= 8)
			rex |= 1;
	} else if (rm.reg >= 8) {
		rex |= 1;
	}
	/* byte registers 4-7 are SPL-DIL only with a REX */
	bool byte_rex = (size == 1 && reg >= 4 && reg < 8) ||
			((size == 1 || rm.byte8) && !rm.mem && rm.reg >= 4 && rm.reg < 8);
	if (rex || byte_rex)
		e8(e, (uint8_t)(0x40 | rex));
	for (unsigned k = 0; k < oplen; k++)
		e8(e, op[k]);
	if (rm.mem)
		emit_modrm_mem(e, reg, &rm.m);
	else
		e8(e, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm.reg & 7)));
	switch (imm_size) {
	case 1:
		e8(e, (uint8_t)imm);
		break;
	case 2:
		e8(e, (uint8_t)imm);
		e8(e, (uint8_t)(imm >> 8));
		break;
	case 4:
		e32(e, (uint32_t)imm);
		break;
	}
}

void emit_vex(struct emit *e, const struct vex_enc *v, unsigned reg, unsigned vvvv, struct hrm rm,
	      int imm)
{
	/* C4, then ~R ~X ~B and the map, then W ~vvvv L pp (SDM Vol. 2,
	 * 2.3.5): always the three-byte form */
	bool x = rm.mem && rm.m.index != H_NONE && rm.m.index >= 8;
	bool b = rm.mem ? rm.m.base != H_NONE && rm.m.base >= 8 : rm.reg >= 8;
	e8(e, 0xc4);
	e8(e, (uint8_t)((reg < 8 ? 0x80 : 0) | (x ? 0 : 0x40) | (b ? 0 : 0x20) | (v->map & 0x1f)));
	e8(e, (uint8_t)((v->w ? 0x80 : 0) | (~vvvv & 15) << 3 | (v->l ? 4 : 0) | (v->pp & 3)));
	e8(e, v->op);
	if (rm.mem)
		emit_modrm_mem(e, reg, &rm.m);
	else
		e8(e, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm.reg & 7)));
	if (imm >= 0)
		e8(e, (uint8_t)imm);
}

void emit_mov_imm(struct emit *e, int reg, uint64_t imm)
{
	if (imm <= 0xffffffffULL) {             /* mov r32, imm32 (zero-extends) */
		if (reg >= 8)
			e8(e, 0x41);
		e8(e, (uint8_t)(0xb8 + (reg & 7)));
		e32(e, (uint32_t)imm);
	} else if (fits_i32((int64_t)imm)) {    /* mov r/m64, imm32 sign-extended */
		uint8_t op = 0xc7;
		emit_op(e, 8, false, &op, 1, 0, rm_reg(reg), imm, 4);
	} else {                                /* movabs */
		e8(e, (uint8_t)(0x48 | (reg >= 8)));
		e8(e, (uint8_t)(0xb8 + (reg & 7)));
		e64(e, imm);
	}
}

void emit_store_imm64(struct emit *e, struct hrm rm, uint64_t imm, int scratch)
{
	if (fits_i32((int64_t)imm)) {
		uint8_t op = 0xc7;
		emit_op(e, 8, false, &op, 1, 0, rm, imm, 4);
		return;
	}
	emit_mov_imm(e, scratch, imm);
	emit_store(e, 8, rm, scratch);
}

void emit_alu_imm(struct emit *e, unsigned size, unsigned op, struct hrm rm, int64_t imm)
{
	uint8_t opc;
	unsigned isz;
	if (size == 1) {
		opc = 0x80;
		isz = 1;
	} else if (imm == (int8_t)imm) {
		opc = 0x83;
		isz = 1;
	} else {
		opc = 0x81;
		isz = size == 2 ? 2 : 4;
	}
	emit_op(e, size, false, &opc, 1, op, rm, (uint64_t)imm, isz);
}

void emit_push(struct emit *e, int reg)
{
	if (reg >= 8)
		e8(e, 0x41);
	e8(e, (uint8_t)(0x50 + (reg & 7)));
}

void emit_pop(struct emit *e, int reg)
{
	if (reg >= 8)
		e8(e, 0x41);
	e8(e, (uint8_t)(0x58 + (reg & 7)));
}

void emit_call_abs(struct emit *e, const void *fn)
{
	int64_t rel = (int64_t)((const uint8_t *)fn - (e->p + 5));
	if (fits_i32(rel)) {
		e8(e, 0xe8);
		e32(e, (uint32_t)rel);
		return;
	}
	emit_mov_imm(e, H_RAX, (uint64_t)(uintptr_t)fn);
	e8(e, 0xff);
	e8(e, 0xd0);    /* call rax */
}

uint8_t *emit_jmp_rel32(struct emit *e)
{
	e8(e, 0xe9);
	uint8_t *f = e->p;
	e32(e, 0);
	return e->full ? NULL : f;
}

uint8_t *emit_jcc_rel32(struct emit *e, unsigned cc)
{
	e8(e, 0x0f);
	e8(e, (uint8_t)(0x80 | (cc & 15)));
	uint8_t *f = e->p;
	e32(e, 0);
	return e->full ? NULL : f;
}

void emit_patch_rel32(uint8_t *field, const void *target)
{
	if (!field)
		return;
	int32_t rel = (int32_t)((const uint8_t *)target - (field + 4));
	memcpy(field, &rel, 4);
}

void emit_jmp_to(struct emit *e, const void *target)
{
	uint8_t *f = emit_jmp_rel32(e);
	emit_patch_rel32(f, target);
}

void emit_rorx32(struct emit *e, int dst, int src, uint8_t imm)
{
	/* C4, then ~R ~X ~B and map 0F3A (3), then W0 ~vvvv (1111: none) L0 pp F2 (3) */
	e8(e, 0xc4);
	e8(e, (uint8_t)((dst < 8 ? 0x80 : 0) | 0x40 | (src < 8 ? 0x20 : 0) | 0x03));
	e8(e, 0x7b);
	e8(e, 0xf0);
	e8(e, (uint8_t)(0xc0 | ((dst & 7) << 3) | (src & 7)));
	e8(e, imm);
}

/* the same with VEX.W1: 64-bit */
void emit_rorx64(struct emit *e, int dst, int src, uint8_t imm)
{
	e8(e, 0xc4);
	e8(e, (uint8_t)((dst < 8 ? 0x80 : 0) | 0x40 | (src < 8 ? 0x20 : 0) | 0x03));
	e8(e, 0xfb);
	e8(e, 0xf0);
	e8(e, (uint8_t)(0xc0 | ((dst & 7) << 3) | (src & 7)));
	e8(e, imm);
}

static int host_movbe = -1;     /* -1: not asked yet */

bool emit_host_movbe(void)
{
	int have = __atomic_load_n(&host_movbe, __ATOMIC_RELAXED);
	if (have < 0) {
		unsigned a, b, c, d;
		have = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 22));
		__atomic_store_n(&host_movbe, have, __ATOMIC_RELAXED);
	}
	return have;
}

static int host_bmi2 = -1;      /* -1: not asked yet */

bool emit_host_bmi2(void)
{
	int have = __atomic_load_n(&host_bmi2, __ATOMIC_RELAXED);
	if (have < 0) {
		unsigned a, b, c, d;
		have = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 8));
		__atomic_store_n(&host_bmi2, have, __ATOMIC_RELAXED);
	}
	return have;
}

void emit_host_bmi2_override(int on)
{
	__atomic_store_n(&host_bmi2, on, __ATOMIC_RELAXED);
}

/* TZCNT of 0 is the operand size, BSF of 0 leaves the destination */
bool emit_host_tzcnt(void)
{
	uint32_t r = 7;
	__asm__ volatile(".byte 0xf3, 0x0f, 0xbc, 0xc1" : "+a"(r) : "c"(0) : "cc");
	return r == 32;
}

/* LZCNT of 1 is 31, BSR of 1 is 0 */
bool emit_host_lzcnt(void)
{
	uint32_t r = 7;
	__asm__ volatile(".byte 0xf3, 0x0f, 0xbd, 0xc1" : "+a"(r) : "c"(1) : "cc");
	return r == 31;
}
