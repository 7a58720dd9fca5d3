/*
 * virtio-net (virtio 1.2, 5.1) with one receive/transmit queue pair
 * (receiveq1 = queue 0, transmitq1 = queue 1; no MQ, no control queue)
 * over a struct net_backend (net_backend.h).
 *
 * Every buffer starts with the 12-byte struct virtio_net_hdr of VERSION_1
 * (5.1.6): {u8 flags; u8 gso_type; le16 hdr_len, gso_size, csum_start,
 * csum_offset, num_buffers}.
 *
 * Transmit (I/O thread, dev->lock held): the frame is the readable part
 * after the header, handed to the backend as iovecs over guest memory
 * (nothing is copied) unless the driver asked for a checksum
 * (VIRTIO_NET_F_CSUM, flags & NEEDS_CSUM): then it is copied into a bounce
 * buffer and the device sums [csum_start, end) into csum_start +
 * csum_offset (5.1.6.2), so backends never see partial checksums.  No GSO
 * feature is offered, so a gso_type other than NONE, an oversized frame or
 * checksum offsets outside the frame drop the frame (counted), as does a
 * full backend.  A chain with device-writable buffers or shorter than the
 * header breaks the device (NEEDS_RESET): the driver broke 5.1.6.2.
 *
 * Receive (backend thread, takes dev->lock): one frame per buffer (no
 * MRG_RXBUF), header with flags 0, GSO_NONE, num_buffers 1 (5.1.6.4).  No
 * buffer posted: the frame stays with the backend (back-pressure) until
 * the driver kicks the receive queue, which calls be->ops->rx_ready.  A
 * frame larger than the posted buffer is dropped and the buffer goes back
 * to the ring unused (the driver violated the 1526-byte minimum of
 * 5.1.6.3.1, or the host sent a jumbo frame).  A receive chain with
 * device-readable buffers or no room for the header breaks the device.
 * Before DRIVER_OK and after a fault frames are dropped, so a guest without
 * a driver cannot stall the backend.
 *
 * Config space (5.1.4): mac, status (LINK_UP unless the host set the link
 * down), max_virtqueue_pairs = 1.  The driver cannot change the MAC: with
 * VERSION_1 that needs the control queue, which is not offered.
 */
#include "vmm/virtio/net.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_SIZE 256u
#define CONFIG_SIZE 10u              /* mac[6], status, max_virtqueue_pairs */
#define OFFERED (VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_CSUM)

struct vnet {
	struct virtio_device vdev;
	struct net_backend *be;
	uint8_t mac[6];
	uint16_t status;
	struct virtio_net_stats st;
	/* Under vdev.lock: */
	struct vq_chain txc, rxc;
	struct iovec iov[VQ_MAX_SEGS];
	uint8_t bounce[NET_MAX_FRAME];
};

static struct vnet *to_net(struct virtio_device *d) { return (struct vnet *)d; }

static uint16_t ld16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return le16toh(v);
}

int virtio_net_complete_csum(uint8_t *frame, size_t len, unsigned start, unsigned off)
{
	if (start > len || off > len - start || len - start - off < 2)
		return -1;
	uint64_t sum = 0;
	size_t i = start;
	for (; i + 1 < len; i += 2)
		sum += (uint32_t)frame[i] << 8 | frame[i + 1];
	if (i < len)
		sum += (uint32_t)frame[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	uint16_t c = (uint16_t)~sum;
	if (c == 0)
		c = 0xffff;   /* same value in one's complement; UDP reserves 0 for "none" */
	frame[start + off] = (uint8_t)(c >> 8);
	frame[start + off + 1] = (uint8_t)c;
	return 0;
}

static void net_config_read(struct virtio_device *d, uint32_t off, void *buf, unsigned len)
{
	struct vnet *n = to_net(d);
	uint8_t c[CONFIG_SIZE];
	memcpy(c, n->mac, 6);
	uint16_t s = htole16(n->status), pairs = htole16(1);
	memcpy(c + 6, &s, 2);
	memcpy(c + 8, &pairs, 2);
	memcpy(buf, c + off, len);
}

static void net_config_write(struct virtio_device *d, uint32_t off, const void *buf, unsigned len)
{
	/* Read-only for a VERSION_1 driver (5.1.4.2). */
	(void)d;
	(void)off;
	(void)buf;
	(void)len;
}

/* One transmit chain; false if it broke the device. */
static bool tx_one(struct vnet *n, struct vq_chain *c)
{
	struct virtio_device *d = &n->vdev;
	if (c->nw)
		return virtio_device_fail(d, "transmit chain has device-writable buffers"), false;
	if (c->rlen < VIRTIO_NET_HDR_BYTES)
		return virtio_device_fail(d, "transmit chain of %llu bytes is shorter than the "
					  "%u-byte header", (unsigned long long)c->rlen,
					  VIRTIO_NET_HDR_BYTES), false;
	uint8_t h[VIRTIO_NET_HDR_BYTES];
	vq_chain_read(c, 0, h, sizeof h);
	uint64_t len = c->rlen - VIRTIO_NET_HDR_BYTES;
	int rc = -EINVAL;
	if (h[1] != VIRTIO_NET_HDR_GSO_NONE || len > NET_MAX_FRAME) {
		/* dropped below */
	} else if (h[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		vq_chain_read(c, VIRTIO_NET_HDR_BYTES, n->bounce, len);
		if (virtio_net_complete_csum(n->bounce, len, ld16(h + 6), ld16(h + 8)) == 0) {
			struct iovec v = { n->bounce, len };
			rc = n->be->ops->send(n->be, &v, 1);
		}
	} else {
		int cnt = vq_chain_iov(c, false, VIRTIO_NET_HDR_BYTES, len, n->iov, VQ_MAX_SEGS);
		if (cnt >= 0)
			rc = n->be->ops->send(n->be, n->iov, cnt);
	}
	if (rc == 0) {
		n->st.tx_frames++;
		n->st.tx_bytes += len;
	} else {
		n->st.tx_dropped++;
	}
	return true;
}

static void net_notify(struct virtio_device *d, unsigned q)
{
	struct vnet *n = to_net(d);
	if (q == VIRTIO_NET_RXQ) {
		n->be->ops->rx_ready(n->be);
		return;
	}
	if (q != VIRTIO_NET_TXQ)
		return;
	for (unsigned done = 0;; done++) {
		if (done == QUEUE_SIZE) {
			virtio_device_requeue(d, q);
			break;
		}
		if (vq_pop(&d->vq[q], &n->txc) != 1)
			break;
		if (!tx_one(n, &n->txc))
			return;
		vq_push(&d->vq[q], n->txc.head, 0);
	}
	virtio_device_signal(d, q);
}

static int net_receive(void *opaque, const uint8_t *frame, size_t len)
{
	struct vnet *n = opaque;
	struct virtio_device *d = &n->vdev;
	struct virtq *vq = &d->vq[VIRTIO_NET_RXQ];
	pthread_mutex_lock(&d->lock);
	int taken = 1;
	if (d->quiesced) {   /* paused: held by the backend until resume's rx_ready */
		taken = 0;
		goto out;
	}
	if (!virtio_device_live(d) || !vq->s.ready || vq->s.broken || len > NET_MAX_FRAME) {
		n->st.rx_dropped++;
		goto out;
	}
	int r = vq_pop(vq, &n->rxc);
	if (r == 0) {
		taken = 0;
		goto out;
	}
	if (r < 0) {
		n->st.rx_dropped++;
		goto out;
	}
	struct vq_chain *c = &n->rxc;
	if (c->nr) {
		virtio_device_fail(d, "receive chain has device-readable buffers");
		n->st.rx_dropped++;
		goto out;
	}
	if (c->wlen < VIRTIO_NET_HDR_BYTES) {
		virtio_device_fail(d, "receive buffer of %llu bytes cannot hold the %u-byte header",
				   (unsigned long long)c->wlen, VIRTIO_NET_HDR_BYTES);
		n->st.rx_dropped++;
		goto out;
	}
	if (c->wlen - VIRTIO_NET_HDR_BYTES < len) {
		/* vq_pop only advanced last_avail: step back so the buffer is
		 * offered again to the next (smaller) frame. */
		vq->s.last_avail--;
		n->st.rx_dropped++;
		goto out;
	}
	uint8_t h[VIRTIO_NET_HDR_BYTES] = {0};
	h[10] = 1;   /* num_buffers, le16 */
	vq_chain_write(c, 0, h, sizeof h);
	vq_chain_write(c, VIRTIO_NET_HDR_BYTES, frame, len);
	vq_push(vq, c->head, (uint32_t)(VIRTIO_NET_HDR_BYTES + len));
	n->st.rx_frames++;
	n->st.rx_bytes += len;
	virtio_device_signal(d, VIRTIO_NET_RXQ);
out:
	pthread_mutex_unlock(&d->lock);
	return taken;
}

static void net_reset(struct virtio_device *d)
{
	/* A frame the backend holds for us is now dropped by net_receive. */
	struct vnet *n = to_net(d);
	n->be->ops->rx_ready(n->be);
}

static void net_destroy(struct virtio_device *d)
{
	struct vnet *n = to_net(d);
	n->be->ops->close(n->be);   /* joins the backend thread: no receive after this */
	virtio_device_fini(d);
	free(n);
}

static const struct virtio_device_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.queue_max = QUEUE_SIZE,
	.config_size = CONFIG_SIZE,
	.config_read = net_config_read,
	.config_write = net_config_write,
	.notify = net_notify,
	.reset = net_reset,
	.destroy = net_destroy,
};

int virtio_net_create(struct net_backend *be, const uint8_t mac[6],
		      struct virtio_device **out, struct err *err)
{
	*out = NULL;
	struct vnet *n = calloc(1, sizeof *n);
	if (!n) {
		be->ops->close(be);
		return err_set(err, -ENOMEM, "virtio-net: out of memory");
	}
	virtio_device_init(&n->vdev, &net_ops, OFFERED);
	n->be = be;
	memcpy(n->mac, mac, 6);
	n->status = VIRTIO_NET_S_LINK_UP;
	be->receive = net_receive;
	be->dev = n;
	int rc = be->ops->start(be, err);
	if (rc) {
		be->ops->close(be);
		virtio_device_fini(&n->vdev);
		free(n);
		return rc;
	}
	*out = &n->vdev;
	return 0;
}

void virtio_net_set_link(struct virtio_device *dev, bool up)
{
	struct vnet *n = to_net(dev);
	pthread_mutex_lock(&dev->lock);
	uint16_t s = up ? VIRTIO_NET_S_LINK_UP : 0;
	if (s != n->status) {
		n->status = s;
		if (dev->status & VIRTIO_STATUS_DRIVER_OK)
			virtio_device_config_changed(dev);
	}
	pthread_mutex_unlock(&dev->lock);
}

void virtio_net_stats(struct virtio_device *dev, struct virtio_net_stats *out)
{
	pthread_mutex_lock(&dev->lock);
	*out = to_net(dev)->st;
	pthread_mutex_unlock(&dev->lock);
}
