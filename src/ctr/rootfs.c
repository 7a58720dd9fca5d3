/* See rootfs.h. */
#include "ctr/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ctr/util.h"

int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)(O_PATH | O_CLOEXEC | flags),
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
	return fd < 0 ? -errno : fd;
}

int mkdir_in_root(int rootfd, const char *path, bool file, int *out, struct err *e)
{
	char work[PATH_MAX];
	snprintf(work, sizeof work, "%s", path);
	for (int loops = 0; loops < 40; loops++) {
		int fd = open_in_root(rootfd, work, 0);
		if (fd >= 0) {
			*out = fd;
			return 0;
		}
		if (fd != -ENOENT)
			return err_set(e, fd, "%s: %s", path, strerror(-fd));
		/* Walk down, creating the first missing component. */
		char prefix[PATH_MAX] = "";
		int parent = dup(rootfd);
		const char *p = work;
		bool restart = false;
		while (*p && !restart) {
			while (*p == '/')
				p++;
			if (!*p)
				break;
			const char *end = strchrnul(p, '/');
			char name[NAME_MAX + 1];
			snprintf(name, sizeof name, "%.*s", (int)(end - p), p);
			size_t pl = strlen(prefix);
			snprintf(prefix + pl, sizeof prefix - pl, "/%s", name);
			int nfd = open_in_root(rootfd, prefix, 0);
			if (nfd == -ENOENT) {
				bool last = !*end || !end[strspn(end, "/")];
				int rc;
				if (last && file) {
					rc = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW |
							    O_CLOEXEC, 0644);
					if (rc >= 0)
						close(rc);
				} else {
					rc = mkdirat(parent, name, 0755);
				}
				if (rc < 0 && errno == EEXIST) {
					/* A dangling symlink: follow it inside the root. */
					char tgt[PATH_MAX];
					ssize_t tl = readlinkat(parent, name, tgt, sizeof tgt - 1);
					if (tl <= 0) {
						close(parent);
						return err_set(e, -EEXIST, "%s: %s exists", path, prefix);
					}
					tgt[tl] = 0;
					char nw[3 * PATH_MAX + 8];
					prefix[pl] = 0;
					if (tgt[0] == '/')
						snprintf(nw, sizeof nw, "%s%s", tgt, end);
					else
						snprintf(nw, sizeof nw, "%s/%s%s", prefix, tgt, end);
					if (strlen(nw) >= sizeof work) {
						close(parent);
						return err_set(e, -ENAMETOOLONG, "%s: path too long", path);
					}
					memcpy(work, nw, strlen(nw) + 1);
					restart = true;
					break;
				}
				if (rc < 0) {
					int err = errno;
					close(parent);
					return err_set(e, -err, "creating %s in the rootfs: %s", prefix,
						       strerror(err));
				}
				nfd = open_in_root(rootfd, prefix, 0);
			}
			if (nfd < 0) {
				close(parent);
				return err_set(e, nfd, "%s: %s", prefix, strerror(-nfd));
			}
			close(parent);
			parent = nfd;
			p = end;
		}
		if (!restart) {
			*out = parent;
			return 0;
		}
		close(parent);
	}
	return err_set(e, -ELOOP, "%s: too many levels of symbolic links", path);
}

static unsigned long locked_flags(const char *path)
{
	struct statvfs s;
	unsigned long f = 0;
	if (statvfs(path, &s) < 0)
		return 0;
	if (s.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (s.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (s.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (s.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (s.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (s.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

#define FDPATH(buf, fd) snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd)

/* Remounts the mount at `top` (a path) with flags, keeping locked ones. */
static int remount_bind(const char *top, unsigned long flags)
{
	unsigned long f = MS_BIND | MS_REMOUNT | (flags & ~(MS_BIND | MS_REC | MS_REMOUNT));
	if (mount(NULL, top, NULL, f | locked_flags(top), NULL) == 0)
		return 0;
	return -errno;
}

static int mount_cgroupfs(const struct rootfs_ctx *r, int rootfd, const struct oci_mount *m,
			  const char *w, struct err *e)
{
	int tfd, rc;
	char tp[64], tp2[64];
	if ((rc = mkdir_in_root(rootfd, m->dest, false, &tfd, e)))
		return rc;
	FDPATH(tp, tfd);
	unsigned long fl = m->flags | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	const struct cgroup *cg = r->cg;
	if (!cg || cg->mode == CG_NONE) {
		close(tfd);
		return 0;
	}
	if (cg->mode == CG_V2) {
		if (r->cgroupns && mount("cgroup2", tp, "cgroup2", fl, NULL) == 0) {
			close(tfd);
			return 0;
		}
		char src[PATH_MAX + 256];
		cg_v2_dir(cg, src, sizeof src);
		if (mount(src, tp, NULL, MS_BIND | MS_REC, NULL) < 0) {
			rc = -errno;
			close(tfd);
			return err_set(e, rc, "%s (%s): binding %s: %s", w, m->dest, src, strerror(-rc));
		}
		close(tfd);
		int t = open_in_root(rootfd, m->dest, 0);
		if (t >= 0) {
			FDPATH(tp2, t);
			remount_bind(tp2, fl);
			close(t);
		}
		return 0;
	}
	/* v1 / hybrid: a tmpfs with one directory per hierarchy, each a bind of
	 * this container's cgroup in that hierarchy. */
	if (mount("tmpfs", tp, "tmpfs", (fl & ~MS_RDONLY), "mode=755") < 0) {
		rc = -errno;
		close(tfd);
		return err_set(e, rc, "%s (%s): mount tmpfs: %s", w, m->dest, strerror(-rc));
	}
	close(tfd);
	int top = open_in_root(rootfd, m->dest, O_DIRECTORY);
	if (top < 0)
		return err_set(e, top, "%s (%s): %s", w, m->dest, strerror(-top));
	FDPATH(tp2, top);
	int dfd = open(tp2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i <= cg->nh && dfd >= 0; i++) {
		char src[PATH_MAX + 256], name[256];
		if (i < cg->nh) {
			if (!cg->h[i].opts[0])
				continue;
			const char *b = strrchr(cg->h[i].mnt, '/');
			snprintf(name, sizeof name, "%s", b ? b + 1 : cg->h[i].mnt);
			snprintf(src, sizeof src, "%s%s", cg->h[i].mnt, cg->path);
		} else {
			if (!cg->unified[0])
				continue;
			const char *b = strrchr(cg->unified, '/');
			snprintf(name, sizeof name, "%s", b ? b + 1 : "unified");
			snprintf(src, sizeof src, "%s%s", cg->unified, cg->path);
		}
		if (access(src, F_OK) < 0 || mkdirat(dfd, name, 0755) < 0)
			continue;
		int sfd = openat(dfd, name, O_PATH | O_CLOEXEC | O_NOFOLLOW);
		if (sfd < 0)
			continue;
		char sp[64];
		FDPATH(sp, sfd);
		if (mount(src, sp, NULL, MS_BIND | MS_REC, NULL) == 0) {
			close(sfd);
			sfd = openat(dfd, name, O_PATH | O_CLOEXEC | O_NOFOLLOW);
			FDPATH(sp, sfd);
			remount_bind(sp, fl);
		}
		close(sfd);
		/* "cpu,cpuacct" is also reachable as cpu and cpuacct. */
		if (strchr(name, ',')) {
			char copy[256];
			snprintf(copy, sizeof copy, "%s", name);
			char *s, *c = strtok_r(copy, ",", &s);
			while (c) {
				symlinkat(name, dfd, c);
				c = strtok_r(NULL, ",", &s);
			}
		}
	}
	if (dfd >= 0)
		close(dfd);
	if (fl & MS_RDONLY)
		mount(NULL, tp2, NULL, MS_REMOUNT | MS_RDONLY | (fl & ~MS_RDONLY), "mode=755");
	close(top);
	return 0;
}

static int mount_one(const struct rootfs_ctx *r, int rootfd, size_t idx, struct err *e)
{
	const struct oci_mount *m = &r->c->mounts[idx];
	char w[48], tp[64], src[PATH_MAX];
	int tfd, rc;
	snprintf(w, sizeof w, "mounts[%zu]", idx);
	const char *type = m->type ? m->type : "bind";
	if (!m->bind && (!strcmp(type, "cgroup") || !strcmp(type, "cgroup2")))
		return mount_cgroupfs(r, rootfd, m, w, e);
	const char *source = m->source;
	bool file = false;
	if (m->bind) {
		if (source[0] != '/' && r->bundle)
			snprintf(src, sizeof src, "%s/%s", r->bundle, source);
		else
			snprintf(src, sizeof src, "%s", source);
		source = src;
		struct stat st;
		if (stat(source, &st) < 0)
			return err_set(e, -errno, "%s: source %s: %s", w, source, strerror(errno));
		file = !S_ISDIR(st.st_mode);
	}
	if ((rc = mkdir_in_root(rootfd, m->dest, file, &tfd, e)))
		return ctr_err_wrap(e, "%s: destination", w);
	FDPATH(tp, tfd);
	if (m->bind) {
		if (mount(source, tp, NULL, MS_BIND | (m->rbind ? MS_REC : 0), NULL) < 0) {
			rc = -errno;
			close(tfd);
			return err_set(e, rc, "%s: bind %s on %s: %s", w, source, m->dest, strerror(-rc));
		}
	} else {
		unsigned long fl = m->flags & ~MS_REMOUNT;
		rc = mount(source ? source : type, tp, type, fl, m->data && *m->data ? m->data : NULL);
		if (rc < 0 && (errno == EPERM || errno == EINVAL) &&
		    (!strcmp(type, "sysfs") || !strcmp(type, "mqueue"))) {
			/* Without a matching namespace the kernel refuses a fresh
			 * sysfs/mqueue: fall back to the host's, read-only. */
			const char *host = !strcmp(type, "sysfs") ? "/sys" : "/dev/mqueue";
			rc = mount(host, tp, NULL, MS_BIND | MS_REC, NULL);
			if (rc == 0) {
				close(tfd);
				tfd = open_in_root(rootfd, m->dest, 0);
				FDPATH(tp, tfd);
				remount_bind(tp, fl | MS_RDONLY);
			}
		}
		if (rc < 0) {
			rc = -errno;
			close(tfd);
			return err_set(e, rc, "%s: mount %s on %s: %s", w, type, m->dest, strerror(-rc));
		}
	}
	close(tfd);
	unsigned long extra = m->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
					  MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME);
	if ((m->bind && extra) || m->propagation) {
		tfd = open_in_root(rootfd, m->dest, 0);
		if (tfd < 0)
			return err_set(e, tfd, "%s: reopening %s: %s", w, m->dest, strerror(-tfd));
		FDPATH(tp, tfd);
		if (m->bind && extra && (rc = remount_bind(tp, extra))) {
			close(tfd);
			return err_set(e, rc, "%s: remounting %s with its options: %s", w, m->dest,
				       strerror(-rc));
		}
		if (m->propagation && mount(NULL, tp, NULL, m->propagation, NULL) < 0) {
			rc = -errno;
			close(tfd);
			return err_set(e, rc, "%s: propagation of %s: %s", w, m->dest, strerror(-rc));
		}
		close(tfd);
	}
	return 0;
}

struct defdev { const char *path; unsigned maj, min; };
static const struct defdev default_devs[] = {
	{ "/dev/null", 1, 3 }, { "/dev/zero", 1, 5 }, { "/dev/full", 1, 7 },
	{ "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};

static int make_dev(const struct rootfs_ctx *r, int rootfd, const struct oci_device *d,
		    struct err *e)
{
	char dir[PATH_MAX], base[NAME_MAX + 1];
	const char *slash = strrchr(d->path, '/');
	snprintf(dir, sizeof dir, "%.*s", (int)(slash - d->path), d->path);
	snprintf(base, sizeof base, "%s", slash + 1);
	if (!base[0])
		return err_set(e, -EINVAL, "device %s: no file name", d->path);
	int pfd, rc;
	if ((rc = mkdir_in_root(rootfd, dir[0] ? dir : "/", false, &pfd, e)))
		return rc;
	char pp[64];
	FDPATH(pp, pfd);
	int dfd = open(pp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(pfd);
	if (dfd < 0)
		return err_set(e, -errno, "device %s: %s", d->path, strerror(errno));
	unlinkat(dfd, base, 0);
	mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
	mode_t mode = d->has_mode ? d->mode : 0666;
	rc = r->userns && d->type != 'p' ? -EPERM : 0;
	if (!rc && mknodat(dfd, base, type | mode,
			   makedev((unsigned)d->major, (unsigned)d->minor)) < 0)
		rc = -errno;
	if (rc == -EPERM) {
		/* No CAP_MKNOD (user namespace): bind the host's node instead. */
		int f = openat(dfd, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (f < 0) {
			rc = -errno;
			close(dfd);
			return err_set(e, rc, "device %s: %s", d->path, strerror(-rc));
		}
		close(f);
		int t = openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		char tp[64];
		FDPATH(tp, t);
		rc = mount(d->path, tp, NULL, MS_BIND, NULL) < 0 ? -errno : 0;
		close(t);
		if (rc) {
			close(dfd);
			return err_set(e, rc, "device %s: bind from host: %s", d->path, strerror(-rc));
		}
	} else if (rc) {
		close(dfd);
		return err_set(e, rc, "device %s: mknod: %s", d->path, strerror(-rc));
	} else {
		fchmodat(dfd, base, mode, 0);
		if (d->has_uid || d->has_gid)
			fchownat(dfd, base, d->has_uid ? d->uid : (uid_t)-1,
				 d->has_gid ? d->gid : (gid_t)-1, AT_SYMLINK_NOFOLLOW);
	}
	close(dfd);
	return 0;
}

static int setup_dev(const struct rootfs_ctx *r, int rootfd, struct err *e)
{
	const struct oci_config *c = r->c;
	for (size_t i = 0; i < c->nmounts; i++)
		if (c->mounts[i].bind && !strcmp(c->mounts[i].dest, "/dev"))
			return 0;   /* the host's /dev was bound in: leave it */
	int rc;
	for (size_t i = 0; i < sizeof default_devs / sizeof default_devs[0]; i++) {
		bool given = false;
		for (size_t k = 0; k < c->ndevices; k++)
			if (!strcmp(c->devices[k].path, default_devs[i].path))
				given = true;
		if (given)
			continue;
		struct oci_device d = { .path = default_devs[i].path, .type = 'c',
					.major = default_devs[i].maj, .minor = default_devs[i].min,
					.has_mode = true, .mode = 0666 };
		if ((rc = make_dev(r, rootfd, &d, e)))
			return rc;
	}
	for (size_t k = 0; k < c->ndevices; k++)
		if ((rc = make_dev(r, rootfd, &c->devices[k], e)))
			return rc;
	int dfd = open_in_root(rootfd, "/dev", O_DIRECTORY);
	if (dfd < 0)
		return 0;
	char dp[64];
	FDPATH(dp, dfd);
	int d = open(dp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(dfd);
	if (d < 0)
		return 0;
	static const char *links[][2] = { { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
					  { "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
					  { "pts/ptmx", "ptmx" } };
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
		if (!strcmp(links[i][1], "ptmx")) {
			struct stat st;
			if (fstatat(d, "pts/ptmx", &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			unlinkat(d, "ptmx", 0);
		}
		symlinkat(links[i][0], d, links[i][1]);
	}
	close(d);
	return 0;
}

int rootfs_prepare(const struct rootfs_ctx *r, struct err *e)
{
	const struct oci_config *c = r->c;
	unsigned long prop = c->rootfs_propagation;
	/* Nothing we do may propagate back to the host. */
	unsigned long first = (prop & MS_PRIVATE) ? MS_PRIVATE | MS_REC : MS_SLAVE | MS_REC;
	if (mount(NULL, "/", NULL, first, NULL) < 0 && errno != EINVAL)
		return err_set(e, -errno, "making / %s: %s", first & MS_PRIVATE ? "rprivate" : "rslave",
			       strerror(errno));
	if (mount(r->rootfs, r->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err_set(e, -errno, "root.path %s: bind mount: %s", r->rootfs, strerror(errno));
	/* pivot_root refuses a shared parent: the rootfs mount is private. */
	if (mount(NULL, r->rootfs, NULL, MS_PRIVATE, NULL) < 0)
		return err_set(e, -errno, "root.path %s: make private: %s", r->rootfs, strerror(errno));
	int rootfd = open(r->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return err_set(e, -errno, "root.path %s: %s", r->rootfs, strerror(errno));
	int rc = 0;
	for (size_t i = 0; i < c->nmounts && !rc; i++)
		rc = mount_one(r, rootfd, i, e);
	if (!rc)
		rc = setup_dev(r, rootfd, e);
	if (!rc && r->cwd) {
		int cfd;
		if ((rc = mkdir_in_root(rootfd, r->cwd, false, &cfd, e)) == 0)
			close(cfd);
		else
			ctr_err_wrap(e, "process.cwd");
	}
	close(rootfd);
	return rc;
}

int rootfs_chroot(const struct rootfs_ctx *r, struct err *e)
{
	int rootfd = open(r->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return err_set(e, -errno, "root.path %s: %s", r->rootfs, strerror(errno));
	int cfd, rc = 0;
	if (r->cwd && (rc = mkdir_in_root(rootfd, r->cwd, false, &cfd, e)) == 0)
		close(cfd);
	else if (r->cwd)
		ctr_err_wrap(e, "process.cwd");
	close(rootfd);
	if (rc)
		return rc;
	if (chdir(r->rootfs) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return err_set(e, -errno, "root.path %s: chroot: %s", r->rootfs, strerror(errno));
	return 0;
}

int rootfs_pivot(const struct rootfs_ctx *r, struct err *e)
{
	if (r->no_pivot) {
		if (chdir(r->rootfs) < 0)
			return err_set(e, -errno, "chdir %s: %s", r->rootfs, strerror(errno));
		if (mount(r->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
			return err_set(e, -errno, "--no-pivot: moving the rootfs to /: %s", strerror(errno));
		if (chroot(".") < 0)
			return err_set(e, -errno, "chroot: %s", strerror(errno));
		if (chdir("/") < 0)
			return err_set(e, -errno, "chdir /: %s", strerror(errno));
		return 0;
	}
	int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	int newroot = open(r->rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0 || newroot < 0) {
		int rc = -errno;
		if (oldroot >= 0)
			close(oldroot);
		return err_set(e, rc, "pivot_root: opening roots: %s", strerror(-rc));
	}
	int rc = 0;
	if (fchdir(newroot) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) {
		rc = err_set(e, -errno, "pivot_root %s: %s", r->rootfs, strerror(errno));
	} else if (fchdir(oldroot) < 0 || mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
		   umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
		rc = err_set(e, -errno, "detaching the old root: %s", strerror(errno));
	}
	close(oldroot);
	close(newroot);
	return rc;
}

int rootfs_finish(const struct rootfs_ctx *r, struct err *e)
{
	const struct oci_config *c = r->c;
	for (size_t i = 0; i < c->nmasked; i++) {
		const char *p = c->masked[i];
		struct stat st;
		if (stat(p, &st) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			return err_set(e, -errno, "linux.maskedPaths: %s: %s", p, strerror(errno));
		}
		int rc = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0")
					     : mount("/dev/null", p, NULL, MS_BIND, NULL);
		if (rc < 0)
			return err_set(e, -errno, "linux.maskedPaths: %s: %s", p, strerror(errno));
	}
	for (size_t i = 0; i < c->nreadonly; i++) {
		const char *p = c->readonly[i];
		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			return err_set(e, -errno, "linux.readonlyPaths: %s: %s", p, strerror(errno));
		}
		int rc = remount_bind(p, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
		if (rc)
			rc = remount_bind(p, MS_RDONLY);
		if (rc)
			return err_set(e, rc, "linux.readonlyPaths: %s: remount: %s", p, strerror(-rc));
	}
	if (c->root_ro) {
		int rc = remount_bind("/", MS_RDONLY);
		if (rc)
			return err_set(e, rc, "root.readonly: remounting / read-only: %s", strerror(-rc));
	}
	/* Slave and private were applied to the host's mounts before anything
	 * was mounted; re-applying them recursively here would undo the mounts'
	 * own propagation options.  Shared/unbindable only make sense now. */
	unsigned long prop = c->rootfs_propagation;
	if ((prop & (MS_SHARED | MS_UNBINDABLE)) && mount(NULL, "/", NULL, prop, NULL) < 0)
		return err_set(e, -errno, "linux.rootfsPropagation: %s", strerror(errno));
	return 0;
}
