/*
 * Image file I/O for the format drivers: whole transfers with retries on
 * short counts, zeros past the end of the file, and with O_DIRECT a bounce
 * through aligned buffers for requests that are not aligned to b->align.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "block-int.h"
#include "core.h"

#define BOUNCE_MAX (1 * MiB)    /* largest bounce buffer */
#define IOV_BATCH 1024          /* entries per preadv/pwritev (IOV_MAX) */

static bool aligned(const struct blk *b, uint64_t v)
{
	return (v & (b->align - 1)) == 0;
}

static bool iov_aligned(const struct blk *b, uint64_t off, const struct iovec *iov,
			int iovcnt)
{
	if (!b->direct)
		return true;
	if (!aligned(b, off))
		return false;
	for (int i = 0; i < iovcnt; i++)
		if (!aligned(b, (uintptr_t)iov[i].iov_base) || !aligned(b, iov[i].iov_len))
			return false;
	return true;
}

/* preadv/pwritev the whole vector at off (which may be modified: a copy).
 * A read that hits the end of the file zero-fills the rest. */
static int rw_vec(int fd, uint64_t off, struct iovec *iov, int iovcnt, bool write)
{
	bool short_read = false;
	while (iovcnt > 0) {
		if (iov->iov_len == 0) {
			iov++;
			iovcnt--;
			continue;
		}
		int cnt = MIN(iovcnt, IOV_BATCH);
		ssize_t r = write ? pwritev(fd, iov, cnt, (off_t)off)
				  : preadv(fd, iov, cnt, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		/* With O_DIRECT, the read after a short one (at the end of a
		 * file whose size is not aligned) is refused: the end too. */
		if (r < 0 && !(errno == EINVAL && short_read))
			return -errno;
		if (r <= 0) {
			if (write)
				return -EIO;
			iov_memset(iov, iovcnt, 0, 0, iov_size(iov, iovcnt));
			return 0;
		}
		short_read = !write && (size_t)r < iov_size(iov, cnt);
		off += (uint64_t)r;
		size_t left = (size_t)r;
		while (iovcnt > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (left) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

static int rw_vec_copy(int fd, uint64_t off, const struct iovec *iov, int iovcnt, bool write)
{
	struct iovec small[16];
	struct iovec *v = small;
	if (iovcnt > (int)ARRAY_SIZE(small)) {
		v = malloc(sizeof(*v) * (size_t)iovcnt);
		if (!v)
			return -ENOMEM;
	}
	memcpy(v, iov, sizeof(*v) * (size_t)iovcnt);
	int r = rw_vec(fd, off, v, iovcnt, write);
	if (v != small)
		free(v);
	return r;
}

/* A buffer for the aligned span around [off, off+len), at most BOUNCE_MAX;
 * *size is its length. */
static void *bounce_for(const struct blk *b, uint64_t off, size_t len, size_t *size)
{
	uint64_t a = b->align;
	uint64_t span = ((off & (a - 1)) + len + a - 1) & ~(a - 1);
	*size = (size_t)MIN(span, BOUNCE_MAX);
	void *p = NULL;
	if (posix_memalign(&p, MAX(b->align, 4096u), *size))
		return NULL;
	return p;
}

static void *bounce_alloc(const struct blk *b, size_t len)
{
	void *p = NULL;
	if (posix_memalign(&p, MAX(b->align, 4096u), len))
		return NULL;
	return p;
}

/* O_DIRECT read of an unaligned range, through an aligned buffer. */
static int bounce_read(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt,
		       size_t len)
{
	uint64_t a = b->align;
	size_t bsize;
	uint8_t *buf = bounce_for(b, off, len, &bsize);
	if (!buf)
		return -ENOMEM;
	int ret = 0;
	size_t done = 0;
	while (done < len) {
		uint64_t pos = off + done;
		uint64_t start = pos & ~(a - 1);
		size_t head = (size_t)(pos - start);
		size_t n = MIN(len - done, bsize - head);
		size_t span = (size_t)((head + n + a - 1) & ~(a - 1));
		struct iovec v = { buf, span };
		ret = rw_vec(b->fd, start, &v, 1, false);
		if (ret < 0)
			break;
		iov_from_buf(iov, iovcnt, done, buf + head, n);
		done += n;
	}
	free(buf);
	return ret;
}

/* O_DIRECT write of an unaligned range: read-modify-write of the partial
 * blocks at either end.  A write that had to round up past the end of the
 * file truncates it back to where the data ends. */
static int bounce_write(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt,
			size_t len)
{
	uint64_t a = b->align;
	size_t bsize;
	uint8_t *buf = bounce_for(b, off, len, &bsize);
	if (!buf)
		return -ENOMEM;
	struct stat st;
	int ret = fstat(b->fd, &st) < 0 ? -errno : 0;
	size_t done = 0;
	while (ret == 0 && done < len) {
		uint64_t pos = off + done;
		uint64_t start = pos & ~(a - 1);
		size_t head = (size_t)(pos - start);
		size_t n = MIN(len - done, bsize - head);
		size_t span = (size_t)((head + n + a - 1) & ~(a - 1));
		struct iovec v;
		if (head) {
			v = (struct iovec){ buf, a };
			ret = rw_vec(b->fd, start, &v, 1, false);
		}
		/* The tail block, unless it is the head block already read. */
		if (ret == 0 && (head + n) % a && !(head && span == a)) {
			v = (struct iovec){ buf + span - a, a };
			ret = rw_vec(b->fd, start + span - a, &v, 1, false);
		}
		if (ret < 0)
			break;
		iov_to_buf(iov, iovcnt, done, buf + head, n);
		v = (struct iovec){ buf, span };
		ret = rw_vec(b->fd, start, &v, 1, true);
		done += n;
	}
	free(buf);
	/* Only when the file ends where this write left it: a write past
	 * it (another run of a format's image file) must stay. */
	uint64_t end = off + len, rounded = (end + a - 1) & ~(a - 1);
	struct stat now;
	if (ret == 0 && S_ISREG(st.st_mode) && rounded > (uint64_t)st.st_size && end < rounded &&
	    fstat(b->fd, &now) == 0 && (uint64_t)now.st_size == rounded &&
	    ftruncate(b->fd, (off_t)MAX(end, (uint64_t)st.st_size)) < 0)
		ret = -errno;
	return ret;
}

int blk_file_preadv(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt)
{
	if (iov_aligned(b, off, iov, iovcnt))
		return rw_vec_copy(b->fd, off, iov, iovcnt, false);
	return bounce_read(b, off, iov, iovcnt, iov_size(iov, iovcnt));
}

int blk_file_pwritev(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt)
{
	if (iov_aligned(b, off, iov, iovcnt))
		return rw_vec_copy(b->fd, off, iov, iovcnt, true);
	return bounce_write(b, off, iov, iovcnt, iov_size(iov, iovcnt));
}

int blk_file_pread(struct blk *b, uint64_t off, void *buf, size_t len)
{
	struct iovec v = { buf, len };
	return blk_file_preadv(b, off, &v, 1);
}

int blk_file_pwrite(struct blk *b, uint64_t off, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };
	return blk_file_pwritev(b, off, &v, 1);
}

int blk_file_sync(struct blk *b)
{
	if (b->cache == BLK_CACHE_UNSAFE)
		return 0;
	return fdatasync(b->fd) < 0 ? -errno : 0;
}

int64_t blk_file_size(struct blk *b)
{
	struct stat st;
	if (fstat(b->fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		uint64_t size;
		if (ioctl(b->fd, BLKGETSIZE64, &size) < 0)
			return -errno;
		return (int64_t)size;
	}
	return st.st_size;
}

int blk_file_truncate(struct blk *b, uint64_t size)
{
	struct stat st;
	if (fstat(b->fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		/* A block device has the size it has. */
		int64_t cur = blk_file_size(b);
		return cur == (int64_t)size ? 0 : -ENOTSUP;
	}
	if (size > INT64_MAX)
		return -EFBIG;
	return ftruncate(b->fd, (off_t)size) < 0 ? -errno : 0;
}

/* Write zeros over [off, off+len) with aligned buffers. */
static int write_zeros(struct blk *b, uint64_t off, uint64_t len)
{
	size_t chunk = (size_t)MIN(len, BOUNCE_MAX);
	void *z = bounce_alloc(b, chunk ? chunk : 1);
	if (!z)
		return -ENOMEM;
	memset(z, 0, chunk);
	int ret = 0;
	while (len && ret == 0) {
		size_t n = (size_t)MIN(len, chunk);
		ret = blk_file_pwrite(b, off, z, n);
		off += n;
		len -= n;
	}
	free(z);
	return ret;
}

int blk_file_punch(struct blk *b, uint64_t off, uint64_t len)
{
	if (len == 0)
		return 0;
	if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL)
		return -errno;
	return write_zeros(b, off, len);
}

int blk_file_zero(struct blk *b, uint64_t off, uint64_t len)
{
	return write_zeros(b, off, len);
}

int blk_backing_preadv(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt,
		       size_t len)
{
	struct blk *bk = b->no_backing ? NULL : b->backing;
	uint64_t in = 0;
	if (bk && off < bk->size)
		in = MIN(len, bk->size - off);
	int ret = 0;
	if (in) {
		struct iovec small[16];
		struct iovec *v = small;
		int max = iovcnt;
		if (max > (int)ARRAY_SIZE(small) && !(v = malloc(sizeof(*v) * (size_t)max)))
			return -ENOMEM;
		int cnt = iov_slice(iov, iovcnt, 0, (size_t)in, v, max);
		ret = blk_locked_preadv(bk, off, v, cnt, (size_t)in);
		if (v != small)
			free(v);
	}
	if (ret == 0 && in < len)
		iov_memset(iov, iovcnt, (size_t)in, 0, len - (size_t)in);
	return ret;
}

/* Data or hole at off, and for how long (SEEK_DATA/SEEK_HOLE): holes read
 * as zeros, data is data, this layer decides everything. */
int blk_file_extent(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum)
{
	off_t data = lseek(b->fd, (off_t)off, SEEK_DATA);
	if (data < 0 && errno == ENXIO) {
		*pnum = len;                    /* a hole up to the end */
		return BLK_ST_ZERO | BLK_ST_ALLOCATED;
	}
	if (data < 0) {
		*pnum = len;                    /* no SEEK_DATA here */
		return BLK_ST_DATA | BLK_ST_ALLOCATED;
	}
	if ((uint64_t)data > off) {
		*pnum = MIN(len, (uint64_t)data - off);
		return BLK_ST_ZERO | BLK_ST_ALLOCATED;
	}
	off_t hole = lseek(b->fd, (off_t)off, SEEK_HOLE);
	if (hole < 0 || (uint64_t)hole <= off)
		*pnum = len;
	else
		*pnum = MIN(len, (uint64_t)hole - off);
	return BLK_ST_DATA | BLK_ST_ALLOCATED;
}
