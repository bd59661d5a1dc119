/* Image locking (block/lock.c) and the refusal of formats qvm does not read
 * (block/foreign.c), through blk_open and blk_create.  Two opens in one
 * process have two open file descriptions, so they are checked against
 * each other as two processes would be. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "unit.h"
#include "blktest.h"
#include "block/block-int.h"

#define SIZE (1 * MiB)

static struct blk *open_as(const char *path, const char *fmt, bool ro, enum blk_share share)
{
	struct blk_open_opts o = { .format = fmt, .readonly = ro, .share = share };
	return blk_open(path, &o);
}

/* The open fails with exactly one line that names the lock. */
static void refused(const char *path, const char *fmt, bool ro, enum blk_share share,
		    const char *what)
{
	int lines;
	blktest_stderr_begin();
	struct blk *b = open_as(path, fmt, ro, share);
	const char *err = blktest_stderr_end(&lines);
	CHECK(!b);
	CHECK_EQ(lines, 1);
	CHECK(strstr(err, what));
	CHECK(strstr(err, "Is another process using the image"));
	if (b)
		blk_close(b);
}

/* Which lock bytes (100..103, 200..203) some open file description holds,
 * as a 4+4 bit mask, seen through F_OFD_GETLK from a fresh descriptor. */
static unsigned held_bytes(const char *path)
{
	int fd = open(path, O_RDONLY);
	unsigned m = 0;
	for (int i = 0; i < 8; i++) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
				    .l_start = (i < 4 ? 100 : 196) + i, .l_len = 1 };
		if (fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
			m |= 1u << i;
	}
	close(fd);
	return m;
}

TEST(blk_lock_bytes_as_qemu)
{
	const char *raw = blktest_path("l.raw"), *q = blktest_path("l.qcow2");
	CHECK_EQ(blktest_make_file(raw, SIZE, 1), 0);
	struct blk_create_opts c = { .format = "qcow2", .size = SIZE };
	CHECK_EQ(blk_create(q, &c), 0);
	/* a guest's raw disk: read+write held, write not shared (QEMU's
	 * virtio-blk: bytes 100, 101, 201) */
	struct blk *b = open_as(raw, "raw", false, BLK_SHARE_DEVICE);
	CHECK(b);
	CHECK_EQ(held_bytes(raw), 0x1 | 0x2 | 0x20);
	blk_close(b);
	CHECK_EQ(held_bytes(raw), 0);
	/* qcow2 read-write: 100, 101, 103, 201, 203; read-only: 100, 201, 203 */
	b = open_as(q, NULL, false, BLK_SHARE_DEVICE);
	CHECK(b);
	CHECK_EQ(held_bytes(q), 0x1 | 0x2 | 0x8 | 0x20 | 0x80);
	blk_close(b);
	b = open_as(q, NULL, true, BLK_SHARE_INSPECT);
	CHECK(b);
	CHECK_EQ(held_bytes(q), 0x1 | 0x20 | 0x80);
	blk_close(b);
	/* -U: read only, nothing kept out */
	b = open_as(q, NULL, true, BLK_SHARE_ALL);
	CHECK(b);
	CHECK_EQ(held_bytes(q), 0x1);
	blk_close(b);
}

TEST(blk_lock_writers_and_readers)
{
	const char *raw = blktest_path("w.raw"), *q = blktest_path("w.qcow2");
	CHECK_EQ(blktest_make_file(raw, SIZE, 2), 0);
	struct blk_create_opts c = { .format = "qcow2", .size = SIZE };
	CHECK_EQ(blk_create(q, &c), 0);

	struct blk *w = open_as(raw, "raw", false, BLK_SHARE_DEVICE);
	CHECK(w);
	refused(raw, "raw", false, BLK_SHARE_DEVICE, "Failed to get \"write\" lock");
	refused(raw, "raw", true, BLK_SHARE_DEVICE, "Failed to get shared \"write\" lock");
	/* qemu-img info on a raw disk in use works (it shares writes) */
	struct blk *r = open_as(raw, "raw", true, BLK_SHARE_INSPECT);
	CHECK(r);
	blk_close(r);
	blk_close(w);

	/* readers coexist; a writer is kept out while one reads */
	struct blk *r1 = open_as(q, NULL, true, BLK_SHARE_DEVICE);
	struct blk *r2 = open_as(q, NULL, true, BLK_SHARE_INSPECT);
	CHECK(r1 && r2);
	refused(q, NULL, false, BLK_SHARE_TOOL, "Failed to get \"write\" lock");
	blk_close(r1);
	blk_close(r2);
	w = open_as(q, NULL, false, BLK_SHARE_DEVICE);
	CHECK(w);
	/* a qcow2 never shares writes, even with an inspecting reader */
	refused(q, NULL, true, BLK_SHARE_INSPECT, "Failed to get shared \"write\" lock");
	r = open_as(q, NULL, true, BLK_SHARE_ALL);
	CHECK(r);
	blk_close(r);
	/* locking=off takes and checks nothing */
	struct blk_open_opts off = { .readonly = true, .no_locking = true };
	r = blk_open(q, &off);
	CHECK(r);
	blk_close(r);
	/* create over an image in use is refused and leaves it alone */
	int lines;
	blktest_stderr_begin();
	CHECK_EQ(blk_create(q, &c), -1);
	blktest_stderr_end(&lines);
	CHECK_EQ(lines, 1);
	blk_close(w);
	w = open_as(q, "qcow2", true, BLK_SHARE_INSPECT);
	CHECK(w);
	CHECK_EQ(blk_size(w), SIZE);
	blk_close(w);
	/* force-share is for read-only opens */
	blktest_stderr_begin();
	CHECK(!open_as(q, NULL, false, BLK_SHARE_ALL));
	blktest_stderr_end(&lines);
	CHECK_EQ(lines, 1);
}

TEST(blk_lock_backing_and_reopen)
{
	const char *base = blktest_path("base.qcow2"), *top = blktest_path("top.qcow2");
	struct blk_create_opts c = { .format = "qcow2", .size = SIZE };
	CHECK_EQ(blk_create(base, &c), 0);
	struct blk_create_opts o = { .format = "qcow2", .backing = base, .backing_fmt = "qcow2" };
	CHECK_EQ(blk_create(top, &o), 0);
	struct blk *t = open_as(top, NULL, false, BLK_SHARE_DEVICE);
	CHECK(t);
	/* the backing file: read held, write and resize kept out */
	CHECK_EQ(held_bytes(base), 0x1 | 0x20 | 0x80);
	refused(base, NULL, false, BLK_SHARE_TOOL, "Failed to get \"write\" lock");
	blk_close(t);
	/* commit's reopen: the base turns writable in place */
	t = open_as(top, NULL, true, BLK_SHARE_TOOL);
	CHECK(t);
	struct blk *b = blk_backing(t);
	CHECK(b);
	CHECK_EQ(blk_reopen_rw(b), 0);
	CHECK(!blk_is_readonly(b));
	CHECK_EQ(held_bytes(base), 0x1 | 0x2 | 0x8 | 0x20 | 0x80);
	uint8_t buf[512];
	memset(buf, 0x5a, sizeof(buf));
	CHECK_EQ(blk_pwrite(b, 4096, buf, sizeof(buf)), 0);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(blk_pread(t, 4096, buf, sizeof(buf)), 0);
	CHECK_EQ(buf[0], 0x5a);
	blk_close(t);
	CHECK_EQ(held_bytes(base), 0);
	/* a reopen another process's reader blocks fails and leaves the
	 * read-only open working */
	struct blk *other = open_as(base, NULL, true, BLK_SHARE_DEVICE);
	t = open_as(top, NULL, true, BLK_SHARE_TOOL);
	CHECK(other && t);
	int lines;
	blktest_stderr_begin();
	CHECK_EQ(blk_reopen_rw(blk_backing(t)), -1);
	blktest_stderr_end(&lines);
	CHECK_EQ(lines, 1);
	CHECK(blk_is_readonly(blk_backing(t)));
	CHECK_EQ(blk_pread(t, 4096, buf, sizeof(buf)), 0);
	CHECK_EQ(buf[0], 0x5a);
	blk_close(t);
	blk_close(other);
}

/* The first bytes of an image in each format qvm refuses by name. */
static void write_magic(const char *path, const void *magic, size_t len, size_t at)
{
	uint8_t *buf = calloc(1, 65536);
	memcpy(buf + at, magic, len);
	FILE *f = fopen(path, "wb");
	CHECK(f && fwrite(buf, 1, 65536, f) == 65536);
	fclose(f);
	free(buf);
}

TEST(blk_probe_refuses_foreign_formats)
{
	static const struct { const char *name; const char *magic; size_t len, at; } fmts[] = {
		{ "vmdk", "KDMV", 4, 0 },
		{ "vmdk", "# Disk DescriptorFile\n", 22, 0 },
		{ "vdi", "\x7f\x10\xda\xbe", 4, 0x40 },
		{ "vhdx", "vhdxfile", 8, 0 },
		{ "vpc", "conectix", 8, 0 },
		{ "qed", "QED\0", 4, 0 },
		{ "luks", "LUKS\xba\xbe\0\1", 8, 0 },
		{ "qcow", "QFI\xfb\0\0\0\1", 8, 0 },
		{ "parallels", "WithoutFreeSpace", 16, 0 },
	};
	const char *path = blktest_path("foreign.img");
	for (unsigned i = 0; i < ARRAY_SIZE(fmts); i++) {
		write_magic(path, fmts[i].magic, fmts[i].len, fmts[i].at);
		int lines;
		blktest_stderr_begin();
		struct blk *b = blk_open(path, NULL);
		const char *err = blktest_stderr_end(&lines);
		CHECK(!b);
		CHECK_EQ(lines, 1);
		char want[64];
		snprintf(want, sizeof(want), ": %s images are not supported", fmts[i].name);
		CHECK(strstr(err, want));
		/* format=raw reads it as raw, as asked */
		struct blk_open_opts o = { .format = "raw", .readonly = true };
		b = blk_open(path, &o);
		CHECK(b);
		CHECK_EQ(blk_size(b), 65536);
		blk_close(b);
	}
	/* the probe reads no further than the magic: plain data stays raw */
	write_magic(path, "KDM", 3, 0);
	struct blk *b = blk_open(path, NULL);
	CHECK(b);
	CHECK(!strcmp(blk_format_name(b), "raw"));
	blk_close(b);
}
