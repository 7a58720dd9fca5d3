/*
 * Device-side services common to every transport: see virtio.h.  A fault
 * (virtio 1.2, 2.1.2: DEVICE_NEEDS_RESET) is logged once per reset cycle so a
 * misbehaving guest cannot flood the VM's log (dev->log, log.h).
 */
#include "vmm/virtio/virtio.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void virtio_device_init(struct virtio_device *dev, const struct virtio_device_ops *ops,
			uint64_t features)
{
	memset(dev, 0, sizeof *dev);
	dev->ops = ops;
	dev->features = features & ~VIRTIO_F_TRANSPORT_MASK;
	pthread_mutex_init(&dev->lock, NULL);
	snprintf(dev->label, sizeof dev->label, "%s", ops->name);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		dev->vq[i].dev = dev;
		dev->vq[i].index = i;
	}
}

void virtio_device_fini(struct virtio_device *dev)
{
	pthread_mutex_destroy(&dev->lock);
}

void virtio_device_fail(struct virtio_device *dev, const char *fmt, ...)
{
	if (!dev->failed) {
		char msg[256];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		size_t n = strlen(msg);
		snprintf(msg + n, sizeof msg - n, "; device needs reset");
		log_emit(dev->log, dev->label, msg);
		dev->failed = true;
	}
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		dev->vq[i].s.broken = 1;
	if (dev->t_ops)
		dev->t_ops->needs_reset(dev->t);
	else
		dev->status |= VIRTIO_STATUS_NEEDS_RESET;
}

void virtio_device_signal(struct virtio_device *dev, unsigned q)
{
	if (q < VIRTIO_MAX_QUEUES && vq_should_signal(&dev->vq[q]) && dev->t_ops)
		dev->t_ops->interrupt(dev->t, VIRTIO_ISR_VRING);
}

void virtio_device_config_changed(struct virtio_device *dev)
{
	if (dev->t_ops)
		dev->t_ops->config_changed(dev->t);
}

void virtio_device_requeue(struct virtio_device *dev, unsigned q)
{
	if (dev->t_ops && q < VIRTIO_MAX_QUEUES)
		dev->t_ops->requeue(dev->t, q);
}
