#include "daemon/db.h"
#include "daemon/host_key.h"
#include "daemon/db_migrations.h"
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

/* A database of schema version `version` (its first migrations applied)
 * holding an instance `web` (inserted by `instance`, in that version's
 * columns) on network n1 with a forward, and a volume v1 attached to it. */
static void old_db(char *path, size_t len, int version, const char *instance)
{
	EXPECT(tmpdb(path, len));
	sqlite3 *h;
	EXPECT(sqlite3_open(path, &h) == SQLITE_OK);
	sqlite3_exec(h, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	for (int i = 0; i < version; i++)
		EXPECT(sqlite3_exec(h, db_migrations[i], NULL, NULL, NULL) == SQLITE_OK);
	char sql[1024];
	snprintf(sql, sizeof sql,
		"PRAGMA user_version = %d;"
		"INSERT INTO images VALUES ('bb', 'container', '/x');"
		"INSERT INTO projects VALUES ('p2', 0, -1, -1, -1, -1, -1);"
		"%s"
		"INSERT INTO networks VALUES ('n1', 'default', '10.20.0.0/24', 0, 0, 'nb1', 0, 0, 1);"
		"INSERT INTO nics VALUES ('web', 'n1', 167772162, '52:54:00:00:00:02');"
		"INSERT INTO forwards VALUES ('n1', 'tcp', 8080, 'web', 80);"
		"INSERT INTO volumes VALUES ('v1', 'default', 'dir', 1, NULL, 'web', 1);",
		version, instance);
	EXPECT(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(h);
}

/* Migration 11: a database of the schema before per-project names, with an
 * instance, a NIC, a forward and an attached volume, opened by this daemon:
 * the instance's host key is its old name (what its files and rows are
 * named by), the rows that name it still do, and the name is free in
 * other projects. */
TEST(db_migration_11_keys_existing_instances_by_their_old_names)
{
	char path[256];
	old_db(path, sizeof path, 10,
	       "INSERT INTO instances (name, kind, image, state, created_at, project) "
	       "  VALUES ('web', 'container', 'bb', 'stopped', 1, 'default');");
	struct db *db;
	struct err e = { 0 };
	EXPECT(db_open(path, &db, &e) == 0);
	struct instance got;
	EXPECT(db_instance_get(db, "web", &got, &e) == 0);
	EXPECT(!strcmp(got.name, "web") && !strcmp(got.key, "web") && !strcmp(got.project, "default"));
	EXPECT(db_instance_find(db, "default", "web", &got, &e) == 0 && !strcmp(got.key, "web"));
	EXPECT(db_instance_find(db, "p2", "web", &got, &e) == -ENOENT);
	/* the same name in another project, under another key */
	struct instance twin = { .name = "web", .key = "web-0a0b0c", .kind = KIND_CONTAINER,
				 .image = "bb", .project = "p2" };
	EXPECT(db_instance_insert(db, &twin, &e) == 0);
	EXPECT(db_instance_find(db, "p2", "web", &got, &e) == 0 && !strcmp(got.key, "web-0a0b0c"));
	EXPECT(db_instance_find(db, NULL, "web", &got, &e) == -EEXIST &&
	       strstr(e.msg, "default, p2"));
	/* but not twice in one project */
	strcpy(twin.key, "web-ffffff");
	EXPECT(db_instance_insert(db, &twin, &e) == -EEXIST);
	/* the rows naming the old instance still reach it, and its delete takes them */
	sqlite3_stmt *st;
	EXPECT(sqlite3_prepare_v2(db_sqlite(db), "SELECT count(*) FROM nics n JOIN instances i ON "
				  "i.host_key = n.instance JOIN forwards f ON f.instance = i.host_key "
				  "JOIN volumes v ON v.attached_to = i.host_key WHERE i.name = 'web' "
				  "AND i.project = 'default'", -1, &st, NULL) == SQLITE_OK);
	EXPECT(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1);
	sqlite3_finalize(st);
	EXPECT(db_instance_delete(db, "web", &e) == 0);
	EXPECT(sqlite3_prepare_v2(db_sqlite(db), "SELECT (SELECT count(*) FROM nics) + (SELECT "
				  "count(*) FROM forwards) + (SELECT count(*) FROM volumes WHERE "
				  "attached_to IS NOT NULL)", -1, &st, NULL) == SQLITE_OK);
	EXPECT(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0);
	sqlite3_finalize(st);
	db_close(db);
	cleanup(path);
}

/* Migration 13: a database from before per-project network and volume
 * names (and image owners), opened by this daemon: each network's and
 * volume's host key is its old name (its bridge, directory, file and the
 * rows naming it stay as they were), the name is free in other projects,
 * and every image is public. */
TEST(db_migration_13_keys_existing_networks_and_volumes_by_their_old_names)
{
	char path[256];
	old_db(path, sizeof path, 12,
	       "INSERT INTO instances (host_key, name, kind, image, state, created_at, project) "
	       "  VALUES ('web', 'web', 'container', 'bb', 'stopped', 1, 'default');");
	struct db *db;
	struct err e = { 0 };
	EXPECT(db_open(path, &db, &e) == 0);
	char key[INSTANCE_NAME_MAX + 1];
	EXPECT(host_key_find(db, "networks", "network", "default", "n1", key, sizeof key, &e) == 0 &&
	       !strcmp(key, "n1"));
	EXPECT(host_key_find(db, "volumes", "volume", NULL, "v1", key, sizeof key, &e) == 0 &&
	       !strcmp(key, "v1"));
	EXPECT(host_key_find(db, "networks", "network", "p2", "n1", key, sizeof key, &e) == -ENOENT &&
	       !strcmp(e.msg, "network \"n1\": no such network"));
	/* the same name in another project takes a new key; the host admin's
	 * lookup without a project is then ambiguous */
	EXPECT(host_key_pick(db, "networks", "n1", key, sizeof key, &e) == 0 &&
	       !strncmp(key, "n1-", 3) && strlen(key) == 9);
	sqlite3_stmt *st;
	EXPECT(sqlite3_prepare_v2(db_sqlite(db), "INSERT INTO networks (host_key, name, project, "
				  "subnet, nat, isolated, bridge, created_at) VALUES (?1, 'n1', 'p2', "
				  "'10.20.1.0/24', 0, 0, 'nb2', 1)", -1, &st, NULL) == SQLITE_OK);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	EXPECT(sqlite3_step(st) == SQLITE_DONE);
	sqlite3_finalize(st);
	char got[INSTANCE_NAME_MAX + 1];
	EXPECT(host_key_find(db, "networks", "network", "p2", "n1", got, sizeof got, &e) == 0 &&
	       !strcmp(got, key));
	EXPECT(host_key_find(db, "networks", "network", NULL, "n1", got, sizeof got, &e) == -EEXIST &&
	       strstr(e.msg, "default, p2"));
	/* but not twice in one project */
	EXPECT(sqlite3_exec(db_sqlite(db), "INSERT INTO networks (host_key, name, project, subnet, "
			    "nat, isolated, bridge, created_at) VALUES ('n1-x', 'n1', 'p2', "
			    "'10.20.2.0/24', 0, 0, 'nb3', 1)", NULL, NULL, NULL) != SQLITE_OK);
	/* the rows naming the old network and volume still reach them */
	EXPECT(sqlite3_prepare_v2(db_sqlite(db), "SELECT count(*) FROM nics n JOIN networks w ON "
				  "w.host_key = n.network JOIN forwards f ON f.network = w.host_key "
				  "JOIN volumes v ON v.attached_to = n.instance WHERE w.name = 'n1' "
				  "AND w.project = 'default' AND v.name = 'v1'", -1, &st, NULL) == SQLITE_OK);
	EXPECT(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1);
	sqlite3_finalize(st);
	struct image im;
	EXPECT(db_image_get(db, "bb", &im, &e) == 0 && im.project[0] == 0);
	db_close(db);
	cleanup(path);
}
