/*
 * The irqchip interface.  Devices raise GSIs and MSIs through it and never
 * know whether the kernel's interrupt controllers (kvm) or qvm's own
 * (tcg, kqemu) are behind it.
 *
 * GSI numbering follows the MADT qvm builds: ISA IRQ n is GSI n, except
 * IRQ 0 (PIT) which is overridden to GSI 2, as on every PC since the IOAPIC.
 */
#ifndef QVM_IRQ_H
#define QVM_IRQ_H

#include "qvm.h"

struct irqchip;

struct irqchip_ops {
	const char *name;
	/* Set the line level of a GSI (0 or 1).  Edge-triggered ISA devices
	 * pulse it: 1 then 0. */
	void (*set_irq)(struct irqchip *chip, unsigned gsi, int level);
	/* Deliver a message-signalled interrupt; 0 or -1. */
	int (*send_msi)(struct irqchip *chip, uint64_t addr, uint32_t data);
};

struct irqchip {
	const struct irqchip_ops *ops;
	void *opaque;
};

#define IRQCHIP_NR_GSIS 24 /* one IOAPIC, 24 pins */

#endif
