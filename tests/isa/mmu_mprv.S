/*
 * mmu_mprv: mstatus.MPRV (privileged spec 3.1.6.3): with MPRV = 1, M-mode
 * loads and stores are translated and checked as if in mode MPP (with SUM
 * applying for MPP = S); instruction fetch is not affected (the identity
 * gigapage has no X, yet M code keeps running); MPP = M means no
 * translation.  A trap from M sets MPP = M and MRET then leaves MPP = U, so
 * the code drops MPRV right after every expected fault.
 */
#include "isa.h"

PAGE root
PAGE l1
PAGE l0
PAGE pageA

#define VA    0x40000000        /* R W  -> pageA */
#define VA_U  0x40001000        /* U R W -> pageA */
#define VA_RO 0x40002000        /* R    -> pageA */
#define AD (PTE_V | PTE_A | PTE_D)

.macro MPRV_ON mpp
	li t5, MSTATUS_MPP
	csrc mstatus, t5
	li t5, ((\mpp) << 11) | MSTATUS_MPRV
	csrs mstatus, t5
.endm
.macro MPRV_OFF
	li t5, MSTATUS_MPRV
	csrc mstatus, t5
.endm

TEST_MAIN()
	PAGE_ZERO root
	PAGE_ZERO l1
	PAGE_ZERO l0
	PTE_LEAF root, 2, RAM_BASE, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D   // no X
	PTE_LINK root, 1, l1
	PTE_LINK l1, 0, l0
	la s10, pageA
	PTE_SET l0, 0, s10, AD | PTE_R | PTE_W
	PTE_SET l0, 1, s10, AD | PTE_U | PTE_R | PTE_W
	PTE_SET l0, 2, s10, AD | PTE_R
	li a5, 0x600d
	sd a5, 0(s10)
	SATP_SET SATP_SV39, root
	li a4, MSTATUS_SUM
	csrc mstatus, a4

	// MPP = S: VA is translated; stores land in pageA
	li s1, VA
	MPRV_ON 1
	ld s0, 0(s1)
	li a5, 0x1234
	sd a5, 8(s1)
	MPRV_OFF
	CHECK(s0, 0x600d)
	ld a5, 8(s10)
	CHECK(a5, 0x1234)
	// MPP = S, U page without SUM: load page fault
	EXPECT_TRAP
	li s1, VA_U
	MPRV_ON 1
	ld s0, 0(s1)
	MPRV_OFF
	CHECK_MCAUSE(CAUSE_LOAD_PAGE)
	CHECK_MTVAL(VA_U)
	// ... with SUM it works
	li a4, MSTATUS_SUM
	csrs mstatus, a4
	MPRV_ON 1
	ld s0, 0(s1)
	MPRV_OFF
	CHECK(s0, 0x600d)
	li a4, MSTATUS_SUM
	csrc mstatus, a4
	// store to a read-only page: store page fault
	EXPECT_TRAP
	li s1, VA_RO
	MPRV_ON 1
	sd zero, 0(s1)
	MPRV_OFF
	CHECK_MCAUSE(CAUSE_STORE_PAGE)
	CHECK_MTVAL(VA_RO)
	// MPP = U: U page fine, S page faults
	li s1, VA_U
	MPRV_ON 0
	ld s0, 0(s1)
	MPRV_OFF
	CHECK(s0, 0x600d)
	EXPECT_TRAP
	li s1, VA
	MPRV_ON 0
	ld s0, 0(s1)
	MPRV_OFF
	CHECK_MCAUSE(CAUSE_LOAD_PAGE)
	CHECK_MTVAL(VA)
	// MPP = M: no translation, physical addresses
	MPRV_ON 3
	ld s0, 0(s10)
	MPRV_OFF
	CHECK(s0, 0x600d)
	csrw satp, zero
	sfence.vma
	PASS()
