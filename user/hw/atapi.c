/*
 * ATAPI CD-ROM (ATA/ATAPI-6 section 9.10 for the PACKET protocol; the
 * commands from MMC-3 and SPC-3).  The medium is a read-only image of
 * 2048-byte sectors, or none (an empty drive): commands that need one
 * fail with NOT READY / MEDIUM NOT PRESENT, and after a change the next
 * command that would touch it fails once with UNIT ATTENTION / MEDIUM MAY
 * HAVE CHANGED, as a real drive reports it.  Lock held throughout.
 */
#include <string.h>
#include "ide-int.h"

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v); }
static uint16_t get16(const uint8_t *p) { return p[0] << 8 | p[1]; }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

static uint32_t cd_sectors(const struct ide_drive *d)
{
	uint64_t n = d->sectors / (CD_SECTOR / IDE_SECTOR);
	return n > 0xffffffffu ? 0xffffffffu : n;
}

/* IDENTIFY PACKET DEVICE data (ATA-6 8.16, table 30). */
void atapi_identify(struct ide_drive *d, uint8_t *buf)
{
	memset(buf, 0, IDE_SECTOR);
	/* ATAPI, CD-ROM (5), removable, DRQ within 50 us, 12-byte packets */
	buf[0] = 0xc0;
	buf[1] = 0x85;
	ide_put_string(buf + 20, d->serial, 20);
	ide_put_string(buf + 46, "2.5+", 8);
	ide_put_string(buf + 54, d->model, 40);
	buf[98] = 0x00;
	buf[99] = 1 << 3 | 1 << 2 | 1 << 1; /* word 49: IORDY, LBA, DMA */
	buf[106] = 0x07;                    /* word 53: 64-70 and 88 valid */
	buf[126] = 0x07;                    /* word 63: MWDMA 0-2 */
	if ((d->xfer_mode >> 3) == 4)
		buf[127] = 1 << (d->xfer_mode & 7);
	buf[128] = 0x03;                    /* word 64: PIO 3, 4 */
	for (unsigned w = 65; w <= 68; w++)
		buf[2 * w] = 120;
	buf[160] = 0x7e;                    /* word 80: ATA/ATAPI-1..6 */
	buf[176] = 0x3f;                    /* word 88: UDMA 0-5 */
	if ((d->xfer_mode >> 3) == 8)
		buf[177] = 1 << (d->xfer_mode & 7);
}

/* The status phase (9.10): I/O and C/D set, DRDY, interrupt. */
void atapi_finish(struct ide_drive *d)
{
	d->phase = PH_IDLE;
	d->status = ST_DRDY | ST_DSC;
	d->error = 0;
	d->nsector = IR_IO | IR_COD;
	d->sense_key = d->asc = 0;
	ide_raise_irq(d->bus);
}

void atapi_check_condition(struct ide_drive *d, uint8_t key, uint8_t asc)
{
	d->phase = PH_IDLE;
	d->sense_key = key;
	d->asc = asc;
	d->status = ST_DRDY | ST_ERR;
	d->error = key << 4 | (key == SK_ILLEGAL_REQUEST ? ER_ABRT : 0);
	d->nsector = IR_IO | IR_COD;
	ide_raise_irq(d->bus);
}

void atapi_io_done(struct ide_drive *d, int ret)
{
	if (ret < 0)
		atapi_check_condition(d, SK_MEDIUM_ERROR, ASC_READ_ERROR);
	else
		atapi_finish(d);
}

/* Send len bytes of d->buf, at most alloc (the CDB's allocation length). */
static void reply(struct ide_drive *d, uint32_t len, uint32_t alloc)
{
	len = MIN(len, alloc);
	if (!len) {
		atapi_finish(d);
		return;
	}
	uint32_t limit = d->drq_size & ~1u;
	if (!limit || limit > 0xfffe)
		limit = 0xfffe;
	ide_start_buf_in(d, len, limit, d->dma);
}

static void request_sense(struct ide_drive *d, const uint8_t *p)
{
	uint8_t *b = d->buf;
	memset(b, 0, 18);
	b[0] = 0x70;                    /* current error, fixed format */
	b[2] = d->sense_key;
	b[7] = 10;
	b[12] = d->asc;
	d->sense_key = d->asc = 0;      /* reported: cleared (SPC-3 4.5.1) */
	reply(d, 18, p[4]);
}

static void inquiry(struct ide_drive *d, const uint8_t *p)
{
	uint8_t *b = d->buf;
	if (p[1] & 1) {                 /* EVPD: no vital product data pages */
		atapi_check_condition(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
		return;
	}
	memset(b, 0, 36);
	b[0] = 0x05;                    /* CD/DVD */
	b[1] = 0x80;                    /* removable */
	b[2] = 0x00;
	b[3] = 0x21;                    /* ATAPI, response format 1 */
	b[4] = 31;
	memcpy(b + 8, "QVM     ", 8);
	memcpy(b + 16, "QVM DVD-ROM     ", 16);
	memcpy(b + 32, "2.5+", 4);
	reply(d, 36, get16(p + 3));
}

/* READ TOC/PMA/ATIP (MMC-3 5.24): formats 0 (TOC), 1 (session), 2 (raw). */
static void lba_to_msf(uint8_t *b, uint32_t lba)
{
	lba += 150;
	b[0] = 0;
	b[1] = lba / (60 * 75);
	b[2] = lba / 75 % 60;
	b[3] = lba % 75;
}

static void put_addr(uint8_t *b, uint32_t lba, bool msf)
{
	if (msf)
		lba_to_msf(b, lba);
	else
		put32(b, lba);
}

static int toc_normal(struct ide_drive *d, uint8_t *b, bool msf, unsigned start)
{
	if (start > 1 && start != 0xaa)
		return -1;
	unsigned n = 4;
	b[2] = b[3] = 1;                /* first and last track */
	if (start <= 1) {               /* track 1: data, at LBA 0 */
		b[n] = 0; b[n + 1] = 0x14; b[n + 2] = 1; b[n + 3] = 0;
		put_addr(b + n + 4, 0, msf);
		n += 8;
	}
	b[n] = 0; b[n + 1] = 0x14; b[n + 2] = 0xaa; b[n + 3] = 0;   /* lead-out */
	put_addr(b + n + 4, cd_sectors(d), msf);
	n += 8;
	put16(b, n - 2);
	return n;
}

static int toc_session(uint8_t *b, bool msf)
{
	b[2] = b[3] = 1;                /* first and last session */
	b[4] = 0; b[5] = 0x14; b[6] = 1; b[7] = 0;
	put_addr(b + 8, 0, msf);
	put16(b, 10);
	return 12;
}

static int toc_raw(struct ide_drive *d, uint8_t *b, bool msf)
{
	(void)msf;                      /* the raw TOC is always MSF */
	static const uint8_t points[3] = { 0xa0, 0xa1, 0xa2 };
	unsigned n = 4;
	b[2] = b[3] = 1;
	for (unsigned i = 0; i < 4; i++, n += 11) {
		uint8_t *e = b + n;
		memset(e, 0, 11);
		e[0] = 1;               /* session */
		e[1] = 0x14;
		e[3] = i < 3 ? points[i] : 1;
		if (i == 0)
			e[8] = 1;       /* first track */
		else if (i == 1)
			e[8] = 1;       /* last track */
		else if (i == 2)
			lba_to_msf(e + 7, cd_sectors(d));
		else
			lba_to_msf(e + 7, 0);
	}
	put16(b, n - 2);
	return n;
}

static void read_toc(struct ide_drive *d, const uint8_t *p)
{
	bool msf = p[1] & 2;
	unsigned format = p[2] & 0xf;
	if (!format)
		format = p[9] >> 6;     /* the SFF-8020 place for it */
	uint8_t *b = d->buf;
	memset(b, 0, 64);
	int n = format == 0 ? toc_normal(d, b, msf, p[6]) : format == 1 ? toc_session(b, msf) :
		format == 2 ? toc_raw(d, b, msf) : -1;
	if (n < 0) {
		atapi_check_condition(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
		return;
	}
	reply(d, n, get16(p + 7));
}

/* GET CONFIGURATION (MMC-3 5.6): the profile list, core and removable
 * medium features.  Images over a CD's size say DVD-ROM. */
static void get_configuration(struct ide_drive *d, const uint8_t *p)
{
	uint8_t *b = d->buf;
	bool dvd = d->sectors > 1433600u * 2;   /* 700 MiB in 512-byte sectors */
	uint16_t current = !d->blk ? 0 : dvd ? 0x10 : 0x08;
	memset(b, 0, 64);
	put16(b + 6, current);
	unsigned n = 8;
	/* feature 0: profile list, DVD-ROM then CD-ROM */
	b[n + 2] = 0x03;
	b[n + 3] = 8;
	put16(b + n + 4, 0x10);
	b[n + 6] = current == 0x10;
	put16(b + n + 8, 0x08);
	b[n + 10] = current == 0x08;
	n += 12;
	/* feature 1: core, ATAPI */
	put16(b + n, 1);
	b[n + 2] = 0x0b;
	b[n + 3] = 8;
	put32(b + n + 4, 2);
	b[n + 8] = 1;                   /* DBE */
	n += 12;
	/* feature 3: removable medium, tray, eject, lock */
	put16(b + n, 3);
	b[n + 2] = 0x0b;
	b[n + 3] = 4;
	b[n + 4] = 0x29 | (d->locked ? 0x04 : 0);
	n += 8;
	unsigned rt = p[1] & 3, start = get16(p + 2);
	if (rt == 2 && start) {         /* one feature asked: leave the rest */
		n = 8;
	}
	put32(b, n - 4);
	reply(d, n, get16(p + 7));
}

/* GET EVENT STATUS NOTIFICATION (MMC-3 5.5), polled only: media events. */
static void get_event_status(struct ide_drive *d, const uint8_t *p)
{
	uint8_t *b = d->buf;
	if (!(p[1] & 1)) {
		atapi_check_condition(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
		return;
	}
	memset(b, 0, 8);
	b[3] = 1 << 4;                  /* supported classes: media */
	unsigned n = 4;
	if (p[4] & (1 << 4)) {
		b[2] = 4;               /* media class */
		b[4] = d->event;
		b[5] = d->blk ? 0x02 : 0x00;    /* media present; door closed */
		d->event = EV_NONE;
		n = 8;
	} else {
		b[2] = 0x80;            /* NEA: no class asked is supported */
	}
	put16(b, n - 2);
	reply(d, n, get16(p + 7));
}

/* MODE SENSE(10) (SPC-3 6.10): error recovery (01h) and the CD
 * capabilities page (2Ah, MMC-3 table 356). */
static void mode_sense(struct ide_drive *d, const uint8_t *p)
{
	uint8_t *b = d->buf;
	unsigned pc = p[2] >> 6, page = p[2] & 0x3f, n = 8;
	if (pc == 3) {
		atapi_check_condition(d, SK_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED);
		return;
	}
	if (page != 0x01 && page != 0x2a && page != 0x3f) {
		atapi_check_condition(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
		return;
	}
	memset(b, 0, 64);
	b[2] = d->blk ? 0x70 : 0x71;    /* medium type: none, or a door open */
	if (page == 0x01 || page == 0x3f) {
		b[n] = 0x01;
		b[n + 1] = 6;
		b[n + 3] = 5;           /* read retry count */
		n += 8;
	}
	if (page == 0x2a || page == 0x3f) {
		uint8_t *c = b + n;
		c[0] = 0x2a;
		c[1] = 0x14;
		c[2] = 0x3b;            /* reads CD-R/RW, DVD-ROM... */
		c[4] = 0x71;            /* audio play, multisession, mode 2 */
		c[5] = 0x03;            /* CD-DA commands, accurate */
		c[6] = 0x29 | (d->locked ? 0x02 : 0);   /* lock, eject, tray */
		put16(c + 8, 706);      /* max speed KB/s (4x) */
		put16(c + 10, 256);     /* volume levels */
		put16(c + 12, 2048);    /* buffer KB */
		put16(c + 14, 706);
		n += 22;
	}
	put16(b, n - 2);
	reply(d, n, get16(p + 7));
}

static void read_disc_information(struct ide_drive *d, const uint8_t *p)
{
	uint8_t *b = d->buf;
	if (p[1] & 7) {                 /* only the standard data type */
		atapi_check_condition(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
		return;
	}
	memset(b, 0, 34);
	put16(b, 32);
	b[2] = 0x0e;                    /* last session complete, disc finalized */
	b[3] = 1;                       /* first track */
	b[4] = 1;                       /* sessions */
	b[5] = 1;                       /* first track of the last session */
	b[6] = 1;                       /* last track of the last session */
	b[7] = 0x20;                    /* unrestricted use */
	b[8] = 0x00;                    /* CD-DA or CD-ROM */
	put32(b + 16, 0xffffffffu);     /* no lead-in start */
	put32(b + 20, 0xffffffffu);
	reply(d, 34, get16(p + 7));
}

static void read_cd(struct ide_drive *d, uint32_t lba, uint32_t count)
{
	uint32_t total = cd_sectors(d);
	if (lba > total || count > total - lba) {
		atapi_check_condition(d, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return;
	}
	if (!count) {
		atapi_finish(d);
		return;
	}
	uint32_t limit = d->drq_size & ~1u;
	if (!limit || limit > 0xfffe)
		limit = 0xfffe;
	ide_start_image(d, (uint64_t)lba * CD_SECTOR, (uint64_t)count * CD_SECTOR, false,
			limit, d->dma);
}

static void start_stop(struct ide_drive *d, const uint8_t *p)
{
	bool loej = p[4] & 2, start = p[4] & 1;
	if (loej && !start) {
		if (d->locked) {
			atapi_check_condition(d, SK_NOT_READY, ASC_REMOVAL_PREVENTED);
			return;
		}
		if (d->blk)
			ide_guest_eject(d);     /* the tray opens */
	}
	atapi_finish(d);
}

/* Commands that report a missing medium or a pending change. */
static bool needs_medium(uint8_t op)
{
	switch (op) {
	case 0x03: case 0x12: case 0x4a: case 0x46: case 0x1e: case 0x1b: case 0x5a: case 0xbd:
		return false;
	default:
		return true;
	}
}

void atapi_exec(struct ide_drive *d)
{
	const uint8_t *p = d->packet;
	uint8_t op = p[0];
	if (needs_medium(op)) {
		if (d->medium_changed && d->blk) {
			d->medium_changed = false;
			atapi_check_condition(d, SK_UNIT_ATTENTION, ASC_MEDIUM_CHANGED);
			return;
		}
		if (!d->blk) {
			atapi_check_condition(d, SK_NOT_READY, ASC_NO_MEDIUM);
			return;
		}
	}
	switch (op) {
	case 0x00:                              /* TEST UNIT READY */
		atapi_finish(d);
		return;
	case 0x03: request_sense(d, p); return;
	case 0x12: inquiry(d, p); return;
	case 0x1b: start_stop(d, p); return;
	case 0x1e:                              /* PREVENT ALLOW MEDIUM REMOVAL */
		d->locked = p[4] & 1;
		atapi_finish(d);
		return;
	case 0x25: {                            /* READ CAPACITY */
		put32(d->buf, cd_sectors(d) - 1);
		put32(d->buf + 4, CD_SECTOR);
		reply(d, 8, 8);
		return;
	}
	case 0x28: read_cd(d, get32(p + 2), get16(p + 7)); return;
	case 0xa8: read_cd(d, get32(p + 2), get32(p + 6)); return;
	case 0x2b: case 0xbb:                   /* SEEK, SET CD SPEED */
		atapi_finish(d);
		return;
	case 0x43: read_toc(d, p); return;
	case 0x46: get_configuration(d, p); return;
	case 0x4a: get_event_status(d, p); return;
	case 0x51: read_disc_information(d, p); return;
	case 0x5a: mode_sense(d, p); return;
	case 0xbd:                              /* MECHANISM STATUS */
		memset(d->buf, 0, 8);
		d->buf[1] = d->blk ? 0 : 0x10;  /* door open without a medium */
		reply(d, 8, get16(p + 8));
		return;
	default:
		atapi_check_condition(d, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	}
}
