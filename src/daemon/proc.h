/*
 * Processes the daemon starts and watches.  A supervised process is named by
 * (pid, start time): the start time (clock ticks since boot, /proc/PID/stat
 * field 22) tells a live instance from a recycled pid after a restart.
 * Long-lived processes are started in their own session with stdin from
 * /dev/null, so they outlive the daemon and ignore its terminal.  The daemon
 * is a child subreaper, so processes that daemonize (conmon) are reaped by
 * proc_alive rather than left as zombies.
 */
#ifndef NIMBUS_DAEMON_PROC_H
#define NIMBUS_DAEMON_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/err.h"

/* The start time of pid, or -1 if there is no such process or it is a zombie. */
long long proc_start_time(pid_t pid);

/* Whether (pid, start) is still running; reaps it if it is our dead child. */
bool proc_alive(pid_t pid, long long start);

/* Waits up to timeout_ms for (pid, start) to end; true if it did. */
bool proc_wait_gone(pid_t pid, long long start, int timeout_ms);

/* Sends SIGKILL to every live process (other than this one) whose command
 * line contains tag; returns how many. */
int proc_kill_tagged(const char *tag);

struct spawn_opts {
	const char *log_path;      /* stdout+stderr (appended), or NULL for /dev/null */
	const char *const *env;    /* extra NAME=VALUE entries, NULL-terminated, or NULL */
	int keep_fd;               /* an fd the child keeps (a sync pipe), or -1 */
	bool new_session;
	const char *netns;         /* a network namespace (its file) to run in, or NULL */
	const char *cwd;           /* its working directory, or NULL */
	/* As nobody with CAP_NET_ADMIN, CAP_NET_RAW and CAP_NET_BIND_SERVICE
	 * alone (ambient, so what it runs keeps them) and no new privileges: for
	 * a program that parses what others send, in a namespace it configures. */
	bool net_caps_only;
};

/* nobody and nogroup: who a net_caps_only child runs as. */
#define PROC_NOBODY 65534

/* Starts argv[0] (a path) and returns its pid in *pid. */
int proc_spawn(char *const argv[], const struct spawn_opts *o, pid_t *pid, struct err *e);

/* Runs argv to completion within timeout_ms, collecting up to outlen-1 bytes
 * of its stdout+stderr into out (may be NULL).  Returns its exit status
 * (0-255), or a negative errno with e set if it could not run or timed out. */
int proc_run(char *const argv[], int timeout_ms, char *out, size_t outlen, struct err *e);

#endif
