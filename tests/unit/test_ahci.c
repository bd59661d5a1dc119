/*
 * The AHCI HBA (user/hw/ahci.c) driven as a driver does: ABAR through
 * config space, command lists, tables and PRDTs in guest RAM, the main
 * loop run until the slot's PxCI bit clears.  A disk on port 0, a CD-ROM
 * on port 1; images from blktest with a known pattern.
 */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "blktest.h"
#include "devtest.h"
#include "irq.h"
#include "machine.h"
#include "mainloop.h"
#include "physmap.h"
#include "block/block.h"
#include "hw/hw.h"
#include "pc/pc.h"

#define DISK_SECTORS 4096
#define CD_BYTES (64 * 2048)
#define SLOT 3
#define ABAR 0xfeb00000u
#define CLB 0x10000u                    /* port p: CLB + 0x1000 * p */
#define FB 0x18000u
#define CT 0x20000u                     /* the command table of slot 0 */
#define DATA 0x40000u
#define SEED 31
#define CD_SEED 37

struct rig {
	struct fake_irq irq;
	struct machine *m;
	struct pci_host *h;
	struct ahci *ahci;
	uint8_t *ram;
	int gsi;
};

static void cfg_w(struct rig *r, unsigned reg, uint32_t v, unsigned size)
{
	pci_cfg_out(r->m, SLOT, reg, v, size);
}

static uint32_t cfg_r(struct rig *r, unsigned reg, unsigned size)
{
	return pci_cfg_in(r->m, SLOT, reg, size);
}

static uint32_t rd(struct rig *r, unsigned off)
{
	uint64_t v = 0;
	machine_mmio(r->m, ABAR + off, false, &v, 4);
	return v;
}

static void wr(struct rig *r, unsigned off, uint32_t v)
{
	uint64_t x = v;
	machine_mmio(r->m, ABAR + off, true, &x, 4);
}

static unsigned px(unsigned port, unsigned reg) { return 0x100 + 0x80 * port + reg; }

static struct blk *open_img(const char *path, bool ro)
{
	struct blk_open_opts o = { .format = "raw", .readonly = ro, .no_locking = true };
	return blk_open(path, &o);
}

/* Start port p: lists, FIS area, interrupts enabled. */
static void port_start(struct rig *r, unsigned p)
{
	wr(r, px(p, 0x00), CLB + 0x1000 * p);
	wr(r, px(p, 0x08), FB + 0x100 * p);
	wr(r, px(p, 0x14), 0xffffffff);
	wr(r, px(p, 0x18), 0x10);                       /* FRE */
	wr(r, px(p, 0x18), 0x11);                       /* ST */
}

static bool rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	r->m = fake_irq_machine(&r->irq);
	if (!r->m)
		return false;
	r->m->irq_routing = &pc_irq_routing;
	r->gsi = irq_pci_line(&pc_irq_routing, SLOT, 0);
	r->ram = r->m->ram;
	machine_add_memory(r->m, REGION_RAM, 0, 16 * MiB, r->m->ram, "ram");
	r->m->loop = mainloop_new();
	r->h = pci_host_new(r->m);
	const char *disk = blktest_path("ahci-disk.raw"), *iso = blktest_path("ahci-cd.iso");
	if (!r->h || blktest_make_file(disk, DISK_SECTORS * 512, SEED) < 0 ||
	    blktest_make_file(iso, CD_BYTES, CD_SEED) < 0)
		return false;
	r->ahci = ahci_new(r->m, r->h, SLOT);
	struct blk *d = open_img(disk, false), *c = open_img(iso, true);
	if (!r->ahci || !d || !c || ahci_attach(r->ahci, 0, d, false, NULL) < 0 ||
	    ahci_attach(r->ahci, 1, c, true, NULL) < 0)
		return false;
	cfg_w(r, 0x24, ABAR, 4);
	cfg_w(r, 0x04, 0x6, 2);         /* memory, bus master */
	wr(r, 0x04, 0x80000002);        /* AE, IE */
	port_start(r, 0);
	port_start(r, 1);
	return true;
}

static void rig_free(struct rig *r)
{
	struct mainloop *l = r->m->loop;
	machine_free(r->m);
	mainloop_free(l);
}

/* Slot 0 of port p: command fis (H2D), flags (W, A), PRDs. */
static void put_cmd(struct rig *r, unsigned p, uint8_t cmd, uint64_t lba, uint16_t count,
		    uint32_t flags, unsigned prdtl)
{
	uint32_t hdr[8] = { 5 | flags | prdtl << 16, 0, CT, 0 };
	memcpy(r->ram + CLB + 0x1000 * p, hdr, sizeof(hdr));
	uint8_t *f = r->ram + CT;
	memset(f, 0, 0x80);
	f[0] = 0x27;
	f[1] = 0x80;
	f[2] = cmd;
	f[4] = lba;
	f[5] = lba >> 8;
	f[6] = lba >> 16;
	f[7] = 0x40;
	f[8] = lba >> 24;
	f[9] = lba >> 32;
	f[10] = lba >> 40;
	f[12] = count;
	f[13] = count >> 8;
}

static void put_prd(struct rig *r, unsigned i, uint64_t addr, uint32_t bytes)
{
	uint32_t e[4] = { (uint32_t)addr, addr >> 32, 0, bytes - 1 };
	memcpy(r->ram + CT + 0x80 + 16 * i, e, sizeof(e));
}

/* Issue slot 0 of port p and wait until it is done; PxTFD. */
static uint32_t issue(struct rig *r, unsigned p)
{
	wr(r, px(p, 0x10), 0xffffffff);
	wr(r, px(p, 0x38), 1);
	for (int i = 0; i < 2000 && (rd(r, px(p, 0x38)) & 1); i++)
		mainloop_run_once(r->m->loop, 5);
	return rd(r, px(p, 0x38)) & 1 ? 0xffff : rd(r, px(p, 0x20));
}

static uint32_t prdbc(struct rig *r, unsigned p)
{
	uint32_t v;
	memcpy(&v, r->ram + CLB + 0x1000 * p + 4, 4);
	return v;
}

TEST(ahci_registers_and_identify)
{
	struct rig r;
	CHECK(rig_init(&r));
	CHECK_EQ(cfg_r(&r, 0x00, 4), 0x29228086);
	CHECK_EQ(cfg_r(&r, 0x08, 4) >> 8, 0x010601);
	CHECK_EQ(cfg_r(&r, 0x3d, 1), 1);                     /* INTA# */
	CHECK_EQ(rd(&r, 0x00) & 0x1f, 5);                    /* six ports */
	CHECK_EQ(rd(&r, 0x0c), 0x3f);
	CHECK_EQ(rd(&r, 0x10), 0x00010301);
	CHECK_EQ(rd(&r, 0x04), 0x80000002);
	CHECK_EQ(rd(&r, px(0, 0x28)), 0x113);                /* link up */
	CHECK_EQ(rd(&r, px(2, 0x28)), 0);                    /* nothing there */
	CHECK_EQ(rd(&r, px(0, 0x24)), 0x101);                /* ATA signature */
	CHECK_EQ(rd(&r, px(1, 0x24)), 0xeb140101);           /* ATAPI */
	CHECK_EQ(rd(&r, px(0, 0x18)) & 0xc011, 0xc011);      /* ST FRE FR CR */
	/* IDENTIFY DEVICE: 512 bytes through one PRD, a D2H FIS, DHRS, INTx */
	put_cmd(&r, 0, 0xec, 0, 0, 0, 1);
	put_prd(&r, 0, DATA, 512);
	CHECK_EQ(issue(&r, 0) & 0xff89, 0x0000 | 0x00);      /* no BSY/DRQ/ERR */
	CHECK_EQ(prdbc(&r, 0), 512);
	CHECK(!memcmp(r.ram + DATA + 54, "VQ MAHDRIDKS", 12));
	CHECK_EQ(r.ram[FB + 0x40], 0x34);
	CHECK_EQ(r.ram[FB + 0x42] & 0x41, 0x40);            /* DRDY, no ERR */
	CHECK_EQ(rd(&r, px(0, 0x10)) & 1, 1);
	CHECK_EQ(rd(&r, 0x08), 1);
	CHECK(r.irq.level[r.gsi]);
	wr(&r, px(0, 0x10), 1);
	wr(&r, 0x08, 1);
	CHECK_EQ(rd(&r, 0x08), 0);
	CHECK(!r.irq.level[r.gsi]);
	/* the CD-ROM aborts IDENTIFY DEVICE: TFES and DHRS, ERR in TFD */
	put_cmd(&r, 1, 0xec, 0, 0, 0, 1);
	CHECK_EQ(issue(&r, 1) & 0x401, 0x401);
	CHECK_EQ(rd(&r, px(1, 0x10)) & 0x40000001, 0x40000001);
	put_cmd(&r, 1, 0xa1, 0, 0, 0, 1);
	CHECK_EQ(issue(&r, 1) & 0x89, 0);
	CHECK_EQ(r.ram[DATA + 1], 0x85);                     /* ATAPI CD-ROM */
	rig_free(&r);
}

TEST(ahci_dma_read_write_atapi)
{
	struct rig r;
	CHECK(rig_init(&r));
	/* READ DMA EXT of 16 sectors into two PRDs (3 KiB + 5 KiB) */
	memset(r.ram + DATA, 0xee, 0x10000);
	put_cmd(&r, 0, 0x25, 40, 16, 0, 2);
	put_prd(&r, 0, DATA, 3072);
	put_prd(&r, 1, DATA + 0x4000, 5120);
	CHECK_EQ(issue(&r, 0) & 0x89, 0);
	CHECK_EQ(prdbc(&r, 0), 8192);
	uint8_t want[16 * 512];
	blktest_pattern(want, sizeof(want), 40 * 512, SEED);
	CHECK(!memcmp(r.ram + DATA, want, 3072));
	CHECK(!memcmp(r.ram + DATA + 0x4000, want + 3072, 5120));
	CHECK_EQ(r.ram[DATA + 3072], 0xee);
	CHECK_EQ(r.ram[DATA + 0x4000 + 5120], 0xee);
	/* WRITE DMA EXT of 3 sectors (W bit), read back by READ SECTORS (PIO) */
	for (unsigned i = 0; i < 1536; i++)
		r.ram[DATA + i] = i ^ 0x5a;
	put_cmd(&r, 0, 0x35, 3000, 3, 0x40, 1);
	put_prd(&r, 0, DATA, 1536);
	CHECK_EQ(issue(&r, 0) & 0x89, 0);
	put_cmd(&r, 0, 0x20, 3000, 3, 0, 1);
	put_prd(&r, 0, DATA + 0x8000, 1536);
	CHECK_EQ(issue(&r, 0) & 0x89, 0);
	CHECK(!memcmp(r.ram + DATA + 0x8000, r.ram + DATA, 1536));
	/* FLUSH CACHE EXT */
	put_cmd(&r, 0, 0xea, 0, 0, 0, 0);
	CHECK_EQ(issue(&r, 0) & 0x89, 0);
	/* ATAPI READ(10) of 2 blocks from LBA 5 (A bit, the packet at 0x40);
	 * the first command owes UNIT ATTENTION?  Ask TEST UNIT READY first. */
	for (int i = 0; i < 3; i++) {
		put_cmd(&r, 1, 0xa0, 0, 0, 0x20, 0);
		CHECK(issue(&r, 1) != 0xffff);
	}
	put_cmd(&r, 1, 0xa0, 0, 0, 0x20, 1);
	static const uint8_t rd10[12] = { 0x28, 0, 0, 0, 0, 5, 0, 0, 2 };
	memcpy(r.ram + CT + 0x40, rd10, sizeof(rd10));
	r.ram[CT + 3] = 1;                                   /* DMA */
	put_prd(&r, 0, DATA, 4096);
	CHECK_EQ(issue(&r, 1) & 0x89, 0);
	uint8_t cd[4096];
	blktest_pattern(cd, sizeof(cd), 5 * 2048, CD_SEED);
	CHECK(!memcmp(r.ram + DATA, cd, sizeof(cd)));
	CHECK_EQ(prdbc(&r, 1), 4096);
	rig_free(&r);
}

/* Command headers, tables and PRDTs are guest data: outside RAM, too
 * short, or malformed end the command with an error and touch nothing
 * else. */
TEST(ahci_hostile_tables)
{
	struct rig r;
	CHECK(rig_init(&r));
	/* a PRD outside RAM */
	put_cmd(&r, 0, 0x25, 0, 8, 0, 1);
	put_prd(&r, 0, 0xf0000000u, 4096);
	CHECK_EQ(issue(&r, 0) & 0x01, 0x01);
	CHECK(rd(&r, px(0, 0x10)) & 0x40000000);
	/* a 64-bit PRD address far past RAM */
	put_cmd(&r, 0, 0x25, 0, 8, 0, 1);
	put_prd(&r, 0, 0xffffffffffff0000ull, 4096);
	CHECK_EQ(issue(&r, 0) & 0x01, 0x01);
	/* a PRDT shorter than the data: 1 KiB of 4 KiB, then an error */
	memset(r.ram + DATA, 0xee, 0x2000);
	put_cmd(&r, 0, 0x25, 0, 8, 0, 1);
	put_prd(&r, 0, DATA, 1024);
	CHECK_EQ(issue(&r, 0) & 0x01, 0x01);
	CHECK_EQ(r.ram[DATA + 1024], 0xee);
	/* no PRDT at all (PRDTL 0) for a read */
	put_cmd(&r, 0, 0x25, 0, 1, 0, 0);
	CHECK_EQ(issue(&r, 0) & 0x01, 0x01);
	/* a command table outside RAM */
	put_cmd(&r, 0, 0x25, 0, 1, 0, 1);
	uint32_t bad = 0xf0000000u;
	memcpy(r.ram + CLB + 8, &bad, 4);
	CHECK_EQ(issue(&r, 0) & 0x01, 0x01);
	/* a FIS that is not an H2D register FIS, and one too short */
	put_cmd(&r, 0, 0xec, 0, 0, 0, 1);
	put_prd(&r, 0, DATA, 512);
	r.ram[CT] = 0x34;
	CHECK_EQ(issue(&r, 0) & 0x01, 0x01);
	put_cmd(&r, 0, 0xec, 0, 0, 0, 1);
	r.ram[CLB] = 2;                                      /* CFL 2 dwords */
	CHECK_EQ(issue(&r, 0) & 0x01, 0x01);
	/* a command list outside RAM */
	wr(&r, px(0, 0x18), 0x10);
	wr(&r, px(0, 0x00), 0xfff00000u);
	wr(&r, px(0, 0x18), 0x11);
	CHECK_EQ(issue(&r, 0) & 0x01, 0x01);
	wr(&r, px(0, 0x18), 0x10);
	wr(&r, px(0, 0x00), CLB);
	wr(&r, px(0, 0x18), 0x11);
	/* the largest PRDTL, of 1-byte entries (DBC 0) at address 0: 4 KiB
	 * take 4096 of them, then the command ends */
	put_cmd(&r, 0, 0x25, 0, 8, 0, 0xffff);
	memset(r.ram + CT + 0x80, 0, 16 * 0x10000);
	CHECK_EQ(issue(&r, 0) & 0x89, 0);
	CHECK_EQ(prdbc(&r, 0), 4096);
	/* a PRDT that runs past the end of RAM */
	wr(&r, px(0, 0x18), 0x10);
	put_cmd(&r, 0, 0x25, 0, 8, 0, 0xffff);
	uint32_t ct_end = 16 * MiB - 0x100;  /* room for 8 PRDs */
	memcpy(r.ram + CLB + 8, &ct_end, 4);
	memset(r.ram + ct_end, 0, 0x100);
	r.ram[ct_end] = 0x27;
	r.ram[ct_end + 1] = 0x80;
	r.ram[ct_end + 2] = 0x25;
	r.ram[ct_end + 7] = 0x40;
	r.ram[ct_end + 12] = 8;
	wr(&r, px(0, 0x18), 0x11);
	CHECK_EQ(issue(&r, 0) & 0x01, 0x01);
	CHECK_EQ(prdbc(&r, 0), 8);
	/* after all that, a good command still works */
	put_cmd(&r, 0, 0xec, 0, 0, 0, 1);
	put_prd(&r, 0, DATA, 512);
	CHECK_EQ(issue(&r, 0) & 0x89, 0);
	rig_free(&r);
}

TEST(ahci_port_stop_and_resets)
{
	struct rig r;
	CHECK(rig_init(&r));
	/* CI is ignored while the port is stopped; clearing ST clears CI */
	wr(&r, px(0, 0x18), 0x10);
	CHECK_EQ(rd(&r, px(0, 0x18)) & 0x8001, 0);           /* not running */
	wr(&r, px(0, 0x38), 1);
	CHECK_EQ(rd(&r, px(0, 0x38)), 0);
	/* an in-flight read abandoned by clearing ST */
	wr(&r, px(0, 0x18), 0x11);
	put_cmd(&r, 0, 0x25, 0, 64, 0, 1);
	put_prd(&r, 0, DATA, 32768);
	wr(&r, px(0, 0x38), 1);
	wr(&r, px(0, 0x18), 0x10);
	CHECK_EQ(rd(&r, px(0, 0x38)), 0);
	for (int i = 0; i < 50; i++)
		mainloop_run_once(r.m->loop, 5);
	wr(&r, px(0, 0x18), 0x11);
	put_cmd(&r, 0, 0xec, 0, 0, 0, 1);
	put_prd(&r, 0, DATA, 512);
	CHECK_EQ(issue(&r, 0) & 0x89, 0);
	/* COMRESET: DET 1 drops the link, DET 0 brings the signature back */
	wr(&r, px(0, 0x2c), 1);
	CHECK_EQ(rd(&r, px(0, 0x28)), 0);
	wr(&r, px(0, 0x2c), 0);
	CHECK_EQ(rd(&r, px(0, 0x28)), 0x113);
	CHECK_EQ(rd(&r, px(0, 0x24)), 0x101);
	CHECK_EQ(rd(&r, px(0, 0x20)) & 0x80, 0);
	/* GHC.HR: ports stopped, registers cleared, IE off */
	wr(&r, 0x04, 1);
	CHECK_EQ(rd(&r, 0x04), 0x80000000);
	CHECK_EQ(rd(&r, px(0, 0x18)) & 0xc011, 0);
	CHECK_EQ(rd(&r, px(0, 0x00)), 0);
	CHECK_EQ(rd(&r, px(1, 0x24)), 0xeb140101);
	CHECK(!r.irq.level[r.gsi]);
	rig_free(&r);
}

/* Registers and drive state move to a second machine (savevm/migration). */
TEST(ahci_save_load)
{
	struct rig a, b;
	CHECK(rig_init(&a));
	put_cmd(&a, 0, 0xec, 0, 0, 0, 1);
	put_prd(&a, 0, DATA, 512);
	CHECK_EQ(issue(&a, 0) & 0x89, 0);               /* leaves DHRS pending */
	CHECK(a.irq.level[a.gsi]);
	CHECK(rig_init(&b));
	wr(&b, 0x04, 0);
	CHECK_EQ(copy_device_state(a.m, b.m), 0);
	for (unsigned reg = 0; reg < 0x40; reg += 4)
		if (reg != 0x28)                        /* SSTS follows the drive */
			CHECK_EQ(rd(&b, px(0, reg)), rd(&a, px(0, reg)));
	CHECK_EQ(rd(&b, 0x04), 0x80000002);
	CHECK_EQ(rd(&b, 0x08), 1);
	CHECK(b.irq.level[b.gsi]);
	/* the loaded port runs commands (the tables are b's own RAM) */
	memcpy(b.ram + CLB, a.ram + CLB, 0x1000);
	put_cmd(&b, 0, 0x25, 7, 1, 0, 1);
	put_prd(&b, 0, DATA, 512);
	CHECK_EQ(issue(&b, 0) & 0x89, 0);
	uint8_t want[512];
	blktest_pattern(want, sizeof(want), 7 * 512, SEED);
	CHECK(!memcmp(b.ram + DATA, want, 512));
	rig_free(&a);
	rig_free(&b);
}

/* One ATAPI packet on port 1 (the CD-ROM), data (if len) by DMA into
 * DATA; PxTFD: ERR in bit 0, the sense key in bits 15:12 (the error
 * register's high nibble). */
static uint32_t packet1(struct rig *r, const uint8_t pkt[12], uint32_t len)
{
	put_cmd(r, 1, 0xa0, 0, 0, 0x20, len ? 1 : 0);
	memcpy(r->ram + CT + 0x40, pkt, 12);
	r->ram[CT + 3] = len ? 1 : 0;                     /* features: DMA */
	if (len)
		put_prd(r, 0, DATA, len);
	return issue(r, 1);
}

struct lines {
	char text[4096];
};

static void collect(void *opaque, const char *text)
{
	struct lines *l = opaque;
	size_t n = strlen(l->text);
	snprintf(l->text + n, sizeof(l->text) - n, "%s", text);
}

/* The monitor's eject, change and info block on the AHCI ports (the
 * board finds the port by the drive's name): a medium out and in as on
 * IDE, the guest seeing it through its ATAPI commands over AHCI. */
TEST(ahci_monitor_media)
{
	struct rig r;
	CHECK(rig_init(&r));
	char err[256];
	CHECK(ahci_drive_ctrl(r.ahci, "ahci-cd1") != NULL);
	CHECK(ahci_drive_ctrl(r.ahci, "ahci-hd0") != NULL);
	CHECK(ahci_drive_ctrl(r.ahci, "ahci-cd0") == NULL);
	CHECK(ahci_drive_ctrl(r.ahci, "ide1-cd0") == NULL);
	CHECK(ahci_drive_ctrl(NULL, "ahci-cd1") == NULL);
	struct lines l = { "" };
	ahci_info_block(r.ahci, collect, &l);
	CHECK(strstr(l.text, "ahci-hd0: "));
	CHECK(strstr(l.text, "Attached to:      ahci port 0\n"));
	CHECK(strstr(l.text, "ahci-cd1: "));
	CHECK(strstr(l.text, "(raw, read-only)\n    Attached to:      ahci port 1\n"
		      "    Removable device: not locked, tray closed\n"));
	struct ide_ctrl *cd = ahci_drive_ctrl(r.ahci, "ahci-cd1");
	CHECK(ide_eject(ahci_drive_ctrl(r.ahci, "ahci-hd0"), "ahci-hd0", false, err,
			sizeof(err)) < 0);
	CHECK(strstr(err, "not removable"));
	/* the guest's first commands see the power-on UNIT ATTENTION */
	static const uint8_t tur[12] = { 0 };
	for (int i = 0; i < 3; i++)
		packet1(&r, tur, 0);
	CHECK_EQ(packet1(&r, tur, 0) & 0x01, 0);
	/* eject: NOT READY */
	CHECK_EQ(ide_eject(cd, "ahci-cd1", false, err, sizeof(err)), 0);
	uint32_t tfd = packet1(&r, tur, 0);
	CHECK_EQ(tfd & 0x01, 0x01);
	CHECK_EQ(tfd >> 12 & 0xf, 2);
	l.text[0] = 0;
	ahci_info_block(r.ahci, collect, &l);
	CHECK(strstr(l.text, "ahci-cd1: [not inserted]\n    Attached to:      ahci port 1\n"
		      "    Removable device: not locked, tray open\n"));
	/* change: UNIT ATTENTION once, then the new disc's blocks */
	const char *iso2 = blktest_path("ahci-cd2.iso");
	CHECK(blktest_make_file(iso2, CD_BYTES, CD_SEED + 1) == 0);
	blktest_stderr_begin();
	int bad = ide_change(cd, "ahci-cd1", "/nonexistent.iso", err, sizeof(err));
	int lines;
	blktest_stderr_end(&lines);
	CHECK(bad < 0);
	CHECK_EQ(lines, 1);
	CHECK(strstr(err, "could not open"));
	CHECK_EQ(ide_change(cd, "ahci-cd1", iso2, err, sizeof(err)), 0);
	tfd = packet1(&r, tur, 0);
	CHECK_EQ(tfd & 0x01, 0x01);
	CHECK_EQ(tfd >> 12 & 0xf, 6);
	CHECK_EQ(packet1(&r, tur, 0) & 0x01, 0);
	static const uint8_t rd10[12] = { 0x28, 0, 0, 0, 0, 3, 0, 0, 1 };
	CHECK_EQ(packet1(&r, rd10, 2048) & 0x89, 0);
	uint8_t want[2048];
	blktest_pattern(want, sizeof(want), 3 * 2048, CD_SEED + 1);
	CHECK(!memcmp(r.ram + DATA, want, sizeof(want)));
	/* locked by the guest: eject refused unless forced */
	static const uint8_t lock[12] = { 0x1e, 0, 0, 0, 1 };
	CHECK_EQ(packet1(&r, lock, 0) & 0x01, 0);
	CHECK(ide_eject(cd, "ahci-cd1", false, err, sizeof(err)) < 0);
	CHECK(strstr(err, "locked"));
	CHECK_EQ(ide_eject(cd, "ahci-cd1", true, err, sizeof(err)), 0);
	CHECK_EQ(packet1(&r, tur, 0) & 0x01, 0x01);
	rig_free(&r);
}
