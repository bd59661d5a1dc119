/*
 * The VEX-only instructions whose memory accesses depend on data: the
 * masked moves VMASKMOVPS/PD and VPMASKMOVD/Q, and the AVX2 gathers
 * with VSIB addressing (SDM Vol. 2, "VMASKMOV", "VPMASKMOV",
 * "VPGATHERDD/VPGATHERQD", "VPGATHERDQ/VPGATHERQQ", "VGATHERDPS/
 * VGATHERQPS", "VGATHERDPD/VGATHERQPD", and 2.3.12 for VSIB).
 */
#include "tcg/avx2.h"

/* Is the mask element k of size bytes set (its most significant bit)? */
static bool mask_bit(struct ymm *m, unsigned k, unsigned size)
{
	return size == 8 ? ymm_q(m)[k] >> 63 : ymm_d(m)[k] >> 31;
}

/* ------------------------------------------------------------------ */
/* Masked moves                                                        */

/*
 * Loads (VMASKMOVPS/PD 0F38 2C 2D, VPMASKMOVD/Q 8C): the elements whose
 * mask bit (in src1, VEX.vvvv) is set come from memory, the others are
 * zero.  Stores (2E 2F, 8E): only those elements are written.  A masked-
 * off element is never accessed, so it never faults.  The store checks
 * every element it will write before writing the first, so a fault
 * leaves memory as it was.
 */
static void maskmov(struct tcg_cpu *c, const struct insn *i, unsigned size, bool store)
{
	struct ymm m, v;
	unsigned n = vex_bytes(i) / size;

	vex_require(c, i, VX_66 | VX_MEM);
	ymm_get(c, i->vvvv, &m);
	uint64_t ea = tcg_ea(c, i);
	if (!store) {
		memset(&v, 0, sizeof(v));
		for (unsigned k = 0; k < n; k++)
			if (mask_bit(&m, k, size))
				tcg_ld_bytes(c, i->seg, (ea + k * size) & size_mask(i->asz),
					     ymm_b(&v) + k * size, size);
		vex_put(c, i, i->reg, &v);
		return;
	}
	ymm_get(c, i->reg, &v);
	for (unsigned pass = 0; pass < 2; pass++) {
		for (unsigned k = 0; k < n; k++) {
			if (!mask_bit(&m, k, size))
				continue;
			uint64_t off = (ea + k * size) & size_mask(i->asz);
			if (pass == 0)
				tcg_probe_write(c, i->seg, off, size);
			else
				tcg_st_bytes(c, i->seg, off, ymm_b(&v) + k * size, size);
		}
	}
}

static void vex_38_2c(struct tcg_cpu *c, const struct insn *i)
{
	if (i->vex_w)
		sse_ud(c);
	maskmov(c, i, 4, false);
}
static void vex_38_2d(struct tcg_cpu *c, const struct insn *i)
{
	if (i->vex_w)
		sse_ud(c);
	maskmov(c, i, 8, false);
}
static void vex_38_2e(struct tcg_cpu *c, const struct insn *i)
{
	if (i->vex_w)
		sse_ud(c);
	maskmov(c, i, 4, true);
}
static void vex_38_2f(struct tcg_cpu *c, const struct insn *i)
{
	if (i->vex_w)
		sse_ud(c);
	maskmov(c, i, 8, true);
}
static void vex_38_8c(struct tcg_cpu *c, const struct insn *i)
{
	maskmov(c, i, i->vex_w ? 8 : 4, false);
}
static void vex_38_8e(struct tcg_cpu *c, const struct insn *i)
{
	maskmov(c, i, i->vex_w ? 8 : 4, true);
}

/* ------------------------------------------------------------------ */
/* Gathers (0F38 90-93)                                                */

/*
 * VSIB (SDM Vol. 2, 2.3.12): ModRM.rm must be 100b (a SIB byte) with a
 * memory form, and the SIB index field with VEX.X names a vector
 * register.  decode.c stores index 100b without X as "no index": that
 * is XMM4 here.  16-bit addressing has no SIB: #UD.
 */
static unsigned vsib_index(struct tcg_cpu *c, const struct insn *i)
{
	if (!i->mem || (i->rm & 7) != 4 || i->asz == 2)
		sse_ud(c);
	return i->index == NO_REG ? 4 : i->index;
}

/* The offset of element k: disp + base + sign-extended index * scale,
 * wrapped at the address size. */
static uint64_t vsib_offset(struct tcg_cpu *c, const struct insn *i, int64_t index)
{
	uint64_t off = (uint64_t)(int64_t)i->disp + ((uint64_t)index << i->scale);
	if (i->base != NO_REG)
		off += c->s.regs[i->base];
	return off & size_mask(i->asz);
}

/*
 * dsize: element size (4 or 8: VEX.W), isize: index size (4 for the D
 * forms 90 92, 8 for the Q forms 91 93).  With VEX.L the element count
 * is 8 / 4 (dwords / qwords) for equal sizes and 4 otherwise; the
 * destination and the mask hold n elements of dsize, the index register
 * n of isize.  Elements are done from the lowest; each one done, gathered
 * or masked off, clears its mask element at once (a gathered one goes
 * into the destination first), so a fault leaves a state that
 * re-execution completes.  The SDM lets the processor gather in any order
 * but deliver faults right to left: at a fault every element below the
 * faulting one is done, those above may or may not be (here they are
 * not).  Only a gather that completes zeroes the parts of the destination
 * and the mask beyond the n elements, and the whole mask ends zero.  An
 * AMD EPYC host does the same (tests/difftest, avx2-gather).
 */
/* Bytes [off, off + size) of YMM register r in the vCPU (an element:
 * never across bit 128). */
static uint8_t *ymm_elem(struct tcg_cpu *c, unsigned r, unsigned off)
{
	return off < 16 ? (uint8_t *)&c->fpu.xmm[r & 15] + off : c->xs.ymm_h[r & 15] + off - 16;
}

static void gather(struct tcg_cpu *c, const struct insn *i, unsigned isize)
{
	unsigned dsize = i->vex_w ? 8 : 4;
	unsigned big = dsize > isize ? dsize : isize;
	unsigned n = vex_bytes(i) / big;
	unsigned vlen = n * dsize;              /* bytes of dest and mask */
	struct ymm m, x;

	if (i->pfx != PFX_66)
		sse_ud(c);
	unsigned xr = vsib_index(c, i);
	if (i->reg == xr || i->reg == i->vvvv || xr == i->vvvv)
		sse_ud(c);
	vex_check(c);
	ymm_get(c, i->vvvv, &m);
	ymm_get(c, xr, &x);
	/* each element done goes straight into the vCPU's registers, so a
	 * fault at the next one finds it there */
	for (unsigned k = 0; k < n; k++) {
		if (mask_bit(&m, k, dsize)) {
			int64_t index = isize == 8 ? (int64_t)ymm_q(&x)[k] : (int32_t)ymm_d(&x)[k];
			uint64_t v = tcg_ld(c, i->seg, vsib_offset(c, i, index), dsize);

			memcpy(ymm_elem(c, i->reg, k * dsize), &v, dsize);
		}
		memset(ymm_elem(c, i->vvvv, k * dsize), 0, dsize);
	}
	/* done: the bytes beyond the elements and the whole mask zero, in
	 * place (a copy read back at once would wait on those stores) */
	if (vlen < 16)
		memset(ymm_elem(c, i->reg, vlen), 0, 16 - vlen);
	if (vlen < 32)
		memset(ymm_elem(c, i->reg, 16), 0, 16);
	memset(ymm_elem(c, i->vvvv, 0), 0, 16);
	memset(ymm_elem(c, i->vvvv, 16), 0, 16);
}

static void vex_38_90(struct tcg_cpu *c, const struct insn *i) { gather(c, i, 4); }
static void vex_38_91(struct tcg_cpu *c, const struct insn *i) { gather(c, i, 8); }

void tcg_register_avx2_mem(void)
{
	tcg_handler *m38 = tcg_vex_ops[MAP_0F38];

	m38[0x2c] = vex_38_2c;
	m38[0x2d] = vex_38_2d;
	m38[0x2e] = vex_38_2e;
	m38[0x2f] = vex_38_2f;
	m38[0x8c] = vex_38_8c;
	m38[0x8e] = vex_38_8e;
	m38[0x90] = vex_38_90;  /* VPGATHERDD/DQ */
	m38[0x91] = vex_38_91;  /* VPGATHERQD/QQ */
	m38[0x92] = vex_38_90;  /* VGATHERDPS/DPD */
	m38[0x93] = vex_38_91;  /* VGATHERQPS/QPD */
}
