/*
 * hart_save / hart_load (hart_snapshot.c): a hart in the middle of a
 * program, with S-mode paging state, FP state, a reservation and a timer
 * set, saved and loaded into a fresh hart continues exactly as the
 * original does; bad values are refused.
 */
#include "lib/testing.h"
#include "vmm/cpu/test_asm.h"
#include "vmm/snap_stream.h"

#include <errno.h>
#include <stdlib.h>

static uint64_t stop_here(struct tmach *t)
{
	uint64_t at = t->at;
	tm_emit(t, JAL(0, 0));
	return at;
}

static struct snap_in *saved(struct hart *h, struct snap_out *o)
{
	snap_out_init(o);
	snap_begin(o, "hart0", 1);
	hart_save(h, o);
	snap_end(o);
	snap_out_finish(o);
	struct snap_in *in = malloc(sizeof *in);
	struct err e = {0};
	if (snap_in_open(in, o->buf, o->len, "t", &e) || snap_in_section(in, "hart0", 1, &e)) {
		free(in);
		return NULL;
	}
	return in;
}

TEST(hart_snapshot_round_trip_continues_like_the_original)
{
	struct tmach t;
	EXPECT(tm_init(&t, 2) == 0);
	/* x5 accumulates, x6 counts down: state that only a faithful copy
	 * carries on with. */
	tm_emit(&t, ADDI(5, 0, 3));
	tm_emit(&t, ADDI(6, 0, 50));
	uint64_t loop = t.at;
	tm_emit(&t, ADD(5, 5, 5));
	tm_emit(&t, XORI(5, 5, 0x55));
	tm_emit(&t, ADDI(6, 6, -1));
	tm_emit(&t, BNE(6, 0, (int32_t)(loop - t.at)));
	uint64_t end = stop_here(&t);
	struct hart *a = t.h[0], *b = t.h[1];
	hart_step(a, 40);   /* somewhere inside the loop */
	EXPECT_EQ(hart_csr_write(a, 0x300 /* mstatus */, MSTATUS_FS | MSTATUS_MPP), 0);
	EXPECT_EQ(hart_csr_write(a, 0x30a /* menvcfg */, MENVCFG_STCE), 0);
	hart_set_f(a, 7, 0x400921fb54442d18ull);
	EXPECT_EQ(hart_csr_write(a, 0x003 /* fcsr */, 0x85), 0);
	EXPECT_EQ(hart_csr_write(a, 0x180 /* satp */, 0), 0);
	EXPECT_EQ(hart_csr_write(a, 0x105 /* stvec */, 0x80001000), 0);
	EXPECT_EQ(hart_csr_write(a, 0x14d /* stimecmp */, 12345), 0);
	EXPECT_EQ(hart_csr_write(a, 0x3a0 /* pmpcfg0 */, 0x1f), 0);
	EXPECT_EQ(hart_csr_write(a, 0x3b0 /* pmpaddr0 */, ~0ull >> 10), 0);
	a->resv_valid = true;
	a->resv_pa = RAM_BASE + 0x2000;
	hart_set_mtimecmp(a, 777);

	struct snap_out o;
	struct snap_in *in = saved(a, &o);
	EXPECT(in != NULL);
	b->hartid = a->hartid;   /* the same hart, in a new machine */
	EXPECT_EQ(hart_load(b, in), 0);
	struct err e = {0};
	EXPECT_EQ(snap_in_end(in, &e), 0);
	EXPECT_EQ(hart_pc(b), hart_pc(a));
	EXPECT_EQ(hart_get_f(b, 7), 0x400921fb54442d18ull);
	uint64_t v = 0;
	EXPECT_EQ(hart_csr_read(b, 0x003, &v), 0);
	EXPECT_EQ(v, 0x85);
	EXPECT_EQ(hart_csr_read(b, 0x105, &v), 0);
	EXPECT_EQ(v, 0x80001000);
	EXPECT_EQ(hart_csr_read(b, 0x3b0, &v), 0);
	EXPECT_EQ(v, ~0ull >> 10);
	EXPECT(b->resv_valid && b->resv_pa == RAM_BASE + 0x2000);
	EXPECT_EQ(atomic_load(&b->mtimecmp), 777);
	EXPECT_EQ(b->stimecmp, 12345);
	EXPECT_EQ(hart_instret(b), hart_instret(a));
	/* Both run to the end: the same registers. */
	tm_run_to(a, end, 1000);
	tm_run_to(b, end, 1000);
	EXPECT_EQ(hart_pc(b), end);
	for (unsigned r = 1; r < 32; r++)
		EXPECT_EQ(hart_get_x(b, r), hart_get_x(a, r));
	free(in);
	snap_out_free(&o);
	tm_fini(&t);
}

TEST(hart_snapshot_refuses_a_bad_privilege_or_truncation)
{
	struct tmach t;
	EXPECT(tm_init(&t, 2) == 0);
	struct snap_out o;
	struct snap_in *in = saved(t.h[0], &o);
	EXPECT(in != NULL);
	/* priv sits after the version, id, 32 x, pc, 32 f, fflags and frm. */
	size_t priv_at = 4 + 4 + 32 * 8 + 8 + 32 * 8 + 4 + 4;
	uint8_t *payload = (uint8_t *)in->cur->payload;
	payload[priv_at] = 2;   /* no such privilege */
	EXPECT_EQ(hart_load(t.h[1], in), -EINVAL);
	payload[priv_at] = 3;
	/* Cut short: refused, not read past. */
	struct snap_section cut = *in->cur;
	cut.len = 100;
	in->cur = &cut;
	in->pos = 0;
	in->overrun = false;
	EXPECT_EQ(hart_load(t.h[1], in), -EINVAL);
	free(in);
	snap_out_free(&o);
	tm_fini(&t);
}
