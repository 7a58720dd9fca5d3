/* Unit tests of the goldfish RTC: time read/set, alarm past and future, interrupt gating. */
#include "vmm/board/goldfish_rtc.h"

#include <time.h>

#include "lib/testing.h"

struct env {
	int irq;
	int kicks;
};

static void env_irq(void *ctx, unsigned line, int level)
{
	(void)line;
	((struct env *)ctx)->irq = level;
}

static void env_kick(void *ctx)
{
	((struct env *)ctx)->kicks++;
}

static void setup(struct goldfish_rtc *r, struct env *e)
{
	*e = (struct env){0};
	struct irq_line l = { env_irq, e, 11 };
	goldfish_rtc_init(r, &l, env_kick, e);
}

static uint64_t read_time(struct goldfish_rtc *r)
{
	uint64_t lo = goldfish_rtc_ops.read(r, GOLDFISH_RTC_TIME_LOW, 4);
	uint64_t hi = goldfish_rtc_ops.read(r, GOLDFISH_RTC_TIME_HIGH, 4);
	return hi << 32 | lo;
}

TEST(rtc_time_is_host_wall_clock)
{
	struct env e;
	struct goldfish_rtc r;
	setup(&r, &e);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t host = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	uint64_t t = read_time(&r);
	EXPECT(t >= host && t - host < 1000000000u);
	goldfish_rtc_destroy(&r);
}

TEST(rtc_guest_sets_time)
{
	struct env e;
	struct goldfish_rtc r;
	setup(&r, &e);
	uint64_t want = 1000ull * 1000000000u;   /* 1970-01-01 00:16:40 */
	goldfish_rtc_ops.write(&r, GOLDFISH_RTC_TIME_HIGH, 4, want >> 32);
	goldfish_rtc_ops.write(&r, GOLDFISH_RTC_TIME_LOW, 4, (uint32_t)want);
	uint64_t t = read_time(&r);
	EXPECT(t >= want && t - want < 100000000u);
	goldfish_rtc_reset(&r);                   /* the clock survives a reboot */
	t = read_time(&r);
	EXPECT(t >= want && t - want < 100000000u);
	goldfish_rtc_destroy(&r);
}

TEST(rtc_alarm_in_the_past_fires_at_once)
{
	struct env e;
	struct goldfish_rtc r;
	setup(&r, &e);
	goldfish_rtc_ops.write(&r, GOLDFISH_RTC_IRQ_ENABLED, 4, 1);
	goldfish_rtc_ops.write(&r, GOLDFISH_RTC_ALARM_HIGH, 4, 0);
	goldfish_rtc_ops.write(&r, GOLDFISH_RTC_ALARM_LOW, 4, 5);
	EXPECT_EQ(e.irq, 1);
	EXPECT_EQ(goldfish_rtc_ops.read(&r, GOLDFISH_RTC_ALARM_STATUS, 4), 0);
	goldfish_rtc_ops.write(&r, GOLDFISH_RTC_CLEAR_INTERRUPT, 4, 1);
	EXPECT_EQ(e.irq, 0);
	goldfish_rtc_destroy(&r);
}

TEST(rtc_future_alarm_fires_on_poll_and_gating)
{
	struct env e;
	struct goldfish_rtc r;
	setup(&r, &e);
	uint64_t at = read_time(&r) + 20000000u;  /* 20 ms ahead */
	goldfish_rtc_ops.write(&r, GOLDFISH_RTC_ALARM_HIGH, 4, at >> 32);
	goldfish_rtc_ops.write(&r, GOLDFISH_RTC_ALARM_LOW, 4, (uint32_t)at);
	EXPECT_EQ(e.kicks, 1);
	EXPECT_EQ(goldfish_rtc_ops.read(&r, GOLDFISH_RTC_ALARM_STATUS, 4), 1);
	EXPECT_EQ(goldfish_rtc_ops.read(&r, GOLDFISH_RTC_ALARM_LOW, 4), (uint32_t)at);
	int64_t left = goldfish_rtc_poll(&r);
	EXPECT(left > 0 && left <= 20000000);
	struct timespec ts = { 0, left };
	nanosleep(&ts, NULL);
	EXPECT_EQ(goldfish_rtc_poll(&r), -1);
	EXPECT_EQ(e.irq, 0);                      /* pending, but not enabled */
	goldfish_rtc_ops.write(&r, GOLDFISH_RTC_IRQ_ENABLED, 4, 1);
	EXPECT_EQ(e.irq, 1);
	goldfish_rtc_ops.write(&r, GOLDFISH_RTC_CLEAR_INTERRUPT, 4, 1);
	EXPECT_EQ(e.irq, 0);
	/* Cleared alarms never fire. */
	at = read_time(&r) + 1000000u;
	goldfish_rtc_ops.write(&r, GOLDFISH_RTC_ALARM_HIGH, 4, at >> 32);
	goldfish_rtc_ops.write(&r, GOLDFISH_RTC_ALARM_LOW, 4, (uint32_t)at);
	goldfish_rtc_ops.write(&r, GOLDFISH_RTC_CLEAR_ALARM, 4, 1);
	EXPECT_EQ(goldfish_rtc_ops.read(&r, GOLDFISH_RTC_ALARM_STATUS, 4), 0);
	ts.tv_nsec = 2000000;
	nanosleep(&ts, NULL);
	EXPECT_EQ(goldfish_rtc_poll(&r), -1);
	EXPECT_EQ(e.irq, 0);
	goldfish_rtc_destroy(&r);
}

static int64_t fixed_now;
static int64_t fixed_ns(void) { return fixed_now; }

TEST(rtc_alarm_due_while_paused_fires_on_resume)
{
	struct env e;
	struct goldfish_rtc r;
	setup(&r, &e);
	fixed_now = 1000000000;
	r.host_ns = fixed_ns;
	goldfish_rtc_ops.write(&r, GOLDFISH_RTC_IRQ_ENABLED, 4, 1);
	uint64_t at = read_time(&r) + 1000;
	goldfish_rtc_ops.write(&r, GOLDFISH_RTC_ALARM_HIGH, 4, at >> 32);
	goldfish_rtc_ops.write(&r, GOLDFISH_RTC_ALARM_LOW, 4, at & 0xffffffffu);
	EXPECT_EQ(e.irq, 0);
	goldfish_rtc_device.quiesce(&r);
	fixed_now += 5000;   /* due now, but the VM is paused */
	EXPECT_EQ(goldfish_rtc_poll(&r), -1);
	EXPECT_EQ(e.irq, 0);
	int kicks = e.kicks;
	goldfish_rtc_device.resume(&r);
	EXPECT_EQ(e.kicks, kicks + 1);   /* the monitor polls again */
	goldfish_rtc_poll(&r);
	EXPECT_EQ(e.irq, 1);
	goldfish_rtc_destroy(&r);
}
