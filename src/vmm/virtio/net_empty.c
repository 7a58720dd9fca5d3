/*
 * The empty network backend: a cable not plugged in, what an unfilled
 * hot-plug NIC slot (vm run --net-slots) holds until a TAP is inserted
 * (virtio_net_insert) and after one is ejected.
 *
 * virtio-mmio cannot announce a new device to a running guest (the guest
 * learns its devices from the device tree it booted with), so NIC hot-plug
 * fills a device the guest already has: it boots seeing a NIC whose link
 * is down, and learns of the cable from a configuration-change interrupt
 * (link status, virtio 1.2, 5.1.4).  The features a guest negotiates at
 * boot stay for the device's life, so this backend claims what a TAP with
 * virtio-net headers can do (NET_BE_CAP_VNET_HDR): the guest's driver
 * takes the same offloads it would with the TAP there from the start.
 * Frames the guest sends meanwhile are dropped; none ever arrive.
 */
#include "vmm/virtio/net_backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static int empty_start(struct net_backend *be, struct err *err)
{
	(void)be, (void)err;
	return 0;
}

static int empty_send(struct net_backend *be, const struct iovec *iov, int cnt)
{
	(void)be, (void)iov, (void)cnt;
	return -ENOBUFS;   /* no cable: dropped, as a NIC with no link drops */
}

static int empty_send_vnet(struct net_backend *be, const uint8_t hdr[NET_VNET_HDR_BYTES],
			   const struct iovec *iov, int cnt)
{
	(void)hdr;
	return empty_send(be, iov, cnt);
}

static void empty_rx_ready(struct net_backend *be) { (void)be; }

static void empty_set_offloads(struct net_backend *be, unsigned offloads)
{
	(void)be, (void)offloads;
}

static void empty_close(struct net_backend *be) { free(be); }

static const struct net_backend_ops empty_ops = {
	.start = empty_start, .send = empty_send, .rx_ready = empty_rx_ready,
	.close = empty_close, .send_vnet = empty_send_vnet, .set_offloads = empty_set_offloads,
};

int net_empty_open(struct net_backend **out, struct err *err)
{
	struct net_backend *be = calloc(1, sizeof *be);
	if (!be)
		return err_set(err, -ENOMEM, "empty NIC slot: out of memory");
	be->ops = &empty_ops;
	be->caps = NET_BE_CAP_VNET_HDR;
	snprintf(be->label, sizeof be->label, "empty NIC slot");
	*out = be;
	return 0;
}

bool net_backend_is_empty(const struct net_backend *be)
{
	return be->ops == &empty_ops;
}
