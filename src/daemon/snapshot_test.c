#include "daemon/db.h"
#include "daemon/fsutil.h"
#include "daemon/snapshot.h"
#include "lib/testing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void make_files(const char *state, const char *key, const char *name)
{
	char dir[512], f[600];
	snapshot_dir(state, key, name, dir, sizeof dir, NULL);
	mkdir_p(dir, 0700, NULL);
	snprintf(f, sizeof f, "%s/state", dir);
	write_file(f, "x", 1, 0600, NULL);
}

static bool exists(const char *state, const char *key, const char *name)
{
	char dir[512];
	snapshot_dir(state, key, name, dir, sizeof dir, NULL);
	return access(dir, F_OK) == 0;
}

TEST(snapshot_rows_commit_files_without_one_are_swept_and_go_with_the_instance)
{
	char state[] = "/tmp/nimbus-snapshot-test.XXXXXX";
	EXPECT(mkdtemp(state));
	char path[256];
	snprintf(path, sizeof path, "%s/nimbus.db", state);
	struct db *db;
	struct err e = { 0 };
	EXPECT(db_open(path, &db, &e) == 0);
	struct image im = { .name = "default", .kind = KIND_VM, .path = "/g" };
	struct instance in = { .name = "v1", .key = "v1", .kind = KIND_VM, .image = "default" };
	EXPECT(db_image_put(db, &im, &e) == 0 && db_instance_insert(db, &in, &e) == 0);
	struct snapshot a = { .name = "s1", .created_at = 10, .size = 4096 };
	struct snapshot b = { .name = "s2", .created_at = 20, .size = 8192 };
	make_files(state, "v1", "s1");
	make_files(state, "v1", "s2");
	make_files(state, "v1", "half");   /* a save a killed daemon left: no row */
	EXPECT(snapshot_add(db, "v1", &a, &e) == 0 && snapshot_add(db, "v1", &b, &e) == 0);
	EXPECT(snapshot_add(db, "v1", &a, &e) == -EEXIST && strstr(e.msg, "\"s1\": already exists"));
	struct snapshot *v;
	size_t n;
	EXPECT(snapshot_list(db, "v1", &v, &n, &e) == 0 && n == 2);
	EXPECT(!strcmp(v[0].name, "s1") && !strcmp(v[1].name, "s2") && v[1].size == 8192);
	free(v);
	snapshot_sweep(db, state);
	EXPECT(exists(state, "v1", "s1") && exists(state, "v1", "s2") && !exists(state, "v1", "half"));
	EXPECT(snapshot_remove(db, state, "v1", "v1", "s1", &e) == 0 && !exists(state, "v1", "s1"));
	struct snapshot got;
	EXPECT(snapshot_get(db, "v1", "v1", "s1", &got, &e) == -ENOENT);
	EXPECT(strstr(e.msg, "instance \"v1\": snapshot \"s1\""));
	EXPECT(snapshot_remove(db, state, "v1", "v1", "s1", &e) == -ENOENT);
	/* Rows go with their instance. */
	EXPECT(db_instance_delete(db, "v1", &e) == 0);
	EXPECT(snapshot_list(db, "v1", &v, &n, &e) == 0 && n == 0);
	free(v);
	db_close(db);
	rm_rf(state, NULL);
}
