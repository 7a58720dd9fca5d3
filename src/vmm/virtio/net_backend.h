/*
 * A network backend: where the frames of a virtio-net device go and come
 * from (user-mode NAT in src/vmm/net/slirp.c, a TAP interface in
 * src/vmm/net/tap.c, a recording stub in tests and fuzzing).
 *
 * Frames are plain Ethernet frames (no virtio_net_hdr, no FCS): the device
 * model strips and fills headers and completes checksums, so a backend
 * needs no offload support.  What a backend can take or promises is in
 * `caps` (NET_BE_CAP_*), set before the device is created: the device
 * segments large TCP frames from the guest itself unless the backend takes
 * whole IP packets, and tells the guest that received checksums are valid
 * only when the backend vouches for them.  The device model reads only the
 * capabilities, never which backend it has.
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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lib/err.h"
#include "vmm/log.h"

/* The largest frame either direction carries: 64 KiB of IP plus Ethernet
 * and a VLAN tag.  Bigger frames are dropped. */
#define NET_MAX_FRAME (65535u + 14u + 4u)

struct net_backend;
struct snap_out;
struct snap_in;

/* Takes frames up to NET_MAX_FRAME (whole IP packets, as a host TCP/IP
 * stack does) instead of MTU-sized ones: large TCP frames from the guest
 * are passed as they are, with their checksum completed. */
#define NET_BE_CAP_LARGE         1u
/* Every frame it delivers carries correct IP/TCP/UDP checksums (it made
 * them itself): the guest may skip verifying them (DATA_VALID). */
#define NET_BE_CAP_RX_CSUM_VALID 2u
/* Speaks the 12-byte virtio_net_hdr itself (a TAP with IFF_VNET_HDR: the
 * host kernel takes and makes GSO frames and partial checksums): has
 * send_vnet and set_offloads, and delivers through receive_vnet when the
 * device installed it.  Its plain send/receive still work (no offloads). */
#define NET_BE_CAP_VNET_HDR      4u

/* Offloads a VNET_HDR backend may use in frames it delivers (set_offloads):
 * what the driver negotiated as GUEST_CSUM, GUEST_TSO4/6 and GUEST_ECN. */
#define NET_OFFLOAD_CSUM 1u
#define NET_OFFLOAD_TSO4 2u
#define NET_OFFLOAD_TSO6 4u
#define NET_OFFLOAD_ECN  8u
#define NET_VNET_HDR_BYTES 12u

struct net_backend_ops {
	/* Starts delivering host frames to be->receive (creates the thread). */
	int (*start)(struct net_backend *be, struct err *err);
	/* One guest frame gathered from iov.  0, or -errno if it was dropped. */
	int (*send)(struct net_backend *be, const struct iovec *iov, int iovcnt);
	/* The device can take frames again (see above). */
	void (*rx_ready)(struct net_backend *be);
	/* Stops the thread (waits for it) and frees the backend. */
	void (*close)(struct net_backend *be);
	/* NET_BE_CAP_VNET_HDR only.  One guest frame after hdr, a header the
	 * device has checked against the frame (net_hdr.c); same rules as send. */
	int (*send_vnet)(struct net_backend *be, const uint8_t hdr[NET_VNET_HDR_BYTES],
			 const struct iovec *iov, int iovcnt);
	/* NET_BE_CAP_VNET_HDR only.  Which NET_OFFLOAD_* the host may use in
	 * frames it delivers from now on (0 at start).  Device lock held. */
	void (*set_offloads)(struct net_backend *be, unsigned offloads);
	/* Optional: the backend's own state for a snapshot (user-mode NAT's
	 * connections), written / read as part of the device's section
	 * (snap_stream.h).  0, or -EINVAL for state it cannot take. */
	int (*save_state)(struct net_backend *be, struct snap_out *out);
	int (*load_state)(struct net_backend *be, struct snap_in *in);
};

struct net_backend {
	const struct net_backend_ops *ops;
	char label[64];                  /* "user", "tap nimbus0": for log lines */
	unsigned caps;                   /* NET_BE_CAP_* */
	const struct log_sink *log;      /* where they go (log.h); NULL = stderr */
	/* Set by the device before start: see the top of this file. */
	int (*receive)(void *dev, const uint8_t *frame, size_t len);
	/* The same for a NET_BE_CAP_VNET_HDR backend: buf is the host's
	 * 12-byte virtio_net_hdr then the frame.  NULL: use receive. */
	int (*receive_vnet)(void *dev, const uint8_t *buf, size_t len);
	void *dev;
};

/* A backend with no cable (net_empty.c): an empty hot-plug NIC slot.
 * Claims NET_BE_CAP_VNET_HDR, as the TAP that may fill the slot does. */
int net_empty_open(struct net_backend **out, struct err *err);
bool net_backend_is_empty(const struct net_backend *be);

#endif
