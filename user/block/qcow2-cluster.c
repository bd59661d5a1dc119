/*
 * qcow2 cluster mapping ("Cluster mapping" in QEMU's qcow2.txt): L1/L2
 * lookup and update, allocation with copy-on-write, zero and compressed
 * clusters, map() for the asynchronous fast path, block status.
 *
 * Metadata ordering (so that a process killed at any moment leaves an
 * image with leaks at worst, never corruption):
 *
 *  1. A cluster's refcount increment reaches the disk (refcount block
 *     written, then fdatasync: qcow2_rc_commit) before any L1/L2 entry
 *     that points to it is written.  With lazy_refcounts the dirty bit is
 *     set (and synced) before the first increment instead, and a dirty
 *     image gets its refcounts rebuilt when it is next opened read-write.
 *  2. A new cluster's data, including the copy-on-write head and tail
 *     from the old cluster or the backing file, is written before the L2
 *     entry that points to it.  A new L2 table is written (zeros, or the
 *     copy of a shared table) before the L1 entry that points to it.
 *  3. Freeing runs the other way: the L2 (or L1) entry is rewritten first,
 *     then the refcount drops (in the cache; a crash in between leaks).
 *  4. L1 and L2 entries are written through at once; refcount blocks are
 *     cached write-back (step 1 flushes them).  Data clusters come from a
 *     pool of clusters whose refcounts were committed together, so a
 *     sequential write pays one fdatasync per pool, not per cluster; what
 *     is left of the pool is freed at close (after a kill: leaks).
 *  5. Header fields that point to new tables (L1, refcount table,
 *     snapshot table) are written after the tables are on disk and
 *     synced; the old tables are freed afterwards.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <zlib.h>
#include "qcow2.h"

enum ctype { C_UNALLOC, C_ZERO, C_ZERO_ALLOC, C_NORMAL, C_COMPRESSED };

static enum ctype classify(const struct qcow2 *q, uint64_t ent)
{
	if (ent & QCOW2_OFLAG_COMPRESSED)
		return C_COMPRESSED;
	bool zero = q->version >= 3 && (ent & QCOW2_OFLAG_ZERO);
	if (ent & QCOW2_L2_OFFSET_MASK)
		return zero ? C_ZERO_ALLOC : C_NORMAL;
	return zero ? C_ZERO : C_UNALLOC;
}

int qcow2_l1_needed(const struct qcow2 *q, uint64_t size, uint64_t *entries)
{
	unsigned shift = q->cluster_bits + q->l2_bits;
	if (size > QCOW2_MAX_SIZE)
		return -EFBIG;
	*entries = (size + (1ull << shift) - 1) >> shift;
	return 0;
}

int qcow2_compressed_span(const struct qcow2 *q, uint64_t ent, uint64_t *coff, uint64_t *csize)
{
	unsigned shift = 62 - (q->cluster_bits - 8);
	*coff = ent & ((1ull << shift) - 1);
	uint64_t nb = ((ent >> shift) & ((1ull << (q->cluster_bits - 8)) - 1)) + 1;
	*csize = nb * 512 - (*coff & 511);
	if (*coff < q->cluster_size)
		return -EIO;
	return 0;
}

int qcow2_read_l2(struct qcow2 *q, uint64_t l2off, struct qcow2_cent **out)
{
	if (!l2off || l2off & (q->cluster_size - 1))
		return qcow2_err(q, -EIO, "L2 table at invalid offset 0x%llx",
				 (unsigned long long)l2off);
	return qcow2_cache_get(q, &q->l2c, l2off, false, out);
}

static inline uint64_t l2_ent(const struct qcow2_cent *e, uint64_t i)
{
	return be64(e->buf + i * 8);
}

/* The L2 entry of virtual cluster vcl (0 when its L2 table is absent). */
static int lookup(struct qcow2 *q, uint64_t vcl, uint64_t *ent)
{
	uint64_t l1i = vcl >> q->l2_bits;
	*ent = 0;
	if (l1i >= q->l1_size)
		return 0;
	uint64_t l2off = q->l1[l1i] & QCOW2_L1_OFFSET_MASK;
	if (!l2off)
		return 0;
	struct qcow2_cent *e;
	int ret = qcow2_read_l2(q, l2off, &e);
	if (ret)
		return ret;
	*ent = l2_ent(e, vcl & ((1ull << q->l2_bits) - 1));
	enum ctype t = classify(q, *ent);
	if ((t == C_NORMAL || t == C_ZERO_ALLOC) &&
	    (*ent & QCOW2_L2_OFFSET_MASK & (q->cluster_size - 1)))
		return qcow2_err(q, -EIO, "L2 entry of cluster %llu has an unaligned offset 0x%llx",
				 (unsigned long long)vcl,
				 (unsigned long long)(*ent & QCOW2_L2_OFFSET_MASK));
	if (t == C_COMPRESSED) {
		uint64_t coff, csize;
		if (qcow2_compressed_span(q, *ent, &coff, &csize))
			return qcow2_err(q, -EIO, "bad compressed cluster descriptor 0x%llx",
					 (unsigned long long)*ent);
	}
	return 0;
}

static int write_l1_entry(struct qcow2 *q, uint64_t i)
{
	uint8_t v[8];
	wbe64(v, q->l1[i]);
	return blk_file_pwrite(q->b, q->l1_offset + i * 8, v, 8);
}

/* Drop the references an L2 entry holds (after the entry was rewritten). */
static int free_entry(struct qcow2 *q, uint64_t ent)
{
	switch (classify(q, ent)) {
	case C_NORMAL:
	case C_ZERO_ALLOC:
		return qcow2_free(q, ent & QCOW2_L2_OFFSET_MASK, q->cluster_size);
	case C_COMPRESSED: {
		uint64_t coff, csize;
		if (qcow2_compressed_span(q, ent, &coff, &csize))
			return 0;
		q->zcache_valid = false;
		return qcow2_free(q, coff, csize);
	}
	default:
		return 0;
	}
}

/* The L2 table for L1 index l1i, allocated or copied so that this image
 * alone owns it (refcount 1, OFLAG_COPIED in the L1 entry). */
static int l2_for_write(struct qcow2 *q, uint64_t l1i, struct qcow2_cent **out)
{
	if (l1i >= q->l1_size)
		return qcow2_err(q, -EIO, "L1 index %llu past the L1 table",
				 (unsigned long long)l1i);
	uint64_t old = q->l1[l1i] & QCOW2_L1_OFFSET_MASK;
	int ret;
	if (old && (q->l1[l1i] & QCOW2_OFLAG_COPIED))
		return qcow2_read_l2(q, old, out);
	uint64_t nl2;
	uint8_t *copy = NULL;
	if (old) {
		struct qcow2_cent *e;
		if ((ret = qcow2_read_l2(q, old, &e)))
			return ret;
		copy = malloc(q->cluster_size);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, e->buf, q->cluster_size);
	}
	if ((ret = qcow2_alloc(q, 1, &nl2))) {
		free(copy);
		return ret;
	}
	struct qcow2_cent *e;
	if ((ret = qcow2_cache_get(q, &q->l2c, nl2, true, &e))) {
		free(copy);
		return ret;
	}
	if (copy)
		memcpy(e->buf, copy, q->cluster_size);
	free(copy);
	if ((ret = blk_file_pwrite(q->b, nl2, e->buf, q->cluster_size)) ||
	    (ret = qcow2_rc_commit(q)))
		return ret;
	q->l1[l1i] = nl2 | QCOW2_OFLAG_COPIED;
	if ((ret = write_l1_entry(q, l1i)))
		return ret;
	if (old && (ret = qcow2_free(q, old, q->cluster_size)))
		return ret;
	return qcow2_read_l2(q, nl2, out);
}

/* ---- compressed clusters ---- */

static int read_compressed(struct qcow2 *q, uint64_t ent, const uint8_t **data)
{
	uint64_t coff, csize;
	if (qcow2_compressed_span(q, ent, &coff, &csize))
		return qcow2_err(q, -EIO, "bad compressed cluster descriptor 0x%llx",
				 (unsigned long long)ent);
	if (!q->zcache && !(q->zcache = malloc(q->cluster_size)))
		return -ENOMEM;
	if (q->zcache_valid && q->zcache_off == coff) {
		*data = q->zcache;
		return 0;
	}
	q->zcache_valid = false;
	uint8_t *in = malloc(csize);
	if (!in)
		return -ENOMEM;
	int ret = blk_file_pread(q->b, coff, in, csize);
	if (ret) {
		free(in);
		return ret;
	}
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, -15) != Z_OK) {
		free(in);
		return -ENOMEM;
	}
	zs.next_in = in;
	zs.avail_in = (uInt)csize;
	zs.next_out = q->zcache;
	zs.avail_out = q->cluster_size;
	int zr = inflate(&zs, Z_FINISH);
	inflateEnd(&zs);
	free(in);
	/* the stream may end early in its last sector, or be followed by
	 * padding: what counts is a full cluster of output */
	if ((zr != Z_STREAM_END && zr != Z_BUF_ERROR) || zs.avail_out != 0)
		return qcow2_err(q, -EIO, "compressed cluster at 0x%llx does not decompress",
				 (unsigned long long)coff);
	q->zcache_off = coff;
	q->zcache_valid = true;
	*data = q->zcache;
	return 0;
}

/* ---- reads ---- */

/* The old contents [in, in+n) of virtual cluster vcl (entry ent), for
 * copy-on-write. */
static int read_old(struct qcow2 *q, uint64_t vcl, uint64_t ent, uint64_t in, uint8_t *buf,
		    size_t n)
{
	if (!n)
		return 0;
	switch (classify(q, ent)) {
	case C_UNALLOC: {
		struct iovec v = { buf, n };
		return blk_backing_preadv(q->b, (vcl << q->cluster_bits) + in, &v, 1, n);
	}
	case C_ZERO:
	case C_ZERO_ALLOC:
		memset(buf, 0, n);
		return 0;
	case C_NORMAL:
		return blk_file_pread(q->b, (ent & QCOW2_L2_OFFSET_MASK) + in, buf, n);
	case C_COMPRESSED: {
		const uint8_t *d;
		int ret = read_compressed(q, ent, &d);
		if (!ret)
			memcpy(buf, d + in, n);
		return ret;
	}
	}
	return -EIO;
}

int qcow2_preadv(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt, size_t len)
{
	struct qcow2 *q = QCOW2(b);
	uint64_t cs = q->cluster_size;
	struct iovec *sl = malloc((size_t)(iovcnt + 1) * sizeof(*sl));
	if (!sl)
		return -ENOMEM;
	int ret = 0;
	size_t pos = 0;
	while (pos < len && !ret) {
		uint64_t vo = off + pos, vcl = vo >> q->cluster_bits, o = vo & (cs - 1);
		uint64_t ent;
		if ((ret = lookup(q, vcl, &ent)))
			break;
		enum ctype t = classify(q, ent);
		size_t n = len - pos < cs - o ? len - pos : cs - o;
		uint64_t host = (ent & QCOW2_L2_OFFSET_MASK) + o;
		/* extend the run over clusters of the same kind */
		while (pos + n < len && t != C_COMPRESSED) {
			uint64_t e2;
			if ((ret = lookup(q, vcl + 1, &e2)))
				break;
			enum ctype t2 = classify(q, e2);
			bool zero = t == C_ZERO || t == C_ZERO_ALLOC;
			if (t2 != t && !(zero && (t2 == C_ZERO || t2 == C_ZERO_ALLOC)))
				break;
			if (t == C_NORMAL && (e2 & QCOW2_L2_OFFSET_MASK) != host - o + (n + o))
				break;
			vcl++;
			n += len - pos - n < cs ? len - pos - n : cs;
		}
		if (ret)
			break;
		if (t == C_ZERO || t == C_ZERO_ALLOC) {
			iov_memset(iov, iovcnt, pos, 0, n);
		} else if (t == C_COMPRESSED) {
			const uint8_t *d;
			if (!(ret = read_compressed(q, ent, &d)))
				iov_from_buf(iov, iovcnt, pos, d + o, n);
		} else {
			int cnt = iov_slice(iov, iovcnt, pos, n, sl, iovcnt + 1);
			if (cnt < 0)
				ret = -EINVAL;
			else if (t == C_UNALLOC)
				ret = blk_backing_preadv(b, vo, sl, cnt, n);
			else
				ret = blk_file_preadv(b, host, sl, cnt);
		}
		pos += n;
	}
	free(sl);
	return ret;
}

/* ---- writes ---- */

/* May cluster vcl (entry ent) be written where it is? */
static bool in_place(const struct qcow2 *q, uint64_t vcl, uint64_t ent)
{
	uint64_t l1i = vcl >> q->l2_bits;
	return classify(q, ent) == C_NORMAL && (ent & QCOW2_OFLAG_COPIED) &&
	       l1i < q->l1_size && (q->l1[l1i] & QCOW2_OFLAG_COPIED);
}

#define MAX_BATCH 512

/* Allocate and write k clusters from vcl on (same L2 table), the data
 * coming from iov[pos, pos+n) at offset o into the first cluster. */
static int write_alloc(struct qcow2 *q, uint64_t vcl, uint64_t o, const struct iovec *iov,
		       int iovcnt, size_t pos, size_t n, uint64_t k, struct iovec *sl)
{
	uint64_t cs = q->cluster_size, l2mask = (1ull << q->l2_bits) - 1;
	uint64_t l1i = vcl >> q->l2_bits, l2i = vcl & l2mask;
	struct qcow2_cent *e;
	int ret = l2_for_write(q, l1i, &e);
	if (ret)
		return ret;
	uint64_t old[MAX_BATCH];
	for (uint64_t j = 0; j < k; j++)
		old[j] = l2_ent(e, l2i + j);
	uint64_t host;
	if ((ret = qcow2_pool_take(q, k, &host)))
		return ret;
	uint64_t end = o + n;                      /* from the first cluster's start */
	uint64_t tail = (end & (cs - 1)) ? cs - (end & (cs - 1)) : 0;
	uint8_t *hb = o ? malloc(o) : NULL, *tb = tail ? malloc(tail) : NULL;
	if ((o && !hb) || (tail && !tb)) {
		ret = -ENOMEM;
		goto out;
	}
	if ((ret = read_old(q, vcl, old[0], 0, hb, o)) ||
	    (ret = read_old(q, vcl + k - 1, old[k - 1], cs - tail, tb, tail)))
		goto out;
	int cnt = 0;
	if (o)
		sl[cnt++] = (struct iovec){ hb, o };
	int c2 = iov_slice(iov, iovcnt, pos, n, sl + cnt, iovcnt + 1);
	if (c2 < 0) {
		ret = -EINVAL;
		goto out;
	}
	cnt += c2;
	if (tail)
		sl[cnt++] = (struct iovec){ tb, tail };
	if ((ret = blk_file_pwritev(q->b, host, sl, cnt)) || (ret = qcow2_rc_commit(q)))
		goto out;
	if ((ret = l2_for_write(q, l1i, &e)))
		goto out;
	for (uint64_t j = 0; j < k; j++)
		wbe64(e->buf + (l2i + j) * 8, (host + j * cs) | QCOW2_OFLAG_COPIED);
	uint64_t l2off = q->l1[l1i] & QCOW2_L1_OFFSET_MASK;
	if ((ret = blk_file_pwrite(q->b, l2off + l2i * 8, e->buf + l2i * 8, k * 8)))
		goto out;
	for (uint64_t j = 0; j < k && !ret; j++)
		ret = free_entry(q, old[j]);
out:
	free(hb);
	free(tb);
	return ret;
}

int qcow2_pwritev(struct blk *b, uint64_t off, const struct iovec *iov, int iovcnt, size_t len)
{
	struct qcow2 *q = QCOW2(b);
	uint64_t cs = q->cluster_size, l2n = 1ull << q->l2_bits;
	struct iovec *sl = malloc((size_t)(iovcnt + 3) * sizeof(*sl));
	if (!sl)
		return -ENOMEM;
	int ret = 0;
	size_t pos = 0;
	while (pos < len && !ret) {
		uint64_t vo = off + pos, vcl = vo >> q->cluster_bits, o = vo & (cs - 1);
		uint64_t ent;
		if ((ret = lookup(q, vcl, &ent)))
			break;
		size_t n = len - pos < cs - o ? len - pos : cs - o;
		if (in_place(q, vcl, ent)) {
			uint64_t host = (ent & QCOW2_L2_OFFSET_MASK) + o;
			while (pos + n < len) {
				uint64_t e2;
				if ((ret = lookup(q, vcl + 1, &e2)) || !in_place(q, vcl + 1, e2) ||
				    (e2 & QCOW2_L2_OFFSET_MASK) != host - o + (n + o))
					break;
				vcl++;
				n += len - pos - n < cs ? len - pos - n : cs;
			}
			if (ret)
				break;
			int cnt = iov_slice(iov, iovcnt, pos, n, sl, iovcnt + 1);
			ret = cnt < 0 ? -EINVAL : blk_file_pwritev(b, host, sl, cnt);
			pos += n;
			continue;
		}
		uint64_t k = 1;
		while (pos + n < len && k < MAX_BATCH && ((vcl + k) & (l2n - 1))) {
			uint64_t e2;
			if ((ret = lookup(q, vcl + k, &e2)))
				break;
			if (in_place(q, vcl + k, e2))
				break;
			n += len - pos - n < cs ? len - pos - n : cs;
			k++;
		}
		if (ret)
			break;
		ret = write_alloc(q, vcl, o, iov, iovcnt, pos, n, k, sl);
		pos += n;
	}
	free(sl);
	return ret;
}

/* ---- zeroing and discarding whole clusters ---- */

enum zmode { Z_UNMAP, Z_KEEP, Z_DEALLOC };

/* Clusters [vcl, vcl+k) of one L2 table become zero (v3) or unallocated. */
static int zero_clusters(struct qcow2 *q, uint64_t vcl, uint64_t k, enum zmode mode)
{
	uint64_t l2mask = (1ull << q->l2_bits) - 1, l1i = vcl >> q->l2_bits, l2i = vcl & l2mask;
	if (l1i >= q->l1_size)
		return -EIO;
	bool has_backing = q->backing_name != NULL;
	if (!(q->l1[l1i] & QCOW2_L1_OFFSET_MASK) && (mode == Z_DEALLOC || !has_backing))
		return 0;  /* unallocated already reads as the result */
	struct qcow2_cent *e;
	int ret = l2_for_write(q, l1i, &e);
	if (ret)
		return ret;
	uint64_t *old = malloc(k * 8);
	if (!old)
		return -ENOMEM;
	bool changed = false;
	for (uint64_t j = 0; j < k; j++) {
		uint64_t ent = l2_ent(e, l2i + j), ne;
		old[j] = ent;
		enum ctype t = classify(q, ent);
		if (mode == Z_DEALLOC)
			ne = 0;
		else if (mode == Z_KEEP && t == C_NORMAL && (ent & QCOW2_OFLAG_COPIED))
			ne = ent | QCOW2_OFLAG_ZERO;
		else if (mode == Z_KEEP && t == C_ZERO_ALLOC)
			ne = ent;
		else
			ne = QCOW2_OFLAG_ZERO;
		if ((ne & QCOW2_L2_OFFSET_MASK) == (ent & QCOW2_L2_OFFSET_MASK) &&
		    !(ent & QCOW2_OFLAG_COMPRESSED))
			old[j] = 0;  /* the allocation stays */
		if (ne != ent)
			changed = true;
		wbe64(e->buf + (l2i + j) * 8, ne);
	}
	uint64_t l2off = q->l1[l1i] & QCOW2_L1_OFFSET_MASK;
	if (changed)
		ret = blk_file_pwrite(q->b, l2off + l2i * 8, e->buf + l2i * 8, k * 8);
	for (uint64_t j = 0; j < k && !ret; j++)
		ret = free_entry(q, old[j]);
	free(old);
	return ret;
}

static int for_whole_clusters(struct qcow2 *q, uint64_t off, uint64_t len, enum zmode mode)
{
	uint64_t cs = q->cluster_size, l2n = 1ull << q->l2_bits;
	uint64_t first = (off + cs - 1) >> q->cluster_bits, end = (off + len) >> q->cluster_bits;
	if (off + len == q->size)
		end = qcow2_clusters(q, q->size);  /* the short last cluster */
	while (first < end) {
		uint64_t k = l2n - (first & (l2n - 1));
		if (k > end - first)
			k = end - first;
		int ret = zero_clusters(q, first, k, mode);
		if (ret)
			return ret;
		first += k;
	}
	return 0;
}

static int write_zero_bytes(struct qcow2 *q, uint64_t off, uint64_t len)
{
	uint64_t cs = q->cluster_size;
	uint8_t *z = calloc(1, cs);
	if (!z)
		return -ENOMEM;
	int ret = 0;
	while (len && !ret) {
		uint64_t n = len < cs - (off & (cs - 1)) ? len : cs - (off & (cs - 1));
		uint64_t ent;
		if ((ret = lookup(q, off >> q->cluster_bits, &ent)))
			break;
		enum ctype t = classify(q, ent);
		bool reads_zero = t == C_ZERO || t == C_ZERO_ALLOC ||
				  (t == C_UNALLOC && !q->backing_name);
		if (!reads_zero) {
			struct iovec v = { z, n };
			ret = qcow2_pwritev(q->b, off, &v, 1, n);
		}
		off += n;
		len -= n;
	}
	free(z);
	return ret;
}

int qcow2_write_zeroes(struct blk *b, uint64_t off, uint64_t len, bool may_unmap)
{
	struct qcow2 *q = QCOW2(b);
	uint64_t cs = q->cluster_size;
	uint64_t a = (off + cs - 1) & ~(cs - 1), e = (off + len) & ~(cs - 1);
	if (off + len == q->size)
		e = off + len;
	if (a >= e)   /* no whole cluster */
		return write_zero_bytes(q, off, len);
	int ret = write_zero_bytes(q, off, a - off);
	if (!ret && off + len > e)
		ret = write_zero_bytes(q, e, off + len - e);
	if (ret)
		return ret;
	if (q->version >= 3)
		return for_whole_clusters(q, a, e - a, may_unmap ? Z_UNMAP : Z_KEEP);
	if (!q->backing_name)
		return for_whole_clusters(q, a, e - a, Z_DEALLOC);
	return write_zero_bytes(q, a, e - a);
}

int qcow2_discard(struct blk *b, uint64_t off, uint64_t len)
{
	struct qcow2 *q = QCOW2(b);
	return for_whole_clusters(q, off, len, Z_DEALLOC);
}

/* ---- compressed writes ---- */

int qcow2_write_compressed(struct blk *b, uint64_t off, const void *buf, size_t len)
{
	struct qcow2 *q = QCOW2(b);
	uint64_t cs = q->cluster_size;
	if (off & (cs - 1) || len > cs || !len)
		return -EINVAL;
	uint8_t *in = calloc(1, cs), *out = malloc(cs);
	int ret = 0;
	if (!in || !out) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(in, buf, len);
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	/* raw deflate with a 4 KiB window, as QEMU writes it */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
		ret = -ENOMEM;
		goto out;
	}
	zs.next_in = in;
	zs.avail_in = (uInt)cs;
	zs.next_out = out;
	zs.avail_out = (uInt)cs;
	int zr = deflate(&zs, Z_FINISH);
	uint64_t csize = cs - zs.avail_out;
	deflateEnd(&zs);
	if (zr != Z_STREAM_END || csize >= cs) {  /* does not shrink: store it plain */
		struct iovec v = { (void *)buf, len };
		ret = qcow2_pwritev(b, off, &v, 1, len);
		goto out;
	}
	uint64_t host, crc = 0;
	if (q->cbyte && (ret = qcow2_rc_get(q, q->cbyte >> q->cluster_bits, &crc)))
		goto out;
	if (q->cbyte && (q->cbyte & (cs - 1)) + csize <= cs && crc < q->refcount_max) {
		host = q->cbyte;
		if ((ret = qcow2_rc_update(q, host >> q->cluster_bits, 1)))
			goto out;
	} else if ((ret = qcow2_alloc(q, 1, &host))) {
		goto out;
	}
	q->cbyte = (host + csize) & (cs - 1) ? host + csize : 0;
	if ((ret = blk_file_pwrite(b, host, out, csize)) || (ret = qcow2_rc_commit(q)))
		goto out;
	uint64_t vcl = off >> q->cluster_bits, l1i = vcl >> q->l2_bits;
	uint64_t l2i = vcl & ((1ull << q->l2_bits) - 1);
	struct qcow2_cent *e;
	if ((ret = l2_for_write(q, l1i, &e)))
		goto out;
	uint64_t old = l2_ent(e, l2i);
	uint64_t nb = ((host + csize - 1) >> 9) - (host >> 9);
	wbe64(e->buf + l2i * 8, host | QCOW2_OFLAG_COMPRESSED |
	      (nb << (62 - (q->cluster_bits - 8))));
	uint64_t l2off = q->l1[l1i] & QCOW2_L1_OFFSET_MASK;
	if (!(ret = blk_file_pwrite(b, l2off + l2i * 8, e->buf + l2i * 8, 8)))
		ret = free_entry(q, old);
out:
	free(in);
	free(out);
	return ret;
}

/* ---- the fast path and allocation status ---- */

int64_t qcow2_map(struct blk *b, uint64_t off, uint64_t len, bool write, uint64_t *host_off)
{
	struct qcow2 *q = QCOW2(b);
	uint64_t cs = q->cluster_size, vcl = off >> q->cluster_bits, o = off & (cs - 1);
	uint64_t ent;
	int ret = lookup(q, vcl, &ent);
	if (ret)
		return ret;
	if (write ? !in_place(q, vcl, ent) : classify(q, ent) != C_NORMAL)
		return 0;
	uint64_t host = (ent & QCOW2_L2_OFFSET_MASK) + o;
	uint64_t n = len < cs - o ? len : cs - o;
	while (n < len) {
		uint64_t e2;
		if (lookup(q, vcl + 1, &e2))
			break;
		if (write ? !in_place(q, vcl + 1, e2) : classify(q, e2) != C_NORMAL)
			break;
		if ((e2 & QCOW2_L2_OFFSET_MASK) != host - o + n + o)
			break;
		vcl++;
		n += len - n < cs ? len - n : cs;
	}
	*host_off = host;
	return (int64_t)n;
}

/*
 * Unallocated clusters: with a backing file they defer to it (flags 0:
 * the core asks the backing file); without one they read as zeros
 * (BLK_ST_ZERO, not ALLOCATED).
 */
static int status_of(const struct qcow2 *q, uint64_t ent)
{
	switch (classify(q, ent)) {
	case C_UNALLOC: return q->backing_name ? 0 : BLK_ST_ZERO;
	case C_ZERO:
	case C_ZERO_ALLOC: return BLK_ST_ZERO | BLK_ST_ALLOCATED;
	case C_NORMAL: return BLK_ST_DATA | BLK_ST_ALLOCATED;
	case C_COMPRESSED: return BLK_ST_DATA | BLK_ST_ALLOCATED | BLK_ST_COMPRESSED;
	}
	return 0;
}

/* Where a cluster's data lies in the file: normal and preallocated zero
 * clusters have a host offset (QEMU's BDRV_BLOCK_OFFSET_VALID). */
static bool has_host(const struct qcow2 *q, uint64_t ent)
{
	enum ctype t = classify(q, ent);
	return t == C_NORMAL || t == C_ZERO_ALLOC;
}

/* Is the entry e2 of the next cluster part of the same run: same status,
 * and with a mapping wanted (host) the next host cluster too. */
static bool same_run(const struct qcow2 *q, int st, uint64_t e2, const uint64_t *host,
		     uint64_t next_host)
{
	if (status_of(q, e2) != (st & ~BLK_ST_OFFSET_VALID))
		return false;
	if (!host)
		return true;
	if (has_host(q, e2) != !!(st & BLK_ST_OFFSET_VALID))
		return false;
	return !has_host(q, e2) || (e2 & QCOW2_L2_OFFSET_MASK) == next_host;
}

/*
 * Was the image made with preallocation=metadata (data clusters allocated
 * but never written, holes in the file)?  QEMU's test: clearly more
 * clusters have a refcount than the file has blocks on the host.  Its
 * mapping then asks the file whether a data cluster is a hole (zeros).
 */
static bool metadata_preallocated(struct blk *b)
{
	struct qcow2 *q = QCOW2(b);
	struct stat st;
	int64_t flen = blk_file_size(b);

	if (q->prealloc_checked)
		return q->prealloc_metadata;
	q->prealloc_checked = true;
	if (flen < 0 || fstat(b->fd, &st) < 0)
		return false;
	uint64_t real = (uint64_t)st.st_blocks * 512 / q->cluster_size;
	uint64_t threshold = MAX(real * 10 / 9, real + 2), count = 0;
	uint64_t end = qcow2_clusters(q, (uint64_t)flen);
	for (uint64_t i = 0; i < end && count < threshold; i++) {
		uint64_t rc;
		if (qcow2_rc_get(q, i, &rc))
			return false;
		count += rc != 0;
	}
	q->prealloc_metadata = count >= threshold;
	return q->prealloc_metadata;
}

int qcow2_block_status(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum,
		       uint64_t *host)
{
	struct qcow2 *q = QCOW2(b);
	uint64_t cs = q->cluster_size, vcl = off >> q->cluster_bits;
	uint64_t l2n = 1ull << q->l2_bits;
	uint64_t ent;
	int ret = lookup(q, vcl, &ent);
	if (ret)
		return ret;
	int st = status_of(q, ent);
	uint64_t n = cs - (off & (cs - 1)), next_host = 0;
	if (host && has_host(q, ent)) {
		*host = (ent & QCOW2_L2_OFFSET_MASK) + (off & (cs - 1));
		next_host = (ent & QCOW2_L2_OFFSET_MASK) + cs;
		st |= BLK_ST_OFFSET_VALID;
	}
	/* a bounded walk: pnum may be shorter than the run; a mapping (as
	 * QEMU's) stops at the end of the L2 table */
	for (unsigned steps = 0; n < len && steps < 65536; steps++) {
		uint64_t next = vcl + 1, l1i = next >> q->l2_bits;
		if (host && !(next & (l2n - 1)))
			break;
		if (!(next & (l2n - 1)) && l1i < q->l1_size &&
		    !(q->l1[l1i] & QCOW2_L1_OFFSET_MASK)) {
			/* a whole absent L2 table at once */
			if (status_of(q, 0) != st)
				break;
			vcl += l2n;
			n += l2n * cs;
			continue;
		}
		uint64_t e2;
		if ((ret = lookup(q, next, &e2)))
			return ret;
		if (!same_run(q, st, e2, host, next_host))
			break;
		vcl++;
		n += cs;
		next_host += cs;
	}
	*pnum = n < len ? n : len;
	if ((st & BLK_ST_OFFSET_VALID) && (st & BLK_ST_DATA) && metadata_preallocated(b)) {
		uint64_t fpnum;
		int fst = blk_file_extent(b, *host, *pnum, &fpnum);
		if (fst >= 0) {
			*pnum = MIN(*pnum, fpnum);
			st |= fst & BLK_ST_ZERO;
		}
	}
	return st;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

bool qcow2_l1_has_dups(const uint64_t *l1, uint32_t n)
{
	uint64_t *t = malloc(n ? n * 8ull : 8);
	uint32_t k = 0;
	if (!t)
		return true;
	for (uint32_t i = 0; i < n; i++)
		if (l1[i] & QCOW2_L1_OFFSET_MASK)
			t[k++] = l1[i] & QCOW2_L1_OFFSET_MASK;
	qsort(t, k, 8, cmp_u64);
	bool dup = false;
	for (uint32_t i = 1; i < k && !dup; i++)
		dup = t[i] == t[i - 1];
	free(t);
	return dup;
}

/* ---- whole-table reference updates (snapshots) ---- */

static int l2_refs(struct qcow2 *q, uint64_t l2off, int delta)
{
	struct qcow2_cent *e;
	int ret = qcow2_read_l2(q, l2off, &e);
	if (ret)
		return ret;
	uint64_t n = 1ull << q->l2_bits;
	uint64_t *ents = malloc(n * 8);
	if (!ents)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		ents[i] = l2_ent(e, i);
	for (uint64_t i = 0; i < n && !ret; i++) {
		enum ctype t = classify(q, ents[i]);
		uint64_t a = 0, l = 0;
		if (t == C_NORMAL || t == C_ZERO_ALLOC) {
			a = ents[i] & QCOW2_L2_OFFSET_MASK;
			l = q->cluster_size;
		} else if (t == C_COMPRESSED && qcow2_compressed_span(q, ents[i], &a, &l)) {
			l = 0;
		}
		if (!l)
			continue;
		for (uint64_t c = a >> q->cluster_bits; c <= (a + l - 1) >> q->cluster_bits && !ret;
		     c++)
			ret = qcow2_rc_update(q, c, delta);
	}
	free(ents);
	return ret;
}

static int fix_copied_l2(struct qcow2 *q, uint64_t l2off)
{
	struct qcow2_cent *e;
	int ret = qcow2_read_l2(q, l2off, &e);
	if (ret)
		return ret;
	uint64_t n = 1ull << q->l2_bits;
	uint8_t *buf = malloc(q->cluster_size);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, e->buf, q->cluster_size);
	bool changed = false;
	for (uint64_t i = 0; i < n && !ret; i++) {
		uint64_t ent = be64(buf + i * 8), rc;
		enum ctype t = classify(q, ent);
		if (t != C_NORMAL && t != C_ZERO_ALLOC)
			continue;
		if ((ret = qcow2_rc_get(q, (ent & QCOW2_L2_OFFSET_MASK) >> q->cluster_bits, &rc)))
			break;
		uint64_t ne = rc == 1 ? ent | QCOW2_OFLAG_COPIED : ent & ~QCOW2_OFLAG_COPIED;
		if (ne != ent) {
			wbe64(buf + i * 8, ne);
			changed = true;
		}
	}
	if (!ret && changed) {
		ret = blk_file_pwrite(q->b, l2off, buf, q->cluster_size);
		if (!ret && !qcow2_read_l2(q, l2off, &e))
			memcpy(e->buf, buf, q->cluster_size);
	}
	free(buf);
	return ret;
}

/* Would one more reference to everything l1 reaches overflow a refcount?
 * Checked first, so that a snapshot fails cleanly, not half-counted. */
static int refs_fit(struct qcow2 *q, const uint64_t *l1, uint32_t l1_size)
{
	uint64_t n = 0, cap = 1024;
	uint64_t *cl = malloc(cap * 8);
	int ret = cl ? 0 : -ENOMEM;
	for (uint32_t i = 0; i < l1_size && !ret; i++) {
		uint64_t l2 = l1[i] & QCOW2_L1_OFFSET_MASK;
		struct qcow2_cent *e;
		if (!l2)
			continue;
		if ((ret = qcow2_read_l2(q, l2, &e)))
			break;
		for (uint64_t j = 0; j <= (1ull << q->l2_bits) && !ret; j++) {
			uint64_t a = l2, l = q->cluster_size;
			if (j < (1ull << q->l2_bits)) {  /* the entries, then the table */
				uint64_t ent = l2_ent(e, j);
				enum ctype t = classify(q, ent);
				l = 0;
				if (t == C_NORMAL || t == C_ZERO_ALLOC) {
					a = ent & QCOW2_L2_OFFSET_MASK;
					l = q->cluster_size;
				} else if (t == C_COMPRESSED && qcow2_compressed_span(q, ent, &a, &l)) {
					l = 0;
				}
			}
			for (uint64_t c = a >> q->cluster_bits; l && c <= (a + l - 1) >> q->cluster_bits;
			     c++) {
				if (n == cap) {
					uint64_t *m = realloc(cl, cap * 2 * 8);
					if (!m) {
						ret = -ENOMEM;
						break;
					}
					cl = m;
					cap *= 2;
				}
				cl[n++] = c;
			}
		}
	}
	if (!ret)
		qsort(cl, n, 8, cmp_u64);
	for (uint64_t i = 0; i < n && !ret;) {
		uint64_t j = i, rc;
		while (j < n && cl[j] == cl[i])
			j++;
		if ((ret = qcow2_rc_get(q, cl[i], &rc)))
			break;
		if (rc > q->refcount_max || q->refcount_max - rc < j - i)
			ret = qcow2_err(q, -ERANGE, "refcount of cluster %llu would overflow "
					"(refcount_bits=%u)", (unsigned long long)cl[i],
					q->refcount_bits);
		i = j;
	}
	free(cl);
	return ret;
}

int qcow2_update_l1_refs(struct qcow2 *q, uint64_t *l1, uint32_t l1_size, int delta,
			 bool fix_copied)
{
	int ret = 0;
	if (delta > 0 && (ret = refs_fit(q, l1, l1_size)))
		return ret;
	if (qcow2_l1_has_dups(l1, l1_size))
		return qcow2_err(q, -EIO, "an L1 table names one L2 table twice");
	for (uint32_t i = 0; i < l1_size && !ret && delta; i++) {
		uint64_t l2 = l1[i] & QCOW2_L1_OFFSET_MASK;
		if (!l2)
			continue;
		if ((ret = l2_refs(q, l2, delta)))
			break;
		ret = qcow2_rc_update(q, l2 >> q->cluster_bits, delta);
	}
	if (!ret && delta > 0)
		ret = qcow2_rc_commit(q);
	if (ret || !fix_copied)
		return ret;
	bool l1_changed = false;
	for (uint32_t i = 0; i < l1_size && !ret; i++) {
		uint64_t l2 = l1[i] & QCOW2_L1_OFFSET_MASK, rc;
		if (!l2)
			continue;
		if ((ret = fix_copied_l2(q, l2)) || (ret = qcow2_rc_get(q, l2 >> q->cluster_bits, &rc)))
			break;
		uint64_t ne = rc == 1 ? l1[i] | QCOW2_OFLAG_COPIED : l1[i] & ~QCOW2_OFLAG_COPIED;
		if (ne != l1[i]) {
			l1[i] = ne;
			l1_changed = true;
		}
	}
	if (!ret && l1_changed && l1 == q->l1)
		ret = qcow2_write_l1(q);
	return ret;
}

int qcow2_write_l1(struct qcow2 *q)
{
	uint8_t *buf = malloc(q->l1_size ? q->l1_size * 8ull : 8);
	if (!buf)
		return -ENOMEM;
	for (uint32_t i = 0; i < q->l1_size; i++)
		wbe64(buf + i * 8ull, q->l1[i]);
	int ret = q->l1_size ? blk_file_pwrite(q->b, q->l1_offset, buf, q->l1_size * 8ull) : 0;
	free(buf);
	return ret;
}

int qcow2_move_l1(struct qcow2 *q, uint64_t *l1, uint32_t n)
{
	uint64_t bytes = n * 8ull, off = 0;
	if (bytes > QCOW2_MAX_L1_BYTES) {
		free(l1);
		return qcow2_err(q, -EFBIG, "L1 table would exceed %u bytes", QCOW2_MAX_L1_BYTES);
	}
	uint8_t *buf = calloc(1, bytes ? bytes : 8);
	int ret = buf ? 0 : -ENOMEM;
	if (!ret && n)
		ret = qcow2_alloc(q, qcow2_clusters(q, bytes), &off);
	for (uint32_t i = 0; !ret && i < n; i++)
		wbe64(buf + i * 8ull, l1[i]);
	if (!ret && n)
		ret = blk_file_pwrite(q->b, off, buf, bytes);
	free(buf);
	uint8_t hf[12];
	wbe32(hf, n);
	wbe64(hf + 4, off);
	if (!ret)
		ret = qcow2_switch_table(q, 36, hf, 12);
	if (ret) {
		free(l1);
		return ret;
	}
	uint64_t old = q->l1_offset, oldn = q->l1_size;
	free(q->l1);
	q->l1 = l1;
	q->l1_size = n;
	q->l1_offset = off;
	return qcow2_free(q, old, oldn * 8);
}
