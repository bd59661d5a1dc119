/* The multiboot v1 loader (user/pc/boot/multiboot.c) on a bare machine. */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "unit.h"
#include "bootimg.h"
#include "config.h"
#include "machine.h"
#include "pc/pc.h"

static struct machine *mb_machine(struct config *c, const char *kernel)
{
	return bootimg_machine(c, kernel, 16 * MiB);
}

/* An ELF32 image: one PT_LOAD with code and bss, multiboot header first. */
static size_t make_elf(uint8_t *buf, uint32_t paddr, uint32_t vaddr, uint32_t flags,
		       int elf_class)
{
	memset(buf, 0, 4096);
	Elf32_Ehdr *eh = (void *)buf;
	Elf32_Phdr *ph = (void *)(buf + sizeof(*eh));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = elf_class;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_386;
	eh->e_entry = vaddr + 0x10;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	ph->p_type = PT_LOAD;
	ph->p_offset = 0x100;
	ph->p_vaddr = vaddr;
	ph->p_paddr = paddr;
	ph->p_filesz = 0x100;
	ph->p_memsz = 0x2000;
	uint32_t hdr[3] = { 0x1badb002, flags, -(0x1badb002 + flags) };
	memcpy(buf + 0x100, hdr, sizeof(hdr));
	memset(buf + 0x110, 0x90, 0xf0); /* "code" */
	return 0x200;
}

TEST(multiboot_elf_loads_segments_and_info)
{
	uint8_t img[4096];
	size_t n = make_elf(img, 0x200000, 0xc0200000, 0x3, ELFCLASS32);
	struct config c;
	char kpath[256];
	snprintf(kpath, sizeof(kpath), "%s", bootimg_write("k.elf", img, n));
	struct machine *m = mb_machine(&c, kpath);
	uint8_t *ram = m->ram;
	memset(ram + 0x200100, 0xee, 0x100); /* bss must be zeroed */
	c.append = "console=ttyS0 quiet";
	const char *mod = bootimg_write("mod.bin", "MODULE-DATA", 11);
	char initrd[300];
	snprintf(initrd, sizeof(initrd), "%s arg1 arg2", mod);
	c.initrd = initrd;
	CHECK(pc_load_kernel(m) == 0);
	struct pc_board *b = m->board;
	CHECK_EQ(b->mb_entry, 0x200010);     /* virtual entry translated */
	CHECK_EQ(ram[0x200000], 0x02);       /* header magic byte */
	CHECK_EQ(ram[0x200010], 0x90);
	CHECK_EQ(ram[0x200100], 0);
	uint32_t mbi = b->mb_info;
	uint32_t flags = bootimg_rd32(m, mbi);
	CHECK(flags & (1 << 0) && flags & (1 << 2) && flags & (1 << 3) && flags & (1 << 6));
	CHECK_EQ(bootimg_rd32(m, mbi + 8) * 1024 + 0x100000, 16 * MiB);
	const char *cmd = gpa_to_host(m, bootimg_rd32(m, mbi + 16), 1);
	CHECK(cmd && strstr(cmd, "console=ttyS0 quiet"));
	CHECK_EQ(bootimg_rd32(m, mbi + 20), 1);      /* one module */
	uint32_t mods = bootimg_rd32(m, mbi + 24);
	uint32_t start = bootimg_rd32(m, mods), end = bootimg_rd32(m, mods + 4);
	CHECK_EQ(end - start, 11);
	CHECK(start >= 0x202000 && start % 4096 == 0);
	CHECK(!memcmp(ram + start, "MODULE-DATA", 11));
	const char *mstr = gpa_to_host(m, bootimg_rd32(m, mods + 8), 1);
	CHECK(mstr && strstr(mstr, "arg1 arg2"));
	/* the memory map covers all RAM above 1 MiB as usable */
	uint32_t mlen = bootimg_rd32(m, mbi + 44), maddr = bootimg_rd32(m, mbi + 48);
	int found = 0;
	for (uint32_t p = maddr; p < maddr + mlen; p += bootimg_rd32(m, p) + 4) {
		uint64_t base, len;
		guest_read(m, p + 4, &base, 8);
		guest_read(m, p + 12, &len, 8);
		if (base == 0x100000 && len == 15 * MiB && bootimg_rd32(m, p + 20) == 1)
			found = 1;
	}
	CHECK(found);
	machine_free(m);
	bootimg_cleanup();
}

TEST(multiboot_aout_kludge)
{
	uint8_t img[0x3000];
	memset(img, 0xcc, sizeof(img));
	uint32_t flags = 1u << 16;
	/* header at file offset 0x40 -> address 0x300040; load from 0x300000 */
	uint32_t hdr[8] = { 0x1badb002, flags, -(0x1badb002 + flags), 0x300040, 0x300000,
			    0x302000, 0x304000, 0x300080 };
	memcpy(img + 0x40, hdr, sizeof(hdr));
	struct config c;
	struct machine *m = mb_machine(&c, bootimg_write("k.aout", img, sizeof(img)));
	uint8_t *ram = m->ram;
	CHECK(pc_load_kernel(m) == 0);
	CHECK_EQ(((struct pc_board *)m->board)->mb_entry, 0x300080);
	CHECK_EQ(ram[0x300000], 0xcc);
	CHECK_EQ(ram[0x301fff], 0xcc);
	CHECK_EQ(ram[0x302000], 0);          /* bss */
	CHECK_EQ(ram[0x303fff], 0);
	machine_free(m);
	bootimg_cleanup();
}

/* A kernel linked at 0x8000 covers the default information block
 * (0x9000-0xffff): QEMU boots it, and so does qvm, with the information,
 * command line and modules above the kernel and 1 MiB. */
TEST(multiboot_low_kernel_moves_info)
{
	uint8_t img[4096];
	size_t n = make_elf(img, 0x8000, 0x8000, 0x3, ELFCLASS32); /* 0x8000-0x9fff */
	struct config c;
	char kpath[256];
	snprintf(kpath, sizeof(kpath), "%s", bootimg_write("klow.elf", img, n));
	struct machine *m = mb_machine(&c, kpath);
	uint8_t *ram = m->ram;
	c.append = "low=1";
	const char *mod = bootimg_write("mod.bin", "MODULE-DATA", 11);
	char initrd[300];
	snprintf(initrd, sizeof(initrd), "%s marg", mod);
	c.initrd = initrd;
	CHECK(pc_load_kernel(m) == 0);
	struct pc_board *b = m->board;
	CHECK_EQ(b->mb_entry, 0x8010);
	CHECK_EQ(ram[0x8000], 0x02);               /* header magic byte, intact */
	CHECK_EQ(ram[0x8010], 0x90);
	uint32_t mbi = b->mb_info;
	CHECK(mbi >= 0x100000);                    /* not inside 0x8000-0x9fff */
	uint32_t flags = bootimg_rd32(m, mbi);
	CHECK(flags & (1 << 2) && flags & (1 << 3) && flags & (1 << 6));
	uint32_t cmd_at = bootimg_rd32(m, mbi + 16);
	const char *cmd = gpa_to_host(m, cmd_at, 1);
	CHECK(cmd_at >= 0x100000 && cmd && strstr(cmd, "low=1"));
	uint32_t mmap_at = bootimg_rd32(m, mbi + 48), mods = bootimg_rd32(m, mbi + 24);
	CHECK(mmap_at >= mbi && mods >= mbi);
	uint32_t start = bootimg_rd32(m, mods), end = bootimg_rd32(m, mods + 4);
	CHECK(start % 4096 == 0 && start >= mbi + 0x7000 && end - start == 11);
	CHECK(!memcmp(ram + start, "MODULE-DATA", 11));
	machine_free(m);

	/* a segment at 0xff000 (ELF headers of a kernel linked at 1 MiB) */
	make_elf(img, 0xff000, 0xff000, 0x3, ELFCLASS32);
	((Elf32_Phdr *)(img + sizeof(Elf32_Ehdr)))->p_memsz = 0x1000;
	m = mb_machine(&c, bootimg_write("kff.elf", img, n));
	CHECK(machine_add_memory(m, REGION_RAM, PC_ISA_HOLE_END, 0x100000 - PC_ISA_HOLE_END,
				 (uint8_t *)m->ram + PC_ISA_HOLE_END, "isa") == 0);
	CHECK(pc_load_kernel(m) == 0);
	CHECK_EQ(((struct pc_board *)m->board)->mb_info, 0x9000);
	machine_free(m);
	bootimg_cleanup();
}

TEST(multiboot_rejects_bad_images)
{
	uint8_t img[4096];
	struct config c;
	struct machine *m;

	m = mb_machine(&c, bootimg_write("text", "hello, I am not a kernel", 24));
	CHECK(pc_load_kernel(m) < 0);
	machine_free(m);

	make_elf(img, 0x200000, 0x200000, 0, ELFCLASS64);
	m = mb_machine(&c, bootimg_write("k64", img, 0x200));
	CHECK(pc_load_kernel(m) < 0);
	machine_free(m);

	make_elf(img, 0x200000, 0x200000, 1 << 5, ELFCLASS32); /* unknown required bit */
	m = mb_machine(&c, bootimg_write("kreq", img, 0x200));
	CHECK(pc_load_kernel(m) < 0);
	machine_free(m);

	make_elf(img, 0xff00000, 0xff00000, 0, ELFCLASS32);    /* beyond 16 MiB of RAM */
	m = mb_machine(&c, bootimg_write("kbig", img, 0x200));
	CHECK(pc_load_kernel(m) < 0);
	machine_free(m);

	make_elf(img, 0x9b000, 0x9b000, 0, ELFCLASS32);        /* over the ACPI tables */
	m = mb_machine(&c, bootimg_write("ktables", img, 0x200));
	CHECK(pc_load_kernel(m) < 0);
	machine_free(m);

	make_elf(img, 0x400, 0x400, 0, ELFCLASS32);            /* over the BDA */
	m = mb_machine(&c, bootimg_write("kbda", img, 0x200));
	CHECK(pc_load_kernel(m) < 0);
	machine_free(m);

	make_elf(img, 0x200000, 0x200000, 0, ELFCLASS32);
	((Elf32_Ehdr *)img)->e_phnum = 200;                   /* headers past the end */
	m = mb_machine(&c, bootimg_write("kphdr", img, 0x200));
	CHECK(pc_load_kernel(m) < 0);
	machine_free(m);

	c.initrd = "/nonexistent/initrd";
	make_elf(img, 0x200000, 0x200000, 0, ELFCLASS32);
	m = mb_machine(&c, bootimg_write("kok", img, 0x200));
	c.initrd = "/nonexistent/initrd";
	CHECK(pc_load_kernel(m) < 0);
	machine_free(m);
	bootimg_cleanup();
}
