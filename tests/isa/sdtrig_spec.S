/*
 * sdtrig_spec: debug-trigger details where nimbus follows the debug spec 1.0
 * (Sdtrig) and QEMU 7.2 does not (see sdtrig.S for the common part).
 * tinfo reports version 1 and types 2, 6 and 15; writing 0 or an
 * unsupported type to tdata1 disables the trigger (type 15); tdata3 reads
 * 0.  mtval of a trigger breakpoint is the address that matched: the pc,
 * or the byte of the access equal to tdata2 (compare values are all
 * accessed bytes, so a byte load next to tdata2 does not match).  size
 * limits matches to accesses (or instructions) of that size.  match 2 (>=)
 * chained to match 3 (<) fires on accesses inside the range only, and the
 * last trigger cannot chain.
 * isa-skip-qemu: QEMU 7.2 reports tinfo 0x44, ignores tdata1 writes of type 0, aborts on types 1/4/5/7, sets mtval 0, matches 8 bytes from tdata2 whatever the access, ignores size for execute, supports only match 0 and no chain
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
	la s1, tdat

	// ---- enumeration details
	csrr a5, tinfo
	CHECK(a5, (1 << 24) | (1 << 15) | (1 << 6) | (1 << 2))
	// tdata1 = 0 disables (type 15) and the trigger no longer fires
	TRIG 0, T6(TM | TEX), x_0
	csrw tdata1, zero
	csrr a5, tdata1
	CHECK(a5, 15 << 60)
	TRAP_CLEAR
x_0:	nop
	CHECK_MCOUNT(0)
	// an unsupported type (3, icount) disables too; type 15 keeps no bits
	li a4, (3 << 60) | 0x1ff
	csrw tdata1, a4
	csrr a5, tdata1
	CHECK(a5, 15 << 60)
	li a4, (15 << 60) | 0x5f
	csrw tdata1, a4
	csrr a5, tdata1
	CHECK(a5, 15 << 60)
	// tdata3 (textra) is read-only 0
	li a4, -1
	csrw tdata3, a4
	csrr a5, tdata3
	CHECK(a5, 0)
	// match 2 and 3 and chain are kept; the last trigger does not chain
	li a4, T6((2 << 7) | (1 << 11) | TM | TLD)
	csrw tdata1, a4
	csrr a5, tdata1
	CHECK(a5, T6((2 << 7) | (1 << 11) | TM | TLD))
	li a4, 1
	csrw tselect, a4
	li a4, T6((3 << 7) | (1 << 11) | TM | TLD)
	csrw tdata1, a4
	csrr a5, tdata1
	CHECK(a5, T6((3 << 7) | TM | TLD))
	// size 4 (48-bit) and match 1 (NAPOT) are not supported: read 0
	li a4, T6((4 << 16) | (1 << 7) | TM | TLD)
	csrw tdata1, a4
	csrr a5, tdata1
	CHECK(a5, T6(TM | TLD))
	TRIG_OFF 0
	TRIG_OFF 1

	// ---- mtval is the matching address
	TRIG 0, T6(TM | TEX), x_1
	TRAP_CLEAR
	EXPECT_TRAP
x_1:	nop
	TRIG_OFF 0
	CHECK_MCOUNT(1)
	CHECK_MTVAL_AT(x_1)
	TRIG 0, T6(TM | TLD), tdat, 4
	TRAP_CLEAR
	EXPECT_TRAP
	ld a5, 0(s1)                      // bytes tdat .. tdat+7
	EXPECT_TRAP
	lw a5, 2(s1)                      // bytes tdat+2 .. tdat+5
	lb a5, 3(s1)                      // tdat+3 only: no match
	lb a5, 5(s1)                      // tdat+5 only: no match
	TRIG_OFF 0
	CHECK_MCOUNT(2)
	CHECK_MTVAL_AT(tdat + 4)
	TRIG 0, T6(TM | TST), tdat, 8
	TRAP_CLEAR
	EXPECT_TRAP
	sh zero, 7(s1)                    // tdat+7, tdat+8 (misaligned)
	sb zero, 7(s1)                    // tdat+7 only
	TRIG_OFF 0
	CHECK_MCOUNT(1)
	CHECK_MTVAL_AT(tdat + 8)

	// ---- size: an 8-bit load trigger ignores wider loads
	TRIG 0, T6((1 << 16) | TM | TLD), tdat
	TRAP_CLEAR
	ld a5, 0(s1)
	lw a5, 0(s1)
	EXPECT_TRAP
	lbu a5, 0(s1)
	TRIG_OFF 0
	CHECK_MCOUNT(1)
	// a 32-bit execute trigger ignores a compressed instruction
	TRIG 0, T6((3 << 16) | TM | TEX), x_c
	TRAP_CLEAR
	.option rvc
x_c:	c.nop
	c.nop
	.option norvc
	TRIG 0, T6((2 << 16) | TM | TEX), x_c2
	EXPECT_TRAP
	.option rvc
x_c2:	c.nop
	c.nop
	.option norvc
	TRIG_OFF 0
	CHECK_MCOUNT(1)
	CHECK_MEPC_AT(x_c2)

	// ---- a range: trigger 0 (>= tdat+8) chained to trigger 1 (< tdat+16)
	TRIG 0, T6((2 << 7) | (1 << 11) | TM | TLD), tdat, 8
	TRIG 1, T6((3 << 7) | TM | TLD), tdat, 16
	TRAP_CLEAR
	ld a5, 0(s1)                      // below
	ld a5, 16(s1)                     // above
	EXPECT_TRAP
	ld a5, 8(s1)                      // inside
	CHECK_MTVAL_AT(tdat + 8)
	EXPECT_TRAP
	lw a5, 6(s1)                      // straddles the start
	CHECK_MTVAL_AT(tdat + 8)
	sd a5, 8(s1)                      // a store: not a load trigger
	TRIG_OFF 1
	ld a5, 8(s1)                      // the chain's end is off: nothing fires
	TRIG_OFF 0
	CHECK_MCOUNT(2)
	.option pop
	PASS()

	.data
	.balign 16
tdat:	.dword 0x1122334455667788
	.dword 0
	.dword 0
