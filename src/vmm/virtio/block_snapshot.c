/*
 * A throwaway copy-on-write view of another block backend, QEMU's
 * `-snapshot`: what `--ephemeral` makes of every --disk.  The base is opened
 * read-only by the caller and never written; guest writes go to an unlinked
 * temporary file of the same size (in $TMPDIR, else /var/tmp, as QEMU:
 * disk-backed, since a guest may rewrite its whole disk), and a bitmap with
 * one bit per 512-byte sector says which sectors live there.  Nothing the
 * guest writes survives the backend's close, or the process: the file has
 * no name.
 *
 * Only whole sectors are accepted (the virtio-blk device issues nothing
 * else).  Flush has nothing to make durable.  Write-zeroes, and discard
 * alike, punch the range out of the overlay and mark it there, so it reads
 * as zeroes whatever the base holds: offered as a writable image offers
 * them, so a VM whose guest negotiated them on a writable disk can go on
 * over an ephemeral one (migrate --copy-storage into --ephemeral).  A mutex
 * covers the bitmap (calls come from one I/O thread).
 */
#include "lib/io.h"
#include "vmm/virtio/block.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECTOR 512u
#define SLICE_MAX 1024

struct snapshot {
	struct block_backend b;
	struct block_backend *base;
	int fd;                      /* the unlinked overlay */
	uint64_t *dirty;             /* bit s: sector s is in the overlay */
	pthread_mutex_t lock;
};

static bool is_dirty(const struct snapshot *s, uint64_t sec)
{
	return s->dirty[sec / 64] >> (sec % 64) & 1;
}

/* The slice [off, off+len) of an iovec array into out; its count or -1. */
static int slice(const struct iovec *iov, int cnt, uint64_t off, uint64_t len,
		 struct iovec *out, int max)
{
	int n = 0;
	for (int i = 0; i < cnt && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		uint64_t take = iov[i].iov_len - off < len ? iov[i].iov_len - off : len;
		if (n == max)
			return -1;
		out[n++] = (struct iovec){ (uint8_t *)iov[i].iov_base + off, take };
		len -= take;
		off = 0;
	}
	return len ? -1 : n;
}

static int check_range(const struct snapshot *s, uint64_t off, const struct iovec *iov, int cnt,
		       uint64_t *total)
{
	uint64_t t = 0;
	for (int i = 0; i < cnt; i++)
		t += iov[i].iov_len;
	if (off % SECTOR || t % SECTOR || off > s->b.size || t > s->b.size - off)
		return -EINVAL;
	*total = t;
	return 0;
}

static int snap_readv(struct block_backend *b, uint64_t off, const struct iovec *iov, int cnt)
{
	struct snapshot *s = (struct snapshot *)b;
	struct iovec part[SLICE_MAX];
	uint64_t total;
	int r = check_range(s, off, iov, cnt, &total);
	pthread_mutex_lock(&s->lock);
	/* Runs of sectors from the same side. */
	for (uint64_t done = 0; !r && done < total;) {
		uint64_t sec = (off + done) / SECTOR, len = SECTOR;
		bool mine = is_dirty(s, sec);
		while (done + len < total && is_dirty(s, sec + len / SECTOR) == mine)
			len += SECTOR;
		int n = slice(iov, cnt, done, len, part, SLICE_MAX);
		if (n < 0)
			r = -EINVAL;
		else if (mine)
			r = io_pxferv(s->fd, off + done, part, n, false);
		else
			r = s->base->ops->readv(s->base, off + done, part, n);
		done += len;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int snap_writev(struct block_backend *b, uint64_t off, const struct iovec *iov, int cnt)
{
	struct snapshot *s = (struct snapshot *)b;
	struct iovec part[SLICE_MAX];
	uint64_t total;
	if (b->readonly)
		return -EROFS;
	int r = check_range(s, off, iov, cnt, &total);
	int n = r ? -1 : slice(iov, cnt, 0, total, part, SLICE_MAX);
	if (n < 0)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	r = io_pxferv(s->fd, off, part, n, true);
	/* Marked only once written: a failed write leaves the base's bytes visible. */
	for (uint64_t sec = off / SECTOR; !r && sec < (off + total) / SECTOR; sec++)
		s->dirty[sec / 64] |= 1ull << (sec % 64);
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* [off, off+len) reads as zeroes: out of the overlay (a hole), marked as its. */
static int snap_write_zeroes(struct block_backend *b, uint64_t off, uint64_t len, bool may_unmap)
{
	struct snapshot *s = (struct snapshot *)b;
	(void)may_unmap;   /* the overlay is thrown away anyway */
	if (b->readonly)
		return -EROFS;
	if (off % SECTOR || len % SECTOR || off > s->b.size || len > s->b.size - off)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	int r = fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			  (off_t)len) < 0 ? -errno : 0;
	if (r == -EOPNOTSUPP) {   /* a filesystem without holes: zeroes written */
		static const uint8_t zero[64 * 1024];   /* read-only */
		r = 0;
		for (uint64_t done = 0; !r && done < len;) {
			struct iovec v = { (void *)zero, len - done < sizeof zero ? len - done
							     : sizeof zero };
			r = io_pxferv(s->fd, off + done, &v, 1, true);
			done += v.iov_len;
		}
	}
	for (uint64_t sec = off / SECTOR; !r && sec < (off + len) / SECTOR; sec++)
		s->dirty[sec / 64] |= 1ull << (sec % 64);
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int snap_discard(struct block_backend *b, uint64_t off, uint64_t len)
{
	return snap_write_zeroes(b, off, len, true);   /* zeroes are a discard's result too */
}

static int snap_flush(struct block_backend *b)
{
	(void)b;
	return 0;   /* nothing here is meant to last */
}

static bool snap_may_hold_data(struct block_backend *b, uint64_t off, uint64_t len)
{
	struct snapshot *s = (struct snapshot *)b;
	bool mine = false;
	pthread_mutex_lock(&s->lock);
	for (uint64_t sec = off / SECTOR; !mine && sec < (off + len + SECTOR - 1) / SECTOR &&
	     sec < s->b.size / SECTOR; sec++)
		mine = is_dirty(s, sec);
	pthread_mutex_unlock(&s->lock);
	return mine || !s->base->ops->may_hold_data ||
	       s->base->ops->may_hold_data(s->base, off, len);
}

static int snap_image_stat(struct block_backend *b, struct stat *st)
{
	struct block_backend *base = ((struct snapshot *)b)->base;
	return base->ops->image_stat ? base->ops->image_stat(base, st) : -ENOTSUP;
}

static void snap_close(struct block_backend *b)
{
	struct snapshot *s = (struct snapshot *)b;
	block_backend_close(s->base);
	if (s->fd >= 0)
		close(s->fd);
	free(s->dirty);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const struct block_backend_ops snapshot_ops = {
	.readv = snap_readv,
	.writev = snap_writev,
	.flush = snap_flush,
	.discard = snap_discard,
	.write_zeroes = snap_write_zeroes,
	.close = snap_close,
	.may_hold_data = snap_may_hold_data,
	.image_stat = snap_image_stat,
};

/* An unlinked file in dir: O_TMPFILE, or a named one removed at once. */
static int tmp_file(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/nimbus-ephemeral-XXXXXX", dir) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

int block_snapshot_wrap(struct block_backend *base, bool readonly, struct block_backend **out,
			struct err *err)
{
	*out = NULL;
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/var/tmp";
	struct snapshot *s = calloc(1, sizeof *s);
	uint64_t sectors = base->size / SECTOR;
	if (!s || !(s->dirty = calloc(sectors / 64 + 1, 8))) {
		free(s);
		block_backend_close(base);
		return err_set(err, -ENOMEM, "ephemeral disk: out of memory");
	}
	s->b = (struct block_backend){ .ops = &snapshot_ops, .size = sectors * SECTOR,
				       .readonly = readonly };
	s->base = base;
	pthread_mutex_init(&s->lock, NULL);
	s->fd = tmp_file(dir);
	if (s->fd < 0 || ftruncate(s->fd, (off_t)s->b.size) < 0) {
		int e = errno;
		snap_close(&s->b);
		return err_set(err, -e, "ephemeral disk: temporary file in %s: %s", dir, strerror(e));
	}
	*out = &s->b;
	return 0;
}
