/*
 * Moving a VM live between daemons (migrate.h; docs/daemon.md, "Moving a VM"):
 *   POST /1.0/instances/NAME/migrate    {"target": SOCKET}: send the running VM
 *                                       to the daemon at SOCKET; 202, an operation
 *   POST /1.0/incoming/NAME   what a source daemon asks of its target:
 *                                       make NAME and wait for the VM; 202, an
 *                                       operation with "uri", where to send it
 * Both are the host admin's (the Unix socket): a move spans daemons, which
 * project tokens do not.
 */
#include "daemon/api.h"
#include "daemon/migrate.h"
#include "daemon/operations.h"

#include <errno.h>

static bool host_admin(const struct api_req *r, struct api_resp *out)
{
	if (!r->who || r->who->host_admin)
		return true;
	api_error(out, 403, "forbidden", "moving a VM between daemons is the host admin's "
		  "(the daemon's Unix socket)");
	return false;
}

int api_h_migrate(struct service *s, const struct api_req *r, const char *name,
		  struct api_resp *out)
{
	struct err e = { 0 };
	struct migrate_req mr;
	struct operation op;
	if (!host_admin(r, out))
		return 0;
	if (migrate_req_parse(r->body, r->body_len, &mr, &e) < 0 ||
	    service_migrate(s, name, &mr, &op, &e) < 0)
		api_error_from(out, &e);
	else
		api_accepted(out, &op);
	return 0;
}

int api_h_incoming(struct service *s, const struct api_req *r, const char *name,
		   struct api_resp *out)
{
	struct err e = { 0 };
	struct incoming_req *ir;
	struct operation op;
	char uri[MIGRATE_URI_MAX];
	if (!host_admin(r, out))
		return 0;
	if (incoming_req_parse(r->body, r->body_len, &ir, &e) < 0 ||
	    service_incoming(s, name, ir, uri, sizeof uri, &op, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	api_accepted(out, &op);
	cJSON_AddStringToObject(out->json, "uri", uri);
	return 0;
}
