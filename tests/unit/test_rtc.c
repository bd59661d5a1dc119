/* The MC146818 RTC and CMOS (user/hw/rtc.c). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "unit.h"
#include "devtest.h"
#include "machine.h"
#include "mainloop.h"
#include "hw/hw.h"

#define GSI 8
#define MS 1000000ULL

struct rig {
	struct machine *m;
	struct rtc *r;
	struct fake_irq irq;
};

static bool rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	r->m = fake_irq_machine(&r->irq);
	if (!r->m)
		return false;
	r->r = rtc_new(r->m, GSI);
	return r->r != NULL;
}

static uint8_t rd(struct rig *r, uint8_t idx)
{
	uint64_t v = idx;
	machine_pio(r->m, 0x70, true, &v, 1);
	machine_pio(r->m, 0x71, false, &v, 1);
	return v;
}

static void wr(struct rig *r, uint8_t idx, uint8_t val)
{
	uint64_t v = idx;
	machine_pio(r->m, 0x70, true, &v, 1);
	v = val;
	machine_pio(r->m, 0x71, true, &v, 1);
}

static unsigned bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 15);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* The RTC's date (BCD, 24 h) as seconds since 1970. */
static time_t read_bcd_date(struct rig *r)
{
	struct tm tm = {
		.tm_sec = bcd(rd(r, 0)), .tm_min = bcd(rd(r, 2)), .tm_hour = bcd(rd(r, 4)),
		.tm_mday = bcd(rd(r, 7)), .tm_mon = bcd(rd(r, 8)) - 1,
		.tm_year = bcd(rd(r, 0x32)) * 100 + bcd(rd(r, 9)) - 1900,
	};
	return timegm(&tm);
}

/* Stop the clock (SET), write a date, registers in the current mode. */
static void set_time(struct rig *r, const uint8_t v[7])
{
	wr(r, 0x0b, rd(r, 0x0b) | 0x80);
	wr(r, 0x00, v[0]);
	wr(r, 0x02, v[1]);
	wr(r, 0x04, v[2]);
	wr(r, 0x07, v[3]);
	wr(r, 0x08, v[4]);
	wr(r, 0x09, v[5]);
	wr(r, 0x32, v[6]);
}

TEST(rtc_follows_host_time_bcd_and_binary)
{
	struct rig r;
	CHECK(rig_init(&r));
	CHECK_EQ(rd(&r, 0x0a), 0x26);
	CHECK_EQ(rd(&r, 0x0b), 0x02);          /* 24 h, BCD */
	CHECK_EQ(rd(&r, 0x0d), 0x80);          /* valid RAM and time */
	time_t now = time(NULL), t = read_bcd_date(&r);
	CHECK(t >= now - 2 && t <= now + 2);
	struct tm tm;
	gmtime_r(&t, &tm);
	CHECK_EQ(bcd(rd(&r, 6)), tm.tm_wday + 1);
	wr(&r, 0x0b, 0x06);                    /* binary */
	uint8_t min = rd(&r, 2), hour = rd(&r, 4), year = rd(&r, 9);
	CHECK(min < 60 && hour < 24);
	CHECK_EQ(year, tm.tm_year % 100);
	CHECK_EQ(rd(&r, 0x32), (tm.tm_year + 1900) / 100);
	machine_free(r.m);
}

TEST(rtc_set_clock_and_12_hour_mode)
{
	struct rig r;
	CHECK(rig_init(&r));
	static const uint8_t date[7] = { 0x56, 0x34, 0x15, 0x28, 0x02, 0x99, 0x19 };
	set_time(&r, date);                    /* 1999-02-28 15:34:56 */
	CHECK_EQ(rd(&r, 0x0a) & 0x80, 0);      /* no UIP while SET */
	CHECK_EQ(rd(&r, 0x00), 0x56);          /* held while SET */
	wr(&r, 0x0b, 0x02);                    /* run */
	uint8_t s = rd(&r, 0);
	CHECK(s == 0x56 || s == 0x57);
	CHECK_EQ(rd(&r, 0x04), 0x15);
	CHECK_EQ(rd(&r, 0x06), 0x01);          /* a Sunday */
	CHECK_EQ(rd(&r, 0x09), 0x99);
	CHECK_EQ(rd(&r, 0x32), 0x19);
	wr(&r, 0x0b, 0x00);                    /* 12 h, BCD */
	CHECK_EQ(rd(&r, 0x04), 0x83);          /* 3 PM */
	wr(&r, 0x0b, 0x04);                    /* 12 h, binary */
	CHECK_EQ(rd(&r, 0x04), 0x83);
	wr(&r, 0x04, 0x0c);                    /* write 12 AM while running */
	wr(&r, 0x0b, 0x06);
	CHECK_EQ(rd(&r, 0x04), 0);             /* midnight */
	CHECK_EQ(rd(&r, 0x02), 34);            /* minutes kept */
	CHECK_EQ(rd(&r, 0x07), 28);            /* date kept */
	/* the guest's clock stays apart from the host's */
	time_t t = time(NULL);
	wr(&r, 0x0b, 0x02);
	CHECK(read_bcd_date(&r) < t - 86400 * 365);
	machine_free(r.m);
}

TEST(rtc_garbage_in_time_registers)
{
	struct rig r;
	CHECK(rig_init(&r));
	static const uint8_t junk[7] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	set_time(&r, junk);
	wr(&r, 0x0b, 0x02);                    /* normalised, not trusted */
	for (unsigned i = 0; i < 0x80; i++)
		rd(&r, i);
	wr(&r, 0x0b, 0x00);
	for (unsigned i = 0; i < 10; i++)
		rd(&r, i);
	static const uint8_t zero[7] = { 0 };
	set_time(&r, zero);
	wr(&r, 0x0b, 0x02);
	CHECK(rd(&r, 0x32) <= 0x99);
	machine_free(r.m);
}

TEST(rtc_periodic_flag_and_register_c)
{
	struct rig r;
	CHECK(rig_init(&r));
	wr(&r, 0x0a, 0x2a);                    /* 64 Hz: 15.6 ms */
	rd(&r, 0x0c);
	sleep_ms(40);
	/* (UF comes and goes with the seconds: masked off here) */
	CHECK_EQ(rd(&r, 0x0c) & 0xe0, 0x40);   /* PF, no IRQF: PIE is off */
	CHECK_EQ(r.irq.level[GSI], 0);
	CHECK_EQ(rd(&r, 0x0c) & 0x40, 0);      /* cleared by the read */
	wr(&r, 0x0b, 0x42);                    /* PIE */
	sleep_ms(40);
	rd(&r, 0x0a);                          /* any access catches up */
	CHECK_EQ(r.irq.level[GSI], 1);
	CHECK_EQ(rd(&r, 0x0c) & 0xe0, 0xc0);   /* IRQF | PF */
	CHECK_EQ(r.irq.level[GSI], 0);
	wr(&r, 0x0a, 0x20);                    /* rate 0: no more ticks */
	rd(&r, 0x0c);
	sleep_ms(40);
	CHECK_EQ(rd(&r, 0x0c) & 0xe0, 0x00);
	CHECK_EQ(r.irq.level[GSI], 0);
	machine_free(r.m);
}

TEST(rtc_update_and_alarm_interrupts)
{
	struct rig r;
	CHECK(rig_init(&r));
	wr(&r, 0x0a, 0x70);                    /* hold the divider in reset */
	static const uint8_t date[7] = { 0x59, 0x59, 0x23, 0x31, 0x12, 0x24, 0x20 };
	set_time(&r, date);                    /* 2024-12-31 23:59:59 */
	wr(&r, 0x01, 0x00);                    /* alarm 23:(any):00 */
	wr(&r, 0x03, 0xc0);
	wr(&r, 0x05, 0x23);
	wr(&r, 0x0b, 0x32);                    /* AIE, UIE, run */
	rd(&r, 0x0c);
	/* times from before the go: a thread descheduled past 500 ms (1.5 s)
	 * sees the first (second) update, so those checks need less */
	uint64_t t_go = clock_ns();
	wr(&r, 0x0a, 0x20);                    /* go: first update in 500 ms */
	sleep_ms(300);
	uint8_t c = rd(&r, 0x0c);
	int level = r.irq.level[GSI];
	if (clock_ns() - t_go < 500 * MS) {
		CHECK_EQ(c, 0x00);
		CHECK_EQ(level, 0);
	}
	sleep_ms(400);
	rd(&r, 0x0d);
	CHECK_EQ(r.irq.level[GSI], 1);
	CHECK_EQ(rd(&r, 0x0c), 0x80 | 0x10);   /* UF; the alarm wanted 23h */
	CHECK_EQ(r.irq.level[GSI], 0);
	uint8_t sec = rd(&r, 0x00);
	if (clock_ns() - t_go < 1500 * MS)
		CHECK_EQ(sec, 0x00);           /* 2025-01-01 00:00:00 */
	CHECK_EQ(rd(&r, 0x04), 0x00);
	CHECK_EQ(rd(&r, 0x07), 0x01);
	CHECK_EQ(rd(&r, 0x08), 0x01);
	CHECK_EQ(rd(&r, 0x09), 0x25);
	CHECK_EQ(rd(&r, 0x32), 0x20);

	/* again, with an alarm that matches the next second */
	wr(&r, 0x0a, 0x70);
	set_time(&r, date);
	wr(&r, 0x05, 0xff);                    /* hours: don't care */
	wr(&r, 0x0b, 0x22);                    /* AIE only */
	wr(&r, 0x0a, 0x20);
	sleep_ms(600);
	CHECK_EQ(rd(&r, 0x0c), 0x80 | 0x20 | 0x10); /* IRQF, AF, UF */
	machine_free(r.m);
}

TEST(rtc_cmos_memory_layout)
{
	struct rig r;
	CHECK(rig_init(&r));
	rtc_set_memory_info(r.r, 3584 * MiB, 2 * GiB, 4);
	CHECK_EQ(rd(&r, 0x15), 0x80);          /* 640 KiB */
	CHECK_EQ(rd(&r, 0x16), 0x02);
	CHECK_EQ(rd(&r, 0x17), 0xff);          /* extended: capped */
	CHECK_EQ(rd(&r, 0x18), 0xff);
	CHECK_EQ(rd(&r, 0x30), 0xff);
	CHECK_EQ(rd(&r, 0x31), 0xff);
	CHECK_EQ(rd(&r, 0x34), 0x00);          /* (3584 - 16) MiB / 64 KiB = 0xdf00 */
	CHECK_EQ(rd(&r, 0x35), 0xdf);
	CHECK_EQ(rd(&r, 0x5b), 0x00);          /* 2 GiB / 64 KiB = 0x8000 */
	CHECK_EQ(rd(&r, 0x5c), 0x80);
	CHECK_EQ(rd(&r, 0x5d), 0x00);
	CHECK_EQ(rd(&r, 0x5f), 3);
	unsigned sum = 0;
	for (unsigned i = 0x10; i <= 0x2d; i++)
		sum += rd(&r, i);
	CHECK_EQ((rd(&r, 0x2e) << 8) | rd(&r, 0x2f), sum);

	rtc_set_memory_info(r.r, 16 * MiB, 0, 1);
	CHECK_EQ(rd(&r, 0x17) | (rd(&r, 0x18) << 8), 15 * 1024);
	CHECK_EQ(rd(&r, 0x30) | (rd(&r, 0x31) << 8), 15 * 1024);
	CHECK_EQ(rd(&r, 0x34) | (rd(&r, 0x35) << 8), 0);
	CHECK_EQ(rd(&r, 0x5b) | rd(&r, 0x5c) | rd(&r, 0x5d), 0);
	CHECK_EQ(rd(&r, 0x5f), 0);
	rtc_set_memory_info(r.r, 3 * GiB, 1ULL << 42, 2);  /* 24-bit cap */
	CHECK_EQ(rd(&r, 0x5b) & rd(&r, 0x5c) & rd(&r, 0x5d), 0xff);

	/* rtc_set_cmos keeps the checksum right in 0x10-0x2d */
	rtc_set_cmos(r.r, 0x10, 0x40);
	CHECK_EQ(rtc_get_cmos(r.r, 0x10), 0x40);
	sum = 0;
	for (unsigned i = 0x10; i <= 0x2d; i++)
		sum += rd(&r, i);
	CHECK_EQ((rd(&r, 0x2e) << 8) | rd(&r, 0x2f), sum);
	CHECK_EQ(rtc_get_cmos(r.r, 500), 0xff);
	rtc_set_cmos(r.r, 500, 1);             /* ignored */
	machine_free(r.m);
}

TEST(rtc_index_port_and_nmi_bit)
{
	struct rig r;
	CHECK(rig_init(&r));
	wr(&r, 0x80 | 0x40, 0xa5);             /* NMI masked, index 0x40 */
	CHECK_EQ(rd(&r, 0x40), 0xa5);
	CHECK_EQ(rd(&r, 0xc0), 0xa5);
	uint64_t v = 0;
	machine_pio(r.m, 0x70, false, &v, 1);
	CHECK_EQ(v, 0xff);                     /* write-only */
	wr(&r, 0x0d, 0x00);                    /* read-only */
	CHECK_EQ(rd(&r, 0x0d), 0x80);
	wr(&r, 0x0a, 0xa6);                    /* UIP is read-only */
	CHECK_EQ(rd(&r, 0x0a) & 0x7f, 0x26);
	machine_pio(r.m, 0x71, false, &v, 4);  /* wide read: one byte */
	CHECK_EQ(v >> 8, 0xffffff);
	machine_free(r.m);
}

TEST(rtc_save_load_and_reset)
{
	struct rig a, b;
	CHECK(rig_init(&a));
	CHECK(rig_init(&b));
	wr(&a, 0x50, 0x12);
	static const uint8_t date[7] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x20 };
	set_time(&a, date);                    /* held by SET */
	rd(&a, 0x0c);                          /* UF of an update before SET */
	wr(&a, 0x0a, 0x2f);
	wr(&a, 0x0b, 0x80 | 0x40 | 0x02);      /* SET, PIE */
	sleep_ms(600);                         /* a 2 Hz tick at least */
	rd(&a, 0x0a);
	CHECK_EQ(a.irq.level[GSI], 1);

	struct state_buf s;
	state_init(&s);
	machine_save_devices(a.m, &s);
	state_rewind(&s);
	CHECK_EQ(machine_load_devices(b.m, &s), 0);
	CHECK_EQ(b.irq.level[GSI], 1);
	CHECK_EQ(rd(&b, 0x50), 0x12);
	CHECK_EQ(rd(&b, 0x00), 0x01);
	CHECK_EQ(rd(&b, 0x09), 0x06);
	CHECK_EQ(rd(&b, 0x0c), 0xc0);
	wr(&b, 0x0b, 0x02);
	CHECK_EQ(rd(&b, 0x04), 0x03);

	/* a running clock survives the trip too */
	wr(&a, 0x0b, 0x02);
	state_free(&s);
	state_init(&s);
	machine_save_devices(a.m, &s);
	state_rewind(&s);
	CHECK_EQ(machine_load_devices(b.m, &s), 0);
	time_t ta = read_bcd_date(&a), tb = read_bcd_date(&b);
	CHECK(tb >= ta - 1 && tb <= ta + 1);

	/* bad flags are refused */
	s.data[strlen("rtc") + 1 + 1 + 128 + 2] = 0x0f;
	state_rewind(&s);
	CHECK_EQ(machine_load_devices(b.m, &s), -1);
	state_free(&s);

	/* reset clears the interrupt enables and flags, not the time */
	wr(&a, 0x0b, 0x72);
	machine_reset_devices(a.m);
	CHECK_EQ(rd(&a, 0x0b), 0x02);
	CHECK_EQ(a.irq.level[GSI], 0);
	CHECK_EQ(rd(&a, 0x0c) & 0x80, 0);      /* no IRQF without enables */
	CHECK_EQ(rd(&a, 0x50), 0x12);
	CHECK_EQ(rd(&a, 0x09), 0x06);
	machine_free(a.m);
	machine_free(b.m);
}

/* With a main loop, timers raise IRQ 8 with no guest access at all. */
static bool run_until_irq(struct rig *r, unsigned max_ms)
{
	uint64_t end = clock_ns() + max_ms * 1000000ULL;
	while (!r->irq.level[GSI]) {
		bool late = clock_ns() >= end;  /* one more run after the time */
		mainloop_run_once(r->m->loop, 10);
		if (late)
			break;
	}
	return r->irq.level[GSI];
}

TEST(rtc_timer_driven_interrupts)
{
	struct rig r;
	memset(&r, 0, sizeof(r));
	r.m = fake_irq_machine(&r.irq);
	CHECK(r.m);
	r.m->loop = mainloop_new();
	CHECK(r.m->loop);
	r.r = rtc_new(r.m, GSI);
	CHECK(r.r);
	wr(&r, 0x0a, 0x2a);                    /* 64 Hz */
	wr(&r, 0x0b, 0x42);                    /* PIE */
	CHECK(run_until_irq(&r, 200));
	CHECK_EQ(rd(&r, 0x0c) & 0xc0, 0xc0);
	CHECK_EQ(r.irq.level[GSI], 0);
	CHECK(run_until_irq(&r, 200));         /* and again after C is read */
	CHECK_EQ(r.irq.rises[GSI], 2);
	wr(&r, 0x0b, 0x12);                    /* UIE only */
	rd(&r, 0x0c);
	CHECK(run_until_irq(&r, 1500));
	CHECK_EQ(rd(&r, 0x0c) & 0x90, 0x90);
	wr(&r, 0x0b, 0x02);                    /* nothing enabled: stays low */
	rd(&r, 0x0c);
	CHECK(!run_until_irq(&r, 100));
	struct mainloop *l = r.m->loop;
	machine_free(r.m);                     /* frees the timer */
	mainloop_free(l);
}

/* Random guest accesses never crash, and the state saved after them loads. */
TEST(rtc_random_io_then_state_round_trip)
{
	struct rig a, b;
	unsigned seed = 3;
	CHECK(rig_init(&a));
	CHECK(rig_init(&b));
	for (unsigned i = 0; i < 20000; i++) {
		uint64_t v = rand_r(&seed);
		unsigned size = 1u << (rand_r(&seed) % 3);
		machine_pio(a.m, 0x70 + rand_r(&seed) % 2, rand_r(&seed) & 1, &v, size);
	}
	CHECK_EQ(copy_device_state(a.m, b.m), 0);
	CHECK_EQ(rd(&b, 0x0b), rd(&a, 0x0b));
	CHECK_EQ(rd(&b, 0x40), rd(&a, 0x40));
	machine_free(a.m);
	machine_free(b.m);
}
