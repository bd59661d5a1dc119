/*
 * VEX-encoded instructions run as themselves: AVX and AVX2 (the lane-wise
 * table of avx-sse.c, the moves, the shifts by an immediate, the
 * VEX-only shuffles of avx2.c, the masked moves of avx2-mem.c), FMA3,
 * F16C, the VEX.128 forms of AES-NI and PCLMULQDQ, and the BMI1/BMI2
 * general-register instructions; the gathers are gen-gather.c's.
 *
 * The guest's YMM registers stay where the interpreter keeps them: bits
 * 127:0 in c->fpu.xmm[], bits 255:128 in c->xs.ymm_h[].  An instruction
 * loads the registers it reads into host ymm0 (ModRM.reg), ymm1
 * (VEX.vvvv), ymm2 (ModRM.rm) and ymm3 (the register of imm8[7:4]),
 * runs as the same VEX instruction on them, with its memory operand at
 * the guest memory's host address after the inline TLB check (VEX memory
 * operands need no alignment, SDM Vol. 2, 2.8), and stores its
 * destination back, both halves: the host's VEX.128 form has zeroed bits
 * 255:128 as the guest's must (SDM Vol. 1, 14.1.2).  Host ymm0-ymm3 are
 * scratch (SysV ABI: caller-saved).
 *
 * Only in 64-bit code (so protected mode, not virtual-8086) of blocks
 * whose key has CR0.TS = 0 (KEY_SSE), on a host with AVX2; an encoding
 * the interpreter refuses (#UD) stays the interpreter's.  The rest of
 * the AVX exception class (vex_check: CR4.OSXSAVE, XCR0 SSE and AVX) is
 * not in the key: the first such instruction of a block tests it and
 * takes the slow path when it fails, where the interpreter raises #UD;
 * nothing in a block can change it afterwards (MOV to CR4 and XSETBV
 * end their block).  A memory operand that misses the TLB, crosses a
 * page or must be aligned and is not takes the slow path too, before any
 * guest state changed, so faults stay precise (a masked move's whole
 * span is checked: with it in the TLB no element can fault).  Floating point runs only
 * while the guest masks every SIMD exception, under the guest MXCSR, as
 * gen-sse.c does.  The BMI instructions are not AVX: no such checks.
 */
#include <cpuid.h>
#include "tcg/jit/gen.h"
#include "tcg/sse.h"
#include "tcg/avx2.h"

enum { Y0, Y1, Y2, Y3 };        /* host ymm0-ymm3 */

/* How a vector instruction uses its operands */
struct vform {
	uint8_t msize;          /* bytes of the memory operand */
	bool align;             /* it must be aligned to msize (#GP: slow path) */
	bool rd_reg, wr_reg;    /* ModRM.reg's register is read, written */
	bool wr_rm;             /* r/m is the destination (a store), not a source */
	bool nds;               /* VEX.vvvv names a source */
	bool is4;               /* imm8[7:4] names a source */
	bool fp;                /* SIMD floating point: under the guest MXCSR */
	bool w, l;              /* the host's VEX.W and VEX.L */
	unsigned fwrites;       /* arithmetic flags written */
};

static struct hrm lo_slot(unsigned r)
{
	return rm_mem(R_CPU, CPU_OFF(fpu.xmm[0]) + (int32_t)(r & 15) * 16);
}

static struct hrm hi_slot(unsigned r)
{
	return rm_mem(R_CPU, CPU_OFF(xs.ymm_h[0]) + (int32_t)(r & 15) * 16);
}

static void vex_emit(struct emit *e, unsigned map, unsigned pp, bool l, bool w, unsigned op,
		     unsigned reg, unsigned vvvv, struct hrm rm, int imm)
{
	struct vex_enc v = { (uint8_t)map, (uint8_t)pp, (uint8_t)op, l, w };
	emit_vex(e, &v, reg, vvvv, rm, imm);
}

/* host ymm h = guest register r: VMOVDQU xmm, m128 (zeroing 255:128),
 * then VINSERTI128 of the upper half when wide */
static void ld_ymm(struct emit *e, unsigned h, unsigned r, bool wide)
{
	vex_emit(e, MAP_0F, PFX_F3, false, false, 0x6f, h, 0, lo_slot(r), -1);
	if (wide)
		vex_emit(e, MAP_0F3A, PFX_66, true, false, 0x38, h, h, hi_slot(r), 1);
}

/* guest register r = host ymm h, all 256 bits: VMOVDQU m128, xmm;
 * VEXTRACTI128 m128, ymm, 1 */
static void st_ymm(struct emit *e, unsigned h, unsigned r)
{
	vex_emit(e, MAP_0F, PFX_F3, false, false, 0x7f, h, 0, lo_slot(r), -1);
	vex_emit(e, MAP_0F3A, PFX_66, true, false, 0x39, h, 0, hi_slot(r), 1);
}

/* The AVX checks the key leaves out (see the top), once per block:
 * XCR0 has SSE and AVX, CR4.OSXSAVE is set.  Host flags change. */
void jit_avx_check(struct tr *t)
{
	struct emit *e = &t->e;
	uint8_t f7 = 0xf7;
	if (t->avx_checked)
		return;
	tr_save_flags(t);
	emit_load(e, 4, H_RAX, CPU_MEM(xcr0));
	emit_op(e, 4, false, &f7, 1, 2, rm_reg(H_RAX), 0, 0);                          /* not */
	emit_op(e, 4, false, &f7, 1, 0, rm_reg(H_RAX), XCR0_SSE | XCR0_AVX, 4);        /* test */
	tr_slow_if(t, 5);                                                               /* jnz */
	emit_op(e, 4, false, &f7, 1, 0, CPU_MEM(s.cr4), CR4_OSXSAVE, 4);
	tr_slow_if(t, 4);                                                               /* jz */
	t->avx_checked = true;
}

/* The memory operand's host address in rsi; false: not natively */
static bool vex_mem(struct tr *t, unsigned size, enum access acc, bool align)
{
	return align ? tr_mem_operand_aligned(t, size, acc, size) : tr_mem_operand(t, size, acc);
}

static bool gen_vform(struct tr *t, const struct vform *f)
{
	const struct insn *i = t->i;
	struct emit *e = &t->e;
	struct hrm rm = rm_reg(Y2);
	int imm = i->imm_size ? (int)(i->imm & 0xff) : -1;
	jit_avx_check(t);
	if (f->fp) {
		tr_save_flags(t);
		jit_fp_check(t);
	}
	if (i->mem) {
		if (!vex_mem(t, f->msize, f->wr_rm ? ACC_WRITE : ACC_READ, f->align))
			return false;
		rm = rm_mem(H_RSI, 0);
	}
	tr_mem_done(t);
	if (f->rd_reg)
		ld_ymm(e, Y0, i->reg, f->l);
	if (f->nds)
		ld_ymm(e, Y1, i->vvvv, f->l);
	if (!i->mem && !f->wr_rm)
		ld_ymm(e, Y2, i->rm, f->l);
	if (f->is4) {
		ld_ymm(e, Y3, (unsigned)(i->imm >> 4) & 15, f->l);
		imm = (int)(Y3 << 4 | (i->imm & 15));
	}
	if (f->fp)
		jit_fp_begin(e);
	vex_emit(e, i->map, i->pfx, f->l, f->w, i->op, Y0, f->nds ? Y1 : 0, rm, imm);
	if (f->fp)
		jit_fp_end(e);
	if (f->wr_reg)
		st_ymm(e, Y0, i->reg);
	if (f->wr_rm && !i->mem)
		st_ymm(e, Y2, i->rm);
	tr_flags_written(t, f->fwrites);
	return true;
}

/* ------------------------------------------------------------------ */
/* Which instructions, in which forms                                  */

static bool host_avx2(void)
{
	return __builtin_cpu_supports("avx2");
}

/* F16C: CPUID.1:ECX[29] (a name clang's __builtin_cpu_supports lacks) */
static bool host_f16c(void)
{
	unsigned a, b, c, d;
	return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
}

/* The table of avx-sse.c; AES-NI and PCLMULQDQ need them on the host */
static bool table_vform(const struct insn *i, struct vform *f)
{
	struct avx_form a;
	if (!avx_table_form(i, &a))
		return false;
	if (i->map == MAP_0F38 && i->op >= 0xdb && i->op <= 0xdf && !__builtin_cpu_supports("aes"))
		return false;
	if (i->map == MAP_0F3A && i->op == 0xdf && !__builtin_cpu_supports("aes"))
		return false;
	if (i->map == MAP_0F3A && i->op == 0x44 && !__builtin_cpu_supports("pclmul"))
		return false;
	*f = (struct vform){ .msize = (uint8_t)a.msize, .wr_reg = true, .nds = a.nds,
			     .fp = a.fp, .l = a.wide };
	return true;
}

/* Loads and stores of a whole register (VMOVUPS/UPD/APS/APD/DQU/DQA,
 * VMOVNTPS/PD/DQ) and VMOVSS/VMOVSD (avx-sse.c's rules) */
static bool move_vform(const struct insn *i, struct vform *f)
{
	bool ps_pd = i->pfx == PFX_NONE || i->pfx == PFX_66, store, align = false;
	unsigned op = i->op;
	if (i->map != MAP_0F)
		return false;
	if ((op == 0x10 || op == 0x11) && !ps_pd) {
		/* VMOVSS/SD: LIG; the memory forms have no vvvv, the register
		 * forms merge from it */
		if (i->mem && i->vvvv)
			return false;
		store = op == 0x11;
		*f = (struct vform){ .msize = i->pfx == PFX_F3 ? 4 : 8, .nds = !i->mem,
				     .rd_reg = store, .wr_reg = !store, .wr_rm = store };
		return true;
	}
	switch (op) {
	case 0x10: case 0x11:
		if (!ps_pd)
			return false;
		break;
	case 0x28: case 0x29:
		if (!ps_pd)
			return false;
		align = true;
		break;
	case 0x2b:
		if (!ps_pd || !i->mem)
			return false;
		align = true;
		break;
	case 0xe7:
		if (i->pfx != PFX_66 || !i->mem)
			return false;
		align = true;
		break;
	case 0x6f: case 0x7f:
		if (i->pfx != PFX_66 && i->pfx != PFX_F3)
			return false;
		align = i->pfx == PFX_66;
		break;
	default:
		return false;
	}
	if (i->vvvv)
		return false;
	store = op == 0x11 || op == 0x29 || op == 0x2b || op == 0xe7 || op == 0x7f;
	*f = (struct vform){ .msize = i->vex_l ? 32 : 16, .align = align, .rd_reg = store,
			     .wr_reg = !store, .wr_rm = store, .l = i->vex_l };
	return true;
}

/* F3 0F 7E VMOVQ xmm, xmm/m64 and 66 0F D6 VMOVQ xmm/m64, xmm (VEX.128) */
static bool movq_vform(const struct insn *i, struct vform *f)
{
	bool load = i->op == 0x7e && i->pfx == PFX_F3, store = i->op == 0xd6 && i->pfx == PFX_66;
	if (i->map != MAP_0F || (!load && !store) || i->vex_l || i->vvvv)
		return false;
	*f = (struct vform){ .msize = 8, .rd_reg = store, .wr_reg = load, .wr_rm = store };
	return true;
}

/* The VEX-only instructions of avx2.c, fma.c and f16c.c: the encoding
 * each accepts (avx2.h's VX_* requirements, as the handler checks them;
 * stricter where the host's SDM page is) and its operands */
struct vonly {
	uint8_t map, op;
	uint8_t req;
	uint8_t m128, m256;     /* memory bytes at VEX.128, VEX.256 */
	uint8_t kind;
};
enum { VO_NDS, VO_RM, VO_STORE, VO_BLENDV, VO_MSTORE };

static const struct vonly vonly[] = {
	{ MAP_0F38, 0x18, VX_66 | VX_W0 | VX_NOV, 4, 4, VO_RM },                 /* VBROADCASTSS */
	{ MAP_0F38, 0x19, VX_66 | VX_W0 | VX_NOV | VX_L1, 8, 8, VO_RM },         /* VBROADCASTSD */
	{ MAP_0F38, 0x58, VX_66 | VX_W0 | VX_NOV, 4, 4, VO_RM },                 /* VPBROADCASTD */
	{ MAP_0F38, 0x59, VX_66 | VX_W0 | VX_NOV, 8, 8, VO_RM },                 /* VPBROADCASTQ */
	{ MAP_0F38, 0x78, VX_66 | VX_W0 | VX_NOV, 1, 1, VO_RM },                 /* VPBROADCASTB */
	{ MAP_0F38, 0x79, VX_66 | VX_W0 | VX_NOV, 2, 2, VO_RM },                 /* VPBROADCASTW */
	{ MAP_0F38, 0x1a, VX_66 | VX_W0 | VX_L1 | VX_NOV | VX_MEM, 16, 16, VO_RM }, /* VBROADCASTF128 */
	{ MAP_0F38, 0x5a, VX_66 | VX_W0 | VX_L1 | VX_NOV | VX_MEM, 16, 16, VO_RM }, /* VBROADCASTI128 */
	{ MAP_0F3A, 0x18, VX_66 | VX_W0 | VX_L1, 16, 16, VO_NDS },                /* VINSERTF128 */
	{ MAP_0F3A, 0x38, VX_66 | VX_W0 | VX_L1, 16, 16, VO_NDS },                /* VINSERTI128 */
	{ MAP_0F3A, 0x19, VX_66 | VX_W0 | VX_L1 | VX_NOV, 16, 16, VO_STORE },     /* VEXTRACTF128 */
	{ MAP_0F3A, 0x39, VX_66 | VX_W0 | VX_L1 | VX_NOV, 16, 16, VO_STORE },     /* VEXTRACTI128 */
	{ MAP_0F3A, 0x06, VX_66 | VX_W0 | VX_L1, 32, 32, VO_NDS },                /* VPERM2F128 */
	{ MAP_0F3A, 0x46, VX_66 | VX_W0 | VX_L1, 32, 32, VO_NDS },                /* VPERM2I128 */
	{ MAP_0F38, 0x0c, VX_66 | VX_W0, 16, 32, VO_NDS },                        /* VPERMILPS */
	{ MAP_0F38, 0x0d, VX_66 | VX_W0, 16, 32, VO_NDS },                        /* VPERMILPD */
	{ MAP_0F3A, 0x04, VX_66 | VX_W0 | VX_NOV, 16, 32, VO_RM },                /* VPERMILPS ib */
	{ MAP_0F3A, 0x05, VX_66 | VX_W0 | VX_NOV, 16, 32, VO_RM },                /* VPERMILPD ib */
	{ MAP_0F38, 0x16, VX_66 | VX_W0 | VX_L1, 32, 32, VO_NDS },                /* VPERMPS */
	{ MAP_0F38, 0x36, VX_66 | VX_W0 | VX_L1, 32, 32, VO_NDS },                /* VPERMD */
	{ MAP_0F3A, 0x00, VX_66 | VX_W1 | VX_L1 | VX_NOV, 32, 32, VO_RM },        /* VPERMQ */
	{ MAP_0F3A, 0x01, VX_66 | VX_W1 | VX_L1 | VX_NOV, 32, 32, VO_RM },        /* VPERMPD */
	{ MAP_0F3A, 0x02, VX_66 | VX_W0, 16, 32, VO_NDS },                        /* VPBLENDD */
	{ MAP_0F38, 0x45, VX_66, 16, 32, VO_NDS },                                /* VPSRLVD/Q */
	{ MAP_0F38, 0x46, VX_66 | VX_W0, 16, 32, VO_NDS },                        /* VPSRAVD */
	{ MAP_0F38, 0x47, VX_66, 16, 32, VO_NDS },                                /* VPSLLVD/Q */
	{ MAP_0F3A, 0x4a, VX_66 | VX_W0, 16, 32, VO_BLENDV },                     /* VBLENDVPS */
	{ MAP_0F3A, 0x4b, VX_66 | VX_W0, 16, 32, VO_BLENDV },                     /* VBLENDVPD */
	{ MAP_0F3A, 0x4c, VX_66 | VX_W0, 16, 32, VO_BLENDV },                     /* VPBLENDVB */
	/* the masked moves (avx2-mem.c): the whole span must pass the TLB
	 * check (one page, readable / writable), so no element can fault
	 * and the host's instruction runs on the host address; else the
	 * slow path, where the interpreter touches only the masked-on ones */
	{ MAP_0F38, 0x2c, VX_66 | VX_W0 | VX_MEM, 16, 32, VO_NDS },               /* VMASKMOVPS load */
	{ MAP_0F38, 0x2d, VX_66 | VX_W0 | VX_MEM, 16, 32, VO_NDS },               /* VMASKMOVPD load */
	{ MAP_0F38, 0x2e, VX_66 | VX_W0 | VX_MEM, 16, 32, VO_MSTORE },            /* VMASKMOVPS store */
	{ MAP_0F38, 0x2f, VX_66 | VX_W0 | VX_MEM, 16, 32, VO_MSTORE },            /* VMASKMOVPD store */
	{ MAP_0F38, 0x8c, VX_66 | VX_MEM, 16, 32, VO_NDS },                       /* VPMASKMOVD/Q load */
	{ MAP_0F38, 0x8e, VX_66 | VX_MEM, 16, 32, VO_MSTORE },                    /* VPMASKMOVD/Q store */
	{ MAP_0F38, 0x13, VX_66 | VX_W0 | VX_NOV, 8, 16, VO_RM },                 /* VCVTPH2PS */
	{ MAP_0F3A, 0x1d, VX_66 | VX_W0 | VX_NOV, 8, 16, VO_STORE },              /* VCVTPS2PH */
};

static bool req_ok(const struct insn *i, unsigned req)
{
	return !(((req & VX_66) && i->pfx != PFX_66) || ((req & VX_W0) && i->vex_w) ||
		 ((req & VX_W1) && !i->vex_w) || ((req & VX_L1) && !i->vex_l) ||
		 ((req & VX_L0) && i->vex_l) || ((req & VX_NOV) && i->vvvv) ||
		 ((req & VX_MEM) && !i->mem));
}

/* FMA3 (fma.c): 66, W selects single or double; odd opcodes from 99 on
 * are scalar (LIG); the destination is a source too */
static bool fma_vform(const struct insn *i, struct vform *f)
{
	unsigned size = i->vex_w ? 8 : 4;
	bool scalar = (i->op & 1) && (i->op & 15) >= 9;
	if (i->map != MAP_0F38 || i->op < 0x96 || i->op > 0xbf || (i->op & 15) < 6 ||
	    i->pfx != PFX_66 || !__builtin_cpu_supports("fma"))
		return false;
	*f = (struct vform){ .msize = (uint8_t)(scalar ? size : i->vex_l ? 32 : 16), .rd_reg = true,
			     .wr_reg = true, .nds = true, .fp = true, .w = i->vex_w,
			     .l = i->vex_l && !scalar };
	return true;
}

static bool vonly_vform(const struct insn *i, struct vform *f)
{
	for (unsigned k = 0; k < sizeof(vonly) / sizeof(vonly[0]); k++) {
		const struct vonly *v = &vonly[k];
		if (v->map != i->map || v->op != i->op)
			continue;
		if (!req_ok(i, v->req))
			return false;
		/* F16C: conversions that may raise #I, #O, #U, #P (MXCSR) */
		bool f16c = (v->map == MAP_0F38 && v->op == 0x13) || (v->map == MAP_0F3A && v->op == 0x1d);
		if (f16c && !host_f16c())
			return false;
		bool store = v->kind == VO_STORE || v->kind == VO_MSTORE;
		*f = (struct vform){ .msize = i->vex_l ? v->m256 : v->m128, .rd_reg = store,
				     .wr_reg = !store, .wr_rm = store,
				     .nds = v->kind == VO_NDS || v->kind == VO_BLENDV ||
					    v->kind == VO_MSTORE,
				     .is4 = v->kind == VO_BLENDV, .w = i->vex_w, .l = i->vex_l,
				     .fp = f16c };
		return true;
	}
	return fma_vform(i, f);
}

/* ------------------------------------------------------------------ */
/* Instructions with a shape of their own                              */

/* 66 0F 71/72/73: VPSRLW/D/Q /2, VPSRAW/D /4, VPSLLW/D/Q /6, VPSRLDQ /3,
 * VPSLLDQ /7 by imm8: VEX.vvvv is the destination, ModRM.rm the source */
static bool gen_shift_imm(struct tr *t)
{
	const struct insn *i = t->i;
	struct emit *e = &t->e;
	jit_avx_check(t);
	tr_mem_done(t);
	ld_ymm(e, Y2, i->rm, i->vex_l);
	vex_emit(e, MAP_0F, PFX_66, i->vex_l, false, i->op, i->reg & 7, Y0, rm_reg(Y2),
		 (int)(i->imm & 0xff));
	st_ymm(e, Y0, i->vvvv);
	return true;
}

static bool shift_imm_ok(const struct insn *i)
{
	unsigned g = i->reg & 7;
	if (i->map != MAP_0F || i->op < 0x71 || i->op > 0x73 || i->pfx != PFX_66 || i->mem)
		return false;
	return g == 2 || g == 6 || (g == 4 && i->op != 0x73) || ((g == 3 || g == 7) && i->op == 0x73);
}

/* 66 0F 6E: VMOVD/VMOVQ xmm, r/m32/64 (VEX.128, no vvvv) */
static bool gen_movd_load(struct tr *t)
{
	const struct insn *i = t->i;
	struct emit *e = &t->e;
	bool q = i->rex & 8;
	struct hrm src = rm_reg(H_RAX);
	jit_avx_check(t);
	if (i->mem) {
		if (!vex_mem(t, q ? 8 : 4, ACC_READ, false))
			return false;
		src = rm_mem(H_RSI, 0);
	}
	tr_mem_done(t);
	if (!i->mem)
		emit_load(e, 8, H_RAX, tr_greg(t, i->rm, 8));
	vex_emit(e, MAP_0F, PFX_66, false, q, 0x6e, Y0, 0, src, -1);
	st_ymm(e, Y0, i->reg);
	return true;
}

/* 66 0F 7E: VMOVD/VMOVQ r/m32/64, xmm (a 32-bit register zero-extends) */
static bool gen_movd_store(struct tr *t)
{
	const struct insn *i = t->i;
	struct emit *e = &t->e;
	bool q = i->rex & 8;
	struct hrm dst = rm_reg(H_RAX);
	jit_avx_check(t);
	if (i->mem) {
		if (!vex_mem(t, q ? 8 : 4, ACC_WRITE, false))
			return false;
		dst = rm_mem(H_RSI, 0);
	}
	tr_mem_done(t);
	ld_ymm(e, Y0, i->reg, false);
	vex_emit(e, MAP_0F, PFX_66, false, q, 0x7e, Y0, 0, dst, -1);
	if (!i->mem)
		emit_store(e, 8, tr_greg(t, i->rm, 8), H_RAX);
	return true;
}

/* 66 0F D7: VPMOVMSKB r32, ymm; 0F 50: VMOVMSKPS, 66: VMOVMSKPD (the
 * register forms; the mask zero-extended into the GPR) */
static bool gen_movmsk(struct tr *t)
{
	const struct insn *i = t->i;
	struct emit *e = &t->e;
	jit_avx_check(t);
	tr_mem_done(t);
	ld_ymm(e, Y2, i->rm, i->vex_l);
	vex_emit(e, MAP_0F, i->pfx, i->vex_l, false, i->op, H_RAX, 0, rm_reg(Y2), -1);
	emit_store(e, 8, tr_greg(t, i->reg, 8), H_RAX);
	return true;
}

static bool movmsk_ok(const struct insn *i)
{
	if (i->map != MAP_0F || i->mem || i->vvvv)
		return false;
	return (i->op == 0xd7 && i->pfx == PFX_66) || (i->op == 0x50 && i->pfx <= PFX_66);
}

/* 0F 77: VZEROUPPER (L = 0) zeroes bits 255:128 of YMM0-15, VZEROALL
 * (L = 1) all of them (64-bit mode: 16 registers) */
static bool gen_vzero(struct tr *t)
{
	struct emit *e = &t->e;
	jit_avx_check(t);
	tr_mem_done(t);
	vex_emit(e, MAP_0F, PFX_66, false, false, 0xef, Y0, Y0, rm_reg(Y0), -1);       /* vpxor */
	for (int32_t k = 0; k < 8; k++) {
		/* vmovdqu m256, ymm0: two registers' halves at a time */
		vex_emit(e, MAP_0F, PFX_F3, true, false, 0x7f, Y0, 0,
			 rm_mem(R_CPU, CPU_OFF(xs.ymm_h[0]) + k * 32), -1);
		if (t->i->vex_l)
			vex_emit(e, MAP_0F, PFX_F3, true, false, 0x7f, Y0, 0,
				 rm_mem(R_CPU, CPU_OFF(fpu.xmm[0]) + k * 32), -1);
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* BMI1 and BMI2 (bmi.c): general registers, VEX.L = 0                 */

/* F2 0F 38 F6: MULX reg (high), vvvv (low), r/m * rDX; flags untouched.
 * The low half is written first: with reg = vvvv the high one stays
 * (SDM Vol. 2, "MULX"). */
static bool gen_mulx(struct tr *t)
{
	const struct insn *i = t->i;
	struct emit *e = &t->e;
	bool q = i->osz == 8;
	struct hrm rm = rm_reg(H_RSI);
	if (i->mem) {
		if (!tr_mem_operand(t, q ? 8 : 4, ACC_READ))
			return false;
		tr_mem_done(t);
		rm = rm_mem(H_RSI, 0);
	} else {
		emit_load(e, 8, H_RSI, tr_greg(t, i->rm, 8));
	}
	emit_load(e, 8, H_RDX, tr_greg(t, R_RDX, 8));
	vex_emit(e, MAP_0F38, PFX_F2, false, q, 0xf6, H_RAX, H_RCX, rm, -1);
	emit_store(e, 8, tr_greg(t, i->vvvv, 8), H_RCX);
	emit_store(e, 8, tr_greg(t, i->reg, 8), H_RAX);
	return true;
}

static bool mulx_ok(const struct insn *i)
{
	return i->map == MAP_0F38 && i->op == 0xf6 && i->pfx == PFX_F2 && !i->vex_l &&
	       emit_host_bmi2();
}

/* How a BMI instruction uses its operands: the destination is ModRM.reg
 * (or VEX.vvvv for group 17: BLSR BLSMSK BLSI), the sources r/m and
 * vvvv (not for RORX, nor group 17) */
struct bform {
	bool dst_vvvv;
	bool vvvv_src;
	unsigned fwrites;
};

static bool bmi_form(const struct insn *i, struct bform *b)
{
	if (i->vex_l || !emit_host_bmi2())
		return false;
	if (i->map == MAP_0F3A)
		return i->op == 0xf0 && i->pfx == PFX_F2 && !i->vvvv &&
		       (*b = (struct bform){ false, false, 0 }, true);         /* RORX */
	if (i->map != MAP_0F38)
		return false;
	switch (i->op) {
	case 0xf2:                      /* ANDN: SF ZF, OF CF cleared */
		*b = (struct bform){ false, true, FL_ARITH };
		return i->pfx == PFX_NONE;
	case 0xf3: {                    /* group 17: BLSR /1, BLSMSK /2, BLSI /3 */
		unsigned g = i->reg & 7;
		*b = (struct bform){ true, false, FL_ARITH };
		return i->pfx == PFX_NONE && g >= 1 && g <= 3;
	}
	case 0xf5:                      /* BZHI (flags); PEXT, PDEP */
		*b = (struct bform){ false, true, i->pfx == PFX_NONE ? FL_ARITH : 0 };
		return i->pfx != PFX_66;
	case 0xf7:                      /* SHLX SARX SHRX (BEXTR: none is BMI1's) */
		*b = (struct bform){ false, true, 0 };
		return i->pfx != PFX_NONE;
	}
	return false;
}

/* The host instruction on rax (the destination), rcx (vvvv) and rdx or
 * the guest memory (r/m) */
static bool gen_bmi(struct tr *t)
{
	const struct insn *i = t->i;
	struct emit *e = &t->e;
	struct bform b;
	bool q = i->osz == 8;
	struct hrm rm = rm_reg(H_RDX);
	int imm = i->imm_size ? (int)(i->imm & 0xff) : -1;
	bmi_form(i, &b);
	tr_flags_for_native(t, 0, b.fwrites);
	if (i->mem) {
		if (!tr_mem_operand(t, q ? 8 : 4, ACC_READ))
			return false;
		tr_mem_done(t);
		rm = rm_mem(H_RSI, 0);
	} else {
		emit_load(e, 8, H_RDX, tr_greg(t, i->rm, 8));
	}
	if (b.vvvv_src)
		emit_load(e, 8, H_RCX, tr_greg(t, i->vvvv, 8));
	if (b.dst_vvvv)
		vex_emit(e, i->map, i->pfx, false, q, i->op, i->reg & 7, H_RAX, rm, imm);
	else
		vex_emit(e, i->map, i->pfx, false, q, i->op, H_RAX, b.vvvv_src ? H_RCX : 0, rm, imm);
	/* a 32-bit result zero-extends in rax already */
	emit_store(e, 8, tr_greg(t, b.dst_vvvv ? i->vvvv : i->reg, 8), H_RAX);
	tr_flags_written(t, b.fwrites);
	return true;
}

/* ------------------------------------------------------------------ */
/* Classification                                                      */

/* The form of i as a vector instruction (false: not one compiled here) */
static bool vform_of(const struct insn *i, struct vform *f)
{
	return table_vform(i, f) || move_vform(i, f) || movq_vform(i, f) || vonly_vform(i, f);
}

static bool gen_vector(struct tr *t)
{
	struct vform f;
	vform_of(t->i, &f);
	return gen_vform(t, &f);
}

bool jit_classify_vex(const struct tr *t, const struct insn *i, struct gen_info *gi)
{
	struct vform f;
	struct bform b;
	bool (*gen)(struct tr *) = NULL;
	if (!i->vex || !tr_code64(t) || !(t->b->key & KEY_SSE) || !host_avx2())
		return false;
	if (bmi_form(i, &b)) {
		gi->gen = gen_bmi;
		gi->freads = 0;
		gi->fwrites = b.fwrites;
		return true;
	}
	if (mulx_ok(i)) {
		gi->gen = gen_mulx;
		gi->freads = gi->fwrites = 0;
		return true;
	}
	if (vform_of(i, &f))
		gen = gen_vector;
	else if (movmsk_ok(i))
		gen = gen_movmsk;
	else if (i->map == MAP_0F && i->op == 0x77 && i->pfx == PFX_NONE && !i->vvvv)
		gen = gen_vzero;
	else if (shift_imm_ok(i))
		gen = gen_shift_imm;
	else if (jit_gather_ok(t, i))
		gen = jit_gen_gather;
	else if (i->map == MAP_0F && i->pfx == PFX_66 && !i->vex_l && !i->vvvv && i->op == 0x6e)
		gen = gen_movd_load;
	else if (i->map == MAP_0F && i->pfx == PFX_66 && !i->vex_l && !i->vvvv && i->op == 0x7e)
		gen = gen_movd_store;
	if (!gen)
		return false;
	gi->gen = gen;
	gi->freads = 0;
	gi->fwrites = 0;
	return true;
}
