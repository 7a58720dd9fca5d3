/*
 * Dirty logging as the CPU sees it (bus.h): every way a hart writes RAM --
 * the store fast path, a page-crossing store (slow path), an AMO, a
 * successful SC, and a store from translated code -- logs its page once
 * logging is on, and again after a collect re-armed the page; pages only
 * read are not logged.  Also the device doors: bus_write_guest and
 * bus_guest_ptr_w log, and the latter's pages come back in the final
 * collect even when a round already took them.
 */
#include "lib/testing.h"
#include "vmm/cpu/jit/jit.h"
#include "vmm/cpu/test_asm.h"

#include <stdlib.h>

#define WORDS (RAM_SIZE / 4096 / 64)

static uint64_t stop_here(struct tmach *t)
{
	uint64_t at = t->at;
	tm_emit(t, JAL(0, 0));
	return at;
}

static bool has(const uint64_t *bm, uint64_t gpa)
{
	uint64_t pfn = (gpa - RAM_BASE) >> 12;
	return bm[pfn / 64] >> (pfn % 64) & 1;
}

static unsigned count(const uint64_t *bm)
{
	unsigned n = 0;
	for (unsigned i = 0; i < WORDS; i++)
		n += (unsigned)__builtin_popcountll(bm[i]);
	return n;
}

#define PG(n) (RAM_BASE + 0x100000 + (uint64_t)(n) * 4096)

TEST(dirty_log_sees_every_kind_of_hart_store_and_rearms_after_collect)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	tm_li(&t, 1, PG(0));
	tm_li(&t, 2, PG(2) - 2);      /* crosses into PG(2) */
	tm_li(&t, 3, PG(3));
	tm_li(&t, 4, PG(4));
	tm_li(&t, 8, PG(5));
	tm_emit(&t, ADDI(5, 0, 7));
	uint64_t again = t.at;
	tm_emit(&t, SD(5, 1, 0));             /* fast path */
	tm_emit(&t, SW(5, 2, 0));             /* page-crossing: PG(1) and PG(2) */
	tm_emit(&t, AMOADD_D(6, 3, 5));       /* AMO */
	tm_emit(&t, LR_D(7, 4));
	tm_emit(&t, SC_D(7, 4, 5));           /* successful SC */
	tm_emit(&t, LD(9, 8, 0));             /* a load only */
	uint64_t end = stop_here(&t);

	EXPECT_EQ(bus_dirty_start(&t.bus), 0);
	tm_run_to(t.h[0], end, 100);
	EXPECT_EQ(hart_pc(t.h[0]), end);
	uint64_t *bm = calloc(WORDS, 8);
	EXPECT_EQ(bus_dirty_collect(&t.bus, bm, false), 5);
	for (int p = 0; p < 5; p++)
		EXPECT(has(bm, PG(p)));
	EXPECT(!has(bm, PG(5)));
	EXPECT_EQ(count(bm), 5);

	/* Nothing new: nothing collected.  Run again: the same pages again. */
	memset(bm, 0, WORDS * 8);
	EXPECT_EQ(bus_dirty_collect(&t.bus, bm, false), 0);
	hart_set_pc(t.h[0], again);
	tm_run_to(t.h[0], end, 100);
	EXPECT_EQ(bus_dirty_collect(&t.bus, bm, false), 5);
	EXPECT(has(bm, PG(0)) && has(bm, PG(3)) && has(bm, PG(4)));

	bus_dirty_stop(&t.bus);
	free(bm);
	tm_fini(&t);
}

TEST(dirty_log_sees_stores_from_translated_code)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	hart_free(t.h[0]);
	struct hart_config cfg = {
		.hartid = 0, .bus = &t.bus, .clock = &t.clk, .reset_pc = RAM_BASE,
		.jit_cache_bytes = 1u << 20,
	};
	t.h[0] = hart_new(&cfg);
	EXPECT(t.h[0] != NULL);
	jit_set_hot(t.h[0]->jit, 1);
	/* for (i = 200; i; i--) *(PG(6) + (i & 1) * 4096) = i; */
	tm_li(&t, 1, PG(6));
	tm_emit(&t, ADDI(2, 0, 200));
	uint64_t loop = t.at;
	tm_emit(&t, ANDI(3, 2, 1));
	tm_emit(&t, SLLI(3, 3, 12));
	tm_emit(&t, ADD(3, 3, 1));
	tm_emit(&t, SD(2, 3, 0));
	tm_emit(&t, ADDI(2, 2, -1));
	tm_emit(&t, BNE(2, 0, (int32_t)(loop - t.at)));
	uint64_t end = stop_here(&t);
	tm_run_to(t.h[0], end, 10000);   /* warm: the loop is translated */
	struct jit_stats js;
	EXPECT(hart_jit_stats(t.h[0], &js));

	EXPECT_EQ(bus_dirty_start(&t.bus), 0);
	uint64_t *bm = calloc(WORDS, 8);
	hart_set_pc(t.h[0], RAM_BASE);
	while (hart_pc(t.h[0]) != end)
		if (!hart_step(t.h[0], 1000))
			break;
	EXPECT_EQ(bus_dirty_collect(&t.bus, bm, false), 2);
	EXPECT(has(bm, PG(6)) && has(bm, PG(7)));
	struct jit_stats js2;
	hart_jit_stats(t.h[0], &js2);
	EXPECT(js.translations > 0 && js2.entries > js.entries);   /* it ran translated */
	/* Re-armed: translated stores log them again. */
	memset(bm, 0, WORDS * 8);
	hart_set_pc(t.h[0], RAM_BASE);
	while (hart_pc(t.h[0]) != end)
		if (!hart_step(t.h[0], 1000))
			break;
	EXPECT_EQ(bus_dirty_collect(&t.bus, bm, false), 2);
	bus_dirty_stop(&t.bus);
	free(bm);
	tm_fini(&t);
}

TEST(dirty_log_device_doors_log_and_write_pointers_return_at_the_final_collect)
{
	struct tmach t;
	EXPECT(tm_init(&t, 0) == 0);
	uint64_t *bm = calloc(WORDS, 8);
	EXPECT_EQ(bus_dirty_start(&t.bus), 0);
	uint32_t v = 1;
	EXPECT_EQ(bus_write_guest(&t.bus, PG(10), &v, 4), 0);
	uint8_t *p = bus_guest_ptr_w(&t.bus, PG(11), 4096 + 1);   /* two pages */
	EXPECT(p != NULL);
	const void *r = bus_guest_ptr(&t.bus, PG(13), 8);   /* reading logs nothing */
	EXPECT(r != NULL);
	EXPECT_EQ(bus_dirty_collect(&t.bus, bm, false), 3);
	EXPECT(has(bm, PG(10)) && has(bm, PG(11)) && has(bm, PG(12)));
	/* The device writes after the round took the page: the final collect
	 * brings it back, without any note from the device. */
	p[0] = 42;
	memset(bm, 0, WORDS * 8);
	EXPECT_EQ(bus_dirty_collect(&t.bus, bm, false), 0);
	EXPECT_EQ(bus_dirty_collect(&t.bus, bm, true), 2);
	EXPECT(has(bm, PG(11)) && has(bm, PG(12)) && !has(bm, PG(10)));
	bus_dirty_stop(&t.bus);
	/* Off: nothing is logged. */
	EXPECT_EQ(bus_write_guest(&t.bus, PG(10), &v, 4), 0);
	EXPECT_EQ(bus_dirty_collect(&t.bus, bm, true), 0);
	free(bm);
	tm_fini(&t);
}
