/*
 * How `nimbus vm run` starts a child for the `fork` verb (vm_fork in vm.h):
 * it runs itself again, `nimbus vm run` with the parent's own options, minus
 * its control socket, restore or incoming source, --fork-child and --paused,
 * plus `--restore DIR --fork-child N --control DIR/child-N.sock`, and
 * `--paused` unless the fork asked for running children, and, given the
 * fork's memory image, `--fork-memory-fd 3` with the image on descriptor 3
 * (dup2 in the child: the parent's stays close-on-exec), so the child maps
 * it before the parent has written DIR/memory, and with a diff over it
 * `--fork-memory-diff-fd 4` likewise.
 * The child is its own session, detached (its parent's end leaves it
 * running); its console goes to DIR/child-N.console and its stdin is
 * /dev/null.  posix_spawn, not fork: the parent is a VMM with hundreds of
 * MiB mapped, and copying its page tables cost ~3 ms a child.  So the
 * children are this process's own: each fork reaps those that ended since.  Ready once its control socket exists.  All the
 * children are started before any is waited for, so their start-ups overlap.
 */
#include "cli/vm_fork_child.h"
#include "lib/tmark.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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
	static const char *const with_value[] = { "--control", "--restore", "--incoming",
						  "--fork-child", "--fork-memory-fd",
						  "--fork-memory-diff-fd" };
	for (unsigned i = 0; i < 6; i++) {
		size_t n = strlen(with_value[i]);
		if (!strcmp(a, with_value[i]))
			return 2;
		if (!strncmp(a, with_value[i], n) && a[n] == '=')
			return 1;
	}
	return !strcmp(a, "--paused") ? 1 : 0;
}

/* The descriptors a child finds the fork's memory image and diff on. */
#define CHILD_IMAGE_FD 3
#define CHILD_DIFF_FD 4

/* Starts child idx, detached: its pid into out (-1 on failure). */
static int spawn(const struct vm_fork_ctx *f, const char *dir, unsigned idx, bool running,
		 int image, int diff, struct vm_fork_child *out, struct err *err)
{
	char index[16];
	snprintf(index, sizeof index, "%u", idx);
	snprintf(out->control, sizeof out->control, "%s/child-%u.sock", dir, idx);
	snprintf(out->console, sizeof out->console, "%s/child-%u.console", dir, idx);
	out->pid = -1;
	unlink(out->control);

	char **av = calloc((size_t)f->argc + 12, sizeof *av);
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
	av[n++] = "--fork-child";
	av[n++] = index;
	av[n++] = "--control";
	av[n++] = out->control;
	char image_fd[16], diff_fd[16];
	snprintf(image_fd, sizeof image_fd, "%d", CHILD_IMAGE_FD);
	snprintf(diff_fd, sizeof diff_fd, "%d", CHILD_DIFF_FD);
	if (image >= 0) {
		av[n++] = "--fork-memory-fd";
		av[n++] = image_fd;
	}
	if (image >= 0 && diff >= 0) {
		av[n++] = "--fork-memory-diff-fd";
		av[n++] = diff_fd;
	}
	if (!running)
		av[n++] = "--paused";
	av[n] = NULL;

	int console = open(out->console, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	sigemptyset(&none);
	int rc = console < 0 || devnull < 0 ? errno : 0;
	if (!rc && !(rc = posix_spawn_file_actions_init(&fa))) {
		if (!(rc = posix_spawnattr_init(&at))) {
			/* A session of its own: the parent's end, or a signal to its
			 * group, leaves it running. */
			if (!(rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID |
								 POSIX_SPAWN_SETSIGMASK)) &&
			    !(rc = posix_spawnattr_setsigmask(&at, &none)) &&
			    !(rc = posix_spawn_file_actions_adddup2(&fa, devnull, 0)) &&
			    !(rc = posix_spawn_file_actions_adddup2(&fa, console, 1)) &&
			    !(rc = posix_spawn_file_actions_adddup2(&fa, console, 2)) &&
			    !(rc = image < 0 ? 0 : posix_spawn_file_actions_adddup2(&fa, image,
										CHILD_IMAGE_FD)) &&
			    !(rc = image < 0 || diff < 0 ? 0 :
				   posix_spawn_file_actions_adddup2(&fa, diff, CHILD_DIFF_FD))) {
				pid_t pid;
				if (!(rc = posix_spawn(&pid, "/proc/self/exe", &fa, &at, av, environ)))
					out->pid = (int)pid;
			}
			posix_spawnattr_destroy(&at);
		}
		posix_spawn_file_actions_destroy(&fa);
	}
	if (console >= 0)
		close(console);
	if (devnull >= 0)
		close(devnull);
	free(av);
	if (rc)
		return err_set(err, -rc, "fork: cannot start child %u: %s", idx, strerror(rc));
	return 0;
}

/* Whether a Unix socket at path takes connections: its file appears at
 * bind(), before listen(), and a client connecting in between is refused
 * (a child's first `vm control` right after the fork's reply was). */
static bool listening(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return true;   /* cannot probe: its file is all there is to go by */
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return true;
	int r = connect(fd, (const struct sockaddr *)&sa, sizeof sa), e = errno;
	close(fd);
	return r == 0 || e == EAGAIN;   /* EAGAIN: listening, its backlog full */
}

/* Children of earlier forks that have ended: gone from the process table
 * (nothing else here has children to wait for). */
static void reap_ended(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int vm_fork_children_start(void *ctx, const char *dir, unsigned n, bool running, int image,
			   int diff, struct vm_fork_child *out, unsigned *started, struct err *err)
{
	const struct vm_fork_ctx *f = ctx;
	*started = 0;
	/* All at once: each child's start-up (a restore) overlaps the others'. */
	unsigned spawned = 0;
	int rc = 0;
	reap_ended();
	while (spawned < n && !(rc = spawn(f, dir, spawned, running, image, diff, &out[spawned], err)))
		spawned++;
	tmark("fork: children started");
	/* Ready when its control socket listens; gone early means it failed.
	 * The ready ones come first in out[]: one that failed ends the list. */
	struct timespec step = { 0, 1000000 };
	bool ended = false;
	for (int waited = 0; *started < spawned && waited < READY_TIMEOUT_MS; ) {
		struct stat st;
		struct vm_fork_child *c = &out[*started];
		if (stat(c->control, &st) == 0 && listening(c->control)) {
			(*started)++;
			continue;
		}
		if ((ended = waitpid(c->pid, NULL, WNOHANG) != 0))   /* reaped (or not ours) */
			break;
		nanosleep(&step, NULL);
		waited++;
	}
	if (*started < spawned) {
		/* Those not in the reply (the one too slow and the ones after
		 * it): nobody would know of them, so they go. */
		for (unsigned i = *started + ended; i < spawned; i++) {
			kill(out[i].pid, SIGKILL);
			waitpid(out[i].pid, NULL, 0);
		}
		return err_set(err, -EIO, "fork: child %u did not start (see %s)", *started,
			       out[*started].console);
	}
	return rc;
}
