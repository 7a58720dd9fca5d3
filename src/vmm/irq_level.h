/*
 * An interrupt level decided under its owner's lock but driven onto its
 * irq_line after the lock is released.
 *
 * Why: driving a line that ends at a sleeping hart wakes it (a futex
 * syscall, an IPI on the host).  Done under the owner's lock, the woken vCPU
 * runs straight into that lock (the PLIC's claim, virtio-mmio's
 * InterruptStatus) and sleeps again until the waker returns: two sleeps and
 * two wake-ups per interrupt instead of one.
 *
 * Protocol: the owner calls irq_level_decide() with its lock held (so the
 * decisions are ordered) and, if it returned true, irq_level_drive() after
 * unlocking (or has another thread do it: see the PLIC).  drive() reads the
 * latest decision, drives the line, and drives again if the decision changed
 * meanwhile.  Every change is followed by a drive that starts after it, so
 * the last drive of the line carries the last decision: the line settles on
 * the owner's state.  In between, a racing pair of drives may show the
 * receiver a level for an instant after the owner changed its mind (as real
 * wires do); receivers are level-triggered and see the settled level.
 * Drives may run concurrently on one line: receivers are thread-safe
 * (irq.h).
 */
#ifndef NIMBUS_VMM_IRQ_LEVEL_H
#define NIMBUS_VMM_IRQ_LEVEL_H

#include <stdatomic.h>
#include <stdbool.h>

#include "vmm/irq.h"

struct irq_level {
	struct irq_line line;
	atomic_int want;          /* the last decision: 0 or 1 */
};

static inline void irq_level_init(struct irq_level *l, struct irq_line line)
{
	l->line = line;
	atomic_init(&l->want, 0);
}

/* With the owner's lock held: records the level; true if it changed (the
 * caller must then see that irq_level_drive() runs after the unlock). */
static inline bool irq_level_decide(struct irq_level *l, int level)
{
	level = level != 0;
	if (atomic_load_explicit(&l->want, memory_order_relaxed) == level)
		return false;
	atomic_store(&l->want, level);
	return true;
}

/* Without the owner's lock: drives the line until it carries the latest
 * decision. */
static inline void irq_level_drive(struct irq_level *l)
{
	int v;
	do {
		v = atomic_load(&l->want);
		irq_set(&l->line, v);
	} while (atomic_load(&l->want) != v);
}

#endif
