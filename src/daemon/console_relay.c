/* See console_relay.h. */
#include "daemon/console_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

struct relay {
	int master, listen, sig, log;
	long long log_size;
	int clients[CONSOLE_CLIENTS_MAX];
};

/* Keeps the log's last CONSOLE_LOG_KEEP bytes once it has twice that. */
static void log_trim(struct relay *r)
{
	if (r->log_size < 2LL * CONSOLE_LOG_KEEP)
		return;
	char *keep = malloc(CONSOLE_LOG_KEEP);
	if (!keep)
		return;
	ssize_t n = pread(r->log, keep, CONSOLE_LOG_KEEP, r->log_size - CONSOLE_LOG_KEEP);
	if (n > 0 && ftruncate(r->log, 0) == 0 && write(r->log, keep, (size_t)n) == n)
		r->log_size = n;
	free(keep);
}

static void on_output(struct relay *r, const char *buf, size_t len)
{
	if (r->log >= 0 && write(r->log, buf, len) == (ssize_t)len) {
		r->log_size += (long long)len;
		log_trim(r);
	}
	for (int i = 0; i < CONSOLE_CLIENTS_MAX; i++) {
		if (r->clients[i] < 0)
			continue;
		ssize_t w = send(r->clients[i], buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			close(r->clients[i]);
			r->clients[i] = -1;
		}
	}
}

static int listen_on(const char *path, struct err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return err_set(e, -ENAMETOOLONG, "%s: longer than %zu bytes", path,
			       sizeof sa.sun_path - 1);
	strcpy(sa.sun_path, path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(e, -errno, "socket: %s", strerror(errno));
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc < 0 || listen(fd, 8) < 0) {
		rc = err_set(e, -errno, "%s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

int console_relay_run(const char *sock_path, const char *log_path, char *const argv[],
		      struct err *e)
{
	struct relay r = { .master = -1, .log = -1 };
	for (int i = 0; i < CONSOLE_CLIENTS_MAX; i++)
		r.clients[i] = -1;
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	r.sig = signalfd(-1, &sigs, SFD_CLOEXEC);
	r.log = open(log_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (r.log >= 0) {
		struct stat st;
		r.log_size = fstat(r.log, &st) == 0 ? st.st_size : 0;
	}
	r.listen = listen_on(sock_path, e);
	if (r.listen < 0)
		return r.listen;
	int slave;
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	if (openpty(&r.master, &slave, NULL, NULL, &ws) < 0)
		return err_set(e, -errno, "openpty: %s", strerror(errno));
	fcntl(r.master, F_SETFD, FD_CLOEXEC);
	pid_t child = fork();
	if (child < 0)
		return err_set(e, -errno, "fork: %s", strerror(errno));
	if (child == 0) {
		/* The relay is the VM's supervisor: when it dies (kill -9), the VM
		 * must not run on unsupervised. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(1);
		sigprocmask(SIG_UNBLOCK, &sigs, NULL);
		setsid();
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		if (slave > 2)
			close(slave);
		execv(argv[0], argv);
		dprintf(2, "nimbus console-relay: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(slave);
	int status = -1;
	char buf[4096];
	for (;;) {
		struct pollfd pf[3 + CONSOLE_CLIENTS_MAX];
		int n = 0;
		pf[n++] = (struct pollfd){ .fd = r.master, .events = POLLIN };
		pf[n++] = (struct pollfd){ .fd = r.listen, .events = POLLIN };
		pf[n++] = (struct pollfd){ .fd = r.sig, .events = POLLIN };
		for (int i = 0; i < CONSOLE_CLIENTS_MAX; i++)
			pf[n++] = (struct pollfd){ .fd = r.clients[i], .events = POLLIN };
		if (poll(pf, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents) {
			ssize_t got = read(r.master, buf, sizeof buf);
			if (got > 0)
				on_output(&r, buf, (size_t)got);
			else if (got < 0 && errno == EINTR)
				continue;
			else
				break;   /* EIO: every slave fd is closed, the VMM has gone */
		}
		if (pf[1].revents & POLLIN) {
			int c = accept4(r.listen, NULL, NULL, SOCK_CLOEXEC);
			int slot = -1;
			for (int i = 0; i < CONSOLE_CLIENTS_MAX && c >= 0 && slot < 0; i++)
				if (r.clients[i] < 0)
					slot = i;
			if (slot >= 0)
				r.clients[slot] = c;
			else if (c >= 0)
				close(c);
		}
		if (pf[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(r.sig, &si, sizeof si) == sizeof si && si.ssi_signo != SIGCHLD)
				kill(child, (int)si.ssi_signo);
		}
		for (int i = 0; i < CONSOLE_CLIENTS_MAX; i++) {
			if (r.clients[i] < 0 || !pf[3 + i].revents)
				continue;
			ssize_t got = read(r.clients[i], buf, sizeof buf);
			if (got <= 0 || write(r.master, buf, (size_t)got) != got) {
				close(r.clients[i]);
				r.clients[i] = -1;
			}
		}
	}
	int st = 0;
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	unlink(sock_path);
	return status;
}
