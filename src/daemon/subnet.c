/* See subnet.h. */
#include "daemon/subnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t mask_of(unsigned prefix)
{
	return prefix ? ~0u << (32 - prefix) : 0;
}

static bool private_range(uint32_t a, unsigned prefix)
{
	static const struct { uint32_t base; unsigned prefix; } rfc1918[] = {
		{ 0x0a000000, 8 }, { 0xac100000, 12 }, { 0xc0a80000, 16 },
	};
	for (size_t i = 0; i < 3; i++)
		if (prefix >= rfc1918[i].prefix &&
		    (a & mask_of(rfc1918[i].prefix)) == rfc1918[i].base)
			return true;
	return false;
}

int subnet_parse(const char *s, struct subnet *out, struct err *e)
{
	char ip[32];
	const char *slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= sizeof ip)
		return err_set(e, -EINVAL, "subnet \"%.64s\": expected ADDRESS/PREFIX, e.g. "
			       "10.20.0.0/24", s);
	snprintf(ip, sizeof ip, "%.*s", (int)(slash - s), s);
	struct in_addr a;
	char *end;
	long p = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, ip, &a) != 1 || !slash[1] || *end)
		return err_set(e, -EINVAL, "subnet \"%.64s\": expected ADDRESS/PREFIX, e.g. "
			       "10.20.0.0/24", s);
	if (p < SUBNET_PREFIX_MIN || p > SUBNET_PREFIX_MAX)
		return err_set(e, -EINVAL, "subnet \"%.64s\": the prefix must be from /%d to /%d", s,
			       SUBNET_PREFIX_MIN, SUBNET_PREFIX_MAX);
	uint32_t base = ntohl(a.s_addr);
	if (base & ~mask_of((unsigned)p))
		return err_set(e, -EINVAL, "subnet \"%.64s\": host bits are set (did you mean "
			       "%s/%ld?)", s, ip_str(base & mask_of((unsigned)p), ip, sizeof ip), p);
	if (!private_range(base, (unsigned)p))
		return err_set(e, -EINVAL, "subnet \"%.64s\": not a private range (10.0.0.0/8, "
			       "172.16.0.0/12 or 192.168.0.0/16)", s);
	out->base = base;
	out->prefix = (unsigned)p;
	return 0;
}

const char *ip_str(uint32_t ip, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
	return buf;
}

const char *subnet_str(const struct subnet *n, char *buf, size_t len)
{
	char ip[16];
	snprintf(buf, len, "%s/%u", ip_str(n->base, ip, sizeof ip), n->prefix);
	return buf;
}

bool subnet_overlap(const struct subnet *a, const struct subnet *b)
{
	unsigned p = a->prefix < b->prefix ? a->prefix : b->prefix;
	return (a->base & mask_of(p)) == (b->base & mask_of(p));
}

uint32_t subnet_hosts(const struct subnet *n)
{
	return (1u << (32 - n->prefix)) - 2;
}

uint32_t subnet_host(const struct subnet *n, uint32_t i)
{
	return i <= subnet_hosts(n) ? n->base + i : 0;
}

int cidr_parse(const char *s, struct subnet *out, struct err *e)
{
	char ip[32];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	long p = 32;
	char *end = NULL;
	struct in_addr a;
	if (n >= sizeof ip)
		goto bad;
	snprintf(ip, sizeof ip, "%.*s", (int)n, s);
	if (slash) {
		p = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || p < 0 || p > 32)
			goto bad;
	}
	if (inet_pton(AF_INET, ip, &a) != 1)
		goto bad;
	uint32_t base = ntohl(a.s_addr);
	if (base & ~mask_of((unsigned)p))
		return err_set(e, -EINVAL, "source \"%.64s\": host bits are set (did you mean %s/%ld?)",
			       s, ip_str(base & mask_of((unsigned)p), ip, sizeof ip), p);
	out->base = base;
	out->prefix = (unsigned)p;
	return 0;
bad:
	return err_set(e, -EINVAL, "source \"%.64s\": expected an IPv4 address or CIDR such as "
		       "10.0.0.0/8 or 0.0.0.0/0", s);
}
