/* multiboot.elf (ELF) and multiboot-aout.bin (a.out kludge): the multiboot
 * loader.  Checks the entry state (magic, protected mode without paging,
 * interrupts off), that bss was zeroed, the info structure: memory sizes
 * against "mem=MiB", the command line, the memory map, and the modules
 * (-initrd "FILE ARGS,..."): count ("mods=N"), page alignment, contents
 * ("qvm-module-<i>" at the start of module i) and command lines. */
#include "guest.h"

extern char __image_start[], __stacks_end[];

int main(void)
{
	test_name = "multiboot";
	printk("multiboot: start\n");
	check(mb_magic == 0x2badb002, "eax: multiboot magic (%x)", mb_magic);
	if (mb_magic != 0x2badb002)
		return 0;
	const struct mb_info *mi = phys(mb_info_addr);
	note("entry: cr0 %x eflags %x cs %x; info at %x, flags %x", entry_cr0, entry_eflags, entry_cs,
	     mb_info_addr, mi->flags);
	check((entry_cr0 & 0x80000001) == 1, "entered in protected mode, paging off");
	check(!(entry_eflags & (RFLAGS_IF | (1u << 17))), "entered with interrupts off, not v86");

	/* the loader zeroes bss: the last CPU's user stack was never used */
	const uint8_t *probe = (const uint8_t *)ustacks + (MAX_CPUS - 1) * USTACK_SIZE;
	bool zero = true;
	for (int i = 0; i < USTACK_SIZE; i++)
		zero &= probe[i] == 0;
	check(zero, "bss zeroed by the loader");

	uint64_t mem_mb = cmdline_uint("mem", 0);
	check(mi->flags & 1, "memory sizes present: lower %u KiB, upper %u KiB", mi->mem_lower, mi->mem_upper);
	check(mi->mem_lower >= 512 && mi->mem_lower <= 640, "mem_lower plausible");
	if (mem_mb)
		check(mi->mem_upper <= (mem_mb - 1) * 1024 && mi->mem_upper + 2048 >= (mem_mb - 1) * 1024,
		      "mem_upper matches %lu MiB", mem_mb);

	check((mi->flags & 4) && strlen(mb_cmdline()) > 0, "command line: \"%s\"", mb_cmdline());
	if (mi->flags & (1u << 9))
		note("boot loader: %s", (const char *)(uint64_t)mi->boot_loader_name);

	/* memory map */
	bool has_mmap = mi->flags & (1u << 6);
	check(has_mmap, "memory map present");
	if (has_mmap) {
		uint64_t ram = 0;
		bool covers_kernel = false, hole_ok = true, sizes_ok = true;
		uint64_t ks = (uint64_t)__image_start, ke = (uint64_t)__stacks_end;
		for (uint64_t p = mi->mmap_addr; p < mi->mmap_addr + mi->mmap_length;) {
			const struct mb_mmap *e = phys(p);
			note("mmap %010lx-%010lx type %u", e->addr, e->addr + e->len - 1, e->type);
			if (e->size < 20)
				sizes_ok = false;
			if (e->type == 1) {
				ram += e->len;
				if (e->addr <= ks && e->addr + e->len >= ke)
					covers_kernel = true;
				if (e->addr < 0x100000 && e->addr + e->len > 0xa0000)
					hole_ok = false;
			}
			p += e->size + 4;
			if (e->size == 0)
				break;
		}
		check(sizes_ok, "mmap entry sizes");
		check(covers_kernel, "kernel lies in available ram");
		check(hole_ok, "0xa0000-0xfffff not available ram");
		if (mem_mb)
			check(ram <= mem_mb << 20 && ram >= (mem_mb << 20) * 15 / 16,
			      "available ram %lu KiB for %lu MiB", ram >> 10, mem_mb);
	}

	/* modules */
	uint64_t want = cmdline_uint("mods", 0);
	uint32_t count = (mi->flags & 8) ? mi->mods_count : 0;
	check(count == want, "%u modules, expected %lu", count, want);
	const struct mb_mod *mods = phys(mi->mods_addr);
	for (uint32_t i = 0; i < count && i < 8; i++) {
		const char *data = phys(mods[i].start);
		const char *cmd = mods[i].cmdline ? phys(mods[i].cmdline) : "";
		char tag[16];
		snprintk(tag, sizeof(tag), "qvm-module-%u", i + 1);
		note("module %u: %x-%x \"%s\"", i + 1, mods[i].start, mods[i].end, cmd);
		check(!(mods[i].start & 0xfff), "module %u page-aligned", i + 1);
		check(mods[i].end > mods[i].start && !memcmp(data, tag, strlen(tag)), "module %u contents", i + 1);
		check(mods[i].start >= (uint64_t)__stacks_end || mods[i].end <= (uint64_t)__image_start,
		      "module %u does not overlap the kernel", i + 1);
		char arg[8];
		snprintk(arg, sizeof(arg), "arg%u", i + 1);
		size_t cl = strlen(cmd);
		check(cl >= 4 && !memcmp(cmd + cl - 4, arg, 4), "module %u command line ends in %s", i + 1, arg);
	}

	/* A20 on: 6 MiB and 7 MiB are different bytes (last: this writes RAM
	 * that is free only once the modules and the info were read) */
	bool free = true;
	for (uint32_t i = 0; i < count && i < 8; i++)
		free &= mods[i].end <= 0x600000 || mods[i].start >= 0x700004;
	if (free) {
		volatile uint32_t *lo = phys(0x600000), *hi = phys(0x700000);
		*lo = 0x11111111;
		*hi = 0x22222222;
		check(*lo == 0x11111111, "a20 enabled");
	}
	return 0;
}
