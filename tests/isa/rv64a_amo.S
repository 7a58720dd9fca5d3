/*
 * rv64a_amo: every AMO in .w and .d form (unprivileged spec 8.4): the old
 * value is returned in rd (sign-extended from 32 bits for .w), memory gets
 * op(old, rs2); .w uses only rs2[31:0] and touches only its word; signed and
 * unsigned min/max; aq/rl variants; rd = x0.  (Misaligned AMOs: rv64a_misaligned.)
 */
#include "isa.h"

	.data
	.balign 16
mem:	.dword 0, 0

/* AMOW op, init32, rs2, expected_old (64-bit), expected_new32; high word is a sentinel */
.macro AMOW op, init, src, old, new
	la a4, mem
	li a6, 0x5a5a5a5a00000000 | ((\init) & 0xffffffff)
	sd a6, 0(a4)
	li a6, \src
	\op a5, a6, (a4)
	CHECK(a5, \old)
	ld a5, 0(a4)
	CHECK(a5, 0x5a5a5a5a00000000 | ((\new) & 0xffffffff))
.endm
.macro AMOD op, init, src, old, new
	la a4, mem
	li a6, \init
	sd a6, 0(a4)
	li a6, \src
	\op a5, a6, (a4)
	CHECK(a5, \old)
	ld a5, 0(a4)
	CHECK(a5, \new)
.endm

TEST_MAIN()
	AMOW amoswap.w, 0x80000001, 0x12345678, 0xffffffff80000001, 0x12345678
	AMOW amoadd.w, 0x80000001, -1, 0xffffffff80000001, 0x80000000
	AMOW amoadd.w, 0xffffffff, 1, -1, 0           // no carry into the next word
	AMOW amoadd.w, 0x7fffffff, 0xabcdef0000000001, 0x7fffffff, 0x80000000
	AMOW amoxor.w, 0x80000001, 0xffff0000, 0xffffffff80000001, 0x7fff0001
	AMOW amoand.w, 0x80000001, 0x0000ffff, 0xffffffff80000001, 1
	AMOW amoor.w, 0x80000001, 0xf0, 0xffffffff80000001, 0x800000f1
	AMOW amomin.w, 0x80000001, 0xffffffff00000005, 0xffffffff80000001, 0x80000001
	AMOW amomin.w, 5, 0x00000000ffffffff, 5, 0xffffffff
	AMOW amomax.w, 0x80000001, 0xffffffff00000005, 0xffffffff80000001, 5
	AMOW amomax.w, 0xfffffffe, 0xffffffff, -2, 0xffffffff
	AMOW amominu.w, 0x80000001, 0xffffffff00000005, 0xffffffff80000001, 5
	AMOW amominu.w, 3, 0x80000000, 3, 3
	AMOW amomaxu.w, 0x80000001, 0xffffffff00000005, 0xffffffff80000001, 0x80000001
	AMOW amomaxu.w, 3, 0x80000000, 3, 0x80000000

	AMOD amoswap.d, 0x8000000000000001, 7, 0x8000000000000001, 7
	AMOD amoadd.d, 0xffffffffffffffff, 2, -1, 1
	AMOD amoadd.d, 0x00000000ffffffff, 1, 0xffffffff, 0x100000000
	AMOD amoxor.d, 0xff00ff00ff00ff00, -1, 0xff00ff00ff00ff00, 0x00ff00ff00ff00ff
	AMOD amoand.d, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xff00ff00ff00ff00, 0x0f000f000f000f00
	AMOD amoor.d, 0xff00000000000000, 0xff, 0xff00000000000000, 0xff000000000000ff
	AMOD amomin.d, 0x8000000000000000, 0x7fffffffffffffff, 0x8000000000000000, 0x8000000000000000
	AMOD amomin.d, -1, -2, -1, -2
	AMOD amomax.d, 0x8000000000000000, 0x7fffffffffffffff, 0x8000000000000000, 0x7fffffffffffffff
	AMOD amomax.d, -1, -2, -1, -1
	AMOD amominu.d, 0x8000000000000000, 0x7fffffffffffffff, 0x8000000000000000, 0x7fffffffffffffff
	AMOD amominu.d, -1, 0, -1, 0
	AMOD amomaxu.d, 0x8000000000000000, 0x7fffffffffffffff, 0x8000000000000000, 0x8000000000000000
	AMOD amomaxu.d, 1, -1, 1, -1

	// ordering variants behave the same
	AMOD amoadd.d.aq, 10, 5, 10, 15
	AMOD amoadd.d.rl, 10, 5, 10, 15
	AMOD amoadd.d.aqrl, 10, 5, 10, 15
	AMOW amoswap.w.aqrl, 1, 2, 1, 2

	// rd = x0 still updates memory
	la a4, mem
	li a6, 40
	sd a6, 0(a4)
	li a6, 2
	amoadd.d zero, a6, (a4)
	ld a5, 0(a4)
	CHECK(a5, 42)
	// rd == rs2: rd gets the old value, memory the rs2 value read before
	li a5, 9
	amoswap.d a5, a5, (a4)
	CHECK(a5, 42)
	ld a5, 0(a4)
	CHECK(a5, 9)
	// the second word of the pair is untouched by .w on the first
	la a4, mem
	li a6, -1
	sd a6, 8(a4)
	addi a7, a4, 8
	li a6, 0
	amoand.w zero, a6, (a7)
	ld a5, 8(a4)
	CHECK(a5, 0xffffffff00000000)

	PASS()
