/* Whole transfers over file descriptors (io.h). */
#include "lib/io.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

int io_pxferv(int fd, uint64_t off, struct iovec *iov, int cnt, bool write)
{
	while (cnt > 0) {
		ssize_t r = write ? pwritev(fd, iov, cnt, (off_t)off) : preadv(fd, iov, cnt, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;   /* the file ended (or shrank under us) */
		off += (uint64_t)r;
		while (cnt > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

int io_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	struct iovec v = { (void *)buf, len };
	return io_pxferv(fd, off, &v, 1, true);
}

int io_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	struct iovec v = { buf, len };
	return io_pxferv(fd, off, &v, 1, false);
}

int io_send_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };
			poll(&pf, 1, 1000);
			continue;
		}
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EPIPE;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int io_send_fds(int sock, const void *buf, size_t n, const int *fds, unsigned nfds)
{
	if (nfds == 0 || nfds > IO_FDS_MAX)
		return -EINVAL;
	struct iovec v = { (void *)buf, n };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * IO_FDS_MAX)];
	} cm;
	memset(&cm, 0, sizeof cm);
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = cm.b,
			    .msg_controllen = CMSG_SPACE(sizeof(int) * nfds) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(h), fds, sizeof(int) * nfds);
	ssize_t w;
	while ((w = sendmsg(sock, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (w < 0)
		return -errno;
	return (size_t)w == n ? 0 : -EMSGSIZE;
}
