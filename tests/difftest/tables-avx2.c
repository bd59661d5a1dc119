/*
 * The instructions that exist only with VEX (user/tcg/avx2.c,
 * avx2-mem.c, fma.c, f16c.c): AVX and AVX2 broadcasts, 128-bit inserts,
 * extracts and permutes, the element permutes, VPBLENDD, the per-element
 * shifts, VTESTPS/PD, the masked moves, FMA3 and F16C, each in its
 * VEX.128 and VEX.256 forms (SDM Vol. 2, each instruction's page).  The
 * random pass flips L and W and gives vvvv-less forms a register: the
 * host says which of those are #UD.  The gathers' VSIB operands come from
 * gen-vsib.c, and so do the masks of the gathers and masked moves.
 */
#include <stdio.h>
#include "difftest.h"

#define VXF .form = F_MODRM, .ext = -1, .rc_reg = RC_XMM, .rc_rm = RC_XMM, .kind = K_SSE, \
	.pfx = 0x66, .nop = 3
#define M38(o) .op = { 0x0f, 0x38, (o) }
#define M3A(o) .op = { 0x0f, 0x3a, (o) }, .imm = IMM_8

/* name, map, msize (128-bit form), vex flags, then the 256-bit twin */
#define PAIR(g, n, map, ms, vk_, fl, ft, ...)                                   \
	{ .group = g, .name = n, VXF, map, .msize = (ms), .vk = (vk_),          \
	  .vex = DV_VEX | (fl), .feat = (ft), __VA_ARGS__ },                   \
	{ .group = g, .name = n " L1", VXF, map, .msize = 2 * (ms), .vk = (vk_), \
	  .vex = DV_VEX | DV_L1 | (fl), .feat = (ft), __VA_ARGS__ }
#define ONE(g, n, map, ms, vk_, fl, ft, ...)                                    \
	{ .group = g, .name = n, VXF, map, .msize = (ms), .vk = (vk_),          \
	  .vex = DV_VEX | (fl), .feat = (ft), __VA_ARGS__ }

#define GATHER(n, o, w)                                                         \
	PAIR("avx2-gather", n, M38(o), 16, VK_INT, DV_NDS | (w), FEAT_AVX2,     \
	     .rm = RM_MEM, .x = X_VSIB)

/* FMA3: opcode o, packed (PS/PD, 128 and 256) or scalar (SS/SD) */
#define FMA_P(n, o)                                                             \
	PAIR("fma", n "ps", M38(o), 16, VK_PS, DV_NDS, FEAT_FMA, .rm = RM_ANY), \
	PAIR("fma", n "pd", M38(o), 16, VK_PD, DV_NDS | DV_W1, FEAT_FMA, .rm = RM_ANY)
#define FMA_S(n, o)                                                             \
	ONE("fma", n "ss", M38(o), 4, VK_PS, DV_NDS, FEAT_FMA, .rm = RM_ANY),   \
	ONE("fma", n "sd", M38(o), 8, VK_PD, DV_NDS | DV_W1, FEAT_FMA, .rm = RM_ANY)
#define FMA_ORDERS(n, o, K)                                                     \
	K(n "132", 0x90 + (o)), K(n "213", 0xa0 + (o)), K(n "231", 0xb0 + (o))

const struct dt_def dt_defs_avx2[] = {
	/* broadcasts: the register sources are AVX2 */
	PAIR("avx2-bcast", "vbroadcastss", M38(0x18), 4, VK_PS, 0, FEAT_AVX2),
	ONE("avx2-bcast", "vbroadcastsd L1", M38(0x19), 8, VK_PD, DV_L1, FEAT_AVX2),
	ONE("avx2-bcast", "vbroadcastf128", M38(0x1a), 16, VK_PS, DV_L1, FEAT_AVX, .rm = RM_MEM),
	ONE("avx2-bcast", "vbroadcasti128", M38(0x5a), 16, VK_INT, DV_L1, FEAT_AVX2, .rm = RM_MEM),
	PAIR("avx2-bcast", "vpbroadcastb", M38(0x78), 1, VK_INT, 0, FEAT_AVX2),
	PAIR("avx2-bcast", "vpbroadcastw", M38(0x79), 2, VK_INT, 0, FEAT_AVX2),
	PAIR("avx2-bcast", "vpbroadcastd", M38(0x58), 4, VK_INT, 0, FEAT_AVX2),
	PAIR("avx2-bcast", "vpbroadcastq", M38(0x59), 8, VK_INT, 0, FEAT_AVX2),
	/* 128-bit halves */
	ONE("avx2-lane", "vinsertf128", M3A(0x18), 16, VK_PS, DV_L1 | DV_NDS, FEAT_AVX),
	ONE("avx2-lane", "vextractf128", M3A(0x19), 16, VK_PS, DV_L1, FEAT_AVX),
	ONE("avx2-lane", "vperm2f128", M3A(0x06), 32, VK_PS, DV_L1 | DV_NDS, FEAT_AVX),
	ONE("avx2-lane", "vinserti128", M3A(0x38), 16, VK_INT, DV_L1 | DV_NDS, FEAT_AVX2),
	ONE("avx2-lane", "vextracti128", M3A(0x39), 16, VK_INT, DV_L1, FEAT_AVX2),
	ONE("avx2-lane", "vperm2i128", M3A(0x46), 32, VK_INT, DV_L1 | DV_NDS, FEAT_AVX2),
	/* element permutes and VPBLENDD */
	PAIR("avx2-perm", "vpermilps", M38(0x0c), 16, VK_INT, DV_NDS, FEAT_AVX),
	PAIR("avx2-perm", "vpermilpd", M38(0x0d), 16, VK_INT, DV_NDS, FEAT_AVX),
	PAIR("avx2-perm", "vpermilps imm", M3A(0x04), 16, VK_PS, 0, FEAT_AVX),
	PAIR("avx2-perm", "vpermilpd imm", M3A(0x05), 16, VK_PD, 0, FEAT_AVX),
	ONE("avx2-perm", "vpermd", M38(0x36), 32, VK_INT, DV_L1 | DV_NDS, FEAT_AVX2),
	ONE("avx2-perm", "vpermps", M38(0x16), 32, VK_PS, DV_L1 | DV_NDS, FEAT_AVX2),
	ONE("avx2-perm", "vpermq", M3A(0x00), 32, VK_INT, DV_L1 | DV_W1, FEAT_AVX2),
	ONE("avx2-perm", "vpermpd", M3A(0x01), 32, VK_PD, DV_L1 | DV_W1, FEAT_AVX2),
	ONE("avx2-perm", "vpermq W0", M3A(0x00), 32, VK_INT, DV_L1, FEAT_AVX2),
	PAIR("avx2-perm", "vpblendd", M3A(0x02), 16, VK_INT, DV_NDS, FEAT_AVX2),
	/* per-element shifts */
	PAIR("avx2-shiftv", "vpsrlvd", M38(0x45), 16, VK_INT, DV_NDS, FEAT_AVX2),
	PAIR("avx2-shiftv", "vpsrlvq", M38(0x45), 16, VK_INT, DV_NDS | DV_W1, FEAT_AVX2),
	PAIR("avx2-shiftv", "vpsravd", M38(0x46), 16, VK_INT, DV_NDS, FEAT_AVX2),
	PAIR("avx2-shiftv", "vpsllvd", M38(0x47), 16, VK_INT, DV_NDS, FEAT_AVX2),
	PAIR("avx2-shiftv", "vpsllvq", M38(0x47), 16, VK_INT, DV_NDS | DV_W1, FEAT_AVX2),
	/* VTESTPS/PD: flags */
	PAIR("avx2-vtest", "vtestps", M38(0x0e), 16, VK_PS, 0, FEAT_AVX),
	PAIR("avx2-vtest", "vtestpd", M38(0x0f), 16, VK_PD, 0, FEAT_AVX),
	/* masked moves: memory forms only; the masks come from vvvv.  The
	 * stores' #PF address is the first element that faults (the
	 * processor's order is model-specific) */
	PAIR("avx2-maskmov", "vmaskmovps load", M38(0x2c), 16, VK_PS, DV_NDS, FEAT_AVX, .rm = RM_MEM,
	     .x = X_MASKV),
	PAIR("avx2-maskmov", "vmaskmovpd load", M38(0x2d), 16, VK_PD, DV_NDS, FEAT_AVX, .rm = RM_MEM,
	     .x = X_MASKV),
	PAIR("avx2-maskmov", "vmaskmovps store", M38(0x2e), 16, VK_PS, DV_NDS, FEAT_AVX,
	     .rm = RM_MEM, .x = X_NOCR2 | X_MASKV),
	PAIR("avx2-maskmov", "vmaskmovpd store", M38(0x2f), 16, VK_PD, DV_NDS, FEAT_AVX,
	     .rm = RM_MEM, .x = X_NOCR2 | X_MASKV),
	PAIR("avx2-maskmov", "vpmaskmovd load", M38(0x8c), 16, VK_INT, DV_NDS, FEAT_AVX2, .rm = RM_MEM,
	     .x = X_MASKV),
	PAIR("avx2-maskmov", "vpmaskmovq load", M38(0x8c), 16, VK_INT, DV_NDS | DV_W1, FEAT_AVX2,
	     .rm = RM_MEM, .x = X_MASKV),
	PAIR("avx2-maskmov", "vpmaskmovd store", M38(0x8e), 16, VK_INT, DV_NDS, FEAT_AVX2,
	     .rm = RM_MEM, .x = X_NOCR2 | X_MASKV),
	PAIR("avx2-maskmov", "vpmaskmovq store", M38(0x8e), 16, VK_INT, DV_NDS | DV_W1, FEAT_AVX2,
	     .rm = RM_MEM, .x = X_NOCR2 | X_MASKV),
	/* gathers: VSIB addressing (gen.c, gen-vsib.c), the mask in vvvv;
	 * D/Q index (90 92 / 91 93) by element size (W) */
	GATHER("vpgatherdd", 0x90, 0), GATHER("vpgatherdq", 0x90, DV_W1),
	GATHER("vpgatherqd", 0x91, 0), GATHER("vpgatherqq", 0x91, DV_W1),
	GATHER("vgatherdps", 0x92, 0), GATHER("vgatherdpd", 0x92, DV_W1),
	GATHER("vgatherqps", 0x93, 0), GATHER("vgatherqpd", 0x93, DV_W1),
	/* FMA3 */
	FMA_ORDERS("vfmaddsub", 0x06, FMA_P),
	FMA_ORDERS("vfmsubadd", 0x07, FMA_P),
	FMA_ORDERS("vfmadd", 0x08, FMA_P),
	FMA_ORDERS("vfmadd", 0x09, FMA_S),
	FMA_ORDERS("vfmsub", 0x0a, FMA_P),
	FMA_ORDERS("vfmsub", 0x0b, FMA_S),
	FMA_ORDERS("vfnmadd", 0x0c, FMA_P),
	FMA_ORDERS("vfnmadd", 0x0d, FMA_S),
	FMA_ORDERS("vfnmsub", 0x0e, FMA_P),
	FMA_ORDERS("vfnmsub", 0x0f, FMA_S),
	/* F16C: halves as integers, singles as floats */
	PAIR("f16c", "vcvtph2ps", M38(0x13), 8, VK_INT, 0, FEAT_F16C),
	PAIR("f16c", "vcvtps2ph", M3A(0x1d), 8, VK_PS, 0, FEAT_F16C),
	/* #UD: no 128-bit form, W1 where the page says W0, a register where
	 * only memory is allowed */
	ONE("avx2-ud", "vbroadcastsd L0", M38(0x19), 8, VK_PD, 0, FEAT_AVX2, .x = X_UD),
	ONE("avx2-ud", "vpermd L0", M38(0x36), 16, VK_INT, DV_NDS, FEAT_AVX2, .x = X_UD),
	ONE("avx2-ud", "vperm2f128 L0", M3A(0x06), 16, VK_PS, DV_NDS, FEAT_AVX, .x = X_UD),
	ONE("avx2-ud", "vpsravd W1", M38(0x46), 16, VK_INT, DV_NDS | DV_W1, FEAT_AVX2, .x = X_UD),
	ONE("avx2-ud", "vpermilps W1", M38(0x0c), 16, VK_INT, DV_NDS | DV_W1, FEAT_AVX, .x = X_UD),
	ONE("avx2-ud", "vbroadcastf128 reg", M38(0x1a), 16, VK_PS, DV_L1, FEAT_AVX,
	    .rm = RM_REG, .x = X_UD),
	ONE("avx2-ud", "vmaskmovps reg", M38(0x2c), 16, VK_PS, DV_NDS, FEAT_AVX,
	    .rm = RM_REG, .x = X_UD),
	ONE("avx2-ud", "vtestps vvvv", M38(0x0e), 16, VK_PS, DV_NDS, FEAT_AVX, .x = X_UD),
	ONE("avx2-ud", "vextractf128 vvvv", M3A(0x19), 16, VK_PS, DV_L1 | DV_NDS, FEAT_AVX,
	    .x = X_UD),
};

const unsigned dt_ndefs_avx2 = sizeof(dt_defs_avx2) / sizeof(dt_defs_avx2[0]);
