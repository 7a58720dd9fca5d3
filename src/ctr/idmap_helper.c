/* See idmap_helper.h. */
#include "ctr/idmap_helper.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int idmap_helper_run(const char *helper, pid_t pid, const struct oci_idmap *m, size_t n,
		     struct err *e)
{
	/* argv: helper, pid, 3 numbers per range, NULL; each number fits 12 bytes
	 * and argv[k] (k >= 1) lives at nums + 12 * k. */
	char **argv = calloc(3 * n + 3, sizeof *argv);
	char *nums = calloc(3 * n + 2, 12);
	if (!argv || !nums) {
		free(argv);
		free(nums);
		return err_set(e, -ENOMEM, "%s: out of memory", helper);
	}
	size_t k = 0;
	argv[k++] = (char *)helper;
	argv[k] = nums + 12 * k;
	snprintf(argv[k++], 12, "%d", (int)pid);
	for (size_t i = 0; i < n; i++) {
		const unsigned v[3] = { m[i].ctr, m[i].host, m[i].size };
		for (int j = 0; j < 3; j++, k++) {
			argv[k] = nums + 12 * k;
			snprintf(argv[k], 12, "%u", v[j]);
		}
	}
	int err[2] = { -1, -1 }, rc = 0;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (pipe2(err, O_CLOEXEC) == 0) {
		posix_spawn_file_actions_adddup2(&fa, err[1], 2);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	}
	pid_t child;
	int sp = posix_spawnp(&child, helper, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err[1] >= 0)
		close(err[1]);
	if (sp) {
		rc = sp == ENOENT ? -ENOENT : err_set(e, -sp, "%s: %s", helper, strerror(sp));
		goto out;
	}
	char why[256] = "";
	ssize_t got = err[0] >= 0 ? read(err[0], why, sizeof why - 1) : -1;
	why[got > 0 ? got : 0] = 0;
	why[strcspn(why, "\n")] = 0;
	int st;
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		rc = err_set(e, -EPERM, "%s %d: %s", helper, (int)pid,
			     why[0] ? why : "failed (is the range in /etc/subuid or /etc/subgid?)");
out:
	if (err[0] >= 0)
		close(err[0]);
	free(argv);
	free(nums);
	return rc;
}
