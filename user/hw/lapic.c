/*
 * Local APIC, one per vCPU, after the Intel SDM Vol. 3, chapter 11
 * ("[SDM 11.x]" below): xAPIC registers in the 4 KiB page at
 * IA32_APIC_BASE, x2APIC registers as MSRs 0x800-0x8ff, the timer
 * (one-shot, periodic, TSC-deadline), IPIs, EOI, priorities, LINT0/LINT1.
 *
 * The version register reports an integrated APIC (0x14) with six LVT
 * entries (max LVT 5: timer, thermal, performance, LINT0, LINT1, error);
 * there is no CMCI entry, so offset 0x2f0 / MSR 0x82f is reserved.
 *
 * Timer model.  The timer counts at 1 GHz before the divider (one count
 * is one nanosecond times the divide value), from timer_start_ns; the
 * next expiry is timer_next_ns (UINT64_MAX: not armed).  A main-loop
 * timer fires at that time; without a main loop (unit tests) expiries
 * are found lazily whenever the LAPIC is touched.  TSC-deadline compares
 * the deadline with the guest TSC, which is the host TSC for now.
 *
 * Threads.  a->lock guards the registers.  The event word and the decoded
 * MMIO page are atomics, read without the lock.  With the lock held we
 * never call out to another chip: IPIs, EOI broadcasts, ExtINT
 * acknowledges and vCPU kicks are collected in a struct lapic_out and
 * done after unlocking (lock order in apic-internal.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "cpu.h"
#include "machine.h"
#include "mainloop.h"
#include "apic.h"
#include "apic-internal.h"

/* Register offsets in the xAPIC page; MSR = 0x800 + offset / 16
 * [SDM 11.4.1 table 11-1, 11.12.1.2 table 11-6]. */
enum {
	APIC_ID = 0x020, APIC_VERSION = 0x030, APIC_TPR = 0x080,
	APIC_APR = 0x090, APIC_PPR = 0x0a0, APIC_EOI = 0x0b0, APIC_RRD = 0x0c0,
	APIC_LDR = 0x0d0, APIC_DFR = 0x0e0, APIC_SVR = 0x0f0, APIC_ISR = 0x100,
	APIC_TMR = 0x180, APIC_IRR = 0x200, APIC_ESR = 0x280, APIC_ICR = 0x300,
	APIC_ICR2 = 0x310, APIC_LVT0 = 0x320, APIC_TMICT = 0x380,
	APIC_TMCCT = 0x390, APIC_TDCR = 0x3e0, APIC_SELF_IPI = 0x3f0,
};
/* LVT entries from offset 0x320 on, 16 bytes apart. */
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_NR };

#define APIC_VERSION_VALUE (0x14u | (LVT_NR - 1u) << 16)

#define BASE_BSP (1ULL << 8)
#define BASE_EXTD (1ULL << 10)
#define BASE_EN (1ULL << 11)
/* Bits 0-7 and 9, and the bits above the largest physical address
 * (MAXPHYADDR is taken as 52, the architectural limit) [SDM 11.4.4]. */
#define BASE_RESERVED (0x2ffULL | ~((1ULL << 52) - 1))
#define BASE_ADDR_MASK (((1ULL << 52) - 1) & ~0xfffULL)

#define SVR_ENABLE 0x100u
#define SVR_VALID 0x3ffu        /* vector, enable, focus checking */

#define LVT_MASKED (1u << 16)
#define LVT_LEVEL (1u << 15)
#define LVT_REMOTE_IRR (1u << 14)
#define LVT_TIMER_MODE_SHIFT 17
enum { TIMER_ONESHOT, TIMER_PERIODIC, TIMER_TSC_DEADLINE };

#define ICR_VALID 0x000cdfffu   /* the architectural ICR low bits */
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_TRIGGER_LEVEL (1u << 15)

/* Error status bits [SDM 11.5.3]. */
#define ESR_SEND_ILLEGAL 0x20u
#define ESR_RECV_ILLEGAL 0x40u
#define ESR_ILLEGAL_REG 0x80u

/* Periodic expiries closer together than this are coalesced, so a
 * guest's tiny period can't flood the main loop. */
#define MIN_PERIOD_NS 50000ULL
#define NO_TIMER UINT64_MAX
#define NO_PAGE UINT64_MAX      /* never a page address (bits 11:0 set) */
#define LAPIC_STATE_VERSION 1

/* Writable bits of each LVT entry (RO bits excluded) [SDM 11.5.1]. */
static const uint32_t lvt_writable[LVT_NR] = {
	[LVT_TIMER] = 0x000700ff,
	[LVT_THERMAL] = 0x000107ff,
	[LVT_PERF] = 0x000107ff,
	[LVT_LINT0] = 0x0001a7ff,
	[LVT_LINT1] = 0x0001a7ff,
	[LVT_ERROR] = 0x000100ff,
};
/* Bits that exist (writable or read-only): others are reserved. */
static const uint32_t lvt_defined[LVT_NR] = {
	[LVT_TIMER] = 0x000710ff,
	[LVT_THERMAL] = 0x000117ff,
	[LVT_PERF] = 0x000117ff,
	[LVT_LINT0] = 0x0001f7ff,
	[LVT_LINT1] = 0x0001f7ff,
	[LVT_ERROR] = 0x000110ff,
};

struct lapic {
	struct machine *m;
	struct vcpu *v;
	pthread_mutex_t lock;
	uint32_t events;        /* LAPIC_EV_*, atomic */
	uint64_t mmio_page;     /* atomic: decoded xAPIC page, or NO_PAGE */
	struct timer *timer;    /* NULL without a main loop */

	uint64_t base;          /* IA32_APIC_BASE */
	uint32_t id;            /* xAPIC: the ID register; x2APIC: the x2APIC ID */
	uint32_t tpr, ldr, dfr, svr;
	uint32_t esr, esr_pending;
	uint32_t icr_lo, icr_hi;
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t lvt[LVT_NR];
	uint32_t tmict, tdcr;
	uint64_t timer_start_ns;
	uint64_t timer_next_ns; /* atomic for lock-free readers */
	uint64_t tsc_deadline;

	bool lint_level[2];     /* input pins */
	bool extint_pending;    /* an ExtINT message (IOAPIC, MSI) */
	uint8_t sipi_vector;
};

/* Work left for after the lock is dropped. */
struct lapic_out {
	bool kick;
	bool send;
	struct apic_msg ipi;
	int eoi_vector;
};

/* ---- small helpers ---- */

static bool x2apic_mode(const struct lapic *a)
{
	return a->base & BASE_EXTD;
}

static bool hw_enabled(const struct lapic *a)
{
	return a->base & BASE_EN;
}

static bool sw_enabled(const struct lapic *a)
{
	return a->svr & SVR_ENABLE;
}

static int highest_bit(const uint32_t *r)
{
	for (int i = 7; i >= 0; i--)
		if (r[i])
			return i * 32 + 31 - __builtin_clz(r[i]);
	return -1;
}

static bool test_vec(const uint32_t *r, unsigned v)
{
	return r[v >> 5] & (1u << (v & 31));
}

static void set_vec(uint32_t *r, unsigned v)
{
	r[v >> 5] |= 1u << (v & 31);
}

static void clear_vec(uint32_t *r, unsigned v)
{
	r[v >> 5] &= ~(1u << (v & 31));
}

static unsigned lvt_mode(uint32_t lvt)
{
	return (lvt >> 8) & 7;
}

static unsigned timer_mode(const struct lapic *a)
{
	unsigned mode = (a->lvt[LVT_TIMER] >> LVT_TIMER_MODE_SHIFT) & 3;
	return mode == 3 ? TIMER_ONESHOT : mode; /* 3 is reserved */
}

/* The x2APIC logical ID: cluster in 31:16, one bit of 15:0 [SDM 11.12.10.2]. */
static uint32_t x2apic_ldr(uint32_t id)
{
	return (id >> 4) << 16 | 1u << (id & 0xf);
}

static uint32_t xapic_id_reg(const struct lapic *a)
{
	return (a->v->apic_id & 0xff) << 24;
}

static uint32_t classof(int vector)
{
	return vector < 0 ? 0 : (uint32_t)vector & 0xf0;
}

/* Processor priority [SDM 11.8.3.1]. */
static uint32_t lapic_ppr(const struct lapic *a)
{
	uint32_t isrv = classof(highest_bit(a->isr));
	return (a->tpr & 0xf0) >= isrv ? a->tpr & 0xff : isrv;
}

/* Arbitration priority [SDM 11.6.2.4]. */
static uint32_t lapic_apr(const struct lapic *a)
{
	uint32_t tpr = a->tpr & 0xf0;
	uint32_t irrv = classof(highest_bit(a->irr)), isrv = classof(highest_bit(a->isr));
	if (tpr >= irrv && tpr > isrv)
		return a->tpr & 0xff;
	return MAX(tpr, MAX(irrv, isrv));
}

/* The IRR vector the processor may take now, or -1. */
static int deliverable_vector(const struct lapic *a)
{
	int v = highest_bit(a->irr);
	if (v < 0 || classof(v) <= (lapic_ppr(a) & 0xf0))
		return -1;
	return v;
}

/* The 8259's INTR through LINT0: when the APIC is hardware-disabled the
 * pin is the processor's INTR [SDM 11.4.3]; else LVT LINT0 in ExtINT
 * mode, unmasked (virtual wire, [SDM 11.5.1]). */
static bool lint0_intr(const struct lapic *a)
{
	uint32_t lvt = a->lvt[LVT_LINT0];
	if (!a->lint_level[0])
		return false;
	if (!hw_enabled(a))
		return true;
	return !(lvt & LVT_MASKED) && lvt_mode(lvt) == APIC_DM_EXTINT;
}

static bool intr_pending(const struct lapic *a)
{
	return (hw_enabled(a) && deliverable_vector(a) >= 0) ||
	       a->extint_pending || lint0_intr(a);
}

/* Bring LAPIC_EV_INTR in line; the vCPU is kicked when it rises. */
static void update_intr(struct lapic *a, struct lapic_out *o)
{
	if (intr_pending(a)) {
		if (!(__atomic_fetch_or(&a->events, LAPIC_EV_INTR, __ATOMIC_SEQ_CST) & LAPIC_EV_INTR))
			o->kick = true;
	} else {
		__atomic_fetch_and(&a->events, ~LAPIC_EV_INTR, __ATOMIC_SEQ_CST);
	}
}

static void raise_event(struct lapic *a, uint32_t ev, struct lapic_out *o)
{
	__atomic_fetch_or(&a->events, ev, __ATOMIC_SEQ_CST);
	o->kick = true;
}

static void out_init(struct lapic_out *o)
{
	memset(o, 0, sizeof(*o));
	o->eoi_vector = -1;
}

/* After unlocking: kick, send the IPI, broadcast the EOI. */
static void out_finish(struct lapic *a, struct lapic_out *o)
{
	if (o->kick)
		vcpu_kick(a->v);
	if (o->send)
		apic_deliver(a->m, &o->ipi);
	if (o->eoi_vector >= 0)
		irqchip_user_eoi(a->m, o->eoi_vector);
}

static void update_mmio_page(struct lapic *a)
{
	uint64_t page = hw_enabled(a) && !x2apic_mode(a) ? a->base & BASE_ADDR_MASK : NO_PAGE;
	__atomic_store_n(&a->mmio_page, page, __ATOMIC_RELEASE);
}

/* ---- accepting interrupts ---- */

static bool accept_locked(struct lapic *a, const struct apic_msg *msg, struct lapic_out *o);

/* An error condition: logged in the ESR at the next ESR write, and
 * signalled through LVT error [SDM 11.5.3]. */
static void apic_error(struct lapic *a, uint32_t bits, struct lapic_out *o)
{
	uint32_t lvt = a->lvt[LVT_ERROR];
	a->esr_pending |= bits;
	if (!(lvt & LVT_MASKED) && (lvt & 0xff) >= 16) {
		struct apic_msg msg = { .vector = lvt & 0xff, .mode = APIC_DM_FIXED };
		accept_locked(a, &msg, o);
	}
}

/* Raise a local interrupt from LVT entry idx (timer, LINTn edge, error). */
static void lvt_fire(struct lapic *a, unsigned idx, struct lapic_out *o)
{
	uint32_t lvt = a->lvt[idx];
	if (lvt & LVT_MASKED)
		return;
	struct apic_msg msg = { .vector = lvt & 0xff, .assert = true };
	bool has_mode = idx != LVT_TIMER && idx != LVT_ERROR;
	msg.mode = has_mode ? lvt_mode(lvt) : APIC_DM_FIXED;
	/* fixed, SMI, NMI and INIT exist for LVT entries [SDM 11.5.1] */
	if (msg.mode == APIC_DM_FIXED || msg.mode == APIC_DM_SMI ||
	    msg.mode == APIC_DM_NMI || msg.mode == APIC_DM_INIT)
		accept_locked(a, &msg, o);
}

static bool accept_locked(struct lapic *a, const struct apic_msg *msg, struct lapic_out *o)
{
	switch (msg->mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		if (!sw_enabled(a))
			return false; /* [SDM 11.4.7.2] */
		if (msg->vector < 16) {
			apic_error(a, ESR_RECV_ILLEGAL, o);
			return false;
		}
		set_vec(a->irr, msg->vector);
		if (msg->level)
			set_vec(a->tmr, msg->vector);
		else
			clear_vec(a->tmr, msg->vector);
		update_intr(a, o);
		return true;
	case APIC_DM_NMI:
		raise_event(a, LAPIC_EV_NMI, o);
		return true;
	case APIC_DM_INIT:
		if (msg->level && !msg->assert)
			return false; /* INIT level de-assert: no effect */
		raise_event(a, LAPIC_EV_INIT, o);
		return true;
	case APIC_DM_SIPI:
		a->sipi_vector = msg->vector;
		raise_event(a, LAPIC_EV_SIPI, o);
		return true;
	case APIC_DM_EXTINT:
		a->extint_pending = true;
		update_intr(a, o);
		return true;
	case APIC_DM_SMI:
		qvm_log(LOG_UNIMP, "lapic %u: SMI not supported", a->v->index);
		return false;
	default:
		return false;
	}
}

bool lapic_accept(struct lapic *a, const struct apic_msg *msg)
{
	struct lapic_out o;
	out_init(&o);
	pthread_mutex_lock(&a->lock);
	bool taken = accept_locked(a, msg, &o);
	pthread_mutex_unlock(&a->lock);
	out_finish(a, &o);
	return taken;
}

/* Physical destination [SDM 11.6.2.1]; 0xff (xAPIC) and 0xffffffff
 * (x2APIC) broadcast.  An 8-bit destination from the IOAPIC or an MSI
 * reaches an x2APIC by its full ID, 0xff still broadcasting. */
static bool match_physical(const struct lapic *a, const struct apic_msg *msg)
{
	uint32_t dest = msg->dest;
	if (dest == 0xffffffff || (!msg->x2apic && (dest & 0xff) == 0xff))
		return true;
	if (x2apic_mode(a))
		return dest == a->id;
	return (dest & 0xff) == a->id >> 24;
}

/* Logical destination: flat or cluster model with DFR in xAPIC mode
 * [SDM 11.6.2.2], the x2APIC cluster model otherwise [SDM 11.12.10.2]. */
static bool match_logical(const struct lapic *a, const struct apic_msg *msg)
{
	uint32_t dest = msg->dest;
	if (dest == 0xffffffff || (!msg->x2apic && (dest & 0xff) == 0xff))
		return true;
	if (x2apic_mode(a))
		return (dest >> 16) == (a->ldr >> 16) && (dest & a->ldr & 0xffff);
	uint8_t d = dest, l = a->ldr >> 24;
	if ((a->dfr >> 28) == 0xf)
		return d & l;
	return ((d >> 4) == (l >> 4) || (d >> 4) == 0xf) && (d & l & 0xf);
}

bool lapic_match(struct lapic *a, const struct apic_msg *msg, unsigned *prio)
{
	bool hit = false;
	pthread_mutex_lock(&a->lock);
	if (hw_enabled(a)) {
		switch (msg->shorthand) {
		case APIC_SH_SELF:
			hit = a == msg->source;
			break;
		case APIC_SH_ALL:
			hit = true;
			break;
		case APIC_SH_OTHERS:
			hit = a != msg->source;
			break;
		default:
			hit = msg->logical ? match_logical(a, msg) : match_physical(a, msg);
		}
	}
	if (hit && prio)
		*prio = lapic_apr(a);
	pthread_mutex_unlock(&a->lock);
	return hit;
}

void lapic_set_lint(struct lapic *a, unsigned pin, int level)
{
	struct lapic_out o;
	if (pin > 1)
		return;
	out_init(&o);
	pthread_mutex_lock(&a->lock);
	bool rising = level && !a->lint_level[pin];
	a->lint_level[pin] = level;
	if (rising && !hw_enabled(a) && pin == 1)
		raise_event(a, LAPIC_EV_NMI, &o); /* LINT1 is NMI [SDM 11.4.3] */
	else if (rising && hw_enabled(a) && lvt_mode(a->lvt[LVT_LINT0 + pin]) != APIC_DM_EXTINT)
		lvt_fire(a, LVT_LINT0 + pin, &o);
	update_intr(a, &o);
	pthread_mutex_unlock(&a->lock);
	out_finish(a, &o);
}

/* ---- the timer [SDM 11.5.4] ---- */

static unsigned divide_shift(const struct lapic *a)
{
	unsigned v = (a->tdcr & 3) | ((a->tdcr >> 1) & 4);
	return (v + 1) & 7; /* 0b111 divides by 1 */
}

static uint64_t counts_to_ns(const struct lapic *a, uint64_t counts)
{
	return counts << divide_shift(a);
}

static uint64_t tsc_to_ns(uint64_t delta)
{
	uint64_t hz = tsc_hz();
	unsigned __int128 ns = ((unsigned __int128)delta * 1000000000u + hz - 1) / hz;
	return ns > (1ULL << 62) ? 1ULL << 62 : (uint64_t)ns;
}

/* The main-loop timer runs only while it could raise an interrupt; a
 * masked timer's expiries are caught up lazily (timer_catch_up). */
static void timer_schedule(struct lapic *a)
{
	if (!a->timer)
		return;
	if (a->timer_next_ns == NO_TIMER || (a->lvt[LVT_TIMER] & LVT_MASKED))
		timer_cancel(a->timer);
	else
		timer_arm(a->timer, a->timer_next_ns);
}

static void timer_set_next(struct lapic *a, uint64_t next)
{
	__atomic_store_n(&a->timer_next_ns, next, __ATOMIC_RELEASE);
	timer_schedule(a);
}

static void timer_stop(struct lapic *a)
{
	timer_set_next(a, NO_TIMER);
}

/* Start counting TMICT from now. */
static void timer_start(struct lapic *a, uint64_t now)
{
	a->timer_start_ns = now;
	timer_set_next(a, a->tmict ? now + counts_to_ns(a, a->tmict) : NO_TIMER);
}

/* The expiry after one that happened at or before now, periodic mode. */
static uint64_t next_period(const struct lapic *a, uint64_t now)
{
	uint64_t period = counts_to_ns(a, a->tmict);
	uint64_t next = a->timer_start_ns + ((now - a->timer_start_ns) / period + 1) * period;
	return MAX(next, now + MIN_PERIOD_NS);
}

/* Fire the timer if it expired by now. */
static void timer_poll(struct lapic *a, uint64_t now, struct lapic_out *o)
{
	uint64_t next = a->timer_next_ns;
	if (next > now)
		return;
	switch (timer_mode(a)) {
	case TIMER_TSC_DEADLINE: {
		uint64_t tsc = host_rdtsc();
		if (tsc < a->tsc_deadline) { /* the ns estimate was early */
			timer_set_next(a, now + tsc_to_ns(a->tsc_deadline - tsc));
			return;
		}
		a->tsc_deadline = 0;
		timer_stop(a);
		break;
	}
	case TIMER_PERIODIC:
		timer_set_next(a, next_period(a, now));
		break;
	default:
		timer_stop(a);
	}
	lvt_fire(a, LVT_TIMER, o);
}

/* Poll when nothing else will: without a main loop, or while masked. */
static void lazy_poll(struct lapic *a, struct lapic_out *o)
{
	if (a->timer_next_ns != NO_TIMER &&
	    (!a->timer || (a->lvt[LVT_TIMER] & LVT_MASKED)))
		timer_poll(a, clock_ns(), o);
}

static void lapic_timer_cb(void *opaque)
{
	struct lapic *a = opaque;
	struct lapic_out o;
	out_init(&o);
	pthread_mutex_lock(&a->lock);
	timer_poll(a, clock_ns(), &o);
	/* re-arm: a callback racing with a re-arm, or an early one */
	timer_schedule(a);
	pthread_mutex_unlock(&a->lock);
	out_finish(a, &o);
}

static uint32_t current_count(const struct lapic *a, uint64_t now)
{
	if (timer_mode(a) == TIMER_TSC_DEADLINE || !a->tmict || a->timer_next_ns == NO_TIMER)
		return 0;
	uint64_t counts = now > a->timer_start_ns ?
		(now - a->timer_start_ns) >> divide_shift(a) : 0;
	if (timer_mode(a) == TIMER_PERIODIC)
		return a->tmict - counts % a->tmict;
	return counts >= a->tmict ? 0 : a->tmict - counts;
}

static void write_tdcr(struct lapic *a, uint32_t val, uint64_t now)
{
	uint32_t cur = current_count(a, now);
	bool running = a->timer_next_ns != NO_TIMER && timer_mode(a) != TIMER_TSC_DEADLINE;
	a->tdcr = val & 0xb;
	if (!running)
		return;
	/* keep the current count; it goes on at the new rate */
	uint64_t next = now + counts_to_ns(a, cur);
	uint64_t whole = counts_to_ns(a, a->tmict);
	a->timer_start_ns = next > whole ? next - whole : 0;
	timer_set_next(a, next);
}

static void write_lvt_timer(struct lapic *a, uint32_t val, struct lapic_out *o)
{
	bool was_deadline = timer_mode(a) == TIMER_TSC_DEADLINE;
	/* expiries until now follow the old entry (masked: nothing) */
	if (a->timer_next_ns != NO_TIMER)
		timer_poll(a, clock_ns(), o);
	a->lvt[LVT_TIMER] = val;
	timer_schedule(a);
	/* switching to or from TSC-deadline disarms [SDM 11.5.4.1] */
	if (was_deadline != (timer_mode(a) == TIMER_TSC_DEADLINE)) {
		a->tmict = 0;
		a->tsc_deadline = 0;
		timer_stop(a);
	}
}

/* ---- resets ---- */

/* INIT: power-up state except the APIC ID and IA32_APIC_BASE
 * [SDM 11.4.7.3]; in x2APIC mode the logical ID stays derived. */
static void init_reset(struct lapic *a, struct lapic_out *o)
{
	a->tpr = 0;
	a->ldr = x2apic_mode(a) ? x2apic_ldr(a->id) : 0;
	a->dfr = 0xffffffff;
	a->svr = 0xff;
	a->esr = a->esr_pending = 0;
	a->icr_lo = a->icr_hi = 0;
	memset(a->irr, 0, sizeof(a->irr));
	memset(a->isr, 0, sizeof(a->isr));
	memset(a->tmr, 0, sizeof(a->tmr));
	for (unsigned i = 0; i < LVT_NR; i++)
		a->lvt[i] = LVT_MASKED;
	a->tmict = a->tdcr = 0;
	a->tsc_deadline = 0;
	timer_stop(a);
	a->extint_pending = false;
	__atomic_fetch_and(&a->events, ~LAPIC_EV_NMI, __ATOMIC_SEQ_CST);
	update_intr(a, o);
}

void lapic_reset(struct lapic *a)
{
	struct lapic_out o;
	out_init(&o);
	pthread_mutex_lock(&a->lock);
	a->base = 0xfee00000ULL | BASE_EN | (a->v->index == 0 ? BASE_BSP : 0);
	a->id = xapic_id_reg(a);
	__atomic_store_n(&a->events, 0, __ATOMIC_SEQ_CST);
	a->sipi_vector = 0;
	init_reset(a, &o);
	update_mmio_page(a);
	update_intr(a, &o);
	pthread_mutex_unlock(&a->lock);
	out_finish(a, &o);
}

/* ---- IPIs and EOI ---- */

/* Send what ICR holds [SDM 11.6.1]; dest is ICR2 31:24 or, in x2APIC
 * mode, ICR 63:32. */
static void icr_send(struct lapic *a, struct lapic_out *o)
{
	uint32_t lo = a->icr_lo;
	struct apic_msg msg = {
		.vector = lo & 0xff,
		.mode = lvt_mode(lo),
		.logical = lo & (1u << 11),
		.assert = lo & ICR_LEVEL_ASSERT,
		.level = lo & ICR_TRIGGER_LEVEL,
		.shorthand = (lo >> 18) & 3,
		.x2apic = x2apic_mode(a),
		.dest = x2apic_mode(a) ? a->icr_hi : a->icr_hi >> 24,
		.source = a,
	};
	if (msg.mode == 3 || msg.mode == APIC_DM_EXTINT)
		return; /* reserved */
	if (msg.mode == APIC_DM_INIT && msg.level && !msg.assert)
		return; /* INIT level de-assert: arbitration IDs only */
	if ((msg.mode == APIC_DM_FIXED || msg.mode == APIC_DM_LOWEST) && msg.vector < 16) {
		apic_error(a, ESR_SEND_ILLEGAL, o);
		return;
	}
	/* lowest priority to self or all-including-self is invalid: fixed */
	if (msg.mode == APIC_DM_LOWEST && (msg.shorthand == APIC_SH_SELF ||
					   msg.shorthand == APIC_SH_ALL))
		msg.mode = APIC_DM_FIXED;
	msg.level = false; /* the trigger mode is ignored: IPIs are edges */
	o->ipi = msg;
	o->send = true;
}

/* EOI: retire the highest ISR vector; a level-triggered one (TMR) is
 * broadcast to the IOAPIC [SDM 11.8.5]. */
static void do_eoi(struct lapic *a, struct lapic_out *o)
{
	int v = highest_bit(a->isr);
	if (v < 0)
		return;
	clear_vec(a->isr, v);
	if (test_vec(a->tmr, v))
		o->eoi_vector = v;
	update_intr(a, o);
}

/* ---- register access ---- */

static void write_svr(struct lapic *a, uint32_t val, struct lapic_out *o)
{
	if (a->timer_next_ns != NO_TIMER)
		timer_poll(a, clock_ns(), o);
	a->svr = val & SVR_VALID;
	if (!sw_enabled(a)) /* software disable masks every LVT [SDM 11.4.7.2] */
		for (unsigned i = 0; i < LVT_NR; i++)
			a->lvt[i] |= LVT_MASKED;
	timer_schedule(a);
	update_intr(a, o);
}

static void write_lvt(struct lapic *a, unsigned idx, uint32_t val, struct lapic_out *o)
{
	val &= lvt_writable[idx];
	if (!sw_enabled(a))
		val |= LVT_MASKED;
	if (idx == LVT_TIMER)
		write_lvt_timer(a, val, o);
	else
		a->lvt[idx] = val | (a->lvt[idx] & LVT_REMOTE_IRR);
	update_intr(a, o);
}

static bool is_vector_array(unsigned off, unsigned base)
{
	return off >= base && off < base + 0x80;
}

/* A register's value; -1 when it does not exist in the current mode
 * (xAPIC: the caller logs an illegal-register error; x2APIC: #GP). */
static int reg_read(struct lapic *a, unsigned off, uint32_t *val)
{
	bool x2 = x2apic_mode(a);
	unsigned idx = (off >> 4) & 7;
	if (is_vector_array(off, APIC_ISR))
		*val = a->isr[idx];
	else if (is_vector_array(off, APIC_TMR))
		*val = a->tmr[idx];
	else if (is_vector_array(off, APIC_IRR))
		*val = a->irr[idx];
	else if (off >= APIC_LVT0 && off < APIC_LVT0 + LVT_NR * 0x10)
		*val = a->lvt[(off - APIC_LVT0) >> 4];
	else {
		switch (off) {
		case APIC_ID: *val = a->id; break;
		case APIC_VERSION: *val = APIC_VERSION_VALUE; break;
		case APIC_TPR: *val = a->tpr; break;
		case APIC_PPR: *val = lapic_ppr(a); break;
		case APIC_LDR: *val = a->ldr; break;
		case APIC_SVR: *val = a->svr; break;
		case APIC_ESR: *val = a->esr; break;
		case APIC_ICR: *val = a->icr_lo; break;
		case APIC_TMICT: *val = a->tmict; break;
		case APIC_TMCCT: *val = current_count(a, clock_ns()); break;
		case APIC_TDCR: *val = a->tdcr; break;
		/* xAPIC only; EOI reads 0 there, a #GP in x2APIC mode */
		case APIC_APR: *val = lapic_apr(a); return x2 ? -1 : 0;
		case APIC_DFR: *val = a->dfr; return x2 ? -1 : 0;
		case APIC_ICR2: *val = a->icr_hi; return x2 ? -1 : 0;
		case APIC_RRD:
		case APIC_EOI: *val = 0; return x2 ? -1 : 0;
		default: *val = 0; return -1; /* SELF IPI is write-only */
		}
	}
	return 0;
}

/* Checks of a write in x2APIC mode: 0 or -1 (#GP) [SDM 11.12.1.2-3]. */
static int x2apic_write_check(unsigned off, uint32_t val)
{
	if (off >= APIC_LVT0 && off < APIC_LVT0 + LVT_NR * 0x10)
		return val & ~lvt_defined[(off - APIC_LVT0) >> 4] ? -1 : 0;
	switch (off) {
	case APIC_TPR: return val & ~0xffu ? -1 : 0;
	case APIC_EOI:
	case APIC_ESR: return val ? -1 : 0;
	case APIC_SVR: return val & ~SVR_VALID ? -1 : 0;
	case APIC_TMICT: return 0;
	case APIC_TDCR: return val & ~0xbu ? -1 : 0;
	case APIC_SELF_IPI: return val & ~0xffu ? -1 : 0;
	default: return -1; /* read-only, reserved, or xAPIC-only */
	}
}

/* Write a register; -1 when it can't be written in the current mode. */
static int reg_write(struct lapic *a, unsigned off, uint32_t val, struct lapic_out *o)
{
	bool x2 = x2apic_mode(a);
	if (x2 && x2apic_write_check(off, val) < 0)
		return -1;
	if (off >= APIC_LVT0 && off < APIC_LVT0 + LVT_NR * 0x10) {
		write_lvt(a, (off - APIC_LVT0) >> 4, val, o);
		return 0;
	}
	switch (off) {
	case APIC_ID: a->id = val & 0xff000000; break;
	case APIC_TPR:
		a->tpr = val & 0xff;
		update_intr(a, o);
		break;
	case APIC_EOI: do_eoi(a, o); break;
	case APIC_LDR: a->ldr = val & 0xff000000; break;
	case APIC_DFR: a->dfr = val | 0x0fffffff; break;
	case APIC_SVR: write_svr(a, val, o); break;
	case APIC_ESR: /* latch the errors seen since the last write */
		a->esr = a->esr_pending;
		a->esr_pending = 0;
		break;
	case APIC_ICR:
		a->icr_lo = val & ICR_VALID & ~(1u << 12);
		icr_send(a, o);
		break;
	case APIC_ICR2: a->icr_hi = val & 0xff000000; break;
	case APIC_TMICT:
		a->tmict = val;
		if (timer_mode(a) != TIMER_TSC_DEADLINE)
			timer_start(a, clock_ns());
		break;
	case APIC_TDCR: write_tdcr(a, val, clock_ns()); break;
	case APIC_SELF_IPI: {
		if (!x2)
			return -1;
		struct apic_msg msg = { .vector = val & 0xff, .mode = APIC_DM_FIXED,
					.shorthand = APIC_SH_SELF, .x2apic = true, .source = a };
		if (msg.vector < 16)
			apic_error(a, ESR_SEND_ILLEGAL, o);
		else
			accept_locked(a, &msg, o);
		break;
	}
	case APIC_VERSION: case APIC_APR: case APIC_PPR: case APIC_RRD: case APIC_TMCCT:
		break; /* read-only: ignored in xAPIC mode */
	default:
		if (is_vector_array(off, APIC_ISR) || is_vector_array(off, APIC_TMR) ||
		    is_vector_array(off, APIC_IRR))
			break;
		return -1;
	}
	return 0;
}

bool lapic_mmio_hit(struct lapic *a, uint64_t gpa)
{
	return (gpa & ~0xfffULL) == __atomic_load_n(&a->mmio_page, __ATOMIC_ACQUIRE);
}

/* Registers are 32 bits at 16-byte boundaries; narrower reads of the
 * first dword give its bytes, anything else reads 0. */
uint32_t lapic_mmio_read(struct lapic *a, uint32_t offset)
{
	struct lapic_out o;
	uint32_t val = 0;
	out_init(&o);
	pthread_mutex_lock(&a->lock);
	lazy_poll(a, &o);
	unsigned off = offset & 0xff0;
	if (offset >= 0x400 || reg_read(a, off, &val) < 0)
		apic_error(a, ESR_ILLEGAL_REG, &o);
	pthread_mutex_unlock(&a->lock);
	out_finish(a, &o);
	if (offset & 0xc)
		return 0;
	return val >> (8 * (offset & 3));
}

void lapic_mmio_write(struct lapic *a, uint32_t offset, uint32_t value)
{
	struct lapic_out o;
	if (offset & 0xf)
		return; /* only aligned dword writes reach a register */
	out_init(&o);
	pthread_mutex_lock(&a->lock);
	lazy_poll(a, &o);
	if (offset >= 0x400 || reg_write(a, offset, value, &o) < 0)
		apic_error(a, ESR_ILLEGAL_REG, &o);
	pthread_mutex_unlock(&a->lock);
	out_finish(a, &o);
}

int lapic_msr_read(struct lapic *a, uint32_t msr, uint64_t *value)
{
	struct lapic_out o;
	uint32_t val = 0;
	int ret = 0;
	if (msr < 0x800 || msr > 0x8ff)
		return -1;
	out_init(&o);
	pthread_mutex_lock(&a->lock);
	lazy_poll(a, &o);
	unsigned off = (msr - 0x800) << 4;
	if (!x2apic_mode(a))
		ret = -1;
	else if (off == APIC_ICR)
		*value = (uint64_t)a->icr_hi << 32 | a->icr_lo;
	else if ((ret = reg_read(a, off, &val)) == 0)
		*value = val;
	pthread_mutex_unlock(&a->lock);
	out_finish(a, &o);
	return ret;
}

int lapic_msr_write(struct lapic *a, uint32_t msr, uint64_t value)
{
	struct lapic_out o;
	int ret = 0;
	if (msr < 0x800 || msr > 0x8ff)
		return -1;
	out_init(&o);
	pthread_mutex_lock(&a->lock);
	lazy_poll(a, &o);
	unsigned off = (msr - 0x800) << 4;
	if (!x2apic_mode(a)) {
		ret = -1;
	} else if (off == APIC_ICR) {
		/* one 64-bit register: destination in 63:32 [SDM 11.12.9] */
		if ((uint32_t)value & ~ICR_VALID & ~(1u << 12)) {
			ret = -1;
		} else {
			a->icr_hi = value >> 32;
			a->icr_lo = (uint32_t)value & ICR_VALID & ~(1u << 12);
			icr_send(a, &o);
		}
	} else if (value >> 32) {
		ret = -1;
	} else {
		ret = reg_write(a, off, value, &o);
	}
	pthread_mutex_unlock(&a->lock);
	out_finish(a, &o);
	return ret;
}

/* ---- IA32_APIC_BASE [SDM 11.4.4, 11.12.5] ---- */

enum apic_mode { MODE_DISABLED, MODE_INVALID, MODE_XAPIC, MODE_X2APIC };

static enum apic_mode mode_of(uint64_t base)
{
	if (!(base & BASE_EN))
		return base & BASE_EXTD ? MODE_INVALID : MODE_DISABLED;
	return base & BASE_EXTD ? MODE_X2APIC : MODE_XAPIC;
}

uint64_t lapic_get_base(struct lapic *a)
{
	pthread_mutex_lock(&a->lock);
	uint64_t base = a->base;
	pthread_mutex_unlock(&a->lock);
	return base;
}

int lapic_set_base(struct lapic *a, uint64_t value)
{
	struct lapic_out o;
	if (value & BASE_RESERVED)
		return -1;
	out_init(&o);
	pthread_mutex_lock(&a->lock);
	enum apic_mode old = mode_of(a->base), new = mode_of(value);
	/* invalid state; x2APIC -> xAPIC; disabled -> x2APIC [SDM 11.12.5] */
	if (new == MODE_INVALID || (old == MODE_X2APIC && new == MODE_XAPIC) ||
	    (old == MODE_DISABLED && new == MODE_X2APIC)) {
		pthread_mutex_unlock(&a->lock);
		return -1;
	}
	a->base = (value & ~BASE_BSP) | (a->base & BASE_BSP);
	if (new == MODE_DISABLED && old != MODE_DISABLED) {
		/* state is lost; the xAPIC ID comes back [SDM 11.4.3, 11.12.5.1] */
		a->id = xapic_id_reg(a);
		init_reset(a, &o);
	} else if (new == MODE_X2APIC && old == MODE_XAPIC) {
		a->id = a->v->apic_id;
		a->ldr = x2apic_ldr(a->id);
	}
	update_mmio_page(a);
	update_intr(a, &o);
	pthread_mutex_unlock(&a->lock);
	out_finish(a, &o);
	return 0;
}

/* ---- the engine's side ---- */

uint32_t lapic_events(struct lapic *a)
{
	if (!a->timer && __atomic_load_n(&a->timer_next_ns, __ATOMIC_ACQUIRE) <= clock_ns()) {
		struct lapic_out o;
		out_init(&o);
		pthread_mutex_lock(&a->lock);
		lazy_poll(a, &o);
		pthread_mutex_unlock(&a->lock);
		out_finish(a, &o);
	}
	return __atomic_load_n(&a->events, __ATOMIC_ACQUIRE);
}

int lapic_ack_interrupt(struct lapic *a)
{
	struct lapic_out o;
	out_init(&o);
	pthread_mutex_lock(&a->lock);
	lazy_poll(a, &o);
	int v = hw_enabled(a) ? deliverable_vector(a) : -1;
	bool extint = false;
	if (v >= 0) {
		clear_vec(a->irr, v);
		set_vec(a->isr, v);
	} else {
		extint = a->extint_pending || lint0_intr(a);
		a->extint_pending = false;
	}
	update_intr(a, &o);
	pthread_mutex_unlock(&a->lock);
	o.kick = false; /* the vCPU itself is asking */
	out_finish(a, &o);
	if (!extint)
		return v;
	/* ExtINT: the 8259 supplies the vector (its INTA cycle) */
	return irqchip_user_pic_intack(a->m);
}

bool lapic_take_nmi(struct lapic *a)
{
	return __atomic_fetch_and(&a->events, ~LAPIC_EV_NMI, __ATOMIC_SEQ_CST) & LAPIC_EV_NMI;
}

bool lapic_take_init(struct lapic *a)
{
	struct lapic_out o;
	out_init(&o);
	pthread_mutex_lock(&a->lock);
	bool init = __atomic_fetch_and(&a->events, ~LAPIC_EV_INIT, __ATOMIC_SEQ_CST) & LAPIC_EV_INIT;
	if (init)
		init_reset(a, &o);
	pthread_mutex_unlock(&a->lock);
	o.kick = false; /* the vCPU itself is asking */
	out_finish(a, &o);
	return init;
}

int lapic_take_sipi(struct lapic *a)
{
	pthread_mutex_lock(&a->lock);
	bool sipi = __atomic_fetch_and(&a->events, ~LAPIC_EV_SIPI, __ATOMIC_SEQ_CST) & LAPIC_EV_SIPI;
	int vector = sipi ? a->sipi_vector : -1;
	pthread_mutex_unlock(&a->lock);
	return vector;
}

uint64_t lapic_next_timer_ns(struct lapic *a)
{
	struct lapic_out o;
	out_init(&o);
	pthread_mutex_lock(&a->lock);
	lazy_poll(a, &o);
	uint64_t next = a->timer_next_ns;
	if (a->lvt[LVT_TIMER] & LVT_MASKED)
		next = NO_TIMER; /* it would raise nothing */
	pthread_mutex_unlock(&a->lock);
	out_finish(a, &o);
	return next;
}

uint64_t lapic_get_cr8(struct lapic *a)
{
	pthread_mutex_lock(&a->lock);
	uint64_t cr8 = (a->tpr >> 4) & 0xf;
	pthread_mutex_unlock(&a->lock);
	return cr8;
}

/* CR8 writes TPR[7:4], clearing TPR[3:0] [SDM 11.8.6.1]. */
void lapic_set_cr8(struct lapic *a, uint64_t cr8)
{
	struct lapic_out o;
	out_init(&o);
	pthread_mutex_lock(&a->lock);
	a->tpr = (cr8 & 0xf) << 4;
	update_intr(a, &o);
	pthread_mutex_unlock(&a->lock);
	out_finish(a, &o);
}

/* IA32_TSC_DEADLINE reads 0 and ignores writes outside TSC-deadline
 * mode; 0 disarms; a deadline already past fires at once [SDM 11.5.4.1]. */
uint64_t lapic_get_tsc_deadline(struct lapic *a)
{
	struct lapic_out o;
	out_init(&o);
	pthread_mutex_lock(&a->lock);
	lazy_poll(a, &o);
	uint64_t tsc = timer_mode(a) == TIMER_TSC_DEADLINE ? a->tsc_deadline : 0;
	pthread_mutex_unlock(&a->lock);
	out_finish(a, &o);
	return tsc;
}

void lapic_set_tsc_deadline(struct lapic *a, uint64_t tsc)
{
	struct lapic_out o;
	out_init(&o);
	pthread_mutex_lock(&a->lock);
	if (timer_mode(a) == TIMER_TSC_DEADLINE) {
		a->tsc_deadline = tsc;
		if (!tsc) {
			timer_stop(a);
		} else {
			uint64_t now = clock_ns(), host = host_rdtsc();
			timer_set_next(a, tsc <= host ? now : now + tsc_to_ns(tsc - host));
			timer_poll(a, now, &o);
		}
	}
	pthread_mutex_unlock(&a->lock);
	out_finish(a, &o);
}

/* ---- life cycle ---- */

struct lapic *lapic_new(struct machine *m, struct vcpu *v)
{
	struct lapic *a = calloc(1, sizeof(*a));
	if (!a) {
		qvm_error("lapic: out of memory");
		return NULL;
	}
	a->m = m;
	a->v = v;
	a->timer_next_ns = NO_TIMER;
	pthread_mutex_init(&a->lock, NULL);
	if (m->loop && !(a->timer = timer_new(m->loop, lapic_timer_cb, a))) {
		qvm_error("lapic: cannot create its timer");
		pthread_mutex_destroy(&a->lock);
		free(a);
		return NULL;
	}
	lapic_reset(a);
	__atomic_store_n(&v->lapic, a, __ATOMIC_RELEASE);
	irqchip_user_lapic_added(m, a);
	return a;
}

void lapic_free(struct lapic *a)
{
	if (!a)
		return;
	struct lapic *self = a;
	__atomic_compare_exchange_n(&a->v->lapic, &self, NULL, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	if (a->timer)
		timer_free(a->timer);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* ---- savevm ---- */

static void put_array(struct state_buf *s, const uint32_t *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		state_put_u32(s, r[i]);
}

static void get_array(struct state_buf *s, uint32_t *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		r[i] = state_get_u32(s);
}

void lapic_save(struct lapic *a, struct state_buf *s)
{
	pthread_mutex_lock(&a->lock);
	uint64_t now = clock_ns();
	uint64_t next = a->timer_next_ns;
	state_put_u8(s, LAPIC_STATE_VERSION);
	state_put_u64(s, a->base);
	state_put_u32(s, a->id);
	state_put_u32(s, a->tpr);
	state_put_u32(s, a->ldr);
	state_put_u32(s, a->dfr);
	state_put_u32(s, a->svr);
	state_put_u32(s, a->esr);
	state_put_u32(s, a->esr_pending);
	state_put_u32(s, a->icr_lo);
	state_put_u32(s, a->icr_hi);
	put_array(s, a->irr, 8);
	put_array(s, a->isr, 8);
	put_array(s, a->tmr, 8);
	put_array(s, a->lvt, LVT_NR);
	state_put_u32(s, a->tmict);
	state_put_u32(s, a->tdcr);
	/* times relative to now: the clock of another host differs */
	state_put_u64(s, next == NO_TIMER ? NO_TIMER : next > now ? next - now : 0);
	state_put_u64(s, now > a->timer_start_ns ? now - a->timer_start_ns : 0);
	state_put_u64(s, a->tsc_deadline);
	state_put_u32(s, __atomic_load_n(&a->events, __ATOMIC_SEQ_CST));
	state_put_u8(s, a->sipi_vector);
	state_put_u8(s, a->extint_pending);
	pthread_mutex_unlock(&a->lock);
}

static bool lapic_state_valid(const struct lapic *t, uint32_t events, uint8_t extint)
{
	enum apic_mode mode = mode_of(t->base);
	if ((t->base & BASE_RESERVED) || mode == MODE_INVALID)
		return false;
	if (mode == MODE_X2APIC && (t->id != t->v->apic_id || t->ldr != x2apic_ldr(t->id)))
		return false;
	for (unsigned i = 0; i < LVT_NR; i++)
		if (t->lvt[i] & ~lvt_defined[i])
			return false;
	return !(t->svr & ~SVR_VALID) && !(t->tdcr & ~0xbu) && !(t->tpr & ~0xffu) &&
	       !(t->icr_lo & ~ICR_VALID) && !(events & ~0xfu) && extint <= 1;
}

/* The registers of a checked copy t become a's (a->lock held); the
 * timer, events and derived state are the caller's. */
static void take_registers(struct lapic *a, const struct lapic *t)
{
	a->base = t->base;
	a->id = t->id;
	a->tpr = t->tpr;
	a->ldr = t->ldr;
	a->dfr = t->dfr;
	a->svr = t->svr;
	a->esr = t->esr;
	a->esr_pending = t->esr_pending;
	a->icr_lo = t->icr_lo;
	a->icr_hi = t->icr_hi;
	memcpy(a->irr, t->irr, sizeof(a->irr));
	memcpy(a->isr, t->isr, sizeof(a->isr));
	memcpy(a->tmr, t->tmr, sizeof(a->tmr));
	memcpy(a->lvt, t->lvt, sizeof(a->lvt));
	a->tmict = t->tmict;
	a->tdcr = t->tdcr;
}


int lapic_load(struct lapic *a, struct state_buf *s)
{
	struct lapic t;
	if (state_get_u8(s) != LAPIC_STATE_VERSION)
		return -1;
	memset(&t, 0, sizeof(t));
	t.v = a->v;
	t.base = state_get_u64(s);
	t.id = state_get_u32(s);
	t.tpr = state_get_u32(s);
	t.ldr = state_get_u32(s);
	t.dfr = state_get_u32(s);
	t.svr = state_get_u32(s);
	t.esr = state_get_u32(s);
	t.esr_pending = state_get_u32(s);
	t.icr_lo = state_get_u32(s);
	t.icr_hi = state_get_u32(s);
	get_array(s, t.irr, 8);
	get_array(s, t.isr, 8);
	get_array(s, t.tmr, 8);
	get_array(s, t.lvt, LVT_NR);
	t.tmict = state_get_u32(s);
	t.tdcr = state_get_u32(s);
	uint64_t left = state_get_u64(s), elapsed = state_get_u64(s);
	t.tsc_deadline = state_get_u64(s);
	uint32_t events = state_get_u32(s);
	t.sipi_vector = state_get_u8(s);
	uint8_t extint = state_get_u8(s);
	if (s->error || !lapic_state_valid(&t, events, extint) ||
	    (left != NO_TIMER && left > (1ULL << 62)) || elapsed > (1ULL << 62))
		return -1;

	struct lapic_out o;
	out_init(&o);
	pthread_mutex_lock(&a->lock);
	uint64_t now = clock_ns();
	take_registers(a, &t);
	a->tsc_deadline = t.tsc_deadline;
	a->sipi_vector = t.sipi_vector;
	a->extint_pending = extint;
	a->timer_start_ns = now > elapsed ? now - elapsed : 0;
	timer_set_next(a, left == NO_TIMER ? NO_TIMER : now + left);
	__atomic_store_n(&a->events, events, __ATOMIC_SEQ_CST);
	update_mmio_page(a);
	update_intr(a, &o);
	if (events)
		o.kick = true;
	pthread_mutex_unlock(&a->lock);
	out_finish(a, &o);
	return 0;
}

/* ---- the engine-neutral register page (struct x86_cpu_state.lapic) ---- */

static void page_put(uint8_t *page, unsigned off, uint32_t v)
{
	memcpy(page + off, &v, 4);
}

static uint32_t page_get(const uint8_t *page, unsigned off)
{
	uint32_t v;
	memcpy(&v, page + off, 4);
	return v;
}

void lapic_get_page(struct lapic *a, uint8_t *page)
{
	memset(page, 0, LAPIC_PAGE_SIZE);
	pthread_mutex_lock(&a->lock);
	uint64_t now = clock_ns();
	page_put(page, APIC_ID, a->id);
	page_put(page, APIC_VERSION, APIC_VERSION_VALUE);
	page_put(page, APIC_TPR, a->tpr);
	page_put(page, APIC_APR, lapic_apr(a));
	page_put(page, APIC_PPR, lapic_ppr(a));
	page_put(page, APIC_LDR, a->ldr);
	page_put(page, APIC_DFR, a->dfr);
	page_put(page, APIC_SVR, a->svr);
	for (unsigned i = 0; i < 8; i++) {
		page_put(page, APIC_ISR + 16 * i, a->isr[i]);
		page_put(page, APIC_TMR + 16 * i, a->tmr[i]);
		page_put(page, APIC_IRR + 16 * i, a->irr[i]);
	}
	page_put(page, APIC_ESR, a->esr);
	page_put(page, APIC_ICR, a->icr_lo);
	page_put(page, APIC_ICR2, a->icr_hi);
	for (unsigned i = 0; i < LVT_NR; i++)
		page_put(page, APIC_LVT0 + 16 * i, a->lvt[i]);
	page_put(page, APIC_TMICT, a->tmict);
	page_put(page, APIC_TMCCT, current_count(a, now));
	page_put(page, APIC_TDCR, a->tdcr);
	pthread_mutex_unlock(&a->lock);
}

/* The timer restarts with the saved current count left: the elapsed
 * part of the period is placed before now (SDM Vol. 3, 11.5.4).  The
 * TSC deadline is the engine's to set afterwards (an MSR). */
int lapic_set_page(struct lapic *a, uint64_t base, const uint8_t *page)
{
	struct lapic t;
	memset(&t, 0, sizeof(t));
	t.v = a->v;
	t.base = (base & ~BASE_BSP) | (a->v->index == 0 ? BASE_BSP : 0);
	t.id = page_get(page, APIC_ID);
	t.tpr = page_get(page, APIC_TPR);
	t.ldr = page_get(page, APIC_LDR);
	t.dfr = page_get(page, APIC_DFR);
	t.svr = page_get(page, APIC_SVR);
	for (unsigned i = 0; i < 8; i++) {
		t.isr[i] = page_get(page, APIC_ISR + 16 * i);
		t.tmr[i] = page_get(page, APIC_TMR + 16 * i);
		t.irr[i] = page_get(page, APIC_IRR + 16 * i);
	}
	t.esr = page_get(page, APIC_ESR);
	t.icr_lo = page_get(page, APIC_ICR);
	t.icr_hi = page_get(page, APIC_ICR2);
	for (unsigned i = 0; i < LVT_NR; i++)
		t.lvt[i] = page_get(page, APIC_LVT0 + 16 * i);
	t.tmict = page_get(page, APIC_TMICT);
	t.tdcr = page_get(page, APIC_TDCR);
	uint32_t left = page_get(page, APIC_TMCCT);
	if (!lapic_state_valid(&t, 0, 0) || left > t.tmict)
		return -1;

	struct lapic_out o;
	out_init(&o);
	pthread_mutex_lock(&a->lock);
	uint64_t now = clock_ns();
	take_registers(a, &t);
	a->tsc_deadline = 0;
	if (timer_mode(a) == TIMER_TSC_DEADLINE || !left) {
		timer_stop(a);
	} else {
		uint64_t done = counts_to_ns(a, a->tmict - left);
		a->timer_start_ns = now > done ? now - done : 0;
		timer_set_next(a, now + counts_to_ns(a, left));
	}
	update_mmio_page(a);
	update_intr(a, &o);
	pthread_mutex_unlock(&a->lock);
	out_finish(a, &o);
	return 0;
}

uint32_t lapic_get_pending(struct lapic *a, uint8_t *sipi_vector)
{
	pthread_mutex_lock(&a->lock);
	uint32_t ev = __atomic_load_n(&a->events, __ATOMIC_SEQ_CST);
	*sipi_vector = a->sipi_vector;
	pthread_mutex_unlock(&a->lock);
	return ev & (LAPIC_EV_NMI | LAPIC_EV_INIT | LAPIC_EV_SIPI);
}

void lapic_set_pending(struct lapic *a, uint32_t events, uint8_t sipi_vector)
{
	uint32_t mask = LAPIC_EV_NMI | LAPIC_EV_INIT | LAPIC_EV_SIPI;
	pthread_mutex_lock(&a->lock);
	a->sipi_vector = sipi_vector;
	uint32_t ev = __atomic_load_n(&a->events, __ATOMIC_SEQ_CST);
	__atomic_store_n(&a->events, (ev & ~mask) | (events & mask), __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&a->lock);
	if (events & mask)
		vcpu_kick(a->v);
}
