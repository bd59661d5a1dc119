/*
 * qcow2 internal snapshots ("Snapshots" in QEMU's qcow2.txt): the snapshot
 * table, and create/apply/delete with the L1 copy and the refcount updates.
 *
 * A snapshot holds one reference to each L2 table and data cluster its L1
 * table reaches, like the active L1 table does; OFLAG_COPIED marks what
 * only the active table holds.  The table is rewritten at a new place and
 * the header switched to it after it is on disk.
 *
 * Known window: refcounts and the COPIED flags of the active tables live
 * in different clusters, so a process killed between the refcount update
 * and the flag rewrite of a snapshot create/apply/delete leaves flags
 * that disagree with refcounts (qemu-img check -r all, or our check with
 * BLK_FIX_ERRORS, repairs them); QEMU has the same window.  Refcounts are
 * always raised before anything new points at a cluster, so no data is
 * ever shared without being counted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "qcow2.h"

void qcow2_free_snapshots(struct qcow2 *q)
{
	for (uint32_t i = 0; q->snaps && i < q->nb_snapshots; i++) {
		free(q->snaps[i].id);
		free(q->snaps[i].name);
		free(q->snaps[i].extra);
	}
	free(q->snaps);
	q->snaps = NULL;
}

static uint64_t entry_len(const struct qcow2_snap *sn)
{
	return (40 + sn->extra_size + strlen(sn->id) + strlen(sn->name) + 7) & ~7ull;
}

uint64_t qcow2_snap_table_len(const struct qcow2 *q)
{
	uint64_t len = 0;
	for (uint32_t i = 0; i < q->nb_snapshots; i++)
		len += entry_len(&q->snaps[i]);
	return len;
}

/* Bytes [pos, pos+n) of the table, reading more of it as needed. */
static int need(struct qcow2 *q, uint8_t **buf, uint64_t *have, uint64_t pos, uint64_t n,
		uint64_t fsize)
{
	if (pos + n <= *have)
		return 0;
	if (pos + n > QCOW2_MAX_SNAP_TABLE)
		return qcow2_err(q, -EFBIG, "snapshot table larger than %u bytes",
				 QCOW2_MAX_SNAP_TABLE);
	if (q->snapshots_offset + pos + n > fsize)
		return qcow2_err(q, -EINVAL, "snapshot table runs past the end of the file");
	uint64_t want = *have ? *have * 2 : 65536;
	while (want < pos + n)
		want *= 2;
	if (want > QCOW2_MAX_SNAP_TABLE)
		want = QCOW2_MAX_SNAP_TABLE;
	if (q->snapshots_offset + want > fsize)
		want = fsize - q->snapshots_offset;
	uint8_t *nb = realloc(*buf, want);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	int ret = blk_file_pread(q->b, q->snapshots_offset + *have, nb + *have, want - *have);
	if (ret)
		return ret;
	*have = want;
	return 0;
}

int qcow2_read_snapshots(struct qcow2 *q)
{
	if (!q->nb_snapshots)
		return 0;
	int64_t fsize = blk_file_size(q->b);
	if (fsize < 0)
		return (int)fsize;
	q->snaps = calloc(q->nb_snapshots, sizeof(*q->snaps));
	if (!q->snaps)
		return -ENOMEM;
	uint8_t *buf = NULL;
	uint64_t have = 0, pos = 0;
	int ret = 0;
	uint32_t i;
	for (i = 0; i < q->nb_snapshots; i++) {
		struct qcow2_snap *sn = &q->snaps[i];
		if ((ret = need(q, &buf, &have, pos, 40, (uint64_t)fsize)))
			break;
		const uint8_t *p = buf + pos;
		sn->l1_offset = be64(p);
		sn->l1_size = be32(p + 8);
		uint32_t idl = be16(p + 12), nl = be16(p + 14);
		sn->date_sec = be32(p + 16);
		sn->date_nsec = be32(p + 20);
		sn->vm_clock_nsec = be64(p + 24);
		sn->vm_state_size = be32(p + 32);
		sn->extra_size = be32(p + 36);
		if (sn->extra_size > QCOW2_MAX_SNAP_EXTRA) {
			ret = qcow2_err(q, -EINVAL, "snapshot %u: extra data too large (%u bytes)", i,
					sn->extra_size);
			break;
		}
		if ((uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES ||
		    (sn->l1_size && (!sn->l1_offset || sn->l1_offset & (q->cluster_size - 1) ||
				     sn->l1_offset > (uint64_t)fsize ||
				     sn->l1_size * 8ull > (uint64_t)fsize - sn->l1_offset))) {
			ret = qcow2_err(q, -EINVAL, "snapshot %u: invalid L1 table (offset 0x%llx, %u entries)",
					i, (unsigned long long)sn->l1_offset, sn->l1_size);
			break;
		}
		uint64_t len = 40ull + sn->extra_size + idl + nl;
		if ((ret = need(q, &buf, &have, pos, len, (uint64_t)fsize)))
			break;
		p = buf + pos;
		sn->extra = malloc(sn->extra_size + 1);
		sn->id = strndup((const char *)p + 40 + sn->extra_size, idl);
		sn->name = strndup((const char *)p + 40 + sn->extra_size + idl, nl);
		if (!sn->extra || !sn->id || !sn->name) {
			ret = -ENOMEM;
			break;
		}
		memcpy(sn->extra, p + 40, sn->extra_size);
		if (strlen(sn->id) != idl || strlen(sn->name) != nl) {
			ret = qcow2_err(q, -EINVAL, "snapshot %u: NUL byte in its id or name", i);
			break;
		}
		sn->disk_size = q->size;
		if (sn->extra_size >= 8)
			sn->vm_state_size = be64(sn->extra);
		if (sn->extra_size >= 16)
			sn->disk_size = be64(sn->extra + 8);
		if (sn->disk_size > QCOW2_MAX_SIZE) {
			ret = qcow2_err(q, -EINVAL, "snapshot %u: disk size too large", i);
			break;
		}
		pos += (len + 7) & ~7ull;
	}
	free(buf);
	if (ret) {
		for (uint32_t j = 0; j <= i && j < q->nb_snapshots; j++) {
			free(q->snaps[j].id);
			free(q->snaps[j].name);
			free(q->snaps[j].extra);
		}
		free(q->snaps);
		q->snaps = NULL;
	}
	return ret;
}

/* Write the table (q->snaps) at a new place, point the header to it,
 * free the old one (old_off/old_len). */
static int write_table(struct qcow2 *q, uint64_t old_off, uint64_t old_len)
{
	uint64_t len = 0;
	for (uint32_t i = 0; i < q->nb_snapshots; i++) {
		struct qcow2_snap *sn = &q->snaps[i];
		if (sn->extra_size < 16) {   /* vm_state_size_large, disk_size */
			uint8_t *e = calloc(1, 16);
			if (!e)
				return -ENOMEM;
			free(sn->extra);
			sn->extra = e;
			sn->extra_size = 16;
		}
		wbe64(sn->extra, sn->vm_state_size);
		wbe64(sn->extra + 8, sn->disk_size);
		len += entry_len(sn);
	}
	if (len > QCOW2_MAX_SNAP_TABLE)
		return qcow2_err(q, -EFBIG, "snapshot table too large");
	uint8_t *buf = calloc(1, len ? len : 8);
	if (!buf)
		return -ENOMEM;
	uint64_t pos = 0;
	for (uint32_t i = 0; i < q->nb_snapshots; i++) {
		struct qcow2_snap *sn = &q->snaps[i];
		uint8_t *p = buf + pos;
		size_t idl = strlen(sn->id), nl = strlen(sn->name);
		wbe64(p, sn->l1_offset);
		wbe32(p + 8, sn->l1_size);
		wbe16(p + 12, (uint16_t)idl);
		wbe16(p + 14, (uint16_t)nl);
		wbe32(p + 16, sn->date_sec);
		wbe32(p + 20, sn->date_nsec);
		wbe64(p + 24, sn->vm_clock_nsec);
		wbe32(p + 32, sn->vm_state_size > UINT32_MAX ? 0 : (uint32_t)sn->vm_state_size);
		wbe32(p + 36, sn->extra_size);
		memcpy(p + 40, sn->extra, sn->extra_size);
		memcpy(p + 40 + sn->extra_size, sn->id, idl);
		memcpy(p + 40 + sn->extra_size + idl, sn->name, nl);
		pos += entry_len(sn);
	}
	uint64_t off = 0;
	int ret = 0;
	if (len && !(ret = qcow2_alloc(q, qcow2_clusters(q, len), &off)))
		ret = blk_file_pwrite(q->b, off, buf, len);
	free(buf);
	uint8_t hf[12];
	wbe32(hf, q->nb_snapshots);
	wbe64(hf + 4, off);
	if (!ret)
		ret = qcow2_switch_table(q, 60, hf, 12);
	if (ret)
		return ret;
	q->snapshots_offset = off;
	return old_len ? qcow2_free(q, old_off, old_len) : 0;
}

static int find(struct qcow2 *q, const char *s)
{
	for (uint32_t i = 0; i < q->nb_snapshots; i++)
		if (!strcmp(q->snaps[i].id, s))
			return (int)i;
	for (uint32_t i = 0; i < q->nb_snapshots; i++)
		if (!strcmp(q->snaps[i].name, s))
			return (int)i;
	return -1;
}

static int read_l1(struct qcow2 *q, uint64_t off, uint32_t n, uint64_t **out)
{
	uint64_t *t = calloc(n ? n : 1, 8);
	if (!t)
		return -ENOMEM;
	int ret = n ? blk_file_pread(q->b, off, t, n * 8ull) : 0;
	for (uint32_t i = 0; !ret && i < n; i++)
		t[i] = be64((uint8_t *)&t[i]);
	if (ret)
		free(t);
	else
		*out = t;
	return ret;
}

struct blk_snapshot *qcow2_snapshot_list(struct blk *b, unsigned *n)
{
	struct qcow2 *q = QCOW2(b);
	*n = 0;
	if (!q->nb_snapshots)
		return NULL;
	struct blk_snapshot *s = calloc(q->nb_snapshots, sizeof(*s));
	if (!s)
		return NULL;
	for (uint32_t i = 0; i < q->nb_snapshots; i++) {
		struct qcow2_snap *sn = &q->snaps[i];
		snprintf(s[i].id, sizeof(s[i].id), "%s", sn->id);
		snprintf(s[i].name, sizeof(s[i].name), "%s", sn->name);
		s[i].vm_state_size = sn->vm_state_size;
		s[i].date_sec = sn->date_sec;
		s[i].date_nsec = sn->date_nsec;
		s[i].vm_clock_nsec = sn->vm_clock_nsec;
	}
	*n = q->nb_snapshots;
	return s;
}

int qcow2_snapshot_create(struct blk *b, const char *name)
{
	struct qcow2 *q = QCOW2(b);
	if (b->readonly)
		return qcow2_err(q, -1, "image is read-only");
	if (!name || !*name || strlen(name) >= BLK_SNAP_NAME_MAX || find(q, name) >= 0)
		return qcow2_err(q, -1, "snapshot name '%s' is empty, too long or taken",
				 name ? name : "");
	if (q->nb_snapshots >= QCOW2_MAX_SNAPSHOTS)
		return qcow2_err(q, -1, "too many snapshots");
	if (qcow2_pool_release(q))
		return -1;
	unsigned long id = 0;
	for (uint32_t i = 0; i < q->nb_snapshots; i++) {
		unsigned long v = strtoul(q->snaps[i].id, NULL, 10);
		if (v > id)
			id = v;
	}
	uint64_t old_off = q->snapshots_offset, old_len = qcow2_snap_table_len(q);
	/* 1. the copy of the active L1 table */
	uint64_t l1off = 0, bytes = q->l1_size * 8ull;
	int ret = 0;
	if (bytes) {
		uint8_t *buf = malloc(bytes);
		if (!buf)
			return -1;
		for (uint32_t i = 0; i < q->l1_size; i++)
			wbe64(buf + i * 8ull, q->l1[i] & ~QCOW2_OFLAG_COPIED);
		ret = qcow2_alloc(q, qcow2_clusters(q, bytes), &l1off);
		if (!ret)
			ret = blk_file_pwrite(b, l1off, buf, bytes);
		free(buf);
	}
	/* 2. one more reference to everything it reaches; COPIED cleared */
	if (!ret)
		ret = qcow2_update_l1_refs(q, q->l1, q->l1_size, 1, true);
	if (ret) {
		if (l1off)
			qcow2_free(q, l1off, bytes);
		return qcow2_err(q, -1, "could not create snapshot '%s': %s", name, strerror(-ret));
	}
	/* 3. the new table entry */
	struct qcow2_snap *ns = realloc(q->snaps, (q->nb_snapshots + 1) * sizeof(*ns));
	if (!ns)
		return -1;
	q->snaps = ns;
	struct qcow2_snap *sn = &ns[q->nb_snapshots];
	memset(sn, 0, sizeof(*sn));
	char idbuf[32];
	snprintf(idbuf, sizeof(idbuf), "%lu", id + 1);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	sn->l1_offset = l1off;
	sn->l1_size = q->l1_size;
	sn->id = strdup(idbuf);
	sn->name = strdup(name);
	sn->date_sec = (uint32_t)ts.tv_sec;
	sn->date_nsec = (uint32_t)ts.tv_nsec;
	sn->disk_size = q->size;
	if (!sn->id || !sn->name) {
		free(sn->id);
		free(sn->name);
		return -1;
	}
	q->nb_snapshots++;
	if ((ret = write_table(q, old_off, old_len))) {
		q->nb_snapshots--;
		free(sn->id);
		free(sn->name);
		free(sn->extra);
		return qcow2_err(q, -1, "could not write the snapshot table: %s", strerror(-ret));
	}
	return qcow2_cache_writeback(q, &q->rbc) ? -1 : 0;
}

/* The snapshot that apply or delete will change, with the image ready for
 * it (its pool of pre-counted clusters given back); -1 after a message. */
static int find_to_change(struct blk *b, const char *name_or_id)
{
	struct qcow2 *q = QCOW2(b);
	if (b->readonly)
		return qcow2_err(q, -1, "image is read-only");
	int i = find(q, name_or_id);
	if (i < 0)
		return qcow2_err(q, -1, "snapshot '%s' not found", name_or_id);
	if (qcow2_pool_release(q))
		return -1;
	return i;
}

int qcow2_snapshot_apply(struct blk *b, const char *name_or_id)
{
	struct qcow2 *q = QCOW2(b);
	int i = find_to_change(b, name_or_id);
	if (i < 0)
		return -1;
	struct qcow2_snap *sn = &q->snaps[i];
	uint64_t need_l1;
	if (qcow2_l1_needed(q, sn->disk_size, &need_l1) || need_l1 * 8 > QCOW2_MAX_L1_BYTES)
		return qcow2_err(q, -1, "snapshot '%s': bad disk size", name_or_id);
	uint64_t *sl1;
	int ret = read_l1(q, sn->l1_offset, sn->l1_size, &sl1);
	if (ret)
		return qcow2_err(q, -1, "could not read the L1 table of snapshot '%s'", name_or_id);
	/* the snapshot's references first, the old active ones dropped last */
	if ((ret = qcow2_update_l1_refs(q, sl1, sn->l1_size, 1, false))) {
		free(sl1);
		return qcow2_err(q, -1, "could not apply snapshot '%s': %s", name_or_id,
				 strerror(-ret));
	}
	uint32_t n = sn->l1_size > need_l1 ? sn->l1_size : (uint32_t)need_l1;
	uint64_t *old = q->l1;
	uint32_t oldn = q->l1_size;
	uint64_t *nl1 = calloc(n > oldn ? n : oldn, 8);
	if (!nl1) {
		free(sl1);
		return -1;
	}
	memcpy(nl1, sl1, sn->l1_size * 8ull);
	free(sl1);
	for (uint32_t j = 0; j < n; j++)
		nl1[j] &= ~QCOW2_OFLAG_COPIED;
	uint64_t *keep = malloc(oldn ? oldn * 8ull : 8);
	if (!keep) {
		free(nl1);
		return -1;
	}
	memcpy(keep, old, oldn * 8ull);
	if (n > oldn) {
		ret = qcow2_move_l1(q, nl1, n);
	} else {
		free(q->l1);
		q->l1 = nl1;
		ret = qcow2_write_l1(q);
	}
	if (!ret)
		ret = qcow2_update_l1_refs(q, keep, oldn, -1, false);
	free(keep);
	if (!ret)
		ret = qcow2_update_l1_refs(q, q->l1, q->l1_size, 0, true);
	if (!ret && sn->disk_size != q->size) {
		uint8_t v[8];
		wbe64(v, sn->disk_size);
		ret = qcow2_write_header_field(q, 24, v, 8);
		if (!ret) {
			q->size = sn->disk_size;
			b->size = q->size;
		}
	}
	q->zcache_valid = false;
	if (!ret)
		ret = qcow2_rc_commit(q);
	if (ret)
		return qcow2_err(q, -1, "could not apply snapshot '%s': %s", name_or_id,
				 strerror(-ret));
	return 0;
}

int qcow2_snapshot_delete(struct blk *b, const char *name_or_id)
{
	struct qcow2 *q = QCOW2(b);
	int i = find_to_change(b, name_or_id);
	if (i < 0)
		return -1;
	struct qcow2_snap sn = q->snaps[i];
	uint64_t old_off = q->snapshots_offset, old_len = qcow2_snap_table_len(q);
	uint64_t *sl1;
	int ret = read_l1(q, sn.l1_offset, sn.l1_size, &sl1);
	if (ret)
		return qcow2_err(q, -1, "could not read the L1 table of snapshot '%s'", name_or_id);
	memmove(&q->snaps[i], &q->snaps[i + 1], (q->nb_snapshots - i - 1) * sizeof(sn));
	q->nb_snapshots--;
	if ((ret = write_table(q, old_off, old_len))) {
		memmove(&q->snaps[i + 1], &q->snaps[i], (q->nb_snapshots - i) * sizeof(sn));
		q->snaps[i] = sn;
		q->nb_snapshots++;
		free(sl1);
		return qcow2_err(q, -1, "could not write the snapshot table: %s", strerror(-ret));
	}
	free(sn.id);
	free(sn.name);
	free(sn.extra);
	ret = qcow2_update_l1_refs(q, sl1, sn.l1_size, -1, false);
	free(sl1);
	if (!ret && sn.l1_size)
		ret = qcow2_free(q, sn.l1_offset, sn.l1_size * 8ull);
	if (!ret)
		ret = qcow2_update_l1_refs(q, q->l1, q->l1_size, 0, true);
	if (!ret)
		ret = qcow2_cache_writeback(q, &q->rbc);
	if (ret)
		return qcow2_err(q, -1, "could not delete snapshot '%s': %s", name_or_id,
				 strerror(-ret));
	return 0;
}
