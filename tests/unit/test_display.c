/*
 * ui/display.c: one graphics device per machine, front ends fed by the
 * refresh timer with the lines that changed (also across a screendump
 * between two ticks), and screendump's PNG read back with libpng.
 */
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "unit.h"
#include "machine.h"
#include "mainloop.h"
#include "ui/display.h"

/* A fake device: a 4x3 frame whose pixels and dirty range the test sets. */
struct fake_dev {
	uint32_t pixels[12];
	struct display_frame f;
	unsigned refreshes;
	uint32_t next_y0, next_y1;
};

static const struct display_frame *fake_refresh(void *opaque)
{
	struct fake_dev *d = opaque;
	d->refreshes++;
	d->f.dirty_y0 = d->next_y0;
	d->f.dirty_y1 = d->next_y1;
	d->next_y0 = d->next_y1 = 0;
	return &d->f;
}

static const struct display_device_ops fake_ops = { .refresh = fake_refresh };

static void fake_init(struct fake_dev *d)
{
	memset(d, 0, sizeof(*d));
	for (unsigned i = 0; i < 12; i++)
		d->pixels[i] = 0x010203 * i;
	d->f = (struct display_frame){ .width = 4, .height = 3, .stride = 16,
				       .pixels = d->pixels, .mode_generation = 1 };
}

struct fake_fe {
	unsigned updates, closes;
	uint32_t y0, y1, width;
};

static void fe_update(void *opaque, const struct display_frame *f)
{
	struct fake_fe *fe = opaque;
	fe->updates++;
	fe->y0 = f->dirty_y0;
	fe->y1 = f->dirty_y1;
	fe->width = f->width;
}

static void fe_close(void *opaque)
{
	struct fake_fe *fe = opaque;
	fe->closes++;
}

static const struct display_frontend_ops fe_ops = { .update = fe_update, .close = fe_close };

TEST(display_one_device_and_no_device_answers)
{
	struct machine *m = machine_new(16 * MiB);
	CHECK(m);
	struct display_text t;
	char err[128];
	CHECK(!display_refresh(m));
	CHECK(!display_get_text(m, &t));
	CHECK_EQ(display_screendump(m, "/tmp/never.png", err, sizeof(err)), -1);
	CHECK(strstr(err, "no graphics device"));
	struct fake_dev d;
	fake_init(&d);
	CHECK_EQ(display_register_device(m, &fake_ops, &d), 0);
	CHECK_EQ(display_register_device(m, &fake_ops, &d), -1);
	CHECK(!display_get_text(m, &t));        /* the device has no text op */
	CHECK(display_refresh(m) == &d.f);
	machine_free(m);
}

static void run_ticks(struct mainloop *l, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		mainloop_run_once(l, 50);
}

TEST(display_timer_feeds_front_ends_what_changed)
{
	struct mainloop *l = mainloop_new();
	struct machine *m = machine_new(16 * MiB);
	CHECK(l && m);
	m->loop = l;
	struct fake_dev d;
	fake_init(&d);
	struct fake_fe fe = { 0 };
	CHECK_EQ(display_register_device(m, &fake_ops, &d), 0);
	CHECK_EQ(display_add_frontend(m, &fe_ops, &fe), 0);
	run_ticks(l, 3);
	CHECK_EQ(fe.updates, 1);                /* the whole first frame, once */
	CHECK_EQ(fe.y0, 0);
	CHECK_EQ(fe.y1, 3);
	CHECK_EQ(fe.width, 4);
	CHECK(d.refreshes >= 2);                /* it keeps refreshing */
	/* a change seen by a screendump's refresh still reaches the front end */
	d.next_y0 = 1, d.next_y1 = 2;
	display_refresh(m);
	run_ticks(l, 3);
	CHECK_EQ(fe.updates, 2);
	CHECK_EQ(fe.y0, 1);
	CHECK_EQ(fe.y1, 2);
	/* a new mode: the whole frame */
	d.f.mode_generation++;
	run_ticks(l, 3);
	CHECK_EQ(fe.updates, 3);
	CHECK_EQ(fe.y1, 3);
	machine_free(m);
	CHECK_EQ(fe.closes, 1);
	mainloop_free(l);
}

TEST(display_screendump_writes_a_png_libpng_reads_back)
{
	struct machine *m = machine_new(16 * MiB);
	CHECK(m);
	struct fake_dev d;
	fake_init(&d);
	d.pixels[5] = 0xff8000;
	CHECK_EQ(display_register_device(m, &fake_ops, &d), 0);
	char path[] = "/tmp/qvm-dump-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	char err[256] = "";
	CHECK_EQ(display_screendump(m, path, err, sizeof(err)), 0);
	png_image img;
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	CHECK(png_image_begin_read_from_file(&img, path));
	CHECK_EQ(img.width, 4);
	CHECK_EQ(img.height, 3);
	img.format = PNG_FORMAT_RGB;
	uint8_t rgb[4 * 3 * 3];
	CHECK(png_image_finish_read(&img, NULL, rgb, 0, NULL));
	unlink(path);
	for (unsigned i = 0; i < 12; i++) {
		uint32_t p = rgb[3 * i] << 16 | rgb[3 * i + 1] << 8 | rgb[3 * i + 2];
		CHECK_EQ(p, d.pixels[i]);
	}
	/* a path that cannot be written: a message, no file */
	CHECK_EQ(display_screendump(m, "/nonexistent-dir/x.png", err, sizeof(err)), -1);
	CHECK(strstr(err, "/nonexistent-dir/x.png"));
	/* no mode yet */
	d.f.width = d.f.height = 0;
	CHECK_EQ(display_screendump(m, path, err, sizeof(err)), -1);
	CHECK(strstr(err, "no video mode"));
	CHECK(access(path, F_OK) < 0);
	machine_free(m);
}
