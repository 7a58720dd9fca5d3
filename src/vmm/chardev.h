/*
 * A byte stream between a guest-facing serial device (UART, virtio-console)
 * and a host endpoint (terminal, pipe, socket).  The device calls write() for
 * guest output; the host side delivers input by calling the receive hook the
 * device installed.  Either side may run on any thread.
 *
 * Flow control towards the host: a host side that cannot take more guest
 * output for now says so through `writable`; the device then leaves the
 * guest's output in its queue (the guest's writers block: back-pressure)
 * until the host calls `resume`, rather than the host dropping bytes.
 */
#ifndef NIMBUS_VMM_CHARDEV_H
#define NIMBUS_VMM_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct chardev {
	/* Host side: takes guest output. */
	void (*write)(void *host, const uint8_t *buf, size_t len);
	void *host;
	/* Host side, optional (NULL: always): false while it cannot take guest
	 * output.  Called by the device with its lock held, before each piece;
	 * a piece already begun is still delivered whole. */
	bool (*writable)(void *host);
	/* Device side: takes host input, returns how many bytes it accepted (a
	 * full receive FIFO accepts fewer; the host side retries later).  Set by
	 * the device when it attaches. */
	size_t (*receive)(void *dev, const uint8_t *buf, size_t len);
	void *dev;
	/* Device side: the host can take output again (after `writable` said
	 * false); the device goes back to its queue on its own thread.  Set by
	 * the device when it attaches, with `receive`; any thread, no lock. */
	void (*resume)(void *dev);
};

#endif
