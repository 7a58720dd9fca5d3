/*
 * fp_flags: accrued exception flags (unprivileged spec 11.2): NX, UF
 * (tiny and inexact), OF (with RNE -> inf, RTZ -> largest finite), DZ
 * (x/0 only for finite non-zero x), NV (invalid ops, signalling compares,
 * quiet compares only for signalling NaNs); flags are sticky until cleared;
 * fsflags/csrrs on fflags; an exact result raises nothing.
 */
#include "isa.h"

TEST_MAIN()
	fsflags zero
	// NX
	FLI_S fa1, 0x3f800000             // 1
	FLI_S fa2, 0x40400000             // 3
	fdiv.s fa0, fa1, fa2
	CHECK_FFLAGS(FFLAG_NX)
	fmul.s fa0, fa1, fa2
	CHECK_FFLAGS(0)
	// OF: 2^127 * 4
	FLI_S fa1, 0x7f000000
	FLI_S fa2, 0x40800000
	fmul.s fa0, fa1, fa2
	CHECK_S(fa0, 0x7f800000)
	CHECK_FFLAGS(FFLAG_OF | FFLAG_NX)
	fmul.s fa0, fa1, fa2, rtz
	CHECK_S(fa0, 0x7f7fffff)
	CHECK_FFLAGS(FFLAG_OF | FFLAG_NX)
	FLI_D fa1, 0x7e37e43c8800759c     // 1e300
	fmul.d fa0, fa1, fa1
	CHECK_D(fa0, 0x7ff0000000000000)
	CHECK_FFLAGS(FFLAG_OF | FFLAG_NX)
	fcvt.s.d fa0, fa1
	CHECK_S(fa0, 0x7f800000)
	CHECK_FFLAGS(FFLAG_OF | FFLAG_NX)
	// UF: min subnormal * 0.5 rounds to 0
	FLI_S fa1, 0x00000001
	FLI_S fa2, 0x3f000000
	fmul.s fa0, fa1, fa2
	CHECK_S(fa0, 0)
	CHECK_FFLAGS(FFLAG_UF | FFLAG_NX)
	// a tiny but exact result does not raise UF
	FLI_S fa1, 0x00000002
	fmul.s fa0, fa1, fa2
	CHECK_S(fa0, 0x00000001)
	CHECK_FFLAGS(0)
	FLI_D fa1, 0x0000000000000003     // 3 * 2^-1074 * 0.5: inexact subnormal
	FLI_D fa2, 0x3fe0000000000000
	fmul.d fa0, fa1, fa2
	CHECK_D(fa0, 0x0000000000000002)  // 1.5 -> 2 (ties to even)
	CHECK_FFLAGS(FFLAG_UF | FFLAG_NX)
	// DZ
	FLI_S fa1, 0xbf800000             // -1
	FLI_S fa2, 0
	fdiv.s fa0, fa1, fa2
	CHECK_S(fa0, 0xff800000)
	CHECK_FFLAGS(FFLAG_DZ)
	FLI_S fa1, 0x7f800000             // inf / 0 = inf, no flag
	fdiv.s fa0, fa1, fa2
	CHECK_S(fa0, 0x7f800000)
	CHECK_FFLAGS(0)
	fdiv.s fa0, fa2, fa2              // 0 / 0 is invalid, not DZ
	CHECK_FFLAGS(FFLAG_NV)
	FLI_D fa1, 0x3ff0000000000000
	FLI_D fa2, 0x8000000000000000     // 1 / -0 = -inf
	fdiv.d fa0, fa1, fa2
	CHECK_D(fa0, 0xfff0000000000000)
	CHECK_FFLAGS(FFLAG_DZ)
	// NV from compares: FEQ only for signalling NaNs, FLT/FLE for any NaN
	FLI_S fa1, 0x7fc00000             // qNaN
	FLI_S fa2, 0x7f800001             // sNaN
	FLI_S fa3, 0x3f800000
	feq.s a5, fa1, fa3
	CHECK(a5, 0)
	CHECK_FFLAGS(0)
	feq.s a5, fa2, fa3
	CHECK(a5, 0)
	CHECK_FFLAGS(FFLAG_NV)
	flt.s a5, fa1, fa3
	CHECK(a5, 0)
	CHECK_FFLAGS(FFLAG_NV)
	fle.s a5, fa3, fa1
	CHECK(a5, 0)
	CHECK_FFLAGS(FFLAG_NV)
	// NV: sqrt of a negative, sNaN operand
	FLI_S fa1, 0xbf800000
	fsqrt.s fa0, fa1
	CHECK_FFLAGS(FFLAG_NV)
	fadd.s fa0, fa2, fa3
	CHECK_FFLAGS(FFLAG_NV)
	fsqrt.s fa0, fa2                  // sqrt(-0) = -0, no flags
	FLI_S fa1, 0x80000000
	fsqrt.s fa0, fa1
	CHECK_S(fa0, 0x80000000)
	CHECK_FFLAGS(FFLAG_NV)            // (from the sNaN sqrt just before)

	// sticky: flags accumulate until cleared
	FLI_S fa1, 0x3f800000
	FLI_S fa2, 0x40400000
	fdiv.s fa0, fa1, fa2              // NX
	FLI_S fa2, 0
	fdiv.s fa0, fa1, fa2              // DZ
	fmul.s fa0, fa1, fa1              // exact: nothing cleared
	CHECK_FFLAGS(FFLAG_NX | FFLAG_DZ)
	// fsflags returns the old value; csrs sets bits
	li a4, FFLAG_OF
	fsflags a4
	li a4, FFLAG_UF
	fsflags a5, a4
	CHECK(a5, FFLAG_OF)
	csrsi fflags, FFLAG_NV
	frflags a5
	CHECK(a5, FFLAG_UF | FFLAG_NV)
	li a4, 0xff                       // only 5 bits exist
	fsflags a4
	frflags a5
	CHECK(a5, 0x1f)
	fsflags zero
	PASS()
