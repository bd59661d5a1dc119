/*
 * qcow2 internals, shared by qcow2*.c.  The spec is QEMU's
 * docs/interop/qcow2.txt; section names below refer to it.
 *
 *   qcow2.c           header, header extensions, feature bits, open/close,
 *                     the dirty bit, the driver ops table
 *   qcow2-cluster.c   L1/L2 lookup and update, allocation with COW, zero
 *                     and compressed clusters, map, block status
 *   qcow2-refcount.c  refcount table and blocks, allocation, check/repair
 *   qcow2-snapshot.c  internal snapshots
 *   qcow2-create.c    create, resize, set_backing
 */
#ifndef QVM_QCOW2_H
#define QVM_QCOW2_H

#include <stdint.h>
#include <stdbool.h>
#include "block-int.h"

#define QCOW2_MAGIC 0x514649fbu               /* "QFI\xfb" */

/* Header extension types ("Header extensions") */
#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FMT 0xe2792acau
#define QCOW2_EXT_FEATURES 0x6803f857u

/* Feature bits ("incompatible/compatible/autoclear features") */
#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | \
			      QCOW2_INCOMPAT_COMPRESSION)
#define QCOW2_COMPAT_LAZY (1ull << 0)
#define QCOW2_AUTOCLEAR_KNOWN 0ull             /* no bitmaps, no data file */

/* L1/L2 entries ("Cluster mapping") */
#define QCOW2_OFLAG_COPIED (1ull << 63)        /* refcount is exactly 1 */
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO (1ull << 0)           /* v3 standard clusters */
#define QCOW2_L1_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_L2_OFFSET_MASK 0x00fffffffffffe00ull

/* Limits against hostile images (QEMU uses the same orders of magnitude) */
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_RT_BYTES (8u << 20)
#define QCOW2_MAX_SNAPSHOTS 65536u
#define QCOW2_MAX_SNAP_TABLE (64u << 20)
#define QCOW2_MAX_SNAP_EXTRA 1024u
#define QCOW2_MAX_SIZE (1ull << 62)

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }
static inline void wbe16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static inline void wbe32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void wbe64(uint8_t *p, uint64_t v) { wbe32(p, v >> 32); wbe32(p + 4, (uint32_t)v); }

/* A small LRU of cluster-sized tables (L2 tables, refcount blocks). */
struct qcow2_cent {
	uint64_t off;   /* 0: empty slot */
	uint8_t *buf;
	bool dirty;
	uint64_t used;
};
struct qcow2_cache {
	struct qcow2_cent *e;
	unsigned n;
	uint64_t tick;
};

struct qcow2_ext {   /* an unknown header extension, kept as it is */
	uint32_t type, len;
	uint8_t *data;
};

struct qcow2_snap {
	uint64_t l1_offset;
	uint32_t l1_size;
	char *id, *name;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec, vm_state_size, disk_size;
	uint32_t extra_size;       /* as read (kept: at least 16 on write) */
	uint8_t *extra;            /* the extra data as read */
};

struct qcow2 {
	struct blk *b;
	uint32_t version;
	uint32_t cluster_bits, cluster_size;
	uint32_t l2_bits;          /* entries per L2 table: 1 << l2_bits */
	uint64_t size;
	uint32_t header_length;
	uint64_t incompat, compat, autoclear;
	uint8_t compression;       /* 0: zlib */

	uint64_t l1_offset;
	uint32_t l1_size;
	uint64_t *l1;              /* host order, l1_size entries */

	uint64_t rt_offset;
	uint32_t rt_clusters;
	uint64_t rt_size;          /* entries */
	uint64_t *rt;              /* host order */
	uint32_t refcount_order, refcount_bits;
	uint32_t rb_bits;          /* log2(refcounts per refcount block) */
	uint64_t refcount_max;

	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	struct qcow2_snap *snaps;

	char *backing_name, *backing_fmt;
	struct qcow2_ext *exts;
	unsigned n_exts;

	struct qcow2_cache l2c, rbc;
	bool rc_unsynced;          /* refcount increments not yet on disk */
	uint64_t free_hint;        /* first cluster that may be free */
	uint64_t alloc_end;        /* end of what this session allocated */
	/* Clusters whose refcount is already 1 on disk, not yet used:
	 * data allocations come from here so that a sequential write does
	 * one fdatasync per batch, not per cluster. */
	uint64_t pool_start, pool_n;
	/* compressed writes: next free byte in a partly used cluster (0: none) */
	uint64_t cbyte;
	/* decompressed cluster cache */
	uint64_t zcache_off;
	uint8_t *zcache;
	bool zcache_valid;
	bool lazy;                 /* lazy_refcounts in effect */
	/* preallocation=metadata seen (qcow2_block_status; checked once) */
	bool prealloc_checked, prealloc_metadata;
	bool dirty_on_disk;        /* the header's dirty bit is set */
	/* check --repair: clusters the allocator must not hand out */
	const uint32_t *avoid;
	uint64_t avoid_n;
};

static inline struct qcow2 *QCOW2(struct blk *b) { return b->opaque; }
static inline uint64_t qcow2_clusters(const struct qcow2 *q, uint64_t bytes)
{
	return (bytes + q->cluster_size - 1) >> q->cluster_bits;
}

/* qcow2.c */
int qcow2_write_header_field(struct qcow2 *q, unsigned off, const void *be, size_t len);
/* Point the header at a table just written to new clusters (its place and
 * size, big-endian, in be): the new clusters' refcounts reach the disk
 * before the header names them, and the header reaches it before the
 * caller frees the old table. */
int qcow2_switch_table(struct qcow2 *q, unsigned off, const void *be, size_t len);
int qcow2_write_header(struct qcow2 *q);
int qcow2_mark_dirty(struct qcow2 *q);
int qcow2_mark_clean(struct qcow2 *q);
int qcow2_flush(struct blk *b);
int qcow2_err(struct qcow2 *q, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* cache (qcow2-refcount.c) */
int qcow2_cache_init(struct qcow2_cache *c, unsigned n, uint32_t size);
void qcow2_cache_free(struct qcow2_cache *c);
int qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t off, bool fresh,
		    struct qcow2_cent **out);
int qcow2_cache_writeback(struct qcow2 *q, struct qcow2_cache *c);
void qcow2_cache_drop(struct qcow2_cache *c, uint64_t off);

/* qcow2-refcount.c */
int qcow2_rc_get(struct qcow2 *q, uint64_t cl, uint64_t *rc);
int qcow2_rc_update(struct qcow2 *q, uint64_t cl, int64_t delta);
int qcow2_alloc(struct qcow2 *q, uint64_t n, uint64_t *off);
int qcow2_free(struct qcow2 *q, uint64_t off, uint64_t len);
int qcow2_rc_commit(struct qcow2 *q);
int qcow2_pool_take(struct qcow2 *q, uint64_t n, uint64_t *off);
int qcow2_pool_release(struct qcow2 *q);
int qcow2_check(struct blk *b, int fix, struct blk_check *res);
int qcow2_check_quiet(struct qcow2 *q, int fix, struct blk_check *res, bool quiet);
uint64_t qcow2_rb_get(const uint8_t *blk, uint64_t i, unsigned order);
void qcow2_rb_set(uint8_t *blk, uint64_t i, unsigned order, uint64_t v);

/* qcow2-cluster.c */
int qcow2_preadv(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt, size_t len);
int qcow2_pwritev(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt, size_t len);
int qcow2_write_zeroes(struct blk *b, uint64_t off, uint64_t len, bool may_unmap);
int qcow2_discard(struct blk *b, uint64_t off, uint64_t len);
int qcow2_write_compressed(struct blk *b, uint64_t off, const void *buf, size_t len);
int qcow2_block_status(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum,
		       uint64_t *host);
int64_t qcow2_map(struct blk *b, uint64_t off, uint64_t len, bool write, uint64_t *host_off);
int qcow2_read_l2(struct qcow2 *q, uint64_t l2off, struct qcow2_cent **out);
int qcow2_compressed_span(const struct qcow2 *q, uint64_t entry, uint64_t *coff, uint64_t *csize);
/* Add delta to the refcount of every cluster the L1 table references
 * (L2 tables and data); with fix_copied, then set the COPIED flags of
 * l1 (the active table) and its L2 tables from the refcounts. */
int qcow2_update_l1_refs(struct qcow2 *q, uint64_t *l1, uint32_t l1_size, int delta,
			 bool fix_copied);
int qcow2_l1_needed(const struct qcow2 *q, uint64_t size, uint64_t *entries);
int qcow2_write_l1(struct qcow2 *q);
/* Does the L1 table name one L2 table twice (corrupt)? */
bool qcow2_l1_has_dups(const uint64_t *l1, uint32_t n);
/* Replace the active L1 table by a new one of n entries (host order; the
 * table is taken over): written at a new place, synced, then the header
 * points to it and the old one is freed. */
int qcow2_move_l1(struct qcow2 *q, uint64_t *l1, uint32_t n);

/* qcow2-snapshot.c */
int qcow2_read_snapshots(struct qcow2 *q);
uint64_t qcow2_snap_table_len(const struct qcow2 *q);
void qcow2_free_snapshots(struct qcow2 *q);
struct blk_snapshot *qcow2_snapshot_list(struct blk *b, unsigned *n);
int qcow2_snapshot_create(struct blk *b, const char *name);
int qcow2_snapshot_apply(struct blk *b, const char *name_or_id);
int qcow2_snapshot_delete(struct blk *b, const char *name_or_id);

/* qcow2-create.c */
int qcow2_create(const char *path, int fd, const struct blk_create_opts *o);
int qcow2_resize(struct blk *b, uint64_t new_size);
int qcow2_set_backing(struct blk *b, const char *backing, const char *fmt);

#endif
