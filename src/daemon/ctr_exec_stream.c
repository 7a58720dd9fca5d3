/*
 * An interactive exec in a container (driver.h exec_stream): `nimbus-runtime
 * exec` run by the daemon, its stdio joined to the client's frames
 * (exec_session.h).  Without a terminal the command's stdin, stdout and
 * stderr are pipes, so input of any size streams through and the two output
 * streams stay apart.  With one the runtime makes the pty in the container
 * and hands its master to us on a console socket (--console-socket, as
 * conmon takes it from runc), so the window size is set on the master
 * directly and the command gets SIGWINCH from its own kernel.
 *
 * The runtime waits for the command and exits with its status (128+N after
 * signal N), which is the session's.  When the client goes or the daemon
 * stops, the command (its pid file) and the runtime are killed.
 */
#include "daemon/driver.h"
#include "daemon/exec_session.h"
#include "daemon/fsutil.h"
#include "daemon/request.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PTY_HANDOVER_MS 20000

struct run {
	pid_t pid;                   /* the runtime */
	char pidfile[4200];          /* the command's pid, written by the runtime */
	int status;                  /* the runtime's, once it ended; -1 before */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void kill_all(struct run *r)
{
	char buf[32];
	pid_t p = read_file(r->pidfile, buf, sizeof buf) > 0 ? (pid_t)atoi(buf) : 0;
	if (p > 1)
		kill(p, SIGKILL);
	if (r->status < 0)
		kill(r->pid, SIGKILL);
}

static bool reap(struct run *r, bool block)
{
	int st;
	if (r->status >= 0)
		return true;
	pid_t w;
	while ((w = waitpid(r->pid, &st, block ? 0 : WNOHANG)) < 0 && errno == EINTR)
		;
	if (w != r->pid)
		return false;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return true;
}

/* Starts the runtime with fds[0..2] as its stdio (closed here). */
static int spawn(char *const argv[], int fds[3], struct run *r, struct err *e)
{
	pid_t pid = fork();
	if (pid == 0) {
		/* Only async-signal-safe calls: the daemon has threads. */
		setsid();
		for (int i = 0; i < 3; i++)
			if (dup2(fds[i], i) < 0)
				_exit(127);
		/* The daemon's threads block signals it waits for; the command
		 * must get them as any process does (proc.c does the same). */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
			for (int fd = 3; fd < 1024; fd++)
				fcntl(fd, F_SETFD, FD_CLOEXEC);
		execv(argv[0], argv);
		_exit(127);
	}
	int saved = errno;
	for (int i = 0; i < 3; i++)   /* each once: a second close could hit another thread's fd */
		if (fds[i] > 2 && (i == 0 || fds[i] != fds[i - 1]) && (i < 2 || fds[2] != fds[0]))
			close(fds[i]);
	if (pid < 0)
		return err_set(e, -saved, "%s: fork: %s", argv[0], strerror(saved));
	r->pid = pid;
	r->status = -1;
	return 0;
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Takes the pty master the runtime sends on the console socket lfd. */
static int take_master(int lfd, struct run *r, int *master, struct err *e)
{
	int64_t end = now_ms() + PTY_HANDOVER_MS;
	int cfd = -1;
	while (cfd < 0) {
		struct pollfd pf = { .fd = lfd, .events = POLLIN };
		if (poll(&pf, 1, 100) > 0)
			cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0 && reap(r, false))
			return err_set(e, -EIO, "the runtime ended (status %d) before it made the "
				       "terminal", r->status);
		if (cfd < 0 && now_ms() > end)
			return err_set(e, -ETIMEDOUT, "the runtime did not hand over the terminal "
				       "within %d s", PTY_HANDOVER_MS / 1000);
	}
	char name[256];
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { name, sizeof name };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof cbuf };
	ssize_t n = recvmsg(cfd, &m, MSG_CMSG_CLOEXEC);
	close(cfd);
	struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&m) : NULL;
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
		return err_set(e, -EBADMSG, "the runtime sent no terminal on its console socket");
	memcpy(master, CMSG_DATA(c), sizeof *master);
	return 0;
}

/* Moves bytes until the command has ended and its output is drained, the
 * client goes, or the deadline passes.  out[0..1]: stdout, stderr (or the
 * master, alone, with in == it); in: the command's stdin (-1 once closed). */
/* What the command wrote last, after its end was seen. */
static void drain(struct exec_client *x, int out[2])
{
	uint8_t buf[16384];
	for (int s = 0; s < 2; s++) {
		ssize_t k;
		while (out[s] >= 0 && (k = read(out[s], buf, sizeof buf)) > 0)
			if (exec_client_out(x, EXEC_STDOUT + (unsigned)s, buf, (size_t)k) < 0)
				return;
	}
}

static int pump(struct exec_client *x, struct run *r, int *inp, int out[2], bool tty,
		int64_t deadline, struct err *e)
{
	uint8_t buf[16384];
	int in = *inp;
	for (;;) {
		if (tty && x->resized) {
			struct winsize ws = { .ws_row = (unsigned short)x->rows,
					      .ws_col = (unsigned short)x->cols };
			ioctl(in, TIOCSWINSZ, &ws);
			x->resized = false;
		}
		bool pending = x->in_off < x->in_len;
		if (!tty && in >= 0 && !pending && x->in_eof) {
			close(in);
			in = *inp = -1;
		}
		struct pollfd pf[5] = {
			{ .fd = exec_client_wants_read(x) ? x->fd : -1, .events = POLLIN },
			{ .fd = out[0], .events = POLLIN },
			{ .fd = out[1], .events = POLLIN },
			{ .fd = pending && in >= 0 ? in : -1, .events = POLLOUT },
			{ .fd = x->closing, .events = POLLIN },
		};
		int wait = 100;
		if (deadline) {
			int64_t left = deadline - now_ms();
			if (left <= 0) {
				kill_all(r);
				return -ETIMEDOUT;
			}
			if (left < wait)
				wait = (int)left;
		}
		if (poll(pf, 5, wait) < 0 && errno != EINTR)
			return err_set(e, -errno, "poll: %s", strerror(errno));
		if (pf[4].revents) {
			kill_all(r);
			return err_set(e, -ECANCELED, "the daemon is stopping");
		}
		if (pf[0].revents)
			exec_client_read(x);
		if (x->gone) {
			kill_all(r);
			return err_set(e, -ECONNRESET, "the client went away%s%s", x->why ? ": " : "",
				       x->why ? x->why : "");
		}
		if (pf[3].revents) {
			ssize_t k = write(in, x->in + x->in_off, x->in_len - x->in_off);
			if (k > 0)
				exec_client_took(x, (size_t)k);
			else if (k < 0 && errno != EAGAIN && errno != EINTR)
				exec_client_took(x, x->in_len - x->in_off);   /* it stopped reading */
		}
		bool more = false;
		for (int s = 0; s < 2; s++) {
			if (out[s] < 0 || !(pf[1 + s].revents))
				continue;
			ssize_t k = read(out[s], buf, sizeof buf);
			if (k > 0) {
				more = true;
				if (exec_client_out(x, EXEC_STDOUT + (unsigned)s, buf, (size_t)k) < 0) {
					kill_all(r);
					return err_set(e, -ECONNRESET, "the client went away");
				}
			} else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
				/* EOF, or EIO from a master whose last slave closed */
				if (tty && s == 0) {
					reap(r, true);
					drain(x, out);   /* the runtime's own messages */
					return 0;
				}
				close(out[s]);
				out[s] = -1;
			}
		}
		/* A background child may hold the output open: the runtime's end
		 * (the command's) is what counts, once the output is drained. */
		if (reap(r, false) && !more) {
			drain(x, out);
			return 0;
		}
		if (!tty && out[0] < 0 && out[1] < 0 && reap(r, true))
			return 0;
	}
}

int ctr_exec_stream(const struct driver_ctx *c, const struct instance *in,
			   const struct exec_req *rq, struct exec_client *x, struct err *e)
{
	char root[4200], dir[4096], sock[4200];
	int rc = instance_path(c, in->name, NULL, dir, sizeof dir, e);
	if (rc < 0)
		return rc;
	snprintf(root, sizeof root, "%s/runtime", c->state_dir);
	static atomic_uint seq;
	unsigned n = atomic_fetch_add(&seq, 1);
	struct run r = { .status = -1 };
	snprintf(r.pidfile, sizeof r.pidfile, "%s/exec-%d-%u.pid", dir, (int)getpid(), n);
	bool tty = rq->tty_rows != 0;
	int lfd = -1;
	if (tty) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		if ((size_t)snprintf(sock, sizeof sock, "%s/x%u.sock", dir, n) >= sizeof sa.sun_path)
			return err_set(e, -ENAMETOOLONG, "container \"%s\": %s: longer than a socket "
				       "path may be (use a shorter --state-dir)", in->name, sock);
		strcpy(sa.sun_path, sock);
		unlink(sock);
		lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 1) < 0) {
			rc = err_set(e, -errno, "container \"%s\": console socket %s: %s", in->name,
				     sock, strerror(errno));
			if (lfd >= 0)
				close(lfd);
			return rc;
		}
	}
	char *args[EXEC_ARGS_MAX + 16] = { (char *)c->runtime, "--root", root, "exec",
					   "--pid-file", r.pidfile };
	int k = 6;
	if (tty) {
		args[k++] = "--tty";
		args[k++] = "--console-socket";
		args[k++] = sock;
	}
	args[k++] = "--";
	args[k++] = (char *)in->name;
	for (int i = 0; rq->argv[i] && k < EXEC_ARGS_MAX + 15; i++)
		args[k++] = rq->argv[i];
	args[k] = NULL;
	int p_in[2] = { -1, -1 }, p_out[2] = { -1, -1 }, p_err[2] = { -1, -1 };
	int master = -1;
	/* On a terminal the command's output is the pty's; the runtime's own
	 * messages (a command not found) still come on its stderr. */
	if ((!tty && (pipe2(p_in, O_CLOEXEC) < 0 || pipe2(p_out, O_CLOEXEC) < 0)) ||
	    pipe2(p_err, O_CLOEXEC) < 0) {
		rc = err_set(e, -errno, "container \"%s\": pipe: %s", in->name, strerror(errno));
		goto out;
	}
	int null = tty ? open("/dev/null", O_RDWR | O_CLOEXEC) : -1;
	int fds[3] = { tty ? null : p_in[0], tty ? null : p_out[1], p_err[1] };
	if (tty && null < 0) {
		rc = err_set(e, -errno, "/dev/null: %s", strerror(errno));
		goto out;
	}
	rc = spawn(args, fds, &r, e);
	p_in[0] = p_out[1] = p_err[1] = -1;
	if (rc < 0)
		goto out;
	if (tty) {
		if ((rc = take_master(lfd, &r, &master, e)) < 0) {
			kill_all(&r);
			reap(&r, true);
			/* Its reason, if it gave one, says more than its status. */
			char why[512];
			set_nonblock(p_err[0]);
			ssize_t n = read(p_err[0], why, sizeof why - 1);
			while (n > 0 && (why[n - 1] == '\n' || why[n - 1] == '\r'))
				n--;
			if (n > 0) {
				why[n] = 0;
				rc = err_set(e, rc, "container \"%s\": %s", in->name, why);
			}
			goto out;
		}
		struct winsize ws = { .ws_row = (unsigned short)rq->tty_rows,
				      .ws_col = (unsigned short)rq->tty_cols };
		ioctl(master, TIOCSWINSZ, &ws);
		set_nonblock(master);
		set_nonblock(p_err[0]);
	} else {
		set_nonblock(p_in[1]);
		set_nonblock(p_out[0]);
		set_nonblock(p_err[0]);
	}
	int64_t deadline = rq->timeout_set && rq->timeout_s ? now_ms() + rq->timeout_s * 1000LL : 0;
	int outs[2] = { tty ? master : p_out[0], p_err[0] };
	int *inp = tty ? &master : &p_in[1];
	rc = pump(x, &r, inp, outs, tty, deadline, e);
	/* pump closed what ended; the rest is ours */
	if (!tty)
		p_out[0] = outs[0];
	p_err[0] = outs[1];
	if (rc == -ETIMEDOUT)
		rc = err_set(e, -ETIMEDOUT, "container \"%s\": %s did not end within %d s (killed)",
			     in->name, rq->argv[0], rq->timeout_s);
	if (rc < 0)
		kill_all(&r);
	reap(&r, true);
	if (rc == 0)
		rc = r.status;
out:
	for (int i = 0; i < 2; i++) {
		if (p_in[i] >= 0)
			close(p_in[i]);
		if (p_out[i] >= 0)
			close(p_out[i]);
		if (p_err[i] >= 0)
			close(p_err[i]);
	}
	if (master >= 0)
		close(master);
	if (lfd >= 0) {
		close(lfd);
		unlink(sock);
	}
	unlink(r.pidfile);
	return rc;
}

