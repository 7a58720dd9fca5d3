/*
 * irq_priority: simultaneous pending interrupts are taken in the fixed
 * priority order MEI > MSI > MTI > SEI > SSI > STI (privileged spec 3.1.9):
 * MSIP and MTIP both pending: 3 then 7 in M; SSIP and STIP (set in mip by
 * M, delegated) both pending: 1 then 5 in S.  (The orders QEMU 7.2 gets
 * wrong are in irq_priority_spec.)
 */
#include "isa.h"
#include "irq_priority.inc"

TEST_MAIN()
	li a4, CLINT_MSIP(0)
	li a5, 1
	sw a5, 0(a4)
	li a4, CLINT_MTIMECMP(0)
	sd zero, 0(a4)
	WAIT_MIP MIP_MSIP | MIP_MTIP
	LOG_CLEAR
	TAKE_M MIP_MSIP | MIP_MTIP
	LOG_CHECK 2, CAUSE_IRQ | IRQ_M_SOFT, CAUSE_IRQ | IRQ_M_TIMER
	li a4, CLINT_MSIP(0)
	sw zero, 0(a4)
	li a4, CLINT_MTIMECMP(0)
	li a5, -1
	sd a5, 0(a4)

	LOG_CLEAR
	TAKE_S MIP_SSIP | MIP_STIP
	LOG_CHECK 2, CAUSE_IRQ | IRQ_S_SOFT, CAUSE_IRQ | IRQ_S_TIMER
	PASS()
