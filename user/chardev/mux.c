/*
 * The multiplexer behind -nographic and mon:SPEC: several front ends (the
 * first serial port, the monitor) share one back end.  Output from every
 * front end goes to the back end; input goes to the front end with the
 * focus, through a small queue per front end so that flow control reaches
 * back to the back end.  Ctrl-A starts an escape:
 *   C-a h  help       C-a x  quit        C-a c  next front end
 *   C-a b  break      C-a t  timestamps  C-a s  sync (nothing to do)
 *   C-a C-a  a literal C-a
 *
 * Lifetime: the mux handle and each front end hold a reference; the back
 * end is closed with the last one.
 *
 * Locks: m->lock (front end list, focus, escape state, refs) is taken
 * before a queue's lock; m->out_lock keeps output (and the timestamp state)
 * in one piece and is taken inside a front end's c->lock, before the back
 * end's.  Neither is held while a front end is called.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chardev/chardev.h"
#include "mainloop.h"

#define MUX_MAX_FE 4
#define MUX_QUEUE 256   /* bytes a front end may have waiting */
#define MUX_ESCAPE 0x01 /* Ctrl-A */

struct mux {
	struct chardev *self;
	struct chardev *backend;
	pthread_mutex_t lock;
	struct chardev *fes[MUX_MAX_FE];
	unsigned nr_fes, focus;
	bool escape;
	unsigned refs;
	void (*quit)(void *);
	void *quit_opaque;

	pthread_mutex_t out_lock;
	bool timestamps, line_start;
	uint64_t ts_base;
};

struct mux_fe {
	struct mux *mux;
	struct chardev_queue in;
};

static const struct chardev_ops mux_ops;

static struct mux_fe *fe_of(struct chardev *c)
{
	return c->priv;
}

/* ---- output ---- */

static void mux_stamp(struct mux *m)
{
	uint64_t ms = (clock_ns() - m->ts_base) / 1000000;
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "[%02u:%02u:%02u.%03u] ",
			 (unsigned)(ms / 3600000), (unsigned)(ms / 60000 % 60),
			 (unsigned)(ms / 1000 % 60), (unsigned)(ms % 1000));
	chardev_write(m->backend, buf, (size_t)n);
}

static void mux_out_stamped(struct mux *m, const uint8_t *p, size_t len)
{
	while (len) {
		if (m->line_start)
			mux_stamp(m);
		const uint8_t *nl = memchr(p, '\n', len);
		size_t n = nl ? (size_t)(nl - p) + 1 : len;
		chardev_write(m->backend, p, n);
		m->line_start = nl != NULL;
		p += n;
		len -= n;
	}
}

static ssize_t mux_out(struct mux *m, const void *buf, size_t len)
{
	ssize_t ret = (ssize_t)len;
	pthread_mutex_lock(&m->out_lock);
	if (m->timestamps)
		mux_out_stamped(m, buf, len);
	else
		ret = chardev_write(m->backend, buf, len);
	pthread_mutex_unlock(&m->out_lock);
	return ret;
}

static void mux_print(struct mux *m, const char *s)
{
	mux_out(m, s, strlen(s));
}

/* ---- input ---- */

/* Called with m->lock held. */
static struct chardev *mux_focused(struct mux *m)
{
	return m->nr_fes ? m->fes[m->focus] : NULL;
}

static void mux_push(struct mux *m, const uint8_t *p, size_t len)
{
	struct chardev *c = mux_focused(m);
	if (c && len)
		chardev_queue_push(&fe_of(c)->in, p, len);
}

/* Deliver what every front end has waiting. */
static void mux_deliver_all(struct mux *m)
{
	struct chardev *fes[MUX_MAX_FE];
	pthread_mutex_lock(&m->lock);
	unsigned n = m->nr_fes;
	memcpy(fes, m->fes, sizeof(fes));
	pthread_mutex_unlock(&m->lock);
	for (unsigned i = 0; i < n; i++)
		chardev_queue_deliver(&fe_of(fes[i])->in, fes[i]);
}

static void mux_help(struct mux *m)
{
	mux_print(m, "\r\n"
		  "C-a h    print this help\r\n"
		  "C-a x    exit qvm\r\n"
		  "C-a s    sync disks (nothing to do)\r\n"
		  "C-a t    toggle console timestamps\r\n"
		  "C-a b    send break\r\n"
		  "C-a c    switch between console and monitor\r\n"
		  "C-a C-a  send C-a\r\n");
}

static void mux_quit(struct mux *m)
{
	mux_print(m, "qvm: terminated\r\n");
	pthread_mutex_lock(&m->lock);
	void (*fn)(void *) = m->quit;
	void *opaque = m->quit_opaque;
	pthread_mutex_unlock(&m->lock);
	if (fn)
		fn(opaque);
	else
		exit(0);
}

static void mux_switch_focus(struct mux *m)
{
	pthread_mutex_lock(&m->lock);
	struct chardev *old = mux_focused(m);
	if (m->nr_fes)
		m->focus = (m->focus + 1) % m->nr_fes;
	struct chardev *new = mux_focused(m);
	pthread_mutex_unlock(&m->lock);
	if (old != new) {
		chardev_send_event(old, CHR_EVENT_FOCUS_OUT);
		chardev_send_event(new, CHR_EVENT_FOCUS_IN);
	}
	chardev_accept_input(m->backend); /* the new queue may have room */
}

static void mux_send_break(struct mux *m)
{
	pthread_mutex_lock(&m->lock);
	struct chardev *c = mux_focused(m);
	pthread_mutex_unlock(&m->lock);
	if (c)
		chardev_send_event(c, CHR_EVENT_BREAK);
}

static void mux_toggle_timestamps(struct mux *m)
{
	pthread_mutex_lock(&m->out_lock);
	m->timestamps = !m->timestamps;
	m->ts_base = clock_ns();
	m->line_start = true;
	pthread_mutex_unlock(&m->out_lock);
}

static void mux_command(struct mux *m, uint8_t ch)
{
	switch (ch) {
	case 'h':
	case '?':
		mux_help(m);
		break;
	case 'x':
		mux_quit(m);
		break;
	case 'c':
		mux_switch_focus(m);
		break;
	case 'b':
		mux_send_break(m);
		break;
	case 't':
		mux_toggle_timestamps(m);
		break;
	default: /* 's' and unknown escapes: nothing */
		break;
	}
}

/* Consume one step of input: a run of plain bytes, an escape start, or
 * the byte after an escape.  Returns bytes used; *cmd gets an escape
 * command to run (unlocked), or -1. */
static size_t mux_scan(struct mux *m, const uint8_t *p, size_t len, int *cmd)
{
	*cmd = -1;
	if (m->escape) {
		m->escape = false;
		if (p[0] == MUX_ESCAPE)
			mux_push(m, p, 1);
		else
			*cmd = p[0];
		return 1;
	}
	const uint8_t *esc = memchr(p, MUX_ESCAPE, len);
	size_t run = esc ? (size_t)(esc - p) : len;
	mux_push(m, p, run);
	if (esc)
		m->escape = true;
	return esc ? run + 1 : run;
}

void chardev_mux_input(struct chardev *mux, const void *buf, size_t len)
{
	struct mux *m = mux->priv;
	const uint8_t *p = buf;
	while (len) {
		int cmd;
		pthread_mutex_lock(&m->lock);
		size_t used = mux_scan(m, p, len, &cmd);
		pthread_mutex_unlock(&m->lock);
		p += used;
		len -= used;
		if (cmd >= 0) {
			mux_deliver_all(m); /* what came before goes first */
			mux_command(m, (uint8_t)cmd);
		}
	}
	mux_deliver_all(m);
}

/* ---- the mux as the back end's front end ---- */

static size_t mux_can_receive(void *opaque)
{
	struct mux *m = opaque;
	pthread_mutex_lock(&m->lock);
	size_t room = MUX_QUEUE;
	struct chardev *c = mux_focused(m);
	if (c) {
		size_t queued = chardev_queue_len(&fe_of(c)->in);
		room = queued < MUX_QUEUE ? MUX_QUEUE - queued : 0;
	}
	pthread_mutex_unlock(&m->lock);
	return room;
}

static void mux_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct mux *m = opaque;
	chardev_mux_input(m->self, buf, len);
}

/* A socket back end connecting or leaving: tell every front end. */
static void mux_backend_event(void *opaque, int event)
{
	struct mux *m = opaque;
	if (event != CHR_EVENT_OPENED && event != CHR_EVENT_CLOSED)
		return;
	struct chardev *fes[MUX_MAX_FE];
	pthread_mutex_lock(&m->lock);
	unsigned n = m->nr_fes;
	memcpy(fes, m->fes, sizeof(fes));
	pthread_mutex_unlock(&m->lock);
	for (unsigned i = 0; i < n; i++)
		chardev_send_event(fes[i], event);
}

/* ---- lifetime ---- */

static void mux_unref(struct mux *m)
{
	pthread_mutex_lock(&m->lock);
	bool last = --m->refs == 0;
	pthread_mutex_unlock(&m->lock);
	if (!last)
		return;
	chardev_close(m->backend);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->out_lock);
	chardev_free(m->self);
	free(m);
}

/* ---- the mux handle ---- */

static ssize_t mux_self_write(struct chardev *c, const void *buf, size_t len)
{
	return mux_out(c->priv, buf, len);
}

static void mux_self_close(struct chardev *c)
{
	mux_unref(c->priv);
}

static const struct chardev_ops mux_ops = {
	.write = mux_self_write,
	.close = mux_self_close,
};

bool chardev_is_mux(const struct chardev *c)
{
	return c && c->ops == &mux_ops;
}

struct chardev *chardev_mux_new(struct chardev *backend)
{
	struct mux *m = calloc(1, sizeof(*m));
	if (!m)
		abort();
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->out_lock, NULL);
	m->refs = 1;
	m->backend = backend;
	m->line_start = true;
	m->self = chardev_new(&mux_ops, backend->loop, backend->label, m);
	m->self->filename = strdup(chardev_filename(backend));
	struct chardev_frontend fe = {
		.can_receive = mux_can_receive,
		.receive = mux_receive,
		.event = mux_backend_event,
		.opaque = m,
	};
	chardev_set_frontend(backend, &fe);
	return m->self;
}

void chardev_mux_set_quit_handler(struct chardev *mux, void (*fn)(void *), void *opaque)
{
	struct mux *m = mux->priv;
	pthread_mutex_lock(&m->lock);
	m->quit = fn;
	m->quit_opaque = opaque;
	pthread_mutex_unlock(&m->lock);
}

/* ---- front ends ---- */

static ssize_t mux_fe_write(struct chardev *c, const void *buf, size_t len)
{
	return mux_out(fe_of(c)->mux, buf, len);
}

static bool mux_is_focused(struct mux *m, struct chardev *c)
{
	pthread_mutex_lock(&m->lock);
	bool focused = mux_focused(m) == c;
	pthread_mutex_unlock(&m->lock);
	return focused;
}

static void mux_fe_accept_input(struct chardev *c)
{
	struct mux *m = fe_of(c)->mux;
	chardev_queue_deliver(&fe_of(c)->in, c);
	if (mux_is_focused(m, c))
		chardev_accept_input(m->backend);
}

static void mux_fe_set_frontend(struct chardev *c)
{
	struct mux *m = fe_of(c)->mux;
	chardev_send_event(c, CHR_EVENT_OPENED);
	if (mux_is_focused(m, c))
		chardev_send_event(c, CHR_EVENT_FOCUS_IN);
	mux_fe_accept_input(c);
}

static void mux_fe_close(struct chardev *c)
{
	struct mux *m = fe_of(c)->mux;
	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i < m->nr_fes; i++) {
		if (m->fes[i] != c)
			continue;
		memmove(&m->fes[i], &m->fes[i + 1], (m->nr_fes - i - 1) * sizeof(m->fes[0]));
		m->nr_fes--;
		if (m->focus > i || m->focus >= m->nr_fes)
			m->focus = m->focus ? m->focus - 1 : 0;
		break;
	}
	pthread_mutex_unlock(&m->lock);
	chardev_queue_destroy(&fe_of(c)->in);
	free(c->priv);
	chardev_free(c);
	mux_unref(m);
}

static const struct chardev_ops mux_fe_ops = {
	.write = mux_fe_write,
	.accept_input = mux_fe_accept_input,
	.close = mux_fe_close,
	.set_frontend = mux_fe_set_frontend,
};

bool chardev_is_mux_frontend(const struct chardev *c)
{
	return c && c->ops == &mux_fe_ops;
}

struct chardev *chardev_mux_add(struct chardev *mux, const char *label)
{
	if (!chardev_is_mux(mux)) {
		qvm_error("%s: not a multiplexer", label ? label : "chardev");
		return NULL;
	}
	struct mux *m = mux->priv;
	pthread_mutex_lock(&m->lock);
	if (m->nr_fes == MUX_MAX_FE) {
		pthread_mutex_unlock(&m->lock);
		qvm_error("%s: too many front ends on one multiplexer (at most %d)",
			  label ? label : "chardev", MUX_MAX_FE);
		return NULL;
	}
	struct mux_fe *f = calloc(1, sizeof(*f));
	if (!f)
		abort();
	f->mux = m;
	chardev_queue_init(&f->in);
	struct chardev *c = chardev_new(&mux_fe_ops, mux->loop, label, f);
	c->filename = strdup(chardev_filename(mux));
	m->fes[m->nr_fes++] = c;
	m->refs++;
	pthread_mutex_unlock(&m->lock);
	return c;
}
