/*
 * bad/garbage: a guest that executes junk.  mtvec points at 128 bytes of
 * fixed pseudo-random words, then the hart executes the all-zero word (an
 * illegal instruction), so it traps into the junk, which traps again and
 * again.  Expected of nimbus (tests/isa/run): exit non-zero within the
 * timeout with a one-line error naming the fault, no crash, no sanitizer
 * report.  Not linked with the test runtime.
 *
 * isa-expect-stderr: illegal instruction|trap loop|fault
 */
	.section .text.init, "ax", @progbits
	.globl _start
_start:
	csrr a0, mhartid
	bnez a0, park
	la t0, junk
	csrw mtvec, t0
	.word 0x00000000
park:	wfi
	j park

	.data
	.balign 4
junk:
	.word 0x150711ec, 0x418850d5, 0xc3ec3497, 0xf6334971
	.word 0xc6800e0c, 0xfdf964ba, 0x3726a8f2, 0x1a76273b
	.word 0x209cd95c, 0x4075c872, 0x82e60e7c, 0xb36286ef
	.word 0x2051a367, 0xab4158ea, 0xe1044d66, 0x95d33196
	.word 0xe550affa, 0x7fcb1964, 0xd671a65e, 0xf44350a7
	.word 0x94b1e2bf, 0xdf9b507f, 0x7b892714, 0xbc5d4708
	.word 0x282cb6ea, 0x78a3ca87, 0xc7b4f14d, 0xe21de9eb
	.word 0x6095bea1, 0xa257ccc2, 0x77d31d1e, 0x30332ac9
