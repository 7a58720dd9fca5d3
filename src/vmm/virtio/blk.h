/*
 * virtio-blk device model (virtio 1.2, 5.2) over a block backend.  See blk.c.
 */
#ifndef NIMBUS_VMM_VIRTIO_BLK_H
#define NIMBUS_VMM_VIRTIO_BLK_H

#include "lib/err.h"
#include "vmm/virtio/block.h"
#include "vmm/virtio/virtio.h"

#define VIRTIO_BLK_F_SIZE_MAX     (1ull << 1)
#define VIRTIO_BLK_F_SEG_MAX      (1ull << 2)
#define VIRTIO_BLK_F_GEOMETRY     (1ull << 4)
#define VIRTIO_BLK_F_RO           (1ull << 5)
#define VIRTIO_BLK_F_BLK_SIZE     (1ull << 6)
#define VIRTIO_BLK_F_FLUSH        (1ull << 9)
#define VIRTIO_BLK_F_TOPOLOGY     (1ull << 10)
#define VIRTIO_BLK_F_CONFIG_WCE   (1ull << 11)
#define VIRTIO_BLK_F_MQ           (1ull << 12)
#define VIRTIO_BLK_F_DISCARD      (1ull << 13)
#define VIRTIO_BLK_F_WRITE_ZEROES (1ull << 14)

#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_WZ_F_UNMAP 1u
#define VIRTIO_BLK_HDR_BYTES  16u
#define VIRTIO_BLK_ID_BYTES   20u

/*
 * Creates a virtio-blk device over be (ownership passes to the device, also
 * on failure).  serial (may be NULL) is the GET_ID string, at most 20 bytes
 * used.  A read-only backend gets VIRTIO_BLK_F_RO.
 */
int virtio_blk_create(struct block_backend *be, const char *serial,
		      struct virtio_device **out, struct err *err);

struct rate_limit;
/* Rate limits (rate_limiter.h) on its requests; any thread. */
void virtio_blk_set_rate_limit(struct virtio_device *dev, const struct rate_limit *l);
void virtio_blk_get_rate_limit(struct virtio_device *dev, struct rate_limit *out);

/*
 * Storage migration (vm_migrate.c).  The disk's size in bytes; t (NULL:
 * none) starts (stops) receiving a mark for each range the guest writes,
 * discards or zeroes, after the backend did it; the caller owns t and frees
 * it only after tracking it stopped.  read_disk reads what the guest sees
 * (whatever the backend: raw, qcow2, an --ephemeral layer) between two of
 * the device's requests.  0 or -errno.
 */
struct block_dirty;
uint64_t virtio_blk_size(struct virtio_device *dev);
void virtio_blk_track(struct virtio_device *dev, struct block_dirty *t);
int virtio_blk_read_disk(struct virtio_device *dev, uint64_t off, void *buf, size_t len);
/* False only where [off, off+len) surely reads as zeroes (block.h's
 * may_hold_data): a copy skips it unread. */
bool virtio_blk_may_hold_data(struct virtio_device *dev, uint64_t off, uint64_t len);
/* fstat of the disk's image file (block.h's image_stat); -ENOTSUP. */
int virtio_blk_image_stat(struct virtio_device *dev, struct stat *st);

/*
 * Hot-plug (vm_hotplug.c).  insert puts be behind a device whose backend is
 * empty (block_empty_open) and raises a configuration change, on which the
 * guest re-reads the capacity (virtio 1.2, 5.2.6).  be must do what the
 * device offered at boot: writable, with discard and write-zeroes.  Takes
 * be only on success; -EBUSY when the device holds a disk, -EINVAL when be
 * does not fit.  eject flushes and closes the disk, leaving an empty one
 * (-ENOENT when there is none).  serial is the new GET_ID string.
 */
int virtio_blk_insert(struct virtio_device *dev, struct block_backend *be, const char *serial,
		      struct err *err);
int virtio_blk_eject(struct virtio_device *dev, struct err *err);
/*
 * Puts the disk on other files (a fork freezing its image, vm_fork_disks.c),
 * between two requests; the VM is paused.  Flushes the backend and closes
 * it first (so its file lock is free for the new one, which may open the
 * same file as its backing), then takes open_be(ctx, false) in its place:
 * it must serve what the device offered at boot (the same size, writability,
 * discard and write-zeroes).  If that fails, open_be(ctx, true) reopens the
 * disk's own image, and the error is returned; if even that fails the disk
 * is left empty (-EIO: every request fails).  A failed flush changes nothing.
 */
typedef int virtio_blk_open_fn(void *ctx, bool original, struct block_backend **out,
			       struct err *err);
int virtio_blk_reopen(struct virtio_device *dev, virtio_blk_open_fn *open_be, void *ctx,
		      struct err *err);
/* Whether it holds a disk (not the empty backend); its serial into id
 * (VIRTIO_BLK_ID_BYTES + 1 bytes, NUL-terminated) when id is not NULL. */
bool virtio_blk_loaded(struct virtio_device *dev, char *id);

/* Handles one validated request chain (for the fuzzer and tests): returns the
 * used length, or -1 if the request broke the device.  dev->lock held. */
int virtio_blk_handle(struct virtio_device *dev, const struct vq_chain *c);

#endif
