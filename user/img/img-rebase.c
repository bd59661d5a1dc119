/*
 * qvm-img rebase: give an image a new backing file.  -u only rewrites the
 * header; the safe mode first copies into the image every range it does
 * not allocate itself where the old and new backing files differ, so that
 * the image reads the same afterwards.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "img.h"

#define CHUNK (2u << 20)

static int read_clamped(struct blk *b, uint64_t off, uint8_t *buf, uint64_t len)
{
	uint64_t size = b ? blk_size(b) : 0, n = off < size ? size - off : 0;
	int r = 0;

	if (n > len)
		n = len;
	if (n)
		r = blk_pread(b, off, buf, n);
	memset(buf + n, 0, len - n);
	return r;
}

/* Copy into img, cluster by cluster, what reads differently through nb. */
static int copy_differences(struct blk *img, struct blk *nb, uint32_t cluster,
			    struct img_progress *pr)
{
	uint64_t size = blk_size(img), pnum;
	uint8_t *old = img_alloc(CHUNK), *new = img_alloc(CHUNK);
	int r = 0;

	for (uint64_t off = 0; off < size && r >= 0; off += pnum) {
		uint64_t len = size - off < CHUNK ? size - off : CHUNK;
		int st = blk_block_status(img, off, len, &pnum);

		if (st < 0) {
			r = st;
			break;
		}
		if (pnum == 0 || pnum > len)
			pnum = len;
		img_progress_update(pr, off + pnum, size);
		if (st & BLK_ST_ALLOCATED)
			continue;
		/* unallocated here: the image reads its old backing file */
		r = blk_pread(img, off, old, pnum);
		if (r >= 0)
			r = read_clamped(nb, off, new, pnum);
		for (uint64_t d = 0; d < pnum && r >= 0;) {
			uint64_t end = ((off + d) / cluster + 1) * cluster - off;
			if (end > pnum)
				end = pnum;
			if (memcmp(old + d, new + d, end - d))
				r = blk_pwrite(img, off + d, old + d, end - d);
			d = end;
		}
	}
	free(old);
	free(new);
	if (r < 0)
		img_io_error(r, "Could not copy the data that differs");
	return r < 0 ? -1 : 0;
}

int img_rebase(int argc, char **argv)
{
	const char *fmt = NULL, *backing = NULL, *bfmt = NULL, *file;
	bool unsafe = false, progress = false, quiet = false, force_share = false;
	struct blk *img, *nb = NULL;
	struct img_progress pr;
	struct blk_info in;
	int c, r;

	while ((c = getopt(argc, argv, ":f:b:F:upqt:T:U")) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'b': backing = optarg; break;
		case 'F': bfmt = optarg; break;
		case 'u': unsafe = true; break;
		case 'p': progress = true; break;
		case 'q': quiet = true; break;
		case 'U': force_share = true; break;
		case 't': case 'T': break;
		default: return img_bad_option(c, argv);
		}
	}
	if (optind != argc - 1)
		return img_usage_error("Expecting one image file name");
	if (!backing)
		return img_usage_error("Must specify backing file (-b) or use '-b \"\"' to "
				       "remove it");
	if (img_check_format(fmt) || img_check_format(bfmt))
		return 1;
	file = argv[optind];
	if (!backing[0])
		backing = NULL;
	img = img_open(file, fmt, false, unsafe, BLK_CACHE_WRITEBACK, BLK_SHARE_TOOL);
	if (!img)
		return 1;
	if (strcmp(blk_format_name(img), "qcow2")) {
		img_error("%s: the %s format has no backing file", file, blk_format_name(img));
		blk_close(img);
		return 1;
	}
	if (backing && !unsafe) {
		char *p = img_backing_path(file, backing);
		/* -U shares the new backing file, as qemu-img's does */
		nb = p ? img_open(p, bfmt, true, false, BLK_CACHE_WRITEBACK,
				  force_share ? BLK_SHARE_ALL : BLK_SHARE_TOOL) : NULL;
		free(p);
		if (!nb) {
			img_error("Could not open new backing file '%s'", backing);
			blk_close(img);
			return 1;
		}
		if (!bfmt)
			bfmt = blk_format_name(nb);
	}
	r = 0;
	if (!unsafe) {
		img_progress_start(&pr, progress && !quiet);
		if (blk_get_info(img, &in) || !in.cluster_size)
			in.cluster_size = 65536;
		r = copy_differences(img, nb, in.cluster_size, &pr);
		img_progress_end(&pr);
	}
	if (r == 0 && (r = blk_set_backing(img, backing, backing ? bfmt : NULL)) < 0)
		img_io_error(r, "Could not change the backing file to '%s'",
			     backing ? backing : "");
	if (nb)
		blk_close(nb);
	blk_close(img);
	return r ? 1 : 0;
}
