/*
 * virtio-input over virtio-pci (user/hw/virtio_input.c), driven as a
 * driver does it: the configuration space's select/subsel, the event
 * queue filled with 8-byte buffers, events from the input router
 * (ui/input.h).  Hostile buffers put the device in its error state.
 */
#include <linux/input.h>
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "blktest.h"
#include "devtest.h"
#include "machine.h"
#include "mainloop.h"
#include "hw/hw.h"
#include "hw/virtio.h"
#include "pc/pc.h"
#include "ui/input.h"

#define SLOT 4
#define BAR4_ADDR 0xe0000000u
#define BAR1_ADDR 0xe0010000u
#define QSIZE 16
#define QBASE(q) (0x100000u + (q) * 0x10000u)  /* desc; avail +0x1000; used +0x2000 */
#define BUF 0x400000u                           /* event buffers, 16 bytes apart */
#define F_VERSION_1 (1ULL << 32)

#define COMMON(off) (BAR4_ADDR + (off))
#define DEVCFG(off) (BAR4_ADDR + 0x2000 + (off))
#define NOTIFY(q) (BAR4_ADDR + 0x3000 + 4 * (q))

struct rig {
	struct machine *m;
	uint8_t *ram;
	struct virtio_input *vi;
	uint16_t avail_idx[2];
	unsigned seen;          /* used entries of the event queue read */
};

static void rig_set_irq(struct irqchip *c, unsigned gsi, int level)
{
	(void)c, (void)gsi, (void)level;
}

static int rig_send_msi(struct irqchip *c, uint64_t addr, uint32_t data)
{
	(void)c, (void)addr, (void)data;
	return 0;
}

static const struct irqchip_ops rig_irq_ops = {
	.name = "rig", .set_irq = rig_set_irq, .send_msi = rig_send_msi,
};

static uint64_t mr(struct rig *r, uint64_t addr, unsigned size)
{
	uint64_t v = 0;
	machine_mmio(r->m, addr, false, &v, size);
	return v;
}

static void mw(struct rig *r, uint64_t addr, uint64_t v, unsigned size)
{
	machine_mmio(r->m, addr, true, &v, size);
}

static void cfg_w(struct rig *r, unsigned reg, uint32_t v, unsigned size)
{
	pci_cfg_out(r->m, SLOT, reg, v, size);
}

static uint32_t cfg_r(struct rig *r, unsigned reg, unsigned size)
{
	return pci_cfg_in(r->m, SLOT, reg, size);
}

static bool rig_init(struct rig *r, enum virtio_input_kind kind)
{
	memset(r, 0, sizeof(*r));
	r->m = machine_new(16 * MiB);
	if (!r->m)
		return false;
	r->ram = r->m->ram;
	machine_add_memory(r->m, REGION_RAM, 0, 16 * MiB, r->m->ram, "ram");
	r->m->irqchip.ops = &rig_irq_ops;
	r->m->irqchip.opaque = r;
	r->m->irq_routing = &pc_irq_routing;
	r->m->loop = mainloop_new();
	struct pci_host *h = pci_host_new(r->m);
	if (!h || !(r->vi = virtio_input_new(r->m, h, SLOT, kind)))
		return false;
	cfg_w(r, 0x14, BAR1_ADDR, 4);
	cfg_w(r, 0x20, BAR4_ADDR, 4);
	cfg_w(r, 0x04, 0x6, 2);
	return true;
}

static void rig_free(struct rig *r)
{
	struct mainloop *l = r->m->loop;
	machine_free(r->m);
	mainloop_free(l);
}

static bool driver_up(struct rig *r)
{
	mw(r, COMMON(0x14), 0, 1);
	mw(r, COMMON(0x14), 1 | 2, 1);
	mw(r, COMMON(0x08), 1, 4);
	mw(r, COMMON(0x0c), F_VERSION_1 >> 32, 4);
	mw(r, COMMON(0x14), 1 | 2 | 8, 1);
	if (!(mr(r, COMMON(0x14), 1) & 8))
		return false;
	for (unsigned q = 0; q < 2; q++) {
		memset(r->ram + QBASE(q), 0, 0x3000);
		r->avail_idx[q] = 0;
		mw(r, COMMON(0x16), q, 2);
		mw(r, COMMON(0x18), QSIZE, 2);
		mw(r, COMMON(0x1a), VIRTIO_MSI_NO_VECTOR, 2);
		mw(r, COMMON(0x20), QBASE(q), 4);
		mw(r, COMMON(0x28), QBASE(q) + 0x1000, 4);
		mw(r, COMMON(0x30), QBASE(q) + 0x2000, 4);
		mw(r, COMMON(0x1c), 1, 2);
	}
	r->seen = 0;
	mw(r, COMMON(0x14), 1 | 2 | 4 | 8, 1);
	return mr(r, COMMON(0x14), 1) == 0xf;
}

static void put_desc(struct rig *r, unsigned q, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags)
{
	uint8_t *d = r->ram + QBASE(q) + 16 * i;
	uint16_t next = 0;
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void offer(struct rig *r, unsigned q, uint16_t head)
{
	memcpy(r->ram + QBASE(q) + 0x1000 + 4 + 2 * (r->avail_idx[q] % QSIZE), &head, 2);
	r->avail_idx[q]++;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	memcpy(r->ram + QBASE(q) + 0x1000 + 2, &r->avail_idx[q], 2);
	mw(r, NOTIFY(q), q, 2);
}

/* n writable 8-byte event buffers on the event queue */
static void give_buffers(struct rig *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		unsigned d = r->avail_idx[0] % QSIZE;
		put_desc(r, 0, d, BUF + 16 * d, 8, 2);
		offer(r, 0, d);
	}
}

static uint16_t used_idx(struct rig *r, unsigned q)
{
	uint16_t v;
	memcpy(&v, r->ram + QBASE(q) + 0x2000 + 2, 2);
	return v;
}

/* The next event the device wrote: type, code, value; false when none. */
static bool next_event(struct rig *r, unsigned *type, unsigned *code, int32_t *value)
{
	if (r->seen == used_idx(r, 0))
		return false;
	uint32_t id, len;
	memcpy(&id, r->ram + QBASE(0) + 0x2000 + 4 + 8 * (r->seen % QSIZE), 4);
	memcpy(&len, r->ram + QBASE(0) + 0x2000 + 8 + 8 * (r->seen % QSIZE), 4);
	r->seen++;
	if (len != 8 || id >= QSIZE)
		return false;
	uint8_t *e = r->ram + BUF + 16 * id;
	*type = e[0] | e[1] << 8;
	*code = e[2] | e[3] << 8;
	*value = (int32_t)(e[4] | e[5] << 8 | e[6] << 16 | (uint32_t)e[7] << 24);
	return true;
}

#define EXPECT_EVENT(r, t, c, v)                                            \
	do {                                                                \
		unsigned t_, c_;                                            \
		int32_t v_;                                                 \
		CHECK(next_event(r, &t_, &c_, &v_));                        \
		CHECK_EQ(t_, t);                                            \
		CHECK_EQ(c_, c);                                            \
		CHECK_EQ(v_, v);                                            \
	} while (0)

static bool broken(struct rig *r)
{
	return mr(r, COMMON(0x14), 1) & 0x40;
}

/* select/subsel, then the size byte and the union's bytes */
static unsigned cfg_query(struct rig *r, uint8_t select, uint8_t subsel, uint8_t *u)
{
	mw(r, DEVCFG(0), select, 1);
	mw(r, DEVCFG(1), subsel, 1);
	unsigned size = mr(r, DEVCFG(2), 1);
	for (unsigned i = 0; i < 128; i++)
		u[i] = mr(r, DEVCFG(8 + i), 1);
	return size;
}

static bool bit(const uint8_t *map, unsigned n)
{
	return map[n / 8] & (1u << (n % 8));
}

TEST(virtio_input_identity_and_config)
{
	struct rig r;
	uint8_t u[128];
	CHECK(rig_init(&r, VIRTIO_INPUT_TABLET));
	CHECK_EQ(cfg_r(&r, 0x00, 4), 0x1052u << 16 | 0x1af4);   /* virtio 1.x, id 18 */
	CHECK_EQ(cfg_r(&r, 0x0a, 2), 0x0980);                    /* input, other */
	unsigned n = cfg_query(&r, 0x01, 0, u);                  /* ID_NAME */
	CHECK(n > 0 && n <= 128);
	CHECK(!memcmp(u, "qvm Virtio Tablet", n));
	CHECK_EQ(cfg_query(&r, 0x03, 0, u), 8);                  /* ID_DEVIDS */
	CHECK_EQ(u[0] | u[1] << 8, BUS_VIRTUAL);
	CHECK(cfg_query(&r, 0x11, EV_ABS, u) >= 1);              /* EV_BITS */
	CHECK(bit(u, ABS_X) && bit(u, ABS_Y));
	CHECK(cfg_query(&r, 0x11, EV_KEY, u) >= 1);
	CHECK(bit(u, BTN_LEFT) && bit(u, BTN_RIGHT) && bit(u, BTN_MIDDLE) && !bit(u, KEY_A));
	CHECK_EQ(cfg_query(&r, 0x11, EV_LED, u), 0);
	CHECK_EQ(cfg_query(&r, 0x12, ABS_X, u), 20);             /* ABS_INFO: min, max */
	CHECK_EQ(u[0] | u[1] << 8 | u[2] << 16 | (uint32_t)u[3] << 24, 0);
	CHECK_EQ(u[4] | u[5] << 8 | u[6] << 16 | (uint32_t)u[7] << 24, INPUT_ABS_MAX);
	CHECK_EQ(cfg_query(&r, 0x12, ABS_Z, u), 0);
	CHECK_EQ(cfg_query(&r, 0x02, 0, u), 0);                  /* no serial */
	CHECK_EQ(cfg_query(&r, 0x77, 3, u), 0);                  /* unknown select */
	rig_free(&r);

	CHECK(rig_init(&r, VIRTIO_INPUT_KEYBOARD));
	CHECK(cfg_query(&r, 0x11, EV_KEY, u) >= KEY_Z / 8 + 1);
	CHECK(bit(u, KEY_A) && bit(u, KEY_LEFTSHIFT) && bit(u, KEY_PAUSE) && !bit(u, BTN_LEFT));
	CHECK(cfg_query(&r, 0x11, EV_LED, u) >= 1);
	CHECK(bit(u, LED_CAPSL));
	CHECK_EQ(cfg_query(&r, 0x11, EV_ABS, u), 0);
	rig_free(&r);
}

TEST(virtio_input_keys_wait_for_buffers)
{
	struct rig r;
	CHECK(rig_init(&r, VIRTIO_INPUT_KEYBOARD));
	CHECK(driver_up(&r));
	input_key(r.m, KEY_A, true);          /* no buffers yet: waits */
	CHECK_EQ(used_idx(&r, 0), 0);
	give_buffers(&r, 3);
	EXPECT_EVENT(&r, EV_KEY, KEY_A, 1);
	EXPECT_EVENT(&r, EV_SYN, SYN_REPORT, 0);
	input_key(r.m, KEY_A, false);
	EXPECT_EVENT(&r, EV_KEY, KEY_A, 0);
	input_key(r.m, BTN_LEFT, true);       /* not a keyboard key: dropped */
	give_buffers(&r, 2);
	EXPECT_EVENT(&r, EV_SYN, SYN_REPORT, 0);
	unsigned t, c;
	int32_t v;
	CHECK(!next_event(&r, &t, &c, &v));
	/* the LEDs come back on the status queue */
	uint8_t led[8] = { EV_LED, 0, LED_CAPSL, 0, 1, 0, 0, 0 };
	memcpy(r.ram + BUF + 0x1000, led, 8);
	put_desc(&r, 1, 0, BUF + 0x1000, 8, 0);
	offer(&r, 1, 0);
	CHECK_EQ(used_idx(&r, 1), 1);
	CHECK_EQ(virtio_input_leds(r.vi), 1u << LED_CAPSL);
	CHECK(!broken(&r));
	rig_free(&r);
}

TEST(virtio_input_tablet_and_mouse_events)
{
	struct rig r;
	CHECK(rig_init(&r, VIRTIO_INPUT_TABLET));
	CHECK(driver_up(&r));
	CHECK(input_has_abs(r.m));
	give_buffers(&r, 12);
	input_pointer_abs(r.m, 100, 0x9000, INPUT_BUTTON_LEFT);  /* y clamped */
	EXPECT_EVENT(&r, EV_ABS, ABS_X, 100);
	EXPECT_EVENT(&r, EV_ABS, ABS_Y, INPUT_ABS_MAX);
	EXPECT_EVENT(&r, EV_KEY, BTN_LEFT, 1);
	EXPECT_EVENT(&r, EV_SYN, SYN_REPORT, 0);
	input_pointer_abs(r.m, 5, 6, INPUT_BUTTON_WHEEL_DOWN);
	EXPECT_EVENT(&r, EV_ABS, ABS_X, 5);
	EXPECT_EVENT(&r, EV_ABS, ABS_Y, 6);
	EXPECT_EVENT(&r, EV_KEY, BTN_LEFT, 0);
	EXPECT_EVENT(&r, EV_REL, REL_WHEEL, -1);
	EXPECT_EVENT(&r, EV_SYN, SYN_REPORT, 0);
	rig_free(&r);

	CHECK(rig_init(&r, VIRTIO_INPUT_MOUSE));
	CHECK(driver_up(&r));
	CHECK(!input_has_abs(r.m));
	give_buffers(&r, 8);
	input_pointer_rel(r.m, -3, 7, INPUT_BUTTON_RIGHT);
	EXPECT_EVENT(&r, EV_REL, REL_X, -3);
	EXPECT_EVENT(&r, EV_REL, REL_Y, 7);
	EXPECT_EVENT(&r, EV_KEY, BTN_RIGHT, 1);
	EXPECT_EVENT(&r, EV_SYN, SYN_REPORT, 0);
	/* absolute positions fall back to relative motion */
	input_pointer_abs(r.m, 0, 0, INPUT_BUTTON_RIGHT);
	input_pointer_abs(r.m, 64 * 32, 0, INPUT_BUTTON_RIGHT);
	EXPECT_EVENT(&r, EV_REL, REL_X, 64);
	EXPECT_EVENT(&r, EV_SYN, SYN_REPORT, 0);
	rig_free(&r);
}

TEST(virtio_input_pending_events_are_bounded)
{
	struct rig r;
	CHECK(rig_init(&r, VIRTIO_INPUT_KEYBOARD));
	CHECK(driver_up(&r));
	for (unsigned i = 0; i < 1000; i++)
		input_key(r.m, KEY_B, i & 1);
	give_buffers(&r, QSIZE);
	unsigned n = 0, t, c;
	int32_t v;
	while (next_event(&r, &t, &c, &v))
		n++;
	CHECK_EQ(n, QSIZE);
	CHECK(!broken(&r));
	rig_free(&r);
}

enum hostile { H_READABLE, H_SHORT, H_OUTSIDE_RAM };

static void hostile_test(enum hostile k, const char *what)
{
	struct rig r;
	CHECK(rig_init(&r, VIRTIO_INPUT_KEYBOARD));
	CHECK(driver_up(&r));
	memset(r.ram + BUF, 0xaa, 64);
	if (k == H_READABLE)
		put_desc(&r, 0, 0, BUF, 8, 0);
	else if (k == H_SHORT)
		put_desc(&r, 0, 0, BUF, 4, 2);
	else
		put_desc(&r, 0, 0, 16 * MiB - 4, 8, 2);
	offer(&r, 0, 0);
	int lines;
	blktest_stderr_begin();
	input_key(r.m, KEY_C, true);
	const char *err = blktest_stderr_end(&lines);
	CHECK_EQ(lines, 1);
	CHECK(strstr(err, "virtio-keyboard 00:04.0") && strstr(err, what));
	CHECK(broken(&r));
	for (unsigned i = 0; i < 64; i++)
		CHECK_EQ(r.ram[BUF + i], 0xaa);
	/* after a reset it works again */
	CHECK(driver_up(&r));
	give_buffers(&r, 2);
	input_key(r.m, KEY_C, false);
	EXPECT_EVENT(&r, EV_KEY, KEY_C, 0);
	rig_free(&r);
}

TEST(virtio_input_hostile_readable_buffer) { hostile_test(H_READABLE, "8 writable bytes"); }
TEST(virtio_input_hostile_short_buffer) { hostile_test(H_SHORT, "8 writable bytes"); }
TEST(virtio_input_hostile_outside_ram) { hostile_test(H_OUTSIDE_RAM, ""); }

TEST(virtio_input_state_round_trip)
{
	struct rig a, b;
	CHECK(rig_init(&a, VIRTIO_INPUT_KEYBOARD));
	CHECK(rig_init(&b, VIRTIO_INPUT_KEYBOARD));
	CHECK(driver_up(&a));
	input_key(a.m, KEY_D, true);          /* waits in the device */
	CHECK_EQ(copy_device_state(a.m, b.m), 0);
	b.seen = 0;
	b.avail_idx[0] = a.avail_idx[0];
	give_buffers(&b, 2);
	EXPECT_EVENT(&b, EV_KEY, KEY_D, 1);
	EXPECT_EVENT(&b, EV_SYN, SYN_REPORT, 0);
	rig_free(&a);
	rig_free(&b);
}
