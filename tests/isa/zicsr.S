/*
 * zicsr: CSR instructions (unprivileged spec ch. 9, privileged spec 2.1):
 * CSRRW/CSRRS/CSRRC and the immediate forms return the old value and
 * write/set/clear; the 5-bit immediate is zero-extended; CSRRS/CSRRC with
 * rs1 = x0 (or uimm = 0) do not write, so they are legal on read-only CSRs,
 * while any form that writes a read-only CSR (even rd = x0) is an illegal instruction with mtval = its bits;
 * CSRs above the current privilege are illegal; misa and mstatus XLs.
 */
#include "isa.h"


TEST_MAIN()
	.option push
	.option norvc
	// CSRRW / CSRRS / CSRRC on sscratch (a plain read/write register)
	li a4, 0x0123456789abcdef
	csrw sscratch, a4
	li a6, 0xfedcba9876543210
	csrrw a5, sscratch, a6
	CHECK(a5, 0x0123456789abcdef)
	csrr a5, sscratch
	CHECK(a5, 0xfedcba9876543210)
	li a6, 0xff
	csrrs a5, sscratch, a6
	CHECK(a5, 0xfedcba9876543210)
	csrr a5, sscratch
	CHECK(a5, 0xfedcba98765432ff)
	li a6, 0xf0000000000000f0
	csrrc a5, sscratch, a6
	CHECK(a5, 0xfedcba98765432ff)
	csrr a5, sscratch
	CHECK(a5, 0x0edcba987654320f)
	// immediate forms: 5-bit zero-extended
	csrrwi a5, sscratch, 31
	CHECK(a5, 0x0edcba987654320f)
	csrr a5, sscratch
	CHECK(a5, 31)
	csrrci a5, sscratch, 0x11
	CHECK(a5, 31)
	csrr a5, sscratch
	CHECK(a5, 0x0e)
	csrrsi a5, sscratch, 0x10
	CHECK(a5, 0x0e)
	csrr a5, sscratch
	CHECK(a5, 0x1e)
	// rd = x0 still writes
	li a6, 1234
	csrrw zero, sscratch, a6
	csrr a5, sscratch
	CHECK(a5, 1234)
	// rs1 = x0 / uimm = 0 read without writing
	csrrs a5, sscratch, zero
	CHECK(a5, 1234)
	csrrci a5, sscratch, 0
	CHECK(a5, 1234)

	// read-only CSRs: reads legal, writes illegal
	csrrs a5, mhartid, zero
	CHECK(a5, 0)
	csrrsi a5, mhartid, 0
	CHECK(a5, 0)
	csrrc a5, mvendorid, zero
	csrrci a5, cycle, 0
	csrrs a5, instret, zero

	li a6, 0
	la s0, 1f
	EXPECT_TRAP
1:	csrrw zero, mhartid, a6
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	LOAD_TRAP a5, ISA_T_TVAL
	lwu a4, 0(s0)
	sub a5, a5, a4
	CHECK(a5, 0)
	la s0, 3f
	EXPECT_TRAP
3:	csrrwi zero, mimpid, 0
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	LOAD_TRAP a5, ISA_T_TVAL
	lwu a4, 0(s0)
	sub a5, a5, a4
	CHECK(a5, 0)
	la s0, 4f
	EXPECT_TRAP
4:	csrrci a5, time, 1
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	CHECK_MEPC_AT(4b)

	// misa: RV64 (MXL = 2) with I M A F D C S U
	csrr a5, misa
	srli a4, a5, 62
	CHECK(a4, 2)
	li a4, (1 << 8) | (1 << 12) | (1 << 0) | (1 << 5) | (1 << 3) | (1 << 2) | (1 << 18) | (1 << 20)
	and a5, a5, a4
	CHECK(a5, (1 << 8) | (1 << 12) | (1 << 0) | (1 << 5) | (1 << 3) | (1 << 2) | (1 << 18) | (1 << 20))
	// mstatus.UXL = SXL = 2 (64-bit lower modes)
	csrr a5, mstatus
	srli a5, a5, 32
	andi a5, a5, 15
	CHECK(a5, 0xa)
	// sstatus is a view of mstatus
	csrsi sstatus, MSTATUS_SIE
	csrr a5, mstatus
	andi a5, a5, MSTATUS_SIE
	CHECK(a5, MSTATUS_SIE)
	csrci mstatus, MSTATUS_SIE
	csrr a5, sstatus
	andi a5, a5, MSTATUS_SIE
	CHECK(a5, 0)
	// sstatus does not show M fields: setting MPP through it does nothing
	li a4, MSTATUS_MPP
	csrc mstatus, a4
	csrs sstatus, a4
	csrr a5, mstatus
	and a5, a5, a4
	CHECK(a5, 0)

	// S-mode: M CSRs are illegal, S CSRs fine
	GOTO_S(10f)
10:	csrr s2, sscratch
	la s0, 11f
	EXPECT_TRAP
11:	csrr s3, mscratch
	TO_M()
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	LOAD_TRAP a5, ISA_T_TVAL
	lwu a4, 0(s0)
	sub a5, a5, a4
	CHECK(a5, 0)
	LOAD_TRAP a5, ISA_T_STATUS
	srli a5, a5, 11
	andi a5, a5, 3
	CHECK(a5, 1)                      // trapped from S
	// U-mode: S CSRs are illegal
	GOTO_U(12f)
12:	la s0, 13f
	EXPECT_TRAP
13:	csrw sscratch, zero
	TO_M()
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	LOAD_TRAP a5, ISA_T_TVAL
	lwu a4, 0(s0)
	sub a5, a5, a4
	CHECK(a5, 0)
	csrr a5, sscratch
	CHECK(a5, 1234)                   // unchanged
	.option pop

	// restore sscratch for the S handler
	la a4, isa_ssave
	csrw sscratch, a4
	PASS()
