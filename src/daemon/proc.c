/* See proc.h. */
#include "daemon/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* comm (field 2) may hold spaces and parentheses: fields restart after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -1;
	p += 2;
	if (*p == 'Z' || *p == 'X')
		return -1;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
	}
	return strtoll(p, NULL, 10);
}

bool proc_alive(pid_t pid, long long start)
{
	if (pid <= 0)
		return false;
	int st;
	if (waitpid(pid, &st, WNOHANG) == pid)
		return false;
	long long now = proc_start_time(pid);
	return now >= 0 && now == start;
}

static long long ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool proc_wait_gone(pid_t pid, long long start, int timeout_ms)
{
	long long end = ms_now() + timeout_ms;
	for (;;) {
		if (!proc_alive(pid, start))
			return true;
		if (ms_now() >= end)
			return false;
		usleep(20000);
	}
}

int proc_kill_tagged(const char *tag)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	int killed = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 1 || pid == (long)getpid())
			continue;
		char path[64], cmd[8192];
		snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, cmd, sizeof cmd - 1);
		close(fd);
		if (n <= 0)
			continue;
		for (ssize_t i = 0; i < n; i++)
			if (!cmd[i])
				cmd[i] = ' ';
		cmd[n] = 0;
		if (strstr(cmd, tag) && kill((pid_t)pid, SIGKILL) == 0) {
			killed++;
			waitpid((pid_t)pid, NULL, WNOHANG);
		}
	}
	closedir(d);
	return killed;
}

/* spawn_opts.net_caps_only, between fork and exec: raw system calls only
 * (glibc's set*id would signal threads this child does not have). */
static int drop_to_net_caps(void)
{
	static const int keep[] = { CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE };
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
		d[0].effective |= 1u << keep[i];   /* all below 32 */
	d[0].permitted = d[0].inheritable = d[0].effective;
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || syscall(SYS_setgroups, 0, NULL) < 0 ||
	    syscall(SYS_setresgid, PROC_NOBODY, PROC_NOBODY, PROC_NOBODY) < 0 ||
	    syscall(SYS_setresuid, PROC_NOBODY, PROC_NOBODY, PROC_NOBODY) < 0 ||
	    syscall(SYS_capset, &h, d) < 0)
		return errno;
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, keep[i], 0, 0) < 0)
			return errno;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? errno : 0;
}

/* In the child between fork and exec: only async-signal-safe calls.
 * 0, or the errno of what failed. */
static int child_setup(const struct spawn_opts *o, int out_fd)
{
	int null = open("/dev/null", O_RDWR);
	if (null < 0)
		return errno;
	if (o && o->netns) {
		int fd = open(o->netns, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			return errno;
		close(fd);
	}
	dup2(null, 0);
	dup2(out_fd >= 0 ? out_fd : null, 1);
	dup2(out_fd >= 0 ? out_fd : null, 2);
	if (o && o->new_session)
		setsid();
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* Everything else above stderr is the daemon's (sockets, the database):
	 * closed at exec, except the one fd the child is meant to keep. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		for (int fd = 3; fd < 1024; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (o && o->keep_fd >= 0)
		fcntl(o->keep_fd, F_SETFD, 0);
	if (o && o->cwd && chdir(o->cwd) < 0)
		return errno;
	return o && o->net_caps_only ? drop_to_net_caps() : 0;
}

int proc_spawn(char *const argv[], const struct spawn_opts *o, pid_t *pid, struct err *e)
{
	int out_fd = -1;
	if (o && o->log_path) {
		out_fd = open(o->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (out_fd < 0)
			return err_set(e, -errno, "%s: %s", o->log_path, strerror(errno));
	}
	/* Build the environment before fork: the child may not allocate. */
	extern char **environ;
	size_t nenv = 0, nextra = 0;
	while (environ[nenv])
		nenv++;
	while (o && o->env && o->env[nextra])
		nextra++;
	char **envp = calloc(nenv + nextra + 1, sizeof *envp);
	if (!envp) {
		if (out_fd >= 0)
			close(out_fd);
		return err_set(e, -ENOMEM, "%s: out of memory", argv[0]);
	}
	size_t k = 0;
	for (size_t i = 0; i < nextra; i++)
		envp[k++] = (char *)o->env[i];
	for (size_t i = 0; i < nenv; i++) {
		bool shadowed = false;
		for (size_t j = 0; j < nextra && !shadowed; j++) {
			const char *eq = strchr(o->env[j], '=');
			size_t len = eq ? (size_t)(eq - o->env[j]) + 1 : strlen(o->env[j]);
			shadowed = !strncmp(environ[i], o->env[j], len);
		}
		if (!shadowed)
			envp[k++] = environ[i];
	}
	int errp[2];
	if (pipe2(errp, O_CLOEXEC) < 0) {
		free(envp);
		if (out_fd >= 0)
			close(out_fd);
		return err_set(e, -errno, "%s: pipe: %s", argv[0], strerror(errno));
	}
	pid_t p = fork();
	if (p == 0) {
		close(errp[0]);
		int err = child_setup(o, out_fd);
		if (err == 0) {
			execve(argv[0], argv, envp);
			err = errno;
		}
		if (write(errp[1], &err, sizeof err) < 0)
			_exit(127);
		_exit(127);
	}
	int saved = errno;
	close(errp[1]);
	free(envp);
	if (out_fd >= 0)
		close(out_fd);
	if (p < 0) {
		close(errp[0]);
		return err_set(e, -saved, "%s: fork: %s", argv[0], strerror(saved));
	}
	int child_err = 0;
	ssize_t n = read(errp[0], &child_err, sizeof child_err);
	close(errp[0]);
	if (n == (ssize_t)sizeof child_err) {
		waitpid(p, NULL, 0);
		return err_set(e, -child_err, "%s: %s", argv[0], strerror(child_err));
	}
	*pid = p;
	return 0;
}

int proc_run(char *const argv[], int timeout_ms, char *out, size_t outlen, struct err *e)
{
	int pp[2];
	if (pipe2(pp, O_CLOEXEC) < 0)
		return err_set(e, -errno, "%s: pipe: %s", argv[0], strerror(errno));
	pid_t pid = fork();
	if (pid == 0) {
		struct spawn_opts o = { .keep_fd = -1 };
		if (child_setup(&o, pp[1]) == 0)
			execv(argv[0], argv);
		_exit(127);
	}
	int saved = errno;
	close(pp[1]);
	if (pid < 0) {
		close(pp[0]);
		return err_set(e, -saved, "%s: fork: %s", argv[0], strerror(saved));
	}
	size_t have = 0;
	char sink[512];
	long long end = ms_now() + timeout_ms;
	bool timed_out = false;
	for (;;) {
		long long left = end - ms_now();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		struct pollfd pf = { .fd = pp[0], .events = POLLIN };
		int r = poll(&pf, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			timed_out = r == 0;
			break;
		}
		ssize_t n;
		if (out && have + 1 < outlen)
			n = read(pp[0], out + have, outlen - 1 - have);
		else
			n = read(pp[0], sink, sizeof sink);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out && have + 1 < outlen)
			have += (size_t)n;
	}
	close(pp[0]);
	if (out && outlen)
		out[have] = 0;
	if (timed_out)
		kill(pid, SIGKILL);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		return err_set(e, -ETIMEDOUT, "%s: no result within %d ms", argv[0], timeout_ms);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}
