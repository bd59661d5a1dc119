/* Helpers for device unit tests (devtest.h). */
#include "devtest.h"

static void fake_set_irq(struct irqchip *chip, unsigned gsi, int level)
{
	struct fake_irq *f = chip->opaque;
	if (gsi >= IRQCHIP_NR_GSIS)
		return;
	if (level && !f->level[gsi])
		f->rises[gsi]++;
	f->level[gsi] = level;
}

static const struct irqchip_ops fake_irq_ops = { .name = "fake", .set_irq = fake_set_irq };

struct machine *fake_irq_machine(struct fake_irq *f)
{
	struct machine *m = machine_new(16 * MiB);
	if (m) {
		m->irqchip.ops = &fake_irq_ops;
		m->irqchip.opaque = f;
	}
	return m;
}

uint64_t pio_in(struct machine *m, uint16_t port, unsigned size)
{
	uint64_t v = 0;
	machine_pio(m, port, false, &v, size);
	return v;
}

void pio_out(struct machine *m, uint16_t port, uint64_t v, unsigned size)
{
	machine_pio(m, port, true, &v, size);
}

int copy_device_state(struct machine *from, struct machine *to)
{
	struct state_buf s;
	state_init(&s);
	machine_quiesce_devices(from);
	machine_save_devices(from, &s);
	state_rewind(&s);
	int r = machine_load_devices(to, &s);
	state_free(&s);
	return r;
}

void pci_cfg_out(struct machine *m, unsigned slot, unsigned reg, uint32_t v, unsigned size)
{
	pio_out(m, 0xcf8, 0x80000000u | slot << 11 | (reg & 0xfc), 4);
	pio_out(m, 0xcfc + (reg & 3), v, size);
}

uint32_t pci_cfg_in(struct machine *m, unsigned slot, unsigned reg, unsigned size)
{
	pio_out(m, 0xcf8, 0x80000000u | slot << 11 | (reg & 0xfc), 4);
	return pio_in(m, 0xcfc + (reg & 3), size);
}
