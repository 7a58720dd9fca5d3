/*
 * mmu_sfence: SFENCE.VMA orders page-table stores before later
 * translations (privileged spec 4.2.1): after M-mode rewrites a PTE, an
 * S-mode SFENCE.VMA (by address, and global) makes the new mapping visible:
 * remapping a page to another frame, invalidating it (page fault), making
 * it valid again, and changing its permissions.
 */
#include "isa.h"

PAGE root
PAGE l1
PAGE l0
PAGE pageA
PAGE pageB

#define VA 0x40000000
#define RWAD (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)

TEST_MAIN()
	PAGE_ZERO root
	PAGE_ZERO l1
	PAGE_ZERO l0
	PTE_LEAF root, 2, RAM_BASE, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
	PTE_LINK root, 1, l1
	PTE_LINK l1, 0, l0
	la s10, pageA
	la s11, pageB
	li a5, 0x1111
	sd a5, 0(s10)
	li a5, 0x2222
	sd a5, 0(s11)
	PTE_SET l0, 0, s10, RWAD
	SATP_SET SATP_SV39, root

	GOTO_S(1f)
1:	li a4, VA
	ld s0, 0(a4)                      // through the TLB now
	TO_M()
	PTE_SET l0, 0, s11, RWAD          // remap to pageB
	GOTO_S(2f)
2:	li a4, VA
	sfence.vma a4, zero
	ld s1, 0(a4)
	TO_M()
	CHECK(s0, 0x1111)
	CHECK(s1, 0x2222)

	PTE_SET l0, 0, s10, RWAD          // back to pageA, global fence
	GOTO_S(3f)
3:	li a4, VA
	ld a5, 0(a4)                      // (may be stale: no fence yet)
	sfence.vma
	ld s2, 0(a4)
	TO_M()
	CHECK(s2, 0x1111)

	la t5, l0                         // invalidate
	sd zero, 0(t5)
	GOTO_S(4f)
4:	li a4, VA
	sfence.vma a4
	EXPECT_TRAP
	ld a5, 0(a4)
	TO_M()
	CHECK_MCAUSE(CAUSE_LOAD_PAGE)
	CHECK_MTVAL(VA)

	PTE_SET l0, 0, s11, PTE_V | PTE_R | PTE_A   // valid again, read-only
	GOTO_S(5f)
5:	li a4, VA
	sfence.vma zero, zero
	ld s3, 0(a4)
	EXPECT_TRAP
	sd zero, 0(a4)
	TO_M()
	CHECK(s3, 0x2222)
	CHECK_MCAUSE(CAUSE_STORE_PAGE)
	ld a5, 0(s11)
	CHECK(a5, 0x2222)                 // the store did not happen

	PTE_SET l0, 0, s11, RWAD          // writable again
	GOTO_S(6f)
6:	li a4, VA
	sfence.vma a4, zero
	li a5, 0x3333
	sd a5, 0(a4)
	TO_M()
	ld a5, 0(s11)
	CHECK(a5, 0x3333)
	csrw satp, zero
	sfence.vma
	PASS()
