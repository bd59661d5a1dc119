/*
 * The instructions under test: one entry per encoding form.  Undefined
 * flags follow each instruction's "Flags Affected" section in the SDM
 * Vol. 2; undefined x87 condition codes its "FPU Flags Affected".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "difftest.h"

#define D_(g, n) .group = g, .name = n
#define O1(a) .nop = 1, .op = { a }
#define O2(a, b) .nop = 2, .op = { a, b }
#define O3(a, b, c) .nop = 3, .op = { a, b, c }
#define MR .form = F_MODRM, .ext = -1, .rc_reg = RC_GPR, .rc_rm = RC_GPR
#define MX(n) .form = F_MODRM, .ext = n, .rc_rm = RC_GPR
#define NM .form = F_NONE
#define OPR .form = F_OPREG, .rc_reg = RC_GPR

#define CF 0x1
#define PF 0x4
#define AF 0x10
#define ZF 0x40
#define SF 0x80
#define OF 0x800
#define U_MUL (SF | ZF | AF | PF)
#define U_ALL (CF | PF | AF | ZF | SF | OF)
#define U_BT (OF | SF | AF | PF)
#define U_BSF (CF | OF | SF | AF | PF)

/* ALU op with its nine encodings (SDM Vol. 2, "ADD" ...) */
#define ALU(g, b, n, u, lk) \
	{ D_(g, "r/m8,r8"), O1(b), MR, .sizes = SZ8, .undef = u, .x = lk }, \
	{ D_(g, "r/m,r"), O1(b + 1), MR, .sizes = SZV, .undef = u, .x = lk }, \
	{ D_(g, "r8,r/m8"), O1(b + 2), MR, .sizes = SZ8, .undef = u }, \
	{ D_(g, "r,r/m"), O1(b + 3), MR, .sizes = SZV, .undef = u }, \
	{ D_(g, "al,imm8"), O1(b + 4), NM, .sizes = SZ8, .imm = IMM_8, .undef = u, .x = X_ACC }, \
	{ D_(g, "rax,imm"), O1(b + 5), NM, .sizes = SZV, .imm = IMM_Z, .undef = u, .x = X_ACC }, \
	{ D_(g, "r/m8,imm8"), O1(0x80), MX(n), .sizes = SZ8, .imm = IMM_8, .undef = u, .x = lk }, \
	{ D_(g, "r/m,imm"), O1(0x81), MX(n), .sizes = SZV, .imm = IMM_Z, .undef = u, .x = lk }, \
	{ D_(g, "r/m,imm8"), O1(0x83), MX(n), .sizes = SZV, .imm = IMM_8, .undef = u, .x = lk }

/* shift/rotate group n: imm8, 1, CL */
#define SHIFT(g, n, xx) \
	{ D_(g, "r/m8,imm8"), O1(0xc0), MX(n), .sizes = SZ8, .imm = IMM_8, .vk = VK_COUNT, .x = xx }, \
	{ D_(g, "r/m,imm8"), O1(0xc1), MX(n), .sizes = SZV, .imm = IMM_8, .vk = VK_COUNT, .x = xx }, \
	{ D_(g, "r/m8,1"), O1(0xd0), MX(n), .sizes = SZ8, .x = xx }, \
	{ D_(g, "r/m,1"), O1(0xd1), MX(n), .sizes = SZV, .x = xx }, \
	{ D_(g, "r/m8,cl"), O1(0xd2), MX(n), .sizes = SZ8, .vk = VK_COUNT, .x = xx | X_CL }, \
	{ D_(g, "r/m,cl"), O1(0xd3), MX(n), .sizes = SZV, .vk = VK_COUNT, .x = xx | X_CL }

/* F6/F7 group with rAX */
#define MULDIV(g, n, u, xx) \
	{ D_(g, "r/m8"), O1(0xf6), MX(n), .sizes = SZ8, .undef = u, .x = X_ACC | xx }, \
	{ D_(g, "r/m"), O1(0xf7), MX(n), .sizes = SZV, .undef = u, .x = X_ACC | xx }

#define CC16(g, n, OPK, ...) \
	{ D_(g, n "o"), OPK(0), __VA_ARGS__ }, { D_(g, n "no"), OPK(1), __VA_ARGS__ }, \
	{ D_(g, n "b"), OPK(2), __VA_ARGS__ }, { D_(g, n "ae"), OPK(3), __VA_ARGS__ }, \
	{ D_(g, n "e"), OPK(4), __VA_ARGS__ }, { D_(g, n "ne"), OPK(5), __VA_ARGS__ }, \
	{ D_(g, n "be"), OPK(6), __VA_ARGS__ }, { D_(g, n "a"), OPK(7), __VA_ARGS__ }, \
	{ D_(g, n "s"), OPK(8), __VA_ARGS__ }, { D_(g, n "ns"), OPK(9), __VA_ARGS__ }, \
	{ D_(g, n "p"), OPK(10), __VA_ARGS__ }, { D_(g, n "np"), OPK(11), __VA_ARGS__ }, \
	{ D_(g, n "l"), OPK(12), __VA_ARGS__ }, { D_(g, n "ge"), OPK(13), __VA_ARGS__ }, \
	{ D_(g, n "le"), OPK(14), __VA_ARGS__ }, { D_(g, n "g"), OPK(15), __VA_ARGS__ }
#define OP_JCC8(k) O1(0x70 + k)
#define OP_JCC32(k) O2(0x0f, 0x80 + k)
#define OP_SETCC(k) O2(0x0f, 0x90 + k)
#define OP_CMOVCC(k) O2(0x0f, 0x40 + k)

#define STR_OP(g, n, o, xx) \
	{ D_(g, n "b"), O1(o), NM, .sizes = SZ8, .msize = 1, .x = X_STRING | X_REP | xx }, \
	{ D_(g, n), O1(o + 1), NM, .sizes = SZV, .x = X_STRING | X_REP | xx }

/* SIMD forms */
#define XMMF .form = F_MODRM, .ext = -1, .rc_reg = RC_XMM, .rc_rm = RC_XMM
#define MMXF .form = F_MODRM, .ext = -1, .rc_reg = RC_MMX, .rc_rm = RC_MMX
#define SSE(g, n, p, o, ms, v) \
	{ D_(g, n), .pfx = p, O2(0x0f, o), XMMF, .msize = ms, .vk = v, .kind = K_SSE }
#define SSEX(g, n, p, o, ms, v, xx) \
	{ D_(g, n), .pfx = p, O2(0x0f, o), XMMF, .msize = ms, .vk = v, .kind = K_SSE, .x = xx }
#define SSEI(g, n, p, o, ms, v, mx) \
	{ D_(g, n), .pfx = p, O2(0x0f, o), XMMF, .msize = ms, .vk = v, .kind = K_SSE, \
	  .imm = IMM_8, .imm_max = mx }
#define S38(g, n, o, ms, v) \
	{ D_(g, n), .pfx = 0x66, O3(0x0f, 0x38, o), XMMF, .msize = ms, .vk = v, .kind = K_SSE }
#define S3A(g, n, o, ms, v, mx) \
	{ D_(g, n), .pfx = 0x66, O3(0x0f, 0x3a, o), XMMF, .msize = ms, .vk = v, .kind = K_SSE, \
	  .imm = IMM_8, .imm_max = mx }
/* packed-integer op in its MMX and SSE2 forms */
#define PINT(g, n, o) \
	{ D_(g, n " mm"), O2(0x0f, o), MMXF, .msize = 8, .kind = K_MMX }, \
	{ D_(g, n " xmm"), .pfx = 0x66, O2(0x0f, o), XMMF, .msize = 16, .kind = K_SSE }
#define PINT38(g, n, o) \
	{ D_(g, n " mm"), O3(0x0f, 0x38, o), MMXF, .msize = 8, .kind = K_MMX }, \
	{ D_(g, n " xmm"), .pfx = 0x66, O3(0x0f, 0x38, o), XMMF, .msize = 16, .kind = K_SSE }
/* the four FP forms ps, pd, ss, sd */
#define FP4(g, n, o) \
	SSE(g, n "ps", 0, o, 16, VK_PS), SSE(g, n "pd", 0x66, o, 16, VK_PD), \
	SSE(g, n "ss", 0xf3, o, 4, VK_PS), SSE(g, n "sd", 0xf2, o, 8, VK_PD)
/* shift by immediate: group op /n on an MMX or XMM register */
#define PSHI(g, n, o, e) \
	{ D_(g, n " mm,imm"), O2(0x0f, o), .form = F_MODRM, .ext = e, .rm = RM_REG, \
	  .rc_rm = RC_MMX, .imm = IMM_8, .kind = K_MMX }, \
	{ D_(g, n " xmm,imm"), .pfx = 0x66, O2(0x0f, o), .form = F_MODRM, .ext = e, \
	  .rm = RM_REG, .rc_rm = RC_XMM, .imm = IMM_8, .kind = K_SSE }

/* x87 */
#define C023 0x4500     /* C0 C2 C3 */
#define C0123 0x4700
#define X87M(g, n, o, e, mf, ms, u) \
	{ D_(g, n), O1(o), .form = F_MODRM, .ext = e, .rm = RM_MEM, .msize = ms, .mfmt = mf, \
	  .vk = VK_X87, .kind = K_X87, .fsw_undef = u }
#define X87R(g, n, o, e, u) \
	{ D_(g, n), O1(o), .form = F_MODRM, .ext = e, .rm = RM_REG, .rc_rm = RC_X87, \
	  .vk = VK_X87, .kind = K_X87, .fsw_undef = u }
#define X87N(g, n, o, m, u) \
	{ D_(g, n), O2(o, m), NM, .vk = VK_X87, .kind = K_X87, .fsw_undef = u }
/* the eight arithmetic ops of D8/DC: add mul com comp sub subr div divr */
#define X87ARITH(g, o, mf, ms, suffix) \
	X87M(g, "fadd " suffix, o, 0, mf, ms, C023), X87M(g, "fmul " suffix, o, 1, mf, ms, C023), \
	X87M(g, "fcom " suffix, o, 2, mf, ms, 0), X87M(g, "fcomp " suffix, o, 3, mf, ms, 0), \
	X87M(g, "fsub " suffix, o, 4, mf, ms, C023), X87M(g, "fsubr " suffix, o, 5, mf, ms, C023), \
	X87M(g, "fdiv " suffix, o, 6, mf, ms, C023), X87M(g, "fdivr " suffix, o, 7, mf, ms, C023)

const struct dt_def dt_defs_legacy[] = {
	/* integer ALU */
	ALU("alu-add", 0x00, 0, 0, X_LOCK),
	ALU("alu-or", 0x08, 1, AF, X_LOCK),
	ALU("alu-adc", 0x10, 2, 0, X_LOCK),
	ALU("alu-sbb", 0x18, 3, 0, X_LOCK),
	ALU("alu-and", 0x20, 4, AF, X_LOCK),
	ALU("alu-sub", 0x28, 5, 0, X_LOCK),
	ALU("alu-xor", 0x30, 6, AF, X_LOCK),
	ALU("alu-cmp", 0x38, 7, 0, 0),
	{ D_("alu-test", "r/m8,r8"), O1(0x84), MR, .sizes = SZ8, .undef = AF },
	{ D_("alu-test", "r/m,r"), O1(0x85), MR, .sizes = SZV, .undef = AF },
	{ D_("alu-test", "al,imm8"), O1(0xa8), NM, .sizes = SZ8, .imm = IMM_8, .undef = AF, .x = X_ACC },
	{ D_("alu-test", "rax,imm"), O1(0xa9), NM, .sizes = SZV, .imm = IMM_Z, .undef = AF, .x = X_ACC },
	{ D_("alu-test", "r/m8,imm8"), O1(0xf6), MX(0), .sizes = SZ8, .imm = IMM_8, .undef = AF },
	{ D_("alu-test", "r/m,imm"), O1(0xf7), MX(0), .sizes = SZV, .imm = IMM_Z, .undef = AF },
	{ D_("alu-unary", "not r/m8"), O1(0xf6), MX(2), .sizes = SZ8, .x = X_LOCK },
	{ D_("alu-unary", "not r/m"), O1(0xf7), MX(2), .sizes = SZV, .x = X_LOCK },
	{ D_("alu-unary", "neg r/m8"), O1(0xf6), MX(3), .sizes = SZ8, .x = X_LOCK },
	{ D_("alu-unary", "neg r/m"), O1(0xf7), MX(3), .sizes = SZV, .x = X_LOCK },
	{ D_("alu-unary", "inc r/m8"), O1(0xfe), MX(0), .sizes = SZ8, .x = X_LOCK },
	{ D_("alu-unary", "dec r/m8"), O1(0xfe), MX(1), .sizes = SZ8, .x = X_LOCK },
	{ D_("alu-unary", "inc r/m"), O1(0xff), MX(0), .sizes = SZV, .x = X_LOCK },
	{ D_("alu-unary", "dec r/m"), O1(0xff), MX(1), .sizes = SZV, .x = X_LOCK },

	/* shifts and rotates */
	SHIFT("shift-rol", 0, X_ROT),
	SHIFT("shift-ror", 1, X_ROT),
	SHIFT("shift-rcl", 2, X_ROT),
	SHIFT("shift-rcr", 3, X_ROT),
	SHIFT("shift-shl", 4, X_SHIFT),
	SHIFT("shift-shr", 5, X_SHIFT),
	SHIFT("shift-sal6", 6, X_SHIFT),
	SHIFT("shift-sar", 7, X_SHIFT),
	{ D_("shift-shld", "r/m,r,imm8"), O2(0x0f, 0xa4), MR, .sizes = SZV, .imm = IMM_8, .vk = VK_COUNT, .x = X_SHLD },
	{ D_("shift-shld", "r/m,r,cl"), O2(0x0f, 0xa5), MR, .sizes = SZV, .vk = VK_COUNT, .x = X_SHLD | X_CL },
	{ D_("shift-shrd", "r/m,r,imm8"), O2(0x0f, 0xac), MR, .sizes = SZV, .imm = IMM_8, .vk = VK_COUNT, .x = X_SHLD },
	{ D_("shift-shrd", "r/m,r,cl"), O2(0x0f, 0xad), MR, .sizes = SZV, .vk = VK_COUNT, .x = X_SHLD | X_CL },

	/* multiply and divide */
	MULDIV("mul", 4, U_MUL, 0),
	MULDIV("imul", 5, U_MUL, 0),
	MULDIV("div", 6, U_ALL, X_RDX),
	MULDIV("idiv", 7, U_ALL, X_RDX),
	{ D_("imul", "r,r/m"), O2(0x0f, 0xaf), MR, .sizes = SZV, .undef = U_MUL },
	{ D_("imul", "r,r/m,imm"), O1(0x69), MR, .sizes = SZV, .imm = IMM_Z, .undef = U_MUL },
	{ D_("imul", "r,r/m,imm8"), O1(0x6b), MR, .sizes = SZV, .imm = IMM_8, .undef = U_MUL },

	/* moves */
	{ D_("mov", "r/m8,r8"), O1(0x88), MR, .sizes = SZ8 },
	{ D_("mov", "r/m,r"), O1(0x89), MR, .sizes = SZV },
	{ D_("mov", "r8,r/m8"), O1(0x8a), MR, .sizes = SZ8 },
	{ D_("mov", "r,r/m"), O1(0x8b), MR, .sizes = SZV },
	{ D_("mov", "r/m8,imm8"), O1(0xc6), MX(0), .sizes = SZ8, .imm = IMM_8 },
	{ D_("mov", "r/m,imm"), O1(0xc7), MX(0), .sizes = SZV, .imm = IMM_Z },
	{ D_("mov", "r8,imm8"), O1(0xb0), OPR, .sizes = SZ8, .imm = IMM_V },
	{ D_("mov", "r,imm"), O1(0xb8), OPR, .sizes = SZV, .imm = IMM_V },
	{ D_("mov", "al,moffs"), O1(0xa0), NM, .sizes = SZ8, .msize = 1, .x = X_MOFFS | X_ACC },
	{ D_("mov", "rax,moffs"), O1(0xa1), NM, .sizes = SZV, .x = X_MOFFS | X_ACC },
	{ D_("mov", "moffs,al"), O1(0xa2), NM, .sizes = SZ8, .msize = 1, .x = X_MOFFS | X_ACC },
	{ D_("mov", "moffs,rax"), O1(0xa3), NM, .sizes = SZV, .x = X_MOFFS | X_ACC },
	{ D_("movx", "movzx r,r/m8"), O2(0x0f, 0xb6), MR, .sizes = SZV, .msize = 1 },
	{ D_("movx", "movzx r,r/m16"), O2(0x0f, 0xb7), MR, .sizes = SZV, .msize = 2 },
	{ D_("movx", "movsx r,r/m8"), O2(0x0f, 0xbe), MR, .sizes = SZV, .msize = 1 },
	{ D_("movx", "movsx r,r/m16"), O2(0x0f, 0xbf), MR, .sizes = SZV, .msize = 2 },
	{ D_("movx", "movsxd r,r/m32"), O1(0x63), MR, .sizes = SZ32 | SZ64, .msize = 4 },
	{ D_("movx", "cbw/cwde/cdqe"), O1(0x98), NM, .sizes = SZV, .x = X_ACC },
	{ D_("movx", "cwd/cdq/cqo"), O1(0x99), NM, .sizes = SZV, .x = X_ACC },
	{ D_("lea", "r,m"), O1(0x8d), MR, .rm = RM_MEM, .sizes = SZV },
	{ D_("xchg", "r/m8,r8"), O1(0x86), MR, .sizes = SZ8, .x = X_LOCK },
	{ D_("xchg", "r/m,r"), O1(0x87), MR, .sizes = SZV, .x = X_LOCK },
	{ D_("xchg", "rax,r"), O1(0x90), OPR, .sizes = SZV, .x = X_ACC },
	{ D_("movbe", "r,m"), O3(0x0f, 0x38, 0xf0), MR, .rm = RM_MEM, .sizes = SZV },
	{ D_("movbe", "m,r"), O3(0x0f, 0x38, 0xf1), MR, .rm = RM_MEM, .sizes = SZV },
	{ D_("movnti", "m,r"), O2(0x0f, 0xc3), MR, .rm = RM_MEM, .sizes = SZ32 | SZ64 },
	{ D_("xlat", "xlat"), O1(0xd7), NM, .sizes = SZ8, .x = X_RBX_PTR },
	{ D_("bswap", "r"), O2(0x0f, 0xc8), OPR, .sizes = SZ32 | SZ64 },

	/* exchange and compare */
	{ D_("cmpxchg", "r/m8,r8"), O2(0x0f, 0xb0), MR, .sizes = SZ8, .x = X_LOCK | X_CMPXCHG },
	{ D_("cmpxchg", "r/m,r"), O2(0x0f, 0xb1), MR, .sizes = SZV, .x = X_LOCK | X_CMPXCHG },
	{ D_("cmpxchg", "cmpxchg8b/16b m"), O2(0x0f, 0xc7), MX(1), .rm = RM_MEM, .sizes = SZ32 | SZ64,
	  .msize = 8, .x = X_LOCK | X_CX8 },
	{ D_("xadd", "r/m8,r8"), O2(0x0f, 0xc0), MR, .sizes = SZ8, .x = X_LOCK },
	{ D_("xadd", "r/m,r"), O2(0x0f, 0xc1), MR, .sizes = SZV, .x = X_LOCK },

	/* bit operations */
	{ D_("bt", "bt r/m,r"), O2(0x0f, 0xa3), MR, .sizes = SZV, .undef = U_BT, .x = X_BTREG },
	{ D_("bt", "bts r/m,r"), O2(0x0f, 0xab), MR, .sizes = SZV, .undef = U_BT, .x = X_BTREG | X_LOCK },
	{ D_("bt", "btr r/m,r"), O2(0x0f, 0xb3), MR, .sizes = SZV, .undef = U_BT, .x = X_BTREG | X_LOCK },
	{ D_("bt", "btc r/m,r"), O2(0x0f, 0xbb), MR, .sizes = SZV, .undef = U_BT, .x = X_BTREG | X_LOCK },
	{ D_("bt", "bt r/m,imm8"), O2(0x0f, 0xba), MX(4), .sizes = SZV, .imm = IMM_8, .undef = U_BT },
	{ D_("bt", "bts r/m,imm8"), O2(0x0f, 0xba), MX(5), .sizes = SZV, .imm = IMM_8, .undef = U_BT, .x = X_LOCK },
	{ D_("bt", "btr r/m,imm8"), O2(0x0f, 0xba), MX(6), .sizes = SZV, .imm = IMM_8, .undef = U_BT, .x = X_LOCK },
	{ D_("bt", "btc r/m,imm8"), O2(0x0f, 0xba), MX(7), .sizes = SZV, .imm = IMM_8, .undef = U_BT, .x = X_LOCK },
	{ D_("bitscan", "bsf r,r/m"), O2(0x0f, 0xbc), MR, .sizes = SZV, .undef = U_BSF, .x = X_BSF },
	{ D_("bitscan", "bsr r,r/m"), O2(0x0f, 0xbd), MR, .sizes = SZV, .undef = U_BSF, .x = X_BSF },
	{ D_("bitscan", "tzcnt r,r/m"), .pfx = 0xf3, O2(0x0f, 0xbc), MR, .sizes = SZV, .undef = U_BT },
	{ D_("bitscan", "lzcnt r,r/m"), .pfx = 0xf3, O2(0x0f, 0xbd), MR, .sizes = SZV, .undef = U_BT },
	{ D_("popcnt", "r,r/m"), .pfx = 0xf3, O2(0x0f, 0xb8), MR, .sizes = SZV },
	{ D_("crc32", "r,r/m8"), .pfx = 0xf2, O3(0x0f, 0x38, 0xf0), MR, .sizes = SZ32 | SZ64, .msize = 1 },
	{ D_("crc32", "r,r/m"), .pfx = 0xf2, O3(0x0f, 0x38, 0xf1), MR, .sizes = SZV },

	/* conditions */
	CC16("setcc", "set", OP_SETCC, MX(0), .sizes = SZ8),
	CC16("cmovcc", "cmov", OP_CMOVCC, MR, .sizes = SZV),

	/* flags */
	{ D_("flags", "clc"), O1(0xf8), NM, .vk = VK_NONE },
	{ D_("flags", "stc"), O1(0xf9), NM, .vk = VK_NONE },
	{ D_("flags", "cmc"), O1(0xf5), NM, .vk = VK_NONE },
	{ D_("flags", "cld"), O1(0xfc), NM, .vk = VK_NONE },
	{ D_("flags", "std"), O1(0xfd), NM, .vk = VK_NONE },
	{ D_("flags", "lahf"), O1(0x9f), NM, .vk = VK_NONE },
	{ D_("flags", "sahf"), O1(0x9e), NM, .vk = VK_NONE },
	{ D_("flags", "pushf"), O1(0x9c), NM, .sizes = SZ16, .x = X_STACK },
	{ D_("flags", "pushfq"), O1(0x9c), NM, .x = X_STACK | X_D64 },
	{ D_("flags", "popfq"), O1(0x9d), NM, .x = X_STACK | X_D64 | X_POPF },

	/* branches: targets are landing stubs in the code page */
	CC16("jcc", "j", OP_JCC8, NM, .imm = IMM_REL8, .vk = VK_NONE, .x = X_BRANCH | X_NOSEG),
	CC16("jcc", "j", OP_JCC32, NM, .imm = IMM_REL32, .vk = VK_NONE, .x = X_BRANCH | X_NOSEG),
	{ D_("jmp", "jmp rel8"), O1(0xeb), NM, .imm = IMM_REL8, .vk = VK_NONE, .x = X_BRANCH },
	{ D_("jmp", "jmp rel32"), O1(0xe9), NM, .imm = IMM_REL32, .vk = VK_NONE, .x = X_BRANCH },
	{ D_("jmp", "jmp r/m64"), O1(0xff), MX(4), .x = X_INDBR | X_D64 | X_NOSEG },
	{ D_("call", "call rel32"), O1(0xe8), NM, .imm = IMM_REL32, .vk = VK_NONE,
	  .x = X_BRANCH | X_STACK | X_CALL },
	{ D_("call", "call r/m64"), O1(0xff), MX(2), .x = X_INDBR | X_STACK | X_CALL | X_D64 },
	{ D_("ret", "ret"), O1(0xc3), NM, .vk = VK_NONE, .x = X_RET | X_STACK | X_D64 },
	{ D_("ret", "ret imm16"), O1(0xc2), NM, .imm = IMM_16, .vk = VK_NONE, .x = X_RET | X_STACK | X_D64 },
	{ D_("loop", "loopne"), O1(0xe0), NM, .imm = IMM_REL8, .vk = VK_NONE, .x = X_BRANCH | X_LOOP },
	{ D_("loop", "loope"), O1(0xe1), NM, .imm = IMM_REL8, .vk = VK_NONE, .x = X_BRANCH | X_LOOP },
	{ D_("loop", "loop"), O1(0xe2), NM, .imm = IMM_REL8, .vk = VK_NONE, .x = X_BRANCH | X_LOOP },
	{ D_("loop", "jrcxz"), O1(0xe3), NM, .imm = IMM_REL8, .vk = VK_NONE, .x = X_BRANCH | X_LOOP },

	/* stack */
	{ D_("stack", "push r"), O1(0x50), OPR, .sizes = SZ16, .x = X_STACK },
	{ D_("stack", "push r64"), O1(0x50), OPR, .x = X_STACK | X_D64 },
	{ D_("stack", "pop r"), O1(0x58), OPR, .sizes = SZ16, .x = X_STACK },
	{ D_("stack", "pop r64"), O1(0x58), OPR, .x = X_STACK | X_D64 },
	{ D_("stack", "push imm"), O1(0x68), NM, .imm = IMM_Z, .x = X_STACK | X_D64 },
	{ D_("stack", "push imm16"), O1(0x68), NM, .sizes = SZ16, .imm = IMM_Z, .x = X_STACK },
	{ D_("stack", "push imm8"), O1(0x6a), NM, .imm = IMM_8, .x = X_STACK | X_D64 },
	{ D_("stack", "push r/m"), O1(0xff), MX(6), .x = X_STACK | X_D64 },
	{ D_("stack", "push r/m16"), O1(0xff), MX(6), .sizes = SZ16, .x = X_STACK },
	{ D_("stack", "pop m"), O1(0x8f), MX(0), .rm = RM_MEM, .x = X_STACK | X_D64 },
	{ D_("stack", "pop m16"), O1(0x8f), MX(0), .rm = RM_MEM, .sizes = SZ16, .x = X_STACK },
	{ D_("stack", "leave"), O1(0xc9), NM, .x = X_STACK | X_D64 | X_RBP_PTR },
	{ D_("stack", "enter"), O1(0xc8), NM, .imm = IMM_16_8, .x = X_STACK | X_D64 | X_ENTER },
	{ D_("stack", "push fs"), O2(0x0f, 0xa0), NM, .x = X_STACK | X_D64 | X_PUSHSEG },
	{ D_("stack", "push gs"), O2(0x0f, 0xa8), NM, .x = X_STACK | X_D64 | X_PUSHSEG },

	/* string instructions (REP: F3 only for MOVS/STOS/LODS) */
	STR_OP("string-movs", "movs", 0xa4, X_NOREP),
	STR_OP("string-cmps", "cmps", 0xa6, 0),
	STR_OP("string-stos", "stos", 0xaa, X_NOREP | X_ACC),
	STR_OP("string-lods", "lods", 0xac, X_NOREP | X_ACC),
	STR_OP("string-scas", "scas", 0xae, X_ACC),

	/* misc */
	{ D_("nop", "nop"), O1(0x90), NM, .vk = VK_NONE },
	{ D_("nop", "pause"), .pfx = 0xf3, O1(0x90), NM, .vk = VK_NONE },
	{ D_("nop", "nop r/m"), O2(0x0f, 0x1f), MX(0), .sizes = SZV },
	{ D_("nop", "hint nop 0f 19"), O2(0x0f, 0x19), MR, .sizes = SZV },
	{ D_("nop", "hint nop 0f 1e"), O2(0x0f, 0x1e), MR, .sizes = SZ32 },
	{ D_("nop", "prefetchnta"), O2(0x0f, 0x18), MX(0), .rm = RM_MEM },
	{ D_("nop", "prefetcht0"), O2(0x0f, 0x18), MX(1), .rm = RM_MEM },
	{ D_("nop", "prefetchw"), O2(0x0f, 0x0d), MX(1), .rm = RM_MEM },
	{ D_("fence", "lfence"), O3(0x0f, 0xae, 0xe8), NM, .vk = VK_NONE },
	{ D_("fence", "mfence"), O3(0x0f, 0xae, 0xf0), NM, .vk = VK_NONE },
	{ D_("fence", "sfence"), O3(0x0f, 0xae, 0xf8), NM, .vk = VK_NONE },
	{ D_("fence", "clflush"), O2(0x0f, 0xae), MX(7), .rm = RM_MEM, .msize = 1 },
	{ D_("segreg", "mov r/m,es"), O1(0x8c), MX(0), .sizes = SZV },
	{ D_("segreg", "mov r/m,cs"), O1(0x8c), MX(1), .sizes = SZV },
	{ D_("segreg", "mov r/m,ss"), O1(0x8c), MX(2), .sizes = SZV },
	{ D_("segreg", "mov r/m,ds"), O1(0x8c), MX(3), .sizes = SZV },

	/* #UD: invalid in 64-bit mode (SDM Vol. 2, opcode map "i64") */
	{ D_("invalid64", "push es"), O1(0x06), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "pop es"), O1(0x07), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "push cs"), O1(0x0e), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "push ss"), O1(0x16), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "pop ss"), O1(0x17), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "push ds"), O1(0x1e), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "pop ds"), O1(0x1f), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "daa"), O1(0x27), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "das"), O1(0x2f), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "aaa"), O1(0x37), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "aas"), O1(0x3f), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "pusha"), O1(0x60), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "popa"), O1(0x61), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "alu 82"), O1(0x82), MX(0), .sizes = SZ8, .imm = IMM_8, .x = X_UD },
	{ D_("invalid64", "into"), O1(0xce), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "aam"), O2(0xd4, 0x0a), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "aad"), O2(0xd5, 0x0a), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "salc"), O1(0xd6), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "call far"), O1(0x9a), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "jmp far"), O1(0xea), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "ud2"), O2(0x0f, 0x0b), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "ud1"), O2(0x0f, 0xb9), MR, .sizes = SZ32, .x = X_UD },
	{ D_("invalid64", "lock nop"), O2(0xf0, 0x90), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "lock add reg"), O3(0xf0, 0x01, 0xc0), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "lea reg"), O2(0x8d, 0xc0), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("invalid64", "cmpxchg8b reg"), O3(0x0f, 0xc7, 0xc8), NM, .vk = VK_NONE, .x = X_UD },

	/* #GP: privileged at CPL 3 with IOPL 0 */
	{ D_("priv", "hlt"), O1(0xf4), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("priv", "cli"), O1(0xfa), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("priv", "sti"), O1(0xfb), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("priv", "in al,imm8"), O2(0xe4, 0x80), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("priv", "out imm8,al"), O2(0xe6, 0x80), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("priv", "in al,dx"), O1(0xec), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("priv", "out dx,eax"), O1(0xef), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("priv", "insb"), O1(0x6c), NM, .vk = VK_NONE, .x = X_UD | X_STRING },
	{ D_("priv", "outsb"), O1(0x6e), NM, .vk = VK_NONE, .x = X_UD | X_STRING },
	{ D_("priv", "rdmsr"), O2(0x0f, 0x32), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("priv", "wrmsr"), O2(0x0f, 0x30), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("priv", "mov rax,cr0"), O3(0x0f, 0x20, 0xc0), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("priv", "mov cr3,rax"), O3(0x0f, 0x22, 0xd8), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("priv", "mov rax,dr7"), O3(0x0f, 0x21, 0xf8), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("priv", "clts"), O2(0x0f, 0x06), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("priv", "invd"), O2(0x0f, 0x08), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("priv", "wbinvd"), O2(0x0f, 0x09), NM, .vk = VK_NONE, .x = X_UD },
	{ D_("priv", "lgdt"), O2(0x0f, 0x01), MX(2), .rm = RM_MEM, .x = X_UD },
	{ D_("priv", "lidt"), O2(0x0f, 0x01), MX(3), .rm = RM_MEM, .x = X_UD },
	{ D_("priv", "lmsw"), O2(0x0f, 0x01), MX(6), .sizes = SZ16, .x = X_UD },
	{ D_("priv", "invlpg"), O2(0x0f, 0x01), MX(7), .rm = RM_MEM, .x = X_UD },
	{ D_("priv", "lldt"), O2(0x0f, 0x00), MX(2), .sizes = SZ16, .x = X_UD },
	{ D_("priv", "ltr"), O2(0x0f, 0x00), MX(3), .sizes = SZ16, .x = X_UD },
	{ D_("priv", "swapgs"), O3(0x0f, 0x01, 0xf8), NM, .vk = VK_NONE, .x = X_UD },

	/* SSE moves */
	SSE("sse-mov", "movups", 0, 0x10, 16, VK_PS),
	SSE("sse-mov", "movupd", 0x66, 0x10, 16, VK_PD),
	SSE("sse-mov", "movss", 0xf3, 0x10, 4, VK_PS),
	SSE("sse-mov", "movsd", 0xf2, 0x10, 8, VK_PD),
	SSE("sse-mov", "movups st", 0, 0x11, 16, VK_PS),
	SSE("sse-mov", "movss st", 0xf3, 0x11, 4, VK_PS),
	SSE("sse-mov", "movsd st", 0xf2, 0x11, 8, VK_PD),
	SSE("sse-mov", "movlps/movhlps", 0, 0x12, 8, VK_PS),
	{ D_("sse-mov", "movlpd"), .pfx = 0x66, O2(0x0f, 0x12), XMMF, .rm = RM_MEM, .msize = 8, .vk = VK_PD, .kind = K_SSE },
	SSE("sse-mov", "movsldup", 0xf3, 0x12, 16, VK_PS),
	SSE("sse-mov", "movddup", 0xf2, 0x12, 8, VK_PD),
	SSE("sse-mov", "movhps/movlhps", 0, 0x16, 8, VK_PS),
	SSE("sse-mov", "movshdup", 0xf3, 0x16, 16, VK_PS),
	SSE("sse-mov", "movaps", 0, 0x28, 16, VK_PS),
	SSE("sse-mov", "movapd", 0x66, 0x28, 16, VK_PD),
	SSE("sse-mov", "movaps st", 0, 0x29, 16, VK_PS),
	SSE("sse-mov", "movdqa", 0x66, 0x6f, 16, VK_INT),
	SSE("sse-mov", "movdqu", 0xf3, 0x6f, 16, VK_INT),
	SSE("sse-mov", "movdqa st", 0x66, 0x7f, 16, VK_INT),
	SSE("sse-mov", "movdqu st", 0xf3, 0x7f, 16, VK_INT),
	SSE("sse-mov", "movq xmm,xmm/m64", 0xf3, 0x7e, 8, VK_INT),
	SSE("sse-mov", "movq xmm/m64,xmm", 0x66, 0xd6, 8, VK_INT),
	{ D_("sse-mov", "movlps m64,xmm"), O2(0x0f, 0x13), XMMF, .rm = RM_MEM, .msize = 8, .kind = K_SSE },
	{ D_("sse-mov", "movlpd m64,xmm"), .pfx = 0x66, O2(0x0f, 0x13), XMMF, .rm = RM_MEM, .msize = 8, .kind = K_SSE },
	{ D_("sse-mov", "movhps m64,xmm"), O2(0x0f, 0x17), XMMF, .rm = RM_MEM, .msize = 8, .kind = K_SSE },
	{ D_("sse-mov", "movhpd"), .pfx = 0x66, O2(0x0f, 0x16), XMMF, .rm = RM_MEM, .msize = 8, .kind = K_SSE },
	{ D_("sse-mov", "movntps"), O2(0x0f, 0x2b), XMMF, .rm = RM_MEM, .msize = 16, .kind = K_SSE },
	{ D_("sse-mov", "movntdq"), .pfx = 0x66, O2(0x0f, 0xe7), XMMF, .rm = RM_MEM, .msize = 16, .kind = K_SSE },
	{ D_("sse-mov", "lddqu"), .pfx = 0xf2, O2(0x0f, 0xf0), XMMF, .rm = RM_MEM, .msize = 16, .kind = K_SSE },
	{ D_("sse-mov", "movntdqa"), .pfx = 0x66, O3(0x0f, 0x38, 0x2a), XMMF, .rm = RM_MEM, .msize = 16, .kind = K_SSE },
	{ D_("sse-mov", "movd/q xmm,r/m"), .pfx = 0x66, O2(0x0f, 0x6e), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_XMM, .rc_rm = RC_GPR, .sizes = SZ32 | SZ64, .kind = K_SSE },
	{ D_("sse-mov", "movd/q r/m,xmm"), .pfx = 0x66, O2(0x0f, 0x7e), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_XMM, .rc_rm = RC_GPR, .sizes = SZ32 | SZ64, .kind = K_SSE },
	{ D_("sse-mov", "movmskps"), O2(0x0f, 0x50), .form = F_MODRM, .ext = -1, .rm = RM_REG,
	  .rc_reg = RC_GPR, .rc_rm = RC_XMM, .sizes = SZ32 | SZ64, .vk = VK_PS, .kind = K_SSE },
	{ D_("sse-mov", "movmskpd"), .pfx = 0x66, O2(0x0f, 0x50), .form = F_MODRM, .ext = -1, .rm = RM_REG,
	  .rc_reg = RC_GPR, .rc_rm = RC_XMM, .sizes = SZ32 | SZ64, .vk = VK_PD, .kind = K_SSE },
	{ D_("sse-mov", "pmovmskb r,xmm"), .pfx = 0x66, O2(0x0f, 0xd7), .form = F_MODRM, .ext = -1,
	  .rm = RM_REG, .rc_reg = RC_GPR, .rc_rm = RC_XMM, .sizes = SZ32 | SZ64, .kind = K_SSE },
	{ D_("sse-mov", "maskmovdqu"), .pfx = 0x66, O2(0x0f, 0xf7), XMMF, .rm = RM_REG, .kind = K_SSE,
	  .x = X_RDI_PTR | X_NOCR2 },

	/* MMX moves and MMX/SSE crossings */
	{ D_("mmx-mov", "movd/q mm,r/m"), O2(0x0f, 0x6e), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_MMX, .rc_rm = RC_GPR, .sizes = SZ32 | SZ64, .kind = K_MMX },
	{ D_("mmx-mov", "movd/q r/m,mm"), O2(0x0f, 0x7e), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_MMX, .rc_rm = RC_GPR, .sizes = SZ32 | SZ64, .kind = K_MMX },
	{ D_("mmx-mov", "movq mm,mm/m64"), O2(0x0f, 0x6f), MMXF, .msize = 8, .kind = K_MMX },
	{ D_("mmx-mov", "movq mm/m64,mm"), O2(0x0f, 0x7f), MMXF, .msize = 8, .kind = K_MMX },
	{ D_("mmx-mov", "movntq"), O2(0x0f, 0xe7), MMXF, .rm = RM_MEM, .msize = 8, .kind = K_MMX },
	{ D_("mmx-mov", "movdq2q"), .pfx = 0xf2, O2(0x0f, 0xd6), .form = F_MODRM, .ext = -1,
	  .rm = RM_REG, .rc_reg = RC_MMX, .rc_rm = RC_XMM, .kind = K_MMX },
	{ D_("mmx-mov", "movq2dq"), .pfx = 0xf3, O2(0x0f, 0xd6), .form = F_MODRM, .ext = -1,
	  .rm = RM_REG, .rc_reg = RC_XMM, .rc_rm = RC_MMX, .kind = K_MMX },
	{ D_("mmx-mov", "pmovmskb r,mm"), O2(0x0f, 0xd7), .form = F_MODRM, .ext = -1,
	  .rm = RM_REG, .rc_reg = RC_GPR, .rc_rm = RC_MMX, .sizes = SZ32, .kind = K_MMX },
	{ D_("mmx-mov", "maskmovq"), O2(0x0f, 0xf7), MMXF, .rm = RM_REG, .kind = K_MMX,
	  .x = X_RDI_PTR | X_NOCR2 },
	{ D_("mmx-mov", "emms"), O2(0x0f, 0x77), NM, .vk = VK_NONE, .kind = K_MMX },
	{ D_("mmx-mov", "pshufw"), O2(0x0f, 0x70), MMXF, .msize = 8, .imm = IMM_8, .kind = K_MMX },
	{ D_("mmx-mov", "pinsrw mm"), O2(0x0f, 0xc4), .form = F_MODRM, .ext = -1, .rc_reg = RC_MMX,
	  .rc_rm = RC_GPR, .sizes = SZ32, .msize = 2, .imm = IMM_8, .kind = K_MMX },
	{ D_("mmx-mov", "pextrw r,mm"), O2(0x0f, 0xc5), .form = F_MODRM, .ext = -1, .rm = RM_REG,
	  .rc_reg = RC_GPR, .rc_rm = RC_MMX, .sizes = SZ32, .imm = IMM_8, .kind = K_MMX },

	/* SSE floating point */
	FP4("sse-fp-add", "add", 0x58),
	FP4("sse-fp-add", "sub", 0x5c),
	FP4("sse-fp-mul", "mul", 0x59),
	FP4("sse-fp-div", "div", 0x5e),
	FP4("sse-fp-minmax", "min", 0x5d),
	FP4("sse-fp-minmax", "max", 0x5f),
	FP4("sse-fp-sqrt", "sqrt", 0x51),
	SSEX("sse-fp-approx", "rsqrtps", 0, 0x52, 16, VK_PS, X_APPROX),
	SSEX("sse-fp-approx", "rsqrtss", 0xf3, 0x52, 4, VK_PS, X_APPROX),
	SSEX("sse-fp-approx", "rcpps", 0, 0x53, 16, VK_PS, X_APPROX),
	SSEX("sse-fp-approx", "rcpss", 0xf3, 0x53, 4, VK_PS, X_APPROX),
	SSE("sse-fp-logic", "andps", 0, 0x54, 16, VK_PS),
	SSE("sse-fp-logic", "andpd", 0x66, 0x54, 16, VK_PD),
	SSE("sse-fp-logic", "andnps", 0, 0x55, 16, VK_PS),
	SSE("sse-fp-logic", "andnpd", 0x66, 0x55, 16, VK_PD),
	SSE("sse-fp-logic", "orps", 0, 0x56, 16, VK_PS),
	SSE("sse-fp-logic", "orpd", 0x66, 0x56, 16, VK_PD),
	SSE("sse-fp-logic", "xorps", 0, 0x57, 16, VK_PS),
	SSE("sse-fp-logic", "xorpd", 0x66, 0x57, 16, VK_PD),
	SSE("sse-fp-shuf", "unpcklps", 0, 0x14, 16, VK_PS),
	SSE("sse-fp-shuf", "unpcklpd", 0x66, 0x14, 16, VK_PD),
	SSE("sse-fp-shuf", "unpckhps", 0, 0x15, 16, VK_PS),
	SSE("sse-fp-shuf", "unpckhpd", 0x66, 0x15, 16, VK_PD),
	SSEI("sse-fp-shuf", "shufps", 0, 0xc6, 16, VK_PS, 0),
	SSEI("sse-fp-shuf", "shufpd", 0x66, 0xc6, 16, VK_PD, 0),
	SSEI("sse-fp-cmp", "cmpps", 0, 0xc2, 16, VK_PS, 7),
	SSEI("sse-fp-cmp", "cmppd", 0x66, 0xc2, 16, VK_PD, 7),
	SSEI("sse-fp-cmp", "cmpss", 0xf3, 0xc2, 4, VK_PS, 7),
	SSEI("sse-fp-cmp", "cmpsd", 0xf2, 0xc2, 8, VK_PD, 7),
	SSE("sse-fp-comi", "ucomiss", 0, 0x2e, 4, VK_PS),
	SSE("sse-fp-comi", "ucomisd", 0x66, 0x2e, 8, VK_PD),
	SSE("sse-fp-comi", "comiss", 0, 0x2f, 4, VK_PS),
	SSE("sse-fp-comi", "comisd", 0x66, 0x2f, 8, VK_PD),
	SSE("sse3-fp", "addsubps", 0xf2, 0xd0, 16, VK_PS),
	SSE("sse3-fp", "addsubpd", 0x66, 0xd0, 16, VK_PD),
	SSE("sse3-fp", "haddps", 0xf2, 0x7c, 16, VK_PS),
	SSE("sse3-fp", "haddpd", 0x66, 0x7c, 16, VK_PD),
	SSE("sse3-fp", "hsubps", 0xf2, 0x7d, 16, VK_PS),
	SSE("sse3-fp", "hsubpd", 0x66, 0x7d, 16, VK_PD),

	/* conversions */
	SSE("sse-cvt", "cvtps2pd", 0, 0x5a, 8, VK_PS),
	SSE("sse-cvt", "cvtpd2ps", 0x66, 0x5a, 16, VK_PD),
	SSE("sse-cvt", "cvtss2sd", 0xf3, 0x5a, 4, VK_PS),
	SSE("sse-cvt", "cvtsd2ss", 0xf2, 0x5a, 8, VK_PD),
	SSE("sse-cvt", "cvtdq2ps", 0, 0x5b, 16, VK_INT),
	SSE("sse-cvt", "cvtps2dq", 0x66, 0x5b, 16, VK_PS),
	SSE("sse-cvt", "cvttps2dq", 0xf3, 0x5b, 16, VK_PS),
	SSE("sse-cvt", "cvttpd2dq", 0x66, 0xe6, 16, VK_PD),
	SSE("sse-cvt", "cvtpd2dq", 0xf2, 0xe6, 16, VK_PD),
	SSE("sse-cvt", "cvtdq2pd", 0xf3, 0xe6, 8, VK_INT),
	{ D_("sse-cvt", "cvtsi2ss"), .pfx = 0xf3, O2(0x0f, 0x2a), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_XMM, .rc_rm = RC_GPR, .sizes = SZ32 | SZ64, .vk = VK_PS, .kind = K_SSE },
	{ D_("sse-cvt", "cvtsi2sd"), .pfx = 0xf2, O2(0x0f, 0x2a), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_XMM, .rc_rm = RC_GPR, .sizes = SZ32 | SZ64, .vk = VK_PD, .kind = K_SSE },
	{ D_("sse-cvt", "cvttss2si"), .pfx = 0xf3, O2(0x0f, 0x2c), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_GPR, .rc_rm = RC_XMM, .sizes = SZ32 | SZ64, .msize = 4, .vk = VK_PS, .kind = K_SSE },
	{ D_("sse-cvt", "cvttsd2si"), .pfx = 0xf2, O2(0x0f, 0x2c), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_GPR, .rc_rm = RC_XMM, .sizes = SZ32 | SZ64, .msize = 8, .vk = VK_PD, .kind = K_SSE },
	{ D_("sse-cvt", "cvtss2si"), .pfx = 0xf3, O2(0x0f, 0x2d), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_GPR, .rc_rm = RC_XMM, .sizes = SZ32 | SZ64, .msize = 4, .vk = VK_PS, .kind = K_SSE },
	{ D_("sse-cvt", "cvtsd2si"), .pfx = 0xf2, O2(0x0f, 0x2d), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_GPR, .rc_rm = RC_XMM, .sizes = SZ32 | SZ64, .msize = 8, .vk = VK_PD, .kind = K_SSE },
	{ D_("sse-cvt", "cvtpi2ps"), O2(0x0f, 0x2a), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_XMM, .rc_rm = RC_MMX, .msize = 8, .kind = K_MMX },
	{ D_("sse-cvt", "cvtpi2pd"), .pfx = 0x66, O2(0x0f, 0x2a), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_XMM, .rc_rm = RC_MMX, .msize = 8, .kind = K_MMX },
	{ D_("sse-cvt", "cvttps2pi"), O2(0x0f, 0x2c), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_MMX, .rc_rm = RC_XMM, .msize = 8, .vk = VK_PS, .kind = K_MMX },
	{ D_("sse-cvt", "cvttpd2pi"), .pfx = 0x66, O2(0x0f, 0x2c), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_MMX, .rc_rm = RC_XMM, .msize = 16, .vk = VK_PD, .kind = K_MMX },
	{ D_("sse-cvt", "cvtps2pi"), O2(0x0f, 0x2d), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_MMX, .rc_rm = RC_XMM, .msize = 8, .vk = VK_PS, .kind = K_MMX },
	{ D_("sse-cvt", "cvtpd2pi"), .pfx = 0x66, O2(0x0f, 0x2d), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_MMX, .rc_rm = RC_XMM, .msize = 16, .vk = VK_PD, .kind = K_MMX },

	/* packed integer (MMX and SSE2 forms) */
	PINT("simd-unpack", "punpcklbw", 0x60), PINT("simd-unpack", "punpcklwd", 0x61),
	PINT("simd-unpack", "punpckldq", 0x62), PINT("simd-unpack", "punpckhbw", 0x68),
	PINT("simd-unpack", "punpckhwd", 0x69), PINT("simd-unpack", "punpckhdq", 0x6a),
	SSE("simd-unpack", "punpcklqdq", 0x66, 0x6c, 16, VK_INT),
	SSE("simd-unpack", "punpckhqdq", 0x66, 0x6d, 16, VK_INT),
	PINT("simd-pack", "packsswb", 0x63), PINT("simd-pack", "packuswb", 0x67),
	PINT("simd-pack", "packssdw", 0x6b),
	PINT("simd-cmp", "pcmpgtb", 0x64), PINT("simd-cmp", "pcmpgtw", 0x65),
	PINT("simd-cmp", "pcmpgtd", 0x66), PINT("simd-cmp", "pcmpeqb", 0x74),
	PINT("simd-cmp", "pcmpeqw", 0x75), PINT("simd-cmp", "pcmpeqd", 0x76),
	PINT("simd-shift", "psrlw", 0xd1), PINT("simd-shift", "psrld", 0xd2),
	PINT("simd-shift", "psrlq", 0xd3), PINT("simd-shift", "psraw", 0xe1),
	PINT("simd-shift", "psrad", 0xe2), PINT("simd-shift", "psllw", 0xf1),
	PINT("simd-shift", "pslld", 0xf2), PINT("simd-shift", "psllq", 0xf3),
	PSHI("simd-shift", "psrlw", 0x71, 2), PSHI("simd-shift", "psraw", 0x71, 4),
	PSHI("simd-shift", "psllw", 0x71, 6), PSHI("simd-shift", "psrld", 0x72, 2),
	PSHI("simd-shift", "psrad", 0x72, 4), PSHI("simd-shift", "pslld", 0x72, 6),
	PSHI("simd-shift", "psrlq", 0x73, 2), PSHI("simd-shift", "psllq", 0x73, 6),
	{ D_("simd-shift", "psrldq"), .pfx = 0x66, O2(0x0f, 0x73), .form = F_MODRM, .ext = 3,
	  .rm = RM_REG, .rc_rm = RC_XMM, .imm = IMM_8, .kind = K_SSE },
	{ D_("simd-shift", "pslldq"), .pfx = 0x66, O2(0x0f, 0x73), .form = F_MODRM, .ext = 7,
	  .rm = RM_REG, .rc_rm = RC_XMM, .imm = IMM_8, .kind = K_SSE },
	PINT("simd-add", "paddq", 0xd4), PINT("simd-add", "psubusb", 0xd8),
	PINT("simd-add", "psubusw", 0xd9), PINT("simd-add", "paddusb", 0xdc),
	PINT("simd-add", "paddusw", 0xdd), PINT("simd-add", "psubsb", 0xe8),
	PINT("simd-add", "psubsw", 0xe9), PINT("simd-add", "paddsb", 0xec),
	PINT("simd-add", "paddsw", 0xed), PINT("simd-add", "psubb", 0xf8),
	PINT("simd-add", "psubw", 0xf9), PINT("simd-add", "psubd", 0xfa),
	PINT("simd-add", "psubq", 0xfb), PINT("simd-add", "paddb", 0xfc),
	PINT("simd-add", "paddw", 0xfd), PINT("simd-add", "paddd", 0xfe),
	PINT("simd-mul", "pmullw", 0xd5), PINT("simd-mul", "pmulhuw", 0xe4),
	PINT("simd-mul", "pmulhw", 0xe5), PINT("simd-mul", "pmuludq", 0xf4),
	PINT("simd-mul", "pmaddwd", 0xf5), PINT("simd-mul", "psadbw", 0xf6),
	PINT("simd-minmax", "pminub", 0xda), PINT("simd-minmax", "pmaxub", 0xde),
	PINT("simd-minmax", "pminsw", 0xea), PINT("simd-minmax", "pmaxsw", 0xee),
	PINT("simd-minmax", "pavgb", 0xe0), PINT("simd-minmax", "pavgw", 0xe3),
	PINT("simd-logic", "pand", 0xdb), PINT("simd-logic", "pandn", 0xdf),
	PINT("simd-logic", "por", 0xeb), PINT("simd-logic", "pxor", 0xef),
	SSEI("simd-shuf", "pshufd", 0x66, 0x70, 16, VK_INT, 0),
	SSEI("simd-shuf", "pshufhw", 0xf3, 0x70, 16, VK_INT, 0),
	SSEI("simd-shuf", "pshuflw", 0xf2, 0x70, 16, VK_INT, 0),
	{ D_("simd-shuf", "pinsrw xmm"), .pfx = 0x66, O2(0x0f, 0xc4), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_XMM, .rc_rm = RC_GPR, .sizes = SZ32, .msize = 2, .imm = IMM_8, .kind = K_SSE },
	{ D_("simd-shuf", "pextrw r,xmm"), .pfx = 0x66, O2(0x0f, 0xc5), .form = F_MODRM, .ext = -1,
	  .rm = RM_REG, .rc_reg = RC_GPR, .rc_rm = RC_XMM, .sizes = SZ32 | SZ64, .imm = IMM_8, .kind = K_SSE },

	/* SSSE3 */
	PINT38("ssse3", "pshufb", 0x00), PINT38("ssse3", "phaddw", 0x01),
	PINT38("ssse3", "phaddd", 0x02), PINT38("ssse3", "phaddsw", 0x03),
	PINT38("ssse3", "pmaddubsw", 0x04), PINT38("ssse3", "phsubw", 0x05),
	PINT38("ssse3", "phsubd", 0x06), PINT38("ssse3", "phsubsw", 0x07),
	PINT38("ssse3", "psignb", 0x08), PINT38("ssse3", "psignw", 0x09),
	PINT38("ssse3", "psignd", 0x0a), PINT38("ssse3", "pmulhrsw", 0x0b),
	PINT38("ssse3", "pabsb", 0x1c), PINT38("ssse3", "pabsw", 0x1d),
	PINT38("ssse3", "pabsd", 0x1e),
	{ D_("ssse3", "palignr mm"), O3(0x0f, 0x3a, 0x0f), MMXF, .msize = 8, .imm = IMM_8, .kind = K_MMX },
	S3A("ssse3", "palignr xmm", 0x0f, 16, VK_INT, 0),

	/* SSE4.1 */
	S38("sse41-blend", "pblendvb", 0x10, 16, VK_INT),
	S38("sse41-blend", "blendvps", 0x14, 16, VK_PS),
	S38("sse41-blend", "blendvpd", 0x15, 16, VK_PD),
	S3A("sse41-blend", "blendps", 0x0c, 16, VK_PS, 15),
	S3A("sse41-blend", "blendpd", 0x0d, 16, VK_PD, 3),
	S3A("sse41-blend", "pblendw", 0x0e, 16, VK_INT, 0),
	S38("sse41-int", "ptest", 0x17, 16, VK_INT),
	S38("sse41-int", "pmovsxbw", 0x20, 8, VK_INT), S38("sse41-int", "pmovsxbd", 0x21, 4, VK_INT),
	S38("sse41-int", "pmovsxbq", 0x22, 2, VK_INT), S38("sse41-int", "pmovsxwd", 0x23, 8, VK_INT),
	S38("sse41-int", "pmovsxwq", 0x24, 4, VK_INT), S38("sse41-int", "pmovsxdq", 0x25, 8, VK_INT),
	S38("sse41-int", "pmovzxbw", 0x30, 8, VK_INT), S38("sse41-int", "pmovzxbd", 0x31, 4, VK_INT),
	S38("sse41-int", "pmovzxbq", 0x32, 2, VK_INT), S38("sse41-int", "pmovzxwd", 0x33, 8, VK_INT),
	S38("sse41-int", "pmovzxwq", 0x34, 4, VK_INT), S38("sse41-int", "pmovzxdq", 0x35, 8, VK_INT),
	S38("sse41-int", "pmuldq", 0x28, 16, VK_INT), S38("sse41-int", "pcmpeqq", 0x29, 16, VK_INT),
	S38("sse41-int", "packusdw", 0x2b, 16, VK_INT), S38("sse41-int", "pcmpgtq", 0x37, 16, VK_INT),
	S38("sse41-int", "pminsb", 0x38, 16, VK_INT), S38("sse41-int", "pminsd", 0x39, 16, VK_INT),
	S38("sse41-int", "pminuw", 0x3a, 16, VK_INT), S38("sse41-int", "pminud", 0x3b, 16, VK_INT),
	S38("sse41-int", "pmaxsb", 0x3c, 16, VK_INT), S38("sse41-int", "pmaxsd", 0x3d, 16, VK_INT),
	S38("sse41-int", "pmaxuw", 0x3e, 16, VK_INT), S38("sse41-int", "pmaxud", 0x3f, 16, VK_INT),
	S38("sse41-int", "pmulld", 0x40, 16, VK_INT), S38("sse41-int", "phminposuw", 0x41, 16, VK_INT),
	S3A("sse41-int", "mpsadbw", 0x42, 16, VK_INT, 7),
	S3A("sse41-round", "roundps", 0x08, 16, VK_PS, 15),
	S3A("sse41-round", "roundpd", 0x09, 16, VK_PD, 15),
	S3A("sse41-round", "roundss", 0x0a, 4, VK_PS, 15),
	S3A("sse41-round", "roundsd", 0x0b, 8, VK_PD, 15),
	S3A("sse41-dp", "dpps", 0x40, 16, VK_PS, 0),
	S3A("sse41-dp", "dppd", 0x41, 16, VK_PD, 0),
	S3A("sse41-ins", "insertps", 0x21, 4, VK_PS, 0),
	{ D_("sse41-ins", "pextrb"), .pfx = 0x66, O3(0x0f, 0x3a, 0x14), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_XMM, .rc_rm = RC_GPR, .sizes = SZ32, .msize = 1, .imm = IMM_8, .kind = K_SSE },
	{ D_("sse41-ins", "pextrw r/m16"), .pfx = 0x66, O3(0x0f, 0x3a, 0x15), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_XMM, .rc_rm = RC_GPR, .sizes = SZ32, .msize = 2, .imm = IMM_8, .kind = K_SSE },
	{ D_("sse41-ins", "pextrd/q"), .pfx = 0x66, O3(0x0f, 0x3a, 0x16), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_XMM, .rc_rm = RC_GPR, .sizes = SZ32 | SZ64, .imm = IMM_8, .kind = K_SSE },
	{ D_("sse41-ins", "extractps"), .pfx = 0x66, O3(0x0f, 0x3a, 0x17), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_XMM, .rc_rm = RC_GPR, .sizes = SZ32, .imm = IMM_8, .vk = VK_PS, .kind = K_SSE },
	{ D_("sse41-ins", "pinsrb"), .pfx = 0x66, O3(0x0f, 0x3a, 0x20), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_XMM, .rc_rm = RC_GPR, .sizes = SZ32, .msize = 1, .imm = IMM_8, .kind = K_SSE },
	{ D_("sse41-ins", "pinsrd/q"), .pfx = 0x66, O3(0x0f, 0x3a, 0x22), .form = F_MODRM, .ext = -1,
	  .rc_reg = RC_XMM, .rc_rm = RC_GPR, .sizes = SZ32 | SZ64, .imm = IMM_8, .kind = K_SSE },

	/* SSE4.2 string compares: rAX/rDX lengths, results in rCX/XMM0 */
	{ D_("sse42-str", "pcmpestrm"), .pfx = 0x66, O3(0x0f, 0x3a, 0x60), XMMF, .msize = 16,
	  .vk = VK_STR, .kind = K_SSE, .imm = IMM_8, .x = X_RAXRDX },
	{ D_("sse42-str", "pcmpestri"), .pfx = 0x66, O3(0x0f, 0x3a, 0x61), XMMF, .msize = 16,
	  .vk = VK_STR, .kind = K_SSE, .imm = IMM_8, .x = X_RAXRDX },
	{ D_("sse42-str", "pcmpistrm"), .pfx = 0x66, O3(0x0f, 0x3a, 0x62), XMMF, .msize = 16,
	  .vk = VK_STR, .kind = K_SSE, .imm = IMM_8 },
	{ D_("sse42-str", "pcmpistri"), .pfx = 0x66, O3(0x0f, 0x3a, 0x63), XMMF, .msize = 16,
	  .vk = VK_STR, .kind = K_SSE, .imm = IMM_8 },

	/* MXCSR and FXSAVE */
	{ D_("sse-state", "ldmxcsr"), O2(0x0f, 0xae), .form = F_MODRM, .ext = 2, .rm = RM_MEM,
	  .msize = 4, .kind = K_SSE, .x = X_MXCSR },
	{ D_("sse-state", "stmxcsr"), O2(0x0f, 0xae), .form = F_MODRM, .ext = 3, .rm = RM_MEM,
	  .msize = 4, .kind = K_SSE },
	{ D_("sse-state", "fxsave"), O2(0x0f, 0xae), .form = F_MODRM, .ext = 0, .rm = RM_MEM,
	  .sizes = SZ32 | SZ64, .msize = 16, .kind = K_MMX, .x = X_FXSAVE },
	{ D_("sse-state", "fxrstor"), O2(0x0f, 0xae), .form = F_MODRM, .ext = 1, .rm = RM_MEM,
	  .sizes = SZ32 | SZ64, .msize = 16, .kind = K_MMX, .x = X_FXRSTOR },

	/* x87 */
	X87ARITH("x87-arith", 0xd8, MF_F32, 4, "m32"),
	X87ARITH("x87-arith", 0xdc, MF_F64, 8, "m64"),
	X87ARITH("x87-arith", 0xda, MF_I32, 4, "m32int"),
	X87ARITH("x87-arith", 0xde, MF_I16, 2, "m16int"),
	X87R("x87-arith", "fadd st,st(i)", 0xd8, 0, C023),
	X87R("x87-arith", "fmul st,st(i)", 0xd8, 1, C023),
	X87R("x87-arith", "fcom st(i)", 0xd8, 2, 0),
	X87R("x87-arith", "fcomp st(i)", 0xd8, 3, 0),
	X87R("x87-arith", "fsub st,st(i)", 0xd8, 4, C023),
	X87R("x87-arith", "fsubr st,st(i)", 0xd8, 5, C023),
	X87R("x87-arith", "fdiv st,st(i)", 0xd8, 6, C023),
	X87R("x87-arith", "fdivr st,st(i)", 0xd8, 7, C023),
	X87R("x87-arith", "fadd st(i),st", 0xdc, 0, C023),
	X87R("x87-arith", "fmul st(i),st", 0xdc, 1, C023),
	X87R("x87-arith", "fsubr st(i),st", 0xdc, 4, C023),
	X87R("x87-arith", "fsub st(i),st", 0xdc, 5, C023),
	X87R("x87-arith", "fdivr st(i),st", 0xdc, 6, C023),
	X87R("x87-arith", "fdiv st(i),st", 0xdc, 7, C023),
	X87R("x87-arith", "faddp", 0xde, 0, C023),
	X87R("x87-arith", "fmulp", 0xde, 1, C023),
	X87R("x87-arith", "fsubrp", 0xde, 4, C023),
	X87R("x87-arith", "fsubp", 0xde, 5, C023),
	X87R("x87-arith", "fdivrp", 0xde, 6, C023),
	X87R("x87-arith", "fdivp", 0xde, 7, C023),
	X87N("x87-cmp", "fcompp", 0xde, 0xd9, 0),
	X87N("x87-cmp", "fucompp", 0xda, 0xe9, 0),
	X87R("x87-cmp", "fucom", 0xdd, 4, 0),
	X87R("x87-cmp", "fucomp", 0xdd, 5, 0),
	X87R("x87-cmp", "fcomi", 0xdb, 6, 0),
	X87R("x87-cmp", "fucomi", 0xdb, 5, 0),
	X87R("x87-cmp", "fcomip", 0xdf, 6, 0),
	X87R("x87-cmp", "fucomip", 0xdf, 5, 0),
	X87N("x87-cmp", "ftst", 0xd9, 0xe4, 0),
	X87N("x87-cmp", "fxam", 0xd9, 0xe5, 0),
	X87M("x87-ldst", "fld m32", 0xd9, 0, MF_F32, 4, C023),
	X87M("x87-ldst", "fst m32", 0xd9, 2, MF_F32, 4, C023),
	X87M("x87-ldst", "fstp m32", 0xd9, 3, MF_F32, 4, C023),
	X87M("x87-ldst", "fld m64", 0xdd, 0, MF_F64, 8, C023),
	X87M("x87-ldst", "fst m64", 0xdd, 2, MF_F64, 8, C023),
	X87M("x87-ldst", "fstp m64", 0xdd, 3, MF_F64, 8, C023),
	X87M("x87-ldst", "fld m80", 0xdb, 5, MF_F80, 10, C023),
	X87M("x87-ldst", "fstp m80", 0xdb, 7, MF_F80, 10, C023),
	X87M("x87-ldst", "fild m16", 0xdf, 0, MF_I16, 2, C023),
	X87M("x87-ldst", "fild m32", 0xdb, 0, MF_I32, 4, C023),
	X87M("x87-ldst", "fild m64", 0xdf, 5, MF_I64, 8, C023),
	X87M("x87-ldst", "fist m16", 0xdf, 2, MF_I16, 2, C023),
	X87M("x87-ldst", "fistp m16", 0xdf, 3, MF_I16, 2, C023),
	X87M("x87-ldst", "fist m32", 0xdb, 2, MF_I32, 4, C023),
	X87M("x87-ldst", "fistp m32", 0xdb, 3, MF_I32, 4, C023),
	X87M("x87-ldst", "fistp m64", 0xdf, 7, MF_I64, 8, C023),
	X87M("x87-ldst", "fisttp m16", 0xdf, 1, MF_I16, 2, C023),
	X87M("x87-ldst", "fisttp m32", 0xdb, 1, MF_I32, 4, C023),
	X87M("x87-ldst", "fisttp m64", 0xdd, 1, MF_I64, 8, C023),
	X87M("x87-ldst", "fbld", 0xdf, 4, MF_BCD, 10, C023),
	X87M("x87-ldst", "fbstp", 0xdf, 6, MF_BCD, 10, C023),
	X87R("x87-ldst", "fld st(i)", 0xd9, 0, C023),
	X87R("x87-ldst", "fxch", 0xd9, 1, C023),
	X87R("x87-ldst", "fst st(i)", 0xdd, 2, C023),
	X87R("x87-ldst", "fstp st(i)", 0xdd, 3, C023),
	X87R("x87-ldst", "ffree", 0xdd, 0, C0123),
	X87R("x87-ldst", "fcmovb", 0xda, 0, C023),
	X87R("x87-ldst", "fcmove", 0xda, 1, C023),
	X87R("x87-ldst", "fcmovbe", 0xda, 2, C023),
	X87R("x87-ldst", "fcmovu", 0xda, 3, C023),
	X87R("x87-ldst", "fcmovnb", 0xdb, 0, C023),
	X87R("x87-ldst", "fcmovne", 0xdb, 1, C023),
	X87R("x87-ldst", "fcmovnbe", 0xdb, 2, C023),
	X87R("x87-ldst", "fcmovnu", 0xdb, 3, C023),
	X87N("x87-const", "fld1", 0xd9, 0xe8, C023),
	X87N("x87-const", "fldl2t", 0xd9, 0xe9, C023),
	X87N("x87-const", "fldl2e", 0xd9, 0xea, C023),
	X87N("x87-const", "fldpi", 0xd9, 0xeb, C023),
	X87N("x87-const", "fldlg2", 0xd9, 0xec, C023),
	X87N("x87-const", "fldln2", 0xd9, 0xed, C023),
	X87N("x87-const", "fldz", 0xd9, 0xee, C023),
	X87N("x87-misc", "fchs", 0xd9, 0xe0, C023),
	X87N("x87-misc", "fabs", 0xd9, 0xe1, C023),
	X87N("x87-misc", "fnop", 0xd9, 0xd0, C0123),
	X87N("x87-misc", "fdecstp", 0xd9, 0xf6, C023),
	X87N("x87-misc", "fincstp", 0xd9, 0xf7, C023),
	X87N("x87-misc", "fsqrt", 0xd9, 0xfa, C023),
	X87N("x87-misc", "frndint", 0xd9, 0xfc, C023),
	X87N("x87-misc", "fscale", 0xd9, 0xfd, C023),
	X87N("x87-misc", "fxtract", 0xd9, 0xf4, C023),
	X87N("x87-misc", "fprem", 0xd9, 0xf8, 0),
	X87N("x87-misc", "fprem1", 0xd9, 0xf5, 0),
	X87N("x87-misc", "fnclex", 0xdb, 0xe2, C0123),
	X87N("x87-misc", "fninit", 0xdb, 0xe3, 0),
	X87N("x87-misc", "fnstsw ax", 0xdf, 0xe0, C0123),
	{ D_("x87-misc", "fwait"), O1(0x9b), NM, .vk = VK_X87, .kind = K_X87 },
	X87M("x87-misc", "fnstsw m16", 0xdd, 7, MF_NONE, 2, C0123),
	X87M("x87-misc", "fnstcw m16", 0xd9, 7, MF_NONE, 2, C0123),
	{ D_("x87-misc", "fldcw m16"), O1(0xd9), .form = F_MODRM, .ext = 5, .rm = RM_MEM, .msize = 2,
	  .vk = VK_X87, .kind = K_X87, .fsw_undef = C0123, .x = X_FCW },
	X87N("x87-transcendental", "f2xm1", 0xd9, 0xf0, C023),
	X87N("x87-transcendental", "fyl2x", 0xd9, 0xf1, C023),
	X87N("x87-transcendental", "fptan", 0xd9, 0xf2, 0x4100),
	X87N("x87-transcendental", "fpatan", 0xd9, 0xf3, C023),
	X87N("x87-transcendental", "fyl2xp1", 0xd9, 0xf9, C023),
	X87N("x87-transcendental", "fsincos", 0xd9, 0xfb, 0x4100),
	X87N("x87-transcendental", "fsin", 0xd9, 0xfe, 0x4100),
	X87N("x87-transcendental", "fcos", 0xd9, 0xff, 0x4100),
#include "tables-bmi.inc"
};

const unsigned dt_ndefs_legacy = sizeof(dt_defs_legacy) / sizeof(dt_defs_legacy[0]);

const struct dt_def *dt_defs;
unsigned dt_ndefs;

/* One array of every entry, in a fixed order (case numbers of random
 * runs depend on it).  A new table adds its count and copy here. */
void dt_tables_init(void)
{
	unsigned nvex = dt_vex_defs(NULL);
	unsigned n = dt_ndefs_legacy + nvex + dt_ndefs_avx2;
	struct dt_def *all = calloc(n, sizeof(*all));

	if (!all) {
		fprintf(stderr, "difftest: out of memory\n");
		exit(1);
	}
	memcpy(all, dt_defs_legacy, dt_ndefs_legacy * sizeof(*all));
	dt_vex_defs(all + dt_ndefs_legacy);
	memcpy(all + dt_ndefs_legacy + nvex, dt_defs_avx2, dt_ndefs_avx2 * sizeof(*all));
	dt_defs = all;
	dt_ndefs = n;
}
