/*
 * The RISC-V PLIC ("sifive,plic-1.0.0"/"riscv,plic0") with the layout and
 * sizes of QEMU's virt board: sources 1..96 (0 is reserved), priorities 0..7
 * (3 bits, WARL: wider writes are masked), two contexts per hart (2h = M
 * mode -> MEIP, 2h+1 = S mode -> SEIP).
 *
 *   0x000000 + 4*id          priority of source id
 *   0x001000                 pending bits (read-only)
 *   0x002000 + 0x80*ctx      enable bits of a context
 *   0x200000 + 0x1000*ctx    threshold (+0), claim/complete (+4)
 *
 * Gateway (PLIC spec, "Interrupt Gateways"): every source is level
 * triggered.  A source becomes pending while its line is high and it is
 * not in service; a claim clears pending and puts it in service, so a
 * still-high line raises no new request until the handler completes it;
 * on completion a still-high line pends again at once.  A line that drops
 * before it is claimed withdraws its request (as QEMU does), which spares
 * the guest a claim of an interrupt with nothing to do.  A completion of
 * a source not enabled for the completing context is ignored (spec).
 *
 * A context's output (its hart's MEIP/SEIP) is high while some pending,
 * enabled source has priority > the context's threshold.  Outputs are
 * driven only on change, after `lock` is released (irq_level.h): a hart
 * woken by its output claims at once, and must not find the PLIC locked.
 * Registers take 4-byte accesses (8-byte ones are split into two).  All
 * state is under `lock`; source lines may be driven from any thread.
 */
#ifndef NIMBUS_VMM_BOARD_PLIC_H
#define NIMBUS_VMM_BOARD_PLIC_H

#include <pthread.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/irq.h"
#include "vmm/irq_level.h"
#include "vmm/board/virt.h"
#include "vmm/device.h"

#define PLIC_NSOURCES     97         /* ids 0..96; VIRT_PLIC_NDEV == 96 */
#define PLIC_WORDS        ((PLIC_NSOURCES + 31) / 32)
#define PLIC_MAX_CONTEXTS (2 * VM_MAX_CPUS)
#define PLIC_MAX_PRIORITY 7

#define PLIC_PRIORITY_BASE  0x0
#define PLIC_PENDING_BASE   0x1000
#define PLIC_ENABLE_BASE    0x2000
#define PLIC_ENABLE_STRIDE  0x80
#define PLIC_CONTEXT_BASE   0x200000
#define PLIC_CONTEXT_STRIDE 0x1000

/* Plain data: what a snapshot saves. */
struct plic_state {
	uint32_t priority[PLIC_NSOURCES];
	uint32_t level[PLIC_WORDS];       /* input line levels */
	uint32_t pending[PLIC_WORDS];
	uint32_t in_service[PLIC_WORDS];  /* claimed, not yet completed */
	uint32_t enable[PLIC_MAX_CONTEXTS][PLIC_WORDS];
	uint32_t threshold[PLIC_MAX_CONTEXTS];
	uint8_t output[PLIC_MAX_CONTEXTS]; /* last level driven on out[ctx] */
};

struct plic {
	pthread_mutex_t lock;
	unsigned ncontexts;
	struct irq_level out[PLIC_MAX_CONTEXTS];
	uint32_t to_drive;   /* contexts whose output changed: unlock() drives them */
	struct plic_state s;
};

extern const struct mmio_ops plic_ops;
/* The device type (device.h); obj is the struct plic. */
extern const struct device_ops plic_device;

/* out[] holds ncontexts lines (2 per hart: M, then S).  0 or -EINVAL. */
int plic_init(struct plic *p, unsigned ncontexts, const struct irq_line *out);
void plic_destroy(struct plic *p);
void plic_reset(struct plic *p);

/* Drives source `id`'s input line (ids outside 1..96 are ignored). */
void plic_set_source(struct plic *p, unsigned id, int level);

/* An irq_line that drives source `id`, for a device to hold. */
struct irq_line plic_source_line(struct plic *p, unsigned id);

#endif
