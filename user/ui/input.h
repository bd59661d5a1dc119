/*
 * Input events from front ends (SDL2, VNC, the monitor's sendkey) to the
 * guest's input devices (the i8042's PS/2 keyboard and mouse, a
 * virtio-tablet).  Keys are Linux input event codes
 * (<linux/input-event-codes.h>: KEY_A, KEY_LEFTCTRL ...), the one key
 * numbering every front end can map to and virtio-input uses as is; the
 * PS/2 keyboard translates them into its scancode set.
 *
 * Callable from the main thread (front ends run there); each device takes
 * its own lock.
 */
#ifndef QVM_UI_INPUT_H
#define QVM_UI_INPUT_H

#include <stdbool.h>
#include <stdint.h>

struct machine;

/* Buttons held, as a mask.  The wheel "buttons" are notches: a device
 * counts one each time the bit appears (a front end sets it for one event,
 * then clears it, as VNC clients send them). */
enum input_buttons {
	INPUT_BUTTON_LEFT = 1 << 0,
	INPUT_BUTTON_RIGHT = 1 << 1,
	INPUT_BUTTON_MIDDLE = 1 << 2,
	INPUT_BUTTON_WHEEL_UP = 1 << 3,
	INPUT_BUTTON_WHEEL_DOWN = 1 << 4,
};

/* The largest coordinate of an absolute pointer: positions are scaled
 * to [0, INPUT_ABS_MAX] over the display's width and height. */
#define INPUT_ABS_MAX 0x7fff

struct input_handler_ops {
	void (*key)(void *opaque, unsigned linux_code, bool down);
	/* Relative motion (PS/2 mouse) or absolute position (tablet); a
	 * handler leaves out the kind it does not take. */
	void (*rel)(void *opaque, int dx, int dy, unsigned buttons);
	void (*abs)(void *opaque, uint32_t x, uint32_t y, unsigned buttons);
};

/* The device side.  Keys go to every handler with a key op; pointer
 * events to the last registered handler that takes the kind (a tablet
 * added after the PS/2 mouse takes absolute events). */
int input_register_handler(struct machine *m, const struct input_handler_ops *ops, void *opaque);

/* The front-end side. */
void input_key(struct machine *m, unsigned linux_code, bool down);
void input_pointer_rel(struct machine *m, int dx, int dy, unsigned buttons);
/* x, y in [0, INPUT_ABS_MAX]; falls back to relative motion from the
 * previous position when no handler takes absolute events. */
void input_pointer_abs(struct machine *m, uint32_t x, uint32_t y, unsigned buttons);
/* True when some handler takes absolute events (no grab needed). */
bool input_has_abs(struct machine *m);

/* QEMU's key names for sendkey ("a", "ret", "ctrl", "alt", "delete", "f1",
 * "kp_add" ...) to Linux codes; 0 for an unknown name. */
unsigned input_key_by_name(const char *name);

#endif
