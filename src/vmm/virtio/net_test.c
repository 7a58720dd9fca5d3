/* Unit tests of virtio-net through the mmio transport with a recording
 * backend: config space, transmit (gathering, checksum completion, drops),
 * receive (delivery, back-pressure, oversized frames), broken chains. */
#include "vmm/virtio/net.h"

#include <errno.h>

#include "lib/testing.h"
#include "vmm/virtio/testdrv.h"

#define FEAT (VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC | VIRTIO_NET_F_MAC | \
	      VIRTIO_NET_F_STATUS | VIRTIO_NET_F_CSUM)
#define RX 0
#define TX 1
#define HDR VIRTIO_NET_HDR_BYTES

struct tbe {
	struct net_backend be;
	_Atomic int sent, rx_ready, closed;
	int send_rc;
	uint8_t last[2048];
	size_t last_len;
};

static int tbe_start(struct net_backend *be, struct err *err)
{
	(void)be;
	(void)err;
	return 0;
}

static int tbe_send(struct net_backend *be, const struct iovec *iov, int cnt)
{
	struct tbe *t = (struct tbe *)be;
	if (t->send_rc)
		return t->send_rc;
	size_t n = 0;
	for (int i = 0; i < cnt; i++) {
		size_t k = iov[i].iov_len;
		if (n + k > sizeof t->last)
			k = sizeof t->last - n;
		memcpy(t->last + n, iov[i].iov_base, k);
		n += k;
	}
	t->last_len = n;
	atomic_fetch_add(&t->sent, 1);
	return 0;
}

static void tbe_rx_ready(struct net_backend *be) { atomic_fetch_add(&((struct tbe *)be)->rx_ready, 1); }
static void tbe_close(struct net_backend *be) { atomic_fetch_add(&((struct tbe *)be)->closed, 1); }

static const struct net_backend_ops tbe_ops = {
	.start = tbe_start, .send = tbe_send, .rx_ready = tbe_rx_ready, .close = tbe_close,
};

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static struct virtio_device *make(struct tbe *t)
{
	memset(t, 0, sizeof *t);
	t->be.ops = &tbe_ops;
	struct virtio_device *dev;
	struct err e;
	return virtio_net_create(&t->be, MAC, &dev, &e) ? NULL : dev;
}

static int start(struct td *d, struct tbe *t, unsigned flags)
{
	struct virtio_device *dev = make(t);
	if (!dev)
		return -1;
	return td_start(d, dev, flags, FEAT, 2, 16);
}

static int deliver(struct tbe *t, const void *frame, size_t len)
{
	return t->be.receive(t->be.dev, frame, len);
}

static void put_hdr(struct td *d, uint64_t gpa, uint8_t flags, uint8_t gso, uint16_t cs, uint16_t co)
{
	uint8_t h[HDR] = { flags, gso };
	memcpy(h + 6, &cs, 2);
	memcpy(h + 8, &co, 2);
	memcpy(td_host(d, gpa), h, HDR);
}

TEST(net_config_and_features)
{
	struct td d;
	struct tbe t;
	EXPECT_EQ(start(&d, &t, VIRTIO_MMIO_SYNC), 0);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	uint64_t f = td_device_features(&d);
	EXPECT((f & FEAT) == FEAT);
	EXPECT(f & VIRTIO_NET_F_MRG_RXBUF);
	EXPECT(f & VIRTIO_NET_F_HOST_TSO4);
	EXPECT(f & VIRTIO_NET_F_GUEST_CSUM);
	for (unsigned i = 0; i < 6; i++)
		EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_CONFIG + i) & 0xff, MAC[i]);
	uint64_t v = 0;
	bus_load(&d.bus, TD_MMIO + VIRTIO_MMIO_CONFIG + 6, 2, &v);
	EXPECT_EQ(v, VIRTIO_NET_S_LINK_UP);
	bus_load(&d.bus, TD_MMIO + VIRTIO_MMIO_CONFIG + 8, 2, &v);
	EXPECT_EQ(v, 1);
	/* Link down: config change interrupt, status 0. */
	virtio_net_set_link(virtio_mmio_device(d.t), false);
	EXPECT(td_rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_ISR_CONFIG);
	bus_load(&d.bus, TD_MMIO + VIRTIO_MMIO_CONFIG + 6, 2, &v);
	EXPECT_EQ(v, 0);
	td_close(&d);
	EXPECT_EQ(atomic_load(&t.closed), 1);
}

TEST(net_tx_frame_reaches_backend)
{
	struct td d;
	struct tbe t;
	EXPECT_EQ(start(&d, &t, VIRTIO_MMIO_SYNC), 0);
	put_hdr(&d, TD_DATA, 0, 0, 0, 0);
	memcpy(td_host(&d, TD_DATA + 0x1000), "\xff\xff\xff\xff\xff\xff" "ABCDEF\x08\x00", 14);
	memcpy(td_host(&d, TD_DATA + 0x2000), "payload", 7);
	/* Header alone, then the frame in two pieces. */
	td_desc(&d, TX, 0, TD_DATA, HDR, VIRTQ_DESC_F_NEXT, 1);
	td_desc(&d, TX, 1, TD_DATA + 0x1000, 14, VIRTQ_DESC_F_NEXT, 2);
	td_desc(&d, TX, 2, TD_DATA + 0x2000, 7, 0, 0);
	td_post(&d, TX, 0);
	td_kick(&d, TX);
	EXPECT_EQ(td_used_idx(&d, TX), 1);
	uint32_t id, len;
	td_used_elem(&d, TX, 0, &id, &len);
	EXPECT_EQ(id, 0);
	EXPECT_EQ(len, 0);
	EXPECT_EQ(atomic_load(&t.sent), 1);
	EXPECT_EQ(t.last_len, 21);
	EXPECT(memcmp(t.last + 14, "payload", 7) == 0);
	EXPECT_EQ(atomic_load(&d.level), 1);
	/* Header and frame in one descriptor. */
	put_hdr(&d, TD_DATA + 0x3000, 0, 0, 0, 0);
	memcpy(td_host(&d, TD_DATA + 0x3000 + HDR), "0123456789abcdefgh", 18);
	td_desc(&d, TX, 3, TD_DATA + 0x3000, HDR + 18, 0, 0);
	td_post(&d, TX, 3);
	td_kick(&d, TX);
	EXPECT_EQ(atomic_load(&t.sent), 2);
	EXPECT_EQ(t.last_len, 18);
	EXPECT(memcmp(t.last, "0123456789abcdefgh", 18) == 0);
	struct virtio_net_stats st;
	virtio_net_stats(virtio_mmio_device(d.t), &st);
	EXPECT_EQ(st.tx_frames, 2);
	EXPECT_EQ(st.tx_bytes, 39);
	td_close(&d);
}

/* One's-complement sum of [p, p+n) folded to 16 bits. */
static uint16_t fold(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

TEST(net_tx_checksum_completed)
{
	struct td d;
	struct tbe t;
	EXPECT_EQ(start(&d, &t, VIRTIO_MMIO_SYNC), 0);
	/* Ethernet + IPv4 + UDP 10.0.2.15:1000 -> 10.0.2.2:2000, odd payload.
	 * The driver leaves the pseudo-header sum in the checksum field. */
	uint8_t f[14 + 20 + 8 + 5] = {0};
	f[12] = 0x08;
	uint8_t *ip = f + 14, *udp = ip + 20;
	ip[0] = 0x45;
	ip[9] = 17;
	memcpy(ip + 12, "\x0a\x00\x02\x0f\x0a\x00\x02\x02", 8);
	udp[0] = 0x03, udp[1] = 0xe8, udp[2] = 0x07, udp[3] = 0xd0;
	udp[5] = 13;
	memcpy(udp + 8, "hello", 5);
	uint8_t pseudo[12] = { 10, 0, 2, 15, 10, 0, 2, 2, 0, 17, 0, 13 };
	uint16_t ps = fold(pseudo, 12, 0);
	udp[6] = (uint8_t)(ps >> 8), udp[7] = (uint8_t)ps;
	put_hdr(&d, TD_DATA, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 34, 6);
	memcpy(td_host(&d, TD_DATA + HDR), f, sizeof f);
	td_desc(&d, TX, 0, TD_DATA, HDR + 20, VIRTQ_DESC_F_NEXT, 1);
	td_desc(&d, TX, 1, TD_DATA + HDR + 20, sizeof f - 20, 0, 0);
	td_post(&d, TX, 0);
	td_kick(&d, TX);
	EXPECT_EQ(atomic_load(&t.sent), 1);
	EXPECT_EQ(t.last_len, sizeof f);
	/* The receiver's check: pseudo header + UDP segment sums to 0xffff. */
	EXPECT_EQ(fold(t.last + 34, 13, fold(pseudo, 12, 0)), 0xffff);
	EXPECT(memcmp(td_host(&d, TD_DATA + HDR), f, sizeof f) == 0);   /* guest buffer untouched */

	/* Offsets outside the frame, and a GSO frame (not offered): dropped. */
	put_hdr(&d, TD_DATA + 0x1000, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 40, 6);
	td_desc(&d, TX, 2, TD_DATA + 0x1000, HDR + 47, 0, 0);
	put_hdr(&d, TD_DATA + 0x2000, 0, 1, 0, 0);
	td_desc(&d, TX, 3, TD_DATA + 0x2000, HDR + 60, 0, 0);
	td_post(&d, TX, 2);
	td_post(&d, TX, 3);
	td_kick(&d, TX);
	EXPECT_EQ(td_used_idx(&d, TX), 3);
	EXPECT_EQ(atomic_load(&t.sent), 1);
	struct virtio_net_stats st;
	virtio_net_stats(virtio_mmio_device(d.t), &st);
	EXPECT_EQ(st.tx_dropped, 2);
	EXPECT(!(td_rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	td_close(&d);
}

TEST(net_complete_csum_bounds)
{
	uint8_t b[8] = { 0x45, 0, 0, 0x1c, 0, 0, 0, 0 };
	EXPECT_EQ(virtio_net_complete_csum(b, 8, 0, 6), 0);
	EXPECT_EQ(fold(b, 8, 0), 0xffff);
	EXPECT_EQ(virtio_net_complete_csum(b, 8, 0, 7), -1);
	EXPECT_EQ(virtio_net_complete_csum(b, 8, 9, 0), -1);
	EXPECT_EQ(virtio_net_complete_csum(b, 8, 7, 0xffffu), -1);
	uint8_t z[4] = { 0, 0, 0, 0 };
	EXPECT_EQ(virtio_net_complete_csum(z, 4, 0, 2), 0);
	EXPECT_EQ(z[2], 0xff);   /* sum 0 -> ~0 = 0xffff */
}

TEST(net_rx_delivers_into_posted_buffers)
{
	struct td d;
	struct tbe t;
	EXPECT_EQ(start(&d, &t, VIRTIO_MMIO_SYNC), 0);
	/* Buffer 0: header and data split; buffer 1: one piece. */
	td_desc(&d, RX, 0, TD_DATA, HDR, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	td_desc(&d, RX, 1, TD_DATA + 0x1000, 1514, VIRTQ_DESC_F_WRITE, 0);
	td_desc(&d, RX, 2, TD_DATA + 0x2000, HDR + 1514, VIRTQ_DESC_F_WRITE, 0);
	memset(td_host(&d, TD_DATA), 0xee, HDR);
	td_post(&d, RX, 0);
	td_post(&d, RX, 2);
	int before = atomic_load(&t.rx_ready);
	td_kick(&d, RX);
	EXPECT_EQ(atomic_load(&t.rx_ready), before + 1);
	uint8_t f1[60], f2[1514];
	memset(f1, 0x11, sizeof f1);
	memset(f2, 0x22, sizeof f2);
	EXPECT_EQ(deliver(&t, f1, sizeof f1), 1);
	EXPECT_EQ(deliver(&t, f2, sizeof f2), 1);
	EXPECT_EQ(td_used_idx(&d, RX), 2);
	uint32_t id, len;
	td_used_elem(&d, RX, 0, &id, &len);
	EXPECT_EQ(id, 0);
	EXPECT_EQ(len, HDR + 60);
	uint8_t want[HDR] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	EXPECT(memcmp(td_host(&d, TD_DATA), want, HDR) == 0);
	EXPECT(memcmp(td_host(&d, TD_DATA + 0x1000), f1, 60) == 0);
	td_used_elem(&d, RX, 1, &id, &len);
	EXPECT_EQ(id, 2);
	EXPECT_EQ(len, HDR + 1514);
	EXPECT(memcmp(td_host(&d, TD_DATA + 0x2000 + HDR), f2, 1514) == 0);
	EXPECT_EQ(atomic_load(&d.level), 1);
	td_close(&d);
}

TEST(net_rx_holds_frames_without_buffers)
{
	struct td d;
	struct tbe t;
	EXPECT_EQ(start(&d, &t, VIRTIO_MMIO_SYNC), 0);
	uint8_t f[64];
	memset(f, 0x5a, sizeof f);
	int before = atomic_load(&t.rx_ready);
	EXPECT_EQ(deliver(&t, f, sizeof f), 0);   /* no buffer: the backend keeps it */
	EXPECT_EQ(td_used_idx(&d, RX), 0);
	td_desc(&d, RX, 0, TD_DATA, 2048, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, RX, 0);
	td_kick(&d, RX);
	EXPECT_EQ(atomic_load(&t.rx_ready), before + 1);
	EXPECT_EQ(deliver(&t, f, sizeof f), 1);
	EXPECT_EQ(td_used_idx(&d, RX), 1);
	EXPECT_EQ(deliver(&t, f, sizeof f), 0);
	/* A device reset wakes the backend; frames are then dropped, not held. */
	td_wr(&d, VIRTIO_MMIO_STATUS, 0);
	EXPECT_EQ(atomic_load(&t.rx_ready), before + 2);
	EXPECT_EQ(deliver(&t, f, sizeof f), 1);
	struct virtio_net_stats st;
	virtio_net_stats(virtio_mmio_device(d.t), &st);
	EXPECT_EQ(st.rx_frames, 1);
	EXPECT_EQ(st.rx_dropped, 1);
	td_close(&d);
}

TEST(net_rx_oversized_frame_keeps_buffer)
{
	struct td d;
	struct tbe t;
	EXPECT_EQ(start(&d, &t, VIRTIO_MMIO_SYNC), 0);
	td_desc(&d, RX, 0, TD_DATA, HDR + 100, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, RX, 0);
	uint8_t f[200] = {0};
	EXPECT_EQ(deliver(&t, f, 200), 1);        /* dropped */
	EXPECT_EQ(td_used_idx(&d, RX), 0);
	EXPECT_EQ(deliver(&t, f, 100), 1);        /* fits the same buffer */
	EXPECT_EQ(td_used_idx(&d, RX), 1);
	uint32_t id, len;
	td_used_elem(&d, RX, 0, &id, &len);
	EXPECT_EQ(len, HDR + 100);
	EXPECT_EQ(deliver(&t, f, 10), 0);
	EXPECT(!(td_rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	td_close(&d);
}

TEST(net_rx_dropped_before_driver_ok)
{
	struct td d;
	struct tbe t;
	struct virtio_device *dev = make(&t);
	EXPECT(dev != NULL);
	EXPECT_EQ(td_open(&d, dev, VIRTIO_MMIO_SYNC), 0);
	uint8_t f[64] = {0};
	EXPECT_EQ(deliver(&t, f, sizeof f), 1);
	EXPECT(td_negotiate(&d, FEAT) & VIRTIO_STATUS_FEATURES_OK);
	EXPECT_EQ(td_queue(&d, RX, 16), 1);
	td_desc(&d, RX, 0, TD_DATA, 2048, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, RX, 0);
	EXPECT_EQ(deliver(&t, f, sizeof f), 1);
	EXPECT_EQ(td_used_idx(&d, RX), 0);
	td_driver_ok(&d);
	EXPECT_EQ(deliver(&t, f, sizeof f), 1);
	EXPECT_EQ(td_used_idx(&d, RX), 1);
	td_close(&d);
}

static int needs_reset(struct td *d)
{
	return (td_rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET) != 0;
}

TEST(net_bad_chains_need_reset)
{
	struct td d;
	struct tbe t;
	uint8_t f[64] = {0};
	EXPECT_EQ(start(&d, &t, VIRTIO_MMIO_SYNC), 0);
	/* tx chain with a writable buffer */
	td_desc(&d, TX, 0, TD_DATA, HDR + 20, VIRTQ_DESC_F_NEXT, 1);
	td_desc(&d, TX, 1, TD_DATA + 0x1000, 10, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, TX, 0);
	td_kick(&d, TX);
	EXPECT(needs_reset(&d));
	EXPECT_EQ(atomic_load(&t.sent), 0);
	EXPECT(td_rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_ISR_CONFIG);

	td_close(&d);

	/* tx chain shorter than the header */

	EXPECT_EQ(start(&d, &t, VIRTIO_MMIO_SYNC), 0);
	td_desc(&d, TX, 0, TD_DATA, HDR - 1, 0, 0);
	td_post(&d, TX, 0);
	td_kick(&d, TX);
	EXPECT(needs_reset(&d));
	td_close(&d);

	/* rx chain with a readable buffer */
	EXPECT_EQ(start(&d, &t, VIRTIO_MMIO_SYNC), 0);
	td_desc(&d, RX, 0, TD_DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	td_desc(&d, RX, 1, TD_DATA + 0x1000, 2048, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, RX, 0);
	EXPECT_EQ(deliver(&t, f, sizeof f), 1);
	EXPECT(needs_reset(&d));
	EXPECT_EQ(deliver(&t, f, sizeof f), 1);   /* dropped while broken */
	td_close(&d);

	/* rx buffer too short for the header */
	EXPECT_EQ(start(&d, &t, VIRTIO_MMIO_SYNC), 0);
	td_desc(&d, RX, 0, TD_DATA, HDR - 2, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, RX, 0);
	EXPECT_EQ(deliver(&t, f, sizeof f), 1);
	EXPECT(needs_reset(&d));
	/* The driver's reset clears it and the device works again. */
	td_wr(&d, VIRTIO_MMIO_STATUS, 0);
	EXPECT(td_negotiate(&d, FEAT) & VIRTIO_STATUS_FEATURES_OK);
	EXPECT_EQ(td_queue(&d, RX, 16), 1);
	EXPECT_EQ(td_queue(&d, TX, 16), 1);
	td_driver_ok(&d);
	EXPECT(!needs_reset(&d));
	td_desc(&d, RX, 0, TD_DATA, 2048, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, RX, 0);
	EXPECT_EQ(deliver(&t, f, sizeof f), 1);
	EXPECT_EQ(td_used_idx(&d, RX), 1);

	/* A ring-level violation (head outside the table) also breaks it. */
	td_put16(&d, d.q[TX].avail + 4, 99);
	td_put16(&d, d.q[TX].avail + 2, 1);
	td_kick(&d, TX);
	EXPECT(needs_reset(&d));
	td_close(&d);
}

TEST(net_threaded_tx_and_rx)
{
	struct td d;
	struct tbe t;
	EXPECT_EQ(start(&d, &t, 0), 0);
	for (int i = 0; i < 16; i++) {
		put_hdr(&d, TD_DATA + 128 * i, 0, 0, 0, 0);
		td_desc(&d, TX, i, TD_DATA + 128 * i, HDR + 60, 0, 0);
		td_post(&d, TX, i);
	}
	td_kick(&d, TX);
	EXPECT_EQ(td_wait_used(&d, TX, 16, 5000), 0);
	EXPECT_EQ(atomic_load(&t.sent), 16);
	for (int i = 0; i < 8; i++) {
		td_desc(&d, RX, i, TD_DATA + 0x10000 + 0x800 * i, 0x800, VIRTQ_DESC_F_WRITE, 0);
		td_post(&d, RX, i);
	}
	td_kick(&d, RX);
	uint8_t f[100] = {0};
	for (int i = 0; i < 8; i++)
		EXPECT_EQ(deliver(&t, f, sizeof f), 1);
	EXPECT_EQ(deliver(&t, f, sizeof f), 0);
	EXPECT_EQ(td_used_idx(&d, RX), 8);
	td_close(&d);
}

/* --- offloads --- */

#include "vmm/virtio/net_hdr.h"
#include "vmm/virtio/net_testframe.h"

#define OFFLOADS (VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_HOST_TSO6 | VIRTIO_NET_F_HOST_ECN | \
		  VIRTIO_NET_F_GUEST_CSUM)

static int start_caps(struct td *d, struct tbe *t, unsigned caps, uint64_t extra)
{
	memset(t, 0, sizeof *t);
	t->be.ops = &tbe_ops;
	t->be.caps = caps;
	struct virtio_device *dev;
	struct err e;
	if (virtio_net_create(&t->be, MAC, &dev, &e))
		return -1;
	return td_start(d, dev, VIRTIO_MMIO_SYNC, FEAT | extra, 2, 16);
}

/* Posts a TSO frame (header + frame in one descriptor) at slot i and kicks. */
static size_t post_tso(struct td *d, unsigned i, bool v6, size_t payload, uint8_t gso_type,
		       uint16_t mss)
{
	uint64_t at = TD_DATA + 0x20000ull * i;
	uint8_t *p = td_host(d, at);
	size_t len = tf_build(p + HDR, v6, false, payload, 0x18);
	size_t l4 = 14 + (v6 ? 40 : 20);
	uint8_t h[HDR] = { VIRTIO_NET_HDR_F_NEEDS_CSUM, gso_type };
	net_put_be16(h + 2, 0), h[2] = (uint8_t)(l4 + TF_TCP_HLEN);   /* le16 hdr_len */
	h[4] = (uint8_t)mss, h[5] = (uint8_t)(mss >> 8);
	h[6] = (uint8_t)l4;
	h[8] = 16;
	memcpy(p, h, HDR);
	td_desc(d, TX, i, at, (uint32_t)(HDR + len), 0, 0);
	td_post(d, TX, (uint16_t)i);
	td_kick(d, TX);
	return len;
}

TEST(net_tso_segmented_for_a_backend_of_mtu_frames)
{
	struct td d;
	struct tbe t;
	EXPECT_EQ(start_caps(&d, &t, 0, OFFLOADS), 0);
	post_tso(&d, 0, false, 4000, VIRTIO_NET_HDR_GSO_TCPV4, 1448);
	EXPECT_EQ(td_used_idx(&d, TX), 1);
	EXPECT_EQ(atomic_load(&t.sent), 3);
	size_t hdrs = 14 + 20 + TF_TCP_HLEN;
	EXPECT_EQ(t.last_len, hdrs + 4000 - 2 * 1448);
	EXPECT(tf_csum_ok(t.last, t.last_len, false, 14));
	EXPECT_EQ(t.last[14 + 20 + 13], 0x18);   /* PSH kept on the last segment */
	/* IPv6 with ECN. */
	post_tso(&d, 1, true, 3000, VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN, 1000);
	EXPECT_EQ(atomic_load(&t.sent), 6);
	EXPECT(tf_csum_ok(t.last, t.last_len, true, 14));
	struct virtio_net_stats st;
	virtio_net_stats(virtio_mmio_device(d.t), &st);
	EXPECT_EQ(st.tx_frames, 2);
	EXPECT_EQ(st.tx_gso, 2);
	EXPECT_EQ(st.tx_segments, 6);
	EXPECT_EQ(st.tx_dropped, 0);
	td_close(&d);
}

/* A backend that takes whole packets gets the frame at once, summed. */
static uint8_t big[70000];
static size_t big_len;
static int big_send(struct net_backend *be, const struct iovec *iov, int cnt)
{
	struct tbe *t = (struct tbe *)be;
	big_len = 0;
	for (int i = 0; i < cnt; i++) {
		memcpy(big + big_len, iov[i].iov_base, iov[i].iov_len);
		big_len += iov[i].iov_len;
	}
	atomic_fetch_add(&t->sent, 1);
	return 0;
}

TEST(net_tso_passed_whole_to_a_backend_of_large_frames)
{
	static const struct net_backend_ops ops = {
		.start = tbe_start, .send = big_send, .rx_ready = tbe_rx_ready, .close = tbe_close,
	};
	struct td d;
	struct tbe t;
	EXPECT_EQ(start_caps(&d, &t, NET_BE_CAP_LARGE, OFFLOADS), 0);
	t.be.ops = &ops;
	size_t len = post_tso(&d, 0, false, 60000, VIRTIO_NET_HDR_GSO_TCPV4, 1448);
	EXPECT_EQ(atomic_load(&t.sent), 1);
	EXPECT_EQ(big_len, len);
	EXPECT(tf_csum_ok(big, big_len, false, 14));
	t.be.ops = &tbe_ops;
	td_close(&d);
}

TEST(net_tso_bad_headers_dropped_and_counted)
{
	struct td d;
	struct tbe t;
	/* TSO6 not negotiated: a TCPV6 frame is refused. */
	EXPECT_EQ(start_caps(&d, &t, 0, VIRTIO_NET_F_HOST_TSO4), 0);
	post_tso(&d, 0, true, 3000, VIRTIO_NET_HDR_GSO_TCPV6, 1000);
	/* gso_size 0. */
	post_tso(&d, 1, false, 3000, VIRTIO_NET_HDR_GSO_TCPV4, 0);
	/* csum_start past the frame. */
	post_tso(&d, 2, false, 3000, VIRTIO_NET_HDR_GSO_TCPV4, 1000);
	uint8_t *h = td_host(&d, TD_DATA + 0x40000);
	h[6] = 0xff, h[7] = 0xff;
	td_post(&d, TX, 2);   /* again, with the broken header */
	td_kick(&d, TX);
	EXPECT_EQ(td_used_idx(&d, TX), 4);
	EXPECT_EQ(atomic_load(&t.sent), 3);   /* only the first post of slot 2 */
	struct virtio_net_stats st;
	virtio_net_stats(virtio_mmio_device(d.t), &st);
	EXPECT_EQ(st.tx_bad_hdr, 3);
	EXPECT_EQ(st.tx_dropped, 3);
	EXPECT_EQ(virtio_device_live(virtio_mmio_device(d.t)), 1);   /* not a device fault */
	td_close(&d);
}

TEST(net_rx_data_valid_only_from_a_backend_that_vouches)
{
	for (unsigned caps = 0; caps < 2; caps++) {
		struct td d;
		struct tbe t;
		EXPECT_EQ(start_caps(&d, &t, caps ? NET_BE_CAP_RX_CSUM_VALID : 0, OFFLOADS), 0);
		td_desc(&d, RX, 0, TD_DATA, HDR + 1514, VIRTQ_DESC_F_WRITE, 0);
		td_post(&d, RX, 0);
		uint8_t f[60] = {0};
		EXPECT_EQ(deliver(&t, f, sizeof f), 1);
		EXPECT_EQ(td_used_idx(&d, RX), 1);
		EXPECT_EQ(*(uint8_t *)td_host(&d, TD_DATA), caps ? VIRTIO_NET_HDR_F_DATA_VALID : 0);
		td_close(&d);
	}
	/* Without GUEST_CSUM negotiated: flags stay 0. */
	struct td d;
	struct tbe t;
	EXPECT_EQ(start_caps(&d, &t, NET_BE_CAP_RX_CSUM_VALID, 0), 0);
	td_desc(&d, RX, 0, TD_DATA, HDR + 1514, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, RX, 0);
	uint8_t f[60] = {0};
	EXPECT_EQ(deliver(&t, f, sizeof f), 1);
	EXPECT_EQ(*(uint8_t *)td_host(&d, TD_DATA), 0);
	td_close(&d);
}

TEST(net_rx_mergeable_buffers_spread_a_frame)
{
	struct td d;
	struct tbe t;
	EXPECT_EQ(start_caps(&d, &t, 0, VIRTIO_NET_F_MRG_RXBUF), 0);
	/* Three 1000-byte buffers; a 2500-byte frame needs all three (12 + 2500). */
	for (unsigned i = 0; i < 2; i++) {
		td_desc(&d, RX, i, TD_DATA + 0x1000ull * i, 1000, VIRTQ_DESC_F_WRITE, 0);
		td_post(&d, RX, (uint16_t)i);
	}
	static uint8_t f[2500];
	for (size_t i = 0; i < sizeof f; i++)
		f[i] = (uint8_t)(i * 7);
	/* Only two posted: not enough, the frame stays with the backend and
	 * nothing is published. */
	EXPECT_EQ(deliver(&t, f, sizeof f), 0);
	EXPECT_EQ(td_used_idx(&d, RX), 0);
	td_desc(&d, RX, 2, TD_DATA + 0x2000, 1000, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, RX, 2);
	EXPECT_EQ(deliver(&t, f, sizeof f), 1);
	EXPECT_EQ(td_used_idx(&d, RX), 3);
	uint32_t id, len;
	td_used_elem(&d, RX, 0, &id, &len);
	EXPECT_EQ(id, 0);
	EXPECT_EQ(len, 1000);
	td_used_elem(&d, RX, 2, &id, &len);
	EXPECT_EQ(id, 2);
	EXPECT_EQ(len, HDR + 2500 - 2000);
	EXPECT_EQ(td_get16(&d, TD_DATA + 10), 3);   /* num_buffers */
	EXPECT(memcmp(td_host(&d, TD_DATA + HDR), f, 1000 - HDR) == 0);
	EXPECT(memcmp(td_host(&d, TD_DATA + 0x1000), f + 1000 - HDR, 1000) == 0);
	EXPECT(memcmp(td_host(&d, TD_DATA + 0x2000), f + 2000 - HDR, 500 + HDR) == 0);
	/* A small frame takes one buffer: num_buffers 1. */
	td_desc(&d, RX, 3, TD_DATA + 0x3000, 1000, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, RX, 3);
	EXPECT_EQ(deliver(&t, f, 100), 1);
	EXPECT_EQ(td_used_idx(&d, RX), 4);
	EXPECT_EQ(td_get16(&d, TD_DATA + 0x3000 + 10), 1);
	/* A later buffer with device-readable parts breaks the device. */
	td_desc(&d, RX, 4, TD_DATA + 0x4000, 20, VIRTQ_DESC_F_WRITE, 0);
	td_desc(&d, RX, 5, TD_DATA + 0x5000, 1000, 0, 0);
	td_post(&d, RX, 4);
	td_post(&d, RX, 5);
	EXPECT_EQ(deliver(&t, f, 100), 1);
	EXPECT_EQ(td_used_idx(&d, RX), 4);
	EXPECT_EQ(virtio_device_live(virtio_mmio_device(d.t)), 0);
	td_close(&d);
}

/* --- a backend that speaks virtio_net_hdr (TAP with IFF_VNET_HDR) --- */

static uint8_t vhdr[HDR];
static _Atomic int offl_calls;
static _Atomic unsigned offl_last;

static int vnet_send(struct net_backend *be, const uint8_t hdr[NET_VNET_HDR_BYTES],
		     const struct iovec *iov, int cnt)
{
	memcpy(vhdr, hdr, HDR);
	return big_send(be, iov, cnt);
}

static void vnet_set_offloads(struct net_backend *be, unsigned o)
{
	(void)be;
	atomic_store(&offl_last, o);
	atomic_fetch_add(&offl_calls, 1);
}

static const struct net_backend_ops vnet_ops = {
	.start = tbe_start, .send = big_send, .rx_ready = tbe_rx_ready, .close = tbe_close,
	.send_vnet = vnet_send, .set_offloads = vnet_set_offloads,
};

static int start_vnet(struct td *d, struct tbe *t, uint64_t extra)
{
	memset(t, 0, sizeof *t);
	t->be.ops = &vnet_ops;
	t->be.caps = NET_BE_CAP_VNET_HDR;
	atomic_store(&offl_calls, 0);
	struct virtio_device *dev;
	struct err e;
	if (virtio_net_create(&t->be, MAC, &dev, &e))
		return -1;
	return td_start(d, dev, VIRTIO_MMIO_SYNC, FEAT | extra, 2, 16);
}

TEST(net_vnet_backend_takes_gso_whole_with_a_checked_header)
{
	struct td d;
	struct tbe t;
	EXPECT_EQ(start_vnet(&d, &t, VIRTIO_NET_F_HOST_TSO4), 0);
	EXPECT(td_device_features(&d) & VIRTIO_NET_F_GUEST_TSO4);
	size_t len = post_tso(&d, 0, false, 30000, VIRTIO_NET_HDR_GSO_TCPV4, 1448);
	EXPECT_EQ(atomic_load(&t.sent), 1);
	EXPECT_EQ(big_len, len);
	struct vnet_hdr h;
	vnet_hdr_decode(vhdr, &h);
	EXPECT_EQ(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	EXPECT_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	EXPECT_EQ(h.gso_size, 1448);
	EXPECT_EQ(h.hdr_len, 34 + TF_TCP_HLEN);   /* parsed, not the guest's hint */
	EXPECT_EQ(h.csum_start, 34);
	EXPECT_EQ(h.csum_offset, 16);
	/* A refused header never reaches the backend. */
	post_tso(&d, 1, true, 3000, VIRTIO_NET_HDR_GSO_TCPV6, 1000);
	EXPECT_EQ(atomic_load(&t.sent), 1);
	td_close(&d);
}

TEST(net_vnet_offloads_follow_what_the_driver_accepts)
{
	struct td d;
	struct tbe t;
	EXPECT_EQ(start_vnet(&d, &t, VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4 |
					 VIRTIO_NET_F_GUEST_ECN), 0);
	td_kick(&d, RX);
	EXPECT_EQ(atomic_load(&offl_last), NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_ECN);
	int calls = atomic_load(&offl_calls);
	td_kick(&d, RX);
	EXPECT_EQ(atomic_load(&offl_calls), calls);   /* unchanged: not told again */
	td_wr(&d, VIRTIO_MMIO_STATUS, 0);             /* reset: none */
	EXPECT_EQ(atomic_load(&offl_last), 0);
	td_close(&d);
}

static size_t vnet_frame(uint8_t *buf, uint8_t flags, uint8_t gso, uint16_t mss, size_t payload)
{
	size_t len = tf_build(buf + HDR, false, false, payload, 0x10);
	struct vnet_hdr h = { .flags = flags, .gso_type = gso, .gso_size = mss, .hdr_len = 66,
			      .csum_start = 34, .csum_offset = 16 };
	vnet_hdr_encode(&h, buf);
	return HDR + len;
}

TEST(net_vnet_rx_large_frames_reach_a_driver_that_takes_them)
{
	struct td d;
	struct tbe t;
	EXPECT_EQ(start_vnet(&d, &t, VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4 |
					 VIRTIO_NET_F_MRG_RXBUF), 0);
	for (unsigned i = 0; i < 8; i++) {
		td_desc(&d, RX, i, TD_DATA + 0x1000ull * i, 4096, VIRTQ_DESC_F_WRITE, 0);
		td_post(&d, RX, (uint16_t)i);
	}
	static uint8_t buf[HDR + 20000];
	size_t n = vnet_frame(buf, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 10000);
	EXPECT_EQ(t.be.receive_vnet(t.be.dev, buf, n), 1);
	EXPECT_EQ(td_used_idx(&d, RX), 3);   /* 12 + 10066 bytes in 4 KiB buffers */
	struct vnet_hdr h;
	vnet_hdr_decode(td_host(&d, TD_DATA), &h);
	EXPECT_EQ(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	EXPECT_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	EXPECT_EQ(h.gso_size, 1448);
	EXPECT_EQ(h.csum_start, 34);
	EXPECT_EQ(h.num_buffers, 3);
	EXPECT(memcmp(td_host(&d, TD_DATA + HDR), buf + HDR, 4096 - HDR) == 0);
	/* DATA_VALID from the kernel passes through. */
	n = vnet_frame(buf, VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 100);
	EXPECT_EQ(t.be.receive_vnet(t.be.dev, buf, n), 1);
	EXPECT_EQ(*(uint8_t *)td_host(&d, TD_DATA + 0x3000), VIRTIO_NET_HDR_F_DATA_VALID);
	/* A hostile header: csum_start past the frame. */
	n = vnet_frame(buf, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 100);
	buf[6] = 0xff, buf[7] = 0x7f;
	EXPECT_EQ(t.be.receive_vnet(t.be.dev, buf, n), 1);
	EXPECT_EQ(t.be.receive_vnet(t.be.dev, buf, 5), 1);   /* shorter than a header */
	EXPECT_EQ(td_used_idx(&d, RX), 4);
	struct virtio_net_stats st;
	virtio_net_stats(virtio_mmio_device(d.t), &st);
	EXPECT_EQ(st.rx_bad_hdr, 1);
	EXPECT_EQ(st.rx_dropped, 2);
	td_close(&d);
}

TEST(net_vnet_rx_offloads_the_driver_refused_are_undone_or_dropped)
{
	struct td d;
	struct tbe t;
	EXPECT_EQ(start_vnet(&d, &t, 0), 0);   /* no GUEST_CSUM, no GUEST_TSO4 */
	for (unsigned i = 0; i < 2; i++) {
		td_desc(&d, RX, i, TD_DATA + 0x10000ull * i, 0x10000, VIRTQ_DESC_F_WRITE, 0);
		td_post(&d, RX, (uint16_t)i);
	}
	static uint8_t buf[HDR + 20000];
	size_t n = vnet_frame(buf, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 10000);
	EXPECT_EQ(t.be.receive_vnet(t.be.dev, buf, n), 1);
	EXPECT_EQ(td_used_idx(&d, RX), 0);   /* a GSO frame it cannot take: dropped */
	/* A partial checksum is completed; the header says nothing. */
	n = vnet_frame(buf, VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 1000);
	EXPECT_EQ(t.be.receive_vnet(t.be.dev, buf, n), 1);
	EXPECT_EQ(td_used_idx(&d, RX), 1);
	uint8_t *g = td_host(&d, TD_DATA);
	EXPECT_EQ(g[0], 0);
	EXPECT_EQ(g[1], 0);
	EXPECT(tf_csum_ok(g + HDR, n - HDR, false, 14));
	td_close(&d);
}

static uint16_t link_status(struct td *d)
{
	uint64_t v = 0;
	bus_load(&d->bus, TD_MMIO + VIRTIO_MMIO_CONFIG + 6, 2, &v);
	return (uint16_t)v;
}

TEST(net_empty_slot_link_comes_up_when_a_backend_is_inserted_and_drops_at_eject)
{
	struct net_backend *empty;
	struct virtio_device *dev;
	struct err e;
	EXPECT_EQ(net_empty_open(&empty, &e), 0);
	EXPECT_EQ(virtio_net_create(empty, MAC, &dev, &e), 0);
	struct td d;
	/* The offloads a TAP brings are offered from boot: the guest keeps them. */
	EXPECT_EQ(td_start(&d, dev, VIRTIO_MMIO_SYNC, FEAT, 2, 16), 0);
	EXPECT(td_device_features(&d) & VIRTIO_NET_F_GUEST_TSO4);
	EXPECT_EQ(link_status(&d), 0);
	EXPECT(!virtio_net_loaded(dev));
	/* No cable: a frame sent goes nowhere, counted as dropped. */
	put_hdr(&d, TD_DATA, 0, 0, 0, 0);
	td_desc(&d, TX, 0, TD_DATA, HDR + 20, 0, 0);
	td_post(&d, TX, 0);
	td_kick(&d, TX);
	struct virtio_net_stats st;
	virtio_net_stats(dev, &st);
	EXPECT_EQ(st.tx_dropped, 1);

	struct tbe t;
	memset(&t, 0, sizeof t);
	t.be.ops = &tbe_ops;
	td_wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, td_rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS));
	EXPECT_EQ(virtio_net_insert(dev, &t.be, &e), 0);
	EXPECT(td_rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_ISR_CONFIG);
	EXPECT_EQ(link_status(&d), VIRTIO_NET_S_LINK_UP);
	EXPECT(virtio_net_loaded(dev));
	uint8_t mac[6];
	virtio_net_mac(dev, mac);
	EXPECT(memcmp(mac, MAC, 6) == 0);
	/* Frames flow both ways through the new backend. */
	td_desc(&d, TX, 1, TD_DATA, HDR + 20, 0, 0);
	td_post(&d, TX, 1);
	td_kick(&d, TX);
	EXPECT_EQ(atomic_load(&t.sent), 1);
	td_desc(&d, RX, 0, TD_DATA + 0x1000, HDR + 1514, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, RX, 0);
	td_kick(&d, RX);
	uint8_t f[60];
	memset(f, 0x5a, sizeof f);
	EXPECT_EQ(deliver(&t, f, sizeof f), 1);
	EXPECT_EQ(td_used_idx(&d, RX), 1);
	/* A second backend is refused and stays the caller's. */
	struct tbe t2;
	memset(&t2, 0, sizeof t2);
	t2.be.ops = &tbe_ops;
	EXPECT_EQ(virtio_net_insert(dev, &t2.be, &e), -EBUSY);
	EXPECT(strstr(e.msg, "holds a NIC already"));
	EXPECT_EQ(atomic_load(&t2.closed), 0);

	td_wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, td_rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS));
	EXPECT_EQ(virtio_net_eject(dev, &e), 0);
	EXPECT_EQ(atomic_load(&t.closed), 1);
	EXPECT(td_rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_ISR_CONFIG);
	EXPECT_EQ(link_status(&d), 0);
	EXPECT(!virtio_net_loaded(dev));
	EXPECT_EQ(virtio_net_eject(dev, &e), -ENOENT);
	td_close(&d);
}
