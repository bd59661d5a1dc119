/*
 * MC146818 real-time clock and CMOS RAM (ports 0x70 index, 0x71 data),
 * after the Motorola MC146818A data sheet ("[DS]" below), with the PC's
 * CMOS layout (IBM PC AT Technical Reference; the QEMU/SeaBIOS additions
 * at 0x5b-0x5f).
 *
 * Time model.  The divider chain runs on the host's monotonic clock:
 * div_ns = clock_ns() + phase_ns, whose fractional second is the phase of
 * the update cycle; the guest's date is floor(div_ns / 1e9) + sec_offset
 * seconds since 1970 (UTC).  At creation div_ns is the host's
 * CLOCK_REALTIME.  When the guest sets the clock only sec_offset changes.
 * While updates are inhibited (SET, or the divider held in reset) the time
 * registers hold their values in cmos[] and nothing counts.
 *
 * Flags (register C) are brought up to date lazily, whenever the guest
 * touches the chip, from last_ns to now.  With a main loop, a timer wakes
 * us at the next event that would raise IRQ 8 (periodic, update-ended,
 * alarm), only while that interrupt is enabled and not already raised.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "machine.h"
#include "mainloop.h"
#include "hw.h"

#define NS_PER_SEC 1000000000LL
#define DAY_SECS 86400

/* Register indexes [DS Figure 3] and the PC century byte. */
enum {
	RTC_SEC = 0x00, RTC_SEC_ALARM, RTC_MIN, RTC_MIN_ALARM, RTC_HOUR,
	RTC_HOUR_ALARM, RTC_WDAY, RTC_MDAY, RTC_MONTH, RTC_YEAR,
	RTC_A, RTC_B, RTC_C, RTC_D,
	CMOS_CENTURY = 0x32,
};

#define A_UIP 0x80
#define A_DV 0x70
#define A_DV_32K 0x20    /* 32.768 kHz time base, divider running */
#define A_RS 0x0f

#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_SQWE 0x08
#define B_DM_BINARY 0x04
#define B_24H 0x02

#define C_IRQF 0x80
#define C_PF 0x40        /* the flags sit at the same bits as their enables */
#define C_AF 0x20
#define C_UF 0x10
#define C_FLAGS (C_PF | C_AF | C_UF)

#define D_VRT 0x80

#define UIP_NS 244000    /* UIP rises 244 us before the update [DS "UIP"] */
#define ALARM_DONT_CARE 0xc0

#define RTC_STATE_VERSION 1
/* Sanity bounds for loaded times: far beyond any date the registers can
 * hold (years 0-16665), far below int64 overflow. */
#define MAX_DIV_NS (1LL << 62)
#define MAX_SEC_OFFSET (1LL << 40)

struct rtc {
	struct machine *m;
	unsigned gsi;
	pthread_mutex_t lock;
	struct timer *timer;    /* NULL without a main loop */

	uint8_t cmos[128];
	uint8_t index;
	bool nmi_masked;        /* bit 7 of the index; NMIs are not modelled */
	uint8_t flags;          /* PF, AF, UF of register C */
	int64_t phase_ns;       /* divider time = clock_ns() + phase_ns */
	int64_t sec_offset;     /* date = floor(divider / 1 s) + sec_offset */
	int64_t last_ns;        /* flags are up to date until this clock_ns() */
	int irq_level;
};

static const uint8_t time_regs[] = {
	RTC_SEC, RTC_MIN, RTC_HOUR, RTC_WDAY, RTC_MDAY, RTC_MONTH, RTC_YEAR, CMOS_CENTURY,
};

static bool is_time_reg(unsigned idx)
{
	for (unsigned i = 0; i < ARRAY_SIZE(time_regs); i++)
		if (time_regs[i] == idx)
			return true;
	return false;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t now_ns(void)
{
	return (int64_t)clock_ns();
}

static int64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* ---- register formats: BCD or binary, 12 or 24 hours [DS "Register B"] ---- */

static uint8_t to_reg(const struct rtc *r, unsigned v)
{
	if (r->cmos[RTC_B] & B_DM_BINARY)
		return v;
	return ((v / 10 % 10) << 4) | (v % 10);
}

static unsigned from_reg(const struct rtc *r, uint8_t v)
{
	if (r->cmos[RTC_B] & B_DM_BINARY)
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t hour_to_reg(const struct rtc *r, unsigned h)
{
	if (r->cmos[RTC_B] & B_24H)
		return to_reg(r, h);
	unsigned h12 = h % 12 ? h % 12 : 12;
	return to_reg(r, h12) | (h >= 12 ? 0x80 : 0);
}

static unsigned hour_from_reg(const struct rtc *r, uint8_t v)
{
	if (r->cmos[RTC_B] & B_24H)
		return from_reg(r, v);
	return from_reg(r, v & 0x7f) % 12 + (v & 0x80 ? 12 : 0);
}

/* Date (seconds since 1970, UTC) into the time registers of regs[]. */
static void rtc_format(const struct rtc *r, int64_t secs, uint8_t *regs)
{
	time_t t = secs;
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		memset(&tm, 0, sizeof(tm));
	unsigned year = tm.tm_year + 1900;
	regs[RTC_SEC] = to_reg(r, tm.tm_sec);
	regs[RTC_MIN] = to_reg(r, tm.tm_min);
	regs[RTC_HOUR] = hour_to_reg(r, tm.tm_hour);
	regs[RTC_WDAY] = to_reg(r, tm.tm_wday + 1);
	regs[RTC_MDAY] = to_reg(r, tm.tm_mday);
	regs[RTC_MONTH] = to_reg(r, tm.tm_mon + 1);
	regs[RTC_YEAR] = to_reg(r, year % 100);
	regs[CMOS_CENTURY] = to_reg(r, year / 100);
}

/* The time registers of regs[] as a date.  Out-of-range values (the
 * guest's) are normalised by timegm, never trusted as indexes. */
static int64_t rtc_parse(const struct rtc *r, const uint8_t *regs)
{
	struct tm tm = {
		.tm_sec = from_reg(r, regs[RTC_SEC]),
		.tm_min = from_reg(r, regs[RTC_MIN]),
		.tm_hour = hour_from_reg(r, regs[RTC_HOUR]),
		.tm_mday = from_reg(r, regs[RTC_MDAY]),
		.tm_mon = (int)from_reg(r, regs[RTC_MONTH]) - 1,
		.tm_year = (int)(from_reg(r, regs[CMOS_CENTURY]) * 100 +
				 from_reg(r, regs[RTC_YEAR])) - 1900,
	};
	return timegm(&tm);
}

/* ---- the clock ---- */

static bool divider_running(const struct rtc *r)
{
	return (r->cmos[RTC_A] & A_DV) == A_DV_32K;
}

static bool time_running(const struct rtc *r)
{
	return divider_running(r) && !(r->cmos[RTC_B] & B_SET);
}

static int64_t rtc_seconds_at(const struct rtc *r, int64_t now)
{
	return floor_div(now + r->phase_ns, NS_PER_SEC) + r->sec_offset;
}

/* Periodic interrupt period in 32.768 kHz ticks, 0 if none [DS Table 5]. */
static unsigned rtc_period(const struct rtc *r)
{
	unsigned rs = r->cmos[RTC_A] & A_RS;
	if (rs == 0)
		return 0;
	return rs <= 2 ? 1u << (rs + 6) : 1u << (rs - 1);
}

static int64_t div_ticks(int64_t div_ns)
{
	__int128 t = (__int128)div_ns * 32768;
	__int128 q = t / NS_PER_SEC;
	return (int64_t)((t % NS_PER_SEC < 0) ? q - 1 : q);
}

/* First divider time at or after tick number tick. */
static int64_t tick_to_div_ns(int64_t tick)
{
	__int128 n = (__int128)tick * NS_PER_SEC;
	return (int64_t)(n / 32768 + (n % 32768 > 0));
}

static bool alarm_field_matches(uint8_t alarm, uint8_t value)
{
	return (alarm & ALARM_DONT_CARE) == ALARM_DONT_CARE || alarm == value;
}

static bool alarm_matches(const struct rtc *r, int64_t secs)
{
	int64_t sod = secs - floor_div(secs, DAY_SECS) * DAY_SECS;
	return alarm_field_matches(r->cmos[RTC_SEC_ALARM], to_reg(r, sod % 60)) &&
	       alarm_field_matches(r->cmos[RTC_MIN_ALARM], to_reg(r, sod / 60 % 60)) &&
	       alarm_field_matches(r->cmos[RTC_HOUR_ALARM], hour_to_reg(r, sod / 3600));
}

/* Did one of the updates to the dates first..last match the alarm?  The
 * alarm depends on the time of day only: one day of updates says it all. */
static bool alarm_between(const struct rtc *r, int64_t first, int64_t last)
{
	if (last - first >= DAY_SECS)
		last = first + DAY_SECS - 1;
	for (int64_t s = first; s <= last; s++)
		if (alarm_matches(r, s))
			return true;
	return false;
}

/* Bring the flags up to date: what happened in (last_ns, now]. */
static void rtc_advance(struct rtc *r, int64_t now)
{
	if (now <= r->last_ns)
		return;
	if (divider_running(r)) {
		int64_t d0 = r->last_ns + r->phase_ns, d1 = now + r->phase_ns;
		unsigned p = rtc_period(r);
		if (p && floor_div(div_ticks(d1), p) != floor_div(div_ticks(d0), p))
			r->flags |= C_PF;
		int64_t s0 = floor_div(d0, NS_PER_SEC), s1 = floor_div(d1, NS_PER_SEC);
		if (!(r->cmos[RTC_B] & B_SET) && s1 > s0) {
			r->flags |= C_UF;
			if (!(r->flags & C_AF) &&
			    alarm_between(r, s0 + 1 + r->sec_offset, s1 + r->sec_offset))
				r->flags |= C_AF;
		}
	}
	r->last_ns = now;
}

static bool rtc_irqf(const struct rtc *r)
{
	return (r->flags & r->cmos[RTC_B] & C_FLAGS) != 0;
}

static void rtc_update_irq(struct rtc *r)
{
	int level = rtc_irqf(r);
	if (level != r->irq_level) {
		r->irq_level = level;
		machine_set_irq(r->m, r->gsi, level);
	}
}

/* Next clock_ns() at which an enabled, not yet raised interrupt fires. */
static int64_t rtc_next_event(const struct rtc *r, int64_t now)
{
	int64_t next = INT64_MAX, div = now + r->phase_ns;
	uint8_t b = r->cmos[RTC_B];
	unsigned p = rtc_period(r);
	if (!divider_running(r) || rtc_irqf(r))
		return next;
	if ((b & B_PIE) && p) {
		int64_t tick = (floor_div(div_ticks(div), p) + 1) * p;
		next = tick_to_div_ns(tick) - r->phase_ns;
	}
	if ((b & (B_UIE | B_AIE)) && !(b & B_SET)) {
		int64_t sec = (floor_div(div, NS_PER_SEC) + 1) * NS_PER_SEC - r->phase_ns;
		next = MIN(next, sec);
	}
	return next;
}

static void rtc_schedule(struct rtc *r, int64_t now)
{
	if (!r->timer)
		return;
	int64_t next = rtc_next_event(r, now);
	if (next == INT64_MAX)
		timer_cancel(r->timer);
	else
		timer_arm(r->timer, next > now ? next : now);
}

/* Every access: flags up to date, and the line with them. */
static void rtc_touch(struct rtc *r, int64_t now)
{
	rtc_advance(r, now);
	rtc_update_irq(r);
}

static void rtc_timer_cb(void *opaque)
{
	struct rtc *r = opaque;
	pthread_mutex_lock(&r->lock);
	int64_t now = now_ns();
	rtc_touch(r, now);
	rtc_schedule(r, now);
	pthread_mutex_unlock(&r->lock);
}

/* ---- register access ---- */

static uint8_t rtc_read_a(const struct rtc *r, int64_t now)
{
	uint8_t a = r->cmos[RTC_A] & ~A_UIP;
	if (time_running(r)) {
		int64_t div = now + r->phase_ns;
		int64_t frac = div - floor_div(div, NS_PER_SEC) * NS_PER_SEC;
		if (frac >= NS_PER_SEC - UIP_NS)
			a |= A_UIP;
	}
	return a;
}

/* A register as the guest reads it; reading C clears it when clear_c. */
static uint8_t rtc_read_reg(struct rtc *r, unsigned idx, bool clear_c)
{
	int64_t now = now_ns();
	uint8_t val;
	rtc_touch(r, now);
	if (is_time_reg(idx) && time_running(r)) {
		uint8_t regs[128];
		rtc_format(r, rtc_seconds_at(r, now), regs);
		return regs[idx];
	}
	switch (idx) {
	case RTC_A:
		return rtc_read_a(r, now);
	case RTC_C:
		val = r->flags | (rtc_irqf(r) ? C_IRQF : 0);
		if (clear_c) {
			r->flags = 0;
			rtc_update_irq(r);
			rtc_schedule(r, now);
		}
		return val;
	case RTC_D:
		return D_VRT;
	default:
		return r->cmos[idx];
	}
}

/* Set the date from regs[] keeping the phase of the divider. */
static void rtc_set_date(struct rtc *r, const uint8_t *regs, int64_t now)
{
	r->sec_offset = rtc_parse(r, regs) - floor_div(now + r->phase_ns, NS_PER_SEC);
}

static void rtc_write_time(struct rtc *r, unsigned idx, uint8_t val, int64_t now)
{
	if (!time_running(r)) {
		r->cmos[idx] = val;
		return;
	}
	uint8_t regs[128];
	rtc_format(r, rtc_seconds_at(r, now), regs);
	regs[idx] = val;
	rtc_set_date(r, regs, now);
}

/* Registers A and B together decide whether the clock runs. */
static void rtc_write_ab(struct rtc *r, uint8_t a, uint8_t b, int64_t now)
{
	bool was_running = time_running(r), div_was = divider_running(r);
	if (was_running && ((a & A_DV) != A_DV_32K || (b & B_SET)))
		rtc_format(r, rtc_seconds_at(r, now), r->cmos); /* freeze */
	r->cmos[RTC_A] = a;
	r->cmos[RTC_B] = b;
	if (!div_was && divider_running(r)) {
		/* out of divider reset: the first update comes 500 ms later */
		r->phase_ns = NS_PER_SEC / 2 - now;
	}
	if (!was_running && time_running(r))
		rtc_set_date(r, r->cmos, now);
}

static void rtc_write_reg(struct rtc *r, unsigned idx, uint8_t val)
{
	int64_t now = now_ns();
	rtc_touch(r, now);
	if (is_time_reg(idx)) {
		rtc_write_time(r, idx, val, now);
		return;
	}
	switch (idx) {
	case RTC_A:
		rtc_write_ab(r, (val & ~A_UIP), r->cmos[RTC_B], now);
		break;
	case RTC_B:
		/* setting SET clears UIE [DS "Register B", SET] */
		if (val & B_SET)
			val &= ~B_UIE;
		rtc_write_ab(r, r->cmos[RTC_A], val, now);
		break;
	case RTC_C:
	case RTC_D:
		return; /* read only */
	default:
		r->cmos[idx] = val;
		return;
	}
	rtc_update_irq(r);
	rtc_schedule(r, now);
}

/* ---- port I/O: 0x70 (offset 0) index, 0x71 (offset 1) data ---- */

static uint64_t rtc_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct rtc *r = opaque;
	uint64_t val = 0xff; /* the index register is write-only */
	if (offset == 1) {
		pthread_mutex_lock(&r->lock);
		val = rtc_read_reg(r, r->index, true);
		pthread_mutex_unlock(&r->lock);
	}
	return size > 1 ? val | (~0ULL << 8) : val;
}

static void rtc_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct rtc *r = opaque;
	(void)size;
	pthread_mutex_lock(&r->lock);
	if (offset == 0) {
		r->index = value & 0x7f;
		r->nmi_masked = value & 0x80;
	} else if (offset == 1) {
		rtc_write_reg(r, r->index, value);
	}
	pthread_mutex_unlock(&r->lock);
}

static const struct io_ops rtc_io_ops = {
	.read = rtc_io_read,
	.write = rtc_io_write,
};

/* ---- board interface ---- */

static void cmos_update_checksum(struct rtc *r)
{
	unsigned sum = 0;
	for (unsigned i = 0x10; i <= 0x2d; i++)
		sum += r->cmos[i];
	r->cmos[0x2e] = sum >> 8;
	r->cmos[0x2f] = sum & 0xff;
}

void rtc_set_cmos(struct rtc *r, unsigned index, uint8_t value)
{
	if (index >= sizeof(r->cmos))
		return;
	pthread_mutex_lock(&r->lock);
	rtc_write_reg(r, index, value);
	if (index >= 0x10 && index <= 0x2d)
		cmos_update_checksum(r);
	pthread_mutex_unlock(&r->lock);
}

uint8_t rtc_get_cmos(struct rtc *r, unsigned index)
{
	if (index >= sizeof(r->cmos))
		return 0xff;
	pthread_mutex_lock(&r->lock);
	uint8_t v = rtc_read_reg(r, index, false);
	pthread_mutex_unlock(&r->lock);
	return v;
}

static void cmos_put16(struct rtc *r, unsigned idx, uint64_t v)
{
	r->cmos[idx] = v & 0xff;
	r->cmos[idx + 1] = (v >> 8) & 0xff;
}

void rtc_set_memory_info(struct rtc *r, uint64_t ram_below_4g,
			 uint64_t ram_above_4g, unsigned nr_cpus)
{
	uint64_t ext_kib = ram_below_4g > MiB ? (ram_below_4g - MiB) / KiB : 0;
	uint64_t above_16m = ram_below_4g > 16 * MiB ? (ram_below_4g - 16 * MiB) / (64 * KiB) : 0;
	uint64_t high = ram_above_4g / (64 * KiB);
	pthread_mutex_lock(&r->lock);
	cmos_put16(r, 0x15, 640);                       /* base memory, KiB */
	cmos_put16(r, 0x17, MIN(ext_kib, 0xffff));      /* extended, KiB */
	cmos_put16(r, 0x30, MIN(ext_kib, 0xffff));      /* same, POST's copy */
	cmos_put16(r, 0x34, MIN(above_16m, 0xffff));    /* above 16 MiB, 64 KiB */
	high = MIN(high, 0xffffff);                     /* above 4 GiB, 64 KiB */
	r->cmos[0x5b] = high & 0xff;
	r->cmos[0x5c] = (high >> 8) & 0xff;
	r->cmos[0x5d] = (high >> 16) & 0xff;
	r->cmos[0x5f] = nr_cpus ? nr_cpus - 1 : 0;
	cmos_update_checksum(r);
	pthread_mutex_unlock(&r->lock);
}

/* ---- device ops ---- */

/* RESET# [DS "RESET"]: clears PIE, AIE, UIE, SQWE and the flags; the
 * time, the date and the RAM are battery-backed. */
static void rtc_reset(void *dev)
{
	struct rtc *r = dev;
	pthread_mutex_lock(&r->lock);
	int64_t now = now_ns();
	rtc_advance(r, now);
	r->cmos[RTC_B] &= ~(B_PIE | B_AIE | B_UIE | B_SQWE);
	r->flags = 0;
	r->index = 0;
	r->nmi_masked = false;
	r->irq_level = 0;
	machine_set_irq(r->m, r->gsi, 0);
	rtc_schedule(r, now);
	pthread_mutex_unlock(&r->lock);
}

static void rtc_save(void *dev, struct state_buf *s)
{
	struct rtc *r = dev;
	pthread_mutex_lock(&r->lock);
	int64_t now = now_ns();
	rtc_advance(r, now);
	state_put_u8(s, RTC_STATE_VERSION);
	state_put_bytes(s, r->cmos, sizeof(r->cmos));
	state_put_u8(s, r->index);
	state_put_u8(s, r->nmi_masked);
	state_put_u8(s, r->flags);
	state_put_u64(s, (uint64_t)(now + r->phase_ns));
	state_put_u64(s, (uint64_t)r->sec_offset);
	state_put_u64(s, (uint64_t)realtime_ns());
	pthread_mutex_unlock(&r->lock);
}

/* The clock goes on from the saved instant plus the host time that
 * passed, so a restored guest keeps following the host's clock. */
static int rtc_load(void *dev, struct state_buf *s)
{
	struct rtc *r = dev;
	uint8_t cmos[128];
	if (state_get_u8(s) != RTC_STATE_VERSION)
		return -1;
	state_get_bytes(s, cmos, sizeof(cmos));
	uint8_t index = state_get_u8(s), nmi = state_get_u8(s), flags = state_get_u8(s);
	int64_t div = (int64_t)state_get_u64(s);
	int64_t sec_offset = (int64_t)state_get_u64(s);
	int64_t saved_rt = (int64_t)state_get_u64(s);
	if (s->error || index > 0x7f || nmi > 1 || (flags & ~C_FLAGS) ||
	    (cmos[RTC_A] & A_UIP) ||
	    ((cmos[RTC_B] & B_SET) && (cmos[RTC_B] & B_UIE)) ||
	    div < 0 || div > MAX_DIV_NS || sec_offset < -MAX_SEC_OFFSET ||
	    sec_offset > MAX_SEC_OFFSET)
		return -1;

	pthread_mutex_lock(&r->lock);
	int64_t now = now_ns(), rt = realtime_ns();
	int64_t elapsed = saved_rt > 0 && saved_rt < rt ? rt - saved_rt : 0;
	memcpy(r->cmos, cmos, sizeof(cmos));
	r->index = index;
	r->nmi_masked = nmi;
	r->flags = flags;
	r->phase_ns = div + MIN(elapsed, MAX_DIV_NS / 2) - now;
	r->sec_offset = sec_offset;
	r->last_ns = now;
	r->irq_level = rtc_irqf(r);
	machine_set_irq(r->m, r->gsi, r->irq_level);
	rtc_schedule(r, now);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static void rtc_destroy(void *dev)
{
	struct rtc *r = dev;
	timer_free(r->timer);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static const struct device_ops rtc_device_ops = {
	.name = "rtc",
	.reset = rtc_reset,
	.save = rtc_save,
	.load = rtc_load,
	.destroy = rtc_destroy,
};

/* Power-on contents: 32.768 kHz divider with 1024 Hz periodic rate,
 * 24-hour BCD, valid RAM, and an FPU in the equipment byte. */
static void rtc_power_on(struct rtc *r)
{
	int64_t now = now_ns();
	r->cmos[RTC_A] = A_DV_32K | 0x06;
	r->cmos[RTC_B] = B_24H;
	r->cmos[0x14] = 0x02;
	cmos_update_checksum(r);
	r->phase_ns = realtime_ns() - now;
	r->sec_offset = 0;
	r->last_ns = now;
	rtc_format(r, rtc_seconds_at(r, now), r->cmos); /* for raw readers */
}

struct rtc *rtc_new(struct machine *m, unsigned gsi)
{
	struct rtc *r = calloc(1, sizeof(*r));
	if (!r) {
		qvm_error("rtc: out of memory");
		return NULL;
	}
	r->m = m;
	r->gsi = gsi;
	pthread_mutex_init(&r->lock, NULL);
	rtc_power_on(r);
	if (machine_add_pio(m, 0x70, 2, &rtc_io_ops, r, "rtc") < 0) {
		pthread_mutex_destroy(&r->lock);
		free(r);
		return NULL;
	}
	if (m->loop)
		r->timer = timer_new(m->loop, rtc_timer_cb, r);
	machine_add_device(m, &rtc_device_ops, r);
	return r;
}
