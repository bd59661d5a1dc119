/*
 * qvm-img convert: copy the virtual disk of one or more images (end to end)
 * into a new image.  Ranges that read as zeros are skipped so the output
 * stays sparse (the block status first, then a zero scan of what was read,
 * in -S sized pieces); -B writes only what differs from the new backing
 * file; -c writes compressed clusters.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "img.h"

#define CHUNK (2u << 20)

struct convert {
	struct blk **src;
	/* each source's size rounded up to whole sectors, as qemu-img sees
	 * it: what lies past blk_size reads as zeros */
	uint64_t *src_size;
	int nsrc;
	uint64_t total;
	struct blk *out, *bk;   /* bk: the -B backing, for comparing */
	uint64_t bk_size;
	bool compress, no_create;
	bool force_share;       /* -U: the sources are opened shared */
	uint64_t sparse;        /* -S granule; 0: write everything */
	uint32_t cluster;
	uint8_t *bkbuf;         /* -B: the backing file's bytes */
};

/* Read [off, off+len) of the concatenated sources. */
static int read_src(struct convert *c, uint64_t off, uint8_t *buf, uint64_t len)
{
	uint64_t base = 0;

	for (int i = 0; i < c->nsrc && len; i++) {
		uint64_t end = base + c->src_size[i];
		if (off < end) {
			uint64_t n = end - off < len ? end - off : len;
			uint64_t real = blk_size(c->src[i]), l = off - base;
			uint64_t m = l < real ? (real - l < n ? real - l : n) : 0;
			int r = m ? blk_pread(c->src[i], l, buf, m) : 0;
			memset(buf + m, 0, n - m);
			if (r < 0) {
				img_io_error(r, "error while reading at byte %llu",
					     (unsigned long long)off);
				return -1;
			}
			buf += n;
			off += n;
			len -= n;
		}
		base = end;
	}
	return 0;
}

/* Does [off, off+len) of the sources read as zeros, by block status? */
static int src_is_zero(struct convert *c, uint64_t off, uint64_t len, bool *zero)
{
	uint64_t base = 0;

	*zero = true;
	for (int i = 0; i < c->nsrc && len; i++) {
		uint64_t end = base + c->src_size[i];
		uint64_t real = base + blk_size(c->src[i]);
		while (off < real && len) {
			uint64_t n = real - off < len ? real - off : len, pnum = 0;
			int st = img_block_status(c->src[i], off - base, n, &pnum);
			if (st < 0) {
				img_io_error(st, "error while reading block status at byte %llu",
					     (unsigned long long)off);
				return -1;
			}
			if (!(st & BLK_ST_ZERO) && (st & BLK_ST_DATA)) {
				*zero = false;
				return 0;
			}
			if (pnum == 0 || pnum > n)
				pnum = n;
			off += pnum;
			len -= pnum;
		}
		/* the sector padding past the real end reads as zeros */
		if (off < end && len) {
			uint64_t n = end - off < len ? end - off : len;
			off += n;
			len -= n;
		}
		base = end;
	}
	return 0;
}

static int read_backing(struct convert *c, uint64_t off, uint8_t *buf, uint64_t len)
{
	uint64_t n = off < c->bk_size ? c->bk_size - off : 0;
	int r = 0;

	if (n > len)
		n = len;
	if (n)
		r = blk_pread(c->bk, off, buf, n);
	memset(buf + n, 0, len - n);
	if (r < 0)
		img_io_error(r, "error while reading the backing file at byte %llu",
			     (unsigned long long)off);
	return r < 0 ? -1 : 0;
}

enum act { SKIP, WRITE, ZERO };

static int emit(struct convert *c, enum act a, uint64_t off, const uint8_t *p, uint64_t len)
{
	int r = 0;

	if (a == SKIP || !len)
		return 0;
	if (a == ZERO)
		/* over a backing file, unmapping could show its data */
		r = blk_write_zeroes(c->out, off, len, !c->bk && !blk_backing(c->out));
	else if (!c->compress)
		r = blk_pwrite(c->out, off, p, len);
	else {
		/* one cluster at a time: off is cluster-aligned here */
		for (uint64_t d = 0; d < len && r >= 0; d += c->cluster) {
			uint64_t n = len - d < c->cluster ? len - d : c->cluster;
			r = blk_write_compressed(c->out, off + d, p + d, n);
		}
	}
	if (r < 0) {
		img_io_error(r, "error while writing at byte %llu", (unsigned long long)off);
		return -1;
	}
	return 0;
}

/* A chunk the reader thread has read (or found to be zeros). */
struct slot {
	uint64_t off, len;
	bool zero, full;
	uint8_t *buf;
};

/* Decide per granule what the output needs, and write it in runs. */
static int write_chunk(struct convert *c, struct slot *sl)
{
	uint64_t off = sl->off, len = sl->len;
	uint64_t g = c->compress ? c->cluster : c->sparse ? c->sparse : len;
	const uint8_t *buf = sl->buf;
	enum act run = SKIP;
	uint64_t run_start = 0;

	if (sl->zero && c->sparse && !c->bk && !c->no_create)
		return 0;               /* the new image reads zeros already */
	if (c->bk && read_backing(c, off, c->bkbuf, len))
		return -1;
	for (uint64_t d = 0; d < len; d += g) {
		uint64_t n = len - d < g ? len - d : g;
		bool z = (c->sparse || c->compress) && img_is_zero(buf + d, n);
		enum act a;

		if (c->bk)
			a = !memcmp(buf + d, c->bkbuf + d, n) ? SKIP : z ? ZERO : WRITE;
		else if (z)
			a = c->no_create ? ZERO : SKIP;
		else
			a = WRITE;
		if (a != run) {
			if (emit(c, run, off + run_start, buf + run_start, d - run_start))
				return -1;
			run = a;
			run_start = d;
		}
	}
	return emit(c, run, off + run_start, buf + run_start, len - run_start);
}

static int read_chunk(struct convert *c, struct slot *sl)
{
	if (src_is_zero(c, sl->off, sl->len, &sl->zero))
		return -1;
	if (sl->zero) {
		memset(sl->buf, 0, sl->len);
		return 0;
	}
	return read_src(c, sl->off, sl->buf, sl->len);
}

/*
 * The sources are read by a thread of their own, NSLOTS chunks ahead of
 * the writes, so that reading and writing overlap (the block layer
 * serialises I/O per image, not across images).
 */
#define NSLOTS 3

struct pipeline {
	struct convert *c;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct slot slot[NSLOTS];
	uint64_t chunk;
	bool stop, read_error;
};

static void *reader(void *opaque)
{
	struct pipeline *p = opaque;
	uint64_t total = p->c->total;
	unsigned i = 0;

	for (uint64_t off = 0; off < total; off += p->chunk, i = (i + 1) % NSLOTS) {
		struct slot *sl = &p->slot[i];

		pthread_mutex_lock(&p->lock);
		while (sl->full && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		pthread_mutex_unlock(&p->lock);
		if (p->stop)
			break;
		sl->off = off;
		sl->len = total - off < p->chunk ? total - off : p->chunk;
		int r = read_chunk(p->c, sl);
		pthread_mutex_lock(&p->lock);
		if (r)
			p->read_error = true;
		else
			sl->full = true;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		if (r)
			break;
	}
	return NULL;
}

static int copy_all(struct convert *c, uint64_t chunk, struct img_progress *pr)
{
	struct pipeline p = { .c = c, .chunk = chunk };
	pthread_t th;
	unsigned i = 0;
	int rc = 0;

	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);
	for (int k = 0; k < NSLOTS; k++)
		p.slot[k].buf = img_alloc(chunk);
	if (pthread_create(&th, NULL, reader, &p)) {
		img_error("cannot start a thread");
		return -1;
	}
	for (uint64_t off = 0; off < c->total; off += chunk, i = (i + 1) % NSLOTS) {
		struct slot *sl = &p.slot[i];

		pthread_mutex_lock(&p.lock);
		while (!sl->full && !p.read_error)
			pthread_cond_wait(&p.cond, &p.lock);
		pthread_mutex_unlock(&p.lock);
		if (!sl->full) {
			rc = -1;
			break;
		}
		if (write_chunk(c, sl)) {
			rc = -1;
			break;
		}
		img_progress_update(pr, sl->off + sl->len, c->total);
		pthread_mutex_lock(&p.lock);
		sl->full = false;
		pthread_cond_broadcast(&p.cond);
		pthread_mutex_unlock(&p.lock);
	}
	pthread_mutex_lock(&p.lock);
	p.stop = true;
	pthread_cond_broadcast(&p.cond);
	pthread_mutex_unlock(&p.lock);
	pthread_join(th, NULL);
	for (int k = 0; k < NSLOTS; k++)
		free(p.slot[k].buf);
	pthread_mutex_destroy(&p.lock);
	pthread_cond_destroy(&p.cond);
	return rc;
}

static int open_sources(struct convert *c, char **names, int n, const char *fmt)
{
	c->src = calloc((size_t)n, sizeof(*c->src));
	c->src_size = calloc((size_t)n, sizeof(*c->src_size));
	if (!c->src || !c->src_size)
		return -1;
	for (int i = 0; i < n; i++) {
		c->src[i] = img_open(names[i], fmt, true, false, BLK_CACHE_WRITEBACK,
				     c->force_share ? BLK_SHARE_ALL : BLK_SHARE_TOOL);
		if (!c->src[i])
			return -1;
		c->nsrc = i + 1;
		c->src_size[i] = img_round_sector(blk_size(c->src[i]));
		c->total += c->src_size[i];
	}
	return 0;
}

static int open_output(struct convert *c, const char *out, const char *out_fmt,
		       struct blk_create_opts *o, enum blk_cache cache, bool quiet)
{
	if (!c->no_create) {
		o->format = out_fmt;
		o->size = c->total;
		if (o->backing && !o->backing_fmt) {
			char *p = img_backing_path(out, o->backing);
			struct blk *b = p ? img_open(p, NULL, true, true, BLK_CACHE_WRITEBACK,
						     BLK_SHARE_INSPECT) : NULL;
			free(p);
			if (!b)
				return -1;
			o->backing_fmt = strdup(blk_format_name(b));
			blk_close(b);
		}
		if (img_create_image(out, o, true))
			return -1;
	}
	(void)quiet;
	/* with -B, partial clusters copy the rest from the backing file */
	c->out = img_open(out, c->no_create ? out_fmt : o->format, false,
			    !o->backing && !c->no_create, cache, BLK_SHARE_TOOL);
	if (!c->out)
		return -1;
	if (c->no_create && blk_size(c->out) < c->total) {
		img_error("%s: the output image is smaller than the input", out);
		return -1;
	}
	if (o->backing) {
		char *p = img_backing_path(out, o->backing);
		c->bk = p ? img_open(p, o->backing_fmt, true, false, BLK_CACHE_WRITEBACK,
				     BLK_SHARE_TOOL) : NULL;
		free(p);
		if (!c->bk)
			return -1;
		c->bk_size = blk_size(c->bk);
	}
	c->cluster = blk_cluster_size(c->out);
	if (c->compress && !c->cluster) {
		img_error("Compression not supported for this file format");
		return -1;
	}
	return 0;
}

static void close_all(struct convert *c)
{
	for (int i = 0; i < c->nsrc; i++)
		blk_close(c->src[i]);
	if (c->bk)
		blk_close(c->bk);
	free(c->src);
	free(c->src_size);
	free(c->bkbuf);
}

int img_convert(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "force-share", no_argument, NULL, 'U' },
		{ "target-image-opts", no_argument, NULL, 'X' },
		{ NULL, 0, NULL, 0 },
	};
	struct blk_create_opts o = { 0 };
	struct convert c = { .sparse = 4096 };
	const char *fmt = NULL, *out_fmt = "raw", *out;
	enum blk_cache cache = BLK_CACHE_UNSAFE;
	bool progress = false, quiet = false, help = false;
	struct img_progress pr;
	char *opts[16];
	int nopts = 0, ch, rc = 1;
	uint64_t n;

	while ((ch = getopt_long(argc, argv, ":f:O:o:cpnWS:B:F:qt:T:Um:", lopts, NULL)) != -1) {
		switch (ch) {
		case 'f': fmt = optarg; break;
		case 'O': out_fmt = optarg; break;
		case 'o':
			if (nopts == 16)
				return img_usage_error("too many -o options");
			opts[nopts++] = optarg;
			break;
		case 'c': c.compress = true; break;
		case 'p': progress = true; break;
		case 'n': c.no_create = true; break;
		case 'U': c.force_share = true; break;
		case 'W': case 'T': case 'm': break;
		case 'S':
			if (img_parse_size(optarg, &n) || (n && n % 512) || n > (1u << 30))
				return img_usage_error("Invalid buffer size for sparse output "
						       "specified");
			c.sparse = n;
			break;
		case 'B': o.backing = optarg; break;
		case 'F': o.backing_fmt = optarg; break;
		case 'q': quiet = true; break;
		case 't':
			if (img_parse_cache(optarg, &cache))
				return 1;
			break;
		case 'X': return img_usage_error("--target-image-opts is not supported");
		default: return img_bad_option(ch, argv);
		}
	}
	for (int i = 0; i < nopts; i++)
		if (img_parse_create_opts(opts[i], &o, &help, "convert"))
			return 1;
	if (help)
		return 0;
	if (argc - optind < 2)
		return img_usage_error("Expecting at least one input and one output file name");
	if (img_check_format(fmt) || img_check_format(out_fmt))
		return 1;
	if (o.backing && strcmp(out_fmt, "qcow2")) {
		img_error("Backing file not supported for file format '%s'", out_fmt);
		return 1;
	}
	if (c.no_create && (nopts || o.backing)) {
		img_error("-n cannot be used with -o or -B");
		return 1;
	}
	out = argv[argc - 1];
	if (open_sources(&c, argv + optind, argc - 1 - optind, fmt))
		goto done;
	if (open_output(&c, out, out_fmt, &o, cache, quiet))
		goto done;
	n = CHUNK;
	if (c.cluster > n)
		n = c.cluster;
	if (c.bk)
		c.bkbuf = img_alloc(n);
	img_progress_start(&pr, progress && !quiet);
	if (copy_all(&c, n, &pr))
		goto done;
	if ((ch = blk_flush(c.out)) < 0) {
		img_io_error(ch, "%s: error while flushing", out);
		goto done;
	}
	img_progress_end(&pr);
	rc = 0;
done:
	if (c.out)
		blk_close(c.out);
	close_all(&c);
	return rc;
}
