/*
 * The API's client side: one HTTP request to the daemon over its Unix
 * socket (libcurl), the reply parsed as JSON.  The CLI verbs and tools use
 * it; the daemon's error document becomes a struct err carrying its
 * message, so a CLI prints exactly what the daemon said.
 */
#ifndef NIMBUS_DAEMON_CLIENT_H
#define NIMBUS_DAEMON_CLIENT_H

#include <cjson/cJSON.h>

#include "lib/err.h"

#define NIMBUS_SOCKET_DEFAULT "/run/nimbus/nimbus.sock"
#define NIMBUS_STATE_DIR_DEFAULT "/var/lib/nimbus"

/* The daemon's socket: opt if given, else $NIMBUS_SOCKET, else the default.
 * It may also be an https:// URL of the daemon's TCP listener, whose
 * certificate is trusted from $NIMBUS_CACERT (or the system's CAs).  A
 * token in $NIMBUS_TOKEN is sent with every request as a bearer token. */
const char *client_socket_path(const char *opt);

/* Sends method path (with body, or NULL) to the daemon at sock.  On a 2xx
 * reply returns 0 with *reply (may be NULL) the parsed body, owned by the
 * caller.  Otherwise a negative errno with e set: -ECONNREFUSED when no
 * daemon answers (the message says how to start one), -EINVAL for a 400 or
 * 413, -EACCES for a 401, -EPERM for a 403, -ENOENT for a 404, -EBUSY for a
 * 409, -EIO for anything else; *status
 * (if not NULL) is the HTTP status or 0. */
int client_call(const char *sock, const char *method, const char *path, const char *body,
		long *status, cJSON **reply, struct err *e);

/* GET path as a stream (server-sent events): calls on_line with each line
 * (without its newline) as it comes, until on_line returns non-zero (then
 * 0) or the stream ends (-ECONNRESET, e set) or fails. */
int client_stream(const char *sock, const char *path, const char *last_event_id,
		  int (*on_line)(const char *line, void *arg), void *arg, struct err *e);

#endif
