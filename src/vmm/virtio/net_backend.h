/*
 * A network backend: where the frames of a virtio-net device go and come
 * from (user-mode NAT in src/vmm/net/slirp.c, a TAP interface in
 * src/vmm/net/tap.c, a recording stub in tests and fuzzing).
 *
 * Frames are plain Ethernet frames (no virtio_net_hdr, no FCS): the device
 * model strips and fills headers, completes checksums, and never passes
 * offloaded (GSO) frames, so a backend needs no offload support.
 *
 * Directions and threads:
 *   guest -> host: the device calls ops->send() on its I/O thread with its
 *     lock held.  send must not block and must never call back into the
 *     device (receive); a frame it cannot take now is dropped (-ENOBUFS),
 *     as a NIC drops on a full queue: TCP recovers.
 *   host -> guest: the backend's own thread calls be->receive(be->dev, ...)
 *     (installed by the device before ops->start) with no backend lock held.
 *     It returns 1 when the frame was taken (delivered, or dropped because
 *     the driver is not up), 0 when the guest has posted no receive buffer:
 *     the backend keeps the frame, stops reading its input, and tries again
 *     after the device calls ops->rx_ready() (the driver posted buffers, or
 *     the device was reset).  rx_ready only wakes the backend's thread; it
 *     is called with the device lock held.
 * Lock order: device lock before any backend lock.
 */
#ifndef NIMBUS_VMM_VIRTIO_NET_BACKEND_H
#define NIMBUS_VMM_VIRTIO_NET_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lib/err.h"
#include "vmm/log.h"

/* The largest frame either direction carries: 64 KiB of IP plus Ethernet
 * and a VLAN tag.  Bigger frames are dropped. */
#define NET_MAX_FRAME (65535u + 14u + 4u)

struct net_backend;

struct net_backend_ops {
	/* Starts delivering host frames to be->receive (creates the thread). */
	int (*start)(struct net_backend *be, struct err *err);
	/* One guest frame gathered from iov.  0, or -errno if it was dropped. */
	int (*send)(struct net_backend *be, const struct iovec *iov, int iovcnt);
	/* The device can take frames again (see above). */
	void (*rx_ready)(struct net_backend *be);
	/* Stops the thread (waits for it) and frees the backend. */
	void (*close)(struct net_backend *be);
};

struct net_backend {
	const struct net_backend_ops *ops;
	char label[64];                  /* "user", "tap nimbus0": for log lines */
	const struct log_sink *log;      /* where they go (log.h); NULL = stderr */
	/* Set by the device before start: see the top of this file. */
	int (*receive)(void *dev, const uint8_t *frame, size_t len);
	void *dev;
};

#endif
