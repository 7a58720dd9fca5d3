/* See profile.h. */
#include "daemon/profile.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A stored config column back into p (written by this file, so trusted
 * as to shape; anything odd in it is skipped). */
static void config_read(const char *text, struct profile *p)
{
	cJSON *j = cJSON_Parse(text);
	const cJSON *v;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "cpus")) && cJSON_IsNumber(v))
		p->cpus = v->valueint;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "memory_mib")) && cJSON_IsNumber(v))
		p->memory_mib = (long long)v->valuedouble;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "network")) && cJSON_IsString(v))
		snprintf(p->network, sizeof p->network, "%s", v->valuestring);
	const cJSON *d;
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(j, "disks")) {
		if (p->ndisks < DISKS_MAX && cJSON_IsNumber(d) && d->string) {
			snprintf(p->disks[p->ndisks].name, sizeof p->disks[0].name, "%s", d->string);
			p->disks[p->ndisks++].size_mib = (long long)d->valuedouble;
		}
	}
	cJSON_Delete(j);
}

static void read_row(sqlite3_stmt *st, void *item)
{
	struct profile *p = item;
	memset(p, 0, sizeof *p);
	db_copy_text(p->name, sizeof p->name, st, 0);
	const unsigned char *cfg = sqlite3_column_text(st, 1);
	config_read(cfg ? (const char *)cfg : "{}", p);
	db_copy_text(p->description, sizeof p->description, st, 2);
	p->created_at = sqlite3_column_int64(st, 3);
}

#define COLUMNS "SELECT name, config, description, created_at FROM profiles"

int profile_get(struct db *db, const char *name, struct profile *out, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, COLUMNS " WHERE name = ?", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	char thing[INSTANCE_NAME_MAX + 16];
	snprintf(thing, sizeof thing, "profile \"%s\"", name);
	return db_one(db, st, read_row, out, thing, "profiles", e);
}

int profile_list(struct db *db, struct profile **out, size_t *n, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, COLUMNS " ORDER BY name", &st, e);
	if (rc < 0)
		return rc;
	return db_collect(db, st, sizeof **out, read_row, (void **)out, n, "profiles", e);
}

static int write_row(struct db *db, const struct profile *p, bool insert, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, insert ? "INSERT INTO profiles (name, config, description, "
				"created_at) VALUES (?1, ?2, ?3, ?4)"
			    : "UPDATE profiles SET config = ?2, description = ?3 WHERE name = ?1",
			    &st, e);
	if (rc < 0)
		return rc;
	cJSON *cfg = profile_config_json(p);
	char *text = cJSON_PrintUnformatted(cfg);
	cJSON_Delete(cfg);
	if (!text) {
		sqlite3_finalize(st);
		return err_set(e, -ENOMEM, "profile \"%s\": out of memory", p->name);
	}
	sqlite3_bind_text(st, 1, p->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, p->description, -1, SQLITE_TRANSIENT);
	if (insert)
		sqlite3_bind_int64(st, 4, p->created_at ? p->created_at : (long long)time(NULL));
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	free(text);
	if (rc == SQLITE_CONSTRAINT)
		return err_set(e, -EEXIST, "profile \"%s\": exists", p->name);
	if (rc != SQLITE_DONE)
		return db_sql_err(db, e, "profiles");
	return 0;
}

int profile_insert(struct db *db, const struct profile *p, struct err *e)
{
	return write_row(db, p, true, e);
}

int profile_update(struct db *db, const struct profile *p, struct err *e)
{
	return write_row(db, p, false, e);
}

int profile_delete(struct db *db, const char *name, struct err *e)
{
	if (!strcmp(name, PROFILE_DEFAULT))
		return err_set(e, -EBUSY, "profile \"%s\": is applied to every launch that names no "
			       "profile and cannot be deleted (empty it instead)", name);
	sqlite3_stmt *st;
	int rc = db_prepare(db, "DELETE FROM profiles WHERE name = ?", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_sql_err(db, e, "profiles");
	if (sqlite3_changes(db_sqlite(db)) == 0)
		return err_set(e, -ENOENT, "profile \"%s\": no such profile", name);
	return 0;
}
