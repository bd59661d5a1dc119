/*
 * Image locking, compatible with QEMU 7.2's (block/file-posix.c): open file
 * description byte-range locks (F_OFD_SETLK), all of them shared (read)
 * locks, so that several holders may hold the same byte:
 *
 *   byte 100 + bit   held while this open holds permission bit
 *   byte 200 + bit   held while this open does not let others hold it
 *
 * with QEMU's permission bits: 0 "consistent read", 1 "write", 2 "write
 * unchanged", 3 "resize".  An open first takes its bytes, then asks the
 * kernel (F_OFD_GETLK for an exclusive lock) whether anybody else holds
 * the byte that would conflict: 200 + bit for each permission it wants,
 * 100 + bit for each it does not share.  Taking before testing means two
 * opens racing each other both fail rather than both succeed.  Locks of
 * the same open file description never conflict with each other, so a
 * process that opens an image twice is checked like two processes.
 *
 * The locks go with the descriptor: closing it releases them.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "core.h"

#define LOCK_PERM_BASE 100
#define LOCK_SHARED_BASE 200

static const char *const perm_names[BLK_PERM_BITS] = {
	"consistent read", "write", "write unchanged", "resize",
};

static int lock_byte(int fd, int byte, short type)
{
	struct flock fl = {
		.l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1,
	};
	return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* Does another open file description hold a lock on the byte? */
static int held_elsewhere(int fd, int byte)
{
	struct flock fl = {
		.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1,
	};
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	return fl.l_type != F_UNLCK;
}

void blk_unlock_fd(int fd)
{
	for (int i = 0; i < BLK_PERM_BITS; i++) {
		lock_byte(fd, LOCK_PERM_BASE + i, F_UNLCK);
		lock_byte(fd, LOCK_SHARED_BASE + i, F_UNLCK);
	}
}

/* The kernel or file system has no OFD locks: QEMU's locking=auto then
 * runs without them, and so do we. */
static bool no_lock_support(int err)
{
	return err == -EINVAL || err == -ENOLCK || err == -EOPNOTSUPP || err == -ENOSYS;
}

static int conflict(int fd, const char *path, const char *what, int bit)
{
	blk_unlock_fd(fd);
	qvm_error("%s: Failed to get %s\"%s\" lock. Is another process using the image [%s]?",
		  path, what, perm_names[bit], path);
	return -1;
}

int blk_lock_fd(int fd, unsigned perm, unsigned shared, const char *path)
{
	unsigned unshared = ~shared & BLK_PERM_ALL;
	int r = 0;

	for (int i = 0; i < BLK_PERM_BITS && r == 0; i++) {
		if (perm & (1u << i))
			r = lock_byte(fd, LOCK_PERM_BASE + i, F_RDLCK);
		if (r == 0 && (unshared & (1u << i)))
			r = lock_byte(fd, LOCK_SHARED_BASE + i, F_RDLCK);
	}
	if (r < 0) {
		blk_unlock_fd(fd);
		if (no_lock_support(r)) {
			qvm_log(LOG_UNIMP, "qvm: %s: no OFD locks here (%s): image not locked",
				path, strerror(-r));
			return 0;
		}
		qvm_error("%s: Failed to lock the image: %s", path, strerror(-r));
		return -1;
	}
	for (int i = 0; i < BLK_PERM_BITS; i++) {
		if ((perm & (1u << i)) && held_elsewhere(fd, LOCK_SHARED_BASE + i) > 0)
			return conflict(fd, path, "", i);
	}
	for (int i = 0; i < BLK_PERM_BITS; i++) {
		if ((unshared & (1u << i)) && held_elsewhere(fd, LOCK_PERM_BASE + i) > 0)
			return conflict(fd, path, "shared ", i);
	}
	return 0;
}

/*
 * What an open holds and shares, computed as QEMU's block graph does for
 * the same use:
 *  - the user (a guest device, a qemu-img command) asks read, write when
 *    writable, and shares what its enum blk_share says;
 *  - qcow2 (any format keeping metadata in the file) also needs resize
 *    when writable, and never lets others write or resize its file;
 *  - a backing file is read only, and shares writes only when the user of
 *    its overlay does (block.c passes that down as the backing's share).
 */
static unsigned user_shared(enum blk_share s)
{
	switch (s) {
	case BLK_SHARE_DEVICE: return BLK_PERM_READ | BLK_PERM_WRITE_UNCHANGED | BLK_PERM_RESIZE;
	case BLK_SHARE_TOOL: return BLK_PERM_READ | BLK_PERM_WRITE_UNCHANGED;
	case BLK_SHARE_INSPECT:
	case BLK_SHARE_ALL: return BLK_PERM_ALL;
	}
	return BLK_PERM_READ | BLK_PERM_WRITE_UNCHANGED;
}

enum blk_share blk_backing_share(enum blk_share s)
{
	if (s == BLK_SHARE_ALL)
		return BLK_SHARE_ALL;
	return user_shared(s) & BLK_PERM_WRITE ? BLK_SHARE_INSPECT : BLK_SHARE_TOOL;
}

int blk_lock_image(struct blk *b, enum blk_share share, bool metadata)
{
	unsigned perm = BLK_PERM_READ, shared = user_shared(share);

	if (!b->readonly) {
		perm |= BLK_PERM_WRITE;
		if (share == BLK_SHARE_TOOL || metadata)
			perm |= BLK_PERM_RESIZE;
	}
	if (metadata && share != BLK_SHARE_ALL)
		shared &= ~(BLK_PERM_WRITE | BLK_PERM_RESIZE);
	return blk_lock_fd(b->fd, perm, shared, b->filename);
}
