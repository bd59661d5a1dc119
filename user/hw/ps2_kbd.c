/*
 * The PS/2 (MF2) keyboard: its commands (IBM PS/2 Hardware Interface
 * Technical Reference, keyboard commands) and its scan codes.
 */
#include "qvm.h"
#include "state.h"
#include "ps2.h"

#define KBD_BAT_OK 0xaa
#define KBD_ECHO 0xee

void ps2_kbd_reset(struct ps2_kbd *k)
{
	ps2_queue_clear(&k->q);
	k->set = 2;
	k->leds = 0;
	k->typematic = 0x2b;    /* 10.9 characters/s after 500 ms */
	k->scanning = true;
	k->pending = 0;
}

/* Set defaults (0xf5, 0xf6): all but the queue and the LEDs. */
static void kbd_defaults(struct ps2_kbd *k)
{
	k->set = 2;
	k->typematic = 0x2b;
	k->pending = 0;
}

static void reply(struct ps2_kbd *k, uint8_t byte)
{
	ps2_queue_put(&k->q, byte);
}

/* Scan code set number as the host sees it: translated when the
 * controller translates (the 8042's translation of 1, 2, 3). */
static uint8_t kbd_set_id(const struct ps2_kbd *k, bool xlate)
{
	static const uint8_t xlated[4] = { 0, 0x43, 0x41, 0x3f };
	return xlate ? xlated[k->set] : k->set;
}

static void kbd_parameter(struct ps2_kbd *k, uint8_t cmd, uint8_t val, bool xlate)
{
	switch (cmd) {
	case 0xed: /* set LEDs */
		k->leds = val & 7;
		reply(k, PS2_ACK);
		break;
	case 0xf0: /* get/set scan code set */
		if (val > 3) {
			reply(k, PS2_RESEND);
			break;
		}
		reply(k, PS2_ACK);
		if (val == 0)
			reply(k, kbd_set_id(k, xlate));
		else
			k->set = val;
		break;
	default: /* 0xf3 typematic rate and delay */
		k->typematic = val & 0x7f;
		reply(k, PS2_ACK);
		break;
	}
}

static void kbd_command(struct ps2_kbd *k, uint8_t val, bool xlate)
{
	switch (val) {
	case 0xed:
	case 0xf0:
	case 0xf3:
		k->pending = val;
		reply(k, PS2_ACK);
		break;
	case 0xee:
		reply(k, KBD_ECHO);
		break;
	case 0xf2: /* identify: MF2 keyboard, ab 83 (translated: ab 41) */
		reply(k, PS2_ACK);
		reply(k, 0xab);
		reply(k, xlate ? 0x41 : 0x83);
		break;
	case 0xf4:
		ps2_queue_clear(&k->q);
		k->scanning = true;
		reply(k, PS2_ACK);
		break;
	case 0xf5: /* defaults, and stop scanning */
		kbd_defaults(k);
		k->scanning = false;
		reply(k, PS2_ACK);
		break;
	case 0xf6:
		kbd_defaults(k);
		reply(k, PS2_ACK);
		break;
	case 0xf7 ... 0xfd: /* set-3 key types: accepted */
		reply(k, PS2_ACK);
		break;
	case 0xff: /* reset and self test (BAT) */
		ps2_kbd_reset(k);
		reply(k, PS2_ACK);
		reply(k, KBD_BAT_OK);
		break;
	default:
		qvm_log(LOG_UNIMP, "ps2: keyboard command 0x%02x", val);
		reply(k, PS2_RESEND);
		break;
	}
}

void ps2_kbd_write(struct ps2_kbd *k, uint8_t val, bool xlate)
{
	uint8_t cmd = k->pending;
	k->pending = 0;
	/* a command byte where a parameter was due starts a new command */
	if (cmd && val < 0xed)
		kbd_parameter(k, cmd, val, xlate);
	else
		kbd_command(k, val, xlate);
}

void ps2_kbd_key(struct ps2_kbd *k, unsigned linux_code, bool down, bool xlate)
{
	uint8_t seq[PS2_SEQ_MAX];
	if (!k->scanning)
		return;
	unsigned n = ps2_key_sequence(linux_code, down, xlate || k->set == 1, seq);
	if (!n || !ps2_queue_has_room(&k->q, n)) {
		if (n)
			qvm_log(LOG_GUEST_ERRORS, "ps2: keyboard buffer full, key %u dropped",
				linux_code);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		ps2_queue_put(&k->q, seq[i]);
}

void ps2_kbd_save(const struct ps2_kbd *k, struct state_buf *s)
{
	state_put_u8(s, k->pending);
	state_put_u8(s, k->set);
	state_put_u8(s, k->leds);
	state_put_u8(s, k->typematic);
	state_put_u8(s, k->scanning);
	ps2_queue_save(&k->q, s);
}

bool ps2_kbd_load(struct ps2_kbd *k, struct state_buf *s)
{
	k->pending = state_get_u8(s);
	k->set = state_get_u8(s);
	k->leds = state_get_u8(s);
	k->typematic = state_get_u8(s);
	uint8_t scanning = state_get_u8(s);
	k->scanning = scanning;
	if (!ps2_queue_load(&k->q, s))
		return false;
	bool pending_ok = k->pending == 0 || k->pending == 0xed || k->pending == 0xf0 ||
			  k->pending == 0xf3;
	return pending_ok && k->set >= 1 && k->set <= 3 && k->leds <= 7 &&
	       k->typematic < 0x80 && scanning <= 1;
}
