/*
 * The PIIX3 IDE function (user/hw/ide*.c, ata.c, atapi.c) driven as a
 * driver does: the task file through ports 0x1f0-0x1f7/0x3f6 and
 * 0x170-0x177/0x376, BAR4 through config space, PRD tables in guest RAM,
 * the main loop run until BSY drops.  Images are files from blktest with
 * a known pattern.
 */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "blktest.h"
#include "devtest.h"
#include "machine.h"
#include "mainloop.h"
#include "block/block.h"
#include "hw/hw.h"

#define DISK_SECTORS 4096               /* 2 MiB */
#define CD_BYTES (64 * 2048)
#define BM 0xc000
#define PRDT 0x10000u
#define DATA 0x20000u
#define SEED 11
#define CD_SEED 23

struct rig {
	struct fake_irq irq;
	struct machine *m;
	struct pci_host *h;
	struct ide_ctrl *ide;
	uint8_t *ram;
	const char *disk, *iso;
};

static void cfg_w(struct rig *r, unsigned reg, uint32_t v, unsigned size)
{
	pio_out(r->m, 0xcf8, 0x80000000u | 1 << 11 | 1 << 8 | (reg & 0xfc), 4);
	pio_out(r->m, 0xcfc + (reg & 3), v, size);
}

static uint32_t cfg_r(struct rig *r, unsigned reg, unsigned size)
{
	pio_out(r->m, 0xcf8, 0x80000000u | 1 << 11 | 1 << 8 | (reg & 0xfc), 4);
	return pio_in(r->m, 0xcfc + (reg & 3), size);
}

static struct blk *open_img(const char *path, bool ro)
{
	/* no locks: the save/load test opens the images twice */
	struct blk_open_opts o = { .format = "raw", .readonly = ro, .no_locking = true };
	return blk_open(path, &o);
}

/* A disk at ide0 master, a CD-ROM (with_cd: holding an ISO-sized file, or
 * empty) at ide1 master. */
static bool rig_init(struct rig *r, bool cd_medium)
{
	memset(r, 0, sizeof(*r));
	r->m = fake_irq_machine(&r->irq);
	if (!r->m)
		return false;
	r->ram = r->m->ram;
	machine_add_memory(r->m, REGION_RAM, 0, 16 * MiB, r->m->ram, "ram");
	r->m->loop = mainloop_new();
	r->h = pci_host_new(r->m);
	r->disk = blktest_path("disk.raw");
	r->iso = blktest_path("cd.iso");
	if (!r->h || blktest_make_file(r->disk, DISK_SECTORS * 512, SEED) < 0 ||
	    blktest_make_file(r->iso, CD_BYTES, CD_SEED) < 0)
		return false;
	r->ide = ide_new(r->m, r->h, 1, 1);
	if (!r->ide)
		return false;
	struct blk *d = open_img(r->disk, false), *c = cd_medium ? open_img(r->iso, true) : NULL;
	if (!d || (cd_medium && !c) || ide_attach(r->ide, 0, 0, d, false, NULL) < 0 ||
	    ide_attach(r->ide, 1, 0, c, true, NULL) < 0)
		return false;
	cfg_w(r, 0x20, BM | 1, 4);
	cfg_w(r, 0x04, 0x5, 2);         /* I/O, bus master */
	return true;
}

static void rig_free(struct rig *r)
{
	struct mainloop *l = r->m->loop;
	machine_free(r->m);
	mainloop_free(l);
}

static uint16_t base(unsigned bus) { return bus ? 0x170 : 0x1f0; }

/* Run the main loop until the selected drive of bus is not busy. */
static uint8_t wait_ready(struct rig *r, unsigned bus)
{
	for (int i = 0; i < 2000; i++) {
		uint8_t st = pio_in(r->m, bus ? 0x376 : 0x3f6, 1);
		if (!(st & 0x80))
			return st;
		mainloop_run_once(r->m->loop, 5);
	}
	return 0xff;
}

static void set_lba28(struct rig *r, unsigned bus, uint32_t lba, uint8_t count)
{
	uint16_t b = base(bus);
	pio_out(r->m, b + 6, 0xe0 | (lba >> 24 & 0xf), 1);
	pio_out(r->m, b + 2, count, 1);
	pio_out(r->m, b + 3, lba, 1);
	pio_out(r->m, b + 4, lba >> 8, 1);
	pio_out(r->m, b + 5, lba >> 16, 1);
}

static void set_lba48(struct rig *r, uint64_t lba, uint16_t count)
{
	pio_out(r->m, 0x1f6, 0x40, 1);
	pio_out(r->m, 0x1f2, count >> 8, 1);
	pio_out(r->m, 0x1f3, lba >> 24, 1);
	pio_out(r->m, 0x1f4, lba >> 32, 1);
	pio_out(r->m, 0x1f5, lba >> 40, 1);
	pio_out(r->m, 0x1f2, count, 1);
	pio_out(r->m, 0x1f3, lba, 1);
	pio_out(r->m, 0x1f4, lba >> 8, 1);
	pio_out(r->m, 0x1f5, lba >> 16, 1);
}

/* PIO in: n bytes of DRQ data, 16 bits at a time; counts the blocks. */
static bool pio_read(struct rig *r, unsigned bus, uint8_t *buf, unsigned n)
{
	for (unsigned i = 0; i < n; i += 2) {
		uint8_t st = wait_ready(r, bus);
		if (!(st & 0x08))
			return false;
		if (i % 512 == 0)
			pio_in(r->m, base(bus) + 7, 1);   /* status: acknowledge */
		uint16_t w = pio_in(r->m, base(bus), 2);
		buf[i] = w;
		buf[i + 1] = w >> 8;
	}
	return true;
}

static bool pio_write(struct rig *r, const uint8_t *buf, unsigned n)
{
	for (unsigned i = 0; i < n; i += 2) {
		uint8_t st = wait_ready(r, 0);
		if (!(st & 0x08))
			return false;
		pio_out(r->m, 0x1f0, buf[i] | buf[i + 1] << 8, 2);
	}
	return true;
}

TEST(ide_identify)
{
	struct rig r;
	CHECK(rig_init(&r, true));
	CHECK_EQ(cfg_r(&r, 0x00, 4), 0x70108086);
	CHECK_EQ(cfg_r(&r, 0x08, 4) >> 8, 0x010180);
	CHECK_EQ(cfg_r(&r, 0x41, 1) & 0x80, 0x80);  /* decode enabled */
	pio_out(r.m, 0x1f6, 0xa0, 1);
	pio_out(r.m, 0x1f7, 0xec, 1);
	uint8_t id[512];
	CHECK(pio_read(&r, 0, id, 512));
	CHECK(r.irq.rises[14] >= 1);
	CHECK_EQ(pio_in(r.m, 0x1f7, 1) & 0x89, 0x00);    /* not busy, no DRQ, no error */
	CHECK_EQ(r.irq.level[14], 0);                      /* reading status acked */
	CHECK(!memcmp(id + 54, "VQ MAHDRIDKS", 12));      /* "QVM HARDDISK", swapped */
	CHECK_EQ(id[120] | id[121] << 8 | id[122] << 16 | id[123] << 24, DISK_SECTORS);
	CHECK_EQ(id[200] | id[201] << 8, DISK_SECTORS);   /* LBA48 count */
	CHECK(id[167] & 0x04);                            /* word 83 bit 10: 48-bit */
	/* the CD-ROM aborts IDENTIFY DEVICE with the packet signature */
	pio_out(r.m, 0x176, 0xa0, 1);
	pio_out(r.m, 0x177, 0xec, 1);
	CHECK_EQ(wait_ready(&r, 1) & 0x01, 0x01);
	CHECK_EQ(pio_in(r.m, 0x174, 1), 0x14);
	CHECK_EQ(pio_in(r.m, 0x175, 1), 0xeb);
	pio_out(r.m, 0x177, 0xa1, 1);
	CHECK(pio_read(&r, 1, id, 512));
	CHECK_EQ(id[1], 0x85);                            /* ATAPI CD-ROM */
	/* the slave is absent: its registers read 0, commands go nowhere */
	pio_out(r.m, 0x1f6, 0xb0, 1);
	CHECK_EQ(pio_in(r.m, 0x1f7, 1), 0);
	rig_free(&r);
}

TEST(ide_pio_lba28_lba48_chs)
{
	struct rig r;
	CHECK(rig_init(&r, true));
	uint8_t buf[4 * 512], want[4 * 512];
	/* READ SECTORS, LBA28: 3 sectors at 100 */
	set_lba28(&r, 0, 100, 3);
	pio_out(r.m, 0x1f7, 0x20, 1);
	CHECK(pio_read(&r, 0, buf, 3 * 512));
	blktest_pattern(want, 3 * 512, 100 * 512, SEED);
	CHECK(!memcmp(buf, want, 3 * 512));
	CHECK_EQ(r.irq.rises[14], 3);                     /* one per block */
	/* WRITE SECTORS EXT at 2000, then READ SECTORS EXT */
	for (unsigned i = 0; i < sizeof(want); i++)
		want[i] = i * 7 + 1;
	set_lba48(&r, 2000, 4);
	pio_out(r.m, 0x1f7, 0x34, 1);
	CHECK(pio_write(&r, want, 4 * 512));
	CHECK_EQ(wait_ready(&r, 0) & 0x09, 0);
	set_lba48(&r, 2000, 4);
	pio_out(r.m, 0x1f7, 0x24, 1);
	CHECK(pio_read(&r, 0, buf, 4 * 512));
	CHECK(!memcmp(buf, want, 4 * 512));
	/* CHS: cylinder 1, head 2, sector 3 is LBA (1*16+2)*63+2 = 1136 */
	pio_out(r.m, 0x1f6, 0xa2, 1);
	pio_out(r.m, 0x1f2, 1, 1);
	pio_out(r.m, 0x1f3, 3, 1);
	pio_out(r.m, 0x1f4, 1, 1);
	pio_out(r.m, 0x1f5, 0, 1);
	pio_out(r.m, 0x1f7, 0x20, 1);
	CHECK(pio_read(&r, 0, buf, 512));
	blktest_pattern(want, 512, 1136 * 512, SEED);
	CHECK(!memcmp(buf, want, 512));
	/* INITIALIZE DEVICE PARAMETERS: 4 heads, 32 sectors; then cylinder 2,
	 * head 1, sector 5 is LBA (2*4+1)*32+4 = 292 */
	pio_out(r.m, 0x1f6, 0xa3, 1);
	pio_out(r.m, 0x1f2, 32, 1);
	pio_out(r.m, 0x1f7, 0x91, 1);
	CHECK_EQ(wait_ready(&r, 0) & 0x01, 0);
	pio_out(r.m, 0x1f6, 0xa1, 1);
	pio_out(r.m, 0x1f2, 1, 1);
	pio_out(r.m, 0x1f3, 5, 1);
	pio_out(r.m, 0x1f4, 2, 1);
	pio_out(r.m, 0x1f5, 0, 1);
	pio_out(r.m, 0x1f7, 0x20, 1);
	CHECK(pio_read(&r, 0, buf, 512));
	blktest_pattern(want, 512, 292 * 512, SEED);
	CHECK(!memcmp(buf, want, 512));
	/* a head past the translation's: IDNF */
	pio_out(r.m, 0x1f6, 0xa5, 1);
	pio_out(r.m, 0x1f2, 1, 1);
	pio_out(r.m, 0x1f3, 1, 1);
	pio_out(r.m, 0x1f7, 0x20, 1);
	CHECK_EQ(wait_ready(&r, 0) & 0x01, 0x01);
	/* SET FEATURES: multiword DMA 2 shows in IDENTIFY word 63 */
	pio_out(r.m, 0x1f6, 0xe0, 1);
	pio_out(r.m, 0x1f1, 0x03, 1);
	pio_out(r.m, 0x1f2, 0x22, 1);
	pio_out(r.m, 0x1f7, 0xef, 1);
	CHECK_EQ(wait_ready(&r, 0) & 0x01, 0);
	pio_out(r.m, 0x1f7, 0xec, 1);
	uint8_t id[512];
	CHECK(pio_read(&r, 0, id, 512));
	CHECK_EQ(id[127], 0x04);
	/* past the end: IDNF, no data */
	set_lba28(&r, 0, DISK_SECTORS - 1, 2);
	pio_out(r.m, 0x1f7, 0x20, 1);
	CHECK_EQ(wait_ready(&r, 0) & 0x09, 0x01);
	CHECK_EQ(pio_in(r.m, 0x1f1, 1) & 0x10, 0x10);
	rig_free(&r);
}

TEST(ide_read_write_multiple)
{
	struct rig r;
	CHECK(rig_init(&r, true));
	pio_out(r.m, 0x1f6, 0xe0, 1);
	pio_out(r.m, 0x1f2, 3, 1);                        /* not a power of two */
	pio_out(r.m, 0x1f7, 0xc6, 1);
	CHECK_EQ(wait_ready(&r, 0) & 0x01, 0x01);
	set_lba28(&r, 0, 8, 8);
	pio_out(r.m, 0x1f7, 0xc4, 1);                     /* multiple mode off */
	CHECK_EQ(wait_ready(&r, 0) & 0x01, 0x01);
	pio_out(r.m, 0x1f2, 4, 1);
	pio_out(r.m, 0x1f7, 0xc6, 1);
	CHECK_EQ(wait_ready(&r, 0) & 0x01, 0);
	unsigned before = r.irq.rises[14];
	uint8_t buf[8 * 512], want[8 * 512];
	set_lba28(&r, 0, 8, 8);
	pio_out(r.m, 0x1f7, 0xc4, 1);
	CHECK(pio_read(&r, 0, buf, sizeof(buf)));
	blktest_pattern(want, sizeof(want), 8 * 512, SEED);
	CHECK(!memcmp(buf, want, sizeof(buf)));
	CHECK_EQ(r.irq.rises[14] - before, 2);            /* two 4-sector blocks */
	rig_free(&r);
}

static void put_prd(struct rig *r, unsigned i, uint32_t addr, uint32_t len, bool eot)
{
	uint32_t e[2] = { addr, (len & 0xffff) | (eot ? 0x80000000u : 0) };
	memcpy(r->ram + PRDT + 8 * i, e, 8);
}

static void bm_start(struct rig *r, uint32_t prdt, bool to_memory)
{
	pio_out(r->m, BM, 0, 1);                          /* stop the last one */
	pio_out(r->m, BM + 2, 0x06, 1);                   /* clear error, interrupt */
	pio_out(r->m, BM + 4, prdt, 4);
	pio_out(r->m, BM, (to_memory ? 0x08 : 0) | 1, 1);
}

TEST(ide_dma_read_write)
{
	struct rig r;
	CHECK(rig_init(&r, true));
	/* READ DMA of 16 sectors into two PRDs (3 KiB + 5 KiB) */
	memset(r.ram + DATA, 0xee, 0x10000);
	put_prd(&r, 0, DATA, 3072, false);
	put_prd(&r, 1, DATA + 0x4000, 5120, true);
	set_lba28(&r, 0, 40, 16);
	pio_out(r.m, 0x1f7, 0xc8, 1);
	bm_start(&r, PRDT, true);
	CHECK_EQ(wait_ready(&r, 0) & 0x09, 0);
	uint8_t want[16 * 512];
	blktest_pattern(want, sizeof(want), 40 * 512, SEED);
	CHECK(!memcmp(r.ram + DATA, want, 3072));
	CHECK(!memcmp(r.ram + DATA + 0x4000, want + 3072, 5120));
	CHECK_EQ(r.ram[DATA + 3072], 0xee);               /* nothing past a PRD */
	CHECK_EQ(r.ram[DATA + 0x4000 + 5120], 0xee);
	uint8_t bst = pio_in(r.m, BM + 2, 1);
	CHECK_EQ(bst & 0x07, 0x04);                       /* interrupt, not active */
	CHECK(r.irq.level[14]);
	/* WRITE DMA EXT of 2 sectors from one PRD; read back by PIO */
	for (unsigned i = 0; i < 1024; i++)
		r.ram[DATA + i] = i ^ 0x5a;
	put_prd(&r, 0, DATA, 1024, true);
	set_lba48(&r, 3000, 2);
	pio_out(r.m, 0x1f7, 0x35, 1);
	bm_start(&r, PRDT, false);
	CHECK_EQ(wait_ready(&r, 0) & 0x09, 0);
	uint8_t buf[1024];
	set_lba28(&r, 0, 3000, 2);
	pio_out(r.m, 0x1f7, 0x20, 1);
	CHECK(pio_read(&r, 0, buf, 1024));
	CHECK(!memcmp(buf, r.ram + DATA, 1024));
	/* FLUSH CACHE */
	pio_out(r.m, 0x1f7, 0xe7, 1);
	CHECK_EQ(wait_ready(&r, 0) & 0x01, 0);
	rig_free(&r);
}

/* PRDs are guest data: outside RAM, too short, or a table that never
 * ends fail the command without touching memory past what they name. */
TEST(ide_dma_hostile_prds)
{
	struct rig r;
	CHECK(rig_init(&r, true));
	/* a buffer outside RAM (16 MiB machine) */
	put_prd(&r, 0, 0xf0000000u, 4096, true);
	set_lba28(&r, 0, 0, 8);
	pio_out(r.m, 0x1f7, 0xc8, 1);
	bm_start(&r, PRDT, true);
	CHECK_EQ(wait_ready(&r, 0) & 0x01, 0x01);
	CHECK_EQ(pio_in(r.m, BM + 2, 1) & 0x03, 0x02);    /* error, not active */
	/* a buffer crossing the end of RAM */
	put_prd(&r, 0, 16 * MiB - 512, 4096, true);
	set_lba28(&r, 0, 0, 8);
	pio_out(r.m, 0x1f7, 0xc8, 1);
	bm_start(&r, PRDT, true);
	CHECK_EQ(wait_ready(&r, 0) & 0x01, 0x01);
	CHECK_EQ(pio_in(r.m, BM + 2, 1) & 0x02, 0x02);
	/* the table itself outside RAM */
	set_lba28(&r, 0, 0, 1);
	pio_out(r.m, 0x1f7, 0xc8, 1);
	bm_start(&r, 0xfff00000u, true);
	CHECK_EQ(wait_ready(&r, 0) & 0x01, 0x01);
	/* EOT before the data ends: 1 KiB of PRDs for 4 KiB */
	memset(r.ram + DATA, 0xee, 0x2000);
	put_prd(&r, 0, DATA, 1024, true);
	set_lba28(&r, 0, 0, 8);
	pio_out(r.m, 0x1f7, 0xc8, 1);
	bm_start(&r, PRDT, true);
	CHECK_EQ(wait_ready(&r, 0) & 0x01, 0x01);
	CHECK_EQ(r.ram[DATA + 1024], 0xee);
	/* no EOT anywhere: 64 KiB of 2-byte entries (the table's limit) */
	for (unsigned i = 0; i < 8192; i++)
		put_prd(&r, i, DATA, 2, false);
	set_lba48(&r, 0, 256);                            /* 128 KiB wanted */
	pio_out(r.m, 0x1f7, 0x25, 1);
	bm_start(&r, PRDT, true);
	CHECK_EQ(wait_ready(&r, 0) & 0x01, 0x01);
	CHECK_EQ(pio_in(r.m, BM + 2, 1) & 0x02, 0x02);
	/* odd addresses and lengths are rounded as the spec says (bit 0 is
	 * zero): 0 bytes of a 1-byte entry is 64 KiB, never a hang */
	put_prd(&r, 0, DATA + 1, 0, true);
	set_lba28(&r, 0, 0, 1);
	pio_out(r.m, 0x1f7, 0xc8, 1);
	bm_start(&r, PRDT, true);
	CHECK_EQ(wait_ready(&r, 0) & 0x01, 0);
	/* the controller still works */
	put_prd(&r, 0, DATA, 512, true);
	set_lba28(&r, 0, 5, 1);
	pio_out(r.m, 0x1f7, 0xc8, 1);
	bm_start(&r, PRDT, true);
	CHECK_EQ(wait_ready(&r, 0) & 0x01, 0);
	uint8_t want[512];
	blktest_pattern(want, 512, 5 * 512, SEED);
	CHECK(!memcmp(r.ram + DATA, want, 512));
	rig_free(&r);
}

/* ---- ATAPI ---- */

/* PACKET with a 12-byte CDB; byte count limit lim; returns the status
 * after the command phase (data, if any, is then read by the caller). */
static uint8_t packet(struct rig *r, const uint8_t cdb[12], uint16_t lim, bool dma)
{
	pio_out(r->m, 0x176, 0xa0, 1);
	pio_out(r->m, 0x171, dma, 1);
	pio_out(r->m, 0x174, lim, 1);
	pio_out(r->m, 0x175, lim >> 8, 1);
	pio_out(r->m, 0x177, 0xa0, 1);
	uint8_t st = wait_ready(r, 1);
	if ((st & 0x08) == 0 || pio_in(r->m, 0x172, 1) != 1)
		return 0xff;
	for (unsigned i = 0; i < 12; i += 2)
		pio_out(r->m, 0x170, cdb[i] | cdb[i + 1] << 8, 2);
	return wait_ready(r, 1);
}

/* Read a PIO reply: DRQ blocks of at most the limit; returns bytes. */
static unsigned atapi_read(struct rig *r, uint8_t *buf, unsigned max)
{
	unsigned n = 0;
	for (;;) {
		uint8_t st = wait_ready(r, 1);
		if (!(st & 0x08))
			return n;
		unsigned cnt = pio_in(r->m, 0x174, 1) | pio_in(r->m, 0x175, 1) << 8;
		for (unsigned i = 0; i < cnt; i += 2) {
			uint16_t w = pio_in(r->m, 0x170, 2);
			if (n + 2 <= max) {
				buf[n] = w;
				buf[n + 1] = w >> 8;
			}
			n += 2;
		}
	}
}

static uint8_t sense_key(struct rig *r, uint8_t *asc)
{
	uint8_t cdb[12] = { 0x03, 0, 0, 0, 18 }, s[18] = { 0 };
	packet(r, cdb, 18, false);
	atapi_read(r, s, sizeof(s));
	*asc = s[12];
	return s[2] & 0xf;
}

TEST(ide_atapi_commands)
{
	struct rig r;
	CHECK(rig_init(&r, true));
	uint8_t buf[8192], asc;
	uint8_t inq[12] = { 0x12, 0, 0, 0, 36 };
	CHECK_EQ(packet(&r, inq, 0x100, false) & 0x09, 0x08);
	CHECK_EQ(atapi_read(&r, buf, sizeof(buf)), 36);
	CHECK_EQ(buf[0], 0x05);
	CHECK_EQ(pio_in(r.m, 0x172, 1), 3);               /* status phase: I/O, C/D */
	uint8_t cap[12] = { 0x25 };
	packet(&r, cap, 8, false);
	CHECK_EQ(atapi_read(&r, buf, sizeof(buf)), 8);
	CHECK_EQ(buf[3], CD_BYTES / 2048 - 1);
	CHECK_EQ(buf[6], 0x08);                           /* 2048-byte blocks */
	/* READ(10) of 3 sectors at 5 with a byte count limit of 2048 */
	uint8_t rd[12] = { 0x28, 0, 0, 0, 0, 5, 0, 0, 3 };
	packet(&r, rd, 2048, false);
	CHECK_EQ(atapi_read(&r, buf, sizeof(buf)), 3 * 2048);
	uint8_t want[3 * 2048];
	blktest_pattern(want, sizeof(want), 5 * 2048, CD_SEED);
	CHECK(!memcmp(buf, want, sizeof(want)));
	/* READ(12) by DMA */
	uint8_t rd12[12] = { 0xa8, 0, 0, 0, 0, 7, 0, 0, 0, 2 };
	put_prd(&r, 0, DATA, 4096, true);
	pio_out(r.m, BM + 8 + 2, 0x06, 1);
	pio_out(r.m, BM + 8 + 4, PRDT, 4);
	pio_out(r.m, BM + 8, 0x09, 1);
	CHECK_EQ(packet(&r, rd12, 0, true) & 0x09, 0);
	blktest_pattern(want, 4096, 7 * 2048, CD_SEED);
	CHECK(!memcmp(r.ram + DATA, want, 4096));
	CHECK_EQ(pio_in(r.m, BM + 8 + 2, 1) & 0x05, 0x04);
	/* past the end: ILLEGAL REQUEST, LBA out of range */
	uint8_t far[12] = { 0x28, 0, 0, 0, 0, 63, 0, 0, 2 };
	CHECK_EQ(packet(&r, far, 2048, false) & 0x01, 0x01);
	CHECK_EQ(pio_in(r.m, 0x171, 1) >> 4, 5);
	CHECK_EQ(sense_key(&r, &asc), 5);
	CHECK_EQ(asc, 0x21);
	/* READ TOC format 0, LBA: track 1 and the lead-out */
	uint8_t toc[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0, 64 };
	packet(&r, toc, 64, false);
	CHECK_EQ(atapi_read(&r, buf, sizeof(buf)), 20);
	CHECK_EQ(buf[1], 18);
	CHECK_EQ(buf[6], 1);
	CHECK_EQ(buf[14], 0xaa);
	CHECK_EQ(buf[19], CD_BYTES / 2048);
	/* format 1 (sessions) and 2 (raw, MSF), the MSF form of format 0 */
	toc[2] = 1;
	packet(&r, toc, 64, false);
	CHECK_EQ(atapi_read(&r, buf, sizeof(buf)), 12);
	toc[2] = 2;
	packet(&r, toc, 64, false);
	CHECK_EQ(atapi_read(&r, buf, sizeof(buf)), 48);
	CHECK_EQ(buf[4 + 2 * 11 + 3], 0xa2);
	toc[1] = 2;
	toc[2] = 0;
	packet(&r, toc, 64, false);
	atapi_read(&r, buf, sizeof(buf));
	CHECK_EQ(buf[10], 2);                             /* 150 frames = 00:02:00 */
	/* an unknown opcode */
	uint8_t bad[12] = { 0xff };
	CHECK_EQ(packet(&r, bad, 0, false) & 0x01, 0x01);
	CHECK_EQ(sense_key(&r, &asc), 5);
	CHECK_EQ(asc, 0x20);
	/* GET CONFIGURATION: current profile CD-ROM; GET EVENT STATUS needs
	 * the polled bit; MODE SENSE of the capabilities page */
	uint8_t gc[12] = { 0x46, 0, 0, 0, 0, 0, 0, 0, 64 };
	packet(&r, gc, 64, false);
	CHECK(atapi_read(&r, buf, sizeof(buf)) >= 8);
	CHECK_EQ(buf[7], 0x08);
	uint8_t ev[12] = { 0x4a, 0, 0, 0, 0x10, 0, 0, 0, 8 };
	CHECK_EQ(packet(&r, ev, 8, false) & 0x01, 0x01);
	ev[1] = 1;
	packet(&r, ev, 8, false);
	CHECK_EQ(atapi_read(&r, buf, sizeof(buf)), 8);
	CHECK_EQ(buf[5], 0x02);                           /* medium present */
	uint8_t ms[12] = { 0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 64 };
	packet(&r, ms, 64, false);
	CHECK_EQ(atapi_read(&r, buf, sizeof(buf)), 30);
	CHECK_EQ(buf[8], 0x2a);
	uint8_t di[12] = { 0x51, 0, 0, 0, 0, 0, 0, 0, 34 };
	packet(&r, di, 64, false);
	CHECK_EQ(atapi_read(&r, buf, sizeof(buf)), 34);
	rig_free(&r);
}

/* An empty drive, a medium put in (UNIT ATTENTION once), locked against
 * the monitor's eject, ejected with -f and by the guest. */
TEST(ide_atapi_media_change)
{
	struct rig r;
	CHECK(rig_init(&r, false));
	uint8_t asc, buf[64];
	char err[256];
	uint8_t tur[12] = { 0 };
	CHECK_EQ(packet(&r, tur, 0, false) & 0x01, 0x01);
	CHECK_EQ(sense_key(&r, &asc), 2);                 /* NOT READY */
	CHECK_EQ(asc, 0x3a);                              /* no medium */
	CHECK(ide_change(r.ide, "ide1-cd1", r.iso, err, sizeof(err)) < 0);
	CHECK(ide_change(r.ide, "ide0-hd0", r.iso, err, sizeof(err)) < 0);
	blktest_stderr_begin();
	int bad = ide_change(r.ide, "ide1-cd0", "/nonexistent.iso", err, sizeof(err));
	int lines;
	blktest_stderr_end(&lines);
	CHECK(bad < 0);
	CHECK_EQ(lines, 1);
	CHECK(ide_change(r.ide, "ide1-cd0", r.iso, err, sizeof(err)) == 0);
	uint8_t ev[12] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 };
	packet(&r, ev, 8, false);
	atapi_read(&r, buf, sizeof(buf));
	CHECK_EQ(buf[4], 2);                              /* new media */
	CHECK_EQ(packet(&r, tur, 0, false) & 0x01, 0x01);
	CHECK_EQ(sense_key(&r, &asc), 6);                 /* UNIT ATTENTION */
	CHECK_EQ(asc, 0x28);
	CHECK_EQ(packet(&r, tur, 0, false) & 0x01, 0);    /* once */
	/* locked: eject refused unless forced */
	uint8_t lock[12] = { 0x1e, 0, 0, 0, 1 };
	packet(&r, lock, 0, false);
	CHECK(ide_eject(r.ide, "ide1-cd0", false, err, sizeof(err)) < 0);
	CHECK(strstr(err, "locked"));
	uint8_t eject[12] = { 0x1b, 0, 0, 0, 0x02 };
	CHECK_EQ(packet(&r, eject, 0, false) & 0x01, 0x01);   /* the guest's own too */
	CHECK(ide_eject(r.ide, "ide1-cd0", true, err, sizeof(err)) == 0);
	CHECK_EQ(packet(&r, tur, 0, false) & 0x01, 0x01);
	CHECK_EQ(sense_key(&r, &asc), 2);
	/* back in, unlocked, ejected by START STOP UNIT */
	CHECK(ide_change(r.ide, "ide1-cd0", r.iso, err, sizeof(err)) == 0);
	lock[4] = 0;
	packet(&r, lock, 0, false);
	CHECK_EQ(packet(&r, eject, 0, false) & 0x01, 0);
	mainloop_run_once(r.m->loop, 10);                 /* the image closes */
	CHECK_EQ(packet(&r, tur, 0, false) & 0x01, 0x01);
	CHECK_EQ(sense_key(&r, &asc), 2);
	CHECK_EQ(asc, 0x3a);
	rig_free(&r);
}

/* SRST: busy while set, the signatures after; nIEN masks INTRQ. */
TEST(ide_soft_reset)
{
	struct rig r;
	CHECK(rig_init(&r, true));
	pio_out(r.m, 0x1f6, 0xe0, 1);
	pio_out(r.m, 0x1f2, 0x55, 1);
	pio_out(r.m, 0x3f6, 0x04, 1);
	CHECK_EQ(pio_in(r.m, 0x3f6, 1) & 0x80, 0x80);
	pio_out(r.m, 0x3f6, 0x00, 1);
	CHECK_EQ(wait_ready(&r, 0), 0x50);
	CHECK_EQ(pio_in(r.m, 0x1f2, 1), 1);
	CHECK_EQ(pio_in(r.m, 0x1f1, 1), 1);
	pio_out(r.m, 0x376, 0x04, 1);
	pio_out(r.m, 0x376, 0x00, 1);
	pio_out(r.m, 0x176, 0xa0, 1);
	CHECK_EQ(pio_in(r.m, 0x174, 1), 0x14);
	CHECK_EQ(pio_in(r.m, 0x175, 1), 0xeb);
	/* nIEN: the command completes, the line stays low */
	pio_out(r.m, 0x3f6, 0x02, 1);
	pio_out(r.m, 0x1f6, 0xe0, 1);
	pio_out(r.m, 0x1f7, 0xe5, 1);                     /* CHECK POWER MODE */
	CHECK_EQ(wait_ready(&r, 0) & 0x01, 0);
	CHECK_EQ(r.irq.level[14], 0);
	pio_out(r.m, 0x3f6, 0x00, 1);
	CHECK_EQ(r.irq.level[14], 1);                     /* pending, now unmasked */
	/* an unknown command aborts */
	pio_out(r.m, 0x1f7, 0xb0, 1);
	CHECK_EQ(wait_ready(&r, 0) & 0x01, 0x01);
	CHECK_EQ(pio_in(r.m, 0x1f1, 1), 0x04);
	rig_free(&r);
}

/* Saved in the middle of a PIO read and loaded into a second machine:
 * the rest of the data comes from there; a damaged state is refused. */
TEST(ide_save_load_mid_transfer)
{
	struct rig a, b;
	CHECK(rig_init(&a, true));
	CHECK(rig_init(&b, true));
	uint8_t buf[3 * 512], want[3 * 512];
	pio_out(a.m, 0x1f6, 0xe0, 1);
	pio_out(a.m, 0x1f2, 2, 1);
	pio_out(a.m, 0x1f7, 0xc6, 1);                     /* multiple: 2 */
	CHECK_EQ(wait_ready(&a, 0) & 0x01, 0);
	set_lba28(&a, 0, 77, 3);
	pio_out(a.m, 0x1f7, 0x20, 1);
	CHECK(pio_read(&a, 0, buf, 700));                 /* stop mid-block */
	machine_quiesce_devices(a.m);
	CHECK_EQ(copy_device_state(a.m, b.m), 0);
	CHECK(pio_read(&b, 0, buf + 700, sizeof(buf) - 700));
	blktest_pattern(want, sizeof(want), 77 * 512, SEED);
	CHECK(!memcmp(buf, want, sizeof(want)));
	/* a damaged state */
	struct state_buf s;
	state_init(&s);
	machine_save_devices(a.m, &s);
	CHECK(!s.error);
	/* flip every byte in turn: loads either fail or leave a sane device */
	blktest_stderr_begin();
	for (size_t i = 0; i < s.len; i += 7) {
		struct state_buf t;
		state_init(&t);
		state_put_bytes(&t, s.data, s.len);
		t.data[i] ^= 0xff;
		state_rewind(&t);
		machine_load_devices(b.m, &t);
		state_free(&t);
	}
	int lines;
	blktest_stderr_end(&lines);
	/* and the device still answers */
	pio_out(b.m, 0x3f6, 0x04, 1);
	pio_out(b.m, 0x3f6, 0x00, 1);
	set_lba28(&b, 0, 9, 1);
	pio_out(b.m, 0x1f7, 0x20, 1);
	CHECK(pio_read(&b, 0, buf, 512));
	blktest_pattern(want, 512, 9 * 512, SEED);
	CHECK(!memcmp(buf, want, 512));
	state_free(&s);
	rig_free(&a);
	rig_free(&b);
}
