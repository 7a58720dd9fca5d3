/*
 * fp_class: FCLASS.S / FCLASS.D (unprivileged spec 11.9, table 11.5): one
 * bit for each of -inf, -normal, -subnormal, -0, +0, +subnormal, +normal,
 * +inf, signalling NaN, quiet NaN; FMV.X.W / FMV.X.D move raw bits.
 */
#include "isa.h"

.macro CLS bits, exp
	FLI_S fa0, \bits
	fclass.s a5, fa0
	CHECK(a5, \exp)
.endm
.macro CLD bits, exp
	FLI_D fa0, \bits
	fclass.d a5, fa0
	CHECK(a5, \exp)
.endm

TEST_MAIN()
	CLS 0xff800000, 1 << 0
	CLS 0xbf800000, 1 << 1
	CLS 0x80000001, 1 << 2
	CLS 0x807fffff, 1 << 2
	CLS 0x80000000, 1 << 3
	CLS 0x00000000, 1 << 4
	CLS 0x00000001, 1 << 5
	CLS 0x00800000, 1 << 6
	CLS 0x7f7fffff, 1 << 6
	CLS 0x7f800000, 1 << 7
	CLS 0x7f800001, 1 << 8
	CLS 0xffbfffff, 1 << 8
	CLS 0x7fc00000, 1 << 9
	CLS 0xffc00001, 1 << 9

	CLD 0xfff0000000000000, 1 << 0
	CLD 0xc000000000000000, 1 << 1
	CLD 0x800fffffffffffff, 1 << 2
	CLD 0x8000000000000000, 1 << 3
	CLD 0x0000000000000000, 1 << 4
	CLD 0x0000000000000001, 1 << 5
	CLD 0x0010000000000000, 1 << 6
	CLD 0x7ff0000000000000, 1 << 7
	CLD 0x7ff0000000000001, 1 << 8
	CLD 0x7ff7ffffffffffff, 1 << 8
	CLD 0x7ff8000000000000, 1 << 9
	CLD 0xfff8000000000000, 1 << 9
	// a double register holding a boxed single is a negative NaN as a double
	FLI_S fa0, 0x3f800000
	fclass.d a5, fa0
	CHECK(a5, 1 << 9)

	// raw moves
	li a4, 0xfff0000000000001
	fmv.d.x fa1, a4
	fmv.x.d a5, fa1
	CHECK(a5, 0xfff0000000000001)
	li a4, 0xff800001
	fmv.w.x fa1, a4
	fmv.x.w a5, fa1
	CHECK(a5, 0xffffffffff800001)
	CHECK_FFLAGS(0)
	PASS()
