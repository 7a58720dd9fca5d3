/*
 * The control socket's path handling: a stale socket (its VM killed) is
 * replaced, a live one and a file that is not a socket are refused by name.
 * No VM is needed: the listener only touches the VM to answer requests.
 */
#include "vmm/control.h"
#include "lib/testing.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct dir {
	char d[64], sock[96];
};

static int dir_init(struct dir *t)
{
	snprintf(t->d, sizeof t->d, "/tmp/nimbus-control-XXXXXX");
	if (!mkdtemp(t->d))
		return -1;
	snprintf(t->sock, sizeof t->sock, "%s/vm.sock", t->d);
	return 0;
}

static void dir_fini(struct dir *t)
{
	unlink(t->sock);
	rmdir(t->d);
}

/* A socket file nobody listens on, as a VM killed with SIGKILL leaves. */
static int make_stale(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0)
		return -1;
	close(fd);   /* the file stays, the listener is gone */
	return 0;
}

static int can_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	close(fd);
	return r == 0;
}

TEST(control_replaces_a_stale_socket)
{
	struct dir t;
	EXPECT_EQ(dir_init(&t), 0);
	EXPECT_EQ(make_stale(t.sock), 0);
	EXPECT(!can_connect(t.sock));
	struct vm_control *c;
	struct err e = { 0 };
	EXPECT_EQ(vm_control_start(NULL, t.sock, &c, &e), 0);
	EXPECT(can_connect(t.sock));
	vm_control_stop(c);
	EXPECT(access(t.sock, F_OK) < 0);   /* removed at the end */
	dir_fini(&t);
}

TEST(control_refuses_a_live_socket_by_name)
{
	struct dir t;
	EXPECT_EQ(dir_init(&t), 0);
	struct vm_control *a, *b;
	struct err e = { 0 };
	EXPECT_EQ(vm_control_start(NULL, t.sock, &a, &e), 0);
	EXPECT_EQ(vm_control_start(NULL, t.sock, &b, &e), -EADDRINUSE);
	EXPECT(strstr(e.msg, t.sock) && strstr(e.msg, "in use by a running VM"));
	EXPECT(can_connect(t.sock));   /* the live one is untouched */
	vm_control_stop(a);
	dir_fini(&t);
}

TEST(control_refuses_a_file_that_is_not_a_socket)
{
	struct dir t;
	EXPECT_EQ(dir_init(&t), 0);
	int fd = open(t.sock, O_CREAT | O_WRONLY, 0600);
	EXPECT(fd >= 0);
	close(fd);
	struct vm_control *c;
	struct err e = { 0 };
	EXPECT_EQ(vm_control_start(NULL, t.sock, &c, &e), -EEXIST);
	EXPECT(strstr(e.msg, t.sock) && strstr(e.msg, "not a socket"));
	struct stat st;
	EXPECT(stat(t.sock, &st) == 0 && S_ISREG(st.st_mode));   /* left alone */
	dir_fini(&t);
}
