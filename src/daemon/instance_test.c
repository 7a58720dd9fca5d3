#include "daemon/instance.h"
#include "lib/testing.h"

#include <errno.h>
#include <string.h>

TEST(name_accepts_lowercase_digits_and_dashes)
{
	EXPECT(name_check("instance", "web1", NULL) == 0);
	EXPECT(name_check("instance", "a-b-9", NULL) == 0);
	EXPECT(name_check("instance", "0", NULL) == 0);
	char max[INSTANCE_NAME_MAX + 1];
	memset(max, 'a', INSTANCE_NAME_MAX);
	max[INSTANCE_NAME_MAX] = 0;
	EXPECT(name_check("instance", max, NULL) == 0);
}

TEST(name_refuses_paths_and_odd_characters_saying_why)
{
	struct err e = { 0 };
	EXPECT(name_check("instance", "a/b", &e) == -EINVAL && strstr(e.msg, "'/'"));
	EXPECT(name_check("instance", "..", &e) == -EINVAL && strstr(e.msg, "'..'"));
	EXPECT(name_check("instance", "", &e) == -EINVAL && strstr(e.msg, "empty"));
	EXPECT(name_check("instance", "-x", &e) == -EINVAL);
	EXPECT(name_check("instance", "Web", &e) == -EINVAL && strstr(e.msg, "'W'"));
	EXPECT(name_check("instance", "a b", &e) == -EINVAL && strstr(e.msg, "0x20"));
	EXPECT(name_check("instance", "a\n", &e) == -EINVAL && strstr(e.msg, "0x0a"));
	char long_name[INSTANCE_NAME_MAX + 2];
	memset(long_name, 'a', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = 0;
	EXPECT(name_check("instance", long_name, &e) == -EINVAL && strstr(e.msg, "longer"));
}
