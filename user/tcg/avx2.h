/*
 * Private helpers of the VEX-only instruction files (avx2.c,
 * avx2-mem.c, fma.c, f16c.c): the encoding checks their SDM pages
 * list under "#UD", the vector operands at VEX.L's width and the write
 * of a destination (a VEX.128 write zeroes bits 255:128).
 */
#ifndef QVM_TCG_AVX2_H
#define QVM_TCG_AVX2_H

#include "tcg/sse.h"

/* Encoding requirements of an instruction's SDM page. */
#define VX_66    0x01   /* VEX.pp = 66 */
#define VX_W0    0x02   /* VEX.W0: W1 is #UD */
#define VX_W1    0x04   /* VEX.W1: W0 is #UD */
#define VX_L1    0x08   /* VEX.256 only: L0 is #UD */
#define VX_L0    0x10   /* VEX.128 only: L1 is #UD */
#define VX_NOV   0x20   /* VEX.vvvv must be 1111b */
#define VX_MEM   0x40   /* memory operand only: ModRM.mod 11 is #UD */

/* #UD for an encoding outside req (the checks come before CR0.TS's #NM,
 * as decoding comes before execution), then the AVX exception class
 * (vex_check: SDM Vol. 2, 2.8). */
static inline void vex_require(struct tcg_cpu *c, const struct insn *i, unsigned req)
{
	if (((req & VX_66) && i->pfx != PFX_66) ||
	    ((req & VX_W0) && i->vex_w) || ((req & VX_W1) && !i->vex_w) ||
	    ((req & VX_L1) && !i->vex_l) || ((req & VX_L0) && i->vex_l) ||
	    ((req & VX_NOV) && i->vvvv) || ((req & VX_MEM) && !i->mem))
		sse_ud(c);
	vex_check(c);
}

/* Bytes of a full vector operand: 16 for VEX.128, 32 for VEX.256. */
static inline unsigned vex_bytes(const struct insn *i)
{
	return i->vex_l ? 32 : 16;
}

/* size bytes (up to 32) of the memory operand, the rest zero; no
 * alignment check (SDM Vol. 2, 2.8: VEX loads may be unaligned). */
static inline void vex_load(struct tcg_cpu *c, const struct insn *i, struct ymm *v, unsigned size)
{
	memset(v, 0, sizeof(*v));
	tcg_ld_bytes(c, i->seg, tcg_ea(c, i), v, size);
}

/* The r/m source at size bytes: a register's whole 32 bytes, or size
 * bytes of memory zero-extended. */
static inline void vex_rm(struct tcg_cpu *c, const struct insn *i, struct ymm *v, unsigned size)
{
	if (i->mem)
		vex_load(c, i, v, size);
	else
		ymm_get(c, i->rm, v);
}

/* Write register r at VEX.L's width: VEX.128 zeroes bits 255:128. */
static inline void vex_put(struct tcg_cpu *c, const struct insn *i, unsigned r, const struct ymm *v)
{
	if (i->vex_l)
		ymm_set(c, r, v);
	else
		vex_set128(c, r, &v->lo);
}

/* The elements of a ymm as one array. */
static inline uint32_t *ymm_d(struct ymm *v)
{
	return (uint32_t *)(void *)v;
}
static inline uint64_t *ymm_q(struct ymm *v)
{
	return (uint64_t *)(void *)v;
}
static inline uint8_t *ymm_b(struct ymm *v)
{
	return (uint8_t *)(void *)v;
}
_Static_assert(sizeof(struct ymm) == 32, "struct ymm is the 32 bytes of a YMM register");

#endif
