/* See log_keep.h. */
#include "daemon/log_keep.h"
#include "daemon/logs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG "console.log"
#define CUR ".console.log.cur"

void log_keep_sync(const char *dir)
{
	int d = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return;
	struct stat log, cur;
	if (fstatat(d, LOG, &log, AT_SYMLINK_NOFOLLOW) == 0) {
		bool have_cur = fstatat(d, CUR, &cur, AT_SYMLINK_NOFOLLOW) == 0;
		if (!have_cur || cur.st_ino != log.st_ino || cur.st_dev != log.st_dev) {
			/* console.log was replaced: what .cur names is the generation before. */
			if (have_cur)
				renameat(d, CUR, d, LOG LOGS_PREVIOUS_SUFFIX);
			linkat(d, LOG, d, CUR, 0);
		}
	}
	close(d);
}

int log_keep_watch(const char *dir)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (inotify_add_watch(fd, dir, IN_MOVED_TO) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int log_keep_replaced(int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int replaced = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			if (ev->len && !strcmp(ev->name, LOG))
				replaced = 1;
			p += sizeof *ev + ev->len;
		}
	}
	return replaced;
}
