/* The IOAPIC (user/hw/ioapic.c), GSI routing and MSIs (irqchip_user.c). */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "devtest.h"
#include "cpu.h"
#include "machine.h"
#include "hw/apic.h"
#include "pc/pc.h"

#define IOAPIC 0xfec00000ULL
#define SVR 0xf0
#define EOI 0xb0
#define IRR 0x200
#define TMR 0x180

static struct machine *setup(unsigned n)
{
	struct machine *m = machine_new(16 * MiB);
	if (!m)
		return NULL;
	m->nr_vcpus = n;
	m->vcpus = calloc(n, sizeof(*m->vcpus));
	m->irq_routing = &pc_irq_routing;
	if (irqchip_user_init(m) < 0)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		struct vcpu *v = calloc(1, sizeof(*v));
		v->m = m;
		v->index = i;
		v->apic_id = i;
		m->vcpus[i] = v;
		if (!lapic_new(m, v))
			return NULL;
		lapic_mmio_write(v->lapic, SVR, 0x1ff);
	}
	return m;
}

static void teardown(struct machine *m)
{
	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		lapic_free(m->vcpus[i]->lapic);
		free(m->vcpus[i]);
	}
	machine_free(m);
}

static struct lapic *cpu(struct machine *m, unsigned i)
{
	return m->vcpus[i]->lapic;
}

static uint32_t io_rd(struct machine *m, uint8_t reg)
{
	uint64_t v = reg;
	machine_mmio(m, IOAPIC, true, &v, 4);
	machine_mmio(m, IOAPIC + 0x10, false, &v, 4);
	return v;
}

static void io_wr(struct machine *m, uint8_t reg, uint32_t val)
{
	uint64_t v = reg;
	machine_mmio(m, IOAPIC, true, &v, 4);
	v = val;
	machine_mmio(m, IOAPIC + 0x10, true, &v, 4);
}

static void redirect(struct machine *m, unsigned pin, uint64_t entry)
{
	io_wr(m, 0x11 + 2 * pin, entry >> 32);
	io_wr(m, 0x10 + 2 * pin, (uint32_t)entry);
}

static bool irr_has(struct machine *m, unsigned i, unsigned vec)
{
	return lapic_mmio_read(cpu(m, i), IRR + (vec / 32) * 0x10) & (1u << (vec % 32));
}

TEST(ioapic_identification)
{
	struct machine *m = setup(2);
	CHECK(m);
	CHECK_EQ(io_rd(m, 0), 2u << 24); /* ID = vCPU count, as in the MADT */
	CHECK_EQ(io_rd(m, 1), 0x00170011);
	CHECK_EQ(io_rd(m, 2), 2u << 24);
	io_wr(m, 0, 0x05000000);
	CHECK_EQ(io_rd(m, 0), 5u << 24);
	for (unsigned pin = 0; pin < 24; pin++)
		CHECK_EQ(io_rd(m, 0x10 + 2 * pin), 0x10000); /* masked */
	/* the destination field only, in the high half */
	io_wr(m, 0x11, 0xffffffff);
	CHECK_EQ(io_rd(m, 0x11), 0xff000000);
	/* IOREGSEL reads back */
	uint64_t v = 0x13;
	machine_mmio(m, IOAPIC, true, &v, 4);
	machine_mmio(m, IOAPIC, false, &v, 4);
	CHECK_EQ(v, 0x13);
	teardown(m);
}

TEST(ioapic_edge_to_lapic)
{
	struct machine *m = setup(2);
	CHECK(m);
	redirect(m, 4, 1ULL << 56 | 0x34);
	machine_pulse_irq(m, 4);
	CHECK(irr_has(m, 1, 0x34));
	CHECK(!irr_has(m, 0, 0x34));
	CHECK(lapic_events(cpu(m, 1)) & LAPIC_EV_INTR);
	CHECK_EQ(lapic_ack_interrupt(cpu(m, 1)), 0x34);
	CHECK(!(lapic_mmio_read(cpu(m, 1), TMR + 0x10) & (1u << 0x14))); /* edge */
	lapic_mmio_write(cpu(m, 1), EOI, 0);
	/* masked edges are lost */
	redirect(m, 4, 1ULL << 56 | 0x10000 | 0x34);
	machine_pulse_irq(m, 4);
	redirect(m, 4, 1ULL << 56 | 0x34);
	CHECK(!irr_has(m, 1, 0x34));
	/* a line held high gives one edge only */
	machine_set_irq(m, 4, 1);
	CHECK_EQ(lapic_ack_interrupt(cpu(m, 1)), 0x34);
	lapic_mmio_write(cpu(m, 1), EOI, 0);
	machine_set_irq(m, 4, 1);
	CHECK(!irr_has(m, 1, 0x34));
	teardown(m);
}

TEST(ioapic_level_remote_irr_eoi)
{
	struct machine *m = setup(2);
	CHECK(m);
	redirect(m, 10, 0ULL << 56 | 0x8000 | 0x2000 | 0x5a); /* level, active low */
	machine_set_irq(m, 10, 1);
	CHECK(irr_has(m, 0, 0x5a));
	CHECK(io_rd(m, 0x10 + 20) & 0x4000); /* remote IRR */
	CHECK(lapic_mmio_read(cpu(m, 0), TMR + 0x20) & (1u << 0x1a));
	CHECK_EQ(lapic_ack_interrupt(cpu(m, 0)), 0x5a);
	/* EOI with the line still high: delivered again */
	lapic_mmio_write(cpu(m, 0), EOI, 0);
	CHECK(irr_has(m, 0, 0x5a));
	CHECK(io_rd(m, 0x10 + 20) & 0x4000);
	CHECK_EQ(lapic_ack_interrupt(cpu(m, 0)), 0x5a);
	/* the line drops, then EOI: remote IRR clears, nothing more */
	machine_set_irq(m, 10, 0);
	lapic_mmio_write(cpu(m, 0), EOI, 0);
	CHECK(!irr_has(m, 0, 0x5a));
	CHECK(!(io_rd(m, 0x10 + 20) & 0x4000));
	/* remote IRR is read-only */
	redirect(m, 10, 0x8000 | 0x4000 | 0x5a);
	CHECK(!(io_rd(m, 0x10 + 20) & 0x4000));
	/* asserted while masked: delivered on unmask */
	redirect(m, 10, 0x18000 | 0x5b);
	machine_set_irq(m, 10, 1);
	CHECK(!irr_has(m, 0, 0x5b));
	redirect(m, 10, 0x8000 | 0x5b);
	CHECK(irr_has(m, 0, 0x5b));
	teardown(m);
}

TEST(ioapic_routing_pit_and_logical)
{
	struct machine *m = setup(3);
	CHECK(m);
	for (unsigned i = 0; i < 3; i++)
		lapic_mmio_write(cpu(m, i), 0xd0, (1u << i) << 24); /* flat LDR */
	/* GSI 0 (PIT) arrives on pin 2 */
	redirect(m, 2, 0x05ULL << 56 | 0x800 | 0x30); /* logical: CPUs 0 and 2 */
	machine_pulse_irq(m, 0);
	CHECK(irr_has(m, 0, 0x30) && !irr_has(m, 1, 0x30) && irr_has(m, 2, 0x30));
	/* nothing on pin 0 */
	redirect(m, 0, 0x31);
	machine_pulse_irq(m, 0);
	CHECK(!irr_has(m, 0, 0x31));
	/* lowest priority, physical broadcast */
	lapic_mmio_write(cpu(m, 0), 0x80, 0x50);
	lapic_mmio_write(cpu(m, 2), 0x80, 0x50);
	redirect(m, 5, 0xffULL << 56 | 0x100 | 0x32);
	machine_pulse_irq(m, 5);
	CHECK(!irr_has(m, 0, 0x32) && irr_has(m, 1, 0x32) && !irr_has(m, 2, 0x32));
	/* NMI delivery mode */
	redirect(m, 6, 2ULL << 56 | 0x400);
	machine_pulse_irq(m, 6);
	CHECK(lapic_events(cpu(m, 2)) & LAPIC_EV_NMI);
	teardown(m);
}

TEST(ioapic_msi)
{
	struct machine *m = setup(2);
	CHECK(m);
	struct irqchip *ic = &m->irqchip;
	CHECK_EQ(ic->ops->send_msi(ic, 0xfee01000, 0x45), 0);
	CHECK(irr_has(m, 1, 0x45) && !irr_has(m, 0, 0x45));
	CHECK_EQ(ic->ops->send_msi(ic, 0xfee0f00c, 0x4046), 0); /* logical 0x0f: no LDR matches */
	CHECK(!irr_has(m, 0, 0x46) && !irr_has(m, 1, 0x46));
	lapic_mmio_write(cpu(m, 0), 0xd0, 0x01000000);
	CHECK_EQ(ic->ops->send_msi(ic, 0xfee0100c, 0x47), 0); /* logical 0x01 */
	CHECK(irr_has(m, 0, 0x47));
	CHECK_EQ(ic->ops->send_msi(ic, 0xfed00000, 0x48), -1);
	teardown(m);
}

TEST(ioapic_save_load)
{
	struct machine *a = setup(2), *b = setup(2);
	CHECK(a && b);
	io_wr(a, 0, 0x07000000);
	redirect(a, 9, 1ULL << 56 | 0x8000 | 0x61);
	machine_set_irq(a, 9, 1);
	CHECK(io_rd(a, 0x10 + 18) & 0x4000);
	CHECK_EQ(copy_device_state(a, b), 0);
	CHECK_EQ(io_rd(b, 0), 7u << 24);
	CHECK_EQ(io_rd(b, 0x11 + 18), 1u << 24);
	CHECK_EQ(io_rd(b, 0x10 + 18), 0xc061);
	CHECK(irr_has(b, 1, 0x61));
	/* the EOI of the restored LAPIC reaches the restored IOAPIC */
	CHECK_EQ(lapic_ack_interrupt(cpu(b, 1)), 0x61);
	machine_set_irq(b, 9, 0);
	lapic_mmio_write(cpu(b, 1), EOI, 0);
	CHECK_EQ(io_rd(b, 0x10 + 18), 0x8061);
	teardown(a);
	teardown(b);
}
