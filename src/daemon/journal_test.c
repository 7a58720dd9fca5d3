#include "daemon/db.h"
#include "daemon/fsutil.h"
#include "daemon/journal.h"
#include "lib/testing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TEST(journal_keeps_an_operation_across_opens_until_it_ends)
{
	char dir[] = "/tmp/nimbus-journal-test.XXXXXX";
	EXPECT(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof path, "%s/nimbus.db", dir);
	struct db *db;
	struct err e = { 0 };
	EXPECT(db_open(path, &db, &e) == 0);
	struct instance a = { .name = "web", .key = "web-0a0b0c", .project = "p1", .kind = KIND_VM };
	struct instance b = { .name = "c1", .key = "c1", .project = "default" };
	EXPECT(journal_begin(db, &a, JOURNAL_LAUNCH, &e) == 0);
	EXPECT(journal_begin(db, &b, JOURNAL_DELETE, &e) == 0);
	/* One operation per instance: a second is refused, naming it. */
	EXPECT(journal_begin(db, &b, JOURNAL_STOP, &e) == -EEXIST && strstr(e.msg, "\"c1\""));
	db_close(db);
	/* What a killed daemon leaves is what the next one reads. */
	EXPECT(db_open(path, &db, &e) == 0);
	struct journal_entry *v;
	size_t n;
	EXPECT(journal_list(db, &v, &n, &e) == 0 && n == 2);
	EXPECT(!strcmp(v[0].key, "web-0a0b0c") && !strcmp(v[0].name, "web"));
	EXPECT(!strcmp(v[0].project, "p1") && v[0].kind == KIND_VM && v[0].op == JOURNAL_LAUNCH);
	EXPECT(!strcmp(v[1].key, "c1") && v[1].kind == KIND_CONTAINER && v[1].op == JOURNAL_DELETE);
	EXPECT(!strcmp(journal_op_str(v[1].op), "delete"));
	free(v);
	EXPECT(journal_end(db, "web-0a0b0c", &e) == 0);
	EXPECT(journal_end(db, "never-journaled", &e) == 0);
	EXPECT(journal_list(db, &v, &n, &e) == 0 && n == 1 && !strcmp(v[0].key, "c1"));
	free(v);
	db_close(db);
	rm_rf(dir, NULL);
}
