/*
 * The raw format: the image file is the disk, byte for byte.  Works on
 * regular files and on block devices (size from BLKGETSIZE64).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "block-int.h"
#include "core.h"

static int raw_open(struct blk *b)
{
	int64_t size = blk_file_size(b);
	if (size < 0) {
		qvm_error("%s: %s", b->filename, strerror((int)-size));
		return (int)size;
	}
	b->size = (uint64_t)size;
	return 0;
}

static void raw_close(struct blk *b)
{
	(void)b;
}

static int raw_preadv(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt,
		      size_t len)
{
	(void)len;
	return blk_file_preadv(b, off, iov, iovcnt);
}

static int raw_pwritev(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt,
		       size_t len)
{
	(void)len;
	return blk_file_pwritev(b, off, iov, iovcnt);
}

static int raw_flush(struct blk *b)
{
	(void)b;
	return 0;       /* no metadata; the core fdatasyncs */
}

static int raw_write_zeroes(struct blk *b, uint64_t off, uint64_t len, bool may_unmap)
{
	if (may_unmap &&
	    fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)len) == 0)
		return 0;
	if (fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)len) == 0)
		return 0;
	return blk_file_zero(b, off, len);
}

static int raw_discard(struct blk *b, uint64_t off, uint64_t len)
{
	/* A hint: where the file system can't punch holes, keep the data. */
	if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)len) == 0)
		return 0;
	return errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL ? 0 : -errno;
}

static int raw_block_status(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum,
			    uint64_t *host)
{
	int st = blk_file_extent(b, off, len, pnum);
	if (host) {
		*host = off;    /* the disk is the file */
		st |= BLK_ST_OFFSET_VALID;
	}
	return st;
}

static int raw_resize(struct blk *b, uint64_t new_size)
{
	int r = blk_file_truncate(b, new_size);
	if (r == 0)
		b->size = new_size;
	return r;
}

static int raw_get_info(struct blk *b, struct blk_info *info)
{
	struct stat st;
	if (fstat(b->fd, &st) < 0)
		return -errno;
	snprintf(info->format, sizeof(info->format), "raw");
	info->virtual_size = b->size;
	info->disk_size = (uint64_t)st.st_blocks * 512;
	info->cluster_size = 0;
	return 0;
}

static int write_zero_file(int fd, const char *path, uint64_t size)
{
	size_t chunk = 1 * MiB;
	char *z = calloc(1, chunk);
	if (!z) {
		qvm_error("%s: out of memory", path);
		return -1;
	}
	uint64_t off = 0;
	while (off < size) {
		size_t n = (size_t)MIN(size - off, chunk);
		ssize_t w = pwrite(fd, z, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			qvm_error("%s: %s", path, w < 0 ? strerror(errno) : "short write");
			free(z);
			return -1;
		}
		off += (uint64_t)w;
	}
	free(z);
	return 0;
}

static int raw_create(const char *path, int fd, const struct blk_create_opts *o)
{
	const char *prealloc = o->preallocation ? o->preallocation : "off";
	if (o->backing) {
		qvm_error("%s: raw images have no backing file", path);
		return -1;
	}
	if (o->size > INT64_MAX) {
		qvm_error("%s: size too large", path);
		return -1;
	}
	struct stat st;
	bool reg = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	if (reg && ftruncate(fd, (off_t)o->size) < 0) {
		qvm_error("%s: %s", path, strerror(errno));
		return -1;
	}
	if (!strcmp(prealloc, "off"))
		return 0;
	if (!strcmp(prealloc, "falloc")) {
		int r = o->size ? posix_fallocate(fd, 0, (off_t)o->size) : 0;
		if (r) {
			qvm_error("%s: preallocation failed: %s", path, strerror(r));
			return -1;
		}
		return 0;
	}
	if (!strcmp(prealloc, "full"))
		return write_zero_file(fd, path, o->size);
	if (!strcmp(prealloc, "metadata"))
		qvm_error("%s: preallocation=metadata is not supported for raw images", path);
	else
		qvm_error("%s: unknown preallocation mode '%s' (off, falloc, full)", path,
			  prealloc);
	return -1;
}

/* Every byte of the disk is the same byte of the file. */
static int64_t raw_map(struct blk *b, uint64_t off, uint64_t len, bool write,
		       uint64_t *host_off)
{
	(void)b;
	(void)write;
	*host_off = off;
	return (int64_t)MIN(len, (uint64_t)INT64_MAX);
}

const struct blk_driver blk_raw = {
	.name = "raw",
	.open = raw_open,
	.close = raw_close,
	.preadv = raw_preadv,
	.pwritev = raw_pwritev,
	.flush = raw_flush,
	.write_zeroes = raw_write_zeroes,
	.discard = raw_discard,
	.block_status = raw_block_status,
	.resize = raw_resize,
	.get_info = raw_get_info,
	.create = raw_create,
	.map = raw_map,
};
