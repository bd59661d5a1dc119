/*
 * The i440FX's Programmable Attribute Map (Intel 82441FX PMC datasheet,
 * "PAM[6:0] - Programmable Attribute Map Registers", config 0x59-0x5f):
 * how 0xc0000-0xfffff decodes once firmware runs (-bios).  PAM0 bits 5:4
 * cover 0xf0000-0xfffff; PAM1-PAM6 cover 0xc0000-0xeffff in 16 KiB halves
 * (bits 1:0 the lower, 5:4 the upper).  In each field bit 0 is RE (reads
 * from DRAM) and bit 1 WE (writes to DRAM).
 *
 * SeaBIOS runs from the ROM, turns the area to read-write DRAM, copies
 * itself in ("shadowing") and at the end turns it read-only.  qvm keeps
 * the BIOS's low alias (its last 128 KiB) as a copy in RAM at the top of
 * the first MiB, written again at every reset, and maps each segment as
 * that RAM: writable with WE, read-only (a ROM region on the same host
 * memory) without.  So with RE clear reads see the RAM copy rather than
 * the ROM; they only differ after the guest shadowed the area and turned
 * it off again, which firmware does not do.  WE without RE (write-only
 * DRAM) is taken as read-write.
 *
 * TCG keeps the writability of a page in its TLB until the next flush: a
 * guest write right after a segment turns read-only may still land.
 */
#include <string.h>
#include "hw/hw.h"
#include "machine.h"
#include "pc/pc.h"

#define I440FX_PAM0 0x59
#define PAM_REGS 7
#define SEG_LEN 0x4000
#define PAM_START 0xc0000ULL
#define FSEG 0xf0000ULL
#define FSEG_LEN 0x10000
#define PAM_WE 0x2

/* Segment i: 0-11 the 16 KiB pieces of 0xc0000-0xeffff, 12 the F segment. */
static gpa_t seg_base(unsigned i)
{
	return i < PC_PAM_SEGS - 1 ? PAM_START + i * SEG_LEN : FSEG;
}

static uint64_t seg_len(unsigned i)
{
	return i < PC_PAM_SEGS - 1 ? SEG_LEN : FSEG_LEN;
}

static uint8_t seg_attr(const struct pci_device *host, unsigned i)
{
	if (i == PC_PAM_SEGS - 1)
		return host->config[I440FX_PAM0] >> 4 & 3;
	uint8_t reg = host->config[I440FX_PAM0 + 1 + i / 2];
	return (i & 1 ? reg >> 4 : reg) & 3;
}

/* Map every segment as the PAM registers say; unchanged ones stay. */
static int pam_apply(struct pc_pam *p)
{
	int ret = 0;
	for (unsigned i = 0; i < PC_PAM_SEGS; i++) {
		enum region_kind want = seg_attr(p->host, i) & PAM_WE ? REGION_RAM : REGION_ROM;
		if (p->mapped[i] && p->kind[i] == want)
			continue;
		gpa_t base = seg_base(i);
		if (p->mapped[i])
			machine_remove_region(p->m, p->kind[i], base);
		p->mapped[i] = machine_add_memory(p->m, want, base, seg_len(i),
						  (uint8_t *)p->m->ram + base, "pam") == 0;
		p->kind[i] = want;
		ret |= p->mapped[i] ? 0 : -1;
	}
	return ret;
}

/* The guest wrote 00:00.0's config space (under the host lock). */
static void pam_config_write(struct pci_device *d, unsigned offset, unsigned size)
{
	if (offset + size > I440FX_PAM0 && offset < I440FX_PAM0 + PAM_REGS)
		pam_apply(d->opaque);
}

static const struct pci_device_ops pam_ops = {
	.config_write = pam_config_write,
};

/* The BIOS's low alias into RAM below 1 MiB. */
static int pam_copy_rom(struct pc_pam *p)
{
	uint64_t alias = MIN(p->rom_size, 128 * KiB);
	memcpy((uint8_t *)p->m->ram + 0x100000 - alias, p->rom + p->rom_size - alias, alias);
	machine_ram_written(p->m, 0x100000 - alias, alias);
	return 0;
}

/* Saved with the machine only as a marker: the registers travel in the
 * host bridge's config space, which loads first (it was added first);
 * loading maps the segments as they say. */
#define PAM_STATE_VERSION 1

static void pam_save(void *dev, struct state_buf *s)
{
	(void)dev;
	state_put_u8(s, PAM_STATE_VERSION);
}

static int pam_load(void *dev, struct state_buf *s)
{
	struct pc_pam *p = dev;
	if (state_get_u8(s) != PAM_STATE_VERSION || s->error)
		return -1;
	pci_host_lock(p->host->host);
	int r = pam_apply(p);
	pci_host_unlock(p->host->host);
	return r;
}

static const struct device_ops pam_device_ops = {
	.name = "i440fx-pam",
	.save = pam_save,
	.load = pam_load,
};

int pam_init(struct machine *m, struct pc_pam *p, const uint8_t *rom, uint64_t rom_size)
{
	struct pc_board *b = m->board;
	memset(p, 0, sizeof(*p));
	p->m = m;
	p->rom = rom;
	p->rom_size = rom_size;
	p->host = pci_find_device(b->pci, 0, 0, 0);
	if (!p->host || machine_remove_region(m, REGION_RAM, PC_ISA_HOLE_END) < 0) {
		qvm_error("pam: no i440FX or no RAM at 0x%llx", (unsigned long long)PC_ISA_HOLE_END);
		return -1;
	}
	p->host->ops = &pam_ops;
	p->host->opaque = p;
	machine_add_device(m, &pam_device_ops, p);
	pam_copy_rom(p);
	return pam_apply(p);
}

/* After the devices reset (PAM registers back to 0): the ROM's copy
 * again, every segment read-only. */
int pam_reset(struct pc_pam *p)
{
	pam_copy_rom(p);
	return pam_apply(p);
}
