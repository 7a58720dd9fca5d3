/*
 * mmu_ad: hardware update of the accessed and dirty bits (privileged spec
 * 4.3.1, 4.3.2 step 7; Svadu behaviour, which QEMU's virt and nimbus
 * implement): a load or fetch through a PTE with A = 0 sets A (not D); a
 * store through a PTE with D = 0 sets A and D; also for a megapage leaf; a
 * store that faults (W = 0) does not set D.
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

#define VA 0x40000000
#define VA_2M 0x40200000               /* l1[1]: 2M leaf at RAM_BASE, no A/D */

TEST_MAIN()
	PAGE_ZERO root
	PAGE_ZERO l1
	PAGE_ZERO l0
	PTE_LEAF root, 2, RAM_BASE, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
	PTE_LINK root, 1, l1
	PTE_LINK l1, 0, l0
	PTE_LEAF l1, 1, RAM_BASE, PTE_V | PTE_R | PTE_W
	la a4, pageA
	la a6, xpage
	PTE_SET l0, 0, a4, PTE_V | PTE_R | PTE_W            // load, then store
	PTE_SET l0, 1, a4, PTE_V | PTE_R | PTE_W            // store first
	PTE_SET l0, 2, a4, PTE_V | PTE_R | PTE_W | PTE_A    // store with A already set
	PTE_SET l0, 3, a6, PTE_V | PTE_X                    // fetch
	PTE_SET l0, 4, a4, PTE_V | PTE_R                    // faulting store
	SATP_SET SATP_SV39, root

	GOTO_S(1f)
1:	li a4, VA
	ld a5, 0(a4)
	TO_M()
	PTE_GET a5, l0, 0
	andi a5, a5, PTE_A | PTE_D
	CHECK(a5, PTE_A)
	GOTO_S(2f)
2:	li a4, VA
	sd zero, 0(a4)
	li a4, VA + 0x1000
	sd zero, 8(a4)
	li a4, VA + 0x2000
	sw zero, 16(a4)
	li a4, VA + 0x3000
	jalr a4
	li a4, VA_2M
	ld a5, 0(a4)
	li a4, VA + 0x4000
	EXPECT_TRAP
	sd zero, 0(a4)
	TO_M()
	PTE_GET a5, l0, 0
	andi a5, a5, PTE_A | PTE_D
	CHECK(a5, PTE_A | PTE_D)
	PTE_GET a5, l0, 1
	andi a5, a5, PTE_A | PTE_D
	CHECK(a5, PTE_A | PTE_D)
	PTE_GET a5, l0, 2
	andi a5, a5, PTE_A | PTE_D
	CHECK(a5, PTE_A | PTE_D)
	PTE_GET a5, l0, 3
	andi a5, a5, PTE_A | PTE_D
	CHECK(a5, PTE_A)
	PTE_GET a5, l1, 1
	andi a5, a5, PTE_A | PTE_D
	CHECK(a5, PTE_A)
	CHECK_MCAUSE(CAUSE_STORE_PAGE)
	PTE_GET a5, l0, 4
	andi a5, a5, PTE_D
	CHECK(a5, 0)
	// the rest of the PTE is untouched
	PTE_GET a5, l0, 1
	andi a5, a5, ~(PTE_A | PTE_D)
	la a4, pageA
	srli a4, a4, 2
	ori a4, a4, PTE_V | PTE_R | PTE_W
	sub a5, a5, a4
	CHECK(a5, 0)
	csrw satp, zero
	sfence.vma
	PASS()
