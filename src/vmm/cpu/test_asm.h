/*
 * Test helpers for the hart unit tests: a tiny RV64GC encoder (one function
 * per format, macros per instruction) and a test machine (bus with RAM at
 * 0x80000000, a clock, one or more harts) with a cursor to emit code.
 * Encodings follow the unprivileged ISA's base formats (ch. 2) and the RVC
 * quadrant tables (ch. 16).  Test-only: included by *_test.c files.
 */
#ifndef NIMBUS_VMM_CPU_TEST_ASM_H
#define NIMBUS_VMM_CPU_TEST_ASM_H

#include <stdint.h>
#include <string.h>

#include "vmm/bus.h"
#include "vmm/clock.h"
#include "vmm/cpu/hart_internal.h"

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (8ull << 20)

static inline uint32_t rv_r(unsigned op, unsigned rd, unsigned f3, unsigned rs1, unsigned rs2,
			    unsigned f7)
{
	return op | rd << 7 | f3 << 12 | rs1 << 15 | rs2 << 20 | f7 << 25;
}
static inline uint32_t rv_i(unsigned op, unsigned rd, unsigned f3, unsigned rs1, int32_t imm)
{
	return op | rd << 7 | f3 << 12 | rs1 << 15 | ((uint32_t)imm & 0xfff) << 20;
}
static inline uint32_t rv_s(unsigned op, unsigned f3, unsigned rs1, unsigned rs2, int32_t imm)
{
	uint32_t u = (uint32_t)imm;
	return op | (u & 0x1f) << 7 | f3 << 12 | rs1 << 15 | rs2 << 20 | ((u >> 5) & 0x7f) << 25;
}
static inline uint32_t rv_b(unsigned f3, unsigned rs1, unsigned rs2, int32_t imm)
{
	uint32_t u = (uint32_t)imm;
	return 0x63 | ((u >> 11) & 1) << 7 | ((u >> 1) & 0xf) << 8 | f3 << 12 | rs1 << 15 |
	       rs2 << 20 | ((u >> 5) & 0x3f) << 25 | ((u >> 12) & 1) << 31;
}
static inline uint32_t rv_u(unsigned op, unsigned rd, uint32_t imm)
{
	return op | rd << 7 | (imm & 0xfffff000u);
}
static inline uint32_t rv_j(unsigned rd, int32_t imm)
{
	uint32_t u = (uint32_t)imm;
	return 0x6f | rd << 7 | ((u >> 12) & 0xff) << 12 | ((u >> 11) & 1) << 20 |
	       ((u >> 1) & 0x3ff) << 21 | ((u >> 20) & 1) << 31;
}

#define LUI(rd, imm) rv_u(0x37, rd, imm)
#define AUIPC(rd, imm) rv_u(0x17, rd, imm)
#define JAL(rd, off) rv_j(rd, off)
#define JALR(rd, rs1, off) rv_i(0x67, rd, 0, rs1, off)
#define BEQ(a, b, off) rv_b(0, a, b, off)
#define BNE(a, b, off) rv_b(1, a, b, off)
#define BLT(a, b, off) rv_b(4, a, b, off)
#define BGE(a, b, off) rv_b(5, a, b, off)
#define BLTU(a, b, off) rv_b(6, a, b, off)
#define BGEU(a, b, off) rv_b(7, a, b, off)
#define LB(rd, rs1, off) rv_i(0x03, rd, 0, rs1, off)
#define LH(rd, rs1, off) rv_i(0x03, rd, 1, rs1, off)
#define LW(rd, rs1, off) rv_i(0x03, rd, 2, rs1, off)
#define LD(rd, rs1, off) rv_i(0x03, rd, 3, rs1, off)
#define LBU(rd, rs1, off) rv_i(0x03, rd, 4, rs1, off)
#define LHU(rd, rs1, off) rv_i(0x03, rd, 5, rs1, off)
#define LWU(rd, rs1, off) rv_i(0x03, rd, 6, rs1, off)
#define SB(rs2, rs1, off) rv_s(0x23, 0, rs1, rs2, off)
#define SH(rs2, rs1, off) rv_s(0x23, 1, rs1, rs2, off)
#define SW(rs2, rs1, off) rv_s(0x23, 2, rs1, rs2, off)
#define SD(rs2, rs1, off) rv_s(0x23, 3, rs1, rs2, off)
#define ADDI(rd, rs1, imm) rv_i(0x13, rd, 0, rs1, imm)
#define SLTI(rd, rs1, imm) rv_i(0x13, rd, 2, rs1, imm)
#define SLTIU(rd, rs1, imm) rv_i(0x13, rd, 3, rs1, imm)
#define XORI(rd, rs1, imm) rv_i(0x13, rd, 4, rs1, imm)
#define ORI(rd, rs1, imm) rv_i(0x13, rd, 6, rs1, imm)
#define ANDI(rd, rs1, imm) rv_i(0x13, rd, 7, rs1, imm)
#define SLLI(rd, rs1, sh) rv_i(0x13, rd, 1, rs1, sh)
#define SRLI(rd, rs1, sh) rv_i(0x13, rd, 5, rs1, sh)
#define SRAI(rd, rs1, sh) rv_i(0x13, rd, 5, rs1, 0x400 | (sh))
#define ADD(rd, a, b) rv_r(0x33, rd, 0, a, b, 0)
#define SUB(rd, a, b) rv_r(0x33, rd, 0, a, b, 0x20)
#define SLL(rd, a, b) rv_r(0x33, rd, 1, a, b, 0)
#define SLT(rd, a, b) rv_r(0x33, rd, 2, a, b, 0)
#define SLTU(rd, a, b) rv_r(0x33, rd, 3, a, b, 0)
#define XOR(rd, a, b) rv_r(0x33, rd, 4, a, b, 0)
#define SRL(rd, a, b) rv_r(0x33, rd, 5, a, b, 0)
#define SRA(rd, a, b) rv_r(0x33, rd, 5, a, b, 0x20)
#define OR(rd, a, b) rv_r(0x33, rd, 6, a, b, 0)
#define AND(rd, a, b) rv_r(0x33, rd, 7, a, b, 0)
#define ADDIW(rd, rs1, imm) rv_i(0x1b, rd, 0, rs1, imm)
#define SLLIW(rd, rs1, sh) rv_i(0x1b, rd, 1, rs1, sh)
#define SRLIW(rd, rs1, sh) rv_i(0x1b, rd, 5, rs1, sh)
#define SRAIW(rd, rs1, sh) rv_i(0x1b, rd, 5, rs1, 0x400 | (sh))
#define ADDW(rd, a, b) rv_r(0x3b, rd, 0, a, b, 0)
#define SUBW(rd, a, b) rv_r(0x3b, rd, 0, a, b, 0x20)
#define SLLW(rd, a, b) rv_r(0x3b, rd, 1, a, b, 0)
#define SRLW(rd, a, b) rv_r(0x3b, rd, 5, a, b, 0)
#define SRAW(rd, a, b) rv_r(0x3b, rd, 5, a, b, 0x20)
#define MUL(rd, a, b) rv_r(0x33, rd, 0, a, b, 1)
#define MULH(rd, a, b) rv_r(0x33, rd, 1, a, b, 1)
#define MULHSU(rd, a, b) rv_r(0x33, rd, 2, a, b, 1)
#define MULHU(rd, a, b) rv_r(0x33, rd, 3, a, b, 1)
#define DIV(rd, a, b) rv_r(0x33, rd, 4, a, b, 1)
#define DIVU(rd, a, b) rv_r(0x33, rd, 5, a, b, 1)
#define REM(rd, a, b) rv_r(0x33, rd, 6, a, b, 1)
#define REMU(rd, a, b) rv_r(0x33, rd, 7, a, b, 1)
#define MULW(rd, a, b) rv_r(0x3b, rd, 0, a, b, 1)
#define DIVW(rd, a, b) rv_r(0x3b, rd, 4, a, b, 1)
#define DIVUW(rd, a, b) rv_r(0x3b, rd, 5, a, b, 1)
#define REMW(rd, a, b) rv_r(0x3b, rd, 6, a, b, 1)
#define REMUW(rd, a, b) rv_r(0x3b, rd, 7, a, b, 1)
#define FENCE() 0x0ff0000fu
#define FENCE_I() 0x0000100fu
#define ECALL() 0x00000073u
#define EBREAK() 0x00100073u
#define MRET() 0x30200073u
#define SRET() 0x10200073u
#define WFI() 0x10500073u
#define SFENCE_VMA(rs1, rs2) rv_r(0x73, 0, 0, rs1, rs2, 0x09)
#define CSRRW(rd, csr, rs1) rv_i(0x73, rd, 1, rs1, (int32_t)(csr))
#define CSRRS(rd, csr, rs1) rv_i(0x73, rd, 2, rs1, (int32_t)(csr))
#define CSRRC(rd, csr, rs1) rv_i(0x73, rd, 3, rs1, (int32_t)(csr))
#define CSRRWI(rd, csr, u) rv_i(0x73, rd, 5, u, (int32_t)(csr))
#define CSRRSI(rd, csr, u) rv_i(0x73, rd, 6, u, (int32_t)(csr))
#define CSRRCI(rd, csr, u) rv_i(0x73, rd, 7, u, (int32_t)(csr))
#define CSRR(rd, csr) CSRRS(rd, csr, 0)
#define CSRW(csr, rs1) CSRRW(0, csr, rs1)
#define AMO(f5, f3, rd, rs1, rs2) rv_r(0x2f, rd, f3, rs1, rs2, (f5) << 2)
#define LR_W(rd, rs1) AMO(0x02, 2, rd, rs1, 0)
#define SC_W(rd, rs1, rs2) AMO(0x03, 2, rd, rs1, rs2)
#define LR_D(rd, rs1) AMO(0x02, 3, rd, rs1, 0)
#define SC_D(rd, rs1, rs2) AMO(0x03, 3, rd, rs1, rs2)
#define AMOSWAP_W(rd, rs1, rs2) AMO(0x01, 2, rd, rs1, rs2)
#define AMOADD_W(rd, rs1, rs2) AMO(0x00, 2, rd, rs1, rs2)
#define AMOADD_D(rd, rs1, rs2) AMO(0x00, 3, rd, rs1, rs2)
#define AMOMIN_W(rd, rs1, rs2) AMO(0x10, 2, rd, rs1, rs2)
#define AMOMAXU_D(rd, rs1, rs2) AMO(0x1c, 3, rd, rs1, rs2)
#define AMOAND_D(rd, rs1, rs2) AMO(0x0c, 3, rd, rs1, rs2)
#define AMOOR_W(rd, rs1, rs2) AMO(0x08, 2, rd, rs1, rs2)
#define AMOXOR_D(rd, rs1, rs2) AMO(0x04, 3, rd, rs1, rs2)
#define FLW(rd, rs1, off) rv_i(0x07, rd, 2, rs1, off)
#define FLD(rd, rs1, off) rv_i(0x07, rd, 3, rs1, off)
#define FSW(rs2, rs1, off) rv_s(0x27, 2, rs1, rs2, off)
#define FSD(rs2, rs1, off) rv_s(0x27, 3, rs1, rs2, off)
#define FOP(f7, rd, rs1, rs2, rm) rv_r(0x53, rd, rm, rs1, rs2, f7)
#define FADD_S(rd, a, b, rm) FOP(0x00, rd, a, b, rm)
#define FADD_D(rd, a, b, rm) FOP(0x01, rd, a, b, rm)
#define FMUL_D(rd, a, b, rm) FOP(0x09, rd, a, b, rm)
#define FDIV_S(rd, a, b, rm) FOP(0x0c, rd, a, b, rm)
#define FSQRT_D(rd, a, rm) FOP(0x2d, rd, a, 0, rm)
#define FSGNJN_D(rd, a, b) FOP(0x11, rd, a, b, 1)
#define FMIN_S(rd, a, b) FOP(0x14, rd, a, b, 0)
#define FEQ_S(rd, a, b) FOP(0x50, rd, a, b, 2)
#define FLT_D(rd, a, b) FOP(0x51, rd, a, b, 1)
#define FCVT_W_S(rd, a, rm) FOP(0x60, rd, a, 0, rm)
#define FCVT_WU_D(rd, a, rm) FOP(0x61, rd, a, 1, rm)
#define FCVT_L_D(rd, a, rm) FOP(0x61, rd, a, 2, rm)
#define FCVT_S_W(rd, a, rm) FOP(0x68, rd, a, 0, rm)
#define FCVT_D_L(rd, a, rm) FOP(0x69, rd, a, 2, rm)
#define FCVT_S_D(rd, a, rm) FOP(0x20, rd, a, 1, rm)
#define FCVT_D_S(rd, a, rm) FOP(0x21, rd, a, 0, rm)
#define FMV_X_W(rd, a) FOP(0x70, rd, a, 0, 0)
#define FMV_X_D(rd, a) FOP(0x71, rd, a, 0, 0)
#define FMV_W_X(rd, a) FOP(0x78, rd, a, 0, 0)
#define FMV_D_X(rd, a) FOP(0x79, rd, a, 0, 0)
#define FCLASS_D(rd, a) FOP(0x71, rd, a, 0, 1)
#define FMADD_D(rd, a, b, c, rm) (rv_r(0x43, rd, rm, a, b, 1) | (uint32_t)(c) << 27)
#define FNMSUB_S(rd, a, b, c, rm) (rv_r(0x4b, rd, rm, a, b, 0) | (uint32_t)(c) << 27)

/* CSR numbers used by the tests. */
enum {
	CSR_FFLAGS = 0x001, CSR_FRM = 0x002, CSR_FCSR = 0x003,
	CSR_CYCLE = 0xc00, CSR_TIME = 0xc01, CSR_INSTRET = 0xc02, CSR_HPM3 = 0xc03,
	CSR_SSTATUS = 0x100, CSR_SIE = 0x104, CSR_STVEC = 0x105, CSR_SCOUNTEREN = 0x106,
	CSR_SSCRATCH = 0x140, CSR_SEPC = 0x141, CSR_SCAUSE = 0x142, CSR_STVAL = 0x143,
	CSR_SIP = 0x144, CSR_STIMECMP = 0x14d, CSR_SATP = 0x180,
	CSR_MHARTID = 0xf14, CSR_MSTATUS = 0x300, CSR_MISA = 0x301, CSR_MEDELEG = 0x302,
	CSR_MIDELEG = 0x303, CSR_MIE = 0x304, CSR_MTVEC = 0x305, CSR_MCOUNTEREN = 0x306,
	CSR_MENVCFG = 0x30a, CSR_MSCRATCH = 0x340, CSR_MEPC = 0x341, CSR_MCAUSE = 0x342,
	CSR_MTVAL = 0x343, CSR_MIP = 0x344, CSR_PMPCFG0 = 0x3a0, CSR_PMPADDR0 = 0x3b0,
	CSR_MCYCLE = 0xb00, CSR_MINSTRET = 0xb02,
};

struct tmach {
	struct bus bus;
	struct vclock clk;
	struct hart *h[2];
	uint64_t at;   /* emit cursor (guest-physical) */
};

static inline int tm_init(struct tmach *t, unsigned nharts)
{
	memset(t, 0, sizeof(*t));
	if (bus_init(&t->bus, RAM_BASE, RAM_SIZE))
		return -1;
	vclock_init(&t->clk, VCLOCK_DEFAULT_HZ);
	for (unsigned i = 0; i < nharts; i++) {
		struct hart_config cfg = {
			.hartid = i, .bus = &t->bus, .clock = &t->clk, .reset_pc = RAM_BASE,
		};
		t->h[i] = hart_new(&cfg);
		if (!t->h[i])
			return -1;
	}
	t->at = RAM_BASE;
	return 0;
}

/* One hart that translates (a code cache of cache_bytes), as the JIT's
 * tests want it. */
static inline int tm_init_translating(struct tmach *t, size_t cache_bytes)
{
	if (tm_init(t, 1))
		return -1;
	hart_free(t->h[0]);
	struct hart_config cfg = { .hartid = 0, .bus = &t->bus, .clock = &t->clk,
				   .reset_pc = RAM_BASE, .jit_cache_bytes = cache_bytes };
	t->h[0] = hart_new(&cfg);
	return t->h[0] ? 0 : -1;
}

static inline void tm_fini(struct tmach *t)
{
	for (unsigned i = 0; i < 2; i++)
		hart_free(t->h[i]);
	bus_destroy(&t->bus);
}

static inline void tm_w32(struct tmach *t, uint64_t pa, uint32_t v)
{
	bus_write_guest(&t->bus, pa, &v, 4);
}
static inline void tm_w16(struct tmach *t, uint64_t pa, uint16_t v)
{
	bus_write_guest(&t->bus, pa, &v, 2);
}
static inline void tm_w64(struct tmach *t, uint64_t pa, uint64_t v)
{
	bus_write_guest(&t->bus, pa, &v, 8);
}
static inline uint64_t tm_r64(struct tmach *t, uint64_t pa)
{
	uint64_t v = 0;
	bus_read_guest(&t->bus, pa, &v, 8);
	return v;
}
static inline void tm_org(struct tmach *t, uint64_t pa) { t->at = pa; }
static inline void tm_emit(struct tmach *t, uint32_t insn)
{
	tm_w32(t, t->at, insn);
	t->at += 4;
}
static inline void tm_emitc(struct tmach *t, uint16_t insn)
{
	tm_w16(t, t->at, insn);
	t->at += 2;
}
/* Loads a 64-bit constant into rd with LUI/ADDI/SLLI (at most 8 insns). */
static inline void tm_li(struct tmach *t, unsigned rd, uint64_t v)
{
	int64_t s = (int64_t)v;
	if (s >= INT32_MIN && s <= INT32_MAX) {
		int32_t lo = (int32_t)((uint32_t)s << 20) >> 20;
		uint32_t hi = (uint32_t)((s - lo) & 0xfffff000);
		if (hi) {
			tm_emit(t, LUI(rd, hi));
			if (lo)
				tm_emit(t, ADDIW(rd, rd, lo));
		} else {
			tm_emit(t, ADDI(rd, 0, lo));
		}
		return;
	}
	/* Top 32 bits, then shift in the low 32 in 11-bit-or-smaller pieces. */
	tm_li(t, rd, (uint64_t)(int64_t)(int32_t)(v >> 32));
	uint32_t low = (uint32_t)v;
	tm_emit(t, SLLI(rd, rd, 11)); tm_emit(t, ORI(rd, rd, (int32_t)(low >> 21)));
	tm_emit(t, SLLI(rd, rd, 11)); tm_emit(t, ORI(rd, rd, (int32_t)((low >> 10) & 0x7ff)));
	tm_emit(t, SLLI(rd, rd, 10)); tm_emit(t, ORI(rd, rd, (int32_t)(low & 0x3ff)));
}

/* Steps until pc == stop or n steps were taken; returns steps. */
static inline uint64_t tm_run_to(struct hart *h, uint64_t stop, uint64_t n)
{
	uint64_t done = 0;
	while (done < n && hart_pc(h) != stop) {
		uint64_t d = hart_step(h, 1);
		if (d == 0)
			break;
		done += d;
	}
	return done;
}

#endif
