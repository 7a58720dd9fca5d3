/* See project.h.  Bound parameters only, as in db.c. */
#include "daemon/project.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int no_project(const char *name, struct err *e)
{
	return err_set(e, -ENOENT, "project \"%s\": no such project", name);
}

int project_create(struct db *db, const char *name, const struct quota *limit, struct err *e)
{
	struct quota d;
	if (!limit) {
		quota_defaults(&d);
		limit = &d;
	}
	sqlite3_stmt *st;
	int rc = db_prepare(db, "INSERT INTO projects (name, created_at, quota_instances, quota_cpus, "
			 "quota_memory, quota_disk, quota_networks) VALUES (?1, ?2, ?3, ?4, ?5, "
			 "?6, ?7)", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (long long)time(NULL));
	for (int k = 0; k < QUOTA_N; k++)
		sqlite3_bind_int64(st, 3 + k, limit->v[k]);
	rc = sqlite3_step(st);
	int ext = sqlite3_extended_errcode(db_sqlite(db));
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (ext == SQLITE_CONSTRAINT_PRIMARYKEY)
		return err_set(e, -EEXIST, "project \"%s\": already exists", name);
	return db_sql_err(db, e, "saving a project");
}

#define PROJECT_COLS "name, created_at, quota_instances, quota_cpus, quota_memory, " \
	"quota_disk, quota_networks"

static void read_project(sqlite3_stmt *st, struct project *p)
{
	db_copy_text(p->name, sizeof p->name, st, 0);
	p->created_at = sqlite3_column_int64(st, 1);
	for (int k = 0; k < QUOTA_N; k++)
		p->limit.v[k] = sqlite3_column_int64(st, 2 + k);
}

static void read_project_row(sqlite3_stmt *st, void *item)
{
	read_project(st, item);
}

int project_get(struct db *db, const char *name, struct project *out, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT " PROJECT_COLS " FROM projects WHERE name = ?1", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_project(st, out);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? no_project(name, e) : db_sql_err(db, e, "reading a project");
	}
	sqlite3_finalize(st);
	return rc;
}

int project_list(struct db *db, struct project **out, size_t *n, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT " PROJECT_COLS " FROM projects ORDER BY name", &st, e);
	if (rc < 0)
		return rc;
	void *items;
	rc = db_collect(db, st, sizeof **out, read_project_row, &items, n, "listing projects", e);
	if (rc == 0)
		*out = items;
	return rc;
}

/* One integer from a query with the project's name as ?1. */
static int count_of(struct db *db, const char *sql, const char *name, long long *out,
		    struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, sql, &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : db_sql_err(db, e, "counting a project's usage");
}

int project_usage(struct db *db, const char *name, struct quota *out, struct err *e)
{
	memset(out, 0, sizeof *out);
	int rc;
	if ((rc = count_of(db, "SELECT count(*) FROM instances WHERE project = ?1", name,
			   &out->v[QUOTA_INSTANCES], e)) < 0 ||
	    (rc = count_of(db, "SELECT coalesce(sum(" SQL_INSTANCE_CPUS "), 0) FROM instances "
			   "WHERE project = ?1",
			   name, &out->v[QUOTA_CPUS], e)) < 0 ||
	    (rc = count_of(db, "SELECT coalesce(sum(" SQL_INSTANCE_MEMORY "), 0) FROM instances "
			   "WHERE project = ?1",
			   name, &out->v[QUOTA_MEMORY], e)) < 0 ||
	    (rc = count_of(db, "SELECT count(*) FROM networks WHERE project = ?1", name,
			   &out->v[QUOTA_NETWORKS], e)) < 0 ||
	    (rc = count_of(db, "SELECT (SELECT coalesce(sum(size), 0) FROM volumes WHERE "
			   "project = ?1) + " SQL_INSTANCE_DISKS_OF_PROJECT,
			   name, &out->v[QUOTA_DISK], e)) < 0)
		return rc;
	return 0;
}

int project_admit(struct db *db, const char *name, const struct quota *need, struct err *e)
{
	struct project p;
	struct quota use;
	int rc;
	if ((rc = project_get(db, name, &p, e)) < 0 || (rc = project_usage(db, name, &use, e)) < 0)
		return rc;
	return quota_check(name, &p.limit, &use, need, e);
}

int project_delete(struct db *db, const char *name, struct err *e)
{
	if (!strcmp(name, PROJECT_DEFAULT))
		return err_set(e, -EPERM, "project \"%s\": the host's own project cannot be deleted",
			       name);
	struct project p;
	struct quota use;
	int rc;
	if ((rc = project_get(db, name, &p, e)) < 0 || (rc = project_usage(db, name, &use, e)) < 0)
		return rc;
	if (use.v[QUOTA_INSTANCES] > 0)
		return err_set(e, -EBUSY, "project \"%s\": owns %lld instance%s (delete them first)",
			       name, use.v[QUOTA_INSTANCES], use.v[QUOTA_INSTANCES] == 1 ? "" : "s");
	long long vols = 0;
	if ((rc = count_of(db, "SELECT count(*) FROM volumes WHERE project = ?1", name, &vols, e)) < 0)
		return rc;
	if (vols > 0)
		return err_set(e, -EBUSY, "project \"%s\": owns %lld volume%s (delete them first)",
			       name, vols, vols == 1 ? "" : "s");
	if (use.v[QUOTA_NETWORKS] > 0)
		return err_set(e, -EBUSY, "project \"%s\": owns %lld network%s (delete them first)",
			       name, use.v[QUOTA_NETWORKS], use.v[QUOTA_NETWORKS] == 1 ? "" : "s");
	long long images = 0;
	if ((rc = count_of(db, "SELECT count(*) FROM images WHERE project = ?1", name, &images,
			   e)) < 0)
		return rc;
	if (images > 0)
		return err_set(e, -EBUSY, "project \"%s\": owns %lld private image%s (delete them or "
			       "make them public first)", name, images, images == 1 ? "" : "s");
	sqlite3_stmt *st;
	if ((rc = db_prepare(db, "DELETE FROM projects WHERE name = ?1", &st, e)) < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "deleting a project");
	sqlite3_finalize(st);
	return rc;
}

int project_set_quota(struct db *db, const char *name, unsigned mask, const struct quota *q,
		      struct err *e)
{
	struct project p;
	int rc = project_get(db, name, &p, e);
	if (rc < 0)
		return rc;
	for (int k = 0; k < QUOTA_N; k++)
		if (mask & (1u << k))
			p.limit.v[k] = q->v[k];
	sqlite3_stmt *st;
	if ((rc = db_prepare(db, "UPDATE projects SET quota_instances = ?2, quota_cpus = ?3, "
			  "quota_memory = ?4, quota_disk = ?5, quota_networks = ?6 WHERE name = ?1",
			  &st, e)) < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	for (int k = 0; k < QUOTA_N; k++)
		sqlite3_bind_int64(st, 2 + k, p.limit.v[k]);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "setting a quota");
	sqlite3_finalize(st);
	return rc;
}

int token_insert(struct db *db, const char *id, const char *hash, const char *project,
		 enum role role, struct err *e)
{
	struct project p;
	int rc = project_get(db, project, &p, e);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st;
	if ((rc = db_prepare(db, "INSERT INTO tokens (id, hash, project, role, created_at) "
			  "VALUES (?1, ?2, ?3, ?4, ?5)", &st, e)) < 0)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, project, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, role_str(role), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (long long)time(NULL));
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "saving a token");
	sqlite3_finalize(st);
	return rc;
}

int token_list(struct db *db, const char *project, struct token_info **out, size_t *n,
	       struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT id, project, role, created_at FROM tokens "
			 "WHERE ?1 IS NULL OR project = ?1 ORDER BY project, created_at, id", &st, e);
	if (rc < 0)
		return rc;
	if (project)
		sqlite3_bind_text(st, 1, project, -1, SQLITE_STATIC);
	struct token_info *v = NULL;
	size_t count = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct token_info *nv = realloc(v, (count + 1) * sizeof *v);
		if (!nv) {
			free(v);
			sqlite3_finalize(st);
			return err_set(e, -ENOMEM, "listing tokens: out of memory");
		}
		v = nv;
		struct token_info *t = &v[count++];
		char role[16];
		db_copy_text(t->id, sizeof t->id, st, 0);
		db_copy_text(t->project, sizeof t->project, st, 1);
		db_copy_text(role, sizeof role, st, 2);
		role_parse(role, &t->role, NULL);
		t->created_at = sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return db_sql_err(db, e, "listing tokens");
	}
	*out = v;
	*n = count;
	return 0;
}

int token_delete(struct db *db, const char *id, const char *project, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "DELETE FROM tokens WHERE id = ?1 AND (?2 IS NULL OR project = ?2)",
			 &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (project)
		sqlite3_bind_text(st, 2, project, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "revoking a token");
	sqlite3_finalize(st);
	if (rc == 0 && sqlite3_changes(db_sqlite(db)) == 0)
		return err_set(e, -ENOENT, "token \"%s\": no such token", id);
	return rc;
}

int token_authenticate(struct db *db, const char *secret, struct caller *out, struct err *e)
{
	char hash[TOKEN_HASH_HEX + 1];
	int rc = auth_token_hash(secret, hash, e);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st;
	if ((rc = db_prepare(db, "SELECT id, project, role FROM tokens WHERE hash = ?1", &st, e)) < 0)
		return rc;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		char role[16];
		memset(out, 0, sizeof *out);
		db_copy_text(out->token_id, sizeof out->token_id, st, 0);
		db_copy_text(out->project, sizeof out->project, st, 1);
		db_copy_text(role, sizeof role, st, 2);
		rc = role_parse(role, &out->role, e);
	} else {
		rc = rc == SQLITE_DONE ? err_set(e, -EACCES, "token: not valid (unknown or revoked)")
				       : db_sql_err(db, e, "checking a token");
	}
	sqlite3_finalize(st);
	return rc;
}
