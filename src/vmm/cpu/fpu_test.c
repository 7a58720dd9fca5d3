/*
 * Tests for the soft-float unit (fpu.c): pinned edge cases per function
 * (signed zeros, subnormals, overflow per rounding mode, underflow with
 * tininess after rounding, RMM ties, NaN flags and canonical NaNs, FMA
 * single rounding, conversion saturation, min/max, fclass), then random
 * operands cross-checked against the host SSE unit on x86-64 (whose
 * tininess is also detected after rounding) for RNE/RTZ/RDN/RUP, results
 * and flags, and an RMM reference for binary32 built from exact binary64.
 */
#include "vmm/cpu/fpu.h"

#include "lib/testing.h"

#include <string.h>

enum { NX = FP_NX, UF = FP_UF, OF = FP_OF, DZ = FP_DZ, NV = FP_NV };
enum { RNE = FP_RNE, RTZ = FP_RTZ, RDN = FP_RDN, RUP = FP_RUP, RMM = FP_RMM };

#define QN32 F32_CANONICAL_NAN
#define QN64 F64_CANONICAL_NAN

/* Binary op: result and the exact flag set. */
#define CK2(fn, a, b, rm, want, wf)                                        \
	do {                                                               \
		unsigned fl_ = 0;                                          \
		EXPECT_EQ(fn(a, b, rm, &fl_), want);                       \
		EXPECT_EQ(fl_, wf);                                        \
	} while (0)
#define CK1(fn, a, rm, want, wf)                                           \
	do {                                                               \
		unsigned fl_ = 0;                                          \
		EXPECT_EQ(fn(a, rm, &fl_), want);                          \
		EXPECT_EQ(fl_, wf);                                        \
	} while (0)
#define CKF(fn, a, b, want, wf)                                            \
	do {                                                               \
		unsigned fl_ = 0;                                          \
		EXPECT_EQ(fn(a, b, &fl_), want);                           \
		EXPECT_EQ(fl_, wf);                                        \
	} while (0)
#define CKFMA(fn, a, b, c, np, na, rm, want, wf)                          \
	do {                                                               \
		unsigned fl_ = 0;                                          \
		EXPECT_EQ(fn(a, b, c, np, na, rm, &fl_), want);            \
		EXPECT_EQ(fl_, wf);                                        \
	} while (0)

/* binary32 constants */
#define P1 0x3f800000u     /* 1.0 */
#define M1 0xbf800000u     /* -1.0 */
#define PZ 0x00000000u
#define MZ 0x80000000u
#define PINF 0x7f800000u
#define MINF 0xff800000u
#define MAXF 0x7f7fffffu
#define MINN 0x00800000u   /* smallest normal */
#define MINS 0x00000001u   /* smallest subnormal */
#define SNAN 0x7f800001u
#define QNANP 0x7fc12345u  /* quiet, non-canonical payload */
/* binary64 constants */
#define D1 0x3ff0000000000000ull
#define DM1 0xbff0000000000000ull
#define DPZ 0ull
#define DMZ 0x8000000000000000ull
#define DPINF 0x7ff0000000000000ull
#define DMINF 0xfff0000000000000ull
#define DMAX 0x7fefffffffffffffull
#define DMINN 0x0010000000000000ull
#define DMINS 0x0000000000000001ull
#define DSNAN 0x7ff0000000000001ull
#define DQNANP 0xfff8000000abcdefull

TEST(add_signed_zeros)
{
	CK2(f32_add, P1, M1, RNE, PZ, 0);
	CK2(f32_add, P1, M1, RDN, MZ, 0);
	CK2(f32_add, P1, M1, RUP, PZ, 0);
	CK2(f32_add, MZ, MZ, RNE, MZ, 0);
	CK2(f32_add, PZ, MZ, RNE, PZ, 0);
	CK2(f32_add, PZ, MZ, RDN, MZ, 0);
	CK2(f32_sub, PZ, PZ, RNE, PZ, 0);
	CK2(f32_sub, PZ, PZ, RDN, MZ, 0);
	CK2(f32_sub, MZ, PZ, RNE, MZ, 0);
	CK2(f32_add, MZ, P1, RNE, P1, 0);
	CK2(f32_sub, PZ, P1, RNE, M1, 0);
	CK2(f64_add, D1, DM1, RNE, DPZ, 0);
	CK2(f64_add, D1, DM1, RDN, DMZ, 0);
	CK2(f64_add, DMZ, DMZ, RUP, DMZ, 0);
	CK2(f64_sub, DPZ, DPZ, RDN, DMZ, 0);
}

TEST(add_nan_inf)
{
	CK2(f32_add, PINF, MINF, RNE, QN32, NV);
	CK2(f32_sub, PINF, PINF, RNE, QN32, NV);
	CK2(f32_add, PINF, PINF, RNE, PINF, 0);
	CK2(f32_add, MINF, MAXF, RNE, MINF, 0);
	CK2(f32_add, SNAN, P1, RNE, QN32, NV);
	CK2(f32_add, P1, SNAN, RNE, QN32, NV);
	CK2(f32_add, QNANP, P1, RNE, QN32, 0);
	CK2(f32_add, 0xffc00000u, P1, RNE, QN32, 0);
	CK2(f32_add, QNANP, PINF, RNE, QN32, 0);
	CK2(f64_add, DPINF, DMINF, RNE, QN64, NV);
	CK2(f64_add, DSNAN, D1, RNE, QN64, NV);
	CK2(f64_add, DQNANP, DSNAN, RNE, QN64, NV);
	CK2(f64_sub, DQNANP, D1, RNE, QN64, 0);
}

TEST(add_overflow_per_mode)
{
	CK2(f32_add, MAXF, MAXF, RNE, PINF, OF | NX);
	CK2(f32_add, MAXF, MAXF, RMM, PINF, OF | NX);
	CK2(f32_add, MAXF, MAXF, RTZ, MAXF, OF | NX);
	CK2(f32_add, MAXF, MAXF, RDN, MAXF, OF | NX);
	CK2(f32_add, MAXF, MAXF, RUP, PINF, OF | NX);
	CK2(f32_add, MAXF | MZ, MAXF | MZ, RNE, MINF, OF | NX);
	CK2(f32_add, MAXF | MZ, MAXF | MZ, RTZ, MAXF | MZ, OF | NX);
	CK2(f32_add, MAXF | MZ, MAXF | MZ, RDN, MINF, OF | NX);
	CK2(f32_add, MAXF | MZ, MAXF | MZ, RUP, MAXF | MZ, OF | NX);
	/* max + half an ulp of max: a tie, RNE goes to "even" = overflow. */
	CK2(f32_add, MAXF, 0x73000000u, RNE, PINF, OF | NX);
	CK2(f32_add, MAXF, 0x73000000u, RMM, PINF, OF | NX);
	CK2(f32_add, MAXF, 0x73000000u, RTZ, MAXF, NX);
	/* Just below half an ulp: no overflow in RNE, overflow in RUP. */
	CK2(f32_add, MAXF, 0x72ffffffu, RNE, MAXF, NX);
	CK2(f32_add, MAXF, 0x72ffffffu, RUP, PINF, OF | NX);
	CK2(f64_add, DMAX, DMAX, RNE, DPINF, OF | NX);
	CK2(f64_add, DMAX, DMAX, RTZ, DMAX, OF | NX);
	CK2(f64_add, DMAX | DMZ, DMAX | DMZ, RUP, DMAX | DMZ, OF | NX);
	CK2(f64_add, DMAX | DMZ, DMAX | DMZ, RMM, DMINF, OF | NX);
}

TEST(add_subnormal)
{
	CK2(f32_add, MINS, MINS, RNE, 0x00000002u, 0);
	CK2(f32_add, 0x007fffffu, MINS, RNE, MINN, 0);
	CK2(f32_sub, MINN, MINS, RNE, 0x007fffffu, 0);
	CK2(f32_sub, MINS, MINS, RNE, PZ, 0);
	CK2(f32_add, MINS | MZ, MINS, RDN, MZ, 0);
	CK2(f64_add, DMINS, DMINS, RNE, 2, 0);
	CK2(f64_sub, DMINN, DMINS, RNE, 0x000fffffffffffffull, 0);
	/* A tiny addend to 1.0 only touches the rounding. */
	CK2(f64_add, D1, DMINS, RNE, D1, NX);
	CK2(f64_add, D1, DMINS, RUP, D1 + 1, NX);
	CK2(f64_sub, D1, DMINS, RTZ, 0x3fefffffffffffffull, NX);
	CK2(f64_sub, D1, DMINS, RMM, D1, NX);
}

TEST(add_rounding_modes_and_rmm_ties)
{
	/* 1 + 2^-24 is exactly halfway between 1 and 1 + 2^-23. */
	CK2(f32_add, P1, 0x33800000u, RNE, P1, NX);
	CK2(f32_add, P1, 0x33800000u, RMM, 0x3f800001u, NX);
	CK2(f32_add, P1, 0x33800000u, RTZ, P1, NX);
	CK2(f32_add, P1, 0x33800000u, RDN, P1, NX);
	CK2(f32_add, P1, 0x33800000u, RUP, 0x3f800001u, NX);
	CK2(f32_add, M1, 0xb3800000u, RNE, M1, NX);
	CK2(f32_add, M1, 0xb3800000u, RMM, 0xbf800001u, NX);
	CK2(f32_add, M1, 0xb3800000u, RDN, 0xbf800001u, NX);
	CK2(f32_add, M1, 0xb3800000u, RUP, M1, NX);
	/* Odd neighbour: RNE and RMM agree. */
	CK2(f32_add, 0x3f800001u, 0x33800000u, RNE, 0x3f800002u, NX);
	CK2(f32_add, 0x3f800001u, 0x33800000u, RMM, 0x3f800002u, NX);
	/* f64: 1 + 2^-53 */
	CK2(f64_add, D1, 0x3ca0000000000000ull, RNE, D1, NX);
	CK2(f64_add, D1, 0x3ca0000000000000ull, RMM, D1 + 1, NX);
	CK2(f64_add, DM1, 0xbca0000000000000ull, RMM, DM1 + 1, NX);
	CK2(f64_add, DM1, 0xbca0000000000000ull, RTZ, DM1, NX);
}

TEST(mul_basic)
{
	CK2(f32_mul, PINF, PZ, RNE, QN32, NV);
	CK2(f32_mul, MZ, PINF, RNE, QN32, NV);
	CK2(f32_mul, MINF, MZ | 5, RNE, PINF, 0);
	CK2(f32_mul, MZ, P1, RNE, MZ, 0);
	CK2(f32_mul, MZ, MZ, RNE, PZ, 0);
	CK2(f32_mul, QNANP, PZ, RNE, QN32, 0);
	CK2(f32_mul, SNAN, PINF, RNE, QN32, NV);
	CK2(f32_mul, MAXF, 0x40000000u, RNE, PINF, OF | NX);
	CK2(f32_mul, MAXF, 0xc0000000u, RTZ, MAXF | MZ, OF | NX);
	CK2(f64_mul, DPINF, DPZ, RNE, QN64, NV);
	CK2(f64_mul, DMAX, DMAX, RDN, DMAX, OF | NX);
	CK2(f64_mul, DMAX, DMAX | DMZ, RDN, DMINF, OF | NX);
	/* Subnormal in and out, exact. */
	CK2(f32_mul, 0x00000004u, 0x3e800000u, RNE, MINS, 0);
	CK2(f64_mul, 0x0000000000000004ull, 0x3fd0000000000000ull, RNE, DMINS, 0);
	/* Subnormal times 2^k back to normal. */
	CK2(f64_mul, DMINS, 0x4330000000000000ull, RNE, DMINN, 0);
}

TEST(underflow_tininess_after_rounding)
{
	/* 2^-126 * (1 - 2^-25): before rounding it is tiny, but rounded to
	 * 24 bits with an unbounded exponent it is 2^-126 in RNE/RUP/RMM, so
	 * RISC-V (tininess after rounding) raises no UF there. */
	uint32_t a = 0x21118e00u, b = 0x1ee12000u; /* 18631*2^-75, 1801*2^-76 */
	CK2(f32_mul, a, b, RNE, MINN, NX);
	CK2(f32_mul, a, b, RUP, MINN, NX);
	CK2(f32_mul, a, b, RMM, MINN, NX);
	CK2(f32_mul, a, b, RTZ, 0x007fffffu, UF | NX);
	CK2(f32_mul, a, b, RDN, 0x007fffffu, UF | NX);
	CK2(f32_mul, a | MZ, b, RDN, MINN | MZ, NX);
	CK2(f32_mul, a | MZ, b, RUP, 0x807fffffu, UF | NX);
	/* 2^-126 * (1 - 2^-24) is exact in 24 bits below 2^-126: tiny, and
	 * inexact as a subnormal, so UF even though it rounds to 2^-126. */
	CK2(f32_mul, 0x3f7fffffu, MINN, RNE, MINN, UF | NX);
	CK2(f32_mul, 0x3f7fffffu, MINN, RTZ, 0x007fffffu, UF | NX);
	/* binary64: 2^-1022 * (1 - 2^-54) */
	uint64_t c = 0x2075555aaaac0000ull, d = 0x1f87fffa00000000ull;
	CK2(f64_mul, c, d, RNE, DMINN, NX);
	CK2(f64_mul, c, d, RTZ, 0x000fffffffffffffull, UF | NX);
	CK2(f64_mul, 0x3fefffffffffffffull, DMINN, RNE, DMINN, UF | NX);
	/* Exact subnormal results never raise UF. */
	CK2(f64_mul, 0x0010000000000002ull, 0x3fe0000000000000ull, RNE,
	    0x0008000000000001ull, 0);
	/* Underflow to zero. */
	CK2(f32_mul, MINS, 0x3f000000u, RNE, PZ, UF | NX);
	CK2(f32_mul, MINS, 0x3f000000u, RMM, MINS, UF | NX);
	CK2(f32_mul, MINS, 0x3f000000u, RUP, MINS, UF | NX);
	CK2(f32_mul, MINS | MZ, 0x3f000000u, RUP, MZ, UF | NX);
	CK2(f32_mul, MINS | MZ, 0x3f000000u, RDN, MINS | MZ, UF | NX);
	CK2(f64_mul, DMINS, DMINS, RNE, DPZ, UF | NX);
	CK2(f64_mul, DMINS, DMINS, RUP, DMINS, UF | NX);
	CK2(f64_mul, DMINS, 0x3fe8000000000000ull, RNE, DMINS, UF | NX);
}

TEST(div_basic)
{
	CK2(f32_div, P1, PZ, RNE, PINF, DZ);
	CK2(f32_div, M1, PZ, RNE, MINF, DZ);
	CK2(f32_div, P1, MZ, RNE, MINF, DZ);
	CK2(f32_div, PZ, PZ, RNE, QN32, NV);
	CK2(f32_div, PINF, MINF, RNE, QN32, NV);
	CK2(f32_div, PINF, PZ, RNE, PINF, 0);
	CK2(f32_div, P1, MINF, RNE, MZ, 0);
	CK2(f32_div, MZ, P1, RNE, MZ, 0);
	CK2(f32_div, QNANP, PZ, RNE, QN32, 0);
	CK2(f32_div, SNAN, PZ, RNE, QN32, NV);
	/* 1/3 per rounding mode */
	CK2(f32_div, P1, 0x40400000u, RNE, 0x3eaaaaabu, NX);
	CK2(f32_div, P1, 0x40400000u, RTZ, 0x3eaaaaaau, NX);
	CK2(f32_div, P1, 0x40400000u, RDN, 0x3eaaaaaau, NX);
	CK2(f32_div, P1, 0x40400000u, RUP, 0x3eaaaaabu, NX);
	CK2(f32_div, P1, 0x40400000u, RMM, 0x3eaaaaabu, NX);
	CK2(f64_div, D1, 0x4008000000000000ull, RNE, 0x3fd5555555555555ull, NX);
	CK2(f64_div, D1, 0x4008000000000000ull, RUP, 0x3fd5555555555556ull, NX);
	CK2(f64_div, DM1, 0x4008000000000000ull, RDN, 0xbfd5555555555556ull, NX);
	CK2(f64_div, D1, DPZ, RNE, DPINF, DZ);
	CK2(f64_div, DPZ, DMZ, RNE, QN64, NV);
	/* Subnormal quotients: 3*2^-149 / 2 is a tie between 1 and 2 ulps. */
	CK2(f32_div, 0x00000003u, 0x40000000u, RNE, 0x00000002u, UF | NX);
	CK2(f32_div, 0x00000003u, 0x40000000u, RMM, 0x00000002u, UF | NX);
	CK2(f32_div, MINS, 0x40000000u, RNE, PZ, UF | NX);
	CK2(f32_div, MINS, 0x40000000u, RMM, MINS, UF | NX);
	CK2(f32_div, MINS, 0x3f000000u, RNE, 0x00000002u, 0);
	CK2(f64_div, DMAX, 0x3fe0000000000000ull, RNE, DPINF, OF | NX);
	CK2(f64_div, DMINS, 0x4010000000000000ull, RUP, DMINS, UF | NX);
}

TEST(sqrt_basic)
{
	CK1(f32_sqrt, M1, RNE, QN32, NV);
	CK1(f32_sqrt, MINF, RNE, QN32, NV);
	CK1(f32_sqrt, MINS | MZ, RNE, QN32, NV);
	CK1(f32_sqrt, MZ, RNE, MZ, 0);
	CK1(f32_sqrt, PZ, RNE, PZ, 0);
	CK1(f32_sqrt, PINF, RNE, PINF, 0);
	CK1(f32_sqrt, SNAN, RNE, QN32, NV);
	CK1(f32_sqrt, QNANP | MZ, RNE, QN32, 0);
	CK1(f32_sqrt, 0x40800000u, RNE, 0x40000000u, 0);
	CK1(f32_sqrt, 0x40000000u, RNE, 0x3fb504f3u, NX);
	CK1(f32_sqrt, 0x40000000u, RUP, 0x3fb504f4u, NX);
	CK1(f32_sqrt, 0x40000000u, RTZ, 0x3fb504f3u, NX);
	CK1(f32_sqrt, MINS, RNE, 0x1a3504f3u, NX); /* sqrt(2^-149) */
	CK1(f32_sqrt, 0x00000002u, RNE, 0x1a800000u, 0); /* 2^-148 */
	CK1(f64_sqrt, 0x4000000000000000ull, RNE, 0x3ff6a09e667f3bcdull, NX);
	CK1(f64_sqrt, 0x4000000000000000ull, RDN, 0x3ff6a09e667f3bccull, NX);
	CK1(f64_sqrt, 0x4000000000000000ull, RMM, 0x3ff6a09e667f3bcdull, NX);
	CK1(f64_sqrt, DMINS, RNE, 0x1e60000000000000ull, 0); /* 2^-537 */
	CK1(f64_sqrt, DMAX, RNE, 0x5fefffffffffffffull, NX);
	CK1(f64_sqrt, DMZ, RDN, DMZ, 0);
	CK1(f64_sqrt, DMINF, RNE, QN64, NV);
	CK1(f64_sqrt, DSNAN, RNE, QN64, NV);
	CK1(f64_sqrt, DQNANP, RNE, QN64, 0);
}

TEST(fma_single_rounding)
{
	/* (1+2^-27)^2 - 1 = 2^-26 + 2^-54 exactly; rounding the product
	 * first would lose the 2^-54. */
	uint64_t a = 0x3ff0000002000000ull;
	CKFMA(f64_muladd, a, a, DM1, 0, 0, RNE, 0x3e50000001000000ull, 0);
	unsigned fl = 0;
	EXPECT_EQ(f64_add(f64_mul(a, a, RNE, &fl), DM1, RNE, &fl),
		  0x3e50000000000000ull);
	/* (1+2^-26)(1+2^-27) = 1 + 3*2^-27 + 2^-53, an exact RNE tie; a tiny
	 * addend decides it, which only a single rounding sees. */
	uint64_t b = 0x3ff0000004000000ull, tiny = 0x3370000000000000ull;
	CKFMA(f64_muladd, a, b, DPZ, 0, 0, RNE, 0x3ff0000006000000ull, NX);
	CKFMA(f64_muladd, a, b, DPZ, 0, 0, RMM, 0x3ff0000006000001ull, NX);
	CKFMA(f64_muladd, a, b, tiny, 0, 0, RNE, 0x3ff0000006000001ull, NX);
	CKFMA(f64_muladd, a, b, tiny, 0, 1, RNE, 0x3ff0000006000000ull, NX);
	CKFMA(f64_muladd, a, b, tiny, 0, 1, RMM, 0x3ff0000006000000ull, NX);
	CKFMA(f64_muladd, a, b, tiny, 1, 1, RNE, 0xbff0000006000001ull, NX);
	CKFMA(f64_muladd, a, b, tiny, 1, 0, RNE, 0xbff0000006000000ull, NX);
	/* (1+2^-26+2^-52)(1+2^-27) - (2^-79 + 2^-131): just below a tie, but
	 * only the addend bits that fall off the 128-bit product frame show
	 * it; a lost sticky bit would round to even (...02) instead. */
	uint64_t a2 = 0x3ff0000004000001ull, c2 = 0xbb00000000000001ull;
	CKFMA(f64_muladd, a2, a, c2, 0, 0, RNE, 0x3ff0000006000001ull, NX);
	CKFMA(f64_muladd, a2, a, c2, 0, 0, RMM, 0x3ff0000006000001ull, NX);
	CKFMA(f64_muladd, a2, a, c2, 0, 0, RUP, 0x3ff0000006000002ull, NX);
	CKFMA(f64_muladd, a2, a, c2 ^ DMZ, 0, 0, RNE, 0x3ff0000006000002ull, NX);
	/* binary32: (1+2^-12)^2 - 1 = 2^-11 + 2^-24 */
	CKFMA(f32_muladd, 0x3f800800u, 0x3f800800u, M1, 0, 0, RNE, 0x3a000400u, 0);
	CKFMA(f32_muladd, 0x3f800800u, 0x3f800800u, M1, 1, 1, RNE, 0xba000400u, 0);
	/* Exact cancellation gives +0, or -0 when rounding down. */
	CKFMA(f64_muladd, D1, D1, DM1, 0, 0, RNE, DPZ, 0);
	CKFMA(f64_muladd, D1, D1, DM1, 0, 0, RDN, DMZ, 0);
	CKFMA(f32_muladd, P1, P1, P1, 1, 0, RDN, MZ, 0);
	/* Zero product plus zero addend: IEEE sum-of-zeros sign rules. */
	CKFMA(f32_muladd, PZ, P1, MZ, 0, 0, RNE, PZ, 0);
	CKFMA(f32_muladd, PZ, P1, MZ, 0, 0, RDN, MZ, 0);
	CKFMA(f32_muladd, MZ, P1, MZ, 0, 0, RNE, MZ, 0);
	CKFMA(f32_muladd, PZ, P1, PZ, 1, 1, RNE, MZ, 0);
	CKFMA(f64_muladd, DPZ, DM1, DPZ, 0, 0, RUP, DPZ, 0);
	/* Zero product: the addend comes back exactly (sign flipped if asked). */
	CKFMA(f64_muladd, DPZ, D1, DMINS, 0, 1, RNE, DMINS | DMZ, 0);
	/* Tiny product and zero addend round once. */
	CKFMA(f32_muladd, MINS, 0x3f000000u, PZ, 0, 0, RNE, PZ, UF | NX);
	CKFMA(f32_muladd, MINS, 0x3f000000u, MZ, 0, 0, RNE, PZ, UF | NX);
	/* Overflow. */
	CKFMA(f64_muladd, DMAX, 0x4000000000000000ull, DMAX | DMZ, 0, 0, RNE,
	      DMAX, 0);
	CKFMA(f64_muladd, DMAX, 0x4000000000000000ull, DMZ, 0, 0, RTZ, DMAX, OF | NX);
}

TEST(fma_special)
{
	/* inf * 0 is invalid even with a quiet NaN addend (RISC-V). */
	CKFMA(f32_muladd, PINF, PZ, QNANP, 0, 0, RNE, QN32, NV);
	CKFMA(f32_muladd, MZ, MINF, P1, 0, 0, RNE, QN32, NV);
	CKFMA(f64_muladd, DPZ, DPINF, DQNANP, 0, 0, RNE, QN64, NV);
	CKFMA(f32_muladd, QNANP, P1, P1, 0, 0, RNE, QN32, 0);
	CKFMA(f32_muladd, P1, P1, QNANP, 0, 0, RNE, QN32, 0);
	CKFMA(f32_muladd, P1, P1, SNAN, 0, 0, RNE, QN32, NV);
	CKFMA(f32_muladd, QNANP, PINF, PZ, 0, 0, RNE, QN32, 0);
	CKFMA(f64_muladd, DSNAN, DPZ, D1, 0, 0, RNE, QN64, NV);
	/* inf - inf */
	CKFMA(f32_muladd, PINF, P1, MINF, 0, 0, RNE, QN32, NV);
	CKFMA(f32_muladd, PINF, P1, PINF, 0, 1, RNE, QN32, NV);
	CKFMA(f32_muladd, PINF, P1, PINF, 0, 0, RNE, PINF, 0);
	CKFMA(f32_muladd, PINF, M1, P1, 1, 0, RNE, PINF, 0);
	CKFMA(f64_muladd, D1, D1, DMINF, 0, 0, RNE, DMINF, 0);
	CKFMA(f64_muladd, D1, D1, DMINF, 0, 1, RNE, DPINF, 0);
}

TEST(min_max)
{
	CKF(f32_min, PZ, MZ, MZ, 0);
	CKF(f32_min, MZ, PZ, MZ, 0);
	CKF(f32_max, PZ, MZ, PZ, 0);
	CKF(f32_max, MZ, PZ, PZ, 0);
	CKF(f32_min, QNANP, P1, P1, 0);
	CKF(f32_max, M1, QNANP, M1, 0);
	CKF(f32_min, SNAN, P1, P1, NV);
	CKF(f32_max, P1, SNAN, P1, NV);
	CKF(f32_min, QNANP, QNANP, QN32, 0);
	CKF(f32_max, SNAN, QNANP, QN32, NV);
	CKF(f32_min, MINF, MAXF, MINF, 0);
	CKF(f32_max, MINF, MAXF, MAXF, 0);
	CKF(f32_min, M1, 0xbf800001u, 0xbf800001u, 0);
	CKF(f32_max, MINS, MINS | MZ, MINS, 0);
	CKF(f64_min, DPZ, DMZ, DMZ, 0);
	CKF(f64_max, DMZ, DPZ, DPZ, 0);
	CKF(f64_min, DQNANP, DM1, DM1, 0);
	CKF(f64_max, DSNAN, D1, D1, NV);
	CKF(f64_max, DSNAN, DSNAN, QN64, NV);
	CKF(f64_min, D1, 0x3ff0000000000001ull, D1, 0);
	CKF(f64_max, DMINF, DMINS, DMINS, 0);
}

TEST(compare)
{
	CKF(f32_eq, PZ, MZ, 1, 0);
	CKF(f32_lt, MZ, PZ, 0, 0);
	CKF(f32_le, MZ, PZ, 1, 0);
	CKF(f32_le, PZ, MZ, 1, 0);
	CKF(f32_eq, QNANP, QNANP, 0, 0);
	CKF(f32_eq, SNAN, P1, 0, NV);
	CKF(f32_lt, QNANP, P1, 0, NV);
	CKF(f32_le, P1, QNANP, 0, NV);
	CKF(f32_lt, M1, P1, 1, 0);
	CKF(f32_lt, P1, M1, 0, 0);
	CKF(f32_lt, 0xbf800001u, M1, 1, 0);
	CKF(f32_le, MINF, MINF, 1, 0);
	CKF(f32_lt, MINF, MINF, 0, 0);
	CKF(f32_eq, PINF, PINF, 1, 0);
	CKF(f32_eq, P1, 0x3f800001u, 0, 0);
	CKF(f64_eq, DPZ, DMZ, 1, 0);
	CKF(f64_eq, DQNANP, D1, 0, 0);
	CKF(f64_eq, DSNAN, DSNAN, 0, NV);
	CKF(f64_lt, DQNANP, D1, 0, NV);
	CKF(f64_le, DQNANP, DQNANP, 0, NV);
	CKF(f64_lt, DMINS | DMZ, DPZ, 1, 0);
	CKF(f64_le, DMAX, DPINF, 1, 0);
	CKF(f64_lt, DM1, 0xbfefffffffffffffull, 1, 0);
}

TEST(classify)
{
	EXPECT_EQ(f32_classify(MINF), 1u << 0);
	EXPECT_EQ(f32_classify(M1), 1u << 1);
	EXPECT_EQ(f32_classify(MINN | MZ), 1u << 1);
	EXPECT_EQ(f32_classify(0x807fffffu), 1u << 2);
	EXPECT_EQ(f32_classify(MZ), 1u << 3);
	EXPECT_EQ(f32_classify(PZ), 1u << 4);
	EXPECT_EQ(f32_classify(MINS), 1u << 5);
	EXPECT_EQ(f32_classify(MAXF), 1u << 6);
	EXPECT_EQ(f32_classify(PINF), 1u << 7);
	EXPECT_EQ(f32_classify(SNAN), 1u << 8);
	EXPECT_EQ(f32_classify(0xffbfffffu), 1u << 8);
	EXPECT_EQ(f32_classify(QN32), 1u << 9);
	EXPECT_EQ(f32_classify(0xffc00001u), 1u << 9);
	EXPECT_EQ(f64_classify(DMINF), 1u << 0);
	EXPECT_EQ(f64_classify(DM1), 1u << 1);
	EXPECT_EQ(f64_classify(0x800fffffffffffffull), 1u << 2);
	EXPECT_EQ(f64_classify(DMZ), 1u << 3);
	EXPECT_EQ(f64_classify(DPZ), 1u << 4);
	EXPECT_EQ(f64_classify(DMINS), 1u << 5);
	EXPECT_EQ(f64_classify(DMINN), 1u << 6);
	EXPECT_EQ(f64_classify(DPINF), 1u << 7);
	EXPECT_EQ(f64_classify(DSNAN), 1u << 8);
	EXPECT_EQ(f64_classify(0x7ff7ffffffffffffull), 1u << 8);
	EXPECT_EQ(f64_classify(QN64), 1u << 9);
	EXPECT_EQ(f64_classify(DQNANP), 1u << 9);
	/* A NaN-boxing failure reads as the canonical NaN. */
	EXPECT_EQ(fp_unbox32(0x00000000ffffffffull), QN32);
	EXPECT_EQ(fp_unbox32(fp_box32(P1)), P1);
}

TEST(float_to_int_saturation)
{
	/* NaN, +inf, +overflow -> max; -inf, -overflow -> min (0 unsigned). */
	CK1(f32_to_i32, QNANP, RNE, 0x7fffffff, NV);
	CK1(f32_to_i32, SNAN | MZ, RNE, 0x7fffffff, NV);
	CK1(f32_to_i32, PINF, RNE, 0x7fffffff, NV);
	CK1(f32_to_i32, MINF, RNE, INT32_MIN, NV);
	CK1(f32_to_i32, 0x4f000000u, RNE, 0x7fffffff, NV); /* 2^31 */
	CK1(f32_to_i32, 0xcf000000u, RNE, INT32_MIN, 0);  /* -2^31 */
	CK1(f32_to_i32, 0xcf000001u, RNE, INT32_MIN, NV);
	CK1(f32_to_u32, QNANP, RNE, 0xffffffffu, NV);
	CK1(f32_to_u32, PINF, RNE, 0xffffffffu, NV);
	CK1(f32_to_u32, MINF, RNE, 0, NV);
	CK1(f32_to_u32, 0x4f800000u, RNE, 0xffffffffu, NV); /* 2^32 */
	CK1(f32_to_u32, 0x4f7fffffu, RNE, 0xffffff00u, 0);
	CK1(f32_to_u32, M1, RNE, 0, NV);
	CK1(f32_to_i64, QNANP, RNE, INT64_MAX, NV);
	CK1(f32_to_i64, PINF, RNE, INT64_MAX, NV);
	CK1(f32_to_i64, MINF, RNE, INT64_MIN, NV);
	CK1(f32_to_i64, 0x5f000000u, RNE, INT64_MAX, NV); /* 2^63 */
	CK1(f32_to_i64, 0xdf000000u, RNE, INT64_MIN, 0);
	CK1(f32_to_i64, 0xdf000001u, RNE, INT64_MIN, NV);
	CK1(f32_to_u64, QNANP, RNE, UINT64_MAX, NV);
	CK1(f32_to_u64, PINF, RNE, UINT64_MAX, NV);
	CK1(f32_to_u64, MINF, RNE, 0, NV);
	CK1(f32_to_u64, 0x5f800000u, RNE, UINT64_MAX, NV); /* 2^64 */
	CK1(f32_to_u64, 0x5f7fffffu, RNE, 0xffffff0000000000ull, 0);
	CK1(f32_to_u64, M1, RTZ, 0, NV);

	CK1(f64_to_i32, DQNANP, RNE, 0x7fffffff, NV);
	CK1(f64_to_i32, DPINF, RNE, 0x7fffffff, NV);
	CK1(f64_to_i32, DMINF, RNE, INT32_MIN, NV);
	CK1(f64_to_i32, 0x41dfffffffc00000ull, RNE, 0x7fffffff, 0); /* 2^31-1 */
	CK1(f64_to_i32, 0x41dfffffffe00000ull, RNE, 0x7fffffff, NV); /* 2^31-.5 */
	CK1(f64_to_i32, 0x41dfffffffe00000ull, RTZ, 0x7fffffff, NX);
	CK1(f64_to_i32, 0x41dfffffffe00000ull, RMM, 0x7fffffff, NV);
	CK1(f64_to_i32, 0xc1e0000000000000ull, RNE, INT32_MIN, 0);
	CK1(f64_to_i32, 0xc1e0000000100000ull, RNE, INT32_MIN, NX); /* -2^31-.5 */
	CK1(f64_to_i32, 0xc1e0000000100000ull, RDN, INT32_MIN, NV);
	CK1(f64_to_i32, 0xc1e0000000200000ull, RTZ, INT32_MIN, NV); /* -2^31-1 */
	CK1(f64_to_u32, DQNANP, RNE, 0xffffffffu, NV);
	CK1(f64_to_u32, DMINF, RNE, 0, NV);
	CK1(f64_to_u32, 0x41effffffff00000ull, RTZ, 0xffffffffu, NX); /* 2^32-.5 */
	CK1(f64_to_u32, 0x41effffffff00000ull, RNE, 0xffffffffu, NV);
	CK1(f64_to_u32, 0x41f0000000000000ull, RTZ, 0xffffffffu, NV);
	CK1(f64_to_i64, DQNANP, RNE, INT64_MAX, NV);
	CK1(f64_to_i64, DMINF, RNE, INT64_MIN, NV);
	CK1(f64_to_i64, 0x43e0000000000000ull, RNE, INT64_MAX, NV);
	CK1(f64_to_i64, 0x43dfffffffffffffull, RNE, 0x7ffffffffffffc00ll, 0);
	CK1(f64_to_i64, 0xc3e0000000000000ull, RNE, INT64_MIN, 0);
	CK1(f64_to_i64, 0xc3e0000000000001ull, RNE, INT64_MIN, NV);
	CK1(f64_to_u64, DQNANP, RNE, UINT64_MAX, NV);
	CK1(f64_to_u64, DPINF, RNE, UINT64_MAX, NV);
	CK1(f64_to_u64, DMINF, RNE, 0, NV);
	CK1(f64_to_u64, 0x43f0000000000000ull, RNE, UINT64_MAX, NV);
	CK1(f64_to_u64, 0x43efffffffffffffull, RNE, 0xfffffffffffff800ull, 0);
	CK1(f64_to_u64, DM1, RNE, 0, NV);
	CK1(f64_to_u64, 0x7fe0000000000000ull, RNE, UINT64_MAX, NV);
}

TEST(float_to_int_rounding)
{
	/* 2.5 and -2.5 in every mode. */
	CK1(f32_to_i32, 0x40200000u, RNE, 2, NX);
	CK1(f32_to_i32, 0x40200000u, RMM, 3, NX);
	CK1(f32_to_i32, 0x40200000u, RTZ, 2, NX);
	CK1(f32_to_i32, 0x40200000u, RDN, 2, NX);
	CK1(f32_to_i32, 0x40200000u, RUP, 3, NX);
	CK1(f32_to_i32, 0xc0200000u, RNE, -2, NX);
	CK1(f32_to_i32, 0xc0200000u, RMM, -3, NX);
	CK1(f32_to_i32, 0xc0200000u, RTZ, -2, NX);
	CK1(f32_to_i32, 0xc0200000u, RDN, -3, NX);
	CK1(f32_to_i32, 0xc0200000u, RUP, -2, NX);
	CK1(f64_to_i64, 0x400c000000000000ull, RNE, 4, NX); /* 3.5 */
	CK1(f64_to_i64, 0x4004000000000000ull, RMM, 3, NX); /* 2.5 */
	CK1(f64_to_i64, 0xc004000000000000ull, RNE, -2, NX);
	/* Signed zero and tiny values. */
	CK1(f32_to_i32, MZ, RNE, 0, 0);
	CK1(f32_to_u32, MZ, RNE, 0, 0);
	CK1(f64_to_u64, DMZ, RDN, 0, 0);
	CK1(f32_to_i32, MINS, RUP, 1, NX);
	CK1(f32_to_i32, MINS | MZ, RDN, -1, NX);
	CK1(f32_to_i32, MINS, RNE, 0, NX);
	CK1(f64_to_i64, DMINS | DMZ, RTZ, 0, NX);
	/* Negative fractions to unsigned: in range iff they round to 0. */
	CK1(f32_to_u32, 0xbf000000u, RNE, 0, NX);  /* -0.5 -> -0 */
	CK1(f32_to_u32, 0xbf000000u, RTZ, 0, NX);
	CK1(f32_to_u32, 0xbf000000u, RUP, 0, NX);
	CK1(f32_to_u32, 0xbf000000u, RMM, 0, NV);  /* -> -1 */
	CK1(f32_to_u32, 0xbf000000u, RDN, 0, NV);
	CK1(f64_to_u64, 0xbfe8000000000000ull, RNE, 0, NV); /* -0.75 */
	CK1(f64_to_u64, 0xbfe8000000000000ull, RTZ, 0, NX);
	CK1(f64_to_u32, 0xbfe0000000000000ull, RNE, 0, NX);
	CK1(f32_to_u64, 0xbf000000u, RMM, 0, NV);
	CK1(f32_to_u64, 0x3f400000u, RMM, 1, NX);
}

TEST(int_to_float)
{
	CK1(i32_to_f32, 0, RNE, PZ, 0);
	CK1(i32_to_f32, -1, RNE, M1, 0);
	CK1(i32_to_f32, INT32_MIN, RNE, 0xcf000000u, 0);
	CK1(i32_to_f32, 16777217, RNE, 0x4b800000u, NX); /* 2^24+1: tie */
	CK1(i32_to_f32, 16777217, RMM, 0x4b800001u, NX);
	CK1(i32_to_f32, 16777217, RUP, 0x4b800001u, NX);
	CK1(i32_to_f32, -16777217, RMM, 0xcb800001u, NX);
	CK1(i32_to_f32, -16777217, RDN, 0xcb800001u, NX);
	CK1(i32_to_f32, -16777217, RUP, 0xcb800000u, NX);
	CK1(i32_to_f32, INT32_MAX, RTZ, 0x4effffffu, NX);
	CK1(u32_to_f32, 0xffffffffu, RNE, 0x4f800000u, NX);
	CK1(u32_to_f32, 0xffffffffu, RTZ, 0x4f7fffffu, NX);
	CK1(u32_to_f32, 0, RDN, PZ, 0);
	CK1(i64_to_f32, INT64_MIN, RNE, 0xdf000000u, 0);
	CK1(i64_to_f32, INT64_MAX, RNE, 0x5f000000u, NX);
	CK1(i64_to_f32, INT64_MAX, RTZ, 0x5effffffu, NX);
	CK1(i64_to_f32, -3, RNE, 0xc0400000u, 0);
	CK1(u64_to_f32, UINT64_MAX, RNE, 0x5f800000u, NX);
	CK1(u64_to_f32, UINT64_MAX, RDN, 0x5f7fffffu, NX);
	CK1(u64_to_f32, 0x8000008000000000ull, RNE, 0x5f000000u, NX); /* tie */
	CK1(u64_to_f32, 0x8000008000000000ull, RMM, 0x5f000001u, NX);
	CK1(i32_to_f64, INT32_MIN, RNE, 0xc1e0000000000000ull, 0);
	CK1(i32_to_f64, 0, RDN, DPZ, 0);
	CK1(u32_to_f64, 0xffffffffu, RTZ, 0x41efffffffe00000ull, 0);
	CK1(i64_to_f64, INT64_MIN, RNE, 0xc3e0000000000000ull, 0);
	CK1(i64_to_f64, (1ll << 53) + 1, RNE, 0x4340000000000000ull, NX);
	CK1(i64_to_f64, (1ll << 53) + 1, RMM, 0x4340000000000001ull, NX);
	CK1(i64_to_f64, -(1ll << 53) - 1, RMM, 0xc340000000000001ull, NX);
	CK1(i64_to_f64, (1ll << 53) + 3, RNE, 0x4340000000000002ull, NX);
	CK1(u64_to_f64, UINT64_MAX, RNE, 0x43f0000000000000ull, NX);
	CK1(u64_to_f64, UINT64_MAX, RTZ, 0x43efffffffffffffull, NX);
	CK1(u64_to_f64, 1, RNE, D1, 0);
}

TEST(f32_f64_conversions)
{
	unsigned fl = 0;
	EXPECT_EQ(f32_to_f64(SNAN, &fl), QN64);
	EXPECT_EQ(fl, NV);
	fl = 0;
	EXPECT_EQ(f32_to_f64(QNANP | MZ, &fl), QN64);
	EXPECT_EQ(f32_to_f64(MINS, &fl), 0x36a0000000000000ull); /* 2^-149 */
	EXPECT_EQ(f32_to_f64(0x807fffffu, &fl), 0xb80fffffc0000000ull);
	EXPECT_EQ(f32_to_f64(MZ, &fl), DMZ);
	EXPECT_EQ(f32_to_f64(MINF, &fl), DMINF);
	EXPECT_EQ(f32_to_f64(MAXF, &fl), 0x47efffffe0000000ull);
	EXPECT_EQ(fl, 0);

	CK1(f64_to_f32, DSNAN, RNE, QN32, NV);
	CK1(f64_to_f32, DQNANP, RNE, QN32, 0);
	CK1(f64_to_f32, 0x7ff8000000000001ull, RNE, QN32, 0);
	CK1(f64_to_f32, DMINF, RNE, MINF, 0);
	CK1(f64_to_f32, DMZ, RNE, MZ, 0);
	CK1(f64_to_f32, DMAX, RNE, PINF, OF | NX);
	CK1(f64_to_f32, DMAX, RTZ, MAXF, OF | NX);
	CK1(f64_to_f32, DMAX | DMZ, RUP, MAXF | MZ, OF | NX);
	CK1(f64_to_f32, DMAX | DMZ, RDN, MINF, OF | NX);
	/* Rounds up to exactly 2^128: overflow only after rounding. */
	CK1(f64_to_f32, 0x47efffffffffffffull, RNE, PINF, OF | NX);
	CK1(f64_to_f32, 0x47efffffffffffffull, RTZ, MAXF, NX);
	/* 2^-150: a tie between 0 and the smallest subnormal. */
	CK1(f64_to_f32, 0x3690000000000000ull, RNE, PZ, UF | NX);
	CK1(f64_to_f32, 0x3690000000000000ull, RMM, MINS, UF | NX);
	CK1(f64_to_f32, 0x3690000000000001ull, RNE, MINS, UF | NX);
	CK1(f64_to_f32, DMINS, RUP, MINS, UF | NX);
	CK1(f64_to_f32, DMINS, RDN, PZ, UF | NX);
	CK1(f64_to_f32, DMINS | DMZ, RDN, MINS | MZ, UF | NX);
	CK1(f64_to_f32, 0x36a0000000000000ull, RNE, MINS, 0);
	/* Just below 2^-126 rounding up to it: not tiny after rounding. */
	CK1(f64_to_f32, 0x380fffffffffffffull, RNE, MINN, NX);
	CK1(f64_to_f32, 0x380ffffff0000000ull, RNE, MINN, NX);
	CK1(f64_to_f32, 0x380ffffff0000000ull, RTZ, 0x007fffffu, UF | NX);
	CK1(f64_to_f32, 0x380fffffe0000000ull, RNE, MINN, UF | NX);
	CK1(f64_to_f32, 0x3ff0000010000000ull, RNE, P1, NX); /* 1+2^-24 */
	CK1(f64_to_f32, 0x3ff0000010000000ull, RMM, 0x3f800001u, NX);
	CK1(f64_to_f32, 0x3ff0000010000000ull, RUP, 0x3f800001u, NX);
}

/* ---- random cross-checks ---------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Random encodings biased to the interesting places: zeros, subnormals,
 * the overflow and underflow thresholds, specials, few-bit significands
 * (so exact results and ties happen) and exponents near `near`. */
static uint64_t gen(uint64_t *s, unsigned ebits, unsigned mbits, int near)
{
	uint64_t r = rnd(s), m = rnd(s);
	int emaxf = (1 << ebits) - 1;
	int e;
	switch (r & 15) {
	case 0: e = 0; break;
	case 1: e = 1 + (int)((r >> 8) % 3); break;
	case 2: e = emaxf - 1 - (int)((r >> 8) % 3); break;
	case 3: e = (r >> 8) % 8 ? emaxf - 1 : emaxf; break;
	case 4: case 5: case 6: case 7:
		e = near + (int)((r >> 8) % 61) - 30;
		break;
	case 8: case 9:
		e = near + (int)((r >> 8) % 5) - 2;
		break;
	default: e = (int)((r >> 8) % (uint64_t)emaxf); break;
	}
	if (e < 0)
		e = 0;
	if (e > emaxf)
		e = emaxf;
	uint64_t mmask = (1ull << mbits) - 1;
	switch ((r >> 20) & 7) {
	case 0: m = 0; break;
	case 1: m = mmask; break;
	case 2: m &= ~(mmask >> (1 + (r >> 24) % mbits)); break; /* few low bits */
	case 3: m = 1ull << ((r >> 24) % mbits); break;
	case 4: m |= mmask >> ((r >> 24) % 4 + 2); break;
	default: break;
	}
	m &= mmask;
	return ((r >> 40) & 1) << (ebits + mbits) | (uint64_t)e << mbits | m;
}

static uint32_t gen32(uint64_t *s, int near) { return (uint32_t)gen(s, 8, 23, near); }
static uint64_t gen64(uint64_t *s, int near) { return gen(s, 11, 52, near); }
static int exp32(uint32_t v) { return (v >> 23) & 0xff; }
static int exp64(uint64_t v) { return (v >> 52) & 0x7ff; }

static int isnan32(uint32_t v) { return (v & 0x7fffffffu) > 0x7f800000u; }
static int isnan64(uint64_t v) { return (v & ~DMZ) > DPINF; }

#if defined(__x86_64__)
#include <cpuid.h>

static unsigned rc_bits(unsigned rm)
{
	static const unsigned rc[4] = { 0, 3, 1, 2 }; /* RNE RTZ RDN RUP */
	return 0x1f80u | rc[rm] << 13;
}

static unsigned xflags(unsigned csr)
{
	return ((csr & 1) ? NV : 0) | ((csr & 4) ? DZ : 0) | ((csr & 8) ? OF : 0) |
	       ((csr & 16) ? UF : 0) | ((csr & 32) ? NX : 0);
}

/* One SSE instruction under MXCSR rounding `rm`; the MXCSR is restored.
 * x is the destination (and first source), y the second source. */
#define HOST2(name, T, insn)                                                  \
	static T name(T x, T y, unsigned rm, unsigned *fl)                    \
	{                                                                     \
		unsigned old, csr = rc_bits(rm), after;                       \
		__asm__ volatile("stmxcsr %[old]\n\tldmxcsr %[csr]\n\t" insn  \
				 " %[y], %[x]\n\tstmxcsr %[after]\n\t"        \
				 "ldmxcsr %[old]"                             \
				 : [x] "+x"(x), [old] "+m"(old),              \
				   [after] "=m"(after)                        \
				 : [csr] "m"(csr), [y] "x"(y));               \
		*fl = xflags(after);                                          \
		return x;                                                     \
	}
HOST2(h_adds, float, "addss")
HOST2(h_subs, float, "subss")
HOST2(h_muls, float, "mulss")
HOST2(h_divs, float, "divss")
HOST2(h_sqrts, float, "sqrtss")
HOST2(h_addd, double, "addsd")
HOST2(h_subd, double, "subsd")
HOST2(h_muld, double, "mulsd")
HOST2(h_divd, double, "divsd")
HOST2(h_sqrtd, double, "sqrtsd")

#define HOSTCVT(name, TO, FROM, insn, cons, ycons)                                   \
	static TO name(FROM y, unsigned rm, unsigned *fl)                     \
	{                                                                     \
		unsigned old, csr = rc_bits(rm), after;                       \
		TO x = 0;                                                     \
		__asm__ volatile("stmxcsr %[old]\n\tldmxcsr %[csr]\n\t" insn  \
				 " %[y], %[x]\n\tstmxcsr %[after]\n\t"        \
				 "ldmxcsr %[old]"                             \
				 : [x] "+" cons(x), [old] "+m"(old),          \
				   [after] "=m"(after)                        \
				 : [csr] "m"(csr), [y] ycons(y));              \
		*fl = xflags(after);                                          \
		return x;                                                     \
	}
HOSTCVT(h_cvt_ds, double, float, "cvtss2sd", "x", "x")
HOSTCVT(h_cvt_sd, float, double, "cvtsd2ss", "x", "x")
HOSTCVT(h_cvt_i32s, int32_t, float, "cvtss2si", "r", "x")
HOSTCVT(h_cvt_i64s, int64_t, float, "cvtss2si", "r", "x")
HOSTCVT(h_cvt_i32d, int32_t, double, "cvtsd2si", "r", "x")
HOSTCVT(h_cvt_i64d, int64_t, double, "cvtsd2si", "r", "x")
HOSTCVT(h_cvt_s_i32, float, int32_t, "cvtsi2ss", "x", "r")
HOSTCVT(h_cvt_s_i64, float, int64_t, "cvtsi2ss", "x", "r")
HOSTCVT(h_cvt_d_i64, double, int64_t, "cvtsi2sd", "x", "r")

#define HOSTFMA(name, T, insn)                                                \
	static T name(T a, T b, T c, unsigned rm, unsigned *fl)               \
	{                                                                     \
		unsigned old, csr = rc_bits(rm), after;                       \
		__asm__ volatile("stmxcsr %[old]\n\tldmxcsr %[csr]\n\t" insn  \
				 " %[b], %[a], %[c]\n\tstmxcsr %[after]\n\t"  \
				 "ldmxcsr %[old]"                             \
				 : [c] "+x"(c), [old] "+m"(old),              \
				   [after] "=m"(after)                        \
				 : [csr] "m"(csr), [a] "x"(a), [b] "x"(b));   \
		*fl = xflags(after);                                          \
		return c;                                                     \
	}
HOSTFMA(h_fmas, float, "vfmadd231ss")
HOSTFMA(h_fmad, double, "vfmadd231sd")

#define HOSTCMP(name, T, insn)                                                \
	static unsigned name(T x, T y)                                        \
	{                                                                     \
		unsigned old, csr = rc_bits(0), after;                        \
		__asm__ volatile("stmxcsr %[old]\n\tldmxcsr %[csr]\n\t" insn  \
				 " %[y], %[x]\n\tstmxcsr %[after]\n\t"        \
				 "ldmxcsr %[old]"                             \
				 : [old] "+m"(old), [after] "=m"(after)       \
				 : [csr] "m"(csr), [x] "x"(x), [y] "x"(y)     \
				 : "cc");                                     \
		return xflags(after);                                         \
	}
HOSTCMP(h_ucomis, float, "ucomiss")
HOSTCMP(h_comis, float, "comiss")
HOSTCMP(h_ucomid, double, "ucomisd")
HOSTCMP(h_comid, double, "comisd")

static float bf(uint32_t v) { float f; memcpy(&f, &v, 4); return f; }
static double bd(uint64_t v) { double d; memcpy(&d, &v, 8); return d; }
static uint32_t fb(float f) { uint32_t v; memcpy(&v, &f, 4); return v; }
static uint64_t db(double d) { uint64_t v; memcpy(&v, &d, 8); return v; }

static int has_fma(void)
{
	unsigned a, b, c, d;
	return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 12));
}

/* Host NaN results are compared as "some NaN" against our canonical one. */
#define SAME32(ours, host, of, hf)                                            \
	do {                                                                  \
		uint32_t h_ = (host);                                         \
		EXPECT_EQ(ours, isnan32(h_) ? QN32 : h_);                     \
		EXPECT_EQ(of, hf);                                            \
	} while (0)
#define SAME64(ours, host, of, hf)                                            \
	do {                                                                  \
		uint64_t h_ = (host);                                         \
		EXPECT_EQ(ours, isnan64(h_) ? QN64 : h_);                     \
		EXPECT_EQ(of, hf);                                            \
	} while (0)

#ifndef FPU_TEST_NRAND
#define FPU_TEST_NRAND 200000 /* raise with -D for a soak run */
#endif
enum { NRAND = FPU_TEST_NRAND };

TEST(random_f32_arith_vs_host)
{
	uint64_t s = 1;
	for (int i = 0; i < NRAND; i++) {
		uint32_t a = gen32(&s, 127), b = gen32(&s, exp32(a));
		unsigned rm = (unsigned)(rnd(&s) & 3), of, hf;
		of = 0;
		SAME32(f32_add(a, b, rm, &of), fb(h_adds(bf(a), bf(b), rm, &hf)), of, hf);
		of = 0;
		SAME32(f32_sub(a, b, rm, &of), fb(h_subs(bf(a), bf(b), rm, &hf)), of, hf);
		b = gen32(&s, 254 - exp32(a) + (int)(rnd(&s) % 3));
		of = 0;
		SAME32(f32_mul(a, b, rm, &of), fb(h_muls(bf(a), bf(b), rm, &hf)), of, hf);
		b = gen32(&s, exp32(a) - (int)(rnd(&s) % 160) + 30);
		of = 0;
		SAME32(f32_div(a, b, rm, &of), fb(h_divs(bf(a), bf(b), rm, &hf)), of, hf);
		of = 0;
		SAME32(f32_sqrt(a, rm, &of), fb(h_sqrts(bf(0), bf(a), rm, &hf)), of, hf);
	}
}

TEST(random_f64_arith_vs_host)
{
	uint64_t s = 2;
	for (int i = 0; i < NRAND; i++) {
		uint64_t a = gen64(&s, 1023), b = gen64(&s, exp64(a));
		unsigned rm = (unsigned)(rnd(&s) & 3), of, hf;
		of = 0;
		SAME64(f64_add(a, b, rm, &of), db(h_addd(bd(a), bd(b), rm, &hf)), of, hf);
		of = 0;
		SAME64(f64_sub(a, b, rm, &of), db(h_subd(bd(a), bd(b), rm, &hf)), of, hf);
		b = gen64(&s, 2046 - exp64(a) + (int)(rnd(&s) % 3));
		of = 0;
		SAME64(f64_mul(a, b, rm, &of), db(h_muld(bd(a), bd(b), rm, &hf)), of, hf);
		b = gen64(&s, exp64(a) - (int)(rnd(&s) % 1100) + 30);
		of = 0;
		SAME64(f64_div(a, b, rm, &of), db(h_divd(bd(a), bd(b), rm, &hf)), of, hf);
		of = 0;
		SAME64(f64_sqrt(a, rm, &of), db(h_sqrtd(bd(0), bd(a), rm, &hf)), of, hf);
	}
}

/* The host FMA is skipped for NaN operands: x86 does not raise invalid
 * for inf*0 + qNaN, RISC-V does (pinned above). */
TEST(random_fma_vs_host)
{
	if (!has_fma())
		return;
	uint64_t s = 3;
	for (int i = 0; i < NRAND; i++) {
		unsigned rm = (unsigned)(rnd(&s) & 3), of = 0, hf;
		int np = (int)(rnd(&s) & 1), na = (int)(rnd(&s) & 1);
		uint32_t a = gen32(&s, 127), b = gen32(&s, 254 - exp32(a));
		uint32_t c = gen32(&s, exp32(a) + exp32(b) - 127);
		uint32_t ha = a ^ (np ? MZ : 0), hc = c ^ (na ? MZ : 0);
		uint32_t r = f32_muladd(a, b, c, np, na, rm, &of);
		if (!isnan32(a) && !isnan32(b) && !isnan32(c))
			SAME32(r, fb(h_fmas(bf(ha), bf(b), bf(hc), rm, &hf)), of, hf);

		uint64_t x = gen64(&s, 1023), y = gen64(&s, 2046 - exp64(x));
		uint64_t z = gen64(&s, exp64(x) + exp64(y) - 1023);
		uint64_t hx = x ^ (np ? DMZ : 0), hz = z ^ (na ? DMZ : 0);
		of = 0;
		uint64_t q = f64_muladd(x, y, z, np, na, rm, &of);
		if (!isnan64(x) && !isnan64(y) && !isnan64(z))
			SAME64(q, db(h_fmad(bd(hx), bd(y), bd(hz), rm, &hf)), of, hf);
	}
}

TEST(random_compare_vs_host)
{
	uint64_t s = 4;
	for (int i = 0; i < NRAND; i++) {
		uint32_t a = gen32(&s, 127), b = (rnd(&s) & 3) ? gen32(&s, exp32(a)) : a;
		float fa = bf(a), fb_ = bf(b);
		unsigned of = 0;
		EXPECT_EQ(f32_eq(a, b, &of), fa == fb_);
		EXPECT_EQ(of, h_ucomis(fa, fb_));
		of = 0;
		EXPECT_EQ(f32_lt(a, b, &of), fa < fb_);
		EXPECT_EQ(of, h_comis(fa, fb_));
		of = 0;
		EXPECT_EQ(f32_le(a, b, &of), fa <= fb_);
		EXPECT_EQ(of, h_comis(fa, fb_));

		uint64_t x = gen64(&s, 1023), y = (rnd(&s) & 3) ? gen64(&s, exp64(x)) : x;
		double dx = bd(x), dy = bd(y);
		of = 0;
		EXPECT_EQ(f64_eq(x, y, &of), dx == dy);
		EXPECT_EQ(of, h_ucomid(dx, dy));
		of = 0;
		EXPECT_EQ(f64_lt(x, y, &of), dx < dy);
		EXPECT_EQ(of, h_comid(dx, dy));
		of = 0;
		EXPECT_EQ(f64_le(x, y, &of), dx <= dy);
		EXPECT_EQ(of, h_comid(dx, dy));
	}
}

/* Host float->int gives 0x80..0 with invalid when out of range; in range
 * it must agree exactly, out of range we must saturate with NV alone. */
TEST(random_conversions_vs_host)
{
	uint64_t s = 5;
	for (int i = 0; i < NRAND; i++) {
		unsigned rm = (unsigned)(rnd(&s) & 3), of = 0, hf;
		uint32_t a = gen32(&s, 127 + (int)(rnd(&s) % 70));
		uint64_t x = gen64(&s, 1023 + (int)(rnd(&s) % 70));

		SAME64(f32_to_f64(a, &of), db(h_cvt_ds(bf(a), 0, &hf)), of, hf);
		of = 0;
		SAME32(f64_to_f32(x, rm, &of), fb(h_cvt_sd(bd(x), rm, &hf)), of, hf);

		int32_t h32 = h_cvt_i32s(bf(a), rm, &hf);
		of = 0;
		int32_t o32 = f32_to_i32(a, rm, &of);
		if (!(hf & NV))
			EXPECT_EQ(o32, h32);
		EXPECT_EQ(of, hf);
		int64_t h64 = h_cvt_i64s(bf(a), rm, &hf);
		of = 0;
		int64_t o64 = f32_to_i64(a, rm, &of);
		if (!(hf & NV))
			EXPECT_EQ(o64, h64);
		EXPECT_EQ(of, hf);
		h32 = h_cvt_i32d(bd(x), rm, &hf);
		of = 0;
		o32 = f64_to_i32(x, rm, &of);
		if (!(hf & NV))
			EXPECT_EQ(o32, h32);
		EXPECT_EQ(of, hf);
		h64 = h_cvt_i64d(bd(x), rm, &hf);
		of = 0;
		o64 = f64_to_i64(x, rm, &of);
		if (!(hf & NV))
			EXPECT_EQ(o64, h64);
		EXPECT_EQ(of, hf);
		/* u32 through the 64-bit host conversion. */
		of = 0;
		uint32_t u32 = f64_to_u32(x, rm, &of);
		if (!(hf & NV) && h64 >= 0 && h64 <= 0xffffffffll) {
			EXPECT_EQ(u32, (uint64_t)h64);
			EXPECT_EQ(of, hf);
		} else {
			EXPECT_EQ(of, NV);
			EXPECT_EQ(u32, isnan64(x) || !(x >> 63) ? 0xffffffffu : 0);
		}
		/* u64 for values below 2^63 through the host. */
		of = 0;
		uint64_t u64 = f64_to_u64(x, rm, &of);
		if (!(hf & NV) && h64 >= 0) {
			EXPECT_EQ(u64, (uint64_t)h64);
			EXPECT_EQ(of, hf);
		} else if (!(hf & NV)) {
			EXPECT_EQ(of, NV);
			EXPECT_EQ(u64, 0);
		}

		int64_t v = (int64_t)rnd(&s) >> (rnd(&s) % 64);
		of = 0;
		SAME32(i64_to_f32(v, rm, &of), fb(h_cvt_s_i64(v, rm, &hf)), of, hf);
		of = 0;
		SAME64(i64_to_f64(v, rm, &of), db(h_cvt_d_i64(v, rm, &hf)), of, hf);
		of = 0;
		SAME32(i32_to_f32((int32_t)v, rm, &of),
		       fb(h_cvt_s_i32((int32_t)v, rm, &hf)), of, hf);
		if (v >= 0) {
			of = 0;
			SAME64(u64_to_f64((uint64_t)v, rm, &of),
			       db(h_cvt_d_i64(v, rm, &hf)), of, hf);
			of = 0;
			SAME32(u64_to_f32((uint64_t)v, rm, &of),
			       fb(h_cvt_s_i64(v, rm, &hf)), of, hf);
		}
		of = 0;
		SAME64(u32_to_f64((uint32_t)v, rm, &of),
		       db(h_cvt_d_i64((uint32_t)v, rm, &hf)), of, hf);
		of = 0;
		SAME32(u32_to_f32((uint32_t)v, rm, &of),
		       fb(h_cvt_s_i64((uint32_t)v, rm, &hf)), of, hf);
		of = 0;
		SAME64(i32_to_f64((int32_t)v, rm, &of),
		       db(h_cvt_d_i64((int32_t)v, rm, &hf)), of, hf);
	}
}

/* RMM reference for binary32: the exact result (held exactly in a
 * binary64) rounded by comparing it with the midpoint of its two binary32
 * neighbours; tininess after rounding by rounding the value scaled into
 * the normal range. */
static uint32_t rmm_round(double exact)
{
	unsigned tf;
	uint32_t lo = fb(h_cvt_sd(exact, FP_RTZ, &tf));
	if (!(tf & NX))
		return lo;
	uint32_t away = lo + 1; /* next encoding away from zero */
	double mid = (away & 0x7fffffffu) == PINF
			     ? bd(0x47effffff0000000ull | (uint64_t)(lo >> 31) << 63)
			     : ((double)bf(lo) + (double)bf(away)) / 2;
	return __builtin_fabs(exact) >= __builtin_fabs(mid) ? away : lo;
}

static uint32_t rmm_ref(double exact, unsigned *fl)
{
	uint32_t r = rmm_round(exact);
	double ax = __builtin_fabs(exact);
	*fl = 0;
	if ((double)bf(r) != exact) {
		*fl |= NX;
		if ((r & 0x7fffffffu) == PINF)
			*fl |= OF;
		int tiny = ax < 0x1p-126 &&
			   !(ax >= 0x1p-127 &&
			     (rmm_round(exact * 0x1p64) & 0x7fffffffu) == 0x20800000u);
		if (tiny)
			*fl |= UF;
	}
	return r;
}

static int finite32(uint32_t v) { return (v & 0x7f800000u) != 0x7f800000u; }

TEST(random_rmm_f32_vs_reference)
{
	uint64_t s = 6;
	for (int i = 0; i < NRAND; i++) {
		uint32_t a = gen32(&s, 127), b = gen32(&s, exp32(a));
		unsigned of = 0, rf, hf;
		if (!finite32(a) || !finite32(b))
			continue;
		double sum = h_addd(bf(a), bf(b), FP_RTZ, &hf);
		if (!(hf & NX) && sum != 0) {
			uint32_t want = rmm_ref(sum, &rf);
			EXPECT_EQ(f32_add(a, b, RMM, &of), want);
			EXPECT_EQ(of, rf);
		}
		b = gen32(&s, 254 - exp32(a) + (int)(rnd(&s) % 3));
		if (!finite32(b))
			continue;
		double prod = (double)bf(a) * (double)bf(b);
		if (prod != 0) {
			of = 0;
			uint32_t want = rmm_ref(prod, &rf);
			EXPECT_EQ(f32_mul(a, b, RMM, &of), want);
			EXPECT_EQ(of, rf);
		}
		uint64_t x = gen64(&s, 1023 - 127 + (int)(rnd(&s) % 300));
		if ((x & DPINF) != DPINF && (x & ~DMZ) != 0) {
			of = 0;
			uint32_t want = rmm_ref(bd(x), &rf);
			EXPECT_EQ(f64_to_f32(x, RMM, &of), want);
			EXPECT_EQ(of, rf);
		}
		int32_t v = (int32_t)rnd(&s) >> (rnd(&s) % 32);
		if (v) {
			of = 0;
			uint32_t want = rmm_ref((double)v, &rf);
			EXPECT_EQ(i32_to_f32(v, RMM, &of), want);
			EXPECT_EQ(of, rf);
		}
	}
}
#endif
