/* Unit tests of the MULTIPORT virtio-console with one named port: the
 * control handshake Linux drives, data only to an opened port, hostile
 * control messages, reset and snapshot state. */
#include "vmm/virtio/named_port.h"
#include "vmm/virtio/console.h"

#include <errno.h>

#include "lib/testing.h"
#include "vmm/virtio/testdrv.h"

#define FEAT (VIRTIO_F_VERSION_1 | VIRTIO_CONSOLE_F_MULTIPORT)
#define CTRL_OUT (TD_DATA + 0x1000)   /* driver -> device control messages */
#define CTRL_IN  (TD_DATA + 0x2000)   /* device -> driver, 0x100 per buffer */

struct host {
	struct chardev chr;
	char out[256];
	size_t n;
	int opens, closes;
};

static void host_write(void *h, const uint8_t *buf, size_t len)
{
	struct host *s = h;
	for (size_t i = 0; i < len && s->n < sizeof s->out - 1; i++)
		s->out[s->n++] = (char)buf[i];
}

static void host_open(void *h, bool open)
{
	struct host *s = h;
	if (open)
		s->opens++;
	else
		s->closes++;
}

static struct virtio_device *start(struct td *d, struct host *s)
{
	memset(s, 0, sizeof *s);
	s->chr.write = host_write;
	s->chr.host = s;
	struct virtio_device *dev;
	struct err e;
	if (virtio_named_port_create("org.nimbus.agent", &s->chr, host_open, &dev, &e) < 0)
		return NULL;
	if (td_start(d, dev, VIRTIO_MMIO_SYNC, FEAT, 4, 8) < 0)
		return NULL;
	return dev;
}


/* The driver sends one control message on queue 3 (descriptor slot i). */
static void send_ctrl(struct td *d, unsigned i, uint32_t id, uint16_t ev, uint16_t val)
{
	uint8_t *p = td_host(d, CTRL_OUT + 16 * i);
	memcpy(p, &id, 4);
	memcpy(p + 4, &ev, 2);
	memcpy(p + 6, &val, 2);
	td_desc(d, 3, i, CTRL_OUT + 16 * i, 8, 0, 0);
	td_post(d, 3, (uint16_t)i);
	td_kick(d, 3);
}

/* Posts n control receive buffers (descriptors i..i+n) on queue 2. */
static void post_ctrl_bufs(struct td *d, unsigned i, unsigned n)
{
	for (unsigned k = i; k < i + n; k++) {
		td_desc(d, 2, k, CTRL_IN + 0x100 * k, 0x100, VIRTQ_DESC_F_WRITE, 0);
		td_post(d, 2, (uint16_t)k);
	}
	td_kick(d, 2);
}

/* The k-th used control message the device sent: event, value, its length. */
static uint16_t got_ctrl(struct td *d, unsigned k, uint16_t *value, uint32_t *len)
{
	uint32_t id;
	td_used_elem(d, 2, (uint16_t)k, &id, len);
	uint8_t *p = td_host(d, CTRL_IN + 0x100 * id);
	uint16_t ev;
	memcpy(&ev, p + 4, 2);
	memcpy(value, p + 6, 2);
	return ev;
}

/* Runs the handshake up to the port being open in the guest. */
static void handshake(struct td *d)
{
	post_ctrl_bufs(d, 0, 4);
	send_ctrl(d, 0, 0xffffffffu, VIRTIO_CONSOLE_DEVICE_READY, 1);
	send_ctrl(d, 1, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	send_ctrl(d, 2, 0, VIRTIO_CONSOLE_PORT_OPEN, 1);
}

TEST(named_port_offers_multiport_with_one_port)
{
	struct td d;
	struct host s;
	EXPECT(start(&d, &s) != NULL);
	EXPECT(td_device_features(&d) & VIRTIO_CONSOLE_F_MULTIPORT);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_CONFIG + 4), 1);
	td_close(&d);
}

TEST(named_port_handshake_adds_names_and_opens_port_0)
{
	struct td d;
	struct host s;
	struct virtio_device *dev = start(&d, &s);
	EXPECT(dev != NULL);
	handshake(&d);
	EXPECT_EQ(td_used_idx(&d, 2), 3);
	uint16_t v;
	uint32_t len;
	EXPECT_EQ(got_ctrl(&d, 0, &v, &len), VIRTIO_CONSOLE_DEVICE_ADD);
	EXPECT_EQ(len, 8);
	EXPECT_EQ(got_ctrl(&d, 1, &v, &len), VIRTIO_CONSOLE_PORT_NAME);
	EXPECT_EQ(len, 8 + strlen("org.nimbus.agent"));
	uint32_t id;
	td_used_elem(&d, 2, 1, &id, &len);
	EXPECT(memcmp(td_host(&d, CTRL_IN + 0x100 * id + 8), "org.nimbus.agent", 16) == 0);
	EXPECT_EQ(got_ctrl(&d, 2, &v, &len), VIRTIO_CONSOLE_PORT_OPEN);
	EXPECT_EQ(v, 1);
	EXPECT_EQ(s.opens, 1);
	EXPECT(virtio_named_port_guest_open(dev));
	td_close(&d);
}

TEST(named_port_holds_control_messages_until_buffers_are_posted)
{
	struct td d;
	struct host s;
	EXPECT(start(&d, &s) != NULL);
	send_ctrl(&d, 0, 0xffffffffu, VIRTIO_CONSOLE_DEVICE_READY, 1);
	EXPECT_EQ(td_used_idx(&d, 2), 0);
	post_ctrl_bufs(&d, 0, 1);
	EXPECT_EQ(td_used_idx(&d, 2), 1);
	uint16_t v;
	uint32_t len;
	EXPECT_EQ(got_ctrl(&d, 0, &v, &len), VIRTIO_CONSOLE_DEVICE_ADD);
	td_close(&d);
}

TEST(named_port_drops_input_until_the_guest_opens_it)
{
	struct td d;
	struct host s;
	EXPECT(start(&d, &s) != NULL);
	td_desc(&d, 0, 0, TD_DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, 0, 0);
	EXPECT_EQ(s.chr.receive(s.chr.dev, (const uint8_t *)"ping\n", 5), 5);
	EXPECT_EQ(td_used_idx(&d, 0), 0);
	handshake(&d);
	EXPECT_EQ(s.chr.receive(s.chr.dev, (const uint8_t *)"ping\n", 5), 5);
	EXPECT_EQ(td_used_idx(&d, 0), 1);
	EXPECT(memcmp(td_host(&d, TD_DATA), "ping\n", 5) == 0);
	/* No buffer left: back-pressure, the host retries. */
	EXPECT_EQ(s.chr.receive(s.chr.dev, (const uint8_t *)"more", 4), 0);
	td_close(&d);
}

TEST(named_port_guest_output_reaches_the_host)
{
	struct td d;
	struct host s;
	EXPECT(start(&d, &s) != NULL);
	handshake(&d);
	memcpy(td_host(&d, TD_DATA), "hello\n", 6);
	td_desc(&d, 1, 0, TD_DATA, 6, 0, 0);
	td_post(&d, 1, 0);
	td_kick(&d, 1);
	EXPECT(strcmp(s.out, "hello\n") == 0);
	td_close(&d);
}

TEST(named_port_short_control_message_is_a_fault)
{
	struct td d;
	struct host s;
	EXPECT(start(&d, &s) != NULL);
	td_desc(&d, 3, 0, CTRL_OUT, 5, 0, 0);
	td_post(&d, 3, 0);
	td_kick(&d, 3);
	EXPECT(td_rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	td_close(&d);
}

TEST(named_port_ignores_other_ports_and_unknown_events)
{
	struct td d;
	struct host s;
	struct virtio_device *dev = start(&d, &s);
	EXPECT(dev != NULL);
	post_ctrl_bufs(&d, 0, 4);
	send_ctrl(&d, 0, 7, VIRTIO_CONSOLE_PORT_OPEN, 1);
	send_ctrl(&d, 1, 7, VIRTIO_CONSOLE_PORT_READY, 1);
	send_ctrl(&d, 2, 0, 0x7777, 1);
	EXPECT_EQ(td_used_idx(&d, 2), 0);
	EXPECT(!virtio_named_port_guest_open(dev));
	EXPECT(!(td_rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	td_close(&d);
}

TEST(named_port_repeated_handshakes_cannot_overflow_the_pending_ring)
{
	struct td d;
	struct host s;
	EXPECT(start(&d, &s) != NULL);
	for (unsigned i = 0; i < 8; i++)
		send_ctrl(&d, i, 0, VIRTIO_CONSOLE_PORT_READY, 1);   /* 16 messages asked */
	post_ctrl_bufs(&d, 0, 8);
	EXPECT_EQ(td_used_idx(&d, 2), 8);                        /* 8 kept, rest dropped */
	td_close(&d);
}

TEST(named_port_reset_tells_the_host_the_port_closed)
{
	struct td d;
	struct host s;
	struct virtio_device *dev = start(&d, &s);
	EXPECT(dev != NULL);
	handshake(&d);
	td_wr(&d, VIRTIO_MMIO_STATUS, 0);
	EXPECT_EQ(s.closes, 1);
	EXPECT(!virtio_named_port_guest_open(dev));
	td_close(&d);
}

TEST(named_port_snapshot_state_round_trips_and_bad_state_is_refused)
{
	struct td d;
	struct host s;
	struct virtio_device *dev = start(&d, &s);
	EXPECT(dev != NULL);
	handshake(&d);
	uint8_t st[256];
	EXPECT(dev->ops->state_size <= sizeof st);
	dev->ops->save(dev, st);
	td_wr(&d, VIRTIO_MMIO_STATUS, 0);
	EXPECT(!virtio_named_port_guest_open(dev));
	EXPECT_EQ(dev->ops->load(dev, st), 0);
	EXPECT(virtio_named_port_guest_open(dev));
	uint8_t bad[256];
	memcpy(bad, st, sizeof bad);
	bad[0] = 99;   /* layout version */
	EXPECT_EQ(dev->ops->load(dev, bad), -EINVAL);
	memcpy(bad, st, sizeof bad);
	bad[5] = 200;  /* npending */
	EXPECT_EQ(dev->ops->load(dev, bad), -EINVAL);
	td_close(&d);
}

TEST(named_port_refuses_bad_names)
{
	struct virtio_device *dev;
	struct err e;
	EXPECT_EQ(virtio_named_port_create("", NULL, NULL, &dev, &e), -EINVAL);
	EXPECT_EQ(virtio_named_port_create("a b", NULL, NULL, &dev, &e), -EINVAL);
	char longname[100];
	memset(longname, 'x', sizeof longname - 1);
	longname[99] = 0;
	EXPECT_EQ(virtio_named_port_create(longname, NULL, NULL, &dev, &e), -EINVAL);
}
