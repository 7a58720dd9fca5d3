/* Unit tests of the virtio-mmio slot: the empty slot's identity and dispatch to a plugged transport. */
#include "vmm/board/virtio_slot.h"

#include "lib/testing.h"

TEST(virtio_slot_empty_reads_like_qemu)
{
	struct irq_line l = {0};
	struct virtio_slot s;
	virtio_slot_init(&s, 0x10001000, &l);
	EXPECT_EQ(virtio_slot_ops.read(&s, 0x000, 4), 0x74726976);
	EXPECT_EQ(virtio_slot_ops.read(&s, 0x004, 4), 2);
	EXPECT_EQ(virtio_slot_ops.read(&s, 0x008, 4), 0);
	EXPECT_EQ(virtio_slot_ops.read(&s, 0x00c, 4), 0x554d4551);
	EXPECT_EQ(virtio_slot_ops.read(&s, 0x070, 4), 0);
	virtio_slot_ops.write(&s, 0x070, 4, 0xff);   /* ignored */
	EXPECT_EQ(virtio_slot_ops.read(&s, 0x070, 4), 0);
	virtio_slot_reset(&s);
}

struct fake {
	uint64_t last_off, last_val;
	int resets;
};

static uint64_t fake_read(void *dev, uint64_t off, unsigned size)
{
	(void)dev, (void)size;
	return off == 8 ? 2 : 0x1234;
}

static void fake_write(void *dev, uint64_t off, unsigned size, uint64_t value)
{
	struct fake *f = dev;
	(void)size;
	f->last_off = off;
	f->last_val = value;
}

static void fake_reset(void *dev)
{
	((struct fake *)dev)->resets++;
}

static const struct mmio_ops fake_ops = { fake_read, fake_write };

TEST(virtio_slot_dispatches_to_plugged_transport)
{
	struct irq_line l = {0};
	struct virtio_slot s;
	struct fake f = {0};
	virtio_slot_init(&s, 0x10002000, &l);
	virtio_slot_plug(&s, &fake_ops, &f, fake_reset);
	EXPECT_EQ(virtio_slot_ops.read(&s, 0x008, 4), 2);
	virtio_slot_ops.write(&s, 0x070, 4, 7);
	EXPECT_EQ(f.last_off, 0x70);
	EXPECT_EQ(f.last_val, 7);
	virtio_slot_reset(&s);
	EXPECT_EQ(f.resets, 1);
}
