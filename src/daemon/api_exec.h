/*
 * POST /1.0/instances/NAME/exec with `Connection: Upgrade` and `Upgrade:
 * nimbus-exec`: the interactive exec (`nimbus exec -t`, and any exec whose
 * input is streamed).  The request is checked as a plain exec is, plus
 * "tty"; the instance must be running.  Then the answer is 101 and the
 * connection speaks exec_frame.h until the command ends: http.c hands it to
 * exec_upgrade_run on a thread of its own.
 */
#ifndef NIMBUS_DAEMON_API_EXEC_H
#define NIMBUS_DAEMON_API_EXEC_H

#include <stddef.h>

#include "daemon/api.h"

/* Fills out with a 101 and out->exec, or with the error. */
void api_exec_upgrade(struct service *s, const struct api_req *r, const char *name,
		      struct api_resp *out);

/* Runs u on the upgraded connection client (pending: bytes that came with
 * the request; closing: readable when the daemon stops), tells the client
 * how it ended, and frees u.  Does not close client. */
void exec_upgrade_run(struct exec_upgrade *u, int client, int closing, const void *pending,
		      size_t pending_len);
void exec_upgrade_free(struct exec_upgrade *u);

#endif
