/*
 * qvm-img compare: do two images (of any formats, through their backing
 * chains) read the same?  As qemu-img 7.2: exit status 0 identical, 1
 * different, 2 an image could not be opened, 3 its allocation could not be
 * read, 4 its data could not be read; the first difference is reported as
 * the offset of the first 512-byte sector that differs; ranges both images
 * know to read as zeros are not read; a larger image must read as zeros
 * past the smaller one's end ("Warning: Image size mismatch!"), unless -s
 * (strict) makes the size, and the allocation of each range, part of the
 * comparison.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "img.h"

#define BUF_SIZE (2u << 20)

enum { SAME = 0, DIFFERENT = 1, OPEN_FAILED = 2, STATUS_FAILED = 3, READ_FAILED = 4 };

struct cmp {
	struct blk *b[2];
	const char *name[2];
	uint8_t *buf[2];
	bool quiet;
};

static void say(const struct cmp *c, const char *fmt, uint64_t off)
{
	if (!c->quiet)
		printf(fmt, (unsigned long long)off);
}

static int read_img(struct cmp *c, int i, uint64_t off, uint64_t len)
{
	int r = img_pread(c->b[i], off, c->buf[i], len);
	if (r < 0) {
		img_error("Error while reading offset %llu of %s: %s", (unsigned long long)off,
			  c->name[i], strerror(-r));
		return READ_FAILED;
	}
	return SAME;
}

/* The offset of the first 512-byte sector of the chunk that differs
 * between the buffers (other NULL: that is not zero), or -1. */
static int64_t first_difference(const uint8_t *a, const uint8_t *other, uint64_t len)
{
	for (uint64_t i = 0; i < len; i += BLK_SECTOR) {
		uint64_t n = len - i < BLK_SECTOR ? len - i : BLK_SECTOR;
		if (other ? memcmp(a + i, other + i, n) : !img_is_zero(a + i, n))
			return (int64_t)i;
	}
	return -1;
}

/* The range of image i must read as zeros. */
static int check_zero(struct cmp *c, int i, uint64_t off, uint64_t len)
{
	int r = read_img(c, i, off, len);
	int64_t d;

	if (r)
		return r;
	d = first_difference(c->buf[i], NULL, len);
	if (d < 0)
		return SAME;
	say(c, "Content mismatch at offset %llu!\n", off + (uint64_t)d);
	return DIFFERENT;
}

static int status(struct cmp *c, int i, uint64_t off, uint64_t len, struct img_status *s)
{
	if (img_chain_status(c->b[i], off, len, s) == 0)
		return SAME;
	img_error("Sector allocation test failed for %s", c->name[i]);
	return STATUS_FAILED;
}

/* One range both images have: 0 to go on (*chunk bytes done), else the
 * exit status. */
static int compare_range(struct cmp *c, uint64_t off, bool strict, uint64_t *chunk)
{
	struct img_status s[2];
	uint64_t size[2] = { img_disk_size(c->b[0]), img_disk_size(c->b[1]) };
	int r;

	for (int i = 0; i < 2; i++)
		if ((r = status(c, i, off, size[i] - off, &s[i])))
			return r;
	*chunk = s[0].len < s[1].len ? s[0].len : s[1].len;
	/* QEMU 7.2 has no compressed flag: it compares the rest */
	if (strict && (s[0].flags & ~BLK_ST_COMPRESSED) != (s[1].flags & ~BLK_ST_COMPRESSED)) {
		say(c, "Strict mode: Offset %llu block status mismatch!\n", off);
		return DIFFERENT;
	}
	if ((s[0].flags & BLK_ST_ZERO) && (s[1].flags & BLK_ST_ZERO))
		return SAME;
	bool alloc0 = s[0].flags & BLK_ST_ALLOCATED, alloc1 = s[1].flags & BLK_ST_ALLOCATED;
	if (alloc0 == alloc1 && !alloc0)
		return SAME;
	if (*chunk > BUF_SIZE)
		*chunk = BUF_SIZE;
	if (alloc0 != alloc1)
		return check_zero(c, alloc0 ? 0 : 1, off, *chunk);
	if ((r = read_img(c, 0, off, *chunk)) || (r = read_img(c, 1, off, *chunk)))
		return r;
	int64_t d = first_difference(c->buf[0], c->buf[1], *chunk);
	if (d < 0)
		return SAME;
	say(c, "Content mismatch at offset %llu!\n", off + (uint64_t)d);
	return DIFFERENT;
}

/* Past the smaller image's end the larger one must read as zeros. */
static int compare_tail(struct cmp *c, uint64_t off, struct img_progress *pr, uint64_t total)
{
	int big = img_disk_size(c->b[0]) > img_disk_size(c->b[1]) ? 0 : 1;
	uint64_t end = img_disk_size(c->b[big]);
	struct img_status s;
	int r;

	say(c, "Warning: Image size mismatch!\n", 0);
	while (off < end) {
		if ((r = status(c, big, off, end - off, &s)))
			return r;
		uint64_t chunk = s.len;
		if ((s.flags & BLK_ST_ALLOCATED) && !(s.flags & BLK_ST_ZERO)) {
			if (chunk > BUF_SIZE)
				chunk = BUF_SIZE;
			if ((r = check_zero(c, big, off, chunk)))
				return r;
		}
		off += chunk;
		img_progress_update(pr, off, total);
	}
	return SAME;
}

static int run(struct cmp *c, bool strict, bool progress)
{
	uint64_t size0 = img_disk_size(c->b[0]), size1 = img_disk_size(c->b[1]);
	uint64_t common = size0 < size1 ? size0 : size1, total = size0 > size1 ? size0 : size1;
	uint64_t off = 0, chunk = 0;
	struct img_progress pr;
	int r = SAME;

	img_progress_start(&pr, progress && !c->quiet);
	if (strict && size0 != size1) {
		say(c, "Strict mode: Image size mismatch!\n", 0);
		r = DIFFERENT;
	}
	while (r == SAME && off < common) {
		r = compare_range(c, off, strict, &chunk);
		off += chunk;
		img_progress_update(&pr, off, total);
	}
	if (r == SAME && size0 != size1)
		r = compare_tail(c, off, &pr, total);
	if (r == SAME)
		say(c, "Images are identical.\n", 0);
	img_progress_end(&pr);
	return r;
}

int img_compare(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "force-share", no_argument, NULL, 'U' },
		{ "image-opts", no_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt[2] = { NULL, NULL };
	bool progress = false, strict = false, force_share = false;
	enum blk_cache cache = BLK_CACHE_WRITEBACK;
	struct cmp c = { 0 };
	int ch, r;

	while ((ch = getopt_long(argc, argv, ":f:F:T:pqsU", lopts, NULL)) != -1) {
		switch (ch) {
		case 'f': fmt[0] = optarg; break;
		case 'F': fmt[1] = optarg; break;
		case 'T':
			if (strcmp(optarg, "none") && strcmp(optarg, "directsync") &&
			    strcmp(optarg, "writeback") && strcmp(optarg, "writethrough") &&
			    strcmp(optarg, "unsafe")) {
				img_error("Invalid source cache option: %s", optarg);
				return OPEN_FAILED;
			}
			img_parse_cache(optarg, &cache);
			break;
		case 'p': progress = true; break;
		case 'q': c.quiet = true; break;
		case 's': strict = true; break;
		case 'U': force_share = true; break;
		case 'I': return img_usage_error("--image-opts is not supported");
		default: return img_bad_option(ch, argv);
		}
	}
	if (optind != argc - 2)
		return img_usage_error("Expecting two image file names");
	for (int i = 0; i < 2; i++) {
		c.name[i] = argv[optind + i];
		c.b[i] = img_open(c.name[i], fmt[i], true, false, cache,
				  img_inspect_share(force_share));
		if (!c.b[i]) {
			if (i)
				blk_close(c.b[0]);
			return OPEN_FAILED;
		}
		c.buf[i] = img_alloc(BUF_SIZE);
	}
	r = run(&c, strict, progress);
	for (int i = 0; i < 2; i++) {
		blk_close(c.b[i]);
		free(c.buf[i]);
	}
	return r;
}
