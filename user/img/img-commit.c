/*
 * qvm-img commit: write what the top image (and the images between it and
 * the base) allocate into the base image, then empty the top image unless
 * -d, as qemu-img does.
 */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "img.h"

#define CHUNK (2u << 20)

static bool same_file(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	if (!realpath(a, ra) || !realpath(b, rb))
		return !strcmp(a, b);
	return !strcmp(ra, rb);
}

/* Is [off, off+len) allocated in any of the n layers above the base?  The
 * answer holds for *pnum bytes. */
static int allocated_above(struct blk *top, int n, uint64_t off, uint64_t len,
			   uint64_t *pnum, bool *alloc)
{
	struct blk *l = top;

	*alloc = false;
	*pnum = len;
	for (int i = 0; i < n; i++, l = blk_backing(l)) {
		uint64_t p = 0;
		int st = blk_block_status(l, off, len, &p);
		if (st < 0)
			return st;
		if (p == 0 || p > len)
			p = len;
		if (p < *pnum)
			*pnum = p;
		if (st & BLK_ST_ALLOCATED)
			*alloc = true;
	}
	return 0;
}

static int copy_down(struct blk *top, int layers, struct blk *base, struct img_progress *pr)
{
	uint64_t size = blk_size(top), pnum;
	uint8_t *buf = img_alloc(CHUNK);
	int r = 0;

	for (uint64_t off = 0; off < size && r >= 0; off += pnum) {
		uint64_t len = size - off < CHUNK ? size - off : CHUNK;
		bool alloc;

		r = allocated_above(top, layers, off, len, &pnum, &alloc);
		if (r < 0 || !alloc)
			continue;
		r = blk_pread(top, off, buf, pnum);
		if (r >= 0)
			r = img_is_zero(buf, pnum) ? blk_write_zeroes(base, off, pnum, false)
						   : blk_pwrite(base, off, buf, pnum);
		img_progress_update(pr, off + pnum, size);
	}
	free(buf);
	if (r < 0)
		img_io_error(r, "Block job failed");
	return r < 0 ? -1 : 0;
}

/* Make the top image read through to its backing file again. */
static int make_empty(const char *file, const char *fmt)
{
	struct blk *b = img_open(file, fmt, false, true, BLK_CACHE_WRITEBACK, BLK_SHARE_TOOL);
	struct blk_create_opts o = { .format = "qcow2" };
	struct blk_info in;
	char backing[sizeof(in.backing)], bfmt[sizeof(in.backing_fmt)];

	if (!b)
		return -1;
	if (blk_get_info(b, &in) || strcmp(in.format, "qcow2")) {
		blk_close(b);
		return -1;
	}
	if (in.nb_snapshots) {
		/* keep the snapshots: discard is all there is */
		int r = blk_discard(b, 0, blk_size(b));
		blk_close(b);
		return r < 0 ? -1 : 0;
	}
	blk_close(b);
	/* Nothing to keep but the header's settings: a fresh image is empty. */
	snprintf(backing, sizeof(backing), "%s", in.backing);
	snprintf(bfmt, sizeof(bfmt), "%s", in.backing_fmt);
	o.size = in.virtual_size;
	o.backing = backing[0] ? backing : NULL;
	o.backing_fmt = bfmt[0] ? bfmt : NULL;
	o.cluster_size = in.cluster_size;
	o.compat = in.compat;
	o.lazy_refcounts = in.lazy_refcounts;
	o.refcount_bits = in.refcount_bits;
	return blk_create(file, &o);
}

int img_commit(int argc, char **argv)
{
	const char *fmt = NULL, *base_name = NULL, *file;
	bool drop = true, progress = false, quiet = false;
	struct blk *top, *l, *base;
	struct img_progress pr;
	char *base_path;
	int c, layers = 1, r;

	while ((c = getopt(argc, argv, ":f:b:dpqt:r:")) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'b': base_name = optarg; drop = false; break;
		case 'd': drop = false; break;
		case 'p': progress = true; break;
		case 'q': quiet = true; break;
		case 't': case 'r': break;
		default: return img_bad_option(c, argv);
		}
	}
	if (optind != argc - 1)
		return img_usage_error("Expecting one image file name");
	file = argv[optind];
	top = img_open(file, fmt, true, false, BLK_CACHE_WRITEBACK, BLK_SHARE_TOOL);
	if (!top)
		return 1;
	l = blk_backing(top);
	if (!l) {
		img_error("Image does not have a backing file");
		blk_close(top);
		return 1;
	}
	if (base_name) {
		while (l && !same_file(blk_filename(l), base_name)) {
			l = blk_backing(l);
			layers++;
		}
		if (!l) {
			img_error("Did not find '%s' in the backing chain of '%s'", base_name, file);
			blk_close(top);
			return 1;
		}
	}
	/* the base, opened read-only as a backing file, becomes writable in
	 * place (its locks change from a reader's to a writer's) */
	base = l;
	base_path = strdup(blk_filename(base));
	if (blk_reopen_rw(base) < 0) {
		blk_close(top);
		free(base_path);
		return 1;
	}
	if (blk_size(base) < blk_size(top) && (r = blk_resize(base, blk_size(top))) < 0) {
		img_io_error(r, "%s: cannot grow the base image", base_path);
		blk_close(top);
		free(base_path);
		return 1;
	}
	img_progress_start(&pr, progress && !quiet);
	r = copy_down(top, layers, base, &pr);
	if (r == 0 && (r = blk_flush(base)) < 0) {
		img_io_error(r, "%s: flush failed", base_path);
		r = -1;
	}
	blk_close(top);         /* and the chain below it, the base too */
	img_progress_end(&pr);
	if (r == 0 && drop && layers == 1 && make_empty(file, fmt)) {
		img_error("%s: could not empty the image after the commit", file);
		r = -1;
	}
	free(base_path);
	if (r == 0 && !quiet)
		printf("Image committed.\n");
	return r ? 1 : 0;
}
