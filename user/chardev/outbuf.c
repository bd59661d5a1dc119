/* Coalesced output with a flusher thread (outbuf.h). */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "chardev/backend.h"
#include "chardev/outbuf.h"

#define OUTBUF_SIZE 8192
/* How long the flusher lets bytes gather after the first: far below what
 * a person at a terminal notices, long enough for a line of a boot log. */
#define COALESCE_NS 1000000

struct outbuf {
	struct chardev *c;
	outbuf_flush_fn flush;
	pthread_t thread;
	pthread_cond_t data_cond;   /* bytes arrived, or stop */
	pthread_cond_t space_cond;  /* the buffer was written out */
	bool stop;
	bool failed;                /* a flush returned -1 */
	size_t len;
	uint8_t data[OUTBUF_SIZE];
	struct outbuf *next;        /* all of them, for outbuf_flush_all */
	pid_t owner;                /* a forked child leaves them alone */
};

static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct outbuf *all;
static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;

/* With c->lock held. */
static void flush_locked(struct outbuf *o)
{
	if (o->len && o->flush(o->c, o->data, o->len) < 0)
		o->failed = true;
	o->len = 0;
	pthread_cond_broadcast(&o->space_cond);
}

static void *flusher(void *opaque)
{
	struct outbuf *o = opaque;
	struct chardev *c = o->c;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!o->len && !o->stop)
			pthread_cond_wait(&o->data_cond, &c->lock);
		if (!o->len)
			break;
		if (!o->stop) {
			struct timespec ts = { 0, COALESCE_NS };
			pthread_mutex_unlock(&c->lock);
			nanosleep(&ts, NULL);
			pthread_mutex_lock(&c->lock);
		}
		flush_locked(o);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static void register_atexit(void)
{
	atexit(outbuf_flush_all);
}

struct outbuf *outbuf_new(struct chardev *c, outbuf_flush_fn flush)
{
	struct outbuf *o = chr_xzalloc(sizeof(*o));
	o->c = c;
	o->flush = flush;
	o->owner = getpid();
	pthread_cond_init(&o->data_cond, NULL);
	pthread_cond_init(&o->space_cond, NULL);
	/* the flusher takes no signal: kicks and ^C are for other threads */
	sigset_t every, old;
	sigfillset(&every);
	pthread_sigmask(SIG_BLOCK, &every, &old);
	int err = pthread_create(&o->thread, NULL, flusher, o);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pthread_cond_destroy(&o->data_cond);
		pthread_cond_destroy(&o->space_cond);
		free(o);
		return NULL;    /* the caller writes directly */
	}
	pthread_once(&atexit_once, register_atexit);
	pthread_mutex_lock(&all_lock);
	o->next = all;
	all = o;
	pthread_mutex_unlock(&all_lock);
	return o;
}

ssize_t outbuf_write(struct outbuf *o, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t left = len;
	if (o->failed)
		return -1;
	while (left) {
		if (o->len == OUTBUF_SIZE) {
			pthread_cond_signal(&o->data_cond);
			pthread_cond_wait(&o->space_cond, &o->c->lock);
			if (o->failed)
				return -1;
			continue;
		}
		size_t n = OUTBUF_SIZE - o->len < left ? OUTBUF_SIZE - o->len : left;
		if (!o->len)
			pthread_cond_signal(&o->data_cond);
		memcpy(o->data + o->len, p, n);
		o->len += n;
		p += n;
		left -= n;
	}
	return (ssize_t)len;
}

void outbuf_free(struct outbuf *o)
{
	if (!o)
		return;
	pthread_mutex_lock(&all_lock);
	for (struct outbuf **l = &all; *l; l = &(*l)->next)
		if (*l == o) {
			*l = o->next;
			break;
		}
	pthread_mutex_unlock(&all_lock);
	pthread_mutex_lock(&o->c->lock);
	o->stop = true;
	pthread_cond_signal(&o->data_cond);
	pthread_mutex_unlock(&o->c->lock);
	pthread_join(o->thread, NULL);     /* it writes out the rest first */
	pthread_cond_destroy(&o->data_cond);
	pthread_cond_destroy(&o->space_cond);
	free(o);
}

void outbuf_flush_all(void)
{
	pthread_mutex_lock(&all_lock);
	for (struct outbuf *o = all; o; o = o->next) {
		if (o->owner != getpid())
			continue;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		/* a thread stuck writing to a terminal nobody reads holds it */
		if (pthread_mutex_timedlock(&o->c->lock, &until) != 0)
			continue;
		flush_locked(o);
		pthread_mutex_unlock(&o->c->lock);
	}
	pthread_mutex_unlock(&all_lock);
}
