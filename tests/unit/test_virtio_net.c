/*
 * virtio-net over virtio-pci (user/hw/virtio_net.c), driven as a driver
 * does it: the BARs through MMIO, three queues in guest RAM, the main loop
 * run until the device answers.  The back end is a fake netdev that
 * records what the device sends; frames from the network go in through
 * netdev_receive().  Hostile chains, headers and frames must put the
 * device in its error state (or be dropped), never crash it.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "blktest.h"
#include "devtest.h"
#include "virtiotest.h"
#include "machine.h"
#include "mainloop.h"
#include "hw/hw.h"
#include "hw/virtio.h"
#include "net/net.h"
#include "pc/pc.h"

#define SLOT 3
#define QSIZE 16
#define QBASE(q) (0x100000u + (q) * 0x10000u)  /* desc; avail +0x1000; used +0x2000 */
#define BUF 0x400000u                           /* buffers, 0x10000 apart */
#define BUFN(i) (BUF + (i) * 0x10000u)

#define F_CSUM (1ULL << 0)
#define F_GUEST_CSUM (1ULL << 1)
#define F_MAC (1ULL << 5)
#define F_TSO4 (1ULL << 11)
#define F_MRG (1ULL << 15)
#define F_STATUS (1ULL << 16)
#define F_CTRL_VQ (1ULL << 17)
#define F_CTRL_RX (1ULL << 18)
#define F_CTRL_MAC (1ULL << 23)
#define F_VERSION_1 (1ULL << 32)
#define F_ALL (F_CSUM | F_GUEST_CSUM | F_MAC | F_MRG | F_STATUS | F_CTRL_VQ | F_CTRL_RX | \
	       F_CTRL_MAC | F_VERSION_1)


static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

#define KEEP 8
struct fake_net {
	struct netdev nd;
	unsigned sent;
	size_t last_len;
	uint8_t last[NET_VNET_HDR_LEN + NET_FRAME_MAX];
	size_t len[KEEP];            /* the first KEEP frames */
	uint8_t frame[KEEP][2048];
};

static void fake_send(struct netdev *nd, const uint8_t *buf, size_t len)
{
	struct fake_net *f = container_of(nd, struct fake_net, nd);
	if (f->sent < KEEP) {
		f->len[f->sent] = len;
		memcpy(f->frame[f->sent], buf, MIN(len, sizeof(f->frame[0])));
	}
	f->sent++;
	f->last_len = len;
	memcpy(f->last, buf, MIN(len, sizeof(f->last)));
}

static void fake_free(struct netdev *nd)
{
	free(container_of(nd, struct fake_net, nd));
}

static const struct netdev_ops fake_ops = { .kind = "fake", .send = fake_send, .free = fake_free };

static struct fake_net *fn(struct vtest *r)
{
	return r->priv;
}

static bool rig_init(struct vtest *r, bool vnet_hdr)
{
	if (!vt_init(r, SLOT))
		return false;
	struct fake_net *f = calloc(1, sizeof(*f));
	r->priv = f;
	f->nd.ops = &fake_ops;
	f->nd.vnet_hdr = vnet_hdr;
	strcpy(f->nd.id, "n0");
	if (!virtio_net_new(r->m, r->h, SLOT, &f->nd, MAC))
		return false;
	vt_map_bars(r);
	return true;
}

static void run_loop(struct vtest *r)
{
	for (int i = 0; i < 5; i++)
		mainloop_run_once(r->m->loop, 5);
}

/* MSI-X vectors 0-3 (config, then a queue each), features, three queues */
static bool driver_up(struct vtest *r, uint64_t features)
{
	vt_msix(r, 4);
	if (!(vt_negotiate(r, features) & 8))
		return false;
	vt_mw(r, VT_COMMON(0x10), 0, 2);
	for (unsigned q = 0; q < 3; q++)
		vt_setup_queue(r, q, QBASE(q), QSIZE, q + 1);
	return vt_driver_ok(r);
}

/* Make head available on queue q, notify, run the loop. */
static void offer(struct vtest *r, unsigned q, uint16_t head)
{
	vt_offer(r, q, head);
	run_loop(r);
}

struct hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
} __attribute__((packed));

/* A UDP/IPv4 frame of plen payload bytes to dest. */
static size_t udp_frame(uint8_t *f, const uint8_t *dest, unsigned plen)
{
	memcpy(f, dest, 6);
	memcpy(f + 6, MAC, 6);
	f[12] = 0x08, f[13] = 0x00;
	uint8_t *ip = f + 14, *udp = ip + 20;
	memset(ip, 0, 20);
	ip[0] = 0x45, ip[8] = 64, ip[9] = 17;
	ip[2] = (20 + 8 + plen) >> 8, ip[3] = (20 + 8 + plen) & 0xff;
	memcpy(ip + 12, (uint8_t[]){ 10, 0, 2, 15 }, 4);
	memcpy(ip + 16, (uint8_t[]){ 10, 0, 2, 2 }, 4);
	udp[0] = 0x30, udp[1] = 0x39, udp[2] = 0x00, udp[3] = 0x35;
	udp[4] = (8 + plen) >> 8, udp[5] = (8 + plen) & 0xff;
	udp[6] = udp[7] = 0;
	for (unsigned i = 0; i < plen; i++)
		udp[8 + i] = i * 13 + 1;
	return 14 + 20 + 8 + plen;
}

static uint32_t sum_words(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i < n; i += 2)
		s += (uint32_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0);
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* The UDP pseudo header's sum (RFC 768) of the frame at f. */
static uint16_t pseudo_sum(const uint8_t *f, unsigned udp_len)
{
	return fold(sum_words(f + 14 + 12, 8) + 17 + udp_len);
}

TEST(virtio_net_identity_and_config)
{
	struct vtest r;
	CHECK(rig_init(&r, false));
	CHECK_EQ(vt_cfg_r(&r, 0, 4), 0x10411af4);
	CHECK_EQ(vt_cfg_r(&r, 0x08, 4) >> 8, 0x020000);
	CHECK_EQ(vt_mr(&r, VT_COMMON(0x12), 2), 3);          /* num_queues */
	vt_mw(&r, VT_COMMON(0x00), 0, 4);
	uint32_t lo = vt_mr(&r, VT_COMMON(0x04), 4);
	CHECK_EQ(lo & (uint32_t)F_ALL, (uint32_t)F_ALL);
	CHECK(lo & (1u << 11));                         /* HOST_TSO4 */
	CHECK(!(lo & (1u << 14) || lo & (1u << 12) || lo & (1u << 7)));  /* no UFO, TSO6, GUEST_TSO4 */
	for (unsigned i = 0; i < 6; i++)
		CHECK_EQ(vt_mr(&r, VT_DEVCFG(i), 1), MAC[i]);
	CHECK_EQ(vt_mr(&r, VT_DEVCFG(6), 2), 1);             /* LINK_UP */
	CHECK(driver_up(&r, F_ALL));
	unsigned msis = r.msis;
	const char *err;
	CHECK_EQ(netdev_set_link(&fn(&r)->nd, "n0", false, &err), 0);
	CHECK_EQ(vt_mr(&r, VT_DEVCFG(6), 2), 0);
	CHECK(r.msis > msis);
	CHECK_EQ(r.msi_data, 0x40);                    /* the config vector */
	CHECK_EQ(netdev_set_link(&fn(&r)->nd, "n0", true, &err), 0);
	CHECK_EQ(vt_mr(&r, VT_DEVCFG(6), 2), 1);
	CHECK(netdev_set_link(&fn(&r)->nd, "nope", true, &err) < 0);
	vt_free(&r);
}

/* A frame in three descriptors, the checksum left to the device: the
 * back end gets the frame alone, its UDP checksum right. */
TEST(virtio_net_tx_checksum_offload)
{
	struct vtest r;
	CHECK(rig_init(&r, false));
	CHECK(driver_up(&r, F_ALL));
	uint8_t *f = r.ram + BUFN(1);
	size_t len = udp_frame(f, (uint8_t[]){ 0x52, 0x55, 10, 0, 2, 2 }, 101);
	uint16_t ps = pseudo_sum(f, 8 + 101);
	f[14 + 20 + 6] = ps >> 8, f[14 + 20 + 7] = ps & 0xff;
	struct hdr h = { .flags = 1, .csum_start = 34, .csum_offset = 6 };
	memcpy(r.ram + BUFN(0), &h, sizeof(h));
	vt_put_desc(&r, QBASE(1), 0, BUFN(0), 12, 1, 1);
	vt_put_desc(&r, QBASE(1), 1, BUFN(1), 40, 1, 2);
	vt_put_desc(&r, QBASE(1), 2, BUFN(1) + 40, len - 40, 0, 0);
	offer(&r, 1, 0);
	CHECK_EQ(vt_used_idx(&r, 1), 1);
	CHECK_EQ(fn(&r)->sent, 1);
	CHECK_EQ(fn(&r)->last_len, len);
	CHECK(!memcmp(fn(&r)->last, f, 40));             /* up to the checksum */
	CHECK(!memcmp(fn(&r)->last + 42, f + 42, len - 42));
	uint8_t *udp = fn(&r)->last + 34;
	CHECK(udp[6] | udp[7]);
	CHECK_EQ(fold(sum_words(udp, 8 + 101) + fold(sum_words(f + 26, 8) + 17 + 8 + 101)), 0xffff);
	CHECK(!vt_needs_reset(&r));
	vt_free(&r);
}

/* tap with vnet_hdr: the header goes through, checksum request and all */
TEST(virtio_net_tx_vnet_hdr_passes_through)
{
	struct vtest r;
	CHECK(rig_init(&r, true));
	CHECK(driver_up(&r, F_ALL));
	size_t len = udp_frame(r.ram + BUFN(0) + 12, (uint8_t[]){ 0x52, 0x55, 10, 0, 2, 2 }, 20);
	struct hdr h = { .flags = 1, .csum_start = 34, .csum_offset = 6 };
	memcpy(r.ram + BUFN(0), &h, sizeof(h));
	vt_put_desc(&r, QBASE(1), 0, BUFN(0), 12 + len, 0, 0);
	offer(&r, 1, 0);
	CHECK_EQ(fn(&r)->sent, 1);
	CHECK_EQ(fn(&r)->last_len, 12 + len);
	CHECK(!memcmp(fn(&r)->last, r.ram + BUFN(0), 12 + len));
	vt_free(&r);
}

/* Receive buffers of 1000 bytes: a 2500-byte frame takes three, the
 * first header says so. */
TEST(virtio_net_rx_mergeable_buffers)
{
	struct vtest r;
	CHECK(rig_init(&r, false));
	CHECK(driver_up(&r, F_ALL));
	for (unsigned i = 0; i < 4; i++) {
		vt_put_desc(&r, QBASE(0), i, BUFN(i), 1000, 2, 0);
		memset(r.ram + BUFN(i), 0xee, 1000);
		offer(&r, 0, i);
	}
	uint8_t frame[2500];
	udp_frame(frame, MAC, 2500 - 42);
	unsigned msis = r.msis;
	netdev_receive(&fn(&r)->nd, frame, sizeof(frame));
	CHECK_EQ(vt_used_idx(&r, 0), 3);
	CHECK_EQ(vt_used_len(&r, 0, 0), 1000);
	CHECK_EQ(vt_used_len(&r, 0, 1), 1000);
	CHECK_EQ(vt_used_len(&r, 0, 2), 512);
	struct hdr h;
	memcpy(&h, r.ram + BUFN(0), sizeof(h));
	CHECK_EQ(h.num_buffers, 3);
	CHECK_EQ(h.flags, 2);                          /* DATA_VALID */
	CHECK(!memcmp(r.ram + BUFN(0) + 12, frame, 988));
	CHECK(!memcmp(r.ram + BUFN(1), frame + 988, 1000));
	CHECK(!memcmp(r.ram + BUFN(2), frame + 1988, 512));
	CHECK_EQ(r.ram[BUFN(2) + 512], 0xee);
	CHECK(r.msis > msis);
	CHECK_EQ(r.msi_data, 0x41);
	CHECK_EQ(fn(&r)->nd.rx_frames, 1);
	vt_free(&r);
}

/* No buffers yet: the frame waits, and arrives once the driver adds one. */
TEST(virtio_net_rx_waits_for_buffers)
{
	struct vtest r;
	CHECK(rig_init(&r, false));
	CHECK(driver_up(&r, F_ALL));
	uint8_t frame[600];
	udp_frame(frame, MAC, sizeof(frame) - 42);
	vt_put_desc(&r, QBASE(0), 0, BUFN(0), 100, 2, 0);
	offer(&r, 0, 0);                               /* 100 bytes: not enough */
	netdev_receive(&fn(&r)->nd, frame, sizeof(frame));
	CHECK_EQ(vt_used_idx(&r, 0), 0);
	vt_put_desc(&r, QBASE(0), 1, BUFN(1), 2048, 2, 0);
	offer(&r, 0, 1);
	CHECK_EQ(vt_used_idx(&r, 0), 2);                  /* merged: 100 + 512 */
	CHECK_EQ(vt_used_len(&r, 0, 0), 100);
	CHECK_EQ(vt_used_len(&r, 0, 1), 512);
	CHECK_EQ(r.ram[BUFN(0) + 10], 2);              /* num_buffers */
	CHECK(!memcmp(r.ram + BUFN(1), frame + 88, 512));
	/* without MRG_RXBUF one chain takes the frame; too small: dropped */
	CHECK(driver_up(&r, F_VERSION_1 | F_MAC));
	vt_put_desc(&r, QBASE(0), 0, BUFN(0), 100, 2, 0);
	offer(&r, 0, 0);
	netdev_receive(&fn(&r)->nd, frame, sizeof(frame));
	CHECK_EQ(vt_used_idx(&r, 0), 0);
	CHECK(!vt_needs_reset(&r));
	vt_free(&r);
}

/* One control command; returns the ack byte (0xee: none). */
static uint8_t ctrl(struct vtest *r, const uint8_t *cmd, size_t len)
{
	memcpy(r->ram + BUFN(8), cmd, len);
	r->ram[BUFN(9)] = 0xee;
	vt_put_desc(r, QBASE(2), 0, BUFN(8), len, 1, 1);
	vt_put_desc(r, QBASE(2), 1, BUFN(9), 1, 2, 0);
	offer(r, 2, 0);
	return r->ram[BUFN(9)];
}

/* Deliver a frame to dest; whether it reached the receive queue. */
static bool reaches(struct vtest *r, const uint8_t *dest)
{
	uint16_t before = vt_used_idx(r, 0);
	uint8_t frame[100];
	udp_frame(frame, dest, 100 - 42);
	vt_put_desc(r, QBASE(0), r->avail_idx[0] % QSIZE, BUFN(r->avail_idx[0] % QSIZE), 2048, 2, 0);
	if (r->avail_idx[0] == r->used_seen[0])
		offer(r, 0, r->avail_idx[0] % QSIZE);
	netdev_receive(&fn(r)->nd, frame, sizeof(frame));
	if (vt_used_idx(r, 0) == before)
		return false;
	r->used_seen[0] = vt_used_idx(r, 0);
	return true;
}

TEST(virtio_net_ctrl_rx_mode_and_mac_filter)
{
	struct vtest r;
	CHECK(rig_init(&r, false));
	CHECK(driver_up(&r, F_ALL));
	static const uint8_t other[6] = { 0x52, 0x54, 0, 0, 0, 9 }, listed[6] = { 0x52, 0x54, 0, 0xaa, 0xbb, 0xcc };
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, mcast[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	CHECK(reaches(&r, other));                     /* promiscuous after reset */
	CHECK_EQ(ctrl(&r, (uint8_t[]){ 0, 0, 0 }, 3), 0);  /* PROMISC off */
	uint8_t table[2 + 4 + 6 + 4] = { 1, 0, 1, 0, 0, 0 };
	memcpy(table + 6, listed, 6);
	CHECK_EQ(ctrl(&r, table, sizeof(table)), 0);   /* MAC_TABLE_SET: one unicast */
	CHECK(reaches(&r, MAC));
	CHECK(reaches(&r, listed));
	CHECK(reaches(&r, bcast));
	CHECK(!reaches(&r, other));
	CHECK(!reaches(&r, mcast));
	CHECK_EQ(ctrl(&r, (uint8_t[]){ 0, 1, 1 }, 3), 0);  /* ALLMULTI on */
	CHECK(reaches(&r, mcast));
	/* MAC_ADDR_SET: the config space follows */
	CHECK_EQ(ctrl(&r, (uint8_t[]){ 1, 1, 0x52, 0x54, 0, 1, 2, 3 }, 8), 0);
	CHECK_EQ(vt_mr(&r, VT_DEVCFG(5), 1), 3);
	CHECK(reaches(&r, (uint8_t[]){ 0x52, 0x54, 0, 1, 2, 3 }));
	/* refused: unknown class, bad lengths, a table count past the data */
	CHECK_EQ(ctrl(&r, (uint8_t[]){ 9, 0 }, 2), 1);
	CHECK_EQ(ctrl(&r, (uint8_t[]){ 0, 0, 1, 1 }, 4), 1);
	CHECK_EQ(ctrl(&r, (uint8_t[]){ 1, 0, 0xff, 0xff, 0xff, 0xff }, 6), 1);
	CHECK_EQ(ctrl(&r, (uint8_t[]){ 1, 1, 1, 2, 3 }, 5), 1);
	CHECK(!vt_needs_reset(&r));
	vt_free(&r);
}

/* A TCP/IPv4 frame of plen payload bytes (seq 1000, FIN|PSH|CWR|ACK). */
static size_t tcp_frame(uint8_t *f, unsigned plen)
{
	size_t len = udp_frame(f, (uint8_t[]){ 0x52, 0x55, 10, 0, 2, 2 }, 12 + plen);
	uint8_t *ip = f + 14, *tcp = ip + 20;
	ip[9] = 6, ip[4] = 0x12, ip[5] = 0x34;
	memset(tcp, 0, 20);
	tcp[0] = 0x30, tcp[1] = 0x39, tcp[3] = 80;
	tcp[6] = 1000 >> 8, tcp[7] = 1000 & 0xff;
	tcp[12] = 5 << 4;
	tcp[13] = 0x80 | 0x10 | 0x08 | 0x01;
	for (unsigned i = 0; i < plen; i++)
		tcp[20 + i] = i * 7 + 3;
	return len;
}

/* HOST_TSO4 toward slirp: 2500 payload bytes with an MSS of 1000 leave
 * as three finished segments. */
TEST(virtio_net_tx_tso4_segments)
{
	struct vtest r;
	CHECK(rig_init(&r, false));
	CHECK(driver_up(&r, F_ALL | F_TSO4));
	uint8_t *f = r.ram + BUFN(1);
	size_t len = tcp_frame(f, 2500);
	struct hdr h = { .flags = 1, .gso_type = 1, .gso_size = 1000, .hdr_len = 54,
			 .csum_start = 34, .csum_offset = 16 };
	memcpy(r.ram + BUFN(0), &h, sizeof(h));
	vt_put_desc(&r, QBASE(1), 0, BUFN(0), 12, 1, 1);
	vt_put_desc(&r, QBASE(1), 1, BUFN(1), len, 0, 0);
	offer(&r, 1, 0);
	CHECK(!vt_needs_reset(&r));
	CHECK_EQ(fn(&r)->sent, 3);
	unsigned sizes[3] = { 1000, 1000, 500 };
	for (unsigned i = 0; i < 3; i++) {
		uint8_t *s = fn(&r)->frame[i], *ip = s + 14, *tcp = ip + 20;
		CHECK_EQ(fn(&r)->len[i], 54 + sizes[i]);
		CHECK(!memcmp(s, f, 14));
		CHECK_EQ(ip[2] << 8 | ip[3], 40 + sizes[i]);
		CHECK_EQ(ip[4] << 8 | ip[5], 0x1234 + i);
		CHECK_EQ(fold(sum_words(ip, 20)), 0xffff);    /* IP checksum */
		CHECK_EQ((uint32_t)(tcp[4] << 24 | tcp[5] << 16 | tcp[6] << 8 | tcp[7]), 1000 + 1000 * i);
		CHECK_EQ(tcp[13], (i == 0 ? 0x80 : 0) | 0x10 | (i == 2 ? 0x09 : 0));
		uint32_t pseudo = sum_words(ip + 12, 8) + 6 + 20 + sizes[i];
		CHECK_EQ(fold(sum_words(tcp, 20 + sizes[i]) + pseudo), 0xffff);
		CHECK(!memcmp(tcp + 20, f + 54 + 1000 * i, sizes[i]));
	}
	vt_free(&r);
}

/* ---- hostile drivers and back ends ---- */

enum hostile {
	H_TX_SHORT_HDR, H_TX_WRITABLE, H_TX_GSO, H_TX_CSUM_PAST_END, H_TX_CSUM_UNOFFERED,
	H_TX_OVERSIZED, H_RX_READABLE, H_RX_TINY, H_CTRL_NO_ACK, H_TX_OUTSIDE_RAM,
	H_TSO_NOT_TCP, H_TSO_ZERO_MSS, H_TSO_ECN,
};

static void hostile_chain(struct vtest *r, enum hostile k)
{
	struct hdr h = { 0 };
	size_t len = udp_frame(r->ram + BUFN(1), MAC, 50);
	if (k == H_TX_GSO)
		h.gso_type = 1, h.gso_size = 1448;
	if (k == H_TSO_NOT_TCP || k == H_TSO_ZERO_MSS || k == H_TSO_ECN)
		h.gso_type = k == H_TSO_ECN ? 0x81 : 1, h.gso_size = k == H_TSO_ZERO_MSS ? 0 : 100;
	if (k == H_TSO_ZERO_MSS || k == H_TSO_ECN)
		len = tcp_frame(r->ram + BUFN(1), 300);
	if (k == H_TX_CSUM_PAST_END || k == H_TX_CSUM_UNOFFERED)
		h.flags = 1, h.csum_start = k == H_TX_CSUM_PAST_END ? len - 4 : 34,
		h.csum_offset = 6;
	memcpy(r->ram + BUFN(0), &h, sizeof(h));
	unsigned q = 1;
	switch (k) {
	case H_TX_SHORT_HDR:
		vt_put_desc(r, QBASE(1), 0, BUFN(0), 8, 0, 0);
		break;
	case H_TX_WRITABLE:
		vt_put_desc(r, QBASE(1), 0, BUFN(0), 12, 1, 1);
		vt_put_desc(r, QBASE(1), 1, BUFN(1), len, 2, 0);
		break;
	case H_TX_OVERSIZED:
		vt_put_desc(r, QBASE(1), 0, BUFN(0), 12 + 70000, 0, 0);
		break;
	case H_TX_OUTSIDE_RAM:
		vt_put_desc(r, QBASE(1), 0, 16 * MiB - 8, 12 + len, 0, 0);
		break;
	case H_RX_READABLE:
	case H_RX_TINY:
		q = 0;
		vt_put_desc(r, QBASE(0), 0, BUFN(2), k == H_RX_TINY ? 8 : 2048, k == H_RX_TINY ? 2 : 0, 0);
		break;
	case H_CTRL_NO_ACK:
		q = 2;
		vt_put_desc(r, QBASE(2), 0, BUFN(8), 3, 0, 0);
		break;
	default:
		vt_put_desc(r, QBASE(1), 0, BUFN(0), 12, 1, 1);
		vt_put_desc(r, QBASE(1), 1, BUFN(1), len, 0, 0);
	}
	offer(r, q, 0);
	if (q == 0) {
		uint8_t frame[200];
		udp_frame(frame, MAC, 200 - 42);
		netdev_receive(&fn(r)->nd, frame, sizeof(frame));
	}
}

static void hostile_test(enum hostile k, const char *what)
{
	struct vtest r;
	CHECK(rig_init(&r, false));
	bool tso = k == H_TSO_NOT_TCP || k == H_TSO_ZERO_MSS || k == H_TSO_ECN;
	CHECK(driver_up(&r, (F_ALL | (tso ? F_TSO4 : 0)) & ~(k == H_TX_CSUM_UNOFFERED ? F_CSUM : 0)));
	memset(r.ram + BUFN(2), 0xaa, 4096);
	int lines;
	blktest_stderr_begin();
	hostile_chain(&r, k);
	const char *err = blktest_stderr_end(&lines);
	CHECK_EQ(lines, 1);
	CHECK(strstr(err, "virtio-net 00:03.0") && strstr(err, what));
	CHECK(vt_needs_reset(&r));
	CHECK_EQ(fn(&r)->sent, 0);
	if (k == H_RX_READABLE)
		for (unsigned i = 0; i < 4096; i++)
			CHECK_EQ(r.ram[BUFN(2) + i], 0xaa);
	/* after a reset it works again */
	CHECK(driver_up(&r, F_ALL));
	CHECK(!vt_needs_reset(&r));
	size_t len = udp_frame(r.ram + BUFN(1) + 12, MAC, 50);
	memset(r.ram + BUFN(1), 0, 12);
	vt_put_desc(&r, QBASE(1), 0, BUFN(1), 12 + len, 0, 0);
	offer(&r, 1, 0);
	CHECK_EQ(fn(&r)->sent, 1);
	vt_free(&r);
}

TEST(virtio_net_hostile_tx_short_header) { hostile_test(H_TX_SHORT_HDR, "shorter than the header"); }
TEST(virtio_net_hostile_tx_writable) { hostile_test(H_TX_WRITABLE, "the device may write"); }
TEST(virtio_net_hostile_tx_gso) { hostile_test(H_TX_GSO, "segmentation offload not offered"); }
TEST(virtio_net_hostile_tso_not_tcp) { hostile_test(H_TSO_NOT_TCP, "not TCP/IPv4"); }
TEST(virtio_net_hostile_tso_zero_mss) { hostile_test(H_TSO_ZERO_MSS, "zero segment size"); }
TEST(virtio_net_hostile_tso_ecn) { hostile_test(H_TSO_ECN, "not offered"); }
TEST(virtio_net_hostile_tx_csum_past_end) { hostile_test(H_TX_CSUM_PAST_END, "outside the frame"); }
TEST(virtio_net_hostile_tx_csum_unoffered) { hostile_test(H_TX_CSUM_UNOFFERED, "without CSUM"); }
TEST(virtio_net_hostile_tx_oversized) { hostile_test(H_TX_OVERSIZED, "over 64 KiB"); }
TEST(virtio_net_hostile_tx_outside_ram) { hostile_test(H_TX_OUTSIDE_RAM, "outside guest RAM"); }
TEST(virtio_net_hostile_rx_readable) { hostile_test(H_RX_READABLE, "may only read"); }
TEST(virtio_net_hostile_rx_tiny) { hostile_test(H_RX_TINY, "smaller than the header"); }
TEST(virtio_net_hostile_ctrl_no_ack) { hostile_test(H_CTRL_NO_ACK, "ack byte"); }

/* Dropped without harm: runt frames either way, oversized ones from the
 * back end, checksum requests from a tap with bad offsets. */
TEST(virtio_net_bad_frames_dropped)
{
	struct vtest r;
	CHECK(rig_init(&r, true));
	CHECK(driver_up(&r, F_VERSION_1 | F_MRG));
	memset(r.ram + BUFN(0), 0, 12);
	vt_put_desc(&r, QBASE(1), 0, BUFN(0), 12 + 10, 0, 0);    /* a 10-byte frame */
	offer(&r, 1, 0);
	CHECK_EQ(vt_used_idx(&r, 1), 1);
	CHECK_EQ(fn(&r)->sent, 0);
	vt_put_desc(&r, QBASE(0), 0, BUFN(2), 4096, 2, 0);
	offer(&r, 0, 0);
	uint8_t *big = calloc(1, 12 + NET_FRAME_MAX + 100);
	netdev_receive(&fn(&r)->nd, big, 12 + NET_FRAME_MAX + 100);
	netdev_receive(&fn(&r)->nd, big, 12 + 5);
	struct hdr h = { .flags = 1, .csum_start = 60000, .csum_offset = 6 };
	memcpy(big, &h, sizeof(h));
	udp_frame(big + 12, MAC, 50);
	netdev_receive(&fn(&r)->nd, big, 12 + 92);      /* NEEDS_CSUM past the end */
	h = (struct hdr){ .gso_type = 1 };
	memcpy(big, &h, sizeof(h));
	netdev_receive(&fn(&r)->nd, big, 12 + 92);      /* GSO not turned on */
	CHECK_EQ(vt_used_idx(&r, 0), 0);
	/* a good one with a checksum to finish: done by the device (no GUEST_CSUM) */
	h = (struct hdr){ .flags = 1, .csum_start = 34, .csum_offset = 6 };
	memcpy(big, &h, sizeof(h));
	uint16_t ps = pseudo_sum(big + 12, 58);
	big[12 + 34 + 6] = ps >> 8, big[12 + 34 + 7] = ps & 0xff;
	netdev_receive(&fn(&r)->nd, big, 12 + 92);
	CHECK_EQ(vt_used_idx(&r, 0), 1);
	memcpy(&h, r.ram + BUFN(2), sizeof(h));
	CHECK_EQ(h.flags, 0);
	uint8_t *udp = r.ram + BUFN(2) + 12 + 34;
	CHECK_EQ(fold(sum_words(udp, 58) + pseudo_sum(r.ram + BUFN(2) + 12, 58)), 0xffff);
	free(big);
	CHECK(!vt_needs_reset(&r));
	vt_free(&r);
}

TEST(virtio_net_options_parse)
{
	struct netdev_cfg c;
	char a1[] = "user,id=n0,net=10.1.0.0/16,hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:5353-:53,"
		    "restrict=on,dns=10.1.0.3";
	CHECK_EQ(netdev_parse("-netdev", a1, true, &c), 0);
	CHECK_EQ(c.kind, NETDEV_USER);
	CHECK(!strcmp(c.id, "n0") && c.nr_hostfwd == 2 && c.restrict_guest);
	struct hostfwd h;
	const char *err;
	CHECK_EQ(net_parse_hostfwd("udp:127.0.0.1:5353-:53", &h, &err), 0);
	CHECK(h.udp && h.host_port == 5353 && h.guest_port == 53 && h.host_addr == htonl(0x7f000001));
	CHECK(net_parse_hostfwd("sctp::1-:2", &h, &err) < 0);
	CHECK(net_parse_hostfwd("tcp::99999-:2", &h, &err) < 0);
	CHECK(net_parse_hostfwd("tcp::22-:0", &h, &err) < 0);
	uint8_t mac[6];
	CHECK_EQ(net_parse_mac("52:54:00:ab:cd:ef", mac), 0);
	CHECK_EQ(mac[5], 0xef);
	CHECK(net_parse_mac("53:54:00:ab:cd:ef", mac) < 0);   /* multicast */
	CHECK(net_parse_mac("52:54:00:ab:cd", mac) < 0);
	blktest_stderr_begin();
	char b1[] = "user,hostfwd=tcp::22", b2[] = "tap,id=t,script=/etc/qemu-ifup",
	     b3[] = "vde,id=s", b4[] = "user,id=u,bogus=1", b5[] = "user", b6[] = "user,id=x,dns=1.2.3";
	CHECK(netdev_parse("-netdev", b1, true, &c) < 0);
	CHECK(netdev_parse("-netdev", b2, true, &c) < 0);
	CHECK(netdev_parse("-netdev", b3, true, &c) < 0);
	CHECK(netdev_parse("-netdev", b4, true, &c) < 0);
	CHECK(netdev_parse("-netdev", b5, true, &c) < 0);
	CHECK(netdev_parse("-netdev", b6, true, &c) < 0);
	int lines;
	blktest_stderr_end(&lines);
	CHECK_EQ(lines, 6);
}

/* The filter and the MAC move with the state; a stream from another
 * version is refused. */
TEST(virtio_net_state_copies)
{
	struct vtest r, r2;
	CHECK(rig_init(&r, false));
	CHECK(rig_init(&r2, false));
	CHECK(driver_up(&r, F_ALL));
	CHECK_EQ(ctrl(&r, (uint8_t[]){ 0, 0, 0 }, 3), 0);
	CHECK_EQ(ctrl(&r, (uint8_t[]){ 1, 1, 0x52, 0x54, 0, 7, 7, 7 }, 8), 0);
	memcpy(r2.ram, r.ram, 16 * MiB);
	CHECK_EQ(copy_device_state(r.m, r2.m), 0);
	vt_copy_driver(&r2, &r);
	CHECK_EQ(vt_mr(&r2, VT_COMMON(0x14), 1), 0xf);
	CHECK_EQ(vt_mr(&r2, VT_DEVCFG(5), 1), 7);
	CHECK(!reaches(&r2, (uint8_t[]){ 0x52, 0x54, 0, 9, 9, 9 }));   /* not promiscuous */
	CHECK(reaches(&r2, (uint8_t[]){ 0x52, 0x54, 0, 7, 7, 7 }));
	vt_free(&r2);
	vt_free(&r);
}
