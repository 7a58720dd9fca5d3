/*
 * Test helpers for network backends (header-only, test programs only): a
 * capturing stand-in for the virtio-net device (the backend's receive hook)
 * that can refuse frames to exercise back-pressure, and builders/parsers
 * for the Ethernet, ARP, IPv4, UDP and TCP frames a guest would send.
 * Addresses are host-order uint32_t; checksums are computed as a guest's
 * stack would.
 */
#ifndef NIMBUS_VMM_NET_TESTNET_H
#define NIMBUS_VMM_NET_TESTNET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "vmm/virtio/net_backend.h"

#define TN_MAX_FRAMES 256
#define TN_FRAME 2048

struct tn_dev {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned n;                        /* frames captured (the first TN_MAX_FRAMES kept) */
	size_t len[TN_MAX_FRAMES];
	uint8_t f[TN_MAX_FRAMES][TN_FRAME];
	_Atomic bool full;                 /* refuse frames: "no receive buffer" */
	_Atomic int refused;
};

static inline int tn_receive(void *dev, const uint8_t *frame, size_t len)
{
	struct tn_dev *t = dev;
	if (atomic_load(&t->full)) {
		atomic_fetch_add(&t->refused, 1);
		return 0;
	}
	pthread_mutex_lock(&t->mu);
	if (t->n < TN_MAX_FRAMES) {
		t->len[t->n] = len < TN_FRAME ? len : TN_FRAME;
		memcpy(t->f[t->n], frame, t->len[t->n]);
	}
	t->n++;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	return 1;
}

static inline void tn_init(struct tn_dev *t, struct net_backend *be)
{
	memset(t, 0, sizeof *t);
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	be->receive = tn_receive;
	be->dev = t;
}

/* Waits up to ms for a captured frame at index >= *from matching pred;
 * returns its index (and sets *from past it) or -1. */
static inline int tn_wait(struct tn_dev *t, unsigned *from,
			  bool (*pred)(const uint8_t *f, size_t len, void *ctx), void *ctx, int ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&t->mu);
	int found = -1;
	for (;;) {
		for (; *from < t->n && *from < TN_MAX_FRAMES; (*from)++)
			if (pred(t->f[*from], t->len[*from], ctx)) {
				found = (int)(*from)++;
				goto out;
			}
		if (pthread_cond_timedwait(&t->cv, &t->mu, &until))
			break;
	}
out:
	pthread_mutex_unlock(&t->mu);
	return found;
}

/* --- building frames --- */

static inline void tn_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static inline void tn_put32(uint8_t *p, uint32_t v) { tn_put16(p, (uint16_t)(v >> 16)), tn_put16(p + 2, (uint16_t)v); }
static inline uint16_t tn_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t tn_get32(const uint8_t *p) { return (uint32_t)tn_get16(p) << 16 | tn_get16(p + 2); }

static inline uint32_t tn_sum(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += tn_get16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static inline uint16_t tn_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

#define TN_IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static inline size_t tn_eth(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	tn_put16(f + 12, type);
	return 14;
}

/* ARP (op 1 request, 2 reply) for IPv4 over Ethernet; returns the frame length. */
static inline size_t tn_arp(uint8_t *f, uint16_t op, const uint8_t smac[6], uint32_t sip,
			    const uint8_t tmac[6], uint32_t tip)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t o = tn_eth(f, op == 1 ? bcast : tmac, smac, 0x0806);
	uint8_t *a = f + o;
	tn_put16(a, 1);
	tn_put16(a + 2, 0x0800);
	a[4] = 6, a[5] = 4;
	tn_put16(a + 6, op);
	memcpy(a + 8, smac, 6);
	tn_put32(a + 14, sip);
	memcpy(a + 18, tmac, 6);
	tn_put32(a + 24, tip);
	return o + 28;
}

/* IPv4 header at f (20 bytes) for payload_len bytes of protocol proto. */
static inline void tn_ipv4(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto, size_t payload_len)
{
	memset(f, 0, 20);
	f[0] = 0x45;
	tn_put16(f + 2, (uint16_t)(20 + payload_len));
	f[6] = 0x40;   /* DF */
	f[8] = 64;
	f[9] = proto;
	tn_put32(f + 12, src);
	tn_put32(f + 16, dst);
	tn_put16(f + 10, tn_fold(tn_sum(f, 20, 0)));
}

static inline uint32_t tn_pseudo(uint32_t src, uint32_t dst, uint8_t proto, size_t len)
{
	uint8_t p[12];
	tn_put32(p, src);
	tn_put32(p + 4, dst);
	p[8] = 0, p[9] = proto;
	tn_put16(p + 10, (uint16_t)len);
	return tn_sum(p, 12, 0);
}

/* Ethernet + IPv4 + UDP frame; returns its length. */
static inline size_t tn_udp(uint8_t *f, const uint8_t dmac[6], const uint8_t smac[6],
			    uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
			    const void *data, size_t n)
{
	size_t o = tn_eth(f, dmac, smac, 0x0800);
	tn_ipv4(f + o, src, dst, 17, 8 + n);
	uint8_t *u = f + o + 20;
	tn_put16(u, sport);
	tn_put16(u + 2, dport);
	tn_put16(u + 4, (uint16_t)(8 + n));
	tn_put16(u + 6, 0);
	if (n)
		memcpy(u + 8, data, n);
	uint16_t c = tn_fold(tn_sum(u, 8 + n, tn_pseudo(src, dst, 17, 8 + n)));
	tn_put16(u + 6, c ? c : 0xffff);
	return o + 20 + 8 + n;
}

#define TN_FIN 0x01
#define TN_SYN 0x02
#define TN_PSH 0x08
#define TN_ACK 0x10

/* Ethernet + IPv4 + TCP frame (no options); returns its length. */
static inline size_t tn_tcp(uint8_t *f, const uint8_t dmac[6], const uint8_t smac[6],
			    uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
			    uint32_t seq, uint32_t ack, uint8_t flags, const void *data, size_t n)
{
	size_t o = tn_eth(f, dmac, smac, 0x0800);
	tn_ipv4(f + o, src, dst, 6, 20 + n);
	uint8_t *t = f + o + 20;
	memset(t, 0, 20);
	tn_put16(t, sport);
	tn_put16(t + 2, dport);
	tn_put32(t + 4, seq);
	tn_put32(t + 8, ack);
	t[12] = 5 << 4;
	t[13] = flags;
	tn_put16(t + 14, 65535);
	if (n)
		memcpy(t + 20, data, n);
	tn_put16(t + 16, tn_fold(tn_sum(t, 20 + n, tn_pseudo(src, dst, 6, 20 + n))));
	return o + 20 + 20 + n;
}

/* --- parsing --- */

struct tn_ip4 {
	uint32_t src, dst;
	uint8_t proto;
	uint16_t sport, dport;      /* UDP/TCP */
	uint32_t seq, ack;          /* TCP */
	uint8_t flags;              /* TCP */
	const uint8_t *data;        /* UDP/TCP payload */
	size_t n;
};

/* Parses an Ethernet/IPv4/UDP-or-TCP frame; false for anything else. */
static inline bool tn_parse(const uint8_t *f, size_t len, struct tn_ip4 *p)
{
	if (len < 34 || tn_get16(f + 12) != 0x0800 || (f[14] >> 4) != 4)
		return false;
	const uint8_t *ip = f + 14;
	size_t ihl = (ip[0] & 15) * 4u, tot = tn_get16(ip + 2);
	if (ihl < 20 || tot < ihl || 14 + tot > len)
		return false;
	p->src = tn_get32(ip + 12);
	p->dst = tn_get32(ip + 16);
	p->proto = ip[9];
	const uint8_t *l4 = ip + ihl;
	size_t l4len = tot - ihl;
	if (p->proto == 17 && l4len >= 8) {
		p->sport = tn_get16(l4), p->dport = tn_get16(l4 + 2);
		p->data = l4 + 8, p->n = l4len - 8;
		return true;
	}
	if (p->proto == 6 && l4len >= 20 && (l4[12] >> 4) * 4u <= l4len) {
		size_t off = (l4[12] >> 4) * 4u;
		p->sport = tn_get16(l4), p->dport = tn_get16(l4 + 2);
		p->seq = tn_get32(l4 + 4), p->ack = tn_get32(l4 + 8);
		p->flags = l4[13];
		p->data = l4 + off, p->n = l4len - off;
		return true;
	}
	return false;
}

#endif
