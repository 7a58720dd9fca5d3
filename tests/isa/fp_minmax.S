/*
 * fp_minmax: FMIN/FMAX (unprivileged spec 11.6, 2.2 semantics of IEEE
 * 754-2019 minimumNumber/maximumNumber): -0 < +0; one NaN operand gives the
 * other operand; two NaNs give the canonical NaN; a signalling NaN input
 * raises NV, a quiet one nothing.
 */
#include "isa.h"

.macro MMS op, a, b, exp, flags
	FLI_S fa1, \a
	FLI_S fa2, \b
	\op fa0, fa1, fa2
	CHECK_S(fa0, \exp)
	CHECK_FFLAGS(\flags)
.endm
.macro MMD op, a, b, exp, flags
	FLI_D fa1, \a
	FLI_D fa2, \b
	\op fa0, fa1, fa2
	CHECK_D(fa0, \exp)
	CHECK_FFLAGS(\flags)
.endm

TEST_MAIN()
	fsflags zero
	MMS fmin.s, 0x3f800000, 0xbf800000, 0xbf800000, 0
	MMS fmax.s, 0x3f800000, 0xbf800000, 0x3f800000, 0
	MMS fmin.s, 0x80000000, 0x00000000, 0x80000000, 0
	MMS fmin.s, 0x00000000, 0x80000000, 0x80000000, 0
	MMS fmax.s, 0x80000000, 0x00000000, 0x00000000, 0
	MMS fmax.s, 0x00000000, 0x80000000, 0x00000000, 0
	MMS fmin.s, 0x7fc00000, 0x40000000, 0x40000000, 0
	MMS fmax.s, 0x40000000, 0x7fc00000, 0x40000000, 0
	MMS fmin.s, 0x7f800001, 0x40000000, 0x40000000, FFLAG_NV
	MMS fmax.s, 0xc0000000, 0xff800001, 0xc0000000, FFLAG_NV
	MMS fmin.s, 0x7fc00000, 0x7fc12345, 0x7fc00000, 0
	MMS fmax.s, 0x7f800001, 0x7fc00000, 0x7fc00000, FFLAG_NV
	MMS fmin.s, 0xff800000, 0x7f800000, 0xff800000, 0
	MMS fmax.s, 0xff800000, 0x7f800000, 0x7f800000, 0

	MMD fmin.d, 0x8000000000000000, 0x0000000000000000, 0x8000000000000000, 0
	MMD fmax.d, 0x8000000000000000, 0x0000000000000000, 0x0000000000000000, 0
	MMD fmax.d, 0x0000000000000000, 0x8000000000000000, 0x0000000000000000, 0
	MMD fmin.d, 0x7ff8000000000000, 0xc000000000000000, 0xc000000000000000, 0
	MMD fmax.d, 0x7ff0000000000001, 0xc000000000000000, 0xc000000000000000, FFLAG_NV
	MMD fmin.d, 0x7ff0000000000001, 0xfff8000000000123, 0x7ff8000000000000, FFLAG_NV
	MMD fmax.d, 0x3ff0000000000000, 0x3ff0000000000001, 0x3ff0000000000001, 0
	PASS()
