/*
 * irq_priority_spec: interrupt priority where it differs from bit order
 * (privileged spec 3.1.9: MEI > MSI > MTI > SEI > SSI > STI): MTIP and a
 * non-delegated SSIP pending in M: 7 before 1; SEIP and SSIP (set in mip by
 * M, delegated) pending in S: 9 before 1.
 *
 * isa-skip-qemu: QEMU 7.2 without AIA takes the lowest-numbered pending interrupt first
 */
#include "isa.h"
#include "irq_priority.inc"

TEST_MAIN()
	li a4, CLINT_MTIMECMP(0)
	sd zero, 0(a4)
	li a4, MIP_SSIP
	csrs mip, a4
	WAIT_MIP MIP_MTIP | MIP_SSIP
	LOG_CLEAR
	TAKE_M MIP_MTIP | MIP_SSIP
	LOG_CHECK 2, CAUSE_IRQ | IRQ_M_TIMER, CAUSE_IRQ | IRQ_S_SOFT
	li a4, CLINT_MTIMECMP(0)
	li a5, -1
	sd a5, 0(a4)
	li a4, MIP_SSIP
	csrc mip, a4

	LOG_CLEAR
	TAKE_S MIP_SEIP | MIP_SSIP
	LOG_CHECK 2, CAUSE_IRQ | IRQ_S_EXT, CAUSE_IRQ | IRQ_S_SOFT
	PASS()
