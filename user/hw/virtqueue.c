/*
 * The split virtqueue (virtio 1.2 spec, section 2.7): descriptor table,
 * available ring and used ring in guest RAM, written by the driver on one
 * side and by us on the other, concurrently.
 *
 * Everything the driver wrote is untrusted and may change under our feet:
 * each descriptor is copied once, then checked (2.7.5, 2.7.5.3); buffers
 * must lie in RAM (ROM only for buffers the device reads).  Little-endian
 * host: the rings' le16/le32/le64 fields are read directly.
 */
#include <stdlib.h>
#include <string.h>
#include "machine.h"
#include "virtio.h"

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];        /* size entries, then used_event */
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[]; /* size entries, then avail_event */
};

/* Guest memory shared with the driver: every access is one load or store
 * of the whole field (no tearing, never re-read by the compiler). */
static inline uint16_t ld16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void st16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

void vq_reset(struct virtqueue *q, struct machine *m, uint16_t max_size)
{
	memset(q, 0, sizeof(*q));
	q->m = m;
	q->max_size = max_size;
	q->size = max_size;
	q->msix_vector = VIRTIO_MSI_NO_VECTOR;
}

int vq_map(struct virtqueue *q, const char **err)
{
	uint64_t n = q->size;
	bool writable;
	if (n == 0 || (n & (n - 1)) || n > q->max_size) {
		*err = "queue size is not a power of two up to the maximum";
		return -1;
	}
	/* 2.7: alignment 16 (descriptors), 2 (available), 4 (used) */
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3)) {
		*err = "misaligned ring address";
		return -1;
	}
	q->desc = gpa_to_host(q->m, q->desc_gpa, 16 * n);
	q->avail = gpa_to_host(q->m, q->avail_gpa, 6 + 2 * n);
	q->used = gpa_lookup(q->m, q->used_gpa, 6 + 8 * n, &writable);
	if (!q->desc || !q->avail || !q->used || !writable) {
		q->desc = NULL, q->avail = NULL, q->used = NULL;
		*err = "ring outside guest RAM";
		return -1;
	}
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_valid = false;
	return 0;
}

/* Add one buffer of a chain to e (at most max entries). */
static int add_buffer(struct virtqueue *q, struct vq_elem *e, const struct vring_desc *d,
		      unsigned max, const char **err)
{
	bool write = d->flags & VRING_DESC_F_WRITE, writable;
	if (!write && e->in_num) {
		/* 2.7.4.2: device-readable buffers come first */
		*err = "a device-readable descriptor after a device-writable one";
		return -1;
	}
	if (d->len == 0)
		return 0;
	void *host = gpa_lookup(q->m, d->addr, d->len, &writable);
	if (!host || (write && !writable)) {
		*err = "buffer outside guest RAM";
		return -1;
	}
	unsigned i = e->out_num + e->in_num;
	if (i >= max) {
		*err = "descriptor chain longer than the queue";
		return -1;
	}
	e->iov[i] = (struct iovec){ host, d->len };
	e->gpa[i] = d->addr;
	if (write) {
		e->in_num++;
		e->in_len += d->len;
	} else {
		e->out_num++;
		e->out_len += d->len;
	}
	return 0;
}

/* An indirect descriptor (2.7.5.3): switch to its table. */
static int enter_indirect(struct virtqueue *q, const struct vring_desc *d,
			  const struct vring_desc **table, unsigned *tsize, const char **err)
{
	if (!q->indirect) {
		*err = "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
		return -1;
	}
	if (d->flags & VRING_DESC_F_NEXT) {
		*err = "indirect descriptor with the NEXT flag";
		return -1;
	}
	if (d->len == 0 || d->len % sizeof(struct vring_desc)) {
		*err = "indirect table of a bad length";
		return -1;
	}
	if (d->addr & 15) {
		*err = "misaligned indirect table";
		return -1;
	}
	*table = gpa_to_host(q->m, d->addr, d->len);
	if (!*table) {
		*err = "indirect table outside guest RAM";
		return -1;
	}
	*tsize = d->len / sizeof(struct vring_desc);
	return 0;
}

/* Walk the chain at head into e (room for max buffers). */
static int walk_chain(struct virtqueue *q, uint16_t head, struct vq_elem *e, unsigned max,
		      const char **err)
{
	const struct vring_desc *table = q->desc;
	unsigned tsize = q->size, idx = head, count = 0, limit = q->size;
	bool indirect = false;
	for (;;) {
		if (idx >= tsize) {
			*err = "descriptor index past the table";
			return -1;
		}
		struct vring_desc d;
		memcpy(&d, (const void *)&table[idx], sizeof(d)); /* one snapshot */
		if (++count > limit) {
			*err = "descriptor chain loops or is longer than its table";
			return -1;
		}
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (indirect) {
				*err = "nested indirect descriptor";
				return -1;
			}
			if (enter_indirect(q, &d, &table, &tsize, err) < 0)
				return -1;
			indirect = true;
			idx = 0;
			count = 0;
			limit = tsize;
			continue;
		}
		if (add_buffer(q, e, &d, max, err) < 0)
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		idx = d.next;
	}
}

/* Ask the driver to notify us once it makes entry last_avail available
 * (2.7.10: avail_event in the used ring). */
static void set_avail_event(struct virtqueue *q)
{
	if (!q->event_idx)
		return;
	st16((uint16_t *)&q->used->ring[q->size], q->last_avail);
	machine_ram_written(q->m, q->used_gpa + 4 + 8 * q->size, 2);
}

int vq_pop(struct virtqueue *q, struct vq_elem **out, const char **err)
{
	*out = NULL;
	if (!q->ready || !q->avail)
		return 0;
	uint16_t avail_idx = ld16(&q->avail->idx);
	if (avail_idx == q->last_avail) {
		/* empty: re-arm the notification, then look again in case the
		 * driver added a buffer while it read the old avail_event */
		set_avail_event(q);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = ld16(&q->avail->idx);
		if (avail_idx == q->last_avail)
			return 0;
	}
	if ((uint16_t)(avail_idx - q->last_avail) > q->size) {
		*err = "available index moved by more than the queue size";
		return -1;
	}
	/* read the ring entries only after the index (2.7.13.3's barrier) */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	uint16_t head = ld16(&q->avail->ring[q->last_avail % q->size]);
	if (head >= q->size) {
		*err = "available ring entry past the descriptor table";
		return -1;
	}
	unsigned max = q->size;
	struct vq_elem *e = calloc(1, sizeof(*e) + max * (sizeof(struct iovec) + sizeof(uint64_t)));
	if (!e) {
		*err = "out of memory";
		return -1;
	}
	e->gpa = (uint64_t *)(e->iov + max);
	e->head = head;
	if (walk_chain(q, head, e, max, err) < 0) {
		free(e);
		return -1;
	}
	e->out = e->iov;
	e->in = e->iov + e->out_num;
	q->last_avail++;
	q->inflight++;
	set_avail_event(q);
	*out = e;
	return 1;
}

void vq_unpop(struct virtqueue *q, unsigned n)
{
	n = MIN(n, q->inflight);
	q->last_avail -= n;
	q->inflight -= n;
	if (!q->event_idx || !q->used)
		return;
	/* the entries given back are there already: what we wait for is the
	 * next one the driver adds */
	st16((uint16_t *)&q->used->ring[q->size], ld16(&q->avail->idx));
	machine_ram_written(q->m, q->used_gpa + 4 + 8 * q->size, 2);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void vq_push(struct virtqueue *q, uint16_t head, uint32_t len)
{
	if (q->inflight)
		q->inflight--;
	if (!q->ready || !q->used)
		return;
	unsigned slot = q->used_idx % q->size;
	struct vring_used_elem *u = &q->used->ring[slot];
	__atomic_store_n(&u->id, head, __ATOMIC_RELAXED);
	__atomic_store_n(&u->len, len, __ATOMIC_RELAXED);
	machine_ram_written(q->m, q->used_gpa + 4 + 8 * slot, 8);
	q->used_idx++;
	/* the element before the index (2.7.8) */
	__atomic_store_n(&q->used->idx, q->used_idx, __ATOMIC_RELEASE);
	machine_ram_written(q->m, q->used_gpa + 2, 2);
}

/* Every device-writable buffer, whole: len in the used ring is what the
 * device reports, and the driver may not rely on bytes past it (2.7.8),
 * so the device may have written anywhere in them. */
void vq_elem_written(struct virtqueue *q, const struct vq_elem *e)
{
	for (unsigned i = 0; i < e->in_num; i++)
		machine_ram_written(q->m, e->gpa[e->out_num + i], e->in[i].iov_len);
}

bool vq_should_notify(struct virtqueue *q)
{
	if (!q->ready || !q->avail)
		return false;
	/* our used->idx store before we read the driver's flags/used_event */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(ld16(&q->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	uint16_t new = q->used_idx, old = q->signalled_used;
	bool valid = q->signalled_valid;
	q->signalled_used = new;
	q->signalled_valid = true;
	if (!valid)
		return true;
	/* 2.7.10: interrupt when used_event lies in (old, new] */
	uint16_t used_event = ld16(&q->avail->ring[q->size]);
	return (uint16_t)(new - used_event - 1) < (uint16_t)(new - old);
}
