/* The memory back end for tests: records output, injects input. */
#include <stdlib.h>
#include <string.h>
#include "chardev/backend.h"

struct memchr {
	char *out;          /* under c->lock, NUL-terminated */
	size_t out_len, out_cap;
	struct chardev_queue in;
};

static ssize_t mem_write(struct chardev *c, const void *buf, size_t len)
{
	struct memchr *m = c->priv;
	if (m->out_len + len + 1 > m->out_cap) {
		size_t cap = m->out_cap ? m->out_cap : 256;
		while (cap < m->out_len + len + 1)
			cap *= 2;
		char *p = realloc(m->out, cap);
		if (!p)
			return -1;
		m->out = p;
		m->out_cap = cap;
	}
	memcpy(m->out + m->out_len, buf, len);
	m->out_len += len;
	m->out[m->out_len] = 0;
	return (ssize_t)len;
}

static void mem_accept_input(struct chardev *c)
{
	struct memchr *m = c->priv;
	chardev_queue_deliver(&m->in, c);
}

static void mem_set_frontend(struct chardev *c)
{
	chardev_send_event(c, CHR_EVENT_OPENED);
	mem_accept_input(c);
}

static void mem_close(struct chardev *c)
{
	struct memchr *m = c->priv;
	chardev_queue_destroy(&m->in);
	free(m->out);
	free(m);
	chardev_free(c);
}

static const struct chardev_ops mem_ops = {
	.write = mem_write,
	.accept_input = mem_accept_input,
	.close = mem_close,
	.set_frontend = mem_set_frontend,
};

struct chardev *chardev_memory_new(void)
{
	struct memchr *m = chr_xzalloc(sizeof(*m));
	chardev_queue_init(&m->in);
	struct chardev *c = chardev_new(&mem_ops, NULL, "memory", m);
	chardev_set_filename(c, "%s", "memory");
	return c;
}

const char *chardev_memory_output(struct chardev *c, size_t *len)
{
	struct memchr *m = c->priv;
	pthread_mutex_lock(&c->lock);
	const char *p = m->out ? m->out : "";
	if (len)
		*len = m->out_len;
	pthread_mutex_unlock(&c->lock);
	return p;
}

void chardev_memory_clear(struct chardev *c)
{
	struct memchr *m = c->priv;
	pthread_mutex_lock(&c->lock);
	m->out_len = 0;
	if (m->out)
		m->out[0] = 0;
	pthread_mutex_unlock(&c->lock);
}

void chardev_memory_inject(struct chardev *c, const void *buf, size_t len)
{
	struct memchr *m = c->priv;
	chardev_queue_push(&m->in, buf, len);
	chardev_queue_deliver(&m->in, c);
}

size_t chardev_memory_pending(struct chardev *c)
{
	struct memchr *m = c->priv;
	return chardev_queue_len(&m->in);
}
