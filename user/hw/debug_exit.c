/*
 * isa-debug-exit, QEMU's test device: writing value v to its port ends
 * qvm with exit status (v << 1) | 1, so a test guest can report any status
 * but 0 (a clean power-off stays distinguishable).  v is the value of the
 * access at its width; the process exit status keeps its low 8 bits.
 * Reads return all ones.
 */
#include <stdlib.h>
#include "machine.h"
#include "hw.h"

struct debug_exit {
	struct machine *m;
	uint16_t iobase, iosize;
};

static uint64_t debug_exit_io_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static void debug_exit_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct debug_exit *d = opaque;
	(void)offset;
	if (size < 8)
		value &= (1ULL << (size * 8)) - 1;
	int status = (int)(((uint32_t)value << 1) | 1);
	qvm_log(LOG_INT, "debug-exit: guest wrote 0x%llx, exit status %d",
		(unsigned long long)value, status & 0xff);
	machine_request(d->m, REQ_SHUTDOWN, status);
}

static const struct io_ops debug_exit_io_ops = {
	.read = debug_exit_io_read,
	.write = debug_exit_io_write,
};

static void debug_exit_destroy(void *dev)
{
	free(dev);
}

/* Nothing to reset or save: the device has no state. */
static const struct device_ops debug_exit_device_ops = {
	.name = "debug-exit",
	.destroy = debug_exit_destroy,
};

struct debug_exit *debug_exit_new(struct machine *m, uint16_t iobase, uint16_t iosize)
{
	if (iosize != 1 && iosize != 2 && iosize != 4) {
		qvm_error("isa-debug-exit: iosize must be 1, 2 or 4, not %u", iosize);
		return NULL;
	}
	struct debug_exit *d = calloc(1, sizeof(*d));
	if (!d) {
		qvm_error("isa-debug-exit: out of memory");
		return NULL;
	}
	d->m = m;
	d->iobase = iobase;
	d->iosize = iosize;
	if (machine_add_pio(m, iobase, iosize, &debug_exit_io_ops, d, "isa-debug-exit") < 0) {
		free(d);
		return NULL;
	}
	machine_add_device(m, &debug_exit_device_ops, d);
	return d;
}
