/* Helpers for device unit tests: a fake irqchip that records each GSI's
 * level and how many times it rose, and moving device state between two
 * machines. */
#ifndef QVM_DEVTEST_H
#define QVM_DEVTEST_H

#include "machine.h"

struct fake_irq {
	int level[IRQCHIP_NR_GSIS];
	unsigned rises[IRQCHIP_NR_GSIS];
};

/* A bare 16 MiB machine whose irqchip is f (f must outlive it); NULL if
 * it can't be built. */
struct machine *fake_irq_machine(struct fake_irq *f);

/* Port I/O of size bytes, as a vCPU would do it. */
uint64_t pio_in(struct machine *m, uint16_t port, unsigned size);
void pio_out(struct machine *m, uint16_t port, uint64_t v, unsigned size);

/* PCI configuration space of bus 0's device slot (function 0) through
 * 0xcf8/0xcfc, size bytes at reg (PCI 3.0, 3.2.2.3.2). */
void pci_cfg_out(struct machine *m, unsigned slot, unsigned reg, uint32_t v, unsigned size);
uint32_t pci_cfg_in(struct machine *m, unsigned slot, unsigned reg, unsigned size);

/* Save every device of from and load the state into to (built with the
 * same devices): machine_load_devices' result. */
int copy_device_state(struct machine *from, struct machine *to);

#endif
