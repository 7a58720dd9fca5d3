/*
 * Profiles (profile.h) through the API: GET/POST /1.0/profiles, GET, PATCH
 * and DELETE /1.0/profiles/NAME; and the two places instances meet them and
 * their disks (disks.h): a launch, which applies its profile
 * (api_launch), and an instance's JSON, which shows its disks under
 * "config" (api_instance_disks).
 */
#include "daemon/api.h"
#include "daemon/api_profiles.h"
#include "daemon/profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(struct api_resp *out, const struct err *e)
{
	api_error_from(out, e);
}

/* The error rc < 0 left in e, else `status` with the profile. */
static int reply_profile(struct api_resp *out, int rc, const struct err *e, int status,
			 const struct profile *p)
{
	if (rc < 0) {
		fail(out, e);
		return 0;
	}
	out->status = status;
	out->json = profile_json(p);
	return 0;
}

int api_profile_list(struct service *s, const struct api_req *r, const char *name,
		     struct api_resp *out)
{
	(void)r, (void)name;
	struct err e = { 0 };
	struct profile *ps = NULL;
	size_t n = 0;
	struct db *db = service_lock(s);
	int rc = profile_list(db, &ps, &n, &e);
	service_unlock(s);
	if (rc < 0) {
		fail(out, &e);
		return 0;
	}
	out->status = 200;
	out->json = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(out->json, profile_json(&ps[i]));
	free(ps);
	return 0;
}

int api_profile_get(struct service *s, const struct api_req *r, const char *name,
		    struct api_resp *out)
{
	(void)r;
	struct err e = { 0 };
	struct profile p;
	struct db *db = service_lock(s);
	int rc = profile_get(db, name, &p, &e);
	service_unlock(s);
	return reply_profile(out, rc, &e, 200, &p);
}

int api_profile_create(struct service *s, const struct api_req *r, const char *name,
		       struct api_resp *out)
{
	(void)name;
	struct err e = { 0 };
	struct profile p = { 0 };
	if (profile_parse(r->body, r->body_len, true, &p, &e) < 0) {
		fail(out, &e);
		return 0;
	}
	struct db *db = service_lock(s);
	int rc = profile_insert(db, &p, &e);
	if (rc == 0)
		rc = profile_get(db, p.name, &p, &e);
	service_unlock(s);
	return reply_profile(out, rc, &e, 201, &p);
}

int api_profile_update(struct service *s, const struct api_req *r, const char *name,
		       struct api_resp *out)
{
	struct err e = { 0 };
	struct profile p;
	/* Read, merged and written under one lock: two PATCHes of one profile
	 * do not lose each other's fields. */
	struct db *db = service_lock(s);
	int rc = profile_get(db, name, &p, &e);
	if (rc == 0)
		rc = profile_parse(r->body, r->body_len, false, &p, &e);
	if (rc == 0)
		rc = profile_update(db, &p, &e);
	service_unlock(s);
	return reply_profile(out, rc, &e, 200, &p);
}

int api_profile_delete(struct service *s, const struct api_req *r, const char *name,
		       struct api_resp *out)
{
	struct err e = { 0 };
	int rc = request_parse_empty(r->body, r->body_len, &e);
	if (rc == 0) {
		struct db *db = service_lock(s);
		rc = profile_delete(db, name, &e);
		service_unlock(s);
	}
	if (rc < 0) {
		fail(out, &e);
		return 0;
	}
	out->status = 200;
	out->json = cJSON_CreateObject();
	return 0;
}

int api_launch(struct service *s, struct create_req *r, struct instance *out, struct err *e)
{
	struct profile p;
	const char *pname = r->profile[0] ? r->profile : PROFILE_DEFAULT;
	struct db *db = service_lock(s);
	int rc = profile_get(db, pname, &p, e);
	service_unlock(s);
	if (rc < 0)
		return rc;
	/* The default profile's disks are for its VMs: a container launched
	 * without naming a profile is not refused for them (naming one that
	 * has disks for a container is). */
	struct image im;
	if (!r->profile[0] && p.ndisks) {
		db = service_lock(s);
		if (db_image_get(db, r->image, &im, NULL) == 0 && im.kind == KIND_CONTAINER)
			p.ndisks = 0;
		service_unlock(s);
	}
	profile_apply(&p, r);
	/* Disks are the instance's from its first start: service_create gives
	 * them to it between its row and its start, as one journaled launch;
	 * what fails on the way leaves nothing behind. */
	r->ndisks = p.ndisks;
	memcpy(r->disks, p.disks, sizeof r->disks);
	return service_create(s, r, out, e);
}

void api_instance_disks(struct service *s, cJSON *instance_json, const char *name)
{
	struct disk d[DISKS_MAX];
	size_t n = 0;
	struct db *db = service_lock(s);
	int rc = disks_get(db, name, d, &n, NULL);
	service_unlock(s);
	cJSON *cfg = cJSON_GetObjectItemCaseSensitive(instance_json, "config");
	if (rc == 0 && cJSON_IsObject(cfg))
		cJSON_AddItemToObject(cfg, "disks", disks_json(d, n));
}
