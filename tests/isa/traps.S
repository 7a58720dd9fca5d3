/*
 * traps: synchronous exceptions into M-mode (privileged spec 3.1.15-3.1.17,
 * 3.3.1): ECALL from M, S and U gives causes 11, 9, 8 with mepc at the ecall
 * and mtval = 0; EBREAK gives cause 3 (mtval 0 or the pc); illegal
 * instructions give cause 2 with mtval = the instruction bits (32-bit and
 * 16-bit encodings, and 0 for the all-zero word); xRET above the current
 * privilege is illegal.  With C, jumps to 2-byte aligned targets are fine
 * (no instruction-address-misaligned), and JALR to an odd address clears
 * bit 0.  Fetch, load and store at an address with nothing behind it (0x0
 * on virt) are access faults (causes 1, 5, 7) with mtval = the address.
 */
#include "isa.h"

TEST_MAIN()
	.option push
	.option norvc
	// ECALL from M
	EXPECT_TRAP
1:	ecall
	CHECK_MCAUSE(CAUSE_ECALL_M)
	CHECK_MEPC_AT(1b)
	CHECK_MTVAL(0)
	// ECALL from S: cause 9, MPP = S
	GOTO_S(2f)
2:	EXPECT_TRAP
3:	ecall
	TO_M()
	CHECK_MCAUSE(CAUSE_ECALL_S)
	CHECK_MEPC_AT(3b)
	CHECK_MTVAL(0)
	LOAD_TRAP a5, ISA_T_STATUS
	srli a5, a5, 11
	andi a5, a5, 3
	CHECK(a5, 1)
	// ECALL from U: cause 8, MPP = U
	GOTO_U(4f)
4:	EXPECT_TRAP
5:	ecall
	TO_M()
	CHECK_MCAUSE(CAUSE_ECALL_U)
	CHECK_MEPC_AT(5b)
	LOAD_TRAP a5, ISA_T_STATUS
	srli a5, a5, 11
	andi a5, a5, 3
	CHECK(a5, 0)

	// EBREAK
	EXPECT_TRAP
6:	ebreak
	CHECK_MCAUSE(CAUSE_BREAKPOINT)
	CHECK_MEPC_AT(6b)
	LOAD_TRAP a5, ISA_T_TVAL
	beqz a5, 7f
	CHECK_ADDR(a5, 6b)
7:
	// illegal 32-bit instruction (OP with funct7 = 0x7f): mtval = bits
	EXPECT_TRAP
8:	.word 0xfe000033
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	CHECK_MEPC_AT(8b)
	CHECK_MTVAL(0xfe000033)
	// illegal 16-bit encoding (c.lui x1, 0 is reserved): mtval = 16 bits
	EXPECT_TRAP
9:	.hword 0x6081
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	CHECK_MEPC_AT(9b)
	CHECK_MTVAL(0x6081)
	.hword 0x0001                     // c.nop: realign to 4
	// the all-zero instruction is illegal (a 16-bit encoding)
	EXPECT_TRAP
10:	.hword 0
	.hword 0x0001                     // c.nop: resumed here
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	CHECK_MEPC_AT(10b)
	CHECK_MTVAL(0)
	// a floating-point op with a reserved rounding mode (rm = 5)
	EXPECT_TRAP
11:	.word 0x00b55553               // fadd.s fa0, fa0, fa1, rm=5
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	CHECK_MTVAL(0x00b55553)

	// MRET and SRET from U are illegal; MRET from S is illegal
	TRAP_CLEAR
	GOTO_U(12f)
12:	EXPECT_TRAP
13:	mret
	EXPECT_TRAP
14:	sret
	TO_M()
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	CHECK_MEPC_AT(14b)
	CHECK_MCOUNT(2)                   // TO_M escapes are not counted
	GOTO_S(15f)
15:	EXPECT_TRAP
16:	mret
	TO_M()
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	CHECK_MEPC_AT(16b)

	// jump to a 2-byte aligned 4-byte instruction: no misaligned fetch
	la a4, 18f
	li a5, 0
	jr a4
	.balign 4
	.hword 0x0001                     // c.nop (not executed)
18:	addi a5, a5, 1                    // 4-byte instruction at 4n + 2
	CHECK(a5, 1)
	// branch to a 2-byte aligned target
	li a5, 0
	beqz a5, 20f
	li a5, 9
	.balign 4
	.hword 0x0001
20:	addi a5, a5, 2
	CHECK(a5, 2)
	// JALR to an odd address: bit 0 is cleared, no trap
	la a4, 21f
	ori a4, a4, 1
	li a5, 0
	jalr a4
	li a5, 5
	.balign 4
21:	CHECK(a5, 0)

	// access faults: nothing is mapped at physical address 0 (nor 0x18)
	EXPECT_TRAP_TO 22f
	li a4, 0
	jalr a4
22:	CHECK_MCAUSE(CAUSE_FETCH_ACCESS)
	LOAD_TRAP a5, ISA_T_EPC
	CHECK(a5, 0)
	CHECK_MTVAL(0)
	li a4, 0x10
	EXPECT_TRAP
	ld a5, 8(a4)
	CHECK_MCAUSE(CAUSE_LOAD_ACCESS)
	CHECK_MTVAL(0x18)
	EXPECT_TRAP
	sw a5, 8(a4)
	CHECK_MCAUSE(CAUSE_STORE_ACCESS)
	CHECK_MTVAL(0x18)
	.option pop
	PASS()
