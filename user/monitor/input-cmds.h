/*
 * The monitor's input commands (input-cmds.c): sendkey, mouse_move,
 * mouse_button, as QEMU's human monitor has them; the VNC password.
 */
#ifndef QVM_MONITOR_INPUT_CMDS_H
#define QVM_MONITOR_INPUT_CMDS_H

#include <stddef.h>

struct machine;
struct timer;

#define MON_KEYS_MAX 16

struct mon_input {
	struct machine *m;
	struct timer *release;          /* lets go of the held keys */
	unsigned held[MON_KEYS_MAX];    /* Linux codes, in the order pressed */
	unsigned nheld;
	unsigned buttons;               /* ui/input.h buttons, for mouse_move */
};

void mon_input_init(struct mon_input *in, struct machine *m);
/* Releases what is still held and frees the timer. */
void mon_input_destroy(struct mon_input *in);
/* Each returns 0, or -1 with a one-line message in err. */
int mon_sendkey(struct mon_input *in, const char *args, char *err, size_t errlen);
int mon_mouse_move(struct mon_input *in, const char *args, char *err, size_t errlen);
int mon_mouse_button(struct mon_input *in, const char *args, char *err, size_t errlen);
/* "vnc PASSWORD" (set_password's arguments, and change's after
 * "vnc password" became "vnc") */
int mon_vnc_password(struct mon_input *in, const char *args, char *err, size_t errlen);

#endif
