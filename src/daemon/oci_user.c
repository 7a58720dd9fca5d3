/* See oci_user.h. */
#include "daemon/oci_user.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DB_FILE_MAX (1 << 20)
#define ID_MAX 0xfffffffeu   /* (uid_t)-1 means "unchanged" to the kernel */

/* A decimal id, all of s; false for a name. */
static bool parse_id(const char *s, unsigned *out)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10)
		return false;
	unsigned long long v = strtoull(s, NULL, 10);
	if (v > ID_MAX)
		return false;
	*out = (unsigned)v;
	return true;
}

/* Splits line (a copy of at most one line of a passwd or group file)
 * into its colon-separated fields; how many it found. */
static int fields(char *line, char **f, int max)
{
	int n = 0;
	for (char *p = line; n < max; n++) {
		f[n] = p;
		char *c = strchr(p, ':');
		if (!c)
			return n + 1;
		*c = 0;
		p = c + 1;
	}
	return n;
}

/* Calls fn on each line of text with its fields; stops when it returns true. */
static bool each_line(const char *text, bool (*fn)(char **f, int n, void *arg), void *arg)
{
	if (!text)
		return false;
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		char line[1024], *f[8];
		if (len < sizeof line && *p != '#') {
			memcpy(line, p, len);
			line[len] = 0;
			int n = fields(line, f, 8);
			if (fn(f, n, arg))
				return true;
		}
		p += len + (p[len] == '\n');
	}
	return false;
}

struct lookup {
	const char *name;       /* by name, or NULL: by id */
	unsigned id;
	unsigned found, gid;    /* passwd: uid and primary gid; group: gid */
};

/* name:x:uid:gid:... */
static bool passwd_line(char **f, int n, void *arg)
{
	struct lookup *l = arg;
	unsigned uid, gid;
	if (n < 4 || !parse_id(f[2], &uid) || !parse_id(f[3], &gid))
		return false;
	if (l->name ? strcmp(f[0], l->name) != 0 : uid != l->id)
		return false;
	l->found = uid;
	l->gid = gid;
	return true;
}

/* name:x:gid:member,member */
static bool group_line(char **f, int n, void *arg)
{
	struct lookup *l = arg;
	unsigned gid;
	if (n < 3 || !parse_id(f[2], &gid) || strcmp(f[0], l->name) != 0)
		return false;
	l->found = gid;
	return true;
}

struct members {
	const char *user;
	struct oci_user *u;
};

static bool member_line(char **f, int n, void *arg)
{
	struct members *m = arg;
	unsigned gid;
	if (n < 4 || !parse_id(f[2], &gid))
		return false;
	for (char *save, *who = strtok_r(f[3], ",", &save); who; who = strtok_r(NULL, ",", &save)) {
		if (strcmp(who, m->user) != 0 || gid == m->u->gid)
			continue;
		if (m->u->ngroups < OCI_USER_GROUPS_MAX)
			m->u->groups[m->u->ngroups++] = gid;
		break;
	}
	return false;
}

int oci_user_parse(const char *spec, const char *passwd, const char *group,
		   struct oci_user *out, struct err *e)
{
	memset(out, 0, sizeof *out);
	if (!spec || !*spec)
		return 0;
	char user[256], grp[256] = "";
	const char *colon = strchr(spec, ':');
	size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
	if (ulen == 0 || ulen >= sizeof user || (colon && (!colon[1] || strlen(colon + 1) >= sizeof grp)))
		return err_set(e, -EINVAL, "User \"%.64s\": expected user, uid, user:group or uid:gid",
			       spec);
	memcpy(user, spec, ulen);
	user[ulen] = 0;
	if (colon)
		snprintf(grp, sizeof grp, "%s", colon + 1);
	struct lookup pw = { .name = user };
	bool numeric = parse_id(user, &pw.id);
	if (numeric)
		pw.name = NULL;
	bool listed = each_line(passwd, passwd_line, &pw);
	if (!numeric && !listed)
		return err_set(e, -ENOENT, "User \"%.64s\": no user \"%.64s\" in the image's "
			       "/etc/passwd", spec, user);
	out->uid = numeric ? pw.id : pw.found;
	out->gid = listed ? pw.gid : 0;
	if (grp[0] && !parse_id(grp, &out->gid)) {
		struct lookup gr = { .name = grp };
		if (!each_line(group, group_line, &gr))
			return err_set(e, -ENOENT, "User \"%.64s\": no group \"%.64s\" in the image's "
				       "/etc/group", spec, grp);
		out->gid = gr.found;
	}
	/* A named user's supplementary groups; an explicit group replaces them, as in runc. */
	if (!grp[0] && listed && !numeric) {
		struct members m = { user, out };
		each_line(group, member_line, &m);
	}
	return 0;
}

/* The file at path inside rootfs, resolved there; NULL if it has none. */
static char *read_in_root(int root, const char *path)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {   /* not a FIFO or a device */
		close(fd);
		return NULL;
	}
	char *text = malloc(DB_FILE_MAX + 1);
	size_t have = 0;
	ssize_t n = 1;
	while (text && have < DB_FILE_MAX && (n = read(fd, text + have, DB_FILE_MAX - have)) > 0)
		have += (size_t)n;
	close(fd);
	if (text && n < 0) {
		free(text);
		return NULL;
	}
	if (text)
		text[have] = 0;
	return text;
}

int oci_user_resolve(const char *rootfs, const char *spec, struct oci_user *out, struct err *e)
{
	memset(out, 0, sizeof *out);
	if (!spec || !*spec)
		return 0;
	int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return err_set(e, -errno, "%s: %s", rootfs, strerror(errno));
	char *passwd = read_in_root(root, "/etc/passwd");
	char *group = read_in_root(root, "/etc/group");
	close(root);
	int rc = oci_user_parse(spec, passwd, group, out, e);
	free(passwd);
	free(group);
	return rc;
}
