/*
 * cgroup v1 limits (kernel Documentation/admin-guide/cgroup-v1): one file per
 * knob in the controller's own hierarchy.  OCI's memory.swap is the v1
 * memory+swap total (memory.memsw.limit_in_bytes).  Device rules are written
 * in order to devices.allow / devices.deny.  Controllers the host lacks in v1
 * but has in a hybrid host's unified tree (hugetlb, say) are set there.
 */
#include "ctr/cgroup.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctr/util.h"

static int knob(struct cgroup *cg, const char *ctl, const char *file, const char *val,
		struct err *e)
{
	char d[PATH_MAX + 256], f[PATH_MAX + 400];
	cg_v1_dir(cg, ctl, d, sizeof d);
	if (!d[0] && cg->rootless) {
		char why[128];
		snprintf(why, sizeof why, "a rootless container cannot write the %s cgroup on this host",
			 ctl);
		cg_note_ignored(cg, file, why);
		return 0;
	}
	if (!d[0])
		return err_set(e, -ENOTSUP, "cgroup: the host has no %s controller (needed for %s)",
			       ctl, file);
	snprintf(f, sizeof f, "%s/%s", d, file);
	int rc = write_str(f, val);
	if (rc)
		return err_set(e, rc, "cgroup: writing %s to %s: %s", val, f, strerror(-rc));
	return 0;
}

static int knob_i64(struct cgroup *cg, const char *ctl, const char *file, int64_t v,
		    struct err *e)
{
	char s[32];
	snprintf(s, sizeof s, "%" PRId64, v);
	return knob(cg, ctl, file, s, e);
}

static void devnum(char *out, size_t n, int64_t major, int64_t minor)
{
	char a[24], b[24];
	if (major < 0)
		snprintf(a, sizeof a, "*");
	else
		snprintf(a, sizeof a, "%" PRId64, major);
	if (minor < 0)
		snprintf(b, sizeof b, "*");
	else
		snprintf(b, sizeof b, "%" PRId64, minor);
	snprintf(out, n, "%s:%s", a, b);
}

int cg1_devices(struct cgroup *cg, const struct oci_resources *r, struct err *e)
{
	int rc = 0;
	if (!r->ndevs)
		return 0;
	if (!cg_has_v1(cg, "devices") && cg->rootless) {
		cg_note_ignored(cg, "linux.resources.devices",
				"a rootless container cannot write the devices cgroup on this host");
		return 0;
	}
	if (!cg_has_v1(cg, "devices"))
		return err_set(e, -ENOTSUP, "cgroup: linux.resources.devices: no devices controller on this host");
	for (size_t i = 0; i < r->ndevs; i++) {
		const struct oci_devrule *d = &r->devs[i];
		char v[96], dn[48];
		if (d->type == 'a' && d->major < 0 && d->minor < 0)
			snprintf(v, sizeof v, "a");
		else {
			devnum(dn, sizeof dn, d->major, d->minor);
			snprintf(v, sizeof v, "%c %s %s", d->type, dn, d->access);
		}
		rc = knob(cg, "devices", d->allow ? "devices.allow" : "devices.deny", v, e);
		/* Allowing "a" fails once the parent restricts devices; the
		 * rules after it still apply. */
		if (rc && !(d->allow && d->type == 'a'))
			return rc;
		rc = 0;
	}
	/* The devices every container gets (config-linux.md "Default
	 * Devices") stay usable whatever the rules said. */
	static const char *const defaults[] = { "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",
						"c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm",
						"c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm" };
	for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
		if ((rc = knob(cg, "devices", "devices.allow", defaults[i], e)))
			return rc;
	return 0;
}

/* Writes an optional knob if this kernel has it, else notes it as ignored. */
static int optional_knob(struct cgroup *cg, const char *ctl, const char *file, const char *val,
			 const char *what, struct err *e)
{
	char d[PATH_MAX + 256], why[PATH_MAX + 64];
	cg_v1_dir(cg, ctl, d, sizeof d);
	if (cg_knob_exists(d, file))
		return knob(cg, ctl, file, val, e);
	snprintf(why, sizeof why, "this host's kernel has no %s", file);
	cg_note_ignored(cg, what, why);
	return 0;
}

int cg1_apply(struct cgroup *cg, const struct oci_resources *r, struct err *e)
{
	int rc = 0;
	char num[32];
	if (r->mem_limit.set && (rc = knob_i64(cg, "memory", "memory.limit_in_bytes",
					       r->mem_limit.v, e)))
		return rc;
	if (r->mem_swap.set) {
		char d[PATH_MAX + 256], f[PATH_MAX + 400];
		cg_v1_dir(cg, "memory", d, sizeof d);
		snprintf(f, sizeof f, "%s/memory.memsw.limit_in_bytes", d);
		if (access(f, F_OK) == 0) {
			if ((rc = knob_i64(cg, "memory", "memory.memsw.limit_in_bytes", r->mem_swap.v, e)))
				return rc;
		} else if (r->mem_swap.v != -1 && !(r->mem_limit.set && r->mem_swap.v == r->mem_limit.v)) {
			return err_set(e, -ENOTSUP, "cgroup: linux.resources.memory.swap: the host has no swap accounting (memory.memsw.limit_in_bytes)");
		}
	}
	if (r->mem_reservation.set &&
	    (rc = knob_i64(cg, "memory", "memory.soft_limit_in_bytes", r->mem_reservation.v, e)))
		return rc;
	if (r->mem_swappiness.set &&
	    (rc = knob_i64(cg, "memory", "memory.swappiness", r->mem_swappiness.v, e)))
		return rc;
	if (r->mem_disable_oom && (rc = knob(cg, "memory", "memory.oom_control", "1", e)))
		return rc;
	if (r->mem_kernel.set) {
		snprintf(num, sizeof num, "%" PRId64, r->mem_kernel.v);
		if ((rc = optional_knob(cg, "memory", "memory.kmem.limit_in_bytes", num,
					"linux.resources.memory.kernel", e)))
			return rc;
	}
	if (r->mem_kernel_tcp.set) {
		snprintf(num, sizeof num, "%" PRId64, r->mem_kernel_tcp.v);
		if ((rc = optional_knob(cg, "memory", "memory.kmem.tcp.limit_in_bytes", num,
					"linux.resources.memory.kernelTCP", e)))
			return rc;
	}
	if (r->cpu_shares.set && (rc = knob_i64(cg, "cpu", "cpu.shares", r->cpu_shares.v, e)))
		return rc;
	if (r->cpu_period.set && (rc = knob_i64(cg, "cpu", "cpu.cfs_period_us", r->cpu_period.v, e)))
		return rc;
	if (r->cpu_quota.set && (rc = knob_i64(cg, "cpu", "cpu.cfs_quota_us", r->cpu_quota.v, e)))
		return rc;
	if (r->cpu_rt_period.set &&
	    (rc = knob_i64(cg, "cpu", "cpu.rt_period_us", r->cpu_rt_period.v, e)))
		return rc;
	if (r->cpu_rt_runtime.set &&
	    (rc = knob_i64(cg, "cpu", "cpu.rt_runtime_us", r->cpu_rt_runtime.v, e)))
		return rc;
	if (r->cpus && (rc = knob(cg, "cpuset", "cpuset.cpus", r->cpus, e)))
		return rc;
	if (r->mems && (rc = knob(cg, "cpuset", "cpuset.mems", r->mems, e)))
		return rc;
	if (r->pids_limit.set &&
	    (rc = r->pids_limit.v < 0 ? knob(cg, "pids", "pids.max", "max", e)
				      : knob_i64(cg, "pids", "pids.max", r->pids_limit.v, e)))
		return rc;
	if (r->blkio_weight.set && r->blkio_weight.v) {
		char d[PATH_MAX + 256], f[PATH_MAX + 400];
		cg_v1_dir(cg, "blkio", d, sizeof d);
		snprintf(f, sizeof f, "%s/blkio.weight", d);
		const char *file = access(f, F_OK) == 0 ? "blkio.weight" : "blkio.bfq.weight";
		if ((rc = knob_i64(cg, "blkio", file, r->blkio_weight.v, e)))
			return rc;
	}
	if (r->blkio_leaf_weight.set && r->blkio_leaf_weight.v) {
		snprintf(num, sizeof num, "%" PRId64, r->blkio_leaf_weight.v);
		if ((rc = optional_knob(cg, "blkio", "blkio.leaf_weight", num,
					"linux.resources.blockIO.leafWeight", e)))
			return rc;
	}
	for (size_t i = 0; i < r->nwdev; i++) {
		char v[64], dn[48];
		devnum(dn, sizeof dn, r->wdev[i].major, r->wdev[i].minor);
		if (r->wdev[i].weight.set) {
			snprintf(v, sizeof v, "%s %" PRId64, dn, r->wdev[i].weight.v);
			if ((rc = knob(cg, "blkio", "blkio.weight_device", v, e)))
				return rc;
		}
		if (r->wdev[i].leaf.set) {
			snprintf(v, sizeof v, "%s %" PRId64, dn, r->wdev[i].leaf.v);
			if ((rc = optional_knob(cg, "blkio", "blkio.leaf_weight_device", v,
						"linux.resources.blockIO.weightDevice[].leafWeight", e)))
				return rc;
		}
	}
	static const char *thr[4] = { "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
				      "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device" };
	for (int k = 0; k < 4; k++)
		for (size_t i = 0; i < r->nrdev[k]; i++) {
			char v[80], dn[48];
			devnum(dn, sizeof dn, r->rdev[k][i].major, r->rdev[k][i].minor);
			snprintf(v, sizeof v, "%s %" PRIu64, dn, r->rdev[k][i].rate);
			if ((rc = knob(cg, "blkio", thr[k], v, e)))
				return rc;
		}
	for (size_t i = 0; i < r->nhuge; i++) {
		char file[128], v[32], what[96];
		snprintf(v, sizeof v, "%" PRIu64, r->huge[i].limit);
		if (cg_has_v1(cg, "hugetlb")) {
			snprintf(file, sizeof file, "hugetlb.%s.limit_in_bytes", r->huge[i].size);
			snprintf(what, sizeof what, "linux.resources.hugepageLimits[%zu] (%s)", i,
				 r->huge[i].size);
			if (!cg_host_has_hugepages(r->huge[i].size))
				cg_note_ignored(cg, what, "this host has no hugepages of that size");
			else if ((rc = knob(cg, "hugetlb", file, v, e)))
				return rc;
		}
	}
	if (r->nhuge && !cg_has_v1(cg, "hugetlb") && cg->unified[0]) {
		/* Hybrid host whose hugetlb lives in the unified hierarchy. */
		char d[PATH_MAX + 256];
		cg_v2_dir(cg, d, sizeof d);
		if ((rc = cg2_apply(d, r, true, cg, e)))
			return rc;
	} else if (r->nhuge && !cg_has_v1(cg, "hugetlb")) {
		cg_note_ignored(cg, "linux.resources.hugepageLimits", "this host has no hugetlb controller");
	}
	if ((rc = cg1_devices(cg, r, e)))
		return rc;
	if (r->nunified) {
		if (cg->mode == CG_HYBRID && cg->unified[0]) {
			char d[PATH_MAX + 256];
			cg_v2_dir(cg, d, sizeof d);
			for (size_t i = 0; i < r->nunified; i++) {
				char f[PATH_MAX + 400];
				snprintf(f, sizeof f, "%s/%s", d, r->unified[i].key);
				if ((rc = write_str(f, r->unified[i].value)))
					return err_set(e, rc, "cgroup: linux.resources.unified.%s: %s",
						       r->unified[i].key, strerror(-rc));
			}
		} else {
			return err_set(e, -ENOTSUP, "config.json: linux.resources.unified: needs cgroup v2, the host has v1");
		}
	}
	return 0;
}
