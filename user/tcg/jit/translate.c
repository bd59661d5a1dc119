/*
 * The block translator's driver: flag liveness over the block, the
 * block entry (exit requests, instruction count), helper calls into the
 * interpreter for instructions without a generator, guest memory through
 * the inline TLB check, exits, and the out-of-line slow paths.
 *
 * A slow path runs the whole instruction in the interpreter: the fast
 * path changes no guest state before its last TLB check, so the handler
 * starts from the state the instruction began in, and its faults are
 * precise (rip and the lazy flags are stored first).
 */
#include <stdlib.h>
#include "tcg/jit/tr.h"

#define PAGE_MASK_4K (~0xfffULL)

/* ------------------------------------------------------------------ */
/* Flags                                                               */

/* pushfq; pop qword [r15 + cc_src]; mov dword [r15 + cc_op], EFLAGS.
 * cc_src keeps the other RFLAGS bits too: the EFLAGS record is masked
 * when read (flags.c). */
static void emit_spill_flags(struct emit *e)
{
	e8(e, 0x9c);
	emit_op1(e, 4, 0x8f, 0, CPU_MEM(cc_src));       /* pop r/m64 (no REX.W needed) */
	uint8_t op = 0xc7;
	emit_op(e, 4, false, &op, 1, 0, CPU_MEM(cc_op), CC_OP_EFLAGS, 4);
}

/* The lazy record into the host RFLAGS: a call of the shared routine
 * (run.c), in the same code cache, so rel32. */
static void emit_load_flags(struct tr *t, struct emit *e)
{
	t->memo_live = false;   /* the routine may call C: r9 goes */
	e8(e, 0xe8);
	uint8_t *f = e->p;
	e32(e, 0);
	if (!e->full)
		emit_patch_rel32(f, jit_of(t->c)->load_flags);
}

void tr_flags_to_mem(struct tr *t)
{
	if ((t->fstate & F_HOST) && !(t->fstate & F_MEM)) {
		emit_spill_flags(&t->e);
		t->fstate |= F_MEM;
	}
}

void tr_flags_to_host(struct tr *t)
{
	if (!(t->fstate & F_HOST)) {
		emit_load_flags(t, &t->e);
		t->fstate |= F_HOST;
	}
}

void tr_flags_for_native(struct tr *t, unsigned freads, unsigned fwrites)
{
	(void)freads, (void)fwrites;    /* t->need has them (translate_insn) */
	if (t->need & FLAGS_ALL)
		tr_flags_to_host(t);
}

void tr_flags_written(struct tr *t, unsigned fwrites)
{
	if (fwrites & FLAGS_ALL)
		t->fstate = F_HOST;
}

/* lahf; seto al; mov r11d, eax -- and back: mov eax, r11d; add al, 7f;
 * sahf (OF from the add: 1 + 7f overflows, 0 + 7f does not). */
void emit_save_flags_r11(struct emit *e)
{
	e8(e, 0x9f);
	emit_op2(e, 1, 0x90, 0, rm_reg(H_RAX));
	emit_op1(e, 4, 0x89, H_RAX, rm_reg(H_R11));
}

void emit_restore_flags_r11(struct emit *e)
{
	emit_op1(e, 4, 0x8b, H_RAX, rm_reg(H_R11));
	emit_alu_imm(e, 1, 0, rm_reg(H_RAX), 0x7f);
	e8(e, 0x9e);
}

/* ------------------------------------------------------------------ */
/* Guest memory                                                        */

struct hrm tr_greg(struct tr *t, unsigned r, unsigned size)
{
	int32_t off = CPU_OFF(s.regs[0]);
	if (size == 1 && is_high_byte(t->i, r)) {
		if (t->cache_host[r - 4] >= 0)
			t->cache_conflict = true;       /* regcache.c missed it */
		return rm_mem(R_CPU, off + (int32_t)(r - 4) * 8 + 1);
	}
	if (t->cache_host[r] >= 0)
		return rm_reg(t->cache_host[r]);
	return rm_mem(R_CPU, off + (int32_t)r * 8);
}

static void store_for_exit(struct tr *t)
{
	if (!t->exit_stored)
		regcache_store(t, &t->e);
}

/* A segment the fast path may use: any in 64-bit mode (FS/GS add their
 * base), a flat one (block.h) in the others. */
bool tr_seg_ok(const struct tr *t, int seg)
{
	if (tr_code64(t))
		return true;
	if (seg == S_CS)
		return false;
	return t->b->key & KEY_FLAT(seg);
}

static struct cold *cold_add(struct tr *t, uint8_t *branch)
{
	if (t->ncold >= MAX_COLD) {
		t->e.full = true;
		return &t->cold[0];
	}
	struct cold *cd = &t->cold[t->ncold++];
	memset(cd, 0, sizeof(*cd));
	t->memo_live = false;   /* the slow path resumes with r9 clobbered */
	cd->kind = COLD_SLOW;
	cd->branch = branch;
	cd->k = t->k;
	cd->fstate_before = t->fstate;
	cd->flags_in_r11 = t->flags_saved;
	return cd;
}

void tr_tlb_index(struct emit *e, int dst, int src)
{
	/* bits 21:12 of the address to bits 15:6: with BMI2 one rotate
	 * right by 6 into dst, else a copy and a shift */
	unsigned shift = 12 - TLB_ENTRY_SHIFT;
	if (emit_host_bmi2()) {
		emit_rorx32(e, dst, src, (uint8_t)shift);
	} else {
		emit_op1(e, 4, 0x8b, (unsigned)dst, rm_reg(src));
		uint8_t shr = 0xc1;
		emit_op(e, 4, false, &shr, 1, 5, rm_reg(dst), shift, 1);
	}
	emit_alu_imm(e, 4, 4, rm_reg(dst), (int64_t)(TLB_SIZE - 1) << TLB_ENTRY_SHIFT);
}

/* The TLB check of tr_mem_check; returns the rel32 field of its jne
 * (the miss), which the caller points somewhere. */
static uint8_t *emit_tlb_check(struct tr *t, unsigned size, enum access acc)
{
	struct emit *e = &t->e;
	int32_t tlb = CPU_OFF(tlb[tr_data_kind(t)][0]);
	int32_t tag = acc == ACC_WRITE ? (int32_t)offsetof(struct tlb_entry, tag_write)
				       : (int32_t)offsetof(struct tlb_entry, tag_read);
	tr_tlb_index(e, H_RAX, H_RSI);
	/* rdx = the page of the last byte: an access that crosses a page
	 * misses, as does one that wraps at 4 GiB outside 64-bit mode */
	unsigned asz = tr_code64(t) ? 8 : 4;
	emit_lea(e, asz, H_RDX, (struct hmem){ H_RSI, H_NONE, 0, (int32_t)size - 1 });
	emit_alu_imm(e, asz, 4, rm_reg(H_RDX), -4096);
	emit_op1(e, 8, 0x3b, H_RDX, rm_sib(H_R15, H_RAX, 0, tlb + tag));
	uint8_t *br = emit_jcc_rel32(e, 5);     /* jne miss */
	emit_op1(e, 8, 0x03, H_RSI,
		 rm_sib(H_R15, H_RAX, 0, tlb + (int32_t)offsetof(struct tlb_entry, addend)));
	return br;
}

void tr_mem_check(struct tr *t, unsigned size, enum access acc)
{
	uint8_t *br = emit_tlb_check(t, size, acc);
	cold_add(t, br);
}

/* rsi = the linear address of i's memory operand, with no host flag
 * changed (lea and mov only). */
/* The host register holding guest register r for an address: its own
 * when held, else scratch, loaded. */
static int addr_reg(struct tr *t, unsigned r, int scratch)
{
	struct hrm g = tr_greg(t, r, 8);
	if (!g.mem)
		return g.reg;
	emit_load(&t->e, 8, scratch, g);
	return scratch;
}

void tr_ea(struct tr *t)
{
	const struct insn *i = t->i;
	struct emit *e = &t->e;
	if (i->rip_rel) {
		emit_mov_imm(e, H_RSI, (t->next_rip + (int64_t)i->disp) & (i->asz == 8 ? ~0ULL : 0xffffffffULL));
	} else if (i->base == NO_REG && i->index == NO_REG) {
		emit_mov_imm(e, H_RSI, (uint64_t)(int64_t)i->disp & size_mask(i->asz));
	} else {
		/* base and index held in host registers are used in place */
		struct hmem m = { H_NONE, H_NONE, i->scale, i->disp };
		if (i->base != NO_REG)
			m.base = (int8_t)addr_reg(t, i->base, H_RSI);
		if (i->index != NO_REG)
			m.index = (int8_t)addr_reg(t, i->index, H_RAX);
		if (!(m.base == H_RSI && m.index == H_NONE && m.disp == 0 && i->asz == 8))
			emit_lea(e, i->asz == 8 ? 8 : 4, H_RSI, m);
		if (i->asz == 2)
			emit_op2(e, 4, 0xb7, H_RSI, rm_reg(H_RSI));     /* movzx esi, si */
	}
}

static void emit_linear(struct tr *t)
{
	const struct insn *i = t->i;
	struct emit *e = &t->e;
	tr_ea(t);
	if (tr_code64(t) && (i->seg == S_FS || i->seg == S_GS)) {
		emit_load(e, 8, H_RAX, CPU_MEM(s.seg[i->seg].base));
		emit_lea(e, 8, H_RSI, (struct hmem){ H_RSI, H_RAX, 0, 0 });
	}
}

void tr_slow_if(struct tr *t, unsigned cc)
{
	cold_add(t, emit_jcc_rel32(&t->e, cc));
}

void tr_save_flags(struct tr *t)
{
	if (!t->flags_saved && (t->fstate & F_HOST) && (t->need & FLAGS_ALL)) {
		emit_save_flags_r11(&t->e);
		t->flags_saved = true;
	}
}

/* Does the access of size bytes for acc lie in the span role checks? */
static bool memo_covers(const struct tr *t, const struct memo_role *r, unsigned size,
			enum access acc)
{
	int64_t first = t->i->disp, last = first + size - 1;
	return first >= r->lo && last <= r->hi && (acc != ACC_WRITE || r->write);
}

/* rsi = the linear address base + lo of a group whose leader is i */
static void memo_span_start(struct tr *t, const struct insn *i, const struct memo_role *r)
{
	int base = addr_reg(t, i->base, H_RSI);
	emit_lea(&t->e, 8, H_RSI, (struct hmem){ (int8_t)base, H_NONE, 0, r->lo });
}

/* r9 = the host address of base + lo of the group led by i, when the TLB
 * has the span; miss: the rel32 field of the jne taken otherwise. */
static uint8_t *memo_check(struct tr *t, const struct insn *i, const struct memo_role *r)
{
	memo_span_start(t, i, r);
	uint8_t *miss = emit_tlb_check(t, (unsigned)(r->hi - r->lo + 1),
				       r->write ? ACC_WRITE : ACC_READ);
	emit_op1(&t->e, 8, 0x8b, H_R9, rm_reg(H_RSI));
	return miss;
}

/* A same-page group's leader (memo.c): one check for the group's span,
 * r9 = the host address of base + lo, rsi = this access's. */
static void memo_lead(struct tr *t, const struct memo_role *r)
{
	struct emit *e = &t->e;
	struct cold *cd = cold_add(t, memo_check(t, t->i, r));
	cd->memo = *r;
	if (t->i->disp != r->lo)
		emit_lea(e, 8, H_RSI, (struct hmem){ H_R9, H_NONE, 0, t->i->disp - r->lo });
	t->memo_live = true;
	t->memo_leader = t->k;
}

bool tr_mem_operand(struct tr *t, unsigned size, enum access acc)
{
	if (!tr_seg_ok(t, t->i->seg))
		return false;
	if (!tr_code64(t) && t->i->asz == 2)
		return false;   /* 16-bit addressing: the interpreter */
	const struct memo_role *r = &t->memo[t->k];
	if (r->role == MEMO_FOLLOWER && t->memo_live && t->memo_leader == r->leader &&
	    memo_covers(t, r, size, acc)) {
		emit_lea(&t->e, 8, H_RSI, (struct hmem){ H_R9, H_NONE, 0, t->i->disp - r->lo });
		t->grouped++;
		return true;
	}
	tr_save_flags(t);
	if (r->role == MEMO_LEADER && memo_covers(t, r, size, acc)) {
		memo_lead(t, r);
		return true;
	}
	emit_linear(t);
	tr_mem_check(t, size, acc);
	return true;
}

/* tr_mem_operand for an operand whose linear address must be a multiple
 * of align (a power of two: SSE's 16-byte operands, SDM Vol. 1, 11.6.8):
 * a misaligned one takes the slow path, where the interpreter raises
 * #GP(0).  (A separate service for gen-sse.c.) */
bool tr_mem_operand_aligned(struct tr *t, unsigned size, enum access acc, unsigned align)
{
	if (!tr_seg_ok(t, t->i->seg))
		return false;
	if (!tr_code64(t) && t->i->asz == 2)
		return false;
	tr_save_flags(t);
	emit_linear(t);
	uint8_t test = 0xf7;            /* test esi, align - 1; jnz slow */
	emit_op(&t->e, 4, false, &test, 1, 0, rm_reg(H_RSI), align - 1, 4);
	tr_slow_if(t, 5);
	tr_mem_check(t, size, acc);
	return true;
}

void tr_mem_done(struct tr *t)
{
	if (t->flags_saved)
		emit_restore_flags_r11(&t->e);
	t->flags_saved = false;
}

/* The width of native stack accesses: 8 in 64-bit mode, 4 with a flat
 * 32-bit SS, else 0 (the interpreter handles them). */
unsigned tr_stack_width(const struct tr *t)
{
	if (tr_code64(t))
		return 8;
	if ((t->b->key & KEY_SS32) && (t->b->key & KEY_FLAT(S_SS)))
		return 4;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Exits                                                               */

bool tr_target_ok(const struct tr *t, uint64_t target)
{
	if (tr_code64(t))
		return canonical(target);
	return target <= t->b->cs_limit;
}

static uint64_t lin_page(const struct tr *t, uint64_t rip)
{
	uint64_t lin = t->b->cs_base + rip;
	if (!tr_code64(t))
		lin &= 0xffffffffULL;
	return lin & PAGE_MASK_4K;
}

/* mov eax, 0 (not xor: the guest flags are in the host RFLAGS) */
static void emit_ret0(struct emit *e)
{
	emit_mov_imm(e, H_RAX, 0);
}

/* rsi = the key tag, r9 = the TLB the target's page is checked in (0:
 * no check possible, the lookup goes to C) for exit_indirect (run.c);
 * no flag changes. */
static void emit_ibtc_args(struct tr *t)
{
	struct emit *e = &t->e;
	emit_mov_imm(e, H_RSI, ibtc_key_tag(t->b->key));
	if (!tr_code64(t) && t->b->cs_base) {
		emit_mov_imm(e, H_R9, 0);
		return;
	}
	bool user = tr_cpl(t) == 3;
	emit_lea(e, 8, H_R9, (struct hmem){ R_CPU, H_NONE, 0,
					    CPU_OFF(tlb[user ? MMU_USER : MMU_SUPER][0]) });
}

/* A jump back to the block's own start (a loop of one block, t->loops)
 * goes to its loop head, after the entry's loads (emit_entry): the held
 * registers stay in their host registers and the guest flags in the
 * host RFLAGS. */
static bool self_loop(const struct tr *t, uint64_t target)
{
	return t->loops && target == t->b->rip && t->loop_head;
}

static void tr_exit_self(struct tr *t)
{
	tr_flags_to_host(t);
	emit_jmp_to(&t->e, t->loop_head);
	t->self_looped = true;
}

void tr_exit_direct(struct tr *t, uint64_t target)
{
	if (self_loop(t, target)) {
		tr_exit_self(t);
		return;
	}
	struct emit *e = &t->e;
	struct jit_state *js = jit_of(t->c);
	tr_flags_to_host(t);
	store_for_exit(t);
	if (t->chain && lin_page(t, target) == lin_page(t, t->b->rip) && t->nslots < 2) {
		struct jit_slot *s = &t->slots[t->nslots++];
		uint8_t *f = emit_jmp_rel32(e);         /* patched when chained */
		emit_patch_rel32(f, e->p);
		s->jmp_field = f;
		s->target_rip = target;
		s->from = t->b;
		emit_store_imm64(e, CPU_MEM(s.rip), target, H_RAX);
		emit_mov_imm(e, H_RAX, (uint64_t)(uintptr_t)s);
		emit_jmp_to(e, js->exit_host);
		return;
	}
	if (t->chain) {
		emit_mov_imm(e, H_RCX, target);
		emit_ibtc_args(t);
		emit_jmp_to(e, js->exit_indirect);
	} else {
		emit_store_imm64(e, CPU_MEM(s.rip), target, H_RAX);
		emit_ret0(e);
		emit_jmp_to(e, js->exit_host);
	}
}

void tr_exit_indirect(struct tr *t, int reg)
{
	struct emit *e = &t->e;
	struct jit_state *js = jit_of(t->c);
	tr_flags_to_host(t);
	store_for_exit(t);
	if (t->chain) {
		if (reg != H_RCX)
			emit_op1(e, 8, 0x8b, H_RCX, rm_reg(reg));
		emit_ibtc_args(t);
		emit_jmp_to(e, js->exit_indirect);
	} else {
		emit_store(e, 8, CPU_MEM(s.rip), reg);
		emit_ret0(e);
		emit_jmp_to(e, js->exit_host);
	}
}

void tr_exit_cond(struct tr *t, unsigned cc, uint64_t target)
{
	tr_flags_to_host(t);
	if (self_loop(t, target)) {
		/* the loop's edge: one Jcc to the loop head, no stores; the
		 * way out stores them */
		tr_flags_to_host(t);
		emit_patch_rel32(emit_jcc_rel32(&t->e, cc), t->loop_head);
		t->self_looped = true;
		tr_exit_direct(t, t->next_rip);
		return;
	}
	if (self_loop(t, t->next_rip)) {
		/* the loop's edge keeps the registers: each way stores them
		 * for itself */
		uint8_t *taken = emit_jcc_rel32(&t->e, cc);
		tr_exit_direct(t, t->next_rip);
		emit_patch_rel32(taken, t->e.p);
		tr_exit_direct(t, target);
		return;
	}
	store_for_exit(t);
	t->exit_stored = true;
	uint8_t *taken = emit_jcc_rel32(&t->e, cc);
	tr_exit_direct(t, t->next_rip);
	emit_patch_rel32(taken, t->e.p);
	tr_exit_direct(t, target);
	t->exit_stored = false;
}

/* ------------------------------------------------------------------ */
/* Helper calls: the interpreter's handler for one instruction         */

static void emit_handler_call(struct emit *e, const struct tr *t, unsigned k, uint64_t rip,
			      uint64_t next)
{
	const struct insn *i = &t->b->insns[k];
	emit_store_imm64(e, CPU_MEM(s.rip), rip, H_RAX);
	emit_store_imm64(e, CPU_MEM(next_rip), next, H_RAX);
	emit_op1(e, 8, 0x8b, H_RDI, rm_reg(R_CPU));
	emit_mov_imm(e, H_RSI, (uint64_t)(uintptr_t)i);
	emit_call_abs(e, (const void *)i->fn);
}

/* movzx eax, byte [r15 + stop]; test eax, eax; jnz exit_next_mem */
static void emit_stop_check(struct tr *t)
{
	struct emit *e = &t->e;
	emit_op2(e, 4, 0xb6, H_RAX, CPU_MEM(stop));
	emit_op1(e, 4, 0x85, H_RAX, rm_reg(H_RAX));
	emit_patch_rel32(emit_jcc_rel32(e, 5), jit_of(t->c)->exit_next_mem);
}

/* Instructions after which the block must go back to the run loop: they
 * may change what the translation key or the chaining assumed (segment
 * loads, POPF's TF, descriptor tables and TLB).  CLI and STI need not:
 * STI sets c->stop itself when an interrupt waits (system.c). */
static bool forces_exit(const struct insn *i)
{
	if (i->ends_block)
		return true;
	if (i->map == MAP_1B) {
		switch (i->op) {
		case 0x07: case 0x17: case 0x1f: case 0x8e: case 0x9d:
		case 0xc4: case 0xc5:
			return true;
		}
	} else if (i->map == MAP_0F) {
		switch (i->op) {
		case 0x01:      /* group 7 but SWAPGS, RDTSCP (decode.c) */
			return i->ends_block;
		case 0x00: case 0xa1: case 0xa9: case 0xb2: case 0xb4: case 0xb5:
		case 0x22: case 0x30:
			return true;
		}
	}
	return false;
}

static void emit_helper(struct tr *t)
{
	struct emit *e = &t->e;
	t->memo_live = false;
	tr_flags_to_mem(t);
	regcache_store(t, e);
	emit_handler_call(e, t, t->k, t->rip, t->next_rip);
	t->fstate = F_MEM;
	t->helpers++;
	if (forces_exit(t->i)) {
		emit_jmp_to(e, jit_of(t->c)->exit_next_mem);
		t->ended = true;
		return;
	}
	emit_stop_check(t);
	/* STI went on (no interrupt waits): its shadow covers the next
	 * instruction, which follows here with no interrupt check in
	 * between, so the run loop need not see it.  After the last
	 * instruction of a block the loop does (exec.c). */
	if (t->i->map == MAP_1B && t->i->op == 0xfb && t->k + 1 < t->n)
		emit_op(e, 1, false, (const uint8_t[]){ 0xc6 }, 1, 0, CPU_MEM(inhibit_irq), 0, 1);
	regcache_load(t, e);
}

/* ------------------------------------------------------------------ */
/* The block                                                           */

/* mov ecx, [r15 + exit_request]; jrcxz +5; J: jmp (returned, to patch):
 * no flag changes, the guest flags are in the host RFLAGS.
 * In kqemu's stretch (budget) the block also counts itself against the
 * user blocks the stretch has left, as the run loop does for the
 * interpreter's (tcg_kqemu_leave), and leaves through J when none is:
 *   mov ecx, [r15 + kqemu_blocks]; jrcxz J; lea rcx, [rcx - 1];
 *   mov [r15 + kqemu_blocks], ecx
 * so blocks of the stretch chain and loop as others do, and the run
 * loop then finds the count at 0 and sends the vCPU back to native
 * execution. */
static uint8_t *emit_exit_check(struct emit *e, bool budget)
{
	emit_load(e, 4, H_RCX, CPU_MEM(exit_request));
	e8(e, 0xe3);
	e8(e, 5);
	uint8_t *field = emit_jmp_rel32(e);
	if (budget) {
		emit_load(e, 4, H_RCX, CPU_MEM(kqemu_blocks));
		e8(e, 0xe3);
		e8(e, (uint8_t)(int8_t)((field - 1) - (e->p + 1)));
		emit_lea(e, 8, H_RCX, (struct hmem){ H_RCX, H_NONE, 0, -1 });
		emit_store(e, 4, CPU_MEM(kqemu_blocks), H_RCX);
	}
	return field;
}

/* c->insns += n: an ADD where the block's first flag reads come after
 * writes (the flags are dead at its start), else with LEA (no flag
 * changes) */
static void emit_count(struct tr *t)
{
	struct emit *e = &t->e;
	if (!t->live_in) {
		emit_alu_imm(e, 8, 0, CPU_MEM(insns), t->n);
		return;
	}
	emit_load(e, 8, H_RCX, CPU_MEM(insns));
	emit_lea(e, 8, H_RCX, (struct hmem){ H_RCX, H_NONE, 0, (int32_t)t->n });
	emit_store(e, 8, CPU_MEM(insns), H_RCX);
}

/* The entry: leave on an exit request (not in a single step, jit_step),
 * count the instructions, load the held registers.  A block that loops
 * to itself loads them first: its loop head, where the edge jumps back,
 * is the request check, and leaving from there stores them. */
static void emit_entry(struct tr *t, uint8_t **exit_branch)
{
	struct emit *e = &t->e;
	*exit_branch = NULL;
	t->loop_exit = NULL;
	t->loop_head = NULL;
	if (t->loops) {
		regcache_load(t, e);
		t->loop_head = e->p;
		t->loop_exit = emit_exit_check(e, tr_kqemu_stretch(t));
		emit_count(t);
		return;
	}
	if (t->chain)
		*exit_branch = emit_exit_check(e, tr_kqemu_stretch(t));
	emit_count(t);
	regcache_load(t, e);
}

/* After the interpreter ran a group's leader (which filled the TLB for
 * its own access): the group's check once more, r9 set on a hit; a miss
 * (a span across pages, a page not writable yet) leaves the block, for
 * the followers rely on r9.  The guest flags wait in r11 meanwhile. */
static void memo_recheck(struct tr *t, const struct cold *cd)
{
	struct emit *e = &t->e;
	const struct insn *leader = &t->b->insns[cd->k];
	bool flags = cd->fstate_after & F_HOST;
	if (cd->memo.write) {
		/* a leader that reads filled the entry for reading only: the
		 * writing one, if that is quiet (the followers' stores set A
		 * and D anyway, and nothing in between can fault) */
		memo_span_start(t, leader, &cd->memo);
		emit_op1(e, 8, 0x8b, H_RDI, rm_reg(R_CPU));
		emit_mov_imm(e, H_RDX, ACC_WRITE);
		emit_mov_imm(e, H_RCX, tr_data_kind(t));
		emit_call_abs(e, (const void *)tcg_tlb_fill_quiet);
	}
	if (flags) {
		emit_load_flags(t, e);
		emit_save_flags_r11(e);
	}
	uint8_t *miss = memo_check(t, leader, &cd->memo);
	if (flags)
		emit_restore_flags_r11(e);
	emit_patch_rel32(miss, jit_of(t->c)->exit_next_mem);
}

static void emit_cold(struct tr *t, uint8_t *entry_exit)
{
	struct emit *e = &t->e;
	struct jit_state *js = jit_of(t->c);
	/* the exit request at the loop head: the registers go back first */
	if (t->loop_exit) {
		emit_patch_rel32(t->loop_exit, e->p);
		regcache_store(t, e);
		emit_store_imm64(e, CPU_MEM(s.rip), t->b->rip, H_RAX);
		emit_ret0(e);
		emit_jmp_to(e, js->exit_host);
	}
	/* the exit request at entry: rip is the block's */
	if (entry_exit) {
		emit_patch_rel32(entry_exit, e->p);
		emit_store_imm64(e, CPU_MEM(s.rip), t->b->rip, H_RAX);
		emit_ret0(e);
		emit_jmp_to(e, js->exit_host);
	}

	for (unsigned n = 0; n < t->ncold; n++) {
		struct cold *cd = &t->cold[n];
		emit_patch_rel32(cd->branch, e->p);
		if (cd->flags_in_r11) {
			emit_restore_flags_r11(e);
			if (!(cd->fstate_before & F_MEM))
				emit_spill_flags(e);
		}
		uint64_t rip = t->b->rip, next;
		for (unsigned k = 0; k < cd->k; k++)
			rip = (rip + t->b->insns[k].len) & t->rip_mask;
		next = (rip + t->b->insns[cd->k].len) & t->rip_mask;
		regcache_store(t, e);
		emit_handler_call(e, t, cd->k, rip, next);
		if (forces_exit(&t->b->insns[cd->k])) {
			/* a control transfer: the handler chose the next rip */
			emit_jmp_to(e, js->exit_next_mem);
			continue;
		}
		emit_op2(e, 4, 0xb6, H_RAX, CPU_MEM(stop));
		emit_op1(e, 4, 0x85, H_RAX, rm_reg(H_RAX));
		emit_patch_rel32(emit_jcc_rel32(e, 5), js->exit_next_mem);
		regcache_load(t, e);
		if (cd->memo.role == MEMO_LEADER)
			memo_recheck(t, cd);    /* the flags too */
		else if (cd->fstate_after & F_HOST)
			emit_load_flags(t, e);
		emit_jmp_to(e, cd->resume);
	}
}

static void liveness(struct tr *t, const struct gen_info *gi)
{
	unsigned live = FLAGS_ALL;
	for (int k = (int)t->n - 1; k >= 0; k--) {
		t->live_out[k] = live;
		if (gi[k].gen && gi[k].fmaybe)
			live = gi[k].freads | (live ? FLAGS_ALL : 0);
		else if (gi[k].gen)
			live = gi[k].freads | (live & ~gi[k].fwrites);
		else
			live = FLAGS_ALL;
	}
	t->live_in = live;
}

static void translate_insn(struct tr *t, const struct gen_info *gi)
{
	if (gi->fmaybe)
		t->need = gi->freads | (t->live_out[t->k] ? FLAGS_ALL : 0);
	else
		t->need = gi->freads | (t->live_out[t->k] & ~gi->fwrites);
	t->flags_saved = false;
	t->cold_first = t->ncold;
	if (gi->gen) {
		uint8_t *start = t->e.p;
		uint8_t fstate = t->fstate;
		unsigned nslots = t->nslots;
		bool avx_checked = t->avx_checked;
		if (gi->gen(t)) {
			t->native++;
			for (unsigned n = t->cold_first; n < t->ncold; n++) {
				t->cold[n].resume = t->e.p;
				t->cold[n].fstate_after = t->fstate;
			}
			return;
		}
		/* the generator declined: undo what it emitted */
		t->memo_live = false;
		t->e.p = start;
		t->fstate = fstate;
		t->ncold = t->cold_first;
		t->nslots = nslots;
		t->ended = false;
		t->avx_checked = avx_checked;
	}
	emit_helper(t);
}

static void emit_block(struct tr *t, const struct gen_info *gi, uint8_t *code, size_t cap)
{
	const struct tcg_block *b = t->b;
	t->e = (struct emit){ code, code + cap, false };
	t->ncold = 0;
	t->nslots = 0;
	t->ended = false;
	t->exit_stored = false;
	t->self_looped = false;
	t->cache_conflict = false;
	t->native = t->helpers = t->grouped = 0;
	t->memo_live = false;
	t->avx_checked = false;
	t->loops = t->chain && jit_block_loops(t);
	regcache_choose(t, gi);

	uint8_t *entry_exit;
	emit_entry(t, &entry_exit);
	t->fstate = F_HOST;
	uint64_t rip = b->rip;
	for (unsigned k = 0; k < t->n && !t->ended; k++) {
		t->k = k;
		t->i = &b->insns[k];
		t->rip = rip;
		t->next_rip = (rip + t->i->len) & t->rip_mask;
		translate_insn(t, &gi[k]);
		rip = t->next_rip;
	}
	if (!t->ended)
		tr_exit_direct(t, rip);
	emit_cold(t, entry_exit);
}

bool jit_translate(struct tcg_cpu *c, struct tcg_block *b, unsigned n, bool chain)
{
	struct jit_state *js = jit_of(c);
	/* room for the usual block; one that outgrows it is translated once
	 * more with the worst case (every instruction with three slow paths) */
	size_t cap = (size_t)n * 400 + 1024, worst = (size_t)n * 1200 + 1024;
	if (tcg_cache_room(c) < worst + 2 * sizeof(struct jit_slot) + 64)
		return false;
	struct tr *t = calloc(1, sizeof(*t));
	if (!t)
		return false;
	t->c = c;
	t->b = b;
	t->n = n;
	t->chain = chain;
	t->rip_mask = b->code_bits == 64 ? ~0ULL : b->code_bits == 32 ? 0xffffffffULL : 0xffff;
	t->slots = tcg_cache_alloc(c, 2 * sizeof(struct jit_slot));
	uint8_t *code = tcg_cache_alloc(c, cap);

	struct gen_info gi[BLOCK_MAX_INSNS];
	for (unsigned k = 0; k < n; k++)
		jit_classify(t, &b->insns[k], &gi[k]);
	liveness(t, gi);
	memo_plan(t, gi);
	emit_block(t, gi, code, cap);
	if (t->cache_conflict) {
		t->no_regcache = true;
		emit_block(t, gi, code, cap);
	}
	if (t->e.full && t->ncold < MAX_COLD) {
		tcg_cache_trim(c, code, cap, 0);
		cap = worst;
		code = tcg_cache_alloc(c, cap);
		emit_block(t, gi, code, cap);
	}

	bool ok = !t->e.full;
	if (ok) {
		b->code = code;
		tcg_cache_trim(c, code, cap, (size_t)(t->e.p - code));
		jit_perfmap_add(code, (size_t)(t->e.p - code), b->rip, b->key);
		STAT_ADD(js->st.blocks, 1);
		STAT_ADD(js->st.native_insns, t->native);
		STAT_ADD(js->st.helper_insns, t->helpers);
		STAT_ADD(js->st.code_bytes, (uint64_t)(t->e.p - code));
		STAT_ADD(js->st.self_loops, t->self_looped);
		STAT_ADD(js->st.grouped, t->grouped);
	} else {
		b->jit_failed = true;
		STAT_ADD(js->st.failed, 1);
	}
	free(t);
	return ok;
}
