/*
 * -netdev socket,listen=[HOST]:PORT | connect=HOST:PORT: a TCP connection
 * to another VMM's NIC, QEMU's framing: each frame is a 32-bit big-endian
 * length and the frame, so two qvm (or qvm and QEMU) guests share a
 * wire with no privileges.
 *
 * The listening side takes one peer at a time and waits for the next one
 * when it goes; the connecting side connects once, at start.  Frames sent
 * while there is no peer, or while the previous one is still partly in
 * the socket, are dropped, as a wire would drop them.  A length over
 * NET_FRAME_MAX from the peer closes the connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "mainloop.h"
#include "net.h"

struct socket_net {
	struct netdev nd;
	struct mainloop *loop;
	int listen_fd, fd;              /* -1: none */
	char where[64];                 /* listen=/connect= as given */
	/* receiving: the length, then the frame */
	uint8_t len_buf[4];
	size_t got;                     /* bytes of the current part */
	uint32_t frame_len;
	bool in_frame;
	/* sending: what a short write left */
	size_t out_len, out_off;
	uint8_t in[NET_FRAME_MAX], out[4 + NET_FRAME_MAX];
};

static struct socket_net *to_sock(struct netdev *nd)
{
	return container_of(nd, struct socket_net, nd);
}

static void peer_gone(struct socket_net *s, const char *why)
{
	qvm_log(LOG_GUEST_ERRORS, "netdev %s: the peer %s; %s", s->nd.id, why,
		s->listen_fd >= 0 ? "waiting for the next one" : "the link stays down");
	mainloop_remove_fd(s->loop, s->fd);
	close(s->fd);
	s->fd = -1;
	s->got = s->out_len = s->out_off = 0;
	s->in_frame = false;
}

/* Take n bytes from the peer: a frame to the NIC whenever one is whole. */
static int consume(struct socket_net *s, const uint8_t *p, size_t n)
{
	while (n) {
		uint8_t *dst = s->in_frame ? s->in : s->len_buf;
		size_t want = s->in_frame ? s->frame_len : 4;
		size_t k = MIN(n, want - s->got);
		memcpy(dst + s->got, p, k);
		s->got += k, p += k, n -= k;
		if (s->got < want)
			continue;
		s->got = 0;
		if (!s->in_frame) {
			s->frame_len = (uint32_t)s->len_buf[0] << 24 | s->len_buf[1] << 16 |
				       s->len_buf[2] << 8 | s->len_buf[3];
			if (s->frame_len > NET_FRAME_MAX)
				return -1;
			s->in_frame = s->frame_len > 0;
		} else {
			s->in_frame = false;
			netdev_receive(&s->nd, s->in, s->frame_len);
		}
	}
	return 0;
}

static void flush_out(struct socket_net *s)
{
	while (s->out_off < s->out_len) {
		ssize_t n = write(s->fd, s->out + s->out_off, s->out_len - s->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN)
				peer_gone(s, strerror(errno));
			return;
		}
		s->out_off += n;
	}
	s->out_len = s->out_off = 0;
	mainloop_mod_fd(s->loop, s->fd, EPOLLIN);
}

static void peer_ready(void *opaque, int fd, uint32_t events)
{
	struct socket_net *s = opaque;
	uint8_t buf[16384];
	if ((events & EPOLLOUT) && s->out_len)
		flush_out(s);
	if (s->fd != fd || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		peer_gone(s, n < 0 ? strerror(errno) : "closed the connection");
	else if (consume(s, buf, n) < 0)
		peer_gone(s, "sent a frame over 64 KiB");
}

static int watch_peer(struct socket_net *s, int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 || mainloop_add_fd(s->loop, fd, EPOLLIN, peer_ready, s) < 0)
		return -1;
	s->fd = fd;
	return 0;
}

static void accept_ready(void *opaque, int fd, uint32_t events)
{
	struct socket_net *s = opaque;
	(void)events;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	if (s->fd >= 0 || watch_peer(s, c) < 0)
		close(c);     /* one peer at a time */
}

static void socket_send(struct netdev *nd, const uint8_t *buf, size_t len)
{
	struct socket_net *s = to_sock(nd);
	if (s->fd < 0 || s->out_len || len > NET_FRAME_MAX)
		return;
	s->out[0] = len >> 24, s->out[1] = len >> 16, s->out[2] = len >> 8, s->out[3] = len;
	memcpy(s->out + 4, buf, len);
	s->out_len = 4 + len;
	flush_out(s);
	if (s->fd >= 0 && s->out_len)
		mainloop_mod_fd(s->loop, s->fd, EPOLLIN | EPOLLOUT);
}

static void socket_info(struct netdev *nd, char *buf, size_t size)
{
	struct socket_net *s = to_sock(nd);
	snprintf(buf, size, "%s=%s (%s)", s->listen_fd >= 0 ? "listen" : "connect", s->where,
		 s->fd >= 0 ? "connected" : "no peer");
}

static void socket_free(struct netdev *nd)
{
	struct socket_net *s = to_sock(nd);
	int fds[2] = { s->listen_fd, s->fd };
	for (unsigned i = 0; i < 2; i++) {
		if (fds[i] >= 0) {
			mainloop_remove_fd(s->loop, fds[i]);
			close(fds[i]);
		}
	}
	free(s);
}

static const struct netdev_ops socket_ops = {
	.kind = "socket",
	.send = socket_send,
	.info = socket_info,
	.free = socket_free,
};

static int open_listen(struct socket_net *s, const struct sockaddr_in *a)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)a, sizeof(*a)) < 0 || listen(fd, 1) < 0 ||
	    mainloop_add_fd(s->loop, fd, EPOLLIN, accept_ready, s) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	s->listen_fd = fd;
	return 0;
}

static int open_connect(struct socket_net *s, const struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0 || watch_peer(s, fd) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return 0;
}

struct netdev *net_socket_new(struct mainloop *l, const struct netdev_cfg *c)
{
	struct socket_net *s = calloc(1, sizeof(*s));
	if (!s) {
		qvm_error("-netdev socket: out of memory");
		return NULL;
	}
	s->nd.ops = &socket_ops;
	snprintf(s->nd.id, sizeof(s->nd.id), "%s", c->id);
	snprintf(s->where, sizeof(s->where), "%s", c->listen ? c->listen : c->connect);
	s->loop = l;
	s->listen_fd = s->fd = -1;
	struct hostfwd h;
	const char *err;
	char rule[80];
	snprintf(rule, sizeof(rule), "tcp:%s", s->where);
	net_parse_hostfwd(rule, &h, &err);       /* checked by opts.c */
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(h.host_port),
				 .sin_addr.s_addr = h.host_addr };
	if ((c->listen ? open_listen(s, &a) : open_connect(s, &a)) < 0) {
		qvm_error("-netdev socket,id=%s: %s %s: %s", c->id, c->listen ? "listen" : "connect",
			  s->where, strerror(errno));
		free(s);
		return NULL;
	}
	return &s->nd;
}
