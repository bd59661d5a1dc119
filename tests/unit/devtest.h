/* A fake irqchip for device unit tests: records each GSI's level and how
 * many times it rose. */
#ifndef QVM_FAKE_IRQ_H
#define QVM_FAKE_IRQ_H

#include "machine.h"

struct fake_irq {
	int level[IRQCHIP_NR_GSIS];
	unsigned rises[IRQCHIP_NR_GSIS];
};

/* Make f the machine's irqchip (f must outlive m's devices). */
void fake_irq_install(struct machine *m, struct fake_irq *f);

#endif
