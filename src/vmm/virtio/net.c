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
 * (nothing is copied) when the header asks for nothing.  Otherwise it is
 * copied into a bounce buffer (the guest cannot change it behind the
 * checks) and the header is checked against it (net_hdr.c: every offset
 * inside the frame, a GSO frame really the TCP packet it claims to be);
 * a refused header drops the frame and counts it (tx_bad_hdr).  NEEDS_CSUM
 * (VIRTIO_NET_F_CSUM): the device sums [csum_start, end) into csum_start +
 * csum_offset (5.1.6.2), so backends never see partial checksums.  A GSO
 * frame (HOST_TSO4/TSO6, HOST_ECN): a backend with NET_BE_CAP_LARGE takes
 * it whole, checksum completed; a VNET_HDR backend takes it whole with a
 * header rebuilt from the checked fields (partial checksums too: the host
 * kernel completes them); any other gets MTU-sized segments cut by
 * net_gso.c.  An oversized frame or a full backend drops the frame
 * (counted).  A chain with device-writable buffers or shorter than the
 * header breaks the device (NEEDS_RESET): the driver broke 5.1.6.2.
 *
 * Receive (backend thread, takes dev->lock): the header has num_buffers
 * and, with GUEST_CSUM negotiated and a backend that vouches for its
 * checksums (NET_BE_CAP_RX_CSUM_VALID), DATA_VALID, so the guest skips
 * verifying them (5.1.6.4.1).  A backend that speaks virtio_net_hdr (TAP
 * with IFF_VNET_HDR) delivers the host kernel's header too: it is checked
 * like a guest's, against the GUEST_* offloads the driver took (which the
 * backend is told, apply_offloads), and what the driver cannot take is
 * dropped (GSO) or undone (a partial checksum is completed).  Without
 * MRG_RXBUF, one frame per buffer; a
 * frame larger than the buffer is dropped and the buffer goes back to the
 * ring unused (the driver violated the 1526-byte minimum of 5.1.6.3.1, or
 * the host sent a jumbo frame).  With MRG_RXBUF the frame fills as many
 * buffers as it needs, all published with one used->idx update, and
 * num_buffers says how many.  No buffer (or not enough) posted: the frame
 * stays with the backend (back-pressure) and the buffers taken go back,
 * until the driver kicks the receive queue, which calls be->ops->rx_ready.
 * A receive chain with device-readable buffers or no room for the header
 * breaks the device.  Before DRIVER_OK and after a fault frames are
 * dropped, so a guest without a driver cannot stall the backend.
 *
 * Config space (5.1.4): mac, status (LINK_UP unless the host set the link
 * down), max_virtqueue_pairs = 1.  The driver cannot change the MAC: with
 * VERSION_1 that needs the control queue, which is not offered.
 */
#include "vmm/virtio/net.h"
#include "vmm/snap_stream.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/virtio/net_csum.h"
#include "vmm/virtio/net_gso.h"
#include "vmm/virtio/net_hdr.h"
#include "vmm/virtio/rate_limiter.h"

#define QUEUE_SIZE 256u
#define CONFIG_SIZE 10u              /* mac[6], status, max_virtqueue_pairs */
/* As QEMU offers them with a backend that takes vnet headers; we complete
 * and segment in the device, so every backend gets them. */
#define OFFERED (VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_CSUM | \
		 VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_HOST_TSO6 | \
		 VIRTIO_NET_F_HOST_ECN | VIRTIO_NET_F_MRG_RXBUF)

struct vnet {
	struct virtio_device vdev;
	struct net_backend *be;
	uint8_t mac[6];
	uint16_t status;
	unsigned offloads;               /* NET_OFFLOAD_* the backend was last told */
	struct virtio_net_stats st;
	/* Under vdev.lock: */
	struct vq_chain txc, rxc, rxc2;   /* rxc2: mergeable buffers after the first */
	struct iovec iov[VQ_MAX_SEGS];
	uint8_t bounce[NET_MAX_FRAME];
	struct rate_limiter rx_rl, tx_rl;   /* under vdev.lock */
};

static struct vnet *to_net(struct virtio_device *d) { return (struct vnet *)d; }

static void apply_offloads(struct vnet *n);

int virtio_net_complete_csum(uint8_t *frame, size_t len, unsigned start, unsigned off)
{
	if (start > len || off > len - start || len - start - off < 2)
		return -1;
	uint16_t c = net_csum_fold(net_csum_add(0, frame + start, len - start));
	if (c == 0)
		c = 0xffff;   /* same value in one's complement; UDP reserves 0 for "none" */
	net_put_be16(frame + start + off, c);
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

static unsigned tx_allowed(const struct virtio_device *d)
{
	return (virtio_has_feature(d, VIRTIO_NET_F_HOST_TSO4) ? VNET_TX_TSO4 : 0) |
	       (virtio_has_feature(d, VIRTIO_NET_F_HOST_TSO6) ? VNET_TX_TSO6 : 0) |
	       (virtio_has_feature(d, VIRTIO_NET_F_HOST_ECN) ? VNET_TX_ECN : 0);
}

static int send_segment(void *ctx, const struct iovec *iov, int cnt)
{
	struct vnet *n = ctx;
	n->st.tx_segments++;
	return n->be->ops->send(n->be, iov, cnt);
}

/* A frame with offloads, already in n->bounce: checked, completed, sent. */
static int tx_offloaded(struct vnet *n, const struct vnet_hdr *h, size_t len)
{
	struct vnet_gso g;
	if (vnet_tx_check(h, tx_allowed(&n->vdev), n->bounce, len, &g) != VNET_TX_OK) {
		n->st.tx_bad_hdr++;
		return -EINVAL;
	}
	bool gso = h->gso_type != VIRTIO_NET_HDR_GSO_NONE;
	if (n->be->caps & NET_BE_CAP_VNET_HDR) {
		/* The host kernel segments and sums: hand it our checked copy of
		 * the header (the guest's hdr_len was only a hint). */
		struct vnet_hdr k = *h;
		k.flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM;
		k.hdr_len = gso ? g.hdrs : 0;
		k.num_buffers = 0;
		if (!gso)
			k.gso_size = 0;
		uint8_t raw[NET_VNET_HDR_BYTES];
		vnet_hdr_encode(&k, raw);
		struct iovec v = { n->bounce, len };
		n->st.tx_gso += gso;
		return n->be->ops->send_vnet(n->be, raw, &v, 1);
	}
	if (gso) {
		n->st.tx_gso++;
		if (!(n->be->caps & NET_BE_CAP_LARGE) && len - g.hdrs > g.mss) {
			int r = net_gso_segment(n->bounce, len, &g, send_segment, n);
			return r < 0 ? r : 0;
		}
	}
	/* Checked by vnet_tx_check: cannot fail. */
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		virtio_net_complete_csum(n->bounce, len, h->csum_start, h->csum_offset);
	struct iovec v = { n->bounce, len };
	return n->be->ops->send(n->be, &v, 1);
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
	uint8_t raw[VIRTIO_NET_HDR_BYTES];
	vq_chain_read(c, 0, raw, sizeof raw);
	struct vnet_hdr h;
	vnet_hdr_decode(raw, &h);
	uint64_t len = c->rlen - VIRTIO_NET_HDR_BYTES;
	int rc = -EINVAL;
	if (len > NET_MAX_FRAME) {
		/* dropped below */
	} else if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		vq_chain_read(c, VIRTIO_NET_HDR_BYTES, n->bounce, len);
		rc = tx_offloaded(n, &h, len);
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
		apply_offloads(n);
		if (rate_limiter_hold(&n->rx_rl)) {   /* net_receive refused a frame: retry later */
			virtio_device_requeue(d, q);
			return;
		}
		n->be->ops->rx_ready(n->be);
		return;
	}
	if (q != VIRTIO_NET_TXQ)
		return;
	for (unsigned done = 0;; done++) {
		if (done == QUEUE_SIZE || rate_limiter_hold(&n->tx_rl)) {
			virtio_device_requeue(d, q);
			break;
		}
		if (vq_pop(&d->vq[q], &n->txc) != 1)
			break;
		if (!tx_one(n, &n->txc))
			return;
		rate_limiter_charge(&n->tx_rl, n->txc.rlen - VIRTIO_NET_HDR_BYTES, 1);
		vq_push(&d->vq[q], n->txc.head, 0);
	}
	virtio_device_signal(d, q);
}

/* Checks a popped receive chain; false if it broke the device. */
static bool rx_chain_ok(struct virtio_device *d, const struct vq_chain *c, uint64_t need)
{
	if (c->nr) {
		virtio_device_fail(d, "receive chain has device-readable buffers");
		return false;
	}
	if (c->wlen < need) {
		virtio_device_fail(d, "receive buffer of %llu bytes cannot hold the %u-byte header",
				   (unsigned long long)c->wlen, VIRTIO_NET_HDR_BYTES);
		return false;
	}
	return true;
}

/*
 * Spreads hdr + frame over as many buffers as it takes (MRG_RXBUF).  1:
 * delivered; 0: not enough buffers (those taken go back); -1: broken.
 */
static int rx_merge(struct vnet *n, struct virtq *vq, uint8_t *h, const uint8_t *frame,
		    size_t len)
{
	struct virtio_device *d = &n->vdev;
	uint64_t need = VIRTIO_NET_HDR_BYTES + len, done = 0;
	uint16_t nbuf = 0;
	while (done < need) {
		struct vq_chain *c = nbuf ? &n->rxc2 : &n->rxc;
		int r = vq_pop(vq, c);
		if (r <= 0 || !rx_chain_ok(d, c, nbuf ? 1 : VIRTIO_NET_HDR_BYTES)) {
			if (r == 0)   /* give back what was taken: nothing was published */
				vq->s.last_avail = (uint16_t)(vq->s.last_avail - nbuf);
			return r == 0 ? 0 : -1;
		}
		uint64_t take = c->wlen < need - done ? c->wlen : need - done;
		uint64_t skip = nbuf ? 0 : VIRTIO_NET_HDR_BYTES;   /* header written last */
		vq_chain_write(c, skip, frame + (done + skip - VIRTIO_NET_HDR_BYTES), take - skip);
		vq_fill(vq, nbuf, c->head, (uint32_t)take);
		nbuf++;
		done += take;
	}
	h[10] = (uint8_t)nbuf;
	h[11] = (uint8_t)(nbuf >> 8);
	vq_chain_write(&n->rxc, 0, h, VIRTIO_NET_HDR_BYTES);
	vq_flush(vq, nbuf);
	return 1;
}

/* Puts hdr (num_buffers filled here) + frame into the receive queue;
 * returns what be->receive returns.  dev->lock held, device live. */
static int rx_deliver(struct vnet *n, uint8_t *h, const uint8_t *frame, size_t len)
{
	struct virtio_device *d = &n->vdev;
	struct virtq *vq = &d->vq[VIRTIO_NET_RXQ];
	if (virtio_has_feature(d, VIRTIO_NET_F_MRG_RXBUF)) {
		int r = rx_merge(n, vq, h, frame, len);
		if (r <= 0) {
			n->st.rx_dropped += r < 0;
			return r == 0 ? 0 : 1;
		}
	} else {
		int r = vq_pop(vq, &n->rxc);
		if (r == 0)
			return 0;
		struct vq_chain *c = &n->rxc;
		if (r < 0 || !rx_chain_ok(d, c, VIRTIO_NET_HDR_BYTES)) {
			n->st.rx_dropped++;
			return 1;
		}
		if (c->wlen - VIRTIO_NET_HDR_BYTES < len) {
			/* vq_pop only advanced last_avail: step back so the buffer is
			 * offered again to the next (smaller) frame. */
			vq->s.last_avail--;
			n->st.rx_dropped++;
			return 1;
		}
		h[10] = 1;   /* num_buffers, le16 */
		h[11] = 0;
		vq_chain_write(c, 0, h, VIRTIO_NET_HDR_BYTES);
		vq_chain_write(c, VIRTIO_NET_HDR_BYTES, frame, len);
		vq_push(vq, c->head, (uint32_t)(VIRTIO_NET_HDR_BYTES + len));
	}
	n->st.rx_frames++;
	n->st.rx_bytes += len;
	virtio_device_signal(d, VIRTIO_NET_RXQ);
	return 1;
}

/* Can the device take a frame now?  dev->lock held. */
static bool rx_live(struct vnet *n, size_t len)
{
	struct virtq *vq = &n->vdev.vq[VIRTIO_NET_RXQ];
	return virtio_device_live(&n->vdev) && vq->s.ready && !vq->s.broken && len <= NET_MAX_FRAME;
}

/* Over the receive limit: the frame stays with the backend, and the
   receive queue is run again (net_notify) once the limit allows. */
static bool rx_limited(struct vnet *n)
{
	if (!rate_limiter_blocked(&n->rx_rl))
		return false;
	virtio_device_requeue(&n->vdev, VIRTIO_NET_RXQ);
	return true;
}

static int net_receive(void *opaque, const uint8_t *frame, size_t len)
{
	struct vnet *n = opaque;
	struct virtio_device *d = &n->vdev;
	pthread_mutex_lock(&d->lock);
	if (d->quiesced) {   /* paused: held by the backend until resume's rx_ready */
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	int taken = 1;
	if (!rx_live(n, len)) {
		n->st.rx_dropped++;
	} else {
		uint8_t h[VIRTIO_NET_HDR_BYTES] = {0};
		if (virtio_has_feature(d, VIRTIO_NET_F_GUEST_CSUM) &&
		    (n->be->caps & NET_BE_CAP_RX_CSUM_VALID))
			h[0] = VIRTIO_NET_HDR_F_DATA_VALID;
		taken = rx_limited(n) ? 0 : rx_deliver(n, h, frame, len);
		if (taken > 0)
			rate_limiter_charge(&n->rx_rl, len, 1);
	}
	pthread_mutex_unlock(&d->lock);
	return taken;
}

/*
 * A frame from a VNET_HDR backend: the host kernel's header first.  It is
 * checked as a guest's would be (offsets inside the frame, a GSO frame the
 * TCP packet it claims) against what the driver negotiated: a GSO type it
 * did not is dropped (the backend was told not to send them, but a frame
 * may predate that), a partial checksum it cannot take is completed here.
 */
static int net_receive_vnet(void *opaque, const uint8_t *buf, size_t len)
{
	struct vnet *n = opaque;
	struct virtio_device *d = &n->vdev;
	pthread_mutex_lock(&d->lock);
	if (d->quiesced) {   /* paused: held by the backend until resume's rx_ready */
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	int taken = 1;
	if (len < VIRTIO_NET_HDR_BYTES || !rx_live(n, len - VIRTIO_NET_HDR_BYTES)) {
		n->st.rx_dropped++;
		goto out;
	}
	struct vnet_hdr k;
	vnet_hdr_decode(buf, &k);
	const uint8_t *frame = buf + VIRTIO_NET_HDR_BYTES;
	size_t flen = len - VIRTIO_NET_HDR_BYTES;
	bool csum = virtio_has_feature(d, VIRTIO_NET_F_GUEST_CSUM);
	unsigned allowed = (virtio_has_feature(d, VIRTIO_NET_F_GUEST_TSO4) ? VNET_TX_TSO4 : 0) |
			   (virtio_has_feature(d, VIRTIO_NET_F_GUEST_TSO6) ? VNET_TX_TSO6 : 0) |
			   (virtio_has_feature(d, VIRTIO_NET_F_GUEST_ECN) ? VNET_TX_ECN : 0);
	struct vnet_gso g;
	if (vnet_tx_check(&k, allowed, frame, flen, &g) != VNET_TX_OK ||
	    (k.gso_type != VIRTIO_NET_HDR_GSO_NONE && !csum)) {
		n->st.rx_dropped++;
		n->st.rx_bad_hdr++;
		goto out;
	}
	struct vnet_hdr out = { .flags = k.flags & (csum ? VIRTIO_NET_HDR_F_NEEDS_CSUM |
						     VIRTIO_NET_HDR_F_DATA_VALID : 0) };
	if (out.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		out.csum_start = k.csum_start;
		out.csum_offset = k.csum_offset;
		out.flags &= (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID;
	} else if (k.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		/* The driver takes only complete checksums. */
		memcpy(n->bounce, frame, flen);
		virtio_net_complete_csum(n->bounce, flen, k.csum_start, k.csum_offset);
		frame = n->bounce;
	}
	if (k.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		out.gso_type = k.gso_type;
		out.gso_size = k.gso_size;
		out.hdr_len = g.hdrs;
	}
	uint8_t h[VIRTIO_NET_HDR_BYTES];
	vnet_hdr_encode(&out, h);
	taken = rx_limited(n) ? 0 : rx_deliver(n, h, frame, flen);
	if (taken > 0)
		rate_limiter_charge(&n->rx_rl, flen, 1);
out:
	pthread_mutex_unlock(&d->lock);
	return taken;
}

/* A VNET_HDR backend may use what the driver accepts (5.1.6.4). */
static void apply_offloads(struct vnet *n)
{
	struct virtio_device *d = &n->vdev;
	if (!(n->be->caps & NET_BE_CAP_VNET_HDR))
		return;
	unsigned want = 0;
	if (virtio_device_live(d) && virtio_has_feature(d, VIRTIO_NET_F_GUEST_CSUM)) {
		want = NET_OFFLOAD_CSUM |
		       (virtio_has_feature(d, VIRTIO_NET_F_GUEST_TSO4) ? NET_OFFLOAD_TSO4 : 0) |
		       (virtio_has_feature(d, VIRTIO_NET_F_GUEST_TSO6) ? NET_OFFLOAD_TSO6 : 0) |
		       (virtio_has_feature(d, VIRTIO_NET_F_GUEST_ECN) ? NET_OFFLOAD_ECN : 0);
	}
	if (want != n->offloads) {
		n->offloads = want;
		n->be->ops->set_offloads(n->be, want);
	}
}

static void net_reset(struct virtio_device *d)
{
	/* A frame the backend holds for us is now dropped by net_receive. */
	struct vnet *n = to_net(d);
	apply_offloads(n);   /* not live: none */
	n->be->ops->rx_ready(n->be);
}

static void net_destroy(struct virtio_device *d)
{
	struct vnet *n = to_net(d);
	n->be->ops->close(n->be);   /* joins the backend thread: no receive after this */
	virtio_device_fini(d);
	free(n);
}

/* Snapshot: the model keeps nothing beyond the transport's state; the
 * backend may (slirp's NAT table).  u8 1 + its state, or u8 0. */
static int net_save_extra(struct virtio_device *d, struct snap_out *o)
{
	struct vnet *n = to_net(d);
	snap_put_u8(o, n->be->ops->save_state != NULL);
	return n->be->ops->save_state ? n->be->ops->save_state(n->be, o) : 0;
}

static int net_load_extra(struct virtio_device *d, struct snap_in *in)
{
	struct vnet *n = to_net(d);
	bool has = snap_get_u8(in) != 0;
	int rc = 0;
	if (has && n->be->ops->load_state)
		rc = n->be->ops->load_state(n->be, in);
	else if (has)
		return -EINVAL;   /* saved by another kind of backend */
	pthread_mutex_lock(&d->lock);
	apply_offloads(n);    /* as negotiated by the restored driver */
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static const struct virtio_device_ops net_ops = {
	.name = "virtio-net",
	.own_thread = true,
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.queue_max = QUEUE_SIZE,
	.config_size = CONFIG_SIZE,
	.config_read = net_config_read,
	.config_write = net_config_write,
	.notify = net_notify,
	.reset = net_reset,
	.destroy = net_destroy,
	.save_extra = net_save_extra,
	.load_extra = net_load_extra,
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
	uint64_t f = OFFERED;
	if (be->caps & NET_BE_CAP_VNET_HDR) {
		/* The host kernel hands over large TCP frames: the guest may take them. */
		f |= VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_GUEST_TSO6 | VIRTIO_NET_F_GUEST_ECN;
		be->receive_vnet = net_receive_vnet;
	}
	virtio_device_init(&n->vdev, &net_ops, f);
	n->be = be;
	memcpy(n->mac, mac, 6);
	/* An empty hot-plug slot has no cable until a backend is inserted. */
	n->status = net_backend_is_empty(be) ? 0 : VIRTIO_NET_S_LINK_UP;
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

/* The link flips and the driver hears of it (5.1.4: a config change with
 * STATUS negotiated makes Linux re-read status and set the carrier). */
static void set_status(struct vnet *n, uint16_t s)
{
	if (s != n->status) {
		n->status = s;
		if (n->vdev.status & VIRTIO_STATUS_DRIVER_OK)
			virtio_device_config_changed(&n->vdev);
	}
}

void virtio_net_set_link(struct virtio_device *dev, bool up)
{
	struct vnet *n = to_net(dev);
	pthread_mutex_lock(&dev->lock);
	set_status(n, up ? VIRTIO_NET_S_LINK_UP : 0);
	pthread_mutex_unlock(&dev->lock);
}

int virtio_net_insert(struct virtio_device *dev, struct net_backend *be, struct err *err)
{
	struct vnet *n = to_net(dev);
	pthread_mutex_lock(&dev->lock);
	bool empty = net_backend_is_empty(n->be);
	be->log = n->be->log;
	pthread_mutex_unlock(&dev->lock);
	if (!empty)
		return err_set(err, -EBUSY, "%s: holds a NIC already", dev->label);
	/* Started before it is swapped in: a frame it delivers meanwhile goes
	 * to the guest like any other (net_receive does not look at n->be's
	 * kind), and a failed start leaves the slot as it was. */
	be->receive = net_receive;
	be->receive_vnet = be->caps & NET_BE_CAP_VNET_HDR ? net_receive_vnet : NULL;
	be->dev = n;
	int rc = be->ops->start(be, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&dev->lock);
	struct net_backend *old = n->be;
	if (!net_backend_is_empty(old)) {   /* another insert won the race */
		pthread_mutex_unlock(&dev->lock);
		return err_set(err, -EBUSY, "%s: holds a NIC already", dev->label);
	}
	n->be = be;
	n->offloads = 0;      /* what a new TAP starts with: told again below */
	apply_offloads(n);
	set_status(n, VIRTIO_NET_S_LINK_UP);
	be->ops->rx_ready(be);
	pthread_mutex_unlock(&dev->lock);
	old->ops->close(old);
	return 0;
}

int virtio_net_eject(struct virtio_device *dev, struct err *err)
{
	struct vnet *n = to_net(dev);
	struct net_backend *empty;
	int rc = net_empty_open(&empty, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&dev->lock);
	struct net_backend *old = n->be;
	if (net_backend_is_empty(old)) {
		pthread_mutex_unlock(&dev->lock);
		empty->ops->close(empty);
		return err_set(err, -ENOENT, "%s: holds no NIC", dev->label);
	}
	empty->log = old->log;
	empty->receive = net_receive;
	empty->dev = n;
	n->be = empty;
	n->offloads = 0;
	set_status(n, 0);
	pthread_mutex_unlock(&dev->lock);
	old->ops->close(old);   /* joins its thread, which may wait for the lock above */
	return 0;
}

bool virtio_net_loaded(struct virtio_device *dev)
{
	pthread_mutex_lock(&dev->lock);
	bool loaded = !net_backend_is_empty(to_net(dev)->be);
	pthread_mutex_unlock(&dev->lock);
	return loaded;
}

void virtio_net_mac(struct virtio_device *dev, uint8_t mac[6])
{
	memcpy(mac, to_net(dev)->mac, 6);   /* fixed for the device's life */
}

void virtio_net_stats(struct virtio_device *dev, struct virtio_net_stats *out)
{
	pthread_mutex_lock(&dev->lock);
	*out = to_net(dev)->st;
	pthread_mutex_unlock(&dev->lock);
}

void virtio_net_set_rate_limit(struct virtio_device *dev, const struct rate_limit *l)
{
	struct vnet *n = to_net(dev);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	pthread_mutex_lock(&dev->lock);
	rate_limiter_set(&n->rx_rl, l, now);
	rate_limiter_set(&n->tx_rl, l, now);
	virtio_device_requeue(dev, VIRTIO_NET_TXQ);   /* what was held back may go now */
	virtio_device_requeue(dev, VIRTIO_NET_RXQ);
	pthread_mutex_unlock(&dev->lock);
}

void virtio_net_get_rate_limit(struct virtio_device *dev, struct rate_limit *out)
{
	pthread_mutex_lock(&dev->lock);
	rate_limiter_get(&to_net(dev)->tx_rl, out);
	pthread_mutex_unlock(&dev->lock);
}
