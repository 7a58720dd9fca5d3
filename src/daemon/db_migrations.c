/*
 * The schema, as the list of migrations that build it.  Migration N takes a
 * database from user_version N to N+1.  Never edit a migration that has
 * shipped: append a new one.
 */
#include "daemon/db_migrations.h"

const char *const db_migrations[] = {
	/* 1: images and instances. */
	"CREATE TABLE images ("
	"  name TEXT PRIMARY KEY,"
	"  kind TEXT NOT NULL CHECK (kind IN ('container', 'vm')),"
	"  path TEXT NOT NULL"
	");"
	"CREATE TABLE instances ("
	"  name TEXT PRIMARY KEY,"
	"  kind TEXT NOT NULL CHECK (kind IN ('container', 'vm')),"
	"  image TEXT NOT NULL REFERENCES images(name) ON DELETE RESTRICT,"
	"  state TEXT NOT NULL CHECK (state IN ('stopped', 'running')),"
	"  pid INTEGER NOT NULL DEFAULT 0,"
	"  pid_start INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  started_at INTEGER NOT NULL DEFAULT 0"
	");",
	/* 2 (daemon2): pause and `config set` (cpus, memory) as columns, so the
	 * instances table keeps its identity for tables that reference it. */
	"ALTER TABLE instances ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE instances ADD COLUMN cpus INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE instances ADD COLUMN memory_mib INTEGER NOT NULL DEFAULT 0;",
	/* 3 (daemon2): the journal of long operations (image import). */
	"CREATE TABLE operations ("
	"  id TEXT PRIMARY KEY,"
	"  type TEXT NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('running', 'success', 'failure')),"
	"  progress INTEGER NOT NULL DEFAULT 0,"
	"  stage TEXT NOT NULL DEFAULT '',"
	"  error TEXT NOT NULL DEFAULT '',"
	"  resource TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	");",
	/* 4 (daemon2): a container's command given at launch (a JSON array). */
	"ALTER TABLE instances ADD COLUMN command TEXT NOT NULL DEFAULT '';",
};

const int db_nmigrations = sizeof db_migrations / sizeof db_migrations[0];
