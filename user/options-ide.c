/*
 * IDE drives on the command line, as QEMU's pc takes them:
 *
 *   -hda F .. -hdd F          -drive if=ide,index=0..3,file=F
 *   -cdrom F                  -drive if=ide,index=2,media=cdrom,file=F
 *   -drive if=ide[,index=N][,media=disk|cdrom][,file=F]
 *                             index = 2 * bus + unit; none: the first free
 *                             one; a CD-ROM without file= is an empty drive
 *   -drive if=none,id=X -device ide-hd|ide-cd,drive=X[,bus=ide.N][,unit=U]
 *
 * Each drive gets its bus and unit here, after every option was read; two
 * drives on one unit, or an index past the four there are, are refused
 * with one line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

static int ide_dev_kv(void *opaque, const char *key, const char *val)
{
	struct ide_device_cfg *p = opaque;
	char *end;
	if (!key || !val) {
		qvm_error("-device ide-%s: '%s' is not key=value", p->cdrom ? "cd" : "hd",
			  key ? key : val);
		return -1;
	}
	if (!strcmp(key, "drive")) {
		p->drive = val;
	} else if (!strcmp(key, "bus") && strncmp(val, "ide.", 4)) {
		p->ahci_bus = val;      /* an AHCI port: checked at the end */
	} else if (!strcmp(key, "bus")) {
		if (strncmp(val, "ide.", 4) || (val[4] != '0' && val[4] != '1') || val[5]) {
			qvm_error("-device ide-%s: bus=%s: there are buses ide.0 and ide.1",
				  p->cdrom ? "cd" : "hd", val);
			return -1;
		}
		p->bus = val[4] - '0';
	} else if (!strcmp(key, "unit")) {
		long u = strtol(val, &end, 0);
		if (*end || u < 0 || u > 1) {
			qvm_error("-device ide-%s: unit=%s is out of range (0, 1)",
				  p->cdrom ? "cd" : "hd", val);
			return -1;
		}
		p->unit = u;
	} else if (strcmp(key, "id") && strcmp(key, "bootindex") && strcmp(key, "serial") &&
		   strcmp(key, "model")) {
		qvm_error("-device ide-%s: unknown property '%s' (drive, bus, unit, id)",
			  p->cdrom ? "cd" : "hd", key);
		return -1;
	}
	return 0;
}

int ide_device_option(struct config *c, char *props, bool cdrom)
{
	struct ide_device_cfg p = { .cdrom = cdrom, .bus = -1, .unit = -1 };
	char *save = NULL;
	for (char *tok = strtok_r(props, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq)
			*eq = 0;
		if (ide_dev_kv(&p, eq ? tok : NULL, eq ? eq + 1 : tok) < 0)
			return -1;
	}
	if (!p.drive && !cdrom) {
		qvm_error("-device ide-hd: give the disk: drive=ID (a -drive if=none,id=ID)");
		return -1;
	}
	if (c->nr_ide_devices == ARRAY_SIZE(c->ide_devices)) {
		qvm_error("-device ide-%s: too many IDE drives (at most %d)", cdrom ? "cd" : "hd",
			  IDE_MAX_INDEX);
		return -1;
	}
	c->ide_devices[c->nr_ide_devices++] = p;
	return 0;
}

static const char *drive_what(const struct drive_cfg *d)
{
	return d->cdrom ? "a CD-ROM" : d->file;
}

/* Put d at index i, or the first free index (i < 0). */
static int place(struct drive_cfg *taken[IDE_MAX_INDEX], struct drive_cfg *d, int i,
		 const char *opt)
{
	if (i < 0) {
		for (i = 0; i < IDE_MAX_INDEX && taken[i]; i++)
			;
		if (i == IDE_MAX_INDEX) {
			qvm_error("%s: no free IDE unit left (4 drives: -hda..-hdd)", opt);
			return -1;
		}
	}
	if (i >= IDE_MAX_INDEX) {
		qvm_error("%s: index=%d is out of range for IDE (0-3: bus 0-1, unit 0-1)", opt, i);
		return -1;
	}
	if (taken[i]) {
		qvm_error("%s: IDE bus %d unit %d already has a drive (%s)", opt, i / 2, i % 2,
			  drive_what(taken[i]));
		return -1;
	}
	taken[i] = d;
	d->index = i;
	return 0;
}

static struct drive_cfg *find_if_none(struct config *c, const char *id)
{
	for (unsigned k = 0; k < c->nr_drives; k++)
		if (c->drives[k].id && !strcmp(c->drives[k].id, id))
			return &c->drives[k];
	return NULL;
}

/* bus=ID.PORT of the -device ahci,id=ID. */
static int ahci_place(struct config *c, struct drive_cfg *taken[AHCI_MAX_PORTS],
		      struct drive_cfg *d, const char *bus, const char *opt)
{
	const char *dot = strrchr(bus, '.');
	char *end;
	if (!c->ahci_id || !dot || (size_t)(dot - bus) != strlen(c->ahci_id) ||
	    strncmp(bus, c->ahci_id, dot - bus)) {
		qvm_error("%s: bus=%s: no such bus (ide.0, ide.1, or ID.PORT of a -device ahci,id=ID)",
			  opt, bus);
		return -1;
	}
	long port = strtol(dot + 1, &end, 10);
	if (!dot[1] || *end || port < 0 || port >= AHCI_MAX_PORTS) {
		qvm_error("%s: bus=%s: the AHCI ports are %s.0 to %s.%d", opt, bus, c->ahci_id,
			  c->ahci_id, AHCI_MAX_PORTS - 1);
		return -1;
	}
	if (taken[port]) {
		qvm_error("%s: bus=%s: that AHCI port has a drive already", opt, bus);
		return -1;
	}
	taken[port] = d;
	d->ahci = true;
	d->index = port;
	return 0;
}

int ahci_device_option(struct config *c, char *props)
{
	const char *id = "ahci";
	for (char *tok = strtok(props, ","); tok; tok = strtok(NULL, ",")) {
		if (!strncmp(tok, "id=", 3) && tok[3]) {
			id = tok + 3;
		} else {
			qvm_error("-device ahci: unknown property '%s' (id)", tok);
			return -1;
		}
	}
	if (c->ahci_id) {
		qvm_error("-device ahci: one AHCI controller at most");
		return -1;
	}
	c->ahci_id = id;
	return 0;
}

int ide_drives_finish(struct config *c)
{
	struct drive_cfg *taken[IDE_MAX_INDEX] = { 0 };
	struct drive_cfg *ahci_taken[AHCI_MAX_PORTS] = { 0 };
	for (unsigned k = 0; k < c->nr_drives; k++) {
		struct drive_cfg *d = &c->drives[k];
		if (d->ide && !d->if_none && place(taken, d, d->index, "-drive if=ide") < 0)
			return -1;
	}
	for (unsigned k = 0; k < c->nr_ide_devices; k++) {
		struct ide_device_cfg *p = &c->ide_devices[k];
		const char *opt = p->cdrom ? "-device ide-cd" : "-device ide-hd";
		struct drive_cfg *d = NULL;
		if (p->drive) {
			d = find_if_none(c, p->drive);
			if (!d || !d->if_none || d->attached) {
				qvm_error("%s: drive=%s: %s", opt, p->drive,
					  !d ? "no -drive with that id" : !d->if_none ?
					  "that -drive has a device already (give it if=none)" :
					  "used by another device");
				return -1;
			}
		} else {                /* ide-cd without drive=: an empty one */
			if (c->nr_drives == MAX_DRIVES) {
				qvm_error("%s: too many disks (at most %d)", opt, MAX_DRIVES);
				return -1;
			}
			d = &c->drives[c->nr_drives++];
			memset(d, 0, sizeof(*d));
			d->if_none = true;
		}
		d->attached = true;
		d->cdrom = p->cdrom;
		if (p->cdrom)
			d->readonly = true;
		if (p->ahci_bus) {
			if (ahci_place(c, ahci_taken, d, p->ahci_bus, opt) < 0)
				return -1;
			continue;
		}
		d->ide = true;
		int i = -1;
		if (p->bus >= 0)
			i = 2 * p->bus + (p->unit >= 0 ? p->unit : taken[2 * p->bus] ? 1 : 0);
		else if (p->unit >= 0)
			i = p->unit;
		if (place(taken, d, i, opt) < 0)
			return -1;
	}
	return 0;
}
