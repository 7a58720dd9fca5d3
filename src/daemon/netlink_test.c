/* Unit tests for netlink.c that need no namespace of their own: reading a
 * link's counters (the loopback's, which every host has). */
#include "daemon/netlink.h"
#include "lib/testing.h"

#include <errno.h>
#include <string.h>

TEST(netlink_link_bytes_reads_the_loopbacks_counters_and_names_a_missing_link)
{
	uint64_t rx = ~0ull, tx = ~0ull;
	EXPECT_EQ(nl_link_bytes("lo", &rx, &tx, NULL), 0);
	EXPECT(rx != ~0ull && tx != ~0ull);
	struct err e = { 0 };
	EXPECT_EQ(nl_link_bytes("nimbus-none0", &rx, &tx, &e), -ENODEV);
	EXPECT(strstr(e.msg, "nimbus-none0"));
}
