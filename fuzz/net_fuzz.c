/*
 * libFuzzer target: a hostile guest driving virtio-net (receive and
 * transmit queues) while the host side delivers frames.
 *
 * Input: an 8-byte header, a 16-byte op script, then guest RAM (64 KiB at
 * RAM_BASE; the rings sit at fixed places so descriptor tables, avail
 * rings and buffers all come from the fuzzer and chains get past setup):
 *   hdr[0]  bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 2 CSUM, bit 3 skip
 *           DRIVER_OK, bit 4 HOST_TSO4/TSO6/HOST_ECN, bit 5 MRG_RXBUF,
 *           bit 6 GUEST_CSUM, bit 7 a backend with NET_BE_CAP_LARGE and
 *           RX_CSUM_VALID (else one that needs the device to segment)
 *   hdr[2]  bit 0: a backend that speaks virtio_net_hdr (VNET_HDR: host
 *           frames arrive with a hostile header via receive_vnet), with
 *           GUEST_CSUM/GUEST_TSO4/TSO6/GUEST_ECN negotiated when bit 1
 *   hdr[1]  queue size 1 << (v % 5)
 *   ops[i]  low 3 bits opcode, high 5 bits argument: kick rx, kick tx, bump
 *           an avail idx and kick, deliver a host frame (bytes from the
 *           input), make the backend refuse/accept sends, reset and bring
 *           up again, ack interrupts, toggle the link / read config.
 * Checked besides ASan/UBSan: the irq line is high exactly while
 * InterruptStatus is non-zero; every byte handed to the backend is
 * readable; nothing crashes or hangs.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/bus.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/net.h"

#define RAM_BASE 0x10000ull
#define RAM_SIZE 0x10000ull
#define MMIO     0x10001000ull

struct fbe {
	struct net_backend be;
	int fail;
	unsigned sum;
};

static int fbe_start(struct net_backend *be, struct err *err)
{
	(void)be;
	(void)err;
	return 0;
}

static int fbe_send(struct net_backend *be, const struct iovec *iov, int cnt)
{
	struct fbe *f = (struct fbe *)be;
	size_t total = 0;
	for (int i = 0; i < cnt; i++) {
		const volatile uint8_t *p = iov[i].iov_base;
		for (size_t k = 0; k < iov[i].iov_len; k++)
			f->sum += p[k];   /* ASan checks every byte is real memory */
		total += iov[i].iov_len;
	}
	if (total > NET_MAX_FRAME)
		abort();
	return f->fail ? -ENOBUFS : 0;
}

static int fbe_send_vnet(struct net_backend *be, const uint8_t hdr[NET_VNET_HDR_BYTES],
			 const struct iovec *iov, int cnt)
{
	struct fbe *f = (struct fbe *)be;
	for (unsigned i = 0; i < NET_VNET_HDR_BYTES; i++)
		f->sum += hdr[i];
	return fbe_send(be, iov, cnt);
}

static void fbe_set_offloads(struct net_backend *be, unsigned o)
{
	((struct fbe *)be)->sum += o;
}

static void fbe_rx_ready(struct net_backend *be) { (void)be; }
static void fbe_close(struct net_backend *be) { (void)be; }

static const struct net_backend_ops fbe_ops = {
	.start = fbe_start, .send = fbe_send, .rx_ready = fbe_rx_ready, .close = fbe_close,
	.send_vnet = fbe_send_vnet, .set_offloads = fbe_set_offloads,
};

struct harness {
	struct bus bus;
	struct virtio_mmio *t;
	int level;
	uint16_t num, avail_idx[2];
	uint64_t features;
	int no_driver_ok;
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

static uint64_t ring(unsigned q, unsigned part) { return RAM_BASE + q * 0x2000ull + part * 0x800ull; }

static void bring_up(struct harness *h)
{
	wr(h, VIRTIO_MMIO_STATUS, 0);
	wr(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	uint64_t f = VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | h->features;
	wr(h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(h, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(h, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				  VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < 2; q++) {
		wr(h, VIRTIO_MMIO_QUEUE_SEL, q);
		wr(h, VIRTIO_MMIO_QUEUE_NUM, h->num);
		wr(h, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)ring(q, 0));
		wr(h, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)ring(q, 1));
		wr(h, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)ring(q, 2));
		wr(h, VIRTIO_MMIO_QUEUE_READY, 1);
		uint8_t *a = bus_guest_ptr_w(&h->bus, ring(q, 1) + 2, 2);
		h->avail_idx[q] = (uint16_t)(a[0] | a[1] << 8);
	}
	if (!h->no_driver_ok)
		wr(h, VIRTIO_MMIO_STATUS, rd(h, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

static void check(struct harness *h)
{
	if ((rd(h, VIRTIO_MMIO_INTERRUPT_STATUS) != 0) != (h->level != 0))
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
		     (hdr[0] & 4 ? VIRTIO_NET_F_CSUM : 0) |
		     (hdr[0] & 16 ? VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_HOST_TSO6 |
				    VIRTIO_NET_F_HOST_ECN : 0) |
		     (hdr[0] & 32 ? VIRTIO_NET_F_MRG_RXBUF : 0) |
		     (hdr[0] & 64 ? VIRTIO_NET_F_GUEST_CSUM : 0);
	h.no_driver_ok = hdr[0] & 8;
	h.num = (uint16_t)(1u << (hdr[1] % 5));

	struct fbe be = { .be.ops = &fbe_ops };
	be.be.caps = hdr[0] & 128 ? NET_BE_CAP_LARGE | NET_BE_CAP_RX_CSUM_VALID : 0;
	if (hdr[2] & 1)
		be.be.caps = NET_BE_CAP_VNET_HDR;
	if (hdr[2] & 2)
		h.features |= VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4 |
			      VIRTIO_NET_F_GUEST_TSO6 | VIRTIO_NET_F_GUEST_ECN;
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	struct virtio_device *dev;
	struct err e;
	if (virtio_net_create(&be.be, mac, &dev, &e) < 0)
		abort();
	struct irq_line irq = { line_set, &h, 1 };
	if (virtio_mmio_create(&h.bus, MMIO, irq, dev, VIRTIO_MMIO_SYNC | VIRTIO_MMIO_ON_BUS, &h.t, &e) < 0)
		abort();
	bring_up(&h);
	check(&h);

	bool link = true;
	for (unsigned i = 0; i < 16; i++) {
		unsigned op = ops[i] & 7, arg = ops[i] >> 3;
		switch (op) {
		case 0:
		case 1:
			wr(&h, VIRTIO_MMIO_QUEUE_NOTIFY, op);
			break;
		case 2: {
			unsigned q = arg & 1;
			h.avail_idx[q] = (uint16_t)(h.avail_idx[q] + (arg >> 1) + 1);
			uint8_t *a = bus_guest_ptr_w(&h.bus, ring(q, 1) + 2, 2);
			a[0] = (uint8_t)h.avail_idx[q];
			a[1] = (uint8_t)(h.avail_idx[q] >> 8);
			wr(&h, VIRTIO_MMIO_QUEUE_NOTIFY, q);
			break;
		}
		case 3: {
			size_t len = arg * 53u < size ? arg * 53u : size;
			if (be.be.receive_vnet)
				be.be.receive_vnet(be.be.dev, data, len);
			else
				be.be.receive(be.be.dev, data, len);
			break;
		}
		case 4:
			be.fail = arg & 1;
			break;
		case 5:
			bring_up(&h);
			break;
		case 6:
			wr(&h, VIRTIO_MMIO_INTERRUPT_ACK, arg & 3);
			break;
		case 7: {
			uint64_t v;
			link = !link;
			virtio_net_set_link(dev, link);
			bus_load(&h.bus, MMIO + VIRTIO_MMIO_CONFIG + arg % 10, 1, &v);
			break;
		}
		}
		check(&h);
	}
	struct virtio_net_stats st;
	virtio_net_stats(dev, &st);
	virtio_mmio_destroy(h.t);
	bus_destroy(&h.bus);
	return 0;
}
