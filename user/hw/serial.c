/*
 * 16550A UART, after the National Semiconductor PC16550D datasheet
 * ("[DS]" below; section numbers of the June 1995 edition).
 *
 * Transmission is instantaneous: a byte written to THR goes straight to
 * the chardev, so THR and the transmitter are always empty and the TX FIFO
 * never holds anything.  Reception fills a 16-byte RX FIFO (1 byte when
 * FIFOs are off) from the chardev front end; the chardev is told to stop
 * when it is full and to resume when the guest drains it.
 *
 * Approximation: the character timeout indication [DS 8.6.4] is reported
 * as soon as the RX FIFO holds data below the trigger level, instead of
 * four character times later.
 *
 * Threads: vCPU threads do port I/O, the main thread delivers input; both
 * take s->lock.  chardev_write and chardev_accept_input are called with the
 * lock released (the chardev may call back into the front end).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "chardev/chardev.h"
#include "machine.h"
#include "hw.h"

#define NR_REGS 8
#define FIFO_SIZE 16

/* Register offsets [DS Table II]. */
enum { R_RBR_THR, R_IER, R_IIR_FCR, R_LCR, R_MCR, R_LSR, R_MSR, R_SCR };

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* THR empty */
#define IER_ELSI 0x04  /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK 0x0f

/* Interrupt identification [DS Table IV]. */
#define IIR_NONE 0x01
#define IIR_MSR 0x00
#define IIR_THRE 0x02
#define IIR_RDA 0x04
#define IIR_RLS 0x06
#define IIR_CTI 0x0c
#define IIR_FIFO 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLR_RX 0x02
#define FCR_CLR_TX 0x04
#define FCR_DMA 0x08
#define FCR_TRIGGER 0xc0

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_PE 0x04
#define LSR_FE 0x08
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERRORS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_DELTAS 0x0f
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

#define SERIAL_STATE_VERSION 1

struct serial {
	struct machine *m;
	struct chardev *chr;
	unsigned gsi;
	uint16_t iobase;
	pthread_mutex_t lock;

	uint8_t rx[FIFO_SIZE];
	unsigned rx_head, rx_count;
	uint8_t ier, fcr, lcr, mcr, lsr, msr, scr;
	uint16_t divisor;
	bool thr_ipending;      /* THR-empty interrupt not yet acknowledged */
	bool rx_blocked;        /* can_receive said 0: owe an accept_input */
	int irq_level;
};

/* Work left for after the lock is dropped. */
struct serial_post {
	bool tx, accept;
	uint8_t tx_byte;
};

static unsigned rx_capacity(const struct serial *s)
{
	return (s->fcr & FCR_ENABLE) ? FIFO_SIZE : 1;
}

/* [DS 8.6.4 / Table III, FCR bits 7:6] */
static unsigned rx_trigger(const struct serial *s)
{
	static const uint8_t levels[4] = { 1, 4, 8, 14 };
	return (s->fcr & FCR_ENABLE) ? levels[s->fcr >> 6] : 1;
}

/* Highest-priority pending interrupt [DS Table IV]. */
static uint8_t serial_iir_id(const struct serial *s)
{
	if ((s->ier & IER_ELSI) && (s->lsr & LSR_ERRORS))
		return IIR_RLS;
	if ((s->ier & IER_ERBFI) && s->rx_count)
		return s->rx_count >= rx_trigger(s) ? IIR_RDA : IIR_CTI;
	if ((s->ier & IER_ETBEI) && s->thr_ipending)
		return IIR_THRE;
	if ((s->ier & IER_EDSSI) && (s->msr & MSR_DELTAS))
		return IIR_MSR;
	return IIR_NONE;
}

/* On PC boards OUT2 enables the IRQ line driver.  (In loopback mode the
 * real OUT2 pin is forced inactive; like most emulators we keep the MCR
 * bit as the gate so that loopback tests can use interrupts.) */
static void serial_update_irq(struct serial *s)
{
	int level = serial_iir_id(s) != IIR_NONE && (s->mcr & MCR_OUT2);
	if (level != s->irq_level) {
		s->irq_level = level;
		machine_set_irq(s->m, s->gsi, level);
	}
}

/* Modem inputs: with nothing to sense, a connected line (CTS, DSR, DCD);
 * in loopback, the outputs looped back [DS 8.6.7, MCR bit 4]. */
static uint8_t serial_modem_inputs(const struct serial *s)
{
	uint8_t mcr = s->mcr;
	if (!(mcr & MCR_LOOP))
		return MSR_CTS | MSR_DSR | MSR_DCD;
	return (mcr & MCR_RTS ? MSR_CTS : 0) | (mcr & MCR_DTR ? MSR_DSR : 0) |
	       (mcr & MCR_OUT1 ? MSR_RI : 0) | (mcr & MCR_OUT2 ? MSR_DCD : 0);
}

static void serial_update_msr(struct serial *s)
{
	uint8_t in = serial_modem_inputs(s), old = s->msr;
	uint8_t delta = old & MSR_DELTAS;
	if ((old ^ in) & MSR_CTS)
		delta |= MSR_DCTS;
	if ((old ^ in) & MSR_DSR)
		delta |= MSR_DDSR;
	if ((old ^ in) & MSR_DCD)
		delta |= MSR_DDCD;
	if ((old & MSR_RI) && !(in & MSR_RI))
		delta |= MSR_TERI;
	s->msr = in | delta;
}

static unsigned rx_space(const struct serial *s)
{
	return rx_capacity(s) - s->rx_count;
}

static void rx_clear(struct serial *s)
{
	s->rx_head = s->rx_count = 0;
	s->lsr &= ~LSR_DR;
}

/* A character arrives from the shift register [DS 8.6.3, LSR bit 1]. */
static void rx_push(struct serial *s, uint8_t byte)
{
	if (s->rx_count == rx_capacity(s)) {
		s->lsr |= LSR_OE;
		if (s->fcr & FCR_ENABLE)
			return; /* FIFO mode: the new character is lost */
		s->rx_count = 0; /* holding register mode: it overwrites RBR */
	}
	s->rx[(s->rx_head + s->rx_count) % FIFO_SIZE] = byte;
	s->rx_count++;
	s->lsr |= LSR_DR;
}

static uint8_t rx_pop(struct serial *s)
{
	if (!s->rx_count)
		return 0;
	uint8_t byte = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % FIFO_SIZE;
	if (--s->rx_count == 0)
		s->lsr &= ~LSR_DR;
	return byte;
}

static unsigned serial_can_receive_locked(struct serial *s)
{
	unsigned n = (s->mcr & MCR_LOOP) ? 0 : rx_space(s);
	if (!n)
		s->rx_blocked = true;
	return n;
}

/* If the chardev was told to stop and room appeared, tell it to resume. */
static void serial_check_accept(struct serial *s, struct serial_post *post)
{
	if (s->rx_blocked && !(s->mcr & MCR_LOOP) && rx_space(s)) {
		s->rx_blocked = false;
		post->accept = true;
	}
}

static void serial_do_post(struct serial *s, const struct serial_post *post)
{
	if (post->tx && s->chr)
		chardev_write(s->chr, &post->tx_byte, 1);
	if (post->accept && s->chr)
		chardev_accept_input(s->chr);
}

/* ---- chardev front end (main thread) ---- */

static size_t serial_can_receive(void *opaque)
{
	struct serial *s = opaque;
	pthread_mutex_lock(&s->lock);
	size_t n = serial_can_receive_locked(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void serial_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct serial *s = opaque;
	pthread_mutex_lock(&s->lock);
	if (!(s->mcr & MCR_LOOP)) {  /* in loopback the input pin is cut */
		for (size_t i = 0; i < len; i++)
			rx_push(s, buf[i]);
		if (!rx_space(s))
			s->rx_blocked = true;
		serial_update_irq(s);
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- register reads ---- */

static uint8_t serial_read_iir(struct serial *s)
{
	uint8_t id = serial_iir_id(s);
	/* Reading IIR while THRE is the source clears it [DS Table IV]. */
	if (id == IIR_THRE)
		s->thr_ipending = false;
	return id | ((s->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
}

static uint8_t serial_read_reg(struct serial *s, unsigned reg, struct serial_post *post)
{
	uint8_t val = 0;
	switch (reg) {
	case R_RBR_THR:
		if (s->lcr & LCR_DLAB)
			return s->divisor & 0xff;
		val = rx_pop(s);
		serial_check_accept(s, post);
		break;
	case R_IER:
		return (s->lcr & LCR_DLAB) ? s->divisor >> 8 : s->ier;
	case R_IIR_FCR:
		val = serial_read_iir(s);
		break;
	case R_LCR:
		return s->lcr;
	case R_MCR:
		return s->mcr;
	case R_LSR:
		val = s->lsr;
		s->lsr &= ~LSR_ERRORS; /* [DS Table II note: cleared on read] */
		break;
	case R_MSR:
		val = s->msr;
		s->msr &= ~MSR_DELTAS;
		break;
	case R_SCR:
		return s->scr;
	}
	serial_update_irq(s);
	return val;
}

/* ---- register writes ---- */

static void serial_write_thr(struct serial *s, uint8_t val, struct serial_post *post)
{
	/* Writing THR clears the THRE interrupt; the byte leaves at once and
	 * THRE (with its interrupt) is back: lower then raise the line so
	 * that an edge-triggered controller sees a new interrupt. */
	s->thr_ipending = false;
	serial_update_irq(s);
	if (s->mcr & MCR_LOOP) {
		rx_push(s, val);
	} else {
		post->tx = true;
		post->tx_byte = val;
	}
	s->lsr |= LSR_THRE | LSR_TEMT;
	s->thr_ipending = true;
}

static void serial_write_ier(struct serial *s, uint8_t val)
{
	uint8_t old = s->ier;
	s->ier = val & IER_MASK;
	/* Enabling ETBEI with THR empty raises the THRE interrupt. */
	if (!(old & IER_ETBEI) && (s->ier & IER_ETBEI) && (s->lsr & LSR_THRE))
		s->thr_ipending = true;
}

/* [DS 8.6.5, FIFO Control Register] */
static void serial_write_fcr(struct serial *s, uint8_t val, struct serial_post *post)
{
	bool was_on = s->fcr & FCR_ENABLE;
	if (!(val & FCR_ENABLE)) {
		/* FIFOs off: both are cleared, other bits are not programmed */
		if (was_on)
			rx_clear(s);
		s->fcr = 0;
	} else {
		if (!was_on || (val & FCR_CLR_RX))
			rx_clear(s);
		/* FCR_CLR_TX: the TX FIFO is always empty */
		s->fcr = val & (FCR_ENABLE | FCR_DMA | FCR_TRIGGER);
	}
	serial_check_accept(s, post);
}

static void serial_write_reg(struct serial *s, unsigned reg, uint8_t val,
			     struct serial_post *post)
{
	switch (reg) {
	case R_RBR_THR:
		if (s->lcr & LCR_DLAB)
			s->divisor = (s->divisor & 0xff00) | val;
		else
			serial_write_thr(s, val, post);
		break;
	case R_IER:
		if (s->lcr & LCR_DLAB)
			s->divisor = (s->divisor & 0x00ff) | (val << 8);
		else
			serial_write_ier(s, val);
		break;
	case R_IIR_FCR:
		serial_write_fcr(s, val, post);
		break;
	case R_LCR:
		s->lcr = val;
		break;
	case R_MCR:
		s->mcr = val & MCR_MASK;
		serial_update_msr(s);
		serial_check_accept(s, post);
		break;
	case R_LSR:  /* factory test only */
	case R_MSR:
		break;
	case R_SCR:
		s->scr = val;
		break;
	}
	serial_update_irq(s);
}

/* ---- port I/O: wider accesses are split into byte cycles, as the ISA
 * bus does for an 8-bit device ---- */

static uint8_t serial_read_byte(struct serial *s, unsigned reg)
{
	struct serial_post post = { 0 };
	pthread_mutex_lock(&s->lock);
	uint8_t val = serial_read_reg(s, reg, &post);
	pthread_mutex_unlock(&s->lock);
	serial_do_post(s, &post);
	return val;
}

static void serial_write_byte(struct serial *s, unsigned reg, uint8_t val)
{
	struct serial_post post = { 0 };
	pthread_mutex_lock(&s->lock);
	serial_write_reg(s, reg, val, &post);
	pthread_mutex_unlock(&s->lock);
	serial_do_post(s, &post);
}

static uint64_t serial_io_read(void *opaque, uint64_t offset, unsigned size)
{
	uint64_t val = 0;
	for (unsigned i = 0; i < size && i < 8; i++) {
		uint64_t b = 0xff;
		if (offset + i < NR_REGS)
			b = serial_read_byte(opaque, offset + i);
		val |= b << (8 * i);
	}
	return val;
}

static void serial_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	for (unsigned i = 0; i < size && i < 8; i++)
		if (offset + i < NR_REGS)
			serial_write_byte(opaque, offset + i, value >> (8 * i));
}

static const struct io_ops serial_io_ops = {
	.read = serial_io_read,
	.write = serial_io_write,
};

/* ---- device ops ---- */

/* Master reset values [DS Table VIII]; SCR and the divisor survive. */
static void serial_reset_locked(struct serial *s)
{
	s->ier = s->fcr = s->lcr = s->mcr = 0;
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = serial_modem_inputs(s);
	s->thr_ipending = false;
	rx_clear(s);
	s->irq_level = 0;
	machine_set_irq(s->m, s->gsi, 0);
}

static void serial_reset(void *dev)
{
	struct serial *s = dev;
	struct serial_post post = { 0 };
	pthread_mutex_lock(&s->lock);
	serial_reset_locked(s);
	serial_check_accept(s, &post);
	pthread_mutex_unlock(&s->lock);
	serial_do_post(s, &post);
}

static void serial_save(void *dev, struct state_buf *b)
{
	struct serial *s = dev;
	pthread_mutex_lock(&s->lock);
	state_put_u8(b, SERIAL_STATE_VERSION);
	state_put_u8(b, s->ier);
	state_put_u8(b, s->fcr);
	state_put_u8(b, s->lcr);
	state_put_u8(b, s->mcr);
	state_put_u8(b, s->lsr);
	state_put_u8(b, s->msr);
	state_put_u8(b, s->scr);
	state_put_u16(b, s->divisor);
	state_put_u8(b, s->thr_ipending);
	state_put_u8(b, s->rx_count);
	for (unsigned i = 0; i < FIFO_SIZE; i++)
		state_put_u8(b, s->rx[(s->rx_head + i) % FIFO_SIZE]);
	pthread_mutex_unlock(&s->lock);
}

static bool serial_state_valid(const struct serial *t, unsigned thr)
{
	return !(t->ier & ~IER_MASK) && !(t->mcr & ~MCR_MASK) && thr <= 1 &&
	       !(t->fcr & ~(FCR_ENABLE | FCR_DMA | FCR_TRIGGER)) &&
	       ((t->fcr & FCR_ENABLE) || !(t->fcr & ~FCR_ENABLE)) &&
	       t->rx_count <= rx_capacity(t) &&
	       !!(t->lsr & LSR_DR) == (t->rx_count != 0);
}

static int serial_load(void *dev, struct state_buf *b)
{
	struct serial *s = dev, t;
	if (state_get_u8(b) != SERIAL_STATE_VERSION)
		return -1;
	memset(&t, 0, sizeof(t));
	t.ier = state_get_u8(b);
	t.fcr = state_get_u8(b);
	t.lcr = state_get_u8(b);
	t.mcr = state_get_u8(b);
	t.lsr = state_get_u8(b);
	t.msr = state_get_u8(b);
	t.scr = state_get_u8(b);
	t.divisor = state_get_u16(b);
	unsigned thr = state_get_u8(b);
	t.rx_count = state_get_u8(b);
	state_get_bytes(b, t.rx, FIFO_SIZE);
	if (b->error || !serial_state_valid(&t, thr))
		return -1;

	struct serial_post post = { 0 };
	pthread_mutex_lock(&s->lock);
	memcpy(s->rx, t.rx, sizeof(s->rx));
	s->rx_head = 0;
	s->rx_count = t.rx_count;
	s->ier = t.ier;
	s->fcr = t.fcr;
	s->lcr = t.lcr;
	s->mcr = t.mcr;
	s->lsr = t.lsr;
	s->msr = t.msr;
	s->scr = t.scr;
	s->divisor = t.divisor;
	s->thr_ipending = thr;
	s->irq_level = serial_iir_id(s) != IIR_NONE && (s->mcr & MCR_OUT2);
	machine_set_irq(s->m, s->gsi, s->irq_level);
	s->rx_blocked = true; /* let the chardev re-evaluate */
	serial_check_accept(s, &post);
	pthread_mutex_unlock(&s->lock);
	serial_do_post(s, &post);
	return 0;
}

static void serial_destroy(void *dev)
{
	struct serial *s = dev;
	if (s->chr) {
		static const struct chardev_frontend none = { 0 };
		chardev_set_frontend(s->chr, &none);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const struct device_ops serial_device_ops = {
	.name = "serial",
	.reset = serial_reset,
	.save = serial_save,
	.load = serial_load,
	.destroy = serial_destroy,
};

struct serial *serial_new(struct machine *m, uint16_t iobase, unsigned gsi,
			  struct chardev *chr)
{
	struct serial *s = calloc(1, sizeof(*s));
	if (!s) {
		qvm_error("serial: out of memory");
		return NULL;
	}
	s->m = m;
	s->chr = chr;
	s->gsi = gsi;
	s->iobase = iobase;
	s->divisor = 12; /* 9600 baud, what a BIOS leaves */
	pthread_mutex_init(&s->lock, NULL);
	serial_reset_locked(s);
	if (machine_add_pio(m, iobase, NR_REGS, &serial_io_ops, s, "serial") < 0) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	machine_add_device(m, &serial_device_ops, s);
	if (chr) {
		struct chardev_frontend fe = {
			.can_receive = serial_can_receive,
			.receive = serial_receive,
			.opaque = s,
		};
		chardev_set_frontend(chr, &fe);
	}
	return s;
}
