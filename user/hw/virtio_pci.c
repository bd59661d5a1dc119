/*
 * The virtio PCI transport, modern interface (virtio 1.2 spec, 4.1).
 *
 * Config space: vendor 0x1af4, device 0x1040 + the virtio device id,
 * revision 1, and a capability list:
 *   0x40  common configuration   (virtio_pci_cap, cfg_type 1)
 *   0x50  ISR status             (cfg_type 3)
 *   0x60  device configuration   (cfg_type 4)
 *   0x70  notifications          (cfg_type 2, notify_off_multiplier 4)
 *   0x84  PCI configuration access (cfg_type 5)
 *   0x98  MSI-X, table and PBA in BAR 1
 * The first four live in BAR 4 (32-bit memory, 16 KiB): common at 0,
 * ISR at 0x1000, device config at 0x2000, notify at 0x3000 (queue n at
 * 0x3000 + 4n).
 *
 * Interrupts: MSI-X when the driver enabled it (one vector per queue and
 * one for config changes), else INTx pin A as a level through the ISR byte
 * (4.1.4.5), on the line the board wires the slot's INTA# to (irq.h; the
 * DSDT's _PRT says which).  Without a board routing (unit tests) there is
 * no INTx.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "machine.h"
#include "state.h"
#include "hw.h"
#include "virtio.h"

#define VIRTIO_BAR 4
#define VIRTIO_BAR_SIZE 0x4000
#define COMMON_OFF 0x0000
#define COMMON_LEN 0x38
#define ISR_OFF 0x1000
#define DEVCFG_OFF 0x2000
#define NOTIFY_OFF 0x3000
#define NOTIFY_MULT 4
#define REGION_LEN 0x1000

#define MSIX_BAR 1
#define MSIX_BAR_SIZE 0x1000
#define MSIX_PBA_OFF 0x800
#define MAX_QUEUES 64
#define MAX_VECTORS (MAX_QUEUES + 1)

/* config space */
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_SUBSYS_VENDOR 0x2c
#define PCI_SUBSYS_ID 0x2e
#define PCI_CAP_PTR 0x34
#define PCI_INT_LINE 0x3c
#define PCI_INT_PIN 0x3d
#define CMD_MEMORY 0x0002
#define CMD_INTX_DISABLE 0x0400
#define STATUS_INTERRUPT 0x08
#define STATUS_CAP_LIST 0x10

#define CAP_COMMON 0x40
#define CAP_ISR 0x50
#define CAP_DEVICE 0x60
#define CAP_NOTIFY 0x70
#define CAP_PCICFG 0x84
#define CAP_MSIX 0x98
#define CAP_ID_VENDOR 0x09
#define CAP_ID_MSIX 0x11
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_MASKALL 0x4000

#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

#define ISR_QUEUE 1
#define ISR_CONFIG 2

#define VIRTIO_STATE_VERSION 1

/* The IOAPIC, LAPIC and firmware area start here: no BAR above. */
#define PCI_MMIO_LIMIT 0xfec00000ULL

struct virtio_dev {
	struct machine *m;
	struct pci_device *pci;
	const struct virtio_dev_ops *ops;
	void *opaque;
	pthread_mutex_t lock;

	uint8_t status;
	bool broken;            /* error state: nothing processed until reset */
	bool reset_pending;     /* status 0 written, elements still in flight */
	bool destroying;
	uint64_t host_features, guest_features;
	uint32_t dfselect, gfselect;
	uint16_t msix_config, queue_sel;
	uint8_t isr, generation;
	int gsi;                /* INTx line, or IRQ_ROUTE_NONE */
	bool irq_level;
	unsigned nvec;
	uint8_t msix_table[MAX_VECTORS * 16];
	uint8_t msix_pending[MAX_VECTORS];
	uint32_t bar_mapped[6]; /* where BAR n is mapped now (0: not); host lock */
	struct virtqueue vq[MAX_QUEUES];
};

/* ---- accessors ---- */

void *virtio_opaque(struct virtio_dev *vd) { return vd->opaque; }
struct machine *virtio_machine(struct virtio_dev *vd) { return vd->m; }
uint64_t virtio_features(struct virtio_dev *vd) { return vd->guest_features; }
bool virtio_broken(struct virtio_dev *vd) { return vd->broken; }

bool virtio_has_feature(struct virtio_dev *vd, unsigned f)
{
	return f < 64 && (vd->guest_features >> f) & 1;
}

void virtio_lock(struct virtio_dev *vd) { pthread_mutex_lock(&vd->lock); }
void virtio_unlock(struct virtio_dev *vd) { pthread_mutex_unlock(&vd->lock); }

/* Bytes of a little-endian value v of size at offset off, for an access
 * of asize bytes at aoff: merge (write) or extract (read). */
static uint64_t field_merge(uint64_t old, unsigned off, unsigned size, unsigned aoff,
			    uint64_t v, unsigned asize)
{
	for (unsigned i = 0; i < asize; i++) {
		unsigned b = aoff + i;
		if (b < off || b >= off + size)
			continue;
		unsigned sh = 8 * (b - off);
		old = (old & ~(0xffULL << sh)) | (((v >> (8 * i)) & 0xff) << sh);
	}
	return old;
}

static uint64_t field_extract(uint64_t val, unsigned off, unsigned size, unsigned aoff,
			      unsigned asize)
{
	uint64_t r = 0;
	for (unsigned i = 0; i < asize; i++) {
		unsigned b = aoff + i;
		if (b >= off && b < off + size)
			r |= ((val >> (8 * (b - off))) & 0xff) << (8 * i);
	}
	return r;
}

/* ---- interrupts ---- */

static bool msix_enabled(struct virtio_dev *vd)
{
	return pci_config_get(vd->pci, CAP_MSIX + 2, 2) & MSIX_CTRL_ENABLE;
}

static uint32_t msix_word(struct virtio_dev *vd, unsigned vec, unsigned w)
{
	return rd32(&vd->msix_table[vec * 16 + w * 4]);
}

static bool msix_masked(struct virtio_dev *vd, unsigned vec)
{
	return (pci_config_get(vd->pci, CAP_MSIX + 2, 2) & MSIX_CTRL_MASKALL) ||
	       (msix_word(vd, vec, 3) & 1);
}

static void msix_send(struct virtio_dev *vd, unsigned vec)
{
	if (vec >= vd->nvec)
		return;
	if (msix_masked(vd, vec)) {
		vd->msix_pending[vec] = 1;  /* PCI 3.0 6.8.3.4: sent when unmasked */
		return;
	}
	vd->msix_pending[vec] = 0;
	uint64_t addr = msix_word(vd, vec, 0) | (uint64_t)msix_word(vd, vec, 1) << 32;
	if (vd->m->irqchip.ops && vd->m->irqchip.ops->send_msi)
		vd->m->irqchip.ops->send_msi(&vd->m->irqchip, addr, msix_word(vd, vec, 2));
}

static void msix_flush_pending(struct virtio_dev *vd)
{
	if (!msix_enabled(vd))
		return;
	for (unsigned v = 0; v < vd->nvec; v++)
		if (vd->msix_pending[v] && !msix_masked(vd, v))
			msix_send(vd, v);
}

/* INTx follows the ISR byte unless the command register disables it. */
static void update_intx(struct virtio_dev *vd)
{
	uint16_t cmd = pci_config_get(vd->pci, PCI_COMMAND, 2);
	bool level = vd->isr && !(cmd & CMD_INTX_DISABLE) && !msix_enabled(vd);
	uint8_t st = vd->pci->config[PCI_STATUS];
	vd->pci->config[PCI_STATUS] = vd->isr ? st | STATUS_INTERRUPT : st & ~STATUS_INTERRUPT;
	if (level != vd->irq_level && vd->gsi != IRQ_ROUTE_NONE) {
		vd->irq_level = level;
		machine_set_irq(vd->m, vd->gsi, level);
	}
}

static void raise_irq(struct virtio_dev *vd, uint16_t vector, uint8_t isr_bit)
{
	if (vd->destroying)
		return;
	if (msix_enabled(vd)) {
		if (vector != VIRTIO_MSI_NO_VECTOR)
			msix_send(vd, vector);
		return;
	}
	vd->isr |= isr_bit;
	update_intx(vd);
}

void virtio_config_changed(struct virtio_dev *vd)
{
	vd->generation++;
	raise_irq(vd, vd->msix_config, ISR_CONFIG);
}

void virtio_error(struct virtio_dev *vd, const char *fmt, ...)
{
	if (vd->broken)
		return;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vd->broken = true;
	vd->status |= VIRTIO_STATUS_NEEDS_RESET;   /* 2.1.1 */
	qvm_error("%s 00:%02x.0: %s; the device needs a reset", vd->ops->name,
		  vd->pci->slot, msg);
	raise_irq(vd, vd->msix_config, ISR_CONFIG);
}

/* ---- queues ---- */

static unsigned inflight(struct virtio_dev *vd)
{
	unsigned n = 0;
	for (unsigned i = 0; i < vd->ops->num_queues; i++)
		n += vd->vq[i].inflight;
	return n;
}

/* Device reset (4.1.4.3.1), lock held, nothing in flight. */
static void device_reset(struct virtio_dev *vd)
{
	vd->status = 0;
	vd->broken = false;
	vd->reset_pending = false;
	vd->guest_features = 0;
	vd->dfselect = vd->gfselect = 0;
	vd->msix_config = VIRTIO_MSI_NO_VECTOR;
	vd->queue_sel = 0;
	vd->isr = 0;
	for (unsigned i = 0; i < vd->ops->num_queues; i++)
		vq_reset(&vd->vq[i], vd->m, vd->ops->queue_max);
	if (vd->ops->reset)
		vd->ops->reset(vd);
	update_intx(vd);
}

int virtio_pop(struct virtio_dev *vd, unsigned qi, struct vq_elem **elem)
{
	*elem = NULL;
	if (qi >= vd->ops->num_queues || vd->broken || vd->reset_pending || vd->destroying)
		return 0;
	const char *err = NULL;
	int r = vq_pop(&vd->vq[qi], elem, &err);
	if (r < 0) {
		virtio_error(vd, "queue %u: %s", qi, err);
		return 0;
	}
	return r;
}

void virtio_push(struct virtio_dev *vd, unsigned qi, struct vq_elem *elem, uint32_t len)
{
	if (qi >= vd->ops->num_queues) {
		free(elem);
		return;
	}
	struct virtqueue *q = &vd->vq[qi];
	/* the data is in RAM now (a block completion, a copy into the
	 * iovecs): tell the listeners before the driver can see the element,
	 * and also for an element dropped below, whose buffers may have been
	 * written all the same */
	vq_elem_written(q, elem);
	if (vd->broken || vd->reset_pending || vd->destroying) {
		if (q->inflight)
			q->inflight--;
	} else {
		/* never claim more than the writable buffers hold */
		vq_push(q, elem->head, MIN(len, elem->in_len));
	}
	free(elem);
	if (vd->reset_pending && !inflight(vd))
		device_reset(vd);
}

void virtio_unpop(struct virtio_dev *vd, unsigned qi, struct vq_elem *elem)
{
	free(elem);
	if (qi >= vd->ops->num_queues)
		return;
	vq_unpop(&vd->vq[qi], 1);
	if (vd->reset_pending && !inflight(vd))
		device_reset(vd);
}

void virtio_notify(struct virtio_dev *vd, unsigned qi)
{
	if (qi >= vd->ops->num_queues || vd->broken || vd->reset_pending || vd->destroying)
		return;
	if (vq_should_notify(&vd->vq[qi]))
		raise_irq(vd, vd->vq[qi].msix_vector, ISR_QUEUE);
}

static void queue_enable(struct virtio_dev *vd, unsigned qi)
{
	struct virtqueue *q = &vd->vq[qi];
	if (q->ready)
		return;
	const char *err;
	q->event_idx = virtio_has_feature(vd, VIRTIO_F_RING_EVENT_IDX);
	q->indirect = virtio_has_feature(vd, VIRTIO_F_RING_INDIRECT_DESC);
	if (vq_map(q, &err) < 0) {
		virtio_error(vd, "queue %u: %s", qi, err);
		return;
	}
	q->ready = true;
}

/* ---- common configuration (4.1.4.3) ---- */

enum {
	F_DFSEL, F_DF, F_GFSEL, F_GF, F_MSIXCFG, F_NUMQ, F_STATUS, F_GEN, F_QSEL,
	F_QSIZE, F_QMSIX, F_QENABLE, F_QNOFF, F_QDESC, F_QDRIVER, F_QDEVICE, NR_FIELDS
};

static const struct { uint8_t off, size; } common_fields[NR_FIELDS] = {
	[F_DFSEL] = { 0x00, 4 },  [F_DF] = { 0x04, 4 },      [F_GFSEL] = { 0x08, 4 },
	[F_GF] = { 0x0c, 4 },     [F_MSIXCFG] = { 0x10, 2 }, [F_NUMQ] = { 0x12, 2 },
	[F_STATUS] = { 0x14, 1 }, [F_GEN] = { 0x15, 1 },     [F_QSEL] = { 0x16, 2 },
	[F_QSIZE] = { 0x18, 2 },  [F_QMSIX] = { 0x1a, 2 },   [F_QENABLE] = { 0x1c, 2 },
	[F_QNOFF] = { 0x1e, 2 },  [F_QDESC] = { 0x20, 8 },   [F_QDRIVER] = { 0x28, 8 },
	[F_QDEVICE] = { 0x30, 8 },
};

static struct virtqueue *selected_queue(struct virtio_dev *vd)
{
	return vd->queue_sel < vd->ops->num_queues ? &vd->vq[vd->queue_sel] : NULL;
}

static uint64_t common_get(struct virtio_dev *vd, unsigned f)
{
	struct virtqueue *q = selected_queue(vd);
	switch (f) {
	case F_DFSEL: return vd->dfselect;
	case F_DF: return vd->dfselect < 2 ? (uint32_t)(vd->host_features >> (32 * vd->dfselect)) : 0;
	case F_GFSEL: return vd->gfselect;
	case F_GF: return vd->gfselect < 2 ? (uint32_t)(vd->guest_features >> (32 * vd->gfselect)) : 0;
	case F_MSIXCFG: return vd->msix_config;
	case F_NUMQ: return vd->ops->num_queues;
	case F_STATUS: return vd->status;
	case F_GEN: return vd->generation;
	case F_QSEL: return vd->queue_sel;
	case F_QSIZE: return q ? q->size : 0;
	case F_QMSIX: return q ? q->msix_vector : VIRTIO_MSI_NO_VECTOR;
	case F_QENABLE: return q ? q->ready : 0;
	case F_QNOFF: return q ? vd->queue_sel : 0;
	case F_QDESC: return q ? q->desc_gpa : 0;
	case F_QDRIVER: return q ? q->avail_gpa : 0;
	case F_QDEVICE: return q ? q->used_gpa : 0;
	}
	return 0;
}

/* 3.1.1: FEATURES_OK only for a subset of what we offered, with VERSION_1
 * (a legacy driver would not speak this interface). */
static void write_status(struct virtio_dev *vd, uint8_t v)
{
	if (v == 0) {
		if (inflight(vd))
			vd->reset_pending = true;  /* reads keep the old status */
		else
			device_reset(vd);
		return;
	}
	v &= ~VIRTIO_STATUS_NEEDS_RESET;
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(vd->status & VIRTIO_STATUS_FEATURES_OK) &&
	    ((vd->guest_features & ~vd->host_features) ||
	     !(vd->guest_features >> VIRTIO_F_VERSION_1 & 1))) {
		qvm_log(LOG_GUEST_ERRORS, "%s: features 0x%llx refused (offered 0x%llx)",
			vd->ops->name, (unsigned long long)vd->guest_features,
			(unsigned long long)vd->host_features);
		v &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	vd->status = v | (vd->status & VIRTIO_STATUS_NEEDS_RESET);
}

static uint16_t valid_vector(struct virtio_dev *vd, uint16_t v)
{
	return v < vd->nvec ? v : VIRTIO_MSI_NO_VECTOR;
}

static void common_set(struct virtio_dev *vd, unsigned f, uint64_t v)
{
	struct virtqueue *q = selected_queue(vd);
	bool q_writable = q && !q->ready;
	switch (f) {
	case F_DFSEL: vd->dfselect = v; break;
	case F_GFSEL: vd->gfselect = v; break;
	case F_GF:
		if (vd->gfselect < 2 && !(vd->status & VIRTIO_STATUS_FEATURES_OK)) {
			unsigned sh = 32 * vd->gfselect;
			vd->guest_features = (vd->guest_features & ~(0xffffffffULL << sh)) |
					     ((uint64_t)(uint32_t)v << sh);
		}
		break;
	case F_MSIXCFG: vd->msix_config = valid_vector(vd, v); break;
	case F_STATUS: write_status(vd, v); break;
	case F_QSEL: vd->queue_sel = v; break;
	case F_QSIZE: if (q_writable) q->size = v; break;
	case F_QMSIX: if (q) q->msix_vector = valid_vector(vd, v); break;
	case F_QENABLE: if (q && v == 1) queue_enable(vd, vd->queue_sel); break;
	case F_QDESC: if (q_writable) q->desc_gpa = v; break;
	case F_QDRIVER: if (q_writable) q->avail_gpa = v; break;
	case F_QDEVICE: if (q_writable) q->used_gpa = v; break;
	}
}

static uint64_t common_read(struct virtio_dev *vd, unsigned off, unsigned size)
{
	uint64_t r = 0;
	for (unsigned f = 0; f < NR_FIELDS; f++) {
		unsigned fo = common_fields[f].off, fs = common_fields[f].size;
		if (off < fo + fs && fo < off + size)
			r |= field_extract(common_get(vd, f), fo, fs, off, size);
	}
	return r;
}

static void common_write(struct virtio_dev *vd, unsigned off, uint64_t v, unsigned size)
{
	for (unsigned f = 0; f < NR_FIELDS; f++) {
		unsigned fo = common_fields[f].off, fs = common_fields[f].size;
		if (off < fo + fs && fo < off + size)
			common_set(vd, f, field_merge(common_get(vd, f), fo, fs, off, v, size));
	}
}

/* ---- BAR 4 ---- */

static uint64_t devcfg_read(struct virtio_dev *vd, unsigned off, unsigned size)
{
	uint8_t buf[REGION_LEN];
	unsigned n = MIN(vd->ops->config_size, sizeof(buf));
	if (!vd->ops->config_read || off >= n)
		return 0;
	vd->ops->config_read(vd, buf);
	uint64_t r = 0;
	for (unsigned i = 0; i < size && off + i < n; i++)
		r |= (uint64_t)buf[off + i] << (8 * i);
	return r;
}

static uint64_t bar4_read_locked(struct virtio_dev *vd, unsigned off, unsigned size, bool side_effects)
{
	if (off < COMMON_OFF + COMMON_LEN)
		return common_read(vd, off, size);
	if (off >= ISR_OFF && off < ISR_OFF + REGION_LEN) {
		if (off != ISR_OFF)
			return 0;
		uint8_t v = vd->isr;
		if (side_effects) {   /* 4.1.4.5.1: reading clears it */
			vd->isr = 0;
			update_intx(vd);
		}
		return v;
	}
	if (off >= DEVCFG_OFF && off < DEVCFG_OFF + REGION_LEN)
		return devcfg_read(vd, off - DEVCFG_OFF, size);
	return 0;
}

static uint64_t bar4_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_dev *vd = opaque;
	pthread_mutex_lock(&vd->lock);
	uint64_t v = bar4_read_locked(vd, off, size, true);
	pthread_mutex_unlock(&vd->lock);
	return v;
}

static void bar4_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
	struct virtio_dev *vd = opaque;
	if (off >= NOTIFY_OFF && off < NOTIFY_OFF + REGION_LEN) {
		/* 4.1.4.4: queue n at n * notify_off_multiplier */
		unsigned qi = (off - NOTIFY_OFF) / NOTIFY_MULT;
		if (qi < vd->ops->num_queues && vd->ops->queue_notify)
			vd->ops->queue_notify(vd, qi);
		return;
	}
	pthread_mutex_lock(&vd->lock);
	if (off < COMMON_OFF + COMMON_LEN)
		common_write(vd, off, v, size);
	else if (off >= DEVCFG_OFF && off < DEVCFG_OFF + REGION_LEN && vd->ops->config_write &&
		 off - DEVCFG_OFF < vd->ops->config_size)
		vd->ops->config_write(vd, off - DEVCFG_OFF, v, size);
	pthread_mutex_unlock(&vd->lock);
}

static const struct io_ops bar4_ops = { .read = bar4_read, .write = bar4_write };

/* ---- BAR 1: the MSI-X table and PBA (PCI 3.0 6.8.2) ---- */

static uint64_t msix_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_dev *vd = opaque;
	uint64_t r = 0;
	pthread_mutex_lock(&vd->lock);
	for (unsigned i = 0; i < size; i++) {
		uint64_t b = 0, o = off + i;
		if (o < vd->nvec * 16)
			b = vd->msix_table[o];
		else if (o >= MSIX_PBA_OFF && o < MSIX_PBA_OFF + (vd->nvec + 7) / 8)
			for (unsigned k = 0; k < 8; k++) {
				unsigned vec = (o - MSIX_PBA_OFF) * 8 + k;
				if (vec < vd->nvec && vd->msix_pending[vec])
					b |= 1u << k;
			}
		r |= b << (8 * i);
	}
	pthread_mutex_unlock(&vd->lock);
	return r;
}

static void msix_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
	struct virtio_dev *vd = opaque;
	pthread_mutex_lock(&vd->lock);
	for (unsigned i = 0; i < size; i++) {
		uint64_t o = off + i;
		if (o >= vd->nvec * 16)
			continue;
		uint8_t b = v >> (8 * i);
		if ((o & 15) >= 12)  /* vector control: only the mask bit */
			b = (o & 15) == 12 ? (b & 1) : 0;
		vd->msix_table[o] = b;
	}
	msix_flush_pending(vd);
	pthread_mutex_unlock(&vd->lock);
}

static const struct io_ops msix_ops = { .read = msix_read, .write = msix_write };

/* ---- config space ---- */

/* Map BAR n where the guest put it, while memory decoding is on. */
static void update_bar(struct virtio_dev *vd, unsigned bar, uint32_t size,
		       const struct io_ops *ops)
{
	uint32_t addr = pci_device_bar(vd->pci, bar), want = 0;
	uint16_t cmd = pci_config_get(vd->pci, PCI_COMMAND, 2);
	if ((cmd & CMD_MEMORY) && addr && addr >= vd->m->ram_below_4g &&
	    (uint64_t)addr + size <= PCI_MMIO_LIMIT)
		want = addr;
	if (want == vd->bar_mapped[bar])
		return;
	if (vd->bar_mapped[bar])
		machine_remove_region(vd->m, REGION_MMIO, vd->bar_mapped[bar]);
	vd->bar_mapped[bar] = 0;
	if (want && machine_add_mmio(vd->m, want, size, ops, vd, vd->ops->name) == 0)
		vd->bar_mapped[bar] = want;
}

static void update_bars(struct virtio_dev *vd)
{
	update_bar(vd, VIRTIO_BAR, VIRTIO_BAR_SIZE, &bar4_ops);
	update_bar(vd, MSIX_BAR, MSIX_BAR_SIZE, &msix_ops);
}

/* The PCI configuration access capability (4.1.4.9): a window into the
 * BARs through config space.  pci_host has no read hook, so the data
 * field is filled when the driver sets up the window (the ISR, whose read
 * has a side effect, reads 0 there). */
static bool pcicfg_window(struct virtio_dev *vd, uint32_t *off, unsigned *len)
{
	uint32_t o = pci_config_get(vd->pci, CAP_PCICFG + 8, 4);
	uint32_t l = pci_config_get(vd->pci, CAP_PCICFG + 12, 4);
	if (pci_config_get(vd->pci, CAP_PCICFG + 4, 1) != VIRTIO_BAR || (l != 1 && l != 2 && l != 4) || o % l ||
	    o >= VIRTIO_BAR_SIZE)
		return false;
	*off = o, *len = l;
	return true;
}

static void pcicfg_access(struct virtio_dev *vd, bool data_written)
{
	uint32_t off, v;
	unsigned len;
	if (!pcicfg_window(vd, &off, &len))
		return;
	if (data_written) {
		v = pci_config_get(vd->pci, CAP_PCICFG + 16, 4);
		bar4_write(vd, off, v & (len == 4 ? ~0u : (1u << (8 * len)) - 1), len);
		return;
	}
	pthread_mutex_lock(&vd->lock);
	v = bar4_read_locked(vd, off, len, false);
	pthread_mutex_unlock(&vd->lock);
	pci_config_set(vd->pci, CAP_PCICFG + 16, v, 4);
}

static bool touches(unsigned off, unsigned size, unsigned lo, unsigned len)
{
	return off < lo + len && lo < off + size;
}

/* Host lock held (a guest config write, or pc.c assigning resources). */
static void virtio_config_write(struct pci_device *d, unsigned off, unsigned size)
{
	struct virtio_dev *vd = d->opaque;
	if (touches(off, size, PCI_COMMAND, 2) || touches(off, size, 0x10 + 4 * MSIX_BAR, 4) ||
	    touches(off, size, 0x10 + 4 * VIRTIO_BAR, 4))
		update_bars(vd);
	if (touches(off, size, CAP_PCICFG + 16, 4))
		pcicfg_access(vd, true);
	else if (touches(off, size, CAP_PCICFG + 4, 12))
		pcicfg_access(vd, false);
	if (touches(off, size, PCI_COMMAND, 2) || touches(off, size, CAP_MSIX + 2, 2)) {
		pthread_mutex_lock(&vd->lock);
		update_intx(vd);
		msix_flush_pending(vd);
		pthread_mutex_unlock(&vd->lock);
	}
}

static const struct pci_device_ops virtio_pci_ops = { .config_write = virtio_config_write };

static void put_cap(struct pci_device *d, unsigned at, unsigned next, unsigned len,
		    uint8_t type, uint32_t offset, uint32_t length)
{
	uint8_t *c = d->config + at;
	c[0] = CAP_ID_VENDOR;
	c[1] = next;
	c[2] = len;
	c[3] = type;
	c[4] = VIRTIO_BAR;
	pci_config_set(d, at + 8, offset, 4);
	pci_config_set(d, at + 12, length, 4);
}

static void build_config(struct virtio_dev *vd)
{
	struct pci_device *d = vd->pci;
	pci_config_set(d, PCI_SUBSYS_VENDOR, VIRTIO_PCI_VENDOR, 2);
	pci_config_set(d, PCI_SUBSYS_ID, 0x1100, 2);  /* as QEMU's modern devices */
	d->config[PCI_INT_PIN] = 1;                   /* INTA# */
	d->config[PCI_STATUS] |= STATUS_CAP_LIST;
	d->config[PCI_CAP_PTR] = CAP_COMMON;
	pci_device_set_bar(d, VIRTIO_BAR, VIRTIO_BAR_SIZE, 0);
	pci_device_set_bar(d, MSIX_BAR, MSIX_BAR_SIZE, 0);
	put_cap(d, CAP_COMMON, CAP_ISR, 16, VIRTIO_PCI_CAP_COMMON_CFG, COMMON_OFF, COMMON_LEN);
	put_cap(d, CAP_ISR, CAP_DEVICE, 16, VIRTIO_PCI_CAP_ISR_CFG, ISR_OFF, 4);
	put_cap(d, CAP_DEVICE, CAP_NOTIFY, 16, VIRTIO_PCI_CAP_DEVICE_CFG, DEVCFG_OFF,
		MAX(vd->ops->config_size, 4u));
	put_cap(d, CAP_NOTIFY, CAP_PCICFG, 20, VIRTIO_PCI_CAP_NOTIFY_CFG, NOTIFY_OFF,
		vd->ops->num_queues * NOTIFY_MULT);
	pci_config_set(d, CAP_NOTIFY + 16, NOTIFY_MULT, 4);
	put_cap(d, CAP_PCICFG, CAP_MSIX, 20, VIRTIO_PCI_CAP_PCI_CFG, 0, 0);
	d->config[CAP_PCICFG + 4] = 0;
	for (unsigned i = 4; i < 20; i++)
		if (i < 5 || i >= 8)
			d->wmask[CAP_PCICFG + i] = 0xff;
	/* MSI-X: table size - 1, table and PBA offsets with their BIR */
	d->config[CAP_MSIX] = CAP_ID_MSIX;
	d->config[CAP_MSIX + 1] = 0;
	pci_config_set(d, CAP_MSIX + 2, vd->nvec - 1, 2);
	pci_config_set(d, CAP_MSIX + 4, 0 | MSIX_BAR, 4);
	pci_config_set(d, CAP_MSIX + 8, MSIX_PBA_OFF | MSIX_BAR, 4);
	d->wmask[CAP_MSIX + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;
}

/* ---- device ops ---- */

static void msix_reset(struct virtio_dev *vd)
{
	memset(vd->msix_table, 0, sizeof(vd->msix_table));
	memset(vd->msix_pending, 0, sizeof(vd->msix_pending));
	for (unsigned v = 0; v < vd->nvec; v++)
		vd->msix_table[v * 16 + 12] = 1;   /* masked */
}

/* Machine reset: the host already cleared the config registers. */
static void virtio_dev_reset(void *dev)
{
	struct virtio_dev *vd = dev;
	if (vd->ops->drain)
		vd->ops->drain(vd);
	pci_host_lock(vd->pci->host);
	update_bars(vd);
	pci_host_unlock(vd->pci->host);
	pthread_mutex_lock(&vd->lock);
	vd->irq_level = false;
	if (vd->gsi != IRQ_ROUTE_NONE)
		machine_set_irq(vd->m, vd->gsi, 0);
	for (unsigned i = 0; i < vd->ops->num_queues; i++)
		vd->vq[i].inflight = 0;
	msix_reset(vd);
	device_reset(vd);
	pthread_mutex_unlock(&vd->lock);
}

/* With the vCPUs paused, before RAM is saved: the model's requests
 * complete (their elements pushed, interrupts raised). */
static void virtio_dev_quiesce(void *dev)
{
	struct virtio_dev *vd = dev;
	if (vd->ops->drain)
		vd->ops->drain(vd);
}

/* After virtio_dev_quiesce no element is in flight, so the rings, the
 * indexes and the MSI-X state say everything. */
static void virtio_dev_save(void *dev, struct state_buf *s)
{
	struct virtio_dev *vd = dev;
	pthread_mutex_lock(&vd->lock);
	for (unsigned i = 0; i < vd->ops->num_queues; i++)
		if (vd->vq[i].inflight)
			qvm_error("%s: queue %u: %u requests still in flight at save",
				  vd->ops->name, i, vd->vq[i].inflight);
	state_put_u8(s, VIRTIO_STATE_VERSION);
	state_put_u8(s, vd->status);
	state_put_u8(s, vd->broken);
	state_put_u64(s, vd->guest_features);
	state_put_u32(s, vd->dfselect);
	state_put_u32(s, vd->gfselect);
	state_put_u16(s, vd->msix_config);
	state_put_u16(s, vd->queue_sel);
	state_put_u8(s, vd->isr);
	state_put_u8(s, vd->generation);
	state_put_u16(s, vd->ops->num_queues);
	for (unsigned i = 0; i < vd->ops->num_queues; i++) {
		struct virtqueue *q = &vd->vq[i];
		state_put_u16(s, q->size);
		state_put_u8(s, q->ready);
		state_put_u64(s, q->desc_gpa);
		state_put_u64(s, q->avail_gpa);
		state_put_u64(s, q->used_gpa);
		state_put_u16(s, q->msix_vector);
		state_put_u16(s, q->last_avail);
		state_put_u16(s, q->used_idx);
		state_put_u16(s, q->signalled_used);
		state_put_u8(s, q->signalled_valid);
	}
	state_put_bytes(s, vd->msix_table, vd->nvec * 16);
	state_put_bytes(s, vd->msix_pending, vd->nvec);
	if (vd->ops->save)
		vd->ops->save(vd, s);
	pthread_mutex_unlock(&vd->lock);
}

static int load_queue(struct virtio_dev *vd, unsigned i, struct state_buf *s)
{
	struct virtqueue *q = &vd->vq[i];
	vq_reset(q, vd->m, vd->ops->queue_max);
	q->size = state_get_u16(s);
	bool ready = state_get_u8(s);
	q->desc_gpa = state_get_u64(s);
	q->avail_gpa = state_get_u64(s);
	q->used_gpa = state_get_u64(s);
	q->msix_vector = valid_vector(vd, state_get_u16(s));
	uint16_t last_avail = state_get_u16(s), used_idx = state_get_u16(s);
	uint16_t signalled = state_get_u16(s);
	bool valid = state_get_u8(s);
	if (s->error)
		return -1;
	if (ready) {
		const char *err;
		q->event_idx = virtio_has_feature(vd, VIRTIO_F_RING_EVENT_IDX);
		q->indirect = virtio_has_feature(vd, VIRTIO_F_RING_INDIRECT_DESC);
		if (vq_map(q, &err) < 0)
			return -1;
		q->ready = true;
		q->last_avail = last_avail;
		q->used_idx = used_idx;
		q->signalled_used = signalled;
		q->signalled_valid = valid;
	}
	return 0;
}

static int virtio_dev_load(void *dev, struct state_buf *s)
{
	struct virtio_dev *vd = dev;
	int r = -1;
	pthread_mutex_lock(&vd->lock);
	if (state_get_u8(s) != VIRTIO_STATE_VERSION)
		goto out;
	vd->status = state_get_u8(s);
	vd->broken = state_get_u8(s);
	vd->guest_features = state_get_u64(s) & vd->host_features;
	vd->dfselect = state_get_u32(s);
	vd->gfselect = state_get_u32(s);
	vd->msix_config = valid_vector(vd, state_get_u16(s));
	vd->queue_sel = state_get_u16(s);
	vd->isr = state_get_u8(s) & (ISR_QUEUE | ISR_CONFIG);
	vd->generation = state_get_u8(s);
	if (state_get_u16(s) != vd->ops->num_queues || s->error)
		goto out;
	for (unsigned i = 0; i < vd->ops->num_queues; i++)
		if (load_queue(vd, i, s) < 0)
			goto out;
	state_get_bytes(s, vd->msix_table, vd->nvec * 16);
	state_get_bytes(s, vd->msix_pending, vd->nvec);
	if (s->error || (vd->ops->load && vd->ops->load(vd, s) < 0))
		goto out;
	vd->reset_pending = false;
	vd->irq_level = !vd->isr;  /* force the line to its state */
	update_intx(vd);
	r = 0;
out:
	pthread_mutex_unlock(&vd->lock);
	if (r == 0) {
		pci_host_lock(vd->pci->host);
		update_bars(vd);
		pci_host_unlock(vd->pci->host);
	}
	return r;
}

/* The pci_device belongs to the host (maybe freed already): not touched. */
static void virtio_dev_destroy(void *dev)
{
	struct virtio_dev *vd = dev;
	vd->destroying = true;
	if (vd->ops->drain)
		vd->ops->drain(vd);
	if (vd->ops->destroy)
		vd->ops->destroy(vd);
	pthread_mutex_destroy(&vd->lock);
	free(vd);
}

static const struct device_ops virtio_device_ops = {
	.name = "virtio-pci",
	.reset = virtio_dev_reset,
	.quiesce = virtio_dev_quiesce,
	.save = virtio_dev_save,
	.load = virtio_dev_load,
	.destroy = virtio_dev_destroy,
};

struct virtio_dev *virtio_pci_new(struct machine *m, struct pci_host *h, unsigned slot,
				  const struct virtio_dev_ops *ops, void *opaque)
{
	if (ops->num_queues == 0 || ops->num_queues > MAX_QUEUES || ops->queue_max == 0 ||
	    ops->queue_max > VIRTQ_MAX_SIZE || (ops->queue_max & (ops->queue_max - 1)) ||
	    ops->config_size > REGION_LEN) {
		qvm_error("%s: bad virtio device description", ops->name);
		return NULL;
	}
	struct virtio_dev *vd = calloc(1, sizeof(*vd));
	if (!vd) {
		qvm_error("%s: out of memory", ops->name);
		return NULL;
	}
	vd->m = m;
	vd->ops = ops;
	vd->opaque = opaque;
	vd->nvec = ops->num_queues + 1;
	vd->gsi = irq_pci_line(m->irq_routing, slot, 0);
	vd->host_features = ops->features | 1ULL << VIRTIO_F_VERSION_1 |
			    1ULL << VIRTIO_F_RING_EVENT_IDX | 1ULL << VIRTIO_F_RING_INDIRECT_DESC;
	pthread_mutex_init(&vd->lock, NULL);
	vd->pci = pci_register_device(h, slot, 0, VIRTIO_PCI_VENDOR,
				      VIRTIO_PCI_DEVICE_BASE + ops->device_id, ops->class_code, 1,
				      &virtio_pci_ops, vd);
	if (!vd->pci) {
		pthread_mutex_destroy(&vd->lock);
		free(vd);
		return NULL;
	}
	build_config(vd);
	msix_reset(vd);
	device_reset(vd);
	machine_add_device(m, &virtio_device_ops, vd);
	return vd;
}
