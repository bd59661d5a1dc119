/*
 * The stdio back end: stdin/stdout, a terminal in raw mode (term.h).
 * stdin and stdout are process-wide, so only one chardev may have them.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "chardev/fd.h"
#include "term.h"

static bool stdio_in_use; /* stdin/stdout are process-wide */

static void stdio_release(struct chardev *c)
{
	(void)c;
	term_restore();
	stdio_in_use = false;
}

/* QEMU's default is signal=on: ^C ends qvm ("terminating on signal 2").
 * mon:stdio and the -nographic mux pass signal=off, so ^C reaches the
 * guest and Ctrl-A x quits. */
static int parse_stdio(const char *opts, bool *signals, char *err, size_t errsz)
{
	*signals = true;
	if (!*opts)
		return 0;
	if (!strncmp(opts, ",signal=", 8) && chr_parse_onoff(opts + 8, signals) == 0)
		return 0;
	snprintf(err, errsz, "unknown option '%s'", opts + 1);
	return -1;
}

struct chardev *chardev_open_stdio(struct mainloop *l, const char *opts, const char *label,
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
	f->on_close = stdio_release;
	chardev_set_filename(c, "%s", "stdio");
	fd_start_input(c);
	return c;
}
