/*
 * GET /1.0/instances/NAME/console with `Connection: Upgrade` and `Upgrade:
 * nimbus-console`: answered 101 Switching Protocols, after which the
 * connection carries the instance's console both ways as raw bytes until
 * either side closes (http.c joins it to the VM's console relay, or to a
 * container's stdio through its conmon).  A
 * request without the upgrade gets 400 saying what it needs.
 */
#include "daemon/api.h"

#include <stdio.h>
#include <strings.h>

#define CONSOLE_PROTOCOL "nimbus-console"

int api_h_console(struct service *s, const struct api_req *r, const char *name,
		  struct api_resp *out)
{
	struct err e = { 0 };
	if (!r->upgrade || strcasecmp(r->upgrade, CONSOLE_PROTOCOL)) {
		api_error(out, 400, "bad_request", "console: needs an HTTP upgrade to "
			  CONSOLE_PROTOCOL " (Connection: Upgrade, Upgrade: " CONSOLE_PROTOCOL
			  "); `nimbus console NAME` does this; the output so far is at "
			  "GET /1.0/instances/NAME/logs");
		return 0;
	}
	if (service_console_socket(s, name, out->console_sock, sizeof out->console_sock,
				   &out->console_seqpacket, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	out->status = 101;
	return 0;
}
