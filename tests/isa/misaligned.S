/*
 * misaligned: misaligned loads and stores complete like byte accesses
 * (unprivileged spec 2.6 allows handling them in hardware or by an invisible
 * trap; the virt board reference and nimbus both handle them): every
 * width at every odd offset, crossing an 8-byte boundary and a page boundary,
 * sign/zero extension, FLW/FLD/FSW/FSD too.
 */
#include "isa.h"

	.data
	.balign 4096
	.space 4096 - 16
edge:	.space 32                 // straddles a page boundary at edge + 16

	.bss
	.balign 16
buf:	.space 64

TEST_MAIN()
	// fill buf with bytes 0x80 + i
	la s0, buf
	li a4, 0
1:	add a5, s0, a4
	addi a6, a4, 0x80
	sb a6, 0(a5)
	addi a4, a4, 1
	li a6, 64
	bne a4, a6, 1b

	lh a5, 1(s0)
	CHECK(a5, 0xffffffffffff8281)
	lhu a5, 7(s0)                     // crosses an 8-byte boundary
	CHECK(a5, 0x8887)
	lw a5, 3(s0)
	CHECK(a5, 0xffffffff86858483)
	lwu a5, 5(s0)
	CHECK(a5, 0x88878685)
	lw a5, 6(s0)
	CHECK(a5, 0xffffffff89888786)
	ld a5, 1(s0)
	CHECK(a5, 0x8887868584838281)
	ld a5, 7(s0)
	CHECK(a5, 0x8e8d8c8b8a898887)
	ld a5, 12(s0)
	CHECK(a5, 0x939291908f8e8d8c)

	li a6, 0x1122334455667788
	sh a6, 33(s0)
	sw a6, 37(s0)
	sd a6, 43(s0)
	ld a5, 32(s0)
	CHECK(a5, 0x667788a4a37788a0)
	ld a5, 40(s0)
	CHECK(a5, 0x4455667788aaa955)
	ld a5, 48(s0)
	CHECK(a5, 0xb7b6b5b4b3112233)

	// across a page boundary
	la s1, edge + 16
	li a6, 0x0102030405060708
	sd a6, -3(s1)
	ld a5, -3(s1)
	CHECK(a5, 0x0102030405060708)
	lw a5, -2(s1)
	CHECK(a5, 0x0000000004050607)
	lbu a5, -1(s1)
	CHECK(a5, 0x06)
	lbu a5, 0(s1)
	CHECK(a5, 0x05)
	li a6, 0xaabbccdd
	sw a6, -1(s1)
	lhu a5, -2(s1)
	CHECK(a5, 0xdd07)
	lh a5, 2(s1)
	CHECK(a5, 0x02aa)
	lh a5, -1(s1)
	CHECK(a5, 0xffffffffffffccdd)
	lwu a5, -3(s1)
	CHECK(a5, 0xccdd0708)

	// floating point
	li a6, 0x3ff0000000000001
	sd a6, 8(s0)
	fld fa0, 8(s0)
	fsd fa0, 17(s0)
	ld a5, 17(s0)
	CHECK(a5, 0x3ff0000000000001)
	fld fa1, 17(s0)
	fmv.x.d a5, fa1
	CHECK(a5, 0x3ff0000000000001)
	li a6, 0x3f800001
	sw a6, 24(s0)
	flw fa0, 24(s0)
	fsw fa0, 27(s0)
	lwu a5, 27(s0)
	CHECK(a5, 0x3f800001)
	flw fa2, 27(s0)
	fmv.x.w a5, fa2
	CHECK(a5, 0x3f800001)
	PASS()
