/*
 * virtio-blk (virtio 1.2 spec, 5.2) on the virtio-pci transport, with the
 * block layer (block/block.h) behind it.
 *
 * One request queue.  The driver's notification arrives on a vCPU thread:
 * we pop every available chain, check it, and hand reads, writes,
 * flushes, discards and write-zeroes to blk_submit(); the block layer
 * completes them on the main thread (blk_done), which writes the status
 * byte, returns the chain and interrupts the driver.  GET_ID, malformed
 * and refused requests complete at once.
 *
 * A request is 16 header bytes the device reads (type, reserved, sector),
 * then the data (read by the device for OUT, written for IN), then one
 * status byte the device writes (5.2.6).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "block/block.h"
#include "block/block-int.h"   /* the iovec helpers */
#include "machine.h"
#include "hw.h"
#include "virtio.h"

#define VIRTIO_ID_BLOCK 2

/* feature bits (5.2.3) */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* request types and status (5.2.6) */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_WZ_UNMAP 1

#define QUEUE_SIZE 256
#define SEG_MAX (QUEUE_SIZE - 2)      /* header and status take two */
#define SEGMENT_MAX (1u << 20)        /* size_max: bytes per segment */
#define DISCARD_MAX_SECTORS 0x3fffffu /* per request */

/* The device configuration (5.2.4), little-endian, packed as in the spec. */
struct virtio_blk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads, sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp, alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback, unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
} __attribute__((packed));

struct virtio_blk {
	struct virtio_dev *vd;
	struct virtio_dev_ops ops;     /* features depend on the image */
	struct blk *blk;
	uint64_t capacity;             /* sectors */
	bool readonly, discard;
	char serial[VIRTIO_BLK_ID_BYTES];
};

struct blk_request {
	struct virtio_blk *vb;
	struct vq_elem *elem;
	uint8_t *status;
	uint32_t used_len;             /* bytes written on success */
	struct blk_req req;
	struct blk_request *next;      /* the submission list */
	struct iovec iov[];
};

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk_seg {                       /* DISCARD, WRITE_ZEROES payload */
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

/* ---- completion ---- */

/* Lock held: write the status, return the chain, interrupt. */
static void finish(struct blk_request *r, uint8_t status, uint32_t used)
{
	struct virtio_dev *vd = r->vb->vd;
	if (!virtio_broken(vd))   /* broken: the chain is dropped untouched */
		*r->status = status;
	virtio_push(vd, 0, r->elem, used);
	virtio_notify(vd, 0);
	free(r);
}

/* The block layer's completion, on the main thread. */
static void blk_done(struct blk_req *req, int ret)
{
	struct blk_request *r = req->opaque;
	struct virtio_dev *vd = r->vb->vd;
	if (ret < 0)
		qvm_log(LOG_GUEST_ERRORS, "virtio-blk: %s request at %llu: error %d",
			req->op == BLK_READ ? "read" : req->op == BLK_WRITE ? "write" : "other",
			(unsigned long long)req->offset, ret);
	virtio_lock(vd);
	finish(r, ret < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK, ret < 0 ? 1 : r->used_len);
	virtio_unlock(vd);
}

/* ---- parsing ---- */

static bool range_ok(struct virtio_blk *vb, uint64_t sector, uint64_t bytes)
{
	if (bytes % BLK_SECTOR)
		return false;
	return sector <= vb->capacity && bytes / BLK_SECTOR <= vb->capacity - sector;
}

/* IN and OUT: the data is in[] less the status byte, or out[] after the
 * header.  Returns the status to complete with at once, or -1 when the
 * request was set up for the block layer. */
static int prepare_rw(struct virtio_blk *vb, struct blk_request *r, const struct blk_hdr *h,
		      bool write)
{
	struct vq_elem *e = r->elem;
	const struct iovec *src = write ? e->out : e->in;
	unsigned n = write ? e->out_num : e->in_num;
	size_t off = write ? sizeof(*h) : 0;
	uint64_t len = write ? e->out_len - sizeof(*h) : e->in_len - 1;
	/* 2.7.4.2: data the device reads is readable, data it writes writable */
	if (write ? e->in_len != 1 : e->out_len != sizeof(*h)) {
		virtio_error(vb->vd, "%s request with a data buffer of the wrong direction",
			     write ? "write" : "read");
		return VIRTIO_BLK_S_IOERR;
	}
	if (write && vb->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (!range_ok(vb, h->sector, len))
		return VIRTIO_BLK_S_IOERR;
	int k = iov_slice(src, n, off, len, r->iov, n);
	if (k < 0)
		return VIRTIO_BLK_S_IOERR;
	r->req = (struct blk_req){
		.op = write ? BLK_WRITE : BLK_READ,
		.offset = h->sector * BLK_SECTOR,
		.len = len,
		.iov = r->iov,
		.iovcnt = k,
	};
	r->used_len = write ? 1 : len + 1;
	return -1;
}

/* DISCARD and WRITE_ZEROES (5.2.6.2): one segment (max_*_seg is 1). */
static int prepare_zero(struct virtio_blk *vb, struct blk_request *r, uint32_t type)
{
	struct vq_elem *e = r->elem;
	struct blk_seg seg;
	if (vb->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (e->out_len - sizeof(struct blk_hdr) != sizeof(seg) ||
	    iov_to_buf(e->out, e->out_num, sizeof(struct blk_hdr), &seg, sizeof(seg)) != sizeof(seg))
		return VIRTIO_BLK_S_IOERR;
	bool unmap = seg.flags & VIRTIO_BLK_WZ_UNMAP;
	if (seg.flags & ~VIRTIO_BLK_WZ_UNMAP)
		return VIRTIO_BLK_S_UNSUPP;
	if (type == VIRTIO_BLK_T_DISCARD && unmap)
		return VIRTIO_BLK_S_UNSUPP;   /* 5.2.6.3: unmap is WRITE_ZEROES' */
	if (seg.num_sectors > DISCARD_MAX_SECTORS ||
	    !range_ok(vb, seg.sector, (uint64_t)seg.num_sectors * BLK_SECTOR))
		return VIRTIO_BLK_S_IOERR;
	if (type == VIRTIO_BLK_T_DISCARD && !vb->discard)
		return VIRTIO_BLK_S_OK;       /* discard=ignore */
	r->req = (struct blk_req){
		.op = type == VIRTIO_BLK_T_DISCARD ? BLK_DISCARD : BLK_WRITE_ZEROES,
		.offset = seg.sector * BLK_SECTOR,
		.len = (uint64_t)seg.num_sectors * BLK_SECTOR,
		.may_unmap = unmap && vb->discard,
	};
	r->used_len = 1;
	return -1;
}

/* Lock held.  Returns the request to submit, or NULL when it completed
 * (or the device broke). */
static struct blk_request *prepare(struct virtio_blk *vb, struct vq_elem *e)
{
	struct blk_hdr h;
	if (e->out_len < sizeof(h) || e->in_len < 1) {
		virtio_error(vb->vd, "request without a readable header or a writable status byte");
		virtio_push(vb->vd, 0, e, 0);
		return NULL;
	}
	struct blk_request *r = calloc(1, sizeof(*r) + (e->out_num + e->in_num) * sizeof(struct iovec));
	if (!r) {
		virtio_error(vb->vd, "out of memory");
		virtio_push(vb->vd, 0, e, 0);
		return NULL;
	}
	iov_to_buf(e->out, e->out_num, 0, &h, sizeof(h));
	if (!vb->blk)
		h.type = ~0u;   /* closed: every request fails below */
	const struct iovec *last = &e->in[e->in_num - 1];
	r->vb = vb;
	r->elem = e;
	r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	int st;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		st = prepare_rw(vb, r, &h, h.type == VIRTIO_BLK_T_OUT);
		break;
	case VIRTIO_BLK_T_FLUSH:
		r->req.op = BLK_FLUSH;
		r->used_len = 1;
		st = vb->readonly ? VIRTIO_BLK_S_OK : -1;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		size_t n = MIN(e->in_len - 1, (uint64_t)VIRTIO_BLK_ID_BYTES);
		iov_from_buf(e->in, e->in_num, 0, vb->serial, n);
		finish(r, VIRTIO_BLK_S_OK, n + 1);
		return NULL;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		st = prepare_zero(vb, r, h.type);
		break;
	default:
		st = vb->blk ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
	}
	if (st >= 0) {
		finish(r, st, 1);
		return NULL;
	}
	r->req.done = blk_done;
	r->req.opaque = r;
	return r;
}

/* A vCPU wrote the notify register. */
static void blk_queue_notify(struct virtio_dev *vd, unsigned qi)
{
	struct virtio_blk *vb = virtio_opaque(vd);
	struct blk_request *list = NULL, **tail = &list;
	struct vq_elem *e;
	virtio_lock(vd);
	while (virtio_pop(vd, qi, &e) == 1) {
		struct blk_request *r = prepare(vb, e);
		if (r) {
			*tail = r;
			tail = &r->next;
		}
	}
	virtio_unlock(vd);
	/* blk_submit outside the lock: done() takes it */
	while (list) {
		struct blk_request *r = list;
		list = r->next;
		blk_submit(vb->blk, &r->req);
	}
}

/* ---- transport callbacks ---- */

static void blk_config_read(struct virtio_dev *vd, uint8_t *buf)
{
	struct virtio_blk *vb = virtio_opaque(vd);
	struct virtio_blk_config c = {
		.capacity = vb->capacity,
		.size_max = SEGMENT_MAX,
		.seg_max = SEG_MAX,
		.blk_size = BLK_SECTOR,
		.num_queues = 1,
		.max_discard_sectors = DISCARD_MAX_SECTORS,
		.max_discard_seg = 1,
		.discard_sector_alignment = 1,
		.max_write_zeroes_sectors = DISCARD_MAX_SECTORS,
		.max_write_zeroes_seg = 1,
		.write_zeroes_may_unmap = vb->discard,
	};
	memcpy(buf, &c, sizeof(c));
}

static void blk_drain_requests(struct virtio_dev *vd)
{
	struct virtio_blk *vb = virtio_opaque(vd);
	if (vb->blk)
		blk_drain(vb->blk);
}

void virtio_blk_close(struct virtio_blk *vb)
{
	if (!vb->blk)
		return;
	blk_drain(vb->blk);
	virtio_lock(vb->vd);
	struct blk *b = vb->blk;
	vb->blk = NULL;
	virtio_unlock(vb->vd);
	blk_close(b);
}

static void blk_destroy(struct virtio_dev *vd)
{
	struct virtio_blk *vb = virtio_opaque(vd);
	if (vb->blk)
		blk_close(vb->blk);
	free(vb);
}

/* Saved for migration (the transport drained the requests): what the
 * image has in memory reaches the file, so another process opening it
 * sees every write; the capacity must be the same there. */
#define VIRTIO_BLK_STATE_VERSION 1

static void blk_save(struct virtio_dev *vd, struct state_buf *s)
{
	struct virtio_blk *vb = virtio_opaque(vd);
	if (vb->blk && !vb->readonly && blk_flush(vb->blk) < 0)
		qvm_error("virtio-blk: flushing %s before saving failed", blk_filename(vb->blk));
	state_put_u8(s, VIRTIO_BLK_STATE_VERSION);
	state_put_u64(s, vb->capacity);
}

static int blk_load(struct virtio_dev *vd, struct state_buf *s)
{
	struct virtio_blk *vb = virtio_opaque(vd);
	uint8_t version = state_get_u8(s);
	uint64_t capacity = state_get_u64(s);
	if (s->error || version != VIRTIO_BLK_STATE_VERSION)
		return -1;
	if (capacity != vb->capacity) {
		qvm_error("virtio-blk: the saved disk had %llu sectors, this one has %llu",
			  (unsigned long long)capacity, (unsigned long long)vb->capacity);
		return -1;
	}
	return 0;
}

static const struct virtio_dev_ops blk_ops_template = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.class_code = 0x010000,   /* mass storage, SCSI, as QEMU presents it */
	.num_queues = 1,
	.queue_max = QUEUE_SIZE,
	.config_size = sizeof(struct virtio_blk_config),
	.config_read = blk_config_read,
	.queue_notify = blk_queue_notify,
	.drain = blk_drain_requests,
	.save = blk_save,
	.load = blk_load,
	.destroy = blk_destroy,
};

struct virtio_blk *virtio_blk_new(struct machine *m, struct pci_host *h, unsigned slot,
				  struct blk *b, const char *serial, bool discard)
{
	struct virtio_blk *vb = calloc(1, sizeof(*vb));
	if (!vb || blk_attach(b, m->loop) < 0) {
		qvm_error("virtio-blk: %s: cannot set up asynchronous I/O", blk_filename(b));
		free(vb);
		blk_close(b);
		return NULL;
	}
	vb->blk = b;
	vb->capacity = blk_size(b) / BLK_SECTOR;
	vb->readonly = blk_is_readonly(b);
	vb->discard = discard;
	if (serial)
		memcpy(vb->serial, serial, strnlen(serial, sizeof(vb->serial)));
	else
		snprintf(vb->serial, sizeof(vb->serial), "QVM%05u", slot);
	vb->ops = blk_ops_template;
	vb->ops.features = 1ULL << VIRTIO_BLK_F_SIZE_MAX | 1ULL << VIRTIO_BLK_F_SEG_MAX |
			   1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH;
	if (vb->readonly)
		vb->ops.features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		vb->ops.features |= 1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	vb->vd = virtio_pci_new(m, h, slot, &vb->ops, vb);
	if (!vb->vd) {
		blk_close(b);
		free(vb);
		return NULL;
	}
	return vb;
}
