/*
 * qcow2 block backend (QEMU's image format, versions 2 and 3; written from
 * docs/interop/qcow2.txt).  Reads any image without encryption, external
 * data files, extended L2 entries or non-zlib compression; writes version 3
 * images without internal snapshots.
 *
 * Layout: a big-endian header; guest offset -> L1 entry (all in memory) ->
 * L2 table cluster -> data cluster.  An L2 entry is unallocated (read from
 * the backing file, or zeroes past its end or without one), a zero cluster
 * (v3 bit 0; it may keep a preallocated host cluster), a standard data
 * cluster, or a compressed cluster (raw deflate, block_inflate.c).
 *
 * Backing files ("Cluster mapping" and the header's backing_file_offset):
 * the name in the first cluster, resolved against the overlay's directory
 * when relative, in the format named by the backing-format header extension
 * (raw or qcow2; an image without it is refused rather than probed), opened
 * read-only (O_RDONLY: nothing here can write it).  A chain holds at most
 * MAX_CHAIN images, the top one and the base included (so 15 overlays on a
 * base); a file met twice (by device and inode) is a loop and refused.
 * Every file in the chain is opened without blocking and must be a regular
 * file (block_open_file); with confine_backing each must resolve to a path
 * inside the top image's directory.
 *
 * Writing allocates the lowest free cluster (refcount 0, not metadata;
 * punched so it reads as zeroes), or else at the end of the file, which is
 * extended at once (new clusters read as zeroes), and gives every new
 * cluster refcount 1.  Freed clusters come from discarded whole clusters,
 * write-zeroes that may unmap, overwritten compressed clusters and moved
 * refcount tables; a cluster is freed only once the L2 tables no longer
 * naming it are on disk, so reusing it never exposes its new data through
 * an old mapping after a crash.  A write into a cluster that
 * is not a plain allocated one takes a new cluster (copy-on-write): a
 * partial write first fills the rest of it from the backing file, zeroes or
 * the decompressed old data.  Zero clusters with a preallocated host
 * cluster reuse it.  Compressed clusters that are overwritten are freed
 * (their host clusters' refcounts dropped) only once the L2 tables no
 * longer naming them are on disk.  The refcount table grows (moves to the
 * end of the file) when a new refcount block would not fit.  Clusters and
 * L2 tables without OFLAG_COPIED (shared, which needs snapshots) are never
 * written in place: such writes fail.  Writable opens refuse images marked
 * dirty (QEMU's lazy refcounts) or corrupt, and images with persistent
 * bitmaps (which we would have to invalidate: clearing their auto-clear bit
 * turns their clusters into leaks); other auto-clear bits are cleared
 * first, as the spec requires.
 *
 * Crash consistency without a dirty bit: L2 tables and refcount blocks live
 * in small write-back caches, L1 and the refcount table in memory.  Data is
 * written in place at once; metadata reaches the file in dependency order,
 * each step made durable with fdatasync before the next: refcount blocks,
 * refcount table (and a moved table's header fields), then L2 tables, then
 * L1 entries, then deferred frees.  A dirty L2 table evicted from the cache
 * first runs the refcount step.  So on disk every referenced cluster has
 * its data and a refcount, and a crash can only leak clusters (qemu-img
 * check reports leaks, never errors).  Writers lock the whole file (OFD
 * lock), so a second writer (nimbus or QEMU) is refused; readers lock only
 * a private byte, so qemu-img can still inspect a base image in use.
 *
 * Discard unmaps and frees whole clusters (a zero cluster over a backing
 * file) and punches holes under parts of allocated ones (the bytes read back
 * as zeroes).  Write-zeroes sets the zero flag on whole clusters (keeping
 * their host cluster unless unmapping is allowed, then freeing it) and
 * writes zeroes into partial ones.
 *
 * Every value read from an image is untrusted: header fields and extension
 * lengths are bounded, offsets checked for cluster alignment and the 2^56
 * limit, tables for size, refcounts for overflow, compressed data decoded
 * with bounds.  A hostile image is refused at open or answers I/O errors.
 * Before any offset from the image is used, it is checked against the end
 * of the file and against the metadata map (block_qcow2_meta.h, QEMU's
 * overlap checks): data or an L2 table on the header, the L1 or refcount
 * table, an L2 table or a refcount block marks the image corrupt (the
 * header's corrupt bit when writable), and from then on every I/O fails;
 * nothing is written through such a pointer.
 * Calls come from one I/O thread; a mutex covers the state anyway.
 */
#include "lib/io.h"
#include "vmm/virtio/block.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/virtio/block_inflate.h"
#include "vmm/virtio/block_qcow2_meta.h"

#define QCOW_MAGIC 0x514649fbu          /* "QFI\xfb" */
#define OFLAG_COPIED     (1ull << 63)
#define OFLAG_COMPRESSED (1ull << 62)
#define OFLAG_ZERO       1ull
#define OFFSET_MASK      0x00fffffffffffe00ull
#define MAX_OFFSET       (1ull << 56)

#define INCOMPAT_DIRTY        (1ull << 0)
#define INCOMPAT_CORRUPT      (1ull << 1)
#define INCOMPAT_DATA_FILE    (1ull << 2)
#define INCOMPAT_COMPRESSION  (1ull << 3)
#define INCOMPAT_EXTL2        (1ull << 4)

#define EXT_END         0x00000000u
#define EXT_BACKING_FMT 0xe2792acau
#define EXT_FEATURES    0x6803f857u

#define AUTOCLEAR_BITMAPS     (1ull << 0)

#define HDR_RT_OFF        48
#define HDR_AUTOCLEAR_OFF 88
#define MAX_L1_BYTES     (32u << 20)     /* QEMU's limits, also ours */
#define MAX_RT_BYTES     (8u << 20)
#define MAX_BACKING_NAME 1023
#define MAX_CHAIN        16
#define CACHE_BYTES      (4u << 20)      /* per cache (L2 tables, refcount blocks) */
#define MAX_FREES        65536           /* deferred frees before a forced flush */
#define SLICE_MAX        1024

struct slot {
	uint64_t off;            /* file offset of the cached cluster; 0: empty */
	uint64_t used;           /* LRU clock */
	bool dirty;
	uint8_t *data;           /* one cluster, as on disk (big-endian) */
};

struct cache {
	struct slot *s;
	unsigned n;
	uint64_t tick;
};

struct qcow2 {
	struct block_backend b;
	int fd;
	pthread_mutex_t lock;
	unsigned cluster_bits, l2_bits, refcount_order, rb_shift;
	uint64_t cluster_size;
	uint32_t version;
	uint64_t *l1;                /* host byte order */
	uint32_t l1_size, l1_lo, l1_hi;   /* [lo, hi): entries not yet on disk */
	uint64_t l1_offset;
	uint64_t *rt;                /* refcount table (writable only), host order */
	uint64_t rt_entries, rt_offset, rt_clusters, rt_lo, rt_hi;
	bool rt_moved;               /* rt lives at a new place the header does not name yet */
	bool rt_growing;
	struct cache l2c, rbc;
	bool unsynced;               /* written to since the last fdatasync */
	uint64_t next_free;          /* where the next cluster is appended */
	uint64_t free_hint;          /* no cluster below this index has refcount 0 (but metadata) */
	uint64_t *frees;             /* host clusters to unreference after the next L2/L1 sync */
	size_t nfrees, frees_cap;
	struct block_backend *backing;
	uint8_t *bounce;             /* one cluster, for copy-on-write */
	uint8_t *zeroes;             /* one zeroed cluster */
	uint8_t *zin, *zout;         /* compressed input (2 clusters) and its decoded cluster */
	uint64_t zkey;               /* L2 entry zout holds; 0: none */
	struct qmeta meta;           /* which host clusters are metadata */
	bool corrupt;                /* an impossible offset was met: every I/O fails */
	char *path;                  /* for the corruption message */
};

/* ---- file helpers ------------------------------------------------------ */

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

static int sync_fd(int fd)
{
	return fdatasync(fd) < 0 ? -errno : 0;
}

/* Every write to the image goes through these, so q_sync knows whether an
 * fdatasync has anything to do. */
static int q_pwrite(struct qcow2 *q, const void *buf, size_t len, uint64_t off)
{
	q->unsynced = true;
	return pwrite_all(q->fd, buf, len, off);
}

static int q_sync(struct qcow2 *q)
{
	if (!q->unsynced)
		return 0;
	if (fdatasync(q->fd) < 0)
		return -errno;
	q->unsynced = false;
	return 0;
}

static uint32_t be32_at(const uint8_t *h, size_t off)
{
	uint32_t v;
	memcpy(&v, h + off, 4);
	return be32toh(v);
}

static uint64_t be64_at(const uint8_t *h, size_t off)
{
	uint64_t v;
	memcpy(&v, h + off, 8);
	return be64toh(v);
}

static void put_be64(uint8_t *h, size_t off, uint64_t v)
{
	v = htobe64(v);
	memcpy(h + off, &v, 8);
}

static bool aligned(const struct qcow2 *q, uint64_t off)
{
	return (off & (q->cluster_size - 1)) == 0;
}

/*
 * The image points somewhere it must not (data at metadata, past the end
 * of the file): from now on every I/O fails, as QEMU does, and a writable
 * v3 image gets the corrupt bit in its header so no one writes it again
 * before `qemu-img check -r all`.  One line to the log (stderr by default), the first time.
 */
__attribute__((format(printf, 2, 3), cold))
static int corrupt(struct qcow2 *q, const char *fmt, ...)
{
	if (q->corrupt)
		return -EIO;
	q->corrupt = true;
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	bool marked = false;
	if (!q->b.readonly && q->version >= 3) {
		uint8_t f[8];
		if (pread_all(q->fd, f, 8, 72) == 0) {
			put_be64(f, 0, be64_at(f, 0) | INCOMPAT_CORRUPT);
			marked = pwrite_all(q->fd, f, 8, 72) == 0 && sync_fd(q->fd) == 0;
		}
	}
	char line[512];
	snprintf(line, sizeof line, "corrupt qcow2 image: %s; I/O to it fails%s", why,
		 marked ? " (marked corrupt in its header: qemu-img check -r all)" : "");
	log_emit(q->b.log, q->path, line);
	return -EIO;
}

/* A host offset of a data cluster (standard, or a preallocated zero cluster):
 * inside the file and not one of the metadata clusters. */
static int check_data(struct qcow2 *q, uint64_t guest, uint64_t host)
{
	if (host >= q->next_free)
		return corrupt(q, "data for guest offset 0x%llx at 0x%llx, past the end of the file "
			       "(0x%llx)", (unsigned long long)guest, (unsigned long long)host,
			       (unsigned long long)q->next_free);
	unsigned k = qmeta_kinds(&q->meta, host >> q->cluster_bits);
	if (k)
		return corrupt(q, "data for guest offset 0x%llx at 0x%llx, which is %s",
			       (unsigned long long)guest, (unsigned long long)host, qmeta_name(k));
	return 0;
}

/* A metadata cluster of `kind` named by the image: inside the file, and no other kind of metadata. */
static int check_meta(struct qcow2 *q, uint64_t off, unsigned kind, const char *what)
{
	if (!aligned(q, off) || off >= q->next_free)
		return corrupt(q, "%s at 0x%llx, %s", what, (unsigned long long)off,
			       aligned(q, off) ? "past the end of the file" : "not cluster-aligned");
	unsigned k = qmeta_kinds(&q->meta, off >> q->cluster_bits) & ~kind;
	if (k)
		return corrupt(q, "%s at 0x%llx, which is %s", what, (unsigned long long)off,
			       qmeta_name(k));
	return 0;
}

/* ---- iovec helpers ----------------------------------------------------- */

/* The slice [off, off+len) of an iovec array, into out; its count or -1. */
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

static void iov_zero(const struct iovec *iov, int cnt)
{
	for (int i = 0; i < cnt; i++)
		memset(iov[i].iov_base, 0, iov[i].iov_len);
}

static void iov_to_buf(const struct iovec *iov, int cnt, uint8_t *buf)
{
	for (int i = 0; i < cnt; i++) {
		memcpy(buf, iov[i].iov_base, iov[i].iov_len);
		buf += iov[i].iov_len;
	}
}

static void buf_to_iov(const uint8_t *buf, const struct iovec *iov, int cnt)
{
	for (int i = 0; i < cnt; i++) {
		memcpy(iov[i].iov_base, buf, iov[i].iov_len);
		buf += iov[i].iov_len;
	}
}

/* ---- lazily allocated buffers ------------------------------------------ */

static uint8_t *lazy_buf(uint8_t **p, size_t len)
{
	if (!*p)
		*p = calloc(1, len);
	return *p;
}

/* ---- metadata caches --------------------------------------------------- */

static int flush_refcounts(struct qcow2 *q);

static int slot_writeback(struct qcow2 *q, struct cache *c, struct slot *s)
{
	if (!s->dirty)
		return 0;
	if (c == &q->l2c) {
		/* An L2 table may name clusters whose refcounts and data are only
		 * in memory or the page cache: those go first. */
		int r = flush_refcounts(q);
		if (r)
			return r;
	}
	int r = q_pwrite(q, s->data, q->cluster_size, s->off);
	if (!r)
		s->dirty = false;
	return r;
}

/*
 * The cached cluster at file offset off, loaded (or, if fresh, a new zeroed
 * dirty one) after evicting the least recently used slot.  The pointer is
 * valid only until the next cache_get on the same cache.
 */
static int cache_get(struct qcow2 *q, struct cache *c, uint64_t off, bool fresh, struct slot **out)
{
	struct slot *victim = NULL;
	for (unsigned i = 0; i < c->n; i++) {
		struct slot *s = &c->s[i];
		if (s->off == off && s->data) {
			if (fresh) {
				memset(s->data, 0, q->cluster_size);
				s->dirty = true;
			}
			s->used = ++c->tick;
			*out = s;
			return 0;
		}
		if (!victim || (victim->off && (!s->off || s->used < victim->used)))
			victim = s;
	}
	if (victim->off) {
		int r = slot_writeback(q, c, victim);
		if (r)
			return r;
		victim->off = 0;
	}
	if (!lazy_buf(&victim->data, q->cluster_size))
		return -ENOMEM;
	if (fresh) {
		memset(victim->data, 0, q->cluster_size);
	} else {
		int r = pread_all(q->fd, victim->data, q->cluster_size, off);
		if (r)
			return r;
	}
	victim->off = off;
	victim->dirty = fresh;
	victim->used = ++c->tick;
	*out = victim;
	return 0;
}

static int cache_init(struct qcow2 *q, struct cache *c)
{
	uint64_t n = CACHE_BYTES / q->cluster_size;
	c->n = n < 4 ? 4 : n > 128 ? 128 : (unsigned)n;
	c->s = calloc(c->n, sizeof *c->s);
	return c->s ? 0 : -ENOMEM;
}

static void cache_free(struct cache *c)
{
	for (unsigned i = 0; i < c->n && c->s; i++)
		free(c->s[i].data);
	free(c->s);
}

/* ---- refcounts --------------------------------------------------------- */

static uint64_t rc_get(const struct qcow2 *q, const uint8_t *blk, uint64_t i)
{
	unsigned bits = 1u << q->refcount_order;
	if (bits < 8)   /* sub-byte widths: entry i from the low bits up */
		return (blk[i * bits / 8] >> (i * bits % 8)) & ((1u << bits) - 1);
	uint64_t v = 0;
	for (unsigned k = 0; k < bits / 8; k++)
		v = v << 8 | blk[i * (bits / 8) + k];
	return v;
}

static void rc_set(const struct qcow2 *q, uint8_t *blk, uint64_t i, uint64_t v)
{
	unsigned bits = 1u << q->refcount_order;
	if (bits < 8) {
		unsigned sh = (unsigned)(i * bits % 8), mask = ((1u << bits) - 1) << sh;
		uint8_t *p = &blk[i * bits / 8];
		*p = (uint8_t)((*p & ~mask) | ((unsigned)v << sh & mask));
		return;
	}
	for (unsigned k = bits / 8; k-- > 0; v >>= 8)
		blk[i * (bits / 8) + k] = (uint8_t)v;
}

static void rt_mark(struct qcow2 *q, uint64_t i)
{
	if (q->rt_lo == q->rt_hi) {
		q->rt_lo = i;
		q->rt_hi = i + 1;
	} else {
		if (i < q->rt_lo)
			q->rt_lo = i;
		if (i >= q->rt_hi)
			q->rt_hi = i + 1;
	}
}

/* Appends n zeroed clusters at the end of the file (no refcounts yet). */
static int64_t append(struct qcow2 *q, uint64_t n)
{
	uint64_t off = q->next_free;
	if (n > (MAX_OFFSET - off) >> q->cluster_bits)
		return -ENOSPC;
	uint64_t end = off + (n << q->cluster_bits);
	q->unsynced = true;
	if (ftruncate(q->fd, (off_t)end) < 0)
		return -errno;
	q->next_free = end;
	return (int64_t)off;
}

static int refcount_update(struct qcow2 *q, uint64_t cluster, int delta, unsigned depth);

static int defer_free(struct qcow2 *q, uint64_t cluster)
{
	if (q->nfrees == q->frees_cap) {
		size_t cap = q->frees_cap ? q->frees_cap * 2 : 64;
		uint64_t *f = realloc(q->frees, cap * sizeof *f);
		if (!f)
			return -ENOMEM;
		q->frees = f;
		q->frees_cap = cap;
	}
	q->frees[q->nfrees++] = cluster;
	return 0;
}

static int rt_write(struct qcow2 *q, uint64_t lo, uint64_t hi)
{
	uint64_t buf[512];
	for (uint64_t i = lo; i < hi;) {
		uint64_t k = hi - i < 512 ? hi - i : 512;
		for (uint64_t j = 0; j < k; j++)
			buf[j] = htobe64(q->rt[i + j]);
		int r = q_pwrite(q, buf, k * 8, q->rt_offset + i * 8);
		if (r)
			return r;
		i += k;
	}
	return 0;
}

/*
 * A bigger refcount table at the end of the file, covering index `need`
 * and the refcount blocks of its own clusters.  The header switches to it
 * at the next refcount flush; the old table is freed after that.
 */
static int rt_grow(struct qcow2 *q, uint64_t need, unsigned depth)
{
	if (q->rt_growing)
		return -EIO;
	uint64_t entries = q->rt_entries * 2, tclusters;
	for (;;) {
		if (entries <= need)
			entries = need + 1;
		if (entries > MAX_RT_BYTES / 8)
			return -ENOSPC;
		tclusters = (entries * 8 + q->cluster_size - 1) >> q->cluster_bits;
		entries = (tclusters << q->cluster_bits) / 8;
		/* Clusters that may exist once the table and its blocks are appended. */
		uint64_t last = (q->next_free >> q->cluster_bits) + 2 * tclusters + 8;
		if ((last >> q->rb_shift) < entries)
			break;
		need = last >> q->rb_shift;
	}
	uint64_t *nrt = calloc(entries, 8);
	if (!nrt)
		return -ENOMEM;
	memcpy(nrt, q->rt, q->rt_entries * 8);
	int64_t tbl = append(q, tclusters);
	if (tbl < 0) {
		free(nrt);
		return (int)tbl;
	}
	uint64_t old = q->rt_offset >> q->cluster_bits, old_n = q->rt_clusters;
	free(q->rt);
	q->rt = nrt;
	q->rt_entries = entries;
	q->rt_offset = (uint64_t)tbl;
	q->rt_clusters = tclusters;
	q->rt_moved = true;
	q->rt_lo = q->rt_hi = 0;
	q->rt_growing = true;
	int r = qmeta_add(&q->meta, (uint64_t)tbl >> q->cluster_bits, tclusters, QMETA_RT);
	for (uint64_t i = 0; i < tclusters && !r; i++)
		r = refcount_update(q, ((uint64_t)tbl >> q->cluster_bits) + i, 1, depth + 1);
	q->rt_growing = false;
	/* The old table: unreferenced once the header names the new one. */
	for (uint64_t i = 0; i < old_n && !r; i++)
		r = defer_free(q, old + i);
	return r;
}

/* Adds delta (+1 or -1) to a host cluster's refcount. */
static int refcount_update(struct qcow2 *q, uint64_t cluster, int delta, unsigned depth)
{
	if (depth > 8)
		return -EIO;
	uint64_t rti = cluster >> q->rb_shift;
	if (rti >= q->rt_entries) {
		if (delta < 0)
			return -EIO;
		int r = rt_grow(q, rti, depth);
		if (r)
			return r;
	}
	uint64_t rb = q->rt[rti] & OFFSET_MASK;
	struct slot *s;
	int r;
	if (!rb) {
		/* A new refcount block, counted by whichever block covers it
		 * (often itself, through the entry just made). */
		if (delta < 0)
			return -EIO;
		int64_t nb = append(q, 1);
		if (nb < 0)
			return (int)nb;
		rb = (uint64_t)nb;
		q->rt[rti] = rb;
		rt_mark(q, rti);
		if ((r = qmeta_add(&q->meta, rb >> q->cluster_bits, 1, QMETA_RB)) ||
		    (r = cache_get(q, &q->rbc, rb, true, &s)) ||
		    (r = refcount_update(q, rb >> q->cluster_bits, 1, depth + 1)))
			return r;
	}
	if ((r = check_meta(q, rb, QMETA_RB, "refcount block")))
		return r;
	if ((r = cache_get(q, &q->rbc, rb, false, &s)))
		return r;
	uint64_t i = cluster & ((1ull << q->rb_shift) - 1);
	uint64_t v = rc_get(q, s->data, i);
	unsigned bits = 1u << q->refcount_order;
	uint64_t max = bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
	if (delta > 0 ? v == max : v == 0)
		return -EIO;   /* an inconsistent image */
	rc_set(q, s->data, i, delta > 0 ? v + 1 : v - 1);
	s->dirty = true;
	return 0;
}

/*
 * The lowest cluster below the end of the file with refcount 0 that is no
 * metadata (a freed refcount table stays in the metadata map and is never
 * reused), or -ENOSPC.  One pass over the refcount blocks per opening at
 * most: free_hint only moves back when a cluster is freed.
 */
static int64_t find_free(struct qcow2 *q)
{
	uint64_t end = q->next_free >> q->cluster_bits, per = 1ull << q->rb_shift;
	for (uint64_t c = q->free_hint; c < end;) {
		uint64_t rti = c >> q->rb_shift, stop = (rti + 1) * per < end ? (rti + 1) * per : end;
		uint64_t rb = rti < q->rt_entries ? q->rt[rti] & OFFSET_MASK : 0;
		struct slot *s;
		if (!rb || check_meta(q, rb, QMETA_RB, "refcount block") ||
		    cache_get(q, &q->rbc, rb, false, &s)) {
			c = stop;   /* no block: new clusters there go through append */
			continue;
		}
		for (; c < stop; c++)
			if (rc_get(q, s->data, c & (per - 1)) == 0 && !qmeta_kinds(&q->meta, c)) {
				q->free_hint = c + 1;
				return (int64_t)c;
			}
	}
	q->free_hint = end;
	return -ENOSPC;
}

/* A cluster with refcount 1 reading as zeroes: a freed one if there is
 * one (so a long-lived image does not only grow), else a new one at the end. */
static int64_t alloc_cluster(struct qcow2 *q)
{
	int64_t c = find_free(q);
	if (c >= 0) {
		uint64_t off = (uint64_t)c << q->cluster_bits;
		int r = 0;
		q->unsynced = true;
		/* Callers rely on a new cluster reading as zeroes; its old bytes must go. */
		if (fallocate(q->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			      (off_t)q->cluster_size) < 0) {
			uint8_t *z = lazy_buf(&q->zeroes, q->cluster_size);
			r = z ? q_pwrite(q, z, q->cluster_size, off) : -ENOMEM;
		}
		if (!r)
			r = refcount_update(q, (uint64_t)c, 1, 0);
		return r ? r : (int64_t)off;
	}
	int64_t off = append(q, 1);
	if (off < 0)
		return off;
	int r = refcount_update(q, (uint64_t)off >> q->cluster_bits, 1, 0);
	return r ? r : off;
}

/* ---- compressed clusters ----------------------------------------------- */

/* Where a compressed cluster's data lies: [*off, *off + *len). */
static void compressed_extent(const struct qcow2 *q, uint64_t entry, uint64_t *off, uint64_t *len)
{
	unsigned x = 62 - (q->cluster_bits - 8);
	uint64_t sectors = ((entry >> x) & ((1ull << (q->cluster_bits - 8)) - 1)) + 1;
	*off = entry & ((1ull << x) - 1);
	*len = sectors * 512 - (*off & 511);
}

static int defer_free_compressed(struct qcow2 *q, uint64_t entry)
{
	uint64_t off, len;
	compressed_extent(q, entry, &off, &len);
	for (uint64_t c = off >> q->cluster_bits; c <= (off + len - 1) >> q->cluster_bits; c++) {
		int r = defer_free(q, c);
		if (r)
			return r;
	}
	return 0;
}

/* Decodes a compressed cluster into q->zout (a one-entry cache). */
static int decompress(struct qcow2 *q, uint64_t entry)
{
	if (q->zkey == entry)
		return 0;
	uint64_t off, len;
	compressed_extent(q, entry, &off, &len);
	if (off >= q->next_free)
		return corrupt(q, "compressed data at 0x%llx, past the end of the file",
			       (unsigned long long)off);
	if (!lazy_buf(&q->zin, 2 * q->cluster_size) || !lazy_buf(&q->zout, q->cluster_size))
		return -ENOMEM;
	/* The last sector may be cut short by the end of the file. */
	size_t got = 0;
	while (got < len) {
		ssize_t r = pread(q->fd, q->zin + got, len - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	q->zkey = 0;
	int r = block_inflate(q->zin, got, q->zout, q->cluster_size);
	if (!r)
		q->zkey = entry;
	return r;
}

/* ---- mapping ----------------------------------------------------------- */

enum kind { UNALLOC, ZERO, DATA, COMPRESSED };

struct map {
	enum kind kind;
	uint64_t host;       /* DATA, or ZERO with a preallocated cluster */
	uint64_t entry;      /* the raw L2 entry */
	bool copied;         /* refcount exactly 1 (OFLAG_COPIED) */
};

static void indexes(const struct qcow2 *q, uint64_t guest, uint64_t *l1i, uint64_t *l2i)
{
	uint64_t idx = guest >> q->cluster_bits;
	*l1i = idx >> q->l2_bits;
	*l2i = idx & ((1ull << q->l2_bits) - 1);
}

static int get_map(struct qcow2 *q, uint64_t guest, struct map *m)
{
	uint64_t l1i, l2i;
	indexes(q, guest, &l1i, &l2i);
	memset(m, 0, sizeof *m);
	if (q->corrupt || l1i >= q->l1_size)
		return -EIO;
	uint64_t l2 = q->l1[l1i] & OFFSET_MASK;
	if (!l2)
		return 0;
	int r = check_meta(q, l2, QMETA_L2, "L2 table");
	if (r)
		return r;
	struct slot *s;
	r = cache_get(q, &q->l2c, l2, false, &s);
	if (r)
		return r;
	uint64_t e = be64_at(s->data, l2i * 8);
	m->entry = e;
	if (e & OFLAG_COMPRESSED) {
		m->kind = COMPRESSED;
		return 0;
	}
	m->host = e & OFFSET_MASK;
	m->copied = (e & OFLAG_COPIED) != 0;
	if (m->host && !aligned(q, m->host))
		return corrupt(q, "data for guest offset 0x%llx at 0x%llx, not cluster-aligned",
			       (unsigned long long)guest, (unsigned long long)m->host);
	if (m->host && (r = check_data(q, guest, m->host)))
		return r;
	if (q->version >= 3 && (e & OFLAG_ZERO))
		m->kind = ZERO;
	else
		m->kind = m->host ? DATA : UNALLOC;
	return 0;
}

/* The L2 table for l1i, allocating an empty one if there is none. */
static int ensure_l2(struct qcow2 *q, uint64_t l1i, uint64_t *l2)
{
	uint64_t e = q->l1[l1i];
	*l2 = e & OFFSET_MASK;
	if (*l2) {
		int r = check_meta(q, *l2, QMETA_L2, "L2 table");
		return r ? r : (e & OFLAG_COPIED) ? 0 : -EIO;   /* shared: snapshots */
	}
	int64_t n = alloc_cluster(q);
	if (n < 0)
		return (int)n;
	struct slot *s;
	int r = qmeta_add(&q->meta, (uint64_t)n >> q->cluster_bits, 1, QMETA_L2);
	if (!r)
		r = cache_get(q, &q->l2c, (uint64_t)n, true, &s);
	if (r)
		return r;
	q->l1[l1i] = (uint64_t)n | OFLAG_COPIED;
	if (q->l1_lo == q->l1_hi) {
		q->l1_lo = (uint32_t)l1i;
		q->l1_hi = (uint32_t)l1i + 1;
	} else {
		if (l1i < q->l1_lo)
			q->l1_lo = (uint32_t)l1i;
		if (l1i >= q->l1_hi)
			q->l1_hi = (uint32_t)l1i + 1;
	}
	*l2 = (uint64_t)n;
	return 0;
}

static int l2_set(struct qcow2 *q, uint64_t l2, uint64_t l2i, uint64_t entry)
{
	struct slot *s;
	int r = cache_get(q, &q->l2c, l2, false, &s);
	if (r)
		return r;
	put_be64(s->data, l2i * 8, entry);
	s->dirty = true;
	return 0;
}

/* ---- flush ------------------------------------------------------------- */

/* Refcount blocks, then the refcount table, then (if it moved) the header; durable. */
static int flush_refcounts(struct qcow2 *q)
{
	int r;
	for (unsigned i = 0; i < q->rbc.n; i++)
		if ((r = slot_writeback(q, &q->rbc, &q->rbc.s[i])))
			return r;
	if (q->rt_moved || q->rt_lo != q->rt_hi) {
		/* Blocks before the table entries that name them. */
		if ((r = q_sync(q)) ||
		    (r = q->rt_moved ? rt_write(q, 0, q->rt_entries) : rt_write(q, q->rt_lo, q->rt_hi)))
			return r;
		q->rt_lo = q->rt_hi = 0;
	}
	if ((r = q_sync(q)))
		return r;
	if (q->rt_moved) {
		uint8_t h[12];
		uint32_t n = htobe32((uint32_t)q->rt_clusters);
		put_be64(h, 0, q->rt_offset);
		memcpy(h + 8, &n, 4);
		if ((r = q_pwrite(q, h, sizeof h, HDR_RT_OFF)) || (r = q_sync(q)))
			return r;
		q->rt_moved = false;
	}
	return 0;
}

static int flush_all(struct qcow2 *q)
{
	int r = flush_refcounts(q);
	if (r)
		return r;
	for (unsigned i = 0; i < q->l2c.n; i++)
		if ((r = slot_writeback(q, &q->l2c, &q->l2c.s[i])))
			return r;
	if ((r = q_sync(q)))
		return r;
	if (q->l1_lo != q->l1_hi) {
		uint64_t buf[512];
		for (uint32_t i = q->l1_lo; i < q->l1_hi;) {
			uint32_t k = q->l1_hi - i < 512 ? q->l1_hi - i : 512;
			for (uint32_t j = 0; j < k; j++)
				buf[j] = htobe64(q->l1[i + j]);
			if ((r = q_pwrite(q, buf, (size_t)k * 8, q->l1_offset + (uint64_t)i * 8)))
				return r;
			i += k;
		}
		if ((r = q_sync(q)))
			return r;
		q->l1_lo = q->l1_hi = 0;
	}
	if (q->nfrees) {
		/* Nothing on disk names these clusters any more. */
		size_t n = q->nfrees;
		q->nfrees = 0;
		for (size_t i = 0; i < n; i++) {
			int e = refcount_update(q, q->frees[i], -1, 0);
			if (e && !r)
				r = e;
			if (q->frees[i] < q->free_hint)
				q->free_hint = q->frees[i];   /* maybe free now: alloc_cluster looks */
		}
		int e = flush_refcounts(q);
		if (!r)
			r = e;
	}
	return r;
}

/* ---- I/O --------------------------------------------------------------- */

/* Reads [guest, guest+len) of the backing file, zeroes past its end. */
static int backing_read(struct qcow2 *q, uint64_t guest, uint64_t len, const struct iovec *iov, int cnt)
{
	uint64_t bsize = q->backing ? q->backing->size : 0;
	uint64_t have = guest >= bsize ? 0 : bsize - guest < len ? bsize - guest : len;
	struct iovec part[SLICE_MAX];
	int n;
	if (have) {
		n = iov_slice(iov, cnt, 0, have, part, SLICE_MAX);
		if (n < 0)
			return -EINVAL;
		int r = q->backing->ops->readv(q->backing, guest, part, n);
		if (r)
			return r;
	}
	if (have < len) {
		n = iov_slice(iov, cnt, have, len - have, part, SLICE_MAX);
		if (n < 0)
			return -EINVAL;
		iov_zero(part, n);
	}
	return 0;
}

static int read_piece(struct qcow2 *q, uint64_t guest, uint64_t in, uint64_t len,
		      struct iovec *part, int n)
{
	struct map m;
	int r = get_map(q, guest, &m);
	if (r)
		return r;
	switch (m.kind) {
	case UNALLOC:
		return backing_read(q, guest, len, part, n);
	case ZERO:
		iov_zero(part, n);
		return 0;
	case DATA:
		return io_pxferv(q->fd, m.host + in, part, n, false);
	case COMPRESSED:
		if ((r = decompress(q, m.entry)))
			return r;
		buf_to_iov(q->zout + in, part, n);
		return 0;
	}
	return -EIO;
}

typedef int piece_fn(struct qcow2 *q, uint64_t guest, uint64_t in, uint64_t len,
		     struct iovec *part, int n);

/* Splits a request at cluster boundaries. */
static int for_each_piece(struct qcow2 *q, uint64_t off, const struct iovec *iov, int cnt,
			  piece_fn *fn)
{
	struct iovec part[SLICE_MAX];
	uint64_t total = iov_total(iov, cnt), done = 0;
	if (off > q->b.size || total > q->b.size - off)
		return -EINVAL;
	while (done < total) {
		uint64_t in = (off + done) & (q->cluster_size - 1);
		uint64_t len = q->cluster_size - in;
		if (len > total - done)
			len = total - done;
		int n = iov_slice(iov, cnt, done, len, part, SLICE_MAX);
		if (n < 0)
			return -EINVAL;
		int r = fn(q, off + done, in, len, part, n);
		if (r)
			return r;
		done += len;
	}
	return 0;
}

static int q_readv(struct block_backend *b, uint64_t off, const struct iovec *iov, int cnt)
{
	struct qcow2 *q = (struct qcow2 *)b;
	pthread_mutex_lock(&q->lock);
	int r = for_each_piece(q, off, iov, cnt, read_piece);
	pthread_mutex_unlock(&q->lock);
	return r;
}

static int write_piece(struct qcow2 *q, uint64_t guest, uint64_t in, uint64_t len,
		       struct iovec *part, int n)
{
	struct map m;
	uint64_t l1i, l2i, l2, host;
	int r = get_map(q, guest, &m);
	if (r)
		return r;
	if (m.kind == DATA) {
		if (!m.copied)
			return -EIO;   /* shared cluster: only with snapshots */
		q->unsynced = true;
		return io_pxferv(q->fd, m.host + in, part, n, true);
	}
	indexes(q, guest, &l1i, &l2i);
	if ((r = ensure_l2(q, l1i, &l2)))
		return r;
	bool fresh = !(m.kind == ZERO && m.host);
	if (!fresh) {
		if (!m.copied)
			return -EIO;
		host = m.host;   /* a preallocated zero cluster: reuse it */
	} else {
		int64_t c = alloc_cluster(q);
		if (c < 0)
			return (int)c;
		host = (uint64_t)c;
	}
	/* A fresh cluster reads as zeroes; anything else needs the rest filled. */
	bool fill = len < q->cluster_size &&
		    (!fresh || m.kind == COMPRESSED || (m.kind == UNALLOC && q->backing));
	if (!fill) {
		q->unsynced = true;
		r = io_pxferv(q->fd, host + in, part, n, true);
	} else {
		uint8_t *buf = lazy_buf(&q->bounce, q->cluster_size);
		uint64_t start = guest - in;
		if (!buf)
			return -ENOMEM;
		if (m.kind == COMPRESSED) {
			if ((r = decompress(q, m.entry)))
				return r;
			memcpy(buf, q->zout, q->cluster_size);
		} else if (m.kind == UNALLOC) {
			struct iovec v = { buf, q->cluster_size };
			if ((r = backing_read(q, start, q->cluster_size, &v, 1)))
				return r;
		} else {
			memset(buf, 0, q->cluster_size);
		}
		iov_to_buf(part, n, buf + in);
		r = q_pwrite(q, buf, q->cluster_size, host);
	}
	if (r || (r = l2_set(q, l2, l2i, host | OFLAG_COPIED)))
		return r;
	return m.kind == COMPRESSED ? defer_free_compressed(q, m.entry) : 0;
}

static int q_writev(struct block_backend *b, uint64_t off, const struct iovec *iov, int cnt)
{
	struct qcow2 *q = (struct qcow2 *)b;
	if (b->readonly)
		return -EROFS;
	pthread_mutex_lock(&q->lock);
	int r = for_each_piece(q, off, iov, cnt, write_piece);
	if (!r && q->nfrees >= MAX_FREES)
		r = flush_all(q);
	pthread_mutex_unlock(&q->lock);
	return r;
}

static int q_flush(struct block_backend *b)
{
	struct qcow2 *q = (struct qcow2 *)b;
	if (b->readonly)
		return 0;
	pthread_mutex_lock(&q->lock);
	int r = flush_all(q);
	pthread_mutex_unlock(&q->lock);
	return r;
}

static int punch(struct qcow2 *q, uint64_t off, uint64_t len)
{
	q->unsynced = true;
	if (fallocate(q->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0 &&
	    errno != EOPNOTSUPP)
		return -errno;
	return 0;   /* a filesystem without holes keeps the bytes: discard is a hint */
}

/* Zeroes-or-discard over a range, cluster by cluster (no data buffers). */
static int zero_range(struct qcow2 *q, uint64_t off, uint64_t len, bool discard, bool unmap)
{
	if (off > q->b.size || len > q->b.size - off)
		return -EINVAL;
	while (len) {
		uint64_t in = off & (q->cluster_size - 1);
		uint64_t n = q->cluster_size - in < len ? q->cluster_size - in : len;
		uint64_t l1i, l2i, l2;
		struct map m;
		int r = get_map(q, off, &m);
		if (r)
			return r;
		if (discard) {
			indexes(q, off, &l1i, &l2i);
			l2 = q->l1[l1i] & OFFSET_MASK;
			/* A whole cluster of ours is unmapped and freed, as QEMU does:
			 * unallocated without a backing file, a zero cluster (v3) over
			 * one, so it reads as zeroes either way.  Parts of clusters
			 * (and v2 images over a backing file) only lose their bytes. */
			bool whole = n == q->cluster_size && (!q->backing || q->version >= 3);
			bool host = m.host && m.copied && (m.kind == DATA || m.kind == ZERO);
			if (whole && (host || m.kind == COMPRESSED)) {
				r = l2_set(q, l2, l2i, q->backing ? OFLAG_ZERO : 0);
				if (!r && host)
					r = punch(q, m.host, n);
				if (!r)
					r = host ? defer_free(q, m.host >> q->cluster_bits)
						 : defer_free_compressed(q, m.entry);
			} else if (m.kind == DATA && m.copied) {
				r = punch(q, m.host + in, n);
			}
		} else if (m.kind == ZERO || (m.kind == UNALLOC && !q->backing)) {
			/* already reads as zeroes */
		} else if (n < q->cluster_size) {
			struct iovec v = { lazy_buf(&q->zeroes, q->cluster_size), n };
			r = v.iov_base ? write_piece(q, off, in, n, &v, 1) : -ENOMEM;
		} else {
			indexes(q, off, &l1i, &l2i);
			if (m.kind == DATA && !m.copied)
				return -EIO;
			/* Unmapping allowed: the host cluster is freed (and reused); else
			 * it stays preallocated under the zero flag. */
			bool release = m.kind == DATA && unmap && q->version >= 3;
			if (!(r = ensure_l2(q, l1i, &l2))) {
				uint64_t keep = m.kind == DATA && !release ? m.host | OFLAG_COPIED : 0;
				r = l2_set(q, l2, l2i, keep | OFLAG_ZERO);
			}
			if (!r && m.kind == DATA && unmap)
				r = punch(q, m.host, n);
			if (!r && release)
				r = defer_free(q, m.host >> q->cluster_bits);
			if (!r && m.kind == COMPRESSED)
				r = defer_free_compressed(q, m.entry);
		}
		if (r)
			return r;
		off += n;
		len -= n;
	}
	return q->nfrees >= MAX_FREES ? flush_all(q) : 0;
}

static int q_discard(struct block_backend *b, uint64_t off, uint64_t len)
{
	struct qcow2 *q = (struct qcow2 *)b;
	if (b->readonly)
		return -EROFS;
	pthread_mutex_lock(&q->lock);
	int r = zero_range(q, off, len, true, true);
	pthread_mutex_unlock(&q->lock);
	return r;
}

static int q_write_zeroes(struct block_backend *b, uint64_t off, uint64_t len, bool may_unmap)
{
	struct qcow2 *q = (struct qcow2 *)b;
	if (b->readonly)
		return -EROFS;
	pthread_mutex_lock(&q->lock);
	int r = zero_range(q, off, len, false, may_unmap);
	pthread_mutex_unlock(&q->lock);
	return r;
}

static void q_close(struct block_backend *b)
{
	struct qcow2 *q = (struct qcow2 *)b;
	if (!b->readonly && q->rt)
		flush_all(q);
	if (q->fd >= 0)
		close(q->fd);   /* drops the lock */
	block_backend_close(q->backing);
	cache_free(&q->l2c);
	cache_free(&q->rbc);
	free(q->l1);
	free(q->rt);
	free(q->frees);
	free(q->bounce);
	free(q->zeroes);
	free(q->zin);
	free(q->zout);
	qmeta_free(&q->meta);
	free(q->path);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

static int q_image_stat(struct block_backend *b, struct stat *st)
{
	return fstat(((struct qcow2 *)b)->fd, st) < 0 ? -errno : 0;
}

static const struct block_backend_ops qcow2_ops = {
	.readv = q_readv,
	.writev = q_writev,
	.flush = q_flush,
	.discard = q_discard,
	.write_zeroes = q_write_zeroes,
	.close = q_close,
	.image_stat = q_image_stat,
};

/* ---- open -------------------------------------------------------------- */

bool block_qcow2_probe(const void *head, size_t len)
{
	return len >= 4 && be32_at(head, 0) == QCOW_MAGIC;
}

/* The files already open in this chain (a loop guard). */
struct chain {
	unsigned depth;
	dev_t dev[MAX_CHAIN];
	ino_t ino[MAX_CHAIN];
	const char *backing_override;
	char *confine_dir;           /* realpath of the top image's directory, or NULL */
	/* The top image is this open file (block_qcow2_open_fd), taken by the
	 * first open; such an image may have no backing file. */
	bool have_top_fd;
	int top_fd;
};

/*
 * A name for a one-line message: long ones (a backing name may be 1023
 * bytes, a path 4095) keep their start and end, so the reason after them
 * still fits in struct err.  buf holds at least ELIDE_BUF bytes.
 */
#define ELIDE_BUF 128
static const char *elide(const char *s, char *buf)
{
	size_t n = strlen(s);
	if (n < ELIDE_BUF)
		return s;
	snprintf(buf, ELIDE_BUF, "%.40s...%s", s, s + n - 80);
	return buf;
}

static int chain_check(struct chain *c, const struct stat *st, const char *path, bool push,
		       struct err *err)
{
	char eb[ELIDE_BUF];
	for (unsigned i = 0; i < c->depth; i++)
		if (c->dev[i] == st->st_dev && c->ino[i] == st->st_ino)
			return err_set(err, -ELOOP, "%s: backing file loop (already in the chain)",
				       elide(path, eb));
	if (c->depth == MAX_CHAIN)
		return err_set(err, -ELOOP, "%s: backing chain longer than %d images (counting the "
			       "top image and the base: at most %d overlays on a base)", elide(path, eb),
			       MAX_CHAIN, MAX_CHAIN - 1);
	if (push) {
		c->dev[c->depth] = st->st_dev;
		c->ino[c->depth] = st->st_ino;
		c->depth++;
	}
	return 0;
}

static int qcow2_open_in(const char *path, bool readonly, struct chain *ch,
			 struct block_backend **out, struct err *err);

/* What an image's header says beyond the fixed fields. */
struct extras {
	char backing[MAX_BACKING_NAME + 1];
	char format[16];
	bool has_backing, has_format;
	const uint8_t *features;     /* the feature name table, in the header buffer */
	uint32_t features_len;
};

static const char *feature_name(const struct extras *x, unsigned bit, char *buf, size_t len)
{
	static const char *const known[] = { "dirty bit", "corrupt bit", "external data file",
					     "compression type (zstd)", "extended L2 entries" };
	if (bit < sizeof known / sizeof known[0])
		return known[bit];
	for (uint32_t i = 0; x->features && i + 48 <= x->features_len; i += 48)
		if (x->features[i] == 0 && x->features[i + 1] == bit) {
			snprintf(buf, len, "%.46s", (const char *)x->features + i + 2);
			return buf;
		}
	snprintf(buf, len, "unknown incompatible feature bit %u", bit);
	return buf;
}

/* Header extensions from `start` up to `end` (3.2 "Header extensions"). */
static int parse_extensions(const uint8_t *h, size_t start, size_t end, struct extras *x,
			    const char *path, struct err *err)
{
	size_t pos = start;
	while (pos + 8 <= end) {
		uint32_t type = be32_at(h, pos), len = be32_at(h, pos + 4);
		if (type == EXT_END)
			return 0;
		if (len > end - pos - 8)
			return err_set(err, -EINVAL, "%s: qcow2 header extension 0x%08x overruns the header",
				       path, type);
		const uint8_t *data = h + pos + 8;
		if (type == EXT_BACKING_FMT) {
			if (x->has_format)
				return err_set(err, -EINVAL, "%s: two qcow2 backing format extensions", path);
			if (len >= sizeof x->format || memchr(data, 0, len))
				return err_set(err, -EINVAL, "%s: bad qcow2 backing format name", path);
			memcpy(x->format, data, len);
			x->format[len] = 0;
			x->has_format = true;
		} else if (type == EXT_FEATURES) {
			x->features = data;
			x->features_len = len;
		}
		pos += 8 + (((size_t)len + 7) & ~(size_t)7);
	}
	return 0;
}

/* "path: backing file: inner", keeping the end of inner (the cause) if long. */
static int wrap_err(struct err *err, int r, const char *path, const struct err *inner)
{
	char ep[ELIDE_BUF];
	path = elide(path, ep);
	size_t room = sizeof err->msg - 1, plen = strlen(path) + strlen(": backing file: ");
	const char *tail = inner->msg;
	size_t tlen = strlen(tail);
	if (plen + tlen > room && room > plen + 4) {
		tail += tlen - (room - plen - 3);
		return err_set(err, r, "%s: backing file: ...%s", path, tail);
	}
	return err_set(err, r, "%s: backing file: %s", path, tail);
}

static int open_backing(struct qcow2 *q, const char *path, const struct extras *x,
			struct chain *ch, struct err *err)
{
	struct err inner = { 0 };
	const char *name = x->backing, *fmt = x->format;
	char *full = NULL, eb[ELIDE_BUF], ep[ELIDE_BUF];
	int r;
	if (!x->has_format)
		return err_set(err, -ENOTSUP,
			       "%s: qcow2 backing file %s has no recorded format "
			       "(set it: qemu-img rebase -u -b NAME -F raw|qcow2 IMAGE)",
			       elide(path, ep), elide(name, eb));
	if (strcmp(fmt, "raw") && strcmp(fmt, "qcow2"))
		return err_set(err, -ENOTSUP, "%s: backing file %s: format '%s' is not supported",
			       elide(path, ep), elide(name, eb), fmt);
	if (ch->backing_override) {
		name = ch->backing_override;
		fmt = "raw";
	}
	/* Relative names are relative to the overlay's directory (as QEMU does). */
	const char *slash = strrchr(path, '/');
	if (name[0] != '/' && slash) {
		size_t dir = (size_t)(slash - path) + 1;
		full = malloc(dir + strlen(name) + 1);
		if (!full)
			return err_set(err, -ENOMEM, "%s: out of memory", path);
		memcpy(full, path, dir);
		strcpy(full + dir, name);
		name = full;
	}
	if (ch->confine_dir && !ch->backing_override) {
		/* Resolved, so neither "../" nor a symlink leads out; the resolved
		 * name is what gets opened. */
		char *real = realpath(name, NULL);
		size_t dl = strlen(ch->confine_dir);
		if (!real) {
			r = -errno;
			err_set(err, r, "%s: backing file %s: %s", elide(path, ep), elide(name, eb),
				strerror(-r));
			free(full);
			return r;
		}
		if (strncmp(real, ch->confine_dir, dl) || real[dl] != '/') {
			err_set(err, -EPERM, "%s: backing file %s is outside the image's directory %s "
				"(backing=confined)", elide(path, ep), elide(name, eb), ch->confine_dir);
			free(real);
			free(full);
			return -EPERM;
		}
		free(full);
		name = full = real;
	}
	struct stat st;
	if (stat(name, &st) < 0) {
		r = -errno;
		err_set(err, r, "%s: backing file %s: %s", elide(path, ep), elide(name, eb), strerror(-r));
	} else if (!strcmp(fmt, "raw")) {
		if (!(r = chain_check(ch, &st, name, false, &inner)))
			r = block_raw_open_backing(name, &q->backing, &inner);
		if (r)
			wrap_err(err, r, path, &inner);
	} else {
		r = qcow2_open_in(name, true, ch, &q->backing, &inner);
		if (r)
			wrap_err(err, r, path, &inner);
	}
	free(full);
	return r;
}

static int qcow2_parse(struct qcow2 *q, const uint8_t *h, size_t hlen_read, uint64_t file_size,
		       bool readonly, struct extras *x, const char *path, struct err *err)
{
	char nb[64];
	q->version = be32_at(h, 4);
	if (be32_at(h, 0) != QCOW_MAGIC || (q->version != 2 && q->version != 3))
		return err_set(err, -EINVAL, "%s: not a qcow2 image of version 2 or 3", path);
	uint64_t backing_off = be64_at(h, 8);
	uint32_t backing_len = be32_at(h, 16);
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
	q->rt_clusters = be32_at(h, 56);
	uint32_t nb_snapshots = be32_at(h, 60);
	uint64_t incompat = 0, autoclear = 0;
	size_t hdr_len = 72;
	q->refcount_order = 4;
	if (q->version >= 3) {
		incompat = be64_at(h, 72);
		autoclear = be64_at(h, HDR_AUTOCLEAR_OFF);
		q->refcount_order = be32_at(h, 96);
		hdr_len = be32_at(h, 100);
		if (q->refcount_order > 6 || hdr_len < 104 || hdr_len % 8 || hdr_len > q->cluster_size)
			return err_set(err, -EINVAL, "%s: bad qcow2 v3 header", path);
	}
	if (hdr_len > hlen_read)
		return err_set(err, -EINVAL, "%s: truncated qcow2 header", path);
	q->rb_shift = q->cluster_bits + 3 - q->refcount_order;
	/* The backing file name: in the first cluster, after the extensions. */
	if (backing_off) {
		if (backing_len == 0 || backing_len > MAX_BACKING_NAME || backing_off < hdr_len ||
		    backing_off > hlen_read || backing_len > hlen_read - backing_off)
			return err_set(err, -EINVAL,
				       "%s: qcow2 backing file name out of bounds (offset %llu, length %u)",
				       path, (unsigned long long)backing_off, backing_len);
		if (memchr(h + backing_off, 0, backing_len))
			return err_set(err, -EINVAL, "%s: qcow2 backing file name contains a NUL byte", path);
		memcpy(x->backing, h + backing_off, backing_len);
		x->backing[backing_len] = 0;
		x->has_backing = true;
	}
	int r = parse_extensions(h, hdr_len, backing_off ? backing_off : hlen_read, x, path, err);
	if (r)
		return r;
	uint64_t bad = incompat & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT);
	if (bad)
		return err_set(err, -ENOTSUP, "%s: qcow2 feature not supported: %s", path,
			       feature_name(x, (unsigned)__builtin_ctzll(bad), nb, sizeof nb));
	if (hdr_len > 104 && h[104])
		return err_set(err, -ENOTSUP, "%s: qcow2 compression type %u not supported", path, h[104]);
	uint64_t l2_span = 1ull << (q->l2_bits + q->cluster_bits);
	if (size > (1ull << 55) || (uint64_t)q->l1_size * 8 > MAX_L1_BYTES ||
	    q->l1_size < (size + l2_span - 1) / l2_span || !aligned(q, q->l1_offset) ||
	    q->l1_offset > file_size || (uint64_t)q->l1_size * 8 > file_size - q->l1_offset ||
	    size < 512)
		return err_set(err, -EINVAL, "%s: inconsistent qcow2 header", path);
	if (!readonly) {
		const char *why = q->version < 3 ? "version 2 images (qemu-img amend -o compat=1.1)" :
				  nb_snapshots ? "images with internal snapshots" :
				  (incompat & INCOMPAT_CORRUPT) ? "images marked corrupt" :
				  (incompat & INCOMPAT_DIRTY) ? "dirty images (run qemu-img check -r all)" :
				  (autoclear & AUTOCLEAR_BITMAPS) ?
					"images with persistent bitmaps (qemu-img bitmap --remove)" :
				  NULL;
		if (why)
			return err_set(err, -ENOTSUP, "%s: cannot write qcow2 %s; add ,ro", path, why);
		if (!aligned(q, q->rt_offset) || q->rt_clusters == 0 ||
		    q->rt_clusters > (MAX_RT_BYTES >> q->cluster_bits) ||
		    q->rt_offset > file_size || (q->rt_clusters << q->cluster_bits) > file_size - q->rt_offset)
			return err_set(err, -EINVAL, "%s: bad qcow2 refcount table", path);
		q->rt_entries = (q->rt_clusters << q->cluster_bits) / 8;
	}
	q->b.size = size & ~511ull;
	q->next_free = (file_size + q->cluster_size - 1) & ~(q->cluster_size - 1);
	return 0;
}

static int load_table(int fd, uint64_t off, uint64_t entries, uint64_t **out)
{
	uint64_t *t = calloc(entries ? entries : 1, 8);
	*out = t;
	if (!t)
		return -ENOMEM;
	int r = pread_all(fd, t, entries * 8, off);
	for (uint64_t i = 0; i < entries; i++)
		t[i] = be64toh(t[i]);
	return r;
}

/*
 * The metadata map for the overlap checks: header cluster, L1 table,
 * refcount table, and every L2 table and refcount block they name.  A
 * read-only open does not keep the refcount table, so it is read here only
 * for its blocks, and only if the header's fields are sane (an image that
 * is never written cannot hurt its refcounts).
 */
static int map_metadata(struct qcow2 *q, int fd, uint64_t file_size)
{
	unsigned cb = q->cluster_bits;
	uint64_t l1_bytes = (uint64_t)q->l1_size * 8;
	int r = qmeta_add(&q->meta, 0, 1, QMETA_HEADER);
	if (!r && l1_bytes)
		r = qmeta_add(&q->meta, q->l1_offset >> cb,
			      ((q->l1_offset + l1_bytes - 1) >> cb) - (q->l1_offset >> cb) + 1, QMETA_L1);
	for (uint32_t i = 0; i < q->l1_size && !r; i++) {
		uint64_t l2 = q->l1[i] & OFFSET_MASK;
		if (l2 && aligned(q, l2))
			r = qmeta_add(&q->meta, l2 >> cb, 1, QMETA_L2);
	}
	uint64_t *rt = q->rt, entries = q->rt_entries;
	bool sane = aligned(q, q->rt_offset) && q->rt_clusters &&
		    q->rt_clusters <= (MAX_RT_BYTES >> cb) && q->rt_offset < file_size &&
		    (q->rt_clusters << cb) <= file_size - q->rt_offset;
	if (!r && sane) {
		r = qmeta_add(&q->meta, q->rt_offset >> cb, q->rt_clusters, QMETA_RT);
		if (!r && !rt) {
			entries = (q->rt_clusters << cb) / 8;
			r = load_table(fd, q->rt_offset, entries, &rt);
		}
	}
	for (uint64_t i = 0; rt && i < entries && !r; i++) {
		uint64_t rb = rt[i] & OFFSET_MASK;
		if (rb && aligned(q, rb))
			r = qmeta_add(&q->meta, rb >> cb, 1, QMETA_RB);
	}
	if (rt != q->rt)
		free(rt);
	qmeta_seal(&q->meta);
	return r;
}

static int qcow2_open_in(const char *path, bool readonly, struct chain *ch,
			 struct block_backend **out, struct err *err)
{
	*out = NULL;
	bool passed = ch->have_top_fd;
	int fd = passed ? ch->top_fd : block_open_file(path, readonly, false, err);
	ch->have_top_fd = false;
	if (fd < 0)
		return fd;
	struct qcow2 *q = calloc(1, sizeof *q);
	struct extras *x = calloc(1, sizeof *x);
	uint8_t *h = NULL;
	struct stat st;
	int r;
	if (!q || !x) {
		close(fd);
		free(q);
		free(x);
		return err_set(err, -ENOMEM, "%s: out of memory", path);
	}
	q->fd = fd;
	q->path = strdup(path);
	pthread_mutex_init(&q->lock, NULL);
	q->b.ops = &qcow2_ops;
	q->b.readonly = true;   /* until fully open: close must not flush */
	if (fstat(fd, &st) < 0) {
		r = err_set(err, -errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (passed && !S_ISREG(st.st_mode)) {
		r = err_set(err, -EINVAL, "%s: not a regular file", path);
		goto fail;
	}
	if (passed && !readonly && (fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDWR) {
		r = err_set(err, -EBADF, "%s: passed open for reading only", path);
		goto fail;
	}
	if ((r = chain_check(ch, &st, path, true, err)))
		goto fail;
	if ((r = block_lock_fd(fd, readonly))) {
		err_set(err, r, "%s: in use by another process (locked)", path);
		goto fail;
	}
	/* The fixed header first, then the whole first cluster for the rest. */
	uint8_t fixed[72];
	if (pread_all(fd, fixed, sizeof fixed, 0) < 0) {
		r = err_set(err, -EINVAL, "%s: too short for a qcow2 header", path);
		goto fail;
	}
	unsigned cb = be32_at(fixed, 20);
	if (be32_at(fixed, 0) != QCOW_MAGIC || cb < 9 || cb > 21) {
		r = err_set(err, -EINVAL, "%s: not a qcow2 image (bad magic or cluster size)", path);
		goto fail;
	}
	size_t hlen = (uint64_t)st.st_size < (1ull << cb) ? (size_t)st.st_size : (size_t)1 << cb;
	if (!(h = calloc(1, (size_t)1 << cb))) {
		r = err_set(err, -ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	if (pread_all(fd, h, hlen, 0) < 0) {
		r = err_set(err, -EIO, "%s: cannot read the qcow2 header", path);
		goto fail;
	}
	if ((r = qcow2_parse(q, h, hlen, (uint64_t)st.st_size, readonly, x, path, err)))
		goto fail;
	if (x->has_backing && passed) {
		r = err_set(err, -ENOTSUP, "%s: has a backing file, which a passed image may not "
			    "have (flatten it: qemu-img convert)", path);
		goto fail;
	}
	if (x->has_backing && (r = open_backing(q, path, x, ch, err)))
		goto fail;
	if ((r = load_table(fd, q->l1_offset, q->l1_size, &q->l1))) {
		err_set(err, r, "%s: cannot read the qcow2 L1 table", path);
		goto fail;
	}
	if (cache_init(q, &q->l2c) || cache_init(q, &q->rbc)) {
		r = err_set(err, -ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	if (!readonly) {
		if ((r = load_table(fd, q->rt_offset, q->rt_entries, &q->rt))) {
			err_set(err, r, "%s: cannot read the qcow2 refcount table", path);
			goto fail;
		}
		/* Unknown auto-clear features are not maintained here: clear them
		 * before writing, as the specification demands. */
		if (q->version >= 3 && be64_at(h, HDR_AUTOCLEAR_OFF)) {
			uint8_t z[8] = {0};
			if ((r = pwrite_all(fd, z, 8, HDR_AUTOCLEAR_OFF)) || (r = sync_fd(fd))) {
				err_set(err, r, "%s: cannot update the qcow2 header: %s", path, strerror(-r));
				goto fail;
			}
		}
	}
	if ((r = map_metadata(q, fd, (uint64_t)st.st_size))) {
		err_set(err, r, "%s: %s", path, r == -ENOMEM ? "out of memory" :
			"cannot read the qcow2 refcount table");
		goto fail;
	}
	q->b.readonly = readonly;
	free(h);
	free(x);
	*out = &q->b;
	return 0;
fail:
	free(h);
	free(x);
	q->b.readonly = true;
	free(q->rt);
	q->rt = NULL;
	q_close(&q->b);
	return r;
}

int block_qcow2_open_opts(const char *path, const struct block_qcow2_opts *o,
			  struct block_backend **out, struct err *err)
{
	struct chain ch = { .backing_override = o->backing_override };
	if (o->confine_backing) {
		char *top = realpath(path, NULL), *slash = top ? strrchr(top, '/') : NULL;
		if (!top)
			return err_set(err, -errno, "%s: %s", path, strerror(errno));
		*slash = 0;   /* realpath is absolute: there is a '/'; "/" becomes "" */
		ch.confine_dir = top;
	}
	int r = qcow2_open_in(path, o->readonly, &ch, out, err);
	free(ch.confine_dir);
	return r;
}

int block_qcow2_open_fd(int fd, const char *name, bool readonly, struct block_backend **out,
			struct err *err)
{
	struct chain ch = { .have_top_fd = true, .top_fd = fd };
	return qcow2_open_in(name, readonly, &ch, out, err);
}

int block_qcow2_open(const char *path, bool readonly, struct block_backend **out,
		     struct err *err)
{
	struct block_qcow2_opts o = { .readonly = readonly };
	return block_qcow2_open_opts(path, &o, out, err);
}
