/* Unit tests of the CLINT: msip lines, mtimecmp forwarding (both halves), mtime, reset. */
#include "vmm/board/clint.h"

#include "lib/testing.h"
#include "vmm/clock.h"

struct sink {
	int msip[VM_MAX_CPUS];
	uint64_t cmp[VM_MAX_CPUS];
	int cmp_calls;
};

static void sink_irq(void *ctx, unsigned line, int level)
{
	((struct sink *)ctx)->msip[line] = level;
}

static void sink_cmp(void *ctx, unsigned idx, uint64_t ticks)
{
	struct sink *s = ctx;
	s->cmp[idx] = ticks;
	s->cmp_calls++;
}

static void setup(struct clint *c, struct sink *s, struct vclock *clk, unsigned n)
{
	struct irq_line ms[VM_MAX_CPUS];
	struct timer_line tl[VM_MAX_CPUS];
	for (unsigned i = 0; i < n; i++) {
		ms[i] = (struct irq_line){ sink_irq, s, i };
		tl[i] = (struct timer_line){ sink_cmp, s, i };
	}
	vclock_init(clk, VCLOCK_DEFAULT_HZ);
	clint_init(c, n, clk, ms, tl);
	clint_reset(c);
}

TEST(clint_msip_per_hart)
{
	struct sink s = {0};
	struct vclock clk;
	struct clint c;
	setup(&c, &s, &clk, 2);
	clint_ops.write(&c, 4, 4, 0xffffffff);
	EXPECT_EQ(s.msip[1], 1);
	EXPECT_EQ(s.msip[0], 0);
	EXPECT_EQ(clint_ops.read(&c, 4, 4), 1);   /* only bit 0 is implemented */
	clint_ops.write(&c, 4, 4, 0);
	EXPECT_EQ(s.msip[1], 0);
	clint_ops.write(&c, 8, 4, 1);             /* hart 2 does not exist */
	EXPECT_EQ(clint_ops.read(&c, 8, 4), 0);
	clint_destroy(&c);
}

TEST(clint_mtimecmp_forwarded)
{
	struct sink s = {0};
	struct vclock clk;
	struct clint c;
	setup(&c, &s, &clk, 2);
	EXPECT_EQ(s.cmp[0], UINT64_MAX);          /* reset: no deadline */
	EXPECT_EQ(clint_ops.read(&c, 0x4000, 8), 0);
	clint_ops.write(&c, 0x4008, 8, 0x123456789abcull);
	EXPECT_EQ(s.cmp[1], 0x123456789abcull);
	/* 32-bit halves, as RV32 software writes them */
	clint_ops.write(&c, 0x4000, 4, 0xdeadbeef);
	clint_ops.write(&c, 0x4004, 4, 0x1);
	EXPECT_EQ(s.cmp[0], 0x1deadbeefull);
	EXPECT_EQ(clint_ops.read(&c, 0x4004, 4), 1);
	EXPECT_EQ(clint_ops.read(&c, 0x4000, 4), 0xdeadbeef);
	clint_reset(&c);
	EXPECT_EQ(clint_ops.read(&c, 0x4000, 8), 0);
	EXPECT_EQ(s.cmp[0], UINT64_MAX);
	clint_destroy(&c);
}

TEST(clint_mtime_follows_clock)
{
	struct sink s = {0};
	struct vclock clk;
	struct clint c;
	setup(&c, &s, &clk, 1);
	uint64_t a = clint_ops.read(&c, 0xbff8, 8);
	struct timespec ts = { 0, 2000000 };
	nanosleep(&ts, NULL);
	uint64_t b = clint_ops.read(&c, 0xbff8, 8);
	EXPECT(b > a);
	EXPECT(b - a >= 20000);                   /* 2 ms at 10 MHz */
	clint_ops.write(&c, 0xbff8, 8, 0);        /* ignored */
	EXPECT(clint_ops.read(&c, 0xbff8, 8) >= b);
	EXPECT_EQ(clint_ops.read(&c, 0xbffc, 4), vclock_now(&clk) >> 32);
	clint_destroy(&c);
}
