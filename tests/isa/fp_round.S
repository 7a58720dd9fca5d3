/*
 * fp_round: rounding modes (unprivileged spec 11.2): RNE, RTZ, RDN, RUP,
 * RMM, each through frm (dynamic rm = 7) and as a static rm; a static rm
 * overrides frm; fcsr = frm << 5 | fflags; a reserved frm value (5, 6, 7)
 * makes dynamic-rounding instructions illegal.  Cases: float-to-int of
 * +-2.5 and +-2.7, and a single-precision add exactly half an ulp above
 * 1.0 (and below -1.0).
 */
#include "isa.h"

#define RNE 0
#define RTZ 1
#define RDN 2
#define RUP 3
#define RMM 4

/* CVT mode, value_bits, expected: static rm and dynamic via frm */
.macro CVT rm, bits, exp
	FLI_S fa0, \bits
	fcvt.w.s a5, fa0, \rm
	CHECK(a5, \exp)
	li a4, RM_\rm
	fsrm a4
	fcvt.w.s a5, fa0, dyn
	CHECK(a5, \exp)
.endm
/* ADD rm, a, b, expected (single) */
.macro ADDS rm, a, b, exp
	FLI_S fa1, \a
	FLI_S fa2, \b
	fadd.s fa0, fa1, fa2, \rm
	CHECK_S(fa0, \exp)
	li a4, RM_\rm
	fsrm a4
	fadd.s fa0, fa1, fa2
	CHECK_S(fa0, \exp)
.endm
.set RM_rne, 0
.set RM_rtz, 1
.set RM_rdn, 2
.set RM_rup, 3
.set RM_rmm, 4

TEST_MAIN()
	CVT rne, 0x40200000, 2            // 2.5
	CVT rne, 0xc0200000, -2           // -2.5
	CVT rne, 0x40600000, 4            // 3.5
	CVT rtz, 0x402ccccd, 2            // 2.7
	CVT rtz, 0xc02ccccd, -2
	CVT rdn, 0x40200000, 2
	CVT rdn, 0xc0200000, -3
	CVT rup, 0x40200000, 3
	CVT rup, 0xc0200000, -2
	CVT rmm, 0x40200000, 3
	CVT rmm, 0xc0200000, -3
	CVT rmm, 0x402ccccd, 3

	// 1.0 + 2^-24: exactly half an ulp
	ADDS rne, 0x3f800000, 0x33800000, 0x3f800000
	ADDS rtz, 0x3f800000, 0x33800000, 0x3f800000
	ADDS rdn, 0x3f800000, 0x33800000, 0x3f800000
	ADDS rup, 0x3f800000, 0x33800000, 0x3f800001
	ADDS rmm, 0x3f800000, 0x33800000, 0x3f800001
	// -1.0 - 2^-24
	ADDS rne, 0xbf800000, 0xb3800000, 0xbf800000
	ADDS rtz, 0xbf800000, 0xb3800000, 0xbf800000
	ADDS rdn, 0xbf800000, 0xb3800000, 0xbf800001
	ADDS rup, 0xbf800000, 0xb3800000, 0xbf800000
	ADDS rmm, 0xbf800000, 0xb3800000, 0xbf800001
	// (1 + 2^-23) + 2^-24: tie to even goes up for RNE
	ADDS rne, 0x3f800001, 0x33800000, 0x3f800002
	ADDS rtz, 0x3f800001, 0x33800000, 0x3f800001

	// a static rm overrides frm
	li a4, RUP
	fsrm a4
	FLI_S fa0, 0x40200000
	fcvt.w.s a5, fa0, rtz
	CHECK(a5, 2)
	fcvt.w.s a5, fa0
	CHECK(a5, 3)
	// fcsr layout
	fsflags zero
	li a4, RDN
	fsrm a4
	li a4, FFLAG_NX | FFLAG_DZ
	fsflags a4
	frcsr a5
	CHECK(a5, (RDN << 5) | FFLAG_NX | FFLAG_DZ)
	li a4, (RMM << 5) | FFLAG_OF
	fscsr a4
	frrm a5
	CHECK(a5, RMM)
	frflags a5
	CHECK(a5, FFLAG_OF)
	fscsr zero

	// reserved frm values: dynamic-rm instructions are illegal
	li a4, 5
	fsrm a4
	frrm a5
	CHECK(a5, 5)                      // frm itself holds the value
	EXPECT_TRAP
1:	fadd.s fa0, fa1, fa2
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	CHECK_MEPC_AT(1b)
	fadd.s fa0, fa1, fa2, rne         // a static rm is still fine
	li a4, 7
	fsrm a4
	EXPECT_TRAP
	fcvt.w.d a5, fa1
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	fsrm zero
	PASS()
