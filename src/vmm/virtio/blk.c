/*
 * virtio-blk (virtio 1.2, 5.2): one request queue over a struct
 * block_backend.
 *
 * A request is a chain: a 16-byte header {le32 type; le32 reserved; le64
 * sector} at the start of the device-readable part, then data (readable for
 * writes, writable for reads), and the status byte as the last byte of the
 * device-writable part.  Nothing may be assumed about how the driver split
 * that into descriptors (VERSION_1 implies any layout), so the header and
 * data are gathered with the vq_chain_* helpers.
 *
 * Driver errors inside a well-formed chain (bad sector, odd length, unknown
 * type) are answered with IOERR/UNSUPP; only a chain with no room for the
 * status byte breaks the device (NEEDS_RESET), since it cannot be answered.
 * A read-only disk refuses writes, discards and write-zeroes with IOERR and
 * writes nothing (5.2.6.2).  The used length counts the data and status
 * bytes written.
 */
#include "vmm/virtio/blk.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/virtio/block_dirty.h"
#include "vmm/virtio/rate_limiter.h"
#include "vmm/virtio/virtio.h"

#define SECTOR 512u
#define QUEUE_SIZE 256u
#define SEG_MAX (QUEUE_SIZE - 2)        /* data buffers; + header + status fit a ring */
#define SIZE_MAX_BYTES (512u << 10)     /* 254 * 512 KiB stays under VQ_MAX_CHAIN_BYTES */
#define MAX_DISCARD_SECTORS 0x3fffffu
#define MAX_DISCARD_SEG 32u
#define DISCARD_ALIGN 8u                /* 4 KiB: the usual hole granularity */
#define CONFIG_SIZE 60u
/* Reported as the optimal I/O size (TOPOLOGY, 5.2.4): a host file reads and
 * writes best in large pieces, and Linux sizes its readahead from this
 * (twice it), so buffered sequential reads become a few large requests, and
 * so a few kicks and interrupts, instead of many 128 KiB ones. */
#define OPT_IO_BYTES (512u << 10)

struct vblk {
	struct virtio_device vdev;
	struct block_backend *be;
	char id[VIRTIO_BLK_ID_BYTES];
	struct vq_chain chain;
	struct iovec iov[VQ_MAX_SEGS];
	struct rate_limiter rl;         /* under vdev.lock */
	struct block_dirty *dirty;      /* storage migration: written chunks; under vdev.lock */
};

static struct vblk *to_blk(struct virtio_device *d) { return (struct vblk *)d; }

static void put16(uint8_t *p, uint16_t v) { v = htole16(v); memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { v = htole64(v); memcpy(p, &v, 8); }

static void blk_config_read(struct virtio_device *d, uint32_t off, void *buf, unsigned len)
{
	struct vblk *b = to_blk(d);
	uint8_t c[CONFIG_SIZE] = {0};
	put64(c + 0, b->be->size / SECTOR);          /* capacity */
	put32(c + 8, SIZE_MAX_BYTES);                /* size_max */
	put32(c + 12, SEG_MAX);                      /* seg_max */
	put32(c + 20, SECTOR);                       /* blk_size */
	c[24] = 3;                                   /* physical_block_exp: 4 KiB pages */
	put16(c + 26, 8);                            /* min_io_size, in blk_size units */
	put32(c + 28, OPT_IO_BYTES / SECTOR);        /* opt_io_size */
	put16(c + 34, 1);                            /* num_queues */
	if (d->features & VIRTIO_BLK_F_DISCARD) {
		put32(c + 36, MAX_DISCARD_SECTORS);
		put32(c + 40, MAX_DISCARD_SEG);
		put32(c + 44, DISCARD_ALIGN);
	}
	if (d->features & VIRTIO_BLK_F_WRITE_ZEROES) {
		put32(c + 48, MAX_DISCARD_SECTORS);
		put32(c + 52, MAX_DISCARD_SEG);
		c[56] = 1;                           /* write_zeroes_may_unmap */
	}
	memcpy(buf, c + off, len);
}

/* Does [sector, sector + bytes/512) lie on the disk? (overflow-safe) */
static bool in_range(const struct vblk *b, uint64_t sector, uint64_t bytes)
{
	uint64_t cap = b->be->size / SECTOR;
	return sector <= cap && bytes / SECTOR <= cap - sector;
}

static uint8_t do_rw(struct vblk *b, const struct vq_chain *c, bool write, uint64_t sector,
		     uint32_t *written)
{
	/* Reads: data is the writable part minus the status byte.
	 * Writes: data is the readable part after the header. */
	uint64_t len = write ? c->rlen - VIRTIO_BLK_HDR_BYTES : c->wlen - 1;
	if (len % SECTOR || !in_range(b, sector, len))
		return VIRTIO_BLK_S_IOERR;
	if (write && b->be->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (len == 0)
		return VIRTIO_BLK_S_OK;
	int n = vq_chain_iov(c, !write, write ? VIRTIO_BLK_HDR_BYTES : 0, len, b->iov, VQ_MAX_SEGS);
	if (n < 0)
		return VIRTIO_BLK_S_IOERR;
	int r;
	if (write) {
		r = b->be->ops->writev(b->be, sector * SECTOR, b->iov, n);
		/* Even a failed write may have changed part of the range. */
		if (b->dirty)
			block_dirty_mark(b->dirty, sector * SECTOR, len);
	} else {
		r = b->be->ops->readv(b->be, sector * SECTOR, b->iov, n);
		/* Even a failed read may have filled part of the buffers. */
		vq_chain_note_written(c, 0, len);
		*written += (uint32_t)len;
	}
	return r < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES: an array of 16-byte segments after the header. */
static uint8_t do_ranges(struct vblk *b, const struct vq_chain *c, uint32_t type)
{
	bool zeroes = type == VIRTIO_BLK_T_WRITE_ZEROES;
	uint64_t feat = zeroes ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD;
	if (!(b->vdev.features & feat))
		return VIRTIO_BLK_S_UNSUPP;
	if (b->be->readonly)
		return VIRTIO_BLK_S_IOERR;
	uint64_t bytes = c->rlen - VIRTIO_BLK_HDR_BYTES;
	uint64_t nseg = bytes / 16;
	if (bytes % 16 || nseg == 0 || nseg > MAX_DISCARD_SEG)
		return VIRTIO_BLK_S_IOERR;
	struct { uint64_t sector; uint32_t num, flags; } seg[MAX_DISCARD_SEG];
	for (uint64_t i = 0; i < nseg; i++) {
		uint8_t raw[16];
		vq_chain_read(c, VIRTIO_BLK_HDR_BYTES + 16 * i, raw, 16);
		memcpy(&seg[i].sector, raw, 8);
		memcpy(&seg[i].num, raw + 8, 4);
		memcpy(&seg[i].flags, raw + 12, 4);
		seg[i].sector = le64toh(seg[i].sector);
		seg[i].num = le32toh(seg[i].num);
		seg[i].flags = le32toh(seg[i].flags);
		/* 5.2.6.2: unknown flags, or unmap on a discard, are UNSUPP. */
		if (seg[i].flags & ~VIRTIO_BLK_WZ_F_UNMAP || (!zeroes && seg[i].flags))
			return VIRTIO_BLK_S_UNSUPP;
		if (seg[i].num > MAX_DISCARD_SECTORS ||
		    !in_range(b, seg[i].sector, (uint64_t)seg[i].num * SECTOR))
			return VIRTIO_BLK_S_IOERR;
	}
	for (uint64_t i = 0; i < nseg; i++) {
		uint64_t off = seg[i].sector * SECTOR, len = (uint64_t)seg[i].num * SECTOR;
		if (!len)
			continue;
		int r = zeroes ? b->be->ops->write_zeroes(b->be, off, len,
							  seg[i].flags & VIRTIO_BLK_WZ_F_UNMAP)
			       : b->be->ops->discard(b->be, off, len);
		if (b->dirty)
			block_dirty_mark(b->dirty, off, len);
		if (r < 0)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* Handles one chain; returns the used length, or -1 if the device broke. */
int virtio_blk_handle(struct virtio_device *d, const struct vq_chain *c)
{
	struct vblk *b = to_blk(d);
	if (c->wlen == 0) {
		virtio_device_fail(d, "queue 0: request at head %u has no status byte", c->head);
		return -1;
	}
	uint32_t written = 0;
	uint8_t status;
	uint8_t hdr[VIRTIO_BLK_HDR_BYTES];
	if (c->rlen < VIRTIO_BLK_HDR_BYTES) {
		status = VIRTIO_BLK_S_IOERR;
	} else {
		vq_chain_read(c, 0, hdr, sizeof hdr);
		uint32_t type;
		uint64_t sector;
		memcpy(&type, hdr, 4);
		memcpy(&sector, hdr + 8, 8);
		type = le32toh(type);
		sector = le64toh(sector);
		switch (type) {
		case VIRTIO_BLK_T_IN:
		case VIRTIO_BLK_T_OUT:
			status = do_rw(b, c, type == VIRTIO_BLK_T_OUT, sector, &written);
			break;
		case VIRTIO_BLK_T_FLUSH:
			status = b->be->ops->flush(b->be) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
			break;
		case VIRTIO_BLK_T_GET_ID: {
			uint64_t n = c->wlen - 1 < VIRTIO_BLK_ID_BYTES ? c->wlen - 1 : VIRTIO_BLK_ID_BYTES;
			written += (uint32_t)vq_chain_write(c, 0, b->id, n);
			status = VIRTIO_BLK_S_OK;
			break;
		}
		case VIRTIO_BLK_T_DISCARD:
		case VIRTIO_BLK_T_WRITE_ZEROES:
			status = do_ranges(b, c, type);
			break;
		default:
			status = VIRTIO_BLK_S_UNSUPP;
			break;
		}
	}
	vq_chain_write(c, c->wlen - 1, &status, 1);
	return (int)(written + 1);
}

static void blk_notify(struct virtio_device *d, unsigned q)
{
	struct vblk *b = to_blk(d);
	struct virtq *vq = &d->vq[q];
	/* A bounded batch, so a busy guest cannot keep the device lock forever. */
	for (unsigned done = 0;; done++) {
		if (done == QUEUE_SIZE || rate_limiter_hold(&b->rl)) {
			virtio_device_requeue(d, q);
			break;
		}
		if (vq_pop(vq, &b->chain) != 1)
			break;
		int used = virtio_blk_handle(d, &b->chain);
		if (used < 0)
			return;
		/* Data bytes: the chain less the 16-byte header and the status byte. */
		rate_limiter_charge(&b->rl, b->chain.rlen + b->chain.wlen - VIRTIO_BLK_HDR_BYTES - 1, 1);
		vq_push(vq, b->chain.head, (uint32_t)used);
	}
	virtio_device_signal(d, q);
}

static void blk_destroy(struct virtio_device *d)
{
	struct vblk *b = to_blk(d);
	block_backend_close(b->be);
	virtio_device_fini(d);
	free(b);
}

static const struct virtio_device_ops blk_ops = {
	.name = "virtio-blk",
	.own_thread = true,
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.queue_max = QUEUE_SIZE,
	.config_size = CONFIG_SIZE,
	.config_read = blk_config_read,
	.notify = blk_notify,
	.destroy = blk_destroy,
};

static void set_serial(struct vblk *b, const char *serial)
{
	memset(b->id, 0, sizeof b->id);
	if (serial)   /* NUL-padded, unterminated when 20 bytes long */
		memcpy(b->id, serial, strnlen(serial, sizeof b->id));
}

int virtio_blk_create(struct block_backend *be, const char *serial,
		      struct virtio_device **out, struct err *err)
{
	*out = NULL;
	struct vblk *b = calloc(1, sizeof *b);
	if (!b) {
		block_backend_close(be);
		return err_set(err, -ENOMEM, "virtio-blk: out of memory");
	}
	uint64_t f = VIRTIO_BLK_F_SIZE_MAX | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE |
		     VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_TOPOLOGY;
	if (be->readonly)
		f |= VIRTIO_BLK_F_RO;
	else {
		if (be->ops->discard)
			f |= VIRTIO_BLK_F_DISCARD;
		if (be->ops->write_zeroes)
			f |= VIRTIO_BLK_F_WRITE_ZEROES;
	}
	virtio_device_init(&b->vdev, &blk_ops, f);
	b->be = be;
	set_serial(b, serial);
	*out = &b->vdev;
	return 0;
}

int virtio_blk_insert(struct virtio_device *d, struct block_backend *be, const char *serial,
		      struct err *err)
{
	struct vblk *b = to_blk(d);
	if (be->readonly || !be->ops->discard || !be->ops->write_zeroes)
		return err_set(err, -EINVAL, "%s: a hot-plugged disk must be writable, with discard "
			       "and write-zeroes (what the slot offered at boot)", d->label);
	pthread_mutex_lock(&d->lock);
	if (!block_backend_is_empty(b->be)) {
		pthread_mutex_unlock(&d->lock);
		return err_set(err, -EBUSY, "%s: holds a disk already", d->label);
	}
	struct block_backend *old = b->be;
	be->log = d->log;
	b->be = be;
	set_serial(b, serial);
	virtio_device_config_changed(d);
	pthread_mutex_unlock(&d->lock);
	block_backend_close(old);
	return 0;
}

int virtio_blk_eject(struct virtio_device *d, struct err *err)
{
	struct vblk *b = to_blk(d);
	struct block_backend *empty;
	int rc = block_empty_open(&empty, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&d->lock);
	struct block_backend *old = b->be;
	if (block_backend_is_empty(old)) {
		pthread_mutex_unlock(&d->lock);
		block_backend_close(empty);
		return err_set(err, -ENOENT, "%s: holds no disk", d->label);
	}
	/* Between two requests (the lock): what the guest wrote is on the file
	 * before the backend goes. */
	if ((rc = old->ops->flush(old)) < 0) {   /* kept in: nothing is lost */
		pthread_mutex_unlock(&d->lock);
		block_backend_close(empty);
		return err_set(err, rc, "%s: flushing the disk before ejecting it: %s", d->label,
			       strerror(-rc));
	}
	b->be = empty;
	set_serial(b, NULL);
	virtio_device_config_changed(d);
	pthread_mutex_unlock(&d->lock);
	block_backend_close(old);
	return 0;
}

/* be serves what the device offered at boot in place of the old backend. */
static bool fits(const struct virtio_device *d, const struct block_backend *old,
		 const struct block_backend *be)
{
	return be->size == old->size && be->readonly == old->readonly &&
	       (!(d->features & VIRTIO_BLK_F_DISCARD) || be->ops->discard) &&
	       (!(d->features & VIRTIO_BLK_F_WRITE_ZEROES) || be->ops->write_zeroes);
}

int virtio_blk_reopen(struct virtio_device *d, virtio_blk_open_fn *open_be, void *ctx,
		      struct err *err)
{
	struct vblk *b = to_blk(d);
	struct block_backend *empty;   /* made first: the last resort cannot fail */
	int rc = block_empty_open(&empty, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&d->lock);
	struct block_backend *old = b->be, *be = NULL, shape = *old;
	if ((rc = old->ops->flush(old)) < 0) {   /* nothing changed */
		pthread_mutex_unlock(&d->lock);
		block_backend_close(empty);
		return err_set(err, rc, "%s: flushing the disk: %s", d->label, strerror(-rc));
	}
	block_backend_close(old);   /* its file lock goes with it: the new one may need it */
	if ((rc = open_be(ctx, false, &be, err)) == 0 && !fits(d, &shape, be)) {
		rc = err_set(err, -EINVAL, "%s: the new image does not serve what the disk offered "
			     "(%llu bytes, %s)", d->label, (unsigned long long)shape.size,
			     shape.readonly ? "read-only" : "writable");
		block_backend_close(be);
	}
	if (rc) {
		struct err again = { 0 };
		be = NULL;
		if (open_be(ctx, true, &be, &again) || !fits(d, &shape, be)) {
			block_backend_close(be);
			be = empty;   /* every request an I/O error */
			empty = NULL;
			char first[sizeof err->msg];
			snprintf(first, sizeof first, "%s", err->msg);
			rc = err_set(err, -EIO, "%s; and its own image could not be opened again (%s): "
				     "the guest has lost the disk", first,
				     again.msg[0] ? again.msg : "it no longer fits");
		}
	}
	be->log = d->log;
	b->be = be;
	pthread_mutex_unlock(&d->lock);
	block_backend_close(empty);
	return rc;
}

bool virtio_blk_loaded(struct virtio_device *d, char *id)
{
	struct vblk *b = to_blk(d);
	pthread_mutex_lock(&d->lock);
	bool loaded = !block_backend_is_empty(b->be);
	if (id) {
		memcpy(id, b->id, VIRTIO_BLK_ID_BYTES);
		id[VIRTIO_BLK_ID_BYTES] = 0;
	}
	pthread_mutex_unlock(&d->lock);
	return loaded;
}

void virtio_blk_set_rate_limit(struct virtio_device *d, const struct rate_limit *l)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&d->lock);
	rate_limiter_set(&to_blk(d)->rl, l, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
	virtio_device_requeue(d, 0);   /* requests held back may go now */
	pthread_mutex_unlock(&d->lock);
}

void virtio_blk_get_rate_limit(struct virtio_device *d, struct rate_limit *out)
{
	pthread_mutex_lock(&d->lock);
	rate_limiter_get(&to_blk(d)->rl, out);
	pthread_mutex_unlock(&d->lock);
}

uint64_t virtio_blk_size(struct virtio_device *d)
{
	return to_blk(d)->be->size;
}

void virtio_blk_track(struct virtio_device *d, struct block_dirty *t)
{
	pthread_mutex_lock(&d->lock);
	to_blk(d)->dirty = t;
	pthread_mutex_unlock(&d->lock);
}

int virtio_blk_read_disk(struct virtio_device *d, uint64_t off, void *buf, size_t len)
{
	struct vblk *b = to_blk(d);
	if (off > b->be->size || len > b->be->size - off)
		return -EINVAL;
	struct iovec v = { buf, len };
	pthread_mutex_lock(&d->lock);
	int r = b->be->ops->readv(b->be, off, &v, 1);
	pthread_mutex_unlock(&d->lock);
	return r;
}

bool virtio_blk_may_hold_data(struct virtio_device *d, uint64_t off, uint64_t len)
{
	struct vblk *b = to_blk(d);
	if (!b->be->ops->may_hold_data)
		return true;
	pthread_mutex_lock(&d->lock);
	bool r = b->be->ops->may_hold_data(b->be, off, len);
	pthread_mutex_unlock(&d->lock);
	return r;
}

int virtio_blk_image_stat(struct virtio_device *d, struct stat *st)
{
	struct vblk *b = to_blk(d);
	return b->be->ops->image_stat ? b->be->ops->image_stat(b->be, st) : -ENOTSUP;
}
