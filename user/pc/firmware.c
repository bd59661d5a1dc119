/*
 * What a BIOS (SeaBIOS by default) learns from the board through fw_cfg
 * (hw/fw_cfg.h) and the CMOS, as QEMU's pc gives it:
 *
 *   RAM_SIZE, NB_CPUS, MAX_CPUS, NOGRAPHIC, BOOT_MENU, IRQ0_OVERRIDE
 *   etc/e820               the memory map: 20-byte entries (u64 address,
 *                          u64 length, u32 type), RAM only where it is
 *   etc/acpi/tables, etc/acpi/rsdp, etc/table-loader
 *                          tables.c's ACPI tables and the commands that
 *                          place and link them (below)
 *   etc/boot-menu-wait     -boot splash-time= (ms the menu waits)
 *   etc/boot-fail-wait     -boot reboot-timeout= (le32 ms; -1: never)
 *   bootsplash.jpg|.bmp    -boot splash= (by the file's first bytes)
 *   bootorder              the disks with a bootindex=, lowest first, as
 *                          Open Firmware device paths (QEMU's for
 *                          virtio-blk: /pci@i0cf8/scsi@SLOT/disk@0,0)
 *   etc/sercon-port        -nographic: int 10h text also on COM1
 *   KERNEL_*, INITRD_*, CMDLINE_*, SETUP_*, genroms/linuxboot.bin
 *                          -kernel with -bios: the parts of a Linux
 *                          kernel (boot/linuxboot.c) and the option ROM
 *                          that loads them (rom/linuxboot.S), first in
 *                          the bootorder file
 *   CMOS 0x3d, 0x38        the -boot order (once= until the first reset)
 *
 *   etc/smbios/smbios-tables, etc/smbios/smbios-anchor
 *                          smbios.c's structures and their 2.8 entry
 *                          point; SeaBIOS places them (in the F segment
 *                          or high memory) and adds its own type 0 unless
 *                          -smbios type=0 gave one
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "config.h"
#include "hw/fw_cfg.h"
#include "hw/hw.h"
#include "machine.h"
#include "pc/pc.h"

/* Table loader commands (QEMU's hw/acpi/bios-linker-loader.c documents
 * the format SeaBIOS executes): 128-byte entries, little-endian. */
#define LOADER_ENTRY_LEN 128
#define LOADER_FILE_LEN 56
#define LOADER_ALLOCATE 1
#define LOADER_ADD_POINTER 2
#define LOADER_ADD_CHECKSUM 3
#define LOADER_ZONE_HIGH 1
#define LOADER_ZONE_FSEG 2
#define ACPI_TABLES_FILE "etc/acpi/tables"
#define ACPI_RSDP_FILE "etc/acpi/rsdp"

struct loader {
	uint8_t *data;
	size_t len, cap;
};

static uint8_t *loader_entry(struct loader *l, uint32_t command)
{
	if (l->len + LOADER_ENTRY_LEN > l->cap)
		return NULL;
	uint8_t *e = l->data + l->len;
	memset(e, 0, LOADER_ENTRY_LEN);
	wr32(e, command);
	l->len += LOADER_ENTRY_LEN;
	return e;
}

static void loader_allocate(struct loader *l, const char *file, uint32_t align, uint8_t zone)
{
	uint8_t *e = loader_entry(l, LOADER_ALLOCATE);
	if (!e)
		return;
	strncpy((char *)e + 4, file, LOADER_FILE_LEN - 1);
	wr32(e + 4 + LOADER_FILE_LEN, align);
	e[4 + LOADER_FILE_LEN + 4] = zone;
}

/* Add src's address to the size-byte value at offset in dst. */
static void loader_pointer(struct loader *l, const char *dst, const char *src,
			   uint32_t offset, uint8_t size)
{
	uint8_t *e = loader_entry(l, LOADER_ADD_POINTER);
	if (!e)
		return;
	strncpy((char *)e + 4, dst, LOADER_FILE_LEN - 1);
	strncpy((char *)e + 4 + LOADER_FILE_LEN, src, LOADER_FILE_LEN - 1);
	wr32(e + 4 + 2 * LOADER_FILE_LEN, offset);
	e[8 + 2 * LOADER_FILE_LEN] = size;
}

/* Make the bytes [start, start + len) of file sum to 0 through the byte
 * at offset. */
static void loader_checksum(struct loader *l, const char *file, uint32_t offset,
			    uint32_t start, uint32_t len)
{
	uint8_t *e = loader_entry(l, LOADER_ADD_CHECKSUM);
	if (!e)
		return;
	strncpy((char *)e + 4, file, LOADER_FILE_LEN - 1);
	wr32(e + 4 + LOADER_FILE_LEN, offset);
	wr32(e + 8 + LOADER_FILE_LEN, start);
	wr32(e + 12 + LOADER_FILE_LEN, len);
}

/* The tables anywhere in high memory, the RSDP in the F segment where
 * guests search for it (ACPI 6.4, 5.2.5.1); pointers, then checksums. */
static int add_acpi(struct machine *m, struct fw_cfg *f)
{
	struct acpi_blob b;
	if (pc_acpi_blob(m, &b) < 0)
		return -1;
	uint8_t buf[LOADER_ENTRY_LEN * (4 + 2 * ACPI_BLOB_MAX_FIXUPS)];
	struct loader l = { .data = buf, .cap = sizeof(buf) };
	loader_allocate(&l, ACPI_TABLES_FILE, 64, LOADER_ZONE_HIGH);
	loader_allocate(&l, ACPI_RSDP_FILE, 16, LOADER_ZONE_FSEG);
	for (unsigned i = 0; i < b.nr_ptrs; i++)
		loader_pointer(&l, ACPI_TABLES_FILE, ACPI_TABLES_FILE, b.ptrs[i].offset,
			       b.ptrs[i].size);
	loader_pointer(&l, ACPI_RSDP_FILE, ACPI_TABLES_FILE, 16, 4);
	loader_pointer(&l, ACPI_RSDP_FILE, ACPI_TABLES_FILE, 24, 8);
	for (unsigned i = 0; i < b.nr_sums; i++)
		loader_checksum(&l, ACPI_TABLES_FILE, b.sums[i].offset, b.sums[i].start,
				b.sums[i].len);
	loader_checksum(&l, ACPI_RSDP_FILE, 8, 0, 20);
	loader_checksum(&l, ACPI_RSDP_FILE, 32, 0, 36);
	int r = fw_cfg_add_file(f, ACPI_TABLES_FILE, b.tables, b.tables_len) |
		fw_cfg_add_file(f, ACPI_RSDP_FILE, b.rsdp, sizeof(b.rsdp)) |
		fw_cfg_add_file(f, "etc/table-loader", l.data, l.len);
	free(b.tables);
	return r ? -1 : 0;
}

static int add_smbios(struct machine *m, struct fw_cfg *f)
{
	struct smbios_blob b;
	uint8_t ep[SMBIOS_EP_LEN];
	if (pc_smbios_build(m, false, &b) < 0)
		return -1;
	pc_smbios_entry(&b, 0, ep);
	int r = fw_cfg_add_file(f, "etc/smbios/smbios-tables", b.tables, b.len) |
		fw_cfg_add_file(f, "etc/smbios/smbios-anchor", ep, sizeof(ep));
	free(b.tables);
	return r ? -1 : 0;
}

/* RAM below and above the PCI hole, and the page KVM keeps below the
 * IOAPIC (pc_e820); what the firmware uses itself, it reserves. */
static int add_e820(struct machine *m, struct fw_cfg *f)
{
	struct e820_entry map[3] = {
		{ 0, m->ram_below_4g, E820_RAM },
		{ 0xfeffc000, 0x4000, E820_RESERVED },
		{ PC_HIGH_RAM, m->ram_size - m->ram_below_4g, E820_RAM },
	};
	unsigned n = m->ram_size > m->ram_below_4g ? 3 : 2;
	uint8_t buf[3 * 20];
	for (unsigned i = 0; i < n; i++) {
		wr64(buf + 20 * i, map[i].addr);
		wr64(buf + 20 * i + 8, map[i].size);
		wr32(buf + 20 * i + 16, map[i].type);
	}
	return fw_cfg_add_file(f, "etc/e820", buf, 20 * n);
}

/* -boot letters as the CMOS boot order nibbles SeaBIOS reads on QEMU
 * (1 floppy, 2 hard disk, 3 CD-ROM, 4 network), first in 0x3d's low
 * nibble, second in its high nibble, third in 0x38's high nibble; 0x38
 * bit 0 clear: check the floppy's boot signature. */
static uint8_t boot_nibble(char letter)
{
	switch (letter) {
	case 'a': case 'b': return 1;
	case 'c': return 2;
	case 'd': return 3;
	case 'n': return 4;
	}
	return 0;
}

void pc_cmos_boot_order(struct rtc *rtc, const char *order)
{
	uint8_t nib[3] = { 0 };
	for (unsigned i = 0; i < 3 && order[i]; i++)
		nib[i] = boot_nibble(order[i]);
	rtc_set_cmos(rtc, 0x3d, nib[0] | nib[1] << 4);
	rtc_set_cmos(rtc, 0x38, nib[2] << 4);
}

static void set_cmos_boot_order(struct machine *m, const char *order)
{
	struct pc_board *b = m->board;
	pc_cmos_boot_order(b->rtc, order);
}

static const char *boot_order(const struct config *c)
{
	return c->boot_order ? c->boot_order : PC_DEFAULT_BOOT_ORDER;
}

/* -boot splash=: JPEG (SOI marker FF D8) or BMP ("BM"), named by its
 * kind as SeaBIOS looks for it */
#define SPLASH_MAX (16 * MiB)

static int add_splash(struct machine *m, struct fw_cfg *f)
{
	const char *path = m->cfg->boot_splash;
	if (!path)
		return 0;
	size_t size;
	uint8_t *data = load_file("-boot splash", path, &size);
	if (!data)
		return -1;
	const char *name = NULL;
	if (size >= 2 && data[0] == 0xff && data[1] == 0xd8)
		name = "bootsplash.jpg";
	else if (size >= 2 && data[0] == 'B' && data[1] == 'M')
		name = "bootsplash.bmp";
	int r = -1;
	if (!name || size > SPLASH_MAX)
		qvm_error("-boot splash=%s: not a JPEG or BMP picture of at most 16 MiB", path);
	else
		r = fw_cfg_add_file(f, name, data, size);
	free(data);
	return r;
}

static int add_boot(struct machine *m, struct fw_cfg *f)
{
	const struct config *c = m->cfg;
	struct pc_board *b = m->board;
	const char *order = c->boot_once ? c->boot_once : boot_order(c);
	b->boot_once_pending = c->boot_once != NULL;
	set_cmos_boot_order(m, order);
	int r = fw_cfg_add_i16(f, FW_CFG_BOOT_DEVICE, order[0]) |
		fw_cfg_add_i16(f, FW_CFG_BOOT_MENU, c->boot_menu == 1);
	if (c->boot_splash_time >= 0) {
		uint8_t wait[2];
		wr16(wait, c->boot_splash_time);
		r |= fw_cfg_add_file(f, "etc/boot-menu-wait", wait, sizeof(wait));
	}
	if (c->has_reboot_timeout) {
		uint8_t wait[4];
		wr32(wait, (uint32_t)c->boot_reboot_timeout);
		r |= fw_cfg_add_file(f, "etc/boot-fail-wait", wait, sizeof(wait));
	}
	return r || add_splash(m, f) < 0 ? -1 : 0;
}

/* The option ROM (rom/linuxboot.S, linked into qvm): whole 512-byte
 * blocks with at least one byte to spare, its size byte, and the PnP
 * header's and the ROM's checksums (each sums to 0 over its bytes). */
extern const uint8_t pc_linuxboot_rom[], pc_linuxboot_rom_end[];
#define LINUXBOOT_ROM "genroms/linuxboot.bin"

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t v = 0;
	while (n--)
		v += *p++;
	return v;
}

static int add_linuxboot_rom(struct fw_cfg *f)
{
	size_t len = pc_linuxboot_rom_end - pc_linuxboot_rom;
	size_t blocks = (len + 1 + 511) / 512;
	uint8_t rom[4096] = { 0 };
	if (blocks * 512 > sizeof(rom)) {
		qvm_error("linuxboot.bin: %zu bytes, more than %zu", len, sizeof(rom));
		return -1;
	}
	memcpy(rom, pc_linuxboot_rom, len);
	rom[2] = blocks;
	uint16_t pnp = rd16(rom + 0x1a);
	rom[pnp + 9] -= sum8(rom + pnp, rom[pnp + 5] * 16);
	rom[blocks * 512 - 1] -= sum8(rom, blocks * 512);
	return fw_cfg_add_file(f, LINUXBOOT_ROM, rom, blocks * 512);
}

/* -kernel with -bios: a Linux kernel's parts for the option ROM */
static int add_kernel(struct machine *m, struct fw_cfg *f)
{
	const char *path = m->cfg->kernel;
	if (!path)
		return 0;
	size_t size;
	uint8_t *data = load_file("-kernel", path, &size);
	if (!data)
		return -1;
	int r = -1;
	if (multiboot_detect(data, size))
		qvm_error("-kernel %s: a multiboot kernel boots only without -bios", path);
	else if (!linux_detect(data, size))
		qvm_error("-kernel %s: not a Linux bzImage (what -kernel with -bios boots)", path);
	else
		r = linux_fw_cfg_load(m, f, data, size);
	free(data);
	return r < 0 ? -1 : add_linuxboot_rom(f);
}

/* bootindex= of the disks: one path a line, by index (-boot strict=on:
 * then HALT, after which SeaBIOS tries nothing); SeaBIOS matches
 * its own pattern for a PCI disk (/pci@i0cf8/<any name>@SLOT) against them and
 * boots them in this order before anything -boot order= names. */
static int add_bootorder(struct machine *m, struct fw_cfg *f)
{
	struct pc_board *b = m->board;
	char text[ARRAY_SIZE(b->disks) * 40 + 64] = "";
	size_t len = 0;
	bool done[ARRAY_SIZE(b->disks)] = { false };
	if (m->cfg->kernel)     /* -kernel: the option ROM's BEV before any disk */
		len += snprintf(text, sizeof(text), "/rom@%s\n", LINUXBOOT_ROM);
	for (;;) {
		int best = -1;
		for (unsigned i = 0; i < b->nr_disks; i++)
			if (!done[i] && b->disk_cfgs[i]->has_bootindex &&
			    (best < 0 || b->disk_cfgs[i]->bootindex < b->disk_cfgs[best]->bootindex))
				best = i;
		if (best < 0)
			break;
		done[best] = true;
		len += snprintf(text + len, sizeof(text) - len, "/pci@i0cf8/scsi@%x/disk@0,0\n",
				PC_FIRST_DISK_SLOT + best);
	}
	if (m->cfg->boot_strict)        /* nothing after the listed devices */
		len += snprintf(text + len, sizeof(text) - len, "HALT\n");
	return len ? fw_cfg_add_file(f, "bootorder", text, len + 1) : 0;
}

/* -nographic: the user's screen is COM1, so SeaBIOS's serial console
 * shows what int 10h writes (boot menu, boot loaders' text) there. */
static int add_sercon(struct machine *m, struct fw_cfg *f)
{
	if (!m->cfg->nographic || !config_serial_present(m->cfg, 0))
		return 0;
	uint8_t port[2];
	wr16(port, pc_com_ports[0].iobase);
	return fw_cfg_add_file(f, "etc/sercon-port", port, sizeof(port));
}

int pc_firmware_init(struct machine *m)
{
	const struct config *c = m->cfg;
	struct pc_board *b = m->board;
	struct fw_cfg *f = b->fw_cfg = fw_cfg_new(m);
	if (!f || pam_init(m, &b->pam, b->bios_rom, b->bios_size) < 0)
		return -1;
	uint8_t numa[8] = { 0 };        /* no NUMA nodes */
	int r = fw_cfg_add_i64(f, FW_CFG_RAM_SIZE, m->ram_size) |
		fw_cfg_add_i16(f, FW_CFG_NB_CPUS, c->smp_cpus) |
		fw_cfg_add_i16(f, FW_CFG_MAX_CPUS, c->smp_max_cpus) |
		fw_cfg_add_i16(f, FW_CFG_NOGRAPHIC, c->nographic) |
		fw_cfg_add_bytes(f, FW_CFG_NUMA, numa, sizeof(numa)) |
		fw_cfg_add_i32(f, FW_CFG_IRQ0_OVERRIDE, 1);
	if (r || add_e820(m, f) < 0 || add_acpi(m, f) < 0 || add_smbios(m, f) < 0 ||
	    add_kernel(m, f) < 0 || add_boot(m, f) < 0 ||
	    add_bootorder(m, f) < 0 || add_sercon(m, f) < 0)
		return -1;
	return 0;
}

/* After a machine reset: the BIOS's shadow copy back to the ROM's bytes
 * (the PAM registers were reset), and -boot once= gives way to order=. */
int pc_firmware_reset(struct machine *m)
{
	struct pc_board *b = m->board;
	if (!b->fw_cfg)
		return 0;
	if (b->boot_once_pending) {
		set_cmos_boot_order(m, boot_order(m->cfg));
		b->boot_once_pending = false;
	}
	return pam_reset(&b->pam);
}
