#include "daemon/operations.h"
#include "daemon/fsutil.h"
#include "lib/testing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
	char dir[64], path[128];
	struct db *db;
	pthread_mutex_t lock;
	struct operations *ops;
};

static int open_fixture(struct fixture *f)
{
	snprintf(f->dir, sizeof f->dir, "/tmp/nimbus-ops-test.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof f->path, "%s/nimbus.db", f->dir);
	pthread_mutex_init(&f->lock, NULL);
	int interrupted;
	if (db_open(f->path, &f->db, NULL) < 0 ||
	    !(f->ops = operations_open(f->db, &f->lock, &interrupted, NULL)))
		return -1;
	return 0;
}

static void close_fixture(struct fixture *f)
{
	operations_free(f->ops);
	db_close(f->db);
	pthread_mutex_destroy(&f->lock);
	rm_rf(f->dir, NULL);
}

/* Of a list, how many a caller of project sees, and whether id is among them. */
static size_t seen(struct operations *o, const char *project, const char *id, int *has)
{
	struct operation *v;
	size_t n, k = 0;
	*has = 0;
	if (operations_list(o, &v, &n, NULL) < 0)
		return (size_t)-1;
	for (size_t i = 0; i < n; i++)
		if (operation_visible(&v[i], project)) {
			k++;
			*has |= !strcmp(v[i].id, id);
		}
	free(v);
	return k;
}

TEST(operations_are_seen_by_their_projects_and_the_host_admin_only)
{
	struct fixture f;
	EXPECT(open_fixture(&f) == 0);
	struct operation a, b, host, got;
	struct err e = { 0 };
	EXPECT(operations_start_in(f.ops, "team-a", "volume-snapshot", "/1.0/volumes/s1", &a, &e) == 0);
	EXPECT(operations_start_in(f.ops, "team-b", "volume-snapshot", "/1.0/volumes/s2", &b, &e) == 0);
	EXPECT(operations_start(f.ops, "image-import", "/1.0/images/x", &host, &e) == 0);
	int has;
	EXPECT_EQ(seen(f.ops, "team-a", a.id, &has), 1);
	EXPECT(has);
	EXPECT_EQ(seen(f.ops, "team-a", b.id, &has), 1);
	EXPECT(!has);
	EXPECT_EQ(seen(f.ops, "team-b", b.id, &has), 1);
	EXPECT(has);
	EXPECT_EQ(seen(f.ops, NULL, host.id, &has), 3);   /* the host admin: all */
	EXPECT(has);
	/* the host's own (an image import) is no project's, not even "" */
	EXPECT(!operation_visible(&host, ""));
	EXPECT(!operation_visible(&host, "default"));
	/* the project is journaled with the rest */
	EXPECT(operations_get(f.ops, b.id, 0, &got, &e) == 0);
	EXPECT(!strcmp(got.project, "team-b"));
	EXPECT(operations_get(f.ops, host.id, 0, &got, &e) == 0 && got.project[0] == 0);
	close_fixture(&f);
}

TEST(operations_are_listed_in_the_order_they_started_within_one_second)
{
	struct fixture f;
	EXPECT(open_fixture(&f) == 0);
	char ids[8][sizeof ((struct operation *)0)->id];
	for (int i = 0; i < 8; i++) {
		struct operation op;
		EXPECT_EQ(operations_start(f.ops, "image-import", "/1.0/images/x", &op, NULL), 0);
		memcpy(ids[i], op.id, sizeof ids[i]);
	}
	struct operation *v;
	size_t n;
	EXPECT_EQ(operations_list(f.ops, &v, &n, NULL), 0);
	EXPECT_EQ(n, 8);
	for (size_t i = 0; i < n && i < 8; i++)   /* ids are random: not their order */
		EXPECT(strcmp(v[i].id, ids[i]) == 0);
	free(v);
	close_fixture(&f);
}

/* A daemon that died mid-operation: at its restart the operation is failed as
 * interrupted; once its work is found to have finished after all, it says so. */
TEST(an_interrupted_operation_settles_as_its_work_turned_out)
{
	struct fixture f;
	EXPECT(open_fixture(&f) == 0);
	struct operation moved, failed, other, got;
	struct err e = { 0 };
	EXPECT(operations_start_in(f.ops, "p", "instance-migrate", "/1.0/instances/a", &moved, &e) == 0);
	EXPECT(operations_start_in(f.ops, "p", "instance-migrate", "/1.0/instances/b", &failed, &e) == 0);
	EXPECT(operations_start_in(f.ops, "q", "instance-migrate", "/1.0/instances/a", &other, &e) == 0);
	/* The daemon dies; the next one opens the journal. */
	operations_free(f.ops);
	int interrupted;
	EXPECT((f.ops = operations_open(f.db, &f.lock, &interrupted, NULL)) != NULL);
	EXPECT_EQ(interrupted, 3);
	EXPECT_EQ(operations_settle_interrupted(f.ops, "p", "instance-migrate", "/1.0/instances/a",
						NULL, "moved"), 1);
	EXPECT_EQ(operations_settle_interrupted(f.ops, "p", "instance-migrate", "/1.0/instances/b",
						"did not happen", NULL), 1);
	EXPECT(operations_get(f.ops, moved.id, 0, &got, &e) == 0);
	EXPECT(!strcmp(got.status, "success") && !strcmp(got.stage, "moved") && got.error[0] == 0);
	EXPECT_EQ(got.progress, 100);
	EXPECT(operations_get(f.ops, failed.id, 0, &got, &e) == 0);
	EXPECT(!strcmp(got.status, "failure") && !strcmp(got.error, "did not happen"));
	/* another project's, and one settled already, are left alone */
	EXPECT(operations_get(f.ops, other.id, 0, &got, &e) == 0);
	EXPECT(!strcmp(got.status, "failure") && !strcmp(got.error, OPERATION_INTERRUPTED));
	EXPECT_EQ(operations_settle_interrupted(f.ops, "p", "instance-migrate", "/1.0/instances/a",
						"late", NULL), 0);
	close_fixture(&f);
}
