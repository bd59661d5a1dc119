/*
 * The VNC server (-vnc, -display vnc=): libvncserver speaks RFB (RFC
 * 6143); qvm gives it the display's frame (only the lines that changed)
 * and takes its key and pointer events to the input router.
 *
 * Everything runs on the main thread: a main-loop timer lets libvncserver
 * accept clients and handle their messages (rfbProcessEvents with no
 * wait), so its callbacks and the display's updates never race.  A unix
 * socket (unix:PATH) is qvm's own listener handing each connection to
 * libvncserver.  VNC authentication (password=on) uses the password the
 * monitor sets; until one is set nobody can log in, as in QEMU.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <rfb/rfb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "config.h"
#include "machine.h"
#include "mainloop.h"
#include "ui/display.h"
#include "ui/input.h"
#include "ui/ui.h"

#define VNC_PORT_BASE 5900
#define VNC_POLL_NS 10000000ull         /* 10 ms */
#define VNC_DEFAULT_W 640
#define VNC_DEFAULT_H 480

struct vnc_server {
	struct machine *m;
	rfbScreenInfoPtr screen;
	uint32_t *fb;
	uint32_t width, height;
	struct timer *poll;
	bool password_on;
	char password[9];               /* VNC authentication uses 8 bytes */
	bool password_set;
	int port;                       /* -1: a unix socket */
	int unix_fd;
	char unix_path[108];
	/* the pointer as the client last sent it */
	int last_x, last_y;
	bool have_pos;
};

/* ---- frames from the display ---- */

static uint32_t server_pixel(const rfbPixelFormat *f, uint32_t xrgb)
{
	uint32_t r = (xrgb >> 16) & 0xff, g = (xrgb >> 8) & 0xff, b = xrgb & 0xff;
	return r << f->redShift | g << f->greenShift | b << f->blueShift;
}

static int vnc_resize(struct vnc_server *v, uint32_t w, uint32_t h)
{
	uint32_t *fb = calloc((size_t)w * h, 4);
	if (!fb) {
		qvm_log(LOG_GUEST_ERRORS, "vnc: no memory for a %ux%u frame", w, h);
		return -1;
	}
	rfbNewFramebuffer(v->screen, (char *)fb, w, h, 8, 3, 4);
	free(v->fb);
	v->fb = fb;
	v->width = w;
	v->height = h;
	return 0;
}

static void vnc_update(void *opaque, const struct display_frame *f)
{
	struct vnc_server *v = opaque;
	if (!f->width || !f->height)
		return;
	if ((f->width != v->width || f->height != v->height) && vnc_resize(v, f->width, f->height) < 0)
		return;
	uint32_t y0 = f->dirty_y0, y1 = f->dirty_y1 < f->height ? f->dirty_y1 : f->height;
	const rfbPixelFormat *fmt = &v->screen->serverFormat;
	for (uint32_t y = y0; y < y1; y++) {
		const uint32_t *src = (const uint32_t *)((const uint8_t *)f->pixels +
							 (size_t)y * f->stride);
		uint32_t *dst = v->fb + (size_t)y * v->width;
		for (uint32_t x = 0; x < f->width; x++)
			dst[x] = server_pixel(fmt, src[x]);
	}
	if (y0 < y1)
		rfbMarkRectAsModified(v->screen, 0, y0, v->width, y1);
}

static const struct display_frontend_ops vnc_frontend_ops = {
	.update = vnc_update,
};

/* ---- events from the clients ---- */

static void vnc_key(rfbBool down, rfbKeySym sym, rfbClientPtr cl)
{
	struct vnc_server *v = cl->screen->screenData;
	unsigned code = keysym_to_linux(sym);
	if (code)
		input_key(v->m, code, down);
	else
		qvm_log(LOG_UNIMP, "vnc: keysym 0x%x has no key", (unsigned)sym);
}

/* RFB's button mask: 1 left, 2 middle, 4 right, 8 wheel up, 16 down. */
static unsigned vnc_buttons(int mask)
{
	return (mask & 1 ? INPUT_BUTTON_LEFT : 0) | (mask & 2 ? INPUT_BUTTON_MIDDLE : 0) |
	       (mask & 4 ? INPUT_BUTTON_RIGHT : 0) | (mask & 8 ? INPUT_BUTTON_WHEEL_UP : 0) |
	       (mask & 16 ? INPUT_BUTTON_WHEEL_DOWN : 0);
}

static uint32_t scale_abs(int pos, uint32_t size)
{
	if (pos <= 0 || size < 2)
		return 0;
	if ((uint32_t)pos >= size - 1)
		return INPUT_ABS_MAX;
	return (uint64_t)pos * INPUT_ABS_MAX / (size - 1);
}

static void vnc_pointer(int mask, int x, int y, rfbClientPtr cl)
{
	struct vnc_server *v = cl->screen->screenData;
	unsigned buttons = vnc_buttons(mask);
	if (input_has_abs(v->m)) {
		input_pointer_abs(v->m, scale_abs(x, v->width), scale_abs(y, v->height), buttons);
	} else {
		int dx = v->have_pos ? x - v->last_x : 0, dy = v->have_pos ? y - v->last_y : 0;
		input_pointer_rel(v->m, dx, dy, buttons);
	}
	v->last_x = x;
	v->last_y = y;
	v->have_pos = true;
}

static rfbBool vnc_check_password(rfbClientPtr cl, const char *response, int len)
{
	struct vnc_server *v = cl->screen->screenData;
	if (!v->password_set || len != CHALLENGESIZE)
		return FALSE;
	unsigned char expect[CHALLENGESIZE];
	memcpy(expect, cl->authChallenge, CHALLENGESIZE);
	rfbEncryptBytes(expect, v->password);
	return memcmp(expect, response, CHALLENGESIZE) == 0;
}

static void vnc_poll(void *opaque)
{
	struct vnc_server *v = opaque;
	rfbProcessEvents(v->screen, 0);
	timer_arm(v->poll, clock_ns() + VNC_POLL_NS);
}

/* ---- listening ---- */

static void vnc_accept(void *opaque, int fd, uint32_t events)
{
	struct vnc_server *v = opaque;
	(void)events;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c >= 0 && !rfbNewClient(v->screen, c))
		close(c);
}

static int vnc_listen_unix(struct vnc_server *v, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		qvm_error("-vnc unix:%s: path too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0 ||
	    mainloop_add_fd(v->m->loop, fd, EPOLLIN, vnc_accept, v) < 0) {
		qvm_error("-vnc unix:%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	v->unix_fd = fd;
	strcpy(v->unix_path, path);
	return 0;
}

/* The IPv4 address of host ("" : every address). */
static int vnc_resolve(const char *host, in_addr_t *out)
{
	if (!*host) {
		*out = htonl(INADDR_ANY);
		return 0;
	}
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
	int err = getaddrinfo(host, NULL, &hints, &res);
	if (err) {
		qvm_error("-vnc %s: %s", host, gai_strerror(err));
		return -1;
	}
	*out = ((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr;
	freeaddrinfo(res);
	return 0;
}

/* ---- the server as a machine device (freed with the machine) ---- */

static void vnc_destroy(void *opaque)
{
	struct vnc_server *v = opaque;
	if (v->poll)
		timer_free(v->poll);
	if (v->unix_fd >= 0) {
		mainloop_remove_fd(v->m->loop, v->unix_fd);
		close(v->unix_fd);
		unlink(v->unix_path);
	}
	if (v->screen) {
		rfbShutdownServer(v->screen, TRUE);
		rfbScreenCleanup(v->screen);
	}
	free(v->fb);
	free(v);
}

static const struct device_ops vnc_device_ops = {
	.name = "vnc",
	.destroy = vnc_destroy,
};

struct vnc_server *vnc_find(struct machine *m)
{
	for (struct device *d = m->devices; d; d = d->next)
		if (d->ops == &vnc_device_ops)
			return d->dev;
	return NULL;
}

static void vnc_configure(struct vnc_server *v, const struct ui_cfg *cfg, in_addr_t addr)
{
	rfbScreenInfoPtr s = v->screen;
	s->screenData = v;
	s->frameBuffer = (char *)v->fb;
	s->desktopName = v->m->cfg && v->m->cfg->name ? v->m->cfg->name : "qvm";
	s->cursor = NULL;               /* the guest draws its own */
	s->kbdAddEvent = vnc_key;
	s->ptrAddEvent = vnc_pointer;
	s->alwaysShared = cfg->vnc_share != VNC_SHARE_ALLOW_EXCLUSIVE;
	if (cfg->vnc_password) {
		s->authPasswdData = v;  /* offers VNC authentication */
		s->passwordCheck = vnc_check_password;
	}
	s->autoPort = FALSE;
	s->ipv6port = 0;
	s->httpPort = 0;
	s->port = cfg->vnc_unix ? 0 : VNC_PORT_BASE + (int)cfg->vnc_display;
	s->listenInterface = addr;
}

struct vnc_server *vnc_start(struct machine *m, const struct ui_cfg *cfg)
{
	in_addr_t addr = 0;
	if (!cfg->vnc_unix && vnc_resolve(cfg->vnc_host, &addr) < 0)
		return NULL;
	struct vnc_server *v = calloc(1, sizeof(*v));
	if (!v || !(v->fb = calloc(VNC_DEFAULT_W * VNC_DEFAULT_H, 4))) {
		qvm_error("vnc: out of memory");
		free(v);
		return NULL;
	}
	v->m = m;
	v->unix_fd = -1;
	v->width = VNC_DEFAULT_W;
	v->height = VNC_DEFAULT_H;
	v->password_on = cfg->vnc_password;
	rfbLogEnable(0);
	v->screen = rfbGetScreen(NULL, NULL, VNC_DEFAULT_W, VNC_DEFAULT_H, 8, 3, 4);
	machine_add_device(m, &vnc_device_ops, v); /* freed with the machine from here */
	if (!v->screen) {
		qvm_error("vnc: cannot create the server");
		return NULL;
	}
	vnc_configure(v, cfg, addr);
	rfbInitServer(v->screen);
	if (cfg->vnc_unix) {
		v->port = -1;
		if (vnc_listen_unix(v, cfg->vnc_unix) < 0)
			return NULL;
	} else {
		v->port = v->screen->port;
		if (v->screen->listenSock == RFB_INVALID_SOCKET) {
			qvm_error("-vnc %s:%u: cannot listen on TCP port %d", cfg->vnc_host,
				  cfg->vnc_display, v->port);
			return NULL;
		}
	}
	v->poll = timer_new(m->loop, vnc_poll, v);
	if (!v->poll || display_add_frontend(m, &vnc_frontend_ops, v) < 0)
		return NULL;
	timer_arm(v->poll, clock_ns());
	return v;
}

int vnc_set_password(struct vnc_server *v, const char *password, char *err, size_t errlen)
{
	if (!v->password_on) {
		snprintf(err, errlen, "the VNC server was started without password=on");
		return -1;
	}
	snprintf(v->password, sizeof(v->password), "%s", password);
	v->password_set = true;
	return 0;
}

int vnc_port(const struct vnc_server *v)
{
	return v->port;
}
