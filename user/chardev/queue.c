/*
 * The input queue in front of a front end (chardev.h): the memory device
 * and each front end of the mux keep what the front end cannot take yet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chardev/chardev.h"

void chardev_queue_init(struct chardev_queue *q)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->lock, NULL);
}

void chardev_queue_destroy(struct chardev_queue *q)
{
	pthread_mutex_destroy(&q->lock);
	free(q->data);
}

static void queue_make_room(struct chardev_queue *q, size_t len)
{
	if (q->head + q->len + len <= q->cap)
		return;
	if (q->len)
		memmove(q->data, q->data + q->head, q->len);
	q->head = 0;
	if (q->len + len <= q->cap)
		return;
	size_t cap = q->cap ? q->cap : 256;
	while (cap < q->len + len)
		cap *= 2;
	uint8_t *p = realloc(q->data, cap);
	if (!p) {
		fprintf(stderr, "qvm: out of memory\n");
		abort();
	}
	q->data = p;
	q->cap = cap;
}

void chardev_queue_push(struct chardev_queue *q, const void *buf, size_t len)
{
	pthread_mutex_lock(&q->lock);
	queue_make_room(q, len);
	memcpy(q->data + q->head + q->len, buf, len);
	q->len += len;
	pthread_mutex_unlock(&q->lock);
}

size_t chardev_queue_len(struct chardev_queue *q)
{
	pthread_mutex_lock(&q->lock);
	size_t len = q->len;
	pthread_mutex_unlock(&q->lock);
	return len;
}

/* Hand queued bytes over while the front end takes them.  Called and
 * returns locked; drops the lock around every call into the front end. */
static void queue_drain(struct chardev_queue *q, struct chardev *c)
{
	uint8_t chunk[256];
	while (q->len) {
		pthread_mutex_unlock(&q->lock);
		size_t n = chardev_fe_can_receive(c);
		pthread_mutex_lock(&q->lock);
		n = MIN(n, MIN(q->len, sizeof(chunk)));
		if (!n)
			return;
		memcpy(chunk, q->data + q->head, n);
		q->head += n;
		q->len -= n;
		pthread_mutex_unlock(&q->lock);
		chardev_fe_receive(c, chunk, n);
		pthread_mutex_lock(&q->lock);
	}
}

void chardev_queue_deliver(struct chardev_queue *q, struct chardev *c)
{
	pthread_mutex_lock(&q->lock);
	if (q->delivering) {
		/* Another thread (or an outer frame of this one) is at it. */
		q->again = true;
		pthread_mutex_unlock(&q->lock);
		return;
	}
	q->delivering = true;
	do {
		q->again = false;
		queue_drain(q, c);
	} while (q->again);
	q->delivering = false;
	pthread_mutex_unlock(&q->lock);
}
