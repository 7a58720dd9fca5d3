/*
 * How `nimbus vm run` starts a child for the `fork` verb (vm_fork in vm.h):
 * it runs itself again, `nimbus vm run` with the parent's own options, minus
 * its control socket, restore or incoming source and --paused, plus
 * `--restore DIR --control DIR/child-N.sock --paused`.  The child is its own
 * session, detached (a double fork: the parent never waits for it, and its
 * end leaves the child running); its console goes to DIR/child-N.console and
 * its stdin is /dev/null.  Ready once its control socket exists.
 */
#include "cli/vm_fork_child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_TIMEOUT_MS 10000

int vm_fork_ctx_init(struct vm_fork_ctx *f, int argc, char **argv)
{
	f->argc = argc;
	f->argv = calloc((size_t)argc + 1, sizeof *f->argv);
	if (!f->argv)
		return -ENOMEM;
	for (int i = 0; i < argc; i++)
		if (!(f->argv[i] = strdup(argv[i])))
			return -ENOMEM;
	return 0;
}

void vm_fork_ctx_free(struct vm_fork_ctx *f)
{
	for (int i = 0; f->argv && i < f->argc; i++)
		free(f->argv[i]);
	free(f->argv);
	f->argv = NULL;
}

/* The parent's own options that a child must not repeat: name, takes a value. */
static int dropped(const char *a)
{
	static const char *const with_value[] = { "--control", "--restore", "--incoming" };
	for (unsigned i = 0; i < 3; i++) {
		size_t n = strlen(with_value[i]);
		if (!strcmp(a, with_value[i]))
			return 2;
		if (!strncmp(a, with_value[i], n) && a[n] == '=')
			return 1;
	}
	return !strcmp(a, "--paused") ? 1 : 0;
}

int vm_fork_child_start(void *ctx, const char *dir, unsigned idx, struct vm_fork_child *out,
			struct err *err)
{
	struct vm_fork_ctx *f = ctx;
	snprintf(out->control, sizeof out->control, "%s/child-%u.sock", dir, idx);
	snprintf(out->console, sizeof out->console, "%s/child-%u.console", dir, idx);
	unlink(out->control);

	char **av = calloc((size_t)f->argc + 10, sizeof *av);
	if (!av)
		return err_set(err, -ENOMEM, "fork: out of memory");
	int n = 0;
	av[n++] = "nimbus";
	av[n++] = "vm";
	av[n++] = "run";
	for (int i = 1; i < f->argc; i++) {
		int d = dropped(f->argv[i]);
		if (d) {
			i += d - 1;
			continue;
		}
		av[n++] = f->argv[i];
	}
	av[n++] = "--restore";
	av[n++] = (char *)dir;
	av[n++] = "--control";
	av[n++] = out->control;
	av[n++] = "--paused";
	av[n] = NULL;

	int console = open(out->console, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int pfd[2];
	if (console < 0 || devnull < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		int e = errno;
		if (console >= 0)
			close(console);
		if (devnull >= 0)
			close(devnull);
		free(av);
		return err_set(err, -e, "fork: %s: %s", out->console, strerror(e));
	}
	pid_t mid = fork();
	if (mid == 0) {
		/* Only async-signal-safe calls until exec. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		pid_t pid = fork();
		if (pid == 0) {
			dup2(devnull, 0);
			dup2(console, 1);
			dup2(console, 2);
			execv("/proc/self/exe", av);
			_exit(127);
		}
		ssize_t w = write(pfd[1], &pid, sizeof pid);
		_exit(w == sizeof pid ? 0 : 1);
	}
	close(pfd[1]);
	close(console);
	close(devnull);
	free(av);
	pid_t pid = -1;
	if (mid > 0) {
		waitpid(mid, NULL, 0);
		if (read(pfd[0], &pid, sizeof pid) != sizeof pid)
			pid = -1;
	}
	close(pfd[0]);
	if (pid <= 0)
		return err_set(err, -EAGAIN, "fork: cannot start child %u", idx);
	out->pid = (int)pid;

	/* Ready when its control socket is there; gone early means it failed. */
	struct timespec step = { 0, 2000000 };
	for (int waited = 0; waited < READY_TIMEOUT_MS; waited += 2) {
		struct stat st;
		if (stat(out->control, &st) == 0)
			return 0;
		if (kill(pid, 0) < 0)
			break;
		nanosleep(&step, NULL);
	}
	return err_set(err, -EIO, "fork: child %u did not start (see %s)", idx, out->console);
}
