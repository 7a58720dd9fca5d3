/*
 * libFuzzer target: a hostile guest driving virtio-balloon (inflate,
 * deflate, stats and free page reporting queues) while the host sets
 * targets and asks for statistics.
 *
 * Input: an 8-byte header, a 16-byte op script, then guest RAM (64 KiB at
 * RAM_BASE; queue q's rings at fixed places, everything else from the
 * fuzzer, so PFN arrays and page ranges point anywhere, RAM or not):
 *   hdr[0]  bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 2 STATS_VQ, bit 3
 *           REPORTING, bit 4 DEFLATE_ON_OOM
 *   hdr[1]  queue size 1 << (v % 5)
 *   ops[i]  low 3 bits opcode, high 5 bits argument: kick a queue, bump an
 *           avail idx and kick, set the target, read stats, request stats,
 *           reset and bring up again, write `actual`, ack interrupts.
 * Checked besides ASan/UBSan: the irq line is high exactly while
 * InterruptStatus is non-zero; the device's inflated count never exceeds
 * RAM; nothing crashes or hangs.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/bus.h"
#include "vmm/virtio/balloon.h"
#include "vmm/virtio/mmio.h"

#define RAM_BASE 0x10000ull
#define RAM_SIZE 0x10000ull
#define MMIO     0x10001000ull
#define NQ 4

struct harness {
	struct bus bus;
	struct virtio_mmio *t;
	int level;
	uint16_t num, avail_idx[NQ];
	uint64_t features;
};

static void line_set(void *ctx, unsigned line, int level)
{
	(void)line;
	((struct harness *)ctx)->level = level;
}

static uint32_t rd(struct harness *h, uint64_t off)
{
	uint64_t v = 0;
	bus_load(&h->bus, MMIO + off, 4, &v);
	return (uint32_t)v;
}

static void wr(struct harness *h, uint64_t off, uint32_t v) { bus_store(&h->bus, MMIO + off, 4, v); }

static uint64_t ring(unsigned q, unsigned part) { return RAM_BASE + q * 0x1800ull + part * 0x800ull; }

static void bring_up(struct harness *h)
{
	wr(h, VIRTIO_MMIO_STATUS, 0);
	wr(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	uint64_t f = VIRTIO_F_VERSION_1 | h->features;
	wr(h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(h, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(h, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				  VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < NQ; q++) {
		wr(h, VIRTIO_MMIO_QUEUE_SEL, q);
		wr(h, VIRTIO_MMIO_QUEUE_NUM, h->num);
		wr(h, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)ring(q, 0));
		wr(h, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)ring(q, 1));
		wr(h, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)ring(q, 2));
		wr(h, VIRTIO_MMIO_QUEUE_READY, 1);
		uint8_t *a = bus_guest_ptr_w(&h->bus, ring(q, 1) + 2, 2);
		h->avail_idx[q] = (uint16_t)(a[0] | a[1] << 8);
	}
	wr(h, VIRTIO_MMIO_STATUS, rd(h, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

static void check(struct harness *h, struct virtio_device *dev)
{
	if ((rd(h, VIRTIO_MMIO_INTERRUPT_STATUS) != 0) != (h->level != 0))
		abort();
	struct balloon_stats s;
	balloon_get_stats(dev, &s, 0);
	if (s.inflated_bytes > RAM_SIZE)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 24)
		return 0;
	const uint8_t *hdr = data, *ops = data + 8;
	struct harness h;
	memset(&h, 0, sizeof h);
	if (bus_init(&h.bus, RAM_BASE, RAM_SIZE) < 0)
		abort();
	size_t body = size - 24 < RAM_SIZE ? size - 24 : RAM_SIZE;
	bus_write_guest(&h.bus, RAM_BASE, data + 24, body);
	h.features = (hdr[0] & 1 ? VIRTIO_F_EVENT_IDX : 0) | (hdr[0] & 2 ? VIRTIO_F_INDIRECT_DESC : 0) |
		     (hdr[0] & 4 ? VIRTIO_BALLOON_F_STATS_VQ : 0) |
		     (hdr[0] & 8 ? VIRTIO_BALLOON_F_REPORTING : 0) |
		     (hdr[0] & 16 ? VIRTIO_BALLOON_F_DEFLATE_ON_OOM : 0);
	h.num = (uint16_t)(1u << (hdr[1] % 5));

	struct virtio_device *dev;
	struct err e;
	if (virtio_balloon_create(VIRTIO_BALLOON_DEFLATE_ON_OOM, &dev, &e) < 0)
		abort();
	struct irq_line irq = { line_set, &h, 1 };
	if (virtio_mmio_create(&h.bus, MMIO, irq, dev, VIRTIO_MMIO_SYNC | VIRTIO_MMIO_ON_BUS, &h.t, &e) < 0)
		abort();
	bring_up(&h);
	check(&h, dev);

	for (unsigned i = 0; i < 16; i++) {
		unsigned op = ops[i] & 7, arg = ops[i] >> 3;
		struct balloon_stats s;
		switch (op) {
		case 0:
			wr(&h, VIRTIO_MMIO_QUEUE_NOTIFY, arg % NQ);
			break;
		case 1: {
			unsigned q = arg % NQ;
			h.avail_idx[q] = (uint16_t)(h.avail_idx[q] + (arg >> 2) + 1);
			uint8_t *a = bus_guest_ptr_w(&h.bus, ring(q, 1) + 2, 2);
			a[0] = (uint8_t)h.avail_idx[q];
			a[1] = (uint8_t)(h.avail_idx[q] >> 8);
			wr(&h, VIRTIO_MMIO_QUEUE_NOTIFY, q);
			break;
		}
		case 2:
			balloon_set_target(dev, (uint64_t)arg * 0x1000 * (arg & 16 ? 64 : 1));
			break;
		case 3:
			balloon_get_stats(dev, &s, 0);
			break;
		case 4:
			balloon_request_stats(dev);
			break;
		case 5:
			bring_up(&h);
			break;
		case 6:
			bus_store(&h.bus, MMIO + VIRTIO_MMIO_CONFIG + 4 + (arg & 3), 1 + (arg >> 4), arg * 7);
			break;
		case 7:
			wr(&h, VIRTIO_MMIO_INTERRUPT_ACK, arg & 3);
			break;
		}
		check(&h, dev);
	}
	virtio_mmio_destroy(h.t);
	bus_destroy(&h.bus);
	return 0;
}
