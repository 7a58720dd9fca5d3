/*
 * fp_fsoff: mstatus.FS (privileged spec 3.1.6.6): with FS = Off every F/D
 * instruction and FP CSR access is an illegal instruction (mtval = bits);
 * from Initial or Clean, writing an f register or fflags makes FS Dirty and
 * sets mstatus.SD; FS is also visible and writable through sstatus.
 */
#include "isa.h"

.macro ILL insn:vararg
	la s0, .Lill\@
	EXPECT_TRAP
.Lill\@:
	\insn
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	LOAD_TRAP a5, ISA_T_TVAL
	lwu a4, 0(s0)
	sub a5, a5, a4
	CHECK(a5, 0)
.endm

#define FS_OF(reg) srli reg, reg, 13; andi reg, reg, 3

	.data
	.balign 8
fbuf:	.dword 0x3ff0000000000000

TEST_MAIN()
	.option push
	.option norvc
	la s1, fbuf
	li a4, MSTATUS_FS
	csrc mstatus, a4
	csrr a5, mstatus
	FS_OF(a5)
	CHECK(a5, 0)
	ILL fadd.s fa0, fa1, fa2
	ILL fadd.d fa0, fa1, fa2
	ILL fld fa0, 0(s1)
	ILL fsw fa0, 0(s1)
	ILL fmv.x.w a5, fa0
	ILL fmv.d.x fa0, a5
	ILL fcvt.d.w fa0, a5
	ILL fmadd.d fa0, fa1, fa2, fa3
	ILL fclass.s a5, fa0
	ILL frflags a5
	ILL fsrm a5
	ILL csrr a5, fcsr
	.option pop
	.option push
	.option rvc
	la s0, 1f
	EXPECT_TRAP
1:	c.fld fa0, 0(s1)
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	LOAD_TRAP a5, ISA_T_TVAL
	lhu a4, 0(s0)
	sub a5, a5, a4
	CHECK(a5, 0)
	.option pop

	// Initial -> Dirty on an f register write; SD follows
	li a4, MSTATUS_FS_INITIAL
	csrs mstatus, a4
	csrr a5, mstatus
	FS_OF(a5)
	CHECK(a5, 1)
	csrr a5, mstatus
	srli a5, a5, 63
	CHECK(a5, 0)
	fld fa0, 0(s1)
	csrr a5, mstatus
	FS_OF(a5)
	CHECK(a5, 3)
	csrr a5, mstatus
	srli a5, a5, 63
	CHECK(a5, 1)
	// Clean -> Dirty on an fflags write
	li a4, MSTATUS_FS
	csrc mstatus, a4
	li a4, MSTATUS_FS_CLEAN
	csrs mstatus, a4
	csrr a5, mstatus
	FS_OF(a5)
	CHECK(a5, 2)
	csrwi fflags, 1
	csrr a5, mstatus
	FS_OF(a5)
	CHECK(a5, 3)
	// the value survived the Off period
	fmv.x.d a5, fa0
	CHECK(a5, 0x3ff0000000000000)
	// sstatus.FS and sstatus.SD mirror mstatus
	csrr a5, sstatus
	FS_OF(a5)
	CHECK(a5, 3)
	csrr a5, sstatus
	srli a5, a5, 63
	CHECK(a5, 1)
	li a4, MSTATUS_FS
	csrc sstatus, a4
	csrr a5, mstatus
	FS_OF(a5)
	CHECK(a5, 0)
	// also illegal from S with FS = Off
	GOTO_S(2f)
2:	EXPECT_TRAP
3:	fmv.x.d a5, fa0
	TO_M()
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	CHECK_MEPC_AT(3b)
	li a4, MSTATUS_FS_INITIAL
	csrs mstatus, a4
	fsflags zero
	PASS()
