/*
 * qvm-img: main, command dispatch, and the helpers every command shares
 * (sizes, -o options, opening, progress, errors).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "img.h"

/* "qvm-img: <message><end>" on stderr, after what stdout holds. */
static void img_message(const char *end, const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs(IMG_PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(end, stderr);
}

void img_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	img_message("\n", fmt, ap);
	va_end(ap);
}

void img_io_error(int r, const char *fmt, ...)
{
	va_list ap;
	/* -EIO: the block layer named the image's problem on a line already */
	if (r == -EIO)
		return;
	char end[128];
	snprintf(end, sizeof(end), ": %s\n", strerror(r < 0 ? -r : r));
	va_start(ap, fmt);
	img_message(end, fmt, ap);
	va_end(ap);
}

int img_parse_cache(const char *arg, enum blk_cache *cache)
{
	if (!strcmp(arg, "none") || !strcmp(arg, "directsync"))
		*cache = BLK_CACHE_NONE;
	else if (!strcmp(arg, "writeback") || !strcmp(arg, "writethrough"))
		*cache = BLK_CACHE_WRITEBACK;
	else if (!strcmp(arg, "unsafe"))
		*cache = BLK_CACHE_UNSAFE;
	else
		return img_usage_error("Invalid cache option: %s", arg);
	return 0;
}

int img_parse_output(const char *arg, bool *json)
{
	if (!strcmp(arg, "json"))
		*json = true;
	else if (!strcmp(arg, "human"))
		*json = false;
	else
		return img_usage_error("--output must be used with human or json as argument.");
	return 0;
}

int img_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	img_message(" (try '" IMG_PROG " --help')\n", fmt, ap);
	va_end(ap);
	return 1;
}

int img_parse_size(const char *s, uint64_t *out)
{
	uint64_t ip = 0, frac_num = 0, frac_den = 1, mult = 1;
	const char *p = s;
	int shift = 0;

	if (!*p || *p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (ip > (UINT64_MAX - 9) / 10)
			return -1;
		ip = ip * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (frac_den < 1000000000000ull) {
				frac_num = frac_num * 10 + (uint64_t)(*p - '0');
				frac_den *= 10;
			}
		}
	}
	switch (*p) {
	case '\0': break;
	case 'b': case 'B': shift = 0; p++; break;
	case 'k': case 'K': shift = 10; p++; break;
	case 'm': case 'M': shift = 20; p++; break;
	case 'g': case 'G': shift = 30; p++; break;
	case 't': case 'T': shift = 40; p++; break;
	case 'p': case 'P': shift = 50; p++; break;
	case 'e': case 'E': shift = 60; p++; break;
	default: return -1;
	}
	if (*p)
		return -1;
	mult = 1ull << shift;
	if (ip > UINT64_MAX / mult)
		return -1;
	/* qemu-img rounds a fractional byte count down; so do we */
	*out = ip * mult + (uint64_t)((double)frac_num / (double)frac_den * (double)mult);
	if (*out < ip * mult)
		return -1;
	/* the block layer and qcow2 keep sizes in int64_t */
	if (*out > INT64_MAX)
		return -1;
	return 0;
}

int img_parse_size_or_error(const char *s, uint64_t *out)
{
	if (img_parse_size(s, out) == 0)
		return 0;
	img_error("Invalid image size specified. You may use k, M, G, T, P or E suffixes "
		  "for kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
	return -1;
}

void img_size_str(uint64_t v, char *buf, size_t len)
{
	static const char *const suffix[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	double div = 1;
	int i = 0;

	/* the next unit once the number reaches 1000 (qemu's size_to_str) */
	while (i < 6 && (double)v >= 1000.0 * div) {
		div *= 1024;
		i++;
	}
	snprintf(buf, len, "%0.3g %sB", (double)v / div, suffix[i]);
}

int img_check_format(const char *fmt)
{
	if (!fmt || !strcmp(fmt, "raw") || !strcmp(fmt, "qcow2"))
		return 0;
	img_error("Unknown file format '%s'", fmt);
	return -1;
}

struct blk *img_open(const char *path, const char *fmt, bool readonly, bool no_backing,
		     enum blk_cache cache, enum blk_share share)
{
	struct blk_open_opts o = {
		.format = fmt, .readonly = readonly, .cache = cache, .no_backing = no_backing,
		.share = share,
	};

	if (img_check_format(fmt))
		return NULL;
	if (share == BLK_SHARE_ALL && !readonly) {
		img_error("Could not open '%s': force-share=on can only be used with read-only "
			  "images", path);
		return NULL;
	}
	/* the commonest mistake gets qemu-img's words (the block layer
	 * reports the rest, "qvm-img: <file>: <problem>") */
	if (access(path, readonly ? R_OK : R_OK | W_OK)) {
		img_error("Could not open '%s': %s", path, strerror(errno));
		return NULL;
	}
	return blk_open(path, &o);
}

char *img_backing_path(const char *img_path, const char *backing)
{
	const char *slash = strrchr(img_path, '/');
	char *r;

	if (backing[0] == '/' || !slash)
		return strdup(backing);
	if (asprintf(&r, "%.*s/%s", (int)(slash - img_path), img_path, backing) < 0)
		return NULL;
	return r;
}

static int parse_bool(const char *key, const char *val, bool *out, const char *file)
{
	if (!strcmp(val, "on") || !strcmp(val, "true")) {
		*out = true;
		return 0;
	}
	if (!strcmp(val, "off") || !strcmp(val, "false")) {
		*out = false;
		return 0;
	}
	img_error("%s: Parameter '%s' expects 'on' or 'off'", file, key);
	return -1;
}

static void print_create_help(void)
{
	printf("Supported options:\n"
	       "  backing_file=<str>     - File name of a base image\n"
	       "  backing_fmt=<str>      - Image format of the base image\n"
	       "  cluster_size=<size>    - qcow2 cluster size\n"
	       "  compat=<str>           - Compatibility level (v2 [0.10], v3 [1.1])\n"
	       "  compression_type=<str> - Compression method (zlib)\n"
	       "  extended_l2=<bool>     - Extended L2 tables (off)\n"
	       "  lazy_refcounts=<bool>  - Postpone refcount updates\n"
	       "  preallocation=<str>    - off, metadata, falloc, full\n"
	       "  refcount_bits=<num>    - Width of a reference count entry in bits\n"
	       "  size=<size>            - Virtual disk size\n");
}

static int apply_create_opt(char *key, char *val, struct blk_create_opts *o, const char *file)
{
	uint64_t n;

	if (!val) {
		img_error("%s: Parameter '%s' needs a value", file, key);
		return -1;
	}
	if (!strcmp(key, "size")) {
		if (img_parse_size_or_error(val, &n))
			return -1;
		o->size = n;
	} else if (!strcmp(key, "cluster_size")) {
		if (img_parse_size(val, &n) || n < 512 || n > (2u << 20) || (n & (n - 1))) {
			img_error("%s: Cluster size must be a power of two between 512 and 2048k",
				  file);
			return -1;
		}
		o->cluster_size = (uint32_t)n;
	} else if (!strcmp(key, "compat")) {
		if (!strcmp(val, "0.10") || !strcmp(val, "v2"))
			o->compat = 2;
		else if (!strcmp(val, "1.1") || !strcmp(val, "v3"))
			o->compat = 3;
		else {
			img_error("%s: Invalid parameter value for 'compat': '%s'", file, val);
			return -1;
		}
	} else if (!strcmp(key, "lazy_refcounts")) {
		return parse_bool(key, val, &o->lazy_refcounts, file);
	} else if (!strcmp(key, "refcount_bits")) {
		char *end;
		unsigned long v = strtoul(val, &end, 10);
		if (*end || v < 1 || v > 64 || (v & (v - 1))) {
			img_error("%s: Refcount width must be a power of two and may not exceed "
				  "64 bits", file);
			return -1;
		}
		o->refcount_bits = (uint32_t)v;
	} else if (!strcmp(key, "preallocation")) {
		if (strcmp(val, "off") && strcmp(val, "metadata") && strcmp(val, "falloc") &&
		    strcmp(val, "full")) {
			img_error("%s: Invalid parameter value for 'preallocation': '%s'",
				  file, val);
			return -1;
		}
		o->preallocation = val;
	} else if (!strcmp(key, "backing_file")) {
		o->backing = val;
	} else if (!strcmp(key, "backing_fmt")) {
		o->backing_fmt = val;
	} else if (!strcmp(key, "extended_l2")) {
		bool on;
		if (parse_bool(key, val, &on, file))
			return -1;
		if (on) {
			img_error("%s: Extended L2 tables are not supported", file);
			return -1;
		}
	} else if (!strcmp(key, "compression_type")) {
		if (strcmp(val, "zlib")) {
			img_error("%s: Unsupported compression type '%s'", file, val);
			return -1;
		}
	} else {
		img_error("%s: Invalid parameter '%s'", file, key);
		return -1;
	}
	return 0;
}

/* The strings o ends up pointing to stay allocated (a tool's lifetime). */
int img_parse_create_opts(const char *list, struct blk_create_opts *o, bool *help,
			  const char *file)
{
	char *copy = strdup(list), *save = NULL, *tok;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!strcmp(tok, "help") || !strcmp(tok, "?")) {
			print_create_help();
			*help = true;
			continue;
		}
		if (eq)
			*eq++ = '\0';
		if (apply_create_opt(tok, eq, o, file))
			return -1;
	}
	return 0;
}

void img_print_formatting(const char *file, const struct blk_create_opts *o)
{
	bool qcow2 = !strcmp(o->format, "qcow2");
	const char *pre = o->preallocation;

	printf("Formatting '%s', fmt=%s", file, o->format);
	if (!qcow2) {
		printf(" size=%llu", (unsigned long long)o->size);
		if (pre && strcmp(pre, "off"))
			printf(" preallocation=%s", pre);
		printf("\n");
		return;
	}
	printf(" cluster_size=%u extended_l2=off", o->cluster_size ? o->cluster_size : 65536);
	if (pre && strcmp(pre, "off"))
		printf(" preallocation=%s", pre);
	printf(" compression_type=zlib size=%llu", (unsigned long long)o->size);
	if (o->backing)
		printf(" backing_file=%s", o->backing);
	if (o->backing_fmt)
		printf(" backing_fmt=%s", o->backing_fmt);
	if (o->compat == 2)
		printf(" compat=0.10");
	printf(" lazy_refcounts=%s refcount_bits=%u\n", o->lazy_refcounts ? "on" : "off",
	       o->refcount_bits ? o->refcount_bits : 16);
	fflush(stdout);
}

int img_create_image(const char *file, const struct blk_create_opts *o, bool quiet)
{
	if (strcmp(o->format, "qcow2") && (o->backing || o->backing_fmt)) {
		img_error("%s: Backing file not supported for file format '%s'", file, o->format);
		return -1;
	}
	if (!strcmp(o->format, "raw") && o->preallocation && !strcmp(o->preallocation, "metadata")) {
		img_error("%s: Invalid parameter value for 'preallocation': 'metadata'", file);
		return -1;
	}
	if (o->compat == 2 && o->lazy_refcounts) {
		img_error("%s: Lazy refcounts only supported with compatibility level 1.1 and "
			  "above (use compat=1.1 or greater)", file);
		return -1;
	}
	if (!quiet)
		img_print_formatting(file, o);
	/* blk_create rounds the size up to whole sectors, as qemu-img does */
	return blk_create(file, o) ? -1 : 0;
}

void img_progress_start(struct img_progress *p, bool on)
{
	p->on = on;
	p->last = -1;
	img_progress_update(p, 0, 1);
}

void img_progress_update(struct img_progress *p, uint64_t done, uint64_t total)
{
	double pct = total ? (double)done * 100.0 / (double)total : 100.0;

	if (!p->on)
		return;
	if (pct > 100)
		pct = 100;
	/* qemu-img redraws each time another percent is done */
	if (p->last >= 0 && pct - p->last < 1.0 && pct < 100)
		return;
	if (pct == p->last)
		return;
	p->last = pct;
	fprintf(stderr, "    (%.2f/100%%)\r", pct);
	fflush(stderr);
}

void img_progress_end(struct img_progress *p)
{
	if (!p->on)
		return;
	img_progress_update(p, 1, 1);
	fputc('\n', stderr);
}

void *img_alloc(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len ? len : 1)) {
		img_error("out of memory (%zu bytes)", len);
		exit(1);
	}
	return p;
}

bool img_is_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	const uint64_t *q;
	size_t i = 0;

	while (len && ((uintptr_t)p & 7)) {
		if (*p++)
			return false;
		len--;
	}
	q = (const uint64_t *)(const void *)p;
	for (; i + 8 <= len; i += 8)
		if (*q++)
			return false;
	for (p = (const uint8_t *)q; i < len; i++)
		if (*p++)
			return false;
	return true;
}

void img_getopt_reset(void)
{
	optind = 0;
	opterr = 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
} commands[] = {
	{ "bench", img_bench, "bench [-c count] [-d depth] [-f fmt] [--flush-interval=N] [-n] "
	  "[-o offset] [-q] [-s buffer_size] [-S step_size] [-t cache] [-w] [-P pattern] [-U] "
	  "filename" },
	{ "check", img_check, "check [-f fmt] [--output=ofmt] [-r [leaks | all]] [-q] [-U] "
	  "filename" },
	{ "compare", img_compare, "compare [-f fmt] [-F fmt] [-T src_cache] [-p] [-q] [-s] [-U] "
	  "filename1 filename2" },
	{ "commit", img_commit, "commit [-f fmt] [-b base] [-d] [-p] [-q] filename" },
	{ "convert", img_convert, "convert [-U] [-c] [-p] [-q] [-n] [-W] [-f fmt] [-O output_fmt] "
	  "[-B backing_file [-F backing_fmt]] [-o options] [-S sparse_size] "
	  "filename [filename2 [...]] output_filename" },
	{ "create", img_create, "create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] "
	  "[-o options] filename [size]" },
	{ "info", img_info, "info [-f fmt] [--output=ofmt] [--backing-chain] [-U] filename" },
	{ "map", img_map, "map [-f fmt] [--start-offset=offset] [--max-length=len] "
	  "[--output=ofmt] [-U] filename" },
	{ "measure", img_measure, "measure [--output=ofmt] [-O output_fmt] [-o options] "
	  "[--size N | [-f fmt] filename]" },
	{ "rebase", img_rebase, "rebase [-U] [-f fmt] [-p] [-q] [-u] [-b backing_file] "
	  "[-F backing_fmt] filename" },
	{ "resize", img_resize, "resize [-f fmt] [--shrink] [-q] filename [+ | -]size" },
	{ "snapshot", img_snapshot, "snapshot [-U] [-q] [-l | -a snapshot | -c snapshot | "
	  "-d snapshot] filename" },
};

static void help(void)
{
	printf(IMG_PROG " version " QVM_VERSION ", the qvm disk image tool\n"
	       "usage: " IMG_PROG " [standard options] command [command options]\n\n"
	       "Standard options:\n"
	       "  -h, --help       display this help and exit\n"
	       "  -V, --version    output version information and exit\n\n"
	       "Command syntax:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %s\n", commands[i].usage);
	printf("\nSupported formats: raw qcow2\n"
	       "Sizes take the suffixes k, M, G, T, P, E (powers of 1024); no suffix: bytes.\n"
	       "Exit status of check: 0 no errors, 1 check not completed, 2 corruptions,\n"
	       "3 leaks only, 63 the format has no check.\n");
}

int main(int argc, char **argv)
{
	const char *cmd;

	log_set_prog(IMG_PROG);   /* the block layer's messages too */
	if (argc < 2)
		return img_usage_error("Not enough arguments");
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		help();
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf(IMG_PROG " version " QVM_VERSION "\n");
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(cmd, commands[i].name))
			continue;
		if (argc == 3 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help"))) {
			printf("usage: " IMG_PROG " %s\n", commands[i].usage);
			return 0;
		}
		img_getopt_reset();
		return commands[i].fn(argc - 1, argv + 1);
	}
	if (cmd[0] == '-')
		return img_usage_error("unrecognized option '%s'", cmd);
	return img_usage_error("Command not found: %s", cmd);
}

int img_bad_option(int c, char **argv)
{
	if (c == ':') {
		if (optopt)
			return img_usage_error("option requires an argument -- '%c'", optopt);
		return img_usage_error("option '%s' requires an argument", argv[optind - 1]);
	}
	if (optopt)
		return img_usage_error("invalid option -- '%c'", optopt);
	return img_usage_error("unrecognized option '%s'", argv[optind - 1]);
}

int img_block_status(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum)
{
	int st = blk_block_status(b, off, len, pnum);
	struct blk *bk;

	while (st >= 0 && !(st & (BLK_ST_DATA | BLK_ST_ZERO)) && (bk = blk_backing(b))) {
		uint64_t bsize = blk_size(bk), p = 0;
		int s;

		if (off >= bsize)
			return st | BLK_ST_ZERO;        /* past the backing file's end */
		len = *pnum < bsize - off ? *pnum : bsize - off;
		s = blk_block_status(bk, off, len, &p);
		if (s < 0)
			return s;
		*pnum = p && p < len ? p : len;
		st = (st & BLK_ST_ALLOCATED) | (s & ~BLK_ST_ALLOCATED);
		b = bk;
	}
	if (st >= 0 && !(st & (BLK_ST_DATA | BLK_ST_ZERO)))
		st |= BLK_ST_ZERO;      /* unallocated at the bottom: zeros */
	return st;
}
