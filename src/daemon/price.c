/* See price.h. */
#include "daemon/price.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[PRICE_N] = { "vcpu-hour", "memory-gib-hour", "disk-gib-hour",
					     "network-gib" };

const char *price_name(enum price_kind k)
{
	return (unsigned)k < PRICE_N ? names[k] : "?";
}

int price_set(struct price_list *p, const char *arg, struct err *e)
{
	const char *eq = strchr(arg, '=');
	size_t klen = eq ? (size_t)(eq - arg) : 0;
	if (!eq)
		return err_set(e, -EINVAL, "--price %.64s: expected NAME=VALUE (vcpu-hour, "
			       "memory-gib-hour, disk-gib-hour, network-gib or currency)", arg);
	const char *val = eq + 1;
	if (klen == 8 && !strncmp(arg, "currency", 8)) {
		bool ok = strlen(val) == 3;
		for (int i = 0; ok && i < 3; i++)
			ok = val[i] >= 'A' && val[i] <= 'Z';
		if (!ok)
			return err_set(e, -EINVAL, "--price currency=%.16s: expected an ISO 4217 code "
				       "such as EUR or USD", val);
		memcpy(p->currency, val, 4);
		return 0;
	}
	for (int k = 0; k < PRICE_N; k++) {
		if (strlen(names[k]) != klen || strncmp(arg, names[k], klen))
			continue;
		char *end;
		double v = strtod(val, &end);
		if (!*val || *end || !isfinite(v) || v < 0 || v > PRICE_MAX)
			return err_set(e, -EINVAL, "--price %s=%.32s: expected a price from 0 to %g "
				       "per unit", names[k], val, PRICE_MAX);
		p->v[k] = v;
		p->set = true;
		return 0;
	}
	return err_set(e, -EINVAL, "--price %.*s: no such price (vcpu-hour, memory-gib-hour, "
		       "disk-gib-hour, network-gib, currency)", (int)(klen > 32 ? 32 : klen), arg);
}

void price_bill(const struct price_list *p, double vcpu_seconds, double memory_gib_hours,
		double disk_gib_hours, double net_tx_bytes, struct bill *out)
{
	out->v[PRICE_VCPU_HOUR] = vcpu_seconds / 3600 * p->v[PRICE_VCPU_HOUR];
	out->v[PRICE_MEMORY_GIB_HOUR] = memory_gib_hours * p->v[PRICE_MEMORY_GIB_HOUR];
	out->v[PRICE_DISK_GIB_HOUR] = disk_gib_hours * p->v[PRICE_DISK_GIB_HOUR];
	out->v[PRICE_NET_GIB] = net_tx_bytes / (1024.0 * 1024 * 1024) * p->v[PRICE_NET_GIB];
	out->total = out->v[0] + out->v[1] + out->v[2] + out->v[3];
}
