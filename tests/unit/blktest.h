/* Helpers for the block layer's unit tests (test_block.c, test_blk_aio.c). */
#ifndef QVM_BLKTEST_H
#define QVM_BLKTEST_H

#include <stddef.h>
#include <stdint.h>

/* A path (unique to this test) in a private directory under /var/tmp (a
 * real disk file system, where O_DIRECT and holes work); the directory and
 * everything in it go when the runner exits.  Eight at a time. */
const char *blktest_path(const char *name);
/* A file of size bytes holding pattern(seed) (size 0: empty). */
int blktest_make_file(const char *path, size_t size, unsigned seed);
void blktest_pattern(void *buf, size_t len, uint64_t off, unsigned seed);
/* Capture stderr into a buffer between begin and end (end returns it, with
 * the count of lines in *lines). */
void blktest_stderr_begin(void);
const char *blktest_stderr_end(int *lines);

#endif
