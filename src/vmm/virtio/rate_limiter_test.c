/* Token buckets on a synthetic clock, and the option syntax. */
#include "vmm/virtio/rate_limiter.h"
#include "lib/testing.h"

#include <errno.h>
#include <string.h>

#define MS 1000000ll
#define SEC 1000000000ll

/* Drives a limiter with requests of `size` bytes for `dur` ns of fake time;
 * returns the bytes moved. */
static uint64_t simulate(struct rate_limiter *rl, uint64_t size, int64_t dur)
{
	uint64_t moved = 0;
	int64_t t = 0;
	while (t < dur) {
		int64_t w = rate_limiter_wait(rl, t);
		if (w) {
			t += w;
			continue;
		}
		rate_limiter_charge(rl, size, 1);
		moved += size;
	}
	return moved;
}

TEST(rate_limiter_unlimited_never_waits)
{
	struct rate_limiter rl;
	struct rate_limit none = { 0 };
	rate_limiter_set(&rl, &none, 0);
	EXPECT(!rl.active);
	rate_limiter_charge(&rl, 1ull << 40, 1000000);
	EXPECT_EQ(rate_limiter_wait(&rl, 1), 0);
	EXPECT(!rate_limiter_hold(&rl));
}

TEST(rate_limiter_bytes_hold_the_rate_over_time)
{
	struct rate_limiter rl;
	struct rate_limit l = { .bytes = { .rate = 10 << 20, .burst = 1 << 20 } };
	rate_limiter_set(&rl, &l, 0);
	uint64_t moved = simulate(&rl, 128 << 10, 10 * SEC);
	/* burst + rate * t, give or take one request */
	uint64_t want = (1 << 20) + 10ull * (10 << 20);
	EXPECT(moved <= want + (128 << 10));
	EXPECT(moved >= want - (256 << 10));
}

TEST(rate_limiter_request_larger_than_burst_goes_and_makes_debt)
{
	struct rate_limiter rl;
	struct rate_limit l = { .bytes = { .rate = 1000, .burst = 100 } };
	rate_limiter_set(&rl, &l, 0);
	EXPECT_EQ(rate_limiter_wait(&rl, 0), 0);
	rate_limiter_charge(&rl, 1100, 1);   /* 1000 tokens of debt: one second */
	int64_t w = rate_limiter_wait(&rl, 0);
	EXPECT(w >= SEC - MS && w <= SEC + MS);
	EXPECT(rate_limiter_wait(&rl, SEC / 2) > 0);
	EXPECT_EQ(rate_limiter_wait(&rl, SEC + MS), 0);
}

TEST(rate_limiter_ops_bucket_limits_small_requests)
{
	struct rate_limiter rl;
	struct rate_limit l = { .ops = { .rate = 100, .burst = 10 } };
	rate_limiter_set(&rl, &l, 0);
	uint64_t ops = simulate(&rl, 1, 5 * SEC);   /* one byte each: bytes are free */
	EXPECT(ops >= 505 && ops <= 512);
}

TEST(rate_limiter_slow_rate_refills_across_many_small_steps)
{
	struct rate_limiter rl;
	struct rate_limit l = { .ops = { .rate = 1, .burst = 1 } };
	rate_limiter_set(&rl, &l, 0);
	rate_limiter_charge(&rl, 0, 2);   /* one op of debt */
	int64_t t = 0;
	while (rate_limiter_wait(&rl, t))
		t += MS;   /* checked every millisecond: fractions must add up */
	EXPECT(t >= SEC - MS && t <= SEC + MS);
}

TEST(rate_limiter_default_burst_is_a_tenth_of_a_second)
{
	struct rate_limiter rl;
	struct rate_limit l = { .bytes = { .rate = 1000000 }, .ops = { .rate = 5 } };
	rate_limiter_set(&rl, &l, 0);
	struct rate_limit got;
	rate_limiter_get(&rl, &got);
	EXPECT_EQ(got.bytes.burst, 100000);
	EXPECT_EQ(got.ops.burst, 1);
}

TEST(rate_limit_parse_syntax)
{
	struct rate_limit l;
	struct err e = { 0 };
	EXPECT(rate_limit_parse("x", "bw=10M:20M,ops=500", &l, &e) == 0);
	EXPECT_EQ(l.bytes.rate, 10 << 20);
	EXPECT_EQ(l.bytes.burst, 20 << 20);
	EXPECT_EQ(l.ops.rate, 500);
	EXPECT_EQ(l.ops.burst, 0);
	EXPECT(rate_limit_parse("x", "none", &l, &e) == 0);
	EXPECT(!rate_limit_set(&l));
	EXPECT(rate_limit_parse("--disk d", "bw=fast", &l, &e) == -EINVAL);
	EXPECT(strstr(e.msg, "--disk d: bw=fast") != NULL);
	EXPECT(rate_limit_parse("x", "ops=0", &l, &e) == -EINVAL);
	EXPECT(rate_limit_parse("x", "ops=1.5", &l, &e) == -EINVAL);
	EXPECT(rate_limit_parse("x", "speed=1", &l, &e) == -EINVAL);
	EXPECT(rate_limit_parse("x", "", &l, &e) == -EINVAL);
	char buf[64];
	rate_limit_parse("x", "bw=1K:2K,ops=3:4", &l, &e);
	rate_limit_format(&l, buf, sizeof buf);
	EXPECT(!strcmp(buf, "bw=1024:2048,ops=3:4"));
}

TEST(rate_limit_take_leaves_other_options)
{
	char spec[] = "user,bw=1M,hostfwd=tcp::2222-:22,ops=10:5,mac=52:54:00:12:34:56";
	struct rate_limit l = { 0 };
	struct err e = { 0 };
	EXPECT(rate_limit_take("--net", spec, &l, &e) == 0);
	EXPECT(!strcmp(spec, "user,hostfwd=tcp::2222-:22,mac=52:54:00:12:34:56"));
	EXPECT_EQ(l.bytes.rate, 1 << 20);
	EXPECT_EQ(l.ops.burst, 5);
}
