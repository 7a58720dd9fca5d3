/* Unit tests of virtio-console: guest output reaches the chardev, and waits
 * in the guest's queue while the host cannot take it; host input fills
 * receive buffers with back-pressure when none is posted, input before the
 * driver is up is dropped, and the emergency write register. */
#include "vmm/virtio/console.h"

#include <stdatomic.h>

#include "lib/testing.h"
#include "vmm/virtio/testdrv.h"

#define FEAT (VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX)

struct sink {
	struct chardev chr;
	char out[256];
	size_t n;
	atomic_bool full;              /* the host cannot take output now */
};

static void sink_write(void *host, const uint8_t *buf, size_t len)
{
	struct sink *s = host;
	for (size_t i = 0; i < len && s->n < sizeof s->out - 1; i++)
		s->out[s->n++] = (char)buf[i];
}

static bool sink_writable(void *host)
{
	return !atomic_load(&((struct sink *)host)->full);
}

static int start_with(struct td *d, struct sink *s, bool driver_ok, unsigned flags)
{
	memset(s, 0, sizeof *s);
	s->chr.write = sink_write;
	s->chr.writable = sink_writable;
	s->chr.host = s;
	struct virtio_device *dev;
	struct err e;
	if (virtio_console_create(&s->chr, &dev, &e) < 0)
		return -1;
	if (td_open(d, dev, flags) < 0)
		return -2;
	if (!(td_negotiate(d, FEAT | VIRTIO_CONSOLE_F_EMERG_WRITE) & VIRTIO_STATUS_FEATURES_OK))
		return -3;
	if (td_queue(d, 0, 8) != 1 || td_queue(d, 1, 8) != 1)
		return -4;
	if (driver_ok)
		td_driver_ok(d);
	return 0;
}

static int start(struct td *d, struct sink *s, bool driver_ok)
{
	return start_with(d, s, driver_ok, VIRTIO_MMIO_SYNC);
}

TEST(console_transmit)
{
	struct td d;
	struct sink s;
	EXPECT_EQ(start(&d, &s, true), 0);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_CONSOLE);
	memcpy(td_host(&d, TD_DATA), "hello, ", 7);
	memcpy(td_host(&d, TD_DATA + 0x100), "world\n", 6);
	td_desc(&d, 1, 0, TD_DATA, 7, VIRTQ_DESC_F_NEXT, 1);
	td_desc(&d, 1, 1, TD_DATA + 0x100, 6, 0, 0);
	td_post(&d, 1, 0);
	td_kick(&d, 1);
	EXPECT(strcmp(s.out, "hello, world\n") == 0);
	uint32_t id, len;
	td_used_elem(&d, 1, 0, &id, &len);
	EXPECT_EQ(len, 0);
	EXPECT_EQ(td_used_idx(&d, 1), 1);
	td_close(&d);
}

TEST(console_output_waits_in_the_guest_queue_while_the_host_is_full)
{
	struct td d;
	struct sink s;
	EXPECT_EQ(start_with(&d, &s, true, 0), 0);   /* an I/O thread, as in a VM */
	atomic_store(&s.full, true);
	memcpy(td_host(&d, TD_DATA), "held", 4);
	td_desc(&d, 1, 0, TD_DATA, 4, 0, 0);
	td_post(&d, 1, 0);
	td_kick(&d, 1);
	/* Neither taken nor dropped: the chain stays with the guest. */
	EXPECT(td_wait_used(&d, 1, 1, 50) < 0);
	EXPECT_EQ(s.n, 0);
	atomic_store(&s.full, false);
	s.chr.resume(s.chr.dev);   /* no new kick: resume alone restarts it */
	EXPECT_EQ(td_wait_used(&d, 1, 1, 2000), 0);
	EXPECT(strcmp(s.out, "held") == 0);
	td_close(&d);
	EXPECT(s.chr.resume == NULL);
}

TEST(console_receive_with_backpressure)
{
	struct td d;
	struct sink s;
	EXPECT_EQ(start(&d, &s, true), 0);
	/* No receive buffer yet: nothing accepted, the host retries. */
	EXPECT_EQ(s.chr.receive(s.chr.dev, (const uint8_t *)"abcdef", 6), 0);
	td_desc(&d, 0, 0, TD_DATA, 4, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	EXPECT_EQ(s.chr.receive(s.chr.dev, (const uint8_t *)"abcdef", 6), 4);
	EXPECT(memcmp(td_host(&d, TD_DATA), "abcd", 4) == 0);
	uint32_t id, len;
	td_used_elem(&d, 0, 0, &id, &len);
	EXPECT_EQ(len, 4);
	EXPECT_EQ(atomic_load(&d.level), 1);
	td_desc(&d, 0, 1, TD_DATA + 0x100, 64, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, 0, 1);
	EXPECT_EQ(s.chr.receive(s.chr.dev, (const uint8_t *)"ef", 2), 2);
	EXPECT(memcmp(td_host(&d, TD_DATA + 0x100), "ef", 2) == 0);
	td_used_elem(&d, 0, 1, &id, &len);
	EXPECT_EQ(id, 1);
	EXPECT_EQ(len, 2);
	td_close(&d);
}

TEST(console_drops_input_before_driver_ok)
{
	struct td d;
	struct sink s;
	EXPECT_EQ(start(&d, &s, false), 0);
	td_desc(&d, 0, 0, TD_DATA, 4, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, 0, 0);
	EXPECT_EQ(s.chr.receive(s.chr.dev, (const uint8_t *)"xyz", 3), 3);
	EXPECT_EQ(td_used_idx(&d, 0), 0);
	td_driver_ok(&d);
	EXPECT_EQ(s.chr.receive(s.chr.dev, (const uint8_t *)"xyz", 3), 3);
	EXPECT_EQ(td_used_idx(&d, 0), 1);
	td_close(&d);
}

TEST(console_emergency_write)
{
	struct td d;
	struct sink s;
	EXPECT_EQ(start(&d, &s, true), 0);
	EXPECT(td_device_features(&d) & VIRTIO_CONSOLE_F_EMERG_WRITE);
	td_wr(&d, VIRTIO_MMIO_CONFIG + 8, '!');
	bus_store(&d.bus, TD_MMIO + VIRTIO_MMIO_CONFIG + 8, 1, '?');
	EXPECT(strcmp(s.out, "!?") == 0);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_CONFIG + 4), 0);   /* max_nr_ports: no MULTIPORT */
	td_close(&d);
	/* Destroying the device detached it from the chardev. */
	EXPECT(s.chr.receive == NULL);
}
