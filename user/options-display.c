/*
 * The display's options: -vga std|none and -device VGA|bochs-display
 * [,vgamem_mb=N][,romfile=FILE], and which graphics device a machine gets
 * when none is named (config_vga).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "hw/hw.h"

int vga_option(struct config *c, const char *arg)
{
	if (!strcmp(arg, "help")) {
		printf("std   standard VGA (the default)\nnone  no graphics device\n");
		return 1;
	}
	if (!strcmp(arg, "std")) {
		c->vga.type = VGA_STD;
	} else if (!strcmp(arg, "none")) {
		c->vga.type = VGA_NONE;
	} else {
		qvm_error("-vga %s: unsupported graphics card (std or none)", arg);
		return -1;
	}
	return 0;
}

/* -device VGA / bochs-display: properties after the name, in place. */
int vga_device_option(struct config *c, enum vga_type type, char *props)
{
	const char *name = type == VGA_BOCHS_DISPLAY ? "bochs-display" : "VGA";
	char *save = NULL;
	for (char *tok = strtok_r(props, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq) {
			qvm_error("-device %s: '%s' is not PROPERTY=VALUE", name, tok);
			return -1;
		}
		*eq = 0;
		const char *val = eq + 1;
		if (!strcmp(tok, "vgamem_mb")) {
			char *end;
			errno = 0;
			unsigned long mb = strtoul(val, &end, 0);
			if (errno || *end || !*val || mb < 1 || mb > 256 || (mb & (mb - 1))) {
				qvm_error("-device %s: vgamem_mb=%s is not a power of two from 1 to 256",
					  name, val);
				return -1;
			}
			c->vga.vram_mb = mb;
		} else if (!strcmp(tok, "romfile")) {
			if (*val && access(val, R_OK) < 0) {
				qvm_error("-device %s: romfile=%s: %s", name, val, strerror(errno));
				return -1;
			}
			c->vga.romfile = val;
			c->vga.romfile_set = true;
		} else {
			qvm_error("-device %s: unknown property '%s' (vgamem_mb, romfile)", name, tok);
			return -1;
		}
	}
	if (c->vga.type == VGA_STD || c->vga.type == VGA_BOCHS_DISPLAY) {
		qvm_error("-device %s: the machine already has a graphics card (one only)", name);
		return -1;
	}
	c->vga.type = type;
	return 0;
}

/* As in QEMU, a standard VGA unless -vga none or -nographic; and not for
 * a -kernel boot with -display none, where nothing would show it (qvm's
 * bare-metal tests): -vga std adds it there. */
enum vga_type config_vga(const struct config *c)
{
	if (c->vga.type != VGA_DEFAULT)
		return c->vga.type;
	/* nothing would show a picture; a front end asked for wants one */
	if ((c->nographic || (c->kernel && c->display_none)) && !c->ui.vnc && !c->ui.sdl)
		return VGA_NONE;
	return VGA_STD;
}

/* The option ROM: romfile= (empty: none), else Debian's VGA BIOS for the
 * card when it is installed. */
const char *config_vga_romfile(const struct config *c)
{
	if (c->vga.romfile_set)
		return *c->vga.romfile ? c->vga.romfile : NULL;
	const char *rom = c->vga.type == VGA_BOCHS_DISPLAY ? BOCHS_DISPLAY_DEFAULT_ROM :
			  VGA_DEFAULT_ROM;
	return access(rom, R_OK) == 0 ? rom : NULL;
}
