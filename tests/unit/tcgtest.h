/* Helpers for the TCG unit tests: a 16 MiB machine with one emulated
 * CPU, flat segments, an identity map for long mode, and running single
 * instructions written into guest RAM. */
#ifndef QVM_TCGTEST_H
#define QVM_TCGTEST_H

#include "tcg/tcg.h"

#define TCGT_RAM (16u << 20)
#define TCGT_PML4 0x10000       /* page tables: PML4, PDPT, PD */

struct tcg_env {
	struct machine *m;
	struct tcg_cpu *c;
	uint64_t code;          /* where the next instruction goes */
	uint64_t last;          /* address of the last instruction run */
};

/* The machine (RAM at 0) and a CPU in its power-on state; instructions
 * are placed from code on.  false if it can't be built. */
bool tcg_env_init(struct tcg_env *e, uint64_t code);
void tcg_env_free(struct tcg_env *e);

/* Flat 4 GiB segments at privilege cpl: data selector 0x10 | cpl for
 * every segment, code 0x08 | cpl for CS, 64-bit code when l. */
void tcg_env_flat_segs(struct tcg_cpu *c, unsigned cpl, bool l);

/* Identity-map the first 16 MiB in user-accessible, writable 2 MiB pages
 * with the tables at TCGT_PML4 (CR3 is the caller's). */
void tcg_env_identity_map(struct tcg_env *e);

/* Long mode (CR0 PE|ET|PG, CR4 PAE, EFER LME|LMA) over that identity
 * map, TLB flushed; the caller adds its own CR/EFER bits and segments. */
void tcg_env_long_mode(struct tcg_env *e);

/* A 64-bit CPL 0 CPU over the identity map with code (n bytes) at
 * linear = physical address lin and rip there, the JIT on or off (a
 * 4 MiB code cache).  false if it can't be built. */
bool tcg_env_long_code(struct tcg_env *e, uint64_t lin, const uint8_t *code, size_t n,
		       bool jit);
/* 8 bytes of guest RAM at gpa, read or written (the machine's path) */
uint64_t tcg_env_get64(struct tcg_env *e, uint64_t gpa);
void tcg_env_put64(struct tcg_env *e, uint64_t gpa, uint64_t v);

/* Run one instruction written at linear address lin: -1 when it
 * completed, else the exception vector (tcg_step). */
int tcg_env_step_at(struct tcg_env *e, uint64_t lin, const uint8_t *b, unsigned n);
/* The same at a fresh address each time, so no stale block is reused. */
int tcg_env_step(struct tcg_env *e, const uint8_t *b, unsigned n);

#define STEP(e, ...) tcg_env_step(e, (const uint8_t[]){ __VA_ARGS__ }, \
				  sizeof((const uint8_t[]){ __VA_ARGS__ }))
#define STEP_AT(e, lin, ...) tcg_env_step_at(e, lin, (const uint8_t[]){ __VA_ARGS__ }, \
					     sizeof((const uint8_t[]){ __VA_ARGS__ }))

#endif
