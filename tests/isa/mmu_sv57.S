/*
 * mmu_sv57: Sv57 (privileged spec 4.6): satp.MODE = 10 is retained; a 256 TiB
 * petapage (level-4 leaf) identity-maps RAM and a second one aliases it at
 * 256 TiB; a five-level walk reaches a 4 KiB page; a misaligned petapage
 * and an address whose bits 63:57 differ from bit 56 page-fault.
 */
#include "isa.h"

PAGE root
PAGE l3
PAGE l2
PAGE l1
PAGE l0
PAGE pageA

	.data
	.balign 8
magic:	.dword 0x0123456789abcdef

#define PETA        (1 << 48)
#define VA_ALIAS    (1 * PETA)          /* root[1]: 256T leaf at PA 0 */
#define VA_4K       (2 * PETA + 0x5000) /* root[2] -> l3[0] -> l2[0] -> l1[0] -> l0[5] */
#define VA_BAD      (3 * PETA)          /* root[3]: 256T leaf at RAM_BASE (misaligned) */
#define VA_NONCANON 0x0100000000000000  /* bit 56 set, bits 63:57 clear */
#define RWXAD (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define RWAD  (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)

TEST_MAIN()
	PAGE_ZERO root
	PAGE_ZERO l3
	PAGE_ZERO l2
	PAGE_ZERO l1
	PAGE_ZERO l0
	PTE_LEAF root, 0, 0, RWXAD
	PTE_LEAF root, 1, 0, RWAD
	PTE_LINK root, 2, l3
	PTE_LINK l3, 0, l2
	PTE_LINK l2, 0, l1
	PTE_LINK l1, 0, l0
	la a4, pageA
	PTE_SET l0, 5, a4, RWAD
	PTE_LEAF root, 3, RAM_BASE, RWAD
	li a5, 0x5757
	sd a5, 16(a4)
	SATP_SET SATP_SV57, root
	csrr a5, satp
	srli a5, a5, 60
	CHECK(a5, 10)

	GOTO_S(1f)
1:	la a4, magic                      // identity through the petapage
	ld s0, 0(a4)
	li a6, VA_ALIAS
	add a4, a4, a6
	ld s1, 0(a4)
	li a4, VA_4K
	ld s2, 16(a4)
	li a4, VA_BAD + 0x100
	EXPECT_TRAP
	ld a5, 0(a4)
	LOAD_TRAP s3, ISA_T_CAUSE
	LOAD_TRAP s4, ISA_T_TVAL
	li a4, VA_NONCANON
	EXPECT_TRAP
	sd a5, 0(a4)
	LOAD_TRAP s5, ISA_T_CAUSE
	LOAD_TRAP s6, ISA_T_TVAL
	TO_M()
	CHECK(s0, 0x0123456789abcdef)
	CHECK(s1, 0x0123456789abcdef)
	CHECK(s2, 0x5757)
	CHECK(s3, CAUSE_LOAD_PAGE)
	CHECK(s4, VA_BAD + 0x100)
	CHECK(s5, CAUSE_STORE_PAGE)
	CHECK(s6, VA_NONCANON)
	csrw satp, zero
	sfence.vma
	PASS()
