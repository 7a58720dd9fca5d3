#include "daemon/disks.h"
#include "lib/testing.h"

#include <errno.h>
#include <string.h>

TEST(disk_size_takes_mib_gib_tib_and_none_only_where_removal_is_allowed)
{
	struct err e = { 0 };
	long long mib;
	EXPECT(disk_size_parse("", "512M", false, &mib, &e) == 0 && mib == 512);
	EXPECT(disk_size_parse("", "2G", false, &mib, &e) == 0 && mib == 2048);
	EXPECT(disk_size_parse("", "1T", false, &mib, &e) == 0 && mib == 1024 * 1024);
	EXPECT(disk_size_parse("", "64", false, &mib, &e) == 0 && mib == 64);
	EXPECT(disk_size_parse("", "none", true, &mib, &e) == 0 && mib == 0);
	EXPECT(disk_size_parse("", "none", false, &mib, &e) == -EINVAL);
	EXPECT(disk_size_parse("", "0", false, &mib, &e) == -EINVAL);
	EXPECT(disk_size_parse("", "2T", false, &mib, &e) == -EINVAL && strstr(e.msg, "1M to 1T"));
	EXPECT(disk_size_parse("", "-1G", false, &mib, &e) == -EINVAL);
	EXPECT(disk_size_parse("", "9999999999999999999G", false, &mib, &e) == -EINVAL);
	EXPECT(disk_size_parse("", "1.5G", false, &mib, &e) == -EINVAL);
}

TEST(disks_object_names_sizes_and_null_removals_are_checked)
{
	struct err e = { 0 };
	struct disk d[DISKS_MAX];
	size_t n;
	cJSON *j = cJSON_Parse("{\"data\":\"2G\",\"old\":null}");
	EXPECT(disks_parse(j, true, d, &n, &e) == 0 && n == 2);
	EXPECT(!strcmp(d[0].name, "data") && d[0].size_mib == 2048 && d[1].size_mib == 0);
	EXPECT(disks_parse(j, false, d, &n, &e) == -EINVAL);
	cJSON_Delete(j);
	static const char *const bad[] = {
		"[]", "{\"a/b\":\"1G\"}", "{\"d\":5}", "{\"d\":\"1Q\"}",
		"{\"a\":\"1G\",\"b\":\"1G\",\"c\":\"1G\",\"d\":\"1G\",\"e\":\"1G\"}",
		"{\"a\":\"1G\",\"a\":\"2G\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		j = cJSON_Parse(bad[i]);
		int rc = disks_parse(j, true, d, &n, &e);
		cJSON_Delete(j);
		EXPECT(rc == -EINVAL);
	}
}
