/*
 * -netdev tap: a Linux tap device (Documentation/networking/tuntap.rst).
 * Opened with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and a 12-byte header
 * (TUNSETVNETHDRSZ: struct virtio_net_hdr_v1), so each read and write is
 * the virtio-net header and one frame: the guest's checksum requests
 * (NEEDS_CSUM) pass through to the host kernel.  No offloads are turned
 * on (TUNSETOFFLOAD 0): the kernel hands us complete, checksummed frames.
 *
 * qvm runs no scripts (script=no, downscript=no): the tap is set up
 * beforehand (ip tuntap add ... ; ip link set ... master br0 up), or is
 * created here when the name is new and qvm may (CAP_NET_ADMIN).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "mainloop.h"
#include "net.h"

struct tap_net {
	struct netdev nd;
	struct mainloop *loop;
	int fd;
	char ifname[IFNAMSIZ];
	uint8_t buf[NET_VNET_HDR_LEN + NET_FRAME_MAX];
};

static struct tap_net *to_tap(struct netdev *nd)
{
	return container_of(nd, struct tap_net, nd);
}

/* Up to a batch of frames per wakeup: the rest wait for the next round. */
static void tap_readable(void *opaque, int fd, uint32_t events)
{
	struct tap_net *t = opaque;
	(void)events;
	for (int i = 0; i < 64; i++) {
		ssize_t n = read(fd, t->buf, sizeof(t->buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			qvm_error("netdev %s: reading %s: %s; the tap is closed", t->nd.id, t->ifname,
				  n < 0 ? strerror(errno) : "end of file");
			mainloop_remove_fd(t->loop, fd);
			return;
		}
		size_t hdr = t->nd.vnet_hdr ? NET_VNET_HDR_LEN : 0;
		if ((size_t)n > hdr)
			netdev_receive(&t->nd, t->buf, n);
	}
}

static void tap_send(struct netdev *nd, const uint8_t *buf, size_t len)
{
	struct tap_net *t = to_tap(nd);
	/* a full tap queue drops the frame, as a wire would */
	if (write(t->fd, buf, len) < 0 && errno != EAGAIN)
		qvm_log(LOG_GUEST_ERRORS, "netdev %s: writing %s: %s", nd->id, t->ifname,
			strerror(errno));
}

static void tap_info(struct netdev *nd, char *buf, size_t size)
{
	struct tap_net *t = to_tap(nd);
	snprintf(buf, size, "ifname=%s,vnet_hdr=%s", t->ifname, nd->vnet_hdr ? "on" : "off");
}

static void tap_free(struct netdev *nd)
{
	struct tap_net *t = to_tap(nd);
	mainloop_remove_fd(t->loop, t->fd);
	close(t->fd);
	free(t);
}

static const struct netdev_ops tap_ops = {
	.kind = "tap",
	.send = tap_send,
	.info = tap_info,
	.free = tap_free,
};

/* /dev/net/tun, TUNSETIFF: the named tap (made if new, with the right) */
static int tap_open(const struct netdev_cfg *c, struct tap_net *t)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		qvm_error("-netdev tap,id=%s: /dev/net/tun: %s", c->id, strerror(errno));
		return -1;
	}
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | (c->vnet_hdr ? IFF_VNET_HDR : 0) };
	if (c->ifname)
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", c->ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		qvm_error("-netdev tap,id=%s: cannot attach to tap %s: %s%s", c->id,
			  c->ifname ? c->ifname : "(new)", strerror(errno),
			  errno == EPERM ? " (create it first: ip tuntap add NAME mode tap user USER)" : "");
		close(fd);
		return -1;
	}
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
	return fd;
}

/* The 12-byte header and no offloads; a given fd= must be a tap with
 * IFF_VNET_HDR when vnet_hdr is on. */
static int tap_setup(const struct netdev_cfg *c, struct tap_net *t)
{
	if (c->fd >= 0) {
		struct ifreq ifr = { 0 };
		if (ioctl(c->fd, TUNGETIFF, &ifr) < 0) {
			qvm_error("-netdev tap,id=%s: fd=%d is not a tap: %s", c->id, c->fd,
				  strerror(errno));
			return -1;
		}
		snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
		t->nd.vnet_hdr = c->vnet_hdr && (ifr.ifr_flags & IFF_VNET_HDR);
		t->fd = c->fd;
	} else {
		t->fd = tap_open(c, t);
		if (t->fd < 0)
			return -1;
		t->nd.vnet_hdr = c->vnet_hdr;
	}
	int hdr = NET_VNET_HDR_LEN;
	if ((t->nd.vnet_hdr && ioctl(t->fd, TUNSETVNETHDRSZ, &hdr) < 0) ||
	    ioctl(t->fd, TUNSETOFFLOAD, 0) < 0 ||
	    fcntl(t->fd, F_SETFL, fcntl(t->fd, F_GETFL) | O_NONBLOCK) < 0) {
		qvm_error("-netdev tap,id=%s: setting up %s: %s", c->id, t->ifname, strerror(errno));
		return -1;
	}
	return 0;
}

struct netdev *net_tap_new(struct mainloop *l, const struct netdev_cfg *c)
{
	struct tap_net *t = calloc(1, sizeof(*t));
	if (!t) {
		qvm_error("-netdev tap: out of memory");
		return NULL;
	}
	t->nd.ops = &tap_ops;
	snprintf(t->nd.id, sizeof(t->nd.id), "%s", c->id);
	t->loop = l;
	t->fd = -1;
	if (tap_setup(c, t) < 0 || mainloop_add_fd(l, t->fd, EPOLLIN, tap_readable, t) < 0) {
		if (t->fd >= 0)
			close(t->fd);
		free(t);
		return NULL;
	}
	return &t->nd;
}
