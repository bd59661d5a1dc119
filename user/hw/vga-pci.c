/*
 * The standard VGA as a PCI device (QEMU's "VGA", Bochs' VBE adapter):
 * 1234:1111, class 0300 (VGA-compatible), with
 *   BAR0  the framebuffer: VRAM mapped as guest RAM (prefetchable), so
 *         that engines write it directly (TCG's TLB, KVM's memory slot);
 *   BAR2  4 KiB of MMIO: the VGA ports 0x3c0-0x3df at 0x400 and the VBE
 *         DISPI registers (16-bit each) at 0x500, as QEMU's stdvga;
 *   ROM   the VGA BIOS (Debian's vgabios-stdvga.bin), which SeaBIOS runs
 *         as the option ROM (PCI 3.0, 6.2.5.2 "Expansion ROM Base
 *         Address Register");
 * and the legacy decode: ports 0x3b0-0x3df, the VBE ports 0x1ce/0x1cf
 * and the 0xA0000-0xBFFFF window.
 *
 * bochs-display is the same without anything legacy: class 0380, the VBE
 * registers only through BAR2 (and QEMU's extension block at 0x600, which
 * says the framebuffer is little-endian), its own ROM
 * (vgabios-bochs-display.bin).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "machine.h"
#include "hw/hw.h"
#include "hw/vga.h"
#include "ui/display.h"

#define VGA_VENDOR 0x1234
#define VGA_DEVICE 0x1111
#define VGA_CLASS 0x030000
#define BOCHS_DISPLAY_CLASS 0x038000    /* display controller, other */
#define VGA_REVISION 2
#define VGA_BAR_FB 0
#define VGA_BAR_MMIO 2
#define VGA_MMIO_SIZE 0x1000
#define VGA_MMIO_PORTS 0x400    /* 0x3c0-0x3df */
#define VGA_MMIO_VBE 0x500      /* VBE register i at 0x500 + 2 * i */
#define VGA_MMIO_QEXT 0x600     /* QEMU's extended registers: size, endianness */
#define QEXT_SIZE 8
#define QEXT_LITTLE_ENDIAN 0x1e1e1e1e
#define PCI_COMMAND 0x04
#define CMD_MEMORY 0x02
#define PCI_ROM_ADDRESS 0x30
#define ROM_ENABLE 0x01
#define VGA_MMIO_LIMIT 0xfec00000ULL    /* below the IOAPIC */
#define VGA_WINDOW 0xa0000
#define VGA_WINDOW_LEN 0x20000

struct vga_pci {
	struct vga core;
	struct machine *m;
	struct pci_device *pci;
	uint32_t fb_mapped, mmio_mapped, rom_mapped; /* 0: not mapped */
	uint8_t *rom;
	uint32_t rom_size;      /* the ROM BAR's size, a power of two */
};

/* ---- legacy decode ---- */

static uint64_t ports_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vga_pci *v = opaque;
	return vga_ioport_read(&v->core, 0x3b0 + offset, size);
}

static void ports_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct vga_pci *v = opaque;
	vga_ioport_write(&v->core, 0x3b0 + offset, value, size);
}

static const struct io_ops ports_ops = { .read = ports_read, .write = ports_write };

static uint64_t vbe_port_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vga_pci *v = opaque;
	uint64_t r = vga_vbe_read(&v->core, offset == 1);
	return size == 1 ? r & 0xff : r;
}

static void vbe_port_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct vga_pci *v = opaque;
	(void)size;
	vga_vbe_write(&v->core, offset == 1, value);
}

static const struct io_ops vbe_ops = { .read = vbe_port_read, .write = vbe_port_write };

static uint64_t window_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vga_pci *v = opaque;
	uint64_t r = 0;
	for (unsigned i = 0; i < size && i < 8; i++)
		r |= (uint64_t)vga_mem_read(&v->core, (offset + i) & (VGA_WINDOW_LEN - 1)) << (8 * i);
	return r;
}

static void window_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct vga_pci *v = opaque;
	for (unsigned i = 0; i < size && i < 8; i++)
		vga_mem_write(&v->core, (offset + i) & (VGA_WINDOW_LEN - 1), value >> (8 * i));
}

static const struct io_ops window_ops = { .read = window_read, .write = window_write };

/* ---- BAR2 ---- */

static uint64_t mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vga_pci *v = opaque;
	if (!v->core.no_legacy && offset >= VGA_MMIO_PORTS && offset + size <= VGA_MMIO_PORTS + 0x20)
		return vga_ioport_read(&v->core, 0x3c0 + offset - VGA_MMIO_PORTS, size);
	/* QEMU's extension block: its size, and little-endian framebuffers
	 * only (Linux's bochs driver reads both) */
	if (offset == VGA_MMIO_QEXT && size == 4)
		return QEXT_SIZE;
	if (offset == VGA_MMIO_QEXT + 4 && size == 4)
		return QEXT_LITTLE_ENDIAN;
	if (offset >= VGA_MMIO_VBE && offset < VGA_MMIO_VBE + 2 * VBE_NR_REGS && size == 2 &&
	    !(offset & 1)) {
		pthread_mutex_lock(&v->core.lock);
		uint16_t save = v->core.vbe_index;
		pthread_mutex_unlock(&v->core.lock);
		vga_vbe_write(&v->core, false, (offset - VGA_MMIO_VBE) / 2);
		uint16_t r = vga_vbe_read(&v->core, true);
		vga_vbe_write(&v->core, false, save);
		return r;
	}
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static void mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct vga_pci *v = opaque;
	if (!v->core.no_legacy && offset >= VGA_MMIO_PORTS && offset + size <= VGA_MMIO_PORTS + 0x20) {
		vga_ioport_write(&v->core, 0x3c0 + offset - VGA_MMIO_PORTS, value, size);
	} else if (offset >= VGA_MMIO_VBE && offset < VGA_MMIO_VBE + 2 * VBE_NR_REGS &&
		   size == 2 && !(offset & 1)) {
		pthread_mutex_lock(&v->core.lock);
		uint16_t save = v->core.vbe_index;
		pthread_mutex_unlock(&v->core.lock);
		vga_vbe_write(&v->core, false, (offset - VGA_MMIO_VBE) / 2);
		vga_vbe_write(&v->core, true, value);
		vga_vbe_write(&v->core, false, save);
	}
}

static const struct io_ops mmio_ops = { .read = mmio_read, .write = mmio_write };

/* ---- PCI configuration ---- */

/* Where a BAR should decode now: its address while memory decoding is on
 * and it lies inside the PCI hole, else 0. */
static uint32_t wanted(struct vga_pci *v, uint32_t addr, uint32_t size, bool enabled)
{
	uint16_t cmd = pci_config_get(v->pci, PCI_COMMAND, 2);
	if (!(cmd & CMD_MEMORY) || !enabled || !addr || addr < v->m->ram_below_4g ||
	    (uint64_t)addr + size > VGA_MMIO_LIMIT)
		return 0;
	return addr;
}

static void remap(struct vga_pci *v, uint32_t *mapped, uint32_t want, enum region_kind kind,
		  uint32_t size, void *host, const struct io_ops *ops, const char *name)
{
	if (want == *mapped)
		return;
	if (*mapped)
		machine_remove_region(v->m, kind, *mapped);
	*mapped = 0;
	if (!want)
		return;
	int r = kind == REGION_MMIO ? machine_add_mmio(v->m, want, size, ops, v, name) :
		machine_add_memory(v->m, kind, want, size, host, name);
	if (r == 0)
		*mapped = want;
}

static void update_bars(struct vga_pci *v)
{
	uint32_t fb = pci_device_bar(v->pci, VGA_BAR_FB);
	uint32_t mmio = pci_device_bar(v->pci, VGA_BAR_MMIO);
	uint32_t rom = pci_config_get(v->pci, PCI_ROM_ADDRESS, 4);
	remap(v, &v->fb_mapped, wanted(v, fb, v->core.vram_size, true), REGION_RAM,
	      v->core.vram_size, v->core.vram, NULL, "vga-vram");
	remap(v, &v->mmio_mapped, wanted(v, mmio, VGA_MMIO_SIZE, true), REGION_MMIO,
	      VGA_MMIO_SIZE, NULL, &mmio_ops, "vga-mmio");
	if (v->rom)
		remap(v, &v->rom_mapped, wanted(v, rom & ~0x7ffu, v->rom_size, rom & ROM_ENABLE),
		      REGION_ROM, v->rom_size, v->rom, NULL, "vga-rom");
}

static void vga_config_write(struct pci_device *d, unsigned off, unsigned size)
{
	(void)off;
	(void)size;
	update_bars(d->opaque);
}

static const struct pci_device_ops vga_pci_ops = { .config_write = vga_config_write };

static void vram_written(void *opaque, uint32_t offset, uint32_t len)
{
	struct vga_pci *v = opaque;
	uint32_t base = __atomic_load_n(&v->fb_mapped, __ATOMIC_RELAXED);
	if (base)
		machine_ram_written(v->m, (uint64_t)base + offset, len);
}

/* ---- the option ROM ---- */

/* The whole file, or NULL with a message. */
static uint8_t *read_rom_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		qvm_error("VGA romfile %s: %s", path, strerror(errno));
		return NULL;
	}
	uint8_t *data = malloc((1u << 20) + 1);
	*size = data ? fread(data, 1, (1u << 20) + 1, f) : 0;
	bool bad = !data || ferror(f);
	fclose(f);
	if (bad) {
		qvm_error("VGA romfile %s: cannot read it", path);
		free(data);
		return NULL;
	}
	return data;
}

static int load_rom(struct vga_pci *v, const char *path)
{
	size_t size;
	uint8_t *data = read_rom_file(path, &size);
	if (!data)
		return -1;
	if (size == 0 || size > 1u << 20) {
		qvm_error("VGA romfile %s: %zu bytes (an option ROM is 1 byte to 1 MiB)", path, size);
		free(data);
		return -1;
	}
	uint32_t bar = 4096;    /* whole pages: a KVM memory slot */
	while (bar < size)
		bar <<= 1;
	v->rom = aligned_alloc(4096, bar);
	if (v->rom)
		memset(v->rom, 0, bar);
	if (!v->rom) {
		free(data);
		return -1;
	}
	memcpy(v->rom, data, size);
	free(data);
	v->rom_size = bar;
	pci_config_set(v->pci, PCI_ROM_ADDRESS, 0, 4);
	uint32_t mask = ~(bar - 1) | ROM_ENABLE;
	for (unsigned i = 0; i < 4; i++)
		v->pci->wmask[PCI_ROM_ADDRESS + i] = mask >> (8 * i);
	return 0;
}

/* ---- the device ---- */

static const struct display_frame *vga_pci_refresh(void *opaque)
{
	struct vga_pci *v = opaque;
	return vga_render(&v->core);
}

static bool vga_pci_text(void *opaque, struct display_text *out)
{
	struct vga_pci *v = opaque;
	return vga_text(&v->core, out);
}

static const struct display_device_ops vga_display_ops = {
	.refresh = vga_pci_refresh,
	.text = vga_pci_text,
};

static void vga_pci_reset(void *dev)
{
	struct vga_pci *v = dev;
	vga_reset(&v->core);
	pci_config_set(v->pci, 0x3d, 0, 1);     /* no interrupt pin */
	update_bars(v);                         /* the host cleared the BARs */
}

static void vga_pci_save(void *dev, struct state_buf *s)
{
	struct vga_pci *v = dev;
	vga_save(&v->core, s);
}

static int vga_pci_load(void *dev, struct state_buf *s)
{
	struct vga_pci *v = dev;
	if (vga_load(&v->core, s) < 0)
		return -1;
	update_bars(v);         /* from the config space the host loaded */
	vga_vram_written(&v->core, 0, v->core.vram_size);
	return 0;
}

static void vga_pci_destroy(void *dev)
{
	struct vga_pci *v = dev;
	vga_fini(&v->core);
	free(v->rom);
	free(v);
}

static const struct device_ops vga_device_ops = {
	.name = "vga",
	.reset = vga_pci_reset,
	.save = vga_pci_save,
	.load = vga_pci_load,
	.destroy = vga_pci_destroy,
};

static int add_legacy(struct vga_pci *v)
{
	return machine_add_pio(v->m, 0x3b0, 0x30, &ports_ops, v, "vga") < 0 ||
	       machine_add_pio(v->m, 0x1ce, 2, &vbe_ops, v, "vga-vbe") < 0 ||
	       machine_add_mmio(v->m, VGA_WINDOW, VGA_WINDOW_LEN, &window_ops, v,
				"vga-window") < 0 ? -1 : 0;
}

/* The standard VGA (legacy) or bochs-display (VBE through BAR2 only). */
static struct vga_pci *create(struct machine *m, struct pci_host *h, unsigned slot,
			      uint32_t vram_mb, const char *romfile, bool legacy)
{
	const char *name = legacy ? "VGA" : "bochs-display";
	if (vram_mb < 1 || vram_mb > 256 || (vram_mb & (vram_mb - 1))) {
		qvm_error("%s: vgamem_mb=%u: a power of two from 1 to 256", name, vram_mb);
		return NULL;
	}
	struct vga_pci *v = calloc(1, sizeof(*v));
	if (!v || vga_init(&v->core, vram_mb << 20) < 0) {
		qvm_error("%s: out of memory for %u MiB of VRAM", name, vram_mb);
		free(v);
		return NULL;
	}
	v->m = m;
	v->core.no_legacy = !legacy;
	v->core.vram_written = vram_written;
	v->core.vram_written_opaque = v;
	v->pci = pci_register_device(h, slot, 0, VGA_VENDOR, VGA_DEVICE,
				     legacy ? VGA_CLASS : BOCHS_DISPLAY_CLASS, VGA_REVISION,
				     &vga_pci_ops, v);
	if (!v->pci || (legacy && add_legacy(v) < 0) || (romfile && load_rom(v, romfile) < 0)) {
		if (v->pci)
			v->pci->ops = NULL;     /* the host keeps the function */
		vga_fini(&v->core);
		free(v->rom);
		free(v);
		return NULL;
	}
	pci_config_set(v->pci, 0x2c, 0x1af4, 2);        /* subsystem: QEMU's */
	pci_config_set(v->pci, 0x2e, 0x1100, 2);
	pci_device_set_bar(v->pci, VGA_BAR_FB, vram_mb << 20, PCI_BAR_PREFETCH);
	pci_device_set_bar(v->pci, VGA_BAR_MMIO, VGA_MMIO_SIZE, 0);
	machine_add_device(m, &vga_device_ops, v);
	if (display_register_device(m, &vga_display_ops, v) < 0)
		return NULL;    /* the machine owns v now */
	return v;
}

struct vga_pci *vga_pci_new(struct machine *m, struct pci_host *h, unsigned slot,
			    uint32_t vram_mb, const char *romfile)
{
	return create(m, h, slot, vram_mb, romfile, true);
}

struct vga_pci *bochs_display_new(struct machine *m, struct pci_host *h, unsigned slot,
				  uint32_t vram_mb, const char *romfile)
{
	return create(m, h, slot, vram_mb, romfile, false);
}
