/* The 8254 PIT and port 0x61 (user/hw/i8254.c). */
#include <string.h>
#include <time.h>
#include "unit.h"
#include "devtest.h"
#include "machine.h"
#include "mainloop.h"
#include "hw/apic-internal.h"

#define MS 1000000ULL
#define PIT_HZ 1193182ULL

struct rig {
	struct machine *m;
	struct mainloop *loop;
	struct fake_irq irq;
};

static bool rig_init(struct rig *r, bool with_loop)
{
	memset(r, 0, sizeof(*r));
	r->m = fake_irq_machine(&r->irq);
	if (!r->m)
		return false;
	if (with_loop)
		r->loop = r->m->loop = mainloop_new();
	return i8254_new(r->m) != NULL;
}

static void rig_free(struct rig *r)
{
	machine_free(r->m);
	if (r->loop)
		mainloop_free(r->loop);
}

static void outb(struct rig *r, uint16_t port, uint8_t val) { pio_out(r->m, port, val, 1); }
static uint8_t inb(struct rig *r, uint16_t port) { return pio_in(r->m, port, 1); }

/* Latch counter n and read it (word access). */
static uint16_t latch_read(struct rig *r, unsigned n)
{
	outb(r, 0x43, n << 6);
	uint8_t lo = inb(r, 0x40 + n);
	return lo | inb(r, 0x40 + n) << 8;
}

static void program(struct rig *r, unsigned n, unsigned mode, uint16_t count)
{
	outb(r, 0x43, n << 6 | 0x30 | mode << 1);
	outb(r, 0x40 + n, count & 0xff);
	outb(r, 0x40 + n, count >> 8);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { ns / 1000000000, ns % 1000000000 };
	nanosleep(&ts, NULL);
}

/* The test thread can be descheduled for longer than the counter takes
 * to wrap (65536 ticks, 54.9 ms) on a busy host: a measurement that spans
 * WRAP_SAFE_NS or more says nothing about the count's difference. */
#define WRAP_SAFE_NS (50 * MS)

/* Counter 2 in mode 0 counts down at 1193182 Hz, read against the host
 * clock: what Linux's TSC calibration relies on. */
TEST(i8254_counts_in_real_time)
{
	struct rig r;
	CHECK(rig_init(&r, false));
	outb(&r, 0x61, (inb(&r, 0x61) & ~0x02) | 0x01); /* gate on, speaker off */
	program(&r, 2, 0, 0xffff);
	int judged = 0;
	for (int round = 0; round < 100 && judged < 5; round++) {
		uint64_t a0 = clock_ns();
		uint16_t v0 = latch_read(&r, 2);
		uint64_t a1 = clock_ns();
		sleep_ns(5 * MS);
		uint64_t b0 = clock_ns();
		uint16_t v1 = latch_read(&r, 2);
		uint64_t b1 = clock_ns();
		if (b1 - a0 >= WRAP_SAFE_NS)
			continue;
		judged++;
		uint64_t dec = (uint16_t)(v0 - v1);
		uint64_t lo = (b0 - a1) * PIT_HZ / 1000000000, hi = (b1 - a0) * PIT_HZ / 1000000000 + 1;
		CHECK(dec + 1 >= lo && dec <= hi);
	}
	CHECK_EQ(judged, 5);
	rig_free(&r);
}

TEST(i8254_mode0_out2_and_gate)
{
	struct rig r;
	CHECK(rig_init(&r, false));
	outb(&r, 0x61, 0x01);
	/* t0 before programming: OUT2 rises 3 ms after the load, which
	 * can be long before the first look on a busy host */
	uint64_t t0 = clock_ns();
	program(&r, 2, 0, PIT_HZ * 3 / 1000); /* 3 ms */
	bool out = inb(&r, 0x61) & 0x20;
	CHECK(!out || clock_ns() - t0 >= 3 * MS - MS / 10);
	for (long polls = 0; !(inb(&r, 0x61) & 0x20) && (polls < 1000 || clock_ns() - t0 < 1000 * MS); polls++)
		;
	CHECK(inb(&r, 0x61) & 0x20);
	CHECK(clock_ns() - t0 >= 3 * MS - MS / 10);
	CHECK_EQ(inb(&r, 0x61) & 0x0f, 0x01);
	/* the gate holds the count */
	program(&r, 2, 0, 0xffff);
	outb(&r, 0x61, 0x00);
	uint16_t held = latch_read(&r, 2);
	sleep_ns(2 * MS);
	CHECK_EQ(latch_read(&r, 2), held);
	uint64_t t1 = clock_ns();
	outb(&r, 0x61, 0x01);
	sleep_ns(2 * MS);
	uint16_t moved = latch_read(&r, 2);
	CHECK(moved < held || clock_ns() - t1 >= WRAP_SAFE_NS);
	/* the refresh bit toggles every 15 us */
	uint8_t first = inb(&r, 0x61) & 0x10;
	t0 = clock_ns();
	for (long polls = 0; (inb(&r, 0x61) & 0x10) == first && (polls < 1000 || clock_ns() - t0 < 100 * MS); polls++)
		;
	CHECK((inb(&r, 0x61) & 0x10) != first);
	rig_free(&r);
}

TEST(i8254_mode2_and_mode3)
{
	struct rig r;
	CHECK(rig_init(&r, false));
	outb(&r, 0x61, 0x01);
	program(&r, 2, 2, 100);
	for (int i = 0; i < 1000; i++) {
		uint16_t v = latch_read(&r, 2);
		CHECK(v >= 1 && v <= 100);
	}
	/* mode 3: a square wave on OUT2, even values */
	program(&r, 2, 3, PIT_HZ / 500); /* 2 ms period */
	bool seen[2] = { false, false };
	uint64_t t0 = clock_ns();
	for (long polls = 0; !(seen[0] && seen[1]) && (polls < 1000 || clock_ns() - t0 < 1000 * MS); polls++) {
		seen[!!(inb(&r, 0x61) & 0x20)] = true;
		CHECK_EQ(latch_read(&r, 2) & 1, 0);
	}
	CHECK(seen[0] && seen[1]);
	rig_free(&r);
}

TEST(i8254_read_back_and_access_modes)
{
	struct rig r;
	CHECK(rig_init(&r, false));
	outb(&r, 0x43, 0x34); /* counter 0, word, mode 2 */
	outb(&r, 0x43, 0xe2); /* read-back: status of counter 0 */
	CHECK_EQ(inb(&r, 0x40), 0xf4); /* OUT high, null count, word, mode 2 */
	outb(&r, 0x40, 0x00);
	outb(&r, 0x40, 0x10);
	sleep_ns(MS / 10);
	outb(&r, 0x43, 0xc2); /* status and count */
	CHECK_EQ(inb(&r, 0x40), 0xb4);
	uint16_t v = inb(&r, 0x40);
	v |= inb(&r, 0x40) << 8;
	CHECK(v >= 1 && v <= 0x1000);
	/* a second latch before reading keeps the first */
	outb(&r, 0x43, 0x00);
	sleep_ns(MS);
	outb(&r, 0x43, 0x00);
	uint16_t a = inb(&r, 0x40);
	a |= inb(&r, 0x40) << 8;
	CHECK(a >= 1 && a <= 0x1000);
	/* LSB only, BCD */
	outb(&r, 0x61, 0x01);
	outb(&r, 0x43, 0x91);
	outb(&r, 0x42, 0x99);
	for (int i = 0; i < 100; i++) {
		uint8_t b = inb(&r, 0x42);
		CHECK((b & 0xf) <= 9 && (b >> 4) <= 9);
	}
	/* MSB only */
	outb(&r, 0x43, 0xa0);
	outb(&r, 0x42, 0x12);
	CHECK(inb(&r, 0x42) <= 0x12);
	CHECK(inb(&r, 0x43) == 0xff);
	rig_free(&r);
}

TEST(i8254_irq0_periodic_and_oneshot)
{
	struct rig r;
	CHECK(rig_init(&r, true));
	/* wait for the edges, not for a fixed time, so that a loaded host
	 * can't fail the test: 20 edges, and no faster than the rate (the
	 * time taken from before the load: every edge comes after it) */
	uint64_t t0 = clock_ns();
	program(&r, 0, 2, PIT_HZ / 1000); /* 1 kHz */
	unsigned start = r.irq.rises[0];
	while (r.irq.rises[0] - start < 21 && clock_ns() - t0 < 5000 * MS)
		mainloop_run_once(r.loop, 5);
	CHECK(r.irq.rises[0] - start >= 21);
	CHECK(clock_ns() - t0 >= 19 * MS);
	/* mode 0: IRQ 0 rises once, at terminal count, and stays */
	t0 = clock_ns();
	program(&r, 0, 0, PIT_HZ * 5 / 1000);
	CHECK_EQ(r.irq.level[0], 0);
	start = r.irq.rises[0];
	while (r.irq.rises[0] == start && clock_ns() - t0 < 1000 * MS)
		mainloop_run_once(r.loop, 5);
	CHECK(clock_ns() - t0 >= 4 * MS);
	CHECK_EQ(r.irq.rises[0], start + 1);
	CHECK_EQ(r.irq.level[0], 1);
	t0 = clock_ns();
	while (clock_ns() - t0 < 20 * MS)
		mainloop_run_once(r.loop, 5);
	CHECK_EQ(r.irq.rises[0], start + 1);
	rig_free(&r);
}

TEST(i8254_save_load)
{
	struct rig a, b;
	CHECK(rig_init(&a, false));
	CHECK(rig_init(&b, false));
	outb(&a, 0x61, 0x03);
	program(&a, 2, 0, 0xffff);
	program(&a, 1, 3, 0x1234);
	/* the count goes on counting across the copy: down by no more than
	 * the time between the reads, when that is too short to wrap */
	uint64_t t0 = clock_ns();
	uint16_t before = latch_read(&a, 2);
	CHECK_EQ(copy_device_state(a.m, b.m), 0);
	uint16_t after = latch_read(&b, 2);
	uint64_t dt = clock_ns() - t0;
	if (dt < WRAP_SAFE_NS)
		CHECK(after <= before && (uint64_t)(before - after) <= dt * PIT_HZ / 1000000000 + 1);
	CHECK_EQ(inb(&b, 0x61) & 0x0f, 0x03);
	outb(&b, 0x43, 0xe4); /* status of counter 1 */
	CHECK_EQ(inb(&b, 0x41) & 0x3f, 0x36);
	rig_free(&a);
	rig_free(&b);
}
