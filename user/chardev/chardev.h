/*
 * Character devices: the back ends of serial ports and the monitor
 * (stdio, pty, file, unix socket, none), and the stdio multiplexer with
 * QEMU's Ctrl-A escapes.  Output may be written from any thread; input is
 * delivered on the main thread.
 *
 * Input flow control: a back end calls the front end's can_receive() and
 * then receive() with at most that many bytes.  When can_receive() returns
 * 0 the back end stops reading (a socket or terminal is no longer polled)
 * until the front end calls chardev_accept_input().  chardev_accept_input()
 * may deliver buffered input synchronously, on the calling thread (the
 * memory chardev and the mux do): call it without holding a lock that your
 * can_receive/receive/event take.  The back end never holds one of its own
 * locks while it calls the front end, so a front end may write (echo) from
 * receive() and may call chardev_accept_input() from receive().
 */
#ifndef QVM_CHARDEV_H
#define QVM_CHARDEV_H

#include <pthread.h>
#include <sys/types.h>
#include "qvm.h"

struct mainloop;
struct chardev;

/* Events for chardev_frontend.event. */
enum chardev_event {
	CHR_EVENT_OPENED,    /* connected (a socket client; at once for others) */
	CHR_EVENT_CLOSED,    /* the peer went away (socket) */
	CHR_EVENT_BREAK,     /* a break condition (mux: Ctrl-A b) */
	CHR_EVENT_FOCUS_IN,  /* the mux gave this front end the input focus */
	CHR_EVENT_FOCUS_OUT, /* ... and took it away */
};

/* The front end (serial port, monitor) receiving input. */
struct chardev_frontend {
	/* How many bytes it can take now (0 stops reading). */
	size_t (*can_receive)(void *opaque);
	void (*receive)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
	/* Optional: enum chardev_event.  chardev_set_frontend() sends OPENED at
	 * once when the back end is connected (and FOCUS_IN on the focused
	 * front end of a mux). */
	void (*event)(void *opaque, int event);
};

struct chardev_ops {
	ssize_t (*write)(struct chardev *c, const void *buf, size_t len);
	/* Front end can take input again after returning 0 from can_receive. */
	void (*accept_input)(struct chardev *c);
	void (*close)(struct chardev *c);
	/* Optional: c->fe was just set (send events, start reading). */
	void (*set_frontend)(struct chardev *c);
};

struct chardev {
	const struct chardev_ops *ops;
	struct chardev_frontend fe;
	struct mainloop *loop;
	char *label;
	pthread_mutex_t lock;   /* serialises writes (chardev_write takes it) */
	void *priv;
	char *filename;         /* "pty:/dev/pts/3", "unix:/x,server" (info chardev) */
};

/* Open a back end from a QEMU-style spec: stdio, pty, file:PATH,
 * unix:PATH[,server][,nowait], none, null, mon:stdio.  NULL with a one-line
 * message on error.  "none" and "null" give a device that drops output.
 *
 * label names the device for messages, as QEMU does: "serial0" reports
 * errors as "-serial SPEC: ..." (trailing digits dropped, a dash added) and
 * pty says "char device redirected to /dev/pts/N (label serial0)".
 *
 * Details:
 *   stdio[,signal=off]  stdin/stdout; a terminal on stdin goes raw (term.h);
 *                       ^C ends qvm (as in QEMU) unless signal=off, which
 *                       mon:stdio implies.  Once only.  Input stops at EOF.
 *   pty                 a new pseudo-terminal; output is dropped while no
 *                       one reads it (after a one-second wait).
 *   file:PATH           output only, created or truncated.
 *   unix:PATH           connect to a listening socket.
 *   unix:PATH,server    listen (replacing a stale socket file); without
 *     [,nowait]         nowait, wait for the first client before returning.
 *                       One client at a time; after it leaves, the next one
 *                       is accepted.  Output with no client is dropped.
 *                       "server=on" and "wait=off" are accepted too.
 *   mon:SPEC            a mux (chardev_mux_new) over the back end SPEC; add
 *                       the front ends with chardev_mux_add.
 * Input needs l (may be NULL for output-only use). */
struct chardev *chardev_open(struct mainloop *l, const char *spec, const char *label);
/* Attach the front end (copied); NULL detaches.  Input starts flowing. */
void chardev_set_frontend(struct chardev *c, const struct chardev_frontend *fe);
/* From any thread.  Returns len once written or deliberately dropped (no
 * reader on a pty or socket), -1 on a write error.  Blocks while a terminal,
 * pipe or file is not writable; waits at most a second for a pty or socket
 * reader, then drops output until the reader catches up. */
ssize_t chardev_write(struct chardev *c, const void *buf, size_t len);
/* From any thread; see flow control above. */
void chardev_accept_input(struct chardev *c);
/* Main thread, not from inside this chardev's own front end callbacks. */
void chardev_close(struct chardev *c);
/* Description for "info chardev": "stdio", "pty:/dev/pts/3", ... */
const char *chardev_filename(const struct chardev *c);

/* A chardev that records output in memory and lets tests inject input.
 * Thread-safe.  Injected input goes to the front end at once as far as
 * can_receive allows; the rest waits for chardev_accept_input. */
struct chardev *chardev_memory_new(void);
/* The output so far, NUL-terminated; valid until the next write or clear. */
const char *chardev_memory_output(struct chardev *c, size_t *len);
void chardev_memory_inject(struct chardev *c, const void *buf, size_t len);
void chardev_memory_clear(struct chardev *c);     /* forget the output */
size_t chardev_memory_pending(struct chardev *c); /* injected, not delivered */

/* The stdio multiplexer (-nographic, mon:stdio): up to 4 front ends share
 * stdin/stdout; Ctrl-A c switches, Ctrl-A x quits, Ctrl-A h helps.
 * The mux takes over the back end (closed with the mux).  Each
 * chardev_mux_add gives a front end's own chardev: its output goes to the
 * back end (whatever the focus), its input is what arrives while it has the
 * focus.  The first one added has the focus.  Closing the mux and closing
 * its front ends may happen in any order; the last one closes the back end.
 * Writing to the mux itself writes to the back end.  Every front end gets
 * OPENED when attached; the focused one also FOCUS_IN, and Ctrl-A c sends
 * FOCUS_OUT/FOCUS_IN (a monitor prints its prompt on FOCUS_IN). */
struct chardev *chardev_mux_new(struct chardev *backend);
struct chardev *chardev_mux_add(struct chardev *mux, const char *label);
/* Ctrl-A x prints "qvm: terminated" and calls fn (default: exit(0)). */
void chardev_mux_set_quit_handler(struct chardev *mux, void (*fn)(void *), void *opaque);
/* Feed bytes as if they came from the back end (tests; main thread). */
void chardev_mux_input(struct chardev *mux, const void *buf, size_t len);
bool chardev_is_mux(const struct chardev *c);
bool chardev_is_mux_frontend(const struct chardev *c); /* from chardev_mux_add */

/* ---- For back-end implementations (user/chardev/) ---- */

/* Allocate a chardev; priv belongs to the back end. */
struct chardev *chardev_new(const struct chardev_ops *ops, struct mainloop *l,
			    const char *label, void *priv);
void chardev_free(struct chardev *c); /* the struct, label and filename */
void chardev_send_event(struct chardev *c, int event);
size_t chardev_fe_can_receive(struct chardev *c);
void chardev_fe_receive(struct chardev *c, const uint8_t *buf, size_t len);

/* An input queue in front of a front end: bytes pushed from any thread are
 * delivered by whichever thread calls chardev_queue_deliver, in order, as
 * can_receive allows, one deliverer at a time and never under the lock. */
struct chardev_queue {
	pthread_mutex_t lock;
	uint8_t *data;
	size_t head, len, cap;
	bool delivering, again;
};
void chardev_queue_init(struct chardev_queue *q);
void chardev_queue_destroy(struct chardev_queue *q);
void chardev_queue_push(struct chardev_queue *q, const void *buf, size_t len);
size_t chardev_queue_len(struct chardev_queue *q);
void chardev_queue_deliver(struct chardev_queue *q, struct chardev *c);

#endif
