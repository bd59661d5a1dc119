/*
 * The x86 instruction decoder: legacy and REX prefixes, the opcode maps,
 * ModRM/SIB, displacement and immediates into a struct insn (tcg.h), and
 * the handler lookup in tcg_ops.  It knows how every opcode is encoded and
 * nothing of what it does.
 *
 * References: Intel SDM Vol. 2, chapter 2 (instruction format, 2.1-2.2)
 * and appendix A (opcode maps, A.2-A.4: the operand types Ib/Iw/Iz/Iv,
 * the d64/f64/i64 superscripts and the groups).
 *
 * The work is table driven: one property word per opcode per map says
 * whether a ModRM byte follows, which immediate, the 64-bit operand size
 * rule, whether the instruction ends a block, may take LOCK or is invalid.
 * Group opcodes whose properties depend on ModRM.reg are refined by
 * group_props() once ModRM is known.
 */
#include "tcg/tcg.h"

#define MAX_INSN_LEN 15

/* Immediate kinds, in the low bits of a property word. */
enum {
	IMM_NONE,
	IMM_B,          /* Ib */
	IMM_W,          /* Iw */
	IMM_Z,          /* Iz: 2 or 4 bytes by operand size */
	IMM_V,          /* Iv: operand size, 8 with REX.W (B8+r) */
	IMM_MOFFS,      /* A0-A3: address size */
	IMM_FAR,        /* Ap: Iz offset, then a 16-bit selector */
	IMM_ENTER,      /* Iw, then Ib */
};

#define P_IMM    0x000f /* mask of the immediate kind */
#define P_MODRM  0x0010 /* a ModRM byte follows the opcode */
#define P_D64    0x0020 /* 64-bit mode: operand size defaults to 64 */
#define P_F64    0x0040 /* 64-bit mode: operand size forced to 64 */
#define P_END    0x0080 /* control transfer or state change: ends a block */
#define P_I64    0x0100 /* invalid in 64-bit mode */
#define P_UD     0x0200 /* undefined (#UD) */
#define P_LOCK   0x0400 /* LOCK allowed when r/m is memory */
#define P_GRP    0x0800 /* refined by ModRM.reg: group_props() */
#define P_MODREG 0x1000 /* ModRM.mod ignored, r/m is a register (MOV CR/DR) */
#define P_VEX    0x2000 /* C4 C5 62: VEX/EVEX when ModRM.mod is 11 */
#define P_MEM    0x4000 /* r/m must be memory (#UD for a register) */

#define M  P_MODRM
#define ML (P_MODRM | P_LOCK)
#define MB (P_MODRM | IMM_B)

/* The eight classic ALU opcodes: Eb,Gb  Ev,Gv  Gb,Eb  Gv,Ev  AL,Ib  rAX,Iz;
 * the r/m-destination forms take LOCK (SDM Vol. 2, "LOCK"). */
#define ALU_ROW(o, lk)                                                  \
	[(o) + 0 ... (o) + 1] = M | (lk), [(o) + 2 ... (o) + 3] = M,    \
	[(o) + 4] = IMM_B, [(o) + 5] = IMM_Z

/* One-byte map, SDM Vol. 2 Table A-2.  Prefix bytes (26 2E 36 3E 40-4F
 * in 64-bit mode, 64-67 F0 F2 F3) never reach the table. */
static const uint16_t props_1b[256] = {
	ALU_ROW(0x00, P_LOCK),                          /* ADD */
	[0x06] = P_I64,                                 /* PUSH ES */
	[0x07] = P_I64 | P_END,                         /* POP ES */
	ALU_ROW(0x08, P_LOCK),                          /* OR */
	[0x0e] = P_I64,                                 /* PUSH CS */
	ALU_ROW(0x10, P_LOCK),                          /* ADC */
	[0x16] = P_I64,                                 /* PUSH SS */
	[0x17] = P_I64 | P_END,                         /* POP SS */
	ALU_ROW(0x18, P_LOCK),                          /* SBB */
	[0x1e] = P_I64,                                 /* PUSH DS */
	[0x1f] = P_I64 | P_END,                         /* POP DS */
	ALU_ROW(0x20, P_LOCK),                          /* AND */
	[0x27] = P_I64,                                 /* DAA */
	ALU_ROW(0x28, P_LOCK),                          /* SUB */
	[0x2f] = P_I64,                                 /* DAS */
	ALU_ROW(0x30, P_LOCK),                          /* XOR */
	[0x37] = P_I64,                                 /* AAA */
	ALU_ROW(0x38, 0),                               /* CMP */
	[0x3f] = P_I64,                                 /* AAS */
	[0x50 ... 0x5f] = P_D64,                        /* PUSH/POP reg */
	[0x60 ... 0x61] = P_I64,                        /* PUSHA POPA */
	[0x62] = M | P_I64 | P_VEX,                     /* BOUND; EVEX */
	[0x63] = M,                                     /* ARPL; MOVSXD */
	[0x68] = IMM_Z | P_D64,                         /* PUSH Iz */
	[0x69] = M | IMM_Z,                             /* IMUL Gv,Ev,Iz */
	[0x6a] = IMM_B | P_D64,                         /* PUSH Ib */
	[0x6b] = MB,                                    /* IMUL Gv,Ev,Ib */
	[0x6c ... 0x6f] = P_END,                        /* INS OUTS */
	[0x70 ... 0x7f] = IMM_B | P_F64 | P_END,        /* Jcc Jb */
	[0x80] = MB | P_GRP,                            /* group 1 */
	[0x81] = M | IMM_Z | P_GRP,
	[0x82] = MB | P_GRP | P_I64,
	[0x83] = MB | P_GRP,
	[0x84 ... 0x85] = M,                            /* TEST */
	[0x86 ... 0x87] = ML,                           /* XCHG */
	[0x88 ... 0x8c] = M,                            /* MOV, MOV Ev,Sw */
	[0x8d] = M | P_MEM,                             /* LEA */
	[0x8e] = M | P_END,                             /* MOV Sw,Ew */
	[0x8f] = M | P_D64 | P_GRP,                     /* group 1A: POP Ev */
	[0x9a] = IMM_FAR | P_I64 | P_END,               /* CALLF Ap */
	[0x9c] = P_D64,                                 /* PUSHF */
	[0x9d] = P_D64 | P_END,                         /* POPF */
	[0xa0 ... 0xa3] = IMM_MOFFS,                    /* MOV moffs */
	[0xa8] = IMM_B,                                 /* TEST AL,Ib */
	[0xa9] = IMM_Z,                                 /* TEST rAX,Iz */
	[0xb0 ... 0xb7] = IMM_B,                        /* MOV r8,Ib */
	[0xb8 ... 0xbf] = IMM_V,                        /* MOV r,Iv */
	[0xc0 ... 0xc1] = MB,                           /* group 2 Ib */
	[0xc2] = IMM_W | P_F64 | P_END,                 /* RET Iw */
	[0xc3] = P_F64 | P_END,                         /* RET */
	[0xc4 ... 0xc5] = M | P_I64 | P_VEX | P_END,    /* LES LDS; VEX */
	[0xc6] = MB | P_GRP,                            /* group 11 */
	[0xc7] = M | IMM_Z | P_GRP,
	[0xc8] = IMM_ENTER | P_D64,                     /* ENTER */
	[0xc9] = P_D64,                                 /* LEAVE */
	[0xca] = IMM_W | P_END,                         /* RETF Iw */
	[0xcb ... 0xcc] = P_END,                        /* RETF, INT3 */
	[0xcd] = IMM_B | P_END,                         /* INT Ib */
	[0xce] = P_I64 | P_END,                         /* INTO */
	[0xcf] = P_END,                                 /* IRET */
	[0xd0 ... 0xd3] = M,                            /* group 2 */
	[0xd4 ... 0xd5] = IMM_B | P_I64,                /* AAM AAD */
	[0xd6] = P_I64,                                 /* SALC */
	[0xd8 ... 0xdf] = M,                            /* x87 */
	[0xe0 ... 0xe3] = IMM_B | P_F64 | P_END,        /* LOOPcc JrCXZ */
	[0xe4 ... 0xe7] = IMM_B | P_END,                /* IN OUT Ib */
	[0xe8 ... 0xe9] = IMM_Z | P_F64 | P_END,        /* CALL JMP Jz */
	[0xea] = IMM_FAR | P_I64 | P_END,               /* JMPF Ap */
	[0xeb] = IMM_B | P_F64 | P_END,                 /* JMP Jb */
	[0xec ... 0xef] = P_END,                        /* IN OUT DX */
	[0xf1] = P_END,                                 /* INT1 */
	[0xf4] = P_END,                                 /* HLT */
	[0xf6 ... 0xf7] = M | P_GRP,                    /* group 3 */
	/* CLI, STI (0xfa, 0xfb): no block end; STI stops when an interrupt
	 * is waiting (system.c) */
	[0xfe ... 0xff] = M | P_GRP,                    /* groups 4, 5 */
};

/* Two-byte map 0F xx, SDM Vol. 2 Table A-3.  38 and 3A escape to the
 * three-byte maps and never reach the table. */
static const uint16_t props_0f[256] = {
	[0x00 ... 0x01] = M | P_END,                    /* groups 6, 7 */
	[0x02 ... 0x03] = M,                            /* LAR LSL */
	[0x04] = P_UD,
	[0x05 ... 0x09] = P_END,                        /* SYSCALL CLTS SYSRET INVD WBINVD */
	[0x0a] = P_UD,
	[0x0b] = P_UD | P_END,                          /* UD2 */
	[0x0c] = P_UD,
	[0x0d] = M,                                     /* PREFETCHW */
	[0x0e] = P_UD,                                  /* FEMMS (3DNow!) */
	[0x0f] = MB | P_UD,                             /* 3DNow! */
	[0x10 ... 0x1f] = M,                            /* SSE moves, hint NOPs */
	[0x20 ... 0x21] = M | P_MODREG,                 /* MOV r,CR/DR */
	[0x22 ... 0x23] = M | P_MODREG | P_END,         /* MOV CR/DR,r */
	[0x24] = M | P_MODREG | P_UD,                   /* (MOV r,TR) */
	[0x25] = P_UD,
	[0x26] = M | P_MODREG | P_UD,                   /* (MOV TR,r) */
	[0x27] = P_UD,
	[0x28 ... 0x2f] = M,
	[0x30] = P_END,                                 /* WRMSR */
	[0x34 ... 0x35] = P_END,                        /* SYSENTER SYSEXIT */
	[0x36] = P_UD,
	[0x39] = P_UD,
	[0x3b ... 0x3f] = P_UD,
	[0x40 ... 0x6f] = M,                            /* CMOVcc, SSE, MMX */
	[0x70 ... 0x73] = MB,                           /* PSHUF, groups 12-14 */
	[0x74 ... 0x76] = M,
	[0x78 ... 0x79] = M,                            /* VMREAD VMWRITE */
	[0x7a ... 0x7b] = P_UD,
	[0x7c ... 0x7f] = M,
	[0x80 ... 0x8f] = IMM_Z | P_F64 | P_END,        /* Jcc Jz */
	[0x90 ... 0x9f] = M,                            /* SETcc */
	[0xa0] = P_D64,                                 /* PUSH FS */
	[0xa1] = P_D64 | P_END,                         /* POP FS */
	[0xa2] = P_END,                                 /* CPUID */
	[0xa3] = M,                                     /* BT */
	[0xa4] = MB,                                    /* SHLD Ib */
	[0xa5] = M,                                     /* SHLD CL */
	[0xa6 ... 0xa7] = P_UD,
	[0xa8] = P_D64,                                 /* PUSH GS */
	[0xa9] = P_D64 | P_END,                         /* POP GS */
	[0xaa] = P_END,                                 /* RSM */
	[0xab] = ML,                                    /* BTS */
	[0xac] = MB,                                    /* SHRD Ib */
	[0xad] = M,                                     /* SHRD CL */
	[0xae] = M | P_END,                             /* group 15 */
	[0xaf] = M,                                     /* IMUL */
	[0xb0 ... 0xb1] = ML,                           /* CMPXCHG */
	[0xb2] = M | P_MEM | P_END,                     /* LSS */
	[0xb3] = ML,                                    /* BTR */
	[0xb4 ... 0xb5] = M | P_MEM | P_END,            /* LFS LGS */
	[0xb6 ... 0xb8] = M,                            /* MOVZX, POPCNT */
	[0xb9] = M | P_UD,                              /* UD1 */
	[0xba] = MB | P_GRP,                            /* group 8 */
	[0xbb] = ML,                                    /* BTC */
	[0xbc ... 0xbf] = M,                            /* BSF BSR MOVSX */
	[0xc0 ... 0xc1] = ML,                           /* XADD */
	[0xc2] = MB,                                    /* CMPPS */
	[0xc3] = M,                                     /* MOVNTI */
	[0xc4 ... 0xc6] = MB,                           /* PINSRW PEXTRW SHUFPS */
	[0xc7] = M | P_GRP,                             /* group 9 */
	[0xd0 ... 0xfe] = M,                            /* SSE, MMX */
	[0xff] = M | P_UD,                              /* UD0 */
};

/* Three-byte maps: every legacy-encoded 0F 38 opcode has ModRM, every
 * 0F 3A opcode ModRM and Ib (SDM Vol. 2 Tables ). */
static const uint16_t props_0f38[256] = { [0x00 ... 0xff] = M };
static const uint16_t props_0f3a[256] = { [0x00 ... 0xff] = MB };

static const uint16_t *const props_map[MAP_NR] = {
	props_1b, props_0f, props_0f38, props_0f3a,
};

/* Properties that depend on ModRM.reg (and mod), SDM Vol. 2 Table A-6. */
static uint16_t group_props(unsigned map, unsigned op, uint16_t p, unsigned reg)
{
	if (map == MAP_0F) {
		if (op == 0xba)                 /* BT BTS BTR BTC Ev,Ib */
			return p | (reg < 4 ? P_UD : reg > 4 ? P_LOCK : 0);
		if (op == 0xc7 && reg == 1)     /* CMPXCHG8B/16B m64/m128 */
			return p | P_LOCK | P_MEM;
		return p;
	}
	switch (op) {
	case 0x80 ... 0x83:                     /* ADD..CMP: all but CMP lock */
		return reg != 7 ? p | P_LOCK : p;
	case 0x8f:                              /* POP Ev; XOP otherwise */
	case 0xc6:                              /* MOV Eb,Ib; XABORT (no RTM) */
	case 0xc7:                              /* MOV Ev,Iz; XBEGIN (no RTM) */
		return reg ? p | P_UD : p;
	case 0xf6:                              /* TEST Ib, NOT NEG, MUL DIV */
	case 0xf7:
		if (reg < 2)
			return p | (op == 0xf6 ? IMM_B : IMM_Z);
		return reg < 4 ? p | P_LOCK : p;
	case 0xfe:                              /* INC DEC Eb */
		return reg < 2 ? p | P_LOCK : p | P_UD;
	case 0xff:
		switch (reg) {
		case 0: case 1:                 /* INC DEC Ev */
			return p | P_LOCK;
		case 2: case 4:                 /* near CALL, JMP: f64 */
			return p | P_F64 | P_END;
		case 3: case 5:                 /* far CALL, JMP: Mp only */
			return p | P_END | P_MEM;
		case 6:                         /* PUSH Ev: d64 */
			return p | P_D64;
		default:
			return p | P_UD;
		}
	}
	return p;
}

/* Little-endian value of the n (0-8) bytes at b, of which room can be
 * read: one unaligned load when 8 bytes may be read. */
static inline uint64_t load_le(const uint8_t *b, unsigned room, unsigned n)
{
	uint64_t v = 0;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (room >= 8) {
		memcpy(&v, b, 8);
		return v & size_mask(n);
	}
#endif
	(void)room;
	while (n--)
		v = v << 8 | b[n];
	return v;
}

/* Internal results when byte pos is needed but not in [0, avail):
 * tcg_decode() turns them into -1 and 0. */
#define DEC_TOO_LONG (-1)
#define DEC_SHORT (-2)

static inline int short_of(unsigned pos)
{
	return pos >= MAX_INSN_LEN ? DEC_TOO_LONG : DEC_SHORT;
}

/* tcg_decode()'s answer for an internal result err < 0. */
static inline int decode_error(int err)
{
	return err == DEC_SHORT ? 0 : -1;
}

/* 16-bit ModRM memory forms (SDM Vol. 2, Table 2-1).  Sets base, index,
 * the default segment; returns the displacement size. */
static unsigned modrm16(struct insn *i, unsigned mod, unsigned rm)
{
	static const uint8_t base16[8] = {
		R_RBX, R_RBX, R_RBP, R_RBP, R_RSI, R_RDI, R_RBP, R_RBX,
	};
	static const uint8_t index16[8] = {
		R_RSI, R_RDI, R_RSI, R_RDI, NO_REG, NO_REG, NO_REG, NO_REG,
	};

	if (mod == 0 && rm == 6)                /* [disp16] */
		return 2;
	i->base = base16[rm];
	i->index = index16[rm];
	if (i->base == R_RBP && !i->seg_override) /* BP-based forms: SS */
		i->seg = S_SS;
	return mod == 0 ? 0 : mod == 1 ? 1 : 2;
}

/*
 * 32/64-bit ModRM memory forms with SIB (SDM Vol. 2, Tables 2-2, 2-3 and
 * 2.2.1.3-2.2.1.6 for REX and RIP-relative addressing).  pos is the byte
 * after ModRM.  Returns the position after the SIB byte, or short_of().
 * *disp_size gets the displacement size.
 */
static int modrm32(struct insn *i, const uint8_t *b, unsigned avail,
		   unsigned pos, bool code64, unsigned *disp_size)
{
	unsigned mod = i->mod, rm = i->rm & 7;
	unsigned rex_b = (i->rex & 1) << 3, rex_x = (i->rex & 2) << 2;

	*disp_size = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	if (rm == 4) {
		if (pos >= avail || pos >= MAX_INSN_LEN)
			return short_of(pos);
		uint8_t sib = b[pos++];
		unsigned index = ((sib >> 3) & 7) | rex_x;
		if (index != R_RSP)             /* 100 without REX.X: none */
			i->index = index;
		i->scale = sib >> 6;            /* VSIB's index 100b is XMM4 */
		if ((sib & 7) == 5 && mod == 0)
			*disp_size = 4;         /* [index*s + disp32] */
		else
			i->base = (sib & 7) | rex_b;
	} else if (rm == 5 && mod == 0) {
		*disp_size = 4;                 /* disp32, or RIP + disp32 */
		i->rip_rel = code64;
	} else {
		i->base = rm | rex_b;
	}
	/* SS for an rSP or rBP base (SDM Vol. 1, 3.7.4) */
	if ((i->base == R_RSP || i->base == R_RBP) && !i->seg_override)
		i->seg = S_SS;
	return pos;
}

/* Segment register of a segment-override prefix byte. */
static inline int seg_of_prefix(uint8_t byte)
{
	switch (byte) {
	case 0x26: return S_ES;
	case 0x2e: return S_CS;
	case 0x36: return S_SS;
	case 0x3e: return S_DS;
	case 0x64: return S_FS;
	default: return S_GS;
	}
}

/* The operand size (SDM Vol. 1, 3.6.1 and Vol. 2, 2.2.1.2, A.2.5). */
static inline unsigned operand_size(const struct insn *i, uint16_t p, int code_bits)
{
	/* MOV CR/DR: 64 bits in 64-bit mode, else 32 (66 and REX.W ignored) */
	if (p & P_MODREG)
		return code_bits == 64 ? 8 : 4;
	if (code_bits == 64) {
		if ((p & P_F64) || (i->rex & 8))
			return 8;
		if (i->opsize_prefix)
			return 2;
		return (p & P_D64) ? 8 : 4;
	}
	return ((code_bits == 16) ^ i->opsize_prefix) ? 2 : 4;
}

static inline unsigned address_size(bool addr_prefix, int code_bits)
{
	if (code_bits == 64)
		return addr_prefix ? 4 : 8;
	return ((code_bits == 16) ^ addr_prefix) ? 2 : 4;
}

/* Sizes of the first and second immediates of kind imm. */
static inline void imm_sizes(unsigned imm, const struct insn *i,
			     unsigned *size, unsigned *size2)
{
	unsigned z = i->osz == 2 ? 2 : 4;

	*size2 = 0;
	switch (imm) {
	case IMM_B: *size = 1; break;
	case IMM_W: *size = 2; break;
	case IMM_Z: *size = z; break;
	case IMM_V: *size = i->osz; break;
	case IMM_MOFFS: *size = i->asz; break;
	case IMM_FAR: *size = z; *size2 = 2; break;
	case IMM_ENTER: *size = 2; *size2 = 1; break;
	default: *size = 0; break;
	}
}

/* May the instruction take LOCK?  (SDM Vol. 2, "LOCK": only the listed
 * read-modify-write instructions with a memory destination.) */
static inline bool lock_ok(const struct insn *i, uint16_t p)
{
	return (p & P_LOCK) && i->mem;
}

/* The class of each prefix byte, 0 for the other bytes. */
enum { PX_NONE, PX_SEG, PX_OPSIZE, PX_ADDR, PX_LOCK, PX_REP, PX_REX };
static const uint8_t prefix_class[256] = {
	[0x26] = PX_SEG, [0x2e] = PX_SEG, [0x36] = PX_SEG, [0x3e] = PX_SEG,
	[0x64] = PX_SEG, [0x65] = PX_SEG,
	[0x66] = PX_OPSIZE, [0x67] = PX_ADDR, [0xf0] = PX_LOCK,
	[0xf2] = PX_REP, [0xf3] = PX_REP,
	[0x40 ... 0x4f] = PX_REX,
};

/*
 * Legacy prefixes (SDM Vol. 2, 2.1.1) and REX (2.2.1), in any order and
 * repeated.  REX counts only in 64-bit mode and only right before the
 * opcode.  Returns the position of the opcode, or short_of().
 */
static int decode_prefixes(struct insn *i, const uint8_t *b, unsigned avail,
			   bool code64, bool *addr_prefix)
{
	unsigned pos = 0, cls;
	int seg = -1;
	uint8_t rex = 0, rep = 0;

	for (;; pos++) {
		if (pos >= avail || pos >= MAX_INSN_LEN)
			return short_of(pos);
		uint8_t byte = b[pos];
		cls = prefix_class[byte];
		if (cls == PX_NONE || (cls == PX_REX && !code64))
			break;
		if (cls == PX_REX) {
			rex = byte;
			continue;
		}
		rex = 0;        /* a REX before a legacy prefix is ignored */
		switch (cls) {
		case PX_SEG:
			seg = seg_of_prefix(byte);
			break;
		case PX_OPSIZE:
			i->opsize_prefix = true;
			break;
		case PX_ADDR:
			*addr_prefix = true;
			break;
		case PX_LOCK:
			i->lock = true;
			break;
		default:
			rep = byte;
			break;
		}
	}
	i->rex = rex;
	i->rep = rep;
	/* 64-bit mode ignores the ES, CS, SS and DS overrides (SDM Vol. 1,
	 * 3.3.7.1): a non-canonical address is #SS only with an rSP/rBP base,
	 * whatever the prefix says (checked against the host CPU); the last
	 * segment prefix given wins. */
	if (seg >= 0 && !(code64 && seg < S_FS)) {
		i->seg = seg;
		i->seg_override = true;
	}
	if (rep)
		i->pfx = rep == 0xf3 ? PFX_F3 : PFX_F2;
	else if (i->opsize_prefix)
		i->pfx = PFX_66;
	return pos;
}

/* The opcode map and byte at pos (decode_prefixes() saw that byte);
 * returns the position after them, or short_of(). */
static int decode_opcode(struct insn *i, const uint8_t *b, unsigned avail,
			 unsigned pos)
{
	i->map = MAP_1B;
	i->op = b[pos++];
	if (i->op != 0x0f)
		return pos;
	if (pos >= avail || pos >= MAX_INSN_LEN)
		return short_of(pos);
	i->map = MAP_0F;
	i->op = b[pos++];
	if (i->op != 0x38 && i->op != 0x3a)
		return pos;
	if (pos >= avail || pos >= MAX_INSN_LEN)
		return short_of(pos);
	i->map = i->op == 0x38 ? MAP_0F38 : MAP_0F3A;
	i->op = b[pos++];
	return pos;
}

/* SWAPGS and RDTSCP (0F 01 F8, F9) change nothing a block depends on (in
 * 64-bit mode the translation key holds no segment base; FS and GS bases
 * are read when used), unlike the rest of group 7 (descriptor tables,
 * INVLPG, CR0): a Linux system call runs two SWAPGS. */
static bool group7_plain(const struct insn *i)
{
	return i->map == MAP_0F && i->op == 0x01 && i->mod == 3 && (i->reg & 7) == 7 &&
	       (i->rm & 7) <= 1;
}

/*
 * The VEX prefix at pos (SDM Vol. 2, 2.3.5-2.3.6): C5 RvvvvLpp, or C4
 * RXBmmmmm WvvvvLpp, then the opcode.  Outside 64-bit mode C4/C5 are VEX
 * only when the next byte's top two bits are 11 (they are LES/LDS with a
 * register operand otherwise, which is #UD); there REX.R/X/B do not exist
 * and vvvv names xmm0-7.  Returns the position after the opcode or
 * short_of(); *bad for a VEX encoding that is #UD whatever follows:
 * after a 66, F2, F3, LOCK or REX prefix (2.3.2), or a reserved map.
 */
static int decode_vex(struct insn *i, const uint8_t *b, unsigned avail,
		      unsigned pos, bool code64, bool *bad)
{
	bool three = b[pos] == 0xc4;
	unsigned need = pos + (three ? 4 : 3);
	if (need > MAX_INSN_LEN)
		return DEC_TOO_LONG;
	if (avail < need)
		return DEC_SHORT;
	uint8_t p1 = b[pos + 1], p2 = three ? b[pos + 2] : p1;
	unsigned rxb = three ? (~p1 >> 5) & 7 : (~p1 >> 5) & 4;
	unsigned map = three ? p1 & 0x1f : 1;

	i->vex = true;
	i->vex_w = three ? p2 >> 7 : 0;
	i->vex_l = (p2 >> 2) & 1;
	i->vvvv = (~p2 >> 3) & (code64 ? 15 : 7);
	i->pfx = p2 & 3;        /* 00 none, 01 66, 10 F3, 11 F2: as PFX_* */
	*bad = i->opsize_prefix || i->rep || i->lock || i->rex || map < 1 || map > 3;
	if (*bad)
		return (int)need;
	i->map = map;   /* 1, 2, 3: MAP_0F, MAP_0F38, MAP_0F3A */
	if (code64)
		i->rex = (uint8_t)(0x40 | i->vex_w << 3 | rxb);
	i->op = b[need - 1];
	return (int)need;
}

static bool is_vex(const uint8_t *b, unsigned avail, unsigned pos, bool code64)
{
	if (b[pos] != 0xc4 && b[pos] != 0xc5)
		return false;
	return code64 || (pos + 1 < avail && (b[pos + 1] >> 6) == 3);
}

/* Finish an instruction that is #UD, ending after pos bytes. */
static int decode_ud(struct insn *i, unsigned pos)
{
	i->fn = tcg_op_ud;
	i->ends_block = true;
	i->len = pos;
	return pos;
}

/*
 * ModRM at pos (present in b) and, for a memory operand, SIB: fills the
 * operand fields, refines *p for group opcodes.  Returns the position of
 * the displacement (its size in *disp_size), or short_of().
 */
static int decode_modrm(struct insn *i, const uint8_t *b, unsigned avail,
			unsigned pos, int code_bits, uint16_t *p,
			unsigned *disp_size)
{
	uint8_t modrm = b[pos++];

	i->has_modrm = true;
	i->mod = modrm >> 6;
	i->reg = ((modrm >> 3) & 7) | (i->rex & 4) << 1;
	i->rm = (modrm & 7) | (i->rex & 1) << 3;
	if (*p & P_GRP) {
		*p = group_props(i->map, i->op, *p, (modrm >> 3) & 7);
		i->osz = operand_size(i, *p, code_bits);
	}
	*disp_size = 0;
	if (i->mod == 3 || (*p & P_MODREG))
		return pos;
	i->mem = true;
	if (i->asz == 2) {
		*disp_size = modrm16(i, i->mod, modrm & 7);
		return pos;
	}
	return modrm32(i, b, avail, pos, code_bits == 64, disp_size);
}

int tcg_decode(struct insn *i, const uint8_t *b, unsigned avail, int code_bits)
{
	bool code64 = code_bits == 64;
	bool addr_prefix = false;
	unsigned disp_size = 0, imm_size, imm2_size;
	int pos;

	*i = (struct insn){ .seg = S_DS, .base = NO_REG, .index = NO_REG };
	pos = decode_prefixes(i, b, avail, code64, &addr_prefix);
	if (pos >= 0 && !code64 && (b[pos] == 0xc4 || b[pos] == 0xc5) &&
	    (unsigned)pos + 1 >= avail)
		return decode_error(short_of(pos + 1)); /* VEX or LES/LDS? */
	if (pos >= 0 && is_vex(b, avail, pos, code64)) {
		bool bad;
		pos = decode_vex(i, b, avail, pos, code64, &bad);
		if (pos > 0 && bad)
			return decode_ud(i, pos);
	} else if (pos >= 0) {
		pos = decode_opcode(i, b, avail, pos);
	}
	if (pos < 0)
		return decode_error(pos);
	i->asz = address_size(addr_prefix, code_bits);
	i->opreg = (i->op & 7) | (i->rex & 1) << 3;

	uint16_t p = props_map[i->map][i->op];
	i->osz = operand_size(i, p, code_bits);
	if (code64 && (p & P_I64))
		return decode_ud(i, pos);
	if (p & P_MODRM) {
		if ((unsigned)pos >= avail || pos >= MAX_INSN_LEN)
			return decode_error(short_of(pos));
		/* C4 C5 62 with mod 11 are VEX/EVEX (SDM Vol. 2, 2.3.5):
		 * no AVX here */
		if ((p & P_VEX) && (b[pos] >> 6) == 3)
			return decode_ud(i, pos + 1);
		pos = decode_modrm(i, b, avail, pos, code_bits, &p, &disp_size);
		if (pos < 0)
			return decode_error(pos);
	}
	/* VEX: 32-bit operands, 64 with W in 64-bit mode (the BMI forms) */
	if (i->vex)
		i->osz = code64 && i->vex_w ? 8 : 4;
	imm_sizes(p & P_IMM, i, &imm_size, &imm2_size);

	unsigned len = pos + disp_size + imm_size + imm2_size;
	if (len > MAX_INSN_LEN)
		return -1;
	if (len > avail)
		return 0;
	if (disp_size)
		i->disp = sext(load_le(b + pos, avail - pos, disp_size), disp_size);
	pos += disp_size;
	i->imm_size = imm_size;
	if (imm_size) {
		i->imm = load_le(b + pos, avail - pos, imm_size);
		pos += imm_size;
		i->imm2 = load_le(b + pos, avail - pos, imm2_size);
	}
	i->len = len;
	i->ends_block = (p & P_END) && !group7_plain(i);
	if (i->vex) {
		i->fn = tcg_vex_ops[i->map][i->op];
		return i->fn ? (int)len : decode_ud(i, len);
	}
	if ((p & P_UD) || (i->lock && !lock_ok(i, p)) || ((p & P_MEM) && !i->mem))
		return decode_ud(i, len);
	i->fn = tcg_ops[i->map][i->op];
	if (!i->fn)
		return decode_ud(i, len);
	return len;
}
