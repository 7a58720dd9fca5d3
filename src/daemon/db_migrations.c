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
	/* 5 (cloud): projects own instances; bearer tokens, stored as SHA-256,
	 * scoped to a project with a role; quotas per project (-1: none; memory
	 * and disk in bytes).  "default" is the host admin's project, unlimited,
	 * and owns the instances that predate projects.  instances.project has
	 * no REFERENCES: SQLite cannot add a column with a foreign key and a
	 * non-NULL default, so project.c refuses deleting a project that owns
	 * instances. */
	"CREATE TABLE projects ("
	"  name TEXT PRIMARY KEY,"
	"  created_at INTEGER NOT NULL,"
	"  quota_instances INTEGER NOT NULL,"
	"  quota_cpus INTEGER NOT NULL,"
	"  quota_memory INTEGER NOT NULL,"
	"  quota_disk INTEGER NOT NULL,"
	"  quota_networks INTEGER NOT NULL"
	");"
	"INSERT INTO projects VALUES ('default', CAST(strftime('%s', 'now') AS INTEGER),"
	"  -1, -1, -1, -1, -1);"
	"CREATE TABLE tokens ("
	"  id TEXT PRIMARY KEY,"
	"  hash TEXT NOT NULL UNIQUE,"
	"  project TEXT NOT NULL REFERENCES projects(name) ON DELETE CASCADE,"
	"  role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'reader')),"
	"  created_at INTEGER NOT NULL"
	");"
	"ALTER TABLE instances ADD COLUMN project TEXT NOT NULL DEFAULT 'default';"
	/* cpus and memory_mib, which quotas count, are daemon2's (2). */
	"CREATE INDEX instances_by_project ON instances (project);",
	/* 6 (cloud): networks, owned by a project, and each instance's NIC on
	 * one (its address, host byte order, and MAC); dns_pid/dns_pid_start
	 * name the network's dnsmasq as instances name their supervisor. */
	"CREATE TABLE networks ("
	"  name TEXT PRIMARY KEY,"
	"  project TEXT NOT NULL REFERENCES projects(name) ON DELETE RESTRICT,"
	"  subnet TEXT NOT NULL,"
	"  nat INTEGER NOT NULL,"
	"  isolated INTEGER NOT NULL,"
	"  bridge TEXT NOT NULL UNIQUE,"
	"  dns_pid INTEGER NOT NULL DEFAULT 0,"
	"  dns_pid_start INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL"
	");"
	"CREATE TABLE nics ("
	"  instance TEXT PRIMARY KEY REFERENCES instances(name) ON DELETE CASCADE,"
	"  network TEXT NOT NULL REFERENCES networks(name) ON DELETE RESTRICT,"
	"  ip INTEGER NOT NULL,"
	"  mac TEXT NOT NULL,"
	"  UNIQUE (network, ip)"
	");"
	/* Port forwards (a host port is one instance's, whatever the network)
	 * and security-group ingress rules (port 0: every port, or ICMP). */
	"CREATE TABLE forwards ("
	"  network TEXT NOT NULL REFERENCES networks(name) ON DELETE CASCADE,"
	"  protocol TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp')),"
	"  port INTEGER NOT NULL,"
	"  instance TEXT NOT NULL REFERENCES instances(name) ON DELETE CASCADE,"
	"  target_port INTEGER NOT NULL,"
	"  PRIMARY KEY (protocol, port)"
	");"
	"CREATE TABLE ingress_rules ("
	"  instance TEXT NOT NULL REFERENCES instances(name) ON DELETE CASCADE,"
	"  protocol TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp', 'icmp')),"
	"  port INTEGER NOT NULL,"
	"  source TEXT NOT NULL,"
	"  PRIMARY KEY (instance, protocol, port, source)"
	");",
	/* 7 (cloud): volumes, owned by a project: a qcow2 file (block, for VMs)
	 * or a directory (dir, for containers); a snapshot is a read-only
	 * volume made from another (snapshot_of).  size is bytes. */
	"CREATE TABLE volumes ("
	"  name TEXT PRIMARY KEY,"
	"  project TEXT NOT NULL REFERENCES projects(name) ON DELETE RESTRICT,"
	"  type TEXT NOT NULL CHECK (type IN ('block', 'dir')),"
	"  size INTEGER NOT NULL,"
	"  snapshot_of TEXT,"
	"  attached_to TEXT REFERENCES instances(name) ON DELETE SET NULL,"
	"  created_at INTEGER NOT NULL"
	");",
	/* 8 (cloud): metering intervals (meter.h); no foreign keys: usage
	 * outlives what it measured. */
	"CREATE TABLE usage_instances ("
	"  instance TEXT NOT NULL,"
	"  project TEXT NOT NULL,"
	"  cpus INTEGER NOT NULL,"
	"  memory INTEGER NOT NULL,"
	"  start_ms INTEGER NOT NULL,"
	"  end_ms INTEGER"
	");"
	"CREATE INDEX usage_instances_open ON usage_instances (instance, end_ms);"
	"CREATE TABLE usage_volumes ("
	"  volume TEXT NOT NULL,"
	"  project TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  start_ms INTEGER NOT NULL,"
	"  end_ms INTEGER"
	");"
	"CREATE INDEX usage_volumes_open ON usage_volumes (volume, end_ms);",
	/* 9 (web): the bytes an instance's NIC carried in each interval, as
	 * its guest sees them (meter.h). */
	"ALTER TABLE usage_instances ADD COLUMN net_rx_bytes INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE usage_instances ADD COLUMN net_tx_bytes INTEGER NOT NULL DEFAULT 0;",
	/* 10 (daemon): a VM's own disks (disks.h), and profiles (profile.h):
	 * named bundles of cpus, memory, network and disks as a JSON object,
	 * copied into an instance at its launch; `default` is applied when a
	 * launch names none. */
	"CREATE TABLE instance_disks ("
	"  instance TEXT NOT NULL REFERENCES instances(name) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  size_mib INTEGER NOT NULL CHECK (size_mib > 0),"
	"  PRIMARY KEY (instance, name)"
	");"
	"CREATE TABLE profiles ("
	"  name TEXT PRIMARY KEY,"
	"  config TEXT NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL"
	");"
	"INSERT INTO profiles VALUES ('default', '{}', 'applied to every launch that names no profile',"
	"  CAST(strftime('%s', 'now') AS INTEGER));",
	/* 11 (cloud): the project an operation acts in, so a token sees its own
	 * project's operations; '' for the host's own (image imports, which
	 * are all the rows before this). */
	"ALTER TABLE operations ADD COLUMN project TEXT NOT NULL DEFAULT '';",
	/* 12 (cloud): instance names unique per project, not per host.  What
	 * names an instance on the host (its directory, processes, cgroup, NIC,
	 * and the rows of nics, forwards, ingress_rules, volumes.attached_to
	 * and usage_instances) is its host key, host-unique: the old name
	 * column renamed, so every existing instance's key is its old name,
	 * which was host-unique, and nothing on disk or in the kernel moves
	 * (RENAME COLUMN carries the other tables' foreign keys along).  The
	 * name is a new column, unique within the project. */
	"ALTER TABLE instances RENAME COLUMN name TO host_key;"
	"ALTER TABLE instances ADD COLUMN name TEXT NOT NULL DEFAULT '';"
	"UPDATE instances SET name = host_key;"
	"CREATE UNIQUE INDEX instances_by_project_name ON instances (project, name);",
	/* 13 (daemon): the journal of instance operations in flight
	 * (journal.h), finished or rolled back by the next daemon after a
	 * kill; no foreign key: a launch's row comes before its instance's. */
	"CREATE TABLE instance_journal ("
	"  host_key TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  project TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('container', 'vm')),"
	"  op TEXT NOT NULL CHECK (op IN ('launch', 'create', 'start', 'stop', 'restart', 'delete')),"
	"  started_at INTEGER NOT NULL"
	");"
	/* A container launched with a terminal (its console a pty). */
	"ALTER TABLE instances ADD COLUMN terminal INTEGER NOT NULL DEFAULT 0;"
	/* A VM's snapshots (snapshot.h): the row is written once the files are
	 * whole. */
	"CREATE TABLE instance_snapshots ("
	"  instance TEXT NOT NULL REFERENCES instances(host_key) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  PRIMARY KEY (instance, name)"
	");",
	/* 14 (cloud): network and volume names unique per project, as
	 * instance names are (12): the old name column becomes the host key
	 * (the bridge, STATE/networks/KEY, STATE/volumes/KEY, and the rows of
	 * nics, forwards and usage_volumes), so nothing on the host moves; the
	 * name is a new column, unique within the project.  An image belongs
	 * to a project (only it sees and launches it) or, with '', to every
	 * project (public, as all images before this were). */
	"ALTER TABLE networks RENAME COLUMN name TO host_key;"
	"ALTER TABLE networks ADD COLUMN name TEXT NOT NULL DEFAULT '';"
	"UPDATE networks SET name = host_key;"
	"CREATE UNIQUE INDEX networks_by_project_name ON networks (project, name);"
	"ALTER TABLE volumes RENAME COLUMN name TO host_key;"
	"ALTER TABLE volumes ADD COLUMN name TEXT NOT NULL DEFAULT '';"
	"UPDATE volumes SET name = host_key;"
	"CREATE UNIQUE INDEX volumes_by_project_name ON volumes (project, name);"
	"ALTER TABLE images ADD COLUMN project TEXT NOT NULL DEFAULT '';",
	/* 15 (cloud): an instance on several networks: a NIC per (instance,
	 * network), idx its order in the guest (eth0, eth1, ...).  SQLite
	 * cannot change a primary key in place: the table is made again and
	 * every NIC kept as its instance's eth0. */
	"CREATE TABLE nics_new ("
	"  instance TEXT NOT NULL REFERENCES instances(host_key) ON DELETE CASCADE,"
	"  network TEXT NOT NULL REFERENCES networks(host_key) ON DELETE RESTRICT,"
	"  ip INTEGER NOT NULL,"
	"  mac TEXT NOT NULL,"
	"  idx INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (instance, network),"
	"  UNIQUE (network, ip),"
	"  UNIQUE (instance, idx)"
	");"
	"INSERT INTO nics_new (instance, network, ip, mac) SELECT instance, network, ip, mac FROM nics;"
	"DROP TABLE nics;"
	"ALTER TABLE nics_new RENAME TO nics;",
	/* 16 (cloud): the CPU time an instance's processes used in each run,
	 * measured (meter.h, cpu_time.h), beside what it reserved. */
	"ALTER TABLE usage_instances ADD COLUMN cpu_used_ms INTEGER NOT NULL DEFAULT 0;",
	/* 17 (cloud): a VM's own disks (instance_disks, disks.h) metered as
	 * volumes are, in usage_volumes under "KEY/DISK" (no volume key has a
	 * '/').  Triggers keep the intervals with the rows, so no path that
	 * adds, grows or removes a disk -- a profile's at launch, config set,
	 * the cascade of an instance's delete -- can forget to meter it.  The
	 * disks that exist now are metered from now. */
#define NOW_MS "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
#define OPEN_DISK "INSERT INTO usage_volumes (volume, project, size, start_ms) " \
	"SELECT NEW.instance || '/' || NEW.name, i.project, NEW.size_mib * 1048576, " NOW_MS \
	" FROM instances i WHERE i.host_key = NEW.instance;"
#define CLOSE_DISK "UPDATE usage_volumes SET end_ms = " NOW_MS " WHERE volume = " \
	"OLD.instance || '/' || OLD.name AND end_ms IS NULL;"
	"CREATE TRIGGER instance_disks_meter_add AFTER INSERT ON instance_disks BEGIN "
	OPEN_DISK " END;"
	"CREATE TRIGGER instance_disks_meter_resize AFTER UPDATE OF size_mib ON instance_disks "
	"WHEN NEW.size_mib != OLD.size_mib BEGIN " CLOSE_DISK " " OPEN_DISK " END;"
	"CREATE TRIGGER instance_disks_meter_remove AFTER DELETE ON instance_disks BEGIN "
	CLOSE_DISK " END;"
	"INSERT INTO usage_volumes (volume, project, size, start_ms) SELECT d.instance || '/' || "
	"d.name, i.project, d.size_mib * 1048576, " NOW_MS " FROM instance_disks d JOIN "
	"instances i ON i.host_key = d.instance;",
#undef NOW_MS
#undef OPEN_DISK
#undef CLOSE_DISK
};

const int db_nmigrations = sizeof db_migrations / sizeof db_migrations[0];
