/*
 * The KVM engine's side of the irqchip interface (irq.h): interrupt lines
 * as KVM GSIs of the in-kernel PIC and IOAPIC, MSIs through
 * KVM_SIGNAL_MSI, and the PIIX3's PIRQ routes to the 8259s.
 *
 * KVM's "GSIs" 0 .. IRQCHIP_NR_GSIS-1 are qvm's interrupt lines, each
 * routed (KVM_SET_GSI_ROUTING) to the 8259 input and the IOAPIC pin of the
 * board's table.  Lines the PIIX3 sends to an 8259 input as well (PIRQRC,
 * for a guest without an IOAPIC) cannot simply get a second route: KVM's
 * PIC keeps one level per input and source, so two GSIs on one input
 * would overwrite each other's level, and a route change would strand a
 * level on the old input.  So qvm ORs the PCI lines routed to each input
 * itself and drives that input alone through its own GSI,
 * KVM_PIRQ_GSI_BASE + input, which reaches only the 8259 (not the
 * IOAPIC pin of the same number, which the guest may use for an ISA
 * device or leave masked).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "config.h"
#include "kvm/kvm.h"

static void kvm_irq_line(struct kvm_vm *k, unsigned gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };
	if (ioctl(k->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		qvm_log(LOG_GUEST_ERRORS, "KVM_IRQ_LINE gsi %u: %s", gsi, strerror(errno));
}

int kvm_pirq_input_level(const struct irq_routing *routing, const int8_t *pirq_pic,
			 const uint8_t *line_level, int pic_pin)
{
	int level = 0;
	if (pic_pin < 0)
		return 0;
	for (unsigned n = 0; n < IRQ_PCI_LINES; n++) {
		int line = routing->pci[n].gsi;
		if (pirq_pic[n] == pic_pin && line >= 0 && line < IRQCHIP_NR_GSIS)
			level |= line_level[line];
	}
	return level;
}

/* Drive 8259 input pic_pin with the OR of the PCI lines routed to it;
 * under k->irq_lock. */
static void kvm_pirq_update(struct kvm_vm *k, int pic_pin)
{
	if (pic_pin < 0 || pic_pin >= IRQ_ISA_LINES)
		return;
	kvm_irq_line(k, KVM_PIRQ_GSI_BASE + pic_pin,
		     kvm_pirq_input_level(k->routing, k->pirq_pic, k->line_level, pic_pin));
}

static void kvm_set_irq(struct irqchip *chip, unsigned line, int level)
{
	struct kvm_vm *k = chip->opaque;
	if (line >= IRQCHIP_NR_GSIS)
		return;
	pthread_mutex_lock(&k->irq_lock);
	k->line_level[line] = !!level;
	kvm_irq_line(k, line, level);
	for (unsigned n = 0; n < IRQ_PCI_LINES; n++)
		if (k->routing->pci[n].gsi == (int)line)
			kvm_pirq_update(k, k->pirq_pic[n]);
	pthread_mutex_unlock(&k->irq_lock);
}

static int kvm_send_msi(struct irqchip *chip, uint64_t addr, uint32_t data)
{
	struct kvm_vm *k = chip->opaque;
	struct kvm_msi msi = { .address_lo = (uint32_t)addr,
			       .address_hi = addr >> 32, .data = data };
	return ioctl(k->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -1 : 0;
}

/* PIRQ n now goes to 8259 input pic_pin (or none): the old and the new
 * input take their new ORed levels. */
static void kvm_route_pirq(struct irqchip *chip, unsigned n, int pic_pin)
{
	struct kvm_vm *k = chip->opaque;
	if (n >= IRQ_PCI_LINES || pic_pin >= IRQ_ISA_LINES || pic_pin < IRQ_ROUTE_NONE)
		return;
	pthread_mutex_lock(&k->irq_lock);
	int old = k->pirq_pic[n];
	k->pirq_pic[n] = (int8_t)pic_pin;
	if (old != pic_pin) {
		kvm_pirq_update(k, old);
		kvm_pirq_update(k, pic_pin);
	}
	pthread_mutex_unlock(&k->irq_lock);
}

static const struct irqchip_ops kvm_irqchip_ops = {
	.name = "kvm (in-kernel LAPIC, IOAPIC, PIC)",
	.set_irq = kvm_set_irq,
	.send_msi = kvm_send_msi,
	.route_pirq = kvm_route_pirq,
};

static void add_route(struct kvm_irq_routing *r, unsigned gsi, unsigned pic_or_ioapic_pin,
		      bool ioapic)
{
	struct kvm_irq_routing_entry *e = &r->entries[r->nr++];
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	if (ioapic) {
		e->u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		e->u.irqchip.pin = pic_or_ioapic_pin;
	} else {
		e->u.irqchip.irqchip = pic_or_ioapic_pin < 8 ? KVM_IRQCHIP_PIC_MASTER :
			KVM_IRQCHIP_PIC_SLAVE;
		e->u.irqchip.pin = pic_or_ioapic_pin % 8;
	}
}

/*
 * One GSI per 8259 input for the PIRQ routes (see the top of the file),
 * then each line to what the board's routing table wires it to: an 8259
 * input and/or an IOAPIC pin.  The in-kernel PIT raises line 0.
 *
 * The order matters: KVM maps each chip input back to one GSI, the last
 * route to it, and calls that GSI's ack notifiers when the guest acks
 * the input.  The PIT's is on GSI 0: were input 0 mapped to a PIRQ GSI,
 * a PIT in KVM's reinject mode would wait for an ack that never comes
 * and tick once through the 8259 (guest/timers saw 1 tick).
 */
int kvm_build_routing(const struct irq_routing *routing, struct kvm_irq_routing *r)
{
	r->nr = 0;
	for (unsigned pin = 0; pin < IRQ_ISA_LINES; pin++)
		add_route(r, KVM_PIRQ_GSI_BASE + pin, pin, false);
	for (unsigned line = 0; line < IRQCHIP_NR_GSIS; line++) {
		const struct irq_route *route = irq_route_of_line(routing, line);
		if (!route)
			continue;
		if (route->pic_pin != IRQ_ROUTE_NONE)
			add_route(r, line, route->pic_pin, false);
		if (route->gsi != IRQ_ROUTE_NONE)
			add_route(r, line, route->gsi, true);
	}
	return r->nr;
}

int kvm_setup_routing(struct kvm_vm *k, const struct irq_routing *routing)
{
	if (!routing) {
		qvm_error("kvm: the board gave no interrupt routing");
		return -1;
	}
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + KVM_ROUTES_MAX * sizeof(r->entries[0]));
	if (!r)
		return -1;
	kvm_build_routing(routing, r);
	int ret = ioctl(k->vm_fd, KVM_SET_GSI_ROUTING, r);
	free(r);
	if (ret < 0) {
		qvm_error("KVM_SET_GSI_ROUTING: %s", strerror(errno));
		return -1;
	}
	k->routing = routing;
	pthread_mutex_init(&k->irq_lock, NULL);
	for (unsigned n = 0; n < IRQ_PCI_LINES; n++)
		k->pirq_pic[n] = IRQ_ROUTE_NONE;
	return 0;
}

void kvm_irqchip_attach(struct machine *m, struct kvm_vm *k)
{
	m->irqchip = (struct irqchip){ .ops = &kvm_irqchip_ops, .opaque = k };
}
