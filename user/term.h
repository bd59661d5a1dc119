/*
 * The controlling terminal in raw mode (stdio chardev, -nographic).
 *
 * term_set_raw() saves the terminal's settings and switches it to raw input:
 * no echo, no line editing, no CR->NL mapping, no XON/XOFF, and (unless
 * allow_signals) no signals from ^C ^Z ^\ so those bytes reach the guest.
 * Output processing is kept so that "\n" from qvm's own messages still
 * returns the carriage.
 *
 * The saved settings come back on every way out: term_restore(), exit()
 * (an atexit handler, so qvm_die is covered), and the fatal signals SIGTERM,
 * SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGSEGV, SIGBUS, SIGFPE, SIGILL and
 * SIGABRT, whose handler restores the terminal and re-raises the signal with
 * its default action.  Handlers are installed only for signals whose
 * disposition is still the default: a handler installed earlier by someone
 * else is left alone (it should end in exit(), which restores).
 *
 * This is process-wide state, like the terminal itself: one terminal at a
 * time.
 */
#ifndef QVM_TERM_H
#define QVM_TERM_H

#include <stdbool.h>

/* 0, or -1 with errno (ENOTTY if fd is not a terminal; a terminal is
 * already raw: EBUSY). */
int term_set_raw(int fd, bool allow_signals);
/* Put the saved settings back; idempotent, async-signal-safe. */
void term_restore(void);
bool term_is_raw(void);

#endif
