/* PIT helpers and a TSC clock calibrated once against PIT channel 0. */
#include "guest.h"

#define PIT_HZ 1193182u

static uint64_t khz;

void pit_set_periodic(uint32_t hz)
{
	uint32_t div = PIT_HZ / hz;
	outb(0x43, 0x34);		/* channel 0, lo/hi, mode 2, binary */
	outb(0x40, div & 0xff);
	outb(0x40, div >> 8);
}

static uint16_t pit_count0(void)
{
	outb(0x43, 0x00);		/* latch channel 0 */
	uint8_t lo = inb(0x40);
	uint8_t hi = inb(0x40);
	return lo | hi << 8;
}

/* Channel 0's count, with the TSC just before (*a) and after (*b). */
static uint16_t pit_sample(uint64_t *a, uint64_t *b)
{
	*a = rdtsc();
	uint16_t count = pit_count0();
	*b = rdtsc();
	return count;
}

/* A poll interval shorter than this many TSC cycles is shorter than the
 * PIT's period (65536 ticks, 54.9 ms) for any TSC faster than 306 MHz,
 * so the count's difference is the exact number of ticks. */
#define TRUSTED_GAP (1ull << 24)
/* A sample whose TSC bracket is wider than this, and than 4 times the
 * narrowest bracket seen, is not tied to a time: the vCPU was held up
 * during the read.  (Where every port access is slow, e.g. KVM nested
 * under an emulator, the narrowest bracket sets the scale.) */
#define NARROW (1ull << 16)

static uint64_t narrow_limit(uint64_t narrowest)
{
	return narrowest * 4 > NARROW ? narrowest * 4 : NARROW;
}

/* The TSC rate against 10 ms of PIT channel 0 (free-running, mode 2).
 * The vCPU thread can be descheduled between two polls for longer than
 * the 16-bit count takes to wrap (a busy host: tens of ms), which would
 * lose whole periods and make the rate come out high; so only intervals
 * that are short in TSC cycles, between narrowly bracketed samples,
 * count, each timed by its samples' bracket middles. */
uint64_t tsc_khz(void)
{
	if (khz)
		return khz;
	outb(0x43, 0x34);
	outb(0x40, 0);
	outb(0x40, 0);			/* free-running, period 65536 */
	uint64_t pa, pb, tsc = 0, ticks = 0;
	uint16_t prev = pit_sample(&pa, &pb);
	uint64_t narrowest = pb - pa;
	int skipped = 0;
	for (long polls = 0; ticks < PIT_HZ / 100; polls++) {	/* 10 ms */
		uint64_t a, b;
		uint16_t cur = pit_sample(&a, &b);
		if (b - a < narrowest)
			narrowest = b - a;
		uint64_t lim = narrow_limit(narrowest);
		if (b - pa < TRUSTED_GAP && b - a <= lim && pb - pa <= lim) {
			ticks += (uint16_t)(prev - cur);
			tsc += (a + (b - a) / 2) - (pa + (pb - pa) / 2);
		} else {
			skipped++;
		}
		prev = cur;
		pa = a;
		pb = b;
		if (polls == 100000 && ticks == 0)
			panic("pit channel 0: the latched count never changes");
	}
	if (skipped)
		note("tsc calibration: %d poll intervals skipped (too long to trust)", skipped);
	khz = tsc * PIT_HZ / (ticks * 1000);
	if (!khz)
		khz = 1;
	return khz;
}

uint64_t now_us(void)
{
	return rdtsc() * 1000 / tsc_khz();
}

void delay_us(uint64_t us)
{
	uint64_t end = now_us() + us;
	while (now_us() < end)
		cpu_relax();
}

bool poll_for(volatile int *v, int n, uint64_t us)
{
	uint64_t t0 = now_us();
	sti();
	while (READ_ONCE(*v) < n && now_us() - t0 < us)
		cpu_relax();
	cli();
	return READ_ONCE(*v) >= n;
}
