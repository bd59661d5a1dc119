/* The local APIC (user/hw/lapic.c) with the user-space irqchip around it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "unit.h"
#include "devtest.h"
#include "accel.h"
#include "cpu.h"
#include "machine.h"
#include "mainloop.h"
#include "hw/apic.h"
#include "config.h"
#include "pc/pc.h"

#define MS 1000000ULL

/* LAPIC register offsets */
#define ID 0x20
#define VER 0x30
#define TPR 0x80
#define PPR 0xa0
#define EOI 0xb0
#define LDR 0xd0
#define DFR 0xe0
#define SVR 0xf0
#define ISR 0x100
#define TMR 0x180
#define IRR 0x200
#define ESR 0x280
#define ICR 0x300
#define ICR2 0x310
#define LVTT 0x320
#define LINT0 0x350
#define LINT1 0x360
#define LVTE 0x370
#define TMICT 0x380
#define TMCCT 0x390
#define TDCR 0x3e0

struct rig {
	struct machine *m;
	struct mainloop *loop;
	unsigned kicks[4];
};

static struct rig *kick_rig;

static void count_kick(struct vcpu *v)
{
	kick_rig->kicks[v->index]++;
}

static const struct accel_ops fake_accel_ops = { .name = "fake", .kick = count_kick };
static struct accel fake_accel = { .ops = &fake_accel_ops };

/* What the pc board's post-firmware state writes into each LAPIC (no
 * -bios, no -kernel), written as tcg's lapic_write does. */
static bool post_firmware(struct machine *m)
{
	static const struct config no_bios;
	m->cfg = &no_bios;
	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		struct pc_fw_state st;
		x86_cpu_reset_state(&st.cpu, i == 0);
		if (pc_post_firmware_state(m, i, &st) < 0 || st.cpu_set)
			return false;
		for (unsigned k = 0; k < st.nr_lapic; k++)
			lapic_mmio_write(m->vcpus[i]->lapic, st.lapic[k].offset, st.lapic[k].value);
	}
	return true;
}

/* n vCPUs (APIC ID = index), the irqchip, a LAPIC each; with_loop gives
 * them real main-loop timers; firmware: as the pc board leaves them when
 * qvm plays the firmware. */
static bool rig_init(struct rig *r, unsigned n, bool with_loop, bool firmware)
{
	memset(r, 0, sizeof(*r));
	kick_rig = r;
	r->m = machine_new(16 * MiB);
	if (!r->m)
		return false;
	if (with_loop)
		r->loop = r->m->loop = mainloop_new();
	r->m->accel = &fake_accel;
	r->m->irq_routing = &pc_irq_routing;
	r->m->nr_vcpus = n;
	r->m->vcpus = calloc(n, sizeof(*r->m->vcpus));
	if (irqchip_user_init(r->m) < 0)
		return false;
	for (unsigned i = 0; i < n; i++) {
		struct vcpu *v = calloc(1, sizeof(*v));
		v->m = r->m;
		v->index = i;
		v->apic_id = i;
		r->m->vcpus[i] = v;
		if (!lapic_new(r->m, v) || v->lapic == NULL)
			return false;
	}
	return !firmware || post_firmware(r->m);
}

static void rig_free(struct rig *r)
{
	for (unsigned i = 0; i < r->m->nr_vcpus; i++) {
		lapic_free(r->m->vcpus[i]->lapic);
		free(r->m->vcpus[i]);
	}
	machine_free(r->m);
	if (r->loop)
		mainloop_free(r->loop);
}

static struct lapic *cpu(struct rig *r, unsigned i)
{
	return r->m->vcpus[i]->lapic;
}

static uint32_t rd(struct rig *r, unsigned i, uint32_t off)
{
	return lapic_mmio_read(cpu(r, i), off);
}

static void wr(struct rig *r, unsigned i, uint32_t off, uint32_t val)
{
	lapic_mmio_write(cpu(r, i), off, val);
}

static void enable_all(struct rig *r)
{
	for (unsigned i = 0; i < r->m->nr_vcpus; i++)
		wr(r, i, SVR, 0x1ff);
}

static bool irr_has(struct rig *r, unsigned i, unsigned vec)
{
	return rd(r, i, IRR + (vec / 32) * 0x10) & (1u << (vec % 32));
}

static bool isr_has(struct rig *r, unsigned i, unsigned vec)
{
	return rd(r, i, ISR + (vec / 32) * 0x10) & (1u << (vec % 32));
}

static void send_ipi(struct rig *r, unsigned from, uint8_t dest, uint32_t icr)
{
	wr(r, from, ICR2, (uint32_t)dest << 24);
	wr(r, from, ICR, icr);
}

/* Run the main loop until an event shows up on cpu i, or timeout_ms;
 * the loop runs once more after the time is up, so that a test thread
 * descheduled past it still sees the timers that expired meanwhile. */
static bool wait_event(struct rig *r, unsigned i, uint32_t ev, unsigned timeout_ms)
{
	uint64_t end = clock_ns() + timeout_ms * MS;
	while (!(lapic_events(cpu(r, i)) & ev)) {
		bool late = clock_ns() >= end;
		mainloop_run_once(r->loop, 1);
		if (late)
			break;
	}
	return lapic_events(cpu(r, i)) & ev;
}

TEST(lapic_power_on_state)
{
	struct rig r;
	CHECK(rig_init(&r, 2, false, false));
	CHECK_EQ(rd(&r, 1, ID), 1u << 24);
	CHECK_EQ(rd(&r, 0, VER), 0x00050014);
	CHECK_EQ(rd(&r, 0, SVR), 0xff);
	CHECK_EQ(rd(&r, 0, DFR), 0xffffffff);
	for (uint32_t off = LVTT; off <= LVTE; off += 0x10)
		CHECK_EQ(rd(&r, 0, off), 0x10000);
	CHECK_EQ(lapic_get_base(cpu(&r, 0)), 0xfee00900);
	CHECK_EQ(lapic_get_base(cpu(&r, 1)), 0xfee00800);
	CHECK(lapic_mmio_hit(cpu(&r, 0), 0xfee00020));
	CHECK(!lapic_mmio_hit(cpu(&r, 0), 0xfef00000));
	CHECK_EQ(lapic_events(cpu(&r, 0)), 0);
	CHECK_EQ(lapic_ack_interrupt(cpu(&r, 0)), -1);
	rig_free(&r);
}

TEST(lapic_firmware_virtual_wire)
{
	struct rig r;
	CHECK(rig_init(&r, 2, false, true));
	CHECK_EQ(rd(&r, 0, LINT0), 0x700);
	CHECK_EQ(rd(&r, 0, LINT1), 0x400);
	CHECK_EQ(rd(&r, 0, SVR), 0x1ff);
	CHECK_EQ(rd(&r, 1, LINT0), 0x10000);
	CHECK_EQ(rd(&r, 1, SVR), 0xff);
	rig_free(&r);
}

TEST(lapic_fixed_ipi_ack_eoi)
{
	struct rig r;
	CHECK(rig_init(&r, 2, false, false));
	enable_all(&r);
	send_ipi(&r, 0, 1, 0x40);
	CHECK(lapic_events(cpu(&r, 1)) & LAPIC_EV_INTR);
	CHECK(!(lapic_events(cpu(&r, 0)) & LAPIC_EV_INTR));
	CHECK(r.kicks[1] >= 1);
	CHECK(irr_has(&r, 1, 0x40));
	CHECK_EQ(rd(&r, 0, ICR) & 0x1000, 0); /* delivered at once */
	CHECK_EQ(lapic_ack_interrupt(cpu(&r, 1)), 0x40);
	CHECK(!irr_has(&r, 1, 0x40));
	CHECK(isr_has(&r, 1, 0x40));
	CHECK_EQ(rd(&r, 1, PPR), 0x40);
	CHECK(!(lapic_events(cpu(&r, 1)) & LAPIC_EV_INTR));
	wr(&r, 1, EOI, 0);
	CHECK(!isr_has(&r, 1, 0x40));
	CHECK_EQ(rd(&r, 1, PPR), 0);
	rig_free(&r);
}

TEST(lapic_priorities_nest)
{
	struct rig r;
	CHECK(rig_init(&r, 1, false, false));
	enable_all(&r);
	send_ipi(&r, 0, 0, 0x31);
	send_ipi(&r, 0, 0, 0x81);
	CHECK_EQ(lapic_ack_interrupt(cpu(&r, 0)), 0x81);
	/* 0x31's class is below the in-service 0x81's */
	CHECK_EQ(lapic_ack_interrupt(cpu(&r, 0)), -1);
	CHECK(!(lapic_events(cpu(&r, 0)) & LAPIC_EV_INTR));
	send_ipi(&r, 0, 0, 0x85); /* same class as in service: waits too */
	CHECK_EQ(lapic_ack_interrupt(cpu(&r, 0)), -1);
	send_ipi(&r, 0, 0, 0x91);
	CHECK_EQ(lapic_ack_interrupt(cpu(&r, 0)), 0x91);
	wr(&r, 0, EOI, 0); /* retires 0x91, the highest */
	CHECK(isr_has(&r, 0, 0x81));
	CHECK(!isr_has(&r, 0, 0x91));
	wr(&r, 0, EOI, 0);
	CHECK(lapic_events(cpu(&r, 0)) & LAPIC_EV_INTR);
	CHECK_EQ(lapic_ack_interrupt(cpu(&r, 0)), 0x85);
	wr(&r, 0, EOI, 0);
	CHECK_EQ(lapic_ack_interrupt(cpu(&r, 0)), 0x31);
	rig_free(&r);
}

TEST(lapic_tpr_ppr_cr8)
{
	struct rig r;
	CHECK(rig_init(&r, 1, false, false));
	enable_all(&r);
	wr(&r, 0, TPR, 0x65);
	CHECK_EQ(rd(&r, 0, PPR), 0x65);
	CHECK_EQ(lapic_get_cr8(cpu(&r, 0)), 6);
	send_ipi(&r, 0, 0, 0x50);
	CHECK(irr_has(&r, 0, 0x50));
	CHECK(!(lapic_events(cpu(&r, 0)) & LAPIC_EV_INTR));
	CHECK_EQ(lapic_ack_interrupt(cpu(&r, 0)), -1);
	lapic_set_cr8(cpu(&r, 0), 4);
	CHECK_EQ(rd(&r, 0, TPR), 0x40);
	CHECK(lapic_events(cpu(&r, 0)) & LAPIC_EV_INTR);
	CHECK_EQ(lapic_ack_interrupt(cpu(&r, 0)), 0x50);
	/* PPR: the in-service class when above TPR */
	CHECK_EQ(rd(&r, 0, PPR), 0x50);
	wr(&r, 0, TPR, 0x70);
	CHECK_EQ(rd(&r, 0, PPR), 0x70);
	rig_free(&r);
}

TEST(lapic_init_sipi_nmi)
{
	struct rig r;
	CHECK(rig_init(&r, 2, false, false));
	enable_all(&r);
	wr(&r, 1, TPR, 0x20);
	wr(&r, 1, LVTT, 0x30);
	send_ipi(&r, 0, 1, 0x8500); /* INIT level de-assert: nothing */
	CHECK(!(lapic_events(cpu(&r, 1)) & LAPIC_EV_INIT));
	send_ipi(&r, 0, 1, 0xc500); /* INIT, level, assert */
	CHECK(lapic_events(cpu(&r, 1)) & LAPIC_EV_INIT);
	send_ipi(&r, 0, 1, 0x4608); /* SIPI vector 8 */
	CHECK(lapic_events(cpu(&r, 1)) & LAPIC_EV_SIPI);
	CHECK(lapic_take_init(cpu(&r, 1)));
	CHECK(!lapic_take_init(cpu(&r, 1)));
	/* INIT reset: all but the ID and the base */
	CHECK_EQ(rd(&r, 1, TPR), 0);
	CHECK_EQ(rd(&r, 1, SVR), 0xff);
	CHECK_EQ(rd(&r, 1, LVTT), 0x10000);
	CHECK_EQ(rd(&r, 1, ID), 1u << 24);
	CHECK_EQ(lapic_take_sipi(cpu(&r, 1)), 8);
	CHECK_EQ(lapic_take_sipi(cpu(&r, 1)), -1);
	send_ipi(&r, 0, 1, 0x400); /* NMI */
	CHECK(lapic_events(cpu(&r, 1)) & LAPIC_EV_NMI);
	CHECK(lapic_take_nmi(cpu(&r, 1)));
	CHECK(!lapic_take_nmi(cpu(&r, 1)));
	CHECK_EQ(lapic_events(cpu(&r, 1)), 0);
	rig_free(&r);
}

TEST(lapic_shorthands_and_broadcast)
{
	struct rig r;
	CHECK(rig_init(&r, 3, false, false));
	enable_all(&r);
	send_ipi(&r, 1, 0, 0x40041); /* self */
	CHECK(!irr_has(&r, 0, 0x41) && irr_has(&r, 1, 0x41) && !irr_has(&r, 2, 0x41));
	send_ipi(&r, 1, 0, 0x80042); /* all including self */
	CHECK(irr_has(&r, 0, 0x42) && irr_has(&r, 1, 0x42) && irr_has(&r, 2, 0x42));
	send_ipi(&r, 1, 0, 0xc0043); /* all excluding self */
	CHECK(irr_has(&r, 0, 0x43) && !irr_has(&r, 1, 0x43) && irr_has(&r, 2, 0x43));
	send_ipi(&r, 2, 0xff, 0x44); /* physical broadcast */
	CHECK(irr_has(&r, 0, 0x44) && irr_has(&r, 1, 0x44) && irr_has(&r, 2, 0x44));
	rig_free(&r);
}

TEST(lapic_logical_flat_and_cluster)
{
	struct rig r;
	CHECK(rig_init(&r, 3, false, false));
	enable_all(&r);
	for (unsigned i = 0; i < 3; i++)
		wr(&r, i, LDR, (1u << i) << 24);
	send_ipi(&r, 0, 0x06, 0x850); /* flat: CPUs 1 and 2 */
	CHECK(!irr_has(&r, 0, 0x50) && irr_has(&r, 1, 0x50) && irr_has(&r, 2, 0x50));
	/* cluster model: cluster 1 holds CPUs 0 and 1, cluster 2 CPU 2 */
	for (unsigned i = 0; i < 3; i++)
		wr(&r, i, DFR, 0x0fffffff);
	CHECK_EQ(rd(&r, 0, DFR), 0x0fffffff);
	wr(&r, 0, LDR, 0x11000000);
	wr(&r, 1, LDR, 0x12000000);
	wr(&r, 2, LDR, 0x21000000);
	send_ipi(&r, 0, 0x11, 0x851);
	CHECK(irr_has(&r, 0, 0x51) && !irr_has(&r, 1, 0x51) && !irr_has(&r, 2, 0x51));
	send_ipi(&r, 0, 0xf1, 0x852); /* member 1 of every cluster */
	CHECK(irr_has(&r, 0, 0x52) && !irr_has(&r, 1, 0x52) && irr_has(&r, 2, 0x52));
	rig_free(&r);
}

TEST(lapic_lowest_priority)
{
	struct rig r;
	CHECK(rig_init(&r, 3, false, false));
	enable_all(&r);
	wr(&r, 0, TPR, 0x40);
	wr(&r, 1, TPR, 0x10);
	wr(&r, 2, TPR, 0x30);
	send_ipi(&r, 0, 0xff, 0x160); /* lowest priority, physical broadcast */
	CHECK(!irr_has(&r, 0, 0x60) && irr_has(&r, 1, 0x60) && !irr_has(&r, 2, 0x60));
	rig_free(&r);
}

TEST(lapic_software_disable_and_esr)
{
	struct rig r;
	CHECK(rig_init(&r, 2, false, false));
	/* software-disabled: fixed interrupts are not accepted */
	send_ipi(&r, 0, 1, 0x40);
	CHECK(!irr_has(&r, 1, 0x40));
	wr(&r, 1, SVR, 0x1ff);
	wr(&r, 1, LVTT, 0x30);
	CHECK_EQ(rd(&r, 1, LVTT), 0x30);
	wr(&r, 1, SVR, 0xff); /* disabling masks every LVT */
	CHECK_EQ(rd(&r, 1, LVTT), 0x10030);
	wr(&r, 1, LVTT, 0x30);
	CHECK_EQ(rd(&r, 1, LVTT), 0x10030);
	/* illegal vector: logged in ESR at the next ESR write */
	wr(&r, 0, SVR, 0x1ff);
	send_ipi(&r, 0, 1, 0x05);
	CHECK_EQ(rd(&r, 0, ESR), 0);
	wr(&r, 0, ESR, 0);
	CHECK_EQ(rd(&r, 0, ESR), 0x20);
	wr(&r, 0, ESR, 0);
	CHECK_EQ(rd(&r, 0, ESR), 0);
	/* a reserved register */
	rd(&r, 0, 0x2f0);
	wr(&r, 0, ESR, 0);
	CHECK_EQ(rd(&r, 0, ESR), 0x80);
	rig_free(&r);
}

TEST(lapic_oneshot_timer_fires)
{
	struct rig r;
	CHECK(rig_init(&r, 1, true, false));
	enable_all(&r);
	wr(&r, 0, TDCR, 0xb);         /* divide by 1: 1 count = 1 ns */
	wr(&r, 0, LVTT, 0x30);
	uint64_t t0 = clock_ns();
	wr(&r, 0, TMICT, 20 * MS);
	uint32_t c1 = rd(&r, 0, TMCCT);
	CHECK(c1 <= 20 * MS && (c1 > 0 || clock_ns() - t0 >= 20 * MS));
	uint64_t next = lapic_next_timer_ns(cpu(&r, 0));
	CHECK(next >= t0 + 20 * MS && next <= clock_ns() + 20 * MS);
	CHECK(!(lapic_events(cpu(&r, 0)) & LAPIC_EV_INTR));
	CHECK(wait_event(&r, 0, LAPIC_EV_INTR, 2000));
	CHECK(clock_ns() - t0 >= 20 * MS);
	CHECK(r.kicks[0] >= 1);
	CHECK_EQ(rd(&r, 0, TMCCT), 0);
	CHECK_EQ(lapic_next_timer_ns(cpu(&r, 0)), UINT64_MAX);
	CHECK_EQ(lapic_ack_interrupt(cpu(&r, 0)), 0x30);
	CHECK(!(rd(&r, 0, TMR + 0x10) & 1)); /* edge */
	rig_free(&r);
}

TEST(lapic_periodic_timer_and_divider)
{
	struct rig r;
	CHECK(rig_init(&r, 1, true, false));
	enable_all(&r);
	wr(&r, 0, TDCR, 0x3);         /* divide by 16 */
	wr(&r, 0, LVTT, 0x20031);     /* periodic */
	wr(&r, 0, TMICT, 2 * MS / 16); /* 2 ms */
	unsigned fired = 0;
	uint64_t end = clock_ns() + 2000 * MS;
	while (fired < 5 && clock_ns() < end) {
		if (wait_event(&r, 0, LAPIC_EV_INTR, 100)) {
			CHECK_EQ(lapic_ack_interrupt(cpu(&r, 0)), 0x31);
			wr(&r, 0, EOI, 0);
			fired++;
		}
	}
	CHECK_EQ(fired, 5);
	uint32_t cur = rd(&r, 0, TMCCT);
	CHECK(cur > 0 && cur <= 2 * MS / 16);
	wr(&r, 0, TMICT, 0); /* stops it */
	CHECK_EQ(rd(&r, 0, TMCCT), 0);
	CHECK_EQ(lapic_next_timer_ns(cpu(&r, 0)), UINT64_MAX);
	rig_free(&r);
}

/* A masked timer counts but raises nothing; unmasking doesn't bring
 * back an expiry that happened while masked [SDM 11.5.1]. */
TEST(lapic_masked_timer)
{
	struct rig r;
	CHECK(rig_init(&r, 1, true, false));
	enable_all(&r);
	wr(&r, 0, TDCR, 0xb);
	wr(&r, 0, LVTT, 0x10034);
	wr(&r, 0, TMICT, 2 * MS);
	CHECK_EQ(lapic_next_timer_ns(cpu(&r, 0)), UINT64_MAX);
	uint64_t end = clock_ns() + 10 * MS;
	while (clock_ns() < end)
		mainloop_run_once(r.loop, 1);
	CHECK_EQ(rd(&r, 0, TMCCT), 0);
	wr(&r, 0, LVTT, 0x34);
	CHECK(!(lapic_events(cpu(&r, 0)) & LAPIC_EV_INTR));
	CHECK_EQ(lapic_ack_interrupt(cpu(&r, 0)), -1);
	/* periodic: masked periods pass silently, then it fires again */
	wr(&r, 0, LVTT, 0x30034);
	wr(&r, 0, TMICT, 2 * MS);
	end = clock_ns() + 10 * MS;
	while (clock_ns() < end)
		mainloop_run_once(r.loop, 1);
	CHECK(!(lapic_events(cpu(&r, 0)) & LAPIC_EV_INTR));
	wr(&r, 0, LVTT, 0x20034);
	CHECK(!(lapic_events(cpu(&r, 0)) & LAPIC_EV_INTR));
	CHECK(wait_event(&r, 0, LAPIC_EV_INTR, 2000));
	CHECK_EQ(lapic_ack_interrupt(cpu(&r, 0)), 0x34);
	rig_free(&r);
}

TEST(lapic_timer_lazy_without_loop)
{
	struct rig r;
	CHECK(rig_init(&r, 1, false, false));
	enable_all(&r);
	wr(&r, 0, TDCR, 0xb);
	wr(&r, 0, LVTT, 0x32);
	uint64_t t0 = clock_ns();
	wr(&r, 0, TMICT, 1 * MS);
	uint32_t a = rd(&r, 0, TMCCT);
	uint64_t ta = clock_ns();
	struct timespec ts = { 0, 200000 };
	nanosleep(&ts, NULL);
	uint32_t b = rd(&r, 0, TMCCT);
	/* counting down; at 0 already only if the thread slept 1 ms */
	CHECK(a > 0 || ta - t0 >= 1 * MS);
	CHECK(b < a || (a == 0 && b == 0));
	uint64_t end = clock_ns() + 1000 * MS;
	while (!(lapic_events(cpu(&r, 0)) & LAPIC_EV_INTR) && clock_ns() < end)
		;
	CHECK(lapic_events(cpu(&r, 0)) & LAPIC_EV_INTR);
	CHECK_EQ(lapic_ack_interrupt(cpu(&r, 0)), 0x32);
	rig_free(&r);
}

TEST(lapic_tsc_deadline)
{
	struct rig r;
	CHECK(rig_init(&r, 1, true, false));
	enable_all(&r);
	CHECK(tsc_hz() > 0);
	/* not in TSC-deadline mode: reads 0, writes ignored */
	lapic_set_tsc_deadline(cpu(&r, 0), host_rdtsc() + 1000);
	CHECK_EQ(lapic_get_tsc_deadline(cpu(&r, 0)), 0);
	wr(&r, 0, LVTT, 0x40033);
	uint64_t deadline = host_rdtsc() + tsc_hz() / 100; /* 10 ms */
	lapic_set_tsc_deadline(cpu(&r, 0), deadline);
	CHECK_EQ(lapic_get_tsc_deadline(cpu(&r, 0)), deadline);
	CHECK_EQ(rd(&r, 0, TMCCT), 0);
	wr(&r, 0, TMICT, 12345); /* ignored in this mode */
	CHECK_EQ(lapic_get_tsc_deadline(cpu(&r, 0)), deadline);
	CHECK(wait_event(&r, 0, LAPIC_EV_INTR, 2000));
	CHECK(host_rdtsc() >= deadline);
	CHECK_EQ(lapic_get_tsc_deadline(cpu(&r, 0)), 0);
	CHECK_EQ(lapic_ack_interrupt(cpu(&r, 0)), 0x33);
	wr(&r, 0, EOI, 0);
	/* a deadline in the past fires at once */
	lapic_set_tsc_deadline(cpu(&r, 0), 1);
	CHECK(lapic_events(cpu(&r, 0)) & LAPIC_EV_INTR);
	CHECK_EQ(lapic_ack_interrupt(cpu(&r, 0)), 0x33);
	wr(&r, 0, EOI, 0);
	/* leaving the mode disarms */
	lapic_set_tsc_deadline(cpu(&r, 0), host_rdtsc() + tsc_hz());
	wr(&r, 0, LVTT, 0x33);
	CHECK_EQ(lapic_next_timer_ns(cpu(&r, 0)), UINT64_MAX);
	rig_free(&r);
}

TEST(lapic_x2apic_msrs)
{
	struct rig r;
	uint64_t val = 0;
	CHECK(rig_init(&r, 2, false, false));
	struct lapic *a = cpu(&r, 1);
	CHECK_EQ(lapic_msr_read(a, 0x802, &val), -1); /* xAPIC mode: #GP */
	CHECK_EQ(lapic_set_base(a, 0xfee00000 | 0x400), -1); /* EXTD without EN */
	CHECK_EQ(lapic_set_base(a, 0xfee00800 | 0x10), -1); /* reserved bit */
	CHECK_EQ(lapic_set_base(a, 0xfee00c00), 0);
	CHECK_EQ(lapic_get_base(a), 0xfee00c00);
	CHECK(!lapic_mmio_hit(a, 0xfee00020));
	CHECK_EQ(lapic_msr_read(a, 0x802, &val), 0);
	CHECK_EQ(val, 1);
	CHECK_EQ(lapic_msr_read(a, 0x803, &val), 0);
	CHECK_EQ(val, 0x00050014);
	CHECK_EQ(lapic_msr_read(a, 0x80d, &val), 0);
	CHECK_EQ(val, 0x2);                       /* cluster 0, bit 1 */
	CHECK_EQ(lapic_msr_read(a, 0x809, &val), -1); /* no APR */
	CHECK_EQ(lapic_msr_read(a, 0x80e, &val), -1); /* no DFR */
	CHECK_EQ(lapic_msr_read(a, 0x831, &val), -1); /* no ICR2 */
	CHECK_EQ(lapic_msr_read(a, 0x80b, &val), -1); /* EOI write-only */
	CHECK_EQ(lapic_msr_read(a, 0x83f, &val), -1); /* SELF IPI write-only */
	CHECK_EQ(lapic_msr_read(a, 0x82f, &val), -1); /* no CMCI */
	CHECK_EQ(lapic_msr_write(a, 0x802, 5), -1);   /* ID read-only */
	CHECK_EQ(lapic_msr_write(a, 0x80d, 5), -1);   /* LDR read-only */
	CHECK_EQ(lapic_msr_write(a, 0x80b, 1), -1);   /* EOI non-zero */
	CHECK_EQ(lapic_msr_write(a, 0x828, 1), -1);   /* ESR non-zero */
	CHECK_EQ(lapic_msr_write(a, 0x808, 0x100), -1); /* TPR reserved */
	CHECK_EQ(lapic_msr_write(a, 0x808, 1ULL << 32), -1);
	CHECK_EQ(lapic_msr_write(a, 0x80f, 0x1ff), 0);
	CHECK_EQ(lapic_msr_write(a, 0x808, 0x20), 0);
	CHECK_EQ(lapic_msr_read(a, 0x808, &val), 0);
	CHECK_EQ(val, 0x20);
	/* SELF IPI */
	CHECK_EQ(lapic_msr_write(a, 0x83f, 0x1ff), -1);
	CHECK_EQ(lapic_msr_write(a, 0x83f, 0x55), 0);
	CHECK(irr_has(&r, 1, 0x55));
	/* 64-bit ICR to the xAPIC CPU 0 and to itself */
	wr(&r, 0, SVR, 0x1ff);
	CHECK_EQ(lapic_msr_write(a, 0x830, 0x0000000000000066ULL), 0);
	CHECK(irr_has(&r, 0, 0x66));
	CHECK_EQ(lapic_msr_write(a, 0x830, 0x0000000100000067ULL), 0);
	CHECK(irr_has(&r, 1, 0x67));
	CHECK_EQ(lapic_msr_read(a, 0x830, &val), 0);
	CHECK_EQ(val, 0x0000000100000067ULL);
	CHECK_EQ(lapic_msr_write(a, 0x830, 0x100000ULL), -1); /* reserved bit */
	/* x2APIC -> xAPIC is invalid; through disabled it works */
	CHECK_EQ(lapic_set_base(a, 0xfee00800), -1);
	CHECK_EQ(lapic_set_base(a, 0xfee00000), 0);
	CHECK(!lapic_mmio_hit(a, 0xfee00020));
	CHECK_EQ(lapic_set_base(a, 0xfee00c00), -1); /* disabled -> x2APIC */
	CHECK_EQ(lapic_set_base(a, 0xfee00800), 0);
	CHECK(lapic_mmio_hit(a, 0xfee00020));
	CHECK_EQ(rd(&r, 1, ID), 1u << 24);
	CHECK_EQ(rd(&r, 1, SVR), 0xff); /* state was lost */
	/* relocation */
	CHECK_EQ(lapic_set_base(a, 0xfed00800), 0);
	CHECK(lapic_mmio_hit(a, 0xfed00030));
	CHECK(!lapic_mmio_hit(a, 0xfee00030));
	rig_free(&r);
}

TEST(lapic_extint_from_pic)
{
	struct rig r;
	CHECK(rig_init(&r, 2, false, true));
	struct machine *m = r.m;
	uint64_t v;
	/* program the PIC: master at 0x20, slave at 0x28 */
	static const uint8_t master[] = { 0x11, 0x20, 0x04, 0x01 }, slave[] = { 0x11, 0x28, 0x02, 0x01 };
	for (unsigned i = 0; i < 4; i++) {
		v = master[i];
		machine_pio(m, i ? 0x21 : 0x20, true, &v, 1);
		v = slave[i];
		machine_pio(m, i ? 0xa1 : 0xa0, true, &v, 1);
	}
	CHECK(!(lapic_events(cpu(&r, 0)) & LAPIC_EV_INTR));
	machine_pulse_irq(m, 4);
	CHECK(lapic_events(cpu(&r, 0)) & LAPIC_EV_INTR);
	CHECK(!(lapic_events(cpu(&r, 1)) & LAPIC_EV_INTR));
	CHECK_EQ(lapic_ack_interrupt(cpu(&r, 0)), 0x24);
	CHECK(!(lapic_events(cpu(&r, 0)) & LAPIC_EV_INTR));
	v = 0x20; /* EOI to the PIC */
	machine_pio(m, 0x20, true, &v, 1);
	/* masking LINT0 cuts the wire */
	wr(&r, 0, LINT0, 0x10700);
	machine_pulse_irq(m, 3);
	CHECK(!(lapic_events(cpu(&r, 0)) & LAPIC_EV_INTR));
	wr(&r, 0, LINT0, 0x700);
	CHECK(lapic_events(cpu(&r, 0)) & LAPIC_EV_INTR);
	CHECK_EQ(lapic_ack_interrupt(cpu(&r, 0)), 0x23);
	rig_free(&r);
}

TEST(lapic_save_load_round_trip)
{
	struct rig a, b;
	CHECK(rig_init(&a, 2, false, false));
	enable_all(&a);
	wr(&a, 1, TPR, 0x20);
	wr(&a, 1, LDR, 0x04000000);
	wr(&a, 1, LVTT, 0x20040);
	wr(&a, 1, TDCR, 0xb);
	uint64_t t0 = clock_ns();
	wr(&a, 1, TMICT, 4000 * MS);
	send_ipi(&a, 0, 1, 0x77);
	send_ipi(&a, 0, 1, 0x400);
	CHECK_EQ(lapic_ack_interrupt(cpu(&a, 1)), 0x77);
	send_ipi(&a, 0, 1, 0x88);
	CHECK(rig_init(&b, 2, false, false));
	CHECK_EQ(copy_device_state(a.m, b.m), 0);
	CHECK_EQ(rd(&b, 1, TPR), 0x20);
	CHECK_EQ(rd(&b, 1, LDR), 0x04000000);
	CHECK_EQ(rd(&b, 1, LVTT), 0x20040);
	CHECK_EQ(rd(&b, 1, SVR), 0x1ff);
	CHECK(isr_has(&b, 1, 0x77));
	CHECK(irr_has(&b, 1, 0x88));
	uint32_t cur = rd(&b, 1, TMCCT);
	CHECK(cur <= 4000 * MS && cur + (clock_ns() - t0) >= 4000 * MS); /* 1 count = 1 ns */
	CHECK(lapic_events(cpu(&b, 1)) & LAPIC_EV_NMI);
	CHECK(lapic_events(cpu(&b, 1)) & LAPIC_EV_INTR);
	CHECK_EQ(lapic_ack_interrupt(cpu(&b, 1)), 0x88);
	rig_free(&b);
	rig_free(&a);
}

/* Several threads at once: vCPUs sending each other IPIs and taking
 * their own interrupts (ack, EOI), a device thread raising a level
 * interrupt through the IOAPIC and edges through the PIC, and the main
 * loop running the PIT.  Nothing may deadlock or be lost for good. */
struct storm {
	struct rig *r;
	unsigned index;
	unsigned taken;
	bool *stop;
};

static void *storm_vcpu(void *opaque)
{
	struct storm *s = opaque;
	struct lapic *a = cpu(s->r, s->index);
	unsigned other = !s->index;
	while (!__atomic_load_n(s->stop, __ATOMIC_RELAXED)) {
		lapic_mmio_write(a, ICR2, other << 24);
		lapic_mmio_write(a, ICR, 0x40 + s->index);
		int v;
		while ((v = lapic_ack_interrupt(a)) >= 0) {
			__atomic_add_fetch(&s->taken, 1, __ATOMIC_RELAXED);
			if (v < 0x20 || v > 0x27) /* the PIC's vectors: EOI the PIC */
				lapic_mmio_write(a, EOI, 0);
			else
				machine_pio(s->r->m, 0x20, true, &(uint64_t){ 0x20 }, 1);
		}
	}
	return NULL;
}

static void *storm_device(void *opaque)
{
	struct storm *s = opaque;
	while (!__atomic_load_n(s->stop, __ATOMIC_RELAXED)) {
		machine_set_irq(s->r->m, 10, 1);
		machine_pulse_irq(s->r->m, 3);
		machine_set_irq(s->r->m, 10, 0);
	}
	return NULL;
}

TEST(lapic_concurrent_storm)
{
	struct rig r;
	bool stop = false;
	CHECK(rig_init(&r, 2, true, true));
	enable_all(&r);
	struct machine *m = r.m;
	uint64_t v;
	static const uint8_t pic[] = { 0x11, 0x20, 0x04, 0x01 };
	for (unsigned i = 0; i < 4; i++) {
		v = pic[i];
		machine_pio(m, i ? 0x21 : 0x20, true, &v, 1);
	}
	/* IOAPIC pin 10: level, vector 0x5a, to CPU 1 */
	v = 0x21; machine_mmio(m, 0xfec00000, true, &v, 4);
	v = 1u << 24; machine_mmio(m, 0xfec00010, true, &v, 4);
	v = 0x20; machine_mmio(m, 0xfec00000, true, &v, 4);
	v = 0x805a; machine_mmio(m, 0xfec00010, true, &v, 4);
	/* PIT at 5 kHz through the PIC to CPU 0 */
	v = 0x34; machine_pio(m, 0x43, true, &v, 1);
	v = 238; machine_pio(m, 0x40, true, &v, 1);
	v = 0; machine_pio(m, 0x40, true, &v, 1);
	struct storm s[3] = { { &r, 0, 0, &stop }, { &r, 1, 0, &stop }, { &r, 2, 0, &stop } };
	pthread_t t[3];
	pthread_create(&t[0], NULL, storm_vcpu, &s[0]);
	pthread_create(&t[1], NULL, storm_vcpu, &s[1]);
	pthread_create(&t[2], NULL, storm_device, &s[2]);
	/* 300 ms, and on until both vCPU threads took something: on a busy
	 * host they may not have been scheduled yet (10 s at most) */
	uint64_t start = clock_ns();
	for (;;) {
		uint64_t gone = clock_ns() - start;
		bool both = __atomic_load_n(&s[0].taken, __ATOMIC_RELAXED) &&
			    __atomic_load_n(&s[1].taken, __ATOMIC_RELAXED);
		if (gone >= 10000 * MS || (gone >= 300 * MS && both))
			break;
		mainloop_run_once(r.loop, 1);
	}
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	/* IPIs coalesce in IRR when the threads take turns on a busy host:
	 * ask for progress, then for a clean state afterwards */
	CHECK(s[0].taken > 0 && s[1].taken > 0);
	machine_set_irq(m, 10, 0);
	for (unsigned i = 0; i < 2; i++) {
		int vec;
		while ((vec = lapic_ack_interrupt(cpu(&r, i))) >= 0)
			if (vec < 0x20 || vec > 0x27)
				wr(&r, i, EOI, 0);
		send_ipi(&r, !i, i, 0x70);
		CHECK_EQ(lapic_ack_interrupt(cpu(&r, i)), 0x70);
		wr(&r, i, EOI, 0);
		for (unsigned k = 0; k < 8; k++)
			CHECK_EQ(rd(&r, i, ISR + k * 0x10), 0);
	}
	rig_free(&r);
}
