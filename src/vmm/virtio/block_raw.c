/*
 * Raw block backend: the guest's disk is a host file or block device, byte
 * for byte.  Reads and writes are preadv/pwritev (looping over short
 * transfers), FLUSH is fdatasync, discard punches a hole, write-zeroes uses
 * FALLOC_FL_ZERO_RANGE (or a hole when unmapping is allowed) and falls back
 * to writing zeroes where the filesystem cannot.  A read-only disk is opened
 * O_RDONLY, so even a bug above cannot write it.  The size is fixed at open;
 * a file whose size is not a multiple of 512 exposes only whole sectors to a
 * guest, but all its bytes when it is a qcow2 overlay's backing file.
 */
#include "lib/io.h"
#include "vmm/virtio/block.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

struct raw {
	struct block_backend b;
	int fd;
};

static struct raw *to_raw(struct block_backend *b) { return (struct raw *)b; }

/* Transfers the whole iovec array (the caller's stays untouched: a copy is
 * advanced over short transfers, 64 entries at a time). */
static int xfer(int fd, uint64_t off, const struct iovec *iov_in, int cnt, bool write)
{
	struct iovec local[64];
	while (cnt > 0) {
		int n = cnt < 64 ? cnt : 64;
		uint64_t len = 0;
		memcpy(local, iov_in, (size_t)n * sizeof *local);
		for (int i = 0; i < n; i++)
			len += local[i].iov_len;
		int r = io_pxferv(fd, off, local, n, write);
		if (r < 0)
			return r;
		off += len;
		iov_in += n;
		cnt -= n;
	}
	return 0;
}

static int raw_readv(struct block_backend *b, uint64_t off, const struct iovec *iov, int cnt)
{
	return xfer(to_raw(b)->fd, off, iov, cnt, false);
}

static int raw_writev(struct block_backend *b, uint64_t off, const struct iovec *iov, int cnt)
{
	if (b->readonly)
		return -EROFS;
	return xfer(to_raw(b)->fd, off, iov, cnt, true);
}

static int raw_flush(struct block_backend *b)
{
	if (b->readonly)
		return 0;
	return fdatasync(to_raw(b)->fd) < 0 ? -errno : 0;
}

static int raw_discard(struct block_backend *b, uint64_t off, uint64_t len)
{
	if (b->readonly)
		return -EROFS;
	if (fallocate(to_raw(b)->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) < 0 && errno != EOPNOTSUPP)
		return -errno;
	return 0;   /* discard is a hint: a filesystem without holes keeps the data */
}

static int write_zero_bytes(int fd, uint64_t off, uint64_t len)
{
	static const uint8_t zeroes[65536];   /* read-only: no shared mutable state */
	while (len) {
		struct iovec v = { (void *)zeroes, len < sizeof zeroes ? len : sizeof zeroes };
		int r = xfer(fd, off, &v, 1, true);
		if (r < 0)
			return r;
		off += v.iov_len;
		len -= v.iov_len;
	}
	return 0;
}

static int raw_write_zeroes(struct block_backend *b, uint64_t off, uint64_t len, bool may_unmap)
{
	int fd = to_raw(b)->fd;
	if (b->readonly)
		return -EROFS;
	int mode = may_unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
			     : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	if (fallocate(fd, mode, (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != EINVAL && errno != ENODEV)
		return -errno;
	return write_zero_bytes(fd, off, len);
}

static bool raw_may_hold_data(struct block_backend *b, uint64_t off, uint64_t len)
{
	off_t data = lseek(to_raw(b)->fd, (off_t)off, SEEK_DATA);
	if (data < 0)
		return errno != ENXIO;   /* ENXIO: only a hole from off on */
	return (uint64_t)data < off + len;
}

static int raw_image_stat(struct block_backend *b, struct stat *st)
{
	return fstat(to_raw(b)->fd, st) < 0 ? -errno : 0;
}

static void raw_close(struct block_backend *b)
{
	close(to_raw(b)->fd);
	free(b);
}

static const struct block_backend_ops raw_ops = {
	.readv = raw_readv,
	.writev = raw_writev,
	.flush = raw_flush,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.close = raw_close,
	.may_hold_data = raw_may_hold_data,
	.image_stat = raw_image_stat,
};

static int raw_open(const char *path, bool readonly, bool exact, struct block_backend **out,
		    struct err *err)
{
	*out = NULL;
	/* A backing file must be a regular file; a disk may be a block device. */
	int fd = block_open_file(path, readonly, !exact, err);
	if (fd < 0)
		return fd;
	int lr = block_lock_fd(fd, readonly);
	if (lr) {
		close(fd);
		return err_set(err, lr, "%s: in use by another process (locked)", path);
	}
	struct stat st;
	uint64_t size;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return err_set(err, -e, "%s: %s", path, strerror(e));
	}
	if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
			int e = errno;
			close(fd);
			return err_set(err, -e, "%s: cannot read the device size: %s", path, strerror(e));
		}
	} else {
		close(fd);
		return err_set(err, -EINVAL, "%s: not a regular file or block device", path);
	}
	if (!exact)
		size &= ~511ull;
	if (size == 0 && !exact) {
		close(fd);
		return err_set(err, -EINVAL, "%s: smaller than one 512-byte sector", path);
	}
	struct raw *r = calloc(1, sizeof *r);
	if (!r) {
		close(fd);
		return err_set(err, -ENOMEM, "%s: out of memory", path);
	}
	r->b.ops = &raw_ops;
	r->b.size = size;
	r->b.readonly = readonly;
	r->fd = fd;
	*out = &r->b;
	return 0;
}

int block_raw_open(const char *path, bool readonly, struct block_backend **out,
		   struct err *err)
{
	return raw_open(path, readonly, false, out, err);
}

int block_raw_open_backing(const char *path, struct block_backend **out, struct err *err)
{
	return raw_open(path, true, true, out, err);
}
