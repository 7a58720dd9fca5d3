/*
 * mmu_sfence_code: SFENCE.VMA also orders page-table changes before later
 * instruction fetches (privileged spec 4.2.1).  S-mode calls a function
 * through a virtual address often enough for a translator to have it
 * translated and cached by virtual PC; M-mode then maps that address to a
 * frame holding other code, and after SFENCE.VMA (by address, then global)
 * the very next call must run the new code.
 */
#include "isa.h"

PAGE root
PAGE l1
PAGE l0
PAGE codeA
PAGE codeB

#define VA 0x40000000
#define RXAD (PTE_V | PTE_R | PTE_X | PTE_A | PTE_D)
#define CALLS 200

/* s2 = sum of a0 over CALLS calls of the function at VA */
.macro CALL_MANY
	li s2, 0
	li s3, CALLS
	li s4, VA
99:	jalr ra, 0(s4)
	add s2, s2, a0
	addi s3, s3, -1
	bnez s3, 99b
.endm

TEST_MAIN()
	PAGE_ZERO root
	PAGE_ZERO l1
	PAGE_ZERO l0
	PTE_LEAF root, 2, RAM_BASE, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
	PTE_LINK root, 1, l1
	PTE_LINK l1, 0, l0
	la s10, codeA
	la s11, codeB
	li a5, 0x00100513                 // codeA: li a0, 1
	sw a5, 0(s10)
	li a5, 0x00200513                 // codeB: li a0, 2
	sw a5, 0(s11)
	li a5, 0x00008067                 // ret
	sw a5, 4(s10)
	sw a5, 4(s11)
	fence.i
	PTE_SET l0, 0, s10, RXAD
	/* s6/s7: the leaf PTEs for codeB/codeA; s8: where the leaf lives.
	 * S-mode rewrites it itself (the gigapage maps RAM), so no trap into
	 * M-mode (whose stores might touch pages holding code) comes between
	 * the calls and the fence. */
	srli s6, s11, 12
	slli s6, s6, 10
	ori s6, s6, RXAD
	srli s7, s10, 12
	slli s7, s7, 10
	ori s7, s7, RXAD
	la s8, l0
	SATP_SET SATP_SV39, root

	GOTO_S(1f)
1:	CALL_MANY
	mv s5, s2
	sd s6, 0(s8)                      // the same VA, now codeB
	li a4, VA
	sfence.vma a4, zero
	CALL_MANY
	mv s9, s2
	sd s7, 0(s8)                      // back to codeA, global fence
	sfence.vma
	CALL_MANY
	mv a6, s2
	TO_M()
	CHECK(s5, CALLS)
	CHECK(s9, 2 * CALLS)
	CHECK(a6, CALLS)
	csrw satp, zero
	sfence.vma
	PASS()
