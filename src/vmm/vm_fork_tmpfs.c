/*
 * A tmpfs of the VM's own for guest RAM that a fork hands to its children
 * (docs/snapshot.md, "Guest RAM at a fork"), because a memfd gets only
 * 4 KiB pages where the host's /sys/kernel/mm/transparent_hugepage/
 * shmem_enabled says `never` (Debian's default), and memory-bound guests
 * ran ~17% slower on them than on anonymous RAM with transparent huge
 * pages.  That setting governs the kernel's internal mount only (memfds,
 * SysV and shared anonymous memory): a tmpfs mounted with `huge=always`
 * gets huge pages whatever it says (only its `deny` and `force` override a
 * mount), on the same terms as anonymous RAM madvised MADV_HUGEPAGE (a
 * fault allocates a huge page where the 2 MiB around it fit in the file,
 * with the host's `defrag` rule for madvised memory).
 *
 * The mount is made with the new mount API (fsopen, fsconfig, fsmount) and
 * never attached anywhere: it exists only as a descriptor of this process,
 * invisible to every other, and goes with its last file.  Making it needs
 * CAP_SYS_ADMIN (nimbus run as root, as its daemon runs it); without, the
 * VM keeps to a memfd.  No size limit (size=0), as a memfd has none: the
 * memory cgroup bounds both alike.  Its files are created and unlinked at
 * once; their names only tell them apart in /proc/PID/maps and smaps, as a
 * memfd's does.
 */
#include "vmm/vm_fork_tmpfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>

int vm_fork_tmpfs_mount(void)
{
	int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	int mnt = -1;
	if (fsconfig(fs, FSCONFIG_SET_STRING, "huge", "always", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "size", "0", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0700", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
	    (mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODEV |
			   MOUNT_ATTR_NOSUID)) < 0) {
		int e = errno;
		close(fs);
		return -e;
	}
	close(fs);
	return mnt;
}

bool vm_fork_tmpfs_available(void)
{
	int mnt = vm_fork_tmpfs_mount();
	if (mnt < 0)
		return false;
	close(mnt);
	return true;
}

int vm_fork_tmpfs_file(int mnt, const char *name, uint64_t size)
{
	/* Two threads may make files at once (a rebase, a fork): each takes
	 * the first name free, and frees it at once. */
	int fd = -EEXIST;
	char path[128];
	for (unsigned i = 0; fd == -EEXIST && i < 64; i++) {
		snprintf(path, sizeof path, "%s-%u", name, i);
		fd = openat(mnt, path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			fd = -errno;
	}
	if (fd < 0)
		return fd;
	int rc = unlinkat(mnt, path, 0) < 0 || ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}
