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

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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

int vm_cgroup_parse_parent(const char *s, struct err *err)
{
	if (s[0] != '/')
		return err_set(err, -EINVAL, "--cgroup-parent %s: must be an absolute path "
			       "(from each hierarchy's root)", s);
	bool named = false;
	for (const char *p = s; *p;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return err_set(err, -EINVAL, "--cgroup-parent %s: \".\" and \"..\" are not "
				       "allowed", s);
		named |= n > 0;
		p += n;
	}
	if (!named)
		return err_set(err, -EINVAL, "--cgroup-parent %s: the root cannot be the VMs' "
			       "parent (it would have no weight of its own)", s);
	if (strlen(s) > 200)
		return err_set(err, -ENAMETOOLONG, "--cgroup-parent %.40s...: longer than 200 "
			       "characters", s);
	return 0;
}

/* v1 blkio.weight (10..1000, default 500) for a v2 weight, as systemd maps it. */
static unsigned blkio_weight(unsigned w)
{
	unsigned long long b = (unsigned long long)w * 500 / 100;
	return b < 10 ? 10 : b > 1000 ? 1000 : (unsigned)b;
}

/* BFQ's weight (1..1000, default 100) for a v2 weight: the same up to the
 * default, then linear to 1000 at 10000 (systemd's mapping). */
static unsigned bfq_weight(unsigned w)
{
	if (w <= 100)
		return w < 1 ? 1 : w;
	return 100 + (w - 100) * 900 / 9900;
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

/* The group below the VMs' parent; the launcher returns to its own (caller). */
static int below_parent(struct vm_cgroup *vc, const char *mnt, const char *parent,
			const char *caller, const char *name, const char *enable, struct err *err)
{
	char back[sizeof vc->back[0]];   /* mnt may be in vc: no overlapping snprintf */
	snprintf(back, sizeof back, "%s%s", mnt, caller);
	int rc = group_in(vc, mnt, parent, name, enable != NULL, enable, err);
	if (rc >= 0)
		memcpy(vc->back[rc], back, sizeof back);
	return rc;
}

/*
 * One controller's group: v1 if the host has it there, else v2, else
 * NO_CONTROLLER.  Below the VMs' parent (made by make_parents) if there is
 * one and the controller has weights (cpu, blkio) or is in v2's single
 * hierarchy; else below the caller's group.
 */
static int controller_group(struct vm_cgroup *vc, const struct vm_cgroup_limits *l,
			    const char *v1name, const char *v2name, bool weighted,
			    const char *proc_cgroup, const char *name, struct err *err)
{
	char parent[PATH_MAX];
	for (int i = 0; i < vc->host.nh; i++)
		if (cg_has_word(vc->host.h[i].opts, v1name, ',')) {
			caller_path(proc_cgroup, vc->host.h[i].opts, false, parent, sizeof parent);
			if (!l->parent || !weighted)
				return group_in(vc, vc->host.h[i].mnt, parent, name, false, NULL, err);
			return below_parent(vc, vc->host.h[i].mnt, l->parent, parent, name, NULL, err);
		}
	if (vc->host.unified[0] && cg_has_word(vc->host.v2ctrl, v2name, ' ')) {
		char enable[32];
		snprintf(enable, sizeof enable, "+%s", v2name);
		caller_path(proc_cgroup, "", true, parent, sizeof parent);
		if (l->parent)
			return below_parent(vc, vc->host.unified, l->parent, parent, name, enable, err);
		return v2_group(vc, parent, name, enable, err);
	}
	return NO_CONTROLLER;
}

/* Writes the parent's CPU and I/O weight where the hierarchy has the knobs. */
static int parent_weights(const char *dir, unsigned w, struct err *err)
{
	char v[32];
	struct { const char *knob; unsigned long long val; const char *fmt; } k[] = {
		{ "cpu.weight", w, "%llu" },
		{ "cpu.shares", (unsigned long long)w * 1024 / 100, "%llu" },
		{ "io.weight", w, "default %llu" },
		{ "blkio.weight", blkio_weight(w), "%llu" },
	};
	for (unsigned i = 0; i < sizeof k / sizeof k[0]; i++) {
		if (!knob_exists(dir, k[i].knob))
			continue;
		snprintf(v, sizeof v, k[i].fmt, k[i].val);
		int rc = write_knob(dir, k[i].knob, v);
		if (rc < 0)
			return err_set(err, rc, "cgroup %s/%s: cannot write %s: %s", dir, k[i].knob,
				       v, strerror(-rc));
	}
	return 0;
}

/*
 * Makes l->parent below mnt, a level at a time; in v2 each level first
 * enables `enable` ("+cpu +io") for the next, which every level without
 * processes allows.  Writes the weight if it made the last level or the
 * weight was given.
 */
static int parent_in(const char *mnt, const struct vm_cgroup_limits *l, const char *enable,
		     struct err *err)
{
	char cur[PATH_MAX + 512];
	snprintf(cur, sizeof cur, "%s", mnt);
	bool made = false;
	for (const char *s = l->parent; *s;) {
		while (*s == '/')
			s++;
		size_t n = strcspn(s, "/");
		if (!n)
			break;
		if (enable && *enable) {
			int rc = write_knob(cur, "cgroup.subtree_control", enable);
			if (rc < 0)
				return err_set(err, rc, "cgroup %s: cannot enable \"%s\": %s", cur,
					       enable, strerror(-rc));
		}
		size_t cl = strlen(cur);
		if (cl + 1 + n >= sizeof cur)
			return err_set(err, -ENAMETOOLONG, "cgroup %s%s: path too long", mnt, l->parent);
		cur[cl] = '/';
		memcpy(cur + cl + 1, s, n);
		cur[cl + 1 + n] = 0;
		made = mkdir(cur, 0755) == 0;
		if (!made && errno != EEXIST)
			return err_set(err, -errno, "cgroup %s: %s", cur, strerror(errno));
		s += n;
	}
	if (!made && !l->parent_weight_given)
		return 0;
	return parent_weights(cur, l->parent_weight ? l->parent_weight : VM_CGROUP_PARENT_WEIGHT,
			      err);
}

/* The parent in each hierarchy the VM's groups will go below it: v1 cpu and
 * blkio, and v2 for whichever of cpu, io and memory v1 does not hold. */
static int make_parents(struct vm_cgroup *vc, const struct vm_cgroup_limits *l, struct err *err)
{
	int rc;
	for (int i = 0; i < vc->host.nh; i++)
		if ((cg_has_word(vc->host.h[i].opts, "cpu", ',') ||
		     cg_has_word(vc->host.h[i].opts, "blkio", ',')) &&
		    (rc = parent_in(vc->host.h[i].mnt, l, NULL, err)) < 0)
			return rc;
	if (!vc->host.unified[0])
		return 0;
	char enable[64] = "";
	static const char *const v2[][2] = { { "cpu", "cpu" }, { "io", "blkio" },
					     { "memory", "memory" } };
	for (unsigned i = 0; i < 3; i++)
		if (cg_has_word(vc->host.v2ctrl, v2[i][0], ' ') && !cg_has_v1(&vc->host, v2[i][1])) {
			size_t n = strlen(enable);
			snprintf(enable + n, sizeof enable - n, "%s+%s", n ? " " : "", v2[i][0]);
		}
	return enable[0] ? parent_in(vc->host.unified, l, enable, err) : 0;
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
		if ((g = controller_group(vc, l, "cpu", "cpu", true, pc, name, err)) == NO_CONTROLLER) {
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
		if ((g = controller_group(vc, l, "memory", "memory", false, pc, name, err)) ==
		    NO_CONTROLLER) {
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
		if ((g = controller_group(vc, l, "blkio", "io", true, pc, name, err)) ==
		    NO_CONTROLLER) {
			note_ignored(vc, "--io-weight", "no io/blkio controller on this host");
		} else if (g < 0) {
			return g;
		} else if (is_v2_dir(vc, g)) {
			if (knob_exists(vc->dir[g], "io.weight")) {
				snprintf(v, sizeof v, "default %u", l->io_weight);
				rc = set(vc, g, "io.weight", v, err);
			} else if (knob_exists(vc->dir[g], "io.bfq.weight")) {
				snprintf(v, sizeof v, "%u", bfq_weight(l->io_weight));
				rc = set(vc, g, "io.bfq.weight", v, err);
			} else {
				rc = 0;
				note_ignored(vc, "--io-weight", "the disks' I/O scheduler has no weights");
			}
			if (rc)
				return rc;
		} else {
			const char *knob = knob_exists(vc->dir[g], "blkio.weight") ? "blkio.weight"
					 : knob_exists(vc->dir[g], "blkio.bfq.weight") ? "blkio.bfq.weight"
					 : NULL;
			snprintf(v, sizeof v, "%u", knob && !strcmp(knob, "blkio.weight")
				 ? blkio_weight(l->io_weight) : bfq_weight(l->io_weight));
			if (!knob)
				note_ignored(vc, "--io-weight", "the disks' I/O scheduler has no weights "
					     "(blkio.weight needs CFQ or BFQ)");
			else if ((rc = set(vc, g, knob, v, err)))
				return rc;
		}
	}
	return 0;
}

/* The host's hierarchies, and the controllers its unified one offers. */
static int detect(struct vm_cgroup *vc, const char *mountinfo, struct err *err)
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
	return 0;
}

int vm_cgroup_create_from(struct vm_cgroup *vc, const struct vm_cgroup_limits *l,
			  const char *name, const char *mountinfo, const char *proc_cgroup,
			  struct err *err)
{
	int rc = detect(vc, mountinfo, err);
	if (rc < 0)
		return rc;
	if ((l->parent && (rc = make_parents(vc, l, err)) < 0) ||
	    (rc = apply(vc, l, proc_cgroup, name, err)) < 0) {
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

int vm_cgroup_make_parent_from(const struct vm_cgroup_limits *l, const char *mountinfo,
			       struct err *err)
{
	struct vm_cgroup vc;
	int rc = detect(&vc, mountinfo, err);
	return rc < 0 ? rc : l->parent ? make_parents(&vc, l, err) : 0;
}

int vm_cgroup_make_parent(const struct vm_cgroup_limits *l, struct err *err)
{
	char *mi = NULL;
	int rc = cg_read_whole("/proc/self/mountinfo", &mi);
	rc = rc ? err_set(err, rc, "cannot read /proc/self/mountinfo: %s", strerror(-rc))
		: vm_cgroup_make_parent_from(l, mi, err);
	free(mi);
	return rc;
}

/* Removes dir's stale VM groups (see vm_cgroup_sweep); how many. */
static int sweep_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int removed = 0;
	size_t pl = strlen(VM_CGROUP_PREFIX);
	for (struct dirent *de; (de = readdir(d));) {
		const char *num = de->d_name + pl;
		if (strncmp(de->d_name, VM_CGROUP_PREFIX, pl) || !isdigit((unsigned char)*num))
			continue;
		char *end;
		errno = 0;
		long pid = strtol(num, &end, 10);
		if (errno || *end || pid <= 0 || pid > INT_MAX)
			continue;
		/* A live launcher may be between making its group and joining it. */
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		char p[PATH_MAX + 512];
		if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, de->d_name) < sizeof p &&
		    rmdir(p) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

int vm_cgroup_sweep_from(const char *parent, const char *mountinfo, const char *proc_cgroup)
{
	struct vm_cgroup vc;
	struct err e = { 0 };
	if (detect(&vc, mountinfo, &e) < 0)
		return 0;
	int removed = 0;
	char dir[PATH_MAX + 512], caller[PATH_MAX];
	for (int i = 0; i <= vc.host.nh; i++) {
		bool v2 = i == vc.host.nh;
		const char *mnt = v2 ? vc.host.unified : vc.host.h[i].mnt;
		if (!mnt[0])
			continue;
		if (parent) {
			snprintf(dir, sizeof dir, "%s%s", mnt, parent);
			removed += sweep_dir(dir);
		}
		caller_path(proc_cgroup, v2 ? "" : vc.host.h[i].opts, v2, caller, sizeof caller);
		snprintf(dir, sizeof dir, "%s%s", mnt, caller);
		removed += sweep_dir(dir);
		/* v2 puts a VM beside a caller group that holds processes. */
		char *slash = strrchr(caller, '/');
		if (v2 && slash && slash != caller) {
			*slash = 0;
			snprintf(dir, sizeof dir, "%s%s", mnt, caller);
			removed += sweep_dir(dir);
		}
	}
	return removed;
}

int vm_cgroup_sweep(const char *parent)
{
	char *mi = NULL, *pc = NULL;
	int removed = 0;
	if (cg_read_whole("/proc/self/mountinfo", &mi) == 0 &&
	    cg_read_whole("/proc/self/cgroup", &pc) == 0)
		removed = vm_cgroup_sweep_from(parent, mi, pc);
	free(mi);
	free(pc);
	return removed;
}
