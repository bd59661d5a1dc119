/*
 * The pc as a board (machine.h): build it (pc.c), reset it, start its
 * vCPUs where firmware would leave them (post-firmware.c), its ACPI power
 * button, and closing its disks before qvm exits.
 */
#include "config.h"
#include "hw/hw.h"
#include "machine.h"
#include "pc/pc.h"

/* After the engine reset the vCPUs: the tables again (the guest may have
 * written over them), the BARs as firmware assigns them, and a -kernel
 * image loaded again; a BIOS restarts at the reset vector by itself, with
 * its shadow copy and boot order put back (firmware.c). */
static int pc_reset(struct machine *m)
{
	struct pc_board *b = m->board;
	if (pc_write_tables(m) < 0)
		return -1;
	if (b->qvm_firmware)
		pc_assign_pci_resources(m);
	if (m->cfg->kernel && b->qvm_firmware && pc_load_kernel(m) < 0)
		return -1;
	return pc_firmware_reset(m);
}

/* acpi_pm_power_button() takes the device's lock and raises the SCI
 * through machine_set_irq, both safe beside running vCPUs.  An ACPI guest
 * answers by shutting down (it may also ignore it). */
static int pc_powerdown(struct machine *m)
{
	struct pc_board *b = m->board;
	if (!b || !b->acpi_pm)
		return -1;
	acpi_pm_power_button(b->acpi_pm);
	return 0;
}

static void pc_shutdown(struct machine *m)
{
	struct pc_board *b = m->board;
	if (!b || (!b->nr_disks && !b->ide && !b->ahci))
		return;
	if (m->nr_vcpus)
		machine_pause(m);
	for (unsigned i = 0; i < b->nr_disks; i++)
		virtio_blk_close(b->disks[i]);
	ide_close(b->ide);
	ahci_close(b->ahci);
}

/* The monitor's block commands: the IDE drives, then the AHCI ports'. */
static void pc_block_info(struct machine *m, void (*print)(void *, const char *), void *opaque)
{
	struct pc_board *b = m->board;
	ide_info_block(b ? b->ide : NULL, print, opaque);
	ahci_info_block(b ? b->ahci : NULL, print, opaque);
}

/* The controller (PIIX3 IDE or an AHCI port) with the drive dev, or NULL
 * (ide_eject and ide_change then say it is not found). */
static struct ide_ctrl *pc_drive_ctrl(struct machine *m, const char *dev)
{
	struct pc_board *b = m->board;
	if (!b)
		return NULL;
	return ide_has_drive(b->ide, dev) ? b->ide : ahci_drive_ctrl(b->ahci, dev);
}

static int pc_block_eject(struct machine *m, const char *dev, bool force, char *err,
			  size_t errlen)
{
	return ide_eject(pc_drive_ctrl(m, dev), dev, force, err, errlen);
}

static int pc_block_change(struct machine *m, const char *dev, const char *file, char *err,
			   size_t errlen)
{
	return ide_change(pc_drive_ctrl(m, dev), dev, file, err, errlen);
}

const struct board_ops pc_board_ops = {
	.name = "pc",
	.alias = "pc-i440fx",
	.desc = "Standard PC (i440FX + PIIX)",
	.irq_routing = &pc_irq_routing,
	.init = pc_init,
	.reset = pc_reset,
	.enter = pc_enter,
	.powerdown = pc_powerdown,
	.shutdown = pc_shutdown,
	.block_info = pc_block_info,
	.block_eject = pc_block_eject,
	.block_change = pc_block_change,
};
