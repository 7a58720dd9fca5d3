/*
 * irq_sstc: the Sstc extension (stimecmp, CSR 0x14d): with menvcfg.STCE = 1
 * and mcounteren.TM = 1, S-mode programs stimecmp; mip.STIP is pending while
 * time >= stimecmp; delegated through mideleg.STIP the timer interrupt is
 * taken in S with scause = 2^63 | 5; moving stimecmp ahead clears STIP.
 * With STCE = 0, S-mode access to stimecmp is an illegal instruction.
 */
#include "isa.h"

#define MENVCFG_STCE (1 << 63)

TEST_MAIN()
	li a4, MENVCFG_STCE
	csrs CSR_MENVCFG, a4
	csrr a5, CSR_MENVCFG
	and a5, a5, a4
	CHECK(a5, MENVCFG_STCE)
	li a4, -1
	csrw CSR_STIMECMP, a4
	csrr a5, CSR_STIMECMP
	CHECK(a5, -1)
	csrr a5, mip
	andi a5, a5, MIP_STIP
	CHECK(a5, 0)

	TRAP_CLEAR
	TRAP_CLEAR isa_sstate
	li a4, MIP_STIP
	csrw mideleg, a4
	csrw mie, a4
	GOTO_S(1f)
	// S-mode: deadline 1 ms ahead, wait with SIE = 1
1:	rdtime s2
	li a4, 10000
	add s2, s2, a4
	csrw CSR_STIMECMP, s2
	csrr s3, sip                      // before the deadline: not pending
	csrsi sstatus, MSTATUS_SIE
	li a4, 100000000
	la a6, isa_sstate
2:	ld a5, ISA_T_COUNT(a6)
	bnez a5, 3f
	addi a4, a4, -1
	bnez a4, 2b
3:	csrci sstatus, MSTATUS_SIE
	rdtime s4
	csrr s5, sip                      // still pending
	li a4, -1
	csrw CSR_STIMECMP, a4
	csrr s6, sip                      // cleared
	TO_M()
	andi a5, s3, MIP_STIP
	CHECK(a5, 0)
	CHECK_SCOUNT(1)
	CHECK_SCAUSE(CAUSE_IRQ | IRQ_S_TIMER)
	CHECK_MCOUNT(0)
	sltu a5, s4, s2
	CHECK(a5, 0)                      // not before the deadline
	andi a5, s5, MIP_STIP
	CHECK(a5, MIP_STIP)
	andi a5, s6, MIP_STIP
	CHECK(a5, 0)

	// not delegated: the S timer interrupt goes to M when running in S
	csrw mideleg, zero
	li a4, MIP_STIP
	csrw mie, a4
	csrw CSR_STIMECMP, zero
	GOTO_S(4f)
4:	nop
	TO_M()
	CHECK_MCOUNT(1)
	CHECK_MCAUSE(CAUSE_IRQ | IRQ_S_TIMER)
	li a4, -1
	csrw CSR_STIMECMP, a4
	csrw mie, zero

	// STCE = 0: stimecmp is not accessible from S
	li a4, MENVCFG_STCE
	csrc CSR_MENVCFG, a4
	GOTO_S(5f)
5:	EXPECT_TRAP
6:	csrr a5, CSR_STIMECMP
	TO_M()
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	CHECK_MEPC_AT(6b)
	PASS()
