/*
 * A byte stream between a guest-facing serial device (UART, virtio-console)
 * and a host endpoint (terminal, pipe, socket).  The device calls write() for
 * guest output; the host side delivers input by calling the receive hook the
 * device installed.  Either side may run on any thread.
 */
#ifndef NIMBUS_VMM_CHARDEV_H
#define NIMBUS_VMM_CHARDEV_H

#include <stddef.h>
#include <stdint.h>

struct chardev {
	/* Host side: takes guest output. */
	void (*write)(void *host, const uint8_t *buf, size_t len);
	void *host;
	/* Device side: takes host input, returns how many bytes it accepted (a
	 * full receive FIFO accepts fewer; the host side retries later).  Set by
	 * the device when it attaches. */
	size_t (*receive)(void *dev, const uint8_t *buf, size_t len);
	void *dev;
};

#endif
