/*
 * PATCH /1.0/images/NAME {"project": P | null}: an image private to one
 * project, or public (every project's, as every image is when imported).
 * Only the host admin changes it (gate.c: images are the host's to change).
 *
 * A private image is another project's "no such image": a token's image
 * list leaves it out (gate.c) and a launch from it elsewhere is refused
 * with the answer a missing image gets (service_create).  Making an image
 * private is refused while instances of other projects use it, so nothing
 * that exists loses its image.
 */
#include "daemon/api_cloud.h"
#include "daemon/project.h"
#include "daemon/request_cloud.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* How many instances outside project use image name. */
static int used_elsewhere(struct db *db, const char *name, const char *project, long long *n,
			  struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT count(*) FROM instances WHERE image = ?1 AND project != ?2",
			    &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, project, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_ROW ? 0 : db_sql_err(db, e, "counting an image's users");
	*n = rc == 0 ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc;
}

static int set_owner(struct db *db, const char *name, const char *project, struct err *e)
{
	struct image im;
	struct project p;
	long long users = 0;
	int rc = db_image_get(db, name, &im, e);
	if (rc < 0 || (project[0] && (rc = project_get(db, project, &p, e)) < 0))
		return rc;
	if (project[0] && (rc = used_elsewhere(db, name, project, &users, e)) < 0)
		return rc;
	if (users)
		return err_set(e, -EBUSY, "image \"%s\": %lld instance%s of other projects use%s it "
			       "(delete them first, or keep it public)", name, users,
			       users == 1 ? "" : "s", users == 1 ? "s" : "");
	sqlite3_stmt *st;
	if ((rc = db_prepare(db, "UPDATE images SET project = ?2 WHERE name = ?1", &st, e)) < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, project, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "changing an image's owner");
	sqlite3_finalize(st);
	return rc;
}

API_HANDLER(api_image_owner)
{
	struct err e = { 0 };
	char project[INSTANCE_NAME_MAX + 1];
	if (request_parse_image_owner(r->body, r->body_len, project, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	struct db *db = service_lock(s);
	int rc = set_owner(db, name, project, &e);
	service_unlock(s);
	if (rc < 0) {
		api_error_from(out, &e);
		return 0;
	}
	out->status = 200;
	out->json = cJSON_CreateObject();
	cJSON_AddStringToObject(out->json, "name", name);
	if (project[0])
		cJSON_AddStringToObject(out->json, "project", project);
	else
		cJSON_AddNullToObject(out->json, "project");
	return 0;
}
