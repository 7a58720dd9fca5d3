/* virtio-balloon (virtio 1.2, 5.5): inflate/deflate, statistics, free page
 * reporting.  See balloon.c. */
#ifndef NIMBUS_VMM_VIRTIO_BALLOON_H
#define NIMBUS_VMM_VIRTIO_BALLOON_H

#include <stdint.h>

#include "lib/err.h"
#include "vmm/virtio/virtio.h"

#define VIRTIO_BALLOON_F_MUST_TELL_HOST  (1ull << 0)
#define VIRTIO_BALLOON_F_STATS_VQ        (1ull << 1)
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM  (1ull << 2)
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT  (1ull << 3)
#define VIRTIO_BALLOON_F_PAGE_POISON     (1ull << 4)
#define VIRTIO_BALLOON_F_REPORTING       (1ull << 5)

#define VIRTIO_BALLOON_PFN_SHIFT 12          /* PFNs count 4 KiB pages */

/* Statistic tags (5.5.6.3). */
#define VIRTIO_BALLOON_S_SWAP_IN   0
#define VIRTIO_BALLOON_S_SWAP_OUT  1
#define VIRTIO_BALLOON_S_MAJFLT    2
#define VIRTIO_BALLOON_S_MINFLT    3
#define VIRTIO_BALLOON_S_MEMFREE   4
#define VIRTIO_BALLOON_S_MEMTOT    5
#define VIRTIO_BALLOON_S_AVAIL     6
#define VIRTIO_BALLOON_S_CACHES    7
#define VIRTIO_BALLOON_S_HTLB_PGALLOC 8
#define VIRTIO_BALLOON_S_HTLB_PGFAIL  9
#define VIRTIO_BALLOON_S_NR        10

/* virtio_balloon_create flags */
#define VIRTIO_BALLOON_DEFLATE_ON_OOM 1u   /* offer DEFLATE_ON_OOM: the guest may
					      deflate under memory pressure */
#define VIRTIO_BALLOON_NO_STATS       2u   /* do not offer STATS_VQ */
#define VIRTIO_BALLOON_NO_REPORTING   4u   /* do not offer REPORTING */

struct balloon_stats {
	uint64_t ram_bytes;        /* guest RAM */
	uint64_t target_bytes;     /* what the host asked for (num_pages) */
	uint64_t actual_bytes;     /* what the driver says it holds (actual) */
	uint64_t inflated_bytes;   /* pages in the balloon as the device counted them */
	uint64_t reported_bytes;   /* free page reporting: bytes returned to the host,
				      summed since the device was created */
	/* The guest's last report on the stats queue: */
	uint64_t updates;          /* reports received since the device was created */
	uint32_t have;             /* bit i: val[i] was reported (VIRTIO_BALLOON_S_*) */
	uint64_t val[VIRTIO_BALLOON_S_NR];   /* MEMFREE etc. in bytes, counters as counts */
};

/* Creates a balloon device (flags: VIRTIO_BALLOON_*).  The target starts at 0. */
int virtio_balloon_create(unsigned flags, struct virtio_device **out, struct err *err);

/*
 * Asks the guest to hold `bytes` of its RAM in the balloon (rounded down to
 * 4 KiB; 0 deflates it all): sets num_pages and signals a config change.
 * -ERANGE if bytes exceeds guest RAM.  Any thread.
 */
int balloon_set_target(struct virtio_device *dev, uint64_t bytes);

/*
 * Fills *out.  With wait_ms > 0 and a stats queue in use, first asks the
 * guest for a fresh report and waits up to wait_ms for it: -ETIMEDOUT if
 * none came (*out then holds the previous values), -ENODEV if the driver
 * has no stats buffer posted (STATS_VQ not negotiated, or not yet up).
 * Any thread except the device's I/O thread.
 */
int balloon_get_stats(struct virtio_device *dev, struct balloon_stats *out, int wait_ms);

/* Asks the guest for a fresh stats report without waiting: 0, or -ENODEV
 * as above.  Any thread. */
int balloon_request_stats(struct virtio_device *dev);

#endif
