/*
 * Operation routes: GET /1.0/operations (all kept), GET
 * /1.0/operations/ID[?wait=SECONDS] (one; with wait, answers when it ends
 * or the wait is over, whichever is first).
 */
#include "daemon/api.h"
#include "daemon/operations.h"

#include <errno.h>
#include <stdlib.h>

#define WAIT_MAX_S 3600

int api_h_operations(struct service *s, const struct api_req *r, const char *name,
		     struct api_resp *out)
{
	(void)r, (void)name;
	struct err e = { 0 };
	struct operation *v;
	size_t n;
	if (operations_list(service_operations(s), &v, &n, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	out->status = 200;
	out->json = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(out->json, api_operation_json(&v[i]));
	free(v);
	return 0;
}

int api_h_operation(struct service *s, const struct api_req *r, const char *name,
		    struct api_resp *out)
{
	struct err e = { 0 };
	const char *w = r->query ? r->query(r->q, "wait") : NULL;
	long wait = 0;
	if (w) {
		char *end;
		wait = strtol(w, &end, 10);
		if (!*w || *end || wait < 0 || wait > WAIT_MAX_S) {
			err_set(&e, -EINVAL, "query wait=%.32s: expected whole seconds from 0 to %d", w,
				WAIT_MAX_S);
			api_error_from(out, &e);
			return 0;
		}
	}
	struct operation op;
	if (operations_get(service_operations(s), name, (int)wait, &op, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	out->status = 200;
	out->json = api_operation_json(&op);
	return 0;
}
