/*
 * Linux bzImage kernels: qvm plays the boot loader of the Linux x86 boot
 * protocol (Documentation/arch/x86/boot.rst in the kernel tree).  It loads
 * the protected-mode kernel at its preferred address, the initrd at the top
 * of the memory the kernel allows, builds the zero page (boot_params) with
 * the setup header, the e820 map and the command line, and enters the
 * kernel through its 64-bit entry point ("64-bit boot protocol") or, for a
 * kernel without one, the 32-bit entry ("32-bit boot protocol").
 *
 * Low memory used at entry (all of it e820 RAM, which the kernel may reuse
 * once it runs on its own page tables):
 *   0x1000-0x6fff  page tables: 0-4 GiB identity-mapped with 2 MiB pages
 *   0x7000         the GDT with __BOOT_CS (0x10) and __BOOT_DS (0x18)
 *   0x9000         boot_params
 *   0xa000-0xffff  the command line
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "accel.h"
#include "bytes.h"
#include "config.h"
#include "cpu.h"
#include "machine.h"
#include "pc/pc.h"
#include "pc/boot/linux-hdr.h"

#define LX_PGTABLE 0x1000ULL
#define LX_GDT 0x7000ULL
#define LX_PARAMS PC_BOOT_INFO_ADDR
#define LX_CMDLINE 0xa000ULL
#define LX_CMDLINE_MAX (PC_BOOT_INFO_END - LX_CMDLINE)
#define LX_BOOT_CS 0x10
#define LX_BOOT_DS 0x18

bool linux_detect(const uint8_t *data, size_t size)
{
	return size >= 0x210 && !memcmp(data + HDR_MAGIC, "HdrS", 4);
}

/* The checks a boot loader must make before trusting the header. */
int linux_check_header(struct lx_image *k)
{
	const uint8_t *d = k->data;
	unsigned sects = d[HDR_SETUP_SECTS] ? d[HDR_SETUP_SECTS] : 4;
	k->version = rd16(d + HDR_VERSION);
	k->setup_size = (sects + 1) * 512;
	if (rd16(d + HDR_BOOT_FLAG) != 0xaa55) {
		qvm_error("-kernel %s: bad boot sector signature (not a bzImage)", k->path);
	} else if (k->version < MIN_VERSION) {
		qvm_error("-kernel %s: boot protocol %u.%02u is too old (qvm needs 2.06 or later)",
			  k->path, k->version >> 8, k->version & 0xff);
	} else if (!(d[HDR_LOADFLAGS] & LOADED_HIGH)) {
		qvm_error("-kernel %s: a zImage (loaded below 1 MiB); only bzImage is supported",
			  k->path);
	} else if (k->size < HDR_END_MAX || k->setup_size >= k->size ||
		   (uint64_t)rd32(d + HDR_SYSSIZE) * 16 > k->size - k->setup_size) {
		qvm_error("-kernel %s: truncated bzImage (%zu bytes; its header says %llu)",
			  k->path, k->size,
			  (unsigned long long)k->setup_size + rd32(d + HDR_SYSSIZE) * 16ULL);
	} else {
		return 0;
	}
	return -1;
}

/* Protocol 2.10+: the preferred address and the memory the kernel needs
 * from there to decompress itself (init_size); older ones load at 1 MiB. */
static int place_kernel(struct machine *m, struct lx_image *k)
{
	const uint8_t *d = k->data;
	uint64_t pm_size = k->size - k->setup_size;
	k->load_addr = 0x100000;
	uint64_t need = pm_size;
	if (k->version >= 0x020a) {
		k->load_addr = rd64(d + HDR_PREF_ADDRESS);
		need = MAX(need, rd32(d + HDR_INIT_SIZE));
	}
	if (k->load_addr + need > m->ram_below_4g && d[HDR_RELOCATABLE]) {
		/* a relocatable kernel may go lower, aligned as it asks */
		uint64_t align = MAX(rd32(d + HDR_KERNEL_ALIGNMENT), 0x1000);
		if (align & (align - 1))
			align = 0x200000;
		k->load_addr = (0x100000 + align - 1) & ~(align - 1);
	}
	k->load_end = k->load_addr + need;
	if (k->load_addr < 0x100000 || k->load_end > m->ram_below_4g || k->load_end < need) {
		qvm_error("-kernel %s: needs %llu MiB of RAM from 0x%llx; give more -m",
			  k->path, (unsigned long long)(need >> 20),
			  (unsigned long long)k->load_addr);
		return -1;
	}
	machine_ram_write(m, k->load_addr, d + k->setup_size, pm_size);
	return 0;
}

/* The initrd goes as high as the kernel allows, clear of the kernel. */
static int load_initrd(struct machine *m, struct lx_image *k, uint8_t *bp)
{
	const char *path = m->cfg->initrd;
	if (!path)
		return 0;
	size_t size;
	uint8_t *data = load_file("-initrd", path, &size);
	if (!data)
		return -1;
	uint64_t max = k->version >= 0x0203 ? rd32(k->data + HDR_INITRD_ADDR_MAX) : 0x37ffffff;
	uint64_t top = MIN(max + 1, m->ram_below_4g);
	uint64_t addr = top > size ? (top - size) & ~0xfffULL : 0;
	if (addr < k->load_end) {
		qvm_error("-initrd %s: %zu bytes do not fit between the kernel (ending at "
			  "0x%llx) and 0x%llx; give more -m", path, size,
			  (unsigned long long)k->load_end, (unsigned long long)top);
		free(data);
		return -1;
	}
	machine_ram_write(m, addr, data, size);
	free(data);
	wr32(bp + HDR_RAMDISK_IMAGE, addr);
	wr32(bp + HDR_RAMDISK_SIZE, size);
	wr32(bp + BP_EXT_RAMDISK_IMAGE, addr >> 32);
	wr32(bp + BP_EXT_RAMDISK_SIZE, (uint64_t)size >> 32);
	return 0;
}

static int write_cmdline(struct machine *m, struct lx_image *k, uint8_t *bp)
{
	const char *append = m->cfg->append ? m->cfg->append : "";
	size_t len = strlen(append);
	uint32_t max = rd32(k->data + HDR_CMDLINE_SIZE);   /* excludes the NUL */
	if (len > max || len >= LX_CMDLINE_MAX) {
		qvm_error("-append: %zu bytes; this kernel takes at most %u", len,
			  MIN(max, (uint32_t)LX_CMDLINE_MAX - 1));
		return -1;
	}
	machine_ram_write(m, LX_CMDLINE, append, len + 1);
	wr32(bp + HDR_CMD_LINE_PTR, LX_CMDLINE);
	wr32(bp + BP_EXT_CMD_LINE_PTR, 0);
	return 0;
}

static void write_e820(struct machine *m, uint8_t *bp)
{
	struct e820_entry map[PC_E820_MAX];
	int n = pc_e820(m, map);
	for (int i = 0; i < n; i++) {
		uint8_t *e = bp + BP_E820_TABLE + 20 * i;
		wr64(e, map[i].addr);
		wr64(e + 8, map[i].size);
		wr32(e + 16, map[i].type);
	}
	bp[BP_E820_ENTRIES] = n;
}

/* The zero page: the kernel's own setup header, then what the loader
 * fills in (boot.rst, "Details of header fields"). */
static uint8_t *write_boot_params(struct machine *m, struct lx_image *k)
{
	uint8_t *bp = gpa_to_host(m, LX_PARAMS, BP_SIZE);
	size_t hdr_end = MIN(HDR_JUMP + 2 + (size_t)k->data[HDR_JUMP + 1], HDR_END_MAX);
	memset(bp, 0, BP_SIZE);
	memcpy(bp + HDR_SETUP_SECTS, k->data + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
	bp[HDR_TYPE_OF_LOADER] = 0xff;                  /* undefined loader */
	bp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
	wr16(bp + HDR_HEAP_END_PTR, 0xfe00 - 0x200);
	wr32(bp + HDR_CODE32_START, k->load_addr);
	wr64(bp + BP_ACPI_RSDP, PC_EBDA_ADDR + 16);     /* where tables.c puts it */
	write_e820(m, bp);
	return bp;
}

int linux_load(struct machine *m, const uint8_t *data, size_t size)
{
	struct pc_board *b = m->board;
	struct lx_image k = { .path = m->cfg->kernel, .data = data, .size = size };
	if (linux_check_header(&k) < 0 || place_kernel(m, &k) < 0)
		return -1;
	uint8_t *bp = write_boot_params(m, &k);
	if (write_cmdline(m, &k, bp) < 0 || load_initrd(m, &k, bp) < 0)
		return -1;
	machine_ram_written(m, LX_PARAMS, BP_SIZE);    /* built in place */
	b->linux_64bit = k.version >= 0x020c && (rd16(data + HDR_XLOADFLAGS) & XLF_KERNEL_64);
	b->linux_entry = k.load_addr + (b->linux_64bit ? 0x200 : 0);
	qvm_log(LOG_CPU, "linux: protocol %u.%02u, kernel at 0x%llx-0x%llx, %s entry 0x%llx",
		k.version >> 8, k.version & 0xff, (unsigned long long)k.load_addr,
		(unsigned long long)k.load_end, b->linux_64bit ? "64-bit" : "32-bit",
		(unsigned long long)b->linux_entry);
	return 0;
}

/* 0-4 GiB identity-mapped with 2 MiB pages: a PML4, a PDPT and four page
 * directories (SDM Vol. 3, 4.5). */
static void write_page_tables(struct machine *m)
{
	uint64_t *pml4 = gpa_to_host(m, LX_PGTABLE, 6 * 4096);
	uint64_t *pdpt = pml4 + 512, *pd = pml4 + 1024;
	memset(pml4, 0, 6 * 4096);
	pml4[0] = (LX_PGTABLE + 0x1000) | 0x3;          /* present, writable */
	for (int i = 0; i < 4; i++)
		pdpt[i] = (LX_PGTABLE + 0x2000 + 0x1000 * i) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83;               /* present, writable, 2 MiB */
	machine_ram_written(m, LX_PGTABLE, 6 * 4096);
}

/* GDT entries 2 and 3: __BOOT_CS and __BOOT_DS, flat, 4 GiB. */
static void write_gdt(struct machine *m, bool long_mode)
{
	uint64_t *gdt = gpa_to_host(m, LX_GDT, 4 * 8);
	gdt[0] = gdt[1] = 0;
	gdt[2] = long_mode ? 0x00af9b000000ffffULL : 0x00cf9b000000ffffULL;
	gdt[3] = 0x00cf93000000ffffULL;
	machine_ram_written(m, LX_GDT, 4 * 8);
}

static struct x86_segment boot_segment(uint16_t sel, uint8_t type, bool long_mode)
{
	bool code = type & 0x8;
	return (struct x86_segment){ .limit = 0xffffffff, .selector = sel, .type = type,
				     .s = 1, .present = 1, .g = 1, .l = long_mode && code,
				     .db = !(long_mode && code) };
}

int linux_entry_state(struct machine *m, struct x86_cpu_state *s)
{
	struct pc_board *b = m->board;
	bool lm = b->linux_64bit;
	write_gdt(m, lm);
	for (int i = 0; i < S_NR; i++)
		s->seg[i] = boot_segment(LX_BOOT_DS, 0x3, lm);
	s->seg[S_CS] = boot_segment(LX_BOOT_CS, 0xb, lm);
	s->tr = (struct x86_segment){ .limit = 0xffff, .type = 0xb, .present = 1 };
	s->gdt = (struct x86_dtable){ LX_GDT, 4 * 8 - 1 };
	s->idt = (struct x86_dtable){ 0, 0 };
	s->cr0 = 0x11;                                  /* PE, ET */
	s->cr4 = 0;
	s->efer = 0;
	if (lm) {
		write_page_tables(m);
		s->cr3 = LX_PGTABLE;
		s->cr4 = 0x20;                          /* PAE */
		s->efer = 0x500;                        /* LME, LMA */
		s->cr0 |= 0x80000000;                   /* PG */
	}
	s->rflags = 0x2;                                /* interrupts off */
	s->rip = b->linux_entry;
	memset(s->regs, 0, sizeof(s->regs));
	s->regs[R_RSI] = LX_PARAMS;
	return 0;
}
