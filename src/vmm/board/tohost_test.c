/* Unit tests of tohost polling: pass, failure codes, clearing, values that are not exits. */
#include "vmm/board/tohost.h"

#include "lib/testing.h"
#include "vmm/bus.h"

TEST(tohost_pass_fail_and_clear)
{
	struct bus bus;
	EXPECT_EQ(bus_init(&bus, 0x80000000, 1 << 20), 0);
	uint64_t *word = (uint64_t *)(bus.ram + 0x1000);
	int code = -1;
	EXPECT_EQ(tohost_poll(&bus, 0x80001000, &code), TOHOST_NONE);
	*word = 1;
	EXPECT_EQ(tohost_poll(&bus, 0x80001000, &code), TOHOST_PASS);
	EXPECT_EQ(*word, 0);
	EXPECT_EQ(tohost_poll(&bus, 0x80001000, &code), TOHOST_NONE);
	*word = (7 << 1) | 1;
	EXPECT_EQ(tohost_poll(&bus, 0x80001000, &code), TOHOST_FAIL);
	EXPECT_EQ(code, 7);
	EXPECT_EQ(*word, 0);
	bus_destroy(&bus);
}

TEST(tohost_ignores_other_htif_requests)
{
	struct bus bus;
	EXPECT_EQ(bus_init(&bus, 0x80000000, 1 << 20), 0);
	uint64_t *word = (uint64_t *)(bus.ram + 0x1000);
	int code;
	*word = (1ull << 56) | (1ull << 48) | 'A';   /* console putchar */
	EXPECT_EQ(tohost_poll(&bus, 0x80001000, &code), TOHOST_NONE);
	EXPECT_EQ(*word, (1ull << 56) | (1ull << 48) | 'A');
	*word = 0x80002000;                          /* syscall buffer pointer */
	EXPECT_EQ(tohost_poll(&bus, 0x80001000, &code), TOHOST_NONE);
	EXPECT_EQ(tohost_poll(&bus, 0x70000000, &code), TOHOST_NONE);   /* not RAM */
	bus_destroy(&bus);
}
