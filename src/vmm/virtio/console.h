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

#endif
