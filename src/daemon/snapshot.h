/*
 * An instance's snapshots as the daemon keeps them (VMs): each one
 * STATE/instances/KEY/snapshots/NAME/{memory,state} (vmm_snapshot.h) and
 * a row of `instance_snapshots`, written once the files are whole, so the
 * row is the commit: files without a row (a daemon killed while it saved)
 * are removed at the next start (snapshot_sweep).  Rows go with their
 * instance (ON DELETE CASCADE), the files with its directory.  Names follow
 * the instance name rules.  Callers hold the service's lock.
 */
#ifndef NIMBUS_DAEMON_SNAPSHOT_H
#define NIMBUS_DAEMON_SNAPSHOT_H

#include <stddef.h>

#include "daemon/db.h"
#include "daemon/instance.h"
#include "lib/err.h"

#define SNAPSHOTS_MAX 16   /* per instance: each holds all of guest RAM */

struct snapshot {
	char name[INSTANCE_NAME_MAX + 1];
	long long created_at;   /* Unix seconds */
	long long size;         /* bytes of its files */
};

/* STATE/instances/KEY/snapshots/NAME (name "" : the snapshots directory). */
int snapshot_dir(const char *state_dir, const char *key, const char *name, char *buf,
		 size_t len, struct err *e);
int snapshot_add(struct db *db, const char *key, const struct snapshot *sn, struct err *e);
/* -ENOENT naming it when the instance has no such snapshot. */
int snapshot_get(struct db *db, const char *key, const char *iname, const char *name,
		 struct snapshot *out, struct err *e);
int snapshot_list(struct db *db, const char *key, struct snapshot **out, size_t *n,
		  struct err *e);
/* The row and its files. */
int snapshot_remove(struct db *db, const char *state_dir, const char *key, const char *iname,
		    const char *name, struct err *e);
/* Removes every snapshot directory without its row. */
void snapshot_sweep(struct db *db, const char *state_dir);

#endif
