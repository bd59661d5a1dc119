/* The PC machine (-machine pc): memory layout, devices, boot. */
#ifndef QVM_PC_H
#define QVM_PC_H

#include <sys/stat.h>
#include "qvm.h"
#include "cpu.h"
#include "irq.h"
#include "physmap.h"

struct machine;
struct config;
struct chardev;
struct rtc;
struct aml;
struct acpi_pm;
struct pci_host;
struct virtio_blk;
struct fw_cfg;
struct pci_device;
struct drive_cfg;

/* pam.c: the i440FX PAM registers over 0xc0000-0xfffff (with -bios). */
#define PC_PAM_SEGS 13
struct pc_pam {
	struct machine *m;
	struct pci_device *host;     /* 00:00.0 */
	const uint8_t *rom;          /* the BIOS image, rom_size bytes */
	uint64_t rom_size;
	bool mapped[PC_PAM_SEGS];
	enum region_kind kind[PC_PAM_SEGS];
};
/* Take over 0xc0000-0xfffff (replacing its RAM region) and follow the
 * guest's PAM writes; the BIOS's last 128 KiB are copied below 1 MiB. */
int pam_init(struct machine *m, struct pc_pam *p, const uint8_t *rom, uint64_t rom_size);
/* After a machine reset: the copy again, all read-only. */
int pam_reset(struct pc_pam *p);

enum pc_boot_kind { BOOT_FIRMWARE, BOOT_MULTIBOOT, BOOT_LINUX };

/* The pc machine's own state (machine.board). */
struct pc_board {
	struct rtc *rtc;
	struct acpi_pm *acpi_pm;     /* the power button of system_powerdown */
	struct pci_host *pci;
	struct virtio_blk *disks[8];  /* -drive, in order */
	const struct drive_cfg *disk_cfgs[8]; /* their -drive (bootindex) */
	unsigned nr_disks;
	struct ide_ctrl *ide;        /* the IDE function, when there are drives */
	struct ahci *ahci;           /* -device ahci */
	enum pc_boot_kind boot;
	bool qvm_firmware;           /* -kernel without -bios: qvm does what
				      * firmware does */
	uint32_t mb_entry, mb_info;  /* multiboot entry point and information */
	uint64_t linux_entry;        /* Linux: entry point (boot_params at
				      * PC_BOOT_INFO_ADDR) */
	bool linux_64bit;            /* 64-bit entry (else the 32-bit one) */
	/* -bios (SeaBIOS by default): the ROM, fw_cfg, PAM */
	uint8_t *bios_rom;
	uint64_t bios_size;
	struct fw_cfg *fw_cfg;
	struct pc_pam pam;
	bool boot_once_pending;      /* -boot once=: the CMOS order until a reset */
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
#define PC_BIOS_SMBIOS_ADDR 0xf0040ULL  /* -kernel: the SMBIOS entry point, */
#define PC_BIOS_SMBIOS_TABLE 0xf0060ULL /* its structure table up to 1 MiB */
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
/* acpi-links.c: \PICM and \_PIC (at the root), the PCI interrupt link
 * devices LNKA-LNKD and the PIIX3's config region (inside \_SB.PCI0),
 * and the path of link n (PIRQ n). */
void acpi_dsdt_pic(struct aml *a);
void acpi_dsdt_pci_links(struct aml *a);
const char *acpi_pci_link_path(unsigned n);

/* bios.c: map a -bios ROM image below 4 GiB (b->bios_rom, bios_size);
 * pam.c maps its low alias. */
int bios_load(struct machine *m, const char *path);
/* The firmware qvm boots without -bios and -kernel (Debian's SeaBIOS). */
#define PC_DEFAULT_BIOS "/usr/share/seabios/bios-256k.bin"
#define PC_DEFAULT_BOOT_ORDER "cad"

/* firmware.c: what the BIOS reads through fw_cfg (e820, CPUs, ACPI
 * tables through the table loader, boot order, serial console), and the
 * CMOS boot order; pc_firmware_reset after each machine reset. */
int pc_firmware_init(struct machine *m);
/* The -boot letters (up to 3 of "abcdn") into CMOS 0x3d and 0x38. */
void pc_cmos_boot_order(struct rtc *rtc, const char *order);
int pc_firmware_reset(struct machine *m);

/* tables.c: the ACPI tables as one blob laid out from 0 (pointers are
 * offsets into it) and the RSDP pointing into it, with where the pointers
 * and checksums are: what the table loader (firmware.c) relocates. */
#define ACPI_BLOB_MAX_FIXUPS 32
struct acpi_blob {
	uint8_t *tables;             /* malloc'ed */
	uint32_t tables_len;
	uint8_t rsdp[36];
	unsigned nr_ptrs, nr_sums;
	struct { uint32_t offset; uint8_t size; } ptrs[ACPI_BLOB_MAX_FIXUPS];
	struct { uint32_t offset, start, len; } sums[ACPI_BLOB_MAX_FIXUPS];
	/* in rsdp: pointers at 16 (4 bytes) and 24 (8), checksums at 8
	 * (over 20 bytes) and 32 (over 36) */
};
int pc_acpi_blob(struct machine *m, struct acpi_blob *b);

/* smbios.c: the SMBIOS structure table (DSP0134) from the board and
 * -smbios/-uuid, type 0 included when with_type0 (else only when -smbios
 * type=0 gave a field), and its 31-byte entry point (SMBIOS 2.8) for a
 * table at table_addr. */
#define SMBIOS_EP_LEN 31
struct smbios_blob {
	uint8_t *tables;             /* malloc'ed */
	uint32_t len;
	uint16_t count, max_size;    /* structures, the largest one's bytes */
};
int pc_smbios_build(struct machine *m, bool with_type0, struct smbios_blob *b);
void pc_smbios_entry(const struct smbios_blob *b, uint32_t table_addr,
		     uint8_t ep[SMBIOS_EP_LEN]);

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
/* linuxboot.c: -kernel with -bios: the kernel (data, size is the file),
 * -initrd and -append as fw_cfg items for the option ROM rom/linuxboot.S */
int linux_fw_cfg_load(struct machine *m, struct fw_cfg *f, const uint8_t *data, size_t size);

#endif
