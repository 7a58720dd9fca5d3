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

/* Instance names are unique per project: /1.0/instances/NAME[/...] names
 * the caller's project's NAME (a token's project; the host admin's
 * ?project=P, or the one instance of that name on the host).  The routes
 * below work on the host key (instance.h), so the path is handed on with
 * NAME replaced by it; a key never comes from a request.  The query
 * argument `project` is the gate's, so the routes are told it is known. */
struct scoped {
	const struct api_req *orig;
	char path[512];
};

static const char *scoped_query(void *q, const char *key)
{
	const struct scoped *sc = q;
	return sc->orig->query ? sc->orig->query(sc->orig->q, key) : NULL;
}

static const char *scoped_unknown(void *q, const char *const *allowed)
{
	const struct scoped *sc = q;
	const char *with[32];
	size_t n = 0;
	while (allowed && allowed[n] && n < 30) {
		with[n] = allowed[n];
		n++;
	}
	with[n++] = "project";
	with[n] = NULL;
	return sc->orig->query_unknown ? sc->orig->query_unknown(sc->orig->q, with) : NULL;
}

/* Whether rest (what follows /1.0/instances/NAME) makes one of the
 * instance routes; for any other path the dispatcher words its own 404. */
static bool instance_route(const char *rest)
{
	static const char prefix[] = "/1.0/instances/{name}";
	size_t n = strlen(rest);
	while (n > 0 && rest[n - 1] == '/')
		n--;
	for (size_t i = 0; i < api_nroutes; i++) {
		const char *pt = api_routes[i].pattern;
		if (!strncmp(pt, prefix, sizeof prefix - 1) && strlen(pt + sizeof prefix - 1) == n &&
		    !strncmp(pt + sizeof prefix - 1, rest, n))
			return true;
	}
	return false;
}

/* Rewrites r (into sc) to name the instance by its host key; an error reply
 * in out when the caller has no such instance. */
static int scope_instance(struct service *s, const struct caller *c, struct api_req *r,
			  struct scoped *sc, struct api_resp *out)
{
	char name[INSTANCE_NAME_MAX + 1] = "";
	static const char prefix[] = "/1.0/instances/";
	if (!instance_path(r->path, name, sizeof name) || !name[0] ||
	    name_check("instance", name, NULL) < 0 ||
	    !instance_route(r->path + sizeof prefix - 1 + strlen(name)))
		return 0;   /* not an instance's route, or a bad name: the dispatcher words it */
	const char *want = c->host_admin && r->query ? r->query(r->q, "project") : NULL;
	if (!c->host_admin)
		want = c->project;
	struct instance in;
	struct err e = { 0 };
	struct db *db = service_lock(s);
	int rc = db_instance_find(db, want, name, &in, &e);
	service_unlock(s);
	if (rc < 0) {
		api_error_from(out, &e);
		return rc;
	}
	const char *rest = r->path + sizeof prefix - 1 + strlen(name);
	if ((size_t)snprintf(sc->path, sizeof sc->path, "%s%s%s", prefix, in.key, rest) >=
	    sizeof sc->path) {
		/* cannot be (a name and a route's rest are short), and a route must
		 * never get a name the gate did not resolve */
		api_error(out, 404, "not_found", "path: too long");
		return -ENAMETOOLONG;
	}
	return 1;
}

static bool is_list(const char *path, const char *list)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	return n == strlen(list) && !strncmp(path, list, n);
}

/* Drops the items of other projects from a list reply; public_ok keeps
 * those whose project is null (public images). */
static void keep_project(cJSON *list, const char *project, bool public_ok)
{
	cJSON *i = list ? list->child : NULL;
	while (i) {
		cJSON *next = i->next;
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(i, "project");
		bool keep = cJSON_IsString(p) ? !strcmp(p->valuestring, project)
					      : public_ok && cJSON_IsNull(p);
		if (!keep)
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

/* What only the host admin may use: the metrics, changing profiles, and
 * adding or removing images (shared by every project; an import reads a
 * path on the host).  The event stream and
 * the operations are filtered per project instead (api_events.c,
 * api_operations.c). */
static bool host_only(const struct api_req *r)
{
	return under(r->path, "/metrics") ||
	       /* profiles are the host's, as images are (profile.h) */
	       (under(r->path, "/1.0/profiles") && strcmp(r->method, "GET") &&
		strcmp(r->method, "HEAD")) ||
	       (under(r->path, "/1.0/images") && strcmp(r->method, "GET") &&
		strcmp(r->method, "HEAD"));
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
	}
	struct scoped sc;
	int scoped = scope_instance(s, &c, r, &sc, out);
	if (scoped < 0) {
		r->who = NULL;
		return;
	}
	struct api_req orig = *r;
	/* Network and volume names are unique per project too: their routes
	 * take the host admin's ?project= (api_scope, api_cloud.h). */
	bool named_in_project = under(r->path, "/1.0/networks") || under(r->path, "/1.0/volumes");
	if (scoped || named_in_project) {
		sc.orig = &orig;
		if (scoped)
			r->path = sc.path;
		r->query = scoped_query;
		r->query_unknown = scoped_unknown;
		r->q = &sc;
	}
	api_dispatch(s, r, out);
	if (!c.host_admin && out->status == 200 && !strcmp(r->method, "GET")) {
		if (is_list(r->path, "/1.0/instances"))
			keep_project(out->json, c.project, false);
		else if (is_list(r->path, "/1.0/images"))   /* public ones and its own */
			keep_project(out->json, c.project, true);
	}
	*r = orig;
	r->who = NULL;   /* c dies here */
}
