/*
 * Split virtqueues (virtio 1.2, 2.7) seen from the device: taking descriptor
 * chains off the available ring, validating every guest-controlled value,
 * and returning them on the used ring with notification suppression
 * (VIRTIO_F_EVENT_IDX, or the NO_INTERRUPT flag without it).
 *
 * Everything the guest wrote is untrusted and may change under our feet
 * (another vCPU): each ring field and descriptor is read exactly once into
 * a local and checked there.  Guest memory is reached only through
 * bus_guest_ptr(); the rings are checked once at setup, buffers at pop.
 *
 * Validation (see docs/virtio.md): ring addresses aligned and inside RAM;
 * avail idx at most `num` ahead of the device; head and next indices inside
 * their table; at most `num` descriptors in a direct chain and at most the
 * table's own length in an indirect one (so no loops); indirect only when
 * negotiated, never nested, never combined with NEXT, length a non-zero
 * multiple of 16; every buffer inside RAM; total chain length at most
 * VQ_MAX_CHAIN_BYTES; at most VQ_MAX_SEGS non-empty buffers; no
 * device-readable buffer after a device-writable one (2.7.4.2).  A
 * violation marks the device NEEDS_RESET (virtio_device_fail) and the queue
 * stops until reset.
 *
 * All functions are called with the owning device's lock held.
 */
#ifndef NIMBUS_VMM_VIRTIO_QUEUE_H
#define NIMBUS_VMM_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct bus;
struct virtio_device;

#define VQ_MAX_SIZE        32768u           /* 2.7: split queue size limit */
#define VQ_MAX_SEGS        1024u            /* non-empty buffers in one chain */
#define VQ_MAX_CHAIN_BYTES (256u << 20)     /* sum of a chain's lengths */

/* Descriptor flags (2.7.5). */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
/* Ring flags (2.7.6, 2.7.8). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

/* One guest buffer of a chain: host pointer from bus_guest_ptr(). */
struct vq_seg {
	uint8_t *host;
	uint64_t gpa;
	uint32_t len;
};

/* A validated chain: device-readable segments first, then device-writable. */
struct vq_chain {
	struct bus *bus;
	uint16_t head;
	unsigned nr, nw;             /* readable seg[0..nr), writable seg[nr..nr+nw) */
	uint64_t rlen, wlen;         /* total bytes of each part */
	struct vq_seg seg[VQ_MAX_SEGS];
};

/* Plain-data queue state: what a snapshot saves. */
struct virtq_state {
	uint64_t desc, avail, used;  /* guest-physical ring addresses */
	uint16_t num;
	uint16_t last_avail;         /* next avail ring slot the device will read */
	uint16_t used_idx;           /* device's copy of used->idx */
	uint16_t signalled_used;     /* used_idx when the driver was last interrupted */
	uint8_t ready, broken;
};

struct virtq {
	struct virtq_state s;
	/* Derived from s at setup: */
	struct virtio_device *dev;
	unsigned index;
	bool event_idx, indirect;
	const uint8_t *desc, *avail;    /* host pointers to the rings */
	uint8_t *used;
};

/* Clears the queue (ring addresses, indices, ready). */
void vq_reset(struct virtq *vq);

/*
 * Makes the queue ready with the ring addresses and size in vq->s (num,
 * desc, avail, used) and the negotiated features: checks the size is a power
 * of 2 in 1..max, the rings aligned (16/2/4) and wholly in RAM.  On failure
 * returns -EINVAL with the reason in why; the queue stays not ready.
 */
int vq_setup(struct virtq *vq, struct bus *bus, uint16_t max, uint64_t features,
	     char *why, size_t whylen);

/*
 * Takes the next available chain into *c.  Returns 1 with a chain, 0 when
 * the ring is empty (with EVENT_IDX, after publishing avail_event and
 * re-checking), -1 when the queue is not ready or broken, or the chain was
 * malformed (the device is then NEEDS_RESET).
 */
int vq_pop(struct virtq *vq, struct vq_chain *c);

/* True if the queue is ready and the driver has made buffers available that
 * the device has not taken yet (a peek: nothing is validated or published). */
bool vq_has_avail(const struct virtq *vq);

/* Returns chain `head` on the used ring with `written` bytes written. */
void vq_push(struct virtq *vq, uint16_t head, uint32_t written);

/*
 * The same in two steps, for several chains the driver must see at once
 * (a received frame spread over mergeable buffers, 5.1.6.4): vq_fill
 * writes used element used_idx + i without publishing it; vq_flush then
 * makes the first n filled elements visible with one used->idx store.
 */
void vq_fill(struct virtq *vq, uint16_t i, uint16_t head, uint32_t written);
void vq_flush(struct virtq *vq, uint16_t n);

/* True if the driver wants an interrupt for what was pushed since the last one. */
bool vq_should_signal(struct virtq *vq);

/* Copies from the readable part at offset off; returns bytes copied. */
size_t vq_chain_read(const struct vq_chain *c, uint64_t off, void *dst, size_t len);
/* Copies into the writable part at offset off (noting the write); returns bytes copied. */
size_t vq_chain_write(const struct vq_chain *c, uint64_t off, const void *src, size_t len);
/*
 * Describes [off, off+len) of the readable (writable=false) or writable
 * part as at most max iovecs; returns the count, or -1 if the range is not
 * wholly inside the part or needs more than max entries.
 */
int vq_chain_iov(const struct vq_chain *c, bool writable, uint64_t off, uint64_t len,
		 struct iovec *iov, int max);
/* Reports [off, off+len) of the writable part as written by the device. */
void vq_chain_note_written(const struct vq_chain *c, uint64_t off, uint64_t len);

#endif
