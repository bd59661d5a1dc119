/* The split virtqueue (user/hw/virtqueue.c) on its own: rings in a bare
 * machine's RAM, written here as a driver would. */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "machine.h"
#include "hw/virtio.h"

#define RAM (4 * MiB)
#define DESC 0x10000u
#define AVAIL 0x11000u
#define USED 0x12000u
#define TABLE 0x13000u
#define N 8

static struct machine *vq_machine(struct virtqueue *q, bool event_idx)
{
	struct machine *m = machine_new(RAM);
	if (!m)
		return NULL;
	machine_add_memory(m, REGION_RAM, 0, RAM, m->ram, "ram");
	vq_reset(q, m, 64);
	q->size = N;
	q->desc_gpa = DESC;
	q->avail_gpa = AVAIL;
	q->used_gpa = USED;
	q->event_idx = event_idx;
	q->indirect = true;
	const char *err;
	if (vq_map(q, &err) < 0)
		return NULL;
	q->ready = true;
	return m;
}

static void desc(struct machine *m, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	uint8_t *d = (uint8_t *)m->ram + table + 16 * i;
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void avail_add(struct machine *m, uint16_t *idx, uint16_t head)
{
	uint8_t *a = (uint8_t *)m->ram + AVAIL;
	memcpy(a + 4 + 2 * (*idx % N), &head, 2);
	(*idx)++;
	memcpy(a + 2, idx, 2);
}

static uint16_t ram16(struct machine *m, uint64_t gpa)
{
	uint16_t v;
	memcpy(&v, (uint8_t *)m->ram + gpa, 2);
	return v;
}

TEST(virtqueue_map_checks)
{
	struct virtqueue q;
	struct machine *m = vq_machine(&q, false);
	CHECK(m);
	const char *err;
	q.size = 12;
	CHECK(vq_map(&q, &err) < 0 && strstr(err, "power of two"));
	q.size = 128;                                  /* over max_size 64 */
	CHECK(vq_map(&q, &err) < 0);
	q.size = 0;
	CHECK(vq_map(&q, &err) < 0);
	q.size = N;
	q.used_gpa = USED + 2;
	CHECK(vq_map(&q, &err) < 0 && strstr(err, "misaligned"));
	q.used_gpa = RAM - 8;
	CHECK(vq_map(&q, &err) < 0 && strstr(err, "outside"));
	q.used_gpa = USED;
	CHECK_EQ(vq_map(&q, &err), 0);
	machine_free(m);
}

TEST(virtqueue_chain_split_in_out)
{
	struct virtqueue q;
	struct machine *m = vq_machine(&q, false);
	CHECK(m);
	uint16_t idx = 0;
	const char *err = NULL;
	struct vq_elem *e;
	CHECK_EQ(vq_pop(&q, &e, &err), 0);             /* empty */
	desc(m, DESC, 5, 0x20000, 16, 1, 2);
	desc(m, DESC, 2, 0x21000, 0, 1, 7);             /* zero length: skipped */
	desc(m, DESC, 7, 0x22000, 100, 1 | 2, 3);
	desc(m, DESC, 3, 0x23000, 1, 2, 0);
	avail_add(m, &idx, 5);
	CHECK_EQ(vq_pop(&q, &e, &err), 1);
	CHECK_EQ(e->head, 5);
	CHECK_EQ(e->out_num, 1);
	CHECK_EQ(e->in_num, 2);
	CHECK_EQ(e->out_len, 16);
	CHECK_EQ(e->in_len, 101);
	CHECK(e->out[0].iov_base == (uint8_t *)m->ram + 0x20000);
	CHECK(e->in[1].iov_base == (uint8_t *)m->ram + 0x23000);
	CHECK_EQ(q.inflight, 1);
	vq_push(&q, e->head, 101);
	free(e);
	CHECK_EQ(ram16(m, USED + 2), 1);
	uint32_t id, len;
	memcpy(&id, (uint8_t *)m->ram + USED + 4, 4);
	memcpy(&len, (uint8_t *)m->ram + USED + 8, 4);
	CHECK_EQ(id, 5);
	CHECK_EQ(len, 101);
	CHECK_EQ(q.inflight, 0);
	CHECK(vq_should_notify(&q));
	/* NO_INTERRUPT without event idx */
	uint16_t flags = 1;
	memcpy((uint8_t *)m->ram + AVAIL, &flags, 2);
	CHECK(!vq_should_notify(&q));
	machine_free(m);
}

TEST(virtqueue_indirect)
{
	struct virtqueue q;
	struct machine *m = vq_machine(&q, false);
	CHECK(m);
	uint16_t idx = 0;
	const char *err = NULL;
	struct vq_elem *e;
	desc(m, TABLE, 0, 0x20000, 16, 1, 1);
	desc(m, TABLE, 1, 0x21000, 512, 1 | 2, 2);
	desc(m, TABLE, 2, 0x22000, 1, 2, 0);
	desc(m, DESC, 0, TABLE, 48, 4, 0);
	avail_add(m, &idx, 0);
	CHECK_EQ(vq_pop(&q, &e, &err), 1);
	CHECK_EQ(e->out_num, 1);
	CHECK_EQ(e->in_num, 2);
	CHECK_EQ(e->in_len, 513);
	free(e);
	/* without the feature: refused */
	q.indirect = false;
	avail_add(m, &idx, 0);
	CHECK_EQ(vq_pop(&q, &e, &err), -1);
	CHECK(strstr(err, "INDIRECT_DESC"));
	machine_free(m);
}

TEST(virtqueue_event_idx)
{
	struct virtqueue q;
	struct machine *m = vq_machine(&q, true);
	CHECK(m);
	uint16_t idx = 0;
	const char *err = NULL;
	struct vq_elem *e;
	desc(m, DESC, 0, 0x20000, 1, 2, 0);
	for (int i = 0; i < 3; i++)
		avail_add(m, &idx, 0);
	/* avail_event follows what we popped */
	CHECK_EQ(vq_pop(&q, &e, &err), 1);
	CHECK_EQ(ram16(m, USED + 4 + 8 * N), 1);
	vq_push(&q, 0, 1);
	free(e);
	CHECK(vq_should_notify(&q));                   /* the first one */
	/* used_event = 2: no interrupt at used idx 2, one at 3 */
	uint16_t ue = 2;
	memcpy((uint8_t *)m->ram + AVAIL + 4 + 2 * N, &ue, 2);
	CHECK_EQ(vq_pop(&q, &e, &err), 1);
	vq_push(&q, 0, 1);
	free(e);
	CHECK(!vq_should_notify(&q));
	CHECK_EQ(vq_pop(&q, &e, &err), 1);
	vq_push(&q, 0, 1);
	free(e);
	CHECK(vq_should_notify(&q));
	/* NO_INTERRUPT is ignored with event idx (2.7.10) */
	CHECK_EQ(vq_pop(&q, &e, &err), 0);
	CHECK_EQ(ram16(m, USED + 4 + 8 * N), 3);
	machine_free(m);
}

TEST(virtqueue_chain_too_long)
{
	struct virtqueue q;
	struct machine *m = vq_machine(&q, false);
	CHECK(m);
	uint16_t idx = 0;
	const char *err = NULL;
	struct vq_elem *e;
	/* an indirect table of 20 entries chained 0..19 on a queue of 8: its
	 * own size bounds it, and the element room (queue size) too */
	for (unsigned i = 0; i < 20; i++)
		desc(m, TABLE, i, 0x20000 + 16 * i, 16, i < 19 ? 1 : 0, i + 1);
	desc(m, DESC, 0, TABLE, 20 * 16, 4, 0);
	avail_add(m, &idx, 0);
	CHECK_EQ(vq_pop(&q, &e, &err), -1);
	CHECK(strstr(err, "longer than the queue"));
	machine_free(m);
}
