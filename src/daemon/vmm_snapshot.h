/*
 * A running VM's snapshot, as the daemon takes it (snapshot.h): the
 * control `snapshot` verb with the two files passed (docs/control.md,
 * "fds"), since a daemon VM is jailed and can open none itself.  The VMM
 * pauses the guest, writes and syncs the files, and resumes it; the
 * files are then renamed into place, state last, so dir holds a whole
 * snapshot or none.  Implemented in vmm_client.c, the one file that
 * speaks the control protocol.  A start restores one when the instance's
 * directory has a file `restore` naming it (vmm_start; read once).
 */
#ifndef NIMBUS_DAEMON_VMM_SNAPSHOT_H
#define NIMBUS_DAEMON_VMM_SNAPSHOT_H

#include "daemon/driver.h"

#define VMM_SNAPSHOT_WAIT_MS 600000   /* it writes all of guest RAM */
#define VMM_RESTORE_FILE "restore"
/* In a snapshot directory: the volume serial each hot-plug disk slot held,
 * a line each ("" for none), so a restore puts each back in its slot. */
#define VMM_DISK_SLOTS_FILE "disk-slots"
/* And the MAC of the NIC each hot-plug NIC slot held ("" none). */
#define VMM_NIC_SLOTS_FILE "nic-slots"

/* A paused instance (in->paused) stays paused; a running one runs on. */
int vmm_snapshot_save(const struct driver_ctx *c, const struct instance *in, const char *dir,
		      struct err *e);

#endif
