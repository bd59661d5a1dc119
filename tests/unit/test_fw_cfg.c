/* fw_cfg (user/hw/fw_cfg.c) and the ACPI blob its table loader carries
 * (user/pc/tables.c): the ports, the directory, DMA and bad descriptors. */
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "bytes.h"
#include "config.h"
#include "machine.h"
#include "hw/fw_cfg.h"
#include "hw/hw.h"
#include "pc/pc.h"

#define RAM (16 << 20)
#define DESC 0x1000      /* where the tests put DMA access structures */
#define BUF 0x2000       /* and the buffers they name */

static struct machine *fw_machine(struct fw_cfg **f)
{
	struct machine *m = machine_new(RAM);
	if (!m || machine_add_memory(m, REGION_RAM, 0, RAM, m->ram, "ram") < 0)
		return NULL;
	*f = fw_cfg_new(m);
	return *f ? m : NULL;
}

static void select_key(struct machine *m, uint16_t key)
{
	uint64_t v = key;
	machine_pio(m, FW_CFG_PORT_SEL, true, &v, 2);
}

static uint8_t data(struct machine *m)
{
	uint64_t v = 0;
	machine_pio(m, FW_CFG_PORT_DATA, false, &v, 1);
	return v;
}

static void read_item(struct machine *m, uint16_t key, uint8_t *out, unsigned n)
{
	select_key(m, key);
	for (unsigned i = 0; i < n; i++)
		out[i] = data(m);
}

/* Write the access structure at DESC and start it the way SeaBIOS does:
 * the big-endian address's low half through 0x518 as a 32-bit OUT. */
static uint32_t dma(struct machine *m, uint32_t control, uint32_t len, uint64_t addr)
{
	uint8_t acc[16];
	wr32(acc, htobe32(control));
	wr32(acc + 4, htobe32(len));
	wr64(acc + 8, htobe64(addr));
	guest_write(m, DESC, acc, sizeof(acc));
	uint64_t v = htobe32(DESC);
	machine_pio(m, FW_CFG_PORT_DMA + 4, true, &v, 4);
	guest_read(m, DESC, acc, 4);
	return be32toh(rd32(acc));
}

TEST(fw_cfg_signature_and_id)
{
	struct fw_cfg *f;
	struct machine *m = fw_machine(&f);
	CHECK(m);
	uint8_t sig[5] = { 0 }, id[4];
	read_item(m, FW_CFG_SIGNATURE, sig, 4);
	CHECK(!strcmp((char *)sig, "QEMU"));
	read_item(m, FW_CFG_ID, id, 4);
	CHECK_EQ(rd32(id), FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);
	/* past the end: zeros; a new selection starts over */
	CHECK_EQ(data(m), 0);
	select_key(m, FW_CFG_SIGNATURE);
	CHECK_EQ(data(m), 'Q');
	/* an unknown key reads zeros */
	select_key(m, 0x7fff);
	CHECK_EQ(data(m), 0);
	/* the DMA port reads "QEMU CFG" in memory order */
	uint8_t dsig[8];
	for (unsigned i = 0; i < 8; i++) {
		uint64_t v = 0;
		machine_pio(m, FW_CFG_PORT_DMA + i, false, &v, 1);
		dsig[i] = v;
	}
	CHECK(!memcmp(dsig, "QEMU CFG", 8));
	machine_free(m);
}

TEST(fw_cfg_file_directory)
{
	struct fw_cfg *f;
	struct machine *m = fw_machine(&f);
	CHECK(m);
	CHECK_EQ(fw_cfg_add_file(f, "etc/zeta", "zz", 2), 0);
	CHECK_EQ(fw_cfg_add_file(f, "etc/alpha", "hello", 5), 0);
	CHECK_EQ(fw_cfg_add_file(f, "etc/alpha", "hello!", 6), 0);   /* replaced */
	char longname[FW_CFG_NAME_MAX + 1];
	memset(longname, 'x', FW_CFG_NAME_MAX);
	longname[FW_CFG_NAME_MAX] = 0;
	CHECK_EQ(fw_cfg_add_file(f, longname, "", 0), -1);
	uint8_t dir[4 + 2 * 64];
	read_item(m, FW_CFG_FILE_DIR, dir, sizeof(dir));
	CHECK_EQ(be32toh(rd32(dir)), 2);
	const uint8_t *e0 = dir + 4, *e1 = dir + 4 + 64;
	CHECK(!strcmp((const char *)e0 + 8, "etc/alpha"));       /* sorted */
	CHECK(!strcmp((const char *)e1 + 8, "etc/zeta"));
	CHECK_EQ(be32toh(rd32(e0)), 6);
	CHECK_EQ(be32toh(rd32(e1)), 2);
	uint16_t key = be16toh(rd16(e0 + 4));
	CHECK(key >= FW_CFG_FILE_FIRST);
	uint8_t got[7];
	read_item(m, key, got, 7);
	CHECK(!memcmp(got, "hello!\0", 7));
	machine_free(m);
}

TEST(fw_cfg_dma_read_skip_select)
{
	struct fw_cfg *f;
	struct machine *m = fw_machine(&f);
	CHECK(m);
	CHECK_EQ(fw_cfg_add_file(f, "etc/data", "0123456789", 10), 0);
	uint32_t len;
	CHECK(fw_cfg_find_file(f, "etc/data", &len) && len == 10);
	uint8_t dir[4 + 64];
	read_item(m, FW_CFG_FILE_DIR, dir, sizeof(dir));
	uint16_t key = be16toh(rd16(dir + 8));
	uint8_t buf[16];
	memset(buf, 0xaa, sizeof(buf));
	guest_write(m, BUF, buf, sizeof(buf));
	/* select and read 4, skip 2, read 6: the last two past the end are 0 */
	CHECK_EQ(dma(m, (uint32_t)key << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 4, BUF), 0);
	CHECK_EQ(dma(m, FW_CFG_DMA_SKIP, 2, 0), 0);
	CHECK_EQ(dma(m, FW_CFG_DMA_READ, 6, BUF + 4), 0);
	guest_read(m, BUF, buf, sizeof(buf));
	CHECK(!memcmp(buf, "01236789\0\0", 10));
	CHECK_EQ(buf[10], 0xaa);                       /* nothing past len */
	/* the data port continues where DMA left off: at the end */
	CHECK_EQ(data(m), 0);
	/* an 8-byte write at 0x514 starts a transfer too */
	uint8_t acc[16];
	wr32(acc, htobe32((uint32_t)FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_SELECT |
			  FW_CFG_DMA_READ));
	wr32(acc + 4, htobe32(4));
	wr64(acc + 8, htobe64(BUF));
	guest_write(m, DESC, acc, sizeof(acc));
	uint64_t v = htobe64(DESC);
	machine_pio(m, FW_CFG_PORT_DMA, true, &v, 8);
	guest_read(m, BUF, buf, 4);
	CHECK(!memcmp(buf, "QEMU", 4));
	guest_read(m, DESC, acc, 4);
	CHECK_EQ(rd32(acc), 0);
	machine_free(m);
}

/* Guest-controlled descriptors: nothing outside RAM is written, the
 * transfer ends with ERROR, and the device keeps working. */
TEST(fw_cfg_dma_bad_descriptors)
{
	struct fw_cfg *f;
	struct machine *m = fw_machine(&f);
	CHECK(m);
	uint32_t sel = (uint32_t)FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_SELECT;
	/* a buffer past the end of RAM, straddling it, or wrapping */
	CHECK_EQ(dma(m, sel | FW_CFG_DMA_READ, 4, 0xfee00000), FW_CFG_DMA_ERROR);
	CHECK_EQ(dma(m, sel | FW_CFG_DMA_READ, 8, RAM - 4), FW_CFG_DMA_ERROR);
	CHECK_EQ(dma(m, sel | FW_CFG_DMA_READ, 0x100, 0xffffffffffffff80ULL), FW_CFG_DMA_ERROR);
	/* a huge zero fill past the item, beyond RAM */
	CHECK_EQ(dma(m, sel | FW_CFG_DMA_READ, 0xffffffff, BUF), FW_CFG_DMA_ERROR);
	/* items are read-only */
	CHECK_EQ(dma(m, sel | FW_CFG_DMA_WRITE, 4, BUF), FW_CFG_DMA_ERROR);
	/* the access structure itself outside RAM: ignored, no crash */
	uint64_t v = htobe32(0xfffffff8u);
	machine_pio(m, FW_CFG_PORT_DMA + 4, true, &v, 4);
	v = htobe32(0x12345678u);                      /* high half, then low */
	machine_pio(m, FW_CFG_PORT_DMA, true, &v, 4);
	v = htobe32(DESC);
	machine_pio(m, FW_CFG_PORT_DMA + 4, true, &v, 4);
	/* still works */
	CHECK_EQ(dma(m, sel | FW_CFG_DMA_READ, 4, BUF), 0);
	uint8_t buf[4];
	guest_read(m, BUF, buf, 4);
	CHECK(!memcmp(buf, "QEMU", 4));
	machine_free(m);
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

/* Run the blob's fixups as the loader does, with the tables at `at` and
 * the RSDP anywhere: every checksum holds and the pointers land on
 * the tables they name. */
TEST(fw_cfg_acpi_blob_relocates)
{
	struct config c;
	memset(&c, 0, sizeof(c));
	c.smp_cpus = c.smp_max_cpus = c.sockets = 2;
	c.cores = c.threads = 1;
	struct machine *m = machine_new(64 << 20);
	CHECK(m);
	m->cfg = &c;
	struct acpi_blob b;
	CHECK_EQ(pc_acpi_blob(m, &b), 0);
	const uint64_t at = 0x7fe0000;
	for (unsigned i = 0; i < b.nr_ptrs; i++) {
		uint8_t *p = b.tables + b.ptrs[i].offset;
		CHECK(b.ptrs[i].offset + b.ptrs[i].size <= b.tables_len);
		if (b.ptrs[i].size == 4)
			wr32(p, rd32(p) + at);
		else
			wr64(p, rd64(p) + at);
	}
	wr32(b.rsdp + 16, rd32(b.rsdp + 16) + at);
	wr64(b.rsdp + 24, rd64(b.rsdp + 24) + at);
	for (unsigned i = 0; i < b.nr_sums; i++) {
		CHECK(b.sums[i].start + b.sums[i].len <= b.tables_len);
		b.tables[b.sums[i].offset] -= sum8(b.tables + b.sums[i].start, b.sums[i].len);
	}
	b.rsdp[8] -= sum8(b.rsdp, 20);
	b.rsdp[32] -= sum8(b.rsdp, 36);
	CHECK(!memcmp(b.rsdp, "RSD PTR ", 8));
	CHECK_EQ(sum8(b.rsdp, 36), 0);
	uint64_t xsdt = rd64(b.rsdp + 24) - at;
	CHECK(xsdt < b.tables_len && !memcmp(b.tables + xsdt, "XSDT", 4));
	CHECK_EQ(sum8(b.tables + xsdt, rd32(b.tables + xsdt + 4)), 0);
	uint64_t fadt = rd64(b.tables + xsdt + 36) - at;
	CHECK(fadt < b.tables_len && !memcmp(b.tables + fadt, "FACP", 4));
	CHECK_EQ(sum8(b.tables + fadt, rd32(b.tables + fadt + 4)), 0);
	uint64_t dsdt = rd64(b.tables + fadt + 140) - at;
	CHECK(!memcmp(b.tables + dsdt, "DSDT", 4));
	CHECK_EQ(rd32(b.tables + fadt + 40) - at, dsdt);
	CHECK_EQ(sum8(b.tables + dsdt, rd32(b.tables + dsdt + 4)), 0);
	CHECK(!memcmp(b.tables + rd32(b.tables + fadt + 36) - at, "FACS", 4));
	uint64_t madt = rd64(b.tables + xsdt + 44) - at;
	CHECK(!memcmp(b.tables + madt, "APIC", 4));
	CHECK_EQ(sum8(b.tables + madt, rd32(b.tables + madt + 4)), 0);
	uint64_t rsdt = rd32(b.rsdp + 16) - at;
	CHECK(!memcmp(b.tables + rsdt, "RSDT", 4));
	CHECK_EQ(sum8(b.tables + rsdt, rd32(b.tables + rsdt + 4)), 0);
	CHECK_EQ(rd32(b.tables + rsdt + 36) - at, fadt);
	free(b.tables);
	machine_free(m);
}

/* -boot letters as SeaBIOS reads them on QEMU: 0x3d the first two
 * (1 floppy, 2 disk, 3 CD, 4 network), 0x38's high nibble the third. */
TEST(fw_cfg_cmos_boot_order)
{
	struct machine *m = machine_new(RAM);
	CHECK(m);
	struct rtc *r = rtc_new(m, 8);
	CHECK(r);
	pc_cmos_boot_order(r, "cad");
	CHECK_EQ(rtc_get_cmos(r, 0x3d), 0x12);
	CHECK_EQ(rtc_get_cmos(r, 0x38), 0x30);
	pc_cmos_boot_order(r, "n");
	CHECK_EQ(rtc_get_cmos(r, 0x3d), 0x04);
	CHECK_EQ(rtc_get_cmos(r, 0x38), 0x00);
	pc_cmos_boot_order(r, "dcb");
	CHECK_EQ(rtc_get_cmos(r, 0x3d), 0x23);
	CHECK_EQ(rtc_get_cmos(r, 0x38), 0x10);
	machine_free(m);
}

static uint32_t item32(struct machine *m, uint16_t key)
{
	uint8_t b[4];
	read_item(m, key, b, 4);
	return rd32(b);
}

/* -kernel with -bios (pc/boot/linuxboot.c): a made-up bzImage (protocol
 * 2.15, 4 setup sectors) becomes the items the option ROM reads, its
 * setup header filled in as the boot protocol asks; the DATA items carry
 * the file's two parts and the command line; a kernel that would not fit
 * and a real-mode part too big for the heap are refused. */
TEST(fw_cfg_linux_kernel_items)
{
	struct fw_cfg *f;
	struct machine *m = fw_machine(&f);
	CHECK(m);
	struct config c = { .kernel = "bz", .append = "console=ttyS0 x=1" };
	m->cfg = &c;
	size_t size = 5 * 512 + 4096;
	uint8_t *k = calloc(1, 201 * 512 + 4096);
	k[0x1f1] = 4;                           /* setup_sects */
	wr32(k + 0x1f4, 4096 / 16);             /* syssize */
	wr16(k + 0x1fe, 0xaa55);
	k[0x201] = 0x6a;                        /* the jump: header to 0x26c */
	memcpy(k + 0x202, "HdrS", 4);
	wr16(k + 0x206, 0x020f);
	k[0x211] = 0x01;                        /* LOADED_HIGH */
	wr32(k + 0x22c, 0x7fffffff);            /* initrd_addr_max */
	wr32(k + 0x238, 255);                   /* cmdline_size */
	wr64(k + 0x258, 0x100000);              /* pref_address */
	wr32(k + 0x260, 0x10000);               /* init_size */
	for (unsigned i = 0; i < 4096; i++)
		k[5 * 512 + i] = i * 7;
	CHECK(linux_fw_cfg_load(m, f, k, size) == 0);
	CHECK_EQ(item32(m, FW_CFG_SETUP_ADDR), 0x10000);
	CHECK_EQ(item32(m, FW_CFG_SETUP_SIZE), 5 * 512);
	CHECK_EQ(item32(m, FW_CFG_KERNEL_ADDR), 0x100000);
	CHECK_EQ(item32(m, FW_CFG_KERNEL_SIZE), 4096);
	CHECK_EQ(item32(m, FW_CFG_CMDLINE_ADDR), 0x20000);
	CHECK_EQ(item32(m, FW_CFG_CMDLINE_SIZE), strlen(c.append) + 1);
	CHECK_EQ(item32(m, FW_CFG_INITRD_SIZE), 0);
	uint8_t setup[5 * 512], cmd[32], pm[4096];
	read_item(m, FW_CFG_SETUP_DATA, setup, sizeof(setup));
	CHECK_EQ(setup[0x210], 0xff);           /* type_of_loader */
	CHECK_EQ(setup[0x211], 0x81);           /* LOADED_HIGH | CAN_USE_HEAP */
	CHECK_EQ(rd16(setup + 0x224), 0xfc00);  /* heap_end_ptr */
	CHECK_EQ(rd32(setup + 0x228), 0x20000); /* cmd_line_ptr */
	CHECK_EQ(rd32(setup + 0x214), 0x100000);
	read_item(m, FW_CFG_CMDLINE_DATA, cmd, strlen(c.append) + 1);
	CHECK(!strcmp((char *)cmd, c.append));
	read_item(m, FW_CFG_KERNEL_DATA, pm, sizeof(pm));
	CHECK(!memcmp(pm, k + 5 * 512, sizeof(pm)));
	c.append = "this is longer than the kernel's cmdline_size of 8";
	wr32(k + 0x238, 8);
	CHECK(linux_fw_cfg_load(m, f, k, size) < 0);
	wr32(k + 0x238, 255);
	k[0x1f1] = 200;                         /* 100 KiB of real-mode code */
	CHECK(linux_fw_cfg_load(m, f, k, 201 * 512 + 4096) < 0);
	free(k);
	machine_free(m);
}
