/*
 * virtio-net (virtio 1.2 spec, 5.1) on the virtio-pci transport, with a
 * network back end (net/net.h) behind it.
 *
 * Queues: 0 receive, 1 transmit, 2 control (no multiqueue).  Features:
 * MAC, STATUS (link state), MRG_RXBUF, CSUM and GUEST_CSUM, CTRL_VQ with
 * CTRL_RX (promiscuous, all-multicast) and CTRL_MAC_ADDR (and the MAC
 * filter table), HOST_TSO4: the guest may send TCP/IPv4 frames of up to
 * 64 KiB, which a tap takes as they are and which we cut into segments
 * for a back end that wants whole packets (net/segment.c).  No UFO, no
 * TSO6 or ECN, no GUEST_TSO: the guest receives whole frames.
 *
 * Every packet has the 12-byte header first (5.1.6, VERSION_1).  All the
 * work runs on the main thread, where the back ends deliver: a queue
 * notification (vCPU thread) arms a zero timer (the "bottom half") that
 * empties the transmit and control queues and retries the frames that
 * waited for receive buffers.  The device lock is never held while a
 * frame goes to the back end (libslirp may answer at once, into
 * receive()).
 *
 * Untrusted input: a chain of the wrong direction, a header that does not
 * fit, a frame over 64 KiB, an offload we did not offer or checksum
 * offsets outside the frame put the device in its error state
 * (virtio_error).  A frame shorter than an Ethernet header is dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "block/block-int.h"   /* the iovec helpers */
#include "machine.h"
#include "mainloop.h"
#include "net/net.h"
#include "state.h"
#include "hw.h"
#include "virtio.h"

#define VIRTIO_ID_NET 1

/* feature bits (5.1.3) */
#define F_CSUM 0
#define F_GUEST_CSUM 1
#define F_MAC 5
#define F_HOST_TSO4 11
#define F_MRG_RXBUF 15
#define F_STATUS 16
#define F_CTRL_VQ 17
#define F_CTRL_RX 18
#define F_CTRL_MAC_ADDR 23

#define STATUS_LINK_UP 1

/* header (5.1.6) */
#define HDR_F_NEEDS_CSUM 1
#define HDR_F_DATA_VALID 2
#define GSO_NONE 0
#define GSO_TCPV4 1

/* control queue (5.1.6.5) */
#define CTRL_RX 0
#define CTRL_RX_PROMISC 0
#define CTRL_RX_ALLMULTI 1
#define CTRL_MAC 1
#define CTRL_MAC_TABLE_SET 0
#define CTRL_MAC_ADDR_SET 1
#define CTRL_OK 0
#define CTRL_ERR 1
#define CTRL_MAX 65536         /* the largest command we read */

#define RXQ 0
#define TXQ 1
#define CTRLQ 2
#define QUEUE_SIZE 256
#define ETH_HLEN 14
#define MAC_TABLE 64           /* filter entries kept; past it: overflow */
#define BACKLOG_MAX 256        /* frames waiting for receive buffers */
#define TX_BATCH 256           /* frames per bottom half */

struct net_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
} __attribute__((packed));

struct net_config {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
} __attribute__((packed));

struct frame {
	size_t len;                 /* the header (NET_VNET_HDR_LEN) and the frame */
	uint8_t data[];
};

struct virtio_net {
	struct virtio_dev *vd;
	struct virtio_dev_ops ops;
	struct netdev *nd;             /* owned; NULL: no back end */
	struct timer *bh;
	unsigned slot;
	uint8_t perm_mac[6], mac[6];
	bool link_up;
	/* receive filter (5.1.6.5.1, 5.1.6.5.2) */
	bool promisc, allmulti;
	uint8_t table[MAC_TABLE][6];
	unsigned uni_count, multi_count;   /* table[0..uni), then multicast */
	bool uni_overflow, multi_overflow;
	struct frame *backlog[BACKLOG_MAX];
	unsigned backlog_head, backlog_count;
	uint64_t dropped;
	uint8_t txbuf[NET_VNET_HDR_LEN + NET_FRAME_MAX];
	uint8_t segbuf[NET_FRAME_MAX];     /* one TSO segment */
};

/* ---- receive ---- */

static bool is_broadcast(const uint8_t *mac)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	return !memcmp(mac, bcast, 6);
}

static bool in_table(struct virtio_net *n, const uint8_t *mac, unsigned from, unsigned count)
{
	for (unsigned i = from; i < from + count; i++)
		if (!memcmp(n->table[i], mac, 6))
			return true;
	return false;
}

/* 5.1.6.5.1: whether the device takes a frame to dest */
static bool rx_wanted(struct virtio_net *n, const uint8_t *dest)
{
	if (n->promisc || is_broadcast(dest))
		return true;
	if (dest[0] & 1)
		return n->allmulti || n->multi_overflow ||
		       in_table(n, dest, n->uni_count, n->multi_count);
	return !memcmp(dest, n->mac, 6) || n->uni_overflow || in_table(n, dest, 0, n->uni_count);
}

/* The header the driver sees, from the back end's (or none).  false:
 * drop the frame (an offload the guest did not take, bad offsets). */
static bool rx_header(struct virtio_net *n, struct net_hdr *h, uint8_t *frame, size_t flen)
{
	bool guest_csum = virtio_has_feature(n->vd, F_GUEST_CSUM);
	if (!n->nd->vnet_hdr) {
		/* libslirp's frames carry correct checksums */
		*h = (struct net_hdr){ .flags = guest_csum ? HDR_F_DATA_VALID : 0 };
		return true;
	}
	if (h->gso_type != GSO_NONE)
		return false;                  /* no offloads were turned on */
	if ((h->flags & HDR_F_NEEDS_CSUM) && !guest_csum) {
		if (net_checksum_fill(frame, flen, h->csum_start, h->csum_offset) < 0)
			return false;
		h->flags = 0;
	}
	if (!guest_csum)
		h->flags &= ~HDR_F_DATA_VALID;
	h->gso_size = h->hdr_len = 0;
	return true;
}

/* Pop receive buffers holding total bytes: how many (elems[]), 0 when the
 * driver has not given enough yet (everything given back), -1 when the
 * device broke. */
static int rx_pop(struct virtio_net *n, size_t total, struct vq_elem **elems, unsigned max)
{
	bool mergeable = virtio_has_feature(n->vd, F_MRG_RXBUF);
	unsigned k = 0;
	size_t have = 0;
	while (have < total) {
		if (k == max || virtio_pop(n->vd, RXQ, &elems[k]) != 1)
			break;
		struct vq_elem *e = elems[k++];
		if (e->out_num || e->in_len < sizeof(struct net_hdr)) {
			virtio_error(n->vd, "receive buffer %s",
				     e->out_num ? "the device may only read" : "smaller than the header");
			while (k)
				virtio_push(n->vd, RXQ, elems[--k], 0);
			return -1;
		}
		have += e->in_len;
		if (!mergeable)
			break;
	}
	if (have >= total)
		return k;
	while (k)
		virtio_unpop(n->vd, RXQ, elems[--k]);
	return virtio_broken(n->vd) ? -1 : 0;
}

/* Lock held.  Put one frame (header first) into receive buffers: 1 done
 * (or dropped for good), 0 no room yet. */
static int rx_deliver(struct virtio_net *n, uint8_t *buf, size_t len)
{
	struct vq_elem *elems[QUEUE_SIZE];
	struct net_hdr h;
	uint8_t *frame = buf + NET_VNET_HDR_LEN;
	size_t flen = len - NET_VNET_HDR_LEN;
	memcpy(&h, buf, sizeof(h));
	if (flen < ETH_HLEN || !rx_wanted(n, frame) || !rx_header(n, &h, frame, flen))
		return 1;
	memcpy(buf, &h, sizeof(h));   /* done once, even if the frame waits */
	bool mergeable = virtio_has_feature(n->vd, F_MRG_RXBUF);
	int k = rx_pop(n, len, elems, QUEUE_SIZE);
	if (k < 0)
		return 1;
	if (k == 0) {
		/* without MRG_RXBUF, a buffer too small for this frame stays
		 * too small: drop the frame, not the queue */
		struct vq_elem *e;
		if (!mergeable && virtio_pop(n->vd, RXQ, &e) == 1) {
			virtio_unpop(n->vd, RXQ, e);
			n->dropped++;
			return 1;
		}
		return 0;
	}
	h.num_buffers = k;
	memcpy(buf, &h, sizeof(h));
	size_t off = 0;
	for (int i = 0; i < k; i++) {
		size_t chunk = MIN(len - off, elems[i]->in_len);
		iov_from_buf(elems[i]->in, elems[i]->in_num, 0, buf + off, chunk);
		off += chunk;
		virtio_push(n->vd, RXQ, elems[i], chunk);
	}
	virtio_notify(n->vd, RXQ);
	return 1;
}

static bool rx_ready(struct virtio_net *n)
{
	return n->link_up && !virtio_broken(n->vd);
}

/* Lock held: deliver what waits, oldest first. */
static void rx_flush(struct virtio_net *n)
{
	while (n->backlog_count) {
		struct frame *f = n->backlog[n->backlog_head];
		if (rx_ready(n) && !rx_deliver(n, f->data, f->len))
			return;
		free(f);
		n->backlog_head = (n->backlog_head + 1) % BACKLOG_MAX;
		n->backlog_count--;
	}
}

static void rx_queue(struct virtio_net *n, const uint8_t *buf, size_t len, bool with_hdr)
{
	if (n->backlog_count == BACKLOG_MAX) {
		n->dropped++;
		return;
	}
	size_t hdr = with_hdr ? 0 : NET_VNET_HDR_LEN;
	struct frame *f = malloc(sizeof(*f) + hdr + len);
	if (!f) {
		n->dropped++;
		return;
	}
	memset(f->data, 0, hdr);
	memcpy(f->data + hdr, buf, len);
	f->len = hdr + len;
	n->backlog[(n->backlog_head + n->backlog_count++) % BACKLOG_MAX] = f;
}

/* The back end's frame (main thread). */
static void net_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct virtio_net *n = opaque;
	bool with_hdr = n->nd->vnet_hdr;
	if (len > (with_hdr ? NET_VNET_HDR_LEN : 0) + NET_FRAME_MAX)
		return;
	virtio_lock(n->vd);
	if (rx_ready(n)) {
		rx_queue(n, buf, len, with_hdr);
		rx_flush(n);
	}
	virtio_unlock(n->vd);
}

/* ---- transmit ---- */

static bool has_vnet_hdr(struct virtio_net *n)
{
	return n->nd && n->nd->vnet_hdr;
}

/* The header's offload requests against what was negotiated (5.1.6.2):
 * NULL when fine, else what is wrong. */
static const char *tx_offload_error(struct virtio_net *n, const struct net_hdr *h,
				    const uint8_t *frame, size_t flen)
{
	if (h->gso_type != GSO_NONE) {
		if (h->gso_type != GSO_TCPV4 || !virtio_has_feature(n->vd, F_HOST_TSO4))
			return "segmentation offload not offered";
		if (!h->gso_size)
			return "segmentation offload with a zero segment size";
		if (!has_vnet_hdr(n) && net_tso4_check(frame, flen) < 0)
			return "segmentation offload of a frame that is not TCP/IPv4";
	}
	if (h->flags & HDR_F_NEEDS_CSUM) {
		if (!virtio_has_feature(n->vd, F_CSUM))
			return "checksum request without CSUM";
		if ((size_t)h->csum_start + h->csum_offset + 2 > flen)
			return "checksum request outside the frame";
	}
	return NULL;
}

/* Lock held.  Check the element and copy the frame to txbuf (header
 * first): its length, 0 to drop it, -1 when the device broke. */
static ssize_t tx_take(struct virtio_net *n, struct vq_elem *e)
{
	struct net_hdr h;
	if (e->in_num || e->out_len < sizeof(h) || e->out_len > sizeof(n->txbuf)) {
		virtio_error(n->vd, "transmit buffer %s", e->in_num ? "the device may write" :
			     e->out_len < sizeof(h) ? "shorter than the header" : "over 64 KiB");
		return -1;
	}
	iov_to_buf(e->out, e->out_num, 0, n->txbuf, e->out_len);
	memcpy(&h, n->txbuf, sizeof(h));
	size_t flen = e->out_len - sizeof(h);
	uint8_t *frame = n->txbuf + sizeof(h);
	const char *bad = tx_offload_error(n, &h, frame, flen);
	if (bad) {
		virtio_error(n->vd, "transmit %s (gso_type %u, flags %u)", bad, h.gso_type, h.flags);
		return -1;
	}
	if (flen < ETH_HLEN)
		return 0;
	/* a back end without the header gets finished frames: checksums
	 * here, or in each segment */
	if ((h.flags & HDR_F_NEEDS_CSUM) && !has_vnet_hdr(n) && h.gso_type == GSO_NONE)
		net_checksum_fill(frame, flen, h.csum_start, h.csum_offset);
	if (!has_vnet_hdr(n))
		h.flags = 0;
	h.num_buffers = 0;
	memcpy(n->txbuf, &h, sizeof(h));
	return e->out_len;
}

static void tx_emit(void *opaque, const uint8_t *frame, size_t len)
{
	struct virtio_net *n = opaque;
	netdev_send(n->nd, frame, len);
}

/* Outside the lock: the frame in txbuf (len bytes, header first) to the
 * back end, whole or in TSO segments. */
static void tx_send(struct virtio_net *n, size_t len)
{
	struct net_hdr h;
	memcpy(&h, n->txbuf, sizeof(h));
	if (has_vnet_hdr(n))
		netdev_send(n->nd, n->txbuf, len);
	else if (h.gso_type == GSO_TCPV4)
		net_tso4_segment(n->txbuf + sizeof(h), len - sizeof(h), h.gso_size, n->segbuf,
				 tx_emit, n);
	else
		netdev_send(n->nd, n->txbuf + sizeof(h), len - sizeof(h));
}

static void tx_run(struct virtio_net *n, bool *more)
{
	for (unsigned i = 0; i < TX_BATCH; i++) {
		struct vq_elem *e;
		virtio_lock(n->vd);
		if (virtio_pop(n->vd, TXQ, &e) != 1) {
			virtio_unlock(n->vd);
			return;
		}
		ssize_t len = tx_take(n, e);
		virtio_push(n->vd, TXQ, e, 0);
		virtio_notify(n->vd, TXQ);
		virtio_unlock(n->vd);
		if (len < 0)
			return;
		if (len > 0 && n->nd)
			tx_send(n, len);
	}
	*more = true;
}

/* ---- control queue ---- */

/* MAC_TABLE_SET: le32 entries, entries * 6 bytes, for unicast then
 * multicast (5.1.6.5.2) */
static uint8_t ctrl_mac_table(struct virtio_net *n, const uint8_t *d, size_t len)
{
	uint32_t count[2];
	size_t off = 0;
	uint8_t table[MAC_TABLE][6];
	unsigned kept[2] = { 0, 0 };
	bool overflow[2] = { false, false };
	for (int t = 0; t < 2; t++) {
		if (len - off < 4)
			return CTRL_ERR;
		memcpy(&count[t], d + off, 4);
		off += 4;
		if (count[t] > (len - off) / 6)
			return CTRL_ERR;
		for (uint32_t i = 0; i < count[t]; i++, off += 6) {
			unsigned at = kept[0] + kept[1];
			if (at < MAC_TABLE) {
				memcpy(table[at], d + off, 6);
				kept[t]++;
			} else {
				overflow[t] = true;
			}
		}
	}
	if (off != len)
		return CTRL_ERR;
	memcpy(n->table, table, sizeof(table));
	n->uni_count = kept[0], n->multi_count = kept[1];
	n->uni_overflow = overflow[0], n->multi_overflow = overflow[1];
	return CTRL_OK;
}

static uint8_t ctrl_command(struct virtio_net *n, const uint8_t *c, size_t len)
{
	const uint8_t *d = c + 2;
	size_t dlen = len - 2;
	if (c[0] == CTRL_RX && (c[1] == CTRL_RX_PROMISC || c[1] == CTRL_RX_ALLMULTI)) {
		if (dlen != 1 || !virtio_has_feature(n->vd, F_CTRL_RX))
			return CTRL_ERR;
		*(c[1] == CTRL_RX_PROMISC ? &n->promisc : &n->allmulti) = d[0] != 0;
		return CTRL_OK;
	}
	if (c[0] == CTRL_MAC && c[1] == CTRL_MAC_TABLE_SET && virtio_has_feature(n->vd, F_CTRL_RX))
		return ctrl_mac_table(n, d, dlen);
	if (c[0] == CTRL_MAC && c[1] == CTRL_MAC_ADDR_SET && dlen == 6 &&
	    virtio_has_feature(n->vd, F_CTRL_MAC_ADDR)) {
		memcpy(n->mac, d, 6);
		return CTRL_OK;
	}
	return CTRL_ERR;
}

/* Lock held: one command, answered in the last writable byte. */
static void ctrl_one(struct virtio_net *n, struct vq_elem *e)
{
	if (e->out_len < 2 || e->out_len > CTRL_MAX || e->in_len < 1) {
		virtio_error(n->vd, "control command without a class and command or an ack byte");
		virtio_push(n->vd, CTRLQ, e, 0);
		return;
	}
	uint8_t *cmd = malloc(e->out_len);
	uint8_t ack = CTRL_ERR;
	if (cmd) {
		iov_to_buf(e->out, e->out_num, 0, cmd, e->out_len);
		ack = ctrl_command(n, cmd, e->out_len);
		free(cmd);
	}
	iov_from_buf(e->in, e->in_num, e->in_len - 1, &ack, 1);
	virtio_push(n->vd, CTRLQ, e, 1);
}

static void ctrl_run(struct virtio_net *n)
{
	struct vq_elem *e;
	virtio_lock(n->vd);
	while (virtio_pop(n->vd, CTRLQ, &e) == 1)
		ctrl_one(n, e);
	virtio_notify(n->vd, CTRLQ);
	virtio_unlock(n->vd);
}

/* ---- the bottom half and the transport's callbacks ---- */

static void net_bh(void *opaque)
{
	struct virtio_net *n = opaque;
	bool more = false;
	ctrl_run(n);
	tx_run(n, &more);
	virtio_lock(n->vd);
	if (rx_ready(n))
		rx_flush(n);
	virtio_unlock(n->vd);
	if (more)
		timer_arm(n->bh, 0);
}

/* A vCPU wrote the notify register: the work is the main thread's. */
static void net_queue_notify(struct virtio_dev *vd, unsigned qi)
{
	struct virtio_net *n = virtio_opaque(vd);
	(void)qi;
	timer_arm(n->bh, 0);
}

static void net_config_read(struct virtio_dev *vd, uint8_t *buf)
{
	struct virtio_net *n = virtio_opaque(vd);
	struct net_config c = { .status = n->link_up ? STATUS_LINK_UP : 0,
				.max_virtqueue_pairs = 1 };
	memcpy(c.mac, n->mac, 6);
	memcpy(buf, &c, sizeof(c));
}

static void drop_backlog(struct virtio_net *n)
{
	while (n->backlog_count) {
		free(n->backlog[n->backlog_head]);
		n->backlog_head = (n->backlog_head + 1) % BACKLOG_MAX;
		n->backlog_count--;
	}
}

/* Lock held: the filter as after power-on (promiscuous, as QEMU's) */
static void net_reset(struct virtio_dev *vd)
{
	struct virtio_net *n = virtio_opaque(vd);
	drop_backlog(n);
	memcpy(n->mac, n->perm_mac, 6);
	n->promisc = true;
	n->allmulti = false;
	n->uni_count = n->multi_count = 0;
	n->uni_overflow = n->multi_overflow = false;
}

static void net_link_changed(void *opaque, bool up)
{
	struct virtio_net *n = opaque;
	virtio_lock(n->vd);
	n->link_up = up;
	if (!up)
		drop_backlog(n);
	virtio_config_changed(n->vd);
	virtio_unlock(n->vd);
}

static void net_describe(void *opaque, char *buf, size_t size)
{
	struct virtio_net *n = opaque;
	snprintf(buf, size, "virtio-net-pci 00:%02x.0: mac=%02x:%02x:%02x:%02x:%02x:%02x, %llu dropped",
		 n->slot, n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5],
		 (unsigned long long)n->dropped);
}

static const struct net_peer_ops net_peer = {
	.receive = net_receive,
	.describe = net_describe,
	.link_changed = net_link_changed,
};

/* Migration: the filter state; the rings are the transport's. */
#define VIRTIO_NET_STATE_VERSION 1

static void net_save(struct virtio_dev *vd, struct state_buf *s)
{
	struct virtio_net *n = virtio_opaque(vd);
	state_put_u8(s, VIRTIO_NET_STATE_VERSION);
	state_put_bytes(s, n->mac, 6);
	state_put_u8(s, n->promisc | n->allmulti << 1 | n->uni_overflow << 2 | n->multi_overflow << 3);
	state_put_u8(s, n->uni_count);
	state_put_u8(s, n->multi_count);
	state_put_bytes(s, n->table, sizeof(n->table));
}

static int net_load(struct virtio_dev *vd, struct state_buf *s)
{
	struct virtio_net *n = virtio_opaque(vd);
	uint8_t mac[6], table[MAC_TABLE][6];
	uint8_t version = state_get_u8(s);
	state_get_bytes(s, mac, 6);
	uint8_t flags = state_get_u8(s), uni = state_get_u8(s), multi = state_get_u8(s);
	state_get_bytes(s, table, sizeof(table));
	if (s->error || version != VIRTIO_NET_STATE_VERSION || flags > 15 ||
	    uni + multi > MAC_TABLE)
		return -1;
	memcpy(n->mac, mac, 6);
	memcpy(n->table, table, sizeof(table));
	n->promisc = flags & 1, n->allmulti = flags >> 1 & 1;
	n->uni_overflow = flags >> 2 & 1, n->multi_overflow = flags >> 3 & 1;
	n->uni_count = uni, n->multi_count = multi;
	return 0;
}

static void net_destroy(struct virtio_dev *vd)
{
	struct virtio_net *n = virtio_opaque(vd);
	timer_free(n->bh);
	drop_backlog(n);
	if (n->nd)
		n->nd->ops->free(n->nd);
	free(n);
}

static const struct virtio_dev_ops net_ops_template = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.class_code = 0x020000,   /* network, Ethernet */
	.features = 1ULL << F_CSUM | 1ULL << F_GUEST_CSUM | 1ULL << F_MAC | 1ULL << F_HOST_TSO4 |
		    1ULL << F_MRG_RXBUF |
		    1ULL << F_STATUS | 1ULL << F_CTRL_VQ | 1ULL << F_CTRL_RX | 1ULL << F_CTRL_MAC_ADDR,
	.num_queues = 3,
	.queue_max = QUEUE_SIZE,
	.config_size = sizeof(struct net_config),
	.config_read = net_config_read,
	.queue_notify = net_queue_notify,
	.reset = net_reset,
	.save = net_save,
	.load = net_load,
	.destroy = net_destroy,
};

struct virtio_net *virtio_net_new(struct machine *m, struct pci_host *h, unsigned slot,
				  struct netdev *nd, const uint8_t mac[6])
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	if (!n || !m->loop || (nd && netdev_attach(nd, &net_peer, n) < 0)) {
		qvm_error("virtio-net: %s", !n || !m->loop ? "cannot set up the device" :
			  "the network back end has a NIC already");
		free(n);
		return NULL;
	}
	n->nd = nd;
	n->slot = slot;
	memcpy(n->perm_mac, mac, 6);
	n->link_up = !nd || !nd->link_down;
	n->bh = timer_new(m->loop, net_bh, n);
	n->ops = net_ops_template;
	memcpy(n->mac, mac, 6);
	n->promisc = true;
	n->vd = virtio_pci_new(m, h, slot, &n->ops, n);
	if (!n->vd) {
		if (nd)
			nd->peer = NULL;
		timer_free(n->bh);
		free(n);
		return NULL;
	}
	return n;
}
