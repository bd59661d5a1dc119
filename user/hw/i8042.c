/*
 * i8042 keyboard controller (ports 0x60/0x64) with a PS/2 keyboard and a
 * PS/2 mouse (ps2_kbd.c, ps2_mouse.c), and System Control Port A (0x92).
 *
 * References: the IBM PC AT Technical Reference (keyboard controller
 * commands, output port, status register), the IBM PS/2 Hardware Interface
 * Technical Reference (auxiliary device commands, port 0x92).
 *
 * The controller works instantly: the input buffer is never full.  Its
 * one-byte output buffer is filled, whenever the host has read it, from
 * the controller's own replies (command results, 0xD2/0xD3 writes) first,
 * then from the keyboard's queue unless the command byte disables the
 * keyboard interface, then from the mouse's unless it disables the aux
 * interface.  A byte written to the keyboard (port 0x60) or to the mouse
 * (0xD4) enables that interface again, as SeaBIOS, which disables both
 * around its commands, expects.
 *
 * IRQ 1 (keyboard data) and IRQ 12 (aux data) follow the output buffer:
 * high while it holds a byte of that kind and the command byte enables the
 * interrupt, dropped when the guest reads port 0x60.
 *
 * Key and pointer events come from the input router (ui/input.h) on the
 * main thread; guest accesses from vCPU threads; one lock covers it all.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "machine.h"
#include "hw.h"
#include "ps2.h"
#include "ui/input.h"

#define KBD_GSI 1
#define AUX_GSI 12
#define QUEUE_SIZE 16

/* Status register (port 0x64 read). */
#define ST_OBF 0x01     /* output buffer full */
#define ST_SYS 0x04     /* system flag */
#define ST_CMD 0x08     /* last write was to 0x64 */
#define ST_UNLOCKED 0x10 /* keyboard not inhibited by the key lock */
#define ST_AUXB 0x20    /* output buffer holds aux data */

/* Command byte (controller RAM byte 0). */
#define CB_KBD_INT 0x01
#define CB_AUX_INT 0x02
#define CB_SYS 0x04
#define CB_KBD_DISABLE 0x10
#define CB_AUX_DISABLE 0x20
#define CB_XLATE 0x40
#define CB_DEFAULT (CB_KBD_INT | CB_SYS | CB_XLATE)

/* Output port (0xD0/0xD1). */
#define OUT_RESET 0x01  /* 0 holds the CPU in reset */
#define OUT_A20 0x02
#define OUT_KBD_OBF 0x10
#define OUT_AUX_OBF 0x20
#define OUT_DEFAULT 0xcf /* clock and data lines high, A20 on, not reset */

/* Port 0x92 */
#define P92_RESET 0x01
#define P92_A20 0x02

#define I8042_STATE_VERSION 2

struct i8042 {
	struct machine *m;
	pthread_mutex_t lock;

	uint8_t status;         /* ST_SYS and ST_CMD only; the rest is derived */
	uint8_t ram[32];        /* ram[0] is the command byte */
	uint8_t outport, port92;
	uint8_t pending;        /* controller command waiting for its data byte */
	uint8_t last;           /* last byte read from port 0x60 */

	uint8_t obuf;           /* the output buffer */
	bool obuf_full, obuf_aux;

	/* the controller's own bytes, waiting for the output buffer */
	uint8_t q_data[QUEUE_SIZE];
	bool q_aux[QUEUE_SIZE];
	unsigned q_head, q_count;

	struct ps2_kbd kbd;
	struct ps2_mouse mouse;

	int irq_kbd, irq_aux;
};

/* ---- output buffer and interrupts ---- */

static void i8042_set_line(struct i8042 *k, int *cur, unsigned gsi, int level)
{
	if (*cur != level) {
		*cur = level;
		machine_set_irq(k->m, gsi, level);
	}
}

static void i8042_update_irq(struct i8042 *k)
{
	int kbd = 0, aux = 0;
	if (k->obuf_full) {
		if (k->obuf_aux)
			aux = !!(k->ram[0] & CB_AUX_INT);
		else
			kbd = !!(k->ram[0] & CB_KBD_INT);
	}
	i8042_set_line(k, &k->irq_kbd, KBD_GSI, kbd);
	i8042_set_line(k, &k->irq_aux, AUX_GSI, aux);
}

static void i8042_fill(struct i8042 *k, uint8_t byte, bool aux)
{
	k->obuf = byte;
	k->obuf_aux = aux;
	k->obuf_full = true;
}

/* Move the next waiting byte into an empty output buffer. */
static void i8042_refill(struct i8042 *k)
{
	if (!k->obuf_full) {
		if (k->q_count) {
			i8042_fill(k, k->q_data[k->q_head], k->q_aux[k->q_head]);
			k->q_head = (k->q_head + 1) % QUEUE_SIZE;
			k->q_count--;
		} else if (k->kbd.q.count && !(k->ram[0] & CB_KBD_DISABLE)) {
			i8042_fill(k, ps2_queue_get(&k->kbd.q), false);
		} else if (k->mouse.q.count && !(k->ram[0] & CB_AUX_DISABLE)) {
			i8042_fill(k, ps2_queue_get(&k->mouse.q), true);
		}
	}
	i8042_update_irq(k);
}

/* A byte from the controller itself (aux: as if from the mouse). */
static void i8042_queue(struct i8042 *k, uint8_t byte, bool aux)
{
	if (k->q_count == QUEUE_SIZE) {
		qvm_log(LOG_GUEST_ERRORS, "i8042: output queue full, byte 0x%02x dropped", byte);
		return;
	}
	unsigned i = (k->q_head + k->q_count++) % QUEUE_SIZE;
	k->q_data[i] = byte;
	k->q_aux[i] = aux;
	i8042_refill(k);
}

static void i8042_reply(struct i8042 *k, uint8_t byte)
{
	i8042_queue(k, byte, false);
}

static uint8_t i8042_read_data(struct i8042 *k)
{
	if (k->obuf_full) {
		k->last = k->obuf;
		k->obuf_full = false;
	}
	/* drop the lines so that a following byte makes a new edge */
	i8042_set_line(k, &k->irq_kbd, KBD_GSI, 0);
	i8042_set_line(k, &k->irq_aux, AUX_GSI, 0);
	i8042_refill(k);
	return k->last;
}

static uint8_t i8042_read_status(struct i8042 *k)
{
	uint8_t st = (k->status & (ST_SYS | ST_CMD)) | ST_UNLOCKED;
	if (k->obuf_full)
		st |= ST_OBF | (k->obuf_aux ? ST_AUXB : 0);
	return st;
}

static bool i8042_xlate(const struct i8042 *k)
{
	return k->ram[0] & CB_XLATE;
}

static void i8042_write_kbd(struct i8042 *k, uint8_t val)
{
	k->ram[0] &= ~CB_KBD_DISABLE;
	ps2_kbd_write(&k->kbd, val, i8042_xlate(k));
	i8042_refill(k);
}

static void i8042_write_aux(struct i8042 *k, uint8_t val)
{
	k->ram[0] &= ~CB_AUX_DISABLE;
	ps2_mouse_write(&k->mouse, val);
	i8042_refill(k);
}

/* ---- the controller ---- */

static void i8042_reset_request(struct i8042 *k)
{
	qvm_log(LOG_INT, "i8042: reset requested by the guest");
	machine_request(k->m, REQ_RESET, 0);
}

static void i8042_write_outport(struct i8042 *k, uint8_t val)
{
	k->outport = val;
	if (!(val & OUT_RESET))
		i8042_reset_request(k);
}

static uint8_t i8042_outport_value(const struct i8042 *k)
{
	uint8_t v = k->outport & ~(OUT_KBD_OBF | OUT_AUX_OBF);
	if (k->obuf_full)
		v |= k->obuf_aux ? OUT_AUX_OBF : OUT_KBD_OBF;
	return v;
}

static void i8042_write_ram(struct i8042 *k, unsigned idx, uint8_t val)
{
	k->ram[idx] = val;
	if (idx == 0) {
		k->status = (k->status & ~ST_SYS) | (val & CB_SYS ? ST_SYS : 0);
		i8042_refill(k); /* an interface enabled, an interrupt changed */
	}
}

/* A data byte (port 0x60) for the command in k->pending. */
static void i8042_command_data(struct i8042 *k, uint8_t cmd, uint8_t val)
{
	switch (cmd) {
	case 0xd1:
		i8042_write_outport(k, val);
		break;
	case 0xd2: /* write keyboard output buffer */
		i8042_queue(k, val, false);
		break;
	case 0xd3: /* write aux output buffer */
		i8042_queue(k, val, true);
		break;
	case 0xd4: /* write to the aux device */
		i8042_write_aux(k, val);
		break;
	default: /* 0x60-0x7f: write controller RAM */
		i8042_write_ram(k, cmd & 0x1f, val);
		break;
	}
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	if (cmd >= 0x20 && cmd <= 0x3f) {
		i8042_reply(k, k->ram[cmd & 0x1f]);
		return;
	}
	if ((cmd >= 0x60 && cmd <= 0x7f) || (cmd >= 0xd1 && cmd <= 0xd4)) {
		k->pending = cmd;
		return;
	}
	if (cmd >= 0xf0) { /* pulse output port bits 0-3 low; bit 0 is reset */
		if (!(cmd & 1))
			i8042_reset_request(k);
		return;
	}
	switch (cmd) {
	case 0xa7: i8042_write_ram(k, 0, k->ram[0] | CB_AUX_DISABLE); break;
	case 0xa8: i8042_write_ram(k, 0, k->ram[0] & ~CB_AUX_DISABLE); break;
	case 0xa9: i8042_reply(k, 0x00); break;          /* aux interface test */
	case 0xaa:                                        /* self test */
		k->status |= ST_SYS;
		i8042_reply(k, 0x55);
		break;
	case 0xab: i8042_reply(k, 0x00); break;          /* keyboard interface test */
	case 0xad: i8042_write_ram(k, 0, k->ram[0] | CB_KBD_DISABLE); break;
	case 0xae: i8042_write_ram(k, 0, k->ram[0] & ~CB_KBD_DISABLE); break;
	case 0xc0: i8042_reply(k, 0x80); break;          /* input port: not inhibited */
	case 0xd0: i8042_reply(k, i8042_outport_value(k)); break;
	case 0xdd: k->outport &= ~OUT_A20; break;        /* some controllers */
	case 0xdf: k->outport |= OUT_A20; break;
	case 0xe0: i8042_reply(k, 0x00); break;          /* test inputs */
	default:
		qvm_log(LOG_UNIMP, "i8042: controller command 0x%02x", cmd);
		break;
	}
}

static void i8042_write_data(struct i8042 *k, uint8_t val)
{
	uint8_t cmd = k->pending;
	k->status &= ~ST_CMD;
	k->pending = 0;
	if (cmd)
		i8042_command_data(k, cmd, val);
	else
		i8042_write_kbd(k, val);
}

/* ---- port I/O: 0x60 data, 0x64 status/command ---- */

/* The controller answers byte cycles; wider reads see the bus float. */
static uint64_t byte_read(uint8_t val, unsigned size)
{
	return size > 1 ? val | (~0ULL << 8) : val;
}

static uint64_t i8042_data_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8042 *k = opaque;
	(void)offset;
	pthread_mutex_lock(&k->lock);
	uint8_t val = i8042_read_data(k);
	pthread_mutex_unlock(&k->lock);
	return byte_read(val, size);
}

static void i8042_data_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct i8042 *k = opaque;
	(void)offset;
	(void)size;
	pthread_mutex_lock(&k->lock);
	i8042_write_data(k, value);
	pthread_mutex_unlock(&k->lock);
}

static uint64_t i8042_status_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8042 *k = opaque;
	(void)offset;
	pthread_mutex_lock(&k->lock);
	uint8_t val = i8042_read_status(k);
	pthread_mutex_unlock(&k->lock);
	return byte_read(val, size);
}

static void i8042_command_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct i8042 *k = opaque;
	(void)offset;
	(void)size;
	pthread_mutex_lock(&k->lock);
	k->status |= ST_CMD;
	i8042_command(k, value);
	pthread_mutex_unlock(&k->lock);
}

static const struct io_ops i8042_data_ops = {
	.read = i8042_data_read,
	.write = i8042_data_write,
};

static const struct io_ops i8042_cmd_ops = {
	.read = i8042_status_read,
	.write = i8042_command_write,
};

/* Port 0x92: bit 1 fast A20, bit 0 written as 1 resets (it reads 0). */
static uint64_t port92_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8042 *k = opaque;
	(void)offset;
	pthread_mutex_lock(&k->lock);
	uint8_t val = k->port92;
	pthread_mutex_unlock(&k->lock);
	return byte_read(val, size);
}

static void port92_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct i8042 *k = opaque;
	(void)offset;
	(void)size;
	pthread_mutex_lock(&k->lock);
	k->port92 = value & ~P92_RESET;
	if (value & P92_RESET)
		i8042_reset_request(k);
	pthread_mutex_unlock(&k->lock);
}

static const struct io_ops port92_io_ops = {
	.read = port92_io_read,
	.write = port92_io_write,
};

bool i8042_a20_enabled(struct i8042 *k)
{
	pthread_mutex_lock(&k->lock);
	bool on = (k->outport & OUT_A20) || (k->port92 & P92_A20);
	pthread_mutex_unlock(&k->lock);
	return on;
}

/* ---- input events (main thread) ---- */

static void i8042_input_key(void *opaque, unsigned linux_code, bool down)
{
	struct i8042 *k = opaque;
	pthread_mutex_lock(&k->lock);
	ps2_kbd_key(&k->kbd, linux_code, down, i8042_xlate(k));
	i8042_refill(k);
	pthread_mutex_unlock(&k->lock);
}

static void i8042_input_rel(void *opaque, int dx, int dy, unsigned buttons)
{
	struct i8042 *k = opaque;
	pthread_mutex_lock(&k->lock);
	ps2_mouse_event(&k->mouse, dx, dy, buttons);
	i8042_refill(k);
	pthread_mutex_unlock(&k->lock);
}

static const struct input_handler_ops i8042_input_ops = {
	.key = i8042_input_key,
	.rel = i8042_input_rel,
};

/* ---- device ops ---- */

static void i8042_reset_locked(struct i8042 *k)
{
	memset(k->ram, 0, sizeof(k->ram));
	k->ram[0] = CB_DEFAULT;
	k->status = ST_SYS;
	k->outport = OUT_DEFAULT;
	k->port92 = 0;
	k->pending = 0;
	k->last = 0;
	k->obuf = 0;
	k->obuf_full = k->obuf_aux = false;
	k->q_head = k->q_count = 0;
	ps2_kbd_reset(&k->kbd);
	ps2_mouse_reset(&k->mouse);
	k->irq_kbd = k->irq_aux = 0;
	machine_set_irq(k->m, KBD_GSI, 0);
	machine_set_irq(k->m, AUX_GSI, 0);
}

static void i8042_reset(void *dev)
{
	struct i8042 *k = dev;
	pthread_mutex_lock(&k->lock);
	i8042_reset_locked(k);
	pthread_mutex_unlock(&k->lock);
}

static void i8042_save(void *dev, struct state_buf *s)
{
	struct i8042 *k = dev;
	pthread_mutex_lock(&k->lock);
	state_put_u8(s, I8042_STATE_VERSION);
	state_put_u8(s, k->status);
	state_put_bytes(s, k->ram, sizeof(k->ram));
	state_put_u8(s, k->outport);
	state_put_u8(s, k->port92);
	state_put_u8(s, k->pending);
	state_put_u8(s, k->last);
	state_put_u8(s, k->obuf);
	state_put_u8(s, k->obuf_full | k->obuf_aux << 1);
	state_put_u8(s, k->q_count);
	for (unsigned i = 0; i < k->q_count; i++) {
		unsigned j = (k->q_head + i) % QUEUE_SIZE;
		state_put_u8(s, k->q_data[j]);
		state_put_u8(s, k->q_aux[j]);
	}
	ps2_kbd_save(&k->kbd, s);
	ps2_mouse_save(&k->mouse, s);
	pthread_mutex_unlock(&k->lock);
}

static bool i8042_pending_valid(uint8_t cmd)
{
	return cmd == 0 || (cmd >= 0x60 && cmd <= 0x7f) || (cmd >= 0xd1 && cmd <= 0xd4);
}

/* Everything the guest can see (not the machine, lock or IRQ lines). */
static void i8042_copy_regs(struct i8042 *k, const struct i8042 *t)
{
	k->status = t->status;
	memcpy(k->ram, t->ram, sizeof(k->ram));
	k->outport = t->outport;
	k->port92 = t->port92;
	k->pending = t->pending;
	k->last = t->last;
	k->obuf = t->obuf;
	k->obuf_full = t->obuf_full;
	k->obuf_aux = t->obuf_aux;
	memcpy(k->q_data, t->q_data, sizeof(k->q_data));
	memcpy(k->q_aux, t->q_aux, sizeof(k->q_aux));
	k->q_head = t->q_head;
	k->q_count = t->q_count;
	k->kbd = t->kbd;
	k->mouse = t->mouse;
}

/* The controller's queue as saved; false when it cannot be. */
static bool i8042_load_queue(struct i8042 *t, struct state_buf *s)
{
	t->q_head = 0;
	t->q_count = state_get_u8(s);
	if (t->q_count > QUEUE_SIZE)
		return false;
	bool aux_ok = true;
	for (unsigned i = 0; i < t->q_count; i++) {
		t->q_data[i] = state_get_u8(s);
		uint8_t aux = state_get_u8(s);
		aux_ok &= aux <= 1;
		t->q_aux[i] = aux;
	}
	return aux_ok;
}

static int i8042_load(void *dev, struct state_buf *s)
{
	struct i8042 *k = dev;
	struct i8042 *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	int ret = -1;
	if (state_get_u8(s) != I8042_STATE_VERSION)
		goto out;
	t->status = state_get_u8(s);
	state_get_bytes(s, t->ram, sizeof(t->ram));
	t->outport = state_get_u8(s);
	t->port92 = state_get_u8(s);
	t->pending = state_get_u8(s);
	t->last = state_get_u8(s);
	t->obuf = state_get_u8(s);
	uint8_t obuf_flags = state_get_u8(s);
	t->obuf_full = obuf_flags & 1;
	t->obuf_aux = obuf_flags & 2;
	if (!i8042_load_queue(t, s) || !ps2_kbd_load(&t->kbd, s) || !ps2_mouse_load(&t->mouse, s))
		goto out;
	if (s->error || obuf_flags > 3 || (t->status & ~(ST_SYS | ST_CMD)) ||
	    (t->port92 & P92_RESET) || !i8042_pending_valid(t->pending))
		goto out;

	pthread_mutex_lock(&k->lock);
	i8042_copy_regs(k, t);
	k->irq_kbd = k->irq_aux = -1; /* force both lines out */
	i8042_refill(k);
	pthread_mutex_unlock(&k->lock);
	ret = 0;
out:
	free(t);
	return ret;
}

static void i8042_destroy(void *dev)
{
	struct i8042 *k = dev;
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static const struct device_ops i8042_device_ops = {
	.name = "i8042",
	.reset = i8042_reset,
	.save = i8042_save,
	.load = i8042_load,
	.destroy = i8042_destroy,
};

struct i8042 *i8042_new(struct machine *m)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	if (!k) {
		qvm_error("i8042: out of memory");
		return NULL;
	}
	k->m = m;
	pthread_mutex_init(&k->lock, NULL);
	i8042_reset_locked(k);
	if (machine_add_pio(m, 0x60, 1, &i8042_data_ops, k, "i8042-data") < 0)
		goto fail;
	if (machine_add_pio(m, 0x64, 1, &i8042_cmd_ops, k, "i8042-cmd") < 0) {
		machine_remove_region(m, REGION_PIO, 0x60);
		goto fail;
	}
	if (machine_add_pio(m, 0x92, 1, &port92_io_ops, k, "port92") < 0) {
		machine_remove_region(m, REGION_PIO, 0x60);
		machine_remove_region(m, REGION_PIO, 0x64);
		goto fail;
	}
	machine_add_device(m, &i8042_device_ops, k);
	/* on failure the device stays registered: machine_free frees it */
	if (input_register_handler(m, &i8042_input_ops, k) < 0)
		return NULL;
	return k;
fail:
	pthread_mutex_destroy(&k->lock);
	free(k);
	return NULL;
}
