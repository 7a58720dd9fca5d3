/*
 * The VM's virtio devices: builds each configured device, wraps it in a
 * virtio-mmio transport and plugs it into a board slot.  A device with
 * slot=N gets slot N (QEMU's bus=virtio-mmio-bus.N); the others fill the
 * remaining slots from the highest address down, as QEMU does: the FDT
 * lists the highest slot first, so Linux names the first disk vda.  The
 * slot map is in docs/virtio.md.
 */
#ifndef NIMBUS_VMM_VM_VIRTIO_H
#define NIMBUS_VMM_VM_VIRTIO_H

#include "lib/err.h"
#include "vmm/board/virt.h"
#include "vmm/board/virtio_slot.h"
#include "vmm/bus.h"
#include "vmm/vm.h"

struct virtio_mmio;
struct virtio_device;
struct io_hub;

struct vm_virtio {
	struct virtio_mmio *transport[VIRT_VIRTIO_COUNT];
	unsigned used;
	struct io_hub *hub;              /* serves their kicks (io_hub.h) */
	struct virtio_device *balloon;   /* for balloon_set_target/get_stats; NULL if none */
	/* For run-time rate limits, in command-line order (owned by their transports). */
	struct virtio_device *disk[VM_MAX_DISKS], *net[VM_MAX_NETS];
	unsigned ndisks, nnets;
	/* The hot-plug slots (cfg->disk_slots), in slot order. */
	struct virtio_device *slot[VIRT_VIRTIO_COUNT];
	unsigned nslots;
	/* The hot-plug NIC slots (cfg->net_slots), in slot order. */
	struct virtio_device *nic_slot[VIRT_VIRTIO_COUNT];
	unsigned nnic_slots;
};

/* 0, or -errno with err naming the device (e.g. the disk's path). */
/* log: where the devices and their backends report problems (NULL = stderr). */
int vm_virtio_attach(struct vm_virtio *v, struct bus *bus, struct virtio_slot *slots,
		     const struct vm_config *cfg, const struct log_sink *log, struct err *err);
/* Stops and frees every device; call after the vCPUs have stopped. */
void vm_virtio_detach(struct vm_virtio *v);

#endif
