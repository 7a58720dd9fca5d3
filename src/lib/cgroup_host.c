/*
 * Host cgroup detection from mountinfo; see cgroup_host.h.
 */
#include "lib/cgroup_host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cg_read_small(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t r = read(fd, buf, n - 1);
	int rc = r < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return rc;
	buf[r] = 0;
	while (r > 0 && buf[r - 1] == '\n')
		buf[--r] = 0;
	return 0;
}

int cg_read_whole(const char *path, char **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t cap = 16384, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			close(fd);
			return -ENOMEM;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				free(buf);
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	buf[len] = 0;
	*out = buf;
	return 0;
}

const char *cg_mode_name(enum cg_mode m)
{
	static const char *n[] = { "none", "v1", "hybrid", "v2" };
	return n[m];
}

/* Unescapes mountinfo's octal escapes (\040 for space) in place. */
static void unescape(char *s)
{
	char *d = s;
	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] && s[3]) {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = 0;
}

int cg_detect_from(struct cgroup *cg, const char *mi, struct err *e)
{
	cg->nh = 0;
	cg->unified[0] = 0;
	cg->v2ctrl[0] = 0;
	const char *line = mi;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[2048];
		if (len >= sizeof buf)
			len = sizeof buf - 1;
		memcpy(buf, line, len);
		buf[len] = 0;
		line = nl ? nl + 1 : NULL;
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char *f[6] = { 0 };
		char *save, *tok = strtok_r(buf, " ", &save);
		int i = 0;
		while (tok && i < 6) {
			f[i++] = tok;
			tok = strtok_r(NULL, " ", &save);
		}
		if (i < 6)
			continue;
		char *dash = tok;
		while (dash && strcmp(dash, "-"))
			dash = strtok_r(NULL, " ", &save);
		if (!dash)
			continue;
		char *fstype = strtok_r(NULL, " ", &save);
		strtok_r(NULL, " ", &save); /* source */
		char *super = strtok_r(NULL, " ", &save);
		if (!fstype)
			continue;
		unescape(f[4]);
		if (!strcmp(fstype, "cgroup2")) {
			if (!cg->unified[0])
				snprintf(cg->unified, sizeof cg->unified, "%s", f[4]);
			continue;
		}
		if (strcmp(fstype, "cgroup") || !super || cg->nh == CG_MAX_HIER)
			continue;
		/* Keep only controller names and name=...; drop rw, relatime, etc. */
		char opts[128] = "";
		char *s2, *o = strtok_r(super, ",", &s2);
		while (o) {
			if (strcmp(o, "rw") && strcmp(o, "ro") && strncmp(o, "release_agent", 13) &&
			    strcmp(o, "clone_children") && strcmp(o, "noprefix") &&
			    strcmp(o, "xattr") && strcmp(o, "cpuset_v2_mode") &&
			    strcmp(o, "favordynmods") && strcmp(o, "nsdelegate") &&
			    strlen(opts) + strlen(o) + 2 < sizeof opts) {
				if (*opts)
					strcat(opts, ",");
				strcat(opts, o);
			}
			o = strtok_r(NULL, ",", &s2);
		}
		bool dup = false;
		for (int k = 0; k < cg->nh; k++)
			if (!strcmp(cg->h[k].opts, opts))
				dup = true;   /* same hierarchy mounted twice: keep the first */
		if (dup || !*opts)
			continue;
		snprintf(cg->h[cg->nh].opts, sizeof cg->h[0].opts, "%s", opts);
		snprintf(cg->h[cg->nh].mnt, sizeof cg->h[0].mnt, "%s", f[4]);
		cg->nh++;
	}
	if (cg->nh && cg->unified[0])
		cg->mode = CG_HYBRID;
	else if (cg->nh)
		cg->mode = CG_V1;
	else if (cg->unified[0])
		cg->mode = CG_V2;
	else
		return err_set(e, -ENOENT, "no cgroup filesystem is mounted on this host");
	return 0;
}

int cg_detect(struct cgroup *cg, struct err *e)
{
	char *mi = NULL;
	int rc = cg_read_whole("/proc/self/mountinfo", &mi);
	if (rc)
		return err_set(e, rc, "/proc/self/mountinfo: %s", strerror(-rc));
	rc = cg_detect_from(cg, mi, e);
	free(mi);
	if (!rc && cg->unified[0]) {
		char p[300];
		snprintf(p, sizeof p, "%s/cgroup.controllers", cg->unified);
		cg_read_small(p, cg->v2ctrl, sizeof cg->v2ctrl);
	}
	return rc;
}

bool cg_has_word(const char *list, const char *w, char sep)
{
	size_t l = strlen(w);
	for (const char *p = list; p && *p;) {
		if (!strncmp(p, w, l) && (p[l] == sep || p[l] == 0))
			return true;
		p = strchr(p, sep);
		if (p)
			p++;
	}
	return false;
}

bool cg_has_v1(const struct cgroup *cg, const char *ctl)
{
	for (int i = 0; i < cg->nh; i++)
		if (cg_has_word(cg->h[i].opts, ctl, ','))
			return true;
	return false;
}

void cg_v1_dir(const struct cgroup *cg, const char *ctl, char *out, size_t n)
{
	out[0] = 0;
	for (int i = 0; i < cg->nh; i++)
		if (cg_has_word(cg->h[i].opts, ctl, ',')) {
			snprintf(out, n, "%s%s", cg->h[i].mnt, cg->path);
			return;
		}
}

void cg_v2_dir(const struct cgroup *cg, char *out, size_t n)
{
	out[0] = 0;
	if (cg->unified[0])
		snprintf(out, n, "%s%s", cg->unified, cg->path);
}

