/* The PC machine (-machine pc): memory layout, devices, boot. */
#ifndef QVM_PC_H
#define QVM_PC_H

#include "qvm.h"

struct machine;
struct config;
struct chardev;
struct rtc;

/* The pc machine's own state (machine.board). */
struct pc_board {
	struct rtc *rtc;
	uint32_t mb_entry, mb_info;  /* multiboot entry point and information */
};

/* Guest-physical layout of what qvm itself places in low memory. */
#define PC_BOOT_INFO_ADDR 0x9000ULL     /* multiboot info and strings */
#define PC_BOOT_INFO_END 0x10000ULL
#define PC_TABLES_ADDR 0x9c000ULL       /* MP config table, ACPI tables */
#define PC_EBDA_ADDR 0x9fc00ULL         /* RSDP, MP floating pointer */
#define PC_LOW_RAM_END 0xa0000ULL
#define PC_ISA_HOLE_END 0xc0000ULL      /* 0xa0000-0xbffff: legacy VGA window */
#define PC_LAPIC_ADDR 0xfee00000ULL
#define PC_IOAPIC_ADDR 0xfec00000ULL
#define PC_HIGH_RAM 0x100000000ULL

/* Build the machine: RAM layout, devices, firmware tables, and the loaded
 * -bios or -kernel.  serial is the COM1 back end (may be NULL). */
int pc_init(struct machine *m, struct chardev *serial);
/* Re-create what a reset must restore (tables, the multiboot image and the
 * BSP entry state), after the engine reset the vCPUs. */
int pc_reset(struct machine *m);

/* tables.c: MP table and ACPI (RSDP, RSDT, XSDT, MADT) into guest RAM. */
int pc_write_tables(struct machine *m);

/* bios.c: map a -bios ROM image below 4 GiB and at the end of the first
 * MiB. */
int bios_load(struct machine *m, const char *path);

/* multiboot.c: load a multiboot v1 kernel and modules; sets the BSP state
 * at the kernel's entry point. */
int multiboot_load(struct machine *m);
int multiboot_enter(struct machine *m);

#endif
