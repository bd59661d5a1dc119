/*
 * qvm-img, the image tool: one file per command group, all of them working
 * through the public block API (block/block.h) only.  Options, output
 * fields and exit codes follow qemu-img 7.2 where it has them.
 */
#ifndef QVM_IMG_H
#define QVM_IMG_H

#include <stdio.h>
#include "block/block.h"

#define IMG_PROG "qvm-img"

/* One line "qvm-img: <message>" on stderr. */
void img_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A failed block-layer call (r a negative errno): "qvm-img: <message>:
 * <strerror>", except for -EIO, which the block layer reports itself (an
 * image problem, one line naming the file), so that each failure is one
 * line. */
void img_io_error(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "1G", "512M", "4k", "1.5G", "1073741824": bytes.  0 or -1 (no message). */
int img_parse_size(const char *s, uint64_t *out);
/* img_parse_size with qemu-img's message on failure. */
int img_parse_size_or_error(const char *s, uint64_t *out);
/* Up to a whole number of 512-byte sectors, as qemu-img sizes images. */
static inline uint64_t img_round_sector(uint64_t size)
{
	return size > UINT64_MAX - (BLK_SECTOR - 1) ? size & ~(uint64_t)(BLK_SECTOR - 1)
						    : (size + BLK_SECTOR - 1) & ~(uint64_t)(BLK_SECTOR - 1);
}
/* "1 GiB", "196 KiB", "1.02 MiB" (three significant digits, as qemu-img). */
void img_size_str(uint64_t v, char *buf, size_t len);
/* Known formats: "raw", "qcow2"; -1 with a message for others. */
int img_check_format(const char *fmt);

/* Open with a message on failure (the block layer prints it).  share: what
 * other processes may do meanwhile (image locking, block.h); BLK_SHARE_ALL
 * (-U) with a writable open is refused as qemu-img refuses it. */
struct blk *img_open(const char *path, const char *fmt, bool readonly, bool no_backing,
		     enum blk_cache cache, enum blk_share share);
/* The share of a read-only inspection: -U (force_share) or not. */
static inline enum blk_share img_inspect_share(bool force_share)
{
	return force_share ? BLK_SHARE_ALL : BLK_SHARE_INSPECT;
}

/* Apply "key=val,key=val" to o (create, convert -o); -1 with a message.
 * "help" prints the options and sets *help. */
int img_parse_create_opts(const char *list, struct blk_create_opts *o, bool *help,
			  const char *file);
/* The "Formatting 'f', fmt=..." line as qemu-img prints it. */
void img_print_formatting(const char *file, const struct blk_create_opts *o);
/* Create with the block layer (error message from there). */
int img_create_image(const char *file, const struct blk_create_opts *o, bool quiet);

/* The path to open a backing file named in the image at img_path by: as is
 * when absolute or the image has no directory part, else relative to the
 * image's directory.  Malloc'ed. */
char *img_backing_path(const char *img_path, const char *backing);

/* A progress bar as qemu-img -p draws it, on stderr. */
struct img_progress {
	bool on;
	double last;
};
void img_progress_start(struct img_progress *p, bool on);
void img_progress_update(struct img_progress *p, uint64_t done, uint64_t total);
void img_progress_end(struct img_progress *p);

/* A buffer aligned for O_DIRECT (free with free()); exits on failure. */
void *img_alloc(size_t len);
bool img_is_zero(const void *buf, size_t len);

/* blk_block_status resolved down the backing chain: an answer with neither
 * BLK_ST_DATA nor BLK_ST_ZERO (unallocated here, the backing file decides)
 * is asked of the backing file; at the bottom it reads as zeros.
 * BLK_ST_ALLOCATED stays the top image's. */
int img_block_status(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum);

/* The status of [off, off+len) through the whole backing chain, as QEMU
 * reports it to qemu-img map, compare and measure. */
#define IMG_ST_EOF 0x100        /* the run reaches the end of the top image */
struct img_status {
	int flags;              /* BLK_ST_* of the layer that decides (with
				 * BLK_ST_OFFSET_VALID: host), ALLOCATED when
				 * any layer does, IMG_ST_EOF */
	uint64_t len;           /* bytes this answer holds for (>= 1) */
	int depth;              /* layers below the top image to that layer */
	bool present;           /* that layer itself allocates the run */
	uint64_t host;          /* offset in that layer's file */
	struct blk *layer;
};
int img_chain_status(struct blk *top, uint64_t off, uint64_t len, struct img_status *s);
/* The size qemu-img sees: whole sectors. */
static inline uint64_t img_disk_size(struct blk *b)
{
	return img_round_sector(blk_size(b));
}
/* blk_pread, with zeros past blk_size up to img_disk_size. */
int img_pread(struct blk *b, uint64_t off, void *buf, uint64_t len);

/* getopt_long reset for each command; img_bad_option reports what
 * getopt_long returned for a bad option ('?' or ':'), returning 1. */
int img_bad_option(int c, char **argv);
void img_getopt_reset(void);
/* "Try 'qvm-img --help' ..." usage error: message, exit status 1. */
int img_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* -t CACHE (qemu-img's names: none/directsync, writeback/writethrough,
 * unsafe) and --output=human|json: 0, or 1 after a usage error. */
int img_parse_cache(const char *arg, enum blk_cache *cache);
int img_parse_output(const char *arg, bool *json);

/* The snapshot table as qemu-img prints it (ID, TAG, VM SIZE ...). */
void img_print_snapshot_table(const struct blk_snapshot *sn, unsigned n);

int img_create(int argc, char **argv);
int img_info(int argc, char **argv);
int img_check(int argc, char **argv);
int img_convert(int argc, char **argv);
int img_commit(int argc, char **argv);
int img_rebase(int argc, char **argv);
int img_resize(int argc, char **argv);
int img_snapshot(int argc, char **argv);
int img_bench(int argc, char **argv);
int img_compare(int argc, char **argv);
int img_map(int argc, char **argv);
int img_measure(int argc, char **argv);

#endif
