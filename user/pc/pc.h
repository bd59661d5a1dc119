/* The PC machine (-machine pc): memory layout, devices, boot. */
#ifndef QVM_PC_H
#define QVM_PC_H

#include <sys/stat.h>
#include "qvm.h"

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
	enum pc_boot_kind boot;
	uint32_t mb_entry, mb_info;  /* multiboot entry point and information */
	uint64_t linux_entry;        /* Linux: entry point (boot_params at
				      * PC_BOOT_INFO_ADDR) */
	bool linux_64bit;            /* 64-bit entry (else the 32-bit one) */
};

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
#define PC_FIRST_DISK_SLOT 3
#define PC_PCI_MMIO_BASE 0xe0000000ULL

/* COM1-COM4 (MAX_SERIALS): the PC's conventional ports and IRQs. */
struct pc_com {
	uint16_t iobase;
	uint8_t irq;
};
extern const struct pc_com pc_com_ports[];
/* Whether COM(i+1) exists: the i-th -serial (COM1 also when none is
 * given), unless it is "none", which leaves no port, as in QEMU. */
bool pc_serial_present(const struct config *c, unsigned i);

/* Build the machine: RAM layout, devices, firmware tables, and the loaded
 * -bios or -kernel.  serials[i] is the back end of COM(i+1), where
 * pc_serial_present (may be NULL: output dropped). */
int pc_init(struct machine *m, struct chardev *const *serials);
/* Re-create what a reset must restore (tables, the multiboot image and the
 * BSP entry state), after the engine reset the vCPUs. */
int pc_reset(struct machine *m);
/* The monitor's system_powerdown: press the ACPI power button, which an
 * ACPI guest answers by shutting down (it may also ignore it).  From any
 * thread, vCPUs running or not; -1 if the machine has no ACPI PM device. */
int pc_powerdown(struct machine *m);
/* Before qvm exits, on the main thread: pause the vCPUs, complete the
 * disks' requests and close their images cleanly. */
void pc_shutdown(struct machine *m);

/* tables.c: MP table and ACPI (RSDP, RSDT, XSDT, FADT, FACS, DSDT, MADT)
 * into guest RAM; the same bytes every time (it runs again on reset). */
int pc_write_tables(struct machine *m);
/* acpi-dsdt.c: append the DSDT's AML (the definition block after its
 * 36-byte header, which tables.c writes) to a; -1 if a->error is set. */
int acpi_dsdt_build(struct machine *m, struct aml *a);

/* bios.c: map a -bios ROM image below 4 GiB and at the end of the first
 * MiB. */
int bios_load(struct machine *m, const char *path);

/* -kernel: load the image (multiboot or Linux), and set the BSP's state
 * at its entry point. */
int pc_load_kernel(struct machine *m);
int pc_enter_kernel(struct machine *m);

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
int multiboot_enter(struct machine *m);

/* linux.c: a Linux bzImage, its initrd and command line (the Linux x86
 * boot protocol, Documentation/arch/x86/boot.rst). */
bool linux_detect(const uint8_t *data, size_t size);
int linux_load(struct machine *m, const uint8_t *data, size_t size);
int linux_enter(struct machine *m);

#endif
