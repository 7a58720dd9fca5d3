/* See gate.h. */
#include "daemon/gate.h"
#include "daemon/project.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int authenticate(struct service *s, bool tcp, const char *authorization,
			struct caller *c, struct err *e)
{
	memset(c, 0, sizeof *c);
	if (!authorization) {
		if (tcp)
			return err_set(e, -EACCES, "Authorization: a bearer token is required on the "
				       "TCP listener (see `nimbus token create`)");
		c->host_admin = true;
		return 0;
	}
	char secret[TOKEN_LEN + 1];
	int rc = auth_bearer(authorization, secret, e);
	if (rc < 0)
		return err_set(e, -EACCES, "%s", e->msg);
	struct db *db = service_lock(s);
	rc = token_authenticate(db, secret, c, e);
	service_unlock(s);
	return rc;
}

/* The NAME of /1.0/instances/NAME[/...] into name; false for other paths. */
static bool instance_path(const char *path, char *name, size_t len)
{
	static const char prefix[] = "/1.0/instances/";
	if (strncmp(path, prefix, sizeof prefix - 1))
		return false;
	const char *seg = path + sizeof prefix - 1;
	size_t n = strcspn(seg, "/");
	if (n == 0 || n >= len)
		return n != 0;   /* too long: no instance has such a name; dispatch says why */
	snprintf(name, len, "%.*s", (int)n, seg);
	return true;
}

static bool is_instance_list(const char *path)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	return n == strlen("/1.0/instances") && !strncmp(path, "/1.0/instances", n);
}

/* Drops the instances of other projects from a list reply. */
static void keep_project(cJSON *list, const char *project)
{
	cJSON *i = list ? list->child : NULL;
	while (i) {
		cJSON *next = i->next;
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(i, "project");
		if (!cJSON_IsString(p) || strcmp(p->valuestring, project))
			cJSON_Delete(cJSON_DetachItemViaPointer(list, i));
		i = next;
	}
}

/* Whether path is under prefix: the prefix itself or below it. */
static bool under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return !strncmp(path, prefix, n) && (path[n] == 0 || path[n] == '/');
}

/* What only the host admin may use: adding or removing images (shared by
 * every project; an import reads a path on the host).  The event stream and
 * the operations are filtered per project instead (api_events.c,
 * api_operations.c). */
static bool host_only(const struct api_req *r)
{
	return under(r->path, "/1.0/images") && strcmp(r->method, "GET") &&
	       strcmp(r->method, "HEAD");
}

void gate_dispatch(struct service *s, bool tcp, const char *authorization, struct api_req *r,
		   struct api_resp *out)
{
	memset(out, 0, sizeof *out);
	struct caller c;
	struct err e = { 0 };
	if (authenticate(s, tcp, authorization, &c, &e) < 0) {
		api_error_from(out, &e);
		return;
	}
	r->who = &c;
	if (!c.host_admin) {
		/* An interactive console (issue 8's GET .../console, upgraded) types
		 * into the instance: a change, whatever its method. */
		size_t plen = strlen(r->path);
		bool console = plen >= 8 && !strcmp(r->path + plen - 8, "/console");
		bool reads = (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD")) && !console;
		if (!reads && c.role == ROLE_READER) {
			char msg[400];
			snprintf(msg, sizeof msg, "%.16s %.200s: token role reader cannot change "
				 "anything (project \"%s\")", r->method, r->path, c.project);
			api_error(out, 403, "forbidden", msg);
			return;
		}
		if (host_only(r)) {
			char msg[400];
			snprintf(msg, sizeof msg, "%.16s %.200s: only the host admin may do this (the "
				 "Unix socket without a token); token role %s", r->method, r->path,
				 role_str(c.role));
			api_error(out, 403, "forbidden", msg);
			return;
		}
		char name[INSTANCE_NAME_MAX + 1] = "";
		if (instance_path(r->path, name, sizeof name) && name[0] &&
		    name_check("instance", name, NULL) == 0) {
			struct instance in;
			int rc = service_get(s, name, &in, &e);
			if (rc == 0 && strcmp(in.project, c.project))
				rc = err_set(&e, -ENOENT, "instance \"%s\": no such instance", name);
			if (rc < 0) {
				api_error_from(out, &e);
				return;
			}
		}
	}
	api_dispatch(s, r, out);
	if (!c.host_admin && out->status == 200 && !strcmp(r->method, "GET") &&
	    is_instance_list(r->path))
		keep_project(out->json, c.project);
	r->who = NULL;   /* c dies here */
}
