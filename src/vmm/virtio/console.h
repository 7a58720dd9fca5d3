/* virtio-console (virtio 1.2, 5.3), one port, over a struct chardev. See console.c. */
#ifndef NIMBUS_VMM_VIRTIO_CONSOLE_H
#define NIMBUS_VMM_VIRTIO_CONSOLE_H

#include "lib/err.h"
#include "vmm/chardev.h"
#include "vmm/virtio/virtio.h"

#define VIRTIO_CONSOLE_F_SIZE        (1ull << 0)
#define VIRTIO_CONSOLE_F_MULTIPORT   (1ull << 1)
#define VIRTIO_CONSOLE_F_EMERG_WRITE (1ull << 2)

/*
 * Creates a console attached to chr (installs chr->receive/dev; chr may be
 * NULL: output dropped, no input).  The host side must stop calling
 * chr->receive before the device is destroyed.
 */
int virtio_console_create(struct chardev *chr, struct virtio_device **out, struct err *err);

/*
 * Host input into receive queue q of a live console or port (dev->lock
 * held): fills posted buffers, one chain at a time.  Returns the bytes
 * taken: fewer than len when no buffer is left (the host retries), all of
 * them when the queue broke (dropped).
 */
size_t virtio_console_fill(struct virtio_device *dev, unsigned q, struct vq_chain *chain,
			   const uint8_t *buf, size_t len);
/* Guest output from transmit queue q to chr (may be NULL: dropped), a batch
 * at a time (dev->lock held, the device's I/O thread). */
void virtio_console_drain(struct virtio_device *dev, unsigned q, struct vq_chain *chain,
			  struct chardev *chr);

#endif
