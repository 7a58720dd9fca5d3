/*
 * irq_plic_level: the PLIC gateway for a level-triggered source (RISC-V
 * PLIC spec, "Interrupt Gateways"; the virt board's UART is level): after
 * claim and complete, a source that is still asserted is forwarded again,
 * so MEIP comes back without a new edge.  Clearing the enable bit alone
 * drops MEIP.
 *
 * isa-skip-qemu: QEMU 7.2's sifive_plic only re-pends a source on a new edge (and ignores enable writes until another update)
 */
#include "isa.h"

#define SRC 10
#define PRIO(s)       (PLIC_BASE + 4 * (s))
#define PENDING       (PLIC_BASE + 0x1000)
#define ENABLE(c)     (PLIC_BASE + 0x2000 + 0x80 * (c))
#define THRESHOLD(c)  (PLIC_BASE + 0x200000 + 0x1000 * (c))
#define CLAIM(c)      (PLIC_BASE + 0x200004 + 0x1000 * (c))
#define UART_IER (UART_BASE + 1)

/* WAIT_MIP bit, want: poll (bounded) until (mip & bit) == want; a5 = mip & bit */
.macro WAIT_MIP bit, want
	li a7, 1000000
.Lwm\@:
	csrr a5, mip
	li a6, \bit
	and a5, a5, a6
	li a6, \want
	beq a5, a6, .Lwd\@
	addi a7, a7, -1
	bnez a7, .Lwm\@
.Lwd\@:
.endm

TEST_MAIN()
	li s0, PRIO(SRC)
	li a4, 1
	sw a4, 0(s0)
	li s1, ENABLE(0)
	li a4, 1 << SRC
	sw a4, 0(s1)
	li s2, THRESHOLD(0)
	sw zero, 0(s2)
	li s3, CLAIM(0)
	li s4, UART_IER
	li a4, 2
	sb a4, 0(s4)
	WAIT_MIP MIP_MEIP, MIP_MEIP
	CHECK(a5, MIP_MEIP)
	lw a5, 0(s3)
	CHECK(a5, SRC)
	WAIT_MIP MIP_MEIP, 0
	CHECK(a5, 0)
	// complete while the UART still asserts: pending again
	li a4, SRC
	sw a4, 0(s3)
	WAIT_MIP MIP_MEIP, MIP_MEIP
	CHECK(a5, MIP_MEIP)
	// the enable bit alone gates MEIP
	sw zero, 0(s1)
	WAIT_MIP MIP_MEIP, 0
	CHECK(a5, 0)
	li a4, 1 << SRC
	sw a4, 0(s1)
	WAIT_MIP MIP_MEIP, MIP_MEIP
	CHECK(a5, MIP_MEIP)
	lw a5, 0(s3)
	CHECK(a5, SRC)
	sb zero, 0(s4)
	li a4, SRC
	sw a4, 0(s3)
	WAIT_MIP MIP_MEIP, 0
	CHECK(a5, 0)
	sw zero, 0(s1)
	PASS()
