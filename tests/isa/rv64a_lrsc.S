/*
 * rv64a_lrsc: load-reserved / store-conditional (unprivileged spec 8.2):
 * LR.W sign-extends; SC writes 0 to rd and stores on success; any SC
 * (successful or not) ends the reservation, so a second SC fails (rd != 0)
 * and stores nothing; an SC to an address outside the reservation set
 * fails; an LR/SC retry loop makes progress; misaligned LR traps.
 */
#include "isa.h"

	.data
	.balign 4096
mem:	.dword 0, 0
	.balign 4096
other:	.dword 0

TEST_MAIN()
	// LR.D / SC.D success
	la a4, mem
	li a6, 0x1111222233334444
	sd a6, 0(a4)
	lr.d a5, (a4)
	CHECK(a5, 0x1111222233334444)
	li a6, 0x5555666677778888
	sc.d a7, a6, (a4)
	CHECK(a7, 0)
	ld a5, 0(a4)
	CHECK(a5, 0x5555666677778888)
	// SC again without LR: fails, no store
	li a6, 1
	sc.d a7, a6, (a4)
	sltu a7, zero, a7
	CHECK(a7, 1)
	ld a5, 0(a4)
	CHECK(a5, 0x5555666677778888)

	// LR.W sign-extends; SC.W writes only its word
	li a6, 0xaaaaaaaa80000000
	sd a6, 0(a4)
	lr.w a5, (a4)
	CHECK(a5, 0xffffffff80000000)
	li a6, 0x123456789
	sc.w a7, a6, (a4)
	CHECK(a7, 0)
	ld a5, 0(a4)
	CHECK(a5, 0xaaaaaaaa23456789)
	sc.w a7, a6, (a4)
	sltu a7, zero, a7
	CHECK(a7, 1)

	// SC to another page than the LR: fails, stores nothing, and ends the
	// reservation on the first address too
	la a4, mem
	la a3, other
	sd zero, 0(a3)
	lr.d a5, (a4)
	li a6, 77
	sc.d a7, a6, (a3)
	sltu a7, zero, a7
	CHECK(a7, 1)
	ld a5, 0(a3)
	CHECK(a5, 0)
	sc.d a7, a6, (a4)
	sltu a7, zero, a7
	CHECK(a7, 1)
	ld a5, 0(a4)
	CHECK(a5, 0xaaaaaaaa23456789)

	// ordering variants
	li a6, 5
	sd a6, 0(a4)
	lr.d.aq a5, (a4)
	addi a5, a5, 1
	sc.d.rl a7, a5, (a4)
	CHECK(a7, 0)
	lr.d.aqrl a5, (a4)
	addi a5, a5, 1
	sc.d.aqrl a7, a5, (a4)
	CHECK(a7, 0)
	ld a5, 0(a4)
	CHECK(a5, 7)

	// retry loop: 100 atomic increments of a word
	sd zero, 0(a4)
	li s0, 100
	li s1, 10000                // bound on attempts
1:	lr.w a5, (a4)
	addi a5, a5, 1
	sc.w a7, a5, (a4)
	addi s1, s1, -1
	beqz s1, 2f
	bnez a7, 1b
	addi s0, s0, -1
	bnez s0, 1b
2:	CHECK(s0, 0)
	lw a5, 0(a4)
	CHECK(a5, 100)

	// misaligned LR: load address-misaligned (4) or access fault (5)
	la a4, mem + 4
	EXPECT_TRAP
	lr.d a5, (a4)
	LOAD_TRAP a5, ISA_T_CAUSE
	addi a5, a5, -CAUSE_MISALIGNED_LOAD
	sltiu a5, a5, 2
	CHECK(a5, 1)
	LOAD_TRAP a5, ISA_T_TVAL
	CHECK_ADDR(a5, mem + 4)
	PASS()
