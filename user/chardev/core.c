/*
 * The generic part of a character device: allocation, the front end
 * calls, and the spec parser that picks a back end (chardev_open).  Each
 * back end lives in its own file: null.c, memory.c, stdio.c, pty.c,
 * file.c, unix.c (the last four on the fd machinery in fd.c) and mux.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chardev/backend.h"

void *chr_xzalloc(size_t size)
{
	void *p = calloc(1, size);
	if (!p) {
		fprintf(stderr, "qvm: out of memory\n");
		abort();
	}
	return p;
}

char *chr_xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p) {
		fprintf(stderr, "qvm: out of memory\n");
		abort();
	}
	return p;
}

/* ---- the generic part ---- */

struct chardev *chardev_new(const struct chardev_ops *ops, struct mainloop *l,
			    const char *label, void *priv)
{
	struct chardev *c = chr_xzalloc(sizeof(*c));
	c->ops = ops;
	c->loop = l;
	c->label = chr_xstrdup(label ? label : "chardev");
	pthread_mutex_init(&c->lock, NULL);
	c->priv = priv;
	return c;
}

void chardev_free(struct chardev *c)
{
	pthread_mutex_destroy(&c->lock);
	free(c->label);
	free(c->filename);
	free(c);
}

void chardev_set_filename(struct chardev *c, const char *fmt, const char *arg)
{
	char buf[512];
	snprintf(buf, sizeof(buf), fmt, arg);
	free(c->filename);
	c->filename = chr_xstrdup(buf);
}

const char *chardev_filename(const struct chardev *c)
{
	return c && c->filename ? c->filename : "";
}

void chardev_send_event(struct chardev *c, int event)
{
	if (c->fe.event)
		c->fe.event(c->fe.opaque, event);
}

size_t chardev_fe_can_receive(struct chardev *c)
{
	return c->fe.can_receive && c->fe.receive ? c->fe.can_receive(c->fe.opaque) : 0;
}

void chardev_fe_receive(struct chardev *c, const uint8_t *buf, size_t len)
{
	if (c->fe.receive && len)
		c->fe.receive(c->fe.opaque, buf, len);
}

void chardev_set_frontend(struct chardev *c, const struct chardev_frontend *fe)
{
	if (fe)
		c->fe = *fe;
	else
		memset(&c->fe, 0, sizeof(c->fe));
	if (c->ops->set_frontend)
		c->ops->set_frontend(c);
	else if (c->ops->accept_input)
		c->ops->accept_input(c);
}

ssize_t chardev_write(struct chardev *c, const void *buf, size_t len)
{
	if (!c)
		return (ssize_t)len;
	if (!len)
		return 0;
	pthread_mutex_lock(&c->lock);
	ssize_t ret = c->ops->write(c, buf, len);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

void chardev_accept_input(struct chardev *c)
{
	if (c && c->ops->accept_input)
		c->ops->accept_input(c);
}

void chardev_close(struct chardev *c)
{
	if (c)
		c->ops->close(c);
}

/* "serial0" -> "-serial", for messages that name the user's option. */
static void option_name(const char *label, char *buf, size_t size)
{
	if (!label)
		label = "chardev";
	size_t n = strlen(label);
	while (n > 1 && label[n - 1] >= '0' && label[n - 1] <= '9')
		n--;
	snprintf(buf, size, "-%.*s", (int)n, label);
}

static void chr_error(const char *label, const char *spec, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void chr_error(const char *label, const char *spec, const char *fmt, ...)
{
	char opt[64], msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	option_name(label, opt, sizeof(opt));
	qvm_error("%s %s: %s", opt, spec, msg);
}
int chr_parse_onoff(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true"))
		*out = true;
	else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false"))
		*out = false;
	else
		return -1;
	return 0;
}

/* ---- the spec ---- */

static struct chardev *open_mux(struct mainloop *l, const char *inner, const char *label)
{
	/* As in QEMU: mon:stdio hands ^C to the guest (Ctrl-A x quits). */
	if (!strcmp(inner, "stdio"))
		inner = "stdio,signal=off";
	struct chardev *backend = chardev_open(l, inner, label);
	if (!backend)
		return NULL;
	struct chardev *mux = chardev_mux_new(backend);
	chardev_set_filename(mux, "mon:%s", chardev_filename(backend));
	return mux;
}

/* Split "kind:arg" / "kind,opts": kind into buf, the rest returned. */
static const char *spec_kind(const char *spec, char *kind, size_t size)
{
	size_t n = strcspn(spec, ":,");
	snprintf(kind, size, "%.*s", (int)n, spec);
	return spec[n] == ':' ? spec + n + 1 : spec + n;
}

static struct chardev *open_backend(struct mainloop *l, const char *spec, const char *label,
				    char *err, size_t errsz)
{
	char kind[32];
	const char *rest = spec_kind(spec, kind, sizeof(kind));
	bool colon = spec[strlen(kind)] == ':';
	if (!strcmp(kind, "mon") && colon)
		return open_mux(l, rest, label);
	if (!strcmp(kind, "file") && colon)
		return chardev_open_file(l, rest, label, err, errsz);
	if (!strcmp(kind, "unix") && colon)
		return chardev_open_unix(l, rest, label, err, errsz);
	if (!strcmp(kind, "stdio") && !colon)
		return chardev_open_stdio(l, rest, label, err, errsz);
	bool bare = !strcmp(kind, "pty") || !strcmp(kind, "none") || !strcmp(kind, "null");
	if (bare && *rest)
		snprintf(err, errsz, "'%s' takes no arguments", kind);
	else if (!strcmp(kind, "pty"))
		return chardev_open_pty(l, label, err, errsz);
	else if (bare)
		return chardev_open_null(l, kind, label);
	else
		snprintf(err, errsz, "unknown chardev backend '%s'", kind);
	return NULL;
}

struct chardev *chardev_open(struct mainloop *l, const char *spec, const char *label)
{
	char err[512] = "";
	if (!spec)
		spec = "";
	struct chardev *c = open_backend(l, spec, label, err, sizeof(err));
	if (!c && err[0])
		chr_error(label, spec, "%s", err);
	return c;
}
