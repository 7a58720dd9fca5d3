/*
 * The per-VM cgroup; see vm_cgroup.h.  Knobs, per controller:
 *   cpu     v2 cpu.weight, cpu.max            v1 cpu.shares, cpu.cfs_period_us/quota_us
 *   memory  v2 memory.max                     v1 memory.limit_in_bytes
 *   io      v2 io.weight ("default N"),       v1 blkio.weight, else blkio.bfq.weight
 *           else io.bfq.weight
 * A knob missing from the group (an I/O scheduler without weights) is noted
 * in host.warn and skipped; a knob that refuses its value fails the create.
 */
#include "vmm/vm_cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool vm_cgroup_wanted(const struct vm_cgroup_limits *l)
{
	return l->cpu_weight || l->cpu_quota_us || l->mem_max || l->io_weight;
}

int vm_cgroup_parse_cpu_max(const char *s, struct vm_cgroup_limits *l, struct err *err)
{
	if (!strcmp(s, "max")) {
		l->cpu_quota_us = 0;
		return 0;
	}
	char *end;
	errno = 0;
	if (strchr(s, '/')) {
		unsigned long long q = strtoull(s, &end, 10);
		if (errno || end == s || *end != '/' || s[0] == '-')
			goto bad;
		const char *p = end + 1;
		unsigned long long per = strtoull(p, &end, 10);
		if (errno || end == p || *end || p[0] == '-')
			goto bad;
		if (per < 1000 || per > 1000000)
			return err_set(err, -EINVAL, "--cpu-max %s: the period must be 1000 to "
				       "1000000 microseconds", s);
		if (q < 1000)
			return err_set(err, -EINVAL, "--cpu-max %s: the quota must be at least "
				       "1000 microseconds", s);
		l->cpu_quota_us = q;
		l->cpu_period_us = per;
		return 0;
	}
	double cpus = strtod(s, &end);
	if (errno || end == s || *end || !(cpus > 0))
		goto bad;
	if (cpus < 0.01 || cpus > 1024)
		return err_set(err, -EINVAL, "--cpu-max %s: must be 0.01 to 1024 CPUs", s);
	l->cpu_period_us = 100000;
	l->cpu_quota_us = (uint64_t)(cpus * 100000 + 0.5);
	return 0;
bad:
	return err_set(err, -EINVAL, "--cpu-max %s: expected CPUS (e.g. 0.5), QUOTA/PERIOD in "
		       "microseconds (e.g. 50000/100000) or max", s);
}

/* The group's path in a hierarchy, from /proc/self/cgroup ("N:ctl,ctl:/path"
 * for v1, "0::/path" for v2); "/" if not listed. */
static void caller_path(const char *proc_cgroup, const char *opts, bool v2, char *out, size_t n)
{
	snprintf(out, n, "/");
	for (const char *line = proc_cgroup; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[PATH_MAX + 256];
		if (len >= sizeof buf)
			len = sizeof buf - 1;
		memcpy(buf, line, len);
		buf[len] = 0;
		line = nl ? nl + 1 : NULL;
		char *c1 = strchr(buf, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c1 = 0;
		*c2 = 0;
		const char *ctls = c1 + 1, *path = c2 + 1;
		if (v2 ? (!strcmp(buf, "0") && !*ctls) : !strcmp(ctls, opts)) {
			snprintf(out, n, "%s", path);
			return;
		}
	}
}

static int write_knob(const char *dir, const char *knob, const char *val)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof p, "%s/%s", dir, knob);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, val, strlen(val));
	int rc = w < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static bool knob_exists(const char *dir, const char *knob)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof p, "%s/%s", dir, knob);
	return access(p, F_OK) == 0;
}

static void note_ignored(struct vm_cgroup *vc, const char *what, const char *why)
{
	size_t l = strlen(vc->host.warn);
	snprintf(vc->host.warn + l, sizeof vc->host.warn - l, "%s%s ignored: %s", l ? "; " : "",
		 what, why);
}

/* Index of the group in hierarchy (mnt), making it if new; -errno. */
static int group_in(struct vm_cgroup *vc, const char *mnt, const char *parent, const char *name,
		    bool v2, const char *enable, struct err *err)
{
	char dir[PATH_MAX + 512];
	const char *sep = strcmp(parent, "/") ? "/" : "";
	if ((size_t)snprintf(dir, sizeof dir, "%s%s%s%s", mnt, parent, sep, name) >= sizeof dir)
		return err_set(err, -ENAMETOOLONG, "cgroup %s%s: path too long", mnt, parent);
	if (v2 && enable) {
		/* Controllers must be enabled in the parent for the child to have knobs,
		   which a non-root group holding processes refuses (EBUSY). */
		char pdir[PATH_MAX + 512], procs[16] = "";
		snprintf(pdir, sizeof pdir, "%s%s/cgroup.procs", mnt, parent);
		if (strcmp(parent, "/") && cg_read_small(pdir, procs, sizeof procs) == 0 && procs[0])
			return -EBUSY;
		snprintf(pdir, sizeof pdir, "%s%s", mnt, parent);
		int rc = write_knob(pdir, "cgroup.subtree_control", enable);
		if (rc == -EBUSY)
			return rc;   /* the parent holds processes: the caller tries beside it */
		if (rc < 0)
			return err_set(err, rc, "cgroup %s: cannot enable \"%s\": %s", pdir, enable,
				       strerror(-rc));
	}
	for (unsigned i = 0; i < vc->ndirs; i++)
		if (!strcmp(vc->dir[i], dir))
			return (int)i;
	if (vc->ndirs == VM_CGROUP_MAX_DIRS)
		return err_set(err, -E2BIG, "cgroup: too many hierarchies");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return err_set(err, -errno, "cgroup %s: %s", dir, strerror(errno));
	unsigned i = vc->ndirs++;
	snprintf(vc->dir[i], sizeof vc->dir[i], "%s", dir);
	snprintf(vc->back[i], sizeof vc->back[i], "%s%s", mnt, parent);
	return (int)i;
}

/* The v2 group: below the caller's group, or beside it if that holds processes. */
static int v2_group(struct vm_cgroup *vc, const char *parent, const char *name,
		    const char *enable, struct err *err)
{
	int rc = group_in(vc, vc->host.unified, parent, name, true, enable, err);
	if (rc != -EBUSY)
		return rc;
	char up[PATH_MAX];
	snprintf(up, sizeof up, "%s", parent);
	char *slash = strrchr(up, '/');
	if (slash == up)
		up[1] = 0;
	else if (slash)
		*slash = 0;
	rc = group_in(vc, vc->host.unified, up, name, true, enable, err);
	if (rc >= 0) {
		/* Return to where we really were, not to the parent. */
		snprintf(vc->back[rc], sizeof vc->back[rc], "%s%s", vc->host.unified, parent);
		return rc;
	}
	if (rc == -EBUSY)
		return err_set(err, rc, "cgroup %s%s: cannot enable \"%s\": it holds processes",
			       vc->host.unified, up, enable);
	return rc;
}

static int set(struct vm_cgroup *vc, int idx, const char *knob, const char *val, struct err *err)
{
	int rc = write_knob(vc->dir[idx], knob, val);
	if (rc < 0)
		return err_set(err, rc, "cgroup %s/%s: cannot write %s: %s", vc->dir[idx], knob, val,
			       strerror(-rc));
	return 0;
}

/* controller_group's answer when the host has the controller nowhere. */
#define NO_CONTROLLER INT_MIN   /* apart from every index and -errno */

/* One controller's group: v1 if the host has it there, else v2, else NO_CONTROLLER. */
static int controller_group(struct vm_cgroup *vc, const char *v1name, const char *v2name,
			    const char *proc_cgroup, const char *name, struct err *err)
{
	char parent[PATH_MAX];
	for (int i = 0; i < vc->host.nh; i++)
		if (cg_has_word(vc->host.h[i].opts, v1name, ',')) {
			caller_path(proc_cgroup, vc->host.h[i].opts, false, parent, sizeof parent);
			return group_in(vc, vc->host.h[i].mnt, parent, name, false, NULL, err);
		}
	if (vc->host.unified[0] && cg_has_word(vc->host.v2ctrl, v2name, ' ')) {
		char enable[32];
		snprintf(enable, sizeof enable, "+%s", v2name);
		caller_path(proc_cgroup, "", true, parent, sizeof parent);
		return v2_group(vc, parent, name, enable, err);
	}
	return NO_CONTROLLER;
}

static bool is_v2_dir(const struct vm_cgroup *vc, int idx)
{
	size_t n = strlen(vc->host.unified);
	return n && !strncmp(vc->dir[idx], vc->host.unified, n) && vc->dir[idx][n] == '/';
}

static int apply(struct vm_cgroup *vc, const struct vm_cgroup_limits *l, const char *pc,
		 const char *name, struct err *err)
{
	char v[64];
	int g, rc;
	if (l->cpu_weight || l->cpu_quota_us) {
		if ((g = controller_group(vc, "cpu", "cpu", pc, name, err)) == NO_CONTROLLER) {
			note_ignored(vc, "--cpu-weight/--cpu-max", "no cpu controller on this host");
		} else if (g < 0) {
			return g;
		} else if (is_v2_dir(vc, g)) {
			snprintf(v, sizeof v, "%u", l->cpu_weight ? l->cpu_weight : 100);
			if (l->cpu_weight && (rc = set(vc, g, "cpu.weight", v, err)))
				return rc;
			snprintf(v, sizeof v, "%llu %llu", (unsigned long long)l->cpu_quota_us,
				 (unsigned long long)(l->cpu_period_us ? l->cpu_period_us : 100000));
			if (l->cpu_quota_us && (rc = set(vc, g, "cpu.max", v, err)))
				return rc;
		} else {
			unsigned long long shares = (unsigned long long)l->cpu_weight * 1024 / 100;
			snprintf(v, sizeof v, "%llu", shares < 2 ? 2 : shares > 262144 ? 262144 : shares);
			if (l->cpu_weight && (rc = set(vc, g, "cpu.shares", v, err)))
				return rc;
			if (l->cpu_quota_us) {
				snprintf(v, sizeof v, "%llu", (unsigned long long)
					 (l->cpu_period_us ? l->cpu_period_us : 100000));
				if ((rc = set(vc, g, "cpu.cfs_period_us", v, err)))
					return rc;
				snprintf(v, sizeof v, "%llu", (unsigned long long)l->cpu_quota_us);
				if ((rc = set(vc, g, "cpu.cfs_quota_us", v, err)))
					return rc;
			}
		}
	}
	if (l->mem_max) {
		if ((g = controller_group(vc, "memory", "memory", pc, name, err)) == NO_CONTROLLER) {
			note_ignored(vc, "--mem-limit", "no memory controller on this host");
		} else if (g < 0) {
			return g;
		} else {
			snprintf(v, sizeof v, "%llu", (unsigned long long)l->mem_max);
			if ((rc = set(vc, g, is_v2_dir(vc, g) ? "memory.max" : "memory.limit_in_bytes",
				      v, err)))
				return rc;
		}
	}
	if (l->io_weight) {
		if ((g = controller_group(vc, "blkio", "io", pc, name, err)) == NO_CONTROLLER) {
			note_ignored(vc, "--io-weight", "no io/blkio controller on this host");
		} else if (g < 0) {
			return g;
		} else if (is_v2_dir(vc, g)) {
			if (knob_exists(vc->dir[g], "io.weight")) {
				snprintf(v, sizeof v, "default %u", l->io_weight);
				rc = set(vc, g, "io.weight", v, err);
			} else if (knob_exists(vc->dir[g], "io.bfq.weight")) {
				unsigned w = l->io_weight / 10;
				snprintf(v, sizeof v, "%u", w < 1 ? 1 : w > 1000 ? 1000 : w);
				rc = set(vc, g, "io.bfq.weight", v, err);
			} else {
				rc = 0;
				note_ignored(vc, "--io-weight", "the disks' I/O scheduler has no weights");
			}
			if (rc)
				return rc;
		} else {
			unsigned w = l->io_weight / 10;
			snprintf(v, sizeof v, "%u", w < 10 ? 10 : w > 1000 ? 1000 : w);
			const char *knob = knob_exists(vc->dir[g], "blkio.weight") ? "blkio.weight"
					 : knob_exists(vc->dir[g], "blkio.bfq.weight") ? "blkio.bfq.weight"
					 : NULL;
			if (!knob)
				note_ignored(vc, "--io-weight", "the disks' I/O scheduler has no weights "
					     "(blkio.weight needs CFQ or BFQ)");
			else if ((rc = set(vc, g, knob, v, err)))
				return rc;
		}
	}
	return 0;
}

int vm_cgroup_create_from(struct vm_cgroup *vc, const struct vm_cgroup_limits *l,
			  const char *name, const char *mountinfo, const char *proc_cgroup,
			  struct err *err)
{
	memset(vc, 0, sizeof *vc);
	int rc = cg_detect_from(&vc->host, mountinfo, err);
	if (rc < 0)
		return rc;
	if (vc->host.unified[0] && !vc->host.v2ctrl[0]) {
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/cgroup.controllers", vc->host.unified);
		cg_read_small(p, vc->host.v2ctrl, sizeof vc->host.v2ctrl);
	}
	if ((rc = apply(vc, l, proc_cgroup, name, err)) < 0) {
		vm_cgroup_destroy(vc, false);
		return rc;
	}
	return 0;
}

int vm_cgroup_create(struct vm_cgroup *vc, const struct vm_cgroup_limits *l, const char *name,
		     struct err *err)
{
	char *mi = NULL, *pc = NULL;
	int rc = cg_read_whole("/proc/self/mountinfo", &mi);
	if (!rc)
		rc = cg_read_whole("/proc/self/cgroup", &pc);
	rc = rc ? err_set(err, rc, "cannot read /proc/self: %s", strerror(-rc))
		: vm_cgroup_create_from(vc, l, name, mi, pc, err);
	free(mi);
	free(pc);
	return rc;
}

int vm_cgroup_enter_self(const struct vm_cgroup *vc, struct err *err)
{
	for (unsigned i = 0; i < vc->ndirs; i++) {
		/* "0": the writing process, whatever PID namespace it is in. */
		int rc = write_knob(vc->dir[i], "cgroup.procs", "0");
		if (rc < 0)
			return err_set(err, rc, "cgroup %s: cannot join: %s", vc->dir[i], strerror(-rc));
	}
	return 0;
}

void vm_cgroup_destroy(struct vm_cgroup *vc, bool leave_self)
{
	for (unsigned i = vc->ndirs; i-- > 0;) {
		if (leave_self)
			(void)write_knob(vc->back[i], "cgroup.procs", "0");
		rmdir(vc->dir[i]);
	}
	vc->ndirs = 0;
}
