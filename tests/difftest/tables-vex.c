/*
 * The VEX-encoded forms (AVX, and AVX2's 256-bit integer forms) of the
 * SSE..SSE4.2 instructions, derived from the SSE entries of tables.c:
 * for each, its VEX.128 form and, where the instruction has one, its
 * VEX.256 form, with the operand roles of its page in the SDM Vol. 2
 * (VEX.vvvv a source, the destination of the shift-by-immediate groups,
 * or reserved: 1111b).  Scalar forms are LIG: their L=1 encoding is an
 * entry of its own.  The few VEX forms with no legacy twin (VBLENDVPS/PD,
 * VPBLENDVB with a register in imm8[7:4]; #UD encodings) are listed at
 * the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "difftest.h"

enum {
	VS_NONE,        /* no VEX form */
	VS_RM,          /* two operands: vvvv reserved */
	VS_NDS,         /* dst, src1 = vvvv, src2 = r/m */
	VS_NDD,         /* shift by immediate: vvvv = dst, r/m = src */
	VS_MOVS,        /* VMOVSS/SD load: NDS register form, RM memory form */
};
#define L256 0x10       /* has a VEX.256 form */
#define LIG 0x20        /* scalar: VEX.L ignored */
#define M_SAME 0x00     /* 256-bit memory operand: twice the 128-bit one */
#define M_KEEP 0x40     /* ... the same size (shift counts) */
#define M_QUAD 0x80     /* ... four times (VMOVDDUP) */
#define KEEP_L 0x100    /* L = 1 is another extension (VAES, VPCLMULQDQ) */

/* The VEX shape of 0F xx with mandatory prefix pfx (SDM Vol. 2,
 * Appendix A opcode maps, and each instruction's page). */
static unsigned shape_0f(unsigned op, unsigned pfx, int ext)
{
	bool ps = pfx == 0, pd = pfx == 0x66, scalar = pfx == 0xf3 || pfx == 0xf2;

	switch (op) {
	case 0x10:
		return scalar ? VS_MOVS | LIG : VS_RM | L256;
	case 0x11:
		return scalar ? VS_RM | LIG : VS_RM | L256;     /* store */
	case 0x12:
		if (pfx == 0xf3)
			return VS_RM | L256;
		if (pfx == 0xf2)
			return VS_RM | L256 | M_QUAD;
		return VS_NDS;
	case 0x16:
		return pfx == 0xf3 ? VS_RM | L256 : VS_NDS;
	case 0x13: case 0x17:
		return VS_RM;
	case 0x14: case 0x15:
		return VS_NDS | L256;
	case 0x28: case 0x29: case 0x2b:
		return VS_RM | L256;
	case 0x2a:
		return scalar ? VS_NDS | LIG : VS_NONE;
	case 0x2c: case 0x2d:
		return scalar ? VS_RM | LIG : VS_NONE;
	case 0x2e: case 0x2f:
		return VS_RM | LIG;
	case 0x50:
		return VS_RM | L256;
	case 0x51:
		return scalar ? VS_NDS | LIG : VS_RM | L256;
	case 0x52: case 0x53:
		return scalar ? VS_NDS | LIG : VS_RM | L256;
	case 0x54 ... 0x59: case 0x5c ... 0x5f:
		return scalar ? VS_NDS | LIG : VS_NDS | L256;
	case 0x5a:
		return scalar ? VS_NDS | LIG : VS_RM | L256;
	case 0x5b:
		return VS_RM | L256;
	case 0x60 ... 0x6d:
		return pd ? VS_NDS | L256 : VS_NONE;
	case 0x6e: case 0xd6: case 0xc5:
		return pd ? VS_RM : VS_NONE;
	case 0x7e:
		return pd || pfx == 0xf3 ? VS_RM : VS_NONE;
	case 0x6f: case 0x7f:
		return pd || pfx == 0xf3 ? VS_RM | L256 : VS_NONE;
	case 0x70:
		return ps ? VS_NONE : VS_RM | L256;
	case 0x71 ... 0x73:
		return pd && ext >= 0 ? VS_NDD | L256 : VS_NONE;
	case 0x74 ... 0x76:
		return pd ? VS_NDS | L256 : VS_NONE;
	case 0x7c: case 0x7d: case 0xd0:
		return pd || pfx == 0xf2 ? VS_NDS | L256 : VS_NONE;
	case 0xc2:
		return scalar ? VS_NDS | LIG : VS_NDS | L256;
	case 0xc4:
		return pd ? VS_NDS : VS_NONE;
	case 0xc6:
		return VS_NDS | L256;
	case 0xd1: case 0xd2: case 0xd3: case 0xe1: case 0xe2:
	case 0xf1: case 0xf2: case 0xf3:
		return pd ? VS_NDS | L256 | M_KEEP : VS_NONE;
	case 0xd7:
		return pd ? VS_RM | L256 : VS_NONE;
	case 0xe6:
		return ps ? VS_NONE : VS_RM | L256;
	case 0xe7:
		return pd ? VS_RM | L256 : VS_NONE;
	case 0xf0:
		return pfx == 0xf2 ? VS_RM | L256 : VS_NONE;
	case 0xf7:
		return pd ? VS_RM : VS_NONE;
	case 0xd4: case 0xd5: case 0xd8 ... 0xdf: case 0xe0: case 0xe3 ... 0xe5:
	case 0xe8 ... 0xef: case 0xf4 ... 0xf6: case 0xf8 ... 0xfe:
		return pd ? VS_NDS | L256 : VS_NONE;
	}
	return VS_NONE;
}

static unsigned shape_0f38(unsigned op)
{
	switch (op) {
	case 0x00 ... 0x0b: case 0x28: case 0x29: case 0x2b: case 0x37 ... 0x40:
		return VS_NDS | L256;
	case 0x17: case 0x1c ... 0x1e: case 0x20 ... 0x25: case 0x30 ... 0x35: case 0x2a:
		return VS_RM | L256;
	case 0x41:
		return VS_RM;
	case 0xdb:                      /* VAESIMC */
		return VS_RM | KEEP_L;
	case 0xdc ... 0xdf:             /* VAESENC ... VAESDECLAST (VEX.256: VAES) */
		return VS_NDS | KEEP_L;
	}
	return VS_NONE;         /* PBLENDVB, BLENDVPS/PD: other opcodes */
}

static unsigned shape_0f3a(unsigned op)
{
	switch (op) {
	case 0x08: case 0x09:
		return VS_RM | L256;
	case 0x0a: case 0x0b:
		return VS_NDS | LIG;
	case 0x0c ... 0x0f: case 0x40: case 0x42:
		return VS_NDS | L256;
	case 0x20 ... 0x22: case 0x41:
		return VS_NDS;
	case 0x14 ... 0x17: case 0x60 ... 0x63:
		return VS_RM;
	case 0x44:                      /* VPCLMULQDQ (VEX.256: VPCLMULQDQ) */
		return VS_NDS | KEEP_L;
	case 0xdf:                      /* VAESKEYGENASSIST */
		return VS_RM | KEEP_L;
	}
	return VS_NONE;
}

static unsigned shape_of(const struct dt_def *d)
{
	if (d->kind != K_SSE || d->nop < 2 || d->op[0] != 0x0f || d->rc_reg == RC_MMX ||
	    d->rc_rm == RC_MMX)
		return VS_NONE;
	if (d->nop == 3 && d->op[1] == 0x38)
		return d->pfx == 0x66 ? shape_0f38(d->op[2]) : VS_NONE;
	if (d->nop == 3 && d->op[1] == 0x3a)
		return d->pfx == 0x66 ? shape_0f3a(d->op[2]) : VS_NONE;
	if (d->nop != 2 || d->op[1] == 0xae)
		return VS_NONE;
	return shape_0f(d->op[1], d->pfx, d->ext);
}

static const char *vname(const char *prefix, const char *name, const char *suffix)
{
	size_t n = strlen(prefix) + strlen(name) + strlen(suffix) + 1;
	char *s = malloc(n);

	if (!s) {
		fprintf(stderr, "difftest: out of memory\n");
		exit(1);
	}
	snprintf(s, n, "%s%s%s", prefix, name, suffix);
	return s;
}

/* out[n] = the VEX form of d with L = l, when out is not NULL. */
static unsigned add(struct dt_def *out, unsigned n, const struct dt_def *d, unsigned shape,
		    unsigned l)
{
	if (!out)
		return n + 1;
	struct dt_def *v = &out[n];
	unsigned kind = shape & 15;

	*v = *d;
	v->group = vname("avx-", d->group, "");
	v->name = vname("v", d->name, l ? " L1" : "");
	v->vex = DV_VEX | (l ? DV_L1 : 0) |
		 (kind == VS_NDS ? DV_NDS : kind == VS_NDD ? DV_NDD :
		  kind == VS_MOVS ? DV_NDS_REG : 0) | (shape & KEEP_L ? DV_KEEP_L : 0);
	v->x &= ~(X_LOCK | X_REP);
	if (d->nop == 2 && d->op[1] == 0xc2)
		v->imm_max = 31;        /* VCMPPS & co: 32 predicates */
	/* VBLENDPS/PD and VMPSADBW ymm: the high lane has imm8 bits of its own */
	if (l && d->nop == 3 && d->op[1] == 0x3a &&
	    (d->op[2] == 0x0c || d->op[2] == 0x0d || d->op[2] == 0x42))
		v->imm_max = 0;
	if (l && shape & L256 && v->msize >= 2) {
		if (shape & M_QUAD)
			v->msize *= 4;
		else if (!(shape & M_KEEP))
			v->msize *= 2;
	}
	return n + 1;
}

/* The hand-written entries: VEX forms with no legacy twin, and #UD ones. */
#define VXF .form = F_MODRM, .ext = -1, .rc_reg = RC_XMM, .rc_rm = RC_XMM, .kind = K_SSE
static const struct dt_def extra[] = {
	{ .group = "avx-blendv", .name = "vblendvps", .pfx = 0x66, .nop = 3,
	  .op = { 0x0f, 0x3a, 0x4a }, VXF, .msize = 16, .vk = VK_PS, .imm = IMM_8,
	  .vex = DV_VEX | DV_NDS | DV_IS4 },
	{ .group = "avx-blendv", .name = "vblendvps L1", .pfx = 0x66, .nop = 3,
	  .op = { 0x0f, 0x3a, 0x4a }, VXF, .msize = 32, .vk = VK_PS, .imm = IMM_8,
	  .vex = DV_VEX | DV_NDS | DV_IS4 | DV_L1 },
	{ .group = "avx-blendv", .name = "vblendvpd", .pfx = 0x66, .nop = 3,
	  .op = { 0x0f, 0x3a, 0x4b }, VXF, .msize = 16, .vk = VK_PD, .imm = IMM_8,
	  .vex = DV_VEX | DV_NDS | DV_IS4 },
	{ .group = "avx-blendv", .name = "vblendvpd L1", .pfx = 0x66, .nop = 3,
	  .op = { 0x0f, 0x3a, 0x4b }, VXF, .msize = 32, .vk = VK_PD, .imm = IMM_8,
	  .vex = DV_VEX | DV_NDS | DV_IS4 | DV_L1 },
	{ .group = "avx-blendv", .name = "vpblendvb", .pfx = 0x66, .nop = 3,
	  .op = { 0x0f, 0x3a, 0x4c }, VXF, .msize = 16, .vk = VK_INT, .imm = IMM_8,
	  .vex = DV_VEX | DV_NDS | DV_IS4 },
	{ .group = "avx-blendv", .name = "vpblendvb L1", .pfx = 0x66, .nop = 3,
	  .op = { 0x0f, 0x3a, 0x4c }, VXF, .msize = 32, .vk = VK_INT, .imm = IMM_8,
	  .vex = DV_VEX | DV_NDS | DV_IS4 | DV_L1, .feat = FEAT_AVX2 },
	/* VTESTPS / VTESTPD (VEX.66.0F38.W0 0E / 0F): sign bits only */
	{ .group = "avx-test", .name = "vtestps", .pfx = 0x66, .nop = 3,
	  .op = { 0x0f, 0x38, 0x0e }, VXF, .msize = 16, .vk = VK_PS, .vex = DV_VEX },
	{ .group = "avx-test", .name = "vtestps L1", .pfx = 0x66, .nop = 3,
	  .op = { 0x0f, 0x38, 0x0e }, VXF, .msize = 32, .vk = VK_PS, .vex = DV_VEX | DV_L1,
	  .feat = FEAT_AVX },
	{ .group = "avx-test", .name = "vtestpd", .pfx = 0x66, .nop = 3,
	  .op = { 0x0f, 0x38, 0x0f }, VXF, .msize = 16, .vk = VK_PD, .vex = DV_VEX },
	{ .group = "avx-test", .name = "vtestpd L1", .pfx = 0x66, .nop = 3,
	  .op = { 0x0f, 0x38, 0x0f }, VXF, .msize = 32, .vk = VK_PD, .vex = DV_VEX | DV_L1,
	  .feat = FEAT_AVX },
	/* VZEROUPPER / VZEROALL (avx.c) */
	{ .group = "avx-state", .name = "vzeroupper", .nop = 2, .op = { 0x0f, 0x77 },
	  .form = F_NONE, .kind = K_SSE, .vex = DV_VEX },
	{ .group = "avx-state", .name = "vzeroall", .nop = 2, .op = { 0x0f, 0x77 },
	  .form = F_NONE, .kind = K_SSE, .vex = DV_VEX | DV_L1 },
	/* vldmxcsr / vstmxcsr (VEX.LZ.0F AE /2 /3) */
	{ .group = "avx-state", .name = "vldmxcsr", .nop = 2, .op = { 0x0f, 0xae },
	  .form = F_MODRM, .ext = 2, .rm = RM_MEM, .msize = 4, .kind = K_SSE, .x = X_MXCSR,
	  .vex = DV_VEX },
	{ .group = "avx-state", .name = "vstmxcsr", .nop = 2, .op = { 0x0f, 0xae },
	  .form = F_MODRM, .ext = 3, .rm = RM_MEM, .msize = 4, .kind = K_SSE, .vex = DV_VEX },
	/* #UD: a vvvv other than 1111b for a two-operand form; L=1 where
	 * there is no 256-bit form; the MMX forms have no VEX encoding */
	{ .group = "avx-ud", .name = "vsqrtps vvvv", .nop = 2, .op = { 0x0f, 0x51 }, VXF,
	  .msize = 16, .vk = VK_PS, .vex = DV_VEX | DV_NDS, .x = X_UD },
	{ .group = "avx-ud", .name = "vptest vvvv", .pfx = 0x66, .nop = 3,
	  .op = { 0x0f, 0x38, 0x17 }, VXF, .msize = 16, .vex = DV_VEX | DV_NDS, .x = X_UD },
	{ .group = "avx-ud", .name = "vpshufd vvvv", .pfx = 0x66, .nop = 2, .op = { 0x0f, 0x70 },
	  VXF, .msize = 16, .imm = IMM_8, .vex = DV_VEX | DV_NDS, .x = X_UD },
	{ .group = "avx-ud", .name = "vmovd L1", .pfx = 0x66, .nop = 2, .op = { 0x0f, 0x6e },
	  .form = F_MODRM, .ext = -1, .rc_reg = RC_XMM, .rc_rm = RC_GPR, .sizes = SZ32,
	  .kind = K_SSE, .vex = DV_VEX | DV_L1, .x = X_UD },
	{ .group = "avx-ud", .name = "vpinsrw L1", .pfx = 0x66, .nop = 2, .op = { 0x0f, 0xc4 },
	  .form = F_MODRM, .ext = -1, .rc_reg = RC_XMM, .rc_rm = RC_GPR, .sizes = SZ32,
	  .msize = 2, .imm = IMM_8, .kind = K_SSE, .vex = DV_VEX | DV_L1 | DV_NDS, .x = X_UD },
	{ .group = "avx-ud", .name = "vpcmpistri L1", .pfx = 0x66, .nop = 3,
	  .op = { 0x0f, 0x3a, 0x63 }, VXF, .msize = 16, .imm = IMM_8, .vk = VK_STR,
	  .vex = DV_VEX | DV_L1, .x = X_UD },
	{ .group = "avx-ud", .name = "vpaddb mm", .nop = 2, .op = { 0x0f, 0xfc }, VXF,
	  .msize = 8, .vex = DV_VEX | DV_NDS, .x = X_UD },
	{ .group = "avx-ud", .name = "vpblendvb 0F38", .pfx = 0x66, .nop = 3,
	  .op = { 0x0f, 0x38, 0x10 }, VXF, .msize = 16, .vex = DV_VEX | DV_NDS, .x = X_UD },
};

unsigned dt_vex_defs(struct dt_def *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < dt_ndefs_legacy; i++) {
		const struct dt_def *d = &dt_defs_legacy[i];
		unsigned shape = shape_of(d);

		if (!(shape & 15))
			continue;
		n = add(out, n, d, shape, 0);
		if (shape & (L256 | LIG))
			n = add(out, n, d, shape, 1);
	}
	for (unsigned i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		if (out)
			out[n] = extra[i];
		n++;
	}
	return n;
}
