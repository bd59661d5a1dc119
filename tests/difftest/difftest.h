/*
 * Differential tester: one instruction runs natively on the host (in a
 * user-mode sandbox inside this process) and in the TCG engine from the
 * same state; the results must agree.  See README.md.
 */
#ifndef DIFFTEST_H
#define DIFFTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The same linear addresses in both worlds. */
#define DT_CODE_BASE 0x10000000ULL      /* one page, then a guard page */
#define DT_CODE_SIZE 0x1000ULL
#define DT_INSN_ADDR (DT_CODE_BASE + 0x800) /* the instruction under test */
#define DT_DATA_BASE 0x20000000ULL      /* two pages, guard pages around */
#define DT_DATA_SIZE 0x2000ULL
#define DT_MAX_LAND 4                   /* landing stubs per case */
#define DT_STUB_LEN 14                  /* jmp *0(%rip); .quad exit */

/* Architectural state exchanged with the native trampoline (trampoline.S
 * knows these offsets). */
struct dt_cpu {
	uint64_t regs[16];              /* 0 */
	uint64_t rip;                   /* 128 */
	uint64_t rflags;                /* 136 */
	uint8_t fx[512];                /* 144: FXSAVE image (SDM Vol. 1, 10.5.1) */
	uint8_t ymmh[16][16];           /* 656: bits 255:128 of YMM0-15 */
} __attribute__((aligned(16)));

/* FXSAVE image offsets */
#define FX_FCW 0
#define FX_FSW 2
#define FX_FTW 4                        /* abridged: 1 bit per register */
#define FX_FOP 6
#define FX_MXCSR 24
#define FX_MXCSR_MASK 28
#define FX_ST(i) (32 + 16 * (i))        /* ST(i), stack order */
#define FX_XMM(i) (160 + 16 * (i))

/* The result of running a case in one world. */
struct dt_result {
	struct dt_cpu cpu;
	uint8_t data[DT_DATA_SIZE];
	int vec;                        /* exception vector, -1 if none */
	int err;                        /* error code (#GP/#SS/#PF), -1 if none */
	uint64_t cr2;                   /* #PF address */
};

/* ------------------------------------------------------------------ */
#define DT_HARNESS_FAULT 100     /* native fault outside the code page */

/* ------------------------------------------------------------------ */
/* Table entries */

enum { RC_NONE, RC_GPR, RC_XMM, RC_MMX, RC_X87 }; /* register classes */
enum { F_NONE, F_MODRM, F_OPREG };              /* operand encodings */
enum { RM_ANY, RM_MEM, RM_REG };
enum { IMM_NONE, IMM_8, IMM_16, IMM_Z, IMM_V, IMM_REL8, IMM_REL32, IMM_16_8 };
/* value kinds: how operands are chosen */
enum { VK_INT, VK_COUNT, VK_PS, VK_PD, VK_X87, VK_STR, VK_NONE };
enum { K_INT, K_SSE, K_MMX, K_X87 };            /* state the entry uses */

#define SZ8 1
#define SZ16 2
#define SZ32 4
#define SZ64 8
#define SZV (SZ16 | SZ32 | SZ64)

/* special behaviour (dt_def.x) */
#define X_ACC (1ull << 0)         /* slot A is rAX (no reg operand) */
#define X_CL (1ull << 1)          /* slot C is CL (count) */
#define X_RDX (1ull << 2)         /* slot C is rDX (dividend high) */
#define X_STACK (1ull << 3)       /* uses rSP: keep it in the data page */
#define X_STRING (1ull << 4)      /* string op: rSI/rDI/rCX set up */
#define X_BRANCH (1ull << 5)      /* rel branch: imm is a landing target */
#define X_INDBR (1ull << 6)       /* indirect branch: rm value is a target */
#define X_RET (1ull << 7)         /* [rsp] holds a target */
#define X_SHIFT (1ull << 8)       /* OF undefined unless count 1, AF undef */
#define X_ROT (1ull << 9)         /* rotate: OF undefined unless count 1 */
#define X_BSF (1ull << 10)        /* dest undefined when source is 0 */
#define X_NO67 (1ull << 11)       /* no address-size prefix */
#define X_W (1ull << 12)          /* REX.W is part of the opcode */
#define X_NOREX (1ull << 13)      /* no REX prefix at all */
#define X_UD (1ull << 14)         /* expected to raise #UD / #GP (documentation) */
#define X_RBX_PTR (1ull << 15)    /* rBX points into the data page (xlat) */
#define X_RDI_PTR (1ull << 16)    /* rDI points into the data page (maskmov) */
#define X_RBP_PTR (1ull << 17)    /* rBP points into the data page (leave) */
#define X_APPROX (1ull << 18)     /* rcp/rsqrt: compare within 1.5*2^-12 */
#define X_FXSAVE (1ull << 19)     /* memory holds an FXSAVE image */
#define X_SHLD (1ull << 20)       /* shld/shrd: 16-bit counts > 16 undefined */
#define X_POPF (1ull << 21)       /* value popped into rflags: keep sane */
#define X_LOOP (1ull << 22)       /* loop/jrcxz: rCX edge values */
#define X_FXRSTOR (1ull << 23)    /* memory image must be a loadable FXSAVE */
#define X_MXCSR (1ull << 24)      /* ldmxcsr: memory is an MXCSR value */
#define X_ENTER (1ull << 25)      /* enter: small level, rbp in data page */
#define X_RAXRDX (1ull << 26)     /* pcmpestr: rAX/rDX are lengths */
#define X_NOLOCK (1ull << 27)
#define X_LOCK (1ull << 28)       /* may take a LOCK prefix (memory form) */
#define X_X87ST (1ull << 29)      /* F_OPREG is ST(i) (x87 register forms) */
#define X_REP (1ull << 30)        /* string op may take REP/REPE/REPNE */
#define X_FCW (1ull << 31)      /* fldcw: memory is a control word */
#define X_CMPXCHG (1ull << 32)  /* rAX often equals the r/m operand */
#define X_CX8 (1ull << 33)      /* cmpxchg8b/16b: rDX:rAX often equal */
#define X_X87POP0 (1ull << 34)  /* x87: stack of 0-1 loaded registers too */
#define X_NOREP (1ull << 35)
#define X_MOFFS (1ull << 36)    /* A0-A3: the immediate is the address */
#define X_CALL (1ull << 37)     /* pushes a return address */
#define X_D64 (1ull << 38)      /* 64-bit operand size without REX.W */
#define X_BTREG (1ull << 39)    /* bt m, r: the bit offset moves the address */
#define X_NOSEG (1ull << 40)    /* no segment prefix */
#define X_PUSHSEG (1ull << 41)  /* PUSH Sreg: upper bytes of the slot undefined */
#define X_NOCR2 (1ull << 42)    /* the #PF address is model-specific (masked stores) */
#define X_VEX (1ull << 43)      /* VEX (C4) encoded: op = 0F 38|3A xx, pfx is pp, W from
				 * the operand size, L = 0 */
#define X_VVVV (1ull << 44)     /* VEX.vvvv names a GPR (slot C's value), else 1111b */
#define X_VEXL (1ull << 45)     /* VEX.L = 1 */
#define X_RANDOM (1ull << 46)   /* the r/m register's result is not compared */
#define X_ALIGNED (1ull << 47)  /* the memory operand is always aligned: vendors differ
				 * (SHA: the SDM's #GP, none on AMD) */
#define X_VSIB (1ull << 48)     /* gather: VSIB addressing (gen-vsib.c), the mask in vvvv */
#define X_MASKV (1ull << 49)    /* masked move: vvvv's sign bits all, none, one or random */

/* VEX encoding (SDM Vol. 2, 2.3; dt_def.vex): an entry with DV_VEX is
 * encoded with a C4/C5 prefix built from its opcode bytes (0F, 0F 38,
 * 0F 3A: the map) and pfx (pp) instead of legacy prefixes.  VEX.vvvv is
 * 1111b unless DV_NDS (a source register: NDS) or DV_NDD (the destination
 * of the shift-by-immediate groups); DV_IS4 puts a register in imm8[7:4]
 * (VBLENDVPS ...).  Random cases sometimes flip L or W or give a
 * two-operand form a vvvv other than 1111b: the host says what is #UD. */
#define DV_VEX 0x01
#define DV_L1 0x02      /* VEX.L = 1 (256-bit) */
#define DV_W1 0x04      /* VEX.W = 1 */
#define DV_NDS 0x08
#define DV_NDD 0x10
#define DV_IS4 0x20
#define DV_NDS_REG 0x40 /* NDS only in the register form (VMOVSS/SD):
			 * the memory form has vvvv = 1111b */
#define DV_KEEP_L 0x80  /* random cases keep VEX.L: L = 1 is another
			 * extension's form (VAES, VPCLMULQDQ), which the
			 * host may have and TCG does not offer */

enum { MF_NONE, MF_F32, MF_F64, MF_F80, MF_I16, MF_I32, MF_I64, MF_BCD };

struct dt_case;

struct dt_def {
	const char *group;      /* PASS/FAIL line name */
	const char *name;       /* mnemonic with operands */
	uint8_t pfx;            /* mandatory prefix: 0, 0x66, 0xf2, 0xf3 */
	uint8_t nop;            /* opcode bytes */
	uint8_t op[3];
	int8_t ext;             /* modrm.reg extension, -1 for a register */
	uint8_t form, rm;       /* F_*, RM_* */
	uint8_t rc_reg, rc_rm;  /* register classes of reg and r/m */
	uint8_t sizes;          /* SZ* operand sizes */
	uint8_t imm;            /* IMM_* */
	uint8_t msize;          /* memory operand bytes, 0 = operand size */
	uint8_t vk;             /* VK_* */
	uint8_t kind;           /* K_* */
	uint16_t undef;         /* undefined arithmetic flags */
	uint16_t fsw_undef;     /* undefined x87 status bits (C0-C3) */
	uint64_t x;             /* X_* */
	uint8_t mfmt;           /* MF_*: x87 memory operand format */
	uint8_t imm_max;        /* imm8 limit (0: any) */
	int8_t modrm_fixed;     /* x87: the whole modrm byte for mod=3 forms, -1 */
	uint8_t vex;            /* DV_*: VEX-encoded */
	uint8_t feat;           /* enum dt_feat the entry needs, 0: from the encoding */
};

/* Every entry: the tables of tables.c, then the VEX forms derived from
 * its SSE entries (tables-vex.c), then the other tables, in the order of
 * dt_tables_init() (tables.c). */
extern const struct dt_def *dt_defs;
extern unsigned dt_ndefs;
void dt_tables_init(void);
extern const struct dt_def dt_defs_legacy[];
extern const unsigned dt_ndefs_legacy;
/* tables-vex.c: the VEX forms, written to out (NULL: count them) */
unsigned dt_vex_defs(struct dt_def *out);
/* tables-avx2.c: the VEX-only instructions (AVX2, FMA3, F16C) */
extern const struct dt_def dt_defs_avx2[];
extern const unsigned dt_ndefs_avx2;

/* One generated test case. */
struct dt_case {
	const struct dt_def *d;
	uint8_t code[16];
	unsigned len;
	unsigned osz;                   /* operand size in bytes */
	bool rex;
	struct dt_cpu in;
	uint8_t data[DT_DATA_SIZE];
	uint64_t land[DT_MAX_LAND];     /* [0] fall-through, others targets */
	unsigned nland;
	/* comparison masks */
	uint64_t undef_flags;
	uint16_t ignore_regs;           /* GPRs whose value is undefined */
	uint16_t fsw_undef;
	bool approx;
	unsigned ign_off, ign_len;      /* ignored data bytes (FXSAVE's FIP ...) */
	unsigned ign2_off, ign2_len;    /* more: PUSH Sreg's upper bytes */
	unsigned fault_ign_off, fault_ign_len; /* ignored when the native run faults */
	unsigned mxmask_off;            /* FXSAVE: data offset of MXCSR_MASK, */
	bool mxmask;                    /* compared by the CPUID rule (main.c) */
	bool x87;                       /* compare ST registers */
	struct dt_vsib_case {           /* a gather (X_VSIB), for compare() */
		bool on;
		unsigned dest, mask, n, dsize;  /* registers, elements, bytes each */
		uint64_t addr[8];       /* each element's linear address */
	} vsib;
};

/* features.c: the host features an entry needs, found by executing */
enum dt_feat {
	FEAT_NONE, FEAT_SSE3, FEAT_SSSE3, FEAT_SSE41, FEAT_SSE42, FEAT_POPCNT,
	FEAT_LZCNT, FEAT_BMI1, FEAT_MOVBE, FEAT_CX16, FEAT_LAHF64, FEAT_PRFCHW,
	FEAT_BMI2, FEAT_ADX, FEAT_AES, FEAT_PCLMUL, FEAT_SHA, FEAT_RDRAND, FEAT_RDSEED,
	FEAT_FSGSBASE, FEAT_RDPID,
	FEAT_AVX, FEAT_AVX2, FEAT_FMA, FEAT_F16C,
	DT_NFEAT
};
enum dt_feat dt_def_feature(const struct dt_def *d);
unsigned dt_host_features(void);        /* bit f: the host runs feature f */
const char *dt_feature_name(enum dt_feat f);
int dt_feature_by_name(const char *name);

/*
 * MXCSR bits whose support differs between the host and TCG because
 * their CPUIDs differ (main.c, set before any case is generated): the
 * generator never sets them and the MXCSR_MASK comparison allows them.
 */
extern uint32_t dt_mxcsr_model_bits;

/* native.c */
extern uint32_t dt_native_avx;  /* the trampoline moves YMM upper halves */
int dt_native_init(void);
void dt_native_run(const struct dt_case *c, struct dt_result *r);
uint32_t dt_native_mxcsr_mask(void);    /* from the host's FXSAVE */
void dt_place_code(const struct dt_case *c, uint8_t *page, bool clear);

/* tcgside.c: a vCPU per engine, each run compared with the host */
enum dt_engine { DT_INTERP, DT_JIT, DT_ENGINES };
int dt_tcg_init(void);
void dt_tcg_run(const struct dt_case *c, enum dt_engine engine, struct dt_result *r);
void dt_tcg_cpuid(uint32_t leaf, uint32_t out[4]);      /* TCG's CPUID */

/* vsib.c: a gather's VSIB operand.  gen.c picks the addressing form
 * (anchor = base + disp, the address of index 0) and calls dt_vsib_fill
 * last: it writes the index and mask registers and fills c->vsib. */
struct dt_vsib {
	uint64_t anchor;
	unsigned scale, asz;    /* SIB scale (0-3), address size (4, 8) */
	unsigned dest, mask, index;     /* ModRM.reg, VEX.vvvv, SIB.index + X */
	bool w, l, random;
	unsigned combo;         /* the table pass's edge combination */
};
void dt_vsib_fill(struct dt_case *c, const struct dt_vsib *v);
/* X_MASKV: the sign bits of mask register r for elements of size bytes */
void dt_mask_pattern(struct dt_case *c, unsigned r, unsigned size, bool random, unsigned combo);
/* a faulting gather: n takes t's state for elements above t's faulting
 * one that the host did and TCG did not (either is allowed) */
void dt_vsib_relax(const struct dt_case *c, struct dt_result *n, const struct dt_result *t);

/* gen.c */
void dt_seed(uint64_t seed);
uint64_t dt_rand(void);
/* Build a case for d.  edge >= 0 picks the edge-value combination number
 * edge (table pass), -1 random values.  Returns false when d has no case
 * with that edge number. */
bool dt_gen(struct dt_case *c, const struct dt_def *d, int edge);
unsigned dt_edge_count(const struct dt_def *d);
void dt_default_fx(uint8_t fx[512]);

#endif
