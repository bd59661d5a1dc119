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

uint64_t tsc_khz(void)
{
	if (khz)
		return khz;
	outb(0x43, 0x34);
	outb(0x40, 0);
	outb(0x40, 0);			/* free-running, period 65536 */
	uint16_t prev = pit_count0();
	uint64_t t0 = rdtsc(), ticks = 0;
	for (int polls = 0; ticks < PIT_HZ / 100; polls++) {	/* 10 ms */
		uint16_t cur = pit_count0();
		ticks += (uint16_t)(prev - cur);
		prev = cur;
		if (polls == 20000 && ticks == 0)
			panic("pit channel 0: the latched count never changes");
	}
	uint64_t t1 = rdtsc();
	khz = (t1 - t0) * PIT_HZ / (ticks * 1000);
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
