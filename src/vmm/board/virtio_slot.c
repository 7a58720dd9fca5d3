/*
 * virtio-mmio slot: the register view of an empty slot (virtio 1.2,
 * "MMIO Device Register Layout") and dispatch to a plugged transport.
 * See virtio_slot.h.
 */
#include "vmm/board/virtio_slot.h"

#include <string.h>

static uint64_t slot_read(void *dev, uint64_t off, unsigned size)
{
	struct virtio_slot *s = dev;
	if (s->ops)
		return s->ops->read(s->dev, off, size);
	if (size != 4)
		return 0;
	switch (off) {
	case 0x000: return VIRTIO_SLOT_MAGIC;
	case 0x004: return 2;                        /* Version: virtio 1.x */
	case 0x008: return 0;                        /* DeviceID 0: no device */
	case 0x00c: return VIRTIO_SLOT_VENDOR_QEMU;
	default:    return 0;
	}
}

static void slot_write(void *dev, uint64_t off, unsigned size, uint64_t value)
{
	struct virtio_slot *s = dev;
	if (s->ops)
		s->ops->write(s->dev, off, size, value);
}

const struct mmio_ops virtio_slot_ops = {
	.read = slot_read,
	.write = slot_write,
};

void virtio_slot_init(struct virtio_slot *s, uint64_t base, const struct irq_line *irq)
{
	memset(s, 0, sizeof(*s));
	s->base = base;
	s->irq = *irq;
}

void virtio_slot_plug(struct virtio_slot *s, const struct mmio_ops *ops, void *dev,
		      void (*reset)(void *dev))
{
	s->ops = ops;
	s->dev = dev;
	s->reset = reset;
}

void virtio_slot_reset(struct virtio_slot *s)
{
	if (s->ops && s->reset)
		s->reset(s->dev);
}
