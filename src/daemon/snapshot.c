/* See snapshot.h. */
#include "daemon/snapshot.h"
#include "daemon/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int snapshot_dir(const char *state_dir, const char *key, const char *name, char *buf,
		 size_t len, struct err *e)
{
	if ((size_t)snprintf(buf, len, "%s/instances/%s/snapshots%s%s", state_dir, key,
			     *name ? "/" : "", name) >= len)
		return err_set(e, -ENAMETOOLONG, "snapshot \"%s\": path too long", name);
	return 0;
}

int snapshot_add(struct db *db, const char *key, const struct snapshot *sn, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "INSERT INTO instance_snapshots (instance, name, created_at, size) "
			    "VALUES (?1, ?2, ?3, ?4)", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sn->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, sn->created_at);
	sqlite3_bind_int64(st, 4, sn->size);
	int step = sqlite3_step(st);
	sqlite3_finalize(st);
	if (step == SQLITE_DONE)
		return 0;
	if ((step & 0xff) == SQLITE_CONSTRAINT)
		return err_set(e, -EEXIST, "snapshot \"%s\": already exists", sn->name);
	return db_sql_err(db, e, "recording a snapshot");
}

static void read_snapshot(sqlite3_stmt *st, void *item)
{
	struct snapshot *sn = item;
	db_copy_text(sn->name, sizeof sn->name, st, 0);
	sn->created_at = sqlite3_column_int64(st, 1);
	sn->size = sqlite3_column_int64(st, 2);
}

int snapshot_get(struct db *db, const char *key, const char *iname, const char *name,
		 struct snapshot *out, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT name, created_at, size FROM instance_snapshots "
			    "WHERE instance = ?1 AND name = ?2", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
	char thing[200];
	snprintf(thing, sizeof thing, "instance \"%s\": snapshot \"%s\"", iname, name);
	return db_one(db, st, read_snapshot, out, thing, "reading a snapshot", e);
}

int snapshot_list(struct db *db, const char *key, struct snapshot **out, size_t *n,
		  struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT name, created_at, size FROM instance_snapshots "
			    "WHERE instance = ?1 ORDER BY created_at, name", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	void *rows;
	rc = db_collect(db, st, sizeof(struct snapshot), read_snapshot, &rows, n, "snapshots", e);
	*out = rc == 0 ? rows : NULL;
	return rc;
}

int snapshot_remove(struct db *db, const char *state_dir, const char *key, const char *iname,
		    const char *name, struct err *e)
{
	struct snapshot sn;
	char dir[4096];
	int rc = snapshot_get(db, key, iname, name, &sn, e);
	if (rc < 0 || (rc = snapshot_dir(state_dir, key, name, dir, sizeof dir, e)) < 0)
		return rc;
	sqlite3_stmt *st;
	if ((rc = db_prepare(db, "DELETE FROM instance_snapshots WHERE instance = ?1 AND name = ?2",
			     &st, e)) < 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "deleting a snapshot");
	sqlite3_finalize(st);
	/* The row went first: files without one are swept at the next start. */
	if (rc == 0)
		rm_rf(dir, NULL);
	return rc;
}

void snapshot_sweep(struct db *db, const char *state_dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/instances", state_dir);
	DIR *inst = opendir(path);
	for (struct dirent *i; inst && (i = readdir(inst));) {
		if (i->d_name[0] == '.' || snapshot_dir(state_dir, i->d_name, "", path, sizeof path,
							NULL) < 0)
			continue;
		DIR *snaps = opendir(path);
		for (struct dirent *d; snaps && (d = readdir(snaps));) {
			struct snapshot sn;
			char dir[4096];
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, "..") ||
			    (name_check("snapshot", d->d_name, NULL) == 0 &&
			     snapshot_get(db, i->d_name, i->d_name, d->d_name, &sn, NULL) == 0) ||
			    snapshot_dir(state_dir, i->d_name, d->d_name, dir, sizeof dir, NULL) < 0)
				continue;
			rm_rf(dir, NULL);
		}
		if (snaps)
			closedir(snaps);
	}
	if (inst)
		closedir(inst);
}
