/*
 * A block volume attached to or detached from a running VM at once
 * (docs/cloud.md, "Volume hot-plug"), where the rows alone would wait for
 * its next start.  The VMM does the device's part (vmm_hotplug.h); this
 * decides when that applies, and keeps a detach from pulling a disk the
 * guest still has mounted.
 *
 * Neither holds the service's lock while it talks to the VM (an exec in
 * the guest may take seconds): each takes it for the rows alone.
 */
#ifndef NIMBUS_DAEMON_VOLUME_LIVE_H
#define NIMBUS_DAEMON_VOLUME_LIVE_H

#include <stddef.h>

#include "daemon/service.h"
#include "daemon/volume.h"

/* After volume_attach recorded it: the volume v into its instance now if
 * that is a running VM.  1 if the guest has it now; 0 if it waits for the
 * next start, with why in note (a container, a stopped VM, no free slot). */
int volume_live_attach(struct service *s, const struct volume *v, char *note, size_t notelen);

/*
 * Detaches the volume v from the running VM it is attached to: asks the
 * guest (through its agent) whether it has the disk mounted, refusing if
 * so (-EBUSY), then ejects it and clears the row.  1 when it did so; 0
 * when the instance is not a running VM (the caller detaches as before);
 * -EBUSY as well for a disk the VM was started with (not in a hot-plug
 * slot: it stays until the VM stops).
 */
int volume_live_detach(struct service *s, const struct volume *v, struct err *e);

#endif
