/*
 * Unit tests of the Sdtrig trigger module (trigger.c): the CSRs' reset and
 * WARL values, the trig_armed flag and the TLB flushes that keep armed
 * accesses on the slow paths, and breakpoints where the hart's caches could
 * hide them: an execute trigger inside an already decoded block, a store
 * through an already filled TLB entry, a page-crossing instruction, and
 * the priority of trigger breakpoints over fetch and load access faults.
 */
#include "lib/testing.h"
#include "vmm/cpu/test_asm.h"

#define HANDLER (RAM_BASE + 0x800)
#define DATA (RAM_BASE + 0x4000)
#define NOTHING 0x1000ull   /* no device or memory here on the test bus */

enum { CSR_TSELECT = 0x7a0, CSR_TDATA1, CSR_TDATA2, CSR_TDATA3, CSR_TINFO };

#define T6(x) ((6ull << 60) | (x))
#define T2(x) ((2ull << 60) | (x))
#define TM (1ull << 6)
#define TS (1ull << 4)
#define TU (1ull << 3)
#define TEX 4ull
#define TST 2ull
#define TLD 1ull

static uint64_t x(struct tmach *t, unsigned r) { return hart_get_x(t->h[0], r); }

static uint64_t csr(struct tmach *t, unsigned n)
{
	uint64_t v = 0xdeadbeef;
	hart_csr_read(t->h[0], n, &v);
	return v;
}

static void wcsr(struct tmach *t, unsigned n, uint64_t v) { hart_csr_write(t->h[0], n, v); }

/* M handler: x30 = mcause, x31 = mtval, then loops at the returned address. */
static uint64_t handler(struct tmach *t)
{
	uint64_t save = t->at;
	tm_org(t, HANDLER);
	tm_emit(t, CSRR(30, CSR_MCAUSE));
	tm_emit(t, CSRR(31, CSR_MTVAL));
	uint64_t stop = t->at;
	tm_emit(t, JAL(0, 0));
	tm_org(t, save);
	wcsr(t, CSR_MTVEC, HANDLER);
	return stop;
}

static void trig(struct tmach *t, unsigned idx, uint64_t d1, uint64_t addr)
{
	wcsr(t, CSR_TSELECT, idx);
	wcsr(t, CSR_TDATA2, addr);
	wcsr(t, CSR_TDATA1, d1);
}

TEST(trigger_csrs_reset_and_warl_values)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	EXPECT_EQ(csr(&t, CSR_TSELECT), 0);
	EXPECT_EQ(csr(&t, CSR_TDATA1), T2(0));
	EXPECT_EQ(csr(&t, CSR_TDATA2), 0);
	EXPECT_EQ(csr(&t, CSR_TINFO), (1ull << 24) | (1 << 15) | (1 << 6) | (1 << 2));
	/* tselect: 0 and 1 exist; larger values leave it unchanged. */
	wcsr(&t, CSR_TSELECT, 1);
	EXPECT_EQ(csr(&t, CSR_TSELECT), 1);
	wcsr(&t, CSR_TSELECT, 2);
	EXPECT_EQ(csr(&t, CSR_TSELECT), 1);
	wcsr(&t, CSR_TSELECT, UINT64_MAX);
	EXPECT_EQ(csr(&t, CSR_TSELECT), 1);
	/* Per-trigger state: trigger 1's tdata2 is not trigger 0's. */
	wcsr(&t, CSR_TDATA2, 0x1234);
	wcsr(&t, CSR_TSELECT, 0);
	EXPECT_EQ(csr(&t, CSR_TDATA2), 0);
	/* mcontrol6: dmode, action, select, hit, timing, vs/vu dropped. */
	wcsr(&t, CSR_TDATA1, T6((1ull << 59) | (1ull << 24) | (1ull << 23) | (1 << 22) |
				(1 << 21) | (1 << 12) | TM | TS | TU | TEX | TST | TLD));
	EXPECT_EQ(csr(&t, CSR_TDATA1), T6(TM | TS | TU | TEX | TST | TLD));
	/* Sizes 1, 2, 3, 5 kept; 4 (48-bit) and 6, 7 read as any. */
	static const struct { unsigned in, out; } sizes[] = {
		{1, 1}, {2, 2}, {3, 3}, {4, 0}, {5, 5}, {6, 0}, {7, 0},
	};
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		wcsr(&t, CSR_TDATA1, T6((uint64_t)sizes[i].in << 16 | TLD));
		EXPECT_EQ(csr(&t, CSR_TDATA1), T6((uint64_t)sizes[i].out << 16 | TLD));
	}
	/* mcontrol: size is sizehi:sizelo; timing, select, hit, maskmax are 0. */
	wcsr(&t, CSR_TDATA1, T2((1ull << 21) | (1 << 16) | (7 << 18) | (63ull << 53) | TST));
	EXPECT_EQ(csr(&t, CSR_TDATA1), T2((1ull << 21) | (1 << 16) | TST));
	/* match: 0, 2, 3 kept; 1 (NAPOT), 4, 5, 8 read 0. */
	for (unsigned m = 0; m < 16; m++) {
		wcsr(&t, CSR_TDATA1, T6((uint64_t)m << 7 | TLD));
		EXPECT_EQ(csr(&t, CSR_TDATA1), T6((uint64_t)(m == 2 || m == 3 ? m : 0) << 7 | TLD));
	}
	/* chain: kept on trigger 0, dropped on the last one. */
	wcsr(&t, CSR_TDATA1, T6((1 << 11) | TLD));
	EXPECT_EQ(csr(&t, CSR_TDATA1), T6((1 << 11) | TLD));
	wcsr(&t, CSR_TSELECT, 1);
	wcsr(&t, CSR_TDATA1, T6((1 << 11) | TLD));
	EXPECT_EQ(csr(&t, CSR_TDATA1), T6(TLD));
	/* Type 0, 15 and unsupported types disable: type 15, no other bits. */
	for (uint64_t type = 0; type < 16; type++) {
		if (type == 2 || type == 6)
			continue;
		wcsr(&t, CSR_TDATA1, type << 60 | 0x5f);
		EXPECT_EQ(csr(&t, CSR_TDATA1), 15ull << 60);
	}
	/* tdata3 reads 0 whatever is written; tdata2 keeps all bits. */
	wcsr(&t, CSR_TDATA3, UINT64_MAX);
	EXPECT_EQ(csr(&t, CSR_TDATA3), 0);
	wcsr(&t, CSR_TDATA2, UINT64_MAX);
	EXPECT_EQ(csr(&t, CSR_TDATA2), UINT64_MAX);
	/* Neighbours of the range stay unimplemented. */
	EXPECT(hart_csr_read(t.h[0], 0x7a5, &(uint64_t){0}) != 0);   /* tcontrol */
	EXPECT(hart_csr_read(t.h[0], 0x7a8, &(uint64_t){0}) != 0);   /* mcontext */
	tm_fini(&t);
}

TEST(arming_sets_the_flag_and_keeps_accesses_out_of_the_tlb)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	uint64_t stop = handler(&t);
	tm_li(&t, 10, DATA);
	uint64_t loop = t.at;
	tm_emit(&t, LD(5, 10, 0));
	tm_emit(&t, JAL(0, 0));
	tm_run_to(h, loop + 4, 20);
	const struct tlb_entry *e = &h->ltlb[(DATA >> PAGE_SHIFT) & DTLB_MASK];
	EXPECT_EQ(e->tag, DATA);   /* the load filled its TLB entry */
	EXPECT_EQ(h->trig_armed, 0);

	/* An execute-only trigger arms EXEC; enabled in no mode, nothing. */
	trig(&t, 0, T6(TEX), 0);
	EXPECT_EQ(h->trig_armed, 0);
	trig(&t, 0, T6(TU | TEX), 0);
	EXPECT_EQ(h->trig_armed, TRIG_ARMED_EXEC);
	trig(&t, 1, T2(TS | TST), 0);
	EXPECT_EQ(h->trig_armed, TRIG_ARMED_EXEC | TRIG_ARMED_MEM);
	EXPECT(e->tag != DATA);    /* arming flushed it */
	/* While armed, the slow path does not refill it. */
	hart_set_pc(h, loop);
	tm_run_to(h, loop + 4, 20);
	EXPECT(e->tag != DATA);
	EXPECT_EQ(hart_pc(h), loop + 4);   /* the S-only store trigger did not fire */
	/* Disarmed: accesses fill the TLB again. */
	trig(&t, 0, T6(0), 0);
	trig(&t, 1, 0, 0);
	EXPECT_EQ(h->trig_armed, 0);
	hart_set_pc(h, loop);
	tm_run_to(h, loop + 4, 20);
	EXPECT_EQ(e->tag, DATA);
	EXPECT(hart_pc(h) != stop);
	tm_fini(&t);
}

TEST(execute_trigger_fires_inside_an_already_decoded_block)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	uint64_t stop = handler(&t);
	tm_emit(&t, ADDI(5, 0, 1));
	tm_emit(&t, ADDI(6, 0, 2));
	tm_emit(&t, ADDI(7, 0, 3));
	uint64_t end = t.at;
	tm_emit(&t, JAL(0, 0));
	EXPECT_EQ(hart_step(h, 3), 3);   /* decodes and caches the block */
	EXPECT_EQ(hart_pc(h), end);
	hart_set_x(h, 5, 0);
	hart_set_x(h, 6, 0);
	hart_set_x(h, 7, 0);
	trig(&t, 0, T6(TM | TEX), RAM_BASE + 8);
	hart_set_pc(h, RAM_BASE);
	uint64_t ret0 = csr(&t, CSR_MINSTRET);
	tm_run_to(h, stop, 20);
	EXPECT_EQ(x(&t, 30), EXC_BREAKPOINT);
	EXPECT_EQ(x(&t, 31), RAM_BASE + 8);
	EXPECT_EQ(csr(&t, CSR_MEPC), RAM_BASE + 8);
	EXPECT_EQ(x(&t, 5), 1);
	EXPECT_EQ(x(&t, 6), 2);
	EXPECT_EQ(x(&t, 7), 0);          /* did not execute */
	/* Two retired before, two in the handler: the trapping one did not retire. */
	EXPECT_EQ(csr(&t, CSR_MINSTRET) - ret0, 4);
	/* Disarmed, the cached block runs through again. */
	trig(&t, 0, T6(0), 0);
	hart_set_pc(h, RAM_BASE);
	tm_run_to(h, end, 20);
	EXPECT_EQ(x(&t, 7), 3);
	tm_fini(&t);
}

TEST(store_trigger_fires_through_a_filled_tlb_and_writes_nothing)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	uint64_t stop = handler(&t);
	tm_li(&t, 10, DATA);
	tm_li(&t, 5, 0x1234);
	uint64_t st = t.at;
	tm_emit(&t, SW(5, 10, 4));
	tm_emit(&t, JAL(0, 0));
	tm_run_to(h, st + 4, 40);
	EXPECT_EQ(tm_r64(&t, DATA), 0x1234ull << 32);
	tm_w64(&t, DATA, 0);
	/* tdata2 = DATA + 6: inside the word stored at DATA + 4. */
	trig(&t, 0, T6(TM | TST), DATA + 6);
	hart_set_pc(h, st);
	tm_run_to(h, stop, 20);
	EXPECT_EQ(x(&t, 30), EXC_BREAKPOINT);
	EXPECT_EQ(x(&t, 31), DATA + 6);
	EXPECT_EQ(csr(&t, CSR_MEPC), st);
	EXPECT_EQ(tm_r64(&t, DATA), 0);
	/* Sized to bytes, the word store no longer matches. */
	trig(&t, 0, T6((1 << 16) | TM | TST), DATA + 6);
	hart_set_pc(h, st);
	tm_run_to(h, st + 4, 20);
	EXPECT_EQ(tm_r64(&t, DATA), 0x1234ull << 32);
	tm_fini(&t);
}

TEST(amo_triggers_as_load_and_store_lr_as_load_sc_as_store)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	uint64_t stop = handler(&t);
	hart_set_x(h, 10, DATA);
	uint64_t code = t.at;
	tm_emit(&t, AMOADD_D(5, 10, 10));
	tm_emit(&t, JAL(0, 0));
	tm_emit(&t, LR_D(5, 10));
	tm_emit(&t, JAL(0, 0));
	tm_emit(&t, SC_D(5, 10, 10));
	tm_emit(&t, JAL(0, 0));
	static const struct { uint64_t d1; unsigned insn; bool fires; } cases[] = {
		{ TLD, 0, true }, { TST, 0, true }, { TLD, 1, true }, { TST, 1, false },
		{ TLD, 2, false }, { TST, 2, true },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t pc = code + 8 * cases[i].insn;
		tm_w64(&t, DATA, 0);
		hart_set_x(h, 30, 0);
		trig(&t, 0, T6(TM | cases[i].d1), DATA);
		hart_set_pc(h, pc);
		tm_run_to(h, cases[i].fires ? stop : pc + 4, 20);
		EXPECT_EQ(x(&t, 30), cases[i].fires ? EXC_BREAKPOINT : 0);
		EXPECT_EQ(hart_pc(h), cases[i].fires ? stop : pc + 4);
		if (cases[i].fires)
			EXPECT_EQ(tm_r64(&t, DATA), 0);
	}
	tm_fini(&t);
}

TEST(trigger_breakpoints_outrank_fetch_and_load_access_faults)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	uint64_t stop = handler(&t);
	tm_li(&t, 11, NOTHING);
	uint64_t jump = t.at;
	tm_emit(&t, JALR(0, 11, 0));
	tm_run_to(h, stop, 20);
	EXPECT_EQ(x(&t, 30), EXC_INSN_ACCESS);
	trig(&t, 0, T6(TM | TEX), NOTHING);
	hart_set_pc(h, jump);
	tm_run_to(h, stop, 20);
	EXPECT_EQ(x(&t, 30), EXC_BREAKPOINT);
	EXPECT_EQ(x(&t, 31), NOTHING);
	EXPECT_EQ(csr(&t, CSR_MEPC), NOTHING);
	/* A sized execute trigger cannot know the length of what faults. */
	trig(&t, 0, T6((3 << 16) | TM | TEX), NOTHING);
	hart_set_pc(h, jump);
	tm_run_to(h, stop, 20);
	EXPECT_EQ(x(&t, 30), EXC_INSN_ACCESS);

	uint64_t load = t.at;
	tm_emit(&t, LD(5, 11, 0));
	trig(&t, 0, T6(TM | TLD), NOTHING);
	hart_set_pc(h, load);
	tm_run_to(h, stop, 20);
	EXPECT_EQ(x(&t, 30), EXC_BREAKPOINT);
	EXPECT_EQ(x(&t, 31), NOTHING);
	trig(&t, 0, T6(TM | TLD), NOTHING + 8);
	hart_set_pc(h, load);
	tm_run_to(h, stop, 20);
	EXPECT_EQ(x(&t, 30), EXC_LOAD_ACCESS);
	tm_fini(&t);
}

TEST(execute_trigger_on_a_page_crossing_instruction)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	uint64_t stop = handler(&t);
	uint64_t at = RAM_BASE + 0x1ffe;
	uint32_t insn = ADDI(8, 8, 7);
	tm_w16(&t, at, (uint16_t)insn);
	tm_w16(&t, at + 2, (uint16_t)(insn >> 16));
	tm_w32(&t, at + 4, JAL(0, 0));
	/* A 32-bit execute trigger matches it. */
	trig(&t, 0, T6((3 << 16) | TM | TEX), at);
	hart_set_pc(h, at);
	tm_run_to(h, stop, 10);
	EXPECT_EQ(x(&t, 30), EXC_BREAKPOINT);
	EXPECT_EQ(x(&t, 8), 0);
	/* Armed elsewhere, it runs (one-instruction blocks, page-crossing form). */
	trig(&t, 0, T6(TM | TEX), at + 4 + 0x100);
	hart_set_pc(h, at);
	tm_run_to(h, at + 4, 10);
	EXPECT_EQ(x(&t, 8), 7);
	/* A 16-bit one does not match it. */
	trig(&t, 0, T6((2 << 16) | TM | TEX), at);
	hart_set_pc(h, at);
	tm_run_to(h, at + 4, 10);
	EXPECT_EQ(x(&t, 8), 14);
	tm_fini(&t);
}

TEST(mode_bits_choose_where_a_trigger_fires)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	uint64_t stop = handler(&t);
	tm_emit(&t, ADDI(5, 5, 1));
	tm_emit(&t, JAL(0, 0));
	static const struct { unsigned priv; uint64_t bits; bool fires; } cases[] = {
		{ PRV_M, TM, true }, { PRV_M, TS | TU, false }, { PRV_S, TS, true },
		{ PRV_S, TM | TU, false }, { PRV_U, TU, true }, { PRV_U, TM | TS, false },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		trig(&t, 1, T6(cases[i].bits | TEX), RAM_BASE);
		hart_set_x(h, 5, 0);
		hart_set_x(h, 30, 0);
		h->priv = cases[i].priv;
		h->pc = RAM_BASE;
		hart_update_ctx(h);
		tm_run_to(h, cases[i].fires ? stop : RAM_BASE + 4, 10);
		EXPECT_EQ(x(&t, 5), cases[i].fires ? 0 : 1);
		EXPECT_EQ(x(&t, 30), cases[i].fires ? EXC_BREAKPOINT : 0);
	}
	tm_fini(&t);
}
