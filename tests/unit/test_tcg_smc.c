/*
 * TCG: guest stores into decoded code, through the TLB's TLB_CODE bit
 * (user/tcg/mmu.c): an entry filled before its page held code, another
 * vCPU's entry, the bit dropped again after a write, LOCK'd
 * read-modify-writes, and ordinary stores that never look at the
 * code-page map.  Real mode, flat: linear = physical.
 */
#include <pthread.h>
#include "unit.h"
#include "tcgtest.h"

#define CODE 0x1000             /* the storing instructions */
#define PAGE 0x3000             /* code that gets overwritten */
#define DATA 0x5000             /* a data page, never executed */

static bool real_mode_cpu(struct tcg_cpu *c)
{
	c->s.seg[S_CS].selector = 0;
	c->s.seg[S_CS].base = 0;
	return c->s.seg[S_DS].base == 0;
}

static bool env(struct tcg_env *e)
{
	return tcg_env_init(e, CODE) && real_mode_cpu(e->c);
}

static uint64_t write_tag(struct tcg_cpu *c, uint64_t lin)
{
	return c->tlb[MMU_SUPER][(lin >> 12) & (TLB_SIZE - 1)].tag_write;
}

/* Run the code at lin (one instruction) on c; its AX. */
static uint16_t run_on(struct tcg_cpu *c, uint64_t lin)
{
	c->s.rip = lin;
	if (tcg_step(c) != -1)
		return 0xdead;
	return c->s.regs[R_RAX];
}

/* mov ax, imm16 at lin, written behind TCG's back (not decoded yet) */
static void put_mov_ax(struct tcg_env *e, uint64_t lin, uint16_t imm)
{
	guest_write(e->m, lin, (const uint8_t[]){ 0xb8, imm, imm >> 8 }, 3);
}

/* On c, run "mov [addr], ax" with AX = v (at a fresh address of e). */
static int store_ax(struct tcg_env *e, struct tcg_cpu *c, uint16_t addr, uint16_t v)
{
	uint64_t lin = e->code;
	e->code += 16;
	guest_write(e->m, lin, (const uint8_t[]){ 0xa3, addr, addr >> 8 }, 3);
	c->s.regs[R_RAX] = v;
	c->s.rip = lin;
	return tcg_step(c);
}

TEST(tcg_smc_entry_filled_before_code)
{
	struct tcg_env e;
	CHECK(env(&e));
	put_mov_ax(&e, PAGE, 0x1111);
	/* a store into the page while it holds no decoded code: the entry
	 * is plain writable RAM */
	CHECK_EQ(store_ax(&e, e.c, PAGE + 0x100, 0x7777), -1);
	CHECK_EQ(write_tag(e.c, PAGE), PAGE);
	/* code from the page: the entry gets TLB_CODE */
	CHECK_EQ(run_on(e.c, PAGE), 0x1111);
	CHECK_EQ(write_tag(e.c, PAGE), PAGE | TLB_CODE);
	uint32_t gen = tcg_code_page_gen(PAGE);
	/* a store over the immediate through that entry: the new code runs */
	CHECK_EQ(store_ax(&e, e.c, PAGE + 1, 0x2222), -1);
	CHECK(tcg_code_page_gen(PAGE) != gen);
	CHECK_EQ(run_on(e.c, PAGE), 0x2222);
	tcg_env_free(&e);
}

TEST(tcg_smc_entry_drops_code_bit_after_write)
{
	struct tcg_env e;
	CHECK(env(&e));
	put_mov_ax(&e, PAGE, 0x1111);
	CHECK_EQ(run_on(e.c, PAGE), 0x1111);
	CHECK_EQ(store_ax(&e, e.c, PAGE + 1, 0x2222), -1);
	CHECK_EQ(write_tag(e.c, PAGE), PAGE | TLB_CODE);
	CHECK(!tcg_page_has_code(PAGE));
	/* the page holds no decoded code now: the next store is slow once
	 * and takes the bit off its entry */
	struct tcg_code_stats a, b;
	CHECK_EQ(store_ax(&e, e.c, PAGE + 0x100, 1), -1);
	CHECK_EQ(write_tag(e.c, PAGE), PAGE);
	tcg_code_stats_get(&a);
	CHECK_EQ(store_ax(&e, e.c, PAGE + 0x100, 2), -1);
	tcg_code_stats_get(&b);
	CHECK_EQ(b.slow_stores, a.slow_stores);
	/* decoded again: marked again, the bit back */
	CHECK_EQ(run_on(e.c, PAGE), 0x2222);
	CHECK_EQ(write_tag(e.c, PAGE), PAGE | TLB_CODE);
	CHECK_EQ(store_ax(&e, e.c, PAGE + 1, 0x3333), -1);
	CHECK_EQ(run_on(e.c, PAGE), 0x3333);
	tcg_env_free(&e);
}

TEST(tcg_smc_other_vcpu)
{
	struct tcg_env e;
	CHECK(env(&e));
	struct tcg_cpu *a = e.c, *b = tcg_cpu_new(e.m, NULL);
	CHECK(b && real_mode_cpu(b));
	put_mov_ax(&e, PAGE, 0x1111);
	/* A fills a writable entry for the page, then B decodes code there */
	CHECK_EQ(store_ax(&e, a, PAGE + 0x100, 0), -1);
	CHECK_EQ(write_tag(a, PAGE), PAGE);
	CHECK_EQ(run_on(b, PAGE), 0x1111);
	CHECK_EQ(write_tag(a, PAGE), PAGE | TLB_CODE);
	/* A's store: B sees the new code, and B (not A) is asked to leave
	 * its chain of blocks */
	a->exit_request = b->exit_request = 0;
	struct tcg_code_stats s0, s1;
	tcg_code_stats_get(&s0);
	CHECK_EQ(store_ax(&e, a, PAGE + 1, 0x2222), -1);
	tcg_code_stats_get(&s1);
	CHECK_EQ(s1.kicks, s0.kicks + 1);
	CHECK_EQ(b->exit_request, 1);
	CHECK_EQ(a->exit_request, 0);
	CHECK_EQ(run_on(b, PAGE), 0x2222);

	/* the other order: B decodes first, A's entry is filled afterwards
	 * (the filler finds the mark itself) */
	put_mov_ax(&e, PAGE + 0x1000, 0x4444);
	CHECK_EQ(run_on(b, PAGE + 0x1000), 0x4444);
	CHECK_EQ(store_ax(&e, a, PAGE + 0x1001, 0x5555), -1);
	CHECK_EQ(run_on(b, PAGE + 0x1000), 0x5555);

	/* an entry of A that is invalid while B marks: filled later, right */
	put_mov_ax(&e, PAGE + 0x2000, 0x6666);
	tcg_tlb_flush(a);
	CHECK_EQ(run_on(b, PAGE + 0x2000), 0x6666);
	CHECK_EQ(write_tag(a, PAGE + 0x2000), TLB_INVALID);
	CHECK_EQ(store_ax(&e, a, PAGE + 0x2001, 0x7777), -1);
	CHECK_EQ(run_on(b, PAGE + 0x2000), 0x7777);
	tcg_cpu_free(b);
	tcg_env_free(&e);
}

TEST(tcg_smc_host_write_kicks_every_vcpu)
{
	struct tcg_env e;
	CHECK(env(&e));
	struct tcg_cpu *b = tcg_cpu_new(e.m, NULL);
	CHECK(b);
	put_mov_ax(&e, PAGE, 0x1111);
	CHECK_EQ(run_on(e.c, PAGE), 0x1111);
	e.c->exit_request = b->exit_request = 0;
	/* a host write to a page without code kicks nobody */
	tcg_code_written(DATA, 4);
	CHECK_EQ(e.c->exit_request + b->exit_request, 0);
	put_mov_ax(&e, PAGE, 0x2222);
	tcg_code_written(PAGE + 1, 2);
	CHECK_EQ(e.c->exit_request, 1);
	CHECK_EQ(b->exit_request, 1);
	CHECK_EQ(run_on(e.c, PAGE), 0x2222);
	/* a freed vCPU is out of the registry (ASan would see a use) */
	tcg_cpu_free(b);
	CHECK_EQ(run_on(e.c, PAGE), 0x2222);
	put_mov_ax(&e, PAGE, 0x3333);
	tcg_code_written(PAGE, 4096);
	CHECK_EQ(run_on(e.c, PAGE), 0x3333);
	tcg_env_free(&e);
}

TEST(tcg_smc_locked_rmw_into_code)
{
	struct tcg_env e;
	CHECK(env(&e));
	put_mov_ax(&e, PAGE, 0x1111);
	CHECK_EQ(store_ax(&e, e.c, PAGE + 0x100, 0), -1);     /* entry filled */
	CHECK_EQ(run_on(e.c, PAGE), 0x1111);
	/* lock inc word [PAGE + 1] */
	CHECK_EQ(STEP_AT(&e, CODE + 0x800, 0xf0, 0xff, 0x06, (PAGE + 1) & 0xff, (PAGE + 1) >> 8), -1);
	CHECK_EQ(run_on(e.c, PAGE), 0x1112);
	tcg_env_free(&e);
}

TEST(tcg_smc_data_stores_skip_code_map)
{
	struct tcg_env e;
	CHECK(env(&e));
	/* the code that stores is decoded (its page is marked), the target
	 * page never is */
	static const uint8_t loop[] = { 0xa3, DATA & 0xff, DATA >> 8 };  /* mov [DATA], ax */
	guest_write(e.m, CODE, loop, sizeof(loop));
	CHECK_EQ(run_on(e.c, CODE), 0);
	CHECK_EQ(write_tag(e.c, DATA), DATA);
	uint32_t gen = tcg_code_page_gen(DATA);
	struct tcg_code_stats a, b;
	tcg_code_stats_get(&a);
	for (int k = 0; k < 1000; k++) {
		e.c->s.regs[R_RAX] = k;
		CHECK_EQ(run_on(e.c, CODE), k);
	}
	tcg_code_stats_get(&b);
	CHECK_EQ(b.slow_stores, a.slow_stores);
	CHECK_EQ(b.bumps, a.bumps);
	CHECK_EQ(tcg_code_page_gen(DATA), gen);
	uint16_t v;
	memcpy(&v, e.m->ram + DATA, 2);
	CHECK_EQ(v, 999);
	/* the same store into a page with code does read the map */
	e.code = CODE + 0x100;          /* past the loop's instruction */
	put_mov_ax(&e, PAGE, 0x1111);
	CHECK_EQ(run_on(e.c, PAGE), 0x1111);
	CHECK_EQ(store_ax(&e, e.c, PAGE + 0x100, 0), -1);
	tcg_code_stats_get(&a);
	CHECK_EQ(a.slow_stores, b.slow_stores + 1);
	CHECK_EQ(a.bumps, b.bumps + 1);
	tcg_env_free(&e);
}

/* ---- two threads: a fill racing with the marking of its page ---- */

#define RACE_FIRST 0x10000      /* pages 0x10000-0x9ffff, below 640 KiB */
#define RACE_PAGES 144

struct racer {
	struct tcg_cpu *c;
	pthread_barrier_t *bar;
	unsigned bad;
};

static uint16_t run_page(struct tcg_cpu *c, uint64_t page)
{
	c->s.seg[S_CS].selector = page >> 4;
	c->s.seg[S_CS].base = page;
	return run_on(c, 0);
}

/* B: decode the page's code while A fills its entry, then, after A's
 * store, run it again. */
static void *race_decoder(void *arg)
{
	struct racer *r = arg;
	for (unsigned k = 0; k < RACE_PAGES; k++) {
		uint64_t page = RACE_FIRST + k * 0x1000;
		pthread_barrier_wait(r->bar);
		if (run_page(r->c, page) != 0x1000 + k)
			r->bad++;
		pthread_barrier_wait(r->bar);   /* A stores */
		pthread_barrier_wait(r->bar);
		if (run_page(r->c, page) != 0x2000 + k)
			r->bad++;
	}
	return NULL;
}

TEST(tcg_smc_fill_races_mark)
{
	struct tcg_env e;
	CHECK(env(&e));
	pthread_barrier_t bar;
	CHECK(pthread_barrier_init(&bar, NULL, 2) == 0);
	struct racer b = { tcg_cpu_new(e.m, NULL), &bar, 0 };
	CHECK(b.c && real_mode_cpu(b.c));
	for (unsigned k = 0; k < RACE_PAGES; k++)
		put_mov_ax(&e, RACE_FIRST + k * 0x1000, 0x1000 + k);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, race_decoder, &b) == 0);
	unsigned bad = 0;
	for (unsigned k = 0; k < RACE_PAGES; k++) {
		e.c->s.seg[S_DS].base = RACE_FIRST + k * 0x1000;
		pthread_barrier_wait(&bar);
		/* the first store into the page: fills A's entry */
		bad += store_ax(&e, e.c, 0x800, 0) != -1;
		pthread_barrier_wait(&bar);
		bad += store_ax(&e, e.c, 1, 0x2000 + k) != -1;
		pthread_barrier_wait(&bar);
	}
	pthread_join(t, NULL);
	CHECK_EQ(bad, 0);
	CHECK_EQ(b.bad, 0);
	pthread_barrier_destroy(&bar);
	tcg_cpu_free(b.c);
	tcg_env_free(&e);
}
