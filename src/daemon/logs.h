/*
 * An instance's console log as text for the API: the last bytes of
 * STATE/instances/NAME/console.log (a VM's serial console as the guest wrote
 * it; a container's stdout/stderr in conmon's k8s-file format, turned back
 * into the plain stream), made valid UTF-8 so it travels in JSON.
 */
#ifndef NIMBUS_DAEMON_LOGS_H
#define NIMBUS_DAEMON_LOGS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

#define LOGS_TAIL_MAX (256 * 1024)

/* A container's log, cut by conmon at LOGS_GENERATION_MAX, keeps its
 * previous generation beside it as PATH.1 (log_keep.h). */
#define LOGS_PREVIOUS_SUFFIX ".1"
#define LOGS_GENERATION_MAX (1024 * 1024)
#define LOGS_GENERATION_MAX_STR "1048576"   /* conmon's --log-size-max */

/* The last max bytes of path, after those of PATH.1 if that is there (a
 * missing file is an empty log), in *out, NUL-terminated, owned by the
 * caller. */
int logs_read(const char *path, bool k8s_format, size_t max, char **out, struct err *e);

/* Turns k8s-file lines ("TIME STREAM F|P TEXT") into the stream they carry,
 * in place; a first line cut by the tail is dropped.  Returns the length. */
size_t logs_from_k8s(char *text, size_t len);

/* Replaces each byte that is not part of valid UTF-8 with '?', in place. */
void logs_make_utf8(char *text, size_t len);

#endif
