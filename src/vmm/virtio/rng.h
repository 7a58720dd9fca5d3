/* virtio-rng (virtio 1.2, 5.4, "entropy device"): host getrandom(). See rng.c. */
#ifndef NIMBUS_VMM_VIRTIO_RNG_H
#define NIMBUS_VMM_VIRTIO_RNG_H

#include "lib/err.h"
#include "vmm/virtio/virtio.h"

#define VIRTIO_RNG_MAX_FILL (64u << 10)   /* bytes given per request at most */

int virtio_rng_create(struct virtio_device **out, struct err *err);

#endif
