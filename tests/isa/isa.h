/*
 * isa.h: shared macros for the bare-metal ISA conformance tests (tests/isa).
 *
 * Every test is linked with lib/runtime.S, which starts each hart in M-mode
 * at 0x80000000, opens PMP entry 0 to all memory (so S/U can run), sets
 * mstatus.FS = Initial, installs the recording trap handlers (M: mtvec, S:
 * stvec) and calls `test_main` on hart 0.  A test ends with PASS, or fails
 * with the number of the first CHECK that did not hold.  The verdict is
 * reported, in this order, as: a line on the UART (failures only), a store
 * to `tohost` (1 = pass, (n << 1) | 1 = check n failed), a write to the
 * SiFive test finisher at 0x100000 (0x5555 / 0x3333 | n << 16), then a loop.
 *
 * Conventions (assembly):
 *  - Comments are // or C style: the file goes through cpp.
 *  - CHECK(reg, expected) compares a register with a constant; checks are
 *    numbered 1, 2, ... in source order (253 at most).  CHECK uses and
 *    clobbers t6 (so it cannot test t6) and only works in M-mode; from S/U
 *    code use CHECK_LOW (it escapes to M with ecall).
 *  - Failure numbers 254 and 255 are "unexpected trap" in S and M.
 *  - A trap is fatal unless armed: EXPECT_TRAP makes the next exception
 *    recorded and skipped (mepc advanced past the 2- or 4-byte instruction);
 *    EXPECT_TRAP_TO label resumes at `label` instead (needed for instruction
 *    fetch faults).  Interrupts are always recorded, and the handler clears
 *    the interrupt's enable bit in mie (sie) so that a level source does not
 *    storm.  The record (count, cause, tval, epc, status at entry) lives in
 *    isa_mstate / isa_sstate at the ISA_T_* offsets.
 *  - The trap handlers and the macros below clobber t5 and t6 only.  The
 *    handlers depend on mscratch/sscratch: a test that uses them must restore
 *    them before the next trap.
 *  - GOTO_S/GOTO_U label: mret into that mode.  TO_M: from S or U, get back
 *    to M-mode at the next instruction (an ecall the M handler recognises).
 *  - A test that installs its own mtvec must restore isa_trap_m before CHECK.
 *
 * In C (a test defines `int test_main(void)`, returning 0 for pass): CHECK(got,
 * expected) returns early through isa_check_fail with an automatic number.
 */
#ifndef ISA_H
#define ISA_H

#define ISA_MAGIC_FAIL    0x1de7fa11
#define ISA_MAGIC_RETM    0x1de7be7a
#define ISA_MAGIC_RETM_AT 0x1de7be7b
#define ISA_FAIL_MTRAP    255
#define ISA_FAIL_STRAP    254

/* virt board memory map (QEMU hw/riscv/virt.c) */
#define FINISHER_BASE   0x100000
#define CLINT_BASE      0x2000000
#define CLINT_MSIP(h)     (CLINT_BASE + 4 * (h))
#define CLINT_MTIMECMP(h) (CLINT_BASE + 0x4000 + 8 * (h))
#define CLINT_MTIME       (CLINT_BASE + 0xbff8)
#define PLIC_BASE       0xc000000
#define UART_BASE       0x10000000
#define RAM_BASE        0x80000000

/* mstatus / sstatus */
#define MSTATUS_SIE   (1 << 1)
#define MSTATUS_MIE   (1 << 3)
#define MSTATUS_SPIE  (1 << 5)
#define MSTATUS_MPIE  (1 << 7)
#define MSTATUS_SPP   (1 << 8)
#define MSTATUS_MPP   (3 << 11)
#define MSTATUS_MPP_S (1 << 11)
#define MSTATUS_FS    (3 << 13)
#define MSTATUS_FS_INITIAL (1 << 13)
#define MSTATUS_FS_CLEAN   (2 << 13)
#define MSTATUS_FS_DIRTY   (3 << 13)
#define MSTATUS_MPRV  (1 << 17)
#define MSTATUS_SUM   (1 << 18)
#define MSTATUS_MXR   (1 << 19)
#define MSTATUS_TVM   (1 << 20)
#define MSTATUS_TW    (1 << 21)
#define MSTATUS_TSR   (1 << 22)
#define MSTATUS_SD    (1 << 63)

/* interrupt numbers (bit in mip/mie) */
#define IRQ_S_SOFT   1
#define IRQ_M_SOFT   3
#define IRQ_S_TIMER  5
#define IRQ_M_TIMER  7
#define IRQ_S_EXT    9
#define IRQ_M_EXT    11
#define MIP_SSIP (1 << IRQ_S_SOFT)
#define MIP_MSIP (1 << IRQ_M_SOFT)
#define MIP_STIP (1 << IRQ_S_TIMER)
#define MIP_MTIP (1 << IRQ_M_TIMER)
#define MIP_SEIP (1 << IRQ_S_EXT)
#define MIP_MEIP (1 << IRQ_M_EXT)
#define CAUSE_IRQ (1 << 63)

/* exception causes */
#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS     1
#define CAUSE_ILLEGAL          2
#define CAUSE_BREAKPOINT       3
#define CAUSE_MISALIGNED_LOAD  4
#define CAUSE_LOAD_ACCESS      5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS     7
#define CAUSE_ECALL_U          8
#define CAUSE_ECALL_S          9
#define CAUSE_ECALL_M          11
#define CAUSE_FETCH_PAGE       12
#define CAUSE_LOAD_PAGE        13
#define CAUSE_STORE_PAGE       15

/* CSRs binutils may not name */
#define CSR_MENVCFG  0x30a
#define CSR_STIMECMP 0x14d

/* page table entries */
#define PTE_V (1 << 0)
#define PTE_R (1 << 1)
#define PTE_W (1 << 2)
#define PTE_X (1 << 3)
#define PTE_U (1 << 4)
#define PTE_G (1 << 5)
#define PTE_A (1 << 6)
#define PTE_D (1 << 7)
#define SATP_SV39 (8 << 60)
#define SATP_SV48 (9 << 60)
#define SATP_SV57 (10 << 60)

/* trap record layout (isa_mstate, isa_sstate) */
#define ISA_T_COUNT   0
#define ISA_T_CAUSE   8
#define ISA_T_TVAL    16
#define ISA_T_EPC     24
#define ISA_T_STATUS  32
#define ISA_T_EXPECT  40
#define ISA_T_RESUME  48
#define ISA_T_SIZE    64

#ifdef __ASSEMBLER__

.set isa_ncheck, 0

#define CHECK(reg, exp)     ISA_CHECK reg, exp, __LINE__, isa_fail
#define CHECK_LOW(reg, exp) ISA_CHECK reg, exp, __LINE__, isa_fail_low
/* compare a register with a link-time address */
#define CHECK_ADDR(reg, sym) ISA_CHECK_ADDR reg, sym, __LINE__

.macro ISA_NEXT_CHECK
	.set isa_ncheck, isa_ncheck + 1
	.if isa_ncheck > 253
	.error "more than 253 CHECKs in one test"
	.endif
.endm

.macro ISA_CHECK reg, exp, line, failsym
	.ifc \reg, t6
	.error "CHECK cannot test t6"
	.endif
	.ifc \reg, x31
	.error "CHECK cannot test x31"
	.endif
	ISA_NEXT_CHECK
	li t6, \exp
	beq \reg, t6, .Lisa_ok\@
	mv a1, \reg
	li a2, \exp
	li a0, isa_ncheck
	li a3, \line
	j \failsym
.Lisa_ok\@:
.endm

.macro ISA_CHECK_ADDR reg, sym, line
	ISA_NEXT_CHECK
	la t6, \sym
	beq \reg, t6, .Lisa_ok\@
	mv a1, \reg
	la a2, \sym
	li a0, isa_ncheck
	li a3, \line
	j isa_fail
.Lisa_ok\@:
.endm

/* unconditional failure with its own number */
#define FAIL() ISA_FAILNOW __LINE__
.macro ISA_FAILNOW line
	ISA_NEXT_CHECK
	li a0, isa_ncheck
	li a1, 0
	li a2, 0
	li a3, \line
	j isa_fail
.endm

#define PASS() ISA_PASS
.macro ISA_PASS
	li a0, 0
	j isa_report
.endm

/* the entry point called on hart 0 */
#define TEST_MAIN() .text; .globl test_main; .balign 4; test_main:
/* optional: harts other than 0, woken by an MSIP from hart 0, a0 = hartid */
#define TEST_SECONDARY() .text; .globl test_secondary; .balign 4; test_secondary:

/* trap expectations (M and S handlers) */
.macro ISA_ARM state
	la t6, \state
	li t5, 1
	sd t5, ISA_T_EXPECT(t6)
	sd zero, ISA_T_RESUME(t6)
	li t5, -1
	sd t5, ISA_T_CAUSE(t6)
	sd t5, ISA_T_TVAL(t6)
	sd t5, ISA_T_EPC(t6)
.endm
.macro EXPECT_TRAP
	ISA_ARM isa_mstate
.endm
.macro EXPECT_TRAP_TO label
	ISA_ARM isa_mstate
	la t5, \label
	sd t5, ISA_T_RESUME(t6)
.endm
/* resume address given in a register (e.g. a virtual alias) */
.macro EXPECT_TRAP_TO_REG reg
	ISA_ARM isa_mstate
	sd \reg, ISA_T_RESUME(t6)
.endm
.macro EXPECT_STRAP
	ISA_ARM isa_sstate
.endm
.macro EXPECT_STRAP_TO label
	ISA_ARM isa_sstate
	la t5, \label
	sd t5, ISA_T_RESUME(t6)
.endm
/* forget any record (e.g. before waiting for an interrupt) */
.macro TRAP_CLEAR state=isa_mstate
	la t6, \state
	sd zero, ISA_T_COUNT(t6)
	li t5, -1
	sd t5, ISA_T_CAUSE(t6)
	sd t5, ISA_T_TVAL(t6)
	sd t5, ISA_T_EPC(t6)
	sd zero, ISA_T_EXPECT(t6)
	sd zero, ISA_T_RESUME(t6)
.endm

/* load a field of a trap record: LOAD_TRAP reg, ISA_T_CAUSE [, isa_sstate] */
.macro LOAD_TRAP reg, field, state=isa_mstate
	la \reg, \state
	ld \reg, \field(\reg)
.endm
#define CHECK_MCAUSE(c)      LOAD_TRAP t5, ISA_T_CAUSE; CHECK(t5, c)
#define CHECK_MTVAL(v)       LOAD_TRAP t5, ISA_T_TVAL; CHECK(t5, v)
#define CHECK_MEPC_AT(sym)   LOAD_TRAP t5, ISA_T_EPC; CHECK_ADDR(t5, sym)
#define CHECK_MTVAL_AT(sym)  LOAD_TRAP t5, ISA_T_TVAL; CHECK_ADDR(t5, sym)
#define CHECK_MCOUNT(n)      LOAD_TRAP t5, ISA_T_COUNT; CHECK(t5, n)
#define CHECK_SCAUSE(c)      LOAD_TRAP t5, ISA_T_CAUSE, isa_sstate; CHECK(t5, c)
#define CHECK_STVAL(v)       LOAD_TRAP t5, ISA_T_TVAL, isa_sstate; CHECK(t5, v)
#define CHECK_SEPC_AT(sym)   LOAD_TRAP t5, ISA_T_EPC, isa_sstate; CHECK_ADDR(t5, sym)
#define CHECK_SCOUNT(n)      LOAD_TRAP t5, ISA_T_COUNT, isa_sstate; CHECK(t5, n)

/* privilege changes */
.macro GOTO_MODE mode, label
	li t6, MSTATUS_MPP
	csrc mstatus, t6
	li t6, (\mode) << 11
	csrs mstatus, t6
	la t6, \label
	csrw mepc, t6
	mret
.endm
#define GOTO_S(label) GOTO_MODE 1, label
#define GOTO_U(label) GOTO_MODE 0, label
/* from S/U: continue in M-mode at the next instruction (clobbers t5, t6) */
#define TO_M() li t6, ISA_MAGIC_RETM; ecall

/* PTE_SET table, index, reg_with_physical_address, flags: clobbers t5, t6 */
.macro PTE_SET table, idx, preg, flags
	srli t5, \preg, 12
	slli t5, t5, 10
	ori t5, t5, \flags
	la t6, \table + (\idx) * 8
	sd t5, 0(t6)
.endm
/* pointer to a next-level table: PTE_LINK table, index, next_table */
.macro PTE_LINK table, idx, next
	la t5, \next
	srli t5, t5, 12
	slli t5, t5, 10
	ori t5, t5, PTE_V
	la t6, \table + (\idx) * 8
	sd t5, 0(t6)
.endm
/* leaf with a constant physical address */
.macro PTE_LEAF table, idx, paddr, flags
	li t5, ((\paddr) >> 12) << 10 | (\flags)
	la t6, \table + (\idx) * 8
	sd t5, 0(t6)
.endm
/* satp = mode | root >> 12, then sfence.vma */
.macro SATP_SET mode, root
	la t5, \root
	srli t5, t5, 12
	li t6, \mode
	or t5, t5, t6
	csrw satp, t5
	sfence.vma
.endm


/* a zeroed 4 KiB page in the page-table area: PAGE name (at file scope) */
.macro PAGE name
	.pushsection .pagetables, "aw", @nobits
	.balign 4096
\name:	.space 4096
	.popsection
.endm
/* PAGE_ZERO name: clear it at run time (clobbers t5, t6) */
.macro PAGE_ZERO name
	la t5, \name
	li t6, 4096
	add t6, t6, t5
.Lisa_pz\@:
	sd zero, 0(t5)
	addi t5, t5, 8
	bltu t5, t6, .Lisa_pz\@
.endm
/* load a PTE for inspection: PTE_GET reg, table, index */
.macro PTE_GET reg, table, idx
	la \reg, \table + (\idx) * 8
	ld \reg, 0(\reg)
.endm

/* floating point: load constants by bit pattern, check results (t5 clobbered) */
#define FFLAG_NX 1
#define FFLAG_UF 2
#define FFLAG_OF 4
#define FFLAG_DZ 8
#define FFLAG_NV 16
.macro FLI_S freg, bits
	li t5, \bits
	fmv.w.x \freg, t5
.endm
.macro FLI_D freg, bits
	li t5, \bits
	fmv.d.x \freg, t5
.endm
/* a single result must also be NaN-boxed: check all 64 bits */
#define CHECK_S(freg, bits) fmv.x.d t5, freg; CHECK(t5, 0xffffffff00000000 | (bits))
#define CHECK_D(freg, bits) fmv.x.d t5, freg; CHECK(t5, bits)
/* check the accrued flags, then clear them */
#define CHECK_FFLAGS(f) frflags t5; CHECK(t5, f); fsflags zero

#else /* C */

#include <stdint.h>

__attribute__((noreturn)) void isa_check_fail(long n, uint64_t got, uint64_t exp, long line);

#define CHECK(got, exp) do { \
	uint64_t isa_got_ = (uint64_t)(got), isa_exp_ = (uint64_t)(exp); \
	if (isa_got_ != isa_exp_) \
		isa_check_fail(__COUNTER__ + 1, isa_got_, isa_exp_, __LINE__); \
} while (0)

#endif
#endif
