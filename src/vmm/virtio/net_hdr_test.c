/* Unit tests of the transmit virtio_net_hdr checks: good TSO frames pass,
 * and every hostile field (gso type, gso_size, hdr_len, csum_start/offset,
 * a frame that is not the packet it claims) is refused with its reason. */
#include "vmm/virtio/net_hdr.h"

#include "lib/testing.h"
#include "vmm/virtio/net_testframe.h"

#define ALL (VNET_TX_TSO4 | VNET_TX_TSO6 | VNET_TX_ECN)

static struct vnet_hdr tso(bool v6, size_t l3)
{
	return (struct vnet_hdr){ .flags = VNET_F_NEEDS_CSUM,
				  .gso_type = v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4,
				  .hdr_len = (uint16_t)(l3 + (v6 ? 40 : 20) + TF_TCP_HLEN),
				  .gso_size = 1448, .csum_start = (uint16_t)(l3 + (v6 ? 40 : 20)),
				  .csum_offset = 16 };
}

TEST(net_hdr_decode_encode_round_trip)
{
	uint8_t raw[12] = { 1, 0x81, 0x42, 0, 0xa8, 5, 0x22, 0, 0x10, 0, 3, 0 }, back[12];
	struct vnet_hdr h;
	vnet_hdr_decode(raw, &h);
	EXPECT_EQ(h.flags, 1);
	EXPECT_EQ(h.gso_type, 0x81);
	EXPECT_EQ(h.hdr_len, 0x42);
	EXPECT_EQ(h.gso_size, 1448);
	EXPECT_EQ(h.csum_start, 34);
	EXPECT_EQ(h.csum_offset, 16);
	EXPECT_EQ(h.num_buffers, 3);
	vnet_hdr_encode(&h, back);
	EXPECT(memcmp(raw, back, 12) == 0);
}

TEST(net_hdr_accepts_tso_v4_v6_and_vlan)
{
	static uint8_t f[70000];
	struct vnet_gso g;
	size_t len = tf_build(f, false, false, 60000, 0x18);
	struct vnet_hdr h = tso(false, 14);
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_OK);
	EXPECT_EQ(g.v6, 0);
	EXPECT_EQ(g.l3, 14);
	EXPECT_EQ(g.l4, 34);
	EXPECT_EQ(g.hdrs, 34 + TF_TCP_HLEN);
	EXPECT_EQ(g.mss, 1448);
	len = tf_build(f, true, true, 5000, 0x10);
	h = tso(true, 18);
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_OK);
	EXPECT_EQ(g.v6, 1);
	EXPECT_EQ(g.l4, 58);
	h.gso_type |= VNET_GSO_ECN;
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_OK);
	/* hdr_len is a hint: any value inside the frame will do. */
	h.hdr_len = 0;
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_OK);
}

TEST(net_hdr_refuses_types_not_negotiated)
{
	static uint8_t f[4096];
	struct vnet_gso g;
	size_t len = tf_build(f, false, false, 3000, 0x10);
	struct vnet_hdr h = tso(false, 14);
	EXPECT_EQ(vnet_tx_check(&h, VNET_TX_TSO6, f, len, &g), VNET_TX_BAD_GSO_TYPE);
	h.gso_type |= VNET_GSO_ECN;
	EXPECT_EQ(vnet_tx_check(&h, VNET_TX_TSO4, f, len, &g), VNET_TX_BAD_GSO_TYPE);
	h.gso_type = VNET_GSO_UDP;
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_BAD_GSO_TYPE);
	h.gso_type = 2;
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_BAD_GSO_TYPE);
	h.gso_type = VNET_GSO_ECN;   /* ECN on a frame that is not GSO */
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_BAD_GSO_TYPE);
	/* A v6 type on a v4 frame, and the reverse. */
	h = tso(false, 14);
	h.gso_type = VNET_GSO_TCPV6;
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_BAD_PACKET);
}

TEST(net_hdr_refuses_bad_sizes_and_offsets)
{
	static uint8_t f[4096];
	struct vnet_gso g;
	size_t len = tf_build(f, false, false, 3000, 0x10);
	struct vnet_hdr h = tso(false, 14);
	h.gso_size = 0;
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_BAD_GSO);
	h = tso(false, 14);
	h.hdr_len = (uint16_t)(len + 1);
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_BAD_GSO);
	h = tso(false, 14);
	h.flags = 0;   /* GSO without NEEDS_CSUM (5.1.6.2: the driver MUST set it) */
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_BAD_GSO);
	h = tso(false, 14);
	h.csum_start = 0xffff;
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_BAD_CSUM);
	h = tso(false, 14);
	h.csum_offset = 0xffff;
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_BAD_CSUM);
	h.csum_start = (uint16_t)(len - 1), h.csum_offset = 0;   /* one byte left: no room */
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_BAD_CSUM);
	/* Inside the frame but not at the TCP checksum: refused for GSO. */
	h = tso(false, 14);
	h.csum_offset = 6;
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_BAD_PACKET);
	h = tso(false, 14);
	h.csum_start = 30;
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_BAD_PACKET);
	/* Without GSO a checksum anywhere inside the frame is fine. */
	h = (struct vnet_hdr){ .flags = VNET_F_NEEDS_CSUM, .csum_start = 100, .csum_offset = 6 };
	EXPECT_EQ(vnet_tx_check(&h, 0, f, len, &g), VNET_TX_OK);
	h.csum_start = (uint16_t)(len - 2), h.csum_offset = 0;
	EXPECT_EQ(vnet_tx_check(&h, 0, f, len, &g), VNET_TX_OK);
	/* Frames too short for any header at all. */
	h = tso(false, 14);
	for (size_t n = 0; n < 34 + TF_TCP_HLEN; n++)
		EXPECT(vnet_tx_check(&h, ALL, f, n, &g) != VNET_TX_OK);
}

TEST(net_hdr_refuses_frames_that_are_not_the_claimed_packet)
{
	static uint8_t f[4096];
	struct vnet_gso g;
	struct vnet_hdr h = tso(false, 14);
	size_t len;
#define MANGLE(stmt)                                                           \
	do {                                                                   \
		len = tf_build(f, false, false, 3000, 0x10);                   \
		stmt;                                                          \
		EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_BAD_PACKET); \
	} while (0)
	MANGLE(f[12] = 0x86);                          /* not IPv4 */
	MANGLE(f[14] = 0x65);                          /* version 6 in an IPv4 type */
	MANGLE(f[14] = 0x44);                          /* IHL 4 */
	MANGLE(f[14] = 0x4f);                          /* IHL past csum_start */
	MANGLE(f[14 + 9] = 17);                        /* UDP */
	MANGLE(net_put_be16(f + 16, 3000));            /* total length short of the frame */
	MANGLE(net_put_be16(f + 16, 0xffff));          /* total length past the frame */
	MANGLE(f[20] |= 0x20);                         /* MF: a fragment */
	MANGLE(f[21] = 1);                             /* fragment offset */
	MANGLE(f[34 + 12] = 0x40);                     /* TCP data offset 4 */
	MANGLE(len = 34 + TF_TCP_HLEN + 100);          /* frame cut short of the IP length */
#undef MANGLE
	/* TCP data offset 15 pointing past a short frame. */
	len = tf_build(f, false, false, 10, 0x10);
	f[34 + 12] = 0xf0;
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_BAD_PACKET);
	/* IPv6 with an extension header, and a wrong payload length. */
	h = tso(true, 14);
	len = tf_build(f, true, false, 3000, 0x10);
	f[14 + 6] = 0;
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_BAD_PACKET);
	len = tf_build(f, true, false, 3000, 0x10);
	net_put_be16(f + 18, 1);
	EXPECT_EQ(vnet_tx_check(&h, ALL, f, len, &g), VNET_TX_BAD_PACKET);
}
