/* Unit tests of the API's path rules (route.c). */
#include "daemon/route.h"
#include "lib/testing.h"

#include <string.h>

TEST(route_path_drops_trailing_slashes_but_keeps_the_root)
{
	char p[32];
	EXPECT_EQ(route_path("/1.0/instances///", p, sizeof p), ROUTE_PATH_OK);
	EXPECT(strcmp(p, "/1.0/instances") == 0);
	EXPECT_EQ(route_path("/", p, sizeof p), ROUTE_PATH_OK);
	EXPECT(strcmp(p, "/") == 0);
	EXPECT_EQ(route_path("/1.0/instances/a-very-long-name-indeed", p, sizeof p),
		  ROUTE_PATH_TOO_LONG);
}

TEST(route_path_refuses_dotdot_segments_only)
{
	char p[64];
	EXPECT_EQ(route_path("/1.0/instances/../images", p, sizeof p), ROUTE_PATH_DOTDOT);
	EXPECT_EQ(route_path("/1.0/..", p, sizeof p), ROUTE_PATH_DOTDOT);
	EXPECT_EQ(route_path("/1.0/../", p, sizeof p), ROUTE_PATH_DOTDOT);
	EXPECT_EQ(route_path("/1.0/..x/y", p, sizeof p), ROUTE_PATH_OK);   /* a name, not a segment */
	EXPECT_EQ(route_path("/1.0/x../y", p, sizeof p), ROUTE_PATH_OK);
}

TEST(route_match_takes_one_nonempty_segment_for_name)
{
	char name[8];
	EXPECT(route_match("/1.0/instances/{name}/exec", "/1.0/instances/c1/exec", name, sizeof name));
	EXPECT(strcmp(name, "c1") == 0);
	EXPECT(!route_match("/1.0/instances/{name}", "/1.0/instances/a/b", name, sizeof name));
	EXPECT(!route_match("/1.0/instances/{name}", "/1.0/instances/", name, sizeof name));
	EXPECT(!route_match("/1.0/instances/{name}/exec", "/1.0/instances//exec", name, sizeof name));
	EXPECT(!route_match("/1.0/instances", "/1.0/instances/x", name, sizeof name));
	/* Cut to fit, so that name_check still sees it too long. */
	EXPECT(route_match("/1.0/images/{name}", "/1.0/images/abcdefghijk", name, sizeof name));
	EXPECT(strcmp(name, "abcdefg") == 0);
}
