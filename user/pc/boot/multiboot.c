/*
 * Multiboot v1 kernels (Multiboot Specification 0.6.96): ELF32 images, or
 * any format through the a.out kludge (header flag 16).  qvm plays the
 * boot loader: loads the image and the -initrd modules, builds the
 * multiboot information with the memory map and command line, and enters
 * the kernel in 32-bit protected mode (spec section 3.2).
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "accel.h"
#include "bytes.h"
#include "config.h"
#include "cpu.h"
#include "machine.h"
#include "pc/pc.h"

#define MB_HEADER_MAGIC 0x1badb002u
#define MB_BOOT_MAGIC 0x2badb002u
#define MB_SEARCH 8192
#define MB_FLAG_AOUT_KLUDGE (1u << 16)
#define MB_KNOWN_REQUIRED 0x7u       /* page-align modules, memory, video */
#define MB_MAX_MODULES 16
#define MB_MAX_CMDLINE 4096

/* The boot information block: the structure, the memory map, the module
 * list and the strings, at offsets from its base.  Its base is
 * PC_BOOT_INFO_ADDR unless the kernel occupies that page range (kernels
 * linked below 1 MiB, at 0x8000 say, which QEMU boots too); then it goes
 * above the kernel, at 1 MiB at least, and the modules above it. */
#define MBI_SIZE (PC_BOOT_INFO_END - PC_BOOT_INFO_ADDR)
#define MBI_MMAP 0x80
#define MBI_MODS 0x200
#define MBI_STRINGS 0x400

struct mb_image {
	const char *path;
	const uint8_t *data;
	size_t size;
	uint32_t entry;
	uint64_t load_end;  /* first byte above the kernel, bss included */
	bool hits_info;     /* a segment overlaps the default information block */
	uint32_t flags;
};

#define PAGE_UP(x) (((x) + 4095) & ~4095ULL)

/* The guest range a kernel, module or the information may occupy: RAM
 * below 4 GiB, above the real-mode IVT and BIOS data area, clear of the
 * firmware tables and EBDA qvm writes at PC_TABLES_ADDR.  The BIOS area
 * below 1 MiB stays allowed (ELF headers often load at 0xff000): a kernel
 * there is loaded after the tables, over the RSDP's second copy. */
static bool range_ok(struct machine *m, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		return true;
	if (gpa + len < gpa || gpa + len > m->ram_below_4g || !gpa_to_host(m, gpa, len))
		return false;
	bool hits_tables = gpa < PC_LOW_RAM_END && gpa + len > PC_TABLES_ADDR;
	return !hits_tables && gpa >= 0x500;
}

static int load_bytes(struct machine *m, struct mb_image *k, uint64_t gpa,
		      uint64_t file_off, uint64_t file_len, uint64_t mem_len)
{
	if (file_len > mem_len || file_off > k->size || file_len > k->size - file_off ||
	    !range_ok(m, gpa, mem_len)) {
		qvm_error("-kernel %s: segment at 0x%llx+0x%llx does not fit in guest RAM "
			  "(below 0x500 or over the firmware tables at 0x9c000-0x9ffff)", k->path,
			  (unsigned long long)gpa, (unsigned long long)mem_len);
		return -1;
	}
	if (mem_len == 0)
		return 0;
	machine_ram_write(m, gpa, k->data + file_off, file_len);
	machine_ram_fill(m, gpa + file_len, 0, mem_len - file_len);
	k->load_end = MAX(k->load_end, gpa + mem_len);
	k->hits_info |= gpa < PC_BOOT_INFO_END && gpa + mem_len > PC_BOOT_INFO_ADDR;
	return 0;
}

static int load_aout_kludge(struct machine *m, struct mb_image *k, size_t hdr_off)
{
	const uint8_t *h = k->data + hdr_off;
	if (hdr_off + 32 > k->size) {
		qvm_error("-kernel %s: truncated multiboot header", k->path);
		return -1;
	}
	uint32_t header_addr = rd32(h + 12), load_addr = rd32(h + 16);
	uint32_t load_end = rd32(h + 20), bss_end = rd32(h + 24);
	k->entry = rd32(h + 28);
	if (load_addr > header_addr || header_addr - load_addr > hdr_off ||
	    (load_end && load_end < load_addr) || (bss_end && bss_end < MAX(load_end, load_addr))) {
		qvm_error("-kernel %s: inconsistent multiboot a.out addresses", k->path);
		return -1;
	}
	uint64_t file_off = hdr_off - (header_addr - load_addr);
	uint64_t len = load_end ? load_end - load_addr : k->size - file_off;
	uint64_t mem = bss_end ? bss_end - load_addr : len;
	return load_bytes(m, k, load_addr, file_off, MIN(len, k->size - file_off), MAX(mem, len));
}

static int load_elf32(struct machine *m, struct mb_image *k)
{
	const Elf32_Ehdr *eh = (const void *)k->data;
	if (k->size < sizeof(Elf32_Ehdr) || memcmp(eh->e_ident, ELFMAG, SELFMAG)) {
		qvm_error("-kernel %s: not an ELF file and no a.out kludge in its multiboot header",
			  k->path);
		return -1;
	}
	if (eh->e_ident[EI_CLASS] == ELFCLASS64) {
		qvm_error("-kernel %s: 64-bit ELF multiboot kernels are not supported "
			  "(link as elf32-i386 or use the a.out kludge)", k->path);
		return -1;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS32 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_386 || eh->e_phentsize != sizeof(Elf32_Phdr) ||
	    eh->e_phoff > k->size || (uint64_t)eh->e_phnum * sizeof(Elf32_Phdr) > k->size - eh->e_phoff) {
		qvm_error("-kernel %s: not a valid 32-bit x86 ELF image", k->path);
		return -1;
	}
	const Elf32_Phdr *ph = (const void *)(k->data + eh->e_phoff);
	k->entry = eh->e_entry;
	int loaded = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (load_bytes(m, k, ph[i].p_paddr, ph[i].p_offset, ph[i].p_filesz, ph[i].p_memsz) < 0)
			return -1;
		/* the entry is virtual: translate it through its segment */
		if (eh->e_entry - ph[i].p_vaddr < ph[i].p_memsz)
			k->entry = eh->e_entry - ph[i].p_vaddr + ph[i].p_paddr;
		loaded++;
	}
	if (!loaded) {
		qvm_error("-kernel %s: ELF image has no loadable segment", k->path);
		return -1;
	}
	return 0;
}

static long find_header(const struct mb_image *k)
{
	for (size_t off = 0; off + 12 <= MIN(k->size, MB_SEARCH); off += 4) {
		const uint8_t *h = k->data + off;
		if (rd32(h) == MB_HEADER_MAGIC && rd32(h) + rd32(h + 4) + rd32(h + 8) == 0)
			return off;
	}
	return -1;
}

struct mbi_writer {
	struct machine *m;
	uint64_t base;          /* guest address of the information block */
	uint8_t *info;          /* host view of [base, base + MBI_SIZE) */
	uint64_t strings;       /* next free string offset */
	uint64_t mods_at;       /* where the next module goes */
};

static uint32_t mbi_string(struct mbi_writer *w, const char *s, size_t len)
{
	if (w->strings + len + 1 > MBI_SIZE)
		return 0;
	uint64_t off = w->strings;
	memcpy(w->info + off, s, len);
	w->info[off + len] = 0;
	w->strings += len + 1;
	return w->base + off;
}

/* The memory map: the same e820 entries a Linux guest gets. */
static uint32_t mbi_mmap(struct mbi_writer *w)
{
	struct e820_entry map[PC_E820_MAX];
	int n = pc_e820(w->m, map);
	uint8_t *start = w->info + MBI_MMAP, *p = start;
	for (int i = 0; i < n; i++, p += 24) {
		wr32(p, 20);
		wr64(p + 4, map[i].addr);
		wr64(p + 12, map[i].size);
		wr32(p + 20, map[i].type);
	}
	return p - start;
}

/* -initrd "file args,file args": each module's string is its whole text;
 * ",," is a literal comma (as in QEMU). */
static int load_modules(struct mbi_writer *w, uint32_t *count)
{
	const char *spec = w->m->cfg->initrd;
	uint64_t next = w->mods_at;
	*count = 0;
	while (spec && *spec) {
		char text[1024];
		size_t n = 0;
		for (; *spec && n < sizeof(text) - 1; spec++) {
			if (*spec == ',' && spec[1] != ',')
				break;
			if (*spec == ',')
				spec++;
			text[n++] = *spec;
		}
		text[n] = 0;
		if (*spec == ',')
			spec++;
		if (*count == MB_MAX_MODULES) {
			qvm_error("-initrd: at most %d modules", MB_MAX_MODULES);
			return -1;
		}
		char path[1024];
		size_t plen = strcspn(text, " ");
		memcpy(path, text, plen);
		path[plen] = 0;
		size_t size;
		uint8_t *data = load_file("-initrd", path, &size);
		if (!data)
			return -1;
		if (!range_ok(w->m, next, size)) {
			free(data);
			qvm_error("-initrd %s: %zu bytes do not fit in guest RAM below 4 GiB", path, size);
			return -1;
		}
		machine_ram_write(w->m, next, data, size);
		free(data);
		uint8_t *mod = w->info + MBI_MODS + 16 * *count;
		wr32(mod, next);
		wr32(mod + 4, next + size);
		wr32(mod + 8, mbi_string(w, text, n));
		wr32(mod + 12, 0);
		next = PAGE_UP(next + size);
		(*count)++;
	}
	return 0;
}

/* Where the information block goes (see MBI_SIZE); the modules go above
 * it, the kernel and 1 MiB (not into the 640 KiB of low memory). */
static int place_info(struct machine *m, struct mb_image *k, struct mbi_writer *w)
{
	w->m = m;
	w->base = PC_BOOT_INFO_ADDR;
	if (k->hits_info)
		w->base = PAGE_UP(MAX(k->load_end, 0x100000));
	w->mods_at = PAGE_UP(MAX(MAX(k->load_end, w->base + MBI_SIZE), 0x100000));
	w->info = range_ok(m, w->base, MBI_SIZE) ? gpa_to_host(m, w->base, MBI_SIZE) : NULL;
	if (!w->info) {
		qvm_error("-kernel %s: no room for the multiboot information at 0x%llx", k->path,
			  (unsigned long long)w->base);
		return -1;
	}
	w->strings = MBI_STRINGS;
	return 0;
}

static int build_info(struct machine *m, struct mb_image *k, uint32_t *mbi)
{
	struct mbi_writer w;
	if (place_info(m, k, &w) < 0)
		return -1;
	memset(w.info, 0, MBI_SIZE);
	uint8_t *info = w.info;
	uint32_t flags = 1 << 0 | 1 << 2 | 1 << 6 | 1 << 9, mods = 0;
	wr32(info + 4, PC_TABLES_ADDR / KiB);                    /* mem_lower */
	wr32(info + 8, (MIN(m->ram_below_4g, 0xffffffffULL) - 0x100000) / KiB);
	wr32(info + 12, 0xffffffff);                             /* boot device: none */
	const char *append = m->cfg->append ? m->cfg->append : "";
	size_t cmd_len = strlen(k->path) + 1 + strlen(append);
	if (cmd_len >= MB_MAX_CMDLINE) {
		qvm_error("-append: command line longer than %d bytes", MB_MAX_CMDLINE);
		return -1;
	}
	char cmdline[MB_MAX_CMDLINE];
	snprintf(cmdline, sizeof(cmdline), "%s%s%s", k->path, *append ? " " : "", append);
	wr32(info + 16, mbi_string(&w, cmdline, strlen(cmdline)));
	if (load_modules(&w, &mods) < 0)
		return -1;
	if (mods)
		flags |= 1 << 3;
	wr32(info + 20, mods);
	wr32(info + 24, w.base + MBI_MODS);
	wr32(info + 44, mbi_mmap(&w));
	wr32(info + 48, w.base + MBI_MMAP);
	wr32(info + 64, mbi_string(&w, "qvm " QVM_VERSION, strlen("qvm " QVM_VERSION)));
	wr32(info, flags);
	*mbi = w.base;
	machine_ram_written(m, w.base, MBI_SIZE); /* built in place */
	return 0;
}

bool multiboot_detect(const uint8_t *data, size_t size)
{
	struct mb_image k = { .data = data, .size = size };
	return find_header(&k) >= 0;
}

int multiboot_load(struct machine *m, const uint8_t *data, size_t size)
{
	struct mb_image k = { .path = m->cfg->kernel, .data = data, .size = size };
	long off = find_header(&k);
	int r = -1;
	uint32_t mbi;
	if (off < 0) {
		qvm_error("-kernel %s: no multiboot header in its first 8 KiB", k.path);
	} else if ((k.flags = rd32(k.data + off + 4)) & 0xffff & ~MB_KNOWN_REQUIRED) {
		qvm_error("-kernel %s: multiboot header requires unsupported features (flags 0x%x)",
			  k.path, k.flags);
	} else if ((k.flags & MB_FLAG_AOUT_KLUDGE ? load_aout_kludge(m, &k, off)
						  : load_elf32(m, &k)) == 0 &&
		   build_info(m, &k, &mbi) == 0) {
		struct pc_board *b = m->board;
		b->mb_entry = k.entry;
		b->mb_info = mbi;
		r = 0;
	}
	return r;
}

static void flat_segment(struct x86_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct x86_segment){ .base = 0, .limit = 0xffffffff, .selector = sel,
				   .type = type, .s = 1, .present = 1, .db = 1, .g = 1 };
}

/* Machine state at entry (spec 3.2): EAX magic, EBX the information, flat
 * 4 GiB code and data segments, CR0.PE set and paging off, IF clear. */
int multiboot_entry_state(struct machine *m, struct x86_cpu_state *s)
{
	struct pc_board *b = m->board;
	for (int i = 0; i < S_NR; i++)
		flat_segment(&s->seg[i], 0x18, 0x3);
	flat_segment(&s->seg[S_CS], 0x10, 0xb);
	s->tr = (struct x86_segment){ .limit = 0xffff, .type = 0xb, .present = 1 };
	s->cr0 = 0x11; /* PE, ET */
	s->cr4 = 0;
	s->efer = 0;
	s->rflags = 0x2;
	s->rip = b->mb_entry;
	s->regs[R_RAX] = MB_BOOT_MAGIC;
	s->regs[R_RBX] = b->mb_info;
	return 0;
}
