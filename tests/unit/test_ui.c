/*
 * The front ends' side of input: -vnc/-display/-device parsing
 * (options-ui.c), keysym and SDL scancode tables, the monitor's sendkey,
 * mouse_move and mouse_button (monitor/input-cmds.c) into a PS/2
 * keyboard and mouse, and the VNC server (ui/vnc.c) read by a small RFB
 * client, with a fake graphics device when this build has ui/display.c.
 */
#include <linux/input-event-codes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "unit.h"
#include "blktest.h"
#include "config.h"
#include "devtest.h"
#include "machine.h"
#include "mainloop.h"
#include "hw/hw.h"
#include "monitor/input-cmds.h"
#include "ui/display.h"
#include "ui/input.h"
#include "ui/ui.h"
#include "cmdline.h"

/* cmdline_parse() with "-bios /dev/null" first (its words stay in
 * cmdline_parse's static buffer, where the config may point) */
static int parse(struct config *c, const char *line)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "-bios /dev/null %s", line);
	return cmdline_parse(c, buf);
}

TEST(ui_options_vnc_display_and_input_devices)
{
	struct config c;
	CHECK_EQ(parse(&c, "-vnc :3"), 0);
	CHECK(c.ui.vnc && !strcmp(c.ui.vnc_host, "") && c.ui.vnc_display == 3);
	CHECK(!c.ui.vnc_password && c.ui.vnc_share == VNC_SHARE_ALLOW_EXCLUSIVE);
	CHECK_EQ(parse(&c, "-vnc 127.0.0.1:1,password=on,share=force-shared"), 0);
	CHECK(!strcmp(c.ui.vnc_host, "127.0.0.1") && c.ui.vnc_display == 1);
	CHECK(c.ui.vnc_password && c.ui.vnc_share == VNC_SHARE_FORCE_SHARED);
	CHECK_EQ(parse(&c, "-display vnc=unix:/tmp/x.sock,password"), 0);
	CHECK(c.ui.vnc && !strcmp(c.ui.vnc_unix, "/tmp/x.sock") && c.ui.vnc_password);
	CHECK_EQ(parse(&c, "-display sdl"), 0);
	CHECK(c.ui.sdl && !c.ui.vnc && !c.display_none);
	CHECK_EQ(parse(&c, "-display none"), 0);
	CHECK(c.display_none && !c.ui.sdl);
	CHECK_EQ(parse(&c, "-device virtio-tablet-pci -device virtio-keyboard-pci,id=k"), 0);
	CHECK_EQ(c.ui.nr_input_devs, 2);
	CHECK_EQ(c.ui.input_devs[0], VIRTIO_INPUT_TABLET);
	CHECK_EQ(c.ui.input_devs[1], VIRTIO_INPUT_KEYBOARD);
	blktest_stderr_begin();
	int bad = parse(&c, "-vnc 0") + parse(&c, "-vnc :x") + parse(&c, "-vnc :99999") +
		  parse(&c, "-vnc :1,share=maybe") + parse(&c, "-vnc :1,lossy=on") +
		  parse(&c, "-vnc [::1]:1") + parse(&c, "-display gtk") +
		  parse(&c, "-display sdl,gl=on") + parse(&c, "-device virtio-mouse-pci,bus=x") +
		  parse(&c, "-vnc unix:");
	int lines;
	blktest_stderr_end(&lines);
	CHECK_EQ(bad, -10);
	CHECK_EQ(lines, 10);
}

TEST(ui_keysyms_and_sdl_scancodes)
{
	CHECK_EQ(keysym_to_linux('a'), KEY_A);
	CHECK_EQ(keysym_to_linux('Q'), KEY_Q);
	CHECK_EQ(keysym_to_linux('!'), KEY_1);
	CHECK_EQ(keysym_to_linux('~'), KEY_GRAVE);
	CHECK_EQ(keysym_to_linux(' '), KEY_SPACE);
	CHECK_EQ(keysym_to_linux(0xff0d), KEY_ENTER);
	CHECK_EQ(keysym_to_linux(0xffbe), KEY_F1);
	CHECK_EQ(keysym_to_linux(0xffc9), KEY_F12);
	CHECK_EQ(keysym_to_linux(0xffe3), KEY_LEFTCTRL);
	CHECK_EQ(keysym_to_linux(0xff9f), KEY_KPDOT);
	CHECK_EQ(keysym_to_linux(0x20ac), 0);    /* the euro sign: no key */
	CHECK_EQ(sdl_scancode_to_linux(4), KEY_A);        /* SDL_SCANCODE_A (HID 0x04) */
	CHECK_EQ(sdl_scancode_to_linux(40), KEY_ENTER);
	CHECK_EQ(sdl_scancode_to_linux(224), KEY_LEFTCTRL);
	CHECK_EQ(sdl_scancode_to_linux(100000), 0);
	/* every key name sendkey knows has a scan code */
	static const char *const names[] = { "a", "shift", "ctrl_r", "kp_enter", "delete", "f12",
					     "pause", "print", "meta_l", "menu", "less" };
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint8_t seq[8];
		unsigned code = input_key_by_name(names[i]);
		CHECK(code != 0);
		extern unsigned ps2_key_sequence(unsigned, bool, bool, uint8_t *);
		CHECK(ps2_key_sequence(code, true, false, seq) > 0);
	}
	CHECK_EQ(input_key_by_name("nosuchkey"), 0);
}

/* ---- the monitor's input commands into the i8042 ---- */

static unsigned drain(struct machine *m, uint8_t *out, unsigned max)
{
	unsigned n = 0;
	while ((pio_in(m, 0x64, 1) & 1) && n < max)
		out[n++] = pio_in(m, 0x60, 1);
	return n;
}

TEST(ui_monitor_sendkey_and_mouse)
{
	struct fake_irq irq;
	struct machine *m = fake_irq_machine(&irq);
	CHECK(m && i8042_new(m));
	struct mon_input in;
	mon_input_init(&in, m);
	char err[256];
	uint8_t b[32];
	CHECK_EQ(mon_sendkey(&in, " shift-a", err, sizeof(err)), 0);
	static const uint8_t shift_a[] = { 0x2a, 0x1e, 0x9e, 0xaa };  /* released in reverse */
	CHECK_EQ(drain(m, b, sizeof(b)), 4);
	CHECK(!memcmp(b, shift_a, 4));
	CHECK_EQ(mon_sendkey(&in, " ctrl-alt-delete 10", err, sizeof(err)), 0);
	static const uint8_t cad[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
	CHECK_EQ(drain(m, b, sizeof(b)), 8);
	CHECK(!memcmp(b, cad, 8));
	CHECK_EQ(mon_sendkey(&in, " ctrl-bogus", err, sizeof(err)), -1);
	CHECK(strstr(err, "unknown key 'bogus'"));
	CHECK_EQ(mon_sendkey(&in, " a--b", err, sizeof(err)), -1);
	CHECK_EQ(mon_sendkey(&in, " a 99999999", err, sizeof(err)), -1);
	CHECK_EQ(mon_sendkey(&in, "", err, sizeof(err)), -1);
	CHECK_EQ(drain(m, b, sizeof(b)), 0);
	/* the mouse: enable it, then move and press */
	pio_out(m, 0x64, 0xd4, 1);
	pio_out(m, 0x60, 0xf4, 1);
	CHECK_EQ(drain(m, b, sizeof(b)), 1);
	CHECK_EQ(mon_mouse_move(&in, " 5 -3", err, sizeof(err)), 0);
	CHECK_EQ(mon_mouse_button(&in, " 1", err, sizeof(err)), 0);
	static const uint8_t moves[] = { 0x08, 0x05, 0x03, 0x09, 0x00, 0x00 };
	CHECK_EQ(drain(m, b, sizeof(b)), 6);
	CHECK(!memcmp(b, moves, 6));
	CHECK_EQ(mon_mouse_move(&in, " 1", err, sizeof(err)), -1);
	CHECK_EQ(mon_mouse_button(&in, " 9", err, sizeof(err)), -1);
	CHECK_EQ(mon_vnc_password(&in, " vnc x", err, sizeof(err)), -1);
	CHECK(strstr(err, "no VNC server"));
	mon_input_destroy(&in);
	machine_free(m);
}

/* ---- the VNC server, read by a minimal RFB client ---- */

struct fake_gfx {
	uint32_t pixels[64 * 48];
	struct display_frame frame;
	bool refreshed;
};

static const struct display_frame *fake_refresh(void *opaque)
{
	struct fake_gfx *g = opaque;
	g->frame.dirty_y0 = 0;
	g->frame.dirty_y1 = g->refreshed ? 0 : g->frame.height;
	g->refreshed = true;
	return &g->frame;
}

static const struct display_device_ops fake_gfx_ops = { .refresh = fake_refresh };

struct vrig {
	struct machine *m;
	int fd;
	char path[108];
};

/* The client runs in a thread of its own (the server writes whole
 * updates, blocking, from the main loop the test thread runs). */
static bool vrecv(struct vrig *r, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = recv(r->fd, (uint8_t *)buf + got, n - got, 0);
		if (k <= 0)
			return false;
		got += k;
	}
	return true;
}

static bool vsend(struct vrig *r, const void *buf, size_t n)
{
	return send(r->fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n;
}

static bool vrig_start(struct vrig *r, struct fake_gfx *g)
{
	memset(r, 0, sizeof(*r));
	r->m = machine_new(16 * MiB);
	if (!r->m)
		return false;
	r->m->loop = mainloop_new();
	if (g) {
		memset(g, 0, sizeof(*g));
		for (unsigned i = 0; i < 64 * 48; i++)
			g->pixels[i] = 0x00102030u + i;
		g->frame = (struct display_frame){ .width = 64, .height = 48, .stride = 64 * 4,
						   .pixels = g->pixels, .mode_generation = 1 };
		if (display_register_device(r->m, &fake_gfx_ops, g) < 0)
			return false;
	}
	struct ui_cfg cfg = { .vnc = true };
	snprintf(r->path, sizeof(r->path), "/tmp/qvm-unit-vnc.%d.sock", (int)getpid());
	cfg.vnc_unix = r->path;
	if (!vnc_start(r->m, &cfg))
		return false;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, r->path);
	r->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return r->fd >= 0 && connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

struct client_job {
	struct vrig *r;
	bool (*fn)(struct client_job *j);
	unsigned w, h;
	uint32_t *fb;
	bool ok, done;
};

static void *client_thread(void *opaque)
{
	struct client_job *j = opaque;
	j->ok = j->fn(j);
	__atomic_store_n(&j->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Run j->fn in a client thread while the server's loop runs here. */
static bool run_client(struct client_job *j)
{
	pthread_t t;
	if (pthread_create(&t, NULL, client_thread, j))
		return false;
	for (int i = 0; i < 5000 && !__atomic_load_n(&j->done, __ATOMIC_ACQUIRE); i++)
		mainloop_run_once(j->r->m->loop, 2);
	if (!__atomic_load_n(&j->done, __ATOMIC_ACQUIRE))
		shutdown(j->r->fd, SHUT_RDWR);  /* unblock it */
	pthread_join(t, NULL);
	return j->ok;
}

static void vrig_free(struct vrig *r)
{
	if (r->fd > 0)
		close(r->fd);
	if (!r->m)
		return;
	struct mainloop *l = r->m->loop;
	machine_free(r->m);
	mainloop_free(l);
}

/* Handshake (security None); the size the server announces. */
static bool rfb_login(struct vrig *r, unsigned *w, unsigned *h)
{
	uint8_t b[64];
	if (!vrecv(r, b, 12) || memcmp(b, "RFB 003.00", 10) || !vsend(r, "RFB 003.008\n", 12))
		return false;
	if (!vrecv(r, b, 1) || b[0] == 0 || !vrecv(r, b + 1, b[0]) || !memchr(b + 1, 1, b[0]))
		return false;
	uint8_t one = 1;
	if (!vsend(r, &one, 1) || !vrecv(r, b, 4) || b[0] | b[1] | b[2] | b[3])
		return false;
	if (!vsend(r, &one, 1) || !vrecv(r, b, 24))            /* ClientInit: shared */
		return false;
	*w = b[0] << 8 | b[1];
	*h = b[2] << 8 | b[3];
	uint32_t nlen = (uint32_t)b[20] << 24 | b[21] << 16 | b[22] << 8 | b[23];
	if (nlen > sizeof(b) || !vrecv(r, b, nlen))
		return false;
	/* 32 bpp, depth 24, little endian, true colour, 0x00RRGGBB */
	static const uint8_t fmt[20] = { 0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255,
					 16, 8, 0, 0, 0, 0 };
	static const uint8_t enc[8] = { 2, 0, 0, 1, 0, 0, 0, 0 };      /* raw */
	return vsend(r, fmt, sizeof(fmt)) && vsend(r, enc, sizeof(enc));
}

/* A whole-screen update into fb (w x h); false on a protocol error. */
static bool rfb_update(struct vrig *r, unsigned w, unsigned h, uint32_t *fb)
{
	uint8_t req[10] = { 3, 0, 0, 0, 0, 0, w >> 8, w, h >> 8, h };
	uint8_t b[16];
	if (!vsend(r, req, sizeof(req)) || !vrecv(r, b, 4) || b[0] != 0)
		return false;
	unsigned rects = b[2] << 8 | b[3];
	for (unsigned i = 0; i < rects; i++) {
		if (!vrecv(r, b, 12) || b[8] | b[9] | b[10] | b[11])
			return false;
		unsigned x = b[0] << 8 | b[1], y = b[2] << 8 | b[3];
		unsigned rw = b[4] << 8 | b[5], rh = b[6] << 8 | b[7];
		if (x + rw > w || y + rh > h)
			return false;
		for (unsigned row = 0; row < rh; row++)
			if (!vrecv(r, fb + (size_t)(y + row) * w + x, rw * 4))
				return false;
	}
	return true;
}

/* login, a whole-screen update, then 'z' down and up */
static bool blank_client(struct client_job *j)
{
	if (!rfb_login(j->r, &j->w, &j->h) || j->w != 640 || j->h != 480)
		return false;
	memset(j->fb, 0x55, 640 * 480 * 4);
	if (!rfb_update(j->r, j->w, j->h, j->fb))
		return false;
	uint8_t key[8] = { 4, 1, 0, 0, 0, 0, 0, 'z' };
	if (!vsend(j->r, key, 8))
		return false;
	key[1] = 0;
	return vsend(j->r, key, 8);
}

TEST(ui_vnc_blank_screen_and_keys_without_a_display)
{
	struct vrig r;
	CHECK(vrig_start(&r, NULL));
	CHECK(i8042_new(r.m));
	struct client_job j = { .r = &r, .fn = blank_client, .fb = malloc(640 * 480 * 4) };
	CHECK(j.fb);
	CHECK(run_client(&j));
	for (unsigned i = 0; i < 640 * 480; i++)
		CHECK_EQ(j.fb[i], 0);
	free(j.fb);
	/* the KeyEvents reached the PS/2 keyboard */
	uint8_t b[8];
	unsigned n = 0;
	for (int i = 0; i < 500 && n < 2; i++) {
		mainloop_run_once(r.m->loop, 2);
		n += drain(r.m, b + n, 2 - n);
	}
	CHECK_EQ(n, 2);
	CHECK_EQ(b[0], 0x2c);
	CHECK_EQ(b[1], 0xac);
	CHECK(vnc_find(r.m) != NULL);
	char err[128];
	CHECK_EQ(vnc_set_password(vnc_find(r.m), "pw", err, sizeof(err)), -1); /* no password=on */
	vrig_free(&r);
}

static bool frame_client(struct client_job *j)
{
	return rfb_login(j->r, &j->w, &j->h) && j->w == 64 && j->h == 48 &&
	       rfb_update(j->r, j->w, j->h, j->fb);
}

TEST(ui_vnc_shows_the_graphics_device_frame)
{
	struct vrig r;
	struct fake_gfx *g = calloc(1, sizeof(*g));
	CHECK(g);
	CHECK(vrig_start(&r, g));
	/* the display's refresh timer resizes the server to the device */
	for (int i = 0; i < 100; i++)
		mainloop_run_once(r.m->loop, 5);
	uint32_t fb[64 * 48];
	struct client_job j = { .r = &r, .fn = frame_client, .fb = fb };
	CHECK(run_client(&j));
	CHECK_EQ(j.w, 64);
	CHECK_EQ(j.h, 48);
	CHECK(!memcmp(fb, g->pixels, sizeof(fb)));
	vrig_free(&r);
	free(g);
}
