/*
 * I/O APIC, after the Intel 82093AA datasheet ("[DS]" below): 24
 * redirection entries, registers reached through IOREGSEL (base + 0x00)
 * and IOWIN (base + 0x10).  Messages go to the LAPICs through
 * apic_deliver() at once, so the delivery status bit always reads 0.
 *
 * Line levels arrive as "asserted" (machine_set_irq's convention, which
 * the in-kernel irqchip shares): the polarity bit is kept for the guest
 * to read back but does not invert the input.
 *
 * Threads: any thread raises pins; vCPUs access registers and broadcast
 * EOIs.  io->lock covers everything; LAPICs are entered with it held
 * (lock order in apic-internal.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "machine.h"
#include "apic-internal.h"

#define NR_PINS 24
#define IOAPIC_VERSION (0x11u | (NR_PINS - 1u) << 16)
#define MMIO_SIZE 0x1000

/* Registers behind IOWIN [DS 3.2]. */
enum { REG_ID = 0x00, REG_VERSION = 0x01, REG_ARB = 0x02, REG_REDIR = 0x10 };

/* Redirection entry bits [DS 3.2.4]. */
#define RE_VECTOR 0xffULL
#define RE_DEST_LOGICAL (1ULL << 11)
#define RE_DELIVERY_STATUS (1ULL << 12)
#define RE_POLARITY_LOW (1ULL << 13)
#define RE_REMOTE_IRR (1ULL << 14)
#define RE_LEVEL (1ULL << 15)
#define RE_MASKED (1ULL << 16)
#define RE_DEST_SHIFT 56
#define RE_WRITABLE (0xff00000000000000ULL | (0x1ffffULL & ~(RE_DELIVERY_STATUS | RE_REMOTE_IRR)))
#define RE_DEFINED (RE_WRITABLE | RE_DELIVERY_STATUS | RE_REMOTE_IRR)

#define IOAPIC_STATE_VERSION 1

struct ioapic {
	struct machine *m;
	pthread_mutex_t lock;
	uint64_t base;
	uint8_t id;             /* bits 27:24 of the ID register */
	uint8_t reset_id;
	uint8_t regsel;
	uint32_t level;         /* input pins asserted */
	uint64_t redir[NR_PINS];
};

/* Send pin's message; a level-triggered fixed or lowest-priority one
 * that a LAPIC took sets remote IRR until the EOI [DS 3.2.4]. */
static void ioapic_deliver(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->redir[pin];
	struct apic_msg msg = {
		.vector = e & RE_VECTOR,
		.mode = (e >> 8) & 7,
		.logical = e & RE_DEST_LOGICAL,
		.dest = e >> RE_DEST_SHIFT,
		.assert = true,
	};
	if (msg.mode == 3 || msg.mode == APIC_DM_SIPI)
		return; /* reserved */
	msg.level = (e & RE_LEVEL) && (msg.mode == APIC_DM_FIXED || msg.mode == APIC_DM_LOWEST);
	if (apic_deliver(io->m, &msg) && msg.level)
		io->redir[pin] |= RE_REMOTE_IRR;
}

/* A level-triggered pin delivers while asserted, unmasked and not
 * waiting for its EOI. */
static void ioapic_service_level(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->redir[pin];
	if ((e & RE_LEVEL) && !(e & (RE_MASKED | RE_REMOTE_IRR)) && (io->level & (1u << pin)))
		ioapic_deliver(io, pin);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, int level)
{
	if (pin >= NR_PINS)
		return;
	pthread_mutex_lock(&io->lock);
	uint32_t mask = 1u << pin;
	bool rising = level && !(io->level & mask);
	io->level = level ? io->level | mask : io->level & ~mask;
	uint64_t e = io->redir[pin];
	if (e & RE_LEVEL)
		ioapic_service_level(io, pin);
	else if (rising && !(e & RE_MASKED)) /* masked edges are lost [DS 3.2.4] */
		ioapic_deliver(io, pin);
	pthread_mutex_unlock(&io->lock);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	pthread_mutex_lock(&io->lock);
	for (unsigned pin = 0; pin < NR_PINS; pin++) {
		uint64_t e = io->redir[pin];
		if ((e & RE_VECTOR) != vector || !(e & RE_LEVEL) || !(e & RE_REMOTE_IRR))
			continue;
		io->redir[pin] = e & ~RE_REMOTE_IRR;
		ioapic_service_level(io, pin);
	}
	pthread_mutex_unlock(&io->lock);
}

/* ---- registers ---- */

static uint32_t ioapic_read_reg(struct ioapic *io, uint8_t reg)
{
	switch (reg) {
	case REG_ID:
	case REG_ARB:
		return (uint32_t)io->id << 24;
	case REG_VERSION:
		return IOAPIC_VERSION;
	}
	if (reg >= REG_REDIR && reg < REG_REDIR + 2 * NR_PINS) {
		uint64_t e = io->redir[(reg - REG_REDIR) / 2];
		return reg & 1 ? e >> 32 : (uint32_t)e;
	}
	return 0;
}

static void ioapic_write_redir(struct ioapic *io, unsigned pin, bool high, uint32_t val)
{
	uint64_t e = io->redir[pin];
	uint64_t v = high ? ((uint64_t)val << 32) | (uint32_t)e : (e & ~0xffffffffULL) | val;
	e = (v & RE_WRITABLE) | (e & (RE_REMOTE_IRR | RE_DELIVERY_STATUS));
	if (!(e & RE_LEVEL))
		e &= ~RE_REMOTE_IRR; /* only level entries wait for an EOI */
	io->redir[pin] = e;
	ioapic_service_level(io, pin); /* e.g. unmasked while asserted */
}

static void ioapic_write_reg(struct ioapic *io, uint8_t reg, uint32_t val)
{
	if (reg == REG_ID)
		io->id = (val >> 24) & 0xf;
	else if (reg >= REG_REDIR && reg < REG_REDIR + 2 * NR_PINS)
		ioapic_write_redir(io, (reg - REG_REDIR) / 2, reg & 1, val);
}

/* IOREGSEL at 0x00, IOWIN at 0x10; narrower accesses see the bytes of
 * the dword they fall in. */
static uint64_t ioapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct ioapic *io = opaque;
	unsigned shift = 8 * (offset & 3);
	uint64_t val = 0;
	pthread_mutex_lock(&io->lock);
	if (offset < 4)
		val = io->regsel;
	else if (offset >= 0x10 && offset < 0x14)
		val = ioapic_read_reg(io, io->regsel);
	pthread_mutex_unlock(&io->lock);
	val >>= shift;
	return size >= 4 ? (uint32_t)val : val & ((1ULL << (8 * size)) - 1);
}

static void ioapic_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct ioapic *io = opaque;
	unsigned shift = 8 * (offset & 3);
	uint32_t mask = size >= 4 ? 0xffffffffu : ((1u << (8 * size)) - 1) << shift;
	pthread_mutex_lock(&io->lock);
	if (offset == 0) {
		io->regsel = value;
	} else if (offset >= 0x10 && offset < 0x14) {
		uint32_t cur = ioapic_read_reg(io, io->regsel);
		uint32_t val = (cur & ~mask) | (((uint32_t)value << shift) & mask);
		ioapic_write_reg(io, io->regsel, val);
	}
	pthread_mutex_unlock(&io->lock);
}

static const struct io_ops ioapic_io_ops = {
	.read = ioapic_mmio_read,
	.write = ioapic_mmio_write,
};

/* ---- device ops ---- */

/* RESET: every entry masked, the ID back to what the board gave it. */
static void ioapic_reset(void *dev)
{
	struct ioapic *io = dev;
	pthread_mutex_lock(&io->lock);
	io->id = io->reset_id;
	io->regsel = 0;
	for (unsigned i = 0; i < NR_PINS; i++)
		io->redir[i] = RE_MASKED;
	pthread_mutex_unlock(&io->lock);
}

static void ioapic_save(void *dev, struct state_buf *s)
{
	struct ioapic *io = dev;
	pthread_mutex_lock(&io->lock);
	state_put_u8(s, IOAPIC_STATE_VERSION);
	state_put_u8(s, io->id);
	state_put_u8(s, io->regsel);
	state_put_u32(s, io->level);
	for (unsigned i = 0; i < NR_PINS; i++)
		state_put_u64(s, io->redir[i]);
	pthread_mutex_unlock(&io->lock);
}

static int ioapic_load(void *dev, struct state_buf *s)
{
	struct ioapic *io = dev;
	uint64_t redir[NR_PINS];
	if (state_get_u8(s) != IOAPIC_STATE_VERSION)
		return -1;
	uint8_t id = state_get_u8(s), regsel = state_get_u8(s);
	uint32_t level = state_get_u32(s);
	for (unsigned i = 0; i < NR_PINS; i++) {
		redir[i] = state_get_u64(s);
		if ((redir[i] & ~RE_DEFINED) || (redir[i] & RE_DELIVERY_STATUS))
			return -1;
	}
	if (s->error || id > 0xf || (level >> NR_PINS))
		return -1;
	pthread_mutex_lock(&io->lock);
	io->id = id;
	io->regsel = regsel;
	io->level = level;
	memcpy(io->redir, redir, sizeof(redir));
	pthread_mutex_unlock(&io->lock);
	return 0;
}

static void ioapic_destroy(void *dev)
{
	struct ioapic *io = dev;
	pthread_mutex_destroy(&io->lock);
	free(io);
}

static const struct device_ops ioapic_device_ops = {
	.name = "ioapic",
	.reset = ioapic_reset,
	.save = ioapic_save,
	.load = ioapic_load,
	.destroy = ioapic_destroy,
};

struct ioapic *ioapic_new(struct machine *m, uint64_t base, uint8_t id)
{
	struct ioapic *io = calloc(1, sizeof(*io));
	if (!io) {
		qvm_error("ioapic: out of memory");
		return NULL;
	}
	io->m = m;
	io->base = base;
	io->reset_id = id & 0xf;
	pthread_mutex_init(&io->lock, NULL);
	ioapic_reset(io);
	if (machine_add_mmio(m, base, MMIO_SIZE, &ioapic_io_ops, io, "ioapic") < 0) {
		pthread_mutex_destroy(&io->lock);
		free(io);
		return NULL;
	}
	machine_add_device(m, &ioapic_device_ops, io);
	return io;
}
