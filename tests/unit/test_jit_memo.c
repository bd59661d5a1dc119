/*
 * The JIT's same-page groups (user/tcg/jit/memo.c): memory operands
 * through one base register share the first one's TLB check.  The
 * results are the interpreter's; a span that crosses a page, a fault in
 * a later member, a base register written in between, a load into the
 * base and a store into the block's own code all stay exact.  Long mode,
 * run through tcg_exec with the JIT, each case also with it off.
 */
#include "unit.h"
#include "tcgtest.h"
#include "tcg/jit/jit.h"
#include "accel.h"

#define CODE 0x100000ULL
#define DATA 0x200000ULL
#define HANDLER 0x180000ULL
#define IDT 0x190000ULL
#define GDT 0x1a0000ULL
#define STACK 0x300000ULL

static uint64_t grouped(const struct tcg_cpu *c)
{
	struct jit_stats s;
	jit_get_stats(c, &s);
	return s.grouped;
}

/* Runs to HLT; false if it does not get there. */
static bool run(struct tcg_env *e)
{
	for (int guard = 0; guard < 100 && !e->c->halted; guard++)
		tcg_exec(e->c);
	return e->c->halted;
}

/* mov rax,[rdi]; add rax,[rdi+8]; mov [rdi+16],rax; lea rcx,[rax+1];
 * mov rbx,[rdi+24]; mov [rdi+32],rcx; hlt */
static const uint8_t sums[] = {
	0x48, 0x8b, 0x07, 0x48, 0x03, 0x47, 0x08, 0x48, 0x89, 0x47, 0x10,
	0x48, 0x8d, 0x48, 0x01, 0x48, 0x8b, 0x5f, 0x18, 0x48, 0x89, 0x4f, 0x20, 0xf4,
};

/* dirty: the data's 2 MiB page has A and D set already (a page the
 * guest has written), so the first run's slow path can fill the TLB
 * entry for writing quietly and keep the group; else the group's first
 * run leaves the block after its leader, which reads, and the rest runs
 * as blocks of their own. */
static void group_results(bool jit, bool dirty)
{
	struct tcg_env e;
	CHECK(tcg_env_long_code(&e, CODE, sums, sizeof(sums), jit));
	if (dirty) {
		tcg_env_put64(&e, TCGT_PML4 + 0x2000 + 8, DATA | 0xe7);
		tcg_tlb_flush_all(e.c);
	}
	tcg_env_put64(&e, DATA, 5);
	tcg_env_put64(&e, DATA + 8, 7);
	tcg_env_put64(&e, DATA + 24, 0x1234);
	e.c->s.regs[R_RDI] = DATA;
	CHECK(run(&e));
	CHECK_EQ(e.c->s.regs[R_RAX], 12);
	CHECK_EQ(e.c->s.regs[R_RCX], 13);
	CHECK_EQ(e.c->s.regs[R_RBX], 0x1234);
	CHECK_EQ(tcg_env_get64(&e, DATA + 16), 12);
	CHECK_EQ(tcg_env_get64(&e, DATA + 32), 13);
	/* five operands through rdi: the first checks, four follow (and
	 * without D, two more blocks with 3 and 2 followers) */
	CHECK_EQ(grouped(e.c), (uint64_t)(!jit ? 0 : dirty ? 4 : 9));
	tcg_env_free(&e);
}

TEST(jit_memo_group_results)
{
	group_results(true, true);
	group_results(true, false);
	group_results(false, true);
}

/* mov rax,[rdi]; mov rbx,[rdi+8]; hlt */
static const uint8_t pair[] = { 0x48, 0x8b, 0x07, 0x48, 0x8b, 0x5f, 0x08, 0xf4 };

/* rdi 8 bytes before a page's end: the span crosses into the next page,
 * so the leader's check misses every time; both loads still land. */
TEST(jit_memo_span_across_pages)
{
	for (int jit = 1; jit >= 0; jit--) {
		struct tcg_env e;
		CHECK(tcg_env_long_code(&e, CODE, pair, sizeof(pair), jit));
		tcg_env_put64(&e, DATA + 0xff8, 0x1111);
		tcg_env_put64(&e, DATA + 0x1000, 0x2222);
		e.c->s.regs[R_RDI] = DATA + 0xff8;
		CHECK(run(&e));
		CHECK_EQ(e.c->s.regs[R_RAX], 0x1111);
		CHECK_EQ(e.c->s.regs[R_RBX], 0x2222);
		tcg_env_free(&e);
	}
}

/* A #PF gate (vector 14) to HANDLER, which halts. */
static void pf_gate(struct tcg_env *e)
{
	uint8_t gate[16] = { 0 };
	gate[0] = HANDLER & 0xff;
	gate[1] = (HANDLER >> 8) & 0xff;
	gate[2] = 0x08;                 /* CS */
	gate[5] = 0x8e;                 /* present, DPL 0, 64-bit interrupt gate */
	gate[6] = (HANDLER >> 16) & 0xff;
	gate[7] = (HANDLER >> 24) & 0xff;
	guest_write(e->m, IDT + 14 * 16, gate, sizeof(gate));
	e->c->s.idt.base = IDT;
	e->c->s.idt.limit = 256 * 16 - 1;
	tcg_env_put64(e, GDT + 8, 0x00af9a000000ffffULL);      /* 0x08: 64-bit code, DPL 0 */
	e->c->s.gdt.base = GDT;
	e->c->s.gdt.limit = 15;
	uint8_t hlt = 0xf4;
	guest_write(e->m, HANDLER, &hlt, 1);
	e->c->s.regs[R_RSP] = STACK;
}

/* The second load's page is not present: the first completes, the
 * fault is the second's (its rip pushed, CR2 its address). */
TEST(jit_memo_fault_in_a_follower)
{
	for (int jit = 1; jit >= 0; jit--) {
		struct tcg_env e;
		CHECK(tcg_env_long_code(&e, CODE, pair, sizeof(pair), jit));
		uint64_t none = 0;
		guest_write(e.m, TCGT_PML4 + 0x2000 + 2 * 8, &none, 8);  /* 4-6 MiB */
		tcg_tlb_flush_all(e.c);
		pf_gate(&e);
		tcg_env_put64(&e, 0x400000 - 8, 0x3333);
		e.c->s.regs[R_RDI] = 0x400000 - 8;
		e.c->s.regs[R_RBX] = 0x5a5a;
		CHECK(run(&e));
		CHECK_EQ(e.c->s.rip, HANDLER + 1);
		CHECK_EQ(e.c->s.regs[R_RAX], 0x3333);
		CHECK_EQ(e.c->s.regs[R_RBX], 0x5a5a);
		CHECK_EQ(e.c->s.cr2, 0x400000);
		/* SS, RSP, RFLAGS, CS, RIP, error code (SDM Vol. 3, 6.14.2):
		 * the rip pushed is the second load's */
		CHECK_EQ(tcg_env_get64(&e, STACK - 40), CODE + 3);
		CHECK_EQ(tcg_env_get64(&e, STACK - 48) & 1, 0);        /* not present */
		tcg_env_free(&e);
	}
}

/* mov rax,[rdi]; add rdi,8; mov rbx,[rdi]; hlt: the base changes in
 * between, so the second load is not the first's follower. */
static const uint8_t moved[] = {
	0x48, 0x8b, 0x07, 0x48, 0x83, 0xc7, 0x08, 0x48, 0x8b, 0x1f, 0xf4,
};

/* mov rax,[rdi]; mov rdi,[rdi+8]; mov rbx,[rdi]; hlt: a member loads
 * the base (it ends the group); the next load goes through the new one. */
static const uint8_t chase[] = {
	0x48, 0x8b, 0x07, 0x48, 0x8b, 0x7f, 0x08, 0x48, 0x8b, 0x1f, 0xf4,
};

TEST(jit_memo_base_written)
{
	for (int jit = 1; jit >= 0; jit--) {
		struct tcg_env e;
		CHECK(tcg_env_long_code(&e, CODE, moved, sizeof(moved), jit));
		tcg_env_put64(&e, DATA, 1);
		tcg_env_put64(&e, DATA + 8, 2);
		e.c->s.regs[R_RDI] = DATA;
		CHECK(run(&e));
		CHECK_EQ(e.c->s.regs[R_RAX], 1);
		CHECK_EQ(e.c->s.regs[R_RBX], 2);
		CHECK_EQ(grouped(e.c), 0);
		tcg_env_free(&e);

		CHECK(tcg_env_long_code(&e, CODE, chase, sizeof(chase), jit));
		tcg_env_put64(&e, DATA, 1);
		tcg_env_put64(&e, DATA + 8, DATA + 0x100);
		tcg_env_put64(&e, DATA + 0x100, 42);
		e.c->s.regs[R_RDI] = DATA;
		CHECK(run(&e));
		CHECK_EQ(e.c->s.regs[R_RAX], 1);
		CHECK_EQ(e.c->s.regs[R_RDI], DATA + 0x100);
		CHECK_EQ(e.c->s.regs[R_RBX], 42);
		CHECK_EQ(grouped(e.c), (uint64_t)(jit ? 1 : 0));
		tcg_env_free(&e);
	}
}

/* mov rax,[rdi]; mov [rdi+10],ebx; nop x3; mov ecx,0x11111111; hlt,
 * with rdi the code itself: the store (a follower) rewrites the
 * immediate of the MOV after it (offset 10), which must run in its new
 * form. */
static const uint8_t smc[] = {
	0x48, 0x8b, 0x07, 0x89, 0x5f, 0x0a, 0x90, 0x90, 0x90,
	0xb9, 0x11, 0x11, 0x11, 0x11, 0xf4,
};

TEST(jit_memo_store_into_own_code)
{
	for (int jit = 1; jit >= 0; jit--) {
		struct tcg_env e;
		CHECK(tcg_env_long_code(&e, CODE, smc, sizeof(smc), jit));
		e.c->s.regs[R_RDI] = CODE;
		e.c->s.regs[R_RBX] = 0x22222222;
		uint64_t first = tcg_env_get64(&e, CODE);
		CHECK(run(&e));
		CHECK_EQ(e.c->s.regs[R_RAX], first);
		CHECK_EQ(e.c->s.regs[R_RCX], 0x22222222);
		tcg_env_free(&e);
	}
}
