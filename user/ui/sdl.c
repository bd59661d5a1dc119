/*
 * The SDL2 window (-display sdl): the display's frame scaled to the
 * window, keys by SDL scancode (the key's position, as PS/2 and Linux
 * number them), and the mouse: absolute when a tablet takes it (no grab),
 * else relative motion while the window holds the mouse (a click grabs,
 * ctrl-alt-g lets go).  Closing the window quits, as in QEMU.
 *
 * SDL runs on the main thread: a main-loop timer polls its events and the
 * display's updates come from the main loop too.
 */
#include <SDL2/SDL.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "machine.h"
#include "mainloop.h"
#include "ui/display.h"
#include "ui/input.h"
#include "ui/ui.h"

#define SDL_POLL_NS 10000000ull         /* 10 ms */
#define SDL_DEFAULT_W 640
#define SDL_DEFAULT_H 480

struct sdl_ui {
	struct machine *m;
	SDL_Window *win;
	SDL_Renderer *ren;
	SDL_Texture *tex;
	uint32_t width, height;         /* the frame's size */
	struct timer *poll;
	bool grabbed;
	bool hotkey_down;               /* ctrl-alt-g's G is down: its release is ours too */
	unsigned buttons;
	char title[128];
};

static void sdl_set_title(struct sdl_ui *s)
{
	char t[192];
	snprintf(t, sizeof(t), "%s%s", s->title,
		 s->grabbed ? " - Press Ctrl-Alt-G to exit grab" : "");
	SDL_SetWindowTitle(s->win, t);
}

static void sdl_render(struct sdl_ui *s)
{
	SDL_SetRenderDrawColor(s->ren, 0, 0, 0, 255);
	SDL_RenderClear(s->ren);
	if (s->tex)
		SDL_RenderCopy(s->ren, s->tex, NULL, NULL);  /* scaled to the window */
	SDL_RenderPresent(s->ren);
}

static int sdl_resize(struct sdl_ui *s, uint32_t w, uint32_t h)
{
	SDL_Texture *t = SDL_CreateTexture(s->ren, SDL_PIXELFORMAT_RGB888,
					   SDL_TEXTUREACCESS_STREAMING, w, h);
	if (!t) {
		qvm_log(LOG_GUEST_ERRORS, "sdl: no %ux%u texture: %s", w, h, SDL_GetError());
		return -1;
	}
	if (s->tex)
		SDL_DestroyTexture(s->tex);
	s->tex = t;
	s->width = w;
	s->height = h;
	SDL_SetWindowSize(s->win, w, h);
	return 0;
}

static void sdl_update(void *opaque, const struct display_frame *f)
{
	struct sdl_ui *s = opaque;
	if (!f->width || !f->height)
		return;
	if ((f->width != s->width || f->height != s->height || !s->tex) &&
	    sdl_resize(s, f->width, f->height) < 0)
		return;
	uint32_t y1 = f->dirty_y1 < f->height ? f->dirty_y1 : f->height;
	if (f->dirty_y0 < y1) {
		SDL_Rect r = { 0, (int)f->dirty_y0, (int)f->width, (int)(y1 - f->dirty_y0) };
		SDL_UpdateTexture(s->tex, &r, (const uint8_t *)f->pixels +
				  (size_t)f->dirty_y0 * f->stride, f->stride);
	}
	sdl_render(s);
}

static const struct display_frontend_ops sdl_frontend_ops = {
	.update = sdl_update,
};

static void sdl_grab(struct sdl_ui *s, bool on)
{
	s->grabbed = on;
	SDL_SetRelativeMouseMode(on ? SDL_TRUE : SDL_FALSE);
	sdl_set_title(s);
}

/* Ctrl-Alt-G toggles the grab; the G (press, autorepeat, release) never
 * reaches the guest, the modifiers do (their presses went already). */
static bool sdl_key(struct sdl_ui *s, const SDL_KeyboardEvent *k)
{
	/* the modifiers as they were at this event: SDL_GetModState() is
	 * their state after every event pumped so far, and xdotool's
	 * ctrl+alt+g comes with its releases in the same batch */
	uint16_t mod = k->keysym.mod;
	bool g = k->keysym.scancode == SDL_SCANCODE_G;
	if (g && k->type == SDL_KEYDOWN && s->hotkey_down)
		return true;            /* autorepeat */
	if (g && k->type == SDL_KEYDOWN && !k->repeat && (mod & KMOD_CTRL) && (mod & KMOD_ALT)) {
		sdl_grab(s, !s->grabbed);
		s->hotkey_down = true;
		return true;
	}
	if (g && k->type == SDL_KEYUP && s->hotkey_down) {
		s->hotkey_down = false;
		return true;
	}
	unsigned code = sdl_scancode_to_linux(k->keysym.scancode);
	if (code)
		input_key(s->m, code, k->type == SDL_KEYDOWN);
	return false;
}

static unsigned sdl_button_bit(uint8_t b)
{
	switch (b) {
	case SDL_BUTTON_LEFT: return INPUT_BUTTON_LEFT;
	case SDL_BUTTON_RIGHT: return INPUT_BUTTON_RIGHT;
	case SDL_BUTTON_MIDDLE: return INPUT_BUTTON_MIDDLE;
	default: return 0;
	}
}

/* A window position to [0, INPUT_ABS_MAX] */
static uint32_t sdl_abs(int pos, int size)
{
	if (pos <= 0 || size < 2)
		return 0;
	if (pos >= size - 1)
		return INPUT_ABS_MAX;
	return (uint64_t)pos * INPUT_ABS_MAX / (size - 1);
}

static void sdl_pointer(struct sdl_ui *s, int x, int y, int dx, int dy)
{
	if (input_has_abs(s->m)) {
		int w, h;
		SDL_GetWindowSize(s->win, &w, &h);
		input_pointer_abs(s->m, sdl_abs(x, w), sdl_abs(y, h), s->buttons);
	} else if (s->grabbed) {
		input_pointer_rel(s->m, dx, dy, s->buttons);
	}
}

static void sdl_mouse_button(struct sdl_ui *s, const SDL_MouseButtonEvent *b)
{
	bool down = b->type == SDL_MOUSEBUTTONDOWN;
	if (down && !s->grabbed && !input_has_abs(s->m) && b->button == SDL_BUTTON_LEFT) {
		sdl_grab(s, true);      /* this click only takes the mouse */
		return;
	}
	unsigned bit = sdl_button_bit(b->button);
	s->buttons = down ? s->buttons | bit : s->buttons & ~bit;
	sdl_pointer(s, b->x, b->y, 0, 0);
}

static void sdl_wheel(struct sdl_ui *s, const SDL_MouseWheelEvent *w)
{
	if (!w->y || (!s->grabbed && !input_has_abs(s->m)))
		return;
	unsigned bit = w->y > 0 ? INPUT_BUTTON_WHEEL_UP : INPUT_BUTTON_WHEEL_DOWN;
	int x, y;
	SDL_GetMouseState(&x, &y);
	s->buttons |= bit;
	sdl_pointer(s, x, y, 0, 0);
	s->buttons &= ~bit;
	sdl_pointer(s, x, y, 0, 0);
}

static void sdl_event(struct sdl_ui *s, const SDL_Event *e)
{
	switch (e->type) {
	case SDL_QUIT:
		machine_request(s->m, REQ_QUIT, 0);
		break;
	case SDL_KEYDOWN:
	case SDL_KEYUP:
		sdl_key(s, &e->key);
		break;
	case SDL_MOUSEMOTION:
		sdl_pointer(s, e->motion.x, e->motion.y, e->motion.xrel, e->motion.yrel);
		break;
	case SDL_MOUSEBUTTONDOWN:
	case SDL_MOUSEBUTTONUP:
		sdl_mouse_button(s, &e->button);
		break;
	case SDL_MOUSEWHEEL:
		sdl_wheel(s, &e->wheel);
		break;
	case SDL_WINDOWEVENT:
		if (e->window.event == SDL_WINDOWEVENT_FOCUS_LOST && s->grabbed)
			sdl_grab(s, false);
		sdl_render(s);
		break;
	default:
		break;
	}
}

static void sdl_poll(void *opaque)
{
	struct sdl_ui *s = opaque;
	SDL_Event e;
	while (SDL_PollEvent(&e))
		sdl_event(s, &e);
	timer_arm(s->poll, clock_ns() + SDL_POLL_NS);
}

static void sdl_destroy(void *opaque)
{
	struct sdl_ui *s = opaque;
	if (s->poll)
		timer_free(s->poll);
	if (s->tex)
		SDL_DestroyTexture(s->tex);
	if (s->ren)
		SDL_DestroyRenderer(s->ren);
	if (s->win)
		SDL_DestroyWindow(s->win);
	SDL_Quit();
	free(s);
}

static const struct device_ops sdl_device_ops = {
	.name = "sdl",
	.destroy = sdl_destroy,
};

static bool env_set(const char *name)
{
	const char *v = getenv(name);
	return v && *v;
}

int sdl_start(struct machine *m, const struct ui_cfg *cfg)
{
	(void)cfg;
	if (!env_set("DISPLAY") && !env_set("WAYLAND_DISPLAY") && !env_set("SDL_VIDEODRIVER")) {
		qvm_error("-display sdl: no display to open a window on (DISPLAY and "
			  "WAYLAND_DISPLAY are not set)");
		return -1;
	}
	if (SDL_Init(SDL_INIT_VIDEO) < 0) {
		qvm_error("-display sdl: cannot open a window: %s", SDL_GetError());
		return -1;
	}
	/* With no display SDL falls back to drivers that show nothing;
	 * take them only when the user named one (SDL_VIDEODRIVER). */
	const char *driver = SDL_GetCurrentVideoDriver();
	if (driver && (!strcmp(driver, "offscreen") || !strcmp(driver, "dummy")) &&
	    !env_set("SDL_VIDEODRIVER")) {
		qvm_error("-display sdl: no display to open a window on (is DISPLAY or "
			  "WAYLAND_DISPLAY set?)");
		SDL_Quit();
		return -1;
	}
	struct sdl_ui *s = calloc(1, sizeof(*s));
	if (!s) {
		qvm_error("-display sdl: out of memory");
		SDL_Quit();
		return -1;
	}
	s->m = m;
	machine_add_device(m, &sdl_device_ops, s); /* freed with the machine from here */
	if (m->cfg && m->cfg->name)
		snprintf(s->title, sizeof(s->title), "qvm (%s)", m->cfg->name);
	else
		snprintf(s->title, sizeof(s->title), "qvm");
	s->win = SDL_CreateWindow(s->title, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED,
				  SDL_DEFAULT_W, SDL_DEFAULT_H, SDL_WINDOW_RESIZABLE);
	s->ren = s->win ? SDL_CreateRenderer(s->win, -1, 0) : NULL;
	if (!s->ren) {
		qvm_error("-display sdl: cannot open a window: %s", SDL_GetError());
		return -1;
	}
	sdl_render(s);
	s->poll = timer_new(m->loop, sdl_poll, s);
	if (!s->poll || display_add_frontend(m, &sdl_frontend_ops, s) < 0)
		return -1;
	timer_arm(s->poll, clock_ns());
	return 0;
}
