/*
 * Where the runtime's own messages go.  OCI runtimes are driven by tools that
 * pass --log FILE and --log-format json (Podman/conmon, containerd) and read
 * errors back from that file, one JSON object per line:
 *   {"level":"error","msg":"...","time":"2024-01-01T00:00:00.000000000Z"}
 * Without --log, messages go to stderr as "nimbus-runtime: MSG" (warnings
 * prefixed "warning: ").  Debug lines appear only with --debug.
 */
#ifndef NIMBUS_CTR_LOG_H
#define NIMBUS_CTR_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

struct ctr_log {
	int fd;          /* -1: stderr */
	bool json;
	bool debug;
	bool also_stderr; /* errors to stderr too (when a --log file is used) */
};

/* Opens --log FILE (append); path NULL keeps stderr. Returns 0 or -errno. */
int log_open(struct ctr_log *l, const char *path, const char *format, bool debug);
void log_msg(const struct ctr_log *l, enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Formats one line into buf (used by log_msg, exposed for tests). */
void log_format(char *buf, unsigned n, bool json, enum log_level lvl, const char *msg);

#endif
