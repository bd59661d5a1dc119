/*
 * The front ends (ui_init starts those the command line asks for): the
 * VNC server (vnc.c, libvncserver) and the SDL2 window (sdl.c).  They run
 * on the main thread, take frames from the display (display.h) and hand
 * keys and pointer motion to the input router (input.h).
 */
#ifndef QVM_UI_UI_H
#define QVM_UI_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;
struct ui_cfg;
struct display_frame;

/* Start the front ends of cfg (after the devices exist); 0, or -1 with a
 * one-line message. */
int ui_init(struct machine *m, const struct ui_cfg *cfg);

/* keysym.c: an X keysym (VNC) to a Linux key code, US layout; 0 when it
 * has none. */
unsigned keysym_to_linux(uint32_t keysym);

/* vnc.c */
struct vnc_server;
struct vnc_server *vnc_start(struct machine *m, const struct ui_cfg *cfg);
/* The machine's VNC server, NULL without one. */
struct vnc_server *vnc_find(struct machine *m);
/* Set the password (monitor: change vnc password, set_password vnc);
 * 0, or -1 with a one-line message. */
int vnc_set_password(struct vnc_server *v, const char *password, char *err, size_t errlen);
/* The port the server listens on (-1: a unix socket). */
int vnc_port(const struct vnc_server *v);

/* sdl.c */
int sdl_start(struct machine *m, const struct ui_cfg *cfg);
/* SDL scancode to Linux key code (0: none). */
unsigned sdl_scancode_to_linux(unsigned scancode);

#endif
