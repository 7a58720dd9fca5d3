/* Image rows beyond db.c's: deletion, refused while an instance uses the
 * image (the schema's ON DELETE RESTRICT is the guard; the query before it
 * only names the instance for the message). */
#include "daemon/db.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>

int db_image_delete(struct db *db, const char *name, struct err *e)
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h, "SELECT name FROM instances WHERE image = ?1 ORDER BY name LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return err_set(e, -EIO, "%s: %s", db_file(db), sqlite3_errmsg(h));
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		rc = err_set(e, -EBUSY, "image \"%s\": used by instance \"%s\" (delete it first)", name,
			     (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	if (sqlite3_prepare_v2(h, "DELETE FROM images WHERE name = ?1", -1, &st, NULL) != SQLITE_OK)
		return err_set(e, -EIO, "%s: %s", db_file(db), sqlite3_errmsg(h));
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	int ext = sqlite3_extended_errcode(h);
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return ext == SQLITE_CONSTRAINT_FOREIGNKEY
			? err_set(e, -EBUSY, "image \"%s\": in use by an instance", name)
			: err_set(e, -EIO, "%s: deleting an image: %s", db_file(db), sqlite3_errmsg(h));
	if (sqlite3_changes(h) == 0)
		return err_set(e, -ENOENT, "image \"%s\": no such image", name);
	return 0;
}
