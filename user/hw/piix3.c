/*
 * The PIIX3 PCI-to-ISA bridge at 00:01.0 (Intel 82371SB datasheet), as
 * firmware finds it on QEMU's pc: function 0 of the slot the IDE
 * controller (function 1) shares.  Of its registers qvm keeps the PIRQ
 * route control registers PIRQRC[A:D] (0x60-0x63: bit 7 disables the
 * route, bits 3:0 name the ISA IRQ), which SeaBIOS programs and reports
 * in its PCI interrupt routing table.  The route itself is fixed: PCI
 * interrupts go to the IOAPIC pins of the board's table (irq-routes.c,
 * the DSDT's _PRT), not through the 8259s; guests that use the 8259s for
 * PCI interrupts (no APIC) get none.  The ELCR is the 8259's (i8259.c).
 */
#include <stdlib.h>
#include "machine.h"
#include "hw.h"

#define PIIX3_VENDOR 0x8086
#define PIIX3_DEVICE 0x7000
#define PIIX3_CLASS 0x060100    /* bridge, PCI-to-ISA */
#define PIIX3_PIRQRC 0x60
#define PIRQ_DISABLED 0x80
#define PIRQ_WRITABLE 0x8f

struct piix3 {
	struct pci_device *pci;
};

static void piix3_reset(void *dev)
{
	struct piix3 *p = dev;
	pci_host_lock(p->pci->host);
	for (unsigned i = 0; i < 4; i++)
		p->pci->config[PIIX3_PIRQRC + i] = PIRQ_DISABLED;
	pci_host_unlock(p->pci->host);
}

static const struct device_ops piix3_device_ops = {
	.name = "piix3",
	.reset = piix3_reset,
	.destroy = free,
};

struct piix3 *piix3_new(struct machine *m, struct pci_host *h)
{
	struct piix3 *p = calloc(1, sizeof(*p));
	if (!p) {
		qvm_error("piix3: out of memory");
		return NULL;
	}
	p->pci = pci_register_device(h, 1, 0, PIIX3_VENDOR, PIIX3_DEVICE, PIIX3_CLASS, 0,
				     NULL, p);
	if (!p->pci) {
		free(p);
		return NULL;
	}
	/* a multi-function device: IDE is function 1 */
	p->pci->config[0x0e] = 0x80;
	for (unsigned i = 0; i < 4; i++)
		p->pci->wmask[PIIX3_PIRQRC + i] = PIRQ_WRITABLE;
	machine_add_device(m, &piix3_device_ops, p);
	piix3_reset(p);
	return p;
}
