/*
 * irq_vectored: vectored trap vectors (privileged spec 3.1.7, 4.1.2): with
 * xtvec.MODE = 1, exceptions go to BASE and interrupt cause n to BASE + 4n;
 * checked for M (msip: +12, mtimer: +28, ecall: +0) and S (delegated SSIP:
 * +4).
 */
#include "isa.h"

	.data
	.balign 8
vhit:	.dword 0
vcause:	.dword 0

	.text
	.option push
	.option norvc
	.balign 256
mtable:
	j m_exc
	.rept 2
	j m_bad
	.endr
	j m_msi
	.rept 3
	j m_bad
	.endr
	j m_mti
	.rept 8
	j m_bad
	.endr

m_exc:	li t3, 100
	j m_rec
m_msi:	li t4, CLINT_MSIP(0)
	sw zero, 0(t4)
	li t3, 3
	j m_rec
m_mti:	li t4, CLINT_MTIMECMP(0)
	li t3, -1
	sd t3, 0(t4)
	li t3, 7
	j m_rec
m_bad:	csrw mie, zero
	li t3, 99
m_rec:	la t4, vhit
	sd t3, 0(t4)
	csrr t3, mcause
	sd t3, 8(t4)
	bltz t3, 1f
	csrr t3, mepc
	addi t3, t3, 4
	csrw mepc, t3
1:	mret

	.balign 256
stable:
	j s_bad
	j s_ssi
	.rept 14
	j s_bad
	.endr
s_ssi:	csrci sip, MIP_SSIP
	li t3, 1
	j s_rec
s_bad:	csrw sie, zero
	li t3, 99
s_rec:	la t4, vhit
	sd t3, 0(t4)
	csrr t3, scause
	sd t3, 8(t4)
	sret
	.option pop

TEST_MAIN()
	la a4, mtable + 1
	csrw mtvec, a4
	csrr a5, mtvec
	la a4, mtable + 1
	sub a5, a5, a4
	CHECK(a5, 0)
	la s0, vhit
	// exception: BASE
	ecall
	ld a5, 0(s0)
	CHECK(a5, 100)
	ld a5, 8(s0)
	CHECK(a5, CAUSE_ECALL_M)
	// machine software interrupt: BASE + 12
	sd zero, 0(s0)
	li a4, CLINT_MSIP(0)
	li a6, 1
	sw a6, 0(a4)
	li a4, MIP_MSIP
	csrw mie, a4
	csrsi mstatus, MSTATUS_MIE
	nop
	csrci mstatus, MSTATUS_MIE
	ld a5, 0(s0)
	CHECK(a5, 3)
	ld a5, 8(s0)
	CHECK(a5, CAUSE_IRQ | IRQ_M_SOFT)
	// machine timer interrupt: BASE + 28
	sd zero, 0(s0)
	li a4, CLINT_MTIMECMP(0)
	sd zero, 0(a4)
	li a4, MIP_MTIP
	csrw mie, a4
	csrsi mstatus, MSTATUS_MIE
	li a4, 1000000
1:	ld a5, 0(s0)
	bnez a5, 2f
	addi a4, a4, -1
	bnez a4, 1b
2:	csrci mstatus, MSTATUS_MIE
	csrw mie, zero
	ld a5, 0(s0)
	CHECK(a5, 7)
	ld a5, 8(s0)
	CHECK(a5, CAUSE_IRQ | IRQ_M_TIMER)
	la a4, isa_trap_m
	csrw mtvec, a4

	// S: delegated supervisor software interrupt: BASE + 4
	la a4, stable + 1
	csrw stvec, a4
	li a4, MIP_SSIP
	csrw mideleg, a4
	csrw mie, a4
	csrs mip, a4
	sd zero, 0(s0)
	csrsi mstatus, MSTATUS_SIE
	GOTO_S(3f)
3:	nop
	TO_M()
	ld a5, 0(s0)
	CHECK(a5, 1)
	ld a5, 8(s0)
	CHECK(a5, CAUSE_IRQ | IRQ_S_SOFT)
	la a4, isa_trap_s
	csrw stvec, a4
	csrw mie, zero
	PASS()
