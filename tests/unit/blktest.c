/* Helpers for the block layer's unit tests. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "blktest.h"

static char dir[] = "/var/tmp/qvm-unit-blk-XXXXXX";
static pid_t dir_owner;

static void remove_dir(void)
{
	if (getpid() != dir_owner)
		return;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char p[512];
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (unlink(p) < 0)
			rmdir(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* Made in the runner's process, before the tests' children fork: they
 * leave with _exit, the runner with exit, which removes the directory. */
__attribute__((constructor)) static void make_dir(void)
{
	if (!mkdtemp(dir))
		return;
	dir_owner = getpid();
	atexit(remove_dir);
}

const char *blktest_path(const char *name)
{
	static char path[8][512];
	static int next;
	char *p = path[next++ % 8];
	snprintf(p, sizeof(path[0]), "%s/%d-%s", dir_owner ? dir : "/nonexistent", (int)getpid(), name);
	return p;
}

void blktest_pattern(void *buf, size_t len, uint64_t off, unsigned seed)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		uint64_t x = (off + i) / 8 * 0x9e3779b97f4a7c15ull + seed * 0x632be59bd9b4e019ull;
		x ^= x >> 29;
		p[i] = (uint8_t)(x >> (8 * ((off + i) % 8)));
	}
}

int blktest_make_file(const char *path, size_t size, unsigned seed)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	uint8_t *buf = malloc(size ? size : 1);
	blktest_pattern(buf, size, 0, seed);
	ssize_t w = size ? write(fd, buf, size) : 0;
	free(buf);
	close(fd);
	return w == (ssize_t)size ? 0 : -1;
}

static int saved_fd = -1;
static FILE *capture;
static char captured[4096];

void blktest_stderr_begin(void)
{
	fflush(stderr);
	capture = tmpfile();
	saved_fd = dup(2);
	dup2(fileno(capture), 2);
}

const char *blktest_stderr_end(int *lines)
{
	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	rewind(capture);
	size_t n = fread(captured, 1, sizeof(captured) - 1, capture);
	captured[n] = 0;
	fclose(capture);
	*lines = 0;
	for (size_t i = 0; i < n; i++)
		*lines += captured[i] == '\n';
	return captured;
}
