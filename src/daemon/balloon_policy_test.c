#include "daemon/balloon_policy.h"
#include "lib/testing.h"

#define MIB (1LL << 20)
#define GIB (1LL << 30)

static const struct balloon_limits limits = {
	.low = 1 * GIB, .high = 2 * GIB, .keep = 32 * MIB, .floor = 64 * MIB,
};

/* An idle 1 GiB guest with 800 MiB available and an empty balloon. */
static struct balloon_vm idle_vm(void)
{
	return (struct balloon_vm){ .ram = GIB, .guest_avail = 800 * MIB, .idle = true };
}

TEST(balloon_holds_between_the_watermarks)
{
	struct balloon_vm v[2] = { idle_vm(), idle_vm() };
	v[1].target = v[1].actual = 100 * MIB;
	long long next[2], unmet = -1;
	EXPECT(balloon_plan(&limits, 1536 * MIB, v, 2, next, &unmet) == BALLOON_HOLD);
	EXPECT_EQ(next[0], 0);
	EXPECT_EQ(next[1], 100 * MIB);
	EXPECT_EQ(unmet, 0);
}

TEST(balloon_short_host_inflates_idle_guests_up_to_the_high_watermark)
{
	/* an idle 4 GiB guest with 3 GiB available */
	struct balloon_vm v[1] = { { .ram = 4 * GIB, .guest_avail = 3 * GIB, .idle = true } };
	long long next[1], unmet;
	EXPECT(balloon_plan(&limits, 1 * GIB, v, 1, next, &unmet) == BALLOON_HOLD);
	EXPECT(balloon_plan(&limits, 768 * MIB, v, 1, next, &unmet) == BALLOON_INFLATE);
	EXPECT_EQ(next[0], 1280 * MIB);
	EXPECT_EQ(unmet, 0);
}

TEST(balloon_never_takes_what_a_guest_needs)
{
	/* 768 MiB available less 32 MiB kept; the ceiling is 3/4 of 1 GiB */
	struct balloon_vm v[1] = { idle_vm() };
	long long next[1], unmet;
	EXPECT(balloon_plan(&limits, 0, v, 1, next, &unmet) == BALLOON_INFLATE);
	EXPECT_EQ(next[0], 768 * MIB);
	EXPECT_EQ(unmet, 2 * GIB - 768 * MIB);
	/* a guest using its memory gives only what it has free */
	v[0].guest_avail = 100 * MIB;
	EXPECT(balloon_plan(&limits, 0, v, 1, next, &unmet) == BALLOON_INFLATE);
	EXPECT_EQ(next[0], 68 * MIB);
	/* a small guest keeps the floor */
	v[0] = (struct balloon_vm){ .ram = 128 * MIB, .guest_avail = 120 * MIB, .idle = true };
	EXPECT(balloon_plan(&limits, 0, v, 1, next, &unmet) == BALLOON_INFLATE);
	EXPECT_EQ(next[0], 64 * MIB);
}

TEST(balloon_leaves_busy_paused_and_silent_guests_alone)
{
	struct balloon_vm v[2] = { idle_vm(), idle_vm() };
	v[0].idle = false;        /* busy, or paused */
	v[1].guest_avail = -1;    /* no fresh statistics */
	long long next[2], unmet;
	EXPECT(balloon_plan(&limits, 512 * MIB, v, 2, next, &unmet) == BALLOON_HOLD);
	EXPECT_EQ(next[0], 0);
	EXPECT_EQ(next[1], 0);
	EXPECT_EQ(unmet, 1536 * MIB);
}

TEST(balloon_asks_the_guest_with_most_to_spare_first)
{
	struct balloon_vm v[3] = { idle_vm(), idle_vm(), idle_vm() };
	v[0].guest_avail = 200 * MIB;
	v[1].guest_avail = 900 * MIB;
	v[2].guest_avail = 500 * MIB;
	long long next[3], unmet;
	/* 1 GiB short of high: the 900 MiB guest gives its 768 (ceiling), the
	 * 500 MiB one the remaining 256 */
	EXPECT(balloon_plan(&limits, 1 * GIB - 1, v, 3, next, &unmet) == BALLOON_INFLATE);
	EXPECT_EQ(next[0], 0);
	EXPECT_EQ(next[1], 768 * MIB);
	EXPECT_EQ(next[2], 257 * MIB);   /* 1 GiB and a byte short: 1025 MiB */
	EXPECT_EQ(unmet, 0);
}

TEST(balloon_counts_memory_asked_for_but_not_yet_handed_over)
{
	/* asked for 512 MiB, 128 handed over: 384 are on their way, so 1280
	 * short of high asks for 896 more, not 1280 */
	struct balloon_vm v[1] = { { .ram = 4 * GIB, .guest_avail = 3 * GIB, .idle = true,
				     .target = 512 * MIB, .actual = 128 * MIB } };
	long long next[1], unmet;
	EXPECT(balloon_plan(&limits, 768 * MIB, v, 1, next, &unmet) == BALLOON_INFLATE);
	EXPECT_EQ(next[0], (512 + 896) * MIB);
	EXPECT_EQ(unmet, 0);
}

TEST(balloon_room_again_deflates_busy_guests_first_down_to_the_high_watermark)
{
	struct balloon_vm v[3] = { idle_vm(), idle_vm(), idle_vm() };
	v[0].target = v[0].actual = 300 * MIB;
	v[1].target = v[1].actual = 100 * MIB;
	v[1].idle = false;
	v[2].target = v[2].actual = 500 * MIB;
	long long next[3];
	/* 350 MiB above high: the busy guest's 100 first, then 250 of the largest */
	EXPECT(balloon_plan(&limits, 2 * GIB + 350 * MIB, v, 3, next, NULL) == BALLOON_DEFLATE);
	EXPECT_EQ(next[1], 0);
	EXPECT_EQ(next[2], 250 * MIB);
	EXPECT_EQ(next[0], 300 * MIB);
	/* plenty of room: every balloon empties */
	EXPECT(balloon_plan(&limits, 20 * GIB, v, 3, next, NULL) == BALLOON_DEFLATE);
	EXPECT_EQ(next[0] + next[1] + next[2], 0);
	/* nothing inflated: nothing to do */
	struct balloon_vm w[1] = { idle_vm() };
	EXPECT(balloon_plan(&limits, 20 * GIB, w, 1, next, NULL) == BALLOON_HOLD);
}

TEST(balloon_policy_is_off_without_sane_watermarks)
{
	struct balloon_vm v[1] = { idle_vm() };
	long long next[1];
	struct balloon_limits off = limits;
	off.low = 0;
	EXPECT(balloon_plan(&off, 0, v, 1, next, NULL) == BALLOON_HOLD);
	off = limits;
	off.high = off.low;
	EXPECT(balloon_plan(&off, 0, v, 1, next, NULL) == BALLOON_HOLD);
	EXPECT_EQ(next[0], 0);
	EXPECT(balloon_plan(&limits, 0, NULL, 0, NULL, NULL) == BALLOON_HOLD);
}

TEST(balloon_memory_stalls_make_a_roomy_host_short)
{
	/* PSI: tasks stalled on memory 25% of the last 10 s, limit 10% */
	EXPECT_EQ(balloon_effective_avail(&limits, 20 * GIB, 25.0, 10.0), limits.low - 1);
	struct balloon_vm v[1] = { idle_vm() };
	long long next[1];
	EXPECT(balloon_plan(&limits, balloon_effective_avail(&limits, 20 * GIB, 25.0, 10.0), v, 1,
			    next, NULL) == BALLOON_INFLATE);
	EXPECT(next[0] > 0);
	/* below the limit, without PSI (-1) or with the limit off: MemAvailable as it is */
	EXPECT_EQ(balloon_effective_avail(&limits, 20 * GIB, 9.9, 10.0), 20 * GIB);
	EXPECT_EQ(balloon_effective_avail(&limits, 20 * GIB, -1, 10.0), 20 * GIB);
	EXPECT_EQ(balloon_effective_avail(&limits, 20 * GIB, 50.0, 0), 20 * GIB);
	/* already short: the shortage as measured (deeper than the watermark) */
	EXPECT_EQ(balloon_effective_avail(&limits, limits.low / 2, 50.0, 10.0), limits.low / 2);
	/* the policy off (no low watermark): nothing to be short of */
	struct balloon_limits off = limits;
	off.low = 0;
	EXPECT_EQ(balloon_effective_avail(&off, 20 * GIB, 50.0, 10.0), 20 * GIB);
}
