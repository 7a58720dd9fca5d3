/* virtio-net (virtio 1.2, 5.1), one rx/tx queue pair, over a struct
 * net_backend.  See net.c. */
#ifndef NIMBUS_VMM_VIRTIO_NET_H
#define NIMBUS_VMM_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "vmm/virtio/net_backend.h"
#include "vmm/virtio/virtio.h"

#define VIRTIO_NET_F_CSUM        (1ull << 0)
#define VIRTIO_NET_F_GUEST_CSUM  (1ull << 1)
#define VIRTIO_NET_F_MTU         (1ull << 3)
#define VIRTIO_NET_F_MAC         (1ull << 5)
#define VIRTIO_NET_F_GUEST_TSO4  (1ull << 7)
#define VIRTIO_NET_F_GUEST_TSO6  (1ull << 8)
#define VIRTIO_NET_F_GUEST_ECN   (1ull << 9)
#define VIRTIO_NET_F_HOST_TSO4   (1ull << 11)
#define VIRTIO_NET_F_HOST_TSO6   (1ull << 12)
#define VIRTIO_NET_F_HOST_ECN    (1ull << 13)
#define VIRTIO_NET_F_MRG_RXBUF   (1ull << 15)
#define VIRTIO_NET_F_STATUS      (1ull << 16)
#define VIRTIO_NET_F_CTRL_VQ     (1ull << 17)

#define VIRTIO_NET_S_LINK_UP     1u

#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1u
#define VIRTIO_NET_HDR_F_DATA_VALID 2u
#define VIRTIO_NET_HDR_GSO_NONE     0u
#define VIRTIO_NET_HDR_GSO_TCPV4    1u
#define VIRTIO_NET_HDR_GSO_TCPV6    4u
#define VIRTIO_NET_HDR_GSO_ECN      0x80u

#define VIRTIO_NET_HDR_BYTES 12u     /* struct virtio_net_hdr with VERSION_1 */
#define VIRTIO_NET_RXQ 0u
#define VIRTIO_NET_TXQ 1u

/* Host-side counters, read with virtio_net_stats(). */
struct virtio_net_stats {
	uint64_t tx_frames, tx_bytes, tx_dropped;   /* guest -> backend */
	uint64_t tx_bad_hdr;                        /* of tx_dropped: a refused virtio_net_hdr */
	uint64_t tx_gso, tx_segments;               /* large frames, and segments cut from them */
	uint64_t rx_frames, rx_bytes, rx_dropped;   /* backend -> guest */
	uint64_t rx_bad_hdr;                        /* of rx_dropped: a host header refused */
};

/*
 * Creates a virtio-net device with MAC address mac over be (ownership of be
 * passes to the device, also on failure), installs be->receive and starts
 * the backend.  Offers MAC, STATUS (link up), CSUM (the device completes
 * checksums of outgoing frames itself), HOST_TSO4/TSO6/HOST_ECN (it takes
 * large TCP frames, segmenting them unless the backend takes whole
 * packets), GUEST_CSUM (received frames from a backend with
 * NET_BE_CAP_RX_CSUM_VALID are marked DATA_VALID) and MRG_RXBUF.
 */
int virtio_net_create(struct net_backend *be, const uint8_t mac[6],
		      struct virtio_device **out, struct err *err);

/* Sets the link state the guest sees (config change interrupt).  Any thread. */
void virtio_net_set_link(struct virtio_device *dev, bool up);

/*
 * Hot-plug (vm_nic_hotplug.c): a device created over an empty backend
 * (net_empty_open) has its link down.  insert starts be and puts it behind
 * such a device, link up (the guest hears of it by a configuration change);
 * it takes be only on success: -EBUSY when the device holds a backend.
 * eject closes the backend and leaves an empty one, link down (-ENOENT
 * when there is none).  loaded: a backend is in.  The MAC stays the one
 * the device was created with (the guest read it at boot).
 */
int virtio_net_insert(struct virtio_device *dev, struct net_backend *be, struct err *err);
int virtio_net_eject(struct virtio_device *dev, struct err *err);
bool virtio_net_loaded(struct virtio_device *dev);
void virtio_net_mac(struct virtio_device *dev, uint8_t mac[6]);

void virtio_net_stats(struct virtio_device *dev, struct virtio_net_stats *out);

/* Completes an Internet checksum over frame[start, len) into start + off
 * (NEEDS_CSUM, 5.1.6.2).  -1 if the offsets do not fit the frame.  For
 * tests and the fuzzer. */
int virtio_net_complete_csum(uint8_t *frame, size_t len, unsigned start, unsigned off);

struct rate_limit;
/* Rate limits (rate_limiter.h), the same on each direction; any thread. */
void virtio_net_set_rate_limit(struct virtio_device *dev, const struct rate_limit *l);
void virtio_net_get_rate_limit(struct virtio_device *dev, struct rate_limit *out);

#endif
