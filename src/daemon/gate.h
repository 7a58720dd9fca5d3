/*
 * The door every HTTP request passes before the routes: who is asking, and
 * what of the API they may see.  A request with "Authorization: Bearer T"
 * acts as T's project and role on either listener; without one, the Unix
 * socket (root-only) is the host admin and the TCP listener answers 401.
 *
 * What the gate enforces for a token, before any handler runs: a reader
 * changes nothing (403 for anything but GET, and for a console, which types
 * into the instance); an instance of another
 * project is "no such instance" (404, the very answer for one that does
 * not exist); and the instance list shows only the token's project.  The
 * project and token routes check their own rules (api_cloud.c).
 *
 * Instance names are unique per project: for every caller the gate resolves
 * /1.0/instances/NAME to the instance of the caller's project (the host
 * admin's ?project=, or the only one of that name) and hands the route its
 * host key (instance.h), which no request can name.
 */
#ifndef NIMBUS_DAEMON_GATE_H
#define NIMBUS_DAEMON_GATE_H

#include <stdbool.h>

#include "daemon/api.h"

/* authorization: the header's value, or NULL; tcp: whether the request
 * came over the TCP (TLS) listener. */
void gate_dispatch(struct service *s, bool tcp, const char *authorization, struct api_req *r,
		   struct api_resp *out);

#endif
