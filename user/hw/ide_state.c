/*
 * Save and load of the IDE controller (migration): the task files, the
 * settings, a PIO data phase in the middle (its buffer), ATAPI sense and
 * media state, and the bus-master registers with the PRD position.  The
 * save runs after quiesce drained the images (no request in flight) and
 * flushes them, so another process opening them sees every write.  A load
 * must find the same drives with media of the same sizes; everything is
 * read into temporaries and checked before the controller is touched.
 */
#include <stdlib.h>
#include <string.h>
#include "ide-int.h"
#include "machine.h"
#include "state.h"

#define IDE_STATE_VERSION 1

static void save_drive(struct ide_drive *d, struct state_buf *s)
{
	if (d->blk && !blk_is_readonly(d->blk) && blk_flush(d->blk) < 0)
		qvm_error("ide: flushing %s before saving failed", blk_filename(d->blk));
	state_put_u8(s, d->present);
	state_put_u8(s, d->cdrom);
	state_put_u8(s, d->blk != NULL);
	state_put_u64(s, d->sectors);
	uint8_t tf[13] = { d->feature, d->nsector, d->sector, d->lcyl, d->hcyl, d->select,
			   d->hob_feature, d->hob_nsector, d->hob_sector, d->hob_lcyl,
			   d->hob_hcyl, d->status, d->error };
	state_put_bytes(s, tf, sizeof(tf));
	state_put_u16(s, d->cur_heads);
	state_put_u16(s, d->cur_secs);
	uint8_t set[10] = { d->mult, d->xfer_mode, d->write_cache, d->locked, d->medium_changed,
			    d->event, d->sense_key, d->asc, d->cmd, (uint8_t)d->phase };
	state_put_bytes(s, set, sizeof(set));
	state_put_u8(s, d->dma);
	state_put_u8(s, d->write);
	state_put_u32(s, d->drq_size);
	state_put_u32(s, d->buf_len);
	state_put_u32(s, d->buf_pos);
	state_put_u32(s, d->drq_end);
	state_put_u64(s, d->io_off);
	state_put_u64(s, d->io_left);
	state_put_bytes(s, d->packet, sizeof(d->packet));
	if (d->phase != PH_IDLE)
		state_put_bytes(s, d->buf, d->buf_len);
}

void ide_save(void *opaque, struct state_buf *s)
{
	struct ide_ctrl *c = opaque;
	state_put_u8(s, IDE_STATE_VERSION);
	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < 2; i++) {
		struct ide_bus *b = &c->bus[i];
		state_put_u8(s, b->devctl);
		state_put_u8(s, b->irq_pending);
		state_put_u8(s, b->bm.cmd);
		state_put_u8(s, b->bm.status);
		state_put_u32(s, b->bm.prdt);
		state_put_u32(s, b->bm.prd_next);
		state_put_u32(s, b->bm.prd_addr);
		state_put_u32(s, b->bm.prd_left);
		state_put_u8(s, b->bm.prd_last);
		state_put_u32(s, b->bm.prd_count);
		for (unsigned u = 0; u < 2; u++)
			save_drive(&b->drive[u], s);
	}
	pthread_mutex_unlock(&c->lock);
}

/* The loaded copy of one drive; buf separately allocated. */
static int load_drive(struct ide_drive *cur, struct ide_drive *d, struct state_buf *s)
{
	uint8_t present = state_get_u8(s), cdrom = state_get_u8(s), medium = state_get_u8(s);
	uint64_t sectors = state_get_u64(s);
	uint8_t tf[13], set[10];
	state_get_bytes(s, tf, sizeof(tf));
	d->cur_heads = state_get_u16(s);
	d->cur_secs = state_get_u16(s);
	state_get_bytes(s, set, sizeof(set));
	d->dma = state_get_u8(s);
	d->write = state_get_u8(s);
	d->drq_size = state_get_u32(s);
	d->buf_len = state_get_u32(s);
	d->buf_pos = state_get_u32(s);
	d->drq_end = state_get_u32(s);
	d->io_off = state_get_u64(s);
	d->io_left = state_get_u64(s);
	state_get_bytes(s, d->packet, sizeof(d->packet));
	if (s->error || present != cur->present || cdrom != cur->cdrom ||
	    medium != (cur->blk != NULL) || (medium && sectors != cur->sectors)) {
		qvm_error("ide: the saved drives are not this machine's (%s)", cur->name);
		return -1;
	}
	if (set[9] > PH_DMA || d->buf_len > IDE_CHUNK || d->buf_pos > d->buf_len ||
	    d->drq_end > d->buf_len || set[1] > 0x47 || set[0] > IDE_MAX_MULT ||
	    (set[9] == PH_PACKET && d->buf_pos > 12) ||
	    (cur->present && !cur->cdrom && (!d->cur_heads || d->cur_heads > 16 ||
					     !d->cur_secs || d->cur_secs > 255)) ||
	    (!cur->present && set[9] != PH_IDLE) || d->io_left > (cur->sectors << 9) ||
	    d->io_off > (cur->sectors << 9))
		return -1;
	d->feature = tf[0], d->nsector = tf[1], d->sector = tf[2], d->lcyl = tf[3];
	d->hcyl = tf[4], d->select = tf[5], d->hob_feature = tf[6], d->hob_nsector = tf[7];
	d->hob_sector = tf[8], d->hob_lcyl = tf[9], d->hob_hcyl = tf[10];
	d->status = tf[11] & ~ST_BSY, d->error = tf[12];
	d->mult = set[0], d->xfer_mode = set[1], d->write_cache = set[2], d->locked = set[3];
	d->medium_changed = set[4], d->event = set[5], d->sense_key = set[6], d->asc = set[7];
	d->cmd = set[8], d->phase = set[9];
	if (d->phase != PH_IDLE && cur->present) {
		if (posix_memalign((void **)&d->buf, 4096, IDE_CHUNK))
			return -1;
		state_get_bytes(s, d->buf, d->buf_len);
	}
	return s->error ? -1 : 0;
}

static void apply_drive(struct ide_drive *cur, struct ide_drive *d)
{
	cur->feature = d->feature, cur->nsector = d->nsector, cur->sector = d->sector;
	cur->lcyl = d->lcyl, cur->hcyl = d->hcyl, cur->select = d->select;
	cur->hob_feature = d->hob_feature, cur->hob_nsector = d->hob_nsector;
	cur->hob_sector = d->hob_sector, cur->hob_lcyl = d->hob_lcyl, cur->hob_hcyl = d->hob_hcyl;
	cur->status = d->status, cur->error = d->error;
	cur->cur_heads = d->cur_heads, cur->cur_secs = d->cur_secs;
	cur->mult = d->mult, cur->xfer_mode = d->xfer_mode, cur->write_cache = d->write_cache;
	cur->locked = d->locked, cur->medium_changed = d->medium_changed, cur->event = d->event;
	cur->sense_key = d->sense_key, cur->asc = d->asc, cur->cmd = d->cmd;
	cur->phase = d->phase, cur->dma = d->dma, cur->write = d->write;
	cur->drq_size = d->drq_size, cur->buf_len = d->buf_len, cur->buf_pos = d->buf_pos;
	cur->drq_end = d->drq_end, cur->io_off = d->io_off, cur->io_left = d->io_left;
	memcpy(cur->packet, d->packet, sizeof(d->packet));
	if (d->buf)
		memcpy(cur->buf, d->buf, d->buf_len);
}

int ide_load(void *opaque, struct state_buf *s)
{
	struct ide_ctrl *c = opaque;
	struct ide_bus bus[2];
	int r = -1;
	memset(bus, 0, sizeof(bus));
	if (state_get_u8(s) != IDE_STATE_VERSION)
		return -1;
	for (unsigned i = 0; i < 2; i++) {
		struct ide_bus *b = &bus[i];
		b->devctl = state_get_u8(s);
		b->irq_pending = state_get_u8(s);
		b->bm.cmd = state_get_u8(s) & (BM_CMD_START | BM_CMD_TO_MEMORY);
		b->bm.status = state_get_u8(s) & 0x67;
		b->bm.prdt = state_get_u32(s) & ~3u;
		b->bm.prd_next = state_get_u32(s);
		b->bm.prd_addr = state_get_u32(s);
		b->bm.prd_left = state_get_u32(s);
		b->bm.prd_last = state_get_u8(s);
		b->bm.prd_count = state_get_u32(s);
		if (b->bm.prd_left > 0x10000 || b->bm.prd_count > 65536 / 8)
			goto out;
		for (unsigned u = 0; u < 2; u++)
			if (load_drive(&c->bus[i].drive[u], &b->drive[u], s) < 0)
				goto out;
	}
	if (s->error)
		goto out;
	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < 2; i++) {
		struct ide_bus *cur = &c->bus[i], *b = &bus[i];
		cur->devctl = b->devctl;
		cur->irq_pending = b->irq_pending;
		cur->bm = b->bm;
		for (unsigned u = 0; u < 2; u++)
			apply_drive(&cur->drive[u], &b->drive[u]);
		ide_update_irq(cur);
	}
	pthread_mutex_unlock(&c->lock);
	r = 0;
out:
	for (unsigned i = 0; i < 2; i++)
		for (unsigned u = 0; u < 2; u++)
			free(bus[i].drive[u].buf);
	return r;
}
