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

#endif
