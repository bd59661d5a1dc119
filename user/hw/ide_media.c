/*
 * The IDE drives and their media (hw.h): attaching a drive, the monitor's
 * change and eject, the guest's own eject (START STOP UNIT), info block,
 * and closing the images when qvm exits.  A medium is swapped on the main
 * thread after the drive's requests drained; the guest learns of it from
 * UNIT ATTENTION and a media event (atapi.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hw.h"
#include "ide-int.h"
#include "machine.h"
#include "mainloop.h"

/* The drive called name ("ide1-cd0"), or NULL. */
static struct ide_drive *find_drive(struct ide_ctrl *c, const char *name)
{
	for (unsigned i = 0; i < 2; i++)
		for (unsigned u = 0; u < 2; u++)
			if (c->bus[i].drive[u].present && !strcmp(c->bus[i].drive[u].name, name))
				return &c->bus[i].drive[u];
	return NULL;
}

static void set_medium(struct ide_drive *d, struct blk *b)
{
	d->blk = b;
	d->sectors = b ? blk_size(b) / IDE_SECTOR : 0;
	if (!d->cdrom)
		ata_set_geometry(d);
}

int ide_attach(struct ide_ctrl *c, unsigned bus, unsigned unit, struct blk *b, bool cdrom,
	       const struct blk_open_opts *opts)
{
	if (bus > 1 || unit > 1) {
		qvm_error("ide: no bus %u unit %u (buses 0-1, units 0-1)", bus, unit);
		if (b)
			blk_close(b);
		return -1;
	}
	struct ide_drive *d = &c->bus[bus].drive[unit];
	if (d->present) {
		qvm_error("ide: bus %u unit %u has a drive already", bus, unit);
		if (b)
			blk_close(b);
		return -1;
	}
	if (b && c->m->loop && blk_attach(b, c->m->loop) < 0) {
		qvm_error("ide: %s: cannot set up asynchronous I/O", blk_filename(b));
		blk_close(b);
		return -1;
	}
	if (posix_memalign((void **)&d->buf, 4096, IDE_CHUNK)) {
		if (b)
			blk_close(b);
		return -1;
	}
	memset(d->buf, 0, IDE_CHUNK);
	d->present = true;
	d->cdrom = cdrom;
	if (opts)
		d->open_opts = *opts;
	snprintf(d->name, sizeof(d->name), "ide%u-%s%u", bus, cdrom ? "cd" : "hd", unit);
	snprintf(d->serial, sizeof(d->serial), "QM%05u", bus * 2 + unit + 1);
	snprintf(d->model, sizeof(d->model), cdrom ? "QVM DVD-ROM" : "QVM HARDDISK");
	set_medium(d, b);
	c->bus[bus].bm.status |= 0x20 << unit;
	pthread_mutex_lock(&c->lock);
	ide_drive_reset(d, true);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* Main thread: take the medium out (NULL: none) and put b in. */
static void swap_medium(struct ide_ctrl *c, struct ide_drive *d, struct blk *b)
{
	if (d->blk)
		blk_drain(d->blk);
	pthread_mutex_lock(&c->lock);
	struct blk *old = d->blk;
	bool had = old != NULL;
	set_medium(d, b);
	d->medium_changed = true;       /* UNIT ATTENTION, MMC-3 */
	d->event = b ? EV_NEW_MEDIA : had ? EV_MEDIA_REMOVAL : d->event;
	pthread_mutex_unlock(&c->lock);
	if (old)
		blk_close(old);
}

static void close_image(void *opaque)
{
	blk_close(opaque);
}

void ide_guest_eject(struct ide_drive *d)
{
	struct blk *old = d->blk;
	struct machine *m = d->bus->ctrl->m;
	set_medium(d, NULL);
	d->event = EV_MEDIA_REMOVAL;
	if (m->loop)
		mainloop_call(m->loop, close_image, old);
	else
		blk_close(old);
}

int ide_eject(struct ide_ctrl *c, const char *name, bool force, char *err, size_t errlen)
{
	struct ide_drive *d = c ? find_drive(c, name) : NULL;
	if (!d) {
		snprintf(err, errlen, "Device '%s' not found", name);
		return -1;
	}
	if (!d->cdrom) {
		snprintf(err, errlen, "Device '%s' is not removable", name);
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	bool locked = d->locked;
	if (locked && !force)
		d->event = EV_EJECT_REQUEST;    /* the guest may let it go */
	pthread_mutex_unlock(&c->lock);
	if (locked && !force) {
		snprintf(err, errlen, "Device '%s' is locked and force was not specified, "
			 "wait for tray to open and try again", name);
		return -1;
	}
	swap_medium(c, d, NULL);
	return 0;
}

int ide_change(struct ide_ctrl *c, const char *name, const char *file, char *err, size_t errlen)
{
	struct ide_drive *d = c ? find_drive(c, name) : NULL;
	if (!d || !d->cdrom) {
		snprintf(err, errlen, d ? "Device '%s' is not removable" : "Device '%s' not found",
			 name);
		return -1;
	}
	struct blk_open_opts o = d->open_opts;
	o.readonly = true;
	o.format = NULL;
	struct blk *b = blk_open(file, &o);
	if (!b) {
		snprintf(err, errlen, "could not open '%s'", file);
		return -1;
	}
	if (c->m->loop && blk_attach(b, c->m->loop) < 0) {
		blk_close(b);
		snprintf(err, errlen, "%s: cannot set up asynchronous I/O", file);
		return -1;
	}
	swap_medium(c, d, b);
	return 0;
}

bool ide_has_drive(struct ide_ctrl *c, const char *name)
{
	return c && find_drive(c, name);
}

void ide_info_block(struct ide_ctrl *c, void (*print)(void *opaque, const char *line),
		    void *opaque)
{
	char line[1200], where[32];
	for (unsigned i = 0; c && i < 2; i++) {
		for (unsigned u = 0; u < 2; u++) {
			struct ide_drive *d = &c->bus[i].drive[u];
			if (!d->present)
				continue;
			if (c->where[0])
				snprintf(where, sizeof(where), "%s", c->where);
			else
				snprintf(where, sizeof(where), "ide.%u unit %u", i, u);
			pthread_mutex_lock(&c->lock);
			if (d->blk)
				snprintf(line, sizeof(line), "%s: %s (%s%s)\n    Attached to:      "
					 "%s\n%s", d->name, blk_filename(d->blk),
					 blk_format_name(d->blk),
					 blk_is_readonly(d->blk) ? ", read-only" : "", where,
					 !d->cdrom ? "" : d->locked ?
					 "    Removable device: locked, tray closed\n" :
					 "    Removable device: not locked, tray closed\n");
			else
				snprintf(line, sizeof(line), "%s: [not inserted]\n    Attached to:      "
					 "%s\n    Removable device: %slocked, tray open\n",
					 d->name, where, d->locked ? "" : "not ");
			pthread_mutex_unlock(&c->lock);
			print(opaque, line);
		}
	}
}

void ide_close(struct ide_ctrl *c)
{
	for (unsigned i = 0; c && i < 2; i++) {
		for (unsigned u = 0; u < 2; u++) {
			struct ide_drive *d = &c->bus[i].drive[u];
			if (!d->blk)
				continue;
			blk_drain(d->blk);
			pthread_mutex_lock(&c->lock);
			struct blk *b = d->blk;
			d->blk = NULL;
			d->sectors = 0;
			pthread_mutex_unlock(&c->lock);
			blk_close(b);
		}
	}
}
