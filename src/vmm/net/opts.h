/*
 * The `--net` option: which backend a virtio-net device uses, parsed into
 * plain data, and opening that backend.
 *
 *   user[,hostfwd=RULE]...[,mac=MAC]      user-mode NAT (libslirp)
 *   tap[,ifname=NAME][,mac=MAC]           a TAP interface (kernel-chosen name
 *                                         when ifname is left out)
 *   RULE = [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT
 *          (protocol default tcp, host address default 0.0.0.0 = every host
 *          address, guest address default 10.0.2.15; as QEMU writes it)
 *   MAC  = six hex bytes separated by ':' (unicast; default 52:54:00:12:34:56
 *          plus the NIC's index)
 *
 * A bad string gives -EINVAL and a one-line error naming the bad part
 * ("--net mac=01:00:00:00:00:01: a multicast address (first byte odd)").
 */
#ifndef NIMBUS_VMM_NET_OPTS_H
#define NIMBUS_VMM_NET_OPTS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "vmm/virtio/net_backend.h"

#define NET_MAX_HOSTFWD 16
#define NET_IFNAME_MAX 16          /* IFNAMSIZ, with the NUL */

enum net_kind { NET_USER = 1, NET_TAP = 2 };

struct net_hostfwd {
	bool udp;
	struct in_addr host_addr;      /* INADDR_ANY: every host address */
	uint16_t host_port;
	struct in_addr guest_addr;
	uint16_t guest_port;
};

struct net_opts {
	enum net_kind kind;
	bool has_mac;
	uint8_t mac[6];
	char ifname[NET_IFNAME_MAX];   /* tap: "" = the kernel picks tapN */
	struct net_hostfwd fwd[NET_MAX_HOSTFWD];
	unsigned nfwd;
};

/* Parses arg (see above) into *o.  0, or -EINVAL with err naming the bad part. */
int net_opts_parse(const char *arg, struct net_opts *o, struct err *err);

/* "52:54:00:12:34:56" -> bytes; 0, or -EINVAL for anything else (also
 * multicast and all-zero addresses).  why (may be NULL) gets the reason. */
int net_mac_parse(const char *s, uint8_t mac[6], const char **why);

/* The MAC of NIC number index when none was given: 52:54:00:12:34:56 + index. */
void net_default_mac(unsigned index, uint8_t mac[6]);

/* Opens the backend o describes (not started: virtio_net_create does that). */
int net_backend_open(const struct net_opts *o, struct net_backend **out, struct err *err);

#endif
