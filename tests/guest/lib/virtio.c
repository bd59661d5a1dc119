/* A polled virtio 1.x driver over the modern PCI transport (virtio 1.2
 * spec, 4.1), one split virtqueue (2.7), and virtio-blk reads (5.2.6).
 * No interrupts: the driver waits for the used ring. */
#include "guest.h"

#define VIRTIO_VENDOR		0x1af4
#define CAP_VENDOR		0x09	/* PCI vendor-specific capability */
#define CAP_COMMON		1
#define CAP_NOTIFY		2
#define CAP_ISR			3
#define CAP_DEVICE		4

/* common configuration (4.1.4.3) */
#define C_DFSELECT	0x00
#define C_DF		0x04
#define C_GFSELECT	0x08
#define C_GF		0x0c
#define C_MSIX		0x10
#define C_STATUS	0x14
#define C_Q_SELECT	0x16
#define C_Q_SIZE	0x18
#define C_Q_MSIX	0x1a
#define C_Q_ENABLE	0x1c
#define C_Q_NOFF	0x1e
#define C_Q_DESC	0x20
#define C_Q_AVAIL	0x28
#define C_Q_USED	0x30

#define S_ACK		1
#define S_DRIVER	2
#define S_DRIVER_OK	4
#define S_FEATURES_OK	8

#define DESC_NEXT	1
#define DESC_WRITE	2

struct vring_desc { uint64_t addr; uint32_t len; uint16_t flags, next; };

static inline void w8(uint64_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void w16(uint64_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static inline void w32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint8_t r8(uint64_t a) { return *(volatile uint8_t *)a; }
static inline uint16_t r16(uint64_t a) { return *(volatile uint16_t *)a; }
static inline uint32_t r32(uint64_t a) { return *(volatile uint32_t *)a; }
static void w64(uint64_t a, uint64_t v) { w32(a, (uint32_t)v); w32(a + 4, v >> 32); }

/* Where a virtio capability of type points (0 if absent or above 4 GiB,
 * which the guest's identity map does not reach). */
static uint64_t cap_addr(const struct pci_dev *d, uint8_t type, unsigned *cap_out)
{
	for (unsigned p = pci_next_cap(d, 0, CAP_VENDOR); p; p = pci_next_cap(d, p, CAP_VENDOR)) {
		if (pci_read8(d, p + 3) != type)
			continue;
		uint64_t base = pci_bar(d, pci_read8(d, p + 4));
		if (!base || base >= (4ull << 30))
			return 0;
		if (cap_out)
			*cap_out = p;
		return base + pci_read32(d, p + 8);
	}
	return 0;
}

const char *virtio_pci_find(struct virtio_dev *v, uint16_t virtio_id)
{
	/* modern (0x1040 + id), or transitional (0x1000 + id - 1 for net and
	 * blk, 4.1.2.3) with its modern capabilities */
	const uint16_t ids[] = { 0x1040 + virtio_id, 0x1000 + virtio_id - 1 };
	unsigned ncap;
	if (!pci_find(VIRTIO_VENDOR, ids, 2, &v->pci))
		return "no such virtio PCI device";
	/* memory decoding and bus mastering (firmware may leave them off) */
	pci_write16(&v->pci, 0x04, pci_read16(&v->pci, 0x04) | 0x6);
	v->common = cap_addr(&v->pci, CAP_COMMON, NULL);
	v->notify = cap_addr(&v->pci, CAP_NOTIFY, &ncap);
	v->device = cap_addr(&v->pci, CAP_DEVICE, NULL);
	if (!v->common || !v->notify || !v->device)
		return "virtio capabilities missing or above 4 GiB";
	v->notify_mult = pci_read32(&v->pci, ncap + 16);
	return NULL;
}

/* 3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK. */
const char *virtio_negotiate(struct virtio_dev *v, uint64_t features)
{
	w8(v->common + C_STATUS, 0);
	for (int i = 0; i < 1000000 && r8(v->common + C_STATUS); i++)
		cpu_relax();
	w8(v->common + C_STATUS, S_ACK);
	w8(v->common + C_STATUS, S_ACK | S_DRIVER);
	w32(v->common + C_DFSELECT, 1);
	uint64_t offered = (uint64_t)r32(v->common + C_DF) << 32;
	w32(v->common + C_DFSELECT, 0);
	offered |= r32(v->common + C_DF);
	if ((offered & features) != features)
		return "the device does not offer the features needed";
	w32(v->common + C_GFSELECT, 0);
	w32(v->common + C_GF, (uint32_t)features);
	w32(v->common + C_GFSELECT, 1);
	w32(v->common + C_GF, features >> 32);
	w8(v->common + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(r8(v->common + C_STATUS) & S_FEATURES_OK))
		return "the device refused FEATURES_OK";
	return NULL;
}

/* Queue qi on the memory at ring (3 pages, page aligned), then DRIVER_OK. */
const char *virtio_queue_up(struct virtio_dev *v, struct virtq *q, unsigned qi, void *ring,
			    uint16_t size)
{
	w16(v->common + C_Q_SELECT, qi);
	uint16_t max = r16(v->common + C_Q_SIZE);
	if (!max)
		return "queue not available";
	if (size > max)
		size = max;
	memset(ring, 0, 3 * 4096);
	q->size = size;
	q->desc = ring;
	q->avail = (volatile uint16_t *)((uint8_t *)ring + 4096);
	q->used = (volatile uint16_t *)((uint8_t *)ring + 2 * 4096);
	q->avail_idx = q->used_seen = 0;
	w16(v->common + C_Q_SIZE, size);
	w16(v->common + C_Q_MSIX, 0xffff);
	w64(v->common + C_Q_DESC, (uint64_t)q->desc);
	w64(v->common + C_Q_AVAIL, (uint64_t)q->avail);
	w64(v->common + C_Q_USED, (uint64_t)q->used);
	q->notify = v->notify + (uint64_t)r16(v->common + C_Q_NOFF) * v->notify_mult;
	q->index = qi;
	w16(v->common + C_Q_ENABLE, 1);
	w8(v->common + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return NULL;
}

/* Offer the chain at descriptor 0, notify, and wait for it (true) or
 * give up after timeout_us. */
bool virtq_run(struct virtq *q, uint64_t timeout_us)
{
	q->avail[2 + q->avail_idx % q->size] = 0;
	q->avail_idx++;
	__asm__ volatile("mfence" ::: "memory");	/* ring entry before the index */
	q->avail[1] = q->avail_idx;
	__asm__ volatile("mfence" ::: "memory");
	w16(q->notify, q->index);
	uint64_t start = now_us();
	while (q->used[1] == q->used_seen) {
		if (now_us() - start > timeout_us)
			return false;
		cpu_relax();
	}
	q->used_seen++;
	__asm__ volatile("" ::: "memory");
	return true;
}

int virtio_blk_read(struct virtq *q, uint64_t sector, void *buf, uint32_t len)
{
	static struct { uint32_t type, reserved; uint64_t sector; } hdr;
	static volatile uint8_t status;
	struct vring_desc *d = q->desc;
	hdr.type = 0;				/* VIRTIO_BLK_T_IN */
	hdr.reserved = 0;
	hdr.sector = sector;
	status = 0xff;
	d[0] = (struct vring_desc){ (uint64_t)&hdr, sizeof(hdr), DESC_NEXT, 1 };
	d[1] = (struct vring_desc){ (uint64_t)buf, len, DESC_NEXT | DESC_WRITE, 2 };
	d[2] = (struct vring_desc){ (uint64_t)&status, 1, DESC_WRITE, 0 };
	if (!virtq_run(q, 5000000))
		return -1;
	return status;
}
