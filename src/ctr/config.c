/*
 * config.json parsing (OCI runtime-spec 1.x, config.md and config-linux.md).
 * Strategy: walk the cJSON tree once, type-check every field we use and copy
 * scalars into struct oci_config; strings stay in the tree.  Unknown fields
 * are ignored as the spec requires.  Errors name the JSON path.
 */
#include "ctr/config.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct { const char *json, *proc; int flag; } nstab[NS_COUNT] = {
	[NS_PID] = { "pid", "pid", CLONE_NEWPID },
	[NS_NET] = { "network", "net", CLONE_NEWNET },
	[NS_MNT] = { "mount", "mnt", CLONE_NEWNS },
	[NS_IPC] = { "ipc", "ipc", CLONE_NEWIPC },
	[NS_UTS] = { "uts", "uts", CLONE_NEWUTS },
	[NS_USER] = { "user", "user", CLONE_NEWUSER },
	[NS_CGROUP] = { "cgroup", "cgroup", CLONE_NEWCGROUP },
	[NS_TIME] = { "time", "time", CLONE_NEWTIME },
};

const char *ns_name(int ns) { return nstab[ns].json; }
const char *ns_proc_name(int ns) { return nstab[ns].proc; }
int ns_flag(int ns) { return nstab[ns].flag; }

int read_file(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t cap = 16384, n = 0;
	char *buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (n == cap) {
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int rc = -errno;
			free(buf);
			close(fd);
			return rc;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

/* ---- typed getters; `where` is the JSON path of the parent ---- */

#define BAD(e, where, key, what) \
	err_set(e, -EINVAL, "config.json: %s%s%s: " what, where, *(where) ? "." : "", key)

static int get_obj(const cJSON *p, const char *where, const char *key, const cJSON **out,
		   struct err *e)
{
	*out = NULL;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, key);
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v))
		return BAD(e, where, key, "expected an object");
	*out = v;
	return 0;
}

/*
 * Gives ptr a zeroed table for the n items of a JSON array, plus one zeroed
 * element so NULL-terminated walks also work; 0, or -ENOMEM reported in e.
 */
#define ALLOC_TABLE(ptr, n, e)                                              \
	(((ptr) = calloc((size_t)(n) + 1, sizeof *(ptr))) ? 0                \
							   : err_set((e), -ENOMEM, "config.json: out of memory"))

static int get_arr(const cJSON *p, const char *where, const char *key, const cJSON **out,
		   struct err *e)
{
	*out = NULL;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, key);
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v))
		return BAD(e, where, key, "expected an array");
	*out = v;
	return 0;
}

static int get_str(const cJSON *p, const char *where, const char *key, const char **out,
		   bool required, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, key);
	if (!v || cJSON_IsNull(v)) {
		if (required)
			return BAD(e, where, key, "required field missing");
		return 0;
	}
	if (!cJSON_IsString(v))
		return BAD(e, where, key, "expected a string");
	*out = v->valuestring;
	return 0;
}

static int get_bool(const cJSON *p, const char *where, const char *key, bool *out, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, key);
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsBool(v))
		return BAD(e, where, key, "expected true or false");
	*out = cJSON_IsTrue(v);
	return 0;
}

/* Integers: cJSON keeps a double, exact up to 2^53; larger values (e.g.
 * 18446744073709551615 for "unlimited") are clamped and still usable. */
static int num_i64(const cJSON *v, const char *where, const char *key, int64_t lo, int64_t hi,
		   int64_t *out, struct err *e)
{
	if (!cJSON_IsNumber(v))
		return BAD(e, where, key, "expected a number");
	double d = v->valuedouble;
	if (d != (double)(int64_t)d && !(d >= 9.2e18))
		return BAD(e, where, key, "expected an integer");
	if (d < (double)lo || d > (double)hi)
		return err_set(e, -EINVAL, "config.json: %s%s%s: %.0f out of range [%lld, %lld]",
			       where, *where ? "." : "", key, d, (long long)lo, (long long)hi);
	*out = d >= 9.2e18 ? INT64_MAX : (int64_t)d;
	return 0;
}

static int get_i64(const cJSON *p, const char *where, const char *key, int64_t lo, int64_t hi,
		   struct opt_i64 *out, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, key);
	if (!v || cJSON_IsNull(v))
		return 0;
	int rc = num_i64(v, where, key, lo, hi, &out->v, e);
	if (rc == 0)
		out->set = true;
	return rc;
}

static int get_u64(const cJSON *p, const char *where, const char *key, uint64_t *out, bool required,
		   struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, key);
	if (!v || cJSON_IsNull(v)) {
		if (required)
			return BAD(e, where, key, "required field missing");
		return 0;
	}
	if (!cJSON_IsNumber(v) || v->valuedouble < 0)
		return BAD(e, where, key, "expected a non-negative integer");
	/* cJSON keeps a double: 18446744073709551615 ("unlimited") arrives as
	 * exactly 2^64, which is allowed; anything beyond it (1e30) or with a
	 * fraction is not a value the kernel could be given. */
	double d = v->valuedouble;
	if (d != floor(d))
		return err_set(e, -EINVAL, "config.json: %s%s%s: %.17g is not an integer", where,
			       *where ? "." : "", key, d);
	if (d > 18446744073709551616.0)
		return err_set(e, -EINVAL, "config.json: %s%s%s: %.17g is above 18446744073709551615",
			       where, *where ? "." : "", key, d);
	*out = d >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)d;
	return 0;
}

/* User and group ids: the kernel's uid_t is 32 bits but (uid_t)-1 means
 * "unchanged" to setresuid(2), so 4294967295 would silently keep the
 * runtime's root.  Like runc, only 0..2147483647 is accepted. */
#define ID_MAX 2147483647

static int get_id(const cJSON *p, const char *where, const char *key, uint32_t *out,
		  struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, key);
	if (!v || cJSON_IsNull(v))
		return 0;
	int64_t x;
	int rc = num_i64(v, where, key, 0, ID_MAX, &x, e);
	if (rc == 0)
		*out = (uint32_t)x;
	return rc;
}

static int get_u32(const cJSON *p, const char *where, const char *key, uint32_t *out,
		   bool required, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, key);
	if (!v || cJSON_IsNull(v)) {
		if (required)
			return BAD(e, where, key, "required field missing");
		return 0;
	}
	int64_t x;
	int rc = num_i64(v, where, key, 0, UINT32_MAX, &x, e);
	if (rc == 0)
		*out = (uint32_t)x;
	return rc;
}

/* A NULL-terminated array of strings pointing into the tree. */
static int get_strv(const cJSON *p, const char *where, const char *key, char ***out, size_t *n,
		    struct err *e)
{
	*out = NULL;
	*n = 0;
	const cJSON *a;
	int rc = get_arr(p, where, key, &a, e);
	if (rc || !a)
		return rc;
	size_t cnt = (size_t)cJSON_GetArraySize(a), i = 0;
	char **v = calloc(cnt + 1, sizeof *v);
	if (!v)
		return err_set(e, -ENOMEM, "out of memory");
	const cJSON *it;
	cJSON_ArrayForEach(it, a) {
		if (!cJSON_IsString(it)) {
			free(v);
			return err_set(e, -EINVAL, "config.json: %s%s%s[%zu]: expected a string",
				       where, *where ? "." : "", key, i);
		}
		v[i++] = it->valuestring;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* ---- capabilities ---- */

int cap_from_name_str(const char *name)
{
	cap_value_t v;
	if (cap_from_name(name, &v) != 0)
		return -1;
	return (int)v;
}

/* The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap). */
static int cap_last(void)
{
	char buf[16] = "";
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	return n > 0 ? atoi(buf) : 63;
}

static int parse_capset(const cJSON *caps, const char *key, uint64_t *out, char *warn, size_t wsz,
			struct err *e)
{
	char **v;
	size_t n;
	int rc = get_strv(caps, "process.capabilities", key, &v, &n, e);
	if (rc)
		return rc;
	*out = 0;
	for (size_t i = 0; i < n; i++) {
		/* A name nobody knows is a mistake in the config (the spec's
		 * validation suite expects create to fail); a real capability
		 * this kernel predates is dropped with a warning, so configs
		 * written for newer kernels still run. */
		int c = cap_from_name_str(v[i]);
		if (c < 0 || c > 63 || strncmp(v[i], "CAP_", 4)) {
			int rc = err_set(e, -EINVAL, "config.json: process.capabilities.%s[%zu]: unknown capability \"%s\"",
					 key, i, v[i]);
			free(v);
			return rc;
		}
		if (c > cap_last()) {
			size_t l = strlen(warn);
			if (!strstr(warn, v[i]))
				snprintf(warn + l, wsz - l, "%scapability %s ignored: this kernel does not have it",
					 l ? "; " : "", v[i]);
			continue;
		}
		*out |= 1ULL << c;
	}
	free(v);
	return 0;
}

static const struct { const char *name; int res; } rlimtab[] = {
	{ "RLIMIT_AS", RLIMIT_AS }, { "RLIMIT_CORE", RLIMIT_CORE }, { "RLIMIT_CPU", RLIMIT_CPU },
	{ "RLIMIT_DATA", RLIMIT_DATA }, { "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS }, { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_NOFILE", RLIMIT_NOFILE }, { "RLIMIT_NPROC", RLIMIT_NPROC },
	{ "RLIMIT_RSS", RLIMIT_RSS }, { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
	{ "RLIMIT_RTTIME", RLIMIT_RTTIME }, { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_STACK", RLIMIT_STACK },
};

void config_free_process(struct oci_process *p)
{
	free(p->gids);
	free(p->args);
	free(p->env);
	free(p->rlimits);
	p->gids = NULL;
	p->args = p->env = NULL;
	p->rlimits = NULL;
}

int config_parse_process(struct oci_process *p, const cJSON *o, const char *where, struct err *e)
{
	int rc;
	const cJSON *x;
	memset(p, 0, sizeof *p);
	if (!cJSON_IsObject(o))
		return err_set(e, -EINVAL, "%s: expected an object", where);
	char w[64];
	if ((rc = get_bool(o, where, "terminal", &p->terminal, e)))
		return rc;
	if ((rc = get_obj(o, where, "consoleSize", &x, e)))
		return rc;
	if (x) {
		uint32_t h = 0, wd = 0;
		snprintf(w, sizeof w, "%s.consoleSize", where);
		if ((rc = get_u32(x, w, "height", &h, true, e)) || (rc = get_u32(x, w, "width", &wd, true, e)))
			return rc;
		p->cons_h = h;
		p->cons_w = wd;
	}
	if ((rc = get_obj(o, where, "user", &x, e)))
		return rc;
	if (x) {
		snprintf(w, sizeof w, "%s.user", where);
		if ((rc = get_id(x, w, "uid", &p->uid, e)) || (rc = get_id(x, w, "gid", &p->gid, e)))
			return rc;
		uint32_t um;
		if (cJSON_GetObjectItemCaseSensitive(x, "umask")) {
			if ((rc = get_u32(x, w, "umask", &um, false, e)))
				return rc;
			p->has_umask = true;
			p->umask = um & 0777;
		}
		const cJSON *g;
		if ((rc = get_arr(x, w, "additionalGids", &g, e)))
			return rc;
		if (g) {
			p->ngids = (size_t)cJSON_GetArraySize(g);
			if (ALLOC_TABLE(p->gids, p->ngids, e))
				return -ENOMEM;
			size_t i = 0;
			const cJSON *it;
			cJSON_ArrayForEach(it, g) {
				int64_t v;
				char k[32];
				snprintf(k, sizeof k, "additionalGids[%zu]", i);
				if ((rc = num_i64(it, w, k, 0, ID_MAX, &v, e)))
					return rc;
				p->gids[i++] = (uint32_t)v;
			}
		}
	}
	size_t n;
	if ((rc = get_strv(o, where, "args", &p->args, &p->nargs, e)))
		return rc;
	if (!p->args || p->nargs == 0 || !p->args[0][0])
		return err_set(e, -EINVAL, "config.json: %s.args: must name the program to run", where);
	if ((rc = get_strv(o, where, "env", &p->env, &p->nenv, e)))
		return rc;
	for (size_t i = 0; i < p->nenv; i++)
		if (!strchr(p->env[i], '='))
			return err_set(e, -EINVAL, "config.json: %s.env[%zu]: \"%s\" is not NAME=VALUE",
				       where, i, p->env[i]);
	p->cwd = "/";
	if ((rc = get_str(o, where, "cwd", &p->cwd, false, e)))
		return rc;
	if (p->cwd[0] != '/')
		return err_set(e, -EINVAL, "config.json: %s.cwd: \"%s\" is not an absolute path",
			       where, p->cwd);
	if ((rc = get_bool(o, where, "noNewPrivileges", &p->nnp, e)))
		return rc;
	if ((rc = get_str(o, where, "apparmorProfile", &p->apparmor, false, e)) ||
	    (rc = get_str(o, where, "selinuxLabel", &p->selinux, false, e)))
		return rc;
	const cJSON *oom = cJSON_GetObjectItemCaseSensitive(o, "oomScoreAdj");
	if (oom && !cJSON_IsNull(oom)) {
		int64_t v;
		if ((rc = num_i64(oom, where, "oomScoreAdj", -1000, 1000, &v, e)))
			return rc;
		p->has_oom = true;
		p->oom_score_adj = (int)v;
	}
	if ((rc = get_obj(o, where, "capabilities", &x, e)))
		return rc;
	if (x) {
		p->caps.set = true;
		if ((rc = parse_capset(x, "bounding", &p->caps.bounding, p->warn, sizeof p->warn, e)) ||
		    (rc = parse_capset(x, "effective", &p->caps.effective, p->warn, sizeof p->warn, e)) ||
		    (rc = parse_capset(x, "permitted", &p->caps.permitted, p->warn, sizeof p->warn, e)) ||
		    (rc = parse_capset(x, "inheritable", &p->caps.inheritable, p->warn, sizeof p->warn, e)) ||
		    (rc = parse_capset(x, "ambient", &p->caps.ambient, p->warn, sizeof p->warn, e)))
			return rc;
	}
	if ((rc = get_arr(o, where, "rlimits", &x, e)))
		return rc;
	if (x) {
		n = (size_t)cJSON_GetArraySize(x);
		if (ALLOC_TABLE(p->rlimits, n, e))
			return -ENOMEM;
		size_t i = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, x) {
			snprintf(w, sizeof w, "%s.rlimits[%zu]", where, i);
			const char *type = NULL;
			struct oci_rlimit *r = &p->rlimits[i];
			if (!cJSON_IsObject(it))
				return err_set(e, -EINVAL, "config.json: %s: expected an object", w);
			if ((rc = get_str(it, w, "type", &type, true, e)) ||
			    (rc = get_u64(it, w, "soft", &r->soft, true, e)) ||
			    (rc = get_u64(it, w, "hard", &r->hard, true, e)))
				return rc;
			r->resource = -1;
			for (size_t k = 0; k < sizeof rlimtab / sizeof rlimtab[0]; k++)
				if (!strcmp(rlimtab[k].name, type))
					r->resource = rlimtab[k].res;
			if (r->resource < 0)
				return err_set(e, -EINVAL, "config.json: %s.type: unknown rlimit \"%s\"",
					       w, type);
			for (size_t k = 0; k < i; k++)
				if (p->rlimits[k].resource == r->resource)
					return err_set(e, -EINVAL, "config.json: %s.type: %s given twice",
						       w, type);
			/* setrlimit(2) refuses it with a bare EINVAL; say why here. */
			if (r->soft > r->hard)
				return err_set(e, -EINVAL, "config.json: %s: %s soft limit %llu is above its hard limit %llu",
					       w, type, (unsigned long long)r->soft,
					       (unsigned long long)r->hard);
			r->name = type;
			i++;
		}
		p->nrlimits = i;
	}
	return 0;
}

/* ---- mounts ---- */

static const struct { const char *name; bool clear; unsigned long flag; } mflags[] = {
	{ "ro", false, MS_RDONLY }, { "rw", true, MS_RDONLY },
	{ "nosuid", false, MS_NOSUID }, { "suid", true, MS_NOSUID },
	{ "nodev", false, MS_NODEV }, { "dev", true, MS_NODEV },
	{ "noexec", false, MS_NOEXEC }, { "exec", true, MS_NOEXEC },
	{ "sync", false, MS_SYNCHRONOUS }, { "async", true, MS_SYNCHRONOUS },
	{ "dirsync", false, MS_DIRSYNC }, { "remount", false, MS_REMOUNT },
	{ "mand", false, MS_MANDLOCK }, { "nomand", true, MS_MANDLOCK },
	{ "atime", true, MS_NOATIME }, { "noatime", false, MS_NOATIME },
	{ "diratime", true, MS_NODIRATIME }, { "nodiratime", false, MS_NODIRATIME },
	{ "relatime", false, MS_RELATIME }, { "norelatime", true, MS_RELATIME },
	{ "strictatime", false, MS_STRICTATIME }, { "nostrictatime", true, MS_STRICTATIME },
	{ "silent", false, MS_SILENT }, { "loud", true, MS_SILENT },
	{ "defaults", true, 0 },
};

static const struct { const char *name; unsigned long flag; } pflags[] = {
	{ "shared", MS_SHARED }, { "rshared", MS_SHARED | MS_REC },
	{ "slave", MS_SLAVE }, { "rslave", MS_SLAVE | MS_REC },
	{ "private", MS_PRIVATE }, { "rprivate", MS_PRIVATE | MS_REC },
	{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

int mount_parse_options(struct oci_mount *m, const char *where, struct err *e)
{
	size_t dlen = 0;
	for (size_t i = 0; i < m->nopt; i++)
		dlen += strlen(m->options[i]) + 1;
	m->data = calloc(1, dlen + 1);
	if (!m->data)
		return err_set(e, -ENOMEM, "out of memory");
	for (size_t i = 0; i < m->nopt; i++) {
		const char *o = m->options[i];
		bool done = false;
		for (size_t k = 0; k < sizeof mflags / sizeof mflags[0] && !done; k++)
			if (!strcmp(o, mflags[k].name)) {
				if (mflags[k].clear)
					m->flags &= ~mflags[k].flag;
				else
					m->flags |= mflags[k].flag;
				done = true;
			}
		for (size_t k = 0; k < sizeof pflags / sizeof pflags[0] && !done; k++)
			if (!strcmp(o, pflags[k].name)) {
				m->propagation = pflags[k].flag;
				done = true;
			}
		if (!done && !strcmp(o, "bind")) {
			m->bind = true;
			done = true;
		}
		if (!done && !strcmp(o, "rbind")) {
			m->bind = m->rbind = true;
			done = true;
		}
		/* Options of other runtimes' extensions that carry no kernel meaning here. */
		if (!done && (!strcmp(o, "tmpcopyup") || !strcmp(o, "copy-symlink") ||
			      !strcmp(o, "idmap") || !strcmp(o, "ridmap") || !strncmp(o, "x-", 2) ||
			      !strcmp(o, "notmpcopyup") || !strcmp(o, "rro") || !strcmp(o, "rrw") ||
			      !strcmp(o, "z") || !strcmp(o, "Z")))
			done = true;
		if (!done) {
			if (!*o)
				return err_set(e, -EINVAL, "config.json: %s.options[%zu]: empty option",
					       where, i);
			if (*m->data)
				strcat(m->data, ",");
			strcat(m->data, o);
		}
	}
	if (m->type && !strcmp(m->type, "bind"))
		m->bind = true;
	return 0;
}

static int parse_mounts(struct oci_config *c, struct err *e)
{
	const cJSON *a;
	int rc = get_arr(c->root, "", "mounts", &a, e);
	if (rc || !a)
		return rc;
	size_t n = (size_t)cJSON_GetArraySize(a), i = 0;
	if (ALLOC_TABLE(c->mounts, n, e))
		return -ENOMEM;
	const cJSON *it;
	cJSON_ArrayForEach(it, a) {
		char w[48];
		snprintf(w, sizeof w, "mounts[%zu]", i);
		struct oci_mount *m = &c->mounts[i];
		c->nmounts = ++i;
		if (!cJSON_IsObject(it))
			return err_set(e, -EINVAL, "config.json: %s: expected an object", w);
		if ((rc = get_str(it, w, "destination", &m->dest, true, e)) ||
		    (rc = get_str(it, w, "type", &m->type, false, e)) ||
		    (rc = get_str(it, w, "source", &m->source, false, e)))
			return rc;
		if (m->dest[0] != '/')
			return err_set(e, -EINVAL,
				       "config.json: %s.destination: \"%s\" is not an absolute path",
				       w, m->dest);
		char **opts;
		if ((rc = get_strv(it, w, "options", &opts, &m->nopt, e)))
			return rc;
		m->options = (const char **)opts;
		if ((rc = mount_parse_options(m, w, e)))
			return rc;
		if (!m->type && !m->bind)
			return err_set(e, -EINVAL, "config.json: %s.type: required unless options has bind",
				       w);
		if (m->bind && !m->source)
			return err_set(e, -EINVAL, "config.json: %s.source: required for a bind mount", w);
		const cJSON *um = cJSON_GetObjectItemCaseSensitive(it, "uidMappings");
		if (um && cJSON_GetArraySize(um) > 0)
			return err_set(e, -EINVAL, "config.json: %s.uidMappings: idmapped mounts are not supported",
				       w);
	}
	return 0;
}

static int parse_idmaps(const cJSON *lx, const char *key, struct oci_idmap **out, size_t *n,
			struct err *e)
{
	const cJSON *a;
	int rc = get_arr(lx, "linux", key, &a, e);
	if (rc || !a)
		return rc;
	*n = (size_t)cJSON_GetArraySize(a);
	if (ALLOC_TABLE(*out, *n, e))
		return -ENOMEM;
	size_t i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, a) {
		char w[48];
		snprintf(w, sizeof w, "linux.%s[%zu]", key, i);
		struct oci_idmap *m = &(*out)[i++];
		if (!cJSON_IsObject(it))
			return err_set(e, -EINVAL, "config.json: %s: expected an object", w);
		if ((rc = get_u32(it, w, "containerID", &m->ctr, true, e)) ||
		    (rc = get_u32(it, w, "hostID", &m->host, true, e)) ||
		    (rc = get_u32(it, w, "size", &m->size, true, e)))
			return rc;
		if (m->size == 0)
			return err_set(e, -EINVAL, "config.json: %s.size: must be at least 1", w);
		/* Ids are 0..ID_MAX (see get_id); a range may not run past it. */
		if (m->ctr > ID_MAX || m->host > ID_MAX)
			return err_set(e, -EINVAL, "config.json: %s: id %u is not a valid id (0..%d)", w,
				       m->ctr > ID_MAX ? m->ctr : m->host, ID_MAX);
		if ((uint64_t)m->ctr + m->size - 1 > ID_MAX || (uint64_t)m->host + m->size - 1 > ID_MAX)
			return err_set(e, -EINVAL, "config.json: %s.size: %u ids from %u run past the largest id %d",
				       w, m->size, m->ctr > m->host ? m->ctr : m->host, ID_MAX);
	}
	return 0;
}

static int parse_devtype(const cJSON *it, const char *w, char *type, bool allow_all, struct err *e)
{
	const char *t = NULL;
	int rc = get_str(it, w, "type", &t, !allow_all, e);
	if (rc)
		return rc;
	if (!t) {
		*type = 'a';
		return 0;
	}
	if (strlen(t) != 1 || !strchr(allow_all ? "abcu" : "bcup", t[0]))
		return err_set(e, -EINVAL, "config.json: %s.type: \"%s\" is not a device type", w, t);
	*type = t[0];
	return 0;
}

static int parse_devices(struct oci_config *c, const cJSON *lx, struct err *e)
{
	const cJSON *a;
	int rc = get_arr(lx, "linux", "devices", &a, e);
	if (rc || !a)
		return rc;
	c->ndevices = (size_t)cJSON_GetArraySize(a);
	if (ALLOC_TABLE(c->devices, c->ndevices, e))
		return -ENOMEM;
	size_t i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, a) {
		char w[48];
		snprintf(w, sizeof w, "linux.devices[%zu]", i);
		struct oci_device *d = &c->devices[i++];
		struct opt_i64 v = { 0 };
		uint32_t u;
		if (!cJSON_IsObject(it))
			return err_set(e, -EINVAL, "config.json: %s: expected an object", w);
		if ((rc = get_str(it, w, "path", &d->path, true, e)) ||
		    (rc = parse_devtype(it, w, &d->type, false, e)))
			return rc;
		if (d->path[0] != '/')
			return err_set(e, -EINVAL, "config.json: %s.path: not absolute", w);
		if (d->type != 'p') {
			if (!cJSON_GetObjectItemCaseSensitive(it, "major") ||
			    !cJSON_GetObjectItemCaseSensitive(it, "minor"))
				return err_set(e, -EINVAL, "config.json: %s: major and minor are required",
					       w);
		}
		if ((rc = get_i64(it, w, "major", 0, 0xfff, &v, e)))
			return rc;
		d->major = v.v;
		v.set = false;
		if ((rc = get_i64(it, w, "minor", 0, 0xfffff, &v, e)))
			return rc;
		d->minor = v.v;
		if (cJSON_GetObjectItemCaseSensitive(it, "fileMode")) {
			if ((rc = get_u32(it, w, "fileMode", &u, false, e)))
				return rc;
			d->has_mode = true;
			d->mode = u & 07777;
		}
		if (cJSON_GetObjectItemCaseSensitive(it, "uid")) {
			if ((rc = get_id(it, w, "uid", &u, e)))
				return rc;
			d->has_uid = true;
			d->uid = u;
		}
		if (cJSON_GetObjectItemCaseSensitive(it, "gid")) {
			if ((rc = get_id(it, w, "gid", &u, e)))
				return rc;
			d->has_gid = true;
			d->gid = u;
		}
	}
	return 0;
}

static int parse_kv(const cJSON *o, const char *where, struct oci_kv **out, size_t *n, struct err *e)
{
	*n = (size_t)cJSON_GetArraySize(o);
	if (ALLOC_TABLE(*out, *n, e))
		return -ENOMEM;
	size_t i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, o) {
		if (!cJSON_IsString(it))
			return err_set(e, -EINVAL, "config.json: %s.%s: expected a string", where,
				       it->string);
		(*out)[i].key = it->string;
		(*out)[i++].value = it->valuestring;
	}
	return 0;
}

static int parse_ratedevs(const cJSON *b, const char *key, struct oci_ratedev **out, size_t *n,
			  struct err *e)
{
	const cJSON *a;
	int rc = get_arr(b, "linux.resources.blockIO", key, &a, e);
	if (rc || !a)
		return rc;
	*n = (size_t)cJSON_GetArraySize(a);
	if (ALLOC_TABLE(*out, *n, e))
		return -ENOMEM;
	size_t i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, a) {
		char w[96];
		snprintf(w, sizeof w, "linux.resources.blockIO.%s[%zu]", key, i);
		struct oci_ratedev *r = &(*out)[i++];
		struct opt_i64 mj = { 0 }, mn = { 0 };
		if ((rc = get_i64(it, w, "major", 0, 0xfff, &mj, e)) ||
		    (rc = get_i64(it, w, "minor", 0, 0xfffff, &mn, e)) ||
		    (rc = get_u64(it, w, "rate", &r->rate, true, e)))
			return rc;
		r->major = mj.v;
		r->minor = mn.v;
	}
	return 0;
}

static int parse_resources(struct oci_config *c, const cJSON *r, struct err *e)
{
	struct oci_resources *s = &c->res;
	const cJSON *x;
	int rc;
	c->has_resources = true;
	if ((rc = get_obj(r, "linux.resources", "memory", &x, e)))
		return rc;
	if (x) {
		const char *w = "linux.resources.memory";
		if ((rc = get_i64(x, w, "limit", -1, INT64_MAX, &s->mem_limit, e)) ||
		    (rc = get_i64(x, w, "reservation", -1, INT64_MAX, &s->mem_reservation, e)) ||
		    (rc = get_i64(x, w, "swap", -1, INT64_MAX, &s->mem_swap, e)) ||
		    (rc = get_i64(x, w, "kernel", -1, INT64_MAX, &s->mem_kernel, e)) ||
		    (rc = get_i64(x, w, "kernelTCP", -1, INT64_MAX, &s->mem_kernel_tcp, e)) ||
		    (rc = get_i64(x, w, "swappiness", 0, 100, &s->mem_swappiness, e)) ||
		    (rc = get_bool(x, w, "disableOOMKiller", &s->mem_disable_oom, e)))
			return rc;
		if (s->mem_limit.set && s->mem_limit.v == 0)
			s->mem_limit.set = false;
		if (s->mem_limit.set && s->mem_limit.v > 0 && s->mem_limit.v < 4096 * 64)
			return err_set(e, -EINVAL, "config.json: linux.resources.memory.limit: %lld bytes is too small",
				       (long long)s->mem_limit.v);
		if (s->mem_swap.set && s->mem_swap.v == 0)
			s->mem_swap.set = false;
		if (s->mem_swap.set && s->mem_swap.v > 0 && s->mem_limit.set && s->mem_limit.v > 0 &&
		    s->mem_swap.v < s->mem_limit.v)
			return err_set(e, -EINVAL,
				       "config.json: linux.resources.memory.swap: %lld is below memory.limit %lld (swap is memory+swap)",
				       (long long)s->mem_swap.v, (long long)s->mem_limit.v);
	}
	if ((rc = get_obj(r, "linux.resources", "cpu", &x, e)))
		return rc;
	if (x) {
		const char *w = "linux.resources.cpu";
		if ((rc = get_i64(x, w, "shares", 0, 262144, &s->cpu_shares, e)) ||
		    (rc = get_i64(x, w, "quota", -1, INT64_MAX, &s->cpu_quota, e)) ||
		    (rc = get_i64(x, w, "period", 0, 1000000, &s->cpu_period, e)) ||
		    (rc = get_i64(x, w, "realtimeRuntime", -1, INT64_MAX, &s->cpu_rt_runtime, e)) ||
		    (rc = get_i64(x, w, "realtimePeriod", 0, INT64_MAX, &s->cpu_rt_period, e)) ||
		    (rc = get_i64(x, w, "idle", 0, 1, &s->cpu_idle, e)) ||
		    (rc = get_str(x, w, "cpus", &s->cpus, false, e)) ||
		    (rc = get_str(x, w, "mems", &s->mems, false, e)))
			return rc;
		if (s->cpu_shares.set && s->cpu_shares.v == 0)
			s->cpu_shares.set = false;
		if (s->cpu_period.set && s->cpu_period.v == 0)
			s->cpu_period.set = false;
		if (s->cpu_quota.set && s->cpu_quota.v == 0)
			s->cpu_quota.set = false;
		if (s->cpu_period.set && s->cpu_period.v < 1000)
			return err_set(e, -EINVAL, "config.json: linux.resources.cpu.period: %lld is below 1000 microseconds",
				       (long long)s->cpu_period.v);
		if (s->cpus && !*s->cpus)
			s->cpus = NULL;
		if (s->mems && !*s->mems)
			s->mems = NULL;
	}
	if ((rc = get_obj(r, "linux.resources", "pids", &x, e)))
		return rc;
	if (x) {
		if ((rc = get_i64(x, "linux.resources.pids", "limit", -1, INT64_MAX, &s->pids_limit, e)))
			return rc;
		if (!s->pids_limit.set)
			return err_set(e, -EINVAL, "config.json: linux.resources.pids.limit: required field missing");
		if (s->pids_limit.v == 0)
			s->pids_limit.set = false;
	}
	if ((rc = get_obj(r, "linux.resources", "blockIO", &x, e)))
		return rc;
	if (x) {
		const char *w = "linux.resources.blockIO";
		if ((rc = get_i64(x, w, "weight", 0, 1000, &s->blkio_weight, e)) ||
		    (rc = get_i64(x, w, "leafWeight", 0, 1000, &s->blkio_leaf_weight, e)) ||
		    (rc = parse_ratedevs(x, "throttleReadBpsDevice", &s->rdev[0], &s->nrdev[0], e)) ||
		    (rc = parse_ratedevs(x, "throttleWriteBpsDevice", &s->rdev[1], &s->nrdev[1], e)) ||
		    (rc = parse_ratedevs(x, "throttleReadIOPSDevice", &s->rdev[2], &s->nrdev[2], e)) ||
		    (rc = parse_ratedevs(x, "throttleWriteIOPSDevice", &s->rdev[3], &s->nrdev[3], e)))
			return rc;
		if (s->blkio_weight.set && s->blkio_weight.v && s->blkio_weight.v < 10)
			return err_set(e, -EINVAL, "config.json: %s.weight: must be 10..1000", w);
		const cJSON *a;
		if ((rc = get_arr(x, w, "weightDevice", &a, e)))
			return rc;
		if (a) {
			s->nwdev = (size_t)cJSON_GetArraySize(a);
			if (ALLOC_TABLE(s->wdev, s->nwdev, e))
				return -ENOMEM;
			size_t i = 0;
			const cJSON *it;
			cJSON_ArrayForEach(it, a) {
				char ww[96];
				snprintf(ww, sizeof ww, "%s.weightDevice[%zu]", w, i);
				struct oci_weightdev *d = &s->wdev[i++];
				struct opt_i64 mj = { 0 }, mn = { 0 };
				if ((rc = get_i64(it, ww, "major", 0, 0xfff, &mj, e)) ||
				    (rc = get_i64(it, ww, "minor", 0, 0xfffff, &mn, e)) ||
				    (rc = get_i64(it, ww, "weight", 10, 1000, &d->weight, e)) ||
				    (rc = get_i64(it, ww, "leafWeight", 10, 1000, &d->leaf, e)))
					return rc;
				d->major = mj.v;
				d->minor = mn.v;
			}
		}
	}
	const cJSON *a;
	if ((rc = get_arr(r, "linux.resources", "hugepageLimits", &a, e)))
		return rc;
	if (a) {
		s->nhuge = (size_t)cJSON_GetArraySize(a);
		if (ALLOC_TABLE(s->huge, s->nhuge, e))
			return -ENOMEM;
		size_t i = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, a) {
			char w[64];
			snprintf(w, sizeof w, "linux.resources.hugepageLimits[%zu]", i);
			struct oci_hugepage *h = &s->huge[i++];
			if ((rc = get_str(it, w, "pageSize", &h->size, true, e)) ||
			    (rc = get_u64(it, w, "limit", &h->limit, true, e)))
				return rc;
			/* It becomes part of a cgroup file name: digits and a unit only. */
			size_t dl = strspn(h->size, "0123456789");
			if (!dl || !h->size[dl] || !strchr("KMGTPE", h->size[dl]) || strcmp(h->size + dl + 1, "B"))
				return err_set(e, -EINVAL, "config.json: %s.pageSize: \"%s\" is not a size like 2MB or 1GB",
					       w, h->size);
		}
	}
	if ((rc = get_arr(r, "linux.resources", "devices", &a, e)))
		return rc;
	if (a) {
		s->ndevs = (size_t)cJSON_GetArraySize(a);
		if (ALLOC_TABLE(s->devs, s->ndevs, e))
			return -ENOMEM;
		size_t i = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, a) {
			char w[64];
			snprintf(w, sizeof w, "linux.resources.devices[%zu]", i);
			struct oci_devrule *d = &s->devs[i++];
			struct opt_i64 mj = { 0 }, mn = { 0 };
			if (!cJSON_IsObject(it))
				return err_set(e, -EINVAL, "config.json: %s: expected an object", w);
			if (!cJSON_GetObjectItemCaseSensitive(it, "allow"))
				return err_set(e, -EINVAL, "config.json: %s.allow: required field missing", w);
			if ((rc = get_bool(it, w, "allow", &d->allow, e)) ||
			    (rc = parse_devtype(it, w, &d->type, true, e)) ||
			    (rc = get_i64(it, w, "major", -1, 0xfff, &mj, e)) ||
			    (rc = get_i64(it, w, "minor", -1, 0xfffff, &mn, e)) ||
			    (rc = get_str(it, w, "access", &d->access, false, e)))
				return rc;
			d->major = mj.set ? mj.v : -1;
			d->minor = mn.set ? mn.v : -1;
			if (!d->access)
				d->access = "rwm";
			if (strspn(d->access, "rwm") != strlen(d->access))
				return err_set(e, -EINVAL, "config.json: %s.access: \"%s\" is not made of r, w, m",
					       w, d->access);
		}
	}
	if ((rc = get_obj(r, "linux.resources", "unified", &x, e)))
		return rc;
	if (x && (rc = parse_kv(x, "linux.resources.unified", &s->unified, &s->nunified, e)))
		return rc;
	return 0;
}

static int parse_hooks(struct oci_config *c, struct err *e)
{
	static const char *names[HOOK_KINDS] = { "prestart", "createRuntime", "createContainer",
						 "startContainer", "poststart", "poststop" };
	const cJSON *h;
	int rc = get_obj(c->root, "", "hooks", &h, e);
	if (rc || !h)
		return rc;
	for (int k = 0; k < HOOK_KINDS; k++) {
		const cJSON *a;
		char w[48];
		snprintf(w, sizeof w, "hooks");
		if ((rc = get_arr(h, w, names[k], &a, e)))
			return rc;
		if (!a)
			continue;
		size_t n = (size_t)cJSON_GetArraySize(a), i = 0;
		if (ALLOC_TABLE(c->hooks[k], n, e))
			return -ENOMEM;
		c->nhooks[k] = n;
		const cJSON *it;
		cJSON_ArrayForEach(it, a) {
			snprintf(w, sizeof w, "hooks.%s[%zu]", names[k], i);
			struct oci_hook *hk = &c->hooks[k][i++];
			struct opt_i64 t = { 0 };
			if (!cJSON_IsObject(it))
				return err_set(e, -EINVAL, "config.json: %s: expected an object", w);
			if ((rc = get_str(it, w, "path", &hk->path, true, e)) ||
			    (rc = get_strv(it, w, "args", &hk->args, &hk->nargs, e)) ||
			    (rc = get_strv(it, w, "env", &hk->env, &hk->nenv, e)) ||
			    (rc = get_i64(it, w, "timeout", 1, 86400, &t, e)))
				return rc;
			if (hk->path[0] != '/')
				return err_set(e, -EINVAL, "config.json: %s.path: \"%s\" is not absolute",
					       w, hk->path);
			hk->timeout = t.set ? (int)t.v : 0;
		}
	}
	return 0;
}

static int parse_linux(struct oci_config *c, struct err *e)
{
	const cJSON *lx, *x;
	int rc = get_obj(c->root, "", "linux", &lx, e);
	if (rc || !lx)
		return rc;
	const cJSON *a;
	if ((rc = get_arr(lx, "linux", "namespaces", &a, e)))
		return rc;
	if (a) {
		size_t i = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, a) {
			char w[48];
			snprintf(w, sizeof w, "linux.namespaces[%zu]", i++);
			const char *type = NULL, *path = NULL;
			if (!cJSON_IsObject(it))
				return err_set(e, -EINVAL, "config.json: %s: expected an object", w);
			if ((rc = get_str(it, w, "type", &type, true, e)) ||
			    (rc = get_str(it, w, "path", &path, false, e)))
				return rc;
			int k;
			for (k = 0; k < NS_COUNT; k++)
				if (!strcmp(type, nstab[k].json))
					break;
			if (k == NS_COUNT)
				return err_set(e, -EINVAL, "config.json: %s.type: unknown namespace \"%s\"",
					       w, type);
			if (c->ns[k].want)
				return err_set(e, -EINVAL, "config.json: %s.type: namespace \"%s\" given twice",
					       w, type);
			if (path && !*path)
				path = NULL;
			if (path && path[0] != '/')
				return err_set(e, -EINVAL, "config.json: %s.path: \"%s\" is not absolute",
					       w, path);
			c->ns[k].want = true;
			c->ns[k].path = path;
		}
	}
	if ((rc = parse_idmaps(lx, "uidMappings", &c->uidmap, &c->nuidmap, e)) ||
	    (rc = parse_idmaps(lx, "gidMappings", &c->gidmap, &c->ngidmap, e)))
		return rc;
	if ((c->nuidmap || c->ngidmap) && (!c->ns[NS_USER].want || c->ns[NS_USER].path))
		return err_set(e, -EINVAL, "config.json: linux.uidMappings: needs a new user namespace in linux.namespaces");
	if (c->ns[NS_USER].want && !c->ns[NS_USER].path && (!c->nuidmap || !c->ngidmap))
		return err_set(e, -EINVAL, "config.json: linux.uidMappings: a new user namespace needs uidMappings and gidMappings");
	if ((rc = parse_devices(c, lx, e)))
		return rc;
	if ((rc = get_str(lx, "linux", "cgroupsPath", &c->cgroups_path, false, e)))
		return rc;
	if ((rc = get_obj(lx, "linux", "resources", &x, e)))
		return rc;
	if (x && (rc = parse_resources(c, x, e)))
		return rc;
	if ((rc = get_obj(lx, "linux", "sysctl", &x, e)))
		return rc;
	if (x && (rc = parse_kv(x, "linux.sysctl", &c->sysctl, &c->nsysctl, e)))
		return rc;
	if ((rc = get_obj(lx, "linux", "seccomp", &x, e)))
		return rc;
	c->seccomp = x;
	const char *prop = NULL;
	if ((rc = get_str(lx, "linux", "rootfsPropagation", &prop, false, e)))
		return rc;
	if (prop && *prop) {
		static const struct { const char *n; unsigned long f; } pt[] = {
			{ "shared", MS_SHARED }, { "rshared", MS_SHARED | MS_REC },
			{ "slave", MS_SLAVE }, { "rslave", MS_SLAVE | MS_REC },
			{ "private", MS_PRIVATE }, { "rprivate", MS_PRIVATE | MS_REC },
			{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
		};
		for (size_t k = 0; k < sizeof pt / sizeof pt[0]; k++)
			if (!strcmp(prop, pt[k].n))
				c->rootfs_propagation = pt[k].f;
		if (!c->rootfs_propagation)
			return err_set(e, -EINVAL, "config.json: linux.rootfsPropagation: unknown value \"%s\"",
				       prop);
	}
	char **v;
	if ((rc = get_strv(lx, "linux", "maskedPaths", &v, &c->nmasked, e)))
		return rc;
	c->masked = (const char **)v;
	if ((rc = get_strv(lx, "linux", "readonlyPaths", &v, &c->nreadonly, e)))
		return rc;
	c->readonly = (const char **)v;
	if ((rc = get_str(lx, "linux", "mountLabel", &c->mount_label, false, e)))
		return rc;
	if ((rc = get_obj(lx, "linux", "personality", &x, e)))
		return rc;
	if (x) {
		const char *dom = NULL;
		if ((rc = get_str(x, "linux.personality", "domain", &dom, true, e)))
			return rc;
		if (!strcmp(dom, "LINUX"))
			c->personality = (struct opt_i64){ true, 0 };
		else if (!strcmp(dom, "LINUX32"))
			c->personality = (struct opt_i64){ true, 8 /* PER_LINUX32 */ };
		else
			return err_set(e, -EINVAL, "config.json: linux.personality.domain: unknown \"%s\"",
				       dom);
	}
	return 0;
}

/* Digits only, no leading zero (SemVer 2.0.0 numeric identifiers); returns
 * the end, or NULL. */
static const char *semver_number(const char *p)
{
	if (!isdigit((unsigned char)*p) || (p[0] == '0' && isdigit((unsigned char)p[1])))
		return NULL;
	while (isdigit((unsigned char)*p))
		p++;
	return p;
}

/* Dot-separated non-empty identifiers of [0-9A-Za-z-]; returns the end, or NULL. */
static const char *semver_idents(const char *p)
{
	for (;;) {
		const char *start = p;
		while (isalnum((unsigned char)*p) || *p == '-')
			p++;
		if (p == start)
			return NULL;
		if (*p != '.')
			return p;
		p++;
	}
}

/* ociVersion is SemVer (config.md): this runtime implements every 1.x.y
 * release, pre-releases ("1.0.2-dev") and build metadata included. */
static int check_oci_version(const char *v, struct err *e)
{
	const char *major_end = semver_number(v), *p = major_end;
	if (p && *p == '.')
		p = semver_number(p + 1);
	else
		p = NULL;
	if (p && *p == '.')
		p = semver_number(p + 1);
	else
		p = NULL;
	if (p && *p == '-')
		p = semver_idents(p + 1);
	if (p && *p == '+')
		p = semver_idents(p + 1);
	if (!p || *p)
		return err_set(e, -EINVAL, "config.json: ociVersion: \"%s\" is not a version (MAJOR.MINOR.PATCH)",
			       v);
	if (major_end - v != 1 || v[0] != '1')
		return err_set(e, -EINVAL, "config.json: ociVersion: \"%s\": major version %.*s is not supported (this runtime implements 1.x.y)",
			       v, (int)(major_end - v), v);
	return 0;
}

int config_parse(struct oci_config *c, const char *text, const char *bundle, struct err *e)
{
	int rc;
	memset(c, 0, sizeof *c);
	c->root = cJSON_Parse(text);
	if (!c->root) {
		const char *at = cJSON_GetErrorPtr();
		int line = 1;
		for (const char *p = text; at && p < at; p++)
			line += *p == '\n';
		return err_set(e, -EINVAL, "config.json: not valid JSON (line %d near \"%.20s\")", line,
			       at ? at : "");
	}
	if (!cJSON_IsObject(c->root))
		return err_set(e, -EINVAL, "config.json: top level must be an object");
	if ((rc = get_str(c->root, "", "ociVersion", &c->oci_version, true, e)))
		return rc;
	if ((rc = check_oci_version(c->oci_version, e)))
		return rc;
	const cJSON *x;
	if ((rc = get_obj(c->root, "", "root", &x, e)))
		return rc;
	if (!x)
		return err_set(e, -EINVAL, "config.json: root: required field missing");
	if ((rc = get_str(x, "root", "path", &c->root_path, true, e)) ||
	    (rc = get_bool(x, "root", "readonly", &c->root_ro, e)))
		return rc;
	if (!*c->root_path)
		return err_set(e, -EINVAL, "config.json: root.path: empty");
	if (c->root_path[0] == '/' || !bundle) {
		c->root_abs = strdup(c->root_path);
	} else {
		size_t l = strlen(bundle) + strlen(c->root_path) + 2;
		c->root_abs = malloc(l);
		if (c->root_abs)
			snprintf(c->root_abs, l, "%s/%s", bundle, c->root_path);
	}
	if (!c->root_abs)
		return err_set(e, -ENOMEM, "out of memory");
	if ((rc = get_obj(c->root, "", "process", &x, e)))
		return rc;
	if (x) {
		c->has_process = true;
		if ((rc = config_parse_process(&c->proc, x, "process", e)))
			return rc;
	}
	if ((rc = get_str(c->root, "", "hostname", &c->hostname, false, e)) ||
	    (rc = get_str(c->root, "", "domainname", &c->domainname, false, e)))
		return rc;
	if ((rc = parse_mounts(c, e)) || (rc = parse_hooks(c, e)))
		return rc;
	if ((rc = get_obj(c->root, "", "annotations", &x, e)))
		return rc;
	if (x && (rc = parse_kv(x, "annotations", &c->annotations, &c->nannotations, e)))
		return rc;
	if ((rc = parse_linux(c, e)))
		return rc;
	if (c->hostname && *c->hostname && !c->ns[NS_UTS].want)
		return err_set(e, -EINVAL, "config.json: hostname: setting it needs a new uts namespace");
	return 0;
}

int config_load(struct oci_config *c, const char *bundle, struct err *e)
{
	char path[PATH_MAX];
	memset(c, 0, sizeof *c);
	snprintf(path, sizeof path, "%s/config.json", bundle);
	char *text;
	int rc = read_file(path, &text, NULL);
	if (rc)   /* a bundle without a readable config.json is bad input */
		return err_set(e, -EINVAL, "%s: %s", path, strerror(-rc));
	rc = config_parse(c, text, bundle, e);
	free(text);
	return rc;
}

void config_free(struct oci_config *c)
{
	config_free_process(&c->proc);
	for (size_t i = 0; i < c->nmounts; i++) {
		free(c->mounts[i].data);
		free(c->mounts[i].options);
	}
	free(c->mounts);
	for (int k = 0; k < HOOK_KINDS; k++) {
		for (size_t i = 0; i < c->nhooks[k]; i++) {
			free(c->hooks[k][i].args);
			free(c->hooks[k][i].env);
		}
		free(c->hooks[k]);
	}
	free(c->annotations);
	free(c->uidmap);
	free(c->gidmap);
	free(c->devices);
	free(c->sysctl);
	free(c->masked);
	free(c->readonly);
	free(c->res.wdev);
	for (int k = 0; k < 4; k++)
		free(c->res.rdev[k]);
	free(c->res.huge);
	free(c->res.devs);
	free(c->res.unified);
	free(c->root_abs);
	cJSON_Delete(c->root);
	memset(c, 0, sizeof *c);
}
