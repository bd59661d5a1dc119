/*
 * The JIT: TCG blocks translated into host x86-64 code (jit/README.md).
 * The run loop (exec.c) calls it; the block cache (blocks.c) tells it
 * when the code cache was flushed.
 */
#ifndef QVM_TCG_JIT_H
#define QVM_TCG_JIT_H

#include <stdbool.h>
#include "tcg/block.h"

/* Run translated code from block b on (translating it first), following
 * chained blocks until an exit.  false: b cannot be translated (the
 * caller interprets it).  Exceptions arrive at the caller's setjmp. */
bool jit_exec(struct tcg_cpu *c, struct tcg_block *b);
/* tcg_step through the JIT: b's first instruction alone.  false: not
 * translatable (the caller interprets it). */
bool jit_step(struct tcg_cpu *c, struct tcg_block *b);
/* The vCPU's code cache was flushed: forget links into it. */
void jit_cache_flushed(struct tcg_cpu *c);
void jit_free(struct tcg_cpu *c);

/* Counters for info jit / tests */
struct jit_stats {
	uint64_t blocks, native_insns, helper_insns, failed;
	uint64_t enters, chains, indirect_hits, indirect_misses;
	uint64_t code_bytes;
	uint64_t self_loops;    /* blocks that jump back to their own start */
	uint64_t grouped;       /* memory operands translated without a TLB
				 * check of their own (a same-page group's) */
};
void jit_get_stats(const struct tcg_cpu *c, struct jit_stats *s);

#endif
