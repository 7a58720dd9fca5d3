/*
 * rvc: a sample of the compressed instructions (unprivileged spec ch. 16):
 * constants (c.li, c.lui), stack-pointer forms (c.addi16sp, c.addi4spn,
 * c.lwsp/c.ldsp/c.swsp/c.sdsp, c.fldsp/c.fsdsp), register-based loads and
 * stores (c.lw sign-extends, c.ld, c.sw, c.sd, c.fld, c.fsd), arithmetic
 * (c.addi, c.addiw, c.slli, c.srli, c.srai, c.andi, c.mv, c.add, c.sub,
 * c.xor, c.or, c.and, c.subw, c.addw), control flow (c.j, c.jr, c.jalr with
 * link = pc + 2, c.beqz/c.bnez both ways) and c.ebreak (breakpoint, mepc =
 * its address, 2-byte length).
 */
#include "isa.h"

	.data
	.balign 16
buf:	.dword 0x80000001fffffff0, 0x0123456789abcdef, 0x400921fb54442d18, 0

TEST_MAIN()
	.option push
	.option rvc
	c.li a4, -32
	CHECK(a4, -32)
	c.li a4, 31
	CHECK(a4, 31)
	c.lui a4, 0xfffff
	CHECK(a4, -4096)
	c.lui a4, 31
	CHECK(a4, 31 << 12)
	c.addi a4, -1
	CHECK(a4, (31 << 12) - 1)
	li a4, 0x7fffffff
	c.addiw a4, 1
	CHECK(a4, 0xffffffff80000000)
	li a4, 0x100000005
	c.addiw a4, 0                   // sext.w
	CHECK(a4, 5)

	// stack-pointer forms
	mv s1, sp
	c.addi16sp sp, -64
	sub a5, s1, sp
	CHECK(a5, 64)
	c.addi4spn a0, sp, 8
	sub a5, a0, sp
	CHECK(a5, 8)
	li a4, 0x8765432187654321
	c.sdsp a4, 16(sp)
	c.ldsp a5, 16(sp)
	CHECK(a5, 0x8765432187654321)
	c.swsp a4, 24(sp)
	c.lwsp a5, 24(sp)
	CHECK(a5, 0xffffffff87654321)
	c.lwsp a5, 20(sp)
	CHECK(a5, 0xffffffff87654321)
	c.addi16sp sp, 64
	sub a5, s1, sp
	CHECK(a5, 0)
	c.addi16sp sp, -512
	c.addi16sp sp, 496
	sub a5, s1, sp
	CHECK(a5, 16)
	c.addi16sp sp, 16

	// register-based loads/stores (x8-x15)
	la s0, buf
	c.lw a5, 4(s0)
	CHECK(a5, 0xffffffff80000001)
	c.lw a5, 0(s0)
	CHECK(a5, 0xfffffffffffffff0)
	c.ld a5, 8(s0)
	CHECK(a5, 0x0123456789abcdef)
	c.sw a5, 24(s0)
	c.sd a5, 16(s0)
	ld a4, 24(s0)
	CHECK(a4, 0x89abcdef)
	ld a4, 16(s0)
	CHECK(a4, 0x0123456789abcdef)
	li a4, 0x400921fb54442d18
	sd a4, 16(s0)
	c.fld fa0, 16(s0)
	c.fsd fa0, 24(s0)
	ld a5, 24(s0)
	CHECK(a5, 0x400921fb54442d18)
	c.fsdsp fa0, 0(sp)
	c.fldsp fa1, 0(sp)
	fmv.x.d a5, fa1
	CHECK(a5, 0x400921fb54442d18)

	// arithmetic
	li a5, 0x8000000000000003
	c.slli a5, 1
	CHECK(a5, 6)
	li a5, 0x8000000000000000
	c.srli a5, 63
	CHECK(a5, 1)
	li a5, 0x8000000000000000
	c.srai a5, 62
	CHECK(a5, -2)
	li a5, 0xff
	c.andi a5, -16
	CHECK(a5, 0xf0)
	li a4, 100
	c.mv a5, a4
	CHECK(a5, 100)
	c.add a5, a4
	CHECK(a5, 200)
	li a4, 0x0f0f
	li a5, 0x00ff
	c.xor a5, a4
	CHECK(a5, 0x0ff0)
	c.or a5, a4
	CHECK(a5, 0x0fff)
	c.and a5, a4
	CHECK(a5, 0x0f0f)
	c.sub a5, a4
	CHECK(a5, 0)
	li a4, 1
	li a5, 0x80000000
	c.subw a5, a4
	CHECK(a5, 0x7fffffff)
	c.addw a5, a4
	CHECK(a5, 0xffffffff80000000)
	c.nop

	// control flow
	li a5, 0
	c.j 1f
	li a5, 1
1:	CHECK(a5, 0)
	li a5, 0
	c.beqz a5, 2f
	li a5, 1
2:	CHECK(a5, 0)
	li a5, 3
	c.beqz a5, 3f
	li a5, 4
3:	CHECK(a5, 4)
	c.bnez a5, 4f
	li a5, 5
4:	CHECK(a5, 4)
	li a5, 0
	c.bnez a5, 5f
	li a5, 6
5:	CHECK(a5, 6)
	la a4, 6f
	li a5, 0
	c.jr a4
	li a5, 1
6:	CHECK(a5, 0)
	la a4, 8f
	li a5, 0
7:	c.jalr a4
	li a5, 1
8:	CHECK(a5, 0)
	la a4, 7b + 2                   // link = pc + 2
	sub a5, ra, a4
	CHECK(a5, 0)

	// c.ebreak: breakpoint exception, epc at the instruction
	EXPECT_TRAP
9:	c.ebreak
	li a5, 7                        // resumed 2 bytes on
	CHECK(a5, 7)
	CHECK_MCAUSE(CAUSE_BREAKPOINT)
	CHECK_MEPC_AT(9b)
	.option pop
	PASS()
