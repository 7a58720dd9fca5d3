/* Unit tests of software TCP segmentation: segment sizes, sequence numbers,
 * IP lengths and ids, flags (CWR first, FIN/PSH last), checksums a receiver
 * accepts, the payload reassembled intact, IPv6 and VLAN-tagged frames, and
 * an emit error stopping the run. */
#include "vmm/virtio/net_gso.h"

#include <errno.h>

#include "lib/testing.h"
#include "vmm/virtio/net_testframe.h"

struct rec {
	int n, fail_at;
	bool v6;
	size_t l3, hdrs, total;
	uint32_t seq[64];
	uint16_t id[64], len[64];
	uint8_t flags[64];
	bool csum_ok[64];
	uint8_t payload[70000];
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int rec_emit(void *ctx, const struct iovec *iov, int cnt)
{
	struct rec *r = ctx;
	if (r->n == r->fail_at)
		return -ENOBUFS;
	uint8_t f[2048];
	size_t len = 0;
	for (int i = 0; i < cnt; i++) {
		if (len + iov[i].iov_len > sizeof f)
			return -EMSGSIZE;
		memcpy(f + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	size_t l4 = r->l3 + (r->v6 ? 40 : 20);
	int k = r->n++;
	r->len[k] = (uint16_t)len;
	r->seq[k] = be32(f + l4 + 4);
	r->flags[k] = f[l4 + 13];
	r->id[k] = r->v6 ? net_get_be16(f + r->l3 + 4) : net_get_be16(f + r->l3 + 4);
	r->csum_ok[k] = tf_csum_ok(f, len, r->v6, r->l3) &&
			net_get_be16(f + r->l3 + (r->v6 ? 4 : 2)) == len - r->l3 - (r->v6 ? 40 : 0);
	memcpy(r->payload + r->total, f + r->hdrs, len - r->hdrs);
	r->total += len - r->hdrs;
	return 0;
}

static uint8_t frame[70000];

TEST(net_gso_cuts_ipv4_tso_frame_into_mss_segments)
{
	static struct rec r;
	memset(&r, 0, sizeof r);
	r.fail_at = -1, r.l3 = 14, r.hdrs = 14 + 20 + TF_TCP_HLEN;
	/* CWR|PSH|FIN|ACK on the large frame. */
	size_t len = tf_build(frame, false, false, 4000, 0x80 | 0x08 | 0x01 | 0x10);
	struct vnet_gso g = { .v6 = 0, .l3 = 14, .l4 = 34, .hdrs = (uint16_t)r.hdrs, .mss = 1448 };
	EXPECT_EQ(net_gso_segment(frame, len, &g, rec_emit, &r), 3);
	EXPECT_EQ(r.n, 3);
	EXPECT_EQ(r.len[0], r.hdrs + 1448);
	EXPECT_EQ(r.len[2], r.hdrs + 4000 - 2 * 1448);
	EXPECT_EQ(r.seq[0], 0xffffff00u);
	EXPECT_EQ(r.seq[1], 0xffffff00u + 1448);
	EXPECT_EQ(r.seq[2], (uint32_t)(0xffffff00u + 2 * 1448));   /* wraps */
	EXPECT_EQ(r.id[0], 0x1234);
	EXPECT_EQ(r.id[2], 0x1236);
	EXPECT_EQ(r.flags[0], 0x80 | 0x10);
	EXPECT_EQ(r.flags[1], 0x10);
	EXPECT_EQ(r.flags[2], 0x08 | 0x01 | 0x10);
	for (int i = 0; i < 3; i++)
		EXPECT(r.csum_ok[i]);
	EXPECT_EQ(r.total, 4000);
	for (size_t i = 0; i < 4000; i++)
		EXPECT_EQ(r.payload[i], (uint8_t)i);
	/* The guest's frame is read only. */
	uint8_t again[70000];
	EXPECT_EQ(tf_build(again, false, false, 4000, 0x80 | 0x08 | 0x01 | 0x10), len);
	EXPECT(memcmp(again, frame, len) == 0);
}

TEST(net_gso_ipv6_with_vlan_and_a_64k_frame)
{
	static struct rec r;
	memset(&r, 0, sizeof r);
	r.fail_at = -1, r.v6 = true, r.l3 = 18, r.hdrs = 18 + 40 + TF_TCP_HLEN;
	size_t payload = 65535 - 40 - TF_TCP_HLEN;
	size_t len = tf_build(frame, true, true, payload, 0x18);
	struct vnet_gso g = { .v6 = 1, .l3 = 18, .l4 = 58, .hdrs = (uint16_t)r.hdrs, .mss = 1428 };
	int n = net_gso_segment(frame, len, &g, rec_emit, &r);
	EXPECT_EQ(n, (int)((payload + 1427) / 1428));
	for (int i = 0; i < n; i++) {
		EXPECT(r.csum_ok[i]);
		EXPECT_EQ(r.flags[i], i == n - 1 ? 0x18 : 0x10);
	}
	EXPECT_EQ(r.total, payload);
	for (size_t i = 0; i < payload; i++)
		EXPECT_EQ(r.payload[i], (uint8_t)i);
}

TEST(net_gso_odd_mss_and_tiny_segments)
{
	static struct rec r;
	memset(&r, 0, sizeof r);
	r.fail_at = -1, r.l3 = 14, r.hdrs = 14 + 20 + TF_TCP_HLEN;
	size_t len = tf_build(frame, false, false, 21, 0x10);
	struct vnet_gso g = { .l3 = 14, .l4 = 34, .hdrs = (uint16_t)r.hdrs, .mss = 1 };
	EXPECT_EQ(net_gso_segment(frame, len, &g, rec_emit, &r), 21);
	for (int i = 0; i < 21; i++)
		EXPECT(r.csum_ok[i]);
	memset(&r, 0, sizeof r);
	r.fail_at = -1, r.l3 = 14, r.hdrs = 14 + 20 + TF_TCP_HLEN;
	g.mss = 7;   /* odd: payload slices start at odd offsets of the frame */
	EXPECT_EQ(net_gso_segment(frame, len, &g, rec_emit, &r), 3);
	for (int i = 0; i < 3; i++)
		EXPECT(r.csum_ok[i]);
	/* No payload: one segment, headers only. */
	memset(&r, 0, sizeof r);
	r.fail_at = -1, r.l3 = 14, r.hdrs = 14 + 20 + TF_TCP_HLEN;
	len = tf_build(frame, false, false, 0, 0x10);
	EXPECT_EQ(net_gso_segment(frame, len, &g, rec_emit, &r), 1);
	EXPECT(r.csum_ok[0]);
}

TEST(net_gso_stops_at_the_first_emit_error)
{
	static struct rec r;
	memset(&r, 0, sizeof r);
	r.fail_at = 1, r.l3 = 14, r.hdrs = 14 + 20 + TF_TCP_HLEN;
	size_t len = tf_build(frame, false, false, 5000, 0x10);
	struct vnet_gso g = { .l3 = 14, .l4 = 34, .hdrs = (uint16_t)r.hdrs, .mss = 1000 };
	EXPECT_EQ(net_gso_segment(frame, len, &g, rec_emit, &r), -ENOBUFS);
	EXPECT_EQ(r.n, 1);
	/* Offsets that do not fit are refused, not followed. */
	g.hdrs = 200;
	EXPECT_EQ(net_gso_segment(frame, len, &g, rec_emit, &r), -EINVAL);
	g.hdrs = (uint16_t)r.hdrs, g.mss = 0;
	EXPECT_EQ(net_gso_segment(frame, len, &g, rec_emit, &r), -EINVAL);
}
