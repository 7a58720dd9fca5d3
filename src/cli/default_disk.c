/*
 * The default guest's own root disk: a writable copy of the cached
 * rootfs.ext4, made on first use in the user's data directory
 * ($NIMBUS_DATA, else $XDG_DATA_HOME/nimbus, else ~/.local/share/nimbus),
 * so `nimbus vm run` keeps its files from one run to the next while the
 * cached image stays pristine.  Copied sparsely (zero blocks become holes)
 * to a temporary name and renamed, so an interrupted copy is never used.
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1u << 20)

static int mkdir_p(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		int rc = mkdir(path, 0755);
		*p = '/';
		if (rc < 0 && errno != EEXIST)
			return -1;
	}
	return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static int copy_sparse(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
	char *buf = malloc(CHUNK);
	struct stat st;
	if (in < 0 || !buf || fstat(in, &st) < 0)
		goto done;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0)
		goto done;
	for (off_t off = 0;;) {
		ssize_t n = pread(in, buf, CHUNK, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto done;
		if (n == 0)
			break;
		bool zero = buf[0] == 0 && !memcmp(buf, buf + 1, (size_t)n - 1);
		if (!zero && pwrite(out, buf, (size_t)n, off) != n)
			goto done;
		off += n;
	}
	if (ftruncate(out, st.st_size) < 0 || fsync(out) < 0)
		goto done;
	rc = 0;
done:
	if (rc < 0) {
		int e = errno;
		if (out >= 0)
			unlink(dst);
		errno = e;
	}
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	free(buf);
	return rc;
}

const char *cli_default_root_disk(const char *guest_dir, char *buf, size_t len)
{
	char dir[PATH_MAX];
	const char *data = getenv("NIMBUS_DATA"), *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	if (data && *data)
		snprintf(dir, sizeof dir, "%s", data);
	else if (xdg && *xdg)
		snprintf(dir, sizeof dir, "%s/nimbus", xdg);
	else
		snprintf(dir, sizeof dir, "%s/.local/share/nimbus", home && *home ? home : "/root");
	int n = snprintf(buf, len, "%s/default-root.img", dir);
	if (n < 0 || (size_t)n >= len) {
		cli_error("%s: path too long", dir);
		return NULL;
	}
	if (access(buf, F_OK) == 0)
		return buf;

	char src[PATH_MAX], tmp[PATH_MAX + 32];
	snprintf(src, sizeof src, "%s/rootfs.ext4", guest_dir);
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", buf, (long)getpid());
	if (mkdir_p(dir) < 0) {
		cli_error("%s: %s", dir, strerror(errno));
		return NULL;
	}
	if (copy_sparse(src, tmp) < 0) {
		cli_error("cannot copy %s to %s: %s (rebuild with `guest/build`, or use --ephemeral)",
			  src, tmp, strerror(errno));
		return NULL;
	}
	if (rename(tmp, buf) < 0) {
		cli_error("%s: %s", buf, strerror(errno));
		unlink(tmp);
		return NULL;
	}
	fprintf(stderr, "nimbus: made the default guest's root disk %s (a copy of %s)\n", buf, src);
	return buf;
}
