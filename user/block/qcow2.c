/*
 * qcow2: the header ("Header" and "Header extensions" in QEMU's
 * docs/interop/qcow2.txt), feature bits, open/close, the dirty bit and the
 * driver's ops table.  Every header field is untrusted and checked before
 * it is used.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "qcow2.h"

int qcow2_err(struct qcow2 *q, int ret, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	qvm_error("%s: %s", q->b->filename, msg);
	return ret;
}

static bool qcow2_probe(const uint8_t *buf, size_t len)
{
	/* the magic alone: other versions get open's "unsupported version",
	 * not a silent open as raw */
	return len >= 4 && be32(buf) == QCOW2_MAGIC;
}

int qcow2_write_header_field(struct qcow2 *q, unsigned off, const void *be, size_t len)
{
	return blk_file_pwrite(q->b, off, be, len);
}

int qcow2_switch_table(struct qcow2 *q, unsigned off, const void *be, size_t len)
{
	int ret = qcow2_rc_commit(q);
	if (!ret)
		ret = blk_file_sync(q->b);
	if (!ret)
		ret = qcow2_write_header_field(q, off, be, len);
	if (!ret)
		ret = blk_file_sync(q->b);
	return ret;
}

/* ---- the header ---- */

static const struct { uint8_t type, bit; const char *name; } feature_names[] = {
	{ 0, 0, "dirty bit" },
	{ 0, 1, "corrupt bit" },
	{ 0, 2, "external data file" },
	{ 0, 3, "compression type" },
	{ 0, 4, "extended L2 entries" },
	{ 1, 0, "lazy refcounts" },
	{ 2, 0, "bitmaps" },
	{ 2, 1, "raw external data" },
};

static size_t put_ext(uint8_t *buf, size_t pos, size_t cap, uint32_t type, const void *data,
		      uint32_t len)
{
	size_t padded = (len + 7u) & ~7u;
	if (pos + 8 + padded > cap)
		return 0;
	wbe32(buf + pos, type);
	wbe32(buf + pos + 4, len);
	memset(buf + pos + 8, 0, padded);
	if (len)
		memcpy(buf + pos + 8, data, len);
	return pos + 8 + padded;
}

/* Rewrite the whole header (cluster 0): fields, extensions, backing name.
 * Used by create, set_backing and resize; field updates write in place. */
int qcow2_write_header(struct qcow2 *q)
{
	uint32_t cs = q->cluster_size;
	uint8_t *h = calloc(1, cs);
	if (!h)
		return -ENOMEM;
	uint32_t hlen = q->version >= 3 ? (q->header_length > 104 ? 112 : 104) : 72;
	if (q->version >= 3 && q->header_length < hlen)
		q->header_length = hlen;
	wbe32(h, QCOW2_MAGIC);
	wbe32(h + 4, q->version);
	wbe32(h + 20, q->cluster_bits);
	wbe64(h + 24, q->size);
	wbe32(h + 36, q->l1_size);
	wbe64(h + 40, q->l1_offset);
	wbe64(h + 48, q->rt_offset);
	wbe32(h + 56, q->rt_clusters);
	wbe32(h + 60, q->nb_snapshots);
	wbe64(h + 64, q->snapshots_offset);
	if (q->version >= 3) {
		wbe64(h + 72, q->incompat);
		wbe64(h + 80, q->compat);
		wbe64(h + 88, q->autoclear);
		wbe32(h + 96, q->refcount_order);
		wbe32(h + 100, hlen);
		if (hlen > 104)
			h[104] = q->compression;
	}
	size_t pos = hlen, p;
	size_t namelen = q->backing_name ? strlen(q->backing_name) : 0;
	size_t cap = cs - namelen;
	if (namelen > 1023 || namelen + hlen + 8 > cs) {
		free(h);
		return qcow2_err(q, -ENOSPC, "backing file name too long for the header");
	}
	if (q->backing_name && q->backing_fmt) {
		p = put_ext(h, pos, cap - 8, QCOW2_EXT_BACKING_FMT, q->backing_fmt,
			    (uint32_t)strlen(q->backing_fmt));
		if (!p)
			goto nospace;
		pos = p;
	}
	for (unsigned i = 0; i < q->n_exts; i++) {
		p = put_ext(h, pos, cap - 8, q->exts[i].type, q->exts[i].data, q->exts[i].len);
		if (!p)
			goto nospace;
		pos = p;
	}
	if (q->version >= 3) {  /* the feature name table, when it fits */
		uint8_t ft[sizeof(feature_names) / sizeof(feature_names[0]) * 48];
		memset(ft, 0, sizeof(ft));
		for (size_t i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++) {
			ft[i * 48] = feature_names[i].type;
			ft[i * 48 + 1] = feature_names[i].bit;
			strncpy((char *)ft + i * 48 + 2, feature_names[i].name, 45);
		}
		p = put_ext(h, pos, cap - 8, QCOW2_EXT_FEATURES, ft, sizeof(ft));
		if (p)
			pos = p;
	}
	pos = put_ext(h, pos, cap, QCOW2_EXT_END, NULL, 0);
	if (namelen) {
		memcpy(h + pos, q->backing_name, namelen);
		wbe64(h + 8, pos);
		wbe32(h + 16, (uint32_t)namelen);
		pos += namelen;
	}
	int ret = blk_file_pwrite(q->b, 0, h, pos);
	free(h);
	if (!ret)
		ret = blk_file_sync(q->b);
	return ret;
nospace:
	free(h);
	return qcow2_err(q, -ENOSPC, "header extensions do not fit in the first cluster");
}

int qcow2_mark_dirty(struct qcow2 *q)
{
	if (q->dirty_on_disk || q->version < 3)
		return 0;
	uint8_t v[8];
	wbe64(v, q->incompat | QCOW2_INCOMPAT_DIRTY);
	int ret = qcow2_write_header_field(q, 72, v, 8);
	if (!ret)
		ret = blk_file_sync(q->b);
	if (!ret) {
		q->incompat |= QCOW2_INCOMPAT_DIRTY;
		q->dirty_on_disk = true;
	}
	return ret;
}

int qcow2_mark_clean(struct qcow2 *q)
{
	int ret = qcow2_cache_writeback(q, &q->rbc);
	if (!ret)
		ret = blk_file_sync(q->b);
	if (ret || !q->dirty_on_disk)
		return ret;
	q->rc_unsynced = false;
	uint8_t v[8];
	wbe64(v, q->incompat & ~QCOW2_INCOMPAT_DIRTY);
	ret = qcow2_write_header_field(q, 72, v, 8);
	if (!ret) {
		q->incompat &= ~QCOW2_INCOMPAT_DIRTY;
		q->dirty_on_disk = false;
	}
	return ret;
}

int qcow2_flush(struct blk *b)
{
	struct qcow2 *q = QCOW2(b);
	if (b->readonly)
		return 0;
	int ret = qcow2_cache_writeback(q, &q->rbc);
	if (!ret && q->dirty_on_disk)
		ret = qcow2_mark_clean(q);
	return ret;
}

/* ---- open ---- */

static void feature_name(const uint8_t *ft, uint32_t ftlen, int type, int bit, char *out,
			 size_t outlen)
{
	for (uint32_t i = 0; ft && i + 48 <= ftlen; i += 48) {
		if (ft[i] == type && ft[i + 1] == bit) {
			char n[47];
			memcpy(n, ft + i + 2, 46);
			n[46] = 0;
			for (char *c = n; *c; c++)
				if ((unsigned char)*c < 32 || (unsigned char)*c > 126)
					*c = '?';
			snprintf(out, outlen, "%s", n);
			return;
		}
	}
	snprintf(out, outlen, "bit %d", bit);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static int read_extensions(struct qcow2 *q, const uint8_t *h, uint32_t start, uint32_t end,
			   const uint8_t **ft, uint32_t *ftlen)
{
	uint32_t pos = start;
	while (pos + 8 <= end) {
		uint32_t type = be32(h + pos), len = be32(h + pos + 4);
		pos += 8;
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > end - pos)
			return qcow2_err(q, -EINVAL, "header extension 0x%x: length %u past the header",
					 type, len);
		const uint8_t *d = h + pos;
		if (type == QCOW2_EXT_BACKING_FMT) {
			if (len == 0 || len > 15)
				return qcow2_err(q, -EINVAL, "bad backing format extension (length %u)",
						 len);
			free(q->backing_fmt);
			q->backing_fmt = strndup((const char *)d, len);
			if (!q->backing_fmt || strlen(q->backing_fmt) != len)
				return qcow2_err(q, -EINVAL, "bad backing format name");
		} else if (type == QCOW2_EXT_FEATURES) {
			*ft = d;
			*ftlen = len;
		} else {
			struct qcow2_ext *n = realloc(q->exts, (q->n_exts + 1) * sizeof(*n));
			if (!n)
				return -ENOMEM;
			q->exts = n;
			n[q->n_exts].type = type;
			n[q->n_exts].len = len;
			n[q->n_exts].data = malloc(len ? len : 1);
			if (!n[q->n_exts].data)
				return -ENOMEM;
			memcpy(n[q->n_exts].data, d, len);
			q->n_exts++;
		}
		pos += (len + 7u) & ~7u;
		if (pos > end)
			pos = end;
	}
	return 0;
}

static int read_table(struct qcow2 *q, uint64_t off, uint64_t n, uint64_t **out)
{
	uint64_t *t = malloc(n ? n * 8 : 8);
	if (!t)
		return -ENOMEM;
	int ret = n ? blk_file_pread(q->b, off, t, n * 8) : 0;
	if (ret) {
		free(t);
		return ret;
	}
	for (uint64_t i = 0; i < n; i++)
		t[i] = be64((uint8_t *)&t[i]);
	*out = t;
	return 0;
}

static void qcow2_free_state(struct qcow2 *q)
{
	qcow2_cache_free(&q->l2c);
	qcow2_cache_free(&q->rbc);
	qcow2_free_snapshots(q);
	for (unsigned i = 0; i < q->n_exts; i++)
		free(q->exts[i].data);
	free(q->exts);
	free(q->l1);
	free(q->rt);
	free(q->zcache);
	free(q->backing_name);
	free(q->backing_fmt);
	free(q);
}

static int parse_header(struct qcow2 *q, const uint8_t *h, uint64_t fsize)
{
	q->version = be32(h + 4);
	if (be32(h) != QCOW2_MAGIC)
		return qcow2_err(q, -EINVAL, "not a qcow2 image (bad magic)");
	if (q->version != 2 && q->version != 3)
		return qcow2_err(q, -ENOTSUP, "unsupported qcow2 version %u", q->version);
	q->cluster_bits = be32(h + 20);
	if (q->cluster_bits < 9 || q->cluster_bits > 21)
		return qcow2_err(q, -EINVAL, "cluster_bits %u out of range 9..21", q->cluster_bits);
	q->cluster_size = 1u << q->cluster_bits;
	q->l2_bits = q->cluster_bits - 3;
	q->size = be64(h + 24);
	if (q->size > QCOW2_MAX_SIZE)
		return qcow2_err(q, -EFBIG, "virtual size %llu too large",
				 (unsigned long long)q->size);
	if (be32(h + 32) != 0)
		return qcow2_err(q, -ENOTSUP, "encrypted images are not supported");
	q->l1_size = be32(h + 36);
	q->l1_offset = be64(h + 40);
	q->rt_offset = be64(h + 48);
	q->rt_clusters = be32(h + 56);
	q->nb_snapshots = be32(h + 60);
	q->snapshots_offset = be64(h + 64);
	q->refcount_order = 4;
	q->header_length = 72;
	if (q->version >= 3) {
		q->incompat = be64(h + 72);
		q->compat = be64(h + 80);
		q->autoclear = be64(h + 88);
		q->refcount_order = be32(h + 96);
		q->header_length = be32(h + 100);
		if (q->header_length < 104 || q->header_length > q->cluster_size)
			return qcow2_err(q, -EINVAL, "bad header_length %u", q->header_length);
		if (q->header_length > 104)
			q->compression = h[104];
		if (q->refcount_order > 6)
			return qcow2_err(q, -EINVAL, "refcount_order %u out of range 0..6",
					 q->refcount_order);
	}
	q->refcount_bits = 1u << q->refcount_order;
	q->refcount_max = q->refcount_bits == 64 ? UINT64_MAX : (1ull << q->refcount_bits) - 1;
	q->rb_bits = q->cluster_bits + 3 - q->refcount_order;

	uint64_t cs = q->cluster_size;
	uint64_t need;
	if (qcow2_l1_needed(q, q->size, &need) || q->l1_size < need)
		return qcow2_err(q, -EINVAL, "L1 table too small (%u entries) for the virtual size",
				 q->l1_size);
	if ((uint64_t)q->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return qcow2_err(q, -EFBIG, "L1 table too large (%u entries)", q->l1_size);
	if (q->l1_size && (q->l1_offset & (cs - 1) || !q->l1_offset ||
			   q->l1_offset > fsize || q->l1_size * 8ull > fsize - q->l1_offset))
		return qcow2_err(q, -EINVAL, "L1 table offset 0x%llx invalid or past the end",
				 (unsigned long long)q->l1_offset);
	if (!q->rt_clusters || (uint64_t)q->rt_clusters * cs > QCOW2_MAX_RT_BYTES)
		return qcow2_err(q, -EINVAL, "bad refcount table size (%u clusters)",
				 q->rt_clusters);
	q->rt_size = (uint64_t)q->rt_clusters * cs / 8;
	if (q->rt_offset & (cs - 1) || !q->rt_offset || q->rt_offset > fsize ||
	    q->rt_clusters * cs > fsize - q->rt_offset)
		return qcow2_err(q, -EINVAL, "refcount table offset 0x%llx invalid or past the end",
				 (unsigned long long)q->rt_offset);
	if (q->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
		return qcow2_err(q, -EINVAL, "too many snapshots (%u)", q->nb_snapshots);
	if (q->nb_snapshots && (q->snapshots_offset & (cs - 1) || !q->snapshots_offset ||
				q->snapshots_offset >= fsize))
		return qcow2_err(q, -EINVAL, "snapshot table offset 0x%llx invalid or past the end",
				 (unsigned long long)q->snapshots_offset);
	if (overlaps(0, cs, q->l1_offset, q->l1_size * 8ull) ||
	    overlaps(0, cs, q->rt_offset, q->rt_clusters * cs) ||
	    overlaps(q->l1_offset, q->l1_size * 8ull, q->rt_offset, q->rt_clusters * cs) ||
	    (q->nb_snapshots && (overlaps(0, cs, q->snapshots_offset, 1) ||
				 overlaps(q->l1_offset, q->l1_size * 8ull, q->snapshots_offset, 1) ||
				 overlaps(q->rt_offset, q->rt_clusters * cs, q->snapshots_offset, 1))))
		return qcow2_err(q, -EINVAL, "metadata tables overlap each other or the header");
	return 0;
}

static int check_features(struct qcow2 *q, const uint8_t *ft, uint32_t ftlen)
{
	char name[64];
	uint64_t bad = q->incompat & ~QCOW2_INCOMPAT_KNOWN;
	if (bad) {
		int bit = __builtin_ctzll(bad);
		feature_name(ft, ftlen, 0, bit, name, sizeof(name));
		return qcow2_err(q, -ENOTSUP, "unsupported qcow2 feature: %s", name);
	}
	if (q->incompat & QCOW2_INCOMPAT_COMPRESSION || q->compression != 0)
		return qcow2_err(q, -ENOTSUP, "unsupported qcow2 feature: compression type %u",
				 q->compression);
	if (q->incompat & QCOW2_INCOMPAT_CORRUPT && !q->b->readonly)
		return qcow2_err(q, -EACCES, "image is marked corrupt; open it read-only (or repair it)");
	if (q->version < 3 && (q->compat & QCOW2_COMPAT_LAZY))
		return qcow2_err(q, -EINVAL, "lazy refcounts need compat 1.1");
	return 0;
}

static int qcow2_open(struct blk *b)
{
	struct qcow2 *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->b = b;
	b->opaque = q;
	uint8_t *h = NULL;
	int ret;
	int64_t fsize = blk_file_size(b);
	if (fsize < 0) {
		ret = (int)fsize;
		goto fail;
	}
	uint8_t first[112] = { 0 };
	if (fsize < 72) {
		ret = qcow2_err(q, -EINVAL, "not a qcow2 image (file too short)");
		goto fail;
	}
	ret = blk_file_pread(b, 0, first, sizeof(first));
	if (ret || (ret = parse_header(q, first, (uint64_t)fsize)))
		goto fail;
	uint32_t cs = q->cluster_size;
	h = calloc(1, cs);
	if (!h) {
		ret = -ENOMEM;
		goto fail;
	}
	if ((ret = blk_file_pread(b, 0, h, cs)))
		goto fail;
	uint64_t bo = be64(h + 8);
	uint32_t bl = be32(h + 16);
	if (bo && (bl > 1023 || bo < q->header_length || bo > cs || bl > cs - bo)) {
		ret = qcow2_err(q, -EINVAL, "backing file name (offset %llu, %u bytes) invalid",
				(unsigned long long)bo, bl);
		goto fail;
	}
	const uint8_t *ft = NULL;
	uint32_t ftlen = 0;
	uint32_t ext_end = bo && bl ? (uint32_t)bo : cs;
	if ((ret = read_extensions(q, h, q->header_length, ext_end, &ft, &ftlen)))
		goto fail;
	if ((ret = check_features(q, ft, ftlen)))
		goto fail;
	if (bo && bl) {
		q->backing_name = strndup((const char *)h + bo, bl);
		if (!q->backing_name || strlen(q->backing_name) != bl) {
			ret = qcow2_err(q, -EINVAL, "backing file name contains a NUL byte");
			goto fail;
		}
	}
	free(h);
	h = NULL;

	if ((ret = read_table(q, q->l1_offset, q->l1_size, &q->l1)) ||
	    (ret = read_table(q, q->rt_offset, q->rt_size, &q->rt)))
		goto fail;
	unsigned nc = (8u << 20) / cs;
	nc = nc < 4 ? 4 : nc > 32 ? 32 : nc;
	if ((ret = qcow2_cache_init(&q->l2c, nc, cs)) || (ret = qcow2_cache_init(&q->rbc, nc, cs)))
		goto fail;
	if ((ret = qcow2_read_snapshots(q)))
		goto fail;
	q->lazy = q->compat & QCOW2_COMPAT_LAZY;
	q->dirty_on_disk = q->incompat & QCOW2_INCOMPAT_DIRTY;

	if (!b->readonly) {
		if (q->autoclear & ~QCOW2_AUTOCLEAR_KNOWN) {
			uint8_t v[8];
			q->autoclear &= QCOW2_AUTOCLEAR_KNOWN;
			wbe64(v, q->autoclear);
			if ((ret = qcow2_write_header_field(q, 88, v, 8)))
				goto fail;
		}
		if (q->dirty_on_disk) {
			/* Refcounts may be stale after a crash with lazy
			 * refcounts: rebuild them ("dirty bit"). */
			struct blk_check res;
			if (qcow2_check_quiet(q, BLK_FIX_LEAKS | BLK_FIX_ERRORS, &res, true) < 0 ||
			    (ret = qcow2_mark_clean(q))) {
				ret = qcow2_err(q, ret ? ret : -EIO,
						"could not repair the refcounts of a dirty image");
				goto fail;
			}
		}
	}
	b->size = q->size;
	if (q->backing_name) {
		b->backing_name = strdup(q->backing_name);
		if (q->backing_fmt)
			b->backing_fmt = strdup(q->backing_fmt);
	}
	return 0;
fail:
	free(h);
	qcow2_free_state(q);
	b->opaque = NULL;
	return ret ? ret : -EINVAL;
}

static void qcow2_close(struct blk *b)
{
	struct qcow2 *q = QCOW2(b);
	if (!q)
		return;
	if (!b->readonly) {
		qcow2_pool_release(q);
		if (!qcow2_cache_writeback(q, &q->rbc) && !blk_file_sync(b))
			qcow2_mark_clean(q);
		blk_file_sync(b);
	}
	qcow2_free_state(q);
	b->opaque = NULL;
}

static int qcow2_get_info(struct blk *b, struct blk_info *info)
{
	struct qcow2 *q = QCOW2(b);
	struct stat st;
	snprintf(info->format, sizeof(info->format), "qcow2");
	info->virtual_size = q->size;
	if (!fstat(b->fd, &st))
		info->disk_size = (uint64_t)st.st_blocks * 512;
	info->cluster_size = q->cluster_size;
	snprintf(info->backing, sizeof(info->backing), "%s", q->backing_name ? q->backing_name : "");
	snprintf(info->backing_fmt, sizeof(info->backing_fmt), "%s",
		 q->backing_fmt ? q->backing_fmt : "");
	info->compat = (int)q->version;
	info->lazy_refcounts = q->compat & QCOW2_COMPAT_LAZY;
	info->corrupt = q->incompat & QCOW2_INCOMPAT_CORRUPT;
	info->dirty = q->incompat & QCOW2_INCOMPAT_DIRTY;
	info->extended_l2 = false;
	info->refcount_bits = q->refcount_bits;
	snprintf(info->compression_type, sizeof(info->compression_type), "zlib");
	info->nb_snapshots = q->nb_snapshots;
	return 0;
}

static uint32_t qcow2_cluster_size_op(struct blk *b)
{
	return QCOW2(b)->cluster_size;
}

const struct blk_driver blk_qcow2 = {
	.name = "qcow2",
	.metadata = true,
	.probe = qcow2_probe,
	.open = qcow2_open,
	.close = qcow2_close,
	.preadv = qcow2_preadv,
	.pwritev = qcow2_pwritev,
	.flush = qcow2_flush,
	.write_zeroes = qcow2_write_zeroes,
	.discard = qcow2_discard,
	.write_compressed = qcow2_write_compressed,
	.block_status = qcow2_block_status,
	.resize = qcow2_resize,
	.set_backing = qcow2_set_backing,
	.get_info = qcow2_get_info,
	.snapshot_list = qcow2_snapshot_list,
	.snapshot_create = qcow2_snapshot_create,
	.snapshot_apply = qcow2_snapshot_apply,
	.snapshot_delete = qcow2_snapshot_delete,
	.check = qcow2_check,
	.cluster_size = qcow2_cluster_size_op,
	.create = qcow2_create,
	.map = qcow2_map,
};
