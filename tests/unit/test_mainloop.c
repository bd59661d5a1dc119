/* The main loop: timers, fd watches, calls from other threads. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "unit.h"
#include "mainloop.h"

#define MS 1000000ULL

/* Run the loop until *flag is set or timeout_ms passes; true if set. */
/* Run until *count reaches want (a flag: want 1) or the time is up;
 * waiting for the event, not a fixed time, so a stalled host can't fail
 * the test. */
static bool run_until_n(struct mainloop *l, volatile int *count, int want, int timeout_ms)
{
	uint64_t end = clock_ns() + (uint64_t)timeout_ms * MS;
	while (*count < want) {
		bool late = clock_ns() >= end;  /* one more run after the time */
		mainloop_run_once(l, 10);
		if (late)
			break;
	}
	return *count >= want;
}

static bool run_until(struct mainloop *l, volatile int *flag, int timeout_ms)
{
	return run_until_n(l, flag, 1, timeout_ms);
}

static void run_for(struct mainloop *l, int ms)
{
	uint64_t end = clock_ns() + (uint64_t)ms * MS;
	while (clock_ns() < end)
		mainloop_run_once(l, 5);
}

/* ---- timers ---- */

struct fired {
	int order[8];
	uint64_t when[8];
	int n;
};

struct tstamp {
	struct fired *log;
	int id;
};

static void record_timer(void *opaque)
{
	struct tstamp *s = opaque;
	s->log->when[s->log->n] = clock_ns();
	s->log->order[s->log->n++] = s->id;
}

TEST(mainloop_timers_fire_in_order_and_on_time)
{
	struct mainloop *l = mainloop_new();
	struct fired log = { 0 };
	struct tstamp s[3] = { { &log, 0 }, { &log, 1 }, { &log, 2 } };
	struct timer *t[3];
	uint64_t delay[3] = { 60 * MS, 20 * MS, 40 * MS };
	uint64_t start = clock_ns();
	for (int i = 0; i < 3; i++) {
		t[i] = timer_new(l, record_timer, &s[i]);
		timer_arm(t[i], start + delay[i]);
		CHECK(timer_pending(t[i]));
	}
	/* how late a timer may fire: no later than the end of the first run
	 * that began at or after its time (a busy host can start that run
	 * late, but the timer must not wait for yet another) */
	uint64_t bound[3] = { UINT64_MAX, UINT64_MAX, UINT64_MAX };
	uint64_t end = start + 2000 * MS;
	while (log.n < 3 && clock_ns() < end) {
		uint64_t before = clock_ns();
		mainloop_run_once(l, -1);
		uint64_t after = clock_ns();
		for (int i = 0; i < 3; i++)
			if (bound[i] == UINT64_MAX && before >= start + delay[i])
				bound[i] = after;
	}
	CHECK_EQ(log.n, 3);
	CHECK_EQ(log.order[0], 1);
	CHECK_EQ(log.order[1], 2);
	CHECK_EQ(log.order[2], 0);
	for (int i = 0; i < 3; i++) {
		uint64_t want = start + delay[log.order[i]];
		CHECK(log.when[i] >= want);
		CHECK(log.when[i] <= bound[log.order[i]]);
		CHECK(!timer_pending(t[i]));
	}
	for (int i = 0; i < 3; i++)
		timer_free(t[i]);
	mainloop_free(l);
}

TEST(mainloop_timer_equal_expiry_fifo_and_past)
{
	struct mainloop *l = mainloop_new();
	struct fired log = { 0 };
	struct tstamp s[3] = { { &log, 0 }, { &log, 1 }, { &log, 2 } };
	struct timer *t[3];
	uint64_t at = clock_ns() + 10 * MS;
	for (int i = 0; i < 3; i++)
		t[i] = timer_new(l, record_timer, &s[i]);
	timer_arm(t[2], at);
	timer_arm(t[0], at);
	timer_arm(t[1], 0); /* in the past: fires at the next round */
	run_until_n(l, &log.n, 3, 2000);
	CHECK_EQ(log.n, 3);
	CHECK_EQ(log.order[0], 1);
	CHECK_EQ(log.order[1], 2);
	CHECK_EQ(log.order[2], 0);
	for (int i = 0; i < 3; i++)
		timer_free(t[i]);
	mainloop_free(l);
}

TEST(mainloop_timer_cancel_and_rearm)
{
	struct mainloop *l = mainloop_new();
	struct fired log = { 0 };
	struct tstamp a = { &log, 1 }, b = { &log, 2 };
	struct timer *ta = timer_new(l, record_timer, &a);
	struct timer *tb = timer_new(l, record_timer, &b);
	uint64_t now = clock_ns();
	timer_arm(ta, now + 10 * MS);
	timer_arm(tb, now + 20 * MS);
	timer_cancel(ta);
	timer_cancel(ta); /* twice is fine */
	CHECK(!timer_pending(ta));
	run_until_n(l, &log.n, 1, 2000);  /* tb fires; ta, due before it, never */
	CHECK_EQ(log.n, 1);
	CHECK_EQ(log.order[0], 2);
	/* Re-arming an armed timer moves it: it fires long before 500 ms. */
	timer_arm(tb, clock_ns() + 500 * MS);
	timer_arm(tb, clock_ns() + 10 * MS);
	run_until_n(l, &log.n, 2, 400);
	CHECK_EQ(log.n, 2);
	timer_free(ta);
	timer_free(tb);
	mainloop_free(l);
}

/* A periodic timer that re-arms itself, then frees itself. */
struct periodic {
	struct timer *t;
	int count;
	volatile int done;
};

static void periodic_tick(void *opaque)
{
	struct periodic *p = opaque;
	if (++p->count == 5) {
		timer_free(p->t);
		p->t = NULL;
		p->done = 1;
		return;
	}
	timer_arm(p->t, clock_ns() + 2 * MS);
}

TEST(mainloop_timer_rearm_and_free_in_callback)
{
	struct mainloop *l = mainloop_new();
	struct periodic p = { 0 };
	p.t = timer_new(l, periodic_tick, &p);
	timer_arm(p.t, clock_ns() + 2 * MS);
	CHECK(run_until(l, &p.done, 2000));
	CHECK_EQ(p.count, 5);
	run_for(l, 20);
	CHECK_EQ(p.count, 5);
	mainloop_free(l);
}

/* A callback re-arming its timer in the past must not starve the loop. */
struct spinner {
	struct timer *t;
	int count;
};

static void spin_tick(void *opaque)
{
	struct spinner *s = opaque;
	s->count++;
	timer_arm(s->t, 0);
}

TEST(mainloop_timer_past_rearm_one_per_round)
{
	struct mainloop *l = mainloop_new();
	struct spinner s = { 0 };
	s.t = timer_new(l, spin_tick, &s);
	timer_arm(s.t, 0);
	for (int i = 0; i < 5; i++)
		mainloop_run_once(l, 100);
	CHECK_EQ(s.count, 5);
	timer_free(s.t);
	mainloop_free(l);
}

/* Two timers due together: the first frees the second. */
struct killer {
	struct timer *victim;
	int victim_ran;
	volatile int killed;
};

static void kill_other(void *opaque)
{
	struct killer *k = opaque;
	timer_free(k->victim);
	k->victim = NULL;
	k->killed = 1;
}

static void victim_tick(void *opaque)
{
	struct killer *k = opaque;
	k->victim_ran = 1;
}

TEST(mainloop_timer_free_other_in_callback)
{
	struct mainloop *l = mainloop_new();
	struct killer k = { 0 };
	struct timer *a = timer_new(l, kill_other, &k);
	k.victim = timer_new(l, victim_tick, &k);
	uint64_t at = clock_ns() + 5 * MS;
	timer_arm(a, at);
	timer_arm(k.victim, at);
	CHECK(run_until(l, &k.killed, 2000));
	run_for(l, 30);
	CHECK(k.victim == NULL);
	CHECK_EQ(k.victim_ran, 0);
	timer_free(a);
	mainloop_free(l);
}

/* ---- calls from other threads ---- */

struct call_test {
	struct mainloop *l;
	pthread_t main_thread;
	int seen[100];
	int n;
	volatile int on_main;
	volatile int done;
};

struct call_arg {
	struct call_test *t;
	int v;
};

static void on_call(void *opaque)
{
	struct call_arg *a = opaque;
	a->t->seen[a->t->n++] = a->v;
	if (pthread_equal(pthread_self(), a->t->main_thread))
		a->t->on_main++;
	if (a->t->n == 100)
		a->t->done = 1;
}

static void *caller_thread(void *opaque)
{
	static struct call_arg args[100];
	struct call_test *t = opaque;
	for (int i = 0; i < 100; i++) {
		args[i].t = t;
		args[i].v = i;
		mainloop_call(t->l, on_call, &args[i]);
		if (i % 10 == 0)
			usleep(1000);
	}
	return NULL;
}

TEST(mainloop_call_from_thread)
{
	struct call_test t = { 0 };
	t.l = mainloop_new();
	t.main_thread = pthread_self();
	pthread_t th;
	pthread_create(&th, NULL, caller_thread, &t);
	CHECK(run_until(t.l, &t.done, 5000));
	pthread_join(th, NULL);
	CHECK_EQ(t.n, 100);
	CHECK_EQ(t.on_main, 100);
	for (int i = 0; i < 100; i++)
		CHECK_EQ(t.seen[i], i);
	mainloop_free(t.l);
}

/* A timer armed from another thread wakes a loop blocked forever. */
struct remote_arm {
	struct timer *t;
	volatile int fired;
};

static void remote_fired(void *opaque)
{
	((struct remote_arm *)opaque)->fired = 1;
}

static void *arm_thread(void *opaque)
{
	struct remote_arm *r = opaque;
	usleep(20000);
	timer_arm(r->t, clock_ns() + 5 * MS);
	return NULL;
}

TEST(mainloop_timer_armed_from_thread)
{
	struct mainloop *l = mainloop_new();
	struct remote_arm r = { 0 };
	r.t = timer_new(l, remote_fired, &r);
	pthread_t th;
	pthread_create(&th, NULL, arm_thread, &r);
	uint64_t end = clock_ns() + 3000 * MS;
	while (!r.fired && clock_ns() < end)
		mainloop_run_once(l, -1);
	pthread_join(th, NULL);
	CHECK(r.fired);
	timer_free(r.t);
	mainloop_free(l);
}

/* ---- fd watches ---- */

struct fd_test {
	struct mainloop *l;
	int calls;
	int last_fd;
	uint32_t last_events;
	char data[64];
	size_t len;
	bool remove_self;
	int other_fd;      /* removed (and closed) by the callback when >= 0 */
};

static void on_readable(void *opaque, int fd, uint32_t events)
{
	struct fd_test *t = opaque;
	t->calls++;
	t->last_fd = fd;
	t->last_events = events;
	ssize_t n = read(fd, t->data + t->len, sizeof(t->data) - t->len);
	if (n > 0)
		t->len += (size_t)n;
	if (t->remove_self) {
		mainloop_remove_fd(t->l, fd);
		close(fd);
	}
	if (t->other_fd >= 0) {
		mainloop_remove_fd(t->l, t->other_fd);
		close(t->other_fd);
		t->other_fd = -1;
	}
}

TEST(mainloop_fd_pipe)
{
	struct mainloop *l = mainloop_new();
	int p[2];
	CHECK(pipe(p) == 0);
	struct fd_test t = { .l = l, .other_fd = -1 };
	CHECK(mainloop_add_fd(l, p[0], EPOLLIN, on_readable, &t) == 0);
	CHECK(mainloop_add_fd(l, p[0], EPOLLIN, on_readable, &t) == -1);
	CHECK_EQ(errno, EEXIST);
	CHECK_EQ(mainloop_run_once(l, 0), 0);
	CHECK_EQ(t.calls, 0);
	CHECK(write(p[1], "hello", 5) == 5);
	CHECK_EQ(mainloop_run_once(l, 1000), 1);
	CHECK_EQ(t.calls, 1);
	CHECK_EQ(t.last_fd, p[0]);
	CHECK(t.last_events & EPOLLIN);
	CHECK(t.len == 5 && !memcmp(t.data, "hello", 5));
	/* Not interested: no calls even with data waiting. */
	CHECK(mainloop_mod_fd(l, p[0], 0) == 0);
	CHECK(write(p[1], "x", 1) == 1);
	CHECK_EQ(mainloop_run_once(l, 20), 0);
	CHECK_EQ(t.calls, 1);
	CHECK(mainloop_mod_fd(l, p[0], EPOLLIN) == 0);
	CHECK_EQ(mainloop_run_once(l, 1000), 1);
	CHECK_EQ(t.calls, 2);
	mainloop_remove_fd(l, p[0]);
	CHECK(write(p[1], "y", 1) == 1);
	CHECK_EQ(mainloop_run_once(l, 20), 0);
	CHECK_EQ(t.calls, 2);
	CHECK(mainloop_mod_fd(l, p[0], EPOLLIN) == -1);
	close(p[0]);
	close(p[1]);
	mainloop_free(l);
}

TEST(mainloop_fd_remove_self_in_callback)
{
	struct mainloop *l = mainloop_new();
	int p[2];
	CHECK(pipe(p) == 0);
	struct fd_test t = { .l = l, .remove_self = true, .other_fd = -1 };
	CHECK(mainloop_add_fd(l, p[0], EPOLLIN, on_readable, &t) == 0);
	CHECK(write(p[1], "ab", 2) == 2);
	mainloop_run_once(l, 1000);
	CHECK_EQ(t.calls, 1);
	/* The fd number may be reused right away. */
	int q[2];
	CHECK(pipe(q) == 0);
	struct fd_test t2 = { .l = l, .other_fd = -1 };
	CHECK(mainloop_add_fd(l, q[0], EPOLLIN, on_readable, &t2) == 0);
	CHECK(write(q[1], "c", 1) == 1);
	mainloop_run_once(l, 1000);
	CHECK_EQ(t2.calls, 1);
	CHECK_EQ(t.calls, 1);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	mainloop_free(l);
}

TEST(mainloop_fd_remove_other_in_same_batch)
{
	struct mainloop *l = mainloop_new();
	int a[2], b[2];
	CHECK(pipe(a) == 0 && pipe(b) == 0);
	/* Whichever runs first removes and closes the other one. */
	struct fd_test ta = { .l = l, .other_fd = b[0] };
	struct fd_test tb = { .l = l, .other_fd = a[0] };
	CHECK(mainloop_add_fd(l, a[0], EPOLLIN, on_readable, &ta) == 0);
	CHECK(mainloop_add_fd(l, b[0], EPOLLIN, on_readable, &tb) == 0);
	CHECK(write(a[1], "1", 1) == 1 && write(b[1], "2", 1) == 1);
	usleep(1000);
	mainloop_run_once(l, 1000);
	CHECK_EQ(ta.calls + tb.calls, 1);
	struct fd_test *winner = ta.calls ? &ta : &tb;
	int left = ta.calls ? a[0] : b[0];
	(void)winner;
	mainloop_remove_fd(l, left);
	close(left);
	close(a[1]);
	close(b[1]);
	mainloop_free(l);
}

TEST(mainloop_fd_hangup_reported)
{
	struct mainloop *l = mainloop_new();
	int p[2];
	CHECK(pipe(p) == 0);
	struct fd_test t = { .l = l, .other_fd = -1 };
	CHECK(mainloop_add_fd(l, p[0], 0, on_readable, &t) == 0);
	close(p[1]);
	CHECK_EQ(mainloop_run_once(l, 1000), 1);
	CHECK(t.last_events & EPOLLHUP);
	mainloop_remove_fd(l, p[0]);
	close(p[0]);
	mainloop_free(l);
}

TEST(mainloop_run_once_timeout)
{
	struct mainloop *l = mainloop_new();
	uint64_t t0 = clock_ns();
	CHECK_EQ(mainloop_run_once(l, 30), 0);
	uint64_t dt = clock_ns() - t0;
	CHECK(dt >= 25 * MS);
	CHECK(dt < 10000 * MS); /* returned at all: a busy host can be slow */
	mainloop_free(l);
}
