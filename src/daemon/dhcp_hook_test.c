/* Unit tests for dhcp_hook.c: what udhcpc and the daemon hand the hook is
 * checked before anything is applied, and a lease that is not the NIC's
 * is refused and reported (without netlink: it never gets that far). */
#include "daemon/dhcp_hook.h"
#include "lib/testing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TEST(dhcp_nic_parse_takes_address_prefix_and_optional_gateway)
{
	struct dhcp_nic n;
	EXPECT(dhcp_nic_parse("10.20.0.2/24", "10.20.0.1", &n, NULL) == 0);
	EXPECT(n.ip == 0x0a140002 && n.prefix == 24 && n.gw == 0x0a140001);
	EXPECT(dhcp_nic_parse("192.168.77.9/29", "", &n, NULL) == 0 && n.gw == 0 && n.prefix == 29);
	EXPECT(dhcp_nic_parse("192.168.77.9/29", NULL, &n, NULL) == 0 && n.gw == 0);
	struct err e = { 0 };
	EXPECT(dhcp_nic_parse(NULL, NULL, &n, &e) == -EINVAL && strstr(e.msg, "NIMBUS_DHCP_ADDRESS"));
	EXPECT(dhcp_nic_parse("10.20.0.2", NULL, &n, &e) == -EINVAL);
	EXPECT(dhcp_nic_parse("10.20.0.2/", NULL, &n, &e) == -EINVAL);
	EXPECT(dhcp_nic_parse("10.20.0.2/33", NULL, &n, &e) == -EINVAL);
	EXPECT(dhcp_nic_parse("10.20.0.2/24x", NULL, &n, &e) == -EINVAL);
	EXPECT(dhcp_nic_parse("10.20.0.2.5/24", NULL, &n, &e) == -EINVAL && strstr(e.msg, "IPv4"));
	EXPECT(dhcp_nic_parse("10.20.0.2/24", "gw", &n, &e) == -EINVAL &&
	       strstr(e.msg, "NIMBUS_DHCP_GATEWAY"));
}

TEST(dhcp_lease_parse_reads_udhcpcs_variables_and_names_a_bad_one)
{
	struct dhcp_lease l;
	EXPECT(dhcp_lease_parse("10.20.0.2", "255.255.255.0", "10.20.0.1 10.20.0.254", "3600", &l,
				NULL) == 0);
	EXPECT(l.ip == 0x0a140002 && l.prefix == 24 && l.router == 0x0a140001 && l.seconds == 3600);
	EXPECT(dhcp_lease_parse("10.20.0.2", "255.255.255.248", NULL, "4294967295", &l, NULL) == 0);
	EXPECT(l.prefix == 29 && l.router == 0 && l.seconds == 0xffffffffu);
	struct err e = { 0 };
	EXPECT(dhcp_lease_parse(NULL, "255.255.255.0", NULL, "60", &l, &e) == -EINVAL &&
	       strstr(e.msg, "ip"));
	EXPECT(dhcp_lease_parse("10.20.0.2", "255.0.255.0", NULL, "60", &l, &e) == -EINVAL &&
	       strstr(e.msg, "netmask"));
	EXPECT(dhcp_lease_parse("10.20.0.2", "255.255.255.0", "x; rm -rf /", "60", &l, &e) == -EINVAL &&
	       strstr(e.msg, "router"));
	EXPECT(dhcp_lease_parse("10.20.0.2", "255.255.255.0", "10.20.0.1.2.3.4.5.6.7.8", "60", &l,
				&e) == -EINVAL);
	EXPECT(dhcp_lease_parse("10.20.0.2", "255.255.255.0", NULL, NULL, &l, &e) == -EINVAL &&
	       strstr(e.msg, "time"));
	EXPECT(dhcp_lease_parse("10.20.0.2", "255.255.255.0", NULL, "0", &l, &e) == -EINVAL);
	EXPECT(dhcp_lease_parse("10.20.0.2", "255.255.255.0", NULL, "-5", &l, &e) == -EINVAL);
	EXPECT(dhcp_lease_parse("10.20.0.2", "255.255.255.0", NULL, "4294967296", &l, &e) == -EINVAL);
	EXPECT(dhcp_lease_parse("10.20.0.2", "255.255.255.0", NULL, "60s", &l, &e) == -EINVAL);
}

TEST(dhcp_lease_check_refuses_a_lease_that_is_not_the_nics)
{
	struct dhcp_nic n = { .ip = 0x0a140002, .gw = 0x0a140001, .prefix = 24 };
	struct dhcp_lease l = { .ip = 0x0a140002, .router = 0x0a140001, .prefix = 24, .seconds = 60 };
	EXPECT(dhcp_lease_check(&n, &l, "eth0", NULL) == 0);
	struct err e = { 0 };
	l.ip = 0x0a140063;
	EXPECT(dhcp_lease_check(&n, &l, "eth0", &e) == -EPERM &&
	       strstr(e.msg, "eth0: DHCP offered 10.20.0.99/24, not the NIC's 10.20.0.2/24"));
	l.ip = 0x0a140002;
	l.prefix = 16;
	EXPECT(dhcp_lease_check(&n, &l, "eth0", &e) == -EPERM);
	l.prefix = 24;
	l.router = 0x0a1400fe;
	EXPECT(dhcp_lease_check(&n, &l, "eth0", &e) == -EPERM &&
	       strstr(e.msg, "router 10.20.0.254, not the network's gateway 10.20.0.1"));
	n.gw = 0;   /* not eth0: its router is not used */
	EXPECT(dhcp_lease_check(&n, &l, "eth1", NULL) == 0);
}

TEST(dhcp_hook_reports_a_refused_lease_in_its_state_file)
{
	char dir[] = "/tmp/nimbus-dhcp-hook.XXXXXX", state[64], line[600] = "";
	EXPECT(mkdtemp(dir));
	snprintf(state, sizeof state, "%s/lease", dir);
	setenv("interface", "eth0", 1);
	setenv("NIMBUS_DHCP_ADDRESS", "10.20.0.2/24", 1);
	setenv("NIMBUS_DHCP_GATEWAY", "10.20.0.1", 1);
	setenv("NIMBUS_DHCP_STATE", state, 1);
	setenv("ip", "10.20.0.7", 1);
	setenv("subnet", "255.255.255.0", 1);
	setenv("router", "10.20.0.1", 1);
	setenv("lease", "3600", 1);
	char *argv[] = { "nimbus-dhcp-hook", "bound", NULL };
	FILE *saved = stderr;
	stderr = fopen("/dev/null", "w");   /* its message is for udhcpc's log */
	int rc = dhcp_hook_main(2, argv);
	fclose(stderr);
	stderr = saved;
	FILE *f = fopen(state, "r");
	if (f) {
		if (!fgets(line, sizeof line, f))
			line[0] = 0;
		fclose(f);
	}
	unlink(state);
	rmdir(dir);
	EXPECT_EQ(rc, 1);
	const char *want = "refused eth0: DHCP offered 10.20.0.7/24, not the NIC's 10.20.0.2/24";
	EXPECT(!strncmp(line, want, strlen(want)));
	char *usage[] = { "nimbus-dhcp-hook", NULL };
	stderr = fopen("/dev/null", "w");
	rc = dhcp_hook_main(1, usage);
	fclose(stderr);
	stderr = saved;
	EXPECT_EQ(rc, 2);
}
