/* Small file-system helpers for the daemon's state directory. */
#ifndef NIMBUS_DAEMON_FSUTIL_H
#define NIMBUS_DAEMON_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/err.h"

/* mkdir -p with mode for the directories it creates. */
int mkdir_p(const char *path, mode_t mode, struct err *e);
/* rm -rf, never following symlinks; a missing path is success. */
int rm_rf(const char *path, struct err *e);
/* Writes data to path atomically (a temporary file renamed over it). */
int write_file(const char *path, const char *data, size_t len, mode_t mode, struct err *e);
/* Reads up to len-1 bytes of path into buf (NUL-terminated); bytes read or -errno. */
ssize_t read_file(const char *path, char *buf, size_t len);

#endif
