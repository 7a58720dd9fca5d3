/*
 * The container's filesystem view (config.md "Root", "Mounts";
 * config-linux.md "Devices", "Default Devices", "maskedPaths",
 * "readonlyPaths", "rootfsPropagation").  Runs in the container's new mount
 * namespace, in three steps:
 *   rootfs_prepare: host mounts made slave/private, rootfs bind-mounted on
 *                   itself, each spec mount placed, /dev populated;
 *   rootfs_pivot:   pivot_root (or MS_MOVE + chroot with --no-pivot) and the
 *                   old root detached;
 *   rootfs_finish:  masked and read-only paths, read-only root, propagation.
 * Every mount destination is resolved inside the rootfs with
 * openat2(RESOLVE_IN_ROOT), so a symlink planted in a hostile image resolves
 * within the rootfs, never to the host; missing directories are created
 * component by component under already-resolved parents, and the mount is
 * made on /proc/self/fd/N of the resolved O_PATH descriptor.
 */
#ifndef NIMBUS_CTR_ROOTFS_H
#define NIMBUS_CTR_ROOTFS_H

#include <stdbool.h>

#include "ctr/cgroup.h"
#include "ctr/config.h"
#include "lib/err.h"

struct rootfs_ctx {
	const struct oci_config *c;
	const char *rootfs;       /* absolute host path */
	const char *bundle;       /* relative bind sources are taken from here */
	bool no_pivot;
	bool userns;              /* a new user namespace: no mknod */
	bool cgroupns;
	const struct cgroup *cg;
	const char *cwd;          /* process.cwd, created if missing */
};

int rootfs_prepare(const struct rootfs_ctx *r, struct err *e);
int rootfs_pivot(const struct rootfs_ctx *r, struct err *e);
int rootfs_finish(const struct rootfs_ctx *r, struct err *e);
/* Without a mount namespace of its own the container shares the runtime's
 * mounts, so nothing may be mounted: it only chroots into the rootfs (as
 * runc does) after creating process.cwd there. */
int rootfs_chroot(const struct rootfs_ctx *r, struct err *e);

/* O_PATH fd of path resolved inside the directory rootfd, or -errno. */
int open_in_root(int rootfd, const char *path, int flags);
/* Like open_in_root, creating missing components (the last one as an empty
 * file when `file`); a dangling symlink is followed inside the root. */
int mkdir_in_root(int rootfd, const char *path, bool file, int *out, struct err *e);

#endif
