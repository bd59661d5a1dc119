/*
 * PCI host bridge: configuration mechanism #1 (PCI Local Bus Specification
 * 3.0, section 3.2.2.3.2), an Intel 440FX host bridge at 00:00.0, and the
 * PIIX3 Reset Control Register at port 0xcf9 (Intel 82371SB PIIX3
 * datasheet, "RC - Reset Control Register (I/O address 0CF9h)").
 *
 * Ports 0xcf8-0xcff are one region:
 *   0xcf8, 32-bit       CONFIG_ADDRESS (enable, bus, device, function,
 *                       register); other widths do not touch it
 *   0xcf9, 8-bit        Reset Control Register
 *   0xcfc-0xcff         CONFIG_DATA: byte, word or dword at the byte
 *                       offset within the dword selected by CONFIG_ADDRESS
 *
 * The 440FX's PAM registers (0x59-0x5f) remap 0xc0000-0xfffff when a
 * BIOS boots the machine (pc/pam.c, through the device's config_write);
 * SMRAM (0x72) keeps what the guest writes and changes nothing.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "machine.h"
#include "hw.h"

#define PCI_BASE 0xcf8
#define NR_PORTS 8

/* CONFIG_ADDRESS [3.2.2.3.2, Figure 3-1]: bits 30:24 and 1:0 read 0. */
#define CA_ENABLE 0x80000000u
#define CA_MASK 0x80fffffcu
#define CA_BUS(a) (((a) >> 16) & 0xff)
#define CA_SLOT(a) (((a) >> 11) & 0x1f)
#define CA_FN(a) (((a) >> 8) & 0x7)
#define CA_REG(a) ((a) & 0xfc)

/* PIIX3 Reset Control Register */
#define RCR_SYS_RST 0x02   /* hard (system) reset rather than soft */
#define RCR_RST_CPU 0x04   /* 1: reset now */
#define RCR_FULL_RST 0x08  /* (PIIX4) full reset */
#define RCR_MASK (RCR_SYS_RST | RCR_RST_CPU | RCR_FULL_RST)

/* Type 0 header offsets */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CACHE_LINE 0x0c
#define PCI_LATENCY 0x0d
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_INTERRUPT_LINE 0x3c
#define HEADER_MULTI_FN 0x80

#define CMD_WRITABLE 0x0547  /* I/O, memory, master, parity, SERR, INTx off */
#define STATUS_W1C 0xf900    /* parity, signalled/received aborts, SERR */

/* i440FX */
#define I440FX_VENDOR 0x8086
#define I440FX_DEVICE 0x1237
#define I440FX_PAM0 0x59
#define I440FX_SMRAM 0x72

#define PCI_STATE_VERSION 1

struct pci_host {
	struct machine *m;
	pthread_mutex_t lock;
	uint32_t config_address;
	uint8_t rcr;
	struct pci_device *devs[PCI_SLOTS * PCI_FUNCS]; /* by slot * 8 + fn */
};

/* ---- config space helpers ---- */

uint32_t pci_config_get(const struct pci_device *d, unsigned offset, unsigned size)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < size && i < 4; i++) {
		uint32_t b = offset + i < PCI_CONFIG_SIZE ? d->config[offset + i] : 0xff;
		v |= b << (8 * i);
	}
	return v;
}

void pci_config_set(struct pci_device *d, unsigned offset, uint32_t value, unsigned size)
{
	for (unsigned i = 0; i < size && i < 4; i++)
		if (offset + i < PCI_CONFIG_SIZE)
			d->config[offset + i] = value >> (8 * i);
}

static void mask_set(uint8_t *mask, unsigned offset, uint32_t value, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		mask[offset + i] = value >> (8 * i);
}

void pci_device_set_bar(struct pci_device *d, unsigned bar, uint32_t size, uint32_t flags)
{
	if (bar > 5)
		return;
	bool io = flags & PCI_BAR_IO;
	uint32_t min = io ? 4 : 16, sz = min;
	while (sz < size && sz < 0x80000000u)
		sz <<= 1;
	uint32_t low = io ? PCI_BAR_IO : (flags & PCI_BAR_PREFETCH);
	unsigned off = PCI_BAR0 + 4 * bar;
	pci_config_set(d, off, low, 4);
	mask_set(d->wmask, off, ~(sz - 1) & ~(min - 1), 4);
}

uint32_t pci_device_bar(const struct pci_device *d, unsigned bar)
{
	if (bar > 5)
		return 0;
	uint32_t v = pci_config_get(d, PCI_BAR0 + 4 * bar, 4);
	return v & ((v & PCI_BAR_IO) ? ~3u : ~15u);
}

void pci_host_lock(struct pci_host *h)
{
	pthread_mutex_lock(&h->lock);
}

void pci_host_unlock(struct pci_host *h)
{
	pthread_mutex_unlock(&h->lock);
}

/* ---- the bus ---- */

struct pci_device *pci_find_device(struct pci_host *h, unsigned bus, unsigned slot,
				   unsigned fn)
{
	if (bus != 0 || slot >= PCI_SLOTS || fn >= PCI_FUNCS)
		return NULL;
	return h->devs[slot * PCI_FUNCS + fn];
}

/* Function 0 says whether the other functions are there. */
static void pci_update_multifunction(struct pci_host *h, unsigned slot)
{
	struct pci_device *f0 = h->devs[slot * PCI_FUNCS];
	if (!f0)
		return;
	for (unsigned fn = 1; fn < PCI_FUNCS; fn++)
		if (h->devs[slot * PCI_FUNCS + fn])
			f0->config[PCI_HEADER_TYPE] |= HEADER_MULTI_FN;
}

static void pci_standard_masks(struct pci_device *d)
{
	mask_set(d->wmask, PCI_COMMAND, CMD_WRITABLE, 2);
	mask_set(d->w1cmask, PCI_STATUS, STATUS_W1C, 2);
	d->wmask[PCI_CACHE_LINE] = 0xff;
	d->wmask[PCI_LATENCY] = 0xff;
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

struct pci_device *pci_register_device(struct pci_host *h, unsigned slot, unsigned fn,
				       uint16_t vendor, uint16_t device,
				       uint32_t class_code, uint8_t revision,
				       const struct pci_device_ops *ops, void *opaque)
{
	if (slot >= PCI_SLOTS || fn >= PCI_FUNCS) {
		qvm_error("pci: no slot %u function %u on bus 0", slot, fn);
		return NULL;
	}
	struct pci_device *d = calloc(1, sizeof(*d));
	if (!d) {
		qvm_error("pci: out of memory");
		return NULL;
	}
	d->host = h;
	d->slot = slot;
	d->fn = fn;
	d->ops = ops;
	d->opaque = opaque;
	pci_config_set(d, PCI_VENDOR_ID, vendor, 2);
	pci_config_set(d, PCI_DEVICE_ID, device, 2);
	pci_config_set(d, PCI_REVISION, revision, 1);
	pci_config_set(d, PCI_CLASS_PROG, class_code, 3);
	pci_standard_masks(d);

	pthread_mutex_lock(&h->lock);
	struct pci_device **slotp = &h->devs[slot * PCI_FUNCS + fn];
	bool taken = *slotp != NULL;
	if (!taken) {
		*slotp = d;
		pci_update_multifunction(h, slot);
	}
	pthread_mutex_unlock(&h->lock);
	if (taken) {
		qvm_error("pci: 00:%02x.%u is already taken", slot, fn);
		free(d);
		return NULL;
	}
	return d;
}

/* The function CONFIG_ADDRESS selects, or NULL (reads as all ones). */
static struct pci_device *pci_selected(struct pci_host *h)
{
	uint32_t a = h->config_address;
	if (!(a & CA_ENABLE))
		return NULL;
	return pci_find_device(h, CA_BUS(a), CA_SLOT(a), CA_FN(a));
}

/* ---- CONFIG_DATA ---- */

static uint64_t pci_data_read(struct pci_host *h, unsigned k, unsigned size)
{
	struct pci_device *d = pci_selected(h);
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++) {
		uint64_t b = 0xff;
		if (d && k + i < 4)
			b = d->config[CA_REG(h->config_address) + k + i];
		v |= b << (8 * i);
	}
	return v;
}

static void pci_data_write(struct pci_host *h, unsigned k, uint64_t value, unsigned size)
{
	struct pci_device *d = pci_selected(h);
	if (!d || k >= 4)
		return;
	unsigned n = MIN(size, 4 - k), reg = CA_REG(h->config_address) + k;
	for (unsigned i = 0; i < n; i++) {
		uint8_t b = value >> (8 * i), o = reg + i;
		uint8_t c = (d->config[o] & ~d->wmask[o]) | (b & d->wmask[o]);
		d->config[o] = c & ~(b & d->w1cmask[o]);
	}
	if (d->ops && d->ops->config_write)
		d->ops->config_write(d, reg, n);
}

/* ---- port I/O ---- */

static uint64_t ones(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static uint64_t pci_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pci_host *h = opaque;
	uint64_t v = ones(size);
	pthread_mutex_lock(&h->lock);
	if (offset == 0 && size == 4)
		v = h->config_address;
	else if (offset == 1 && size == 1)
		v = h->rcr;
	else if (offset >= 4 && offset < NR_PORTS)
		v = pci_data_read(h, offset - 4, size);
	pthread_mutex_unlock(&h->lock);
	return v;
}

static void pci_write_rcr(struct pci_host *h, uint8_t val)
{
	h->rcr = val & RCR_MASK;
	if (val & RCR_RST_CPU) {
		qvm_log(LOG_INT, "pci: reset through 0xcf9 (0x%02x)", val);
		machine_request(h->m, REQ_RESET, 0);
	}
}

static void pci_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct pci_host *h = opaque;
	pthread_mutex_lock(&h->lock);
	if (offset == 0 && size == 4)
		h->config_address = value & CA_MASK;
	else if (offset == 1 && size == 1)
		pci_write_rcr(h, value);
	else if (offset >= 4 && offset < NR_PORTS)
		pci_data_write(h, offset - 4, value, size);
	pthread_mutex_unlock(&h->lock);
}

static const struct io_ops pci_io_ops = {
	.read = pci_io_read,
	.write = pci_io_write,
};

/* ---- device ops ---- */

static void pci_host_reset(void *dev)
{
	struct pci_host *h = dev;
	pthread_mutex_lock(&h->lock);
	h->config_address = 0;
	h->rcr = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(h->devs); i++) {
		struct pci_device *d = h->devs[i];
		if (!d)
			continue;
		for (unsigned o = 0; o < PCI_CONFIG_SIZE; o++)
			d->config[o] &= ~(d->wmask[o] | d->w1cmask[o]);
	}
	pthread_mutex_unlock(&h->lock);
}

static void pci_host_save(void *dev, struct state_buf *s)
{
	struct pci_host *h = dev;
	unsigned n = 0;
	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < ARRAY_SIZE(h->devs); i++)
		n += h->devs[i] != NULL;
	state_put_u8(s, PCI_STATE_VERSION);
	state_put_u32(s, h->config_address);
	state_put_u8(s, h->rcr);
	state_put_u16(s, n);
	for (unsigned i = 0; i < ARRAY_SIZE(h->devs); i++) {
		if (!h->devs[i])
			continue;
		state_put_u8(s, i);
		state_put_bytes(s, h->devs[i]->config, PCI_CONFIG_SIZE);
	}
	pthread_mutex_unlock(&h->lock);
}

/* A saved config space fits a registered function when the identity
 * (vendor, device, class, header layout) and read-only bits agree. */
static bool pci_config_fits(const struct pci_device *d, const uint8_t *cfg)
{
	if (memcmp(cfg, d->config, 4) != 0 ||
	    memcmp(cfg + PCI_REVISION, d->config + PCI_REVISION, 4) != 0 ||
	    cfg[PCI_HEADER_TYPE] != d->config[PCI_HEADER_TYPE])
		return false;
	return true;
}

static int pci_host_load(void *dev, struct state_buf *s)
{
	struct pci_host *h = dev;
	if (state_get_u8(s) != PCI_STATE_VERSION)
		return -1;
	uint32_t ca = state_get_u32(s);
	uint8_t rcr = state_get_u8(s);
	unsigned n = state_get_u16(s);
	if (s->error || (ca & ~CA_MASK) || (rcr & ~RCR_MASK) || n > ARRAY_SIZE(h->devs))
		return -1;
	uint8_t (*cfg)[PCI_CONFIG_SIZE] = calloc(ARRAY_SIZE(h->devs), PCI_CONFIG_SIZE);
	bool seen[PCI_SLOTS * PCI_FUNCS] = { false };
	int ret = cfg ? 0 : -1;
	unsigned registered = 0;

	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < ARRAY_SIZE(h->devs); i++)
		registered += h->devs[i] != NULL;
	for (unsigned j = 0; j < n && ret == 0; j++) {
		unsigned i = state_get_u8(s);
		state_get_bytes(s, cfg[i], PCI_CONFIG_SIZE);
		if (s->error || seen[i] || !h->devs[i] || !pci_config_fits(h->devs[i], cfg[i]))
			ret = -1;
		seen[i] = true;
	}
	if (ret == 0 && n != registered)
		ret = -1;
	if (ret == 0) {
		for (unsigned i = 0; i < ARRAY_SIZE(h->devs); i++)
			if (seen[i])
				memcpy(h->devs[i]->config, cfg[i], PCI_CONFIG_SIZE);
		h->config_address = ca;
		h->rcr = rcr;
	}
	pthread_mutex_unlock(&h->lock);
	free(cfg);
	return ret;
}

static void pci_host_destroy(void *dev)
{
	struct pci_host *h = dev;
	for (unsigned i = 0; i < ARRAY_SIZE(h->devs); i++)
		free(h->devs[i]);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static const struct device_ops pci_host_device_ops = {
	.name = "pci-host",
	.reset = pci_host_reset,
	.save = pci_host_save,
	.load = pci_host_load,
	.destroy = pci_host_destroy,
};

/* 00:00.0, Intel 82441FX (440FX PMC), per its datasheet's defaults. */
static int pci_add_i440fx(struct pci_host *h)
{
	struct pci_device *d = pci_register_device(h, 0, 0, I440FX_VENDOR, I440FX_DEVICE,
						   0x060000, 0x02, NULL, NULL);
	if (!d)
		return -1;
	d->wmask[I440FX_PAM0] = 0x30;
	for (unsigned o = I440FX_PAM0 + 1; o <= I440FX_PAM0 + 6; o++)
		d->wmask[o] = 0x33;
	d->config[I440FX_SMRAM] = 0x02;      /* C_BASE_SEG: A-segment */
	d->wmask[I440FX_SMRAM] = 0x78;       /* D_OPEN, D_CLS, D_LCK, G_SMRAME */
	return 0;
}

struct pci_host *pci_host_new(struct machine *m)
{
	struct pci_host *h = calloc(1, sizeof(*h));
	if (!h) {
		qvm_error("pci: out of memory");
		return NULL;
	}
	h->m = m;
	pthread_mutex_init(&h->lock, NULL);
	if (pci_add_i440fx(h) < 0 ||
	    machine_add_pio(m, PCI_BASE, NR_PORTS, &pci_io_ops, h, "pci-host") < 0) {
		pci_host_destroy(h);
		return NULL;
	}
	machine_add_device(m, &pci_host_device_ops, h);
	return h;
}
