/*
 * sdtrig: debug triggers set from M-mode (debug spec 1.0 chapter 5, Sdtrig;
 * privileged spec 3.1.15 for the breakpoint exception), in what QEMU 7.2's
 * `virt` hart and the spec agree on.  Enumeration: tselect 0 and 1 exist,
 * a write of 2 does not stick, tinfo lists mcontrol (2) and mcontrol6 (6),
 * tdata1 resets to an mcontrol with nothing enabled; dmode and action are
 * read-only 0 (no Debug Mode); tdata2 holds any value.  An mcontrol6 (or
 * mcontrol) trigger raises a breakpoint exception (cause 3, mepc at the
 * instruction, mtval 0 or the address) before an instruction at tdata2
 * executes, before a load from it writes its register, before a store to
 * it writes memory, and on LR/AMO; an access covering tdata2 matches, one
 * beside it does not.  The m/s/u bits choose the modes it fires in (never
 * in M with m clear); from U with medeleg[3] it goes to S.  The trigger
 * CSRs are M-only.  Spec-only details QEMU 7.2 lacks are in sdtrig_spec.S.
 */
#include "isa.h"

#define T6(x) ((6 << 60) | (x))
#define T2(x) ((2 << 60) | (x))
#define TM  (1 << 6)
#define TS  (1 << 4)
#define TU  (1 << 3)
#define TEX (1 << 2)
#define TST (1 << 1)
#define TLD (1 << 0)

/* TRIG idx, tdata1, symbol: program trigger idx to match the symbol's address */
.macro TRIG idx, d1, sym, off=0
	li t0, \idx
	csrw tselect, t0
	la t0, \sym + \off
	csrw tdata2, t0
	li t0, \d1
	csrw tdata1, t0
.endm
/* TRIG_OFF idx: an mcontrol6 enabled in no mode */
.macro TRIG_OFF idx
	li t0, \idx
	csrw tselect, t0
	li t0, T6(0)
	csrw tdata1, t0
.endm
/* mtval is zero or the address (privileged spec 3.1.16) */
.macro CHECK_TVAL_0_OR sym
	LOAD_TRAP a5, ISA_T_TVAL
	beqz a5, .Ltv\@
	CHECK_ADDR(a5, \sym)
.Ltv\@:
.endm

TEST_MAIN()
	.option push
	.option norvc

	// ---- enumeration and WARL fields
	csrr a5, tselect
	CHECK(a5, 0)
	csrr a5, tdata1
	CHECK(a5, T2(0))
	csrr a5, tinfo
	andi a5, a5, (1 << 2) | (1 << 6)
	CHECK(a5, (1 << 2) | (1 << 6))
	li a4, 1
	csrw tselect, a4
	csrr a5, tselect
	CHECK(a5, 1)
	csrr a5, tdata1
	CHECK(a5, T2(0))
	li a4, 2                          // no third trigger: the write does not stick
	csrw tselect, a4
	csrr a5, tselect
	CHECK(a5, 1)
	csrw tselect, zero
	// tdata2 holds all 64 bits
	li a4, 0xfedcba9876543210
	csrw tdata2, a4
	csrr a5, tdata2
	CHECK(a5, 0xfedcba9876543210)
	// dmode (bit 59) and action (15:12) are read-only 0: no Debug Mode
	li a4, T6((1 << 59) | (1 << 12) | TM | TEX)
	csrw tdata1, a4
	csrr a5, tdata1
	CHECK(a5, T6(TM | TEX))
	li a4, T2((1 << 59) | (1 << 12) | TS | TLD)
	csrw tdata1, a4
	csrr a5, tdata1
	CHECK(a5, T2(TS | TLD))
	// mcontrol6 keeps m, s, u, execute, store, load and a 32-bit size
	li a4, T6((3 << 16) | TM | TS | TU | TEX | TST | TLD)
	csrw tdata1, a4
	csrr a5, tdata1
	CHECK(a5, T6((3 << 16) | TM | TS | TU | TEX | TST | TLD))
	TRIG_OFF 0

	// ---- execute, M-mode: fires before the instruction runs
	TRIG 0, T6(TM | TEX), x_m
	li s2, 0
	TRAP_CLEAR
	EXPECT_TRAP
x_m:	addi s2, zero, 1
	TRIG_OFF 0
	CHECK(s2, 0)
	CHECK_MCOUNT(1)
	CHECK_MCAUSE(CAUSE_BREAKPOINT)
	CHECK_MEPC_AT(x_m)
	CHECK_TVAL_0_OR x_m
	// the same address, m clear (s and u set): no breakpoint in M
	TRIG 0, T6(TS | TU | TEX), x_m2
	TRAP_CLEAR
x_m2:	addi s2, zero, 2
	TRIG_OFF 0
	CHECK(s2, 2)
	CHECK_MCOUNT(0)
	// the next instruction, not the one at tdata2, does not match
	TRIG 0, T6(TM | TEX), x_m3, 4
	TRAP_CLEAR
	EXPECT_TRAP
x_m3:	addi s2, zero, 3
	addi s2, s2, 1                    // at tdata2: skipped
	TRIG_OFF 0
	CHECK(s2, 3)
	CHECK_MCOUNT(1)
	CHECK_MEPC_AT(x_m3 + 4)
	// mcontrol (type 2) and the second trigger work alike
	TRIG 1, T2(TM | TEX), x_m4
	TRAP_CLEAR
	EXPECT_TRAP
x_m4:	addi s2, zero, 4
	TRIG_OFF 1
	CHECK(s2, 3)
	CHECK_MCAUSE(CAUSE_BREAKPOINT)
	CHECK_MEPC_AT(x_m4)

	// ---- load: fires before the register is written
	la s1, tdat
	TRIG 0, T6(TM | TLD), tdat
	li s3, 7
	TRAP_CLEAR
	EXPECT_TRAP
ld_1:	ld s3, 0(s1)
	TRIG_OFF 0
	CHECK(s3, 7)
	CHECK_MCOUNT(1)
	CHECK_MCAUSE(CAUSE_BREAKPOINT)
	CHECK_MEPC_AT(ld_1)
	CHECK_TVAL_0_OR tdat
	// a doubleword load covering tdata2 (tdat + 4) matches
	TRIG 0, T6(TM | TLD), tdat, 4
	TRAP_CLEAR
	EXPECT_TRAP
	ld s3, 0(s1)
	TRIG_OFF 0
	CHECK(s3, 7)
	CHECK_MCOUNT(1)
	CHECK_MCAUSE(CAUSE_BREAKPOINT)
	// one that ends just below tdata2 does not; nor does a store (load only)
	TRIG 0, T6(TM | TLD), tdat, 8
	TRAP_CLEAR
	ld s3, 0(s1)
	sd s3, 8(s1)
	TRIG_OFF 0
	CHECK_MCOUNT(0)
	CHECK(s3, 0x1122334455667788)
	// LR and AMO read: a load trigger fires
	TRIG 0, T6(TM | TLD), tdat
	TRAP_CLEAR
	EXPECT_TRAP
	lr.d s3, (s1)
	EXPECT_TRAP
	amoadd.d s3, s3, (s1)
	TRIG_OFF 0
	CHECK_MCOUNT(2)
	CHECK_MCAUSE(CAUSE_BREAKPOINT)

	// ---- store: fires before memory is written
	TRIG 0, T6(TM | TST), tdat
	li s3, 0x55
	TRAP_CLEAR
	EXPECT_TRAP
st_1:	sd s3, 0(s1)
	CHECK_MCOUNT(1)
	CHECK_MCAUSE(CAUSE_BREAKPOINT)
	CHECK_MEPC_AT(st_1)
	CHECK_TVAL_0_OR tdat
	EXPECT_TRAP
	amoswap.d s4, s3, (s1)            // an AMO writes: fires
	sd s3, 8(s1)                      // beside tdata2: no match
	ld s4, 0(s1)                      // a load: no match
	TRIG_OFF 0
	CHECK_MCOUNT(2)
	CHECK(s4, 0x1122334455667788)     // neither the sd nor the AMO wrote
	ld s4, 8(s1)
	CHECK(s4, 0x55)

	// ---- U-mode: fires with u set, not with only m and s
	TRIG 0, T6(TU | TEX), x_u
	TRAP_CLEAR
	li s2, 0
	GOTO_U(u_1)
u_1:	EXPECT_TRAP
x_u:	addi s2, zero, 1
	TO_M()
	TRIG_OFF 0
	CHECK(s2, 0)
	CHECK_MCOUNT(1)
	CHECK_MCAUSE(CAUSE_BREAKPOINT)
	CHECK_MEPC_AT(x_u)
	LOAD_TRAP a5, ISA_T_STATUS
	srli a5, a5, 11
	andi a5, a5, 3
	CHECK(a5, 0)                      // taken from U
	TRIG 0, T6(TM | TS | TEX | TLD), x_u2
	TRAP_CLEAR
	GOTO_U(x_u2)
x_u2:	addi s2, zero, 2
	TO_M()
	TRIG_OFF 0
	CHECK(s2, 2)
	CHECK_MCOUNT(0)

	// ---- delegated: a U-mode load breakpoint goes to S with medeleg[3]
	li a4, 1 << CAUSE_BREAKPOINT
	csrs medeleg, a4
	TRIG 0, T6(TU | TLD), tdat
	TRAP_CLEAR
	TRAP_CLEAR isa_sstate
	li s3, 9
	GOTO_U(u_2)
u_2:	EXPECT_STRAP
ld_u:	ld s3, 0(s1)
	TO_M()
	TRIG_OFF 0
	li a4, 1 << CAUSE_BREAKPOINT
	csrc medeleg, a4
	CHECK(s3, 9)
	CHECK_MCOUNT(0)
	CHECK_SCOUNT(1)
	CHECK_SCAUSE(CAUSE_BREAKPOINT)
	CHECK_SEPC_AT(ld_u)

	// ---- the trigger CSRs are M-only
	TRAP_CLEAR
	GOTO_S(s_1)
s_1:	EXPECT_TRAP
	csrr a5, tselect
	EXPECT_TRAP
	csrw tdata1, zero
	TO_M()
	CHECK_MCOUNT(2)
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	.option pop
	PASS()

	.data
	.balign 16
tdat:	.dword 0x1122334455667788
	.dword 0
	.dword 0
