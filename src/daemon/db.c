/* See db.h.  Every statement is prepared with bound parameters; no SQL is
 * ever built from request data. */
#include "daemon/db.h"
#include "daemon/host_key.h"
#include "daemon/db_migrations.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct db {
	sqlite3 *h;
	char path[512];
};

struct sqlite3 *db_sqlite(struct db *db)
{
	return db->h;
}

const char *db_file(const struct db *db)
{
	return db->path;
}

int db_schema_version(void)
{
	return db_nmigrations;
}

int db_sql_err(struct db *db, struct err *e, const char *what)
{
	return err_set(e, -EIO, "%s: %s: %s", db->path, what, sqlite3_errmsg(db->h));
}

static int exec(struct db *db, const char *sql, struct err *e)
{
	char *msg = NULL;
	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(e, -EIO, "%s: %s", db->path, msg ? msg : "error");
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static int user_version(struct db *db, int *v, struct err *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return db_sql_err(db, e, "reading the schema version");
	int rc = sqlite3_step(st);
	*v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : db_sql_err(db, e, "reading the schema version");
}

static int migrate(struct db *db, struct err *e)
{
	int v;
	int rc = user_version(db, &v, e);
	if (rc < 0)
		return rc;
	if (v > db_nmigrations)
		return err_set(e, -EPROTO, "%s: schema version %d is newer than this daemon's (%d)",
			       db->path, v, db_nmigrations);
	for (; v < db_nmigrations; v++) {
		char bump[64];
		snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
		if ((rc = exec(db, "BEGIN IMMEDIATE", e)) < 0)
			return rc;
		struct err why = { 0 };
		if ((rc = exec(db, db_migrations[v], &why)) < 0 || (rc = exec(db, bump, &why)) < 0) {
			exec(db, "ROLLBACK", NULL);
			return err_set(e, rc, "migration to schema version %d: %s", v + 1, why.msg);
		}
		if ((rc = exec(db, "COMMIT", e)) < 0)
			return rc;
	}
	return 0;
}

int db_open(const char *path, struct db **out, struct err *e)
{
	struct db *db = calloc(1, sizeof *db);
	if (!db)
		return err_set(e, -ENOMEM, "%s: out of memory", path);
	snprintf(db->path, sizeof db->path, "%s", path);
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
	if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
		int rc = err_set(e, -EIO, "%s: %s", path, db->h ? sqlite3_errmsg(db->h) : "cannot open");
		db_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db->h, 5000);
	int rc;
	if ((rc = exec(db, "PRAGMA journal_mode = WAL", e)) < 0 ||
	    (rc = exec(db, "PRAGMA foreign_keys = ON", e)) < 0 ||
	    (rc = exec(db, "PRAGMA synchronous = NORMAL", e)) < 0 ||
	    (rc = migrate(db, e)) < 0) {
		db_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	sqlite3_close(db->h);
	free(db);
}

int db_prepare(struct db *db, const char *sql, sqlite3_stmt **st, struct err *e)
{
	if (sqlite3_prepare_v2(db->h, sql, -1, st, NULL) != SQLITE_OK)
		return db_sql_err(db, e, "preparing a statement");
	return 0;
}

void db_copy_text(char *dst, size_t len, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

int db_image_put(struct db *db, const struct image *im, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "INSERT INTO images (name, kind, path) VALUES (?1, ?2, ?3) "
			 "ON CONFLICT (name) DO UPDATE SET kind = ?2, path = ?3", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, im->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind_str(im->kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, im->path, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "saving an image");
	sqlite3_finalize(st);
	return rc;
}

/*
 * Steps a prepared statement (finalized here) and collects every row into a
 * growing array of `elem`-byte items filled by read_row; "what" names the
 * listing in errors.  On failure nothing is returned and nothing leaks.
 */
int db_collect(struct db *db, sqlite3_stmt *st, size_t elem,
	       void (*read_row)(sqlite3_stmt *st, void *item), void **out, size_t *n,
	       const char *what, struct err *e)
{
	char *v = NULL;
	size_t count = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char *nv = realloc(v, (count + 1) * elem);
		if (!nv) {
			free(v);
			sqlite3_finalize(st);
			return err_set(e, -ENOMEM, "%s: out of memory", what);
		}
		v = nv;
		read_row(st, v + count++ * elem);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return db_sql_err(db, e, what);
	}
	*out = v;
	*n = count;
	return 0;
}

int db_one(struct db *db, sqlite3_stmt *st, void (*read_row)(sqlite3_stmt *st, void *item),
	   void *out, const char *thing, const char *what, struct err *e)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_row(st, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = err_set(e, -ENOENT, "%s: no such %s", thing, what);
	} else {
		char ctx[64];
		snprintf(ctx, sizeof ctx, "reading a %s", what);
		rc = db_sql_err(db, e, ctx);
	}
	sqlite3_finalize(st);
	return rc;
}

static void read_image(sqlite3_stmt *st, struct image *im)
{
	db_copy_text(im->name, sizeof im->name, st, 0);
	char kind[16];
	db_copy_text(kind, sizeof kind, st, 1);
	kind_parse(kind, &im->kind);
	db_copy_text(im->path, sizeof im->path, st, 2);
	db_copy_text(im->project, sizeof im->project, st, 3);
}

static void read_image_row(sqlite3_stmt *st, void *item)
{
	read_image(st, item);
}

int db_image_get(struct db *db, const char *name, struct image *out, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT name, kind, path, project FROM images WHERE name = ?1", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_image(st, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = err_set(e, -ENOENT, "image \"%s\": no such image", name);
	} else {
		rc = db_sql_err(db, e, "reading an image");
	}
	sqlite3_finalize(st);
	return rc;
}

int db_image_list(struct db *db, struct image **out, size_t *n, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT name, kind, path, project FROM images ORDER BY name", &st, e);
	if (rc < 0)
		return rc;
	void *items;
	rc = db_collect(db, st, sizeof **out, read_image_row, &items, n, "listing images", e);
	if (rc == 0)
		*out = items;
	return rc;
}

#define INSTANCE_COLS "name, kind, image, state, pid, pid_start, created_at, started_at, " \
	"paused, cpus, memory_mib, command, project, host_key, terminal"

static void read_instance(sqlite3_stmt *st, struct instance *in)
{
	memset(in, 0, sizeof *in);
	char buf[16];
	db_copy_text(in->name, sizeof in->name, st, 0);
	db_copy_text(buf, sizeof buf, st, 1);
	kind_parse(buf, &in->kind);
	db_copy_text(in->image, sizeof in->image, st, 2);
	db_copy_text(buf, sizeof buf, st, 3);
	state_parse(buf, &in->state);
	in->pid = sqlite3_column_int64(st, 4);
	in->pid_start = sqlite3_column_int64(st, 5);
	in->created_at = sqlite3_column_int64(st, 6);
	in->started_at = sqlite3_column_int64(st, 7);
	in->paused = sqlite3_column_int(st, 8) != 0;
	in->cpus = sqlite3_column_int(st, 9);
	in->memory_mib = sqlite3_column_int64(st, 10);
	db_copy_text(in->command, sizeof in->command, st, 11);
	db_copy_text(in->project, sizeof in->project, st, 12);
	db_copy_text(in->key, sizeof in->key, st, 13);
	in->terminal = sqlite3_column_int(st, 14) != 0;
}

static void read_instance_row(sqlite3_stmt *st, void *item)
{
	read_instance(st, item);
}

int db_instance_insert(struct db *db, const struct instance *in, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "INSERT INTO instances (" INSTANCE_COLS ") "
			 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, in->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind_str(in->kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, in->image, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, state_str(in->state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, in->pid);
	sqlite3_bind_int64(st, 6, in->pid_start);
	sqlite3_bind_int64(st, 7, in->created_at);
	sqlite3_bind_int64(st, 8, in->started_at);
	sqlite3_bind_int(st, 9, in->paused);
	sqlite3_bind_int(st, 10, in->cpus);
	sqlite3_bind_int64(st, 11, in->memory_mib);
	sqlite3_bind_text(st, 12, in->command, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, in->project[0] ? in->project : "default", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 14, in->key[0] ? in->key : in->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 15, in->terminal);
	rc = sqlite3_step(st);
	int ext = sqlite3_extended_errcode(db->h);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE)
		return err_set(e, -EEXIST, "instance \"%s\": already exists", in->name);
	if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
		return err_set(e, -ENOENT, "image \"%s\": no such image", in->image);
	return db_sql_err(db, e, "saving an instance");
}

int db_instance_get(struct db *db, const char *name, struct instance *out, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT " INSTANCE_COLS " FROM instances WHERE host_key = ?1", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_instance(st, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = err_set(e, -ENOENT, "instance \"%s\": no such instance", name);
	} else {
		rc = db_sql_err(db, e, "reading an instance");
	}
	sqlite3_finalize(st);
	return rc;
}

int db_instance_list(struct db *db, struct instance **out, size_t *n, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT " INSTANCE_COLS " FROM instances ORDER BY name, project", &st, e);
	if (rc < 0)
		return rc;
	void *items;
	rc = db_collect(db, st, sizeof **out, read_instance_row, &items, n, "listing instances", e);
	if (rc == 0)
		*out = items;
	return rc;
}

int db_instance_update(struct db *db, const struct instance *in, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "UPDATE instances SET state = ?2, pid = ?3, pid_start = ?4, "
			 "started_at = ?5, paused = ?6, cpus = ?7, memory_mib = ?8 WHERE host_key = ?1", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, in->key[0] ? in->key : in->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, state_str(in->state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, in->pid);
	sqlite3_bind_int64(st, 4, in->pid_start);
	sqlite3_bind_int64(st, 5, in->started_at);
	sqlite3_bind_int(st, 6, in->paused);
	sqlite3_bind_int(st, 7, in->cpus);
	sqlite3_bind_int64(st, 8, in->memory_mib);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "updating an instance");
	sqlite3_finalize(st);
	if (rc == 0 && sqlite3_changes(db->h) == 0)
		return err_set(e, -ENOENT, "instance \"%s\": no such instance", in->name);
	return rc;
}

int db_instance_delete(struct db *db, const char *name, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "DELETE FROM instances WHERE host_key = ?1", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "deleting an instance");
	sqlite3_finalize(st);
	if (rc == 0 && sqlite3_changes(db->h) == 0)
		return err_set(e, -ENOENT, "instance \"%s\": no such instance", name);
	return rc;
}


int db_instance_find(struct db *db, const char *project, const char *name,
		     struct instance *out, struct err *e)
{
	char key[INSTANCE_NAME_MAX + 1];
	int rc = host_key_find(db, "instances", "instance", project, name, key, sizeof key, e);
	return rc < 0 ? rc : db_instance_get(db, key, out, e);
}
