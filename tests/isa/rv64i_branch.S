/*
 * rv64i_branch: conditional branches taken and not taken, signed vs unsigned
 * comparisons, forward and backward targets; JAL and JALR link values
 * (pc + 4), JALR clearing bit 0 of the target and reading rs1 before
 * writing rd (unprivileged spec 2.5).
 */
#include "isa.h"

/* BR op, a, b, taken(1/0): branch with op on registers a4=a, a6=b */
.macro BR op, a, b, taken
	li a4, \a
	li a6, \b
	li a5, 0
	\op a4, a6, 1f
	li a5, 1
1:	CHECK(a5, 1 - \taken)
.endm

TEST_MAIN()
	BR beq, 5, 5, 1
	BR beq, 5, 6, 0
	BR beq, -1, 0xffffffff, 0
	BR bne, 5, 6, 1
	BR bne, -3, -3, 0
	BR blt, -1, 1, 1
	BR blt, 1, -1, 0
	BR blt, 7, 7, 0
	BR blt, 0x8000000000000000, 0x7fffffffffffffff, 1
	BR bge, 1, -1, 1
	BR bge, 7, 7, 1
	BR bge, -1, 1, 0
	BR bltu, 1, -1, 1
	BR bltu, -1, 1, 0
	BR bltu, 7, 7, 0
	BR bltu, 0x7fffffffffffffff, 0x8000000000000000, 1
	BR bgeu, -1, 1, 1
	BR bgeu, 7, 7, 1
	BR bgeu, 1, -1, 0

	// backward branch: a loop of 10
	li a4, 10
	li a5, 0
2:	addi a5, a5, 1
	addi a4, a4, -1
	bnez a4, 2b
	CHECK(a5, 10)

	// JAL: forward, link = pc + 4
	li a5, 0
3:	jal a7, 4f
	li a5, 1                  // skipped
4:	CHECK(a5, 0)
	la a4, 3b + 4
	sub a5, a7, a4
	CHECK(a5, 0)
	// JAL backward
	li a5, 0
	j 6f
5:	addi a5, a5, 1
	j 7f
6:	jal zero, 5b
7:	CHECK(a5, 1)

	// JALR: target = (rs1 + imm) & ~1, link = pc + 4
	la a4, 9f
	li a5, 0
8:	jalr a7, 0(a4)
	li a5, 1                  // skipped
9:	CHECK(a5, 0)
	la a4, 8b + 4
	sub a5, a7, a4
	CHECK(a5, 0)

	// odd target via rs1: bit 0 cleared, lands on the label
	la a4, 11f
	addi a4, a4, 1
	li a5, 0
	jalr ra, 0(a4)
	li a5, 1
	.balign 4
11:	CHECK(a5, 0)
	// odd target via the immediate, negative offset
	la a4, 12f + 7
	li a5, 0
	jalr ra, -6(a4)
	li a5, 1
	.balign 4
12:	CHECK(a5, 0)

	// rd == rs1: the target uses the old rs1, then rd gets the link
	la a4, 14f
	li a5, 0
13:	jalr a4, 0(a4)
	li a5, 1
14:	CHECK(a5, 0)
	la a6, 13b + 4
	sub a5, a4, a6
	CHECK(a5, 0)

	// call / ret through a subroutine
	li a5, 0
	call 20f
	CHECK(a5, 42)
	PASS()

20:	li a5, 42
	ret
