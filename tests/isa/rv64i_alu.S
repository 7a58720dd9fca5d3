/*
 * rv64i_alu: RV64I integer computational instructions (unprivileged spec,
 * chapters 2.4 and 5.2): register-immediate and register-register ALU ops,
 * their 32-bit W forms (result sign-extended from bit 31), shifts by 0, 31
 * and 63 (shift amounts use the low 6 bits, 5 for W forms), LUI and AUIPC.
 */
#include "isa.h"

TEST_MAIN()
	// ADDI / ADD / SUB with wrap-around
	li a4, 0x7fffffffffffffff
	addi a5, a4, 1
	CHECK(a5, 0x8000000000000000)
	addi a5, zero, -2048
	CHECK(a5, -2048)
	addi a5, zero, 2047
	CHECK(a5, 2047)
	li a6, 5
	sub a5, zero, a6
	CHECK(a5, -5)
	add a5, a4, a4
	CHECK(a5, -2)

	// SLT / SLTU / SLTI / SLTIU, signed vs unsigned
	li a4, -1
	li a6, 1
	slt a5, a4, a6
	CHECK(a5, 1)
	sltu a5, a4, a6
	CHECK(a5, 0)
	slti a5, a4, 0
	CHECK(a5, 1)
	sltiu a5, a6, -1          // immediate sign-extended then compared unsigned
	CHECK(a5, 1)
	sltiu a5, zero, 1         // seqz
	CHECK(a5, 1)
	sltu a5, zero, a6         // snez
	CHECK(a5, 1)

	// logic
	li a4, 0xff00ff00f0f0f0f0
	xori a5, a4, -1
	CHECK(a5, 0x00ff00ff0f0f0f0f)
	ori a5, a4, 0x0f
	CHECK(a5, 0xff00ff00f0f0f0ff)
	andi a5, a4, -16          // sign-extended immediate keeps the top bits
	CHECK(a5, 0xff00ff00f0f0f0f0)
	andi a5, a4, 0x7f0
	CHECK(a5, 0xf0)
	li a6, 0x0ff00ff00ff00ff0
	and a5, a4, a6
	CHECK(a5, 0x0f000f0000f000f0)
	or a5, a4, a6
	CHECK(a5, 0xfff0fff0fff0fff0)
	xor a5, a4, a6
	CHECK(a5, 0xf0f0f0f0ff00ff00)

	// 64-bit shifts by 0, 31, 63 (immediate and register)
	li a4, 0x8000000000000001
	slli a5, a4, 0
	CHECK(a5, 0x8000000000000001)
	slli a5, a4, 31
	CHECK(a5, 0x0000000080000000)
	slli a5, a4, 63
	CHECK(a5, 0x8000000000000000)
	srli a5, a4, 63
	CHECK(a5, 1)
	srai a5, a4, 63
	CHECK(a5, -1)
	srai a5, a4, 31
	CHECK(a5, 0xffffffff00000000)
	srli a5, a4, 31
	CHECK(a5, 0x100000000)
	li a6, 63 + 64            // only the low 6 bits of rs2 count
	sll a5, a4, a6
	CHECK(a5, 0x8000000000000000)
	srl a5, a4, a6
	CHECK(a5, 1)
	sra a5, a4, a6
	CHECK(a5, -1)
	li a6, 64                 // shift by 0
	sra a5, a4, a6
	CHECK(a5, 0x8000000000000001)

	// W forms: 32-bit result sign-extended, upper input bits ignored
	li a4, 0x123456787fffffff
	addiw a5, a4, 1
	CHECK(a5, 0xffffffff80000000)
	addiw a5, a4, 0           // sext.w
	CHECK(a5, 0x7fffffff)
	li a6, 0xffffffff00000001
	addw a5, a4, a6
	CHECK(a5, 0xffffffff80000000)
	subw a5, zero, a6
	CHECK(a5, -1)
	li a4, 0xdeadbeef00000001
	slliw a5, a4, 31
	CHECK(a5, 0xffffffff80000000)
	slliw a5, a4, 0
	CHECK(a5, 1)
	li a4, 0x0000000180000000
	srliw a5, a4, 31
	CHECK(a5, 1)
	srliw a5, a4, 0           // sign-extends bit 31 even for a logical shift by 0
	CHECK(a5, 0xffffffff80000000)
	sraiw a5, a4, 31
	CHECK(a5, -1)
	sraiw a5, a4, 4
	CHECK(a5, 0xfffffffff8000000)
	li a6, 31 + 32            // W register shifts use the low 5 bits
	sllw a5, a6, a6
	CHECK(a5, 0xffffffff80000000)
	srlw a5, a4, a6
	CHECK(a5, 1)
	sraw a5, a4, a6
	CHECK(a5, -1)
	li a6, 32
	srlw a5, a4, a6
	CHECK(a5, 0xffffffff80000000)

	// LUI: 20-bit immediate << 12, sign-extended from bit 31
	lui a5, 0x80000
	CHECK(a5, 0xffffffff80000000)
	lui a5, 0x7ffff
	CHECK(a5, 0x7ffff000)
	lui a5, 0
	CHECK(a5, 0)

	// AUIPC: pc + (imm << 12), sign-extended immediate
1:	auipc a5, 0
	la a6, 1b
	sub a5, a5, a6
	CHECK(a5, 0)
2:	auipc a5, 1
	la a6, 2b
	sub a5, a5, a6
	CHECK(a5, 0x1000)
3:	auipc a5, 0xfffff
	la a6, 3b
	sub a5, a5, a6
	CHECK(a5, -0x1000)

	// writes to x0 are discarded
	addi zero, zero, 5
	li a4, 7
	add zero, a4, a4
	lui zero, 1
	CHECK(zero, 0)

	PASS()
