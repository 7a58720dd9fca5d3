/*
 * One virtio-mmio slot of the virt board (8 of them at 0x10001000 +
 * 0x1000*i, PLIC source 1+i).  An empty slot answers like QEMU's transport
 * with no backend, which Linux's virtio_mmio driver probes and skips:
 * MagicValue 0x74726976 ("virt"), Version 2, DeviceID 0, VendorID "QEMU",
 * every other register 0, writes ignored.
 *
 * A virtio transport takes over a slot with one call before the VM runs:
 *     virtio_slot_plug(&slot, &my_transport_ops, my_dev, my_reset);
 * (the transport must not register its own bus region: the slot already
 * owns [base, base + 0x1000)), after which the region dispatches every
 * access to it with offsets relative to the slot base, the slot's
 * `irq` (its PLIC source) is the line the transport raises, and `reset` is
 * called on VM reset.  The slot itself is immutable while the VM runs, so
 * it needs no lock; the transport locks its own state.
 */
#ifndef NIMBUS_VMM_BOARD_VIRTIO_SLOT_H
#define NIMBUS_VMM_BOARD_VIRTIO_SLOT_H

#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/irq.h"

#define VIRTIO_SLOT_MAGIC       0x74726976u
#define VIRTIO_SLOT_VENDOR_QEMU 0x554d4551u

struct virtio_slot {
	uint64_t base;
	struct irq_line irq;              /* the slot's interrupt, for its transport */
	const struct mmio_ops *ops;       /* NULL while empty */
	void *dev;
	void (*reset)(void *dev);         /* may be NULL */
};

/* The bus callbacks of every slot (region dev = the struct virtio_slot). */
extern const struct mmio_ops virtio_slot_ops;

void virtio_slot_init(struct virtio_slot *s, uint64_t base, const struct irq_line *irq);
void virtio_slot_plug(struct virtio_slot *s, const struct mmio_ops *ops, void *dev,
		      void (*reset)(void *dev));
void virtio_slot_reset(struct virtio_slot *s);

#endif
