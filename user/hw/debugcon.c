/*
 * isa-debugcon: a write-only byte port for firmware debug output, as
 * QEMU's.  QEMU puts it at 0xe9 (the Bochs "port e9 hack"); SeaBIOS built
 * for QEMU writes its log to 0x402 and uses it only when a read of the
 * port gives 0xe9, so qvm's -debugcon answers on both.  Each byte written
 * goes to the character device as it is.
 */
#include <stdlib.h>
#include "chardev/chardev.h"
#include "machine.h"
#include "hw.h"

#define DEBUGCON_READBACK 0xe9

struct debugcon {
	struct chardev *chr;
};

static uint64_t debugcon_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	return size > 1 ? DEBUGCON_READBACK | (~0ULL << 8) : DEBUGCON_READBACK;
}

static void debugcon_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct debugcon *d = opaque;
	(void)offset;
	(void)size;
	uint8_t b = value;
	chardev_write(d->chr, &b, 1);
}

static const struct io_ops debugcon_io_ops = {
	.read = debugcon_read,
	.write = debugcon_write,
};

static void debugcon_destroy(void *dev)
{
	struct debugcon *d = dev;
	chardev_close(d->chr);
	free(d);
}

static const struct device_ops debugcon_device_ops = {
	.name = "isa-debugcon",
	.destroy = debugcon_destroy,
};

struct debugcon *debugcon_new(struct machine *m, const char *spec)
{
	struct debugcon *d = calloc(1, sizeof(*d));
	if (!d || !(d->chr = chardev_open(m->loop, spec, "debugcon"))) {
		free(d);
		return NULL;
	}
	machine_add_device(m, &debugcon_device_ops, d);
	if (machine_add_pio(m, 0xe9, 1, &debugcon_io_ops, d, "debugcon") < 0 ||
	    machine_add_pio(m, 0x402, 1, &debugcon_io_ops, d, "debugcon-seabios") < 0)
		return NULL;
	return d;
}
