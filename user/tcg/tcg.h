/*
 * The TCG core's internal interface: the vCPU state the emulator works on,
 * the decoded instruction, and the services every execution file uses
 * (registers, operands, memory through segmentation and paging, lazy
 * flags, exceptions).
 *
 * Pipeline: guest bytes -> decode.c (struct insn, structural decoding and
 * the handler lookup) -> exec.c (blocks of decoded instructions cached by
 * physical address, run by calling each insn's handler) -> the handler
 * files (alu.c, string.c, system.c, seg.c, fpu.c, sse.c ...).  The decoder
 * knows nothing about semantics beyond operand encoding, so a JIT can take
 * the same struct insn later.
 *
 * Handlers register themselves in tcg_ops[map][opcode] (tcg_register_*()
 * in each file, called once from tcg_ops_init()).  A handler of a group
 * opcode (80, F6, 0F 01 ...) switches on insn->reg & 7 itself; a handler of
 * an SSE opcode switches on insn->pfx.
 *
 * Execution contract:
 *  - while a handler runs, c->s.rip is the address of the instruction's
 *    first byte and c->next_rip the address after it;
 *  - a control transfer writes c->next_rip (and sets c->stop after a
 *    change of mode, CS, CR0/CR3/CR4/EFER, IF going 0->1, HLT ...), the
 *    loop then commits rip = next_rip;
 *  - a fault calls tcg_raise(), which longjmps out of the handler with
 *    rip still at the instruction (faults are restartable): do every
 *    access that can fault before writing any register or memory that the
 *    instruction changes, as the hardware does.
 */
#ifndef QVM_TCG_H
#define QVM_TCG_H

#include <setjmp.h>
#include <string.h>
#include "cpu.h"
#include "machine.h"
#include "x86/regs.h"
#include "tcg/xsave.h"

struct tcg_cpu;
struct insn;
struct lapic;
typedef void (*tcg_handler)(struct tcg_cpu *c, const struct insn *i);

/* ------------------------------------------------------------------ */
/* The decoded instruction                                             */

enum { MAP_1B, MAP_0F, MAP_0F38, MAP_0F3A, MAP_NR };
enum { PFX_NONE, PFX_66, PFX_F3, PFX_F2 }; /* SSE mandatory prefix */
#define NO_REG 0xff

struct insn {
	tcg_handler fn;
	uint8_t len;            /* 1..15 */
	uint8_t map, op;        /* opcode map and opcode byte */
	uint8_t osz;            /* operand size of non-byte forms: 2, 4 or 8 */
	uint8_t asz;            /* address size: 2, 4 or 8 */
	uint8_t seg;            /* segment of the memory operand: the override,
				 * else SS for an rBP/rSP base, else DS */
	bool seg_override;      /* a segment prefix was given */
	uint8_t rep;            /* 0, 0xf2 or 0xf3: the last of F2/F3 */
	uint8_t pfx;            /* PFX_*: 66/F3/F2 as SSE mandatory prefix
				 * (F2/F3 win over 66, the last of F2/F3 wins) */
	bool opsize_prefix;     /* 66 was present */
	bool lock;              /* F0 was present */
	uint8_t rex;            /* the REX byte (0x40-0x4f), 0 if none */
	bool has_modrm;
	bool mem;               /* the r/m operand is memory */
	bool rip_rel;           /* memory operand is [rip + disp32] */
	bool ends_block;        /* control transfer or mode change: last of a block */
	uint8_t mod;            /* modrm.mod */
	uint8_t reg;            /* modrm.reg | REX.R << 3 */
	uint8_t rm;             /* modrm.rm | REX.B << 3 (register operand, !mem) */
	uint8_t base, index;    /* memory operand registers (0-15) or NO_REG */
	uint8_t scale;          /* log2 of the index scale, 0-3 */
	uint8_t opreg;          /* low 3 opcode bits | REX.B << 3 (50+r, B8+r, 0F C8+r) */
	uint8_t imm_size;       /* bytes of imm: 0, 1, 2, 4 or 8 */
	int32_t disp;           /* sign-extended displacement (0 if none) */
	uint64_t imm;           /* first immediate, zero-extended as encoded;
				 * moffs for A0-A3 (asz bytes); rel for jumps */
	uint64_t imm2;          /* second immediate: ENTER's level byte, the
				 * selector of a far pointer (9A, EA) */
	/* VEX (C4/C5, SDM Vol. 2, 2.3): map and pfx come from its mmmmm and
	 * pp fields, REX.R/X/B/W from its R, X, B and W (in rex, 64-bit mode
	 * only).  The handler is tcg_vex_ops[map][op]. */
	bool vex;
	uint8_t vex_l;          /* VEX.L: 0 for 128-bit (or scalar), 1 for 256 */
	uint8_t vex_w;          /* VEX.W, in every mode (an opcode extension
				 * for vector instructions) */
	uint8_t vvvv;           /* the register VEX.vvvv names (stored
				 * inverted in the encoding), 0-15; 0 for the
				 * unused field 1111b */
};

/* Decode one instruction from bytes[0..avail) in a code segment of
 * code_bits (16, 32 or 64).  Returns the length (1-15) and fills i
 * (handler included: tcg_op_ud for undefined opcodes); 0 when avail is too
 * short for the instruction (fetch more and call again); -1 when the
 * instruction is longer than 15 bytes (#GP(0) on hardware). */
int tcg_decode(struct insn *i, const uint8_t *bytes, unsigned avail, int code_bits);

extern tcg_handler tcg_ops[MAP_NR][256];
/* VEX-encoded instructions, by the VEX map (MAP_0F, MAP_0F38, MAP_0F3A)
 * and opcode; an empty slot is #UD. */
extern tcg_handler tcg_vex_ops[MAP_NR][256];
/* fast.c: give a decoded instruction a handler specialised to its form,
 * where there is one (MOV, ALU and TEST at 32/64 bits: see fast.c). */
void tcg_specialise(struct insn *i);
void tcg_ops_init(void);        /* fill tcg_ops once (thread-safe) */
void tcg_op_ud(struct tcg_cpu *c, const struct insn *i); /* raises #UD */

/* Registration, one per handler file; each sets its own tcg_ops slots. */
void tcg_register_alu(void);    /* alu.c: integer ALU, mov, shifts, mul/div, bit ops */
void tcg_register_branch(void); /* branch.c: jmp/jcc/call/ret near, loop, setcc, cmov */
void tcg_register_string(void); /* string.c: movs/cmps/stos/lods/scas with rep */
void tcg_register_system(void); /* system.c: system instructions, I/O, MSRs, CPUID */
void tcg_register_seg(void);    /* seg.c: segment loads, far transfers, INT/IRET */
void tcg_register_fpu(void);    /* fpu.c: x87 */
void tcg_register_sse(void);    /* sse.c: MMX, SSE-SSE4.2, fxsave/fxrstor */
void tcg_register_avx(void);    /* avx.c: VEX checks, VZEROUPPER/VZEROALL */
void tcg_register_bmi(void);    /* bmi.c: BMI1, BMI2 (VEX GPR forms), ADX */
void tcg_register_crypto(void); /* sse-crypto.c: AES-NI, PCLMULQDQ, SHA */
void tcg_register_avx2(void);   /* avx2.c: broadcasts, permutes, VPBLENDD, VPS*V, VTEST */
void tcg_register_avx2_mem(void); /* avx2-mem.c: masked moves, gathers */
void tcg_register_fma(void);    /* fma.c: FMA3 */
void tcg_register_f16c(void);   /* f16c.c: VCVTPH2PS, VCVTPS2PH */

/* ------------------------------------------------------------------ */
/* The vCPU                                                            */

/* Lazy flags: the last flag-setting operation and its operands; rflags'
 * arithmetic bits (CF PF AF ZF SF OF) are computed only when read. */
enum cc_op {
	CC_OP_EFLAGS,   /* cc_src holds the six flags themselves */
	CC_OP_ADD, CC_OP_ADC, CC_OP_SUB, CC_OP_SBB,
	CC_OP_LOGIC,    /* and/or/xor/test: CF=OF=0, AF=0 */
	CC_OP_INC, CC_OP_DEC, /* cc_src2 holds the CF before */
	CC_OP_SHL, CC_OP_SHR, CC_OP_SAR, /* cc_src: the value shifted by count-1 */
	CC_OP_MUL,      /* cc_src: nonzero if the high half is significant */
	CC_OP_NR,
};


/* exception vectors */
enum { EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
       EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12,
       EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19 };
#define NO_ERRCODE (-1)

/* page-fault error code bits (SDM Vol. 3, 4.7) */
#define PF_P 1
#define PF_W 2
#define PF_U 4
#define PF_RSVD 8
#define PF_I 16
#define PF_PK 32

/* x87, MMX and SSE registers, unpacked from the FXSAVE image. */
struct tcg_fpu {
	long double st[8];      /* physical R0-R7 (ST(i) is R[(top+i)&7]);
				 * host 80-bit extended; MMX register i is the
				 * 64-bit significand of R[i] */
	uint16_t fcw, fsw;      /* fsw's TOP field is kept in top, not here */
	uint8_t top;
	uint16_t ftw;           /* full tag word, 2 bits per register */
	uint16_t fop;
	uint64_t fip, fdp;
	uint16_t fcs, fds;
	uint32_t mxcsr;
	union {
		uint8_t b[16];
		uint16_t w[8];
		uint32_t d[4];
		uint64_t q[2];
		float f[4];
		double df[2];
	} xmm[16] __attribute__((aligned(16)));
};

/* Software TLB, one per privilege kind (SDM Vol. 3, 4.6: accesses by CPL
 * 3 are user accesses; descriptor-table and CPL 0-2 accesses are
 * supervisor).  With CR4.SMAP, a supervisor data access may reach a user
 * page only when it is explicit and EFLAGS.AC is 1 (4.6.1): those go
 * through a TLB of their own, MMU_SUPER_AC, so that MMU_SUPER never maps
 * a user page for data while CR4.SMAP is set (nor for fetches while
 * CR4.SMEP is), and the fast paths need no check of U, AC or CR4.
 * Instruction fetches never use MMU_SUPER_AC. */
#define TLB_BITS 12
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_VICTIMS 8
/* The indices a flush visits (tcg_cpu.tlb_used) before it visits all */
#define TLB_USED_MAX 256
enum { MMU_SUPER, MMU_USER, MMU_SUPER_AC, MMU_NR };
/*
 * A tag is the linear page (low 12 bits clear) when the access may take
 * the fast path, a compare and an add; low bits make every compare with a
 * page fail and send the access to mmu.c's slow path:
 *   TLB_INVALID  no translation (all three tags)
 *   TLB_IO       MMIO or the LAPIC page (tag_read, tag_write): the devices
 *   TLB_CODE     tag_write only: the page holds decoded code, so the store
 *                must bump the page's generation (mmu.c), which ends the
 *                storing vCPU's block and kicks the others
 *   TLB_WATCH    tag_read, tag_write: a data breakpoint covers part of the
 *                page (debug.c); set only while DR7 enables one
 * The contract the inline stores rely on: e->tag_write == (lin &
 * TLB_PAGE_MASK) means plain writable RAM with no decoded code; the store
 * is the host write at lin + addend and nothing else.  tag_read and
 * tag_code never carry TLB_CODE.  Other threads set TLB_CODE in tag_write
 * at any time (tcg_mark_code_page), so C code reads and writes tag_write
 * (and writes phys) with atomic operations; only the owning vCPU writes
 * the rest of the entry.
 */
#define TLB_PAGE_MASK (~0xfffULL)
#define TLB_INVALID 1ULL
#define TLB_IO 2ULL
#define TLB_CODE 4ULL
/* tag_read, tag_write: a data breakpoint of DR0-DR3 covers part of the
 * page (debug.c); the slow path checks each access against them */
#define TLB_WATCH 8ULL
struct tlb_entry {
	uint64_t tag_read, tag_write, tag_code; /* linear page, or with TLB_* bits */
	uintptr_t addend;       /* host = linear + addend, for RAM pages */
	uint64_t phys;          /* guest-physical page */
	/* 64 bytes: one cache line each, and the JIT's index of a linear
	 * address is a rotate and a mask (jit/translate.c, tr_tlb_index) */
	uint64_t pad[3];
};
_Static_assert(sizeof(struct tlb_entry) == 64, "tlb_entry is one cache line");
#define TLB_ENTRY_SHIFT 6

struct tcg_block;

struct tcg_cpu {
	struct x86_cpu_state s; /* architectural state; s.rflags holds the
				 * non-arithmetic bits only (see tcg_rflags) */
	struct tcg_fpu fpu;
	uint64_t next_rip;

	/* lazy flags */
	uint32_t cc_op;
	uint64_t cc_dst, cc_src, cc_src2;
	uint8_t cc_size;        /* operand size in bytes of the cc_op */

	/* MSRs beyond struct x86_cpu_state */
	uint64_t tsc_offset;    /* guest TSC = host TSC + tsc_offset */
	/* The TSC the last tcg_vcpu_get_state read, and the offset then:
	 * setting that state again keeps the offset (save.c) */
	uint64_t tsc_got, tsc_got_offset;
	bool tsc_got_valid;
	uint64_t misc_enable, mtrr_def_type, mtrr_fixed[11], mtrr_var[16];
	uint64_t spec_ctrl;     /* IA32_SPEC_CTRL: stored, nothing to control */
	uint32_t pkrs;          /* IA32_PKRS: supervisor keys' rights (mmu.c) */
	uint64_t xcr0;
	struct tcg_xstate xs;    /* XSAVE components beyond SSE (xsave.h) */
	uint64_t smbase;
	/* SYSF_* this vCPU's CPUID advertises (tcg_sys_features) */
	uint32_t sys_features;
	bool sys_features_known;

	/* run control */
	bool stop;              /* leave the block after this instruction */
	bool inhibit_irq;       /* STI / MOV SS shadow: no interrupt before the
				 * next instruction completes */
	bool inhibit_db;        /* MOV SS / POP SS: debug traps wait for the
				 * next instruction too (SDM Vol. 3, 6.8.3) */
	/* hardware breakpoints (debug.c) */
	bool dbg_on;            /* DR7 enables one of DR0-DR3 */
	uint8_t db_hits;        /* B0-B3 hit by the running instruction */
	uint32_t db_pending;    /* DR6 bits of a #DB trap held back by MOV SS */
	bool halted;
	bool triple_fault;      /* set by delivery: the loop resets */
	int exc_depth;          /* nesting while delivering: #DF, triple fault */
	int last_vector;        /* vector of the exception being delivered */
	int exc_vec, exc_err;   /* the exception tcg_raise() is reporting */
	bool nmi_blocked;       /* an NMI handler runs: blocked until IRET */
	bool test_mode;         /* tcg_step(): return faults, don't deliver */
	int test_fault, test_errcode;
	volatile int exit_request; /* kick: leave the run loop soon (atomic) */
	jmp_buf jmp;

	/* memory */
	uint64_t a20_mask;      /* ~0 or ~(1 << 20) */
	struct tlb_entry tlb[MMU_NR][TLB_SIZE];
	bool tlb_large;         /* a 2M/4M/1G page is cached (INVLPG flushes all) */
	/* TLB flushes by enum tcg_flush (info accel): TCG_FLUSH_NONE and
	 * _PCID count the CR3 loads and INVPCIDs that drop every non-global
	 * entry here, PCIDs being untagged */
	uint64_t tlb_asked[5];
	bool tlb_global[MMU_NR][TLB_SIZE];      /* the entry maps a global page */
	/* tlb[k][i].phys >> 12, truncated: what another vCPU marking a page
	 * as code scans (mmu.c, tlb_mark_code), 4 bytes an entry where the
	 * entries are 64 */
	uint32_t tlb_phys_page[MMU_NR][TLB_SIZE];
	/* Victim TLB (mmu.c): the last entries evicted from tlb[k], looked up
	 * before a page walk, so that two hot pages whose index collides
	 * (kernel code and data 4 MiB apart) do not walk at every switch. */
	struct tlb_victim {
		struct tlb_entry e;     /* tag_write without TLB_CODE */
		bool global;
	} tlb_victim[MMU_NR][TLB_VICTIMS];
	unsigned tlb_victim_next[MMU_NR];       /* round-robin replacement */
	/* The indices of tlb[k] filled since the last flush, so that a
	 * flush (a CR3 load: every context switch) visits those rather
	 * than all TLB_SIZE entries; past TLB_USED_MAX it visits all
	 * (mmu.c, tlb_flush) */
	uint16_t tlb_used[MMU_NR][TLB_USED_MAX];
	unsigned tlb_nused[MMU_NR];
	struct tcg_block **blocks; /* block cache (exec.c) */
	/* Block chaining (exec.c): the block just run and the epoch it ran
	 * in.  The epoch moves whenever a link between blocks may have gone
	 * wrong: a TLB flush (mmu.c) or a block freed (exec.c). */
	struct tcg_block *last_block;
	uint32_t last_epoch, chain_epoch;
	uint32_t tlb_epoch;     /* moves at every TLB flush (mmu.c) */
	uint64_t code_gen_seen; /* exec.c's view of the global code generation */

	struct machine *m;
	struct vcpu *v;
	struct lapic *lapic;    /* NULL in unit tests */
	uint64_t insns;         /* instructions retired, for -d exec and bench */

	/* The JIT (jit/): translate blocks into host code when on. */
	bool jit_on;
	unsigned jit_tb_mib;    /* code cache size (MiB) */
	struct jit_state *jit;  /* NULL until the first translation */
	uint64_t jit_flags;     /* guest arithmetic flags into/out of host code */
	uint8_t jit_flags_host; /* the code left them in jit_flags (else cc_*) */

	/* kqemu (user/kqemu/engine.c): NULL/0 under plain TCG. */
	void *kqemu;            /* the engine's per-vCPU state */
	/* tcg_exec leaves at a block boundary at CPL 3 (tcg_kqemu_leave) */
	bool kqemu_exit_on_user;
	bool kqemu_declined;    /* the engine said no at this CPL 3 stretch:
				 * stay until CPL changes */
	bool kqemu_one;         /* interpret the next instruction alone first */
	bool kqemu_left;        /* tcg_exec returned for that (thread=single's
				 * turn ends too) */
	bool walk_peek;         /* tcg_peek_user's walk: no A/D writes */
	uint32_t kqemu_blocks;  /* CPL 3 blocks to run before leaving (the
				 * stretch after an exit), interpreted */
	uint32_t kqemu_blocks_refill;   /* kqemu_blocks again at each kernel
				 * entry within the stretch */
	/* TCG runs CPL 3 code now only for kqemu_blocks (the stretch after
	 * an exit): #UD, CPUID and XGETBV hand the instruction back to
	 * native execution (tcg_kqemu_native) instead of running it */
	bool kqemu_stretch;
	bool kqemu_native;      /* tcg_exec returned for that, at the insn */
	/* Told of every TLB flush as the architecture defines it (what:
	 * enum tcg_flush; TCG's own TLB, untagged, drops at least that)
	 * and of every page the decoder marks as code (mmu.c; any thread). */
	void (*kqemu_tlb_flushed)(struct tcg_cpu *c, unsigned what, uint64_t pcid, uint64_t lin);
	void (*kqemu_code_marked)(struct tcg_cpu *c, uint64_t phys_page);
};

/* Turn the JIT on or off for this vCPU (exec.c), with a code cache of
 * tb_mib MiB (0: JIT_TB_DEFAULT_MIB).  Drops every decoded block. */
#define JIT_TB_DEFAULT_MIB 64
void tcg_set_jit(struct tcg_cpu *c, bool on, unsigned tb_mib);

/* The emulator state of a vCPU of the tcg (or kqemu) engine (tcg.c). */
struct tcg_cpu *tcg_cpu_of(struct vcpu *v);


/* Create / free a vCPU's emulator state (exec.c).  v may be NULL in unit
 * tests and the differential tester. */
struct tcg_cpu *tcg_cpu_new(struct machine *m, struct vcpu *v);
void tcg_cpu_free(struct tcg_cpu *c);
/* Load / store the architectural state (flags and FPU packed/unpacked). */
void tcg_set_state(struct tcg_cpu *c, const struct x86_cpu_state *s);
void tcg_get_state(struct tcg_cpu *c, struct x86_cpu_state *s);
/* The whole vCPU (save.c): the above plus XCR0, the MSRs kept outside
 * c->s, events, run state and the LAPIC.  set: 0, or -1 with a message
 * when the state is one this CPU cannot be in. */
int tcg_vcpu_get_state(struct tcg_cpu *c, struct x86_cpu_state *s);
int tcg_vcpu_set_state(struct tcg_cpu *c, const struct x86_cpu_state *s);

/* Run until an exit request, HLT, a reset or an error (exec.c).  Returns
 * the enum vcpu_exit of accel.h. */
int tcg_exec(struct tcg_cpu *c);
/* Execute exactly one instruction with exceptions returned instead of
 * delivered (tests): -1 when none, else the vector (test_errcode has the
 * error code or NO_ERRCODE).  Interrupts are not polled. */
int tcg_step(struct tcg_cpu *c);
/* Deliver an event from outside the run loop (kqemu's exits), with the
 * faults of delivery handled as tcg_exec does: VCPU_EXIT_AGAIN, or
 * VCPU_EXIT_RESET after a triple fault. */
int tcg_deliver_event(struct tcg_cpu *c, int vec, int errcode, int kind, uint64_t ret_rip);

/* ------------------------------------------------------------------ */
/* Modes                                                               */

static inline bool tcg_long_mode(const struct tcg_cpu *c)
{
	return c->s.efer & EFER_LMA;
}
static inline bool tcg_code64(const struct tcg_cpu *c)
{
	return tcg_long_mode(c) && c->s.seg[S_CS].l;
}
static inline bool tcg_protected(const struct tcg_cpu *c)
{
	return c->s.cr0 & CR0_PE;
}
static inline bool tcg_v86(const struct tcg_cpu *c)
{
	return c->s.rflags & FL_VM;
}
/* CPL: CS.DPL, which segment loads keep at 0 in real mode, 3 in v86. */
static inline unsigned tcg_cpl(const struct tcg_cpu *c)
{
	return c->s.seg[S_CS].dpl;
}
/* The TLB (MMU_*) of explicit data accesses in the current state: user at
 * CPL 3; at CPL 0-2 supervisor, MMU_SUPER_AC where CR4.SMAP and EFLAGS.AC
 * let them reach user pages (SDM Vol. 3, 4.6.1).  Implicit supervisor
 * accesses (descriptor tables, the TSS) use MMU_SUPER whatever AC is. */
static inline unsigned tcg_data_kind(const struct tcg_cpu *c)
{
	if (tcg_cpl(c) == 3)
		return MMU_USER;
	if (__builtin_expect((c->s.cr4 & CR4_SMAP) && (c->s.rflags & FL_AC), 0))
		return MMU_SUPER_AC;
	return MMU_SUPER;
}
/* Code size of the current CS: 16, 32 or 64. */
static inline int tcg_code_bits(const struct tcg_cpu *c)
{
	if (tcg_code64(c))
		return 64;
	return c->s.seg[S_CS].db ? 32 : 16;
}
/* Stack-pointer width: 8 in 64-bit mode, else SS.B ? 4 : 2. */
static inline unsigned tcg_stack_size(const struct tcg_cpu *c)
{
	if (tcg_code64(c))
		return 8;
	return c->s.seg[S_SS].db ? 4 : 2;
}

/* kqemu: at a block boundary, should tcg_exec leave so that the engine
 * runs the code natively?  At CPL 3 only (CPL changes in interpreted
 * handlers alone: IRET, SYSRET, SYSEXIT, far RET, delivery), unless the
 * engine declined this stretch at CPL 3 or asked for more TCG first
 * (kqemu_blocks: the user blocks after an exit, counted down at CPL 3
 * and refilled while the kernel runs, so that user code that keeps
 * making system calls stays in TCG, and other code leaves soon). */
static inline bool tcg_kqemu_leave(struct tcg_cpu *c)
{
	if (tcg_cpl(c) != 3) {
		c->kqemu_declined = false;
		/* the stretch entered the kernel again (a system call):
		 * it goes on */
		if (c->kqemu_blocks)
			c->kqemu_blocks = c->kqemu_blocks_refill;
		return false;
	}
	if (c->kqemu_declined || c->kqemu_one)
		return false;
	if (c->kqemu_blocks) {
		c->kqemu_blocks--;
		return false;
	}
	return true;
}

/* kqemu: in the stretch after an exit (kqemu_stretch, CPL 3), the
 * instruction at c->s.rip, not begun, goes back to native execution:
 * tcg_exec returns with kqemu_native set (exec.c).  Else nothing. */
void tcg_kqemu_native(struct tcg_cpu *c);

/* ------------------------------------------------------------------ */
/* Registers and operands (operand.c)                                  */

static inline uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}
static inline int64_t sext(uint64_t v, unsigned size)
{
	switch (size) {
	case 1: return (int8_t)v;
	case 2: return (int16_t)v;
	case 4: return (int32_t)v;
	default: return (int64_t)v;
	}
}

/* General register r (0-15) at size 1, 2, 4 or 8.  Byte registers 4-7
 * are AH CH DH BH unless the instruction has a REX prefix (then SPL BPL
 * SIL DIL), so byte accesses take the insn.  Writes follow x86 rules: 1
 * and 2 bytes merge, 4 zero-extends to 64, 8 whole.  Inline: every
 * instruction handler uses them. */
/* Without REX, byte registers 4-7 are AH CH DH BH: bits 15:8 of 0-3. */
static inline bool is_high_byte(const struct insn *i, unsigned r)
{
	return r >= 4 && r < 8 && !i->rex;
}

static inline uint64_t tcg_reg_get(const struct tcg_cpu *c, const struct insn *i, unsigned r, unsigned size)
{
	if (size == 1 && is_high_byte(i, r))
		return (c->s.regs[r - 4] >> 8) & 0xff;
	return c->s.regs[r] & size_mask(size);
}

static inline void tcg_reg_set(struct tcg_cpu *c, const struct insn *i, unsigned r, unsigned size, uint64_t v)
{
	uint64_t *reg;
	switch (size) {
	case 1:
		if (is_high_byte(i, r)) {
			reg = &c->s.regs[r - 4];
			*reg = (*reg & ~0xff00ULL) | (v & 0xff) << 8;
		} else {
			reg = &c->s.regs[r];
			*reg = (*reg & ~0xffULL) | (v & 0xff);
		}
		break;
	case 2:
		reg = &c->s.regs[r];
		*reg = (*reg & ~0xffffULL) | (v & 0xffff);
		break;
	case 4:
		/* 32-bit results zero-extend to 64 bits (Vol. 1, 3.4.1.1) */
		c->s.regs[r] = (uint32_t)v;
		break;
	default:
		c->s.regs[r] = v;
	}
}


/* Offset of the memory operand (disp + base + index<<scale, RIP-relative
 * from next_rip), truncated to the address size. */
uint64_t tcg_ea(struct tcg_cpu *c, const struct insn *i);
/* The r/m operand at size (register, or memory at i->seg:tcg_ea()). */
uint64_t tcg_rm_get(struct tcg_cpu *c, const struct insn *i, unsigned size);
void tcg_rm_set(struct tcg_cpu *c, const struct insn *i, unsigned size, uint64_t v);
/* The reg operand (modrm.reg). */
static inline uint64_t tcg_modreg_get(const struct tcg_cpu *c, const struct insn *i, unsigned size)
{
	return tcg_reg_get(c, i, i->reg, size);
}
static inline void tcg_modreg_set(struct tcg_cpu *c, const struct insn *i, unsigned size, uint64_t v)
{
	tcg_reg_set(c, i, i->reg, size, v);
}
/* The sign bit of a size-byte operand. */
static inline uint64_t sign_bit(unsigned size)
{
	return 1ULL << (size * 8 - 1);
}
/* PF: set when the low byte of the result has an even number of ones. */
static inline uint64_t parity_flag(uint64_t v)
{
	return __builtin_parity((unsigned)(v & 0xff)) ? 0 : FL_PF;
}
/* ZF, SF and PF of a size-byte result. */
static inline uint64_t zsp_flags(uint64_t v, unsigned size)
{
	uint64_t f = parity_flag(v);
	if (!(v & size_mask(size)))
		f |= FL_ZF;
	if (v & sign_bit(size))
		f |= FL_SF;
	return f;
}

/* The immediate, sign-extended from its encoded size to 64 bits. */
static inline int64_t tcg_simm(const struct insn *i)
{
	return sext(i->imm, i->imm_size);
}

/* Stack: push/pop size bytes through SS with the stack-pointer width. */
void tcg_push(struct tcg_cpu *c, unsigned size, uint64_t v);
uint64_t tcg_pop(struct tcg_cpu *c, unsigned size);
/* Read the value at the top of the stack + off without popping. */
uint64_t tcg_stack_peek(struct tcg_cpu *c, unsigned size, uint64_t off);
/* Add delta to rSP at the stack-pointer width. */
void tcg_sp_add(struct tcg_cpu *c, int64_t delta);

/* Near jump: next_rip = target truncated to the operand size (16/32) or
 * checked canonical in 64-bit mode (#GP(0)) and within CS's limit. */
void tcg_jump(struct tcg_cpu *c, uint64_t target, unsigned osz);

/* ------------------------------------------------------------------ */
/* Memory (mmu.c)                                                      */

enum access { ACC_READ, ACC_WRITE, ACC_CODE };

/* Data accesses through segment seg (S_ES..S_GS) at offset off: the
 * segment checks (limit, type, null; canonical in 64-bit mode) raise
 * #GP/#SS, then paging with the current CPL raises #PF.  Accesses that
 * cross a page are split.  MMIO and the LAPIC page go to the devices. */
uint8_t tcg_ld8(struct tcg_cpu *c, int seg, uint64_t off);
uint16_t tcg_ld16(struct tcg_cpu *c, int seg, uint64_t off);
uint32_t tcg_ld32(struct tcg_cpu *c, int seg, uint64_t off);
uint64_t tcg_ld64(struct tcg_cpu *c, int seg, uint64_t off);
void tcg_st8(struct tcg_cpu *c, int seg, uint64_t off, uint8_t v);
void tcg_st16(struct tcg_cpu *c, int seg, uint64_t off, uint16_t v);
void tcg_st32(struct tcg_cpu *c, int seg, uint64_t off, uint32_t v);
void tcg_st64(struct tcg_cpu *c, int seg, uint64_t off, uint64_t v);
/* size 1, 2, 4 or 8 */
uint64_t tcg_ld(struct tcg_cpu *c, int seg, uint64_t off, unsigned size);
void tcg_st(struct tcg_cpu *c, int seg, uint64_t off, unsigned size, uint64_t v);
/* Any size (10-byte x87, 16-byte SSE, 512-byte FXSAVE): all checks are
 * done before the first byte is written. */
void tcg_ld_bytes(struct tcg_cpu *c, int seg, uint64_t off, void *dst, unsigned size);
void tcg_st_bytes(struct tcg_cpu *c, int seg, uint64_t off, const void *src, unsigned size);
/* Check that [off, off+size) can be written (segment and paging) without
 * writing: for instructions that must fault before changing anything. */
void tcg_probe_write(struct tcg_cpu *c, int seg, uint64_t off, unsigned size);

/* Segmentation only: the linear address of seg:off for an access of size
 * bytes, #GP/#SS on a limit, type or canonical violation. */
uint64_t tcg_seg_linear(struct tcg_cpu *c, int seg, uint64_t off, unsigned size, enum access acc);

/* Linear-address accesses.  sys: an implicit supervisor access (GDT, IDT,
 * TSS, LDT: SDM Vol. 3, 4.6.1), else checked with the current CPL. */
uint64_t tcg_lin_ld(struct tcg_cpu *c, uint64_t lin, unsigned size, bool sys);
void tcg_lin_st(struct tcg_cpu *c, uint64_t lin, unsigned size, uint64_t v, bool sys);

/* LOCK-prefixed read-modify-write: the host address of size bytes at
 * seg:off, checked for a write.  NULL when the operand is not plain RAM
 * within one page (MMIO, split): the caller then does tcg_ld + tcg_st
 * holding tcg_atomic_lock(), which serialises such accesses. */
void *tcg_rmw_ptr(struct tcg_cpu *c, int seg, uint64_t off, unsigned size);
void tcg_atomic_lock(void);
void tcg_atomic_unlock(void);

/* Translate a linear address for acc through the TLB of kind (MMU_*:
 * tcg_data_kind for data, MMU_USER or MMU_SUPER by CPL for code),
 * filling it; raises #PF.  Returns the guest-physical address. */
uint64_t tcg_translate(struct tcg_cpu *c, uint64_t lin, enum access acc, unsigned kind);
/* The same where it is quiet: no fault and nothing written to the page
 * tables (the page is accessed, and dirty for a write, already);
 * nothing done otherwise.  For the JIT's same-page groups (jit/memo.c). */
void tcg_tlb_fill_quiet(struct tcg_cpu *c, uint64_t lin, enum access acc, unsigned kind);
/* What a flush drops architecturally, with PCIDs (SDM Vol. 3A, 4.10.4.1),
 * as kqemu_tlb_flushed hears it.  TCG's TLB has no PCID tags and drops
 * every non-global entry (or every entry) for the first three. */
enum tcg_flush {
	TCG_FLUSH_EVERYTHING,   /* every PCID's, global ones too */
	TCG_FLUSH_NONGLOBAL,    /* every PCID's non-global ones */
	TCG_FLUSH_PCID,         /* pcid's non-global ones (MOV to CR3, INVPCID 1) */
	TCG_FLUSH_PAGE,         /* the page at lin: pcid's and global ones */
	TCG_FLUSH_NONE,         /* nothing: a MOV to CR3 with bit 63 (pcid's stay) */
};
void tcg_tlb_flush(struct tcg_cpu *c);              /* every PCID's non-global entries */
void tcg_tlb_flush_all(struct tcg_cpu *c);          /* global entries too (CR4.PGE flip, CR0.PG) */
void tcg_tlb_flush_pcid(struct tcg_cpu *c, uint64_t pcid); /* pcid's non-global entries */
/* TCG's non-global entries, architecturally none (MOV to CR3 with bit 63) */
void tcg_tlb_flush_kept(struct tcg_cpu *c, uint64_t pcid);
void tcg_tlb_flush_page(struct tcg_cpu *c, uint64_t lin); /* INVLPG: the current PCID's */
/* The current PCID: CR3's low 12 bits with CR4.PCIDE, else 0 (4.10.1). */
uint64_t tcg_pcid(const struct tcg_cpu *c);

/* Self-modifying code: stores to a page holding decoded code (by any
 * vCPU or the host) bump that page's generation; exec.c drops stale
 * blocks.  Guest stores reach it through the TLB_CODE bit of their TLB
 * entry (mmu.c's slow path); host-side writes (loaders, DMA: memory.h)
 * through tcg_code_listener, which tcg_init registers with the machine.
 * Either also sets exit_request in every other registered vCPU, so that
 * one running chained blocks goes back to the loop and looks again. */
void tcg_code_written(uint64_t phys, uint64_t len);
extern struct ram_listener tcg_code_listener;
/* Forget every decoded block of this vCPU (machine reset). */
void tcg_flush_blocks(struct tcg_cpu *c);
bool tcg_page_has_code(uint64_t phys);
/* The decoder is about to read code from the page: mark it, and give
 * TLB_CODE to every registered vCPU's write entries for it.  Returns the
 * page's generation, marked; a block decoded after this call is stale if
 * the page's generation is not that value. */
uint32_t tcg_mark_code_page(uint64_t phys);
/* Counts the writes that made decoded code stale (any page, any vCPU). */
extern uint64_t tcg_code_writes;
uint32_t tcg_code_page_gen(uint64_t phys);
/* The vCPUs tcg_mark_code_page updates and a code write kicks: exec.c's
 * tcg_cpu_new registers each, tcg_cpu_free unregisters it first. */
void tcg_mmu_register(struct tcg_cpu *c);
void tcg_mmu_unregister(struct tcg_cpu *c);
/* Process-wide counts, for tests and measurements. */
struct tcg_code_stats {
	uint64_t marks;         /* pages marked as code (each a TLB scan) */
	uint64_t bumps;         /* generations bumped: writes that hit code */
	uint64_t kicks;         /* bumps that set other vCPUs' exit_request */
	uint64_t slow_stores;   /* guest stores that read the code map */
};
void tcg_code_stats_get(struct tcg_code_stats *s);
/* Instruction fetch for exec.c: the host address of the code at lin
 * (valid to the end of its page) or NULL when it is not RAM/ROM; *phys
 * gets the guest-physical address.  Raises #PF. */
/* kqemu: the page walk of a user access (CPL 3) that raises nothing.
 * true with the page's translation, A set (and D for a write) as the
 * CPU sets them (SDM Vol. 3, 4.8); writable only where a write would not
 * fault and D is set already or the access is the write.  false with the
 * #PF error code (SDM Vol. 3, 4.7) in *err. */
struct tcg_user_page {
	uint64_t phys;          /* guest-physical page */
	bool writable, exec, large;
	uint8_t shift;          /* log2 of the guest page's size: 12, 21, 22 or 30 */
};
bool tcg_walk_user(struct tcg_cpu *c, uint64_t lin, enum access acc, struct tcg_user_page *p,
		   uint32_t *err);
/* The same walk changing nothing: true only for a page user code may
 * read whose A bit is set already (writable only with D set too). */
bool tcg_peek_user(struct tcg_cpu *c, uint64_t lin, struct tcg_user_page *p);
const uint8_t *tcg_fetch_page(struct tcg_cpu *c, uint64_t lin, uint64_t *phys);
void tcg_fetch_bytes_io(struct tcg_cpu *c, uint64_t phys, uint8_t *dst, unsigned n);

/* ------------------------------------------------------------------ */
/* Flags (flags.c)                                                     */

/* Record the result of an arithmetic op for lazy evaluation. */
static inline void tcg_set_cc(struct tcg_cpu *c, enum cc_op op, unsigned size,
			      uint64_t dst, uint64_t src, uint64_t src2)
{
	c->cc_op = op;
	c->cc_size = size;
	c->cc_dst = dst;
	c->cc_src = src;
	c->cc_src2 = src2;
}
/* The six arithmetic flags now (FL_ARITH bits). */
uint64_t tcg_arith_flags(struct tcg_cpu *c);
/* Set the six arithmetic flags explicitly (other bits of f ignored). */
void tcg_set_arith_flags(struct tcg_cpu *c, uint64_t f);
bool tcg_cf(struct tcg_cpu *c);
/* Condition code cc (0-15, as in Jcc/SETcc/CMOVcc) */
bool tcg_cond(struct tcg_cpu *c, unsigned cc);
/* Full RFLAGS / write RFLAGS bits in mask (no privilege checks; POPF and
 * IRET apply theirs before calling). */
uint64_t tcg_rflags(struct tcg_cpu *c);
void tcg_set_rflags(struct tcg_cpu *c, uint64_t v, uint64_t mask);

/* ------------------------------------------------------------------ */
/* Exceptions and interrupts (seg.c, excp.c)                           */

/* Raise exception vec with an error code (or NO_ERRCODE): longjmps to the
 * run loop, which delivers it. */
_Noreturn void tcg_raise(struct tcg_cpu *c, int vec, int errcode);
/* #PF with CR2 */
_Noreturn void tcg_raise_pf(struct tcg_cpu *c, uint64_t lin, int errcode);

enum int_kind {
	INT_EXTERNAL,   /* INTR, NMI: no DPL check, return to rip */
	INT_EXCEPTION,  /* fault/trap raised by the CPU */
	INT_SOFTWARE,   /* INT n: DPL check, return to next_rip; IOPL in v86 */
	INT_SOFT_EXC,   /* INT3, INTO: DPL check, return to next_rip */
	INT_ICEBP,      /* INT1 (F1) */
};
/* Deliver through the IDT / IVT in the current mode (real, protected,
 * v86, long; gates, stack switch, IST, error code).  Exceptions during
 * delivery become #DF, a third one a triple fault (c->triple_fault).
 * ret_rip is the rip pushed (faults: the instruction; traps: after). */
void tcg_deliver(struct tcg_cpu *c, int vec, int errcode, enum int_kind kind, uint64_t ret_rip);

/* Load a segment register in the current mode with the SDM's checks
 * (MOV/POP/LxS: SDM Vol. 2 "MOV"), raising #GP/#SS/#NP. */
void tcg_load_seg(struct tcg_cpu *c, int seg, uint16_t sel);
/* Far JMP / CALL to sel:off with operand size osz (2, 4, 8), in every
 * mode, through call gates and (not implemented: #GP) task gates; FF /3,
 * FF /5, 9A and EA use them.  They write next_rip and set c->stop. */
void tcg_far_jmp(struct tcg_cpu *c, uint16_t sel, uint64_t off, unsigned osz);
void tcg_far_call(struct tcg_cpu *c, uint16_t sel, uint64_t off, unsigned osz);
/* Read the 8-byte descriptor of sel from the GDT/LDT; false (and *desc
 * 0) beyond the table's limit, the caller raising what its instruction
 * raises.  16 bytes for system descriptors in long mode via desc_hi. */
bool tcg_read_desc(struct tcg_cpu *c, uint16_t sel, uint64_t *desc, uint64_t *desc_hi);

/* Privileged state changes that the rest of the core must see (system.c):
 * they flush the TLB as the SDM requires and set c->stop. */
void tcg_set_cr0(struct tcg_cpu *c, uint64_t v);
void tcg_set_cr3(struct tcg_cpu *c, uint64_t v);
/* keep_pcid: a MOV to CR3 with bit 63 (CR4.PCIDE): no flush of the new
 * PCID's translations architecturally */
void tcg_set_cr3_keep(struct tcg_cpu *c, uint64_t v, bool keep_pcid);
void tcg_set_cr4(struct tcg_cpu *c, uint64_t v);
void tcg_set_efer(struct tcg_cpu *c, uint64_t v);
/* Hardware breakpoints (debug.c, SDM Vol. 3, 18.2-18.3).  After a change
 * of DR0-DR3/DR7: tcg_dr_update (flushes the TLB, ends the block);
 * tcg_dbg_recompute only sets dbg_on (tcg_set_state flushes itself). */
void tcg_dr_update(struct tcg_cpu *c);
void tcg_dbg_recompute(struct tcg_cpu *c);
/* TLB_WATCH or 0: what the tags of a page need for reads or writes */
uint64_t tcg_dbg_watch_tags(const struct tcg_cpu *c, uint64_t page, bool write);
/* An access of the slow path, an I/O port access: note hits in db_hits */
void tcg_dbg_data(struct tcg_cpu *c, uint64_t lin, unsigned size, bool write);
void tcg_dbg_io(struct tcg_cpu *c, uint16_t port, unsigned size);
/* Instruction breakpoints at c->s.rip: raises the #DB fault */
void tcg_dbg_insn(struct tcg_cpu *c);
/* Deliver a #DB trap with these DR6 bits (B0-B3 replace the old ones) */
void tcg_dbg_trap(struct tcg_cpu *c, unsigned dr6_bits);
/* PKRU from WRPKRU or XRSTOR (system.c): a change flushes the TLB, whose
 * entries for user pages are filled under PKRU's rights (mmu.c) */
void tcg_set_pkru(struct tcg_cpu *c, uint32_t v);
/* IA32_PKRS from WRMSR (system.c): the same for supervisor pages; -1
 * (#GP) without PKS or for bits 63:32 */
int tcg_set_pkrs(struct tcg_cpu *c, uint64_t v);
/* RDFSBASE ... WRGSBASE (system.c) */
void tcg_fsgsbase(struct tcg_cpu *c, const struct insn *i);
/* RDMSR/WRMSR bodies: 0, or -1 for #GP. */
int tcg_rdmsr(struct tcg_cpu *c, uint32_t msr, uint64_t *v);
int tcg_wrmsr(struct tcg_cpu *c, uint32_t msr, uint64_t v);
/* CPUID leaf/subleaf as this engine implements it. */
void tcg_cpuid(struct tcg_cpu *c, uint32_t leaf, uint32_t sub, uint32_t out[4]);
/* The system features of issue 16 the vCPU's CPUID advertises (-cpu max
 * or the model, less -FEAT; IA32_MISC_ENABLE's CPUID limit aside): the
 * instructions and CR4 bits that depend on them are #UD / #GP without. */
#define SYSF_PCID (1u << 0)     /* CR4.PCIDE, PCIDs in CR3 */
#define SYSF_INVPCID (1u << 1)
#define SYSF_SMEP (1u << 2)
#define SYSF_SMAP (1u << 3)     /* CR4.SMAP, STAC, CLAC */
#define SYSF_UMIP (1u << 4)
#define SYSF_PKU (1u << 5)      /* CR4.PKE, RDPKRU/WRPKRU, protection keys */
#define SYSF_XSAVES (1u << 6)   /* XSAVES, XRSTORS, IA32_XSS */
#define SYSF_PKS (1u << 7)      /* CR4.PKS, IA32_PKRS, supervisor protection keys */
unsigned tcg_sys_features(struct tcg_cpu *c);
/* -cpu ...,+FEAT: warn about (enforce: refuse, -1) what TCG lacks */
struct cpu_features;
int tcg_cpuid_check_features(const struct cpu_features *f);
/* -cpu MODEL,...: the same, and one line for the model's features TCG
 * lacks (left out; enforce: -1); -1 for an unknown model */
int tcg_cpuid_check_model(const char *model, const struct cpu_features *f);
/* The XSAVE components of offer the -cpu model has; is its vendor AMD */
struct config;
uint64_t tcg_cpuid_xsave_offer(const struct config *cfg, uint64_t offer);
bool tcg_cpu_amd(const struct tcg_cpu *c);
uint64_t tcg_rdtsc(struct tcg_cpu *c);
/* IA32_MISC_ENABLE's writable bits at reset: fast strings (msr.c) */
#define TCG_MISC_ENABLE_RESET 1ULL

/* FPU state packing (fpu.c): FXSAVE image <-> struct tcg_fpu. */
void tcg_fpu_from_fxsave(struct tcg_fpu *f, const uint8_t fx[512]);
void tcg_fpu_to_fxsave(const struct tcg_fpu *f, uint8_t fx[512]);
void tcg_fpu_reset(struct tcg_fpu *f); /* FNINIT + MXCSR 0x1f80 */

#endif
