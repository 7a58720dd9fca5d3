/*
 * Host detection and the parts common to v1 and v2: paths, creation order,
 * joining, freezing, killing, removal.  See cgroup.h.
 */
#include "ctr/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctr/config.h"
#include "ctr/util.h"

static void expand_slice(const char *slice, char *out, size_t n)
{
	/* "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" is the root. */
	out[0] = 0;
	if (!strcmp(slice, "-.slice") || !*slice)
		return;
	size_t sl = strlen(slice);
	const char *base = slice;
	size_t bl = sl > 6 && !strcmp(slice + sl - 6, ".slice") ? sl - 6 : sl;
	for (size_t i = 0; i <= bl; i++) {
		if (i == bl || base[i] == '-') {
			size_t o = strlen(out);
			snprintf(out + o, n - o, "/%.*s.slice", (int)i, base);
		}
	}
}

int cg_resolve_path(const char *cp, const char *id, bool systemd, char *out, size_t n,
		    struct err *e)
{
	if (!cp || !*cp) {
		char name[NAME_MAX + 1];
		id_file_name(id, name, sizeof name);   /* a directory: at most 255 characters */
		if (systemd)
			snprintf(out, n, "/system.slice/nimbus-%.200s.scope", name);
		else
			snprintf(out, n, "/nimbus/%s", name);
		return 0;
	}
	if (systemd && cp[0] != '/') {
		char slice[256], prefix[256], name[512];
		const char *c1 = strchr(cp, ':');
		const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c1 || !c2)
			return err_set(e, -EINVAL,
				       "config.json: linux.cgroupsPath: \"%s\" is not slice:prefix:name (--systemd-cgroup)",
				       cp);
		snprintf(slice, sizeof slice, "%.*s", (int)(c1 - cp), cp);
		snprintf(prefix, sizeof prefix, "%.*s", (int)(c2 - c1 - 1), c1 + 1);
		snprintf(name, sizeof name, "%s", c2 + 1);
		char sp[512];
		expand_slice(*slice ? slice : "system.slice", sp, sizeof sp);
		size_t nl = strlen(name);
		if (nl > 6 && !strcmp(name + nl - 6, ".slice"))
			snprintf(out, n, "%s/%s", sp, name);
		else
			snprintf(out, n, "%s/%s%s%s.scope", sp, prefix, *prefix ? "-" : "", name);
		return 0;
	}
	/* Relative paths are taken from the hierarchy root too. */
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s%s", cp[0] == '/' ? "" : "/", cp);
	if (strstr(tmp, "/../") || (strlen(tmp) >= 3 && !strcmp(tmp + strlen(tmp) - 3, "/..")))
		return err_set(e, -EINVAL, "config.json: linux.cgroupsPath: \"%s\" contains ..", cp);
	size_t l = strlen(tmp);
	while (l > 1 && tmp[l - 1] == '/')
		tmp[--l] = 0;
	if (l <= 1)
		return err_set(e, -EINVAL, "config.json: linux.cgroupsPath: \"%s\" is the root cgroup", cp);
	snprintf(out, n, "%s", tmp);
	return 0;
}

/* All cgroup directories of this container: v1 hierarchies then unified. */
static int cg_dirs(const struct cgroup *cg, char dirs[][PATH_MAX + 256], int max)
{
	int n = 0;
	for (int i = 0; i < cg->nh && n < max; i++)
		snprintf(dirs[n++], PATH_MAX + 256, "%s%s", cg->h[i].mnt, cg->path);
	if (cg->unified[0] && n < max)
		snprintf(dirs[n++], PATH_MAX + 256, "%s%s", cg->unified, cg->path);
	return n;
}

/* mkdir -p, and for v1 cpuset copy cpus/mems down into each new level
 * (a new cpuset cgroup starts empty and refuses tasks). */
static int mkdir_cg(const char *mnt, const char *path, bool cpuset)
{
	char buf[PATH_MAX + 256];
	size_t ml = strlen(mnt);
	snprintf(buf, sizeof buf, "%s%s", mnt, path);
	if (!cpuset) {
		if (mkdir(buf, 0755) == 0 || errno == EEXIST)
			return 0;
		if (errno != ENOENT)
			return -errno;
	}
	for (char *p = buf + ml + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = 0;
		bool made = mkdir(buf, 0755) == 0;
		if (!made && errno != EEXIST)
			return -errno;
		if (cpuset) {
			char f[PATH_MAX + 300], v[4096], parent[PATH_MAX + 256];
			snprintf(parent, sizeof parent, "%s", buf);
			*strrchr(parent, '/') = 0;
			for (int k = 0; k < 2; k++) {
				const char *knob = k ? "cpuset.mems" : "cpuset.cpus";
				snprintf(f, sizeof f, "%s/%s", buf, knob);
				if (read_small(f, v, sizeof v) == 0 && v[0])
					continue;
				snprintf(f, sizeof f, "%s/%s", parent, knob);
				if (read_small(f, v, sizeof v) == 0) {
					snprintf(f, sizeof f, "%s/%s", buf, knob);
					write_str(f, v);
				}
			}
		}
		if (!c)
			break;
		*p = c;
	}
	return 0;
}

void cg_note_ignored(struct cgroup *cg, const char *what, const char *why)
{
	size_t l = strlen(cg->warn);
	if (!strstr(cg->warn, what))
		snprintf(cg->warn + l, sizeof cg->warn - l, "%s%s ignored: %s", l ? "; " : "", what,
			 why);
}

bool cg_host_has_hugepages(const char *size)
{
	char *end;
	unsigned long long n = strtoull(size, &end, 10);
	static const char units[] = "KMGTPE";
	const char *u = *end ? strchr(units, *end) : NULL;
	if (end == size || !u || strcmp(end + 1, "B"))
		return false;
	for (long k = u - units; k > 0; k--)
		n *= 1024;
	char d[96];
	snprintf(d, sizeof d, "/sys/kernel/mm/hugepages/hugepages-%llukB", n);
	return access(d, F_OK) == 0;
}

bool cg_knob_exists(const char *dir, const char *file)
{
	char f[PATH_MAX + 400];
	if (!dir[0] || (size_t)snprintf(f, sizeof f, "%s/%s", dir, file) >= sizeof f)
		return false;
	return access(f, F_OK) == 0;
}

static bool dir_has_procs(const char *dir)
{
	char f[PATH_MAX + 300], v[64];
	snprintf(f, sizeof f, "%s/cgroup.procs", dir);
	return read_small(f, v, sizeof v) == 0 && v[0];
}

int cg_create(struct cgroup *cg, const struct oci_resources *r, struct err *e)
{
	int rc = 0;
	for (int i = 0; i < cg->nh; i++) {
		bool cpuset = cg_has_word(cg->h[i].opts, "cpuset", ',');
		rc = mkdir_cg(cg->h[i].mnt, cg->path, cpuset);
		if (rc == -EROFS || rc == -EACCES || rc == -EPERM) {
			/* A hierarchy we cannot write (say, name=systemd on a read-only
			 * mount, or any of them for a rootless user on v1) is skipped,
			 * unless a limit needs it; rootless, such limits are ignored. */
			cg->h[i].opts[0] = 0;
			if (running_rootless())
				cg->rootless = true;
			continue;
		}
		if (rc) {
			err_set(e, rc, "cgroup %s%s: %s", cg->h[i].mnt, cg->path, strerror(-rc));
			goto fail;
		}
	}
	/* Hybrid: the unified tree is joined only when a limit lives there.
	 * Migrating a task in cgroup2 waits for an RCU grace period (~5 ms),
	 * by far the costliest step of starting a container otherwise. */
	if (cg->mode == CG_HYBRID && !(r && (r->nhuge || r->nunified)))
		cg->unified[0] = 0;
	if (cg->unified[0]) {
		if (cg->mode == CG_V2 && (rc = cg2_enable_controllers(cg, e)))
			goto fail;
		rc = mkdir_cg(cg->unified, cg->path, false);
		if ((rc == -EROFS || rc == -EACCES || rc == -EPERM) && cg->mode == CG_V2 &&
		    running_rootless()) {
			/* Rootless without a delegated cgroup2 subtree: no cgroup. */
			cg->rootless = true;
			cg->unified[0] = 0;
			rc = 0;
		}
		if (rc && cg->mode == CG_V2) {
			err_set(e, rc, "cgroup %s%s: %s", cg->unified, cg->path, strerror(-rc));
			goto fail;
		}
		if (rc)
			cg->unified[0] = 0;   /* hybrid: the unified tree is optional */
	}
	char d[PATH_MAX + 256];
	cg_v1_dir(cg, "pids", d, sizeof d);
	if (!d[0])
		cg_v2_dir(cg, d, sizeof d);
	if (dir_has_procs(d)) {
		rc = err_set(e, -EEXIST, "cgroup %s is already in use by other processes", cg->path);
		return rc;   /* not ours: do not remove */
	}
	if (r) {
		if (cg->mode == CG_V2 && !cg->unified[0]) {
			cg_note_ignored(cg, "linux.resources",
					"a rootless container cannot write the cgroup2 hierarchy here (no delegated subtree)");
		} else if (cg->mode == CG_V2) {
			cg_v2_dir(cg, d, sizeof d);
			rc = cg2_apply(d, r, false, cg, e);
		} else {
			rc = cg1_apply(cg, r, e);
		}
		if (rc)
			goto fail;
	}
	return 0;
fail:
	cg_destroy(cg, NULL);
	return rc;
}

int cg_apply_devices(struct cgroup *cg, const struct oci_resources *r, struct err *e)
{
	if (cg->mode != CG_V2)
		return cg1_devices(cg, r, e);
	if (!cg->unified[0]) {   /* rootless, no cgroup (see cg_create) */
		if (r->ndevs)
			cg_note_ignored(cg, "linux.resources.devices",
					"a rootless container cannot write the cgroup2 hierarchy here (no delegated subtree)");
		return 0;
	}
	char d[PATH_MAX + 256];
	cg_v2_dir(cg, d, sizeof d);
	return cg2_devices(d, r, e);
}

int cg_set_pids_limit(const struct cgroup *cg, int64_t limit, struct err *e)
{
	char d[PATH_MAX + 256], f[PATH_MAX + 300], v[32];
	cg_v1_dir(cg, "pids", d, sizeof d);
	if (!d[0] && cg->mode == CG_V2)
		cg_v2_dir(cg, d, sizeof d);
	if (!d[0])
		return err_set(e, -ENOTSUP, "cgroup: linux.resources.pids.limit: the host has no pids controller");
	if (limit < 0)
		snprintf(v, sizeof v, "max");
	else
		snprintf(v, sizeof v, "%lld", (long long)limit);
	path_cat(f, sizeof f, d, "/pids.max");
	int rc = write_str(f, v);
	if (rc)
		return err_set(e, rc, "cgroup: writing %s to %s: %s", v, f, strerror(-rc));
	return 0;
}

int cg_enter(const struct cgroup *cg, pid_t pid, bool skip_unified, struct err *e)
{
	char dirs[CG_MAX_HIER + 1][PATH_MAX + 256], v[32];
	int n = cg_dirs(cg, dirs, CG_MAX_HIER + 1);
	if (skip_unified && cg->unified[0])
		n--;
	snprintf(v, sizeof v, "%d", (int)pid);
	for (int i = 0; i < n; i++) {
		if (i < cg->nh && !cg->h[i].opts[0])
			continue;
		char f[PATH_MAX + 300];
		path_cat(f, sizeof f, dirs[i], "/cgroup.procs");
		int rc = write_str(f, v);
		/* A hierarchy create skipped (not writable) has no directory. */
		if (rc == -ENOENT && access(dirs[i], F_OK) != 0)
			continue;
		if (rc && !(i == cg->nh && cg->mode == CG_HYBRID))
			return err_set(e, rc, "joining cgroup %s: %s", f, strerror(-rc));
	}
	return 0;
}

int cg_pids(const struct cgroup *cg, pid_t **out, size_t *n)
{
	char d[PATH_MAX + 256], f[PATH_MAX + 300];
	cg_v1_dir(cg, "pids", d, sizeof d);
	if (!d[0])
		cg_v1_dir(cg, "memory", d, sizeof d);
	if (!d[0])
		cg_v2_dir(cg, d, sizeof d);
	snprintf(f, sizeof f, "%s/cgroup.procs", d);
	char *txt;
	*out = NULL;
	*n = 0;
	int rc = read_file(f, &txt, NULL);
	if (rc)
		return rc;
	size_t cap = 16;
	pid_t *v = malloc(cap * sizeof *v);
	for (char *p = txt; *p;) {
		char *end;
		long x = strtol(p, &end, 10);
		if (end == p)
			break;
		if (*n == cap)
			v = realloc(v, (cap *= 2) * sizeof *v);
		v[(*n)++] = (pid_t)x;
		p = end;
		while (*p == '\n')
			p++;
	}
	free(txt);
	*out = v;
	return 0;
}

int cg_kill_all(const struct cgroup *cg, int sig)
{
	if (cg->path[0] != '/' || !cg->path[1])
		return -EINVAL;   /* the root cgroup holds the whole host */
	pid_t *p;
	size_t n;
	int rc = cg_pids(cg, &p, &n);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		kill(p[i], sig);
	free(p);
	return (int)n;
}

int cg_is_frozen(const struct cgroup *cg)
{
	char d[PATH_MAX + 256], f[PATH_MAX + 300], v[256];
	cg_v1_dir(cg, "freezer", d, sizeof d);
	if (d[0]) {
		snprintf(f, sizeof f, "%s/freezer.state", d);
		if (read_small(f, v, sizeof v))
			return -errno;
		return !strcmp(v, "FROZEN") || !strcmp(v, "FREEZING");
	}
	cg_v2_dir(cg, d, sizeof d);
	if (!d[0])
		return 0;
	snprintf(f, sizeof f, "%s/cgroup.freeze", d);
	if (read_small(f, v, sizeof v))
		return 0;
	return v[0] == '1';
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

int cg_freeze(const struct cgroup *cg, bool freeze, struct err *e)
{
	char d[PATH_MAX + 256], f[PATH_MAX + 300], v[256];
	int rc;
	cg_v1_dir(cg, "freezer", d, sizeof d);
	if (d[0]) {
		snprintf(f, sizeof f, "%s/freezer.state", d);
		const char *want = freeze ? "FROZEN" : "THAWED";
		for (int i = 0; i < 2000; i++) {
			if ((rc = write_str(f, want)))
				return err_set(e, rc, "%s: %s", f, strerror(-rc));
			if (read_small(f, v, sizeof v) == 0 && !strcmp(v, want))
				return 0;
			sleep_us(i < 10 ? 100 : 1000);
		}
		return err_set(e, -ETIMEDOUT, "%s: did not reach %s", f, want);
	}
	cg_v2_dir(cg, d, sizeof d);
	if (!d[0])
		return err_set(e, -ENOTSUP, "no freezer cgroup on this host");
	snprintf(f, sizeof f, "%s/cgroup.freeze", d);
	if ((rc = write_str(f, freeze ? "1" : "0")))
		return err_set(e, rc, "%s: %s", f, strerror(-rc));
	snprintf(f, sizeof f, "%s/cgroup.events", d);
	for (int i = 0; i < 2000; i++) {
		char *txt;
		if (read_file(f, &txt, NULL) == 0) {
			bool done = strstr(txt, freeze ? "frozen 1" : "frozen 0") != NULL;
			free(txt);
			if (done)
				return 0;
		}
		sleep_us(i < 10 ? 100 : 1000);
	}
	return err_set(e, -ETIMEDOUT, "%s: freezing timed out", d);
}

bool cg_exists(const struct cgroup *cg)
{
	char dirs[CG_MAX_HIER + 1][PATH_MAX + 256];
	int n = cg_dirs(cg, dirs, CG_MAX_HIER + 1);
	for (int i = 0; i < n; i++)
		if (access(dirs[i], F_OK) == 0)
			return true;
	return false;
}

int cg_destroy(const struct cgroup *cg, struct err *e)
{
	if (cg->path[0] != '/' || !cg->path[1])
		return err_set(e, -EINVAL, "refusing to remove a root cgroup");
	char dirs[CG_MAX_HIER + 1][PATH_MAX + 256];
	int n = cg_dirs(cg, dirs, CG_MAX_HIER + 1);
	/* Kill stragglers, thawing first: frozen tasks cannot die. */
	bool any = false;
	for (int round = 0; round < 400; round++) {
		int k = cg_kill_all(cg, SIGKILL);
		if (k <= 0)
			break;
		any = true;
		if (round == 0 && cg_is_frozen(cg) == 1)
			cg_freeze(cg, false, NULL);
		sleep_us(round < 20 ? 200 : 5000);
	}
	(void)any;
	int rc = 0;
	for (int i = 0; i < n; i++) {
		for (int t = 0; t < 200; t++) {
			if (rmdir(dirs[i]) == 0 || errno == ENOENT)
				break;
			if (errno != EBUSY) {
				if (!rc)
					rc = err_set(e, -errno, "removing cgroup %s: %s", dirs[i],
						     strerror(errno));
				break;
			}
			/* Exited tasks linger in the cgroup for a moment. */
			sleep_us(t < 20 ? 200 : 5000);
			if (t == 199 && !rc)
				rc = err_set(e, -EBUSY, "removing cgroup %s: still busy", dirs[i]);
		}
	}
	return rc;
}

static uint64_t kv_get(const char *txt, const char *key)
{
	size_t l = strlen(key);
	for (const char *p = txt; p && *p;) {
		if (!strncmp(p, key, l) && p[l] == ' ')
			return strtoull(p + l + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

int cg_oom_kills(const struct cgroup *cg, uint64_t *n)
{
	char d[PATH_MAX + 256], f[PATH_MAX + 300];
	*n = 0;
	cg_v1_dir(cg, "memory", d, sizeof d);
	if (d[0])
		snprintf(f, sizeof f, "%s/memory.oom_control", d);
	else {
		cg_v2_dir(cg, d, sizeof d);
		snprintf(f, sizeof f, "%s/memory.events", d);
	}
	char *txt;
	int rc = read_file(f, &txt, NULL);
	if (rc)
		return rc;
	*n = kv_get(txt, "oom_kill");
	free(txt);
	return 0;
}

int cg_stats(const struct cgroup *cg, uint64_t *usage, uint64_t *limit, uint64_t *pids,
	     uint64_t *cpu)
{
	char d[PATH_MAX + 256], f[PATH_MAX + 300], v[4096];
	*usage = *limit = *pids = *cpu = 0;
	cg_v1_dir(cg, "memory", d, sizeof d);
	if (d[0]) {
		snprintf(f, sizeof f, "%s/memory.usage_in_bytes", d);
		if (!read_small(f, v, sizeof v))
			*usage = strtoull(v, NULL, 10);
		snprintf(f, sizeof f, "%s/memory.limit_in_bytes", d);
		if (!read_small(f, v, sizeof v))
			*limit = strtoull(v, NULL, 10);
	}
	cg_v1_dir(cg, "pids", d, sizeof d);
	if (d[0]) {
		snprintf(f, sizeof f, "%s/pids.current", d);
		if (!read_small(f, v, sizeof v))
			*pids = strtoull(v, NULL, 10);
	}
	cg_v1_dir(cg, "cpuacct", d, sizeof d);
	if (d[0]) {
		snprintf(f, sizeof f, "%s/cpuacct.usage", d);
		if (!read_small(f, v, sizeof v))
			*cpu = strtoull(v, NULL, 10);
	}
	if (cg->mode == CG_V2) {
		cg_v2_dir(cg, d, sizeof d);
		snprintf(f, sizeof f, "%s/memory.current", d);
		if (!read_small(f, v, sizeof v))
			*usage = strtoull(v, NULL, 10);
		snprintf(f, sizeof f, "%s/memory.max", d);
		if (!read_small(f, v, sizeof v))
			*limit = strcmp(v, "max") ? strtoull(v, NULL, 10) : UINT64_MAX;
		snprintf(f, sizeof f, "%s/pids.current", d);
		if (!read_small(f, v, sizeof v))
			*pids = strtoull(v, NULL, 10);
		snprintf(f, sizeof f, "%s/cpu.stat", d);
		char *txt;
		if (!read_file(f, &txt, NULL)) {
			*cpu = kv_get(txt, "usage_usec") * 1000;
			free(txt);
		}
	}
	return 0;
}
