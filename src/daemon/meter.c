/* See meter.h. */
#include "daemon/meter.h"
#include "daemon/cpu_time.h"
#include "daemon/netlink.h"
#include "daemon/proc.h"
#include "daemon/network.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long long meter_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run(struct db *db, const char *sql, const char *a, const char *b, long long x,
	       long long y, long long z, struct err *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db_sqlite(db), sql, -1, &st, NULL) != SQLITE_OK)
		return err_set(e, -EIO, "%s: metering: %s", db_file(db), sqlite3_errmsg(db_sqlite(db)));
	/* ?1, ?2 text; ?3.. integers; a statement binds only the ones it names. */
	int np = sqlite3_bind_parameter_count(st);
	const long long ints[] = { x, y, z };
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b && np >= 2)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	for (int i = 3; i <= np && i <= 5; i++)
		sqlite3_bind_int64(st, i, ints[i - 3]);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0
		: err_set(e, -EIO, "%s: metering: %s", db_file(db), sqlite3_errmsg(db_sqlite(db)));
	sqlite3_finalize(st);
	return rc;
}

int meter_instance_start(struct db *db, const struct instance *in, struct err *e)
{
	int rc = meter_instance_stop(db, in->name, e);   /* never two open intervals */
	if (rc == 0)
		rc = run(db, "INSERT INTO usage_instances (instance, project, cpus, memory, start_ms) "
			 "VALUES (?1, ?2, ?3, ?4, ?5)", in->name, in->project, instance_cpus(in), instance_memory(in),
			 meter_now_ms(), e);
	return rc;
}

int meter_instance_stop(struct db *db, const char *name, struct err *e)
{
	return run(db, "UPDATE usage_instances SET end_ms = ?3 WHERE instance = ?1 AND end_ms IS NULL",
		   name, NULL, meter_now_ms(), 0, 0, e);
}

/* The counters of the instance's NICs, summed, if it has any (a VM's TAPs
 * "nt...", a container's veths "nv..."): the host end's rx is the guest's tx. */
static bool nic_bytes(const char *name, uint64_t *guest_rx, uint64_t *guest_tx)
{
	static const char *const prefixes[] = { "nt", "nv" };
	bool any = false;
	*guest_rx = *guest_tx = 0;
	for (int i = 0; i < 2; i++) {
		for (int idx = 0; idx < NICS_MAX; idx++) {
			char ifname[16];
			uint64_t rx, tx;
			network_nic_ifname(prefixes[i], name, idx, ifname);
			if (nl_link_bytes(ifname, &rx, &tx, NULL) < 0)
				continue;
			*guest_rx += tx;
			*guest_tx += rx;
			any = true;
		}
	}
	return any;
}

void meter_sample_network(struct db *db, const char *name)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db_sqlite(db), "SELECT DISTINCT instance FROM usage_instances "
			       "WHERE end_ms IS NULL AND (?1 IS NULL OR instance = ?1)", -1, &st,
			       NULL) != SQLITE_OK)
		return;
	if (name)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	char (*names)[INSTANCE_NAME_MAX + 1] = NULL;
	size_t n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		void *nn = realloc(names, (n + 1) * sizeof *names);
		if (!nn)
			break;
		names = nn;
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(names[n++], sizeof *names, "%s", t ? (const char *)t : "");
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < n; i++) {
		uint64_t rx, tx;
		if (nic_bytes(names[i], &rx, &tx))
			run(db, "UPDATE usage_instances SET net_rx_bytes = ?3, net_tx_bytes = ?4 "
			    "WHERE instance = ?1 AND end_ms IS NULL", names[i], NULL,
			    (long long)rx, (long long)tx, 0, NULL);
	}
	free(names);
}

void meter_sample_cpu(struct db *db, const char *name)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db_sqlite(db), "SELECT u.instance, i.pid, i.pid_start FROM "
			       "usage_instances u JOIN instances i ON i.host_key = u.instance WHERE "
			       "u.end_ms IS NULL AND i.pid > 0 AND (?1 IS NULL OR u.instance = ?1)",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	if (name)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	struct run { char key[INSTANCE_NAME_MAX + 1]; long long pid, start; } *runs = NULL;
	size_t n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		void *nn = realloc(runs, (n + 1) * sizeof *runs);
		if (!nn)
			break;
		runs = nn;
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(runs[n].key, sizeof runs[n].key, "%s", t ? (const char *)t : "");
		runs[n].pid = sqlite3_column_int64(st, 1);
		runs[n++].start = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < n; i++) {
		/* a pid reused by another process is not the instance's */
		if (!proc_alive((pid_t)runs[i].pid, runs[i].start))
			continue;
		long long ms = cpu_time_tree_ms((pid_t)runs[i].pid);
		if (ms >= 0)
			run(db, "UPDATE usage_instances SET cpu_used_ms = max(cpu_used_ms, ?3) "
			    "WHERE instance = ?1 AND end_ms IS NULL", runs[i].key, NULL, ms, 0, 0, NULL);
	}
	free(runs);
}

int meter_volume_open(struct db *db, const char *name, const char *project, long long size,
		      struct err *e)
{
	int rc = meter_volume_close(db, name, e);
	if (rc == 0)
		rc = run(db, "INSERT INTO usage_volumes (volume, project, size, start_ms) VALUES "
			 "(?1, ?2, ?3, ?4)", name, project, size, meter_now_ms(), 0, e);
	return rc;
}

int meter_volume_close(struct db *db, const char *name, struct err *e)
{
	return run(db, "UPDATE usage_volumes SET end_ms = ?3 WHERE volume = ?1 AND end_ms IS NULL",
		   name, NULL, meter_now_ms(), 0, 0, e);
}

int meter_usage(struct db *db, const char *project, long long since_ms, long long until_ms,
		struct usage_line **out, size_t *n, struct err *e)
{
	/* Each interval clipped to the window; an open one runs until now. */
	static const char sql[] =
		/* usage_instances.instance is the host key (instance.h): shown by
		 * name while the instance exists */
		"SELECT coalesce((SELECT i.name FROM instances i WHERE i.host_key = instance), instance),"
		"  project, 0, sum(cpus * d), sum(memory * d), 0,"
		"  sum(net_rx_bytes * d / len), sum(net_tx_bytes * d / len),"
		"  sum(cpu_used_ms * d / len) FROM ("
		"  SELECT instance, project, cpus, memory, net_rx_bytes, net_tx_bytes, cpu_used_ms,"
		"   max(0, min(coalesce(end_ms, ?3), ?2) - max(start_ms, ?1)) AS d,"
		"   max(1, coalesce(end_ms, ?3) - start_ms) * 1.0 AS len"
		"  FROM usage_instances WHERE ?4 IS NULL OR project = ?4)"
		" WHERE d > 0 GROUP BY instance, project "
		"UNION ALL "
		/* usage_volumes.volume is the host key too (host_key.h), or a VM's
		 * own disk's KEY/DISK (migration 17): shown as NAME/DISK while the
		 * instance exists */
		"SELECT coalesce((SELECT v.name FROM volumes v WHERE v.host_key = volume),"
		"  (SELECT i.name || substr(volume, instr(volume, '/')) FROM instances i"
		"   WHERE instr(volume, '/') > 0 AND i.host_key = substr(volume, 1, instr(volume, '/') - 1)),"
		"  volume),"
		"  project, 1, 0, 0, sum(size * d), 0, 0, 0 FROM ("
		"  SELECT volume, project, size,"
		"   max(0, min(coalesce(end_ms, ?3), ?2) - max(start_ms, ?1)) AS d"
		"  FROM usage_volumes WHERE ?4 IS NULL OR project = ?4)"
		" WHERE d > 0 GROUP BY volume, project "
		"ORDER BY 2, 3, 1";
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db_sqlite(db), sql, -1, &st, NULL) != SQLITE_OK)
		return err_set(e, -EIO, "%s: usage: %s", db_file(db), sqlite3_errmsg(db_sqlite(db)));
	sqlite3_bind_int64(st, 1, since_ms);
	sqlite3_bind_int64(st, 2, until_ms);
	sqlite3_bind_int64(st, 3, meter_now_ms());
	if (project)
		sqlite3_bind_text(st, 4, project, -1, SQLITE_STATIC);
	struct usage_line *v = NULL;
	size_t count = 0;
	int rc;
	const double gib = 1024.0 * 1024 * 1024, hour_ms = 3600e3;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct usage_line *nv = realloc(v, (count + 1) * sizeof *v);
		if (!nv) {
			free(v);
			sqlite3_finalize(st);
			return err_set(e, -ENOMEM, "usage: out of memory");
		}
		v = nv;
		struct usage_line *u = &v[count++];
		memset(u, 0, sizeof *u);
		const unsigned char *a = sqlite3_column_text(st, 0), *b = sqlite3_column_text(st, 1);
		snprintf(u->name, sizeof u->name, "%s", a ? (const char *)a : "");
		snprintf(u->project, sizeof u->project, "%s", b ? (const char *)b : "");
		u->volume = sqlite3_column_int(st, 2);
		u->vcpu_seconds = sqlite3_column_double(st, 3) / 1000.0;
		u->memory_gib_hours = sqlite3_column_double(st, 4) / gib / hour_ms;
		u->disk_gib_hours = sqlite3_column_double(st, 5) / gib / hour_ms;
		u->net_rx_bytes = sqlite3_column_double(st, 6);
		u->net_tx_bytes = sqlite3_column_double(st, 7);
		u->cpu_seconds = sqlite3_column_double(st, 8) / 1000.0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return err_set(e, -EIO, "%s: usage: %s", db_file(db), sqlite3_errmsg(db_sqlite(db)));
	}
	*out = v;
	*n = count;
	return 0;
}
