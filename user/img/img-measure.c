/*
 * qvm-img measure: how large a file an image of the output format needs,
 * for a new disk of --size bytes or for converting an image, as qemu-img
 * 7.2 computes it:
 *
 *   fully allocated   every cluster of the disk plus all the metadata a
 *                     fully allocated image has (qcow2: header cluster, L1
 *                     and L2 tables, refcount table and blocks)
 *   required          the same, with the data clusters the source does not
 *                     allocate left out (metadata is still counted for the
 *                     whole disk); with a backing file or full/falloc
 *                     preallocation, every cluster
 *
 * raw needs the disk's size, rounded up to whole sectors, in both cases.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "img.h"

#define L2E 8                   /* qcow2 spec: an L2 (and L1) entry */
#define REFTABLE_E 8            /* a refcount table entry */
#define MAX_L1_BYTES (32u << 20) /* QEMU's limit on the L1 table */

static uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
static uint64_t round_up(uint64_t a, uint64_t b) { return div_up(a, b) * b; }

/* The refcount table and blocks for clusters: the fixed point where they
 * count themselves too (each refcount block cluster has a refcount). */
static uint64_t refcount_meta(uint64_t clusters, uint64_t cs, unsigned refcount_bits)
{
	uint64_t per_table = cs / REFTABLE_E, per_block = cs * 8 / refcount_bits;
	uint64_t table = 0, blocks = 0, n = 0, last;

	do {
		last = n;
		blocks = div_up(clusters + table + blocks, per_block);
		table = div_up(blocks, per_table);
		n = clusters + blocks + table;
	} while (n != last);
	return (blocks + table) * cs;
}

/* A fully allocated qcow2 image of size bytes (qemu's preallocated size). */
static uint64_t qcow2_full_size(uint64_t size, uint64_t cs, unsigned refcount_bits)
{
	uint64_t disk = round_up(size, cs), meta = cs;   /* the header cluster */
	uint64_t nl2e = round_up(disk / cs, cs / L2E), nl1e;

	meta += nl2e * L2E;
	nl1e = round_up(nl2e * L2E / cs, cs / L2E);
	meta += nl1e * L2E;
	meta += refcount_meta((meta + disk) / cs, cs, refcount_bits);
	return meta + disk;
}

/* Bytes of the source's clusters that hold data (qemu counts each data
 * run to the end of its last cluster, plus the run's offset in its first). */
static int data_bytes(struct blk *src, uint64_t cs, uint64_t *out)
{
	uint64_t size = blk_size(src), off, n = 0;
	struct img_status s;

	for (off = 0; off < size; off += s.len) {
		int r = img_chain_status(src, off, size - off, &s);
		if (r < 0) {
			img_io_error(r, "Unable to get block status");
			return -1;
		}
		if (s.flags & BLK_ST_ZERO)
			continue;
		if ((s.flags & (BLK_ST_DATA | BLK_ST_ALLOCATED)) ==
		    (BLK_ST_DATA | BLK_ST_ALLOCATED)) {
			s.len = round_up(off + s.len, cs) - off;
			n += off % cs + s.len;
		}
	}
	*out = n;
	return 0;
}

struct measure {
	uint64_t required, fully;
	bool has_bitmaps;
};

static int measure_qcow2(struct blk *src, uint64_t size, const struct blk_create_opts *o,
			 struct measure *m)
{
	uint64_t cs = o->cluster_size ? o->cluster_size : 65536;
	unsigned rb = o->refcount_bits ? o->refcount_bits : 16;
	uint64_t disk = round_up(src ? img_round_sector(blk_size(src)) : size, cs);
	uint64_t required = 0;
	const char *pre = o->preallocation;

	if (div_up(disk / cs, cs / L2E) * L2E > MAX_L1_BYTES) {
		img_error("The image size is too large (try using a larger cluster size)");
		return -1;
	}
	if (src && o->backing)
		required = disk;        /* nothing known to be shared */
	else if (src && data_bytes(src, cs, &required))
		return -1;
	if (pre && (!strcmp(pre, "full") || !strcmp(pre, "falloc")))
		required = disk;
	m->fully = qcow2_full_size(disk, cs, rb);
	m->required = m->fully - disk + required;
	/* persistent bitmaps: a v3 target and a qcow2 source (none here) */
	m->has_bitmaps = o->compat != 2 && src && !strcmp(blk_format_name(src), "qcow2");
	return 0;
}

static void print(const struct measure *m, bool json)
{
	if (json) {
		printf("{\n");
		if (m->has_bitmaps)
			printf("    \"bitmaps\": 0,\n");
		printf("    \"required\": %llu,\n    \"fully-allocated\": %llu\n}\n",
		       (unsigned long long)m->required, (unsigned long long)m->fully);
		return;
	}
	printf("required size: %llu\nfully allocated size: %llu\n",
	       (unsigned long long)m->required, (unsigned long long)m->fully);
	if (m->has_bitmaps)
		printf("bitmaps size: 0\n");
}

int img_measure(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "output", required_argument, NULL, 'J' },
		{ "size", required_argument, NULL, 'S' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "image-opts", no_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	struct blk_create_opts o = { 0 };
	const char *fmt = NULL, *out_fmt = "raw", *snapshot = NULL;
	bool json = false, force_share = false, have_size = false, help = false;
	uint64_t size = 0;
	struct measure m = { 0 };
	struct blk *src = NULL;
	int c;

	while ((c = getopt_long(argc, argv, ":f:O:o:l:U", lopts, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'O': out_fmt = optarg; break;
		case 'o':
			if (img_parse_create_opts(optarg, &o, &help, "measure"))
				return 1;
			break;
		case 'l': snapshot = optarg; break;
		case 'J':
			if (img_parse_output(optarg, &json))
				return 1;
			break;
		case 'S':
			if (img_parse_size_or_error(optarg, &size))
				return 1;
			have_size = true;
			break;
		case 'U': force_share = true; break;
		case 'I': return img_usage_error("--image-opts is not supported");
		default: return img_bad_option(c, argv);
		}
	}
	if (help)
		return 0;
	if (have_size && optind < argc) {
		img_error("--size N cannot be used together with a filename.");
		return 1;
	}
	if (!have_size && optind != argc - 1) {
		img_error(optind < argc ? "Expecting one image file name"
					: "Either --size N or one filename must be specified.");
		return 1;
	}
	if (have_size && (fmt || snapshot)) {
		img_error("--image-opts, -f, and -l require a filename argument.");
		return 1;
	}
	if (img_check_format(out_fmt))
		return 1;
	if (snapshot) {
		img_error("-l: measuring a snapshot is not supported");
		return 1;
	}
	if (!have_size) {
		src = img_open(argv[optind], fmt, true, false, BLK_CACHE_WRITEBACK,
			       img_inspect_share(force_share));
		if (!src)
			return 1;
	}
	if (!strcmp(out_fmt, "qcow2")) {
		if (measure_qcow2(src, size, &o, &m)) {
			blk_close(src);
			return 1;
		}
	} else {
		m.required = src ? img_round_sector(blk_size(src)) : img_round_sector(size);
		m.fully = m.required;
	}
	if (src)
		blk_close(src);
	print(&m, json);
	return 0;
}
