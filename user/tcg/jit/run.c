/*
 * Running translated code: the entry and exit routines (generated into
 * the code cache after each flush), chaining a block's direct exit to the
 * block that followed it, the indirect-branch cache, and the run loop's
 * two entry points (jit_exec, jit_step).
 */
#include <stdlib.h>
#include "tcg/jit/tr.h"

#define STUBS_SIZE 1024


static struct jit_state *jit_get(struct tcg_cpu *c)
{
	if (!c->jit) {
		struct jit_state *js = calloc(1, sizeof(struct jit_state));
		if (!js)
			qvm_die("tcg: out of memory for the JIT");
		__atomic_store_n(&c->jit, js, __ATOMIC_RELEASE);
		c->jit->stubs_flush = ~0ULL;
		memset(c->jit->ibtc, 0xff, sizeof(c->jit->ibtc));
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
	memset(js->ibtc, 0xff, sizeof(js->ibtc));
}

void jit_get_stats(const struct tcg_cpu *c, struct jit_stats *s)
{
	memset(s, 0, sizeof(*s));
	const struct jit_state *js = __atomic_load_n(&c->jit, __ATOMIC_ACQUIRE);
	if (!js)
		return;
	const uint64_t *from = (const uint64_t *)&js->st;
	uint64_t *to = (uint64_t *)s;
	for (size_t k = 0; k < sizeof(*s) / sizeof(uint64_t); k++)
		to[k] = __atomic_load_n(&from[k], __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* Runtime services called from generated code                         */

uint64_t jit_rt_flags(struct tcg_cpu *c)
{
	uint64_t f = tcg_arith_flags(c);
	tcg_set_arith_flags(c, f);      /* cheaper the next time */
	return (f & FL_ARITH) | 2;
}

/* The set of rip: two entries, the most recently entered first. */
static inline struct ibtc_entry *ibtc_set(struct jit_state *js, uint64_t rip)
{
	uint32_t low = (uint32_t)rip;
	return &js->ibtc[2 * (((low >> 12) ^ low) & (IBTC_SETS - 1))];
}

/* The indirect-branch cache missed (the generated code looked first):
 * the code of the block at c->s.rip for the key, from the block cache,
 * entered into the cache; NULL sends the vCPU back to the run loop. */
void *jit_rt_lookup(struct tcg_cpu *c, uint64_t key_tag)
{
	struct jit_state *js = c->jit;
	struct tcg_block *b = tcg_probe_block(c, (uint32_t)(key_tag >> 52), true);
	if (!b) {
		STAT_ADD(js->st.indirect_misses, 1);
		return NULL;
	}
	struct ibtc_entry *e = ibtc_set(js, c->s.rip);
	uint64_t tag = c->s.rip + key_tag;
	if (e[0].tag != tag)
		e[1] = e[0];
	e->tag = tag;
	e->code = b->code;
	e->phys_page = b->phys & ~0xfffULL;
	STAT_ADD(js->st.indirect_hits, 1);
	return b->code;
}

/* Empty the indirect-branch cache if what it assumed changed since. */
static void ibtc_validate(struct tcg_cpu *c, struct jit_state *js)
{
	uint64_t writes = __atomic_load_n(&tcg_code_writes, __ATOMIC_ACQUIRE);
	const struct x86_segment *cs = &c->s.seg[S_CS];
	if (js->ibtc_code_writes == writes &&
	    js->ibtc_cs_base == cs->base && js->ibtc_cs_limit == cs->limit)
		return;
	memset(js->ibtc, 0xff, sizeof(js->ibtc));
	js->ibtc_code_writes = writes;
	js->ibtc_cs_base = cs->base;
	js->ibtc_cs_limit = cs->limit;
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

	/* load_flags (called, rsp 16-aligned before the call): the lazy
	 * record into the host RFLAGS.  An EFLAGS record (what a spill leaves,
	 * and what handlers that change no flag keep) loads without a call:
	 * SF ZF AF PF CF by SAHF from bits 7:0, OF by adding 7f to 0 or 1.
	 * Any other record is computed by jit_rt_flags, loaded by POPFQ. */
	js->load_flags = e.p;
	uint8_t cmp = 0x81;
	emit_op(&e, 4, false, &cmp, 1, 7, CPU_MEM(cc_op), CC_OP_EFLAGS, 4);
	uint8_t *other = emit_jcc_rel32(&e, 5);
	emit_op2(&e, 4, 0xb7, H_RAX, CPU_MEM(cc_src));         /* movzx eax, word */
	emit_op1(&e, 4, 0x8b, H_RDX, rm_reg(H_RAX));
	uint8_t sh = 0xc1;
	emit_op(&e, 4, false, &sh, 1, 5, rm_reg(H_RDX), 11, 1); /* shr edx, 11 */
	emit_alu_imm(&e, 4, 4, rm_reg(H_RDX), 1);
	emit_op(&e, 4, false, &sh, 1, 4, rm_reg(H_RAX), 8, 1);  /* shl eax, 8 */
	emit_op1(&e, 1, 0x88, H_RDX, rm_reg(H_RAX));            /* mov al, dl */
	emit_alu_imm(&e, 1, 0, rm_reg(H_RAX), 0x7f);
	e8(&e, 0x9e);                                           /* sahf */
	e8(&e, 0xc3);
	emit_patch_rel32(other, e.p);
	emit_alu_imm(&e, 8, 5, rm_reg(H_RSP), 8);               /* realign */
	emit_op1(&e, 8, 0x8b, H_RDI, rm_reg(R_CPU));
	emit_call_abs(&e, (const void *)jit_rt_flags);
	emit_alu_imm(&e, 8, 0, rm_reg(H_RSP), 8);
	emit_push(&e, H_RAX);
	e8(&e, 0x9d);
	e8(&e, 0xc3);

	/* exit_next_mem: rip = next_rip, flags in c's record */
	js->exit_next_mem = e.p;
	emit_load(&e, 8, H_RAX, CPU_MEM(next_rip));
	emit_store(&e, 8, CPU_MEM(s.rip), H_RAX);
	emit_mov_imm(&e, H_RAX, 0);
	emit_jmp_to(&e, js->exit_mem);

	/* exit_indirect: rcx = the target rip, rsi = its key tag, r9 = the
	 * TLB to check it in (or 0), the flags in the host.  The cache first, without a call: the flags wait in
	 * r11 (lahf/seto) meanwhile */
	js->exit_indirect = e.p;
	emit_store(&e, 8, CPU_MEM(s.rip), H_RCX);
	emit_save_flags_r11(&e);
	emit_lea(&e, 8, H_RDX, (struct hmem){ H_RCX, H_RSI, 0, 0 });    /* the tag */
	/* the set: ((rip >> 12) ^ rip) & (IBTC_SETS - 1), two 32-byte
	 * entries each (ibtc_set) */
	emit_op1(&e, 4, 0x8b, H_RAX, rm_reg(H_RCX));
	uint8_t shl = 0xc1;
	emit_op(&e, 4, false, &shl, 1, 5, rm_reg(H_RAX), 12, 1);
	emit_op1(&e, 4, 0x33, H_RAX, rm_reg(H_RCX));
	emit_alu_imm(&e, 4, 4, rm_reg(H_RAX), IBTC_SETS - 1);
	emit_op(&e, 4, false, &shl, 1, 4, rm_reg(H_RAX), 6, 1);
	emit_mov_imm(&e, H_RDI, (uint64_t)(uintptr_t)js->ibtc);
	emit_op1(&e, 8, 0x3b, H_RDX, rm_sib(H_RDI, H_RAX, 0, 0));
	uint8_t *way0 = emit_jcc_rel32(&e, 4);                         /* je */
	emit_op1(&e, 8, 0x3b, H_RDX, rm_sib(H_RDI, H_RAX, 0, 32));
	uint8_t *miss = emit_jcc_rel32(&e, 5);
	emit_alu_imm(&e, 8, 0, rm_reg(H_RAX), 32);                      /* the second way */
	emit_patch_rel32(way0, e.p);
	/* the code TLB must still map the target's page to the block's
	 * physical page: r9 = the TLB of the block's privilege, 0 when the
	 * linear address is not rip (a CS base outside 64-bit mode) */
	emit_op1(&e, 8, 0x85, H_R9, rm_reg(H_R9));      /* test r9, r9 */
	uint8_t *miss2 = emit_jcc_rel32(&e, 4);
	tr_tlb_index(&e, H_RDX, H_RCX);
	emit_op1(&e, 8, 0x8b, H_R10, rm_reg(H_RCX));
	emit_alu_imm(&e, 8, 4, rm_reg(H_R10), -4096);
	emit_op1(&e, 8, 0x3b, H_R10, rm_sib(H_R9, H_RDX, 0, (int32_t)offsetof(struct tlb_entry, tag_code)));
	uint8_t *miss3 = emit_jcc_rel32(&e, 5);
	emit_load(&e, 8, H_R10, rm_sib(H_R9, H_RDX, 0, (int32_t)offsetof(struct tlb_entry, phys)));
	emit_op1(&e, 8, 0x3b, H_R10, rm_sib(H_RDI, H_RAX, 0, 16));
	uint8_t *miss4 = emit_jcc_rel32(&e, 5);
	emit_load(&e, 8, H_RDX, rm_sib(H_RDI, H_RAX, 0, 8));
	emit_restore_flags_r11(&e);
	e8(&e, 0xff);
	e8(&e, 0xe2);                                   /* jmp rdx */
	/* miss: the block cache, through C, the flags kept in rbx and in
	 * c's record (the code TLB may be filled: a #PF there is the
	 * target's, delivered from the run loop) */
	emit_patch_rel32(miss, e.p);
	emit_patch_rel32(miss2, e.p);
	emit_patch_rel32(miss3, e.p);
	emit_patch_rel32(miss4, e.p);
	emit_restore_flags_r11(&e);
	e8(&e, 0x9c);
	emit_pop(&e, H_RBX);
	emit_store(&e, 8, CPU_MEM(cc_src), H_RBX);
	uint8_t movd = 0xc7;
	emit_op(&e, 4, false, &movd, 1, 0, CPU_MEM(cc_op), CC_OP_EFLAGS, 4);
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
	STAT_ADD(js->st.enters, 1);
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
	ibtc_validate(c, js);
	struct jit_slot *s = js->pending;
	if (s && linkable(s, b)) {
		emit_patch_rel32(s->jmp_field, b->code);
		STAT_ADD(js->st.chains, 1);
	}
	run_code(c, js, b->code);
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
