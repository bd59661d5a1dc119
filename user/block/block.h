/*
 * The block layer: disk images (raw, qcow2) seen as one linear virtual disk,
 * with their backing chains, synchronous I/O for tools (qvm-img) and
 * asynchronous I/O for device models (virtio-blk).
 *
 *   block.c     open/close, format probing, backing chains, snapshot=on,
 *               the synchronous entry points, blk_submit()
 *   aio.c       the asynchronous engine: libaio (io_submit, completions on
 *               an eventfd in the main loop), a thread pool where libaio or
 *               O_DIRECT is refused, and for requests the format can't map
 *               to one run of the image file
 *   raw.c       the raw format
 *   qcow2*.c    the qcow2 format, versions 2 and 3 (docs/interop/qcow2.txt
 *               in QEMU's tree is the spec)
 *
 * Every image byte is untrusted: a corrupt or hostile image gets a one-line
 * error (qvm_error) naming the file and the problem, never a crash or an
 * access outside a buffer.
 */
#ifndef QVM_BLOCK_H
#define QVM_BLOCK_H

#include <sys/uio.h>
#include "qvm.h"

struct mainloop;
struct blk;

#define BLK_SECTOR 512

enum blk_cache {
	BLK_CACHE_WRITEBACK,    /* host page cache, flush = fdatasync (default) */
	BLK_CACHE_NONE,         /* O_DIRECT, flush = fdatasync */
	BLK_CACHE_UNSAFE,       /* host page cache, flush does nothing */
};

/*
 * Image locking (lock.c), compatible with QEMU 7.2's: an open holds QEMU's
 * permissions on the image (consistent read; write when writable; resize
 * when it may grow the file) and says which of them other processes may
 * hold meanwhile.  A conflict fails the open with one line naming the
 * permission ("Failed to get "write" lock. Is another process using the
 * image [disk.qcow2]?").  A qcow2 image never lets others write or resize
 * its file (but under BLK_SHARE_ALL).
 */
#define BLK_PERM_READ 0x1               /* QEMU's "consistent read" */
#define BLK_PERM_WRITE 0x2
#define BLK_PERM_WRITE_UNCHANGED 0x4
#define BLK_PERM_RESIZE 0x8
#define BLK_PERM_ALL 0xf
#define BLK_PERM_BITS 4

enum blk_share {
	BLK_SHARE_DEVICE,       /* a guest's disk (the default): others may
				 * read and resize, not write */
	BLK_SHARE_TOOL,         /* qvm-img's writes and conversions: others
				 * may only read */
	BLK_SHARE_INSPECT,      /* qvm-img info, map, compare ...: others may
				 * do what the format allows (raw: anything) */
	BLK_SHARE_ALL,          /* -U (force-share): no lock keeps others out;
				 * read-only opens only */
};

struct blk_open_opts {
	/* "raw", "qcow2", or NULL: probe (qcow2 magic => qcow2; the magic of
	 * a format qvm does not read (vmdk, vdi, vhdx, vpc, qed, luks, qcow
	 * v1 ...) => refused with one line; else raw) */
	const char *format;
	bool readonly;
	enum blk_cache cache;
	/* Writes go to a temporary qcow2 overlay (unlinked at once) whose
	 * backing file is this image, which stays untouched. */
	bool snapshot;
	/* Open the image alone, without its backing file (qvm-img info,
	 * rebase -u, commit's top layer); reads of unallocated clusters then
	 * return zeros. */
	bool no_backing;
	enum blk_share share;
	bool no_locking;        /* -drive locking=off: take no locks at all */
};

/* Open path; NULL after one line on stderr ("qvm: <path>: <problem>").
 * Backing files are opened read-only, recursively; a chain longer than
 * BLK_MAX_CHAIN or one that loops is refused. */
#define BLK_MAX_CHAIN 64
struct blk *blk_open(const char *path, const struct blk_open_opts *opts);
/* Flush (unless read-only), clear the qcow2 dirty bit, close the chain. */
void blk_close(struct blk *b);

/* Make a read-only image (a backing file: qvm-img commit's base) writable
 * in place, locked as qvm-img's writes are; 0, or -1 after one line (on a
 * failure past the lock, b may only be closed). */
int blk_reopen_rw(struct blk *b);

uint64_t blk_size(const struct blk *b);          /* virtual size, bytes */
const char *blk_format_name(const struct blk *b); /* "raw", "qcow2" */
const char *blk_filename(const struct blk *b);
bool blk_is_readonly(const struct blk *b);
struct blk *blk_backing(const struct blk *b);    /* NULL if none/not opened */

/* ---- synchronous I/O (any thread; serialised per image) ----
 * Byte-granular; a range past the virtual size is -EINVAL.  All return 0 or
 * a negative errno. */
int blk_pread(struct blk *b, uint64_t off, void *buf, size_t len);
int blk_pwrite(struct blk *b, uint64_t off, const void *buf, size_t len);
int blk_preadv(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt);
int blk_pwritev(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt);
int blk_flush(struct blk *b);
/* The range reads as zeros afterwards.  may_unmap: clusters may be freed
 * (qcow2 v3 marks them zero, v2 and raw punch a hole or write zeros). */
int blk_write_zeroes(struct blk *b, uint64_t off, uint64_t len, bool may_unmap);
/* A hint: the range's contents become undefined (reads give zeros or the
 * backing file's data); may do nothing. */
int blk_discard(struct blk *b, uint64_t off, uint64_t len);
/* Write whole clusters compressed (qcow2 only: -ENOTSUP elsewhere); off
 * cluster-aligned, len a cluster (the last one may be short at the end of
 * the disk). */
int blk_write_compressed(struct blk *b, uint64_t off, const void *buf, size_t len);
/* Largest cluster size a compressed write takes (0: not supported). */
uint32_t blk_cluster_size(const struct blk *b);

/* Allocation status of [off, off+len) in this layer: returns BLK_ST_*
 * flags for the first *pnum bytes (*pnum >= 1 when off < size), or a
 * negative errno.  0 (neither DATA nor ZERO) means this layer does not
 * allocate the range and its backing file decides: a caller that wants
 * the whole chain's answer asks blk_backing() next (qvm-img does). */
#define BLK_ST_DATA 0x1       /* reads data stored in this layer */
#define BLK_ST_ZERO 0x2       /* reads as zeros */
#define BLK_ST_ALLOCATED 0x4  /* this layer decides (not the backing file) */
#define BLK_ST_COMPRESSED 0x8
#define BLK_ST_OFFSET_VALID 0x10 /* blk_block_status_map: *host holds it */
int blk_block_status(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum);
/* The same, and where the run lies in this layer's file when it lies in
 * one piece there (raw: everywhere; qcow2: normal and preallocated zero
 * clusters): BLK_ST_OFFSET_VALID and *host; runs stop where the file
 * offsets stop being contiguous (qvm-img map). */
int blk_block_status_map(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum,
			 uint64_t *host);

/* Change the virtual size (qcow2: growing, and shrinking when nothing is
 * allocated past the new end; raw: ftruncate). */
int blk_resize(struct blk *b, uint64_t new_size);
/* Rewrite the header's backing file name and format (NULL: none); no data
 * is touched (qvm-img rebase -u, and the end of a safe rebase). */
int blk_set_backing(struct blk *b, const char *backing, const char *backing_fmt);

/* ---- asynchronous I/O, for device models ----
 * blk_attach() ties the image to the main loop (once, before the first
 * blk_submit).  blk_submit() may be called from any thread (vCPU threads);
 * done() runs exactly once per request, on the main-loop thread, with 0
 * or a negative errno.  Requests may complete in any order; a BLK_FLUSH
 * completes after every write that completed before it was submitted is
 * on stable storage (with cache=unsafe: at once).  The request's memory
 * (req and iov) belongs to the caller until done() runs. */
enum blk_op { BLK_READ, BLK_WRITE, BLK_FLUSH, BLK_DISCARD, BLK_WRITE_ZEROES };

struct blk_req {
	enum blk_op op;
	uint64_t offset;        /* bytes */
	uint64_t len;           /* DISCARD, WRITE_ZEROES; READ/WRITE: sum of iov */
	const struct iovec *iov;
	int iovcnt;
	bool may_unmap;         /* WRITE_ZEROES */
	void (*done)(struct blk_req *req, int ret);
	void *opaque;           /* the caller's */
};

int blk_attach(struct blk *b, struct mainloop *l);
void blk_submit(struct blk *b, struct blk_req *req);
/* Wait (main thread) until no request is in flight, running completions. */
void blk_drain(struct blk *b);
/* Which engine blk_submit uses: "libaio", "threads" (for logs, tests). */
const char *blk_aio_engine(const struct blk *b);

/* ---- image creation and format details (qvm-img) ---- */
struct blk_create_opts {
	const char *format;         /* "raw" or "qcow2" */
	uint64_t size;              /* virtual size; 0 with a backing file:
				     * the backing file's size */
	const char *backing;        /* qcow2 only */
	const char *backing_fmt;    /* NULL: probe the backing file */
	uint32_t cluster_size;      /* 0: 65536 */
	int compat;                 /* 2 ("0.10") or 3 ("1.1"); 0: 3 */
	bool lazy_refcounts;        /* v3 only */
	uint32_t refcount_bits;     /* 0: 16 */
	/* "off", "metadata" (qcow2), "falloc", "full"; NULL: off */
	const char *preallocation;
};
/* Create (or truncate) path; 0, or -1 after one line on stderr. */
int blk_create(const char *path, const struct blk_create_opts *o);

#define BLK_SNAP_NAME_MAX 256
struct blk_snapshot {
	char id[32];
	char name[BLK_SNAP_NAME_MAX];
	uint64_t vm_state_size;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint32_t icount_valid;      /* 0 */
};

struct blk_info {
	char format[16];
	uint64_t virtual_size;
	uint64_t disk_size;         /* bytes the file occupies on the host */
	uint32_t cluster_size;      /* qcow2; 0 for raw */
	char backing[1024];         /* "" if none */
	char backing_fmt[16];
	/* qcow2 */
	int compat;                 /* 2 or 3 */
	bool lazy_refcounts, corrupt, dirty, extended_l2;
	uint32_t refcount_bits;
	char compression_type[8];   /* "zlib" */
	unsigned nb_snapshots;
};
int blk_get_info(struct blk *b, struct blk_info *info);
/* The snapshot table: a malloc'ed array (free it) of *n entries, or NULL
 * with *n = 0. */
struct blk_snapshot *blk_snapshot_list(struct blk *b, unsigned *n);
/* 0 or -1 after one line on stderr (name taken, not found, not qcow2 ...). */
int blk_snapshot_create(struct blk *b, const char *name);
int blk_snapshot_apply(struct blk *b, const char *name_or_id);
int blk_snapshot_delete(struct blk *b, const char *name_or_id);

/* qvm-img check: counts as qemu-img reports them. */
struct blk_check {
	uint64_t corruptions, leaks, check_errors;
	uint64_t corruptions_fixed, leaks_fixed;
	uint64_t allocated_clusters, total_clusters;
	uint64_t fragmented_clusters, compressed_clusters;
	uint64_t image_end_offset;
};
#define BLK_FIX_LEAKS 1
#define BLK_FIX_ERRORS 2
/* Check (and with fix, repair) the image's metadata; each problem found is
 * one line on stderr in qemu-img's words ("Leaked cluster 5 refcount=1
 * reference=0").  0 when the check ran, -1 when it could not. */
int blk_check(struct blk *b, int fix, struct blk_check *res);

#endif
