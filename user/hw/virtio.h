/*
 * virtio 1.x devices over PCI (virtio 1.2 spec): the modern PCI transport
 * (virtio_pci.c, section 4.1), the split virtqueue (virtqueue.c, 2.7) and
 * the interface a device model (virtio_blk.c, later net, console, rng...)
 * implements.
 *
 * A device model fills a virtio_dev_ops and calls virtio_pci_new(); the
 * transport owns the PCI function, the capabilities, feature negotiation,
 * the status handshake, MSI-X and INTx, and the rings.  The model sees
 * queue notifications and pops/pushes elements.
 *
 * Threads and locking: queue notifications arrive on vCPU threads; a model
 * completes requests wherever it likes (virtio-blk: the main thread).  One
 * mutex per device (virtio_lock) guards the transport and queue state:
 * virtio_pop, virtio_push, virtio_notify and virtio_error must be called
 * with it held.  ops->queue_notify is called without it.
 *
 * Every descriptor is untrusted: a malformed ring or chain puts the device
 * in its error state (DEVICE_NEEDS_RESET, a config interrupt and one
 * line on stderr); it then processes nothing until the driver resets it.
 */
#ifndef QVM_HW_VIRTIO_H
#define QVM_HW_VIRTIO_H

#include <sys/uio.h>
#include "qvm.h"

struct machine;
struct pci_host;
struct state_buf;
struct virtio_dev;

/* Device status bits (2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* Reserved feature bits (6) */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040   /* + virtio device id (4.1.2.1) */
#define VIRTIO_MSI_NO_VECTOR 0xffff

/* The largest queue a device may offer (queue sizes are powers of two). */
#define VIRTQ_MAX_SIZE 1024

/* ---- the split virtqueue (virtqueue.c) ---- */

/* One descriptor chain: out[] the device reads, in[] the device writes
 * (2.7.4).  Every iov points into guest RAM, checked against the map. */
struct vq_elem {
	uint16_t head;          /* descriptor index to return in the used ring */
	unsigned out_num, in_num;
	uint64_t out_len, in_len; /* byte totals */
	struct iovec *out, *in;   /* into iov[] */
	uint64_t *gpa;            /* guest-physical address of each iov[] */
	struct iovec iov[];       /* out_num + in_num entries */
};

struct virtqueue {
	struct machine *m;
	uint16_t size;          /* queue_size as the driver set it */
	uint16_t max_size;
	bool ready;             /* queue_enable */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t msix_vector;
	bool event_idx, indirect; /* negotiated features */
	/* Host views of the rings while ready (RAM never moves). */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail;    /* next avail entry to pop */
	uint16_t used_idx;      /* our copy of used->idx */
	uint16_t signalled_used; /* used_idx at the last interrupt decision */
	bool signalled_valid;
	unsigned inflight;      /* popped, not yet pushed */
};

/* Reset a queue to its initial state (not ready, no rings). */
void vq_reset(struct virtqueue *q, struct machine *m, uint16_t max_size);
/* Map the rings of a queue the driver just enabled: size a power of two
 * in 1..max_size, every ring inside RAM and aligned (2.7).  0, or -1 with
 * *err set to a static description. */
int vq_map(struct virtqueue *q, const char **err);
/* Pop the next available chain: 1 with *out a malloc'ed element (free()
 * it), 0 when the ring is empty, -1 with *err set when the chain or the
 * ring is malformed.  Fills avail_event / the used ring's flags so the
 * driver notifies us again (2.7.10). */
int vq_pop(struct virtqueue *q, struct vq_elem **out, const char **err);
/* Give back the last n popped elements unused (a receive buffer that
 * was not enough): the next pops return them again, and the driver is
 * asked to notify once it adds another. */
void vq_unpop(struct virtqueue *q, unsigned n);
/* Put head in the used ring with len bytes written, and publish it. */
void vq_push(struct virtqueue *q, uint16_t head, uint32_t len);
/* Tell the machine's RAM listeners (memory.h) that the device may have
 * written every device-writable buffer of e: before e is pushed. */
void vq_elem_written(struct virtqueue *q, const struct vq_elem *e);
/* After pushes: does the driver want an interrupt (NO_INTERRUPT flag or
 * used_event, 2.7.7.2, 2.7.10)? */
bool vq_should_notify(struct virtqueue *q);

/* ---- the device model's interface ---- */

struct virtio_dev_ops {
	const char *name;         /* "virtio-blk", in log lines */
	uint16_t device_id;       /* virtio device id (5): blk 2 */
	uint32_t class_code;      /* PCI class << 16 | subclass << 8 | prog-if */
	uint64_t features;        /* device-specific feature bits offered */
	uint16_t num_queues;
	uint16_t queue_max;       /* a power of two <= VIRTQ_MAX_SIZE */
	uint32_t config_size;     /* device-specific configuration bytes */
	/* Copy the device configuration (config_size bytes) into buf. */
	void (*config_read)(struct virtio_dev *vd, uint8_t *buf);
	/* The driver wrote size bytes at offset of it (may be NULL). */
	void (*config_write)(struct virtio_dev *vd, unsigned offset, uint64_t value,
			     unsigned size);
	/* The driver notified queue qi (vCPU thread; device lock NOT held). */
	void (*queue_notify)(struct virtio_dev *vd, unsigned qi);
	/* Device reset (driver wrote 0 to device_status, or machine reset):
	 * called with the lock held once no element is in flight. */
	void (*reset)(struct virtio_dev *vd);
	/* Machine reset / destroy, main thread, lock NOT held: wait until every
	 * request the model submitted has completed (blk_drain). */
	void (*drain)(struct virtio_dev *vd);
	void (*save)(struct virtio_dev *vd, struct state_buf *s);
	int (*load)(struct virtio_dev *vd, struct state_buf *s);
	void (*destroy)(struct virtio_dev *vd);  /* free the model's state */
};

/* Create a virtio-pci function at slot (function 0) of h and register it
 * with the machine; NULL with a message on error.  opaque is the model's
 * (virtio_opaque()). */
struct virtio_dev *virtio_pci_new(struct machine *m, struct pci_host *h, unsigned slot,
				  const struct virtio_dev_ops *ops, void *opaque);
void *virtio_opaque(struct virtio_dev *vd);
struct machine *virtio_machine(struct virtio_dev *vd);
/* The negotiated features (driver_features) and whether bit f is in them. */
uint64_t virtio_features(struct virtio_dev *vd);
bool virtio_has_feature(struct virtio_dev *vd, unsigned f);

void virtio_lock(struct virtio_dev *vd);
void virtio_unlock(struct virtio_dev *vd);

/* With the lock held: pop the next chain of queue qi (1: *elem set, 0:
 * nothing to do, including a broken device or a queue not ready; a
 * malformed chain puts the device in its error state and returns 0). */
int virtio_pop(struct virtio_dev *vd, unsigned qi, struct vq_elem **elem);
/* With the lock held: return an element with len bytes written and free
 * it; elements of a device that was reset or broke since are dropped. */
void virtio_push(struct virtio_dev *vd, unsigned qi, struct vq_elem *elem, uint32_t len);
/* With the lock held: give elem back unused (vq_unpop) and free it; the
 * model gives back in the reverse order of its pops. */
void virtio_unpop(struct virtio_dev *vd, unsigned qi, struct vq_elem *elem);
/* With the lock held: interrupt the driver for queue qi if it wants one. */
void virtio_notify(struct virtio_dev *vd, unsigned qi);
/* With the lock held: the device configuration changed. */
void virtio_config_changed(struct virtio_dev *vd);
/* With the lock held: enter the error state (DEVICE_NEEDS_RESET, config
 * interrupt, one line "qvm: <device> 00:SS.0: <problem>"), once until the
 * next reset. */
void virtio_error(struct virtio_dev *vd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool virtio_broken(struct virtio_dev *vd);

#endif
