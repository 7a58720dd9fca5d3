/* See ns.h. */
#include "ctr/ns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctr/idmap_helper.h"
#include "ctr/util.h"

void ns_close(int fds[NS_COUNT])
{
	for (int i = 0; i < NS_COUNT; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

int ns_open_paths(const struct oci_config *c, int fds[NS_COUNT], struct err *e)
{
	for (int i = 0; i < NS_COUNT; i++)
		fds[i] = -1;
	for (int i = 0; i < NS_COUNT; i++) {
		if (!c->ns[i].want || !c->ns[i].path)
			continue;
		fds[i] = open(c->ns[i].path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			int rc = -errno;
			ns_close(fds);
			return err_set(e, rc, "config.json: linux.namespaces: %s namespace %s: %s",
				       ns_name(i), c->ns[i].path, strerror(-rc));
		}
	}
	return 0;
}

int ns_open_pid(pid_t pid, int fds[NS_COUNT], struct err *e)
{
	for (int i = 0; i < NS_COUNT; i++)
		fds[i] = -1;
	for (int i = 0; i < NS_COUNT; i++) {
		char p[64], self[64];
		struct stat a, b;
		snprintf(p, sizeof p, "/proc/%d/ns/%s", (int)pid, ns_proc_name(i));
		snprintf(self, sizeof self, "/proc/self/ns/%s", ns_proc_name(i));
		if (stat(p, &a) < 0) {
			if (errno == ENOENT)
				continue;   /* kernel without this namespace type */
			int rc = -errno;
			ns_close(fds);
			return err_set(e, rc, "%s: %s", p, strerror(-rc));
		}
		if (stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			continue;
		fds[i] = open(p, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			int rc = -errno;
			ns_close(fds);
			return err_set(e, rc, "%s: %s", p, strerror(-rc));
		}
	}
	return 0;
}

int ns_join(int fds[NS_COUNT], struct err *e)
{
	static const int order[] = { NS_USER, NS_IPC, NS_UTS, NS_NET, NS_PID, NS_CGROUP, NS_TIME,
				     NS_MNT };
	for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
		int i = order[k];
		if (fds[i] < 0)
			continue;
		if (setns(fds[i], ns_flag(i)) < 0) {
			int rc = -errno;
			ns_close(fds);
			return err_set(e, rc, "joining the %s namespace: %s", ns_name(i), strerror(-rc));
		}
		close(fds[i]);
		fds[i] = -1;
	}
	return 0;
}

int ns_unshare_flags(const struct oci_config *c)
{
	int f = 0;
	for (int i = 0; i < NS_COUNT; i++)
		if (i != NS_USER && c->ns[i].want && !c->ns[i].path)
			f |= ns_flag(i);
	return f;
}

static int write_map(pid_t pid, const char *file, const struct oci_idmap *m, size_t n,
		     struct err *e)
{
	char buf[4096], path[64];
	size_t l = 0;
	for (size_t i = 0; i < n && l < sizeof buf - 40; i++)
		l += (size_t)snprintf(buf + l, sizeof buf - l, "%u %u %u\n", m[i].ctr, m[i].host,
				      m[i].size);
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, -errno, "%s: %s", path, strerror(errno));
	ssize_t w = write(fd, buf, l);
	int rc = w < 0 ? -errno : 0;
	close(fd);
	if (rc)
		return err_set(e, rc, "config.json: linux.%s: writing %s: %s",
			       !strcmp(file, "uid_map") ? "uidMappings" : "gidMappings", path,
			       strerror(-rc));
	return 0;
}

/* One map, written directly when we may (root of the parent namespace);
 * unprivileged, through newuidmap/newgidmap, and without them only the
 * single line "ID OUR-ID 1" that the kernel lets anyone write (for gid_map
 * after setgroups is denied, as user_namespaces(7) requires). */
static int write_map_any(pid_t pid, const char *file, const struct oci_idmap *m, size_t n,
			 struct err *e)
{
	int rc = write_map(pid, file, m, n, e);
	if (rc != -EPERM || !running_rootless())
		return rc;
	bool uid = !strcmp(file, "uid_map");
	struct err he = { 0 };
	rc = idmap_helper_run(uid ? "newuidmap" : "newgidmap", pid, m, n, &he);
	if (rc == 0)
		return 0;
	bool own = n == 1 && m[0].size == 1 && m[0].host == (uid ? geteuid() : getegid());
	if (own && !uid) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
		write_str(path, "deny");
	}
	if (own && write_map(pid, file, m, n, e) == 0)
		return 0;
	if (rc == -ENOENT)
		return err_set(e, -EPERM,
			       "config.json: linux.%s: mapping more than your own id needs %s (apt-get install uidmap) and a range in %s",
			       uid ? "uidMappings" : "gidMappings", uid ? "newuidmap" : "newgidmap",
			       uid ? "/etc/subuid" : "/etc/subgid");
	return err_set(e, rc, "config.json: linux.%s: %s", uid ? "uidMappings" : "gidMappings",
		       he.msg);
}

int ns_write_maps(pid_t pid, const struct oci_config *c, struct err *e)
{
	int rc = write_map_any(pid, "uid_map", c->uidmap, c->nuidmap, e);
	if (!rc)
		rc = write_map_any(pid, "gid_map", c->gidmap, c->ngidmap, e);
	return rc;
}
