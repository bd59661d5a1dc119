/* The dual 8259A PIC (user/hw/i8259.c). */
#include <string.h>
#include "unit.h"
#include "devtest.h"
#include "machine.h"
#include "hw/apic-internal.h"

struct rig {
	struct machine *m;
	struct i8259 *pic;
	int out;
	unsigned out_rises;
};

static void record_output(void *opaque, int level)
{
	struct rig *r = opaque;
	if (level && !r->out)
		r->out_rises++;
	r->out = level;
}

static void outb(struct rig *r, uint16_t port, uint8_t val) { pio_out(r->m, port, val, 1); }
static uint8_t inb(struct rig *r, uint16_t port) { return pio_in(r->m, port, 1); }

/* The PC BIOS / Linux setup: master at 0x20, slave at 0x28, cascade on
 * IR2, 8086 mode; icw4 adds e.g. AEOI. */
static void pic_init(struct rig *r, uint8_t icw4)
{
	outb(r, 0x20, 0x11);
	outb(r, 0x21, 0x20);
	outb(r, 0x21, 0x04);
	outb(r, 0x21, icw4);
	outb(r, 0xa0, 0x11);
	outb(r, 0xa1, 0x28);
	outb(r, 0xa1, 0x02);
	outb(r, 0xa1, icw4);
}

static bool rig_init(struct rig *r, uint8_t icw4)
{
	memset(r, 0, sizeof(*r));
	r->m = machine_new(16 * MiB);
	if (!r->m || !(r->pic = i8259_new(r->m, record_output, r)))
		return false;
	pic_init(r, icw4);
	return true;
}

static void pulse(struct rig *r, unsigned line)
{
	i8259_set_irq(r->pic, line, 1);
	i8259_set_irq(r->pic, line, 0);
}

static uint8_t read_isr(struct rig *r, uint16_t port)
{
	outb(r, port, 0x0b);
	uint8_t v = inb(r, port);
	outb(r, port, 0x0a);
	return v;
}

TEST(i8259_init_irq_ack_eoi)
{
	struct rig r;
	CHECK(rig_init(&r, 0x01));
	CHECK_EQ(inb(&r, 0x21), 0); /* ICW1 cleared the mask */
	CHECK(!r.out);
	pulse(&r, 3);
	CHECK(r.out);
	CHECK_EQ(inb(&r, 0x20), 0x08); /* IRR */
	CHECK_EQ(i8259_intack(r.pic), 0x23);
	CHECK(!r.out);
	CHECK_EQ(inb(&r, 0x20), 0);
	CHECK_EQ(read_isr(&r, 0x20), 0x08);
	outb(&r, 0x20, 0x20); /* non-specific EOI */
	CHECK_EQ(read_isr(&r, 0x20), 0);
	/* nothing pending: spurious IRQ 7, ISR untouched */
	CHECK_EQ(i8259_intack(r.pic), 0x27);
	CHECK_EQ(read_isr(&r, 0x20), 0);
	machine_free(r.m);
}

TEST(i8259_priority_and_nesting)
{
	struct rig r;
	CHECK(rig_init(&r, 0x01));
	pulse(&r, 5);
	pulse(&r, 1);
	CHECK_EQ(i8259_intack(r.pic), 0x21); /* IR1 first */
	CHECK(!r.out);                       /* IR5 waits for IR1's EOI */
	CHECK_EQ(read_isr(&r, 0x20), 0x02);
	outb(&r, 0x20, 0x20);
	CHECK(r.out);
	CHECK_EQ(i8259_intack(r.pic), 0x25);
	machine_free(r.m);
}

TEST(i8259_in_service_blocks_lower)
{
	struct rig r;
	CHECK(rig_init(&r, 0x01));
	pulse(&r, 1);
	CHECK_EQ(i8259_intack(r.pic), 0x21);
	pulse(&r, 5);
	CHECK(!r.out); /* lower than the one in service */
	pulse(&r, 0);
	CHECK(r.out);  /* higher: nests */
	CHECK_EQ(i8259_intack(r.pic), 0x20);
	outb(&r, 0x20, 0x20); /* retires IR0 */
	CHECK_EQ(read_isr(&r, 0x20), 0x02);
	CHECK(!r.out);
	outb(&r, 0x20, 0x61); /* specific EOI of IR1 */
	CHECK(r.out);
	CHECK_EQ(i8259_intack(r.pic), 0x25);
	machine_free(r.m);
}

TEST(i8259_mask)
{
	struct rig r;
	CHECK(rig_init(&r, 0x01));
	outb(&r, 0x21, 0x10);
	CHECK_EQ(inb(&r, 0x21), 0x10);
	pulse(&r, 4);
	CHECK(!r.out);
	CHECK_EQ(inb(&r, 0x20), 0x10); /* requested, masked */
	outb(&r, 0x21, 0x00);
	CHECK(r.out);
	CHECK_EQ(i8259_intack(r.pic), 0x24);
	machine_free(r.m);
}

TEST(i8259_cascade)
{
	struct rig r;
	CHECK(rig_init(&r, 0x01));
	pulse(&r, 10);
	CHECK(r.out);
	CHECK_EQ(i8259_intack(r.pic), 0x2a);
	CHECK_EQ(read_isr(&r, 0xa0), 0x04);
	CHECK_EQ(read_isr(&r, 0x20), 0x04);
	CHECK(!r.out);
	/* masking the cascade masks the slave */
	outb(&r, 0xa0, 0x20);
	outb(&r, 0x20, 0x20);
	outb(&r, 0x21, 0x04);
	pulse(&r, 12);
	CHECK(!r.out);
	outb(&r, 0x21, 0x00);
	CHECK(r.out);
	CHECK_EQ(i8259_intack(r.pic), 0x2c);
	/* masking at the slave drops the cascade line */
	outb(&r, 0xa0, 0x20);
	outb(&r, 0x20, 0x20);
	pulse(&r, 9);
	CHECK(r.out);
	outb(&r, 0xa1, 0x02);
	CHECK(!r.out);
	machine_free(r.m);
}

TEST(i8259_level_triggered_elcr)
{
	struct rig r;
	CHECK(rig_init(&r, 0x01));
	outb(&r, 0x4d1, 0xff);
	CHECK_EQ(inb(&r, 0x4d1), 0xde); /* IRQ 8 and 13 stay edge */
	outb(&r, 0x4d0, 0xff);
	CHECK_EQ(inb(&r, 0x4d0), 0xf8);
	i8259_set_irq(r.pic, 9, 1);
	CHECK_EQ(i8259_intack(r.pic), 0x29);
	outb(&r, 0xa0, 0x20);
	outb(&r, 0x20, 0x20);
	CHECK(r.out); /* still high: again */
	CHECK_EQ(i8259_intack(r.pic), 0x29);
	i8259_set_irq(r.pic, 9, 0);
	outb(&r, 0xa0, 0x20);
	outb(&r, 0x20, 0x20);
	CHECK(!r.out);
	/* a level that went away before the acknowledge: spurious */
	i8259_set_irq(r.pic, 5, 1);
	i8259_set_irq(r.pic, 5, 0);
	CHECK(!r.out);
	CHECK_EQ(i8259_intack(r.pic), 0x27);
	machine_free(r.m);
}

TEST(i8259_auto_eoi_and_rotation)
{
	struct rig r;
	CHECK(rig_init(&r, 0x03)); /* AEOI */
	pulse(&r, 3);
	CHECK_EQ(i8259_intack(r.pic), 0x23);
	CHECK_EQ(read_isr(&r, 0x20), 0);
	/* rotate on non-specific EOI: the retired level becomes lowest */
	pic_init(&r, 0x01);
	pulse(&r, 3);
	CHECK_EQ(i8259_intack(r.pic), 0x23);
	outb(&r, 0x20, 0xa0);
	pulse(&r, 3);
	pulse(&r, 6);
	CHECK_EQ(i8259_intack(r.pic), 0x26); /* 4 is now the highest */
	outb(&r, 0x20, 0x20);
	CHECK_EQ(i8259_intack(r.pic), 0x23);
	outb(&r, 0x20, 0x20);
	/* set priority: IR5 lowest, so IR6 beats IR0 */
	outb(&r, 0x20, 0xc5);
	pulse(&r, 0);
	pulse(&r, 6);
	CHECK_EQ(i8259_intack(r.pic), 0x26);
	machine_free(r.m);
}

TEST(i8259_poll_and_special_mask)
{
	struct rig r;
	CHECK(rig_init(&r, 0x01));
	outb(&r, 0x20, 0x0c); /* poll */
	CHECK_EQ(inb(&r, 0x20), 0);
	pulse(&r, 6);
	outb(&r, 0x20, 0x0c);
	CHECK_EQ(inb(&r, 0x20), 0x86);
	CHECK_EQ(read_isr(&r, 0x20), 0x40);
	CHECK(!r.out);
	/* special mask mode: masking the level in service lets lower ones in */
	pulse(&r, 7);
	CHECK(!r.out);
	outb(&r, 0x21, 0x40);
	outb(&r, 0x20, 0x68); /* set special mask */
	CHECK(r.out);
	CHECK_EQ(i8259_intack(r.pic), 0x27);
	outb(&r, 0x20, 0x48); /* reset special mask */
	machine_free(r.m);
}

TEST(i8259_save_load)
{
	struct rig a, b;
	CHECK(rig_init(&a, 0x01));
	CHECK(rig_init(&b, 0x01));
	outb(&a, 0x21, 0x81);
	outb(&a, 0x4d1, 0x02);
	pulse(&a, 3);
	CHECK_EQ(i8259_intack(a.pic), 0x23);
	pulse(&a, 4);
	pulse(&a, 11);
	CHECK_EQ(copy_device_state(a.m, b.m), 0);
	CHECK_EQ(inb(&b, 0x21), 0x81);
	CHECK_EQ(inb(&b, 0x4d1), 0x02);
	CHECK_EQ(read_isr(&b, 0x20), 0x08);
	CHECK_EQ(inb(&b, 0x20), 0x14);
	CHECK(b.out);
	CHECK_EQ(i8259_intack(b.pic), 0x2b); /* the slave's IR3 via the cascade */
	machine_free(a.m);
	machine_free(b.m);
}
