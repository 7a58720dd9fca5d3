/* See host_key.h. */
#include "daemon/host_key.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* table is one of ours, never a request's: it is pasted into the SQL. */
static bool known_table(const char *table)
{
	return !strcmp(table, "instances") || !strcmp(table, "networks") ||
	       !strcmp(table, "volumes");
}

static int key_taken(struct db *db, const char *table, const char *key, bool *taken,
		     struct err *e)
{
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE host_key = ?1", table);
	sqlite3_stmt *st;
	int rc = db_prepare(db, sql, &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_sql_err(db, e, "looking up a host key");
	*taken = rc == SQLITE_ROW;
	return 0;
}

int host_key_pick(struct db *db, const char *table, const char *name, char *out, size_t len,
		  struct err *e)
{
	if (!known_table(table))
		return err_set(e, -EINVAL, "host key: no table %s", table);
	snprintf(out, len, "%s", name);
	bool taken;
	int rc;
	for (int tries = 0; (rc = key_taken(db, table, out, &taken, e)) == 0 && taken; tries++) {
		unsigned char r[3];
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		bool ok = fd >= 0 && read(fd, r, sizeof r) == (ssize_t)sizeof r;
		if (fd >= 0)
			close(fd);
		if (!ok || tries == 16)
			return err_set(e, -EIO, "\"%s\": cannot find a free host key", name);
		snprintf(out, len, "%.56s-%02x%02x%02x", name, r[0], r[1], r[2]);
	}
	return rc;
}

int host_key_find(struct db *db, const char *table, const char *noun, const char *project,
		  const char *name, char *out, size_t len, struct err *e)
{
	if (!known_table(table))
		return err_set(e, -EINVAL, "host key: no table %s", table);
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT host_key, project FROM %s WHERE name = ?1 AND "
		 "(?2 IS NULL OR project = ?2) ORDER BY project LIMIT 3", table);
	sqlite3_stmt *st;
	int rc = db_prepare(db, sql, &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (project)
		sqlite3_bind_text(st, 2, project, -1, SQLITE_STATIC);
	char projects[3][INSTANCE_NAME_MAX + 1];
	int n = 0;
	while (n < 3 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == 0)
			db_copy_text(out, len, st, 0);
		db_copy_text(projects[n], sizeof projects[n], st, 1);
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_sql_err(db, e, "looking up a name");
	if (n == 0)
		return err_set(e, -ENOENT, "%s \"%s\": no such %s", noun, name, noun);
	if (n > 1)
		return err_set(e, -EEXIST, "%s \"%s\": one in each of the projects %s, %s%s "
			       "(name the project: ?project=NAME)", noun, name, projects[0],
			       projects[1], n > 2 ? " and more" : "");
	return 0;
}
