/*
 * The allocation status of a whole backing chain, as qemu-img's map,
 * compare and measure see it (QEMU 7.2's bdrv_block_status per layer, down
 * the chain), so that their output can match qemu-img's.
 */
#include <string.h>
#include "img.h"

int img_chain_status(struct blk *top, uint64_t off, uint64_t len, struct img_status *s)
{
	struct blk *b = top, *bk;
	uint64_t pnum = 0, host = 0;
	int st, depth = 0;
	bool past_end = false;

	memset(s, 0, sizeof(*s));
	s->layer = top;
	if (off >= blk_size(top)) {
		/* the rest of the last sector of an image of an odd size (qemu-img
		 * counts whole sectors): a hole past the end of the file */
		s->len = len;
		s->flags = BLK_ST_ZERO | BLK_ST_ALLOCATED | BLK_ST_OFFSET_VALID | IMG_ST_EOF;
		s->present = true;
		s->host = off;
		return 0;
	}
	if (len > blk_size(top) - off)
		len = blk_size(top) - off;
	for (;;) {
		st = blk_block_status_map(b, off, len, &pnum, &host);
		if (st < 0)
			return st;
		len = pnum;
		if (st & (BLK_ST_DATA | BLK_ST_ZERO))
			break;
		bk = blk_backing(b);
		if (!bk)
			break;
		/* past the backing file's end the overlay reads zeros */
		if (off >= blk_size(bk)) {
			st |= BLK_ST_ZERO;
			past_end = true;
			break;
		}
		if (len > blk_size(bk) - off)
			len = blk_size(bk) - off;
		b = bk;
		depth++;
	}
	s->len = len;
	s->depth = depth;
	s->present = st & BLK_ST_ALLOCATED;
	s->layer = b;
	s->host = host;
	/* the chain's view: allocated when some layer decides (zeros past a
	 * backing file's end count as decided) */
	s->flags = st | (past_end ? BLK_ST_ALLOCATED : 0);
	if (off + len >= blk_size(top))
		s->flags |= IMG_ST_EOF;
	return 0;
}

int img_pread(struct blk *b, uint64_t off, void *buf, uint64_t len)
{
	uint64_t size = blk_size(b), n = off < size ? size - off : 0;

	if (n > len)
		n = len;
	memset((uint8_t *)buf + n, 0, len - n);
	return n ? blk_pread(b, off, buf, n) : 0;
}
