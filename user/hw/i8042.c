/*
 * i8042 keyboard controller (ports 0x60/0x64) with an MF2 keyboard that
 * answers commands but has no keys yet, and System Control Port A (0x92).
 *
 * References: the IBM PC AT Technical Reference (keyboard controller
 * commands, output port, status register), the IBM PS/2 Hardware Interface
 * Technical Reference (auxiliary device commands, port 0x92).
 *
 * The controller works instantly: the input buffer is never full, and the
 * bytes it or the keyboard produce wait in a small queue in front of the
 * one-byte output buffer.  The auxiliary port exists but no mouse is
 * attached: bytes sent to it (0xD4) are dropped.
 *
 * IRQ 1 (keyboard data) and IRQ 12 (aux data) follow the output buffer:
 * high while it holds a byte of that kind and the command byte enables the
 * interrupt, dropped when the guest reads port 0x60.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "machine.h"
#include "hw.h"

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

#define KBD_ACK 0xfa
#define KBD_RESEND 0xfe

#define I8042_STATE_VERSION 1

struct i8042 {
	struct machine *m;
	pthread_mutex_t lock;

	uint8_t status;         /* ST_SYS and ST_CMD only; the rest is derived */
	uint8_t ram[32];        /* ram[0] is the command byte */
	uint8_t outport, port92;
	uint8_t pending;        /* controller command waiting for its data byte */
	uint8_t last;           /* last byte read from port 0x60 */

	uint8_t q_data[QUEUE_SIZE];
	bool q_aux[QUEUE_SIZE];
	unsigned q_head, q_count;

	/* the keyboard */
	uint8_t kbd_pending;    /* keyboard command waiting for its parameter */
	uint8_t kbd_set;        /* scan code set 1..3 */
	uint8_t kbd_leds;
	bool kbd_scanning;

	int irq_kbd, irq_aux;
};

/* ---- output queue and interrupts ---- */

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
	if (k->q_count) {
		if (k->q_aux[k->q_head])
			aux = !!(k->ram[0] & CB_AUX_INT);
		else
			kbd = !!(k->ram[0] & CB_KBD_INT);
	}
	i8042_set_line(k, &k->irq_kbd, KBD_GSI, kbd);
	i8042_set_line(k, &k->irq_aux, AUX_GSI, aux);
}

static void i8042_queue(struct i8042 *k, uint8_t byte, bool aux)
{
	if (k->q_count == QUEUE_SIZE) {
		qvm_log(LOG_GUEST_ERRORS, "i8042: output queue full, byte 0x%02x dropped", byte);
		return;
	}
	unsigned i = (k->q_head + k->q_count++) % QUEUE_SIZE;
	k->q_data[i] = byte;
	k->q_aux[i] = aux;
	i8042_update_irq(k);
}

static void i8042_reply(struct i8042 *k, uint8_t byte)
{
	i8042_queue(k, byte, false);
}

static uint8_t i8042_read_data(struct i8042 *k)
{
	if (k->q_count) {
		k->last = k->q_data[k->q_head];
		k->q_head = (k->q_head + 1) % QUEUE_SIZE;
		k->q_count--;
	}
	/* drop the lines so that a following byte makes a new edge */
	i8042_set_line(k, &k->irq_kbd, KBD_GSI, 0);
	i8042_set_line(k, &k->irq_aux, AUX_GSI, 0);
	i8042_update_irq(k);
	return k->last;
}

static uint8_t i8042_read_status(struct i8042 *k)
{
	uint8_t st = (k->status & (ST_SYS | ST_CMD)) | ST_UNLOCKED;
	if (k->q_count)
		st |= ST_OBF | (k->q_aux[k->q_head] ? ST_AUXB : 0);
	return st;
}

/* ---- the keyboard ---- */

static void kbd_defaults(struct i8042 *k)
{
	k->kbd_set = 2;
	k->kbd_leds = 0;
	k->kbd_scanning = true;
	k->kbd_pending = 0;
}

/* Scan code set number as the host sees it: translated when the
 * controller translates (IBM's translation of 1, 2, 3). */
static uint8_t kbd_set_id(const struct i8042 *k)
{
	static const uint8_t xlated[4] = { 0, 0x43, 0x41, 0x3f };
	return (k->ram[0] & CB_XLATE) ? xlated[k->kbd_set] : k->kbd_set;
}

static void kbd_parameter(struct i8042 *k, uint8_t cmd, uint8_t val)
{
	switch (cmd) {
	case 0xed: /* set LEDs */
		k->kbd_leds = val & 7;
		i8042_reply(k, KBD_ACK);
		break;
	case 0xf0: /* get/set scan code set */
		if (val > 3) {
			i8042_reply(k, KBD_RESEND);
			break;
		}
		i8042_reply(k, KBD_ACK);
		if (val == 0)
			i8042_reply(k, kbd_set_id(k));
		else
			k->kbd_set = val;
		break;
	default: /* 0xf3 typematic rate */
		i8042_reply(k, KBD_ACK);
		break;
	}
}

static void kbd_command(struct i8042 *k, uint8_t val)
{
	switch (val) {
	case 0xed:
	case 0xf0:
	case 0xf3:
		k->kbd_pending = val;
		i8042_reply(k, KBD_ACK);
		break;
	case 0xee: /* echo */
		i8042_reply(k, 0xee);
		break;
	case 0xf2: /* identify: MF2 keyboard */
		i8042_reply(k, KBD_ACK);
		i8042_reply(k, 0xab);
		i8042_reply(k, (k->ram[0] & CB_XLATE) ? 0x41 : 0x83);
		break;
	case 0xf4:
		k->kbd_scanning = true;
		i8042_reply(k, KBD_ACK);
		break;
	case 0xf5: /* disable: defaults, not scanning */
		kbd_defaults(k);
		k->kbd_scanning = false;
		i8042_reply(k, KBD_ACK);
		break;
	case 0xf6:
		kbd_defaults(k);
		i8042_reply(k, KBD_ACK);
		break;
	case 0xf7 ... 0xfd: /* set-3 key types: accepted */
		i8042_reply(k, KBD_ACK);
		break;
	case 0xff: /* reset and self test (BAT) */
		kbd_defaults(k);
		i8042_reply(k, KBD_ACK);
		i8042_reply(k, 0xaa);
		break;
	default:
		qvm_log(LOG_UNIMP, "i8042: keyboard command 0x%02x", val);
		i8042_reply(k, KBD_RESEND);
		break;
	}
}

static void kbd_write(struct i8042 *k, uint8_t val)
{
	uint8_t cmd = k->kbd_pending;
	k->kbd_pending = 0;
	if (cmd)
		kbd_parameter(k, cmd, val);
	else
		kbd_command(k, val);
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
	if (k->q_count)
		v |= k->q_aux[k->q_head] ? OUT_AUX_OBF : OUT_KBD_OBF;
	return v;
}

static void i8042_write_ram(struct i8042 *k, unsigned idx, uint8_t val)
{
	k->ram[idx] = val;
	if (idx == 0) {
		k->status = (k->status & ~ST_SYS) | (val & CB_SYS ? ST_SYS : 0);
		i8042_update_irq(k);
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
	case 0xd4: /* write to the aux device: nothing attached */
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
		kbd_write(k, val);
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
	k->q_head = k->q_count = 0;
	kbd_defaults(k);
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
	state_put_u8(s, k->kbd_pending);
	state_put_u8(s, k->kbd_set);
	state_put_u8(s, k->kbd_leds);
	state_put_u8(s, k->kbd_scanning);
	state_put_u8(s, k->q_count);
	for (unsigned i = 0; i < QUEUE_SIZE; i++) {
		unsigned j = (k->q_head + i) % QUEUE_SIZE;
		state_put_u8(s, k->q_data[j]);
		state_put_u8(s, k->q_aux[j]);
	}
	pthread_mutex_unlock(&k->lock);
}

static bool i8042_pending_valid(uint8_t cmd)
{
	return cmd == 0 || (cmd >= 0x60 && cmd <= 0x7f) || (cmd >= 0xd1 && cmd <= 0xd4);
}

static bool kbd_pending_valid(uint8_t cmd)
{
	return cmd == 0 || cmd == 0xed || cmd == 0xf0 || cmd == 0xf3;
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
	memcpy(k->q_data, t->q_data, sizeof(k->q_data));
	memcpy(k->q_aux, t->q_aux, sizeof(k->q_aux));
	k->q_head = t->q_head;
	k->q_count = t->q_count;
	k->kbd_pending = t->kbd_pending;
	k->kbd_set = t->kbd_set;
	k->kbd_leds = t->kbd_leds;
	k->kbd_scanning = t->kbd_scanning;
}

static int i8042_load(void *dev, struct state_buf *s)
{
	struct i8042 *k = dev, t;
	if (state_get_u8(s) != I8042_STATE_VERSION)
		return -1;
	memset(&t, 0, sizeof(t));
	t.status = state_get_u8(s);
	state_get_bytes(s, t.ram, sizeof(t.ram));
	t.outport = state_get_u8(s);
	t.port92 = state_get_u8(s);
	t.pending = state_get_u8(s);
	t.last = state_get_u8(s);
	t.kbd_pending = state_get_u8(s);
	t.kbd_set = state_get_u8(s);
	t.kbd_leds = state_get_u8(s);
	unsigned scanning = state_get_u8(s);
	t.q_count = state_get_u8(s);
	bool aux_ok = true;
	for (unsigned i = 0; i < QUEUE_SIZE; i++) {
		t.q_data[i] = state_get_u8(s);
		uint8_t aux = state_get_u8(s);
		aux_ok &= aux <= 1;
		t.q_aux[i] = aux;
	}
	if (s->error || !aux_ok || scanning > 1 || t.q_count > QUEUE_SIZE ||
	    t.kbd_set < 1 || t.kbd_set > 3 || t.kbd_leds > 7 || (t.status & ~(ST_SYS | ST_CMD)) ||
	    (t.port92 & P92_RESET) || !i8042_pending_valid(t.pending) ||
	    !kbd_pending_valid(t.kbd_pending))
		return -1;

	pthread_mutex_lock(&k->lock);
	t.kbd_scanning = scanning;
	i8042_copy_regs(k, &t);
	k->irq_kbd = k->irq_aux = -1; /* force both lines out */
	i8042_update_irq(k);
	pthread_mutex_unlock(&k->lock);
	return 0;
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
	return k;
fail:
	pthread_mutex_destroy(&k->lock);
	free(k);
	return NULL;
}
