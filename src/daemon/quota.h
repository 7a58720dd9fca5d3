/*
 * A project's quotas: how many instances, vCPUs, bytes of memory, bytes of
 * disk and networks it may hold at once, -1 meaning no limit.  Usage counts
 * what exists, running or not (as OpenStack counts instances against
 * quotas): a stopped instance keeps its reservation, so starting it again
 * can never be refused for a quota.
 *
 * A request that would exceed a quota is refused with -EDQUOT and one
 * sentence naming the quota, its limit, the current use and what the
 * request asked for.
 */
#ifndef NIMBUS_DAEMON_QUOTA_H
#define NIMBUS_DAEMON_QUOTA_H

#include <stdbool.h>

#include "lib/err.h"

enum quota_kind { QUOTA_INSTANCES, QUOTA_CPUS, QUOTA_MEMORY, QUOTA_DISK, QUOTA_NETWORKS,
		  QUOTA_N };

#define QUOTA_UNLIMITED (-1LL)

struct quota {
	long long v[QUOTA_N];
};

/* "instances", "cpus", "memory", "disk", "networks": the API's and CLI's names. */
const char *quota_name(enum quota_kind k);
/* Whether the quota is a size in bytes (memory, disk). */
bool quota_is_size(enum quota_kind k);
int quota_lookup(const char *name, enum quota_kind *out);

/* A new project's limits, OpenStack's defaults in spirit: 10 instances,
 * 20 vCPUs, 50 GiB of memory, 1 TiB of disk, 10 networks. */
void quota_defaults(struct quota *q);

/* Parses one "name=value" ("memory=4G", "cpus=unlimited") into *kind and
 * *value; -EINVAL naming the problem. */
int quota_parse_assignment(const char *s, enum quota_kind *kind, long long *value,
			   struct err *e);

/* Whether use + need fits under every limit; -EDQUOT naming the first
 * quota it does not fit. */
int quota_check(const char *project, const struct quota *limit, const struct quota *use,
		const struct quota *need, struct err *e);

#endif
