/*
 * The struct virtio_net_hdr of a transmitted frame (virtio 1.2, 5.1.6),
 * decoded and checked against the frame it precedes.  Every field comes
 * from the guest and is hostile: net_tx_check accepts a header only if
 * each offset lies inside the frame and, for a GSO frame, if the frame
 * really is the Ethernet/IPv4-or-IPv6/TCP packet the header claims, so
 * that segmentation (net_gso.c) can work on it without further checks.
 * Pure functions over a frame the device already copied out of guest
 * memory: the guest cannot change it between check and use.
 */
#ifndef NIMBUS_VMM_VIRTIO_NET_HDR_H
#define NIMBUS_VMM_VIRTIO_NET_HDR_H

#include <stddef.h>
#include <stdint.h>

#define VNET_GSO_NONE  0u
#define VNET_GSO_TCPV4 1u
#define VNET_GSO_UDP   3u
#define VNET_GSO_TCPV6 4u
#define VNET_GSO_ECN   0x80u

#define VNET_F_NEEDS_CSUM 1u
#define VNET_F_DATA_VALID 2u

/* The header's fields in host order. */
struct vnet_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};

void vnet_hdr_decode(const uint8_t raw[12], struct vnet_hdr *h);
void vnet_hdr_encode(const struct vnet_hdr *h, uint8_t raw[12]);

/* Which transmit offloads the driver negotiated (from the feature bits). */
#define VNET_TX_TSO4 1u
#define VNET_TX_TSO6 2u
#define VNET_TX_ECN  4u

/* Where the headers of a checked GSO frame are. */
struct vnet_gso {
	uint8_t v6;                  /* IPv6 (else IPv4) */
	uint16_t l3, l4, hdrs;       /* offsets of IP, TCP, the payload */
	uint16_t mss;                /* gso_size */
};

/* Why a header was refused (each counted apart in the device's stats). */
enum vnet_tx_verdict {
	VNET_TX_OK = 0,
	VNET_TX_BAD_CSUM,            /* csum_start/csum_offset outside the frame */
	VNET_TX_BAD_GSO_TYPE,        /* a type not negotiated, or ECN alone */
	VNET_TX_BAD_GSO,             /* gso_size 0, hdr_len past the end, no NEEDS_CSUM */
	VNET_TX_BAD_PACKET,          /* the frame is not the TCP packet the header claims */
};

/*
 * Checks header h for frame[0, len) with the offloads in `allowed`
 * (VNET_TX_*).  For a GSO frame fills *g.  NEEDS_CSUM alone needs no
 * feature (completing a checksum is always safe); flags other than
 * NEEDS_CSUM are ignored (5.1.6.2.2: the device ignores unknown flags).
 */
enum vnet_tx_verdict vnet_tx_check(const struct vnet_hdr *h, unsigned allowed,
				   const uint8_t *frame, size_t len, struct vnet_gso *g);

#endif
