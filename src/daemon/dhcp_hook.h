/*
 * The hook busybox's udhcpc runs for a container's NIC (docs/cloud.md,
 * "Addresses by DHCP"): `nimbus-dhcp-hook EVENT` in the container's network
 * namespace, with the lease in udhcpc's variables (interface, ip, subnet,
 * router, lease) and, from the daemon that started udhcpc, what the NIC's
 * row says: NIMBUS_DHCP_ADDRESS=IP/PREFIX, NIMBUS_DHCP_GATEWAY (on eth0
 * only: the default route goes there) and NIMBUS_DHCP_STATE, the file it
 * reports to (relative to the working directory udhcpc was started in).
 * It runs as udhcpc does: as nobody with the network capabilities alone.
 *
 * bound and renew set the address with the lease's time as its lifetime
 * (so the kernel drops it if renewals stop, as a lapsed lease's address
 * should go) and replace the default route; deconfig removes the address.
 * A lease is applied only when it is the NIC's address, prefix and gateway:
 * any container on the bridge can answer DHCP, and its answer must not
 * move another's address (the network's dnsmasq gives only what the daemon
 * chose, --dhcp-range=...,static).  The state file says `bound IP/PREFIX
 * SECONDS` or `refused WHY`; the daemon starts the container only after a
 * bound that names the NIC's address.
 */
#ifndef NIMBUS_DAEMON_DHCP_HOOK_H
#define NIMBUS_DAEMON_DHCP_HOOK_H

#include <stdint.h>

#include "lib/err.h"

/* What the daemon expects; host order; gw 0: no default route. */
struct dhcp_nic {
	uint32_t ip, gw;
	unsigned prefix;
};

/* What the server gave. */
struct dhcp_lease {
	uint32_t ip, router;       /* router 0: none given */
	unsigned prefix;
	uint32_t seconds;          /* 0xffffffff: infinite */
};

/* NIMBUS_DHCP_ADDRESS and NIMBUS_DHCP_GATEWAY (NULL or "": none). */
int dhcp_nic_parse(const char *address, const char *gateway, struct dhcp_nic *out,
		   struct err *e);
/* udhcpc's ip, subnet (a dotted mask), router (a list: the first counts)
 * and lease (seconds); -EINVAL naming the field that is missing or bad. */
int dhcp_lease_parse(const char *ip, const char *subnet, const char *router, const char *lease,
		     struct dhcp_lease *out, struct err *e);
/* -EPERM naming the difference when l is not what nic expects. */
int dhcp_lease_check(const struct dhcp_nic *nic, const struct dhcp_lease *l, const char *ifname,
		     struct err *e);

/* The program: argv[1] the event, the rest from the environment.  Its exit
 * status (udhcpc ignores it; the state file is what counts). */
int dhcp_hook_main(int argc, char **argv);

#endif
