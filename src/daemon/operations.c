/* See operations.h. */
#include "daemon/operations.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct operations {
	struct db *db;
	pthread_mutex_t *lock;
	pthread_cond_t changed;
};

#define COLS "id, type, status, progress, stage, error, resource, created_at, updated_at, project"

static int sql_err(struct operations *o, struct err *e, const char *what)
{
	return err_set(e, -EIO, "%s: %s: %s", db_file(o->db), what,
		       sqlite3_errmsg(db_sqlite(o->db)));
}

static void copy(char *dst, size_t len, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

static void read_row(sqlite3_stmt *st, struct operation *op)
{
	memset(op, 0, sizeof *op);
	copy(op->id, sizeof op->id, st, 0);
	copy(op->type, sizeof op->type, st, 1);
	copy(op->status, sizeof op->status, st, 2);
	op->progress = sqlite3_column_int(st, 3);
	copy(op->stage, sizeof op->stage, st, 4);
	copy(op->error, sizeof op->error, st, 5);
	copy(op->resource, sizeof op->resource, st, 6);
	op->created_at = sqlite3_column_int64(st, 7);
	op->updated_at = sqlite3_column_int64(st, 8);
	copy(op->project, sizeof op->project, st, 9);
}

bool operation_visible(const struct operation *op, const char *project)
{
	return !project || (op->project[0] && !strcmp(op->project, project));
}

static int run_sql(struct operations *o, const char *sql, const char *a, const char *b,
		   const char *c, long long n, struct err *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db_sqlite(o->db), sql, -1, &st, NULL) != SQLITE_OK)
		return sql_err(o, e, "operations");
	if (a)
		sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	if (c)
		sqlite3_bind_text(st, 3, c, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, n);
	sqlite3_bind_int64(st, 5, (long long)time(NULL));
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_err(o, e, "operations");
	sqlite3_finalize(st);
	return rc;
}

struct operations *operations_open(struct db *db, pthread_mutex_t *lock, int *interrupted,
				   struct err *e)
{
	struct operations *o = calloc(1, sizeof *o);
	if (!o) {
		err_set(e, -ENOMEM, "daemon: out of memory");
		return NULL;
	}
	o->db = db;
	o->lock = lock;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&o->changed, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(lock);
	int rc = run_sql(o, "UPDATE operations SET status = 'failure', error = ?1, "
			 "updated_at = ?5 WHERE status = 'running' AND ?4 = ?4",
			 OPERATION_INTERRUPTED, NULL, NULL, 0, e);
	*interrupted = rc == 0 ? sqlite3_changes(db_sqlite(db)) : 0;
	if (rc == 0)
		rc = run_sql(o, "DELETE FROM operations WHERE status != 'running' AND "
			     "updated_at < ?5 - ?4", NULL, NULL, NULL, OPERATIONS_KEEP_S, e);
	pthread_mutex_unlock(lock);
	if (rc < 0) {
		operations_free(o);
		return NULL;
	}
	return o;
}

void operations_free(struct operations *o)
{
	if (!o)
		return;
	pthread_cond_destroy(&o->changed);
	free(o);
}

int operations_start(struct operations *o, const char *type, const char *resource,
		     struct operation *out, struct err *e)
{
	return operations_start_in(o, "", type, resource, out, e);
}

int operations_start_in(struct operations *o, const char *project, const char *type,
			const char *resource, struct operation *out, struct err *e)
{
	unsigned char r[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, r, sizeof r) != (ssize_t)sizeof r) {
		if (fd >= 0)
			close(fd);
		return err_set(e, -EIO, "operations: /dev/urandom: %s", strerror(errno));
	}
	close(fd);
	memset(out, 0, sizeof *out);
	strcpy(out->id, "op-");
	for (int i = 0; i < 16; i++)
		sprintf(out->id + 3 + 2 * i, "%02x", r[i]);
	snprintf(out->type, sizeof out->type, "%s", type);
	strcpy(out->status, "running");
	snprintf(out->resource, sizeof out->resource, "%s", resource);
	snprintf(out->project, sizeof out->project, "%s", project ? project : "");
	out->created_at = out->updated_at = (long long)time(NULL);
	pthread_mutex_lock(o->lock);
	sqlite3_stmt *st;
	int rc = 0;
	if (sqlite3_prepare_v2(db_sqlite(o->db), "INSERT INTO operations (id, type, status, "
			       "resource, created_at, updated_at, project) VALUES (?1, ?2, "
			       "'running', ?3, ?4, ?4, ?5)", -1, &st, NULL) != SQLITE_OK) {
		rc = sql_err(o, e, "operations");
	} else {
		sqlite3_bind_text(st, 1, out->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, out->type, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, out->resource, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, out->created_at);
		sqlite3_bind_text(st, 5, out->project, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_err(o, e, "operations");
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(o->lock);
	return rc;
}

int operations_settle_interrupted(struct operations *o, const char *project, const char *type,
				  const char *resource, const char *failure, const char *stage)
{
	pthread_mutex_lock(o->lock);
	sqlite3_stmt *st;
	int rc = -EIO;
	if (sqlite3_prepare_v2(db_sqlite(o->db),
			       "UPDATE operations SET status = ?1, error = ?2, stage = ?3, "
			       "progress = CASE WHEN ?1 = 'success' THEN 100 ELSE progress END, "
			       "updated_at = ?4 WHERE id = (SELECT id FROM operations WHERE "
			       "project = ?5 AND type = ?6 AND resource = ?7 AND status = 'failure' "
			       "AND error = ?8 ORDER BY created_at DESC LIMIT 1)", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, failure ? "failure" : "success", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, failure ? failure : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, stage ? stage : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (long long)time(NULL));
		sqlite3_bind_text(st, 5, project ? project : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, type, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, resource, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, OPERATION_INTERRUPTED, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_DONE)
			rc = sqlite3_changes(db_sqlite(o->db));
		sqlite3_finalize(st);
	}
	pthread_cond_broadcast(&o->changed);
	pthread_mutex_unlock(o->lock);
	return rc;
}

void operations_progress(struct operations *o, const char *id, int pct, const char *stage)
{
	pthread_mutex_lock(o->lock);
	run_sql(o, "UPDATE operations SET progress = ?4, stage = ?2, updated_at = ?5 "
		"WHERE id = ?1 AND status = 'running'", id, stage, NULL, pct, NULL);
	pthread_cond_broadcast(&o->changed);
	pthread_mutex_unlock(o->lock);
}

void operations_finish(struct operations *o, const char *id, const struct err *failure)
{
	pthread_mutex_lock(o->lock);
	if (failure)
		run_sql(o, "UPDATE operations SET status = 'failure', error = ?2, updated_at = ?5 "
			"WHERE id = ?1 AND ?4 = ?4", id, failure->msg[0] ? failure->msg : "failed",
			NULL, 0, NULL);
	else
		run_sql(o, "UPDATE operations SET status = 'success', progress = ?4, stage = '', "
			"updated_at = ?5 WHERE id = ?1", id, NULL, NULL, 100, NULL);
	pthread_cond_broadcast(&o->changed);
	pthread_mutex_unlock(o->lock);
}

/* Lock held. */
static int get_locked(struct operations *o, const char *id, struct operation *out, struct err *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db_sqlite(o->db), "SELECT " COLS " FROM operations WHERE id = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return sql_err(o, e, "reading an operation");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_row(st, out);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? err_set(e, -ENOENT, "operation \"%s\": no such operation", id)
				       : sql_err(o, e, "reading an operation");
	}
	sqlite3_finalize(st);
	return rc;
}

int operations_get(struct operations *o, const char *id, int wait_s, struct operation *out,
		   struct err *e)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += wait_s;
	pthread_mutex_lock(o->lock);
	int rc;
	while ((rc = get_locked(o, id, out, e)) == 0 && wait_s > 0 &&
	       !strcmp(out->status, "running"))
		if (pthread_cond_timedwait(&o->changed, o->lock, &until) == ETIMEDOUT)
			wait_s = 0;
	pthread_mutex_unlock(o->lock);
	return rc;
}

int operations_list(struct operations *o, struct operation **out, size_t *n, struct err *e)
{
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(o->lock);
	sqlite3_stmt *st;
	int rc = 0;
	if (sqlite3_prepare_v2(db_sqlite(o->db), "SELECT " COLS " FROM operations ORDER BY "
			       "created_at, rowid", -1, &st, NULL) != SQLITE_OK) {
		rc = sql_err(o, e, "listing operations");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct operation *nv = realloc(*out, (*n + 1) * sizeof **out);
		if (!nv) {
			rc = SQLITE_NOMEM;
			break;
		}
		*out = nv;
		read_row(st, &(*out)[(*n)++]);
	}
	sqlite3_finalize(st);
	rc = rc == SQLITE_DONE ? 0 : sql_err(o, e, "listing operations");
	if (rc < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
out:
	pthread_mutex_unlock(o->lock);
	return rc;
}
