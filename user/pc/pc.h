/* The PC machine (-machine pc): memory layout, devices, boot. */
#ifndef QVM_PC_H
#define QVM_PC_H

#include <sys/stat.h>
#include "qvm.h"
#include "cpu.h"
#include "irq.h"

struct machine;
struct config;
struct chardev;
struct rtc;
struct aml;
struct acpi_pm;
struct pci_host;
struct virtio_blk;

enum pc_boot_kind { BOOT_FIRMWARE, BOOT_MULTIBOOT, BOOT_LINUX };

/* The pc machine's own state (machine.board). */
struct pc_board {
	struct rtc *rtc;
	struct acpi_pm *acpi_pm;     /* the power button of system_powerdown */
	struct pci_host *pci;
	struct virtio_blk *disks[8];  /* -drive, in order */
	unsigned nr_disks;
	struct ide_ctrl *ide;        /* the IDE function, when there are drives */
	enum pc_boot_kind boot;
	bool qvm_firmware;           /* no -bios: qvm does what firmware does */
	uint32_t mb_entry, mb_info;  /* multiboot entry point and information */
	uint64_t linux_entry;        /* Linux: entry point (boot_params at
				      * PC_BOOT_INFO_ADDR) */
	bool linux_64bit;            /* 64-bit entry (else the 32-bit one) */
};

/* board.c: the pc as a board (machine.h), -machine pc. */
extern const struct board_ops pc_board_ops;

/* irq-routes.c: the pc's interrupt wiring (machine.irq_routing). */
extern const struct irq_routing pc_irq_routing;

/* The memory map, in the BIOS e820 form (ACPI 6.4, 15.1). */
enum { E820_RAM = 1, E820_RESERVED = 2 };
#define PC_E820_MAX 8
struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};
/* Fill map (PC_E820_MAX entries) and return how many entries it holds. */
int pc_e820(const struct machine *m, struct e820_entry *map);

/* Guest-physical layout of what qvm itself places in low memory. */
#define PC_BOOT_INFO_ADDR 0x9000ULL     /* multiboot info, Linux boot_params */
#define PC_BOOT_INFO_END 0x10000ULL
#define PC_TABLES_ADDR 0x9c000ULL       /* MP config table, ACPI tables */
#define PC_EBDA_ADDR 0x9fc00ULL         /* RSDP, MP floating pointer */
#define PC_LOW_RAM_END 0xa0000ULL
#define PC_ISA_HOLE_END 0xc0000ULL      /* 0xa0000-0xbffff: legacy VGA window */
#define PC_BIOS_AREA 0xf0000ULL         /* -kernel: reserved RAM, as a BIOS's */
#define PC_BIOS_RSDP_ADDR 0xf0000ULL    /* -kernel: the RSDP's second copy */
#define PC_LAPIC_ADDR 0xfee00000ULL
#define PC_IOAPIC_ADDR 0xfec00000ULL
#define PC_HIGH_RAM 0x100000000ULL
/* PCI: the disks' slots, and where qvm (as firmware, for -kernel) puts
 * memory BARs: inside \_SB.PCI0's window, below the IOAPIC. */
#define PC_VGA_SLOT 2                   /* 00:02.0, as QEMU's pc */
#define PC_FIRST_DISK_SLOT 3
#define PC_PCI_IO_BASE 0xc000       /* I/O BARs for -kernel boots */
#define PC_PIIX_SLOT 1               /* 00:01.0 ISA bridge, 00:01.1 IDE */
#define PC_PCI_MMIO_BASE 0xe0000000ULL

/* COM1-COM4 (MAX_SERIALS): the PC's conventional ports and IRQs. */
struct pc_com {
	uint16_t iobase;
	uint8_t irq;
};
extern const struct pc_com pc_com_ports[];

/* Build the machine: RAM layout, devices, firmware tables, and the loaded
 * -bios or -kernel.  serials[i] is the back end of COM(i+1), where
 * pc_serial_present (may be NULL: output dropped). */
int pc_init(struct machine *m, struct chardev *const *serials);
/* What firmware does before a -kernel boot: PCI memory BARs, decoding and
 * Interrupt Line. */
void pc_assign_pci_resources(struct machine *m);

/* post-firmware.c: what firmware leaves in vCPU index when qvm plays it
 * (no -bios; nothing with -bios): the registers (st->cpu, given the
 * vCPU's reset state; cpu_set when changed), MSR writes and LAPIC register
 * writes, to apply in that order. */
#define PC_FW_WRITES 4
struct pc_fw_msr {
	uint32_t index;
	uint64_t value;
};
struct pc_fw_lapic {
	uint32_t offset, value;
};
struct pc_fw_state {
	struct x86_cpu_state cpu;
	bool cpu_set;
	unsigned nr_msrs, nr_lapic;
	struct pc_fw_msr msrs[PC_FW_WRITES];
	struct pc_fw_lapic lapic[PC_FW_WRITES];
};
int pc_post_firmware_state(struct machine *m, unsigned index, struct pc_fw_state *st);
/* board_ops.enter: every vCPU's post-firmware state through the engine. */
int pc_enter(struct machine *m);

/* tables.c: MP table and ACPI (RSDP, RSDT, XSDT, FADT, FACS, DSDT, MADT)
 * into guest RAM; the same bytes every time (it runs again on reset). */
int pc_write_tables(struct machine *m);
/* acpi-dsdt.c: append the DSDT's AML (the definition block after its
 * 36-byte header, which tables.c writes) to a; -1 if a->error is set. */
int acpi_dsdt_build(struct machine *m, struct aml *a);

/* bios.c: map a -bios ROM image below 4 GiB and at the end of the first
 * MiB. */
int bios_load(struct machine *m, const char *path);

/* -kernel: load the image (multiboot or Linux); its entry state is part of
 * the post-firmware state. */
int pc_load_kernel(struct machine *m);

/* loader.c: a whole file in a malloc'ed buffer; exactly len bytes of fd.
 * Errors print one line naming what and path. */
uint8_t *load_file(const char *what, const char *path, size_t *size);
/* Open an image for reading; -1 with "WHAT PATH: reason" unless it is a
 * regular file (a FIFO, device or directory is refused without blocking:
 * an open FIFO with no writer would wait forever). */
int open_image(const char *what, const char *path, struct stat *st);
bool read_full(int fd, void *buf, size_t len, const char *what, const char *path);

/* multiboot.c: a multiboot v1 kernel (data, size is the file) and its
 * modules. */
bool multiboot_detect(const uint8_t *data, size_t size);
int multiboot_load(struct machine *m, const uint8_t *data, size_t size);
/* The BSP's registers at the loaded kernel's entry, into s. */
int multiboot_entry_state(struct machine *m, struct x86_cpu_state *s);

/* linux.c: a Linux bzImage, its initrd and command line (the Linux x86
 * boot protocol, Documentation/arch/x86/boot.rst). */
bool linux_detect(const uint8_t *data, size_t size);
int linux_load(struct machine *m, const uint8_t *data, size_t size);
int linux_entry_state(struct machine *m, struct x86_cpu_state *s);

#endif
