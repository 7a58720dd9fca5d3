/*
 * irq_msip: machine software interrupt from the CLINT (ACLINT MSWI; priv.
 * spec 3.1.9): msip[hart] has one writable bit; writing 1 makes mip.MSIP
 * pending (read-only in mip); the interrupt is taken only with mie.MSIE and
 * mstatus.MIE set, with mcause = 2^63 | 3 and mepc at the next instruction
 * to execute; writing 0 clears it.
 */
#include "isa.h"

TEST_MAIN()
	TRAP_CLEAR
	li s0, CLINT_MSIP(0)
	lw a5, 0(s0)
	CHECK(a5, 0)
	li a4, -1
	sw a4, 0(s0)
	lw a5, 0(s0)
	CHECK(a5, 1)                      // only bit 0 is implemented
	csrr a5, mip
	andi a5, a5, MIP_MSIP
	CHECK(a5, MIP_MSIP)
	csrci mip, MIP_MSIP               // read-only in mip
	csrr a5, mip
	andi a5, a5, MIP_MSIP
	CHECK(a5, MIP_MSIP)
	// pending but not enabled: nothing happens
	csrsi mstatus, MSTATUS_MIE
	nop
	csrci mstatus, MSTATUS_MIE
	li a4, MIP_MSIP
	csrw mie, a4
	nop
	CHECK_MCOUNT(0)
	// enabled: taken right after MIE is set
	csrsi mstatus, MSTATUS_MIE
1:	nop
	csrci mstatus, MSTATUS_MIE
	CHECK_MCOUNT(1)
	CHECK_MCAUSE(CAUSE_IRQ | IRQ_M_SOFT)
	CHECK_MEPC_AT(1b)
	LOAD_TRAP a5, ISA_T_STATUS
	andi a5, a5, MSTATUS_MIE | MSTATUS_MPIE
	CHECK(a5, MSTATUS_MPIE)           // MIE was 1, now 0 in the handler
	// clear: mip.MSIP drops
	sw zero, 0(s0)
	lw a5, 0(s0)
	CHECK(a5, 0)
	csrr a5, mip
	andi a5, a5, MIP_MSIP
	CHECK(a5, 0)
	li a4, MIP_MSIP
	csrw mie, a4
	csrsi mstatus, MSTATUS_MIE
	nop
	csrci mstatus, MSTATUS_MIE
	CHECK_MCOUNT(1)
	// taken from S-mode regardless of mstatus.MIE
	li a4, 1
	sw a4, 0(s0)
	GOTO_S(2f)
2:	nop
	TO_M()
	CHECK_MCOUNT(2)
	CHECK_MCAUSE(CAUSE_IRQ | IRQ_M_SOFT)
	LOAD_TRAP a5, ISA_T_STATUS
	srli a5, a5, 11
	andi a5, a5, 3
	CHECK(a5, 1)
	sw zero, 0(s0)
	PASS()
