/* The qvm state stream's framing (see stream.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "migration/stream.h"

int stream_fail(char *err, size_t len, bool *failed, const char *fmt, ...)
{
	if (*failed)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	*failed = true;
	return -1;
}

static void put_le(uint8_t *b, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		b[i] = v >> (8 * i);
}

static uint64_t get_le(const uint8_t *b, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

/* ---- writing ---- */

void stream_writer_init(struct stream_writer *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
}

int stream_write(struct stream_writer *w, const void *p, size_t n)
{
	const uint8_t *b = p;
	if (w->failed)
		return -1;
	while (n) {
		ssize_t k = write(w->fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return stream_wfail(w, "writing the state: %s",
					    k < 0 ? strerror(errno) : "nothing written");
		b += k;
		n -= k;
		w->bytes += k;
	}
	return 0;
}

int stream_write_header(struct stream_writer *w)
{
	uint8_t h[16];
	memcpy(h, STREAM_MAGIC, 8);
	put_le(h + 8, STREAM_VERSION, 4);
	put_le(h + 12, 0, 4);
	return stream_write(w, h, sizeof(h));
}

int stream_begin_section(struct stream_writer *w, uint32_t id, uint32_t flags, uint64_t len)
{
	uint8_t h[16];
	put_le(h, id, 4);
	put_le(h + 4, flags, 4);
	put_le(h + 8, len, 8);
	return stream_write(w, h, sizeof(h));
}

int stream_write_section(struct stream_writer *w, uint32_t id, uint32_t flags,
			 const void *p, size_t n)
{
	if (stream_begin_section(w, id, flags, n) < 0)
		return -1;
	return stream_write(w, p, n);
}

int stream_write_end(struct stream_writer *w)
{
	return stream_begin_section(w, STREAM_SEC_END, 0, 0);
}

/* ---- reading ---- */

void stream_reader_init(struct stream_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
}

/* Exactly n bytes from the fd, whatever the section. */
static int read_raw(struct stream_reader *r, void *p, size_t n)
{
	uint8_t *b = p;
	if (r->failed)
		return -1;
	while (n) {
		ssize_t k = read(r->fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return stream_rfail(r, "reading the state: %s", strerror(errno));
		if (k == 0)
			return stream_rfail(r, "the state stream is truncated at byte %llu",
					    (unsigned long long)r->pos);
		b += k;
		n -= k;
		r->pos += k;
	}
	return 0;
}

int stream_read_header(struct stream_reader *r)
{
	uint8_t h[16];
	if (read_raw(r, h, sizeof(h)) < 0)
		return -1;
	if (memcmp(h, STREAM_MAGIC, 8))
		return stream_rfail(r, "not a qvm state stream (bad magic)");
	uint32_t version = get_le(h + 8, 4), flags = get_le(h + 12, 4);
	if (version != STREAM_VERSION)
		return stream_rfail(r, "state stream version %u: this qvm reads version %u",
				    version, STREAM_VERSION);
	if (flags)
		return stream_rfail(r, "state stream header flags 0x%x unknown", flags);
	return 0;
}

int stream_next_section(struct stream_reader *r, struct stream_section_hdr *h)
{
	uint8_t b[16];
	if (r->left)
		return stream_rfail(r, "internal: %llu bytes of a section left unread",
				    (unsigned long long)r->left);
	if (read_raw(r, b, sizeof(b)) < 0)
		return -1;
	h->id = get_le(b, 4);
	h->flags = get_le(b + 4, 4);
	h->len = get_le(b + 8, 8);
	if (h->flags & ~STREAM_SEC_OPTIONAL)
		return stream_rfail(r, "section %u has unknown flags 0x%x", h->id, h->flags);
	if (h->id == STREAM_SEC_END && h->len)
		return stream_rfail(r, "the end section has a length");
	r->left = h->len;
	return 0;
}

int stream_read(struct stream_reader *r, void *p, size_t n)
{
	if (n > r->left)
		return stream_rfail(r, "a section ends %llu bytes early",
				    (unsigned long long)(n - r->left));
	if (read_raw(r, p, n) < 0)
		return -1;
	r->left -= n;
	return 0;
}

int stream_skip(struct stream_reader *r)
{
	uint8_t buf[4096];
	while (r->left) {
		size_t n = MIN(r->left, sizeof(buf));
		if (stream_read(r, buf, n) < 0)
			return -1;
	}
	return 0;
}

void *stream_read_all(struct stream_reader *r, size_t *len)
{
	if (r->left > STREAM_SECTION_MAX) {
		stream_rfail(r, "a section of %llu bytes is larger than %u",
			     (unsigned long long)r->left, STREAM_SECTION_MAX);
		return NULL;
	}
	size_t n = r->left;
	void *p = malloc(n ? n : 1);
	if (!p) {
		stream_rfail(r, "out of memory");
		return NULL;
	}
	if (stream_read(r, p, n) < 0) {
		free(p);
		return NULL;
	}
	*len = n;
	return p;
}
