/*
 * fp_cvt: float-to-integer conversions saturate (unprivileged spec 11.7,
 * table 11.4): out-of-range and infinite inputs give the most positive /
 * most negative value and raise NV; NaN gives the most positive value
 * (2^31-1, 2^32-1, 2^63-1, 2^64-1); W results are sign-extended to 64 bits;
 * negative inputs to unsigned conversions give 0 with NV unless they round
 * to 0 (then only NX); in-range inexact conversions raise NX only.
 */
#include "isa.h"

/* CV op, value_bits, rm, expected_result, expected_flags (single or double source) */
.macro CVS op, bits, rm, exp, flags
	FLI_S fa0, \bits
	\op a5, fa0, \rm
	CHECK(a5, \exp)
	CHECK_FFLAGS(\flags)
.endm
.macro CVD op, bits, rm, exp, flags
	FLI_D fa0, \bits
	\op a5, fa0, \rm
	CHECK(a5, \exp)
	CHECK_FFLAGS(\flags)
.endm

#define S_NAN   0x7fc00000
#define S_SNAN  0xff800001
#define S_INF   0x7f800000
#define S_NINF  0xff800000
#define D_NAN   0x7ff8000000000000
#define D_INF   0x7ff0000000000000
#define D_NINF  0xfff0000000000000
#define NV FFLAG_NV
#define NX FFLAG_NX

TEST_MAIN()
	fsflags zero
	// fcvt.w.s
	CVS fcvt.w.s, S_NAN, rtz, 0x7fffffff, NV
	CVS fcvt.w.s, S_SNAN, rtz, 0x7fffffff, NV
	CVS fcvt.w.s, S_INF, rtz, 0x7fffffff, NV
	CVS fcvt.w.s, S_NINF, rtz, 0xffffffff80000000, NV
	CVS fcvt.w.s, 0x4f32d05e, rtz, 0x7fffffff, NV          // 3e9
	CVS fcvt.w.s, 0xcf32d05e, rtz, 0xffffffff80000000, NV  // -3e9
	CVS fcvt.w.s, 0xcf000000, rtz, 0xffffffff80000000, 0   // -2^31 exactly
	CVS fcvt.w.s, 0xbf000000, rtz, 0, NX                   // -0.5
	CVS fcvt.w.s, 0xbf000000, rdn, -1, NX
	// fcvt.wu.s
	CVS fcvt.wu.s, S_NAN, rtz, 0xffffffffffffffff, NV
	CVS fcvt.wu.s, S_INF, rtz, 0xffffffffffffffff, NV
	CVS fcvt.wu.s, S_NINF, rtz, 0, NV
	CVS fcvt.wu.s, 0x4f9502f9, rtz, 0xffffffffffffffff, NV // 5e9
	CVS fcvt.wu.s, 0xbf800000, rtz, 0, NV                  // -1.0
	CVS fcvt.wu.s, 0xbf666666, rtz, 0, NX                  // -0.9 rounds to 0
	CVS fcvt.wu.s, 0x4f000000, rtz, 0xffffffff80000000, 0  // 2^31: sign-extended
	CVS fcvt.wu.s, 0x3fc00000, rne, 2, NX                  // 1.5
	// fcvt.l.s / fcvt.lu.s
	CVS fcvt.l.s, S_NAN, rtz, 0x7fffffffffffffff, NV
	CVS fcvt.l.s, S_NINF, rtz, 0x8000000000000000, NV
	CVS fcvt.l.s, 0x5f000000, rtz, 0x7fffffffffffffff, NV  // 2^63
	CVS fcvt.l.s, 0xdf000000, rtz, 0x8000000000000000, 0   // -2^63
	CVS fcvt.l.s, 0x501502f9, rtz, 10000000000, 0          // 1e10
	CVS fcvt.lu.s, S_NAN, rtz, 0xffffffffffffffff, NV
	CVS fcvt.lu.s, 0x5f800000, rtz, 0xffffffffffffffff, NV // 2^64
	CVS fcvt.lu.s, 0x5f000000, rtz, 0x8000000000000000, 0
	CVS fcvt.lu.s, 0xbf800000, rtz, 0, NV

	// double sources
	CVD fcvt.w.d, D_NAN, rtz, 0x7fffffff, NV
	CVD fcvt.w.d, D_NINF, rtz, 0xffffffff80000000, NV
	CVD fcvt.w.d, 0x41dfffffffe00000, rtz, 0x7fffffff, NX  // 2^31 - 0.5
	CVD fcvt.w.d, 0x41dfffffffe00000, rne, 0x7fffffff, NV  // rounds to 2^31
	CVD fcvt.w.d, 0xc1e0000000000000, rtz, 0xffffffff80000000, 0
	CVD fcvt.wu.d, D_NAN, rtz, 0xffffffffffffffff, NV
	CVD fcvt.wu.d, 0x41efffffffe00000, rtz, 0xffffffffffffffff, 0 // 2^32 - 1
	CVD fcvt.wu.d, 0xbff0000000000000, rtz, 0, NV
	CVD fcvt.l.d, D_NAN, rtz, 0x7fffffffffffffff, NV
	CVD fcvt.l.d, D_INF, rtz, 0x7fffffffffffffff, NV
	CVD fcvt.l.d, D_NINF, rtz, 0x8000000000000000, NV
	CVD fcvt.l.d, 0x43e0000000000000, rtz, 0x7fffffffffffffff, NV
	CVD fcvt.l.d, 0xc3e0000000000000, rtz, 0x8000000000000000, 0
	CVD fcvt.l.d, 0xc3e0000000000001, rtz, 0x8000000000000000, NV
	CVD fcvt.l.d, 0xbff8000000000000, rne, -2, NX          // -1.5
	CVD fcvt.lu.d, D_NAN, rtz, 0xffffffffffffffff, NV
	CVD fcvt.lu.d, 0x43f0000000000000, rtz, 0xffffffffffffffff, NV
	CVD fcvt.lu.d, 0x43e0000000000000, rtz, 0x8000000000000000, 0
	CVD fcvt.lu.d, 0xbff0000000000000, rtz, 0, NV
	CVD fcvt.lu.d, D_NINF, rtz, 0, NV
	CVD fcvt.lu.d, 0xbfeccccccccccccd, rtz, 0, NX          // -0.9

	// float <- float: overflow and NaN
	FLI_D fa0, 0x47f0000000000000     // 2^128
	fcvt.s.d fa1, fa0, rne
	CHECK_S(fa1, 0x7f800000)
	CHECK_FFLAGS(FFLAG_OF | NX)
	fcvt.s.d fa1, fa0, rtz
	CHECK_S(fa1, 0x7f7fffff)
	CHECK_FFLAGS(FFLAG_OF | NX)
	FLI_S fa0, S_SNAN
	fcvt.d.s fa1, fa0
	CHECK_D(fa1, 0x7ff8000000000000)
	CHECK_FFLAGS(NV)
	PASS()
