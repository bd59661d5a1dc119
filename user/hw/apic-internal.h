/*
 * What the chips of the user-space irqchip (lapic.c, ioapic.c, i8259.c,
 * i8254.c, irqchip_user.c) tell each other.  Engines use apic.h only.
 *
 * Lock order (a lock is only ever taken after the ones to its left):
 *   PIT -> irqchip (GSI levels) -> PIC or IOAPIC -> one LAPIC
 * A LAPIC never calls out with its own lock held: IPIs, EOI broadcasts to
 * the IOAPIC and ExtINT acknowledges to the PIC run after it is released.
 */
#ifndef QVM_HW_APIC_INTERNAL_H
#define QVM_HW_APIC_INTERNAL_H

#include "qvm.h"

struct machine;
struct lapic;
struct i8259;
struct ioapic;
struct i8254;

/* Delivery modes of ICR, LVT, IOAPIC redirection entries and MSI data
 * (SDM Vol. 3, 11.6.1). */
enum {
	APIC_DM_FIXED = 0, APIC_DM_LOWEST = 1, APIC_DM_SMI = 2,
	APIC_DM_NMI = 4, APIC_DM_INIT = 5, APIC_DM_SIPI = 6, APIC_DM_EXTINT = 7,
};

/* Destination shorthands of the ICR, bits 19:18. */
enum { APIC_SH_NONE, APIC_SH_SELF, APIC_SH_ALL, APIC_SH_OTHERS };

/* One interrupt message on the (virtual) system bus. */
struct apic_msg {
	uint32_t dest;          /* physical ID or logical mask */
	uint8_t vector;
	uint8_t mode;           /* APIC_DM_* */
	uint8_t shorthand;      /* APIC_SH_*; the sender is source */
	bool logical;           /* destination mode */
	bool level;             /* trigger mode: level (sets TMR) */
	bool assert;            /* false: INIT level de-assert (no effect) */
	bool x2apic;            /* 32-bit destination (x2APIC ICR) */
	struct lapic *source;   /* sending LAPIC, NULL for IOAPIC/MSI */
};

/* ---- irqchip_user.c ---- */
/* Deliver msg to the LAPICs it names; the number that accepted it. */
unsigned apic_deliver(struct machine *m, const struct apic_msg *msg);
/* A LAPIC's EOI of a level-triggered vector (EOI broadcast). */
void irqchip_user_eoi(struct machine *m, uint8_t vector);
/* The PIC's interrupt acknowledge cycle: the vector it puts on the bus. */
int irqchip_user_pic_intack(struct machine *m);
/* A vCPU's LAPIC was created (lapic_new): the BSP's gets the PIC's INT
 * output on LINT0. */
void irqchip_user_lapic_added(struct machine *m, struct lapic *a);

/* ---- lapic.c ---- */
/* Does a take msg (destination match, shorthands excluded)?  *prio gets
 * its arbitration priority for lowest-priority delivery. */
bool lapic_match(struct lapic *a, const struct apic_msg *msg, unsigned *prio);
/* Accept msg (its destination already matched); false if dropped. */
bool lapic_accept(struct lapic *a, const struct apic_msg *msg);
/* The level of input pin LINT0 (pin 0) or LINT1 (pin 1). */
void lapic_set_lint(struct lapic *a, unsigned pin, int level);
/* Whole-LAPIC state for savevm (irqchip_user.c's "lapic" device). */
struct state_buf;
void lapic_save(struct lapic *a, struct state_buf *s);
int lapic_load(struct lapic *a, struct state_buf *s);

/* ---- i8259.c: the dual PIC; output(opaque, level) follows INT ---- */
struct i8259 *i8259_new(struct machine *m, void (*output)(void *opaque, int level),
			void *opaque);
void i8259_set_irq(struct i8259 *p, unsigned line, int level);   /* 0-15 */
int i8259_intack(struct i8259 *p);
/* Call output with the current INT level (a new listener). */
void i8259_sync_output(struct i8259 *p);

/* ---- ioapic.c ---- */
struct ioapic *ioapic_new(struct machine *m, uint64_t base, uint8_t id);
void ioapic_set_irq(struct ioapic *io, unsigned pin, int level);
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* ---- i8254.c: counter 0 drives GSI 0 through machine_set_irq ---- */
struct i8254 *i8254_new(struct machine *m);

#endif
