/*
 * Between a graphics device (the producer: VGA, bochs-display ...) and the
 * front ends that show its picture (the consumers: the SDL2 window, the VNC
 * server, the monitor's screendump).  One graphics device per machine.
 *
 * The device keeps its own frame (XRGB8888) and renders into it when asked
 * to refresh; front ends run on the main thread (user/mainloop.h) and ask
 * at their own rate.  Nothing here blocks a vCPU: the device's refresh
 * reads guest memory (VRAM, the text buffer) without stopping the guest,
 * as a real display controller scans out while the CPU writes.
 */
#ifndef QVM_UI_DISPLAY_H
#define QVM_UI_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;

struct display_frame {
	uint32_t width, height;     /* pixels; 0 x 0 before the guest sets a mode */
	uint32_t stride;            /* bytes from one line to the next */
	const uint32_t *pixels;     /* 0x00RRGGBB each, host byte order */
	uint64_t mode_generation;   /* bumps on every change of size or mode */
	/* Lines [dirty_y0, dirty_y1) changed since the previous refresh
	 * (whole frame after a mode change); empty when y0 == y1. */
	uint32_t dirty_y0, dirty_y1;
};

/* What the text screen shows, for tests and the monitor: rows of
 * characters (CP437 bytes as they are in the text buffer) and the cursor. */
struct display_text {
	unsigned cols, rows;
	unsigned cursor_col, cursor_row;
	bool cursor_visible;
	const uint8_t *chars;       /* rows * cols bytes, row by row */
};

struct display_device_ops {
	/* Render what changed since the last call into the device's frame
	 * and return it (valid until the next call).  Main thread only. */
	const struct display_frame *(*refresh)(void *opaque);
	/* The text screen when the device is in a text mode, else false.
	 * May be NULL (a graphics-only device). */
	bool (*text)(void *opaque, struct display_text *out);
};

struct display_frontend_ops {
	/* A new frame after display_refresh (only when something changed). */
	void (*update)(void *opaque, const struct display_frame *f);
	void (*close)(void *opaque);
};

/* The device side: one per machine; a second registration fails with a
 * message and returns -1. */
int display_register_device(struct machine *m, const struct display_device_ops *ops,
			    void *opaque);
/* The front-end side: each front end registers itself; display.c's refresh
 * timer (about 30 Hz while a front end is registered) calls the device's
 * refresh and hands a changed frame to every front end. */
int display_add_frontend(struct machine *m, const struct display_frontend_ops *ops,
			 void *opaque);
/* Refresh now and return the frame (NULL without a graphics device). */
const struct display_frame *display_refresh(struct machine *m);
/* The text screen, false when there is none (no device, graphics mode). */
bool display_get_text(struct machine *m, struct display_text *out);

/* Write the current frame as a PNG (libpng); 0, or -1 with a one-line
 * message in err. */
int display_screendump(struct machine *m, const char *path, char *err, size_t errlen);

#endif
