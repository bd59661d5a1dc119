/*
 * A virtio-pci driver for device unit tests, doing what a guest driver
 * does: config space through ports 0xcf8/0xcfc, the BARs through MMIO,
 * the rings in guest RAM (virtio 1.2 section 4.1 and 2.7).  The machine
 * has 16 MiB of RAM, a PCI host, the pc's interrupt routing, a main loop
 * and an irqchip that records INTx levels and MSIs.
 *
 * Queue q's rings lie at a base the test picks: descriptors at base,
 * the available ring at base + 0x1000, the used ring at base + 0x2000.
 */
#ifndef QVM_VIRTIOTEST_H
#define QVM_VIRTIOTEST_H

#include <stdbool.h>
#include <stdint.h>
#include "machine.h"

#define VT_BAR4_ADDR 0xe0000000u   /* common, ISR, device config, notify */
#define VT_BAR1_ADDR 0xe0010000u   /* the MSI-X table; pending bits at +0x800 */
#define VT_COMMON(off) (VT_BAR4_ADDR + (off))
#define VT_ISR (VT_BAR4_ADDR + 0x1000)
#define VT_DEVCFG(off) (VT_BAR4_ADDR + 0x2000 + (off))
#define VT_NOTIFY(q) (VT_BAR4_ADDR + 0x3000 + 4 * (q))
#define VT_QUEUES 4

struct pci_host;

struct vtest {
	struct machine *m;
	struct pci_host *h;
	uint8_t *ram;
	unsigned slot;
	int level[IRQCHIP_NR_GSIS];   /* INTx level of each GSI */
	unsigned msis;                /* MSIs sent to the LAPIC range */
	uint32_t msi_data;            /* the last one's data */
	uint64_t qbase[VT_QUEUES];
	uint16_t qsize[VT_QUEUES];
	uint16_t avail_idx[VT_QUEUES], used_seen[VT_QUEUES];
	void *priv;                   /* the test's own (a fake back end ...) */
};

/* The machine, before the device: false if it can't be built. */
bool vt_init(struct vtest *t, unsigned slot);
/* After the device is registered at t->slot: BAR1, BAR4, memory and
 * bus-master enable. */
void vt_map_bars(struct vtest *t);
void vt_free(struct vtest *t);

void vt_cfg_w(struct vtest *t, unsigned reg, uint32_t v, unsigned size);
uint32_t vt_cfg_r(struct vtest *t, unsigned reg, unsigned size);
uint64_t vt_mr(struct vtest *t, uint64_t addr, unsigned size);
void vt_mw(struct vtest *t, uint64_t addr, uint64_t v, unsigned size);

/* MSI-X vectors 0..n-1 to the LAPIC range, data 0x40 + v, unmasked; the
 * capability enabled. */
void vt_msix(struct vtest *t, unsigned n);
/* Reset, ACKNOWLEDGE|DRIVER, the features, FEATURES_OK (3.1.1); the
 * status read back. */
uint8_t vt_negotiate(struct vtest *t, uint64_t features);
/* Queue q of size entries at base (zeroed), MSI-X vector (0xffff: none),
 * enabled. */
void vt_setup_queue(struct vtest *t, unsigned q, uint64_t base, uint16_t size, uint16_t vector);
/* Set DRIVER_OK; true when the status reads 0xf. */
bool vt_driver_ok(struct vtest *t);
/* The virtio state's NEEDS_RESET bit. */
bool vt_needs_reset(struct vtest *t);

/* What the driver knows of its queues (their place, the indexes), from
 * one rig to another after a state copy. */
void vt_copy_driver(struct vtest *to, const struct vtest *from);

void vt_put_desc(struct vtest *t, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next);
/* Put head in q's available ring and notify; the main loop is not run. */
void vt_offer(struct vtest *t, unsigned q, uint16_t head);
uint16_t vt_used_idx(struct vtest *t, unsigned q);
/* The length of used element n of q. */
uint32_t vt_used_len(struct vtest *t, unsigned q, unsigned n);

#endif
