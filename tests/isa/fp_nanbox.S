/*
 * fp_nanbox: NaN-boxing of single values in 64-bit f registers
 * (unprivileged spec 12.2): FLW, FMV.W.X and single-precision results set
 * bits 63:32 to ones; an operand whose upper bits are not all ones reads as
 * the canonical NaN (arithmetic, sign injection, conversion, compare,
 * fclass) without raising NV; FSW and FMV.X.W move the low 32 bits
 * unchanged, FMV.X.W sign-extending bit 31; canonical NaN = 0x7fc00000 /
 * 0x7ff8000000000000, and NaN payloads are not propagated.
 */
#include "isa.h"

	.data
	.balign 8
fbuf:	.dword 0x3f800000, 0

TEST_MAIN()
	fsflags zero
	// boxing on writes
	li a4, 0x3f800000
	fmv.w.x fa0, a4
	fmv.x.d a5, fa0
	CHECK(a5, 0xffffffff3f800000)
	la s0, fbuf
	flw fa1, 0(s0)
	fmv.x.d a5, fa1
	CHECK(a5, 0xffffffff3f800000)
	li a4, 0x123456783f800000         // upper bits of rs1 ignored by fmv.w.x
	fmv.w.x fa0, a4
	fmv.x.d a5, fa0
	CHECK(a5, 0xffffffff3f800000)

	// improperly boxed 1.0 (upper word zero) reads as canonical NaN
	li a4, 0x000000003f800000
	fmv.d.x fa2, a4
	fadd.s fa3, fa2, fa1
	CHECK_S(fa3, 0x7fc00000)
	fmul.s fa3, fa1, fa2
	CHECK_S(fa3, 0x7fc00000)
	fsgnj.s fa3, fa2, fa1
	CHECK_S(fa3, 0x7fc00000)
	fsgnjn.s fa3, fa2, fa1            // sign injected into the canonical NaN
	CHECK_S(fa3, 0xffc00000)
	fcvt.d.s fa3, fa2
	CHECK_D(fa3, 0x7ff8000000000000)
	feq.s a5, fa2, fa2
	CHECK(a5, 0)
	fclass.s a5, fa2
	CHECK(a5, 1 << 9)                 // quiet NaN
	fmin.s fa3, fa2, fa1              // the NaN operand is ignored
	CHECK_S(fa3, 0x3f800000)
	CHECK_FFLAGS(0)                   // a canonical (quiet) NaN: no NV
	// ... and only all-ones counts: one zero bit is enough
	li a4, 0xfffffffe3f800000
	fmv.d.x fa2, a4
	fadd.s fa3, fa2, fa1
	CHECK_S(fa3, 0x7fc00000)

	// transfers ignore boxing: FSW stores the low word, FMV.X.W sign-extends
	li a4, 0x12345678bf800000
	fmv.d.x fa2, a4
	fsw fa2, 8(s0)
	lwu a5, 8(s0)
	CHECK(a5, 0xbf800000)
	fmv.x.w a5, fa2
	CHECK(a5, 0xffffffffbf800000)
	li a4, 0x7fffffff
	fmv.w.x fa2, a4
	fmv.x.w a5, fa2
	CHECK(a5, 0x7fffffff)
	li a4, 0x80000000
	fmv.w.x fa2, a4
	fmv.x.w a5, fa2
	CHECK(a5, 0xffffffff80000000)

	// NaN results are canonical: payloads are dropped
	FLI_S fa4, 0x7fc12345             // quiet NaN with a payload
	fadd.s fa3, fa4, fa1
	CHECK_S(fa3, 0x7fc00000)
	CHECK_FFLAGS(0)
	FLI_S fa4, 0xff812345             // signalling NaN, negative
	fmul.s fa3, fa4, fa1
	CHECK_S(fa3, 0x7fc00000)
	CHECK_FFLAGS(FFLAG_NV)
	FLI_D fa5, 0x7ff8000000abcdef
	FLI_D fa6, 0x3ff0000000000000
	fsub.d fa3, fa6, fa5
	CHECK_D(fa3, 0x7ff8000000000000)
	FLI_D fa5, 0xfff0000000000001     // signalling
	fcvt.s.d fa3, fa5
	CHECK_S(fa3, 0x7fc00000)
	CHECK_FFLAGS(FFLAG_NV)
	// invalid operations produce the canonical NaN
	FLI_S fa4, 0
	fdiv.s fa3, fa4, fa4              // 0/0
	CHECK_S(fa3, 0x7fc00000)
	CHECK_FFLAGS(FFLAG_NV)
	FLI_S fa4, 0x7f800000
	fsub.s fa3, fa4, fa4              // inf - inf
	CHECK_S(fa3, 0x7fc00000)
	CHECK_FFLAGS(FFLAG_NV)
	FLI_D fa4, 0xbff0000000000000
	fsqrt.d fa3, fa4                  // sqrt(-1)
	CHECK_D(fa3, 0x7ff8000000000000)
	CHECK_FFLAGS(FFLAG_NV)
	FLI_D fa4, 0x7ff0000000000000
	FLI_D fa5, 0
	fmadd.d fa3, fa4, fa5, fa6        // inf * 0 + 1
	CHECK_D(fa3, 0x7ff8000000000000)
	CHECK_FFLAGS(FFLAG_NV)
	// fsgnj passes NaNs through untouched (not an arithmetic op)
	FLI_S fa4, 0x7fc12345
	fsgnjn.s fa3, fa4, fa4
	CHECK_S(fa3, 0xffc12345)
	FLI_D fa4, 0x7ff0000000000001
	fsgnj.d fa3, fa4, fa4
	CHECK_D(fa3, 0x7ff0000000000001)
	CHECK_FFLAGS(0)
	PASS()
