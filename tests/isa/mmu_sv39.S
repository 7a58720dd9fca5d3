/*
 * mmu_sv39: Sv39 translation (privileged spec 4.3-4.4): 4 KiB pages through
 * a three-level walk, a 2 MiB megapage and a 1 GiB gigapage alias, the top
 * (negative) half of the address space; page faults with stval/mtval = the
 * virtual address for: an address whose bits 63:39 do not equal bit 38, an
 * invalid PTE (load, store, fetch), a misaligned megapage and gigapage
 * (PPN bits below the leaf level not zero), and a last-level pointer PTE.
 * Identity gigapage at 0x80000000 for the S-mode code.
 */
#include "isa.h"

PAGE root
PAGE l1
PAGE l0
PAGE pageA
PAGE pageB

	.data
	.balign 8
magic:	.dword 0x0123456789abcdef
wvar:	.dword 0

#define VA_4K      0x40000000          /* root[1] -> l1[0] -> l0[0] */
#define VA_2M      0x40200000          /* root[1] -> l1[1]: 2M leaf at RAM_BASE */
#define VA_2M_BAD  0x40400000          /* l1[2]: 2M leaf, PA 0x80001000 (misaligned) */
#define VA_1G      0xc0000000          /* root[3]: 1G leaf at RAM_BASE */
#define VA_1G_BAD  0x100000000         /* root[4]: 1G leaf at 0x80200000 (misaligned) */
#define VA_TOP     0xffffffffc0000000  /* root[511]: 1G leaf at RAM_BASE */
#define VA_NONCANON 0x0000004000000000 /* bit 38 set, bits 63:39 clear */
#define RWXAD (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define RWAD  (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)

.macro SAVE_TRAP creg, treg
	LOAD_TRAP \creg, ISA_T_CAUSE
	LOAD_TRAP \treg, ISA_T_TVAL
.endm
/* reg = sym - RAM_BASE + base */
.macro ALIAS reg, sym, base
	la \reg, \sym
	li t4, (\base) - RAM_BASE
	add \reg, \reg, t4
.endm

TEST_MAIN()
	PAGE_ZERO root
	PAGE_ZERO l1
	PAGE_ZERO l0
	PAGE_ZERO pageA
	PAGE_ZERO pageB
	PTE_LEAF root, 2, RAM_BASE, RWXAD
	PTE_LINK root, 1, l1
	PTE_LINK l1, 0, l0
	la a4, pageA
	PTE_SET l0, 0, a4, RWAD
	la a4, pageB
	PTE_SET l0, 1, a4, RWAD
	PTE_LEAF l1, 1, RAM_BASE, RWAD
	PTE_LEAF l1, 2, RAM_BASE + 0x1000, RWAD
	PTE_LEAF root, 3, RAM_BASE, RWAD
	PTE_LEAF root, 4, RAM_BASE + 0x200000, RWAD
	PTE_LEAF root, 511, RAM_BASE, RWAD
	PTE_LINK l0, 3, pageB              // pointer PTE at the last level
	la a4, pageB
	li a5, 0x5555aaaa5555aaaa
	sd a5, 8(a4)
	SATP_SET SATP_SV39, root
	csrr a5, satp
	srli a5, a5, 60
	CHECK(a5, 8)

	GOTO_S(1f)
1:	// 4K pages
	li a4, VA_4K
	li a5, 0x1111
	sd a5, 0(a4)
	li a6, VA_4K + 0x1000
	ld s0, 8(a6)                      // pageB + 8
	// 2M megapage and 1G gigapage aliases of RAM
	ALIAS a4, magic, VA_2M
	ld s1, 0(a4)
	ALIAS a4, magic, VA_1G
	ld s2, 0(a4)
	ALIAS a4, wvar, VA_1G
	li a5, 0x2222
	sd a5, 0(a4)
	ALIAS a4, magic, VA_TOP
	ld s3, 0(a4)
	TO_M()
	la a4, pageA
	ld a5, 0(a4)
	CHECK(a5, 0x1111)
	CHECK(s0, 0x5555aaaa5555aaaa)
	CHECK(s1, 0x0123456789abcdef)
	CHECK(s2, 0x0123456789abcdef)
	CHECK(s3, 0x0123456789abcdef)
	la a4, wvar
	ld a5, 0(a4)
	CHECK(a5, 0x2222)

	// page faults: non-canonical address, invalid PTE, misaligned superpages
	GOTO_S(2f)
2:	li a4, VA_NONCANON
	EXPECT_TRAP
	ld a5, 0(a4)
	SAVE_TRAP s0, s1
	li a4, VA_4K + 0x2000             // l0[2] invalid
	EXPECT_TRAP
	ld a5, 0(a4)
	SAVE_TRAP s2, s3
	EXPECT_TRAP
	sd a5, 8(a4)
	SAVE_TRAP s4, s5
	TO_M()
	CHECK(s0, CAUSE_LOAD_PAGE)
	CHECK(s1, VA_NONCANON)
	CHECK(s2, CAUSE_LOAD_PAGE)
	CHECK(s3, VA_4K + 0x2000)
	CHECK(s4, CAUSE_STORE_PAGE)
	CHECK(s5, VA_4K + 0x2008)

	GOTO_S(3f)
3:	li a4, VA_2M_BAD + 0x10
	EXPECT_TRAP
	ld a5, 0(a4)
	SAVE_TRAP s0, s1
	li a4, VA_1G_BAD + 0x18
	EXPECT_TRAP
	ld a5, 0(a4)
	SAVE_TRAP s2, s3
	EXPECT_TRAP
	sw a5, 0(a4)
	SAVE_TRAP s4, s5
	li a4, VA_4K + 0x3008             // pointer PTE at level 0
	EXPECT_TRAP
	ld a5, 0(a4)
	SAVE_TRAP s6, s7
	TO_M()
	CHECK(s0, CAUSE_LOAD_PAGE)
	CHECK(s1, VA_2M_BAD + 0x10)
	CHECK(s2, CAUSE_LOAD_PAGE)
	CHECK(s3, VA_1G_BAD + 0x18)
	CHECK(s4, CAUSE_STORE_PAGE)
	CHECK(s5, VA_1G_BAD + 0x18)
	CHECK(s6, CAUSE_LOAD_PAGE)
	CHECK(s7, VA_4K + 0x3008)

	// instruction fetch from an invalid page: cause 12, epc = tval = target
	GOTO_S(4f)
4:	EXPECT_TRAP_TO 5f
	li a4, VA_4K + 0x2004
	jalr a4
5:	TO_M()
	CHECK_MCAUSE(CAUSE_FETCH_PAGE)
	CHECK_MTVAL(VA_4K + 0x2004)
	LOAD_TRAP a5, ISA_T_EPC
	CHECK(a5, VA_4K + 0x2004)

	// M-mode is not translated
	la a4, magic
	ld a5, 0(a4)
	CHECK(a5, 0x0123456789abcdef)
	csrw satp, zero
	sfence.vma
	PASS()
