/*
 * Running translated code: the entry and exit routines (generated into
 * the code cache after each flush), chaining a block's direct exit to the
 * block that followed it, the indirect-branch cache, and the run loop's
 * two entry points (jit_exec, jit_step).
 */
#include <stdio.h>
#include <stdlib.h>
#include "tcg/jit/tr.h"

#define STUBS_SIZE 512

static struct jit_state *jit_get(struct tcg_cpu *c)
{
	if (!c->jit) {
		c->jit = calloc(1, sizeof(struct jit_state));
		if (!c->jit)
			qvm_die("tcg: out of memory for the JIT");
		c->jit->stubs_flush = ~0ULL;
	}
	return c->jit;
}

void jit_free(struct tcg_cpu *c)
{
	free(c->jit);
	c->jit = NULL;
}

void jit_cache_flushed(struct tcg_cpu *c)
{
	struct jit_state *js = c->jit;
	js->pending = NULL;
	js->stubs = NULL;
	memset(js->ibtc, 0, sizeof(js->ibtc));
}

void jit_get_stats(const struct tcg_cpu *c, struct jit_stats *s)
{
	if (c->jit)
		*s = c->jit->st;
	else
		memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------------ */
/* Runtime services called from generated code                         */

uint64_t jit_rt_flags(struct tcg_cpu *c)
{
	uint64_t f = tcg_arith_flags(c);
	tcg_set_arith_flags(c, f);      /* cheaper the next time */
	return (f & FL_ARITH) | 2;
}

static inline struct ibtc_entry *ibtc_slot(struct jit_state *js, uint64_t rip)
{
	return &js->ibtc[(rip ^ rip >> 10) & (ARRAY_SIZE(js->ibtc) - 1)];
}

/* The code of the block at c->s.rip for key, from the indirect-branch
 * cache or the block cache; NULL sends the vCPU back to the run loop. */
void *jit_rt_lookup(struct tcg_cpu *c, uint32_t key)
{
	struct jit_state *js = c->jit;
	if (js->ibtc_epoch != c->chain_epoch) {         /* a TLB flush */
		memset(js->ibtc, 0, sizeof(js->ibtc));
		js->ibtc_epoch = c->chain_epoch;
	}
	uint64_t rip = c->s.rip;
	struct ibtc_entry *e = ibtc_slot(js, rip);
	struct tcg_block *b = e->b;
	if (e->rip == rip && b && b->key == key && b->cs_base == c->s.seg[S_CS].base &&
	    b->cs_limit == c->s.seg[S_CS].limit && b->gen == tcg_code_page_gen(b->phys)) {
		js->st.indirect_hits++;
		return b->code;
	}
	b = tcg_probe_block(c, key);
	if (!b) {
		js->st.indirect_misses++;
		return NULL;
	}
	e->rip = rip;
	e->b = b;
	js->st.indirect_hits++;
	return b->code;
}

/* ------------------------------------------------------------------ */
/* Entry and exit routines                                             */

static const int saved_regs[] = { H_RBP, H_RBX, H_R12, H_R13, H_R14, H_R15 };

static void emit_stubs(struct jit_state *js, uint8_t *buf)
{
	struct emit e = { buf, buf + STUBS_SIZE, false };
	/* enter(c, code): save the callee-saved registers, align the stack
	 * to 16, load the guest flags, jump to the code */
	js->enter = (uintptr_t (*)(struct tcg_cpu *, void *))(void *)e.p;
	for (unsigned k = 0; k < ARRAY_SIZE(saved_regs); k++)
		emit_push(&e, saved_regs[k]);
	emit_alu_imm(&e, 8, 5, rm_reg(H_RSP), 8);
	emit_op1(&e, 8, 0x8b, R_CPU, rm_reg(H_RDI));
	emit_op1(&e, 4, 0xff, 6, CPU_MEM(jit_flags));   /* push qword [r15 + jit_flags] */
	e8(&e, 0x9d);
	e8(&e, 0xff);
	e8(&e, 0xe6);                                   /* jmp rsi */

	/* exit_host: the guest flags go out through jit_flags */
	js->exit_host = e.p;
	e8(&e, 0x9c);
	emit_op1(&e, 4, 0x8f, 0, CPU_MEM(jit_flags));
	uint8_t movb = 0xc6;
	emit_op(&e, 1, false, &movb, 1, 0, CPU_MEM(jit_flags_host), 1, 1);
	uint8_t *to_common = emit_jmp_rel32(&e);
	/* exit_mem: they are in c's lazy record already */
	js->exit_mem = e.p;
	emit_op(&e, 1, false, &movb, 1, 0, CPU_MEM(jit_flags_host), 0, 1);
	emit_patch_rel32(to_common, e.p);
	emit_alu_imm(&e, 8, 0, rm_reg(H_RSP), 8);
	for (int k = ARRAY_SIZE(saved_regs) - 1; k >= 0; k--)
		emit_pop(&e, saved_regs[k]);
	e8(&e, 0xc3);

	/* exit_next_mem: rip = next_rip, flags in c's record */
	js->exit_next_mem = e.p;
	emit_load(&e, 8, H_RAX, CPU_MEM(next_rip));
	emit_store(&e, 8, CPU_MEM(s.rip), H_RAX);
	emit_mov_imm(&e, H_RAX, 0);
	emit_jmp_to(&e, js->exit_mem);

	/* exit_indirect: rip set, esi = key, flags in the host: look the
	 * target up and go on there, keeping the flags in rbx meanwhile */
	js->exit_indirect = e.p;
	e8(&e, 0x9c);
	emit_pop(&e, H_RBX);
	emit_op1(&e, 8, 0x8b, H_RDI, rm_reg(R_CPU));
	emit_call_abs(&e, (const void *)jit_rt_lookup);
	emit_push(&e, H_RBX);
	e8(&e, 0x9d);
	emit_op1(&e, 8, 0x8b, H_RCX, rm_reg(H_RAX));    /* mov rcx, rax */
	e8(&e, 0xe3);
	e8(&e, 2);                                      /* jrcxz miss */
	e8(&e, 0xff);
	e8(&e, 0xe0);                                   /* jmp rax */
	emit_mov_imm(&e, H_RAX, 0);                     /* miss: */
	emit_jmp_to(&e, js->exit_host);
	if (e.full)
		qvm_die("tcg: JIT stubs do not fit");
}

/* The stubs of the current cache generation; false when the cache is
 * full (the caller flushes and tries again). */
static bool stubs_ready(struct tcg_cpu *c, struct jit_state *js)
{
	if (js->stubs && js->stubs_flush == tcg_cache_flushes(c))
		return true;
	uint8_t *buf = tcg_cache_alloc(c, STUBS_SIZE);
	if (!buf)
		return false;
	js->stubs = buf;
	js->stubs_flush = tcg_cache_flushes(c);
	emit_stubs(js, buf);
	return true;
}

/* ------------------------------------------------------------------ */
/* Running                                                             */

static bool linkable(const struct jit_slot *s, const struct tcg_block *to)
{
	const struct tcg_block *from = s->from;
	return s->target_rip == to->rip && to->code && from->key == to->key &&
	       from->cs_base == to->cs_base && from->cs_limit == to->cs_limit &&
	       (from->phys >> 12) == (to->phys >> 12);
}

static void run_code(struct tcg_cpu *c, struct jit_state *js, void *code)
{
	c->jit_flags = tcg_arith_flags(c) | 2;
	js->st.enters++;
	uintptr_t r = js->enter(c, code);
	if (c->jit_flags_host)
		tcg_set_arith_flags(c, c->jit_flags);
	js->pending = (struct jit_slot *)r;
	c->stop = false;
}

/* Translate b (its first n instructions) unless done; false when it can't
 * be, or when the cache had to be flushed (b is gone then: *flushed). */
static bool ensure_code(struct tcg_cpu *c, struct jit_state *js, struct tcg_block *b,
			unsigned n, bool chain, bool *flushed)
{
	*flushed = false;
	if (b->code)
		return true;
	if (b->jit_failed)
		return false;
	if (stubs_ready(c, js) && jit_translate(c, b, n, chain))
		return true;
	if (b->jit_failed)
		return false;
	tcg_flush_blocks(c);    /* the cache is full */
	*flushed = true;
	return false;
}

bool jit_exec(struct tcg_cpu *c, struct tcg_block *b)
{
	if (!b->cached || b->jit_failed)
		return false;
	struct jit_state *js = jit_get(c);
	bool flushed;
	if (!ensure_code(c, js, b, b->n, true, &flushed))
		return flushed; /* flushed: the run loop looks the block up again */
	struct jit_slot *s = js->pending;
	if (s && linkable(s, b)) {
		emit_patch_rel32(s->jmp_field, b->code);
		js->st.chains++;
	}
	if (getenv("QVM_JIT_TRACE"))
		fprintf(stderr, "jit: enter %llx (n %u)\n", (unsigned long long)b->rip, b->n);
	run_code(c, js, b->code);
	if (getenv("QVM_JIT_TRACE"))
		fprintf(stderr, "jit: exit at %llx\n", (unsigned long long)c->s.rip);
	return true;
}

bool jit_step(struct tcg_cpu *c, struct tcg_block *b)
{
	struct jit_state *js = jit_get(c);
	if (!stubs_ready(c, js)) {
		tcg_flush_blocks(c);
		return false;
	}
	/* a copy of the block holding its first instruction only, in the
	 * cache so that it lives as long as its code */
	struct tcg_block *one = tcg_cache_alloc(c, sizeof(*one) + sizeof(struct insn));
	if (!one) {
		tcg_flush_blocks(c);
		return false;
	}
	memcpy(one, b, sizeof(*one));
	one->insns[0] = b->insns[0];
	one->n = 1;
	one->code = NULL;
	one->cached = false;
	one->jit_failed = false;
	if (!jit_translate(c, one, 1, false))
		return false;
	js->pending = NULL;
	run_code(c, js, one->code);
	js->pending = NULL;
	return true;
}
