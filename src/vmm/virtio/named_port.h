/* virtio-console with MULTIPORT (virtio 1.2, 5.3) carrying one named port. See named_port.c. */
#ifndef NIMBUS_VMM_VIRTIO_NAMED_PORT_H
#define NIMBUS_VMM_VIRTIO_NAMED_PORT_H

#include <stdbool.h>

#include "lib/err.h"
#include "vmm/chardev.h"
#include "vmm/virtio/virtio.h"

/* Control messages (5.3.6.2): struct virtio_console_control's event. */
#define VIRTIO_CONSOLE_DEVICE_READY 0
#define VIRTIO_CONSOLE_DEVICE_ADD   1
#define VIRTIO_CONSOLE_DEVICE_REMOVE 2
#define VIRTIO_CONSOLE_PORT_READY   3
#define VIRTIO_CONSOLE_CONSOLE_PORT 4
#define VIRTIO_CONSOLE_RESIZE       5
#define VIRTIO_CONSOLE_PORT_OPEN    6
#define VIRTIO_CONSOLE_PORT_NAME    7

#define NAMED_PORT_NAME_MAX 64

/*
 * Called (device lock held, any thread: keep it short, do not call back into
 * the device) when the guest opens or closes the port, and with false when
 * the device is reset.  May be NULL.
 */
typedef void named_port_open_fn(void *host, bool open);

/*
 * Creates the device: port 0 named `name` (1..NAMED_PORT_NAME_MAX-1
 * printable bytes), its data on chr as virtio_console_create does (installs
 * chr->receive/dev; the host must stop calling receive before destroying).
 */
int virtio_named_port_create(const char *name, struct chardev *chr, named_port_open_fn *on_open,
			     struct virtio_device **out, struct err *err);

/* Whether the guest holds the port open now (device lock taken). */
bool virtio_named_port_guest_open(struct virtio_device *dev);

#endif
