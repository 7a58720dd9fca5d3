/*
 * The I/O hub's thread (see io_hub.h).  Its poll set is the stop eventfd and
 * the kick eventfd of every device it still serves; a device handed to its
 * own thread leaves the set, so from then on only that thread reads the fd
 * (the count a kick left before the hand-over is still there for it).
 * Devices are fixed at start: the set is rebuilt from plain arrays each
 * round, without allocation.
 */
#include "vmm/virtio/io_hub.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/log.h"

struct io_hub {
	struct virtio_mmio *dev[IO_HUB_MAX_DEVICES];
	bool handed[IO_HUB_MAX_DEVICES];     /* on a thread of its own now */
	bool no_thread[IO_HUB_MAX_DEVICES];  /* its thread could not start: served here */
	unsigned n;
	int stop_fd;
	pthread_t thread;
};

/* The device's first kick: give it its own thread, or keep serving it here
 * (and say so once) if the host refuses one. */
static void hand_over(struct io_hub *h, unsigned i)
{
	int r = virtio_mmio_start_thread(h->dev[i]);
	if (r == 0) {
		h->handed[i] = true;
		return;
	}
	h->no_thread[i] = true;
	struct virtio_device *d = virtio_mmio_device(h->dev[i]);
	char msg[160];
	snprintf(msg, sizeof msg, "cannot start its I/O thread (%s): it shares the VM's I/O hub",
		 strerror(-r));
	log_emit(d->log, d->label, msg);
	virtio_mmio_serve(h->dev[i]);
}

static void *hub_main(void *opaque)
{
	struct io_hub *h = opaque;
	struct pollfd fds[1 + IO_HUB_MAX_DEVICES];
	unsigned who[1 + IO_HUB_MAX_DEVICES];
	for (;;) {
		unsigned n = 0;
		fds[n++] = (struct pollfd){ .fd = h->stop_fd, .events = POLLIN };
		for (unsigned i = 0; i < h->n; i++) {
			if (h->handed[i])
				continue;
			who[n] = i;
			fds[n++] = (struct pollfd){ .fd = virtio_mmio_kick_fd(h->dev[i]),
						    .events = POLLIN };
		}
		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[0].revents)
			break;
		for (unsigned k = 1; k < n; k++) {
			if (!(fds[k].revents & POLLIN))
				continue;
			unsigned i = who[k];
			if (virtio_mmio_wants_thread(h->dev[i]) && !h->no_thread[i])
				hand_over(h, i);
			else
				virtio_mmio_serve(h->dev[i]);
		}
	}
	return NULL;
}

int io_hub_start(struct virtio_mmio *const *t, unsigned n, struct io_hub **out,
		 struct err *err)
{
	*out = NULL;
	if (n == 0 || n > IO_HUB_MAX_DEVICES)
		return err_set(err, -EINVAL, "I/O hub: %u devices (1..%u)", n, IO_HUB_MAX_DEVICES);
	struct io_hub *h = calloc(1, sizeof *h);
	if (!h)
		return err_set(err, -ENOMEM, "I/O hub: out of memory");
	memcpy(h->dev, t, n * sizeof *t);
	h->n = n;
	h->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (h->stop_fd < 0) {
		int r = err_set(err, -errno, "I/O hub: eventfd: %s", strerror(errno));
		free(h);
		return r;
	}
	int e = pthread_create(&h->thread, NULL, hub_main, h);
	if (e) {
		close(h->stop_fd);
		free(h);
		return err_set(err, -e, "cannot start the VM's I/O thread: %s", strerror(e));
	}
	*out = h;
	return 0;
}

void io_hub_stop(struct io_hub *h)
{
	if (!h)
		return;
	uint64_t one = 1;
	while (write(h->stop_fd, &one, sizeof one) < 0 && errno == EINTR)
		;
	pthread_join(h->thread, NULL);
	close(h->stop_fd);
	free(h);
}
