/*
 * qvm's own interrupt controllers, for engines without an in-kernel
 * irqchip (tcg, kqemu): a local APIC per vCPU (lapic.c), the IOAPIC
 * (ioapic.c), the dual 8259 PIC (i8259.c), the 8254 PIT (i8254.c), and the
 * glue that puts them behind the irqchip interface of irq.h
 * (irqchip_user.c).  Devices never see the difference.
 *
 * Threads: a LAPIC is touched by its own vCPU (MMIO, MSRs, acknowledge),
 * by other vCPUs (IPIs), by device threads (GSIs, MSIs) and by the main
 * loop (timers): each chip has its own lock.  A new event for a vCPU sets
 * bits in its LAPIC's event word and kicks the vCPU (vcpu_kick); the
 * engine polls lapic_events() at instruction-block boundaries and when it
 * wakes from HLT.
 */
#ifndef QVM_HW_APIC_H
#define QVM_HW_APIC_H

#include "qvm.h"

struct machine;
struct vcpu;
struct lapic;

/* The whole user-space irqchip: PIC, IOAPIC at 0xfec00000, PIT on ports
 * 0x40-0x43 (and port 0x61's PIT bits), registered as devices (reset,
 * save, load) and installed as m->irqchip.  Call after m->loop is set and
 * before the vCPUs' LAPICs are created.  0 or -1 with a message. */
int irqchip_user_init(struct machine *m);

/* A vCPU's LAPIC (call from the engine's vcpu_init); sets v->lapic... the
 * engine keeps the pointer.  NULL with a message on error. */
struct lapic *lapic_new(struct machine *m, struct vcpu *v);
void lapic_free(struct lapic *a);
/* Power-on state (SDM Vol. 3, 11.4.7.1 and table 10-1): APIC ID from
 * v->apic_id, base 0xfee00000 enabled (BSP flag on vCPU 0), all LVTs
 * masked, SVR 0xff.  What firmware sets up after it (the virtual wire) the
 * board writes through lapic_mmio_write. */
void lapic_reset(struct lapic *a);

/* Events for the vCPU, read lock-free. */
#define LAPIC_EV_INTR 1u  /* a maskable interrupt may be deliverable */
#define LAPIC_EV_NMI  2u
#define LAPIC_EV_INIT 4u
#define LAPIC_EV_SIPI 8u
uint32_t lapic_events(struct lapic *a);
/* With RFLAGS.IF set and no interrupt shadow: the vector to deliver now
 * (the highest IRR above the processor priority moved to ISR, or the
 * PIC's vector for ExtINT), or -1 when none is deliverable. */
int lapic_ack_interrupt(struct lapic *a);
/* Take a pending NMI / INIT; a pending SIPI's vector or -1. */
bool lapic_take_nmi(struct lapic *a);
bool lapic_take_init(struct lapic *a);
int lapic_take_sipi(struct lapic *a);
/* When the vCPU sleeps in HLT: the monotonic time (clock_ns) of the next
 * LAPIC timer expiry, or UINT64_MAX.  Timers fire by themselves (main
 * loop) and kick the vCPU; this only bounds the sleep. */
uint64_t lapic_next_timer_ns(struct lapic *a);

/* Guest accesses from the owning vCPU. */
bool lapic_mmio_hit(struct lapic *a, uint64_t gpa);     /* in the xAPIC page, xAPIC mode */
uint32_t lapic_mmio_read(struct lapic *a, uint32_t offset);
void lapic_mmio_write(struct lapic *a, uint32_t offset, uint32_t value);
/* x2APIC MSRs 0x800-0x8ff: 0, or -1 for #GP (not in x2APIC mode,
 * reserved register, read of a write-only one). */
int lapic_msr_read(struct lapic *a, uint32_t msr, uint64_t *value);
int lapic_msr_write(struct lapic *a, uint32_t msr, uint64_t value);
uint64_t lapic_get_base(struct lapic *a);
int lapic_set_base(struct lapic *a, uint64_t value);   /* -1: #GP */
/* CR8 is TPR[7:4] (SDM Vol. 3, 11.8.6.1) */
uint64_t lapic_get_cr8(struct lapic *a);
void lapic_set_cr8(struct lapic *a, uint64_t cr8);
uint64_t lapic_get_tsc_deadline(struct lapic *a);
void lapic_set_tsc_deadline(struct lapic *a, uint64_t tsc);

/* The engine-neutral state of x86_cpu_state (cpu.h): the register page
 * in KVM_GET_LAPIC's layout (TMCCT holds the current count), and the
 * NMI / INIT / SIPI (LAPIC_EV_*) still waiting for the vCPU.  Set with
 * IA32_APIC_BASE's value; -1 without a change when the page is not a
 * state this LAPIC can be in. */
void lapic_get_page(struct lapic *a, uint8_t *page);
int lapic_set_page(struct lapic *a, uint64_t base, const uint8_t *page);
uint32_t lapic_get_pending(struct lapic *a, uint8_t *sipi_vector);
void lapic_set_pending(struct lapic *a, uint32_t events, uint8_t sipi_vector);

/* The host TSC rate in Hz (tsc.c): read once, from the kernel or by
 * calibrating against CLOCK_MONOTONIC.  Guest TSC = host TSC + offset. */
uint64_t tsc_hz(void);
static inline uint64_t host_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

#endif
