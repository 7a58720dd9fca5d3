/*
 * mmu_perm: Sv39 permission checks (privileged spec 4.3.1, 4.3.2, 4.1.1):
 * load from a non-readable page, store or AMO to a non-writable page,
 * fetch from a non-executable page, the reserved W-without-R encoding, S
 * access to U pages (faults unless SUM = 1, fetch always faults), U access
 * to non-U pages, MXR making execute-only pages readable.  Load faults are
 * cause 13, store/AMO 15, fetch 12, with tval = the virtual address.
 * S code runs on an identity gigapage; U code on a U alias (VA_UALIAS).
 */
#include "isa.h"

PAGE root
PAGE l1
PAGE l0
PAGE pageA

	.text
	.option push
	.option norvc
	.balign 4096
xpage:	li a0, 0x77
	ret
	.balign 4096
	.option pop

#define VA        0x40000000
#define VA_R      (VA + 0x0000)     /* R        */
#define VA_RW     (VA + 0x1000)     /* R W      */
#define VA_X      (VA + 0x2000)     /* X        -> xpage */
#define VA_W      (VA + 0x3000)     /* W (reserved) */
#define VA_URW    (VA + 0x4000)     /* U R W    */
#define VA_URX    (VA + 0x5000)     /* U R X    -> xpage */
#define VA_RX     (VA + 0x7000)     /* R X      -> xpage */
#define VA_UX     (VA + 0x8000)     /* U X      -> xpage */
#define VA_UALIAS 0xc0000000        /* U R W X alias of RAM */
#define AD (PTE_V | PTE_A | PTE_D)

.macro SAVE_TRAP creg, treg
	LOAD_TRAP \creg, ISA_T_CAUSE
	LOAD_TRAP \treg, ISA_T_TVAL
.endm
/* enter U at the alias of label */
.macro GOTO_UALIAS label
	li t6, MSTATUS_MPP
	csrc mstatus, t6
	la t6, \label
	li t5, VA_UALIAS - RAM_BASE
	add t6, t6, t5
	csrw mepc, t6
	mret
.endm
/* from U alias code: continue in M at the identity address of the next insn */
.macro U_TO_M
	la t5, .Lutm\@
	li t6, VA_UALIAS - RAM_BASE
	sub t5, t5, t6
	li t6, ISA_MAGIC_RETM_AT
	ecall
.Lutm\@:
.endm
/* arm the M handler to resume at a label of the running (aliased) code */
.macro EXPECT_TRAP_HERE label
	la t4, \label
	EXPECT_TRAP_TO_REG t4
.endm

TEST_MAIN()
	PAGE_ZERO root
	PAGE_ZERO l1
	PAGE_ZERO l0
	PTE_LEAF root, 2, RAM_BASE, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
	PTE_LEAF root, 3, RAM_BASE, PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D
	PTE_LINK root, 1, l1
	PTE_LINK l1, 0, l0
	la a4, pageA
	la a6, xpage
	PTE_SET l0, 0, a4, AD | PTE_R
	PTE_SET l0, 1, a4, AD | PTE_R | PTE_W
	PTE_SET l0, 2, a6, AD | PTE_X
	PTE_SET l0, 3, a4, AD | PTE_W
	PTE_SET l0, 4, a4, AD | PTE_U | PTE_R | PTE_W
	PTE_SET l0, 5, a6, AD | PTE_U | PTE_R | PTE_X
	PTE_SET l0, 7, a6, AD | PTE_R | PTE_X
	PTE_SET l0, 8, a6, AD | PTE_U | PTE_X
	li a5, 0xabcd
	sd a5, 0(a4)
	SATP_SET SATP_SV39, root
	li a4, MSTATUS_SUM | MSTATUS_MXR
	csrc mstatus, a4

	// --- S: read-only page
	GOTO_S(1f)
1:	li a4, VA_R
	ld s0, 0(a4)
	EXPECT_TRAP
	sd zero, 8(a4)
	SAVE_TRAP s1, s2
	EXPECT_TRAP
	amoadd.d a5, zero, (a4)
	SAVE_TRAP s3, s4
	TO_M()
	CHECK(s0, 0xabcd)
	CHECK(s1, CAUSE_STORE_PAGE)
	CHECK(s2, VA_R + 8)
	CHECK(s3, CAUSE_STORE_PAGE)
	CHECK(s4, VA_R)

	// --- S: RW page ok; execute-only page not readable unless MXR; fetch
	// from a non-X page faults; an R X page runs
	GOTO_S(2f)
2:	li a4, VA_RW
	li a5, 0x1234
	sd a5, 16(a4)
	ld s0, 16(a4)
	li a4, VA_X
	EXPECT_TRAP
	lw a5, 0(a4)
	SAVE_TRAP s1, s2
	li a4, VA_R + 4
	EXPECT_TRAP_TO 3f
	jalr a4
3:	SAVE_TRAP s3, s4
	li a0, 0
	li a4, VA_RX
	jalr a4
	mv s5, a0
	TO_M()
	CHECK(s0, 0x1234)
	CHECK(s1, CAUSE_LOAD_PAGE)
	CHECK(s2, VA_X)
	CHECK(s3, CAUSE_FETCH_PAGE)
	CHECK(s4, VA_R + 4)
	CHECK(s5, 0x77)
	li a4, MSTATUS_MXR
	csrs mstatus, a4
	GOTO_S(4f)
4:	li a4, VA_X
	lw s0, 0(a4)                      // MXR: X-only page readable
	TO_M()
	la a4, xpage
	lw a5, 0(a4)
	sub a5, a5, s0
	CHECK(a5, 0)
	li a4, MSTATUS_MXR
	csrc mstatus, a4

	// --- S: W without R is reserved: load and store both fault
	GOTO_S(5f)
5:	li a4, VA_W
	EXPECT_TRAP
	ld a5, 0(a4)
	SAVE_TRAP s0, s1
	EXPECT_TRAP
	sd a5, 0(a4)
	SAVE_TRAP s2, s3
	TO_M()
	CHECK(s0, CAUSE_LOAD_PAGE)
	CHECK(s1, VA_W)
	CHECK(s2, CAUSE_STORE_PAGE)
	CHECK(s3, VA_W)

	// --- S and U pages
	GOTO_S(6f)
6:	li a4, VA_URW
	EXPECT_TRAP
	ld a5, 0(a4)
	SAVE_TRAP s0, s1
	EXPECT_TRAP
	sd a5, 0(a4)
	SAVE_TRAP s2, s3
	TO_M()
	CHECK(s0, CAUSE_LOAD_PAGE)
	CHECK(s1, VA_URW)
	CHECK(s2, CAUSE_STORE_PAGE)
	CHECK(s3, VA_URW)
	li a4, MSTATUS_SUM
	csrs mstatus, a4
	GOTO_S(7f)
7:	li a4, VA_URW
	ld s0, 0(a4)                      // SUM: S may read and write U pages
	li a5, 0x5678
	sd a5, 24(a4)
	ld s1, 24(a4)
	li a4, VA_URX                     // ... but never execute them
	EXPECT_TRAP_TO 8f
	jalr a4
8:	SAVE_TRAP s2, s3
	TO_M()
	CHECK(s0, 0xabcd)
	CHECK(s1, 0x5678)
	CHECK(s2, CAUSE_FETCH_PAGE)
	CHECK(s3, VA_URX)
	// SUM + MXR: a U execute-only page is readable from S
	li a4, MSTATUS_MXR
	csrs mstatus, a4
	GOTO_S(9f)
9:	li a4, VA_UX
	li s1, 0
	EXPECT_TRAP_TO 10f
	lw s0, 0(a4)
	li s1, 1                          // reached without a trap
10:	TO_M()
	CHECK(s1, 1)
	li a4, MSTATUS_SUM | MSTATUS_MXR
	csrc mstatus, a4

	// --- U (running on the U alias of RAM)
	li s1, 0
	GOTO_UALIAS 11f
11:	li a4, VA_URW
	ld s0, 0(a4)
	li s1, 1
	li a4, VA_R                       // non-U page: faults in U
	EXPECT_TRAP_HERE 12f
	ld a5, 0(a4)
12:	SAVE_TRAP s2, s3
	EXPECT_TRAP_HERE 13f
	sd a5, 0(a4)
13:	SAVE_TRAP s4, s5
	li a4, VA_RX                      // non-U executable page
	EXPECT_TRAP_HERE 14f
	jalr a4
14:	SAVE_TRAP s6, s7
	li a0, 0
	li a4, VA_URX                     // U executable page runs
	jalr a4
	mv s8, a0
	U_TO_M
	CHECK(s0, 0xabcd)
	CHECK(s1, 1)
	CHECK(s2, CAUSE_LOAD_PAGE)
	CHECK(s3, VA_R)
	CHECK(s4, CAUSE_STORE_PAGE)
	CHECK(s5, VA_R)
	CHECK(s6, CAUSE_FETCH_PAGE)
	CHECK(s7, VA_RX)
	CHECK(s8, 0x77)
	// (the mode really was U: a trap from it records MPP = U)
	LOAD_TRAP a5, ISA_T_STATUS
	srli a5, a5, 11
	andi a5, a5, 3
	CHECK(a5, 0)

	csrw satp, zero
	sfence.vma
	PASS()
