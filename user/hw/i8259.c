/*
 * Two cascaded 8259A PICs, after the Intel 8259A datasheet ("[DS]"
 * below), as on the PC: master at ports 0x20/0x21 with the slave's INT on
 * its IR2, slave at 0xa0/0xa1, and the PIIX edge/level control registers
 * (ELCR) at 0x4d0/0x4d1.
 *
 * Inputs follow machine_set_irq's levels.  An edge-triggered IR latches
 * IRR on a rising edge and keeps it until acknowledged; a level-triggered
 * one (ELCR bit, or LTIM for the whole chip) has IRR follow the line.  The
 * master's IR2 follows the slave's INT as a level.
 *
 * The master's INT goes to a listener (the BSP's LINT0), told of every
 * change with the lock held; the LAPIC acknowledges with i8259_intack().
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "machine.h"
#include "apic-internal.h"

#define CASCADE_IRQ 2
#define I8259_STATE_VERSION 1

enum { MASTER, SLAVE };

/* ICW1 [DS "Initialization Command Words"] */
#define ICW1_IC4 0x01
#define ICW1_SNGL 0x02
#define ICW1_LTIM 0x08
#define ICW1_INIT 0x10
/* ICW4 */
#define ICW4_AEOI 0x02
#define ICW4_SFNM 0x10
/* OCW3 */
#define OCW3_SELECT 0x08
#define OCW3_POLL 0x04
#define OCW3_RR 0x02
#define OCW3_RIS 0x01
#define OCW3_ESMM 0x40
#define OCW3_SMM 0x20

struct pic_chip {
	uint8_t irr, imr, isr;
	uint8_t input;          /* IR line levels */
	uint8_t elcr, elcr_mask;
	uint8_t base;           /* vector of IR0 (ICW2) */
	uint8_t icw3;
	uint8_t init_step;      /* next ICW expected: 2, 3, 4; 0 when ready */
	uint8_t top;            /* the IR with the highest priority */
	bool icw4_needed, single, ltim;
	bool auto_eoi, rotate_aeoi, sfnm;
	bool special_mask, read_isr, poll;
};

struct i8259 {
	struct machine *m;
	pthread_mutex_t lock;
	struct pic_chip c[2];
	void (*output)(void *opaque, int level);
	void *opaque;
	int out_level;
};

/* ---- one chip ---- */

static bool level_mode(const struct pic_chip *c, unsigned irq)
{
	return c->ltim || (c->elcr & (1u << irq));
}

/* Priority rank of the best IR in mask: 0 highest, 8 when none. */
static unsigned pic_rank(const struct pic_chip *c, uint8_t mask)
{
	for (unsigned p = 0; p < 8; p++)
		if (mask & (1u << ((p + c->top) & 7)))
			return p;
	return 8;
}

/* The IR that would interrupt now, or -1: the highest-priority unmasked
 * request above every in-service level [DS "Interrupt Sequence"].  In
 * special mask mode masked levels in service don't block [DS "Special
 * Mask Mode"]; in special fully nested mode the master lets the slave
 * interrupt again while it is in service [DS "Special Fully Nested"]. */
static int pic_pending(const struct pic_chip *c, bool master)
{
	unsigned req = pic_rank(c, c->irr & ~c->imr);
	if (req == 8)
		return -1;
	uint8_t in_service = c->isr;
	if (c->special_mask)
		in_service &= ~c->imr;
	if (master && c->sfnm)
		in_service &= ~(1u << CASCADE_IRQ);
	if (req >= pic_rank(c, in_service))
		return -1;
	return (req + c->top) & 7;
}

static void pic_set_input(struct pic_chip *c, unsigned irq, bool level)
{
	uint8_t mask = 1u << irq;
	if (level_mode(c, irq))
		c->irr = level ? c->irr | mask : c->irr & ~mask;
	else if (level && !(c->input & mask))
		c->irr |= mask;
	c->input = level ? c->input | mask : c->input & ~mask;
}

/* INTA: IR irq goes from IRR to ISR (or just leaves IRR with AEOI). */
static void pic_ack(struct pic_chip *c, unsigned irq)
{
	uint8_t mask = 1u << irq;
	if (!level_mode(c, irq))
		c->irr &= ~mask;
	if (!c->auto_eoi)
		c->isr |= mask;
	else if (c->rotate_aeoi)
		c->top = (irq + 1) & 7;
}

/* The master's IR2 is the slave's INT, then the master's INT out. */
static void pic_update(struct i8259 *p)
{
	struct pic_chip *master = &p->c[MASTER];
	bool cascade = pic_pending(&p->c[SLAVE], false) >= 0;
	uint8_t mask = 1u << CASCADE_IRQ;
	master->irr = cascade ? master->irr | mask : master->irr & ~mask;
	master->input = cascade ? master->input | mask : master->input & ~mask;
	int level = pic_pending(master, true) >= 0;
	if (level != p->out_level) {
		p->out_level = level;
		if (p->output)
			p->output(p->opaque, level);
	}
}

/* ---- commands ---- */

/* ICW1 starts initialisation [DS "Initialization Command Words"]: the
 * mask is cleared, IR7 gets the lowest priority, special mask mode is
 * reset, status reads select IRR, and edge-triggered inputs need a new
 * rising edge. */
static void pic_icw1(struct pic_chip *c, uint8_t val)
{
	c->icw4_needed = val & ICW1_IC4;
	c->single = val & ICW1_SNGL;
	c->ltim = val & ICW1_LTIM;
	c->imr = 0;
	c->isr = 0;
	c->top = 0;
	c->special_mask = c->read_isr = c->poll = false;
	c->auto_eoi = c->rotate_aeoi = c->sfnm = false;
	c->irr = 0;
	for (unsigned irq = 0; irq < 8; irq++)
		if (level_mode(c, irq) && (c->input & (1u << irq)))
			c->irr |= 1u << irq;
	c->init_step = 2;
}

static void pic_icw(struct pic_chip *c, uint8_t val)
{
	switch (c->init_step) {
	case 2:
		c->base = val & 0xf8;
		c->init_step = !c->single ? 3 : c->icw4_needed ? 4 : 0;
		break;
	case 3:
		c->icw3 = val;
		c->init_step = c->icw4_needed ? 4 : 0;
		break;
	default:
		c->auto_eoi = val & ICW4_AEOI;
		c->sfnm = val & ICW4_SFNM;
		c->init_step = 0;
	}
}

/* OCW2: EOIs and rotation [DS "Operation Command Words", table 1]. */
static void pic_ocw2(struct pic_chip *c, uint8_t val)
{
	unsigned cmd = val >> 5, level = val & 7;
	switch (cmd) {
	case 0: /* clear rotate in AEOI mode */
		c->rotate_aeoi = false;
		break;
	case 4: /* set rotate in AEOI mode */
		c->rotate_aeoi = true;
		break;
	case 1: /* non-specific EOI */
	case 5: { /* rotate on non-specific EOI */
		/* in special mask mode a masked in-service level stays */
		uint8_t candidates = c->special_mask ? c->isr & ~c->imr : c->isr;
		unsigned rank = pic_rank(c, candidates);
		if (rank == 8)
			break;
		unsigned irq = (rank + c->top) & 7;
		c->isr &= ~(1u << irq);
		if (cmd == 5)
			c->top = (irq + 1) & 7;
		break;
	}
	case 3: /* specific EOI */
		c->isr &= ~(1u << level);
		break;
	case 7: /* rotate on specific EOI */
		c->isr &= ~(1u << level);
		c->top = (level + 1) & 7;
		break;
	case 6: /* set priority: level becomes the lowest */
		c->top = (level + 1) & 7;
		break;
	default: /* 2: no operation */
		break;
	}
}

static void pic_ocw3(struct pic_chip *c, uint8_t val)
{
	if (val & OCW3_POLL)
		c->poll = true;
	if (val & OCW3_RR)
		c->read_isr = val & OCW3_RIS;
	if (val & OCW3_ESMM)
		c->special_mask = val & OCW3_SMM;
}

/* Poll command: the next read is an acknowledge that returns 0x80 | IR,
 * or 0 when nothing is requested [DS "The Poll Command"]. */
static uint8_t pic_poll_read(struct pic_chip *c, bool master)
{
	int irq = pic_pending(c, master);
	c->poll = false;
	if (irq < 0)
		return 0;
	pic_ack(c, irq);
	return 0x80 | irq;
}

/* ---- port I/O ---- */

static void pic_write(struct i8259 *p, unsigned which, unsigned port, uint8_t val)
{
	struct pic_chip *c = &p->c[which];
	if (port == 0) {
		if (val & ICW1_INIT)
			pic_icw1(c, val);
		else if (val & OCW3_SELECT)
			pic_ocw3(c, val);
		else
			pic_ocw2(c, val);
	} else if (c->init_step) {
		pic_icw(c, val);
	} else {
		c->imr = val; /* OCW1 */
	}
	pic_update(p);
}

static uint8_t pic_read(struct i8259 *p, unsigned which, unsigned port)
{
	struct pic_chip *c = &p->c[which];
	uint8_t val;
	if (c->poll) {
		val = pic_poll_read(c, which == MASTER);
		pic_update(p);
	} else if (port == 0) {
		val = c->read_isr ? c->isr : c->irr;
	} else {
		val = c->imr;
	}
	return val;
}

/* Byte cycles; a wider access covers the following port(s) of the pair. */
static uint64_t pic_io_read(struct i8259 *p, unsigned which, uint64_t offset, unsigned size)
{
	uint64_t val = 0;
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < size; i++) {
		uint64_t byte = offset + i < 2 ? pic_read(p, which, offset + i) : 0xff;
		val |= byte << (8 * i);
	}
	pthread_mutex_unlock(&p->lock);
	return val;
}

static void pic_io_write(struct i8259 *p, unsigned which, uint64_t offset, uint64_t value,
			 unsigned size)
{
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < size && offset + i < 2; i++)
		pic_write(p, which, offset + i, value >> (8 * i));
	pthread_mutex_unlock(&p->lock);
}

static uint64_t master_read(void *opaque, uint64_t offset, unsigned size)
{
	return pic_io_read(opaque, MASTER, offset, size);
}

static void master_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	pic_io_write(opaque, MASTER, offset, value, size);
}

static uint64_t slave_read(void *opaque, uint64_t offset, unsigned size)
{
	return pic_io_read(opaque, SLAVE, offset, size);
}

static void slave_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	pic_io_write(opaque, SLAVE, offset, value, size);
}

static const struct io_ops master_io_ops = { .read = master_read, .write = master_write };
static const struct io_ops slave_io_ops = { .read = slave_read, .write = slave_write };

/* ELCR: one bit per IR, 1 = level; IRQ 0, 1, 2, 8 and 13 are always
 * edge-triggered on the PIIX (masks 0xf8 and 0xde). */
static void elcr_set(struct pic_chip *c, uint8_t val)
{
	c->elcr = val & c->elcr_mask;
	for (unsigned irq = 0; irq < 8; irq++) {
		uint8_t mask = 1u << irq;
		if (level_mode(c, irq))
			c->irr = (c->irr & ~mask) | (c->input & mask);
	}
}

static uint64_t elcr_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8259 *p = opaque;
	uint64_t val = 0;
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < size; i++)
		val |= (uint64_t)(offset + i < 2 ? p->c[offset + i].elcr : 0xff) << (8 * i);
	pthread_mutex_unlock(&p->lock);
	return val;
}

static void elcr_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct i8259 *p = opaque;
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < size && offset + i < 2; i++)
		elcr_set(&p->c[offset + i], value >> (8 * i));
	pic_update(p);
	pthread_mutex_unlock(&p->lock);
}

static const struct io_ops elcr_io_ops = { .read = elcr_read, .write = elcr_write };

/* ---- the irqchip's side ---- */

void i8259_set_irq(struct i8259 *p, unsigned line, int level)
{
	if (line >= 16 || line == CASCADE_IRQ)
		return;
	pthread_mutex_lock(&p->lock);
	pic_set_input(&p->c[line >> 3], line & 7, level);
	pic_update(p);
	pthread_mutex_unlock(&p->lock);
}

/* The INTA cycles: the master's vector, or the slave's when the master
 * picked the cascade.  Nothing to acknowledge gives IR7's vector without
 * setting ISR (a spurious interrupt) [DS "Interrupt Sequence"]. */
int i8259_intack(struct i8259 *p)
{
	struct pic_chip *master = &p->c[MASTER], *slave = &p->c[SLAVE];
	int vector;
	pthread_mutex_lock(&p->lock);
	int irq = pic_pending(master, true);
	if (irq < 0) {
		vector = master->base | 7;
	} else {
		pic_ack(master, irq);
		if (irq == CASCADE_IRQ) {
			int sirq = pic_pending(slave, false);
			if (sirq < 0) {
				vector = slave->base | 7;
			} else {
				pic_ack(slave, sirq);
				vector = slave->base + sirq;
			}
		} else {
			vector = master->base + irq;
		}
	}
	pic_update(p);
	pthread_mutex_unlock(&p->lock);
	return vector;
}

void i8259_sync_output(struct i8259 *p)
{
	pthread_mutex_lock(&p->lock);
	if (p->output)
		p->output(p->opaque, p->out_level);
	pthread_mutex_unlock(&p->lock);
}

/* ---- device ops ---- */

static void chip_power_on(struct pic_chip *c, uint8_t elcr_mask)
{
	uint8_t input = c->input;
	memset(c, 0, sizeof(*c));
	c->input = input; /* the lines are the devices' */
	c->elcr_mask = elcr_mask;
}

static void i8259_reset(void *dev)
{
	struct i8259 *p = dev;
	pthread_mutex_lock(&p->lock);
	chip_power_on(&p->c[MASTER], 0xf8);
	chip_power_on(&p->c[SLAVE], 0xde);
	pic_update(p);
	pthread_mutex_unlock(&p->lock);
}

static void chip_save(const struct pic_chip *c, struct state_buf *s)
{
	state_put_u8(s, c->irr);
	state_put_u8(s, c->imr);
	state_put_u8(s, c->isr);
	state_put_u8(s, c->input);
	state_put_u8(s, c->elcr);
	state_put_u8(s, c->base);
	state_put_u8(s, c->icw3);
	state_put_u8(s, c->init_step);
	state_put_u8(s, c->top);
	state_put_u8(s, c->icw4_needed | c->single << 1 | c->ltim << 2 | c->auto_eoi << 3 |
		     c->rotate_aeoi << 4 | c->sfnm << 5 | c->special_mask << 6 | c->read_isr << 7);
	state_put_u8(s, c->poll);
}

static bool chip_load(struct pic_chip *c, struct state_buf *s, uint8_t elcr_mask)
{
	c->irr = state_get_u8(s);
	c->imr = state_get_u8(s);
	c->isr = state_get_u8(s);
	c->input = state_get_u8(s);
	c->elcr = state_get_u8(s);
	c->base = state_get_u8(s);
	c->icw3 = state_get_u8(s);
	c->init_step = state_get_u8(s);
	c->top = state_get_u8(s);
	uint8_t flags = state_get_u8(s), poll = state_get_u8(s);
	c->icw4_needed = flags & 1;
	c->single = flags & 2;
	c->ltim = flags & 4;
	c->auto_eoi = flags & 8;
	c->rotate_aeoi = flags & 0x10;
	c->sfnm = flags & 0x20;
	c->special_mask = flags & 0x40;
	c->read_isr = flags & 0x80;
	c->poll = poll;
	c->elcr_mask = elcr_mask;
	return !s->error && !(c->elcr & ~elcr_mask) && (c->base & 7) == 0 &&
	       (c->init_step == 0 || (c->init_step >= 2 && c->init_step <= 4)) &&
	       c->top < 8 && poll <= 1;
}

static void i8259_save(void *dev, struct state_buf *s)
{
	struct i8259 *p = dev;
	pthread_mutex_lock(&p->lock);
	state_put_u8(s, I8259_STATE_VERSION);
	chip_save(&p->c[MASTER], s);
	chip_save(&p->c[SLAVE], s);
	pthread_mutex_unlock(&p->lock);
}

static int i8259_load(void *dev, struct state_buf *s)
{
	struct i8259 *p = dev;
	struct pic_chip c[2];
	if (state_get_u8(s) != I8259_STATE_VERSION)
		return -1;
	if (!chip_load(&c[MASTER], s, 0xf8) || !chip_load(&c[SLAVE], s, 0xde))
		return -1;
	pthread_mutex_lock(&p->lock);
	memcpy(p->c, c, sizeof(c));
	pic_update(p);
	if (p->output) /* the listener may have been loaded meanwhile */
		p->output(p->opaque, p->out_level);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static void i8259_destroy(void *dev)
{
	struct i8259 *p = dev;
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static const struct device_ops i8259_device_ops = {
	.name = "i8259",
	.reset = i8259_reset,
	.save = i8259_save,
	.load = i8259_load,
	.destroy = i8259_destroy,
};

struct i8259 *i8259_new(struct machine *m, void (*output)(void *opaque, int level),
			void *opaque)
{
	struct i8259 *p = calloc(1, sizeof(*p));
	if (!p) {
		qvm_error("i8259: out of memory");
		return NULL;
	}
	p->m = m;
	p->output = output;
	p->opaque = opaque;
	pthread_mutex_init(&p->lock, NULL);
	chip_power_on(&p->c[MASTER], 0xf8);
	chip_power_on(&p->c[SLAVE], 0xde);
	static const struct {
		uint16_t base;
		const struct io_ops *ops;
		const char *name;
	} ports[] = {
		{ 0x20, &master_io_ops, "pic-master" },
		{ 0xa0, &slave_io_ops, "pic-slave" },
		{ 0x4d0, &elcr_io_ops, "elcr" },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(ports); i++) {
		if (machine_add_pio(m, ports[i].base, 2, ports[i].ops, p, ports[i].name) < 0) {
			while (i--)
				machine_remove_region(m, REGION_PIO, ports[i].base);
			i8259_destroy(p);
			return NULL;
		}
	}
	machine_add_device(m, &i8259_device_ops, p);
	return p;
}
