/* timers.elf: interrupt timers.  LAPIC timer (periodic, one-shot and, when
 * CPUID has it, TSC-deadline), the 8254 PIT channel 0 through the IOAPIC
 * (the pin the MADT's interrupt source override gives, normally 2) and
 * through the legacy 8259 PIC (ExtINT on LINT0), the MC146818 RTC (date,
 * periodic interrupt on IRQ8, seconds advancing), and last, when CPUID has
 * it, x2APIC mode (ID MSR, self-IPI, timer through MSRs).  Waits use sti;hlt
 * (polling with interrupts on where a lost interrupt must not hang). */
#include "guest.h"

#define VEC_PIC		0x20
#define VEC_PIT		0x30
#define VEC_RTC		0x38
#define VEC_LAPIC	0x40
#define VEC_WATCHDOG	0x41
#define VEC_SELF	0x42

static volatile int lapic_ticks, pit_ticks, pic_ticks, rtc_ticks, watchdog, self_ipis;
static uint32_t lapic_per_ms;		/* LAPIC timer counts per ms, divide by 16 */
static struct madt_info madt;

static void on_lapic(struct frame *f) { (void)f; lapic_ticks++; lapic_eoi(); }
static void on_watchdog(struct frame *f) { (void)f; watchdog = 1; lapic_eoi(); }
static void on_self(struct frame *f) { (void)f; self_ipis++; lapic_eoi(); }
static void on_pit(struct frame *f) { (void)f; pit_ticks++; lapic_eoi(); }
static void on_pic(struct frame *f) { (void)f; pic_ticks++; outb(0x20, 0x20); }
static void on_rtc(struct frame *f)
{
	(void)f;
	outb(0x70, 0x0c);
	if (inb(0x71) & 0x40)
		rtc_ticks++;
	lapic_eoi();
}

/* Liveness limits: only a broken timer reaches them, but a busy host
 * can deschedule the vCPU for tens of ms at a time, so they are far
 * above the times the checks expect. */
#define WAIT_MS		5000
#define POLL_US		5000000

/* Wait (sti;hlt) for *t >= n, with the LAPIC timer as a watchdog. */
static bool wait_for(volatile int *t, int n, uint32_t timeout_ms)
{
	uint64_t count = (uint64_t)lapic_per_ms * timeout_ms;
	watchdog = 0;
	lapic_write(LAPIC_TIMER_DCR, 0x3);
	lapic_write(LAPIC_LVT_TIMER, VEC_WATCHDOG);
	lapic_write(LAPIC_TIMER_ICR, count > 0xffffffff ? 0xffffffff : (uint32_t)count);
	cli();
	while (*t < n && !watchdog)
		sti_hlt();
	cli();
	lapic_write(LAPIC_TIMER_ICR, 0);
	lapic_write(LAPIC_LVT_TIMER, 0x10000);
	return *t >= n;
}

/* The current count and the TSC at the same moment: the read bracketed
 * by two TSC reads at most 50 us apart (a vCPU descheduled in between
 * would tie the count to the wrong time), at the middle of the two. */
static uint32_t ccr_at(uint64_t *tsc)
{
	uint64_t best = UINT64_MAX, slack = tsc_khz() / 20;
	uint32_t ccr = 0;
	for (int tries = 0; tries < 100 && best > slack; tries++) {
		uint64_t a = rdtsc();
		uint32_t c = lapic_read(LAPIC_TIMER_CCR);
		uint64_t b = rdtsc();
		if (b - a < best) {
			best = b - a;
			ccr = c;
			*tsc = a + (b - a) / 2;
		}
	}
	return ccr;
}

/* The ACPI PM timer (ACPI 4.8.3.3: 24 bits at 3.579545 MHz, its port in
 * the FADT's PM_TMR_BLK at offset 76): a clock that runs whether or not
 * the vCPU does.  0 when there is none. */
static uint16_t pm_port;

static uint32_t pm_read(void)
{
	return inl(pm_port) & 0xffffff;
}

/* Microseconds between two readings (less than 4.6 s apart) */
static uint64_t pm_us(uint32_t from, uint32_t to)
{
	return (uint64_t)((to - from) & 0xffffff) * 1000000 / 3579545;
}

/* A moment on both clocks, and the time since it: the larger of the
 * two counts.  KVM on a host whose own TSC is unstable (nested under an
 * emulator: tests/nested/README.md) stops a guest's TSC while its vCPU
 * is not loaded (halted, descheduled) and catches up only in part, so
 * across a halt the TSC can show less time than has passed; the PM timer
 * counts all of it but wraps after 4.6 s.  Neither runs fast, so the
 * larger is a true lower bound for "not before" checks. */
struct stamp {
	uint64_t tsc_us;
	uint32_t pm;
};

static struct stamp stamp_now(void)
{
	return (struct stamp){ now_us(), pm_port ? pm_read() : 0 };
}

static uint64_t since_us(struct stamp t)
{
	uint64_t tsc = now_us() - t.tsc_us, pm = pm_port ? pm_us(t.pm, pm_read()) : 0;
	return tsc > pm ? tsc : pm;
}

static void lapic_tests(void)
{
	/* calibrate against the TSC (itself calibrated against the PIT) */
	lapic_write(LAPIC_TIMER_DCR, 0x3);		/* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, 0x10000 | VEC_LAPIC);
	lapic_write(LAPIC_TIMER_ICR, 0xffffffff);
	uint64_t tsc0, tsc1;
	uint32_t ccr0 = ccr_at(&tsc0), pm0 = pm_port ? pm_read() : 0;
	delay_us(10000);
	uint32_t ccr1 = ccr_at(&tsc1), pm1 = pm_port ? pm_read() : 0;
	lapic_write(LAPIC_TIMER_ICR, 0);
	/* by the PM timer where there is one: a nested KVM's TSC can catch
	 * up in a burst inside the 10 ms (see struct stamp), which made the
	 * timer's period short */
	uint64_t pm_elapsed = pm_port ? pm_us(pm0, pm1) : 0;
	if (pm_elapsed >= 5000)
		lapic_per_ms = (uint32_t)((uint64_t)(ccr0 - ccr1) * 1000 / pm_elapsed);
	else
		lapic_per_ms = (uint32_t)((uint64_t)(ccr0 - ccr1) * tsc_khz() /
					  (tsc1 - tsc0 ? tsc1 - tsc0 : 1));
	note("lapic timer: %u kHz (divide 16)", lapic_per_ms);
	check(lapic_per_ms > 0, "lapic timer counts down");
	if (!lapic_per_ms)
		lapic_per_ms = 62500;

	/* periodic, 500 Hz, 10 ticks */
	lapic_ticks = 0;
	struct stamp t0 = stamp_now();
	lapic_write(LAPIC_LVT_TIMER, (1u << 17) | VEC_LAPIC);
	lapic_write(LAPIC_TIMER_ICR, lapic_per_ms * 2);
	cli();
	while (lapic_ticks < 10)
		sti_hlt();
	cli();
	uint64_t dt = since_us(t0);
	uint32_t ccr_running = lapic_read(LAPIC_TIMER_CCR);
	lapic_write(LAPIC_TIMER_ICR, 0);
	lapic_write(LAPIC_LVT_TIMER, 0x10000);
	check(lapic_ticks >= 10 && dt >= 18000 && ccr_running <= lapic_per_ms * 2,
	      "lapic periodic: 10 ticks at 500 Hz in %lu us", dt);

	/* A periodic tick that came after the tenth, with interrupts off,
	 * waits in the IRR (a masked LVT or a zero count keeps it there):
	 * let it in now, or the one-shot below counts it as its own (seen
	 * under a nested KVM, where the reads and writes in between take
	 * hundreds of microseconds) */
	sti();
	delay_us(1000);
	cli();

	/* one-shot, 2 ms: exactly one tick */
	lapic_ticks = 0;
	t0 = stamp_now();
	lapic_write(LAPIC_LVT_TIMER, VEC_LAPIC);
	lapic_write(LAPIC_TIMER_ICR, lapic_per_ms * 2);
	cli();
	while (lapic_ticks < 1)
		sti_hlt();
	dt = since_us(t0);
	if (pm_port)
		note("lapic one-shot: %lu us by the tsc, %lu us by the acpi pm timer",
		     now_us() - t0.tsc_us, pm_us(t0.pm, pm_read()));
	sti();
	delay_us(10000);
	cli();
	check(lapic_ticks == 1 && lapic_read(LAPIC_TIMER_CCR) == 0 && dt >= 1800,
	      "lapic one-shot: one tick after %lu us", dt);
	lapic_write(LAPIC_LVT_TIMER, 0x10000);

	uint32_t r[4];
	cpuid(1, 0, r);
	if (r[2] & (1u << 24)) {
		lapic_ticks = 0;
		lapic_write(LAPIC_LVT_TIMER, (2u << 17) | VEC_LAPIC);
		__asm__ volatile("mfence" ::: "memory");
		t0 = stamp_now();
		wrmsr(MSR_TSC_DEADLINE, rdtsc() + tsc_khz() * 2);
		cli();
		while (lapic_ticks < 1)
			sti_hlt();
		dt = since_us(t0);
		check(lapic_ticks == 1 && dt >= 1800 && rdmsr(MSR_TSC_DEADLINE) == 0,
		      "lapic tsc-deadline: tick after %lu us", dt);
		lapic_write(LAPIC_LVT_TIMER, 0x10000);
	} else {
		skip("lapic tsc-deadline: not in cpuid");
	}
}

static void pit_tests(void)
{
	uint32_t me = lapic_id();
	int gsi = madt.irq0_gsi;

	uint32_t ver = ioapic_read(1);
	check(((ver >> 16) & 0xff) == 23, "ioapic has 24 pins (version %x)", ver);
	if (madt.found)
		check(gsi == 2, "madt: isa irq0 overridden to gsi %d", gsi);
	else
		gsi = 2;

	/* PIT -> IOAPIC pin 2 */
	pit_ticks = 0;
	ioapic_route(gsi, VEC_PIT, me, false, false);
	struct stamp t0 = stamp_now();
	pit_set_periodic(1000);
	bool ok = wait_for(&pit_ticks, 10, WAIT_MS);
	uint64_t dt = since_us(t0);
	ioapic_route(gsi, VEC_PIT, me, false, true);
	check(ok && dt >= 8000, "pit channel 0 via ioapic pin %d: 10 ticks at 1 kHz in %lu us", gsi, dt);

	/* PIT -> 8259 -> LAPIC LINT0 (ExtINT) */
	outb(0x20, 0x11); outb(0x21, VEC_PIC); outb(0x21, 0x04); outb(0x21, 0x01);
	outb(0xa0, 0x11); outb(0xa1, VEC_PIC + 8); outb(0xa1, 0x02); outb(0xa1, 0x01);
	outb(0xa1, 0xff);
	outb(0x21, 0xfe);			/* only IRQ0 */
	lapic_write(LAPIC_LVT_LINT0, 0x700);	/* ExtINT */
	pic_ticks = 0;
	pit_set_periodic(1000);
	ok = wait_for(&pic_ticks, 5, WAIT_MS);
	pic_mask_all();
	lapic_write(LAPIC_LVT_LINT0, 0x10000);
	check(ok, "pit channel 0 via the 8259 pic (extint): %d ticks", pic_ticks);
	outb(0x43, 0x30);			/* channel 0 one-shot: stop */
	outb(0x40, 0xff);
	outb(0x40, 0xff);
}

static uint8_t cmos(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static int bcd(uint8_t v, bool binary)
{
	return binary ? v : (v >> 4) * 10 + (v & 0xf);
}

static int rtc_seconds(bool binary)
{
	while (cmos(0x0a) & 0x80)
		;
	return bcd(cmos(0x00), binary);
}

static void rtc_tests(void)
{
	uint8_t regb = cmos(0x0b);
	bool binary = regb & 4;
	while (cmos(0x0a) & 0x80)
		;
	int sec = bcd(cmos(0x00), binary), min = bcd(cmos(0x02), binary);
	int hour = bcd(cmos(0x04) & 0x7f, binary), day = bcd(cmos(0x07), binary);
	int mon = bcd(cmos(0x08), binary), year = bcd(cmos(0x09), binary);
	int cent = bcd(cmos(0x32), binary);
	note("rtc: %02d%02d-%02d-%02d %02d:%02d:%02d (reg b %x)", cent, year, mon, day, hour, min, sec, regb);
	check(mon >= 1 && mon <= 12 && day >= 1 && day <= 31 && hour < 24 && min < 60 && sec < 60 &&
	      (cent == 20 || cent == 0) && year >= 20, "rtc date plausible");

	/* periodic interrupt at 64 Hz on IRQ8, until the seconds change.  The
	 * interrupt is a flag (PF), so periods the vCPU sleeps through (a
	 * busy host) merge into one: the count has an upper bound from the
	 * time that passed, no lower one beyond a first tick. */
	int gsi = madt.irq_gsi[8];
	uint32_t me = lapic_id();
	outb(0x70, 0x0a);
	uint8_t rega = inb(0x71);
	outb(0x70, 0x0a);
	outb(0x71, (rega & 0xf0) | 10);		/* 64 Hz */
	ioapic_route(gsi, VEC_RTC, me, false, false);
	cmos(0x0c);
	outb(0x70, 0x0b);
	outb(0x71, regb | 0x40);		/* PIE */
	/* The bounds below need the time that passed, so each span is
	 * since_us's larger count: across the halts of wait_for under a
	 * nested KVM the TSC alone shows too little (once 115 ms, with 45
	 * ticks of 64 Hz counted and the seconds moved on) */
	struct stamp t_clear = stamp_now();
	cmos(0x0c);				/* each tick counted sets PF after this */
	rtc_ticks = 0;
	int s0 = rtc_seconds(binary), s1 = s0;
	struct stamp t0 = stamp_now();
	bool ok = true;
	while (s1 == s0 && ok) {
		ok = wait_for(&rtc_ticks, rtc_ticks + 1, WAIT_MS);
		uint64_t t = since_us(t0);
		s1 = rtc_seconds(binary);
		if (t > 1500000)		/* s1 read 1.5 s after s0 */
			break;
	}
	uint64_t spent = since_us(t0), span = since_us(t_clear);
	outb(0x70, 0x0b);
	outb(0x71, regb);
	ioapic_route(gsi, VEC_RTC, me, false, true);
	outb(0x70, 0x0a);
	outb(0x71, rega);
	/* at most one PF per 1/64 s boundary in (t_clear, t_end], one more
	 * for the TSC calibration's error */
	uint64_t max_ticks = span * 64 / 1000000 + 2;
	check(ok && rtc_ticks >= 1 && (uint64_t)rtc_ticks <= max_ticks,
	      "rtc periodic interrupt via ioapic pin %d: %d ticks (at most %lu) in %lu ms",
	      gsi, rtc_ticks, max_ticks, span / 1000);
	/* s0 and s1 were read within (t_clear, t_end]: the seconds moved on,
	 * by more than one only if the vCPU slept through a whole second */
	int moved = (s1 - s0 + 60) % 60;
	check(moved >= 1 && (uint64_t)moved <= span / 1000000 + 1,
	      "rtc seconds advance (%d -> %d after %lu ms)", s0, s1, spent / 1000);
}

static void x2apic_tests(void)
{
	uint32_t r[4];
	cpuid(1, 0, r);
	if (!(r[2] & (1u << 21))) {
		skip("x2apic: not in cpuid");
		return;
	}
	uint32_t id = lapic_id(), ver = lapic_read(LAPIC_VER);
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 10) | (1u << 11));
	lapic_x2 = true;
	uint32_t xid = (uint32_t)rdmsr(0x802), xver = (uint32_t)rdmsr(0x803);
	check(xid == id && xver == ver, "x2apic: id msr %u, version msr %x", xid, xver);
	wrmsr(0x83f, VEC_SELF);				/* SELF IPI */
	check(poll_for(&self_ipis, 1, POLL_US), "x2apic: self ipi");
	wrmsr(0x830, (uint64_t)id << 32 | 0x4000 | VEC_SELF);	/* ICR, fixed, to me */
	check(poll_for(&self_ipis, 2, POLL_US), "x2apic: ipi to own id through the icr msr");
	lapic_ticks = 0;
	wrmsr(0x83e, 0x3);
	wrmsr(0x832, (1u << 17) | VEC_LAPIC);
	wrmsr(0x838, lapic_per_ms);
	bool ok = poll_for(&lapic_ticks, 3, POLL_US);
	uint64_t ccr = rdmsr(0x839);
	wrmsr(0x838, 0);
	wrmsr(0x832, 0x10000);
	check(ok && ccr <= lapic_per_ms, "x2apic: periodic timer through msrs (%d ticks)", lapic_ticks);
}

int main(void)
{
	test_name = "timers";
	printk("timers: start\n");
	acpi_scan(&madt);
	const uint8_t *fadt = acpi_find_table("FACP");
	if (fadt)
		memcpy(&pm_port, fadt + 76, sizeof(pm_port));
	note("madt %s, tsc %lu kHz", madt.found ? "found" : "absent", tsc_khz());
	lapic_enable();
	set_irq_handler(VEC_LAPIC, on_lapic);
	set_irq_handler(VEC_WATCHDOG, on_watchdog);
	set_irq_handler(VEC_PIT, on_pit);
	set_irq_handler(VEC_PIC, on_pic);
	set_irq_handler(VEC_RTC, on_rtc);
	set_irq_handler(VEC_SELF, on_self);
	lapic_tests();
	pit_tests();
	rtc_tests();
	x2apic_tests();
	return 0;
}
