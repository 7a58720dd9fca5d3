/* Profiles through the API and where launches and instances meet them (api_profiles.c). */
#ifndef NIMBUS_DAEMON_API_PROFILES_H
#define NIMBUS_DAEMON_API_PROFILES_H

#include <cjson/cJSON.h>

#include "daemon/api.h"

int api_profile_list(struct service *s, const struct api_req *r, const char *name,
		     struct api_resp *out);
int api_profile_get(struct service *s, const struct api_req *r, const char *name,
		    struct api_resp *out);
int api_profile_create(struct service *s, const struct api_req *r, const char *name,
		       struct api_resp *out);
int api_profile_update(struct service *s, const struct api_req *r, const char *name,
		       struct api_resp *out);
int api_profile_delete(struct service *s, const struct api_req *r, const char *name,
		       struct api_resp *out);

/* A launch (POST /1.0/instances): r's profile (or `default`) applied, then
 * service_create; a profile's disks are the instance's before it starts. */
int api_launch(struct service *s, struct create_req *r, struct instance *out, struct err *e);

/* Adds "disks" ({"D": MiB}) to the "config" of an instance's JSON. */
void api_instance_disks(struct service *s, cJSON *instance_json, const char *name);

#endif
