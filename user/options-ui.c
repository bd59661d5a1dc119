/*
 * The front ends' options: -display none|sdl|vnc=SPEC, -vnc SPEC (QEMU's
 * syntax: [HOST]:N or unix:PATH, then ,password=on|off and
 * ,share=allow-exclusive|force-shared|ignore), and -device
 * virtio-keyboard-pci, virtio-mouse-pci, virtio-tablet-pci.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "hw/hw.h"

#define VNC_DISPLAY_MAX 59635   /* 5900 + N stays a port */

static int vnc_flag(const char *key, const char *val, bool *out)
{
	if (!strcmp(val, "on") || !strcmp(val, "yes") || !strcmp(val, "true")) {
		*out = true;
	} else if (!strcmp(val, "off") || !strcmp(val, "no") || !strcmp(val, "false")) {
		*out = false;
	} else {
		qvm_error("-vnc: %s=%s: give on or off", key, val);
		return -1;
	}
	return 0;
}

static int vnc_property(struct ui_cfg *u, char *tok)
{
	char *eq = strchr(tok, '=');
	const char *val = eq ? eq + 1 : "on";
	if (eq)
		*eq = 0;
	if (!strcmp(tok, "password"))
		return vnc_flag(tok, val, &u->vnc_password);
	if (!strcmp(tok, "share")) {
		if (!strcmp(val, "allow-exclusive")) {
			u->vnc_share = VNC_SHARE_ALLOW_EXCLUSIVE;
		} else if (!strcmp(val, "force-shared")) {
			u->vnc_share = VNC_SHARE_FORCE_SHARED;
		} else if (!strcmp(val, "ignore")) {
			u->vnc_share = VNC_SHARE_IGNORE;
		} else {
			qvm_error("-vnc: share=%s: give allow-exclusive, force-shared or ignore", val);
			return -1;
		}
		return 0;
	}
	qvm_error("-vnc: unsupported property '%s' (password, share)", tok);
	return -1;
}

/* [HOST]:N, [IPV6]:N or unix:PATH */
static int vnc_address(struct ui_cfg *u, char *addr)
{
	if (!strncmp(addr, "unix:", 5)) {
		if (!addr[5]) {
			qvm_error("-vnc unix: needs a socket path");
			return -1;
		}
		u->vnc_unix = addr + 5;
		return 0;
	}
	char *colon = strrchr(addr, ':');
	if (!colon) {
		qvm_error("-vnc %s: give [HOST]:DISPLAY (e.g. :0 for port 5900) or unix:PATH", addr);
		return -1;
	}
	char *end;
	errno = 0;
	unsigned long n = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || n > VNC_DISPLAY_MAX) {
		qvm_error("-vnc %s: bad display number '%s'", addr, colon + 1);
		return -1;
	}
	*colon = 0;
	const char *host = addr;
	size_t len = strlen(host);
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		qvm_error("-vnc %s: IPv6 addresses are not supported", addr);
		return -1;
	}
	if (len >= sizeof(u->vnc_host)) {
		qvm_error("-vnc: host name '%s' too long", host);
		return -1;
	}
	strcpy(u->vnc_host, host);
	u->vnc_display = n;
	return 0;
}

int ui_vnc_option(struct config *c, char *arg)
{
	struct ui_cfg *u = &c->ui;
	if (!strcmp(arg, "none")) {
		u->vnc = false;
		return 0;
	}
	char *save = NULL;
	char *addr = strtok_r(arg, ",", &save);
	if (!addr || vnc_address(u, addr) < 0)
		return addr ? -1 : (qvm_error("-vnc: give [HOST]:DISPLAY or unix:PATH"), -1);
	for (char *tok = strtok_r(NULL, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (vnc_property(u, tok) < 0)
			return -1;
	u->vnc = true;
	return 0;
}

int ui_display_option(struct config *c, char *arg)
{
	size_t n = strcspn(arg, ",");
	if (!strcmp(arg, "none")) {
		c->display_none = true;
	} else if (n == 3 && !strncmp(arg, "sdl", 3)) {
		if (arg[n]) {
			qvm_error("-display sdl: options are not supported ('%s')", arg + n + 1);
			return -1;
		}
		c->ui.sdl = true;
	} else if (!strncmp(arg, "vnc=", 4)) {
		return ui_vnc_option(c, arg + 4);
	} else {
		qvm_error("-display %s: unsupported display (none, sdl, vnc=[HOST]:N)", arg);
		return -1;
	}
	return 0;
}

static const struct {
	const char *name;
	enum virtio_input_kind kind;
} input_devices[] = {
	{ "virtio-keyboard-pci", VIRTIO_INPUT_KEYBOARD },
	{ "virtio-mouse-pci", VIRTIO_INPUT_MOUSE },
	{ "virtio-tablet-pci", VIRTIO_INPUT_TABLET },
};

int ui_device_option(struct config *c, const char *name, size_t len, char *props)
{
	unsigned i = 0;
	while (i < ARRAY_SIZE(input_devices) &&
	       (strlen(input_devices[i].name) != len || strncmp(name, input_devices[i].name, len)))
		i++;
	if (i == ARRAY_SIZE(input_devices))
		return -2;
	char *save = NULL;
	for (char *tok = strtok_r(props, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strncmp(tok, "id=", 3)) {
			qvm_error("-device %s: unsupported property '%s' (id)", input_devices[i].name,
				  tok);
			return -1;
		}
	}
	if (c->ui.nr_input_devs == MAX_INPUT_DEVICES) {
		qvm_error("-device %s: too many input devices (at most %d)", input_devices[i].name,
			  MAX_INPUT_DEVICES);
		return -1;
	}
	c->ui.input_devs[c->ui.nr_input_devs++] = input_devices[i].kind;
	return 0;
}
