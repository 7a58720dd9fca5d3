/*
 * fp_arith: basic F and D arithmetic (unprivileged spec ch. 11-12): add,
 * sub, mul, div, sqrt, the four fused multiply-adds (one rounding: a case
 * that differs from separate multiply and add), sign injection, compares
 * (-0 == +0), integer/float conversions, single/double conversion, FP loads
 * and stores; exact results raise no flags, an inexact one raises NX.
 */
#include "isa.h"

	.data
	.balign 8
fbuf:	.dword 0, 0

TEST_MAIN()
	fsflags zero
	FLI_S fa1, 0x3f800000             // 1.0
	FLI_S fa2, 0x40000000             // 2.0
	FLI_S fa3, 0x40400000             // 3.0
	fadd.s fa0, fa1, fa2
	CHECK_S(fa0, 0x40400000)
	fsub.s fa0, fa1, fa2
	CHECK_S(fa0, 0xbf800000)
	fmul.s fa0, fa2, fa3
	CHECK_S(fa0, 0x40c00000)
	CHECK_FFLAGS(0)
	fdiv.s fa0, fa1, fa3
	CHECK_S(fa0, 0x3eaaaaab)
	CHECK_FFLAGS(FFLAG_NX)
	FLI_S fa4, 0x41800000             // 16.0
	fsqrt.s fa0, fa4
	CHECK_S(fa0, 0x40800000)
	fmadd.s fa0, fa2, fa3, fa1        // 2*3+1
	CHECK_S(fa0, 0x40e00000)
	fmsub.s fa0, fa2, fa3, fa1        // 2*3-1
	CHECK_S(fa0, 0x40a00000)
	fnmadd.s fa0, fa2, fa3, fa1       // -(2*3)-1
	CHECK_S(fa0, 0xc0e00000)
	fnmsub.s fa0, fa2, fa3, fa1       // -(2*3)+1
	CHECK_S(fa0, 0xc0a00000)
	CHECK_FFLAGS(0)

	// sign injection
	FLI_S fa4, 0xc0200000             // -2.5
	fsgnj.s fa0, fa1, fa4
	CHECK_S(fa0, 0xbf800000)
	fsgnjn.s fa0, fa1, fa4
	CHECK_S(fa0, 0x3f800000)
	fsgnjx.s fa0, fa4, fa4
	CHECK_S(fa0, 0x40200000)
	fneg.s fa0, fa1
	CHECK_S(fa0, 0xbf800000)
	fabs.s fa0, fa4
	CHECK_S(fa0, 0x40200000)
	// compares
	flt.s a5, fa1, fa2
	CHECK(a5, 1)
	fle.s a5, fa2, fa1
	CHECK(a5, 0)
	feq.s a5, fa2, fa2
	CHECK(a5, 1)
	FLI_S fa5, 0x80000000             // -0
	FLI_S fa6, 0x00000000             // +0
	feq.s a5, fa5, fa6
	CHECK(a5, 1)
	flt.s a5, fa5, fa6
	CHECK(a5, 0)
	fle.s a5, fa6, fa5
	CHECK(a5, 1)
	// conversions
	li a4, -7
	fcvt.s.w fa0, a4
	CHECK_S(fa0, 0xc0e00000)
	fcvt.w.s a5, fa3
	CHECK(a5, 3)
	li a4, 0xffffffff
	fcvt.s.wu fa0, a4                 // 4294967295 rounds to 2^32
	CHECK_S(fa0, 0x4f800000)
	CHECK_FFLAGS(FFLAG_NX)
	li a4, -1
	fcvt.s.l fa0, a4
	CHECK_S(fa0, 0xbf800000)
	fcvt.s.lu fa0, a4                 // 2^64 - 1 rounds to 2^64
	CHECK_S(fa0, 0x5f800000)
	CHECK_FFLAGS(FFLAG_NX)
	fcvt.d.s fa0, fa4
	CHECK_D(fa0, 0xc004000000000000)
	FLI_D fa5, 0x3fd5555555555555     // 1/3
	fcvt.s.d fa0, fa5
	CHECK_S(fa0, 0x3eaaaaab)
	CHECK_FFLAGS(FFLAG_NX)

	// double
	FLI_D fa1, 0x3ff0000000000000
	FLI_D fa2, 0x4000000000000000
	FLI_D fa3, 0x4008000000000000
	fadd.d fa0, fa1, fa2
	CHECK_D(fa0, 0x4008000000000000)
	fsub.d fa0, fa1, fa2
	CHECK_D(fa0, 0xbff0000000000000)
	fmul.d fa0, fa2, fa3
	CHECK_D(fa0, 0x4018000000000000)
	CHECK_FFLAGS(0)
	fdiv.d fa0, fa1, fa3
	CHECK_D(fa0, 0x3fd5555555555555)
	CHECK_FFLAGS(FFLAG_NX)
	FLI_D fa4, 0x4030000000000000     // 16
	fsqrt.d fa0, fa4
	CHECK_D(fa0, 0x4010000000000000)
	fnmsub.d fa0, fa2, fa3, fa1
	CHECK_D(fa0, 0xc014000000000000)
	// fused: (1 + 2^-27)^2 - (1 + 2^-26) = 2^-54 exactly (0 if rounded twice)
	FLI_D fa4, 0x3ff0000002000000
	FLI_D fa5, 0xbff0000004000000
	fmadd.d fa0, fa4, fa4, fa5
	CHECK_D(fa0, 0x3c90000000000000)
	CHECK_FFLAGS(0)
	fsgnjn.d fa0, fa1, fa1
	CHECK_D(fa0, 0xbff0000000000000)
	fle.d a5, fa1, fa1
	CHECK(a5, 1)
	li a4, 0x7fffffffffffffff
	fcvt.d.l fa0, a4                  // rounds to 2^63
	CHECK_D(fa0, 0x43e0000000000000)
	CHECK_FFLAGS(FFLAG_NX)
	fcvt.l.d a5, fa3
	CHECK(a5, 3)
	li a4, -5
	fcvt.d.w fa0, a4
	CHECK_D(fa0, 0xc014000000000000)

	// loads and stores
	la a4, fbuf
	fsd fa3, 0(a4)
	ld a5, 0(a4)
	CHECK(a5, 0x4008000000000000)
	FLI_S fa6, 0x40400000
	fsw fa6, 8(a4)
	lwu a5, 8(a4)
	CHECK(a5, 0x40400000)
	fld fa7, 0(a4)
	CHECK_D(fa7, 0x4008000000000000)
	flw fa7, 8(a4)
	CHECK_S(fa7, 0x40400000)
	CHECK_FFLAGS(0)
	PASS()
