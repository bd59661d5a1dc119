/*
 * TCP segmentation offload done in software, for back ends that want
 * whole packets (libslirp): a guest that negotiated virtio-net's
 * HOST_TSO4 hands over one Ethernet frame holding up to 64 KiB of TCP
 * payload (virtio 1.2, 5.1.6.2: gso_type TCPV4, gso_size the MSS), and
 * we cut it into the MSS-sized segments the wire would carry.
 *
 * Every segment gets the frame's Ethernet, IPv4 (RFC 791) and TCP
 * (RFC 9293) headers with: the IP total length and header checksum; IDs
 * counting up from the frame's; the sequence number advanced by the
 * payload before it; FIN and PSH only on the last segment, CWR only on
 * the first (RFC 3168 6.1.2); the TCP checksum over the pseudo header.
 */
#include <string.h>
#include "net.h"

#define ETH_HLEN 14
#define ETH_P_IPV4 0x0800
#define IPPROTO_TCP_ 6
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static uint16_t get16(const uint8_t *p) { return p[0] << 8 | p[1]; }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* Where the IP and TCP headers end; -1 unless IPv4/TCP, unfragmented,
 * with both headers inside the frame. */
static int headers(const uint8_t *f, size_t len, unsigned *ip_len, unsigned *hdr_len)
{
	if (len < ETH_HLEN + 20 || get16(f + 12) != ETH_P_IPV4)
		return -1;
	const uint8_t *ip = f + ETH_HLEN;
	unsigned ihl = (ip[0] & 15) * 4;
	if (ip[0] >> 4 != 4 || ihl < 20 || ip[9] != IPPROTO_TCP_ || (get16(ip + 6) & 0x3fff))
		return -1;
	if (len < ETH_HLEN + ihl + 20)
		return -1;
	unsigned doff = (ip[ihl + 12] >> 4) * 4;
	if (doff < 20 || len < ETH_HLEN + ihl + doff)
		return -1;
	*ip_len = ihl;
	*hdr_len = ETH_HLEN + ihl + doff;
	return 0;
}

/* The headers of seg (payload bytes at offset off of the frame's). */
static void fix_headers(uint8_t *s, unsigned ihl, unsigned hdr, size_t payload, unsigned i,
			uint32_t off, bool first, bool last)
{
	uint8_t *ip = s + ETH_HLEN, *tcp = ip + ihl;
	size_t tcp_len = hdr - ETH_HLEN - ihl + payload;
	put16(ip + 2, ihl + tcp_len);
	put16(ip + 4, get16(ip + 4) + i);
	put16(ip + 10, 0);
	put16(ip + 10, ~net_csum_fold(net_csum_add(0, ip, ihl)));
	put32(tcp + 4, get32(tcp + 4) + off);
	if (!last)
		tcp[13] &= ~(TCP_FIN | TCP_PSH);
	if (!first)
		tcp[13] &= ~TCP_CWR;
	put16(tcp + 16, 0);
	/* pseudo header: source, destination, protocol, TCP length */
	uint32_t sum = net_csum_add(0, ip + 12, 8) + IPPROTO_TCP_ + tcp_len;
	uint16_t c = ~net_csum_fold(net_csum_add(sum, tcp, tcp_len));
	put16(tcp + 16, c ? c : 0xffff);
}

int net_tso4_check(const uint8_t *frame, size_t len)
{
	unsigned ihl, hdr;
	return len <= NET_FRAME_MAX ? headers(frame, len, &ihl, &hdr) : -1;
}

int net_tso4_segment(const uint8_t *frame, size_t len, unsigned mss, uint8_t *scratch,
		     net_emit_fn emit, void *opaque)
{
	unsigned ihl, hdr;
	if (!mss || len > NET_FRAME_MAX || headers(frame, len, &ihl, &hdr) < 0)
		return -1;
	size_t total = len - hdr;
	unsigned i = 0;
	size_t off = 0;
	do {
		size_t n = total - off < mss ? total - off : mss;
		memcpy(scratch, frame, hdr);
		memcpy(scratch + hdr, frame + hdr + off, n);
		fix_headers(scratch, ihl, hdr, n, i, off, i == 0, off + n == total);
		emit(opaque, scratch, hdr + n);
		off += n;
		i++;
	} while (off < total);
	return 0;
}
