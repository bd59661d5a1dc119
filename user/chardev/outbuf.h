/*
 * Coalesced output for the fd back ends: a guest's UART hands over one
 * byte per THR write, and one write(2) per byte costs a system call each
 * (a Linux boot log is some 20,000 of them, each stalling the vCPU).  The
 * bytes go into a buffer instead, and a flusher thread writes them out
 * about a millisecond after the first one arrived, through the back end's
 * own write (with its blocking and dropping rules).
 *
 * Locks: the buffer is guarded by the chardev's c->lock, which
 * chardev_write already holds; the flusher takes it to write, so the
 * output fd (a socket's, replaced under c->lock) is stable meanwhile.
 * A writer finding the buffer full waits for the flusher: output keeps
 * its back pressure.  Order is kept.  At exit (atexit) what is buffered
 * is written out.
 */
#ifndef QVM_CHARDEV_OUTBUF_H
#define QVM_CHARDEV_OUTBUF_H

#include <sys/types.h>
#include "chardev/chardev.h"

struct outbuf;

/* flush(c, buf, len) writes for real, called with c->lock held; its
 * return is fd_write's (len, or -1 on a write error). */
typedef ssize_t (*outbuf_flush_fn)(struct chardev *c, const void *buf, size_t len);

struct outbuf *outbuf_new(struct chardev *c, outbuf_flush_fn flush);
/* With c->lock held: len, or -1 when an earlier flush failed. */
ssize_t outbuf_write(struct outbuf *o, const void *buf, size_t len);
/* Write out what is buffered, stop the flusher and free.  c->lock not
 * held. */
void outbuf_free(struct outbuf *o);
/* Write out every buffer now (exit paths); waits at most about a second
 * for a chardev whose lock another thread holds. */
void outbuf_flush_all(void);

#endif
