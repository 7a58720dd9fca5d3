/* Unit tests for the price list (price.c). */
#include "daemon/price.h"
#include "lib/testing.h"

#include <errno.h>
#include <math.h>
#include <string.h>

TEST(price_list_takes_each_price_and_a_currency)
{
	struct price_list p = { 0 };
	EXPECT(!p.set);
	EXPECT_EQ(price_set(&p, "vcpu-hour=0.02", NULL), 0);
	EXPECT_EQ(price_set(&p, "memory-gib-hour=0.005", NULL), 0);
	EXPECT_EQ(price_set(&p, "disk-gib-hour=0.0001", NULL), 0);
	EXPECT_EQ(price_set(&p, "currency=EUR", NULL), 0);
	EXPECT(p.set && !strcmp(p.currency, "EUR"));
	EXPECT(p.v[PRICE_VCPU_HOUR] == 0.02 && p.v[PRICE_DISK_GIB_HOUR] == 0.0001);
}

TEST(price_list_refuses_unknown_names_bad_values_and_currencies)
{
	struct price_list p = { 0 };
	struct err e = { 0 };
	EXPECT_EQ(price_set(&p, "gpu-hour=1", &e), -EINVAL);
	EXPECT(strstr(e.msg, "no such price"));
	EXPECT_EQ(price_set(&p, "vcpu-hour", &e), -EINVAL);
	EXPECT(strstr(e.msg, "NAME=VALUE"));
	EXPECT_EQ(price_set(&p, "vcpu-hour=-1", &e), -EINVAL);
	EXPECT_EQ(price_set(&p, "vcpu-hour=nan", &e), -EINVAL);
	EXPECT_EQ(price_set(&p, "vcpu-hour=1e7", &e), -EINVAL);
	EXPECT_EQ(price_set(&p, "vcpu-hour=", &e), -EINVAL);
	EXPECT_EQ(price_set(&p, "vcpu-hour=2x", &e), -EINVAL);
	EXPECT_EQ(price_set(&p, "currency=euro", &e), -EINVAL);
	EXPECT(strstr(e.msg, "ISO 4217"));
	EXPECT(!p.set);   /* nothing refused was taken */
}

TEST(price_bill_is_hours_times_prices)
{
	struct price_list p = { 0 };
	price_set(&p, "vcpu-hour=0.04", NULL);
	price_set(&p, "memory-gib-hour=0.01", NULL);
	price_set(&p, "disk-gib-hour=0.001", NULL);
	struct bill b;
	/* 2 vCPUs for half an hour, 4 GiB-hours of memory, 100 GiB-hours of disk */
	price_set(&p, "network-gib=0.5", NULL);
	price_bill(&p, 3600, 4, 100, 2.0 * 1024 * 1024 * 1024, &b);
	EXPECT(fabs(b.v[PRICE_VCPU_HOUR] - 0.04) < 1e-12);
	EXPECT(fabs(b.v[PRICE_MEMORY_GIB_HOUR] - 0.04) < 1e-12);
	EXPECT(fabs(b.v[PRICE_DISK_GIB_HOUR] - 0.1) < 1e-12);
	EXPECT(fabs(b.v[PRICE_NET_GIB] - 1.0) < 1e-12);
	EXPECT(fabs(b.total - 1.18) < 1e-12);
}
