/*
 * A TAP interface backend ("--net tap"): guest frames go to the host
 * kernel's network stack through /dev/net/tun.  See tap.c.
 */
#ifndef NIMBUS_VMM_NET_TAP_H
#define NIMBUS_VMM_NET_TAP_H

#include "lib/err.h"
#include "vmm/virtio/net_backend.h"

/*
 * Creates or attaches the tap interface ifname ("" or NULL: the kernel
 * picks tapN) with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (plain frames if the
 * tap refuses the header) and tries to bring it up (a
 * persistent tap prepared by an administrator may already be up and
 * bridged; we do not touch addresses or bridges).  0, or -errno with a
 * message: no /dev/net/tun, no permission, device busy, not a tap.
 */
int net_tap_open(const char *ifname, struct net_backend **out, struct err *err);

/*
 * Takes fd (also on failure), a /dev/net/tun descriptor its sender attached
 * to a TAP with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and a 12-byte header
 * (TUNSETVNETHDRSZ): what a jailed VMM, which may open nothing, is handed
 * for a NIC hot-plugged into a running guest.  ifname names it in
 * messages.  -EINVAL when fd is not /dev/net/tun.
 */
int net_tap_adopt(int fd, const char *ifname, struct net_backend **out, struct err *err);

/* The interface's name as the kernel gave it. */
const char *net_tap_ifname(const struct net_backend *be);

#endif
