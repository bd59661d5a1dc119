/*
 * Bus-master IDE DMA (SFF-8038i rev 1.0), the PIIX3's BAR4: per channel a
 * command register (+0: start/stop, direction), a status register (+2:
 * active, error, interrupt, drive DMA capable) and the PRD table's
 * address (+4).
 *
 * A PRD (3.2) is 8 bytes: a physical base address (bit 0 zero), a byte
 * count in bits 15:0 (0 means 64 KiB, bit 0 zero) and EOT in bit 31 of
 * the second dword.  The table is guest memory and untrusted: entries are
 * read with guest_read, data goes through guest_read/machine_ram_write
 * (the machine's one write path, memory.h), so an address outside RAM
 * fails the transfer instead of touching anything; a table that runs out
 * before the command's data or walks past 64 KiB of entries (the spec's
 * limit: a table lies within one 64 KiB region) fails it too, with the
 * error bit set.
 */
#include <string.h>
#include "ide-int.h"
#include "machine.h"
#include "physmap.h"

#define PRD_MAX_ENTRIES (65536 / 8)

/* Load the next PRD; -1 at the end of the table or when unreadable. */
static int prd_load(struct ide_ctrl *c, struct ide_bm *bm)
{
	uint32_t e[2];
	if (bm->prd_last || bm->prd_count >= PRD_MAX_ENTRIES)
		return -1;
	if (guest_read(c->m, bm->prd_next, e, sizeof(e)) < 0)
		return -1;
	bm->prd_count++;
	bm->prd_next += 8;
	bm->prd_addr = e[0] & ~1u;
	bm->prd_left = e[1] & 0xfffe;
	if (!bm->prd_left)
		bm->prd_left = 0x10000;
	bm->prd_last = e[1] >> 31;
	return 0;
}

/* Walk len bytes of PRDs, copying to (to_mem) or from guest memory. */
static int prd_copy(struct ide_bus *b, uint8_t *buf, uint32_t len, bool to_mem)
{
	struct ide_ctrl *c = b->ctrl;
	struct ide_bm *bm = &b->bm;
	while (len) {
		if (!bm->prd_left && prd_load(c, bm) < 0)
			return -1;
		uint32_t n = MIN(len, bm->prd_left);
		int r = to_mem ? machine_ram_write(c->m, bm->prd_addr, buf, n) :
				 guest_read(c->m, bm->prd_addr, buf, n);
		if (r < 0)
			return -1;
		bm->prd_addr += n;
		bm->prd_left -= n;
		buf += n;
		len -= n;
	}
	return 0;
}

int ide_bm_to_memory(struct ide_bus *b, const uint8_t *src, uint32_t len)
{
	if (b->ctrl->xport)
		return b->ctrl->xport->to_memory(b, src, len);
	return prd_copy(b, (uint8_t *)src, len, true);
}

int ide_bm_from_memory(struct ide_bus *b, uint8_t *dst, uint32_t len)
{
	if (b->ctrl->xport)
		return b->ctrl->xport->from_memory(b, dst, len);
	return prd_copy(b, dst, len, false);
}

void ide_bm_end(struct ide_bus *b, bool error)
{
	if (b->ctrl->xport)
		return;                 /* the transport reports the end */
	b->bm.status &= ~BM_ST_ACTIVE;
	if (error)
		b->bm.status |= BM_ST_ERROR;
}

void ide_bm_kick(struct ide_bus *b)
{
	struct ide_drive *d = ide_selected(b);
	if ((b->bm.status & BM_ST_ACTIVE || b->ctrl->xport) && d->phase == PH_DMA)
		ide_bm_start_transfer(b);
}

static void bm_command(struct ide_bus *b, uint8_t v)
{
	struct ide_bm *bm = &b->bm;
	bool was = bm->cmd & BM_CMD_START;
	bm->cmd = v & (BM_CMD_START | BM_CMD_TO_MEMORY);
	if (!(v & BM_CMD_START)) {
		/* stop: a transfer in the middle is abandoned (3.1) */
		bm->status &= ~BM_ST_ACTIVE;
		return;
	}
	if (was)
		return;
	bm->status |= BM_ST_ACTIVE;
	bm->prd_next = bm->prdt;
	bm->prd_left = 0;
	bm->prd_last = false;
	bm->prd_count = 0;
	ide_bm_kick(b);
}

static uint64_t bm_read(void *opaque, uint64_t off, unsigned size)
{
	struct ide_ctrl *c = opaque;
	struct ide_bus *b = &c->bus[off >> 3 & 1];
	uint64_t v = 0;
	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < size && i < 8; i++) {
		unsigned r = (off + i) & 7;
		uint8_t byte = r == 0 ? b->bm.cmd : r == 2 ? b->bm.status :
			       r >= 4 ? b->bm.prdt >> 8 * (r - 4) : 0;
		v |= (uint64_t)byte << 8 * i;
	}
	pthread_mutex_unlock(&c->lock);
	return v;
}

static void bm_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
	struct ide_ctrl *c = opaque;
	struct ide_bus *b = &c->bus[off >> 3 & 1];
	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < size && i < 8; i++) {
		unsigned r = (off + i) & 7;
		uint8_t byte = v >> 8 * i;
		if (r == 0) {
			bm_command(b, byte);
		} else if (r == 2) {
			b->bm.status = (b->bm.status & ~(BM_ST_CAPS | (byte & (BM_ST_ERROR | BM_ST_INT)))) |
				       (byte & BM_ST_CAPS);
		} else if (r >= 4) {
			unsigned sh = 8 * (r - 4);
			b->bm.prdt = ((b->bm.prdt & ~(0xffu << sh)) | (uint32_t)byte << sh) & ~3u;
		}
	}
	ide_unlock(c);
}

const struct io_ops ide_bm_ops = { .read = bm_read, .write = bm_write };
