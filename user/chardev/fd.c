/*
 * The fd machinery (fd.h): input through the main loop (or a timer for a
 * regular file on stdin, which epoll refuses) as the front end allows,
 * output that blocks, or waits a while and then drops for a pty or socket
 * with no reader.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "chardev/fd.h"
#include "chardev/outbuf.h"
#include "mainloop.h"

#define READ_CHUNK 4096

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

/* Stop watching input (EOF, disconnect, close). */
void fd_watch_off(struct chardev *c, enum in_state state)
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

void fd_start_input(struct chardev *c)
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

/* Called with c->lock held: the flusher's write, or the only one. */
static ssize_t fd_write_now(struct chardev *c, const void *buf, size_t len)
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

/* Called with c->lock held. */
static ssize_t fd_write(struct chardev *c, const void *buf, size_t len)
{
	struct fdchr *f = c->priv;
	if (f->out_fd < 0)
		return (ssize_t)len;    /* no peer now: dropped now, not later */
	return f->out ? outbuf_write(f->out, buf, len) : fd_write_now(c, buf, len);
}

static void fd_close(struct chardev *c)
{
	struct fdchr *f = c->priv;
	outbuf_free(f->out);    /* what the guest wrote goes out first */
	fd_watch_off(c, IN_EOF);
	timer_free(f->in_timer);
	if (f->on_close)
		f->on_close(c);
	if (!f->is_stdio) {
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

struct chardev *fd_chardev_new(struct mainloop *l, const char *label, int in_fd, int out_fd)
{
	struct fdchr *f = chr_xzalloc(sizeof(*f));
	f->in_fd = in_fd;
	f->out_fd = out_fd;
	f->hold_fd = -1;
	f->listen_fd = -1;
	f->write_timeout_ms = -1;
	pthread_mutex_init(&f->in_lock, NULL);
	struct chardev *c = chardev_new(&fd_ops, l, label, f);
	f->out = outbuf_new(c, fd_write_now);
	return c;
}

void fd_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}


static void fd_input_eof(struct chardev *c)
{
	struct fdchr *f = c->priv;
	if (f->on_hangup)
		f->on_hangup(c);
	else
		fd_watch_off(c, IN_EOF);
}
