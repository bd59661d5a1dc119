/*
 * The user-space irqchip: the dual 8259 PIC, the IOAPIC and the 8254 PIT
 * behind the irqchip interface of irq.h, and the interrupt message bus
 * that the IOAPIC, MSIs and IPIs use to reach the LAPICs.
 *
 * Each interrupt line drives the 8259 input and the IOAPIC pin the
 * board's routing table (m->irq_routing, irq.h) gives it, the table the
 * in-kernel irqchip (kvm.c) and the firmware tables follow too.  Lines
 * wired to the same input are ORed (shared, as on a real board).  The
 * PCI lines reach an 8259 input too where the PIIX3's PIRQ route control
 * sends them (route_pirq: the guest without an IOAPIC).
 *
 * The PIC's INT output drives LINT0 of the BSP's LAPIC (virtual wire).
 * LAPICs come later, one per vCPU (lapic_new), and are found through
 * m->vcpus[i]->lapic; they are saved and loaded by the "lapic" device
 * registered here.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "cpu.h"
#include "machine.h"
#include "apic.h"
#include "apic-internal.h"

#define IOAPIC_BASE 0xfec00000ULL
#define LAPICS_STATE_VERSION 1

struct irqchip_user {
	struct machine *m;
	pthread_mutex_t lock;   /* line_level, and the order of line changes */
	uint8_t line_level[IRQCHIP_NR_GSIS];
	/* each line's inputs, from the routing table: IRQ_ROUTE_NONE or one */
	int8_t pic_pin[IRQCHIP_NR_GSIS], ioapic_pin[IRQCHIP_NR_GSIS];
	struct i8259 *pic;
	struct ioapic *ioapic;
	struct i8254 *pit;
	unsigned lowest_next;   /* round robin among equal priorities, atomic */
};

static const struct irqchip_ops irqchip_user_ops;

static struct irqchip_user *chip_of(struct machine *m)
{
	return m->irqchip.ops == &irqchip_user_ops ? m->irqchip.opaque : NULL;
}

static struct lapic *lapic_of(struct machine *m, unsigned i)
{
	if (!m->vcpus)
		return NULL;
	struct vcpu *v = __atomic_load_n(&m->vcpus[i], __ATOMIC_ACQUIRE);
	return v ? __atomic_load_n(&v->lapic, __ATOMIC_ACQUIRE) : NULL;
}

/* ---- the message bus ---- */

/* Lowest priority: the matching LAPIC with the lowest arbitration
 * priority [SDM 11.6.2.4]; ties go round robin. */
static unsigned deliver_lowest(struct machine *m, const struct apic_msg *msg)
{
	struct irqchip_user *chip = chip_of(m);
	unsigned n = m->nr_vcpus, start = 0, best_prio = ~0u;
	struct lapic *best = NULL;
	if (!n)
		return 0;
	if (chip)
		start = __atomic_fetch_add(&chip->lowest_next, 1, __ATOMIC_RELAXED) % n;
	for (unsigned k = 0; k < n; k++) {
		struct lapic *a = lapic_of(m, (start + k) % n);
		unsigned prio;
		if (a && lapic_match(a, msg, &prio) && prio < best_prio) {
			best = a;
			best_prio = prio;
		}
	}
	return best && lapic_accept(best, msg) ? 1 : 0;
}

unsigned apic_deliver(struct machine *m, const struct apic_msg *msg)
{
	unsigned taken = 0;
	if (msg->mode == APIC_DM_LOWEST)
		return deliver_lowest(m, msg);
	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		struct lapic *a = lapic_of(m, i);
		if (a && lapic_match(a, msg, NULL) && lapic_accept(a, msg))
			taken++;
	}
	return taken;
}

void irqchip_user_eoi(struct machine *m, uint8_t vector)
{
	struct irqchip_user *chip = chip_of(m);
	if (chip)
		ioapic_eoi(chip->ioapic, vector);
}

int irqchip_user_pic_intack(struct machine *m)
{
	struct irqchip_user *chip = chip_of(m);
	return chip ? i8259_intack(chip->pic) : -1;
}

void irqchip_user_lapic_added(struct machine *m, struct lapic *a)
{
	struct irqchip_user *chip = chip_of(m);
	if (chip && m->vcpus && m->nr_vcpus && m->vcpus[0] && m->vcpus[0]->lapic == a)
		i8259_sync_output(chip->pic);
}

/* The PIC's INT, under the PIC's lock. */
static void pic_output(void *opaque, int level)
{
	struct irqchip_user *chip = opaque;
	struct lapic *bsp = chip->m->nr_vcpus ? lapic_of(chip->m, 0) : NULL;
	if (bsp)
		lapic_set_lint(bsp, 0, level);
}

/* ---- the irqchip interface ---- */

/* The OR of the levels of every line wired to input `in` of a chip. */
static int wired_or(const struct irqchip_user *chip, const int8_t *pins, int in)
{
	int level = 0;
	for (unsigned line = 0; line < IRQCHIP_NR_GSIS; line++)
		level |= pins[line] == in && chip->line_level[line];
	return level;
}

static void user_set_irq(struct irqchip *ic, unsigned line, int level)
{
	struct irqchip_user *chip = ic->opaque;
	if (line >= IRQCHIP_NR_GSIS)
		return;
	pthread_mutex_lock(&chip->lock);
	chip->line_level[line] = !!level;
	int pic = chip->pic_pin[line], pin = chip->ioapic_pin[line];
	if (pic != IRQ_ROUTE_NONE)
		i8259_set_irq(chip->pic, pic, wired_or(chip, chip->pic_pin, pic));
	if (pin != IRQ_ROUTE_NONE)
		ioapic_set_irq(chip->ioapic, pin, wired_or(chip, chip->ioapic_pin, pin));
	pthread_mutex_unlock(&chip->lock);
}

/* PIRQ n of the PIIX3 (pci[n]'s line) to 8259 input pic_pin or none: the
 * old and the new input take their new ORed levels. */
static void user_route_pirq(struct irqchip *ic, unsigned n, int pic_pin)
{
	struct irqchip_user *chip = ic->opaque;
	const struct irq_routing *r = chip->m->irq_routing;
	if (n >= IRQ_PCI_LINES || !r || r->pci[n].gsi < 0 || r->pci[n].gsi >= IRQCHIP_NR_GSIS ||
	    pic_pin >= IRQ_ISA_LINES || pic_pin < IRQ_ROUTE_NONE)
		return;
	unsigned line = r->pci[n].gsi;
	pthread_mutex_lock(&chip->lock);
	int old = chip->pic_pin[line];
	chip->pic_pin[line] = pic_pin;
	if (old != pic_pin && old != IRQ_ROUTE_NONE)
		i8259_set_irq(chip->pic, old, wired_or(chip, chip->pic_pin, old));
	if (old != pic_pin && pic_pin != IRQ_ROUTE_NONE)
		i8259_set_irq(chip->pic, pic_pin, wired_or(chip, chip->pic_pin, pic_pin));
	pthread_mutex_unlock(&chip->lock);
}

/* Each line's 8259 input and IOAPIC pin; -1 if the table wires one
 * outside the chips. */
static int load_routing(struct irqchip_user *chip, const struct irq_routing *routing)
{
	if (!routing) {
		qvm_error("irqchip: the board gave no interrupt routing");
		return -1;
	}
	for (unsigned line = 0; line < IRQCHIP_NR_GSIS; line++) {
		const struct irq_route *r = irq_route_of_line(routing, line);
		int pic = r ? r->pic_pin : IRQ_ROUTE_NONE, pin = r ? r->gsi : IRQ_ROUTE_NONE;
		if (pic >= 16 || pin >= IRQCHIP_NR_GSIS || pic < IRQ_ROUTE_NONE ||
		    pin < IRQ_ROUTE_NONE) {
			qvm_error("irqchip: line %u is wired to no input of the 8259s or the IOAPIC",
				  line);
			return -1;
		}
		chip->pic_pin[line] = pic;
		chip->ioapic_pin[line] = pin;
	}
	return 0;
}

/* MSI without interrupt remapping [SDM 11.11]: address 0xfeeXXXXX with
 * the destination ID in 19:12 and the destination mode in bit 2; data
 * with the vector, delivery mode, level and trigger mode. */
static int user_send_msi(struct irqchip *ic, uint64_t addr, uint32_t data)
{
	struct irqchip_user *chip = ic->opaque;
	if ((addr >> 20) != 0xfee)
		return -1;
	struct apic_msg msg = {
		.dest = (addr >> 12) & 0xff,
		.logical = addr & 4,
		.vector = data & 0xff,
		.mode = (data >> 8) & 7,
		.assert = true,
		.level = data & (1u << 15),
	};
	if (msg.mode == 3 || msg.mode == APIC_DM_SIPI)
		return -1; /* reserved */
	if (msg.mode != APIC_DM_FIXED && msg.mode != APIC_DM_LOWEST)
		msg.level = false;
	apic_deliver(chip->m, &msg);
	return 0;
}

static const struct irqchip_ops irqchip_user_ops = {
	.name = "user",
	.set_irq = user_set_irq,
	.send_msi = user_send_msi,
	.route_pirq = user_route_pirq,
};

/* ---- the "lapic" device: every vCPU's LAPIC, for savevm ---- */

static void lapics_save(void *dev, struct state_buf *s)
{
	struct irqchip_user *chip = dev;
	struct machine *m = chip->m;
	state_put_u8(s, LAPICS_STATE_VERSION);
	state_put_u32(s, m->nr_vcpus);
	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		struct lapic *a = lapic_of(m, i);
		state_put_u8(s, a != NULL);
		if (a)
			lapic_save(a, s);
	}
}

static int lapics_load(void *dev, struct state_buf *s)
{
	struct irqchip_user *chip = dev;
	struct machine *m = chip->m;
	if (state_get_u8(s) != LAPICS_STATE_VERSION || state_get_u32(s) != m->nr_vcpus)
		return -1;
	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		struct lapic *a = lapic_of(m, i);
		if (state_get_u8(s) != (a != NULL) || s->error)
			return -1;
		if (a && lapic_load(a, s) < 0)
			return -1;
	}
	i8259_sync_output(chip->pic);
	return 0;
}

static void lapics_destroy(void *dev)
{
	struct irqchip_user *chip = dev;
	pthread_mutex_destroy(&chip->lock);
	free(chip);
}

static const struct device_ops lapics_device_ops = {
	.name = "lapic",
	.save = lapics_save,
	.load = lapics_load,
	.destroy = lapics_destroy,
};

int irqchip_user_init(struct machine *m)
{
	struct irqchip_user *chip = calloc(1, sizeof(*chip));
	if (!chip) {
		qvm_error("irqchip: out of memory");
		return -1;
	}
	chip->m = m;
	pthread_mutex_init(&chip->lock, NULL);
	tsc_hz(); /* measure it now rather than at the first TSC deadline */
	/* registered first: the machine frees it, whatever fails below */
	machine_add_device(m, &lapics_device_ops, chip);
	if (load_routing(chip, m->irq_routing) < 0)
		return -1;
	unsigned ioapic_id = m->cfg ? m->cfg->smp_cpus : m->nr_vcpus;
	if (!(chip->pic = i8259_new(m, pic_output, chip)) ||
	    !(chip->ioapic = ioapic_new(m, IOAPIC_BASE, ioapic_id)))
		return -1;
	m->irqchip = (struct irqchip){ .ops = &irqchip_user_ops, .opaque = chip };
	if (!(chip->pit = i8254_new(m))) {
		m->irqchip = (struct irqchip){ 0 };
		return -1;
	}
	return 0;
}
