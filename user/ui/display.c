/*
 * The machine's display: its one graphics device, the front ends that
 * show the picture, the refresh timer that feeds them (about 30 Hz on the
 * main loop while a front end is registered), and the screendump (PNG
 * through libpng's simplified API).
 *
 * Every refresh, whoever asks for it (the timer, a screendump, a test),
 * adds the device's changed lines to a pending range; the timer hands the
 * frame to the front ends with that range, so that a screendump between
 * two ticks does not hide a change from them.
 */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "machine.h"
#include "mainloop.h"
#include "ui/display.h"

#define MAX_FRONTENDS 8
#define REFRESH_NS (1000000000ull / 30)

struct frontend {
	const struct display_frontend_ops *ops;
	void *opaque;
};

struct display {
	struct machine *m;
	const struct display_device_ops *dev;
	void *dev_opaque;
	struct frontend fe[MAX_FRONTENDS];
	unsigned nr_fe;
	struct timer *timer;
	/* changes not yet handed to the front ends */
	uint32_t pend_y0, pend_y1;
	uint64_t fe_generation;         /* the mode the front ends last got */
	bool fe_seen;                   /* they got a frame at all */
};

static void display_destroy(void *opaque)
{
	struct display *d = opaque;
	if (d->timer)
		timer_free(d->timer);
	for (unsigned i = 0; i < d->nr_fe; i++)
		if (d->fe[i].ops->close)
			d->fe[i].ops->close(d->fe[i].opaque);
	d->m->display = NULL;
	free(d);
}

/* Nothing to reset or save: the device and the front ends keep theirs. */
static const struct device_ops display_device_ops = {
	.name = "display",
	.destroy = display_destroy,
};

static struct display *display_get(struct machine *m)
{
	if (m->display)
		return m->display;
	struct display *d = calloc(1, sizeof(*d));
	if (!d) {
		qvm_error("display: out of memory");
		return NULL;
	}
	d->m = m;
	m->display = d;
	machine_add_device(m, &display_device_ops, d);
	return d;
}

int display_register_device(struct machine *m, const struct display_device_ops *ops,
			    void *opaque)
{
	struct display *d = display_get(m);
	if (!d)
		return -1;
	if (d->dev) {
		qvm_error("display: a machine has one graphics device; a second is not supported");
		return -1;
	}
	d->dev = ops;
	d->dev_opaque = opaque;
	return 0;
}

const struct display_frame *display_refresh(struct machine *m)
{
	struct display *d = m->display;
	if (!d || !d->dev)
		return NULL;
	const struct display_frame *f = d->dev->refresh(d->dev_opaque);
	if (f->dirty_y0 < f->dirty_y1) {
		if (d->pend_y0 == d->pend_y1) {
			d->pend_y0 = f->dirty_y0;
			d->pend_y1 = f->dirty_y1;
		} else {
			d->pend_y0 = f->dirty_y0 < d->pend_y0 ? f->dirty_y0 : d->pend_y0;
			d->pend_y1 = f->dirty_y1 > d->pend_y1 ? f->dirty_y1 : d->pend_y1;
		}
	}
	return f;
}

/* Refresh and give the front ends the frame when something changed. */
static void display_tick(void *opaque)
{
	struct display *d = opaque;
	const struct display_frame *f = display_refresh(d->m);
	if (f) {
		bool new_mode = !d->fe_seen || f->mode_generation != d->fe_generation;
		if (new_mode || d->pend_y0 < d->pend_y1) {
			struct display_frame out = *f;
			out.dirty_y0 = new_mode ? 0 : d->pend_y0;
			out.dirty_y1 = new_mode ? f->height : d->pend_y1;
			for (unsigned i = 0; i < d->nr_fe; i++)
				d->fe[i].ops->update(d->fe[i].opaque, &out);
			d->fe_generation = f->mode_generation;
			d->fe_seen = true;
			d->pend_y0 = d->pend_y1 = 0;
		}
	}
	timer_arm(d->timer, clock_ns() + REFRESH_NS);
}

int display_add_frontend(struct machine *m, const struct display_frontend_ops *ops,
			 void *opaque)
{
	struct display *d = display_get(m);
	if (!d)
		return -1;
	if (d->nr_fe == MAX_FRONTENDS) {
		qvm_error("display: too many front ends (at most %d)", MAX_FRONTENDS);
		return -1;
	}
	if (!d->timer && m->loop) {
		d->timer = timer_new(m->loop, display_tick, d);
		if (!d->timer) {
			qvm_error("display: out of memory");
			return -1;
		}
		timer_arm(d->timer, clock_ns());
	}
	d->fe[d->nr_fe++] = (struct frontend){ ops, opaque };
	d->fe_seen = false;     /* the new one needs a whole frame */
	return 0;
}

bool display_get_text(struct machine *m, struct display_text *out)
{
	struct display *d = m->display;
	if (!d || !d->dev || !d->dev->text)
		return false;
	return d->dev->text(d->dev_opaque, out);
}

int display_screendump(struct machine *m, const char *path, char *err, size_t errlen)
{
	const struct display_frame *f = display_refresh(m);
	if (!f) {
		snprintf(err, errlen, "no graphics device (add -vga std)");
		return -1;
	}
	if (!f->width || !f->height) {
		snprintf(err, errlen, "the display shows nothing yet (no video mode set)");
		return -1;
	}
	uint8_t *rgb = malloc((size_t)f->width * f->height * 3);
	if (!rgb) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint32_t y = 0; y < f->height; y++) {
		const uint32_t *src = (const uint32_t *)((const uint8_t *)f->pixels +
							 (size_t)y * f->stride);
		uint8_t *dst = rgb + (size_t)y * f->width * 3;
		for (uint32_t x = 0; x < f->width; x++) {
			dst[3 * x] = src[x] >> 16;
			dst[3 * x + 1] = src[x] >> 8;
			dst[3 * x + 2] = src[x];
		}
	}
	png_image img;
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	img.width = f->width;
	img.height = f->height;
	img.format = PNG_FORMAT_RGB;
	int ok = png_image_write_to_file(&img, path, 0, rgb, f->width * 3, NULL);
	free(rgb);
	if (!ok) {
		snprintf(err, errlen, "%s: %s", path, img.message);
		png_image_free(&img);
		return -1;
	}
	return 0;
}
