/*
 * A minimal virtio driver for unit tests (header-only, test programs only):
 * guest RAM from bus_init, the transport reached through bus_load/bus_store
 * as a vCPU would, rings built by hand.  Queue q's rings sit at
 * TD_RAM_BASE + q * 0x20000 (desc, +0x8000 avail, +0x10000 used); test data
 * lives from TD_DATA on.
 */
#ifndef NIMBUS_VMM_VIRTIO_TESTDRV_H
#define NIMBUS_VMM_VIRTIO_TESTDRV_H

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/bus.h"
#include "vmm/virtio/mmio.h"

#define TD_RAM_BASE 0x80000000ull
#define TD_RAM_SIZE (4ull << 20)
#define TD_MMIO     0x10001000ull
#define TD_DATA     (TD_RAM_BASE + 0x100000)

struct td {
	struct bus bus;
	struct virtio_mmio *t;
	_Atomic int level, raises;
	struct td_q {
		uint16_t num, avail_idx;
		uint64_t desc, avail, used;
	} q[4];
};

static inline void td_irq_set(void *ctx, unsigned line, int level)
{
	struct td *d = ctx;
	(void)line;
	if (level && !atomic_load(&d->level))
		atomic_fetch_add(&d->raises, 1);
	atomic_store(&d->level, level);
}

static inline uint32_t td_rd(struct td *d, uint64_t off)
{
	uint64_t v = 0;
	bus_load(&d->bus, TD_MMIO + off, 4, &v);
	return (uint32_t)v;
}

static inline void td_wr(struct td *d, uint64_t off, uint32_t v)
{
	bus_store(&d->bus, TD_MMIO + off, 4, v);
}

static inline void *td_host(struct td *d, uint64_t gpa)
{
	void *p = bus_guest_ptr_w(&d->bus, gpa, 1);
	if (!p)
		abort();   /* a test bug: every address a test uses is in RAM */
	return p;
}

/* Creates RAM and the transport for dev.  0 or -errno. */
static inline int td_open(struct td *d, struct virtio_device *dev, unsigned flags)
{
	memset(d, 0, sizeof *d);
	if (bus_init(&d->bus, TD_RAM_BASE, TD_RAM_SIZE) < 0)
		return -1;
	struct irq_line irq = { td_irq_set, d, 1 };
	struct err e;
	return virtio_mmio_create(&d->bus, TD_MMIO, irq, dev, flags | VIRTIO_MMIO_ON_BUS, &d->t, &e);
}

static inline void td_close(struct td *d)
{
	virtio_mmio_destroy(d->t);
	bus_destroy(&d->bus);
}

static inline uint64_t td_device_features(struct td *d)
{
	td_wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	uint64_t f = (uint64_t)td_rd(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	td_wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return f | td_rd(d, VIRTIO_MMIO_DEVICE_FEATURES);
}

/* Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK: returns the status read back. */
static inline uint32_t td_negotiate(struct td *d, uint64_t features)
{
	td_wr(d, VIRTIO_MMIO_STATUS, 0);
	td_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	td_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	td_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	td_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	td_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	td_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	td_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				     VIRTIO_STATUS_FEATURES_OK);
	return td_rd(d, VIRTIO_MMIO_STATUS);
}

/* Programs queue q's registers at the standard layout; returns QueueReady read back. */
static inline uint32_t td_queue_at(struct td *d, unsigned q, uint16_t num,
				   uint64_t desc, uint64_t avail, uint64_t used)
{
	struct td_q *tq = &d->q[q];
	tq->num = num;
	tq->avail_idx = 0;
	tq->desc = desc;
	tq->avail = avail;
	tq->used = used;
	td_wr(d, VIRTIO_MMIO_QUEUE_SEL, q);
	td_wr(d, VIRTIO_MMIO_QUEUE_NUM, num);
	td_wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	td_wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	td_wr(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	td_wr(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	td_wr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	td_wr(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	td_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	return td_rd(d, VIRTIO_MMIO_QUEUE_READY);
}

static inline uint32_t td_queue(struct td *d, unsigned q, uint16_t num)
{
	uint64_t base = TD_RAM_BASE + q * 0x20000ull;
	memset(td_host(d, base), 0, 0x20000);
	return td_queue_at(d, q, num, base, base + 0x8000, base + 0x10000);
}

static inline void td_driver_ok(struct td *d)
{
	td_wr(d, VIRTIO_MMIO_STATUS, td_rd(d, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

/* Full bring-up with nq queues of size num; 0 on success. */
static inline int td_start(struct td *d, struct virtio_device *dev, unsigned flags,
			   uint64_t features, unsigned nq, uint16_t num)
{
	if (td_open(d, dev, flags) < 0)
		return -1;
	if (!(td_negotiate(d, features) & VIRTIO_STATUS_FEATURES_OK))
		return -2;
	for (unsigned q = 0; q < nq; q++)
		if (td_queue(d, q, num) != 1)
			return -3;
	td_driver_ok(d);
	return 0;
}

static inline void td_put16(struct td *d, uint64_t gpa, uint16_t v) { memcpy(td_host(d, gpa), &v, 2); }
static inline uint16_t td_get16(struct td *d, uint64_t gpa)
{
	uint16_t v;
	memcpy(&v, td_host(d, gpa), 2);
	return v;
}

/* Writes a descriptor into a table at gpa `table`, entry i. */
static inline void td_desc_at(struct td *d, uint64_t table, unsigned i, uint64_t addr,
			      uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *p = td_host(d, table + 16ull * i);
	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static inline void td_desc(struct td *d, unsigned q, unsigned i, uint64_t addr, uint32_t len,
			   uint16_t flags, uint16_t next)
{
	td_desc_at(d, d->q[q].desc, i, addr, len, flags, next);
}

/* Makes chain `head` available (without notifying). */
static inline void td_post(struct td *d, unsigned q, uint16_t head)
{
	struct td_q *tq = &d->q[q];
	td_put16(d, tq->avail + 4 + 2ull * (tq->avail_idx % tq->num), head);
	atomic_thread_fence(memory_order_release);
	tq->avail_idx++;
	td_put16(d, tq->avail + 2, tq->avail_idx);
}

static inline void td_kick(struct td *d, unsigned q)
{
	td_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static inline uint16_t td_used_idx(struct td *d, unsigned q)
{
	return __atomic_load_n((uint16_t *)td_host(d, d->q[q].used + 2), __ATOMIC_ACQUIRE);
}

static inline void td_used_elem(struct td *d, unsigned q, uint16_t slot, uint32_t *id, uint32_t *len)
{
	uint8_t *p = td_host(d, d->q[q].used + 4 + 8ull * (slot % d->q[q].num));
	memcpy(id, p, 4);
	memcpy(len, p + 4, 4);
}

/* used_event (the driver's interrupt threshold) and avail_event (the device's). */
static inline void td_set_used_event(struct td *d, unsigned q, uint16_t v)
{
	td_put16(d, d->q[q].avail + 4 + 2ull * d->q[q].num, v);
}

static inline uint16_t td_avail_event(struct td *d, unsigned q)
{
	return td_get16(d, d->q[q].used + 4 + 8ull * d->q[q].num);
}

/* Waits up to ms for used idx to reach want (threaded transports). */
static inline int td_wait_used(struct td *d, unsigned q, uint16_t want, int ms)
{
	for (int i = 0; i < ms * 10; i++) {
		if (td_used_idx(d, q) == want)
			return 0;
		struct timespec ts = { 0, 100000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

#endif
