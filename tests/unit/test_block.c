/* The block layer's core and the raw format, through the synchronous API. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "unit.h"
#include "blktest.h"
#include "block/block-int.h"

/* qcow2 may not be linked in (see block.c). */

#define IMG_SIZE (3 * MiB)

static struct blk *open_raw(const char *path, bool ro, enum blk_cache cache)
{
	struct blk_open_opts o = { .format = "raw", .readonly = ro, .cache = cache };
	return blk_open(path, &o);
}

static bool is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Writes at odd offsets and lengths read back, and reach the file. */
static void roundtrip(enum blk_cache cache, bool *direct)
{
	const char *path = blktest_path("rt.raw");
	CHECK(blktest_make_file(path, IMG_SIZE, 1) == 0);
	struct blk *b = open_raw(path, false, cache);
	CHECK(b);
	*direct = b->direct;
	CHECK_EQ(blk_size(b), IMG_SIZE);
	CHECK(!strcmp(blk_format_name(b), "raw"));
	CHECK(!blk_is_readonly(b));
	uint8_t *ref = malloc(IMG_SIZE), *buf = malloc(IMG_SIZE);
	blktest_pattern(ref, IMG_SIZE, 0, 1);
	static const struct { uint64_t off; size_t len; } w[] = {
		{ 0, 512 }, { 1, 1 }, { 4095, 2 }, { 70000, 65536 + 3 },
		{ IMG_SIZE - 7, 7 }, { 300000, 200000 }, { 5, 2 * MiB + 1001 },
		{ 4096, 1 * MiB },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(w); i++) {
		blktest_pattern(ref + w[i].off, w[i].len, w[i].off, 100 + i);
		CHECK_EQ(blk_pwrite(b, w[i].off, ref + w[i].off, w[i].len), 0);
	}
	CHECK_EQ(blk_pread(b, 0, buf, IMG_SIZE), 0);
	CHECK(!memcmp(buf, ref, IMG_SIZE));
	/* A vector with odd pieces. */
	struct iovec v[3] = { { buf, 3 }, { buf + 100, 1000 }, { buf + 5000, 517 } };
	CHECK_EQ(blk_preadv(b, 77, v, 3), 0);
	CHECK(!memcmp(buf, ref + 77, 3));
	CHECK(!memcmp(buf + 100, ref + 80, 1000));
	CHECK(!memcmp(buf + 5000, ref + 1080, 517));
	CHECK_EQ(blk_flush(b), 0);
	blk_close(b);
	/* What the file holds now, read plainly. */
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, buf, IMG_SIZE, 0), IMG_SIZE);
	close(fd);
	CHECK(!memcmp(buf, ref, IMG_SIZE));
	struct stat st;
	CHECK(stat(path, &st) == 0);
	CHECK_EQ(st.st_size, IMG_SIZE);
	free(ref);
	free(buf);
}

TEST(blk_sync_roundtrip)
{
	bool direct;
	roundtrip(BLK_CACHE_WRITEBACK, &direct);
}

TEST(blk_sync_roundtrip_direct)
{
	bool direct = false;
	roundtrip(BLK_CACHE_NONE, &direct);
	if (!direct)
		SKIP("O_DIRECT refused by the file system of /var/tmp");
}

/* O_DIRECT writes at the unaligned end of a file keep its size. */
TEST(blk_direct_unaligned_tail)
{
	const char *path = blktest_path("tail.raw");
	CHECK(blktest_make_file(path, 1000, 2) == 0);
	struct blk *b = open_raw(path, false, BLK_CACHE_NONE);
	CHECK(b);
	if (!b->direct) {
		blk_close(b);
		SKIP("O_DIRECT refused by the file system of /var/tmp");
	}
	CHECK_EQ(blk_size(b), 1000);
	uint8_t ref[1000], buf[1000];
	blktest_pattern(ref, 1000, 0, 2);
	memset(ref + 990, 0x5a, 10);
	CHECK_EQ(blk_pwrite(b, 990, ref + 990, 10), 0);
	CHECK_EQ(blk_pread(b, 0, buf, 1000), 0);
	CHECK(!memcmp(buf, ref, 1000));
	blk_close(b);
	struct stat st;
	CHECK(stat(path, &st) == 0);
	CHECK_EQ(st.st_size, 1000);
}

TEST(blk_range_errors)
{
	const char *path = blktest_path("range.raw");
	CHECK(blktest_make_file(path, 8192, 3) == 0);
	struct blk *b = open_raw(path, false, BLK_CACHE_WRITEBACK);
	CHECK(b);
	uint8_t buf[16];
	CHECK_EQ(blk_pread(b, 8192 - 8, buf, 8), 0);
	CHECK_EQ(blk_pread(b, 8192 - 8, buf, 9), -EINVAL);
	CHECK_EQ(blk_pread(b, 8193, buf, 0), -EINVAL);
	CHECK_EQ(blk_pread(b, UINT64_MAX - 2, buf, 8), -EINVAL);
	CHECK_EQ(blk_pwrite(b, 8190, buf, 16), -EINVAL);
	CHECK_EQ(blk_write_zeroes(b, 4096, 8192, false), -EINVAL);
	CHECK_EQ(blk_discard(b, UINT64_MAX, 2), -EINVAL);
	uint64_t pnum = 99;
	CHECK_EQ(blk_block_status(b, 8192, 1, &pnum), -EINVAL);
	CHECK_EQ(pnum, 0);
	blk_close(b);
}

TEST(blk_readonly)
{
	const char *path = blktest_path("ro.raw");
	CHECK(blktest_make_file(path, 8192, 4) == 0);
	CHECK(chmod(path, 0444) == 0);
	struct blk *b = open_raw(path, true, BLK_CACHE_WRITEBACK);
	CHECK(b);
	CHECK(blk_is_readonly(b));
	uint8_t buf[512], ref[512];
	blktest_pattern(ref, 512, 512, 4);
	CHECK_EQ(blk_pread(b, 512, buf, 512), 0);
	CHECK(!memcmp(buf, ref, 512));
	CHECK_EQ(blk_pwrite(b, 0, buf, 512), -EROFS);
	CHECK_EQ(blk_write_zeroes(b, 0, 512, true), -EROFS);
	CHECK_EQ(blk_discard(b, 0, 512), -EROFS);
	CHECK_EQ(blk_resize(b, 4096), -EROFS);
	CHECK_EQ(blk_flush(b), 0);
	blk_close(b);
}

static void open_error(const char *path, const char *format, const char *want)
{
	struct blk_open_opts o = { .format = format };
	int lines;
	blktest_stderr_begin();
	struct blk *b = blk_open(path, &o);
	const char *err = blktest_stderr_end(&lines);
	CHECK(b == NULL);
	CHECK_EQ(lines, 1);
	CHECK(!strncmp(err, "qvm: ", 5));
	CHECK(strstr(err, path));
	CHECK(strstr(err, want));
}

TEST(blk_open_errors)
{
	open_error(blktest_path("missing.raw"), NULL, "No such file");
	const char *dir = blktest_path("adir");
	CHECK(mkdir(dir, 0755) == 0);
	open_error(dir, NULL, "directory");
	open_error(dir, "raw", "directory");
	const char *path = blktest_path("fmt.raw");
	CHECK(blktest_make_file(path, 4096, 5) == 0);
	open_error(path, "vmdk", "unknown format 'vmdk' (supported: ");
	open_error(path, "vmdk", "raw");
}

TEST(blk_raw_write_zeroes_and_discard)
{
	const char *path = blktest_path("zero.raw");
	CHECK(blktest_make_file(path, IMG_SIZE, 6) == 0);
	struct blk *b = open_raw(path, false, BLK_CACHE_WRITEBACK);
	CHECK(b);
	uint8_t *buf = malloc(IMG_SIZE), *ref = malloc(IMG_SIZE);
	blktest_pattern(ref, IMG_SIZE, 0, 6);
	CHECK_EQ(blk_write_zeroes(b, 100, 5000, false), 0);
	memset(ref + 100, 0, 5000);
	CHECK_EQ(blk_write_zeroes(b, 65536, 131072, true), 0);
	memset(ref + 65536, 0, 131072);
	CHECK_EQ(blk_discard(b, 524288, 65536), 0);
	memset(ref + 524288, 0, 65536);
	CHECK_EQ(blk_pread(b, 0, buf, IMG_SIZE), 0);
	CHECK(!memcmp(buf, ref, IMG_SIZE));
	CHECK(is_zero(buf + 65536, 131072));
	blk_close(b);
	free(buf);
	free(ref);
}

TEST(blk_raw_block_status_sparse)
{
	const char *path = blktest_path("sparse.raw");
	CHECK(blktest_make_file(path, 0, 0) == 0);
	CHECK(truncate(path, IMG_SIZE) == 0);
	struct blk *b = open_raw(path, false, BLK_CACHE_WRITEBACK);
	CHECK(b);
	uint8_t data[65536];
	blktest_pattern(data, sizeof(data), 0, 7);
	CHECK_EQ(blk_pwrite(b, 256 * KiB, data, sizeof(data)), 0);
	uint64_t pnum;
	int st = blk_block_status(b, 0, IMG_SIZE, &pnum);
	if (st == (BLK_ST_DATA | BLK_ST_ALLOCATED) && pnum == IMG_SIZE) {
		blk_close(b);
		SKIP("no SEEK_DATA/SEEK_HOLE on /var/tmp");
	}
	CHECK_EQ(st, BLK_ST_ZERO | BLK_ST_ALLOCATED);
	CHECK_EQ(pnum, 256 * KiB);
	st = blk_block_status(b, 256 * KiB, IMG_SIZE, &pnum);
	CHECK_EQ(st, BLK_ST_DATA | BLK_ST_ALLOCATED);
	CHECK_EQ(pnum, 64 * KiB);
	st = blk_block_status(b, 256 * KiB + 100, 1000, &pnum);
	CHECK_EQ(st, BLK_ST_DATA | BLK_ST_ALLOCATED);
	CHECK_EQ(pnum, 1000);
	st = blk_block_status(b, 320 * KiB, IMG_SIZE, &pnum);
	CHECK_EQ(st, BLK_ST_ZERO | BLK_ST_ALLOCATED);
	CHECK_EQ(pnum, IMG_SIZE - 320 * KiB);   /* clamped to the size */
	blk_close(b);
}

TEST(blk_raw_resize)
{
	const char *path = blktest_path("resize.raw");
	CHECK(blktest_make_file(path, 8192, 8) == 0);
	struct blk *b = open_raw(path, false, BLK_CACHE_WRITEBACK);
	CHECK(b);
	CHECK_EQ(blk_resize(b, 20000), 0);
	CHECK_EQ(blk_size(b), 20000);
	uint8_t buf[20000], ref[8192];
	CHECK_EQ(blk_pread(b, 0, buf, 20000), 0);
	blktest_pattern(ref, 8192, 0, 8);
	CHECK(!memcmp(buf, ref, 8192));
	CHECK(is_zero(buf + 8192, 20000 - 8192));
	CHECK_EQ(blk_resize(b, 4096), 0);
	CHECK_EQ(blk_size(b), 4096);
	CHECK_EQ(blk_pread(b, 4000, buf, 97), -EINVAL);
	blk_close(b);
	struct stat st;
	CHECK(stat(path, &st) == 0);
	CHECK_EQ(st.st_size, 4096);
}

static void create_raw(const char *prealloc, uint64_t size, int want, uint64_t min_blocks)
{
	const char *path = blktest_path("create.raw");
	struct blk_create_opts o = { .format = "raw", .size = size, .preallocation = prealloc };
	int lines;
	blktest_stderr_begin();
	int r = blk_create(path, &o);
	blktest_stderr_end(&lines);
	CHECK_EQ(r, want);
	CHECK_EQ(lines, want ? 1 : 0);
	if (want)
		return;
	struct stat st;
	CHECK(stat(path, &st) == 0);
	CHECK_EQ(st.st_size, size);
	CHECK((uint64_t)st.st_blocks * 512 >= min_blocks);
	struct blk *b = open_raw(path, true, BLK_CACHE_WRITEBACK);
	CHECK(b);
	CHECK_EQ(blk_size(b), size);
	struct blk_info info;
	CHECK_EQ(blk_get_info(b, &info), 0);
	CHECK(!strcmp(info.format, "raw"));
	CHECK_EQ(info.virtual_size, size);
	CHECK_EQ(info.disk_size, (uint64_t)st.st_blocks * 512);
	uint8_t buf[4096];
	CHECK_EQ(blk_pread(b, size - 4096, buf, 4096), 0);
	CHECK(is_zero(buf, 4096));
	blk_close(b);
	unlink(path);
}

TEST(blk_raw_create_preallocation)
{
	create_raw(NULL, 2 * MiB, 0, 0);
	create_raw("off", 2 * MiB, 0, 0);
	create_raw("falloc", 2 * MiB, 0, 2 * MiB);
	create_raw("full", 2 * MiB + 512, 0, 2 * MiB + 512);
	create_raw("metadata", 2 * MiB, -1, 0);
	create_raw("bogus", 2 * MiB, -1, 0);
	struct blk_create_opts o = { .format = "vmdk", .size = 4096 };
	int lines;
	blktest_stderr_begin();
	CHECK_EQ(blk_create(blktest_path("x.vmdk"), &o), -1);
	blktest_stderr_end(&lines);
	CHECK_EQ(lines, 1);
}

/* A file too short for a header is raw, whatever it holds. */
TEST(blk_probe_small_files)
{
	const char *path = blktest_path("small");
	CHECK(blktest_make_file(path, 3, 9) == 0);
	struct blk *b = blk_open(path, NULL);
	CHECK(b);
	CHECK(!strcmp(blk_format_name(b), "raw"));
	CHECK_EQ(blk_size(b), 3);
	blk_close(b);
	CHECK(blktest_make_file(path, 0, 9) == 0);
	b = blk_open(path, NULL);
	CHECK(b);
	CHECK_EQ(blk_size(b), 0);
	blk_close(b);
}

TEST(blk_iov_helpers)
{
	uint8_t a[5], b[3], c[7], src[15], dst[15];
	for (int i = 0; i < 15; i++)
		src[i] = (uint8_t)(i + 1);
	struct iovec v[4] = { { a, 5 }, { NULL, 0 }, { b, 3 }, { c, 7 } };
	CHECK_EQ(iov_size(v, 4), 15);
	CHECK_EQ(iov_from_buf(v, 4, 0, src, 15), 15);
	CHECK_EQ(a[0], 1);
	CHECK_EQ(b[0], 6);
	CHECK_EQ(c[6], 15);
	CHECK_EQ(iov_to_buf(v, 4, 4, dst, 100), 11);
	CHECK(!memcmp(dst, src + 4, 11));
	iov_memset(v, 4, 6, 0, 3);
	CHECK_EQ(b[0], 6);
	CHECK_EQ(b[1], 0);
	CHECK_EQ(c[0], 0);
	CHECK_EQ(c[1], 10);
	struct iovec out[4];
	int n = iov_slice(v, 4, 4, 5, out, 4);
	CHECK_EQ(n, 3);
	CHECK(out[0].iov_base == a + 4 && out[0].iov_len == 1);
	CHECK(out[1].iov_base == b && out[1].iov_len == 3);
	CHECK(out[2].iov_base == c && out[2].iov_len == 1);
	CHECK_EQ(iov_slice(v, 4, 0, 15, out, 2), -1);
	CHECK_EQ(iov_slice(v, 4, 15, 0, out, 4), 0);
}

/* ---- backing chains and snapshot=on (they need the qcow2 driver) ---- */

static void snapshot_on(enum blk_cache cache)
{
	const char *path = blktest_path("snap.raw");
	CHECK(blktest_make_file(path, 256 * KiB, 11) == 0);
	char tmpdir[512];
	snprintf(tmpdir, sizeof(tmpdir), "%s", blktest_path("snapdir"));
	CHECK(mkdir(tmpdir, 0755) == 0);
	setenv("TMPDIR", tmpdir, 1);
	struct blk_open_opts o = { .snapshot = true, .cache = cache };
	struct blk *b = blk_open(path, &o);
	CHECK(b);
	CHECK_EQ(blk_size(b), 256 * KiB);
	CHECK(!strcmp(blk_format_name(b), "qcow2"));
	CHECK(blk_backing(b) && blk_is_readonly(blk_backing(b)));
	uint8_t ref[256 * KiB], buf[256 * KiB];
	blktest_pattern(ref, sizeof(ref), 0, 11);
	uint8_t w[5000];
	blktest_pattern(w, sizeof(w), 1, 12);
	CHECK_EQ(blk_pwrite(b, 70000, w, sizeof(w)), 0);
	CHECK_EQ(blk_pread(b, 0, buf, sizeof(buf)), 0);
	CHECK(!memcmp(buf, ref, 70000));
	CHECK(!memcmp(buf + 70000, w, sizeof(w)));
	CHECK(!memcmp(buf + 75000, ref + 75000, sizeof(buf) - 75000));
	CHECK(rmdir(tmpdir) == 0);      /* the overlay is already unlinked */
	blk_close(b);
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, buf, sizeof(buf), 0), sizeof(buf));
	close(fd);
	CHECK(!memcmp(buf, ref, sizeof(buf)));   /* untouched */
}

TEST(blk_snapshot_on)
{
	snapshot_on(BLK_CACHE_WRITEBACK);
}

TEST(blk_snapshot_on_direct)
{
	snapshot_on(BLK_CACHE_NONE);
}

static int make_qcow2(const char *path, const char *backing, uint64_t size)
{
	struct blk_create_opts o = {
		.format = "qcow2", .size = size, .backing = backing,
		.backing_fmt = backing ? "qcow2" : NULL,
	};
	return blk_create(path, &o);
}

TEST(blk_backing_chain_loop)
{
	char a[512], bb[512];
	snprintf(a, sizeof(a), "%s", blktest_path("a.qcow2"));
	snprintf(bb, sizeof(bb), "%s", blktest_path("b.qcow2"));
	CHECK_EQ(make_qcow2(bb, NULL, 1 * MiB), 0);
	CHECK_EQ(make_qcow2(a, strrchr(bb, '/') + 1, 1 * MiB), 0);
	/* A chain that works: a reads through to b. */
	struct blk *b = blk_open(a, NULL);
	CHECK(b);
	CHECK(blk_backing(b) != NULL);
	CHECK_EQ(blk_backing(b)->depth, 1);
	blk_close(b);
	/* b now names a: a loop. */
	struct blk_open_opts nb = { .no_backing = true };
	b = blk_open(bb, &nb);
	CHECK(b);
	CHECK_EQ(blk_set_backing(b, strrchr(a, '/') + 1, "qcow2"), 0);
	blk_close(b);
	int lines;
	blktest_stderr_begin();
	b = blk_open(a, NULL);
	const char *err = blktest_stderr_end(&lines);
	CHECK(!b);
	CHECK_EQ(lines, 1);
	CHECK(strstr(err, "loops back to"));
	/* An image that is its own backing file. */
	b = blk_open(a, &nb);
	CHECK(b);
	CHECK_EQ(blk_set_backing(b, strrchr(a, '/') + 1, "qcow2"), 0);
	blk_close(b);
	blktest_stderr_begin();
	b = blk_open(a, NULL);
	err = blktest_stderr_end(&lines);
	CHECK(!b);
	CHECK_EQ(lines, 1);
	CHECK(strstr(err, "loops back to"));
}

TEST(blk_backing_chain_too_long)
{
	char prev[64] = "", top[512] = "";
	for (int i = 0; i <= BLK_MAX_CHAIN; i++) {
		char name[32];
		snprintf(name, sizeof(name), "c%d.qcow2", i);
		snprintf(top, sizeof(top), "%s", blktest_path(name));
		CHECK_EQ(make_qcow2(top, i ? prev : NULL, 64 * KiB), 0);
		snprintf(prev, sizeof(prev), "%s", strrchr(top, '/') + 1);
	}
	int lines;
	blktest_stderr_begin();
	struct blk *b = blk_open(top, NULL);
	const char *err = blktest_stderr_end(&lines);
	CHECK(!b);
	CHECK_EQ(lines, 1);
	CHECK(strstr(err, "backing chain"));
}
