/*
 * The qcow2 driver (user/block/qcow2*.c): round trips in both versions and
 * several cluster sizes, backing files, compressed clusters, snapshots,
 * refcount widths, hostile images and kill safety, checked against
 * qemu-img (qemu-utils) where it is installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "unit.h"
#include "blktest.h"
#include "block/block.h"
#include "block/qcow2.h"

static bool have_qemu_img(void)
{
	return system("qemu-img --version >/dev/null 2>&1") == 0;
}

/* Run a shell command; its exit status (-1 if it did not exit). */
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int qemu_check(const char *path)
{
	return sh("qemu-img check -q %s >/dev/null 2>&1", path);
}

static struct blk *open_rw(const char *path)
{
	struct blk_open_opts o = { .format = "qcow2" };
	return blk_open(path, &o);
}

static int create(const char *path, uint64_t size, uint32_t cs, int compat, uint32_t rbits,
		  const char *backing, const char *bfmt)
{
	struct blk_create_opts o = { .format = "qcow2", .size = size, .cluster_size = cs,
				     .compat = compat, .refcount_bits = rbits,
				     .backing = backing, .backing_fmt = bfmt };
	return blk_create(path, &o);
}

/* Compare the whole disk with shadow. */
static bool same(struct blk *b, const uint8_t *shadow, size_t size)
{
	uint8_t *buf = malloc(size);
	bool ok = buf && blk_pread(b, 0, buf, size) == 0 && !memcmp(buf, shadow, size);
	free(buf);
	return ok;
}

/* A raw file's contents equal shadow. */
static bool file_is(const char *path, const uint8_t *shadow, size_t size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	uint8_t *buf = malloc(size + 1);
	size_t n = fread(buf, 1, size + 1, f);
	fclose(f);
	bool ok = n == size && !memcmp(buf, shadow, size);
	free(buf);
	return ok;
}

static void random_writes(struct blk *b, uint8_t *shadow, size_t size, unsigned seed, int n)
{
	srand(seed);
	uint8_t *buf = malloc(200000);
	for (int i = 0; i < n; i++) {
		size_t len = 1 + (size_t)rand() % (i % 4 == 0 ? 200000 : 9000);
		size_t off = (size_t)rand() % (size - 1);
		if (off + len > size)
			len = size - off;
		blktest_pattern(buf, len, off, seed + (unsigned)i);
		if (blk_pwrite(b, off, buf, len))
			break;
		memcpy(shadow + off, buf, len);
	}
	free(buf);
}

static void roundtrip(int compat, uint32_t cs, uint32_t rbits)
{
	if (!have_qemu_img())
		SKIP("qemu-img is not installed");
	const char *p = blktest_path("rt.qcow2"), *raw = blktest_path("rt.raw");
	size_t size = 5 * 1048576 + 1536;
	CHECK(create(p, size, cs, compat, rbits, NULL, NULL) == 0);
	CHECK_EQ(qemu_check(p), 0);
	struct blk *b = open_rw(p);
	CHECK(b);
	CHECK_EQ(blk_size(b), size);
	uint8_t *shadow = calloc(1, size);
	CHECK(same(b, shadow, size));
	random_writes(b, shadow, size, cs + (unsigned)compat, 40);
	CHECK(same(b, shadow, size));
	CHECK(blk_write_zeroes(b, 4096 * 3 + 17, 300000, true) == 0);
	memset(shadow + 4096 * 3 + 17, 0, 300000);
	CHECK(blk_discard(b, 2 * 1048576, 2 * 1048576) == 0);
	memset(shadow + 2 * 1048576, 0, 2 * 1048576);   /* whole clusters, no backing: zeros */
	CHECK(same(b, shadow, size));
	blk_close(b);
	CHECK_EQ(qemu_check(p), 0);
	b = open_rw(p);
	CHECK(b);
	CHECK(same(b, shadow, size));
	struct blk_check r;
	CHECK(blk_check(b, 0, &r) == 0);
	CHECK_EQ(r.corruptions + r.leaks, 0);
	blk_close(b);
	CHECK_EQ(sh("qemu-img convert -O raw %s %s", p, raw), 0);
	CHECK(file_is(raw, shadow, size));
	free(shadow);
}

TEST(qcow2_roundtrip_v3_64k) { roundtrip(3, 65536, 16); }
TEST(qcow2_roundtrip_v2_64k) { roundtrip(2, 65536, 16); }
TEST(qcow2_roundtrip_v3_512) { roundtrip(3, 512, 16); }
TEST(qcow2_roundtrip_v2_4k) { roundtrip(2, 4096, 16); }
TEST(qcow2_roundtrip_v3_2m) { roundtrip(3, 2 << 20, 16); }
TEST(qcow2_roundtrip_refcount1) { roundtrip(3, 4096, 1); }
TEST(qcow2_roundtrip_refcount64) { roundtrip(3, 4096, 64); }
TEST(qcow2_roundtrip_refcount8_512) { roundtrip(3, 512, 8); }

TEST(qcow2_info_fields)
{
	if (!have_qemu_img())
		SKIP("qemu-img is not installed");
	const char *p = blktest_path("info.qcow2"), *out = blktest_path("info.txt");
	struct blk_create_opts o = { .format = "qcow2", .size = 1 << 24, .cluster_size = 4096,
				     .lazy_refcounts = true, .refcount_bits = 32 };
	CHECK(blk_create(p, &o) == 0);
	CHECK_EQ(sh("qemu-img info %s > %s", p, out), 0);
	CHECK_EQ(sh("grep -q 'virtual size: 16 MiB' %s", out), 0);
	CHECK_EQ(sh("grep -q 'cluster_size: 4096' %s", out), 0);
	CHECK_EQ(sh("grep -q 'lazy refcounts: true' %s", out), 0);
	CHECK_EQ(sh("grep -q 'refcount bits: 32' %s", out), 0);
	CHECK_EQ(sh("grep -q 'compat: 1.1' %s", out), 0);
	struct blk *b = open_rw(p);
	CHECK(b);
	struct blk_info i;
	CHECK(blk_get_info(b, &i) == 0);
	CHECK_EQ(i.cluster_size, 4096);
	CHECK_EQ(i.refcount_bits, 32);
	CHECK(i.lazy_refcounts);
	uint8_t buf[5000];
	blktest_pattern(buf, sizeof(buf), 0, 9);
	CHECK(blk_pwrite(b, 123, buf, sizeof(buf)) == 0);
	CHECK(blk_get_info(b, &i) == 0);
	CHECK(i.dirty);                        /* lazy refcounts: dirty while written */
	blk_close(b);
	CHECK_EQ(qemu_check(p), 0);
	CHECK_EQ(sh("qemu-img info %s | grep -q 'corrupt: false'", p), 0);
}

TEST(qcow2_preallocation)
{
	if (!have_qemu_img())
		SKIP("qemu-img is not installed");
	const char *modes[] = { "metadata", "falloc", "full" };
	for (int m = 0; m < 3; m++) {
		const char *p = blktest_path("prealloc.qcow2");
		struct blk_create_opts o = { .format = "qcow2", .size = 3 << 20, .cluster_size = 65536,
					     .preallocation = modes[m] };
		CHECK(blk_create(p, &o) == 0);
		CHECK_EQ(qemu_check(p), 0);
		struct blk *b = open_rw(p);
		CHECK(b);
		uint64_t pnum;
		CHECK_EQ(blk_block_status(b, 0, 3 << 20, &pnum) & BLK_ST_ALLOCATED, BLK_ST_ALLOCATED);
		uint8_t *z = calloc(1, 3 << 20);
		CHECK(same(b, z, 3 << 20));
		free(z);
		blk_close(b);
	}
}

static void backing_test(const char *base_fmt)
{
	if (!have_qemu_img())
		SKIP("qemu-img is not installed");
	const char *base = blktest_path("base.img"), *top = blktest_path("top.qcow2");
	const char *raw = blktest_path("top.raw");
	size_t size = 3 * 1048576;
	uint8_t *shadow = malloc(size);
	blktest_pattern(shadow, size, 0, 77);
	CHECK(blktest_make_file(raw, size, 77) == 0);
	if (!strcmp(base_fmt, "qcow2"))
		CHECK_EQ(sh("qemu-img convert -f raw -O qcow2 -o cluster_size=4096 %s %s", raw, base), 0);
	else
		CHECK(blktest_make_file(base, size, 77) == 0);
	CHECK(create(top, 0, 65536, 3, 16, base, base_fmt) == 0);
	struct blk *b = open_rw(top);
	CHECK(b);
	CHECK_EQ(blk_size(b), size);
	CHECK(blk_backing(b));
	CHECK(same(b, shadow, size));
	random_writes(b, shadow, size, 5, 20);
	CHECK(same(b, shadow, size));
	/* v3 write_zeroes over the backing file: zero clusters */
	CHECK(blk_write_zeroes(b, 65536 * 7 + 100, 200000, false) == 0);
	memset(shadow + 65536 * 7 + 100, 0, 200000);
	CHECK(same(b, shadow, size));
	uint64_t pnum;
	int st = blk_block_status(b, 65536 * 8, 65536, &pnum);
	CHECK(st >= 0 && (st & BLK_ST_ZERO));
	blk_close(b);
	CHECK_EQ(qemu_check(top), 0);
	CHECK_EQ(sh("qemu-img convert -O raw %s %s", top, raw), 0);
	CHECK(file_is(raw, shadow, size));
	CHECK_EQ(sh("qemu-img info %s | grep -q 'backing file format: %s'", top, base_fmt), 0);
	free(shadow);
}

TEST(qcow2_backing_raw) { backing_test("raw"); }
TEST(qcow2_backing_qcow2) { backing_test("qcow2"); }

TEST(qcow2_v2_backing_zeroes_allocate)
{
	if (!have_qemu_img())
		SKIP("qemu-img is not installed");
	const char *base = blktest_path("b2.raw"), *top = blktest_path("t2.qcow2");
	size_t size = 1048576;
	CHECK(blktest_make_file(base, size, 3) == 0);
	CHECK(create(top, 0, 4096, 2, 16, base, "raw") == 0);
	struct blk *b = open_rw(top);
	CHECK(b);
	uint8_t *shadow = malloc(size);
	blktest_pattern(shadow, size, 0, 3);
	CHECK(blk_write_zeroes(b, 8192, 65536, true) == 0);
	memset(shadow + 8192, 0, 65536);
	CHECK(same(b, shadow, size));
	blk_close(b);
	CHECK_EQ(qemu_check(top), 0);
	free(shadow);
}

TEST(qcow2_compressed_read_qemu)
{
	if (!have_qemu_img())
		SKIP("qemu-img is not installed");
	const char *raw = blktest_path("c.raw"), *p = blktest_path("c.qcow2");
	size_t size = 2 * 1048576 + 4096;
	uint8_t *shadow = calloc(1, size);
	for (size_t i = 0; i < size; i += 4096)  /* compressible, and a few random blocks */
		if ((i / 4096) % 5 == 1)
			blktest_pattern(shadow + i, 4096, i, 1);
		else
			for (size_t j = 0; j < 4096; j++)
				shadow[i + j] = (uint8_t)("qvm compressed "[j % 15] + (i >> 12));
	FILE *f = fopen(raw, "wb");
	CHECK(f && fwrite(shadow, 1, size, f) == size);
	fclose(f);
	for (int v = 0; v < 2; v++) {
		CHECK_EQ(sh("qemu-img convert -c -O qcow2 -o compat=%s,cluster_size=%d %s %s",
			    v ? "1.1" : "0.10", v ? 65536 : 4096, raw, p), 0);
		struct blk_open_opts o = { .readonly = true };
		struct blk *b = blk_open(p, &o);
		CHECK(b);
		CHECK(same(b, shadow, size));
		uint64_t pnum;
		CHECK(blk_block_status(b, 0, size, &pnum) & BLK_ST_COMPRESSED);
		blk_close(b);
		/* rewrite parts of compressed clusters: they become plain ones */
		b = open_rw(p);
		CHECK(b);
		uint8_t buf[3000];
		blktest_pattern(buf, sizeof(buf), 0, 4);
		CHECK(blk_pwrite(b, 70000, buf, sizeof(buf)) == 0);
		memcpy(shadow + 70000, buf, sizeof(buf));
		CHECK(same(b, shadow, size));
		blk_close(b);
		CHECK_EQ(qemu_check(p), 0);
		f = fopen(raw, "wb");
		CHECK(f && fwrite(shadow, 1, size, f) == size);
		fclose(f);
	}
	free(shadow);
}

TEST(qcow2_compressed_write)
{
	if (!have_qemu_img())
		SKIP("qemu-img is not installed");
	const char *p = blktest_path("cw.qcow2"), *raw = blktest_path("cw.raw");
	uint32_t cs = 65536;
	size_t size = 20 * cs + 1024;
	CHECK(create(p, size, cs, 3, 16, NULL, NULL) == 0);
	struct blk *b = open_rw(p);
	CHECK(b);
	CHECK_EQ(blk_cluster_size(b), cs);
	uint8_t *shadow = calloc(1, size);
	for (size_t off = 0; off < size; off += cs) {
		size_t len = size - off < cs ? size - off : cs;
		for (size_t j = 0; j < len; j++)
			shadow[off + j] = (uint8_t)(j / 100 + off / cs);
		if (off / cs == 3)
			blktest_pattern(shadow + off, len, off, 2);   /* incompressible */
		CHECK(blk_write_compressed(b, off, shadow + off, len) == 0);
	}
	CHECK(same(b, shadow, size));
	uint64_t pnum;
	CHECK(blk_block_status(b, 0, cs, &pnum) & BLK_ST_COMPRESSED);
	blk_close(b);
	CHECK_EQ(qemu_check(p), 0);
	CHECK_EQ(sh("qemu-img convert -O raw %s %s", p, raw), 0);
	CHECK(file_is(raw, shadow, size));
	/* overwrite one compressed cluster, discard another: still clean */
	b = open_rw(p);
	CHECK(b);
	CHECK(blk_pwrite(b, cs + 5, "hello", 5) == 0);
	memcpy(shadow + cs + 5, "hello", 5);
	CHECK(blk_discard(b, 4 * cs, cs) == 0);
	memset(shadow + 4 * cs, 0, cs);
	CHECK(same(b, shadow, size));
	blk_close(b);
	CHECK_EQ(qemu_check(p), 0);
	free(shadow);
}

static void snapshots(int compat, uint32_t cs)
{
	if (!have_qemu_img())
		SKIP("qemu-img is not installed");
	const char *p = blktest_path("snap.qcow2");
	size_t size = 1048576;
	CHECK(create(p, size, cs, compat, 16, NULL, NULL) == 0);
	struct blk *b = open_rw(p);
	CHECK(b);
	uint8_t *a = calloc(1, size), *c = calloc(1, size);
	random_writes(b, a, size, 11, 10);
	CHECK(blk_snapshot_create(b, "first") == 0);
	int lines;
	blktest_stderr_begin();
	int r = blk_snapshot_create(b, "first");        /* name taken */
	blktest_stderr_end(&lines);
	CHECK(r != 0 && lines == 1);
	memcpy(c, a, size);
	random_writes(b, c, size, 12, 10);
	CHECK(same(b, c, size));
	unsigned n;
	struct blk_snapshot *s = blk_snapshot_list(b, &n);
	CHECK(s && n == 1 && !strcmp(s[0].name, "first") && !strcmp(s[0].id, "1"));
	free(s);
	blk_close(b);
	CHECK_EQ(qemu_check(p), 0);
	CHECK_EQ(sh("qemu-img snapshot -l %s | grep -q first", p), 0);
	CHECK_EQ(sh("qemu-img snapshot -c second %s", p), 0);
	b = open_rw(p);
	CHECK(b);
	s = blk_snapshot_list(b, &n);
	CHECK(s && n == 2 && !strcmp(s[1].name, "second"));
	free(s);
	CHECK(blk_snapshot_apply(b, "first") == 0);
	CHECK(same(b, a, size));
	random_writes(b, a, size, 13, 5);
	CHECK(blk_snapshot_apply(b, "second") == 0);
	CHECK(same(b, c, size));
	CHECK(blk_snapshot_delete(b, "1") == 0);
	blktest_stderr_begin();
	r = blk_snapshot_apply(b, "first");
	blktest_stderr_end(&lines);
	CHECK(r != 0 && lines == 1);
	blk_close(b);
	CHECK_EQ(qemu_check(p), 0);
	CHECK_EQ(sh("qemu-img snapshot -a second %s && qemu-img snapshot -d second %s", p, p), 0);
	CHECK_EQ(qemu_check(p), 0);
	b = open_rw(p);
	CHECK(b);
	s = blk_snapshot_list(b, &n);
	CHECK(n == 0);
	free(s);
	CHECK(same(b, c, size));
	blk_close(b);
	free(a);
	free(c);
}

TEST(qcow2_snapshots_v3) { snapshots(3, 4096); }
TEST(qcow2_snapshots_v2_512) { snapshots(2, 512); }

TEST(qcow2_resize_and_set_backing)
{
	if (!have_qemu_img())
		SKIP("qemu-img is not installed");
	const char *p = blktest_path("rs.qcow2");
	CHECK(create(p, 1 << 20, 512, 3, 16, NULL, NULL) == 0);
	struct blk *b = open_rw(p);
	CHECK(b);
	CHECK(blk_resize(b, 64 << 20) == 0);   /* grows the L1 table */
	CHECK_EQ(blk_size(b), 64 << 20);
	CHECK(blk_pwrite(b, (64 << 20) - 4, "tail", 4) == 0);
	int lines;
	blktest_stderr_begin();
	int r = blk_resize(b, 1 << 20);         /* allocated past the new end */
	blktest_stderr_end(&lines);
	CHECK(r != 0 && lines == 1);
	blk_close(b);
	CHECK_EQ(qemu_check(p), 0);
	CHECK_EQ(sh("qemu-img info %s | grep -q 'virtual size: 64 MiB'", p), 0);
	b = open_rw(p);
	CHECK(b);
	CHECK(blk_set_backing(b, "some/base.raw", "raw") == 0);
	blk_close(b);
	CHECK_EQ(sh("qemu-img info %s | grep -q 'backing file: some/base.raw'", p), 0);
	struct blk_open_opts o = { .no_backing = true };
	b = blk_open(p, &o);
	CHECK(b);
	CHECK(blk_set_backing(b, NULL, NULL) == 0);
	blk_close(b);
	CHECK_EQ(sh("qemu-img info %s | grep -q 'backing file'", p), 1);
}

TEST(qcow2_check_finds_and_fixes_leaks)
{
	if (!have_qemu_img())
		SKIP("qemu-img is not installed");
	const char *p = blktest_path("leak.qcow2");
	CHECK(create(p, 1 << 20, 4096, 3, 16, NULL, NULL) == 0);
	/* a leaked cluster: qemu-img itself makes one we can count on? no:
	 * bump a refcount by hand (the refcount block is cluster 2) */
	int fd = open(p, O_RDWR);
	CHECK(fd >= 0);
	uint8_t v[2] = { 0, 1 };
	CHECK(pwrite(fd, v, 2, 2 * 4096 + 2 * 10) == 2);    /* cluster 10: refcount 1 */
	CHECK(ftruncate(fd, 11 * 4096) == 0);
	close(fd);
	CHECK_EQ(qemu_check(p), 3);
	struct blk *b = open_rw(p);
	CHECK(b);
	struct blk_check r;
	blktest_stderr_begin();
	CHECK(blk_check(b, 0, &r) == 0);
	int lines;
	const char *err = blktest_stderr_end(&lines);
	CHECK(strstr(err, "Leaked cluster 10 refcount=1 reference=0"));
	CHECK_EQ(r.leaks, 1);
	blktest_stderr_begin();
	CHECK(blk_check(b, BLK_FIX_LEAKS, &r) == 0);
	err = blktest_stderr_end(&lines);
	CHECK(strstr(err, "Repairing cluster 10 refcount=1 reference=0"));
	CHECK_EQ(r.leaks_fixed, 1);
	blk_close(b);
	CHECK_EQ(qemu_check(p), 0);
}

/* ---- hostile images ---- */

static const char *hostile(const char *name, size_t off, const void *bytes, size_t n,
			   int64_t truncate_to)
{
	const char *p = blktest_path(name);
	if (create(p, 1 << 20, 65536, 3, 16, NULL, NULL))
		return NULL;
	int fd = open(p, O_RDWR);
	if (n && pwrite(fd, bytes, n, (off_t)off) != (ssize_t)n)
		p = NULL;
	if (truncate_to >= 0 && ftruncate(fd, truncate_to))
		p = NULL;
	close(fd);
	return p;
}

static bool refused(const char *p, const char *msg)
{
	blktest_stderr_begin();
	struct blk_open_opts o = { .format = "qcow2" };
	struct blk *b = blk_open(p, &o);
	int lines;
	const char *err = blktest_stderr_end(&lines);
	if (b) {
		blk_close(b);
		return false;
	}
	return lines == 1 && (!msg || strstr(err, msg));
}

TEST(qcow2_hostile_headers)
{
	uint8_t be[8];
	const char *p;
	p = hostile("trunc.qcow2", 0, NULL, 0, 50);
	CHECK(p && refused(p, "too short"));
	wbe32(be, 40);
	p = hostile("cb40.qcow2", 20, be, 4, -1);
	CHECK(p && refused(p, "cluster_bits"));
	wbe64(be, 0x7000000000ull);
	p = hostile("l1eof.qcow2", 40, be, 8, -1);
	CHECK(p && refused(p, "L1 table"));
	wbe32(be, 0x40000000u);
	p = hostile("hugel1.qcow2", 36, be, 4, -1);
	CHECK(p && refused(p, "L1 table too large"));
	wbe64(be, 0);
	p = hostile("rt0.qcow2", 48, be, 8, -1);
	CHECK(p && refused(p, "refcount table"));
	wbe64(be, 3 * 65536);   /* the refcount table on the L1 table */
	p = hostile("rtover.qcow2", 48, be, 8, -1);
	CHECK(p && refused(p, "overlap"));
	wbe32(be, 7);            /* version 7 */
	p = hostile("version.qcow2", 4, be, 4, -1);
	CHECK(p && refused(p, "version 7"));
	uint8_t ext[16];         /* an extension longer than the header cluster */
	wbe32(ext, 0x12345678);
	wbe32(ext + 4, 0x100000);
	p = hostile("extlen.qcow2", 112, ext, 8, -1);
	CHECK(p && refused(p, "header extension"));
	wbe64(be, 1ull << 9);   /* incompatible bit 9 */
	p = hostile("incompat.qcow2", 72, be, 8, -1);
	CHECK(p && refused(p, "unsupported qcow2 feature: bit 9"));
	wbe64(be, 1ull << 4);   /* extended L2: named from the feature table */
	p = hostile("extl2.qcow2", 72, be, 8, -1);
	CHECK(p && refused(p, "unsupported qcow2 feature: extended L2"));
	wbe64(be, 1ull << 1);   /* corrupt: read-only only */
	p = hostile("corrupt.qcow2", 72, be, 8, -1);
	CHECK(p && refused(p, "corrupt"));
	struct blk_open_opts ro = { .format = "qcow2", .readonly = true };
	struct blk *b = blk_open(p, &ro);
	CHECK(b);
	blk_close(b);
	wbe32(be, 100000);
	p = hostile("snaps.qcow2", 60, be, 4, -1);
	CHECK(p && refused(p, "snapshots"));
	wbe64(be, 1ull << 40);   /* a huge size for its L1 table */
	p = hostile("size.qcow2", 24, be, 8, -1);
	CHECK(p && refused(p, "L1 table too small"));
}

TEST(qcow2_hostile_compressed)
{
	/* a compressed descriptor pointing at garbage: an error, no crash */
	const char *p = blktest_path("cbad.qcow2");
	CHECK(create(p, 1 << 20, 65536, 3, 16, NULL, NULL) == 0);
	struct blk *b = open_rw(p);
	CHECK(b);
	uint8_t z[65536] = { 0 };
	CHECK(blk_write_compressed(b, 0, z, sizeof(z)) == 0);
	blk_close(b);
	int fd = open(p, O_RDWR);
	uint8_t l2[8], junk[600];
	memset(junk, 0xa5, sizeof(junk));
	CHECK(pread(fd, l2, 8, 3 * 65536) == 8);        /* L1[0] (L1: cluster 3) */
	CHECK(pread(fd, l2, 8, (off_t)(be64(l2) & QCOW2_L1_OFFSET_MASK)) == 8);
	uint64_t ent = be64(l2);
	CHECK(ent & QCOW2_OFLAG_COMPRESSED);
	CHECK(pwrite(fd, junk, sizeof(junk), (off_t)(ent & ((1ull << 54) - 1))) == sizeof(junk));
	close(fd);
	b = open_rw(p);
	CHECK(b);
	int lines;
	blktest_stderr_begin();
	int r = blk_pread(b, 0, z, 4096);
	const char *err = blktest_stderr_end(&lines);
	CHECK(r < 0 && strstr(err, "does not decompress"));
	blk_close(b);
}

TEST(qcow2_hostile_tables)
{
	/* L2 pointer past EOF / unaligned, compressed garbage: errors, no crash */
	const char *p = blktest_path("l2bad.qcow2");
	CHECK(create(p, 1 << 20, 65536, 3, 16, NULL, NULL) == 0);
	int fd = open(p, O_RDWR);
	uint8_t be[8];
	wbe64(be, 0x8000000000001234ull);  /* unaligned L2 offset at L1[0] */
	CHECK(pwrite(fd, be, 8, 3 * 65536) == 8);
	close(fd);
	struct blk *b = open_rw(p);
	CHECK(b);
	uint8_t buf[512];
	blktest_stderr_begin();
	int r1 = blk_pread(b, 0, buf, sizeof(buf));
	int r2 = blk_pwrite(b, 0, buf, sizeof(buf));
	struct blk_check res;
	blk_check(b, 0, &res);
	int lines;
	blktest_stderr_end(&lines);
	CHECK(r1 < 0 && r2 < 0);
	CHECK(res.corruptions > 0);
	blk_close(b);
}

/* ---- kill safety ---- */

TEST(qcow2_kill_safety)
{
	if (!have_qemu_img())
		SKIP("qemu-img is not installed");
	for (int round = 0; round < 4; round++) {
		const char *p = blktest_path("kill.qcow2");
		bool lazy = round == 3;
		struct blk_create_opts o = { .format = "qcow2", .size = 64 << 20, .cluster_size = 4096,
					     .compat = round == 1 ? 2 : 3, .lazy_refcounts = lazy };
		CHECK(blk_create(p, &o) == 0);
		pid_t pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			if (!freopen("/dev/null", "w", stderr))
				_exit(1);
			struct blk *b = open_rw(p);
			if (!b)
				_exit(1);
			uint8_t buf[3 * 4096];
			srand((unsigned)getpid());
			for (unsigned i = 0;; i++) {
				uint64_t off = (uint64_t)(rand() % (64 * 256 - 3)) * 4096 + (uint64_t)(rand() % 512);
				blktest_pattern(buf, sizeof(buf), off, i);
				blk_pwrite(b, off, buf, sizeof(buf) - (i % 3) * 4096);
				if (i % 17 == 0)
					blk_flush(b);
				if (i % 23 == 0)
					blk_discard(b, off & ~4095ull, 8192);
				if (i % 29 == 0)
					blk_write_zeroes(b, off, 5000, i % 2);
				if (i % 37 == 0)
					blk_write_compressed(b, off & ~4095ull, buf, 4096);
			}
		}
		usleep(20000 + (useconds_t)(rand() % 150000));
		kill(pid, SIGKILL);
		int st;
		waitpid(pid, &st, 0);
		int rc = qemu_check(p);
		CHECK(rc == 0 || rc == 3);   /* 3: leaks only */
		if (lazy) {
			/* a read-write open (repairing it if dirty) keeps it sane */
			struct blk *b = open_rw(p);
			CHECK(b);
			blk_close(b);
			rc = qemu_check(p);
			CHECK(rc == 0 || rc == 3);
		}
	}
}

TEST(qcow2_dirty_bit_repair)
{
	if (!have_qemu_img())
		SKIP("qemu-img is not installed");
	const char *p = blktest_path("dirty.qcow2");
	struct blk_create_opts o = { .format = "qcow2", .size = 8 << 20, .cluster_size = 4096,
				     .lazy_refcounts = true };
	CHECK(blk_create(p, &o) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {   /* write, then die without closing */
		struct blk *b = open_rw(p);
		uint8_t buf[50000];
		blktest_pattern(buf, sizeof(buf), 0, 8);
		_exit(!b || blk_pwrite(b, 1000, buf, sizeof(buf)) ? 1 : 0);
	}
	int st;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct blk_open_opts ro = { .readonly = true };
	struct blk *b = blk_open(p, &ro);   /* read-only: reads fine, stays dirty */
	CHECK(b);
	struct blk_info info;
	CHECK(blk_get_info(b, &info) == 0);
	CHECK(info.dirty);
	uint8_t want[50000], got[50000];
	blktest_pattern(want, sizeof(want), 0, 8);
	CHECK(blk_pread(b, 1000, got, sizeof(got)) == 0 && !memcmp(want, got, sizeof(got)));
	blk_close(b);
	b = open_rw(p);                      /* read-write: refcounts rebuilt */
	CHECK(b);
	CHECK(blk_get_info(b, &info) == 0);
	CHECK(!info.dirty);
	blk_close(b);
	CHECK_EQ(qemu_check(p), 0);
}

TEST(qcow2_flushed_writes_survive_kill)
{
	const char *p = blktest_path("durable.qcow2");
	CHECK(create(p, 8 << 20, 65536, 3, 16, NULL, NULL) == 0);
	int pfd[2];
	CHECK(pipe(pfd) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct blk *b = open_rw(p);
		uint8_t buf[100000];
		blktest_pattern(buf, sizeof(buf), 0, 42);
		if (!b || blk_pwrite(b, 33333, buf, sizeof(buf)) || blk_flush(b))
			_exit(1);
		if (write(pfd[1], "k", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	char c;
	CHECK(read(pfd[0], &c, 1) == 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(pfd[0]);
	close(pfd[1]);
	struct blk *b = open_rw(p);
	CHECK(b);
	uint8_t want[100000], got[100000];
	blktest_pattern(want, sizeof(want), 0, 42);
	CHECK(blk_pread(b, 33333, got, sizeof(got)) == 0);
	CHECK(!memcmp(want, got, sizeof(got)));
	blk_close(b);
}

TEST(qcow2_map_fast_path)
{
	const char *p = blktest_path("map.qcow2");
	CHECK(create(p, 4 << 20, 65536, 3, 16, NULL, NULL) == 0);
	struct blk *b = open_rw(p);
	CHECK(b);
	uint8_t buf[200000];
	blktest_pattern(buf, sizeof(buf), 0, 1);
	CHECK(blk_pwrite(b, 0, buf, sizeof(buf)) == 0);
	uint64_t host = 0;
	int64_t n = blk_qcow2.map(b, 100, 300000, false, &host);
	CHECK(n >= 65536 - 100);
	uint8_t got[100];
	CHECK(pread(b->fd, got, sizeof(got), (off_t)host) == (ssize_t)sizeof(got));
	CHECK(!memcmp(got, buf + 100, sizeof(got)));
	CHECK(blk_qcow2.map(b, 300000, 1000, true, &host) == 0);   /* unallocated */
	CHECK(blk_qcow2.map(b, 1000, 1000, true, &host) == 1000);
	blk_close(b);
}

/* Random operations of every kind against a shadow copy, snapshots
 * included; qemu-img check and convert agree at the end. */
static void random_ops(int compat, uint32_t cs, uint32_t rbits, bool with_backing, unsigned seed)
{
	if (!have_qemu_img())
		SKIP("qemu-img is not installed");
	const char *p = blktest_path("ops.qcow2"), *base = blktest_path("ops-base.raw");
	const char *raw = blktest_path("ops.raw");
	size_t size = 2 * 1048576;
	uint8_t *shadow = calloc(1, size), *buf = malloc(size);
	if (getenv("QVM_QCOW2_SEED"))    /* more seeds by hand */
		seed += (unsigned)atoi(getenv("QVM_QCOW2_SEED")) * 1000;
	if (with_backing) {
		CHECK(blktest_make_file(base, size, seed) == 0);
		blktest_pattern(shadow, size, 0, seed);
	}
	CHECK(create(p, size, cs, compat, rbits, with_backing ? base : NULL, "raw") == 0);
	struct blk *b = open_rw(p);
	CHECK(b);
	uint8_t *snap = NULL;
	srand(seed);
	for (int i = 0; i < 300; i++) {
		int op = rand() % 16;
		size_t off = (size_t)rand() % size, len = 1 + (size_t)rand() % (4 * cs);
		if (off + len > size)
			len = size - off;
		if (op < 7) {
			blktest_pattern(buf, len, off, seed + (unsigned)i);
			CHECK(blk_pwrite(b, off, buf, len) == 0);
			memcpy(shadow + off, buf, len);
		} else if (op < 9) {
			bool unmap = rand() % 2;
			CHECK(blk_write_zeroes(b, off, len, unmap) == 0);
			memset(shadow + off, 0, len);
		} else if (op == 9) {
			/* discard whole clusters: they read as the backing file */
			size_t a = off / cs * cs, e = (off + len) / cs * cs;
			CHECK(blk_discard(b, a, e > a ? e - a : 0) == 0);
			if (e > a) {
				if (with_backing)
					blktest_pattern(shadow + a, e - a, a, seed);
				else
					memset(shadow + a, 0, e - a);
			}
		} else if (op == 10) {
			size_t a = off / cs * cs, l = size - a < cs ? size - a : cs;
			for (size_t j = 0; j < l; j++)
				buf[j] = (uint8_t)(j / 64 + i);
			CHECK(blk_write_compressed(b, a, buf, l) == 0);
			memcpy(shadow + a, buf, l);
		} else if (op == 11 && rbits >= 2) {
			int lines;
			blktest_stderr_begin();
			blk_snapshot_delete(b, "s");   /* may not be there yet */
			blktest_stderr_end(&lines);
			/* narrow refcounts may overflow: a clean refusal */
			blktest_stderr_begin();
			int r = blk_snapshot_create(b, "s");
			blktest_stderr_end(&lines);
			CHECK(r == 0 || (rbits < 16 && lines == 2));
			free(snap);
			snap = NULL;
			if (r == 0) {
				snap = malloc(size);
				memcpy(snap, shadow, size);
			}
		} else if (op == 12 && snap) {
			int lines;
			blktest_stderr_begin();
			int r = blk_snapshot_apply(b, "s");
			blktest_stderr_end(&lines);
			CHECK(r == 0 || (rbits < 16 && lines == 2));
			if (r == 0)
				memcpy(shadow, snap, size);
		} else if (op == 13) {
			CHECK(blk_flush(b) == 0);
		} else if (op == 14 && i % 50 == 0) {
			blk_close(b);
			CHECK_EQ(qemu_check(p), 0);
			b = open_rw(p);
			CHECK(b);
		}
		if (i % 25 == 0)
			CHECK(same(b, shadow, size));
	}
	CHECK(same(b, shadow, size));
	struct blk_check r;
	CHECK(blk_check(b, 0, &r) == 0);
	CHECK_EQ(r.corruptions + r.leaks, 0);
	blk_close(b);
	CHECK_EQ(qemu_check(p), 0);
	CHECK_EQ(sh("qemu-img convert -O raw %s %s", p, raw), 0);
	CHECK(file_is(raw, shadow, size));
	free(snap);
	free(shadow);
	free(buf);
}

TEST(qcow2_random_ops_v3) { random_ops(3, 4096, 16, false, 1); }
TEST(qcow2_random_ops_v2_backing) { random_ops(2, 4096, 16, true, 2); }
TEST(qcow2_random_ops_v3_backing_512) { random_ops(3, 512, 16, true, 3); }
TEST(qcow2_random_ops_v3_rc2_64k) { random_ops(3, 65536, 2, false, 4); }
TEST(qcow2_random_ops_v3_rc64) { random_ops(3, 4096, 64, true, 5); }
TEST(qcow2_random_ops_v2_2m) { random_ops(2, 2 << 20, 16, false, 6); }
TEST(qcow2_random_ops_v3_rc1) { random_ops(3, 1024, 1, true, 7); }

TEST(qcow2_cache_none)
{
	if (!have_qemu_img())
		SKIP("qemu-img is not installed");
	const char *p = blktest_path("direct.qcow2");
	size_t size = 3 << 20;
	CHECK(create(p, size, 4096, 3, 16, NULL, NULL) == 0);
	struct blk_open_opts o = { .format = "qcow2", .cache = BLK_CACHE_NONE };
	struct blk *b = blk_open(p, &o);
	CHECK(b);
	uint8_t *shadow = calloc(1, size);
	random_writes(b, shadow, size, 21, 30);
	CHECK(blk_write_zeroes(b, 5000, 100000, true) == 0);
	memset(shadow + 5000, 0, 100000);
	uint8_t c[4096];
	memset(c, 'c', sizeof(c));
	CHECK(blk_write_compressed(b, 1 << 20, c, sizeof(c)) == 0);
	memcpy(shadow + (1 << 20), c, sizeof(c));
	CHECK(blk_snapshot_create(b, "d") == 0);
	CHECK(same(b, shadow, size));
	blk_close(b);
	CHECK_EQ(qemu_check(p), 0);
	free(shadow);
}
