/*
 * 8254 programmable interval timer, after the Intel 82C54 datasheet
 * ("[DS]" below), as the PC wires it: counters 0-2 at ports 0x40-0x42,
 * the control word at 0x43, a 1.193182 MHz clock; counter 0's OUT is
 * IRQ 0 (GSI 0); counters 0 and 1 have their gates tied high; counter 2's
 * gate and OUT are bits 0 and 5 of port 0x61 (system control port B),
 * whose bit 4 toggles with the DRAM refresh.
 *
 * Time model.  A counter counts in real time: its elapsed clock ticks are
 * floor((clock_ns() - start_ns) * 1193182 / 1e9), and its value and OUT
 * are computed from them on every read, so that a guest calibrating its
 * TSC against the PIT (Linux does) sees exactly real time.  A gate that
 * holds the count freezes the elapsed ticks (paused).  Counter 0's OUT
 * rising edges drive IRQ 0: a main-loop timer wakes us at the next one
 * (without a main loop they are found on port accesses).  Edges that
 * come faster than the main loop can follow are merged.
 *
 * Threads: vCPUs do port I/O, the main loop runs the timer; p->lock
 * covers everything, and IRQ 0 is raised with it held (lock order in
 * apic-internal.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "machine.h"
#include "mainloop.h"
#include "apic-internal.h"

#define PIT_HZ 1193182ULL
#define NS_PER_SEC 1000000000ULL
#define REFRESH_NS 15085        /* port 0x61 bit 4 toggles this often */
#define MIN_IRQ_GAP_NS 20000ULL /* IRQ 0 edges closer than this merge */
#define PIT_GSI 0
#define NO_EDGE UINT64_MAX
#define I8254_STATE_VERSION 1

/* Control word [DS "Control Word Format"]. */
#define CW_BCD 0x01
#define RB_NO_COUNT 0x20        /* read-back: don't latch the count */
#define RB_NO_STATUS 0x10       /* read-back: don't latch the status */
enum { RW_LATCH, RW_LSB, RW_MSB, RW_WORD };

/* Port 0x61 */
#define P61_GATE2 0x01
#define P61_WRITABLE 0x0f
#define P61_REFRESH 0x10
#define P61_OUT2 0x20

struct pit_counter {
	uint8_t mode;           /* 0-5 */
	uint8_t rw;             /* RW_LSB, RW_MSB, RW_WORD */
	bool bcd;
	bool gate;
	bool counting;          /* a count was written since the control word */
	bool triggered;         /* modes 1 and 5: a gate edge started it */
	bool paused;            /* the gate holds the count */
	uint32_t count;         /* N: 1..65536, or 1..10000 in BCD */
	uint64_t start_ns;      /* the counting element was loaded with N */
	uint64_t paused_ticks;  /* elapsed ticks frozen while paused */
	uint64_t write_ns;      /* when N was written (null count) */
	uint16_t held;          /* what reads give while not counting */
	/* access state */
	bool write_msb;         /* RW_WORD: the LSB is in, the MSB is next */
	uint8_t write_lsb;
	bool read_msb;          /* RW_WORD: the next read gives the MSB */
	uint8_t latch_left;     /* latched count bytes still to read */
	uint16_t latch;
	bool status_latched;
	uint8_t status;
	/* IRQ 0 (counter 0 only) */
	int irq_level;
	uint64_t irq_ticks;     /* rising edges up to this tick were raised */
};

struct i8254 {
	struct machine *m;
	pthread_mutex_t lock;
	struct timer *timer;    /* NULL without a main loop */
	struct pit_counter c[3];
	uint8_t port61;
};

/* ---- time ---- */

static uint64_t ns_to_ticks(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * PIT_HZ / NS_PER_SEC);
}

/* The first nanosecond at which ns_to_ticks() reaches ticks. */
static uint64_t ticks_to_ns(uint64_t ticks)
{
	unsigned __int128 ns = ((unsigned __int128)ticks * NS_PER_SEC + PIT_HZ - 1) / PIT_HZ;
	return ns > UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)ns;
}

static uint32_t modulus(const struct pit_counter *c)
{
	return c->bcd ? 10000 : 65536;
}

static uint32_t from_bcd(uint16_t v)
{
	uint32_t n = (v >> 12 & 0xf) * 1000 + (v >> 8 & 0xf) * 100 + (v >> 4 & 0xf) * 10 + (v & 0xf);
	return n % 10000; /* digits above 9 are the guest's nonsense */
}

static uint16_t to_bcd(uint32_t v)
{
	return (v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10;
}

/* Counting: modes 1 and 5 wait for their trigger. */
static bool running(const struct pit_counter *c)
{
	return c->counting && ((c->mode != 1 && c->mode != 5) || c->triggered);
}

static uint64_t elapsed(const struct pit_counter *c, uint64_t now)
{
	if (c->paused)
		return c->paused_ticks;
	return now > c->start_ns ? ns_to_ticks(now - c->start_ns) : 0;
}

/* The counting element [DS "Mode Definitions"].  Mode 3 counts by two:
 * N (N + 1 when odd) down to 2 with OUT high, then N (N - 1 when odd)
 * down to 2 with OUT low. */
static uint16_t pit_value(const struct pit_counter *c, uint64_t now)
{
	if (!running(c))
		return c->held;
	uint64_t d = elapsed(c, now);
	uint32_t n = c->count, mod = modulus(c), v;
	switch (c->mode) {
	case 2:
		v = n - d % n;
		break;
	case 3: {
		uint64_t phase = d % n, high = (n + 1) / 2, low = n / 2;
		v = phase < high ? 2 * (high - phase) : 2 * (low - (phase - high));
		break;
	}
	default: /* 0, 1, 4, 5: down from N, wrapping past 0 */
		v = (n + mod - d % mod) % mod;
	}
	v %= mod;
	return c->bcd ? to_bcd(v) : v;
}

/* OUT [DS "Mode Definitions"]: mode 0 low until terminal count, mode 1
 * low during its one-shot, mode 2 low for the last tick of each period,
 * mode 3 a square wave, modes 4 and 5 low for one tick at terminal count.
 * After a control word OUT is low in mode 0 and high otherwise. */
static bool pit_out(const struct pit_counter *c, uint64_t now)
{
	if (!c->counting)
		return c->mode != 0;
	if (!running(c) || ((c->mode == 2 || c->mode == 3) && c->paused))
		return true;
	uint64_t d = elapsed(c, now), n = c->count;
	switch (c->mode) {
	case 0:
	case 1:
		return d >= n;
	case 2:
		return d % n != n - 1;
	case 3:
		return d % n < (n + 1) / 2;
	default:
		return d != n;
	}
}

/* Did OUT rise in the ticks (d0, d1]? */
static bool rose_between(const struct pit_counter *c, uint64_t d0, uint64_t d1)
{
	uint64_t n = c->count;
	switch (c->mode) {
	case 0:
	case 1:
		return d0 < n && n <= d1;
	case 2:
	case 3:
		return d1 / n > d0 / n;
	default:
		return d0 < n + 1 && n + 1 <= d1;
	}
}

/* The first tick after d at which OUT rises, or NO_EDGE. */
static uint64_t next_rise(const struct pit_counter *c, uint64_t d)
{
	uint64_t n = c->count;
	switch (c->mode) {
	case 0:
	case 1:
		return d < n ? n : NO_EDGE;
	case 2:
	case 3:
		return (d / n + 1) * n;
	default:
		return d < n + 1 ? n + 1 : NO_EDGE;
	}
}

/* ---- IRQ 0 ---- */

static void set_irq0(struct i8254 *p, int level)
{
	machine_set_irq(p->m, PIT_GSI, level);
}

/* Bring IRQ 0 up to date with counter 0's OUT, making an edge for every
 * rising edge since the last update, and wake up for the next one. */
static void pit_irq_update(struct i8254 *p, uint64_t now)
{
	struct pit_counter *c = &p->c[0];
	int level = pit_out(c, now);
	bool counting = running(c) && !c->paused;
	bool rose = false;
	if (counting) {
		uint64_t d = elapsed(c, now);
		rose = d > c->irq_ticks && rose_between(c, c->irq_ticks, d);
		c->irq_ticks = MAX(d, c->irq_ticks);
	}
	if (rose && level == c->irq_level) {
		set_irq0(p, !level); /* the pulse happened between two looks */
		set_irq0(p, level);
	} else if (level != c->irq_level) {
		set_irq0(p, level);
	}
	c->irq_level = level;
	if (!p->timer)
		return;
	uint64_t rise = counting ? next_rise(c, c->irq_ticks) : NO_EDGE;
	if (rise == NO_EDGE) {
		timer_cancel(p->timer);
		return;
	}
	uint64_t when = c->start_ns + ticks_to_ns(rise);
	timer_arm(p->timer, MAX(when, now + MIN_IRQ_GAP_NS));
}

static void pit_timer_cb(void *opaque)
{
	struct i8254 *p = opaque;
	pthread_mutex_lock(&p->lock);
	pit_irq_update(p, clock_ns());
	pthread_mutex_unlock(&p->lock);
}

/* ---- programming ---- */

/* Load N into the counting element [DS "Mode Definitions"]. */
static void pit_load(struct pit_counter *c, uint16_t raw, uint64_t now)
{
	uint32_t n = c->bcd ? from_bcd(raw) : raw;
	if (n == 0)
		n = modulus(c);
	if (!c->counting)
		c->triggered = false;
	c->count = n;
	c->write_ns = now;
	c->counting = true;
	if (c->mode == 1 || c->mode == 5)
		return; /* loaded at the next trigger */
	c->start_ns = now;
	c->irq_ticks = 0;
	c->paused = !c->gate; /* a low gate holds modes 0, 2, 3 and 4 */
	c->paused_ticks = 0;
}

static void pit_write_count(struct pit_counter *c, uint8_t val, uint64_t now)
{
	switch (c->rw) {
	case RW_LSB:
		pit_load(c, val, now);
		break;
	case RW_MSB:
		pit_load(c, val << 8, now);
		break;
	default:
		if (!c->write_msb) {
			c->write_lsb = val;
			c->write_msb = true;
			if (c->mode == 0) { /* the first byte stops mode 0 [DS "Mode 0"] */
				c->held = pit_value(c, now);
				c->counting = false;
			}
			return;
		}
		c->write_msb = false;
		pit_load(c, c->write_lsb | val << 8, now);
	}
}

static void pit_latch_count(struct pit_counter *c, uint64_t now)
{
	if (c->latch_left)
		return; /* the first latch holds until read [DS "Counter Latch Command"] */
	c->latch = pit_value(c, now);
	c->latch_left = c->rw == RW_WORD ? 2 : 1;
}

/* Status byte [DS "Read-Back Command"]: OUT, null count, the control
 * word's RW, mode and BCD. */
static uint8_t pit_status(const struct pit_counter *c, uint64_t now)
{
	bool null = !running(c) || (c->mode != 1 && c->mode != 5 &&
				    ns_to_ticks(now - MIN(now, c->write_ns)) < 1);
	return pit_out(c, now) << 7 | null << 6 | c->rw << 4 | c->mode << 1 | c->bcd;
}

static void pit_read_back(struct i8254 *p, uint8_t val, uint64_t now)
{
	for (unsigned i = 0; i < 3; i++) {
		struct pit_counter *c = &p->c[i];
		if (!(val & (2u << i)))
			continue;
		if (!(val & RB_NO_COUNT))
			pit_latch_count(c, now);
		if (!(val & RB_NO_STATUS) && !c->status_latched) {
			c->status = pit_status(c, now);
			c->status_latched = true;
		}
	}
}

static void pit_control(struct i8254 *p, uint8_t val, uint64_t now)
{
	unsigned sc = val >> 6, rw = (val >> 4) & 3;
	if (sc == 3) {
		pit_read_back(p, val, now);
		return;
	}
	struct pit_counter *c = &p->c[sc];
	if (rw == RW_LATCH) {
		pit_latch_count(c, now);
		return;
	}
	c->held = pit_value(c, now);
	c->mode = (val >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4; /* 6 and 7 are modes 2 and 3 */
	c->bcd = val & CW_BCD;
	c->rw = rw;
	c->counting = c->triggered = c->paused = false;
	c->write_msb = c->read_msb = false;
	c->latch_left = 0;
	c->status_latched = false;
}

static uint8_t pit_read_counter(struct pit_counter *c, uint64_t now)
{
	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->latch_left) {
		uint16_t v = c->latch;
		bool msb = c->rw == RW_MSB || (c->rw == RW_WORD && c->latch_left == 1);
		c->latch_left--;
		return msb ? v >> 8 : v & 0xff;
	}
	uint16_t v = pit_value(c, now);
	switch (c->rw) {
	case RW_LSB:
		return v & 0xff;
	case RW_MSB:
		return v >> 8;
	default: {
		bool msb = c->read_msb;
		c->read_msb = !msb;
		return msb ? v >> 8 : v & 0xff;
	}
	}
}

/* Gate [DS table "Gate Pin Operations Summary"]: low holds the count in
 * modes 0 and 4 and stops modes 2 and 3 (OUT high); a rising edge
 * triggers modes 1 and 5 and reloads modes 2 and 3. */
static void pit_set_gate(struct pit_counter *c, bool gate, uint64_t now)
{
	if (gate == c->gate)
		return;
	c->gate = gate;
	if (!c->counting)
		return;
	if (!gate) {
		if (c->mode != 1 && c->mode != 5) {
			c->paused_ticks = elapsed(c, now);
			c->paused = true;
		}
		return;
	}
	switch (c->mode) {
	case 0:
	case 4: {
		uint64_t back = ticks_to_ns(c->paused_ticks);
		c->start_ns = now > back ? now - back : 0;
		c->paused = false;
		break;
	}
	default: /* 1, 2, 3, 5: start over */
		c->triggered = true;
		c->start_ns = now;
		c->paused = false;
		c->irq_ticks = 0;
	}
}

/* ---- port I/O ---- */

static uint64_t pit_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8254 *p = opaque;
	uint64_t val = 0;
	pthread_mutex_lock(&p->lock);
	uint64_t now = clock_ns();
	for (unsigned i = 0; i < size; i++) {
		uint64_t port = offset + i;
		uint64_t byte = port < 3 ? pit_read_counter(&p->c[port], now) : 0xff;
		val |= byte << (8 * i);
	}
	pit_irq_update(p, now);
	pthread_mutex_unlock(&p->lock);
	return val;
}

static void pit_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct i8254 *p = opaque;
	pthread_mutex_lock(&p->lock);
	uint64_t now = clock_ns();
	for (unsigned i = 0; i < size && offset + i < 4; i++) {
		uint8_t byte = value >> (8 * i);
		if (offset + i == 3)
			pit_control(p, byte, now);
		else
			pit_write_count(&p->c[offset + i], byte, now);
	}
	pit_irq_update(p, now);
	pthread_mutex_unlock(&p->lock);
}

static const struct io_ops pit_io_ops = { .read = pit_io_read, .write = pit_io_write };

static uint64_t port61_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8254 *p = opaque;
	(void)offset;
	pthread_mutex_lock(&p->lock);
	uint64_t now = clock_ns();
	uint8_t val = p->port61 & P61_WRITABLE;
	if ((now / REFRESH_NS) & 1)
		val |= P61_REFRESH;
	if (pit_out(&p->c[2], now))
		val |= P61_OUT2;
	pthread_mutex_unlock(&p->lock);
	return size > 1 ? val | (~0ULL << 8) : val;
}

static void port61_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct i8254 *p = opaque;
	(void)offset;
	(void)size;
	pthread_mutex_lock(&p->lock);
	p->port61 = value & P61_WRITABLE;
	pit_set_gate(&p->c[2], value & P61_GATE2, clock_ns());
	pthread_mutex_unlock(&p->lock);
}

static const struct io_ops port61_io_ops = { .read = port61_read, .write = port61_write };

/* ---- device ops ---- */

/* Power-on: nothing programmed, OUT low, no interrupts until a guest
 * writes a control word and a count; gates 0 and 1 tied high. */
static void pit_power_on(struct i8254 *p)
{
	for (unsigned i = 0; i < 3; i++) {
		struct pit_counter *c = &p->c[i];
		memset(c, 0, sizeof(*c));
		c->rw = RW_WORD;
		c->count = 65536;
		c->gate = i != 2;
	}
	p->port61 = 0;
}

static void i8254_reset(void *dev)
{
	struct i8254 *p = dev;
	pthread_mutex_lock(&p->lock);
	int old = p->c[0].irq_level;
	pit_power_on(p);
	if (old)
		set_irq0(p, 0);
	if (p->timer)
		timer_cancel(p->timer);
	pthread_mutex_unlock(&p->lock);
}

static void counter_save(const struct pit_counter *c, struct state_buf *s, uint64_t now)
{
	state_put_u8(s, c->mode);
	state_put_u8(s, c->rw);
	state_put_u8(s, c->bcd | c->gate << 1 | c->counting << 2 | c->triggered << 3 |
		     c->paused << 4 | c->write_msb << 5 | c->read_msb << 6 | c->status_latched << 7);
	state_put_u32(s, c->count);
	state_put_u64(s, now - MIN(now, c->start_ns));
	state_put_u64(s, c->paused_ticks);
	state_put_u64(s, now - MIN(now, c->write_ns));
	state_put_u16(s, c->held);
	state_put_u8(s, c->write_lsb);
	state_put_u8(s, c->latch_left);
	state_put_u16(s, c->latch);
	state_put_u8(s, c->status);
	state_put_u8(s, c->irq_level);
	state_put_u64(s, c->irq_ticks);
}

static bool counter_load(struct pit_counter *c, struct state_buf *s, uint64_t now)
{
	c->mode = state_get_u8(s);
	c->rw = state_get_u8(s);
	uint8_t flags = state_get_u8(s);
	c->bcd = flags & 1;
	c->gate = flags & 2;
	c->counting = flags & 4;
	c->triggered = flags & 8;
	c->paused = flags & 0x10;
	c->write_msb = flags & 0x20;
	c->read_msb = flags & 0x40;
	c->status_latched = flags & 0x80;
	c->count = state_get_u32(s);
	uint64_t since_start = state_get_u64(s);
	c->paused_ticks = state_get_u64(s);
	uint64_t since_write = state_get_u64(s);
	c->held = state_get_u16(s);
	c->write_lsb = state_get_u8(s);
	c->latch_left = state_get_u8(s);
	c->latch = state_get_u16(s);
	c->status = state_get_u8(s);
	c->irq_level = state_get_u8(s);
	c->irq_ticks = state_get_u64(s);
	c->start_ns = now - MIN(now, since_start);
	c->write_ns = now - MIN(now, since_write);
	return !s->error && c->mode <= 5 && c->rw >= RW_LSB && c->rw <= RW_WORD &&
	       c->count >= 1 && c->count <= modulus(c) && c->latch_left <= 2 &&
	       c->irq_level <= 1 && c->paused_ticks < (1ULL << 48);
}

static void i8254_save(void *dev, struct state_buf *s)
{
	struct i8254 *p = dev;
	pthread_mutex_lock(&p->lock);
	uint64_t now = clock_ns();
	state_put_u8(s, I8254_STATE_VERSION);
	for (unsigned i = 0; i < 3; i++)
		counter_save(&p->c[i], s, now);
	state_put_u8(s, p->port61);
	pthread_mutex_unlock(&p->lock);
}

static int i8254_load(void *dev, struct state_buf *s)
{
	struct i8254 *p = dev;
	struct pit_counter c[3];
	uint64_t now = clock_ns();
	if (state_get_u8(s) != I8254_STATE_VERSION)
		return -1;
	memset(c, 0, sizeof(c));
	for (unsigned i = 0; i < 3; i++)
		if (!counter_load(&c[i], s, now))
			return -1;
	uint8_t port61 = state_get_u8(s);
	if (s->error || (port61 & ~P61_WRITABLE) || c[0].gate != 1 || c[1].gate != 1 ||
	    c[2].gate != (port61 & P61_GATE2))
		return -1;
	pthread_mutex_lock(&p->lock);
	int old = p->c[0].irq_level;
	memcpy(p->c, c, sizeof(c));
	p->port61 = port61;
	if (old != p->c[0].irq_level)
		set_irq0(p, p->c[0].irq_level);
	pit_irq_update(p, clock_ns());
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static void i8254_destroy(void *dev)
{
	struct i8254 *p = dev;
	if (p->timer)
		timer_free(p->timer);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static const struct device_ops i8254_device_ops = {
	.name = "i8254",
	.reset = i8254_reset,
	.save = i8254_save,
	.load = i8254_load,
	.destroy = i8254_destroy,
};

struct i8254 *i8254_new(struct machine *m)
{
	struct i8254 *p = calloc(1, sizeof(*p));
	if (!p) {
		qvm_error("i8254: out of memory");
		return NULL;
	}
	p->m = m;
	pthread_mutex_init(&p->lock, NULL);
	pit_power_on(p);
	if (machine_add_pio(m, 0x40, 4, &pit_io_ops, p, "pit") < 0) {
		i8254_destroy(p);
		return NULL;
	}
	if (machine_add_pio(m, 0x61, 1, &port61_io_ops, p, "port61") < 0) {
		machine_remove_region(m, REGION_PIO, 0x40);
		i8254_destroy(p);
		return NULL;
	}
	if (m->loop)
		p->timer = timer_new(m->loop, pit_timer_cb, p);
	machine_add_device(m, &i8254_device_ops, p);
	return p;
}
