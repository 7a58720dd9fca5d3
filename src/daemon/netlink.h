/*
 * The few rtnetlink requests the networks need, through libmnl: bridges,
 * veth pairs, persistent TAP devices, links' master, state, name and
 * namespace, IPv4 addresses and a default route.  Each call opens its own
 * netlink socket, so calls from different threads never share one; each
 * waits for the kernel's acknowledgement and turns its error into a
 * sentence naming the interface.  Everything acts in the calling thread's
 * network namespace.
 */
#ifndef NIMBUS_DAEMON_NETLINK_H
#define NIMBUS_DAEMON_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"

int nl_bridge_add(const char *name, struct err *e);
int nl_veth_add(const char *name, const char *peer, struct err *e);
/* A persistent TAP (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, as the VMM opens
 * it) that outlives this process, for a VMM to open by name. */
int nl_tap_add(const char *name, struct err *e);
/* The TAP name (made by nl_tap_add) opened for a VMM to take: with a
 * 12-byte virtio-net header, as the VMM's TAP backend sets it (tap.h's
 * net_tap_adopt).  The descriptor, or -errno. */
int nl_tap_open(const char *name, struct err *e);
/* -ENODEV is not an error for delete: it is already gone. */
int nl_link_del(const char *name, struct err *e);
bool nl_link_exists(const char *name);
/* The bytes name has received and sent since it was made (IFLA_STATS64);
 * -ENODEV if there is no such link. */
int nl_link_bytes(const char *name, uint64_t *rx, uint64_t *tx, struct err *e);
int nl_link_set_master(const char *name, const char *master, struct err *e);
int nl_link_up(const char *name, struct err *e);
int nl_link_set_mac(const char *name, const uint8_t mac[6], struct err *e);
int nl_link_rename(const char *name, const char *to, struct err *e);
/* Moves the link into the network namespace open at nsfd. */
int nl_link_set_netns(const char *name, int nsfd, struct err *e);
/* addr and gw are IPv4 addresses in network order. */
int nl_addr_add(const char *name, uint32_t addr, unsigned prefix, struct err *e);
/* Replaces the default route there is (a DHCP renewal gives it again). */
int nl_route_default(const char *name, uint32_t gw, struct err *e);
/* Sets the address, replacing it if it is there (a DHCP renewal), with a
 * lifetime in seconds (0: forever), after which the kernel removes it. */
int nl_addr_set(const char *name, uint32_t addr, unsigned prefix, uint32_t lifetime,
		struct err *e);
/* Not an error if it is not there. */
int nl_addr_del(const char *name, uint32_t addr, unsigned prefix, struct err *e);

#endif
