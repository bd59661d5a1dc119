/*
 * libFuzzer target for the IDE controller (user/hw/ide*.c, ata.c,
 * atapi.c): a guest's port accesses.  The input's first 512 bytes are
 * guest RAM at 0 (where PRD tables and DMA buffers may point, or not);
 * then 4-byte records drive the ports: byte 0 picks the register (the
 * task file of either channel, the control registers, the bus-master
 * registers) and the access width and direction, bytes 1-3 the value.
 * A 1 MiB raw disk sits at ide0 master, a 256 KiB "CD" at ide1 master;
 * requests run inline (no main loop).  Whatever the sequence, nothing may
 * crash, hang or touch host memory outside guest RAM and the
 * controller's buffers (ASan, UBSan).
 *
 * Linked with the block layer, the machine's memory and port map, the
 * PCI host and the IDE files (tests/fuzz/fuzz.mk).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "block/block.h"
#include "cpu.h"
#include "hw/hw.h"
#include "machine.h"

#define RAM (1u << 20)

/* machine.c's run control wants vCPUs; this machine has none */
void vcpu_kick(struct vcpu *v)
{
	(void)v;
}

struct vcpu *vcpu_current(void)
{
	return NULL;
}

#define BM 0xc000
static char disk_path[64], cd_path[64];

static int make_file(char *path, size_t len, const char *name)
{
	snprintf(path, 64, "/tmp/qvm-fuzz-ide-%d-%s", (int)getpid(), name);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	for (size_t i = 0; i < len; i++)
		fputc((int)(i * 31 + (i >> 9)), f);
	fclose(f);
	return 0;
}

static void cleanup(void)
{
	unlink(disk_path);
	unlink(cd_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if (make_file(disk_path, 1u << 20, "disk") < 0 || make_file(cd_path, 256u << 10, "cd") < 0)
		abort();
	atexit(cleanup);
	return 0;
}

static struct blk *open_img(const char *path, bool ro)
{
	struct blk_open_opts o = { .format = "raw", .readonly = ro, .no_locking = true };
	return blk_open(path, &o);
}

static const uint16_t ports[24] = {
	0x1f0, 0x1f1, 0x1f2, 0x1f3, 0x1f4, 0x1f5, 0x1f6, 0x1f7, 0x3f6,
	0x170, 0x171, 0x172, 0x173, 0x174, 0x175, 0x176, 0x177, 0x376,
	BM, BM + 2, BM + 4, BM + 8, BM + 10, BM + 12,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct machine *m = machine_new(RAM);
	if (!m)
		return 0;
	machine_add_memory(m, REGION_RAM, 0, RAM, m->ram, "ram");
	struct pci_host *h = pci_host_new(m);
	struct ide_ctrl *c = h ? ide_new(m, h, 1, 1) : NULL;
	if (!c || ide_attach(c, 0, 0, open_img(disk_path, false), false, NULL) < 0 ||
	    ide_attach(c, 1, 0, open_img(cd_path, true), true, NULL) < 0)
		abort();
	/* BAR4 at BM, I/O and bus master on (as firmware leaves it) */
	uint64_t v = 0x80000000u | 1 << 11 | 1 << 8 | 0x20;
	machine_pio(m, 0xcf8, true, &v, 4);
	v = BM | 1;
	machine_pio(m, 0xcfc, true, &v, 4);
	v = 0x80000000u | 1 << 11 | 1 << 8 | 0x04;
	machine_pio(m, 0xcf8, true, &v, 4);
	v = 5;
	machine_pio(m, 0xcfc, true, &v, 2);
	size_t head = size < 512 ? size : 512;
	memcpy(m->ram, data, head);
	for (size_t i = head; i + 4 <= size; i += 4) {
		uint8_t op = data[i];
		uint16_t port = ports[(op & 31) % 24];
		static const unsigned widths[4] = { 1, 2, 4, 1 };
		unsigned width = widths[op >> 5 & 3];
		uint64_t val = data[i + 1] | data[i + 2] << 8 | (uint32_t)data[i + 3] << 16;
		machine_pio(m, port, op & 0x80, &val, width);
	}
	machine_free(m);
	return 0;
}
