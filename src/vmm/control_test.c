/*
 * The control socket's path handling: a stale socket (its VM killed) is
 * replaced, a live one and a file that is not a socket are refused by name.
 * No VM is needed: the listener only touches the VM to answer requests.
 */
#include "vmm/control.h"
#include "lib/testing.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

/* The reply's error code, or "" for an ok reply. */
static const char *code_of(const char *reply, char *buf, size_t len)
{
	const char *p = strstr(reply, "\"code\":\"");
	if (!p) {
		snprintf(buf, len, "%s", strstr(reply, "\"ok\":true") ? "" : "?");
		return buf;
	}
	p += 8;
	size_t n = strcspn(p, "\"");
	snprintf(buf, len, "%.*s", (int)n, p);
	return buf;
}

TEST(control_every_malformed_request_gets_an_error_reply)
{
	static const struct { const char *req; const char *code; } cases[] = {
		{ "", "parse-error" },
		{ "nonsense", "parse-error" },
		{ "{\"verb\":\"status\"", "parse-error" },
		{ "[]", "invalid-request" },
		{ "42", "invalid-request" },
		{ "{}", "invalid-request" },
		{ "{\"id\":[1],\"verb\":\"status\"}", "invalid-request" },
		{ "{\"id\":1,\"verb\":null}", "invalid-request" },
		{ "{\"id\":1,\"verb\":\"reformat-disk\"}", "unknown-verb" },
		{ "{\"id\":1,\"verb\":\"status\",\"version\":\"1\"}", "unsupported-version" },
		{ "{\"id\":1,\"verb\":\"events\"}", "invalid-request" },
		{ "{\"id\":1,\"verb\":\"status\"}", "not-running" },   /* no VM here */
		{ "{\"id\":1,\"verb\":\"status\",\"version\":1}", "not-running" },
	};
	char buf[64];
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *r = vm_control_handle(NULL, cases[i].req, strlen(cases[i].req));
		EXPECT(r != NULL);
		if (strcmp(code_of(r, buf, sizeof buf), cases[i].code))
			printf("   %s -> %s\n", cases[i].req, r);
		EXPECT(!strcmp(code_of(r, buf, sizeof buf), cases[i].code));
		EXPECT(strstr(r, "\"ok\":false"));
		free(r);
	}
	/* The id comes back as sent; a string with a NUL inside is still just data. */
	char *r = vm_control_handle(NULL, "{\"id\":\"a\\u0000b\",\"verb\":\"x\"}", 28);
	EXPECT(r && strstr(r, "\"id\":\"a"));
	free(r);
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

TEST(control_idle_clients_do_not_block_a_request_and_socket_is_0600)
{
	struct dir t;
	EXPECT_EQ(dir_init(&t), 0);
	struct vm_control *c;
	struct err e = { 0 };
	EXPECT_EQ(vm_control_start(NULL, t.sock, &c, &e), 0);
	struct stat st;
	EXPECT(stat(t.sock, &st) == 0 && (st.st_mode & 0777) == 0600);
	int idle[VM_CONTROL_MAX_CLIENTS + 8];
	unsigned n = sizeof idle / sizeof idle[0];
	for (unsigned i = 0; i < n; i++) {
		idle[i] = connect_to(t.sock);
		EXPECT(idle[i] >= 0);
	}
	EXPECT(write(idle[0], "{\"id\":1,", 8) == 8);   /* half a request, never finished */
	int fd = connect_to(t.sock);
	EXPECT(fd >= 0);
	const char req[] = "{\"id\":7,\"verb\":\"status\"}\n";
	EXPECT(write(fd, req, sizeof req - 1) == (ssize_t)sizeof req - 1);
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	EXPECT(poll(&pf, 1, 3000) == 1);
	char buf[512] = "";
	EXPECT(read(fd, buf, sizeof buf - 1) > 0);
	EXPECT(strstr(buf, "\"id\":7") && strstr(buf, "not-running"));
	close(fd);
	for (unsigned i = 0; i < n; i++)
		close(idle[i]);
	vm_control_stop(c);
	dir_fini(&t);
}
