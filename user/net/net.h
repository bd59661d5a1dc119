/*
 * Network back ends (-netdev user|tap|socket) and the link between a back end and
 * the NIC that uses it (virtio-net).
 *
 * A back end is a struct netdev with an ops table (slirp.c: user-mode
 * networking through libslirp; tap.c: a Linux tap device; socket.c: a TCP
 * connection to another VMM).  Frames cross
 * the link as whole Ethernet frames:
 *   - NIC to back end: netdev_send(), a frame and, for a back end with
 *     vnet_hdr set, the virtio-net header (virtio 1.2, 5.1.6) in front;
 *   - back end to NIC: the peer's receive(), the same way.
 * A back end without vnet_hdr only ever sees complete frames: the NIC
 * computes any checksum the guest left to the device.
 *
 * Everything here runs on the main thread (the back ends' fds and timers
 * are the main loop's); the NIC takes its own lock in receive().
 */
#ifndef QVM_NET_NET_H
#define QVM_NET_NET_H

#include <sys/uio.h>
#include "qvm.h"

struct mainloop;
struct netdev;

#define NET_ID_MAX 32
#define NET_MAX_HOSTFWD 16
#define NET_MAX_GUESTFWD 4
#define NET_VNET_HDR_LEN 12        /* struct virtio_net_hdr_v1 (5.1.6) */
#define NET_FRAME_MAX 65550        /* the largest frame either way (virtio 1.2, 5.1.6.3) */

enum netdev_kind { NETDEV_USER, NETDEV_TAP, NETDEV_SOCKET };

/* -netdev user|tap,id=ID,... as parsed (opts.c); strings point into the
 * command line or are static. */
struct netdev_cfg {
	enum netdev_kind kind;
	char id[NET_ID_MAX];
	/* user */
	const char *net, *host, *dns, *dhcpstart, *hostname;
	bool restrict_guest;
	const char *hostfwd[NET_MAX_HOSTFWD];
	unsigned nr_hostfwd;
	const char *guestfwd[NET_MAX_GUESTFWD];
	unsigned nr_guestfwd;
	/* tap */
	const char *ifname;
	int fd;                         /* fd=N: an open tap; -1: open ifname */
	bool vnet_hdr;                  /* vnet_hdr=on|off (default on) */
	bool legacy;                    /* from -net: pairs with a -net nic */
	/* socket: one of them, "[HOST]:PORT" / "HOST:PORT" */
	const char *listen, *connect;
};

/* Parse "user,id=n0,..." or "tap,id=n0,..." (the -netdev argument; -nic
 * and -net pass need_id false and their own keys to extra, which returns
 * true for a key it took).  arg is split in place: the strings of out
 * point into it.  0, or -1 with a one-line message naming opt. */
int netdev_parse(const char *opt, char *arg, bool need_id, struct netdev_cfg *out);
int netdev_parse_ext(const char *opt, char *arg, bool need_id, struct netdev_cfg *out,
		     bool (*extra)(void *opaque, const char *key, const char *val),
		     void *extra_opaque);
/* Parse a MAC address "52:54:00:12:34:56"; 0 or -1. */
int net_parse_mac(const char *s, uint8_t mac[6]);
/* Check one hostfwd rule "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT"
 * into its parts; 0 or -1 (err: why). */
struct hostfwd {
	bool udp;
	uint32_t host_addr, guest_addr;   /* network order; 0: any / the DHCP default */
	uint16_t host_port, guest_port;
};
int net_parse_hostfwd(const char *s, struct hostfwd *out, const char **err);

/* The NIC's side of the link. */
struct net_peer_ops {
	/* A frame (with the vnet header first when the back end has one). */
	void (*receive)(void *opaque, const uint8_t *buf, size_t len);
	/* "virtio-net-pci 00:04.0 mac=..." for info network. */
	void (*describe)(void *opaque, char *buf, size_t size);
	/* set_link: the link state changed. */
	void (*link_changed)(void *opaque, bool up);
};

typedef void (*net_print_fn)(void *opaque, const char *line);

struct netdev_ops {
	const char *kind;               /* "user", "tap" */
	/* Send one frame to the network (the vnet header first if vnet_hdr). */
	void (*send)(struct netdev *nd, const uint8_t *buf, size_t len);
	/* Monitor: hostfwd_add / hostfwd_remove (user only; NULL otherwise):
	 * 0, or -1 with err set. */
	int (*hostfwd)(struct netdev *nd, const char *rule, bool add, const char **err);
	/* Monitor: one line for info network, after "ID: type=..., ". */
	void (*info)(struct netdev *nd, char *buf, size_t size);
	void (*free)(struct netdev *nd);
};

struct netdev {
	const struct netdev_ops *ops;
	char id[NET_ID_MAX];
	bool vnet_hdr;                  /* frames carry the 12-byte header */
	bool link_down;                 /* set_link off */
	const struct net_peer_ops *peer;
	void *peer_opaque;
	uint64_t tx_frames, rx_frames;  /* guest to network, network to guest */
	struct netdev *next;            /* the machine's list */
};

/* The back ends.  NULL with a one-line message on error. */
struct netdev *net_user_new(struct mainloop *l, const struct netdev_cfg *cfg);
struct netdev *net_tap_new(struct mainloop *l, const struct netdev_cfg *cfg);
struct netdev *net_socket_new(struct mainloop *l, const struct netdev_cfg *cfg);
/* Create the back end cfg asks for. */
struct netdev *netdev_new(struct mainloop *l, const struct netdev_cfg *cfg);

/* The NIC attaches itself; -1 if nd already has a peer. */
int netdev_attach(struct netdev *nd, const struct net_peer_ops *ops, void *opaque);
/* From the NIC: send a frame (dropped while the link is down). */
void netdev_send(struct netdev *nd, const uint8_t *buf, size_t len);
/* From the back end: hand a frame to the NIC (dropped while down). */
void netdev_receive(struct netdev *nd, const uint8_t *buf, size_t len);

/* The machine's back ends (a list through ->next). */
struct netdev *netdev_find(struct netdev *list, const char *id);
/* Monitor commands: set_link, info network.  0 or -1 with err. */
int netdev_set_link(struct netdev *list, const char *id, bool up, const char **err);
void netdev_info(struct netdev *list, net_print_fn print, void *opaque);
/* hostfwd_add [ID] RULE, hostfwd_remove [ID] RULE (args after the name). */
int netdev_hostfwd(struct netdev *list, const char *args, bool add, const char **err);
void netdev_free_all(struct netdev *list);

/* Complete a checksum the guest left to the device (virtio 1.2,
 * 5.1.6.2): the ones' complement sum of frame[start..len) stored at
 * start + offset.  -1 when the offsets do not fit in the frame. */
int net_checksum_fill(uint8_t *frame, size_t len, unsigned start, unsigned offset);
/* RFC 1071 sums: add len bytes (16-bit big-endian words) to sum; fold to
 * 16 bits. */
uint32_t net_csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t net_csum_fold(uint32_t sum);

/* TCP segmentation (segment.c) of an Ethernet/IPv4/TCP frame the guest
 * sent whole (virtio-net's GSO_TCPV4): emit() gets each segment of at
 * most mss payload bytes, with its IP length, ID, checksums, sequence
 * number and flags made right, built in scratch (NET_FRAME_MAX bytes).
 * -1 when the frame is not IPv4/TCP or its headers do not fit. */
int net_tso4_check(const uint8_t *frame, size_t len);
typedef void (*net_emit_fn)(void *opaque, const uint8_t *frame, size_t len);
int net_tso4_segment(const uint8_t *frame, size_t len, unsigned mss, uint8_t *scratch,
		     net_emit_fn emit, void *opaque);

#endif
