/*
 * The daemon's state in SQLite (state-dir/nimbus.db): images and instances.
 * Opened in WAL mode with foreign keys on; the schema is versioned by
 * `PRAGMA user_version` and brought up to date at open by applying the
 * migrations in db_migrations.c in order, each in its own transaction, so a
 * database from any earlier version opens and one from a newer daemon is
 * refused rather than misread.
 */
#ifndef NIMBUS_DAEMON_DB_H
#define NIMBUS_DAEMON_DB_H

#include <stddef.h>

#include "daemon/instance.h"
#include "lib/err.h"

struct db;

struct image {
	char name[INSTANCE_NAME_MAX + 1];
	enum instance_kind kind;   /* which instances it can back */
	char path[512];            /* a rootfs directory or a guest directory */
	/* "": public, every project's; else the one project that sees and
	 * launches it (image_owner.c; migration 13). */
	char project[INSTANCE_NAME_MAX + 1];
};

/* The schema version this daemon writes (the number of migrations). */
int db_schema_version(void);

int db_open(const char *path, struct db **out, struct err *e);
/* The SQLite handle and file, for the tables kept in their own files
 * (db_operations.c, db_images.c, project.c, network.c, ...); callers hold
 * the service's lock. */
struct sqlite3;
struct sqlite3 *db_sqlite(struct db *db);
const char *db_file(const struct db *db);
/* For modules keeping their own tables: fills e with "FILE: what: sqlite's
 * message" and returns -EIO; prepares sql (db_sql_err on failure); copies a
 * text column (NULL as ""), truncated to len. */
struct sqlite3_stmt;
int db_sql_err(struct db *db, struct err *e, const char *what);
int db_prepare(struct db *db, const char *sql, struct sqlite3_stmt **st, struct err *e);
void db_copy_text(char *dst, size_t len, struct sqlite3_stmt *st, int col);
/* Steps st (finalized here), collecting each row as an elem-byte item that
 * read_row fills, into a new array (*out, *n); "what" names it in errors. */
int db_collect(struct db *db, struct sqlite3_stmt *st, size_t elem,
	       void (*read_row)(struct sqlite3_stmt *st, void *item), void **out, size_t *n,
	       const char *what, struct err *e);
/* Steps st (finalized here) for one row, which read_row puts into out;
 * -ENOENT naming `thing` ("network \"n1\"") when there is none. */
int db_one(struct db *db, struct sqlite3_stmt *st, void (*read_row)(struct sqlite3_stmt *st, void *item),
	   void *out, const char *thing, const char *what, struct err *e);
void db_close(struct db *db);

int db_image_put(struct db *db, const struct image *im, struct err *e);
int db_image_get(struct db *db, const char *name, struct image *out, struct err *e);
int db_image_list(struct db *db, struct image **out, size_t *n, struct err *e);
/* Removes an image: -ENOENT, or -EBUSY (e names an instance) while used. */
int db_image_delete(struct db *db, const char *name, struct err *e);

/* -EEXIST if the name is taken, -ENOENT (e set) if its image is unknown. */
int db_instance_insert(struct db *db, const struct instance *in, struct err *e);
/* -ENOENT if there is no such instance. */
/* By host key (instance.h): the daemon's own handle, never a request's. */
int db_instance_get(struct db *db, const char *name, struct instance *out, struct err *e);
/* By name in project, or (project NULL, the host admin) in whichever
 * project has one: -ENOENT for none, -EEXIST naming the projects when
 * several do. */
int db_instance_find(struct db *db, const char *project, const char *name,
		     struct instance *out, struct err *e);
int db_instance_list(struct db *db, struct instance **out, size_t *n, struct err *e);
/* Writes state, pid, pid_start, started_at, paused, cpus and memory_mib. */
int db_instance_update(struct db *db, const struct instance *in, struct err *e);
int db_instance_delete(struct db *db, const char *name, struct err *e);

#endif
