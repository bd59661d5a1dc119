/*
 * Private to the block layer's core (block.c, file.c, aio.c, raw.c): what
 * the drivers' interface (block-int.h) does not need to show.
 */
#ifndef QVM_BLOCK_CORE_H
#define QVM_BLOCK_CORE_H

#include "block-int.h"

/* Write zeros over the range (no deallocation). */
int blk_file_zero(struct blk *b, uint64_t off, uint64_t len);
/* The driver's preadv under b->lock, with len bytes of the vector. */
int blk_locked_preadv(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt,
		      size_t len);
/* Around an operation that invalidates mappings (discard, write_zeroes,
 * resize, snapshot apply/delete): waits until no direct (libaio) request
 * is in flight and holds new ones back until the matching end.  Does
 * nothing before blk_attach. */
void blk_aio_quiesce_begin(struct blk *b);
void blk_aio_quiesce_end(struct blk *b);
/* Whether buffered reads on libaio go in with RWF_NOWAIT (false: O_DIRECT,
 * the thread pool, or a kernel that refused it), and how many of them
 * stopped short of the page cache so far and were finished by the pool
 * (tests). */
bool blk_aio_nowait(const struct blk *b, unsigned long *misses);

/* foreign.c: the name of the format whose magic the image's first bytes
 * carry when qvm does not read that format ("vmdk", "vdi", ...), else
 * NULL. */
const char *blk_probe_foreign(const uint8_t *buf, size_t len);

/* lock.c: take the locks of an open of b (b->fd, readonly, filename set)
 * that shares as share says; metadata: the format keeps metadata in the
 * file (qcow2).  0, or -1 after one line naming the conflict. */
int blk_lock_image(struct blk *b, enum blk_share share, bool metadata);
/* The share a backing file is opened with under an overlay opened with s. */
enum blk_share blk_backing_share(enum blk_share s);
/* The locks themselves: perm held, shared by others (BLK_PERM_*); path
 * names the image in messages. */
int blk_lock_fd(int fd, unsigned perm, unsigned shared, const char *path);
void blk_unlock_fd(int fd);

#endif
