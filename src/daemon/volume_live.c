/*
 * Volumes into and out of running VMs (volume_live.h).
 *
 * The guest check before an eject runs a short shell script through the
 * guest agent: it finds the disk by its serial (/sys/block/vdX/serial, the
 * volume's name cut to 20 bytes) and fails if /proc/mounts names it or one
 * of its partitions; otherwise it syncs, so what the guest wrote is on the
 * disk before the VMM flushes and drops it.  The guest may lie, but then
 * only its own data suffers: the volume file is flushed and closed either
 * way, and the host never depends on the answer.
 */
#include "daemon/volume_live.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/driver.h"
#include "daemon/proc.h"
#include "daemon/vmm_hotplug.h"

#define GUEST_CHECK_TIMEOUT_S 15

/* The running VM v is attached to, named by its host key as drivers
 * expect; false when v is not a block volume of a running VM. */
static bool running_vm(struct service *s, const struct volume *v, struct instance *in,
		       struct volume *now)
{
	struct db *db = service_lock(s);
	bool yes = volume_get(db, v->name, v->project, now, NULL) == 0 && !now->dir &&
		   now->attached_to[0] && db_instance_get(db, now->attached_to, in, NULL) == 0 &&
		   in->kind == KIND_VM && in->state == STATE_RUNNING &&
		   proc_alive((pid_t)in->pid, in->pid_start);
	service_unlock(s);
	if (yes && in->key[0])
		memcpy(in->name, in->key, sizeof in->name);
	return yes;
}

int volume_live_attach(struct service *s, const struct volume *v, char *note, size_t notelen)
{
	struct instance in;
	struct volume now;
	if (!running_vm(s, v, &in, &now))
		return 0;
	char path[4200];
	struct err e = { 0 };
	volume_path(service_volumes(s), &now, path, sizeof path);
	int rc = vmm_disk_insert(service_driver_ctx(s), &in, path, now.name, &e);
	if (rc == 0)
		return 1;
	snprintf(note, notelen, "the instance is running and its guest sees the disk from its "
		 "next start (restart it): %s", rc == -ENOSPC
		 ? "every hot-plug disk slot of the VM is taken"
		 : rc == -ENOTSUP ? "the VM was started without hot-plug disk slots" : e.msg);
	return 0;
}

int volume_live_detach(struct service *s, const struct volume *v, struct err *e)
{
	struct instance in;
	struct volume now;
	if (!running_vm(s, v, &in, &now))
		return 0;
	char serial[VMM_SERIAL_MAX + 1], script[512], out[512] = "";
	snprintf(serial, sizeof serial, "%.*s", VMM_SERIAL_MAX, now.name);   /* [a-z0-9-]: safe in sh */
	snprintf(script, sizeof script,
		 "for d in /sys/block/vd*; do [ \"$(cat $d/serial 2>/dev/null)\" = '%s' ] || "
		 "continue; n=${d##*/}; if grep -q \"^/dev/$n[0-9p]* \" /proc/mounts; then "
		 "echo /dev/$n; exit 3; fi; done; sync", serial);
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	const struct driver_ctx *c = service_driver_ctx(s);
	struct err xe = { 0 };
	int st = vmm_driver.exec(c, &in, argv, GUEST_CHECK_TIMEOUT_S, out, sizeof out, &xe);
	if (st < 0 || (st != 0 && st != 3)) {
		if (st > 0)
			snprintf(xe.msg, sizeof xe.msg, "the check exited with status %d", st);
		return err_set(e, -EBUSY, "volume \"%s\": in use by the running instance \"%s\", "
			       "whose guest could not be asked whether it has the disk mounted (%s): "
			       "stop it before you detach it", now.name, now.attached_name, xe.msg);
	}
	if (st == 3)
		return err_set(e, -EBUSY, "volume \"%s\": mounted in the guest of \"%s\" as %.*s "
			       "(unmount it first)", now.name, now.attached_name,
			       (int)strcspn(out, "\n"), out);
	int rc = vmm_disk_eject(c, &in, now.name, e);
	if (rc == -ENOENT)
		return err_set(e, -EBUSY, "volume \"%s\": in use by the running instance \"%s\" "
			       "since its start (stop it before you detach it)", now.name,
			       now.attached_name);
	if (rc < 0)
		return rc;
	struct db *db = service_lock(s);
	rc = volume_detach(db, now.key, true, e);
	service_unlock(s);
	return rc < 0 ? rc : 1;
}
