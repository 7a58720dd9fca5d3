/*
 * amo_smp4 (4 harts): atomics across harts (unprivileged spec 8.2-8.4) and
 * inter-processor interrupts through the CLINT (ACLINT MSWI).  Hart 0 wakes
 * harts 1-3 with msip IPIs (the runtime parks them in WFI until then); every
 * hart adds 1 to a shared counter N times with AMOADD.D and N times to
 * another with an LR.W/SC.W loop, sets its bit with AMOOR.D, increments a
 * done count, and IPIs hart 0, which sleeps in WFI (MIE = 0) until all four
 * are done.  No increment may be lost.
 */
#include "isa.h"

#define NHARTS 4
#define N 3000

	.data
	.balign 64
ctr_amo:  .dword 0
	.balign 64
ctr_lr:   .dword 0
	.balign 64
mask:     .dword 0
	.balign 64
done:     .dword 0

/* the work of one hart; a0 = hartid; clobbers a4-a7 */
	.text
work:
	la a4, ctr_amo
	li a5, N
	li a6, 1
1:	amoadd.d zero, a6, (a4)
	addi a5, a5, -1
	bnez a5, 1b
	la a4, ctr_lr
	li a5, N
2:	lr.w a6, (a4)
	addi a6, a6, 1
	sc.w a7, a6, (a4)
	bnez a7, 2b
	addi a5, a5, -1
	bnez a5, 2b
	li a6, 1
	sll a6, a6, a0
	la a4, mask
	amoor.d zero, a6, (a4)
	la a4, done
	li a6, 1
	amoadd.d.aqrl zero, a6, (a4)
	ret

TEST_SECONDARY()
	mv s0, ra
	call work
	li a4, CLINT_MSIP(0)              // tell hart 0
	li a5, 1
	sw a5, 0(a4)
	mv ra, s0
	ret

TEST_MAIN()
	// wake harts 1..3
	li a4, CLINT_MSIP(1)
	li a5, 1
	.irp h, 0, 1, 2
	sw a5, 4 * \h(a4)
	.endr
	li a0, 0
	call work
	// sleep until all are done; a timer 5 s ahead bounds the wait
	li a4, CLINT_MTIME
	ld a5, 0(a4)
	li a6, 50000000
	add a5, a5, a6
	li a4, CLINT_MTIMECMP(0)
	sd a5, 0(a4)
	li a4, MIP_MSIP | MIP_MTIP
	csrw mie, a4
	la s0, done
	li s1, CLINT_MSIP(0)
	li s2, 1000000                    // bound on wake-ups
3:	sw zero, 0(s1)
	fence
	ld a5, 0(s0)
	li a6, NHARTS
	beq a5, a6, 4f
	csrr a5, mip
	andi a5, a5, MIP_MTIP
	bnez a5, 4f                       // timed out
	addi s2, s2, -1
	beqz s2, 4f
	wfi
	j 3b
4:	csrw mie, zero
	li a4, CLINT_MTIMECMP(0)
	li a5, -1
	sd a5, 0(a4)
	ld a5, 0(s0)
	CHECK(a5, NHARTS)
	la a4, mask
	ld a5, 0(a4)
	CHECK(a5, (1 << NHARTS) - 1)
	la a4, ctr_amo
	ld a5, 0(a4)
	CHECK(a5, NHARTS * N)
	la a4, ctr_lr
	lw a5, 0(a4)
	CHECK(a5, NHARTS * N)
	// every woken hart cleared its own msip
	li a4, CLINT_MSIP(1)
	lw a5, 0(a4)
	CHECK(a5, 0)
	lw a5, 4(a4)
	CHECK(a5, 0)
	lw a5, 8(a4)
	CHECK(a5, 0)
	PASS()
