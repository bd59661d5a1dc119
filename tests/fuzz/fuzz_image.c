/*
 * libFuzzer target for the image parsers (raw, qcow2): the input is an
 * image file.  It is opened read-only and walked (block status across the
 * disk, reads of what is allocated, the snapshot list, check without
 * repair), then a copy is opened read-write and written to (data, zeros,
 * discard, a compressed cluster, a snapshot, check with repair) so that
 * the allocation and metadata update paths see hostile tables too.
 *
 * Linked with the block layer and log.c only (tests/fuzz/fuzz.mk); the
 * image lives in a memfd, opened through /proc/self/fd/N.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include "block/block.h"
#include "mainloop.h"

/* aio.c registers its eventfd with the main loop; the fuzzer never
 * attaches an image, so these are never reached. */
int mainloop_add_fd(struct mainloop *l, int fd, uint32_t events, fd_handler cb, void *opaque)
{
	(void)l, (void)fd, (void)events, (void)cb, (void)opaque;
	return -1;
}

void mainloop_remove_fd(struct mainloop *l, int fd)
{
	(void)l, (void)fd;
}

#define MAX_INPUT (4u << 20)
#define MAX_STEPS 2048

static int image_fd(const uint8_t *data, size_t size, char *path, size_t pathlen)
{
	int fd = memfd_create("fuzz-image", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t done = 0;
	while (done < size) {
		ssize_t w = write(fd, data + done, size - done);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)w;
	}
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

static void walk(struct blk *b)
{
	static uint8_t buf[70000];
	uint64_t size = blk_size(b), off = 0;
	for (int steps = 0; off < size && steps < MAX_STEPS; steps++) {
		uint64_t pnum = 0;
		int st = blk_block_status(b, off, size - off, &pnum);
		if (st < 0 || pnum == 0)
			break;
		uint64_t n = pnum < sizeof(buf) ? pnum : sizeof(buf);
		if (blk_pread(b, off, buf, n) < 0)
			break;
		off += pnum;
	}
	/* a read across the end and odd offsets */
	if (size > 4096)
		blk_pread(b, size - 4000, buf, 4000);
	if (size > 70000)
		blk_pread(b, 513, buf, 70000);
	unsigned n = 0;
	free(blk_snapshot_list(b, &n));
	struct blk_info info;
	blk_get_info(b, &info);
}

/* Check walks every snapshot's tables: keep hostile snapshot counts from
 * turning a run into a timeout. */
static bool few_snapshots(struct blk *b)
{
	struct blk_info info;
	memset(&info, 0, sizeof(info));
	blk_get_info(b, &info);
	return info.nb_snapshots <= 16;
}

static void mutate(struct blk *b)
{
	static uint8_t buf[70000];
	uint64_t size = blk_size(b);
	uint32_t cs = blk_cluster_size(b);
	memset(buf, 0x5a, sizeof(buf));
	if (size > sizeof(buf)) {
		blk_pwrite(b, 100, buf, sizeof(buf));
		blk_pwrite(b, size / 2, buf, 1000);
		blk_pwrite(b, size - 512, buf, 512);
		blk_write_zeroes(b, size / 3, sizeof(buf), true);
		blk_write_zeroes(b, 0, 5000, false);
		blk_discard(b, 0, size < (1u << 20) ? size : (1u << 20));
		if (cs && cs <= sizeof(buf) && size > cs)
			blk_write_compressed(b, cs, buf, cs);
	}
	if (blk_snapshot_create(b, "fuzz") == 0) {
		blk_pwrite(b, 0, buf, 4096 < size ? 4096 : size);
		blk_snapshot_apply(b, "fuzz");
		blk_snapshot_delete(b, "fuzz");
	}
	unsigned n = 0;
	struct blk_snapshot *s = blk_snapshot_list(b, &n);
	if (s && n)
		blk_snapshot_delete(b, s[0].id);
	free(s);
	blk_flush(b);
	struct blk_check res;
	if (few_snapshots(b))
		blk_check(b, BLK_FIX_LEAKS | BLK_FIX_ERRORS, &res);
	walk(b);
}

/* Hostile tables can point writes anywhere: keep the image files (and
 * with them check's work) small; a write past the limit fails (EFBIG). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	struct rlimit r = { 64u << 20, 64u << 20 };
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &r);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		return 0;
	char path[64];
	int fd = image_fd(data, size, path, sizeof(path));
	if (fd < 0)
		return 0;
	struct blk_open_opts ro = { .readonly = true, .no_backing = true };
	struct blk *b = blk_open(path, &ro);
	if (b) {
		walk(b);
		struct blk_check res;
		if (few_snapshots(b))
			blk_check(b, 0, &res);
		blk_close(b);
	}
	close(fd);

	fd = image_fd(data, size, path, sizeof(path));
	if (fd < 0)
		return 0;
	struct blk_open_opts rw = { .no_backing = true, .cache = BLK_CACHE_UNSAFE };
	b = blk_open(path, &rw);
	if (b) {
		mutate(b);
		blk_close(b);
	}
	close(fd);
	return 0;
}
