/* See process.h. */
#include "ctr/process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctr/caps.h"
#include "ctr/seccomp.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static bool is_exe(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

int proc_find_exe(const struct oci_process *p, char *out, size_t n, struct err *e)
{
	const char *a0 = p->args[0];
	if (strchr(a0, '/')) {
		char full[PATH_MAX];
		if (a0[0] != '/')
			snprintf(full, sizeof full, "%s/%s", p->cwd, a0);
		else
			snprintf(full, sizeof full, "%s", a0);
		struct stat st;
		if (stat(full, &st) < 0)
			return err_set(e, -ENOENT, "exec: \"%s\": stat %s: no such file or directory",
				       a0, full);
		if (!S_ISREG(st.st_mode) || access(full, X_OK) < 0)
			return err_set(e, -EACCES, "exec: \"%s\": permission denied", a0);
		snprintf(out, n, "%s", a0);
		return 0;
	}
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (size_t i = 0; i < p->nenv; i++)
		if (!strncmp(p->env[i], "PATH=", 5))
			path = p->env[i] + 5;
	const char *s = path;
	for (;;) {
		const char *end = strchrnul(s, ':');
		char cand[PATH_MAX];
		snprintf(cand, sizeof cand, "%.*s/%s", (int)(end - s), end == s ? "." : s, a0);
		if (is_exe(cand)) {
			snprintf(out, n, "%s", cand);
			return 0;
		}
		if (!*end)
			break;
		s = end + 1;
	}
	return err_set(e, -ENOENT, "exec: \"%s\": executable file not found in $PATH", a0);
}

int proc_exec(const struct oci_process *p, void *seccomp, int preserve_fds, const char *exe,
	      struct err *e)
{
	int rc;
	/* Without no_new_privs the filter must go in while CAP_SYS_ADMIN is held. */
	if (!p->nnp && (rc = seccomp_apply(seccomp, e)))
		return rc;
	if (p->caps.set) {
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			return err_set(e, -errno, "PR_SET_KEEPCAPS: %s", strerror(errno));
		if ((rc = caps_drop_bounding(&p->caps, e)))
			return rc;
	}
	if (setgroups(p->ngids, p->gids) < 0 && errno != EPERM)
		return err_set(e, -errno, "setgroups: %s", strerror(errno));
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return err_set(e, -errno, "process.user.gid %u: %s", p->gid, strerror(errno));
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return err_set(e, -errno, "process.user.uid %u: %s", p->uid, strerror(errno));
	if (p->caps.set) {
		if ((rc = caps_set(&p->caps, e)))
			return rc;
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	}
	if (chdir(p->cwd) < 0)
		return err_set(e, -errno, "process.cwd %s: %s", p->cwd, strerror(errno));
	umask(p->has_umask ? p->umask : 022);
	if (p->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_set(e, -errno, "no_new_privileges: %s", strerror(errno));
	if (p->nnp && (rc = seccomp_apply(seccomp, e)))
		return rc;
	if (close_range(3 + (unsigned)preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		/* Pre-5.11 kernels: mark them one by one. */
		for (int fd = 3 + preserve_fds; fd < 4096; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	char *noenv[] = { NULL };
	execve(exe, p->args, p->env ? p->env : noenv);
	int err = errno;
	if (err == ENOENT)
		return err_set(e, -err, "exec: \"%s\": no such file or directory", p->args[0]);
	if (err == EACCES)
		return err_set(e, -err, "exec: \"%s\": permission denied", p->args[0]);
	return err_set(e, -err, "exec: \"%s\": %s", p->args[0], strerror(err));
}
