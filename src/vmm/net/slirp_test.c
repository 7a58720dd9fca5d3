/* Tests of the user-mode (libslirp) backend with no guest: the test plays
 * the guest's network stack with hand-made frames, over loopback only.
 * DHCP, ARP, a TCP port forward carrying data both ways, the guest
 * reaching a host loopback service through 10.0.2.2, a UDP forward,
 * back-pressure, and a forward whose host port is taken. */
#include "vmm/net/slirp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/testing.h"
#include "vmm/net/opts.h"
#include "vmm/net/testnet.h"
#include "vmm/virtio/net.h"
#include "vmm/virtio/testdrv.h"

static const uint8_t GMAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
#define GUEST TN_IP(10, 0, 2, 15)
#define GW    TN_IP(10, 0, 2, 2)
#define WAIT_MS 5000

struct net {
	struct net_backend *be;
	struct tn_dev dev;
	uint8_t gwmac[6];
};

static int open_net(struct net *n, const char *opts)
{
	struct net_opts o;
	struct err e;
	if (net_opts_parse(opts, &o, &e) || net_backend_open(&o, &n->be, &e)) {
		printf("   %s\n", e.msg);
		return -1;
	}
	tn_init(&n->dev, n->be);
	return n->be->ops->start(n->be, &e);
}

static int send_frame(struct net *n, const void *f, size_t len)
{
	struct iovec v = { (void *)f, len };
	return n->be->ops->send(n->be, &v, 1);
}

/* An unused loopback port (bound and released: good enough for a test). */
static uint16_t free_port(int type)
{
	int s = socket(AF_INET, type, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof a;
	bind(s, (struct sockaddr *)&a, sizeof a);
	getsockname(s, (struct sockaddr *)&a, &l);
	close(s);
	return ntohs(a.sin_port);
}

static bool is_arp_reply(const uint8_t *f, size_t len, void *ctx)
{
	(void)ctx;
	return len >= 42 && tn_get16(f + 12) == 0x0806 && tn_get16(f + 20) == 2 &&
	       tn_get32(f + 28) == GW && memcmp(f, GMAC, 6) == 0;
}

/* Tells slirp our MAC (ARP request for the gateway) and learns the gateway's. */
static int arp_gateway(struct net *n)
{
	uint8_t f[64];
	static const uint8_t zero[6];
	size_t len = tn_arp(f, 1, GMAC, GUEST, zero, GW);
	send_frame(n, f, len);
	unsigned from = 0;
	int i = tn_wait(&n->dev, &from, is_arp_reply, NULL, WAIT_MS);
	if (i < 0)
		return -1;
	memcpy(n->gwmac, n->dev.f[i] + 22, 6);
	return 0;
}

static size_t dhcp_discover(uint8_t *f)
{
	uint8_t b[548] = {0};
	b[0] = 1, b[1] = 1, b[2] = 6;                  /* BOOTREQUEST, Ethernet */
	tn_put32(b + 4, 0x12345678);                   /* xid */
	tn_put16(b + 10, 0x8000);                      /* broadcast */
	memcpy(b + 28, GMAC, 6);                       /* chaddr */
	static const uint8_t opts[] = { 99, 130, 83, 99, 53, 1, 1, 55, 3, 1, 3, 6, 255 };
	memcpy(b + 236, opts, sizeof opts);
	return tn_udp(f, BCAST, GMAC, 0, 68, 0xffffffffu, 67, b, sizeof b);
}

static bool is_offer(const uint8_t *f, size_t len, void *ctx)
{
	(void)ctx;
	struct tn_ip4 p;
	return tn_parse(f, len, &p) && p.proto == 17 && p.sport == 67 && p.dport == 68 &&
	       p.n >= 240 && p.data[0] == 2;
}

/* Finds DHCP option `code` in an OFFER's options; NULL if absent. */
static const uint8_t *dhcp_opt(const struct tn_ip4 *p, uint8_t code)
{
	for (size_t i = 240; i + 1 < p->n && p->data[i] != 255;) {
		if (p->data[i] == 0) {
			i++;
			continue;
		}
		if (p->data[i] == code && i + 2 + p->data[i + 1] <= p->n)
			return p->data + i + 2;
		i += 2u + p->data[i + 1];
	}
	return NULL;
}

TEST(slirp_dhcp_offer)
{
	struct net n;
	EXPECT_EQ(open_net(&n, "user"), 0);
	uint8_t f[1024];
	EXPECT_EQ(send_frame(&n, f, dhcp_discover(f)), 0);
	unsigned from = 0;
	int i = tn_wait(&n.dev, &from, is_offer, NULL, WAIT_MS);
	EXPECT(i >= 0);
	struct tn_ip4 p;
	tn_parse(n.dev.f[i], n.dev.len[i], &p);
	EXPECT_EQ(tn_get32(p.data + 4), 0x12345678);   /* our xid */
	EXPECT_EQ(tn_get32(p.data + 16), GUEST);       /* yiaddr */
	const uint8_t *o = dhcp_opt(&p, 53);
	EXPECT(o && o[0] == 2);                        /* DHCPOFFER */
	o = dhcp_opt(&p, 3);
	EXPECT(o && tn_get32(o) == GW);                /* router */
	o = dhcp_opt(&p, 6);
	EXPECT(o && tn_get32(o) == TN_IP(10, 0, 2, 3));   /* DNS */
	n.be->ops->close(n.be);
}

struct tcp_match {
	uint16_t dport;
	uint8_t flags;      /* all of these set */
	size_t min_data;
};

static bool is_tcp(const uint8_t *f, size_t len, void *ctx)
{
	struct tcp_match *m = ctx;
	struct tn_ip4 p;
	return tn_parse(f, len, &p) && p.proto == 6 && p.dport == m->dport &&
	       (p.flags & m->flags) == m->flags && p.n >= m->min_data;
}

static int wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, ms) == 1 ? 0 : -1;
}

TEST(slirp_tcp_hostfwd_round_trip)
{
	struct net n;
	uint16_t port = free_port(SOCK_STREAM);
	char opts[128];
	snprintf(opts, sizeof opts, "user,hostfwd=tcp:127.0.0.1:%u-:2222", port);
	EXPECT_EQ(open_net(&n, opts), 0);
	EXPECT_EQ(arp_gateway(&n), 0);

	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	EXPECT_EQ(connect(c, (struct sockaddr *)&a, sizeof a), 0);
	/* slirp accepts and opens the connection to the guest: a SYN. */
	unsigned from = 0;
	struct tcp_match syn = { 2222, TN_SYN, 0 };
	int i = tn_wait(&n.dev, &from, is_tcp, &syn, WAIT_MS);
	EXPECT(i >= 0);
	struct tn_ip4 p;
	tn_parse(n.dev.f[i], n.dev.len[i], &p);
	EXPECT_EQ(p.dst, GUEST);
	uint16_t sport = p.sport;
	uint32_t their = p.seq + 1, ours = 1000;
	uint8_t f[256];
	size_t len = tn_tcp(f, n.gwmac, GMAC, GUEST, 2222, p.src, sport, ours, their,
			    TN_SYN | TN_ACK, NULL, 0);
	EXPECT_EQ(send_frame(&n, f, len), 0);
	ours++;

	/* Host -> guest data. */
	EXPECT_EQ(send(c, "ping", 4, 0), 4);
	struct tcp_match data = { 2222, TN_ACK, 4 };
	i = tn_wait(&n.dev, &from, is_tcp, &data, WAIT_MS);
	EXPECT(i >= 0);
	tn_parse(n.dev.f[i], n.dev.len[i], &p);
	EXPECT_EQ(p.n, 4);
	EXPECT(memcmp(p.data, "ping", 4) == 0);
	EXPECT_EQ(p.seq, their);
	their += 4;

	/* Guest -> host data. */
	len = tn_tcp(f, n.gwmac, GMAC, GUEST, 2222, p.src, sport, ours, their,
		     TN_PSH | TN_ACK, "pong", 4);
	EXPECT_EQ(send_frame(&n, f, len), 0);
	EXPECT_EQ(wait_readable(c, WAIT_MS), 0);
	char buf[8] = {0};
	EXPECT_EQ(recv(c, buf, sizeof buf, 0), 4);
	EXPECT(memcmp(buf, "pong", 4) == 0);
	close(c);
	n.be->ops->close(n.be);
}

TEST(slirp_guest_reaches_host_loopback)
{
	struct net n;
	EXPECT_EQ(open_net(&n, "user"), 0);
	EXPECT_EQ(arp_gateway(&n), 0);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	EXPECT_EQ(bind(l, (struct sockaddr *)&a, sizeof a), 0);
	EXPECT_EQ(listen(l, 1), 0);
	getsockname(l, (struct sockaddr *)&a, &al);
	uint16_t port = ntohs(a.sin_port);

	uint8_t f[256];
	size_t len = tn_tcp(f, n.gwmac, GMAC, GUEST, 40000, GW, port, 7000, 0, TN_SYN, NULL, 0);
	EXPECT_EQ(send_frame(&n, f, len), 0);
	EXPECT_EQ(wait_readable(l, WAIT_MS), 0);
	int s = accept(l, NULL, NULL);
	EXPECT(s >= 0);
	unsigned from = 0;
	struct tcp_match synack = { 40000, TN_SYN | TN_ACK, 0 };
	int i = tn_wait(&n.dev, &from, is_tcp, &synack, WAIT_MS);
	EXPECT(i >= 0);
	struct tn_ip4 p;
	tn_parse(n.dev.f[i], n.dev.len[i], &p);
	EXPECT_EQ(p.ack, 7001);
	EXPECT_EQ(p.src, GW);
	EXPECT_EQ(p.sport, port);
	close(s);
	close(l);
	n.be->ops->close(n.be);
}

static bool is_udp_5353(const uint8_t *f, size_t len, void *ctx)
{
	(void)ctx;
	struct tn_ip4 p;
	return tn_parse(f, len, &p) && p.proto == 17 && p.dport == 5353 && p.dst == GUEST;
}

TEST(slirp_udp_hostfwd)
{
	struct net n;
	uint16_t port = free_port(SOCK_DGRAM);
	char opts[128];
	snprintf(opts, sizeof opts, "user,hostfwd=udp:127.0.0.1:%u-10.0.2.15:5353", port);
	EXPECT_EQ(open_net(&n, opts), 0);
	EXPECT_EQ(arp_gateway(&n), 0);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	EXPECT_EQ(sendto(s, "dgram", 5, 0, (struct sockaddr *)&a, sizeof a), 5);
	unsigned from = 0;
	int i = tn_wait(&n.dev, &from, is_udp_5353, NULL, WAIT_MS);
	EXPECT(i >= 0);
	struct tn_ip4 p;
	tn_parse(n.dev.f[i], n.dev.len[i], &p);
	EXPECT_EQ(p.n, 5);
	EXPECT(memcmp(p.data, "dgram", 5) == 0);
	close(s);
	n.be->ops->close(n.be);
}

TEST(slirp_backpressure_holds_frames)
{
	struct net n;
	EXPECT_EQ(open_net(&n, "user"), 0);
	atomic_store(&n.dev.full, true);
	uint8_t f[64];
	static const uint8_t zero[6];
	size_t len = tn_arp(f, 1, GMAC, GUEST, zero, GW);
	send_frame(&n, f, len);
	for (int i = 0; i < 500 && atomic_load(&n.dev.refused) == 0; i++)
		usleep(1000);
	EXPECT(atomic_load(&n.dev.refused) >= 1);
	usleep(100000);
	/* Held, not retried in a loop, not delivered. */
	EXPECT(atomic_load(&n.dev.refused) <= 3);
	EXPECT_EQ(n.dev.n, 0);
	atomic_store(&n.dev.full, false);
	n.be->ops->rx_ready(n.be);
	unsigned from = 0;
	EXPECT(tn_wait(&n.dev, &from, is_arp_reply, NULL, WAIT_MS) >= 0);
	n.be->ops->close(n.be);
}

TEST(slirp_hostfwd_port_in_use)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	EXPECT_EQ(bind(l, (struct sockaddr *)&a, sizeof a), 0);
	EXPECT_EQ(listen(l, 1), 0);
	getsockname(l, (struct sockaddr *)&a, &al);
	char opts[128], want[64];
	snprintf(opts, sizeof opts, "user,hostfwd=tcp:127.0.0.1:%u-:22", ntohs(a.sin_port));
	snprintf(want, sizeof want, "cannot listen on host port %u", ntohs(a.sin_port));
	struct net_opts o;
	struct err e = {0};
	struct net_backend *be = NULL;
	EXPECT_EQ(net_opts_parse(opts, &o, &e), 0);
	EXPECT(net_backend_open(&o, &be, &e) < 0);
	EXPECT(be == NULL);
	EXPECT(strstr(e.msg, want) != NULL);
	close(l);
}

/* The whole path a guest uses: virtio-net (threaded transport) over the
 * slirp backend; DHCP DISCOVER on the transmit queue, OFFER in a posted
 * receive buffer. */
TEST(slirp_through_virtio_net)
{
	struct net_opts o;
	struct err e;
	struct net_backend *be;
	struct virtio_device *dev;
	EXPECT_EQ(net_opts_parse("user", &o, &e), 0);
	EXPECT_EQ(net_backend_open(&o, &be, &e), 0);
	EXPECT_EQ(virtio_net_create(be, GMAC, &dev, &e), 0);
	struct td d;
	EXPECT_EQ(td_start(&d, dev, 0, VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | VIRTIO_NET_F_CSUM,
			   2, 16), 0);
	for (int i = 0; i < 8; i++) {
		td_desc(&d, 0, i, TD_DATA + 0x1000 * i, 1526, VIRTQ_DESC_F_WRITE, 0);
		td_post(&d, 0, i);
	}
	td_kick(&d, 0);
	uint8_t f[1024];
	size_t len = dhcp_discover(f);
	uint64_t tx = TD_DATA + 0x10000;
	memset(td_host(&d, tx), 0, VIRTIO_NET_HDR_BYTES);
	memcpy(td_host(&d, tx + VIRTIO_NET_HDR_BYTES), f, len);
	td_desc(&d, 1, 0, tx, VIRTIO_NET_HDR_BYTES + len, 0, 0);
	td_post(&d, 1, 0);
	td_kick(&d, 1);
	EXPECT_EQ(td_wait_used(&d, 1, 1, WAIT_MS), 0);
	bool offered = false;
	for (int t = 0; t < WAIT_MS && !offered; t += 10) {
		uint16_t used = td_used_idx(&d, 0);
		for (uint16_t k = 0; k < used && !offered; k++) {
			uint32_t id, l;
			td_used_elem(&d, 0, k, &id, &l);
			const uint8_t *b = td_host(&d, TD_DATA + 0x1000 * id) + VIRTIO_NET_HDR_BYTES;
			offered = l > VIRTIO_NET_HDR_BYTES && is_offer(b, l - VIRTIO_NET_HDR_BYTES, NULL);
		}
		usleep(10000);
	}
	EXPECT(offered);
	td_close(&d);
}
