/*
 * fencei: self-modifying code (unprivileged spec ch. 3, Zifencei): after
 * stores to instruction memory and FENCE.I, the hart fetches the new
 * instructions: a 32-bit instruction patched in .text after it has run, a
 * 16-bit one, and code generated into a data buffer and rewritten several
 * times.
 */
#include "isa.h"

#define ADDI_A0(imm) (((imm) << 20) | 0x513)   /* addi a0, zero, imm */
#define C_LI_A0(imm) (0x4501 | ((imm) << 2))    /* c.li a0, imm (0..31) */
#define RET 0x00008067

	.text
	.option push
	.option norvc
	.balign 4
site32:	addi a0, zero, 1
	ret
	.option pop
	.option push
	.option rvc
	.balign 4
site16:	c.li a0, 5
	c.jr ra
	.option pop

	.bss
	.balign 64
codebuf: .space 64

TEST_MAIN()
	call site32
	CHECK(a0, 1)
	la a4, site32
	li a5, ADDI_A0(2)
	sw a5, 0(a4)
	fence.i
	call site32
	CHECK(a0, 2)
	li a5, ADDI_A0(-3)
	sw a5, 0(a4)
	fence.i
	call site32
	CHECK(a0, -3)

	call site16
	CHECK(a0, 5)
	la a4, site16
	li a5, C_LI_A0(7)
	sh a5, 0(a4)
	fence.i
	call site16
	CHECK(a0, 7)

	// generated code, rewritten 10 times
	la s0, codebuf
	li a5, RET
	sw a5, 4(s0)
	li s1, 0
1:	li a5, ADDI_A0(0)
	slli a6, s1, 20
	or a5, a5, a6
	sw a5, 0(s0)
	fence.i
	jalr s0
	bne a0, s1, 2f
	addi s1, s1, 1
	li a5, 10
	bne s1, a5, 1b
2:	CHECK(s1, 10)
	// a longer sequence: a0 = 0; 8 x addi a0, a0, 3
	li a5, ADDI_A0(0)
	sw a5, 0(s0)
	li a5, (3 << 20) | (10 << 15) | 0x513
	.irp n, 1, 2, 3, 4, 5, 6, 7, 8
	sw a5, 4 * \n(s0)
	.endr
	li a5, RET
	sw a5, 36(s0)
	fence.i
	jalr s0
	CHECK(a0, 24)
	PASS()
