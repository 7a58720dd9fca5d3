/*
 * A VM's own disks, set with `config set NAME disk.D=SIZE` or brought by a
 * profile: each a qcow2 file STATE/instances/NAME/disks/D.qcow2 that the VM
 * gets as a virtio-blk disk with serial D (/dev/disk/by-id/virtio-D in the
 * guest), after its root and its volumes.  The `instance_disks` table is
 * the truth; STATE/instances/NAME/disks.conf ("D SIZE_MIB" lines) is what
 * the VM driver reads at each start, written whenever the table changes.
 *
 * Their sizes count against the project's disk quota and the host's disk
 * as volumes do (project.c, placement.c), and are metered as volumes are,
 * under KEY/D (triggers on the table, migration 17: meter.h).
 *
 * A change is applied at the next start, never to a running VM: the driver
 * then creates the files of new disks, grows those whose size went up
 * (qemu-img resize; the guest sees the new size, its filesystem is its own
 * business), and deletes the files of removed ones.  Shrinking is refused
 * when it is asked for (it would cut off what the guest wrote).  A container
 * has no disks: volumes give it storage (docs/cloud.md).
 */
#ifndef NIMBUS_DAEMON_DISKS_H
#define NIMBUS_DAEMON_DISKS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "daemon/db.h"
#include "daemon/instance.h"
#include "lib/err.h"

#define DISKS_MAX 4
#define DISK_SIZE_MIN_MIB 1
#define DISK_SIZE_MAX_MIB (1024LL * 1024)   /* 1 TiB */

struct disk {
	char name[INSTANCE_NAME_MAX + 1];
	long long size_mib;          /* in a change: 0 removes the disk */
};

/* "2G", "512M", "1T" or a bare number of MiB, into MiB within the limits;
 * what prefixes the message ("disk.data=").  "none" is 0 (remove) when
 * removal is allowed. */
int disk_size_parse(const char *what, const char *s, bool allow_remove, long long *mib,
		    struct err *e);

/* A "disks" object of the API, {"D": "SIZE" | null, ...}: at most DISKS_MAX
 * entries, each name checked (null removes: only if allow_remove). */
int disks_parse(const cJSON *obj, bool allow_remove, struct disk *out, size_t *n, struct err *e);
/* {"D": SIZE_MIB, ...} */
cJSON *disks_json(const struct disk *d, size_t n);

/* The instance's disks (the service's lock held). */
int disks_get(struct db *db, const char *instance, struct disk *out, size_t *n, struct err *e);
/* Checks the change against in and its disks: a VM, no shrinking, at most
 * DISKS_MAX in all, no removing one it does not have.  *growth: the bytes
 * it adds (negative when it frees some), for the disk quota and placement. */
int disks_check(struct db *db, const struct instance *in, const struct disk *chg, size_t n,
		long long *growth, struct err *e);
/* Applies a checked change: the table, then inst_dir/disks.conf. */
int disks_apply(struct db *db, const char *inst_dir, const char *instance,
		const struct disk *chg, size_t n, struct err *e);

/* At a VM's start (vmm_client.c): brings inst_dir/disks/ in line with
 * inst_dir/disks.conf and fills args with up to max `--disk` values. */
int disks_prepare(const char *inst_dir, const char *instance, char (*args)[4200], int max,
		  int *n, struct err *e);

#endif
