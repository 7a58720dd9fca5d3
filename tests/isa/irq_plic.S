/*
 * irq_plic: external interrupts through the PLIC (RISC-V PLIC spec; virt
 * board: UART0 is source 10, context 0 = hart 0 M-mode, context 1 = hart 0
 * S-mode): the UART's THR-empty interrupt (IER.ETBEI) raises the source;
 * with priority 1 > threshold and the enable bit set, mip.MEIP (or SEIP)
 * follows; the trap cause is 11 (or 9 in S); claim returns 10 and clears
 * the pending bit; after complete a new assertion is a new request;
 * threshold >= priority and priority 0 mask the source.  (Completing while
 * the source is still asserted: irq_plic_level.)
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
	TRAP_CLEAR
	li s0, PRIO(SRC)
	li a4, 1
	sw a4, 0(s0)
	li s1, ENABLE(0)
	li a4, 1 << SRC
	sw a4, 0(s1)
	li s2, THRESHOLD(0)
	sw zero, 0(s2)
	li s3, CLAIM(0)
	// UART: interrupt on THR empty (the transmitter is idle, so at once)
	li s4, UART_IER
	li a4, 2
	sb a4, 0(s4)
	WAIT_MIP MIP_MEIP, MIP_MEIP
	CHECK(a5, MIP_MEIP)
	li a4, PENDING
	lw a5, 0(a4)
	srli a5, a5, SRC
	andi a5, a5, 1
	CHECK(a5, 1)
	// taken as machine external interrupt
	li a4, MIP_MEIP
	csrw mie, a4
	csrsi mstatus, MSTATUS_MIE
	nop
	csrci mstatus, MSTATUS_MIE
	CHECK_MCOUNT(1)
	CHECK_MCAUSE(CAUSE_IRQ | IRQ_M_EXT)
	// claim: source 10, pending bit and MEIP drop while it is in service
	lw a5, 0(s3)
	CHECK(a5, SRC)
	WAIT_MIP MIP_MEIP, 0
	CHECK(a5, 0)
	li a4, PENDING
	lw a5, 0(a4)
	srli a5, a5, SRC
	andi a5, a5, 1
	CHECK(a5, 0)
	// UART quiet, complete, UART asserts again: a new request
	sb zero, 0(s4)
	li a4, SRC
	sw a4, 0(s3)
	li a4, 2
	sb a4, 0(s4)
	WAIT_MIP MIP_MEIP, MIP_MEIP
	CHECK(a5, MIP_MEIP)
	// threshold 1 masks a priority-1 source
	li a4, 1
	sw a4, 0(s2)
	WAIT_MIP MIP_MEIP, 0
	CHECK(a5, 0)
	sw zero, 0(s2)
	WAIT_MIP MIP_MEIP, MIP_MEIP
	CHECK(a5, MIP_MEIP)
	// priority 0 never interrupts
	sw zero, 0(s0)
	WAIT_MIP MIP_MEIP, 0
	CHECK(a5, 0)
	li a4, 1
	sw a4, 0(s0)
	// hand the source to the S context instead (the threshold rewrite changes
	// nothing, but QEMU 7.2 only re-evaluates its outputs on such writes;
	// irq_plic_level checks the enable write alone)
	sw zero, 0(s1)
	sw zero, 0(s2)
	WAIT_MIP MIP_MEIP, 0
	CHECK(a5, 0)
	li a4, 1 << SRC
	li a6, ENABLE(1)
	sw a4, 0(a6)
	li a6, THRESHOLD(1)
	sw zero, 0(a6)
	WAIT_MIP MIP_SEIP, MIP_SEIP
	CHECK(a5, MIP_SEIP)
	TRAP_CLEAR isa_sstate
	li a4, MIP_SEIP
	csrw mideleg, a4
	csrw mie, a4
	GOTO_S(1f)
1:	csrsi sstatus, MSTATUS_SIE
	nop
	csrci sstatus, MSTATUS_SIE
	li a6, CLAIM(1)
	lw s5, 0(a6)                      // claim from S
	li a4, UART_IER
	sb zero, 0(a4)                    // quiet the UART
	sw s5, 0(a6)                      // complete
	TO_M()
	CHECK_SCOUNT(1)
	CHECK_SCAUSE(CAUSE_IRQ | IRQ_S_EXT)
	CHECK(s5, SRC)
	WAIT_MIP MIP_SEIP, 0
	CHECK(a5, 0)
	csrw mie, zero
	csrw mideleg, zero
	li a6, ENABLE(1)
	sw zero, 0(a6)
	PASS()
