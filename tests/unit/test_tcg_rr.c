/* thread=single (user/tcg/rr.c): one holder at a time, turns in arrival
 * order, and a holder that never lets go by itself is asked to. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "unit.h"
#include "tcg/rr.h"
#include "tcg/tcg.h"

#define THREADS 4

struct shared {
	struct tcg_rr *rr;
	struct tcg_cpu *cpus[THREADS];
	int inside;             /* holders now: must never exceed 1 */
	int overlaps;
	unsigned turns[THREADS];
	volatile int stop;
};

struct worker {
	struct shared *s;
	unsigned index;
};

static struct tcg_cpu *fake_cpu(void)
{
	return calloc(1, sizeof(struct tcg_cpu));
}

/* Like a vCPU in its turn: run until asked to yield, then queue again. */
static void *worker(void *arg)
{
	struct worker *w = arg;
	struct shared *s = w->s;
	struct tcg_cpu *c = s->cpus[w->index];
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		tcg_rr_acquire(s->rr, c, false);
		if (__atomic_add_fetch(&s->inside, 1, __ATOMIC_SEQ_CST) != 1)
			__atomic_add_fetch(&s->overlaps, 1, __ATOMIC_SEQ_CST);
		s->turns[w->index]++;
		while (!tcg_rr_yield_asked(s->rr, c) && !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
			;       /* guest code that never stops by itself */
		__atomic_store_n(&c->exit_request, 0, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&s->inside, 1, __ATOMIC_SEQ_CST);
		tcg_rr_release(s->rr, c);
	}
	return NULL;
}

TEST(tcg_rr_one_at_a_time_and_fair)
{
	struct shared s;
	memset(&s, 0, sizeof(s));
	s.rr = tcg_rr_new(TCG_RR_SLICE_NS);
	CHECK(s.rr);
	struct worker w[THREADS];
	pthread_t t[THREADS];
	for (unsigned i = 0; i < THREADS; i++) {
		s.cpus[i] = fake_cpu();
		w[i] = (struct worker){ &s, i };
		CHECK(pthread_create(&t[i], NULL, worker, &w[i]) == 0);
	}
	struct timespec d = { 0, 300 * 1000 * 1000 };
	nanosleep(&d, NULL);
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(s.overlaps, 0);
	/* 300 ms of 2 ms slices among 4 holders that never yield by
	 * themselves: each got turns (a busy host stretches slices, so the
	 * bound is loose) */
	for (unsigned i = 0; i < THREADS; i++)
		CHECK(s.turns[i] >= 2);
	CHECK(tcg_rr_handoffs(s.rr) >= THREADS);
	for (unsigned i = 0; i < THREADS; i++)
		free(s.cpus[i]);
	tcg_rr_free(s.rr);
}

struct waiter_arg {
	struct tcg_rr *rr;
	struct tcg_cpu *c;
	bool urgent;
	volatile int got;
};

static void *waiter(void *arg)
{
	struct waiter_arg *w = arg;
	tcg_rr_acquire(w->rr, w->c, w->urgent);
	__atomic_store_n(&w->got, 1, __ATOMIC_RELEASE);
	tcg_rr_release(w->rr, w->c);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec d = { ms / 1000, (ms % 1000) * 1000 * 1000 };
	nanosleep(&d, NULL);
}

/* With a 10 s slice, a waiter asks the holder to yield only when it is
 * urgent (woken by an interrupt) or kicked while it waits; the holder's
 * exit_request rises with the flag. */
TEST(tcg_rr_urgent_and_kicked_waiters)
{
	struct tcg_rr *rr = tcg_rr_new(10ll * 1000 * 1000 * 1000);
	struct tcg_cpu *a = fake_cpu(), *b = fake_cpu();
	CHECK(rr && a && b);
	pthread_t t;

	tcg_rr_acquire(rr, a, false);
	tcg_rr_kicked(rr, b);                   /* b is not waiting: nothing */
	CHECK(!tcg_rr_yield_asked(rr, a));
	struct waiter_arg u = { rr, b, true, 0 };
	CHECK(pthread_create(&t, NULL, waiter, &u) == 0);
	for (int i = 0; i < 5000 && !tcg_rr_yield_asked(rr, a); i++)
		sleep_ms(1);
	CHECK(tcg_rr_yield_asked(rr, a));
	CHECK_EQ(__atomic_load_n(&a->exit_request, __ATOMIC_ACQUIRE), 1);
	CHECK(!__atomic_load_n(&u.got, __ATOMIC_ACQUIRE));     /* still a's turn */
	tcg_rr_release(rr, a);
	pthread_join(t, NULL);
	CHECK(u.got);
	CHECK_EQ(tcg_rr_handoffs(rr), 1);

	a->exit_request = 0;
	tcg_rr_acquire(rr, a, false);
	struct waiter_arg w = { rr, b, false, 0 };
	CHECK(pthread_create(&t, NULL, waiter, &w) == 0);
	sleep_ms(50);
	CHECK(!tcg_rr_yield_asked(rr, a));      /* not urgent, slice not over */
	CHECK_EQ(a->exit_request, 0);
	for (int i = 0; i < 5000 && !tcg_rr_yield_asked(rr, a); i++) {
		tcg_rr_kicked(rr, b);           /* once b waits, a is asked */
		sleep_ms(1);
	}
	CHECK(tcg_rr_yield_asked(rr, a));
	tcg_rr_release(rr, a);
	pthread_join(t, NULL);
	CHECK(w.got);
	free(a);
	free(b);
	tcg_rr_free(rr);
}
