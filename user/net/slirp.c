/*
 * -netdev user: user-mode networking through Debian's libslirp.  The
 * guest sees a 10.0.2.0/24 network (net=) with a gateway at .2 (host=)
 * that reaches the host and beyond, a DNS forwarder at .3 (dns=) and a
 * DHCP server handing out .15 on (dhcpstart=).
 *
 * libslirp's sockets and timers are driven from qvm's main loop: after
 * every call into libslirp, slirp_pollfds_fill() says which sockets it
 * wants to watch for what, and how soon it needs to run again; we make
 * the epoll set match (mainloop_add/mod/remove_fd) and arm one timer for
 * that timeout.  When any of those fds is ready, a poll() with no wait
 * over the list gives libslirp its revents (slirp_pollfds_poll).  libslirp
 * tells us before it closes a socket (unregister_poll_fd), so a number the
 * kernel reuses is never mistaken for the old socket.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <slirp/libslirp.h>
#include "log.h"
#include "mainloop.h"
#include "net.h"

#define POLL_MAX_MS 500      /* a sweep at least this often, whatever happens */

struct watched {
	int fd;
	uint32_t events;
};

struct user_net {
	struct netdev nd;
	struct mainloop *loop;
	Slirp *slirp;
	struct timer *poll_timer;
	struct pollfd *pfd;             /* slirp_pollfds_fill's list */
	unsigned npfd, pfd_cap;
	struct watched *w;              /* what the main loop watches */
	unsigned nw, w_cap;
	bool in_poll;                   /* a sync inside a sync: once after */
	bool again;
	uint32_t vhost, vnet, vmask;    /* network order */
	char info[160];
};

struct user_timer {
	struct timer *t;
	SlirpTimerCb cb;
	void *cb_opaque;
	struct user_net *u;
};

static void user_sync(struct user_net *u);

/* ---- libslirp's callbacks ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct user_net *u = opaque;
	netdev_receive(&u->nd, buf, len);
	return len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	struct user_net *u = opaque;
	qvm_log(LOG_GUEST_ERRORS, "netdev %s: %s", u->nd.id, msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return clock_ns();
}

static void user_timer_fired(void *opaque)
{
	struct user_timer *t = opaque;
	t->cb(t->cb_opaque);
	user_sync(t->u);
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct user_timer *t = calloc(1, sizeof(*t));
	if (!t)
		qvm_die("netdev user: out of memory");
	t->cb = cb;
	t->cb_opaque = cb_opaque;
	t->u = opaque;
	t->t = timer_new(t->u->loop, user_timer_fired, t);
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	(void)opaque;
	struct user_timer *t = timer;
	timer_free(t->t);
	free(t);
}

/* expire_time: milliseconds on the clock of clock_get_ns */
static void cb_timer_mod(void *timer, int64_t expire_time, void *opaque)
{
	(void)opaque;
	struct user_timer *t = timer;
	timer_arm(t->t, expire_time < 0 ? 0 : (uint64_t)expire_time * 1000000);
}

static int find_watched(struct user_net *u, int fd)
{
	for (unsigned i = 0; i < u->nw; i++)
		if (u->w[i].fd == fd)
			return i;
	return -1;
}

static void unwatch(struct user_net *u, unsigned i)
{
	mainloop_remove_fd(u->loop, u->w[i].fd);
	u->w[i] = u->w[--u->nw];
}

static void cb_register_poll_fd(int fd, void *opaque)
{
	(void)fd, (void)opaque;     /* watched once slirp_pollfds_fill names it */
}

/* Before libslirp closes fd: forget it now, the number may come back. */
static void cb_unregister_poll_fd(int fd, void *opaque)
{
	struct user_net *u = opaque;
	int i = find_watched(u, fd);
	if (i >= 0)
		unwatch(u, i);
}

static void sync_soon(void *opaque)
{
	user_sync(opaque);
}

static void cb_notify(void *opaque)
{
	struct user_net *u = opaque;
	timer_arm(u->poll_timer, 0);
}

static const SlirpCb user_callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
};

/* ---- the main loop's side ---- */

static int add_poll(int fd, int events, void *opaque)
{
	struct user_net *u = opaque;
	if (u->npfd == u->pfd_cap) {
		unsigned cap = u->pfd_cap ? 2 * u->pfd_cap : 16;
		struct pollfd *p = realloc(u->pfd, cap * sizeof(*p));
		if (!p)
			qvm_die("netdev user: out of memory");
		u->pfd = p;
		u->pfd_cap = cap;
	}
	short ev = 0;
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	u->pfd[u->npfd] = (struct pollfd){ .fd = fd, .events = ev };
	return u->npfd++;
}

static int get_revents(int idx, void *opaque)
{
	struct user_net *u = opaque;
	short r = idx >= 0 && (unsigned)idx < u->npfd ? u->pfd[idx].revents : 0;
	int ev = 0;
	if (r & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (r & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (r & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (r & POLLERR)
		ev |= SLIRP_POLL_ERR;
	if (r & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

static void fd_ready(void *opaque, int fd, uint32_t events)
{
	(void)fd, (void)events;
	user_sync(opaque);
}

static uint32_t epoll_events(short ev)
{
	return (ev & POLLIN ? EPOLLIN : 0) | (ev & POLLOUT ? EPOLLOUT : 0) |
	       (ev & POLLPRI ? EPOLLPRI : 0);
}

static void watch(struct user_net *u, int fd, uint32_t events)
{
	int i = find_watched(u, fd);
	if (i >= 0) {
		if (u->w[i].events != events && mainloop_mod_fd(u->loop, fd, events) == 0) {
			u->w[i].events = events;
			return;
		}
		if (u->w[i].events == events)
			return;
		unwatch(u, i);
	}
	if (u->nw == u->w_cap) {
		unsigned cap = u->w_cap ? 2 * u->w_cap : 16;
		struct watched *w = realloc(u->w, cap * sizeof(*w));
		if (!w)
			qvm_die("netdev user: out of memory");
		u->w = w;
		u->w_cap = cap;
	}
	if (mainloop_add_fd(u->loop, fd, events, fd_ready, u) == 0)
		u->w[u->nw++] = (struct watched){ fd, events };
}

/* Make the main loop watch what the last fill asked for, nothing else. */
static void match_watch_set(struct user_net *u)
{
	for (unsigned i = 0; i < u->nw;) {
		bool wanted = false;
		for (unsigned k = 0; k < u->npfd && !wanted; k++)
			wanted = u->pfd[k].fd == u->w[i].fd;
		if (wanted)
			i++;
		else
			unwatch(u, i);
	}
	for (unsigned k = 0; k < u->npfd; k++)
		watch(u, u->pfd[k].fd, epoll_events(u->pfd[k].events));
}

/* Let libslirp handle what is ready on its sockets (and its timeouts),
 * then ask again what to watch. */
static void user_sync(struct user_net *u)
{
	if (u->in_poll) {
		u->again = true;
		return;
	}
	u->in_poll = true;
	do {
		u->again = false;
		int r = u->npfd ? poll(u->pfd, u->npfd, 0) : 0;
		slirp_pollfds_poll(u->slirp, r < 0, get_revents, u);
		uint32_t timeout = POLL_MAX_MS;
		u->npfd = 0;
		slirp_pollfds_fill(u->slirp, &timeout, add_poll, u);
		match_watch_set(u);
		timer_arm(u->poll_timer, clock_ns() + (uint64_t)MIN(timeout, POLL_MAX_MS) * 1000000);
	} while (u->again);
	u->in_poll = false;
}

/* ---- the back end ---- */

static struct user_net *to_user(struct netdev *nd)
{
	return container_of(nd, struct user_net, nd);
}

static void user_send(struct netdev *nd, const uint8_t *buf, size_t len)
{
	struct user_net *u = to_user(nd);
	slirp_input(u->slirp, buf, len);
	user_sync(u);
}

static int user_hostfwd(struct netdev *nd, const char *rule, bool add, const char **err)
{
	struct user_net *u = to_user(nd);
	struct hostfwd h;
	if (net_parse_hostfwd(rule, &h, err) < 0)
		return -1;
	struct in_addr ha = { h.host_addr }, ga = { h.guest_addr };
	int r;
	if (add) {
		if (!strchr(rule, '-')) {
			*err = "expected HOST-GUEST, e.g. tcp::2222-:22";
			return -1;
		}
		r = slirp_add_hostfwd(u->slirp, h.udp, ha, h.host_port, ga, h.guest_port);
		*err = "could not set up the forwarding (host port in use?)";
	} else {
		r = slirp_remove_hostfwd(u->slirp, h.udp, ha, h.host_port);
		*err = "no such forwarding rule";
	}
	user_sync(u);
	return r < 0 ? -1 : 0;
}

static void user_info(struct netdev *nd, char *buf, size_t size)
{
	snprintf(buf, size, "%s", to_user(nd)->info);
}

static void user_free(struct netdev *nd)
{
	struct user_net *u = to_user(nd);
	while (u->nw)
		unwatch(u, u->nw - 1);
	slirp_cleanup(u->slirp);
	timer_free(u->poll_timer);
	free(u->pfd);
	free(u->w);
	free(u);
}

static const struct netdev_ops user_ops = {
	.kind = "user",
	.send = user_send,
	.hostfwd = user_hostfwd,
	.info = user_info,
	.free = user_free,
};

static uint32_t addr_of(const char *s, uint32_t net, uint32_t host_part)
{
	struct in_addr a;
	if (s && inet_pton(AF_INET, s, &a) == 1)
		return a.s_addr;
	return net | htonl(host_part);
}

/* net=, host=, dns=, dhcpstart= into cfg; -1 when they don't fit. */
static int user_addresses(struct user_net *u, const struct netdev_cfg *c, SlirpConfig *cfg)
{
	char buf[64];
	unsigned prefix = 24;
	struct in_addr a = { htonl(0x0a000200) }, m;
	if (c->net) {
		snprintf(buf, sizeof(buf), "%s", c->net);
		char *slash = strchr(buf, '/');
		if (slash) {
			*slash = 0;
			if (inet_pton(AF_INET, slash + 1, &m) == 1)
				prefix = __builtin_popcount(m.s_addr);
			else
				prefix = atoi(slash + 1);
		}
		inet_pton(AF_INET, buf, &a);
	}
	u->vmask = prefix ? htonl(~0u << (32 - prefix)) : 0;
	u->vnet = a.s_addr & u->vmask;
	u->vhost = addr_of(c->host, u->vnet, 2);
	cfg->vnetwork.s_addr = u->vnet;
	cfg->vnetmask.s_addr = u->vmask;
	cfg->vhost.s_addr = u->vhost;
	cfg->vnameserver.s_addr = addr_of(c->dns, u->vnet, 3);
	cfg->vdhcp_start.s_addr = addr_of(c->dhcpstart, u->vnet, 15);
	uint32_t addrs[] = { u->vhost, cfg->vnameserver.s_addr, cfg->vdhcp_start.s_addr };
	for (unsigned i = 0; i < 3; i++) {
		if ((addrs[i] & u->vmask) != u->vnet) {
			qvm_error("-netdev user,id=%s: %s is outside net= %s", c->id,
				  i == 0 ? "host=" : i == 1 ? "dns=" : "dhcpstart=",
				  c->net ? c->net : "10.0.2.0/24");
			return -1;
		}
	}
	return 0;
}

/* hostfwd= and guestfwd= rules of the command line */
static int user_forwards(struct user_net *u, const struct netdev_cfg *c)
{
	const char *err;
	for (unsigned i = 0; i < c->nr_hostfwd; i++) {
		if (user_hostfwd(&u->nd, c->hostfwd[i], true, &err) < 0) {
			qvm_error("-netdev user,id=%s: hostfwd=%s: %s", c->id, c->hostfwd[i], err);
			return -1;
		}
	}
	for (unsigned i = 0; i < c->nr_guestfwd; i++) {
		char addr[INET_ADDRSTRLEN] = "";
		const char *g = c->guestfwd[i] + 4, *colon = strchr(g, ':');
		const char *cmd = strstr(g, "-cmd:") + 5;
		struct in_addr ga;
		snprintf(addr, sizeof(addr), "%.*s", (int)(colon - g), g);
		inet_pton(AF_INET, addr, &ga);
		if (slirp_add_exec(u->slirp, cmd, &ga, atoi(colon + 1)) < 0) {
			qvm_error("-netdev user,id=%s: guestfwd=%s: the address is taken or outside "
				  "the network", c->id, c->guestfwd[i]);
			return -1;
		}
	}
	return 0;
}

struct netdev *net_user_new(struct mainloop *l, const struct netdev_cfg *c)
{
	struct user_net *u = calloc(1, sizeof(*u));
	if (!u) {
		qvm_error("-netdev user: out of memory");
		return NULL;
	}
	SlirpConfig cfg = { .version = 1, .in_enabled = true, .restricted = c->restrict_guest,
			    .vhostname = c->hostname };
	u->nd.ops = &user_ops;
	snprintf(u->nd.id, sizeof(u->nd.id), "%s", c->id);
	u->loop = l;
	if (user_addresses(u, c, &cfg) < 0) {
		free(u);
		return NULL;
	}
	u->poll_timer = timer_new(l, sync_soon, u);
	u->slirp = slirp_new(&cfg, &user_callbacks, u);
	if (!u->slirp) {
		qvm_error("-netdev user,id=%s: libslirp refused the configuration", c->id);
		timer_free(u->poll_timer);
		free(u);
		return NULL;
	}
	char net[INET_ADDRSTRLEN], host[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &u->vnet, net, sizeof(net));
	inet_ntop(AF_INET, &u->vhost, host, sizeof(host));
	snprintf(u->info, sizeof(u->info), "net=%s/%d,host=%s%s", net,
		 __builtin_popcount(u->vmask), host, c->restrict_guest ? ",restrict=on" : "");
	if (user_forwards(u, c) < 0) {
		user_free(&u->nd);
		return NULL;
	}
	user_sync(u);
	return &u->nd;
}
