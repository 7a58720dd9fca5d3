/*
 * Small file and string helpers shared by the runtime library: whole-file
 * writes (cgroup knobs, /proc files), atomic replace, mkdir -p, timestamps.
 * All return 0 or -errno; none prints.
 */
#ifndef NIMBUS_CTR_UTIL_H
#define NIMBUS_CTR_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/err.h"

/* Writes s (no newline added) to path, opened O_WRONLY (no create). */
int write_str(const char *path, const char *s);
int write_str_at(int dirfd, const char *name, const char *s);
/* Writes data to path.tmp and renames it over path. */
int write_atomic(const char *path, const char *data, size_t len, mode_t mode);
/* Reads a small file into buf (NUL-terminated, trailing newline removed). */
int read_small(const char *path, char *buf, size_t n);
int mkdir_p(const char *path, mode_t mode);
/* Current time as RFC 3339 with nanoseconds, UTC. */
void now_rfc3339(char *buf, size_t n);
/* Container ids: 1-1024 of [A-Za-z0-9_.+-], not starting with '.'. */
bool id_valid(const char *id);
/* The file name that stands for a valid id in the state root and the
 * default cgroup path: the id itself up to NAME_MAX (255) characters,
 * longer ids as their first 200 characters, '-' and a 64-bit hash (the
 * full id is kept in state.json).  out needs 256 bytes. */
void id_file_name(const char *id, char *out, size_t n);
/* Start time (clock ticks since boot, /proc/PID/stat field 22) and the
 * one-letter state; returns -ESRCH when the process does not exist. */
int proc_stat(pid_t pid, unsigned long long *start, char *state);
/* Signal name or number ("TERM", "SIGKILL", "9") to number, -1 if unknown. */
int signal_parse(const char *s);
/* out = a followed by b; -ENAMETOOLONG (out emptied) if it does not fit. */
int path_cat(char *out, size_t n, const char *a, const char *b);
/* Puts "PREFIX: " before e's message (the message is copied first: it may
 * not be an argument of err_set on the same object); returns e->code. */
int ctr_err_wrap(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True unless we are root in the initial user namespace (uid_map
 * "0 0 4294967295"): rootless, or root inside an engine's user namespace. */
bool running_rootless(void);
/* The state root when --root is not given: /run/nimbus-runtime, or
 * $XDG_RUNTIME_DIR/nimbus-runtime for a rootless user (runc's rule: also
 * as root of a user namespace unless $USER is root). */
const char *default_state_root(char *buf, size_t n);
/* Full write, retrying on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t n);

#endif
