/*
 * Device and CPU state serialisation: a growable byte buffer with typed
 * put/get helpers.  Every device implements save and load with these, so
 * savevm, loadvm and migration walk the device list.  Little-endian,
 * fixed width; a get past the end sets the error flag and returns 0.
 */
#ifndef QVM_STATE_H
#define QVM_STATE_H

#include "qvm.h"

struct state_buf {
	uint8_t *data;
	size_t len, cap, pos;
	bool error;
};

void state_init(struct state_buf *s);
void state_free(struct state_buf *s);
void state_rewind(struct state_buf *s);
void state_put_u8(struct state_buf *s, uint8_t v);
void state_put_u16(struct state_buf *s, uint16_t v);
void state_put_u32(struct state_buf *s, uint32_t v);
void state_put_u64(struct state_buf *s, uint64_t v);
void state_put_bytes(struct state_buf *s, const void *p, size_t n);
uint8_t state_get_u8(struct state_buf *s);
uint16_t state_get_u16(struct state_buf *s);
uint32_t state_get_u32(struct state_buf *s);
uint64_t state_get_u64(struct state_buf *s);
void state_get_bytes(struct state_buf *s, void *p, size_t n);

#endif
