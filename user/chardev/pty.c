/*
 * The pty back end: a new pseudo-terminal whose name is printed
 * ("char device redirected to /dev/pts/N (label serial0)").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include "chardev/fd.h"

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
	fd_set_nonblock(m);
	return m;
fail:
	close(m);
	return -1;
}

struct chardev *chardev_open_pty(struct mainloop *l, const char *label, char *err, size_t errsz)
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
