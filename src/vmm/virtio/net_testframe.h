/*
 * Builds Ethernet/IPv4-or-IPv6/TCP frames as a guest's TSO would hand them
 * over (IP lengths covering the whole frame, the pseudo-header sum in the
 * TCP checksum field), and checks segments as a receiver would.  Header-
 * only, for the net_* unit tests.
 */
#ifndef NIMBUS_VMM_VIRTIO_NET_TESTFRAME_H
#define NIMBUS_VMM_VIRTIO_NET_TESTFRAME_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "vmm/virtio/net_csum.h"

#define TF_TCP_HLEN 32u   /* 20 bytes + 12 of options (timestamps) */

/* Fills f with a frame carrying `payload` bytes (i & 0xff at payload[i]);
 * returns its length.  vlan adds an 802.1Q tag. */
static inline size_t tf_build(uint8_t *f, bool v6, bool vlan, size_t payload, uint8_t tcp_flags)
{
	size_t l3 = vlan ? 18 : 14;
	memset(f, 0, l3);
	memcpy(f, "\x52\x54\x00\x12\x34\x02\x52\x54\x00\x12\x34\x56", 12);
	if (vlan) {
		net_put_be16(f + 12, 0x8100);
		net_put_be16(f + 14, 5);
	}
	net_put_be16(f + l3 - 2, v6 ? 0x86dd : 0x0800);
	size_t iph = v6 ? 40 : 20, l4 = l3 + iph, hdrs = l4 + TF_TCP_HLEN, len = hdrs + payload;
	uint8_t *ip = f + l3, *th = f + l4;
	memset(ip, 0, iph + TF_TCP_HLEN);
	uint64_t ps;
	if (v6) {
		ip[0] = 0x60;
		net_put_be16(ip + 4, (uint16_t)(len - l4));
		ip[6] = 6;
		ip[7] = 64;
		ip[8] = 0xfe, ip[9] = 0xc0, ip[23] = 0x0f;
		ip[24] = 0xfe, ip[25] = 0xc0, ip[39] = 0x02;
		ps = net_csum_add(0, ip + 8, 32);
	} else {
		ip[0] = 0x45;
		net_put_be16(ip + 2, (uint16_t)(len - l3));
		net_put_be16(ip + 4, 0x1234);
		net_put_be16(ip + 6, 0x4000);   /* DF */
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, "\x0a\x00\x02\x0f\x0a\x00\x02\x02", 8);
		net_put_be16(ip + 10, net_csum_fold(net_csum_add(0, ip, 20)));
		ps = net_csum_add(0, ip + 12, 8);
	}
	net_put_be16(th, 40000);
	net_put_be16(th + 2, 5001);
	memcpy(th + 4, "\xff\xff\xff\x00", 4);   /* seq near a wrap */
	memcpy(th + 8, "\x00\x00\x10\x00", 4);
	th[12] = (TF_TCP_HLEN / 4) << 4;
	th[13] = tcp_flags;
	net_put_be16(th + 14, 502);
	th[20] = 1, th[21] = 1, th[22] = 8, th[23] = 10;   /* NOP NOP TS */
	for (size_t i = 0; i < payload; i++)
		f[hdrs + i] = (uint8_t)i;
	/* What a driver leaves for NEEDS_CSUM: the folded pseudo header, not complemented. */
	uint16_t p = (uint16_t)~net_csum_fold(ps + 6 + (len - l4));
	net_put_be16(th + 16, p);
	return len;
}

/* True if the TCP (and IPv4 header) checksums of frame f verify. */
static inline bool tf_csum_ok(const uint8_t *f, size_t len, bool v6, size_t l3)
{
	size_t l4 = l3 + (v6 ? 40 : 20);
	uint64_t s;
	if (v6) {
		s = net_csum_add(0, f + l3 + 8, 32);
	} else {
		if (net_csum_fold(net_csum_add(0, f + l3, 20)) != 0)
			return false;
		s = net_csum_add(0, f + l3 + 12, 8);
	}
	s += 6 + (len - l4);
	return net_csum_fold(net_csum_add(s, f + l4, len - l4)) == 0;
}

#endif
