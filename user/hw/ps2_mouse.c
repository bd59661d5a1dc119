/*
 * The PS/2 mouse (IBM PS/2 Hardware Interface Technical Reference,
 * auxiliary device commands and data report), with Microsoft's
 * IntelliMouse (wheel) and IntelliMouse Explorer extensions: the driver
 * knocks with sample rates 200, 100, 80 (then 200, 200, 80) and reads the
 * new id with 0xf2.
 */
#include <stdlib.h>
#include "qvm.h"
#include "state.h"
#include "ui/input.h"
#include "ps2.h"

#define MOUSE_BAT_OK 0xaa
#define MOUSE_PACKET_MAX 4

static void reply(struct ps2_mouse *m, uint8_t byte)
{
	ps2_queue_put(&m->q, byte);
}

static void mouse_defaults(struct ps2_mouse *m)
{
	m->rate = 100;
	m->resolution = 2;
	m->scale21 = false;
	m->remote = false;
	m->reporting = false;
	m->pending = 0;
	m->dx = m->dy = m->dz = 0;
}

void ps2_mouse_reset(struct ps2_mouse *m)
{
	ps2_queue_clear(&m->q);
	mouse_defaults(m);
	m->type = PS2_MOUSE_PLAIN;
	m->wrap = false;
	m->buttons = 0;
	m->prev_wheel = 0;
	for (unsigned i = 0; i < 3; i++)
		m->knock[i] = 0;
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Motion not yet reported is kept within +-MOTION_MAX. */
#define MOTION_MAX 0x10000

static bool in_motion_range(int v)
{
	return v >= -MOTION_MAX && v <= MOTION_MAX;
}

/* 2:1 scaling of a stream report (PS/2 reference: 1->1, 2->1, 3->3,
 * 4->6, 5->9, beyond that twice the count). */
static int scale21(int v)
{
	static const int small[6] = { 0, 1, 1, 3, 6, 9 };
	int a = abs(v);
	int s = a <= 5 ? small[a] : 2 * a;
	return v < 0 ? -s : s;
}

static unsigned packet_size(const struct ps2_mouse *m)
{
	return m->type == PS2_MOUSE_PLAIN ? 3 : 4;
}

/* One report of what has accumulated (as much of it as fits: the rest
 * stays for the next report). */
static void mouse_send_packet(struct ps2_mouse *m, bool stream)
{
	int x = clamp(m->dx, -256, 255), y = clamp(m->dy, -256, 255);
	int z = clamp(m->dz, -8, 7);
	m->dx -= x;
	m->dy -= y;
	m->dz -= z;
	if (stream && m->scale21) {
		x = clamp(scale21(x), -256, 255);
		y = clamp(scale21(y), -256, 255);
	}
	reply(m, 0x08 | (m->buttons & 7) | (x < 0 ? 0x10 : 0) | (y < 0 ? 0x20 : 0));
	reply(m, x & 0xff);
	reply(m, y & 0xff);
	if (m->type != PS2_MOUSE_PLAIN)
		reply(m, z & (m->type == PS2_MOUSE_EXPLORER ? 0x0f : 0xff));
}

static void mouse_status(struct ps2_mouse *m)
{
	/* byte 1: remote, enabled, 2:1 scaling, then left, middle, right */
	uint8_t b = (m->remote ? 0x40 : 0) | (m->reporting ? 0x20 : 0) |
		    (m->scale21 ? 0x10 : 0) | ((m->buttons & 1) << 2) |
		    ((m->buttons & 4) >> 1) | ((m->buttons & 2) >> 1);
	reply(m, b);
	reply(m, m->resolution);
	reply(m, m->rate);
}

static void mouse_set_rate(struct ps2_mouse *m, uint8_t rate)
{
	m->rate = rate;
	m->knock[0] = m->knock[1];
	m->knock[1] = m->knock[2];
	m->knock[2] = rate;
	if (m->knock[0] == 200 && m->knock[2] == 80) {
		if (m->knock[1] == 100 && m->type == PS2_MOUSE_PLAIN)
			m->type = PS2_MOUSE_IMPS2;
		else if (m->knock[1] == 200 && m->type == PS2_MOUSE_IMPS2)
			m->type = PS2_MOUSE_EXPLORER;
	}
}

static void mouse_parameter(struct ps2_mouse *m, uint8_t cmd, uint8_t val)
{
	if (cmd == 0xe8)
		m->resolution = val & 3;
	else
		mouse_set_rate(m, val);
	reply(m, PS2_ACK);
}

static void mouse_command(struct ps2_mouse *m, uint8_t val)
{
	switch (val) {
	case 0xe6: m->scale21 = false; reply(m, PS2_ACK); break;
	case 0xe7: m->scale21 = true; reply(m, PS2_ACK); break;
	case 0xe8:
	case 0xf3:
		m->pending = val;
		reply(m, PS2_ACK);
		break;
	case 0xe9: reply(m, PS2_ACK); mouse_status(m); break;
	case 0xea: m->remote = false; m->dx = m->dy = m->dz = 0; reply(m, PS2_ACK); break;
	case 0xeb: reply(m, PS2_ACK); mouse_send_packet(m, false); break;
	case 0xec: reply(m, PS2_ACK); break;  /* reset wrap mode: not in it */
	case 0xee: m->wrap = true; reply(m, PS2_ACK); break;
	case 0xf0: m->remote = true; m->dx = m->dy = m->dz = 0; reply(m, PS2_ACK); break;
	case 0xf2: reply(m, PS2_ACK); reply(m, m->type); break;
	case 0xf4: m->reporting = true; reply(m, PS2_ACK); break;
	case 0xf5: m->reporting = false; m->dx = m->dy = m->dz = 0; reply(m, PS2_ACK); break;
	case 0xf6: mouse_defaults(m); reply(m, PS2_ACK); break;
	case 0xff:
		ps2_mouse_reset(m);
		reply(m, PS2_ACK);
		reply(m, MOUSE_BAT_OK);
		reply(m, PS2_MOUSE_PLAIN);
		break;
	default:
		qvm_log(LOG_UNIMP, "ps2: mouse command 0x%02x", val);
		reply(m, PS2_RESEND);
		break;
	}
}

void ps2_mouse_write(struct ps2_mouse *m, uint8_t val)
{
	uint8_t cmd = m->pending;
	m->pending = 0;
	if (m->wrap && val != 0xec && val != 0xff) {
		reply(m, val);
		return;
	}
	if (m->wrap && val == 0xec) {
		m->wrap = false;
		reply(m, PS2_ACK);
		return;
	}
	if (cmd)
		mouse_parameter(m, cmd, val);
	else
		mouse_command(m, val);
}

void ps2_mouse_event(struct ps2_mouse *m, int dx, int dy, unsigned buttons)
{
	/* a wheel notch for each press of the wheel "buttons" */
	unsigned wheel = buttons & (INPUT_BUTTON_WHEEL_UP | INPUT_BUTTON_WHEEL_DOWN);
	unsigned notch = wheel & ~m->prev_wheel;
	m->prev_wheel = wheel;
	uint8_t pressed = (buttons & INPUT_BUTTON_LEFT ? 1 : 0) |
			  (buttons & INPUT_BUTTON_RIGHT ? 2 : 0) |
			  (buttons & INPUT_BUTTON_MIDDLE ? 4 : 0);
	bool changed = pressed != m->buttons || dx || dy || notch;
	m->buttons = pressed;
	if (!changed || !m->reporting || m->wrap)
		return;
	/* PS/2 counts y upwards, the screen downwards; wheel up is -1 */
	dx = clamp(dx, -MOTION_MAX, MOTION_MAX);
	dy = clamp(dy, -MOTION_MAX, MOTION_MAX);
	m->dx = clamp(m->dx + dx, -MOTION_MAX, MOTION_MAX);
	m->dy = clamp(m->dy - dy, -MOTION_MAX, MOTION_MAX);
	if (m->type != PS2_MOUSE_PLAIN)
		m->dz = clamp(m->dz + (notch & INPUT_BUTTON_WHEEL_DOWN ? 1 : 0) -
			      (notch & INPUT_BUTTON_WHEEL_UP ? 1 : 0), -MOTION_MAX, MOTION_MAX);
	if (m->remote)
		return;
	/* at least one report (a button change alone is one), then the rest
	 * of a large motion while the queue has room */
	do {
		if (!ps2_queue_has_room(&m->q, packet_size(m))) {
			qvm_log(LOG_GUEST_ERRORS, "ps2: mouse buffer full, motion dropped");
			m->dx = m->dy = m->dz = 0;
			return;
		}
		mouse_send_packet(m, true);
	} while (m->dx || m->dy || m->dz);
}

void ps2_mouse_save(const struct ps2_mouse *m, struct state_buf *s)
{
	state_put_u8(s, m->pending);
	state_put_u8(s, m->rate);
	state_put_u8(s, m->resolution);
	state_put_u8(s, m->type);
	state_put_bytes(s, m->knock, sizeof(m->knock));
	state_put_u8(s, m->remote | m->reporting << 1 | m->scale21 << 2 | m->wrap << 3);
	state_put_u8(s, m->buttons);
	state_put_u32(s, (uint32_t)m->dx);
	state_put_u32(s, (uint32_t)m->dy);
	state_put_u32(s, (uint32_t)m->dz);
	state_put_u8(s, m->prev_wheel);
	ps2_queue_save(&m->q, s);
}

bool ps2_mouse_load(struct ps2_mouse *m, struct state_buf *s)
{
	m->pending = state_get_u8(s);
	m->rate = state_get_u8(s);
	m->resolution = state_get_u8(s);
	m->type = state_get_u8(s);
	state_get_bytes(s, m->knock, sizeof(m->knock));
	uint8_t flags = state_get_u8(s);
	m->remote = flags & 1;
	m->reporting = flags & 2;
	m->scale21 = flags & 4;
	m->wrap = flags & 8;
	m->buttons = state_get_u8(s);
	m->dx = (int32_t)state_get_u32(s);
	m->dy = (int32_t)state_get_u32(s);
	m->dz = (int32_t)state_get_u32(s);
	m->prev_wheel = state_get_u8(s);
	if (!ps2_queue_load(&m->q, s))
		return false;
	bool type_ok = m->type == PS2_MOUSE_PLAIN || m->type == PS2_MOUSE_IMPS2 ||
		       m->type == PS2_MOUSE_EXPLORER;
	bool motion_ok = in_motion_range(m->dx) && in_motion_range(m->dy) &&
			 in_motion_range(m->dz);
	return (m->pending == 0 || m->pending == 0xe8 || m->pending == 0xf3) && type_ok &&
	       m->resolution <= 3 && flags < 16 && m->buttons < 8 && motion_ok &&
	       (m->prev_wheel & ~(INPUT_BUTTON_WHEEL_UP | INPUT_BUTTON_WHEEL_DOWN)) == 0;
}
