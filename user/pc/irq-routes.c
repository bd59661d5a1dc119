/*
 * The pc's interrupt wiring, the one table everything else is built from
 * (irq.h): the ISA IRQs on the two 8259s and, through the IOAPIC's first
 * 16 pins, with the PIT's IRQ 0 on pin 2 (the override every PC firmware
 * reports) and the cascade IRQ 2 on no pin; the ACPI SCI on IRQ 9,
 * level-triggered and active high (acpi_pm.c drives it so; ACPI 6.4
 * 5.2.9 would otherwise take it as active low); the PCI INTA#-INTD# lines
 * on GSIs 16-19, level-triggered and active low (PCI 3.0, 2.2.6).
 */
#include "hw/hw.h"
#include "pc/pc.h"

#define ISA_EDGE(irq) { .gsi = (irq), .pic_pin = (irq) }
#define PCI_INTX(g) { .gsi = (g), .pic_pin = IRQ_ROUTE_NONE, .level = true, \
			.active_low = true }

const struct irq_routing pc_irq_routing = {
	.nr_gsis = IRQCHIP_NR_GSIS,
	.isa = {
		[0] = { .gsi = 2, .pic_pin = 0 },
		[1] = ISA_EDGE(1),
		[2] = { .gsi = IRQ_ROUTE_NONE, .pic_pin = IRQ_ROUTE_NONE },
		[3] = ISA_EDGE(3), [4] = ISA_EDGE(4), [5] = ISA_EDGE(5),
		[6] = ISA_EDGE(6), [7] = ISA_EDGE(7), [8] = ISA_EDGE(8),
		[ACPI_SCI_GSI] = { .gsi = ACPI_SCI_GSI, .pic_pin = ACPI_SCI_GSI, .level = true },
		[10] = ISA_EDGE(10), [11] = ISA_EDGE(11), [12] = ISA_EDGE(12),
		[13] = ISA_EDGE(13), [14] = ISA_EDGE(14), [15] = ISA_EDGE(15),
	},
	.pci = { PCI_INTX(16), PCI_INTX(17), PCI_INTX(18), PCI_INTX(19) },
};
