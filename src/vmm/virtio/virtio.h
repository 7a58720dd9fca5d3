/*
 * The device-model side of virtio (virtio 1.2, sections 2 and 5): what a
 * device such as virtio-blk implements, and the few services a transport
 * (virtio-mmio, mmio.c) provides to it.  A device model never sees
 * transport registers; a transport never knows which device it carries.
 *
 * A device model embeds struct virtio_device, fills `ops` and the offered
 * `features` (device-specific bits only: the transport adds VERSION_1,
 * INDIRECT_DESC and EVENT_IDX), and calls virtio_device_init().  From then on
 * the transport owns it: it negotiates features, sets up the queues in
 * `vq[]`, calls ops->notify() on the device's I/O thread when the driver
 * kicks a queue, ops->reset() on a device reset, and ops->destroy() when the
 * transport is freed.
 *
 * Locking: `lock` serialises everything that touches queues or device state:
 * the transport holds it while calling notify/reset/config ops and while
 * the driver reconfigures queues; a device doing work from another thread
 * (host input to a console) takes it itself.  Order: dev->lock before any
 * transport-internal lock.
 */
#ifndef NIMBUS_VMM_VIRTIO_VIRTIO_H
#define NIMBUS_VMM_VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/log.h"

#include "vmm/virtio/queue.h"

/* Transport-level feature bits (2.2 / 6). */
#define VIRTIO_F_INDIRECT_DESC   (1ull << 28)
#define VIRTIO_F_EVENT_IDX       (1ull << 29)
#define VIRTIO_F_VERSION_1       (1ull << 32)
#define VIRTIO_F_TRANSPORT_MASK  (VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX | VIRTIO_F_VERSION_1)

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER      0x02
#define VIRTIO_STATUS_DRIVER_OK   0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED      0x80

/* Interrupt status bits (4.2.2 InterruptStatus). */
#define VIRTIO_ISR_VRING  0x1
#define VIRTIO_ISR_CONFIG 0x2

/* Device IDs (5). */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4
#define VIRTIO_ID_BALLOON 5

#define VIRTIO_MAX_QUEUES 16

struct virtio_device;
struct snap_out;
struct snap_in;

struct virtio_device_ops {
	const char *name;            /* "virtio-blk": used in log lines */
	uint32_t device_id;
	unsigned num_queues;         /* 1..VIRTIO_MAX_QUEUES */
	uint16_t queue_max;          /* QueueNumMax of every queue, a power of 2 */
	uint32_t config_size;        /* bytes of device config space */
	/* Its requests may block for long (host disk or socket I/O, waits for a
	 * rate limit, a slow console reader): it gets an I/O thread of its own,
	 * started at the guest's first kick, rather than sharing the VM's I/O
	 * hub with light devices (io_hub.h). */
	bool own_thread;

	/* Config space access, off + len <= config_size.  Called with dev->lock
	 * held, from a vCPU thread: keep them short. */
	void (*config_read)(struct virtio_device *dev, uint32_t off, void *buf, unsigned len);
	void (*config_write)(struct virtio_device *dev, uint32_t off, const void *buf, unsigned len);
	/* The driver kicked queue q (ready, DRIVER_OK, not NEEDS_RESET).  Runs on
	 * the device's I/O thread with dev->lock held. */
	void (*notify)(struct virtio_device *dev, unsigned q);
	/* Device reset (driver wrote 0 to Status, or the VM is reset); queues are
	 * already reset.  dev->lock held.  May be NULL. */
	void (*reset)(struct virtio_device *dev);
	/* Frees the model and its backend. */
	void (*destroy)(struct virtio_device *dev);

	/* Snapshot of the model's own plain-data state (not queues: the transport
	 * saves those).  state_size may be 0 and the functions NULL. */
	size_t state_size;
	void (*save)(struct virtio_device *dev, void *state);
	int (*load)(struct virtio_device *dev, const void *state);
	/* Optional: state of variable size kept beyond the model (a network
	 * backend's NAT table), written into the device's snapshot section
	 * after the rest (snap_stream.h).  Device quiesced; dev->lock not held.
	 * load_extra returns 0 or -EINVAL. */
	int (*save_extra)(struct virtio_device *dev, struct snap_out *out);
	int (*load_extra)(struct virtio_device *dev, struct snap_in *in);
};

/* What a transport lets the device ask of it. */
struct virtio_transport_ops {
	/* Raise interrupt status bits (VIRTIO_ISR_*).  dev->lock held. */
	void (*interrupt)(void *t, uint32_t isr_bits);
	/* Set DEVICE_NEEDS_RESET and signal a config change.  dev->lock held. */
	void (*needs_reset)(void *t);
	/* Bump the config generation and signal a config change.  dev->lock held. */
	void (*config_changed)(void *t);
	/* Run notify(q) again soon, after releasing dev->lock (a device that
	 * stops after a batch so resets and other queues are not starved). */
	void (*requeue)(void *t, unsigned q);
};

struct virtio_device {
	const struct virtio_device_ops *ops;
	uint64_t features;           /* device-specific bits offered (set by the model) */
	pthread_mutex_t lock;

	/* Maintained by the transport, read by the model under `lock`. */
	uint64_t negotiated;         /* driver features accepted at FEATURES_OK */
	uint32_t status;             /* device status register */
	bool failed;                 /* a fault was logged since the last reset */
	bool quiesced;               /* the VM is paused (device.h): host input waits */
	char label[64];              /* "virtio-blk@0x10001000", for log lines */
	struct virtq vq[VIRTIO_MAX_QUEUES];
	struct bus *bus;

	const struct virtio_transport_ops *t_ops;
	void *t;
	const struct log_sink *log;  /* where faults are reported; NULL = stderr */
};

/* Called by a model's constructor before handing the device to a transport. */
void virtio_device_init(struct virtio_device *dev, const struct virtio_device_ops *ops,
			uint64_t features);
/* Called by a model's destroy. */
void virtio_device_fini(struct virtio_device *dev);

/* True when the driver is up: DRIVER_OK set and no NEEDS_RESET.  dev->lock held. */
static inline bool virtio_device_live(const struct virtio_device *dev)
{
	return (dev->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) ==
	       VIRTIO_STATUS_DRIVER_OK;
}

static inline bool virtio_has_feature(const struct virtio_device *dev, uint64_t bit)
{
	return (dev->negotiated & bit) != 0;
}

/*
 * The driver broke the protocol (a malformed chain or request): logs one
 * line to stderr (only the first fault after a reset), marks the device
 * NEEDS_RESET and sends a config-change interrupt.  Every queue stops.
 * dev->lock held.
 */
void virtio_device_fail(struct virtio_device *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Raises the used-buffer interrupt if q's suppression rules allow. dev->lock held. */
void virtio_device_signal(struct virtio_device *dev, unsigned q);

/* Asks for another notify(q) call after this one (see requeue). dev->lock held. */
void virtio_device_requeue(struct virtio_device *dev, unsigned q);

/* Tells the driver the config space changed. dev->lock held. */
void virtio_device_config_changed(struct virtio_device *dev);

#endif
