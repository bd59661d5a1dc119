/* The block layer's asynchronous engine (aio.c) with a real main loop:
 * libaio with and without O_DIRECT, the thread pool, flush, discard and
 * write-zeroes, errors, drain. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "unit.h"
#include "blktest.h"
#include "mainloop.h"
#include "block/block-int.h"
#include "block/core.h"

#define DISK (4 * MiB)
#define NREQ 64
#define CHUNK (DISK / NREQ)

struct ctx {
	struct mainloop *loop;
	pthread_t main;
	atomic_int done;
	atomic_int wrong_thread;
};

struct io {
	struct blk_req req;
	struct iovec iov[3];
	uint8_t *buf;
	int ret;
	struct ctx *c;
};

static void io_done(struct blk_req *req, int ret)
{
	struct io *io = container_of(req, struct io, req);
	io->ret = ret;
	if (!pthread_equal(pthread_self(), io->c->main))
		atomic_fetch_add(&io->c->wrong_thread, 1);
	atomic_fetch_add(&io->c->done, 1);
}

/* Run the loop until n requests are done (waiting for the event, with a
 * generous bound so that a stuck engine fails instead of hanging). */
static bool wait_done(struct ctx *c, int n)
{
	uint64_t end = clock_ns() + 30ull * 1000 * 1000 * 1000;
	while (atomic_load(&c->done) < n && clock_ns() < end)
		mainloop_run_once(c->loop, 100);
	return atomic_load(&c->done) >= n;
}

static void *xalloc(size_t n)
{
	void *p = NULL;
	if (posix_memalign(&p, 4096, n))
		abort();
	return p;
}

static void prep(struct io *io, struct ctx *c, enum blk_op op, uint64_t off, uint8_t *buf,
		 size_t len)
{
	memset(io, 0, sizeof(*io));
	io->c = c;
	io->buf = buf;
	io->req.op = op;
	io->req.offset = off;
	io->req.done = io_done;
	io->ret = 1;
	/* Aligned requests in three pieces; others in one. */
	if (len % 4096 == 0 && len >= 3 * 4096 && (uintptr_t)buf % 4096 == 0) {
		size_t a = 4096, b = len - 2 * 4096;
		io->iov[0] = (struct iovec){ buf, a };
		io->iov[1] = (struct iovec){ buf + a, b };
		io->iov[2] = (struct iovec){ buf + a + b, 4096 };
		io->req.iovcnt = 3;
	} else {
		io->iov[0] = (struct iovec){ buf, len };
		io->req.iovcnt = 1;
	}
	io->req.iov = io->iov;
	io->req.len = len;
}

static struct blk *open_fmt(const char *path, const char *fmt, enum blk_cache cache,
			    bool ro, struct ctx *c)
{
	struct blk_open_opts o = { .format = fmt, .cache = cache, .readonly = ro };
	struct blk *b = blk_open(path, &o);
	if (!b)
		return NULL;
	c->loop = mainloop_new();
	c->main = pthread_self();
	if (blk_attach(b, c->loop) < 0) {
		blk_close(b);
		return NULL;
	}
	return b;
}

static struct blk *open_attached(const char *path, enum blk_cache cache, bool ro,
				 struct ctx *c)
{
	return open_fmt(path, "raw", cache, ro, c);
}

static void finish(struct blk *b, struct ctx *c)
{
	blk_close(b);
	mainloop_free(c->loop);
}

/* NREQ concurrent writes (every eighth unaligned, so it goes the slow
 * way), then NREQ concurrent reads, against a reference buffer; then the
 * file itself. */
static void concurrent_rw(enum blk_cache cache, const char *want_engine)
{
	const char *path = blktest_path("aio.raw");
	CHECK(blktest_make_file(path, DISK, 1) == 0);
	struct ctx c = { 0 };
	struct blk *b = open_attached(path, cache, false, &c);
	CHECK(b);
	if (cache == BLK_CACHE_NONE && !b->direct) {
		finish(b, &c);
		SKIP("O_DIRECT refused by the file system of /var/tmp");
	}
	const char *engine = blk_aio_engine(b);
	uint8_t *ref = malloc(DISK);
	blktest_pattern(ref, DISK, 0, 1);
	static struct io io[NREQ];
	uint8_t *bufs = xalloc(NREQ * CHUNK + 4096);
	for (int i = 0; i < NREQ; i++) {
		bool odd = i % 8 == 7;
		uint64_t off = (uint64_t)i * CHUNK + (odd ? 1001 : (uint64_t)(i % 4) * 4096);
		size_t len = odd ? 5000 + (size_t)i : CHUNK / 2 + (size_t)(i % 3) * 4096;
		uint8_t *buf = bufs + (size_t)i * CHUNK + (odd ? 3 : 0);
		blktest_pattern(buf, len, off, 100);
		memcpy(ref + off, buf, len);
		prep(&io[i], &c, BLK_WRITE, off, buf, len);
	}
	for (int i = 0; i < NREQ; i++)
		blk_submit(b, &io[i].req);
	CHECK(wait_done(&c, NREQ));
	for (int i = 0; i < NREQ; i++)
		CHECK_EQ(io[i].ret, 0);
	memset(bufs, 0xee, NREQ * CHUNK);
	for (int i = 0; i < NREQ; i++)
		prep(&io[i], &c, BLK_READ, (uint64_t)i * CHUNK, bufs + (size_t)i * CHUNK, CHUNK);
	for (int i = 0; i < NREQ; i++)
		blk_submit(b, &io[i].req);
	CHECK(wait_done(&c, 2 * NREQ));
	for (int i = 0; i < NREQ; i++)
		CHECK_EQ(io[i].ret, 0);
	CHECK(!memcmp(bufs, ref, DISK));
	CHECK_EQ(atomic_load(&c.wrong_thread), 0);
	CHECK(!strcmp(blk_aio_engine(b), engine));
	finish(b, &c);
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, bufs, DISK, 0), DISK);
	close(fd);
	CHECK(!memcmp(bufs, ref, DISK));
	free(bufs);
	free(ref);
	if (strcmp(engine, want_engine))
		SKIP("libaio is not available here (io_setup failed): tested the thread pool");
}

TEST(blk_aio_writeback)
{
	concurrent_rw(BLK_CACHE_WRITEBACK, "libaio");
}

TEST(blk_aio_direct)
{
	concurrent_rw(BLK_CACHE_NONE, "libaio");
}

/* How many pages of [off, off+len) of fd's file are in the page cache. */
static size_t resident_pages(int fd, uint64_t off, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)off);
	if (p == MAP_FAILED)
		return len / 4096;
	unsigned char vec[len / 4096];
	size_t n = 0;
	if (mincore(p, len, vec) == 0)
		for (size_t i = 0; i < len / 4096; i++)
			n += vec[i] & 1;
	else
		n = len / 4096;
	munmap(p, len);
	return n;
}

/* cache=writeback: reads go to libaio with RWF_NOWAIT; where the page cache
 * lacks the data, the read stops short (or with EAGAIN) and the pool reads
 * the rest.  Only the even MiBs of the file are in the page cache, and each
 * read spans a cached and an uncached part: the data must still be the
 * file's, byte for byte, and some reads must have taken the pool's way. */
TEST(blk_aio_nowait_cold_reads)
{
	const char *path = blktest_path("cold.raw");
	CHECK(blktest_make_file(path, DISK, 7) == 0);
	uint8_t *ref = malloc(DISK);
	blktest_pattern(ref, DISK, 0, 7);
	/* Written back, out of the page cache, then the even MiBs read in. */
	int fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	CHECK(fsync(fd) == 0);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);     /* no readahead */
	uint8_t *tmp = malloc(MiB);
	for (uint64_t off = 0; off < DISK; off += 2 * MiB) {
		CHECK_EQ(pread(fd, tmp, MiB, (off_t)off), MiB);
		CHECK(!memcmp(tmp, ref + off, MiB));
	}
	free(tmp);
	bool cold = resident_pages(fd, MiB, MiB) < MiB / 4096;
	close(fd);
	if (!cold) {
		free(ref);
		SKIP("the page cache kept pages that posix_fadvise(DONTNEED) was asked to drop");
	}

	struct ctx c = { 0 };
	struct blk *b = open_attached(path, BLK_CACHE_WRITEBACK, true, &c);
	CHECK(b);
	unsigned long misses;
	if (!blk_aio_nowait(b, &misses)) {
		finish(b, &c);
		free(ref);
		SKIP("buffered reads do not go to libaio with RWF_NOWAIT here");
	}
	enum { N = 6 };
	static struct io io[N];
	uint8_t *bufs = xalloc(N * MiB);
	memset(bufs, 0xee, N * MiB);
	for (int i = 0; i < N; i++)      /* [0.5, 1.5) MiB, [1.25, 2.25) ... */
		prep(&io[i], &c, BLK_READ, MiB / 2 + (uint64_t)i * MiB / 4 * 2,
		     bufs + (size_t)i * MiB, MiB);
	for (int i = 0; i < N; i++)
		blk_submit(b, &io[i].req);
	CHECK(wait_done(&c, N));
	for (int i = 0; i < N; i++) {
		CHECK_EQ(io[i].ret, 0);
		CHECK(!memcmp(bufs + (size_t)i * MiB, ref + io[i].req.offset, MiB));
	}
	CHECK(blk_aio_nowait(b, &misses));
	CHECK(misses > 0);
	CHECK_EQ(atomic_load(&c.wrong_thread), 0);
	finish(b, &c);
	free(bufs);
	free(ref);
}

TEST(blk_aio_threads)
{
	setenv("QVM_BLK_AIO", "threads", 1);
	concurrent_rw(BLK_CACHE_WRITEBACK, "threads");
}

TEST(blk_aio_threads_direct)
{
	setenv("QVM_BLK_AIO", "threads", 1);
	concurrent_rw(BLK_CACHE_NONE, "threads");
}

/* Flush as a guest uses it: once its writes are done, from the done()
 * callback.  When the flush is done the data is in the file. */
struct flush_ctx {
	struct ctx c;
	struct blk *b;
	struct io flush;
	int writes_done_at_flush;
	const char *path;
	uint8_t *ref;
	int file_ok;
};

static void flush_done(struct blk_req *req, int ret)
{
	struct io *io = container_of(req, struct io, req);
	struct flush_ctx *f = container_of(io->c, struct flush_ctx, c);
	io->ret = ret;
	uint8_t *buf = malloc(DISK);
	int fd = open(f->path, O_RDONLY);
	f->file_ok = fd >= 0 && pread(fd, buf, DISK, 0) == (ssize_t)DISK &&
		     !memcmp(buf, f->ref, DISK);
	if (fd >= 0)
		close(fd);
	free(buf);
	atomic_fetch_add(&f->c.done, 1);
}

static void write_done_then_flush(struct blk_req *req, int ret)
{
	io_done(req, ret);
	struct io *io = container_of(req, struct io, req);
	struct flush_ctx *f = container_of(io->c, struct flush_ctx, c);
	if (atomic_load(&f->c.done) == NREQ) {
		f->writes_done_at_flush = NREQ;
		prep(&f->flush, &f->c, BLK_FLUSH, 0, NULL, 0);
		f->flush.req.iovcnt = 0;
		f->flush.req.done = flush_done;
		blk_submit(f->b, &f->flush.req);
	}
}

static void flush_after_writes(enum blk_cache cache)
{
	static struct flush_ctx f;
	f.path = blktest_path("flush.raw");
	CHECK(blktest_make_file(f.path, DISK, 2) == 0);
	f.b = open_attached(f.path, cache, false, &f.c);
	CHECK(f.b);
	f.ref = malloc(DISK);
	blktest_pattern(f.ref, DISK, 0, 2);
	static struct io io[NREQ];
	uint8_t *bufs = xalloc(DISK);
	for (int i = 0; i < NREQ; i++) {
		uint64_t off = (uint64_t)i * CHUNK;
		blktest_pattern(bufs + off, CHUNK, off, 200);
		prep(&io[i], &f.c, BLK_WRITE, off, bufs + off, CHUNK);
		io[i].req.done = write_done_then_flush;
	}
	memcpy(f.ref, bufs, DISK);
	for (int i = 0; i < NREQ; i++)
		blk_submit(f.b, &io[i].req);
	CHECK(wait_done(&f.c, NREQ + 1));
	CHECK_EQ(f.writes_done_at_flush, NREQ);
	CHECK_EQ(f.flush.ret, 0);
	CHECK(f.file_ok);
	CHECK_EQ(atomic_load(&f.c.wrong_thread), 0);
	finish(f.b, &f.c);
	free(bufs);
	free(f.ref);
}

TEST(blk_aio_flush_after_writes)
{
	flush_after_writes(BLK_CACHE_WRITEBACK);
}

TEST(blk_aio_flush_after_writes_direct)
{
	flush_after_writes(BLK_CACHE_NONE);
}

TEST(blk_aio_flush_unsafe)
{
	flush_after_writes(BLK_CACHE_UNSAFE);
}

/* Direct writes, discards and write-zeroes at once, on their own chunks:
 * the invalidating ops wait for direct requests and hold new ones back. */
TEST(blk_aio_discard_write_zeroes)
{
	const char *path = blktest_path("dz.raw");
	CHECK(blktest_make_file(path, DISK, 3) == 0);
	struct ctx c = { 0 };
	struct blk *b = open_attached(path, BLK_CACHE_NONE, false, &c);
	CHECK(b);
	uint8_t *ref = malloc(DISK);
	blktest_pattern(ref, DISK, 0, 3);
	static struct io io[NREQ];
	uint8_t *bufs = xalloc(DISK);
	for (int i = 0; i < NREQ; i++) {
		uint64_t off = (uint64_t)i * CHUNK;
		enum blk_op op = i % 3 == 0 ? BLK_WRITE : i % 3 == 1 ? BLK_DISCARD
								   : BLK_WRITE_ZEROES;
		if (op == BLK_WRITE) {
			blktest_pattern(bufs + off, CHUNK, off, 300);
			memcpy(ref + off, bufs + off, CHUNK);
		} else {
			memset(ref + off + 4096, 0, CHUNK - 8192);
		}
		prep(&io[i], &c, op, off, bufs + off, CHUNK);
		if (op != BLK_WRITE) {
			io[i].req.offset = off + 4096;
			io[i].req.len = CHUNK - 8192;
			io[i].req.iovcnt = 0;
			io[i].req.may_unmap = i % 2;
		}
	}
	for (int i = 0; i < NREQ; i++)
		blk_submit(b, &io[i].req);
	CHECK(wait_done(&c, NREQ));
	for (int i = 0; i < NREQ; i++)
		CHECK_EQ(io[i].ret, 0);
	memset(bufs, 0xee, DISK);
	prep(&io[0], &c, BLK_READ, 0, bufs, DISK);
	blk_submit(b, &io[0].req);
	CHECK(wait_done(&c, NREQ + 1));
	CHECK_EQ(io[0].ret, 0);
	CHECK(!memcmp(bufs, ref, DISK));
	CHECK_EQ(atomic_load(&c.wrong_thread), 0);
	finish(b, &c);
	free(bufs);
	free(ref);
}

/* Errors come back through done(), on the main thread. */
TEST(blk_aio_errors)
{
	const char *path = blktest_path("err.raw");
	CHECK(blktest_make_file(path, 65536, 4) == 0);
	struct ctx c = { 0 };
	struct blk *b = open_attached(path, BLK_CACHE_WRITEBACK, true, &c);
	CHECK(b);
	static struct io io[4];
	uint8_t *buf = xalloc(8192);
	prep(&io[0], &c, BLK_READ, 65536 - 4096, buf, 8192);
	prep(&io[1], &c, BLK_WRITE, 0, buf, 4096);
	prep(&io[2], &c, BLK_DISCARD, 0, NULL, 0);
	io[2].req.len = 4096;
	io[2].req.iovcnt = 0;
	prep(&io[3], &c, BLK_READ, 0, buf, 4096);
	for (int i = 0; i < 4; i++)
		blk_submit(b, &io[i].req);
	CHECK(wait_done(&c, 4));
	CHECK_EQ(io[0].ret, -EINVAL);
	CHECK_EQ(io[1].ret, -EROFS);
	CHECK_EQ(io[2].ret, -EROFS);
	CHECK_EQ(io[3].ret, 0);
	CHECK_EQ(atomic_load(&c.wrong_thread), 0);
	finish(b, &c);
	free(buf);
}

/* Submitted from other threads (as vCPUs do), completed on the main one. */
struct submitter {
	struct blk *b;
	struct io *io;
	int n;
};

static void *submit_thread(void *opaque)
{
	struct submitter *s = opaque;
	for (int i = 0; i < s->n; i++)
		blk_submit(s->b, &s->io[i].req);
	return NULL;
}

TEST(blk_aio_done_on_main_thread)
{
	const char *path = blktest_path("thr.raw");
	CHECK(blktest_make_file(path, DISK, 5) == 0);
	struct ctx c = { 0 };
	struct blk *b = open_attached(path, BLK_CACHE_NONE, false, &c);
	CHECK(b);
	static struct io io[NREQ];
	uint8_t *bufs = xalloc(DISK);
	for (int i = 0; i < NREQ; i++) {
		uint64_t off = (uint64_t)i * CHUNK;
		prep(&io[i], &c, i % 2 ? BLK_READ : BLK_WRITE, off, bufs + off, CHUNK);
		if (i % 16 == 15) {
			prep(&io[i], &c, BLK_FLUSH, 0, NULL, 0);
			io[i].req.iovcnt = 0;
		}
	}
	struct submitter s[2] = { { b, io, NREQ / 2 }, { b, io + NREQ / 2, NREQ / 2 } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, submit_thread, &s[i]) == 0);
	CHECK(wait_done(&c, NREQ));
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < NREQ; i++)
		CHECK_EQ(io[i].ret, 0);
	CHECK_EQ(atomic_load(&c.wrong_thread), 0);
	finish(b, &c);
	free(bufs);
}

/* blk_drain and blk_close finish what is in flight without the loop. */
TEST(blk_aio_drain_and_close)
{
	const char *path = blktest_path("drain.raw");
	CHECK(blktest_make_file(path, DISK, 6) == 0);
	struct ctx c = { 0 };
	struct blk *b = open_attached(path, BLK_CACHE_WRITEBACK, false, &c);
	CHECK(b);
	static struct io io[NREQ];
	uint8_t *bufs = xalloc(DISK);
	for (int i = 0; i < NREQ; i++) {
		uint64_t off = (uint64_t)i * CHUNK;
		prep(&io[i], &c, i % 4 == 3 ? BLK_WRITE_ZEROES : BLK_WRITE, off, bufs + off,
		     CHUNK);
		if (i % 4 == 3)
			io[i].req.iovcnt = 0;
	}
	for (int i = 0; i < NREQ / 2; i++)
		blk_submit(b, &io[i].req);
	blk_drain(b);
	CHECK_EQ(atomic_load(&c.done), NREQ / 2);
	for (int i = NREQ / 2; i < NREQ; i++)
		blk_submit(b, &io[i].req);
	blk_close(b);
	CHECK_EQ(atomic_load(&c.done), NREQ);
	for (int i = 0; i < NREQ; i++)
		CHECK_EQ(io[i].ret, 0);
	CHECK_EQ(atomic_load(&c.wrong_thread), 0);
	mainloop_free(c.loop);
	free(bufs);
}

/* A qcow2 overlay on a raw base: the first writes allocate (copy-on-write
 * from the base, on the pool), later ones map to the file (libaio); reads
 * mix both; write-zeroes and discards go on beside direct writes. */
static void qcow2_rounds(enum blk_cache cache)
{
	char base[512];
	snprintf(base, sizeof(base), "%s", blktest_path("base.raw"));
	const char *top = blktest_path("top.qcow2");
	CHECK(blktest_make_file(base, DISK, 7) == 0);
	struct blk_create_opts co = {
		.format = "qcow2", .backing = strrchr(base, '/') + 1, .backing_fmt = "raw",
	};
	CHECK_EQ(blk_create(top, &co), 0);
	struct ctx c = { 0 };
	struct blk *b = open_fmt(top, "qcow2", cache, false, &c);
	CHECK(b);
	CHECK_EQ(blk_size(b), DISK);
	uint8_t *ref = malloc(DISK);
	blktest_pattern(ref, DISK, 0, 7);
	static struct io io[NREQ];
	uint8_t *bufs = xalloc(DISK);
	int total = 0;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < NREQ; i++) {
			uint64_t off = (uint64_t)i * CHUNK + (uint64_t)((i + round) % 4) * 4096;
			size_t len = 3 * 4096 + (size_t)(i % 5) * 4096;
			uint8_t *buf = bufs + (size_t)i * CHUNK;
			enum blk_op op = BLK_WRITE;
			if (round == 1 && i % 3 == 2)
				op = BLK_READ;
			if (round == 2 && i % 4 == 1)
				op = i % 8 == 1 ? BLK_WRITE_ZEROES : BLK_DISCARD;
			prep(&io[i], &c, op, off, buf, len);
			if (op == BLK_WRITE) {
				blktest_pattern(buf, len, off, 400 + (unsigned)round);
				memcpy(ref + off, buf, len);
			} else if (op != BLK_READ) {
				io[i].req.iovcnt = 0;
				io[i].req.may_unmap = true;
				/* A discard of an overlay cluster may show the
				 * base again: zero both, to know what to read. */
				memset(ref + off, 0, len);
				io[i].req.op = BLK_WRITE_ZEROES;
			}
		}
		for (int i = 0; i < NREQ; i++)
			blk_submit(b, &io[i].req);
		total += NREQ;
		CHECK(wait_done(&c, total));
		for (int i = 0; i < NREQ; i++) {
			CHECK_EQ(io[i].ret, 0);
			if (io[i].req.op == BLK_READ)
				CHECK(!memcmp(io[i].buf, ref + io[i].req.offset, io[i].req.len));
		}
	}
	memset(bufs, 0xee, DISK);
	prep(&io[0], &c, BLK_READ, 0, bufs, DISK);
	blk_submit(b, &io[0].req);
	CHECK(wait_done(&c, total + 1));
	CHECK_EQ(io[0].ret, 0);
	CHECK(!memcmp(bufs, ref, DISK));
	CHECK_EQ(atomic_load(&c.wrong_thread), 0);
	finish(b, &c);
	/* Once more, synchronously, from a fresh open. */
	b = blk_open(top, NULL);
	CHECK(b);
	memset(bufs, 0xee, DISK);
	CHECK_EQ(blk_pread(b, 0, bufs, DISK), 0);
	CHECK(!memcmp(bufs, ref, DISK));
	blk_close(b);
	free(bufs);
	free(ref);
}

TEST(blk_aio_qcow2_writeback)
{
	qcow2_rounds(BLK_CACHE_WRITEBACK);
}

TEST(blk_aio_qcow2_direct)
{
	qcow2_rounds(BLK_CACHE_NONE);
}

TEST(blk_aio_qcow2_threads)
{
	setenv("QVM_BLK_AIO", "threads", 1);
	qcow2_rounds(BLK_CACHE_WRITEBACK);
}
