/*
 * Decoding and checking the transmit virtio_net_hdr.  See net_hdr.h.
 *
 * What a GSO frame must be (5.1.6.2; the shapes Linux sends, which is what
 * QEMU and the kernel's tap accept too): Ethernet, at most one 802.1Q tag,
 * then IPv4 (no options limit, not a fragment, total length exactly to the
 * end of the frame) or IPv6 (next header TCP directly, payload length
 * exactly to the end), then TCP with a data offset inside the frame; the
 * checksum must be requested (NEEDS_CSUM) with csum_start at the TCP header
 * and csum_offset 16, the TCP checksum field.  hdr_len is only a hint
 * (without GUEST_HDRLEN, 5.1.6.2.1): it must lie inside the frame but the
 * header length used is the one parsed here.
 */
#include "vmm/virtio/net_hdr.h"

#include <endian.h>
#include <stdbool.h>
#include <string.h>

#include "vmm/virtio/net_csum.h"

static uint16_t ld16le(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static void st16le(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

void vnet_hdr_decode(const uint8_t raw[12], struct vnet_hdr *h)
{
	h->flags = raw[0];
	h->gso_type = raw[1];
	h->hdr_len = ld16le(raw + 2);
	h->gso_size = ld16le(raw + 4);
	h->csum_start = ld16le(raw + 6);
	h->csum_offset = ld16le(raw + 8);
	h->num_buffers = ld16le(raw + 10);
}

void vnet_hdr_encode(const struct vnet_hdr *h, uint8_t raw[12])
{
	raw[0] = h->flags;
	raw[1] = h->gso_type;
	st16le(raw + 2, h->hdr_len);
	st16le(raw + 4, h->gso_size);
	st16le(raw + 6, h->csum_start);
	st16le(raw + 8, h->csum_offset);
	st16le(raw + 10, h->num_buffers);
}

static enum vnet_tx_verdict check_tcp_packet(const struct vnet_hdr *h, bool v6,
					     const uint8_t *f, size_t len, struct vnet_gso *g)
{
	size_t l3 = 14;
	if (len < l3)
		return VNET_TX_BAD_PACKET;
	uint16_t type = net_get_be16(f + 12);
	if (type == 0x8100) {
		l3 = 18;
		if (len < l3)
			return VNET_TX_BAD_PACKET;
		type = net_get_be16(f + 16);
	}
	size_t l4;
	if (!v6) {
		if (type != 0x0800 || len < l3 + 20 || f[l3] >> 4 != 4)
			return VNET_TX_BAD_PACKET;
		l4 = l3 + 4u * (f[l3] & 15);
		if (l4 < l3 + 20 || l4 > len || f[l3 + 9] != 6 ||
		    net_get_be16(f + l3 + 2) != len - l3 ||
		    (net_get_be16(f + l3 + 6) & 0x3fff))   /* MF or a fragment offset */
			return VNET_TX_BAD_PACKET;
	} else {
		if (type != 0x86dd || len < l3 + 40 || f[l3] >> 4 != 6)
			return VNET_TX_BAD_PACKET;
		l4 = l3 + 40;
		if (f[l3 + 6] != 6 || net_get_be16(f + l3 + 4) != len - l4)
			return VNET_TX_BAD_PACKET;
	}
	if (len < l4 + 20 || h->csum_start != l4 || h->csum_offset != 16)
		return VNET_TX_BAD_PACKET;
	size_t hdrs = l4 + 4u * (f[l4 + 12] >> 4);
	if (hdrs < l4 + 20 || hdrs > len)
		return VNET_TX_BAD_PACKET;
	g->v6 = v6;
	g->l3 = (uint16_t)l3;
	g->l4 = (uint16_t)l4;
	g->hdrs = (uint16_t)hdrs;
	g->mss = h->gso_size;
	return VNET_TX_OK;
}

enum vnet_tx_verdict vnet_tx_check(const struct vnet_hdr *h, unsigned allowed,
				   const uint8_t *frame, size_t len, struct vnet_gso *g)
{
	if ((h->flags & VNET_F_NEEDS_CSUM) &&
	    (h->csum_start > len || h->csum_offset > len - h->csum_start ||
	     len - h->csum_start - h->csum_offset < 2))
		return VNET_TX_BAD_CSUM;
	unsigned type = h->gso_type & ~VNET_GSO_ECN;
	bool ecn = h->gso_type & VNET_GSO_ECN;
	if (type == VNET_GSO_NONE)
		return ecn ? VNET_TX_BAD_GSO_TYPE : VNET_TX_OK;
	if ((type == VNET_GSO_TCPV4 && !(allowed & VNET_TX_TSO4)) ||
	    (type == VNET_GSO_TCPV6 && !(allowed & VNET_TX_TSO6)) ||
	    (type != VNET_GSO_TCPV4 && type != VNET_GSO_TCPV6) ||
	    (ecn && !(allowed & VNET_TX_ECN)))
		return VNET_TX_BAD_GSO_TYPE;
	if (!(h->flags & VNET_F_NEEDS_CSUM) || h->gso_size == 0 || h->hdr_len > len)
		return VNET_TX_BAD_GSO;
	return check_tcp_packet(h, type == VNET_GSO_TCPV6, frame, len, g);
}
