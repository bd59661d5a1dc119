/*
 * virtio-blk over virtio-pci (user/hw/virtio_pci.c, virtqueue.c,
 * virtio_blk.c), driven the way a driver does it: config space through
 * ports 0xcf8/0xcfc, the BARs through MMIO, the rings in guest RAM, and the
 * main loop run until the device returns the chain.  A fake irqchip
 * records MSIs and INTx levels.
 */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "blktest.h"
#include "devtest.h"
#include "virtiotest.h"
#include "machine.h"
#include "mainloop.h"
#include "block/block.h"
#include "hw/hw.h"
#include "hw/virtio.h"
#include "pc/pc.h"

#define SLOT 3
#define GSI 19                 /* slot 3's INTA# on the pc (pc_irq_routing) */
#define DISK_SIZE (1u << 20)
#define QSIZE 16
/* guest-physical layout of the test driver */
#define DESC 0x100000u
#define AVAIL 0x101000u
#define USED 0x102000u
#define INDIRECT 0x103000u
#define HDR 0x200000u
#define DATA 0x300000u
#define STATUS 0x400000u

#define F_FLUSH (1ULL << 9)
#define F_DISCARD (1ULL << 13)
#define F_WZ (1ULL << 14)
#define F_INDIRECT (1ULL << 28)
#define F_EVENT_IDX (1ULL << 29)
#define F_VERSION_1 (1ULL << 32)


/* ---- the rig ---- */

/* The second machine of a save/load pair opens the first one's disk while
 * it is open, as a migration target does: without image locks. */
static bool rig_shares_disk;

static struct blk *open_disk(const char *name, bool readonly)
{
	const char *path = blktest_path(name);
	if (blktest_make_file(path, DISK_SIZE, 7) < 0)
		return NULL;
	struct blk_open_opts o = { .format = "raw", .readonly = readonly,
				   .no_locking = rig_shares_disk };
	return blk_open(path, &o);
}

static bool rig_init(struct vtest *r, bool readonly)
{
	if (!vt_init(r, SLOT))
		return false;
	struct blk *b = open_disk(readonly ? "ro.raw" : "disk.raw", readonly);
	if (!b || !virtio_blk_new(r->m, r->h, SLOT, b, "serial-0123456789abcdef", true))
		return false;
	vt_map_bars(r);
	return true;
}

/* The whole bring-up: MSI-X (or INTx), features, one queue, DRIVER_OK. */
static bool driver_up(struct vtest *r, uint64_t features, bool msix)
{
	if (msix)
		vt_msix(r, 2);
	if (!(vt_negotiate(r, features) & 8))
		return false;
	vt_mw(r, VT_COMMON(0x10), msix ? 0 : 0xffff, 2);
	vt_setup_queue(r, 0, DESC, QSIZE, msix ? 1 : 0xffff);
	return vt_driver_ok(r);
}

/* Offer head, run the main loop until the device answers (or give up:
 * false). */
static bool kick(struct vtest *r, uint16_t head)
{
	vt_offer(r, 0, head);
	for (int i = 0; i < 100 && vt_used_idx(r, 0) == r->used_seen[0]; i++)
		mainloop_run_once(r->m->loop, 20);
	if (vt_used_idx(r, 0) == r->used_seen[0])
		return false;
	r->used_seen[0]++;
	return true;
}

/* A request as Linux builds it: header, data, status, three descriptors. */
static int request(struct vtest *r, uint32_t type, uint64_t sector, uint32_t len, bool dev_writes)
{
	uint32_t hdr[4] = { type, 0, (uint32_t)sector, (uint32_t)(sector >> 32) };
	memcpy(r->ram + HDR, hdr, 16);
	r->ram[STATUS] = 0xee;
	vt_put_desc(r, DESC, 0, HDR, 16, 1, 1);
	if (len) {
		vt_put_desc(r, DESC, 1, DATA, len, 1 | (dev_writes ? 2 : 0), 2);
		vt_put_desc(r, DESC, 2, STATUS, 1, 2, 0);
	} else {
		vt_put_desc(r, DESC, 1, STATUS, 1, 2, 0);
	}
	if (!kick(r, 0))
		return -1;
	return r->ram[STATUS];
}

/* ---- tests ---- */

TEST(virtio_blk_pci_identity_and_capabilities)
{
	struct vtest r;
	CHECK(rig_init(&r, false));
	CHECK_EQ(vt_cfg_r(&r, 0, 4), 0x10421af4);
	CHECK_EQ(vt_cfg_r(&r, 8, 1), 1);                  /* revision 1 */
	CHECK_EQ(vt_cfg_r(&r, 0x2c, 2), 0x1af4);
	CHECK_EQ(vt_cfg_r(&r, 0x3d, 1), 1);               /* INTA# */
	CHECK(vt_cfg_r(&r, 0x06, 2) & 0x10);              /* capability list */
	unsigned seen = 0, p = vt_cfg_r(&r, 0x34, 1), n = 0;
	while (p && n++ < 16) {
		unsigned id = vt_cfg_r(&r, p, 1);
		if (id == 0x09) {
			unsigned type = vt_cfg_r(&r, p + 3, 1);
			seen |= 1u << type;
			if (type != 5)                         /* 5: the driver picks */
				CHECK_EQ(vt_cfg_r(&r, p + 4, 1), 4);  /* BAR 4 */
			if (type == 2)
				CHECK_EQ(vt_cfg_r(&r, p + 16, 4), 4); /* notify_off_multiplier */
		} else if (id == 0x11) {
			seen |= 1u << 8;
			CHECK_EQ(vt_cfg_r(&r, p + 2, 2) & 0x7ff, 1);  /* 2 vectors */
			CHECK_EQ(vt_cfg_r(&r, p + 4, 4), 1);          /* table in BAR 1 */
		}
		p = vt_cfg_r(&r, p + 1, 1);
	}
	CHECK_EQ(seen, 0x13e);                         /* types 1-5 and MSI-X */
	/* BAR sizing: 16 KiB memory */
	vt_cfg_w(&r, 0x20, 0xffffffff, 4);
	CHECK_EQ(vt_cfg_r(&r, 0x20, 4), 0xffffc000);
	vt_cfg_w(&r, 0x20, VT_BAR4_ADDR, 4);
	CHECK_EQ(vt_mr(&r, VT_COMMON(0x12), 2), 1);          /* num_queues */
	/* the PCI configuration access capability: a window on BAR 4 */
	vt_cfg_w(&r, 0x84 + 4, 4, 1);
	vt_cfg_w(&r, 0x84 + 8, 0x12, 4);
	vt_cfg_w(&r, 0x84 + 12, 2, 4);
	CHECK_EQ(vt_cfg_r(&r, 0x84 + 16, 2), 1);          /* num_queues */
	vt_cfg_w(&r, 0x84 + 8, 0x16, 4);
	vt_cfg_w(&r, 0x84 + 16, 0, 4);                    /* queue_select = 0 */
	vt_cfg_w(&r, 0x84 + 8, 0x18, 4);
	CHECK_EQ(vt_cfg_r(&r, 0x84 + 16, 2), 256);        /* queue_size */
	vt_free(&r);
}

TEST(virtio_blk_feature_negotiation)
{
	struct vtest r;
	CHECK(rig_init(&r, false));
	vt_mw(&r, VT_COMMON(0x00), 1, 4);
	CHECK(vt_mr(&r, VT_COMMON(0x04), 4) & 1);            /* VERSION_1 (bit 32) */
	vt_mw(&r, VT_COMMON(0x00), 0, 4);
	uint32_t lo = vt_mr(&r, VT_COMMON(0x04), 4);
	CHECK(lo & (1u << 29) && lo & (1u << 28) && lo & (1u << 9));
	/* no VERSION_1: FEATURES_OK refused */
	CHECK(!(vt_negotiate(&r, F_FLUSH) & 8));
	/* a feature the device doesn't offer: refused */
	CHECK(!(vt_negotiate(&r, F_VERSION_1 | (1ULL << 40)) & 8));
	CHECK(vt_negotiate(&r, F_VERSION_1 | F_FLUSH) & 8);
	/* capacity in sectors, blk_size */
	CHECK_EQ(vt_mr(&r, VT_DEVCFG(0), 8), DISK_SIZE / 512);
	CHECK_EQ(vt_mr(&r, VT_DEVCFG(20), 4), 512);
	/* reset clears the status */
	vt_mw(&r, VT_COMMON(0x14), 0, 1);
	CHECK_EQ(vt_mr(&r, VT_COMMON(0x14), 1), 0);
	vt_free(&r);
}

TEST(virtio_blk_read_write_flush_get_id)
{
	struct vtest r;
	CHECK(rig_init(&r, false));
	CHECK(driver_up(&r, F_VERSION_1 | F_FLUSH | F_DISCARD | F_WZ, true));
	/* read sector 2: the file's pattern */
	uint8_t want[1024];
	blktest_pattern(want, sizeof(want), 1024, 7);
	CHECK_EQ(request(&r, 0, 2, 1024, true), 0);
	CHECK(!memcmp(r.ram + DATA, want, 1024));
	unsigned msis = r.msis;
	CHECK(msis >= 1);
	CHECK_EQ(r.msi_data, 0x41);                    /* the queue's vector */
	uint32_t len;
	memcpy(&len, r.ram + USED + 4 + 4, 4);
	CHECK_EQ(len, 1025);
	/* write, read back */
	for (unsigned i = 0; i < 4096; i++)
		r.ram[DATA + i] = i * 7 + 1;
	CHECK_EQ(request(&r, 1, 8, 4096, false), 0);
	memset(r.ram + DATA, 0, 4096);
	CHECK_EQ(request(&r, 0, 8, 4096, true), 0);
	for (unsigned i = 0; i < 4096; i++)
		CHECK_EQ(r.ram[DATA + i], (uint8_t)(i * 7 + 1));
	CHECK_EQ(request(&r, 4, 0, 0, false), 0);      /* flush */
	memset(r.ram + DATA, 0, 32);
	CHECK_EQ(request(&r, 8, 0, 20, true), 0);      /* GET_ID */
	CHECK(!memcmp(r.ram + DATA, "serial-0123456789abc", 20));
	CHECK_EQ(request(&r, 99, 0, 0, false), 2);     /* UNSUPP */
	/* past the end: IOERR */
	CHECK_EQ(request(&r, 0, DISK_SIZE / 512 - 1, 1024, true), 1);
	CHECK_EQ(request(&r, 0, ~0ULL, 512, true), 1);
	CHECK_EQ(request(&r, 0, 0, 100, true), 1);     /* not whole sectors */
	CHECK(r.msis > msis);
	vt_free(&r);
}

/* What the device writes into guest RAM reaches the machine's RAM
 * listeners (memory.h): the data and the status of a read when it
 * completes, before the used ring shows it; the used ring itself. */
#define SPY_MAX 32
struct ram_spy {
	struct ram_listener l;
	struct vtest *r;
	unsigned n;
	gpa_t gpa[SPY_MAX];
	uint64_t len[SPY_MAX];
	uint16_t used_at[SPY_MAX];      /* used->idx when told */
};

static void spy_written(struct ram_listener *l, gpa_t gpa, uint64_t len)
{
	struct ram_spy *s = container_of(l, struct ram_spy, l);
	if (s->n < SPY_MAX) {
		s->gpa[s->n] = gpa;
		s->len[s->n] = len;
		s->used_at[s->n] = vt_used_idx(s->r, 0);
	}
	s->n++;
}

/* The index of the first call telling [gpa, gpa + len), or -1. */
static int spy_find(const struct ram_spy *s, gpa_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < s->n && i < SPY_MAX; i++)
		if (s->gpa[i] == gpa && s->len[i] == len)
			return i;
	return -1;
}

TEST(virtio_blk_dma_tells_ram_listeners)
{
	struct vtest r;
	struct ram_spy spy = { .l = { spy_written }, .r = &r };
	CHECK(rig_init(&r, false));
	CHECK(driver_up(&r, F_VERSION_1 | F_EVENT_IDX, true));
	CHECK(machine_ram_listen(r.m, &spy.l) == 0);
	/* a read through the block layer, completed on the main loop */
	CHECK_EQ(request(&r, 0, 2, 1024, true), 0);
	int data = spy_find(&spy, DATA, 1024), status = spy_find(&spy, STATUS, 1);
	int elem = spy_find(&spy, USED + 4, 8), idx = spy_find(&spy, USED + 2, 2);
	CHECK(data >= 0 && status >= 0 && elem >= 0 && idx >= 0);
	CHECK_EQ(spy.used_at[data], 0);                /* before the guest can see it */
	CHECK_EQ(spy.used_at[status], 0);
	CHECK(data < elem && elem < idx);
	CHECK_EQ(spy.used_at[idx], 1);
	CHECK(spy_find(&spy, USED + 4 + 8 * QSIZE, 2) >= 0);  /* avail_event */
	CHECK(spy_find(&spy, HDR, 16) < 0);            /* what the device only reads */
	/* a write request: only the status byte was written */
	spy.n = 0;
	CHECK_EQ(request(&r, 1, 2, 512, false), 0);
	CHECK(spy_find(&spy, STATUS, 1) >= 0);
	CHECK(spy_find(&spy, DATA, 512) < 0);
	/* GET_ID: the device copies into the mapped buffer itself */
	spy.n = 0;
	CHECK_EQ(request(&r, 8, 0, 20, true), 0);
	CHECK(spy_find(&spy, DATA, 20) >= 0);
	CHECK_EQ(spy.used_at[spy_find(&spy, DATA, 20)], 2);
	machine_ram_unlisten(r.m, &spy.l);
	vt_free(&r);
}

TEST(virtio_blk_discard_and_write_zeroes)
{
	struct vtest r;
	CHECK(rig_init(&r, false));
	CHECK(driver_up(&r, F_VERSION_1 | F_DISCARD | F_WZ, true));
	/* one segment: sector 4, 8 sectors, unmap */
	uint64_t sector = 4;
	uint32_t seg[2] = { 8, 1 };
	memcpy(r.ram + DATA, &sector, 8);
	memcpy(r.ram + DATA + 8, seg, 8);
	CHECK_EQ(request(&r, 13, 0, 16, false), 0);
	CHECK_EQ(request(&r, 0, 4, 4096, true), 0);
	for (unsigned i = 0; i < 4096; i++)
		CHECK_EQ(r.ram[DATA + i], 0);
	memcpy(r.ram + DATA, &sector, 8);
	memcpy(r.ram + DATA + 8, seg, 8);
	CHECK_EQ(request(&r, 11, 0, 16, false), 2);    /* discard with unmap: UNSUPP */
	seg[1] = 0;
	memcpy(r.ram + DATA + 8, seg, 8);
	CHECK_EQ(request(&r, 11, 0, 16, false), 0);
	vt_free(&r);
}

TEST(virtio_blk_readonly)
{
	struct vtest r;
	CHECK(rig_init(&r, true));
	vt_mw(&r, VT_COMMON(0x00), 0, 4);
	CHECK(vt_mr(&r, VT_COMMON(0x04), 4) & (1u << 5));    /* VIRTIO_BLK_F_RO */
	CHECK(driver_up(&r, F_VERSION_1 | (1ULL << 5), true));
	CHECK_EQ(request(&r, 1, 0, 512, false), 1);    /* IOERR */
	CHECK_EQ(request(&r, 0, 0, 512, true), 0);
	vt_free(&r);
}

TEST(virtio_blk_intx)
{
	struct vtest r;
	CHECK(rig_init(&r, false));
	CHECK(driver_up(&r, F_VERSION_1, false));
	CHECK_EQ(request(&r, 0, 0, 512, true), 0);
	CHECK_EQ(r.level[GSI], 1);
	CHECK_EQ(r.msis, 0);
	CHECK_EQ(vt_mr(&r, VT_ISR, 1), 1);                   /* queue interrupt */
	CHECK_EQ(r.level[GSI], 0);                     /* read cleared it */
	CHECK_EQ(vt_mr(&r, VT_ISR, 1), 0);
	/* INTx disable in the command register holds the line low */
	vt_cfg_w(&r, 0x04, 0x406, 2);
	CHECK_EQ(request(&r, 0, 0, 512, true), 0);
	CHECK_EQ(r.level[GSI], 0);
	vt_cfg_w(&r, 0x04, 0x006, 2);
	CHECK_EQ(r.level[GSI], 1);
	CHECK_EQ(vt_mr(&r, VT_ISR, 1), 1);
	CHECK_EQ(r.level[GSI], 0);
	vt_free(&r);
}

TEST(virtio_blk_msix_mask_and_pending)
{
	struct vtest r;
	CHECK(rig_init(&r, false));
	CHECK(driver_up(&r, F_VERSION_1, true));
	vt_mw(&r, VT_BAR1_ADDR + 16 + 12, 1, 4);             /* mask vector 1 */
	CHECK_EQ(request(&r, 0, 0, 512, true), 0);
	CHECK_EQ(r.msis, 0);
	CHECK_EQ(vt_mr(&r, VT_BAR1_ADDR + 0x800, 1), 2);      /* pending bit 1 */
	vt_mw(&r, VT_BAR1_ADDR + 16 + 12, 0, 4);             /* unmask: delivered */
	CHECK_EQ(r.msis, 1);
	CHECK_EQ(vt_mr(&r, VT_BAR1_ADDR + 0x800, 1), 0);
	/* function mask */
	uint16_t ctrl = vt_cfg_r(&r, 0x9a, 2);
	vt_cfg_w(&r, 0x9a, ctrl | 0x4000, 2);
	CHECK_EQ(request(&r, 0, 0, 512, true), 0);
	CHECK_EQ(r.msis, 1);
	vt_cfg_w(&r, 0x9a, ctrl, 2);
	CHECK_EQ(r.msis, 2);
	CHECK_EQ(r.level[GSI], 0);                     /* no INTx with MSI-X */
	/* a vector past the table reads back NO_VECTOR */
	vt_mw(&r, VT_COMMON(0x1a), 7, 2);
	CHECK_EQ(vt_mr(&r, VT_COMMON(0x1a), 2), 0xffff);
	vt_free(&r);
}

TEST(virtio_blk_event_idx)
{
	struct vtest r;
	CHECK(rig_init(&r, false));
	CHECK(driver_up(&r, F_VERSION_1 | F_EVENT_IDX, true));
	CHECK_EQ(request(&r, 0, 0, 512, true), 0);     /* the first always signals */
	CHECK_EQ(r.msis, 1);
	/* avail_event: the device asks to be notified at the next entry */
	uint16_t avail_event;
	memcpy(&avail_event, r.ram + USED + 4 + 8 * QSIZE, 2);
	CHECK_EQ(avail_event, 1);
	/* used_event = 3: interrupt only once used idx passes 3 */
	uint16_t ue = 3;
	memcpy(r.ram + AVAIL + 4 + 2 * QSIZE, &ue, 2);
	CHECK_EQ(request(&r, 0, 0, 512, true), 0);     /* used idx 2 */
	CHECK_EQ(request(&r, 0, 0, 512, true), 0);     /* 3 */
	CHECK_EQ(r.msis, 1);
	CHECK_EQ(request(&r, 0, 0, 512, true), 0);     /* 4: past 3 */
	CHECK_EQ(r.msis, 2);
	vt_free(&r);
}

TEST(virtio_blk_no_interrupt_flag)
{
	struct vtest r;
	CHECK(rig_init(&r, false));
	CHECK(driver_up(&r, F_VERSION_1, true));
	uint16_t flags = 1;                            /* VRING_AVAIL_F_NO_INTERRUPT */
	memcpy(r.ram + AVAIL, &flags, 2);
	CHECK_EQ(request(&r, 0, 0, 512, true), 0);
	CHECK_EQ(r.msis, 0);
	vt_free(&r);
}

TEST(virtio_blk_indirect)
{
	struct vtest r;
	CHECK(rig_init(&r, false));
	CHECK(driver_up(&r, F_VERSION_1 | F_INDIRECT, true));
	uint32_t hdr[4] = { 0, 0, 0, 0 };
	memcpy(r.ram + HDR, hdr, 16);
	vt_put_desc(&r, INDIRECT, 0, HDR, 16, 1, 1);
	vt_put_desc(&r, INDIRECT, 1, DATA, 512, 1 | 2, 2);
	vt_put_desc(&r, INDIRECT, 2, STATUS, 1, 2, 0);
	vt_put_desc(&r, DESC, 0, INDIRECT, 48, 4, 0);
	r.ram[STATUS] = 0xee;
	CHECK(kick(&r, 0));
	CHECK_EQ(r.ram[STATUS], 0);
	uint8_t want[512];
	blktest_pattern(want, 512, 0, 7);
	CHECK(!memcmp(r.ram + DATA, want, 512));
	vt_free(&r);
}

/* ---- hostile drivers: one kind each ---- */

enum hostile {
	H_OUTSIDE_RAM, H_NEXT_PAST_END, H_LOOP, H_NESTED_INDIRECT, H_INDIRECT_NEXT,
	H_INDIRECT_EMPTY, H_WRONG_DIRECTION, H_HEADER_WRITABLE, H_AVAIL_JUMP, H_BAD_SIZE,
	H_HEAD_PAST_END, H_INDIRECT_LOOP,
};

/* Build the hostile chain at head 0 and kick; the device must refuse it. */
static void hostile_chain(struct vtest *r, enum hostile h)
{
	uint32_t hdr[4] = { 0, 0, 0, 0 };
	memcpy(r->ram + HDR, hdr, 16);
	vt_put_desc(r, DESC, 0, HDR, 16, 1, 1);
	vt_put_desc(r, DESC, 1, DATA, 512, 1 | 2, 2);
	vt_put_desc(r, DESC, 2, STATUS, 1, 2, 0);
	switch (h) {
	case H_OUTSIDE_RAM:
		vt_put_desc(r, DESC, 1, 16 * MiB - 256, 512, 1 | 2, 2);
		break;
	case H_NEXT_PAST_END:
		vt_put_desc(r, DESC, 1, DATA, 512, 1 | 2, QSIZE);
		break;
	case H_LOOP:
		vt_put_desc(r, DESC, 2, STATUS, 1, 1 | 2, 1);
		break;
	case H_NESTED_INDIRECT:
		vt_put_desc(r, INDIRECT, 0, INDIRECT + 0x100, 16, 4, 0);
		vt_put_desc(r, DESC, 0, INDIRECT, 16, 4, 0);
		break;
	case H_INDIRECT_NEXT:
		vt_put_desc(r, INDIRECT, 0, HDR, 16, 0, 0);
		vt_put_desc(r, DESC, 0, INDIRECT, 16, 4 | 1, 1);
		break;
	case H_INDIRECT_EMPTY:
		vt_put_desc(r, DESC, 0, INDIRECT, 0, 4, 0);
		break;
	case H_WRONG_DIRECTION:                        /* read into readable data */
		vt_put_desc(r, DESC, 1, DATA, 512, 1, 2);
		vt_put_desc(r, DESC, 2, STATUS, 1, 2, 0);
		break;
	case H_HEADER_WRITABLE:
		vt_put_desc(r, DESC, 0, HDR, 16, 1 | 2, 1);
		break;
	case H_INDIRECT_LOOP:
		vt_put_desc(r, INDIRECT, 0, HDR, 16, 1, 1);
		vt_put_desc(r, INDIRECT, 1, DATA, 512, 1, 0);
		vt_put_desc(r, DESC, 0, INDIRECT, 32, 4, 0);
		break;
	default:
		break;
	}
	if (h == H_AVAIL_JUMP) {
		uint16_t idx = QSIZE + 1;
		memcpy(r->ram + AVAIL + 2, &idx, 2);
		vt_mw(r, VT_NOTIFY(0), 0, 2);
	} else if (h == H_HEAD_PAST_END) {
		uint16_t head = QSIZE + 3, idx = 1;
		memcpy(r->ram + AVAIL + 4, &head, 2);
		memcpy(r->ram + AVAIL + 2, &idx, 2);
		vt_mw(r, VT_NOTIFY(0), 0, 2);
	} else {
		vt_offer(r, 0, 0);
	}
	for (int i = 0; i < 5; i++)
		mainloop_run_once(r->m->loop, 10);
}

static void hostile_test(enum hostile h, const char *what)
{
	struct vtest r;
	CHECK(rig_init(&r, false));
	CHECK(driver_up(&r, F_VERSION_1 | F_INDIRECT, true));
	/* canaries around every buffer */
	memset(r.ram + DATA - 64, 0xaa, 64);
	memset(r.ram + DATA + 512, 0xaa, 64);
	memset(r.ram + STATUS + 1, 0xaa, 64);
	memset(r.ram + 16 * MiB - 4096, 0xaa, 4096);
	r.ram[STATUS] = 0xee;
	unsigned msis = r.msis;
	int lines;
	blktest_stderr_begin();
	if (h == H_BAD_SIZE) {
		vt_mw(&r, VT_COMMON(0x14), 0, 1);
		CHECK(vt_negotiate(&r, F_VERSION_1) & 8);
		vt_mw(&r, VT_COMMON(0x10), 0, 2);
		vt_setup_queue(&r, 0, DESC, 12, 1);
	} else {
		hostile_chain(&r, h);
	}
	const char *err = blktest_stderr_end(&lines);
	CHECK_EQ(lines, 1);
	CHECK(strstr(err, "virtio-blk 00:03.0") && strstr(err, what));
	CHECK(vt_mr(&r, VT_COMMON(0x14), 1) & 0x40);         /* DEVICE_NEEDS_RESET */
	CHECK(r.msis > msis);                          /* the config interrupt */
	CHECK_EQ(r.msi_data, 0x40);
	CHECK_EQ(vt_used_idx(&r, 0), 0);
	CHECK_EQ(r.ram[STATUS], 0xee);
	for (unsigned i = 0; i < 64; i++) {
		CHECK_EQ(r.ram[DATA - 64 + i], 0xaa);
		CHECK_EQ(r.ram[DATA + 512 + i], 0xaa);
		CHECK_EQ(r.ram[STATUS + 1 + i], 0xaa);
	}
	for (unsigned i = 0; i < 4096; i++)
		CHECK_EQ(r.ram[16 * MiB - 4096 + i], 0xaa);
	/* broken: a good request is not processed, and no second line */
	blktest_stderr_begin();
	r.avail_idx[0] = 0;
	memset(r.ram + AVAIL, 0, 4);
	vt_offer(&r, 0, 0);
	mainloop_run_once(r.m->loop, 10);
	blktest_stderr_end(&lines);
	CHECK_EQ(lines, 0);
	CHECK_EQ(vt_used_idx(&r, 0), 0);
	/* after a reset the device works again */
	CHECK(driver_up(&r, F_VERSION_1 | F_INDIRECT, true));
	CHECK_EQ(vt_mr(&r, VT_COMMON(0x14), 1) & 0x40, 0);
	CHECK_EQ(request(&r, 0, 0, 512, true), 0);
	vt_free(&r);
}

TEST(virtio_hostile_buffer_outside_ram) { hostile_test(H_OUTSIDE_RAM, "outside guest RAM"); }
TEST(virtio_hostile_next_past_table) { hostile_test(H_NEXT_PAST_END, "past the table"); }
TEST(virtio_hostile_head_past_table) { hostile_test(H_HEAD_PAST_END, "past the descriptor table"); }
TEST(virtio_hostile_loop) { hostile_test(H_LOOP, "loops"); }
TEST(virtio_hostile_indirect_loop) { hostile_test(H_INDIRECT_LOOP, "loops"); }
TEST(virtio_hostile_nested_indirect) { hostile_test(H_NESTED_INDIRECT, "nested indirect"); }
TEST(virtio_hostile_indirect_with_next) { hostile_test(H_INDIRECT_NEXT, "NEXT flag"); }
TEST(virtio_hostile_empty_indirect) { hostile_test(H_INDIRECT_EMPTY, "indirect table of a bad length"); }
TEST(virtio_hostile_wrong_direction) { hostile_test(H_WRONG_DIRECTION, "wrong direction"); }
TEST(virtio_hostile_writable_header) { hostile_test(H_HEADER_WRITABLE, "readable header"); }
TEST(virtio_hostile_avail_jump) { hostile_test(H_AVAIL_JUMP, "more than the queue size"); }
TEST(virtio_hostile_queue_size) { hostile_test(H_BAD_SIZE, "power of two"); }

TEST(virtio_blk_reset_waits_for_inflight_and_state_copies)
{
	struct vtest r, r2;
	CHECK(rig_init(&r, false));
	CHECK(driver_up(&r, F_VERSION_1 | F_EVENT_IDX, true));
	CHECK_EQ(request(&r, 0, 0, 512, true), 0);
	/* save/load into a second machine with the same devices */
	rig_shares_disk = true;
	bool up = rig_init(&r2, false);
	rig_shares_disk = false;
	CHECK(up);
	memcpy(r2.ram, r.ram, 16 * MiB);
	CHECK_EQ(copy_device_state(r.m, r2.m), 0);
	vt_copy_driver(&r2, &r);
	CHECK_EQ(vt_mr(&r2, VT_COMMON(0x14), 1), 0xf);
	CHECK_EQ(request(&r2, 0, 0, 512, true), 0);
	CHECK_EQ(vt_used_idx(&r2, 0), 2);
	vt_free(&r2);
	/* a reset while a request is in flight completes once it is done */
	uint32_t hdr[4] = { 0, 0, 0, 0 };
	memcpy(r.ram + HDR, hdr, 16);
	vt_put_desc(&r, DESC, 0, HDR, 16, 1, 1);
	vt_put_desc(&r, DESC, 1, DATA, 512, 3, 2);
	vt_put_desc(&r, DESC, 2, STATUS, 1, 2, 0);
	memcpy(r.ram + AVAIL + 4 + 2 * (r.avail_idx[0] % QSIZE), &(uint16_t){ 0 }, 2);
	r.avail_idx[0]++;
	memcpy(r.ram + AVAIL + 2, &r.avail_idx[0], 2);
	vt_mw(&r, VT_NOTIFY(0), 0, 2);
	vt_mw(&r, VT_COMMON(0x14), 0, 1);
	for (int i = 0; i < 100 && vt_mr(&r, VT_COMMON(0x14), 1); i++)
		mainloop_run_once(r.m->loop, 20);
	CHECK_EQ(vt_mr(&r, VT_COMMON(0x14), 1), 0);
	vt_free(&r);
}

TEST(virtio_blk_bar_moves)
{
	struct vtest r;
	CHECK(rig_init(&r, false));
	uint64_t v;
	CHECK_EQ(vt_mr(&r, VT_COMMON(0x12), 2), 1);
	vt_cfg_w(&r, 0x20, 0xe1000000, 4);                /* moved */
	CHECK(!machine_mmio(r.m, VT_COMMON(0x12), false, &v, 2)); /* nothing there now */
	CHECK_EQ(vt_mr(&r, 0xe1000000 + 0x12, 2), 1);
	vt_cfg_w(&r, 0x04, 0, 2);                         /* decoding off */
	CHECK(!machine_mmio(r.m, 0xe1000000 + 0x12, false, &v, 2));
	vt_free(&r);
}
