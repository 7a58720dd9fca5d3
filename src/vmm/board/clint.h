/*
 * The SiFive CLINT ("sifive,clint0"), as on QEMU's virt board: per hart a
 * 32-bit msip register at 0x0 + 4*hart (bit 0 drives the hart's MSIP) and a
 * 64-bit mtimecmp at 0x4000 + 8*hart; the shared 64-bit mtime at 0xbff8.
 *
 * mtime is the VM's vclock, read-only after init and shared with the harts'
 * `time` CSR, so writes to mtime are ignored (the clock cannot shift under
 * running harts).  The hart itself compares time with mtimecmp (it sleeps in
 * WFI until the deadline), so a mtimecmp write is forwarded on the hart's
 * timer_line.  Reset clears msip and mtimecmp (reads 0, as QEMU) but tells
 * the harts "no deadline" until the guest writes a compare value, matching
 * QEMU, where MTIP stays clear until mtimecmp is first written.
 *
 * Registers accept 4- and 8-byte accesses; a 4-byte access to mtimecmp or
 * mtime reaches the addressed half.  State is under `lock`.
 */
#ifndef NIMBUS_VMM_BOARD_CLINT_H
#define NIMBUS_VMM_BOARD_CLINT_H

#include <pthread.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/irq.h"
#include "vmm/board/virt.h"
#include "vmm/device.h"

struct vclock;

#define CLINT_MSIP_BASE     0x0
#define CLINT_MTIMECMP_BASE 0x4000
#define CLINT_MTIME         0xbff8

/* Plain data: what a snapshot saves. */
struct clint_state {
	uint32_t msip[VM_MAX_CPUS];
	uint64_t mtimecmp[VM_MAX_CPUS];
};

struct clint {
	pthread_mutex_t lock;
	unsigned nharts;
	const struct vclock *clock;
	struct irq_line msip_out[VM_MAX_CPUS];       /* to each hart's MSIP */
	struct timer_line mtimecmp_out[VM_MAX_CPUS]; /* to each hart's timer */
	struct clint_state s;
};

extern const struct mmio_ops clint_ops;
/* The device type (device.h); obj is the struct clint. */
extern const struct device_ops clint_device;

/* msip and mtimecmp each hold nharts lines. Returns 0 or -EINVAL. */
int clint_init(struct clint *c, unsigned nharts, const struct vclock *clock,
	       const struct irq_line *msip, const struct timer_line *mtimecmp);
void clint_destroy(struct clint *c);
void clint_reset(struct clint *c);

#endif
