/*
 * The IDE controller's insides, shared by ide.c (ports, registers, the
 * data phase, interrupts, the PCI function), ide_media.c (drives and
 * media), ide_bm.c (bus-master DMA), ide_state.c (save/load),
 * ata.c (ATA commands) and atapi.c (ATAPI packet commands).
 *
 * Spec references: ATA/ATAPI-6 (T13/1410D) for the task file, the
 * protocols and the commands; SFF-8038i for the bus-master registers and
 * the PRD table; MMC-3/SPC-3 for the packet commands; the Intel 82371SB
 * (PIIX3) datasheet for the PCI function.
 *
 * Locking: one mutex per controller (ctrl->lock) covers everything below.
 * Port accesses take it on vCPU threads, block-layer completions on the
 * main thread.  A request for the image is prepared under the lock
 * (ide_submit marks it) and handed to blk_submit() after the lock is
 * dropped (ide_unlock), since a completion may run inline.
 */
#ifndef QVM_IDE_INT_H
#define QVM_IDE_INT_H

#include <pthread.h>
#include "block/block.h"
#include "qvm.h"

struct machine;

#define IDE_SECTOR 512
#define CD_SECTOR 2048
#define IDE_CHUNK (1024 * 1024)          /* image bytes per request */
#define IDE_MAX_MULT 16                 /* SET MULTIPLE's largest count */

/* status register (ATA-6 7.15.6) */
#define ST_ERR 0x01
#define ST_DRQ 0x08
#define ST_DSC 0x10                     /* seek complete (obsolete, set) */
#define ST_DF 0x20
#define ST_DRDY 0x40
#define ST_BSY 0x80
/* error register */
#define ER_ABRT 0x04
#define ER_IDNF 0x10
#define ER_UNC 0x40
/* device control register */
#define DC_NIEN 0x02
#define DC_SRST 0x04
#define DC_HOB 0x80
/* interrupt reason in the sector count register of an ATAPI device */
#define IR_COD 0x01
#define IR_IO 0x02

/* SCSI sense keys and the additional sense codes used (SPC-3 4.5.6) */
#define SK_NONE 0x0
#define SK_NOT_READY 0x2
#define SK_MEDIUM_ERROR 0x3
#define SK_ILLEGAL_REQUEST 0x5
#define SK_UNIT_ATTENTION 0x6
#define ASC_INVALID_OPCODE 0x20
#define ASC_LBA_OUT_OF_RANGE 0x21
#define ASC_INVALID_FIELD 0x24
#define ASC_MEDIUM_CHANGED 0x28
#define ASC_SAVING_NOT_SUPPORTED 0x39
#define ASC_NO_MEDIUM 0x3a
#define ASC_READ_ERROR 0x11
#define ASC_REMOVAL_PREVENTED 0x53

enum ide_phase {
	PH_IDLE,                        /* no data phase */
	PH_PIO_IN,                      /* the host reads d->buf */
	PH_PIO_OUT,                     /* the host writes d->buf */
	PH_PACKET,                      /* the host writes the 12-byte packet */
	PH_DMA,                         /* waiting for / doing bus-master DMA */
	PH_BUSY,                        /* a request on the image is in flight */
};

/* GET EVENT STATUS NOTIFICATION media events (MMC-3 5.5.3.5) */
enum { EV_NONE = 0, EV_EJECT_REQUEST = 1, EV_NEW_MEDIA = 2, EV_MEDIA_REMOVAL = 3 };

struct ide_bus;

struct ide_drive {
	struct ide_bus *bus;
	unsigned unit;                  /* 0 master, 1 slave */
	bool present, cdrom;
	char name[16];                  /* ide0-hd0, ide1-cd0 (as QEMU) */
	char serial[21], model[41];
	struct blk *blk;                /* NULL: no medium */
	struct blk_open_opts open_opts; /* how the medium was opened */
	uint64_t sectors;               /* 512-byte sectors of the medium */

	/* the task file (ATA-6 7.1); writes go to both drives of a bus */
	uint8_t feature, nsector, sector, lcyl, hcyl, select;
	uint8_t hob_feature, hob_nsector, hob_sector, hob_lcyl, hob_hcyl;
	uint8_t status, error;

	/* ATA settings */
	uint16_t cyls, heads, secs;     /* default geometry */
	uint16_t cur_heads, cur_secs;   /* INITIALIZE DEVICE PARAMETERS */
	uint8_t mult;                   /* SET MULTIPLE (0: off) */
	uint8_t xfer_mode;              /* SET FEATURES 03h: class << 3 | mode */
	bool write_cache;

	/* the data phase (ide.c) */
	enum ide_phase phase;
	uint8_t cmd;                    /* the command being run */
	uint8_t *buf;                   /* IDE_CHUNK bytes, 4 KiB aligned */
	uint32_t buf_len, buf_pos;      /* valid bytes, the host's position */
	uint32_t drq_end;               /* end of the current DRQ block */
	uint32_t drq_size;              /* PIO block: 512 * sectors, or the
					 * ATAPI byte count limit */
	bool dma, write;                /* DMA; host-to-device */
	uint64_t io_off;                /* image offset of the next request */
	uint64_t io_left;               /* image bytes not yet requested */
	bool in_flight, cancelled, submit;
	struct blk_req req;
	struct iovec iov;

	/* ATAPI */
	uint8_t packet[12];
	uint8_t sense_key, asc;
	bool medium_changed;            /* UNIT ATTENTION owed */
	bool locked;                    /* PREVENT ALLOW MEDIUM REMOVAL */
	uint8_t event;                  /* media event owed (EV_*) */
};

struct ide_bm {                         /* SFF-8038i, one per channel */
	uint8_t cmd, status;
	uint32_t prdt;                  /* PRD table address */
	uint32_t prd_next;              /* next entry to read */
	uint32_t prd_addr, prd_left;    /* the current entry's rest */
	bool prd_last;                  /* the current entry has EOT */
	unsigned prd_count;             /* entries read this transfer */
};
#define BM_CMD_START 0x01
#define BM_CMD_TO_MEMORY 0x08
#define BM_ST_ACTIVE 0x01
#define BM_ST_ERROR 0x02
#define BM_ST_INT 0x04
#define BM_ST_CAPS 0x60                 /* drive 0/1 DMA capable (RW) */

struct ide_ctrl;

struct ide_bus {
	struct ide_ctrl *ctrl;
	unsigned index, irq;
	struct ide_drive drive[2];
	uint8_t devctl;
	bool irq_pending;
	struct ide_bm bm;
};

/* Another transport in place of the task file ports and SFF-8038i (AHCI,
 * ahci.c): every data phase is DMA through to_memory/from_memory, and
 * the end of a command (where INTRQ would rise) calls command_end;
 * unlocking runs in ide_unlock() with the lock still held, before the
 * prepared image requests are submitted. */
struct ide_xport {
	void (*command_end)(struct ide_bus *b);
	int (*to_memory)(struct ide_bus *b, const uint8_t *src, uint32_t len);
	int (*from_memory)(struct ide_bus *b, uint8_t *dst, uint32_t len);
	void (*unlocking)(struct ide_ctrl *c);
};

struct ide_ctrl {
	struct machine *m;
	const struct ide_xport *xport;  /* NULL: the PIIX3's ports and BAR4 */
	void *xport_opaque;
	struct pci_device *pci;         /* NULL in unit tests without PCI */
	pthread_mutex_t lock;
	struct ide_bus bus[2];
	uint16_t bm_mapped;             /* where BAR4 is mapped (0: not) */
	char where[24];                 /* info block's "Attached to" for
					 * another transport ("" : ide.B unit U) */
};

static inline struct ide_drive *ide_selected(struct ide_bus *b)
{
	return &b->drive[b->drive[0].select >> 4 & 1];
}

/* ide.c: the data phase and interrupts (lock held) */
void ide_raise_irq(struct ide_bus *b);
void ide_update_irq(struct ide_bus *b);
void ide_cmd_ok(struct ide_drive *d);           /* done, interrupt */
void ide_cmd_abort(struct ide_drive *d, uint8_t error);
/* Data phase of len bytes already in d->buf, device to host. */
void ide_start_buf_in(struct ide_drive *d, uint32_t len, uint32_t drq_size, bool dma);
/* Data phase to or from the image: bytes at offset. */
void ide_start_image(struct ide_drive *d, uint64_t offset, uint64_t bytes, bool write,
		     uint32_t drq_size, bool dma);
/* An image request of its own (FLUSH) ending the command. */
void ide_start_flush(struct ide_drive *d);
/* Lock held: release it and submit what was prepared. */
void ide_unlock(struct ide_ctrl *c);
void ide_set_signature(struct ide_drive *d);
/* Power-on (hard) or SRST state of a drive. */
void ide_drive_reset(struct ide_drive *d, bool hard);
/* START STOP UNIT opened the tray: the medium goes now, its image is
 * closed on the main thread. */
void ide_guest_eject(struct ide_drive *d);

/* ide_state.c: save and load (device_ops) */
struct state_buf;
void ide_save(void *ctrl, struct state_buf *s);
int ide_load(void *ctrl, struct state_buf *s);

/* ide_bm.c: bus-master DMA */
extern const struct io_ops ide_bm_ops;
/* A DMA data phase may run now (the command is ready and the engine
 * started); runs it. */
void ide_bm_kick(struct ide_bus *b);
/* Copy between d->buf[0, len) and the PRDs' memory; 0 or -1 (a PRD outside
 * RAM, the table ran out or too long). */
int ide_bm_to_memory(struct ide_bus *b, const uint8_t *src, uint32_t len);
int ide_bm_from_memory(struct ide_bus *b, uint8_t *dst, uint32_t len);
void ide_bm_start_transfer(struct ide_bus *b);
/* The transfer ended: interrupt bit, engine stopped (error: error bit). */
void ide_bm_end(struct ide_bus *b, bool error);

/* ata.c */
void ata_exec(struct ide_drive *d, uint8_t cmd);
void ata_identify(struct ide_drive *d, uint8_t *buf);
void ata_set_geometry(struct ide_drive *d);
/* The data phase of d->cmd ended (in or out) without error. */
void ata_io_done(struct ide_drive *d, int ret);

/* atapi.c */
void atapi_exec(struct ide_drive *d);           /* the packet arrived */
void atapi_identify(struct ide_drive *d, uint8_t *buf);
void atapi_io_done(struct ide_drive *d, int ret);
void atapi_check_condition(struct ide_drive *d, uint8_t key, uint8_t asc);
void atapi_finish(struct ide_drive *d);         /* status phase, good */

/* Put s into words of an IDENTIFY page, space-padded, byte-swapped (ATA-6
 * 3.2.8). */
void ide_put_string(uint8_t *words, const char *s, unsigned nbytes);

#endif
