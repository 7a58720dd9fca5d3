#include "lib/size.h"
#include "lib/testing.h"

#include <errno.h>
#include <string.h>

TEST(size_suffixes_are_binary_units)
{
	uint64_t b;
	EXPECT(parse_size("256M", 1, &b) == 0);
	EXPECT_EQ(b, 256ull << 20);
	EXPECT(parse_size("1g", 1, &b) == 0);
	EXPECT_EQ(b, 1ull << 30);
	EXPECT(parse_size("4KiB", 1, &b) == 0);
	EXPECT_EQ(b, 4096);
	EXPECT(parse_size("2TB", 1, &b) == 0);
	EXPECT_EQ(b, 2ull << 40);
}

TEST(size_bare_number_uses_default_unit)
{
	uint64_t b;
	EXPECT(parse_size("512", 1ull << 20, &b) == 0);
	EXPECT_EQ(b, 512ull << 20);
	EXPECT(parse_size("512b", 1ull << 20, &b) == 0);
	EXPECT_EQ(b, 512);
}

TEST(size_rejects_malformed_and_overflow)
{
	uint64_t b;
	EXPECT(parse_size("", 1, &b) == -EINVAL);
	EXPECT(parse_size("-1M", 1, &b) == -EINVAL);
	EXPECT(parse_size("12Q", 1, &b) == -EINVAL);
	EXPECT(parse_size("1MX", 1, &b) == -EINVAL);
	EXPECT(parse_size("M", 1, &b) == -EINVAL);
	EXPECT(parse_size("99999999999999999999", 1, &b) == -ERANGE);
	EXPECT(parse_size("99999999999T", 1, &b) == -ERANGE);
}

TEST(size_formats_readably)
{
	char buf[32];
	EXPECT(strcmp(format_size(256ull << 20, buf, sizeof buf), "256 MiB") == 0);
	EXPECT(strcmp(format_size(3ull << 29, buf, sizeof buf), "1.5 GiB") == 0);
	EXPECT(strcmp(format_size(100, buf, sizeof buf), "100 B") == 0);
}
