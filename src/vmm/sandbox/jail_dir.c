/*
 * The jail directory's lifetime; see jail_dir.h.
 */
#include "vmm/sandbox/jail_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int jail_dir_make(const char *tmp, char *out, size_t n, int *lock_fd, struct err *err)
{
	if ((size_t)snprintf(out, n, "%s/" JAIL_DIR_PREFIX "XXXXXX", tmp) >= n)
		return err_set(err, -ENAMETOOLONG, "sandbox: %s: path too long", tmp);
	if (!mkdtemp(out))
		return err_set(err, -errno, "sandbox: cannot create a jail directory in %s: %s",
			       tmp, strerror(errno));
	int fd = open(out, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		rmdir(out);
		return err_set(err, -e, "sandbox: cannot lock the jail directory %s: %s", out,
			       strerror(e));
	}
	*lock_fd = fd;
	return 0;
}

/* True if dir (in tmp, named name) is a stale jail: see jail_dir_sweep. */
static int stale(int tmpfd, const char *name, int min_age_s)
{
	struct stat st;
	if (fstatat(tmpfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || st.st_mtime > time(NULL) - min_age_s)
		return 0;
	int fd = openat(tmpfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* Our lock is let go when fd closes; a launcher that starts right then
	 * made its own fresh directory, which is not this one. */
	int free_ = flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);
	return free_;
}

int jail_dir_sweep(const char *tmp, int min_age_s)
{
	DIR *d = opendir(tmp);
	if (!d)
		return 0;
	int removed = 0;
	size_t pl = strlen(JAIL_DIR_PREFIX);
	for (struct dirent *de; (de = readdir(d));) {
		if (strncmp(de->d_name, JAIL_DIR_PREFIX, pl) || !de->d_name[pl])
			continue;
		/* rmdir refuses a directory that is not empty: never anything else's. */
		if (stale(dirfd(d), de->d_name, min_age_s) &&
		    unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}
