/*
 * An interrupt line: how a device raises an interrupt without knowing who
 * receives it.  The UART's line leads to a PLIC source; the PLIC's outputs
 * and the CLINT's lines lead to a hart's mip bits.  The board wires them.
 *
 * Level-triggered: set(level=1) asserts, set(level=0) deasserts.  Calls may
 * come from any thread; the receiver makes them safe.
 */
#ifndef NIMBUS_VMM_IRQ_H
#define NIMBUS_VMM_IRQ_H

#include <stdint.h>

struct irq_line {
	void (*set)(void *ctx, unsigned line, int level);
	void *ctx;
	unsigned line;
};

static inline void irq_set(const struct irq_line *l, int level)
{
	if (l->set)
		l->set(l->ctx, l->line, level);
}

/*
 * A 64-bit compare value sent to its consumer: the CLINT's mtimecmp for one
 * hart leads to that hart's timer (hart_set_mtimecmp).  Any thread may call.
 */
struct timer_line {
	void (*set)(void *ctx, unsigned idx, uint64_t ticks);
	void *ctx;
	unsigned idx;
};

static inline void timer_line_set(const struct timer_line *l, uint64_t ticks)
{
	if (l->set)
		l->set(l->ctx, l->idx, ticks);
}

#endif
