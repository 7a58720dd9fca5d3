/*
 * virtio-rng (virtio 1.2, 5.4): one request queue; the driver posts
 * device-writable buffers and the device fills them from the host's
 * getrandom().  5.4.6.1 lets the device write fewer bytes than offered, so a
 * request gets at most VIRTIO_RNG_MAX_FILL bytes: a guest asking for a huge
 * buffer cannot keep the I/O thread busy.  Readable buffers are ignored.
 */
#include "vmm/virtio/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "vmm/bus.h"

#define QUEUE_SIZE 64u

struct vrng {
	struct virtio_device vdev;
	struct vq_chain chain;
};

static void fill(uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			abort();   /* getrandom cannot fail for a valid buffer after boot */
		}
		p += n;
		len -= (size_t)n;
	}
}

static void rng_notify(struct virtio_device *d, unsigned q)
{
	struct vrng *r = (struct vrng *)d;
	struct vq_chain *c = &r->chain;
	for (unsigned done = 0;; done++) {
		if (done == QUEUE_SIZE) {
			virtio_device_requeue(d, q);
			break;
		}
		if (vq_pop(&d->vq[q], c) != 1)
			break;
		uint64_t left = VIRTIO_RNG_MAX_FILL, written = 0;
		for (unsigned i = c->nr; i < c->nr + c->nw && left; i++) {
			uint64_t n = c->seg[i].len < left ? c->seg[i].len : left;
			fill(c->seg[i].host, n);
			bus_note_write(c->bus, c->seg[i].gpa, n);
			written += n;
			left -= n;
		}
		vq_push(&d->vq[q], c->head, (uint32_t)written);
	}
	virtio_device_signal(d, q);
}

static void rng_destroy(struct virtio_device *d)
{
	virtio_device_fini(d);
	free(d);
}

static const struct virtio_device_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.num_queues = 1,
	.queue_max = QUEUE_SIZE,
	.notify = rng_notify,
	.destroy = rng_destroy,
};

int virtio_rng_create(struct virtio_device **out, struct err *err)
{
	struct vrng *r = calloc(1, sizeof *r);
	*out = NULL;
	if (!r)
		return err_set(err, -ENOMEM, "virtio-rng: out of memory");
	virtio_device_init(&r->vdev, &rng_ops, 0);
	*out = &r->vdev;
	return 0;
}
