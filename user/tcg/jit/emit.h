/*
 * A small x86-64 encoder for the JIT: just the instruction forms the
 * translator emits (SDM Vol. 2, ch. 2: REX, ModRM, SIB, displacement,
 * immediate).  Code goes into a buffer; running past its end sets
 * e->full, and the translation is then abandoned (the cache is flushed).
 */
#ifndef QVM_TCG_JIT_EMIT_H
#define QVM_TCG_JIT_EMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum hreg {
	H_RAX, H_RCX, H_RDX, H_RBX, H_RSP, H_RBP, H_RSI, H_RDI,
	H_R8, H_R9, H_R10, H_R11, H_R12, H_R13, H_R14, H_R15,
	H_NONE = -1,
};

struct emit {
	uint8_t *p, *end;
	bool full;
};

/* A memory operand [base + index * (1 << scale) + disp]; base H_NONE
 * means an absolute disp32. */
struct hmem {
	int8_t base, index;
	uint8_t scale;
	int32_t disp;
};

/* An r/m operand: a host register or memory. */
struct hrm {
	bool mem;
	bool byte8;             /* a byte register whatever the operand size
				 * (MOVZX/MOVSX sources): SPL-DIL need a REX */
	int8_t reg;
	struct hmem m;
};

static inline struct hrm rm_reg(int r)
{
	return (struct hrm){ .mem = false, .byte8 = false, .reg = (int8_t)r };
}
static inline struct hrm rm_mem(int base, int32_t disp)
{
	return (struct hrm){ .mem = true, .m = { (int8_t)base, H_NONE, 0, disp } };
}
static inline struct hrm rm_sib(int base, int index, unsigned scale, int32_t disp)
{
	return (struct hrm){ .mem = true, .m = { (int8_t)base, (int8_t)index, (uint8_t)scale, disp } };
}

static inline bool emit_room(struct emit *e, unsigned n)
{
	if (e->p + n > e->end) {
		e->full = true;
		return false;
	}
	return true;
}
static inline void e8(struct emit *e, uint8_t b)
{
	if (emit_room(e, 1))
		*e->p++ = b;
}
static inline void e32(struct emit *e, uint32_t v)
{
	if (emit_room(e, 4)) {
		memcpy(e->p, &v, 4);
		e->p += 4;
	}
}
static inline void e64(struct emit *e, uint64_t v)
{
	if (emit_room(e, 8)) {
		memcpy(e->p, &v, 8);
		e->p += 8;
	}
}
static inline bool fits_i32(int64_t v)
{
	return v == (int32_t)v;
}

/* The general form: [66] [F0] [REX] opcode bytes, ModRM(reg, rm), then
 * the immediate (imm_size 0, 1, 2 or 4 bytes).  size is the operand
 * size (1, 2, 4, 8): 2 adds 66, 8 adds REX.W; a byte operand in SPL-DIL
 * gets a REX so it is not read as AH-BH.  lock adds F0. */
void emit_op(struct emit *e, unsigned size, bool lock, const uint8_t *op, unsigned oplen,
	     unsigned reg, struct hrm rm, uint64_t imm, unsigned imm_size);

static inline void emit_op1(struct emit *e, unsigned size, uint8_t op, unsigned reg, struct hrm rm)
{
	emit_op(e, size, false, &op, 1, reg, rm, 0, 0);
}
static inline void emit_op2(struct emit *e, unsigned size, uint8_t op2, unsigned reg, struct hrm rm)
{
	uint8_t op[2] = { 0x0f, op2 };
	emit_op(e, size, false, op, 2, reg, rm, 0, 0);
}

/* mov reg, rm / mov rm, reg (size 1, 2, 4, 8) */
static inline void emit_load(struct emit *e, unsigned size, int reg, struct hrm rm)
{
	emit_op1(e, size, size == 1 ? 0x8a : 0x8b, reg, rm);
}
static inline void emit_store(struct emit *e, unsigned size, struct hrm rm, int reg)
{
	emit_op1(e, size, size == 1 ? 0x88 : 0x89, reg, rm);
}
/* A VEX-encoded instruction (SDM Vol. 2, 2.3): map 1-3 (0F, 0F38, 0F3A),
 * pp 0-3 (none, 66, F3, F2), VEX.L and VEX.W, the opcode byte. */
struct vex_enc {
	uint8_t map, pp, op;
	bool l, w;
};
/* reg and vvvv are register numbers (vvvv 0 when unused: 1111b
 * encoded); imm < 0: no immediate byte */
void emit_vex(struct emit *e, const struct vex_enc *v, unsigned reg, unsigned vvvv, struct hrm rm,
	      int imm);
/* mov reg64, imm: the shortest form (mov r32, imm32 zero-extends) */
void emit_mov_imm(struct emit *e, int reg, uint64_t imm);
/* mov qword [rm], imm where imm fits a sign-extended imm32, else through
 * scratch (a register it may clobber) */
void emit_store_imm64(struct emit *e, struct hrm rm, uint64_t imm, int scratch);
/* lea reg, [m] at size 4 or 8 */
static inline void emit_lea(struct emit *e, unsigned size, int reg, struct hmem m)
{
	struct hrm rm = { .mem = true, .m = m };
	emit_op1(e, size, 0x8d, reg, rm);
}
/* ALU op (0 add .. 7 cmp) rm, imm at size (imm8 sign-extended when it fits) */
void emit_alu_imm(struct emit *e, unsigned size, unsigned op, struct hrm rm, int64_t imm);
/* ALU op reg, rm (the 03 form) */
static inline void emit_alu_load(struct emit *e, unsigned size, unsigned op, int reg, struct hrm rm)
{
	emit_op1(e, size, (uint8_t)(op * 8 + (size == 1 ? 2 : 3)), reg, rm);
}

/* rorx reg32, rm32 (a register), imm8: BMI2, VEX.LZ.F2.0F3A.W0 F0 /r ib
 * (SDM Vol. 2B, RORX): a rotate into another register, flags untouched */
void emit_rorx32(struct emit *e, int dst, int src, uint8_t imm);
void emit_rorx64(struct emit *e, int dst, int src, uint8_t imm);
/* Does the host CPU have BMI2 (CPUID.(EAX=7,ECX=0):EBX[8])? */
bool emit_host_bmi2(void);
/* Does the host run F3 0F BC as TZCNT and F3 0F BD as LZCNT (rather
 * than as BSF and BSR)?  Probed by running them: a hypervisor may hide
 * the CPUID bit of an instruction that works. */
bool emit_host_tzcnt(void);
bool emit_host_lzcnt(void);
/* Does the host have MOVBE (CPUID.1:ECX[22])? */
bool emit_host_movbe(void);
/* Tests: 0 takes the code without BMI2 on any host, -1 asks the CPU again */
void emit_host_bmi2_override(int on);

void emit_push(struct emit *e, int reg);
void emit_pop(struct emit *e, int reg);
/* call/jmp to an absolute host address (through rax when far) */
void emit_call_abs(struct emit *e, const void *fn);
/* jmp rel32 / jcc rel32 with the displacement filled in later: return
 * the address of the rel32 field. */
uint8_t *emit_jmp_rel32(struct emit *e);
uint8_t *emit_jcc_rel32(struct emit *e, unsigned cc);
/* Point a rel32 field at target (no-op when the buffer ran full). */
void emit_patch_rel32(uint8_t *field, const void *target);
/* jmp rel32 straight to a known target */
void emit_jmp_to(struct emit *e, const void *target);

#endif
