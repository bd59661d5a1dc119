/*
 * The unix socket back end: unix:PATH connects, unix:PATH,server listens
 * and takes one client at a time (chardev.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "chardev/fd.h"
#include "mainloop.h"

static void sock_accept_ready(void *opaque, int fd, uint32_t events);

/* Take fd as the connection.  Main thread (or chardev_open). */
static void sock_attach(struct chardev *c, int fd)
{
	struct fdchr *f = c->priv;
	fd_set_nonblock(fd);
	pthread_mutex_lock(&c->lock);
	pthread_mutex_lock(&f->in_lock);
	f->in_fd = f->out_fd = fd;
	f->stalled = false;
	f->in_state = IN_IDLE;
	pthread_mutex_unlock(&f->in_lock);
	pthread_mutex_unlock(&c->lock);
	chardev_send_event(c, CHR_EVENT_OPENED);
	fd_start_input(c);
}

static void sock_listen_again(struct chardev *c)
{
	struct fdchr *f = c->priv;
	if (c->loop && f->listen_fd >= 0)
		mainloop_add_fd(c->loop, f->listen_fd, EPOLLIN, sock_accept_ready, c);
}

static void sock_disconnect(struct chardev *c)
{
	struct fdchr *f = c->priv;
	fd_watch_off(c, IN_IDLE);
	pthread_mutex_lock(&c->lock);
	pthread_mutex_lock(&f->in_lock);
	int fd = f->in_fd;
	f->in_fd = f->out_fd = -1;
	pthread_mutex_unlock(&f->in_lock);
	pthread_mutex_unlock(&c->lock);
	if (fd >= 0)
		close(fd);
	chardev_send_event(c, CHR_EVENT_CLOSED);
	if (f->server)
		sock_listen_again(c);
}

static void sock_accept_ready(void *opaque, int lfd, uint32_t events)
{
	struct chardev *c = opaque;
	(void)events;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	mainloop_remove_fd(c->loop, lfd); /* one client at a time */
	sock_attach(c, fd);
}

static void sock_close(struct chardev *c)
{
	struct fdchr *f = c->priv;
	if (f->listen_fd >= 0) {
		if (c->loop)
			mainloop_remove_fd(c->loop, f->listen_fd);
		close(f->listen_fd);
		if (f->server && f->path)
			unlink(f->path);
	}
}

/* A socket for a chardev: hangups disconnect, close stops listening. */
static struct chardev *sock_chardev_new(struct mainloop *l, const char *label)
{
	struct chardev *c = fd_chardev_new(l, label, -1, -1);
	struct fdchr *f = c->priv;
	f->is_socket = true;
	f->write_timeout_ms = PEER_TIMEOUT_MS;
	f->on_hangup = sock_disconnect;
	f->on_close = sock_close;
	return c;
}

struct unix_opts {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool server, wait;
};

/* One ",option" of a unix spec; -1 if unknown. */
static int unix_option(struct unix_opts *o, const char *opt)
{
	if (!strcmp(opt, "server"))
		o->server = true;
	else if (!strcmp(opt, "nowait"))
		o->wait = false;
	else if (!strncmp(opt, "server=", 7))
		return chr_parse_onoff(opt + 7, &o->server);
	else if (!strncmp(opt, "wait=", 5))
		return chr_parse_onoff(opt + 5, &o->wait);
	else
		return -1;
	return 0;
}

static int parse_unix(const char *arg, struct unix_opts *o, char *err, size_t errsz)
{
	o->server = false;
	o->wait = true;
	size_t plen = strcspn(arg, ",");
	if (plen == 0) {
		snprintf(err, errsz, "missing socket path");
		return -1;
	}
	if (plen >= sizeof(o->path)) {
		snprintf(err, errsz, "socket path too long");
		return -1;
	}
	memcpy(o->path, arg, plen);
	o->path[plen] = 0;
	for (const char *p = arg + plen; *p == ',';) {
		char opt[64];
		size_t n = strcspn(p + 1, ",");
		snprintf(opt, sizeof(opt), "%.*s", (int)n, p + 1);
		if (unix_option(o, opt) < 0) {
			snprintf(err, errsz, "unknown option '%s'", opt);
			return -1;
		}
		p += 1 + n;
	}
	return 0;
}

static int unix_socket(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	strcpy(sa->sun_path, path);
	return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static int unix_connect(const char *path, char *err, size_t errsz)
{
	struct sockaddr_un sa;
	int fd = unix_socket(path, &sa);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	snprintf(err, errsz, "cannot connect to %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int unix_listen(const char *path, char *err, size_t errsz)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd = unix_socket(path, &sa);
	if (fd >= 0 && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path); /* left over from an earlier run */
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    listen(fd, 1) == 0)
		return fd;
	snprintf(err, errsz, "cannot listen on %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int accept_blocking(int lfd)
{
	int fd;
	do
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	return fd;
}

static struct chardev *unix_server(struct mainloop *l, const struct unix_opts *o,
				   const char *label, char *err, size_t errsz)
{
	int lfd = unix_listen(o->path, err, errsz);
	if (lfd < 0)
		return NULL;
	int cfd = -1;
	if (o->wait) {
		fprintf(stderr, "qvm: waiting for connection on unix:%s,server\n", o->path);
		cfd = accept_blocking(lfd);
		if (cfd < 0) {
			snprintf(err, errsz, "accept: %s", strerror(errno));
			close(lfd);
			unlink(o->path);
			return NULL;
		}
	}
	fd_set_nonblock(lfd);
	struct chardev *c = sock_chardev_new(l, label);
	struct fdchr *f = c->priv;
	f->server = true;
	f->listen_fd = lfd;
	f->path = chr_xstrdup(o->path);
	chardev_set_filename(c, "unix:%s,server", o->path);
	if (cfd >= 0)
		sock_attach(c, cfd);
	else
		sock_listen_again(c);
	return c;
}

struct chardev *chardev_open_unix(struct mainloop *l, const char *arg, const char *label,
				  char *err, size_t errsz)
{
	struct unix_opts o;
	if (parse_unix(arg, &o, err, errsz) < 0)
		return NULL;
	if (o.server)
		return unix_server(l, &o, label, err, errsz);
	int fd = unix_connect(o.path, err, errsz);
	if (fd < 0)
		return NULL;
	struct chardev *c = sock_chardev_new(l, label);
	struct fdchr *f = c->priv;
	f->path = chr_xstrdup(o.path);
	chardev_set_filename(c, "unix:%s", o.path);
	sock_attach(c, fd);
	return c;
}
