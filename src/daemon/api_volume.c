/* The volume routes (rows in api.c's table), scoped as api_cloud.h says. */
#include "daemon/api_cloud.h"
#include "daemon/operations.h"
#include "daemon/project.h"
#include "daemon/request_cloud.h"
#include "daemon/volume.h"
#include "daemon/volume_live.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(struct api_resp *out, const struct err *e)
{
	api_error_from(out, e);
	return 0;
}

static cJSON *volume_json(const struct volume *v)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "name", v->name);
	cJSON_AddStringToObject(j, "project", v->project);
	cJSON_AddStringToObject(j, "type", v->dir ? "dir" : "block");
	cJSON_AddNumberToObject(j, "size", (double)v->size);
	if (v->snapshot_of[0])
		cJSON_AddStringToObject(j, "snapshot_of", v->snapshot_of);
	else
		cJSON_AddNullToObject(j, "snapshot_of");
	if (v->attached_to[0])
		cJSON_AddStringToObject(j, "attached_to", v->attached_name);
	else
		cJSON_AddNullToObject(j, "attached_to");
	cJSON_AddNumberToObject(j, "created_at", (double)v->created_at);
	return j;
}

/* Replies with the volume name of project as it is now (after a change);
 * lock held, dropped. */
static int reply(struct service *s, struct db *db, const char *name, const char *project,
		 int status, struct api_resp *out)
{
	struct err e = { 0 };
	struct volume v;
	int rc = volume_get(db, name, project, &v, &e);
	service_unlock(s);
	if (rc < 0)
		return fail(out, &e);
	out->status = status;
	out->json = volume_json(&v);
	return 0;
}

static int reply_locked(struct service *s, const char *name, const char *project, int status,
			struct api_resp *out)
{
	return reply(s, service_lock(s), name, project, status, out);
}

/* An attach to a running instance: a block volume goes into a VM at once
 * where it can (volume_live.h); the reply says when the guest has it
 * ("now" or "next_start", and why in "note"). */
static int attach_reply(struct service *s, const struct volume *v, const char *name,
			enum instance_kind kind, struct api_resp *out)
{
	char note[512] = "the instance is running: the volume is mounted from its next start "
			 "(restart it)";
	bool now = kind == KIND_VM && volume_live_attach(s, v, note, sizeof note) > 0;
	int rc = reply_locked(s, name, v->project, 200, out);
	if (rc == 0 && out->status == 200) {
		cJSON_AddStringToObject(out->json, "takes_effect", now ? "now" : "next_start");
		if (!now)
			cJSON_AddStringToObject(out->json, "note", note);
	}
	return rc;
}

API_HANDLER(api_volume_list)
{
	(void)name;
	struct err e = { 0 };
	struct volume *v;
	size_t n;
	struct db *db = service_lock(s);
	int rc = volume_list(db, api_scope(r), &v, &n, &e);
	service_unlock(s);
	if (rc < 0)
		return fail(out, &e);
	out->status = 200;
	out->json = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(out->json, volume_json(&v[i]));
	free(v);
	return 0;
}

API_HANDLER(api_volume_create)
{
	(void)name;
	struct err e = { 0 };
	struct volume v;
	if (request_parse_volume(r->body, r->body_len, &v, &e) < 0)
		return fail(out, &e);
	const char *own = r->who && !r->who->host_admin ? r->who->project : NULL;
	if (own && v.project[0] && strcmp(v.project, own)) {
		err_set(&e, -ENOENT, "project \"%s\": no such project", v.project);
		return fail(out, &e);
	}
	if (!v.project[0])
		snprintf(v.project, sizeof v.project, "%s", own ? own : PROJECT_DEFAULT);
	struct db *db = service_lock(s);
	if (volume_create(db, service_volumes(s), &v, &e) < 0) {
		service_unlock(s);
		return fail(out, &e);
	}
	return reply(s, db, v.name, v.project, 201, out);
}

API_HANDLER(api_volume_get)
{
	struct err e = { 0 };
	struct volume v;
	struct db *db = service_lock(s);
	if (volume_get(db, name, api_scope(r), &v, &e) < 0) {
		service_unlock(s);
		return fail(out, &e);
	}
	return reply(s, db, name, v.project, 200, out);
}

API_HANDLER(api_volume_delete)
{
	struct err e = { 0 };
	struct volume v;
	if (request_parse_empty(r->body, r->body_len, &e) < 0)
		return fail(out, &e);
	struct db *db = service_lock(s);
	int rc = volume_get(db, name, api_scope(r), &v, &e);
	if (rc == 0)
		rc = volume_delete(db, service_volumes(s), v.key, &e);
	service_unlock(s);
	if (rc < 0)
		return fail(out, &e);
	out->status = 200;
	out->json = cJSON_CreateObject();
	return 0;
}

/* The actions: POST /1.0/volumes/NAME/{attach,detach,resize,snapshot,clone}. */
enum action { ATTACH, DETACH, RESIZE, SNAPSHOT, CLONE };

static int act(struct service *s, const struct api_req *r, const char *name,
	       struct api_resp *out, enum action a)
{
	struct err e = { 0 };
	char arg[INSTANCE_NAME_MAX + 1] = "";
	long long size = 0;
	int rc;
	switch (a) {
	case ATTACH:
		rc = request_parse_one_name(r->body, r->body_len, "instance", "instance", arg, &e);
		break;
	case DETACH:
		rc = request_parse_empty(r->body, r->body_len, &e);
		break;
	case RESIZE:
		rc = request_parse_size(r->body, r->body_len, &size, &e);
		break;
	default:
		rc = request_parse_one_name(r->body, r->body_len, "name", "volume", arg, &e);
		break;
	}
	if (rc < 0)
		return fail(out, &e);
	struct volume v;
	struct db *db = service_lock(s);
	rc = volume_get(db, name, api_scope(r), &v, &e);
	service_unlock(s);
	if (rc < 0)
		return fail(out, &e);
	/* What copies or grows a disk (it may take a while) goes into the
	 * operations journal of the volume's project, so its members see what
	 * happened to their volumes and no other project does.  The journal
	 * takes the service's lock itself: started before, finished after. */
	static const char *const types[] = { [RESIZE] = "volume-resize",
					     [SNAPSHOT] = "volume-snapshot",
					     [CLONE] = "volume-clone" };
	/* A block volume leaves a running VM at once if its guest lets it go
	 * (volume_live.h); anything else is detached as a row below. */
	if (a == DETACH) {
		rc = volume_live_detach(s, &v, &e);
		if (rc < 0)
			return fail(out, &e);
		if (rc > 0)
			return reply_locked(s, name, v.project, 200, out);
	}
	struct operation op = { 0 };
	char res[128];
	snprintf(res, sizeof res, "/1.0/volumes/%s", a == SNAPSHOT || a == CLONE ? arg : name);
	if (a >= RESIZE &&
	    operations_start_in(service_operations(s), v.project, types[a], res, &op, &e) < 0)
		return fail(out, &e);
	db = service_lock(s);
	if ((rc = volume_get(db, name, api_scope(r), &v, &e)) == 0) {
		switch (a) {
		case ATTACH: rc = volume_attach(db, v.key, arg, &e); break;
		case DETACH: rc = volume_detach(db, v.key, false, &e); break;
		case RESIZE: rc = volume_resize(db, service_volumes(s), v.key, size, &e); break;
		case SNAPSHOT: rc = volume_copy(db, service_volumes(s), v.key, arg, true, &e); break;
		case CLONE: rc = volume_copy(db, service_volumes(s), v.key, arg, false, &e); break;
		}
	}
	if (rc < 0) {
		service_unlock(s);
		if (op.id[0])
			operations_finish(service_operations(s), op.id, &e);
		return fail(out, &e);
	}
	bool made = a == SNAPSHOT || a == CLONE;
	struct instance in;
	struct volume att;
	bool running = a == ATTACH && volume_get(db, name, v.project, &att, NULL) == 0 &&
		       db_instance_get(db, att.attached_to, &in, NULL) == 0 &&
		       in.state == STATE_RUNNING;
	if (a != ATTACH || !running) {
		rc = reply(s, db, made ? arg : name, v.project, made ? 201 : 200, out);
	} else {
		service_unlock(s);
		rc = attach_reply(s, &v, name, in.kind, out);
	}
	if (op.id[0]) {
		operations_finish(service_operations(s), op.id, NULL);
		if (rc == 0 && out->status < 300 && out->json)
			cJSON_AddStringToObject(out->json, "operation", op.id);
	}
	if (a == ATTACH && !running && out->status == 200)
		cJSON_AddStringToObject(out->json, "takes_effect", "next_start");
	return rc;
}

API_HANDLER(api_volume_attach) { return act(s, r, name, out, ATTACH); }
API_HANDLER(api_volume_detach) { return act(s, r, name, out, DETACH); }
API_HANDLER(api_volume_resize) { return act(s, r, name, out, RESIZE); }
API_HANDLER(api_volume_snapshot) { return act(s, r, name, out, SNAPSHOT); }
API_HANDLER(api_volume_clone) { return act(s, r, name, out, CLONE); }
