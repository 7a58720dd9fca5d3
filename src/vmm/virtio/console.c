/*
 * virtio-console (virtio 1.2, 5.3) with a single port and no MULTIPORT:
 * queue 0 is port 0's receiveq (host to guest), queue 1 its transmitq.
 *
 * Guest output: transmitq chains are written to the chardev on the I/O
 * thread, readable bytes only, used length 0.  Host input: the chardev's
 * receive hook (any host thread) takes the device lock, copies into posted
 * receive buffers and returns how much fitted; with no buffer posted it
 * accepts fewer bytes and the host side retries (chardev.h).  Before the
 * driver is up (or after a fault) input is dropped rather than held, so a
 * guest without a console driver cannot stall the host's input thread.
 * A host that cannot take output (chr->writable false) leaves it in the
 * transmitq, so the guest's writers wait, until it calls chr->resume.
 * EMERG_WRITE is offered: a config-space write to emerg_wr prints one byte.
 */
#include "vmm/virtio/console.h"

#include <errno.h>
#include <stdlib.h>

#define QUEUE_SIZE 128u
#define RXQ 0
#define TXQ 1
#define CONFIG_SIZE 12u         /* cols, rows, max_nr_ports, emerg_wr */
#define EMERG_WR_OFF 8u

struct vcons {
	struct virtio_device vdev;
	struct chardev *chr;
	struct vq_chain chain;      /* used under vdev.lock by rx and tx alike */
};

static void emit(struct vcons *c, const uint8_t *p, size_t n)
{
	if (c->chr && c->chr->write && n)
		c->chr->write(c->chr->host, p, n);
}

static void cons_config_read(struct virtio_device *d, uint32_t off, void *buf, unsigned len)
{
	(void)d;
	(void)off;
	/* cols/rows need F_SIZE, max_nr_ports MULTIPORT; emerg_wr is write-only. */
	for (unsigned i = 0; i < len; i++)
		((uint8_t *)buf)[i] = 0;
}

static void cons_config_write(struct virtio_device *d, uint32_t off, const void *buf, unsigned len)
{
	if (off == EMERG_WR_OFF && len >= 1)
		emit((struct vcons *)d, buf, 1);
}

static void cons_notify(struct virtio_device *d, unsigned q)
{
	struct vcons *c = (struct vcons *)d;
	if (q != TXQ)
		return;   /* new receive buffers: input is pushed by cons_receive */
	virtio_console_drain(d, q, &c->chain, c->chr);
}

void virtio_console_drain(struct virtio_device *d, unsigned q, struct vq_chain *chain,
			  struct chardev *chr)
{
	for (unsigned done = 0;; done++) {
		if (done == QUEUE_SIZE) {
			virtio_device_requeue(d, q);
			break;
		}
		/* The host cannot take more: the rest waits in the guest's queue
		 * until chr->resume asks for another pass. */
		if (chr && chr->writable && !chr->writable(chr->host))
			break;
		if (vq_pop(&d->vq[q], chain) != 1)
			break;
		for (unsigned i = 0; i < chain->nr; i++)
			if (chr && chr->write && chain->seg[i].len)
				chr->write(chr->host, chain->seg[i].host, chain->seg[i].len);
		vq_push(&d->vq[q], chain->head, 0);
	}
	virtio_device_signal(d, q);
}

static size_t cons_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct vcons *c = opaque;
	struct virtio_device *d = &c->vdev;
	size_t done = 0;
	pthread_mutex_lock(&d->lock);
	if (d->quiesced) {   /* paused: the host retries, as with no buffer */
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	if (!virtio_device_live(d) || !d->vq[RXQ].s.ready || d->vq[RXQ].s.broken) {
		pthread_mutex_unlock(&d->lock);
		return len;   /* nobody listening: drop */
	}
	done = virtio_console_fill(d, RXQ, &c->chain, buf, len);
	pthread_mutex_unlock(&d->lock);
	return done;
}

size_t virtio_console_fill(struct virtio_device *d, unsigned q, struct vq_chain *chain,
			   const uint8_t *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		int r = vq_pop(&d->vq[q], chain);
		if (r < 0) {
			done = len;   /* the queue just broke: drop the rest */
			break;
		}
		if (r == 0)
			break;    /* no buffer: the host retries */
		size_t n = vq_chain_write(chain, 0, buf + done, len - done);
		vq_push(&d->vq[q], chain->head, (uint32_t)n);
		done += n;
	}
	virtio_device_signal(d, q);
	return done;
}

static void cons_resume(void *opaque)
{
	struct vcons *c = opaque;
	pthread_mutex_lock(&c->vdev.lock);
	virtio_device_requeue(&c->vdev, TXQ);
	pthread_mutex_unlock(&c->vdev.lock);
}

static void cons_destroy(struct virtio_device *d)
{
	struct vcons *c = (struct vcons *)d;
	if (c->chr) {
		c->chr->receive = NULL;
		c->chr->resume = NULL;
		c->chr->dev = NULL;
	}
	virtio_device_fini(d);
	free(c);
}

static const struct virtio_device_ops cons_ops = {
	.name = "virtio-console",
	.own_thread = true,
	.device_id = VIRTIO_ID_CONSOLE,
	.num_queues = 2,
	.queue_max = QUEUE_SIZE,
	.config_size = CONFIG_SIZE,
	.config_read = cons_config_read,
	.config_write = cons_config_write,
	.notify = cons_notify,
	.destroy = cons_destroy,
};

int virtio_console_create(struct chardev *chr, struct virtio_device **out, struct err *err)
{
	struct vcons *c = calloc(1, sizeof *c);
	*out = NULL;
	if (!c)
		return err_set(err, -ENOMEM, "virtio-console: out of memory");
	virtio_device_init(&c->vdev, &cons_ops, VIRTIO_CONSOLE_F_EMERG_WRITE);
	c->chr = chr;
	if (chr) {
		chr->dev = c;
		chr->receive = cons_receive;
		chr->resume = cons_resume;
	}
	*out = &c->vdev;
	return 0;
}
