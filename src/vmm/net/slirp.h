/*
 * User-mode networking ("--net user"): a NAT'ed private network run by
 * libslirp inside the VMM, needing no privileges.  See slirp.c.
 *
 *   10.0.2.0/24    the guest's network (IPv6: fec0::/64)
 *   10.0.2.2       the gateway; also the host's loopback (127.0.0.1)
 *   10.0.2.3       DNS, forwarded to the host's resolver
 *   10.0.2.15      what DHCP gives the guest
 */
#ifndef NIMBUS_VMM_NET_SLIRP_H
#define NIMBUS_VMM_NET_SLIRP_H

#include "lib/err.h"
#include "vmm/net/opts.h"
#include "vmm/virtio/net_backend.h"

#define NET_USER_GUEST_ADDR "10.0.2.15"
#define NET_USER_HOST_ADDR  "10.0.2.2"
#define NET_USER_DNS_ADDR   "10.0.2.3"

/*
 * Opens a user-mode network with the given host port forwards.  Loads
 * libslirp (libslirp.so.0) at run time: a VMM without user networking
 * does not need it installed.  0, or -errno with err saying which part
 * failed (missing library, a host port that cannot be bound).
 */
int net_slirp_open(const struct net_hostfwd *fwd, unsigned nfwd,
		   struct net_backend **out, struct err *err);

#endif
