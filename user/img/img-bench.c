/*
 * qvm-img bench: count requests of one size sent with depth of them in
 * flight, through the asynchronous path a device model uses (blk_attach,
 * blk_submit, completions in the main loop), timed as qemu-img bench is.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "img.h"
#include "mainloop.h"

struct bench {
	struct blk *b;
	uint64_t image_size, start, offset, bufsize, step;
	uint64_t count, sent, done;
	unsigned depth, in_flight;
	uint64_t flush_interval;
	bool write, drain_on_flush, flushing, quiet;
	uint64_t next_flush;            /* sent count at which to flush */
	int error;
	struct blk_req *reqs, flush_req;
	struct iovec *iov;
	struct blk_req **free_reqs;
	unsigned nfree;
};

static void submit_more(struct bench *s);

static void flush_done(struct blk_req *req, int ret)
{
	struct bench *s = req->opaque;

	if (ret < 0 && !s->error)
		s->error = ret;
	s->flushing = false;
	s->in_flight--;
	submit_more(s);
}

static void req_done(struct blk_req *req, int ret)
{
	struct bench *s = req->opaque;

	if (ret < 0 && !s->error)
		s->error = ret;
	s->done++;
	s->in_flight--;
	s->free_reqs[s->nfree++] = req;
	submit_more(s);
}

static void submit_more(struct bench *s)
{
	while (!s->error && !s->flushing && s->sent < s->count) {
		struct blk_req *r;

		if (s->flush_interval && s->sent == s->next_flush && s->sent) {
			/* qemu-img bench waits for the writes before the flush
			 * unless --no-drain */
			if (s->drain_on_flush && s->in_flight)
				return;
			s->flushing = true;
			s->next_flush += s->flush_interval;
			s->in_flight++;
			blk_submit(s->b, &s->flush_req);
			return;
		}
		if (!s->nfree)
			return;
		r = s->free_reqs[--s->nfree];
		r->offset = s->offset;
		s->offset += s->step;
		if (s->offset > s->image_size - s->bufsize)
			s->offset = s->start;
		s->sent++;
		s->in_flight++;
		blk_submit(s->b, r);
	}
}

static int parse_num(const char *arg, const char *what, uint64_t *out, bool size)
{
	char *end;

	if (size)
		return img_parse_size(arg, out) ? img_usage_error("Invalid %s specified", what)
						 : 0;
	*out = strtoull(arg, &end, 0);
	if (!*arg || *end || arg[0] == '-')
		return img_usage_error("Invalid %s specified", what);
	return 0;
}

static int run(struct bench *s)
{
	struct mainloop *l = mainloop_new();
	uint64_t t0;

	if (!l || blk_attach(s->b, l)) {
		img_error("%s: cannot start asynchronous I/O", blk_filename(s->b));
		return -1;
	}
	t0 = clock_ns();
	submit_more(s);
	while (s->in_flight || (!s->error && s->sent < s->count))
		if (mainloop_run_once(l, 1000) < 0)
			break;
	blk_drain(s->b);
	if (!s->error && !s->quiet)
		printf("Run completed in %3.3f seconds.\n", (double)(clock_ns() - t0) / 1e9);
	/* the main loop is left to the exit: the image still refers to it */
	return s->error ? -1 : 0;
}

int img_bench(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "flush-interval", required_argument, NULL, 'I' },
		{ "no-drain", no_argument, NULL, 'D' },
		{ "pattern", required_argument, NULL, 'P' },
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench s = { .count = 75000, .depth = 64, .bufsize = 4096, .drain_on_flush = true };
	enum blk_cache cache = BLK_CACHE_WRITEBACK;
	const char *fmt = NULL, *file;
	bool step_set = false, quiet = false, force_share = false;
	uint64_t n, pattern = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":c:d:f:no:qs:S:t:wi:P:U", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (parse_num(optarg, "request count", &s.count, false) || !s.count)
				return 1;
			break;
		case 'd':
			if (parse_num(optarg, "queue depth", &n, false) || !n || n > 4096)
				return img_usage_error("Invalid queue depth specified");
			s.depth = (unsigned)n;
			break;
		case 'f': fmt = optarg; break;
		case 'n': cache = BLK_CACHE_NONE; break;
		case 'o':
			if (parse_num(optarg, "offset", &s.start, true))
				return 1;
			break;
		case 'q': quiet = s.quiet = true; break;
		case 's':
			if (parse_num(optarg, "buffer size", &s.bufsize, true) || !s.bufsize ||
			    s.bufsize > (1u << 30))
				return img_usage_error("Invalid buffer size specified");
			break;
		case 'S':
			if (parse_num(optarg, "step size", &s.step, true))
				return 1;
			step_set = true;
			break;
		case 't':
			if (img_parse_cache(optarg, &cache))
				return 1;
			break;
		case 'w': s.write = true; break;
		case 'i':
			if (strcmp(optarg, "native") && strcmp(optarg, "threads") &&
			    strcmp(optarg, "io_uring"))
				return img_usage_error("Invalid aio option: %s", optarg);
			break;
		case 'I':
			if (parse_num(optarg, "flush interval", &s.flush_interval, false))
				return 1;
			break;
		case 'D': s.drain_on_flush = false; break;
		case 'P':
			if (parse_num(optarg, "pattern byte", &pattern, false) || pattern > 255)
				return img_usage_error("Invalid pattern byte specified");
			break;
		case 'U': force_share = true; break;
		default: return img_bad_option(c, argv);
		}
	}
	if (optind != argc - 1)
		return img_usage_error("Expecting one image file name");
	if (s.flush_interval && !s.write)
		return img_usage_error("--flush-interval is only available in write tests");
	if (!step_set)
		s.step = s.bufsize;
	file = argv[optind];
	s.b = img_open(file, fmt, !s.write, false, cache,
		       s.write ? (force_share ? BLK_SHARE_ALL : BLK_SHARE_TOOL)
			       : img_inspect_share(force_share));
	if (!s.b)
		return 1;
	s.image_size = blk_size(s.b);
	if (s.image_size < s.bufsize || s.start > s.image_size - s.bufsize) {
		img_error("%s: the image is too small for the requests (offset %llu, size %llu)",
			  file, (unsigned long long)s.start, (unsigned long long)s.bufsize);
		blk_close(s.b);
		return 1;
	}
	s.offset = s.start;
	s.next_flush = s.flush_interval;
	s.reqs = calloc(s.depth, sizeof(*s.reqs));
	s.iov = calloc(s.depth, sizeof(*s.iov));
	s.free_reqs = calloc(s.depth, sizeof(*s.free_reqs));
	if (!s.reqs || !s.iov || !s.free_reqs) {
		img_error("out of memory");
		return 1;
	}
	for (unsigned i = 0; i < s.depth; i++) {
		s.iov[i].iov_base = img_alloc(s.bufsize);
		s.iov[i].iov_len = s.bufsize;
		memset(s.iov[i].iov_base, (int)pattern, s.bufsize);
		s.reqs[i] = (struct blk_req){
			.op = s.write ? BLK_WRITE : BLK_READ, .len = s.bufsize,
			.iov = &s.iov[i], .iovcnt = 1, .done = req_done, .opaque = &s,
		};
		s.free_reqs[s.nfree++] = &s.reqs[i];
	}
	s.flush_req = (struct blk_req){ .op = BLK_FLUSH, .done = flush_done, .opaque = &s };
	if (!quiet) {
		printf("Sending %llu %s requests, %llu bytes each, %u in parallel "
		       "(starting at offset %llu, step size %llu)\n",
		       (unsigned long long)s.count, s.write ? "write" : "read",
		       (unsigned long long)s.bufsize, s.depth, (unsigned long long)s.start,
		       (unsigned long long)s.step);
		if (s.flush_interval)
			printf("Sending flush every %llu requests\n",
			       (unsigned long long)s.flush_interval);
		fflush(stdout);
	}
	rc = run(&s);
	if (rc)
		img_io_error(s.error, "%s: request failed", file);
	blk_close(s.b);
	for (unsigned i = 0; i < s.depth; i++)
		free(s.iov[i].iov_base);
	free(s.reqs);
	free(s.iov);
	free(s.free_reqs);
	return rc ? 1 : 0;
}
