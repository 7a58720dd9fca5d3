/*
 * wfi: WFI resumes when an enabled interrupt becomes pending even with
 * mstatus.MIE = 0, and then the interrupt is not taken (privileged spec
 * 3.3.3).  WFI may also return early, so it is used in a bounded loop on
 * mip; the test would hang (and time out) if WFI did not wake.
 */
#include "isa.h"

TEST_MAIN()
	TRAP_CLEAR
	csrci mstatus, MSTATUS_MIE
	// timer 1 ms ahead
	li s0, CLINT_MTIMECMP(0)
	li s1, CLINT_MTIME
	ld s2, 0(s1)
	li a4, 10000
	add s2, s2, a4
	sd s2, 0(s0)
	li a4, MIP_MTIP
	csrw mie, a4
	li s3, 100000                     // bound on spurious wake-ups
1:	wfi
	csrr a5, mip
	andi a5, a5, MIP_MTIP
	bnez a5, 2f
	addi s3, s3, -1
	bnez s3, 1b
2:	CHECK(a5, MIP_MTIP)
	ld a5, 0(s1)
	sltu a5, a5, s2
	CHECK(a5, 0)
	CHECK_MCOUNT(0)                   // MIE = 0: not taken
	li a4, -1
	sd a4, 0(s0)

	// software interrupt already pending: WFI returns, not taken
	li a4, MIP_MSIP
	csrw mie, a4
	li s0, CLINT_MSIP(0)
	li a4, 1
	sw a4, 0(s0)
	wfi
	csrr a5, mip
	andi a5, a5, MIP_MSIP
	CHECK(a5, MIP_MSIP)
	CHECK_MCOUNT(0)
	sw zero, 0(s0)

	// WFI in S with the S timer delegated and SIE = 0 wakes too
	li a4, 1 << 63
	csrs CSR_MENVCFG, a4
	li a4, MIP_STIP
	csrw mideleg, a4
	csrw mie, a4
	GOTO_S(3f)
3:	rdtime s2
	li a4, 10000
	add s2, s2, a4
	csrw CSR_STIMECMP, s2
	li s3, 100000
4:	wfi
	csrr a5, sip
	andi a5, a5, MIP_STIP
	bnez a5, 5f
	addi s3, s3, -1
	bnez s3, 4b
5:	li a4, -1
	csrw CSR_STIMECMP, a4
	TO_M()
	CHECK(a5, MIP_STIP)
	CHECK_SCOUNT(0)
	CHECK_MCOUNT(0)
	PASS()
