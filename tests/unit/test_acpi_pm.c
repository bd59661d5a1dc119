/* ACPI fixed hardware: PM1 event/control blocks, PM timer, GPE0
 * (user/hw/acpi_pm.c). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "unit.h"
#include "devtest.h"
#include "hw/hw.h"
#include "mainloop.h"
#include "pc/pc.h"

#define PM1_STS (ACPI_PM_BASE + ACPI_PM1_EVT_OFF)
#define PM1_EN (PM1_STS + 2)
#define PM1_CNT (ACPI_PM_BASE + ACPI_PM1_CNT_OFF)
#define PM_TMR (ACPI_PM_BASE + ACPI_PM_TMR_OFF)
#define GPE0_STS (ACPI_PM_BASE + ACPI_GPE0_OFF)
#define GPE0_EN (GPE0_STS + 2)
#define SLP_S5 (ACPI_SLP_TYP_S5 << 10)
#define SLP_EN 0x2000
#define PWRBTN 0x0100
#define TMR 0x0001

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

TEST(acpi_pm_s5_powers_off)
{
	struct fake_irq f = { 0 };
	struct machine *m = fake_irq_machine(&f);
	CHECK(m && acpi_pm_new(m));
	CHECK_EQ(pio_in(m, PM1_CNT, 2), 1);               /* SCI_EN: always ACPI mode */
	pio_out(m, PM1_CNT, SLP_S5, 2);                   /* the type alone: nothing */
	CHECK_EQ(machine_take_request(m, NULL), REQ_NONE);
	CHECK_EQ(pio_in(m, PM1_CNT, 2), SLP_S5 | 1);      /* SLP_EN reads 0 */
	pio_out(m, PM1_CNT, SLP_S5 | SLP_EN, 2);
	CHECK_EQ(machine_take_request(m, NULL), REQ_POWEROFF);
	pio_out(m, PM1_CNT + 1, (SLP_S5 | SLP_EN) >> 8, 1); /* high byte alone */
	CHECK_EQ(machine_take_request(m, NULL), REQ_POWEROFF);
	pio_out(m, PM1_STS, (uint64_t)(SLP_S5 | SLP_EN) << 16, 4); /* that is PM1_EN */
	CHECK_EQ(machine_take_request(m, NULL), REQ_NONE);
	pio_out(m, PM1_EN, (uint64_t)(SLP_S5 | SLP_EN) << 16, 4); /* dword across EN, CNT */
	CHECK_EQ(machine_take_request(m, NULL), REQ_POWEROFF);
	for (unsigned typ = 0; typ < 8; typ++) {       /* S0-S4 and reserved: ignored */
		if (typ == ACPI_SLP_TYP_S5)
			continue;
		pio_out(m, PM1_CNT, typ << 10 | SLP_EN, 2);
		CHECK_EQ(machine_take_request(m, NULL), REQ_NONE);
	}
	pio_out(m, PM1_CNT, 0xffff & ~SLP_EN, 2);         /* reserved bits don't stick */
	CHECK_EQ(pio_in(m, PM1_CNT, 2), 0x1c03);
	machine_free(m);
}

TEST(acpi_pm_timer_counts_at_3_58_mhz)
{
	struct machine *m = machine_new(16 * MiB);
	CHECK(m && acpi_pm_new(m));
	uint64_t t0 = clock_ns();
	uint32_t a = pio_in(m, PM_TMR, 4);
	sleep_ms(200);
	uint32_t b = pio_in(m, PM_TMR, 4);
	uint64_t t1 = clock_ns();
	CHECK_EQ(a >> 24, 0);                          /* 24 bits: TMR_VAL_EXT = 0 */
	CHECK_EQ(b >> 24, 0);
	uint64_t ticks = (b - a) & 0xffffff;
	uint64_t max = (t1 - t0) * 3579545ULL / 1000000000ULL + 1;
	/* the reads lie at least 200 ms apart, within [t0, t1]: 3.58 MHz
	 * puts the count between the two bounds whatever the host's load */
	CHECK(ticks <= max);
	CHECK(ticks >= 200 * 3579);
	pio_out(m, PM_TMR, 0, 4);                         /* read-only */
	uint32_t c = pio_in(m, PM_TMR, 4);
	CHECK(((c - b) & 0xffffff) < 3579545);         /* did not restart */
	uint64_t lo = pio_in(m, PM_TMR, 1), hi = pio_in(m, PM_TMR + 3, 1);
	CHECK(lo <= 0xff);
	CHECK_EQ(hi, 0);
	machine_free(m);
}

TEST(acpi_pm_status_write_one_to_clear_and_sci)
{
	struct fake_irq f = { 0 };
	struct machine *m = fake_irq_machine(&f);
	struct acpi_pm *pm = m ? acpi_pm_new(m) : NULL;
	CHECK(pm);
	CHECK_EQ(pio_in(m, PM1_STS, 2) & PWRBTN, 0);
	acpi_pm_power_button(pm);
	CHECK_EQ(pio_in(m, PM1_STS, 2) & PWRBTN, PWRBTN);
	CHECK_EQ(f.level[ACPI_SCI_GSI], 0);            /* not enabled */
	pio_out(m, PM1_EN, PWRBTN, 2);
	CHECK_EQ(pio_in(m, PM1_EN, 2), PWRBTN);
	CHECK_EQ(f.level[ACPI_SCI_GSI], 1);
	pio_out(m, PM1_STS, 0, 2);                        /* writing 0 keeps it */
	pio_out(m, PM1_STS, 0xfeff, 2);                   /* and so do other 1s */
	CHECK_EQ(pio_in(m, PM1_STS, 2) & PWRBTN, PWRBTN);
	CHECK_EQ(f.level[ACPI_SCI_GSI], 1);
	pio_out(m, PM1_STS + 1, PWRBTN >> 8, 1);          /* byte write of the 1 */
	CHECK_EQ(pio_in(m, PM1_STS, 2) & PWRBTN, 0);
	CHECK_EQ(f.level[ACPI_SCI_GSI], 0);
	CHECK_EQ(f.rises[ACPI_SCI_GSI], 1);
	pio_out(m, PM1_EN, 0xffff, 2);                    /* only defined enables */
	CHECK_EQ(pio_in(m, PM1_EN, 2), 0x4721);
	pio_out(m, GPE0_EN, 0xffff, 2);                   /* GPEs: none pending */
	pio_out(m, GPE0_STS, 0xffff, 2);
	CHECK_EQ(pio_in(m, GPE0_STS, 4), 0xffff0000);
	CHECK_EQ(f.level[ACPI_SCI_GSI], 0);
	machine_reset_devices(m);
	CHECK_EQ(pio_in(m, PM1_EN, 2), 0);
	CHECK_EQ(pio_in(m, GPE0_EN, 2), 0);
	CHECK_EQ(pio_in(m, PM1_STS, 2), 0);
	machine_free(m);
}

/* The monitor's system_powerdown (machine_powerdown): the pc board's
 * power button, or -1 where there is none. */
TEST(acpi_pm_pc_powerdown_presses_the_button)
{
	struct fake_irq f = { 0 };
	struct machine *m = fake_irq_machine(&f);
	CHECK(m);
	CHECK_EQ(machine_powerdown(m), -1);            /* no board */
	machine_set_board(m, &pc_board_ops);
	CHECK_EQ(machine_powerdown(m), -1);            /* not built */
	struct pc_board *b = calloc(1, sizeof(*b));
	CHECK(b);
	m->board = b;
	CHECK_EQ(machine_powerdown(m), -1);            /* no ACPI PM device */
	b->acpi_pm = acpi_pm_new(m);
	CHECK(b->acpi_pm);
	pio_out(m, PM1_EN, PWRBTN, 2);                    /* the guest's ACPI driver */
	CHECK_EQ(f.level[ACPI_SCI_GSI], 0);
	CHECK_EQ(machine_powerdown(m), 0);
	CHECK_EQ(pio_in(m, PM1_STS, 2) & PWRBTN, PWRBTN);
	CHECK_EQ(f.level[ACPI_SCI_GSI], 1);
	CHECK_EQ(machine_take_request(m, NULL), REQ_NONE); /* the guest decides */
	pio_out(m, PM1_STS, PWRBTN, 2);                   /* handled */
	CHECK_EQ(f.level[ACPI_SCI_GSI], 0);
	CHECK_EQ(machine_powerdown(m), 0);                  /* pressed again */
	CHECK_EQ(f.level[ACPI_SCI_GSI], 1);
	CHECK_EQ(f.rises[ACPI_SCI_GSI], 2);
	machine_free(m);
	free(b);
}

/* Save a's PM state with the timer moved to ticks; load it into b. */
static int load_with_ticks(struct machine *a, struct machine *b, uint64_t ticks)
{
	struct state_buf s;
	state_init(&s);
	machine_save_devices(a, &s);
	size_t off = strlen("acpi-pm") + 1 + 1 + 5 * 2; /* tag, version, registers */
	if (s.len != off + 9) {
		state_free(&s);
		return -1;
	}
	memcpy(s.data + off, &ticks, 8);
	state_rewind(&s);
	int r = machine_load_devices(b, &s);
	state_free(&s);
	return r;
}

TEST(acpi_pm_timer_status_when_bit_23_toggles)
{
	struct fake_irq f = { 0 };
	struct machine *a = machine_new(16 * MiB), *b = fake_irq_machine(&f);
	CHECK(a && b && acpi_pm_new(a) && acpi_pm_new(b));
	pio_out(b, PM1_EN, TMR, 2);
	CHECK_EQ(pio_in(b, PM1_STS, 2) & TMR, 0);
	pio_out(a, PM1_EN, TMR, 2);
	/* times from before the loads: a test thread descheduled past the
	 * toggle (or the wrap) sees the count further on, and no more */
	uint64_t t0 = clock_ns();
	CHECK_EQ(load_with_ticks(a, b, (1 << 23) - 357954), 0); /* 100 ms before */
	uint16_t sts = pio_in(b, PM1_STS, 2);
	int level = f.level[ACPI_SCI_GSI];
	if (clock_ns() - t0 < 100000000ULL) {
		CHECK_EQ(sts & TMR, 0);
		CHECK_EQ(level, 0);
	}
	sleep_ms(150);
	CHECK_EQ(pio_in(b, PM1_STS, 2) & TMR, TMR);
	CHECK_EQ(f.level[ACPI_SCI_GSI], 1);            /* raised by the access */
	CHECK(pio_in(b, PM_TMR, 4) >= (1 << 23));
	pio_out(b, PM1_STS, TMR, 2);
	CHECK_EQ(pio_in(b, PM1_STS, 2) & TMR, 0);
	CHECK_EQ(f.level[ACPI_SCI_GSI], 0);
	t0 = clock_ns();
	CHECK_EQ(load_with_ticks(a, b, 0xffffff - 3580), 0);    /* the 24-bit wrap */
	sleep_ms(5);
	CHECK_EQ(pio_in(b, PM1_STS, 2) & TMR, TMR);
	uint32_t v = pio_in(b, PM_TMR, 4);
	uint64_t dt = clock_ns() - t0;
	uint64_t gone = (v - (0xffffff - 3580)) & 0xffffff;    /* past 0: wrapped */
	CHECK(v < (1 << 23) && gone >= 5 * 3579 && gone <= dt * 3579545ULL / 1000000000ULL + 1);
	machine_free(a);
	machine_free(b);
}

/* With a main loop, the toggle raises the SCI by itself. */
TEST(acpi_pm_timer_sci_from_main_loop)
{
	struct fake_irq f = { 0 };
	struct machine *a = machine_new(16 * MiB), *b = fake_irq_machine(&f);
	CHECK(a && b && acpi_pm_new(a));
	b->loop = mainloop_new();
	CHECK(b->loop && acpi_pm_new(b));
	pio_out(a, PM1_EN, TMR, 2);
	CHECK_EQ(load_with_ticks(a, b, (1 << 23) - 50 * 3580), 0); /* 50 ms before */
	CHECK_EQ(f.level[ACPI_SCI_GSI], 0);
	uint64_t end = clock_ns() + 1000000000ULL;
	while (!f.level[ACPI_SCI_GSI]) {
		bool late = clock_ns() >= end;  /* one more run after the time */
		mainloop_run_once(b->loop, 10);
		if (late)
			break;
	}
	CHECK_EQ(f.level[ACPI_SCI_GSI], 1);
	struct mainloop *l = b->loop;
	machine_free(b);                               /* frees the timer */
	mainloop_free(l);
	machine_free(a);
}

TEST(acpi_pm_save_load_and_bad_state)
{
	struct fake_irq f = { 0 };
	struct machine *a = machine_new(16 * MiB), *b = fake_irq_machine(&f);
	struct acpi_pm *pa = a ? acpi_pm_new(a) : NULL;
	CHECK(pa && b && acpi_pm_new(b));
	pio_out(a, PM1_EN, PWRBTN, 2);
	pio_out(a, PM1_CNT, SLP_S5, 2);
	pio_out(a, GPE0_EN, 0x8001, 2);
	acpi_pm_power_button(pa);
	sleep_ms(10);
	uint64_t t0 = clock_ns();
	uint32_t ta = pio_in(a, PM_TMR, 4);
	CHECK_EQ(copy_device_state(a, b), 0);
	CHECK_EQ(pio_in(b, PM1_EN, 2), PWRBTN);
	CHECK_EQ(pio_in(b, PM1_CNT, 2), SLP_S5 | 1);
	CHECK_EQ(pio_in(b, GPE0_EN, 2), 0x8001);
	CHECK_EQ(pio_in(b, PM1_STS, 2) & PWRBTN, PWRBTN);
	CHECK_EQ(f.level[ACPI_SCI_GSI], 1);            /* the line follows the state */
	/* carried on: no more ticks than host time passed between the reads
	 * (a restarted timer would be behind ta and wrap to ~2^24) */
	uint32_t tb = pio_in(b, PM_TMR, 4);
	uint64_t max = (clock_ns() - t0) * 3579545ULL / 1000000000ULL + 1;
	CHECK(((tb - ta) & 0xffffff) <= max);
	struct state_buf s;
	state_init(&s);
	machine_save_devices(a, &s);
	size_t ver = strlen("acpi-pm") + 1;
	s.data[ver] = 9;                               /* unknown version */
	state_rewind(&s);
	CHECK_EQ(machine_load_devices(b, &s), -1);
	s.data[ver] = 1;
	s.data[ver + 1] |= 1;                          /* TMR_STS is computed, not stored */
	state_rewind(&s);
	CHECK_EQ(machine_load_devices(b, &s), -1);
	s.data[ver + 1] &= ~1;
	s.data[ver + 5] = 0xff;                        /* undefined PM1_CNT bits */
	state_rewind(&s);
	CHECK_EQ(machine_load_devices(b, &s), -1);
	s.data[ver + 5] = 0;
	s.len--;                                       /* truncated */
	state_rewind(&s);
	CHECK_EQ(machine_load_devices(b, &s), -1);
	state_free(&s);
	CHECK_EQ(pio_in(b, PM1_CNT, 2), SLP_S5 | 1);      /* a failed load changed nothing */
	machine_free(a);
	machine_free(b);
}

/* Any value at any offset and width: only an S5 request may result, and
 * reads stay in range. */
TEST(acpi_pm_any_guest_write_is_harmless)
{
	struct fake_irq f = { 0 };
	struct machine *m = fake_irq_machine(&f);
	CHECK(m && acpi_pm_new(m));
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		unsigned size = 1u << (x % 3), off = (x >> 8) % ACPI_PM_LEN;
		uint64_t v = x >> 16;
		pio_out(m, ACPI_PM_BASE + off, v, size);
		enum run_request r = machine_take_request(m, NULL);
		CHECK(r == REQ_NONE || r == REQ_POWEROFF);
		CHECK(pio_in(m, ACPI_PM_BASE + off, size) <= (size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1));
	}
	CHECK_EQ(pio_in(m, PM1_CNT, 2) & ~0x1c02, 1);
	CHECK_EQ(pio_in(m, PM1_EN, 2) & ~0x4721, 0);
	CHECK_EQ(pio_in(m, 0x606, 2), 0);                 /* the reserved word */
	CHECK_EQ(pio_in(m, ACPI_PM_BASE + 0x0e, 4), 0xffff0000 | pio_in(m, GPE0_EN, 2)); /* past the end: ones */
	machine_free(m);
}
