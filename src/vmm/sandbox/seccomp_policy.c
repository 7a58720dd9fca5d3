/*
 * The sandbox's seccomp allow-lists, one per thread kind (docs/sandbox.md
 * says why each call is there; keep the two in step).  Compiled with
 * libseccomp to classic BPF once, before any filter is loaded, so a vCPU
 * thread installs its filter with one seccomp(2) call and no allocation.
 *
 * Default action SECCOMP_RET_KILL_PROCESS: an unexpected call means the VMM
 * is compromised or broken, and either way it must not go on.  Argument
 * checks close the obvious escapes the names alone would leave open: no
 * executable mappings (the JIT mapped its code cache before the sandbox), no
 * processes (clone only with CLONE_THREAD; clone3 hides its flags in memory,
 * so it fails with ENOSYS and glibc falls back to clone), no raw or packet
 * sockets, signals only to our own threads, ioctl only the terminal's.
 */
#include "vmm/sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/membarrier.h>
#include <linux/sockios.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/if_tun.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

enum arg_rule {
	ANY,
	NO_EXEC,        /* mmap/mprotect: PROT_EXEC clear (arg 2) */
	NO_EXEC_ANON,   /* mmap: PROT_EXEC clear, or a shared (file/memfd) mapping */
	TO_SELF,        /* tgkill: only our own thread group (arg 0) */
	THREAD_ONLY,    /* clone: CLONE_THREAD set (arg 0) */
	INET_STREAM_DGRAM,   /* socket: AF_INET/AF_INET6, SOCK_STREAM/SOCK_DGRAM */
	TTY_IOCTL,      /* ioctl: terminal attributes, FIONREAD/FIONBIO, TUNSETOFFLOAD
			   (a tap's offloads follow what the guest's driver negotiates) and
			   SIOCOUTQ (a migration waits for its socket to drain) */
	OWN_BARRIER,    /* membarrier: only our own threads' (private expedited) */
	FD_ONLY,        /* newfstatat: AT_EMPTY_PATH (fstat(2) through glibc) */
	FAIL_ENOSYS,    /* not allowed, but fails softly so a fallback runs */
	FAIL_ENOENT,    /* path calls: the jail is empty anyway */
};

struct rule {
	const char *name;
	enum arg_rule arg;
};

/* Every thread: memory, time, locks, I/O on fds it already holds, exit. */
#define COMMON_RULES \
	{ "read", ANY }, { "write", ANY }, { "readv", ANY }, { "writev", ANY }, \
	{ "pread64", ANY }, { "pwrite64", ANY }, { "close", ANY }, \
	{ "futex", ANY }, { "clock_gettime", ANY }, { "clock_getres", ANY }, \
	{ "gettimeofday", ANY }, { "clock_nanosleep", ANY }, { "nanosleep", ANY }, \
	{ "sched_yield", ANY }, { "getrandom", ANY }, { "madvise", ANY }, \
	{ "mprotect", NO_EXEC }, { "munmap", ANY }, \
	{ "mremap", ANY }, { "brk", ANY }, \
	{ "rt_sigprocmask", ANY }, { "rt_sigreturn", ANY }, { "restart_syscall", ANY }, \
	{ "exit", ANY }, { "exit_group", ANY }, { "set_robust_list", ANY }, \
	{ "rseq", ANY }, { "gettid", ANY }, { "getpid", ANY }, { "tgkill", TO_SELF }, \
	{ "fstat", ANY }, { "newfstatat", FD_ONLY }

static const struct rule vcpu_rules[] = {
	COMMON_RULES,
	{ "mmap", NO_EXEC },
	{ NULL, ANY },
};

/* The main thread and what it starts: block I/O (a reset or the end of the
   VM flushes disks), waits, threads, the terminal; no sockets. */
#define CONTROL_RULES \
	COMMON_RULES, \
	/* a reboot builds fresh harts: a new JIT code cache, a memfd mapped twice */ \
	{ "mmap", NO_EXEC_ANON }, { "memfd_create", ANY }, \
	{ "preadv", ANY }, { "pwritev", ANY }, { "preadv2", ANY }, { "pwritev2", ANY }, \
	{ "lseek", ANY }, { "fdatasync", ANY }, { "fsync", ANY }, { "fallocate", ANY }, \
	{ "ftruncate", ANY }, { "fcntl", ANY }, \
	{ "poll", ANY }, { "ppoll", ANY }, { "epoll_wait", ANY }, { "epoll_pwait", ANY }, \
	{ "epoll_ctl", ANY }, { "rt_sigtimedwait", ANY }, { "rt_sigaction", ANY }, \
	{ "geteuid", ANY }, { "getuid", ANY }, { "getegid", ANY }, { "getgid", ANY }, \
	{ "ioctl", TTY_IOCTL }, \
	{ "clone", THREAD_ONLY }, { "clone3", FAIL_ENOSYS }, \
	{ "seccomp", ANY }, \
	{ "sysinfo", ANY }, { "membarrier", OWN_BARRIER }, \
	/* a NIC hot-plugged into a running VM: its TAP thread's wake-up */ \
	{ "eventfd2", ANY }, \
	{ "unlink", FAIL_ENOENT }, { "unlinkat", FAIL_ENOENT }

static const struct rule control_rules[] = {
	CONTROL_RULES,
	{ NULL, ANY },
};

/* I/O threads (devices, slirp, TAP) and the control socket's: the control
   list and sockets. */
static const struct rule io_rules[] = {
	CONTROL_RULES,
	{ "accept4", ANY }, { "recvfrom", ANY }, { "recvmsg", ANY }, { "sendto", ANY },
	{ "sendmsg", ANY }, { "getsockopt", ANY }, { "setsockopt", ANY },
	{ "getsockname", ANY }, { "getpeername", ANY }, { "shutdown", ANY },
	{ "connect", ANY }, { "bind", ANY }, { "listen", ANY },
	{ "socket", INET_STREAM_DGRAM },
	{ NULL, ANY },
};

static const struct rule *rules_of(enum sandbox_thread_kind kind)
{
	switch (kind) {
	case SANDBOX_THREAD_VCPU: return vcpu_rules;
	case SANDBOX_THREAD_CONTROL: return control_rules;
	case SANDBOX_THREAD_IO: break;
	}
	return io_rules;
}

const char *sandbox_policy_name(enum sandbox_thread_kind kind, unsigned i)
{
	const struct rule *r = rules_of(kind);
	for (unsigned k = 0; r[k].name; k++)
		if (k == i)
			return r[k].name;
	return NULL;
}

static int add_rule(scmp_filter_ctx ctx, const struct rule *r, pid_t self_pid)
{
	int nr = seccomp_syscall_resolve_name(r->name);
	if (nr == __NR_SCMP_ERROR)
		return 0;   /* not a call of this architecture (e.g. a newer name) */
	switch (r->arg) {
	case ANY:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	case NO_EXEC:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	case NO_EXEC_ANON: {
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					  SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
		return rc < 0 ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
						      SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_SHARED,
							      MAP_SHARED));
	}
	case TO_SELF:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self_pid));
	case THREAD_ONLY:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	case INET_STREAM_DGRAM: {
		static const int fams[] = { AF_INET, AF_INET6 };
		static const int types[] = { SOCK_STREAM, SOCK_DGRAM };
		for (unsigned f = 0; f < 2; f++)
			for (unsigned t = 0; t < 2; t++) {
				int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2,
							  SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fams[f]),
							  SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf,
								  (scmp_datum_t)types[t]));
				if (rc < 0)
					return rc;
			}
		return 0;
	}
	case TTY_IOCTL: {
		static const unsigned long reqs[] = { TCGETS, TCSETS, TCSETSW, TCSETSF,
						      TIOCGWINSZ, FIONREAD, FIONBIO, TUNSETOFFLOAD,
						      SIOCOUTQ };
		for (unsigned i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
			int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
						  SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)reqs[i]));
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	case OWN_BARRIER: {
		/* Dirty logging's barrier (bus.c), and its registration; not the
		 * global command, which makes every CPU of the host wait. */
		static const scmp_datum_t cmds[] = { MEMBARRIER_CMD_PRIVATE_EXPEDITED,
						     MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED };
		for (unsigned i = 0; i < 2; i++) {
			int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
						  SCMP_A0(SCMP_CMP_EQ, cmds[i]));
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	case FD_ONLY:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
	case FAIL_ENOSYS:
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
	case FAIL_ENOENT:
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT), nr, 0);
	}
	return -EINVAL;
}

int sandbox_policy_build(enum sandbox_thread_kind kind, pid_t self_pid,
			 struct sock_fprog **out, struct err *err)
{
	*out = NULL;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return err_set(err, -ENOMEM, "seccomp: cannot create a filter");
	int rc = 0, fd = -1;
	const char *what = "";
	/* We set PR_SET_NO_NEW_PRIVS ourselves, and load the program ourselves. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0) {
		what = "attribute";
		goto out;
	}
	for (const struct rule *r = rules_of(kind); r->name; r++)
		if ((rc = add_rule(ctx, r, self_pid)) < 0) {
			what = r->name;
			goto out;
		}
	fd = memfd_create("nimbus-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		what = "memfd";
		goto out;
	}
	if ((rc = seccomp_export_bpf(ctx, fd)) < 0) {
		what = "export";
		goto out;
	}
	off_t len = lseek(fd, 0, SEEK_END);
	if (len <= 0 || len % sizeof(struct sock_filter) || len > 65536) {
		rc = -EINVAL;
		what = "export size";
		goto out;
	}
	struct sock_fprog *p = malloc(sizeof *p + (size_t)len);
	if (!p) {
		rc = -ENOMEM;
		what = "allocation";
		goto out;
	}
	p->len = (unsigned short)(len / sizeof(struct sock_filter));
	p->filter = (struct sock_filter *)(p + 1);
	if (pread(fd, p->filter, (size_t)len, 0) != len) {
		free(p);
		rc = -EIO;
		what = "read back";
		goto out;
	}
	*out = p;
out:
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	if (rc < 0)
		return err_set(err, rc, "seccomp: cannot build the %s filter (%s): %s",
			       kind == SANDBOX_THREAD_VCPU ? "vCPU" :
			       kind == SANDBOX_THREAD_CONTROL ? "control" : "I/O", what,
			       strerror(-rc));
	return 0;
}

void sandbox_prog_free(struct sock_fprog *prog)
{
	free(prog);
}

int sandbox_prog_load(const struct sock_fprog *prog, bool tsync, struct err *err)
{
	long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			  tsync ? SECCOMP_FILTER_FLAG_TSYNC : 0, prog);
	if (rc < 0)
		return err_set(err, -errno, "seccomp: cannot load the filter: %s", strerror(errno));
	if (rc > 0)   /* TSYNC: the id of a thread that could not be synchronized */
		return err_set(err, -EBUSY, "seccomp: thread %ld could not take the filter", rc);
	return 0;
}
