/*
 * thread=single: a turn to run guest code, passed among the vCPU threads
 * of one machine in arrival order.
 *
 * A vCPU takes a ticket and waits until the ticket is served; releasing
 * serves the next one.  The holder keeps its turn as long as nobody
 * waits.  A waiter asks it to yield (the holder's exit_request, which
 * tcg_exec checks at every block, and a flag tcg_rr_yield_asked reads)
 * once the holder has had its slice, or at once when the waiter has an
 * event to handle.  The holder then releases and queues again behind
 * every waiter, so each one runs within (waiters x slice).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include "rr.h"
#include "tcg.h"

/* A waiting vCPU, on its own stack while it waits. */
struct rr_waiter {
	const struct tcg_cpu *cpu;
	struct rr_waiter *next;
};

struct tcg_rr {
	pthread_mutex_t lock;
	pthread_cond_t served;          /* serving moved on */
	uint64_t next_ticket;           /* what the next arrival takes */
	uint64_t serving;               /* the ticket allowed to run */
	struct tcg_cpu *holder;         /* NULL while the turn is free */
	const struct tcg_cpu *last;     /* the previous holder */
	struct timespec slice_end;      /* when a waiter asks the holder to yield */
	bool yield;                     /* the holder was asked to yield */
	struct rr_waiter *waiters;
	uint64_t handoffs;
	long long slice_ns;
};

struct tcg_rr *tcg_rr_new(long long slice_ns)
{
	struct tcg_rr *rr = calloc(1, sizeof(*rr));
	if (!rr)
		return NULL;
	rr->slice_ns = slice_ns;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&rr->served, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&rr->lock, NULL);
	return rr;
}

void tcg_rr_free(struct tcg_rr *rr)
{
	if (!rr)
		return;
	pthread_cond_destroy(&rr->served);
	pthread_mutex_destroy(&rr->lock);
	free(rr);
}

static bool past(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* Under rr->lock: make the holder leave tcg_exec and give up its turn. */
static void ask_yield(struct tcg_rr *rr)
{
	if (!rr->holder || rr->yield)
		return;
	rr->yield = true;
	__atomic_store_n(&rr->holder->exit_request, 1, __ATOMIC_RELEASE);
}

static void unlink_waiter(struct tcg_rr *rr, struct rr_waiter *w)
{
	for (struct rr_waiter **p = &rr->waiters; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			return;
		}
	}
}

void tcg_rr_acquire(struct tcg_rr *rr, struct tcg_cpu *c, bool urgent)
{
	pthread_mutex_lock(&rr->lock);
	uint64_t ticket = rr->next_ticket++;
	struct rr_waiter me = { c, rr->waiters };
	rr->waiters = &me;
	while (ticket != rr->serving) {
		if (rr->holder && (urgent || past(&rr->slice_end))) {
			ask_yield(rr);
			urgent = false;
		}
		if (rr->holder && !rr->yield) {
			struct timespec end = rr->slice_end;
			int err = pthread_cond_timedwait(&rr->served, &rr->lock, &end);
			if (err && err != ETIMEDOUT)
				pthread_cond_wait(&rr->served, &rr->lock);
		} else {
			/* asked already, or the next holder is on its way */
			pthread_cond_wait(&rr->served, &rr->lock);
		}
	}
	unlink_waiter(rr, &me);
	rr->holder = c;
	rr->yield = false;
	if (rr->last && rr->last != c)
		rr->handoffs++;
	rr->last = c;
	clock_gettime(CLOCK_MONOTONIC, &rr->slice_end);
	long long ns = rr->slice_end.tv_nsec + rr->slice_ns;
	rr->slice_end.tv_sec += ns / 1000000000;
	rr->slice_end.tv_nsec = ns % 1000000000;
	/* waiters that arrived in the meantime may have slept untimed */
	if (rr->waiters)
		pthread_cond_broadcast(&rr->served);
	pthread_mutex_unlock(&rr->lock);
}

void tcg_rr_release(struct tcg_rr *rr, struct tcg_cpu *c)
{
	pthread_mutex_lock(&rr->lock);
	if (rr->holder == c) {
		rr->holder = NULL;
		rr->yield = false;
		rr->serving++;
		pthread_cond_broadcast(&rr->served);
	}
	pthread_mutex_unlock(&rr->lock);
}

bool tcg_rr_yield_asked(struct tcg_rr *rr, const struct tcg_cpu *c)
{
	pthread_mutex_lock(&rr->lock);
	bool asked = rr->holder == c && rr->yield;
	pthread_mutex_unlock(&rr->lock);
	return asked;
}

void tcg_rr_kicked(struct tcg_rr *rr, const struct tcg_cpu *c)
{
	pthread_mutex_lock(&rr->lock);
	for (struct rr_waiter *w = rr->waiters; w; w = w->next) {
		if (w->cpu == c) {
			ask_yield(rr);
			break;
		}
	}
	pthread_mutex_unlock(&rr->lock);
}

uint64_t tcg_rr_handoffs(struct tcg_rr *rr)
{
	pthread_mutex_lock(&rr->lock);
	uint64_t n = rr->handoffs;
	pthread_mutex_unlock(&rr->lock);
	return n;
}
