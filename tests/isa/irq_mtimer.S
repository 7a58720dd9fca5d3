/*
 * irq_mtimer: machine timer interrupt (ACLINT MTIMER; priv. spec 3.2.1):
 * mip.MTIP is pending while mtime >= mtimecmp[hart], read-only in mip; the
 * interrupt arrives with mcause = 2^63 | 7 once mtime reaches mtimecmp;
 * moving mtimecmp ahead clears it; mtime advances.  A change of mtimecmp
 * may take a little while to show in mip (the spec sets no latency), so the
 * level checks poll mip for up to ~1M iterations.
 */
#include "isa.h"

/* WAIT_MIP bit, want: poll until (mip & bit) == want, bounded; a5 = mip & bit */
.macro WAIT_MIP bit, want
	li a7, 1000000
.Lwm\@:
	csrr a5, mip
	andi a5, a5, \bit
	li a6, \want
	beq a5, a6, .Lwmdone\@
	addi a7, a7, -1
	bnez a7, .Lwm\@
.Lwmdone\@:
.endm

TEST_MAIN()
	TRAP_CLEAR
	li s0, CLINT_MTIMECMP(0)
	li s1, CLINT_MTIME
	li a4, -1
	sd a4, 0(s0)
	ld a5, 0(s0)
	CHECK(a5, -1)
	csrr a5, mip
	andi a5, a5, MIP_MTIP
	CHECK(a5, 0)
	// mtimecmp in the past: pending at once (level)
	sd zero, 0(s0)
	WAIT_MIP MIP_MTIP, MIP_MTIP
	CHECK(a5, MIP_MTIP)
	li a4, MIP_MTIP
	csrc mip, a4                      // read-only in mip
	csrr a5, mip
	andi a5, a5, MIP_MTIP
	CHECK(a5, MIP_MTIP)
	li a4, -1
	sd a4, 0(s0)
	WAIT_MIP MIP_MTIP, 0
	CHECK(a5, 0)

	// a deadline 1 ms ahead (10 MHz timebase): wait for the interrupt
	li a4, MIP_MTIP
	csrw mie, a4
	ld s2, 0(s1)
	li a4, 10000
	add s2, s2, a4
	sd s2, 0(s0)
	csrsi mstatus, MSTATUS_MIE
	li a4, 100000000
	la a6, isa_mstate
1:	ld a5, ISA_T_COUNT(a6)
	bnez a5, 2f
	addi a4, a4, -1
	bnez a4, 1b
2:	csrci mstatus, MSTATUS_MIE
	CHECK_MCOUNT(1)
	CHECK_MCAUSE(CAUSE_IRQ | IRQ_M_TIMER)
	ld a5, 0(s1)
	sltu a5, a5, s2
	CHECK(a5, 0)                      // not before the deadline
	csrr a5, mip
	andi a5, a5, MIP_MTIP
	CHECK(a5, MIP_MTIP)               // still pending (masked in mie by the handler)
	li a4, -1
	sd a4, 0(s0)
	WAIT_MIP MIP_MTIP, 0
	CHECK(a5, 0)
	// 32-bit halves of mtimecmp are separately writable
	li a4, -1
	sw a4, 0(s0)
	sw zero, 4(s0)
	ld a5, 0(s0)
	CHECK(a5, 0xffffffff)
	li a4, -1
	sd a4, 0(s0)
	PASS()
