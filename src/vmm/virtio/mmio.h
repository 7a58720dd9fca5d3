/*
 * The virtio-mmio transport, version 2 ("modern", virtio 1.2 section 4.2):
 * one 0x200-byte register window (within a 0x1000 slot) carrying any
 * struct virtio_device.  Interrupts go out on one level-triggered irq_line,
 * asserted while InterruptStatus is non-zero.
 *
 * Device work runs off the vCPU: a QueueNotify write only sets a bit and
 * signals an eventfd, so a guest kick costs one syscall on the vCPU thread.
 * The eventfd is read by the device's own I/O thread, started with the
 * transport, or with VIRTIO_MMIO_HUB by the VM's I/O hub (io_hub.h), which
 * runs light devices itself and starts a device's own thread at its first
 * kick.  VIRTIO_MMIO_SYNC runs the device inline instead (unit tests,
 * fuzzing).
 */
#ifndef NIMBUS_VMM_VIRTIO_MMIO_H
#define NIMBUS_VMM_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "vmm/bus.h"
#include "vmm/device.h"
#include "vmm/irq.h"
#include "vmm/virtio/virtio.h"

/* Register offsets (4.2.2). */
#define VIRTIO_MMIO_MAGIC_VALUE        0x000
#define VIRTIO_MMIO_VERSION            0x004
#define VIRTIO_MMIO_DEVICE_ID          0x008
#define VIRTIO_MMIO_VENDOR_ID          0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES    0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES    0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL          0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX      0x034
#define VIRTIO_MMIO_QUEUE_NUM          0x038
#define VIRTIO_MMIO_QUEUE_READY        0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY       0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS   0x060
#define VIRTIO_MMIO_INTERRUPT_ACK      0x064
#define VIRTIO_MMIO_STATUS             0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW     0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH    0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW   0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH  0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW   0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH  0x0a4
#define VIRTIO_MMIO_SHM_SEL            0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW        0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH       0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW       0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH      0x0bc
#define VIRTIO_MMIO_QUEUE_RESET        0x0c0
#define VIRTIO_MMIO_CONFIG_GENERATION  0x0fc
#define VIRTIO_MMIO_CONFIG             0x100

#define VIRTIO_MMIO_MAGIC   0x74726976u   /* "virt" */
#define VIRTIO_MMIO_VENDOR  0x424d494eu   /* "NIMB" as little-endian bytes */
#define VIRTIO_MMIO_SIZE    0x1000u

/* virtio_mmio_create flags */
#define VIRTIO_MMIO_SYNC    1u   /* no I/O thread: notify runs on the writer's thread */
#define VIRTIO_MMIO_ON_BUS  2u   /* register [base, base + VIRTIO_MMIO_SIZE) on the bus
				    (tests, fuzzing); on the board the slot owns the
				    region and forwards to virtio_mmio_ops */
#define VIRTIO_MMIO_HUB     4u   /* no I/O thread at creation: an io_hub serves the
				    kick eventfd (io_hub_add) */

struct virtio_mmio;

/* The register window's callbacks; `dev` is the struct virtio_mmio. */
extern const struct mmio_ops virtio_mmio_ops;

/*
 * Creates a transport for dev at guest-physical base (used in log lines;
 * with VIRTIO_MMIO_ON_BUS also registered on the bus) raising irq.  Takes
 * ownership of dev in every case (it is destroyed on failure).  0 or -errno
 * with err filled.  On the board:
 *     virtio_mmio_create(bus, slot->base, slot->irq, dev, 0, &t, err);
 *     virtio_slot_plug(slot, &virtio_mmio_ops, t, virtio_mmio_reset);
 */
int virtio_mmio_create(struct bus *bus, uint64_t base, struct irq_line irq,
		       struct virtio_device *dev, unsigned flags,
		       struct virtio_mmio **out, struct err *err);

/* Stops the I/O thread and destroys the device.  The bus region must no
 * longer be reachable (vCPUs stopped). */
void virtio_mmio_destroy(struct virtio_mmio *t);

/* Device reset from the host side (VM reset); t is a struct virtio_mmio *,
 * typed void * to fit struct virtio_slot's reset hook. */
void virtio_mmio_reset(void *t);

struct virtio_device *virtio_mmio_device(struct virtio_mmio *t);

/* For the I/O hub (io_hub.c), on the hub's thread.  The eventfd a kick
 * signals; whether the device asks for a thread of its own (its ops'
 * own_thread); serve: take the counted kicks (the fd is readable) and run the
 * kicked queues here; start_thread: hand the device to a thread of its own,
 * which reads the fd from now on (0 or -errno). */
int virtio_mmio_kick_fd(const struct virtio_mmio *t);
bool virtio_mmio_wants_thread(const struct virtio_mmio *t);
void virtio_mmio_serve(struct virtio_mmio *t);
int virtio_mmio_start_thread(struct virtio_mmio *t);

/* Pause (device.h): the batch in flight finishes, then queue work and host
 * input (received frames, console input) wait until resume, which runs every
 * ready queue once.  t is a struct virtio_mmio *. */
void virtio_mmio_quiesce(void *t);
void virtio_mmio_resume(void *t);
/* The device type of a transport and its device (obj = the struct virtio_mmio). */
extern const struct device_ops virtio_mmio_devtype;

/* Plain-data transport state for snapshots (the device's own state apart). */
struct virtio_mmio_state {
	uint32_t status, isr, config_gen;
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel, shm_sel;
	uint64_t driver_features;     /* as written so far */
	uint64_t negotiated;          /* accepted at FEATURES_OK */
	struct virtq_state q[VIRTIO_MAX_QUEUES];
};

void virtio_mmio_save(struct virtio_mmio *t, struct virtio_mmio_state *st);
/* Restores a saved state into a transport carrying the same device type:
 * 0, or -EINVAL if a ready queue no longer validates. */
int virtio_mmio_load(struct virtio_mmio *t, const struct virtio_mmio_state *st,
		     struct err *err);

#endif
