/* See fsutil.h. */
#include "daemon/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mkdir_p(const char *path, mode_t mode, struct err *e)
{
	char buf[4096];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return err_set(e, -ENAMETOOLONG, "%.64s...: path too long", path);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == 0) {
			char c = *p;
			*p = 0;
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return err_set(e, -errno, "%s: %s", buf, strerror(errno));
			*p = c;
			if (!c)
				break;
		}
	}
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return err_set(e, -ENOTDIR, "%s: not a directory", path);
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int rc = type == FTW_DP ? rmdir(path) : unlink(path);
	return rc < 0 && errno != ENOENT ? -1 : 0;
}

int rm_rf(const char *path, struct err *e)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_set(e, -errno, "%s: %s", path, strerror(errno));
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return err_set(e, -errno, "removing %s: %s", path, strerror(errno));
	return 0;
}

int write_file(const char *path, const char *data, size_t len, mode_t mode, struct err *e)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return err_set(e, -ENAMETOOLONG, "%.64s...: path too long", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return err_set(e, -errno, "%s: %s", tmp, strerror(errno));
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int saved = n < 0 ? errno : EIO;
			close(fd);
			unlink(tmp);
			return err_set(e, -saved, "%s: %s", tmp, strerror(saved));
		}
		done += (size_t)n;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int saved = errno;
		unlink(tmp);
		return err_set(e, -saved, "%s: %s", path, strerror(saved));
	}
	return 0;
}

ssize_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t have = 0;
	while (have + 1 < len) {
		ssize_t n = read(fd, buf + have, len - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	if (len)
		buf[have] = 0;
	return (ssize_t)have;
}
