/*
 * cgroup v2 limits (kernel Documentation/admin-guide/cgroup-v2.rst).  The
 * controllers must first be enabled in cgroup.subtree_control of every
 * ancestor.  OCI values are in v1 units and converted: shares → cpu.weight,
 * memory.swap (memory+swap) → memory.swap.max (swap only), blkio weight →
 * io.weight.  linux.resources.unified is written verbatim last.
 * Device rules become an eBPF program (cgroup_devices.c).
 */
#include "ctr/cgroup.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctr/util.h"

uint64_t cg2_shares_to_weight(uint64_t shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cg2_blkio_to_io_weight(uint64_t w)
{
	if (w < 10)
		w = 10;
	if (w > 1000)
		w = 1000;
	return 1 + ((w - 10) * 9999) / 990;
}

int cg2_enable_controllers(const struct cgroup *cg, struct err *e)
{
	(void)e;
	if (!cg->v2ctrl[0])
		return 0;
	char want[512] = "";
	char ctl[256];
	snprintf(ctl, sizeof ctl, "%s", cg->v2ctrl);
	char *save, *c = strtok_r(ctl, " ", &save);
	while (c) {
		size_t l = strlen(want);
		snprintf(want + l, sizeof want - l, "%s+%s", l ? " " : "", c);
		c = strtok_r(NULL, " ", &save);
	}
	/* Every ancestor of the leaf, from the root down. */
	char dir[PATH_MAX + 256];
	snprintf(dir, sizeof dir, "%s", cg->unified);
	const char *p = cg->path;
	for (;;) {
		char f[PATH_MAX + 300];
		snprintf(f, sizeof f, "%s/cgroup.subtree_control", dir);
		if (write_str(f, want) != 0) {
			/* Enable one at a time: some (cpuset, say) may be refused. */
			char w2[512];
			snprintf(w2, sizeof w2, "%s", want);
			char *s2, *one = strtok_r(w2, " ", &s2);
			while (one) {
				write_str(f, one);
				one = strtok_r(NULL, " ", &s2);
			}
		}
		const char *next = strchr(p + 1, '/');
		if (!next)
			break;
		size_t l = strlen(dir);
		snprintf(dir + l, sizeof dir - l, "%.*s", (int)(next - p), p);
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return 0;
		p = next;
	}
	return 0;
}

static int knob(const char *dir, const char *file, const char *val, struct err *e)
{
	char f[PATH_MAX + 400];
	snprintf(f, sizeof f, "%s/%s", dir, file);
	int rc = write_str(f, val);
	if (rc == -ENOENT)
		return err_set(e, rc, "cgroup: %s: the controller is not enabled on this host", f);
	if (rc)
		return err_set(e, rc, "cgroup: writing %s to %s: %s", val, f, strerror(-rc));
	return 0;
}

static int knob_u(const char *dir, const char *file, int64_t v, struct err *e)
{
	char s[32];
	if (v < 0)
		snprintf(s, sizeof s, "max");
	else
		snprintf(s, sizeof s, "%" PRId64, v);
	return knob(dir, file, s, e);
}

int cg2_apply(const char *d, const struct oci_resources *r, bool only_missing_v1,
	      struct cgroup *cg, struct err *e)
{
	int rc;
	for (size_t i = 0; i < r->nhuge; i++) {
		char file[128], what[96];
		snprintf(file, sizeof file, "hugetlb.%s.max", r->huge[i].size);
		snprintf(what, sizeof what, "linux.resources.hugepageLimits[%zu] (%s)", i,
			 r->huge[i].size);
		if (!cg_host_has_hugepages(r->huge[i].size)) {
			cg_note_ignored(cg, what, "this host has no hugepages of that size");
			continue;
		}
		if ((rc = knob_u(d, file, (int64_t)r->huge[i].limit, e)))
			return rc;
	}
	if (only_missing_v1)
		return 0;
	/* Kernel memory and leaf weights have no cgroup2 counterpart. */
	if (r->mem_kernel.set)
		cg_note_ignored(cg, "linux.resources.memory.kernel", "cgroup v2 has no kernel memory limit");
	if (r->mem_kernel_tcp.set)
		cg_note_ignored(cg, "linux.resources.memory.kernelTCP", "cgroup v2 has no kernel TCP memory limit");
	if (r->blkio_leaf_weight.set && r->blkio_leaf_weight.v)
		cg_note_ignored(cg, "linux.resources.blockIO.leafWeight", "cgroup v2 has no leaf weight");
	if (r->mem_limit.set && (rc = knob_u(d, "memory.max", r->mem_limit.v, e)))
		return rc;
	if (r->mem_reservation.set && (rc = knob_u(d, "memory.low", r->mem_reservation.v, e)))
		return rc;
	if (r->mem_swap.set) {
		int64_t sw = r->mem_swap.v;
		if (sw >= 0 && r->mem_limit.set && r->mem_limit.v >= 0)
			sw -= r->mem_limit.v;
		else if (sw >= 0 && !(r->mem_limit.set && r->mem_limit.v >= 0))
			return err_set(e, -EINVAL, "config.json: linux.resources.memory.swap: needs memory.limit on cgroup v2");
		char f[PATH_MAX + 300];
		snprintf(f, sizeof f, "%s/memory.swap.max", d);
		if (access(f, F_OK) == 0) {
			if ((rc = knob_u(d, "memory.swap.max", sw, e)))
				return rc;
		} else if (sw > 0) {
			return err_set(e, -ENOTSUP, "cgroup: memory.swap.max: the host has no swap accounting");
		}
	}
	if (r->cpu_shares.set &&
	    (rc = knob_u(d, "cpu.weight", (int64_t)cg2_shares_to_weight((uint64_t)r->cpu_shares.v), e)))
		return rc;
	if (r->cpu_quota.set || r->cpu_period.set) {
		char v[64], q[24];
		int64_t period = r->cpu_period.set ? r->cpu_period.v : 100000;
		if (!r->cpu_quota.set || r->cpu_quota.v < 0)
			snprintf(q, sizeof q, "max");
		else
			snprintf(q, sizeof q, "%" PRId64, r->cpu_quota.v);
		snprintf(v, sizeof v, "%s %" PRId64, q, period);
		if ((rc = knob(d, "cpu.max", v, e)))
			return rc;
	}
	if (r->cpu_idle.set && (rc = knob_u(d, "cpu.idle", r->cpu_idle.v, e)))
		return rc;
	if (r->cpus && (rc = knob(d, "cpuset.cpus", r->cpus, e)))
		return rc;
	if (r->mems && (rc = knob(d, "cpuset.mems", r->mems, e)))
		return rc;
	if (r->pids_limit.set && (rc = knob_u(d, "pids.max", r->pids_limit.v, e)))
		return rc;
	if (r->blkio_weight.set && r->blkio_weight.v) {
		char v[40], f[PATH_MAX + 300];
		snprintf(f, sizeof f, "%s/io.bfq.weight", d);
		if (access(f, F_OK) == 0)
			rc = knob_u(d, "io.bfq.weight", r->blkio_weight.v, e);
		else {
			snprintf(v, sizeof v, "default %" PRIu64,
				 cg2_blkio_to_io_weight((uint64_t)r->blkio_weight.v));
			rc = knob(d, "io.weight", v, e);
		}
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < r->nwdev; i++) {
		if (!r->wdev[i].weight.set)
			continue;
		char v[80];
		snprintf(v, sizeof v, "%" PRId64 ":%" PRId64 " %" PRIu64, r->wdev[i].major,
			 r->wdev[i].minor, cg2_blkio_to_io_weight((uint64_t)r->wdev[i].weight.v));
		if ((rc = knob(d, "io.weight", v, e)))
			return rc;
	}
	static const char *key[4] = { "rbps", "wbps", "riops", "wiops" };
	for (int k = 0; k < 4; k++)
		for (size_t i = 0; i < r->nrdev[k]; i++) {
			char v[96];
			snprintf(v, sizeof v, "%" PRId64 ":%" PRId64 " %s=%" PRIu64, r->rdev[k][i].major,
				 r->rdev[k][i].minor, key[k], r->rdev[k][i].rate);
			if ((rc = knob(d, "io.max", v, e)))
				return rc;
		}
	if ((rc = cg2_devices(d, r, e)))
		return rc;
	for (size_t i = 0; i < r->nunified; i++) {
		if (strchr(r->unified[i].key, '/'))
			return err_set(e, -EINVAL, "config.json: linux.resources.unified: \"%s\" is not a file name",
				       r->unified[i].key);
		if ((rc = knob(d, r->unified[i].key, r->unified[i].value, e)))
			return rc;
	}
	return 0;
}
