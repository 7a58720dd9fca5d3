/*
 * Software TCP segmentation offload for virtio-net transmit (the device
 * side of VIRTIO_NET_F_HOST_TSO4/TSO6/HOST_ECN, virtio 1.2 5.1.6.2): what
 * a NIC does with a large TCP segment.  The input was checked by
 * vnet_tx_check (so every offset in *g is inside the frame and the IP
 * lengths match it); this file only builds the segments.
 *
 * Each segment copies the headers into a stack buffer and points at its
 * slice of the payload in place: no allocation, one copy of the headers
 * per segment.  The TCP checksum is computed from scratch (pseudo header
 * with the segment's own length), never from the partial sum the guest
 * left in the field, so a wrong partial sum cannot leak into segments.
 * Flags follow RFC 3168 and the usual TSO rules: CWR only on the first
 * segment, FIN and PSH only on the last.
 */
#include "vmm/virtio/net_gso.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "vmm/virtio/net_csum.h"

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static uint32_t ld32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void st32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int net_gso_segment(const uint8_t *frame, size_t len, const struct vnet_gso *g,
		    net_gso_emit_fn emit, void *ctx)
{
	uint8_t h[NET_GSO_HDR_MAX];
	size_t hdrs = g->hdrs, l3 = g->l3, l4 = g->l4, tcp_hlen = hdrs - l4;
	if (hdrs > sizeof h || g->mss == 0 || hdrs > len)
		return -EINVAL;   /* net_tx_check would not have passed it */
	memcpy(h, frame, hdrs);
	uint32_t seq0 = ld32be(frame + l4 + 4);
	uint16_t id0 = g->v6 ? 0 : net_get_be16(frame + l3 + 4);
	uint8_t flags0 = frame[l4 + 13];
	/* The pseudo header without its length: addresses and protocol. */
	uint64_t pseudo = g->v6 ? net_csum_add(0, frame + l3 + 8, 32)
				: net_csum_add(0, frame + l3 + 12, 8);
	pseudo += 6;
	size_t payload = len - hdrs;
	int n = 0;
	size_t off = 0;
	do {
		size_t take = payload - off < g->mss ? payload - off : g->mss;
		bool first = off == 0, last = off + take == payload;
		if (g->v6) {
			net_put_be16(h + l3 + 4, (uint16_t)(tcp_hlen + take));
		} else {
			net_put_be16(h + l3 + 2, (uint16_t)(l4 - l3 + tcp_hlen + take));
			net_put_be16(h + l3 + 4, (uint16_t)(id0 + n));
			net_put_be16(h + l3 + 10, 0);
			net_put_be16(h + l3 + 10, net_csum_fold(net_csum_add(0, h + l3, l4 - l3)));
		}
		uint8_t *th = h + l4;
		st32be(th + 4, seq0 + (uint32_t)off);
		uint8_t fl = flags0;
		if (!first)
			fl &= (uint8_t)~TCP_CWR;
		if (!last)
			fl &= (uint8_t)~(TCP_FIN | TCP_PSH);
		th[13] = fl;
		net_put_be16(th + 16, 0);
		/* The TCP header has an even length (a multiple of 4), so the
		 * payload's words line up when summed apart. */
		uint64_t s = pseudo + tcp_hlen + take;
		s = net_csum_add(s, th, tcp_hlen);
		s = net_csum_add(s, frame + hdrs + off, take);
		net_put_be16(th + 16, net_csum_fold(s));
		struct iovec v[2] = { { h, hdrs }, { (void *)(frame + hdrs + off), take } };
		int rc = emit(ctx, v, take ? 2 : 1);
		if (rc < 0)
			return rc;
		n++;
		off += take;
	} while (off < payload);
	return n;
}
