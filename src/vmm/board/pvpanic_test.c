/* Unit tests of the pvpanic device: the capability byte, events reported, other writes ignored. */
#include "vmm/board/pvpanic.h"

#include "lib/testing.h"

struct rec {
	int calls;
	unsigned ev;
};

static void rec_notify(void *ctx, unsigned ev)
{
	struct rec *r = ctx;
	r->calls++;
	r->ev = ev;
}

TEST(pvpanic_reports_panic_and_crash_loaded)
{
	struct rec r = {0};
	struct pvpanic p;
	pvpanic_init(&p, rec_notify, &r);
	EXPECT_EQ(pvpanic_ops.read(&p, 0, 1), 3);     /* Linux reads the events it may send */
	pvpanic_ops.write(&p, 0, 1, PVPANIC_PANICKED);
	EXPECT_EQ(r.calls, 1);
	EXPECT_EQ(r.ev, PVPANIC_PANICKED);
	pvpanic_ops.write(&p, 0, 1, PVPANIC_CRASH_LOADED);
	EXPECT_EQ(r.ev, PVPANIC_CRASH_LOADED);
	pvpanic_ops.write(&p, 0, 1, 0xfc);             /* unsupported bits only */
	pvpanic_ops.write(&p, 4, 1, PVPANIC_PANICKED); /* another offset */
	EXPECT_EQ(r.calls, 2);
	EXPECT_EQ(pvpanic_ops.read(&p, 4, 1), 0);
}
