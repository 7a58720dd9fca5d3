/*
 * qcow2 block backend (the QEMU image format, versions 2 and 3), a subset:
 * reads of any plain image; writes to version 3 images without snapshots.
 * Refused with a message: backing files, encryption, compressed clusters
 * (read as an I/O error), external data files, extended L2 entries,
 * compression types, images marked corrupt (writable) or dirty (writable:
 * "qemu-img check -r all" first), refcount widths under 8 bits (writable).
 *
 * Layout: a big-endian header; guest offset -> L1 entry (in memory) -> L2
 * table cluster -> data cluster.  New clusters (data, L2 tables, refcount
 * blocks) are appended at the end of the file, which is extended at once
 * so they read back as zeroes, and given refcount 1.  Nothing is shared
 * without snapshots, so every allocated cluster is written in place.
 *
 * Crash consistency: while open writable the header's dirty bit is set
 * (the "lazy refcounts" contract: refcounts may lag, qemu-img check repairs
 * them); a clean close flushes and clears it.  Within a write the order is
 * refcount, data, L2 entry, L1 entry, so a crash can only leak clusters.
 *
 * Every value read from the image is untrusted: offsets are checked for
 * alignment and against the 2^56 limit, the L1 size against the virtual
 * size, table sizes against sane bounds.  A bad image is an I/O error, never
 * an out-of-bounds host access.  Calls come from one I/O thread; a mutex
 * covers the allocation state anyway.
 */
#include "vmm/virtio/block.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QCOW_MAGIC 0x514649fbu          /* "QFI\xfb" */
#define OFLAG_COPIED     (1ull << 63)
#define OFLAG_COMPRESSED (1ull << 62)
#define OFLAG_ZERO       1ull
#define OFFSET_MASK      0x00fffffffffffe00ull
#define INCOMPAT_DIRTY   1ull
#define INCOMPAT_CORRUPT 2ull
#define MAX_L1_BYTES     (32u << 20)
#define HDR_INCOMPAT_OFF 72

struct qcow2 {
	struct block_backend b;
	int fd;
	pthread_mutex_t lock;
	unsigned cluster_bits, l2_bits, refcount_bits;
	uint64_t cluster_size;
	uint32_t version;
	uint64_t *l1;                /* host byte order */
	uint32_t l1_size;
	uint64_t l1_offset;
	uint64_t rt_offset, rt_entries;
	uint64_t next_free;          /* where the next cluster is appended */
	uint64_t incompat;
	bool dirty_set;
};

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t r = pread(fd, buf, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		buf = (uint8_t *)buf + r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t r = pwrite(fd, buf, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		buf = (const uint8_t *)buf + r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int read_be64(int fd, uint64_t off, uint64_t *v)
{
	int r = pread_all(fd, v, 8, off);
	*v = r ? 0 : be64toh(*v);
	return r;
}

static int write_be64(int fd, uint64_t off, uint64_t v)
{
	v = htobe64(v);
	return pwrite_all(fd, &v, 8, off);
}

static bool cluster_aligned(const struct qcow2 *q, uint64_t off)
{
	return (off & (q->cluster_size - 1)) == 0;
}

/*
 * The host offset of the cluster holding guest offset `off`, 0 for a hole
 * or zero cluster, or -errno.  *l2_entry_off gets the L2 entry's file offset
 * (0 if there is no L2 table).
 */
static int64_t lookup(struct qcow2 *q, uint64_t off, uint64_t *l2_entry_off)
{
	uint64_t idx = off >> q->cluster_bits;
	uint64_t l1i = idx >> q->l2_bits, l2i = idx & ((1ull << q->l2_bits) - 1);
	*l2_entry_off = 0;
	if (l1i >= q->l1_size)
		return -EIO;
	uint64_t l2 = q->l1[l1i] & OFFSET_MASK;
	if (!l2)
		return 0;
	if (!cluster_aligned(q, l2))
		return -EIO;
	*l2_entry_off = l2 + l2i * 8;
	uint64_t e;
	int r = read_be64(q->fd, *l2_entry_off, &e);
	if (r)
		return r;
	if (e & OFLAG_COMPRESSED)
		return -ENOTSUP;
	uint64_t host = e & OFFSET_MASK;
	if ((q->version >= 3 && (e & OFLAG_ZERO)) || !host)
		return 0;
	if (!cluster_aligned(q, host))
		return -EIO;
	return (int64_t)host;
}

/* Copies the slice [off, off+len) of an iovec array into out; returns count or -1. */
static int iov_slice(const struct iovec *iov, int cnt, uint64_t off, uint64_t len,
		     struct iovec *out, int max)
{
	int n = 0;
	for (int i = 0; i < cnt && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		uint64_t take = iov[i].iov_len - off;
		if (take > len)
			take = len;
		if (n == max)
			return -1;
		out[n++] = (struct iovec){ (uint8_t *)iov[i].iov_base + off, take };
		len -= take;
		off = 0;
	}
	return len ? -1 : n;
}

static uint64_t iov_total(const struct iovec *iov, int cnt)
{
	uint64_t t = 0;
	for (int i = 0; i < cnt; i++)
		t += iov[i].iov_len;
	return t;
}

static int xfer(int fd, uint64_t off, struct iovec *iov, int cnt, bool write)
{
	while (cnt > 0) {
		ssize_t r = write ? pwritev(fd, iov, cnt, (off_t)off) : preadv(fd, iov, cnt, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		off += (uint64_t)r;
		while (cnt > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

#define SLICE_MAX 1024

static int q_readv(struct block_backend *b, uint64_t off, const struct iovec *iov, int cnt)
{
	struct qcow2 *q = (struct qcow2 *)b;
	struct iovec part[SLICE_MAX];
	uint64_t total = iov_total(iov, cnt), done = 0;
	int r = 0;
	pthread_mutex_lock(&q->lock);
	while (done < total && !r) {
		uint64_t in = (off + done) & (q->cluster_size - 1);
		uint64_t len = q->cluster_size - in;
		if (len > total - done)
			len = total - done;
		uint64_t l2e;
		int64_t host = lookup(q, off + done, &l2e);
		int n = iov_slice(iov, cnt, done, len, part, SLICE_MAX);
		if (host < 0 || n < 0) {
			r = host < 0 ? (int)host : -EINVAL;
		} else if (host == 0) {
			for (int i = 0; i < n; i++)
				memset(part[i].iov_base, 0, part[i].iov_len);
		} else {
			r = xfer(q->fd, (uint64_t)host + in, part, n, false);
		}
		done += len;
	}
	pthread_mutex_unlock(&q->lock);
	return r;
}

/* Reserves the next cluster at the end of the file (zeroes: the file grows). */
static int64_t append_cluster(struct qcow2 *q)
{
	uint64_t off = q->next_free;
	if (off + q->cluster_size > (1ull << 56))
		return -ENOSPC;
	if (ftruncate(q->fd, (off_t)(off + q->cluster_size)) < 0)
		return -errno;
	q->next_free = off + q->cluster_size;
	return (int64_t)off;
}

static int refcount_set(struct qcow2 *q, uint64_t cluster, uint64_t value, int depth)
{
	if (depth > 4)
		return -EIO;
	unsigned bytes = q->refcount_bits / 8;
	uint64_t per_block = q->cluster_size / bytes;
	uint64_t rti = cluster / per_block;
	if (rti >= q->rt_entries)
		return -ENOSPC;   /* would need a larger refcount table */
	uint64_t rb;
	int r = read_be64(q->fd, q->rt_offset + rti * 8, &rb);
	if (r)
		return r;
	rb &= OFFSET_MASK;
	if (!rb) {
		/* A new refcount block; it is counted in whichever block covers it
		 * (often itself, found through the entry just written). */
		int64_t nb = append_cluster(q);
		if (nb < 0)
			return (int)nb;
		rb = (uint64_t)nb;
		if ((r = write_be64(q->fd, q->rt_offset + rti * 8, rb)) ||
		    (r = refcount_set(q, rb >> q->cluster_bits, 1, depth + 1)))
			return r;
	}
	if (!cluster_aligned(q, rb))
		return -EIO;
	uint8_t buf[8];
	for (unsigned i = 0; i < bytes; i++)
		buf[i] = (uint8_t)(value >> (8 * (bytes - 1 - i)));
	return pwrite_all(q->fd, buf, bytes, rb + (cluster % per_block) * bytes);
}

/* Appends a zeroed cluster with refcount 1; its offset, or -errno. */
static int64_t alloc_cluster(struct qcow2 *q)
{
	int64_t off = append_cluster(q);
	if (off < 0)
		return off;
	int r = refcount_set(q, (uint64_t)off >> q->cluster_bits, 1, 0);
	return r < 0 ? r : off;
}

/* The host cluster for guest offset off, allocating it (and its L2 table). */
static int64_t map_for_write(struct qcow2 *q, uint64_t off)
{
	uint64_t l2e;
	int64_t host = lookup(q, off, &l2e);
	if (host != 0)
		return host;   /* allocated (or an error) */
	uint64_t idx = off >> q->cluster_bits;
	uint64_t l1i = idx >> q->l2_bits;
	if (!l2e) {
		int64_t l2 = alloc_cluster(q);
		if (l2 < 0)
			return l2;
		uint64_t entry = (uint64_t)l2 | OFLAG_COPIED;
		int r = write_be64(q->fd, q->l1_offset + l1i * 8, entry);
		if (r)
			return r;
		q->l1[l1i] = entry;
		l2e = (uint64_t)l2 + (idx & ((1ull << q->l2_bits) - 1)) * 8;
	}
	int64_t data = alloc_cluster(q);
	if (data < 0)
		return data;
	int r = write_be64(q->fd, l2e, (uint64_t)data | OFLAG_COPIED);
	return r ? r : data;
}

static int q_writev(struct block_backend *b, uint64_t off, const struct iovec *iov, int cnt)
{
	struct qcow2 *q = (struct qcow2 *)b;
	struct iovec part[SLICE_MAX];
	if (b->readonly)
		return -EROFS;
	uint64_t total = iov_total(iov, cnt), done = 0;
	int r = 0;
	pthread_mutex_lock(&q->lock);
	while (done < total && !r) {
		uint64_t in = (off + done) & (q->cluster_size - 1);
		uint64_t len = q->cluster_size - in;
		if (len > total - done)
			len = total - done;
		int64_t host = map_for_write(q, off + done);
		int n = iov_slice(iov, cnt, done, len, part, SLICE_MAX);
		if (host < 0 || n < 0)
			r = host < 0 ? (int)host : -EINVAL;
		else
			r = xfer(q->fd, (uint64_t)host + in, part, n, true);
		done += len;
	}
	pthread_mutex_unlock(&q->lock);
	return r;
}

static int q_flush(struct block_backend *b)
{
	struct qcow2 *q = (struct qcow2 *)b;
	if (b->readonly)
		return 0;
	return fdatasync(q->fd) < 0 ? -errno : 0;
}

static int set_dirty(struct qcow2 *q, bool dirty)
{
	uint64_t v = dirty ? q->incompat | INCOMPAT_DIRTY : q->incompat & ~INCOMPAT_DIRTY;
	if (fdatasync(q->fd) < 0)
		return -errno;
	int r = write_be64(q->fd, HDR_INCOMPAT_OFF, v);
	if (!r && fdatasync(q->fd) < 0)
		r = -errno;
	return r;
}

static void q_close(struct block_backend *b)
{
	struct qcow2 *q = (struct qcow2 *)b;
	if (q->dirty_set)
		set_dirty(q, false);
	close(q->fd);
	free(q->l1);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

static const struct block_backend_ops qcow2_ops = {
	.readv = q_readv,
	.writev = q_writev,
	.flush = q_flush,
	.close = q_close,
};

static uint32_t be32_at(const uint8_t *h, unsigned off)
{
	uint32_t v;
	memcpy(&v, h + off, 4);
	return be32toh(v);
}

static uint64_t be64_at(const uint8_t *h, unsigned off)
{
	uint64_t v;
	memcpy(&v, h + off, 8);
	return be64toh(v);
}

bool block_qcow2_probe(const void *head, size_t len)
{
	return len >= 4 && be32_at(head, 0) == QCOW_MAGIC;
}

static int qcow2_parse(struct qcow2 *q, const uint8_t *h, uint64_t file_size, bool readonly,
		       const char *path, struct err *err)
{
	q->version = be32_at(h, 4);
	if (be32_at(h, 0) != QCOW_MAGIC || (q->version != 2 && q->version != 3))
		return err_set(err, -EINVAL, "%s: not a qcow2 image of version 2 or 3", path);
	if (be64_at(h, 8))
		return err_set(err, -ENOTSUP, "%s: qcow2 backing files are not supported", path);
	q->cluster_bits = be32_at(h, 20);
	if (q->cluster_bits < 9 || q->cluster_bits > 21)
		return err_set(err, -EINVAL, "%s: bad qcow2 cluster size", path);
	q->cluster_size = 1ull << q->cluster_bits;
	q->l2_bits = q->cluster_bits - 3;
	uint64_t size = be64_at(h, 24);
	if (be32_at(h, 32))
		return err_set(err, -ENOTSUP, "%s: encrypted qcow2 images are not supported", path);
	q->l1_size = be32_at(h, 36);
	q->l1_offset = be64_at(h, 40);
	q->rt_offset = be64_at(h, 48);
	uint32_t rt_clusters = be32_at(h, 56);
	uint32_t nb_snapshots = be32_at(h, 60);
	q->refcount_bits = 16;
	if (q->version >= 3) {
		q->incompat = be64_at(h, 72);
		uint32_t order = be32_at(h, 96);
		if (order > 6 || be32_at(h, 100) < 104)
			return err_set(err, -EINVAL, "%s: bad qcow2 v3 header", path);
		q->refcount_bits = 1u << order;
		if (q->incompat & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT))
			return err_set(err, -ENOTSUP,
				       "%s: qcow2 incompatible features 0x%llx not supported", path,
				       (unsigned long long)q->incompat);
	}
	uint64_t l2_span = 1ull << (q->l2_bits + q->cluster_bits);
	if (size > (1ull << 55) || (uint64_t)q->l1_size * 8 > MAX_L1_BYTES ||
	    q->l1_size < (size + l2_span - 1) / l2_span || !cluster_aligned(q, q->l1_offset) ||
	    q->l1_offset > file_size || !cluster_aligned(q, q->rt_offset) || size < 512)
		return err_set(err, -EINVAL, "%s: inconsistent qcow2 header", path);
	if (!readonly) {
		const char *why = q->version < 3 ? "version 2 images (qemu-img amend -o compat=1.1)" :
				  nb_snapshots ? "images with internal snapshots" :
				  (q->incompat & INCOMPAT_CORRUPT) ? "images marked corrupt" :
				  (q->incompat & INCOMPAT_DIRTY) ? "dirty images (run qemu-img check -r all)" :
				  q->refcount_bits < 8 ? "refcounts narrower than 8 bits" :
				  !rt_clusters ? "images without a refcount table" : NULL;
		if (why)
			return err_set(err, -ENOTSUP, "%s: cannot write qcow2 %s; add ,ro", path, why);
	}
	q->rt_entries = (uint64_t)rt_clusters * q->cluster_size / 8;
	q->b.size = size & ~511ull;
	q->next_free = (file_size + q->cluster_size - 1) & ~(q->cluster_size - 1);
	return 0;
}

int block_qcow2_open(const char *path, bool readonly, struct block_backend **out,
		     struct err *err)
{
	*out = NULL;
	int fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return err_set(err, -e, "%s: %s", path, strerror(e));
	}
	struct qcow2 *q = calloc(1, sizeof *q);
	uint8_t h[104] = {0};
	struct stat st;
	int r;
	if (!q) {
		close(fd);
		return err_set(err, -ENOMEM, "%s: out of memory", path);
	}
	q->fd = fd;
	pthread_mutex_init(&q->lock, NULL);
	q->b.ops = &qcow2_ops;
	q->b.readonly = readonly;
	if (fstat(fd, &st) < 0 || pread_all(fd, h, 72, 0) < 0) {
		r = err_set(err, -EIO, "%s: cannot read the qcow2 header", path);
		goto fail;
	}
	if (be32_at(h, 4) >= 3 && pread_all(fd, h + 72, 32, 72) < 0) {
		r = err_set(err, -EIO, "%s: truncated qcow2 v3 header", path);
		goto fail;
	}
	if ((r = qcow2_parse(q, h, (uint64_t)st.st_size, readonly, path, err)))
		goto fail;
	q->l1 = calloc(q->l1_size ? q->l1_size : 1, 8);
	if (!q->l1 || pread_all(fd, q->l1, (size_t)q->l1_size * 8, q->l1_offset) < 0) {
		r = err_set(err, -EIO, "%s: cannot read the qcow2 L1 table", path);
		goto fail;
	}
	for (uint32_t i = 0; i < q->l1_size; i++)
		q->l1[i] = be64toh(q->l1[i]);
	if (!readonly) {
		if ((r = set_dirty(q, true))) {
			err_set(err, r, "%s: cannot mark the image in use: %s", path, strerror(-r));
			goto fail;
		}
		q->dirty_set = true;
	}
	*out = &q->b;
	return 0;
fail:
	q->dirty_set = false;
	q_close(&q->b);
	return r;
}
