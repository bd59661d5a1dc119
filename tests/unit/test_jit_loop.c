/*
 * The JIT's one-block loops (user/tcg/jit/translate.c, tr_exit_self): a
 * block that jumps back to its own start keeps the guest registers in
 * host registers and the guest flags in the host RFLAGS around the loop,
 * leaves on an exit request at the loop's edge with every register
 * written back and rip at the block's start, and counts its
 * instructions as the entry does.  Long mode, run through tcg_exec.
 */
#include <pthread.h>
#include <time.h>
#include "unit.h"
#include "tcgtest.h"
#include "tcg/jit/jit.h"
#include "accel.h"
#include "tcg/jit/emit.h"

#define CODE 0x100000ULL
#define DATA 0x200000ULL

static bool env(struct tcg_env *e, const uint8_t *code, size_t n)
{
	return tcg_env_long_code(e, CODE, code, n, true);
}

static uint64_t self_loops(const struct tcg_cpu *c)
{
	struct jit_stats s;
	jit_get_stats(c, &s);
	return s.self_loops;
}

/* 1: add rax, rbx; mov [rdi], rax; adc rdx, 0; inc rbx; dec rcx;
 *    jnz 1b; hlt
 * ADC reads the CF of the ADD; DEC's flags decide the loop. */
static const uint8_t counted[] = {
	0x48, 0x01, 0xd8, 0x48, 0x89, 0x07, 0x48, 0x83, 0xd2, 0x00,
	0x48, 0xff, 0xc3, 0x48, 0xff, 0xc9, 0x75, 0xee, 0xf4,
};

static void counted_loop(void);

TEST(jit_self_loop_runs_to_the_end)
{
	counted_loop();
}

/* the same without BMI2: the TLB index by MOV and SHR (tr_tlb_index) */
TEST(jit_self_loop_without_bmi2)
{
	emit_host_bmi2_override(0);
	counted_loop();
	emit_host_bmi2_override(-1);
}

static void counted_loop(void)
{
	struct tcg_env e;
	CHECK(env(&e, counted, sizeof(counted)));
	struct tcg_cpu *c = e.c;
	uint64_t rax = 0xfffffffffffffff0ULL, rbx = 1, rdx = 0, n = 100000;
	c->s.regs[R_RAX] = rax;
	c->s.regs[R_RBX] = rbx;
	c->s.regs[R_RCX] = n;
	c->s.regs[R_RDX] = 0;
	c->s.regs[R_RDI] = DATA;
	uint64_t insns0 = c->insns;
	int r = 0;
	for (int guard = 0; guard < 1000 && !c->halted; guard++)
		r = tcg_exec(c);
	CHECK_EQ(r, VCPU_EXIT_HALT);
	for (uint64_t k = 0; k < n; k++) {
		uint64_t s = rax + rbx;
		rdx += s < rax;
		rax = s;
		rbx++;
	}
	CHECK_EQ(c->s.regs[R_RAX], rax);
	CHECK_EQ(c->s.regs[R_RBX], rbx);
	CHECK_EQ(c->s.regs[R_RCX], 0);
	CHECK_EQ(c->s.regs[R_RDX], rdx);
	CHECK(rdx > 0);
	CHECK_EQ(tcg_env_get64(&e, DATA), rax);
	CHECK_EQ(c->s.rip, CODE + sizeof(counted));
	/* six instructions a round, then HLT */
	CHECK_EQ(c->insns - insns0, 6 * n + 1);
	CHECK(self_loops(c) >= 1);
	tcg_env_free(&e);
}

/* 1: inc rbx; mov [rdi], rbx; jmp 1b  (endless) */
static const uint8_t endless[] = { 0x48, 0xff, 0xc3, 0x48, 0x89, 0x1f, 0xeb, 0xf8 };

/* Kicks c once per round: main arms it with the loop's last stored
 * value; it waits until the guest has stored a larger one (the loop is
 * running, however slow the host), 1 ms more, then disarms and sets
 * exit_request (in that order: main finds it disarmed when it returns). */
struct kicker {
	struct tcg_cpu *c;
	const uint64_t *stored;         /* guest RAM at DATA */
	uint64_t from;
	int armed, quit;
};

static void *kicker_run(void *p)
{
	struct kicker *k = p;
	struct timespec tick = { 0, 100000 }, ms = { 0, 1000000 };
	while (!__atomic_load_n(&k->quit, __ATOMIC_ACQUIRE)) {
		if (!__atomic_load_n(&k->armed, __ATOMIC_ACQUIRE) ||
		    __atomic_load_n(k->stored, __ATOMIC_RELAXED) <= k->from) {
			nanosleep(&tick, NULL);
			continue;
		}
		nanosleep(&ms, NULL);
		__atomic_store_n(&k->armed, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&k->c->exit_request, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

TEST(jit_self_loop_leaves_on_exit_request)
{
	struct tcg_env e;
	CHECK(env(&e, endless, sizeof(endless)));
	struct tcg_cpu *c = e.c;
	c->s.regs[R_RBX] = 0;
	c->s.regs[R_RDI] = DATA;
	struct kicker k = { c, (const uint64_t *)(e.m->ram + DATA), 0, 0, 0 };
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, kicker_run, &k), 0);
	uint64_t last = 0;
	for (int round = 0; round < 3; round++) {
		k.from = last;
		__atomic_store_n(&k.armed, 1, __ATOMIC_RELEASE);
		CHECK_EQ(tcg_exec(c), VCPU_EXIT_AGAIN);
		CHECK_EQ(__atomic_load_n(&k.armed, __ATOMIC_ACQUIRE), 0);
		/* left at the loop's start, the register written back and
		 * equal to the last store: no half round */
		CHECK_EQ(c->s.rip, CODE);
		CHECK(c->s.regs[R_RBX] > last);
		CHECK_EQ(tcg_env_get64(&e, DATA), c->s.regs[R_RBX]);
		last = c->s.regs[R_RBX];
	}
	__atomic_store_n(&k.quit, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	CHECK(self_loops(c) >= 1);
	tcg_env_free(&e);
}
