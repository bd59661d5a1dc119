/*
 * QEMU's key names (its QKeyCode names, as sendkey takes them) to Linux
 * input event codes.
 */
#include <linux/input-event-codes.h>
#include <string.h>
#include "ui/input.h"

struct key_name {
	const char *name;
	unsigned short code;
};

static const struct key_name key_names[] = {
	{ "shift", KEY_LEFTSHIFT }, { "shift_r", KEY_RIGHTSHIFT },
	{ "alt", KEY_LEFTALT }, { "alt_r", KEY_RIGHTALT }, { "altgr", KEY_RIGHTALT },
	{ "altgr_r", KEY_RIGHTALT }, { "ctrl", KEY_LEFTCTRL }, { "ctrl_r", KEY_RIGHTCTRL },
	{ "menu", KEY_COMPOSE }, { "esc", KEY_ESC },
	{ "1", KEY_1 }, { "2", KEY_2 }, { "3", KEY_3 }, { "4", KEY_4 }, { "5", KEY_5 },
	{ "6", KEY_6 }, { "7", KEY_7 }, { "8", KEY_8 }, { "9", KEY_9 }, { "0", KEY_0 },
	{ "minus", KEY_MINUS }, { "equal", KEY_EQUAL }, { "backspace", KEY_BACKSPACE },
	{ "tab", KEY_TAB },
	{ "q", KEY_Q }, { "w", KEY_W }, { "e", KEY_E }, { "r", KEY_R }, { "t", KEY_T },
	{ "y", KEY_Y }, { "u", KEY_U }, { "i", KEY_I }, { "o", KEY_O }, { "p", KEY_P },
	{ "bracket_left", KEY_LEFTBRACE }, { "bracket_right", KEY_RIGHTBRACE },
	{ "ret", KEY_ENTER },
	{ "a", KEY_A }, { "s", KEY_S }, { "d", KEY_D }, { "f", KEY_F }, { "g", KEY_G },
	{ "h", KEY_H }, { "j", KEY_J }, { "k", KEY_K }, { "l", KEY_L },
	{ "semicolon", KEY_SEMICOLON }, { "apostrophe", KEY_APOSTROPHE },
	{ "grave_accent", KEY_GRAVE }, { "backslash", KEY_BACKSLASH },
	{ "z", KEY_Z }, { "x", KEY_X }, { "c", KEY_C }, { "v", KEY_V }, { "b", KEY_B },
	{ "n", KEY_N }, { "m", KEY_M },
	{ "comma", KEY_COMMA }, { "dot", KEY_DOT }, { "slash", KEY_SLASH },
	{ "asterisk", KEY_KPASTERISK }, { "spc", KEY_SPACE }, { "caps_lock", KEY_CAPSLOCK },
	{ "f1", KEY_F1 }, { "f2", KEY_F2 }, { "f3", KEY_F3 }, { "f4", KEY_F4 },
	{ "f5", KEY_F5 }, { "f6", KEY_F6 }, { "f7", KEY_F7 }, { "f8", KEY_F8 },
	{ "f9", KEY_F9 }, { "f10", KEY_F10 }, { "f11", KEY_F11 }, { "f12", KEY_F12 },
	{ "num_lock", KEY_NUMLOCK }, { "scroll_lock", KEY_SCROLLLOCK },
	{ "kp_divide", KEY_KPSLASH }, { "kp_multiply", KEY_KPASTERISK },
	{ "kp_subtract", KEY_KPMINUS }, { "kp_add", KEY_KPPLUS },
	{ "kp_enter", KEY_KPENTER }, { "kp_decimal", KEY_KPDOT },
	{ "kp_equals", KEY_KPEQUAL }, { "kp_comma", KEY_KPCOMMA },
	{ "kp_0", KEY_KP0 }, { "kp_1", KEY_KP1 }, { "kp_2", KEY_KP2 }, { "kp_3", KEY_KP3 },
	{ "kp_4", KEY_KP4 }, { "kp_5", KEY_KP5 }, { "kp_6", KEY_KP6 }, { "kp_7", KEY_KP7 },
	{ "kp_8", KEY_KP8 }, { "kp_9", KEY_KP9 },
	{ "sysrq", KEY_SYSRQ }, { "print", KEY_SYSRQ }, { "less", KEY_102ND },
	{ "home", KEY_HOME }, { "pgup", KEY_PAGEUP }, { "pgdn", KEY_PAGEDOWN }, { "end", KEY_END },
	{ "left", KEY_LEFT }, { "up", KEY_UP }, { "down", KEY_DOWN }, { "right", KEY_RIGHT },
	{ "insert", KEY_INSERT }, { "delete", KEY_DELETE },
	{ "meta_l", KEY_LEFTMETA }, { "meta_r", KEY_RIGHTMETA },
	{ "pause", KEY_PAUSE }, { "power", KEY_POWER }, { "sleep", KEY_SLEEP },
	{ "wake", KEY_WAKEUP }, { "audiomute", KEY_MUTE }, { "volumeup", KEY_VOLUMEUP },
	{ "volumedown", KEY_VOLUMEDOWN },
	{ "ro", KEY_RO }, { "yen", KEY_YEN }, { "henkan", KEY_HENKAN },
	{ "muhenkan", KEY_MUHENKAN }, { "hiragana", KEY_KATAKANAHIRAGANA },
};

unsigned input_key_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++)
		if (strcmp(key_names[i].name, name) == 0)
			return key_names[i].code;
	return 0;
}
