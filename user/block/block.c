/*
 * The block layer's core: opening images (format probing, backing chains,
 * snapshot=on), the synchronous entry points (range checks, the image lock,
 * the driver call), image creation, and the hand-off to aio.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "block-int.h"
#include "core.h"

/* The formats, in probing order: raw, which takes anything, comes last. */
static const struct blk_driver *drivers(int i)
{
	static const struct blk_driver *const list[] = { &blk_qcow2, &blk_raw };
	return i < (int)ARRAY_SIZE(list) ? list[i] : NULL;
}

static const struct blk_driver *find_driver(const char *name)
{
	const struct blk_driver *d;
	for (int i = 0; (d = drivers(i)); i++)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

static void supported_list(char *buf, size_t size)
{
	const struct blk_driver *d;
	buf[0] = 0;
	for (int i = 0; (d = drivers(i)); i++) {
		size_t l = strlen(buf);
		snprintf(buf + l, size - l, "%s%s", i ? ", " : "", d->name);
	}
}

static const struct blk_driver *unknown_format(const char *path, const char *name)
{
	char list[64];
	supported_list(list, sizeof(list));
	qvm_error("%s: unknown format '%s' (supported: %s)", path, name, list);
	return NULL;
}

/* ---- opening ---- */

/* The images already on the chain above the one being opened. */
struct chain {
	dev_t dev;
	ino_t ino;
	const char *name;
	const struct chain *up;
};

/* Logical block size for O_DIRECT (offsets, lengths and buffers). */
#define STATX_DIOALIGN_ 0x2000u  /* Linux 6.1; not yet in glibc 2.36 */
#define STX_DIO_MEM_ALIGN 0x98   /* offsets in struct statx (linux/stat.h) */
#define STX_DIO_OFFSET_ALIGN 0x9c

static uint32_t dio_align(int fd, const struct stat *st)
{
	if (S_ISBLK(st->st_mode)) {
		int ssz = 0;
		if (ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz >= 512 && !(ssz & (ssz - 1)))
			return (uint32_t)ssz;
		return 4096;
	}
	struct statx stx;
	memset(&stx, 0, sizeof(stx));
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN_, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN_)) {
		uint32_t mem, offs;
		memcpy(&mem, (char *)&stx + STX_DIO_MEM_ALIGN, 4);
		memcpy(&offs, (char *)&stx + STX_DIO_OFFSET_ALIGN, 4);
		uint32_t a = MAX(mem, offs);
		if (a && a <= 65536 && !(a & (a - 1)))
			return a;
	}
	return 4096;    /* safe for every device we know */
}

/* One line about the file: a backing file's problem names the image that
 * names it. */
static void file_error(const struct chain *up, const char *path, const char *problem)
{
	if (up)
		qvm_error("%s: backing file %s: %s", up->name, path, problem);
	else
		qvm_error("%s: %s", path, problem);
}

static int open_file(struct blk *b, const char *path, const struct blk_open_opts *opts,
		     const struct chain *up, struct stat *st)
{
	int flags = (opts->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int fd = -1;
	if (opts->cache == BLK_CACHE_NONE) {
		fd = open(path, flags | O_DIRECT);
		if (fd >= 0)
			b->direct = true;
		else if (errno == EINVAL)
			qvm_log(LOG_UNIMP, "qvm: %s: O_DIRECT refused by the file system; "
				"cache=none uses buffered I/O on the thread pool", path);
	}
	if (fd < 0 && !b->direct)
		fd = open(path, flags);
	if (fd < 0) {
		file_error(up, path, errno == EISDIR ? "is a directory" : strerror(errno));
		return -1;
	}
	b->fd = fd;
	if (fstat(fd, st) < 0) {
		file_error(up, path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st->st_mode)) {
		file_error(up, path, "is a directory");
		return -1;
	}
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode)) {
		file_error(up, path, "not a regular file or a block device");
		return -1;
	}
	b->align = b->direct ? dio_align(fd, st) : 1;
	return 0;
}

static const struct blk_driver *choose_driver(struct blk *b, const char *format,
					      const struct chain *up)
{
	if (format)
		return find_driver(format) ? find_driver(format)
					   : unknown_format(b->filename, format);
	uint8_t buf[512];
	int64_t fsize = blk_file_size(b);
	size_t len = fsize < 0 ? 0 : (size_t)MIN((uint64_t)fsize, sizeof(buf));
	if (len && blk_file_pread(b, 0, buf, len) < 0)
		len = 0;
	/* a format qvm does not read is refused by name, never read as raw
	 * (an explicit format=raw still reads it as raw, as QEMU does) */
	const char *foreign = blk_probe_foreign(buf, len);
	if (foreign) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s images are not supported (use qemu-img "
			 "convert to make qcow2 or raw)", foreign);
		file_error(up, b->filename, msg);
		return NULL;
	}
	const struct blk_driver *d;
	for (int i = 0; (d = drivers(i)); i++)
		if (d->probe && d->probe(buf, len))
			return d;
	return &blk_raw;
}

/* The backing file's path: relative names are relative to the directory
 * of the image that names them (as QEMU resolves them). */
static char *backing_path(const char *image, const char *name)
{
	if (name[0] == '/' || !strchr(image, '/'))
		return strdup(name);
	char *copy = strdup(image);
	if (!copy)
		return NULL;
	char *dir = dirname(copy);
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	free(copy);
	return p;
}

static void blk_free(struct blk *b)
{
	if (!b)
		return;
	if (b->backing)
		blk_close(b->backing);
	if (b->fd >= 0)
		close(b->fd);
	pthread_mutex_destroy(&b->lock);
	free(b->filename);
	free(b->backing_name);
	free(b->backing_fmt);
	free(b);
}

static struct blk *open_chain(const char *path, const struct blk_open_opts *opts,
			      unsigned depth, const struct chain *up);

static int open_backing(struct blk *b, const struct chain *self)
{
	if (b->depth + 1 >= BLK_MAX_CHAIN) {
		qvm_error("%s: backing chain longer than %d images", b->filename,
			  BLK_MAX_CHAIN);
		return -1;
	}
	char *path = backing_path(b->filename, b->backing_name);
	if (!path)
		return -1;
	struct blk_open_opts o = {
		.format = b->backing_fmt, .readonly = true, .cache = b->cache,
		.share = blk_backing_share(b->share), .no_locking = b->no_locking,
	};
	b->backing = open_chain(path, &o, b->depth + 1, self);
	free(path);
	return b->backing ? 0 : -1;
}

static struct blk *open_chain(const char *path, const struct blk_open_opts *opts,
			      unsigned depth, const struct chain *up)
{
	struct blk *b = calloc(1, sizeof(*b));
	if (!b || !(b->filename = strdup(path))) {
		free(b);
		qvm_error("%s: out of memory", path);
		return NULL;
	}
	b->fd = -1;
	b->readonly = opts->readonly;
	b->cache = opts->cache;
	b->no_backing = opts->no_backing;
	b->depth = depth;
	b->share = opts->share;
	b->no_locking = opts->no_locking;
	pthread_mutex_init(&b->lock, NULL);

	struct stat st;
	if (open_file(b, path, opts, up, &st) < 0)
		goto fail;
	for (const struct chain *c = up; c; c = c->up) {
		if (c->dev == st.st_dev && c->ino == st.st_ino) {
			qvm_error("%s: backing chain loops back to %s", up->name, c->name);
			goto fail;
		}
	}
	b->drv = choose_driver(b, opts->format, up);
	if (!b->drv)
		goto fail;
	/* before the driver's open, which may write (the dirty bit) */
	if (!b->no_locking && blk_lock_image(b, b->share, b->drv->metadata) < 0) {
		b->drv = NULL;
		goto fail;
	}
	pthread_mutex_lock(&b->lock);
	int r = b->drv->open(b);
	pthread_mutex_unlock(&b->lock);
	if (r < 0) {
		b->drv = NULL;
		goto fail;
	}
	if (b->backing_name && b->backing_name[0] && !b->no_backing) {
		struct chain self = { st.st_dev, st.st_ino, b->filename, up };
		if (open_backing(b, &self) < 0) {
			pthread_mutex_lock(&b->lock);
			b->drv->close(b);
			pthread_mutex_unlock(&b->lock);
			b->drv = NULL;
			goto fail;
		}
	}
	return b;
fail:
	blk_free(b);
	return NULL;
}

static const struct blk_open_opts default_opts;

/* snapshot=on: a temporary qcow2 overlay, unlinked at once, on top of the
 * image opened read-only. */
static struct blk *open_snapshot(const char *path, const struct blk_open_opts *opts)
{
	struct blk_open_opts o = *opts;
	o.snapshot = false;
	o.readonly = true;
	o.share = blk_backing_share(opts->share);  /* as it will be below the overlay */
	struct blk *base = blk_open(path, &o);
	if (!base)
		return NULL;
	char fmt[16];
	snprintf(fmt, sizeof(fmt), "%s", base->drv->name);
	uint64_t size = base->size;
	blk_close(base);
	char *abs = realpath(path, NULL);
	if (!abs) {
		qvm_error("%s: %s", path, strerror(errno));
		return NULL;
	}
	const char *tmpdir = getenv("TMPDIR");
	if (!tmpdir || !*tmpdir)
		tmpdir = "/var/tmp";
	char tmpl[PATH_MAX];
	snprintf(tmpl, sizeof(tmpl), "%s/qvm-snapshot-XXXXXX", tmpdir);
	int fd = mkstemp(tmpl);
	if (fd < 0) {
		qvm_error("%s: snapshot=on: cannot create a file in %s: %s", path, tmpdir,
			  strerror(errno));
		free(abs);
		return NULL;
	}
	close(fd);
	struct blk_create_opts c = {
		.format = "qcow2", .size = size, .backing = abs, .backing_fmt = fmt,
	};
	struct blk *b = NULL;
	if (blk_create(tmpl, &c) == 0) {
		struct blk_open_opts ov = {
			.format = "qcow2", .readonly = opts->readonly, .cache = opts->cache,
			.share = opts->share, .no_locking = opts->no_locking,
		};
		b = blk_open(tmpl, &ov);
	}
	unlink(tmpl);   /* the open file lives until blk_close */
	free(abs);
	return b;
}

struct blk *blk_open(const char *path, const struct blk_open_opts *opts)
{
	if (!opts)
		opts = &default_opts;
	if (opts->share == BLK_SHARE_ALL && !opts->readonly && !opts->snapshot) {
		qvm_error("%s: force-share=on can only be used with read-only images", path);
		return NULL;
	}
	if (opts->snapshot)
		return open_snapshot(path, opts);
	return open_chain(path, opts, 0, NULL);
}

void blk_close(struct blk *b)
{
	if (!b)
		return;
	if (b->aio)
		blk_aio_detach(b);
	if (!b->readonly && b->drv)
		blk_flush(b);
	pthread_mutex_lock(&b->lock);
	if (b->drv && b->drv->close)
		b->drv->close(b);
	pthread_mutex_unlock(&b->lock);
	blk_free(b);
}

/* Lock the image for writing on a new read-write descriptor, then open the
 * driver again on it; the read-only descriptor's locks go first, so that
 * they do not conflict with the new ones. */
static int reopen_locked(struct blk *b, int fd)
{
	int old = b->fd;
	b->drv->close(b);               /* read-only: nothing to write back */
	free(b->backing_name);
	free(b->backing_fmt);
	b->backing_name = b->backing_fmt = NULL;
	blk_unlock_fd(old);
	b->fd = fd;
	b->readonly = false;
	if (b->no_locking || blk_lock_image(b, BLK_SHARE_TOOL, b->drv->metadata) == 0) {
		close(old);
		if (b->drv->open(b) == 0)
			return 0;
		b->drv = NULL;          /* only blk_close is left to do */
		b->readonly = true;
		return -1;
	}
	/* refused: back to the read-only open as it was */
	b->fd = old;
	b->readonly = true;
	close(fd);
	if ((!b->no_locking && blk_lock_image(b, b->share, b->drv->metadata) < 0) ||
	    b->drv->open(b) < 0) {
		b->drv = NULL;
		return -1;
	}
	return -1;
}

int blk_reopen_rw(struct blk *b)
{
	if (!b->readonly)
		return 0;
	if (b->aio) {
		qvm_error("%s: cannot reopen an image in use by a device", b->filename);
		return -1;
	}
	int fd = open(b->filename, O_RDWR | O_CLOEXEC | (b->direct ? O_DIRECT : 0));
	struct stat was, now;
	if (fd < 0 || fstat(fd, &now) < 0 || fstat(b->fd, &was) < 0) {
		qvm_error("%s: %s", b->filename, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (was.st_dev != now.st_dev || was.st_ino != now.st_ino) {
		qvm_error("%s: the file was replaced while open", b->filename);
		close(fd);
		return -1;
	}
	pthread_mutex_lock(&b->lock);
	int r = reopen_locked(b, fd);
	pthread_mutex_unlock(&b->lock);
	return r;
}

uint64_t blk_size(const struct blk *b) { return b->size; }
const char *blk_format_name(const struct blk *b) { return b->drv->name; }
const char *blk_filename(const struct blk *b) { return b->filename; }
bool blk_is_readonly(const struct blk *b) { return b->readonly; }
struct blk *blk_backing(const struct blk *b) { return b->backing; }

/* ---- synchronous I/O ---- */

static int check_range(const struct blk *b, uint64_t off, uint64_t len)
{
	if (off > b->size || len > b->size - off)
		return -EINVAL;
	return 0;
}

static int check_write(const struct blk *b, uint64_t off, uint64_t len)
{
	if (b->readonly)
		return -EROFS;
	return check_range(b, off, len);
}

int blk_locked_preadv(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt,
		      size_t len)
{
	pthread_mutex_lock(&b->lock);
	int r = b->drv->preadv(b, off, iov, iovcnt, len);
	pthread_mutex_unlock(&b->lock);
	return r;
}

int blk_preadv(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt)
{
	size_t len = iov_size(iov, iovcnt);
	int r = check_range(b, off, len);
	if (r < 0 || len == 0)
		return r;
	return blk_locked_preadv(b, off, iov, iovcnt, len);
}

int blk_pwritev(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt)
{
	size_t len = iov_size(iov, iovcnt);
	int r = check_write(b, off, len);
	if (r < 0 || len == 0)
		return r;
	pthread_mutex_lock(&b->lock);
	r = b->drv->pwritev(b, off, iov, iovcnt, len);
	pthread_mutex_unlock(&b->lock);
	return r;
}

int blk_pread(struct blk *b, uint64_t off, void *buf, size_t len)
{
	struct iovec v = { buf, len };
	return blk_preadv(b, off, &v, 1);
}

int blk_pwrite(struct blk *b, uint64_t off, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };
	return blk_pwritev(b, off, &v, 1);
}

int blk_flush(struct blk *b)
{
	if (b->readonly)
		return 0;
	pthread_mutex_lock(&b->lock);
	int r = b->drv->flush ? b->drv->flush(b) : 0;
	pthread_mutex_unlock(&b->lock);
	/* Outside the lock: other requests go on while the disk syncs; all
	 * that must be stable was written before. */
	return r < 0 ? r : blk_file_sync(b);
}

/* An operation that may make an earlier map() stale: direct requests are
 * drained around it (block-int.h, map). */
static int invalidating_op(struct blk *b, int (*fn)(struct blk *b, void *arg), void *arg)
{
	blk_aio_quiesce_begin(b);
	pthread_mutex_lock(&b->lock);
	int r = fn(b, arg);
	pthread_mutex_unlock(&b->lock);
	blk_aio_quiesce_end(b);
	return r;
}

struct range_arg {
	uint64_t off, len;
	bool may_unmap;
};

static int do_write_zeroes(struct blk *b, void *arg)
{
	struct range_arg *a = arg;
	return b->drv->write_zeroes(b, a->off, a->len, a->may_unmap);
}

static int do_discard(struct blk *b, void *arg)
{
	struct range_arg *a = arg;
	return b->drv->discard(b, a->off, a->len);
}

int blk_write_zeroes(struct blk *b, uint64_t off, uint64_t len, bool may_unmap)
{
	int r = check_write(b, off, len);
	if (r < 0 || len == 0)
		return r;
	if (!b->drv->write_zeroes)
		return -ENOTSUP;
	struct range_arg a = { off, len, may_unmap };
	return invalidating_op(b, do_write_zeroes, &a);
}

int blk_discard(struct blk *b, uint64_t off, uint64_t len)
{
	int r = check_write(b, off, len);
	if (r < 0 || len == 0 || !b->drv->discard)
		return r;
	struct range_arg a = { off, len, false };
	return invalidating_op(b, do_discard, &a);
}

int blk_write_compressed(struct blk *b, uint64_t off, const void *buf, size_t len)
{
	int r = check_write(b, off, len);
	if (r < 0)
		return r;
	if (!b->drv->write_compressed)
		return -ENOTSUP;
	pthread_mutex_lock(&b->lock);
	r = b->drv->write_compressed(b, off, buf, len);
	pthread_mutex_unlock(&b->lock);
	return r;
}

uint32_t blk_cluster_size(const struct blk *b)
{
	if (!b->drv->cluster_size || !b->drv->write_compressed)
		return 0;
	struct blk *mb = (struct blk *)b;
	pthread_mutex_lock(&mb->lock);
	uint32_t r = b->drv->cluster_size(mb);
	pthread_mutex_unlock(&mb->lock);
	return r;
}

static int block_status(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum,
			uint64_t *host)
{
	*pnum = 0;
	if (off >= b->size)
		return -EINVAL;
	len = MIN(len, b->size - off);
	if (len == 0)
		return -EINVAL;
	if (!b->drv->block_status) {
		*pnum = len;
		return BLK_ST_DATA | BLK_ST_ALLOCATED;
	}
	pthread_mutex_lock(&b->lock);
	int r = b->drv->block_status(b, off, len, pnum, host);
	pthread_mutex_unlock(&b->lock);
	if (r >= 0 && (*pnum == 0 || *pnum > len))
		*pnum = len;    /* never loop forever on a driver's answer */
	return r;
}

int blk_block_status(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum)
{
	return block_status(b, off, len, pnum, NULL);
}

int blk_block_status_map(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum,
			 uint64_t *host)
{
	*host = 0;
	return block_status(b, off, len, pnum, host);
}

static int do_resize(struct blk *b, void *arg)
{
	uint64_t size = *(uint64_t *)arg;
	int r = b->drv->resize(b, size);
	if (r == 0)
		b->size = size;
	return r;
}

int blk_resize(struct blk *b, uint64_t new_size)
{
	if (b->readonly)
		return -EROFS;
	if (!b->drv->resize)
		return -ENOTSUP;
	return invalidating_op(b, do_resize, &new_size);
}

int blk_set_backing(struct blk *b, const char *backing, const char *backing_fmt)
{
	if (b->readonly)
		return -EROFS;
	if (!b->drv->set_backing)
		return -ENOTSUP;
	pthread_mutex_lock(&b->lock);
	int r = b->drv->set_backing(b, backing, backing_fmt);
	pthread_mutex_unlock(&b->lock);
	return r;
}

/* ---- format details ---- */

int blk_get_info(struct blk *b, struct blk_info *info)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->format, sizeof(info->format), "%s", b->drv->name);
	info->virtual_size = b->size;
	struct stat st;
	if (fstat(b->fd, &st) == 0)
		info->disk_size = (uint64_t)st.st_blocks * 512;
	if (b->backing_name)
		snprintf(info->backing, sizeof(info->backing), "%s", b->backing_name);
	if (b->backing_fmt)
		snprintf(info->backing_fmt, sizeof(info->backing_fmt), "%s", b->backing_fmt);
	if (!b->drv->get_info)
		return 0;
	pthread_mutex_lock(&b->lock);
	int r = b->drv->get_info(b, info);
	pthread_mutex_unlock(&b->lock);
	return r;
}

struct blk_snapshot *blk_snapshot_list(struct blk *b, unsigned *n)
{
	*n = 0;
	if (!b->drv->snapshot_list)
		return NULL;
	pthread_mutex_lock(&b->lock);
	struct blk_snapshot *s = b->drv->snapshot_list(b, n);
	pthread_mutex_unlock(&b->lock);
	if (!s)
		*n = 0;
	return s;
}

static int no_snapshots(const struct blk *b)
{
	qvm_error("%s: format %s does not support internal snapshots", b->filename,
		  b->drv->name);
	return -1;
}

static int writable(const struct blk *b)
{
	if (!b->readonly)
		return 0;
	qvm_error("%s: image is read-only", b->filename);
	return -1;
}

static int do_snap_create(struct blk *b, void *arg)
{
	return b->drv->snapshot_create(b, arg);
}

int blk_snapshot_create(struct blk *b, const char *name)
{
	if (!b->drv->snapshot_create)
		return no_snapshots(b);
	if (writable(b) < 0)
		return -1;
	/* The snapshot shares every cluster: a direct write mapped before it
	 * and landing after it would change the snapshot in place. */
	return invalidating_op(b, do_snap_create, (void *)name) < 0 ? -1 : 0;
}

static int do_snap_apply(struct blk *b, void *arg)
{
	return b->drv->snapshot_apply(b, arg);
}

static int do_snap_delete(struct blk *b, void *arg)
{
	return b->drv->snapshot_delete(b, arg);
}

int blk_snapshot_apply(struct blk *b, const char *name_or_id)
{
	if (!b->drv->snapshot_apply)
		return no_snapshots(b);
	if (writable(b) < 0)
		return -1;
	return invalidating_op(b, do_snap_apply, (void *)name_or_id) < 0 ? -1 : 0;
}

int blk_snapshot_delete(struct blk *b, const char *name_or_id)
{
	if (!b->drv->snapshot_delete)
		return no_snapshots(b);
	if (writable(b) < 0)
		return -1;
	return invalidating_op(b, do_snap_delete, (void *)name_or_id) < 0 ? -1 : 0;
}

int blk_check(struct blk *b, int fix, struct blk_check *res)
{
	memset(res, 0, sizeof(*res));
	if (!b->drv->check)
		return 0;       /* nothing to check in a raw image */
	if (fix && writable(b) < 0)
		return -1;
	pthread_mutex_lock(&b->lock);
	int r = b->drv->check(b, fix, res);
	pthread_mutex_unlock(&b->lock);
	return r < 0 ? -1 : 0;
}

/* ---- creation ---- */

/* With a backing file, a size of 0 means the backing file's size, and no
 * backing format means the probed one. */
static int fill_from_backing(const char *path, struct blk_create_opts *c, char *fmt,
			     size_t fmtlen)
{
	char *bpath = backing_path(path, c->backing);
	if (!bpath)
		return -1;
	struct blk_open_opts o = {
		.format = c->backing_fmt, .readonly = true, .no_backing = true,
	};
	struct blk *bk = blk_open(bpath, &o);
	free(bpath);
	if (!bk)
		return -1;
	if (!c->size)
		c->size = bk->size;
	if (!c->backing_fmt) {
		snprintf(fmt, fmtlen, "%s", bk->drv->name);
		c->backing_fmt = fmt;
	}
	blk_close(bk);
	return 0;
}

int blk_create(const char *path, const struct blk_create_opts *o)
{
	if (!o->format) {
		qvm_error("%s: no image format given", path);
		return -1;
	}
	const struct blk_driver *drv = find_driver(o->format);
	if (!drv) {
		unknown_format(path, o->format);
		return -1;
	}
	if (!drv->create) {
		qvm_error("%s: format %s cannot create images", path, drv->name);
		return -1;
	}
	struct blk_create_opts c = *o;
	char fmt[16];
	if (c.backing && !c.backing[0])
		c.backing = NULL;
	if (c.backing && (!c.size || !c.backing_fmt) &&
	    fill_from_backing(path, &c, fmt, sizeof(fmt)) < 0)
		return -1;
	/* Disks are whole sectors, as qemu-img makes them: a size it would
	 * read as smaller would hide the tail. */
	if (c.size % BLK_SECTOR)
		c.size += BLK_SECTOR - c.size % BLK_SECTOR;
	/* Truncated only once locked: an image another process (qvm, QEMU)
	 * uses is refused, not destroyed (QEMU's create takes write and
	 * resize, and shares all but resize). */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		qvm_error("%s: %s", path, strerror(errno));
		return -1;
	}
	if (blk_lock_fd(fd, BLK_PERM_WRITE | BLK_PERM_RESIZE, BLK_PERM_ALL & ~BLK_PERM_RESIZE,
			path) < 0) {
		close(fd);
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ftruncate(fd, 0) < 0) {
		qvm_error("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	int r = drv->create(path, fd, &c);
	if (r == 0 && fsync(fd) < 0) {
		qvm_error("%s: %s", path, strerror(errno));
		r = -1;
	}
	close(fd);
	return r < 0 ? -1 : 0;
}

/* ---- asynchronous I/O (aio.c) ---- */

int blk_attach(struct blk *b, struct mainloop *l)
{
	if (b->aio)
		return 0;
	return blk_aio_attach(b, l);
}

void blk_submit(struct blk *b, struct blk_req *req)
{
	blk_aio_submit(b, req);
}

void blk_drain(struct blk *b)
{
	if (b->aio)
		blk_aio_drain(b);
}
