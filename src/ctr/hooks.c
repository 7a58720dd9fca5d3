/* See hooks.h. */
#include "ctr/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctr/util.h"

const char *hook_kind_name(int kind)
{
	static const char *n[HOOK_KINDS] = { "prestart", "createRuntime", "createContainer",
					     "startContainer", "poststart", "poststop" };
	return n[kind];
}

static int run_one(const struct oci_hook *h, const char *json, const char *what, struct err *e)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_set(e, -errno, "%s: pipe: %s", what, strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return err_set(e, -errno, "%s: fork: %s", what, strerror(errno));
	}
	if (pid == 0) {
		dup2(p[0], 0);
		close_range(3, ~0U, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		char *def_args[] = { (char *)h->path, NULL };
		char *no_env[] = { NULL };
		execve(h->path, h->args ? h->args : def_args, h->env ? h->env : no_env);
		dprintf(2, "nimbus-runtime: %s: exec %s: %s\n", what, h->path, strerror(errno));
		_exit(127);
	}
	close(p[0]);
	write_all(p[1], json, strlen(json));   /* EPIPE: the hook ignored stdin */
	close(p[1]);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int status;
	for (long us = 50;;) {
		pid_t r = waitpid(pid, &status, h->timeout ? WNOHANG : 0);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return err_set(e, -errno, "%s: waitpid: %s", what, strerror(errno));
		if (r == 0) {
			struct timespec t1;
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if (t1.tv_sec - t0.tv_sec >= h->timeout) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				return err_set(e, -ETIMEDOUT, "%s: %s timed out after %d s", what,
					       h->path, h->timeout);
			}
			struct timespec ts = { 0, us * 1000 };
			nanosleep(&ts, NULL);
			if (us < 20000)
				us *= 2;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return err_set(e, -EIO, "%s: %s exited with status %d", what, h->path,
			       WEXITSTATUS(status));
	return err_set(e, -EIO, "%s: %s killed by signal %d", what, h->path, WTERMSIG(status));
}

int hooks_run(const struct oci_config *c, int kind, const char *json, struct err *e)
{
	for (size_t i = 0; i < c->nhooks[kind]; i++) {
		char what[64];
		snprintf(what, sizeof what, "hooks.%s[%zu]", hook_kind_name(kind), i);
		int rc = run_one(&c->hooks[kind][i], json, what, e);
		if (rc)
			return rc;
	}
	return 0;
}
