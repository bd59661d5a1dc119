/*
 * Port 0x80, the POST code port: firmware and kernels write progress
 * codes (Linux also uses it as an I/O delay).  The last byte written
 * reads back, as on POST code cards and most chipsets.
 */
#include <stdlib.h>
#include "machine.h"
#include "hw.h"

#define PORT80_STATE_VERSION 1

struct port80 {
	uint8_t last; /* accessed with __atomic builtins: no lock needed */
};

static uint64_t port80_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct port80 *p = opaque;
	(void)offset;
	uint64_t val = __atomic_load_n(&p->last, __ATOMIC_RELAXED);
	/* one 8-bit port: the other bytes of a wider read float high */
	return size > 1 ? val | (~0ULL << 8) : val;
}

static void port80_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct port80 *p = opaque;
	(void)offset;
	(void)size;
	__atomic_store_n(&p->last, (uint8_t)value, __ATOMIC_RELAXED);
}

static const struct io_ops port80_io_ops = {
	.read = port80_io_read,
	.write = port80_io_write,
};

static void port80_reset(void *dev)
{
	struct port80 *p = dev;
	__atomic_store_n(&p->last, 0, __ATOMIC_RELAXED);
}

static void port80_save(void *dev, struct state_buf *s)
{
	struct port80 *p = dev;
	state_put_u8(s, PORT80_STATE_VERSION);
	state_put_u8(s, __atomic_load_n(&p->last, __ATOMIC_RELAXED));
}

static int port80_load(void *dev, struct state_buf *s)
{
	struct port80 *p = dev;
	uint8_t version = state_get_u8(s), last = state_get_u8(s);
	if (s->error || version != PORT80_STATE_VERSION)
		return -1;
	__atomic_store_n(&p->last, last, __ATOMIC_RELAXED);
	return 0;
}

static void port80_destroy(void *dev)
{
	free(dev);
}

static const struct device_ops port80_device_ops = {
	.name = "port80",
	.reset = port80_reset,
	.save = port80_save,
	.load = port80_load,
	.destroy = port80_destroy,
};

struct port80 *port80_new(struct machine *m)
{
	struct port80 *p = calloc(1, sizeof(*p));
	if (!p) {
		qvm_error("port80: out of memory");
		return NULL;
	}
	if (machine_add_pio(m, 0x80, 1, &port80_io_ops, p, "port80") < 0) {
		free(p);
		return NULL;
	}
	machine_add_device(m, &port80_device_ops, p);
	return p;
}
