/*
 * libFuzzer target for what virtio-net does with a guest's frames and
 * what the network options parse (user/net/): the input is a 12-byte
 * virtio-net header (virtio 1.2, 5.1.6) and a frame.  The checksum the
 * header asks for is completed on a copy (net_checksum_fill), the frame
 * is cut into TCP segments with the header's MSS (net_tso4_segment; each
 * segment must be the headers plus at most MSS bytes, the payloads adding
 * up to the frame's), and the bytes as a string go through the hostfwd,
 * MAC and -netdev parsers.
 *
 * Linked with net.c, segment.c, opts.c and log.c only (tests/fuzz/fuzz.mk);
 * the back ends are stubs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "net/net.h"

struct netdev *net_user_new(struct mainloop *l, const struct netdev_cfg *cfg)
{
	(void)l, (void)cfg;
	return NULL;
}

struct netdev *net_tap_new(struct mainloop *l, const struct netdev_cfg *cfg)
{
	(void)l, (void)cfg;
	return NULL;
}

struct netdev *net_socket_new(struct mainloop *l, const struct netdev_cfg *cfg)
{
	(void)l, (void)cfg;
	return NULL;
}

struct seg_check {
	size_t hdr, payload, mss;
	unsigned count;
};

/* each segment: the frame's headers and 1..MSS payload bytes (one
 * segment may be empty when the frame has no payload) */
static void emit(void *opaque, const uint8_t *frame, size_t len)
{
	struct seg_check *c = opaque;
	(void)frame;
	if (len < c->hdr || len - c->hdr > c->mss || len > NET_FRAME_MAX)
		abort();
	c->payload += len - c->hdr;
	c->count++;
}

static void fuzz_frame(const uint8_t *data, size_t size)
{
	uint16_t mss, start, offset;
	memcpy(&mss, data + 4, 2);
	memcpy(&start, data + 6, 2);
	memcpy(&offset, data + 8, 2);
	const uint8_t *frame = data + NET_VNET_HDR_LEN;
	size_t len = size - NET_VNET_HDR_LEN;
	uint8_t *copy = malloc(len + 1);
	memcpy(copy, frame, len);
	net_checksum_fill(copy, len, start, offset);
	free(copy);
	if (net_tso4_check(frame, len) < 0)
		return;
	static uint8_t scratch[NET_FRAME_MAX];
	unsigned ihl = (frame[14] & 15) * 4, doff = (frame[14 + ihl + 12] >> 4) * 4;
	struct seg_check c = { .hdr = 14 + ihl + doff, .mss = mss };
	if (net_tso4_segment(frame, len, mss, scratch, emit, &c) < 0) {
		if (mss)
			abort();      /* net_tso4_check said yes */
		return;
	}
	if (!c.count || c.payload != len - c.hdr)
		abort();
}

static void fuzz_strings(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = 0;
	struct hostfwd h;
	const char *err;
	uint8_t mac[6];
	net_parse_hostfwd(s, &h, &err);
	net_parse_mac(s, mac);
	struct netdev_cfg cfg;
	netdev_parse("-netdev", s, true, &cfg);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= NET_VNET_HDR_LEN && size <= NET_VNET_HDR_LEN + NET_FRAME_MAX)
		fuzz_frame(data, size);
	if (size <= 4096)
		fuzz_strings(data, size);
	return 0;
}
