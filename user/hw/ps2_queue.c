/* The byte queue of a PS/2 device (ps2.h). */
#include "qvm.h"
#include "state.h"
#include "ps2.h"

void ps2_queue_clear(struct ps2_queue *q)
{
	q->head = q->count = 0;
}

void ps2_queue_put(struct ps2_queue *q, uint8_t byte)
{
	if (q->count == PS2_QUEUE_SIZE) {
		qvm_log(LOG_GUEST_ERRORS, "ps2: queue full, byte 0x%02x dropped", byte);
		return;
	}
	q->data[(q->head + q->count++) % PS2_QUEUE_SIZE] = byte;
}

bool ps2_queue_has_room(const struct ps2_queue *q, unsigned n)
{
	return q->count + n <= PS2_QUEUE_SIZE - PS2_REPLY_ROOM;
}

uint8_t ps2_queue_get(struct ps2_queue *q)
{
	if (!q->count)
		return 0;
	uint8_t byte = q->data[q->head];
	q->head = (q->head + 1) % PS2_QUEUE_SIZE;
	q->count--;
	return byte;
}

void ps2_queue_save(const struct ps2_queue *q, struct state_buf *s)
{
	state_put_u8(s, q->count);
	for (unsigned i = 0; i < q->count; i++)
		state_put_u8(s, q->data[(q->head + i) % PS2_QUEUE_SIZE]);
}

bool ps2_queue_load(struct ps2_queue *q, struct state_buf *s)
{
	unsigned count = state_get_u8(s);
	if (count > PS2_QUEUE_SIZE)
		return false;
	q->head = 0;
	q->count = count;
	for (unsigned i = 0; i < count; i++)
		q->data[i] = state_get_u8(s);
	return true;
}
