/*
 * The asynchronous engine behind blk_submit().
 *
 * libaio: a READ or WRITE is mapped by the format (drv->map) to runs of the
 * image file; each run becomes one iocb, submitted with io_submit and
 * IOCB_FLAG_RESFD so that the kernel signals the image's eventfd, which the
 * main loop watches.  The request completes when all its runs have.
 * Without O_DIRECT the kernel does buffered I/O inside io_submit, so a read
 * that misses the page cache would stall the submitting vCPU: buffered
 * reads go in with RWF_NOWAIT, and what the kernel stops short on (EAGAIN,
 * or a short read) the pool reads, blocking, at the same mapped offset.
 *
 * The thread pool (four workers per image) runs what libaio can't: requests
 * the format can't map (unallocated clusters, copy-on-write, compressed
 * data), unaligned buffers with O_DIRECT, flush, discard and write-zeroes,
 * and every request when libaio is unusable (io_setup fails, io_submit
 * refuses the file, or O_DIRECT was refused for cache=none).  Workers call
 * the synchronous entry points (block.c).
 *
 * Every completion goes through one list and the same eventfd, so done()
 * always runs on the main-loop thread.
 *
 * A discard, write-zeroes, resize or snapshot create/apply/delete may free
 * or share what a mapping points to: before one runs, no direct request may
 * be in flight (blk_aio_quiesce_begin), and new direct requests wait until
 * it is over.
 */
#include <errno.h>
#include <libaio.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "block-int.h"
#include "core.h"
#include "mainloop.h"

#define QUEUE_DEPTH 128         /* io_setup */
#define MAX_RUNS 32             /* iocbs per request; more: the pool */
#define NR_WORKERS 4
#define REAP_BATCH 64

struct areq;

struct arun {
	struct iocb cb;
	struct areq *r;
	uint64_t host_off;
	size_t skip, len;       /* bytes of the request */
	struct iovec *iov;
	int iovcnt;
	bool nowait;            /* submitted with RWF_NOWAIT */
	size_t got;             /* a NOWAIT read: bytes it read before it stopped */
	struct arun *next;      /* the pool's list of reads to finish */
};

struct areq {
	struct blk_req *req;
	atomic_int ret;
	atomic_int pending;     /* runs outstanding */
	struct areq *next;      /* job queue or done list */
	bool retry_direct;      /* a pool job: map it again first */
	int nruns;
	struct arun runs[];
};

struct blk_aio {
	struct blk *b;
	struct mainloop *loop;
	int efd;
	io_context_t ctx;
	atomic_bool threads;    /* libaio unusable: everything on the pool */
	atomic_int inflight;    /* requests submitted, done() not yet run */
	atomic_int iocbs;       /* iocbs in the kernel */

	pthread_mutex_t mu;
	pthread_cond_t work_cond, excl_cond;
	struct areq *jobs, **jobs_tail;
	struct arun *rest;      /* NOWAIT reads the pool finishes */
	struct areq *done, **done_tail;
	atomic_bool nowait;     /* buffered reads go in with RWF_NOWAIT */
	atomic_ulong nowait_misses; /* ... and the pool finished them */
	int direct;             /* direct requests in flight */
	int excl;               /* invalidating operations running */
	bool quit;
	pthread_t workers[NR_WORKERS];
	int nworkers;
};

/* ---- completion ---- */

static void signal_loop(struct blk_aio *a)
{
	uint64_t one = 1;
	while (write(a->efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

/* Queue r for done() on the main thread.  The main thread takes the whole
 * list at once, so only the first entry of a batch needs to wake it. */
static void complete(struct blk_aio *a, struct areq *r)
{
	pthread_mutex_lock(&a->mu);
	bool was_empty = !a->done;
	r->next = NULL;
	*a->done_tail = r;
	a->done_tail = &r->next;
	pthread_mutex_unlock(&a->mu);
	if (was_empty)
		signal_loop(a);
}

static void complete_now(struct blk_aio *a, struct areq *r, int ret)
{
	atomic_store(&r->ret, ret);
	complete(a, r);
}

static void direct_end(struct blk_aio *a)
{
	pthread_mutex_lock(&a->mu);
	if (--a->direct == 0)
		pthread_cond_broadcast(&a->excl_cond);
	pthread_mutex_unlock(&a->mu);
}

static void set_error(struct areq *r, int err)
{
	int zero = 0;
	atomic_compare_exchange_strong(&r->ret, &zero, err);
}

static void rest_push(struct blk_aio *a, struct arun *run);

/* One run finished with res bytes (or a negative errno). */
static void run_done(struct blk_aio *a, struct arun *run, long res)
{
	struct areq *r = run->r;
	/* A buffered read with RWF_NOWAIT stops (-EAGAIN, or short) where
	 * it would have waited for the disk: the pool reads the rest. */
	if (run->nowait && (res == -EAGAIN || (res >= 0 && (size_t)res < run->len))) {
		run->got = res > 0 ? (size_t)res : 0;
		atomic_fetch_add(&a->nowait_misses, 1);
		rest_push(a, run);
		return;
	}
	if (res < 0) {
		set_error(r, (int)res);
	} else if ((size_t)res < run->len) {
		if (r->req->op == BLK_READ)     /* the end of the file: zeros */
			iov_memset(run->iov, run->iovcnt, (size_t)res, 0,
				   run->len - (size_t)res);
		else
			set_error(r, -EIO);
	}
	if (atomic_fetch_sub(&r->pending, 1) == 1) {
		direct_end(a);
		complete(a, r);
	}
}

/* Collect finished iocbs: at least min_nr, waiting up to timeout_ns. */
static int reap(struct blk_aio *a, long min_nr, long timeout_ns)
{
	struct io_event ev[REAP_BATCH];
	struct timespec ts = { 0, timeout_ns };
	int total = 0;
	for (;;) {
		int n = io_getevents(a->ctx, min_nr, REAP_BATCH, ev, &ts);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct arun *run = (struct arun *)ev[i].obj;
			atomic_fetch_sub(&a->iocbs, 1);
			run_done(a, run, (long)ev[i].res);
		}
		total += n;
		if (n < REAP_BATCH)
			break;
		min_nr = 0;
		ts.tv_nsec = 0;
	}
	return total;
}

/* Main thread: reap, then run done() for every finished request. */
static void process(struct blk_aio *a)
{
	uint64_t cnt;
	while (read(a->efd, &cnt, sizeof(cnt)) < 0 && errno == EINTR)
		;
	if (a->ctx)
		reap(a, 0, 0);
	pthread_mutex_lock(&a->mu);
	struct areq *list = a->done;
	a->done = NULL;
	a->done_tail = &a->done;
	pthread_mutex_unlock(&a->mu);
	while (list) {
		struct areq *r = list;
		list = r->next;
		struct blk_req *req = r->req;
		int ret = atomic_load(&r->ret);
		free(r);
		req->done(req, ret);
		atomic_fetch_sub(&a->inflight, 1);
	}
}

static void on_event(void *opaque, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	process(opaque);
}

/* ---- the thread pool ---- */

static int run_sync(struct blk *b, struct blk_req *req)
{
	switch (req->op) {
	case BLK_READ:
		return blk_preadv(b, req->offset, req->iov, req->iovcnt);
	case BLK_WRITE:
		return blk_pwritev(b, req->offset, req->iov, req->iovcnt);
	case BLK_FLUSH:
		return blk_flush(b);
	case BLK_DISCARD:
		return blk_discard(b, req->offset, req->len);
	case BLK_WRITE_ZEROES:
		return blk_write_zeroes(b, req->offset, req->len, req->may_unmap);
	}
	return -EINVAL;
}

static int try_direct(struct blk_aio *a, struct blk_req *req, bool wait);

static void rest_push(struct blk_aio *a, struct arun *run)
{
	pthread_mutex_lock(&a->mu);
	run->next = a->rest;
	a->rest = run;
	pthread_cond_signal(&a->work_cond);
	pthread_mutex_unlock(&a->mu);
}

/* The rest of a NOWAIT read, blocking, at the offset it was mapped to (the
 * mapping stays valid: its request still counts as direct). */
static void read_rest(struct blk_aio *a, struct arun *run)
{
	int ret = -ENOMEM;
	struct iovec *sub = malloc(sizeof(*sub) * (size_t)run->iovcnt);
	int cnt = sub ? iov_slice(run->iov, run->iovcnt, run->got, run->len - run->got, sub,
				  run->iovcnt) : -1;
	if (cnt >= 0)
		ret = blk_file_preadv(a->b, run->host_off + run->got, sub, cnt);
	free(sub);
	run->nowait = false;
	run_done(a, run, ret < 0 ? ret : (long)run->len);
}

static void *worker(void *opaque)
{
	struct blk_aio *a = opaque;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (!a->jobs && !a->rest && !a->quit)
			pthread_cond_wait(&a->work_cond, &a->mu);
		if (a->rest) {
			struct arun *run = a->rest;
			a->rest = run->next;
			pthread_mutex_unlock(&a->mu);
			read_rest(a, run);
			pthread_mutex_lock(&a->mu);
			continue;
		}
		struct areq *r = a->jobs;
		if (!r)
			break;
		a->jobs = r->next;
		if (!a->jobs)
			a->jobs_tail = &a->jobs;
		pthread_mutex_unlock(&a->mu);
		/* The job before may have allocated what this one lacked
		 * (writes into a new cluster come in runs): then it goes to
		 * libaio after all, and this worker is free for the next. */
		int t = 0;
		if (r->retry_direct && !atomic_load(&a->threads))
			t = try_direct(a, r->req, true);
		if (t > 0)
			free(r);
		else
			complete_now(a, r, t < 0 ? t : run_sync(a->b, r->req));
		pthread_mutex_lock(&a->mu);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

static void pool_push(struct blk_aio *a, struct areq *r)
{
	pthread_mutex_lock(&a->mu);
	r->next = NULL;
	*a->jobs_tail = r;
	a->jobs_tail = &r->next;
	pthread_cond_signal(&a->work_cond);
	pthread_mutex_unlock(&a->mu);
}

/* ---- invalidating operations ---- */

void blk_aio_quiesce_begin(struct blk *b)
{
	struct blk_aio *a = b->aio;
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->excl++;
	while (a->direct) {
		/* Reap here: this may be the main thread, which would reap
		 * them otherwise. */
		pthread_mutex_unlock(&a->mu);
		reap(a, 1, 10 * 1000 * 1000);
		pthread_mutex_lock(&a->mu);
	}
	pthread_mutex_unlock(&a->mu);
}

void blk_aio_quiesce_end(struct blk *b)
{
	struct blk_aio *a = b->aio;
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	if (--a->excl == 0)
		pthread_cond_broadcast(&a->excl_cond);
	pthread_mutex_unlock(&a->mu);
}

/* ---- libaio submission ---- */

struct span {
	uint64_t host_off;
	size_t skip, len;
};

static bool is_aligned(const struct blk *b, uint64_t v)
{
	return !b->direct || (v & (b->align - 1)) == 0;
}

/* Map the request to at most MAX_RUNS runs; 0 when some part does not
 * map (or is not aligned for O_DIRECT); a negative errno when the image's
 * metadata is bad (the driver has said so: the request fails with it
 * rather than repeat the message on the pool). */
static int map_runs(struct blk *b, struct blk_req *req, struct span *sp, bool wait)
{
	if (!b->drv->map)
		return 0;
	for (int i = 0; i < req->iovcnt; i++)
		if (!is_aligned(b, (uintptr_t)req->iov[i].iov_base) ||
		    !is_aligned(b, req->iov[i].iov_len))
			return 0;
	bool write = req->op == BLK_WRITE;
	int n = 0;
	size_t pos = 0;
	if (!wait && pthread_mutex_trylock(&b->lock))
		return 0;
	if (wait)
		pthread_mutex_lock(&b->lock);
	while (pos < req->len) {
		uint64_t host;
		int64_t got = b->drv->map(b, req->offset + pos, req->len - pos, write, &host);
		if (got < 0) {
			n = (int)got;
			break;
		}
		if (got == 0 || (uint64_t)got > req->len - pos ||
		    !is_aligned(b, host) || !is_aligned(b, (uint64_t)got)) {
			n = 0;
			break;
		}
		if (n && sp[n - 1].host_off + sp[n - 1].len == host) {
			sp[n - 1].len += (size_t)got;
		} else {
			if (n == MAX_RUNS) {
				n = 0;
				break;
			}
			sp[n++] = (struct span){ host, pos, (size_t)got };
		}
		pos += (size_t)got;
	}
	pthread_mutex_unlock(&b->lock);
	return n;
}

static struct areq *build_runs(struct blk_aio *a, struct blk_req *req,
			       const struct span *sp, int n)
{
	size_t niov = (size_t)req->iovcnt + (size_t)n;
	struct areq *r = calloc(1, sizeof(*r) + sizeof(struct arun) * (size_t)n +
				   sizeof(struct iovec) * niov);
	if (!r)
		return NULL;
	r->req = req;
	r->nruns = n;
	struct iovec *iov = (struct iovec *)&r->runs[n];
	bool write = req->op == BLK_WRITE;
	for (int i = 0; i < n; i++) {
		struct arun *run = &r->runs[i];
		int cnt = iov_slice(req->iov, req->iovcnt, sp[i].skip, sp[i].len, iov,
				    (int)niov);
		if (cnt <= 0) {
			free(r);
			return NULL;
		}
		*run = (struct arun){ .r = r, .host_off = sp[i].host_off, .skip = sp[i].skip,
				      .len = sp[i].len, .iov = iov, .iovcnt = cnt };
		/* The kernel runs buffered I/O inside io_submit: a read that
		 * misses the page cache would hold the submitting vCPU. */
		run->nowait = !write && !a->b->direct && atomic_load(&a->nowait);
		if (write)
			io_prep_pwritev(&run->cb, a->b->fd, iov, cnt, (long long)sp[i].host_off);
		else
			io_prep_preadv2(&run->cb, a->b->fd, iov, cnt, (long long)sp[i].host_off,
					run->nowait ? RWF_NOWAIT : 0);
		io_set_eventfd(&run->cb, a->efd);
		run->cb.data = run;
		iov += cnt;
		niov -= (size_t)cnt;
	}
	atomic_store(&r->pending, n);
	return r;
}

/* Runs io_submit did not take: do them here, on the mapped offsets (the
 * mapping stays valid: this request still counts as direct). */
static void runs_by_hand(struct blk_aio *a, struct areq *r, int from)
{
	for (int i = from; i < r->nruns; i++) {
		struct arun *run = &r->runs[i];
		int ret = r->req->op == BLK_WRITE
			? blk_file_pwritev(a->b, run->host_off, run->iov, run->iovcnt)
			: blk_file_preadv(a->b, run->host_off, run->iov, run->iovcnt);
		run_done(a, run, ret < 0 ? ret : (long)run->len);
	}
}

/* io_submit refused runs from `from` on: if they asked for RWF_NOWAIT
 * (a kernel or file system without it), stop asking, and say whether they
 * are worth submitting again. */
static bool drop_nowait(struct blk_aio *a, struct areq *r, int from)
{
	bool had = false;
	for (int i = from; i < r->nruns; i++) {
		if (r->runs[i].nowait) {
			r->runs[i].nowait = false;
			r->runs[i].cb.aio_rw_flags = 0;
			had = true;
		}
	}
	if (had)
		atomic_store(&a->nowait, false);
	return had;
}

static void submit_runs(struct blk_aio *a, struct areq *r)
{
	struct iocb *cbs[MAX_RUNS];
	int n = r->nruns;
	for (int i = 0; i < n; i++)
		cbs[i] = &r->runs[i].cb;
	atomic_fetch_add(&a->iocbs, n);
	int done = 0;
	while (done < n) {
		int s = io_submit(a->ctx, n - done, cbs + done);
		if (s > 0) {
			done += s;
			continue;
		}
		if (s == -EINTR)
			continue;
		if ((s == -EINVAL || s == -EOPNOTSUPP) && drop_nowait(a, r, done))
			continue;
		if (s == -EINVAL || s == -EOPNOTSUPP) {
			if (!atomic_exchange(&a->threads, true))
				qvm_log(LOG_UNIMP, "qvm: %s: io_submit refused (%s); using "
					"the thread pool", a->b->filename, strerror(-s));
		}
		break;
	}
	if (done < n) {
		atomic_fetch_sub(&a->iocbs, n - done);
		runs_by_hand(a, r, done);
	}
}

/* Submit req with libaio; false when it must go to the pool.  Without
 * wait, a busy image (a worker in the format driver, say allocating a
 * cluster) sends the request to the pool, which maps it again: the
 * submitting thread (a vCPU, the main loop) never waits for the disk. */
static int try_direct(struct blk_aio *a, struct blk_req *req, bool wait)
{
	struct blk *b = a->b;
	pthread_mutex_lock(&a->mu);
	while (a->excl)
		pthread_cond_wait(&a->excl_cond, &a->mu);
	a->direct++;
	pthread_mutex_unlock(&a->mu);

	struct span sp[MAX_RUNS];
	int n = map_runs(b, req, sp, wait);
	struct areq *r = NULL;
	if (n > 0 && atomic_load(&a->iocbs) + n <= QUEUE_DEPTH)
		r = build_runs(a, req, sp, n);
	if (!r) {
		direct_end(a);
		return n < 0 ? n : 0;
	}
	submit_runs(a, r);
	return 1;
}

/* ---- entry points ---- */

static int check_req(struct blk *b, struct blk_req *req)
{
	switch (req->op) {
	case BLK_READ:
	case BLK_WRITE:
		if (req->iovcnt < 0 || (req->iovcnt && !req->iov))
			return -EINVAL;
		req->len = iov_size(req->iov, req->iovcnt);
		break;
	case BLK_FLUSH:
		return 0;
	case BLK_DISCARD:
	case BLK_WRITE_ZEROES:
		break;
	default:
		return -EINVAL;
	}
	if (req->op != BLK_READ && b->readonly)
		return -EROFS;
	if (req->offset > b->size || req->len > b->size - req->offset)
		return -EINVAL;
	return 0;
}

void blk_aio_submit(struct blk *b, struct blk_req *req)
{
	struct blk_aio *a = b->aio;
	if (!a) {               /* not attached: do it now, on this thread */
		int ret = check_req(b, req);
		req->done(req, ret < 0 ? ret : run_sync(b, req));
		return;
	}
	struct areq *r;
	atomic_fetch_add(&a->inflight, 1);
	int ret = check_req(b, req);
	bool rw = req->op == BLK_READ || req->op == BLK_WRITE;
	bool direct = ret == 0 && rw && req->len && !atomic_load(&a->threads);
	if (direct) {
		int t = try_direct(a, req, false);
		if (t > 0)
			return;
		if (t < 0) {
			ret = t;
			direct = false;
		}
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		qvm_error("%s: out of memory", b->filename);
		abort();
	}
	r->req = req;
	r->retry_direct = direct;
	if (ret < 0 || (rw && !req->len) ||
	    (req->op == BLK_FLUSH && b->cache == BLK_CACHE_UNSAFE && !b->drv->flush))
		complete_now(a, r, ret);
	else
		pool_push(a, r);
}

bool blk_aio_nowait(const struct blk *b, unsigned long *misses)
{
	struct blk_aio *a = b->aio;
	if (!a || atomic_load(&a->threads) || b->direct || !atomic_load(&a->nowait))
		return false;
	*misses = atomic_load(&a->nowait_misses);
	return true;
}

int blk_aio_attach(struct blk *b, struct mainloop *l)
{
	struct blk_aio *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->b = b;
	a->loop = l;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->work_cond, NULL);
	pthread_cond_init(&a->excl_cond, NULL);
	a->jobs_tail = &a->jobs;
	a->done_tail = &a->done;
	a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (a->efd < 0)
		goto fail;

	const char *force = getenv("QVM_BLK_AIO");  /* tests: "threads" */
	bool threads = force && !strcmp(force, "threads");
	if (b->cache == BLK_CACHE_NONE && !b->direct)
		threads = true;         /* O_DIRECT refused: buffered, on threads */
	if (!threads) {
		int r = io_setup(QUEUE_DEPTH, &a->ctx);
		if (r < 0) {
			a->ctx = 0;
			qvm_log(LOG_UNIMP, "qvm: %s: io_setup failed (%s); using the thread pool",
				b->filename, strerror(-r));
			threads = true;
		}
	}
	atomic_store(&a->threads, threads);
	atomic_store(&a->nowait, true);
	if (mainloop_add_fd(l, a->efd, EPOLLIN, on_event, a) < 0)
		goto fail;
	for (int i = 0; i < NR_WORKERS; i++) {
		if (pthread_create(&a->workers[i], NULL, worker, a))
			break;
		a->nworkers++;
	}
	if (!a->nworkers) {
		mainloop_remove_fd(l, a->efd);
		goto fail;
	}
	b->aio = a;
	return 0;
fail:
	if (a->ctx)
		io_destroy(a->ctx);
	if (a->efd >= 0)
		close(a->efd);
	free(a);
	return -ENOMEM;
}

void blk_aio_drain(struct blk *b)
{
	struct blk_aio *a = b->aio;
	if (!a)
		return;
	while (atomic_load(&a->inflight) > 0) {
		struct pollfd p = { .fd = a->efd, .events = POLLIN };
		poll(&p, 1, 100);
		process(a);
	}
}

void blk_aio_detach(struct blk *b)
{
	struct blk_aio *a = b->aio;
	if (!a)
		return;
	blk_aio_drain(b);
	pthread_mutex_lock(&a->mu);
	a->quit = true;
	pthread_cond_broadcast(&a->work_cond);
	pthread_mutex_unlock(&a->mu);
	for (int i = 0; i < a->nworkers; i++)
		pthread_join(a->workers[i], NULL);
	mainloop_remove_fd(a->loop, a->efd);
	close(a->efd);
	if (a->ctx)
		io_destroy(a->ctx);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->work_cond);
	pthread_cond_destroy(&a->excl_cond);
	b->aio = NULL;
	free(a);
}

const char *blk_aio_engine(const struct blk *b)
{
	if (!b->aio || atomic_load(&b->aio->threads))
		return "threads";
	return "libaio";
}
