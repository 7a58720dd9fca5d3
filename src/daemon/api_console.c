/*
 * GET /1.0/instances/NAME/console with `Connection: Upgrade` and `Upgrade:
 * nimbus-console`: answered 101 Switching Protocols, after which the
 * connection carries the instance's console both ways as raw bytes until
 * either side closes; with `Upgrade: websocket` (a browser's, RFC 6455),
 * the same as WebSocket messages (ws_console.h) (http.c joins it to the VM's console relay, or to a
 * container's stdio through its conmon).  A
 * request without the upgrade gets 400 saying what it needs.
 *
 * POST /1.0/instances/NAME/console {"rows", "cols"}: the window size of a
 * container's terminal (launch --terminal), which `nimbus console` sends
 * at attach and at each SIGWINCH.  A VM's console is a serial line: no
 * size travels on it (the guest's `stty rows R cols C` sets its own).
 */
#include "daemon/api.h"
#include "daemon/driver.h"
#include "daemon/request.h"
#include "daemon/ws.h"
#include "daemon/ws_console.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CONSOLE_PROTOCOL "nimbus-console"

/* A browser's handshake (RFC 6455 section 4.2.1): version 13, a key, and
 * the console's subprotocol among those offered. */
static int websocket(const struct api_req *r, struct api_resp *out, struct err *e)
{
	if (!r->ws_version || strcmp(r->ws_version, "13"))
		return err_set(e, -EINVAL, "console: Sec-WebSocket-Version: expected 13 (RFC 6455)");
	if (!r->ws_protocol || !ws_protocol_offered(r->ws_protocol, WS_CONSOLE_PROTOCOL))
		return err_set(e, -EINVAL, "console: Sec-WebSocket-Protocol: must offer "
			       WS_CONSOLE_PROTOCOL);
	return ws_accept_key(r->ws_key, out->ws_accept, e);
}

int api_h_console(struct service *s, const struct api_req *r, const char *name,
		  struct api_resp *out)
{
	struct err e = { 0 };
	bool ws = r->upgrade && !strcasecmp(r->upgrade, "websocket");
	if (!ws && (!r->upgrade || strcasecmp(r->upgrade, CONSOLE_PROTOCOL))) {
		api_error(out, 400, "bad_request", "console: needs an HTTP upgrade to "
			  CONSOLE_PROTOCOL " (Connection: Upgrade, Upgrade: " CONSOLE_PROTOCOL
			  ") or to websocket; `nimbus console NAME` does this; the output so far "
			  "is at GET /1.0/instances/NAME/logs");
		return 0;
	}
	if ((ws && websocket(r, out, &e) < 0) ||
	    service_console_socket(s, name, out->console_sock, sizeof out->console_sock,
				   &out->console_seqpacket, &e) < 0) {
		out->ws_accept[0] = 0;
		api_error_from(out, &e);
		return 0;
	}
	out->status = 101;
	return 0;
}

int api_h_console_resize(struct service *s, const struct api_req *r, const char *name,
			 struct api_resp *out)
{
	struct err e = { 0 };
	unsigned rows, cols;
	struct instance in;
	if (request_parse_window(r->body, r->body_len, &rows, &cols, &e) < 0 ||
	    service_get(s, name, &in, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	int rc;
	if (in.kind == KIND_VM)
		rc = err_set(&e, -ENOTTY, "instance \"%s\": a VM's console is a serial line, which "
			     "carries no window size (set it in the guest: stty rows %u cols %u)",
			     in.name, rows, cols);
	else if (in.state != STATE_RUNNING)
		rc = err_set(&e, -EALREADY, "instance \"%s\": not running", in.name);
	else {
		struct instance hv = in;
		snprintf(hv.name, sizeof hv.name, "%s", name);   /* the host key: its directory */
		rc = ctr_console_resize(service_driver_ctx(s), &hv, rows, cols, &e);
	}
	if (rc < 0) {
		api_error_from(out, &e);
		return 0;
	}
	out->status = 200;
	out->json = cJSON_CreateObject();
	cJSON_AddNumberToObject(out->json, "rows", rows);
	cJSON_AddNumberToObject(out->json, "cols", cols);
	return 0;
}
