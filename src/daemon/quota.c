/* See quota.h. */
#include "daemon/quota.h"
#include "lib/size.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[QUOTA_N] = { "instances", "cpus", "memory", "disk", "networks" };

const char *quota_name(enum quota_kind k)
{
	return (unsigned)k < QUOTA_N ? names[k] : "?";
}

bool quota_is_size(enum quota_kind k)
{
	return k == QUOTA_MEMORY || k == QUOTA_DISK;
}

int quota_lookup(const char *name, enum quota_kind *out)
{
	for (int i = 0; i < QUOTA_N; i++)
		if (!strcmp(name, names[i])) {
			*out = (enum quota_kind)i;
			return 0;
		}
	return -EINVAL;
}

void quota_defaults(struct quota *q)
{
	q->v[QUOTA_INSTANCES] = 10;
	q->v[QUOTA_CPUS] = 20;
	q->v[QUOTA_MEMORY] = 50LL << 30;
	q->v[QUOTA_DISK] = 1LL << 40;
	q->v[QUOTA_NETWORKS] = 10;
}

/* Quotas above this are surely typos; it also keeps sums far from overflow. */
#define QUOTA_MAX (1LL << 52)

int quota_parse_assignment(const char *s, enum quota_kind *kind, long long *value,
			   struct err *e)
{
	const char *eq = strchr(s, '=');
	char name[32];
	if (!eq || eq == s || (size_t)(eq - s) >= sizeof name)
		return err_set(e, -EINVAL, "quota \"%.64s\": expected NAME=VALUE (instances, cpus, "
			       "memory, disk, networks)", s);
	snprintf(name, sizeof name, "%.*s", (int)(eq - s), s);
	if (quota_lookup(name, kind) < 0)
		return err_set(e, -EINVAL, "quota \"%.32s\": unknown (expected instances, cpus, "
			       "memory, disk or networks)", name);
	const char *v = eq + 1;
	if (!strcmp(v, "unlimited") || !strcmp(v, "-1")) {
		*value = QUOTA_UNLIMITED;
		return 0;
	}
	if (quota_is_size(*kind)) {
		uint64_t bytes;
		/* A bare number is bytes, as in the API. */
		if (parse_size(v, 1, &bytes) < 0 || bytes > (uint64_t)QUOTA_MAX)
			return err_set(e, -EINVAL, "quota %s=%.32s: expected a size such as 4G or "
				       "unlimited", name, v);
		*value = (long long)bytes;
		return 0;
	}
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (!*v || *end || errno || n < 0 || n > QUOTA_MAX)
		return err_set(e, -EINVAL, "quota %s=%.32s: expected a whole number or unlimited",
			       name, v);
	*value = n;
	return 0;
}

static const char *amount(enum quota_kind k, long long v, char *buf, size_t len)
{
	if (quota_is_size(k))
		return format_size((uint64_t)v, buf, len);
	snprintf(buf, len, "%lld", v);
	return buf;
}

int quota_check(const char *project, const struct quota *limit, const struct quota *use,
		const struct quota *need, struct err *e)
{
	for (int k = 0; k < QUOTA_N; k++) {
		long long lim = limit->v[k];
		if (lim < 0 || need->v[k] <= 0 || use->v[k] + need->v[k] <= lim)
			continue;
		char a[32], b[32], c[32];
		return err_set(e, -EDQUOT, "project \"%s\": quota %s exceeded: limit %s, in use %s, "
			       "this request needs %s more", project, names[k],
			       amount(k, lim, a, sizeof a), amount(k, use->v[k], b, sizeof b),
			       amount(k, need->v[k], c, sizeof c));
	}
	return 0;
}
