/*
 * A running VM joins a network at once (docs/cloud.md, "Joining and
 * leaving"), where the rows alone would wait for its next start.
 *
 * virtio-mmio announces no new devices, so the VM must have been started
 * with an empty NIC (vmm_hotplug.h: every VM the daemon starts has some): the
 * daemon makes the NIC's TAP on the network's bridge, passes it to the
 * VMM (nic-insert), and the guest's link comes up with the MAC the slot
 * had from boot, which the NIC's row and the network's DHCP take over, so
 * DHCP in the guest gets the NIC's address and name.
 *
 * The service's lock is held for the rows alone, not while the VMM is asked.
 */
#ifndef NIMBUS_DAEMON_NETWORK_LIVE_H
#define NIMBUS_DAEMON_NETWORK_LIVE_H

#include <stddef.h>

#include "daemon/instance.h"
#include "daemon/service.h"

/* After network_join recorded the NIC: in (a running VM, as the database
 * has it) gets it now.  1 if its guest has it now; 0 if it waits for the
 * next start, with why in note (no empty NIC slot left, an older VMM, ...). */
int network_live_join(struct service *s, const struct instance *in, const char *network,
		      char *note, size_t notelen);

/* Before network_leave: in (a running VM) loses its NIC on network now if
 * a hot-plug slot holds it (it joined while running): the VMM takes the
 * TAP out, the guest's link goes down, the TAP is deleted.  1 when it did;
 * 0 when the NIC is one the VM was started with (it stays until the VM
 * stops); -errno with e set when the VMM could not be asked. */
int network_live_leave(struct service *s, const struct instance *in, const char *network,
		       struct err *e);

#endif
