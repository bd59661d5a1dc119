/*
 * The pc machine: RAM below the PCI hole and above 4 GiB, the legacy ISA
 * devices, the PCI host bridge, firmware tables, and the boot image.
 *
 *   0x00000000-0x0009ffff  RAM (qvm's tables in 0x9c000-0x9ffff)
 *   0x000a0000-0x000bffff  legacy VGA window (the VGA's, when there is one)
 *   0x000c0000-0x000fffff  RAM (-kernel), or as the PAM registers say
 *                          (firmware: pam.c, the BIOS's copy at its top)
 *   0x00100000-below_4g    RAM (below_4g at most 3 GiB)
 *   0xfec00000, 0xfee00000 IOAPIC, LAPIC (in the engine)
 *   4 GiB - bios size      the BIOS ROM (-bios, SeaBIOS by default)
 *   0x100000000-           the rest of RAM
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "accel.h"
#include "block/block.h"
#include "config.h"
#include "hw/hw.h"
#include "machine.h"
#include "net/net.h"
#include "pc/pc.h"

static int map_ram(struct machine *m)
{
	uint8_t *ram = m->ram;
	uint64_t low = m->ram_below_4g;
	if (machine_add_memory(m, REGION_RAM, 0, PC_LOW_RAM_END, ram, "ram-low") < 0 ||
	    machine_add_memory(m, REGION_RAM, PC_ISA_HOLE_END, 0x100000 - PC_ISA_HOLE_END,
			       ram + PC_ISA_HOLE_END, "ram-isa") < 0 ||
	    machine_add_memory(m, REGION_RAM, 0x100000, low - 0x100000, ram + 0x100000,
			       "ram-below-4g") < 0)
		return -1;
	if (m->ram_size > low &&
	    machine_add_memory(m, REGION_RAM, PC_HIGH_RAM, m->ram_size - low, ram + low,
			       "ram-above-4g") < 0)
		return -1;
	m->fast_ram_start = 0x100000;
	m->fast_ram_end = low;
	m->fast_ram_host = ram + 0x100000;
	return 0;
}

const struct pc_com pc_com_ports[MAX_SERIALS] = {
	{ 0x3f8, 4 }, { 0x2f8, 3 }, { 0x3e8, 4 }, { 0x2e8, 3 },
};

static int add_serials(struct machine *m, struct chardev *const *serials)
{
	for (unsigned i = 0; i < MAX_SERIALS; i++)
		if (config_serial_present(m->cfg, i) &&
		    !serial_new(m, pc_com_ports[i].iobase, pc_com_ports[i].irq, serials[i]))
			return -1;
	return 0;
}

static int add_devices(struct machine *m, struct chardev *const *serials)
{
	const struct config *cfg = m->cfg;
	struct pc_board *b = m->board;
	if (add_serials(m, serials) < 0 || !i8042_new(m) || !port80_new(m) ||
	    !(b->pci = pci_host_new(m)) || !piix3_new(m, b->pci) || !(b->rtc = rtc_new(m, 8)) ||
	    !(b->acpi_pm = acpi_pm_new(m)))
		return -1;
	rtc_set_memory_info(b->rtc, m->ram_below_4g, m->ram_size - m->ram_below_4g,
			    cfg->smp_cpus);
	for (unsigned i = 0; i < cfg->nr_debug_exits; i++)
		if (!debug_exit_new(m, cfg->debug_exit[i].iobase, cfg->debug_exit[i].iosize))
			return -1;
	if (cfg->debugcon && !debugcon_new(m, cfg->debugcon))
		return -1;
	return 0;
}

/* The graphics card (-vga, -device VGA|bochs-display) in its slot. */
static int add_display(struct machine *m)
{
	const struct config *cfg = m->cfg;
	struct pc_board *b = m->board;
	unsigned mb = cfg->vga.vram_mb ? cfg->vga.vram_mb : VGA_DEFAULT_VRAM_MB;
	switch (config_vga(cfg)) {
	case VGA_STD:
		return vga_pci_new(m, b->pci, PC_VGA_SLOT, mb, config_vga_romfile(cfg)) ? 0 : -1;
	case VGA_BOCHS_DISPLAY:
		return bochs_display_new(m, b->pci, PC_VGA_SLOT, mb, config_vga_romfile(cfg)) ?
		       0 : -1;
	default:
		return 0;
	}
}

/* No -kernel, or -kernel with -bios: a BIOS boots the machine, -bios FILE
 * or SeaBIOS. */
static int load_firmware(struct machine *m)
{
	const char *bios = m->cfg->bios;
	if (!bios) {
		bios = PC_DEFAULT_BIOS;
		if (access(bios, R_OK) < 0) {
			qvm_error("nothing to boot: no -kernel, and the default firmware %s is "
				  "missing (apt-get install seabios, or give -bios FILE)", bios);
			return -1;
		}
	}
	return bios_load(m, bios) < 0 || pc_firmware_init(m) < 0 ? -1 : 0;
}

/* -drive: a virtio-blk each, from slot PC_FIRST_DISK_SLOT on. */
static int add_disks(struct machine *m)
{
	const struct config *cfg = m->cfg;
	struct pc_board *b = m->board;
	for (unsigned i = 0; i < cfg->nr_drives; i++) {
		const struct drive_cfg *d = &cfg->drives[i];
		if ((d->if_none && !d->attached) || d->ide || d->ahci)
			continue;       /* no -device virtio-blk-pci for it, or IDE */
		if (!d->file) {
			qvm_error("virtio-blk-pci: drive %s has no image (file=...)", d->id ? d->id : "");
			return -1;
		}
		struct blk_open_opts o = {
			.format = d->format,
			.readonly = d->readonly,
			.cache = d->cache,
			.snapshot = d->snapshot || cfg->snapshot,
			.share = BLK_SHARE_DEVICE,
			.no_locking = d->no_locking,
		};
		struct blk *img = blk_open(d->file, &o);
		if (!img || b->nr_disks == ARRAY_SIZE(b->disks))
			return -1;
		b->disk_cfgs[b->nr_disks] = d;
		b->disks[b->nr_disks] = virtio_blk_new(m, b->pci, PC_FIRST_DISK_SLOT + b->nr_disks, img,
						       d->serial ? d->serial : d->id, d->discard);
		if (!b->disks[b->nr_disks++])
			return -1;
	}
	return 0;
}

/* The image of an IDE or AHCI drive, opened as its -drive says (a CD-ROM
 * read-only, never a snapshot); none for an empty CD-ROM drive.  o keeps
 * how, for the monitor's change.  0, or -1 with a message. */
static int open_ata_drive(const struct config *cfg, const struct drive_cfg *d,
			  struct blk_open_opts *o, struct blk **img)
{
	*o = (struct blk_open_opts){
		.format = d->format,
		.readonly = d->readonly || d->cdrom,
		.cache = d->cache,
		.snapshot = (d->snapshot || cfg->snapshot) && !d->cdrom,
		.share = BLK_SHARE_DEVICE,
		.no_locking = d->no_locking,
	};
	*img = NULL;
	return d->file && !(*img = blk_open(d->file, o)) ? -1 : 0;
}

/* The IDE drives (options-ide.c gave each its index) on the PIIX3 IDE
 * function at 00:01.1 (beside the ISA bridge at 00:01.0), made when
 * there is one. */
static int add_ide(struct machine *m)
{
	const struct config *cfg = m->cfg;
	struct pc_board *b = m->board;
	bool any = false;
	for (unsigned i = 0; i < cfg->nr_drives; i++)
		any |= cfg->drives[i].ide;
	if (!any)
		return 0;
	if (!(b->ide = ide_new(m, b->pci, PC_PIIX_SLOT, 1)))
		return -1;
	for (unsigned i = 0; i < cfg->nr_drives; i++) {
		const struct drive_cfg *d = &cfg->drives[i];
		if (!d->ide)
			continue;
		struct blk_open_opts o;
		struct blk *img;
		if (open_ata_drive(cfg, d, &o, &img) < 0)
			return -1;
		if (ide_attach(b->ide, d->index / 2, d->index % 2, img, d->cdrom, &o) < 0)
			return -1;
	}
	return 0;
}

/* -device ahci and its drives, in the slot after the input devices. */
static int add_ahci(struct machine *m)
{
	const struct config *cfg = m->cfg;
	struct pc_board *b = m->board;
	if (!cfg->ahci_id)
		return 0;
	unsigned slot = PC_FIRST_DISK_SLOT + b->nr_disks + cfg->nr_nics + cfg->ui.nr_input_devs;
	if (!(b->ahci = ahci_new(m, b->pci, slot)))
		return -1;
	for (unsigned i = 0; i < cfg->nr_drives; i++) {
		const struct drive_cfg *d = &cfg->drives[i];
		if (!d->ahci)
			continue;
		struct blk_open_opts o;
		struct blk *img;
		if (open_ata_drive(cfg, d, &o, &img) < 0)
			return -1;
		if (ahci_attach(b->ahci, d->index, img, d->cdrom, &o) < 0)
			return -1;
	}
	return 0;
}

/* -netdev back ends (each on m->netdevs for the monitor), and a
 * virtio-net each NIC, in the slots after the disks.  A NIC owns its back
 * end; one with no NIC lives as long as qvm. */
static int add_nics(struct machine *m)
{
	const struct config *cfg = m->cfg;
	struct pc_board *b = m->board;
	struct netdev *nds[MAX_NETDEVS] = { 0 }, **tail = &m->netdevs;
	for (unsigned i = 0; i < cfg->nr_netdevs; i++) {
		nds[i] = netdev_new(m->loop, &cfg->netdevs[i]);
		if (!nds[i])
			return -1;
		*tail = nds[i];
		tail = &nds[i]->next;
	}
	for (unsigned i = 0; i < cfg->nr_nics; i++) {
		const struct nic_cfg *n = &cfg->nics[i];
		unsigned slot = PC_FIRST_DISK_SLOT + b->nr_disks + i;
		if (!virtio_net_new(m, b->pci, slot, n->netdev >= 0 ? nds[n->netdev] : NULL, n->mac))
			return -1;
	}
	return 0;
}

/* -device virtio-{keyboard,mouse,tablet}-pci, in the slots after the NICs. */
static int add_input_devices(struct machine *m)
{
	const struct ui_cfg *u = &m->cfg->ui;
	struct pc_board *b = m->board;
	for (unsigned i = 0; i < u->nr_input_devs; i++) {
		unsigned slot = PC_FIRST_DISK_SLOT + b->nr_disks + m->cfg->nr_nics + i;
		if (!virtio_input_new(m, b->pci, slot, u->input_devs[i]))
			return -1;
	}
	return 0;
}

/* What firmware does before a -kernel boot (kvmtool does the same): give
 * every memory BAR an address from PC_PCI_MMIO_BASE up, turn on memory
 * decoding and bus mastering, and set the interrupt line to the GSI of
 * the _PRT; I/O BARs get ports from PC_PCI_IO_BASE up (and I/O decoding). */
void pc_assign_pci_resources(struct machine *m)
{
	struct pc_board *b = m->board;
	uint64_t next = PC_PCI_MMIO_BASE;
	uint32_t io_next = PC_PCI_IO_BASE;
	pci_host_lock(b->pci);
	for (unsigned slot = 1; slot < PCI_SLOTS; slot++) {
		for (unsigned fn = 0; fn < PCI_FUNCS; fn++) {
			struct pci_device *d = pci_find_device(b->pci, 0, slot, fn);
			if (!d)
				continue;
			uint16_t io_on = 0;
			for (unsigned bar = 0; bar < 6; bar++) {
				unsigned off = 0x10 + 4 * bar;
				uint32_t wm = d->wmask[off] | d->wmask[off + 1] << 8 |
					      d->wmask[off + 2] << 16 | (uint32_t)d->wmask[off + 3] << 24;
				if ((pci_config_get(d, off, 4) & 1) && wm) {
					/* an I/O BAR: from PC_PCI_IO_BASE up */
					uint32_t size = (uint16_t)~(wm & ~0x3u) + 1;
					io_next = (io_next + size - 1) & ~(size - 1);
					if (io_next + size > 0x10000)
						continue;
					pci_config_set(d, off, io_next | 1, 4);
					io_next += size;
					io_on = 1;
					continue;
				}
				uint32_t mask = pci_config_get(d, off, 4) & 1 ? 0 : wm;
				if (!mask)
					continue;
				uint64_t size = (uint64_t)(uint32_t)~(mask & ~0xfu) + 1;
				next = (next + size - 1) & ~(size - 1);
				if (next + size > PC_IOAPIC_ADDR)
					break;
				pci_config_set(d, off, (pci_config_get(d, off, 4) & 0xf) | next, 4);
				next += size;
			}
			pci_config_set(d, 0x04, pci_config_get(d, 0x04, 2) | 0x6 | io_on, 2);
			uint8_t pin = d->config[0x3d];
			if (pin >= 1 && pin <= 4)
				d->config[0x3c] = irq_pci_line(&pc_irq_routing, slot, pin - 1);
			if (d->ops && d->ops->config_write)
				d->ops->config_write(d, 0x04, 2);
		}
	}
	pci_host_unlock(b->pci);
}

static int check_apic_ids(const struct config *cfg)
{
	for (unsigned i = 0; i < cfg->smp_max_cpus; i++) {
		if (topo_apic_id(cfg, i) >= 255) {
			qvm_error("-smp: topology gives vCPU %u APIC ID %u; xAPIC IDs stop at 254",
				  i, topo_apic_id(cfg, i));
			return -1;
		}
	}
	return 0;
}

int pc_init(struct machine *m, struct chardev *const *serials)
{
	const struct config *cfg = m->cfg;
	m->board = calloc(1, sizeof(struct pc_board));
	if (!m->board || check_apic_ids(cfg) < 0 || map_ram(m) < 0 ||
	    add_devices(m, serials) < 0 || add_display(m) < 0 || add_disks(m) < 0 ||
	    add_ide(m) < 0 || add_nics(m) < 0 || add_input_devices(m) < 0 ||
	    add_ahci(m) < 0)
		return -1;
	struct pc_board *b = m->board;
	b->qvm_firmware = cfg->kernel && !cfg->bios;   /* -kernel -bios: the firmware's option ROM */
	if (!b->qvm_firmware && load_firmware(m) < 0)
		return -1;
	if (b->qvm_firmware)
		pc_assign_pci_resources(m);
	if (pc_write_tables(m) < 0)
		return -1;
	if (b->qvm_firmware && pc_load_kernel(m) < 0)
		return -1;
	return 0;
}

/* RAM, less what qvm keeps for its tables, and KVM's TSS and identity map
 * page just below the IOAPIC/BIOS area. */
int pc_e820(const struct machine *m, struct e820_entry *map)
{
	int n = 0;
	map[n++] = (struct e820_entry){ 0, PC_TABLES_ADDR, E820_RAM };
	map[n++] = (struct e820_entry){ PC_TABLES_ADDR, PC_LOW_RAM_END - PC_TABLES_ADDR,
					E820_RESERVED };
	map[n++] = (struct e820_entry){ PC_BIOS_AREA, 0x100000 - PC_BIOS_AREA, E820_RESERVED };
	map[n++] = (struct e820_entry){ 0x100000, m->ram_below_4g - 0x100000, E820_RAM };
	map[n++] = (struct e820_entry){ 0xfeffc000, 0x4000, E820_RESERVED };
	if (m->ram_size > m->ram_below_4g)
		map[n++] = (struct e820_entry){ PC_HIGH_RAM, m->ram_size - m->ram_below_4g,
						E820_RAM };
	return n;
}

/* -kernel: a multiboot header wins (as in QEMU), else a Linux bzImage. */
int pc_load_kernel(struct machine *m)
{
	struct pc_board *b = m->board;
	const char *path = m->cfg->kernel;
	size_t size;
	uint8_t *data = load_file("-kernel", path, &size);
	if (!data)
		return -1;
	int r = -1;
	if (multiboot_detect(data, size)) {
		b->boot = BOOT_MULTIBOOT;
		r = multiboot_load(m, data, size);
	} else if (linux_detect(data, size)) {
		b->boot = BOOT_LINUX;
		r = linux_load(m, data, size);
	} else {
		qvm_error("-kernel %s: not a kernel qvm can boot (neither a Linux bzImage nor "
			  "a multiboot image)", path);
	}
	free(data);
	return r;
}
