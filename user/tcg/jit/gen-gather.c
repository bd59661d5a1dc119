/*
 * The AVX2 gathers (VPGATHERDD/DQ/QD/QQ, VGATHERDPS/DPD/QPS/QPD; SDM
 * Vol. 2, and 2.3.12 for VSIB) as host code: one element after the
 * other, from the lowest, as user/tcg/avx2-mem.c does them.  For each
 * element whose mask sign bit is set: its address from the index element
 * (in struct tcg_cpu), the inline TLB check, the load, the store into the
 * destination element; then the mask element cleared, gathered or not.
 *
 * A TLB miss (or a page crossing, a watched page, a non-canonical
 * address) runs the whole instruction in the interpreter, which may
 * raise the fault.  Unlike other instructions the fast path has then
 * changed state: the elements before the miss are done, their mask
 * elements clear.  That is a state the gather itself leaves at a fault
 * (avx2-mem.c), so the interpreter carries on from it and the result is
 * the same.  The #UD rules are checked here at translation time (any
 * failure: the interpreter's handler), the AVX ones (CR4.OSXSAVE, XCR0)
 * at run time as for every VEX instruction (gen-vex.c).
 */
#include "tcg/jit/gen.h"

/* The host memory operand of bytes [off, off + 8) of guest YMM register
 * r (off a multiple of 4 below 32: an element never crosses bit 128). */
static struct hrm ymm_part(unsigned r, unsigned off)
{
	if (off < 16)
		return rm_mem(R_CPU, CPU_OFF(fpu.xmm[0]) + (int32_t)((r & 15) * 16 + off));
	return rm_mem(R_CPU, CPU_OFF(xs.ymm_h[0]) + (int32_t)((r & 15) * 16 + off - 16));
}

/* mov dword/qword [m], 0 */
static void store_zero(struct emit *e, unsigned size, struct hrm m)
{
	static const uint8_t c7 = 0xc7;
	emit_op(e, size, false, &c7, 1, 0, m, 0, 4);
}

/* The rules avx2-mem.c's gather() raises #UD for, and what the fast path
 * can do: 64-bit code, a flat segment (no FS/GS base), 32- or 64-bit
 * addressing with a SIB byte whose index is a vector register, and
 * destination, mask and index all different. */
bool jit_gather_ok(const struct tr *t, const struct insn *i)
{
	if (i->map != MAP_0F38 || i->op < 0x90 || i->op > 0x93 || i->pfx != PFX_66)
		return false;
	if (!i->mem || (i->rm & 7) != 4 || i->asz == 2 || i->rip_rel)
		return false;
	if (i->seg == S_FS || i->seg == S_GS || !tr_code64(t))
		return false;
	unsigned xr = i->index == NO_REG ? 4 : i->index;
	return i->reg != xr && i->reg != i->vvvv && xr != i->vvvv;
}

/* rsi = the linear address of element k: base + disp + index[k] << scale */
static void element_address(struct tr *t, unsigned xr, unsigned isize, unsigned k)
{
	const struct insn *i = t->i;
	struct emit *e = &t->e;
	struct hrm x = ymm_part(xr, k * isize);
	if (isize == 4)
		emit_op1(e, 8, 0x63, H_RAX, x);                 /* movsxd rax, [index k] */
	else
		emit_load(e, 8, H_RAX, x);
	struct hmem m = { H_NONE, H_RAX, i->scale, i->disp };
	if (i->base != NO_REG) {
		struct hrm b = tr_greg(t, i->base, 8);
		if (b.mem) {
			emit_load(e, 8, H_RSI, b);
			m.base = H_RSI;
		} else {
			m.base = (int8_t)b.reg;
		}
	}
	emit_lea(e, i->asz == 8 ? 8 : 4, H_RSI, m);             /* 32-bit: wraps */
}

bool jit_gen_gather(struct tr *t)
{
	const struct insn *i = t->i;
	struct emit *e = &t->e;
	static const uint8_t f7 = 0xf7;
	unsigned isize = i->op & 1 ? 8 : 4, dsize = i->vex_w ? 8 : 4;
	unsigned big = dsize > isize ? dsize : isize;
	unsigned n = (i->vex_l ? 32 : 16) / big, vlen = n * dsize;
	unsigned xr = i->index == NO_REG ? 4 : i->index;

	jit_avx_check(t);
	tr_save_flags(t);       /* the tests and TLB checks below change the host's */
	for (unsigned k = 0; k < n; k++) {
		unsigned off = k * dsize;
		/* test dword [mask's top dword of element k], 1 << 31; jz skip */
		emit_op(e, 4, false, &f7, 1, 0, ymm_part(i->vvvv, off + dsize - 4), 0x80000000u, 4);
		uint8_t *skip = emit_jcc_rel32(e, 4);
		element_address(t, xr, isize, k);
		tr_mem_check(t, dsize, ACC_READ);
		emit_load(e, dsize, H_RAX, rm_mem(H_RSI, 0));
		emit_store(e, dsize, ymm_part(i->reg, off), H_RAX);
		emit_patch_rel32(skip, e->p);
		store_zero(e, dsize, ymm_part(i->vvvv, off));
	}
	/* complete: the destination's bytes beyond the elements and the
	 * whole mask become zero */
	for (unsigned off = vlen; off < 32; off += 4)
		store_zero(e, 4, ymm_part(i->reg, off));
	for (unsigned off = 0; off < 32; off += 8)
		store_zero(e, 8, ymm_part(i->vvvv, off));
	tr_mem_done(t);
	return true;
}
