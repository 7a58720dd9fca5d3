/* See console.h. */
#include "ctr/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int console_connect(const char *path, int *fd, struct err *e)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof a.sun_path)
		return err_set(e, -ENAMETOOLONG, "--console-socket %s: path too long", path);
	strcpy(a.sun_path, path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return err_set(e, -errno, "--console-socket: socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
		int rc = -errno;
		close(s);
		return err_set(e, rc, "--console-socket %s: %s", path, strerror(-rc));
	}
	*fd = s;
	return 0;
}

int console_send_fd(int sock, int fd, const char *name)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof cbuf);
	struct iovec iov = { (void *)name, strlen(name) + 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof cbuf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	return sendmsg(sock, &m, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int console_recv_fd(int sock, int *fd)
{
	char buf[4096], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, sizeof buf };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof cbuf };
	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) < 0)
		return -errno;
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -EBADMSG;
	memcpy(fd, CMSG_DATA(c), sizeof *fd);
	return 0;
}

int console_setup(int sock, unsigned rows, unsigned cols, struct err *e)
{
	int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return err_set(e, -errno, "terminal: /dev/ptmx: %s (is /dev/pts mounted?)",
			       strerror(errno));
	if (unlockpt(m) < 0) {
		int rc = -errno;
		close(m);
		return err_set(e, rc, "terminal: unlockpt: %s", strerror(-rc));
	}
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	char name[64] = "/dev/pts/?";
	ptsname_r(m, name, sizeof name);
	if (s < 0)
		s = open(name, O_RDWR | O_NOCTTY);
	if (s < 0) {
		int rc = -errno;
		close(m);
		return err_set(e, rc, "terminal: opening %s: %s", name, strerror(-rc));
	}
	if (rows || cols) {
		struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
		ioctl(s, TIOCSWINSZ, &ws);
	}
	int rc = console_send_fd(sock, m, name);
	close(m);
	if (rc) {
		close(s);
		return err_set(e, rc, "terminal: sending the pty to --console-socket: %s",
			       strerror(-rc));
	}
	if (ioctl(s, TIOCSCTTY, 0) < 0) {
		rc = -errno;
		close(s);
		return err_set(e, rc, "terminal: TIOCSCTTY: %s", strerror(-rc));
	}
	for (int i = 0; i < 3; i++)
		dup2(s, i);
	if (s > 2)
		close(s);
	return 0;
}
