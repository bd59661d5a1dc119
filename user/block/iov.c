/* iovec helpers for the block layer: sizes, copies, slices. */
#include <string.h>
#include "block-int.h"

size_t iov_size(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;
	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

/* Walk bytes [skip, skip+len) of the vector, calling fn on each piece with
 * the piece's position in the walked range.  Returns the bytes walked
 * (less than len when the vector is shorter). */
typedef void (*iov_piece_fn)(void *base, size_t len, size_t pos, void *ctx);

static size_t iov_walk(const struct iovec *iov, int iovcnt, size_t skip, size_t len,
		       iov_piece_fn fn, void *ctx)
{
	size_t done = 0;
	for (int i = 0; i < iovcnt && done < len; i++) {
		size_t l = iov[i].iov_len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		size_t n = MIN(l - skip, len - done);
		fn((char *)iov[i].iov_base + skip, n, done, ctx);
		done += n;
		skip = 0;
	}
	return done;
}

static void piece_to_buf(void *base, size_t len, size_t pos, void *ctx)
{
	memcpy((char *)ctx + pos, base, len);
}

static void piece_from_buf(void *base, size_t len, size_t pos, void *ctx)
{
	memcpy(base, (const char *)ctx + pos, len);
}

static void piece_memset(void *base, size_t len, size_t pos, void *ctx)
{
	(void)pos;
	memset(base, *(int *)ctx, len);
}

size_t iov_to_buf(const struct iovec *iov, int iovcnt, size_t skip, void *buf, size_t len)
{
	return iov_walk(iov, iovcnt, skip, len, piece_to_buf, buf);
}

size_t iov_from_buf(const struct iovec *iov, int iovcnt, size_t skip, const void *buf,
		    size_t len)
{
	return iov_walk(iov, iovcnt, skip, len, piece_from_buf, (void *)buf);
}

void iov_memset(const struct iovec *iov, int iovcnt, size_t skip, int c, size_t len)
{
	iov_walk(iov, iovcnt, skip, len, piece_memset, &c);
}

int iov_slice(const struct iovec *iov, int iovcnt, size_t skip, size_t len,
	      struct iovec *out, int max)
{
	int n = 0;
	size_t done = 0;
	for (int i = 0; i < iovcnt && done < len; i++) {
		size_t l = iov[i].iov_len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		size_t take = MIN(l - skip, len - done);
		if (take == 0)
			continue;
		if (n >= max)
			return -1;
		out[n].iov_base = (char *)iov[i].iov_base + skip;
		out[n].iov_len = take;
		n++;
		done += take;
		skip = 0;
	}
	return n;
}
