/*
 * IPv4 subnets of the networks: "10.20.0.0/24" parsed and printed, overlap,
 * and the addresses in one (the gateway is the first host address; instances
 * get the ones after it).  Addresses are host byte order here; netlink.h
 * wants network order (htonl).
 */
#ifndef NIMBUS_DAEMON_SUBNET_H
#define NIMBUS_DAEMON_SUBNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct subnet {
	uint32_t base;     /* host order, host bits zero */
	unsigned prefix;   /* SUBNET_PREFIX_MIN..SUBNET_PREFIX_MAX */
};

#define SUBNET_PREFIX_MIN 16
#define SUBNET_PREFIX_MAX 29

/* -EINVAL naming the problem: not a.b.c.d/N, host bits set, a prefix out of
 * range, or not a private (RFC 1918) range. */
int subnet_parse(const char *s, struct subnet *out, struct err *e);
/* Any IPv4 CIDR, /0 to /32 ("0.0.0.0/0"; a bare address is /32), host bits
 * zero: a security rule's source. */
int cidr_parse(const char *s, struct subnet *out, struct err *e);
const char *subnet_str(const struct subnet *n, char *buf, size_t len);
const char *ip_str(uint32_t ip, char *buf, size_t len);
bool subnet_overlap(const struct subnet *a, const struct subnet *b);
/* The i-th address (0 = the network's own); 0 past the last host address. */
uint32_t subnet_host(const struct subnet *n, uint32_t i);
/* How many host addresses it has (without network and broadcast). */
uint32_t subnet_hosts(const struct subnet *n);

#endif
