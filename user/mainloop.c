/*
 * The main thread's event loop.
 *
 * File descriptors are watched with epoll (level-triggered).  Timers live in
 * one list sorted by expiry; a single timerfd is programmed for the earliest
 * one.  mainloop_call() queues a function under a lock and pokes an eventfd.
 * The timerfd and the eventfd are ordinary watches with internal callbacks.
 *
 * Safety rules:
 * - A watch removed while events for it are pending in the current batch is
 *   marked dead and freed only after the batch (at nesting depth 0), so a
 *   callback may remove any watch, its own included, and close the fd.
 * - A timer is unlinked before its callback runs and never touched after, so
 *   a callback may re-arm or free its own timer or any other.
 * - The watch list, the timer list and the call queue are under one lock, so
 *   add/mod/remove, timer_arm/cancel and mainloop_call work from any thread.
 *   Callbacks run on the thread in mainloop_run_once, with no lock held.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "mainloop.h"

#define MAX_EVENTS 64

struct watch {
	int fd;
	fd_handler cb;
	void *opaque;
	bool dead;
	struct watch *next;
};

struct timer {
	struct mainloop *loop;
	timer_cb cb;
	void *opaque;
	uint64_t expire;
	uint64_t seq;           /* arm order: fires after older arms */
	bool armed;
	struct timer *next;     /* in loop->armed, by expiry */
};

struct call {
	timer_cb cb;
	void *opaque;
	struct call *next;
};

struct mainloop {
	int epfd, tfd, efd;
	pthread_mutex_t lock;
	struct watch *watches;  /* live */
	struct watch *dead;     /* removed, freed after the current batch */
	struct timer *armed;    /* sorted by expiry, then seq */
	uint64_t programmed;    /* timerfd expiry; 0 = disarmed */
	uint64_t arm_seq;
	struct call *calls, **calls_tail;
	int depth;              /* nesting of mainloop_run_once */
};

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (!p) {
		fprintf(stderr, "qvm: out of memory\n");
		abort();
	}
	return p;
}

uint64_t clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- fd watches ---- */

static struct watch *find_watch(struct mainloop *l, int fd, struct watch ***link)
{
	struct watch **pp;
	for (pp = &l->watches; *pp; pp = &(*pp)->next) {
		if ((*pp)->fd == fd) {
			if (link)
				*link = pp;
			return *pp;
		}
	}
	return NULL;
}

int mainloop_add_fd(struct mainloop *l, int fd, uint32_t events, fd_handler cb, void *opaque)
{
	struct watch *w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->cb = cb;
	w->opaque = opaque;
	struct epoll_event ev = { .events = events, .data.ptr = w };

	pthread_mutex_lock(&l->lock);
	int ret = -1;
	if (find_watch(l, fd, NULL))
		errno = EEXIST;
	else if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
		ret = 0;
	if (ret == 0) {
		w->next = l->watches;
		l->watches = w;
	}
	pthread_mutex_unlock(&l->lock);
	if (ret < 0) {
		int e = errno;
		free(w);
		errno = e;
	}
	return ret;
}

int mainloop_mod_fd(struct mainloop *l, int fd, uint32_t events)
{
	pthread_mutex_lock(&l->lock);
	int ret = -1;
	struct watch *w = find_watch(l, fd, NULL);
	if (!w) {
		errno = ENOENT;
	} else {
		struct epoll_event ev = { .events = events, .data.ptr = w };
		ret = epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

void mainloop_remove_fd(struct mainloop *l, int fd)
{
	struct watch **link;
	pthread_mutex_lock(&l->lock);
	struct watch *w = find_watch(l, fd, &link);
	if (w) {
		/* The fd may already be closed: then epoll dropped it itself. */
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		*link = w->next;
		w->dead = true;
		w->next = l->dead;
		l->dead = w;
	}
	pthread_mutex_unlock(&l->lock);
}

static void free_dead_watches(struct mainloop *l)
{
	pthread_mutex_lock(&l->lock);
	struct watch *w = l->dead;
	l->dead = NULL;
	pthread_mutex_unlock(&l->lock);
	while (w) {
		struct watch *next = w->next;
		free(w);
		w = next;
	}
}

static void dispatch_watch(struct mainloop *l, struct watch *w, uint32_t events)
{
	pthread_mutex_lock(&l->lock);
	bool dead = w->dead;
	fd_handler cb = w->cb;
	void *opaque = w->opaque;
	int fd = w->fd;
	pthread_mutex_unlock(&l->lock);
	if (!dead)
		cb(opaque, fd, events);
}

/* ---- timers ---- */

/* Program the timerfd for the earliest armed timer.  Called locked. */
static void reprogram(struct mainloop *l)
{
	uint64_t want = 0;
	if (l->armed)
		want = l->armed->expire ? l->armed->expire : 1; /* 0 would disarm */
	if (want == l->programmed)
		return;
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(want / 1000000000ULL),
			      .tv_nsec = (long)(want % 1000000000ULL) },
	};
	timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	l->programmed = want;
}

static void unlink_timer(struct timer *t)
{
	struct timer **pp = &t->loop->armed;
	while (*pp && *pp != t)
		pp = &(*pp)->next;
	if (*pp)
		*pp = t->next;
	t->next = NULL;
	t->armed = false;
}

struct timer *timer_new(struct mainloop *l, timer_cb cb, void *opaque)
{
	struct timer *t = xcalloc(1, sizeof(*t));
	t->loop = l;
	t->cb = cb;
	t->opaque = opaque;
	return t;
}

void timer_arm(struct timer *t, uint64_t expire_ns)
{
	struct mainloop *l = t->loop;
	pthread_mutex_lock(&l->lock);
	if (t->armed)
		unlink_timer(t);
	t->expire = expire_ns;
	t->seq = ++l->arm_seq;
	struct timer **pp = &l->armed;
	while (*pp && (*pp)->expire <= expire_ns)
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
	t->armed = true;
	reprogram(l);
	pthread_mutex_unlock(&l->lock);
}

void timer_cancel(struct timer *t)
{
	if (!t)
		return;
	struct mainloop *l = t->loop;
	pthread_mutex_lock(&l->lock);
	if (t->armed) {
		unlink_timer(t);
		reprogram(l);
	}
	pthread_mutex_unlock(&l->lock);
}

bool timer_pending(struct timer *t)
{
	pthread_mutex_lock(&t->loop->lock);
	bool armed = t->armed;
	pthread_mutex_unlock(&t->loop->lock);
	return armed;
}

void timer_free(struct timer *t)
{
	if (!t)
		return;
	timer_cancel(t);
	free(t);
}

/* The first timer due by now that was armed before this round began (a
 * callback re-arming in the past fires in the next round, not in a loop).
 * Called locked; unlinks it. */
static struct timer *pop_expired(struct mainloop *l, uint64_t now, uint64_t seq_limit)
{
	for (struct timer *t = l->armed; t && t->expire <= now; t = t->next) {
		if (t->seq <= seq_limit) {
			unlink_timer(t);
			return t;
		}
	}
	return NULL;
}

static void run_timers(struct mainloop *l)
{
	uint64_t now = clock_ns();
	pthread_mutex_lock(&l->lock);
	uint64_t limit = l->arm_seq;
	struct timer *t;
	while ((t = pop_expired(l, now, limit))) {
		timer_cb cb = t->cb;
		void *opaque = t->opaque;
		pthread_mutex_unlock(&l->lock);
		cb(opaque);
		pthread_mutex_lock(&l->lock);
	}
	reprogram(l);
	pthread_mutex_unlock(&l->lock);
}

static void timerfd_ready(void *opaque, int fd, uint32_t events)
{
	struct mainloop *l = opaque;
	uint64_t ticks;
	(void)events;
	if (read(fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&l->lock);
	l->programmed = 0; /* a one-shot timerfd that fired is disarmed */
	pthread_mutex_unlock(&l->lock);
	run_timers(l);
}

/* ---- calls from other threads ---- */

void mainloop_call(struct mainloop *l, timer_cb cb, void *opaque)
{
	struct call *c = xcalloc(1, sizeof(*c));
	c->cb = cb;
	c->opaque = opaque;
	pthread_mutex_lock(&l->lock);
	*l->calls_tail = c;
	l->calls_tail = &c->next;
	pthread_mutex_unlock(&l->lock);
	uint64_t one = 1;
	while (write(l->efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void eventfd_ready(void *opaque, int fd, uint32_t events)
{
	struct mainloop *l = opaque;
	uint64_t count;
	(void)events;
	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&l->lock);
	struct call *c = l->calls;
	l->calls = NULL;
	l->calls_tail = &l->calls;
	pthread_mutex_unlock(&l->lock);
	while (c) {
		struct call *next = c->next;
		c->cb(c->opaque);
		free(c);
		c = next;
	}
}

/* ---- the loop ---- */

struct mainloop *mainloop_new(void)
{
	struct mainloop *l = xcalloc(1, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	l->calls_tail = &l->calls;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->epfd < 0 || l->tfd < 0 || l->efd < 0 ||
	    mainloop_add_fd(l, l->tfd, EPOLLIN, timerfd_ready, l) < 0 ||
	    mainloop_add_fd(l, l->efd, EPOLLIN, eventfd_ready, l) < 0) {
		qvm_error("cannot create the main loop: %s", strerror(errno));
		mainloop_free(l);
		return NULL;
	}
	return l;
}

void mainloop_free(struct mainloop *l)
{
	if (!l)
		return;
	while (l->watches)
		mainloop_remove_fd(l, l->watches->fd);
	free_dead_watches(l);
	while (l->armed)            /* timers belong to their owners */
		unlink_timer(l->armed);
	while (l->calls) {
		struct call *next = l->calls->next;
		free(l->calls);
		l->calls = next;
	}
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->tfd >= 0)
		close(l->tfd);
	if (l->efd >= 0)
		close(l->efd);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

int mainloop_run_once(struct mainloop *l, int timeout_ms)
{
	struct epoll_event ev[MAX_EVENTS];
	int n = epoll_wait(l->epfd, ev, MAX_EVENTS, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	l->depth++;
	for (int i = 0; i < n; i++)
		dispatch_watch(l, ev[i].data.ptr, ev[i].events);
	l->depth--;
	if (l->depth == 0)
		free_dead_watches(l);
	return n;
}
