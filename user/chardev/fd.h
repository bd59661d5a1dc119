/*
 * The machinery shared by the back ends on file descriptors (stdio, pty,
 * file, unix sockets): input watched on the main loop with flow control,
 * output written under c->lock with a timeout for readers that went away,
 * coalesced by a flusher thread (outbuf.h).
 *
 * Locks: c->lock serialises writes (and guards the output fd of a socket,
 * which the main thread replaces on connect/disconnect).  Input state is
 * under a separate lock so that a writer blocked on a slow terminal never
 * holds up chardev_accept_input().  No lock is held while a front end is
 * called.
 */
#ifndef QVM_CHARDEV_FD_H
#define QVM_CHARDEV_FD_H

#include "chardev/backend.h"

#define PEER_TIMEOUT_MS 1000 /* a pty or socket reader may lag this long */

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
	struct outbuf *out;      /* NULL: written directly (no thread) */

	pthread_mutex_t in_lock; /* in_state, kicked, in_timer */
	enum in_state in_state;
	bool kicked;             /* accept_input since the last can_receive */
	struct timer *in_timer;  /* stdin is a regular file: no epoll */

	int listen_fd;           /* unix server */
	char *path;              /* unix socket (freed on close) */
	bool server;

	/* Optional: input hung up (default: input ends for good). */
	void (*on_hangup)(struct chardev *c);
	/* Optional: extra cleanup at close, before the fds are closed
	 * (stdio's fds are never closed). */
	void (*on_close)(struct chardev *c);
};


/* A chardev on in_fd/out_fd (-1: none); c->priv is the struct fdchr. */
struct chardev *fd_chardev_new(struct mainloop *l, const char *label, int in_fd, int out_fd);
/* Start watching input (after the fds are in place). */
void fd_start_input(struct chardev *c);
/* Stop watching input; state is IN_IDLE (may start again) or IN_EOF. */
void fd_watch_off(struct chardev *c, enum in_state state);
void fd_set_nonblock(int fd);

#endif
