/*
 * The price list that turns metered usage (meter.h) into a bill: what a
 * vCPU-hour, a GiB-hour of memory, a GiB-hour of disk and a GiB sent cost, in one
 * currency, as the operator sets them (`nimbusd --price vcpu-hour=0.02
 * --price currency=EUR ...`).  A cloud prices reserved resources per hour
 * (OpenStack's rating, the public clouds' on-demand lists); the meter
 * counts vCPU-seconds, so a bill divides by 3600.  Without a price set the
 * daemon bills nothing (no price list, not a free one).
 */
#ifndef NIMBUS_DAEMON_PRICE_H
#define NIMBUS_DAEMON_PRICE_H

#include <stdbool.h>

#include "lib/err.h"

enum price_kind { PRICE_VCPU_HOUR, PRICE_MEMORY_GIB_HOUR, PRICE_DISK_GIB_HOUR, PRICE_NET_GIB,
		  PRICE_N };

#define PRICE_MAX 1e6               /* per unit: a typo's guard, not a policy */

struct price_list {
	double v[PRICE_N];
	char currency[4];               /* ISO 4217, "" until set */
	bool set;                       /* any price given */
};

/* "vcpu-hour", "memory-gib-hour", "disk-gib-hour", "network-gib" (what the
 * instances sent, as a cloud charges egress). */
const char *price_name(enum price_kind k);

/* Takes one NAME=VALUE (a price from 0 to PRICE_MAX, or currency=XYZ, three
 * capital letters) into p; -EINVAL naming the problem. */
int price_set(struct price_list *p, const char *arg, struct err *e);

struct bill {
	double v[PRICE_N];              /* the cost of each resource */
	double total;
};

void price_bill(const struct price_list *p, double vcpu_seconds, double memory_gib_hours,
		double disk_gib_hours, double net_tx_bytes, struct bill *out);

#endif
