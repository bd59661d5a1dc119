/*
 * -boot, as QEMU's pc takes it: [order=]DRIVES[,once=DRIVES][,menu=on|off]
 * [,splash-time=MS][,splash=FILE][,strict=on|off][,reboot-timeout=MS].
 * DRIVES are up to three letters: a/b floppy, c the first hard disk, d
 * the CD-ROM, n the network.  The firmware reads them from the CMOS and
 * fw_cfg (pc/firmware.c): splash= is a JPEG or BMP picture SeaBIOS shows
 * with its menu; strict=on boots only the bootorder file's devices;
 * reboot-timeout= is how long SeaBIOS waits before it resets when nothing
 * booted (-1: never, default 60000).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"

#define BOOT_LETTERS "abcdn"
#define BOOT_MAX_DEVICES 3

static int check_drives(const char *what, const char *drives)
{
	size_t n = strlen(drives);
	if (n == 0 || n > BOOT_MAX_DEVICES) {
		qvm_error("-boot %s=%s: give one to %d boot devices", what, drives,
			  BOOT_MAX_DEVICES);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!strchr(BOOT_LETTERS, drives[i])) {
			qvm_error("-boot %s=%s: unknown boot device '%c' (a, b: floppy, c: disk, "
				  "d: CD-ROM, n: network)", what, drives, drives[i]);
			return -1;
		}
		if (memchr(drives, drives[i], i)) {
			qvm_error("-boot %s=%s: boot device '%c' given twice", what, drives,
				  drives[i]);
			return -1;
		}
	}
	return 0;
}

static int on_off(const char *key, const char *val, int *out)
{
	if (!strcmp(val, "on")) {
		*out = 1;
	} else if (!strcmp(val, "off")) {
		*out = 0;
	} else {
		qvm_error("-boot %s=%s: on or off", key, val);
		return -1;
	}
	return 0;
}

static int splash_time(const char *val, int *out)
{
	char *end;
	long ms = strtol(val, &end, 10);
	if (!*val || *end || ms < 0 || ms > 0xffff) {
		qvm_error("-boot splash-time=%s: milliseconds, 0 to 65535", val);
		return -1;
	}
	*out = ms;
	return 0;
}

static int reboot_timeout(struct config *c, const char *val)
{
	char *end;
	long ms = strtol(val, &end, 10);
	if (!*val || *end || ms < -1 || ms > 0xffff) {
		qvm_error("-boot reboot-timeout=%s: milliseconds, -1 (never) to 65535", val);
		return -1;
	}
	c->boot_reboot_timeout = ms;
	c->has_reboot_timeout = true;
	return 0;
}

static int splash_file(struct config *c, const char *val)
{
	if (access(val, R_OK) < 0) {
		qvm_error("-boot splash=%s: %s", val, strerror(errno));
		return -1;
	}
	c->boot_splash = val;
	return 0;
}

static int boot_kv(struct config *c, const char *key, char *val)
{
	if (!strcmp(key, "order")) {
		c->boot_order = val;
		return check_drives(key, val);
	} else if (!strcmp(key, "once")) {
		c->boot_once = val;
		return check_drives(key, val);
	} else if (!strcmp(key, "menu")) {
		return on_off(key, val, &c->boot_menu);
	} else if (!strcmp(key, "splash-time")) {
		return splash_time(val, &c->boot_splash_time);
	} else if (!strcmp(key, "splash")) {
		return splash_file(c, val);
	} else if (!strcmp(key, "strict")) {
		int on;
		if (on_off(key, val, &on) < 0)
			return -1;
		c->boot_strict = on;
		return 0;
	} else if (!strcmp(key, "reboot-timeout")) {
		return reboot_timeout(c, val);
	}
	qvm_error("-boot %s: unknown option (order, once, menu, splash-time, splash, strict, "
		  "reboot-timeout)", key);
	return -1;
}

int boot_option_parse(struct config *c, char *arg)
{
	/* the legacy form: just the letters */
	if (!strchr(arg, '=')) {
		c->boot_order = arg;
		return check_drives("order", arg);
	}
	for (char *save = NULL, *item = strtok_r(arg, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		if (!eq) {
			qvm_error("-boot %s: expected KEY=VALUE", item);
			return -1;
		}
		*eq = '\0';
		if (boot_kv(c, item, eq + 1) < 0)
			return -1;
	}
	return 0;
}
