/*
 * sendkey KEYS [HOLD_MS]: press the keys of "ctrl-alt-delete" in order,
 * hold them HOLD_MS (100 by default), release them in reverse order, as
 * QEMU's monitor does; the release runs from a main-loop timer so the
 * guest sees the keys held.  mouse_move DX DY [DZ] moves the pointer
 * relatively (DZ > 0: wheel up, as QEMU); mouse_button STATE sets the
 * buttons (1 left, 2 right, 4 middle).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "machine.h"
#include "mainloop.h"
#include "ui/input.h"
#include "ui/ui.h"
#include "input-cmds.h"

#define HOLD_MS_DEFAULT 100
#define HOLD_MS_MAX 60000

static void release_held(struct mon_input *in)
{
	while (in->nheld)
		input_key(in->m, in->held[--in->nheld], false);
}

static void release_timer(void *opaque)
{
	release_held(opaque);
}

void mon_input_init(struct mon_input *in, struct machine *m)
{
	memset(in, 0, sizeof(*in));
	in->m = m;
}

void mon_input_destroy(struct mon_input *in)
{
	release_held(in);
	if (in->release)
		timer_free(in->release);
	in->release = NULL;
}

/* Split "ctrl-alt-delete" into Linux codes; count, or -1 with err. */
static int parse_keys(const char *keys, unsigned *codes, char *err, size_t errlen)
{
	unsigned n = 0;
	const char *p = keys;
	for (;;) {
		size_t len = strcspn(p, "-");
		char name[32];
		if (len == 0 || len >= sizeof(name)) {
			snprintf(err, errlen, "sendkey: bad key list '%s'", keys);
			return -1;
		}
		memcpy(name, p, len);
		name[len] = 0;
		unsigned code = input_key_by_name(name);
		if (!code) {
			snprintf(err, errlen, "sendkey: unknown key '%s'", name);
			return -1;
		}
		if (n == MON_KEYS_MAX) {
			snprintf(err, errlen, "sendkey: more than %d keys", MON_KEYS_MAX);
			return -1;
		}
		codes[n++] = code;
		if (!p[len])
			return n;
		p += len + 1;
	}
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int mon_sendkey(struct mon_input *in, const char *args, char *err, size_t errlen)
{
	char keys[256], hold[32] = "";
	if (sscanf(args, "%255s %31s", keys, hold) < 1) {
		snprintf(err, errlen, "sendkey: usage: sendkey KEYS [HOLD_MS]");
		return -1;
	}
	unsigned codes[MON_KEYS_MAX];
	int n = parse_keys(keys, codes, err, errlen);
	if (n < 0)
		return -1;
	long hold_ms = HOLD_MS_DEFAULT;
	if (*hold && parse_int(hold, 0, HOLD_MS_MAX, &hold_ms) < 0) {
		snprintf(err, errlen, "sendkey: bad hold time '%s' (0 to %d ms)", hold,
			 HOLD_MS_MAX);
		return -1;
	}
	release_held(in);       /* a previous sendkey still holding */
	for (int i = 0; i < n; i++) {
		input_key(in->m, codes[i], true);
		in->held[in->nheld++] = codes[i];
	}
	if (!in->m->loop) {     /* no main loop (unit tests): at once */
		release_held(in);
		return 0;
	}
	if (!in->release)
		in->release = timer_new(in->m->loop, release_timer, in);
	timer_arm(in->release, clock_ns() + (uint64_t)hold_ms * 1000000);
	return 0;
}

static void wheel(struct mon_input *in, long dz)
{
	unsigned bit = dz > 0 ? INPUT_BUTTON_WHEEL_UP : INPUT_BUTTON_WHEEL_DOWN;
	for (long i = 0; i < labs(dz); i++) {
		input_pointer_rel(in->m, 0, 0, in->buttons | bit);
		input_pointer_rel(in->m, 0, 0, in->buttons);
	}
}

int mon_mouse_move(struct mon_input *in, const char *args, char *err, size_t errlen)
{
	char sx[32], sy[32], sz[32] = "";
	long dx, dy, dz = 0;
	int got = sscanf(args, "%31s %31s %31s", sx, sy, sz);
	if (got < 2 || parse_int(sx, -65536, 65536, &dx) < 0 ||
	    parse_int(sy, -65536, 65536, &dy) < 0 || (got == 3 && parse_int(sz, -64, 64, &dz) < 0)) {
		snprintf(err, errlen, "mouse_move: usage: mouse_move DX DY [DZ] "
			 "(|DX|, |DY| <= 65536, |DZ| <= 64)");
		return -1;
	}
	if (dx || dy)
		input_pointer_rel(in->m, dx, dy, in->buttons);
	wheel(in, dz);
	return 0;
}

int mon_mouse_button(struct mon_input *in, const char *args, char *err, size_t errlen)
{
	long state;
	char s[32];
	if (sscanf(args, "%31s", s) != 1 || parse_int(s, 0, 7, &state) < 0) {
		snprintf(err, errlen, "mouse_button: usage: mouse_button STATE (0-7: 1 left, "
			 "2 right, 4 middle)");
		return -1;
	}
	in->buttons = state;
	input_pointer_rel(in->m, 0, 0, in->buttons);
	return 0;
}

/* set_password vnc PASSWORD, change vnc password PASSWORD */
int mon_vnc_password(struct mon_input *in, const char *args, char *err, size_t errlen)
{
	char proto[16], pw[64];
	if (sscanf(args, "%15s %63s", proto, pw) != 2 || strcmp(proto, "vnc")) {
		snprintf(err, errlen, "usage: set_password vnc PASSWORD | change vnc password PASSWORD");
		return -1;
	}
	struct vnc_server *v = vnc_find(in->m);
	if (!v) {
		snprintf(err, errlen, "no VNC server (start qvm with -vnc)");
		return -1;
	}
	return vnc_set_password(v, pw, err, errlen);
}
