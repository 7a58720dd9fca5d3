#include "daemon/quota.h"
#include "lib/testing.h"

#include <errno.h>
#include <string.h>

TEST(quota_assignment_parses_counts_sizes_and_unlimited)
{
	enum quota_kind k;
	long long v;
	struct err e = { 0 };
	EXPECT(quota_parse_assignment("instances=3", &k, &v, &e) == 0 && k == QUOTA_INSTANCES && v == 3);
	EXPECT(quota_parse_assignment("memory=4G", &k, &v, &e) == 0 && k == QUOTA_MEMORY &&
	       v == 4LL << 30);
	EXPECT(quota_parse_assignment("disk=unlimited", &k, &v, &e) == 0 && v == QUOTA_UNLIMITED);
	EXPECT(quota_parse_assignment("networks=0", &k, &v, &e) == 0 && v == 0);
}

TEST(quota_assignment_refuses_bad_input_naming_it)
{
	enum quota_kind k;
	long long v;
	struct err e = { 0 };
	EXPECT(quota_parse_assignment("ram=1G", &k, &v, &e) == -EINVAL && strstr(e.msg, "\"ram\""));
	EXPECT(quota_parse_assignment("cpus", &k, &v, &e) == -EINVAL && strstr(e.msg, "NAME=VALUE"));
	EXPECT(quota_parse_assignment("cpus=-3", &k, &v, &e) == -EINVAL && strstr(e.msg, "cpus=-3"));
	EXPECT(quota_parse_assignment("cpus=2x", &k, &v, &e) == -EINVAL);
	EXPECT(quota_parse_assignment("memory=lots", &k, &v, &e) == -EINVAL && strstr(e.msg, "size"));
	EXPECT(quota_parse_assignment("=4", &k, &v, &e) == -EINVAL);
}

TEST(quota_check_names_the_quota_its_limit_and_the_use)
{
	struct quota lim, use = { { 0 } }, need = { { 0 } };
	struct err e = { 0 };
	quota_defaults(&lim);
	lim.v[QUOTA_MEMORY] = 1LL << 30;
	use.v[QUOTA_MEMORY] = 768LL << 20;
	need.v[QUOTA_INSTANCES] = 1;
	need.v[QUOTA_MEMORY] = 256LL << 20;
	EXPECT(quota_check("p", &lim, &use, &need, &e) == 0);   /* exactly full is allowed */
	need.v[QUOTA_MEMORY] = 512LL << 20;
	EXPECT(quota_check("p", &lim, &use, &need, &e) == -EDQUOT);
	EXPECT(strstr(e.msg, "project \"p\": quota memory exceeded: limit 1 GiB, in use 768 MiB, "
		      "this request needs 512 MiB more"));
	lim.v[QUOTA_MEMORY] = QUOTA_UNLIMITED;
	EXPECT(quota_check("p", &lim, &use, &need, &e) == 0);
	lim.v[QUOTA_INSTANCES] = 0;
	EXPECT(quota_check("p", &lim, &use, &need, &e) == -EDQUOT && strstr(e.msg, "instances"));
}
