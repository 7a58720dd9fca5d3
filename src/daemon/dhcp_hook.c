/* See dhcp_hook.h.  Every value from the environment is checked before it
 * reaches netlink: the lease's come from whoever answered on the bridge. */
#include "daemon/dhcp_hook.h"
#include "daemon/netlink.h"
#include "daemon/subnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = ntohl(a.s_addr);
	return 0;
}

int dhcp_nic_parse(const char *address, const char *gateway, struct dhcp_nic *out,
		   struct err *e)
{
	char ip[20];
	const char *slash = address ? strchr(address, '/') : NULL;
	char *end;
	unsigned long prefix = slash ? strtoul(slash + 1, &end, 10) : 0;
	if (!slash || (size_t)(slash - address) >= sizeof ip || slash[1] < '0' || slash[1] > '9' ||
	    *end || prefix < 1 || prefix > 30)
		return err_set(e, -EINVAL, "NIMBUS_DHCP_ADDRESS: expected IP/PREFIX, not \"%s\"",
			       address ? address : "");
	memcpy(ip, address, (size_t)(slash - address));
	ip[slash - address] = 0;
	*out = (struct dhcp_nic){ .prefix = (unsigned)prefix };
	if (parse_ip(ip, &out->ip) < 0)
		return err_set(e, -EINVAL, "NIMBUS_DHCP_ADDRESS: \"%s\" is not an IPv4 address", ip);
	if (gateway && *gateway && parse_ip(gateway, &out->gw) < 0)
		return err_set(e, -EINVAL, "NIMBUS_DHCP_GATEWAY: \"%s\" is not an IPv4 address",
			       gateway);
	return 0;
}

int dhcp_lease_parse(const char *ip, const char *subnet, const char *router, const char *lease,
		     struct dhcp_lease *out, struct err *e)
{
	*out = (struct dhcp_lease){ 0 };
	uint32_t mask;
	if (parse_ip(ip, &out->ip) < 0)
		return err_set(e, -EINVAL, "lease: ip \"%s\" is not an IPv4 address", ip ? ip : "");
	if (parse_ip(subnet, &mask) < 0 || (mask && (~mask & (~mask + 1))))
		return err_set(e, -EINVAL, "lease: subnet \"%s\" is not a netmask",
			       subnet ? subnet : "");
	out->prefix = mask ? 32u - (unsigned)__builtin_ctz(mask) : 0;
	if (router && *router) {
		char first[20];
		size_t n = strcspn(router, " ");
		if (n >= sizeof first)
			return err_set(e, -EINVAL, "lease: router \"%.40s\" is not an IPv4 address",
				       router);
		memcpy(first, router, n);
		first[n] = 0;
		if (parse_ip(first, &out->router) < 0)
			return err_set(e, -EINVAL, "lease: router \"%s\" is not an IPv4 address", first);
	}
	char *end;
	errno = 0;
	unsigned long long s = lease ? strtoull(lease, &end, 10) : 0;
	if (!lease || !*lease || *end || errno || *lease == '-' || s == 0 || s > 0xffffffffull)
		return err_set(e, -EINVAL, "lease: time \"%s\" is not 1 to 4294967295 seconds",
			       lease ? lease : "");
	out->seconds = (uint32_t)s;
	return 0;
}

int dhcp_lease_check(const struct dhcp_nic *nic, const struct dhcp_lease *l, const char *ifname,
		     struct err *e)
{
	char a[16], b[16];
	if (l->ip != nic->ip || l->prefix != nic->prefix)
		return err_set(e, -EPERM, "%s: DHCP offered %s/%u, not the NIC's %s/%u (another DHCP "
			       "server on the network?): refused", ifname,
			       ip_str(l->ip, a, sizeof a), l->prefix, ip_str(nic->ip, b, sizeof b),
			       nic->prefix);
	if (nic->gw && l->router != nic->gw)
		return err_set(e, -EPERM, "%s: DHCP gave the router %s, not the network's gateway %s: "
			       "refused", ifname, l->router ? ip_str(l->router, a, sizeof a) : "(none)",
			       ip_str(nic->gw, b, sizeof b));
	return 0;
}

/* The state file, replaced whole (the daemon may be reading it). */
static void report(const char *path, const char *line)
{
	if (!path || !*path)
		return;
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "%s\n", line);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		unlink(tmp);
}

static int apply(const char *ifname, const struct dhcp_nic *nic, const char *state)
{
	struct err e = { 0 };
	struct dhcp_lease l;
	int rc = dhcp_lease_parse(getenv("ip"), getenv("subnet"), getenv("router"),
				  getenv("lease"), &l, &e);
	if (rc == 0)
		rc = dhcp_lease_check(nic, &l, ifname, &e);
	if (rc == 0 && (rc = nl_addr_set(ifname, htonl(l.ip), l.prefix, l.seconds, &e)) == 0 &&
	    nic->gw)
		rc = nl_route_default(ifname, htonl(nic->gw), &e);
	if (rc < 0) {
		fprintf(stderr, "nimbus-dhcp-hook: %s\n", e.msg);
		char line[600];
		snprintf(line, sizeof line, "refused %s", e.msg);
		report(state, line);
		return 1;
	}
	char ip[16], line[64];
	snprintf(line, sizeof line, "bound %s/%u %u", ip_str(l.ip, ip, sizeof ip), l.prefix,
		 l.seconds);
	report(state, line);
	return 0;
}

int dhcp_hook_main(int argc, char **argv)
{
	const char *ifname = getenv("interface"), *state = getenv("NIMBUS_DHCP_STATE");
	struct dhcp_nic nic;
	struct err e = { 0 };
	if (argc != 2 || !ifname || !*ifname || strlen(ifname) > 15) {
		fprintf(stderr, "nimbus-dhcp-hook: the DHCP hook of nimbusd's containers, run by "
			"udhcpc: EVENT as its argument, interface=NAME and the lease in the "
			"environment\n");
		return 2;
	}
	if (dhcp_nic_parse(getenv("NIMBUS_DHCP_ADDRESS"), getenv("NIMBUS_DHCP_GATEWAY"), &nic,
			   &e) < 0) {
		fprintf(stderr, "nimbus-dhcp-hook: %s\n", e.msg);
		return 2;
	}
	const char *event = argv[1];
	if (!strcmp(event, "bound") || !strcmp(event, "renew"))
		return apply(ifname, &nic, state);
	if (!strcmp(event, "deconfig")) {
		/* At udhcpc's start (nothing to remove yet), at a release and
		 * when a lease ran out: the address goes, the link stays up. */
		if (state && *state)
			unlink(state);
		int rc = nl_link_up(ifname, &e);
		if (rc == 0)
			rc = nl_addr_del(ifname, htonl(nic.ip), nic.prefix, &e);
		if (rc < 0)
			fprintf(stderr, "nimbus-dhcp-hook: %s\n", e.msg);
		return rc < 0;
	}
	return 0;   /* leasefail, nak: udhcpc tries again by itself */
}
