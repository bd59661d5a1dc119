/* Reading the images qvm loads (-kernel, -initrd) into memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pc/pc.h"

#define LOAD_MAX_SIZE (4 * GiB)

bool read_full(int fd, void *buf, size_t len, const char *what, const char *path)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, (uint8_t *)buf + got, len - got);
		if (n <= 0) {
			qvm_error("%s %s: %s", what, path, n < 0 ? strerror(errno) : "short read");
			return false;
		}
		got += n;
	}
	return true;
}

int open_image(const char *what, const char *path, struct stat *st)
{
	/* O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer.
	 * A regular file ignores the flag. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, st) < 0) {
		qvm_error("%s %s: %s", what, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		qvm_error("%s %s: %s", what, path,
			  S_ISDIR(st->st_mode) ? strerror(EISDIR) : "not a regular file");
		close(fd);
		return -1;
	}
	return fd;
}

uint8_t *load_file(const char *what, const char *path, size_t *size)
{
	struct stat st;
	int fd = open_image(what, path, &st);
	if (fd < 0)
		return NULL;
	if ((uint64_t)st.st_size > LOAD_MAX_SIZE) {
		qvm_error("%s %s: larger than 4 GiB", what, path);
		close(fd);
		return NULL;
	}
	uint8_t *buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		qvm_error("%s %s: out of memory", what, path);
	} else if (!read_full(fd, buf, st.st_size, what, path)) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	*size = st.st_size;
	return buf;
}
