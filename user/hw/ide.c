/*
 * The IDE function of the PIIX3 (Intel 82371SB, 8086:7010): two channels
 * in compatibility mode at the legacy ports (primary 0x1f0-0x1f7 and
 * 0x3f6, IRQ 14; secondary 0x170-0x177 and 0x376, IRQ 15), bus-master DMA
 * through BAR4 (ide_bm.c), ATA disks (ata.c) and ATAPI CD-ROMs (atapi.c)
 * on qvm's block layer.
 *
 * This file holds the task file registers (ATA-6 7.1-7.16), the data
 * phase (PIO blocks, DRQ, the image requests behind them), interrupts,
 * resets (SRST, ATA-6 9.2) and the PCI function; ide_media.c has the
 * drives and their media (hw.h's attach, change, eject, info, close).
 *
 * The image is read and written asynchronously: a command that needs it
 * sets BSY and submits one request of at most IDE_CHUNK bytes; the block
 * layer completes it on the main thread, which sets DRQ (PIO) or copies
 * through the PRDs (DMA) and interrupts the guest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hw.h"
#include "ide-int.h"
#include "machine.h"
#include "physmap.h"

#define PIIX3_IDE_DEVICE 0x7010
#define IDE_CLASS 0x010180              /* IDE, bus master, both channels
					 * in compatibility mode */
static const uint16_t cmd_port[2] = { 0x1f0, 0x170 };
static const uint16_t ctl_port[2] = { 0x3f6, 0x376 };
static const unsigned bus_irq[2] = { 14, 15 };

/* ---- interrupts ---- */

void ide_update_irq(struct ide_bus *b)
{
	if (b->ctrl->xport)
		return;
	machine_set_irq(b->ctrl->m, b->irq, b->irq_pending && !(b->devctl & DC_NIEN));
}

void ide_raise_irq(struct ide_bus *b)
{
	if (b->ctrl->xport) {
		b->ctrl->xport->command_end(b);
		return;
	}
	b->irq_pending = true;
	b->bm.status |= BM_ST_INT;      /* follows INTRQ (SFF-8038i 3.1) */
	ide_update_irq(b);
}

/* ---- submission ---- */

static void image_done(struct blk_req *req, int ret);

static void ide_submit(struct ide_drive *d, enum blk_op op, uint64_t off, uint32_t len)
{
	d->iov = (struct iovec){ d->buf, len };
	d->req = (struct blk_req){
		.op = op, .offset = off, .len = len, .iov = &d->iov, .iovcnt = op == BLK_FLUSH ? 0 : 1,
		.done = image_done, .opaque = d,
	};
	d->phase = PH_BUSY;
	d->status = ST_BSY;
	d->in_flight = d->submit = true;
}

void ide_unlock(struct ide_ctrl *c)
{
	struct ide_drive *todo[4];
	unsigned n = 0;
	if (c->xport && c->xport->unlocking)
		c->xport->unlocking(c);
	for (unsigned i = 0; i < 2; i++)
		for (unsigned u = 0; u < 2; u++)
			if (c->bus[i].drive[u].submit) {
				c->bus[i].drive[u].submit = false;
				todo[n++] = &c->bus[i].drive[u];
			}
	pthread_mutex_unlock(&c->lock);
	for (unsigned i = 0; i < n; i++)
		blk_submit(todo[i]->blk, &todo[i]->req);
}

/* ---- the data phase ---- */

void ide_cmd_ok(struct ide_drive *d)
{
	d->phase = PH_IDLE;
	d->status = ST_DRDY | ST_DSC;
	d->error = 0;
	ide_raise_irq(d->bus);
}

void ide_cmd_abort(struct ide_drive *d, uint8_t error)
{
	d->phase = PH_IDLE;
	d->status = ST_DRDY | ST_DSC | ST_ERR;
	d->error = error;
	ide_raise_irq(d->bus);
}

/* A PIO block is ready for the host: DRQ, and the interrupt (ATA-6 9.7,
 * 9.8: one per block; ATAPI 9.10: the byte count and reason). */
static void pio_block(struct ide_drive *d, bool irq)
{
	uint32_t n = MIN(d->drq_size, d->buf_len - d->buf_pos);
	d->drq_end = d->buf_pos + n;
	d->status = ST_DRDY | ST_DSC | ST_DRQ;
	if (d->cdrom) {
		d->lcyl = n;
		d->hcyl = n >> 8;
		d->nsector = d->write ? 0 : IR_IO;
	}
	if (irq)
		ide_raise_irq(d->bus);
}

/* The whole transfer is over. */
static void transfer_end(struct ide_drive *d, int ret)
{
	d->phase = PH_IDLE;
	if (d->cdrom && d->cmd == 0xa0)         /* a packet command's data */
		atapi_io_done(d, ret);
	else
		ata_io_done(d, ret);
}

/* Ask the image for the next chunk (a read), or hand it the one the host
 * filled (a write). */
static void next_chunk(struct ide_drive *d)
{
	uint32_t n = MIN(d->io_left, (uint64_t)IDE_CHUNK);
	if (d->write) {
		ide_submit(d, BLK_WRITE, d->io_off, d->buf_len);
		return;
	}
	ide_submit(d, BLK_READ, d->io_off, n);
	d->buf_len = n;
	d->buf_pos = 0;
}

/* Set up a PIO-out buffer for the next chunk the host sends. */
static void out_chunk(struct ide_drive *d, bool irq)
{
	d->buf_len = MIN(d->io_left, (uint64_t)IDE_CHUNK);
	d->buf_pos = 0;
	d->phase = PH_PIO_OUT;
	pio_block(d, irq);
}

static void image_done_locked(struct ide_drive *d, int ret)
{
	d->in_flight = false;
	if (d->cancelled) {             /* SRST or reset while it ran */
		d->cancelled = false;
		d->phase = PH_IDLE;
		ide_set_signature(d);
		return;
	}
	if (d->req.op == BLK_FLUSH || ret < 0) {
		if (ret < 0 && d->dma)
			ide_bm_end(d->bus, false);
		transfer_end(d, ret);
		return;
	}
	uint32_t n = d->req.len;
	d->io_off += n;
	d->io_left -= n;
	if (d->write) {
		if (!d->io_left) {
			if (d->dma)
				ide_bm_end(d->bus, false);
			transfer_end(d, 0);
		} else if (d->dma) {
			d->phase = PH_DMA;
			ide_bm_kick(d->bus);
		} else
			out_chunk(d, true);
		return;
	}
	if (d->dma) {
		d->phase = PH_DMA;
		ide_bm_kick(d->bus);
		return;
	}
	d->phase = PH_PIO_IN;
	pio_block(d, true);
}

static void image_done(struct blk_req *req, int ret)
{
	struct ide_drive *d = req->opaque;
	struct ide_ctrl *c = d->bus->ctrl;
	if (ret < 0)
		qvm_log(LOG_GUEST_ERRORS, "ide: %s: %s at %llu: error %d", d->name,
			req->op == BLK_READ ? "read" : req->op == BLK_WRITE ? "write" : "flush",
			(unsigned long long)req->offset, ret);
	pthread_mutex_lock(&c->lock);
	image_done_locked(d, ret);
	ide_unlock(c);
}

void ide_start_buf_in(struct ide_drive *d, uint32_t len, uint32_t drq_size, bool dma)
{
	dma |= d->bus->ctrl->xport != NULL;     /* AHCI: always through the PRDT */
	d->write = false;
	d->dma = dma;
	d->io_left = 0;
	d->buf_len = len;
	d->buf_pos = 0;
	d->drq_size = drq_size;
	if (dma) {
		d->phase = PH_DMA;
		d->status = ST_DRDY | ST_DSC | ST_DRQ;
		ide_bm_kick(d->bus);
	} else {
		d->phase = PH_PIO_IN;
		pio_block(d, true);
	}
}

void ide_start_image(struct ide_drive *d, uint64_t offset, uint64_t bytes, bool write,
		     uint32_t drq_size, bool dma)
{
	dma |= d->bus->ctrl->xport != NULL;
	d->write = write;
	d->dma = dma;
	d->io_off = offset;
	d->io_left = bytes;
	d->drq_size = drq_size;
	d->buf_len = d->buf_pos = 0;
	if (dma) {
		d->phase = PH_DMA;
		d->status = ST_DRDY | ST_DSC | ST_DRQ;
		ide_bm_kick(d->bus);
	} else if (write) {
		out_chunk(d, false);    /* the first block needs no interrupt */
	} else {
		next_chunk(d);
	}
}

void ide_start_flush(struct ide_drive *d)
{
	d->write = false;
	ide_submit(d, BLK_FLUSH, 0, 0);
}

/* DMA, lock held: the engine moved d->buf; go on (ide_bm.c calls these). */
void ide_bm_start_transfer(struct ide_bus *b)
{
	struct ide_drive *d = ide_selected(b);
	if (d->phase != PH_DMA || !d->dma)
		return;
	if (d->write) {
		uint32_t n = MIN(d->io_left, (uint64_t)IDE_CHUNK);
		if (ide_bm_from_memory(b, d->buf, n) < 0) {
			ide_bm_end(b, true);
			transfer_end(d, -EFAULT);
			return;
		}
		d->buf_len = n;
		next_chunk(d);
		return;
	}
	if (d->buf_len && ide_bm_to_memory(b, d->buf, d->buf_len) < 0) {
		ide_bm_end(b, true);
		transfer_end(d, -EFAULT);
		return;
	}
	d->buf_len = 0;
	if (d->io_left) {
		next_chunk(d);
		return;
	}
	ide_bm_end(b, false);
	transfer_end(d, 0);
}

/* The host moved size bytes of data (PIO): block boundaries. */
static void pio_advance(struct ide_drive *d)
{
	if (d->buf_pos < d->drq_end)
		return;
	if (d->buf_pos < d->buf_len) {
		pio_block(d, true);
		return;
	}
	if (d->phase == PH_PIO_OUT) {
		next_chunk(d);
		return;
	}
	if (d->io_left)
		next_chunk(d);
	else
		transfer_end(d, 0);
}

static uint32_t data_read(struct ide_drive *d, unsigned size)
{
	if (d->phase != PH_PIO_IN || !(d->status & ST_DRQ))
		return 0xffffffffu >> (32 - 8 * size);
	uint32_t v = 0;
	unsigned n = MIN(size, d->drq_end - d->buf_pos);
	memcpy(&v, d->buf + d->buf_pos, n);
	d->buf_pos += n;
	pio_advance(d);
	return v;
}

static void data_write(struct ide_drive *d, uint32_t v, unsigned size)
{
	if (d->phase == PH_PACKET) {
		unsigned n = MIN(size, 12 - d->buf_pos);
		memcpy(d->packet + d->buf_pos, &v, n);
		d->buf_pos += n;
		if (d->buf_pos == 12) {
			d->phase = PH_IDLE;
			d->status = ST_DRDY | ST_DSC;
			atapi_exec(d);
		}
		return;
	}
	if (d->phase != PH_PIO_OUT || !(d->status & ST_DRQ))
		return;
	unsigned n = MIN(size, d->drq_end - d->buf_pos);
	memcpy(d->buf + d->buf_pos, &v, n);
	d->buf_pos += n;
	pio_advance(d);
}

/* ---- resets and signatures ---- */

/* ATA-6 9.12: the signature and status after a reset or a diagnostic. */
void ide_set_signature(struct ide_drive *d)
{
	d->nsector = d->sector = 1;
	d->select &= 0x10;
	if (d->cdrom) {
		d->lcyl = 0x14;
		d->hcyl = 0xeb;
		d->status = 0;
	} else {
		d->lcyl = d->hcyl = 0;
		d->status = ST_DRDY | ST_DSC;
	}
	d->error = 1;                   /* diagnostic passed */
}

void ide_drive_reset(struct ide_drive *d, bool hard)
{
	d->phase = PH_IDLE;
	d->cancelled = d->in_flight;
	d->mult = 0;
	d->xfer_mode = 0;
	d->cur_heads = d->heads;
	d->cur_secs = d->secs;
	d->sense_key = d->asc = 0;
	if (hard) {
		d->select = d->unit << 4;
		d->locked = false;
		d->write_cache = true;
	}
	if (d->in_flight)
		d->status = ST_BSY;     /* ready when the request ends */
	else
		ide_set_signature(d);
}

static void bus_reset(struct ide_bus *b, bool hard)
{
	for (unsigned u = 0; u < 2; u++)
		ide_drive_reset(&b->drive[u], hard);
	b->irq_pending = false;
	if (hard) {
		b->devctl = 0;
		b->bm.cmd = 0;
		b->bm.status &= BM_ST_CAPS;
		b->bm.prdt = 0;
	}
	ide_update_irq(b);
}

/* ---- the command block (base+0..7) and the control block (+0x206) ---- */

static void write_taskfile(struct ide_bus *b, unsigned reg, uint8_t v)
{
	for (unsigned u = 0; u < 2; u++) {
		struct ide_drive *d = &b->drive[u];
		switch (reg) {
		case 1: d->hob_feature = d->feature; d->feature = v; break;
		case 2: d->hob_nsector = d->nsector; d->nsector = v; break;
		case 3: d->hob_sector = d->sector; d->sector = v; break;
		case 4: d->hob_lcyl = d->lcyl; d->lcyl = v; break;
		case 5: d->hob_hcyl = d->hcyl; d->hcyl = v; break;
		case 6: d->select = v; break;
		}
	}
	b->devctl &= ~DC_HOB;           /* ATA-6 7.9: a write clears HOB */
}

static void exec_command(struct ide_bus *b, uint8_t cmd)
{
	struct ide_drive *d = ide_selected(b);
	if (!d->present)
		return;                 /* no device answers */
	if (d->status & ST_BSY)
		return;                 /* ATA-6 7.1: ignored while busy */
	b->irq_pending = false;
	ide_update_irq(b);
	d->cmd = cmd;
	d->error = 0;
	ata_exec(d, cmd);
}

static uint8_t read_taskfile(struct ide_bus *b, unsigned reg)
{
	struct ide_drive *d = ide_selected(b);
	bool hob = b->devctl & DC_HOB;
	if (!b->drive[0].present && !b->drive[1].present)
		return 0xff;            /* nothing on the cable */
	if (!d->present)
		return reg == 6 ? d->select : 0;
	switch (reg) {
	case 1: return d->error;
	case 2: return hob ? d->hob_nsector : d->nsector;
	case 3: return hob ? d->hob_sector : d->sector;
	case 4: return hob ? d->hob_lcyl : d->lcyl;
	case 5: return hob ? d->hob_hcyl : d->hcyl;
	case 6: return d->select;
	default:
		b->irq_pending = false; /* reading status acknowledges */
		ide_update_irq(b);
		return d->status;
	}
}

static uint64_t cmd_read(void *opaque, uint64_t off, unsigned size)
{
	struct ide_bus *b = opaque;
	struct ide_ctrl *c = b->ctrl;
	uint64_t v;
	pthread_mutex_lock(&c->lock);
	if (off == 0)
		v = ide_selected(b)->present ? data_read(ide_selected(b), MIN(size, 4u)) : 0;
	else
		v = read_taskfile(b, off & 7);
	ide_unlock(c);
	return v;
}

static void cmd_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
	struct ide_bus *b = opaque;
	struct ide_ctrl *c = b->ctrl;
	pthread_mutex_lock(&c->lock);
	if (off == 0) {
		if (ide_selected(b)->present)
			data_write(ide_selected(b), v, MIN(size, 4u));
	} else if ((off & 7) == 7) {
		exec_command(b, v);
	} else {
		write_taskfile(b, off & 7, v);
	}
	ide_unlock(c);
}

static uint64_t ctl_read(void *opaque, uint64_t off, unsigned size)
{
	(void)size;
	struct ide_bus *b = opaque;
	struct ide_ctrl *c = b->ctrl;
	if (off)
		return 0xff;            /* 0x3f7 is the floppy's */
	pthread_mutex_lock(&c->lock);
	struct ide_drive *d = ide_selected(b);
	uint8_t v = !b->drive[0].present && !b->drive[1].present ? 0xff :
		    d->present ? d->status : 0;
	pthread_mutex_unlock(&c->lock);
	return v;
}

static void ctl_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
	(void)size;
	struct ide_bus *b = opaque;
	struct ide_ctrl *c = b->ctrl;
	if (off)
		return;
	pthread_mutex_lock(&c->lock);
	uint8_t old = b->devctl;
	b->devctl = v;
	if ((v & DC_SRST) && !(old & DC_SRST)) {
		for (unsigned u = 0; u < 2; u++) {
			struct ide_drive *d = &b->drive[u];
			d->cancelled = d->in_flight;
			d->phase = PH_IDLE;
			d->status = ST_BSY;
		}
	} else if (!(v & DC_SRST) && (old & DC_SRST)) {
		bus_reset(b, false);
	}
	ide_update_irq(b);
	pthread_mutex_unlock(&c->lock);
}

static const struct io_ops cmd_ops = { .read = cmd_read, .write = cmd_write };
static const struct io_ops ctl_ops = { .read = ctl_read, .write = ctl_write };

/* ---- the PCI function ---- */

/* BAR4 is mapped where the guest put it while I/O decoding is on. */
static void update_bm_bar(struct ide_ctrl *c)
{
	uint32_t addr = pci_device_bar(c->pci, 4);
	uint16_t want = 0;
	if ((pci_config_get(c->pci, 0x04, 2) & 1) && addr && addr < 0xfff0)
		want = addr;
	if (want == c->bm_mapped)
		return;
	if (c->bm_mapped)
		machine_remove_region(c->m, REGION_PIO, c->bm_mapped);
	c->bm_mapped = 0;
	if (want && machine_add_pio(c->m, want, 16, &ide_bm_ops, c, "piix3-ide-bm") == 0)
		c->bm_mapped = want;
}

static void ide_config_write(struct pci_device *pd, unsigned off, unsigned size)
{
	if (off < 0x06 || (off < 0x24 && off + size > 0x20))
		update_bm_bar(pd->opaque);
}

static const struct pci_device_ops ide_pci_ops = { .config_write = ide_config_write };

/* IDETIM (0x40, 0x42): bit 15 enables a channel's decode.  Firmware sets
 * it (SeaBIOS does; ata_piix checks it): qvm sets it at reset too, for
 * -kernel boots, and decodes the channels whatever it says. */
static void pci_reset(struct ide_ctrl *c)
{
	if (!c->pci)
		return;
	pci_config_set(c->pci, 0x40, 0x8000, 2);
	pci_config_set(c->pci, 0x42, 0x8000, 2);
	update_bm_bar(c);
}

/* ---- device_ops ---- */

static void ide_reset(void *opaque)
{
	struct ide_ctrl *c = opaque;
	for (unsigned i = 0; i < 2; i++)
		for (unsigned u = 0; u < 2; u++)
			if (c->bus[i].drive[u].blk)
				blk_drain(c->bus[i].drive[u].blk);   /* main thread */
	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < 2; i++)
		bus_reset(&c->bus[i], true);
	pci_reset(c);
	pthread_mutex_unlock(&c->lock);
}

static void ide_quiesce(void *opaque)
{
	struct ide_ctrl *c = opaque;
	for (unsigned i = 0; i < 2; i++)
		for (unsigned u = 0; u < 2; u++)
			if (c->bus[i].drive[u].blk)
				blk_drain(c->bus[i].drive[u].blk);
}

static void ide_destroy(void *opaque)
{
	struct ide_ctrl *c = opaque;
	for (unsigned i = 0; i < 2; i++) {
		for (unsigned u = 0; u < 2; u++) {
			struct ide_drive *d = &c->bus[i].drive[u];
			if (d->blk)
				blk_close(d->blk);
			free(d->buf);
		}
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static const struct device_ops ide_dev_ops = {
	.name = "piix3-ide",
	.reset = ide_reset,
	.quiesce = ide_quiesce,
	.save = ide_save,
	.load = ide_load,
	.destroy = ide_destroy,
};

/* ---- the API (hw.h) ---- */

struct ide_ctrl *ide_new(struct machine *m, struct pci_host *h, unsigned slot, unsigned fn)
{
	struct ide_ctrl *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->m = m;
	pthread_mutex_init(&c->lock, NULL);
	for (unsigned i = 0; i < 2; i++) {
		struct ide_bus *b = &c->bus[i];
		b->ctrl = c;
		b->index = i;
		b->irq = bus_irq[i];
		for (unsigned u = 0; u < 2; u++) {
			b->drive[u].bus = b;
			b->drive[u].unit = u;
		}
	}
	machine_add_device(m, &ide_dev_ops, c);
	for (unsigned i = 0; i < 2; i++)
		if (machine_add_pio(m, cmd_port[i], 8, &cmd_ops, &c->bus[i], "ide") < 0 ||
		    machine_add_pio(m, ctl_port[i], 1, &ctl_ops, &c->bus[i], "ide-ctl") < 0)
			return NULL;
	if (h) {
		c->pci = pci_register_device(h, slot, fn, 0x8086, PIIX3_IDE_DEVICE, IDE_CLASS, 0,
					     &ide_pci_ops, c);
		if (!c->pci)
			return NULL;
		pci_device_set_bar(c->pci, 4, 16, PCI_BAR_IO);
		c->pci->wmask[0x40] = c->pci->wmask[0x42] = 0xff;
		c->pci->wmask[0x41] = c->pci->wmask[0x43] = 0xf3;
		c->pci->wmask[0x44] = 0xff;  /* SIDETIM */
	}
	ide_reset(c);
	return c;
}

void ide_put_string(uint8_t *words, const char *s, unsigned nbytes)
{
	size_t len = strlen(s);
	for (unsigned i = 0; i < nbytes; i++)
		words[i ^ 1] = i < len ? s[i] : ' ';
}
