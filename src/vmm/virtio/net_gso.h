/*
 * Software TCP segmentation (GSO) of a frame that net_tx_check accepted:
 * for backends that take only MTU-sized frames with complete checksums.
 * See net_gso.c.
 */
#ifndef NIMBUS_VMM_VIRTIO_NET_GSO_H
#define NIMBUS_VMM_VIRTIO_NET_GSO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/virtio/net_hdr.h"

/* Headers of one segment: Ethernet + VLAN + IPv4 with options + TCP with
 * options fit 18 + 60 + 60 bytes. */
#define NET_GSO_HDR_MAX 160u

/* Receives one segment as two iovecs (its headers, then its payload);
 * returns 0 or -errno. */
typedef int (*net_gso_emit_fn)(void *ctx, const struct iovec *iov, int cnt);

/*
 * Cuts frame[0, len) into segments of at most g->mss payload bytes, each
 * with its own IP length (and IPv4 id + i and header checksum), TCP
 * sequence number, flags (CWR only on the first, FIN and PSH only on the
 * last) and a full TCP checksum, and passes them to emit in order.  frame
 * is read only.  Returns the number of segments emitted, or the first
 * error emit returned (the rest are not sent: TCP retransmits).
 */
int net_gso_segment(const uint8_t *frame, size_t len, const struct vnet_gso *g,
		    net_gso_emit_fn emit, void *ctx);

#endif
