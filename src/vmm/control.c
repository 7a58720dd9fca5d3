/*
 * The control socket (see control.h).  One thread polls the listening socket
 * and a wake-up pipe; a connection is served to its end before the next is
 * accepted (requests are rare and short, so no thread per client).  A client
 * that stops reading cannot stall the VM: only this thread waits on it, with
 * a timeout on every read and write.
 */
#include "vmm/control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/size.h"
#include "vmm/virtio/balloon.h"
#include "vmm/vm.h"

#define CLIENT_TIMEOUT_MS 5000
#define MAX_LINE 512

struct vm_control {
	struct vm *vm;
	int listen_fd;
	int wake[2];
	pthread_t thread;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void balloon_request(struct vm *vm, const char *arg, char *reply, unsigned long len)
{
	struct virtio_device *b = vm_balloon(vm);
	uint64_t bytes;
	if (!b) {
		snprintf(reply, len, "error: this VM has no balloon (start it with --balloon)");
		return;
	}
	if (!arg || parse_size(arg, 1ull << 20, &bytes) < 0) {
		snprintf(reply, len, "error: balloon %s: not a size (examples: 64M, 1G, 0)",
			 arg ? arg : "");
		return;
	}
	int rc = balloon_set_target(b, bytes);
	if (rc == -ERANGE)
		snprintf(reply, len, "error: balloon %s: larger than guest RAM", arg);
	else if (rc)
		snprintf(reply, len, "error: balloon %s: %s", arg, strerror(-rc));
	else
		snprintf(reply, len, "ok target=%llu", (unsigned long long)(bytes & ~4095ull));
}

static void stats_request(struct vm *vm, char *reply, unsigned long len)
{
	struct virtio_device *b = vm_balloon(vm);
	if (!b) {
		snprintf(reply, len, "error: this VM has no balloon (start it with --balloon)");
		return;
	}
	struct balloon_stats st;
	int rc = balloon_get_stats(b, &st, 2000);
	if (rc && rc != -ETIMEDOUT && rc != -ENODEV) {
		snprintf(reply, len, "error: balloon-stats: %s", strerror(-rc));
		return;
	}
	int n = snprintf(reply, len, "ok ram=%llu target=%llu actual=%llu inflated=%llu reported=%llu",
			 (unsigned long long)st.ram_bytes, (unsigned long long)st.target_bytes,
			 (unsigned long long)st.actual_bytes, (unsigned long long)st.inflated_bytes,
			 (unsigned long long)st.reported_bytes);
	static const struct { unsigned idx; const char *name; } fields[] = {
		{ VIRTIO_BALLOON_S_MEMFREE, "free" },
		{ VIRTIO_BALLOON_S_MEMTOT, "total" },
		{ VIRTIO_BALLOON_S_AVAIL, "available" },
		{ VIRTIO_BALLOON_S_CACHES, "caches" },
	};
	for (unsigned i = 0; i < sizeof fields / sizeof fields[0] && n > 0 && (unsigned long)n < len; i++)
		if (st.have & (1u << fields[i].idx))
			n += snprintf(reply + n, len - (unsigned long)n, " %s=%llu", fields[i].name,
				      (unsigned long long)st.val[fields[i].idx]);
	if (rc && n > 0 && (unsigned long)n < len)
		snprintf(reply + n, len - (unsigned long)n, " stale=1");
}

void vm_control_handle(struct vm *vm, const char *request, char *reply, unsigned long len)
{
	char buf[MAX_LINE];
	snprintf(buf, sizeof buf, "%s", request);
	char *save = NULL;
	char *verb = strtok_r(buf, " \t", &save);
	char *arg = strtok_r(NULL, " \t", &save);
	char *extra = strtok_r(NULL, " \t", &save);
	if (!verb) {
		snprintf(reply, len, "error: empty request");
	} else if (!strcmp(verb, "balloon") && !extra) {
		balloon_request(vm, arg, reply, len);
	} else if (!strcmp(verb, "balloon-stats") && !arg) {
		stats_request(vm, reply, len);
	} else if (!strcmp(verb, "stop") && !arg) {
		vm_request_stop(vm);
		snprintf(reply, len, "ok");
	} else {
		snprintf(reply, len, "error: %.64s: unknown request (known: balloon SIZE, "
			 "balloon-stats, stop)", request);
	}
}

static int write_all_timeout(int fd, const char *p, size_t n)
{
	while (n) {
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		if (poll(&pf, 1, CLIENT_TIMEOUT_MS) <= 0)
			return -1;
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void serve_client(struct vm_control *c, int fd)
{
	char line[MAX_LINE], reply[1024];
	size_t have = 0;
	for (;;) {
		struct pollfd pf[2] = { { .fd = fd, .events = POLLIN }, { .fd = c->wake[0], .events = POLLIN } };
		if (poll(pf, 2, CLIENT_TIMEOUT_MS) <= 0 || pf[1].revents)
			return;
		ssize_t r = read(fd, line + have, sizeof line - 1 - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		have += (size_t)r;
		char *nl;
		while ((nl = memchr(line, '\n', have))) {
			*nl = 0;
			if (nl > line && nl[-1] == '\r')
				nl[-1] = 0;
			vm_control_handle(c->vm, line, reply, sizeof reply - 1);
			strcat(reply, "\n");
			if (write_all_timeout(fd, reply, strlen(reply)) < 0)
				return;
			have -= (size_t)(nl + 1 - line);
			memmove(line, nl + 1, have);
		}
		if (have == sizeof line - 1) {
			static const char too_long[] = "error: request longer than 511 bytes\n";
			write_all_timeout(fd, too_long, sizeof too_long - 1);
			return;
		}
	}
}

static void *control_thread(void *arg)
{
	struct vm_control *c = arg;
	for (;;) {
		struct pollfd pf[2] = { { .fd = c->listen_fd, .events = POLLIN },
					{ .fd = c->wake[0], .events = POLLIN } };
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents)
			break;
		int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve_client(c, fd);
		close(fd);
	}
	return NULL;
}

/*
 * The path exists.  A socket nobody listens on (its VM was killed, so it
 * could not remove it) is replaced; anything else is refused: a live
 * socket is another VM's, and a file that is not a socket is not ours.
 * Only ECONNREFUSED proves a socket dead; any other failure to connect
 * (EACCES, EAGAIN from a full backlog) leaves it alone.
 */
static int replace_stale(int fd, const struct sockaddr_un *sa, struct err *err)
{
	const char *path = sa->sun_path;
	struct stat st;
	if (lstat(path, &st) < 0)
		return err_set(err, -errno, "--control %s: %s", path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return err_set(err, -EEXIST, "--control %s: exists and is not a socket", path);
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);   /* a full backlog: EAGAIN, not a wait */
	if (probe < 0)
		return err_set(err, -errno, "--control %s: socket: %s", path, strerror(errno));
	int r = connect(probe, (const struct sockaddr *)sa, sizeof *sa), e = errno;
	close(probe);
	if (r == 0)
		return err_set(err, -EADDRINUSE, "--control %s: in use by a running VM", path);
	if (e != ECONNREFUSED)
		return err_set(err, -e, "--control %s: exists and cannot be probed: %s", path,
			       strerror(e));
	if (unlink(path) < 0 && errno != ENOENT)
		return err_set(err, -errno, "--control %s: cannot remove the stale socket: %s", path,
			       strerror(errno));
	if (bind(fd, (const struct sockaddr *)sa, sizeof *sa) < 0)
		return err_set(err, -errno, "--control %s: %s", path, strerror(errno));
	return 0;
}

int vm_control_start(struct vm *vm, const char *path, struct vm_control **out, struct err *err)
{
	*out = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return err_set(err, -ENAMETOOLONG, "--control %s: path too long (at most %zu bytes)",
			       path, sizeof sa.sun_path - 1);
	struct vm_control *c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(err, -ENOMEM, "out of memory");
	c->vm = vm;
	c->wake[0] = c->wake[1] = -1;
	strcpy(c->path, path);
	strcpy(sa.sun_path, path);
	int rc;
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0) {
		rc = err_set(err, -errno, "--control %s: socket: %s", path, strerror(errno));
		goto fail;
	}
	if (bind(c->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		rc = errno == EADDRINUSE ? replace_stale(c->listen_fd, &sa, err)
					 : err_set(err, -errno, "--control %s: %s", path, strerror(errno));
		if (rc)
			goto fail;
	}
	if (listen(c->listen_fd, 8) < 0 || pipe2(c->wake, O_CLOEXEC) < 0) {
		rc = err_set(err, -errno, "--control %s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	if ((rc = -pthread_create(&c->thread, NULL, control_thread, c))) {
		err_set(err, rc, "--control %s: thread: %s", path, strerror(-rc));
		unlink(path);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->wake[0] >= 0) {
		close(c->wake[0]);
		close(c->wake[1]);
	}
	free(c);
	return rc;
}

void vm_control_stop(struct vm_control *c)
{
	if (!c)
		return;
	ssize_t ignored = write(c->wake[1], "", 1);
	(void)ignored;
	pthread_join(c->thread, NULL);
	close(c->listen_fd);
	close(c->wake[0]);
	close(c->wake[1]);
	unlink(c->path);
	free(c);
}
