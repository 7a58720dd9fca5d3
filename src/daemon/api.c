/* See api.h.  The handlers: each parses its input strictly, calls the
 * service and turns the result into JSON. */
#include "daemon/api.h"
#include "daemon/api_exec.h"
#include "daemon/api_profiles.h"
#include "daemon/exec_frame.h"
#include "daemon/api_cloud.h"
#include "daemon/route.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int api_status_for(int neg_errno)
{
	switch (-neg_errno) {
	case EINVAL:
	case ENAMETOOLONG:
		return 400;
	case ENOENT:
		return 404;
	case EEXIST:
	case EBUSY:
	case EALREADY:
	case ENOTTY:   /* a console without a terminal to size */
		return 409;
	case E2BIG:
		return 413;
	case EACCES:
		return 401;
	case EPERM:
	case EDQUOT:
		return 403;
	case EAGAIN:
		return 503;
	case ENOSYS:
		return 501;
	case ETIMEDOUT:
		return 504;
	case ENOSPC:
		return 507;
	default:
		return 500;
	}
}

static const char *code_for(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 409: return "conflict";
	case 413: return "payload_too_large";
	case 501: return "not_implemented";
	case 503: return "unavailable";
	case 504: return "timeout";
	case 507: return "insufficient_capacity";
	default: return "internal";
	}
}

void api_error(struct api_resp *out, int status, const char *code, const char *message)
{
	cJSON_Delete(out->json);
	out->status = status;
	out->json = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(out->json, "error");
	cJSON_AddStringToObject(e, "code", code ? code : code_for(status));
	cJSON_AddStringToObject(e, "message", message);
}

void api_error_from(struct api_resp *out, const struct err *e)
{
	int status = api_status_for(e->code);
	api_error(out, status, e->code == -EDQUOT ? "quota_exceeded" : code_for(status),
		  e->msg[0] ? e->msg : "internal error");
}

cJSON *api_instance_json(const struct instance *in)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "name", in->name);
	cJSON_AddStringToObject(j, "type", kind_str(in->kind));
	cJSON_AddStringToObject(j, "image", in->image);
	cJSON_AddStringToObject(j, "status", in->state == STATE_RUNNING && in->paused
					     ? "paused" : state_str(in->state));
	cJSON_AddNumberToObject(j, "pid", (double)in->pid);
	cJSON_AddNumberToObject(j, "created_at", (double)in->created_at);
	cJSON_AddNumberToObject(j, "started_at", (double)in->started_at);
	cJSON_AddStringToObject(j, "project", in->project);
	cJSON_AddBoolToObject(j, "terminal", in->terminal);
	cJSON *cmd = in->command[0] ? cJSON_Parse(in->command) : NULL;
	if (cmd)
		cJSON_AddItemToObject(j, "command", cmd);
	cJSON *cfg = cJSON_AddObjectToObject(j, "config");
	cJSON_AddNumberToObject(cfg, "cpus", in->cpus);
	cJSON_AddNumberToObject(cfg, "memory_mib", (double)in->memory_mib);
	return j;
}

static void ok_instance(struct api_resp *out, int status, const struct instance *in)
{
	out->status = status;
	out->json = api_instance_json(in);
}

static int h_root(struct service *s, const struct api_req *r, const char *name,
		  struct api_resp *out)
{
	(void)s, (void)r, (void)name;
	out->status = 200;
	out->json = cJSON_CreateObject();
	cJSON_AddStringToObject(out->json, "api_version", "1.0");
	cJSON_AddNumberToObject(out->json, "schema_version", db_schema_version());
	return 0;
}

static int h_openapi(struct service *s, const struct api_req *r, const char *name,
		     struct api_resp *out)
{
	(void)s, (void)r, (void)name;
	out->status = 200;
	out->raw = api_openapi_doc;
	out->raw_len = api_openapi_len;
	return 0;
}

static int h_images(struct service *s, const struct api_req *r, const char *name,
		    struct api_resp *out)
{
	(void)r, (void)name;
	struct err e = { 0 };
	struct image *v;
	size_t n;
	int rc = service_images(s, &v, &n, &e);
	if (rc < 0) {
		api_error_from(out, &e);
		return 0;
	}
	out->status = 200;
	out->json = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "name", v[i].name);
		cJSON_AddStringToObject(j, "type", kind_str(v[i].kind));
		/* Imported images live under their content's digest. */
		const char *d = strstr(v[i].path, "/sha256-");
		char digest[72] = "";
		if (d && strlen(d + 8) >= 64)
			snprintf(digest, sizeof digest, "sha256:%.64s", d + 8);
		cJSON_AddStringToObject(j, "digest", digest);
		if (v[i].project[0])   /* private to a project (image_owner.c) */
			cJSON_AddStringToObject(j, "project", v[i].project);
		else
			cJSON_AddNullToObject(j, "project");
		cJSON_AddItemToArray(out->json, j);
	}
	free(v);
	return 0;
}

static int h_list(struct service *s, const struct api_req *r, const char *name,
		  struct api_resp *out)
{
	(void)r, (void)name;
	struct err e = { 0 };
	struct instance *v;
	size_t n;
	if (service_list(s, &v, &n, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	out->status = 200;
	out->json = cJSON_CreateArray();
	const char **keys = calloc(n ? n : 1, sizeof *keys);
	for (size_t i = 0; i < n; i++) {
		cJSON_AddItemToArray(out->json, api_instance_json(&v[i]));
		if (keys)
			keys[i] = v[i].key;
	}
	if (keys)
		api_instances_networks(s, out->json, keys, n);
	free(keys);
	free(v);
	return 0;
}

static int h_create(struct service *s, const struct api_req *r, const char *name,
		    struct api_resp *out)
{
	(void)name;
	struct err e = { 0 };
	struct create_req cr;
	struct instance in;
	if (request_parse_create(r->body, r->body_len, &cr, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	/* A token launches in its own project; naming another one finds nothing. */
	if (r->who && !r->who->host_admin) {
		if (cr.project[0] && strcmp(cr.project, r->who->project))
			err_set(&e, -ENOENT, "project \"%s\": no such project", cr.project);
		snprintf(cr.project, sizeof cr.project, "%s", r->who->project);
	}
	if (e.code || api_launch(s, &cr, &in, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	ok_instance(out, 201, &in);
	api_instance_disks(s, out->json, in.key);
	api_instance_networks(s, out->json, in.key);
	return 0;
}

static int h_info(struct service *s, const struct api_req *r, const char *name,
		  struct api_resp *out)
{
	(void)r;
	struct err e = { 0 };
	struct instance in;
	if (service_get(s, name, &in, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	ok_instance(out, 200, &in);
	api_instance_disks(s, out->json, name);
	api_instance_networks(s, out->json, name);
	return 0;
}

static int h_start(struct service *s, const struct api_req *r, const char *name,
		   struct api_resp *out)
{
	struct err e = { 0 };
	struct instance in;
	if (request_parse_empty(r->body, r->body_len, &e) < 0 || service_start(s, name, &in, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	ok_instance(out, 200, &in);
	return 0;
}

static int h_stop(struct service *s, const struct api_req *r, const char *name,
		  struct api_resp *out)
{
	struct err e = { 0 };
	struct stop_req sr;
	struct instance in;
	if (request_parse_stop(r->body, r->body_len, &sr, &e) < 0 ||
	    service_stop(s, name, &sr, &in, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	ok_instance(out, 200, &in);
	return 0;
}

static int h_restart(struct service *s, const struct api_req *r, const char *name,
		     struct api_resp *out)
{
	struct err e = { 0 };
	struct stop_req sr;
	struct instance in;
	if (request_parse_stop(r->body, r->body_len, &sr, &e) < 0 ||
	    service_restart(s, name, &sr, &in, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	ok_instance(out, 200, &in);
	return 0;
}

static int h_delete(struct service *s, const struct api_req *r, const char *name,
		    struct api_resp *out)
{
	struct err e = { 0 };
	const char *f = r->query ? r->query(r->q, "force") : NULL;
	bool force = false;
	if (f && (!strcmp(f, "true") || !strcmp(f, "1")))
		force = true;
	else if (f && strcmp(f, "false") && strcmp(f, "0")) {
		err_set(&e, -EINVAL, "query force=%.32s: expected true or false", f);
		api_error_from(out, &e);
		return 0;
	}
	if (request_parse_empty(r->body, r->body_len, &e) < 0 ||
	    service_delete(s, name, force, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	out->status = 200;
	out->json = cJSON_CreateObject();
	return 0;
}

static int h_logs(struct service *s, const struct api_req *r, const char *name,
		  struct api_resp *out)
{
	(void)r;
	struct err e = { 0 };
	char *text;
	if (service_logs(s, name, &text, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	out->status = 200;
	out->json = cJSON_CreateObject();
	cJSON_AddStringToObject(out->json, "name", name);
	cJSON_AddStringToObject(out->json, "log", text);
	free(text);
	return 0;
}

static int h_exec(struct service *s, const struct api_req *r, const char *name,
		  struct api_resp *out)
{
	struct err e = { 0 };
	struct exec_req xr;
	int status;
	char *output;
	if (r->upgrade) {
		if (strcasecmp(r->upgrade, EXEC_UPGRADE)) {
			api_error(out, 400, "bad_request", "exec: Upgrade: only " EXEC_UPGRADE
				  " is spoken here (docs/daemon.md)");
			return 0;
		}
		api_exec_upgrade(s, r, name, out);
		return 0;
	}
	if (request_parse_exec(r->body, r->body_len, &xr, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	int rc = service_exec(s, name, &xr, &status, &output, &e);
	request_exec_free(&xr);
	if (rc < 0) {
		api_error_from(out, &e);
		return 0;
	}
	out->status = 200;
	out->json = cJSON_CreateObject();
	cJSON_AddNumberToObject(out->json, "exit_code", status);
	cJSON_AddStringToObject(out->json, "output", output);
	free(output);
	return 0;
}

static const char *const force_only[] = { "force", NULL };
static const char *const forward_query[] = { "protocol", "port", NULL };
static const char *const snapshot_query[] = { "name", NULL };
static const char *const network_query[] = { "network", NULL };
static const char *const usage_query[] = { "project", "since", "until", NULL };
static const char *const api_events_query[] = { "since", NULL };
static const char *const api_wait_query[] = { "wait", NULL };

const struct route api_routes[] = {
	{ "GET", "/1.0", NULL, h_root },
	{ "GET", "/1.0/openapi.json", NULL, h_openapi },
	{ "GET", "/1.0/images", NULL, h_images },
	{ "GET", "/1.0/instances", NULL, h_list },
	{ "POST", "/1.0/instances", NULL, h_create },
	{ "GET", "/1.0/instances/{name}", NULL, h_info },
	{ "DELETE", "/1.0/instances/{name}", force_only, h_delete },
	{ "GET", "/1.0/instances/{name}/logs", NULL, h_logs },
	{ "POST", "/1.0/instances/{name}/exec", NULL, h_exec },
	{ "POST", "/1.0/instances/{name}/start", NULL, h_start },
	{ "POST", "/1.0/instances/{name}/stop", NULL, h_stop },
	{ "POST", "/1.0/instances/{name}/restart", NULL, h_restart },
	{ "GET", "/1.0/events", api_events_query, api_h_events },
	{ "POST", "/1.0/instances/{name}/pause", NULL, api_h_pause },
	{ "POST", "/1.0/instances/{name}/resume", NULL, api_h_resume },
	{ "PATCH", "/1.0/instances/{name}", NULL, api_h_config },
	{ "POST", "/1.0/images", NULL, api_h_image_import },
	{ "DELETE", "/1.0/images/{name}", NULL, api_h_image_delete },
	{ "PATCH", "/1.0/images/{name}", NULL, api_image_owner },
	{ "GET", "/1.0/operations", NULL, api_h_operations },
	{ "GET", "/1.0/operations/{name}", api_wait_query, api_h_operation },
	{ "GET", "/1.0/instances/{name}/console", NULL, api_h_console },
	{ "POST", "/1.0/instances/{name}/console", NULL, api_h_console_resize },
	/* Projects and tokens (api_cloud.c). */
	{ "GET", "/1.0/projects", NULL, api_project_list },
	{ "POST", "/1.0/projects", NULL, api_project_create },
	{ "GET", "/1.0/projects/{name}", NULL, api_project_get },
	{ "DELETE", "/1.0/projects/{name}", NULL, api_project_delete },
	{ "PATCH", "/1.0/projects/{name}/quota", NULL, api_project_quota },
	{ "GET", "/1.0/tokens", NULL, api_token_list },
	{ "POST", "/1.0/tokens", NULL, api_token_create },
	{ "DELETE", "/1.0/tokens/{name}", NULL, api_token_revoke },
	/* Networks (api_network.c). */
	{ "GET", "/1.0/networks", NULL, api_network_list },
	{ "POST", "/1.0/networks", NULL, api_network_create },
	{ "GET", "/1.0/networks/{name}", NULL, api_network_get },
	{ "DELETE", "/1.0/networks/{name}", NULL, api_network_delete },
	{ "GET", "/1.0/networks/{name}/forwards", NULL, api_forward_list },
	{ "POST", "/1.0/networks/{name}/forwards", NULL, api_forward_add },
	{ "DELETE", "/1.0/networks/{name}/forwards", forward_query, api_forward_delete },
	{ "GET", "/1.0/instances/{name}/rules", NULL, api_rules_get },
	{ "PUT", "/1.0/instances/{name}/rules", NULL, api_rules_put },
	{ "POST", "/1.0/instances/{name}/networks", NULL, api_instance_network_join },
	{ "DELETE", "/1.0/instances/{name}/networks", network_query, api_instance_network_leave },
	/* Volumes (api_volume.c). */
	{ "GET", "/1.0/volumes", NULL, api_volume_list },
	{ "POST", "/1.0/volumes", NULL, api_volume_create },
	{ "GET", "/1.0/volumes/{name}", NULL, api_volume_get },
	{ "DELETE", "/1.0/volumes/{name}", NULL, api_volume_delete },
	{ "POST", "/1.0/volumes/{name}/attach", NULL, api_volume_attach },
	{ "POST", "/1.0/volumes/{name}/detach", NULL, api_volume_detach },
	{ "POST", "/1.0/volumes/{name}/resize", NULL, api_volume_resize },
	{ "POST", "/1.0/volumes/{name}/snapshot", NULL, api_volume_snapshot },
	{ "POST", "/1.0/volumes/{name}/clone", NULL, api_volume_clone },
	{ "GET", "/1.0/placement", NULL, api_placement },
	{ "GET", "/1.0/usage", usage_query, api_usage },
	/* Profiles (api_profiles.c). */
	{ "GET", "/1.0/profiles", NULL, api_profile_list },
	{ "POST", "/1.0/profiles", NULL, api_profile_create },
	{ "GET", "/1.0/profiles/{name}", NULL, api_profile_get },
	{ "PATCH", "/1.0/profiles/{name}", NULL, api_profile_update },
	{ "DELETE", "/1.0/profiles/{name}", NULL, api_profile_delete },
	/* Prometheus (api_metrics.c). */
	{ "GET", "/metrics", NULL, api_h_metrics },
	/* A VM's snapshots (api_snapshots.c). */
	{ "GET", "/1.0/instances/{name}/snapshots", NULL, api_h_snapshot_list },
	{ "POST", "/1.0/instances/{name}/snapshots", NULL, api_h_snapshot_create },
	{ "DELETE", "/1.0/instances/{name}/snapshots", snapshot_query, api_h_snapshot_delete },
	{ "POST", "/1.0/instances/{name}/restore", NULL, api_h_snapshot_restore },
	/* Moving a VM between daemons (api_migrate.c). */
	{ "POST", "/1.0/instances/{name}/migrate", NULL, api_h_migrate },
	{ "POST", "/1.0/incoming/{name}", NULL, api_h_incoming },
};
const size_t api_nroutes = sizeof api_routes / sizeof api_routes[0];

/* What a route's {name} names, for the name rules' messages. */
static const char *route_noun(const char *pattern)
{
	static const struct { const char *prefix, *noun; } nouns[] = {
		{ "/1.0/projects/", "project" },
		{ "/1.0/tokens/", "token" },
		{ "/1.0/networks/", "network" },
		{ "/1.0/volumes/", "volume" },
		{ "/1.0/images/", "image" },
		{ "/1.0/operations/", "operation" },
		{ "/1.0/profiles/", "profile" },
	};
	for (size_t i = 0; i < sizeof nouns / sizeof nouns[0]; i++)
		if (!strncmp(pattern, nouns[i].prefix, strlen(nouns[i].prefix)))
			return nouns[i].noun;
	return "instance";
}

void api_dispatch(struct service *s, const struct api_req *r, struct api_resp *out)
{
	memset(out, 0, sizeof *out);
	char msg[512];
	char p[1024];
	switch (route_path(r->path, p, sizeof p)) {
	case ROUTE_PATH_TOO_LONG:
		api_error(out, 404, "not_found", "path: too long");
		return;
	case ROUTE_PATH_DOTDOT:
		api_error(out, 400, "bad_request", "path: '..' segments are not allowed");
		return;
	case ROUTE_PATH_OK:
		break;
	}
	char allow[64] = "";
	for (size_t i = 0; i < api_nroutes; i++) {
		char name[256] = "";
		if (!route_match(api_routes[i].pattern, p, name, sizeof name))
			continue;
		if (strcmp(api_routes[i].method, r->method)) {
			size_t used = strlen(allow);
			snprintf(allow + used, sizeof allow - used, "%s%s", used ? ", " : "",
				 api_routes[i].method);
			continue;
		}
		static const char *const none[] = { NULL };
		const char *unknown = r->query_unknown
			? r->query_unknown(r->q, api_routes[i].query ? api_routes[i].query : none)
			: NULL;
		if (unknown) {
			snprintf(msg, sizeof msg, "query %.64s: unknown parameter", unknown);
			api_error(out, 400, "bad_request", msg);
			return;
		}
		if (strstr(api_routes[i].pattern, "{name}")) {
			struct err e = { 0 };
			if (name_check(route_noun(api_routes[i].pattern), name, &e) < 0) {
				api_error_from(out, &e);
				return;
			}
		}
		api_routes[i].handler(s, r, name, out);
		return;
	}
	if (allow[0]) {
		snprintf(msg, sizeof msg, "%.16s %.300s: method not allowed (allowed: %s)", r->method, p,
			 allow);
		api_error(out, 405, "method_not_allowed", msg);
		snprintf(out->allow, sizeof out->allow, "%s", allow);
		return;
	}
	snprintf(msg, sizeof msg, "%.300s: no such endpoint (see GET /1.0/openapi.json)", p);
	api_error(out, 404, "not_found", msg);
}
