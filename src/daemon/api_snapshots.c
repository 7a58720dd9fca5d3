/*
 * A VM's snapshots (service.h, snapshot.h):
 *   GET    /1.0/instances/NAME/snapshots          its snapshots
 *   POST   /1.0/instances/NAME/snapshots          {"name"}: save the running VM; 202, an operation
 *   DELETE /1.0/instances/NAME/snapshots?name=S   delete one
 *   POST   /1.0/instances/NAME/restore            {"snapshot"}: stop it and start it from the
 *                                                 snapshot; 202, an operation
 * A snapshot's own name travels in the body or the query, since a route
 * names one thing (api.c).
 */
#include "daemon/api.h"
#include "daemon/operations.h"
#include "daemon/request_cloud.h"
#include "daemon/snapshot.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int api_h_snapshot_list(struct service *s, const struct api_req *r, const char *name,
			struct api_resp *out)
{
	(void)r;
	struct err e = { 0 };
	struct snapshot *v;
	size_t n;
	if (service_snapshot_list(s, name, &v, &n, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	out->status = 200;
	out->json = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "name", v[i].name);
		cJSON_AddNumberToObject(j, "created_at", (double)v[i].created_at);
		cJSON_AddNumberToObject(j, "size_bytes", (double)v[i].size);
		cJSON_AddItemToArray(out->json, j);
	}
	free(v);
	return 0;
}

/* create and restore: a body naming the snapshot in field, then an operation. */
static int snapshot_operation(struct service *s, const struct api_req *r, const char *name,
			      const char *field,
			      int (*start)(struct service *, const char *, const char *,
					   struct operation *, struct err *),
			      struct api_resp *out)
{
	struct err e = { 0 };
	char snap[INSTANCE_NAME_MAX + 1];
	struct operation op;
	if (request_parse_one_name(r->body, r->body_len, field, "snapshot", snap, &e) < 0 ||
	    start(s, name, snap, &op, &e) < 0)
		api_error_from(out, &e);
	else
		api_accepted(out, &op);
	return 0;
}

int api_h_snapshot_create(struct service *s, const struct api_req *r, const char *name,
			  struct api_resp *out)
{
	return snapshot_operation(s, r, name, "name", service_snapshot_create, out);
}

int api_h_snapshot_delete(struct service *s, const struct api_req *r, const char *name,
			  struct api_resp *out)
{
	struct err e = { 0 };
	const char *snap = r->query ? r->query(r->q, "name") : NULL;
	if (!snap)
		err_set(&e, -EINVAL, "query name: required (the snapshot to delete)");
	else if (name_check("snapshot", snap, &e) == 0 &&
		 request_parse_empty(r->body, r->body_len, &e) == 0 &&
		 service_snapshot_delete(s, name, snap, &e) == 0) {
		out->status = 200;
		out->json = cJSON_CreateObject();
		return 0;
	}
	api_error_from(out, &e);
	return 0;
}

int api_h_snapshot_restore(struct service *s, const struct api_req *r, const char *name,
			   struct api_resp *out)
{
	return snapshot_operation(s, r, name, "snapshot", service_snapshot_restore, out);
}
