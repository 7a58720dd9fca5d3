/* Tests of the TAP backend in a network namespace the test creates (in a
 * child process, so the host's interfaces are never touched): frames both
 * ways with the namespace's kernel stack (ARP, UDP), back-pressure, and
 * the errors: busy, not a tap, no permission.  Skipped (said so on the
 * line before the `ok`) without /dev/net/tun or the right to create a
 * namespace. */
#include "vmm/net/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/testing.h"
#include "vmm/net/testnet.h"

#define SKIP 77
#define HOSTIP TN_IP(10, 77, 0, 1)
#define GUESTIP TN_IP(10, 77, 0, 2)
#define WAIT_MS 5000

static const uint8_t GMAC[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };

#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond)) {                                              \
			printf("   %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			fflush(stdout);                                     \
			return 1;                                           \
		}                                                           \
	} while (0)

static int set_addr(const char *ifname, uint32_t addr, uint32_t mask)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq r = {0};
	snprintf(r.ifr_name, sizeof r.ifr_name, "%s", ifname);
	struct sockaddr_in *a = (struct sockaddr_in *)&r.ifr_addr;
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(addr);
	int rc = ioctl(s, SIOCSIFADDR, &r);
	a->sin_addr.s_addr = htonl(mask);
	if (!rc)
		rc = ioctl(s, SIOCSIFNETMASK, &r);
	close(s);
	return rc;
}

static int send_frame(struct net_backend *be, const void *f, size_t len)
{
	struct iovec v = { (void *)f, len };
	return be->ops->send(be, &v, 1);
}

static bool is_arp_reply(const uint8_t *f, size_t len, void *ctx)
{
	(void)ctx;
	return len >= 42 && tn_get16(f + 12) == 0x0806 && tn_get16(f + 20) == 2 &&
	       tn_get32(f + 28) == HOSTIP && memcmp(f, GMAC, 6) == 0;
}

struct udp_or_arp {
	const char *payload;
};

/* A UDP datagram for the guest with the payload, or an ARP request for the
 * guest's address (answered by the caller). */
static bool is_udp_or_who_has(const uint8_t *f, size_t len, void *ctx)
{
	struct udp_or_arp *m = ctx;
	if (len >= 42 && tn_get16(f + 12) == 0x0806 && tn_get16(f + 20) == 1 &&
	    tn_get32(f + 38) == GUESTIP)
		return true;
	struct tn_ip4 p;
	return tn_parse(f, len, &p) && p.proto == 17 && p.dport == 9999 &&
	       p.n == strlen(m->payload) && !memcmp(p.data, m->payload, p.n);
}

/* Sends payload to the guest from a socket; returns when the frame arrived. */
static int kernel_to_guest(struct net_backend *be, struct tn_dev *d, unsigned *from,
			   const char *payload, const uint8_t hostmac[6])
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9999),
				 .sin_addr.s_addr = htonl(GUESTIP) };
	ssize_t n = sendto(s, payload, strlen(payload), 0, (struct sockaddr *)&a, sizeof a);
	close(s);
	if (n < 0)
		return -1;
	struct udp_or_arp m = { payload };
	for (int tries = 0; tries < 4; tries++) {
		int i = tn_wait(d, from, is_udp_or_who_has, &m, WAIT_MS);
		if (i < 0)
			return -1;
		if (tn_get16(d->f[i] + 12) != 0x0806)
			return 0;
		uint8_t f[64];
		send_frame(be, f, tn_arp(f, 2, GMAC, GUESTIP, hostmac, HOSTIP));
	}
	return -1;
}

static _Atomic int vnet_seen, vnet_last_flags;

/* The device's receive_vnet: notes the kernel's header, passes the frame on. */
static int vnet_receive(void *dev, const uint8_t *buf, size_t len)
{
	if (len < NET_VNET_HDR_BYTES)
		return 1;
	atomic_fetch_add(&vnet_seen, 1);
	atomic_store(&vnet_last_flags, buf[0]);
	return tn_receive(dev, buf + NET_VNET_HDR_BYTES, len - NET_VNET_HDR_BYTES);
}

static int in_namespace(void)
{
	struct err e = {0};
	struct net_backend *be;
	if (net_tap_open("nbt0", &be, &e)) {
		printf("   %s\n", e.msg);
		return 1;
	}
	CHECK(strcmp(net_tap_ifname(be), "nbt0") == 0);
	CHECK(set_addr("nbt0", HOSTIP, 0xffffff00u) == 0);
	static struct tn_dev d;   /* big; the child is single-use */
	tn_init(&d, be);
	CHECK(be->ops->start(be, &e) == 0);

	/* Guest -> kernel -> guest: ARP. */
	uint8_t f[64];
	static const uint8_t zero[6];
	CHECK(send_frame(be, f, tn_arp(f, 1, GMAC, GUESTIP, zero, HOSTIP)) == 0);
	unsigned from = 0;
	int i = tn_wait(&d, &from, is_arp_reply, NULL, WAIT_MS);
	CHECK(i >= 0);
	uint8_t hostmac[6];
	memcpy(hostmac, d.f[i] + 22, 6);

	/* Kernel -> guest: UDP. */
	CHECK(kernel_to_guest(be, &d, &from, "hello guest", hostmac) == 0);

	/* No receive buffer: the frame is held (not retried in a loop), then
	 * delivered after rx_ready. */
	atomic_store(&d.full, true);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9999),
				 .sin_addr.s_addr = htonl(GUESTIP) };
	CHECK(sendto(s, "held", 4, 0, (struct sockaddr *)&a, sizeof a) == 4);
	close(s);
	for (int k = 0; k < 500 && atomic_load(&d.refused) == 0; k++)
		usleep(1000);
	CHECK(atomic_load(&d.refused) >= 1);
	usleep(100000);
	CHECK(atomic_load(&d.refused) <= 3);
	atomic_store(&d.full, false);
	be->ops->rx_ready(be);
	struct udp_or_arp m = { "held" };
	CHECK(tn_wait(&d, &from, is_udp_or_who_has, &m, WAIT_MS) >= 0);

	/* With IFF_VNET_HDR (this kernel has it): partial checksums both ways. */
	CHECK(be->caps & NET_BE_CAP_VNET_HDR);
	be->receive_vnet = vnet_receive;
	be->ops->set_offloads(be, NET_OFFLOAD_CSUM);
	CHECK(kernel_to_guest(be, &d, &from, "partial sum", hostmac) == 0);
	CHECK(atomic_load(&vnet_seen) > 0);
	/* Locally made UDP leaves its checksum to a device that offers it. */
	CHECK(atomic_load(&vnet_last_flags) & 1);   /* NEEDS_CSUM */
	be->ops->set_offloads(be, 0);
	int rs = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ra = { .sin_family = AF_INET, .sin_port = htons(7777),
				  .sin_addr.s_addr = htonl(HOSTIP) };
	struct timeval tv = { 2, 0 };
	CHECK(setsockopt(rs, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
	CHECK(bind(rs, (struct sockaddr *)&ra, sizeof ra) == 0);
	uint8_t uf[128];
	size_t ul = tn_udp(uf, hostmac, GMAC, GUESTIP, 5555, HOSTIP, 7777, "from guest", 10);
	/* What a driver with CSUM sends: the pseudo-header sum, not complemented. */
	tn_put16(uf + 34 + 6, (uint16_t)~tn_fold(tn_pseudo(GUESTIP, HOSTIP, 17, 18)));
	uint8_t vh[NET_VNET_HDR_BYTES] = { 1, 0, 0, 0, 0, 0, 34, 0, 6, 0 };
	struct iovec uv = { uf, ul };
	CHECK(be->ops->send_vnet(be, vh, &uv, 1) == 0);
	char got[32] = {0};
	CHECK(recv(rs, got, sizeof got, 0) == 10);
	CHECK(memcmp(got, "from guest", 10) == 0);
	close(rs);

	/* Errors. */
	struct net_backend *be2;
	CHECK(net_tap_open("nbt0", &be2, &e) == -EBUSY);
	CHECK(strstr(e.msg, "tap nbt0: device busy") != NULL);

	int tfd = open("/dev/net/tun", O_RDWR);
	struct ifreq r = {0};
	r.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(r.ifr_name, sizeof r.ifr_name, "nbtun");
	CHECK(ioctl(tfd, TUNSETIFF, &r) == 0);
	CHECK(ioctl(tfd, TUNSETPERSIST, 1) == 0);
	close(tfd);
	CHECK(net_tap_open("nbtun", &be2, &e) == -EINVAL);
	CHECK(strstr(e.msg, "not a tap") != NULL);

	CHECK(net_tap_open(NULL, &be2, &e) == 0);
	CHECK(strncmp(net_tap_ifname(be2), "tap", 3) == 0);
	be2->ops->close(be2);

	pid_t pid = fork();
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		int rc = net_tap_open("nbt9", &be2, &e);
		bool ok = (rc == -EPERM || rc == -EACCES) && strstr(e.msg, "tap nbt9: no permission");
		if (!ok)
			printf("   unprivileged open: %d %s\n", rc, e.msg), fflush(stdout);
		_exit(ok ? 0 : 1);
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);

	be->ops->close(be);
	return 0;
}

TEST(tap_in_network_namespace)
{
	if (access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("   (skipped: no /dev/net/tun)\n");
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(SKIP);
		_exit(in_namespace());
	}
	int st;
	EXPECT_EQ(waitpid(pid, &st, 0), pid);
	EXPECT(WIFEXITED(st));
	if (WEXITSTATUS(st) == SKIP) {
		printf("   (skipped: cannot create a network namespace)\n");
		return;
	}
	EXPECT_EQ(WEXITSTATUS(st), 0);
}

TEST(tap_open_errors_are_one_line)
{
	struct err e = {0};
	struct net_backend *be = NULL;
	EXPECT_EQ(net_tap_open("abcdefghijklmnopq", &be, &e), -EINVAL);
	EXPECT(strstr(e.msg, "longer than") != NULL);
	EXPECT(strchr(e.msg, '\n') == NULL);
	EXPECT(be == NULL);
}

/* In a namespace of its own: a descriptor prepared as the daemon does. */
static int adopt_in_namespace(void)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	struct ifreq r = {0};
	r.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(r.ifr_name, sizeof r.ifr_name, "nba0");
	int sz = NET_VNET_HDR_BYTES;
	CHECK(fd >= 0 && ioctl(fd, TUNSETIFF, &r) == 0 && ioctl(fd, TUNSETVNETHDRSZ, &sz) == 0);
	struct net_backend *be;
	struct err e = {0};
	CHECK(net_tap_adopt(fd, "nba0", &be, &e) == 0);
	CHECK(be->caps & NET_BE_CAP_VNET_HDR);
	CHECK(!strcmp(be->label, "tap nba0"));
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	be->ops->close(be);
	return 0;
}

TEST(tap_adopt_takes_a_prepared_tun_descriptor_and_refuses_other_files)
{
	struct err e = {0};
	struct net_backend *be = NULL;
	int fd = open("/dev/null", O_RDWR);
	EXPECT_EQ(net_tap_adopt(fd, "nbx0", &be, &e), -EINVAL);
	EXPECT(strstr(e.msg, "tap nbx0: the descriptor passed is not /dev/net/tun") != NULL);
	EXPECT(be == NULL);
	EXPECT(fcntl(fd, F_GETFD) < 0);   /* taken, also on failure */
	if (access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("skip tap_adopt_takes_a_prepared_tun_descriptor: no /dev/net/tun\n");
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWNET) < 0 ? SKIP : adopt_in_namespace());
	int st;
	EXPECT_EQ(waitpid(pid, &st, 0), pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == SKIP) {
		printf("skip tap_adopt_takes_a_prepared_tun_descriptor: no network namespace\n");
		return;
	}
	EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
