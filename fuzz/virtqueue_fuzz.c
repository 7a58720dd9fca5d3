/*
 * libFuzzer target: a hostile guest driving one virtio-mmio device.
 *
 * The input is a 16-byte header, a 16-byte op script, then the initial
 * contents of guest RAM (64 KiB at RAM_BASE; rings, descriptors, indirect
 * tables and buffers all come from the fuzzer):
 *   hdr[0]  bits 0-1 device (blk, blk read-only, rng, console),
 *           bit 2 EVENT_IDX, bit 3 INDIRECT_DESC, bit 4 skip VERSION_1
 *   hdr[1]  queue size: 1 << (v % 9), or raw v when bit 7 set (invalid sizes)
 *   hdr[2..7]  desc / avail / used ring offsets in RAM (le16; may be
 *           misaligned or run past the end: the transport must refuse)
 *   hdr[8]  queue number used for setup and kicks
 *   hdr[9]  bit 0: with device 3, the guest agent's MULTIPORT console
 *           (named_port.c, 4 queues: its control queues are 2 and 3)
 *   ops[i]  low 3 bits opcode, high 5 bits argument: kick, bump avail idx,
 *           ack interrupts, read config, reset and bring up again, host
 *           console input, toggle QueueReady, write a register.
 * Invariants checked besides ASan/UBSan: the interrupt line is high exactly
 * while InterruptStatus is non-zero; nothing crashes or hangs.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/bus.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/console.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/named_port.h"
#include "vmm/virtio/rng.h"

#define RAM_BASE 0x10000ull
#define RAM_SIZE 0x10000ull
#define MMIO     0x10001000ull
#define DISK     (64 * 512)

struct harness {
	struct bus bus;
	struct virtio_mmio *t;
	struct chardev chr;
	int level;
	uint16_t num;
	uint64_t desc, avail, used;
	unsigned q;
	uint64_t features;
};

static void line_set(void *ctx, unsigned line, int level)
{
	(void)line;
	((struct harness *)ctx)->level = level;
}

static void sink(void *host, const uint8_t *buf, size_t len)
{
	(void)host;
	(void)buf;
	(void)len;
}

static uint32_t rd(struct harness *h, uint64_t off)
{
	uint64_t v = 0;
	bus_load(&h->bus, MMIO + off, 4, &v);
	return (uint32_t)v;
}

static void wr(struct harness *h, uint64_t off, uint32_t v)
{
	bus_store(&h->bus, MMIO + off, 4, v);
}

static void bring_up(struct harness *h)
{
	wr(h, VIRTIO_MMIO_STATUS, 0);
	wr(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t offered = rd(h, VIRTIO_MMIO_DEVICE_FEATURES);
	wr(h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered |= (uint64_t)rd(h, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	uint64_t f = (offered & ~VIRTIO_F_TRANSPORT_MASK) | (h->features & offered);
	wr(h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(h, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(h, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				  VIRTIO_STATUS_FEATURES_OK);
	wr(h, VIRTIO_MMIO_QUEUE_SEL, h->q);
	wr(h, VIRTIO_MMIO_QUEUE_NUM, h->num);
	wr(h, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)h->desc);
	wr(h, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(h->desc >> 32));
	wr(h, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)h->avail);
	wr(h, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
	wr(h, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)h->used);
	wr(h, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
	wr(h, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(h, VIRTIO_MMIO_STATUS, rd(h, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

static void check(struct harness *h)
{
	if ((rd(h, VIRTIO_MMIO_INTERRUPT_STATUS) != 0) != (h->level != 0))
		abort();
}

static struct virtio_device *make_device(struct harness *h, unsigned kind, bool named, int *memfd)
{
	struct virtio_device *dev = NULL;
	struct err e;
	*memfd = -1;
	if (kind <= 1) {
		/* A raw disk on an anonymous file: write it, then reopen by path. */
		int fd = memfd_create("disk", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, DISK) < 0)
			abort();
		char path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		struct block_backend *be;
		if (block_raw_open(path, kind == 1, &be, &e) < 0)
			abort();
		if (virtio_blk_create(be, "fuzz", &dev, &e) < 0)
			abort();
		*memfd = fd;
	} else if (kind == 2) {
		if (virtio_rng_create(&dev, &e) < 0)
			abort();
	} else if (named) {
		h->chr = (struct chardev){ .write = sink };
		if (virtio_named_port_create("org.nimbus.agent", &h->chr, NULL, &dev, &e) < 0)
			abort();
	} else {
		h->chr = (struct chardev){ .write = sink };
		if (virtio_console_create(&h->chr, &dev, &e) < 0)
			abort();
	}
	return dev;
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 32)
		return 0;
	const uint8_t *hdr = data, *ops = data + 16;
	struct harness h;
	memset(&h, 0, sizeof h);
	if (bus_init(&h.bus, RAM_BASE, RAM_SIZE) < 0)
		abort();
	size_t body = size - 32 < RAM_SIZE ? size - 32 : RAM_SIZE;
	bus_write_guest(&h.bus, RAM_BASE, data + 32, body);

	unsigned kind = hdr[0] & 3;
	h.features = (hdr[0] & 4 ? VIRTIO_F_EVENT_IDX : 0) | (hdr[0] & 8 ? VIRTIO_F_INDIRECT_DESC : 0) |
		     (hdr[0] & 16 ? 0 : VIRTIO_F_VERSION_1);
	h.num = hdr[1] & 0x80 ? hdr[1] : (uint16_t)(1u << (hdr[1] % 9));
	h.desc = RAM_BASE + le16(hdr + 2);
	h.avail = RAM_BASE + le16(hdr + 4);
	h.used = RAM_BASE + le16(hdr + 6);
	bool named = kind == 3 && (hdr[9] & 1);
	unsigned nq = named ? 4 : 3;
	h.q = hdr[8] % nq;

	int memfd;
	struct virtio_device *dev = make_device(&h, kind, named, &memfd);
	struct irq_line irq = { line_set, &h, 1 };
	struct err e;
	if (virtio_mmio_create(&h.bus, MMIO, irq, dev, VIRTIO_MMIO_SYNC | VIRTIO_MMIO_ON_BUS, &h.t, &e) < 0)
		abort();
	bring_up(&h);
	check(&h);

	for (unsigned i = 0; i < 16; i++) {
		unsigned op = ops[i] & 7, arg = ops[i] >> 3;
		uint8_t *avail_idx = bus_guest_ptr_w(&h.bus, h.avail + 2, 2);
		switch (op) {
		case 0:
			wr(&h, VIRTIO_MMIO_QUEUE_NOTIFY, arg % nq);
			break;
		case 1:
			if (avail_idx) {
				uint16_t v = (uint16_t)(le16(avail_idx) + arg);
				avail_idx[0] = (uint8_t)v;
				avail_idx[1] = (uint8_t)(v >> 8);
			}
			wr(&h, VIRTIO_MMIO_QUEUE_NOTIFY, h.q);
			break;
		case 2:
			wr(&h, VIRTIO_MMIO_INTERRUPT_ACK, arg & 3);
			break;
		case 3: {
			uint64_t v;
			bus_load(&h.bus, MMIO + VIRTIO_MMIO_CONFIG + arg * 3, 1u << (arg & 3), &v);
			break;
		}
		case 4:
			bring_up(&h);
			break;
		case 5:
			if (h.chr.receive)
				h.chr.receive(h.chr.dev, data, arg * 7 < size ? arg * 7 : size);
			break;
		case 6:
			wr(&h, VIRTIO_MMIO_QUEUE_SEL, h.q);
			wr(&h, VIRTIO_MMIO_QUEUE_READY, arg & 1);
			break;
		case 7:
			/* Any register, any value from the RAM image. */
			wr(&h, (uint64_t)arg * 4 + (arg & 16 ? 0x40 : 0), (uint32_t)le16(hdr + 10) * arg);
			break;
		}
		check(&h);
	}
	virtio_mmio_destroy(h.t);
	if (memfd >= 0)
		close(memfd);
	bus_destroy(&h.bus);
	return 0;
}
