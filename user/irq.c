/* Lookups in a board's interrupt routing table (irq.h). */
#include "irq.h"

const struct irq_route *irq_route_of_line(const struct irq_routing *r, unsigned line)
{
	if (!r)
		return NULL;
	if (line < IRQ_ISA_LINES) {
		const struct irq_route *isa = &r->isa[line];
		return isa->gsi == IRQ_ROUTE_NONE && isa->pic_pin == IRQ_ROUTE_NONE ? NULL : isa;
	}
	for (unsigned i = 0; i < IRQ_PCI_LINES; i++)
		if (r->pci[i].gsi >= 0 && (unsigned)r->pci[i].gsi == line)
			return &r->pci[i];
	return NULL;
}

unsigned irq_pci_index(unsigned slot, unsigned pin)
{
	return (slot + pin) % IRQ_PCI_LINES;
}

int irq_pci_line(const struct irq_routing *r, unsigned slot, unsigned pin)
{
	return r ? r->pci[irq_pci_index(slot, pin)].gsi : IRQ_ROUTE_NONE;
}

/* Polarity in bits 1:0 (01 active high, 11 active low), trigger mode in
 * bits 3:2 (01 edge, 11 level); 00 in both conforms to the bus, which for
 * ISA is edge and active high. */
uint16_t irq_isa_inti_flags(const struct irq_route *r)
{
	if (!r->level && !r->active_low)
		return 0;
	return (r->active_low ? 3 : 1) | (r->level ? 3 : 1) << 2;
}
