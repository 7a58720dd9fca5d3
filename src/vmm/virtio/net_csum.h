/*
 * The Internet checksum (RFC 1071) as the virtio-net offloads need it: a
 * 32-bit running one's-complement sum of big-endian 16-bit words, added to
 * in pieces that start at even offsets of the summed region, then folded.
 * Header-only: the transmit path sums every offloaded byte, so the loop is
 * kept where the compiler can inline and unroll it.
 */
#ifndef NIMBUS_VMM_VIRTIO_NET_CSUM_H
#define NIMBUS_VMM_VIRTIO_NET_CSUM_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Adds [p, p+n) to sum; an odd last byte counts as its word's high half. */
static inline uint64_t net_csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
	size_t i = 0;
	/* 32-bit words: a 64-bit accumulator cannot overflow for any frame. */
	for (; i + 4 <= n; i += 4) {
		uint32_t w;
		memcpy(&w, p + i, 4);
		sum += be32toh(w);
	}
	for (; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (i < n)
		sum += (uint32_t)p[i] << 8;
	return sum;
}

/* Folds a running sum to 16 bits and complements it: the field's value. */
static inline uint16_t net_csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline void net_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t net_get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

#endif
