/*
 * Lifecycle operations; see container.h for the process structure.  Failure
 * anywhere in create leaves nothing behind: the init is killed, the cgroup
 * and the state directory removed, before the error is returned.
 */
#include "ctr/container.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctr/console.h"
#include "ctr/hooks.h"
#include "ctr/ns.h"
#include "ctr/process.h"
#include "ctr/rlimits.h"
#include "ctr/rootfs.h"
#include "ctr/seccomp.h"
#include "ctr/util.h"

enum { SYNC_GO = 1, SYNC_USERMAP, SYNC_USERMAP_DONE, SYNC_PID, SYNC_HOOKS, SYNC_HOOKS_DONE,
       SYNC_READY, SYNC_ERROR, SYNC_START };

struct sync_msg {
	int type;
	int val;
	char text[8192];
};

static int sync_send(int fd, int type, int val, const char *text)
{
	struct sync_msg m = { .type = type, .val = val };
	size_t len = offsetof(struct sync_msg, text);
	if (text) {
		snprintf(m.text, sizeof m.text, "%s", text);
		len += strlen(m.text) + 1;
	}
	for (;;) {
		ssize_t w = send(fd, &m, len, MSG_NOSIGNAL);
		if (w >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* 0, or -EPIPE on EOF (peer exited or exec'd). */
static int sync_recv(int fd, struct sync_msg *m)
{
	for (;;) {
		memset(m, 0, offsetof(struct sync_msg, text) + 1);
		ssize_t r = recv(fd, m, sizeof *m, 0);
		if (r > 0) {
			((char *)m)[r < (ssize_t)sizeof *m ? r : (ssize_t)sizeof *m - 1] = 0;
			return 0;
		}
		if (r == 0)
			return -EPIPE;
		if (errno != EINTR)
			return -errno;
	}
}

/* NIMBUS_TIMING=1 prints a timestamp per setup step to stderr. */
static void tmark(const char *what)
{
	if (!getenv("NIMBUS_TIMING"))
		return;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	dprintf(2, "[%d] %ld.%06ld %s\n", (int)getpid(), (long)t.tv_sec % 1000, t.tv_nsec / 1000, what);
}

static void child_fail(int sync, struct err *e)
{
	sync_send(sync, SYNC_ERROR, e->code, e->msg);
	_exit(1);
}

static const int fwd_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH,
				   SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGALRM, SIGPIPE };

static void block_signals(sigset_t *old)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGCHLD);
	for (size_t i = 0; i < sizeof fwd_signals / sizeof fwd_signals[0]; i++)
		sigaddset(&s, fwd_signals[i]);
	sigprocmask(SIG_BLOCK, &s, old);
}

int ctr_wait_forward(pid_t pid)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGCHLD);
	for (size_t i = 0; i < sizeof fwd_signals / sizeof fwd_signals[0]; i++)
		sigaddset(&s, fwd_signals[i]);
	sigprocmask(SIG_BLOCK, &s, NULL);
	for (;;) {
		int st;
		pid_t r;
		while ((r = waitpid(-1, &st, WNOHANG)) > 0)
			if (r == pid)
				return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0 && errno == ECHILD)
			return 255;
		siginfo_t si;
		int sig = sigwaitinfo(&s, &si);
		if (sig > 0 && sig != SIGCHLD)
			kill(pid, sig);
	}
}

/* Foreground `run` of a process that wants a terminal but got no
 * --console-socket: we hold the pty master and copy between it and our own
 * stdio (our terminal in raw mode), forwarding signals and window size. */
static int relay_wait(pid_t pid, int master)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGCHLD);
	for (size_t i = 0; i < sizeof fwd_signals / sizeof fwd_signals[0]; i++)
		sigaddset(&s, fwd_signals[i]);
	sigprocmask(SIG_BLOCK, &s, NULL);
	int sfd = signalfd(-1, &s, SFD_CLOEXEC);
	struct termios saved, raw;
	bool tty = isatty(0) && tcgetattr(0, &saved) == 0;
	if (tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
		struct winsize ws;
		if (ioctl(0, TIOCGWINSZ, &ws) == 0)
			ioctl(master, TIOCSWINSZ, &ws);
	}
	int status = -1;
	bool in_open = true;
	char buf[8192];
	while (status < 0) {
		struct pollfd pf[3] = { { master, POLLIN, 0 }, { sfd, POLLIN, 0 },
					{ in_open ? 0 : -1, POLLIN, 0 } };
		if (poll(pf, 3, -1) < 0 && errno != EINTR)
			break;
		if (pf[0].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(master, buf, sizeof buf);
			if (n > 0)
				write_all(1, buf, (size_t)n);
		}
		if (pf[2].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(0, buf, sizeof buf);
			if (n > 0)
				write_all(master, buf, (size_t)n);
			else
				in_open = false;
		}
		if (pf[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) != sizeof si)
				continue;
			if (si.ssi_signo == SIGWINCH && tty) {
				struct winsize ws;
				if (ioctl(0, TIOCGWINSZ, &ws) == 0)
					ioctl(master, TIOCSWINSZ, &ws);
			} else if (si.ssi_signo != SIGCHLD) {
				kill(pid, (int)si.ssi_signo);
			}
			int st;
			pid_t r;
			while ((r = waitpid(-1, &st, WNOHANG)) > 0)
				if (r == pid)
					status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
	}
	/* Drain what the process wrote last. */
	for (;;) {
		struct pollfd pf = { master, POLLIN, 0 };
		ssize_t n;
		if (poll(&pf, 1, 0) <= 0 || (n = read(master, buf, sizeof buf)) <= 0)
			break;
		write_all(1, buf, (size_t)n);
	}
	if (tty)
		tcsetattr(0, TCSANOW, &saved);
	close(sfd);
	return status < 0 ? 255 : status;
}

/* fork(), but born inside the container's cgroup2 directory when there is
 * one (clone3 CLONE_INTO_CGROUP, Linux 5.7): moving a task between cgroup2
 * cgroups afterwards waits for an RCU grace period, several milliseconds.
 * *in_unified tells whether that worked. */
static pid_t fork_into(const struct cgroup *cg, bool *in_unified)
{
	*in_unified = false;
	if (cg->unified[0]) {
		char d[PATH_MAX + 256];
		cg_v2_dir(cg, d, sizeof d);
		int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			struct clone_args ca;
			memset(&ca, 0, sizeof ca);
			ca.flags = CLONE_INTO_CGROUP;
			ca.exit_signal = SIGCHLD;
			ca.cgroup = (uint64_t)fd;
			long pid = syscall(SYS_clone3, &ca, sizeof ca);
			int err = errno;
			close(fd);
			if (pid >= 0) {
				*in_unified = true;
				return (pid_t)pid;
			}
			errno = err;
		}
	}
	return fork();
}

/* ---------------------------------------------------------------- create */

struct child_args {
	const struct oci_config *c;
	const struct oci_process *p;
	const char *rootfs, *bundle;
	bool no_pivot, exec_mode, run, new_keyring;
	int sync, fifo, console, preserve_fds;
	void *seccomp;
	const struct cgroup *cg;
	sigset_t oldmask;
	int nsfds[NS_COUNT];
	int rootfd;           /* exec: the container's root directory */
};

static int apply_sysctl(const struct oci_config *c, struct err *e)
{
	for (size_t i = 0; i < c->nsysctl; i++) {
		char path[PATH_MAX];
		int l = snprintf(path, sizeof path, "/proc/sys/%s", c->sysctl[i].key);
		for (int k = 10; k < l; k++)
			if (path[k] == '.')
				path[k] = '/';
		int rc = write_str(path, c->sysctl[i].value);
		if (rc)
			return err_set(e, rc, "linux.sysctl %s=%s: %s", c->sysctl[i].key,
				       c->sysctl[i].value, strerror(-rc));
	}
	return 0;
}

static int set_oom_score(const struct oci_process *p, struct err *e)
{
	if (!p->has_oom)
		return 0;
	char cur[16], v[16];
	snprintf(v, sizeof v, "%d", p->oom_score_adj);
	if (read_small("/proc/self/oom_score_adj", cur, sizeof cur) == 0 && !strcmp(cur, v))
		return 0;
	int rc = write_str("/proc/self/oom_score_adj", v);
	if (rc)
		return err_set(e, rc, "process.oomScoreAdj %d: %s", p->oom_score_adj, strerror(-rc));
	return 0;
}

/* Closes every descriptor from `from` up except those in keep[]: the
 * container must not hold the caller's pipes (conmon's, a shell's $(...))
 * while it waits for `start`. */
static void close_fds_except(int from, const int *keep, int n)
{
	int lo = from;
	for (;;) {
		int next = -1;
		for (int i = 0; i < n; i++)
			if (keep[i] >= lo && (next < 0 || keep[i] < next))
				next = keep[i];
		if (next < 0) {
			close_range((unsigned)lo, ~0U, 0);
			return;
		}
		if (next > lo)
			close_range((unsigned)lo, (unsigned)next - 1, 0);
		lo = next + 1;
	}
}

/* The container's init: set up, report READY, wait for start, exec. */
static __attribute__((noreturn)) void child_init(struct child_args *a)
{
	struct err e = { 0 };
	const struct oci_config *c = a->c;
	int rc;
	char state_json[8192] = "";
	/* No PR_SET_PDEATHSIG: with CLONE_PARENT it would follow C1, which
	 * exits at once.  A vanished runtime shows as EOF on the sync socket. */
	setsid();
	int keep[] = { a->sync, a->fifo, a->console };
	close_fds_except(3 + a->preserve_fds, keep, 3);
	/* A session keyring of its own, so containers do not share keys with
	 * the runtime's caller or each other (--no-new-keyring keeps it). */
	if (a->new_keyring && syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, NULL) < 0 &&
	    errno != ENOSYS && errno != EPERM && errno != EACCES && errno != EDQUOT) {
		err_set(&e, -errno, "creating the session keyring: %s", strerror(errno));
		child_fail(a->sync, &e);
	}
	struct rootfs_ctx r = { .c = c, .rootfs = a->rootfs, .bundle = a->bundle,
				.no_pivot = a->no_pivot, .userns = c->ns[NS_USER].want,
				.cgroupns = c->ns[NS_CGROUP].want, .cg = a->cg, .cwd = a->p->cwd };
	bool own_mounts = c->ns[NS_MNT].want;
	if (own_mounts && (rc = rootfs_prepare(&r, &e)))
		child_fail(a->sync, &e);
	tmark("c2 prepared");
	bool pre_hooks = c->nhooks[HOOK_PRESTART] || c->nhooks[HOOK_CREATE_RUNTIME] ||
			 c->nhooks[HOOK_CREATE_CONTAINER] || c->nhooks[HOOK_START_CONTAINER];
	if (pre_hooks) {
		struct sync_msg m;
		sync_send(a->sync, SYNC_HOOKS, 0, NULL);
		if (sync_recv(a->sync, &m) || m.type != SYNC_HOOKS_DONE)
			_exit(1);
		snprintf(state_json, sizeof state_json, "%s", m.text);
		if ((rc = hooks_run(c, HOOK_CREATE_CONTAINER, state_json, &e)))
			child_fail(a->sync, &e);
	}
	/* sysctls go in before readonlyPaths makes /proc/sys read-only; in
	 * the runtime's mount namespace, before chroot hides /proc. */
	if (own_mounts && ((rc = rootfs_pivot(&r, &e)) || (rc = apply_sysctl(c, &e)) ||
			   (rc = rootfs_finish(&r, &e))))
		child_fail(a->sync, &e);
	if (!own_mounts && ((rc = apply_sysctl(c, &e)) || (rc = rootfs_chroot(&r, &e))))
		child_fail(a->sync, &e);
	tmark("c2 pivoted");
	if (c->hostname && *c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0) {
		err_set(&e, -errno, "hostname %s: %s", c->hostname, strerror(errno));
		child_fail(a->sync, &e);
	}
	if (c->domainname && *c->domainname &&
	    setdomainname(c->domainname, strlen(c->domainname)) < 0) {
		err_set(&e, -errno, "domainname %s: %s", c->domainname, strerror(errno));
		child_fail(a->sync, &e);
	}
	if (a->p->terminal && a->console >= 0) {
		if ((rc = console_setup(a->console, a->p->cons_h, a->p->cons_w, &e)))
			child_fail(a->sync, &e);
		close(a->console);
	}
	if (c->personality.set && personality((unsigned long)c->personality.v) < 0) {
		err_set(&e, -errno, "linux.personality: %s", strerror(errno));
		child_fail(a->sync, &e);
	}
	if ((rc = set_oom_score(a->p, &e)) || (rc = rlimits_apply(a->p, &e)))
		child_fail(a->sync, &e);
	char exe[PATH_MAX];
	if ((rc = proc_find_exe(a->p, exe, sizeof exe, &e)))
		child_fail(a->sync, &e);
	tmark("c2 ready");
	if (a->fifo < 0) {
		/* run: stay tied to the runtime until it says start. */
		sync_send(a->sync, SYNC_READY, 0, NULL);
		struct sync_msg m;
		if (sync_recv(a->sync, &m) || m.type != SYNC_START)
			_exit(1);
	} else {
		sync_send(a->sync, SYNC_READY, 0, NULL);
		char b;
		ssize_t n;
		do
			n = read(a->fifo, &b, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			_exit(1);
		close(a->fifo);
	}
	if (c->nhooks[HOOK_START_CONTAINER] &&
	    (rc = hooks_run(c, HOOK_START_CONTAINER, state_json, &e))) {
		if (a->fifo >= 0)   /* after `start` nobody reads the sync socket */
			dprintf(2, "nimbus-runtime: %s\n", e.msg);
		child_fail(a->sync, &e);
	}
	proc_exec(a->p, a->seccomp, a->preserve_fds, exe, &e);
	if (a->fifo >= 0)
		dprintf(2, "nimbus-runtime: %s\n", e.msg);
	sync_send(a->sync, SYNC_ERROR, e.code, e.msg);
	_exit(e.code == -ENOENT ? 127 : 126);
}

/* An exec'd process: already in every namespace; finish and exec. */
static __attribute__((noreturn)) void child_exec(struct child_args *a)
{
	struct err e = { 0 };
	int rc;
	if (a->p->terminal) {
		setsid();
		if (a->console >= 0 && (rc = console_setup(a->console, a->p->cons_h, a->p->cons_w, &e)))
			child_fail(a->sync, &e);
		if (a->console >= 0)
			close(a->console);
	}
	if ((rc = set_oom_score(a->p, &e)) || (rc = rlimits_apply(a->p, &e)))
		child_fail(a->sync, &e);
	char exe[PATH_MAX];
	if (chdir(a->p->cwd) < 0) {
		err_set(&e, -errno, "process.cwd %s: %s", a->p->cwd, strerror(errno));
		child_fail(a->sync, &e);
	}
	if ((rc = proc_find_exe(a->p, exe, sizeof exe, &e)))
		child_fail(a->sync, &e);
	sync_send(a->sync, SYNC_READY, 0, NULL);
	proc_exec(a->p, a->seccomp, a->preserve_fds, exe, &e);
	sync_send(a->sync, SYNC_ERROR, e.code, e.msg);
	_exit(e.code == -ENOENT ? 127 : 126);
}

static __attribute__((noreturn)) void child_setup(struct child_args *a)
{
	struct err e = { 0 };
	struct sync_msg m;
	int rc;
	sigprocmask(SIG_SETMASK, &a->oldmask, NULL);
	if (sync_recv(a->sync, &m) || m.type != SYNC_GO)
		_exit(1);
	tmark("c1 go");
	if (a->exec_mode) {
		if ((rc = ns_join(a->nsfds, &e)))
			child_fail(a->sync, &e);
		if (fchdir(a->rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0) {
			err_set(&e, -errno, "entering the container's root: %s", strerror(errno));
			child_fail(a->sync, &e);
		}
		close(a->rootfd);
	} else {
		const struct oci_config *c = a->c;
		if ((rc = ns_join(a->nsfds, &e)))
			child_fail(a->sync, &e);
		if (c->ns[NS_USER].want && !c->ns[NS_USER].path) {
			if (unshare(CLONE_NEWUSER) < 0) {
				err_set(&e, -errno, "creating the user namespace: %s", strerror(errno));
				child_fail(a->sync, &e);
			}
			sync_send(a->sync, SYNC_USERMAP, 0, NULL);
			if (sync_recv(a->sync, &m) || m.type != SYNC_USERMAP_DONE)
				_exit(1);
		}
		if (c->ns[NS_USER].want) {
			if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
				err_set(&e, -errno, "becoming root in the user namespace (is 0 mapped?): %s",
					strerror(errno));
				child_fail(a->sync, &e);
			}
		}
		int flags = ns_unshare_flags(c);
		if (flags && unshare(flags) < 0) {
			err_set(&e, -errno, "unshare(0x%x): %s", flags, strerror(errno));
			child_fail(a->sync, &e);
		}
	}
	tmark("c1 unshared");
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0) {
		err_set(&e, -errno, "clone: %s", strerror(errno));
		child_fail(a->sync, &e);
	}
	if (pid == 0) {
		if (a->exec_mode)
			child_exec(a);
		child_init(a);
	}
	sync_send(a->sync, SYNC_PID, pid, NULL);
	_exit(0);
}

static int write_pid_file(const char *path, pid_t pid, struct err *e)
{
	if (!path)
		return 0;
	char v[32];
	snprintf(v, sizeof v, "%d", (int)pid);
	int rc = write_atomic(path, v, strlen(v), 0644);
	if (rc)
		return err_set(e, rc, "--pid-file %s: %s", path, strerror(-rc));
	return 0;
}

static char *annotations_json(const struct oci_config *c)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(c->root, "annotations");
	return cJSON_IsObject(a) ? cJSON_PrintUnformatted(a) : NULL;
}

static void warn_lsm(const struct ctr_ctx *x, const struct oci_process *p)
{
	if (p->apparmor && *p->apparmor && access("/sys/kernel/security/apparmor", F_OK) != 0)
		log_msg(x->log, LOG_WARN, "apparmor profile %s ignored: AppArmor is not enabled on this host",
			p->apparmor);
	else if (p->apparmor && *p->apparmor)
		log_msg(x->log, LOG_WARN, "apparmor profile %s ignored: not supported by nimbus-runtime",
			p->apparmor);
	if (p->selinux && *p->selinux)
		log_msg(x->log, LOG_WARN, "selinux label %s ignored: %s", p->selinux,
			access("/sys/fs/selinux/enforce", F_OK) == 0 ? "not supported by nimbus-runtime"
								   : "SELinux is not enabled on this host");
	if (p->warn[0])
		log_msg(x->log, LOG_WARN, "%s", p->warn);
}

/* Waits (up to ~2 s) for pid to be gone or a zombie. */
static void wait_gone(pid_t pid, unsigned long long start)
{
	for (int i = 0; i < 400; i++) {
		unsigned long long st;
		char s;
		if (proc_stat(pid, &st, &s) || st != start || s == 'Z' || s == 'X')
			return;
		struct timespec ts = { 0, i < 20 ? 100000 : 5000000 };
		nanosleep(&ts, NULL);
	}
}

int ctr_create(const struct ctr_ctx *x, const struct create_opts *o, int *exit_status,
	       struct err *e)
{
	struct oci_config c;
	struct cgroup cg = { 0 };
	struct ctr_state st = { 0 };
	void *filter = NULL;
	int rc, sv[2] = { -1, -1 }, fifo = -1, console = -1, cpair[2] = { -1, -1 }, master = -1;
	pid_t pid1 = -1, pid2 = -1;
	bool made_state = false, made_cg = false;
	char bundle[PATH_MAX], sdir[PATH_MAX], fifo_path[PATH_MAX + 16];
	sigset_t oldmask;
	int nsfds[NS_COUNT];
	for (int i = 0; i < NS_COUNT; i++)
		nsfds[i] = -1;
	memset(&c, 0, sizeof c);

	if (!realpath(o->bundle, bundle))
		return err_set(e, -EINVAL, "--bundle %s: %s", o->bundle, strerror(errno));
	if ((rc = state_dir(x->root, o->id, sdir, sizeof sdir, e)))
		return rc;
	if ((rc = config_load(&c, bundle, e)))
		return rc;
	if (!c.has_process) {
		rc = err_set(e, -EINVAL, "config.json: process: required to create a container");
		goto out;
	}
	if (!c.ns[NS_MNT].want && (c.nmounts || c.ndevices || c.nmasked || c.nreadonly || c.root_ro))
		log_msg(x->log, LOG_WARN,
			"mounts, linux.devices, maskedPaths, readonlyPaths and root.readonly ignored: "
			"there is no mount namespace in linux.namespaces, and they would change the host's mounts");
	struct stat sb;
	if (stat(c.root_abs, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		rc = err_set(e, -ENOENT, "config.json: root.path: %s is not a directory", c.root_abs);
		goto out;
	}
	if ((rc = seccomp_build(c.seccomp, &filter, e)))
		goto out;
	warn_lsm(x, &c.proc);
	if ((rc = ns_open_paths(&c, nsfds, e)))
		goto out;
	if ((rc = cg_detect(&cg, e)) ||
	    (rc = cg_resolve_path(c.cgroups_path, o->id, x->systemd_cgroup, cg.path, sizeof cg.path, e)))
		goto out;
	if ((rc = state_create(x->root, o->id, e)))
		goto out;
	made_state = true;
	tmark("p start");
	/* Record intent before acting: if we are killed from here on, the
	 * state names the cgroup, so `delete --force` finds and removes it. */
	snprintf(st.id, sizeof st.id, "%s", o->id);
	snprintf(st.bundle, sizeof st.bundle, "%s", bundle);
	snprintf(st.rootfs, sizeof st.rootfs, "%s", c.root_abs);
	snprintf(st.cgroup, sizeof st.cgroup, "%s", cg.path);
	now_rfc3339(st.created, sizeof st.created);   /* hooks see it too */
	st.systemd_cgroup = x->systemd_cgroup;
	st.userns = c.ns[NS_USER].want;
	if ((rc = state_save(x->root, &st, e)))
		goto out;
	/* The pids limit waits until the setup helper (C1) is gone: while it
	 * clones the init both count, and pids.limit 1 must still run. */
	struct oci_resources res = c.res;
	res.pids_limit.set = false;
	res.ndevs = 0;   /* after the rootfs is made: see cg_apply_devices() */
	if ((rc = cg_create(&cg, c.has_resources ? &res : NULL, e)))
		goto out;
	made_cg = true;
	char pids_dir[PATH_MAX + 256];
	cg_v1_dir(&cg, "pids", pids_dir, sizeof pids_dir);
	bool defer_pids = c.res.pids_limit.set;
	if (defer_pids && !pids_dir[0] && (cg.mode != CG_V2 || !cg.unified[0]) && cg.rootless) {
		cg_note_ignored(&cg, "linux.resources.pids.limit",
				"a rootless container cannot write the pids cgroup on this host");
		defer_pids = false;
	}
	if (cg.warn[0])
		log_msg(x->log, LOG_WARN, "%s", cg.warn);
	tmark("p cgroup made");
	if (!o->run) {
		snprintf(fifo_path, sizeof fifo_path, "%s/exec.fifo", sdir);
		if (mkfifo(fifo_path, 0600) < 0 ||
		    (fifo = open(fifo_path, O_RDWR | O_CLOEXEC)) < 0) {
			rc = err_set(e, -errno, "%s: %s", fifo_path, strerror(errno));
			goto out;
		}
	}
	if (c.proc.terminal && o->console_socket &&
	    (rc = console_connect(o->console_socket, &console, e)))
		goto out;
	if (c.proc.terminal && !o->console_socket && (!o->run || o->detach)) {
		rc = err_set(e, -EINVAL, "process.terminal is true: --console-socket is required");
		goto out;
	}
	if (c.proc.terminal && !o->console_socket) {
		/* Foreground run: the pty comes back to us (relay_wait). */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cpair) < 0) {
			rc = err_set(e, -errno, "socketpair: %s", strerror(errno));
			goto out;
		}
		console = cpair[1];
		cpair[1] = -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = err_set(e, -errno, "socketpair: %s", strerror(errno));
		goto out;
	}
	block_signals(&oldmask);
	struct child_args a = { .c = &c, .p = &c.proc, .rootfs = c.root_abs, .bundle = bundle,
				.no_pivot = o->no_pivot, .run = o->run, .new_keyring = !o->no_new_keyring,
				.sync = sv[1], .fifo = fifo,
				.console = console, .preserve_fds = o->preserve_fds,
				.seccomp = filter, .cg = &cg, .oldmask = oldmask, .rootfd = -1 };
	memcpy(a.nsfds, nsfds, sizeof nsfds);
	bool in_unified;
	pid1 = fork_into(&cg, &in_unified);
	if (pid1 < 0) {
		rc = err_set(e, -errno, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid1 == 0) {
		close(sv[0]);
		child_setup(&a);
	}
	close(sv[1]);
	sv[1] = -1;
	ns_close(nsfds);
	tmark("p forked");
	if ((rc = cg_enter(&cg, pid1, in_unified, e)))
		goto out;
	tmark("p entered");
	sync_send(sv[0], SYNC_GO, 0, NULL);
	struct sync_msg *m = malloc(sizeof *m);
	int deferred = 0;   /* C2's message that overtook C1's PID report */
	for (;;) {
		if (deferred && pid2 > 0) {
			m->type = deferred;
			deferred = 0;
		} else if (sync_recv(sv[0], m) < 0) {
			rc = err_set(e, -EIO, "container setup ended without a report");
			break;
		}
		if ((m->type == SYNC_HOOKS || m->type == SYNC_READY) && pid2 <= 0) {
			deferred = m->type;
			continue;
		}
		if (m->type == SYNC_ERROR) {
			rc = err_set(e, m->val ? m->val : -EIO, "%s", m->text);
			break;
		}
		if (m->type == SYNC_USERMAP) {
			if ((rc = ns_write_maps(pid1, &c, e)))
				break;
			sync_send(sv[0], SYNC_USERMAP_DONE, 0, NULL);
			continue;
		}
		if (m->type == SYNC_PID) {
			pid2 = m->val;
			waitpid(pid1, NULL, 0);
			pid1 = -1;
			if (defer_pids && (rc = cg_set_pids_limit(&cg, c.res.pids_limit.v, e)))
				break;
			continue;
		}
		if (m->type == SYNC_HOOKS) {
			snprintf(st.id, sizeof st.id, "%s", o->id);
			st.pid = pid2;
			snprintf(st.bundle, sizeof st.bundle, "%s", bundle);
			snprintf(st.rootfs, sizeof st.rootfs, "%s", c.root_abs);
			st.annotations = annotations_json(&c);
			char *js = state_oci_json(&st, ST_CREATING, false, NULL, 0);
			if ((rc = hooks_run(&c, HOOK_PRESTART, js, e)) == 0)
				rc = hooks_run(&c, HOOK_CREATE_RUNTIME, js, e);
			if (!rc)
				sync_send(sv[0], SYNC_HOOKS_DONE, 0, js);
			free(js);
			free(st.annotations);
			st.annotations = NULL;
			if (rc)
				break;
			continue;
		}
		if (m->type == SYNC_READY)
			break;
	}
	free(m);
	if (!rc && c.has_resources) {
		cg.warn[0] = 0;
		if ((rc = cg_apply_devices(&cg, &c.res, e)) == 0 && cg.warn[0])
			log_msg(x->log, LOG_WARN, "%s", cg.warn);
	}
	if (rc)
		goto out;
	/* Record the container. */
	snprintf(st.id, sizeof st.id, "%s", o->id);
	st.pid = pid2;
	if (proc_stat(pid2, &st.start_time, NULL)) {
		rc = err_set(e, -ESRCH, "the container process exited during setup");
		goto out;
	}
	snprintf(st.bundle, sizeof st.bundle, "%s", bundle);
	snprintf(st.rootfs, sizeof st.rootfs, "%s", c.root_abs);
	snprintf(st.cgroup, sizeof st.cgroup, "%s", cg.path);
	st.systemd_cgroup = x->systemd_cgroup;
	st.userns = c.ns[NS_USER].want;
	st.annotations = annotations_json(&c);
	if ((rc = state_save(x->root, &st, e)) || (rc = write_pid_file(o->pid_file, pid2, e)))
		goto out;
	if (!o->run) {
		rc = 0;
		goto done;
	}
	/* run: start now. */
	sync_send(sv[0], SYNC_START, 0, NULL);
	struct sync_msg em;
	if (sync_recv(sv[0], &em) == 0 && em.type == SYNC_ERROR) {
		rc = err_set(e, em.val ? em.val : -EIO, "%s", em.text);
		goto out;
	}
	close(sv[0]);
	sv[0] = -1;
	if (c.nhooks[HOOK_POSTSTART]) {
		char *js = state_oci_json(&st, ST_RUNNING, false, NULL, 0);
		struct err he = { 0 };
		if (hooks_run(&c, HOOK_POSTSTART, js, &he))
			log_msg(x->log, LOG_WARN, "%s", he.msg);
		free(js);
	}
	if (o->detach) {
		rc = 0;
		goto done;
	}
	tmark("p started");
	if (cpair[0] >= 0 && console_recv_fd(cpair[0], &master) == 0)
		*exit_status = relay_wait(pid2, master);
	else
		*exit_status = ctr_wait_forward(pid2);
	tmark("p exited");
	pid2 = -1;
	/* Foreground run removes the container once its process is gone. */
	cg_destroy(&cg, NULL);
	if (c.nhooks[HOOK_POSTSTOP]) {
		char *js = state_oci_json(&st, ST_STOPPED, false, NULL, 0);
		struct err he = { 0 };
		if (hooks_run(&c, HOOK_POSTSTOP, js, &he))
			log_msg(x->log, LOG_WARN, "%s", he.msg);
		free(js);
	}
	state_remove(x->root, o->id);
	tmark("p cleaned");
	rc = 0;
	goto done;
out:
	if (pid1 > 0) {
		kill(pid1, SIGKILL);
		waitpid(pid1, NULL, 0);
	}
	if (pid2 > 0) {
		kill(pid2, SIGKILL);
		waitpid(pid2, NULL, 0);
	}
	if (made_cg)
		cg_destroy(&cg, NULL);
	if (made_state)
		state_remove(x->root, o->id);
done:
	if (fifo >= 0)
		close(fifo);
	if (console >= 0)
		close(console);
	if (cpair[0] >= 0)
		close(cpair[0]);
	if (master >= 0)
		close(master);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	ns_close(nsfds);
	seccomp_free_ctx(filter);
	state_free(&st);
	config_free(&c);
	return rc;
}

/* ------------------------------------------------------------ the others */

int ctr_cgroup(const struct ctr_state *s, struct cgroup *cg, struct err *e)
{
	memset(cg, 0, sizeof *cg);
	/* Never act on a hierarchy's root: killing "its" processes would kill
	 * the host's. */
	if (s->cgroup[0] != '/' || !s->cgroup[1])
		return err_set(e, -EINVAL, "container \"%s\" has no cgroup recorded", s->id);
	int rc = cg_detect(cg, e);
	if (rc)
		return rc;
	snprintf(cg->path, sizeof cg->path, "%s", s->cgroup);
	return 0;
}

enum ctr_status ctr_status(const struct ctr_ctx *x, const struct ctr_state *s)
{
	unsigned long long start;
	char ps;
	if (s->pid <= 0 || proc_stat(s->pid, &start, &ps) || start != s->start_time || ps == 'Z' ||
	    ps == 'X')
		return ST_STOPPED;
	char f[PATH_MAX + 32];
	if (state_file(x->root, s->id, "exec.fifo", f, sizeof f))
		return ST_STOPPED;
	if (access(f, F_OK) == 0)
		return ST_CREATED;
	struct cgroup cg;
	if (ctr_cgroup(s, &cg, NULL) == 0 && cg_is_frozen(&cg) == 1)
		return ST_PAUSED;
	return ST_RUNNING;
}

int ctr_state_json(const struct ctr_ctx *x, const char *id, char **out, struct err *e)
{
	struct ctr_state s;
	int rc = state_load(x->root, id, &s, e);
	if (rc)
		return rc;
	enum ctr_status st = ctr_status(x, &s);
	struct cgroup cg;
	uint64_t ooms = 0;
	if (ctr_cgroup(&s, &cg, NULL) == 0)
		cg_oom_kills(&cg, &ooms);
	*out = state_oci_json(&s, st, true, "oomKills", (long long)ooms);
	state_free(&s);
	return 0;
}

int ctr_start(const struct ctr_ctx *x, const char *id, struct err *e)
{
	struct ctr_state s;
	int rc = state_load(x->root, id, &s, e);
	if (rc)
		return rc;
	enum ctr_status st = ctr_status(x, &s);
	if (st != ST_CREATED) {
		state_free(&s);
		return err_set(e, -EINVAL, "container \"%s\" is %s, not created: cannot start it", id,
			       status_name(st));
	}
	char f[PATH_MAX + 32];
	state_file(x->root, id, "exec.fifo", f, sizeof f);
	int fd = open(f, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = err_set(e, -errno, "container \"%s\": its init is gone (%s)", id, strerror(errno));
		state_free(&s);
		return rc;
	}
	char b = 0;
	rc = write(fd, &b, 1) == 1 ? 0 : -errno;
	close(fd);
	unlink(f);
	if (rc) {
		state_free(&s);
		return err_set(e, rc, "starting container \"%s\": %s", id, strerror(-rc));
	}
	struct oci_config c;
	struct err ce = { 0 };
	if (config_load(&c, s.bundle, &ce) == 0) {
		if (c.nhooks[HOOK_POSTSTART]) {
			char *js = state_oci_json(&s, ST_RUNNING, false, NULL, 0);
			struct err he = { 0 };
			if (hooks_run(&c, HOOK_POSTSTART, js, &he))
				log_msg(x->log, LOG_WARN, "%s", he.msg);
			free(js);
		}
		config_free(&c);
	} else {
		config_free(&c);
	}
	state_free(&s);
	return 0;
}

int ctr_kill(const struct ctr_ctx *x, const char *id, int sig, bool all, struct err *e)
{
	struct ctr_state s;
	int rc = state_load(x->root, id, &s, e);
	if (rc)
		return rc;
	enum ctr_status st = ctr_status(x, &s);
	if (st == ST_STOPPED && !all) {
		state_free(&s);
		return err_set(e, -ESRCH, "container \"%s\" is not running", id);
	}
	if (all) {
		struct cgroup cg;
		if (ctr_cgroup(&s, &cg, NULL) == 0) {
			cg_kill_all(&cg, sig);
			if (sig == SIGKILL && cg_is_frozen(&cg) == 1)
				cg_freeze(&cg, false, NULL);
		}
	}
	if (st != ST_STOPPED && kill(s.pid, sig) < 0 && errno != ESRCH) {
		rc = err_set(e, -errno, "kill %d: %s", (int)s.pid, strerror(errno));
		state_free(&s);
		return rc;
	}
	state_free(&s);
	return 0;
}

int ctr_delete(const struct ctr_ctx *x, const char *id, bool force, struct err *e)
{
	struct ctr_state s;
	int rc = state_load(x->root, id, &s, e);
	/* Engines clean up with `delete --force` whatever happened before
	 * (containerd's shim after its own delete); like runc, a container
	 * that is already gone is then no error. */
	if (rc == -ENOENT && force && id_valid(id))
		return 0;
	if (rc)
		return rc;
	enum ctr_status st = ctr_status(x, &s);
	/* runtime.md "Delete": deleting a container that is not stopped MUST
	 * fail and leave it as it is; that includes one only created. */
	if (st != ST_STOPPED && !force) {
		state_free(&s);
		return err_set(e, -EBUSY, "container \"%s\" is %s, not stopped: kill it first or use --force",
			       id, status_name(st));
	}
	struct cgroup cg;
	bool have_cg = ctr_cgroup(&s, &cg, NULL) == 0;
	if (st != ST_STOPPED) {
		kill(s.pid, SIGKILL);
		if (have_cg && cg_is_frozen(&cg) == 1)
			cg_freeze(&cg, false, NULL);
		wait_gone(s.pid, s.start_time);
	}
	if (have_cg && (rc = cg_destroy(&cg, e))) {
		state_free(&s);
		return rc;
	}
	struct oci_config c;
	struct err ce = { 0 };
	if (config_load(&c, s.bundle, &ce) == 0 && c.nhooks[HOOK_POSTSTOP]) {
		char *js = state_oci_json(&s, ST_STOPPED, false, NULL, 0);
		struct err he = { 0 };
		if (hooks_run(&c, HOOK_POSTSTOP, js, &he))
			log_msg(x->log, LOG_WARN, "%s", he.msg);
		free(js);
	}
	config_free(&c);
	rc = state_remove(x->root, id);
	state_free(&s);
	if (rc)
		return err_set(e, rc, "removing the state of \"%s\": %s", id, strerror(-rc));
	return 0;
}

int ctr_pause(const struct ctr_ctx *x, const char *id, bool pause, struct err *e)
{
	struct ctr_state s;
	int rc = state_load(x->root, id, &s, e);
	if (rc)
		return rc;
	enum ctr_status st = ctr_status(x, &s);
	state_free(&s);
	if (pause && st != ST_RUNNING && st != ST_CREATED)
		return err_set(e, -EINVAL, "container \"%s\" is %s: only a running container can be paused",
			       id, status_name(st));
	if (!pause && st != ST_PAUSED)
		return err_set(e, -EINVAL, "container \"%s\" is %s, not paused", id, status_name(st));
	struct cgroup cg;
	if ((rc = ctr_cgroup(&s, &cg, e)))
		return rc;
	return cg_freeze(&cg, pause, e);
}

int ctr_update(const struct ctr_ctx *x, const char *id, const struct oci_resources *r,
	       struct err *e)
{
	struct ctr_state s;
	int rc = state_load(x->root, id, &s, e);
	if (rc)
		return rc;
	enum ctr_status st = ctr_status(x, &s);
	struct cgroup cg;
	if (st == ST_STOPPED)
		rc = err_set(e, -EINVAL, "container \"%s\" is stopped: nothing to update", id);
	else if ((rc = ctr_cgroup(&s, &cg, e)) == 0) {
		if (cg.mode == CG_V2) {
			char d[PATH_MAX + 256];
			cg_v2_dir(&cg, d, sizeof d);
			rc = cg2_apply(d, r, false, &cg, e);
		} else {
			rc = cg1_apply(&cg, r, e);
		}
		if (rc == 0 && cg.warn[0])
			log_msg(x->log, LOG_WARN, "%s", cg.warn);
	}
	state_free(&s);
	return rc;
}

/* ------------------------------------------------------------------ exec */

int ctr_exec(const struct ctr_ctx *x, const struct exec_opts *o, int *exit_status, struct err *e)
{
	struct ctr_state s;
	struct oci_config c;
	struct oci_process fp;
	const struct oci_process *p = o->proc;
	char **merged_env = NULL;
	cJSON *pj = NULL;
	void *filter = NULL;
	int rc, sv[2] = { -1, -1 }, console = -1, rootfd = -1, nsfds[NS_COUNT];
	pid_t pid1 = -1, pid2 = -1;
	for (int i = 0; i < NS_COUNT; i++)
		nsfds[i] = -1;
	memset(&c, 0, sizeof c);
	memset(&fp, 0, sizeof fp);
	if ((rc = state_load(x->root, o->id, &s, e)))
		return rc;
	enum ctr_status st = ctr_status(x, &s);
	if (st != ST_RUNNING && st != ST_CREATED) {
		rc = err_set(e, -EINVAL, "container \"%s\" is %s: cannot exec in it", o->id,
			     status_name(st));
		goto out;
	}
	if ((rc = config_load(&c, s.bundle, e)))
		goto out;
	if (o->process_file) {
		char *txt;
		if ((rc = read_file(o->process_file, &txt, NULL))) {
			rc = err_set(e, rc, "--process %s: %s", o->process_file, strerror(-rc));
			goto out;
		}
		pj = cJSON_Parse(txt);
		free(txt);
		if (!pj) {
			rc = err_set(e, -EINVAL, "--process %s: not valid JSON", o->process_file);
			goto out;
		}
		if ((rc = config_parse_process(&fp, pj, "process", e))) {
			rc = ctr_err_wrap(e, "--process %s", o->process_file);
			goto out;
		}
		if (o->tty_set)
			fp.terminal = o->tty;
		p = &fp;
	} else if (o->proc) {
		/* From flags: what the flags leave out comes from config.json. */
		fp = *o->proc;
		if (c.has_process) {
			const struct oci_caps *cc = &c.proc.caps;
			if (!fp.caps.set)
				fp.caps = *cc;
			else if (cc->set) {
				fp.caps.bounding |= cc->bounding;
				fp.caps.effective |= cc->effective;
				fp.caps.permitted |= cc->permitted;
				fp.caps.inheritable |= cc->inheritable;
				fp.caps.ambient |= cc->ambient;
			}
		}
		if (c.has_process && c.proc.nenv) {
			/* The container's environment, overridden by --env. */
			merged_env = calloc(c.proc.nenv + fp.nenv + 1, sizeof *merged_env);
			size_t n = 0;
			for (size_t i = 0; i < c.proc.nenv; i++) {
				const char *v = c.proc.env[i];
				size_t kl = strcspn(v, "=");
				bool over = false;
				for (size_t k = 0; k < fp.nenv; k++)
					if (!strncmp(fp.env[k], v, kl + 1))
						over = true;
				if (!over)
					merged_env[n++] = (char *)v;
			}
			for (size_t k = 0; k < fp.nenv; k++)
				merged_env[n++] = fp.env[k];
			fp.env = merged_env;
			fp.nenv = n;
		}
		if (c.has_process && c.proc.nnp)
			fp.nnp = true;
		p = &fp;   /* arrays stay the caller's: fp is not freed (pj is NULL) */
	}
	warn_lsm(x, p);
	if (p->terminal && !o->console_socket && o->detach) {
		rc = err_set(e, -EINVAL, "a terminal was asked for: --console-socket is required with --detach");
		goto out;
	}
	if ((rc = seccomp_build(c.seccomp, &filter, e)))
		goto out;
	struct cgroup cg;
	if ((rc = ctr_cgroup(&s, &cg, e)))
		goto out;
	if (o->cgroup_sub) {
		size_t l = strlen(cg.path);
		snprintf(cg.path + l, sizeof cg.path - l, "/%s", o->cgroup_sub);
	}
	if ((rc = ns_open_pid(s.pid, nsfds, e)))
		goto out;
	char rp[64];
	snprintf(rp, sizeof rp, "/proc/%d/root", (int)s.pid);
	rootfd = open(rp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		rc = err_set(e, -errno, "%s: %s", rp, strerror(errno));
		goto out;
	}
	if (p->terminal && o->console_socket && (rc = console_connect(o->console_socket, &console, e)))
		goto out;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = err_set(e, -errno, "socketpair: %s", strerror(errno));
		goto out;
	}
	sigset_t oldmask;
	block_signals(&oldmask);
	struct child_args a = { .c = &c, .p = p, .exec_mode = true, .sync = sv[1], .fifo = -1,
				.console = console, .preserve_fds = o->preserve_fds,
				.seccomp = filter, .cg = &cg, .oldmask = oldmask, .rootfd = rootfd };
	memcpy(a.nsfds, nsfds, sizeof nsfds);
	bool in_unified;
	pid1 = fork_into(&cg, &in_unified);
	if (pid1 < 0) {
		rc = err_set(e, -errno, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid1 == 0) {
		close(sv[0]);
		child_setup(&a);
	}
	close(sv[1]);
	sv[1] = -1;
	if ((rc = cg_enter(&cg, pid1, in_unified, e)))
		goto out;
	sync_send(sv[0], SYNC_GO, 0, NULL);
	struct sync_msg *m = malloc(sizeof *m);
	bool ready = false;
	for (;;) {
		if (ready && pid2 > 0)
			break;
		if (sync_recv(sv[0], m) < 0) {
			rc = err_set(e, -EIO, "exec setup ended without a report");
			break;
		}
		if (m->type == SYNC_READY) {
			ready = true;
			continue;
		}
		if (m->type == SYNC_ERROR) {
			rc = err_set(e, m->val ? m->val : -EIO, "%s", m->text);
			break;
		}
		if (m->type == SYNC_PID) {
			pid2 = m->val;
			waitpid(pid1, NULL, 0);
			pid1 = -1;
			continue;
		}
		if (m->type == SYNC_READY)
			break;
	}
	if (!rc && (rc = write_pid_file(o->pid_file, pid2, e)) == 0) {
		/* EOF means execve succeeded (the socket is close-on-exec). */
		if (sync_recv(sv[0], m) == 0 && m->type == SYNC_ERROR)
			rc = err_set(e, m->val ? m->val : -EIO, "%s", m->text);
	}
	free(m);
	if (rc)
		goto out;
	if (o->detach) {
		pid2 = -1;
		goto out;
	}
	*exit_status = ctr_wait_forward(pid2);
	pid2 = -1;
out:
	if (pid1 > 0) {
		kill(pid1, SIGKILL);
		waitpid(pid1, NULL, 0);
	}
	if (pid2 > 0) {
		kill(pid2, SIGKILL);
		waitpid(pid2, NULL, 0);
	}
	if (rootfd >= 0)
		close(rootfd);
	if (console >= 0)
		close(console);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	ns_close(nsfds);
	seccomp_free_ctx(filter);
	if (pj)
		config_free_process(&fp);
	free(merged_env);
	cJSON_Delete(pj);
	config_free(&c);
	state_free(&s);
	return rc;
}
