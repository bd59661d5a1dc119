/*
 * The main thread's event loop: file descriptors (epoll) and timers.
 * Everything registered here runs on the thread that calls
 * mainloop_run_once (the main thread).  Registering, arming, cancelling and
 * mainloop_call work from any thread; a callback may remove any fd (its own
 * included, then close it) and re-arm, cancel or free any timer.  A callback
 * may still run once after a remove/cancel made from another thread that
 * raced with it.  Free every timer before mainloop_free.
 */
#ifndef QVM_MAINLOOP_H
#define QVM_MAINLOOP_H

#include "qvm.h"

struct mainloop;
struct timer;

typedef void (*fd_handler)(void *opaque, int fd, uint32_t events);
typedef void (*timer_cb)(void *opaque);

struct mainloop *mainloop_new(void);
void mainloop_free(struct mainloop *l);
/* Watch fd for events (EPOLLIN ...), level-triggered; 0 or -1 with errno
 * (EEXIST if fd is already watched, EPERM for a regular file).  EPOLLHUP and
 * EPOLLERR are reported even when events is 0. */
int mainloop_add_fd(struct mainloop *l, int fd, uint32_t events, fd_handler cb, void *opaque);
int mainloop_mod_fd(struct mainloop *l, int fd, uint32_t events);
void mainloop_remove_fd(struct mainloop *l, int fd);
/* Timers on CLOCK_MONOTONIC, nanoseconds.  A timer fires once per arm, in
 * order of expiry (equal expiries in order of arming); arming an armed timer
 * moves it.  A timer armed in the past fires in the next round. */
struct timer *timer_new(struct mainloop *l, timer_cb cb, void *opaque);
void timer_arm(struct timer *t, uint64_t expire_ns); /* absolute */
void timer_cancel(struct timer *t);
void timer_free(struct timer *t);
bool timer_pending(struct timer *t); /* armed and not yet fired */
uint64_t clock_ns(void); /* CLOCK_MONOTONIC now */
/* One round: wait up to timeout_ms (-1 forever) and dispatch.  Returns the
 * number of epoll events seen (0 on timeout or EINTR), -1 on error. */
int mainloop_run_once(struct mainloop *l, int timeout_ms);
/* Run a function on the main thread soon (thread-safe). */
void mainloop_call(struct mainloop *l, timer_cb cb, void *opaque);

#endif
