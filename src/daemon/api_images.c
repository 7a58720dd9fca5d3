/*
 * Image routes: POST /1.0/images ({"source": "/abs/path", "name"}) starts an
 * import and answers 202 with its operation (Location: the operation);
 * DELETE /1.0/images/NAME removes an unused image.
 */
#include "daemon/api.h"
#include "daemon/operations.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

cJSON *api_operation_json(const struct operation *op)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", op->id);
	cJSON_AddStringToObject(j, "type", op->type);
	cJSON_AddStringToObject(j, "status", op->status);
	cJSON_AddNumberToObject(j, "progress", op->progress);
	cJSON_AddStringToObject(j, "stage", op->stage);
	cJSON_AddStringToObject(j, "error", op->error);
	cJSON_AddStringToObject(j, "resource", op->resource);
	if (op->project[0])
		cJSON_AddStringToObject(j, "project", op->project);
	cJSON_AddNumberToObject(j, "created_at", (double)op->created_at);
	cJSON_AddNumberToObject(j, "updated_at", (double)op->updated_at);
	return j;
}

int api_h_image_import(struct service *s, const struct api_req *r, const char *name,
		       struct api_resp *out)
{
	(void)name;
	struct err e = { 0 };
	struct image_import_req ir;
	struct operation op;
	if (request_parse_image_import(r->body, r->body_len, &ir, &e) < 0 ||
	    service_image_import(s, ir.source, ir.name, &op, &e) < 0)
		api_error_from(out, &e);
	else
		api_accepted(out, &op);
	return 0;
}

void api_accepted(struct api_resp *out, const struct operation *op)
{
	out->status = 202;
	out->json = api_operation_json(op);
	snprintf(out->location, sizeof out->location, "/1.0/operations/%s", op->id);
}

int api_h_image_delete(struct service *s, const struct api_req *r, const char *name,
		       struct api_resp *out)
{
	struct err e = { 0 };
	if (request_parse_empty(r->body, r->body_len, &e) < 0 ||
	    service_image_delete(s, name, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	out->status = 200;
	out->json = cJSON_CreateObject();
	return 0;
}
