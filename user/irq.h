/*
 * The irqchip interface, and the board's interrupt wiring.  Devices raise
 * interrupt lines and MSIs through the irqchip and never know whether the
 * kernel's interrupt controllers (kvm) or qvm's own (tcg, kqemu) are
 * behind it.
 *
 * Line numbers (machine_set_irq): 0-15 are the ISA IRQs; 16 and up are
 * IOAPIC inputs (GSIs) that carry PCI INTx.  Where each line arrives, on
 * the 8259s and on the IOAPIC, and how the guest is told to program it, is
 * the board's one routing table (struct irq_routing, pc/irq-routes.c for
 * the pc).  The firmware tables (MADT interrupt source overrides, MP table,
 * the DSDT's _PRT) and both irqchips (the KVM GSI routes in kvm.c, the
 * user-space irqchip in hw/irqchip_user.c) are built from it.
 */
#ifndef QVM_IRQ_H
#define QVM_IRQ_H

#include "qvm.h"

struct irqchip;

struct irqchip_ops {
	const char *name;
	/* Set the level of an interrupt line (0 or 1).  Edge-triggered ISA
	 * devices pulse it: 1 then 0. */
	void (*set_irq)(struct irqchip *chip, unsigned line, int level);
	/* Deliver a message-signalled interrupt; 0 or -1. */
	int (*send_msi)(struct irqchip *chip, uint64_t addr, uint32_t data);
	/* Optional (NULL: PCI interrupts reach the IOAPIC only): the PIIX3's
	 * PIRQ route control for PCI interrupt line n (the routing's pci[n],
	 * PIRQA-D): it also drives 8259 input pic_pin (0-15), or none
	 * (IRQ_ROUTE_NONE).  Lines routed to one input are ORed. */
	void (*route_pirq)(struct irqchip *chip, unsigned n, int pic_pin);
};

struct irqchip {
	const struct irqchip_ops *ops;
	void *opaque;
};

#define IRQCHIP_NR_GSIS 24 /* one IOAPIC, 24 pins; also the number of lines */

#define IRQ_ROUTE_NONE (-1)
#define IRQ_ISA_LINES 16
#define IRQ_PCI_LINES 4

/* Where one interrupt line arrives, and how it is signalled on the wire.
 * The irqchips take "asserted" levels whatever the polarity; level and
 * active_low tell the guest how to program its IOAPIC (through the MADT,
 * the MP table and the _PRT). */
struct irq_route {
	int gsi;                /* IOAPIC input, or IRQ_ROUTE_NONE */
	int pic_pin;            /* 8259 input 0-15, or IRQ_ROUTE_NONE */
	bool level;             /* level-triggered, else edge */
	bool active_low;
};

struct irq_routing {
	unsigned nr_gsis;                       /* IOAPIC inputs 0 .. nr_gsis-1 */
	/* ISA IRQ n is line n.  A gsi other than n, or a trigger or polarity
	 * other than the bus's (edge, active high), becomes an interrupt source
	 * override in the MADT. */
	struct irq_route isa[IRQ_ISA_LINES];
	/* The PCI interrupt lines: INTx pin p (0 = INTA#) of slot s is wired
	 * to pci[(s + p) % IRQ_PCI_LINES] (the _PRT says so); its line number
	 * is that route's gsi. */
	struct irq_route pci[IRQ_PCI_LINES];
};

/* irq.c: the route of a line (NULL when nothing is wired to it); the line
 * of INTx pin (0-3) of a PCI slot (IRQ_ROUTE_NONE without a routing). */
const struct irq_route *irq_route_of_line(const struct irq_routing *r, unsigned line);
int irq_pci_line(const struct irq_routing *r, unsigned slot, unsigned pin);
/* Which of the PCI lines (pci[n], the PIIX3's PIRQn) INTx pin of slot
 * drives. */
unsigned irq_pci_index(unsigned slot, unsigned pin);
/* The MPS INTI flags of an ISA IRQ's route (ACPI 6.4 5.2.12.5, MP spec
 * 4.3.4): 0 ("conforms to the bus") for edge and active high. */
uint16_t irq_isa_inti_flags(const struct irq_route *r);

#endif
