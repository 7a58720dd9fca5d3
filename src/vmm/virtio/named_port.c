/*
 * A virtio-console device with VIRTIO_CONSOLE_F_MULTIPORT (virtio 1.2,
 * 5.3.5-5.3.6) whose only port, port 0, is a named data port rather than a
 * console: Linux shows it as /dev/vportNp0 with
 * /sys/class/virtio-ports/vportNp0/name holding the name, which is how a
 * guest program finds its channel without guessing hvc numbers.  The guest
 * agent channel (guest_agent.h) rides on it as org.nimbus.agent.
 *
 * Queues (5.3.2): 0 port 0 receiveq (host to guest), 1 port 0 transmitq,
 * 2 control receiveq (device to driver), 3 control transmitq.  Config:
 * max_nr_ports = 1.
 *
 * Control handshake, as Linux's virtio_console drives it: the driver sends
 * DEVICE_READY; the device answers DEVICE_ADD for port 0; the driver sends
 * PORT_READY(0, 1); the device answers PORT_NAME(0, name) and PORT_OPEN(0, 1)
 * (the host end is always connected).  The driver sends PORT_OPEN(0, 1/0)
 * when a guest process opens or closes the port; only then does data flow
 * to the guest (Linux discards data for an unopened port anyway).
 *
 * Guest-controlled input: a control message shorter than its 8-byte header
 * is a protocol fault (NEEDS_RESET); messages for ports other than 0 and
 * unknown events are ignored.  Outgoing control messages wait in a ring of
 * CTRL_PENDING entries until the driver posts control receive buffers; the
 * handshake needs at most three at a time, so the ring cannot overflow
 * unless the guest repeats DEVICE_READY/PORT_READY without reading, and
 * then the newest is dropped (the guest only harms itself).
 *
 * Snapshot: struct named_port_state, versioned (docs/snapshot.md).
 */
#include "vmm/virtio/named_port.h"
#include "vmm/virtio/console.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_SIZE 64u
#define PORT_RXQ 0
#define PORT_TXQ 1
#define CTRL_RXQ 2
#define CTRL_TXQ 3
#define CONFIG_SIZE 12u         /* cols, rows, max_nr_ports, emerg_wr */
#define MAX_NR_PORTS_OFF 4u
#define CTRL_HDR 8u             /* le32 id, le16 event, le16 value */
#define CTRL_PENDING 8u
#define STATE_VERSION 1u

struct ctrl_msg {
	uint32_t id;
	uint16_t event, value;
};

/* Plain data: what a snapshot keeps. */
struct named_port_state {
	uint32_t version;
	uint8_t guest_open;
	uint8_t npending;
	uint8_t pad[2];
	struct ctrl_msg pending[CTRL_PENDING];
};

struct nport {
	struct virtio_device vdev;
	struct chardev *chr;
	named_port_open_fn *on_open;
	char name[NAMED_PORT_NAME_MAX];
	struct named_port_state st;
	struct vq_chain chain;          /* under vdev.lock */
};

static void set_open(struct nport *p, bool open)
{
	if ((p->st.guest_open != 0) == open)
		return;
	p->st.guest_open = open;
	if (p->on_open && p->chr)
		p->on_open(p->chr->host, open);
}

static void queue_ctrl(struct nport *p, uint32_t id, uint16_t event, uint16_t value)
{
	if (p->st.npending < CTRL_PENDING)
		p->st.pending[p->st.npending++] = (struct ctrl_msg){ id, event, value };
}

static void put_le(uint8_t *b, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

/* Moves pending control messages into posted control receive buffers. */
static void flush_ctrl(struct nport *p)
{
	struct virtio_device *d = &p->vdev;
	unsigned sent = 0;
	while (sent < p->st.npending) {
		if (vq_pop(&d->vq[CTRL_RXQ], &p->chain) != 1)
			break;
		const struct ctrl_msg *m = &p->st.pending[sent++];
		uint8_t buf[CTRL_HDR + NAMED_PORT_NAME_MAX];
		size_t n = CTRL_HDR;
		put_le(buf, m->id, 4);
		put_le(buf + 4, m->event, 2);
		put_le(buf + 6, m->value, 2);
		if (m->event == VIRTIO_CONSOLE_PORT_NAME) {
			/* The name follows the header, without a terminator (5.3.6.2). */
			size_t l = strlen(p->name);
			memcpy(buf + CTRL_HDR, p->name, l);
			n += l;
		}
		size_t w = vq_chain_write(&p->chain, 0, buf, n);
		vq_push(&d->vq[CTRL_RXQ], p->chain.head, (uint32_t)w);
	}
	if (sent) {
		memmove(p->st.pending, p->st.pending + sent,
			(p->st.npending - sent) * sizeof p->st.pending[0]);
		p->st.npending = (uint8_t)(p->st.npending - sent);
		virtio_device_signal(d, CTRL_RXQ);
	}
}

static void handle_ctrl(struct nport *p, const struct ctrl_msg *m)
{
	switch (m->event) {
	case VIRTIO_CONSOLE_DEVICE_READY:
		if (m->value == 1)
			queue_ctrl(p, 0, VIRTIO_CONSOLE_DEVICE_ADD, 0);
		break;
	case VIRTIO_CONSOLE_PORT_READY:
		if (m->id == 0 && m->value == 1) {
			queue_ctrl(p, 0, VIRTIO_CONSOLE_PORT_NAME, 0);
			queue_ctrl(p, 0, VIRTIO_CONSOLE_PORT_OPEN, 1);
		}
		break;
	case VIRTIO_CONSOLE_PORT_OPEN:
		if (m->id == 0)
			set_open(p, m->value != 0);
		break;
	default:
		break;   /* RESIZE etc. concern consoles, not this port */
	}
}

static void drain_ctrl_tx(struct nport *p)
{
	struct virtio_device *d = &p->vdev;
	for (unsigned done = 0;; done++) {
		if (done == QUEUE_SIZE) {
			virtio_device_requeue(d, CTRL_TXQ);
			break;
		}
		if (vq_pop(&d->vq[CTRL_TXQ], &p->chain) != 1)
			break;
		uint8_t hdr[CTRL_HDR];
		if (vq_chain_read(&p->chain, 0, hdr, sizeof hdr) != sizeof hdr) {
			virtio_device_fail(d, "%s: control message of %llu bytes, shorter than its "
					   "%u-byte header", d->ops->name,
					   (unsigned long long)p->chain.rlen, CTRL_HDR);
			return;
		}
		struct ctrl_msg m = {
			.id = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
			      (uint32_t)hdr[3] << 24,
			.event = (uint16_t)(hdr[4] | hdr[5] << 8),
			.value = (uint16_t)(hdr[6] | hdr[7] << 8),
		};
		vq_push(&d->vq[CTRL_TXQ], p->chain.head, 0);
		handle_ctrl(p, &m);
	}
	virtio_device_signal(d, CTRL_TXQ);
}

static void np_notify(struct virtio_device *d, unsigned q)
{
	struct nport *p = (struct nport *)d;
	if (q == PORT_TXQ)
		virtio_console_drain(d, PORT_TXQ, &p->chain, p->chr);
	else if (q == CTRL_TXQ)
		drain_ctrl_tx(p);
	if (q == CTRL_TXQ || q == CTRL_RXQ)
		flush_ctrl(p);
	/* PORT_RXQ: new receive buffers; input is pushed by np_receive. */
}

static size_t np_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct nport *p = opaque;
	struct virtio_device *d = &p->vdev;
	size_t done = 0;
	pthread_mutex_lock(&d->lock);
	if (d->quiesced) {   /* paused: the host retries */
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	if (!virtio_device_live(d) || !p->st.guest_open || !d->vq[PORT_RXQ].s.ready ||
	    d->vq[PORT_RXQ].s.broken) {
		pthread_mutex_unlock(&d->lock);
		return len;   /* nobody listening: dropped, as Linux would */
	}
	done = virtio_console_fill(d, PORT_RXQ, &p->chain, buf, len);
	pthread_mutex_unlock(&d->lock);
	return done;
}

static void np_config_read(struct virtio_device *d, uint32_t off, void *buf, unsigned len)
{
	(void)d;
	uint8_t cfg[CONFIG_SIZE] = {0};
	put_le(cfg + MAX_NR_PORTS_OFF, 1, 4);
	memcpy(buf, cfg + off, len);   /* off + len <= CONFIG_SIZE (virtio.h) */
}

static void np_config_write(struct virtio_device *d, uint32_t off, const void *buf, unsigned len)
{
	(void)d, (void)off, (void)buf, (void)len;   /* emerg_wr is not offered */
}

static void np_reset(struct virtio_device *d)
{
	struct nport *p = (struct nport *)d;
	set_open(p, false);
	p->st.npending = 0;
}

static void np_save(struct virtio_device *d, void *state)
{
	struct nport *p = (struct nport *)d;
	p->st.version = STATE_VERSION;
	memcpy(state, &p->st, sizeof p->st);
}

static int np_load(struct virtio_device *d, const void *state)
{
	struct nport *p = (struct nport *)d;
	struct named_port_state s;
	memcpy(&s, state, sizeof s);
	if (s.version != STATE_VERSION || s.guest_open > 1 || s.npending > CTRL_PENDING)
		return -EINVAL;
	for (unsigned i = 0; i < s.npending; i++)
		if (s.pending[i].id != 0 || s.pending[i].event > VIRTIO_CONSOLE_PORT_NAME)
			return -EINVAL;
	bool open = s.guest_open;
	s.guest_open = p->st.guest_open;
	p->st = s;
	set_open(p, open);
	return 0;
}

/* The host can take output again: drain the port's transmitq on the I/O thread. */
static void np_resume(void *opaque)
{
	struct nport *p = opaque;
	pthread_mutex_lock(&p->vdev.lock);
	virtio_device_requeue(&p->vdev, PORT_TXQ);
	pthread_mutex_unlock(&p->vdev.lock);
}

static void np_destroy(struct virtio_device *d)
{
	struct nport *p = (struct nport *)d;
	if (p->chr) {
		p->chr->receive = NULL;
		p->chr->resume = NULL;
		p->chr->dev = NULL;
	}
	virtio_device_fini(d);
	free(p);
}

static const struct virtio_device_ops np_ops = {
	.name = "virtio-console",
	.own_thread = true,
	.device_id = VIRTIO_ID_CONSOLE,
	.num_queues = 4,
	.queue_max = QUEUE_SIZE,
	.config_size = CONFIG_SIZE,
	.config_read = np_config_read,
	.config_write = np_config_write,
	.notify = np_notify,
	.reset = np_reset,
	.destroy = np_destroy,
	.state_size = sizeof(struct named_port_state),
	.save = np_save,
	.load = np_load,
};

int virtio_named_port_create(const char *name, struct chardev *chr, named_port_open_fn *on_open,
			     struct virtio_device **out, struct err *err)
{
	*out = NULL;
	size_t l = name ? strlen(name) : 0;
	if (l == 0 || l >= NAMED_PORT_NAME_MAX)
		return err_set(err, -EINVAL, "virtio-console: port name of %zu bytes (1 to %d)", l,
			       NAMED_PORT_NAME_MAX - 1);
	for (size_t i = 0; i < l; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return err_set(err, -EINVAL, "virtio-console: port name: byte %zu is not "
				       "printable", i);
	struct nport *p = calloc(1, sizeof *p);
	if (!p)
		return err_set(err, -ENOMEM, "virtio-console: out of memory");
	virtio_device_init(&p->vdev, &np_ops, VIRTIO_CONSOLE_F_MULTIPORT);
	memcpy(p->name, name, l + 1);
	p->chr = chr;
	p->on_open = on_open;
	if (chr) {
		chr->dev = p;
		chr->receive = np_receive;
		chr->resume = np_resume;
	}
	*out = &p->vdev;
	return 0;
}

bool virtio_named_port_guest_open(struct virtio_device *d)
{
	struct nport *p = (struct nport *)d;
	pthread_mutex_lock(&d->lock);
	bool open = p->st.guest_open;
	pthread_mutex_unlock(&d->lock);
	return open;
}
