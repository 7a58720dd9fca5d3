/*
 * An NS16550A UART (register shift 0, one byte per register), QEMU virt's
 * UART0.  Registers (16550A datasheet): RBR/THR/DLL at 0, IER/DLM at 1,
 * IIR (read) / FCR (write) at 2, LCR 3, MCR 4, LSR 5, MSR 6, SCR 7; LCR
 * bit 7 (DLAB) maps the divisor latch over 0 and 1.
 *
 * Transmission is instantaneous: a THR write goes straight to the chardev
 * (or, with MCR LOOP set, into the receive FIFO), so THR and the shift
 * register are always empty (LSR THRE|TEMT) and the THRE interrupt is
 * re-armed by every write.  The THRE interrupt also arms when IER ETBEI goes
 * 0->1 (the 16550A behaviour Linux's 8250 driver probes for) and is
 * acknowledged by reading IIR while it is the reported cause, or by a THR
 * write.  The receive FIFO holds 16 bytes with FCR bit 0 set, else 1;
 * host input that does not fit is refused (receive returns less), never
 * dropped.  Below the FIFO trigger level the character-timeout indication
 * (IIR 0xc) is reported at once instead of after four character times: with
 * no real line there is nothing to wait for.  In loopback mode MSR's
 * CTS/DSR/RI/DCD follow MCR's RTS/DTR/OUT1/OUT2 and host input waits;
 * otherwise the modem lines read DCD|DSR|CTS (as QEMU).  The interrupt
 * output is high exactly when IIR bit 0 is clear.
 *
 * All state is under `lock`, which is held while calling the chardev's
 * write: a host side must not call receive from inside its write.  The host
 * side stops calling receive before uart16550_destroy(), which does not
 * touch the chardev (it may already be freed).
 */
#ifndef NIMBUS_VMM_BOARD_UART16550_H
#define NIMBUS_VMM_BOARD_UART16550_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/device.h"
#include "vmm/chardev.h"
#include "vmm/irq.h"

#define UART_FIFO_SIZE 16

/* Plain data: what a snapshot saves. */
struct uart16550_state {
	uint8_t rx[UART_FIFO_SIZE];
	uint8_t rx_head, rx_count;
	uint8_t ier, fcr, lcr, mcr, scr, dll, dlm;
	uint8_t lsr_err;        /* OE/PE/FE/BI bits latched until LSR is read */
	uint8_t msr;            /* status bits 7:4 and delta bits 3:0 */
	uint8_t thr_ipending;   /* THRE interrupt armed */
	uint8_t irq_level;      /* last level driven on `irq` */
};

struct uart16550 {
	pthread_mutex_t lock;
	struct irq_line irq;
	struct chardev *cd;     /* may be NULL: output dropped, no input */
	bool quiesced;          /* the VM is paused: host input waits (device.h) */
	struct uart16550_state s;
};

extern const struct mmio_ops uart16550_ops;
/* The device type (device.h); obj is the struct uart16550. */
extern const struct device_ops uart16550_device;

/* Attaches to cd (sets cd->receive and cd->dev) when cd is not NULL. */
int uart16550_init(struct uart16550 *u, const struct irq_line *irq, struct chardev *cd);
void uart16550_destroy(struct uart16550 *u);
void uart16550_reset(struct uart16550 *u);

/* Host input: queues up to len bytes, returns how many fit. */
size_t uart16550_receive(void *uart, const uint8_t *buf, size_t len);

#endif
