/* qvm-img info: an image's format details, as text or JSON (qemu-img's
 * fields), optionally for every image of its backing chain. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "img.h"

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* qemu-img prints a snapshot's VM clock as hh:mm:ss.mmm */
static void clock_str(uint64_t ns, char *buf, size_t len)
{
	uint64_t ms = ns / 1000000, s = ms / 1000;

	snprintf(buf, len, "%02llu:%02llu:%02llu.%03llu", (unsigned long long)(s / 3600),
		 (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60),
		 (unsigned long long)(ms % 1000));
}

void img_print_snapshot_table(const struct blk_snapshot *sn, unsigned n)
{
	printf("%-10s%-18s%7s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK",
	       "ICOUNT");
	for (unsigned i = 0; i < n; i++) {
		char size[32], date[32], clk[40];
		time_t t = sn[i].date_sec;
		struct tm tm;

		img_size_str(sn[i].vm_state_size, size, sizeof(size));
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
		clock_str(sn[i].vm_clock_nsec, clk, sizeof(clk));
		printf("%-10s%-17s%8s%20s%13s%11u\n", sn[i].id, sn[i].name, size, date, clk,
		       sn[i].icount_valid);
	}
}

struct info_ctx {
	const char *filename;
	struct blk_info in;
	struct blk_snapshot *sn;
	unsigned nsn;
	char *full_backing;
};

static void print_human(const struct info_ctx *c)
{
	const struct blk_info *in = &c->in;
	char vs[32], ds[32];

	img_size_str(in->virtual_size, vs, sizeof(vs));
	img_size_str(in->disk_size, ds, sizeof(ds));
	printf("image: %s\nfile format: %s\n", c->filename, in->format);
	printf("virtual size: %s (%llu bytes)\n", vs, (unsigned long long)in->virtual_size);
	printf("disk size: %s\n", ds);
	if (in->cluster_size)
		printf("cluster_size: %u\n", in->cluster_size);
	if (in->dirty)
		printf("cleanly shut down: no\n");
	if (in->backing[0]) {
		printf("backing file: %s", in->backing);
		if (c->full_backing && strcmp(c->full_backing, in->backing))
			printf(" (actual path: %s)", c->full_backing);
		printf("\n");
		if (in->backing_fmt[0])
			printf("backing file format: %s\n", in->backing_fmt);
	}
	if (c->nsn) {
		printf("Snapshot list:\n");
		img_print_snapshot_table(c->sn, c->nsn);
	}
	if (!strcmp(in->format, "qcow2")) {
		printf("Format specific information:\n");
		printf("    compat: %s\n", in->compat == 2 ? "0.10" : "1.1");
		printf("    compression type: %s\n",
		       in->compression_type[0] ? in->compression_type : "zlib");
		if (in->compat != 2)
			printf("    lazy refcounts: %s\n", in->lazy_refcounts ? "true" : "false");
		printf("    refcount bits: %u\n", in->refcount_bits);
		if (in->compat != 2) {
			printf("    corrupt: %s\n", in->corrupt ? "true" : "false");
			printf("    extended l2: %s\n", in->extended_l2 ? "true" : "false");
		}
	}
}

static void print_json(const struct info_ctx *c, const char *ind)
{
	const struct blk_info *in = &c->in;

	printf("%s{\n", ind);
	if (c->nsn) {
		printf("%s    \"snapshots\": [\n", ind);
		for (unsigned i = 0; i < c->nsn; i++) {
			const struct blk_snapshot *s = &c->sn[i];
			printf("%s        {\n%s            \"icount\": %u,\n", ind, ind,
			       s->icount_valid);
			printf("%s            \"vm-clock-nsec\": %llu,\n", ind,
			       (unsigned long long)(s->vm_clock_nsec % 1000000000));
			printf("%s            \"name\": ", ind);
			json_str(s->name);
			printf(",\n%s            \"date-sec\": %u,\n", ind, s->date_sec);
			printf("%s            \"date-nsec\": %u,\n", ind, s->date_nsec);
			printf("%s            \"vm-clock-sec\": %llu,\n", ind,
			       (unsigned long long)(s->vm_clock_nsec / 1000000000));
			printf("%s            \"id\": ", ind);
			json_str(s->id);
			printf(",\n%s            \"vm-state-size\": %llu\n%s        }%s\n", ind,
			       (unsigned long long)s->vm_state_size, ind,
			       i + 1 < c->nsn ? "," : "");
		}
		printf("%s    ],\n", ind);
	}
	if (in->backing_fmt[0] && in->backing[0]) {
		printf("%s    \"backing-filename-format\": ", ind);
		json_str(in->backing_fmt);
		printf(",\n");
	}
	printf("%s    \"virtual-size\": %llu,\n%s    \"filename\": ", ind,
	       (unsigned long long)in->virtual_size, ind);
	json_str(c->filename);
	printf(",\n");
	if (in->cluster_size)
		printf("%s    \"cluster-size\": %u,\n", ind, in->cluster_size);
	printf("%s    \"format\": ", ind);
	json_str(in->format);
	printf(",\n%s    \"actual-size\": %llu,\n", ind, (unsigned long long)in->disk_size);
	if (!strcmp(in->format, "qcow2")) {
		printf("%s    \"format-specific\": {\n%s        \"type\": \"qcow2\",\n", ind, ind);
		printf("%s        \"data\": {\n", ind);
		printf("%s            \"compat\": \"%s\",\n", ind, in->compat == 2 ? "0.10" : "1.1");
		printf("%s            \"compression-type\": ", ind);
		json_str(in->compression_type[0] ? in->compression_type : "zlib");
		printf(",\n");
		if (in->compat != 2)
			printf("%s            \"lazy-refcounts\": %s,\n", ind,
			       in->lazy_refcounts ? "true" : "false");
		printf("%s            \"refcount-bits\": %u%s\n", ind, in->refcount_bits,
		       in->compat != 2 ? "," : "");
		if (in->compat != 2) {
			printf("%s            \"corrupt\": %s,\n", ind, in->corrupt ? "true" : "false");
			printf("%s            \"extended-l2\": %s\n", ind,
			       in->extended_l2 ? "true" : "false");
		}
		printf("%s        }\n%s    },\n", ind, ind);
	}
	if (in->backing[0]) {
		printf("%s    \"full-backing-filename\": ", ind);
		json_str(c->full_backing ? c->full_backing : in->backing);
		printf(",\n%s    \"backing-filename\": ", ind);
		json_str(in->backing);
		printf(",\n");
	}
	printf("%s    \"dirty-flag\": %s\n%s}", ind, in->dirty ? "true" : "false", ind);
}

/* Fill c for the image at path; 0 or -1 (message printed). */
static int gather(struct info_ctx *c, const char *path, const char *fmt, bool force_share)
{
	struct blk *b = img_open(path, fmt, true, true, BLK_CACHE_WRITEBACK,
				 img_inspect_share(force_share));

	memset(c, 0, sizeof(*c));
	c->filename = path;
	if (!b)
		return -1;
	if (blk_get_info(b, &c->in)) {
		img_error("%s: cannot read the image's details", path);
		blk_close(b);
		return -1;
	}
	/* qemu-img counts whole sectors (a raw file of 1000 bytes is 1024) */
	c->in.virtual_size = img_round_sector(c->in.virtual_size);
	c->sn = blk_snapshot_list(b, &c->nsn);
	if (!c->sn)
		c->nsn = 0;
	if (c->in.backing[0])
		c->full_backing = img_backing_path(path, c->in.backing);
	blk_close(b);
	return 0;
}

int img_info(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "output", required_argument, NULL, 'O' },
		{ "backing-chain", no_argument, NULL, 'B' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL, *path;
	bool json = false, chain = false, force_share = false;
	char *paths[BLK_MAX_CHAIN + 1];
	int c, n = 0, rc = 0;

	while ((c = getopt_long(argc, argv, ":f:hU", lopts, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'O':
			if (img_parse_output(optarg, &json))
				return 1;
			break;
		case 'B': chain = true; break;
		case 'U': force_share = true; break;
		case 'h': return img_usage_error("usage: info [-f fmt] [--output=ofmt] "
						 "[--backing-chain] [-U] filename");
		default: return img_bad_option(c, argv);
		}
	}
	if (optind != argc - 1)
		return img_usage_error(optind >= argc ? "Expecting one image file name"
						      : "Expecting one image file name, got more");
	if (img_check_format(fmt))
		return 1;
	path = argv[optind];
	/* The chain is walked by name, each image opened alone; a loop stops
	 * it (the block layer would refuse that chain too). */
	paths[n++] = strdup(path);
	for (int i = 0; i < n; i++) {
		struct info_ctx ctx;

		if (gather(&ctx, paths[i], i ? NULL : fmt, force_share)) {
			rc = 1;
			break;
		}
		if (json) {
			if (chain && i == 0)
				printf("[\n");
			print_json(&ctx, chain ? "    " : "");
		} else {
			if (i)
				printf("\n");
			print_human(&ctx);
		}
		if (chain && ctx.full_backing) {
			bool loop = false;
			for (int j = 0; j < n; j++)
				loop |= !strcmp(paths[j], ctx.full_backing);
			if (loop || n > BLK_MAX_CHAIN) {
				if (json)
					printf("\n]\n");
				img_error("%s: the backing chain loops or is too long", path);
				free(ctx.sn);
				free(ctx.full_backing);
				return 1;
			}
			paths[n++] = ctx.full_backing;
			ctx.full_backing = NULL;
		}
		if (json && chain)
			printf(i + 1 < n ? ",\n" : "\n]");
		if (json)
			printf("\n");
		free(ctx.sn);
		free(ctx.full_backing);
	}
	for (int i = 0; i < n; i++)
		free(paths[i]);
	return rc;
}
