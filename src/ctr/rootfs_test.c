/* Unit tests for rootfs.c path resolution: symlinks and .. stay inside. */
#include "ctr/rootfs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/testing.h"

static int exists(const char *root, const char *rel)
{
	char p[1300];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", root, rel);
	return lstat(p, &st) == 0;
}

TEST(rootfs_mkdir_in_root_stays_inside)
{
	char root[] = "/tmp/nimbus-rootfs-test.XXXXXX", out[] = "/tmp/nimbus-outside.XXXXXX";
	EXPECT(mkdtemp(root) != NULL);
	EXPECT(mkdtemp(out) != NULL);
	char l[600];
	snprintf(l, sizeof l, "%s/abs", root);
	EXPECT_EQ(symlink(out, l), 0);              /* absolute, points outside */
	snprintf(l, sizeof l, "%s/up", root);
	EXPECT_EQ(symlink("../../../../../..", l), 0);
	int rfd = open(root, O_PATH | O_DIRECTORY);
	EXPECT(rfd >= 0);
	struct err e = { 0 };
	int fd = -1;
	EXPECT_EQ(mkdir_in_root(rfd, "/abs/sub", false, &fd, &e), 0);
	close(fd);
	EXPECT_EQ(mkdir_in_root(rfd, "/up/x/y", false, &fd, &e), 0);
	close(fd);
	EXPECT_EQ(mkdir_in_root(rfd, "/a/b/file", true, &fd, &e), 0);
	close(fd);
	EXPECT_EQ(mkdir_in_root(rfd, "../../etc/zz", false, &fd, &e), 0);
	close(fd);
	close(rfd);
	/* Everything landed under root, nothing outside. */
	char rel[600];
	snprintf(rel, sizeof rel, "%s/sub", out + 1);
	EXPECT(exists(root, rel));
	EXPECT(exists(root, "x/y"));
	EXPECT(exists(root, "a/b/file"));
	EXPECT(exists(root, "etc/zz"));
	EXPECT(!exists(out, "sub"));
	EXPECT(access("/etc/zz", F_OK) != 0);
	char cmd[1300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", root, out);
	EXPECT_EQ(system(cmd), 0);
}
