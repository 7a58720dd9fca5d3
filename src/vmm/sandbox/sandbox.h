/*
 * The VMM sandbox (`nimbus vm run --sandbox`; docs/sandbox.md): Firecracker's
 * jailer built into the VMM.  Three steps, in this order:
 *
 *   sandbox_fork()     in the still single-threaded CLI: a new PID namespace
 *                      needs a fork; the parent stays outside, forwards
 *                      signals, waits and reports how the VMM ended (a
 *                      seccomp kill included) and cleans up the jail directory
 *                      (and those of launchers killed before, jail_dir.h).
 *   sandbox_isolate()  in the child, still single-threaded: new mount, IPC,
 *                      UTS (and network, when no network device needs the
 *                      host's) namespaces, so every thread started later
 *                      shares them.
 *   sandbox_enter()    after the VM is created and every file and socket is
 *                      open: pivot_root into a read-only tmpfs holding only
 *                      bind mounts of the VM's images, the unprivileged
 *                      uid/gid, no capabilities, PR_SET_NO_NEW_PRIVS, and the
 *                      control/I-O seccomp filter on every thread (TSYNC).
 *
 * vCPU threads then add their narrower filter (sandbox_vcpu_thread_init, the
 * vm_config hook).  A system call outside a filter kills the whole VMM
 * (SECCOMP_RET_KILL_PROCESS); the parent reports it.
 *
 * One struct sandbox per VMM process: seccomp filters, namespaces and
 * credentials are process-wide kernel state, so a second sandboxed VM is a
 * second process.
 */
#ifndef NIMBUS_VMM_SANDBOX_SANDBOX_H
#define NIMBUS_VMM_SANDBOX_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/err.h"

#define SANDBOX_MAX_PATHS 12
/* A fresh id is this plus the launcher's PID: above every normal account
   and every subuid range Debian hands out, and distinct per running VMM. */
#define SANDBOX_ID_BASE 2000000000u

struct sock_fprog;

struct sandbox {
	/* Set by the caller before sandbox_fork(). */
	bool have_uid, have_gid;
	uid_t uid;
	gid_t gid;
	bool new_net;                  /* no network device needs the host's network */
	const char *paths[SANDBOX_MAX_PATHS];   /* files bound into the jail, same paths */
	bool path_rw[SANDBOX_MAX_PATHS];
	unsigned npaths;
	const char *unlink_after;      /* removed by the parent when the VMM ends (the
					  control socket, which the VMM cannot reach) */

	/* Filled in by the sandbox. */
	char jail[64];                 /* host directory the jail's tmpfs is mounted on */
	int jail_lock;                 /* the launcher's lock on it (jail_dir.h) */
	struct sock_fprog *vcpu_prog;  /* compiled once; loaded by each vCPU thread */
	char test_escape[32];          /* NIMBUS_SANDBOX_TEST_ESCAPE, see sandbox.c */
};

/* Adds a file to bind into the jail; -E2BIG when full. */
int sandbox_add_path(struct sandbox *sb, const char *path, bool rw, struct err *err);

/*
 * Forks the VMM into a new PID namespace.  Returns 0 in the child (go on and
 * build the VM), or, in the parent, 1 after the child ended with *status the
 * exit status for the CLI (its exit code; 1 and a printed report for a
 * seccomp kill; 128+N for signal N).  -errno with err on failure (nothing
 * forked).
 */
int sandbox_fork(struct sandbox *sb, int *status, struct err *err);

/* In the child, before any thread: namespaces, private mounts, hostname. */
int sandbox_isolate(struct sandbox *sb, struct err *err);

/* In the child once everything is open: jail, ids, caps, seccomp. */
int sandbox_enter(struct sandbox *sb, struct err *err);

/* The vm_config.vcpu_thread_init hook (ctx: the struct sandbox). */
void sandbox_vcpu_thread_init(void *ctx);

/* ---- seccomp_policy.c ---------------------------------------------------- */

/*
 * Filters stack: every thread gets the I/O list (loaded with TSYNC, since
 * device threads exist before the sandbox); the main thread then adds the
 * control list, which the threads it starts later inherit (signal, console,
 * vCPUs); each vCPU thread adds the vCPU list.  A thread may do only what
 * all its filters allow.
 */
enum sandbox_thread_kind {
	SANDBOX_THREAD_VCPU,           /* runs guest code: memory, futex, write an fd */
	SANDBOX_THREAD_CONTROL,        /* main, signal and console threads: no sockets */
	SANDBOX_THREAD_IO,             /* device I/O, slirp, TAP, the control socket */
};

/*
 * Builds the allow-list filter of a thread kind as a classic BPF program
 * (malloc'd; free with sandbox_prog_free).  self_pid: our PID, the only
 * target tgkill may signal.  0 or -errno with err.
 */
int sandbox_policy_build(enum sandbox_thread_kind kind, pid_t self_pid,
			 struct sock_fprog **out, struct err *err);
void sandbox_prog_free(struct sock_fprog *prog);
/* Loads a filter on the calling thread (tsync: on every thread). */
int sandbox_prog_load(const struct sock_fprog *prog, bool tsync, struct err *err);
/* The i-th system call a kind's list names (allowed or failed softly), or
   NULL past the end: for the docs' test. */
const char *sandbox_policy_name(enum sandbox_thread_kind kind, unsigned i);

#endif
