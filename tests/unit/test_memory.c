/*
 * The host side's write path into guest RAM and its listeners
 * (user/memory.c), and TCG's listener: decoded code that the host
 * overwrites is decoded again (user/tcg/mmu.c, exec.c).
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "machine.h"
#include "rcu.h"
#include "tcg/tcg.h"
#include "tcgtest.h"

#define RAM (2 * MiB)
#define MAX_SEEN 16

struct recorder {
	struct ram_listener l;
	unsigned n;
	gpa_t gpa[MAX_SEEN];
	uint64_t len[MAX_SEEN];
};

static void record(struct ram_listener *l, gpa_t gpa, uint64_t len)
{
	struct recorder *r = container_of(l, struct recorder, l);
	if (r->n < MAX_SEEN) {
		r->gpa[r->n] = gpa;
		r->len[r->n] = len;
	}
	r->n++;
}

static struct machine *ram_machine(void)
{
	struct machine *m = machine_new(RAM);
	if (m && machine_add_memory(m, REGION_RAM, 0, RAM, m->ram, "ram") < 0) {
		machine_free(m);
		return NULL;
	}
	return m;
}

TEST(memory_every_writer_tells_the_listeners)
{
	struct machine *m = ram_machine();
	struct recorder r = { .l = { record } };
	CHECK(m);
	CHECK(machine_ram_listen(m, &r.l) == 0);
	CHECK(machine_ram_write(m, 0x1000, "qvm", 4) == 0);
	CHECK(!memcmp((uint8_t *)m->ram + 0x1000, "qvm", 4));
	CHECK_EQ(r.n, 1);
	CHECK_EQ(r.gpa[0], 0x1000);
	CHECK_EQ(r.len[0], 4);
	CHECK(guest_write(m, 0x2ffe, "ab", 2) == 0);      /* the same path */
	CHECK_EQ(r.n, 2);
	CHECK_EQ(r.gpa[1], 0x2ffe);
	CHECK_EQ(r.len[1], 2);
	CHECK(machine_ram_fill(m, 0x3000, 0xcc, 0x2001) == 0);
	CHECK_EQ(((uint8_t *)m->ram)[0x5000], 0xcc);
	CHECK_EQ(r.n, 3);
	CHECK_EQ(r.gpa[2], 0x3000);
	CHECK_EQ(r.len[2], 0x2001);
	machine_ram_written(m, 0x7000, 512);              /* filled in place */
	CHECK_EQ(r.n, 4);
	CHECK_EQ(r.gpa[3], 0x7000);
	CHECK_EQ(r.len[3], 512);
	/* nothing written, nothing told */
	CHECK(machine_ram_write(m, RAM - 1, "xy", 2) < 0);
	CHECK(machine_ram_fill(m, RAM, 0, 1) < 0);
	CHECK(guest_write(m, 0x100000000ULL, "x", 1) < 0);
	machine_ram_written(m, 0x1000, 0);
	CHECK_EQ(r.n, 4);
	/* a region mapped over an address changes what is there */
	void *rom = calloc(1, 0x1000);
	CHECK(rom && machine_add_memory(m, REGION_ROM, 0xfffff000ULL, 0x1000, rom, "rom") == 0);
	CHECK_EQ(r.n, 5);
	CHECK_EQ(r.gpa[4], 0xfffff000ULL);
	CHECK_EQ(r.len[4], 0x1000);
	machine_ram_unlisten(m, &r.l);
	machine_free(m);
	free(rom);
}

TEST(memory_unlisten_stops_the_calls)
{
	struct machine *m = ram_machine();
	struct recorder a = { .l = { record } }, b = { .l = { record } };
	CHECK(m);
	machine_ram_unlisten(m, &a.l);                   /* not registered: nothing */
	CHECK(machine_ram_listen(m, &a.l) == 0);
	CHECK(machine_ram_listen(m, &b.l) == 0);
	machine_ram_written(m, 0, 1);
	CHECK_EQ(a.n, 1);
	CHECK_EQ(b.n, 1);
	machine_ram_unlisten(m, &a.l);
	machine_ram_written(m, 0, 1);
	CHECK_EQ(a.n, 1);
	CHECK_EQ(b.n, 2);
	machine_ram_unlisten(m, &b.l);
	machine_ram_written(m, 0, 1);
	CHECK_EQ(b.n, 2);
	/* again, and one listener on two machines */
	struct machine *m2 = ram_machine();
	CHECK(m2);
	CHECK(machine_ram_listen(m, &a.l) == 0);
	CHECK(machine_ram_listen(m2, &a.l) == 0);
	machine_ram_written(m, 0x10, 1);
	machine_ram_written(m2, 0x20, 1);
	CHECK_EQ(a.n, 3);
	CHECK_EQ(a.gpa[2], 0x20);
	machine_free(m2);                                 /* with a listener left */
	machine_free(m);
}

/* Writers on other threads while the main thread registers and drops
 * listeners: after machine_ram_unlisten returns, its listener is never
 * called again (it is freed at once: ASan would see a late call). */
struct counted {
	struct ram_listener l;
	int alive;
	unsigned long calls, late;
};

/* A slow listener, so that writers are often inside it: still alive
 * when it returns, or machine_ram_unlisten did not wait for it. */
static void count_call(struct ram_listener *l, gpa_t gpa, uint64_t len)
{
	struct counted *c = container_of(l, struct counted, l);
	(void)gpa, (void)len;
	__atomic_fetch_add(&c->calls, 1, __ATOMIC_RELAXED);
	for (volatile int spin = 0; spin < 2000; spin++)
		;
	if (!__atomic_load_n(&c->alive, __ATOMIC_ACQUIRE))
		__atomic_fetch_add(&c->late, 1, __ATOMIC_RELAXED);
}

struct writer_arg {
	struct machine *m;
	int *stop;
	unsigned long writes;
};

static void *writer(void *p)
{
	struct writer_arg *w = p;
	rcu_thread_online();
	for (unsigned long n = 0; !__atomic_load_n(w->stop, __ATOMIC_ACQUIRE); n++) {
		machine_ram_written(w->m, (n & 0xff) << 12, 4096);
		__atomic_store_n(&w->writes, n + 1, __ATOMIC_RELEASE);
	}
	rcu_thread_offline();
	return NULL;
}

TEST(memory_listeners_from_many_threads)
{
	struct machine *m = ram_machine();
	struct counted all = { .l = { count_call }, .alive = 1 };
	unsigned long late = 0, total = 0;
	int stop = 0;
	CHECK(m);
	CHECK(machine_ram_listen(m, &all.l) == 0);
	pthread_t t[3];
	struct writer_arg w[3];
	for (int i = 0; i < 3; i++) {
		w[i] = (struct writer_arg){ m, &stop, 0 };
		CHECK(pthread_create(&t[i], NULL, writer, &w[i]) == 0);
	}
	/* every writer under way before the churn (a loaded host is slow to
	 * schedule them) */
	for (int i = 0; i < 3; i++)
		while (!__atomic_load_n(&w[i].writes, __ATOMIC_ACQUIRE))
			sched_yield();
	for (int round = 0; round < 50; round++) {
		struct counted *c = calloc(1, sizeof(*c));
		CHECK(c);
		c->l.written = count_call;
		c->alive = 1;
		CHECK(machine_ram_listen(m, &c->l) == 0);
		while (!__atomic_load_n(&c->calls, __ATOMIC_RELAXED))
			sched_yield();          /* in use by the writers */
		machine_ram_unlisten(m, &c->l);
		__atomic_store_n(&c->alive, 0, __ATOMIC_RELEASE);
		late += __atomic_load_n(&c->late, __ATOMIC_RELAXED);
		free(c);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		total += w[i].writes;
	}
	CHECK_EQ(late, 0);
	CHECK(total > 0);
	CHECK_EQ(all.calls, total);    /* the permanent one saw every write */
	machine_ram_unlisten(m, &all.l);
	machine_free(m);
}

/* ---- TCG: decoded code that the host overwrites ---- */

#define CODE 0x1000

static bool real_mode_env(struct tcg_env *e)
{
	if (!tcg_env_init(e, CODE))
		return false;
	e->c->s.seg[S_CS].selector = 0;
	e->c->s.seg[S_CS].base = 0;
	return true;
}

/* Run the instruction at CODE once more (from the block cache if there). */
static uint16_t run_at_code(struct tcg_env *e)
{
	e->c->s.rip = CODE;
	tcg_step(e->c);
	return e->c->s.regs[R_RAX];
}

TEST(tcg_host_writes_invalidate_decoded_code)
{
	struct tcg_env e;
	CHECK(real_mode_env(&e));
	CHECK(machine_ram_listen(e.m, &tcg_code_listener) == 0);
	uint8_t *ram = e.m->ram;
	CHECK_EQ(STEP_AT(&e, CODE, 0xb8, 0x11, 0x11), -1);   /* mov ax, 0x1111 */
	CHECK_EQ(e.c->s.regs[R_RAX] & 0xffff, 0x1111);
	/* the block is cached: bytes changed behind TCG's back are not seen
	 * (what a writer that skips the write path would leave behind) */
	memcpy(ram + CODE, (const uint8_t[]){ 0xb8, 0x22, 0x22 }, 3);
	CHECK_EQ(run_at_code(&e), 0x1111);
	/* in place, then told: decoded again */
	machine_ram_written(e.m, CODE + 1, 2);
	CHECK_EQ(run_at_code(&e), 0x2222);
	/* a copy through the write path, a range that only ends in the page */
	CHECK(machine_ram_write(e.m, CODE - 0x10, (const uint8_t[]){
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xb8, 0x33, 0x33 }, 19) == 0);
	CHECK_EQ(run_at_code(&e), 0x3333);
	/* a large write (an image reloaded) covering the page */
	memcpy(ram + CODE, (const uint8_t[]){ 0xb8, 0x44, 0x44 }, 3);
	machine_ram_written(e.m, 0, 1 * MiB);
	CHECK_EQ(run_at_code(&e), 0x4444);
	/* a write to another page leaves the block alone */
	memcpy(ram + CODE, (const uint8_t[]){ 0xb8, 0x55, 0x55 }, 3);
	machine_ram_written(e.m, CODE + 0x1000, 16);
	CHECK_EQ(run_at_code(&e), 0x4444);
	/* a machine reset drops every decoded block */
	tcg_flush_blocks(e.c);
	CHECK_EQ(run_at_code(&e), 0x5555);
	machine_ram_unlisten(e.m, &tcg_code_listener);
	tcg_env_free(&e);
}
