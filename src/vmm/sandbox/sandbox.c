/*
 * The VMM sandbox: namespaces, the jail, credentials, seccomp (sandbox.h has
 * the order and why; docs/sandbox.md the user's view).
 *
 * Threads: sandbox_isolate() runs before any thread exists because
 * unshare(CLONE_NEWNS) moves only the calling thread.  Everything after it
 * works on a multi-threaded process: pivot_root moves every thread whose root
 * is the old one, glibc broadcasts setresuid/setresgid/setgroups to all
 * threads (which also clears their capabilities), and the control/I-O filter
 * is loaded with SECCOMP_FILTER_FLAG_TSYNC, which also gives every thread
 * no_new_privs.
 */
#include "vmm/sandbox/sandbox.h"
#include "vmm/sandbox/jail_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

int sandbox_add_path(struct sandbox *sb, const char *path, bool rw, struct err *err)
{
	if (!path)
		return 0;
	if (path[0] != '/')
		return err_set(err, -EINVAL, "sandbox: %s: needs an absolute path", path);
	if (sb->npaths == SANDBOX_MAX_PATHS)
		return err_set(err, -E2BIG, "sandbox: more than %d files to bind", SANDBOX_MAX_PATHS);
	sb->path_rw[sb->npaths] = rw;
	sb->paths[sb->npaths++] = path;
	return 0;
}

/* ---- the parent, outside ------------------------------------------------- */

static int wait_child(struct sandbox *sb, pid_t child, const sigset_t *fwd)
{
	int ws = 0;
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(fwd, &si);
		if (sig < 0)
			continue;   /* EINTR */
		if (sig != SIGCHLD) {
			kill(child, sig);
			continue;
		}
		pid_t r = waitpid(child, &ws, WNOHANG);
		if (r == child)
			break;
	}
	if (sb->unlink_after)
		unlink(sb->unlink_after);
	rmdir(sb->jail);
	close(sb->jail_lock);
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	int sig = WTERMSIG(ws);
	if (sig == SIGSYS) {
		fprintf(stderr, "nimbus: sandbox: the VMM made a system call outside its seccomp "
			"allow-list and was killed (the kernel log names the call; "
			"docs/sandbox.md)\n");
		return 1;
	}
	fprintf(stderr, "nimbus: sandbox: the VMM was killed by signal %s\n", strsignal(sig));
	return 128 + sig;
}

int sandbox_fork(struct sandbox *sb, int *status, struct err *err)
{
	if (geteuid() != 0)
		return err_set(err, -EPERM, "--sandbox: needs root (it creates namespaces and "
			       "switches to an unprivileged user)");
	pid_t self = getpid();
	if (!sb->have_uid)
		sb->uid = SANDBOX_ID_BASE + (uid_t)self;
	if (!sb->have_gid)
		sb->gid = SANDBOX_ID_BASE + (gid_t)self;
	const char *tmp = "/tmp";
	jail_dir_sweep(tmp, JAIL_DIR_MIN_AGE_S);
	int rc = jail_dir_make(tmp, sb->jail, sizeof sb->jail, &sb->jail_lock, err);
	if (rc < 0)
		return rc;
	const char *t = getenv("NIMBUS_SANDBOX_TEST_ESCAPE");
	snprintf(sb->test_escape, sizeof sb->test_escape, "%s", t ? t : "");

	/* The PID namespace applies to children only: unshare, then fork. */
	if (unshare(CLONE_NEWPID) < 0) {
		int e = errno;
		rmdir(sb->jail);
		close(sb->jail_lock);
		return err_set(err, -e, "sandbox: new PID namespace: %s", strerror(e));
	}
	sigset_t fwd, old;
	sigemptyset(&fwd);
	sigaddset(&fwd, SIGCHLD);
	sigaddset(&fwd, SIGINT);
	sigaddset(&fwd, SIGTERM);
	sigaddset(&fwd, SIGHUP);
	sigprocmask(SIG_BLOCK, &fwd, &old);
	pid_t child = fork();
	if (child < 0) {
		int e = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		rmdir(sb->jail);
		close(sb->jail_lock);
		return err_set(err, -e, "sandbox: fork: %s", strerror(e));
	}
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		/* The lock is the launcher's; and the jailed VMM keeps no open
		 * directory of the host's. */
		close(sb->jail_lock);
		sb->jail_lock = -1;
		/* The launcher dying must not leave a VMM nobody waits for. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		return 0;
	}
	*status = wait_child(sb, child, &fwd);
	return 1;
}

/* ---- the child, before threads ------------------------------------------ */

int sandbox_isolate(struct sandbox *sb, struct err *err)
{
	int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | (sb->new_net ? CLONE_NEWNET : 0);
	if (unshare(flags) < 0)
		return err_set(err, -errno, "sandbox: new namespaces: %s", strerror(errno));
	/* Nothing we mount may leak back to the host, nor the host's into us. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_set(err, -errno, "sandbox: private mounts: %s", strerror(errno));
	if (sethostname("nimbus-vmm", 10) < 0)
		return err_set(err, -errno, "sandbox: hostname: %s", strerror(errno));
	return 0;
}

/* ---- entering the jail --------------------------------------------------- */

static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		int rc = mkdir(path, 0755);
		*p = '/';
		if (rc < 0 && errno != EEXIST)
			return -errno;
	}
	return 0;
}

/* Binds one host file at the same path under the jail. */
static int bind_into(const char *jail, const char *path, bool rw, struct err *err)
{
	char dst[4096];
	if ((size_t)snprintf(dst, sizeof dst, "%s%s", jail, path) >= sizeof dst)
		return err_set(err, -ENAMETOOLONG, "sandbox: %s: path too long", path);
	int rc = mkdirs(dst);
	if (rc < 0)
		return err_set(err, rc, "sandbox: %s: %s", dst, strerror(-rc));
	int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(err, -errno, "sandbox: %s: %s", dst, strerror(errno));
	close(fd);
	if (mount(path, dst, NULL, MS_BIND, NULL) < 0)
		return err_set(err, -errno, "sandbox: bind %s: %s", path, strerror(errno));
	unsigned long ro = rw ? 0 : MS_RDONLY;
	if (mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC | ro,
		  NULL) < 0)
		return err_set(err, -errno, "sandbox: remount %s: %s", path, strerror(errno));
	return 0;
}

static int pivot_into_jail(struct sandbox *sb, struct err *err)
{
	const char *j = sb->jail;
	if (mount("nimbus-jail", j, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0755,size=64k") < 0)
		return err_set(err, -errno, "sandbox: tmpfs on %s: %s", j, strerror(errno));
	for (unsigned i = 0; i < sb->npaths; i++) {
		int rc = bind_into(j, sb->paths[i], sb->path_rw[i], err);
		if (rc < 0)
			return rc;
	}
	char old[96];
	snprintf(old, sizeof old, "%s/.old", j);
	if (mkdir(old, 0700) < 0)
		return err_set(err, -errno, "sandbox: %s: %s", old, strerror(errno));
	if (syscall(SYS_pivot_root, j, old) < 0)
		return err_set(err, -errno, "sandbox: pivot_root: %s", strerror(errno));
	if (chdir("/") < 0 || umount2("/.old", MNT_DETACH) < 0 || rmdir("/.old") < 0)
		return err_set(err, -errno, "sandbox: leaving the old root: %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		return err_set(err, -errno, "sandbox: read-only jail: %s", strerror(errno));
	return 0;
}

static int drop_privileges(struct sandbox *sb, struct err *err)
{
	/* The bounding set is per thread, but it only matters at execve, which
	   no_new_privs and the filters rule out; drop it here for good measure. */
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
			break;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return err_set(err, -errno, "sandbox: ambient capabilities: %s", strerror(errno));
	if (setgroups(0, NULL) < 0 || setresgid(sb->gid, sb->gid, sb->gid) < 0)
		return err_set(err, -errno, "sandbox: gid %u: %s", (unsigned)sb->gid, strerror(errno));
	if (setresuid(sb->uid, sb->uid, sb->uid) < 0)
		return err_set(err, -errno, "sandbox: uid %u: %s", (unsigned)sb->uid, strerror(errno));
	/* A change of uid or gid clears the parent-death signal sandbox_fork set:
	 * without it again a launcher killed by SIGKILL would leave the jailed
	 * VMM running, orphaned.  (A launcher that died in between these two
	 * calls still does; the window is a few instructions.) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* A non-zero uid already cleared them; say so explicitly for uid 0 setups. */
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };
	if (syscall(SYS_capset, &h, d) < 0)
		return err_set(err, -errno, "sandbox: capabilities: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_set(err, -errno, "sandbox: no_new_privs: %s", strerror(errno));
	return 0;
}

/*
 * The test-only hook: a "compromised" thread tries one escape after its filter
 * is on.  NIMBUS_SANDBOX_TEST_ESCAPE=KIND:CALL, KIND vcpu or control, CALL
 * open (/etc/shadow), execve, ptrace, rawsocket or udpsocket.  Each must kill
 * the VMM.
 */
static void test_escape(const struct sandbox *sb, const char *kind)
{
	size_t n = strlen(kind);
	if (strncmp(sb->test_escape, kind, n) || sb->test_escape[n] != ':')
		return;
	const char *call = sb->test_escape + n + 1;
	long r = -1;
	if (!strcmp(call, "open"))
		r = open("/etc/shadow", O_RDONLY | O_CLOEXEC);
	else if (!strcmp(call, "execve"))
		r = execve("/bin/sh", (char *[]){ "sh", NULL }, (char *[]){ NULL });
	else if (!strcmp(call, "ptrace"))
		r = ptrace(PTRACE_ATTACH, 1, NULL, NULL);
	else if (!strcmp(call, "rawsocket"))
		r = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	else if (!strcmp(call, "udpsocket"))   /* I/O threads may; control and vCPU may not */
		r = socket(AF_INET, SOCK_DGRAM, 0);
	/* Still alive: the sandbox failed; say so loudly where the test looks. */
	fprintf(stderr, "nimbus: sandbox test: %s %s was allowed (returned %ld)\n", kind, call, r);
}

int sandbox_enter(struct sandbox *sb, struct err *err)
{
	struct sock_fprog *io = NULL, *control = NULL;
	pid_t self = getpid();
	int rc;
	/* Compile every filter while allocation and files are still unrestricted. */
	if ((rc = sandbox_policy_build(SANDBOX_THREAD_IO, self, &io, err)) < 0 ||
	    (rc = sandbox_policy_build(SANDBOX_THREAD_CONTROL, self, &control, err)) < 0 ||
	    (rc = sandbox_policy_build(SANDBOX_THREAD_VCPU, self, &sb->vcpu_prog, err)) < 0)
		goto out;
	if ((rc = pivot_into_jail(sb, err)) < 0 || (rc = drop_privileges(sb, err)) < 0)
		goto out;
	if ((rc = sandbox_prog_load(io, true, err)) < 0 ||
	    (rc = sandbox_prog_load(control, false, err)) < 0)
		goto out;
	test_escape(sb, "control");
out:
	sandbox_prog_free(io);
	sandbox_prog_free(control);
	return rc;
}

void sandbox_vcpu_thread_init(void *ctx)
{
	struct sandbox *sb = ctx;
	struct err e = { 0 };
	/* Failing to narrow the filter is not safe to ignore: stop the VMM. */
	if (sandbox_prog_load(sb->vcpu_prog, false, &e) < 0) {
		fprintf(stderr, "nimbus: %s\n", e.msg);
		abort();
	}
	test_escape(sb, "vcpu");
}
