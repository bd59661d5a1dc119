/*
 * The PIIX3 PCI-to-ISA bridge at 00:01.0 (Intel 82371SB datasheet), as
 * firmware finds it on QEMU's pc: function 0 of the slot the IDE
 * controller (function 1) shares.  Of its registers qvm keeps the PIRQ
 * route control registers PIRQRC[A:D] (0x60-0x63, datasheet 2.3.16: bit 7
 * disables the route, bits 3:0 name the ISA IRQ), which SeaBIOS programs
 * and the DSDT's interrupt link devices LNKA-LNKD read and write
 * (acpi-dsdt.c).  PCI interrupt line n (the board's routing pci[n],
 * INTx rotated by slot) always reaches its IOAPIC pin; a PIRQRC route
 * also sends it to that 8259 input (the irqchip's route_pirq), which is
 * what a guest without an IOAPIC (noapic, or no MADT) uses.  IRQs 0-2, 8
 * and 13 are reserved there (2.3.16) and route nowhere.  The ELCR is the
 * 8259's (i8259.c).
 */
#include <stdlib.h>
#include "machine.h"
#include "hw.h"
#include "irq.h"
#include "state.h"

#define PIIX3_VENDOR 0x8086
#define PIIX3_DEVICE 0x7000
#define PIIX3_CLASS 0x060100    /* bridge, PCI-to-ISA */
#define PIIX3_PIRQRC 0x60
#define PIRQ_DISABLED 0x80
#define PIRQ_WRITABLE 0x8f
#define PIIX3_STATE_VERSION 1
/* ISA IRQs a PIRQ may be routed to: 3-7, 9-12, 14, 15 */
#define PIRQ_VALID_IRQS 0xdef8u

struct piix3 {
	struct machine *m;
	struct pci_device *pci;
};

/* The 8259 input of PIRQRC value v, or IRQ_ROUTE_NONE. */
static int pirq_target(uint8_t v)
{
	unsigned irq = v & 0xf;
	return v & PIRQ_DISABLED || !(PIRQ_VALID_IRQS >> irq & 1) ? IRQ_ROUTE_NONE : (int)irq;
}

/* Tell the irqchip where PIRQ n goes now (host lock held or the guest
 * stopped). */
static void pirq_apply(struct piix3 *p, unsigned n)
{
	struct irqchip *ic = &p->m->irqchip;
	if (ic->ops && ic->ops->route_pirq)
		ic->ops->route_pirq(ic, n, pirq_target(p->pci->config[PIIX3_PIRQRC + n]));
}

static void piix3_config_write(struct pci_device *d, unsigned off, unsigned size)
{
	for (unsigned n = 0; n < IRQ_PCI_LINES; n++)
		if (off <= PIIX3_PIRQRC + n && PIIX3_PIRQRC + n < off + size)
			pirq_apply(d->opaque, n);
}

static const struct pci_device_ops piix3_pci_ops = {
	.config_write = piix3_config_write,
};

static void piix3_reset(void *dev)
{
	struct piix3 *p = dev;
	pci_host_lock(p->pci->host);
	for (unsigned i = 0; i < IRQ_PCI_LINES; i++) {
		p->pci->config[PIIX3_PIRQRC + i] = PIRQ_DISABLED;
		pirq_apply(p, i);
	}
	pci_host_unlock(p->pci->host);
}

/* The registers travel with the PCI host's config spaces; the routes
 * are made again from them. */
static void piix3_save(void *dev, struct state_buf *s)
{
	(void)dev;
	state_put_u8(s, PIIX3_STATE_VERSION);
}

static int piix3_load(void *dev, struct state_buf *s)
{
	struct piix3 *p = dev;
	if (state_get_u8(s) != PIIX3_STATE_VERSION || s->error)
		return -1;
	pci_host_lock(p->pci->host);
	for (unsigned i = 0; i < IRQ_PCI_LINES; i++)
		pirq_apply(p, i);
	pci_host_unlock(p->pci->host);
	return 0;
}

static const struct device_ops piix3_device_ops = {
	.name = "piix3",
	.reset = piix3_reset,
	.save = piix3_save,
	.load = piix3_load,
	.destroy = free,
};

struct piix3 *piix3_new(struct machine *m, struct pci_host *h)
{
	struct piix3 *p = calloc(1, sizeof(*p));
	if (!p) {
		qvm_error("piix3: out of memory");
		return NULL;
	}
	p->m = m;
	p->pci = pci_register_device(h, 1, 0, PIIX3_VENDOR, PIIX3_DEVICE, PIIX3_CLASS, 0,
				     &piix3_pci_ops, p);
	if (!p->pci) {
		free(p);
		return NULL;
	}
	/* a multi-function device: IDE is function 1 */
	p->pci->config[0x0e] = 0x80;
	for (unsigned i = 0; i < IRQ_PCI_LINES; i++)
		p->pci->wmask[PIIX3_PIRQRC + i] = PIRQ_WRITABLE;
	machine_add_device(m, &piix3_device_ops, p);
	piix3_reset(p);
	return p;
}
