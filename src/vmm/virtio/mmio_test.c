/*
 * Unit tests of the virtio-mmio transport driven through the bus as a guest
 * driver would: identification registers, feature negotiation (and its
 * refusals), queue registers, notify before/after DRIVER_OK, interrupt
 * level and ACK, reset, the I/O thread, and snapshot save/load.  The
 * entropy device is the payload (simplest queue user).
 */
#include "vmm/virtio/mmio.h"

#include <stdio.h>
#include <unistd.h>

#include "lib/testing.h"
#include "vmm/board/virtio_slot.h"
#include "vmm/virtio/rng.h"
#include "vmm/virtio/testdrv.h"

#define FEAT (VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX)

static int open_rng(struct td *d, unsigned flags)
{
	struct virtio_device *dev;
	struct err e;
	if (virtio_rng_create(&dev, &e) < 0)
		return -1;
	return td_open(d, dev, flags);
}

TEST(mmio_identification)
{
	struct td d;
	EXPECT_EQ(open_rng(&d, VIRTIO_MMIO_SYNC), 0);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_VERSION), 2);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	EXPECT_EQ(td_device_features(&d), FEAT);
	td_wr(&d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	/* No shared memory regions: length -1. */
	td_wr(&d, VIRTIO_MMIO_SHM_SEL, 0);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffffu);
	/* One queue: 64 entries, the next does not exist. */
	td_wr(&d, VIRTIO_MMIO_QUEUE_SEL, 0);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	td_wr(&d, VIRTIO_MMIO_QUEUE_SEL, 1);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_QUEUE_READY), 0);
	/* Non-32-bit register accesses read 0 and are ignored; the rest of the slot reads 0. */
	uint64_t v = 1;
	EXPECT_EQ(bus_load(&d.bus, TD_MMIO + VIRTIO_MMIO_MAGIC_VALUE, 2, &v), 0);
	EXPECT_EQ(v, 0);
	EXPECT_EQ(bus_load(&d.bus, TD_MMIO + VIRTIO_MMIO_MAGIC_VALUE, 8, &v), 0);
	EXPECT_EQ(v, 0);
	bus_store(&d.bus, TD_MMIO + VIRTIO_MMIO_STATUS, 1, 1);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_STATUS), 0);
	EXPECT_EQ(td_rd(&d, 0x800), 0);
	/* rng has no config space */
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_CONFIG), 0);
	td_close(&d);
}

TEST(mmio_feature_negotiation)
{
	struct td d;
	EXPECT_EQ(open_rng(&d, VIRTIO_MMIO_SYNC), 0);
	/* Legacy driver (no VERSION_1): FEATURES_OK does not stick. */
	EXPECT(!(td_negotiate(&d, VIRTIO_F_INDIRECT_DESC) & VIRTIO_STATUS_FEATURES_OK));
	/* A bit the device did not offer. */
	EXPECT(!(td_negotiate(&d, VIRTIO_F_VERSION_1 | (1ull << 40)) & VIRTIO_STATUS_FEATURES_OK));
	EXPECT(!(td_negotiate(&d, VIRTIO_F_VERSION_1 | 1) & VIRTIO_STATUS_FEATURES_OK));
	/* DRIVER_OK without FEATURES_OK is refused too. */
	td_driver_ok(&d);
	EXPECT(!(td_rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK));
	/* A subset is fine, and features are frozen after FEATURES_OK. */
	uint32_t st = td_negotiate(&d, VIRTIO_F_VERSION_1);
	EXPECT_EQ(st, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	td_wr(&d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	td_wr(&d, VIRTIO_MMIO_DRIVER_FEATURES, VIRTIO_F_EVENT_IDX);
	EXPECT_EQ(virtio_mmio_device(d.t)->negotiated, VIRTIO_F_VERSION_1);
	/* The driver cannot set NEEDS_RESET. */
	td_wr(&d, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_NEEDS_RESET);
	EXPECT(!(td_rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	td_close(&d);
}

TEST(mmio_queue_registers_and_reset)
{
	struct td d;
	EXPECT_EQ(open_rng(&d, VIRTIO_MMIO_SYNC), 0);
	EXPECT(td_negotiate(&d, FEAT) & VIRTIO_STATUS_FEATURES_OK);
	EXPECT_EQ(td_queue(&d, 0, 32), 1);
	td_wr(&d, VIRTIO_MMIO_QUEUE_SEL, 0);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_QUEUE_NUM), 32);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_QUEUE_DRIVER_LOW), (uint32_t)d.q[0].avail);
	/* Frozen while ready. */
	td_wr(&d, VIRTIO_MMIO_QUEUE_NUM, 8);
	td_wr(&d, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_QUEUE_NUM), 32);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_QUEUE_DESC_LOW), (uint32_t)d.q[0].desc);
	td_driver_ok(&d);
	td_desc(&d, 0, 0, TD_DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	EXPECT_EQ(atomic_load(&d.level), 1);
	/* Reset: status, ISR, the line and the queue all clear. */
	td_wr(&d, VIRTIO_MMIO_STATUS, 0);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_STATUS), 0);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	EXPECT_EQ(atomic_load(&d.level), 0);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_QUEUE_READY), 0);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_QUEUE_NUM), 0);
	/* Notify of a queue that does not exist, and of a non-ready queue: nothing. */
	td_kick(&d, 5);
	td_kick(&d, 0);
	td_close(&d);
}

TEST(mmio_notify_before_driver_ok_waits)
{
	struct td d;
	EXPECT_EQ(open_rng(&d, VIRTIO_MMIO_SYNC), 0);
	EXPECT(td_negotiate(&d, FEAT) & VIRTIO_STATUS_FEATURES_OK);
	EXPECT_EQ(td_queue(&d, 0, 16), 1);
	td_desc(&d, 0, 0, TD_DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	EXPECT_EQ(td_used_idx(&d, 0), 0);
	td_driver_ok(&d);
	EXPECT_EQ(td_used_idx(&d, 0), 1);
	td_close(&d);
}

TEST(mmio_io_thread)
{
	struct td d;
	EXPECT_EQ(open_rng(&d, 0), 0);
	EXPECT(td_negotiate(&d, FEAT) & VIRTIO_STATUS_FEATURES_OK);
	EXPECT_EQ(td_queue(&d, 0, 64), 1);
	td_driver_ok(&d);
	for (int i = 0; i < 200; i++) {
		td_desc(&d, 0, i % 64, TD_DATA + 64 * (i % 64), 64, VIRTQ_DESC_F_WRITE, 0);
		td_post(&d, 0, i % 64);
		if (i % 50 == 49) {
			td_kick(&d, 0);
			EXPECT_EQ(td_wait_used(&d, 0, (uint16_t)(i + 1), 5000), 0);
		}
	}
	EXPECT_EQ(td_used_idx(&d, 0), 200);
	EXPECT(atomic_load(&d.level) == 1);
	/* ISR is read and acknowledged while the thread may run. */
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_VRING);
	td_wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_VRING);
	EXPECT_EQ(atomic_load(&d.level), 0);
	td_close(&d);
}

TEST(mmio_save_load)
{
	struct td d;
	EXPECT_EQ(open_rng(&d, VIRTIO_MMIO_SYNC), 0);
	EXPECT(td_negotiate(&d, FEAT) & VIRTIO_STATUS_FEATURES_OK);
	EXPECT_EQ(td_queue(&d, 0, 16), 1);
	td_driver_ok(&d);
	td_desc(&d, 0, 0, TD_DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	struct virtio_mmio_state st;
	virtio_mmio_save(d.t, &st);
	EXPECT_EQ(st.q[0].used_idx, 1);
	EXPECT_EQ(st.isr, VIRTIO_ISR_VRING);
	td_wr(&d, VIRTIO_MMIO_STATUS, 0);
	EXPECT_EQ(atomic_load(&d.level), 0);
	struct err e;
	EXPECT_EQ(virtio_mmio_load(d.t, &st, &e), 0);
	EXPECT_EQ(atomic_load(&d.level), 1);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_STATUS), st.status);
	/* The restored queue carries on where it was. */
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	EXPECT_EQ(td_used_idx(&d, 0), 2);
	/* A state whose ring is no longer valid is refused, leaving a reset device. */
	st.q[0].desc = 0x1000;
	EXPECT(virtio_mmio_load(d.t, &st, &e) < 0);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_STATUS), 0);
	td_close(&d);
}

TEST(mmio_create_rejects_overlap)
{
	struct td d;
	EXPECT_EQ(open_rng(&d, VIRTIO_MMIO_SYNC), 0);
	struct virtio_device *dev;
	struct virtio_mmio *t2;
	struct err e;
	EXPECT_EQ(virtio_rng_create(&dev, &e), 0);
	struct irq_line irq = {0};
	EXPECT(virtio_mmio_create(&d.bus, TD_MMIO, irq, dev, VIRTIO_MMIO_ON_BUS, &t2, &e) < 0);
	EXPECT(t2 == NULL);
	td_close(&d);
}

TEST(mmio_plugs_into_board_slot)
{
	/* As vm.c does it: the slot owns the region and forwards to the transport. */
	struct td d;
	memset(&d, 0, sizeof d);
	EXPECT_EQ(bus_init(&d.bus, TD_RAM_BASE, TD_RAM_SIZE), 0);
	struct virtio_slot slot;
	struct irq_line l = { td_irq_set, &d, 1 };
	virtio_slot_init(&slot, TD_MMIO, &l);
	EXPECT_EQ(bus_add_region(&d.bus, TD_MMIO, 0x1000, &virtio_slot_ops, &slot, "virtio-mmio"), 0);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_DEVICE_ID), 0);   /* empty slot */
	struct virtio_device *dev;
	struct err e;
	EXPECT_EQ(virtio_rng_create(&dev, &e), 0);
	EXPECT_EQ(virtio_mmio_create(&d.bus, slot.base, slot.irq, dev, 0, &d.t, &e), 0);
	virtio_slot_plug(&slot, &virtio_mmio_ops, d.t, virtio_mmio_reset);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	EXPECT(td_negotiate(&d, FEAT) & VIRTIO_STATUS_FEATURES_OK);
	EXPECT_EQ(td_queue(&d, 0, 16), 1);
	td_driver_ok(&d);
	td_desc(&d, 0, 0, TD_DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	EXPECT_EQ(td_wait_used(&d, 0, 1, 5000), 0);
	for (int i = 0; i < 5000 && !atomic_load(&d.level); i++)
		usleep(100);
	EXPECT_EQ(atomic_load(&d.level), 1);
	virtio_slot_reset(&slot);   /* VM reset */
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_STATUS), 0);
	EXPECT_EQ(atomic_load(&d.level), 0);
	td_close(&d);
}

TEST(mmio_quiesce_holds_kicks_until_resume)
{
	struct td d;
	EXPECT_EQ(open_rng(&d, 0), 0);
	EXPECT(td_negotiate(&d, FEAT) & VIRTIO_STATUS_FEATURES_OK);
	EXPECT_EQ(td_queue(&d, 0, 64), 1);
	td_driver_ok(&d);
	virtio_mmio_quiesce(d.t);
	td_desc(&d, 0, 0, TD_DATA, 64, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	usleep(100000);
	/* Paused: the request waits, no interrupt is raised. */
	EXPECT_EQ(td_used_idx(&d, 0), 0);
	EXPECT_EQ(atomic_load(&d.level), 0);
	virtio_mmio_resume(d.t);
	EXPECT_EQ(td_wait_used(&d, 0, 1, 5000), 0);
	EXPECT_EQ(atomic_load(&d.level), 1);
	td_close(&d);
}

struct sink_rec {
	char source[64], msg[256];
	int n;
};

static void sink_log(void *ctx, const char *source, const char *msg)
{
	struct sink_rec *r = ctx;
	snprintf(r->source, sizeof r->source, "%s", source);
	snprintf(r->msg, sizeof r->msg, "%s", msg);
	r->n++;
}

TEST(mmio_device_faults_go_to_the_log_sink_once)
{
	struct td d;
	EXPECT_EQ(open_rng(&d, 0), 0);
	struct sink_rec r = {0};
	struct log_sink sink = { .log = sink_log, .ctx = &r };
	struct virtio_device *dev = virtio_mmio_device(d.t);
	dev->log = &sink;
	pthread_mutex_lock(&dev->lock);
	virtio_device_fail(dev, "ring at %d is bad", 7);
	virtio_device_fail(dev, "again");
	pthread_mutex_unlock(&dev->lock);
	EXPECT_EQ(r.n, 1);
	EXPECT(!strcmp(r.source, dev->label));
	EXPECT(!strcmp(r.msg, "ring at 7 is bad; device needs reset"));
	td_close(&d);
}

/* The interrupt line is driven with no transport lock held: a vCPU woken by
 * it reads InterruptStatus at once (here, from inside the line's callback:
 * with irq_lock held across the drive this would deadlock). */
struct isr_probe {
	struct td *d;
	_Atomic int level;
	_Atomic uint32_t isr_seen;
};

static void isr_probe_set(void *ctx, unsigned line, int level)
{
	struct isr_probe *pr = ctx;
	(void)line;
	atomic_store(&pr->level, level);
	if (level)
		atomic_store(&pr->isr_seen, td_rd(pr->d, VIRTIO_MMIO_INTERRUPT_STATUS));
}

TEST(mmio_interrupt_is_driven_without_the_transport_locked)
{
	struct td d;
	struct isr_probe pr = { .d = &d };
	struct virtio_device *dev;
	struct err e;
	EXPECT_EQ(virtio_rng_create(&dev, &e), 0);
	memset(&d, 0, sizeof d);
	EXPECT_EQ(bus_init(&d.bus, TD_RAM_BASE, TD_RAM_SIZE), 0);
	struct irq_line irq = { isr_probe_set, &pr, 1 };
	EXPECT_EQ(virtio_mmio_create(&d.bus, TD_MMIO, irq, dev, VIRTIO_MMIO_SYNC | VIRTIO_MMIO_ON_BUS,
				     &d.t, &e), 0);
	EXPECT(td_negotiate(&d, FEAT) & VIRTIO_STATUS_FEATURES_OK);
	EXPECT_EQ(td_queue(&d, 0, 8), 1);
	td_driver_ok(&d);
	td_desc(&d, 0, 0, TD_DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, 0, 0);
	td_kick(&d, 0);                    /* SYNC: served, and the line raised, here */
	EXPECT_EQ(td_used_idx(&d, 0), 1);
	EXPECT_EQ(atomic_load(&pr.level), 1);
	EXPECT_EQ(atomic_load(&pr.isr_seen), VIRTIO_ISR_VRING);
	td_wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_VRING);
	EXPECT_EQ(atomic_load(&pr.level), 0);
	td_close(&d);
}
