/* See journal.h. */
#include "daemon/journal.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const op_names[] = {
	[JOURNAL_LAUNCH] = "launch", [JOURNAL_CREATE] = "create", [JOURNAL_START] = "start",
	[JOURNAL_STOP] = "stop", [JOURNAL_RESTART] = "restart", [JOURNAL_DELETE] = "delete",
};

const char *journal_op_str(enum journal_op op)
{
	return (size_t)op < sizeof op_names / sizeof op_names[0] ? op_names[op] : "?";
}

static enum journal_op op_parse(const char *s)
{
	for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
		if (!strcmp(s, op_names[i]))
			return (enum journal_op)i;
	/* The CHECK constraint admits no other; a start is the safe reading
	 * (rolled back to stopped unless running). */
	return JOURNAL_START;
}

int journal_begin(struct db *db, const struct instance *in, enum journal_op op, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "INSERT INTO instance_journal (host_key, name, project, kind, op, "
			    "started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, in->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, in->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, in->project, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, kind_str(in->kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, journal_op_str(op), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (long long)time(NULL));
	int step = sqlite3_step(st);
	if (step == SQLITE_DONE)
		rc = 0;
	else if ((step & 0xff) == SQLITE_CONSTRAINT)
		rc = err_set(e, -EEXIST, "instance \"%s\": an operation on it is already journaled",
			     in->name);
	else
		rc = db_sql_err(db, e, "journaling an operation");
	sqlite3_finalize(st);
	return rc;
}

int journal_end(struct db *db, const char *key, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "DELETE FROM instance_journal WHERE host_key = ?1", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "ending a journaled operation");
	sqlite3_finalize(st);
	return rc;
}

static void read_entry(sqlite3_stmt *st, void *item)
{
	struct journal_entry *j = item;
	db_copy_text(j->key, sizeof j->key, st, 0);
	db_copy_text(j->name, sizeof j->name, st, 1);
	db_copy_text(j->project, sizeof j->project, st, 2);
	char s[16];
	db_copy_text(s, sizeof s, st, 3);
	if (kind_parse(s, &j->kind) < 0)
		j->kind = KIND_CONTAINER;
	db_copy_text(s, sizeof s, st, 4);
	j->op = op_parse(s);
	j->started_at = sqlite3_column_int64(st, 5);
}

int journal_list(struct db *db, struct journal_entry **out, size_t *n, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT host_key, name, project, kind, op, started_at FROM "
			    "instance_journal ORDER BY started_at, rowid", &st, e);
	if (rc < 0)
		return rc;
	void *rows;
	rc = db_collect(db, st, sizeof(struct journal_entry), read_entry, &rows, n,
			"the journal of operations", e);
	*out = rc == 0 ? rows : NULL;
	return rc;
}
