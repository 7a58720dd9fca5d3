/*
 * Unit tests of the hart's user-level ISA: RV64I arithmetic, control flow,
 * loads/stores (including misaligned and page-crossing), M, compressed
 * forms, counters, A (LR/SC, AMOs, misalignment, non-RAM), self-modifying
 * code, and F/D through the instruction path.  Programs are hand-assembled
 * with test_asm.h into RAM and single-stepped in M-mode.
 */
#include "lib/testing.h"
#include "vmm/cpu/fpu.h"
#include "vmm/cpu/test_asm.h"

#include <pthread.h>

/* Emits `j .` and returns its address: the stop point of a program. */
static uint64_t stop_here(struct tmach *t)
{
	uint64_t at = t->at;
	tm_emit(t, JAL(0, 0));
	return at;
}

static uint64_t x(struct tmach *t, unsigned r) { return hart_get_x(t->h[0], r); }

TEST(alu_immediate_and_register_ops_compute_rv64i_results)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	tm_emit(&t, ADDI(1, 0, -5));          /* x1 = -5 */
	tm_emit(&t, ADDI(2, 0, 7));           /* x2 = 7 */
	tm_emit(&t, ADD(3, 1, 2));            /* 2 */
	tm_emit(&t, SUB(4, 1, 2));            /* -12 */
	tm_emit(&t, SLT(5, 1, 2));            /* 1 */
	tm_emit(&t, SLTU(6, 1, 2));           /* 0 */
	tm_emit(&t, SLTIU(7, 2, -1));         /* 7 < 2^64-1: 1 */
	tm_emit(&t, XORI(8, 1, -1));          /* 4 */
	tm_emit(&t, SRAI(9, 1, 1));           /* -3 */
	tm_emit(&t, SRLI(10, 1, 60));         /* 0xf */
	tm_emit(&t, SLLI(11, 2, 63));         /* 1<<63 */
	tm_emit(&t, SLL(12, 2, 2));           /* 7 << 7 = 896 */
	tm_emit(&t, SRA(13, 1, 2));           /* -5 >> 7 = -1 */
	tm_emit(&t, ORI(14, 0, 0x555));
	tm_emit(&t, ANDI(15, 14, 0xf0));      /* 0x50 */
	tm_emit(&t, ADDIW(16, 0, -1));
	tm_emit(&t, SRLIW(17, 16, 4));        /* 0x0fffffff */
	tm_emit(&t, SLLIW(18, 2, 29));        /* 7<<29 = 0xe0000000 -> sign-extended */
	tm_emit(&t, SRAIW(19, 18, 28));       /* -2 */
	tm_emit(&t, ADDW(20, 18, 18));        /* 0xc0000000 sign-extended */
	tm_emit(&t, SUBW(21, 0, 2));          /* -7 */
	tm_emit(&t, SLLW(22, 2, 2));          /* 7 << 7 */
	tm_emit(&t, SRLW(23, 18, 2));         /* 0xe0000000 >> 7 = 0x01c00000 */
	tm_emit(&t, SRAW(24, 18, 2));         /* sign: 0xffffffffffc00000 */
	tm_emit(&t, SLTI(25, 1, -4));         /* -5 < -4: 1 */
	tm_emit(&t, XOR(26, 1, 2));
	tm_emit(&t, OR(27, 1, 2));
	tm_emit(&t, AND(28, 1, 2));
	tm_emit(&t, SRL(29, 11, 2));          /* (1<<63) >> 7 */
	uint64_t end = stop_here(&t);
	tm_run_to(t.h[0], end, 100);
	EXPECT_EQ(hart_pc(t.h[0]), end);
	EXPECT_EQ(x(&t, 3), 2);
	EXPECT_EQ(x(&t, 4), (uint64_t)-12);
	EXPECT_EQ(x(&t, 5), 1);
	EXPECT_EQ(x(&t, 6), 0);
	EXPECT_EQ(x(&t, 7), 1);
	EXPECT_EQ(x(&t, 8), 4);
	EXPECT_EQ(x(&t, 9), (uint64_t)-3);
	EXPECT_EQ(x(&t, 10), 0xf);
	EXPECT_EQ(x(&t, 11), 1ull << 63);
	EXPECT_EQ(x(&t, 12), 896);
	EXPECT_EQ(x(&t, 13), (uint64_t)-1);
	EXPECT_EQ(x(&t, 15), 0x50);
	EXPECT_EQ(x(&t, 17), 0x0fffffff);
	EXPECT_EQ(x(&t, 18), 0xffffffffe0000000ull);
	EXPECT_EQ(x(&t, 19), (uint64_t)-2);
	EXPECT_EQ(x(&t, 20), 0xffffffffc0000000ull);
	EXPECT_EQ(x(&t, 21), (uint64_t)-7);
	EXPECT_EQ(x(&t, 22), 896);
	EXPECT_EQ(x(&t, 23), 0x01c00000);
	EXPECT_EQ(x(&t, 24), 0xffffffffffc00000ull);
	EXPECT_EQ(x(&t, 25), 1);
	EXPECT_EQ(x(&t, 26), (uint64_t)(-5 ^ 7));
	EXPECT_EQ(x(&t, 27), (uint64_t)(-5 | 7));
	EXPECT_EQ(x(&t, 28), (uint64_t)(-5 & 7));
	EXPECT_EQ(x(&t, 29), 1ull << 56);
	EXPECT_EQ(hart_instret(t.h[0]), 29);
	tm_fini(&t);
}

TEST(writes_to_x0_are_discarded)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	tm_emit(&t, ADDI(0, 0, 5));
	tm_emit(&t, LUI(0, 0x12345000));
	tm_emit(&t, ADDI(1, 0, 0));
	uint64_t end = stop_here(&t);
	tm_run_to(t.h[0], end, 10);
	EXPECT_EQ(x(&t, 0), 0);
	EXPECT_EQ(x(&t, 1), 0);
	tm_fini(&t);
}

TEST(lui_auipc_jal_jalr_link_and_jump)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	tm_emit(&t, LUI(1, 0x80000000));            /* sign-extends */
	tm_emit(&t, AUIPC(2, 0x1000));              /* pc+0x1000 */
	tm_emit(&t, JAL(3, 12));                    /* to +12, x3 = pc+4 */
	tm_emit(&t, ADDI(10, 0, 1));                /* skipped */
	tm_emit(&t, ADDI(10, 0, 2));                /* skipped */
	tm_emit(&t, AUIPC(4, 0));                   /* x4 = this pc */
	tm_emit(&t, JALR(5, 4, 13));                /* to x4+12 (bit 0 cleared) */
	tm_emit(&t, ADDI(11, 0, 1));                /* skipped */
	tm_emit(&t, ADDI(12, 0, 3));
	uint64_t end = stop_here(&t);
	tm_run_to(t.h[0], end, 20);
	EXPECT_EQ(hart_pc(t.h[0]), end);
	EXPECT_EQ(x(&t, 1), 0xffffffff80000000ull);
	EXPECT_EQ(x(&t, 2), RAM_BASE + 4 + 0x1000);
	EXPECT_EQ(x(&t, 3), RAM_BASE + 12);
	EXPECT_EQ(x(&t, 10), 0);
	EXPECT_EQ(x(&t, 4), RAM_BASE + 20);
	EXPECT_EQ(x(&t, 5), RAM_BASE + 28);
	EXPECT_EQ(x(&t, 11), 0);
	EXPECT_EQ(x(&t, 12), 3);
	tm_fini(&t);
}

TEST(branches_follow_signed_and_unsigned_compares)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	/* x1 = -1, x2 = 1; each taken branch skips an `addi x10, x10, 1`. */
	tm_emit(&t, ADDI(1, 0, -1));
	tm_emit(&t, ADDI(2, 0, 1));
	tm_emit(&t, BLT(1, 2, 8));   tm_emit(&t, ADDI(10, 10, 1));   /* taken */
	tm_emit(&t, BLTU(1, 2, 8));  tm_emit(&t, ADDI(11, 11, 1));   /* not taken */
	tm_emit(&t, BGE(2, 1, 8));   tm_emit(&t, ADDI(10, 10, 1));   /* taken */
	tm_emit(&t, BGEU(2, 1, 8));  tm_emit(&t, ADDI(11, 11, 1));   /* not taken */
	tm_emit(&t, BEQ(1, 1, 8));   tm_emit(&t, ADDI(10, 10, 1));   /* taken */
	tm_emit(&t, BNE(1, 1, 8));   tm_emit(&t, ADDI(11, 11, 1));   /* not taken */
	/* A backwards loop: count x3 down from 5. */
	tm_emit(&t, ADDI(3, 0, 5));
	tm_emit(&t, ADDI(3, 3, -1));
	tm_emit(&t, ADDI(4, 4, 1));
	tm_emit(&t, BNE(3, 0, -8));
	uint64_t end = stop_here(&t);
	tm_run_to(t.h[0], end, 100);
	EXPECT_EQ(x(&t, 10), 0);
	EXPECT_EQ(x(&t, 11), 3);
	EXPECT_EQ(x(&t, 4), 5);
	tm_fini(&t);
}

TEST(loads_sign_or_zero_extend_and_stores_write_low_bytes)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t d = RAM_BASE + 0x1000;
	tm_w64(&t, d, 0x8182838485868788ull);
	tm_li(&t, 1, d);
	tm_emit(&t, LB(2, 1, 0));
	tm_emit(&t, LBU(3, 1, 0));
	tm_emit(&t, LH(4, 1, 0));
	tm_emit(&t, LHU(5, 1, 0));
	tm_emit(&t, LW(6, 1, 0));
	tm_emit(&t, LWU(7, 1, 0));
	tm_emit(&t, LD(8, 1, 0));
	tm_emit(&t, ADDI(9, 0, -1));
	tm_emit(&t, SB(9, 1, 8));
	tm_emit(&t, SH(9, 1, 10));
	tm_emit(&t, SW(9, 1, 12));
	tm_emit(&t, SD(8, 1, 16));
	uint64_t end = stop_here(&t);
	tm_run_to(t.h[0], end, 100);
	EXPECT_EQ(x(&t, 2), 0xffffffffffffff88ull);
	EXPECT_EQ(x(&t, 3), 0x88);
	EXPECT_EQ(x(&t, 4), 0xffffffffffff8788ull);
	EXPECT_EQ(x(&t, 5), 0x8788);
	EXPECT_EQ(x(&t, 6), 0xffffffff85868788ull);
	EXPECT_EQ(x(&t, 7), 0x85868788);
	EXPECT_EQ(x(&t, 8), 0x8182838485868788ull);
	EXPECT_EQ(tm_r64(&t, d + 8), 0xffffffffffff00ffull);
	EXPECT_EQ(tm_r64(&t, d + 16), 0x8182838485868788ull);
	tm_fini(&t);
}

TEST(misaligned_and_page_crossing_accesses_complete_transparently)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t d = RAM_BASE + 0x2000 - 3;   /* crosses into the next page */
	tm_w64(&t, d, 0x1122334455667788ull);
	tm_li(&t, 1, d);
	tm_emit(&t, LD(2, 1, 0));
	tm_emit(&t, LW(3, 1, 1));
	tm_emit(&t, LH(4, 1, 3));
	tm_li(&t, 5, 0x0102030405060708ull);
	tm_emit(&t, SD(5, 1, 16));   /* misaligned, within a page */
	tm_emit(&t, LD(6, 1, 16));
	tm_emit(&t, SW(5, 1, 0));    /* crossing store */
	uint64_t end = stop_here(&t);
	tm_run_to(t.h[0], end, 100);
	EXPECT_EQ(hart_pc(t.h[0]), end);
	EXPECT_EQ(x(&t, 2), 0x1122334455667788ull);
	EXPECT_EQ(x(&t, 3), 0x44556677);
	EXPECT_EQ(x(&t, 4), 0x4455);
	EXPECT_EQ(x(&t, 6), 0x0102030405060708ull);
	EXPECT_EQ(tm_r64(&t, d), 0x1122334405060708ull);
	tm_fini(&t);
}

TEST(mul_div_rem_follow_the_spec_corner_cases)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	tm_li(&t, 1, 0x8000000000000000ull);   /* INT64_MIN */
	tm_emit(&t, ADDI(2, 0, -1));
	tm_emit(&t, ADDI(3, 0, 7));
	tm_emit(&t, DIV(4, 1, 2));     /* overflow: INT64_MIN */
	tm_emit(&t, REM(5, 1, 2));     /* 0 */
	tm_emit(&t, DIV(6, 3, 0));     /* -1 */
	tm_emit(&t, REMU(7, 3, 0));    /* 7 */
	tm_emit(&t, MULHU(8, 2, 2));   /* 0xff..fe */
	tm_emit(&t, MULH(9, 2, 2));    /* 0 */
	tm_emit(&t, MULHSU(10, 2, 2)); /* -1 */
	tm_emit(&t, MUL(11, 3, 2));    /* -7 */
	tm_emit(&t, DIVU(12, 2, 3));
	tm_emit(&t, MULW(13, 3, 3));
	tm_emit(&t, DIVW(14, 2, 0));   /* -1 */
	tm_emit(&t, REMW(15, 3, 0));   /* 7 */
	tm_emit(&t, DIVUW(16, 2, 3));  /* 0xffffffff/7 = 0x24924924 */
	tm_emit(&t, REMUW(17, 2, 3));  /* 0xffffffff % 7 = 3 */
	tm_emit(&t, ADDI(18, 0, -7));
	tm_emit(&t, REM(19, 18, 3));   /* -7 % 7 = 0 */
	tm_emit(&t, ADDI(20, 0, -8));
	tm_emit(&t, REM(21, 20, 3));   /* -1 (sign of dividend) */
	uint64_t end = stop_here(&t);
	tm_run_to(t.h[0], end, 100);
	EXPECT_EQ(x(&t, 4), 0x8000000000000000ull);
	EXPECT_EQ(x(&t, 5), 0);
	EXPECT_EQ(x(&t, 6), UINT64_MAX);
	EXPECT_EQ(x(&t, 7), 7);
	EXPECT_EQ(x(&t, 8), 0xfffffffffffffffeull);
	EXPECT_EQ(x(&t, 9), 0);
	EXPECT_EQ(x(&t, 10), UINT64_MAX);
	EXPECT_EQ(x(&t, 11), (uint64_t)-7);
	EXPECT_EQ(x(&t, 12), UINT64_MAX / 7);
	EXPECT_EQ(x(&t, 13), 49);
	EXPECT_EQ(x(&t, 14), UINT64_MAX);
	EXPECT_EQ(x(&t, 15), 7);
	EXPECT_EQ(x(&t, 16), 0x24924924);
	EXPECT_EQ(x(&t, 17), 3);
	EXPECT_EQ(x(&t, 19), 0);
	EXPECT_EQ(x(&t, 21), (uint64_t)-1);
	tm_fini(&t);
}

TEST(compressed_instructions_execute_as_their_expansions)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	tm_emitc(&t, 0x4505);      /* c.li a0, 1 */
	tm_emitc(&t, 0x0505);      /* c.addi a0, 1 -> 2 */
	tm_emitc(&t, 0x85aa);      /* c.mv a1, a0 */
	tm_emitc(&t, 0x95aa);      /* c.add a1, a0 -> 4 */
	tm_emitc(&t, 0x050e);      /* c.slli a0, 3 -> 16 */
	tm_emitc(&t, 0x6605);      /* c.lui a2, 1 -> 0x1000 */
	tm_emitc(&t, 0x8d89);      /* c.sub a1, a0 -> 4-16 = -12 */
	tm_emitc(&t, 0x2585);      /* c.addiw a1, 1 -> -11 */
	tm_emitc(&t, 0x1101);      /* c.addi sp, -32 (x2 = -32) */
	tm_emitc(&t, 0xe02e);      /* c.sdsp a1, 0(sp) */
	tm_emitc(&t, 0x6682);      /* c.ldsp a3, 0(sp) */
	tm_emitc(&t, 0xc119);      /* c.beqz a0, +6: not taken (a0 = 16) */
	tm_emitc(&t, 0xa011);      /* c.j +4 */
	tm_emitc(&t, 0x4705);      /* c.li a4, 1: skipped */
	tm_emitc(&t, 0x47a5);      /* c.li a5, 9 */
	uint64_t end = stop_here(&t);
	/* sp must point into RAM for c.sdsp/c.ldsp. */
	hart_set_x(t.h[0], 2, RAM_BASE + 0x3020);
	tm_run_to(t.h[0], end, 100);
	EXPECT_EQ(hart_pc(t.h[0]), end);
	EXPECT_EQ(x(&t, 10), 16);
	EXPECT_EQ(x(&t, 12), 0x1000);
	EXPECT_EQ(x(&t, 11), (uint64_t)-11);
	EXPECT_EQ(x(&t, 2), RAM_BASE + 0x3000);
	EXPECT_EQ(x(&t, 13), (uint64_t)-11);
	EXPECT_EQ(x(&t, 14), 0);
	EXPECT_EQ(x(&t, 15), 9);
	tm_fini(&t);
}

TEST(a_32bit_instruction_straddling_a_page_executes)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	tm_org(&t, RAM_BASE + 0xffc);
	tm_emitc(&t, 0x4505);                 /* c.li a0, 1 at 0xffc */
	uint32_t addi = ADDI(10, 10, 41);     /* at 0xffe..0x1001 */
	tm_w16(&t, RAM_BASE + 0xffe, (uint16_t)addi);
	tm_w16(&t, RAM_BASE + 0x1000, (uint16_t)(addi >> 16));
	t.at = RAM_BASE + 0x1002;
	uint64_t end = stop_here(&t);
	hart_set_pc(t.h[0], RAM_BASE + 0xffc);
	tm_run_to(t.h[0], end, 10);
	EXPECT_EQ(hart_pc(t.h[0]), end);
	EXPECT_EQ(x(&t, 10), 42);
	tm_fini(&t);
}

TEST(lr_sc_succeeds_once_and_fails_without_reservation)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t d = RAM_BASE + 0x1000;
	tm_w64(&t, d, 5);
	tm_li(&t, 1, d);
	tm_emit(&t, ADDI(2, 0, 9));
	tm_emit(&t, LR_D(3, 1));
	tm_emit(&t, SC_D(4, 1, 2));   /* succeeds: 0 */
	tm_emit(&t, SC_D(5, 1, 2));   /* no reservation: 1 */
	tm_emit(&t, LR_W(6, 1));
	tm_emit(&t, SW(0, 1, 0));     /* value changes under the reservation */
	tm_emit(&t, SC_W(7, 1, 2));   /* fails: the value is not what LR saw */
	uint64_t end = stop_here(&t);
	tm_run_to(t.h[0], end, 50);
	EXPECT_EQ(x(&t, 3), 5);
	EXPECT_EQ(x(&t, 4), 0);
	EXPECT_EQ(x(&t, 5), 1);
	EXPECT_EQ(x(&t, 6), 9);
	EXPECT_EQ(x(&t, 7), 1);
	EXPECT_EQ(tm_r64(&t, d), 0);
	tm_fini(&t);
}

TEST(amos_return_old_value_and_update_memory)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t d = RAM_BASE + 0x1000;
	tm_w64(&t, d, 10);
	tm_w64(&t, d + 8, 0xf0);
	tm_li(&t, 1, d);
	tm_emit(&t, ADDI(2, 0, -3));
	tm_emit(&t, AMOADD_D(3, 1, 2));     /* mem 7, x3 10 */
	tm_emit(&t, AMOMIN_W(4, 1, 2));     /* mem -3 (low word), x4 7 */
	tm_emit(&t, AMOSWAP_W(5, 1, 0));    /* x5 = -3 sign-extended, mem low 0 */
	tm_emit(&t, ADDI(6, 1, 8));
	tm_emit(&t, ADDI(7, 0, 0x0f));
	tm_emit(&t, AMOOR_W(8, 6, 7));      /* 0xff */
	tm_emit(&t, AMOMAXU_D(9, 6, 2));    /* max(0xff, 2^64-3) */
	tm_emit(&t, AMOXOR_D(10, 6, 2));    /* -> 0 */
	uint64_t end = stop_here(&t);
	tm_run_to(t.h[0], end, 50);
	EXPECT_EQ(hart_pc(t.h[0]), end);
	EXPECT_EQ(x(&t, 3), 10);
	EXPECT_EQ(x(&t, 4), 7);
	EXPECT_EQ(x(&t, 5), (uint64_t)-3);
	EXPECT_EQ(x(&t, 8), 0xf0);
	EXPECT_EQ(x(&t, 9), 0xff);
	EXPECT_EQ(x(&t, 10), (uint64_t)-3);
	EXPECT_EQ(tm_r64(&t, d) & 0xffffffff, 0);
	EXPECT_EQ(tm_r64(&t, d + 8), 0);
	tm_fini(&t);
}

/* A trap handler at RAM_BASE+0x800 that records mcause/mtval in x30/x31 and stops. */
static uint64_t emit_stop_handler(struct tmach *t)
{
	uint64_t save = t->at;
	tm_org(t, RAM_BASE + 0x800);
	tm_emit(t, CSRR(30, CSR_MCAUSE));
	tm_emit(t, CSRR(31, CSR_MTVAL));
	uint64_t stop = stop_here(t);
	tm_org(t, save);
	return stop;
}

static void set_mtvec(struct tmach *t, uint64_t v) { hart_csr_write(t->h[0], CSR_MTVEC, v); }

TEST(misaligned_amo_raises_store_misaligned_and_lr_load_misaligned)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t stop = emit_stop_handler(&t);
	set_mtvec(&t, RAM_BASE + 0x800);
	tm_li(&t, 1, RAM_BASE + 0x1002);
	tm_emit(&t, AMOADD_W(2, 1, 1));
	tm_run_to(t.h[0], stop, 50);
	EXPECT_EQ(x(&t, 30), EXC_STORE_MISALIGNED);
	EXPECT_EQ(x(&t, 31), RAM_BASE + 0x1002);

	hart_set_pc(t.h[0], RAM_BASE + 0x100);
	tm_org(&t, RAM_BASE + 0x100);
	tm_emit(&t, LR_W(2, 1));
	tm_run_to(t.h[0], stop, 50);
	EXPECT_EQ(x(&t, 30), EXC_LOAD_MISALIGNED);
	tm_fini(&t);
}

static uint64_t dev_read(void *dev, uint64_t off, unsigned size)
{
	(void)dev; (void)size;
	return off == 0 ? 0x13 : 0;   /* a `nop` at offset 0 for the ROM test */
}
static void dev_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
	(void)off; (void)size;
	*(uint64_t *)dev = v;
}
static const struct mmio_ops dev_ops = { dev_read, dev_write };

TEST(amo_to_mmio_raises_access_fault_but_plain_store_reaches_device)
{
	struct tmach t;
	uint64_t reg = 0;
	EXPECT(tm_init(&t, 1) == 0);
	EXPECT(bus_add_region(&t.bus, 0x10000000, 0x1000, &dev_ops, &reg, "dev") == 0);
	uint64_t stop = emit_stop_handler(&t);
	set_mtvec(&t, RAM_BASE + 0x800);
	tm_li(&t, 1, 0x10000000);
	tm_emit(&t, ADDI(2, 0, 77));
	tm_emit(&t, SD(2, 1, 0));
	tm_emit(&t, AMOSWAP_W(3, 1, 2));
	tm_run_to(t.h[0], stop, 50);
	EXPECT_EQ(reg, 77);
	EXPECT_EQ(x(&t, 30), EXC_STORE_ACCESS);
	EXPECT_EQ(x(&t, 31), 0x10000000);
	tm_fini(&t);
}

TEST(code_outside_ram_executes_through_the_bus)
{
	struct tmach t;
	uint64_t reg = 0;
	EXPECT(tm_init(&t, 1) == 0);
	EXPECT(bus_add_region(&t.bus, 0x1000, 0x1000, &dev_ops, &reg, "rom") == 0);
	/* The ROM reads `nop` at 0 and zeros (illegal) after: expect a trap at 0x1004. */
	uint64_t stop = emit_stop_handler(&t);
	set_mtvec(&t, RAM_BASE + 0x800);
	hart_set_pc(t.h[0], 0x1000);
	tm_run_to(t.h[0], stop, 10);
	EXPECT_EQ(x(&t, 30), EXC_ILLEGAL);
	EXPECT_EQ(hart_pc(t.h[0]), stop);
	uint64_t mepc;
	EXPECT(hart_csr_read(t.h[0], CSR_MEPC, &mepc) == 0);
	EXPECT_EQ(mepc, 0x1004);
	tm_fini(&t);
}

TEST(self_modifying_code_is_seen_after_fence_i)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	/* Loop body at 0x100: addi x5, x5, 1 ; ret.  Called twice, patched between. */
	tm_org(&t, RAM_BASE + 0x100);
	tm_emit(&t, ADDI(5, 5, 1));
	tm_emit(&t, JALR(0, 1, 0));
	tm_org(&t, RAM_BASE);
	tm_li(&t, 6, RAM_BASE + 0x100);
	tm_emit(&t, JALR(1, 6, 0));            /* x5 = 1 */
	tm_li(&t, 7, ADDI(5, 5, 100));
	tm_emit(&t, SW(7, 6, 0));              /* patch */
	tm_emit(&t, FENCE_I());
	tm_emit(&t, JALR(1, 6, 0));            /* x5 = 101 */
	uint64_t end = stop_here(&t);
	tm_run_to(t.h[0], end, 100);
	EXPECT_EQ(hart_pc(t.h[0]), end);
	EXPECT_EQ(x(&t, 5), 101);
	tm_fini(&t);
}

TEST(store_through_the_bus_invalidates_decoded_code)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	tm_emit(&t, ADDI(5, 5, 1));
	uint64_t end = stop_here(&t);
	tm_run_to(t.h[0], end, 10);
	EXPECT_EQ(x(&t, 5), 1);
	EXPECT(bus_page_is_code(&t.bus, 0));
	/* Another hart (or a device) rewrites the code through the bus. */
	EXPECT(bus_store(&t.bus, RAM_BASE, 4, ADDI(5, 5, 10)) == 0);
	EXPECT(!bus_page_is_code(&t.bus, 0));
	hart_set_pc(t.h[0], RAM_BASE);
	tm_run_to(t.h[0], end, 10);
	EXPECT_EQ(x(&t, 5), 11);
	tm_fini(&t);
}

TEST(store_by_one_hart_invalidates_code_cached_by_another)
{
	struct tmach t;
	EXPECT(tm_init(&t, 2) == 0);
	/* hart 0 runs code at 0x000; hart 1 patches it at 0x400. */
	tm_emit(&t, ADDI(5, 5, 1));
	uint64_t end = stop_here(&t);
	tm_org(&t, RAM_BASE + 0x400);
	tm_li(&t, 6, RAM_BASE);
	tm_li(&t, 7, ADDI(5, 5, 20));
	tm_emit(&t, SW(7, 6, 0));
	uint64_t end1 = stop_here(&t);
	tm_run_to(t.h[0], end, 10);
	hart_set_pc(t.h[1], RAM_BASE + 0x400);
	tm_run_to(t.h[1], end1, 20);
	EXPECT_EQ(hart_pc(t.h[1]), end1);
	hart_set_pc(t.h[0], RAM_BASE);
	tm_run_to(t.h[0], end, 10);
	EXPECT_EQ(hart_get_x(t.h[0], 5), 21);
	tm_fini(&t);
}

struct racer {
	struct hart *h;
	uint64_t stop;
};

static void *race_thread(void *arg)
{
	struct racer *r = arg;
	tm_run_to(r->h, r->stop, 10000000);
	return NULL;
}

TEST(lr_sc_and_amo_increments_are_atomic_across_two_harts)
{
	struct tmach t;
	EXPECT(tm_init(&t, 2) == 0);
	uint64_t ctr = RAM_BASE + 0x2000;
	enum { N = 20000 };
	/* loop: lr.d a0; addi a0,1; sc.d a1; bnez a1 retry; amoadd.d 8(ctr) ; count down */
	tm_li(&t, 1, ctr);
	tm_li(&t, 2, N);
	tm_emit(&t, ADDI(4, 0, 1));
	tm_emit(&t, ADDI(5, 1, 8));
	uint64_t loop = t.at;
	tm_emit(&t, LR_D(10, 1));
	tm_emit(&t, ADDI(10, 10, 1));
	tm_emit(&t, SC_D(11, 1, 10));
	tm_emit(&t, BNE(11, 0, -12));
	tm_emit(&t, AMOADD_D(0, 5, 4));
	tm_emit(&t, ADDI(2, 2, -1));
	tm_emit(&t, BNE(2, 0, (int32_t)(loop - t.at)));
	uint64_t end = stop_here(&t);
	struct racer r[2] = { { t.h[0], end }, { t.h[1], end } };
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, race_thread, &r[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ(hart_pc(t.h[0]), end);
	EXPECT_EQ(hart_pc(t.h[1]), end);
	EXPECT_EQ(tm_r64(&t, ctr), 2 * N);
	EXPECT_EQ(tm_r64(&t, ctr + 8), 2 * N);
	tm_fini(&t);
}

TEST(counters_read_instret_cycle_and_time)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	tm_emit(&t, ADDI(0, 0, 0));
	tm_emit(&t, ADDI(0, 0, 0));
	tm_emit(&t, CSRR(1, CSR_INSTRET));   /* 2 retired before it */
	tm_emit(&t, CSRR(2, CSR_HPM3));
	tm_emit(&t, CSRR(3, CSR_TIME));
	tm_li(&t, 4, 1000);
	tm_emit(&t, CSRW(CSR_MINSTRET, 4));
	tm_emit(&t, CSRR(5, CSR_MINSTRET));   /* the write replaced the increment */
	tm_emit(&t, CSRR(6, CSR_CYCLE));
	uint64_t end = stop_here(&t);
	tm_run_to(t.h[0], end, 50);
	EXPECT_EQ(x(&t, 1), 2);
	EXPECT_EQ(x(&t, 2), 0);
	EXPECT(x(&t, 3) > 0);
	EXPECT_EQ(x(&t, 5), 1000);
	EXPECT(x(&t, 6) >= 5);
	tm_fini(&t);
}

/* F/D: FS must be on; results NaN-boxed; flags accumulate; bad frm is illegal. */
TEST(fp_instructions_need_fs_and_follow_boxing_and_rounding_rules)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t stop = emit_stop_handler(&t);
	set_mtvec(&t, RAM_BASE + 0x800);
	/* FS is Off at reset: the first FP instruction traps as illegal. */
	tm_emit(&t, FMV_W_X(1, 0));
	tm_run_to(t.h[0], stop, 10);
	EXPECT_EQ(x(&t, 30), EXC_ILLEGAL);
	EXPECT_EQ(x(&t, 31), FMV_W_X(1, 0));

	hart_csr_write(t.h[0], CSR_MSTATUS, 1ull << 13);   /* FS = Initial */
	tm_org(&t, RAM_BASE + 0x100);
	hart_set_pc(t.h[0], RAM_BASE + 0x100);
	tm_li(&t, 1, 0x3fc00000);              /* 1.5f */
	tm_emit(&t, FMV_W_X(1, 1));
	tm_emit(&t, FADD_S(2, 1, 1, 0));       /* 3.0f */
	tm_emit(&t, FMV_X_W(3, 2));
	tm_emit(&t, FCVT_W_S(4, 2, 1));        /* 3 */
	tm_li(&t, 5, 10);
	tm_emit(&t, FCVT_D_L(3, 5, 0));        /* f3 = 10.0 */
	tm_emit(&t, FSQRT_D(4, 3, 0));         /* inexact */
	tm_emit(&t, FCVT_L_D(6, 4, 1));        /* 3 (RTZ) */
	tm_emit(&t, FMV_X_D(7, 3));
	tm_emit(&t, CSRR(8, CSR_FFLAGS));      /* NX */
	tm_emit(&t, FSGNJN_D(5, 3, 3));        /* -10.0 */
	tm_emit(&t, FLT_D(9, 5, 3));           /* 1 */
	tm_emit(&t, FCLASS_D(10, 5));          /* negative normal: bit 1 */
	tm_emit(&t, FEQ_S(11, 3, 3));          /* f3 holds a double: unboxed -> NaN: 0 */
	tm_emit(&t, FMADD_D(6, 3, 3, 3, 0));   /* 110.0 */
	tm_emit(&t, FMV_X_D(12, 6));
	tm_emit(&t, CSRR(13, CSR_MSTATUS));
	tm_li(&t, 14, 5);
	tm_emit(&t, CSRW(CSR_FRM, 14));        /* invalid dynamic rounding mode */
	uint64_t bad = t.at;
	tm_emit(&t, FADD_S(2, 1, 1, 7));       /* dynamic rm = 5: illegal */
	tm_run_to(t.h[0], stop, 100);
	EXPECT_EQ(x(&t, 3), 0x40400000);
	EXPECT_EQ(x(&t, 4), 3);
	EXPECT_EQ(x(&t, 7), 0x4024000000000000ull);
	EXPECT_EQ(x(&t, 6), 3);
	EXPECT_EQ(x(&t, 8), 1);
	EXPECT_EQ(x(&t, 9), 1);
	EXPECT_EQ(x(&t, 10), 2);
	EXPECT_EQ(x(&t, 11), 0);
	EXPECT_EQ(x(&t, 12), 0x405b800000000000ull);
	EXPECT_EQ((x(&t, 13) >> 13) & 3, 3);    /* Dirty */
	EXPECT(x(&t, 13) >> 63);                /* SD */
	EXPECT_EQ(x(&t, 30), EXC_ILLEGAL);
	uint64_t mepc;
	hart_csr_read(t.h[0], CSR_MEPC, &mepc);
	EXPECT_EQ(mepc, bad);
	EXPECT_EQ(hart_get_f(t.h[0], 2) >> 32, 0xffffffffu);   /* boxed */
	tm_fini(&t);
}

TEST(fp_loads_and_stores_move_raw_bits_and_box_singles)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	hart_csr_write(t.h[0], CSR_MSTATUS, 1ull << 13);
	uint64_t d = RAM_BASE + 0x1000;
	tm_w64(&t, d, 0x4000000040400000ull);
	tm_li(&t, 1, d);
	tm_emit(&t, FLW(1, 1, 0));
	tm_emit(&t, FLD(2, 1, 0));
	tm_emit(&t, FSD(1, 1, 8));
	tm_emit(&t, FSW(2, 1, 16));
	uint64_t end = stop_here(&t);
	tm_run_to(t.h[0], end, 20);
	EXPECT_EQ(hart_get_f(t.h[0], 1), 0xffffffff40400000ull);
	EXPECT_EQ(hart_get_f(t.h[0], 2), 0x4000000040400000ull);
	EXPECT_EQ(tm_r64(&t, d + 8), 0xffffffff40400000ull);
	EXPECT_EQ(tm_r64(&t, d + 16) & 0xffffffff, 0x40400000);
	tm_fini(&t);
}

/* xorshift64*: deterministic pseudo-random words for the fuzz test. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

TEST(random_instruction_streams_never_crash_the_host)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	uint64_t seed = 0x1234567890abcdefull;
	uint64_t steps = 0;
	for (int round = 0; round < 100; round++) {
		/* A page of random words, biased towards real opcodes. */
		for (uint64_t a = RAM_BASE; a < RAM_BASE + 4096; a += 4) {
			uint32_t w = (uint32_t)rnd(&seed);
			if (rnd(&seed) & 1) {
				static const uint8_t opc[] = {
					0x03, 0x07, 0x0f, 0x13, 0x17, 0x1b, 0x23, 0x27, 0x2f, 0x33,
					0x37, 0x3b, 0x43, 0x47, 0x4b, 0x4f, 0x53, 0x63, 0x67, 0x6f, 0x73,
				};
				w = (w & ~0x7fu) | opc[rnd(&seed) % sizeof(opc)];
			}
			tm_w32(&t, a, w);
		}
		hart_free(t.h[0]);
		struct hart_config cfg = {
			.hartid = 0, .bus = &t.bus, .clock = &t.clk, .reset_pc = RAM_BASE,
		};
		t.h[0] = hart_new(&cfg);
		EXPECT(t.h[0] != NULL);
		struct hart *h = t.h[0];
		for (unsigned r = 1; r < 32; r++)   /* some registers point into RAM */
			hart_set_x(h, r, r & 1 ? RAM_BASE + (rnd(&seed) & 0xffff8) : rnd(&seed));
		hart_csr_write(h, CSR_MTVEC, RAM_BASE + (rnd(&seed) & 0xffc));
		hart_csr_write(h, CSR_MSTATUS, 1ull << 13);
		steps += hart_step(h, 3000);
	}
	/* Not a correctness oracle: reaching here without a crash (or a
	 * sanitizer report) is the point; most rounds end in trap loops after
	 * executing a few instructions each. */
	EXPECT(steps > 100 * 10);
	tm_fini(&t);
}

TEST(pause_and_fence_variants_retire_as_no_ops)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	tm_emit(&t, 0x0100000fu);          /* pause */
	tm_emit(&t, FENCE());
	tm_emit(&t, 0x8330000fu);          /* fence.tso */
	tm_emit(&t, ADDI(5, 0, 1));
	uint64_t end = stop_here(&t);
	EXPECT_EQ(tm_run_to(t.h[0], end, 10), 4);
	EXPECT_EQ(x(&t, 5), 1);
	EXPECT_EQ(hart_instret(t.h[0]), 4);
	tm_fini(&t);
}

TEST(mcountinhibit_freezes_and_resumes_cycle_and_instret)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	tm_emit(&t, ADDI(1, 0, 5));
	tm_emit(&t, CSRW(0x320, 1));          /* inhibit CY and IR */
	tm_emit(&t, CSRR(2, CSR_MINSTRET));   /* 2 retired so far */
	tm_emit(&t, CSRR(3, CSR_MCYCLE));
	tm_emit(&t, ADDI(0, 0, 0));
	tm_emit(&t, ADDI(0, 0, 0));
	tm_emit(&t, CSRR(4, CSR_MINSTRET));   /* still frozen */
	tm_emit(&t, CSRR(5, CSR_MCYCLE));
	tm_emit(&t, CSRW(0x320, 0));          /* resume */
	tm_emit(&t, CSRR(6, CSR_MINSTRET));   /* frozen value, then counting on */
	tm_emit(&t, CSRR(7, CSR_INSTRET));
	uint64_t end = stop_here(&t);
	tm_run_to(t.h[0], end, 50);
	EXPECT_EQ(hart_pc(t.h[0]), end);
	EXPECT_EQ(x(&t, 2), 2);
	EXPECT_EQ(x(&t, 4), 2);
	EXPECT_EQ(x(&t, 5), x(&t, 3));
	EXPECT_EQ(x(&t, 6), 2);
	EXPECT_EQ(x(&t, 7), 3);
	tm_fini(&t);
}

static uint64_t dbl(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static uint32_t flt(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
#define FMA(opc, fmt, rd, a, b, c) (rv_r(opc, rd, 0, a, b, fmt) | (uint32_t)(c) << 27)

TEST(fp_fused_multiply_add_forms_and_conversions_map_to_the_right_operations)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	hart_csr_write(h, CSR_MSTATUS, 1ull << 13);
	hart_set_f(h, 1, dbl(2.0));
	hart_set_f(h, 2, dbl(3.0));
	hart_set_f(h, 3, dbl(1.0));
	hart_set_f(h, 11, fp_box32(flt(2.0f)));
	hart_set_f(h, 12, fp_box32(flt(3.0f)));
	hart_set_f(h, 13, fp_box32(flt(1.0f)));
	for (unsigned i = 0; i < 4; i++) {
		tm_emit(&t, FMA(0x43 + 4 * i, 1, 4 + i, 1, 2, 3));      /* D */
		tm_emit(&t, FMA(0x43 + 4 * i, 0, 14 + i, 11, 12, 13));  /* S */
	}
	tm_emit(&t, FDIV_S(20, 13, 12, 0));          /* 1/3 */
	tm_emit(&t, FMIN_S(21, 11, 12));             /* 2 */
	tm_emit(&t, FCVT_S_D(22, 2, 0));             /* 3.0f */
	tm_emit(&t, FCVT_D_S(23, 12, 0));            /* 3.0 */
	tm_emit(&t, ADDI(5, 0, -7));
	tm_emit(&t, FCVT_S_W(24, 5, 0));             /* -7.0f */
	tm_emit(&t, FCVT_W_S(6, 24, 0));             /* -7, sign-extended */
	tm_emit(&t, FMV_D_X(25, 5));                 /* raw bits */
	hart_set_f(h, 26, dbl(-1.5));
	tm_emit(&t, FCVT_WU_D(7, 26, 1));            /* negative -> 0, NV */
	tm_emit(&t, CSRR(8, CSR_FFLAGS));
	uint64_t end = stop_here(&t);
	tm_run_to(h, end, 50);
	EXPECT_EQ(hart_pc(h), end);
	EXPECT_EQ(hart_get_f(h, 4), dbl(7.0));    /* fmadd */
	EXPECT_EQ(hart_get_f(h, 5), dbl(5.0));    /* fmsub */
	EXPECT_EQ(hart_get_f(h, 6), dbl(-5.0));   /* fnmsub */
	EXPECT_EQ(hart_get_f(h, 7), dbl(-7.0));   /* fnmadd */
	EXPECT_EQ(hart_get_f(h, 14), fp_box32(flt(7.0f)));
	EXPECT_EQ(hart_get_f(h, 15), fp_box32(flt(5.0f)));
	EXPECT_EQ(hart_get_f(h, 16), fp_box32(flt(-5.0f)));
	EXPECT_EQ(hart_get_f(h, 17), fp_box32(flt(-7.0f)));
	EXPECT_EQ(hart_get_f(h, 20), fp_box32(flt(1.0f / 3.0f)));
	EXPECT_EQ(hart_get_f(h, 21), fp_box32(flt(2.0f)));
	EXPECT_EQ(hart_get_f(h, 22), fp_box32(flt(3.0f)));
	EXPECT_EQ(hart_get_f(h, 23), dbl(3.0));
	EXPECT_EQ(hart_get_f(h, 24), fp_box32(flt(-7.0f)));
	EXPECT_EQ(x(&t, 6), (uint64_t)-7);
	EXPECT_EQ(hart_get_f(h, 25), (uint64_t)-7);
	EXPECT_EQ(x(&t, 7), 0);
	EXPECT_EQ(x(&t, 8) & (FP_NV | FP_NX), FP_NV | FP_NX);   /* 1/3 inexact; -1.5 invalid */
	tm_fini(&t);
}

TEST(chained_blocks_still_notice_rewritten_code)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	/* A call loop within one page: the blocks chain to each other. */
	tm_emit(&t, JAL(1, 0x100));          /* loop: call func */
	tm_emit(&t, JAL(0, -4));             /* j loop */
	tm_org(&t, RAM_BASE + 0x100);
	tm_emit(&t, ADDI(5, 5, 1));          /* func */
	tm_emit(&t, JALR(0, 1, 0));
	hart_step(h, 40);                    /* 10 calls: 4 steps each */
	EXPECT_EQ(x(&t, 5), 10);
	/* A device (or another hart) rewrites func; no FENCE.I on this hart. */
	EXPECT(bus_store(&t.bus, RAM_BASE + 0x100, 4, ADDI(5, 5, 100)) == 0);
	hart_step(h, 40);
	EXPECT_EQ(x(&t, 5), 1010);
	tm_fini(&t);
}
