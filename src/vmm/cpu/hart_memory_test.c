/*
 * Unit tests of the hart's memory by use (hart.c): a new hart's decoded-block
 * table and the TLB spaces it has not switched to are still the kernel's zero
 * pages (not resident, checked with mincore), code run touches only the slots
 * it uses, and block_table_clear (a snapshot load) gives them back while the
 * hart goes on running correctly.
 */
#include "lib/testing.h"
#include "vmm/cpu/test_asm.h"

#include <sys/mman.h>
#include <unistd.h>

/* Resident pages among those wholly inside [p, p + len). */
static size_t resident_pages(const void *p, size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = ((uintptr_t)p + pg - 1) & ~(uintptr_t)(pg - 1);
	uintptr_t hi = ((uintptr_t)p + len) & ~(uintptr_t)(pg - 1);
	if (hi <= lo)
		return 0;
	size_t n = (hi - lo) / pg;
	unsigned char vec[4096];
	size_t resident = 0;
	for (size_t done = 0; done < n;) {
		size_t k = n - done < sizeof vec ? n - done : sizeof vec;
		if (mincore((void *)(lo + done * pg), k * pg, vec) != 0)
			return SIZE_MAX;
		for (size_t i = 0; i < k; i++)
			resident += vec[i] & 1;
		done += k;
	}
	return resident;
}

#define BTAB_BYTES (BTAB_SIZE * sizeof(struct block))

TEST(a_new_hart_has_touched_no_block_table_page)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	EXPECT_EQ(resident_pages(t.h[0]->btab, BTAB_BYTES), 0);
	EXPECT_EQ(resident_pages(t.h[0]->pool, POOL_INSNS * sizeof(struct insn)), 0);
	tm_fini(&t);
}

TEST(tlb_spaces_not_switched_to_stay_untouched)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	hart_update_ctx(h);   /* as its first run does */
	EXPECT(resident_pages(h->tlb[h->space], sizeof h->tlb[0]) > 0);   /* emptied: 0xff */
	for (unsigned s = 0; s < TLB_SPACES; s++)
		if (s != h->space)
			EXPECT_EQ(resident_pages(h->tlb[s], sizeof h->tlb[s]), 0);
	tm_fini(&t);
}

/* A loop of n ADDIs, so the hart decodes a block and runs it repeatedly. */
static uint64_t count_loop(struct tmach *t)
{
	tm_emit(t, ADDI(1, 0, 0));
	tm_emit(t, ADDI(2, 0, 100));
	uint64_t top = t->at;
	tm_emit(t, ADDI(1, 1, 1));
	tm_emit(t, BNE(1, 2, (int32_t)(top - t->at)));
	uint64_t end = t->at;
	tm_emit(t, JAL(0, 0));
	return end;
}

TEST(running_code_touches_only_the_block_slots_it_uses)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t end = count_loop(&t);
	tm_run_to(t.h[0], end, 10000);
	EXPECT_EQ(hart_get_x(t.h[0], 1), 100);
	size_t used = resident_pages(t.h[0]->btab, BTAB_BYTES);
	EXPECT(used >= 1 && used <= 2);
	tm_fini(&t);
}

TEST(clearing_the_block_table_returns_its_pages_and_code_still_runs)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	uint64_t end = count_loop(&t);
	tm_run_to(h, end, 10000);
	EXPECT(resident_pages(h->btab, BTAB_BYTES) > 0);
	block_table_clear(h);
	EXPECT_EQ(resident_pages(h->btab, BTAB_BYTES), 0);
	/* Run it again from the start: decoded anew, same result. */
	hart_set_pc(h, RAM_BASE);
	tm_run_to(h, end, 10000);
	EXPECT_EQ(hart_pc(h), end);
	EXPECT_EQ(hart_get_x(h, 1), 100);
	tm_fini(&t);
}

TEST(trimming_the_caches_gives_their_pages_back_and_code_still_runs)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	uint64_t end = count_loop(&t);
	tm_run_to(h, end, 10000);
	EXPECT(resident_pages(h->pool, POOL_INSNS * sizeof(struct insn)) > 0);
	hart_trim_caches(h);
	EXPECT_EQ(resident_pages(h->btab, BTAB_BYTES), 0);
	EXPECT_EQ(resident_pages(h->pool, POOL_INSNS * sizeof(struct insn)), 0);
	EXPECT_EQ(h->pool_used, 0);
	hart_set_pc(h, RAM_BASE);
	tm_run_to(h, end, 10000);
	EXPECT_EQ(hart_pc(h), end);
	EXPECT_EQ(hart_get_x(h, 1), 100);
	tm_fini(&t);
}

TEST(trimming_retires_the_other_address_spaces_tlbs_and_jump_caches_and_gives_them_back)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	unsigned other = (h->space + 1) % TLB_SPACES;
	memset(h->tlb[other], 0xff, sizeof h->tlb[other]);   /* as a switch to it would */
	memset(h->jcache[other], 0xff, sizeof h->jcache[other]);
	h->space_key[other] = 0x8000000000012345ull;
	EXPECT(resident_pages(h->tlb[other], sizeof h->tlb[other]) > 0);
	hart_trim_caches(h);
	EXPECT_EQ(resident_pages(h->tlb[other], sizeof h->tlb[other]), 0);
	EXPECT_EQ(resident_pages(h->jcache[other], sizeof h->jcache[other]), 0);   /* and its jump cache */
	EXPECT(h->stale_jc & (1u << (other * JC_CTXS)));   /* emptied before it is used again */
	EXPECT_EQ(h->space_key[other], TLB_NO_SPACE);
	EXPECT(resident_pages(h->tlb[h->space], sizeof h->tlb[0]) > 0);   /* in use: kept */
	tm_fini(&t);
}

TEST(a_new_hart_writes_no_tlb_or_jump_cache_table_before_it_selects_one)
{
	/* The tables (MiBs in all) stay zero pages until a context
	 * selects them, at the hart's first run or a snapshot's load, and are
	 * emptied then: a hart restored into S or U never touches M's. */
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	EXPECT(h->itlb == NULL);
	EXPECT_EQ(resident_pages(h->tlb, sizeof h->tlb), 0);
	EXPECT_EQ(resident_pages(h->jcache, sizeof h->jcache), 0);
	h->priv = PRV_U;
	hart_update_ctx(h);
	EXPECT_EQ(h->itlb[0].tag, TLB_INVALID);   /* emptied on selection */
	EXPECT_EQ(h->ltlb[5].tag, TLB_INVALID);
	EXPECT_EQ(h->stlb[9].tag, TLB_INVALID);
	EXPECT(h->jc[3].vpc & 1);                 /* an empty jump-cache entry */
	EXPECT_EQ(resident_pages(&h->tlb[0][CTX_M], sizeof h->tlb[0][CTX_M]), 0);
	EXPECT_EQ(resident_pages(h->tlb[1], sizeof h->tlb[1]), 0);
	tm_fini(&t);
}

/* Every entry of a set's three tables is TLB_INVALID. */
static bool set_empty(const struct tlb_set *s)
{
	for (unsigned i = 0; i < TLB_SIZE; i++)
		if (s->fetch[i].tag != TLB_INVALID)
			return false;
	for (unsigned i = 0; i < DTLB_SIZE; i++)
		if (s->load[i].tag != TLB_INVALID || s->store[i].tag != TLB_INVALID)
			return false;
	return true;
}

TEST(emptying_a_tlb_set_rewrites_only_the_pieces_filled_since_and_trimming_forgets_them)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	uint64_t end = count_loop(&t);
	tm_run_to(h, end, 10000);       /* M mode: fills CTX_M's fetch table */
	uint64_t c = h->tlb_clean[h->space][CTX_M];
	EXPECT(c != 0 && c != UINT64_MAX);   /* emptied at selection, then one piece filled */
	EXPECT(h->tlb[h->space][CTX_M].fetch[(RAM_BASE >> 12) & TLB_MASK].tag != TLB_INVALID);
	tlb_flush_all(h);                    /* stale, and selected again at once */
	EXPECT(set_empty(&h->tlb[h->space][CTX_M]));
	EXPECT_EQ(h->tlb_clean[h->space][CTX_M], c | (1ull << TLB_CLEAN_FETCH) |
		  (1ull << (TLB_CLEAN_FETCH + ((RAM_BASE >> 12) & TLB_MASK) * 16 / 4096)));
	/* A space given back holds zero pages, not TLB_INVALID: nothing of it
	 * may count as clean any more. */
	unsigned other = (h->space + 1) % TLB_SPACES;
	for (unsigned k = 0; k < NCTX; k++)
		h->tlb_clean[other][k] = UINT64_MAX;
	hart_trim_caches(h);
	for (unsigned k = 0; k < NCTX; k++)
		EXPECT_EQ(h->tlb_clean[other][k], 0);
	tm_fini(&t);
}

TEST(each_data_table_set_keeps_its_memory_slot_epoch_until_its_entries_change)
{
	/* A trap and its return move between the U and S sets: the slots
	 * filled under each must stay good (a new epoch at every move emptied
	 * them all, and a fork/exec-heavy guest ran 1.7x slower); a flush of
	 * a page must make the slots of every set that took it miss. */
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	h->priv = PRV_U;
	hart_update_ctx(h);
	uint64_t u = h->mslot_epoch;
	h->priv = PRV_S;
	hart_update_ctx(h);
	uint64_t s = h->mslot_epoch;
	EXPECT(s != u);                        /* another set: another epoch */
	h->mstatus |= MSTATUS_SUM;
	hart_update_ctx(h);
	uint64_t sum = h->mslot_epoch;
	EXPECT(sum != s && sum != u);
	h->mstatus &= ~MSTATUS_SUM;
	hart_update_ctx(h);
	EXPECT_EQ(h->mslot_epoch, s);          /* back: the same, slots kept */
	h->priv = PRV_U;
	hart_update_ctx(h);
	EXPECT_EQ(h->mslot_epoch, u);
	tlb_flush_page(h, RAM_BASE + 0x5000);  /* a page no set took: every slot stays */
	EXPECT_EQ(h->mslot_epoch, u);
	uint64_t v;
	EXPECT_EQ(mem_load_slow(h, RAM_BASE + 0x5008, 8, &v), 0);   /* U's tables take two pages */
	EXPECT_EQ(mem_load_slow(h, RAM_BASE + 0x7008, 8, &v), 0);
	tlb_flush_page(h, RAM_BASE + 0x5000);  /* SFENCE.VMA of one */
	EXPECT(h->mslot_epoch != u);           /* U's slots may hold it: they go */
	uint64_t u2 = h->mslot_epoch;
	/* The other is still in U's tables, and slots refilled from them
	 * under the new epoch may hold it: its flush must find it too (a
	 * first version forgot the filter with the epoch, and 4-vCPU guests
	 * crashed now and then under load). */
	tlb_flush_page(h, RAM_BASE + 0x7000);
	EXPECT(h->mslot_epoch != u2);
	u2 = h->mslot_epoch;
	h->priv = PRV_S;
	hart_update_ctx(h);
	EXPECT_EQ(h->mslot_epoch, s);          /* S's never took them: kept */
	EXPECT_EQ(mem_load_slow(h, RAM_BASE + 0x5008, 8, &v), 0);
	tlb_flush_all(h);
	EXPECT(h->mslot_epoch != s && h->mslot_epoch != u2);   /* every set's go */
	uint64_t s2 = h->mslot_epoch;
	tlb_flush_loads(h);                    /* (MXR and the like) */
	EXPECT(h->mslot_epoch != s2);
	tm_fini(&t);
}
