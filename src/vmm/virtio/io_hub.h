/*
 * The VM's virtio I/O hub: one thread that waits on every device's kick
 * eventfd, so an idle guest pays for one I/O thread rather than one per
 * device, and a device the guest never uses costs no thread at all.
 *
 * Light devices (virtio-rng, virtio-balloon: short, non-blocking work) are
 * run on the hub itself.  A device whose ops set own_thread (disks, network,
 * consoles: their requests may block) gets a thread of its own, which the
 * hub starts at the device's first kick and hands the eventfd to.
 *
 * Why the hub starts them, not the vCPU that kicked: under the sandbox
 * (docs/sandbox.md) a thread inherits its creator's seccomp filters, and a
 * vCPU's list has no clone.  The hub is started with the VM, before the
 * sandbox, so it and the threads it starts hold just the I/O list, as the
 * device threads started with the VM did.
 */
#ifndef NIMBUS_VMM_VIRTIO_IO_HUB_H
#define NIMBUS_VMM_VIRTIO_IO_HUB_H

#include "lib/err.h"
#include "vmm/virtio/mmio.h"

#define IO_HUB_MAX_DEVICES 32

struct io_hub;

/* Starts the hub for n (1..IO_HUB_MAX_DEVICES) transports created with
 * VIRTIO_MMIO_HUB.  0, or -errno with err filled. */
int io_hub_start(struct virtio_mmio *const *t, unsigned n, struct io_hub **out,
		 struct err *err);

/* Stops and joins the hub (the device threads it started keep running until
 * their transports are destroyed, after this).  NULL is a no-op. */
void io_hub_stop(struct io_hub *h);

#endif
