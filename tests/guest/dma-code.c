/* dma-code.elf: multiboot, with a virtio-blk disk (-drive
 * file=IMG,format=raw,if=virtio) whose sector 0 starts with the code
 * "mov $0x600dc0de, %eax; ret" and sector 1 with "mov $0x5ec0de01, %eax;
 * ret" (tests/guest/run makes it).  The guest runs code it wrote into a
 * page, then reads sectors over that code with the device's DMA and
 * jumps to it: the new code must run (an emulator must not keep running
 * what it decoded from the page before).  Twice: the whole page (8
 * sectors), then one sector in the middle of the page. */
#include "guest.h"

#define OLD_ANSWER	0x0badc0deu
#define DISK_ANSWER0	0x600dc0deu	/* sector 0 */
#define DISK_ANSWER1	0x5ec0de01u	/* sector 1 */

static uint8_t code_page[4096] __attribute__((aligned(4096)));
static uint8_t ring[3 * 4096] __attribute__((aligned(4096)));

/* "mov $v, %eax; ret" at p, written by the CPU */
static void write_code(uint8_t *p, uint32_t v)
{
	p[0] = 0xb8;
	memcpy(p + 1, &v, 4);
	p[5] = 0xc3;
}

/* Call the code at p several times, so that an emulator has cached it. */
static uint32_t run_code(uint8_t *p)
{
	uint32_t (*volatile fn)(void) = (uint32_t (*)(void))p;
	uint32_t v = 0;
	for (int i = 0; i < 50; i++)
		v = fn();
	return v;
}

static void round_trip(struct virtq *q, unsigned off, uint64_t sector, uint32_t len,
		       uint32_t want)
{
	write_code(code_page + off, OLD_ANSWER);
	uint32_t v = run_code(code_page + off);
	check(v == OLD_ANSWER, "code at +0x%x written by the guest runs (0x%x)", off, v);
	int st = virtio_blk_read(q, sector, code_page + off, len);
	check(st == 0, "read of %u bytes from sector %u over it: status %d", len,
	      (unsigned)sector, st);
	uint32_t imm;
	memcpy(&imm, code_page + off + 1, 4);
	check(code_page[off] == 0xb8 && imm == want, "the disk's code is in memory (%x %x)",
	      code_page[off], imm);
	v = run_code(code_page + off);
	printk("dma-code: +0x%x runs %s (0x%x)\n", off,
	       v == want ? "the code read from the disk" : v == OLD_ANSWER ? "the old code" : "neither", v);
	check(v == want, "after the read the code from the disk runs");
}

int main(void)
{
	struct virtio_dev dev;
	struct virtq q;
	const char *err;
	test_name = "dma-code";
	if ((err = virtio_pci_find(&dev, 2)) || (err = virtio_negotiate(&dev, VIRTIO_F_VERSION_1)) ||
	    (err = virtio_queue_up(&dev, &q, 0, ring, 8))) {
		check(false, "virtio-blk: %s", err);
		test_done();
	}
	note("virtio-blk at 00:%02x.%x, queue of %u", dev.pci.slot, dev.pci.fn, q.size);
	round_trip(&q, 0, 0, 4096, DISK_ANSWER0);
	round_trip(&q, 0x600, 1, 512, DISK_ANSWER1);
	test_done();
}
