/*
 * Character device back ends: stdio, pty, file, unix sockets, null and the
 * in-memory test device; the spec parser; the input queue used by the
 * memory device and the mux (chardev-mux.c).
 *
 * Locks: c->lock serialises writes (and guards the output fd of a socket,
 * which the main thread replaces on connect/disconnect).  Input state is
 * under a separate lock so that a writer blocked on a slow terminal never
 * holds up chardev_accept_input().  No lock is held while a front end is
 * called.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>
#include "chardev/chardev.h"
#include "mainloop.h"
#include "term.h"

#define READ_CHUNK 4096
#define PEER_TIMEOUT_MS 1000

static void *xzalloc(size_t size)
{
	void *p = calloc(1, size);
	if (!p) {
		fprintf(stderr, "qvm: out of memory\n");
		abort();
	}
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p) {
		fprintf(stderr, "qvm: out of memory\n");
		abort();
	}
	return p;
}

/* ---- the generic part ---- */

struct chardev *chardev_new(const struct chardev_ops *ops, struct mainloop *l,
			    const char *label, void *priv)
{
	struct chardev *c = xzalloc(sizeof(*c));
	c->ops = ops;
	c->loop = l;
	c->label = xstrdup(label ? label : "chardev");
	pthread_mutex_init(&c->lock, NULL);
	c->priv = priv;
	return c;
}

void chardev_free(struct chardev *c)
{
	pthread_mutex_destroy(&c->lock);
	free(c->label);
	free(c->filename);
	free(c);
}

static void chardev_set_filename(struct chardev *c, const char *fmt, const char *arg)
{
	char buf[512];
	snprintf(buf, sizeof(buf), fmt, arg);
	free(c->filename);
	c->filename = xstrdup(buf);
}

const char *chardev_filename(const struct chardev *c)
{
	return c && c->filename ? c->filename : "";
}

void chardev_send_event(struct chardev *c, int event)
{
	if (c->fe.event)
		c->fe.event(c->fe.opaque, event);
}

size_t chardev_fe_can_receive(struct chardev *c)
{
	return c->fe.can_receive && c->fe.receive ? c->fe.can_receive(c->fe.opaque) : 0;
}

void chardev_fe_receive(struct chardev *c, const uint8_t *buf, size_t len)
{
	if (c->fe.receive && len)
		c->fe.receive(c->fe.opaque, buf, len);
}

void chardev_set_frontend(struct chardev *c, const struct chardev_frontend *fe)
{
	if (fe)
		c->fe = *fe;
	else
		memset(&c->fe, 0, sizeof(c->fe));
	if (c->ops->set_frontend)
		c->ops->set_frontend(c);
	else if (c->ops->accept_input)
		c->ops->accept_input(c);
}

ssize_t chardev_write(struct chardev *c, const void *buf, size_t len)
{
	if (!c)
		return (ssize_t)len;
	if (!len)
		return 0;
	pthread_mutex_lock(&c->lock);
	ssize_t ret = c->ops->write(c, buf, len);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

void chardev_accept_input(struct chardev *c)
{
	if (c && c->ops->accept_input)
		c->ops->accept_input(c);
}

void chardev_close(struct chardev *c)
{
	if (c)
		c->ops->close(c);
}

/* "serial0" -> "-serial", for messages that name the user's option. */
static void option_name(const char *label, char *buf, size_t size)
{
	if (!label)
		label = "chardev";
	size_t n = strlen(label);
	while (n > 1 && label[n - 1] >= '0' && label[n - 1] <= '9')
		n--;
	snprintf(buf, size, "-%.*s", (int)n, label);
}

static void chr_error(const char *label, const char *spec, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void chr_error(const char *label, const char *spec, const char *fmt, ...)
{
	char opt[64], msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	option_name(label, opt, sizeof(opt));
	qvm_error("%s %s: %s", opt, spec, msg);
}

/* ---- input queue ---- */

void chardev_queue_init(struct chardev_queue *q)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->lock, NULL);
}

void chardev_queue_destroy(struct chardev_queue *q)
{
	pthread_mutex_destroy(&q->lock);
	free(q->data);
}

static void queue_make_room(struct chardev_queue *q, size_t len)
{
	if (q->head + q->len + len <= q->cap)
		return;
	if (q->len)
		memmove(q->data, q->data + q->head, q->len);
	q->head = 0;
	if (q->len + len <= q->cap)
		return;
	size_t cap = q->cap ? q->cap : 256;
	while (cap < q->len + len)
		cap *= 2;
	uint8_t *p = realloc(q->data, cap);
	if (!p) {
		fprintf(stderr, "qvm: out of memory\n");
		abort();
	}
	q->data = p;
	q->cap = cap;
}

void chardev_queue_push(struct chardev_queue *q, const void *buf, size_t len)
{
	pthread_mutex_lock(&q->lock);
	queue_make_room(q, len);
	memcpy(q->data + q->head + q->len, buf, len);
	q->len += len;
	pthread_mutex_unlock(&q->lock);
}

size_t chardev_queue_len(struct chardev_queue *q)
{
	pthread_mutex_lock(&q->lock);
	size_t len = q->len;
	pthread_mutex_unlock(&q->lock);
	return len;
}

/* Hand queued bytes over while the front end takes them.  Called and
 * returns locked; drops the lock around every call into the front end. */
static void queue_drain(struct chardev_queue *q, struct chardev *c)
{
	uint8_t chunk[256];
	while (q->len) {
		pthread_mutex_unlock(&q->lock);
		size_t n = chardev_fe_can_receive(c);
		pthread_mutex_lock(&q->lock);
		n = MIN(n, MIN(q->len, sizeof(chunk)));
		if (!n)
			return;
		memcpy(chunk, q->data + q->head, n);
		q->head += n;
		q->len -= n;
		pthread_mutex_unlock(&q->lock);
		chardev_fe_receive(c, chunk, n);
		pthread_mutex_lock(&q->lock);
	}
}

void chardev_queue_deliver(struct chardev_queue *q, struct chardev *c)
{
	pthread_mutex_lock(&q->lock);
	if (q->delivering) {
		/* Another thread (or an outer frame of this one) is at it. */
		q->again = true;
		pthread_mutex_unlock(&q->lock);
		return;
	}
	q->delivering = true;
	do {
		q->again = false;
		queue_drain(q, c);
	} while (q->again);
	q->delivering = false;
	pthread_mutex_unlock(&q->lock);
}

/* ---- null: drops output, never has input ---- */

static ssize_t null_write(struct chardev *c, const void *buf, size_t len)
{
	(void)c;
	(void)buf;
	return (ssize_t)len;
}

static void null_set_frontend(struct chardev *c)
{
	chardev_send_event(c, CHR_EVENT_OPENED);
}

static void null_close(struct chardev *c)
{
	chardev_free(c);
}

static const struct chardev_ops null_ops = {
	.write = null_write,
	.close = null_close,
	.set_frontend = null_set_frontend,
};

/* ---- memory: records output, injects input ---- */

struct memchr {
	char *out;          /* under c->lock, NUL-terminated */
	size_t out_len, out_cap;
	struct chardev_queue in;
};

static ssize_t mem_write(struct chardev *c, const void *buf, size_t len)
{
	struct memchr *m = c->priv;
	if (m->out_len + len + 1 > m->out_cap) {
		size_t cap = m->out_cap ? m->out_cap : 256;
		while (cap < m->out_len + len + 1)
			cap *= 2;
		char *p = realloc(m->out, cap);
		if (!p)
			return -1;
		m->out = p;
		m->out_cap = cap;
	}
	memcpy(m->out + m->out_len, buf, len);
	m->out_len += len;
	m->out[m->out_len] = 0;
	return (ssize_t)len;
}

static void mem_accept_input(struct chardev *c)
{
	struct memchr *m = c->priv;
	chardev_queue_deliver(&m->in, c);
}

static void mem_set_frontend(struct chardev *c)
{
	chardev_send_event(c, CHR_EVENT_OPENED);
	mem_accept_input(c);
}

static void mem_close(struct chardev *c)
{
	struct memchr *m = c->priv;
	chardev_queue_destroy(&m->in);
	free(m->out);
	free(m);
	chardev_free(c);
}

static const struct chardev_ops mem_ops = {
	.write = mem_write,
	.accept_input = mem_accept_input,
	.close = mem_close,
	.set_frontend = mem_set_frontend,
};

struct chardev *chardev_memory_new(void)
{
	struct memchr *m = xzalloc(sizeof(*m));
	chardev_queue_init(&m->in);
	struct chardev *c = chardev_new(&mem_ops, NULL, "memory", m);
	chardev_set_filename(c, "%s", "memory");
	return c;
}

const char *chardev_memory_output(struct chardev *c, size_t *len)
{
	struct memchr *m = c->priv;
	pthread_mutex_lock(&c->lock);
	const char *p = m->out ? m->out : "";
	if (len)
		*len = m->out_len;
	pthread_mutex_unlock(&c->lock);
	return p;
}

void chardev_memory_clear(struct chardev *c)
{
	struct memchr *m = c->priv;
	pthread_mutex_lock(&c->lock);
	m->out_len = 0;
	if (m->out)
		m->out[0] = 0;
	pthread_mutex_unlock(&c->lock);
}

void chardev_memory_inject(struct chardev *c, const void *buf, size_t len)
{
	struct memchr *m = c->priv;
	chardev_queue_push(&m->in, buf, len);
	chardev_queue_deliver(&m->in, c);
}

size_t chardev_memory_pending(struct chardev *c)
{
	struct memchr *m = c->priv;
	return chardev_queue_len(&m->in);
}

/* ---- fd back ends: stdio, pty, file, unix ---- */

enum in_state {
	IN_IDLE,    /* not watched: not started, or no connection */
	IN_ON,      /* watched for EPOLLIN (or the file timer is armed) */
	IN_PAUSED,  /* watched for nothing: the front end is full */
	IN_PARKED,  /* not watched: hung up with data left, front end full */
	IN_EOF,     /* input ended; never again */
};

struct fdchr {
	int in_fd, out_fd;       /* -1: none (socket: not connected) */
	int hold_fd;             /* pty: our own slave fd, keeps HUP away */
	bool is_stdio, is_socket;
	int write_timeout_ms;    /* -1: as long as it takes */
	bool stalled;            /* the reader timed out: drop until writable */

	pthread_mutex_t in_lock; /* in_state, kicked, in_timer */
	enum in_state in_state;
	bool kicked;             /* accept_input since the last can_receive */
	struct timer *in_timer;  /* stdin is a regular file: no epoll */

	int listen_fd;           /* unix server */
	char *path;
	bool server;
};

static void fd_input_ready(void *opaque, int fd, uint32_t events);
static void fd_file_tick(void *opaque);
static void fd_input_eof(struct chardev *c);

/* Start watching input.  Called with in_lock held. */
static void fd_watch_on(struct chardev *c)
{
	struct fdchr *f = c->priv;
	if (!c->loop || f->in_fd < 0 || f->in_state == IN_EOF || f->in_state == IN_ON)
		return;
	if (f->in_timer) {
		timer_arm(f->in_timer, 0);
	} else if (f->in_state == IN_PAUSED) {
		mainloop_mod_fd(c->loop, f->in_fd, EPOLLIN);
	} else if (mainloop_add_fd(c->loop, f->in_fd, EPOLLIN, fd_input_ready, c) < 0) {
		if (errno != EPERM) {
			f->in_state = IN_EOF;
			return;
		}
		/* A regular file (stdin < file) is always readable. */
		f->in_timer = timer_new(c->loop, fd_file_tick, c);
		timer_arm(f->in_timer, 0);
	}
	f->in_state = IN_ON;
}

/* Stop watching input for good (EOF, disconnect, close). */
static void fd_watch_off(struct chardev *c, enum in_state state)
{
	struct fdchr *f = c->priv;
	pthread_mutex_lock(&f->in_lock);
	if (f->in_timer)
		timer_cancel(f->in_timer);
	else if (f->in_state == IN_ON || f->in_state == IN_PAUSED)
		mainloop_remove_fd(c->loop, f->in_fd);
	f->in_state = state;
	pthread_mutex_unlock(&f->in_lock);
}

static size_t fd_bytes_waiting(int fd)
{
	int n = 0;
	return ioctl(fd, FIONREAD, &n) == 0 && n > 0 ? (size_t)n : 0;
}

/* The front end is full: stop polling until accept_input.  A hangup keeps
 * firing even with no events asked for, so then the fd leaves epoll. */
static void fd_pause(struct chardev *c, uint32_t events)
{
	struct fdchr *f = c->priv;
	pthread_mutex_lock(&f->in_lock);
	if (f->in_state != IN_ON && f->in_state != IN_PAUSED) {
		pthread_mutex_unlock(&f->in_lock);
		return;
	}
	if (f->kicked) {                  /* raced with accept_input: go on */
		if (f->in_timer)
			timer_arm(f->in_timer, 0);
	} else if (f->in_timer) {
		f->in_state = IN_PAUSED;
	} else if (!(events & (EPOLLHUP | EPOLLERR))) {
		if (f->in_state == IN_ON)
			mainloop_mod_fd(c->loop, f->in_fd, 0);
		f->in_state = IN_PAUSED;
	} else if (fd_bytes_waiting(f->in_fd)) {
		mainloop_remove_fd(c->loop, f->in_fd);
		f->in_state = IN_PARKED;
	} else {
		pthread_mutex_unlock(&f->in_lock);
		fd_input_eof(c);
		return;
	}
	pthread_mutex_unlock(&f->in_lock);
}

static bool fd_readable_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) > 0;
}

static void fd_input(struct chardev *c, uint32_t events)
{
	struct fdchr *f = c->priv;
	pthread_mutex_lock(&f->in_lock);
	f->kicked = false;
	int fd = f->in_fd;
	pthread_mutex_unlock(&f->in_lock);

	size_t n = chardev_fe_can_receive(c);
	if (n == 0) {
		fd_pause(c, events);
		return;
	}
	/* stdin stays blocking (its file description is shared with the
	 * shell): read only what is there. */
	if (f->is_stdio && !f->in_timer && !fd_readable_now(fd))
		return;
	uint8_t buf[READ_CHUNK];
	ssize_t r = read(fd, buf, MIN(n, sizeof(buf)));
	if (r > 0)
		chardev_fe_receive(c, buf, (size_t)r);
	else if (r == 0 || (errno != EAGAIN && errno != EINTR))
		fd_input_eof(c);
}

static void fd_input_ready(void *opaque, int fd, uint32_t events)
{
	(void)fd;
	fd_input(opaque, events);
}

static void fd_file_tick(void *opaque)
{
	struct chardev *c = opaque;
	struct fdchr *f = c->priv;
	fd_input(c, EPOLLIN);
	pthread_mutex_lock(&f->in_lock);
	if (f->in_state == IN_ON)
		timer_arm(f->in_timer, 0);
	pthread_mutex_unlock(&f->in_lock);
}

static void fd_accept_input(struct chardev *c)
{
	struct fdchr *f = c->priv;
	pthread_mutex_lock(&f->in_lock);
	f->kicked = true;
	if (f->in_state == IN_PAUSED || f->in_state == IN_PARKED)
		fd_watch_on(c);
	pthread_mutex_unlock(&f->in_lock);
}

static bool fd_connected(struct chardev *c)
{
	struct fdchr *f = c->priv;
	pthread_mutex_lock(&c->lock);
	bool up = f->out_fd >= 0 || f->in_fd >= 0;
	pthread_mutex_unlock(&c->lock);
	return up;
}

static void fd_set_frontend(struct chardev *c)
{
	if (fd_connected(c))
		chardev_send_event(c, CHR_EVENT_OPENED);
	fd_accept_input(c);
}

static void fd_start_input(struct chardev *c)
{
	struct fdchr *f = c->priv;
	pthread_mutex_lock(&f->in_lock);
	fd_watch_on(c);
	pthread_mutex_unlock(&f->in_lock);
}

/* poll for POLLOUT; true when writing may go on (or fail for real). */
static bool fd_wait_writable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	uint64_t deadline = clock_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000;
	for (;;) {
		int r = poll(&p, 1, timeout_ms);
		if (r > 0)
			return true;
		if (r == 0 || errno != EINTR)
			return false;
		if (timeout_ms > 0) {
			uint64_t now = clock_ns();
			if (now >= deadline)
				return false;
			timeout_ms = (int)((deadline - now + 999999) / 1000000);
		}
	}
}

static ssize_t fd_write_some(struct fdchr *f, const uint8_t *p, size_t len)
{
	if (f->is_socket)
		return send(f->out_fd, p, len, MSG_NOSIGNAL);
	return write(f->out_fd, p, len);
}

/* Called with c->lock held. */
static ssize_t fd_write(struct chardev *c, const void *buf, size_t len)
{
	struct fdchr *f = c->priv;
	const uint8_t *p = buf;
	size_t done = 0;
	if (f->out_fd < 0)
		return (ssize_t)len;           /* no output / no peer: drop */
	while (done < len) {
		ssize_t n = fd_write_some(f, p + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			f->stalled = false;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!fd_wait_writable(f->out_fd, f->stalled ? 0 : f->write_timeout_ms)) {
				f->stalled = true; /* nobody reads: drop the rest */
				return (ssize_t)len;
			}
		} else {
			/* A socket peer that left: the main loop sees the hangup. */
			return f->is_socket ? (ssize_t)len : -1;
		}
	}
	return (ssize_t)len;
}

static bool stdio_in_use; /* stdin/stdout are process-wide */

static void fd_close(struct chardev *c)
{
	struct fdchr *f = c->priv;
	fd_watch_off(c, IN_EOF);
	timer_free(f->in_timer);
	if (f->listen_fd >= 0) {
		if (c->loop)
			mainloop_remove_fd(c->loop, f->listen_fd);
		close(f->listen_fd);
		if (f->server && f->path)
			unlink(f->path);
	}
	if (f->is_stdio) {
		term_restore();
		stdio_in_use = false;
	} else {
		if (f->in_fd >= 0)
			close(f->in_fd);
		if (f->out_fd >= 0 && f->out_fd != f->in_fd)
			close(f->out_fd);
	}
	if (f->hold_fd >= 0)
		close(f->hold_fd);
	pthread_mutex_destroy(&f->in_lock);
	free(f->path);
	free(f);
	chardev_free(c);
}

static const struct chardev_ops fd_ops = {
	.write = fd_write,
	.accept_input = fd_accept_input,
	.close = fd_close,
	.set_frontend = fd_set_frontend,
};

static struct chardev *fd_chardev_new(struct mainloop *l, const char *label,
				      int in_fd, int out_fd)
{
	struct fdchr *f = xzalloc(sizeof(*f));
	f->in_fd = in_fd;
	f->out_fd = out_fd;
	f->hold_fd = -1;
	f->listen_fd = -1;
	f->write_timeout_ms = -1;
	pthread_mutex_init(&f->in_lock, NULL);
	return chardev_new(&fd_ops, l, label, f);
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* ---- unix sockets ---- */

static void sock_accept_ready(void *opaque, int fd, uint32_t events);

/* Take fd as the connection.  Main thread (or chardev_open). */
static void sock_attach(struct chardev *c, int fd)
{
	struct fdchr *f = c->priv;
	set_nonblock(fd);
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

static void fd_input_eof(struct chardev *c)
{
	struct fdchr *f = c->priv;
	if (f->is_socket)
		sock_disconnect(c);
	else
		fd_watch_off(c, IN_EOF);
}

struct unix_opts {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool server, wait;
};

static int parse_onoff(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true"))
		*out = true;
	else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false"))
		*out = false;
	else
		return -1;
	return 0;
}

/* One ",option" of a unix spec; -1 if unknown. */
static int unix_option(struct unix_opts *o, const char *opt)
{
	if (!strcmp(opt, "server"))
		o->server = true;
	else if (!strcmp(opt, "nowait"))
		o->wait = false;
	else if (!strncmp(opt, "server=", 7))
		return parse_onoff(opt + 7, &o->server);
	else if (!strncmp(opt, "wait=", 5))
		return parse_onoff(opt + 5, &o->wait);
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
	set_nonblock(lfd);
	struct chardev *c = fd_chardev_new(l, label, -1, -1);
	struct fdchr *f = c->priv;
	f->is_socket = f->server = true;
	f->write_timeout_ms = PEER_TIMEOUT_MS;
	f->listen_fd = lfd;
	f->path = xstrdup(o->path);
	chardev_set_filename(c, "unix:%s,server", o->path);
	if (cfd >= 0)
		sock_attach(c, cfd);
	else
		sock_listen_again(c);
	return c;
}

static struct chardev *open_unix(struct mainloop *l, const char *arg, const char *label,
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
	struct chardev *c = fd_chardev_new(l, label, -1, -1);
	struct fdchr *f = c->priv;
	f->is_socket = true;
	f->write_timeout_ms = PEER_TIMEOUT_MS;
	f->path = xstrdup(o.path);
	chardev_set_filename(c, "unix:%s", o.path);
	sock_attach(c, fd);
	return c;
}

/* ---- stdio, pty, file ---- */

static int parse_stdio(const char *opts, bool *signals, char *err, size_t errsz)
{
	*signals = false;
	if (!*opts)
		return 0;
	if (!strncmp(opts, ",signal=", 8) && parse_onoff(opts + 8, signals) == 0)
		return 0;
	snprintf(err, errsz, "unknown option '%s'", opts + 1);
	return -1;
}

static struct chardev *open_stdio(struct mainloop *l, const char *opts, const char *label,
				  char *err, size_t errsz)
{
	bool signals;
	if (parse_stdio(opts, &signals, err, errsz) < 0)
		return NULL;
	if (stdio_in_use) {
		snprintf(err, errsz, "cannot use stdio by multiple character devices");
		return NULL;
	}
	stdio_in_use = true;
	if (isatty(STDIN_FILENO))
		term_set_raw(STDIN_FILENO, signals);
	struct chardev *c = fd_chardev_new(l, label, STDIN_FILENO, STDOUT_FILENO);
	struct fdchr *f = c->priv;
	f->is_stdio = true;
	chardev_set_filename(c, "%s", "stdio");
	fd_start_input(c);
	return c;
}

/* The slave side stays open in qvm so that the master never sees a hangup
 * while no one is attached; it must not echo what we write. */
static int pty_open_pair(int *slave, char *name, size_t namesz)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return -1;
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, namesz) != 0)
		goto fail;
	*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		goto fail;
	struct termios t;
	if (tcgetattr(*slave, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(*slave, TCSANOW, &t);
	}
	set_nonblock(m);
	return m;
fail:
	close(m);
	return -1;
}

static struct chardev *open_pty(struct mainloop *l, const char *label, char *err, size_t errsz)
{
	char name[256];
	int slave;
	int m = pty_open_pair(&slave, name, sizeof(name));
	if (m < 0) {
		snprintf(err, errsz, "cannot open a pty: %s", strerror(errno));
		return NULL;
	}
	struct chardev *c = fd_chardev_new(l, label, m, m);
	struct fdchr *f = c->priv;
	f->hold_fd = slave;
	f->write_timeout_ms = PEER_TIMEOUT_MS;
	chardev_set_filename(c, "pty:%s", name);
	fprintf(stderr, "char device redirected to %s (label %s)\n", name, c->label);
	fd_start_input(c);
	return c;
}

static struct chardev *open_file(struct mainloop *l, const char *path, const char *label,
				 char *err, size_t errsz)
{
	if (!*path) {
		snprintf(err, errsz, "missing file name");
		return NULL;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0) {
		snprintf(err, errsz, "%s", strerror(errno));
		return NULL;
	}
	struct chardev *c = fd_chardev_new(l, label, -1, fd);
	chardev_set_filename(c, "file:%s", path);
	return c;
}

/* ---- the spec ---- */

static struct chardev *open_null(struct mainloop *l, const char *kind, const char *label)
{
	struct chardev *c = chardev_new(&null_ops, l, label, NULL);
	chardev_set_filename(c, "%s", kind);
	return c;
}

static struct chardev *open_mux(struct mainloop *l, const char *inner, const char *label)
{
	struct chardev *backend = chardev_open(l, inner, label);
	if (!backend)
		return NULL;
	struct chardev *mux = chardev_mux_new(backend);
	chardev_set_filename(mux, "mon:%s", chardev_filename(backend));
	return mux;
}

/* Split "kind:arg" / "kind,opts": kind into buf, the rest returned. */
static const char *spec_kind(const char *spec, char *kind, size_t size)
{
	size_t n = strcspn(spec, ":,");
	snprintf(kind, size, "%.*s", (int)n, spec);
	return spec[n] == ':' ? spec + n + 1 : spec + n;
}

static struct chardev *open_backend(struct mainloop *l, const char *spec, const char *label,
				    char *err, size_t errsz)
{
	char kind[32];
	const char *rest = spec_kind(spec, kind, sizeof(kind));
	bool colon = spec[strlen(kind)] == ':';
	if (!strcmp(kind, "mon") && colon)
		return open_mux(l, rest, label);
	if (!strcmp(kind, "file") && colon)
		return open_file(l, rest, label, err, errsz);
	if (!strcmp(kind, "unix") && colon)
		return open_unix(l, rest, label, err, errsz);
	if (!strcmp(kind, "stdio") && !colon)
		return open_stdio(l, rest, label, err, errsz);
	bool bare = !strcmp(kind, "pty") || !strcmp(kind, "none") || !strcmp(kind, "null");
	if (bare && *rest)
		snprintf(err, errsz, "'%s' takes no arguments", kind);
	else if (!strcmp(kind, "pty"))
		return open_pty(l, label, err, errsz);
	else if (bare)
		return open_null(l, kind, label);
	else
		snprintf(err, errsz, "unknown chardev backend '%s'", kind);
	return NULL;
}

struct chardev *chardev_open(struct mainloop *l, const char *spec, const char *label)
{
	char err[512] = "";
	if (!spec)
		spec = "";
	struct chardev *c = open_backend(l, spec, label, err, sizeof(err));
	if (!c && err[0])
		chr_error(label, spec, "%s", err);
	return c;
}
