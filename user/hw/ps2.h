/*
 * The PS/2 keyboard and mouse behind the i8042 (i8042.c): what each device
 * sends back to the controller waits in its own queue, from which the
 * controller moves one byte at a time into its output buffer.  The
 * controller's lock covers both devices.
 *
 * References: the IBM PS/2 Hardware Interface Technical Reference
 * (keyboard and auxiliary device commands, scan code sets 1 and 2, the
 * mouse's data packet and status bytes), Microsoft's IntelliMouse
 * extensions (the sample-rate knock 200, 100, 80 and 200, 200, 80).
 */
#ifndef QVM_HW_PS2_H
#define QVM_HW_PS2_H

#include <stdbool.h>
#include <stdint.h>

struct state_buf;

#define PS2_QUEUE_SIZE 64
/* Room kept for command replies: input events never fill the queue
 * beyond PS2_QUEUE_SIZE - PS2_REPLY_ROOM, so a driver's command is
 * always answered. */
#define PS2_REPLY_ROOM 8

#define PS2_ACK 0xfa
#define PS2_RESEND 0xfe

struct ps2_queue {
	uint8_t data[PS2_QUEUE_SIZE];
	unsigned head, count;
};

void ps2_queue_clear(struct ps2_queue *q);
/* Add a byte (dropped, with a log line, when the queue is full). */
void ps2_queue_put(struct ps2_queue *q, uint8_t byte);
/* Room for n bytes of an input event (leaving PS2_REPLY_ROOM free). */
bool ps2_queue_has_room(const struct ps2_queue *q, unsigned n);
uint8_t ps2_queue_get(struct ps2_queue *q);
void ps2_queue_save(const struct ps2_queue *q, struct state_buf *s);
/* Reads into q; false when the saved count is impossible. */
bool ps2_queue_load(struct ps2_queue *q, struct state_buf *s);

/* ---- scan codes (ps2_keymap.c) ---- */

/* The longest sequence one key event sends (Pause: 8 bytes in set 2). */
#define PS2_SEQ_MAX 8
/* The bytes a Linux key code's make (down) or break code is in scan code
 * set 1 (set1 true) or 2; 0 for a key the keyboard does not have.
 * Pause has no break code (0 bytes for its release). */
unsigned ps2_key_sequence(unsigned linux_code, bool down, bool set1, uint8_t *out);

/* ---- the keyboard (ps2_kbd.c) ---- */

struct ps2_kbd {
	struct ps2_queue q;
	uint8_t pending;        /* command waiting for its parameter */
	uint8_t set;            /* scan code set 1..3 (3 sends set 2's codes) */
	uint8_t leds;           /* bit 0 scroll, 1 num, 2 caps lock */
	uint8_t typematic;      /* the 0xf3 parameter */
	bool scanning;
};

void ps2_kbd_reset(struct ps2_kbd *k);
/* The host wrote a byte to the keyboard; xlate: the controller translates
 * (its command byte's bit 6), which the keyboard reports in identify and
 * in its scan code set number. */
void ps2_kbd_write(struct ps2_kbd *k, uint8_t val, bool xlate);
/* A key went down or up: its scan codes, in set 1 when xlate (the
 * controller's translation of set 2 gives set 1) or set 1 is selected. */
void ps2_kbd_key(struct ps2_kbd *k, unsigned linux_code, bool down, bool xlate);
void ps2_kbd_save(const struct ps2_kbd *k, struct state_buf *s);
bool ps2_kbd_load(struct ps2_kbd *k, struct state_buf *s);

/* ---- the mouse (ps2_mouse.c) ---- */

enum ps2_mouse_type {
	PS2_MOUSE_PLAIN = 0,        /* 3-byte packets */
	PS2_MOUSE_IMPS2 = 3,        /* IntelliMouse: 4th byte, wheel */
	PS2_MOUSE_EXPLORER = 4,     /* IntelliMouse Explorer: wheel + buttons 4, 5 */
};

struct ps2_mouse {
	struct ps2_queue q;
	uint8_t pending;        /* command waiting for its parameter */
	uint8_t rate;           /* samples per second */
	uint8_t resolution;     /* 0..3: 1, 2, 4, 8 counts per mm */
	uint8_t type;           /* enum ps2_mouse_type: the id 0xf2 reports */
	uint8_t knock[3];       /* the last three sample rates set */
	bool remote;            /* remote mode (else stream) */
	bool reporting;         /* data reporting enabled (stream mode) */
	bool scale21;           /* 2:1 scaling */
	bool wrap;              /* wrap (echo) mode */
	uint8_t buttons;        /* left 1, right 2, middle 4 */
	int dx, dy, dz;         /* motion not yet reported */
	uint8_t prev_wheel;     /* INPUT_BUTTON_WHEEL_* held in the last event */
};

void ps2_mouse_reset(struct ps2_mouse *m);
void ps2_mouse_write(struct ps2_mouse *m, uint8_t val);
/* Motion (screen direction: dy > 0 is down) and the input.h buttons. */
void ps2_mouse_event(struct ps2_mouse *m, int dx, int dy, unsigned buttons);
void ps2_mouse_save(const struct ps2_mouse *m, struct state_buf *s);
bool ps2_mouse_load(struct ps2_mouse *m, struct state_buf *s);

#endif
