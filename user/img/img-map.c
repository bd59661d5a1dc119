/*
 * qvm-img map: where each range of the virtual disk comes from, as qemu-img
 * 7.2 prints it.  Neighbouring ranges with the same answer (and, where they
 * lie in a file, contiguous there) are merged into one entry.  The human
 * form lists the ranges holding data in a file, with their offset there;
 * --output=json lists every range with its depth in the backing chain,
 * whether that layer allocates it ("present"), reads as zeros, holds data,
 * and its offset in the file where there is one.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "img.h"

struct map_entry {
	uint64_t start, length;
	bool data, zero, present, has_offset;
	int depth;
	uint64_t offset;
	const char *filename;   /* the layer's file, when has_offset */
};

static int entry_at(struct blk *b, uint64_t off, uint64_t len, struct map_entry *e)
{
	struct img_status s;
	int r = img_chain_status(b, off, len, &s);

	if (r < 0)
		return r;
	*e = (struct map_entry){
		.start = off, .length = s.len,
		.data = s.flags & BLK_ST_DATA, .zero = s.flags & BLK_ST_ZERO,
		.present = s.present, .depth = s.depth,
		.has_offset = s.flags & BLK_ST_OFFSET_VALID,
		.offset = s.host,
	};
	if (e->has_offset)
		e->filename = blk_filename(s.layer);
	return 0;
}

static bool mergeable(const struct map_entry *a, const struct map_entry *b)
{
	if (a->length == 0)
		return false;
	if (a->zero != b->zero || a->data != b->data || a->depth != b->depth ||
	    a->present != b->present || !a->filename != !b->filename ||
	    a->has_offset != b->has_offset)
		return false;
	if (a->filename && strcmp(a->filename, b->filename))
		return false;
	return !a->has_offset || a->offset + a->length == b->offset;
}

/* One entry; next (NULL for the last) may be changed: the human form does
 * not tell zeros from unallocated ranges, so it merges them (as qemu-img). */
static int dump_entry(bool json, const struct map_entry *e, struct map_entry *next)
{
	if (!json) {
		if (e->data && !e->has_offset) {
			img_error("File contains external, encrypted or compressed clusters.");
			return -1;
		}
		if (e->data && !e->zero) {
			char a[24], b[24], c[24];
			/* "%#x" spelled out: 0 is "0", the rest "0x..." */
			snprintf(a, sizeof(a), "%#llx", (unsigned long long)e->start);
			snprintf(b, sizeof(b), "%#llx", (unsigned long long)e->length);
			snprintf(c, sizeof(c), "%#llx",
				 (unsigned long long)(e->has_offset ? e->offset : 0));
			printf("%-16s%-16s%-16s%s\n", a, b, c, e->filename ? e->filename : "");
		}
		if (next && (!next->data || next->zero)) {
			next->data = false;
			next->zero = true;
		}
		return 0;
	}
	printf("{ \"start\": %llu, \"length\": %llu, \"depth\": %d, \"present\": %s, "
	       "\"zero\": %s, \"data\": %s", (unsigned long long)e->start,
	       (unsigned long long)e->length, e->depth, e->present ? "true" : "false",
	       e->zero ? "true" : "false", e->data ? "true" : "false");
	if (e->has_offset)
		printf(", \"offset\": %llu", (unsigned long long)e->offset);
	putchar('}');
	if (next)
		puts(",");
	return 0;
}

static int parse_offset(const char *arg, const char *what, uint64_t *out)
{
	if (img_parse_size(arg, out) == 0)
		return 0;
	img_error("Invalid %s specified. You may use k, M, G, T, P or E suffixes for "
		  "kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.", what);
	return -1;
}

static int walk(struct blk *b, bool json, uint64_t start, uint64_t end)
{
	struct map_entry curr = { .start = start }, next;
	int r;

	while (curr.start + curr.length < end) {
		uint64_t off = curr.start + curr.length;

		r = entry_at(b, off, end - off, &next);
		if (r < 0) {
			img_io_error(r, "Could not read file metadata");
			return -1;
		}
		if (mergeable(&curr, &next)) {
			curr.length += next.length;
			continue;
		}
		if (curr.length > 0 && dump_entry(json, &curr, &next) < 0)
			return -1;
		curr = next;
	}
	return dump_entry(json, &curr, NULL);
}

int img_map(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "output", required_argument, NULL, 'O' },
		{ "start-offset", required_argument, NULL, 's' },
		{ "max-length", required_argument, NULL, 'l' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "image-opts", no_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL;
	bool json = false, force_share = false, have_max = false;
	uint64_t start = 0, max = 0, end;
	struct blk *b;
	int c, r;

	while ((c = getopt_long(argc, argv, ":f:s:l:U", lopts, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'O':
			if (img_parse_output(optarg, &json))
				return 1;
			break;
		case 's':
			if (parse_offset(optarg, "start offset", &start))
				return 1;
			break;
		case 'l':
			if (parse_offset(optarg, "max length", &max))
				return 1;
			have_max = true;
			break;
		case 'U': force_share = true; break;
		case 'I': return img_usage_error("--image-opts is not supported");
		default: return img_bad_option(c, argv);
		}
	}
	if (optind != argc - 1)
		return img_usage_error("Expecting one image file name");
	b = img_open(argv[optind], fmt, true, false, BLK_CACHE_WRITEBACK,
		     img_inspect_share(force_share));
	if (!b)
		return 1;
	if (json)
		putchar('[');
	else
		printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
	end = img_disk_size(b);
	if (have_max && max < end && start + max < end)
		end = start + max;
	r = walk(b, json, start, end);
	if (json && r == 0)
		puts("]");
	blk_close(b);
	return r < 0 ? 1 : 0;
}
