/*
 * Unit tests of address translation and protection: Sv39/Sv48/Sv57 walks
 * with 4 KiB pages and superpages, hardware A/D update, page-fault causes
 * and tval, U/SUM/MXR rules, reserved-bit checks, MPRV, PMP (TOR/NAPOT,
 * locking) and when the software TLB is (and is not) flushed.
 */
#include "lib/testing.h"
#include "vmm/cpu/test_pt.h"

#define HANDLER (RAM_BASE + 0x800)

static uint64_t stop_here(struct tmach *t)
{
	uint64_t at = t->at;
	tm_emit(t, JAL(0, 0));
	return at;
}

static uint64_t x(struct tmach *t, unsigned r) { return hart_get_x(t->h[0], r); }

static uint64_t mcsr(struct tmach *t, unsigned n)
{
	uint64_t v = 0;
	hart_csr_read(t->h[0], n, &v);
	return v;
}

/* M handler: x30 = mcause, x31 = mtval, stop. */
static uint64_t handler(struct tmach *t)
{
	uint64_t save = t->at;
	tm_org(t, HANDLER);
	tm_emit(t, CSRR(30, CSR_MCAUSE));
	tm_emit(t, CSRR(31, CSR_MTVAL));
	uint64_t stop = stop_here(t);
	tm_org(t, save);
	hart_csr_write(t->h[0], CSR_MTVEC, HANDLER);
	return stop;
}

static void enter(struct hart *h, unsigned priv, uint64_t pc)
{
	h->priv = priv;
	h->pc = pc;
	hart_update_ctx(h);
}

/* Runs S-mode code at virtual `va` until the M handler stops; returns mcause. */
static uint64_t run_s(struct tmach *t, uint64_t va, uint64_t stop)
{
	hart_set_x(t->h[0], 30, 0xdead);
	enter(t->h[0], PRV_S, va);
	tm_run_to(t->h[0], stop, 200);
	return x(t, 30);
}

#define CODE_VA 0x10000ull
#define CODE_PA (RAM_BASE + 0x10000)

TEST(sv39_pages_translate_and_hardware_sets_accessed_and_dirty)
{
	struct tmach t;
	struct pt p;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t stop = handler(&t);
	pt_init(&p, &t, 3);
	uint64_t code_pte = pt_map(&p, CODE_VA, CODE_PA, R | X, 0);
	uint64_t rw_pte = pt_map(&p, 0x20000, RAM_BASE + 0x20000, R | W, 0);
	uint64_t ro_pte = pt_map(&p, 0x21000, RAM_BASE + 0x21000, R, 0);
	tm_w64(&t, RAM_BASE + 0x20000, 0x1234);
	tm_w64(&t, RAM_BASE + 0x21000, 0x5678);
	tm_org(&t, CODE_PA);
	tm_emit(&t, LUI(2, 0x20000));
	tm_emit(&t, LD(1, 2, 0));
	tm_emit(&t, SD(1, 2, 8));
	tm_emit(&t, LUI(4, 0x21000));
	tm_emit(&t, LD(3, 4, 0));
	tm_emit(&t, ECALL());
	hart_csr_write(t.h[0], CSR_SATP, satp_of(&p));
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_ECALL_S);
	EXPECT_EQ(x(&t, 1), 0x1234);
	EXPECT_EQ(x(&t, 3), 0x5678);
	EXPECT_EQ(tm_r64(&t, RAM_BASE + 0x20008), 0x1234);
	EXPECT_EQ(tm_r64(&t, code_pte) & (A | D), A);
	EXPECT_EQ(tm_r64(&t, rw_pte) & (A | D), A | D);
	EXPECT_EQ(tm_r64(&t, ro_pte) & (A | D), A);
	tm_fini(&t);
}

TEST(page_faults_report_the_cause_and_the_faulting_address)
{
	struct tmach t;
	struct pt p;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t stop = handler(&t);
	pt_init(&p, &t, 3);
	pt_map(&p, CODE_VA, CODE_PA, R | X, 0);
	pt_map(&p, 0x20000, RAM_BASE + 0x20000, R | W, 0);
	pt_map(&p, 0x21000, RAM_BASE + 0x21000, R, 0);
	hart_csr_write(t.h[0], CSR_SATP, satp_of(&p));
	tm_org(&t, CODE_PA);
	tm_emit(&t, LUI(2, 0x20000));
	tm_emit(&t, LD(1, 2, 0x100));      /* fine */
	tm_emit(&t, LUI(4, 0x30000));
	tm_emit(&t, LD(1, 4, 8));          /* unmapped: load page fault */
	tm_org(&t, CODE_PA + 0x100);
	tm_emit(&t, LUI(2, 0x21000));
	tm_emit(&t, SD(1, 2, 8));          /* read-only: store page fault */
	tm_org(&t, CODE_PA + 0x200);
	tm_emit(&t, LUI(2, 0x20000));
	tm_emit(&t, JALR(0, 2, 0));        /* not executable: fetch page fault */
	tm_org(&t, CODE_PA + 0x300);
	tm_emit(&t, LUI(2, 0x22000));
	tm_emit(&t, LD(1, 2, -4));         /* crosses into unmapped 0x22000 */
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_LOAD_PAGE);
	EXPECT_EQ(x(&t, 31), 0x30008);
	EXPECT_EQ(mcsr(&t, CSR_MEPC), CODE_VA + 12);
	EXPECT_EQ(run_s(&t, CODE_VA + 0x100, stop), EXC_STORE_PAGE);
	EXPECT_EQ(x(&t, 31), 0x21008);
	EXPECT_EQ(run_s(&t, CODE_VA + 0x200, stop), EXC_INSN_PAGE);
	EXPECT_EQ(x(&t, 31), 0x20000);
	EXPECT_EQ(mcsr(&t, CSR_MEPC), 0x20000);
	EXPECT_EQ(run_s(&t, CODE_VA + 0x300, stop), EXC_LOAD_PAGE);
	EXPECT_EQ(x(&t, 31), 0x22000);
	tm_fini(&t);
}

TEST(user_pages_need_sum_in_supervisor_and_supervisor_pages_are_closed_to_user)
{
	struct tmach t;
	struct pt p;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t stop = handler(&t);
	pt_init(&p, &t, 3);
	pt_map(&p, CODE_VA, CODE_PA, R | X, 0);              /* S code */
	pt_map(&p, 0x11000, RAM_BASE + 0x11000, R | X | U, 0); /* U code */
	pt_map(&p, 0x20000, RAM_BASE + 0x20000, R | W | U, 0);
	hart_csr_write(t.h[0], CSR_SATP, satp_of(&p));
	tm_org(&t, CODE_PA);
	tm_emit(&t, LUI(2, 0x20000));
	tm_emit(&t, LD(1, 2, 0));
	tm_emit(&t, AUIPC(3, 0));
	tm_emit(&t, LD(3, 3, 0));          /* S reads its own page: cached for S */
	tm_emit(&t, ECALL());
	tm_org(&t, RAM_BASE + 0x11000);
	tm_emit(&t, LUI(2, 0x20000));
	tm_emit(&t, SD(2, 2, 0));          /* U store to a U page: fine */
	tm_emit(&t, JALR(0, 0, 0));        /* jump to 0: unmapped */
	tm_org(&t, RAM_BASE + 0x11100);
	tm_li(&t, 2, CODE_VA);
	tm_emit(&t, LD(1, 2, 0));          /* U load from an S page */
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_LOAD_PAGE);   /* SUM = 0 */
	EXPECT_EQ(x(&t, 31), 0x20000);
	hart_csr_write(t.h[0], CSR_MSTATUS, MSTATUS_SUM);
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_ECALL_S);
	/* The translation cached under SUM = 1 must not serve SUM = 0. */
	hart_csr_write(t.h[0], CSR_MSTATUS, 0);
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_LOAD_PAGE);
	hart_csr_write(t.h[0], CSR_MSTATUS, MSTATUS_SUM);
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_ECALL_S);
	/* S may never execute a U page, SUM or not. */
	EXPECT_EQ(run_s(&t, 0x11000, stop), EXC_INSN_PAGE);
	/* U mode. */
	hart_set_x(t.h[0], 30, 0);
	enter(t.h[0], PRV_U, 0x11000);
	tm_run_to(t.h[0], stop, 50);
	EXPECT_EQ(x(&t, 30), EXC_INSN_PAGE);
	EXPECT_EQ(x(&t, 31), 0);
	EXPECT_EQ(tm_r64(&t, RAM_BASE + 0x20000), 0x20000);
	/* Nor may a translation cached for S serve U (the S page at CODE_VA
	 * was just fetched and loaded by S above). */
	enter(t.h[0], PRV_U, 0x11100);
	tm_run_to(t.h[0], stop, 50);
	EXPECT_EQ(x(&t, 30), EXC_LOAD_PAGE);
	EXPECT_EQ(x(&t, 31), CODE_VA);
	tm_fini(&t);
}

TEST(mxr_makes_execute_only_pages_readable)
{
	struct tmach t;
	struct pt p;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t stop = handler(&t);
	pt_init(&p, &t, 3);
	pt_map(&p, CODE_VA, CODE_PA, R | X, 0);
	pt_map(&p, 0x20000, RAM_BASE + 0x20000, X, 0);
	tm_w64(&t, RAM_BASE + 0x20000, 77);
	hart_csr_write(t.h[0], CSR_SATP, satp_of(&p));
	tm_org(&t, CODE_PA);
	tm_emit(&t, LUI(2, 0x20000));
	tm_emit(&t, LD(1, 2, 0));
	tm_emit(&t, ECALL());
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_LOAD_PAGE);
	hart_csr_write(t.h[0], CSR_MSTATUS, MSTATUS_MXR);
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_ECALL_S);
	EXPECT_EQ(x(&t, 1), 77);
	/* Clearing MXR takes effect at once (the cached translation goes). */
	hart_csr_write(t.h[0], CSR_MSTATUS, 0);
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_LOAD_PAGE);
	tm_fini(&t);
}

/* Maps a megapage and a gigapage with `levels`, reads through both. */
static void check_superpages(int levels)
{
	struct tmach t;
	struct pt p;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t stop = handler(&t);
	pt_init(&p, &t, levels);
	pt_map(&p, CODE_VA, CODE_PA, R | X, 0);
	pt_map(&p, 0x40000000, RAM_BASE + 0x200000, R | W, 1);        /* 2 MiB */
	pt_map(&p, 0xc0000000, RAM_BASE, R, 2);                        /* 1 GiB */
	pt_map(&p, 0x40200000, RAM_BASE + 0x201000, R, 1);             /* misaligned */
	tm_w64(&t, RAM_BASE + 0x200000 + 0x1f000, 11);
	tm_w64(&t, RAM_BASE + 0x345000, 22);
	hart_csr_write(t.h[0], CSR_SATP, satp_of(&p));
	tm_org(&t, CODE_PA);
	tm_li(&t, 2, 0x4001f000);
	tm_emit(&t, LD(1, 2, 0));
	tm_li(&t, 4, 0xc0345000);
	tm_emit(&t, LD(3, 4, 0));
	tm_li(&t, 6, 0x40200000);
	tm_emit(&t, LD(5, 6, 0));
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_LOAD_PAGE);
	EXPECT_EQ(x(&t, 31), 0x40200000);
	EXPECT_EQ(x(&t, 1), 11);
	EXPECT_EQ(x(&t, 3), 22);
	if (levels >= 4) {
		/* A terapage-level (level 3) leaf, only from Sv48 on. */
		pt_map(&p, 0x8000000000ull, 0, R, 3);
		tm_org(&t, CODE_PA + 0x400);
		tm_li(&t, 2, 0x8000000000ull + RAM_BASE + 0x345000);
		tm_emit(&t, LD(1, 2, 0));
		tm_emit(&t, ECALL());
		hart_csr_write(t.h[0], CSR_SATP, satp_of(&p));
		EXPECT_EQ(run_s(&t, CODE_VA + 0x400, stop), EXC_ECALL_S);
		EXPECT_EQ(x(&t, 1), 22);
	}
	tm_fini(&t);
}

TEST(sv39_superpages_translate_and_misaligned_ones_fault) { check_superpages(3); }
TEST(sv48_walks_four_levels_with_superpages) { check_superpages(4); }
TEST(sv57_walks_five_levels_with_superpages) { check_superpages(5); }

TEST(non_canonical_addresses_and_reserved_pte_bits_page_fault)
{
	struct tmach t;
	struct pt p;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t stop = handler(&t);
	pt_init(&p, &t, 3);
	pt_map(&p, CODE_VA, CODE_PA, R | X, 0);
	pt_map(&p, 0x20000, RAM_BASE + 0x20000, R | (1ull << 54), 0);   /* reserved bit */
	pt_map(&p, 0x21000, RAM_BASE + 0x21000, W, 0);                  /* W without R */
	hart_csr_write(t.h[0], CSR_SATP, satp_of(&p));
	tm_org(&t, CODE_PA);
	tm_li(&t, 2, 0x4000000000ull);     /* bit 38 set, upper bits clear */
	tm_emit(&t, LD(1, 2, 0));
	tm_org(&t, CODE_PA + 0x100);
	tm_emit(&t, LUI(2, 0x20000));
	tm_emit(&t, LD(1, 2, 0));
	tm_org(&t, CODE_PA + 0x200);
	tm_emit(&t, LUI(2, 0x21000));
	tm_emit(&t, LD(1, 2, 0));
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_LOAD_PAGE);
	EXPECT_EQ(x(&t, 31), 0x4000000000ull);
	EXPECT_EQ(run_s(&t, CODE_VA + 0x100, stop), EXC_LOAD_PAGE);
	EXPECT_EQ(run_s(&t, CODE_VA + 0x200, stop), EXC_LOAD_PAGE);
	/* A pointer PTE with A set (reserved in a non-leaf) faults too. */
	pt_map(&p, 0x40000000, RAM_BASE + 0x200000, R | W, 0);
	uint64_t ptr = pt_slot(&p, 0x40000000, 1);
	tm_w64(&t, ptr, tm_r64(&t, ptr) | A);
	tm_org(&t, CODE_PA + 0x300);
	tm_li(&t, 2, 0x40000000);
	tm_emit(&t, LD(1, 2, 0));
	tm_emit(&t, ECALL());
	EXPECT_EQ(run_s(&t, CODE_VA + 0x300, stop), EXC_LOAD_PAGE);
	tm_w64(&t, ptr, tm_r64(&t, ptr) & ~A);
	EXPECT_EQ(run_s(&t, CODE_VA + 0x300, stop), EXC_ECALL_S);
	tm_fini(&t);
}

TEST(tlb_keeps_a_stale_translation_until_sfence_vma_and_apart_per_asid)
{
	struct tmach t;
	struct pt p;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t stop = handler(&t);
	pt_init(&p, &t, 3);
	pt_map(&p, CODE_VA, CODE_PA, R | X | A, 0);
	uint64_t slot = pt_map(&p, 0x20000, RAM_BASE + 0x20000, R | A, 0);
	tm_w64(&t, RAM_BASE + 0x20000, 1);
	tm_w64(&t, RAM_BASE + 0x30000, 2);
	hart_csr_write(t.h[0], CSR_SATP, satp_of(&p));
	tm_org(&t, CODE_PA);
	tm_emit(&t, LUI(2, 0x20000));
	tm_emit(&t, LD(1, 2, 0));
	tm_emit(&t, ECALL());
	tm_org(&t, CODE_PA + 0x100);
	tm_emit(&t, LUI(2, 0x20000));
	tm_emit(&t, SFENCE_VMA(2, 0));
	tm_emit(&t, LD(1, 2, 0));
	tm_emit(&t, ECALL());
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_ECALL_S);
	EXPECT_EQ(x(&t, 1), 1);
	tm_w64(&t, slot, ((RAM_BASE + 0x30000) >> 12) << 10 | R | A | V);
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_ECALL_S);
	EXPECT_EQ(x(&t, 1), 1);     /* cached: no SFENCE.VMA yet */
	EXPECT_EQ(run_s(&t, CODE_VA + 0x100, stop), EXC_ECALL_S);
	EXPECT_EQ(x(&t, 1), 2);     /* SFENCE.VMA by address dropped it */
	tm_w64(&t, slot, ((RAM_BASE + 0x20000) >> 12) << 10 | R | A | V);
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_ECALL_S);
	EXPECT_EQ(x(&t, 1), 2);
	/* A satp write implies no invalidation (privileged spec 4.1.11):
	 * rewriting the same value keeps the stale entry, as QEMU does. */
	hart_csr_write(t.h[0], CSR_SATP, satp_of(&p));
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_ECALL_S);
	EXPECT_EQ(x(&t, 1), 2);
	/* Another ASID translates afresh, and never sees ASID 0's entries... */
	hart_csr_write(t.h[0], CSR_SATP, satp_of(&p) | 5ull << 44);
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_ECALL_S);
	EXPECT_EQ(x(&t, 1), 1);
	/* ...which are still there when ASID 0 comes back (no flush on switch)... */
	hart_csr_write(t.h[0], CSR_SATP, satp_of(&p));
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_ECALL_S);
	EXPECT_EQ(x(&t, 1), 2);
	/* ...until SFENCE.VMA. */
	EXPECT_EQ(run_s(&t, CODE_VA + 0x100, stop), EXC_ECALL_S);
	EXPECT_EQ(x(&t, 1), 1);
	tm_fini(&t);
}

/* Code at CODE_VA loads x1 from VA 0x20000 (mapped by the PTE at the
 * returned address to a page holding 1; remap_to the one holding 2) and
 * traps; CODE_VA + 0x100 runs `fence` (an SFENCE.VMA) and traps. */
static uint64_t sfence_fixture(struct tmach *t, struct pt *p, uint32_t fence, uint64_t *stop)
{
	*stop = handler(t);
	pt_init(p, t, 3);
	pt_map(p, CODE_VA, CODE_PA, R | X | A, 0);
	uint64_t slot = pt_map(p, 0x20000, RAM_BASE + 0x20000, R | A, 0);
	tm_w64(t, RAM_BASE + 0x20000, 1);
	tm_w64(t, RAM_BASE + 0x30000, 2);
	tm_org(t, CODE_PA);
	tm_emit(t, LUI(2, 0x20000));
	tm_emit(t, LD(1, 2, 0));
	tm_emit(t, ECALL());
	tm_org(t, CODE_PA + 0x100);
	tm_emit(t, fence);
	tm_emit(t, ECALL());
	return slot;
}

static void remap_to(struct tmach *t, uint64_t slot, uint64_t pa)
{
	tm_w64(t, slot, (pa >> 12) << 10 | R | A | V);
}

TEST(tlb_spaces_are_recycled_and_a_global_sfence_reaches_every_space)
{
	/* More address spaces than TLB spaces: each satp still translates
	 * through its own page table, and after a global SFENCE.VMA no space
	 * keeps an entry for a remapped page. */
	struct tmach t;
	struct pt p;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t stop;
	uint64_t slot = sfence_fixture(&t, &p, SFENCE_VMA(0, 0), &stop);
	for (uint64_t asid = 1; asid <= 2 * TLB_SPACES + 1; asid++) {
		hart_csr_write(t.h[0], CSR_SATP, satp_of(&p) | asid << 44);
		EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_ECALL_S);
		EXPECT_EQ(x(&t, 1), 1);
	}
	remap_to(&t, slot, RAM_BASE + 0x30000);
	EXPECT_EQ(run_s(&t, CODE_VA + 0x100, stop), EXC_ECALL_S);   /* sfence.vma x0, x0 */
	for (uint64_t asid = 2 * TLB_SPACES + 1; asid >= 2 * TLB_SPACES - 2; asid--) {
		hart_csr_write(t.h[0], CSR_SATP, satp_of(&p) | asid << 44);
		EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_ECALL_S);
		EXPECT_EQ(x(&t, 1), 2);
	}
	tm_fini(&t);
}

TEST(sfence_vma_with_an_asid_drops_that_asid_only)
{
	/* SFENCE.VMA x0, rs2 (Linux's flush of one process, at every fork,
	 * exec and exit) must drop every entry of that ASID, and may keep
	 * the others': ASID 2 still sees its stale entry after ASID 1's. */
	struct tmach t;
	struct pt p;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t stop;
	uint64_t slot = sfence_fixture(&t, &p, SFENCE_VMA(0, 3), &stop);   /* sfence.vma x0, x3 */
	for (uint64_t asid = 1; asid <= 2; asid++) {
		hart_csr_write(t.h[0], CSR_SATP, satp_of(&p) | asid << 44);
		EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_ECALL_S);
		EXPECT_EQ(x(&t, 1), 1);
	}
	remap_to(&t, slot, RAM_BASE + 0x30000);
	hart_set_x(t.h[0], 3, 1);
	EXPECT_EQ(run_s(&t, CODE_VA + 0x100, stop), EXC_ECALL_S);   /* in ASID 2: flush ASID 1 */
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_ECALL_S);
	EXPECT_EQ(x(&t, 1), 1);     /* ASID 2 kept its entry */
	hart_csr_write(t.h[0], CSR_SATP, satp_of(&p) | 1ull << 44);
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_ECALL_S);
	EXPECT_EQ(x(&t, 1), 2);     /* ASID 1 walked afresh */
	/* And the ASID in use is flushed in place. */
	remap_to(&t, slot, RAM_BASE + 0x20000);
	EXPECT_EQ(run_s(&t, CODE_VA + 0x100, stop), EXC_ECALL_S);
	EXPECT_EQ(run_s(&t, CODE_VA, stop), EXC_ECALL_S);
	EXPECT_EQ(x(&t, 1), 1);
	tm_fini(&t);
}

TEST(mprv_makes_machine_loads_and_stores_translate_as_mpp)
{
	struct tmach t;
	struct pt p;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t stop = handler(&t);
	pt_init(&p, &t, 3);
	pt_map(&p, 0x20000, RAM_BASE + 0x20000, R | W, 0);
	tm_w64(&t, RAM_BASE + 0x20000, 99);
	hart_csr_write(t.h[0], CSR_SATP, satp_of(&p));
	tm_li(&t, 5, MSTATUS_MPRV | (1ull << 11));   /* MPRV, MPP = S */
	tm_emit(&t, CSRRS(0, CSR_MSTATUS, 5));
	tm_emit(&t, LUI(2, 0x20000));
	tm_emit(&t, LD(1, 2, 0));           /* translated: 99 */
	tm_emit(&t, CSRRC(0, CSR_MSTATUS, 5));
	tm_emit(&t, LD(3, 2, 0));           /* physical 0x20000: nothing there */
	tm_run_to(t.h[0], stop, 50);
	EXPECT_EQ(x(&t, 1), 99);
	EXPECT_EQ(x(&t, 30), EXC_LOAD_ACCESS);
	EXPECT_EQ(x(&t, 31), 0x20000);
	tm_fini(&t);
}

TEST(pmp_confines_supervisor_and_locked_entries_bind_machine_mode)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t stop = handler(&t);
	struct hart *h = t.h[0];
	/* Entry 0: TOR [0, RAM_BASE + 64K) RWX.  Entry 1: NAPOT 64K at +64K, R only. */
	hart_csr_write(h, CSR_PMPADDR0, (RAM_BASE + 0x10000) >> 2);
	hart_csr_write(h, CSR_PMPADDR0 + 1, ((RAM_BASE + 0x10000) >> 2) | 0x1fff);
	hart_csr_write(h, CSR_PMPCFG0, 0x0f | (0x19ull << 8));
	uint64_t v;
	hart_csr_read(h, CSR_PMPCFG0, &v);
	EXPECT_EQ(v, 0x190f);
	tm_li(&t, 2, RAM_BASE + 0x10000);
	tm_emit(&t, LD(1, 2, 8));           /* S: allowed */
	tm_emit(&t, SD(1, 2, 8));           /* S: store access fault */
	tm_org(&t, RAM_BASE + 0x100);
	tm_li(&t, 2, RAM_BASE + 0x20000);
	tm_emit(&t, LD(1, 2, 0));           /* beyond every entry: S denied */
	tm_org(&t, RAM_BASE + 0x200);
	tm_li(&t, 2, RAM_BASE + 0x10000);
	tm_emit(&t, SD(1, 2, 8));
	tm_emit(&t, ECALL());
	hart_set_x(h, 30, 0);
	enter(h, PRV_S, RAM_BASE);
	tm_run_to(h, stop, 50);
	EXPECT_EQ(x(&t, 30), EXC_STORE_ACCESS);
	EXPECT_EQ(x(&t, 31), RAM_BASE + 0x10008);
	enter(h, PRV_S, RAM_BASE + 0x100);
	tm_run_to(h, stop, 50);
	EXPECT_EQ(x(&t, 30), EXC_LOAD_ACCESS);
	/* M is not bound by an unlocked entry ... */
	enter(h, PRV_M, RAM_BASE + 0x200);
	tm_run_to(h, stop, 50);
	EXPECT_EQ(x(&t, 30), EXC_ECALL_M);
	/* ... but is by a locked one, and the lock freezes the entry. */
	hart_csr_write(h, CSR_PMPCFG0, 0x0f | (0x99ull << 8));
	hart_csr_write(h, CSR_PMPCFG0, 0x0f | (0x1full << 8));
	hart_csr_read(h, CSR_PMPCFG0, &v);
	EXPECT_EQ(v, 0x990f);
	enter(h, PRV_M, RAM_BASE + 0x200);
	tm_run_to(h, stop, 50);
	EXPECT_EQ(x(&t, 30), EXC_STORE_ACCESS);
	tm_fini(&t);
}

TEST(pmp_writes_flush_cached_translations)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t stop = handler(&t);
	struct hart *h = t.h[0];
	hart_csr_write(h, CSR_PMPADDR0, UINT64_MAX);
	hart_csr_write(h, CSR_PMPCFG0, 0x1f);   /* NAPOT everything, RWX */
	tm_li(&t, 2, RAM_BASE + 0x20000);
	tm_emit(&t, LD(1, 2, 0));
	tm_emit(&t, ECALL());
	enter(h, PRV_S, RAM_BASE);
	tm_run_to(h, stop, 50);
	EXPECT_EQ(x(&t, 30), EXC_ECALL_S);
	/* Deny reads of the data page only: TOR entry before the catch-all. */
	hart_csr_write(h, CSR_PMPADDR0, (RAM_BASE + 0x20000) >> 2);
	hart_csr_write(h, CSR_PMPADDR0 + 1, (RAM_BASE + 0x21000) >> 2);
	hart_csr_write(h, CSR_PMPADDR0 + 2, UINT64_MAX);
	hart_csr_write(h, CSR_PMPCFG0, 0x0f | (0x0cull << 8) | (0x1full << 16));
	enter(h, PRV_S, RAM_BASE);
	tm_run_to(h, stop, 50);
	EXPECT_EQ(x(&t, 30), EXC_LOAD_ACCESS);
	tm_fini(&t);
}

TEST(an_instruction_straddling_into_an_unmapped_page_faults_at_the_second_page)
{
	struct tmach t;
	struct pt p;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t stop = handler(&t);
	pt_init(&p, &t, 3);
	pt_map(&p, CODE_VA, CODE_PA, R | X, 0);     /* CODE_VA + 0x1000 unmapped */
	hart_csr_write(t.h[0], CSR_SATP, satp_of(&p));
	uint32_t addi = ADDI(5, 5, 1);
	tm_w16(&t, CODE_PA + 0xffc, 0x0001);         /* c.nop */
	tm_w16(&t, CODE_PA + 0xffe, (uint16_t)addi); /* first half of a 32-bit insn */
	EXPECT_EQ(run_s(&t, CODE_VA + 0xffc, stop), EXC_INSN_PAGE);
	EXPECT_EQ(x(&t, 31), CODE_VA + 0x1000);
	EXPECT_EQ(mcsr(&t, CSR_MEPC), CODE_VA + 0xffe);
	/* Mapped, the same bytes execute as one instruction. */
	pt_map(&p, CODE_VA + 0x1000, RAM_BASE + 0x30000, R | X, 0);
	tm_w16(&t, RAM_BASE + 0x30000, (uint16_t)(addi >> 16));
	tm_w32(&t, RAM_BASE + 0x30002, ECALL());
	hart_csr_write(t.h[0], CSR_SATP, satp_of(&p));
	EXPECT_EQ(run_s(&t, CODE_VA + 0xffc, stop), EXC_ECALL_S);
	EXPECT_EQ(x(&t, 5), 1);
	/* Illegal at run time (an FP op with FS = Off): mtval holds both
	 * halves, though they lie in unrelated physical pages. */
	uint32_t fadd = FADD_S(1, 2, 3, 0);
	tm_w16(&t, CODE_PA + 0xffe, (uint16_t)fadd);
	tm_w16(&t, RAM_BASE + 0x30000, (uint16_t)(fadd >> 16));
	EXPECT_EQ(run_s(&t, CODE_VA + 0xffc, stop), EXC_ILLEGAL);
	EXPECT_EQ(x(&t, 31), fadd);
	tm_fini(&t);
}

TEST(pmp_check_remembers_a_window_but_never_across_a_lower_entry)
{
	/* pmp_check keeps the last answer as a window of addresses one entry
	 * decides; a range reaching into a lower-numbered entry's must still
	 * be decided by that entry (or fail as a partial overlap). */
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	/* Entry 0: NAPOT 64K at +64K, no permissions.  Entry 1: everything, RWX. */
	hart_csr_write(h, CSR_PMPADDR0, ((RAM_BASE + 0x10000) >> 2) | 0x1fff);
	hart_csr_write(h, CSR_PMPADDR0 + 1, UINT64_MAX);
	hart_csr_write(h, CSR_PMPCFG0, 0x18 | (0x1full << 8));
	EXPECT(pmp_check(h, RAM_BASE + 0x30000, 8, ACC_LOAD, PRV_S));
	EXPECT(pmp_check(h, RAM_BASE + 0x20000, 8, ACC_STORE, PRV_S));
	EXPECT(!pmp_check(h, RAM_BASE + 0x1fff8, 16, ACC_LOAD, PRV_S));   /* partly in entry 0 */
	EXPECT(!pmp_check(h, RAM_BASE + 0x1fff8, 8, ACC_LOAD, PRV_S));    /* in entry 0 */
	EXPECT(pmp_check(h, RAM_BASE + 0x8000, 8, ACC_LOAD, PRV_S));      /* below it */
	EXPECT(pmp_check(h, RAM_BASE + 0xfff8, 8, ACC_FETCH, PRV_S));
	EXPECT(!pmp_check(h, RAM_BASE + 0xfff8, 16, ACC_LOAD, PRV_S));
	EXPECT(!pmp_check(h, RAM_BASE + 0x10000, 8, ACC_LOAD, PRV_S));
	EXPECT(pmp_check(h, RAM_BASE + 0x10000, 8, ACC_LOAD, PRV_M));     /* unlocked */
	/* A new configuration empties the window. */
	EXPECT(pmp_check(h, RAM_BASE + 0x40000, 8, ACC_STORE, PRV_S));
	hart_csr_write(h, CSR_PMPCFG0, 0x18 | (0x19ull << 8));             /* entry 1: R only */
	EXPECT(!pmp_check(h, RAM_BASE + 0x40000, 8, ACC_STORE, PRV_S));
	tm_fini(&t);
}
