/*
 * deleg: privilege transitions and trap delegation (privileged spec 3.1.6.1,
 * 3.1.8, 3.3.2, 4.1.1): a trap into M sets MPIE = MIE, MIE = 0, MPP = the
 * old mode; MRET sets MIE = MPIE, MPIE = 1, MPP = U and clears MPRV when
 * leaving M; SRET likewise with SIE/SPIE/SPP; medeleg sends exceptions from
 * S/U to the S handler (never from M); mideleg sends the S software
 * interrupt to S, where it is taken in S/U and never in M; TSR, TW and TVM.
 */
#include "isa.h"

#define MPP_OF(reg) srli reg, reg, 11; andi reg, reg, 3

TEST_MAIN()
	.option push
	.option norvc
	// trap entry from M: MPIE = MIE (1), MIE = 0, MPP = M; mret restores MIE
	csrsi mstatus, MSTATUS_MIE
	EXPECT_TRAP
	ecall
	LOAD_TRAP a5, ISA_T_STATUS
	andi a4, a5, MSTATUS_MIE | MSTATUS_MPIE
	CHECK(a4, MSTATUS_MPIE)
	MPP_OF(a5)
	CHECK(a5, 3)
	csrr a5, mstatus
	andi a5, a5, MSTATUS_MIE
	CHECK(a5, MSTATUS_MIE)
	csrci mstatus, MSTATUS_MIE

	// MRET to M with MPIE = 0: MIE = 0, MPIE = 1, MPP = U afterwards
	li a4, MSTATUS_MPP
	csrs mstatus, a4
	li a4, MSTATUS_MPIE | MSTATUS_MIE
	csrc mstatus, a4
	la a4, 1f
	csrw mepc, a4
	mret
1:	csrr a5, mstatus
	andi a4, a5, MSTATUS_MIE | MSTATUS_MPIE
	CHECK(a4, MSTATUS_MPIE)
	MPP_OF(a5)
	CHECK(a5, 0)

	// MRET to S clears MPRV
	li a4, MSTATUS_MPRV
	csrs mstatus, a4
	GOTO_S(2f)
2:	TO_M()
	LOAD_TRAP a5, ISA_T_STATUS
	li a4, MSTATUS_MPRV
	and a5, a5, a4
	CHECK(a5, 0)

	// SRET: SIE = SPIE, SPIE = 1, SPP = U; to S when SPP = S
	li a4, MSTATUS_SPP | MSTATUS_SIE
	csrs mstatus, a4
	li a4, MSTATUS_SPIE
	csrc mstatus, a4
	la a4, 4f
	csrw sepc, a4
	GOTO_S(3f)
3:	sret                              // S -> S
4:	csrr s2, sstatus                  // still S: sstatus is readable
	// SRET with SPP = U goes to U: the next ecall is cause 8
	la a4, 5f
	csrw sepc, a4
	sret
5:	EXPECT_TRAP
	ecall
	TO_M()
	andi a4, s2, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP
	CHECK(a4, MSTATUS_SPIE)
	CHECK_MCAUSE(CAUSE_ECALL_U)

	// medeleg: ecall from U, breakpoint and illegal instruction go to S
	li a4, (1 << CAUSE_ECALL_U) | (1 << CAUSE_BREAKPOINT) | (1 << CAUSE_ILLEGAL)
	csrw medeleg, a4
	TRAP_CLEAR
	TRAP_CLEAR isa_sstate
	csrsi mstatus, MSTATUS_SIE
	GOTO_U(6f)
6:	EXPECT_STRAP
7:	ecall
	TO_M()                            // (the S handler forwards it)
	CHECK_SCAUSE(CAUSE_ECALL_U)
	CHECK_SEPC_AT(7b)
	LOAD_TRAP a5, ISA_T_STATUS, isa_sstate
	andi a5, a5, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP
	CHECK(a5, MSTATUS_SPIE)           // SPIE = old SIE (1), SIE = 0, SPP = U
	CHECK_MCOUNT(0)
	// from S into S: SPP = S
	GOTO_S(8f)
8:	EXPECT_STRAP
9:	ebreak
	EXPECT_STRAP
10:	.word 0xfe000033
	TO_M()
	CHECK_SCAUSE(CAUSE_ILLEGAL)
	CHECK_SEPC_AT(10b)
	CHECK_STVAL(0xfe000033)
	CHECK_SCOUNT(3)
	LOAD_TRAP a5, ISA_T_STATUS, isa_sstate
	andi a5, a5, MSTATUS_SPP
	CHECK(a5, MSTATUS_SPP)
	// traps from M are never delegated
	EXPECT_TRAP
11:	ebreak
	CHECK_MCAUSE(CAUSE_BREAKPOINT)
	CHECK_MCOUNT(1)
	CHECK_SCOUNT(3)
	csrw medeleg, zero

	// mideleg: SSIP pending and enabled is not taken in M ...
	li a4, MIP_SSIP
	csrw mideleg, a4
	TRAP_CLEAR
	TRAP_CLEAR isa_sstate
	csrw mie, a4
	csrs mip, a4
	csrsi mstatus, MSTATUS_MIE
	nop
	nop
	csrci mstatus, MSTATUS_MIE
	CHECK_MCOUNT(0)
	// ... but taken by S as soon as S runs with SIE = 1
	csrsi mstatus, MSTATUS_SIE
	GOTO_S(12f)
12:	nop
	csrci sip, MIP_SSIP
	TO_M()
	CHECK_SCOUNT(1)
	CHECK_SCAUSE(CAUSE_IRQ | IRQ_S_SOFT)
	CHECK_SEPC_AT(12b)
	CHECK_MCOUNT(0)
	// in U it is taken even with SIE = 0
	csrci mstatus, MSTATUS_SIE
	li a4, MIP_SSIP
	csrs mie, a4                      // (the S handler masked it)
	csrs mip, a4
	GOTO_U(13f)
13:	nop
	TO_M()
	CHECK_SCOUNT(2)
	CHECK_SCAUSE(CAUSE_IRQ | IRQ_S_SOFT)
	li a4, MIP_SSIP
	csrc mip, a4
	// not delegated: the same interrupt taken in S goes to M
	csrw mideleg, zero
	TRAP_CLEAR
	csrs mie, a4
	csrs mip, a4
	GOTO_S(14f)
14:	nop
	TO_M()
	CHECK_MCOUNT(1)
	CHECK_MCAUSE(CAUSE_IRQ | IRQ_S_SOFT)
	li a4, MIP_SSIP
	csrc mip, a4
	csrw mie, zero

	// TSR: SRET in S is illegal; TW: WFI in S is illegal; TVM: satp and
	// sfence.vma in S are illegal
	li a4, MSTATUS_TSR | MSTATUS_TW | MSTATUS_TVM
	csrs mstatus, a4
	TRAP_CLEAR
	GOTO_S(15f)
15:	EXPECT_TRAP
16:	sret
	EXPECT_TRAP
	wfi
	EXPECT_TRAP
	csrr a5, satp
	EXPECT_TRAP
17:	sfence.vma
	TO_M()
	CHECK_MCOUNT(4)
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	CHECK_MEPC_AT(17b)
	li a4, MSTATUS_TSR | MSTATUS_TW | MSTATUS_TVM
	csrc mstatus, a4
	.option pop
	PASS()
