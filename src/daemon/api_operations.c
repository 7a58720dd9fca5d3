/*
 * Operation routes: GET /1.0/operations (all kept), GET
 * /1.0/operations/ID[?wait=SECONDS] (one; with wait, answers when it ends
 * or the wait is over, whichever is first).  A token sees and waits on its
 * own project's operations only; another's is "no such operation", the
 * answer for one that does not exist (operation_visible).
 */
#include "daemon/api.h"
#include "daemon/auth.h"
#include "daemon/operations.h"

#include <errno.h>
#include <stdlib.h>

#define WAIT_MAX_S 3600

/* The caller's project, or NULL for the host admin (who sees all). */
static const char *scope(const struct api_req *r)
{
	return r->who && !r->who->host_admin ? r->who->project : NULL;
}

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
		if (operation_visible(&v[i], scope(r)))
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
	/* Whose it is, before anyone waits on it (an operation never changes
	 * project). */
	int rc = operations_get(service_operations(s), name, 0, &op, &e);
	if (rc == 0 && !operation_visible(&op, scope(r)))
		rc = err_set(&e, -ENOENT, "operation \"%s\": no such operation", name);
	if (rc == 0 && wait > 0)
		rc = operations_get(service_operations(s), name, (int)wait, &op, &e);
	if (rc < 0) {
		api_error_from(out, &e);
		return 0;
	}
	out->status = 200;
	out->json = api_operation_json(&op);
	return 0;
}
