/*
 * virtio-input (virtio 1.2 spec 5.8): a keyboard, a relative mouse or an
 * absolute tablet that hands the guest Linux input events (type, code,
 * value: <linux/input-event-codes.h>) as they come from the input router
 * (ui/input.h).
 *
 * Queue 0 (eventq) holds device-writable buffers of 8 bytes each; events
 * wait in a small queue until the driver gives buffers, and a frame of
 * events (the changes and their SYN_REPORT) is queued whole or dropped
 * whole.  Queue 1 (statusq) carries LED changes from the driver, taken
 * and returned.  The configuration space answers the driver's select and
 * subsel (5.8.4): the name, ids, the event types and codes the device
 * sends, and the range of the absolute axes.
 */
#include <linux/input.h>            /* event codes, BUS_VIRTUAL */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "block/block-int.h"   /* the iovec helpers */
#include "machine.h"
#include "state.h"
#include "ui/input.h"
#include "hw.h"
#include "virtio.h"

#define VIRTIO_ID_INPUT 18
#define EVENTQ 0
#define STATUSQ 1
#define QUEUE_SIZE 64
#define PENDING_MAX 256         /* events waiting for buffers */
#define VIRTIO_INPUT_STATE_VERSION 1

/* 5.8.4: what the select byte asks for */
enum {
	CFG_UNSET = 0x00,
	CFG_ID_NAME = 0x01,
	CFG_ID_SERIAL = 0x02,
	CFG_ID_DEVIDS = 0x03,
	CFG_PROP_BITS = 0x10,
	CFG_EV_BITS = 0x11,
	CFG_ABS_INFO = 0x12,
};

struct input_config {
	uint8_t select, subsel, size, reserved[5];
	uint8_t u[128];
};

/* 5.8.6: one event */
struct input_event_le {
	uint16_t type, code;
	uint32_t value;
};

struct virtio_input {
	struct virtio_dev *vd;
	struct virtio_dev_ops ops;
	enum virtio_input_kind kind;
	uint8_t select, subsel;
	struct input_event_le pending[PENDING_MAX];
	unsigned npending;
	unsigned buttons;       /* input.h buttons held, as last sent */
	uint8_t leds;           /* the driver's LED state (EV_LED) */
};

static const char *const kind_names[] = {
	[VIRTIO_INPUT_KEYBOARD] = "qvm Virtio Keyboard",
	[VIRTIO_INPUT_MOUSE] = "qvm Virtio Mouse",
	[VIRTIO_INPUT_TABLET] = "qvm Virtio Tablet",
};

/* ---- configuration space (lock held) ---- */

static void set_bit(uint8_t *map, unsigned bit)
{
	map[bit / 8] |= 1u << (bit % 8);
}

/* The keyboard's keys: every code below BTN_MISC the PS/2 tables know,
 * plus the rest of the first 256 key codes a front end may send. */
static unsigned key_bits(uint8_t *map)
{
	for (unsigned k = KEY_ESC; k < BTN_MISC; k++)
		set_bit(map, k);
	return BTN_MISC / 8;
}

static unsigned button_bits(uint8_t *map)
{
	set_bit(map, BTN_LEFT);
	set_bit(map, BTN_RIGHT);
	set_bit(map, BTN_MIDDLE);
	return BTN_MIDDLE / 8 + 1;
}

/* The event codes of type ev, as a bitmap in map; its size in bytes
 * (0: the device sends no events of that type). */
static unsigned ev_bits(const struct virtio_input *vi, unsigned ev, uint8_t *map)
{
	bool kbd = vi->kind == VIRTIO_INPUT_KEYBOARD;
	switch (ev) {
	case EV_KEY:
		return kbd ? key_bits(map) : button_bits(map);
	case EV_REL:
		if (kbd)
			return 0;
		if (vi->kind == VIRTIO_INPUT_MOUSE) {
			set_bit(map, REL_X);
			set_bit(map, REL_Y);
		}
		set_bit(map, REL_WHEEL);
		return REL_WHEEL / 8 + 1;
	case EV_ABS:
		if (vi->kind != VIRTIO_INPUT_TABLET)
			return 0;
		set_bit(map, ABS_X);
		set_bit(map, ABS_Y);
		return 1;
	case EV_LED:
		if (!kbd)
			return 0;
		set_bit(map, LED_NUML);
		set_bit(map, LED_CAPSL);
		set_bit(map, LED_SCROLLL);
		return 1;
	case EV_REP:
		return 0; /* the driver repeats in software without it */
	default:
		return 0;
	}
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, v);
	put_le16(p + 2, v >> 16);
}

static void input_config_read(struct virtio_dev *vd, uint8_t *buf)
{
	struct virtio_input *vi = virtio_opaque(vd);
	struct input_config c;
	memset(&c, 0, sizeof(c));
	c.select = vi->select;
	c.subsel = vi->subsel;
	switch (vi->select) {
	case CFG_ID_NAME:
		if (vi->subsel == 0) {
			c.size = strlen(kind_names[vi->kind]);
			memcpy(c.u, kind_names[vi->kind], c.size);
		}
		break;
	case CFG_ID_DEVIDS: /* struct virtio_input_devids: bus, vendor, product, version */
		if (vi->subsel == 0) {
			put_le16(c.u, BUS_VIRTUAL);
			put_le16(c.u + 2, 0x0627);
			put_le16(c.u + 4, 1 + vi->kind);
			put_le16(c.u + 6, 1);
			c.size = 8;
		}
		break;
	case CFG_EV_BITS:
		c.size = ev_bits(vi, vi->subsel, c.u);
		break;
	case CFG_ABS_INFO: /* min, max, fuzz, flat, res */
		if (vi->kind == VIRTIO_INPUT_TABLET && (vi->subsel == ABS_X || vi->subsel == ABS_Y)) {
			put_le32(c.u, 0);
			put_le32(c.u + 4, INPUT_ABS_MAX);
			c.size = 20;
		}
		break;
	default: /* no serial, no properties, unknown selects: size 0 */
		break;
	}
	memcpy(buf, &c, sizeof(c));
}

/* 5.8.5: the driver writes select and subsel, then reads. */
static void input_config_write(struct virtio_dev *vd, unsigned offset, uint64_t value,
			       unsigned size)
{
	struct virtio_input *vi = virtio_opaque(vd);
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = value >> (8 * i);
		if (offset + i == 0)
			vi->select = b;
		else if (offset + i == 1)
			vi->subsel = b;
	}
}

/* ---- events (lock held) ---- */

/* Hand waiting events to the driver's buffers. */
static void input_flush(struct virtio_input *vi)
{
	unsigned sent = 0;
	struct vq_elem *e;
	while (sent < vi->npending && virtio_pop(vi->vd, EVENTQ, &e) == 1) {
		if (e->out_num || e->in_len < sizeof(struct input_event_le)) {
			virtio_error(vi->vd, "event buffer of %llu bytes (%u readable parts): "
				     "8 writable bytes needed", (unsigned long long)e->in_len,
				     e->out_num);
			virtio_push(vi->vd, EVENTQ, e, 0); /* dropped: the device is broken */
			return;
		}
		const struct input_event_le *ev = &vi->pending[sent++];
		uint8_t le[8];
		put_le16(le, ev->type);
		put_le16(le + 2, ev->code);
		put_le32(le + 4, ev->value);
		iov_from_buf(e->in, e->in_num, 0, le, sizeof(le));
		virtio_push(vi->vd, EVENTQ, e, sizeof(le));
	}
	if (sent) {
		memmove(vi->pending, vi->pending + sent,
			(vi->npending - sent) * sizeof(vi->pending[0]));
		vi->npending -= sent;
		virtio_notify(vi->vd, EVENTQ);
	}
}

/* Queue a frame of n events and its SYN_REPORT, whole or not at all. */
static void input_send(struct virtio_input *vi, const struct input_event_le *evs, unsigned n)
{
	if (vi->npending + n + 1 > PENDING_MAX) {
		qvm_log(LOG_GUEST_ERRORS, "%s: no event buffers from the driver, events dropped",
			vi->ops.name);
		return;
	}
	memcpy(vi->pending + vi->npending, evs, n * sizeof(*evs));
	vi->npending += n;
	vi->pending[vi->npending++] = (struct input_event_le){ EV_SYN, SYN_REPORT, 0 };
	input_flush(vi);
}

/* Button changes and wheel notches into evs; the count. */
static unsigned button_events(struct virtio_input *vi, unsigned buttons,
			      struct input_event_le *evs)
{
	static const struct { unsigned bit, code; } map[] = {
		{ INPUT_BUTTON_LEFT, BTN_LEFT },
		{ INPUT_BUTTON_RIGHT, BTN_RIGHT },
		{ INPUT_BUTTON_MIDDLE, BTN_MIDDLE },
	};
	unsigned n = 0;
	for (unsigned i = 0; i < 3; i++)
		if ((buttons ^ vi->buttons) & map[i].bit)
			evs[n++] = (struct input_event_le){ EV_KEY, map[i].code,
							    !!(buttons & map[i].bit) };
	unsigned notch = buttons & ~vi->buttons;
	if (notch & INPUT_BUTTON_WHEEL_UP)
		evs[n++] = (struct input_event_le){ EV_REL, REL_WHEEL, 1 };
	if (notch & INPUT_BUTTON_WHEEL_DOWN)
		evs[n++] = (struct input_event_le){ EV_REL, REL_WHEEL, (uint32_t)-1 };
	vi->buttons = buttons;
	return n;
}

static void input_key_event(void *opaque, unsigned code, bool down)
{
	struct virtio_input *vi = opaque;
	if (code == 0 || code >= BTN_MISC)
		return;
	struct input_event_le ev = { EV_KEY, code, down };
	virtio_lock(vi->vd);
	input_send(vi, &ev, 1);
	virtio_unlock(vi->vd);
}

static void input_rel_event(void *opaque, int dx, int dy, unsigned buttons)
{
	struct virtio_input *vi = opaque;
	struct input_event_le evs[8];
	unsigned n = 0;
	virtio_lock(vi->vd);
	if (dx)
		evs[n++] = (struct input_event_le){ EV_REL, REL_X, (uint32_t)dx };
	if (dy)
		evs[n++] = (struct input_event_le){ EV_REL, REL_Y, (uint32_t)dy };
	n += button_events(vi, buttons, evs + n);
	if (n)
		input_send(vi, evs, n);
	virtio_unlock(vi->vd);
}

static void input_abs_event(void *opaque, uint32_t x, uint32_t y, unsigned buttons)
{
	struct virtio_input *vi = opaque;
	struct input_event_le evs[8];
	unsigned n = 0;
	virtio_lock(vi->vd);
	evs[n++] = (struct input_event_le){ EV_ABS, ABS_X, x };
	evs[n++] = (struct input_event_le){ EV_ABS, ABS_Y, y };
	n += button_events(vi, buttons, evs + n);
	input_send(vi, evs, n);
	virtio_unlock(vi->vd);
}

static const struct input_handler_ops handler_ops[] = {
	[VIRTIO_INPUT_KEYBOARD] = { .key = input_key_event },
	[VIRTIO_INPUT_MOUSE] = { .rel = input_rel_event },
	[VIRTIO_INPUT_TABLET] = { .abs = input_abs_event },
};

/* ---- virtio ---- */

/* The status queue: LED state from the driver, consumed. */
static void input_status(struct virtio_input *vi)
{
	struct vq_elem *e;
	while (virtio_pop(vi->vd, STATUSQ, &e) == 1) {
		uint8_t le[8];
		if (iov_to_buf(e->out, e->out_num, 0, le, sizeof(le)) == sizeof(le) &&
		    (le[0] | le[1] << 8) == EV_LED) {
			unsigned code = le[2] | le[3] << 8;
			if (code < 8) {
				if (le[4] | le[5] | le[6] | le[7])
					vi->leds |= 1u << code;
				else
					vi->leds &= ~(1u << code);
			}
		}
		virtio_push(vi->vd, STATUSQ, e, 0);
	}
	virtio_notify(vi->vd, STATUSQ);
}

static void input_queue_notify(struct virtio_dev *vd, unsigned qi)
{
	struct virtio_input *vi = virtio_opaque(vd);
	virtio_lock(vd);
	if (qi == EVENTQ)
		input_flush(vi);
	else
		input_status(vi);
	virtio_unlock(vd);
}

static void input_reset(struct virtio_dev *vd)
{
	struct virtio_input *vi = virtio_opaque(vd);
	vi->select = vi->subsel = 0;
	vi->npending = 0;
	vi->leds = 0;
}

static void input_save(struct virtio_dev *vd, struct state_buf *s)
{
	struct virtio_input *vi = virtio_opaque(vd);
	state_put_u8(s, VIRTIO_INPUT_STATE_VERSION);
	state_put_u8(s, vi->kind);
	state_put_u8(s, vi->select);
	state_put_u8(s, vi->subsel);
	state_put_u8(s, vi->buttons);
	state_put_u8(s, vi->leds);
	state_put_u16(s, vi->npending);
	for (unsigned i = 0; i < vi->npending; i++) {
		state_put_u16(s, vi->pending[i].type);
		state_put_u16(s, vi->pending[i].code);
		state_put_u32(s, vi->pending[i].value);
	}
}

static int input_load(struct virtio_dev *vd, struct state_buf *s)
{
	struct virtio_input *vi = virtio_opaque(vd);
	if (state_get_u8(s) != VIRTIO_INPUT_STATE_VERSION || state_get_u8(s) != vi->kind)
		return -1;
	uint8_t select = state_get_u8(s), subsel = state_get_u8(s);
	uint8_t buttons = state_get_u8(s), leds = state_get_u8(s);
	unsigned n = state_get_u16(s);
	if (s->error || n > PENDING_MAX || buttons > 0x1f)
		return -1;
	struct input_event_le *evs = calloc(n ? n : 1, sizeof(*evs));
	if (!evs)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		evs[i].type = state_get_u16(s);
		evs[i].code = state_get_u16(s);
		evs[i].value = state_get_u32(s);
	}
	if (s->error) {
		free(evs);
		return -1;
	}
	vi->select = select;
	vi->subsel = subsel;
	vi->buttons = buttons;
	vi->leds = leds;
	vi->npending = n;
	memcpy(vi->pending, evs, n * sizeof(*evs));
	free(evs);
	return 0;
}

static void input_destroy(struct virtio_dev *vd)
{
	free(virtio_opaque(vd));
}

static const struct virtio_dev_ops input_ops_template = {
	.device_id = VIRTIO_ID_INPUT,
	.class_code = 0x098000,   /* input device, other */
	.num_queues = 2,
	.queue_max = QUEUE_SIZE,
	.config_size = sizeof(struct input_config),
	.config_read = input_config_read,
	.config_write = input_config_write,
	.queue_notify = input_queue_notify,
	.reset = input_reset,
	.save = input_save,
	.load = input_load,
	.destroy = input_destroy,
};

static const char *const device_names[] = {
	[VIRTIO_INPUT_KEYBOARD] = "virtio-keyboard",
	[VIRTIO_INPUT_MOUSE] = "virtio-mouse",
	[VIRTIO_INPUT_TABLET] = "virtio-tablet",
};

struct virtio_input *virtio_input_new(struct machine *m, struct pci_host *h, unsigned slot,
				      enum virtio_input_kind kind)
{
	struct virtio_input *vi = calloc(1, sizeof(*vi));
	if (!vi) {
		qvm_error("virtio-input: out of memory");
		return NULL;
	}
	vi->kind = kind;
	vi->ops = input_ops_template;
	vi->ops.name = device_names[kind];
	vi->vd = virtio_pci_new(m, h, slot, &vi->ops, vi);
	if (!vi->vd) {
		free(vi);
		return NULL;
	}
	/* the device is the machine's from here: freed with it on error */
	if (input_register_handler(m, &handler_ops[kind], vi) < 0)
		return NULL;
	return vi;
}

/* For tests: the LEDs the driver set (bit n: LED n). */
unsigned virtio_input_leds(struct virtio_input *vi)
{
	virtio_lock(vi->vd);
	unsigned leds = vi->leds;
	virtio_unlock(vi->vd);
	return leds;
}
