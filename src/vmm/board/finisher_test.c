/* Unit tests of the SiFive test finisher: each status value and the ignored ones. */
#include "vmm/board/finisher.h"

#include "lib/testing.h"

struct rec {
	int calls;
	enum finisher_event ev;
	int code;
};

static void rec_notify(void *ctx, enum finisher_event ev, int code)
{
	struct rec *r = ctx;
	r->calls++;
	r->ev = ev;
	r->code = code;
}

TEST(finisher_pass_fail_reset)
{
	struct rec r = {0};
	struct finisher t;
	finisher_init(&t, rec_notify, &r);
	finisher_ops.write(&t, 0, 4, 0x5555);
	EXPECT_EQ(r.calls, 1);
	EXPECT_EQ(r.ev, FINISHER_PASS);
	finisher_ops.write(&t, 0, 4, 0x3333 | (42u << 16));
	EXPECT_EQ(r.calls, 2);
	EXPECT_EQ(r.ev, FINISHER_FAIL);
	EXPECT_EQ(r.code, 42);
	finisher_ops.write(&t, 0, 4, 0x7777);
	EXPECT_EQ(r.calls, 3);
	EXPECT_EQ(r.ev, FINISHER_RESET);
	finisher_ops.write(&t, 0, 8, 0x3333 | (0xffffu << 16));
	EXPECT_EQ(r.calls, 4);
	EXPECT_EQ(r.code, 0xffff);
	finisher_ops.write(&t, 0, 2, 0x5555);
	EXPECT_EQ(r.calls, 5);
	EXPECT_EQ(r.ev, FINISHER_PASS);
}

TEST(finisher_ignores_other_values)
{
	struct rec r = {0};
	struct finisher t;
	finisher_init(&t, rec_notify, &r);
	finisher_ops.write(&t, 0, 4, 0x1234);
	finisher_ops.write(&t, 4, 4, 0x5555);   /* wrong offset */
	finisher_ops.write(&t, 0, 1, 0x55);     /* byte store */
	EXPECT_EQ(r.calls, 0);
	EXPECT_EQ(finisher_ops.read(&t, 0, 4), 0);
}
