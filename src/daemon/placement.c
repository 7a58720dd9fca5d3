/* See placement.h. */
#include "daemon/placement.h"
#include "lib/size.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

static const char *const names[PLACE_N] = { "cpus", "memory", "disk" };

const char *placement_name(enum placement_res r)
{
	return (unsigned)r < PLACE_N ? names[r] : "?";
}

static long long sum(struct db *db, const char *sql, struct err *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db_sqlite(db), sql, -1, &st, NULL) != SQLITE_OK) {
		err_set(e, -EIO, "%s: placement: %s", db_file(db), sqlite3_errmsg(db_sqlite(db)));
		return -1;
	}
	long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	if (v < 0)
		err_set(e, -EIO, "%s: placement: %s", db_file(db), sqlite3_errmsg(db_sqlite(db)));
	return v;
}

int placement_view(struct db *db, const struct placement *p, struct placement_view *out,
		   struct err *e)
{
	static const double defaults[PLACE_N] = { PLACEMENT_CPU_RATIO, PLACEMENT_RAM_RATIO,
						  PLACEMENT_DISK_RATIO };
	struct sysinfo si;
	struct statvfs vfs;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (sysinfo(&si) < 0 || cpus < 1)
		return err_set(e, -errno, "placement: cannot read the host's CPUs and memory");
	if (statvfs(p->pool, &vfs) < 0)
		return err_set(e, -errno, "placement: %s: cannot read its filesystem's size", p->pool);
	out->total[PLACE_CPUS] = cpus;
	out->total[PLACE_MEMORY] = (long long)si.totalram * si.mem_unit;
	out->total[PLACE_DISK] = (long long)vfs.f_blocks * (long long)vfs.f_frsize;
	for (int r = 0; r < PLACE_N; r++) {
		out->ratio[r] = p->ratio[r] > 0 ? p->ratio[r] : defaults[r];
		out->allocatable[r] = (long long)((double)out->total[r] * out->ratio[r]);
	}
	if ((out->allocated[PLACE_CPUS] = sum(db, "SELECT coalesce(sum(" SQL_INSTANCE_CPUS "), 0) FROM "
					      "instances WHERE kind = 'vm'",
					      e)) < 0 ||
	    (out->allocated[PLACE_MEMORY] = sum(db, "SELECT coalesce(sum(" SQL_INSTANCE_MEMORY "), 0) FROM instances "
						"WHERE kind = 'vm'",
						e)) < 0 ||
	    (out->allocated[PLACE_DISK] = sum(db, "SELECT (SELECT coalesce(sum(size), 0) FROM volumes) + "
					    SQL_INSTANCE_DISKS, e)) < 0)
		return -EIO;
	return 0;
}

int placement_check(struct db *db, const struct placement *p, const struct quota *need,
		    struct err *e)
{
	struct placement_view v;
	int rc = placement_view(db, p, &v, e);
	if (rc < 0)
		return rc;
	const long long want[PLACE_N] = { need->v[QUOTA_CPUS], need->v[QUOTA_MEMORY],
					  need->v[QUOTA_DISK] };
	for (int r = 0; r < PLACE_N; r++) {
		if (want[r] <= 0 || v.allocated[r] + want[r] <= v.allocatable[r])
			continue;
		char a[32], b[32], c[32], d[32];
		bool size = r != PLACE_CPUS;
		if (size) {
			format_size((uint64_t)v.total[r], a, sizeof a);
			format_size((uint64_t)v.allocatable[r], b, sizeof b);
			format_size((uint64_t)v.allocated[r], c, sizeof c);
			format_size((uint64_t)want[r], d, sizeof d);
		} else {
			snprintf(a, sizeof a, "%lld", v.total[r]);
			snprintf(b, sizeof b, "%lld", v.allocatable[r]);
			snprintf(c, sizeof c, "%lld", v.allocated[r]);
			snprintf(d, sizeof d, "%lld", want[r]);
		}
		return err_set(e, -ENOSPC, "this host has no room: %s: %s allocatable (%s x %g "
			       "overcommit), %s allocated, this request needs %s more", names[r], b, a,
			       v.ratio[r], c, d);
	}
	/* What fits on paper may still find no room in fact. */
	if (want[PLACE_CPUS] > 0 || want[PLACE_MEMORY] > 0) {
		struct host_load l;
		if ((rc = placement_load(p, &l, e)) < 0)
			return rc;
		return host_load_admit(&l, &p->load, e);
	}
	return 0;
}

int placement_load(const struct placement *p, struct host_load *out, struct err *e)
{
	int rc = host_load_read(out, e);
	if (rc == 0 && p->vm_cpu.valid) {
		out->has_vm_cpu = true;
		out->vm_cpus = p->vm_cpu.cpus;
		out->vms = p->vm_cpu.vms;
		out->vm_window_s = p->vm_cpu.window_s;
	}
	return rc;
}
