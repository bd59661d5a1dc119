/*
 * Blocks of decoded guest code and the per-vCPU block cache (blocks.c),
 * shared by the run loop (exec.c) and the JIT (jit/).
 *
 * A block is a straight run of instructions within one guest page,
 * identified by where it is (guest-physical address, rIP and the CS base
 * and limit it was reached with) and by the translation key: the state
 * the code was decoded and translated for (code size, CPL, stack size,
 * which data segments are flat, the TLB of data accesses).  Everything the JIT compiles in comes
 * from these, so a block is only ever run in the state it was made for.
 *
 * Blocks live in the vCPU's code cache, an arena of -accel tcg,tb-size=
 * MiB holding the blocks, their decoded instructions and their host
 * code.  Nothing in it is freed on its own: a block whose page was
 * written is unhashed (stale) and its space comes back when the arena is
 * full and the whole cache is flushed, so code never points at freed
 * memory.
 */
#ifndef QVM_TCG_BLOCK_H
#define QVM_TCG_BLOCK_H

#include "tcg.h"

#define BLOCK_MAX_INSNS 64

/* Translation key bits (tcg_block_key) */
#define KEY_BITS_MASK   0x3     /* 0: 16-bit, 1: 32-bit, 2: 64-bit code */
#define KEY_CPL_SHIFT   2       /* 2 bits */
#define KEY_SS32        (1u << 4)       /* stack pointer is ESP (SS.B) */
#define KEY_FLAT_SHIFT  5       /* one bit per segment S_ES..S_GS */
#define KEY_FLAT(seg)   (1u << (KEY_FLAT_SHIFT + (seg)))
/* SSE instructions cannot fault on their class checks: CR0.EM and
 * CR0.TS clear, CR4.OSFXSR set (SDM Vol. 2, 2.5); the JIT runs them
 * natively only then.  Bit 11 is the last one ibtc_key_tag() keeps. */
#define KEY_SSE         (1u << 11)
/* Explicit data accesses at CPL 0-2 go through MMU_SUPER_AC (CR4.SMAP
 * and EFLAGS.AC set: tcg_data_kind), whose TLB the JIT's inline checks
 * name.  STAC, CLAC and POPF end their block and leave for the run loop,
 * which looks the next block up with the new key; so do IRET and the
 * other ways AC changes (they change CPL or deliver).  The bit is the
 * flat set's CS bit, which tcg_block_key never sets otherwise (CS is no
 * data segment) and at CPL 3 KEY_KQEMU_STRETCH's. */
#define KEY_SMAP_AC     KEY_FLAT(S_CS)
/* kqemu's stretch after an exit (c->kqemu_stretch, CPL 3): the JIT's
 * blocks for it count themselves down in c->kqemu_blocks at entry and
 * leave when it is 0 (translate.c, emit_exit_check), as the run loop
 * counts the interpreter's (tcg_kqemu_leave).  They chain, and find each
 * other through the indirect-branch cache, only among themselves (the
 * key differs).  The bit is KEY_SMAP_AC's, which only CPL 0-2 sets. */
#define KEY_KQEMU_STRETCH KEY_FLAT(S_CS)

/* A link to the block that ran after this one (the interpreter's
 * shortcut past the lookup), valid while the epoch holds. */
struct block_link {
	struct tcg_block *to;
	uint32_t epoch;
};

struct jit_block;

struct tcg_block {
	uint64_t phys;          /* guest-physical address of the first byte */
	uint64_t rip;           /* rIP of the first instruction */
	uint64_t cs_base;
	uint32_t cs_limit;
	uint32_t key;           /* translation key */
	uint32_t gen;           /* the code page's generation when decoded */
	uint8_t code_bits;
	bool cached;            /* in the hash table (not the scratch block) */
	bool jit_failed;        /* the JIT could not translate it: interpret */
	uint16_t n;
	struct tcg_block *next; /* hash chain */
	struct block_link succ[2]; /* most recent first */
	void *code;             /* host code (JIT), NULL until translated */
	struct insn insns[];
};

/* The translation key of the vCPU's current state. */
uint32_t tcg_block_key(const struct tcg_cpu *c);

/* The block at the current CS:rIP, from the cache or decoded now.  May
 * raise #PF/#GP (code fetch).  The scratch block (an instruction that
 * crosses a page or runs from MMIO) is not cached and never translated. */
struct tcg_block *tcg_find_block(struct tcg_cpu *c);

/* Bytes from the vCPU's code cache (aligned to 16), NULL when it is full:
 * the caller then flushes (tcg_flush_blocks) and starts again. */
void *tcg_cache_alloc(struct tcg_cpu *c, size_t size);
/* Give back the end of the last allocation (cap bytes at p, used kept). */
void tcg_cache_trim(struct tcg_cpu *c, void *p, size_t cap, size_t used);
/* Bytes left in the code cache. */
size_t tcg_cache_room(const struct tcg_cpu *c);
/* Counter bumped by every flush of this vCPU's cache. */
uint64_t tcg_cache_flushes(const struct tcg_cpu *c);

void tcg_blocks_free(struct tcg_cpu *c);

/* The translated block for the current CS:rIP with key, from the cache
 * only (no decoding): NULL if none.  The code TLB must map rIP, unless
 * fill_tlb: then it is filled, and a fetch fault raised. */
struct tcg_block *tcg_probe_block(struct tcg_cpu *c, uint32_t key, bool fill_tlb);

#endif
