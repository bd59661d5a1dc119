/*
 * ATA commands of an IDE disk (ATA/ATAPI-6, T13/1410D, section 8), and the
 * commands an ATAPI device answers through the ATA command register
 * (IDENTIFY PACKET DEVICE, PACKET, DEVICE RESET, 9.12's signature for the
 * rest).  Lock held throughout (ide-int.h).
 */
#include <string.h>
#include "ide-int.h"

/* A geometry for CHS callers (old loaders, the BIOS): 16 heads, 63
 * sectors, at most 16383 cylinders (ATA-6 6.2.1's limits). */
void ata_set_geometry(struct ide_drive *d)
{
	uint64_t cyls = d->sectors / (16 * 63);
	d->heads = 16;
	d->secs = 63;
	d->cyls = cyls > 16383 ? 16383 : cyls ? cyls : 1;
	d->cur_heads = d->heads;
	d->cur_secs = d->secs;
}

static void put16(uint8_t *buf, unsigned word, uint16_t v)
{
	buf[2 * word] = v;
	buf[2 * word + 1] = v >> 8;
}

/* IDENTIFY DEVICE data (ATA-6 8.15.8, table 27). */
void ata_identify(struct ide_drive *d, uint8_t *buf)
{
	uint64_t lba28 = d->sectors > 0x0fffffff ? 0x0fffffff : d->sectors;
	uint64_t chs = (uint64_t)d->cur_heads * d->cur_secs * d->cyls;
	memset(buf, 0, IDE_SECTOR);
	put16(buf, 0, 0x0040);                  /* fixed device */
	put16(buf, 1, d->cyls);
	put16(buf, 3, d->heads);
	put16(buf, 6, d->secs);
	ide_put_string(buf + 20, d->serial, 20);
	ide_put_string(buf + 46, "2.5+", 8);
	ide_put_string(buf + 54, d->model, 40);
	put16(buf, 47, 0x8000 | IDE_MAX_MULT);
	put16(buf, 49, 1 << 11 | 1 << 9 | 1 << 8);   /* IORDY, LBA, DMA */
	put16(buf, 50, 0x4000);
	put16(buf, 51, 0x200);
	put16(buf, 52, 0x200);
	put16(buf, 53, 0x7);                    /* words 54-58, 64-70, 88 valid */
	put16(buf, 54, d->cyls);
	put16(buf, 55, d->cur_heads);
	put16(buf, 56, d->cur_secs);
	if (chs > 0xfffffff)
		chs = 0xfffffff;
	put16(buf, 57, chs);
	put16(buf, 58, chs >> 16);
	put16(buf, 59, d->mult ? 0x100 | d->mult : 0);
	put16(buf, 60, lba28);
	put16(buf, 61, lba28 >> 16);
	put16(buf, 63, 0x07 | ((d->xfer_mode >> 3) == 4 ? 0x100 << (d->xfer_mode & 7) : 0));
	put16(buf, 64, 0x03);                   /* PIO 3 and 4 */
	put16(buf, 65, 120);
	put16(buf, 66, 120);
	put16(buf, 67, 120);
	put16(buf, 68, 120);
	put16(buf, 80, 0x7e);                   /* ATA-1 to ATA-6 */
	put16(buf, 82, 1 << 14 | 1 << 5);       /* NOP, write cache */
	put16(buf, 83, 1 << 14 | 1 << 13 | 1 << 12 | 1 << 10);   /* FLUSH (EXT), 48-bit */
	put16(buf, 84, 1 << 14);
	put16(buf, 85, 1 << 14 | (d->write_cache ? 1 << 5 : 0));
	put16(buf, 86, 1 << 13 | 1 << 12 | 1 << 10);
	put16(buf, 87, 1 << 14);
	put16(buf, 88, 0x3f | ((d->xfer_mode >> 3) == 8 ? 0x100 << (d->xfer_mode & 7) : 0));
	put16(buf, 93, 1 << 14 | 1 << 13 | 1);
	for (unsigned i = 0; i < 4; i++)
		put16(buf, 100 + i, d->sectors >> 16 * i);
}

/* The starting sector and count of a read/write command from the task
 * file; false (IDNF) when the address is not on the disk. */
static bool rw_range(struct ide_drive *d, bool lba48, uint64_t *lba, uint32_t *count)
{
	if (lba48) {
		*lba = (uint64_t)d->hob_hcyl << 40 | (uint64_t)d->hob_lcyl << 32 |
		       (uint64_t)d->hob_sector << 24 | (uint64_t)d->hcyl << 16 |
		       (uint64_t)d->lcyl << 8 | d->sector;
		*count = d->hob_nsector << 8 | d->nsector;
		if (!*count)
			*count = 65536;
	} else {
		*count = d->nsector ? d->nsector : 256;
		if (d->select & 0x40) {
			*lba = (uint64_t)(d->select & 0xf) << 24 | d->hcyl << 16 | d->lcyl << 8 |
			       d->sector;
		} else {                        /* CHS (ATA-6 6.2.1) */
			unsigned cyl = d->hcyl << 8 | d->lcyl, head = d->select & 0xf;
			if (!d->sector || d->sector > d->cur_secs || head >= d->cur_heads)
				return false;
			*lba = ((uint64_t)cyl * d->cur_heads + head) * d->cur_secs + d->sector - 1;
		}
	}
	return *lba <= d->sectors && *count <= d->sectors - *lba;
}

enum rw_kind { RW_PIO, RW_MULT, RW_DMA };

static void ata_rw(struct ide_drive *d, bool write, bool lba48, enum rw_kind kind)
{
	uint64_t lba;
	uint32_t count;
	if (!d->blk) {
		ide_cmd_abort(d, ER_ABRT);
		return;
	}
	if (kind == RW_MULT && !d->mult) {
		ide_cmd_abort(d, ER_ABRT);      /* 8.23: multiple mode off */
		return;
	}
	if (!rw_range(d, lba48, &lba, &count)) {
		ide_cmd_abort(d, ER_IDNF | ER_ABRT);
		return;
	}
	if (write && blk_is_readonly(d->blk)) {
		ide_cmd_abort(d, ER_ABRT);
		return;
	}
	uint32_t block = kind == RW_MULT ? d->mult * IDE_SECTOR : IDE_SECTOR;
	ide_start_image(d, lba * IDE_SECTOR, (uint64_t)count * IDE_SECTOR, write, block,
			kind == RW_DMA);
}

void ata_io_done(struct ide_drive *d, int ret)
{
	if (ret < 0)
		ide_cmd_abort(d, d->write || d->cmd == 0xe7 || d->cmd == 0xea ? ER_ABRT : ER_UNC);
	else if (d->write || d->dma || d->cmd == 0xe7 || d->cmd == 0xea)
		ide_cmd_ok(d);
	else
		d->status = ST_DRDY | ST_DSC;   /* PIO in: no interrupt at the end */
}

static void set_features(struct ide_drive *d)
{
	switch (d->feature) {
	case 0x03: {                            /* set transfer mode */
		uint8_t cls = d->nsector >> 3, mode = d->nsector & 7;
		if ((cls == 0 || cls == 1) ? mode > 4 : cls == 4 ? mode > 2 : cls == 8 ? mode > 5 : 1) {
			ide_cmd_abort(d, ER_ABRT);
			return;
		}
		d->xfer_mode = d->nsector;
		break;
	}
	case 0x02: d->write_cache = true; break;
	case 0x82: d->write_cache = false; break;
	case 0x66: case 0xcc: case 0xaa: case 0x55:   /* defaults, look-ahead */
		break;
	default:
		ide_cmd_abort(d, ER_ABRT);
		return;
	}
	ide_cmd_ok(d);
}

/* EXECUTE DEVICE DIAGNOSTIC (ATA-6 8.11): both devices of the cable run
 * it and show their signatures; one interrupt. */
static void diagnostic(struct ide_drive *d)
{
	for (unsigned u = 0; u < 2; u++)
		if (d->bus->drive[u].present && !d->bus->drive[u].in_flight)
			ide_set_signature(&d->bus->drive[u]);
	ide_raise_irq(d->bus);
}

/* Commands of an ATAPI device's ATA register set (ATA-6 8.x, 9.12). */
static void atapi_ata_command(struct ide_drive *d, uint8_t cmd)
{
	switch (cmd) {
	case 0xa1:                              /* IDENTIFY PACKET DEVICE */
		atapi_identify(d, d->buf);
		ide_start_buf_in(d, IDE_SECTOR, IDE_SECTOR, false);
		return;
	case 0xa0:                              /* PACKET */
		if (d->feature & 0x02) {        /* overlapped: not supported */
			ide_cmd_abort(d, ER_ABRT);
			return;
		}
		d->dma = d->feature & 1;
		d->drq_size = d->lcyl | d->hcyl << 8;
		d->phase = PH_PACKET;
		d->buf_pos = 0;
		d->status = ST_DRDY | ST_DRQ;
		d->nsector = IR_COD;
		return;
	case 0x08:                              /* DEVICE RESET */
		d->phase = PH_IDLE;
		ide_set_signature(d);
		d->status = 0;
		return;
	case 0x90:
		diagnostic(d);
		return;
	case 0xef:
		set_features(d);
		return;
	case 0xe5:
		d->nsector = 0xff;
		ide_cmd_ok(d);
		return;
	case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0x00:
		ide_cmd_ok(d);
		return;
	default:
		/* IDENTIFY DEVICE and the rest: abort with the signature in
		 * place, so a driver learns it is a packet device (9.12) */
		ide_set_signature(d);
		ide_cmd_abort(d, ER_ABRT);
	}
}

void ata_exec(struct ide_drive *d, uint8_t cmd)
{
	if (d->cdrom) {
		atapi_ata_command(d, cmd);
		return;
	}
	switch (cmd) {
	case 0xec:                              /* IDENTIFY DEVICE */
		ata_identify(d, d->buf);
		ide_start_buf_in(d, IDE_SECTOR, IDE_SECTOR, false);
		return;
	case 0x20: case 0x21: ata_rw(d, false, false, RW_PIO); return;
	case 0x24: ata_rw(d, false, true, RW_PIO); return;
	case 0x30: case 0x31: ata_rw(d, true, false, RW_PIO); return;
	case 0x34: ata_rw(d, true, true, RW_PIO); return;
	case 0xc4: ata_rw(d, false, false, RW_MULT); return;
	case 0x29: ata_rw(d, false, true, RW_MULT); return;
	case 0xc5: ata_rw(d, true, false, RW_MULT); return;
	case 0x39: ata_rw(d, true, true, RW_MULT); return;
	case 0xc8: case 0xc9: ata_rw(d, false, false, RW_DMA); return;
	case 0x25: ata_rw(d, false, true, RW_DMA); return;
	case 0xca: case 0xcb: ata_rw(d, true, false, RW_DMA); return;
	case 0x35: ata_rw(d, true, true, RW_DMA); return;
	case 0xc6:                              /* SET MULTIPLE MODE (8.39) */
		if (d->nsector > IDE_MAX_MULT || (d->nsector & (d->nsector - 1))) {
			ide_cmd_abort(d, ER_ABRT);
			return;
		}
		d->mult = d->nsector;
		ide_cmd_ok(d);
		return;
	case 0xe7: case 0xea:                   /* FLUSH CACHE (EXT) */
		if (!d->blk || blk_is_readonly(d->blk)) {
			ide_cmd_ok(d);
			return;
		}
		ide_start_flush(d);
		return;
	case 0xef:
		set_features(d);
		return;
	case 0x91:                              /* INITIALIZE DEVICE PARAMETERS */
		if (!d->nsector) {
			ide_cmd_abort(d, ER_ABRT);
			return;
		}
		d->cur_heads = (d->select & 0xf) + 1;
		d->cur_secs = d->nsector;
		ide_cmd_ok(d);
		return;
	case 0x40: case 0x41: case 0x42: {      /* READ VERIFY SECTORS (EXT) */
		uint64_t lba;
		uint32_t count;
		if (!d->blk || !rw_range(d, cmd == 0x42, &lba, &count))
			ide_cmd_abort(d, ER_IDNF | ER_ABRT);
		else
			ide_cmd_ok(d);
		return;
	}
	case 0x90:                              /* EXECUTE DEVICE DIAGNOSTIC */
		diagnostic(d);
		return;
	case 0xe5:                              /* CHECK POWER MODE: active */
		d->nsector = 0xff;
		ide_cmd_ok(d);
		return;
	case 0x70:                              /* SEEK */
	case 0xe0: case 0xe1: case 0xe2: case 0xe3:   /* standby, idle */
		ide_cmd_ok(d);
		return;
	default:
		if (cmd >= 0x10 && cmd <= 0x1f) {   /* RECALIBRATE */
			ide_cmd_ok(d);
			return;
		}
		ide_cmd_abort(d, ER_ABRT);
	}
}
