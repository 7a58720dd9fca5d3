/*
 * runtime.S: start-up, trap handlers and verdict reporting shared by every
 * ISA test (see isa.h for the conventions).
 *
 * Every hart enters _start in M-mode (a0 = hartid on QEMU; we read mhartid).
 * Optional CSRs (PMP, counters enables, satp, delegation, fcsr) are written
 * with a temporary mtvec that skips a faulting write, so an implementation
 * without them still gets to run the test, which then reports the missing
 * feature itself.  Hart 0 calls test_main; other harts wait for an MSIP and
 * call test_secondary if the test defines it, else park in WFI.
 *
 * The M handler (privileged spec 3.1.6-3.1.20): records mcause/mtval/mepc and
 * mstatus, then either resumes at an armed address, skips the instruction
 * (length from its low two bits), masks a taken interrupt in mie, performs a
 * TO_M/fail escape (ecall with t6 = magic), or fails the test as unexpected.
 * The S handler does the same with the S CSRs and forwards escapes to M.
 */
#include "isa.h"

#define SAVE_T1 0
#define SAVE_T2 8
#define SAVE_T3 16
#define SAVE_T4 24
#define MAX_HARTS 8

.macro TRY_CSRW csr, reg
	la t1, 1f
	csrw mtvec, t1
	csrw \csr, \reg
	.balign 4
1:
.endm

	.section .text.init, "ax", @progbits
	.globl _start
_start:
	.option push
	.option norvc
	csrr a0, mhartid
	li t0, -1
	TRY_CSRW pmpaddr0, t0
	li t0, 0x1f                     // NAPOT, R W X, unlocked
	TRY_CSRW pmpcfg0, t0
	li t0, -1
	TRY_CSRW mcounteren, t0
	TRY_CSRW scounteren, t0
	TRY_CSRW satp, zero
	TRY_CSRW medeleg, zero
	TRY_CSRW mideleg, zero
	TRY_CSRW mie, zero
	li t0, MSTATUS_FS_INITIAL
	TRY_CSRW mstatus, t0
	TRY_CSRW fcsr, zero
	la t0, isa_trap_s
	TRY_CSRW stvec, t0
	.option pop

	la t0, isa_trap_m
	csrw mtvec, t0
	li t0, MAX_HARTS
	bgeu a0, t0, isa_park
	slli t1, a0, 12
	la sp, isa_stacks + 4096
	add sp, sp, t1
	slli t1, a0, 6
	la t0, isa_msave
	add t0, t0, t1
	csrw mscratch, t0
	la t0, isa_ssave
	add t0, t0, t1
	csrw sscratch, t0

	bnez a0, isa_secondary
	call test_main
	// a C test_main returns its verdict
	j isa_report

isa_secondary:
	la t0, isa_secondary_ptr
	ld s0, 0(t0)
	beqz s0, isa_park
	li t0, MIP_MSIP
	csrw mie, t0
1:	wfi
	csrr t0, mip
	andi t0, t0, MIP_MSIP
	beqz t0, 1b
	csrw mie, zero
	slli t1, a0, 2
	li t0, CLINT_BASE
	add t0, t0, t1
	sw zero, 0(t0)
	jalr s0
isa_park:
	csrw mie, zero
1:	wfi
	j 1b

/* ---------------------------------------------------------------- M trap */
	.text
	.balign 4
	.globl isa_trap_m
isa_trap_m:
	csrrw t0, mscratch, t0
	sd t1, SAVE_T1(t0)
	sd t2, SAVE_T2(t0)
	sd t3, SAVE_T3(t0)
	sd t4, SAVE_T4(t0)
	csrr t1, mcause
	bltz t1, .Lm_record
	// ecall escapes: causes 8, 9, 11 with a magic t6
	li t2, CAUSE_ECALL_U
	bltu t1, t2, .Lm_record
	li t2, CAUSE_ECALL_M
	bgtu t1, t2, .Lm_record
	li t2, 10
	beq t1, t2, .Lm_record
	li t2, ISA_MAGIC_FAIL
	beq t6, t2, .Lm_fail_escape
	li t2, ISA_MAGIC_RETM
	beq t6, t2, .Lm_retm
	li t2, ISA_MAGIC_RETM_AT
	beq t6, t2, .Lm_retm_at
.Lm_record:
	la t2, isa_mstate
	ld t3, ISA_T_COUNT(t2)
	addi t3, t3, 1
	sd t3, ISA_T_COUNT(t2)
	sd t1, ISA_T_CAUSE(t2)
	csrr t3, mtval
	sd t3, ISA_T_TVAL(t2)
	csrr t3, mepc
	sd t3, ISA_T_EPC(t2)
	csrr t3, mstatus
	sd t3, ISA_T_STATUS(t2)
	bltz t1, .Lm_irq
	ld t3, ISA_T_RESUME(t2)
	beqz t3, 1f
	sd zero, ISA_T_RESUME(t2)
	sd zero, ISA_T_EXPECT(t2)
	csrw mepc, t3
	j .Lm_return
1:	ld t3, ISA_T_EXPECT(t2)
	beqz t3, .Lm_unexpected
	sd zero, ISA_T_EXPECT(t2)
	// fetch faults cannot be skipped: mepc is the bad address
	li t2, CAUSE_FETCH_ACCESS
	bleu t1, t2, .Lm_unexpected
	li t2, CAUSE_FETCH_PAGE
	beq t1, t2, .Lm_unexpected
	// read the instruction's low half without MPRV translation
	li t4, MSTATUS_MPRV
	csrrc t4, mstatus, t4
	csrr t3, mepc
	lhu t2, 0(t3)
	csrw mstatus, t4
	andi t2, t2, 3
	addi t3, t3, 2
	li t4, 3
	bne t2, t4, 2f
	addi t3, t3, 2
2:	csrw mepc, t3
	j .Lm_return
.Lm_irq:
	li t2, 1
	sll t2, t2, t1
	csrc mie, t2
.Lm_return:
	ld t1, SAVE_T1(t0)
	ld t2, SAVE_T2(t0)
	ld t3, SAVE_T3(t0)
	ld t4, SAVE_T4(t0)
	csrrw t0, mscratch, t0
	mret
.Lm_retm_at:
	csrw mepc, t5
	j 1f
.Lm_retm:
	csrr t2, mepc
	addi t2, t2, 4
	csrw mepc, t2
1:	li t2, MSTATUS_MPP
	csrs mstatus, t2
	j .Lm_return
.Lm_unexpected:
	li a0, ISA_FAIL_MTRAP
	csrr a1, mcause
	csrr a2, mepc
	csrr a3, mtval
	j isa_report
.Lm_fail_escape:
	j isa_report

/* ---------------------------------------------------------------- S trap */
	.balign 4
	.globl isa_trap_s
isa_trap_s:
	csrrw t0, sscratch, t0
	sd t1, SAVE_T1(t0)
	sd t2, SAVE_T2(t0)
	sd t3, SAVE_T3(t0)
	sd t4, SAVE_T4(t0)
	csrr t1, scause
	bltz t1, .Ls_record
	li t2, CAUSE_ECALL_U
	bne t1, t2, .Ls_record
	li t2, ISA_MAGIC_FAIL
	beq t6, t2, .Ls_forward
	li t2, ISA_MAGIC_RETM
	bne t6, t2, .Ls_record
	csrr t5, sepc
	addi t5, t5, 4
	li t6, ISA_MAGIC_RETM_AT
.Ls_forward:
	ld t1, SAVE_T1(t0)
	ld t2, SAVE_T2(t0)
	ld t3, SAVE_T3(t0)
	ld t4, SAVE_T4(t0)
	csrrw t0, sscratch, t0
	ecall
.Ls_record:
	la t2, isa_sstate
	ld t3, ISA_T_COUNT(t2)
	addi t3, t3, 1
	sd t3, ISA_T_COUNT(t2)
	sd t1, ISA_T_CAUSE(t2)
	csrr t3, stval
	sd t3, ISA_T_TVAL(t2)
	csrr t3, sepc
	sd t3, ISA_T_EPC(t2)
	csrr t3, sstatus
	sd t3, ISA_T_STATUS(t2)
	bltz t1, .Ls_irq
	ld t3, ISA_T_RESUME(t2)
	beqz t3, 1f
	sd zero, ISA_T_RESUME(t2)
	sd zero, ISA_T_EXPECT(t2)
	csrw sepc, t3
	j .Ls_return
1:	ld t3, ISA_T_EXPECT(t2)
	beqz t3, .Ls_unexpected
	sd zero, ISA_T_EXPECT(t2)
	li t2, CAUSE_FETCH_ACCESS
	bleu t1, t2, .Ls_unexpected
	li t2, CAUSE_FETCH_PAGE
	beq t1, t2, .Ls_unexpected
	// the instruction may sit on a U page: read it with SUM set
	li t4, MSTATUS_SUM
	csrrs t4, sstatus, t4
	csrr t3, sepc
	lhu t2, 0(t3)
	csrw sstatus, t4
	andi t2, t2, 3
	addi t3, t3, 2
	li t4, 3
	bne t2, t4, 2f
	addi t3, t3, 2
2:	csrw sepc, t3
	j .Ls_return
.Ls_irq:
	li t2, 1
	sll t2, t2, t1
	csrc sie, t2
.Ls_return:
	ld t1, SAVE_T1(t0)
	ld t2, SAVE_T2(t0)
	ld t3, SAVE_T3(t0)
	ld t4, SAVE_T4(t0)
	csrrw t0, sscratch, t0
	sret
.Ls_unexpected:
	li a0, ISA_FAIL_STRAP
	csrr a1, scause
	csrr a2, sepc
	csrr a3, stval
	li t6, ISA_MAGIC_FAIL
	ecall

/* ------------------------------------------------------------ verdicts */
	.globl isa_fail_low
isa_fail_low:
	li t6, ISA_MAGIC_FAIL
	ecall
	.globl isa_fail
isa_fail:
	// fall through: a0 = check, a1 = got, a2 = expected, a3 = line

/* a0 = 0 (pass) or failure number; M-mode only */
	.globl isa_report
isa_report:
	csrci mstatus, MSTATUS_MIE
	li t0, MSTATUS_MPRV
	csrc mstatus, t0
	mv s0, a0
	mv s1, a1
	mv s2, a2
	mv s3, a3
	// any trap while printing: give up printing, still report
	la t0, isa_finish
	csrw mtvec, t0
	beqz s0, isa_finish
	li t0, ISA_FAIL_MTRAP
	beq s0, t0, .Lr_mtrap
	li t0, ISA_FAIL_STRAP
	beq s0, t0, .Lr_strap
	la a0, .Ls_check
	call isa_puts
	mv a0, s0
	call isa_putdec
	la a0, .Ls_line
	call isa_puts
	mv a0, s3
	call isa_putdec
	la a0, .Ls_got
	call isa_puts
	mv a0, s1
	call isa_puthex
	la a0, .Ls_exp
	call isa_puts
	mv a0, s2
	call isa_puthex
	j .Lr_nl
.Lr_strap:
	la a0, .Ls_strap
	j 1f
.Lr_mtrap:
	la a0, .Ls_mtrap
1:	call isa_puts
	mv a0, s1
	call isa_puthex
	la a0, .Ls_epc
	call isa_puts
	mv a0, s2
	call isa_puthex
	la a0, .Ls_tval
	call isa_puts
	mv a0, s3
	call isa_puthex
.Lr_nl:
	li a0, '\n'
	call isa_putc
	.balign 4
isa_finish:
	la t0, isa_hang
	csrw mtvec, t0
	li t1, 1
	beqz s0, 1f
	slli t1, s0, 1
	ori t1, t1, 1
1:	la t0, tohost
	sd t1, 0(t0)
	fence
	li t1, 0x5555
	beqz s0, 2f
	slli t1, s0, 16
	li t2, 0x3333
	or t1, t1, t2
2:	li t0, FINISHER_BASE
	sw t1, 0(t0)
	.balign 4
isa_hang:
	wfi
	j isa_hang

/* C tests: isa_check_fail(n, got, expected, line) */
	.globl isa_check_fail
isa_check_fail:
	j isa_report

/* UART output (16550 THR at +0, LSR at +5), bounded wait for THRE */
isa_putc:
	li t0, UART_BASE
	li t1, 100000
1:	lbu t2, 5(t0)
	andi t2, t2, 0x20
	bnez t2, 2f
	addi t1, t1, -1
	bnez t1, 1b
2:	sb a0, 0(t0)
	ret
isa_puts:
	mv t3, ra
	mv t4, a0
1:	lbu a0, 0(t4)
	beqz a0, 2f
	call isa_putc
	addi t4, t4, 1
	j 1b
2:	mv ra, t3
	ret
isa_puthex:
	mv t3, ra
	mv t4, a0
	li a0, '0'
	call isa_putc
	li a0, 'x'
	call isa_putc
	li t5, 60
1:	srl a0, t4, t5
	andi a0, a0, 15
	li t6, 10
	blt a0, t6, 2f
	addi a0, a0, 'a' - '0' - 10
2:	addi a0, a0, '0'
	call isa_putc
	addi t5, t5, -4
	bgez t5, 1b
	mv ra, t3
	ret
isa_putdec:
	mv t3, ra
	la t4, isa_decbuf + 31
	sb zero, 0(t4)
	li t5, 10
1:	remu t6, a0, t5
	divu a0, a0, t5
	addi t6, t6, '0'
	addi t4, t4, -1
	sb t6, 0(t4)
	bnez a0, 1b
	mv a0, t4
	mv ra, t3
	j isa_puts

	.section .rodata
.Ls_check:	.asciz "isa: FAIL check "
.Ls_line:	.asciz " (line "
.Ls_got:	.asciz "): got "
.Ls_exp:	.asciz " expected "
.Ls_mtrap:	.asciz "isa: FAIL unexpected M trap: mcause="
.Ls_strap:	.asciz "isa: FAIL unexpected S trap: scause="
.Ls_epc:	.asciz " epc="
.Ls_tval:	.asciz " tval="

	.data
	.balign 8
isa_secondary_ptr:
	.weak test_secondary
	.dword test_secondary

	.section .tohost, "aw", @progbits
	.balign 64
	.globl tohost
tohost:	.dword 0
	.balign 64
	.globl fromhost
fromhost: .dword 0

	.bss
	.balign 64
	.globl isa_mstate, isa_sstate, isa_msave, isa_ssave
isa_mstate:	.space ISA_T_SIZE
isa_sstate:	.space ISA_T_SIZE
isa_msave:	.space 64 * MAX_HARTS
isa_ssave:	.space 64 * MAX_HARTS
isa_decbuf:	.space 32
	.balign 4096
isa_stacks:	.space 4096 * MAX_HARTS
