/* The pc's interrupt routing table (user/pc/irq-routes.c) and what is
 * built from it: the user-space irqchip's wiring (hw/irqchip_user.c) and
 * the KVM GSI routes (kvm/kvm.c).  The firmware tables' side is in
 * test_tables.c (MADT, MP table) and test_acpi.c (_PRT). */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "devtest.h"
#include "cpu.h"
#include "machine.h"
#include "hw/apic.h"
#include "hw/hw.h"
#include "kvm/kvm.h"
#include "pc/pc.h"

#define IOAPIC 0xfec00000ULL
#define SVR 0xf0
#define EOI 0xb0
#define IRR 0x200
#define VEC(pin) (0x40 + (pin))

static struct machine *setup(void)
{
	struct machine *m = machine_new(16 * MiB);
	if (!m)
		return NULL;
	m->nr_vcpus = 1;
	m->vcpus = calloc(1, sizeof(*m->vcpus));
	m->irq_routing = &pc_irq_routing;
	if (irqchip_user_init(m) < 0)
		return NULL;
	struct vcpu *v = calloc(1, sizeof(*v));
	v->m = m;
	m->vcpus[0] = v;
	if (!lapic_new(m, v))
		return NULL;
	lapic_mmio_write(v->lapic, SVR, 0x1ff);
	return m;
}

static void teardown(struct machine *m)
{
	lapic_free(m->vcpus[0]->lapic);
	free(m->vcpus[0]);
	machine_free(m);
}

static void io_wr(struct machine *m, uint8_t reg, uint32_t val)
{
	uint64_t v = reg;
	machine_mmio(m, IOAPIC, true, &v, 4);
	v = val;
	machine_mmio(m, IOAPIC + 0x10, true, &v, 4);
}

/* Which IOAPIC pins' vectors reached the LAPIC, as a bit mask; each is
 * acknowledged and ended once. */
static uint32_t take_pins(struct machine *m)
{
	struct lapic *a = m->vcpus[0]->lapic;
	uint32_t pins = 0;
	for (unsigned pin = 0; pin < IRQCHIP_NR_GSIS; pin++)
		if (lapic_mmio_read(a, IRR + VEC(pin) / 32 * 0x10) & (1u << VEC(pin) % 32))
			pins |= 1u << pin;
	for (unsigned i = 0; i < IRQCHIP_NR_GSIS && lapic_ack_interrupt(a) >= 0; i++)
		lapic_mmio_write(a, EOI, 0);
	return pins;
}

/* 8259s set up as Linux does; ICW1 also clears IRR (edge inputs). */
static void pic_init(struct machine *m)
{
	static const uint8_t icw[2][4] = { { 0x11, 0x20, 0x04, 0x01 },
					   { 0x11, 0x28, 0x02, 0x01 } };
	for (unsigned c = 0; c < 2; c++)
		for (unsigned i = 0; i < 4; i++)
			pio_out(m, (c ? 0xa0 : 0x20) + (i ? 1 : 0), icw[c][i], 1);
}

/* The 8259 inputs whose IRR is set, slave's as bits 8-15; the master's
 * IR2 (the cascade) left out. */
static unsigned pic_irr(struct machine *m)
{
	return (pio_in(m, 0x20, 1) & ~4u) | pio_in(m, 0xa0, 1) << 8;
}

TEST(irq_routes_user_irqchip_follows_the_table)
{
	struct machine *m = setup();
	CHECK(m);
	for (unsigned pin = 0; pin < IRQCHIP_NR_GSIS; pin++) {
		io_wr(m, 0x11 + 2 * pin, 0);                   /* APIC ID 0 */
		io_wr(m, 0x10 + 2 * pin, VEC(pin));            /* fixed, edge, unmasked */
	}
	unsigned wired = 0;
	for (unsigned line = 0; line < IRQCHIP_NR_GSIS; line++) {
		const struct irq_route *r = irq_route_of_line(&pc_irq_routing, line);
		pic_init(m);
		machine_pulse_irq(m, line);
		uint32_t pins = take_pins(m);
		unsigned pic = pic_irr(m);
		if (!r) {
			CHECK_EQ(pins, 0);
			CHECK_EQ(pic, 0);
			continue;
		}
		wired++;
		CHECK_EQ(pins, r->gsi == IRQ_ROUTE_NONE ? 0 : 1u << r->gsi);
		CHECK_EQ(pic, r->pic_pin == IRQ_ROUTE_NONE ? 0 : 1u << r->pic_pin);
	}
	CHECK_EQ(wired, 15 + IRQ_PCI_LINES);                   /* all but the cascade */
	/* the pc's facts, as the MADT and the _PRT tell them */
	CHECK_EQ(pc_irq_routing.isa[0].gsi, 2);
	CHECK_EQ(pc_irq_routing.isa[0].pic_pin, 0);
	CHECK(pc_irq_routing.isa[9].level && !pc_irq_routing.isa[9].active_low);
	CHECK_EQ(irq_pci_line(&pc_irq_routing, 3, 0), 19);
	CHECK_EQ(irq_pci_line(&pc_irq_routing, 1, 3), 16);
	teardown(m);
}

/* Two lines on one pin are ORed (here ISA IRQs 0 and 2 both on pin 2):
 * an edge-triggered pin sees a new edge only when both were low. */
TEST(irq_routes_shared_pin_is_wired_or)
{
	static struct irq_routing shared;
	shared = pc_irq_routing;
	shared.isa[2] = (struct irq_route){ .gsi = 2, .pic_pin = IRQ_ROUTE_NONE };
	struct machine *m = machine_new(16 * MiB);
	CHECK(m);
	m->irq_routing = &shared;
	m->nr_vcpus = 1;
	m->vcpus = calloc(1, sizeof(*m->vcpus));
	CHECK(irqchip_user_init(m) == 0);
	struct vcpu *v = calloc(1, sizeof(*v));
	v->m = m;
	m->vcpus[0] = v;
	CHECK(lapic_new(m, v));
	lapic_mmio_write(v->lapic, SVR, 0x1ff);
	io_wr(m, 0x10 + 2 * 2, VEC(2));                        /* edge */
	machine_set_irq(m, 0, 1);
	CHECK_EQ(take_pins(m), 1u << 2);
	machine_set_irq(m, 2, 1);
	CHECK_EQ(take_pins(m), 0);                              /* already high */
	machine_set_irq(m, 0, 0);
	machine_set_irq(m, 0, 1);
	CHECK_EQ(take_pins(m), 0);                              /* line 2 held it */
	machine_set_irq(m, 0, 0);
	machine_set_irq(m, 2, 0);
	machine_set_irq(m, 2, 1);
	CHECK_EQ(take_pins(m), 1u << 2);
	teardown(m);
}

/* KVM's GSI routes: each line to exactly the 8259 input and IOAPIC pin
 * of its route, nothing for unwired lines. */
TEST(irq_routes_kvm_gsi_routes_follow_the_table)
{
	size_t max = KVM_ROUTES_MAX;
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + max * sizeof(r->entries[0]));
	CHECK(r);
	int n = kvm_build_routing(&pc_irq_routing, r);
	CHECK(n > 0 && (size_t)n <= max);
	int pic[IRQCHIP_NR_GSIS], ioapic[IRQCHIP_NR_GSIS], pirq[IRQ_ISA_LINES];
	/* KVM maps an 8259 input back to the last GSI routed to it (its ack
	 * notifiers: the PIT's on GSI 0); that must be the ISA line's */
	int last_gsi_of_input[IRQ_ISA_LINES];
	for (unsigned i = 0; i < IRQCHIP_NR_GSIS; i++)
		pic[i] = ioapic[i] = IRQ_ROUTE_NONE;
	for (unsigned i = 0; i < IRQ_ISA_LINES; i++)
		pirq[i] = last_gsi_of_input[i] = IRQ_ROUTE_NONE;
	for (int i = 0; i < n; i++) {
		const struct kvm_irq_routing_entry *e = &r->entries[i];
		CHECK_EQ(e->type, KVM_IRQ_ROUTING_IRQCHIP);
		if (e->u.irqchip.irqchip != KVM_IRQCHIP_IOAPIC)
			last_gsi_of_input[e->u.irqchip.pin +
					  (e->u.irqchip.irqchip == KVM_IRQCHIP_PIC_SLAVE ? 8 : 0)] =
				(int)e->gsi;
		CHECK(e->gsi < KVM_PIRQ_GSI_BASE + IRQ_ISA_LINES);
		if (e->gsi >= KVM_PIRQ_GSI_BASE) {
			/* the PIRQ inputs: one 8259 input each, never the IOAPIC */
			unsigned in = e->gsi - KVM_PIRQ_GSI_BASE;
			CHECK(e->u.irqchip.irqchip != KVM_IRQCHIP_IOAPIC);
			CHECK_EQ(pirq[in], IRQ_ROUTE_NONE);
			pirq[in] = e->u.irqchip.pin +
				   (e->u.irqchip.irqchip == KVM_IRQCHIP_PIC_SLAVE ? 8 : 0);
			continue;
		}
		if (e->u.irqchip.irqchip == KVM_IRQCHIP_IOAPIC) {
			CHECK_EQ(ioapic[e->gsi], IRQ_ROUTE_NONE);
			ioapic[e->gsi] = e->u.irqchip.pin;
		} else {
			CHECK_EQ(pic[e->gsi], IRQ_ROUTE_NONE);
			pic[e->gsi] = e->u.irqchip.pin +
				      (e->u.irqchip.irqchip == KVM_IRQCHIP_PIC_SLAVE ? 8 : 0);
		}
	}
	for (unsigned line = 0; line < IRQCHIP_NR_GSIS; line++) {
		const struct irq_route *rt = irq_route_of_line(&pc_irq_routing, line);
		CHECK_EQ(ioapic[line], rt ? rt->gsi : IRQ_ROUTE_NONE);
		CHECK_EQ(pic[line], rt ? rt->pic_pin : IRQ_ROUTE_NONE);
	}
	CHECK_EQ(ioapic[0], 2);                                 /* the PIT's override */
	for (int in = 0; in < IRQ_ISA_LINES; in++) {
		CHECK_EQ(pirq[in], in);
		const struct irq_route *rt = irq_route_of_line(&pc_irq_routing, in);
		if (rt && rt->pic_pin == in)
			CHECK_EQ(last_gsi_of_input[in], in);
	}
	free(r);
}

/* Under KVM the PCI lines a PIRQRC sends to one 8259 input are ORed by
 * qvm (KVM's PIC keeps one level per input): the input is high while any
 * of them is, and a line routed elsewhere or nowhere does not count. */
TEST(irq_routes_kvm_pirq_inputs_or_their_lines)
{
	uint8_t level[IRQCHIP_NR_GSIS] = { 0 };
	int8_t route[IRQ_PCI_LINES] = { 10, 10, 11, IRQ_ROUTE_NONE };
	const struct irq_routing *r = &pc_irq_routing;
	CHECK_EQ(kvm_pirq_input_level(r, route, level, 10), 0);
	level[r->pci[1].gsi] = 1;
	CHECK_EQ(kvm_pirq_input_level(r, route, level, 10), 1);
	CHECK_EQ(kvm_pirq_input_level(r, route, level, 11), 0);
	level[r->pci[0].gsi] = 1;
	level[r->pci[1].gsi] = 0;
	CHECK_EQ(kvm_pirq_input_level(r, route, level, 10), 1);  /* A still high */
	level[r->pci[0].gsi] = 0;
	level[r->pci[3].gsi] = 1;                               /* D routed nowhere */
	CHECK_EQ(kvm_pirq_input_level(r, route, level, 10), 0);
	CHECK_EQ(kvm_pirq_input_level(r, route, level, IRQ_ROUTE_NONE), 0);
	level[r->pci[2].gsi] = 1;
	CHECK_EQ(kvm_pirq_input_level(r, route, level, 11), 1);
}

static void pirqrc(struct machine *m, unsigned n, uint8_t v)
{
	pio_out(m, 0xcf8, 0x80000000u | 1u << 11 | 0x60, 4);   /* 00:01.0 */
	pio_out(m, 0xcfc + n, v, 1);
}

/* The PIIX3's PIRQRC[A-D] send the PCI lines to the 8259s too (the guest
 * without an IOAPIC): a route made while the line is high shows at once,
 * two lines on one IRQ are ORed, a disabled or reserved route reaches
 * nothing, and the IOAPIC pin keeps its line throughout. */
TEST(irq_routes_pirq_to_pic)
{
	struct machine *m = setup();
	CHECK(m);
	struct pci_host *h = pci_host_new(m);
	CHECK(h && piix3_new(m, h));
	pic_init(m);
	pio_out(m, 0x4d1, 0x0c, 1);                             /* ELCR: 10, 11 level */
	unsigned a = pc_irq_routing.pci[0].gsi, b = pc_irq_routing.pci[1].gsi;
	machine_set_irq(m, a, 1);
	CHECK_EQ(pic_irr(m), 0);                                /* PIRQA off after reset */
	pirqrc(m, 0, 10);
	CHECK_EQ(pic_irr(m), 1u << 10);
	pirqrc(m, 1, 10);
	machine_set_irq(m, b, 1);
	machine_set_irq(m, a, 0);
	CHECK_EQ(pic_irr(m), 1u << 10);                         /* PIRQB holds it */
	machine_set_irq(m, b, 0);
	CHECK_EQ(pic_irr(m), 0);
	machine_set_irq(m, a, 1);
	pirqrc(m, 0, 11);                                       /* moved: 10 low, 11 high */
	CHECK_EQ(pic_irr(m), 1u << 11);
	pirqrc(m, 0, 0x8b);                                     /* bit 7: off */
	CHECK_EQ(pic_irr(m), 0);
	pirqrc(m, 0, 2);                                        /* reserved IRQ */
	CHECK_EQ(pic_irr(m), 0);
	pirqrc(m, 0, 10);
	CHECK_EQ(pic_irr(m), 1u << 10);
	machine_reset_devices(m);                               /* routes off again */
	pic_init(m);
	pio_out(m, 0x4d1, 0x0c, 1);
	CHECK_EQ(pic_irr(m), 0);
	machine_set_irq(m, a, 0);
	teardown(m);
}
