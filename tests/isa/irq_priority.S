/*
 * irq_priority: simultaneous pending interrupts are taken in the fixed
 * priority order MEI > MSI > MTI > SEI > SSI > STI (privileged spec 3.1.9):
 * MSIP and MTIP both pending: 3 then 7 in M; SSIP and STIP (set in mip by
 * M, delegated) both pending: 1 then 5 in S.  (The orders QEMU 7.2 gets
 * wrong are in irq_priority_spec.)
 */
#include "isa.h"

	.data
	.balign 8
seen:	.dword 0, 0, 0, 0
nseen:	.dword 0

	.text
/* wrappers around the runtime's handlers that log each cause into seen[] */
	.balign 4
logm:	csrw mscratch, t0                 // (restored below: the runtime uses it)
	la t0, nseen
	ld t1, 0(t0)
	slli t2, t1, 3
	la t3, seen
	add t3, t3, t2
	csrr t2, mcause
	sd t2, 0(t3)
	addi t1, t1, 1
	sd t1, 0(t0)
	la t0, isa_msave
	csrrw t0, mscratch, t0
	j isa_trap_m
	.balign 4
logs:	csrw sscratch, t0
	la t0, nseen
	ld t1, 0(t0)
	slli t2, t1, 3
	la t3, seen
	add t3, t3, t2
	csrr t2, scause
	sd t2, 0(t3)
	addi t1, t1, 1
	sd t1, 0(t0)
	la t0, isa_ssave
	csrrw t0, sscratch, t0
	j isa_trap_s

/* LOG_CLEAR; LOG_CHECK n, c0, c1: exactly n causes logged, the first two as given */
.macro LOG_CLEAR
	la t5, nseen
	sd zero, 0(t5)
.endm
.macro LOG_CHECK n, c0, c1
	la s0, seen
	ld a5, 32(s0)
	CHECK(a5, \n)
	ld a5, 0(s0)
	CHECK(a5, \c0)
	ld a5, 8(s0)
	CHECK(a5, \c1)
.endm
/* wait (bounded) until all of mask are pending in mip */
.macro WAIT_MIP mask
	li a7, 1000000
.Lwm\@:
	csrr a5, mip
	li a6, \mask
	and a5, a5, a6
	beq a5, a6, .Lwmd\@
	addi a7, a7, -1
	bnez a7, .Lwm\@
.Lwmd\@:
.endm
/* take whatever is pending and enabled in M (mie = mask) via logm */
.macro TAKE_M mask
	la a4, logm
	csrw mtvec, a4
	li a4, \mask
	csrw mie, a4
	csrsi mstatus, MSTATUS_MIE
	nop
	nop
	nop
	csrci mstatus, MSTATUS_MIE
	la a4, isa_trap_m
	csrw mtvec, a4
.endm
/* delegate mask, make it pending via mip, take it in S via logs */
.macro TAKE_S mask
	la a4, logs
	csrw stvec, a4
	li a4, \mask
	csrw mideleg, a4
	csrs mip, a4
	csrw mie, a4
	GOTO_S(.Lts\@)
.Lts\@:
	csrsi sstatus, MSTATUS_SIE
	nop
	nop
	nop
	csrci sstatus, MSTATUS_SIE
	TO_M()
	li a4, \mask
	csrc mip, a4
	csrw mie, zero
	csrw mideleg, zero
	la a4, isa_trap_s
	csrw stvec, a4
.endm

TEST_MAIN()
	li a4, CLINT_MSIP(0)
	li a5, 1
	sw a5, 0(a4)
	li a4, CLINT_MTIMECMP(0)
	sd zero, 0(a4)
	WAIT_MIP MIP_MSIP | MIP_MTIP
	LOG_CLEAR
	TAKE_M MIP_MSIP | MIP_MTIP
	LOG_CHECK 2, CAUSE_IRQ | IRQ_M_SOFT, CAUSE_IRQ | IRQ_M_TIMER
	li a4, CLINT_MSIP(0)
	sw zero, 0(a4)
	li a4, CLINT_MTIMECMP(0)
	li a5, -1
	sd a5, 0(a4)

	LOG_CLEAR
	TAKE_S MIP_SSIP | MIP_STIP
	LOG_CHECK 2, CAUSE_IRQ | IRQ_S_SOFT, CAUSE_IRQ | IRQ_S_TIMER
	PASS()
