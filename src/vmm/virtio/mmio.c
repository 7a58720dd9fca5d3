/*
 * virtio-mmio transport, version 2 (virtio 1.2, 4.2).  See mmio.h.
 *
 * Invariants:
 *  - registers other than InterruptStatus/ACK and QueueNotify are accessed
 *    under dev->lock, so they never change while the device works a queue;
 *  - isr and the decided irq level change together under irq_lock; the line
 *    is driven after the unlock (irq_level.h), so a hart woken by it does not
 *    run into irq_lock, and it settles high exactly while isr != 0;
 *    InterruptStatus reads isr without the lock;
 *  - QueueNotify takes no lock: it sets a pending bit and signals the I/O
 *    thread's eventfd, which takes the bits and runs ops->notify() per queue;
 *  - queue registers are frozen while the queue is ready (4.2.3.2: the driver
 *    must not change them then); QueueReady=1 validates the rings, and a bad
 *    ring or size is a driver fault: NEEDS_RESET;
 *  - register accesses that are not aligned 32-bit are ignored (reads 0),
 *    as 4.2.2 requires 32-bit accesses; config space takes 1/2/4/8 bytes.
 */
#include "vmm/virtio/mmio.h"
#include "vmm/irq_level.h"
#include "vmm/snap_stream.h"

#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct virtio_mmio {
	struct bus *bus;
	uint64_t base;
	struct irq_level irq;
	struct virtio_device *dev;
	unsigned flags;

	/* Under dev->lock. */
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel, shm_sel, config_gen;
	uint64_t driver_features;

	/* Changed under irq_lock, with irq's decided level. */
	pthread_mutex_t irq_lock;
	_Atomic uint32_t isr;

	/* Queue work: kicks set pending bits and count on efd, read by the
	 * device's own I/O thread or by the VM's I/O hub (io_hub.h). */
	_Atomic uint32_t pending;
	atomic_bool stop;
	int efd;
	bool sync;          /* VIRTIO_MMIO_SYNC: no efd, work runs inline */
	bool has_thread;    /* its own I/O thread runs (joined at destroy) */
	pthread_t thread;
};

static uint64_t offered(const struct virtio_mmio *t)
{
	return t->dev->features | VIRTIO_F_TRANSPORT_MASK;
}

/* --- services to the device (dev->lock held) --- */

/* isr = (isr & ~clear) | set, and the line follows (driven unlocked). */
static void change_isr(struct virtio_mmio *t, uint32_t clear, uint32_t set)
{
	pthread_mutex_lock(&t->irq_lock);
	uint32_t isr = (atomic_load_explicit(&t->isr, memory_order_relaxed) & ~clear) | set;
	atomic_store(&t->isr, isr);
	bool changed = irq_level_decide(&t->irq, isr != 0);
	pthread_mutex_unlock(&t->irq_lock);
	if (changed)
		irq_level_drive(&t->irq);
}

static void t_interrupt(void *opaque, uint32_t bits)
{
	change_isr(opaque, 0, bits);
}

static void t_needs_reset(void *opaque)
{
	struct virtio_mmio *t = opaque;
	struct virtio_device *dev = t->dev;
	bool was = dev->status & VIRTIO_STATUS_NEEDS_RESET;
	dev->status |= VIRTIO_STATUS_NEEDS_RESET;
	/* 2.1.2: with DRIVER_OK set, NEEDS_RESET comes with a config-change notification. */
	if (!was && (dev->status & VIRTIO_STATUS_DRIVER_OK))
		t_interrupt(t, VIRTIO_ISR_CONFIG);
}

static void t_config_changed(void *opaque)
{
	struct virtio_mmio *t = opaque;
	t->config_gen++;
	if (t->dev->status & VIRTIO_STATUS_DRIVER_OK)
		t_interrupt(t, VIRTIO_ISR_CONFIG);
}

static void t_requeue(void *opaque, unsigned q);

static const struct virtio_transport_ops transport_ops = {
	.interrupt = t_interrupt,
	.needs_reset = t_needs_reset,
	.config_changed = t_config_changed,
	.requeue = t_requeue,
};

/* --- queue work --- */

static void run_queue_locked(struct virtio_mmio *t, unsigned q)
{
	struct virtio_device *dev = t->dev;
	if (q < dev->ops->num_queues && virtio_device_live(dev) && dev->vq[q].s.ready &&
	    !dev->vq[q].s.broken)
		dev->ops->notify(dev, q);
}

static void wake(struct virtio_mmio *t)
{
	uint64_t one = 1;
	while (write(t->efd, &one, sizeof one) < 0 && errno == EINTR)
		;
}

/* Without an I/O thread: runs pending queues here until none is left. */
static void drain_locked(struct virtio_mmio *t)
{
	uint32_t mask;
	if (t->dev->quiesced)
		return;
	while ((mask = atomic_exchange(&t->pending, 0)) != 0)
		for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
			if (mask & (1u << q))
				run_queue_locked(t, q);
}

/* Queues work for the mask's queues: on the I/O thread or hub, or inline (SYNC). */
static void schedule_locked(struct virtio_mmio *t, uint32_t mask)
{
	atomic_fetch_or(&t->pending, mask);
	if (!t->sync)
		wake(t);
	else
		drain_locked(t);
}

static void kick(struct virtio_mmio *t, uint32_t mask)
{
	if (!t->sync) {
		atomic_fetch_or(&t->pending, mask);
		wake(t);
		return;
	}
	pthread_mutex_lock(&t->dev->lock);
	schedule_locked(t, mask);
	pthread_mutex_unlock(&t->dev->lock);
}

static void t_requeue(void *opaque, unsigned q)
{
	struct virtio_mmio *t = opaque;
	/* Inline mode: drain_locked's loop picks the bit up. */
	atomic_fetch_or(&t->pending, 1u << q);
	if (!t->sync)
		wake(t);
}

/* Runs the queues kicked since last time (the kicks' count on efd already
 * taken). */
static void run_pending(struct virtio_mmio *t)
{
	uint32_t mask = atomic_exchange(&t->pending, 0);
	if (!mask)
		return;
	pthread_mutex_lock(&t->dev->lock);
	if (t->dev->quiesced)   /* paused: virtio_mmio_resume runs it */
		atomic_fetch_or(&t->pending, mask);
	else
		for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
			if (mask & (1u << q))
				run_queue_locked(t, q);
	pthread_mutex_unlock(&t->dev->lock);
}

static void *io_thread(void *opaque)
{
	struct virtio_mmio *t = opaque;
	for (;;) {
		uint64_t n;
		if (read(t->efd, &n, sizeof n) < 0 && errno != EINTR && errno != EAGAIN)
			break;
		if (atomic_load(&t->stop))
			break;
		run_pending(t);
	}
	return NULL;
}

int virtio_mmio_kick_fd(const struct virtio_mmio *t)
{
	return t->efd;
}

bool virtio_mmio_wants_thread(const struct virtio_mmio *t)
{
	return t->dev->ops->own_thread;
}

void virtio_mmio_serve(struct virtio_mmio *t)
{
	uint64_t n;
	if (read(t->efd, &n, sizeof n) < 0 && errno != EINTR && errno != EAGAIN)
		return;
	run_pending(t);
}

int virtio_mmio_start_thread(struct virtio_mmio *t)
{
	if (t->sync || t->has_thread)
		return -EINVAL;
	int e = pthread_create(&t->thread, NULL, io_thread, t);
	if (e)
		return -e;
	t->has_thread = true;
	return 0;
}

/* --- registers --- */

static void reset_locked(struct virtio_mmio *t)
{
	struct virtio_device *dev = t->dev;
	dev->status = 0;
	dev->negotiated = 0;
	dev->failed = false;
	t->driver_features = 0;
	t->dev_feat_sel = t->drv_feat_sel = t->queue_sel = t->shm_sel = 0;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vq_reset(&dev->vq[q]);
	atomic_store(&t->pending, 0);
	change_isr(t, ~0u, 0);
	if (dev->ops->reset)
		dev->ops->reset(dev);
}

static void write_status(struct virtio_mmio *t, uint32_t v)
{
	struct virtio_device *dev = t->dev;
	if (v == 0) {
		reset_locked(t);
		return;
	}
	/* The driver only ever adds bits (2.1.1); NEEDS_RESET is the device's. */
	uint32_t old = dev->status;
	uint32_t nv = old | (v & 0xff & ~VIRTIO_STATUS_NEEDS_RESET);
	if ((nv & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		/* 3.1.1: accept only a subset of what we offered, and only modern drivers. */
		if ((t->driver_features & ~offered(t)) || !(t->driver_features & VIRTIO_F_VERSION_1))
			nv &= ~VIRTIO_STATUS_FEATURES_OK;
		else
			dev->negotiated = t->driver_features;
	}
	if ((nv & VIRTIO_STATUS_DRIVER_OK) && !(nv & VIRTIO_STATUS_FEATURES_OK))
		nv &= ~VIRTIO_STATUS_DRIVER_OK;   /* DRIVER_OK without features: refuse */
	dev->status = nv;
	if ((nv & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		/* Buffers queued before DRIVER_OK were not processed: look now.  Only
		 * at queues holding some: a device the driver set up but has not used
		 * yet is not woken (and gets no I/O thread: io_hub.h). */
		uint32_t mask = 0;
		for (unsigned q = 0; q < dev->ops->num_queues; q++)
			if (vq_has_avail(&dev->vq[q]))
				mask |= 1u << q;
		if (mask)
			schedule_locked(t, mask);
	}
}

static struct virtq *selected(struct virtio_mmio *t)
{
	return t->queue_sel < t->dev->ops->num_queues ? &t->dev->vq[t->queue_sel] : NULL;
}

static void set_half(uint64_t *r, bool high, uint32_t v)
{
	*r = high ? (*r & 0xffffffffull) | ((uint64_t)v << 32) : (*r & ~0xffffffffull) | v;
}

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_mmio *t = opaque;
	struct virtio_device *dev = t->dev;
	const struct virtio_device_ops *ops = dev->ops;

	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t coff = off - VIRTIO_MMIO_CONFIG;
		uint8_t buf[8] = {0};
		if (size > 8 || coff >= ops->config_size || size > ops->config_size - coff ||
		    !ops->config_read)
			return 0;
		pthread_mutex_lock(&dev->lock);
		ops->config_read(dev, (uint32_t)coff, buf, size);
		pthread_mutex_unlock(&dev->lock);
		uint64_t v;
		memcpy(&v, buf, 8);
		return le64toh(v);
	}
	if (size != 4 || (off & 3))
		return 0;
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return atomic_load(&t->isr);
	case VIRTIO_MMIO_SHM_LEN_LOW: case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW: case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffffu;   /* no shared memory regions: length -1 */
	}

	uint64_t v = 0;
	pthread_mutex_lock(&dev->lock);
	struct virtq *vq = selected(t);
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES:
		v = t->dev_feat_sel == 0 ? (uint32_t)offered(t) :
		    t->dev_feat_sel == 1 ? (uint32_t)(offered(t) >> 32) : 0;
		break;
	case VIRTIO_MMIO_QUEUE_NUM_MAX: v = vq ? ops->queue_max : 0; break;
	case VIRTIO_MMIO_QUEUE_NUM: v = vq ? vq->s.num : 0; break;
	case VIRTIO_MMIO_QUEUE_READY: v = vq ? vq->s.ready : 0; break;
	case VIRTIO_MMIO_STATUS: v = dev->status; break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: v = vq ? (uint32_t)vq->s.desc : 0; break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: v = vq ? vq->s.desc >> 32 : 0; break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: v = vq ? (uint32_t)vq->s.avail : 0; break;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: v = vq ? vq->s.avail >> 32 : 0; break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: v = vq ? (uint32_t)vq->s.used : 0; break;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: v = vq ? vq->s.used >> 32 : 0; break;
	case VIRTIO_MMIO_CONFIG_GENERATION: v = t->config_gen; break;
	default: break;   /* write-only, reserved: 0 */
	}
	pthread_mutex_unlock(&dev->lock);
	return v;
}

static void mmio_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct virtio_mmio *t = opaque;
	struct virtio_device *dev = t->dev;
	const struct virtio_device_ops *ops = dev->ops;

	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t coff = off - VIRTIO_MMIO_CONFIG;
		if (size > 8 || coff >= ops->config_size || size > ops->config_size - coff ||
		    !ops->config_write)
			return;
		uint8_t buf[8];
		uint64_t le = htole64(value);
		memcpy(buf, &le, 8);
		pthread_mutex_lock(&dev->lock);
		ops->config_write(dev, (uint32_t)coff, buf, size);
		pthread_mutex_unlock(&dev->lock);
		return;
	}
	if (size != 4 || (off & 3))
		return;
	uint32_t v = (uint32_t)value;
	if (off == VIRTIO_MMIO_QUEUE_NOTIFY) {
		/* Only the index matters (no VIRTIO_F_NOTIFICATION_DATA). */
		if (v < ops->num_queues)
			kick(t, 1u << v);
		return;
	}
	if (off == VIRTIO_MMIO_INTERRUPT_ACK) {
		change_isr(t, v, 0);
		return;
	}

	pthread_mutex_lock(&dev->lock);
	struct virtq *vq = selected(t);
	bool q_writable = vq && !vq->s.ready;
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->dev_feat_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (!(dev->status & VIRTIO_STATUS_FEATURES_OK) && t->drv_feat_sel < 2)
			set_half(&t->driver_features, t->drv_feat_sel == 1, v);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->drv_feat_sel = v; break;
	case VIRTIO_MMIO_QUEUE_SEL: t->queue_sel = v; break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (q_writable)
			vq->s.num = v <= VQ_MAX_SIZE ? (uint16_t)v : 0;   /* 0: refused at Ready */
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (!vq)
			break;
		if (v == 0) {
			vq->s.ready = 0;
		} else if (!vq->s.ready) {
			char why[160];
			if (vq_setup(vq, t->bus, ops->queue_max, dev->negotiated, why, sizeof why) < 0)
				virtio_device_fail(dev, "queue %u: %s", t->queue_sel, why);
		}
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (q_writable)
			set_half(&vq->s.desc, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		if (q_writable)
			set_half(&vq->s.avail, off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		if (q_writable)
			set_half(&vq->s.used, off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, v);
		break;
	case VIRTIO_MMIO_STATUS: write_status(t, v); break;
	case VIRTIO_MMIO_SHM_SEL: t->shm_sel = v; break;
	default: break;   /* read-only, reserved, QueueReset (no RING_RESET): ignored */
	}
	pthread_mutex_unlock(&dev->lock);
}

const struct mmio_ops virtio_mmio_ops = {
	.read = mmio_read,
	.write = mmio_write,
};

/* --- lifecycle --- */

static void stop_thread(struct virtio_mmio *t)
{
	if (!t->has_thread)
		return;
	atomic_store(&t->stop, true);
	wake(t);
	pthread_join(t->thread, NULL);
	t->has_thread = false;
}

int virtio_mmio_create(struct bus *bus, uint64_t base, struct irq_line irq,
		       struct virtio_device *dev, unsigned flags,
		       struct virtio_mmio **out, struct err *err)
{
	const struct virtio_device_ops *ops = dev->ops;
	int r;
	*out = NULL;
	if (ops->num_queues == 0 || ops->num_queues > VIRTIO_MAX_QUEUES || ops->queue_max == 0 ||
	    ops->queue_max > VQ_MAX_SIZE || (ops->queue_max & (ops->queue_max - 1)) ||
	    ops->config_size > 0x1000 - VIRTIO_MMIO_CONFIG) {
		r = err_set(err, -EINVAL, "%s: invalid device description", ops->name);
		ops->destroy(dev);
		return r;
	}
	struct virtio_mmio *t = calloc(1, sizeof *t);
	if (!t) {
		ops->destroy(dev);
		return err_set(err, -ENOMEM, "%s: out of memory", ops->name);
	}
	t->bus = bus;
	t->base = base;
	irq_level_init(&t->irq, irq);
	t->dev = dev;
	t->flags = flags;
	t->efd = -1;
	pthread_mutex_init(&t->irq_lock, NULL);
	dev->bus = bus;
	dev->t_ops = &transport_ops;
	dev->t = t;
	snprintf(dev->label, sizeof dev->label, "%s@0x%llx", ops->name, (unsigned long long)base);

	t->sync = flags & VIRTIO_MMIO_SYNC;
	if (!t->sync) {
		t->efd = eventfd(0, EFD_CLOEXEC);
		if (t->efd < 0) {
			r = err_set(err, -errno, "%s: eventfd: %s", dev->label, strerror(errno));
			goto fail;
		}
	}
	if (!t->sync && !(flags & VIRTIO_MMIO_HUB) && (r = virtio_mmio_start_thread(t))) {
		err_set(err, r, "%s: cannot start I/O thread: %s", dev->label, strerror(-r));
		goto fail;
	}
	r = flags & VIRTIO_MMIO_ON_BUS ?
	    bus_add_region(bus, base, VIRTIO_MMIO_SIZE, &virtio_mmio_ops, t, ops->name) : 0;
	if (r < 0) {
		err_set(err, r, "%s: cannot map registers at 0x%llx (overlap?)", dev->label,
			(unsigned long long)base);
		goto fail;
	}
	*out = t;
	return 0;
fail:
	virtio_mmio_destroy(t);
	return r;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	if (!t)
		return;
	stop_thread(t);
	if (t->efd >= 0)
		close(t->efd);
	t->dev->ops->destroy(t->dev);
	pthread_mutex_destroy(&t->irq_lock);
	free(t);
}

void virtio_mmio_reset(void *opaque)
{
	struct virtio_mmio *t = opaque;
	pthread_mutex_lock(&t->dev->lock);
	reset_locked(t);
	pthread_mutex_unlock(&t->dev->lock);
}

struct virtio_device *virtio_mmio_device(struct virtio_mmio *t)
{
	return t->dev;
}

void virtio_mmio_save(struct virtio_mmio *t, struct virtio_mmio_state *st)
{
	struct virtio_device *dev = t->dev;
	memset(st, 0, sizeof *st);
	pthread_mutex_lock(&dev->lock);
	st->status = dev->status;
	st->config_gen = t->config_gen;
	st->dev_feat_sel = t->dev_feat_sel;
	st->drv_feat_sel = t->drv_feat_sel;
	st->queue_sel = t->queue_sel;
	st->shm_sel = t->shm_sel;
	st->driver_features = t->driver_features;
	st->negotiated = dev->negotiated;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		st->q[q] = dev->vq[q].s;
	st->isr = atomic_load(&t->isr);
	pthread_mutex_unlock(&dev->lock);
}

int virtio_mmio_load(struct virtio_mmio *t, const struct virtio_mmio_state *st, struct err *err)
{
	struct virtio_device *dev = t->dev;
	int r = 0;
	pthread_mutex_lock(&dev->lock);
	reset_locked(t);
	dev->status = st->status;
	dev->negotiated = st->negotiated;
	t->config_gen = st->config_gen;
	t->dev_feat_sel = st->dev_feat_sel;
	t->drv_feat_sel = st->drv_feat_sel;
	t->queue_sel = st->queue_sel;
	t->shm_sel = st->shm_sel;
	t->driver_features = st->driver_features;
	for (unsigned q = 0; q < dev->ops->num_queues && !r; q++) {
		struct virtq *vq = &dev->vq[q];
		vq->s = st->q[q];
		if (!st->q[q].ready)
			continue;
		char why[160];
		if (vq_setup(vq, t->bus, dev->ops->queue_max, dev->negotiated, why, sizeof why) < 0)
			r = err_set(err, -EINVAL, "%s: queue %u: %s", dev->label, q, why);
		vq->s.broken = st->q[q].broken;
	}
	if (r)
		reset_locked(t);
	pthread_mutex_unlock(&dev->lock);
	change_isr(t, ~0u, r ? 0 : st->isr);
	return r;
}

/* --- the device type (device.h) --- */

/* Waits out the batch in flight (it runs under dev->lock), then holds work. */
void virtio_mmio_quiesce(void *opaque)
{
	struct virtio_mmio *t = opaque;
	pthread_mutex_lock(&t->dev->lock);
	t->dev->quiesced = true;
	pthread_mutex_unlock(&t->dev->lock);
}

/*
 * Runs every ready queue once: kicks held during the pause run, and a model
 * whose host input waited (virtio-net's backend holds a frame) hears of it
 * through its notify (net_notify on the receive queue calls rx_ready).  A
 * notify with nothing new on its queue does nothing.
 */
void virtio_mmio_resume(void *opaque)
{
	struct virtio_mmio *t = opaque;
	struct virtio_device *dev = t->dev;
	pthread_mutex_lock(&dev->lock);
	dev->quiesced = false;
	uint32_t mask = 0;
	for (unsigned q = 0; q < dev->ops->num_queues; q++)
		if (dev->vq[q].s.ready)
			mask |= 1u << q;
	if (mask)
		schedule_locked(t, mask);
	pthread_mutex_unlock(&dev->lock);
}

static void dev_destroy(void *opaque)
{
	virtio_mmio_destroy(opaque);
}

/*
 * Snapshot: the transport (virtio_mmio_state, field by field), then the
 * model's own state.  The device must be quiesced: no request is in flight,
 * so the queue indices are the whole story.
 */
#define MMIO_SNAP_VERSION 1u

static int dev_save(void *opaque, struct snap_out *o)
{
	struct virtio_mmio *t = opaque;
	struct virtio_device *dev = t->dev;
	struct virtio_mmio_state st;
	virtio_mmio_save(t, &st);
	snap_put_u32(o, MMIO_SNAP_VERSION);
	snap_put_u32(o, dev->ops->device_id);
	snap_put_u32(o, dev->ops->num_queues);
	snap_put_u32(o, st.status);
	snap_put_u32(o, st.isr);
	snap_put_u32(o, st.config_gen);
	snap_put_u32(o, st.dev_feat_sel);
	snap_put_u32(o, st.drv_feat_sel);
	snap_put_u32(o, st.queue_sel);
	snap_put_u32(o, st.shm_sel);
	snap_put_u64(o, st.driver_features);
	snap_put_u64(o, st.negotiated);
	for (unsigned q = 0; q < dev->ops->num_queues; q++) {
		const struct virtq_state *v = &st.q[q];
		snap_put_u64(o, v->desc);
		snap_put_u64(o, v->avail);
		snap_put_u64(o, v->used);
		snap_put_u16(o, v->num);
		snap_put_u16(o, v->last_avail);
		snap_put_u16(o, v->used_idx);
		snap_put_u16(o, v->signalled_used);
		snap_put_u8(o, v->ready);
		snap_put_u8(o, v->broken);
	}
	/* The model's state: a small plain struct of its own (virtio.h). */
	size_t n = dev->ops->save ? dev->ops->state_size : 0;
	snap_put_u32(o, (uint32_t)n);
	if (n) {
		uint8_t buf[256];
		if (n > sizeof buf)
			return -E2BIG;
		pthread_mutex_lock(&dev->lock);
		dev->ops->save(dev, buf);
		pthread_mutex_unlock(&dev->lock);
		snap_put_bytes(o, buf, n);
	}
	snap_put_u8(o, dev->ops->save_extra != NULL);
	if (dev->ops->save_extra)
		return dev->ops->save_extra(dev, o);
	return 0;
}

static int dev_load(void *opaque, struct snap_in *in)
{
	struct virtio_mmio *t = opaque;
	struct virtio_device *dev = t->dev;
	struct virtio_mmio_state st = {0};
	if (snap_get_u32(in) != MMIO_SNAP_VERSION || snap_get_u32(in) != dev->ops->device_id ||
	    snap_get_u32(in) != dev->ops->num_queues)
		return -EINVAL;
	st.status = snap_get_u32(in);
	st.isr = snap_get_u32(in) & (VIRTIO_ISR_VRING | VIRTIO_ISR_CONFIG);
	st.config_gen = snap_get_u32(in);
	st.dev_feat_sel = snap_get_u32(in);
	st.drv_feat_sel = snap_get_u32(in);
	st.queue_sel = snap_get_u32(in);
	st.shm_sel = snap_get_u32(in);
	st.driver_features = snap_get_u64(in);
	st.negotiated = snap_get_u64(in);
	for (unsigned q = 0; q < dev->ops->num_queues; q++) {
		struct virtq_state *v = &st.q[q];
		v->desc = snap_get_u64(in);
		v->avail = snap_get_u64(in);
		v->used = snap_get_u64(in);
		v->num = snap_get_u16(in);
		v->last_avail = snap_get_u16(in);
		v->used_idx = snap_get_u16(in);
		v->signalled_used = snap_get_u16(in);
		v->ready = snap_get_u8(in) != 0;
		v->broken = snap_get_u8(in) != 0;
	}
	uint32_t n = snap_get_u32(in);
	uint8_t buf[256];
	size_t want = dev->ops->load ? dev->ops->state_size : 0;
	if (in->overrun || n != want || n > sizeof buf)
		return -EINVAL;
	snap_get_bytes(in, buf, n);
	if (in->overrun || st.queue_sel >= VIRTIO_MAX_QUEUES ||
	    (st.negotiated & ~offered(t)))   /* this VM's device offers less */
		return -EINVAL;
	struct err e = {0};
	if (virtio_mmio_load(t, &st, &e))
		return -EINVAL;
	int rc = 0;
	if (n) {
		pthread_mutex_lock(&dev->lock);
		rc = dev->ops->load(dev, buf);
		pthread_mutex_unlock(&dev->lock);
	}
	if (rc)
		return -EINVAL;
	if ((snap_get_u8(in) != 0) != (dev->ops->load_extra != NULL))
		return -EINVAL;
	return dev->ops->load_extra ? dev->ops->load_extra(dev, in) : 0;
}

const struct device_ops virtio_mmio_devtype = {
	.name = "virtio-mmio",
	.reset = virtio_mmio_reset,
	.save = dev_save,
	.load = dev_load,
	.quiesce = virtio_mmio_quiesce,
	.resume = virtio_mmio_resume,
	.destroy = dev_destroy,
};
