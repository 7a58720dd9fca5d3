#include "daemon/db.h"
#include "daemon/fsutil.h"
#include "lib/testing.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *tmpdb(char *buf, size_t len)
{
	char dir[] = "/tmp/nimbus-db-test.XXXXXX";
	if (!mkdtemp(dir))
		return NULL;
	snprintf(buf, len, "%s/nimbus.db", dir);
	return buf;
}

static void cleanup(const char *dbpath)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s", dbpath);
	*strrchr(dir, '/') = 0;
	rm_rf(dir, NULL);
}

TEST(db_migrates_a_new_database_and_keeps_rows_across_opens)
{
	char path[256];
	EXPECT(tmpdb(path, sizeof path));
	struct db *db;
	struct err e = { 0 };
	EXPECT(db_open(path, &db, &e) == 0);
	struct image im = { .name = "bb", .kind = KIND_CONTAINER, .path = "/x" };
	EXPECT(db_image_put(db, &im, &e) == 0);
	struct instance in = { .name = "c1", .kind = KIND_CONTAINER, .image = "bb",
			       .state = STATE_RUNNING, .pid = 42, .pid_start = 7, .created_at = 1 };
	EXPECT(db_instance_insert(db, &in, &e) == 0);
	db_close(db);
	EXPECT(db_open(path, &db, &e) == 0);
	struct instance got;
	EXPECT(db_instance_get(db, "c1", &got, &e) == 0);
	EXPECT(got.state == STATE_RUNNING && got.pid == 42 && got.pid_start == 7);
	EXPECT(!strcmp(got.image, "bb") && got.kind == KIND_CONTAINER);
	db_close(db);
	cleanup(path);
}

TEST(db_refuses_duplicates_unknown_images_and_missing_rows)
{
	char path[256];
	EXPECT(tmpdb(path, sizeof path));
	struct db *db;
	struct err e = { 0 };
	EXPECT(db_open(path, &db, &e) == 0);
	struct image im = { .name = "bb", .kind = KIND_CONTAINER, .path = "/x" };
	EXPECT(db_image_put(db, &im, &e) == 0);
	struct instance in = { .name = "c1", .kind = KIND_CONTAINER, .image = "bb" };
	EXPECT(db_instance_insert(db, &in, &e) == 0);
	EXPECT(db_instance_insert(db, &in, &e) == -EEXIST && strstr(e.msg, "already exists"));
	struct instance orphan = { .name = "c2", .kind = KIND_CONTAINER, .image = "nope" };
	EXPECT(db_instance_insert(db, &orphan, &e) == -ENOENT && strstr(e.msg, "image \"nope\""));
	struct instance got;
	EXPECT(db_instance_get(db, "zz", &got, &e) == -ENOENT);
	EXPECT(db_instance_delete(db, "zz", &e) == -ENOENT);
	EXPECT(db_instance_update(db, &orphan, &e) == -ENOENT);
	EXPECT(db_instance_delete(db, "c1", &e) == 0);
	db_close(db);
	cleanup(path);
}

TEST(db_refuses_a_schema_from_a_newer_daemon)
{
	char path[256];
	EXPECT(tmpdb(path, sizeof path));
	sqlite3 *h;
	EXPECT(sqlite3_open(path, &h) == SQLITE_OK);
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", db_schema_version() + 1);
	EXPECT(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(h);
	struct db *db;
	struct err e = { 0 };
	EXPECT(db_open(path, &db, &e) == -EPROTO && strstr(e.msg, "newer"));
	cleanup(path);
}
