/*
 * rv64m: the M extension (unprivileged spec ch. 13): MUL/MULH/MULHSU/MULHU,
 * MULW, DIV/DIVU/REM/REMU and W forms; division rounds toward zero, the
 * remainder takes the dividend's sign; division by zero gives all ones
 * (quotient) and the dividend (remainder); signed overflow (-2^(L-1) / -1)
 * gives the dividend and remainder 0.  No trap in any case.
 */
#include "isa.h"

/* OP op, a, b, expected */
.macro OP op, a, b, exp
	li a4, \a
	li a6, \b
	\op a5, a4, a6
	CHECK(a5, \exp)
.endm

TEST_MAIN()
	OP mul, 7, -3, -21
	OP mul, 0x100000001, 0x100000001, 0x200000001
	OP mul, 0x8000000000000000, -1, 0x8000000000000000
	OP mulh, -1, -1, 0
	OP mulh, 0x8000000000000000, 0x8000000000000000, 0x4000000000000000
	OP mulh, 0x8000000000000000, 1, -1
	OP mulh, 0x7fffffffffffffff, 0x7fffffffffffffff, 0x3fffffffffffffff
	OP mulhu, -1, -1, 0xfffffffffffffffe
	OP mulhu, 0x8000000000000000, 2, 1
	OP mulhu, 0x100000000, 0x100000000, 1
	OP mulhsu, -1, -1, -1
	OP mulhsu, 0x8000000000000000, 2, -1
	OP mulhsu, 2, -1, 1
	OP mulhsu, 1, 1, 0
	OP mulw, 0x7fffffff, 2, -2
	OP mulw, 0xabcdef0000000003, 0x1234560000000005, 15
	OP mulw, 0x10000, 0x10000, 0

	OP div, -7, 2, -3
	OP rem, -7, 2, -1
	OP div, 7, -2, -3
	OP rem, 7, -2, 1
	OP divu, -1, 2, 0x7fffffffffffffff
	OP remu, -1, 16, 15
	// division by zero
	OP div, 12345, 0, -1
	OP divu, 12345, 0, -1
	OP rem, -12345, 0, -12345
	OP remu, 12345, 0, 12345
	// signed overflow
	OP div, 0x8000000000000000, -1, 0x8000000000000000
	OP rem, 0x8000000000000000, -1, 0

	// W forms: operate on the low 32 bits, sign-extend the 32-bit result
	OP divw, 0xffffffff00000007, 0x12345678fffffffe, -3
	OP remw, 0xfffffffffffffff9, 2, -1
	OP divuw, 0xffffffff00000000 | 0xfffffff0, 0x100000002, 0x7ffffff8
	OP remuw, 0xfffffff5, 0x10, 5
	OP remuw, 0x80000001, 0x80000000, 1
	OP divuw, 0x80000000, 1, 0xffffffff80000000
	OP divw, 5, 0xffffffff00000000, -1          // low word of divisor is 0
	OP divuw, 5, 0, -1
	OP remw, 0x1234567880000005, 0, 0xffffffff80000005
	OP remuw, 0x0000000180000005, 0, 0xffffffff80000005
	OP divw, 0x80000000, -1, 0xffffffff80000000
	OP remw, 0x80000000, -1, 0
	PASS()
