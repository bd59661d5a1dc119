/* PCI configuration mechanism #1 (ports 0xcf8/0xcfc), bus 0 only. */
#include "guest.h"

static uint32_t cfg_addr(const struct pci_dev *d, unsigned off)
{
	return 0x80000000u | (uint32_t)d->bus << 16 | (uint32_t)d->slot << 11 |
	       (uint32_t)d->fn << 8 | (off & 0xfc);
}

uint32_t pci_read32(const struct pci_dev *d, unsigned off)
{
	outl(0xcf8, cfg_addr(d, off));
	return inl(0xcfc);
}

uint16_t pci_read16(const struct pci_dev *d, unsigned off)
{
	return pci_read32(d, off) >> ((off & 2) * 8);
}

uint8_t pci_read8(const struct pci_dev *d, unsigned off)
{
	return pci_read32(d, off) >> ((off & 3) * 8);
}

void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v)
{
	outl(0xcf8, cfg_addr(d, off));
	outl(0xcfc, v);
}

void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v)
{
	outl(0xcf8, cfg_addr(d, off));
	outw(0xcfc + (off & 2), v);
}

bool pci_find(uint16_t vendor, const uint16_t *devices, int ndevices, struct pci_dev *out)
{
	for (unsigned slot = 0; slot < 32; slot++) {
		for (unsigned fn = 0; fn < 8; fn++) {
			struct pci_dev d = { 0, slot, fn };
			uint32_t id = pci_read32(&d, 0);
			if ((id & 0xffff) == 0xffff) {
				if (fn == 0)
					break;		/* no device in the slot */
				continue;
			}
			for (int i = 0; i < ndevices; i++) {
				if ((id & 0xffff) == vendor && id >> 16 == devices[i]) {
					*out = d;
					return true;
				}
			}
			if (fn == 0 && !(pci_read8(&d, 0x0e) & 0x80))
				break;			/* single-function */
		}
	}
	return false;
}

uint64_t pci_bar(const struct pci_dev *d, unsigned bar)
{
	uint32_t lo = pci_read32(d, 0x10 + 4 * bar);
	if (lo & 1)
		return lo & ~3u;			/* I/O */
	uint64_t addr = lo & ~0xfu;
	if (((lo >> 1) & 3) == 2 && bar < 5)	/* 64-bit memory BAR */
		addr |= (uint64_t)pci_read32(d, 0x10 + 4 * (bar + 1)) << 32;
	return addr;
}

unsigned pci_next_cap(const struct pci_dev *d, unsigned prev, uint8_t id)
{
	if (!(pci_read16(d, 0x06) & 0x10))
		return 0;				/* no capability list */
	unsigned p = prev ? pci_read8(d, prev + 1) : pci_read8(d, 0x34);
	for (int n = 0; p && n < 48; n++) {
		p &= 0xfc;
		if (pci_read8(d, p) == id)
			return p;
		p = pci_read8(d, p + 1);
	}
	return 0;
}
