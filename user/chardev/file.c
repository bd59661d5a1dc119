/* The file back end: output only, to a file created or truncated. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include "chardev/fd.h"

struct chardev *chardev_open_file(struct mainloop *l, const char *path, const char *label,
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
