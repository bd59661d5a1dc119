/* The fake irqchip of fake_irq.h. */
#include "fake_irq.h"

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

void fake_irq_install(struct machine *m, struct fake_irq *f)
{
	m->irqchip.ops = &fake_irq_ops;
	m->irqchip.opaque = f;
}
