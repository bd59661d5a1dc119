/*
 * Linux key codes to PS/2 scan codes, sets 1 and 2 (IBM PS/2 Hardware
 * Interface Technical Reference, keyboard scan code sets).  Linux's codes
 * 1-88 were numbered after set 1, so set 1 is mostly the code itself; the
 * table keeps both sets explicit.  A 0xe0 in the high byte is the E0
 * prefix of the extended keys.
 *
 * Breaks: set 1 sets bit 7 of the last byte, set 2 puts 0xf0 before it
 * (after any 0xe0).  Print Screen and Pause have sequences of their own.
 */
#include <linux/input-event-codes.h>
#include "ps2.h"

struct scancodes {
	uint16_t set1, set2;
};

#define E0(c) (0xe000 | (c))

static const struct scancodes keymap[KEY_WAKEUP + 1] = {
	[KEY_ESC] = { 0x01, 0x76 },
	[KEY_1] = { 0x02, 0x16 }, [KEY_2] = { 0x03, 0x1e }, [KEY_3] = { 0x04, 0x26 },
	[KEY_4] = { 0x05, 0x25 }, [KEY_5] = { 0x06, 0x2e }, [KEY_6] = { 0x07, 0x36 },
	[KEY_7] = { 0x08, 0x3d }, [KEY_8] = { 0x09, 0x3e }, [KEY_9] = { 0x0a, 0x46 },
	[KEY_0] = { 0x0b, 0x45 }, [KEY_MINUS] = { 0x0c, 0x4e }, [KEY_EQUAL] = { 0x0d, 0x55 },
	[KEY_BACKSPACE] = { 0x0e, 0x66 }, [KEY_TAB] = { 0x0f, 0x0d },
	[KEY_Q] = { 0x10, 0x15 }, [KEY_W] = { 0x11, 0x1d }, [KEY_E] = { 0x12, 0x24 },
	[KEY_R] = { 0x13, 0x2d }, [KEY_T] = { 0x14, 0x2c }, [KEY_Y] = { 0x15, 0x35 },
	[KEY_U] = { 0x16, 0x3c }, [KEY_I] = { 0x17, 0x43 }, [KEY_O] = { 0x18, 0x44 },
	[KEY_P] = { 0x19, 0x4d }, [KEY_LEFTBRACE] = { 0x1a, 0x54 },
	[KEY_RIGHTBRACE] = { 0x1b, 0x5b }, [KEY_ENTER] = { 0x1c, 0x5a },
	[KEY_LEFTCTRL] = { 0x1d, 0x14 },
	[KEY_A] = { 0x1e, 0x1c }, [KEY_S] = { 0x1f, 0x1b }, [KEY_D] = { 0x20, 0x23 },
	[KEY_F] = { 0x21, 0x2b }, [KEY_G] = { 0x22, 0x34 }, [KEY_H] = { 0x23, 0x33 },
	[KEY_J] = { 0x24, 0x3b }, [KEY_K] = { 0x25, 0x42 }, [KEY_L] = { 0x26, 0x4b },
	[KEY_SEMICOLON] = { 0x27, 0x4c }, [KEY_APOSTROPHE] = { 0x28, 0x52 },
	[KEY_GRAVE] = { 0x29, 0x0e }, [KEY_LEFTSHIFT] = { 0x2a, 0x12 },
	[KEY_BACKSLASH] = { 0x2b, 0x5d },
	[KEY_Z] = { 0x2c, 0x1a }, [KEY_X] = { 0x2d, 0x22 }, [KEY_C] = { 0x2e, 0x21 },
	[KEY_V] = { 0x2f, 0x2a }, [KEY_B] = { 0x30, 0x32 }, [KEY_N] = { 0x31, 0x31 },
	[KEY_M] = { 0x32, 0x3a }, [KEY_COMMA] = { 0x33, 0x41 }, [KEY_DOT] = { 0x34, 0x49 },
	[KEY_SLASH] = { 0x35, 0x4a }, [KEY_RIGHTSHIFT] = { 0x36, 0x59 },
	[KEY_KPASTERISK] = { 0x37, 0x7c }, [KEY_LEFTALT] = { 0x38, 0x11 },
	[KEY_SPACE] = { 0x39, 0x29 }, [KEY_CAPSLOCK] = { 0x3a, 0x58 },
	[KEY_F1] = { 0x3b, 0x05 }, [KEY_F2] = { 0x3c, 0x06 }, [KEY_F3] = { 0x3d, 0x04 },
	[KEY_F4] = { 0x3e, 0x0c }, [KEY_F5] = { 0x3f, 0x03 }, [KEY_F6] = { 0x40, 0x0b },
	[KEY_F7] = { 0x41, 0x83 }, [KEY_F8] = { 0x42, 0x0a }, [KEY_F9] = { 0x43, 0x01 },
	[KEY_F10] = { 0x44, 0x09 }, [KEY_NUMLOCK] = { 0x45, 0x77 },
	[KEY_SCROLLLOCK] = { 0x46, 0x7e },
	[KEY_KP7] = { 0x47, 0x6c }, [KEY_KP8] = { 0x48, 0x75 }, [KEY_KP9] = { 0x49, 0x7d },
	[KEY_KPMINUS] = { 0x4a, 0x7b }, [KEY_KP4] = { 0x4b, 0x6b }, [KEY_KP5] = { 0x4c, 0x73 },
	[KEY_KP6] = { 0x4d, 0x74 }, [KEY_KPPLUS] = { 0x4e, 0x79 }, [KEY_KP1] = { 0x4f, 0x69 },
	[KEY_KP2] = { 0x50, 0x72 }, [KEY_KP3] = { 0x51, 0x7a }, [KEY_KP0] = { 0x52, 0x70 },
	[KEY_KPDOT] = { 0x53, 0x71 },
	[KEY_102ND] = { 0x56, 0x61 },
	[KEY_F11] = { 0x57, 0x78 }, [KEY_F12] = { 0x58, 0x07 },
	[KEY_RO] = { 0x73, 0x51 }, [KEY_KATAKANAHIRAGANA] = { 0x70, 0x13 },
	[KEY_HENKAN] = { 0x79, 0x64 }, [KEY_MUHENKAN] = { 0x7b, 0x67 },
	[KEY_KPENTER] = { E0(0x1c), E0(0x5a) }, [KEY_RIGHTCTRL] = { E0(0x1d), E0(0x14) },
	[KEY_KPSLASH] = { E0(0x35), E0(0x4a) }, [KEY_RIGHTALT] = { E0(0x38), E0(0x11) },
	[KEY_HOME] = { E0(0x47), E0(0x6c) }, [KEY_UP] = { E0(0x48), E0(0x75) },
	[KEY_PAGEUP] = { E0(0x49), E0(0x7d) }, [KEY_LEFT] = { E0(0x4b), E0(0x6b) },
	[KEY_RIGHT] = { E0(0x4d), E0(0x74) }, [KEY_END] = { E0(0x4f), E0(0x69) },
	[KEY_DOWN] = { E0(0x50), E0(0x72) }, [KEY_PAGEDOWN] = { E0(0x51), E0(0x7a) },
	[KEY_INSERT] = { E0(0x52), E0(0x70) }, [KEY_DELETE] = { E0(0x53), E0(0x71) },
	[KEY_MUTE] = { E0(0x20), E0(0x23) }, [KEY_VOLUMEDOWN] = { E0(0x2e), E0(0x21) },
	[KEY_VOLUMEUP] = { E0(0x30), E0(0x32) }, [KEY_POWER] = { E0(0x5e), E0(0x37) },
	[KEY_KPEQUAL] = { 0x59, 0x0f }, [KEY_KPCOMMA] = { 0x7e, 0x6d },
	[KEY_YEN] = { 0x7d, 0x6a },
	[KEY_LEFTMETA] = { E0(0x5b), E0(0x1f) }, [KEY_RIGHTMETA] = { E0(0x5c), E0(0x27) },
	[KEY_COMPOSE] = { E0(0x5d), E0(0x2f) }, [KEY_SLEEP] = { E0(0x5f), E0(0x3f) },
	[KEY_WAKEUP] = { E0(0x63), E0(0x5e) },
};

static unsigned copy_seq(uint8_t *out, const uint8_t *seq, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		out[i] = seq[i];
	return n;
}

/* Print Screen on its own (no Alt: then it is SysRq, which this table
 * does not model) is a fake shift plus E0 37 / E0 7C. */
static unsigned print_screen(bool down, bool set1, uint8_t *out)
{
	static const uint8_t s1_make[] = { 0xe0, 0x2a, 0xe0, 0x37 };
	static const uint8_t s1_break[] = { 0xe0, 0xb7, 0xe0, 0xaa };
	static const uint8_t s2_make[] = { 0xe0, 0x12, 0xe0, 0x7c };
	static const uint8_t s2_break[] = { 0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12 };
	if (set1)
		return copy_seq(out, down ? s1_make : s1_break, 4);
	return down ? copy_seq(out, s2_make, sizeof(s2_make))
		    : copy_seq(out, s2_break, sizeof(s2_break));
}

/* Pause sends make and break of E1-prefixed Ctrl and NumLock at once,
 * and nothing on release. */
static unsigned pause_key(bool down, bool set1, uint8_t *out)
{
	static const uint8_t s1[] = { 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 };
	static const uint8_t s2[] = { 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 };
	if (!down)
		return 0;
	return set1 ? copy_seq(out, s1, sizeof(s1)) : copy_seq(out, s2, sizeof(s2));
}

unsigned ps2_key_sequence(unsigned linux_code, bool down, bool set1, uint8_t *out)
{
	if (linux_code == KEY_SYSRQ)
		return print_screen(down, set1, out);
	if (linux_code == KEY_PAUSE)
		return pause_key(down, set1, out);
	if (linux_code >= sizeof(keymap) / sizeof(keymap[0]))
		return 0;
	uint16_t code = set1 ? keymap[linux_code].set1 : keymap[linux_code].set2;
	if (!code)
		return 0;
	unsigned n = 0;
	if (code & 0xe000)
		out[n++] = 0xe0;
	if (set1) {
		out[n++] = (code & 0xff) | (down ? 0 : 0x80);
	} else {
		if (!down)
			out[n++] = 0xf0;
		out[n++] = code & 0xff;
	}
	return n;
}
