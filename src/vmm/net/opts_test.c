/* Unit tests of the --net parser: good strings give the right data, bad
 * ones a one-line error naming the bad part. */
#include "vmm/net/opts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "lib/testing.h"

static uint32_t ip(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

TEST(net_opts_user)
{
	struct net_opts o;
	struct err e = {0};
	EXPECT_EQ(net_opts_parse("user", &o, &e), 0);
	EXPECT_EQ(o.kind, NET_USER);
	EXPECT(!o.has_mac);
	EXPECT_EQ(o.nfwd, 0);
	EXPECT_EQ(net_opts_parse("user,hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:5353-10.0.2.20:53,"
				 "mac=52:54:00:ab:CD:ef,hostfwd=::8080-:80", &o, &e), 0);
	EXPECT_EQ(o.nfwd, 3);
	EXPECT(!o.fwd[0].udp);
	EXPECT_EQ(o.fwd[0].host_addr.s_addr, 0);
	EXPECT_EQ(o.fwd[0].host_port, 2222);
	EXPECT_EQ(o.fwd[0].guest_addr.s_addr, ip("10.0.2.15"));
	EXPECT_EQ(o.fwd[0].guest_port, 22);
	EXPECT(o.fwd[1].udp);
	EXPECT_EQ(o.fwd[1].host_addr.s_addr, ip("127.0.0.1"));
	EXPECT_EQ(o.fwd[1].host_port, 5353);
	EXPECT_EQ(o.fwd[1].guest_addr.s_addr, ip("10.0.2.20"));
	EXPECT_EQ(o.fwd[1].guest_port, 53);
	EXPECT(!o.fwd[2].udp);
	EXPECT_EQ(o.fwd[2].host_port, 8080);
	EXPECT(o.has_mac);
	uint8_t want[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
	EXPECT(memcmp(o.mac, want, 6) == 0);
}

TEST(net_opts_tap)
{
	struct net_opts o;
	struct err e = {0};
	EXPECT_EQ(net_opts_parse("tap,ifname=nimbus0", &o, &e), 0);
	EXPECT_EQ(o.kind, NET_TAP);
	EXPECT(strcmp(o.ifname, "nimbus0") == 0);
	EXPECT_EQ(net_opts_parse("tap", &o, &e), 0);
	EXPECT_EQ(o.ifname[0], 0);
	EXPECT_EQ(net_opts_parse("tap,mac=02:00:00:00:00:01,ifname=tap%d", &o, &e), 0);
	EXPECT(o.has_mac);
	EXPECT(strcmp(o.ifname, "tap%d") == 0);
}

TEST(net_default_mac_counts)
{
	uint8_t m[6];
	net_default_mac(0, m);
	uint8_t a[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	EXPECT(memcmp(m, a, 6) == 0);
	net_default_mac(0xaa, m);
	EXPECT_EQ(m[4], 0x35);
	EXPECT_EQ(m[5], 0x00);
}

/* The string fails with -EINVAL, a one-line message containing `part`. */
static int bad(const char *arg, const char *part)
{
	struct net_opts o;
	struct err e = {0};
	int rc = net_opts_parse(arg, &o, &e);
	if (rc != -EINVAL || !strstr(e.msg, part) || strchr(e.msg, '\n') || o.kind != 0) {
		printf("   %s -> %d \"%s\" (wanted it to name \"%s\")\n", arg, rc, e.msg, part);
		return 0;
	}
	return 1;
}

TEST(net_opts_errors)
{
	EXPECT(bad("", "empty"));
	EXPECT(bad("bridge", "--net bridge: unknown backend"));
	EXPECT(bad("user,", "empty item"));
	EXPECT(bad("user,,mac=52:54:00:00:00:01", "empty item"));
	EXPECT(bad("user,ifname=x", "unknown option \"ifname\" (user takes"));
	EXPECT(bad("tap,hostfwd=tcp::1-:2", "unknown option \"hostfwd\" (tap takes"));
	EXPECT(bad("user,foo", "--net foo: expected key=value"));
	EXPECT(bad("user,mac=52:54:00:12:34", "--net mac=52:54:00:12:34: expected six hex bytes"));
	EXPECT(bad("user,mac=52:54:00:12:34:5g", "mac=52:54:00:12:34:5g"));
	EXPECT(bad("user,mac=52-54-00-12-34-56", "six hex bytes"));
	EXPECT(bad("user,mac=01:00:5e:00:00:01", "multicast"));
	EXPECT(bad("user,mac=00:00:00:00:00:00", "all-zero"));
	EXPECT(bad("user,mac=52:54:00:12:34:56,mac=52:54:00:12:34:57", "mac given twice"));
	EXPECT(bad("user,hostfwd=tcp", "--net hostfwd=tcp: no ':' after the protocol"));
	EXPECT(bad("user,hostfwd=sctp::1-:2", "protocol \"sctp\""));
	EXPECT(bad("user,hostfwd=tcp::2222", "no '-'"));
	EXPECT(bad("user,hostfwd=tcp:2222-:22", "host side \"2222\" has no ':'"));
	EXPECT(bad("user,hostfwd=tcp:1.2.3:2222-:22", "host address \"1.2.3\""));
	EXPECT(bad("user,hostfwd=tcp::70000-:22", "host port \"70000\""));
	EXPECT(bad("user,hostfwd=tcp::0-:22", "host port \"0\""));
	EXPECT(bad("user,hostfwd=tcp::22x-:22", "host port \"22x\""));
	EXPECT(bad("user,hostfwd=tcp::2222-22", "guest side \"22\" has no ':'"));
	EXPECT(bad("user,hostfwd=tcp::2222-:", "guest port \"\""));
	EXPECT(bad("user,hostfwd=tcp::2222-192.168.1.5:22", "outside the user network"));
	EXPECT(bad("user,hostfwd=tcp::2222-10.0.2:22", "guest address \"10.0.2\""));
	EXPECT(bad("user,hostfwd=tcp::2222-:22,hostfwd=tcp:127.0.0.1:2222-:23",
		   "hostfwd=tcp:127.0.0.1:2222-:23: host port 2222 is already forwarded"));
	EXPECT(bad("tap,ifname=", "not an interface name"));
	EXPECT(bad("tap,ifname=a/b", "ifname=a/b: not an interface name"));
	EXPECT(bad("tap,ifname=abcdefghijklmnop", "not an interface name"));
	EXPECT(bad("tap,ifname=a,ifname=b", "ifname given twice"));
	/* udp and tcp on the same port are distinct */
	struct net_opts o;
	struct err e;
	EXPECT_EQ(net_opts_parse("user,hostfwd=tcp::53-:53,hostfwd=udp::53-:53", &o, &e), 0);
	char many[1024] = "user";
	for (int i = 0; i <= NET_MAX_HOSTFWD; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), ",hostfwd=::%d-:1", 1000 + i);
	EXPECT(bad(many, "too many hostfwd rules"));
}
