/*
 * A block volume into a running VM and out again (docs/cloud.md, "Volume
 * hot-plug"): the control verbs `disk-insert` (the qcow2 file opened here
 * and passed, SCM_RIGHTS, since a daemon VM is jailed and opens no path)
 * and `disk-eject` (docs/control.md).  Every VM the daemon starts has
 * empty disk slots for this (vmm_start, --disk-slots).  Implemented in
 * vmm_client.c, the one file that speaks the control protocol.
 */
#ifndef NIMBUS_DAEMON_VMM_HOTPLUG_H
#define NIMBUS_DAEMON_VMM_HOTPLUG_H

#include <stdint.h>

#include "daemon/driver.h"

/* The virtio-blk serial a volume gets: its name, cut to the 20 bytes
 * GET_ID carries (so /sys/block/vdX/serial in the guest). */
#define VMM_SERIAL_MAX 20

/* serial: the volume's name (cut to VMM_SERIAL_MAX here).  0; -ENOSPC when
 * no slot is empty, -ENOTSUP for a VMM without hot-plug slots (started by
 * an older daemon), else -errno; e says why. */
int vmm_disk_insert(const struct driver_ctx *c, const struct instance *in, const char *path,
		    const char *serial, struct err *e);
/* Flushes and takes out the disk of that serial; -ENOENT when it is not in
 * a hot-plug slot (a disk the VM was started with). */
int vmm_disk_eject(const struct driver_ctx *c, const struct instance *in, const char *serial,
		   struct err *e);

/*
 * NIC hot-plug (docs/cloud.md, "Joining and leaving"): a VM, on networks
 * or none, is started with empty NICs (`vm run --net-slots N,mac=`: one per
 * network it may still join, up to half the board's free slots), slot i's MAC
 * vmm_nic_slot_mac(its key, how many NICs it started with + i): the guest
 * reads a MAC once, at boot, so the NIC that fills the slot keeps it.
 * vmm_nic_insert passes tap (a /dev/net/tun descriptor attached with a
 * virtio-net header, nl_tap_open; the caller keeps it) with the control
 * verb nic-insert; mac gets the MAC of the slot it went into.  -ENOSPC: no
 * slot is empty; -ENOTSUP: a VMM that knows no nic-insert.
 */
#define VMM_NICS_MAX 4
void vmm_nic_slot_mac(const char *key, int idx, uint8_t mac[6]);
int vmm_nic_insert(const struct driver_ctx *c, const struct instance *in, int tap,
		   const char *ifname, char mac[18], struct err *e);
/* Takes the hot-plugged NIC with that MAC out again (control verb
 * nic-eject): the guest's link goes down.  -ENOENT when no slot holds it
 * (a NIC the VM was started with), -ENOTSUP for an older VMM. */
int vmm_nic_eject(const struct driver_ctx *c, const struct instance *in, const char *mac,
		  struct err *e);

#endif
