/*
 * qcow2 image creation, resize and set_backing.  A new image has QEMU's
 * layout: the header in cluster 0, then the refcount table, the refcount
 * block(s) and the L1 table; preallocation then runs through the normal
 * allocation code on the freshly opened image.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qcow2.h"

static int create_err(const char *path, const char *msg)
{
	qvm_error("%s: %s", path, msg);
	return -1;
}

/* The backing file's size and format, for a create without a size. */
static int backing_info(const char *path, const struct blk_create_opts *o, uint64_t *size,
			char *fmt, size_t fmtlen)
{
	char full[4096];
	if (o->backing[0] == '/') {
		snprintf(full, sizeof(full), "%s", o->backing);
	} else {
		char *d = strdup(path);
		if (!d)
			return -1;
		snprintf(full, sizeof(full), "%s/%s", dirname(d), o->backing);
		free(d);
	}
	struct blk_open_opts oo = { .format = o->backing_fmt, .readonly = true,
				    .no_backing = true };
	struct blk *bb = blk_open(full, &oo);
	if (!bb)
		return -1;
	*size = blk_size(bb);
	snprintf(fmt, fmtlen, "%s", blk_format_name(bb));
	blk_close(bb);
	return 0;
}

static int preallocate(struct qcow2 *q, const char *mode)
{
	uint64_t cs = q->cluster_size, l2n = 1ull << q->l2_bits;
	uint64_t total = qcow2_clusters(q, q->size), vcl = 0, data_start = 0, data_end = 0;
	int ret = 0;
	while (vcl < total && !ret) {
		uint64_t k = l2n - (vcl & (l2n - 1)), host;
		if (k > total - vcl)
			k = total - vcl;
		uint64_t l1i = vcl >> q->l2_bits, l2i = vcl & (l2n - 1);
		struct qcow2_cent *e;
		uint8_t *ents = malloc(k * 8);
		if (!ents)
			return -ENOMEM;
		/* the L2 table first */
		if (!(q->l1[l1i] & QCOW2_L1_OFFSET_MASK)) {
			uint64_t l2;
			if ((ret = qcow2_alloc(q, 1, &l2)) ||
			    (ret = qcow2_cache_get(q, &q->l2c, l2, true, &e)) ||
			    (ret = blk_file_pwrite(q->b, l2, e->buf, cs)) ||
			    (ret = qcow2_rc_commit(q))) {
				free(ents);
				break;
			}
			q->l1[l1i] = l2 | QCOW2_OFLAG_COPIED;
			uint8_t v[8];
			wbe64(v, q->l1[l1i]);
			if ((ret = blk_file_pwrite(q->b, q->l1_offset + l1i * 8, v, 8))) {
				free(ents);
				break;
			}
		}
		if (!(ret = qcow2_alloc(q, k, &host)))
			ret = qcow2_rc_commit(q);
		if (!data_start)
			data_start = host;
		data_end = host + k * cs;
		uint64_t l2 = q->l1[l1i] & QCOW2_L1_OFFSET_MASK;
		for (uint64_t j = 0; j < k; j++)
			wbe64(ents + j * 8, (host + j * cs) | QCOW2_OFLAG_COPIED);
		if (!ret)
			ret = blk_file_pwrite(q->b, l2 + l2i * 8, ents, k * 8);
		if (!ret && !qcow2_read_l2(q, l2, &e))
			memcpy(e->buf + l2i * 8, ents, k * 8);
		free(ents);
		if (!ret && !strcmp(mode, "falloc"))
			ret = posix_fallocate(q->b->fd, (off_t)host, (off_t)(k * cs));
		if (!ret && !strcmp(mode, "full")) {
			uint8_t *z = calloc(1, cs);
			for (uint64_t j = 0; z && j < k && !ret; j++)
				ret = blk_file_pwrite(q->b, host + j * cs, z, cs);
			if (!z)
				ret = -ENOMEM;
			free(z);
		}
		vcl += k;
	}
	int64_t fs = blk_file_size(q->b);
	if (!ret && fs >= 0 && (uint64_t)fs < data_end)
		ret = blk_file_truncate(q->b, data_end);
	(void)data_start;
	return ret;
}

int qcow2_create(const char *path, int fd, const struct blk_create_opts *o)
{
	uint32_t cs = o->cluster_size ? o->cluster_size : 65536;
	int compat = o->compat ? o->compat : 3;
	uint32_t rbits = o->refcount_bits ? o->refcount_bits : 16;
	const char *prealloc = o->preallocation ? o->preallocation : "off";
	char fmtbuf[16] = "";
	uint64_t size = o->size;
	if (cs < 512 || cs > (2u << 20) || (cs & (cs - 1)))
		return create_err(path, "cluster size must be a power of two between 512 and 2M");
	if (compat != 2 && compat != 3)
		return create_err(path, "compat must be 0.10 (2) or 1.1 (3)");
	if (rbits > 64 || (rbits & (rbits - 1)))
		return create_err(path, "refcount_bits must be a power of two up to 64");
	if (compat == 2 && rbits != 16)
		return create_err(path, "compat 0.10 needs refcount_bits=16");
	if (compat == 2 && o->lazy_refcounts)
		return create_err(path, "lazy refcounts need compat 1.1");
	if (strcmp(prealloc, "off") && strcmp(prealloc, "metadata") && strcmp(prealloc, "falloc") &&
	    strcmp(prealloc, "full"))
		return create_err(path, "preallocation must be off, metadata, falloc or full");
	if (o->backing && !*o->backing)
		return create_err(path, "empty backing file name");
	if (o->backing && (!size || !o->backing_fmt)) {
		uint64_t bs;
		if (backing_info(path, o, &bs, fmtbuf, sizeof(fmtbuf)))
			return -1;
		if (!size)
			size = bs;
	}
	if (size > QCOW2_MAX_SIZE)
		return create_err(path, "size too large");

	struct blk b;
	memset(&b, 0, sizeof(b));
	b.fd = fd;
	b.filename = (char *)path;
	b.align = 1;
	b.cache = BLK_CACHE_WRITEBACK;
	struct qcow2 q;
	memset(&q, 0, sizeof(q));
	q.b = &b;
	q.version = (uint32_t)compat;
	q.cluster_bits = (uint32_t)__builtin_ctz(cs);
	q.cluster_size = cs;
	q.l2_bits = q.cluster_bits - 3;
	q.size = size;
	q.refcount_order = (uint32_t)__builtin_ctz(rbits);
	q.refcount_bits = rbits;
	q.rb_bits = q.cluster_bits + 3 - q.refcount_order;
	q.header_length = compat >= 3 ? 112 : 72;
	q.compat = o->lazy_refcounts ? QCOW2_COMPAT_LAZY : 0;
	uint64_t l1n;
	qcow2_l1_needed(&q, size, &l1n);
	if (l1n * 8 > QCOW2_MAX_L1_BYTES)
		return create_err(path, "size too large for this cluster size (L1 table over 32 MiB)");
	uint64_t l1c = qcow2_clusters(&q, l1n * 8), per = 1ull << q.rb_bits;
	uint64_t rtc = 1, m = 1;
	for (;;) {   /* refcount blocks covering header, table, blocks and L1 */
		uint64_t n = 1 + rtc + m + l1c;
		uint64_t m2 = (n + per - 1) / per, rtc2 = qcow2_clusters(&q, m2 * 8);
		if (m2 == m && rtc2 == rtc)
			break;
		m = m2;
		rtc = rtc2;
	}
	uint64_t ncl = 1 + rtc + m + l1c;
	q.rt_offset = cs;
	q.rt_clusters = (uint32_t)rtc;
	q.l1_offset = l1n ? (1 + rtc + m) * cs : 0;
	q.l1_size = (uint32_t)l1n;
	q.backing_name = (char *)o->backing;
	q.backing_fmt = (char *)(o->backing_fmt ? o->backing_fmt : o->backing ? fmtbuf : NULL);

	int ret = blk_file_truncate(&b, 0);
	uint8_t *buf = calloc(ncl, cs);
	if (!buf)
		return create_err(path, "out of memory");
	for (uint64_t i = 0; i < m; i++)
		wbe64(buf + cs + i * 8, (1 + rtc + i) * cs);
	for (uint64_t c = 0; c < ncl; c++)
		qcow2_rb_set(buf + (1 + rtc + c / per) * cs, c % per, q.refcount_order, 1);
	if (!ret)
		ret = blk_file_pwrite(&b, 0, buf, ncl * cs);
	free(buf);
	if (!ret)
		ret = qcow2_write_header(&q);
	if (!ret)
		ret = blk_file_sync(&b);
	if (ret)
		return create_err(path, "could not write the new image");
	if (strcmp(prealloc, "off")) {
		if (blk_qcow2.open(&b))
			return -1;
		ret = preallocate(QCOW2(&b), prealloc);
		blk_qcow2.close(&b);
		free(b.backing_name);
		free(b.backing_fmt);
		if (ret)
			return create_err(path, "preallocation failed");
	}
	return 0;
}

int qcow2_resize(struct blk *b, uint64_t new_size)
{
	struct qcow2 *q = QCOW2(b);
	uint64_t need;
	if (b->readonly)
		return -EROFS;
	if (qcow2_l1_needed(q, new_size, &need) || need * 8 > QCOW2_MAX_L1_BYTES)
		return qcow2_err(q, -EFBIG, "size %llu too large for this image",
				 (unsigned long long)new_size);
	int ret;
	if (new_size < q->size) {
		/* only when nothing is allocated past the new end */
		uint64_t first = qcow2_clusters(q, new_size), end = qcow2_clusters(q, q->size);
		uint64_t l2n = 1ull << q->l2_bits;
		for (uint64_t v = first; v < end; v++) {
			uint64_t l1i = v >> q->l2_bits;
			if (!(q->l1[l1i] & QCOW2_L1_OFFSET_MASK)) {
				v |= l2n - 1;
				continue;
			}
			struct qcow2_cent *e;
			if ((ret = qcow2_read_l2(q, q->l1[l1i] & QCOW2_L1_OFFSET_MASK, &e)))
				return ret;
			if (be64(e->buf + (v & (l2n - 1)) * 8))
				return qcow2_err(q, -ENOTSUP, "cannot shrink: clusters past the new end are allocated");
		}
	}
	if (need > q->l1_size) {
		uint64_t *nl1 = calloc(need, 8);
		if (!nl1)
			return -ENOMEM;
		memcpy(nl1, q->l1, q->l1_size * 8ull);
		if ((ret = qcow2_move_l1(q, nl1, (uint32_t)need)))
			return ret;
	}
	uint8_t v[8];
	wbe64(v, new_size);
	if ((ret = qcow2_write_header_field(q, 24, v, 8)) || (ret = blk_file_sync(b)))
		return ret;
	q->size = new_size;
	b->size = new_size;
	return 0;
}

int qcow2_set_backing(struct blk *b, const char *backing, const char *fmt)
{
	struct qcow2 *q = QCOW2(b);
	if (b->readonly)
		return -EROFS;
	char *nb = backing ? strdup(backing) : NULL;
	char *nf = backing && fmt ? strdup(fmt) : NULL;
	if ((backing && !nb) || (backing && fmt && !nf)) {
		free(nb);
		return -ENOMEM;
	}
	char *ob = q->backing_name, *of = q->backing_fmt;
	q->backing_name = nb;
	q->backing_fmt = nf;
	int ret = qcow2_write_header(q);
	if (ret) {
		q->backing_name = ob;
		q->backing_fmt = of;
		free(nb);
		free(nf);
		return ret;
	}
	free(ob);
	free(of);
	return 0;
}
