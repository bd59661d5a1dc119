/*
 * qcow2 refcounts ("Host cluster management" in QEMU's qcow2.txt): the
 * refcount table and blocks for any refcount_bits from 1 to 64, cluster
 * allocation and freeing, growing the refcount table, and check/repair.
 *
 * Refcount blocks live in a small write-back cache; qcow2_rc_commit()
 * writes the dirty ones and fdatasyncs before anything that points to a
 * freshly counted cluster is written (see the ordering notes at the top of
 * qcow2-cluster.c).  Decrements need no sync: a crash then leaves a leak.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qcow2.h"

/* ---- the table cache ---- */

int qcow2_cache_init(struct qcow2_cache *c, unsigned n, uint32_t size)
{
	c->e = calloc(n, sizeof(*c->e));
	if (!c->e)
		return -ENOMEM;
	c->n = n;
	for (unsigned i = 0; i < n; i++)
		if (posix_memalign((void **)&c->e[i].buf, 4096, size))
			return -ENOMEM;
	return 0;
}

void qcow2_cache_free(struct qcow2_cache *c)
{
	for (unsigned i = 0; c->e && i < c->n; i++)
		free(c->e[i].buf);
	free(c->e);
	c->e = NULL;
	c->n = 0;
}

static int cache_write(struct qcow2 *q, struct qcow2_cent *e)
{
	int ret = blk_file_pwrite(q->b, e->off, e->buf, q->cluster_size);
	if (!ret)
		e->dirty = false;
	return ret;
}

/* The cached table at off; fresh: a new table, all zeros (not read). */
int qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t off, bool fresh,
		    struct qcow2_cent **out)
{
	struct qcow2_cent *victim = NULL;
	for (unsigned i = 0; i < c->n; i++) {
		struct qcow2_cent *e = &c->e[i];
		if (e->off == off) {
			e->used = ++c->tick;
			if (fresh)
				memset(e->buf, 0, q->cluster_size);
			*out = e;
			return 0;
		}
		if (!victim || e->used < victim->used)
			victim = e;
	}
	if (victim->off && victim->dirty) {
		int ret = cache_write(q, victim);
		if (ret)
			return ret;
	}
	victim->off = 0;
	victim->dirty = false;
	if (fresh) {
		memset(victim->buf, 0, q->cluster_size);
	} else {
		int ret = blk_file_pread(q->b, off, victim->buf, q->cluster_size);
		if (ret)
			return ret;
	}
	victim->off = off;
	victim->used = ++c->tick;
	*out = victim;
	return 0;
}

int qcow2_cache_writeback(struct qcow2 *q, struct qcow2_cache *c)
{
	for (unsigned i = 0; i < c->n; i++) {
		if (c->e[i].off && c->e[i].dirty) {
			int ret = cache_write(q, &c->e[i]);
			if (ret)
				return ret;
		}
	}
	return 0;
}

void qcow2_cache_drop(struct qcow2_cache *c, uint64_t off)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->e[i].off == off) {
			c->e[i].off = 0;
			c->e[i].dirty = false;
			c->e[i].used = 0;
		}
}

/* ---- refcount entries of any width ("refcount_order") ---- */

uint64_t qcow2_rb_get(const uint8_t *blk, uint64_t i, unsigned order)
{
	switch (order) {
	case 3: return blk[i];
	case 4: return be16(blk + i * 2);
	case 5: return be32(blk + i * 4);
	case 6: return be64(blk + i * 8);
	default: {
		unsigned bits = 1u << order, per = 8 / bits;
		return (blk[i / per] >> ((i % per) * bits)) & ((1u << bits) - 1);
	}
	}
}

void qcow2_rb_set(uint8_t *blk, uint64_t i, unsigned order, uint64_t v)
{
	switch (order) {
	case 3: blk[i] = (uint8_t)v; break;
	case 4: wbe16(blk + i * 2, (uint16_t)v); break;
	case 5: wbe32(blk + i * 4, (uint32_t)v); break;
	case 6: wbe64(blk + i * 8, v); break;
	default: {
		unsigned bits = 1u << order, per = 8 / bits, sh = (unsigned)(i % per) * bits;
		uint8_t m = (uint8_t)(((1u << bits) - 1) << sh);
		blk[i / per] = (uint8_t)((blk[i / per] & ~m) | ((v << sh) & m));
	}
	}
}

static int rb_offset(struct qcow2 *q, uint64_t rti, uint64_t *off)
{
	*off = 0;
	if (rti >= q->rt_size)
		return 0;
	uint64_t o = q->rt[rti] & ~511ull;
	if (!o)
		return 0;
	if (o & (q->cluster_size - 1))
		return qcow2_err(q, -EIO, "refcount block %llu at unaligned offset 0x%llx",
				 (unsigned long long)rti, (unsigned long long)o);
	*off = o;
	return 0;
}

int qcow2_rc_get(struct qcow2 *q, uint64_t cl, uint64_t *rc)
{
	uint64_t rbo;
	int ret = rb_offset(q, cl >> q->rb_bits, &rbo);
	*rc = 0;
	if (ret || !rbo)
		return ret;
	struct qcow2_cent *e;
	if ((ret = qcow2_cache_get(q, &q->rbc, rbo, false, &e)))
		return ret;
	*rc = qcow2_rb_get(e->buf, cl & ((1ull << q->rb_bits) - 1), q->refcount_order);
	return 0;
}

static uint64_t file_end_cluster(struct qcow2 *q)
{
	int64_t s = blk_file_size(q->b);
	return s < 0 ? 0 : qcow2_clusters(q, (uint64_t)s);
}

static int write_rt_entries(struct qcow2 *q, uint64_t first, uint64_t n)
{
	uint8_t *buf = malloc(n * 8);
	if (!buf)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		wbe64(buf + i * 8, q->rt[first + i]);
	int ret = blk_file_pwrite(q->b, q->rt_offset + first * 8, buf, n * 8);
	free(buf);
	return ret;
}

/*
 * Grow the refcount table so that it has an entry for block index rti.
 * The new table and the refcount blocks describing it go past everything
 * the old table covers and past the end of the file, so that they count
 * themselves; they are written and synced before the header points to
 * them, and the old table is freed last.
 */
static int grow_rt(struct qcow2 *q, uint64_t rti)
{
	uint64_t cs = q->cluster_size, per = 1ull << q->rb_bits;
	uint64_t t = q->rt_size * per, eof = file_end_cluster(q);
	if (t < eof)
		t = eof;
	uint64_t entries = 0, n = 0, m = 0;
	for (int iter = 0; iter < 16; iter++) {
		uint64_t end = t + n + m;
		entries = q->rt_size * 2;
		if (entries < rti + 1)
			entries = rti + 1;
		if (entries < ((end + 1) >> q->rb_bits) + 2)
			entries = ((end + 1) >> q->rb_bits) + 2;
		n = (entries * 8 + cs - 1) / cs;
		entries = n * cs / 8;
		uint64_t m2 = ((t + n + m + per - 1) / per) - t / per;
		if (m2 == m && entries > (t + n + m) / per)
			break;
		m = m2;
	}
	if (n * cs > QCOW2_MAX_RT_BYTES)
		return qcow2_err(q, -EFBIG, "refcount table would exceed %u bytes",
				 QCOW2_MAX_RT_BYTES);
	uint64_t *nrt = calloc(entries, 8);
	uint8_t *blk = malloc(cs);
	if (!nrt || !blk) {
		free(nrt);
		free(blk);
		return -ENOMEM;
	}
	memcpy(nrt, q->rt, q->rt_size * 8);
	int ret = 0;
	uint64_t first_bi = t / per;
	for (uint64_t k = 0; k < m && !ret; k++) {
		uint64_t bi = first_bi + k;
		memset(blk, 0, cs);
		for (uint64_t c = t; c < t + n + m; c++)
			if (c / per == bi)
				qcow2_rb_set(blk, c % per, q->refcount_order, 1);
		nrt[bi] = (t + n + k) * cs;
		ret = blk_file_pwrite(q->b, (t + n + k) * cs, blk, cs);
	}
	free(blk);
	if (!ret) {
		uint8_t *tb = calloc(n, cs);
		if (!tb)
			ret = -ENOMEM;
		for (uint64_t i = 0; !ret && i < entries; i++)
			wbe64(tb + i * 8, nrt[i]);
		if (!ret)
			ret = blk_file_pwrite(q->b, t * cs, tb, n * cs);
		free(tb);
	}
	uint8_t hf[12];
	wbe64(hf, t * cs);
	wbe32(hf + 8, (uint32_t)n);
	if (!ret)
		ret = qcow2_switch_table(q, 48, hf, 12);
	if (ret) {
		free(nrt);
		return ret;
	}
	uint64_t old = q->rt_offset, oldn = q->rt_clusters;
	free(q->rt);
	q->rt = nrt;
	q->rt_offset = t * cs;
	q->rt_clusters = (uint32_t)n;
	q->rt_size = entries;
	return qcow2_free(q, old, oldn * cs);
}

static bool avoided(struct qcow2 *q, uint64_t cl)
{
	return q->avoid && cl < q->avoid_n && q->avoid[cl];
}

/*
 * Give block index bi a refcount block.  Past the end of the file, a group
 * of g blocks for the ranges bi..bi+g-1 goes at the start of range bi
 * (the first block counts the group), so that the ranges after it stay
 * free for runs of up to want clusters; inside the file one block takes
 * a free cluster from the allocator.
 */
static int new_refblock(struct qcow2 *q, uint64_t bi, uint64_t want)
{
	int ret;
	if (bi >= q->rt_size) {
		if ((ret = grow_rt(q, bi)))
			return ret;
		if (q->rt[bi])   /* the new table's own blocks cover it */
			return 0;
	}
	uint64_t cs = q->cluster_size, per = 1ull << q->rb_bits;
	uint64_t self = bi * per, off;
	struct qcow2_cent *e;
	if (self >= file_end_cluster(q)) {
		uint64_t g = (want + per - 2) / (per - 1) + 1;
		if (g > per)
			return qcow2_err(q, -EFBIG, "allocation of %llu clusters too large for this "
					 "cluster size and refcount width", (unsigned long long)want);
		if (bi + g > q->rt_size && (ret = grow_rt(q, bi + g - 1)))
			return ret;
		if (q->rt[bi])
			return 0;
		for (uint64_t j = 1; j < g; j++)
			if (q->rt[bi + j]) {
				g = j;
				break;
			}
		for (uint64_t j = 0; j < g; j++) {
			if ((ret = qcow2_cache_get(q, &q->rbc, (self + j) * cs, true, &e)))
				return ret;
			if (j == 0)
				for (uint64_t k = 0; k < g; k++)
					qcow2_rb_set(e->buf, k, q->refcount_order, 1);
			if ((ret = cache_write(q, e)))
				return ret;
		}
		if ((ret = qcow2_rc_commit(q)) || (ret = blk_file_sync(q->b)))
			return ret;
		for (uint64_t j = 0; j < g; j++)
			q->rt[bi + j] = (self + j) * cs;
		if (self + g > q->alloc_end)
			q->alloc_end = self + g;
		return write_rt_entries(q, bi, g);
	}
	if ((ret = qcow2_alloc(q, 1, &off)))
		return ret;
	if ((ret = qcow2_cache_get(q, &q->rbc, off, true, &e)))
		return ret;
	/* the block reaches the disk before the table entry */
	if ((ret = cache_write(q, e)) || (ret = qcow2_rc_commit(q)) ||
	    (ret = blk_file_sync(q->b)))
		return ret;
	q->rt[bi] = off;
	return write_rt_entries(q, bi, 1);
}

int qcow2_rc_update(struct qcow2 *q, uint64_t cl, int64_t delta)
{
	uint64_t bi = cl >> q->rb_bits, rbo;
	int ret = rb_offset(q, bi, &rbo);
	if (ret)
		return ret;
	if (!rbo) {
		if (delta < 0)
			return qcow2_err(q, -EIO, "refcount of cluster %llu would drop below 0",
					 (unsigned long long)cl);
		if (delta == 0)
			return 0;
		if ((ret = new_refblock(q, bi, 1)) || (ret = rb_offset(q, bi, &rbo)))
			return ret;
	}
	struct qcow2_cent *e;
	if ((ret = qcow2_cache_get(q, &q->rbc, rbo, false, &e)))
		return ret;
	uint64_t i = cl & ((1ull << q->rb_bits) - 1);
	uint64_t v = qcow2_rb_get(e->buf, i, q->refcount_order);
	if (delta < 0 && v < (uint64_t)-delta)
		return qcow2_err(q, -EIO, "refcount of cluster %llu would drop below 0",
				 (unsigned long long)cl);
	if (delta > 0 && q->refcount_max - v < (uint64_t)delta)
		return qcow2_err(q, -EIO, "refcount of cluster %llu would overflow",
				 (unsigned long long)cl);
	if (delta > 0) {
		if (q->lazy && (ret = qcow2_mark_dirty(q)))
			return ret;
		q->rc_unsynced = true;
	}
	qcow2_rb_set(e->buf, i, q->refcount_order, v + (uint64_t)delta);
	e->dirty = true;
	if (delta < 0 && v + (uint64_t)delta == 0) {
		/* free now: nothing cached may outlive its contents */
		uint64_t off = cl << q->cluster_bits;
		if (cl < q->free_hint)
			q->free_hint = cl;
		qcow2_cache_drop(&q->l2c, off);
		if (q->cbyte && q->cbyte >> q->cluster_bits == cl)
			q->cbyte = 0;
		if (q->zcache_valid && q->zcache_off >> q->cluster_bits == cl)
			q->zcache_valid = false;
	}
	return 0;
}

/* Make every refcount increment so far durable (unless lazy refcounts,
 * where the dirty bit covers them). */
int qcow2_rc_commit(struct qcow2 *q)
{
	int ret = qcow2_cache_writeback(q, &q->rbc);
	if (ret || !q->rc_unsynced)
		return ret;
	if (!q->lazy && (ret = blk_file_sync(q->b)))
		return ret;
	q->rc_unsynced = false;
	return 0;
}

/* n contiguous free clusters, their refcounts set to 1 (in the cache). */
int qcow2_alloc(struct qcow2 *q, uint64_t n, uint64_t *off)
{
	uint64_t per = 1ull << q->rb_bits;
	uint64_t limit = QCOW2_MAX_SIZE >> q->cluster_bits;
	int ret;
	if (q->b->readonly)
		return -EROFS;
	int restarts = 0;
restart:
	if (++restarts > 64)
		return qcow2_err(q, -EIO, "cluster allocation does not converge (corrupt refcounts?)");
	uint64_t eof = file_end_cluster(q);
	/* Past the end of the file and of what this session allocated,
	 * every refcount is 0 in a sane image: a scan that runs far beyond
	 * that point is walking garbage. */
	uint64_t hard_end = eof > q->alloc_end ? eof : q->alloc_end;
	uint64_t start = q->free_hint, cl = start;
	if (!start)
		start = cl = 1;
	while (cl - start < n) {
		if (cl >= limit || (cl > hard_end && cl - hard_end > n + 2 * per + 64))
			return qcow2_err(q, -ENOSPC, "no free clusters (refcounts past the end of the "
					 "file are set)");
		uint64_t bi = cl >> q->rb_bits, rbo;
		if ((ret = rb_offset(q, bi, &rbo)))
			return ret;
		if (!rbo) {
			if (bi * per < eof && bi < q->rt_size) {
				/* a range inside the file without a refcount
				 * block: not ours to hand out */
				start = cl = (bi + 1) * per;
				continue;
			}
			if ((ret = new_refblock(q, bi, n)))
				return ret;
			goto restart;
		}
		uint64_t rc;
		if ((ret = qcow2_rc_get(q, cl, &rc)))
			return ret;
		if (rc || avoided(q, cl)) {
			start = ++cl;
			continue;
		}
		cl++;
	}
	for (uint64_t i = 0; i < n; i++)
		if ((ret = qcow2_rc_update(q, start + i, 1)))
			return ret;
	if (n == 1 || start == q->free_hint)
		q->free_hint = start + n;
	if (start + n > q->alloc_end)
		q->alloc_end = start + n;
	*off = start << q->cluster_bits;
	return 0;
}

int qcow2_free(struct qcow2 *q, uint64_t off, uint64_t len)
{
	if (!len)
		return 0;
	uint64_t first = off >> q->cluster_bits, last = (off + len - 1) >> q->cluster_bits;
	for (uint64_t c = first; c <= last; c++) {
		int ret = qcow2_rc_update(q, c, -1);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- the allocation pool ---- */

#define POOL_BYTES (1u << 20)

int qcow2_pool_take(struct qcow2 *q, uint64_t n, uint64_t *off)
{
	if (q->pool_n < n) {
		int ret = qcow2_pool_release(q);
		if (ret)
			return ret;
		uint64_t want = POOL_BYTES >> q->cluster_bits;
		if (want < 16)
			want = 16;
		uint64_t per = 1ull << q->rb_bits;
		if (want > per * (per - 1) / 2)
			want = per * (per - 1) / 2;
		if (want < n)
			want = n;
		if ((ret = qcow2_alloc(q, want, &q->pool_start)))
			return ret;
		q->pool_n = want;
	}
	*off = q->pool_start;
	q->pool_start += n << q->cluster_bits;
	q->pool_n -= n;
	return 0;
}

int qcow2_pool_release(struct qcow2 *q)
{
	int ret = 0;
	if (q->pool_n)
		ret = qcow2_free(q, q->pool_start, q->pool_n << q->cluster_bits);
	q->pool_n = 0;
	return ret;
}

/* ---- check ("qemu-img check") ---- */

#define CHECK_MAX_CLUSTERS (1ull << 28)

struct chk {
	struct qcow2 *q;
	uint32_t *ref;      /* expected refcount per cluster (saturating) */
	uint64_t n;         /* clusters in the file */
	struct blk_check *res;
	bool quiet;
};

static void chk_ref(struct chk *c, uint64_t off, uint64_t len, const char *what)
{
	if (!len)
		return;
	uint64_t first = off >> c->q->cluster_bits, last = (off + len - 1) >> c->q->cluster_bits;
	if (off + len < off || last >= c->n) {
		if (!c->quiet)
			fprintf(stderr, "ERROR %s at offset 0x%llx is past the end of the image file\n",
				what, (unsigned long long)off);
		c->res->corruptions++;
		return;
	}
	for (uint64_t i = first; i <= last; i++)
		if (c->ref[i] < UINT32_MAX)
			c->ref[i]++;
}

static void chk_corrupt(struct chk *c, const char *msg, uint64_t v)
{
	if (!c->quiet)
		fprintf(stderr, "ERROR %s 0x%llx\n", msg, (unsigned long long)v);
	c->res->corruptions++;
}

static int chk_l2(struct chk *c, uint64_t l2off, bool active)
{
	struct qcow2 *q = c->q;
	struct qcow2_cent *e;
	int ret = qcow2_read_l2(q, l2off, &e);
	if (ret)
		return ret;
	uint64_t n = 1ull << q->l2_bits;
	uint64_t *tmp = malloc(n * 8);
	if (!tmp)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		tmp[i] = be64(e->buf + i * 8);
	uint64_t prev = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t ent = tmp[i];
		if (ent & QCOW2_OFLAG_COMPRESSED) {
			uint64_t coff, csize;
			if (qcow2_compressed_span(q, ent, &coff, &csize)) {
				chk_corrupt(c, "bad compressed cluster descriptor", ent);
				continue;
			}
			chk_ref(c, coff, csize, "compressed cluster");
			c->res->compressed_clusters += active;
			c->res->allocated_clusters += active;
			continue;
		}
		uint64_t off = ent & QCOW2_L2_OFFSET_MASK;
		if (!off)
			continue;
		if (off & (q->cluster_size - 1)) {
			chk_corrupt(c, "unaligned data cluster offset", off);
			continue;
		}
		if (active) {
			c->res->allocated_clusters++;
			if (prev && off != prev + q->cluster_size)
				c->res->fragmented_clusters++;
			prev = off;
		}
		chk_ref(c, off, q->cluster_size, "data cluster");
	}
	free(tmp);
	return 0;
}

static int chk_l1(struct chk *c, uint64_t l1off, const uint64_t *l1, uint32_t l1_size,
		  bool active)
{
	struct qcow2 *q = c->q;
	chk_ref(c, l1off, (uint64_t)l1_size * 8, "L1 table");
	if (qcow2_l1_has_dups(l1, l1_size)) {
		chk_corrupt(c, "L1 table names one L2 table twice, at", l1off);
		return 0;
	}
	for (uint32_t i = 0; i < l1_size; i++) {
		uint64_t l2 = l1[i] & QCOW2_L1_OFFSET_MASK;
		if (!l2)
			continue;
		if (l2 & (q->cluster_size - 1)) {
			chk_corrupt(c, "unaligned L2 table offset", l2);
			continue;
		}
		chk_ref(c, l2, q->cluster_size, "L2 table");
		if ((l2 >> q->cluster_bits) >= c->n)
			continue;
		int ret = chk_l2(c, l2, active);
		if (ret)
			return ret;
	}
	return 0;
}

/* OFLAG_COPIED must be set exactly where the refcount is 1 (active L1). */
static int chk_copied(struct chk *c, int fix)
{
	struct qcow2 *q = c->q;
	bool fixed_any = false;
	for (uint32_t i = 0; i < q->l1_size; i++) {
		uint64_t l2 = q->l1[i] & QCOW2_L1_OFFSET_MASK, rc;
		if (!l2 || l2 & (q->cluster_size - 1) || (l2 >> q->cluster_bits) >= c->n)
			continue;
		if (qcow2_rc_get(q, l2 >> q->cluster_bits, &rc))
			continue;
		bool want = rc == 1;
		if (want != !!(q->l1[i] & QCOW2_OFLAG_COPIED)) {
			if (!c->quiet)
				fprintf(stderr, "%s OFLAG_COPIED L2 cluster: l1_index=%u "
					"l1_entry=%llx refcount=%llu\n",
					fix & BLK_FIX_ERRORS ? "Repairing" : "ERROR", i,
					(unsigned long long)q->l1[i], (unsigned long long)rc);
			if (fix & BLK_FIX_ERRORS)
				fixed_any = true;
			else
				c->res->corruptions++;
		}
		struct qcow2_cent *e;
		if (qcow2_read_l2(q, l2, &e))
			continue;
		for (uint64_t j = 0; j < (1ull << q->l2_bits); j++) {
			uint64_t ent = be64(e->buf + j * 8), doff = ent & QCOW2_L2_OFFSET_MASK;
			if (ent & QCOW2_OFLAG_COMPRESSED || !doff || doff & (q->cluster_size - 1) ||
			    (doff >> q->cluster_bits) >= c->n)
				continue;
			if (qcow2_rc_get(q, doff >> q->cluster_bits, &rc))
				continue;
			if ((rc == 1) != !!(ent & QCOW2_OFLAG_COPIED)) {
				if (!c->quiet)
					fprintf(stderr, "%s OFLAG_COPIED data cluster: l2_entry=%llx "
						"refcount=%llu\n",
						fix & BLK_FIX_ERRORS ? "Repairing" : "ERROR",
						(unsigned long long)ent, (unsigned long long)rc);
				if (fix & BLK_FIX_ERRORS)
					fixed_any = true;
				else
					c->res->corruptions++;
			}
		}
	}
	if (fixed_any)
		return qcow2_update_l1_refs(q, q->l1, q->l1_size, 0, true);
	return 0;
}

static int chk_collect(struct chk *c)
{
	struct qcow2 *q = c->q;
	uint64_t cs = q->cluster_size;
	chk_ref(c, 0, cs, "header");
	int ret = chk_l1(c, q->l1_offset, q->l1, q->l1_size, true);
	if (ret)
		return ret;
	for (uint32_t s = 0; s < q->nb_snapshots; s++) {
		struct qcow2_snap *sn = &q->snaps[s];
		uint64_t *l1;
		if (sn->l1_offset & (cs - 1) || (uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
			chk_corrupt(c, "bad snapshot L1 table", sn->l1_offset);
			continue;
		}
		l1 = malloc(sn->l1_size ? sn->l1_size * 8ull : 8);
		if (!l1)
			return -ENOMEM;
		ret = blk_file_pread(q->b, sn->l1_offset, l1, sn->l1_size * 8ull);
		for (uint32_t i = 0; !ret && i < sn->l1_size; i++)
			l1[i] = be64((uint8_t *)&l1[i]);
		if (!ret)
			ret = chk_l1(c, sn->l1_offset, l1, sn->l1_size, false);
		free(l1);
		if (ret)
			return ret;
	}
	if (q->nb_snapshots) {
		chk_ref(c, q->snapshots_offset, qcow2_snap_table_len(q), "snapshot table");
	}
	chk_ref(c, q->rt_offset, (uint64_t)q->rt_clusters * cs, "refcount table");
	for (uint64_t i = 0; i < q->rt_size; i++) {
		uint64_t o = q->rt[i] & ~511ull;
		if (!o)
			continue;
		if (o & (cs - 1)) {
			chk_corrupt(c, "refcount block is not cluster aligned", o);
			continue;
		}
		chk_ref(c, o, cs, "refcount block");
	}
	return 0;
}

static int chk_compare(struct chk *c, int fix)
{
	struct qcow2 *q = c->q;
	int ret;
	uint64_t per = 1ull << q->rb_bits;
	for (uint64_t i = 0; i < c->n; i++) {
		uint64_t rc, rbo;
		if ((ret = rb_offset(q, i >> q->rb_bits, &rbo)))
			return ret;
		if (!rbo && !(i & (per - 1))) {
			/* no refcount block: only referenced clusters differ */
			uint64_t end = i + per < c->n ? i + per : c->n, j = i;
			while (j < end && !c->ref[j])
				j++;
			if (j == end) {
				i = end - 1;
				continue;
			}
		}
		if ((ret = qcow2_rc_get(q, i, &rc)))
			return ret;
		if (c->ref[i])
			c->res->image_end_offset = (i + 1) << q->cluster_bits;
		if (rc == c->ref[i])
			continue;
		bool leak = rc > c->ref[i];
		bool fixit = leak ? (fix & BLK_FIX_LEAKS) : (fix & BLK_FIX_ERRORS);
		if (!c->quiet)
			fprintf(stderr, "%s cluster %llu refcount=%llu reference=%llu\n",
				fixit ? "Repairing" : leak ? "Leaked" : "ERROR",
				(unsigned long long)i, (unsigned long long)rc,
				(unsigned long long)c->ref[i]);
		if (!fixit) {
			if (leak)
				c->res->leaks++;
			else
				c->res->corruptions++;
			continue;
		}
		if (c->ref[i] > q->refcount_max || (leak && rc - c->ref[i] > INT64_MAX)) {
			c->res->corruptions++;
			continue;
		}
		ret = qcow2_rc_update(q, i, (int64_t)(c->ref[i] - rc));
		if (ret) {
			c->res->check_errors++;
			continue;
		}
		if (leak)
			c->res->leaks_fixed++;
		else
			c->res->corruptions_fixed++;
	}
	return 0;
}

int qcow2_check_quiet(struct qcow2 *q, int fix, struct blk_check *res, bool quiet)
{
	memset(res, 0, sizeof(*res));
	if (q->b->readonly)
		fix = 0;
	int ret = 0;
	if (fix && (ret = qcow2_pool_release(q)))
		return -1;
	qcow2_pool_release(q);
	int64_t fsize = blk_file_size(q->b);
	if (fsize < 0)
		return -1;
	struct chk c = { .q = q, .res = res, .quiet = quiet };
	c.n = qcow2_clusters(q, (uint64_t)fsize);
	if (c.n > CHECK_MAX_CLUSTERS)
		return qcow2_err(q, -1, "check: the file has too many clusters (%llu) to check",
				 (unsigned long long)c.n);
	c.ref = calloc(c.n ? c.n : 1, sizeof(*c.ref));
	if (!c.ref)
		return qcow2_err(q, -1, "check: out of memory for %llu clusters",
				 (unsigned long long)c.n);
	res->total_clusters = qcow2_clusters(q, q->size);
	if ((ret = chk_collect(&c)))
		goto out;
	if (fix & BLK_FIX_ERRORS) {
		q->avoid = c.ref;
		q->avoid_n = c.n;
	}
	if ((ret = chk_compare(&c, fix)))
		goto out;
	/* new refcount blocks made while repairing: count them in, again */
	if (fix && (res->leaks_fixed || res->corruptions_fixed)) {
		struct blk_check r2;
		memset(&r2, 0, sizeof(r2));
		struct chk c2 = c;
		c2.res = &r2;
		c2.quiet = true;
		int64_t fs2 = blk_file_size(q->b);
		if (fs2 > 0 && qcow2_clusters(q, (uint64_t)fs2) > c.n &&
		    qcow2_clusters(q, (uint64_t)fs2) <= CHECK_MAX_CLUSTERS) {
			uint32_t *nr = realloc(c.ref, qcow2_clusters(q, (uint64_t)fs2) * sizeof(*nr));
			if (nr) {
				c.ref = c2.ref = nr;
				c2.n = qcow2_clusters(q, (uint64_t)fs2);
			}
		}
		memset(c2.ref, 0, c2.n * sizeof(*c2.ref));
		q->avoid = NULL;
		if (!(ret = chk_collect(&c2)))
			ret = chk_compare(&c2, fix);
	}
	q->avoid = NULL;
	if (!ret)
		ret = chk_copied(&c, fix);
	if (!ret && fix)
		ret = qcow2_rc_commit(q);
	if (!ret && fix)
		ret = qcow2_cache_writeback(q, &q->rbc);
out:
	q->avoid = NULL;
	free(c.ref);
	if (ret) {
		res->check_errors++;
		return -1;
	}
	return 0;
}

int qcow2_check(struct blk *b, int fix, struct blk_check *res)
{
	return qcow2_check_quiet(QCOW2(b), fix, res, false);
}
