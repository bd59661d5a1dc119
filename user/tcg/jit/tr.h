/*
 * The translator's internal interface: the state of one block's
 * translation, shared by translate.c (the driver: flags, exits, helper
 * calls, slow paths) and the instruction generators (gen-*.c).
 *
 * Conventions of the generated code:
 *  - r15 holds the struct tcg_cpu *; guest registers stay in c->s.regs
 *    (stage 1: no register caching), so a helper call needs no spill;
 *  - rax, rcx, rdx, rsi, rdi, r8-r11 are scratch; rbx, rbp, r12-r14 are
 *    free for the exit stubs (callee-saved across helper calls);
 *  - the guest's arithmetic flags are either in the host RFLAGS (F_HOST)
 *    or in c's lazy-flags record (F_MEM), or both; at block entry and at
 *    every chained exit they are in the host RFLAGS;
 *  - rsp is 16-byte aligned in block code, so helpers are called as is.
 */
#ifndef QVM_TCG_JIT_TR_H
#define QVM_TCG_JIT_TR_H

#include <stddef.h>
#include "tcg/jit/jit.h"
#include "tcg/jit/emit.h"

#define R_CPU H_R15
#define CPU_OFF(field) ((int32_t)offsetof(struct tcg_cpu, field))
#define CPU_MEM(field) rm_mem(R_CPU, CPU_OFF(field))

enum { F_HOST = 1, F_MEM = 2 };
#define REGCACHE_MAX 5
#define IBTC_SETS 4096         /* two ways each */
#define IBTC_SIZE (2 * IBTC_SETS)
#define IBTC_EMPTY (~0ULL)
static inline uint64_t ibtc_key_tag(uint32_t key)
{
	return (uint64_t)key << 52;
}
#define FLAGS_ALL ((unsigned)FL_ARITH)

/* A direct exit that can be chained: the jmp rel32 at jmp_field goes to
 * the exit stub until the dispatcher points it at the next block. */
struct jit_slot {
	uint8_t *jmp_field;
	uint64_t target_rip;
	struct tcg_block *from;
};

/* memo.c: an instruction's part in a same-page group */
enum { MEMO_NONE, MEMO_LEADER, MEMO_FOLLOWER };
struct memo_role {
	uint8_t role;
	uint8_t leader;         /* the group's leader (an instruction index) */
	bool write;             /* the leader checks for writing */
	int32_t lo, hi;         /* the span checked: [base + lo, base + hi] */
};

/* Out-of-line code emitted after the block's main code. */
enum cold_kind { COLD_SLOW };
struct cold {
	enum cold_kind kind;
	uint8_t *branch;        /* rel32 field in the main code jumping here */
	uint8_t *resume;        /* where to go back to */
	unsigned k;             /* instruction index */
	uint8_t fstate_before, fstate_after;
	bool flags_in_r11;      /* the fast path saved the guest flags in r11 */
	/* a same-page group's leader (memo.c): after the interpreter, the
	 * group's check again (memo.role MEMO_LEADER) */
	struct memo_role memo;
};
#define MAX_COLD (BLOCK_MAX_INSNS * 4)   /* up to 3 per instruction */

struct tr {
	struct tcg_cpu *c;
	struct tcg_block *b;
	struct emit e;
	unsigned n;             /* instructions translated */
	bool chain;             /* direct exits may be chained (not in jit_step) */
	uint64_t rip_mask;
	/* per instruction */
	unsigned k;
	const struct insn *i;
	uint64_t rip, next_rip;
	unsigned live_out[BLOCK_MAX_INSNS];     /* flags live after insn k */
	uint8_t fstate;
	unsigned need;          /* flags insn k needs the host to hold */
	bool flags_saved;       /* insn k's fast path keeps them in r11 */
	unsigned cold_first;    /* insn k's first cold entry */
	struct jit_slot *slots; /* up to 2 chainable exits */
	unsigned nslots;
	bool ended;             /* the block's last exit has been emitted */
	struct cold cold[MAX_COLD];
	unsigned ncold;
	/* guest registers held in host registers (regcache.c) */
	int8_t cache_host[16];  /* host register of guest register r, or -1 */
	uint8_t cached[REGCACHE_MAX];
	unsigned ncached;
	bool no_regcache;       /* translate without (a retry) */
	bool cache_conflict;    /* AH-BH of a held register: retry without */
	bool exit_stored;       /* the held registers were just written back */
	bool loops;             /* ends in a direct jump to its own start */
	unsigned live_in;       /* guest flags the block reads before writing */
	uint8_t *loop_head;     /* after the entry's loads: where a jump back
				 * to the block's own start goes (tr_exit_self) */
	uint8_t *loop_exit;     /* the loop head's exit-request jump */
	bool self_looped;       /* such a jump was emitted */
	/* same-page groups (memo.c): the plan, and whether r9 holds the
	 * host address of base + lo of memo_leader's group here */
	struct memo_role memo[BLOCK_MAX_INSNS];
	bool memo_live;
	unsigned memo_leader;
	bool avx_checked;       /* the block's AVX checks were emitted (gen-vex.c) */
	/* counted for the stats */
	unsigned native, helpers, grouped;
};

/* What an instruction generator needs to know before it runs: which
 * arithmetic flags it reads and which it writes (for liveness). */
struct gen_info {
	bool (*gen)(struct tr *t);      /* NULL: call the interpreter's handler */
	unsigned freads, fwrites;
	bool fmaybe;            /* may leave every flag as it was (a shift by
				 * CL of 0): all must be right before it if any
				 * is needed after it */
};

/* gen-*.c: classify instruction i of a block in mode key */
void jit_classify(const struct tr *t, const struct insn *i, struct gen_info *gi);

/* translate.c services for the generators */
void tr_flags_to_host(struct tr *t);
void tr_flags_to_mem(struct tr *t);
/* Before native code that needs the guest flags in the host (reads, or
 * writes some and leaves other live ones): load them if needed. */
void tr_flags_for_native(struct tr *t, unsigned freads, unsigned fwrites);
/* The guest flags in r11 and back (LAHF/SETO, ADD 7F/SAHF); rax scratch */
void emit_save_flags_r11(struct emit *e);
void emit_restore_flags_r11(struct emit *e);
/* after native code that wrote fwrites flags */
void tr_flags_written(struct tr *t, unsigned fwrites);
/* Guest memory: compute the linear address of i's memory operand into
 * rsi, check the TLB for acc (ACC_READ or ACC_WRITE) of size bytes, and
 * leave the host address in rsi; a miss runs the whole instruction in
 * the interpreter (slow path).  The guest flags in the host survive.
 * false: this operand can't be accessed natively (non-flat segment). */
bool tr_mem_operand(struct tr *t, unsigned size, enum access acc);
/* The same for an operand that must be align-aligned (else slow path). */
bool tr_mem_operand_aligned(struct tr *t, unsigned size, enum access acc, unsigned align);
/* rsi = the effective address (offset, no segment) of i's memory operand */
void tr_ea(struct tr *t);
/* Save the guest flags held in the host around the TLB checks to come,
 * if they are needed after them (tr_mem_done restores them). */
void tr_save_flags(struct tr *t);
/* jcc cc to the slow path (the interpreter runs the instruction) */
void tr_slow_if(struct tr *t, unsigned cc);
/* The same for a linear address already in rsi (the stack). */
void tr_mem_check(struct tr *t, unsigned size, enum access acc);
/* dst = the byte offset in a TLB of the entry for the linear address in
 * src: ((src >> 12) & (TLB_SIZE - 1)) << TLB_ENTRY_SHIFT.  Host flags
 * change (AND). */
void tr_tlb_index(struct emit *e, int dst, int src);
/* End the fast path of an instruction with memory accesses: restores the
 * host flags saved around the TLB checks. */
void tr_mem_done(struct tr *t);
bool tr_seg_ok(const struct tr *t, int seg);
/* The host memory operand of guest register r at size (AH-BH handled). */
struct hrm tr_greg(struct tr *t, unsigned r, unsigned size);
/* Exits */
void tr_exit_direct(struct tr *t, uint64_t target);     /* jmp to a constant rip */
void tr_exit_indirect(struct tr *t, int reg);           /* rip in a host register */
/* Jcc: taken to target, else to the next instruction (both direct). */
void tr_exit_cond(struct tr *t, unsigned cc, uint64_t target);
/* Whether a near jump to target is one the translator may compile (the
 * canonical and CS limit checks pass at translation time). */
bool tr_target_ok(const struct tr *t, uint64_t target);
/* stack */
unsigned tr_stack_width(const struct tr *t);    /* 8, 4, or 0 (not native) */

/* The privilege level the block's translation key fixes */
static inline unsigned tr_cpl(const struct tr *t)
{
	return (t->b->key >> KEY_CPL_SHIFT) & 3;
}

/* A block of kqemu's stretch (block.h): it counts itself down */
static inline bool tr_kqemu_stretch(const struct tr *t)
{
	return tr_cpl(t) == 3 && (t->b->key & KEY_KQEMU_STRETCH);
}

/* The TLB of the block's explicit data accesses (tcg_data_kind) */
static inline unsigned tr_data_kind(const struct tr *t)
{
	if (tr_cpl(t) == 3)
		return MMU_USER;
	return t->b->key & KEY_SMAP_AC ? MMU_SUPER_AC : MMU_SUPER;
}

static inline bool tr_code64(const struct tr *t)
{
	return (t->b->key & KEY_BITS_MASK) == 2;
}

/* runtime entry points called from generated code (run.c) */
uint64_t jit_rt_flags(struct tcg_cpu *c);
void *jit_rt_lookup(struct tcg_cpu *c, uint64_t key_tag);

/* run.c: the shared exit routines */
struct jit_state {
	uint8_t *stubs;                 /* prologue, epilogues, indirect exit */
	uintptr_t (*enter)(struct tcg_cpu *c, void *code);
	uint8_t *exit_host;             /* rax = slot or 0; flags in the host */
	uint8_t *exit_mem;              /* flags in c's record */
	uint8_t *exit_indirect;         /* c->s.rip set, flags in the host */
	struct jit_slot *pending;       /* the slot the last exit came through */
	uint8_t *exit_next_mem;         /* rip = next_rip; flags in c's record */
	uint8_t *load_flags;            /* routine: c's record into RFLAGS */
	uint64_t stubs_flush;           /* the cache flush the stubs belong to */
	/* The indirect-branch cache, looked up by the generated code: the
	 * tag is rip + (key << 52) (unique: canonical rips never differ by a
	 * multiple of 2^52), ~0 when empty.  An entry holds while the code TLB
	 * maps its rip to the block's physical page (checked by the lookup);
	 * the run loop empties the cache when CS changed or any decoded code
	 * was written (jit_exec). */
	struct ibtc_entry {
		uint64_t tag;
		void *code;
		uint64_t phys_page;     /* the block's, which the code TLB must map */
		uint64_t pad;
	} ibtc[IBTC_SIZE];
	uint32_t ibtc_epoch;
	uint64_t ibtc_cs_base, ibtc_code_writes;
	uint32_t ibtc_cs_limit;
	struct jit_stats st;
};

/* Counters written by the vCPU, read by the monitor's thread (relaxed
 * atomics: plain moves on x86). */
#define STAT_ADD(field, n) \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)

static inline struct jit_state *jit_of(const struct tcg_cpu *c)
{
	return c->jit;
}

/* regcache.c: choose the held registers; load them / write them back */
void regcache_choose(struct tr *t, const struct gen_info *gi);
/* Does the block end in a direct JMP or Jcc to its own start? */
bool jit_block_loops(const struct tr *t);
void regcache_load(const struct tr *t, struct emit *e);
void regcache_store(const struct tr *t, struct emit *e);

/* perfmap.c: name each block's code for perf (QVM_JIT_PERFMAP=1) */
void jit_perfmap_add(const void *code, size_t size, uint64_t rip, uint32_t key);

/* memo.c: plan the same-page groups of the block (before emit_block) */
void memo_plan(struct tr *t, const struct gen_info *gi);
/* gen-flow.c: which generator jit_classify chose */
bool jit_gen_is_mirror(const struct gen_info *gi);
bool jit_gen_is_lea(const struct gen_info *gi);
bool jit_gen_is_mov_imm(const struct gen_info *gi);

/* translate.c */
bool jit_translate(struct tcg_cpu *c, struct tcg_block *b, unsigned n, bool chain);

#endif
