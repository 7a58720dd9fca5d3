/* See api_exec.h. */
#include "daemon/api_exec.h"
#include "daemon/exec_frame.h"
#include "daemon/exec_session.h"
#include "daemon/request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct exec_upgrade {
	struct service *svc;
	struct instance in;
	struct exec_req req;
};

void api_exec_upgrade(struct service *s, const struct api_req *r, const char *name,
		      struct api_resp *out)
{
	struct err e = { 0 };
	struct exec_upgrade *u = calloc(1, sizeof *u);
	if (!u) {
		api_error(out, 500, "internal", "exec: out of memory");
		return;
	}
	if (request_parse_exec(r->body, r->body_len, &u->req, &e) < 0) {
		free(u);
		api_error_from(out, &e);
		return;
	}
	if (service_exec_target(s, name, &u->in, &e) < 0) {
		exec_upgrade_free(u);
		api_error_from(out, &e);
		return;
	}
	u->svc = s;
	out->status = 101;
	out->exec = u;
}

void exec_upgrade_free(struct exec_upgrade *u)
{
	if (!u)
		return;
	request_exec_free(&u->req);
	free(u);
}

void exec_upgrade_run(struct exec_upgrade *u, int client, int closing, const void *pending,
		      size_t pending_len)
{
	struct exec_client x;
	struct err e = { 0 };
	if (exec_client_init(&x, client, closing, pending, pending_len) < 0) {
		exec_frame_send(client, EXEC_ERROR, "exec: out of memory", 19);
		exec_upgrade_free(u);
		return;
	}
	int rc = service_exec_stream(u->svc, &u->in, &u->req, &x, &e);
	if (rc >= 0)
		exec_client_exit(&x, rc);
	else if (rc != -ECONNRESET)
		exec_client_error(&x, e.msg[0] ? e.msg : strerror(-rc));
	exec_client_free(&x);
	exec_upgrade_free(u);
}
