/*
 * nimbus-agent: the guest side of the nimbus guest agent channel
 * (docs/guest-agent.md).  A small static program in the default guest
 * (/usr/sbin/nimbus-agent), kept running by init (/etc/inittab).
 *
 * It finds the virtio-console port named org.nimbus.agent
 * (/sys/class/virtio-ports/vportNpM/name), opens /dev/vportNpM, announces
 * itself with `ready 1 stdin-stream` and answers requests, one per line (parsed by
 * src/vmm/agent_proto.c, compiled in): ping, poweroff and reboot (through
 * /sbin/poweroff and /sbin/reboot, so the guest shuts down cleanly), and
 * exec.  Each exec runs in a runner process of its own, so a long command
 * never holds up a ping or a poweroff; the runner relays the command's
 * stdout and stderr as `out` lines while it runs (each line one write(2),
 * which the port delivers whole, so runners never interleave inside a line)
 * and ends with `exit` or `error`.  The command gets its own session (a
 * timeout kills the whole group), stdin from the request then end of file
 * (or, with input=stream, from `input` lines, each acknowledged with `ack`
 * once the command has taken it, until `eof`), and the agent's environment
 * plus the request's env=.
 *
 * init respawns it (/etc/inittab).  No state survives a restart: the host
 * fails what it was waiting for when it sees `ready` again.  Without the
 * port (a VM started without --agent) it looks for a few seconds, then
 * sleeps for good rather than exit and be respawned in a loop.
 */
#include "vmm/agent_proto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FIND_TRIES 50           /* x 100 ms: the port's name arrives just after boot */
#define MAX_SESSIONS 16         /* tty and input=stream execs taking input at once */

static int port_fd = -1;

/* A tty or input=stream exec's runner takes its input, eof and resize lines
 * on a pipe from the main loop.  A runner that ended is found when a write to it fails, or
 * its slot is taken over, oldest first, when all are in use. */
static struct session {
	uint64_t id;
	int fd;                 /* write end of the runner's pipe; -1: free */
	unsigned long age;
} sessions[MAX_SESSIONS];
static unsigned long session_clock;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes a whole protocol line (one write(2) when it can). */
static void put_line(struct agent_buf *b)
{
	if (agent_buf_end(b) < 0) {
		agent_buf_free(b);
		return;
	}
	for (size_t off = 0; off < b->len;) {
		ssize_t n = write(port_fd, b->p + off, b->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;   /* the host went away: nothing to tell it */
		off += (size_t)n;
	}
	agent_buf_free(b);
}

static void reply_error(uint64_t id, const char *code, const char *msg)
{
	struct agent_buf b = {0};
	agent_buf_fmt(&b, "error %llu %s ", (unsigned long long)id, code);
	agent_buf_enc(&b, msg, strlen(msg));
	put_line(&b);
}

/* /dev/vportNpM of the port named AGENT_PORT_NAME, or -1. */
static int find_port(char *dev, size_t len)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	if (!d)
		return -1;
	struct dirent *e;
	int found = -1;
	while ((e = readdir(d)) && found < 0) {
		if (e->d_name[0] == '.')
			continue;
		char path[512], name[128] = "";
		snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(name, sizeof name, f))
			name[strcspn(name, "\n")] = 0;
		fclose(f);
		if (!strcmp(name, AGENT_PORT_NAME)) {
			snprintf(dev, len, "/dev/%s", e->d_name);
			found = 0;
		}
	}
	closedir(d);
	return found;
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void send_out(uint64_t id, unsigned stream, const char *buf, size_t n)
{
	struct agent_buf b = {0};
	agent_buf_fmt(&b, "out %llu %u ", (unsigned long long)id, stream);
	agent_buf_enc(&b, buf, n);
	put_line(&b);
}

/*
 * After forking the command: its child writes errno (| 0x10000 when the
 * cwd, not the command, failed) on status_fd (close-on-exec) if it could
 * not exec; then the error is reported and the runner ends here.
 */
/* Reads what is left in the command's output pipes once it has ended: at
 * most a pipe's worth each, plus what a background child adds meanwhile (capped
 * so that one writing for ever cannot hold the exit report back). */
static void drain_outputs(uint64_t id, int fds[2], char *buf, size_t size)
{
	for (unsigned s = 0; s < 2; s++) {
		for (size_t total = 0; fds[s] >= 0 && total < (1u << 20);) {
			ssize_t k = read(fds[s], buf, size);
			if (k <= 0)
				break;
			send_out(id, s + 1, buf, (size_t)k);
			total += (size_t)k;
		}
	}
}

static void check_started(const struct agent_req *r, pid_t pid, int status_fd)
{
	int e = 0;
	if (read(status_fd, &e, sizeof e) == (ssize_t)sizeof e) {
		char msg[512];
		waitpid(pid, NULL, 0);
		snprintf(msg, sizeof msg, "%s%s: %s", e & 0x10000 ? "cwd " : "",
			 e & 0x10000 ? r->cwd : r->argv[0], strerror(e & 0xffff));
		reply_error(r->id, e == ENOENT ? "no-such-file" : (e & 0x10000) ? "bad-cwd"
			    : e == EACCES ? "permission-denied" : "exec-failed", msg);
		_exit(0);
	}
	close(status_fd);
}

/* The runner's last line: how the command ended; never returns. */
static void report_exit(uint64_t id, int status, bool timed_out)
{
	struct agent_buf b = {0};
	if (timed_out)
		agent_buf_fmt(&b, "exit %llu timeout 9", (unsigned long long)id);
	else if (WIFSIGNALED(status))
		agent_buf_fmt(&b, "exit %llu signal %d", (unsigned long long)id, WTERMSIG(status));
	else
		agent_buf_fmt(&b, "exit %llu code %d", (unsigned long long)id, WEXITSTATUS(status));
	put_line(&b);
	_exit(0);
}

static void send_ack(uint64_t id, size_t n)
{
	struct agent_buf b = {0};
	agent_buf_fmt(&b, "ack %llu %zu", (unsigned long long)id, n);
	put_line(&b);
}

/* Reads what the main loop sent on ctl into in; closes ctl (-1) at its end. */
static void ctl_read(int *ctl, char *in, size_t *have)
{
	if (*have == AGENT_LINE_MAX)
		*have = 0;   /* no line is that long: drop it */
	ssize_t k = read(*ctl, in + *have, AGENT_LINE_MAX - *have);
	if (k < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (k <= 0) {
		close(*ctl);   /* the main loop closed it: the input has ended */
		*ctl = -1;
		return;
	}
	*have += (size_t)k;
}

/* The next whole line of in as a request into q: 1, or 0 if none is there. */
static int ctl_line(char *in, size_t *have, struct agent_req *q)
{
	char *nl;
	while ((nl = memchr(in, '\n', *have))) {
		const char *why;
		int ok = agent_req_parse(in, (size_t)(nl - in), q, &why) == 0;
		*have -= (size_t)(nl + 1 - in);
		memmove(in, nl + 1, *have);
		if (ok)
			return 1;
	}
	return 0;
}

/* The runner: runs r's command and reports; never returns.  ctl: the
 * session's pipe of an input=stream exec, or -1. */
static void run_exec(const struct agent_req *r, int ctl)
{
	signal(SIGCHLD, SIG_DFL);   /* the main loop's SIG_IGN would reap our child */
	int in[2], out[2], errp[2], status_pipe[2];
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) ||
	    pipe2(status_pipe, O_CLOEXEC)) {
		reply_error(r->id, "internal", strerror(errno));
		_exit(1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		reply_error(r->id, "internal", strerror(errno));
		_exit(1);
	}
	if (pid == 0) {
		setsid();
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(errp[1], 2);
		signal(SIGPIPE, SIG_DFL);
		for (unsigned i = 0; i < r->envc; i++)
			putenv(r->env[i]);
		int e = 0;
		if (r->cwd && chdir(r->cwd) < 0)
			e = errno | 0x10000;   /* the cwd, not the command, failed */
		else
			execvp(r->argv[0], r->argv), e = errno;
		ssize_t n = write(status_pipe[1], &e, sizeof e);
		(void)n;
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(errp[1]);
	close(status_pipe[1]);
	check_started(r, pid, status_pipe[0]);
	set_nonblock(in[1]);
	set_nonblock(out[0]);
	set_nonblock(errp[0]);
	size_t in_off = 0;
	bool in_open = true;
	/* input=stream: the input line being written (q's data), and the ctl
	 * pipe's unparsed bytes; one line at a time, acknowledged once written,
	 * so the host never sends more than the pipe to us holds. */
	static struct agent_req q;
	static char ctl_in[AGENT_LINE_MAX];
	size_t ctl_have = 0;
	const uint8_t *pend = r->stdin_data;
	size_t pend_len = r->stdin_len;
	bool streaming = ctl >= 0;
	if (!streaming && r->stdin_len == 0) {
		close(in[1]);
		in_open = false;
	}
	int fds[2] = { out[0], errp[0] };
	int64_t deadline = r->timeout_ms ? now_ms() + r->timeout_ms : 0;
	bool exited = false, timed_out = false;
	int status = 0;
	static char buf[AGENT_CHUNK_MAX];
	while (fds[0] >= 0 || fds[1] >= 0 || in_open) {
		/* Take the next input line once the last is written (after the
		 * command closed its stdin: acknowledge and drop each). */
		while (streaming && in_off == pend_len && (in_open || ctl >= 0)) {
			if (pend_len)
				send_ack(r->id, pend_len);
			pend_len = in_off = 0;
			if (ctl_line(ctl_in, &ctl_have, &q)) {
				if (q.kind == AGENT_REQ_INPUT && in_open) {
					pend = q.stdin_data;
					pend_len = q.stdin_len;
				} else if (q.kind == AGENT_REQ_INPUT) {
					send_ack(r->id, q.stdin_len);
				} else if (q.kind == AGENT_REQ_EOF && in_open) {
					close(in[1]);
					in_open = false;
				}
				continue;
			}
			if (ctl < 0 && in_open) {
				close(in[1]);
				in_open = false;
			}
			break;
		}
		struct pollfd pf[4];
		int n = 0;
		for (unsigned s = 0; s < 2; s++)
			pf[n++] = (struct pollfd){ .fd = fds[s], .events = POLLIN };
		pf[n++] = (struct pollfd){ .fd = in_open && in_off < pend_len ? in[1] : -1,
					   .events = POLLOUT };
		pf[n++] = (struct pollfd){ .fd = streaming && in_off == pend_len ? ctl : -1,
					   .events = POLLIN };
		int wait = 100;
		if (deadline) {
			int64_t left = deadline - now_ms();
			if (left <= 0) {
				kill(-pid, SIGKILL);
				timed_out = true;
				break;
			}
			if (left < wait)
				wait = (int)left;
		}
		if (poll(pf, (nfds_t)n, wait) < 0 && errno != EINTR)
			break;
		for (unsigned s = 0; s < 2; s++) {
			if (fds[s] < 0 || !pf[s].revents)
				continue;
			ssize_t k = read(fds[s], buf, sizeof buf);
			if (k > 0)
				send_out(r->id, s + 1, buf, (size_t)k);
			else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
				close(fds[s]);
				fds[s] = -1;
			}
		}
		if (in_open && pf[2].revents) {
			ssize_t k = write(in[1], pend + in_off, pend_len - in_off);
			if (k > 0)
				in_off += (size_t)k;
			if (k < 0 && errno != EAGAIN && errno != EINTR) {
				/* The command closed its stdin: the rest is dropped,
				 * but still acknowledged, so the host is not stalled. */
				close(in[1]);
				in_open = false;
				in_off = pend_len;   /* acknowledged above, next round */
			} else if (!streaming && in_off == pend_len) {
				close(in[1]);
				in_open = false;
			}
		}
		if (pf[3].revents)
			ctl_read(&ctl, ctl_in, &ctl_have);
		/* A background child of the command may hold its output open: the
		 * command's own end is what counts, once its output is drained. */
		if (!exited && waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
		if (exited) {
			/* What it wrote just before its end may have reached
			 * the pipes after this round's poll: drain them. */
			drain_outputs(r->id, fds, buf, sizeof buf);
			break;
		}
	}
	if (!exited)
		waitpid(pid, &status, 0);
	report_exit(r->id, status, timed_out);
}

static void set_winsize(int fd, unsigned rows, unsigned cols)
{
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
	ioctl(fd, TIOCSWINSZ, &ws);
}

/* A tty exec's runner: the command on a new pseudo-terminal, its output
 * relayed as stream 1, input, eof and resize from the main loop's pipe
 * (ctl, the request lines themselves); never returns. */
static void run_tty(const struct agent_req *r, int ctl)
{
	signal(SIGCHLD, SIG_DFL);
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	char *slave = master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0
		      ? ptsname(master) : NULL;
	int status_pipe[2];
	if (!slave || pipe2(status_pipe, O_CLOEXEC)) {
		reply_error(r->id, "internal", strerror(errno));
		_exit(1);
	}
	set_winsize(master, r->rows, r->cols);
	pid_t pid = fork();
	if (pid < 0) {
		reply_error(r->id, "internal", strerror(errno));
		_exit(1);
	}
	if (pid == 0) {
		setsid();
		int fd = open(slave, O_RDWR);   /* a session leader's first tty: its terminal */
		int e = 0;
		if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) < 0)
			e = errno;
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
		signal(SIGPIPE, SIG_DFL);
		for (unsigned i = 0; i < r->envc; i++)
			putenv(r->env[i]);
		if (!e && r->cwd && chdir(r->cwd) < 0)
			e = errno | 0x10000;
		else if (!e)
			execvp(r->argv[0], r->argv), e = errno;
		ssize_t n = write(status_pipe[1], &e, sizeof e);
		(void)n;
		_exit(127);
	}
	close(status_pipe[1]);
	check_started(r, pid, status_pipe[0]);
	int64_t deadline = r->timeout_ms ? now_ms() + r->timeout_ms : 0;
	bool timed_out = false;
	static char buf[AGENT_CHUNK_MAX], in[AGENT_LINE_MAX];
	static struct agent_req q;
	size_t have = 0;
	for (;;) {
		struct pollfd pf[2] = { { .fd = master, .events = POLLIN },
					{ .fd = ctl, .events = POLLIN } };
		int wait = -1;
		if (deadline) {
			int64_t left = deadline - now_ms();
			if (left <= 0) {
				kill(-pid, SIGKILL);
				timed_out = true;
				break;
			}
			wait = (int)left;
		}
		if (poll(pf, 2, wait) < 0 && errno != EINTR)
			break;
		if (pf[0].revents) {
			ssize_t k = read(master, buf, sizeof buf);
			if (k > 0)
				send_out(r->id, 1, buf, (size_t)k);
			else if (k == 0 || errno != EINTR)
				break;   /* EIO: every holder of the terminal has gone */
		}
		if (ctl >= 0 && pf[1].revents) {
			ssize_t k = read(ctl, in + have, sizeof in - have);
			if (k <= 0) {
				close(ctl);   /* the main loop went away: no more input */
				ctl = -1;
				continue;
			}
			have += (size_t)k;
			char *start = in, *nl;
			const char *why;
			while ((nl = memchr(start, '\n', have - (size_t)(start - in)))) {
				if (agent_req_parse(start, (size_t)(nl - start), &q, &why) == 0) {
					if (q.kind == AGENT_REQ_INPUT) {
						for (size_t off = 0; off < q.stdin_len;) {
							ssize_t w = write(master, q.stdin_data + off,
									  q.stdin_len - off);
							if (w <= 0 && errno != EINTR)
								break;
							if (w > 0)
								off += (size_t)w;
						}
					} else if (q.kind == AGENT_REQ_EOF) {
						ssize_t w = write(master, "\x04", 1);   /* VEOF */
						(void)w;
					} else if (q.kind == AGENT_REQ_RESIZE) {
						set_winsize(master, q.rows, q.cols);
					}
				}
				start = nl + 1;
			}
			have -= (size_t)(start - in);
			memmove(in, start, have);
			if (have == sizeof in)
				have = 0;
		}
	}
	int status = 0;
	waitpid(pid, &status, 0);
	report_exit(r->id, status, timed_out);
}

static struct session *session_find(uint64_t id)
{
	for (unsigned i = 0; i < MAX_SESSIONS; i++)
		if (sessions[i].fd >= 0 && sessions[i].id == id)
			return &sessions[i];
	return NULL;
}

static void session_close(struct session *s)
{
	close(s->fd);
	s->fd = -1;
}

/* Starts a tty or input=stream exec's runner with its input pipe. */
static void start_session(const struct agent_req *r)
{
	struct session *s = &sessions[0];
	for (unsigned i = 0; i < MAX_SESSIONS; i++) {
		if (sessions[i].fd < 0) {
			s = &sessions[i];
			break;
		}
		if (sessions[i].age < s->age)
			s = &sessions[i];
	}
	if (s->fd >= 0)
		session_close(s);   /* all taken: the oldest goes (its runner gets EOF) */
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		reply_error(r->id, "internal", strerror(errno));
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(p[1]);
		for (unsigned i = 0; i < MAX_SESSIONS; i++)
			if (sessions[i].fd >= 0)
				close(sessions[i].fd);
		if (r->tty)
			run_tty(r, p[0]);
		run_exec(r, p[0]);
	}
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		reply_error(r->id, "internal", strerror(errno));
		return;
	}
	set_nonblock(p[1]);   /* a runner that stops reading loses input, not the agent */
	*s = (struct session){ .id = r->id, .fd = p[1], .age = ++session_clock };
}

/* Hands an input, eof or resize line to its session's runner. */
static void to_session(const struct agent_req *r, const char *line, size_t len)
{
	struct session *s = session_find(r->id);
	if (!s) {
		reply_error(r->id, "no-session", "no terminal or input=stream exec of this id is running");
		return;
	}
	char buf[AGENT_LINE_MAX + 1];
	memcpy(buf, line, len);
	buf[len] = '\n';
	ssize_t n = write(s->fd, buf, len + 1);
	if (n < 0 && errno == EPIPE)
		session_close(s);   /* the command has ended */
	if (r->kind == AGENT_REQ_EOF && n >= 0)
		session_close(s);
}

static void power(const struct agent_req *r)
{
	struct agent_buf b = {0};
	agent_buf_fmt(&b, "ok %llu", (unsigned long long)r->id);
	put_line(&b);
	if (fork() == 0) {
		signal(SIGCHLD, SIG_DFL);
		const char *cmd = r->kind == AGENT_REQ_REBOOT ? "/sbin/reboot" : "/sbin/poweroff";
		execl(cmd, cmd, (char *)NULL);
		_exit(127);
	}
}

static struct agent_req req;   /* one request at a time in the main loop */

static void handle(const char *line, size_t len)
{
	const char *why;
	if (len && line[len - 1] == '\r')
		len--;
	if (!len)
		return;
	if (agent_req_parse(line, len, &req, &why) < 0) {
		unsigned long long id;
		if (sscanf(line, "%*s %llu", &id) == 1)
			reply_error(id, "bad-request", why);
		return;
	}
	switch (req.kind) {
	case AGENT_REQ_PING: {
		struct agent_buf b = {0};
		agent_buf_fmt(&b, "pong %llu %d " AGENT_CAP_STDIN_STREAM, (unsigned long long)req.id,
			      AGENT_PROTOCOL);
		put_line(&b);
		break;
	}
	case AGENT_REQ_POWEROFF:
	case AGENT_REQ_REBOOT:
		power(&req);
		break;
	case AGENT_REQ_INPUT:
	case AGENT_REQ_EOF:
	case AGENT_REQ_RESIZE:
		to_session(&req, line, len);
		break;
	case AGENT_REQ_EXEC: {
		if (req.tty || req.stdin_stream) {
			start_session(&req);
			break;
		}
		pid_t pid = fork();
		if (pid == 0)
			run_exec(&req, -1);
		if (pid < 0)
			reply_error(req.id, "internal", strerror(errno));
		break;
	}
	}
}

int main(void)
{
	char dev[300];
	int tries = 0;
	while (find_port(dev, sizeof dev) < 0) {
		if (++tries == FIND_TRIES)
			for (;;)
				pause();   /* no channel on this VM: init would respawn us */
		sleep_ms(100);
	}
	for (unsigned i = 0; i < MAX_SESSIONS; i++)
		sessions[i].fd = -1;
	/* Runners are not waited for: their exit is their last line. */
	struct sigaction sa = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT };
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setenv("PATH", "/sbin:/usr/sbin:/bin:/usr/bin", 0);
	/* A port opens once at a time: after a restart, runners of the agent
	 * before us may still hold it until their commands end. */
	while ((port_fd = open(dev, O_RDWR | O_CLOEXEC)) < 0) {
		if (errno != EBUSY) {
			fprintf(stderr, "nimbus-agent: %s: %s\n", dev, strerror(errno));
			sleep_ms(5000);   /* then let init start us again */
			return 1;
		}
		sleep_ms(200);
	}
	struct agent_buf hello = {0};
	agent_buf_fmt(&hello, "ready %d " AGENT_CAP_STDIN_STREAM, AGENT_PROTOCOL);
	put_line(&hello);
	static char in[AGENT_LINE_MAX];
	size_t have = 0;
	bool skipping = false;
	for (;;) {
		ssize_t n = read(port_fd, in + have, sizeof in - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {   /* 0: the host end is not connected (yet) */
			sleep_ms(100);
			continue;
		}
		have += (size_t)n;
		char *start = in, *nl;
		while ((nl = memchr(start, '\n', have - (size_t)(start - in)))) {
			if (!skipping)
				handle(start, (size_t)(nl - start));
			skipping = false;
			start = nl + 1;
		}
		have -= (size_t)(start - in);
		memmove(in, start, have);
		if (have == sizeof in) {   /* a line longer than the protocol allows */
			skipping = true;
			have = 0;
		}
	}
}
