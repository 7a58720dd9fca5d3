/*
 * Unit tests of the kernel's jump cache (hart_internal.h): S-mode jumps
 * through a global mapping keep their entries across address spaces, and
 * nothing else may use them.  Each case runs S-mode code under the
 * translator (translated at its first run) that jumps through a register
 * (jalr, so through the jump cache) to a target on another page, which
 * leaves a mark in x6 and makes an ECALL.
 */
#include "lib/testing.h"
#include "vmm/cpu/jit/jit.h"
#include "vmm/cpu/jit/jit_internal.h"
#include "vmm/cpu/test_pt.h"

#define G 32ull
#define HANDLER (RAM_BASE + 0x800)
#define KVA 0xffffffffc0000000ull   /* the jumping code */
#define KVA_TARGET (KVA + 0x5000)       /* where it jumps */
#define JUMP_PA (RAM_BASE + 0x10000)
#define TARGET_A (RAM_BASE + 0x20000)   /* x6 = 1 */
#define TARGET_B (RAM_BASE + 0x30000)   /* x6 = 2 */
#define ROOT_2 (RAM_BASE + 0x700000)    /* a second page table */

struct fixture {
	struct tmach t;
	struct pt p, q;   /* two page tables (two processes) */
	uint64_t stop, target_pte_p, target_pte_q;
};

static void emit_target(struct tmach *t, uint64_t pa, int32_t mark)
{
	tm_org(t, pa);
	tm_emit(t, ADDI(6, 0, mark));
	tm_emit(t, ECALL());
}

/* Both tables map KVA to the jump and KVA_TARGET to TARGET_A, with
 * `target_flags` (G or not) for the target. */
static int fixture_init(struct fixture *f, uint64_t target_flags)
{
	if (tm_init_translating(&f->t, 1u << 20))
		return -1;
	jit_set_hot(f->t.h[0]->jit, 1);
	tm_org(&f->t, HANDLER);   /* M handler: x30 = mcause, then spin at `stop` */
	tm_emit(&f->t, CSRR(30, CSR_MCAUSE));
	f->stop = f->t.at;
	tm_emit(&f->t, JAL(0, 0));
	hart_csr_write(f->t.h[0], CSR_MTVEC, HANDLER);
	tm_org(&f->t, JUMP_PA);
	tm_emit(&f->t, JALR(0, 5, 0));
	emit_target(&f->t, TARGET_A, 1);
	emit_target(&f->t, TARGET_B, 2);
	pt_init(&f->p, &f->t, 3);
	f->q = (struct pt){ .t = &f->t, .next = ROOT_2, .levels = 3 };   /* apart from p's */
	f->q.root = pt_alloc(&f->q);
	pt_map(&f->p, KVA, JUMP_PA, R | X | A | G, 0);
	pt_map(&f->q, KVA, JUMP_PA, R | X | A | G, 0);
	f->target_pte_p = pt_map(&f->p, KVA_TARGET, TARGET_A, R | X | A | target_flags, 0);
	f->target_pte_q = pt_map(&f->q, KVA_TARGET, TARGET_A, R | X | A | target_flags, 0);
	return 0;
}

/* Runs the jump to `to` in S mode under satp; returns mcause. */
static uint64_t run_jump(struct fixture *f, uint64_t satp, uint64_t to)
{
	struct hart *h = f->t.h[0];
	hart_csr_write(h, CSR_SATP, satp);
	hart_set_x(h, 30, 0xdead);
	hart_set_x(h, 6, 0);
	hart_set_x(h, 5, to);
	h->priv = PRV_S;
	h->pc = KVA;
	hart_update_ctx(h);
	for (int i = 0; i < 1000 && hart_pc(h) != f->stop; i++)
		hart_step(h, 4096);
	return hart_get_x(h, 30);
}

static uint64_t asid(uint64_t satp, uint64_t n) { return satp | n << 44; }

/* The jump lands on the mark (a macro: a failure names the caller's line). */
#define JUMP_SEES(f, satp, mark) \
	do { \
		EXPECT_EQ(run_jump(f, satp, KVA_TARGET), EXC_ECALL_S); \
		EXPECT_EQ(hart_get_x((f)->t.h[0], 6), mark); \
	} while (0)

TEST(a_global_kernel_jump_keeps_its_entry_across_address_spaces)
{
	struct fixture f;
	EXPECT_EQ(fixture_init(&f, G), 0);
	struct hart *h = f.t.h[0];
	JUMP_SEES(&f, asid(satp_of(&f.p), 1), 1);
	JUMP_SEES(&f, asid(satp_of(&f.p), 1), 1);   /* translated now, entry made */
	struct jit_stats before, after;
	jit_get_stats(h->jit, &before);
	/* Other processes, other ASIDs, more than the spaces the TLB keeps. */
	for (uint64_t n = 2; n < 2 + 2 * TLB_SPACES; n++)
		JUMP_SEES(&f, asid(n % 2 ? satp_of(&f.q) : satp_of(&f.p), n), 1);
	jit_get_stats(h->jit, &after);
	EXPECT_EQ(after.lookups, before.lookups);   /* each jump hit the kernel's cache */
	tm_fini(&f.t);
}

TEST(a_kernel_mapping_without_g_is_looked_up_in_each_address_space)
{
	/* Not global: the same VA may run other code in another process
	 * (the spec allows it), so no entry may carry over. */
	struct fixture f;
	EXPECT_EQ(fixture_init(&f, 0), 0);
	tm_w64(&f.t, f.target_pte_q, (TARGET_B >> 12) << 10 | R | X | A | V);
	for (int round = 0; round < 3; round++) {
		JUMP_SEES(&f, asid(satp_of(&f.p), 1), 1);
		JUMP_SEES(&f, asid(satp_of(&f.q), 2), 2);
	}
	tm_fini(&f.t);
}

TEST(sfence_vma_of_a_global_page_drops_its_kernel_jump_entry)
{
	struct fixture f;
	EXPECT_EQ(fixture_init(&f, G), 0);
	struct hart *h = f.t.h[0];
	uint64_t satp = asid(satp_of(&f.p), 1);
	JUMP_SEES(&f, satp, 1);
	JUMP_SEES(&f, satp, 1);
	tm_w64(&f.t, f.target_pte_p, (TARGET_B >> 12) << 10 | R | X | A | G | V);
	tlb_flush_page(h, KVA_TARGET);   /* what SFENCE.VMA KVA_TARGET does */
	JUMP_SEES(&f, satp, 2);
	/* A flush of one ASID leaves global mappings (and the entry) alone;
	 * the whole-TLB flush does not. */
	tlb_flush_asid(h, 1);
	JUMP_SEES(&f, satp, 2);
	tm_w64(&f.t, f.target_pte_p, (TARGET_A >> 12) << 10 | R | X | A | G | V);
	tlb_flush_all(h);
	JUMP_SEES(&f, satp, 1);
	tm_fini(&f.t);
}

TEST(the_kernel_jump_cache_serves_only_translated_s_mode)
{
	struct fixture f;
	EXPECT_EQ(fixture_init(&f, G), 0);
	uint64_t satp = asid(satp_of(&f.p), 1);
	JUMP_SEES(&f, satp, 1);
	JUMP_SEES(&f, satp, 1);
	/* A jump to PC 0 (its empty entry's vpc) faults, as the page is not mapped. */
	EXPECT_EQ(run_jump(&f, satp, 0), EXC_INSN_PAGE);
	/* Translation off: the jumping code is not even mapped at KVA any
	 * more; nothing cached for it may run. */
	EXPECT_EQ(run_jump(&f, 0, KVA_TARGET), EXC_INSN_ACCESS);
	JUMP_SEES(&f, satp, 1);
	tm_fini(&f.t);
}
