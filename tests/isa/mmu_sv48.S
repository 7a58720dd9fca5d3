/*
 * mmu_sv48: Sv48 (privileged spec 4.5): satp.MODE = 9 is retained; a 512 GiB
 * terapage (level-3 leaf) identity-maps RAM and a second one aliases it at
 * 512 GiB; a four-level walk reaches a 4 KiB page; a misaligned terapage
 * and an address whose bits 63:48 differ from bit 47 page-fault.
 */
#include "isa.h"

PAGE root
PAGE l2
PAGE l1
PAGE l0
PAGE pageA

	.data
	.balign 8
magic:	.dword 0x0123456789abcdef

#define TERA        (1 << 39)
#define VA_ALIAS    (1 * TERA)          /* root[1]: 512G leaf at PA 0 */
#define VA_4K       (2 * TERA + 0x5000) /* root[2] -> l2[0] -> l1[0] -> l0[5] */
#define VA_BAD      (3 * TERA)          /* root[3]: 512G leaf at RAM_BASE (misaligned) */
#define VA_NONCANON 0x0000800000000000  /* bit 47 set, bits 63:48 clear */
#define RWXAD (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define RWAD  (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)

TEST_MAIN()
	PAGE_ZERO root
	PAGE_ZERO l2
	PAGE_ZERO l1
	PAGE_ZERO l0
	PTE_LEAF root, 0, 0, RWXAD
	PTE_LEAF root, 1, 0, RWAD
	PTE_LINK root, 2, l2
	PTE_LINK l2, 0, l1
	PTE_LINK l1, 0, l0
	la a4, pageA
	PTE_SET l0, 5, a4, RWAD
	PTE_LEAF root, 3, RAM_BASE, RWAD
	li a5, 0x4848
	sd a5, 16(a4)
	SATP_SET SATP_SV48, root
	csrr a5, satp
	srli a5, a5, 60
	CHECK(a5, 9)

	GOTO_S(1f)
1:	la a4, magic                      // identity through the terapage
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
	CHECK(s2, 0x4848)
	CHECK(s3, CAUSE_LOAD_PAGE)
	CHECK(s4, VA_BAD + 0x100)
	CHECK(s5, CAUSE_STORE_PAGE)
	CHECK(s6, VA_NONCANON)
	csrw satp, zero
	sfence.vma
	PASS()
