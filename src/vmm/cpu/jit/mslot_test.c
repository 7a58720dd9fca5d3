/*
 * Unit tests of translated code's memory slots (hart_internal.h): a load
 * or store of a translation hits its slot without probing the TLB, so a
 * slot must go wherever the TLB entry it copies goes: SFENCE.VMA, a switch
 * of address space or of privilege, a page made read-only, and the epoch
 * wrapping after many flushes.  Each case runs a hot S-mode loop under the
 * translator (translated at its first run) over a page it then remaps.
 */
#include "lib/testing.h"
#include "vmm/cpu/jit/jit.h"
#include "vmm/cpu/jit/jit_internal.h"
#include "vmm/cpu/test_pt.h"

#define HANDLER (RAM_BASE + 0x800)
#define CODE_VA 0x10000ull
#define CODE_PA (RAM_BASE + 0x10000)
#define DATA_VA 0x20000ull
#define PAGE_1 (RAM_BASE + 0x20000)
#define PAGE_2 (RAM_BASE + 0x30000)
#define LOOP_VA CODE_VA             /* x1 = [x2]; [x2 + 8] = x3; x4 times */
#define FENCE_VA (CODE_VA + 0x100)  /* SFENCE.VMA */
#define ROUNDS 64

struct fixture {
	struct tmach t;
	struct pt p;
	uint64_t stop, pte;
};

static int fixture_init(struct fixture *f)
{
	if (tm_init_translating(&f->t, 1u << 20))
		return -1;
	jit_set_hot(f->t.h[0]->jit, 1);
	/* M handler: x30 = mcause, then spin at `stop`. */
	tm_org(&f->t, HANDLER);
	tm_emit(&f->t, CSRR(30, CSR_MCAUSE));
	f->stop = f->t.at;
	tm_emit(&f->t, JAL(0, 0));
	hart_csr_write(f->t.h[0], CSR_MTVEC, HANDLER);
	pt_init(&f->p, &f->t, 3);
	pt_map(&f->p, CODE_VA, CODE_PA, R | X | A, 0);
	f->pte = pt_map(&f->p, DATA_VA, PAGE_1, R | W | A | D, 0);
	tm_w64(&f->t, PAGE_1, 1);
	tm_w64(&f->t, PAGE_2, 2);
	tm_org(&f->t, CODE_PA);
	tm_emit(&f->t, LD(1, 2, 0));
	tm_emit(&f->t, SD(3, 2, 8));
	tm_emit(&f->t, ADDI(4, 4, -1));
	tm_emit(&f->t, BNE(4, 0, -12));
	tm_emit(&f->t, ECALL());
	tm_org(&f->t, CODE_PA + 0x100);
	tm_emit(&f->t, SFENCE_VMA(0, 0));
	tm_emit(&f->t, ECALL());
	hart_csr_write(f->t.h[0], CSR_SATP, satp_of(&f->p));
	return 0;
}

/* Runs S-mode code at va until the handler; returns mcause. */
static uint64_t run_s(struct fixture *f, uint64_t va)
{
	struct hart *h = f->t.h[0];
	hart_set_x(h, 30, 0xdead);
	h->priv = PRV_S;
	h->pc = va;
	hart_update_ctx(h);
	for (int i = 0; i < 1000 && hart_pc(h) != f->stop; i++)
		hart_step(h, 4096);
	return hart_get_x(h, 30);
}

/* The loop, ROUNDS times, storing v: returns mcause. */
static uint64_t run_loop(struct fixture *f, uint64_t v)
{
	hart_set_x(f->t.h[0], 2, DATA_VA);
	hart_set_x(f->t.h[0], 3, v);
	hart_set_x(f->t.h[0], 4, ROUNDS);
	return run_s(f, LOOP_VA);
}

/* The loop runs to its ECALL, reading `read` through DATA_VA and leaving v
 * at `page` + 8 (a macro: a failure names the caller's line). */
#define LOOP_SEES(f, v, read, page) \
	do { \
		EXPECT_EQ(run_loop(f, v), EXC_ECALL_S); \
		EXPECT_EQ(hart_get_x((f)->t.h[0], 1), read); \
		EXPECT_EQ(tm_r64(&(f)->t, (page) + 8), v); \
	} while (0)

static void remap(struct fixture *f, uint64_t pa, uint64_t flags)
{
	tm_w64(&f->t, f->pte, (pa >> 12) << 10 | flags | V);
	EXPECT_EQ(run_s(f, FENCE_VA), EXC_ECALL_S);
}

TEST(jit_memory_slots_follow_sfence_vma_and_page_permissions)
{
	struct fixture f;
	EXPECT_EQ(fixture_init(&f), 0);
	struct hart *h = f.t.h[0];
	LOOP_SEES(&f, 0x11, 1, PAGE_1);
	EXPECT(h->jit->ntbs > 0);   /* the loop ran translated */
	/* Remapped and fenced: loads and stores both reach the new page. */
	remap(&f, PAGE_2, R | W | A | D);
	LOOP_SEES(&f, 0x22, 2, PAGE_2);
	EXPECT_EQ(tm_r64(&f.t, PAGE_1 + 8), 0x11);
	/* Made read-only: the store slot filled while writable must not serve. */
	remap(&f, PAGE_2, R | A | D);
	EXPECT_EQ(run_loop(&f, 0x33), EXC_STORE_PAGE);
	EXPECT_EQ(tm_r64(&f.t, PAGE_2 + 8), 0x22);
	tm_fini(&f.t);
}

TEST(jit_memory_slots_are_apart_per_address_space_and_privilege)
{
	struct fixture f;
	EXPECT_EQ(fixture_init(&f), 0);
	struct hart *h = f.t.h[0];
	LOOP_SEES(&f, 0x11, 1, PAGE_1);
	/* Remapped without a fence: another ASID translates afresh. */
	tm_w64(&f.t, f.pte, (PAGE_2 >> 12) << 10 | R | W | A | D | V);
	hart_csr_write(h, CSR_SATP, satp_of(&f.p) | 5ull << 44);
	LOOP_SEES(&f, 0x22, 2, PAGE_2);
	/* A user page is closed to S without SUM: the slots S filled from
	 * the SUM context (same page table) must not serve it. */
	tm_w64(&f.t, f.pte, (PAGE_1 >> 12) << 10 | R | W | U | A | D | V);
	EXPECT_EQ(run_s(&f, FENCE_VA), EXC_ECALL_S);
	hart_csr_write(h, CSR_SSTATUS, 1ull << 18);   /* SUM */
	LOOP_SEES(&f, 0x33, 1, PAGE_1);
	hart_csr_write(h, CSR_SSTATUS, 0);
	EXPECT_EQ(run_loop(&f, 0x44), EXC_LOAD_PAGE);
	EXPECT_EQ(tm_r64(&f.t, PAGE_1 + 8), 0x33);
	tm_fini(&f.t);
}

TEST(jit_memory_slots_stay_right_when_their_epoch_wraps)
{
	/* A slot filled in one epoch, then its page remapped and fenced, then
	 * k more epochs: for the k that brings the epoch round to the filling
	 * one again, only the emptying at the wrap keeps the old page's slot
	 * from matching.  Every k of one turn is tried, the page alternating. */
	struct fixture f;
	EXPECT_EQ(fixture_init(&f), 0);
	struct hart *h = f.t.h[0];
	unsigned wrong = 0, turn = MSLOT_EPOCH_END / MSLOT_EPOCH_STEP;
	for (unsigned k = 0; k < turn; k++) {
		uint64_t from = k % 2 ? PAGE_2 : PAGE_1, to = k % 2 ? PAGE_1 : PAGE_2;
		remap(&f, from, R | W | A | D);
		wrong += run_loop(&f, 0) != EXC_ECALL_S || hart_get_x(h, 1) != 1 + k % 2;
		remap(&f, to, R | W | A | D);
		for (unsigned i = 0; i < k; i++)
			mslots_invalidate(h);
		wrong += run_loop(&f, k) != EXC_ECALL_S || hart_get_x(h, 1) != 2 - k % 2 ||
			 tm_r64(&f.t, to + 8) != k;
	}
	EXPECT_EQ(wrong, 0);
	tm_fini(&f.t);
}

TEST(jit_store_and_load_runs_across_a_page_end_reach_both_physical_pages)
{
	/* Three doublewords through one base, the first in DATA_VA's page and
	 * the others in the next virtual page, which maps to a physical page
	 * that is not the next one: the runs are stored and loaded one by one,
	 * not through the first page's host address. */
	struct fixture f;
	EXPECT_EQ(fixture_init(&f), 0);
	struct hart *h = f.t.h[0];
	pt_map(&f.p, DATA_VA + 0x1000, PAGE_2, R | W | A | D, 0);
	tm_org(&f.t, CODE_PA + 0x200);
	tm_emit(&f.t, SD(3, 2, 0));
	tm_emit(&f.t, SD(3, 2, 8));
	tm_emit(&f.t, SD(3, 2, 16));
	tm_emit(&f.t, LD(5, 2, 0));    /* and the loads back, a run too */
	tm_emit(&f.t, LD(6, 2, 8));
	tm_emit(&f.t, LD(7, 2, 16));
	tm_emit(&f.t, ADDI(4, 4, -1));
	tm_emit(&f.t, BNE(4, 0, -28));
	tm_emit(&f.t, ECALL());
	tm_w64(&f.t, PAGE_1 + 0x1000, 0x77);   /* the physical page after PAGE_1 */
	for (unsigned base = 0xfe8; base <= 0xff8; base += 8) {
		hart_set_x(h, 2, DATA_VA + base);
		hart_set_x(h, 3, base);
		hart_set_x(h, 4, ROUNDS);
		EXPECT_EQ(run_s(&f, CODE_VA + 0x200), EXC_ECALL_S);
		for (unsigned k = 0; k < 3; k++) {
			uint64_t off = base + 8 * k;
			uint64_t pa = off < 0x1000 ? PAGE_1 + off : PAGE_2 + off - 0x1000;
			EXPECT_EQ(tm_r64(&f.t, pa), base);
			EXPECT_EQ(hart_get_x(h, 5 + k), base);
		}
	}
	EXPECT_EQ(tm_r64(&f.t, PAGE_1 + 0x1000), 0x77);
	EXPECT(h->jit->ntbs > 0);
	tm_fini(&f.t);
}
