/* Device and CPU state serialisation (see state.h). */
#include <stdlib.h>
#include <string.h>
#include "state.h"

void state_init(struct state_buf *s)
{
	memset(s, 0, sizeof(*s));
}

void state_free(struct state_buf *s)
{
	free(s->data);
	memset(s, 0, sizeof(*s));
}

void state_rewind(struct state_buf *s)
{
	s->pos = 0;
	s->error = false;
}

void state_put_bytes(struct state_buf *s, const void *p, size_t n)
{
	if (s->error)
		return;
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		while (cap < s->len + n)
			cap *= 2;
		uint8_t *d = realloc(s->data, cap);
		if (!d) {
			s->error = true;
			return;
		}
		s->data = d;
		s->cap = cap;
	}
	memcpy(s->data + s->len, p, n);
	s->len += n;
}

void state_get_bytes(struct state_buf *s, void *p, size_t n)
{
	if (s->error || n > s->len - s->pos) {
		s->error = true;
		memset(p, 0, n);
		return;
	}
	memcpy(p, s->data + s->pos, n);
	s->pos += n;
}

static void put_le(struct state_buf *s, uint64_t v, unsigned bytes)
{
	uint8_t b[8];
	for (unsigned i = 0; i < bytes; i++)
		b[i] = v >> (8 * i);
	state_put_bytes(s, b, bytes);
}

static uint64_t get_le(struct state_buf *s, unsigned bytes)
{
	uint8_t b[8];
	uint64_t v = 0;
	state_get_bytes(s, b, bytes);
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

void state_put_u8(struct state_buf *s, uint8_t v) { put_le(s, v, 1); }
void state_put_u16(struct state_buf *s, uint16_t v) { put_le(s, v, 2); }
void state_put_u32(struct state_buf *s, uint32_t v) { put_le(s, v, 4); }
void state_put_u64(struct state_buf *s, uint64_t v) { put_le(s, v, 8); }
uint8_t state_get_u8(struct state_buf *s) { return get_le(s, 1); }
uint16_t state_get_u16(struct state_buf *s) { return get_le(s, 2); }
uint32_t state_get_u32(struct state_buf *s) { return get_le(s, 4); }
uint64_t state_get_u64(struct state_buf *s) { return get_le(s, 8); }
