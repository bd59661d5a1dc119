/*
 * Inside the block layer: the format driver interface (raw.c, qcow2*.c)
 * and the core's helpers for them (block.c, aio.c).
 */
#ifndef QVM_BLOCK_INT_H
#define QVM_BLOCK_INT_H

#include <pthread.h>
#include "block.h"

struct blk_aio; /* aio.c */

struct blk {
	const struct blk_driver *drv;
	char *filename;         /* as given */
	int fd;                 /* the image file (O_DIRECT with cache=none
				 * when the file system takes it) */
	bool direct;            /* fd has O_DIRECT: use blk_file_* for I/O */
	uint32_t align;         /* O_DIRECT alignment of offsets, lengths and
				 * buffers (1 without O_DIRECT) */
	bool readonly;
	enum blk_cache cache;
	uint64_t size;          /* virtual size (the driver sets it) */
	/* Set by drv->open when the header names a backing file (malloc'ed;
	 * the core frees them).  The core then opens it read-only, relative
	 * to this image's directory, and sets backing. */
	char *backing_name, *backing_fmt;
	struct blk *backing;
	bool no_backing;        /* opened without its backing file */
	enum blk_share share;   /* what other processes may do (lock.c) */
	bool no_locking;        /* locking=off */
	unsigned depth;         /* 0 for the top image, +1 per backing level */
	pthread_mutex_t lock;   /* the core holds it around every driver call */
	void *opaque;           /* the driver's state */
	struct blk_aio *aio;    /* NULL until blk_attach */
};

/*
 * A format.  The core holds b->lock around every call but create and
 * probe, checks ranges against b->size before calling the I/O ops, and
 * fdatasyncs the file after flush (unless cache=unsafe).  All ops return 0
 * or a negative errno unless said otherwise; a problem in the image itself
 * is also reported with one qvm_error line naming b->filename.
 */
struct blk_driver {
	const char *name;
	/* The format keeps metadata in the image file (qcow2): its open needs
	 * to resize the file when writable, and lets no other process write
	 * or resize it (image locking, lock.c). */
	bool metadata;
	/* The image starts with these bytes (at least 512, or the whole file
	 * if shorter): is it this format? */
	bool (*probe)(const uint8_t *buf, size_t len);
	/* b->fd, readonly, cache, direct, align are set; set b->size,
	 * backing_name/backing_fmt and b->opaque.  A qcow2 image opened
	 * read-write gets its dirty bit (lazy refcounts) here. */
	int (*open)(struct blk *b);
	/* Write back metadata, clear the dirty bit, free the state (not the
	 * fd, which the core closes). */
	void (*close)(struct blk *b);

	int (*preadv)(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt,
		      size_t len);
	int (*pwritev)(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt,
		       size_t len);
	/* Write back cached metadata (the core fdatasyncs afterwards). */
	int (*flush)(struct blk *b);
	int (*write_zeroes)(struct blk *b, uint64_t off, uint64_t len, bool may_unmap);
	int (*discard)(struct blk *b, uint64_t off, uint64_t len);
	int (*write_compressed)(struct blk *b, uint64_t off, const void *buf, size_t len);
	/* BLK_ST_* for [off, off+*pnum); with host (not NULL) also where the
	 * run lies in the file (BLK_ST_OFFSET_VALID, *host), the run then
	 * being contiguous there. */
	int (*block_status)(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum,
			    uint64_t *host);
	int (*resize)(struct blk *b, uint64_t new_size);
	int (*set_backing)(struct blk *b, const char *backing, const char *fmt);
	int (*get_info)(struct blk *b, struct blk_info *info);
	struct blk_snapshot *(*snapshot_list)(struct blk *b, unsigned *n);
	int (*snapshot_create)(struct blk *b, const char *name);
	int (*snapshot_apply)(struct blk *b, const char *name_or_id);
	int (*snapshot_delete)(struct blk *b, const char *name_or_id);
	int (*check)(struct blk *b, int fix, struct blk_check *res);
	uint32_t (*cluster_size)(struct blk *b);
	/* fd is the new, empty file (opened read-write); 0 or -1 with a
	 * message. */
	int (*create)(const char *path, int fd, const struct blk_create_opts *o);

	/*
	 * The asynchronous fast path: map [off, off+len) of the virtual disk
	 * to one run of the image file.  Returns how many bytes from off map
	 * to *host_off onward (>= 1), or 0 when the run at off is not plain
	 * data in this file (unallocated, zero, compressed, or a write that
	 * would need an allocation or copy-on-write), or a negative errno.
	 * It never changes the image.  The core then submits the run with
	 * libaio, and sends what does not map to the thread pool, which
	 * calls preadv/pwritev.  A mapping stays valid until a discard,
	 * write_zeroes, snapshot apply/delete or resize; the core drains
	 * direct requests before calling those.
	 */
	int64_t (*map)(struct blk *b, uint64_t off, uint64_t len, bool write,
		       uint64_t *host_off);
};

extern const struct blk_driver blk_raw, blk_qcow2;

/* Image file I/O for drivers: whole transfers (short reads past the end of
 * the file give zeros), bouncing through aligned buffers when b->direct
 * and the request is not aligned.  0 or a negative errno. */
int blk_file_pread(struct blk *b, uint64_t off, void *buf, size_t len);
int blk_file_pwrite(struct blk *b, uint64_t off, const void *buf, size_t len);
int blk_file_preadv(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt);
int blk_file_pwritev(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt);
int blk_file_sync(struct blk *b);            /* fdatasync unless cache=unsafe */
int64_t blk_file_size(struct blk *b);        /* st_size, or a negative errno */
int blk_file_truncate(struct blk *b, uint64_t size);
/* Is the file's range at off data or a hole (SEEK_DATA/SEEK_HOLE)?
 * BLK_ST_DATA or BLK_ST_ZERO, with BLK_ST_ALLOCATED, for *pnum bytes (a
 * hole up to the end of the file: all of len). */
int blk_file_extent(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum);
/* Deallocate the range (FALLOC_FL_PUNCH_HOLE, else write zeros). */
int blk_file_punch(struct blk *b, uint64_t off, uint64_t len);

/* Read from the backing chain for copy-on-write and unallocated clusters:
 * zeros when b has no backing (or no_backing) and past the backing file's
 * end.  Called with b->lock held; takes the backing's own lock. */
int blk_backing_preadv(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt,
		       size_t len);

/* iovec helpers */
size_t iov_size(const struct iovec *iov, int iovcnt);
/* Copy/zero bytes [skip, skip+len) of the vector. */
size_t iov_to_buf(const struct iovec *iov, int iovcnt, size_t skip, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, int iovcnt, size_t skip, const void *buf,
		    size_t len);
void iov_memset(const struct iovec *iov, int iovcnt, size_t skip, int c, size_t len);
/* A sub-vector [skip, skip+len) of iov in out (up to max entries); returns
 * the entry count, -1 when max is too small. */
int iov_slice(const struct iovec *iov, int iovcnt, size_t skip, size_t len,
	      struct iovec *out, int max);

/* aio.c, for block.c */
int blk_aio_attach(struct blk *b, struct mainloop *l);
void blk_aio_submit(struct blk *b, struct blk_req *req);
void blk_aio_drain(struct blk *b);
void blk_aio_detach(struct blk *b);

#endif
