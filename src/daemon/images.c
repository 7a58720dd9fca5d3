/* See images.h. */
#include "daemon/images.h"
#include "daemon/fsutil.h"
#include "daemon/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *find_busybox(void)
{
	static const char *const where[] = { "/bin/busybox", "/usr/bin/busybox", NULL };
	for (const char *const *p = where; *p; p++)
		if (access(*p, X_OK) == 0)
			return *p;
	return NULL;
}

static int copy_file(const char *from, const char *to, mode_t mode, struct err *e)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return err_set(e, -errno, "%s: %s", from, strerror(errno));
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (out < 0) {
		int saved = errno;
		close(in);
		return err_set(e, -saved, "%s: %s", to, strerror(saved));
	}
	char buf[65536];
	ssize_t n;
	int rc = 0;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n) {
			rc = err_set(e, -EIO, "%s: short write", to);
			break;
		}
	if (n < 0)
		rc = err_set(e, -errno, "%s: %s", from, strerror(errno));
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = err_set(e, -errno, "%s: %s", to, strerror(errno));
	return rc;
}

int images_make_busybox_rootfs(const char *busybox, const char *dir, struct err *e)
{
	static const char *const dirs[] = { "bin", "proc", "sys", "dev", "etc", "tmp", "root", NULL };
	char path[4096];
	int rc;
	if ((rc = mkdir_p(dir, 0755, e)) < 0)
		return rc;
	for (const char *const *d = dirs; *d; d++) {
		snprintf(path, sizeof path, "%s/%s", dir, *d);
		if ((rc = mkdir_p(path, 0755, e)) < 0)
			return rc;
	}
	snprintf(path, sizeof path, "%s/tmp", dir);
	chmod(path, 01777);
	snprintf(path, sizeof path, "%s/bin/busybox", dir);
	if ((rc = copy_file(busybox, path, 0755, e)) < 0)
		return rc;
	char *list = malloc(65536);
	if (!list)
		return err_set(e, -ENOMEM, "%s: out of memory", dir);
	char *argv[] = { (char *)busybox, "--list", NULL };
	int st = proc_run(argv, 10000, list, 65536, e);
	if (st != 0) {
		free(list);
		return st < 0 ? st : err_set(e, -EIO, "%s --list: exit status %d", busybox, st);
	}
	for (char *save = NULL, *a = strtok_r(list, "\n", &save); a; a = strtok_r(NULL, "\n", &save)) {
		if (!*a || strchr(a, '/') || !strcmp(a, "busybox"))
			continue;
		snprintf(path, sizeof path, "%s/bin/%s", dir, a);
		if (symlink("busybox", path) < 0 && errno != EEXIST) {
			rc = err_set(e, -errno, "%s: %s", path, strerror(errno));
			break;
		}
	}
	free(list);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof path, "%s/etc/passwd", dir);
	static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n";
	if ((rc = write_file(path, passwd, sizeof passwd - 1, 0644, e)) < 0)
		return rc;
	snprintf(path, sizeof path, "%s/etc/group", dir);
	static const char group[] = "root:x:0:\n";
	return write_file(path, group, sizeof group - 1, 0644, e);
}

static int init_bb(struct db *db, const char *state_dir, struct err *e)
{
	struct image im = { .name = "bb", .kind = KIND_CONTAINER };
	snprintf(im.path, sizeof im.path, "%s/images/bb/rootfs", state_dir);
	struct stat st;
	if (stat(im.path, &st) != 0) {
		const char *bb = find_busybox();
		if (!bb)
			return err_set(e, -ENOENT, "image bb: no busybox binary (install busybox-static)");
		/* Built aside and renamed, so a crash never leaves half a rootfs as the image. */
		char tmp[sizeof im.path + 8];
		snprintf(tmp, sizeof tmp, "%s.new", im.path);
		int rc = rm_rf(tmp, e);
		if (rc < 0 || (rc = images_make_busybox_rootfs(bb, tmp, e)) < 0)
			return rc;
		if (rename(tmp, im.path) < 0)
			return err_set(e, -errno, "%s: %s", im.path, strerror(errno));
	}
	return db_image_put(db, &im, e);
}

int images_init(struct db *db, const char *state_dir, const char *guest_dir, struct err *e)
{
	int rc = init_bb(db, state_dir, e);
	if (rc < 0)
		return rc;
	if (!guest_dir)
		return 0;
	char kernel[4096];
	snprintf(kernel, sizeof kernel, "%s/Image", guest_dir);
	if (access(kernel, R_OK) != 0)
		return 0;
	struct image im = { .name = "default", .kind = KIND_VM };
	snprintf(im.path, sizeof im.path, "%s", guest_dir);
	return db_image_put(db, &im, e);
}
