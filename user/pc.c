/*
 * The pc machine: RAM below the PCI hole and above 4 GiB, the legacy ISA
 * devices, the PCI host bridge, firmware tables, and the boot image.
 *
 *   0x00000000-0x0009ffff  RAM (qvm's tables in 0x9c000-0x9ffff)
 *   0x000a0000-0x000bffff  legacy VGA window (unassigned)
 *   0x000c0000-0x000fffff  RAM, or the -bios alias at its top
 *   0x00100000-below_4g    RAM (below_4g at most 3 GiB)
 *   0xfec00000, 0xfee00000 IOAPIC, LAPIC (in the engine)
 *   4 GiB - bios size      the -bios ROM
 *   0x100000000-           the rest of RAM
 */
#include <stdlib.h>
#include <string.h>
#include "accel.h"
#include "config.h"
#include "hw/hw.h"
#include "machine.h"
#include "pc.h"

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
	return 0;
}

static int add_devices(struct machine *m, struct chardev *serial)
{
	const struct config *cfg = m->cfg;
	struct pc_board *b = m->board;
	if (!serial_new(m, 0x3f8, 4, serial) || !i8042_new(m) || !port80_new(m) ||
	    !pci_host_new(m) || !(b->rtc = rtc_new(m, 8)))
		return -1;
	rtc_set_memory_info(b->rtc, m->ram_below_4g, m->ram_size - m->ram_below_4g,
			    cfg->smp_cpus);
	for (unsigned i = 0; i < cfg->nr_debug_exits; i++)
		if (!debug_exit_new(m, cfg->debug_exit[i].iobase, cfg->debug_exit[i].iosize))
			return -1;
	return 0;
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

int pc_init(struct machine *m, struct chardev *serial)
{
	const struct config *cfg = m->cfg;
	m->board = calloc(1, sizeof(struct pc_board));
	if (!m->board || check_apic_ids(cfg) < 0 || map_ram(m) < 0 ||
	    add_devices(m, serial) < 0)
		return -1;
	if (cfg->bios && bios_load(m, cfg->bios) < 0)
		return -1;
	m->firmware_setup = !cfg->bios;
	if (pc_write_tables(m) < 0)
		return -1;
	if (cfg->kernel && multiboot_load(m) < 0)
		return -1;
	return 0;
}

/* After the engine reset the vCPUs: a -bios machine restarts at the reset
 * vector by itself; a -kernel machine is booted again by qvm. */
int pc_reset(struct machine *m)
{
	if (pc_write_tables(m) < 0)
		return -1;
	if (m->cfg->kernel && !m->cfg->bios) {
		if (multiboot_load(m) < 0 || multiboot_enter(m) < 0)
			return -1;
	}
	return 0;
}
