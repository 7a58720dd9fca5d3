/*
 * The daemon as a whole: the service (state, lifecycle) behind the HTTP
 * server, until SIGTERM or SIGINT.  Instances are not touched when the
 * daemon ends: they run on, and the next daemon re-adopts them.
 */
#ifndef NIMBUS_DAEMON_DAEMON_H
#define NIMBUS_DAEMON_DAEMON_H

#include "daemon/service.h"
#include "lib/err.h"

struct daemon_opts {
	struct service_cfg svc;
	const char *socket_path;
	const char *listen;        /* ADDR:PORT for HTTPS with tokens, or NULL */
};

/* Runs until a stop signal; 0 on a clean end. */
int daemon_run(const struct daemon_opts *o, struct err *e);

#endif
