/* The Linux bzImage loader (user/pc/boot/linux.c) on a bare machine, with
 * synthetic images: only the setup header matters to a boot loader. */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "bootimg.h"
#include "config.h"
#include "machine.h"
#include "pc/pc.h"

#define IMG_SIZE (64 * 1024)
#define SETUP_SECTS 3           /* setup is (3 + 1) * 512 bytes */
#define PM_OFFSET ((SETUP_SECTS + 1) * 512)
#define PARAMS PC_BOOT_INFO_ADDR  /* where qvm puts boot_params */

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* A bzImage of protocol 2.15 with a 64-bit entry, preferring 2 MiB. */
static uint8_t *make_bzimage(void)
{
	uint8_t *img = calloc(1, IMG_SIZE);
	img[0x1f1] = SETUP_SECTS;
	put16(img + 0x1fe, 0xaa55);
	img[0x200] = 0xeb;
	img[0x201] = 0x6a;                   /* header ends at 0x26c */
	memcpy(img + 0x202, "HdrS", 4);
	put16(img + 0x206, 0x020f);
	img[0x211] = 0x01;                   /* LOADED_HIGH */
	put32(img + 0x1f4, (IMG_SIZE - PM_OFFSET) / 16); /* syssize */
	put32(img + 0x22c, 0x7fffffff);      /* initrd_addr_max */
	put32(img + 0x230, 0x200000);        /* kernel_alignment */
	img[0x234] = 1;                      /* relocatable */
	put16(img + 0x236, 0x3);             /* XLF_KERNEL_64, CAN_BE_LOADED_ABOVE_4G */
	put32(img + 0x238, 2047);            /* cmdline_size */
	put64(img + 0x258, 0x200000);        /* pref_address */
	put32(img + 0x260, 0x400000);        /* init_size */
	memset(img + PM_OFFSET, 0xcc, IMG_SIZE - PM_OFFSET);
	memcpy(img + PM_OFFSET, "KERNEL", 6);
	return img;
}

static const char *write_img(const char *name, const uint8_t *img)
{
	return bootimg_write(name, img, IMG_SIZE);
}

TEST(linux_bzimage_loads_kernel_params_cmdline_initrd)
{
	uint8_t *img = make_bzimage();
	struct config c;
	char kpath[256];
	snprintf(kpath, sizeof(kpath), "%s", write_img("bzImage", img));
	struct machine *m = bootimg_machine(&c, kpath, 32 * MiB);
	c.append = "console=ttyS0 quiet";
	c.initrd = bootimg_write("initrd", "INITRD-DATA", 11);
	CHECK(pc_load_kernel(m) == 0);
	struct pc_board *b = m->board;
	CHECK_EQ(b->boot, BOOT_LINUX);
	CHECK(b->linux_64bit);
	CHECK_EQ(b->linux_entry, 0x200200);            /* 64-bit entry: +0x200 */
	uint8_t *ram = m->ram;
	CHECK(!memcmp(ram + 0x200000, "KERNEL", 6));  /* protected-mode part */
	uint8_t *bp = ram + PARAMS;
	CHECK(!memcmp(bp + 0x202, "HdrS", 4));        /* header copied */
	CHECK_EQ(bp[0x210], 0xff);                     /* type_of_loader */
	CHECK_EQ(bootimg_rd32(m, PARAMS + 0x214), 0x200000);
	const char *cmd = gpa_to_host(m, bootimg_rd32(m, PARAMS + 0x228), 1);
	CHECK(cmd && !strcmp(cmd, "console=ttyS0 quiet"));
	uint32_t rd = bootimg_rd32(m, PARAMS + 0x218);
	CHECK_EQ(bootimg_rd32(m, PARAMS + 0x21c), 11);
	CHECK(rd >= 0x600000 && rd + 11 <= 32 * MiB && !(rd & 0xfff)); /* above init_size */
	CHECK(!memcmp(ram + rd, "INITRD-DATA", 11));
	/* e820: the same map as pc_e820, RAM from 1 MiB to the end */
	unsigned n = bp[0x1e8];
	CHECK(n >= 4 && n <= PC_E820_MAX);
	bool found = false;
	for (unsigned i = 0; i < n; i++) {
		uint64_t addr, size;
		memcpy(&addr, bp + 0x2d0 + 20 * i, 8);
		memcpy(&size, bp + 0x2d0 + 20 * i + 8, 8);
		if (addr == 0x100000 && size == 31 * MiB && bootimg_rd32(m, PARAMS + 0x2d0 + 20 * i + 16) == 1)
			found = true;
	}
	CHECK(found);
	free(img);
	machine_free(m);
	bootimg_cleanup();
}

TEST(linux_old_kernel_without_64bit_entry_uses_32bit)
{
	uint8_t *img = make_bzimage();
	put16(img + 0x206, 0x020a);          /* 2.10: no xloadflags */
	struct config c;
	struct machine *m = bootimg_machine(&c, write_img("bz32", img), 32 * MiB);
	CHECK(pc_load_kernel(m) == 0);
	struct pc_board *b = m->board;
	CHECK(!b->linux_64bit);
	CHECK_EQ(b->linux_entry, 0x200000);
	free(img);
	machine_free(m);
	bootimg_cleanup();
}

TEST(linux_relocatable_kernel_moves_down_when_ram_is_short)
{
	uint8_t *img = make_bzimage();
	put64(img + 0x258, 0x1000000);       /* 16 MiB preferred, 8 MiB of RAM */
	struct config c;
	struct machine *m = bootimg_machine(&c, write_img("bzlow", img), 8 * MiB);
	CHECK(pc_load_kernel(m) == 0);
	CHECK_EQ(((struct pc_board *)m->board)->linux_entry, 0x200200);
	free(img);
	machine_free(m);
	bootimg_cleanup();
}

static int load_broken(void (*breakit)(uint8_t *img), uint64_t ram, const char *append,
		       const char *initrd)
{
	uint8_t *img = make_bzimage();
	breakit(img);
	struct config c;
	struct machine *m = bootimg_machine(&c, write_img("bad", img), ram);
	c.append = append;
	c.initrd = initrd;
	int r = pc_load_kernel(m);
	free(img);
	machine_free(m);
	return r;
}

static void nothing(uint8_t *img) { (void)img; }
static void bad_boot_flag(uint8_t *img) { put16(img + 0x1fe, 0x1234); }
static void old_protocol(uint8_t *img) { put16(img + 0x206, 0x0201); }
static void zimage(uint8_t *img) { img[0x211] = 0; }
static void huge_setup(uint8_t *img) { img[0x1f1] = 200; }   /* past the file */
static void fixed_high(uint8_t *img)
{
	img[0x234] = 0;                      /* not relocatable ... */
	put64(img + 0x258, 0xfffffffffff00000ULL); /* ... at an absurd address */
}
static void huge_init_size(uint8_t *img) { put32(img + 0x260, 0xffffffff); }
static void truncated(uint8_t *img) { put32(img + 0x1f4, IMG_SIZE / 16); } /* > the file */

TEST(linux_rejects_bad_images_and_arguments)
{
	CHECK(load_broken(bad_boot_flag, 32 * MiB, NULL, NULL) < 0);
	CHECK(load_broken(old_protocol, 32 * MiB, NULL, NULL) < 0);
	CHECK(load_broken(zimage, 32 * MiB, NULL, NULL) < 0);
	CHECK(load_broken(huge_setup, 32 * MiB, NULL, NULL) < 0);
	CHECK(load_broken(fixed_high, 32 * MiB, NULL, NULL) < 0);
	CHECK(load_broken(huge_init_size, 32 * MiB, NULL, NULL) < 0);
	CHECK(load_broken(truncated, 32 * MiB, NULL, NULL) < 0);
	char longcmd[3000];
	memset(longcmd, 'x', sizeof(longcmd) - 1);
	longcmd[sizeof(longcmd) - 1] = 0;
	CHECK(load_broken(nothing, 32 * MiB, longcmd, NULL) < 0);      /* > cmdline_size */
	CHECK(load_broken(nothing, 32 * MiB, NULL, "/nonexistent/initrd") < 0);
	/* an initrd that does not fit above the kernel's init_size */
	static uint8_t big[4 * 1024 * 1024];
	char rdpath[256];
	snprintf(rdpath, sizeof(rdpath), "%s", bootimg_write("big", big, sizeof(big)));
	CHECK(load_broken(nothing, 8 * MiB, NULL, rdpath) < 0);
	CHECK(load_broken(nothing, 32 * MiB, NULL, rdpath) == 0);
	bootimg_cleanup();
}
