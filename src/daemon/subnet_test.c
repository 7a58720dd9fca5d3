#include "daemon/subnet.h"
#include "lib/testing.h"

#include <errno.h>
#include <string.h>

TEST(subnet_parses_private_cidrs_and_prints_them_back)
{
	struct subnet n;
	char buf[32];
	EXPECT(subnet_parse("10.20.0.0/24", &n, NULL) == 0 && n.prefix == 24 && n.base == 0x0a140000);
	EXPECT(!strcmp(subnet_str(&n, buf, sizeof buf), "10.20.0.0/24"));
	EXPECT(!strcmp(ip_str(subnet_host(&n, 1), buf, sizeof buf), "10.20.0.1"));
	EXPECT(subnet_hosts(&n) == 254 && subnet_host(&n, 255) == 0);
	EXPECT(subnet_parse("192.168.8.0/29", &n, NULL) == 0 && subnet_hosts(&n) == 6);
	EXPECT(subnet_parse("172.16.0.0/16", &n, NULL) == 0);
}

TEST(subnet_refuses_bad_ones_saying_why)
{
	struct subnet n;
	struct err e = { 0 };
	EXPECT(subnet_parse("10.20.0.1/24", &n, &e) == -EINVAL && strstr(e.msg, "10.20.0.0/24?"));
	EXPECT(subnet_parse("10.20.0.0/30", &n, &e) == -EINVAL && strstr(e.msg, "/16 to /29"));
	EXPECT(subnet_parse("8.8.8.0/24", &n, &e) == -EINVAL && strstr(e.msg, "private"));
	EXPECT(subnet_parse("10.20.0.0", &n, &e) == -EINVAL && strstr(e.msg, "ADDRESS/PREFIX"));
	EXPECT(subnet_parse("10.20.0.0/24x", &n, &e) == -EINVAL);
	EXPECT(subnet_parse("10.300.0.0/24", &n, &e) == -EINVAL);
}

TEST(subnets_overlap_when_one_contains_the_other)
{
	struct subnet a, b, c;
	subnet_parse("10.20.0.0/16", &a, NULL);
	subnet_parse("10.20.5.0/24", &b, NULL);
	subnet_parse("10.21.0.0/24", &c, NULL);
	EXPECT(subnet_overlap(&a, &b) && subnet_overlap(&b, &a));
	EXPECT(!subnet_overlap(&a, &c) && !subnet_overlap(&b, &c));
}

TEST(cidr_takes_any_ipv4_range_for_rules)
{
	struct subnet n;
	struct err e = { 0 };
	EXPECT(cidr_parse("0.0.0.0/0", &n, &e) == 0 && n.prefix == 0);
	EXPECT(cidr_parse("8.8.8.8", &n, &e) == 0 && n.prefix == 32 && n.base == 0x08080808);
	EXPECT(cidr_parse("10.1.0.0/16", &n, &e) == 0);
	EXPECT(cidr_parse("10.1.0.1/16", &n, &e) == -EINVAL && strstr(e.msg, "10.1.0.0/16?"));
	EXPECT(cidr_parse("10.1.0.0/33", &n, &e) == -EINVAL && strstr(e.msg, "CIDR"));
	EXPECT(cidr_parse("any", &n, &e) == -EINVAL);
}
