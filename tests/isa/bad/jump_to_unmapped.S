/*
 * bad/jump_to_unmapped: a guest with no trap handler (mtvec = 0) that jumps
 * to address 0, where the virt board has no memory: the fetch faults, the
 * trap vector is the same unmapped address, and so on forever.  Expected of
 * nimbus (tests/isa/run): exit non-zero within the timeout with a one-line
 * error naming the fault, no crash, no sanitizer report.  Not linked with
 * the test runtime.
 *
 * isa-expect-stderr: instruction access fault
 */
	.section .text.init, "ax", @progbits
	.globl _start
_start:
	csrr a0, mhartid
	bnez a0, park
	csrw mtvec, zero
	li t0, 0
	jr t0
park:	wfi
	j park

	.section .tohost, "aw", @progbits
	.balign 64
	.globl tohost
tohost:	.dword 0
